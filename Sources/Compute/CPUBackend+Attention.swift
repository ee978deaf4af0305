
extension CPUBackend {
    /// Per (image, head): `S = q·kᵀ` (sgemm straight from the packed `qkv` rows, leading dimension `3·D`),
    /// row softmax of `S/√headDim` in place, `o = S·v` written into the head's columns of `output`. Pairs run
    /// in parallel, each with its own `[tokens, tokens]` score buffer.
    public func attention(qkv: Tensor, output: Tensor, batch: Int, tokens: Int, heads: Int, headDim: Int) {
        let dim = heads * headDim
        let stride = 3 * dim
        let packed = floats(qkv, batch * tokens * stride, "attention qkv")
        let out = floats(output, batch * tokens * dim, "attention output")
        let scale = 1 / Float(headDim).squareRoot()
        Parallel.forEachRange(count: batch * heads, threads: threads) { range in
            attentionPairs(range, packed, out, tokens: tokens, heads: heads, headDim: headDim, scale: scale)
        }
    }

    /// Attention for the (image, head) pairs in `range`, with one `[tokens, tokens]` score buffer.
    private func attentionPairs(_ range: Range<Int>, _ packed: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                tokens: Int, heads: Int, headDim: Int, scale: Float) {
        let dim = heads * headDim
        let stride = 3 * dim
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: tokens * tokens)
        defer { scores.deallocate() }
        for pair in range {
            let image = pair / heads
            let head = pair % heads
            let q = packed + image * tokens * stride + head * headDim
            Self.sgemm(transposeA: false, transposeB: true, m: tokens, n: tokens, k: headDim, alpha: 1,
                       a: q, lda: stride, b: q + dim, ldb: stride, beta: 0, c: scores, ldc: tokens)
            for row in 0..<tokens {
                Self.softmaxRow(scores + row * tokens, scores + row * tokens, tokens, scale)
            }
            Self.sgemm(transposeA: false, transposeB: false, m: tokens, n: headDim, k: tokens, alpha: 1,
                       a: scores, lda: tokens, b: q + 2 * dim, ldb: stride, beta: 0,
                       c: out + image * tokens * dim + head * headDim, ldc: dim)
        }
    }

    /// Per (image, head), FlashAttention-style recomputation instead of cached probabilities: `S = q·kᵀ` and its
    /// row softmax exactly as `attentionPairs` computes them, then `dv = Pᵀ·do`, `dP = do·vᵀ`,
    /// `dS = s·P ⊙ (dP − rowsum(P ⊙ dP))` (in place of `dP`), `dq = dS·k`, `dk = dSᵀ·q`, each written into the
    /// head's columns of `qkvGradient`. Pairs run in parallel, each with two `[tokens, tokens]` buffers.
    public func attentionBackward(qkv: Tensor, outputGradient: Tensor, qkvGradient: Tensor, batch: Int, tokens: Int,
                                  heads: Int, headDim: Int) {
        let dim = heads * headDim
        let stride = 3 * dim
        let packed = floats(qkv, batch * tokens * stride, "attentionBackward qkv")
        let dOut = floats(outputGradient, batch * tokens * dim, "attentionBackward outputGradient")
        let dPacked = floats(qkvGradient, batch * tokens * stride, "attentionBackward qkvGradient")
        let scale = 1 / Float(headDim).squareRoot()
        Parallel.forEachRange(count: batch * heads, threads: threads) { range in
            let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: tokens * tokens)
            let gradients = UnsafeMutablePointer<Float>.allocate(capacity: tokens * tokens)
            defer {
                probabilities.deallocate()
                gradients.deallocate()
            }
            for pair in range {
                let image = pair / heads
                let head = pair % heads
                let q = packed + image * tokens * stride + head * headDim
                let dq = dPacked + image * tokens * stride + head * headDim
                let dO = dOut + image * tokens * dim + head * headDim
                Self.sgemm(transposeA: false, transposeB: true, m: tokens, n: tokens, k: headDim, alpha: 1,
                           a: q, lda: stride, b: q + dim, ldb: stride, beta: 0, c: probabilities, ldc: tokens)
                for row in 0..<tokens {
                    Self.softmaxRow(probabilities + row * tokens, probabilities + row * tokens, tokens, scale)
                }
                // dv = Pᵀ·do
                Self.sgemm(transposeA: true, transposeB: false, m: tokens, n: headDim, k: tokens, alpha: 1,
                           a: probabilities, lda: tokens, b: dO, ldb: dim, beta: 0, c: dq + 2 * dim, ldc: stride)
                // dP = do·vᵀ
                Self.sgemm(transposeA: false, transposeB: true, m: tokens, n: tokens, k: headDim, alpha: 1,
                           a: dO, lda: dim, b: q + 2 * dim, ldb: stride, beta: 0, c: gradients, ldc: tokens)
                for row in 0..<tokens {
                    let p = probabilities + row * tokens, g = gradients + row * tokens
                    var dot: Float = 0
                    for column in 0..<tokens { dot += p[column] * g[column] }
                    for column in 0..<tokens { g[column] = scale * p[column] * (g[column] - dot) }
                }
                // dq = dS·k, dk = dSᵀ·q
                Self.sgemm(transposeA: false, transposeB: false, m: tokens, n: headDim, k: tokens, alpha: 1,
                           a: gradients, lda: tokens, b: q + dim, ldb: stride, beta: 0, c: dq, ldc: stride)
                Self.sgemm(transposeA: true, transposeB: false, m: tokens, n: headDim, k: tokens, alpha: 1,
                           a: gradients, lda: tokens, b: q, ldb: stride, beta: 0, c: dq + dim, ldc: stride)
            }
        }
    }
}
