import ArgumentParser
import Distillery

/// The `distill` command: run, validate and monitor graphs, list stages, benchmark, tile, embed tiles, evaluate embeddings.
///
/// A custom-stage package ships its own `distill` with its stages added:
/// ```swift
/// var registry = StageRegistry.builtIn
/// registry.register(Brightness.self, as: "brightness")
/// await Distill.main(registry: registry)
/// ```
public struct Distill: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Distill large pathology foundation models into small ones with a backpressured dataflow graph.",
        version: "0.1.0",
        subcommands: [RunCommand.self, ValidateCommand.self, MonitorCommand.self, StagesCommand.self, BenchCommand.self,
                      InspectCommand.self, ShardsCommand.self, TileCommand.self, EmbedCommand.self, EvalCommand.self, CUDACommand.self])

    public init() {}

    /// The stage types graph files may use in this process.
    @TaskLocal static var registry = StageRegistry.builtIn

    /// Parses the command line and runs the command with `registry`'s stages; exits the process.
    public static func main(registry: StageRegistry, arguments: [String]? = nil) async {
        await $registry.withValue(registry) {
            await main(arguments)
        }
    }
}
