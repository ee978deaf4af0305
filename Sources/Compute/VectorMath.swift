/// Vectorised transcendental functions on eight `Float` lanes, for the CPU kernels' hot loops (Swift has no
/// vector `exp`/`erf`; libm works one element at a time).
/// - `exp`: Cody–Waite range reduction `x = n·ln 2 + r` (|r| ≤ ln2/2) and the degree-6 polynomial of Cephes
///   `expf`; relative error ≤ 3e-7 on [-87, 88] (`KernelTests.vectorMathMatchesLibm`); inputs are clamped to
///   [-87.3, 88] (so `exp(-∞)` gives ≈1e-38, not 0 — harmless where it is used: softmax after max-subtraction,
///   sigmoid).
/// - `erf`: Abramowitz & Stegun 7.1.26, `1 − (a₁t + … + a₅t⁵)·e^{−x²}`, `t = 1/(1 + 0.3275911|x|)`: 1.5e-7 in exact
///   arithmetic, ≤ 6e-7 absolute in float — the formula PyTorch's vectorised CPU `erf` uses for GELU.
@usableFromInline
enum VectorMath {
    @usableFromInline typealias V = SIMD8<Float>

    /// e^x per lane.
    @inline(__always) @usableFromInline
    static func exp(_ x: V) -> V {
        let low = V(repeating: -87.3), high = V(repeating: 88.0)
        let clamped = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
        // n = round(x / ln 2) through the 1.5·2²³ trick: adding it leaves the rounded integer in the low mantissa bits.
        let magic = V(repeating: 12_582_912)
        let shifted = clamped * V(repeating: 1.442_695_04) + magic
        let n = shifted - magic
        var r = clamped - n * V(repeating: 0.693_359_375)
        r = r - n * V(repeating: -2.121_944_4e-4)
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + V(repeating: 1.398_199_95e-3)
        p = p * r + V(repeating: 8.333_451_9e-3)
        p = p * r + V(repeating: 4.166_579_59e-2)
        p = p * r + V(repeating: 1.666_666_55e-1)
        p = p * r + V(repeating: 5.000_000_12e-1)
        let polynomial = p * (r * r) + r + V(repeating: 1)
        // 2ⁿ: the integer n sits in the low bits of `shifted` (offset 0x4B400000); move it to the exponent field.
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- SIMD8<UInt32>(repeating: 0x4B40_0000 - 127)
        let scale = unsafeBitCast(bits &<< 23, to: V.self)
        return polynomial * scale
    }

    /// erf(x) per lane (A&S 7.1.26).
    @inline(__always) @usableFromInline
    static func erf(_ x: V) -> V {
        let (magnitude, sign) = splitSign(x)
        return withSign(erfOfMagnitude(magnitude, gaussian: exp(-(magnitude * magnitude))), sign)
    }

    /// erf(a) for `a` ≥ 0 given `gaussian` = e^{−a²} (A&S 7.1.26: `1 − (a₁t + … + a₅t⁵)·e^{−a²}`), so that a caller
    /// who also needs e^{−a²} computes it once.
    @inline(__always) @usableFromInline
    static func erfOfMagnitude(_ a: V, gaussian: V) -> V {
        let t = V(repeating: 1) / (V(repeating: 0.327_591_1) * a + V(repeating: 1))
        var p = V(repeating: 1.061_405_429)
        p = p * t + V(repeating: -1.453_152_027)
        p = p * t + V(repeating: 1.421_413_741)
        p = p * t + V(repeating: -0.284_496_736)
        p = p * t + V(repeating: 0.254_829_592)
        return V(repeating: 1) - p * t * gaussian
    }

    /// |x| and the sign bits of `x`.
    @inline(__always) @usableFromInline
    static func splitSign(_ x: V) -> (magnitude: V, sign: SIMD8<UInt32>) {
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        return (unsafeBitCast(bits & SIMD8<UInt32>(repeating: 0x7FFF_FFFF), to: V.self), bits & SIMD8<UInt32>(repeating: 0x8000_0000))
    }

    /// `y` (≥ 0) with the sign bits `sign` set: −y where the sign was negative.
    @inline(__always) @usableFromInline
    static func withSign(_ y: V, _ sign: SIMD8<UInt32>) -> V {
        unsafeBitCast(unsafeBitCast(y, to: SIMD8<UInt32>.self) | sign, to: V.self)
    }

    /// GELU, exact (erf) form: `0.5·x·(1 + erf(x/√2))` (`nn.GELU()` default).
    @inline(__always) @usableFromInline
    static func gelu(_ x: V) -> V {
        V(repeating: 0.5) * x * (V(repeating: 1) + erf(x * V(repeating: 0.707_106_781_186_547_5)))
    }

    /// The derivative of exact GELU: `Φ(x) + x·φ(x)`, `Φ(x) = 0.5·(1 + erf(x/√2))`, `φ(x) = e^{−x²/2}/√(2π)`;
    /// e^{−x²/2} is computed once, for both the erf and the density.
    @inline(__always) @usableFromInline
    static func geluDerivative(_ x: V) -> V {
        let (magnitude, sign) = splitSign(x * V(repeating: 0.707_106_781_186_547_5))
        let gaussian = exp(-(magnitude * magnitude))
        let cdf = V(repeating: 0.5) * (V(repeating: 1) + withSign(erfOfMagnitude(magnitude, gaussian: gaussian), sign))
        return cdf + x * (gaussian * V(repeating: 0.398_942_280_401_432_7))
    }

    /// SiLU: `x·σ(x) = x / (1 + e^{−x})` (`nn.SiLU`).
    @inline(__always) @usableFromInline
    static func silu(_ x: V) -> V {
        x / (V(repeating: 1) + exp(-x))
    }

    /// GELU as a `VectorFunction`.
    @usableFromInline enum GELU: VectorFunction {
        @inline(__always) @usableFromInline static func apply(_ x: V) -> V { gelu(x) }
    }

    /// SiLU as a `VectorFunction`.
    @usableFromInline enum SiLU: VectorFunction {
        @inline(__always) @usableFromInline static func apply(_ x: V) -> V { silu(x) }
    }

    /// Lane-wise maximum (`pointwiseMax` is not inlined in every build).
    @inline(__always) @usableFromInline
    static func maximum(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .> a) }
}

/// An element-wise function on eight lanes, as a type, so kernels generic over it are specialised and inline it.
@usableFromInline
protocol VectorFunction {
    static func apply(_ x: SIMD8<Float>) -> SIMD8<Float>
}
