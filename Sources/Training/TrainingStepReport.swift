/// What one `DistillationTrainer.step` did, for the stats monitor and `metrics.jsonl`.
public struct TrainingStepReport: Sendable, Equatable {
    /// The schedules' index of the step (0 for the first); `iteration + 1` steps are done after it.
    public var iteration: Int
    /// `L_dino_local`, `L_dino_global`, `L_ibot` (their sum was back-propagated); nil in feature distillation.
    public var losses: DistillationObjective.Losses?
    /// The CLS and patch feature losses (their sum was back-propagated); nil with heads.
    public var featureLosses: FeatureLosses?
    /// lr, weight decay, EMA momentum, teacher temperature and last-layer lr of the step.
    public var schedule: TrainingSchedules.Values
    /// Each module's gradient norm before clipping (DINOv2's logged grad norm).
    public var gradientNorms: [StudentModule: Double]
    /// A collapse seen in the student's DINO probabilities of the global crops (`softmax(S/τ_s)`), if any.
    public var collapse: CollapseDetector.Collapse?

    /// A report with these fields (the CPU trainer's, or a device step's: `CUDATrainingStep`).
    public init(iteration: Int, losses: DistillationObjective.Losses?, featureLosses: FeatureLosses?, schedule: TrainingSchedules.Values,
                gradientNorms: [StudentModule: Double], collapse: CollapseDetector.Collapse?) {
        self.iteration = iteration
        self.losses = losses
        self.featureLosses = featureLosses
        self.schedule = schedule
        self.gradientNorms = gradientNorms
        self.collapse = collapse
    }

    /// The loss that was back-propagated, whichever the objective.
    public var totalLoss: Double { losses?.total ?? featureLosses?.total ?? 0 }

    /// The two parts of a feature-distillation step's loss (`FeatureDistillationLoss` on the global crops' CLS
    /// rows and on their patch rows).
    public struct FeatureLosses: Sendable, Equatable {
        public var cls: FeatureDistillationLoss.Value, patch: FeatureDistillationLoss.Value
        /// Their sum, the loss that is back-propagated.
        public var total: Double { cls.total + patch.total }
    }
}
