import Distillery
import Foundation

/// `stats-report`: collects ``TileStats`` and writes them as a CSV file in the run directory, in
/// arrival order (tile order when the producer keeps order). The file is written to a temporary name
/// and renamed, so a crash never leaves a CSV that looks complete. After a drain (Ctrl-C) it writes
/// the rows received so far.
///
/// Columns: `index,slide,x,y,mean_intensity,tissue_fraction`.
public actor StatsReport: Stage {
    public static let summary = "Writes tile statistics as a CSV file into the run directory"
    public static let input = InputPort<TileStats>("in")
    public static var inputs: [PortSpec] { [input.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("file", .string, default: .string("tile-stats.csv"), "file name inside the run directory"),
    ]

    let file: String

    public init(parameters: StageParameters) throws {
        file = parameters.string("file")
        guard !file.isEmpty, !file.contains("/") else { throw ParameterError(key: "file", "must be a plain file name") }
    }

    public func run(_ context: StageContext) async throws {
        var csv = "index,slide,x,y,mean_intensity,tissue_fraction\n"
        var rows = 0
        for try await stats in try context.inbox(Self.input) {
            csv += "\(stats.index),\(stats.slide),\(stats.x),\(stats.y),"
                + "\(Self.decimal(stats.meanIntensity)),\(Self.decimal(stats.tissueFraction))\n"
            rows += 1
            context.metrics.set("rows", Double(rows))
        }
        let path = (context.runDirectory ?? ".") + "/" + file
        try Self.writeAtomically(csv, to: path)
        context.logger.info("wrote \(rows) rows to \(path)")
    }

    /// Writes `text` to `path.tmp-PID`, flushes it to disk, and renames it over `path`.
    /// - Throws: ``ReportError`` naming the file.
    static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = "\(path).tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw ReportError(message: "cannot write \(temporary)")
        }
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ReportError(message: "cannot flush \(temporary): \(error)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw ReportError(message: "cannot rename \(temporary) to \(path): \(reason)")
        }
    }

    static func decimal(_ value: Double) -> String { String(format: "%.4f", value) }
}

/// `stats-report` could not write its file.
public struct ReportError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
