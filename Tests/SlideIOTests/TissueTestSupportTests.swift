import COpenSlide
import Foundation
import ImageOps
import Testing

@testable import SlideIO
import TestSupport

/// Shared helpers for the tissue, tile-grid and QC tests (no tests here).
enum TissueTestData {
    /// `../shared/data` next to the package root.
    static let sharedData: URL = PackageRoot.shared.appendingPathComponent("data")

    /// The histolab tissue-vs-background tiles.
    static let histolabDirectory = sharedData.appendingPathComponent("tiles/histolab-tissue-vs-background")

    /// One row of `labels.csv`.
    struct HistolabTile: Sendable {
        let file: String
        let isTissue: Bool
        let hasPen: Bool
    }

    /// The 25 labelled histolab tiles.
    static func histolabTiles() throws -> [HistolabTile] {
        let text = try String(contentsOf: histolabDirectory.appendingPathComponent("labels.csv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return HistolabTile(file: fields[0], isTissue: fields[1] == "tissue", hasPen: fields[2] == "yes")
        }
    }

    /// A fresh empty directory under the system temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("slideio-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// An image filled with `background` with rectangles `(x, y, w, h, colour)` painted in order.
    static func canvas(width: Int, height: Int, background: (UInt8, UInt8, UInt8),
                       rectangles: [(Int, Int, Int, Int, (UInt8, UInt8, UInt8))] = []) -> RGBImage {
        var image = RGBImage(width: width, height: height, fill: (background.0, background.1, background.2))
        for (x0, y0, w, h, colour) in rectangles {
            for y in max(0, y0) ..< min(height, y0 + h) {
                for x in max(0, x0) ..< min(width, x0 + w) {
                    let offset = image.offset(x: x, y: y)
                    image.pixels[offset] = colour.0
                    image.pixels[offset + 1] = colour.1
                    image.pixels[offset + 2] = colour.2
                }
            }
        }
        return image
    }

    /// Deterministic pseudo-random noise in −amplitude…amplitude added to every channel (SplitMix64).
    static func addNoise(_ image: inout RGBImage, amplitude: Int, seed: UInt64) {
        var state = seed
        for index in image.pixels.indices {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let delta = Int(z % UInt64(2 * amplitude + 1)) - amplitude
            image.pixels[index] = UInt8(min(255, max(0, Int(image.pixels[index]) + delta)))
        }
    }

    /// A real slide image read straight through OpenSlide's C API (not through `Slide`, which is tested on its
    /// own): level `level` whole, or the associated image `associated`, premultiplied ARGB composited onto white.
    /// Returns the image and its level-0 frame (per-axis scale from the level-0 and image sizes).
    static func openSlideImage(_ relativePath: String, level: Int32? = nil, associated: String? = nil) throws
        -> (image: RGBImage, frame: ThumbnailFrame) {
        let path = sharedData.appendingPathComponent(relativePath).path
        guard let slide = openslide_open(path) else { throw SlideFixtureError(path: path, reason: "cannot open") }
        defer { openslide_close(slide) }
        if let error = openslide_get_error(slide) { throw SlideFixtureError(path: path, reason: String(cString: error)) }
        var level0Width: Int64 = 0
        var level0Height: Int64 = 0
        openslide_get_level_dimensions(slide, 0, &level0Width, &level0Height)
        var width: Int64 = 0
        var height: Int64 = 0
        var argb: [UInt32]
        if let associated {
            openslide_get_associated_image_dimensions(slide, associated, &width, &height)
            argb = [UInt32](repeating: 0, count: Int(width * height))
            openslide_read_associated_image(slide, associated, &argb)
        } else {
            openslide_get_level_dimensions(slide, level ?? 0, &width, &height)
            argb = [UInt32](repeating: 0, count: Int(width * height))
            openslide_read_region(slide, &argb, 0, 0, level ?? 0, width, height)
        }
        if let error = openslide_get_error(slide) { throw SlideFixtureError(path: path, reason: String(cString: error)) }
        var pixels = [UInt8](repeating: 0, count: argb.count * 3)
        for (index, pixel) in argb.enumerated() {
            let transparent = 255 - Int(pixel >> 24)  // premultiplied: over white, c + (255 − a)
            pixels[index * 3] = UInt8(min(255, Int((pixel >> 16) & 0xFF) + transparent))
            pixels[index * 3 + 1] = UInt8(min(255, Int((pixel >> 8) & 0xFF) + transparent))
            pixels[index * 3 + 2] = UInt8(min(255, Int(pixel & 0xFF) + transparent))
        }
        let image = RGBImage(width: Int(width), height: Int(height), pixels: pixels)
        let frame = ThumbnailFrame(regionWidth: Int(level0Width), regionHeight: Int(level0Height),
                                   thumbnailWidth: Int(width), thumbnailHeight: Int(height))
        return (image, frame)
    }

    struct SlideFixtureError: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "\(path): \(reason)" }
    }
}
