/// A dataset folder opened for reading: its `index.json`, checked against the files, and readers for its
/// shards (docs/formats/tile-shards.md §3).
///
/// Opening never waits: a folder without `index.json` (e.g. only temporary files of a writer that never
/// finished), an index listing no shards, or a listed shard that is missing or has the wrong size is an
/// error at once (field case S7).
public struct ShardDataset: Sendable {
    /// The folder.
    public let directory: String
    /// Its index.
    public let index: DatasetIndex

    /// Opens the dataset in `directory`.
    /// - Parameter allowEmpty: accept an index that lists no shards (default false: `.emptyDataset`).
    /// - Throws: `ShardError.notADirectory`, `.indexMissing` (naming the temporary files and unlisted
    ///   shards found), `.indexInvalid`, `.emptyDataset`, `.shardMissing`, `.indexMismatch` (a shard's
    ///   size differs from the index), `.io`.
    public init(directory: String, allowEmpty: Bool = false) throws(ShardError) {
        guard FileSystem.isDirectory(directory) else { throw .notADirectory(path: directory) }
        self.directory = directory
        let indexPath = FileSystem.join(directory, ShardFormat.indexFileName)
        guard FileSystem.exists(indexPath) else {
            let names = try FileSystem.list(directory)
            throw .indexMissing(directory: directory,
                                tempFiles: names.filter { ShardFormat.parseTemporaryName($0) != nil },
                                unlistedShards: names.filter { ShardFormat.shardNumber(fileName: $0) != nil })
        }
        index = try DatasetIndex.decode(try POSIXFile.openForReading(indexPath).readAll(), path: indexPath)
        if index.shards.isEmpty && !allowEmpty { throw .emptyDataset(directory: directory) }
        for entry in index.shards {
            let path = FileSystem.join(directory, entry.file)
            guard let size = FileSystem.size(path) else { throw .shardMissing(path: path) }
            guard size == entry.fileBytes else {
                throw .indexMismatch(path: path, reason: "\(size) bytes, index.json says \(entry.fileBytes)")
            }
        }
    }

    /// Total tiles.
    public var tileCount: Int { index.tiles }

    /// The path of shard `number` (position in `index.shards`).
    public func path(ofShard number: Int) -> String { FileSystem.join(directory, index.shards[number].file) }

    /// Opens shard `number` (position in `index.shards`) and checks it against its index entry.
    /// - Throws: as `ShardReader.init(path:)`, and `.indexMismatch`.
    public func openShard(_ number: Int) throws(ShardError) -> ShardReader {
        let entry = index.shards[number]
        let reader = try ShardReader(path: path(ofShard: number))
        if reader.count != entry.tiles || reader.geometry != entry.geometry || reader.fileBytes != entry.fileBytes {
            throw .indexMismatch(path: reader.path, reason: "\(reader.count) tiles of \(reader.geometry) in \(reader.fileBytes) bytes, index.json says \(entry.tiles) of \(entry.geometry) in \(entry.fileBytes)")
        }
        return reader
    }

    /// The shard (position in `index.shards`) and tile index within it of global tile `index`
    /// (shards in index order, then tiles in shard order), or nil when out of range.
    public func locate(_ index: Int) -> (shard: Int, tile: Int)? {
        guard index >= 0 else { return nil }
        var remaining = index
        for (number, entry) in self.index.shards.enumerated() {
            if remaining < entry.tiles { return (number, remaining) }
            remaining -= entry.tiles
        }
        return nil
    }
}
