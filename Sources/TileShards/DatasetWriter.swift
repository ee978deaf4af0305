#if canImport(Glibc)
import Glibc
#endif

/// Writes a dataset folder of shards plus `index.json`, and resumes it after a crash
/// (docs/formats/tile-shards.md §4).
///
/// Work is organised by **source** (a slide id, `TileMetadata.slideID`). A stage appends a source's tiles
/// and then calls `finishSource(_:)` ("slide X done"). Tiles go into an open shard; when it reaches
/// `maxTilesPerShard` tiles or `maxStoredBytesPerShard` stored bytes it is sealed (fsync, rename) and
/// listed in `index.json` at once, and every finished source whose tiles are all in listed shards joins
/// `completed_sources`. A finished source with tiles in the open shard completes when that shard is
/// sealed (`flush()` seals it early).
///
/// After a crash, a new writer on the same folder keeps what is listed (and checks), deletes temporary
/// and unlisted files, and rewrites the few listed shards that hold tiles of sources that never
/// completed without those tiles (frames are copied, not recompressed). `isCompleted(_:)` then tells the
/// stage which sources to skip; every other source is redone from its first tile. So no tile is lost
/// from a completed source, none is written twice, and nothing listed is incomplete.
///
/// ```swift
/// let writer = try DatasetWriter(directory: "out", options: .init(geometry: TileGeometry(size: 224)))
/// for slide in slides where !writer.isCompleted(slide.id) {
///     for tile in tiles(of: slide) { try writer.append(tile.pixels, metadata: tile.metadata) }
///     try writer.finishSource(slide.id)
/// }
/// let index = try writer.finish()
/// ```
///
/// Sources may interleave (tiles of several slides from parallel readers). One writer per folder (it
/// holds `writer.lock`; a second gets `.datasetInUse`), used from one thread or actor at a time.
public final class DatasetWriter {
    /// What the writer writes and how it resumes.
    public struct Options: Sendable, Equatable {
        /// Geometry of every tile (an existing dataset must have the same).
        public var geometry: TileGeometry
        /// zstd level, dictionary and literal policy of new shards.
        public var compression: ShardCompression
        /// A shard is sealed when it holds this many tiles (default 100,000; at most 2²⁴).
        public var maxTilesPerShard: Int
        /// A shard is sealed when its frames reach this many bytes (default 256 MiB).
        public var maxStoredBytesPerShard: Int64
        /// On resume, also check every checksum of every listed shard (reads them whole); default false:
        /// size, trailer, footer, header, metadata and the index entry are checked.
        public var verifyChecksumsOnResume: Bool

        /// Options for tiles of `geometry`; the defaults are level 3, 100,000 tiles or 256 MiB per shard.
        public init(geometry: TileGeometry, compression: ShardCompression = ShardCompression(),
                    maxTilesPerShard: Int = 100_000, maxStoredBytesPerShard: Int64 = 256 << 20,
                    verifyChecksumsOnResume: Bool = false) {
            self.geometry = geometry
            self.compression = compression
            self.maxTilesPerShard = maxTilesPerShard
            self.maxStoredBytesPerShard = maxStoredBytesPerShard
            self.verifyChecksumsOnResume = verifyChecksumsOnResume
        }
    }

    /// A listed shard rewritten on resume without the tiles of sources that never completed.
    public struct Rewrite: Sendable, Equatable {
        /// The shard that held them (deleted).
        public var from: String
        /// The new shard with the remaining tiles, nil when none remained.
        public var to: String?
        /// Tiles left out.
        public var removedTiles: Int
    }

    /// What opening the folder found and cleaned up.
    public struct ResumeReport: Sendable, Equatable {
        /// Listed shards kept unchanged.
        public var keptShards: [String] = []
        /// Listed shards that failed their check and were deleted, each with the reason.
        public var droppedShards: [ShardError] = []
        /// Listed shards rewritten without tiles of sources that never completed.
        public var rewrittenShards: [Rewrite] = []
        /// Temporary files and unlisted shards that were deleted (file names).
        public var removedFiles: [String] = []
        /// Sources that were completed but are not any more because a shard of theirs was dropped.
        public var reopenedSources: [String] = []
        /// Completed sources after the clean-up.
        public var completedSources = 0

        /// Whether the folder held anything from an earlier run.
        public var isResume: Bool {
            !keptShards.isEmpty || !droppedShards.isEmpty || !rewrittenShards.isEmpty || !removedFiles.isEmpty || completedSources > 0
        }
    }

    /// The dataset folder.
    public let directory: String
    /// The options given.
    public let options: Options
    /// What opening the folder found and cleaned up.
    public let resumeReport: ResumeReport
    /// The committed index (what `index.json` says now).
    public private(set) var index: DatasetIndex

    private var lock: WriterLock?
    private var completed: Set<String>
    /// Finished sources waiting for the open shard to be sealed, in the order they were finished.
    private var waiting: [String] = []
    private var open: ShardWriter?
    private var nextNumber: Int
    private var indexOnDisk: Bool

    /// Opens (creating if needed) a dataset folder for writing, resuming what an earlier run left.
    ///
    /// Steps: take `writer.lock`; read `index.json`; check every listed shard and drop those that fail
    /// (their sources are reopened); delete temporary files and unlisted shards; rewrite listed shards
    /// that hold tiles of sources not completed, without those tiles; write `index.json` if anything
    /// changed; delete the replaced and dropped shards.
    /// - Throws: `ShardError.datasetInUse` (another live writer), `.indexInvalid` (an unreadable
    ///   `index.json` is never overwritten: delete it to start over), `.datasetMismatch` (different
    ///   geometry), `.invalidGeometry`, `.compression`, `.notADirectory`, `.io`, and errors reading a
    ///   shard being rewritten.
    public init(directory: String, options: Options) throws(ShardError) {
        try options.geometry.validate()
        try options.compression.validate(path: directory)
        guard options.maxTilesPerShard >= 1, options.maxTilesPerShard <= ShardFormat.maxTilesPerShard else {
            throw .invalidArgument(reason: "maxTilesPerShard \(options.maxTilesPerShard) is not in 1…\(ShardFormat.maxTilesPerShard)")
        }
        if FileSystem.exists(directory) && !FileSystem.isDirectory(directory) { throw .notADirectory(path: directory) }
        try FileSystem.createDirectory(directory)
        self.directory = directory
        self.options = options
        lock = try WriterLock.acquire(directory: directory)

        let indexPath = FileSystem.join(directory, ShardFormat.indexFileName)
        var index: DatasetIndex
        if FileSystem.exists(indexPath) {
            index = try DatasetIndex.decode(try POSIXFile.openForReading(indexPath).readAll(), path: indexPath)
            guard index.geometry == options.geometry else {
                throw .datasetMismatch(directory: directory, reason: "it holds \(index.geometry) tiles, the writer was asked for \(options.geometry)")
            }
            indexOnDisk = true
        } else {
            index = DatasetIndex(geometry: options.geometry)
            indexOnDisk = false
        }

        // 1. Check the listed shards; a dropped shard reopens its sources.
        var report = ResumeReport()
        var kept: [ShardEntry] = []
        var completed = Set(index.completedSources)
        for entry in index.shards {
            if let problem = Self.check(entry, in: directory, checksums: options.verifyChecksumsOnResume) {
                report.droppedShards.append(problem)
                for source in entry.sources where completed.remove(source.id) != nil { report.reopenedSources.append(source.id) }
            } else {
                kept.append(entry)
            }
        }
        var changed = kept.count != index.shards.count

        // 2. Temporary files and unlisted shards: nothing refers to them.
        let keptNames = Set(kept.map(\.file))
        for name in try FileSystem.list(directory) {
            let isTemporary = ShardFormat.parseTemporaryName(name).map {
                $0.finalName == ShardFormat.indexFileName || ShardFormat.shardNumber(fileName: $0.finalName) != nil
            } ?? false
            let isUnlisted = ShardFormat.shardNumber(fileName: name) != nil && !keptNames.contains(name)
            let isDropped = report.droppedShards.contains { FileSystem.fileName($0.path) == name }
            if isTemporary || (isUnlisted && !isDropped) {
                try FileSystem.remove(FileSystem.join(directory, name))
                report.removedFiles.append(name)
            }
        }
        // Above every listed name, dropped ones included (they are deleted only after the new index).
        nextNumber = (index.shards.compactMap { ShardFormat.shardNumber(fileName: $0.file) }.max() ?? -1) + 1

        // 3. Rewrite listed shards that hold tiles of sources that never completed, without them.
        var replaced: [String] = []
        for (position, entry) in kept.enumerated() where entry.sources.contains(where: { !completed.contains($0.id) }) {
            let to = try Self.rewrite(entry, keeping: completed, directory: directory,
                                      name: ShardFormat.shardFileName(nextNumber))
            nextNumber += 1
            let removed = entry.sources.filter { !completed.contains($0.id) }.reduce(0) { $0 + $1.tiles }
            report.rewrittenShards.append(Rewrite(from: entry.file, to: to?.file, removedTiles: removed))
            replaced.append(entry.file)
            if let to { kept[position] = to } else { kept[position].file = "" }
            changed = true
        }
        kept.removeAll { $0.file.isEmpty }
        kept.sort { $0.file < $1.file }

        // 4. The new index, then the files it no longer lists.
        index.shards = kept
        index.completedSources = index.completedSources.filter { completed.contains($0) }
        index.recomputeTotals()
        if changed {
            try Self.writeIndex(index, directory: directory)
            indexOnDisk = true
        }
        for name in replaced + report.droppedShards.map({ FileSystem.fileName($0.path) }) {
            try FileSystem.remove(FileSystem.join(directory, name))
        }
        try FileSystem.syncDirectory(directory)
        self.index = index
        self.completed = completed
        report.keptShards = kept.map(\.file).filter { name in !report.rewrittenShards.contains { $0.to == name } }
        report.completedSources = completed.count
        resumeReport = report
    }

    deinit { open?.abandon() }

    /// Whether all tiles of `source` are committed (in this run or an earlier one): skip it.
    public func isCompleted(_ source: String) -> Bool { completed.contains(source) }

    /// Sources whose tiles are all committed.
    public var completedSources: Set<String> { completed }

    /// Appends one tile to the open shard (opening one if needed), sealing the shard when it is full.
    /// - Parameters:
    ///   - pixels: exactly `geometry.rawBytes` bytes of RGB8, interleaved row-major.
    ///   - metadata: its `slideID` is the tile's source.
    /// - Throws: `ShardError.sourceFinished` (the source was finished or completed), `.invalidTile`,
    ///   `.compression`, `.io`, `.writerClosed`.
    public func append(_ pixels: UnsafeRawBufferPointer, metadata: TileMetadata) throws(ShardError) {
        guard lock != nil else { throw .writerClosed(path: directory) }
        if completed.contains(metadata.slideID) || waiting.contains(metadata.slideID) {
            throw .sourceFinished(directory: directory, source: metadata.slideID)
        }
        let writer: ShardWriter
        if let open {
            writer = open
        } else {
            writer = try ShardWriter(path: FileSystem.join(directory, ShardFormat.shardFileName(nextNumber)),
                                     geometry: options.geometry, compression: options.compression)
            nextNumber += 1
            open = writer
        }
        try writer.append(pixels, metadata: metadata)
        if writer.tileCount >= options.maxTilesPerShard || writer.storedBytes >= options.maxStoredBytesPerShard {
            try seal()
        }
    }

    /// Appends one tile (see `append(_:metadata:)`).
    public func append(_ pixels: [UInt8], metadata: TileMetadata) throws(ShardError) {
        try pixels.withShardBytes { (buffer) throws(ShardError) in try append(buffer, metadata: metadata) }
    }

    /// Marks `source` as having all its tiles appended ("slide X done"). It completes — joins
    /// `completed_sources` in `index.json` and is skipped on resume — at once if none of its tiles is in
    /// the open shard, else when that shard is sealed. A source without tiles (a slide without tissue)
    /// completes at once. Finishing a completed source again does nothing.
    /// - Throws: `ShardError.io` when writing `index.json` fails, `.writerClosed`.
    public func finishSource(_ source: String) throws(ShardError) {
        guard lock != nil else { throw .writerClosed(path: directory) }
        guard !completed.contains(source), !waiting.contains(source) else { return }
        waiting.append(source)
        if !(open?.sources.contains { $0.id == source } ?? false) { try commit(sealed: nil) }
    }

    /// Seals the open shard now (if it has tiles) and completes the sources waiting for it.
    /// - Throws: `ShardError.io`, `.writerClosed`.
    public func flush() throws(ShardError) {
        guard lock != nil else { throw .writerClosed(path: directory) }
        try seal()
    }

    /// Treats every source appended as finished, seals the last shard, writes the final `index.json` and
    /// releases the folder.
    /// - Returns: the final index.
    /// - Throws: `ShardError.io`, `.writerClosed`.
    @discardableResult
    public func finish() throws(ShardError) -> DatasetIndex {
        guard lock != nil else { throw .writerClosed(path: directory) }
        var unfinished = index.shards.flatMap { $0.sources.map(\.id) } + (open?.sources.map(\.id) ?? [])
        unfinished.removeAll { completed.contains($0) || waiting.contains($0) }
        for source in unfinished where !waiting.contains(source) { waiting.append(source) }
        try seal()
        if !indexOnDisk { try commit(sealed: nil, force: true) }
        lock?.release()
        lock = nil
        return index
    }

    /// Stops without finishing: seals the open shard (completing the finished sources waiting for it) and
    /// releases the folder. Sources not finished stay incomplete; the next writer removes their tiles
    /// and `isCompleted` tells the stage to redo them.
    /// - Throws: `ShardError.io`.
    public func close() throws(ShardError) {
        guard lock != nil else { return }
        try seal()
        lock?.release()
        lock = nil
    }

    /// Drops everything without cleaning up, as a killed process would (tests only): the open shard's
    /// temporary file stays; the lock is released as the kernel would.
    func simulateCrash() {
        open?.simulateCrash()
        open = nil
        lock?.release()
        lock = nil
    }

    private func seal() throws(ShardError) {
        guard let writer = open else {
            if !waiting.isEmpty { try commit(sealed: nil) }
            return
        }
        open = nil
        if writer.tileCount == 0 {
            writer.abandon()
            if !waiting.isEmpty { try commit(sealed: nil) }
        } else {
            try commit(sealed: try writer.finish())
        }
    }

    /// Lists `sealed` (if any) and completes every waiting source without tiles in the open shard;
    /// writes `index.json` when anything changed (or when `force`).
    private func commit(sealed: ShardEntry?, force: Bool = false) throws(ShardError) {
        let inOpen = Set(open?.sources.map(\.id) ?? [])
        let ready = waiting.filter { !inOpen.contains($0) }
        guard sealed != nil || !ready.isEmpty || force else { return }
        var next = index
        if let sealed { next.shards.append(sealed) }
        next.completedSources += ready
        next.recomputeTotals()
        try Self.writeIndex(next, directory: directory)
        index = next
        indexOnDisk = true
        completed.formUnion(ready)
        waiting.removeAll { completed.contains($0) }
    }

    /// Copies the tiles of `entry` whose source is in `keep` into a new shard `name` (same geometry,
    /// level and dictionary; frames copied unchanged) and returns its entry, or nil if none is kept.
    static func rewrite(_ entry: ShardEntry, keeping keep: Set<String>, directory: String,
                        name: String) throws(ShardError) -> ShardEntry? {
        guard entry.sources.contains(where: { keep.contains($0.id) }) else { return nil }
        let reader = try ShardReader(path: FileSystem.join(directory, entry.file))
        let writer = try ShardWriter(path: FileSystem.join(directory, name), geometry: reader.geometry,
                                     compression: ShardCompression(level: reader.zstdLevel, dictionary: reader.dictionary))
        for tile in 0..<reader.count {
            let metadata = try reader.metadata(at: tile)
            guard keep.contains(metadata.slideID) else { continue }
            try writer.appendStored(try reader.storedFrame(at: tile), pixelsCRC: reader.footer.entries[tile].pixelsCRC,
                                    metadata: metadata)
        }
        return try writer.finish()
    }

    /// Writes `index.json` atomically: temporary file, fsync, rename, fsync of the folder.
    static func writeIndex(_ index: DatasetIndex, directory: String) throws(ShardError) {
        let path = FileSystem.join(directory, ShardFormat.indexFileName)
        let temporary = ShardFormat.temporaryName(path, pid: getpid())
        try FileSystem.remove(temporary)
        let file = try POSIXFile.create(temporary)
        do throws(ShardError) {
            try index.encoded().withShardBytes { (bytes) throws(ShardError) in try file.write(bytes) }
            try file.sync()
            try file.close()
            try FileSystem.rename(temporary, to: path)
            try FileSystem.syncDirectory(directory)
        } catch {
            try? file.close()
            try? FileSystem.remove(temporary)
            throw error
        }
    }

    /// Nil when the listed shard `entry` is present and agrees with its entry; else the problem.
    static func check(_ entry: ShardEntry, in directory: String, checksums: Bool) -> ShardError? {
        let path = FileSystem.join(directory, entry.file)
        guard let size = FileSystem.size(path) else { return .shardMissing(path: path) }
        guard size == entry.fileBytes else {
            return .indexMismatch(path: path, reason: "\(size) bytes, index.json says \(entry.fileBytes)")
        }
        do throws(ShardError) {
            let reader = try ShardReader(path: path)
            if let mismatch = try reader.mismatch(with: entry) { return .indexMismatch(path: path, reason: mismatch) }
            if checksums {
                if let problem = reader.verify().first { return problem }
                let crc = try reader.fileChecksum()
                guard crc == entry.fileCRC32 else {
                    return .indexMismatch(path: path, reason: "file checksum \(hex(crc)), index.json says \(hex(entry.fileCRC32))")
                }
            }
            return nil
        } catch {
            return error
        }
    }
}

/// `0x1234abcd`.
func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

extension ShardReader {
    /// Nil when the shard agrees with `entry` on tiles, sizes, geometry, dictionary and sources; else
    /// the first disagreement. (The whole-file CRC is not read here.)
    /// - Throws: `ShardError.tile` for a damaged metadata record.
    func mismatch(with entry: ShardEntry) throws(ShardError) -> String? {
        if count != entry.tiles { return "\(count) tiles, index.json says \(entry.tiles)" }
        if geometry != entry.geometry { return "geometry \(geometry), index.json says \(entry.geometry)" }
        if storedBytes != entry.storedBytes { return "\(storedBytes) stored bytes, index.json says \(entry.storedBytes)" }
        if fileBytes != entry.fileBytes { return "\(fileBytes) bytes, index.json says \(entry.fileBytes)" }
        if dictionaryID != entry.dictionaryID { return "dictionary \(dictionaryID), index.json says \(entry.dictionaryID)" }
        let sources = try sourceCounts()
        if sources != entry.sources { return "sources \(Self.describe(sources)), index.json says \(Self.describe(entry.sources))" }
        return nil
    }

    private static func describe(_ sources: [SourceCount]) -> String {
        let text = sources.prefix(3).map { "\($0.id) × \($0.tiles)" }.joined(separator: ", ")
        return "[" + text + (sources.count > 3 ? ", …" : "") + "]"
    }
}

extension POSIXFile {
    /// The whole file.
    func readAll() throws(ShardError) -> [UInt8] {
        try read(count: Int(try size()), at: 0)
    }
}
