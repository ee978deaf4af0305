/// Serves consecutive stored frames of a shard from large sequential reads (frames are back to back).
struct ChunkedFrames {
    /// Bytes read at once (or one frame, if larger).
    static let chunkBytes = 8 << 20

    let reader: ShardReader
    private var chunk: [UInt8] = []
    private var chunkOffset: Int64 = 0
    private var chunkLength = 0

    init(reader: ShardReader) { self.reader = reader }

    /// Calls `body` with the stored bytes of frame `index`.
    mutating func withFrame<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws(ShardError) -> R) throws(ShardError) -> R {
        let entry = reader.footer.entries[index]
        if entry.offset < chunkOffset || entry.offset + Int64(entry.storedSize) > chunkOffset + Int64(chunkLength) {
            // Read from this frame on, up to chunkBytes or the end of the tile region.
            let regionEnd = reader.footer.metadataOffset
            let length = Int(max(Int64(entry.storedSize), min(Int64(Self.chunkBytes), regionEnd - entry.offset)))
            if chunk.count < length { chunk = [UInt8](repeating: 0, count: length) }
            let complete = try chunk.withMutableShardBytes { (buffer) throws(ShardError) in
                try reader.readBytes(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]), at: entry.offset)
            }
            guard complete else { throw .unfinalized(path: reader.path, fileBytes: reader.fileBytes) }
            chunkOffset = entry.offset
            chunkLength = length
        }
        let start = Int(entry.offset - chunkOffset)
        return try chunk.withShardBytes { (buffer) throws(ShardError) -> R in
            try body(UnsafeRawBufferPointer(rebasing: buffer[start..<(start + entry.storedSize)]))
        }
    }
}

/// Reads a shard's tiles in order (`ShardReader.makeTileIterator()`), in large sequential chunks.
///
/// ```swift
/// var tiles = reader.makeTileIterator()
/// while let tile = try tiles.next() { … }
/// ```
public struct TileIterator {
    private var frames: ChunkedFrames
    /// Index of the tile the next call returns.
    public private(set) var index = 0

    init(reader: ShardReader) { frames = ChunkedFrames(reader: reader) }

    /// The next tile, or nil after the last.
    /// - Throws: as `ShardReader.tile(at:)`; the iterator then moves past the failed tile.
    public mutating func next() throws(ShardError) -> Tile? {
        let reader = frames.reader
        guard index < reader.count else { return nil }
        var pixels = [UInt8](repeating: 0, count: reader.geometry.rawBytes)
        guard let metadata = try pixels.withMutableShardBytes({ (buffer) throws(ShardError) in try nextPixels(into: buffer) }) else {
            return nil
        }
        return Tile(pixels: pixels, metadata: metadata)
    }

    /// Decodes the next tile's pixels into `buffer` (at least `geometry.rawBytes` bytes) and returns its
    /// metadata, or nil after the last tile. Allocates nothing per tile.
    /// - Throws: as `ShardReader.tile(at:)`; the iterator then moves past the failed tile.
    public mutating func nextPixels(into buffer: UnsafeMutableRawBufferPointer) throws(ShardError) -> TileMetadata? {
        let reader = frames.reader
        guard index < reader.count else { return nil }
        let current = index
        index += 1
        try frames.withFrame(current) { (frame) throws(ShardError) in try reader.decode(current, frame, into: buffer) }
        return try reader.metadata(at: current)
    }
}
