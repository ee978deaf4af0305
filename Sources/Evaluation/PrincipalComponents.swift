/// Exact PCA (the top `components` eigenvectors of the centred training covariance), computed by LAPACK
/// `dsyevd` on XᵀX in Float64. Projections equal scikit-learn's `PCA(n_components, svd_solver='full')`
/// up to the sign of each component, which ridge predictions and correlations do not depend on.
///
/// HEST's pipeline uses sklearn's `'auto'` solver, which for most embedding sizes resolves to a randomized
/// SVD; its results differ from the exact ones by about 1e-3 on task means (`evaluation-spec.md` §3.2).
public struct PrincipalComponents: Sendable, Equatable {
    /// Column means of the training rows, [D].
    public let mean: [Double]
    /// The components, [components, D]: row c is the unit eigenvector of the c-th largest eigenvalue.
    public let axes: FeatureMatrix<Double>
    /// Eigenvalues of XᵀX (centred) in descending order, [components] (variance × N).
    public let eigenvalues: [Double]

    /// Fits `components` principal axes on the rows of `x` [N, D].
    /// - Throws: `EvaluationError` when `components` exceeds min(N, D) or is < 1, or LAPACK fails.
    public init(fitting x: FeatureMatrix<Double>, components: Int) throws(EvaluationError) {
        let n = x.rows, d = x.columns
        guard components >= 1, components <= min(n, d) else {
            throw EvaluationError("PCA to \(components) components needs at least that many samples and features; "
                + "got \(n) samples of dimension \(d)")
        }
        var mean = [Double](repeating: 0, count: d)
        x.withUnsafeBufferPointer { p in
            for i in 0 ..< n { for j in 0 ..< d { mean[j] += p[i * d + j] } }
        }
        for j in 0 ..< d { mean[j] /= Double(n) }
        var centred = x.values
        for i in 0 ..< n { for j in 0 ..< d { centred[i * d + j] -= mean[j] } }
        var covariance = [Double](repeating: 0, count: d * d)
        centred.withUnsafeBufferPointer { c in
            covariance.withUnsafeMutableBufferPointer { s in
                Double.gemm(transposeA: true, transposeB: false, m: d, n: d, k: n, alpha: 1, a: c.baseAddress!, lda: d,
                            b: c.baseAddress!, ldb: d, beta: 0, c: s.baseAddress!, ldc: d)
            }
        }
        let (values, vectors) = try LAPACK.symmetricEigen(covariance, n: d)
        var axes = [Double]()
        axes.reserveCapacity(components * d)
        for c in 0 ..< components {
            let column = d - 1 - c
            axes.append(contentsOf: vectors[column * d ..< (column + 1) * d])
        }
        self.mean = mean
        self.axes = FeatureMatrix(rows: components, columns: d, values: axes)
        eigenvalues = (0 ..< components).map { values[d - 1 - $0] }
    }

    /// The projections (x − mean) · axesᵀ, [N, components].
    /// - Precondition: `x.columns == mean.count`.
    public func transform(_ x: FeatureMatrix<Double>) -> FeatureMatrix<Double> {
        precondition(x.columns == mean.count, "PrincipalComponents: \(x.columns) columns, fitted on \(mean.count)")
        let d = x.columns, k = axes.rows
        var centred = x.values
        for i in 0 ..< x.rows { for j in 0 ..< d { centred[i * d + j] -= mean[j] } }
        var scores = [Double](repeating: 0, count: x.rows * k)
        if x.rows > 0 {
            centred.withUnsafeBufferPointer { c in
                axes.withUnsafeBufferPointer { v in
                    scores.withUnsafeMutableBufferPointer { s in
                        Double.gemm(transposeA: false, transposeB: true, m: x.rows, n: k, k: d, alpha: 1,
                                    a: c.baseAddress!, lda: d, b: v.baseAddress!, ldb: d, beta: 0, c: s.baseAddress!, ldc: k)
                    }
                }
            }
        }
        return FeatureMatrix(rows: x.rows, columns: k, values: scores)
    }
}
