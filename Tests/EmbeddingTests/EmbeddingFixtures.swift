import Foundation

/// Paths of the package, its embedding fixtures (`Tests/Fixtures/embedding`, made by
/// tools/fixtures/make_embedding_fixtures.py) and `../shared` (read in place).
enum EmbeddingFixtures {
    /// The package root: the folder above this file that holds Package.swift.
    static let root: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            let parent = directory.deletingLastPathComponent()
            precondition(parent.path != directory.path, "no Package.swift above \(#filePath)")
            directory = parent
        }
        return directory
    }()

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
