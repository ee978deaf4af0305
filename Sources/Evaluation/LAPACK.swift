import CLAPACK
import Compute

/// The LAPACK routines the evaluation needs, from OpenBLAS (Fortran ABI, column-major; prototypes in
/// `Sources/CLAPACK/shim.h`), after `BLASCoreSelection` has chosen OpenBLAS's kernels for the process (as every
/// BLAS caller does, so results do not depend on which caller came first). Matrices here are symmetric or handed over column-major as documented.
enum LAPACK {
    /// Eigen-decomposition of the symmetric n × n `matrix` (either triangle; row- and column-major are
    /// the same for a symmetric matrix) with `dsyevd` (divide and conquer).
    /// - Returns: eigenvalues in ascending order and the eigenvectors, vector j contiguous at
    ///   `vectors[j·n ..< (j+1)·n]` (LAPACK's column j).
    /// - Throws: `EvaluationError` when `dsyevd` reports failure (`info` ≠ 0).
    static func symmetricEigen(_ matrix: [Double], n: Int) throws(EvaluationError) -> (values: [Double], vectors: [Double]) {
        precondition(matrix.count == n * n)
        _ = BLASCoreSelection.current
        var a = matrix
        var values = [Double](repeating: 0, count: n)
        var size = Int32(n), lda = Int32(max(1, n)), info: Int32 = 0
        var jobz = CChar(UInt8(ascii: "V")), uplo = CChar(UInt8(ascii: "U"))
        // Workspace query.
        var workQuery = 0.0
        var iworkQuery: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        dsyevd_(&jobz, &uplo, &size, &a, &lda, &values, &workQuery, &lwork, &iworkQuery, &liwork, &info, 1, 1)
        guard info == 0 else { throw EvaluationError("LAPACK dsyevd workspace query failed (info \(info))") }
        lwork = Int32(workQuery)
        liwork = iworkQuery
        var work = [Double](repeating: 0, count: max(1, Int(lwork)))
        var iwork = [Int32](repeating: 0, count: max(1, Int(liwork)))
        dsyevd_(&jobz, &uplo, &size, &a, &lda, &values, &work, &lwork, &iwork, &liwork, &info, 1, 1)
        guard info == 0 else {
            throw EvaluationError("LAPACK dsyevd failed on a \(n) × \(n) covariance (info \(info))")
        }
        return (values, a)
    }

    /// Solves A X = B for the symmetric positive-definite n × n `a` with `dposv` (Cholesky).
    /// - Parameters:
    ///   - a: A, n × n symmetric.
    ///   - b: B, column-major n × `columns` (column r contiguous at `b[r·n ..< (r+1)·n]`); replaced by X.
    /// - Throws: `EvaluationError` when A is not positive definite or `dposv` fails.
    static func solvePositiveDefinite(_ a: [Double], n: Int, _ b: inout [Double], columns: Int) throws(EvaluationError) {
        precondition(a.count == n * n && b.count == n * columns)
        _ = BLASCoreSelection.current
        var factor = a
        var size = Int32(n), nrhs = Int32(columns), lda = Int32(max(1, n)), ldb = Int32(max(1, n)), info: Int32 = 0
        var uplo = CChar(UInt8(ascii: "U"))
        dposv_(&uplo, &size, &nrhs, &factor, &lda, &b, &ldb, &info, 1)
        guard info == 0 else {
            throw EvaluationError(info > 0
                ? "LAPACK dposv: the \(n) × \(n) ridge system is not positive definite (leading minor \(info))"
                : "LAPACK dposv: invalid argument \(-info)")
        }
    }
}
