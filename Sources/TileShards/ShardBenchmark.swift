#if canImport(Glibc)
import Glibc
#endif

/// Measures shard throughput on one thread: writing (compress + write + fsync, MB/s of raw pixels) and
/// reading (read + zstd decode, GB/s of raw pixels per core; DESIGN.md §5 target ≥ 1 GB/s), sequential
/// and in random order, plus a full verify pass. Reads hit the page cache (the shards were just written):
/// the figures are decode-bound, not disk-bound.
public enum ShardBenchmark {
    /// What to measure.
    public struct Options: Sendable, Equatable {
        /// Tiles written (the source tiles are cycled).
        public var tiles: Int
        /// Compression of the shards.
        public var compression: ShardCompression
        /// Tiles per shard.
        public var maxTilesPerShard: Int
        /// Sequential read passes; the fastest counts.
        public var readPasses: Int
        /// Tiles read in random order.
        public var randomReads: Int
        /// Folder for the dataset; a new folder under /tmp (removed afterwards) when nil.
        public var directory: String?
        /// Seed of the random read order.
        public var seed: UInt64

        /// 2,000 tiles, 1,000 per shard, 3 sequential passes, 2,000 random reads, level 3.
        public init(tiles: Int = 2_000, compression: ShardCompression = ShardCompression(), maxTilesPerShard: Int = 1_000,
                    readPasses: Int = 3, randomReads: Int = 2_000, directory: String? = nil, seed: UInt64 = 1) {
            self.tiles = tiles
            self.compression = compression
            self.maxTilesPerShard = maxTilesPerShard
            self.readPasses = readPasses
            self.randomReads = randomReads
            self.directory = directory
            self.seed = seed
        }
    }

    /// The measurements (GB = 10⁹ bytes, MB = 10⁶ bytes, of raw pixels).
    public struct Report: Sendable, Equatable, Codable {
        /// Tile width in px.
        public var width: Int
        /// Tile height in px.
        public var height: Int
        /// Tiles written.
        public var tiles: Int
        /// Shards written.
        public var shards: Int
        /// Bytes of pixels written.
        public var rawBytes: Int64
        /// Bytes of zstd frames written.
        public var storedBytes: Int64
        /// rawBytes / storedBytes.
        public var ratio: Double
        /// Write throughput: compress + write + fsync + rename, MB/s of raw pixels, one thread.
        public var writeMegabytesPerSecond: Double
        /// Sequential read + decode, GB/s of raw pixels, one thread (fastest pass).
        public var sequentialGigabytesPerSecond: Double
        /// The same per CPU-second of the reading thread.
        public var sequentialGigabytesPerCPUSecond: Double
        /// Sequential read + decode, µs per tile.
        public var sequentialMicrosecondsPerTile: Double
        /// Random-order read + decode (one pread per tile), GB/s of raw pixels, one thread.
        public var randomGigabytesPerSecond: Double
        /// Full verification (frame and pixel CRC-32 + decode), GB/s of raw pixels, one thread.
        public var verifyGigabytesPerSecond: Double
    }

    /// Writes `options.tiles` tiles cycled from `sourceTiles` into a fresh dataset, then reads it back.
    /// - Parameters:
    ///   - sourceTiles: RGB8 tiles of `geometry` (real content gives real figures; see `realContentTiles`).
    ///   - geometry: their geometry.
    /// - Throws: `ShardError` from writing or reading; `.invalidArgument` when `sourceTiles` is empty.
    public static func run(sourceTiles: [[UInt8]], geometry: TileGeometry, options: Options = Options()) throws(ShardError) -> Report {
        guard !sourceTiles.isEmpty, options.tiles > 0 else {
            throw .invalidArgument(reason: "the benchmark needs source tiles and a tile count")
        }
        let directory: String
        if let given = options.directory { directory = given } else { directory = try temporaryDirectory() }
        defer { if options.directory == nil { removeDataset(directory) } }

        let writeStart = now()
        let writer = try DatasetWriter(directory: directory, options: .init(
            geometry: geometry, compression: options.compression, maxTilesPerShard: options.maxTilesPerShard))
        for index in 0..<options.tiles {
            let metadata = TileMetadata(slideID: "bench-\(index / 500)", x: Int64(index % 500) * 224, y: 0, mpp: 0.5,
                                        tissueFraction: 1)
            try writer.append(sourceTiles[index % sourceTiles.count], metadata: metadata)
        }
        let index = try writer.finish()
        let writeSeconds = now() - writeStart

        let dataset = try ShardDataset(directory: directory)
        var readers: [ShardReader] = []
        for number in 0..<index.shards.count { readers.append(try dataset.openShard(number)) }
        var buffer = [UInt8](repeating: 0, count: geometry.rawBytes)
        var bestSeconds = Double.infinity, bestCPU = Double.infinity
        for _ in 0..<max(1, options.readPasses) {
            let start = now(), cpuStart = threadCPUTime()
            try buffer.withMutableShardBytes { (pixels) throws(ShardError) in
                for reader in readers {
                    var tiles = reader.makeTileIterator()
                    while try tiles.nextPixels(into: pixels) != nil {}
                }
            }
            bestSeconds = min(bestSeconds, now() - start)
            bestCPU = min(bestCPU, threadCPUTime() - cpuStart)
        }

        var generator = SplitMix64(seed: options.seed)
        let randomStart = now()
        try buffer.withMutableShardBytes { (pixels) throws(ShardError) in
            for _ in 0..<options.randomReads {
                let global = Int(generator.next() % UInt64(index.tiles))
                guard let (shard, tile) = dataset.locate(global) else { continue }
                try readers[shard].readPixels(at: tile, into: pixels)
            }
        }
        let randomSeconds = now() - randomStart

        let verifyStart = now()
        for reader in readers {
            if let problem = reader.verify().first { throw problem }
        }
        let verifySeconds = now() - verifyStart

        let raw = Double(index.rawBytes)
        return Report(width: geometry.width, height: geometry.height, tiles: index.tiles, shards: index.shards.count,
                      rawBytes: index.rawBytes, storedBytes: index.storedBytes,
                      ratio: index.storedBytes > 0 ? raw / Double(index.storedBytes) : 0,
                      writeMegabytesPerSecond: raw / writeSeconds / 1e6,
                      sequentialGigabytesPerSecond: raw / bestSeconds / 1e9,
                      sequentialGigabytesPerCPUSecond: raw / max(bestCPU, 1e-9) / 1e9,
                      sequentialMicrosecondsPerTile: bestSeconds / Double(index.tiles) * 1e6,
                      randomGigabytesPerSecond: Double(options.randomReads * geometry.rawBytes) / randomSeconds / 1e9,
                      verifyGigabytesPerSecond: raw / verifySeconds / 1e9)
    }

    /// Tiles of real content cut from one RGB8 image: `count` crops of `tile` size at varying offsets, each
    /// in one of the 8 flips/rotations (square tiles) or 4 flips (others), so consecutive tiles differ.
    /// - Parameters:
    ///   - image: RGB8 pixels, interleaved row-major, `width × height` px.
    ///   - tile: crop geometry; at most the image's size.
    /// - Returns: `count` tiles of `tile.rawBytes` bytes; empty when the image is smaller than a tile.
    public static func realContentTiles(from image: [UInt8], width: Int, height: Int, tile: TileGeometry, count: Int) -> [[UInt8]] {
        guard tile.width <= width, tile.height <= height, image.count == width * height * 3, count > 0 else { return [] }
        let spanX = width - tile.width + 1, spanY = height - tile.height + 1
        let transforms = tile.width == tile.height ? 8 : 4
        var generator = SplitMix64(seed: 42)
        return (0..<count).map { number in
            let x0 = Int(generator.next() % UInt64(spanX)), y0 = Int(generator.next() % UInt64(spanY))
            let transform = number % transforms
            var out = [UInt8](repeating: 0, count: tile.rawBytes)
            for y in 0..<tile.height {
                for x in 0..<tile.width {
                    // (x, y) in the output reads (sx, sy) of the crop after a flip/transpose.
                    var sx = (transform & 1) != 0 ? tile.width - 1 - x : x
                    var sy = (transform & 2) != 0 ? tile.height - 1 - y : y
                    if (transform & 4) != 0 { swap(&sx, &sy) }
                    let source = ((y0 + sy) * width + (x0 + sx)) * 3
                    let target = (y * tile.width + x) * 3
                    out[target] = image[source]
                    out[target + 1] = image[source + 1]
                    out[target + 2] = image[source + 2]
                }
            }
            return out
        }
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private static func threadCPUTime() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private static func temporaryDirectory() throws(ShardError) -> String {
        var template = Array("/tmp/distill-shard-bench-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else { throw .io(path: "/tmp", operation: "mkdtemp", errno: errno) }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private static func removeDataset(_ directory: String) {
        for name in (try? FileSystem.list(directory)) ?? [] { try? FileSystem.remove(FileSystem.join(directory, name)) }
        _ = rmdir(directory)
    }
}

/// SplitMix64: a small deterministic generator (Steele, Lea, Flood 2014) for benchmark orders.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
