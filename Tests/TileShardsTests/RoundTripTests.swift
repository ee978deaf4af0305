import Foundation
import Testing
@testable import TileShards

/// Pixels and metadata come back exactly, by random access and in order (docs/formats/tile-shards.md §2).
@Suite struct RoundTripTests {
    let geometry = TileGeometry(size: 64)

    @Test func crc32MatchesZlibKnownAnswer() {
        #expect(CRC32.checksum(of: Array("123456789".utf8)) == 0xCBF4_3926)
        let a = Array("hello ".utf8), b = Array("world".utf8)
        #expect(crc32Combine(CRC32.checksum(of: a), CRC32.checksum(of: b), b.count) == CRC32.checksum(of: a + b))
    }

    /// S4: slide ids with periods, spaces, slashes and non-ASCII characters round-trip exactly.
    @Test func pixelsAndMetadataRoundTrip() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let path = directory + "/shard-000000.dts"
        let tiles = Fixtures.tiles(12, geometry: geometry)
        let ids = Fixtures.awkwardSlideIDs
        var metadata: [TileMetadata] = []
        for i in 0..<12 {
            let x: Int64 = Int64(i) * 1_000_003 - 5
            let y: Int64 = Int64.max / 2 - Int64(i) * 7
            let mpp: Double = 0.499 + Double(i) * 1e-9
            metadata.append(TileMetadata(slideID: ids[i % ids.count], x: x, y: y, mpp: mpp, tissueFraction: Float(i) / 11))
        }
        let entry = try Fixtures.writeShard(path, geometry: geometry, tiles: tiles, metadata: metadata)
        #expect(entry.tiles == 12)
        #expect(entry.rawBytes == Int64(12 * geometry.rawBytes))
        #expect(entry.fileBytes == Int64(Fixtures.read(path).count))
        #expect(entry.fileCRC32 == CRC32.checksum(of: Fixtures.read(path)))
        #expect(entry.sources.map(\.id) == ids)
        #expect(entry.sources.map(\.tiles) == [2, 2, 2, 2, 2, 2])
        #expect(entry.mppMin == 0.499 && entry.mppMax == 0.499 + 11e-9)

        let reader = try ShardReader(path: path)
        #expect(reader.count == 12)
        #expect(reader.geometry == geometry)
        #expect(reader.slideIDs == ids)
        for i in 0..<12 {
            let tile = try reader.tile(at: i)
            #expect(tile.pixels == tiles[i])
            #expect(tile.metadata == metadata[i])
        }
        #expect(reader.verify().isEmpty)
        #expect(try reader.fileChecksum() == entry.fileCRC32)
        #expect(try reader.mismatch(with: entry) == nil)
        // No temporary file is left behind.
        #expect(Fixtures.files(directory) == ["shard-000000.dts"])
    }

    @Test func randomAccessEqualsSequential() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let path = directory + "/shard-000000.dts"
        let tiles = Fixtures.tiles(40, geometry: geometry)
        let metadata = (0..<40).map { Fixtures.metadata("slide-\($0 % 3)", Int64($0) * 64) }
        try Fixtures.writeShard(path, geometry: geometry, tiles: tiles, metadata: metadata)

        let reader = try ShardReader(path: path)
        var sequential: [Tile] = []
        var iterator = reader.makeTileIterator()
        while let tile = try iterator.next() { sequential.append(tile) }
        #expect(sequential.count == 40)
        #expect(try iterator.next() == nil)
        var generator = SplitMix64(seed: 7)
        for _ in 0..<100 {
            let i = Int(generator.next() % 40)
            #expect(try reader.tile(at: i) == sequential[i])
        }
        #expect(sequential.map(\.pixels) == tiles)
        // A tiny read-ahead window (one frame at a time) gives the same tiles.
        reader.checksumsOnRead = true
        #expect(try (0..<40).map { try reader.tile(at: $0) } == sequential)
        #expect(throws: ShardError.tileIndexOutOfRange(path: path, index: 40, count: 40)) { try reader.tile(at: 40) }
        #expect(throws: ShardError.tileIndexOutOfRange(path: path, index: -1, count: 40)) { try reader.metadata(at: -1) }
    }

    /// Non-square tiles, 1×1 tiles, flat (compressible) and noisy tiles, every literal policy and levels.
    @Test(arguments: [
        (TileGeometry(width: 37, height: 5), ShardCompression(level: 1, minimumEntropySaving: 0)),
        (TileGeometry(width: 1, height: 1), ShardCompression(level: 19, minimumEntropySaving: 1)),
        (TileGeometry(width: 96, height: 80), ShardCompression(level: -5)),
        (TileGeometry(width: 224, height: 224), ShardCompression()),
    ])
    func geometriesAndCompressionSettingsRoundTrip(geometry: TileGeometry, compression: ShardCompression) throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let path = directory + "/shard-000000.dts"
        var tiles = Fixtures.tiles(6, geometry: geometry)
        tiles.append(Fixtures.flatTile(geometry, value: 238))
        tiles.append(Fixtures.syntheticTile(geometry, seed: 99))
        let metadata = tiles.indices.map { Fixtures.metadata("s", Int64($0)) }
        let entry = try Fixtures.writeShard(path, geometry: geometry, tiles: tiles, metadata: metadata, compression: compression)
        let reader = try ShardReader(path: path)
        #expect(reader.zstdLevel == compression.level)
        #expect(try (0..<tiles.count).map { try reader.tile(at: $0).pixels } == tiles)
        #expect(reader.verify().isEmpty)
        #expect(entry.storedBytes == reader.storedBytes)
    }

    /// The literal policy: noisy tissue is stored with raw literals (fast to decode), flat tiles are
    /// entropy-coded; both are plain zstd frames.
    @Test func literalPolicyFollowsEntropy() {
        let flat = Fixtures.flatTile(geometry, value: 240)
        let noisy = (0..<geometry.rawBytes).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        flat.withUnsafeBytes { #expect(ZstdEncoder.promisedSaving($0) > 0.99) }
        noisy.withUnsafeBytes { #expect(ZstdEncoder.promisedSaving($0) < 0.05) }
        if let real = Fixtures.realTile {
            // The real H&E tile: order-0 entropy ≈ 7.67 bits/byte, so about 4 % promised.
            real.withUnsafeBytes { #expect(ZstdEncoder.promisedSaving($0) < 0.10) }
        }
    }

    @Test func dictionaryRoundTrip() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let small = TileGeometry(size: 32)
        let samples = Fixtures.tiles(200, geometry: small)
        let dictionary = try ShardDictionary.train(samples: samples, capacity: 16_384)
        #expect(dictionary.id != 0)
        #expect(dictionary.bytes.count <= 16_384)
        #expect(try ShardDictionary(bytes: dictionary.bytes) == dictionary)

        let path = directory + "/shard-000000.dts"
        let tiles = Array(samples.prefix(30))
        let metadata = tiles.indices.map { Fixtures.metadata("TCGA.\($0 % 2)", Int64($0)) }
        let compression = ShardCompression(dictionary: dictionary, minimumEntropySaving: 0)
        let entry = try Fixtures.writeShard(path, geometry: small, tiles: tiles, metadata: metadata, compression: compression)
        #expect(entry.dictionaryID == dictionary.id)
        let reader = try ShardReader(path: path)
        #expect(reader.dictionaryID == dictionary.id)
        #expect(try (0..<30).map { try reader.tile(at: $0).pixels } == tiles)
        #expect(reader.verify().isEmpty)

        // The same tiles without the dictionary are larger (small tiles are where a dictionary helps).
        let plain = try Fixtures.writeShard(directory + "/shard-000001.dts", geometry: small, tiles: tiles, metadata: metadata,
                                            compression: ShardCompression(minimumEntropySaving: 0))
        #expect(entry.storedBytes < plain.storedBytes)
    }

    @Test func dictionaryErrors() {
        #expect(throws: ShardError.self) { try ShardDictionary(bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9]) }
        #expect(throws: ShardError.self) { try ShardDictionary.train(samples: [[1, 2, 3]]) }
    }

    @Test func writerRejectsBadInput() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let path = directory + "/shard-000000.dts"
        #expect(throws: ShardError.self) { try ShardWriter(path: path, geometry: TileGeometry(width: 0, height: 5)) }
        #expect(throws: ShardError.self) { try ShardWriter(path: path, geometry: TileGeometry(width: 40_000, height: 40_000)) }
        #expect(throws: ShardError.self) { try ShardWriter(path: path, geometry: geometry, compression: ShardCompression(level: 99)) }
        let writer = try ShardWriter(path: path, geometry: geometry)
        let tile = Fixtures.flatTile(geometry, value: 1)
        #expect(throws: ShardError.self) { try writer.append(Array(tile.dropLast()), metadata: Fixtures.metadata("a", 0)) }
        #expect(throws: ShardError.self) { try writer.append(tile, metadata: Fixtures.metadata("a", 0, mpp: 0)) }
        #expect(throws: ShardError.self) { try writer.append(tile, metadata: Fixtures.metadata("a", 0, mpp: .nan)) }
        #expect(throws: ShardError.self) { try writer.append(tile, metadata: Fixtures.metadata("a", 0, tissue: 1.5)) }
        #expect(throws: ShardError.self) {
            try writer.append(tile, metadata: Fixtures.metadata(String(repeating: "x", count: 70_000), 0))
        }
        // Rejected tiles wrote nothing; the writer still works.
        try writer.append(tile, metadata: Fixtures.metadata("a", 0))
        #expect(writer.tileCount == 1)
        try writer.finish()
        #expect(throws: ShardError.writerClosed(path: path)) { try writer.finish() }
        #expect(try ShardReader(path: path).count == 1)
    }

    @Test func abandonedWriterLeavesNothing() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        do {
            let writer = try ShardWriter(path: directory + "/shard-000000.dts", geometry: geometry)
            try writer.append(Fixtures.flatTile(geometry, value: 3), metadata: Fixtures.metadata("a", 0))
            #expect(Fixtures.files(directory).count == 1)
            #expect(Fixtures.files(directory)[0].hasPrefix("shard-000000.dts.tmp-"))
        }
        #expect(Fixtures.files(directory).isEmpty)
    }

    @Test func emptyShardIsValid() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let entry = try ShardWriter(path: directory + "/shard-000000.dts", geometry: geometry).finish()
        #expect(entry.tiles == 0 && entry.sources.isEmpty && entry.mppMin == 0)
        let reader = try ShardReader(path: directory + "/shard-000000.dts")
        #expect(reader.count == 0)
        #expect(reader.verify().isEmpty)
        var iterator = reader.makeTileIterator()
        #expect(try iterator.next() == nil)
    }

    @Test func fileNames() {
        #expect(ShardFormat.shardFileName(3) == "shard-000003.dts")
        #expect(ShardFormat.shardFileName(1_234_567) == "shard-1234567.dts")
        #expect(ShardFormat.shardNumber(fileName: "shard-000042.dts") == 42)
        #expect(ShardFormat.shardNumber(fileName: "shard-42.dts") == nil)
        #expect(ShardFormat.shardNumber(fileName: "shard-000042.dts.tmp-7") == nil)
        #expect(ShardFormat.parseTemporaryName("shard-000042.dts.tmp-7")?.finalName == "shard-000042.dts")
        #expect(ShardFormat.parseTemporaryName("shard-000042.dts.tmp-7")?.pid == 7)
        #expect(ShardFormat.parseTemporaryName("index.json") == nil)
        #expect(ShardFormat.parseTemporaryName("notes.tmp-") == nil)
    }
}
