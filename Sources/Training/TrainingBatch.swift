/// The inputs of one distillation step for `B` samples (distillation-spec.md §4.1, §4.11), crop-major as DINOv2
/// collates them: row `c·B + b` of every tensor is crop `c` of sample `b`.
///
/// The teacher's tokens are its backbone's final-LayerNorm output (`x_norm`) on the global crops, without
/// registers: the trainer applies the teacher's frozen heads to them (or, for a teacher without heads, uses
/// them as feature targets).
public struct TrainingBatch: Sendable {
    /// The samples, `B` of them, in batch order.
    public var samples: [SampleTag]
    /// Global crops `[Ng·B, 3, S, S]`, normalised, flat.
    public var globalImages: [Float]
    /// Local crops `[Nl·B, 3, s, s]`, flat (empty without local crops).
    public var localImages: [Float]
    /// Teacher `x_norm` CLS tokens of the global crops `[Ng·B, D_t]`, flat.
    public var teacherCLS: [Float]
    /// Teacher `x_norm` patch tokens of the global crops `[Ng·B·N, D_t]`, flat (row `(c·B + b)·N + n`).
    public var teacherPatches: [Float]

    public init(samples: [SampleTag], globalImages: [Float], localImages: [Float], teacherCLS: [Float], teacherPatches: [Float]) {
        self.samples = samples
        self.globalImages = globalImages
        self.localImages = localImages
        self.teacherCLS = teacherCLS
        self.teacherPatches = teacherPatches
    }

    /// B.
    public var batch: Int { samples.count }

    /// Checks every tensor's element count against the step's geometry: `settings.batch` samples, its global and
    /// local crops, teacher tokens of width `teacherWidth` with `patchTokens` patches per global crop.
    /// - Throws: `TrainingStepError` (`shapeMismatch` naming the tensor) at `iteration`, with the batch's samples.
    public func checkShapes(_ settings: DistillationTrainer.Settings, teacherWidth: Int, patchTokens: Int,
                            iteration: Int) throws(TrainingStepError) {
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b
        let s = settings.globalSize, l = settings.localSize
        let expected: [(String, Int, Int)] = [
            ("samples", samples.count, b), ("global crops", globalImages.count, globals * 3 * s * s),
            ("local crops", localImages.count, locals * 3 * l * l), ("teacher CLS tokens", teacherCLS.count, globals * teacherWidth),
            ("teacher patch tokens", teacherPatches.count, globals * patchTokens * teacherWidth),
        ]
        for (what, count, wanted) in expected where count != wanted {
            throw TrainingStepError(iteration: iteration, cause: .shapeMismatch(what: "batch \(what)", expected: [wanted], actual: [count]),
                                    samples: samples)
        }
    }
}
