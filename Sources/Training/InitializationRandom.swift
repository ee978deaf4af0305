#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The seeded generator of parameter initialisation: SplitMix64 (Steele, Lea, Flood 2014) for 53-bit uniforms,
/// Box–Muller for normals, rejection for truncated normals. Deterministic for a seed (not PyTorch's stream: the
/// distributions match DINOv2's, not the values).
struct InitializationRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [−bound, bound).
    mutating func uniform(bound: Double) -> Double { (2 * uniform() - 1) * bound }

    /// N(0, std²) (Box–Muller, one value per pair of uniforms).
    mutating func normal(std: Double) -> Double {
        let u = 1 - uniform()   // (0, 1]
        return std * (-2 * log(u)).squareRoot() * cos(2 * Double.pi * uniform())
    }

    /// N(0, std²) restricted to [−bound, bound] by rejection (`torch.nn.init.trunc_normal_(std, a=−bound, b=bound)`).
    mutating func truncatedNormal(std: Double, bound: Double) -> Double {
        while true {
            let value = normal(std: std)
            if abs(value) <= bound { return value }
        }
    }
}
