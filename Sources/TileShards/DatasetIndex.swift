import Foundation

/// The contents of a dataset's `index.json` (docs/formats/tile-shards.md §3).
public struct DatasetIndex: Sendable, Equatable, Codable {
    /// Always `"distill-tile-shards"`.
    public var format: String
    /// Format version (1).
    public var version: Int
    /// Geometry of every tile of every shard.
    public var geometry: TileGeometry
    /// Total tiles over all shards.
    public var tiles: Int
    /// Total decoded pixel bytes.
    public var rawBytes: Int64
    /// Total bytes of zstd frames.
    public var storedBytes: Int64
    /// The shards, in dataset order (ascending file name).
    public var shards: [ShardEntry]
    /// Sources whose tiles are all in `shards` (including sources without tiles); never written again.
    public var completedSources: [String]

    /// An index of `shards` (totals computed).
    public init(geometry: TileGeometry, shards: [ShardEntry] = [], completedSources: [String] = []) {
        format = ShardFormat.indexFormatName
        version = Int(ShardFormat.version)
        self.geometry = geometry
        self.shards = shards
        self.completedSources = completedSources
        tiles = 0
        rawBytes = 0
        storedBytes = 0
        recomputeTotals()
    }

    /// Sets `tiles`, `rawBytes`, `storedBytes` to the sums over `shards`.
    public mutating func recomputeTotals() {
        tiles = shards.reduce(0) { $0 + $1.tiles }
        rawBytes = shards.reduce(0) { $0 + $1.rawBytes }
        storedBytes = shards.reduce(0) { $0 + $1.storedBytes }
    }

    /// The JSON text (sorted keys, indented, ends with a newline).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of numbers and strings cannot fail.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return Array(data) + [0x0A]
    }

    /// Parses `index.json` text and checks the format, version, totals and per-shard consistency.
    /// - Throws: `ShardError.indexInvalid` naming `path`.
    public static func decode(_ bytes: [UInt8], path: String) throws(ShardError) -> DatasetIndex {
        let index: DatasetIndex
        do {
            index = try JSONDecoder().decode(DatasetIndex.self, from: Data(bytes))
        } catch {
            throw .indexInvalid(path: path, reason: describe(error))
        }
        func fail(_ reason: String) -> ShardError { .indexInvalid(path: path, reason: reason) }
        guard index.format == ShardFormat.indexFormatName else { throw fail("format '\(index.format)', expected '\(ShardFormat.indexFormatName)'") }
        guard index.version == Int(ShardFormat.version) else { throw fail("version \(index.version), this reader reads \(ShardFormat.version)") }
        do throws(ShardError) {
            try index.geometry.validate()
        } catch {
            throw fail(error.detail)
        }
        var names = Set<String>()
        for shard in index.shards {
            guard !shard.file.isEmpty, !shard.file.contains("/"), shard.file != ".", shard.file != ".." else {
                throw fail("shard file name '\(shard.file)' is not a plain file name")
            }
            guard names.insert(shard.file).inserted else { throw fail("\(shard.file) is listed twice") }
            guard shard.geometry == index.geometry else {
                throw fail("\(shard.file): geometry \(shard.geometry), dataset geometry \(index.geometry)")
            }
            guard shard.tiles >= 0, shard.rawBytes == Int64(shard.tiles) * Int64(index.geometry.rawBytes) else {
                throw fail("\(shard.file): raw_bytes \(shard.rawBytes) for \(shard.tiles) tiles of \(index.geometry)")
            }
            guard shard.sources.reduce(0, { $0 + $1.tiles }) == shard.tiles else {
                throw fail("\(shard.file): source tile counts do not add up to \(shard.tiles)")
            }
        }
        var totals = index
        totals.recomputeTotals()
        guard totals.tiles == index.tiles, totals.rawBytes == index.rawBytes, totals.storedBytes == index.storedBytes else {
            throw fail("totals (tiles \(index.tiles), raw_bytes \(index.rawBytes), stored_bytes \(index.storedBytes)) are not the sums over the shards")
        }
        return index
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing key '\(key.stringValue)'" + place(context)
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type" + place(context)
        case DecodingError.dataCorrupted(let context):
            return context.debugDescription + place(context)
        default:
            return "not valid JSON"
        }
    }

    private static func place(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return path.isEmpty ? "" : " at \(path)"
    }

    private enum CodingKeys: String, CodingKey {
        case format, version, geometry, tiles, shards
        case rawBytes = "raw_bytes", storedBytes = "stored_bytes", completedSources = "completed_sources"
    }
}
