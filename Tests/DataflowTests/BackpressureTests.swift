import Testing
import Dataflow
import Stages

/// Field cases P1 (slow consumer must backpressure producers), P3 (prefetch independent of dataset
/// size) and P4 (one-to-many stage backpressured), from ../shared/docs/reference/field-bug-cases.md.
@Suite("Backpressure")
struct BackpressureTests {
    @Test("P1/P3: a fast source into a slow sink keeps every edge within capacity, and the source waits")
    func fastSourceSlowSink() async throws {
        let run = try GraphHarness.make("""
            stages:
              - {name: source, type: synthetic-source, params: {count: 50000, item_bytes: 64 KiB}}
              - {name: pass, type: map}
              - {name: slow, type: sink, params: {work: 2ms}}
            edges:
              - {from: source, to: pass, capacity: 8}
              - {from: pass, to: slow, capacity: 4}
            """)
        // Let the slow sink take a few hundred items, then stop: the source must have been held back
        // all along, not have produced its 50,000 items.
        let watcher = Task {
            while run.snapshot().stage("slow")?.itemsIn ?? 0 < 200 { try await Task.sleep(for: .milliseconds(10)) }
            run.requestStop(.requested)
        }
        let (result, samples) = await GraphHarness.runSampling(run)
        try await watcher.value
        #expect(result.outcome == .stopped(.requested))
        #expect(result.hung.isEmpty)
        for sample in samples + [result.snapshot] {
            let produced = sample.stage("source")!.itemsOut
            let consumed = sample.stage("slow")!.itemsIn
            // Items between the source and the sink: two edges (8 + 4) and at most one held by each stage.
            #expect(produced - consumed <= 8 + 4 + 3, "in flight \(produced - consumed) at \(sample.elapsedSeconds) s")
        }
        let final = result.snapshot
        #expect(final.edge("source.out->pass.in")!.maxDepth <= 8)
        #expect(final.edge("pass.out->slow.in")!.maxDepth <= 4)
        #expect(final.edge("source.out->pass.in")!.maxDepthBytes <= 8 * 65536)
        #expect(final.stage("source")!.itemsOut - final.stage("slow")!.itemsIn <= 8 + 4 + 3,
                "the source ran ahead of the sink")
        let sourceBlocked = samples.map { $0.stage("source")!.blocked }.max() ?? 0
        #expect(sourceBlocked > 0.5, "the source should spend most of its time blocked, saw \(sourceBlocked)")
    }

    @Test("P4: a stage that turns one item into 100,000 waits at each send while its output is full")
    func oneToMany() async throws {
        let run = try GraphHarness.make("""
            stages:
              - {name: slides, type: synthetic-source, params: {count: 1}}
              - {name: tiles, type: test-expand, params: {fan: 100000}}
              - {name: slow, type: sink, params: {work: 1ms}}
            edges:
              - {from: slides, to: tiles, capacity: 2}
              - {from: tiles, to: slow, capacity: 16 KiB}
            """)
        let watcher = Task {
            while run.snapshot().stage("slow")?.itemsIn ?? 0 < 100 { try await Task.sleep(for: .milliseconds(10)) }
            run.requestStop(.requested)
            try await Task.sleep(for: .milliseconds(50))
            run.requestStop(.requested)  // the expander is not a source: stop it too
        }
        let (result, samples) = await GraphHarness.runSampling(run)
        try await watcher.value
        #expect(result.hung.isEmpty)
        for sample in samples {
            let produced = sample.stage("tiles")!.itemsOut
            let consumed = sample.stage("slow")!.itemsIn
            #expect(produced - consumed <= 16 + 2, "in flight \(produced - consumed)")
        }
        // 16 KiB of 1 KiB tiles, plus one tile per producer and one being handed over.
        #expect(result.snapshot.edge("tiles.out->slow.in")!.maxDepthBytes <= 16 * 1024 + 2 * 1024)
        // How far the expander got depends on how soon the stop request came (other tests share the
        // machine); what must hold is the bound above, at every sample and at the end.
        let final = result.snapshot
        #expect(final.stage("tiles")!.itemsOut - final.stage("slow")!.itemsIn <= 16 + 2)
    }
}
