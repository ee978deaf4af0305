import Foundation
import Testing

@testable import ImageOps

@Suite("Multi-crop configuration file")
struct MultiCropConfigTests {
    static let dinov2Path = AugmentFixtures.packageRoot.appendingPathComponent("configs/augment/dinov2.yaml").path

    @Test("configs/augment/dinov2.yaml holds exactly DINOv2's recipe (distillation-spec.md §6)")
    func dinov2File() throws {
        let config = try MultiCropConfig.load(path: Self.dinov2Path)
        #expect(config == MultiCropConfig())
        #expect(config.global == .init(number: 2, size: 224, scale: 0.32...1.0))
        #expect(config.local == .init(number: 8, size: 98, scale: 0.05...0.32))
        #expect(config.ratio == 0.75...(4.0 / 3.0))
        #expect(config.colorJitter == .init(probability: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1))
        #expect(config.grayscale == 0.2 && config.horizontalFlip == 0.5 && config.verticalFlip == 0 && config.rotate90 == 0)
        #expect(config.blur.kernelSize == 9 && config.blur.sigma == 0.1...2.0 && config.blur.choice == .dinov2Code)
        #expect(config.blur.probabilities == .init(global1: 0.0, global2: 0.9, local: 0.5))
        #expect(config.blur.table[.nominal] == .init(global1: 1.0, global2: 0.1, local: 0.5))
        #expect(config.solarizeThreshold == 128 && config.solarizeProbability == 0.2)
        #expect(config.resizePassOrder == .pillow13)
        #expect(config.mean == [0.707223, 0.578729, 0.703617] && config.std == [0.211883, 0.230117, 0.177517])
    }

    @Test("a partial file keeps the defaults for the keys it leaves out")
    func partial() throws {
        let config = try MultiCropConfig(yaml: "gaussian_blur:\n  choice: nominal\nlocal_crops:\n  number: 6\n")
        #expect(config.blur.choice == .nominal && config.blur.probabilities.global1 == 1.0)
        #expect(config.local.number == 6 && config.local.size == 98)
        #expect(config.global == MultiCropConfig().global)
    }

    @Test("bad files: one error naming the file, line and key",
          arguments: [
              ("colour_jitter:\n  hue: 0.1\n", "x.yaml:1: colour_jitter: unknown key"),
              ("color_jitter:\n  probability: 0.8\n  hue: 0.7\n", "x.yaml:3: color_jitter.hue: must be in [0, 0.5], got 0.7"),
              ("local_crops:\n  scale: [0.3, 0.1]\n", "x.yaml:2: local_crops.scale: expected [low, high] with low ≤ high"),
              ("global_crops:\n  number: 3\n", "x.yaml:2: global_crops.number: must be 2"),
              ("gaussian_blur:\n  choice: sometimes\n", "x.yaml:2: gaussian_blur.choice: expected one of dinov2-code, nominal"),
              ("gaussian_blur:\n  kernel_size: 8\n", "x.yaml:2: gaussian_blur.kernel_size: must be odd and positive, got 8"),
              ("grayscale: often\n", "x.yaml:1: grayscale: expected a number"),
              ("resize_pass_order: pillow-9\n", "x.yaml:1: resize_pass_order: expected one of pillow-13, horizontal-first"),
              ("horizontal_flip: 1.5\n", "x.yaml:1: horizontal_flip: a probability must be in [0, 1], got 1.5"),
              ("normalize:\n  std: [0.2, 0.2]\n", "x.yaml:2: normalize.std: expected a list of 3 numbers"),
              ("solarize:\n  probability: 0.2\n  probability: 0.3\n", "x.yaml: YAML syntax error"),
              ("- a\n- b\n", "x.yaml:1: expected a mapping"),
          ])
    func badFiles(_ text: String, _ message: String) {
        do {
            _ = try MultiCropConfig(yaml: text, path: "x.yaml")
            Issue.record("accepted: \(text)")
        } catch let error as MultiCropConfigError {
            #expect(error.description.hasPrefix(message), "\(error.description)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("a missing file is an error naming it")
    func missingFile() {
        #expect(throws: MultiCropConfigError.self) { try MultiCropConfig.load(path: "/nonexistent/augment.yaml") }
        do {
            _ = try MultiCropConfig.load(path: "/nonexistent/augment.yaml")
        } catch {
            #expect("\(error)".hasPrefix("/nonexistent/augment.yaml: cannot read the file"))
        }
    }
}
