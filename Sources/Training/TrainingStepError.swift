/// A distillation step that cannot be applied: a NaN/∞ logit or loss (field case N5), or a batch of the wrong
/// shape. It names the iteration and the samples involved — sample id, slide and level-0 coordinates — so that a
/// stopped run says which tiles to look at. Nothing of the step was applied when it is thrown.
public struct TrainingStepError: Error, Equatable, CustomStringConvertible {
    /// The schedules' index of the failed step.
    public let iteration: Int
    /// What was wrong (`TrainingError.nonFiniteLogit` names the tensor, row and prototype).
    public let cause: TrainingError
    /// The samples the bad row belongs to, or the whole batch when no single row is to blame.
    public let samples: [SampleTag]

    public init(iteration: Int, cause: TrainingError, samples: [SampleTag]) {
        self.iteration = iteration
        self.cause = cause
        self.samples = samples
    }

    /// One line: the step, the cause, then the samples.
    public var description: String {
        "training step \(iteration): \(cause); sample\(samples.count == 1 ? "" : "s"): "
            + samples.map(\.label).joined(separator: ", ")
    }
}
