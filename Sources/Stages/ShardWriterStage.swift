import Dataflow
import Foundation
import TileShards

/// `shard-writer`: writes the tiles of ``TileStreamItem``s into a tile-shard dataset (`DatasetWriter`) and
/// marks each slide complete on its report, so a re-run skips it (resume: tiles of slides already complete
/// in the dataset are dropped, and the slide is reported `skipped`).
///
/// At the end it writes `<run dir>/tiling-summary.json` and `<run dir>/tiling-summary.csv` (atomically) and
/// logs a table: per slide, tiles, mpp and its source, status and error (unless `log_table: false`, as
/// `distill tile` sets it, since it prints the same table itself).
public struct ShardWriterStage: Stage {
    public static let summary = "Writes tiles to a tile-shard dataset; per-slide completion, resume, summary"
    public static let input = InputPort<TileStreamItem>("in")
    public static var inputs: [PortSpec] { [input.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("out", .string, "dataset folder"),
        ParameterSpec("size", .integer(1...8192), default: .integer(224), "tile side, px (the dataset's geometry)"),
        ParameterSpec("tiles_per_shard", .integer(1...(1 << 24)), default: .integer(10_000), "tiles per shard"),
        ParameterSpec("zstd_level", .integer(-7...22), default: .integer(3), "zstd level"),
        ParameterSpec("log_table", .boolean, default: .boolean(true), "log the per-slide table at the end"),
        ParameterSpec("mpp", .number, default: .number(0), "the tiles' µm/px: a dataset already holding tiles at another resolution is refused; 0 = not checked"),
    ]

    let out: String
    let size: Int
    let tilesPerShard: Int
    let zstdLevel: Int
    let logTable: Bool
    let mpp: Double

    public init(parameters: StageParameters) throws {
        out = parameters.string("out")
        guard !out.isEmpty else { throw ParameterError(key: "out", "give the dataset folder") }
        size = parameters.integer("size")
        tilesPerShard = parameters.integer("tiles_per_shard")
        zstdLevel = parameters.integer("zstd_level")
        logTable = parameters.boolean("log_table")
        mpp = parameters.number("mpp")
        guard mpp >= 0, mpp.isFinite else { throw ParameterError(key: "mpp", "must be 0 (not checked) or a positive µm/px") }
    }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let options = DatasetWriter.Options(geometry: TileGeometry(size: size),
                                            compression: ShardCompression(level: Int32(zstdLevel)),
                                            maxTilesPerShard: tilesPerShard)
        let writer = try DatasetWriter(directory: out, options: options)
        if let held = try Self.resolution(of: writer), differsFromMPP(held) {
            try writer.close()
            throw ParameterError(key: "mpp", "\(out) holds tiles at \(held) µm/px, this run cuts tiles at \(mpp) µm/px: a dataset holds one resolution, so tile into another folder")
        }
        let resume = writer.resumeReport
        if resume.isResume {
            context.logger.info("resuming \(out): \(resume.completedSources) slides complete, \(resume.keptShards.count) shards kept, \(resume.rewrittenShards.count) rewritten, \(resume.removedFiles.count) leftover files removed")
        }
        let alreadyComplete = writer.completedSources
        var reports: [SlideReport] = []
        var quarantined = false
        var written = 0
        do {
            while let item = try await inbox.next() {
                switch item {
                case .tile(let tile):
                    if alreadyComplete.contains(tile.slideID) { continue }
                    if differsFromMPP(tile.mpp) {
                        throw ParameterError(key: "mpp", "slide \(tile.slideID) sends tiles at \(tile.mpp) µm/px into a dataset of \(mpp) µm/px")
                    }
                    try writer.append(tile.pixels, metadata: TileMetadata(
                        slideID: tile.slideID, x: Int64(tile.x), y: Int64(tile.y), mpp: tile.mpp,
                        tissueFraction: tile.tissueFraction))
                    written += 1
                    context.metrics.add("tiles_written")
                case .report(var report):
                    if alreadyComplete.contains(report.slideID) {
                        report.status = .skipped
                        report.tiles = 0
                        report.error = nil
                    } else if report.isFinal {
                        try writer.finishSource(report.slideID)
                    } else if report.status == .interrupted {
                        report.tiles = 0  // removed at the end (its error says how far the reader got)
                    } else if report.status == .quarantined {
                        quarantined = true
                    }
                    reports.append(report)
                    if report.status == .ok || report.status == .skipped {
                        context.logger.info("\(Self.line(report))")
                    } else {
                        context.logger.warning("\(Self.line(report))")
                    }
                }
            }
        } catch {
            try? writer.close()
            try? writeSummary(reports, context: context)
            throw error
        }
        // Quarantined slides, and a slide cut short by a drain, must not count as complete, and their tiles may
        // already be in sealed shards: close() leaves them unfinished, then a fresh writer's resume rewrites those
        // shards without them, so every listed shard holds complete slides only (a re-run tiles them again).
        // Otherwise finish() completes every source.
        if quarantined || context.isDraining {
            try writer.close()
            let cleanup = try DatasetWriter(directory: out, options: options)
            let removed = cleanup.resumeReport.rewrittenShards.reduce(0) { $0 + $1.removedTiles }
            try cleanup.finish()
            written -= removed
            if removed > 0 { context.logger.info("removed \(removed) tiles of interrupted or quarantined slides from \(out)") }
        } else {
            try writer.finish()
        }
        try writeSummary(reports, context: context)
        context.logger.info("\(written) tiles written to \(out)\(logTable ? "\n" + Self.table(reports) : "")")
    }

    /// Whether tiles at `other` µm/px do not belong in this dataset (`mpp` given, and not within 1e-6 of it).
    func differsFromMPP(_ other: Double) -> Bool { mpp > 0 && abs(other - mpp) > 1e-6 * mpp }

    /// The µm/px of the dataset's first tile, nil while it holds none.
    /// - Throws: `ShardError` reading that shard.
    static func resolution(of writer: DatasetWriter) throws -> Double? {
        guard let shard = writer.index.shards.first(where: { $0.tiles > 0 }) else { return nil }
        return try ShardReader(path: (writer.directory as NSString).appendingPathComponent(shard.file)).metadata(at: 0).mpp
    }

    func writeSummary(_ reports: [SlideReport], context: StageContext) throws {
        guard let runDirectory = context.runDirectory else { return }
        try Self.writeSummary(reports, directory: runDirectory, dataset: out)
    }

    /// Writes `tiling-summary.json` and `tiling-summary.csv` into `directory`, each via a temporary file and a rename.
    public static func writeSummary(_ reports: [SlideReport], directory: String, dataset: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let sorted = reports.sorted { $0.slideID < $1.slideID }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct Summary: Encodable {
            let dataset: String
            let slides: [SlideReport]
            let tiles: Int
            let failed: Int
        }
        let json = try encoder.encode(Summary(dataset: dataset, slides: sorted, tiles: sorted.reduce(0) { $0 + $1.tiles },
                                              failed: sorted.filter(\.isFailure).count))
        try atomicWrite(json, to: (directory as NSString).appendingPathComponent("tiling-summary.json"))
        var csv = "slide,status,tiles,tile_errors,mpp,mpp_source,error\n"
        for r in sorted {
            let fields = [r.slideID, r.status.rawValue, String(r.tiles), String(r.tileErrors),
                          r.mpp.map { String($0) } ?? "", r.mppSource ?? "", r.error ?? ""]
            csv += fields.map(csvField).joined(separator: ",") + "\n"
        }
        try atomicWrite(Data(csv.utf8), to: (directory as NSString).appendingPathComponent("tiling-summary.csv"))
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func atomicWrite(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// One log line for a finished slide.
    public static func line(_ r: SlideReport) -> String {
        let mpp = r.mpp.map { String(format: "%.4g µm/px (%@)", $0, r.mppSource ?? "?") } ?? "no mpp"
        switch r.status {
        case .ok: return "slide \(r.slideID): \(r.tiles) tiles at \(mpp)" + (r.tileErrors > 0 ? ", \(r.tileErrors) tile errors" : "")
        case .skipped: return "slide \(r.slideID): already complete, skipped"
        default: return "slide \(r.slideID): \(r.status.rawValue): \(r.error ?? "")"
        }
    }

    /// A plain-text table of the reports.
    public static func table(_ reports: [SlideReport]) -> String {
        func cut(_ text: String, _ limit: Int) -> String {
            text.count > limit ? String(text.prefix(limit - 3)) + "..." : text
        }
        var rows: [[String]] = []
        for r in reports.sorted(by: { $0.slideID < $1.slideID }) {
            let mpp: String = r.mpp.map { String(format: "%.4g", $0) } ?? "-"
            let source: String = cut(r.mppSource ?? "-", 40)
            let error: String = cut(r.error ?? "", 110)
            rows.append([r.slideID, r.status.rawValue, String(r.tiles), mpp, source, error])
        }
        let header = ["slide", "status", "tiles", "mpp", "mpp source", "error"]
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < 5 { widths[i] = max(widths[i], cell.count) } }
        func format(_ row: [String]) -> String {
            row.enumerated().map { i, cell in i < 5 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) : cell }
                .joined(separator: "  ")
        }
        let total = reports.reduce(0) { $0 + $1.tiles }
        let failed = reports.filter(\.isFailure).count
        let interrupted = reports.filter { $0.status == .interrupted }.count
        return ([format(header)] + rows.map(format)).joined(separator: "\n")
            + "\n\(reports.count) slides, \(total) tiles, \(failed) failed"
            + (interrupted > 0 ? ", \(interrupted) interrupted (tiled again on the next run)" : "")
    }
}
