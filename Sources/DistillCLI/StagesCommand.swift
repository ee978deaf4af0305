import ArgumentParser
import Distillery

/// `distill stages`: lists the stage types graph files can use.
struct StagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages", abstract: "List the stage types available to graph files, with ports and parameters.")

    func run() {
        let registry = Distill.registry
        for name in registry.typeNames {
            guard let stage = registry.descriptor(name) else { continue }
            Console.out("\(name): \(stage.summary)")
            for port in stage.inputs { Console.out("  in  \(port.name): \(port.typeName)") }
            for port in stage.outputs { Console.out("  out \(port.name): \(port.typeName)") }
            for parameter in stage.parameters {
                let fallback = parameter.defaultValue.map { " = \($0)" } ?? " (required)"
                Console.out("  \(parameter.name)\(fallback): \(parameter.kind) — \(parameter.summary)")
            }
            if stage.supportsOrdered { Console.out("  (map stage: supports ordered: true with replicas)") }
        }
    }
}
