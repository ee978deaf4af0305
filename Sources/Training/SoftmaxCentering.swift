import Compute

/// DINOv2's softmax centering of teacher logits with the lagged centre (distillation-spec.md §4.2;
/// DINOv2 `DINOLoss.softmax_center_teacher` / `update_center` / `apply_center_update`, the same in
/// `iBOTPatchLoss`):
///
///     P = softmax((T − c) / τ_t)                  per row of teacher logits T [rows, K], τ_t of this iteration
///     c ← m·c + (1 − m)·mean_rows(T)              m = 0.9; c starts at 0 ([K], float32)
///
/// The update is lagged: the batch mean of step t is queued by `accumulate` and applied by `beginStep` at step
/// t + 1, so step t's probabilities use `c_t = EMA(batch_0 … batch_{t−1})` and step 0 uses `c = 0`. One instance
/// per loss: the DINO centre averages the 2B CLS rows, the iBOT centre all 2B·256 patch rows. A step may feed
/// its rows in chunks of any size (`probabilities` and `accumulate` per chunk); column sums are carried in
/// `Double`, then the mean is rounded to float32 as DINOv2's fp32 buffer holds it.
public struct SoftmaxCentering: Sendable, Equatable {
    /// Number of prototypes K.
    public let prototypes: Int
    /// Centre momentum m (0.9).
    public let momentum: Double
    /// The centre c used by this step's probabilities, `[K]`.
    public private(set) var center: [Float]
    /// Column sums of the teacher logits accumulated since `beginStep`, `[K]` (the queued update).
    public private(set) var pendingSum: [Double]
    /// Rows accumulated since `beginStep`.
    public private(set) var pendingRows: Int

    /// A centre of zeros (DINOv2's initial buffer), or a saved state.
    /// - Precondition: `center` and `pendingSum`, when given, hold `prototypes` values.
    public init(prototypes: Int, momentum: Double = 0.9, center: [Float]? = nil,
                pendingSum: [Double]? = nil, pendingRows: Int = 0) {
        precondition(prototypes > 0, "centering needs at least one prototype")
        precondition(center.map { $0.count == prototypes } ?? true, "centre of \(center?.count ?? 0) values for \(prototypes) prototypes")
        precondition(pendingSum.map { $0.count == prototypes } ?? true, "pending sum of the wrong size")
        self.prototypes = prototypes
        self.momentum = momentum
        self.center = center ?? [Float](repeating: 0, count: prototypes)
        self.pendingSum = pendingSum ?? [Double](repeating: 0, count: prototypes)
        self.pendingRows = pendingRows
    }

    /// Starts a step: applies the update queued by the previous step's `accumulate` calls (DINOv2's
    /// `apply_center_update`: `c = c·m + (ΣT/rows)·(1 − m)` in float32) and clears the queue. No-op on the
    /// first step.
    public mutating func beginStep() {
        guard pendingRows > 0 else { return }
        let rows = Double(pendingRows)
        // PyTorch: `center * m + batch_mean * (1 - m)` with the Python floats m and 1 − m cast to float32.
        let keep = Float(momentum), add = Float(1 - momentum)
        for k in 0..<prototypes {
            let batchMean = Float(pendingSum[k] / rows)
            center[k] = center[k] * keep + batchMean * add
            pendingSum[k] = 0
        }
        pendingRows = 0
    }

    /// Teacher probabilities of a chunk with the current centre: `output = softmax((T − c)/τ_t)` row by row.
    /// - Parameters:
    ///   - teacherLogits: `[rows, K]` host `f32` (a view of the step's logits).
    ///   - output: `[rows, K]`, may be `teacherLogits` (then the logits are overwritten).
    ///   - temperature: τ_t (teacher temperature schedule).
    ///   - name / firstRow: the tensor's name and the chunk's first row in it, for the error.
    /// - Throws: `TrainingError.nonFiniteLogit` naming the first NaN/∞ teacher logit.
    public func probabilities(teacherLogits: Tensor, rows: Int, temperature: Float, output: Tensor,
                              backend: any Backend, name: String = "teacher logits",
                              firstRow: Int = 0) throws(TrainingError) {
        let count = rows * prototypes
        precondition(teacherLogits.count >= count && output.count >= count, "centering chunk of \(rows) rows: a tensor is too small")
        let t = UnsafePointer(teacherLogits.floats), y = output.floats
        try InputChecks.finiteLogits(t, rows: rows, columns: prototypes, name: name, firstRow: firstRow)
        // (T − c) / τ_t in float32, as PyTorch evaluates it, then the softmax with its maximum subtracted.
        center.withUnsafeBufferPointer { c in
            let c = c.baseAddress!
            let tau = SIMD8<Float>(repeating: temperature)
            RowParallel.forEach(count: rows, threads: RowParallel.threads(backend)) { range in
                for row in range {
                    let tRow = t + row * prototypes, yRow = y + row * prototypes
                    var index = 0
                    while index + 8 <= prototypes {
                        RowReductions.store((RowReductions.load(tRow, index) - RowReductions.load(c, index)) / tau, yRow, index)
                        index += 8
                    }
                    while index < prototypes {
                        yRow[index] = (tRow[index] - c[index]) / temperature
                        index += 1
                    }
                }
            }
        }
        backend.softmax(input: output, output: output, rows: rows, columns: prototypes, scale: 1)
    }

    /// Queues a chunk of this step's teacher logits `[rows, K]` for the next step's centre (DINOv2's
    /// `update_center`). Call it with the logits themselves, before `probabilities` overwrites them in place.
    /// Column sums run in float32 over blocks of 64 rows and are carried in `Double`; columns are split over
    /// `threads` (the sums do not depend on it).
    public mutating func accumulate(teacherLogits: Tensor, rows: Int, threads: Int = 1) {
        precondition(teacherLogits.count >= rows * prototypes, "centering chunk of \(rows) rows: tensor too small")
        let t = UnsafePointer(teacherLogits.floats)
        let k = prototypes
        pendingSum.withUnsafeMutableBufferPointer { sum in
            let sum = sum.baseAddress!
            RowParallel.forEach(count: (k + 7) / 8, threads: threads, minimumChunk: 64) { groups in
                let first = groups.lowerBound * 8, end = min(k, groups.upperBound * 8)
                var partial = [Float](repeating: 0, count: end - first)
                partial.withUnsafeMutableBufferPointer { partial in
                    let q = partial.baseAddress!
                    var start = 0
                    while start < rows {
                        let stop = min(rows, start + 64)
                        for column in 0..<(end - first) { q[column] = 0 }
                        for row in start..<stop {
                            let tRow = t + row * k + first
                            var index = 0
                            while index + 8 <= end - first {
                                RowReductions.store(RowReductions.load(q, index) + RowReductions.load(tRow, index), q, index)
                                index += 8
                            }
                            while index < end - first {
                                q[index] += tRow[index]
                                index += 1
                            }
                        }
                        for column in 0..<(end - first) { sum[first + column] += Double(q[column]) }
                        start = stop
                    }
                }
            }
        }
        pendingRows += rows
    }

    /// The whole step for a logits tensor `[rows, K]`: `beginStep` is the caller's; this queues the logits
    /// (`accumulate`) and writes their probabilities in chunks of `chunkRows` rows.
    public mutating func teacherProbabilities(teacherLogits: Tensor, rows: Int, temperature: Float, output: Tensor,
                                              backend: any Backend, chunkRows: Int = 256,
                                              name: String = "teacher logits") throws(TrainingError) {
        precondition(chunkRows > 0, "chunkRows must be positive")
        var start = 0
        while start < rows {
            let n = min(chunkRows, rows - start)
            let input = teacherLogits.view(offset: start * prototypes, shape: [n, prototypes])
            accumulate(teacherLogits: input, rows: n, threads: RowParallel.threads(backend))
            try probabilities(teacherLogits: input, rows: n, temperature: temperature,
                              output: output.view(offset: start * prototypes, shape: [n, prototypes]),
                              backend: backend, name: name, firstRow: start)
            start += n
        }
    }

}
