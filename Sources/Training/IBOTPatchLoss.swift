import Compute

/// The iBOT (patch-token) loss of H0-mini's distillation: every patch token of both global crops, no masking
/// (distillation-spec.md §4.4; DINOv2 `iBOTPatchLoss.forward_masked` with an all-true mask, weight 1/Np per
/// patch, divided by the 2B images):
///
///     L_ibot = −(1/rows) Σ_r Σ_k P[r,k] · log_softmax(S[r]/τ_s)[k]          rows = Ng·B·Np (2B·256)
///     ∂L/∂S[r] = (softmax(S[r]/τ_s) − P[r]) / (τ_s·rows)
///
/// Student and teacher rows are paired one to one (same crop, same patch: no swap). The logits `[rows, K]` are
/// processed in chunks of `chunkRows` rows; with `lossAndGradient(studentLogits:teacherLogits:centering:…)`
/// the teacher probabilities exist one chunk at a time, and a caller that also produces the student logits
/// per chunk can call `accumulate` itself, so `[2B·256, K]` is never held whole.
public struct IBOTPatchLoss: Sendable, Equatable {
    /// Patch rows of the step (Ng·B·Np).
    public let rows: Int
    /// Prototypes K.
    public let prototypes: Int
    /// Student temperature τ_s (0.1).
    public let studentTemperature: Float
    /// Rows per chunk.
    public let chunkRows: Int

    /// - Throws: `TrainingError.invalidConfiguration` for empty sizes or τ_s ≤ 0.
    public init(rows: Int, prototypes: Int, studentTemperature: Float = 0.1, chunkRows: Int = 256) throws(TrainingError) {
        guard rows > 0, prototypes > 0, chunkRows > 0 else {
            throw .invalidConfiguration("iBOT loss needs positive rows, prototypes and chunk rows")
        }
        guard studentTemperature > 0 else { throw .invalidConfiguration("student temperature \(studentTemperature) ≤ 0") }
        self.rows = rows
        self.prototypes = prototypes
        self.studentTemperature = studentTemperature
        self.chunkRows = chunkRows
    }

    /// One chunk: rows `firstRow ..< firstRow + count` of the step. Writes the chunk's gradient and returns its
    /// contribution to the loss (already divided by `rows`); the loss is the sum over all chunks.
    public func accumulate(studentLogits: Tensor, teacherProbabilities: Tensor, gradient: Tensor, count: Int,
                           firstRow: Int, backend: any Backend) throws(TrainingError) -> Double {
        let weight = 1 / Double(rows)
        let sum = try SoftmaxCrossEntropy.accumulate(
            student: studentLogits, teachers: [teacherProbabilities], gradient: gradient, rows: count,
            prototypes: prototypes, temperature: studentTemperature, weight: Float(weight), backend: backend,
            name: "student iBOT patch logits", firstRow: firstRow)
        return sum * weight
    }

    /// The loss and gradient from teacher probabilities `[rows, K]` (e.g. from `SinkhornKnopp`).
    /// - Throws: `TrainingError.shapeMismatch`, `.nonFiniteLogit` naming the patch row.
    public func lossAndGradient(studentLogits: Tensor, teacherProbabilities: Tensor, gradient: Tensor,
                                backend: any Backend) throws(TrainingError) -> Double {
        try checkShapes(studentLogits, teacherProbabilities, gradient, teacherName: "teacher iBOT probabilities")
        var loss = 0.0
        var start = 0
        while start < rows {
            let n = min(chunkRows, rows - start)
            let chunk = [n, prototypes], offset = start * prototypes
            loss += try accumulate(studentLogits: studentLogits.view(offset: offset, shape: chunk),
                                   teacherProbabilities: teacherProbabilities.view(offset: offset, shape: chunk),
                                   gradient: gradient.view(offset: offset, shape: chunk), count: n,
                                   firstRow: start, backend: backend)
            start += n
        }
        return loss
    }

    /// The loss and gradient from teacher logits `[rows, K]`, centred chunk by chunk with `centering` (whose
    /// `beginStep` the caller has called for this step; this queues the logits for the next step's centre).
    /// The teacher probabilities live in one `[chunkRows, K]` scratch tensor; `teacherLogits` is not modified.
    /// - Throws: `TrainingError.shapeMismatch`, `.nonFiniteLogit` naming the tensor and patch row.
    public func lossAndGradient(studentLogits: Tensor, teacherLogits: Tensor, centering: inout SoftmaxCentering,
                                teacherTemperature: Float, gradient: Tensor,
                                backend: any Backend) throws(TrainingError) -> Double {
        try checkShapes(studentLogits, teacherLogits, gradient, teacherName: "teacher iBOT logits")
        let scratch = backend.makeTensor(shape: [min(chunkRows, rows), prototypes])
        var loss = 0.0
        var start = 0
        while start < rows {
            let n = min(chunkRows, rows - start)
            let chunk = [n, prototypes], offset = start * prototypes
            let teacher = teacherLogits.view(offset: offset, shape: chunk)
            let probabilities = scratch.view(shape: chunk)
            centering.accumulate(teacherLogits: teacher, rows: n, threads: RowParallel.threads(backend))
            try centering.probabilities(teacherLogits: teacher, rows: n, temperature: teacherTemperature,
                                        output: probabilities, backend: backend, name: "teacher iBOT logits",
                                        firstRow: start)
            loss += try accumulate(studentLogits: studentLogits.view(offset: offset, shape: chunk),
                                   teacherProbabilities: probabilities,
                                   gradient: gradient.view(offset: offset, shape: chunk), count: n,
                                   firstRow: start, backend: backend)
            start += n
        }
        return loss
    }

    private func checkShapes(_ student: Tensor, _ teacher: Tensor, _ gradient: Tensor,
                             teacherName: String) throws(TrainingError) {
        let shape = [rows, prototypes]
        try InputChecks.shape("student iBOT patch logits", student, shape)
        try InputChecks.shape(teacherName, teacher, shape)
        try InputChecks.shape("student iBOT patch gradient", gradient, shape)
    }
}
