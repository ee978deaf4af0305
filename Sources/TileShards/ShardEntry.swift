/// One shard as `index.json` lists it (docs/formats/tile-shards.md §3); also what `ShardWriter.finish()`
/// returns.
public struct ShardEntry: Sendable, Equatable, Codable {
    /// File name inside the dataset folder, e.g. `shard-000003.dts`.
    public var file: String
    /// Number of tiles.
    public var tiles: Int
    /// Bytes of decoded pixels: tiles × width × height × 3.
    public var rawBytes: Int64
    /// Bytes of the zstd frames (the tile region).
    public var storedBytes: Int64
    /// Size of the shard file in bytes.
    public var fileBytes: Int64
    /// CRC-32 (zlib) of the whole shard file.
    public var fileCRC32: UInt32
    /// Geometry of every tile.
    public var geometry: TileGeometry
    /// zstd level the writer used.
    public var zstdLevel: Int32
    /// zstd dictionary id, 0 for none.
    public var dictionaryID: UInt32
    /// Smallest tile mpp in µm/px (0 when the shard has no tiles).
    public var mppMin: Double
    /// Largest tile mpp in µm/px (0 when the shard has no tiles).
    public var mppMax: Double
    /// Each source slide id with its number of tiles in this shard, in order of first appearance.
    public var sources: [SourceCount]

    /// Compression ratio raw / stored (0 for an empty shard).
    public var ratio: Double { storedBytes > 0 ? Double(rawBytes) / Double(storedBytes) : 0 }

    /// An entry with every field given (see the properties for units).
    public init(file: String, tiles: Int, rawBytes: Int64, storedBytes: Int64, fileBytes: Int64, fileCRC32: UInt32,
                geometry: TileGeometry, zstdLevel: Int32, dictionaryID: UInt32, mppMin: Double, mppMax: Double,
                sources: [SourceCount]) {
        self.file = file
        self.tiles = tiles
        self.rawBytes = rawBytes
        self.storedBytes = storedBytes
        self.fileBytes = fileBytes
        self.fileCRC32 = fileCRC32
        self.geometry = geometry
        self.zstdLevel = zstdLevel
        self.dictionaryID = dictionaryID
        self.mppMin = mppMin
        self.mppMax = mppMax
        self.sources = sources
    }

    private enum CodingKeys: String, CodingKey {
        case file, tiles, geometry, sources
        case rawBytes = "raw_bytes", storedBytes = "stored_bytes", fileBytes = "file_bytes", fileCRC32 = "file_crc32"
        case zstdLevel = "zstd_level", dictionaryID = "dictionary_id", mppMin = "mpp_min", mppMax = "mpp_max"
    }
}

/// A source (slide id) and how many of its tiles a shard holds.
public struct SourceCount: Sendable, Equatable, Codable {
    /// The slide id.
    public var id: String
    /// Its tiles in the shard.
    public var tiles: Int

    /// `tiles` tiles of slide `id`.
    public init(id: String, tiles: Int) {
        self.id = id
        self.tiles = tiles
    }
}
