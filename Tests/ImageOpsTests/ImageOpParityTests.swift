import Foundation
import Testing

@testable import ImageOps

/// Runs one fixture op on its input.
private func run(_ fixture: AugmentFixtures.Case) throws -> RGBImage {
    var image = try AugmentFixtures.input(fixture)
    let params = fixture.params
    switch fixture.op {
    case "flip_horizontal": return image.transposed(.flipLeftRight)
    case "flip_vertical": return image.transposed(.flipTopBottom)
    case "rotate_90": return image.transposed(.rotate90)
    case "rotate_180": return image.transposed(.rotate180)
    case "rotate_270": return image.transposed(.rotate270)
    case "brightness": image.adjustBrightness(Float(try #require(params.factor)))
    case "contrast": image.adjustContrast(Float(try #require(params.factor)))
    case "saturation": image.adjustSaturation(Float(try #require(params.factor)))
    case "hue": image.adjustHue(Float(try #require(params.factor)))
    case "color_jitter":
        image.applyColorJitter(ColorJitterParameters(
            order: try #require(params.order).map { try #require(ColorJitterParameters.Operation(rawValue: $0)) },
            brightness: Float(try #require(params.brightness)), contrast: Float(try #require(params.contrast)),
            saturation: Float(try #require(params.saturation)), hue: Float(try #require(params.hue))))
    case "grayscale": image.convertToGrayscale()
    case "solarize": image.solarize(threshold: try #require(params.threshold))
    case "gaussian_blur":
        return GaussianBlur(size: try #require(params.kernelSize), sigma: Float(try #require(params.sigma))).applied(to: image)
    default: Issue.record("unknown op \(fixture.op)")
    }
    return image
}

private let exactOps: Set = ["flip_horizontal", "flip_vertical", "rotate_90", "rotate_180", "rotate_270", "brightness",
                             "contrast", "saturation", "hue", "color_jitter", "grayscale", "solarize"]

@Suite("PIL/torchvision image ops with fixed parameters on real tiles")
struct ImageOpParityTests {
    @Test("flips, rotations, brightness, contrast, saturation, hue, jitter order, grayscale, solarize: byte-exact",
          arguments: AugmentFixtures.cases.filter { exactOps.contains($0.op) })
    func byteExact(_ fixture: AugmentFixtures.Case) throws {
        let output = try run(fixture)
        let expected = try AugmentFixtures.expected(fixture)
        #expect(output.width == expected.width && output.height == expected.height)
        guard output.width == expected.width && output.height == expected.height else { return }
        let difference = AugmentFixtures.difference(output, expected)
        #expect(difference.count == 0, "\(fixture.name): \(difference.count) bytes differ, by up to \(difference.largest)")
    }

    @Test("Gaussian blur (kernel 9, reflect, round half to even): within one grey level of torchvision",
          arguments: AugmentFixtures.cases(op: "gaussian_blur"))
    func blurWithinOneLevel(_ fixture: AugmentFixtures.Case) throws {
        let output = try run(fixture)
        let expected = try AugmentFixtures.expected(fixture)
        let difference = AugmentFixtures.difference(output, expected)
        #expect(difference.largest <= 1, "\(fixture.name): \(difference.count) bytes differ, by up to \(difference.largest)")
        // Off-by-one bytes come only from float rounding near a half: a small minority.
        #expect(difference.count * 100 <= output.pixels.count, "\(fixture.name): \(difference.count) bytes differ")
        // The blur changed the image (σ = 0.1 is the identity, as in torchvision).
        let input = try AugmentFixtures.input(fixture)
        if (fixture.params.sigma ?? 0) > 0.3 { #expect(input != expected) }
    }

    @Test("hue factor 0 is not the identity (PIL's HSV round trip loses precision), as in torchvision")
    func hueZeroChangesPixels() throws {
        let fixture = try #require(AugmentFixtures.cases.first { $0.name == "hue-0" })
        #expect(try AugmentFixtures.input(fixture) != (try AugmentFixtures.expected(fixture)))
    }

    @Test("blend: PIL truncates in [0, 1] and clamps outside")
    func blendSemantics() {
        #expect(PILBlend.blend(0, 200, alpha: 0.6) == 120)       // 0.6f·200 = 120.000004 → 120
        #expect(PILBlend.blend(0, 255, alpha: 1.4) == 255)       // 357 → clamped
        #expect(PILBlend.blend(100, 7, alpha: 0.5) == 53)        // 100 − 46.5 = 53.5 → 53 (truncation)
        #expect(PILBlend.blend(100, 0, alpha: 1.4) == 0)         // −40 → 0
        #expect(PILBlend.blend(10, 20, alpha: 1.25) == 22)       // 22.5 → 22
    }

    @Test("ToTensor + Normalize with the H-optimus mean/std equals torchvision's float32 values for every byte")
    func normalizationTable() throws {
        struct Table: Decodable { let mean: [Double]; let std: [Double]; let values: [[Double]] }
        let data = try Data(contentsOf: AugmentFixtures.directory.appendingPathComponent("normalize.json"))
        let table = try JSONDecoder().decode(Table.self, from: data)
        let normalization = Normalization(mean: table.mean, std: table.std)
        #expect(normalization == Normalization.hOptimus)
        for channel in 0..<3 {
            for value in 0...255 {
                let expected = Float(table.values[channel][value])
                #expect(normalization.value(UInt8(value), channel: channel).bitPattern == expected.bitPattern,
                        "channel \(channel) byte \(value)")
            }
        }
        // Planar layout: [3, H, W].
        let image = RGBImage(width: 2, height: 1, pixels: [0, 128, 255, 10, 20, 30])
        let tensor = normalization.tensor(image)
        #expect(tensor == [normalization.value(0, channel: 0), normalization.value(10, channel: 0),
                           normalization.value(128, channel: 1), normalization.value(20, channel: 1),
                           normalization.value(255, channel: 2), normalization.value(30, channel: 2)])
    }
}
