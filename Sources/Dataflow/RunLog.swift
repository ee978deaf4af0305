import Foundation
import Logging
import Synchronization

/// A swift-log handler that appends lines to `run.log` in the run directory and flushes each one, so
/// the log survives a crash up to its last line.
///
/// Line format: `2026-11-29T22:56:28.123Z notice [stage=work] message`.
public struct RunLogHandler: LogHandler {
    private let file: RunLogFile
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    /// - Parameters:
    ///   - file: the open log file, shared by every logger of the run.
    ///   - level: the lowest level written.
    public init(file: RunLogFile, level: Logger.Level) {
        self.file = file
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let tags = merged.isEmpty ? "" : " [" + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "]"
        file.append("\(StatsSampler.isoTime()) \(event.level)\(tags) \(event.message)\n")
    }
}

/// An append-only text file written line by line (the run log, `metrics.jsonl`). Thread-safe.
public final class RunLogFile: Sendable {
    private let handle: Mutex<FileHandle?>
    /// The file's path.
    public let path: String

    /// Creates (or truncates) the file, or with `append` opens it at its end (creating it if missing).
    /// - Throws: an error naming the path when it cannot be created.
    public init(path: String, append: Bool = false) throws {
        if !append || !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw RunDirectoryError(message: "cannot create \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw RunDirectoryError(message: "cannot open \(path) for writing")
        }
        if append { _ = try? handle.seekToEnd() }
        self.path = path
        self.handle = Mutex(handle)
    }

    /// Appends text and flushes it to the file.
    public func append(_ text: String) {
        handle.withLock { handle in
            guard let handle else { return }
            handle.write(Data(text.utf8))
        }
    }

    /// Flushes to disk and closes; later appends are ignored.
    public func close() {
        handle.withLock { handle in
            try? handle?.synchronize()
            try? handle?.close()
            handle = nil
        }
    }
}

/// The run directory could not be made or written.
public struct RunDirectoryError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
