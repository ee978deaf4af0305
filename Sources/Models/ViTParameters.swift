import Compute

/// A ViT's parameters: one flat `f32` tensor on the backend's device and a view per timm name, laid out by
/// `ParameterLayout(config:)`.
public typealias ViTParameters = ParameterBuffer

extension ParameterBuffer {
    /// Deterministic pseudo-random parameters for benchmarks and tests (not a training initialisation):
    /// weights uniform in ±0.02·√3 (std 0.02), biases ±0.01, LayerNorm weights 1 ± 0.1, LayerScale 0.1 ± 0.05,
    /// tokens and positions std 0.02; from SplitMix64 seeded with `seed`.
    public static func random(config: ViTConfig, backend: any Backend, seed: UInt64 = 0) -> ViTParameters {
        let layout = ParameterLayout(config: config)
        var generator = SplitMix64(seed: seed)
        var values = [Float](repeating: 0, count: layout.count)
        values.withUnsafeMutableBufferPointer { buffer in
            for parameter in layout.parameters {
                let (center, halfWidth): (Float, Float) = switch parameter.name {
                case let name where name.hasSuffix("gamma"): (0.1, 0.05)
                case let name where name.hasPrefix("norm") || name.contains(".norm"):
                    name.hasSuffix("weight") ? (1, 0.1) : (0, 0.01)
                case let name where name.hasSuffix("bias"): (0, 0.01)
                default: (0, 0.02 * Float(3).squareRoot())
                }
                for index in parameter.offset..<(parameter.offset + parameter.count) {
                    buffer[index] = center + halfWidth * (2 * generator.nextUnitFloat() - 1)
                }
            }
        }
        let flat = backend.makeTensor(shape: [layout.count])
        values.withUnsafeBufferPointer { backend.upload($0, to: flat) }
        return ViTParameters(layout: layout, flat: flat)
    }
}
