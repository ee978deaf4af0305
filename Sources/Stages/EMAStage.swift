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
public struct EMAStage: Stage {
    public static let summary = "The spare EMA of the student: updated after every step, emitted as snapshots"
    public static let input = InputPort<TrainerUpdate>("in")
    public static let output = OutputPort<ModelSnapshot>("out")
    public static var inputs: [PortSpec] { [input.spec] }
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("every", .integer(0...Int.max), default: .integer(0), "emit the EMA every N steps; 0 = at the end only"),
    ]

    let every: Int

    public init(parameters: StageParameters) throws {
        every = parameters.integer("every")
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
            if every > 0, update.report != nil, update.step % every == 0 { try await send(update, ema!) }
            last = update
        }
        if let last, let ema, lastSent != last.step { try await send(last, ema) }
    }
}
