#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One-dimensional bicubic resampling as PyTorch's `F.interpolate(mode="bicubic", align_corners=False)`
/// computes it on the CPU, as a dense weight matrix `[outputSize, inputSize]` (row `i` holds the weights of
/// output sample `i`); 2-D resizing applies it along W, then along H.
///
/// Arithmetic, in float32 like PyTorch's kernels (distillation-spec.md §2.8; [pt:aten/src/ATen/native/UpSample.h],
/// [pt:aten/src/ATen/native/cpu/UpSampleKernel.cpp]):
/// - source scale `s = Float(1/scaleFactor)` when a scale factor is given, else `in/out`;
/// - **without antialias**: `src = s·(i + 0.5) − 0.5` (not clamped), `i0 = floor(src)` (at most `in − 1`),
///   `t = src − i0` clamped to [0, 1]; taps `i0−1 … i0+2` clamped to `[0, in−1]` with Keys' cubic
///   convolution weights at `A = −0.75`: `cc2(t+1), cc1(t), cc1(1−t), cc2(2−t)`,
///   `cc1(x) = ((A+2)x − (A+3))x² + 1`, `cc2(x) = ((Ax − 5A)x + 8A)x − 4A`;
/// - **with antialias** (Pillow's filter, `A = −0.5`): `support = 2s` if `s ≥ 1` else 2, `invscale = 1/s` if
///   `s ≥ 1` else 1, `center = s·(i + 0.5)`, `xmin = max(Int(center − support + 0.5), 0)`,
///   `xsize = min(Int(center + support + 0.5), in) − xmin`; weights `filter((j + xmin − center + 0.5)·invscale)`
///   for `j < xsize`, divided by their sum.
public struct BicubicResize: Sendable, Hashable {
    /// PyTorch's `scale_factor` for this axis (output/input), or nil when the output size is given instead.
    public var scaleFactor: Double?
    /// `antialias=True` (Pillow-style support widening when downsampling).
    public var antialias: Bool

    public init(scaleFactor: Double? = nil, antialias: Bool) {
        self.scaleFactor = scaleFactor
        self.antialias = antialias
    }

    /// The output size PyTorch derives from a scale factor: `floor(inputSize · scaleFactor)` in double.
    public static func outputSize(inputSize: Int, scaleFactor: Double) -> Int {
        Int((Double(inputSize) * scaleFactor).rounded(.down))
    }

    /// The weight matrix `[outputSize, inputSize]`, row-major.
    /// - Precondition: both sizes ≥ 1.
    public func weights(inputSize: Int, outputSize: Int) -> [Float] {
        precondition(inputSize >= 1 && outputSize >= 1, "bicubic resize \(inputSize) → \(outputSize)")
        let scale: Float = if let scaleFactor, scaleFactor > 0 { Float(1.0 / scaleFactor) } else {
            Float(inputSize) / Float(outputSize)
        }
        var matrix = [Float](repeating: 0, count: outputSize * inputSize)
        for output in 0..<outputSize {
            let row = output * inputSize
            if antialias {
                for (index, weight) in Self.antialiasedTaps(output: output, inputSize: inputSize, scale: scale) {
                    matrix[row + index] += weight
                }
            } else {
                for (index, weight) in Self.cubicTaps(output: output, inputSize: inputSize, scale: scale) {
                    matrix[row + index] += weight
                }
            }
        }
        return matrix
    }

    /// The four taps of the non-antialiased kernel (indices clamped, so two taps may share an index).
    static func cubicTaps(output: Int, inputSize: Int, scale: Float) -> [(Int, Float)] {
        let source = scale * (Float(output) + 0.5) - 0.5
        let index = min(Int(floorf(source)), inputSize - 1)
        let t = min(max(source - Float(index), 0), 1)
        let a: Float = -0.75
        let weights = [cubic2(t + 1, a), cubic1(t, a), cubic1(1 - t, a), cubic2(2 - t, a)]
        return (0..<4).map { tap in (min(max(index - 1 + tap, 0), inputSize - 1), weights[tap]) }
    }

    /// The taps of the antialiased kernel, normalised to sum 1.
    static func antialiasedTaps(output: Int, inputSize: Int, scale: Float) -> [(Int, Float)] {
        let support: Float = scale >= 1 ? 2 * scale : 2
        let inverseScale: Float = scale >= 1 ? 1 / scale : 1
        let center = scale * (Float(output) + 0.5)
        let first = max(Int(center - support + 0.5), 0)
        let maximumTaps = Int(ceilf(support)) * 2 + 1
        let size = min(max(min(Int(center + support + 0.5), inputSize) - first, 0), maximumTaps)
        var taps: [(Int, Float)] = []
        var total: Float = 0
        for tap in 0..<size {
            let weight = antialiasFilter((Float(tap + first) - center + 0.5) * inverseScale)
            taps.append((first + tap, weight))
            total += weight
        }
        if total != 0 { taps = taps.map { ($0.0, $0.1 / total) } }
        return taps
    }

    /// Keys' cubic convolution for |x| ≤ 1.
    static func cubic1(_ x: Float, _ a: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
    /// Keys' cubic convolution for 1 < |x| < 2.
    static func cubic2(_ x: Float, _ a: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }

    /// Pillow's bicubic filter (`a = −0.5`), as PyTorch's antialiased kernel uses it.
    static func antialiasFilter(_ value: Float) -> Float {
        let x = abs(value)
        if x < 1 { return cubic1(x, -0.5) }
        if x < 2 { return cubic2(x, -0.5) }
        return 0
    }
}
