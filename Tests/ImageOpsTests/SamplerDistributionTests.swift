import Foundation
import Testing

@testable import ImageOps

/// torchvision's samplers drawn many times by `tools/fixtures/make_augment_fixtures.py` (`samplers.json`).
private struct SamplerFixture: Decodable {
    struct Crop: Decodable {
        let width: Int
        let height: Int
        let scale: [Double]
        let ratio: [Double]
        let draws: Int
        let w: [String: Int]
        let h: [String: Int]
        let topBins: [Int]
        let leftBins: [Int]
        let fallbackBox: [Int]
        let fallbackCount: Int

        enum CodingKeys: String, CodingKey {
            case width, height, scale, ratio, draws, w, h, topBins = "top_bins", leftBins = "left_bins",
                 fallbackBox = "fallback_box", fallbackCount = "fallback_count"
        }
    }

    struct Factor: Decodable {
        let range: [Double]
        let min: Double
        let max: Double
        let bins: [Int]
    }

    struct Jitter: Decodable {
        let draws: Int
        let orders: [String: Int]
        let factors: [String: Factor]
    }

    struct Sigma: Decodable {
        let draws: Int
        let range: [Double]
        let bins: [Int]
    }

    let randomResizedCrop: [Crop]
    let colorJitter: Jitter
    let gaussianBlurSigma: Sigma

    enum CodingKeys: String, CodingKey {
        case randomResizedCrop = "random_resized_crop", colorJitter = "color_jitter", gaussianBlurSigma = "gaussian_blur_sigma"
    }

    static let loaded: SamplerFixture = {
        do {
            let data = try Data(contentsOf: AugmentFixtures.directory.appendingPathComponent("samplers.json"))
            return try JSONDecoder().decode(SamplerFixture.self, from: data)
        } catch {
            fatalError("cannot read samplers.json: \(error)")
        }
    }()
}

/// A histogram of integer values over the union of both samples' keys.
private func aligned(_ a: [String: Int], _ b: [Int: Int]) -> ([Int], [Int]) {
    let keys = Set(a.keys.compactMap { Int($0) }).union(b.keys).sorted()
    return (keys.map { a[String($0)] ?? 0 }, keys.map { b[$0] ?? 0 })
}

private func bins(_ values: [Float], range: ClosedRange<Double>, count: Int = 20) -> [Int] {
    var bins = [Int](repeating: 0, count: count)
    for value in values {
        let position = (Double(value) - range.lowerBound) / (range.upperBound - range.lowerBound)
        bins[min(count - 1, max(0, Int(position * Double(count))))] += 1
    }
    return bins
}

@Suite("Samplers: same distributions as torchvision's (two-sample χ² against torchvision draws)")
struct SamplerDistributionTests {
    @Test("RandomResizedCrop: width, height, position and fallback rate match get_params",
          arguments: SamplerFixture.loaded.randomResizedCrop.indices)
    func randomResizedCrop(_ index: Int) {
        let fixture = SamplerFixture.loaded.randomResizedCrop[index]
        let sampler = RandomResizedCropSampler(scale: fixture.scale[0]...fixture.scale[1], ratio: fixture.ratio[0]...fixture.ratio[1])
        let fallback = CropBox(top: fixture.fallbackBox[0], left: fixture.fallbackBox[1], height: fixture.fallbackBox[2],
                               width: fixture.fallbackBox[3])
        #expect(sampler.fallback(width: fixture.width, height: fixture.height) == fallback)
        var random = AugmentationRandom(key: AugmentationKey(seed: 2024, epoch: 0, sample: UInt64(index)), stream: 0)
        var widths: [Int: Int] = [:], heights: [Int: Int] = [:]
        var top = [Int](repeating: 0, count: 10), left = [Int](repeating: 0, count: 10)
        var fallbacks = 0
        for _ in 0..<fixture.draws {
            let box = sampler.sample(width: fixture.width, height: fixture.height, using: &random)
            #expect(box.fits(width: fixture.width, height: fixture.height))
            widths[box.width, default: 0] += 1
            heights[box.height, default: 0] += 1
            top[10 * box.top / (fixture.height - box.height + 1)] += 1
            left[10 * box.left / (fixture.width - box.width + 1)] += 1
            if box == fallback { fallbacks += 1 }
        }
        let label = "\(fixture.width)×\(fixture.height) scale \(fixture.scale)"
        for (name, ours, theirs) in [("w", widths, fixture.w), ("h", heights, fixture.h)] {
            let (a, b) = aligned(theirs, ours)
            let (ok, detail) = Statistics.sameDistribution(a, b)
            #expect(ok, "\(label) \(name): \(detail)")
        }
        for (name, ours, theirs) in [("top", top, fixture.topBins), ("left", left, fixture.leftBins)] {
            let (ok, detail) = Statistics.sameDistribution(theirs, ours)
            #expect(ok, "\(label) \(name): \(detail)")
        }
        let (ok, detail) = Statistics.sameDistribution([fixture.fallbackCount, fixture.draws - fixture.fallbackCount],
                                                       [fallbacks, fixture.draws - fallbacks])
        #expect(ok, "\(label) fallback rate: \(detail)")
    }

    @Test("RandomResizedCrop: a too-narrow image falls back to the central crop at the ratio bound")
    func fallbackBoxes() {
        let sampler = RandomResizedCropSampler(scale: 0.32...1.0)
        #expect(sampler.fallback(width: 4, height: 40) == CropBox(top: 17, left: 0, height: 5, width: 4))   // round(4 / 0.75) = 5
        #expect(sampler.fallback(width: 600, height: 150) == CropBox(top: 0, left: 200, height: 150, width: 200))
        #expect(sampler.fallback(width: 224, height: 224) == CropBox(top: 0, left: 0, height: 224, width: 224))
    }

    @Test("ColorJitter: factors in torchvision's ranges with its distribution; all 24 orders as often as torchvision's")
    func colorJitter() {
        let fixture = SamplerFixture.loaded.colorJitter
        let sampler = ColorJitterSampler(brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1)
        #expect(sampler.brightness == 0.6...1.4 && sampler.contrast == 0.6...1.4)
        #expect(sampler.saturation == 0.8...1.2 && sampler.hue == -0.1...0.1)
        var random = AugmentationRandom(key: AugmentationKey(seed: 5, epoch: 2, sample: 77), stream: 9)
        let draws = (0..<fixture.draws).map { _ in sampler.sample(using: &random) }
        let orders = Dictionary(grouping: draws, by: { $0.order.map { String($0.rawValue) }.joined() }).mapValues(\.count)
        #expect(orders.count == 24)
        let keys = fixture.orders.keys.sorted()
        let (ok, detail) = Statistics.sameDistribution(keys.map { fixture.orders[$0]! }, keys.map { orders[$0] ?? 0 })
        #expect(ok, "orders: \(detail)")
        let factors: [(String, (ColorJitterParameters) -> Float)] = [
            ("brightness", { $0.brightness }), ("contrast", { $0.contrast }), ("saturation", { $0.saturation }), ("hue", { $0.hue }),
        ]
        for (name, value) in factors {
            let theirs = fixture.factors[name]!
            let range = theirs.range[0]...theirs.range[1]
            let values = draws.map(value)
            #expect(values.allSatisfy { Double($0) >= range.lowerBound && Double($0) < range.upperBound }, "\(name) outside \(range)")
            let (ok, detail) = Statistics.sameDistribution(theirs.bins, bins(values, range: range))
            #expect(ok, "\(name): \(detail)")
        }
    }

    @Test("GaussianBlur: σ ~ U(0.1, 2.0) like GaussianBlur.get_params")
    func blurSigma() {
        let fixture = SamplerFixture.loaded.gaussianBlurSigma
        var random = AugmentationRandom(key: AugmentationKey(seed: 11, epoch: 0, sample: 3), stream: 1)
        let values = (0..<fixture.draws).map { _ in random.uniform(0.1, 2.0) }
        #expect(values.allSatisfy { $0 >= 0.1 && $0 < 2.0 })
        let (ok, detail) = Statistics.sameDistribution(fixture.bins, bins(values, range: 0.1...2.0))
        #expect(ok, "\(detail)")
    }
}
