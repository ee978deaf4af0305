import ArgumentParser
import Distillery

/// Options shared by `run` and `validate`.
struct GraphOptions: ParsableArguments {
    @Argument(help: "The graph file (YAML).")
    var graph: String

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Override a value: STAGE.PARAM=VALUE, STAGE.replicas=N or run.KEY=VALUE (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    /// Loads the graph, or prints every error (one per line) to standard error and exits with code 2.
    /// - Parameter validatingStages: call each stage's `validate(replicas:)` (files and datasets it names).
    func load(validatingStages: Bool = true) throws -> GraphSpec {
        do {
            var loader = GraphLoader(registry: Distill.registry)
            loader.validatesStages = validatingStages
            return try loader.load(path: graph, overrides: overrides)
        } catch {
            for line in error.errors { Console.error("error: \(line)") }
            throw ExitCode(2)
        }
    }
}
