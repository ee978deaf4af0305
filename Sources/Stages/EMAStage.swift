import Compute
import Dataflow
import Foundation
import Models
import Training

/// `ema`: keeps the spare EMA of the student (``StudentEMA``; distillation-spec.md §5.5), H0-mini's final model,
/// from the ``TrainerUpdate``s of `student-trainer`: after every step `θ_ema ← m·θ_ema + (1 − m)·θ_student` with
/// the step's momentum. It starts as a copy of the student before the first step, or — resuming — as the EMA
/// the opening update's state carries.
///
/// Every `every` steps, and at the end, it emits the EMA as a ``ModelSnapshot`` (role `ema`) for the evaluator.
/// Publishes `step` and `momentum`.
///
/// It also writes the run's checkpoint: when an update carries the trainer's state (every `checkpoint_every`
/// steps of `student-trainer`, and at the end), the state with this EMA goes to `<run dir>/checkpoints/
/// latest.safetensors` in one atomic write (``TrainCheckpoint``: student, heads, EMA, optimiser moments, centres,
/// step, data cursor, seed) — the EMA and the trainer state of one file always belong to the same step. At the
/// end it exports the EMA and the student backbones with timm's names to `<run dir>/export/student-ema.safetensors`
/// and `student.safetensors` (``TimmExport``) — unless no step was taken (step 0: untrained weights).
public struct EMAStage: Stage {
    public static let summary = "The spare EMA of the student: updated after every step, emitted as snapshots"
    public static let input = InputPort<TrainerUpdate>("in")
    public static let output = OutputPort<ModelSnapshot>("out")
    public static var inputs: [PortSpec] { [input.spec] }
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("every", .integer(0...Int.max), default: .integer(0), "emit the EMA every N steps; 0 = at the end only"),
        ParameterSpec("checkpoints", .boolean, default: .boolean(true), "write <run dir>/checkpoints/latest.safetensors"),
        ParameterSpec("export", .boolean, default: .boolean(true), "export the EMA and student backbones (timm names) at the end"),
    ]

    /// The checkpoint's path in the run directory.
    public static let checkpointPath = "checkpoints/latest.safetensors"

    let every: Int
    let checkpoints: Bool
    let export: Bool

    public init(parameters: StageParameters) throws {
        every = parameters.integer("every")
        checkpoints = parameters.boolean("checkpoints")
        export = parameters.boolean("export")
    }

    public func validate(replicas: Int) throws {
        guard replicas == 1 else { throw ParameterError(key: "replicas", "ema runs as one replica (it owns the average)") }
    }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let out = try context.outbox(Self.output)
        var ema: StudentEMA?
        var last: TrainerUpdate?
        var lastSent = -1
        func send(_ update: TrainerUpdate, _ ema: StudentEMA) async throws {
            let flat = Tensor(shape: [ema.parameters.count])
            ema.parameters.withUnsafeBufferPointer { flat.floats.update(from: $0.baseAddress!, count: $0.count) }
            try await out.send(ModelSnapshot(role: "ema", step: update.step, config: update.student.config,
                                             parameters: ViTParameters(layout: update.student.parameters.layout, flat: flat)))
            lastSent = update.step
        }
        while let update = try await inbox.next() {
            let student = UnsafeBufferPointer(start: update.student.parameters.flat.floats, count: update.student.parameters.layout.count)
            if ema == nil {
                ema = update.state?.ema ?? StudentEMA(parameters: Array(student), updates: update.step)
            }
            if let report = update.report {
                ema!.update(student: student, momentum: report.schedule.momentum)
                context.metrics.set("momentum", report.schedule.momentum)
            }
            guard ema!.updates == update.step else {
                throw EMAStageError(message: "the EMA has \(ema!.updates) updates at step \(update.step): an update is missing or repeated")
            }
            context.metrics.set("step", Double(update.step))
            if checkpoints, var state = update.state, state.ema == nil, let directory = context.runDirectory {
                state.ema = ema
                let path = (directory as NSString).appendingPathComponent(Self.checkpointPath)
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try TrainCheckpoint.write(state, layout: update.layout, to: path)
                context.logger.info("ema: checkpoint of step \(update.step) written to \(path)")
            }
            if every > 0, update.report != nil, update.step % every == 0 { try await send(update, ema!) }
            last = update
        }
        if let last, let ema, lastSent != last.step { try await send(last, ema) }
        if export, let last, last.step == 0 {
            context.logger.warning("ema: no training step was taken: nothing exported")
        } else if export, let last, let ema, let directory = context.runDirectory {
            let folder = (directory as NSString).appendingPathComponent("export")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let config = last.student.config
            try TimmExport.write(backbone: ema.parameters[...], config: config, role: .ema, iteration: last.step,
                                 to: (folder as NSString).appendingPathComponent("student-ema.safetensors"))
            let student = UnsafeBufferPointer(start: last.student.parameters.flat.floats, count: last.student.parameters.layout.count)
            try TimmExport.write(backbone: Array(student)[...], config: config, role: .student, iteration: last.step,
                                 to: (folder as NSString).appendingPathComponent("student.safetensors"))
            context.logger.info("ema: exported the EMA and student backbones of step \(last.step) to \(folder) (timm names)")
        }
    }
}
