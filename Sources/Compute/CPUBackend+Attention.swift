
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
}
