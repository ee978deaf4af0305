/// Statistics computed the way NumPy computes them, so that 3-decimal results round identically to the
/// Python references (plismbench's aggregation, HEST's fold statistics).
public enum NumPyStatistics {
    /// `np.sum`: NumPy's pairwise summation (blocks of 128, eight accumulators; `pairwise_sum` in
    /// numpy/_core/src/umath/loops_utils.h.src).
    public static func sum(_ values: [Double]) -> Double {
        values.withUnsafeBufferPointer { pairwiseSum($0[...]) }
    }

    private static func pairwiseSum(_ a: Slice<UnsafeBufferPointer<Double>>) -> Double {
        let n = a.count
        let base = a.startIndex
        if n < 8 {
            var result = 0.0
            for i in 0 ..< n { result += a[base + i] }
            return result
        }
        if n <= 128 {
            var r = (0 ..< 8).map { a[base + $0] }
            var i = 8
            while i < n - n % 8 {
                for j in 0 ..< 8 { r[j] += a[base + i + j] }
                i += 8
            }
            var result = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n {
                result += a[base + i]
                i += 1
            }
            return result
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSum(a[base ..< base + half]) + pairwiseSum(a[(base + half)...])
    }

    /// `np.mean`: sum / n (NaN for no values).
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : sum(values) / Double(values.count)
    }

    /// `np.std(ddof=0)`: the population standard deviation √(Σ(x − x̄)² / n).
    public static func standardDeviation(_ values: [Double]) -> Double {
        let average = mean(values)
        return (sum(values.map { ($0 - average) * ($0 - average) }) / Double(values.count)).squareRoot()
    }

    /// `np.median`: the middle value, or the mean of the two middle values.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (0.0 + sorted[middle - 1] + sorted[middle]) / 2
    }

    /// `np.quantile(x, q)` with the default "linear" method: virtual index (n − 1)·q between neighbours,
    /// interpolated as NumPy's `_lerp` (from the upper neighbour when the fraction is ≥ ½).
    public static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let n = Double(sorted.count)
        let virtualIndex = (n - 1) * q
        let previous = max(0, min(sorted.count - 1, Int(virtualIndex.rounded(.down))))
        let next = min(sorted.count - 1, previous + 1)
        let gamma = virtualIndex - virtualIndex.rounded(.down)
        let a = sorted[previous], b = sorted[next]
        let difference = b - a
        return gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma
    }

    /// `np.quantile(x, .75) − np.quantile(x, .25)`.
    public static func interquartileRange(_ values: [Double]) -> Double {
        quantile(values, 0.75) - quantile(values, 0.25)
    }

    /// `np.round(x, decimals)` (what pandas' `DataFrame.round` calls): x · 10^d rounded half to even,
    /// divided by 10^d.
    public static func round(_ value: Double, decimals: Int) -> Double {
        var scale = 1.0
        for _ in 0 ..< decimals { scale *= 10 }
        return (value * scale).rounded(.toNearestOrEven) / scale
    }
}
