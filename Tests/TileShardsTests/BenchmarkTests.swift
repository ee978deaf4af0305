import Foundation
import Testing
@testable import TileShards

/// The shard benchmark runs and reports consistent figures; with `DISTILL_SHARDS_BENCH=1` it measures
/// 224 px tiles of real H&E content at full size and prints the report (a measurement, never a pass/fail
/// threshold: DESIGN.md §5).
@Suite struct BenchmarkTests {
    @Test func smallRunIsConsistent() throws {
        let geometry = TileGeometry(size: 32)
        let report = try ShardBenchmark.run(sourceTiles: Fixtures.tiles(16, geometry: geometry), geometry: geometry,
                                            options: .init(tiles: 100, maxTilesPerShard: 40, readPasses: 1, randomReads: 50))
        #expect(report.tiles == 100 && report.shards == 3)
        #expect(report.rawBytes == Int64(100 * geometry.rawBytes))
        #expect(report.sequentialGigabytesPerSecond > 0 && report.randomGigabytesPerSecond > 0)
        #expect(report.writeMegabytesPerSecond > 0 && report.verifyGigabytesPerSecond > 0 && report.ratio > 0)
    }

    @Test func realContentTilesAreDistinctCrops() throws {
        let image = try #require(Fixtures.realTile)
        let tiles = ShardBenchmark.realContentTiles(from: image, width: 240, height: 240, tile: TileGeometry(size: 224), count: 16)
        #expect(tiles.count == 16 && tiles.allSatisfy { $0.count == 224 * 224 * 3 })
        #expect(Set(tiles).count == 16)
        // Crop 0 (no flip) at its offset is the image's own pixels.
        #expect(ShardBenchmark.realContentTiles(from: image, width: 240, height: 240, tile: TileGeometry(size: 240), count: 1)[0] == image)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DISTILL_SHARDS_BENCH"] != nil, "set DISTILL_SHARDS_BENCH=1"))
    func measureRealContent() throws {
        let geometry = TileGeometry(size: 224)
        let sources = Fixtures.tiles(64, geometry: geometry)
        for (name, compression) in [("level 3, literal policy (default)", ShardCompression()),
                                    ("level 3, always entropy-coded", ShardCompression(minimumEntropySaving: 0)),
                                    ("level 1, literal policy", ShardCompression(level: 1))] {
            let report = try ShardBenchmark.run(sourceTiles: sources, geometry: geometry,
                                                options: .init(tiles: 2_000, compression: compression, maxTilesPerShard: 500))
            let data = try JSONEncoder().encode(report)
            print("shard benchmark (\(name), real H&E content: \(Fixtures.realTile != nil)): \(String(decoding: data, as: UTF8.self))")
        }
    }
}
