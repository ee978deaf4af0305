import Foundation
import Testing
@testable import Compute

/// CPU kernels on small inputs with hand-computed results (values worked out in the comments), plus
/// `VectorMath` against libm. Model-level parity with timm is in ModelsTests.
@Suite struct KernelTests {
    let backend = CPUBackend(threads: 2)

    func expectClose(_ actual: [Float], _ expected: [Float], tolerance: Float = 1e-6,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= tolerance, "max |Δ| \(worst): \(actual) vs \(expected)", sourceLocation: sourceLocation)
    }

    @Test func gemmAndLinear() {
        // [[1,2,3],[4,5,6]] · [[1,2],[3,4],[5,6]] = [[22,28],[49,64]]
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        let c = Tensor(shape: [2, 2], values: [1, 1, 1, 1])
        backend.gemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 3, alpha: 1, a: a, lda: 3, b: b, ldb: 2,
                     beta: 0, c: c, ldc: 2)
        expectClose(c.scalars(), [22, 28, 49, 64])
        // Linear: x [2,3] · Wᵀ with W [2,3] = [[1,0,-1],[2,1,0]], bias [0.5, -1] → [[-1.5, 3], [-1.5, 12]]
        let w = Tensor(shape: [2, 3], values: [1, 0, -1, 2, 1, 0])
        let bias = Tensor(shape: [2], values: [0.5, -1])
        let y = Tensor(shape: [2, 2])
        backend.linear(input: a, weight: w, bias: bias, output: y, rows: 2, inFeatures: 3, outFeatures: 2)
        expectClose(y.scalars(), [-1.5, 3, -1.5, 12])
        // Batched: the same product twice, second batch scaled by 2 in A.
        let a2 = Tensor(shape: [2, 2, 3], values: [1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12])
        let c2 = Tensor(shape: [2, 2, 2])
        backend.batchedGemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 3, alpha: 1, a: a2, lda: 3, strideA: 6,
                            b: b, ldb: 2, strideB: 0, beta: 0, c: c2, ldc: 2, strideC: 4, batch: 2)
        expectClose(c2.scalars(), [22, 28, 49, 64, 44, 56, 98, 128])
    }

    @Test func gemmSplitOverThreadsMatchesTheDefinition() {
        // Shapes that split by rows (m = 100), by columns (m = 4, n = 100) and not at all (m = n = 8), with every
        // transpose, α = 0.5 and β = 2 on a non-zero C: against C = α·op(A)·op(B) + β·C computed here in Double.
        for (m, n, k) in [(100, 7, 5), (4, 100, 6), (8, 8, 3)] {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let a = (0..<(m * k)).map { Float(($0 * 37) % 19) / 7 - 1 }
                    let b = (0..<(k * n)).map { Float(($0 * 23) % 17) / 5 - 1.5 }
                    let c0 = (0..<(m * n)).map { Float($0 % 5) - 2 }
                    let c = Tensor(shape: [m, n], values: c0)
                    backend.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5,
                                 a: Tensor(shape: [m * k], values: a), lda: transposeA ? m : k,
                                 b: Tensor(shape: [k * n], values: b), ldb: transposeB ? k : n, beta: 2, c: c, ldc: n)
                    var expected = [Float](repeating: 0, count: m * n)
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = 0.0
                            for p in 0..<k {
                                let x = transposeA ? a[p * m + i] : a[i * k + p]
                                let y = transposeB ? b[j * k + p] : b[p * n + j]
                                sum += Double(x) * Double(y)
                            }
                            expected[i * n + j] = Float(0.5 * sum + 2 * Double(c0[i * n + j]))
                        }
                    }
                    expectClose(c.scalars(), expected, tolerance: 1e-5)
                }
            }
        }
        // linear split by rows, with a bias: row r of x is (r, 1) and W = [[1, 2], [3, −1]], b = [0.5, 1].
        let rows = 70
        let x = Tensor(shape: [rows, 2], values: (0..<rows).flatMap { [Float($0), 1] })
        let y = Tensor(shape: [rows, 2])
        backend.linear(input: x, weight: Tensor(shape: [2, 2], values: [1, 2, 3, -1]), bias: Tensor(shape: [2], values: [0.5, 1]),
                       output: y, rows: rows, inFeatures: 2, outFeatures: 2)
        expectClose(y.scalars(), (0..<rows).flatMap { [Float($0) + 2.5, 3 * Float($0)] })
    }

    @Test func layerNorm() {
        // Row [1,2,3,4]: mean 2.5, biased variance 1.25 → (x − 2.5)/√(1.25 + 1e-6) = ±0.4472134, ±1.3416402;
        // then ·w + b with w = [1, 2, 1, 0.5], b = [0, 0, 1, 0].
        // Row [5,5,5,5]: constant → 0·w + b.
        let x = Tensor(shape: [2, 4], values: [1, 2, 3, 4, 5, 5, 5, 5])
        let w = Tensor(shape: [4], values: [1, 2, 1, 0.5])
        let b = Tensor(shape: [4], values: [0, 0, 1, 0])
        let y = Tensor(shape: [2, 4])
        backend.layerNorm(input: x, weight: w, bias: b, output: y, rows: 2, dim: 4, eps: 1e-6)
        expectClose(y.scalars(), [-1.3416402, -0.8944268, 1.4472134, 0.6708201, 0, 0, 1, 0], tolerance: 2e-6)
        // A row longer than one vector with a tail (19 = 16 + 3): x = 0…18, mean 9, variance 30.
        let long = Tensor(shape: [1, 19], values: (0..<19).map(Float.init))
        let ones = Tensor(shape: [19], values: [Float](repeating: 1, count: 19))
        let zeros = Tensor(shape: [19], values: [Float](repeating: 0, count: 19))
        let out = Tensor(shape: [1, 19])
        backend.layerNorm(input: long, weight: ones, bias: zeros, output: out, rows: 1, dim: 19, eps: 1e-6)
        expectClose(out.scalars(), (0..<19).map { (Float($0) - 9) / Float(30 + 1e-6).squareRoot() }, tolerance: 2e-6)
    }

    @Test func softmax() {
        // softmax([1,2,3]) = [0.09003057, 0.24472847, 0.66524096]; with scale 0.5: softmax([0.5,1,1.5]) =
        // [0.18632372, 0.30719589, 0.50648039].
        let x = Tensor(shape: [2, 3], values: [1, 2, 3, 1, 2, 3])
        let y = Tensor(shape: [2, 3])
        backend.softmax(input: x, output: y, rows: 1, columns: 3, scale: 1)
        expectClose(Array(y.scalars()[0..<3]), [0.09003057, 0.24472847, 0.66524096])
        backend.softmax(input: x, output: x, rows: 2, columns: 3, scale: 0.5)
        expectClose(x.scalars(), [0.18632372, 0.30719589, 0.50648039, 0.18632372, 0.30719589, 0.50648039])
        // 20 columns (two vectors + a tail), one large value: e^0 / (e^0 + 19·e^-30) ≈ 1 − 1.78e-12.
        let wide = Tensor(shape: [1, 20], values: (0..<20).map { $0 == 13 ? 30 : 0 })
        backend.softmax(input: wide, output: wide, rows: 1, columns: 20, scale: 1)
        let values = wide.scalars()
        #expect(abs(values[13] - 1) < 1e-6 && abs(values[0] - 9.357623e-14) < 1e-18)
    }

    @Test func activations() {
        // GELU(x) = x·Φ(x): Φ(1) = 0.8413447, Φ(−1) = 0.1586553, Φ(0.5) = 0.6914625, Φ(2) = 0.9772499,
        // Φ(−3) = 0.0013499, Φ(4) = 0.9999683, Φ(−0.25) = 0.4012937; the erf approximation is good to ~5e-7.
        let inputs: [Float] = [1, -1, 0.5, 2, -3, 0, 4, -0.25, 10]
        let x = Tensor(shape: [9], values: inputs)
        let y = Tensor(shape: [9])
        backend.gelu(input: x, output: y, count: 9)
        expectClose(y.scalars(), [0.8413447, -0.1586553, 0.3457312, 1.9544997, -0.0040497, 0, 3.9998733, -0.1003234, 10],
                    tolerance: 1e-6)
        // SiLU(x) = x·σ(x): σ(1) = 0.7310586, σ(−2) = 0.1192029.
        let s = Tensor(shape: [3], values: [1, -2, 0])
        backend.silu(input: s, output: s, count: 3)
        expectClose(s.scalars(), [0.7310586, -0.2384058, 0])
        // SwiGLU on [gate | value] rows: silu(1)·3, silu(−2)·0.5 and silu(0)·7.
        let packed = Tensor(shape: [1, 6], values: [1, -2, 0, 3, 0.5, 7])
        let gated = Tensor(shape: [1, 3])
        backend.swiGLU(input: packed, output: gated, rows: 1, hidden: 3)
        expectClose(gated.scalars(), [2.1931758, -0.1192029, 0])
    }

    @Test func layerScaleResidual() {
        let residual = Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        let branch = Tensor(shape: [2, 2], values: [10, 20, 30, 40])
        backend.layerScaleResidual(residual: residual, branch: branch, gamma: Tensor(shape: [2], values: [0.5, -1]), rows: 2, dim: 2)
        expectClose(residual.scalars(), [6, -18, 18, -36])
        backend.layerScaleResidual(residual: residual, branch: branch, gamma: nil, rows: 2, dim: 2)
        expectClose(residual.scalars(), [16, 2, 48, 4])
    }

    @Test func attentionMatchesTheDefinition() {
        // 1 image, 3 tokens, 2 heads of dim 2. Head 0: q = k = one-hot-ish rows, v distinct; the expected
        // output is computed here in Double from softmax(q·kᵀ/√2)·v.
        let tokens = 3, heads = 2, headDim = 2, dim = 4
        let qkvValues: [Float] = (0..<(tokens * 3 * dim)).map { Float(($0 * 7) % 11) / 5 - 1 }
        let qkv = Tensor(shape: [tokens, 3 * dim], values: qkvValues)
        let out = Tensor(shape: [tokens, dim])
        backend.attention(qkv: qkv, output: out, batch: 1, tokens: tokens, heads: heads, headDim: headDim)
        var expected = [Float](repeating: 0, count: tokens * dim)
        for head in 0..<heads {
            for i in 0..<tokens {
                var scores = (0..<tokens).map { j -> Double in
                    (0..<headDim).reduce(0.0) { sum, c in
                        sum + Double(qkvValues[i * 12 + head * 2 + c]) * Double(qkvValues[j * 12 + dim + head * 2 + c])
                    } / 2.0.squareRoot()
                }
                let top = scores.max()!
                scores = scores.map { Foundation.exp($0 - top) }
                let total = scores.reduce(0, +)
                for c in 0..<headDim {
                    expected[i * dim + head * 2 + c] = Float((0..<tokens).reduce(0.0) { sum, j in
                        sum + scores[j] / total * Double(qkvValues[j * 12 + 2 * dim + head * 2 + c])
                    })
                }
            }
        }
        expectClose(out.scalars(), expected, tolerance: 1e-6)
    }

    @Test func patchEmbedIsAConvolution() {
        // One 2-channel 4×4 image, patch 2, two output channels: weight 0 sums channel 0 of the patch, weight 1
        // takes channel 1's top-left pixel minus its bottom-right; biases 0.5 and 0.
        let image: [Float] = (0..<32).map(Float.init)   // channel 0: 0…15, channel 1: 16…31
        var weights = [Float](repeating: 0, count: 2 * 2 * 2 * 2)
        for i in 0..<4 { weights[i] = 1 }               // [d0, c0, :, :]
        weights[8 + 4 + 0] = 1                          // [d1, c1, 0, 0]
        weights[8 + 4 + 3] = -1                         // [d1, c1, 1, 1]
        let out = Tensor(shape: [1, 4, 2])
        backend.patchEmbed(images: Tensor(shape: [1, 2, 4, 4], values: image), weight: Tensor(shape: [2, 2, 2, 2], values: weights),
                           bias: Tensor(shape: [2], values: [0.5, 0]), output: out, batch: 1, channels: 2, height: 4,
                           width: 4, patch: 2, dim: 2)
        // Patches in row-major order: (0,0) holds 0,1,4,5 → 10.5; (0,1) 2,3,6,7 → 18.5; (1,0) 8,9,12,13 → 42.5;
        // (1,1) 10,11,14,15 → 50.5. Channel 1 top-left minus bottom-right is always −5.
        expectClose(out.scalars(), [10.5, -5, 18.5, -5, 42.5, -5, 50.5, -5])
    }

    @Test func normalizeImages() {
        // One 1×2 image: pixels (255, 0, 128) and (10, 20, 30) with H-optimus statistics:
        // (255/255 − 0.707223)/0.211883 = 1.3817862, (0 − 0.578729)/0.230117 = −2.5149337, (128/255 − 0.703617)/0.177517 = −1.1359826.
        let pixels: [UInt8] = [255, 0, 128, 10, 20, 30]
        let out = Tensor(shape: [1, 3, 1, 2])
        pixels.withUnsafeBufferPointer {
            backend.normalizeImages(pixels: $0, normalization: .hOptimus, output: out, batch: 1, height: 1, width: 2)
        }
        let n = ImageNormalization.hOptimus
        expectClose(out.scalars(), [1.3817862, (10 / 255 - n.mean[0]) / n.std[0], -2.5149337, (20 / 255 - n.mean[1]) / n.std[1],
                                    -1.1359826, (30 / 255 - n.mean[2]) / n.std[2]], tolerance: 1e-6)
    }

    @Test func tokensAndPooling() {
        // 1 image, 2 patches, 1 register, dim 2: [cls, reg, p0 + pos0, p1 + pos1].
        let out = Tensor(shape: [1, 4, 2])
        backend.assembleTokens(patchTokens: Tensor(shape: [1, 2, 2], values: [1, 2, 3, 4]), classToken: Tensor(shape: [2], values: [9, 8]),
                               registerTokens: Tensor(shape: [1, 2], values: [7, 6]), positions: Tensor(shape: [2, 2], values: [0.5, 0.25, -1, -2]),
                               output: out, batch: 1, patches: 2, registers: 1, dim: 2)
        expectClose(out.scalars(), [9, 8, 7, 6, 1.5, 2.25, 2, 2])
        let cls = Tensor(shape: [1, 2])
        backend.pool(tokens: out, output: cls, pooling: .cls, batch: 1, length: 4, prefixTokens: 2, dim: 2)
        expectClose(cls.scalars(), [9, 8])
        // CLS ⊕ mean of the patches (register excluded): mean of (1.5, 2.25) and (2, 2) = (1.75, 2.125).
        let both = Tensor(shape: [1, 4])
        backend.pool(tokens: out, output: both, pooling: .clsMean, batch: 1, length: 4, prefixTokens: 2, dim: 2)
        expectClose(both.scalars(), [9, 8, 1.75, 2.125])
    }

    @Test func vectorMathMatchesLibm() {
        var worstExp: Float = 0, worstErf: Float = 0
        for step in 0..<20_001 {
            let x = -87 + Float(step) * 0.00875          // −87 … 88
            let e = VectorMath.exp(SIMD8(repeating: x))[0]
            worstExp = max(worstExp, abs(e - Foundation.exp(x)) / Foundation.exp(x))
            let z = -6 + Float(step) * 0.0006             // −6 … 6
            worstErf = max(worstErf, abs(VectorMath.erf(SIMD8(repeating: z))[0] - Foundation.erf(z)))
        }
        #expect(worstExp < 3e-7, "exp relative error \(worstExp)")
        // A&S 7.1.26 is good to 1.5e-7 in exact arithmetic; float rounding of its terms adds a few 1e-7.
        #expect(worstErf < 6e-7, "erf absolute error \(worstErf)")
    }

    @Test func dtypeConversion() {
        // bf16 0x3F80 = 1.0, 0xC040 = −3.0; f16 0x3C00 = 1.0, 0x3555 = 0.33325195.
        let bf16: [UInt16] = [0x3F80, 0xC040]
        var out = [Float](repeating: 0, count: 2)
        bf16.withUnsafeBytes { DTypeConversion.convert($0.baseAddress!, dtype: .bf16, count: 2, into: &out) }
        #expect(out == [1, -3])
        let f16: [UInt16] = [0x3C00, 0x3555]
        f16.withUnsafeBytes { DTypeConversion.convert($0.baseAddress!, dtype: .f16, count: 2, into: &out) }
        #expect(out == [1, 0.33325195])
        // Round to nearest even: 1 + 2⁻⁸ is halfway between bf16 1.0 and 1.0078125 → 1.0; 1 + 3·2⁻⁸ → 1.015625.
        #expect(DTypeConversion.bfloat16Bits(1 + 1.0 / 256) == 0x3F80)
        #expect(DTypeConversion.bfloat16Bits(1 + 3.0 / 256) == 0x3F82)
    }
}
