/// One cuBLASLt matmul in cuBLAS's column-major terms: `D = α·op(A)·op(B)` with `op(A)` `m × k`, `op(B)` `k × n`,
/// `D` `m × n` (leading dimension `ldd`), `batch` problems `stride*` elements apart; A and B bf16, D bf16 or f32,
/// fp32 accumulation; optionally `D += bias` per row of D (the bias epilogue: bf16, `m` values).
///
/// Row-major helpers: `linear` (`nn.Linear`, `Y[rows, out] = X·Wᵀ`, W `[out, in]`) is `Yᵀ = W·Xᵀ`: A = W with
/// `transA` (stored `in × out`, ld in), B = X (stored `in × rows`), m = out, n = rows, k = in. The backward's
/// shapes: `linearInputGradient` (`dX = dY·W`), `linearWeightGradient` (`dW += dYᵀ·X`, β = 1), and per (image,
/// head) `attentionTransposedProduct` (`dV = Pᵀ·dO`, `dK = α·dSᵀ·Q`), `attentionProbabilityGradient`
/// (`dP = dO·Vᵀ`), `attentionQueryGradient` (`dQ = α·dS·K`).
public struct MatmulShape: Sendable, Hashable, CustomStringConvertible {
    public var transA: Bool
    public var transB: Bool
    public var m: Int
    public var n: Int
    public var k: Int
    public var lda: Int
    public var ldb: Int
    public var ldd: Int
    public var outputF32: Bool
    public var bias: Bool
    public var batch: Int = 1
    public var strideA: Int = 0
    public var strideB: Int = 0
    public var strideD: Int = 0

    /// `nn.Linear` on row-major buffers: `output[rows, outFeatures] = input[rows, inFeatures]·weightᵀ (+ bias)`.
    public static func linear(rows: Int, inFeatures: Int, outFeatures: Int, bias: Bool, outputF32: Bool = false) -> MatmulShape {
        MatmulShape(transA: true, transB: false, m: outFeatures, n: rows, k: inFeatures, lda: inFeatures, ldb: inFeatures,
                    ldd: outFeatures, outputF32: outputF32, bias: bias)
    }

    /// Attention scores per (image, head): row-major `S[i, j] = q_i·k_j` for `Q`, `K` `[L, hd]` contiguous per pair,
    /// `S` `[L, ldS]` f32 (ldS: `L` padded to 8). Column-major: `Sᵀ = K·Qᵀ`, A = K with `transA`.
    public static func attentionScores(tokens: Int, headDim: Int, ldScores: Int, pairs: Int) -> MatmulShape {
        MatmulShape(transA: true, transB: false, m: tokens, n: tokens, k: headDim, lda: headDim, ldb: headDim, ldd: ldScores,
                    outputF32: true, bias: false, batch: pairs, strideA: tokens * headDim, strideB: tokens * headDim,
                    strideD: tokens * ldScores)
    }

    /// Attention output per pair: row-major `O[i, e] = Σ_j P[i, j]·V[j, e]` for `P` `[L, ldP]` bf16, `V` `[L, hd]`.
    /// Column-major: `Oᵀ = Vᵀ·Pᵀ`, both stored as needed (no transposes).
    public static func attentionValues(tokens: Int, headDim: Int, ldProbabilities: Int, pairs: Int) -> MatmulShape {
        MatmulShape(transA: false, transB: false, m: headDim, n: tokens, k: tokens, lda: headDim, ldb: ldProbabilities,
                    ldd: headDim, outputF32: false, bias: false, batch: pairs, strideA: tokens * headDim,
                    strideB: tokens * ldProbabilities, strideD: tokens * headDim)
    }

    /// The input gradient of `nn.Linear` on row-major buffers: `dX[rows, in] = dY[rows, out]·W[out, in]`
    /// (`W` the forward's weight as stored). Column-major: `dXᵀ = Wᵀ·dYᵀ`, both stored as needed (A = W, ld in;
    /// B = dY, ld out; no transposes); m = in, n = rows, k = out. `outputF32` for an f32 gradient (a head's input).
    public static func linearInputGradient(rows: Int, inFeatures: Int, outFeatures: Int, outputF32: Bool = false) -> MatmulShape {
        MatmulShape(transA: false, transB: false, m: inFeatures, n: rows, k: outFeatures, lda: inFeatures, ldb: outFeatures,
                    ldd: inFeatures, outputF32: outputF32, bias: false)
    }

    /// The weight gradient of `nn.Linear`: `dW[out, in] (+)= dY[rows, out]ᵀ·X[rows, in]`, f32 (the flat gradient
    /// buffer; accumulate with β = 1). Column-major: `dWᵀ = Xᵀ·dY` — A = X (stored `in × rows`, ld `ldInput`, which
    /// is `in` for contiguous rows), B = dY with `transB` (stored `out × rows`, ld out); m = in, n = out, k = rows.
    public static func linearWeightGradient(rows: Int, inFeatures: Int, outFeatures: Int, ldInput: Int? = nil) -> MatmulShape {
        MatmulShape(transA: false, transB: true, m: inFeatures, n: outFeatures, k: rows, lda: ldInput ?? inFeatures,
                    ldb: outFeatures, ldd: inFeatures, outputF32: true, bias: false)
    }

    /// Attention backward per (image, head), `dV[j, e] = Σ_i P[i, j]·dO[i, e]` (`dV = Pᵀ·dO`), and with the same
    /// shape `dK = dSᵀ·Q` (pass `dS` for `P`, `Q` for `dO`, α = 1/√hd): `P`/`dS` `[L, ldP]` bf16, `dO`/`Q` `[L, hd]`,
    /// output `[L, hd]` bf16. Column-major: `dVᵀ = dOᵀ·P` — A = dO (stored `hd × L`), B = P with `transB` (stored
    /// `ldP × L`: row i of P is column i); m = hd, n = L, k = L.
    public static func attentionTransposedProduct(tokens: Int, headDim: Int, ldProbabilities: Int, pairs: Int) -> MatmulShape {
        MatmulShape(transA: false, transB: true, m: headDim, n: tokens, k: tokens, lda: headDim, ldb: ldProbabilities,
                    ldd: headDim, outputF32: false, bias: false, batch: pairs, strideA: tokens * headDim,
                    strideB: tokens * ldProbabilities, strideD: tokens * headDim)
    }

    /// Attention backward per pair, `dP[i, j] = Σ_e dO[i, e]·V[j, e]` (`dP = dO·Vᵀ`) into f32 rows of `ldScores`:
    /// the scores' shape (`attentionScores`) with A = V and B = dO.
    public static func attentionProbabilityGradient(tokens: Int, headDim: Int, ldScores: Int, pairs: Int) -> MatmulShape {
        attentionScores(tokens: tokens, headDim: headDim, ldScores: ldScores, pairs: pairs)
    }

    /// Attention backward per pair, `dQ[i, e] = α·Σ_j dS[i, j]·K[j, e]` (`dQ = α·dS·K`): the values' shape
    /// (`attentionValues`) with A = K and B = dS, α = 1/√hd given to the matmul.
    public static func attentionQueryGradient(tokens: Int, headDim: Int, ldScores: Int, pairs: Int) -> MatmulShape {
        attentionValues(tokens: tokens, headDim: headDim, ldProbabilities: ldScores, pairs: pairs)
    }

    /// Rows × columns of A, B, D as stored (column-major).
    var storedA: (rows: Int, columns: Int) { transA ? (k, m) : (m, k) }
    var storedB: (rows: Int, columns: Int) { transB ? (n, k) : (k, n) }

    /// Elements each operand spans: `(batch − 1)·stride + ld·(columns − 1) + rows`.
    var spanA: Int { span(storedA, ld: lda, stride: strideA) }
    var spanB: Int { span(storedB, ld: ldb, stride: strideB) }
    var spanD: Int { span((m, n), ld: ldd, stride: strideD) }

    private func span(_ size: (rows: Int, columns: Int), ld: Int, stride: Int) -> Int {
        (batch - 1) * stride + ld * (size.columns - 1) + size.rows
    }

    /// Whether leading dimensions cover the rows and the sizes are positive.
    public var isValid: Bool {
        m > 0 && n > 0 && k > 0 && batch > 0 && lda >= storedA.rows && ldb >= storedB.rows && ldd >= m
            && (batch == 1 || (strideA >= 0 && strideB >= 0 && strideD >= ldd * (n - 1) + m))
    }

    /// `gemm` with the transposes, m×n×k, the batch and the output: one row of a `CUDAProfiler` table.
    var profileName: String {
        "gemm \(transA ? "T" : "N")\(transB ? "T" : "N") \(m)×\(n)×\(k)\(batch > 1 ? " ×\(batch)" : "")"
            + "\(outputF32 ? " →f32" : "")\(bias ? " +bias" : "")"
    }

    public var description: String {
        "\(transA ? "T" : "N")\(transB ? "T" : "N") m=\(m) n=\(n) k=\(k) lda=\(lda) ldb=\(ldb) ldd=\(ldd) batch=\(batch)"
            + " bf16→\(outputF32 ? "f32" : "bf16")\(bias ? " +bias" : "")"
    }
}
