#if canImport(Glibc)
import Glibc
#endif

/// Everything that can go wrong writing, reading or verifying tile shards (docs/formats/tile-shards.md).
///
/// Errors about a file carry its path; errors about a tile also carry the tile's index in its shard.
/// `description` is one line that starts with the path, e.g.
/// `/data/x/shard-000003.dts: tile 17: pixel checksum mismatch`; `detail` is the same line without the path.
public enum ShardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed on `path` (`operation` names it: open, read, write, fsync, rename, …).
    case io(path: String, operation: String, errno: Int32)
    /// The file does not start with the shard magic (not a shard, or its first bytes are damaged).
    case notAShard(path: String)
    /// The shard's version is not 1.
    case unsupportedVersion(path: String, version: Int)
    /// The file does not end with a valid trailer: it was truncated or its writer never finalised it (S1, S2).
    /// `fileBytes` is its size in bytes.
    case unfinalized(path: String, fileBytes: Int64)
    /// A section of the shard is damaged or inconsistent (`reason` says how); no tile of it is read.
    case corrupt(path: String, section: ShardSection, reason: String)
    /// Tile `index` of the shard is damaged; the other tiles may be fine.
    case tile(path: String, index: Int, problem: TileProblem)
    /// `index` is not in `0..<count`.
    case tileIndexOutOfRange(path: String, index: Int, count: Int)
    /// A tile geometry the format cannot hold (zero size, or more than 2³² − 1 bytes of pixels).
    case invalidGeometry(reason: String)
    /// A tile given to a writer is wrong (pixel byte count, metadata values); nothing was written.
    case invalidTile(path: String, reason: String)
    /// An option or argument is out of range (`reason` says which).
    case invalidArgument(reason: String)
    /// zstd failed to compress, or to load or train a dictionary.
    case compression(path: String, reason: String)
    /// The writer was already finished or abandoned.
    case writerClosed(path: String)
    /// `path` is not a folder.
    case notADirectory(path: String)
    /// The dataset folder has no `index.json`; `tempFiles` and `unlistedShards` name what it does hold
    /// (temporary files of a writer that never finished, S7).
    case indexMissing(directory: String, tempFiles: [String], unlistedShards: [String])
    /// `index.json` could not be parsed or breaks the format (`reason` says how).
    case indexInvalid(path: String, reason: String)
    /// `index.json` lists no shards.
    case emptyDataset(directory: String)
    /// A shard listed in `index.json` does not exist.
    case shardMissing(path: String)
    /// A shard disagrees with its `index.json` entry (size, checksum, tile count, geometry, sources).
    case indexMismatch(path: String, reason: String)
    /// A shard file in the folder is not listed in `index.json` (left by an unfinished writer).
    case unlistedShard(path: String)
    /// A temporary file of a writer is in the folder (a writer is running or crashed).
    case temporaryFile(path: String)
    /// Another live process is writing this dataset (it holds `writer.lock`; D6).
    case datasetInUse(directory: String, pid: Int32?)
    /// The writer's options disagree with the dataset already in the folder (geometry).
    case datasetMismatch(directory: String, reason: String)
    /// A tile of `source` was appended after the source was finished (or completed in an earlier run).
    case sourceFinished(directory: String, source: String)
    /// `finish()` was called while these sources still had tiles but were never finished.
    case sourcesNotFinished(directory: String, sources: [String])

    /// The file or folder the error is about.
    public var path: String {
        switch self {
        case .io(let path, _, _), .notAShard(let path), .unsupportedVersion(let path, _),
             .unfinalized(let path, _), .corrupt(let path, _, _), .tile(let path, _, _),
             .tileIndexOutOfRange(let path, _, _), .invalidTile(let path, _), .compression(let path, _),
             .writerClosed(let path), .notADirectory(let path), .indexInvalid(let path, _),
             .shardMissing(let path), .indexMismatch(let path, _), .unlistedShard(let path),
             .temporaryFile(let path):
            return path
        case .indexMissing(let directory, _, _), .emptyDataset(let directory), .datasetInUse(let directory, _),
             .datasetMismatch(let directory, _), .sourceFinished(let directory, _),
             .sourcesNotFinished(let directory, _):
            return directory
        case .invalidGeometry, .invalidArgument:
            return ""
        }
    }

    /// The tile index the error is about, if it is about one tile.
    public var tileIndex: Int? {
        switch self {
        case .tile(_, let index, _), .tileIndexOutOfRange(_, let index, _): return index
        default: return nil
        }
    }

    /// The message without the leading path.
    public var detail: String {
        switch self {
        case .io(_, let operation, let code):
            return "\(operation) failed: \(ShardError.message(errno: code)) (errno \(code))"
        case .notAShard:
            return "not a tile shard (bad header magic)"
        case .unsupportedVersion(_, let version):
            return "unsupported shard version \(version) (this reader reads version \(ShardFormat.version))"
        case .unfinalized(_, let bytes):
            return "truncated or never finalised: no valid trailer at the end of its \(bytes) bytes"
        case .corrupt(_, let section, let reason):
            return "\(section.rawValue): \(reason)"
        case .tile(_, let index, let problem):
            return "tile \(index): \(problem)"
        case .tileIndexOutOfRange(_, let index, let count):
            return "tile \(index): out of range (the shard has \(count) tiles)"
        case .invalidGeometry(let reason):
            return "invalid tile geometry: \(reason)"
        case .invalidTile(_, let reason):
            return "invalid tile: \(reason)"
        case .invalidArgument(let reason):
            return "invalid argument: \(reason)"
        case .compression(_, let reason):
            return "zstd: \(reason)"
        case .writerClosed:
            return "the writer is already finished or abandoned"
        case .notADirectory:
            return "not a folder"
        case .indexMissing(_, let temp, let unlisted):
            var line = "no index.json"
            if !temp.isEmpty {
                line += "; \(temp.count) temporary file(s) of a writer that did not finish (\(ShardError.sample(temp)))"
            }
            if !unlisted.isEmpty {
                line += "; \(unlisted.count) shard(s) never committed (\(ShardError.sample(unlisted)))"
            }
            if !temp.isEmpty || !unlisted.isEmpty { line += "; run the writer again to resume" }
            return line
        case .indexInvalid(_, let reason):
            return "invalid index: \(reason)"
        case .emptyDataset:
            return "empty dataset: index.json lists no shards"
        case .shardMissing:
            return "listed in index.json but missing"
        case .indexMismatch(_, let reason):
            return "disagrees with index.json: \(reason)"
        case .unlistedShard:
            return "not listed in index.json (sealed by a writer that did not commit it; resume the writer to remove it)"
        case .temporaryFile:
            return "temporary file of a writer that is running or crashed (resume the writer to remove it)"
        case .datasetInUse(_, let pid):
            return "in use by another writer" + (pid.map { " (pid \($0))" } ?? "")
        case .datasetMismatch(_, let reason):
            return "existing dataset does not match: \(reason)"
        case .sourceFinished(_, let source):
            return "source '\(source)' is already finished; its tiles cannot be appended again"
        case .sourcesNotFinished(_, let sources):
            return "\(sources.count) source(s) have tiles but were never finished: \(ShardError.sample(sources))"
        }
    }

    public var description: String {
        path.isEmpty ? detail : "\(path): \(detail)"
    }

    private static func sample(_ names: [String]) -> String {
        names.count <= 3 ? names.joined(separator: ", ") : names.prefix(3).joined(separator: ", ") + ", …"
    }

    private static func message(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "error" }
        return String(cString: text)
    }
}

/// A part of a shard file (docs/formats/tile-shards.md §2).
public enum ShardSection: String, Sendable, Equatable {
    case header, dictionary, tiles, metadata, footer, trailer, file
}

/// What is wrong with one tile of a shard.
public enum TileProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stored zstd frame's CRC-32 differs from the footer's.
    case frameChecksumMismatch
    /// The decoded pixels' CRC-32 differs from the footer's.
    case pixelChecksumMismatch
    /// The tile's metadata record's CRC-32 differs from the footer's.
    case metadataChecksumMismatch
    /// zstd could not decode the frame (`reason` is zstd's message, e.g. "Restored data doesn't match checksum").
    case decodeFailed(reason: String)
    /// The frame decoded to `actual` bytes instead of `expected` (width × height × 3).
    case wrongSize(expected: Int, actual: Int)
    /// The metadata record is inconsistent (e.g. slide index out of range).
    case invalidMetadata(reason: String)

    public var description: String {
        switch self {
        case .frameChecksumMismatch: return "stored frame checksum mismatch"
        case .pixelChecksumMismatch: return "pixel checksum mismatch"
        case .metadataChecksumMismatch: return "metadata checksum mismatch"
        case .decodeFailed(let reason): return "zstd decode failed: \(reason)"
        case .wrongSize(let expected, let actual): return "decoded to \(actual) bytes, expected \(expected)"
        case .invalidMetadata(let reason): return "invalid metadata: \(reason)"
        }
    }
}
