import ArgumentParser
import Distillery
import Foundation

/// `distill monitor HOST:PORT`: attaches to a running graph.
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Attach to a running graph and show its live stats table, naming the bottleneck stage.")

    @Argument(help: ArgumentHelp("The address the graph listens on (distill run --listen).", valueName: "host:port"))
    var address: String

    @Flag(help: "Print one snapshot and exit.")
    var once = false

    @Flag(help: "Print snapshots as JSON (one object per line) instead of a table.")
    var json = false

    @Option(help: "Seconds between refreshes.")
    var interval: Double = 1

    func run() async throws {
        guard let target = MonitorAddress(address) else {
            throw ValidationError("expected HOST:PORT, e.g. 127.0.0.1:9464 (got '\(address)')")
        }
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
        var attached = false
        while true {
            let snapshot: GraphSnapshot
            do {
                snapshot = try await MonitorClient.snapshot(from: target)
            } catch {
                if attached {
                    Console.error("the graph at \(target) is gone (it finished or stopped)")
                    return
                }
                Console.error("error: \(error)")
                throw ExitCode(1)
            }
            attached = true
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = once ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
                Console.out(String(decoding: try encoder.encode(snapshot), as: UTF8.self))
            } else {
                Console.out((!once && Console.stdoutIsTerminal ? Console.clearScreen : "") + StatsTable.render(snapshot))
            }
            if once || ["completed", "failed", "stopped"].contains(snapshot.state) { return }
            try await Task.sleep(for: .seconds(interval))
        }
    }
}
