import Compute

/// One step of H0-mini's objective, `L = L_dino_local + L_dino_global + L_ibot` (distillation-spec.md §4.6,
/// §4.11), from the teacher heads' logits and the student heads' logits to the three loss terms and the
/// gradients with respect to the student logits. It owns the teacher normalisation state (the two lagged
/// centres) and applies the teacher temperature of the iteration.
///
/// Shapes (crop-major, row `c·B + b`): teacher DINO logits `[Ng·B, K]` in crop order (not swapped, see
/// `DINOLoss`), teacher iBOT logits `[Ng·B·Np, K]`, student global `[Ng·B, K]`, local `[Nl·B, K]`, patch
/// `[Ng·B·Np, K]`; each gradient tensor has its logits' shape. The teacher logits are not modified.
public struct DistillationObjective: Sendable {
    /// How teacher logits become probabilities (DINOv2's `train.centering`).
    public enum TeacherNormalization: Sendable, Equatable {
        /// Softmax centering with the lagged centre, momentum 0.9 (`"centering"`, H0-mini's choice).
        case centering(momentum: Double)
        /// Sinkhorn-Knopp (`"sinkhorn_knopp"`), iterations 3; the teacher's patch probabilities are then held whole.
        case sinkhornKnopp(iterations: Int)
    }

    /// The three terms of one step (DINOv2's `dino_local_crops_loss`, `dino_global_crops_loss`, `ibot_loss`
    /// before its display halving).
    public struct Losses: Sendable, Equatable {
        /// `L_dino_local`, `L_dino_global`, `L_ibot`.
        public var dinoLocal: Double, dinoGlobal: Double, ibot: Double
        /// Their sum, the loss that is back-propagated.
        public var total: Double { dinoLocal + dinoGlobal + ibot }

        /// The three terms (a device step's report, `CUDATrainingStep`).
        public init(dinoLocal: Double, dinoGlobal: Double, ibot: Double) {
            self.dinoLocal = dinoLocal
            self.dinoGlobal = dinoGlobal
            self.ibot = ibot
        }
    }

    /// The DINO term's sizes and temperature.
    public let dino: DINOLoss
    /// The iBOT term's sizes and temperature.
    public let ibot: IBOTPatchLoss
    /// Centering or Sinkhorn-Knopp.
    public let normalization: TeacherNormalization
    /// The DINO and iBOT centres (unused with Sinkhorn-Knopp); restore them to resume.
    public var dinoCentering: SoftmaxCentering, ibotCentering: SoftmaxCentering

    /// - Parameters: B, crops, K, patch tokens per global crop `Np`, τ_s (0.1), rows per chunk.
    /// - Throws: `TrainingError.invalidConfiguration` as `DINOLoss` / `IBOTPatchLoss`.
    public init(batch: Int, globalCrops: Int = 2, localCrops: Int = 8, patchTokens: Int, prototypes: Int,
                studentTemperature: Float = 0.1, normalization: TeacherNormalization = .centering(momentum: 0.9),
                chunkRows: Int = 256) throws(TrainingError) {
        dino = try DINOLoss(batch: batch, globalCrops: globalCrops, localCrops: localCrops, prototypes: prototypes,
                            studentTemperature: studentTemperature, chunkRows: chunkRows)
        ibot = try IBOTPatchLoss(rows: globalCrops * batch * patchTokens, prototypes: prototypes,
                                 studentTemperature: studentTemperature, chunkRows: chunkRows)
        self.normalization = normalization
        let momentum: Double
        switch normalization {
        case .centering(let m): momentum = m
        case .sinkhornKnopp(let iterations):
            guard iterations >= 1 else { throw .invalidConfiguration("Sinkhorn-Knopp needs at least one iteration") }
            momentum = 0.9
        }
        dinoCentering = SoftmaxCentering(prototypes: prototypes, momentum: momentum)
        ibotCentering = SoftmaxCentering(prototypes: prototypes, momentum: momentum)
    }

    /// The step's losses; writes the three gradients.
    /// - Parameter teacherTemperature: τ_t of this iteration (`TrainingSchedules.Values.teacherTemperature`).
    /// - Throws: `TrainingError.shapeMismatch`; `.nonFiniteLogit` naming the tensor and row.
    public mutating func lossAndGradients(teacherCLS: Tensor, teacherPatch: Tensor, studentGlobal: Tensor,
                                          studentLocal: Tensor?, studentPatch: Tensor, globalGradient: Tensor,
                                          localGradient: Tensor?, patchGradient: Tensor, teacherTemperature: Float,
                                          backend: any Backend) throws(TrainingError) -> Losses {
        let k = dino.prototypes, clsRows = dino.globalCrops * dino.batch
        try InputChecks.shape("teacher DINO logits", teacherCLS, [clsRows, k])
        try InputChecks.shape("teacher iBOT logits", teacherPatch, [ibot.rows, k])
        let probabilities = backend.makeTensor(shape: [clsRows, k])
        let dinoValue: DINOLoss.Value, ibotValue: Double
        switch normalization {
        case .centering:
            dinoCentering.beginStep()
            ibotCentering.beginStep()
            try dinoCentering.teacherProbabilities(teacherLogits: teacherCLS, rows: clsRows, temperature: teacherTemperature,
                                                   output: probabilities, backend: backend, chunkRows: dino.chunkRows,
                                                   name: "teacher DINO logits")
            dinoValue = try dino.lossAndGradients(teacherProbabilities: probabilities, studentGlobal: studentGlobal,
                                                  globalGradient: globalGradient, studentLocal: studentLocal,
                                                  localGradient: localGradient, backend: backend)
            ibotValue = try ibot.lossAndGradient(studentLogits: studentPatch, teacherLogits: teacherPatch,
                                                 centering: &ibotCentering, teacherTemperature: teacherTemperature,
                                                 gradient: patchGradient, backend: backend)
        case .sinkhornKnopp(let iterations):
            let sinkhorn = SinkhornKnopp(iterations: iterations)
            try sinkhorn.probabilities(teacherLogits: teacherCLS, rows: clsRows, prototypes: k,
                                       temperature: teacherTemperature, output: probabilities, name: "teacher DINO logits",
                                       threads: RowParallel.threads(backend))
            dinoValue = try dino.lossAndGradients(teacherProbabilities: probabilities, studentGlobal: studentGlobal,
                                                  globalGradient: globalGradient, studentLocal: studentLocal,
                                                  localGradient: localGradient, backend: backend)
            let patchProbabilities = backend.makeTensor(shape: [ibot.rows, k])
            try sinkhorn.probabilities(teacherLogits: teacherPatch, rows: ibot.rows, prototypes: k,
                                       temperature: teacherTemperature, output: patchProbabilities, name: "teacher iBOT logits",
                                       threads: RowParallel.threads(backend))
            ibotValue = try ibot.lossAndGradient(studentLogits: studentPatch, teacherProbabilities: patchProbabilities,
                                                 gradient: patchGradient, backend: backend)
        }
        return Losses(dinoLocal: dinoValue.local, dinoGlobal: dinoValue.global, ibot: ibotValue)
    }
}
