import Foundation
import Testing

@testable import ImageOps
import TestSupport

/// The parity fixtures of `tools/fixtures/make_augment_fixtures.py` (Pillow + torchvision), committed in
/// `Tests/Fixtures/augment`, and the real tiles they were made from in `../shared/data/tiles`.
enum AugmentFixtures {
    /// The package root.
    static let packageRoot: URL = PackageRoot.url

    static let directory = packageRoot.appendingPathComponent("Tests/Fixtures/augment")
    static let tiles = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tiles")

    /// One fixed-parameter op of `cases.json`.
    struct Case: Decodable, CustomStringConvertible {
        let name: String
        let op: String
        let input: String
        /// PIL box: left, top, right, bottom.
        let box: [Int]
        let params: Parameters
        let output: String
        let width: Int
        let height: Int

        var description: String { name }

        var cropBox: CropBox { CropBox(top: box[1], left: box[0], height: box[3] - box[1], width: box[2] - box[0]) }
    }

    /// The union of every op's parameters (each op uses some).
    struct Parameters: Decodable {
        let width: Int?
        let height: Int?
        let factor: Double?
        let threshold: Int?
        let kernelSize: Int?
        let sigma: Double?
        let order: [Int]?
        let brightness: Double?
        let contrast: Double?
        let saturation: Double?
        let hue: Double?
        let size: Int?
        /// top, left, height, width
        let crop: [Int]?
        let flip: Bool?
        let jitter: Jitter?
        let grayscale: Bool?
        let blurSigma: Double?
        let solarize: Bool?

        enum CodingKeys: String, CodingKey {
            case width, height, factor, threshold, kernelSize = "kernel_size", sigma, order, brightness, contrast,
                 saturation, hue, size, crop, flip, jitter, grayscale, blurSigma = "blur_sigma", solarize
        }
    }

    struct Jitter: Decodable {
        let order: [Int]
        let brightness: Double
        let contrast: Double
        let saturation: Double
        let hue: Double

        var parameters: ColorJitterParameters {
            ColorJitterParameters(order: order.map { ColorJitterParameters.Operation(rawValue: $0)! },
                                  brightness: Float(brightness), contrast: Float(contrast),
                                  saturation: Float(saturation), hue: Float(hue))
        }
    }

    private struct File: Decodable { let cases: [Case] }

    static let cases: [Case] = {
        do {
            let data = try Data(contentsOf: directory.appendingPathComponent("cases.json"))
            return try JSONDecoder().decode(File.self, from: data).cases
        } catch {
            fatalError("cannot read \(directory.path)/cases.json: \(error)")
        }
    }()

    static func cases(op: String) -> [Case] { cases.filter { $0.op == op } }

    /// 128 × 128: R = 2x, G = 2y; B = an 8-px black/white checkerboard in the top half and (7x + 13y) mod 256 in
    /// the bottom half (`synthetic()` of the fixture script).
    static let synthetic: RGBImage = {
        var pixels = [UInt8](repeating: 0, count: 128 * 128 * 3)
        for y in 0..<128 {
            for x in 0..<128 {
                let index = (y * 128 + x) * 3
                pixels[index] = UInt8((x * 2) % 256)
                pixels[index + 1] = UInt8((y * 2) % 256)
                let checker: UInt8 = ((x >> 3) + (y >> 3)) & 1 == 1 ? 255 : 0
                pixels[index + 2] = y < 64 ? checker : UInt8((7 * x + 13 * y) % 256)
            }
        }
        return RGBImage(width: 128, height: 128, pixels: pixels)
    }()

    /// The case's input: its tile (or the synthetic image), cropped to its box.
    static func input(_ fixture: Case) throws -> RGBImage {
        try source(fixture).cropped(to: fixture.cropBox)
    }

    /// The case's whole tile (or the synthetic image).
    static func source(_ fixture: Case) throws -> RGBImage {
        fixture.input == "synthetic" ? synthetic : try PNGImage.read(path: tiles.appendingPathComponent(fixture.input).path)
    }

    static func expected(_ fixture: Case) throws -> RGBImage {
        try PNGImage.read(path: directory.appendingPathComponent(fixture.output).path)
    }

    /// Number of bytes that differ, and the largest difference.
    static func difference(_ a: RGBImage, _ b: RGBImage) -> (count: Int, largest: Int) {
        precondition(a.width == b.width && a.height == b.height)
        var count = 0, largest = 0
        for index in a.pixels.indices where a.pixels[index] != b.pixels[index] {
            count += 1
            largest = max(largest, abs(Int(a.pixels[index]) - Int(b.pixels[index])))
        }
        return (count, largest)
    }
}
