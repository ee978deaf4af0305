/// Checks a whole dataset folder (`distill shards verify`): the index, every listed shard's structure,
/// every tile's checksums, every shard's whole-file CRC-32 and its agreement with `index.json`, and files
/// an unfinished writer left.
public enum DatasetVerifier {
    /// The outcome of `verify(directory:)`.
    public struct Report: Sendable, Equatable {
        /// The folder checked.
        public var directory: String
        /// Every problem found; each names its file and, for a tile, the tile index. Empty when the
        /// dataset is intact.
        public var problems: [ShardError] = []
        /// Shards listed in `index.json`.
        public var shards = 0
        /// Tiles listed in `index.json`.
        public var tiles = 0
        /// Tiles whose frame, pixels and metadata were checked and found intact.
        public var intactTiles = 0
        /// Bytes of decoded pixels checked.
        public var rawBytesChecked: Int64 = 0
        /// PID of a live writer holding the folder, if any (its temporary and unlisted files are then
        /// expected and not reported).
        public var writerPID: Int32?

        /// Whether nothing is wrong.
        public var isIntact: Bool { problems.isEmpty }

        /// One line per problem, with paths relative to the folder
        /// (`shard-000003.dts: tile 17: pixel checksum mismatch`); problems of the folder itself start
        /// with the folder (`/data/x: no index.json; …`).
        public var lines: [String] {
            problems.map { problem in
                let path = problem.path
                if path == directory || path.isEmpty { return "\(directory): \(problem.detail)" }
                let prefix = directory.hasSuffix("/") ? directory : directory + "/"
                let name = path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
                return "\(name): \(problem.detail)"
            }
        }
    }

    /// Verifies the dataset in `directory`; never throws and never waits: an unusable folder is a problem
    /// in the report.
    public static func verify(directory: String) -> Report {
        var report = Report(directory: directory)
        report.writerPID = WriterLock.holder(directory: directory)
        let dataset: ShardDataset
        do throws(ShardError) {
            dataset = try ShardDataset(directory: directory, allowEmpty: true)
        } catch {
            report.problems.append(error)
            if case .indexMissing = error { return report }
            if case .notADirectory = error { return report }
            if case .indexInvalid = error { return report }
            // A listed shard is missing or has the wrong size: check the rest one by one below.
            guard let index = try? DatasetIndex.decode(
                (try? POSIXFile.openForReading(FileSystem.join(directory, ShardFormat.indexFileName)).readAll()) ?? [],
                path: FileSystem.join(directory, ShardFormat.indexFileName)) else { return report }
            report.problems.removeAll()
            verify(index: index, directory: directory, into: &report)
            return report
        }
        verify(index: dataset.index, directory: directory, into: &report)
        return report
    }

    private static func verify(index: DatasetIndex, directory: String, into report: inout Report) {
        report.shards = index.shards.count
        report.tiles = index.tiles
        if index.shards.isEmpty { report.problems.append(.emptyDataset(directory: directory)) }
        for entry in index.shards {
            let path = FileSystem.join(directory, entry.file)
            guard let size = FileSystem.size(path) else {
                report.problems.append(.shardMissing(path: path))
                continue
            }
            if size != entry.fileBytes {
                report.problems.append(.indexMismatch(path: path, reason: "\(size) bytes, index.json says \(entry.fileBytes)"))
            }
            do throws(ShardError) {
                let reader = try ShardReader(path: path)
                let tileProblems = reader.verify()
                report.problems += tileProblems
                let badTiles = Set(tileProblems.compactMap(\.tileIndex))
                report.intactTiles += reader.count - badTiles.count
                report.rawBytesChecked += reader.rawBytes
                if tileProblems.allSatisfy({ $0.tileIndex != nil }) {
                    if let mismatch = try? reader.mismatch(with: entry) {
                        report.problems.append(.indexMismatch(path: path, reason: mismatch))
                    }
                    let crc = try reader.fileChecksum()
                    if crc != entry.fileCRC32 && tileProblems.isEmpty {
                        report.problems.append(.indexMismatch(
                            path: path, reason: "file checksum \(hex(crc)), index.json says \(hex(entry.fileCRC32))"))
                    }
                }
            } catch {
                report.problems.append(error)
            }
        }
        // Leftovers of a writer that did not finish (expected while one is running).
        guard report.writerPID == nil else { return }
        let completed = Set(index.completedSources)
        for entry in index.shards {
            for source in entry.sources where !completed.contains(source.id) {
                report.problems.append(.indexMismatch(
                    path: FileSystem.join(directory, entry.file),
                    reason: "holds \(source.tiles) tiles of source '\(source.id)', which is not completed (an interrupted write: resume the writer)"))
            }
        }
        guard let names = try? FileSystem.list(directory) else { return }
        let listed = Set(index.shards.map(\.file))
        for name in names {
            if ShardFormat.shardNumber(fileName: name) != nil && !listed.contains(name) {
                report.problems.append(.unlistedShard(path: FileSystem.join(directory, name)))
            } else if let temporary = ShardFormat.parseTemporaryName(name),
                      temporary.finalName == ShardFormat.indexFileName || ShardFormat.shardNumber(fileName: temporary.finalName) != nil {
                report.problems.append(.temporaryFile(path: FileSystem.join(directory, name)))
            }
        }
    }
}
