/// Pillow's bicubic resampling weights for one axis, in its 8-bit fixed-point form
/// (Pillow `src/libImaging/Resample.c`: `precompute_coeffs` + `normalize_coeffs_8bpc`; distillation-spec.md §6.4).
///
/// For output index `o` of `outSize` over an input of `inSize` (box `[0, inSize)`):
/// `scale = in/out`, `filterscale = max(scale, 1)`, `support = 2·filterscale`, `center = (o + 0.5)·scale`,
/// `xmin = max(int(center − support + 0.5), 0)`, `xmax = min(int(center + support + 0.5), in)` (C truncation),
/// `k[x] = bicubic((x + xmin − center + 0.5) / filterscale)` for `x < xmax − xmin`, normalised by their sum, then
/// `kint = (int)(k·2²² ± 0.5)` (round half away from zero; `PRECISION_BITS` = 22). The cubic has `a = −0.5`.
/// Every double operation is done in Pillow's order, so the integer weights are Pillow's to the bit.
struct BicubicCoefficients: Sendable {
    /// Fixed-point precision of the weights (Pillow `PRECISION_BITS = 32 − 8 − 2`).
    static let precisionBits: Int32 = 22

    let inSize: Int
    let outSize: Int
    /// Stride of `weights` per output index (Pillow's `ksize`).
    let taps: Int
    /// Per output index: first input index, and number of inputs used.
    let first: [Int32]
    let count: [Int32]
    /// `outSize × taps` fixed-point weights; unused slots are 0.
    let weights: [Int32]
    /// The same weights over a window of exactly `taps` inputs that stays inside `[0, inSize)` (moved left at the
    /// right edge, padded with zero weights), so a pass can run a fixed number of taps; nil when `inSize < taps`.
    /// The sums are integers, so the extra zero terms and the order change nothing.
    let windowFirst: [Int32]?
    let windowWeights: [Int32]?

    init(inSize: Int, outSize: Int) {
        precondition(inSize > 0 && outSize > 0, "resampling needs positive sizes, got \(inSize) → \(outSize)")
        self.inSize = inSize
        self.outSize = outSize
        let scale = Double(inSize) / Double(outSize)
        let filterscale = max(scale, 1.0)
        let support = 2.0 * filterscale
        let taps = Int(support.rounded(.up)) * 2 + 1
        let inverseFilterscale = 1.0 / filterscale
        var first = [Int32](repeating: 0, count: outSize)
        var count = [Int32](repeating: 0, count: outSize)
        var weights = [Int32](repeating: 0, count: outSize * taps)
        var k = [Double](repeating: 0, count: taps)
        for output in 0..<outSize {
            let center = (Double(output) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize)
            let n = xmax - xmin
            var sum = 0.0
            for x in 0..<n {
                let w = Self.bicubic((Double(x + xmin) - center + 0.5) * inverseFilterscale)
                k[x] = w
                sum += w
            }
            for x in 0..<n {
                let normalised = sum != 0 ? k[x] / sum : k[x]
                weights[output * taps + x] = normalised < 0
                    ? Int32(-0.5 + normalised * Double(1 << Self.precisionBits))
                    : Int32(0.5 + normalised * Double(1 << Self.precisionBits))
            }
            first[output] = Int32(xmin)
            count[output] = Int32(n)
        }
        self.taps = taps
        self.first = first
        self.count = count
        self.weights = weights
        if inSize >= taps {
            var windowFirst = [Int32](repeating: 0, count: outSize)
            var windowWeights = [Int32](repeating: 0, count: outSize * taps)
            for output in 0..<outSize {
                let start = min(Int(first[output]), inSize - taps)
                let offset = Int(first[output]) - start
                windowFirst[output] = Int32(start)
                for x in 0..<Int(count[output]) { windowWeights[output * taps + offset + x] = weights[output * taps + x] }
            }
            self.windowFirst = windowFirst
            self.windowWeights = windowWeights
        } else {
            windowFirst = nil
            windowWeights = nil
        }
    }

    /// Pillow's `bicubic_filter` (Keys cubic convolution with `a = −0.5`), evaluated in its operation order.
    static func bicubic(_ value: Double) -> Double {
        let a = -0.5
        let x = abs(value)
        if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
        if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0.0
    }

    /// Pillow's `clip8`: the accumulator shifted down by the precision (an arithmetic shift, i.e. floor),
    /// clamped to 0…255.
    @inline(__always)
    static func clip8(_ accumulator: Int32) -> UInt8 {
        let value = accumulator >> precisionBits
        return value <= 0 ? 0 : (value >= 255 ? 255 : UInt8(truncatingIfNeeded: value))
    }
}
