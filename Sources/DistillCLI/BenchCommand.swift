import ArgumentParser
import Benchmarks
import Distillery
import Foundation

/// `distill bench …`: benchmarks, each printed as a table or JSON.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure throughput.", subcommands: [EngineBench.self])
}

/// `distill bench engine`.
struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Engine overhead: items/s and µs per item per hop through a 5-stage chain, GB/s with 1 MiB items.")

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Items in the small-item pass.")
    var items = 200_000

    @Option(name: .customLong("large-items"), help: "Items in the 1 MiB pass.")
    var largeItems = 4_000

    @Option(help: "Edge capacity in items.")
    var capacity = 64

    func run() async throws {
        var options = EngineBenchmark.Options()
        options.smallItems = items
        options.largeItems = largeItems
        options.capacity = capacity
        let report = try await EngineBenchmark.run(options)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        Console.out("engine: 5-stage chain (4 hops), capacity \(report.capacity), \(report.cores) cores")
        for (name, pass) in [("64 B items", report.small), ("1 MiB items", report.large)] {
            Console.out(String(format: "  %-11@ %9.0f items/s  %7.2f µs/item wall  %6.2f µs CPU/item/hop  %7.2f GB/s",
                               name, pass.itemsPerSecond, pass.wallMicrosecondsPerItem,
                               pass.cpuMicrosecondsPerItemPerHop, pass.gigabytesPerSecond))
        }
    }
}
