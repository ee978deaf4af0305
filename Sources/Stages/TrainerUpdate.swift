import Compute
import Dataflow
import Models
import Training

/// What `student-trainer` emits, in step order, for the `ema` stage: the student backbone after each step with
/// the step's report, and the trainer's train state at checkpoint steps and at the end.
///
/// The first update of a run has no report: it carries the student before any step (step 0, or the resumed
/// step), from which the spare EMA starts — with `state.ema` set when resuming, so the EMA continues instead of
/// restarting from the student (field cases E1, E2, E4). The last update of a run carries the final state.
public struct TrainerUpdate: ByteSized {
    /// Optimiser steps applied to `student`.
    public let step: Int
    /// The report of step `step − 1`; nil for the opening update and for a closing update that only adds the state.
    public let report: TrainingStepReport?
    /// The student's backbone after `step` steps (role `student`).
    public let student: ModelSnapshot
    /// The student's whole layout (backbone and heads), to write checkpoints with.
    public let layout: StudentLayout
    /// The trainer's state after `step` steps (its `ema` nil, except in the opening update of a resumed run).
    public let state: TrainState?
    /// The samples each step takes (B).
    public let batch: Int

    public init(step: Int, report: TrainingStepReport?, student: ModelSnapshot, layout: StudentLayout, state: TrainState?, batch: Int) {
        self.step = step
        self.report = report
        self.student = student
        self.layout = layout
        self.state = state
        self.batch = batch
    }

    /// Bytes held: the backbone snapshot, plus parameters, moments and EMA of a state.
    public var byteCount: Int {
        student.byteCount + (state.map { ($0.student.count * 3 + ($0.ema?.parameters.count ?? 0)) * MemoryLayout<Float>.size } ?? 0)
    }
}
