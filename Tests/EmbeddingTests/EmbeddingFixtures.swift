import Foundation
import TestSupport

/// Paths of the package, its embedding fixtures (`Tests/Fixtures/embedding`, made by
/// tools/fixtures/make_embedding_fixtures.py) and `../shared` (read in place).
enum EmbeddingFixtures {
    /// The package root.
    static let root: URL = PackageRoot.url

    /// `../shared` beside the package.
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared")
    /// `../shared/data/tiles/single`: five real stained tiles of different sizes.
    static let singleTiles = shared.appendingPathComponent("data/tiles/single").path

    static func fixture(_ name: String) -> String { root.appendingPathComponent("Tests/Fixtures/embedding/\(name)").path }
    static func vitFixture(_ name: String) -> String { root.appendingPathComponent("Tests/Fixtures/vit/\(name)").path }
    static func config(_ name: String) -> String { root.appendingPathComponent("configs/models/\(name).yaml").path }

    /// A new empty temporary folder.
    static func temporaryFolder(_ label: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("embedding-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Largest absolute difference.
    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
