/// Pearson's correlation coefficient as `scipy.stats.pearsonr` computes it: centre both series, divide
/// each by its norm, take the dot product, clip to [−1, 1]. A constant series gives NaN (scipy warns and
/// returns NaN; HEST lets it propagate through the mean).
public enum PearsonCorrelation {
    /// r(x, y) for two series of equal length (≥ 2).
    /// - Precondition: `x.count == y.count`.
    public static func coefficient(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "Pearson: series of different lengths")
        guard x.count >= 2 else { return .nan }
        let mx = x.reduce(0, +) / Double(x.count)
        let my = y.reduce(0, +) / Double(y.count)
        let dx = x.map { $0 - mx }, dy = y.map { $0 - my }
        let nx = dx.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let ny = dy.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard nx > 0, ny > 0 else { return .nan }
        var r = 0.0
        for i in dx.indices { r += (dx[i] / nx) * (dy[i] / ny) }
        return max(-1, min(1, r))
    }

    /// r for every column of `truth` against the same column of `prediction` ([N, T] each), [T].
    /// - Precondition: equal shapes.
    public static func perColumn(_ truth: FeatureMatrix<Double>, _ prediction: FeatureMatrix<Double>) -> [Double] {
        precondition(truth.rows == prediction.rows && truth.columns == prediction.columns, "Pearson: shapes differ")
        return (0 ..< truth.columns).map { column in
            coefficient((0 ..< truth.rows).map { truth[$0, column] }, (0 ..< truth.rows).map { prediction[$0, column] })
        }
    }
}
