import ArgumentParser
import Foundation
import TileShards

/// `distill shards …`: check and describe tile shard datasets (docs/formats/tile-shards.md).
struct ShardsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shards",
        abstract: "Check and describe tile shard datasets (a folder of shard-*.dts plus index.json).",
        subcommands: [ShardsVerify.self, ShardsInspect.self])
}

/// `distill shards verify DIR`: every checksum of every shard and tile; exit 1 listing each problem.
struct ShardsVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every shard and tile of a dataset (exit code 1 and one line per problem, naming shard and tile).")

    @Argument(help: "The dataset folder.")
    var directory: String

    func run() throws {
        let report = DatasetVerifier.verify(directory: directory)
        if let pid = report.writerPID {
            Console.error("note: a writer (pid \(pid)) holds \(directory); its unfinished files are not reported")
        }
        guard report.isIntact else {
            for line in report.lines { Console.out(line) }
            if report.shards > 0 {
                Console.error("\(directory): \(report.problems.count) problem(s); "
                    + "\(report.intactTiles) of \(report.tiles) tiles in \(report.shards) shards intact")
            }
            throw ExitCode(1)
        }
        Console.out("\(directory): ok (\(report.shards) shards, \(report.tiles) tiles, \(ShardsFormatting.bytes(report.rawBytesChecked)) of pixels checked)")
    }
}

/// `distill shards inspect DIR [--json]`: per shard tiles, geometry, raw/stored bytes, ratio, slides; totals.
struct ShardsInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a dataset: per shard tiles, geometry, raw and stored bytes, ratio, slides; totals.")

    @Argument(help: "The dataset folder.")
    var directory: String

    @Flag(help: "Print the description as JSON.")
    var json = false

    func run() throws {
        let inspection: DatasetInspection
        do {
            inspection = try DatasetInspection(directory: directory)
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Console.out(String(decoding: try encoder.encode(inspection), as: UTF8.self))
        } else {
            let geometry = inspection.shards.first.map { "\($0.width)×\($0.height)×3 uint8" } ?? "no tiles"
            Console.out("\(directory): \(inspection.shards.count) shards, \(inspection.tiles) tiles of \(geometry), "
                + "raw \(ShardsFormatting.bytes(inspection.rawBytes)), stored \(ShardsFormatting.bytes(inspection.storedBytes)) "
                + "(ratio \(String(format: "%.3f", inspection.ratio))), \(inspection.slides) slides, "
                + "\(inspection.completedSources) completed sources")
            for shard in inspection.shards {
                let mpp = shard.mppMin == shard.mppMax ? String(format: "%.6g", shard.mppMin)
                    : String(format: "%.6g–%.6g", shard.mppMin, shard.mppMax)
                let slides = shard.slides.prefix(4).map { "\($0.id) (\($0.tiles))" }.joined(separator: ", ")
                    + (shard.slides.count > 4 ? ", … \(shard.slides.count) slides" : "")
                var line = String(format: "  %@  %7d tiles  %d×%d  raw %@  stored %@  ratio %.3f  zstd %d",
                                  shard.file, shard.tiles, shard.width, shard.height, ShardsFormatting.bytes(shard.rawBytes),
                                  ShardsFormatting.bytes(shard.storedBytes), shard.ratio, Int(shard.zstdLevel))
                if shard.dictionaryID != 0 { line += "  dictionary \(shard.dictionaryID)" }
                line += "  mpp \(mpp)  slides: \(slides)"
                if let error = shard.error { line += "  ERROR: \(error)" }
                Console.out(line)
            }
        }
        if !inspection.isReadable {
            Console.error("\(directory): some shards cannot be read; run `distill shards verify \(directory)`")
            throw ExitCode(1)
        }
    }
}

/// Number formatting shared by the `shards` commands.
enum ShardsFormatting {
    /// `1.81 GB`, `240.0 MB`, `512 B` (powers of 1000).
    static func bytes(_ count: Int64) -> String {
        let value = Double(count)
        if value >= 1e9 { return String(format: "%.2f GB", value / 1e9) }
        if value >= 1e6 { return String(format: "%.1f MB", value / 1e6) }
        if value >= 1e3 { return String(format: "%.1f kB", value / 1e3) }
        return "\(count) B"
    }
}
