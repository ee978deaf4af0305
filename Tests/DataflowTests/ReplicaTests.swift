import Testing
import Dataflow
import Stages

@Suite("Fan-out and worker pools")
struct ReplicaTests {
    @Test("fan-out and an unordered pool deliver every item exactly once to each consumer")
    func fanOutExactlyOnce() async throws {
        let result = try await GraphHarness.run("""
            stages:
              - {name: source, type: synthetic-source, replicas: 3, params: {count: 20000, item_bytes: 128}}
              - {name: pool, type: map, replicas: 4, params: {work: 5us}}
              - {name: direct, type: sink, params: {expect_count: 20000, check_order: true}}
              - {name: pooled, type: sink, params: {expect_count: 20000}}
              - {name: third, type: sink, params: {expect_count: 20000}}
            edges:
              - {from: source, to: direct, capacity: 8}
              - {from: source, to: pool, capacity: 8}
              - {from: source, to: third, capacity: 64 KiB}
              - {from: pool, to: pooled, capacity: 8}
            """)
        #expect(result.outcome == .completed)
        for sink in ["direct", "pooled", "third"] {
            let metrics = result.snapshot.stage(sink)!.metrics
            #expect(metrics["distinct"] == 20000, "\(sink): \(metrics)")
            #expect(metrics["duplicates"] == nil && metrics["damaged"] == nil, "\(sink): \(metrics)")
        }
        #expect(result.snapshot.stage("source")!.itemsOut == 20000)
        #expect(result.snapshot.stage("pool")!.itemsIn == 20000)
    }

    @Test("ordered mode keeps input order across replicas with uneven work and dropped items")
    func orderedPool() async throws {
        let result = try await GraphHarness.run("""
            stages:
              - {name: source, type: synthetic-source, params: {count: 3000}}
              - {name: pool, type: test-scramble, replicas: 5, ordered: true}
              - {name: sink, type: sink, params: {expect_count: 2700, check_order: true}}
            edges:
              - {from: source, to: pool, capacity: 8}
              - {from: pool, to: sink, capacity: 8}
            """)
        #expect(result.outcome == .completed)
        #expect(result.snapshot.stage("sink")!.metrics["distinct"] == 2700)
        #expect(result.snapshot.stage("sink")!.metrics["out_of_order"] == nil)
    }

    @Test("without ordered the same pool does reorder (so the ordered test above means something)")
    func unorderedPoolReorders() async throws {
        let result = try await GraphHarness.run("""
            stages:
              - {name: source, type: synthetic-source, params: {count: 3000}}
              - {name: pool, type: test-scramble, replicas: 5}
              - {name: sink, type: sink, params: {expect_count: 2700}}
            edges:
              - {from: source, to: pool, capacity: 8}
              - {from: pool, to: sink, capacity: 8}
            """)
        #expect(result.outcome == .completed)
        #expect((result.snapshot.stage("sink")!.metrics["out_of_order"] ?? 0) > 0)
    }

    @Test("H9: every replica is its own stage instance")
    func replicasAreSeparateInstances() async throws {
        let result = try await GraphHarness.run("""
            stages:
              - {name: source, type: synthetic-source, params: {count: 2000}}
              - {name: readers, type: test-instances, replicas: 4}
              - {name: sink, type: sink, params: {expect_count: 2000}}
            edges:
              - {from: source, to: readers}
              - {from: readers, to: sink}
            """)
        #expect(result.outcome == .completed)
        let seen = InstanceRecorder.seen.withLock { $0 }
        let instances = seen.values.map { $0 }
        #expect(instances.allSatisfy { $0.count == 1 }, "a replica used several instances")
        #expect(Set(instances.flatMap { $0 }).count == seen.count, "replicas shared an instance")
    }

    @Test("H6: eight CPU-spinning replicas on this machine's cores do not starve the source")
    func spinningPoolDoesNotStarveSource() async throws {
        let result = try await GraphHarness.run("""
            stages:
              - {name: source, type: synthetic-source, params: {count: 400}}
              - {name: spinners, type: map, replicas: 8, params: {work: 2ms, mode: spin}}
              - {name: sink, type: sink, params: {expect_count: 400}}
            edges:
              - {from: source, to: spinners, capacity: 9}
              - {from: spinners, to: sink}
            """)
        #expect(result.outcome == .completed)
        #expect(result.snapshot.stage("sink")!.metrics["distinct"] == 400)
    }

    @Test("stages run off the cooperative pool: three replicas blocking their threads do not stall the graph")
    func blockingStagesOwnTheirThreads() async throws {
        let result = try await GraphHarness.run("""
            stages:
              - {name: source, type: synthetic-source, params: {count: 300}}
              - {name: blockers, type: test-blocking-map, replicas: 3}
              - {name: after, type: sink, params: {expect_count: 300}}
              - {name: progress, type: test-releasing-sink, params: {after: 100, release: 3}}
            edges:
              - {from: source, to: blockers, capacity: 400}
              - {from: source, to: progress, capacity: 8}
              - {from: blockers, to: after}
            """)
        #expect(result.outcome == .completed)
        let timedOut = ThreadLatch.timedOut.load(ordering: .relaxed)
        #expect(!timedOut, "blocked stages starved the rest of the graph")
    }
}
