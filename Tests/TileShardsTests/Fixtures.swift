import Foundation
@testable import TileShards
import TestSupport

/// Shared helpers of the TileShards tests: temporary folders, tiles of real content, byte surgery.
enum Fixtures {
    /// The package root.
    static let packageRoot: String = PackageRoot.url.path

    /// 240×240 raw RGB8 of a real H&E tile (wsidicom test data; 172,800 bytes, pixels only: identical
    /// to the decoded `reference_test_tile.png`), from ../shared/data.
    static let realTilePath = packageRoot + "/../shared/data/paired/wsidicom-data-codec-variants/Explicit_VR_Little_Endian-RGB-8.raw"

    /// The real tile's pixels, or nil when ../shared is absent.
    static let realTile: [UInt8]? = {
        guard let data = FileManager.default.contents(atPath: realTilePath), data.count == 240 * 240 * 3 else { return nil }
        return Array(data)
    }()

    /// `count` tiles of `geometry`: crops of the real H&E tile when available (any geometry up to
    /// 240×240), else a deterministic synthetic texture.
    static func tiles(_ count: Int, geometry: TileGeometry) -> [[UInt8]] {
        if let image = realTile, geometry.width <= 240, geometry.height <= 240 {
            return ShardBenchmark.realContentTiles(from: image, width: 240, height: 240, tile: geometry, count: count)
        }
        return (0..<count).map { syntheticTile(geometry, seed: UInt64($0)) }
    }

    /// A deterministic pink/purple texture with noise (stand-in for H&E when ../shared is absent).
    static func syntheticTile(_ geometry: TileGeometry, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed &+ 1)
        var out = [UInt8](repeating: 0, count: geometry.rawBytes)
        for y in 0..<geometry.height {
            for x in 0..<geometry.width {
                let noise = Int(generator.next() % 24)
                let wave = ((x * 7 + y * 3 + Int(seed) * 11) % 40)
                let i = (y * geometry.width + x) * 3
                out[i] = UInt8(clamping: 200 - wave + noise)
                out[i + 1] = UInt8(clamping: 120 + wave / 2 + noise)
                out[i + 2] = UInt8(clamping: 180 - wave / 3 + noise)
            }
        }
        return out
    }

    /// A flat-colour tile (highly compressible: exercises entropy-coded literals).
    static func flatTile(_ geometry: TileGeometry, value: UInt8) -> [UInt8] {
        [UInt8](repeating: value, count: geometry.rawBytes)
    }

    /// A new empty folder under the system temporary folder.
    static func temporaryDirectory(_ name: String = #function) -> String {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let path = NSTemporaryDirectory() + "tileshards-\(safe)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static func read(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

    static func write(_ bytes: [UInt8], to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    /// Flips all bits of byte `offset` of a file.
    static func flipByte(_ path: String, at offset: Int) {
        var bytes = read(path)
        bytes[offset] ^= 0xFF
        write(bytes, to: path)
    }

    static func files(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// Metadata with a slide id, position and fixed mpp/tissue.
    static func metadata(_ slide: String, _ x: Int64, _ y: Int64 = 0, mpp: Double = 0.5, tissue: Float = 0.75) -> TileMetadata {
        TileMetadata(slideID: slide, x: x, y: y, mpp: mpp, tissueFraction: tissue)
    }

    /// Writes one shard of `tiles` with the given metadata; returns its entry.
    @discardableResult
    static func writeShard(_ path: String, geometry: TileGeometry, tiles: [[UInt8]], metadata: [TileMetadata],
                           compression: ShardCompression = ShardCompression()) throws -> ShardEntry {
        let writer = try ShardWriter(path: path, geometry: geometry, compression: compression)
        for (pixels, meta) in zip(tiles, metadata) { try writer.append(pixels, metadata: meta) }
        return try writer.finish()
    }

    /// TCGA-style and other awkward slide ids (periods, spaces, non-ASCII, slashes): field case S4.
    static let awkwardSlideIDs = [
        "TCGA-A7-A0CD-01Z-00-DX2.609CED8D-5947-4753-A75B-73A8343B47EC",
        "TCGA-CR-7395-01A-01-TS1.4d5f1a8b-7c3e-4b9e-9a1f-2c6d8e0f1a2b.svs",
        "Präparat Nr. 7 — Zürich/Ω.µm",
        "病理切片.001",
        ".hidden..double.period.",
        "",
    ]
}
