import Foundation
import Logging
import UnixSignals

/// Settings of one `distill run` that are not part of the graph.
public struct RunOptions: Sendable {
    /// Use exactly this run directory instead of `<run.run_dir>/<graph>-<time>/`.
    public var runDirectory: String?
    /// Continue the earlier run in `runDirectory` (which must hold its `graph.yaml`): the log and `metrics.jsonl`
    /// are appended to, and stages see ``StageContext/isResuming``.
    public var resume = false
    /// Listen here instead of the graph's `run.monitor` (port 0: any free port).
    public var listen: MonitorAddress?
    /// Lowest level written to `run.log` and the console.
    public var logLevel: Logger.Level = .info
    /// Also write log lines to standard error.
    public var logToConsole = true
    /// Turn SIGINT/SIGTERM into drain requests for the duration of the run.
    public var handleSignals = true
    /// Called with each stats snapshot (every `run.stats_interval`), e.g. to draw the live table.
    public var onStats: (@Sendable (GraphSnapshot) -> Void)?

    public init() {}
}

/// A run as `distill run` does it: the run directory, the log, `metrics.jsonl`, the monitor endpoint
/// and signal handling around a ``GraphRun``.
///
/// Run directory contents:
/// - `graph.yaml`: the resolved graph (defaults, overrides and `${ENV}` applied);
/// - `run.log`: the log;
/// - `metrics.jsonl`: one ``GraphSnapshot`` per stats interval and a final one;
/// - `summary.json`: outcome, exit code, hung stages and the final snapshot, written last (atomically).
public final class RunSession: Sendable {
    public let graph: GraphSpec
    /// The run directory path.
    public let runDirectory: String
    /// Its last path component, used as the run ID.
    public let runID: String
    /// Where the monitor listens, if it does.
    public let monitorAddress: MonitorAddress?
    public let logger: Logger
    private let run: GraphRun
    private let monitor: MonitorServer?
    private let log: RunLogFile
    private let metricsFile: RunLogFile
    private let options: RunOptions
    private let signals: Task<Void, Never>?

    /// Creates the run directory, opens the log and starts the monitor. Stages are built but not run.
    /// - Throws: ``RunDirectoryError`` when the directory or its files cannot be written, or a resumed run changes
    ///   what ``ResumeCheck`` keeps (nothing in the run directory is touched then),
    ///   ``MonitorError`` when the monitor address cannot be bound, or a stage initialiser's error.
    public init(graph: GraphSpec, registry: StageRegistry, options: RunOptions = RunOptions()) async throws {
        self.graph = graph
        self.options = options
        let directory: String
        if options.resume {
            guard let exact = options.runDirectory, FileManager.default.fileExists(atPath: exact + "/graph.yaml") else {
                throw RunDirectoryError(message: "nothing to resume in \(options.runDirectory ?? "(no run directory)"): it holds no graph.yaml of an earlier run")
            }
            try Self.checkResume(graph, directory: exact, registry: registry)
            directory = exact
        } else {
            directory = try Self.makeRunDirectory(graph: graph, exact: options.runDirectory)
        }
        runDirectory = directory
        runID = URL(fileURLWithPath: directory).lastPathComponent
        log = try RunLogFile(path: directory + "/run.log", append: options.resume)
        metricsFile = try RunLogFile(path: directory + "/metrics.jsonl", append: options.resume)
        let level = options.logLevel
        let log = self.log
        let console = options.logToConsole
        var logger = Logger(label: "distill") { label in
            var handlers: [any LogHandler] = [RunLogHandler(file: log, level: level)]
            if console {
                var stderr = StreamLogHandler.standardError(label: label)
                stderr.logLevel = level
                handlers.append(stderr)
            }
            return MultiplexLogHandler(handlers)
        }
        logger.logLevel = level
        self.logger = logger
        try Self.writeAtomically(GraphWriter.yaml(graph), to: directory + "/graph.yaml")
        let run = try GraphRun(graph: graph, registry: registry, runID: runID, runDirectory: directory, resuming: options.resume,
                               logger: logger)
        self.run = run
        // Trap SIGINT/SIGTERM before anything is printed, so a signal right after start drains the run
        // instead of killing the process; a request made before `execute()` is kept until it starts.
        if options.handleSignals {
            let trapped = await UnixSignalsSequence(trapping: .sigint, .sigterm)
            signals = Task {
                for await signal in trapped {
                    run.requestStop(signal == .sigint ? .interrupt : .terminate)
                }
            }
        } else {
            signals = nil
        }
        if let address = options.listen ?? graph.run.monitor.flatMap(MonitorAddress.init) {
            do {
                let server = try await MonitorServer(address: address, snapshot: { run.snapshot() })
                monitor = server
                monitorAddress = server.address
            } catch {
                // Leave a run directory that says why nothing ran.
                logger.error("\(error)")
                signals?.cancel()
                metricsFile.close()
                Self.writeNotStartedSummary(graph: graph, runID: runID, directory: directory, reason: "\(error)")
                log.close()
                throw error
            }
        } else {
            monitor = nil
            monitorAddress = nil
        }
    }

    /// Runs the graph to its end, recording stats, and writes the summary.
    public func execute() async -> RunResult {
        logger.info("run \(runID): \(graph.stages.count) stages, \(graph.edges.count) edges, directory \(runDirectory)")
        if let monitorAddress {
            logger.info("monitor: http://\(monitorAddress)/metrics and /stats (attach with `distill monitor \(monitorAddress)`)")
        }
        let interval = graph.run.statsInterval
        let ticker = Task { [run, metricsFile, options] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                if Task.isCancelled { break }
                let snapshot = run.tick()
                metricsFile.append(Self.jsonLine(snapshot))
                options.onStats?(snapshot)
            }
        }
        let result = await run.run()
        ticker.cancel()
        signals?.cancel()
        metricsFile.append(Self.jsonLine(result.snapshot))
        options.onStats?(result.snapshot)
        metricsFile.close()
        await monitor?.stop()
        writeSummary(result)
        log.close()
        return result
    }

    private func writeSummary(_ result: RunResult) {
        let outcome: String
        var failure: [String: String]?
        switch result.outcome {
        case .completed: outcome = "completed"
        case .failed(let stage, let message):
            outcome = "failed"
            failure = ["stage": stage, "message": message]
        case .stopped(let request): outcome = "stopped by \(request)"
        }
        let summary = RunSummary(
            graph: graph.name, runID: runID, outcome: outcome, exitCode: result.outcome.exitCode, failure: failure,
            hung: result.hung.map(\.description), elapsedSeconds: result.snapshot.elapsedSeconds,
            stages: result.snapshot.stages, edges: result.snapshot.edges)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let data = try? encoder.encode(summary) {
            do {
                try Self.writeAtomically(String(decoding: data, as: UTF8.self) + "\n", to: runDirectory + "/summary.json")
            } catch {
                logger.error("\(error)")
            }
        }
        switch result.outcome {
        case .completed: logger.info("run completed in \(Decimal3.string(result.snapshot.elapsedSeconds)) s")
        case .failed(let stage, let message): logger.error("run failed: stage '\(stage)': \(message)")
        case .stopped(let request) where result.hung.isEmpty && result.drainCutShort:
            logger.notice("run stopped by \(request); the drain was cut short (items in flight were dropped)")
        case .stopped(let request) where result.hung.isEmpty: logger.notice("run stopped by \(request) after draining")
        case .stopped(let request): logger.error("run stopped by \(request); \(result.hung.count) task(s) did not stop")
        }
        for hung in result.hung { logger.error("hung: stage \(hung)") }
        logger.info("outputs: \(runDirectory) (graph.yaml, run.log, metrics.jsonl, summary.json)")
    }

    /// `summary.json` for a run that failed before any stage started (e.g. the monitor port is taken).
    static func writeNotStartedSummary(graph: GraphSpec, runID: String, directory: String, reason: String) {
        let summary = RunSummary(
            graph: graph.name, runID: runID, outcome: "not started", exitCode: 1,
            failure: ["stage": "", "message": reason], hung: [], elapsedSeconds: 0, stages: [], edges: [])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let data = try? encoder.encode(summary) {
            try? writeAtomically(String(decoding: data, as: UTF8.self) + "\n", to: directory + "/summary.json")
        }
    }

    static func jsonLine(_ snapshot: GraphSnapshot) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(snapshot) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Refuses to resume the run in `directory` with a `graph` that changes what ``ResumeCheck`` keeps.
    /// - Throws: ``RunDirectoryError`` listing every difference, or naming the run's unreadable `graph.yaml`.
    static func checkResume(_ graph: GraphSpec, directory: String, registry: StageRegistry) throws {
        let path = directory + "/graph.yaml"
        let stored: GraphSpec
        do {
            var loader = GraphLoader(registry: registry)
            loader.validatesStages = false  // its files may have moved since; only its values are compared
            stored = try loader.load(path: path)
        } catch {
            throw RunDirectoryError(message: "cannot resume \(directory): its \(path) does not load: \(error)")
        }
        let differences = ResumeCheck.differences(stored: stored, resumed: graph, registry: registry)
        guard differences.isEmpty else {
            throw RunDirectoryError(message: "cannot resume \(directory) with other settings — a resumed run continues the same schedule (start a new run for these):\n  "
                                    + differences.joined(separator: "\n  "))
        }
    }

    /// Writes to a temporary file in the same directory and renames it over `path`.
    static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            // rename(2) replaces an existing file atomically (Foundation's replaceItemAt fails on Linux here).
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw RunDirectoryError(message: "cannot write \(path): \(GraphLoader.reason(error))")
        }
    }

    static func makeRunDirectory(graph: GraphSpec, exact: String?) throws -> String {
        let manager = FileManager.default
        var path: String
        if let exact {
            path = exact
        } else {
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.locale = Locale(identifier: "en_US_POSIX")
            let base = graph.run.runDirectory + "/" + graph.name + "-" + formatter.string(from: Date())
            path = base
            var suffix = 2
            while manager.fileExists(atPath: path) {
                path = "\(base)-\(suffix)"
                suffix += 1
            }
        }
        do {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RunDirectoryError(message: "cannot create run directory \(path): \(GraphLoader.reason(error))")
        }
        return path
    }
}

/// `summary.json`.
struct RunSummary: Encodable {
    var graph: String
    var runID: String
    var outcome: String
    var exitCode: Int32
    var failure: [String: String]?
    var hung: [String]
    var elapsedSeconds: Double
    var stages: [StageSnapshot]
    var edges: [EdgeSnapshot]

    enum CodingKeys: String, CodingKey {
        case graph, runID = "run_id", outcome, exitCode = "exit_code", failure, hung, elapsedSeconds = "elapsed_s",
             stages, edges
    }
}
