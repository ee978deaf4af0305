import Foundation
import Testing

@testable import ImageOps

/// The fixture's crop as ``CropParameters``.
private func parameters(_ fixture: AugmentFixtures.Case) throws -> CropParameters {
    let p = fixture.params
    let crop = try #require(p.crop)
    return CropParameters(box: CropBox(top: crop[0], left: crop[1], height: crop[2], width: crop[3]), size: try #require(p.size),
                          horizontalFlip: try #require(p.flip as Bool?), colorJitter: p.jitter?.parameters,
                          grayscale: try #require(p.grayscale as Bool?), blurSigma: p.blurSigma.map { Float($0) },
                          solarize: try #require(p.solarize as Bool?))
}

/// A real 224-px tile from the shared data (what `distill tile` makes).
private func tile() throws -> RGBImage {
    let fixture = try #require(AugmentFixtures.cases(op: "dinov2_crop").first)
    return try AugmentFixtures.input(fixture)
}

@Suite("DINOv2 multi-crop: rendering against torchvision, draws, determinism")
struct MultiCropTests {
    @Test("each crop with fixed draws equals torchvision's DINOv2 pipeline (exact; blurred crops within one level)",
          arguments: AugmentFixtures.cases(op: "dinov2_crop"))
    func rendersLikeTorchvision(_ fixture: AugmentFixtures.Case) throws {
        let source = try AugmentFixtures.input(fixture)
        let crop = try parameters(fixture)
        var workspace = MultiCropWorkspace()
        let output = MultiCrop().render(source, crop, workspace: &workspace)
        let expected = try AugmentFixtures.expected(fixture)
        let difference = AugmentFixtures.difference(output, expected)
        if crop.blurSigma == nil {
            #expect(difference.count == 0, "\(fixture.name): \(difference.count) bytes differ, by up to \(difference.largest)")
        } else {
            #expect(difference.largest <= 1, "\(fixture.name): differs by up to \(difference.largest)")
            #expect(difference.count * 100 <= output.pixels.count, "\(fixture.name): \(difference.count) bytes differ")
        }
    }

    @Test("apply: shapes [2, 3, 224, 224] and [8, 3, 98, 98], values = Normalize(ToTensor(rendered crop))")
    func tensorsAreNormalisedCrops() throws {
        let image = try tile()
        let multiCrop = MultiCrop()
        var workspace = MultiCropWorkspace()
        let key = AugmentationKey(seed: 3, epoch: 1, sample: 17)
        let tensors = multiCrop.apply(to: image, key: key, workspace: &workspace)
        #expect(tensors.globalShape == [2, 3, 224, 224] && tensors.localShape == [8, 3, 98, 98])
        #expect(tensors.global.count == 2 * 3 * 224 * 224 && tensors.local.count == 8 * 3 * 98 * 98)
        #expect(tensors.parameters == multiCrop.parameters(width: 224, height: 224, key: key))
        for (index, crop) in tensors.parameters.enumerated() {
            let rendered = multiCrop.render(image, crop, workspace: &workspace)
            let expected = Normalization.hOptimus.tensor(rendered)
            let plane = expected.count
            let slice = index < 2 ? Array(tensors.global[index * plane ..< (index + 1) * plane])
                                  : Array(tensors.local[(index - 2) * plane ..< (index - 1) * plane])
            #expect(slice == expected, "crop \(index)")
        }
    }

    @Test("the same (seed, epoch, sample) gives identical crops, in any order and from any workspace")
    func deterministic() throws {
        let image = try tile()
        let multiCrop = MultiCrop()
        var first = MultiCropWorkspace(), second = MultiCropWorkspace()
        let keys = (0..<4).map { AugmentationKey(seed: 99, epoch: 2, sample: UInt64($0) * 1_000_003) }
        let forward = keys.map { multiCrop.apply(to: image, key: $0, workspace: &first) }
        let backward = keys.reversed().map { multiCrop.apply(to: image, key: $0, workspace: &second) }
        #expect(forward == Array(backward.reversed()))
        // Another sample, epoch or seed changes the crops.
        let base = multiCrop.parameters(width: 224, height: 224, key: keys[0])
        for other in [AugmentationKey(seed: 99, epoch: 2, sample: 1), AugmentationKey(seed: 99, epoch: 3, sample: 0),
                      AugmentationKey(seed: 100, epoch: 2, sample: 0)] {
            #expect(multiCrop.parameters(width: 224, height: 224, key: other) != base)
        }
    }

    @Test("each crop draws from its own stream: the blur choice changes blur draws only, never crop boxes or jitter")
    func streamsAreIndependent() {
        var nominal = MultiCropConfig()
        nominal.blur.choice = .nominal
        for sample in 0..<50 {
            let key = AugmentationKey(seed: 1, epoch: 0, sample: UInt64(sample))
            let a = MultiCrop().parameters(width: 224, height: 224, key: key)
            let b = MultiCrop(config: nominal).parameters(width: 224, height: 224, key: key)
            #expect(a.map(\.box) == b.map(\.box))
            #expect(a.map(\.colorJitter) == b.map(\.colorJitter))
            #expect(a.map(\.grayscale) == b.map(\.grayscale))
        }
    }

    @Test("apply probabilities: flip 0.5, jitter 0.8, grayscale 0.2, solarize 0.2 on global 2 only; blur per choice",
          arguments: MultiCropConfig.BlurChoice.allCases)
    func probabilities(_ choice: MultiCropConfig.BlurChoice) {
        var config = MultiCropConfig()
        config.blur.choice = choice
        let multiCrop = MultiCrop(config: config)
        let samples = 4000
        var flips = [Int](repeating: 0, count: 10), jitters = flips, grays = flips, blurs = flips, solarized = flips
        for sample in 0..<samples {
            let crops = multiCrop.parameters(width: 224, height: 224, key: AugmentationKey(seed: 8, epoch: 0, sample: UInt64(sample)))
            #expect(crops.count == 10)
            for (index, crop) in crops.enumerated() {
                #expect(crop.size == (index < 2 ? 224 : 98))
                #expect(!crop.verticalFlip && crop.rotation == nil)
                if crop.horizontalFlip { flips[index] += 1 }
                if crop.colorJitter != nil { jitters[index] += 1 }
                if crop.grayscale { grays[index] += 1 }
                if let sigma = crop.blurSigma {
                    blurs[index] += 1
                    #expect(sigma >= 0.1 && sigma < 2.0)
                }
                if crop.solarize { solarized[index] += 1 }
            }
        }
        let blur = MultiCropConfig.defaultBlurTable[choice]!
        #expect(choice == .dinov2Code ? (blur.global1, blur.global2, blur.local) == (0.0, 0.9, 0.5)
                                      : (blur.global1, blur.global2, blur.local) == (1.0, 0.1, 0.5))
        for index in 0..<10 {
            let blurP = index == 0 ? blur.global1 : (index == 1 ? blur.global2 : blur.local)
            for (name, counts, p) in [("flip", flips, 0.5), ("jitter", jitters, 0.8), ("grayscale", grays, 0.2),
                                      ("blur", blurs, blurP), ("solarize", solarized, index == 1 ? 0.2 : 0.0)] {
                let (ok, detail) = Statistics.binomial(counts[index], samples, p: p)
                #expect(ok, "crop \(index) \(name): \(detail)")
            }
        }
    }

    @Test("pathology options: vertical flips and quarter turns at their probabilities, turns equally likely")
    func pathologyOptions() throws {
        var config = MultiCropConfig()
        config.verticalFlip = 0.5
        config.rotate90 = 0.75
        let multiCrop = MultiCrop(config: config)
        var vertical = 0, turns: [Transpose: Int] = [:], total = 0
        for sample in 0..<2000 {
            for crop in multiCrop.parameters(width: 224, height: 224, key: AugmentationKey(seed: 4, epoch: 0, sample: UInt64(sample))) {
                total += 1
                if crop.verticalFlip { vertical += 1 }
                if let rotation = crop.rotation { turns[rotation, default: 0] += 1 }
            }
        }
        #expect(Statistics.binomial(vertical, total, p: 0.5).0)
        #expect(Statistics.binomial(turns.values.reduce(0, +), total, p: 0.75).0)
        #expect(Set(turns.keys) == [.rotate90, .rotate180, .rotate270])
        #expect(Statistics.uniform(Array(turns.values)).0, "\(turns)")
        // A turned crop is the turned image of the unturned one.
        let image = try tile()
        var workspace = MultiCropWorkspace()
        let plain = CropParameters(box: CropBox(top: 10, left: 20, height: 100, width: 90), size: 98)
        var turned = plain
        turned.rotation = .rotate90
        let reference = MultiCrop().render(image, plain, workspace: &workspace).transposed(.rotate90)
        #expect(multiCrop.render(image, turned, workspace: &workspace) == reference)
    }

    @Test("any tile size: small, non-square and large tiles give full crop sets")
    func tileSizes() {
        let multiCrop = MultiCrop()
        var workspace = MultiCropWorkspace()
        for (width, height) in [(224, 224), (64, 64), (300, 120), (512, 512), (20, 200)] {
            let image = RGBImage(width: width, height: height, fill: (200, 120, 180))
            let tensors = multiCrop.apply(to: image, key: AugmentationKey(seed: 0, epoch: 0, sample: 1), workspace: &workspace)
            #expect(tensors.parameters.allSatisfy { $0.box.fits(width: width, height: height) })
            #expect(tensors.global.count == 2 * 3 * 224 * 224 && tensors.local.count == 8 * 3 * 98 * 98)
        }
    }
}
