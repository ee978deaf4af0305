/// What one `DistillationTrainer.step` did, for the stats monitor and `metrics.jsonl`.
public struct TrainingStepReport: Sendable, Equatable {
    /// The schedules' index of the step (0 for the first); `iteration + 1` steps are done after it.
    public var iteration: Int
    /// `L_dino_local`, `L_dino_global`, `L_ibot` (their sum was back-propagated).
    public var losses: DistillationObjective.Losses
    /// lr, weight decay, EMA momentum, teacher temperature and last-layer lr of the step.
    public var schedule: TrainingSchedules.Values
    /// Each module's gradient norm before clipping (DINOv2's logged grad norm).
    public var gradientNorms: [StudentModule: Double]
    /// A collapse seen in the student's DINO probabilities of the global crops (`softmax(S/τ_s)`), if any.
    public var collapse: CollapseDetector.Collapse?
}
