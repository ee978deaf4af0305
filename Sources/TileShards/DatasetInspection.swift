/// A summary of a dataset folder for `distill shards inspect`: per shard tiles, geometry, raw and stored
/// bytes, compression ratio and slides, and totals. Built from `index.json` and each shard's header,
/// footer and metadata (no tile is decoded).
public struct DatasetInspection: Sendable, Equatable, Codable {
    /// One shard.
    public struct Shard: Sendable, Equatable, Codable {
        /// File name.
        public var file: String
        /// Tiles.
        public var tiles: Int
        /// Tile width in px.
        public var width: Int
        /// Tile height in px.
        public var height: Int
        /// Bytes of decoded pixels.
        public var rawBytes: Int64
        /// Bytes of zstd frames.
        public var storedBytes: Int64
        /// File size in bytes.
        public var fileBytes: Int64
        /// raw / stored.
        public var ratio: Double
        /// zstd level.
        public var zstdLevel: Int32
        /// zstd dictionary id, 0 for none.
        public var dictionaryID: UInt32
        /// Smallest tile mpp, µm/px.
        public var mppMin: Double
        /// Largest tile mpp, µm/px.
        public var mppMax: Double
        /// Slides and their tile counts.
        public var slides: [SourceCount]
        /// The error that kept this shard from being read, if any (then the other values come from
        /// `index.json`).
        public var error: String?

        private enum CodingKeys: String, CodingKey {
            case file, tiles, width, height, ratio, slides, error
            case rawBytes = "raw_bytes", storedBytes = "stored_bytes", fileBytes = "file_bytes", zstdLevel = "zstd_level"
            case dictionaryID = "dictionary_id", mppMin = "mpp_min", mppMax = "mpp_max"
        }
    }

    /// The folder.
    public var directory: String
    /// Shards in index order.
    public var shards: [Shard]
    /// Total tiles.
    public var tiles: Int
    /// Total decoded pixel bytes.
    public var rawBytes: Int64
    /// Total bytes of zstd frames.
    public var storedBytes: Int64
    /// Total raw / stored.
    public var ratio: Double
    /// Distinct slides over all shards.
    public var slides: Int
    /// Sources `index.json` lists as completed.
    public var completedSources: Int

    /// Whether every shard could be read.
    public var isReadable: Bool { shards.allSatisfy { $0.error == nil } }

    /// Inspects the dataset in `directory`.
    /// - Throws: as `ShardDataset.init(directory:allowEmpty:)` with `allowEmpty: true` (a shard that
    ///   cannot be read is reported in its `error` instead).
    public init(directory: String) throws(ShardError) {
        let dataset = try ShardDataset(directory: directory, allowEmpty: true)
        self.directory = directory
        var shards: [Shard] = []
        var slides = Set<String>()
        for (number, entry) in dataset.index.shards.enumerated() {
            var shard = Shard(file: entry.file, tiles: entry.tiles, width: entry.geometry.width, height: entry.geometry.height,
                              rawBytes: entry.rawBytes, storedBytes: entry.storedBytes, fileBytes: entry.fileBytes,
                              ratio: entry.ratio, zstdLevel: entry.zstdLevel, dictionaryID: entry.dictionaryID,
                              mppMin: entry.mppMin, mppMax: entry.mppMax, slides: entry.sources, error: nil)
            do throws(ShardError) {
                let reader = try dataset.openShard(number)
                shard.tiles = reader.count
                shard.rawBytes = reader.rawBytes
                shard.storedBytes = reader.storedBytes
                shard.ratio = reader.storedBytes > 0 ? Double(reader.rawBytes) / Double(reader.storedBytes) : 0
                shard.slides = try reader.sourceCounts()
                if let range = try reader.mppRange() {
                    shard.mppMin = range.lowerBound
                    shard.mppMax = range.upperBound
                }
            } catch {
                shard.error = error.detail
            }
            slides.formUnion(shard.slides.map(\.id))
            shards.append(shard)
        }
        self.shards = shards
        tiles = shards.reduce(0) { $0 + $1.tiles }
        rawBytes = shards.reduce(0) { $0 + $1.rawBytes }
        storedBytes = shards.reduce(0) { $0 + $1.storedBytes }
        ratio = storedBytes > 0 ? Double(rawBytes) / Double(storedBytes) : 0
        self.slides = slides.count
        completedSources = dataset.index.completedSources.count
    }

    private enum CodingKeys: String, CodingKey {
        case directory, shards, tiles, ratio, slides
        case rawBytes = "raw_bytes", storedBytes = "stored_bytes", completedSources = "completed_sources"
    }
}
