import Testing
@testable import Dataflow
import Stages

@Suite("Parsing sizes, durations, ${ENV} and writing graphs back")
struct FormatTests {
    @Test("byte sizes", arguments: [("4096", 4096), ("64 KiB", 65536), ("1MiB", 1_048_576), ("1.5 GB", 1_500_000_000),
                                    ("2 kB", nil), ("12 XB", nil), ("-1", nil), ("0.5 B", nil), ("1_024", 1024)])
    func bytes(text: String, expected: Int?) {
        #expect(ByteFormat.parse(text.replacingUnderscores()) == expected)
    }

    @Test("durations", arguments: [("250us", 0.00025), ("1.5ms", 0.0015), ("2s", 2.0), ("1m", 60.0), ("3", 3.0),
                                   ("fast", nil), ("5 parsecs", nil)])
    func durations(text: String, expected: Double?) {
        #expect(DurationFormat.parse(text) == expected)
    }

    @Test("${ENV} interpolation")
    func interpolation() throws {
        let env = ["SLIDES": "/data/slides", "N": "8"]
        #expect(try Interpolation.expand("${SLIDES}/tcga", environment: env) == "/data/slides/tcga")
        #expect(try Interpolation.expand("${MISSING:-64}", environment: env) == "64")
        #expect(try Interpolation.expand("cost $$5 and $N", environment: env) == "cost $5 and $N")
        #expect(throws: Interpolation.Failure.unset("MISSING")) { try Interpolation.expand("${MISSING}", environment: env) }
        #expect(throws: Interpolation.Failure.unterminated) { try Interpolation.expand("${N", environment: env) }
        #expect(throws: Interpolation.Failure.badName("1X")) { try Interpolation.expand("${1X}", environment: env) }
    }

    @Test("the resolved graph written to the run directory reads back to the same graph")
    func graphRoundTrip() throws {
        let original = try GraphHarness.load("""
            name: round-trip
            run: {seed: 11, monitor: "127.0.0.1:0", stats_interval: 250ms}
            stages:
              - {name: source, type: synthetic-source, replicas: 2, params: {count: 10, item_bytes: 1 MiB}}
              - {name: pool, type: map, replicas: 3, ordered: true, params: {work: 1.5ms}}
              - {name: sink, type: sink, params: {expect_count: 10}}
            edges:
              - {from: source, to: pool, capacity: 4}
              - {from: pool, to: sink, capacity: 8 MiB}
            """, overrides: ["pool.mode=sleep", "run.seed=12"])
        let text = GraphWriter.yaml(original)
        let reloaded = try GraphHarness.load(text)
        #expect(reloaded.name == "round-trip")
        #expect(reloaded.run == original.run)
        #expect(reloaded.run.seed == 12)
        #expect(reloaded.stages.map(\.name) == original.stages.map(\.name))
        for (a, b) in zip(reloaded.stages, original.stages) {
            #expect(a.parameters.values == b.parameters.values)
            #expect(a.replicas == b.replicas && a.ordered == b.ordered && a.type == b.type)
        }
        #expect(reloaded.stage("pool")!.parameters.string("mode") == "sleep")
        #expect(reloaded.edges.map(\.capacity) == [.items(4), .bytes(8 << 20)])
    }
}
