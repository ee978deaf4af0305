import Dataflow
import Foundation

/// `slide-tiles`: turns a slide reader's stream (tiles and per-slide reports) into plain tiles for the
/// augmentation workers, and reports every slide: tiled ones at info level, slides that could not be tiled
/// (unreadable, no resolution, fluorescence, quarantined) as warnings with their reason — reported and skipped,
/// never fatal. A slide read again in a later epoch is reported once. Counts `slides_tiled`, `slides_skipped` and
/// `tiles`; at the end — also when its consumers stopped first, or the run failed — writes `<run dir>/slides.json`
/// (every slide's first report so far, atomically).
public struct SlideTilesStage: Stage {
    public static let summary = "Tiles of a slide reader's stream, passed on; slide reports logged (broken slides reported and skipped)"
    public static let input = InputPort<TileStreamItem>("in")
    public static let output = OutputPort<TileSample>("out")
    public static var inputs: [PortSpec] { [input.spec] }
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = []

    public init(parameters: StageParameters) throws {}

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let out = try context.outbox(Self.output)
        var reports: [SlideReport] = []
        var seen = Set<String>()
        // slides.json is written also when the consumers stop first (a drained run's trainer stops after its step).
        defer { writeReports(reports, context: context) }
        while let item = try await inbox.next() {
            switch item {
            case .tile(let tile):
                context.metrics.add("tiles")
                try await out.send(tile)
            case .report(let report):
                guard seen.insert(report.slideID).inserted else { continue }  // later epochs repeat the same report
                reports.append(report)
                if report.status == .ok {
                    context.metrics.add("slides_tiled")
                    context.logger.info("slide \(report.slideID): \(report.tiles) tiles at \(report.mpp.map { "\($0)" } ?? "?") µm/px")
                } else {
                    context.metrics.add("slides_skipped")
                    context.logger.warning("slide \(report.slideID) skipped (\(report.status.rawValue)): \(report.error ?? "no tissue")")
                }
            }
        }
    }

    /// `<run dir>/slides.json` (atomically); a failure to write it is logged, not thrown.
    func writeReports(_ reports: [SlideReport], context: StageContext) {
        guard let directory = context.runDirectory else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = (directory as NSString).appendingPathComponent("slides.json")
        do {
            try encoder.encode(reports).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            context.logger.error("slide-tiles: \(path) not written: \(error)")
        }
    }
}
