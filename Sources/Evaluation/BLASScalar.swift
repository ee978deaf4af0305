import CLAPACK
import Compute

/// A floating-point type the evaluation kernels run in: `Float` for real features (as PyTorch stores them),
/// `Double` for the parity checks of `../shared/reference/eval-parity` (which match in Float64).
///
/// Conformers provide the BLAS level-3 product through OpenBLAS's cblas (`cblas_sgemm` / `cblas_dgemm`).
public protocol BLASScalar: BinaryFloatingPoint, Sendable, Codable where Self.RawSignificand: FixedWidthInteger {
    /// Row-major `C = alpha · op(A) · op(B) + beta · C`, with `op(A)` [m, k], `op(B)` [k, n] and `C` [m, n].
    /// `lda`, `ldb`, `ldc` are the row strides (elements) of the matrices as stored.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// `sqrt`, spelled once so generic code needs no Foundation.
    static func squareRoot(of value: Self) -> Self
}

extension Float: BLASScalar {
    /// `cblas_sgemm`, row-major.
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = BLASCoreSelection.current
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The correctly rounded square root.
    public static func squareRoot(of value: Float) -> Float { value.squareRoot() }
}

extension Double: BLASScalar {
    /// `cblas_dgemm`, row-major.
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        _ = BLASCoreSelection.current
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The correctly rounded square root.
    public static func squareRoot(of value: Double) -> Double { value.squareRoot() }
}
