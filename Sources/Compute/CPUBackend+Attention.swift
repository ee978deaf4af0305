import CBLAS
import Synchronization

extension CPUBackend {
    /// Per (image, head): `S = q·kᵀ` (sgemm straight from the packed `qkv` rows, leading dimension `3·D`),
    /// row softmax of `S/√headDim` in place, `o = S·v` written into the head's columns of `output`. Pairs run
    /// in parallel, each with its own `[tokens, tokens]` score buffer and single-threaded BLAS.
    public func attention(qkv: Tensor, output: Tensor, batch: Int, tokens: Int, heads: Int, headDim: Int) {
        let dim = heads * headDim
        let stride = 3 * dim
        let packed = floats(qkv, batch * tokens * stride, "attention qkv")
        let out = floats(output, batch * tokens * dim, "attention output")
        let scale = 1 / Float(headDim).squareRoot()
        let pairs = batch * heads
        let parallel = threads > 1 && pairs > 1
        guard parallel else {
            attentionPairs(0..<pairs, packed, out, tokens: tokens, heads: heads, headDim: headDim, scale: scale)
            return
        }
        // BLAS goes single-threaded while the pairs run on our own threads; the lock keeps two backends from
        // interleaving this switch (one restoring the thread count while the other's pairs still run).
        Self.singleThreadedBLAS.withLock { _ in
            openblas_set_num_threads(1)
            defer { openblas_set_num_threads(Int32(threads)) }
            Parallel.forEachRange(count: pairs, threads: threads) { range in
                attentionPairs(range, packed, out, tokens: tokens, heads: heads, headDim: headDim, scale: scale)
            }
        }
    }

    /// Serialises the phases in which OpenBLAS runs single-threaded (`attention`).
    static let singleThreadedBLAS = Mutex(())

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
