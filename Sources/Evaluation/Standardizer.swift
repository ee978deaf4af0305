/// Per-column standardisation fitted on training rows, as scikit-learn's `StandardScaler()` does it:
/// z = (x − mean) / scale with the population standard deviation (ddof = 0); a constant column gets
/// scale 1 (sklearn `_is_constant_feature`: var ≤ n·ε·var + (n·mean·ε)²).
public struct Standardizer: Sendable, Equatable {
    /// Column means, [D].
    public let mean: [Double]
    /// Column scales, [D] (the standard deviation, or 1 for constant columns).
    public let scale: [Double]

    /// Fits means and scales on the rows of `x` [N, D].
    /// - Precondition: `x.rows > 0`.
    public init(fitting x: FeatureMatrix<Double>) {
        precondition(x.rows > 0, "Standardizer: no rows")
        let n = Double(x.rows)
        let d = x.columns
        var mean = [Double](repeating: 0, count: d)
        var variance = [Double](repeating: 0, count: d)
        x.withUnsafeBufferPointer { p in
            for i in 0 ..< x.rows { for j in 0 ..< d { mean[j] += p[i * d + j] } }
            for j in 0 ..< d { mean[j] /= n }
            for i in 0 ..< x.rows {
                for j in 0 ..< d {
                    let deviation = p[i * d + j] - mean[j]
                    variance[j] += deviation * deviation
                }
            }
        }
        let epsilon = Double.ulpOfOne
        self.mean = mean
        scale = (0 ..< d).map { j in
            let v = variance[j] / n
            let constant = v <= n * epsilon * v + (n * mean[j] * epsilon) * (n * mean[j] * epsilon)
            return constant ? 1 : v.squareRoot()
        }
    }

    /// (x − mean) / scale for every row of `x` [N, D].
    /// - Precondition: `x.columns == mean.count`.
    public func transform(_ x: FeatureMatrix<Double>) -> FeatureMatrix<Double> {
        precondition(x.columns == mean.count, "Standardizer: \(x.columns) columns, fitted on \(mean.count)")
        let d = x.columns
        var out = x
        out.withUnsafeMutableBufferPointer { p in
            for i in 0 ..< x.rows { for j in 0 ..< d { p[i * d + j] = (p[i * d + j] - mean[j]) / scale[j] } }
        }
        return out
    }
}
