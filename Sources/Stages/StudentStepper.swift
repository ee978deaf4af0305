import CUDA
import Compute
import Training

/// The trainer behind a `student-trainer` stage: the CPU ``DistillationTrainer`` (`device: cpu`), or the whole step on
/// the GPU, ``CUDATrainingStep`` (`device: cuda`; docs/cuda.md "The step on the device") — the same batch in, the
/// same report, train state and student parameters out, so the stage, its log and the `ema` stage downstream do not
/// depend on where the step ran.
enum StudentStepper {
    case cpu(DistillationTrainer)
    case cuda(CUDATrainingStep)

    /// Steps taken (the schedules' iteration).
    var iteration: Int {
        switch self {
        case .cpu(let trainer): trainer.iteration
        case .cuda(let step): step.iteration
        }
    }

    /// The DINO head's prototypes (for the collapse message; the device step reports no collapse).
    var prototypes: Int? {
        switch self {
        case .cpu(let trainer): trainer.objective?.dino.prototypes
        case .cuda: nil
        }
    }

    /// One step on `batch`.
    /// - Throws: ``TrainingStepError`` naming the step and the sample of a non-finite value (nothing applied);
    ///   `CUDAError` from the device.
    func step(_ batch: TrainingBatch) throws -> TrainingStepReport {
        switch self {
        case .cpu(let trainer): try trainer.step(batch)
        case .cuda(let step): try step.step(batch)
        }
    }

    /// The run's state for a checkpoint (the device's is downloaded; waits for it), without an EMA: the `ema` stage
    /// adds its own, of the same step, and writes the file (the device step's spare EMA is left out, as the CPU
    /// trainer has none).
    func state(samplesConsumed: Int, seed: UInt64) throws -> TrainState {
        switch self {
        case .cpu(let trainer):
            return trainer.state(samplesConsumed: samplesConsumed, epoch: 0, seed: seed)
        case .cuda(let step):
            var state = try step.trainState(samplesConsumed: samplesConsumed, epoch: 0, seed: seed)
            state.ema = nil
            return state
        }
    }

    /// Continues from a checkpoint's state.
    /// - Throws: `TrainingError` for a state of another layout; `CUDAError` from the device.
    func restore(_ state: TrainState) throws {
        switch self {
        case .cpu(let trainer): try trainer.restore(state)
        case .cuda(let step): try step.restore(state)
        }
    }

    /// Writes the student backbone's parameters (`backbone.count` floats, layout order) into `backbone` (host f32):
    /// from `student` (the CPU trainer updates it in place) or downloaded from the device.
    func copyBackbone(into backbone: Tensor, student: Student) throws {
        switch self {
        case .cpu:
            backbone.floats.update(from: student.parameters.floats, count: backbone.count)
        case .cuda(let step):
            let values = try step.backboneParameters()
            values.withUnsafeBufferPointer { backbone.floats.update(from: $0.baseAddress!, count: backbone.count) }
        }
    }
}
