import Testing
@testable import CUDA

/// The backward's GEMM shapes (`MatmulShape`), checked by doing what cuBLASLt does with them: a column-major
/// `D = α·op(A)·op(B) + β·D` over the stored operands (leading dimensions, transposes, strided batches), on small
/// pseudo-random row-major buffers, against the row-major formulas of `Backend.linearBackward` and
/// `Backend.attentionBackward` written out directly.
@Suite struct BackwardMatmulShapeTests {
    /// Column-major GEMM as cuBLASLt defines it for `shape`, in Double.
    static func gemm(_ s: MatmulShape, a: [Double], b: [Double], d: inout [Double], alpha: Double = 1, beta: Double = 0) {
        precondition(s.isValid && a.count >= s.spanA && b.count >= s.spanB && d.count >= s.spanD)
        for p in 0..<s.batch {
            for j in 0..<s.n {
                for i in 0..<s.m {
                    var sum = 0.0
                    for l in 0..<s.k {
                        let av = s.transA ? a[p * s.strideA + i * s.lda + l] : a[p * s.strideA + l * s.lda + i]
                        let bv = s.transB ? b[p * s.strideB + l * s.ldb + j] : b[p * s.strideB + j * s.ldb + l]
                        sum += av * bv
                    }
                    let index = p * s.strideD + j * s.ldd + i
                    d[index] = beta == 0 ? alpha * sum : alpha * sum + beta * d[index]   // C is not read when β = 0
                }
            }
        }
    }

    static func random(_ count: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
    }

    @Test func linearInputAndWeightGradients() {
        let rows = 5, inFeatures = 4, outFeatures = 3
        let x = Self.random(rows * inFeatures, seed: 1), w = Self.random(outFeatures * inFeatures, seed: 2)
        let dy = Self.random(rows * outFeatures, seed: 3), start = Self.random(outFeatures * inFeatures, seed: 4)
        // dX = dY·W (row-major).
        var dx = [Double](repeating: .nan, count: rows * inFeatures)
        Self.gemm(.linearInputGradient(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures), a: w, b: dy, d: &dx)
        for r in 0..<rows {
            for i in 0..<inFeatures {
                let expected = (0..<outFeatures).reduce(0.0) { $0 + dy[r * outFeatures + $1] * w[$1 * inFeatures + i] }
                #expect(abs(dx[r * inFeatures + i] - expected) < 1e-12, "dX[\(r), \(i)]")
            }
        }
        // dW += dYᵀ·X (β = 1 onto a start value).
        let shape = MatmulShape.linearWeightGradient(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
        #expect(shape.outputF32 && !shape.bias && shape.transB && !shape.transA)
        var dw = start
        Self.gemm(shape, a: x, b: dy, d: &dw, beta: 1)
        for o in 0..<outFeatures {
            for i in 0..<inFeatures {
                let expected = start[o * inFeatures + i] + (0..<rows).reduce(0.0) { $0 + dy[$1 * outFeatures + o] * x[$1 * inFeatures + i] }
                #expect(abs(dw[o * inFeatures + i] - expected) < 1e-12, "dW[\(o), \(i)]")
            }
        }
        // Strided input rows (the CLS rows of [B, L, D] tokens: ld L·D).
        let stride = 3 * inFeatures
        var strided = [Double](repeating: 9, count: rows * stride)
        for r in 0..<rows {
            for i in 0..<inFeatures { strided[r * stride + i] = x[r * inFeatures + i] }
        }
        var dwStrided = start
        Self.gemm(.linearWeightGradient(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, ldInput: stride),
                  a: strided, b: dy, d: &dwStrided, beta: 1)
        #expect(zip(dwStrided, dw).allSatisfy { abs($0 - $1) < 1e-12 })
    }

    @Test func attentionGradientsPerPair() {
        let tokens = 5, hd = 3, ld = LaunchConfiguration.padded(tokens), pairs = 2, alpha = 0.5
        let q = Self.random(pairs * tokens * hd, seed: 5), k = Self.random(pairs * tokens * hd, seed: 6)
        let v = Self.random(pairs * tokens * hd, seed: 7), dO = Self.random(pairs * tokens * hd, seed: 8)
        // P and dS in rows of ld, padding columns holding garbage that must not be read.
        var p = Self.random(pairs * tokens * ld, seed: 9), ds = Self.random(pairs * tokens * ld, seed: 10)
        for index in p.indices where index % ld >= tokens { p[index] = .nan; ds[index] = .nan }
        func at(_ m: [Double], _ pair: Int, _ row: Int, _ column: Int, _ width: Int, rows: Int = tokens) -> Double {
            m[pair * rows * width + row * width + column]
        }
        var dv = [Double](repeating: .nan, count: pairs * tokens * hd)
        Self.gemm(.attentionTransposedProduct(tokens: tokens, headDim: hd, ldProbabilities: ld, pairs: pairs), a: dO, b: p, d: &dv)
        var dk = [Double](repeating: .nan, count: pairs * tokens * hd)
        Self.gemm(.attentionTransposedProduct(tokens: tokens, headDim: hd, ldProbabilities: ld, pairs: pairs), a: q, b: ds, d: &dk,
                  alpha: alpha)
        var dq = [Double](repeating: .nan, count: pairs * tokens * hd)
        Self.gemm(.attentionQueryGradient(tokens: tokens, headDim: hd, ldScores: ld, pairs: pairs), a: k, b: ds, d: &dq, alpha: alpha)
        var dp = [Double](repeating: 7, count: pairs * tokens * ld)
        Self.gemm(.attentionProbabilityGradient(tokens: tokens, headDim: hd, ldScores: ld, pairs: pairs), a: v, b: dO, d: &dp)
        for pair in 0..<pairs {
            for j in 0..<tokens {
                for e in 0..<hd {
                    let expectedV = (0..<tokens).reduce(0.0) { $0 + at(p, pair, $1, j, ld) * at(dO, pair, $1, e, hd) }
                    let expectedK = alpha * (0..<tokens).reduce(0.0) { $0 + at(ds, pair, $1, j, ld) * at(q, pair, $1, e, hd) }
                    let expectedQ = alpha * (0..<tokens).reduce(0.0) { $0 + at(ds, pair, j, $1, ld) * at(k, pair, $1, e, hd) }
                    #expect(abs(at(dv, pair, j, e, hd) - expectedV) < 1e-12, "dV[\(pair), \(j), \(e)]")
                    #expect(abs(at(dk, pair, j, e, hd) - expectedK) < 1e-12, "dK[\(pair), \(j), \(e)]")
                    #expect(abs(at(dq, pair, j, e, hd) - expectedQ) < 1e-12, "dQ[\(pair), \(j), \(e)]")
                }
                for i in 0..<tokens {
                    let expectedP = (0..<hd).reduce(0.0) { $0 + at(dO, pair, i, $1, hd) * at(v, pair, j, $1, hd) }
                    #expect(abs(at(dp, pair, i, j, ld) - expectedP) < 1e-12, "dP[\(pair), \(i), \(j)]")
                }
                // The padding columns of dP are left alone.
                for column in tokens..<ld { #expect(at(dp, pair, j, column, ld) == 7) }
            }
        }
    }
}
