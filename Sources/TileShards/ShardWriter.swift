#if canImport(Glibc)
import Glibc
#endif

/// Writes one shard file (docs/formats/tile-shards.md §2): tiles are compressed into independent zstd
/// frames and appended to `NAME.tmp-PID` in the shard's folder; `finish()` appends the metadata, footer
/// and trailer, fsyncs the file, renames it to `NAME` and fsyncs the folder. A crash at any point leaves
/// at most the temporary file, never a file under the final name that looks complete (field case S2).
///
/// One writer is used by one thread (it owns a zstd context). Dropping a writer that was not finished
/// removes its temporary file.
///
/// ```swift
/// let writer = try ShardWriter(path: "out/shard-000000.dts", geometry: TileGeometry(size: 224))
/// try writer.append(pixels, metadata: TileMetadata(slideID: "CMU-1", x: 0, y: 0, mpp: 0.5, tissueFraction: 0.9))
/// let entry = try writer.finish()
/// ```
public final class ShardWriter {
    /// The final path of the shard.
    public let path: String
    /// Where the shard is written until `finish()` renames it: `path + ".tmp-" + PID`.
    public let temporaryPath: String
    /// Geometry every tile must have.
    public let geometry: TileGeometry
    /// Compression settings.
    public let compression: ShardCompression

    /// Tiles appended so far.
    public var tileCount: Int { entries.count }
    /// Bytes of zstd frames written so far.
    public private(set) var storedBytes: Int64 = 0
    /// Bytes of pixels appended so far (tileCount × width × height × 3).
    public var rawBytes: Int64 { Int64(entries.count) * Int64(geometry.rawBytes) }

    private var file: POSIXFile?
    private let encoder: ZstdEncoder
    private let header: ShardHeader
    private var frame: [UInt8]
    private var entries: [FooterEntry] = []
    private var records = ByteWriter()
    private var slideIndex: [String: UInt32] = [:]
    private var slideIDs: [String] = []
    private var sourceTiles: [Int] = []
    private var mppMin = Double.infinity, mppMax = -Double.infinity
    private var offset: Int64 = 0
    private var fileCRC: UInt32 = 0

    /// Creates `path.tmp-PID` and writes the header (and dictionary).
    /// - Parameters:
    ///   - path: the shard's final path; its folder must exist.
    ///   - geometry: tile size in px (3 channels, uint8).
    ///   - compression: zstd level (default 3), dictionary, literal policy.
    /// - Throws: `ShardError.invalidGeometry`, `.compression` (bad level or dictionary), `.io` (the
    ///   temporary file cannot be created or written; a stale one of the same name is replaced).
    public init(path: String, geometry: TileGeometry, compression: ShardCompression = ShardCompression()) throws(ShardError) {
        try geometry.validate()
        self.path = path
        self.temporaryPath = ShardFormat.temporaryName(path, pid: getpid())
        self.geometry = geometry
        self.compression = compression
        encoder = try ZstdEncoder(compression, path: path)
        let dictionary = compression.dictionary?.bytes ?? []
        header = ShardHeader(geometry: geometry, zstdLevel: compression.level, dictionaryID: compression.dictionary?.id ?? 0,
                             dictionarySize: UInt32(dictionary.count), dictionaryCRC: dictionary.isEmpty ? 0 : CRC32.checksum(of: dictionary))
        frame = [UInt8](repeating: 0, count: ZstdEncoder.bound(geometry.rawBytes))
        // A temporary file of this name is stale (left by a crashed process that had this PID, as in
        // containers where PIDs repeat): no live writer can be writing it.
        try FileSystem.remove(temporaryPath)
        let file = try POSIXFile.create(temporaryPath)
        self.file = file
        do throws(ShardError) {
            try emit(header.encoded())
            try emit(dictionary)
        } catch {
            abandon()
            throw error
        }
    }

    deinit { abandon() }

    /// Compresses and appends one tile.
    /// - Parameters:
    ///   - pixels: exactly `geometry.rawBytes` bytes of RGB8, interleaved row-major.
    ///   - metadata: slide id, level-0 x/y (px), mpp (µm/px, > 0), tissue fraction (0…1).
    /// - Throws: `ShardError.invalidTile` (wrong byte count or metadata; nothing written), `.compression`,
    ///   `.io`, `.writerClosed`. After `.compression` or `.io` the writer is abandoned.
    public func append(_ pixels: UnsafeRawBufferPointer, metadata: TileMetadata) throws(ShardError) {
        guard file != nil else { throw .writerClosed(path: path) }
        guard pixels.count == geometry.rawBytes else {
            throw .invalidTile(path: path, reason: "\(pixels.count) bytes of pixels, geometry \(geometry) needs \(geometry.rawBytes)")
        }
        if let problem = metadata.problem() { throw .invalidTile(path: path, reason: problem) }
        guard entries.count < ShardFormat.maxTilesPerShard else {
            throw .invalidTile(path: path, reason: "a shard holds at most \(ShardFormat.maxTilesPerShard) tiles")
        }
        do throws(ShardError) {
            let size = try frame.withMutableShardBytes { (buffer) throws(ShardError) -> Int in
                try encoder.compress(pixels, into: buffer, path: path)
            }
            let frameCRC = frame.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<size])) }
            let slide = slideNumber(metadata.slideID)
            let record = TileRecord.encode(slide: slide, metadata)
            let entry = FooterEntry(offset: offset, storedSize: size, rawSize: pixels.count,
                                    pixelsCRC: CRC32.checksum(pixels), frameCRC: frameCRC,
                                    recordCRC: CRC32.checksum(of: record))
            try frame.withShardBytes { (buffer) throws(ShardError) in
                try emit(UnsafeRawBufferPointer(rebasing: buffer[0..<size]), crc: frameCRC)
            }
            entries.append(entry)
            records.raw(record)
            sourceTiles[Int(slide)] += 1
            storedBytes += Int64(size)
            mppMin = min(mppMin, metadata.mpp)
            mppMax = max(mppMax, metadata.mpp)
        } catch {
            abandon()
            throw error
        }
    }

    /// Appends a tile's stored zstd frame unchanged, as copied from another shard written with the same
    /// geometry and dictionary (used when a resuming `DatasetWriter` rewrites a shard without some tiles).
    /// - Throws: `ShardError.invalidTile`, `.io`, `.writerClosed`.
    func appendStored(_ frame: [UInt8], pixelsCRC: UInt32, metadata: TileMetadata) throws(ShardError) {
        guard file != nil else { throw .writerClosed(path: path) }
        if let problem = metadata.problem() { throw .invalidTile(path: path, reason: problem) }
        do throws(ShardError) {
            let frameCRC = CRC32.checksum(of: frame)
            let slide = slideNumber(metadata.slideID)
            let record = TileRecord.encode(slide: slide, metadata)
            let entry = FooterEntry(offset: offset, storedSize: frame.count, rawSize: geometry.rawBytes, pixelsCRC: pixelsCRC,
                                    frameCRC: frameCRC, recordCRC: CRC32.checksum(of: record))
            try frame.withShardBytes { (buffer) throws(ShardError) in try emit(buffer, crc: frameCRC) }
            entries.append(entry)
            records.raw(record)
            sourceTiles[Int(slide)] += 1
            storedBytes += Int64(frame.count)
            mppMin = min(mppMin, metadata.mpp)
            mppMax = max(mppMax, metadata.mpp)
        } catch {
            abandon()
            throw error
        }
    }

    /// Compresses and appends one tile (see `append(_:metadata:)` for the rules).
    public func append(_ pixels: [UInt8], metadata: TileMetadata) throws(ShardError) {
        try pixels.withShardBytes { (buffer) throws(ShardError) in try append(buffer, metadata: metadata) }
    }

    /// Writes metadata, footer and trailer, fsyncs, renames the temporary file to `path`, fsyncs the folder.
    /// - Returns: the shard's `index.json` entry (file name, counts, sizes, whole-file CRC-32, sources).
    /// - Throws: `ShardError.io` (the temporary file is removed), `.writerClosed`.
    @discardableResult
    public func finish() throws(ShardError) -> ShardEntry {
        guard let file else { throw .writerClosed(path: path) }
        do throws(ShardError) {
            let metadataOffset = offset
            let slideTable = TileRecord.encodeSlideTable(slideIDs)
            try emit(slideTable)
            try emit(records.bytes)
            let footer = ShardFooter(recordSize: ShardFormat.recordSize, slideCount: slideIDs.count,
                                     metadataOffset: metadataOffset, slideTableSize: Int64(slideTable.count),
                                     slideTableCRC: CRC32.checksum(of: slideTable), tilesOffset: header.tilesOffset,
                                     entries: entries)
            let footerBytes = footer.encoded()
            let footerOffset = offset
            try emit(footerBytes)
            try emit(ShardTrailer(footerOffset: UInt64(footerOffset), footerSize: UInt32(footerBytes.count),
                                  tileCount: UInt32(entries.count), footerCRC: CRC32.checksum(of: footerBytes)).encoded())
            try file.sync()
            try file.close()
            self.file = nil
            try FileSystem.rename(temporaryPath, to: path)
            try FileSystem.syncDirectory(FileSystem.parentDirectory(path))
        } catch {
            abandon()
            throw error
        }
        return ShardEntry(file: FileSystem.fileName(path), tiles: entries.count, rawBytes: rawBytes, storedBytes: storedBytes,
                          fileBytes: offset, fileCRC32: fileCRC, geometry: geometry, zstdLevel: compression.level,
                          dictionaryID: header.dictionaryID, mppMin: entries.isEmpty ? 0 : mppMin,
                          mppMax: entries.isEmpty ? 0 : mppMax,
                          sources: zip(slideIDs, sourceTiles).map { SourceCount(id: $0, tiles: $1) })
    }

    /// Stops writing and removes the temporary file (nothing under the final name is touched).
    public func abandon() {
        guard let file else { return }
        try? file.close()
        self.file = nil
        try? FileSystem.remove(temporaryPath)
    }

    /// Closes the file and leaves the temporary file in place, as a crash would (tests only).
    func simulateCrash() {
        try? file?.close()
        file = nil
    }

    /// Whether the writer was finished or abandoned.
    public var isClosed: Bool { file == nil }

    /// Each source slide id with its tiles so far, in order of first appearance.
    public var sources: [SourceCount] { zip(slideIDs, sourceTiles).map { SourceCount(id: $0, tiles: $1) } }

    private func slideNumber(_ id: String) -> UInt32 {
        if let number = slideIndex[id] { return number }
        let number = UInt32(slideIDs.count)
        slideIndex[id] = number
        slideIDs.append(id)
        sourceTiles.append(0)
        return number
    }

    private func emit(_ bytes: [UInt8]) throws(ShardError) {
        try bytes.withShardBytes { (buffer) throws(ShardError) in try emit(buffer, crc: CRC32.checksum(buffer)) }
    }

    /// Appends bytes whose CRC-32 is `crc`, keeping the whole-file CRC and the offset.
    private func emit(_ bytes: UnsafeRawBufferPointer, crc: UInt32) throws(ShardError) {
        guard let file else { throw .writerClosed(path: path) }
        try file.write(bytes)
        fileCRC = crc32Combine(fileCRC, crc, bytes.count)
        offset += Int64(bytes.count)
    }
}
