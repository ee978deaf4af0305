import Dataflow
import Foundation
import Stages

#if canImport(Glibc)
import Glibc
#endif

/// `distill bench engine`: the engine's own overhead, through a 5-stage chain
/// (`synthetic-source → map → map → map → sink`, no simulated work, 4 hops).
///
/// - **Small items** (64 B): items per second end to end, wall µs per item, and process CPU µs per
///   item per hop (the engine's cost of moving one item across one edge, both sides included).
/// - **Large items** (1 MiB): GB/s of payload through the chain. Payloads move by reference, so this
///   measures per-item engine cost expressed as bandwidth, not memory copies.
public enum EngineBenchmark {
    /// Settings of one benchmark run.
    public struct Options: Sendable {
        /// Items in the small-item pass.
        public var smallItems = 200_000
        /// Items in the 1 MiB pass.
        public var largeItems = 4_000
        /// Edge capacity in items.
        public var capacity = 64

        public init() {}
    }

    /// One pass through the chain.
    public struct Pass: Codable, Sendable {
        public var items: Int
        public var itemBytes: Int
        public var hops: Int
        public var wallSeconds: Double
        public var cpuSeconds: Double
        public var itemsPerSecond: Double
        public var wallMicrosecondsPerItem: Double
        public var cpuMicrosecondsPerItemPerHop: Double
        public var gigabytesPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case items, itemBytes = "item_bytes", hops, wallSeconds = "wall_s", cpuSeconds = "cpu_s",
                 itemsPerSecond = "items_per_s", wallMicrosecondsPerItem = "wall_us_per_item",
                 cpuMicrosecondsPerItemPerHop = "cpu_us_per_item_per_hop", gigabytesPerSecond = "gb_per_s"
        }
    }

    /// The report `distill bench engine --json` prints.
    public struct Report: Codable, Sendable {
        public var benchmark = "engine"
        public var stages = 5
        public var capacity: Int
        public var cores: Int
        public var small: Pass
        public var large: Pass
    }

    /// Runs both passes.
    /// - Throws: a failure of the benchmark graph (it checks counts and payloads at the sink).
    public static func run(_ options: Options = Options()) async throws -> Report {
        let small = try await pass(items: options.smallItems, itemBytes: 64, capacity: options.capacity)
        let large = try await pass(items: options.largeItems, itemBytes: 1 << 20, capacity: options.capacity)
        return Report(capacity: options.capacity, cores: ProcessInfo.processInfo.activeProcessorCount,
                      small: small, large: large)
    }

    static func pass(items: Int, itemBytes: Int, capacity: Int) async throws -> Pass {
        let yaml = """
            name: bench-engine
            stages:
              - {name: source, type: synthetic-source, params: {count: \(items), item_bytes: \(itemBytes)}}
              - {name: map1, type: map}
              - {name: map2, type: map}
              - {name: map3, type: map}
              - {name: sink, type: sink, params: {expect_count: \(items), check_order: true}}
            edges:
              - {from: source, to: map1, capacity: \(capacity)}
              - {from: map1, to: map2, capacity: \(capacity)}
              - {from: map2, to: map3, capacity: \(capacity)}
              - {from: map3, to: sink, capacity: \(capacity)}
            """
        let graph = try GraphLoader(registry: .builtIn).load(yaml: yaml, path: "<bench engine>")
        let run = try GraphRun(graph: graph, registry: .builtIn)
        let cpuBefore = cpuSeconds()
        let start = ContinuousClock.now
        let result = await run.run()
        let wall = (ContinuousClock.now - start) / .seconds(1)
        let cpu = cpuSeconds() - cpuBefore
        if case .failed(let stage, let message) = result.outcome {
            throw BenchmarkError(message: "benchmark graph failed in '\(stage)': \(message)")
        }
        let hops = 4
        return Pass(
            items: items, itemBytes: itemBytes, hops: hops, wallSeconds: wall, cpuSeconds: cpu,
            itemsPerSecond: Double(items) / wall, wallMicrosecondsPerItem: wall * 1e6 / Double(items),
            cpuMicrosecondsPerItemPerHop: cpu * 1e6 / Double(items * hops),
            gigabytesPerSecond: Double(items) * Double(itemBytes) / wall / 1e9)
    }

    /// User + system CPU time of this process, seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }
}

/// A benchmark could not run.
public struct BenchmarkError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
