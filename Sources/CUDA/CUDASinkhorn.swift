import Compute

/// Sinkhorn-Knopp teacher probabilities on the device, over row chunks (`SinkhornKnopp`'s log form: `P = exp(z +
/// a_k + c_b)` with `z = T/τ_t`; distillation-spec.md §4.2, DINOv2 `sinkhorn_knopp_teacher`, 3 iterations). The
/// prototype scalings `a` sum over all the step's teacher rows, so the `[rows, K]` logits need not exist at once:
/// each column pass reads every chunk, and a caller that cannot keep the logits (the iBOT rows of the paper's step:
/// `[2B·256, K]`) makes each chunk again per pass — `iterations + 1` logit GEMMs per chunk instead of one. With one
/// chunk the logits are made once.
///
/// ```
/// pass 0:            every chunk: column partial (c = 0)                       → a⁽¹⁾
/// pass i (1 … n−1):  every chunk: row scaling c⁽ⁱ⁾ from a⁽ⁱ⁾, column partial   → a⁽ⁱ⁺¹⁾
/// pass n:            every chunk: row scaling c⁽ⁿ⁾ from a⁽ⁿ⁾, P = exp(z + a + c) → the caller's use of the chunk
/// ```
///
/// the CPU's alternation (a from all c, then c from a) in the same f64 arithmetic; only the order in which the
/// column sums of several chunks merge differs (`sinkhorn_column_partial`). Scratch: `K` and `rows` doubles.
public struct CUDASinkhorn: Sendable {
    public let kernels: CUDATrainingKernels
    /// The most rows one `run` may cover, and K.
    public let rows: Int, prototypes: Int
    /// Alternating normalisations (3 in DINOv2).
    public let iterations: Int
    /// f64 scalings held as raw words: `a` `[K]`, `c` `[rows]`, and the column pass's running maximum and sum `[K]`.
    let a: Tensor, c: Tensor, maximum: Tensor, sum: Tensor

    /// Allocates the scratch (`(3K + rows)` doubles).
    /// - Precondition: `iterations ≥ 1`, `rows ≥ 1`, `prototypes ≥ 1`.
    /// - Throws: `CUDAError` (out of device memory).
    public init(kernels: CUDATrainingKernels, rows: Int, prototypes: Int, iterations: Int = 3) throws(CUDAError) {
        precondition(iterations >= 1 && rows >= 1 && prototypes >= 1, "Sinkhorn-Knopp of \(rows)×\(prototypes), \(iterations) iterations")
        self.kernels = kernels
        self.rows = rows
        self.prototypes = prototypes
        self.iterations = iterations
        let backend = kernels.backend
        a = try backend.makeTensor(shape: [2 * prototypes], dtype: .f32)
        c = try backend.makeTensor(shape: [2 * rows], dtype: .f32)
        maximum = try backend.makeTensor(shape: [2 * prototypes], dtype: .f32)
        sum = try backend.makeTensor(shape: [2 * prototypes], dtype: .f32)
    }

    /// Queues the teacher probabilities of the rows `chunks` cover (consecutive ranges from 0).
    /// - Parameters:
    ///   - logits: queues the teacher logits `[n, K]` f32 of one chunk's rows and returns them (in a buffer that
    ///     stays untouched until the next call); called `iterations + 1` times per chunk, or once with one chunk.
    ///   - firstNonFinite: the u64 flag that NaN/∞ logits go to, at `row·K + k` over all the rows.
    ///   - use: each chunk's probabilities `[n, K]` (in place of its logits), in chunk order, in the last pass.
    /// - Throws: what `logits` or `use` throw; `CUDAError` from the launches.
    public func run(chunks: [Range<Int>], temperature: Float, firstNonFinite: Tensor,
                    logits: (Range<Int>) throws(CUDAError) -> Tensor,
                    use: (Range<Int>, Tensor) throws(CUDAError) -> Void) throws(CUDAError) {
        precondition(!chunks.isEmpty && chunks.first!.lowerBound == 0 && chunks.last!.upperBound <= rows
                     && zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound },
                     "Sinkhorn-Knopp chunks \(chunks) of at most \(rows) rows")
        let k = prototypes
        var resident: Tensor?
        func chunkLogits(_ range: Range<Int>) throws(CUDAError) -> Tensor {
            if let resident { return resident }
            let t = try logits(range)
            if chunks.count == 1 { resident = t }
            return t
        }
        try kernels.backend.fillWords(c.view(shape: [2 * chunks.last!.upperBound]), 0)
        for pass in 0...iterations {
            for (index, range) in chunks.enumerated() {
                let t = try chunkLogits(range), n = range.count
                let rowScalings = c.view(offset: 2 * range.lowerBound, shape: [2 * n])
                if pass > 0 {
                    try kernels.sinkhornRowScaling(logits: t, a: a, c: rowScalings, rows: n, prototypes: k, temperature: temperature)
                }
                if pass < iterations {
                    try kernels.sinkhornColumnPartial(logits: t, c: rowScalings, maximum: maximum, sum: sum, a: a, firstNonFinite: firstNonFinite,
                                                      rows: n, prototypes: k, temperature: temperature, rowOffset: range.lowerBound,
                                                      first: index == 0, last: index == chunks.count - 1)
                } else {
                    try kernels.sinkhornProbabilities(logits: t, a: a, c: rowScalings, output: t, rows: n, prototypes: k, temperature: temperature)
                    try use(range, t)
                }
            }
        }
    }
}
