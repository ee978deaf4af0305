import Foundation
import Testing
@testable import TileShards

/// Dataset writing: rolling shards, index.json consistent with the shards, crash and resume (S2, D6).
@Suite struct DatasetWriterTests {
    let geometry = TileGeometry(size: 16)

    func options(maxTiles: Int = 10, maxBytes: Int64 = 256 << 20) -> DatasetWriter.Options {
        .init(geometry: geometry, maxTilesPerShard: maxTiles, maxStoredBytesPerShard: maxBytes)
    }

    /// index.json agrees with every shard: counts, sizes, whole-file CRC, geometry, mpp, sources, totals.
    func expectIndexMatchesShards(_ directory: String) throws {
        let dataset = try ShardDataset(directory: directory, allowEmpty: true)
        let index = dataset.index
        #expect(index.tiles == index.shards.reduce(0) { $0 + $1.tiles })
        for (number, entry) in index.shards.enumerated() {
            let reader = try dataset.openShard(number)
            #expect(try reader.mismatch(with: entry) == nil)
            #expect(try reader.fileChecksum() == entry.fileCRC32)
            #expect(reader.verify().isEmpty)
            if let range = try reader.mppRange() { #expect(range == entry.mppMin...entry.mppMax) }
            // A listed shard never holds a source that is not completed.
            #expect(entry.sources.allSatisfy { index.completedSources.contains($0.id) })
        }
        #expect(DatasetVerifier.verify(directory: directory).isIntact)
    }

    /// All tiles of the dataset in order, as (slide id, x).
    func keys(_ directory: String) throws -> [String] {
        let dataset = try ShardDataset(directory: directory, allowEmpty: true)
        var out: [String] = []
        for number in dataset.index.shards.indices {
            var tiles = try dataset.openShard(number).makeTileIterator()
            while let tile = try tiles.next() { out.append("\(tile.metadata.slideID)@\(tile.metadata.x)") }
        }
        return out
    }

    @Test func rollsByTileCountAndWritesAConsistentIndex() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let writer = try DatasetWriter(directory: directory, options: options(maxTiles: 10))
        #expect(!writer.resumeReport.isResume)
        let tiles = Fixtures.tiles(25, geometry: geometry)
        for (i, pixels) in tiles.enumerated() {
            try writer.append(pixels, metadata: Fixtures.metadata("TCGA-CR-7395-01A-01-TS1.\(i / 10)", Int64(i) * 16))
        }
        let index = try writer.finish()
        #expect(index.shards.map(\.file) == ["shard-000000.dts", "shard-000001.dts", "shard-000002.dts"])
        #expect(index.shards.map(\.tiles) == [10, 10, 5])
        #expect(index.tiles == 25)
        #expect(index.completedSources == ["TCGA-CR-7395-01A-01-TS1.0", "TCGA-CR-7395-01A-01-TS1.1", "TCGA-CR-7395-01A-01-TS1.2"])
        #expect(Fixtures.files(directory) == ["index.json", "shard-000000.dts", "shard-000001.dts", "shard-000002.dts", "writer.lock"])
        try expectIndexMatchesShards(directory)
        // Global order = write order; pixels intact.
        let dataset = try ShardDataset(directory: directory)
        for (i, pixels) in tiles.enumerated() {
            let (shard, tile) = try #require(dataset.locate(i))
            #expect(try dataset.openShard(shard).tile(at: tile).pixels == pixels)
        }
        #expect(dataset.locate(25) == nil)
        // index.json on disk is what finish returned.
        #expect(try DatasetIndex.decode(Fixtures.read(directory + "/index.json"), path: "index.json") == index)
    }

    @Test func rollsByStoredBytes() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let writer = try DatasetWriter(directory: directory, options: options(maxTiles: 1_000, maxBytes: 2_000))
        for (i, pixels) in Fixtures.tiles(20, geometry: geometry).enumerated() {
            try writer.append(pixels, metadata: Fixtures.metadata("s", Int64(i)))
        }
        let index = try writer.finish()
        #expect(index.shards.count > 1)
        // Every shard but the last stopped at the first tile that reached the limit.
        for entry in index.shards.dropLast() {
            #expect(entry.storedBytes >= 2_000)
            #expect(entry.storedBytes - Int64(ZstdEncoder.bound(geometry.rawBytes)) < 2_000)
        }
        try expectIndexMatchesShards(directory)
    }

    /// D6/S2: a writer killed mid-write leaves a temporary file (the open shard), a listed shard holding
    /// the head of an unfinished slide, and its lock file; we add a torn copy of a shard under a final
    /// name and a stale index temporary file. The next writer starts at once (the lock died with its
    /// process), removes the partial work, keeps the completed slides, and the stage redoes only the
    /// unfinished ones. Nothing listed is incomplete; no tile is lost or duplicated.
    @Test func resumeAfterCrashRemovesPartialWorkAndRedoesIt() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let slides = ["TCGA-A7-A0CD-01Z-00-DX2.609CED8D", "CMU-1.small", "slide three", "slide.four"]
        let tilesPerSlide = 7
        func tiles(of slide: Int) -> [(pixels: [UInt8], metadata: TileMetadata)] {
            Fixtures.tiles(tilesPerSlide, geometry: geometry).enumerated().map { i, pixels in
                (pixels, Fixtures.metadata(slides[slide], Int64(i) * 16, Int64(slide)))
            }
        }
        // Run 1 (5 tiles per shard): slides 0 and 1 finished; slide 2 has 4 of 7 tiles when the process dies.
        let first = try DatasetWriter(directory: directory, options: options(maxTiles: 5))
        for slide in 0..<2 {
            for tile in tiles(of: slide) { try first.append(tile.pixels, metadata: tile.metadata) }
            try first.finishSource(slides[slide])
        }
        for tile in tiles(of: 2).prefix(4) { try first.append(tile.pixels, metadata: tile.metadata) }
        first.simulateCrash()
        let temporary = try #require(Fixtures.files(directory).first { $0.hasPrefix("shard-000003.dts.tmp-") })
        let torn = Fixtures.read(directory + "/shard-000000.dts")
        Fixtures.write(Array(torn.prefix(torn.count / 2)), to: directory + "/shard-000007.dts")
        Fixtures.write(Array("{\"partial".utf8), to: directory + "/index.json.tmp-999999")

        // Committed: shards 0–2 (slide 0; slide 1; slide 1's tail + slide 2's first tile).
        let committed = try ShardDataset(directory: directory).index
        #expect(committed.shards.map(\.file) == ["shard-000000.dts", "shard-000001.dts", "shard-000002.dts"])
        #expect(committed.completedSources == [slides[0], slides[1]])
        #expect(DatasetVerifier.verify(directory: directory).lines == [
            "shard-000002.dts: disagrees with index.json: holds 1 tiles of source 'slide three', which is not completed (an interrupted write: resume the writer)",
            "index.json.tmp-999999: " + ShardError.temporaryFile(path: "").detail,
            "\(temporary): " + ShardError.temporaryFile(path: "").detail,
            "shard-000007.dts: " + ShardError.unlistedShard(path: "").detail,
        ])

        // Run 2 resumes at once.
        let second = try DatasetWriter(directory: directory, options: options(maxTiles: 5))
        let report = second.resumeReport
        #expect(report.keptShards == ["shard-000000.dts", "shard-000001.dts"])
        #expect(report.rewrittenShards == [.init(from: "shard-000002.dts", to: "shard-000003.dts", removedTiles: 1)])
        #expect(report.droppedShards.isEmpty && report.reopenedSources.isEmpty)
        #expect(Set(report.removedFiles) == [temporary, "shard-000007.dts", "index.json.tmp-999999"])
        #expect(second.isCompleted(slides[0]) && second.isCompleted(slides[1]))
        #expect(!second.isCompleted(slides[2]) && !second.isCompleted(slides[3]))
        #expect(DatasetVerifier.verify(directory: directory).writerPID == getpid())
        #expect(throws: ShardError.sourceFinished(directory: directory, source: slides[0])) {
            try second.append(tiles(of: 0)[0].pixels, metadata: tiles(of: 0)[0].metadata)
        }
        for slide in slides.indices where !second.isCompleted(slides[slide]) {
            for tile in tiles(of: slide) { try second.append(tile.pixels, metadata: tile.metadata) }
            try second.finishSource(slides[slide])
        }
        try second.finish()
        try expectIndexMatchesShards(directory)
        // Every tile exactly once, pixels intact.
        let expected = slides.indices.flatMap { slide in tiles(of: slide).map { "\($0.metadata.slideID)@\($0.metadata.x)" } }
        #expect(try keys(directory).sorted() == expected.sorted())
        #expect(try ShardDataset(directory: directory).index.completedSources == slides)
        #expect(!Fixtures.files(directory).contains { $0.contains(".tmp-") })
    }

    /// Interleaved sources (parallel slide readers): sealed shards are listed at once; a source completes
    /// when none of its tiles is left in the open shard.
    @Test func interleavedSourcesCompleteWhenTheirShardsAreSealed() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let writer = try DatasetWriter(directory: directory, options: options(maxTiles: 3))
        let pixels = Fixtures.tiles(1, geometry: geometry)[0]
        // a and b alternate for 8 tiles: shards 0 and 1 sealed, shard 2 open with a and b.
        for i in 0..<8 { try writer.append(pixels, metadata: Fixtures.metadata(i % 2 == 0 ? "a" : "b", Int64(i))) }
        #expect(writer.index.shards.map(\.file) == ["shard-000000.dts", "shard-000001.dts"])
        try writer.finishSource("a")
        #expect(!writer.isCompleted("a"))  // its last tile is in the open shard
        try writer.append(pixels, metadata: Fixtures.metadata("c", 100))  // fills shard 2: sealed
        #expect(writer.isCompleted("a"))
        #expect(throws: ShardError.sourceFinished(directory: directory, source: "a")) {
            try writer.append(pixels, metadata: Fixtures.metadata("a", 200))
        }
        try writer.finishSource("b")
        #expect(writer.isCompleted("b"))
        try writer.append(pixels, metadata: Fixtures.metadata("c", 101))
        try writer.finishSource("c")
        #expect(!writer.isCompleted("c"))
        try writer.flush()
        #expect(writer.isCompleted("c"))
        #expect(writer.index.completedSources == ["a", "b", "c"])
        // A source without tiles (a slide without tissue) completes at once.
        try writer.finishSource("empty-slide")
        #expect(writer.isCompleted("empty-slide"))
        try writer.finish()
        try expectIndexMatchesShards(directory)
        #expect(try ShardDataset(directory: directory).index.completedSources == ["a", "b", "c", "empty-slide"])
    }

    /// `close()` stops early: complete sources stay; the unfinished one's tiles are removed on resume.
    @Test func closeKeepsOnlyCompletedSources() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let pixels = Fixtures.tiles(1, geometry: geometry)[0]
        let writer = try DatasetWriter(directory: directory, options: options(maxTiles: 4))
        for i in 0..<4 { try writer.append(pixels, metadata: Fixtures.metadata("done", Int64(i))) }
        try writer.finishSource("done")
        for i in 0..<2 { try writer.append(pixels, metadata: Fixtures.metadata("half", Int64(i))) }
        try writer.close()
        #expect(throws: ShardError.writerClosed(path: directory)) { try writer.append(pixels, metadata: Fixtures.metadata("x", 0)) }
        let resumed = try DatasetWriter(directory: directory, options: options(maxTiles: 4))
        #expect(resumed.isCompleted("done") && !resumed.isCompleted("half"))
        #expect(resumed.resumeReport.rewrittenShards == [.init(from: "shard-000001.dts", to: nil, removedTiles: 2)])
        try resumed.finish()
        #expect(try keys(directory) == (0..<4).map { "done@\($0)" })
        try expectIndexMatchesShards(directory)
    }

    /// S6 on resume: a listed shard damaged after it was committed is dropped (found by the structure
    /// check, or by the checksum pass with `verifyChecksumsOnResume`); its sources are reopened, their
    /// tiles in other shards removed, and the stage redoes them.
    @Test func damagedListedShardIsDroppedAndItsSourcesRedone() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let pixels = Fixtures.tiles(1, geometry: geometry)[0]
        let writer = try DatasetWriter(directory: directory, options: options(maxTiles: 3))
        // x: shards 0 and 1; y: shards 1 and 2; z: shard 3.
        for i in 0..<5 { try writer.append(pixels, metadata: Fixtures.metadata("x", Int64(i))) }
        for i in 0..<4 { try writer.append(pixels, metadata: Fixtures.metadata("y", Int64(i))) }
        for i in 0..<3 { try writer.append(pixels, metadata: Fixtures.metadata("z", Int64(i))) }
        try writer.finish()
        #expect(try ShardDataset(directory: directory).index.shards.map(\.tiles) == [3, 3, 3, 3])

        // Damage a tile frame of shard 2 (y only): the structure is intact, the checksum pass finds it.
        let reader = try ShardReader(path: directory + "/shard-000002.dts")
        Fixtures.flipByte(reader.path, at: Int(reader.footer.entries[0].offset) + 3)
        let quick = try DatasetWriter(directory: directory, options: options(maxTiles: 3))
        #expect(quick.resumeReport.rewrittenShards.isEmpty && quick.resumeReport.droppedShards.isEmpty)  // structure only
        quick.simulateCrash()
        var careful = options(maxTiles: 3)
        careful.verifyChecksumsOnResume = true
        let resumed = try DatasetWriter(directory: directory, options: careful)
        let report = resumed.resumeReport
        #expect(report.droppedShards == [.tile(path: directory + "/shard-000002.dts", index: 0, problem: .frameChecksumMismatch)])
        #expect(report.reopenedSources == ["y"])
        #expect(report.rewrittenShards == [.init(from: "shard-000001.dts", to: "shard-000004.dts", removedTiles: 1)])
        #expect(report.keptShards == ["shard-000000.dts", "shard-000003.dts"])
        #expect(resumed.isCompleted("x") && resumed.isCompleted("z") && !resumed.isCompleted("y"))
        for i in 0..<4 { try resumed.append(pixels, metadata: Fixtures.metadata("y", Int64(i))) }
        try resumed.finish()
        try expectIndexMatchesShards(directory)
        #expect(try keys(directory).sorted() == ((0..<5).map { "x@\($0)" } + (0..<4).map { "y@\($0)" } + (0..<3).map { "z@\($0)" }).sorted())

        // A listed shard truncated after the fact fails the structure check without the option.
        let shard = directory + "/shard-000000.dts"
        let bytes = Fixtures.read(shard)
        Fixtures.write(Array(bytes.dropLast(1)), to: shard)
        let again = try DatasetWriter(directory: directory, options: options(maxTiles: 3))
        #expect(again.resumeReport.droppedShards.map { FileSystem.fileName($0.path) } == ["shard-000000.dts"])
        #expect(!again.isCompleted("x"))
        #expect(again.resumeReport.rewrittenShards.map(\.from) == ["shard-000004.dts"])
    }

    /// D6: two live writers on one folder: the second fails at once naming the first's PID.
    @Test func secondWriterOnSameFolderFailsAtOnce() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let first = try DatasetWriter(directory: directory, options: options())
        #expect(throws: ShardError.datasetInUse(directory: directory, pid: getpid())) {
            try DatasetWriter(directory: directory, options: options())
        }
        #expect(WriterLock.holder(directory: directory) == getpid())
        // While a writer holds the folder, verify does not call its work in progress a problem.
        try first.append(Fixtures.tiles(1, geometry: geometry)[0], metadata: Fixtures.metadata("a", 0))
        #expect(DatasetVerifier.verify(directory: directory).writerPID == getpid())
        try first.finish()
        #expect(WriterLock.holder(directory: directory) == nil)
        let third = try DatasetWriter(directory: directory, options: options())
        #expect(third.isCompleted("a"))
    }

    @Test func geometryMismatchAndUnreadableIndexAreErrors() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let writer = try DatasetWriter(directory: directory, options: options())
        try writer.append(Fixtures.tiles(1, geometry: geometry)[0], metadata: Fixtures.metadata("a", 0))
        try writer.finish()
        let other = DatasetWriter.Options(geometry: TileGeometry(size: 32))
        let error = #expect(throws: ShardError.self) { try DatasetWriter(directory: directory, options: other) }
        guard case .datasetMismatch? = error else { Issue.record("got \(String(describing: error))"); return }
        Fixtures.write(Array("{ not json".utf8), to: directory + "/index.json")
        let invalid = #expect(throws: ShardError.self) { try DatasetWriter(directory: directory, options: options()) }
        guard case .indexInvalid? = invalid else { Issue.record("got \(String(describing: invalid))"); return }
        // The unreadable index is left alone (never silently replaced).
        #expect(Fixtures.read(directory + "/index.json") == Array("{ not json".utf8))
    }

    /// T4: a run where no slide had tissue writes a valid, empty dataset.
    @Test func datasetWithoutTilesHasAnIndex() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let writer = try DatasetWriter(directory: directory, options: options())
        try writer.finishSource("blank slide")
        let index = try writer.finish()
        #expect(index.shards.isEmpty && index.completedSources == ["blank slide"])
        #expect(Fixtures.files(directory) == ["index.json", "writer.lock"])
        #expect(throws: ShardError.emptyDataset(directory: directory)) { try ShardDataset(directory: directory) }
    }
}
