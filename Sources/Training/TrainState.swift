/// Everything a distillation run needs to continue exactly where it stopped (issue #5 item 6; field cases E1,
/// E2, D1–D5): the student (backbone and heads) and its spare EMA, the optimiser's moments and step, the two
/// teacher centres with their queued update, the iteration (which fixes every schedule's position), the data
/// cursor and the run seed. In feature distillation (a `StudentLayout` with a projector, no heads) there are no
/// centres: `student` and the moments cover the backbone and the projector. The teacher is not in it: it is frozen and reloaded from its own weights.
///
/// Iteration `iteration` is the next step to take: `iteration` steps have been applied to `student`, `optimizer`
/// and the centres, and `ema.updates == iteration`.
public struct TrainState: Sendable, Equatable {
    /// Steps completed; the schedules' index of the next step.
    public var iteration: Int
    /// The student's parameters `[StudentLayout.count]` (backbone, then `dino_head.…`, `ibot_head.…`, or
    /// `projector.…`).
    public var student: [Float]
    /// The spare EMA of the student backbone (nil while only the trainer's part is assembled).
    public var ema: StudentEMA?
    /// AdamW's moments and step counter.
    public var optimizer: AdamW
    /// The DINO (CLS) and iBOT (patch) centres with their pending updates; nil in feature distillation.
    public var dinoCentering: SoftmaxCentering?, ibotCentering: SoftmaxCentering?
    /// Samples consumed by the trainer so far (`iteration · B`), and the epoch they were drawn in.
    public var samplesConsumed: Int, epoch: Int
    /// The run seed (the augmentation keys and initialisation derive from it; the trainer itself draws nothing).
    public var seed: UInt64

    public init(iteration: Int, student: [Float], ema: StudentEMA?, optimizer: AdamW, dinoCentering: SoftmaxCentering?,
                ibotCentering: SoftmaxCentering?, samplesConsumed: Int, epoch: Int, seed: UInt64) {
        self.iteration = iteration
        self.student = student
        self.ema = ema
        self.optimizer = optimizer
        self.dinoCentering = dinoCentering
        self.ibotCentering = ibotCentering
        self.samplesConsumed = samplesConsumed
        self.epoch = epoch
        self.seed = seed
    }
}
