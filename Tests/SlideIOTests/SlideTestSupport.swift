import COpenSlide
import Foundation
import ImageOps
@testable import SlideIO
import TestSupport

/// Paths of the shared real slides (`../shared/data/slides`, read-only) and the committed synthetic
/// fixtures (`Tests/Fixtures/slides`, made by `tools/fixtures/make_slide_fixtures.py`).
enum SlidePaths {
    /// The package root.
    static let packageRoot: String = PackageRoot.url.path

    /// `../shared/data/slides` next to the package root.
    static let shared: String = URL(fileURLWithPath: packageRoot)
        .appendingPathComponent("../shared/data/slides").standardizedFileURL.path

    /// A shared slide by its path under `slides/`.
    static func real(_ relative: String) -> String { shared + "/" + relative }

    /// A committed synthetic fixture by name.
    static func fixture(_ name: String) -> String { packageRoot + "/Tests/Fixtures/slides/" + name }

    static let cmu = real("aperio/CMU-1-Small-Region.svs")
    static let tcga = real("aperio/tcga-cr-7395-01a-01-ts1.svs")
    static let small16 = real("aperio/osp-small-16x16.svs")
    static let boxes = real("generic-tiff/osp-boxes.tiff")
    static let ndpi = real("hamamatsu/stritt-test3-DAPI-2-387.ndpi")
    static let dicomDirectory = real("dicom/osp-boxes")
    static let unreadable = real("bad-input/osp-unreadable.svs")
    static let unopenable = real("bad-input/osp-unopenable.tiff")
    static let broken = real("bad-input/histolab-broken.svs")
    static let czi = real("bad-input/aics-tiles-zstack.czi")
}

/// Reads a region straight from OpenSlide and composites it, independently of `Slide` and
/// `PremultipliedARGB`: un-premultiplied "over" in floating point, `c + round(bg × (255 − a) / 255)`.
enum DirectOpenSlide {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func read(path: String, x: Int64, y: Int64, level: Int32, width: Int, height: Int,
                     background: (Double, Double, Double) = (255, 255, 255)) throws -> RGBImage {
        guard let osr = openslide_open(path) else { throw Failure(description: "openslide_open returned NULL") }
        defer { openslide_close(osr) }
        if let error = openslide_get_error(osr) { throw Failure(description: String(cString: error)) }
        var argb = [UInt32](repeating: 0, count: width * height)
        openslide_read_region(osr, &argb, x, y, level, Int64(width), Int64(height))
        if let error = openslide_get_error(osr) { throw Failure(description: String(cString: error)) }
        var pixels = [UInt8]()
        pixels.reserveCapacity(width * height * 3)
        for value in argb {
            let a = Double((value >> 24) & 0xFF)
            let channels = [Double((value >> 16) & 0xFF), Double((value >> 8) & 0xFF), Double(value & 0xFF)]
            let backgrounds = [background.0, background.1, background.2]
            for (c, bg) in zip(channels, backgrounds) {
                pixels.append(UInt8(min(255, c + (bg * (255 - a) / 255).rounded())))
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

/// FNV-1a, 64-bit, over an image's size and pixels.
func pixelHash(_ image: RGBImage) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ byte: UInt8) {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    for value in [image.width, image.height] { for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: value >> shift)) } }
    for byte in image.pixels { mix(byte) }
    return hash
}

/// Mean absolute difference per channel between two images of the same size.
func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
    precondition(a.width == b.width && a.height == b.height)
    var total = 0
    for index in a.pixels.indices { total += abs(Int(a.pixels[index]) - Int(b.pixels[index])) }
    return Double(total) / Double(max(1, a.pixels.count))
}

/// The error a throwing expression throws, as a `SlideError` (nil if it does not throw or throws another type).
func slideError<T>(_ body: () throws -> T) -> SlideError? {
    do {
        _ = try body()
        return nil
    } catch let error as SlideError {
        return error
    } catch {
        return nil
    }
}
