import Foundation
import Testing
@testable import Dataflow
import Stages

@Suite("Stats, monitor endpoint and bottleneck")
struct MonitorTests {
    @Test("the monitor serves Prometheus text and JSON over real HTTP on loopback during a run")
    func monitorOverHTTP() async throws {
        let run = try GraphHarness.make("""
            stages:
              - {name: source, type: synthetic-source, params: {count: 100000000, rate: 5000}}
              - {name: work, type: map, replicas: 2, params: {work: 50us}}
              - {name: sink, type: test-metric-sink}
            edges:
              - {from: source, to: work, capacity: 32}
              - {from: work, to: sink, capacity: 1 MiB}
            """)
        let server = try await MonitorServer(address: MonitorAddress(host: "127.0.0.1", port: 0), snapshot: { run.snapshot() })
        #expect(server.address.port != 0)
        let running = Task { await run.run() }
        while run.snapshot().stage("sink")?.itemsIn ?? 0 < 20 { try await Task.sleep(for: .milliseconds(5)) }

        let snapshot = try await MonitorClient.snapshot(from: server.address)
        #expect(snapshot.state == "running")
        #expect(snapshot.stages.map(\.name) == ["source", "work", "sink"])
        #expect(snapshot.edges.map(\.name) == ["source.out->work.in", "work.out->sink.in"])
        #expect(snapshot.edges[1].unit == "bytes" && snapshot.edges[1].capacity == 1 << 20)
        #expect(snapshot.stage("sink")!.metrics["seen"]! >= 20)

        let text = try await MonitorClient.metrics(from: server.address)
        #expect(text.contains(#"distill_stage_items_out_total{stage="source"}"#))
        #expect(text.contains(#"distill_edge_depth{edge="source.out->work.in"}"#))
        #expect(text.contains(#"distill_edge_capacity{edge="work.out->sink.in",unit="bytes"} 1048576"#))
        #expect(text.contains(#"distill_stage_value{stage="sink",name="loss"}"#))
        #expect(text.contains(#"distill_stage_latency_seconds{stage="work",quantile="0.99"}"#))
        let exposition = try Regex(#"[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? ([-+0-9.eE]+|[-+]?Inf|NaN)"#)
        var typed = Set<String>()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                typed.insert(String(line.split(separator: " ")[2]))
                continue
            }
            if line.hasPrefix("#") { continue }
            #expect(line.wholeMatch(of: exposition) != nil, "not exposition format: \(line)")
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            #expect(typed.contains(name), "no # TYPE line before \(name)")
        }

        run.requestStop(.requested)
        let result = await running.value
        await server.stop()
        #expect(result.outcome == .stopped(.requested))
        await #expect(throws: MonitorError.self) { try await MonitorClient.snapshot(from: server.address) }
    }

    @Test("the bottleneck is the busiest stage whose input is full and output is not")
    func bottleneckNamed() async throws {
        // Sleeping work, so the ratios do not depend on how much CPU other tests leave this one.
        let run = try GraphHarness.make("""
            stages:
              - {name: source, type: synthetic-source, params: {count: 100000000}}
              - {name: fast, type: map, params: {work: 50us, mode: sleep}}
              - {name: slow, type: map, params: {work: 20ms, mode: sleep}}
              - {name: sink, type: sink}
            edges:
              - {from: source, to: fast, capacity: 8}
              - {from: fast, to: slow, capacity: 8}
              - {from: slow, to: sink, capacity: 8}
            """)
        let running = Task { await run.run() }
        // Start the window once the pipeline is full (fast blocked on slow's full input).
        while run.snapshot().edge("fast.out->slow.in")?.depth ?? 0 < 7 { try await Task.sleep(for: .milliseconds(5)) }
        _ = run.tick()
        try await Task.sleep(for: .milliseconds(400))
        let snapshot = run.tick()
        run.requestStop(.requested)
        run.requestStop(.requested)
        _ = await running.value
        #expect(snapshot.bottleneck == "slow", "\(StatsTable.render(snapshot))")
        #expect(StatsTable.render(snapshot).contains("bottleneck: slow"))
        #expect(snapshot.stage("slow")!.busy > 0.8)
        #expect(snapshot.stage("fast")!.blocked > 0.5)
        #expect(snapshot.stage("sink")!.starved > 0.5)
    }

    @Test("Bottleneck rule on hand-made snapshots")
    func bottleneckRule() {
        func stage(_ name: String, busy: Double, blocked: Double) -> StageSnapshot {
            StageSnapshot(name: name, type: "map", replicas: 1, itemsIn: 1, itemsOut: 1, inPerSecond: 1, outPerSecond: 1,
                          busy: busy, blocked: blocked, starved: 1 - busy - blocked, latencyP50Milliseconds: 0,
                          latencyP99Milliseconds: 0, errors: 0, phases: [], metrics: [:])
        }
        func edge(_ from: String, _ to: String, depth: Int) -> EdgeSnapshot {
            EdgeSnapshot(name: "\(from).out->\(to).in", from: "\(from).out", to: "\(to).in", depth: depth, capacity: 8,
                         unit: "items", depthBytes: 0, maxDepth: depth, maxDepthBytes: 0, items: 0, bytes: 0, blocked: 0)
        }
        var snapshot = GraphSnapshot(
            graph: "g", runID: "", time: "", elapsedSeconds: 1, state: "running",
            stages: [stage("a", busy: 0.1, blocked: 0.9), stage("b", busy: 0.95, blocked: 0), stage("c", busy: 0.1, blocked: 0)],
            edges: [edge("a", "b", depth: 8), edge("b", "c", depth: 0)], bottleneck: nil)
        #expect(Bottleneck.find(in: snapshot) == "b")
        snapshot.edges[0].depth = 0  // b's input is not backed up: b is not holding anyone back
        #expect(Bottleneck.find(in: snapshot) == nil)
        snapshot.stages[0].busy = 0.9
        snapshot.stages[0].blocked = 0
        #expect(Bottleneck.find(in: snapshot) == "a")  // a source that is busy and not blocked
    }
}
