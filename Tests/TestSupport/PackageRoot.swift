import Foundation

/// Where the tests find the package's committed files (fixtures, configs, graphs) and the shared real data
/// beside it (`../shared`, read in place, never copied), whatever folder they run from.
public enum PackageRoot {
    /// The package root: the nearest folder above this file that holds `Package.swift`.
    public static let url: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            let parent = directory.deletingLastPathComponent()
            precondition(parent.path != directory.path, "no Package.swift above \(#filePath)")
            directory = parent
        }
        return directory
    }()

    /// `../shared` beside the package root.
    public static let shared = url.deletingLastPathComponent().appendingPathComponent("shared")

    /// The path of `relative` (e.g. `Tests/Fixtures/vit/x.safetensors`, `../shared/data/slides`) under the root,
    /// with `..` resolved.
    public static func path(_ relative: String) -> String { url.appendingPathComponent(relative).standardized.path }
}
