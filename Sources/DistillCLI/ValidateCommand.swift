import ArgumentParser
import Distillery

/// `distill validate GRAPH`: checks a graph file without running it.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a graph file without running it (exit code 2 and one line per mistake if invalid).")

    @OptionGroup var graph: GraphOptions

    func run() throws {
        let spec = try graph.load()
        let replicas = spec.stages.reduce(0) { $0 + $1.replicas }
        Console.out("\(graph.graph): ok (graph '\(spec.name)': \(spec.stages.count) stages, \(replicas) replicas, \(spec.edges.count) edges)")
    }
}
