#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// torchvision's `RandomResizedCrop.get_params`: the box a random-resized crop takes from an image
/// (distillation-spec.md §6.3).
///
/// Up to 10 attempts: `target_area = H·W·U(scale)` (the draw in float32), `aspect = exp(U(log ratio))` (float32),
/// `w = round(√(area·aspect))`, `h = round(√(area/aspect))` (Python `round`: half to even); the first attempt
/// with `0 < w ≤ W` and `0 < h ≤ H` wins, placed at `top = randint(0, H − h + 1)`, `left = randint(0, W − w + 1)`.
/// When all ten fail, the central crop of the largest box within the ratio range (``fallback(width:height:)``).
public struct RandomResizedCropSampler: Sendable, Equatable {
    /// Range of the crop's area as a fraction of the image's (DINOv2: global 0.32–1.0, local 0.05–0.32).
    public var scale: ClosedRange<Double>
    /// Range of the crop's aspect ratio w/h (DINOv2: 3/4–4/3).
    public var ratio: ClosedRange<Double>

    public init(scale: ClosedRange<Double>, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        precondition(scale.lowerBound >= 0 && ratio.lowerBound > 0, "scale \(scale) and ratio \(ratio) must be positive")
        self.scale = scale
        self.ratio = ratio
    }

    /// Draws one crop box for a `width × height` image.
    /// - Precondition: the image is at least 1×1.
    public func sample(width: Int, height: Int, using random: inout AugmentationRandom) -> CropBox {
        precondition(width > 0 && height > 0, "an empty \(width)×\(height) image has no crop")
        let area = Double(width * height)
        // torch.log(torch.tensor(ratio)): float32.
        let logLow = logf(Float(ratio.lowerBound)), logHigh = logf(Float(ratio.upperBound))
        for _ in 0..<10 {
            let targetArea = area * Double(random.uniform(Float(scale.lowerBound), Float(scale.upperBound)))
            let aspect = Double(expf(random.uniform(logLow, logHigh)))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let top = random.integer(below: height - h + 1)
                let left = random.integer(below: width - w + 1)
                return CropBox(top: top, left: left, height: h, width: w)
            }
        }
        return fallback(width: width, height: height)
    }

    /// The central crop used after ten failed attempts: the whole image when its ratio is within range,
    /// otherwise the full side that fits and the other side at the nearest ratio bound (rounded half to even).
    public func fallback(width: Int, height: Int) -> CropBox {
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }
}
