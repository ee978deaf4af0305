import Compute
import Training

extension CUDATrainingStep {
    /// The objective on the device, after the forward (`DistillationObjective.lossAndGradients`, and
    /// the heads' logits backward of `DistillationTrainer`): the DINO teacher probabilities whole (`[Ng·B, K]`), the
    /// student DINO rows crop by crop and the iBOT rows in `LogitChunkPlan` chunks (teacher logits, student logits →
    /// centred softmax and cross-entropy in one kernel → dW and dnormalized per chunk; Sinkhorn-Knopp through `CUDASinkhorn`, the
    /// iBOT teacher chunks made once per pass). Then one wait for the non-finite flags and
    /// the row losses, summed on the host in f64 as the CPU does.
    /// - Throws: `TrainingStepError` naming the tensor, row, prototype and sample of the first NaN/∞ logit (or a
    ///   non-finite loss); `CUDAError` from the device.
    func headsLoss(samples: [SampleTag], teacherTemperature: Float) throws -> DistillationObjective.Losses {
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b
        let k = chunks.prototypes, ibotRowCount = globals * patchTokens, tau = settings.studentTemperature
        let pairing = CrossEntropyPairing(globalCrops: settings.globalCrops, localCrops: settings.localCrops, batch: b)
        let flags = (0..<4).map { loss.flags.view(offset: 2 * $0, shape: [2]) }
        for flag in flags { try kernels.resetNonFinite(flag) }
        let pointer = { (index: Int, count: Int) in self.loss.pointers.view(offset: 16 * index, shape: [2 * count]) }
        let rowLoss = { (tensor: Tensor, rows: Range<Int>) in tensor.view(offset: 2 * rows.lowerBound, shape: [2 * rows.count]) }

        // DINO: the teacher's CLS logits (their column sums were queued for the next centre in the forward), centred
        // and softmaxed in place (or Sinkhorn-Knopp's probabilities in place).
        try teacherDINO.logits(rows: 0..<globals, output: loss.dinoProbabilities, teacherDINORows)
        if let sinkhorn {
            try sinkhorn.run(chunks: [0..<globals], temperature: teacherTemperature, firstNonFinite: flags[0],
                             logits: { _ throws(CUDAError) in self.loss.dinoProbabilities }, use: { _, _ throws(CUDAError) in })
        } else {
            try kernels.centeredSoftmax(logits: loss.dinoProbabilities, center: state.centers[0], output: loss.dinoProbabilities,
                                        firstNonFinite: flags[0], rows: globals, prototypes: k, temperature: teacherTemperature, rowOffset: 0)
        }
        for chunk in loss.dinoChunks {
            let n = chunk.rows.count
            let student = loss.studentChunk.view(shape: [n, k]), gradient = loss.gradientChunk.view(shape: [n, k])
            try dinoHead.logits(rows: chunk.rows, output: student, dinoRows)
            try kernels.crossEntropy(student: student, teachers: pointer(chunk.pointer, chunk.teachers), teacherCount: chunk.teachers,
                                     gradient: gradient, rowLoss: rowLoss(loss.dinoRowLoss, chunk.rows), firstNonFinite: flags[2], rows: n,
                                     prototypes: k, temperature: tau, weight: pairing.dinoRowWeight, rowOffset: chunk.rows.lowerBound)
            try dinoHead.backwardLogits(rows: chunk.rows, logitsGradient: gradient, dinoRows)
        }
        // iBOT: teacher and student patch logits chunk by chunk; with Sinkhorn-Knopp the teacher's chunks are made
        // once per column pass first, and the student's follow in its last pass.
        let ibotWeight = 1 / Double(ibotRowCount)
        /// The student's logits of `rows`, `crossEntropy(logits, gradient)`, and the head's backward from the gradient.
        func student(_ rows: Range<Int>, _ crossEntropy: (Tensor, Tensor) throws(CUDAError) -> Void) throws(CUDAError) {
            let n = rows.count
            let student = loss.studentChunk.view(shape: [n, k]), gradient = loss.gradientChunk.view(shape: [n, k])
            try ibotHead.logits(rows: rows, output: student, self.ibotRows)
            try crossEntropy(student, gradient)
            try ibotHead.backwardLogits(rows: rows, logitsGradient: gradient, self.ibotRows)
        }
        func teacher(_ rows: Range<Int>) throws(CUDAError) -> Tensor {
            let teacher = loss.teacherChunk.view(shape: [rows.count, k])
            try teacherIBOT.logits(rows: rows, output: teacher, teacherIBOTRows)
            return teacher
        }
        if let sinkhorn {
            try sinkhorn.run(chunks: chunks.chunks, temperature: teacherTemperature, firstNonFinite: flags[1], logits: teacher,
                             use: { rows, _ throws(CUDAError) in
                try student(rows) { logits, gradient throws(CUDAError) in
                    try kernels.crossEntropy(student: logits, teachers: pointer(loss.ibotPointer, 1), teacherCount: 1, gradient: gradient,
                                             rowLoss: rowLoss(loss.ibotRowLoss, rows), firstNonFinite: flags[3], rows: rows.count,
                                             prototypes: k, temperature: tau, weight: Float(ibotWeight), rowOffset: rows.lowerBound)
                }
            })
        } else {
            // Centring: the teacher chunk's softmax recomputed inside the cross-entropy (centered_cross_entropy_rows),
            // never stored.
            for rows in chunks.chunks {
                let n = rows.count, logits = try teacher(rows)
                try student(rows) { studentLogits, gradient throws(CUDAError) in
                    try kernels.centeredCrossEntropy(teacher: logits, center: state.centers[1], student: studentLogits, gradient: gradient,
                                                     rowLoss: rowLoss(loss.ibotRowLoss, rows), teacherNonFinite: flags[1],
                                                     studentNonFinite: flags[3], rows: n, prototypes: k,
                                                     teacherTemperature: teacherTemperature, temperature: tau, weight: Float(ibotWeight),
                                                     rowOffset: rows.lowerBound)
                }
            }
        }

        // The one wait of the loss: flags, then the row losses.
        let words = try backend.downloadBytes(loss.flags).withUnsafeBytes { raw in (0..<4).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self) } }
        if let failure = nonFinite(words, locals: locals, samples: samples) { throw failure }
        func sums(_ tensor: Tensor, _ count: Int) throws(CUDAError) -> [Double] {
            try backend.downloadBytes(tensor).withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) } }
        }
        let dinoRows = try sums(loss.dinoRowLoss, locals + globals), ibotRows = try sums(loss.ibotRowLoss, ibotRowCount)
        let weight = Double(pairing.dinoRowWeight)
        let losses = DistillationObjective.Losses(dinoLocal: dinoRows[0..<locals].reduce(0, +) * weight,
                                                  dinoGlobal: dinoRows[locals...].reduce(0, +) * weight,
                                                  ibot: ibotRows.reduce(0, +) * ibotWeight)
        guard losses.total.isFinite else {
            throw TrainingStepError(iteration: iteration, cause: .nonFiniteLogit(what: "loss", row: 0, column: 0, value: Float(losses.total)),
                                    samples: samples)
        }
        return losses
    }

    /// The first flag that is set, as the CPU trainer's error: the tensor's name, the row within it, the prototype
    /// and the sample (rows are crop-major; iBOT rows are `Np` per crop). The value is not kept (NaN stands for it).
    private func nonFinite(_ words: [UInt64], locals: Int, samples: [SampleTag]) -> TrainingStepError? {
        let b = settings.batch, k = chunks.prototypes
        for (index, word) in words.enumerated() where word != UInt64.max {
            let row = Int(word / UInt64(k)), column = Int(word % UInt64(k))
            let what: String, within: Int, sample: Int
            switch index {
            case 0: (what, within, sample) = ("teacher DINO logits", row, row % b)
            case 1: (what, within, sample) = ("teacher iBOT logits", row, (row / patchTokens) % b)
            case 2:
                let crop = row / b
                what = crop < settings.localCrops ? "student DINO local crop \(crop)" : "student DINO global crop \(crop - settings.localCrops)"
                (within, sample) = (row % b, row % b)
            default: (what, within, sample) = ("student iBOT patch logits", row, (row / patchTokens) % b)
            }
            return TrainingStepError(iteration: iteration, cause: .nonFiniteLogit(what: what, row: within, column: column, value: .nan),
                                     samples: [samples[sample]])
        }
        return nil
    }
}
