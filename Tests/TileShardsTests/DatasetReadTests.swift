import Foundation
import Testing
@testable import TileShards

/// Opening, verifying and inspecting dataset folders; bad folders are clear errors at once (S7).
@Suite struct DatasetReadTests {
    let geometry = TileGeometry(size: 16)

    func makeDataset(_ directory: String, tiles: Int = 30, maxTiles: Int = 10) throws {
        let writer = try DatasetWriter(directory: directory, options: .init(geometry: geometry, maxTilesPerShard: maxTiles))
        for (i, pixels) in Fixtures.tiles(tiles, geometry: geometry).enumerated() {
            try writer.append(pixels, metadata: Fixtures.metadata(i < 15 ? "TCGA-CR-7395.01" : "µ-slide", Int64(i), mpp: 0.25 + Double(i % 3) * 0.25))
        }
        try writer.finish()
    }

    /// S7: a folder holding only temporary files of a writer that never finished is an error at once,
    /// naming them (no hang, no retry loop).
    @Test(.timeLimit(.minutes(1))) func onlyTemporaryFilesIsAClearError() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        Fixtures.write([1, 2, 3], to: directory + "/shard-000000.dts.tmp-4711")
        Fixtures.write([1, 2, 3], to: directory + "/index.json.tmp-4711")
        let expected = ShardError.indexMissing(directory: directory, tempFiles: ["index.json.tmp-4711", "shard-000000.dts.tmp-4711"],
                                               unlistedShards: [])
        #expect(throws: expected) { try ShardDataset(directory: directory) }
        #expect(expected.detail.contains("2 temporary file(s) of a writer that did not finish"))
        let report = DatasetVerifier.verify(directory: directory)
        #expect(report.lines == [directory + ": " + expected.detail])
        #expect(throws: ShardError.self) { try DatasetInspection(directory: directory) }
    }

    @Test(.timeLimit(.minutes(1))) func emptyAndMissingFoldersAreClearErrors() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        #expect(throws: ShardError.indexMissing(directory: directory, tempFiles: [], unlistedShards: [])) {
            try ShardDataset(directory: directory)
        }
        #expect(throws: ShardError.notADirectory(path: directory + "/nope")) { try ShardDataset(directory: directory + "/nope") }
        DatasetWriter.writeIndexForTests(DatasetIndex(geometry: geometry), directory: directory)
        #expect(throws: ShardError.emptyDataset(directory: directory)) { try ShardDataset(directory: directory) }
        #expect(DatasetVerifier.verify(directory: directory).lines == [directory + ": empty dataset: index.json lists no shards"])
    }

    @Test func missingTruncatedAndUnlistedShardsAreNamed() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        try makeDataset(directory)
        #expect(DatasetVerifier.verify(directory: directory).isIntact)
        try FileManager.default.removeItem(atPath: directory + "/shard-000001.dts")
        let bytes = Fixtures.read(directory + "/shard-000002.dts")
        Fixtures.write(Array(bytes.dropLast(100)), to: directory + "/shard-000002.dts")
        try FileManager.default.copyItem(atPath: directory + "/shard-000000.dts", toPath: directory + "/shard-000009.dts")
        #expect(throws: ShardError.shardMissing(path: directory + "/shard-000001.dts")) { try ShardDataset(directory: directory) }
        let report = DatasetVerifier.verify(directory: directory)
        #expect(report.lines == [
            "shard-000001.dts: listed in index.json but missing",
            "shard-000002.dts: disagrees with index.json: \(bytes.count - 100) bytes, index.json says \(bytes.count)",
            "shard-000002.dts: truncated or never finalised: no valid trailer at the end of its \(bytes.count - 100) bytes",
            "shard-000009.dts: not listed in index.json (sealed by a writer that did not commit it; resume the writer to remove it)",
        ])
        #expect(report.intactTiles == 10)
    }

    @Test func indexThatDisagreesWithAShardIsNamed() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        try makeDataset(directory)
        var index = try ShardDataset(directory: directory).index
        index.shards[1].fileCRC32 ^= 1
        index.shards[2].sources[0].id = "renamed"
        DatasetWriter.writeIndexForTests(index, directory: directory)
        let lines = DatasetVerifier.verify(directory: directory).lines
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("shard-000001.dts: disagrees with index.json: file checksum 0x"))
        #expect(lines[1].hasPrefix("shard-000002.dts: disagrees with index.json: sources ["))
        #expect(lines[2] == "shard-000002.dts: disagrees with index.json: holds 10 tiles of source 'renamed', which is not completed (an interrupted write: resume the writer)")
    }

    @Test func inspectionSummarisesShards() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        try makeDataset(directory, tiles: 30, maxTiles: 10)
        let inspection = try DatasetInspection(directory: directory)
        #expect(inspection.shards.map(\.file) == ["shard-000000.dts", "shard-000001.dts", "shard-000002.dts"])
        #expect(inspection.tiles == 30 && inspection.slides == 2 && inspection.completedSources == 2)
        #expect(inspection.rawBytes == Int64(30 * geometry.rawBytes))
        #expect(inspection.shards[1].slides == [SourceCount(id: "TCGA-CR-7395.01", tiles: 5), SourceCount(id: "µ-slide", tiles: 5)])
        #expect(inspection.shards[0].mppMin == 0.25 && inspection.shards[0].mppMax == 0.75)
        #expect(inspection.shards.allSatisfy { $0.width == 16 && $0.height == 16 && $0.error == nil && $0.ratio > 0 })
        #expect(inspection.isReadable)
        let json = try JSONEncoder().encode(inspection)
        #expect(try JSONDecoder().decode(DatasetInspection.self, from: json) == inspection)
        // A damaged shard is reported in its row, the others still inspected.
        Fixtures.flipByte(directory + "/shard-000001.dts", at: Fixtures.read(directory + "/shard-000001.dts").count - 40)
        let damaged = try DatasetInspection(directory: directory)
        #expect(damaged.shards[1].error != nil && damaged.shards[0].error == nil && !damaged.isReadable)
    }

    @Test func indexValidation() throws {
        var index = DatasetIndex(geometry: geometry)
        let entry = ShardEntry(file: "shard-000000.dts", tiles: 2, rawBytes: Int64(2 * geometry.rawBytes), storedBytes: 10,
                               fileBytes: 200, fileCRC32: 1, geometry: geometry, zstdLevel: 3, dictionaryID: 0,
                               mppMin: 0.5, mppMax: 0.5, sources: [SourceCount(id: "a.b", tiles: 2)])
        index.shards = [entry]
        index.recomputeTotals()
        #expect(try DatasetIndex.decode(index.encoded(), path: "i") == index)
        func rejects(_ edit: (inout DatasetIndex) -> Void) {
            var copy = index
            edit(&copy)
            #expect(throws: ShardError.self) { try DatasetIndex.decode(copy.encoded(), path: "i") }
        }
        rejects { $0.version = 2 }
        rejects { $0.format = "mds" }
        rejects { $0.tiles = 3 }
        rejects { $0.shards[0].file = "../etc/passwd" }
        rejects { $0.shards.append($0.shards[0]); $0.recomputeTotals() }
        rejects { $0.shards[0].geometry = TileGeometry(size: 8) }
        rejects { $0.shards[0].sources[0].tiles = 1 }
        let text = String(decoding: index.encoded(), as: UTF8.self)
        #expect(text.contains("\"completed_sources\"") && text.contains("\"file_crc32\"") && text.contains("\"dtype\" : \"uint8\""))
    }
}

extension DatasetWriter {
    /// Writes an index.json as the writer would (tests only).
    static func writeIndexForTests(_ index: DatasetIndex, directory: String) {
        try? writeIndex(index, directory: directory)
    }
}
