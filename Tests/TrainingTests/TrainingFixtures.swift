import Compute
import Foundation
import ImageOps
@testable import Models
import Training
import TestSupport

/// The committed training fixtures (`Tests/Fixtures/training`, made by tools/fixtures/make_training_fixtures.py),
/// the model configs, the real tile the crops are cut from (read in place from ../shared/data), and the
/// upstream gradients the script draws from SplitMix64.
enum TrainingFixtures {
    /// The package root.
    static let root: URL = PackageRoot.url

    static func fixture(_ name: String) -> String { root.appendingPathComponent("Tests/Fixtures/training/\(name)").path }
    static func config(_ name: String) throws -> ViTConfig { try ViTConfig.load(path: root.appendingPathComponent("configs/models/\(name).yaml").path) }

    /// `TILE`, `CROPS_224`, `CROPS_98` of tools/fixtures/make_vit_fixtures.py.
    static let tilePath = root.appendingPathComponent("../shared/data/tiles/single/tiatoolbox-target_image-1000.png").standardized.path
    static let crops224 = [(0, 0), (517, 389)]
    static let crops98 = [(130, 610), (871, 45)]
    /// `SEEDS` of the script.
    static let seeds: [String: UInt64] = ["dino": 11, "ibot": 12, "global": 13, "local": 14]

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

    /// `count` float32 values of SplitMix64's `symmetric()` (`2·u − 1`, u = 53 random bits), as the script draws them.
    static func upstream(seed: UInt64, count: Int) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(2 * (Double(generator.next() >> 11) * 0x1p-53) - 1) }
    }

    /// The values of every parameter of `layout` named `prefix + name` in `file`, as one flat tensor.
    static func flat(_ file: SafetensorsFile, names: [(name: String, count: Int)], prefix: String = "") throws -> Tensor {
        let flat = Tensor(shape: [names.reduce(0) { $0 + $1.count }])
        var offset = 0
        for (name, count) in names {
            let values = try file.tensor(prefix + name).scalars()
            precondition(values.count == count, "\(prefix + name): \(values.count) values, expected \(count)")
            (flat.floats + offset).update(from: values, count: count)
            offset += count
        }
        return flat
    }
}
