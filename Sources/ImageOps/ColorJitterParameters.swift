/// One draw of torchvision's `ColorJitter.get_params`: the order of the four operations (`randperm(4)`) and
/// the four factors, applied by ``RGBImage/applyColorJitter(_:)`` (distillation-spec.md §6.6).
public struct ColorJitterParameters: Sendable, Equatable, Codable {
    /// torchvision's `fn_idx` values.
    public enum Operation: Int, Sendable, Codable, CaseIterable {
        case brightness = 0
        case contrast = 1
        case saturation = 2
        case hue = 3
    }

    /// The four operations in the order they are applied.
    public var order: [Operation]
    /// Brightness factor (DINOv2: U(0.6, 1.4)).
    public var brightness: Float
    /// Contrast factor (DINOv2: U(0.6, 1.4)).
    public var contrast: Float
    /// Saturation factor (DINOv2: U(0.8, 1.2)).
    public var saturation: Float
    /// Hue factor (DINOv2: U(−0.1, 0.1)).
    public var hue: Float

    /// - Precondition: `order` lists each of the four operations once.
    public init(order: [Operation], brightness: Float, contrast: Float, saturation: Float, hue: Float) {
        precondition(order.count == 4 && Set(order).count == 4, "the order must list each of the four operations once, got \(order)")
        self.order = order
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
    }
}

extension RGBImage {
    /// `ColorJitter.forward` with these parameters: the four PIL adjustments in `parameters.order`.
    public mutating func applyColorJitter(_ parameters: ColorJitterParameters) {
        for operation in parameters.order {
            switch operation {
            case .brightness: adjustBrightness(parameters.brightness)
            case .contrast: adjustContrast(parameters.contrast)
            case .saturation: adjustSaturation(parameters.saturation)
            case .hue: adjustHue(parameters.hue)
            }
        }
    }
}
