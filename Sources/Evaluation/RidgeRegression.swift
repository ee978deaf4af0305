/// Multi-target ridge regression without intercept, solved in closed form: W = (XᵀX + αI)⁻¹ XᵀY by
/// Cholesky (LAPACK `dposv`) in Float64. HEST fits the same objective with sklearn's iterative `lsqr`
/// solver (`Ridge(solver='lsqr', fit_intercept=False)`), which stops at its tolerance: exact and lsqr
/// correlations agree to about 1e-4 (`evaluation-spec.md` §3.2).
public struct RidgeRegression: Sendable, Equatable {
    /// The coefficients, [D, T].
    public let coefficients: FeatureMatrix<Double>
    /// The penalty α.
    public let alpha: Double

    /// HEST's penalty: α = 100 / (D · T) for D features and T targets (HE `bench/trainer.py`); 0.0078125
    /// for 256 PCA components and 50 genes.
    public static func hestAlpha(features: Int, targets: Int) -> Double {
        100 / (Double(features) * Double(targets))
    }

    /// Fits X [N, D] to Y [N, T] with penalty `alpha`.
    /// - Throws: `EvaluationError` when the row counts differ or the system is not positive definite.
    public init(fitting x: FeatureMatrix<Double>, targets y: FeatureMatrix<Double>, alpha: Double) throws(EvaluationError) {
        guard x.rows == y.rows else {
            throw EvaluationError("ridge: \(x.rows) feature rows but \(y.rows) target rows")
        }
        let n = x.rows, d = x.columns, t = y.columns
        var gram = [Double](repeating: 0, count: d * d)
        var rhs = [Double](repeating: 0, count: t * d)  // column-major [d, t]: XᵀY transposed = YᵀX rows
        x.withUnsafeBufferPointer { px in
            y.withUnsafeBufferPointer { py in
                gram.withUnsafeMutableBufferPointer { g in
                    Double.gemm(transposeA: true, transposeB: false, m: d, n: d, k: n, alpha: 1, a: px.baseAddress!, lda: d,
                                b: px.baseAddress!, ldb: d, beta: 0, c: g.baseAddress!, ldc: d)
                }
                rhs.withUnsafeMutableBufferPointer { r in
                    // (YᵀX) [t, d] row-major is XᵀY [d, t] column-major.
                    Double.gemm(transposeA: true, transposeB: false, m: t, n: d, k: n, alpha: 1, a: py.baseAddress!, lda: t,
                                b: px.baseAddress!, ldb: d, beta: 0, c: r.baseAddress!, ldc: d)
                }
            }
        }
        for j in 0 ..< d { gram[j * d + j] += alpha }
        try LAPACK.solvePositiveDefinite(gram, n: d, &rhs, columns: t)
        var w = [Double](repeating: 0, count: d * t)
        for target in 0 ..< t { for j in 0 ..< d { w[j * t + target] = rhs[target * d + j] } }
        coefficients = FeatureMatrix(rows: d, columns: t, values: w)
        self.alpha = alpha
    }

    /// Predictions X · W, [N, T].
    /// - Precondition: `x.columns == coefficients.rows`.
    public func predict(_ x: FeatureMatrix<Double>) -> FeatureMatrix<Double> {
        precondition(x.columns == coefficients.rows, "ridge: \(x.columns) features, fitted on \(coefficients.rows)")
        let t = coefficients.columns
        var out = [Double](repeating: 0, count: x.rows * t)
        if x.rows > 0 {
            x.withUnsafeBufferPointer { px in
                coefficients.withUnsafeBufferPointer { pw in
                    out.withUnsafeMutableBufferPointer { po in
                        Double.gemm(transposeA: false, transposeB: false, m: x.rows, n: t, k: x.columns, alpha: 1,
                                    a: px.baseAddress!, lda: x.columns, b: pw.baseAddress!, ldb: t, beta: 0,
                                    c: po.baseAddress!, ldc: t)
                    }
                }
            }
        }
        return FeatureMatrix(rows: x.rows, columns: t, values: out)
    }
}
