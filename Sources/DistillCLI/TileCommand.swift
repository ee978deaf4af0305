import ArgumentParser
import Distillery
import Foundation
import Logging

/// `distill tile SLIDES_OR_DIRS… --out DIR`: runs `graphs/tile.yaml` (slide-list → slide-reader → shard-writer).
struct TileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tile",
        abstract: "Cut slides into tiles at a physical resolution and write tile shards.",
        discussion: """
            Directories are walked recursively for slide files (and .dcm/.czi/.vsi files, which get their own error). \
            Runs graphs/tile.yaml (or the same graph built in) with its run directory under OUT/runs/: run.log, \
            qc/<slide>.png, tiling-summary.json and tiling-summary.csv. A slide that fails is reported in the summary \
            and the run goes on (unless --fail-fast). Re-running resumes: complete slides are skipped, the others (failed, interrupted, rejected) tried again.
            Exit codes: 0 the run completed (even if some slides failed), 1 the run failed, 2 invalid graph, \
            64 invalid command line (e.g. an input that does not exist).
            """)

    @Argument(help: "Slide files or directories.")
    var inputs: [String]

    @Option(help: "Dataset folder for the shards.")
    var out: String

    @Option(help: "Target resolution, µm/px.")
    var mpp: Double = 0.5

    @Option(help: "Tile side, px.")
    var size: Int = 224

    @Option(name: .customLong("min-tissue"), help: "Minimum tissue fraction of a kept tile, 0…1.")
    var minTissue: Double = 0.5

    @Option(name: .customLong("mpp-override"), help: "µm/px for every slide (wins over slide metadata).")
    var mppOverride: Double?

    @Option(name: .customLong("mpp-csv"), help: "CSV of slide,mpp per-slide overrides.")
    var mppCSV: String?

    @Flag(name: .customLong("fail-fast"), help: "Stop the run at the first slide or tile error.")
    var failFast = false

    @Option(help: "Dark-background (fluorescence) slides: reject (report, don't tile) or bright-objects.")
    var fluorescence: String = "reject"

    @Option(name: .customLong("tiles-per-shard"), help: "Tiles per shard.")
    var tilesPerShard: Int = 10_000

    @Option(name: .customLong("run-dir"), help: "Use exactly this run directory (default OUT/runs/tile-<time>).")
    var runDirectory: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        for input in inputs where !FileManager.default.fileExists(atPath: input) {
            throw ValidationError("no such slide file or directory: \(input)")
        }
        if mppOverride != nil && mppCSV != nil { throw ValidationError("give --mpp-override or --mpp-csv, not both") }
        let plausible = MPPOverrideTable.plausibleMPP
        if let mppOverride, !plausible.contains(mppOverride) {
            throw ValidationError("--mpp-override \(mppOverride) is not a level-0 µm/px in \(plausible.lowerBound)…\(plausible.upperBound)")
        }
        if !plausible.contains(mpp) { throw ValidationError("--mpp \(mpp) is not a µm/px in \(plausible.lowerBound)…\(plausible.upperBound)") }
        // The folder, or the first part of its path that exists, must be a folder.
        var path = (out as NSString).standardizingPath
        while !path.isEmpty && path != "/" {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                if !isDirectory.boolValue { throw ValidationError("--out \(out): \(path) is a file, not a folder") }
                break
            }
            path = (path as NSString).deletingLastPathComponent
        }
        if !["reject", "bright-objects"].contains(fluorescence) {
            throw ValidationError("--fluorescence must be reject or bright-objects")
        }
    }

    func run() async throws {
        var tiling = TileGraph(inputs: inputs, out: out)
        tiling.mpp = mpp
        tiling.size = size
        tiling.minTissue = minTissue
        tiling.mppOverride = mppOverride
        tiling.mppCSV = mppCSV
        tiling.failFast = failFast
        tiling.fluorescence = fluorescence
        tiling.tilesPerShard = tilesPerShard
        let spec: GraphSpec
        do {
            spec = try tiling.load(registry: Distill.registry).spec
        } catch let errors as GraphErrors {
            for line in errors.errors { Console.error("error: \(line)") }
            throw ExitCode(2)
        }
        var options = RunOptions()
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        options.runDirectory = runDirectory ?? (out as NSString).appendingPathComponent("runs/tile-\(stamp)")
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        options.logLevel = level
        let session: RunSession
        do {
            session = try await RunSession(graph: spec, registry: Distill.registry, options: options)
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
        let result = await session.execute()
        let summaryPath = (session.runDirectory as NSString).appendingPathComponent("tiling-summary.json")
        if let data = FileManager.default.contents(atPath: summaryPath),
           let summary = try? JSONDecoder().decode(TilingSummaryFile.self, from: data) {
            Console.out(ShardWriterStage.table(summary.slides))
        }
        Console.error("run directory: \(session.runDirectory)")
        if case .failed(let stage, let message) = result.outcome {
            Console.error("error: stage '\(stage)' failed: \(message)")
        }
        for hung in result.hung { Console.error("error: stage \(hung)") }
        throw ExitCode(result.outcome.exitCode)
    }
}

/// The part of `tiling-summary.json` the command prints.
private struct TilingSummaryFile: Decodable {
    let slides: [SlideReport]
}
