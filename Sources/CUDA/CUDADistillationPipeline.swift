import Compute
import Training

/// The teacher's forward and the student's step on one GPU, each on its own `CUDABackend` and stream (the
/// `teacher-inference` and `student-trainer` stages of a graph, in one object), ordered by two `CUDAStreamEvent`s:
/// a forward starts (copying its crops, then writing the teacher's `x_norm`) only after everything queued on the
/// step's stream before it — the crops' writes, the last step's taking of its tokens — and a step takes the tokens
/// only after their forward. Two ways to run it (docs/cuda.md, "Teacher and student on two streams"):
///
/// ```
/// serial       queueTeacher(crops n); step(n, next: nil)            forward n, then step n (PyTorch's order)
/// overlapped   queueTeacher(crops 0) once; step(n, next: crops n+1) tokens n taken, forward n+1 queued, step n:
///                                                                    the forward of n + 1 runs beside step n
/// ```
///
/// Both give the same student, bit for bit (`CUDATrainingParity.pipeline` checks it on the device, where a missing
/// wait would show). The host queues and returns as the step does; its waits (the loss flags, the gradient norms)
/// are on the step's stream only, so a queued forward keeps running through them. One caller at a time.
public final class CUDADistillationPipeline: @unchecked Sendable {
    public let step: CUDATrainingStep
    public let teacher: CUDAViTForward
    /// The teacher's input and `x_norm` for the step's global crops `[Ng·B, 3, S, S]`.
    let activations: CUDAViTActivations
    /// tokensReady: the teacher's `x_norm` is written; studentQueued: what the step's stream had queued when the
    /// last forward was queued (the crops' writes, the last `takeTeacherTokens`).
    let tokensReady: CUDAStreamEvent, studentQueued: CUDAStreamEvent
    /// Whether a forward is queued whose tokens no step has taken yet.
    public private(set) var forwardQueued = false

    /// Makes the teacher's activations for the step's global crops (on the teacher's backend) and the two events.
    /// - Precondition: both backends are on one device (they share its primary context).
    /// - Throws: `CUDAError` (out of memory, the driver's event calls).
    public init(step: CUDATrainingStep, teacher: CUDAViTForward) throws(CUDAError) {
        precondition(step.backend.properties.ordinal == teacher.backend.properties.ordinal, "teacher and step on two devices")
        self.step = step
        self.teacher = teacher
        let size = step.settings.globalSize
        activations = try teacher.makeActivations(batch: step.settings.globalCrops * step.settings.batch, height: size, width: size)
        tokensReady = try CUDAStreamEvent(context: step.backend.context)
        studentQueued = try CUDAStreamEvent(context: step.backend.context)
    }

    /// Queues the teacher's forward on `crops` (global crops `[Ng·B, 3, S, S]` f32 on the device): on the teacher's
    /// stream, after everything queued so far on the step's stream (so crops written there are complete, and the last
    /// step has taken its tokens), the crops are copied into the teacher's input and the forward runs. Rewrite `crops`
    /// only with work queued on the step's stream after the next `step` call (which waits for this forward).
    /// - Precondition: no forward is queued whose tokens are still to be taken.
    /// - Throws: `CUDAError` from the copy, the forward or the events.
    public func queueTeacher(crops: Tensor) throws(CUDAError) {
        precondition(!forwardQueued, "a teacher forward is already queued")
        precondition(crops.count == activations.images.count, "teacher crops \(crops.shape) for input \(activations.images.shape)")
        try studentQueued.record(on: step.backend)
        try studentQueued.wait(on: teacher.backend)
        try teacher.backend.copy(from: crops, to: activations.images)
        try teacher.forward(activations)
        try tokensReady.record(on: teacher.backend)
        forwardQueued = true
    }

    /// One step on the queued forward's tokens and the crops already in `step.globalImages` / `step.localImages`:
    /// takes the tokens (waiting for the forward on the step's stream), then queues the teacher's forward on `next`
    /// (the next batch's global crops; nil: nothing, the serial order), then runs `CUDATrainingStep.stepResident`.
    /// - Precondition: a forward is queued (`queueTeacher`).
    /// - Throws: as `CUDATrainingStep.stepResident`; `CUDAError` from the events or the next forward.
    public func step(samples: [SampleTag], next: Tensor?) throws -> TrainingStepReport {
        precondition(forwardQueued, "queue the teacher's forward before the step")
        try tokensReady.wait(on: step.backend)
        try step.takeTeacherTokens(activations.output, length: activations.length, prefixTokens: teacher.config.prefixTokens)
        forwardQueued = false
        if let next { try queueTeacher(crops: next) }
        return try step.stepResident(samples: samples)
    }

    /// Waits for both streams.
    /// - Throws: `CUDAError.driver` (an asynchronous fault surfaces here).
    public func synchronize() throws(CUDAError) {
        try step.backend.synchronize()
        try teacher.backend.synchronize()
    }
}
