/// torchvision's `ColorJitter.get_params` for `ColorJitter(brightness, contrast, saturation, hue)`
/// (distillation-spec.md §6.6): a random order of the four operations (`randperm(4)`) and four factors drawn
/// uniformly from the ranges `_check_input` makes: brightness, contrast and saturation `[max(0, 1 − x), 1 + x]`,
/// hue `[−x, x]`. All four are always drawn, in that order.
public struct ColorJitterSampler: Sendable, Equatable {
    /// Brightness factor range, `[max(0, 1 − b), 1 + b]`.
    public let brightness: ClosedRange<Float>
    /// Contrast factor range, `[max(0, 1 − c), 1 + c]`.
    public let contrast: ClosedRange<Float>
    /// Saturation factor range, `[max(0, 1 − s), 1 + s]`.
    public let saturation: ClosedRange<Float>
    /// Hue factor range, `[−h, h]`.
    public let hue: ClosedRange<Float>

    /// - Parameters: the strengths of `ColorJitter` (DINOv2: 0.4, 0.4, 0.2, 0.1).
    /// - Precondition: strengths ≥ 0 and hue ≤ 0.5.
    public init(brightness: Double, contrast: Double, saturation: Double, hue: Double) {
        precondition(brightness >= 0 && contrast >= 0 && saturation >= 0, "jitter strengths must be ≥ 0")
        precondition(hue >= 0 && hue <= 0.5, "hue strength must be in [0, 0.5], got \(hue)")
        func range(_ strength: Double) -> ClosedRange<Float> { Float(max(0, 1 - strength))...Float(1 + strength) }
        self.brightness = range(brightness)
        self.contrast = range(contrast)
        self.saturation = range(saturation)
        self.hue = Float(-hue)...Float(hue)
    }

    /// Draws one set of parameters.
    public func sample(using random: inout AugmentationRandom) -> ColorJitterParameters {
        let order = random.permutation(4).map { ColorJitterParameters.Operation(rawValue: $0)! }
        let b = random.uniform(brightness.lowerBound, brightness.upperBound)
        let c = random.uniform(contrast.lowerBound, contrast.upperBound)
        let s = random.uniform(saturation.lowerBound, saturation.upperBound)
        let h = random.uniform(hue.lowerBound, hue.upperBound)
        return ColorJitterParameters(order: order, brightness: b, contrast: c, saturation: s, hue: h)
    }
}
