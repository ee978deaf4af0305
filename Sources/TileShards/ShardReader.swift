/// Reads one shard (docs/formats/tile-shards.md §2): random access by tile index, sequential iteration,
/// and a full verification of every checksum.
///
/// Opening reads the trailer, footer, header, dictionary and metadata and checks their checksums and
/// layout; a truncated or never-finalised file (S1, S2), or any damage outside the tile frames, fails
/// the open with an error naming the file. Every decode is checked by zstd's XXH64 content checksum and
/// the decoded size; set `checksumsOnRead` to also check each tile's frame and pixel CRC-32 on every
/// read. Errors about one tile name the file and the tile's index.
///
/// A reader owns a file descriptor and a zstd context: use it from one thread (or actor) at a time, and
/// open one reader per thread for parallel reads (field case H9).
public final class ShardReader {
    /// The shard's path as given.
    public let path: String
    /// Geometry of every tile.
    public let geometry: TileGeometry
    /// The zstd level the writer used (informational).
    public let zstdLevel: Int32
    /// The zstd dictionary id, 0 for none.
    public let dictionaryID: UInt32
    /// The zstd dictionary stored in the shard, nil for none.
    public let dictionary: ShardDictionary?
    /// Size of the file in bytes.
    public let fileBytes: Int64
    /// The slide table: every distinct slide id in the shard, in order of first appearance.
    public let slideIDs: [String]
    /// When true, every read also checks the frame's and the pixels' CRC-32 (slower); default false
    /// (zstd's XXH64 content checksum and the decoded size are always checked).
    public var checksumsOnRead = false

    /// Number of tiles.
    public var count: Int { footer.entries.count }
    /// Bytes of zstd frames (the tile region).
    public var storedBytes: Int64 { footer.metadataOffset - footer.tilesOffset }
    /// Bytes of decoded pixels of all tiles.
    public var rawBytes: Int64 { Int64(count) * Int64(geometry.rawBytes) }

    let footer: ShardFooter
    private let records: ByteReader
    private let file: POSIXFile
    private let decoder: ZstdDecoder
    private var frame: [UInt8] = []

    /// Opens and checks a shard.
    /// - Throws: `ShardError.io` (cannot open or read), `.notAShard`, `.unsupportedVersion`,
    ///   `.unfinalized` (truncated or never finalised), `.corrupt` (a damaged header, dictionary,
    ///   metadata, footer or trailer; the section is named).
    public init(path: String) throws(ShardError) {
        self.path = path
        let file = try POSIXFile.openForReading(path)
        self.file = file
        let size = try file.size()
        fileBytes = size
        let head = try file.read(count: Int(min(size, Int64(ShardFormat.headerSize))), at: 0)
        try ShardHeader.checkIdentity(head, path: path, fileBytes: size)
        guard size >= Int64(ShardFormat.headerSize + ShardFormat.trailerSize) else {
            throw .unfinalized(path: path, fileBytes: size)
        }
        let trailer = try ShardTrailer.decode(
            try file.read(count: ShardFormat.trailerSize, at: size - Int64(ShardFormat.trailerSize)), path: path, fileBytes: size)
        let footerBytes = try file.read(count: Int(trailer.footerSize), at: Int64(trailer.footerOffset))
        guard CRC32.checksum(of: footerBytes) == trailer.footerCRC else {
            throw .corrupt(path: path, section: .footer, reason: "checksum mismatch")
        }
        let header = try ShardHeader.decode(head, path: path)
        guard UInt64(header.tilesOffset) <= trailer.footerOffset else {
            throw .corrupt(path: path, section: .header, reason: "a dictionary of \(header.dictionarySize) bytes runs past the footer")
        }
        var dictionary: ShardDictionary? = nil
        if header.dictionarySize > 0 {
            let bytes = try file.read(count: Int(header.dictionarySize), at: Int64(ShardFormat.headerSize))
            guard CRC32.checksum(of: bytes) == header.dictionaryCRC else {
                throw .corrupt(path: path, section: .dictionary, reason: "checksum mismatch")
            }
            guard let loaded = try? ShardDictionary(bytes: bytes), loaded.id == header.dictionaryID else {
                throw .corrupt(path: path, section: .dictionary, reason: "not a zstd dictionary with id \(header.dictionaryID)")
            }
            dictionary = loaded
        }
        let footer = try ShardFooter.decode(footerBytes, trailer: trailer, header: header, path: path)
        let slideTable = try file.read(count: Int(footer.slideTableSize), at: footer.metadataOffset)
        guard CRC32.checksum(of: slideTable) == footer.slideTableCRC else {
            throw .corrupt(path: path, section: .metadata, reason: "slide table checksum mismatch")
        }
        slideIDs = try TileRecord.decodeSlideTable(slideTable, expectedCount: footer.slideCount, path: path)
        records = ByteReader(try file.read(count: footer.recordSize * footer.entries.count, at: footer.recordsOffset))
        geometry = header.geometry
        zstdLevel = header.zstdLevel
        dictionaryID = header.dictionaryID
        self.footer = footer
        self.dictionary = dictionary
        decoder = try ZstdDecoder(dictionary: dictionary?.bytes, path: path)
    }

    /// The metadata of tile `index` (checks the record's CRC-32).
    /// - Throws: `ShardError.tileIndexOutOfRange`, `.tile(… .metadataChecksumMismatch / .invalidMetadata)`.
    public func metadata(at index: Int) throws(ShardError) -> TileMetadata {
        try checkIndex(index)
        let offset = index * footer.recordSize
        guard records.crc32(offset, footer.recordSize) == footer.entries[index].recordCRC else {
            throw .tile(path: path, index: index, problem: .metadataChecksumMismatch)
        }
        switch TileRecord.decode(records, at: offset, slideIDs: slideIDs) {
        case .success(let metadata): return metadata
        case .failure(let problem): throw .tile(path: path, index: index, problem: problem)
        }
    }

    /// Tile `index`: decoded pixels (`geometry.rawBytes` bytes) and metadata.
    /// - Throws: `ShardError.tileIndexOutOfRange`, `.tile` (decode failure, wrong size, checksum mismatch),
    ///   `.io`.
    public func tile(at index: Int) throws(ShardError) -> Tile {
        var pixels = [UInt8](repeating: 0, count: geometry.rawBytes)
        try pixels.withMutableShardBytes { (buffer) throws(ShardError) in try readPixels(at: index, into: buffer) }
        return Tile(pixels: pixels, metadata: try metadata(at: index))
    }

    /// Decodes the pixels of tile `index` into `buffer` (at least `geometry.rawBytes` bytes; the first
    /// `geometry.rawBytes` are written), without allocating.
    /// - Throws: as `tile(at:)`; `.invalidArgument` when `buffer` is too small.
    public func readPixels(at index: Int, into buffer: UnsafeMutableRawBufferPointer) throws(ShardError) {
        try checkIndex(index)
        let entry = footer.entries[index]
        if frame.count < entry.storedSize { frame = [UInt8](repeating: 0, count: entry.storedSize) }
        let complete = try frame.withMutableShardBytes { (bytes) throws(ShardError) in
            try file.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<entry.storedSize]), at: entry.offset)
        }
        guard complete else { throw .unfinalized(path: path, fileBytes: (try? file.size()) ?? fileBytes) }
        try frame.withShardBytes { (bytes) throws(ShardError) in
            try decode(index, UnsafeRawBufferPointer(rebasing: bytes[0..<entry.storedSize]), into: buffer)
        }
    }

    /// An iterator over the tiles in order, reading the file in large sequential chunks.
    public func makeTileIterator() -> TileIterator { TileIterator(reader: self) }

    /// Checks every tile: frame CRC-32, zstd decode (with its XXH64 checksum), decoded size, pixel CRC-32,
    /// metadata record CRC-32 and slide index.
    /// - Returns: one error per damaged tile (`.tile` naming the tile), or an `.io` error that stopped the
    ///   check; empty when the shard is intact.
    public func verify() -> [ShardError] {
        var problems: [ShardError] = []
        var pixels = [UInt8](repeating: 0, count: geometry.rawBytes)
        var iterator = ChunkedFrames(reader: self)
        for index in 0..<count {
            do throws(ShardError) {
                try iterator.withFrame(index) { (frame) throws(ShardError) in
                    try pixels.withMutableShardBytes { (buffer) throws(ShardError) in
                        try decode(index, frame, into: buffer, checkFrame: true, checkPixels: true)
                    }
                }
            } catch {
                problems.append(error)
                if case .tile = error {} else { return problems }
            }
            do throws(ShardError) {
                _ = try metadata(at: index)
            } catch {
                problems.append(error)
            }
        }
        return problems
    }

    /// The CRC-32 of the whole file (what `index.json` records as `file_crc32`), reading it in 4 MiB chunks.
    /// - Throws: `ShardError.io`.
    public func fileChecksum() throws(ShardError) -> UInt32 {
        var crc: UInt32 = 0
        var chunk = [UInt8](repeating: 0, count: 4 << 20)
        var offset: Int64 = 0
        while offset < fileBytes {
            let length = Int(min(Int64(chunk.count), fileBytes - offset))
            let complete = try chunk.withMutableShardBytes { (buffer) throws(ShardError) in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]), at: offset)
            }
            guard complete else { throw .unfinalized(path: path, fileBytes: (try? file.size()) ?? fileBytes) }
            crc = chunk.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<length]), continuing: crc) }
            offset += Int64(length)
        }
        return crc
    }

    /// Each slide id with its number of tiles, in order of first appearance (from the metadata records).
    /// - Throws: `ShardError.tile` for a damaged record.
    public func sourceCounts() throws(ShardError) -> [SourceCount] {
        var counts = [Int](repeating: 0, count: slideIDs.count)
        for index in 0..<count {
            _ = try metadata(at: index)  // checks the record's CRC and slide index
            counts[Int(records.u32(index * footer.recordSize))] += 1
        }
        return zip(slideIDs, counts).filter { $0.1 > 0 }.map { SourceCount(id: $0, tiles: $1) }
    }

    /// Smallest and largest tile mpp in µm/px, nil for an empty shard.
    /// - Throws: `ShardError.tile` for a damaged record.
    public func mppRange() throws(ShardError) -> ClosedRange<Double>? {
        guard count > 0 else { return nil }
        var low = Double.infinity, high = -Double.infinity
        for index in 0..<count {
            let mpp = try metadata(at: index).mpp
            low = min(low, mpp)
            high = max(high, mpp)
        }
        return low...high
    }

    /// Decodes one stored frame of tile `index` into `buffer` and checks the decoded size; also the frame's
    /// and the pixels' CRC-32 when asked (default: when `checksumsOnRead`).
    func decode(_ index: Int, _ frame: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer,
                checkFrame: Bool? = nil, checkPixels: Bool? = nil) throws(ShardError) {
        let entry = footer.entries[index]
        guard buffer.count >= entry.rawSize else {
            throw .invalidArgument(reason: "a buffer of \(buffer.count) bytes for tile \(index) of \(entry.rawSize) bytes")
        }
        if checkFrame ?? checksumsOnRead, CRC32.checksum(frame) != entry.frameCRC {
            throw .tile(path: path, index: index, problem: .frameChecksumMismatch)
        }
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<entry.rawSize])
        switch decoder.decompress(frame, into: target) {
        case .failure(let problem):
            throw .tile(path: path, index: index, problem: problem)
        case .success(let size) where size != entry.rawSize:
            throw .tile(path: path, index: index, problem: .wrongSize(expected: entry.rawSize, actual: size))
        case .success:
            break
        }
        if checkPixels ?? checksumsOnRead, CRC32.checksum(UnsafeRawBufferPointer(target)) != entry.pixelsCRC {
            throw .tile(path: path, index: index, problem: .pixelChecksumMismatch)
        }
    }

    /// The stored frame of tile `index` (checked against its frame CRC-32), for copying it unchanged.
    /// - Throws: `ShardError.tile(… .frameChecksumMismatch)`, `.io`, `.unfinalized`.
    func storedFrame(at index: Int) throws(ShardError) -> [UInt8] {
        try checkIndex(index)
        let entry = footer.entries[index]
        let bytes = try file.read(count: entry.storedSize, at: entry.offset)
        guard CRC32.checksum(of: bytes) == entry.frameCRC else {
            throw .tile(path: path, index: index, problem: .frameChecksumMismatch)
        }
        return bytes
    }

    /// Reads `length` bytes at `offset` into `buffer`; false when the file ends first.
    func readBytes(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(ShardError) -> Bool {
        try file.read(into: buffer, at: offset)
    }

    private func checkIndex(_ index: Int) throws(ShardError) {
        guard index >= 0 && index < count else { throw .tileIndexOutOfRange(path: path, index: index, count: count) }
    }
}
