import Foundation
import Testing
@testable import TileShards

/// Writes datasets for the Python reader check (tools/python/check_reader.py) to the folder named by
/// `DISTILL_SHARDS_EXPORT_DIR`; skipped when it is unset. CI:
///
///     DISTILL_SHARDS_EXPORT_DIR=$DIR swift test -c release -Xswiftc -enable-testing --filter PythonExportTests
///     python3 tools/python/check_reader.py $DIR/plain $DIR/dictionary --reference $DIR/reference
///     python3 tools/python/check_reader.py $DIR/corrupt --reference $DIR/reference --expect-corrupt shard-000001.dts:17
///
/// Layout: `plain/` and `dictionary/` (the same 120 tiles: crops of the real H&E tile, 3 slides with
/// TCGA-style and non-ASCII ids, 50 tiles per shard; `dictionary/` with a trained zstd dictionary),
/// `corrupt/` (a copy of `plain/` with one byte of tile 17 of shard-000001.dts flipped), and
/// `reference/`: `tiles.rgb` (every tile's pixels, in dataset order, written straight from the source
/// tiles, not from the shards) and `tiles.jsonl` (one JSON object per tile: slide_id, x, y, mpp,
/// tissue_fraction, crc32 of the pixels).
@Suite struct PythonExportTests {
    static let exportDirectory = ProcessInfo.processInfo.environment["DISTILL_SHARDS_EXPORT_DIR"]

    @Test(.enabled(if: exportDirectory != nil, "set DISTILL_SHARDS_EXPORT_DIR to write the Python check datasets"))
    func exportDatasetsForThePythonReader() throws {
        let root = try #require(Self.exportDirectory)
        let geometry = TileGeometry(size: 224)
        let count = 120
        let tiles = Fixtures.tiles(count, geometry: geometry)
        let slides = ["TCGA-A7-A0CD-01Z-00-DX2.609CED8D-5947-4753-A75B-73A8343B47EC", "CMU-1-Small-Region.svs", "Präparat 7.µ"]
        var metadata: [TileMetadata] = []
        for i in 0..<count {
            let x: Int64 = Int64(i % 10) * 448 + 1
            let y: Int64 = Int64(i / 10) * 448 - 3
            let mpp: Double = 0.499 + Double(i) * 1e-6
            let tissue: Float = Float(i % 11) / 10
            metadata.append(TileMetadata(slideID: slides[i * slides.count / count], x: x, y: y, mpp: mpp, tissueFraction: tissue))
        }
        for name in ["plain", "dictionary", "corrupt", "reference"] { Fixtures.remove(root + "/" + name) }
        try FileManager.default.createDirectory(atPath: root + "/reference", withIntermediateDirectories: true)

        // The reference, straight from the source tiles.
        Fixtures.write(tiles.flatMap { $0 }, to: root + "/reference/tiles.rgb")
        var lines = ""
        for (pixels, meta) in zip(tiles, metadata) {
            let object: [String: Any] = ["slide_id": meta.slideID, "x": meta.x, "y": meta.y, "mpp": meta.mpp,
                                         "tissue_fraction": Double(meta.tissueFraction), "crc32": CRC32.checksum(of: pixels)]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            lines += String(decoding: data, as: UTF8.self) + "\n"
        }
        Fixtures.write(Array(lines.utf8), to: root + "/reference/tiles.jsonl")
        let geometryJSON = "{\"width\": \(geometry.width), \"height\": \(geometry.height), \"count\": \(count)}\n"
        Fixtures.write(Array(geometryJSON.utf8), to: root + "/reference/geometry.json")

        let dictionary = try ShardDictionary.train(samples: Array(tiles.prefix(60)), capacity: 65_536)
        for (name, compression) in [("plain", ShardCompression()), ("dictionary", ShardCompression(dictionary: dictionary))] {
            let writer = try DatasetWriter(directory: root + "/" + name, options: .init(
                geometry: geometry, compression: compression, maxTilesPerShard: 50))
            for (i, (pixels, meta)) in zip(tiles, metadata).enumerated() {
                try writer.append(pixels, metadata: meta)
                if i + 1 == count || metadata[i + 1].slideID != meta.slideID { try writer.finishSource(meta.slideID) }
            }
            let index = try writer.finish()
            #expect(index.tiles == count)
            #expect(DatasetVerifier.verify(directory: root + "/" + name).isIntact)
        }
        try FileManager.default.copyItem(atPath: root + "/plain", toPath: root + "/corrupt")
        let shard = root + "/corrupt/shard-000001.dts"
        let entry = try ShardReader(path: shard).footer.entries[17]
        Fixtures.flipByte(shard, at: Int(entry.offset) + entry.storedSize / 2)
        #expect(DatasetVerifier.verify(directory: root + "/corrupt").lines == ["shard-000001.dts: tile 17: stored frame checksum mismatch"])
    }
}
