import Compute
import Foundation
import ImageOps
@testable import Models
import TestSupport

/// Paths of the committed ViT fixtures (`Tests/Fixtures/vit`, made by tools/fixtures/make_vit_fixtures.py),
/// the model configs, and the real tile they were computed on (read in place from ../shared/data).
enum ModelFixtures {
    /// The package root.
    static let root: URL = PackageRoot.url

    static func fixture(_ name: String) -> String { root.appendingPathComponent("Tests/Fixtures/vit/\(name)").path }
    static func config(_ name: String) throws -> ViTConfig { try ViTConfig.load(path: root.appendingPathComponent("configs/models/\(name).yaml").path) }

    /// The tile the fixtures' inputs were cut from (`TILE` in the script).
    static let tilePath = root.appendingPathComponent("../shared/data/tiles/single/tiatoolbox-target_image-1000.png").standardized.path
    /// Crop origins (x, y), as in the script.
    static let crops224 = [(0, 0), (517, 389)]
    static let crops98 = [(130, 610), (871, 45)]

    /// The crops of the tile as RGB8 `[B, size, size, 3]`.
    static func pixels(size: Int, origins: [(Int, Int)]) throws -> [UInt8] {
        let tile = try PNGImage.read(path: tilePath)
        var pixels: [UInt8] = []
        for (x, y) in origins {
            for row in y..<(y + size) {
                let start = tile.offset(x: x, y: row)
                pixels.append(contentsOf: tile.pixels[start..<(start + size * 3)])
            }
        }
        return pixels
    }

    /// Largest absolute difference.
    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
