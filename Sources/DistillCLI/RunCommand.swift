import ArgumentParser
import Distillery
import Logging

/// `distill run GRAPH`: runs a graph with a run directory, stats and a monitor endpoint.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a graph file.",
        discussion: """
            Writes runs/<graph>-<time>/ (or --run-dir) with graph.yaml, run.log, metrics.jsonl and summary.json.
            Exit codes: 0 completed, 1 a stage failed, 2 invalid graph, 130 SIGINT / 143 SIGTERM (after draining). \
            Ctrl-C once drains the graph (sources stop, in-flight items finish); twice stops at once.
            """)

    @OptionGroup var graph: GraphOptions

    @Option(name: .customLong("run-dir"), help: "Use exactly this run directory.")
    var runDirectory: String?

    @Option(help: ArgumentHelp("Continue the run in RUN_DIR from its last checkpoint (log and metrics appended).", valueName: "run-dir"))
    var resume: String?

    @Option(help: ArgumentHelp("Serve /metrics and /stats on HOST:PORT (port 0: any free port).", valueName: "host:port"))
    var listen: String?

    @Flag(help: "Draw the live stats table in this terminal.")
    var monitor = false

    @Flag(name: .customLong("dry-run"), help: "Check the graph without running it: stages, models, shapes, parameter counts, memory estimate.")
    var dryRun = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        if dryRun {
            let spec = try graph.load(validatingStages: false)
            let report = GraphDryRun.report(spec, registry: Distill.registry)
            print(report.lines.joined(separator: "\n"))
            if report.problems > 0 { throw ExitCode(2) }
            return
        }
        let spec = try graph.load()
        var options = RunOptions()
        if let resume {
            guard runDirectory == nil else { throw ValidationError("--resume RUN_DIR already names the run directory; drop --run-dir") }
            options.runDirectory = resume
            options.resume = true
        } else {
            options.runDirectory = runDirectory
        }
        if let listen {
            guard let address = MonitorAddress(listen) else {
                throw ValidationError("--listen expects HOST:PORT, e.g. 127.0.0.1:9464 (got '\(listen)')")
            }
            options.listen = address
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        options.logLevel = level
        if monitor {
            let redraw = Console.stderrIsTerminal
            options.onStats = { snapshot in
                Console.error((redraw ? Console.clearScreen : "") + StatsTable.render(snapshot))
            }
        }
        let session: RunSession
        do {
            session = try await RunSession(graph: spec, registry: Distill.registry, options: options)
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
        if let address = session.monitorAddress {
            Console.error("listening on \(address)")
        }
        let result = await session.execute()
        if !monitor { Console.error(StatsTable.render(result.snapshot)) }
        if let summary = TrainingRunSummary.render(result.snapshot, runDirectory: session.runDirectory) { Console.error(summary) }
        if case .failed(let stage, let message) = result.outcome {
            Console.error("error: stage '\(stage)' failed: \(message)")
        }
        for hung in result.hung { Console.error("error: stage \(hung)") }
        throw ExitCode(result.outcome.exitCode)
    }
}
