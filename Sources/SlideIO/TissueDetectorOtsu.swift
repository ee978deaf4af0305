/// Otsu's threshold on an 8-bit signal.
///
/// Source: N. Otsu, "A threshold selection method from gray-level histograms", IEEE Trans. SMC 9(1), 1979.
/// For a 256-bin histogram with probabilities `pᵢ = nᵢ / N`, the threshold `t` splits the values into
/// class 0 = `{i ≤ t}` and class 1 = `{i > t}` with weights `ω₀ = Σ_{i≤t} pᵢ`, `ω₁ = 1 − ω₀` and means
/// `μ₀ = Σ_{i≤t} i·pᵢ / ω₀`, `μ₁ = Σ_{i>t} i·pᵢ / ω₁`; Otsu's `t*` maximises the between-class variance
/// `σ²_B(t) = ω₀ ω₁ (μ₀ − μ₁)²` (equivalently, minimises the within-class variance). Ties go to the smallest `t`,
/// and only `t` with both classes non-empty are candidates: this is OpenCV's `THRESH_OTSU`
/// (`getThreshVal_Otsu_8u`), which CLAM uses, and pixels `> t*` are the foreground.
///
/// The sums run over exact integer counts (`Int`) and the criterion is evaluated as
/// `σ²_B ∝ (N·S₀ − n₀·S)² / (n₀·n₁)` in `Double`, with `n₀ = Σ_{i≤t} nᵢ`, `S₀ = Σ_{i≤t} i·nᵢ`, `S = Σ i·nᵢ`.
public enum OtsuThreshold {
    /// The 256-bin histogram of 8-bit values.
    public static func histogram(of values: [UInt8]) -> [Int] {
        var counts = [Int](repeating: 0, count: 256)
        values.withUnsafeBufferPointer { buffer in
            for value in buffer { counts[Int(value)] += 1 }
        }
        return counts
    }

    /// Otsu's threshold `t*` (0…254) of a histogram: values `> t*` are foreground.
    /// - Parameter histogram: counts per value; any length ≤ 256 (missing bins count as 0); counts ≥ 0.
    /// - Returns: nil when fewer than two distinct values occur (no split exists).
    public static func threshold(histogram: [Int]) -> Int? {
        precondition(histogram.count <= 256, "an 8-bit histogram has at most 256 bins, got \(histogram.count)")
        var total = 0
        var totalSum = 0
        for (value, count) in histogram.enumerated() {
            precondition(count >= 0, "negative count \(count) in bin \(value)")
            total += count
            totalSum += value * count
        }
        guard total > 0 else { return nil }
        let n = Double(total)
        let s = Double(totalSum)
        var best: Int?
        var bestScore = -1.0
        var n0 = 0
        var s0 = 0
        for t in 0 ..< histogram.count {
            n0 += histogram[t]
            s0 += t * histogram[t]
            let n1 = total - n0
            if n0 == 0 || n1 == 0 { continue }
            // N²·σ²_B·(n0·n1)/N² … up to the positive factor 1/N⁴: (N·S0 − n0·S)² / (n0·n1).
            let difference = n * Double(s0) - Double(n0) * s
            let score = difference * difference / (Double(n0) * Double(n1))
            if score > bestScore {
                bestScore = score
                best = t
            }
        }
        return best
    }

    /// Otsu's threshold of 8-bit values; nil when fewer than two distinct values occur.
    public static func threshold(of values: [UInt8]) -> Int? {
        threshold(histogram: histogram(of: values))
    }
}
