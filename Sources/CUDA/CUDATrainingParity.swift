import Compute
import Foundation
import Models
import Training

/// The whole device step against the CPU trainer (issue #10 "Parity"; docs/cuda.md): `CUDATrainingStep` and
/// `DistillationTrainer` from the same weights on the same batch.
///
/// * **One step** (with centering, then with Sinkhorn-Knopp) of the tiny configuration the CPU step-parity test uses (`vit-tiny-train-test` with its DINO and
///   iBOT heads, K 1024, from `Tests/Fixtures/training`; the frozen teacher heads of `Tests/Fixtures/train-step`;
///   B = 2, 2 × 224 + 2 × 98 px crops of SplitMix64 pixels, teacher tokens from SplitMix64): the three losses
///   (relative error ≤ 2e-2), the updated parameters per module (`max|Δ| ≤ 1e-2·max|θ|`), the EMA, the gradient
///   norms (≤ 5e-2) and the centres' pending sums (≤ 2e-2), no NaN.
/// * **CUDA graphs**: three steps with the forward and backward captured and replayed equal three call by call.
/// * **Two streams**: the teacher's forward of batch n + 1 beside step n gives what the serial order gives.
/// * **A loss curve**: `steps` steps of the same configuration over a cycle of four batches at a constant lr,
///   CPU and device side by side; the total loss's largest gap relative to the CPU's largest loss is bounded
///   (≤ 5e-2). The curve itself is returned for printing.
public enum CUDATrainingParity {
    /// Tolerances: losses, parameters and EMA (bf16 against fp32), gradient norms, the loss curve's gap.
    public static let lossTolerance = 2e-2, parameterTolerance = 1e-2, normTolerance = 5e-2, curveTolerance = 5e-2
    /// The clipped gradients of a module, relative to its largest gradient.
    public static let gradientTolerance = 5e-2

    /// One step of the curve: the CPU's and the device's total loss.
    public struct CurvePoint: Sendable, Encodable {
        public let step: Int
        public let cpu: Double
        public let cuda: Double
        public var relativeGap: Double { abs(cuda - cpu) / max(abs(cpu), .leastNormalMagnitude) }
        enum CodingKeys: String, CodingKey { case step, cpu, cuda }
    }

    static let dinoConfig = HeadConfig(inFeatures: 64, hiddenFeatures: 64, bottleneckFeatures: 32, prototypes: 1024)
    static let ibotConfig = HeadConfig(inFeatures: 64, hiddenFeatures: 64, bottleneckFeatures: 16, prototypes: 1024)
    static let teacherDINO = HeadConfig(inFeatures: 96, hiddenFeatures: 64, bottleneckFeatures: 16, prototypes: 1024)
    static let teacherIBOT = HeadConfig(inFeatures: 96, hiddenFeatures: 64, bottleneckFeatures: 8, prototypes: 1024)

    /// The tiny configuration: student layout, initial parameters, teacher heads (CPU), settings.
    struct Tiny {
        let config: ViTConfig
        let layout: StudentLayout
        let parameters: [Float]
        let teacher: TeacherHeads
        let settings: DistillationTrainer.Settings
    }

    static func tiny(root: String, steps: Int, cpu: CPUBackend,
                     normalization: DistillationObjective.TeacherNormalization = .centering(momentum: 0.9)) throws -> Tiny {
        let config = try ViTConfig.load(path: "\(root)/configs/models/vit-tiny-train-test.yaml")
        let layout = StudentLayout(backbone: config, heads: [.init(name: "dino_head", config: dinoConfig),
                                                             .init(name: "ibot_head", config: ibotConfig)])
        let weights = try SafetensorsFile(path: "\(root)/Tests/Fixtures/training/vit-tiny-train-test.safetensors")
        var parameters: [Float] = []
        parameters.reserveCapacity(layout.count)
        for parameter in layout.layout.parameters { parameters += try weights.tensor(parameter.name).scalars() }
        let teacher = try TeacherHeads.load(SafetensorsFile(path: "\(root)/Tests/Fixtures/train-step/teacher-heads.safetensors"),
                                            dino: teacherDINO, ibot: teacherIBOT, backend: cpu)
        // A constant lr from step 0 (no warmup, the last layer not frozen), τ_t warming up over the first epoch.
        var schedules = TrainingSchedules.Settings(epochs: max(steps, 2), batchSize: 1024)
        schedules.officialEpochLength = 1
        schedules.warmupEpochs = 0
        schedules.minLR = schedules.baseLR
        schedules.freezeLastLayerEpochs = 0
        schedules.warmupTeacherTemperatureEpochs = 1
        var settings = DistillationTrainer.Settings(batch: 2, schedules: schedules)
        settings.localCrops = 2
        settings.normalization = normalization
        return Tiny(config: config, layout: layout, parameters: parameters, teacher: teacher, settings: settings)
    }

    /// Batch `index`: normalised SplitMix64 pixels for every crop, SplitMix64 teacher tokens in [−1, 1).
    static func batch(_ index: Int, tiny: Tiny, cpu: CPUBackend) -> TrainingBatch {
        let s = tiny.settings, b = s.batch, globals = s.globalCrops * b, locals = s.localCrops * b
        func images(_ count: Int, _ size: Int, seed: UInt64) -> [Float] {
            let pixels = ParityRandom.bytes(count * size * size * 3, seed: seed)
            let output = cpu.makeTensor(shape: [count, 3, size, size])
            pixels.withUnsafeBufferPointer {
                cpu.normalizeImages(pixels: $0, normalization: tiny.config.normalization, output: output, batch: count, height: size, width: size)
            }
            return cpu.download(output)
        }
        let width = teacherDINO.inFeatures, patches = (s.globalSize / tiny.config.patchSize) * (s.globalSize / tiny.config.patchSize)
        let seed = UInt64(1000 * (index + 1))
        return TrainingBatch(samples: (0..<b).map { SampleTag(sampleID: UInt64(10 * index + $0), slideID: "parity", x: 0, y: 0) },
                             globalImages: images(globals, s.globalSize, seed: seed + 1), localImages: images(locals, s.localSize, seed: seed + 2),
                             teacherCLS: ParityRandom.uniform(globals * width, seed: seed + 3),
                             teacherPatches: ParityRandom.uniform(globals * patches * width, seed: seed + 4))
    }

    static func trainers(_ tiny: Tiny, cpu: CPUBackend, backend: CUDABackend,
                         logitBudgetBytes: Int = 1 << 30) throws -> (DistillationTrainer, CUDATrainingStep) {
        let student = Student(layout: tiny.layout, parameters: Tensor(shape: [tiny.layout.count], values: tiny.parameters),
                              gradients: cpu.makeTensor(shape: [tiny.layout.count]), backend: cpu)
        let trainer = try DistillationTrainer(settings: tiny.settings, student: student, teacherHeads: tiny.teacher)
        let device = try CUDATrainingStep(settings: tiny.settings, layout: tiny.layout, parameters: tiny.parameters,
                                          teacherHeads: tiny.teacher, backend: backend, logitBudgetBytes: logitBudgetBytes)
        return (trainer, device)
    }

    /// One step, CPU against device, with centering and then with Sinkhorn-Knopp: the rows of the parity table.
    /// - Throws: `CUDAError` from the device; errors reading the fixtures (named by file); `TrainingStepError`.
    public static func step(backend: CUDABackend, root: String = ".") throws -> [CUDAParity.Row] {
        try step(backend: backend, root: root, normalization: .centering(momentum: 0.9))
            + step(backend: backend, root: root, normalization: .sinkhornKnopp(iterations: 3))
    }

    static func step(backend: CUDABackend, root: String, normalization: DistillationObjective.TeacherNormalization) throws -> [CUDAParity.Row] {
        let cpu = CPUBackend(threads: CPUBackend.availableCores)
        let tiny = try tiny(root: root, steps: 2, cpu: cpu, normalization: normalization)
        let model: String
        switch normalization {
        case .centering: model = "train tiny"
        case .sinkhornKnopp(let iterations): model = "train tiny, Sinkhorn-Knopp ×\(iterations)"
        }
        // Logit chunks of 100 rows: the 1024 iBOT rows in 11 chunks, the last one partial (the curve keeps one chunk).
        let (trainer, device) = try trainers(tiny, cpu: cpu, backend: backend, logitBudgetBytes: 100 * 1024 * LogitChunkPlan.bytesPerElement)
        let batch = batch(0, tiny: tiny, cpu: cpu)
        let expected = try trainer.step(batch)
        let report = try device.step(batch)
        let input = "1 step, B 2, 2×224 + 2×98, chunks of \(device.chunks.rowsPerChunk)"
        func row(_ output: String, _ cuda: [Float], _ reference: [Float], _ tolerance: Double) -> CUDAParity.Row {
            CUDAParity.Row(model: model, input: input, output: output, reference: "cpu", cuda: cuda, expected: reference,
                           tolerance: tolerance)
        }
        var rows: [CUDAParity.Row] = []
        let losses = [("dino local", report.losses!.dinoLocal, expected.losses!.dinoLocal),
                      ("dino global", report.losses!.dinoGlobal, expected.losses!.dinoGlobal),
                      ("ibot", report.losses!.ibot, expected.losses!.ibot)]
        for (name, value, reference) in losses {
            rows.append(row("loss \(name)", [Float(value)], [Float(reference)], lossTolerance))
        }
        let modules = device.table.modules
        rows.append(row("gradient norms (\(modules.map(\.rawValue).joined(separator: ", ")))",
                        modules.map { Float(report.gradientNorms[$0] ?? .nan) }, modules.map { Float(expected.gradientNorms[$0] ?? 0) },
                        normTolerance))
        // The clipped gradients both sides applied (the CPU clips in place; adamw_step writes the clipped values back),
        // per module, each row naming the parameter with the largest error relative to its own largest gradient.
        let deviceGradients = try backend.downloadFloats(device.state.gradients), cpuGradients = cpu.download(trainer.student.gradients)
        for module in tiny.layout.modules {
            let range = tiny.layout.range(of: module)
            let worst = device.table.entries.filter { range.contains($0.offset) }.map { entry -> (String, Double) in
                let a = deviceGradients[entry.range], b = cpuGradients[entry.range]
                let scale = b.map { abs(Double($0)) }.max() ?? 0
                let error = zip(a, b).map { abs(Double($0) - Double($1)) }.max() ?? 0
                return (entry.name, scale > 0 ? error / scale : error)
            }.max { $0.1 < $1.1 }
            rows.append(row("\(module) gradients (worst: \(worst?.0 ?? "-") \(String(format: "%.1e", worst?.1 ?? 0)))",
                            Array(deviceGradients[range]), Array(cpuGradients[range]), gradientTolerance))
        }
        let state = try device.trainState()
        let updated = cpu.download(trainer.student.parameters)
        for module in tiny.layout.modules {
            let range = tiny.layout.range(of: module)
            rows.append(row("\(module) parameters after the step", Array(state.student[range]), Array(updated[range]), parameterTolerance))
        }
        var ema = StudentEMA(parameters: Array(tiny.parameters[0..<tiny.layout.backboneLayout.count]))
        updated.withUnsafeBufferPointer { ema.update(student: UnsafeBufferPointer(rebasing: $0[0..<tiny.layout.backboneLayout.count]),
                                                     momentum: expected.schedule.momentum) }
        rows.append(row("backbone EMA", state.ema!.parameters, ema.parameters, parameterTolerance))
        let cpuState = trainer.state(samplesConsumed: 0, epoch: 0, seed: 0)
        for (name, cuda, reference) in [("DINO centre pending sum", state.dinoCentering!, cpuState.dinoCentering!),
                                        ("iBOT centre pending sum", state.ibotCentering!, cpuState.ibotCentering!)] {
            rows.append(row(name + " (\(reference.pendingRows) rows)", cuda.pendingSum.map { Float($0) },
                            reference.pendingSum.map { Float($0) }, lossTolerance))
        }
        rows.append(row("AdamW second moment v", state.optimizer.v, trainer.optimizer.v, normTolerance))
        rows.append(try nonFiniteRow(trainer: trainer, device: device, tiny: tiny, cpu: cpu, before: state, model: model))
        return rows
    }

    /// Three steps through CUDA graphs (the forward and backward captured on step 2, replayed on step 3) against
    /// three steps call by call, from the same start on the same batches: the student, the moments and the EMA must
    /// be equal bit for bit (the row's value is the largest difference), and no capture may fail.
    public static func graphs(backend: CUDABackend, root: String = ".") throws -> CUDAParity.Row {
        let cpu = CPUBackend(threads: CPUBackend.availableCores)
        let tiny = try tiny(root: root, steps: 3, cpu: cpu)
        func states(graphs: Bool) throws -> (TrainState, String?) {
            let (_, device) = try trainers(tiny, cpu: cpu, backend: backend, logitBudgetBytes: 100 * 1024 * LogitChunkPlan.bytesPerElement)
            device.usesGraphs = graphs
            for index in 0..<3 { _ = try device.step(batch(index, tiny: tiny, cpu: cpu)) }
            return (try device.trainState(), device.graphFailure)
        }
        let (replayed, failure) = try states(graphs: true), (eager, _) = try states(graphs: false)
        let difference = largestDifference(replayed, eager)
        let how = !CUDAGraph.enabled ? "graphs off (DISTILL_CUDA_GRAPHS=0)" : failure.map { "capture failed: \($0)" } ?? "captured on step 2, replayed on step 3"
        return CUDAParity.Row(model: "train tiny", input: "3 steps, forward and backward as CUDA graphs (\(how))",
                              output: "student, m, v, EMA equal to call by call (0 = yes)", reference: "cuda call by call",
                              cuda: [difference, failure == nil ? 0 : 1], expected: [0, 0], tolerance: 0)
    }

    /// The teacher (a random `vit-tiny-teacher`: width 96, as the fixture's teacher heads) and the step on two backends
    /// in a `CUDADistillationPipeline`: four steps over four batches overlapped (the teacher's forward of batch n + 1
    /// queued beside step n) against four serial, from the same start. The losses, the student, the moments and the
    /// EMA must be equal bit for bit (the row's value is the largest difference): on a GPU, a missing wait between the
    /// two streams would show here (each batch's teacher tokens differ).
    /// - Parameter teacherBackend: a second backend on the same device (its own stream).
    public static func pipeline(backend: CUDABackend, teacherBackend: CUDABackend, root: String = ".") throws -> CUDAParity.Row {
        let cpu = CPUBackend(threads: CPUBackend.availableCores)
        let tiny = try tiny(root: root, steps: 4, cpu: cpu)
        let teacherConfig = try ViTConfig.load(path: "\(root)/configs/models/vit-tiny-teacher.yaml")
        let teacher = try CUDAViTForward(config: teacherConfig, parameters: ViTParameters.random(config: teacherConfig, backend: cpu, seed: 5),
                                         backend: teacherBackend)
        let batches = (0..<4).map { batch($0, tiny: tiny, cpu: cpu) }
        // Every batch's global crops resident (read by the teacher's copies on its stream); the step's own crops are
        // uploaded on its stream before each step.
        let crops = try batches.map { batch throws(CUDAError) -> Tensor in
            let tensor = try backend.makeTensor(shape: [batch.globalImages.count], dtype: .f32)
            try batch.globalImages.withUnsafeBytes { bytes in
                Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: tensor) }
            }.get()
            return tensor
        }
        try backend.synchronize()
        func run(overlapped: Bool) throws -> (losses: [Double], state: TrainState) {
            let (_, device) = try trainers(tiny, cpu: cpu, backend: backend)
            let pipeline = try CUDADistillationPipeline(step: device, teacher: teacher)
            var losses: [Double] = []
            if overlapped { try pipeline.queueTeacher(crops: crops[0]) }
            for (index, batch) in batches.enumerated() {
                try backend.copy(from: crops[index], to: device.globalImages)
                try batch.localImages.withUnsafeBytes { bytes in
                    Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: device.localImages!) }
                }.get()
                if !overlapped { try pipeline.queueTeacher(crops: crops[index]) }
                let next = overlapped && index + 1 < batches.count ? crops[index + 1] : nil
                losses.append(try pipeline.step(samples: batch.samples, next: next).totalLoss)
            }
            try pipeline.synchronize()
            return (losses, try device.trainState())
        }
        let serial = try run(overlapped: false), overlapped = try run(overlapped: true)
        let difference = largestDifference(overlapped.state, serial.state)
        let lossDifference = zip(overlapped.losses, serial.losses).map { abs($0 - $1) }.max() ?? .nan
        return CUDAParity.Row(model: "train tiny", input: "4 steps, teacher vit-tiny-teacher on a second stream",
                              output: "overlapped = serial: losses, student, m, v, EMA (0 = yes)", reference: "cuda serial",
                              cuda: [Float(lossDifference), difference], expected: [0, 0], tolerance: 0)
    }

    /// The largest difference between two device states: the student, AdamW's `m` and `v`, and the EMA.
    static func largestDifference(_ a: TrainState, _ b: TrainState) -> Float {
        func flat(_ state: TrainState) -> [Float] { state.student + state.optimizer.m + state.optimizer.v + (state.ema?.parameters ?? []) }
        return zip(flat(a), flat(b)).map { abs($0 - $1) }.max() ?? .nan
    }

    /// A NaN teacher CLS token (crop 1, image 0): both sides must throw the same `TrainingStepError` (the tensor, row,
    /// prototype and sample: the device's from the `centered_softmax_rows` or `sinkhorn_column_partial` flag) and the device state must not move.
    /// The row's three values are 0 when so: the error mismatch, the largest parameter change, the largest change of
    /// the centres' pending sums.
    static func nonFiniteRow(trainer: DistillationTrainer, device: CUDATrainingStep, tiny: Tiny, cpu: CPUBackend,
                             before: TrainState, model: String) throws -> CUDAParity.Row {
        var bad = batch(1, tiny: tiny, cpu: cpu)
        let width = teacherDINO.inFeatures, row = tiny.settings.batch   // crop 1, image 0
        bad.teacherCLS[row * width + 3] = .nan
        func failure(_ body: () throws -> TrainingStepReport) -> String {
            do {
                _ = try body()
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let expected = failure { try trainer.step(bad) }, actual = failure { try device.step(bad) }
        let after = try device.trainState()
        let moved = zip(after.student, before.student).map { abs($0 - $1) }.max() ?? .nan
        let centres = zip(after.dinoCentering!.pendingSum + after.ibotCentering!.pendingSum,
                          before.dinoCentering!.pendingSum + before.ibotCentering!.pendingSum).map { Float(abs($0 - $1)) }.max() ?? .nan
        return CUDAParity.Row(model: model, input: "NaN teacher CLS token", output: "same error as the CPU, nothing applied",
                              reference: "cpu", cuda: [expected == actual && expected.contains("teacher DINO logits") ? 0 : 1, moved, centres],
                              expected: [0, 0, 0], tolerance: 0)
    }

    /// `steps` steps of the tiny configuration on a cycle of four batches, CPU and device side by side.
    /// - Returns: the curve, and its summary row (total loss, gap relative to the CPU's largest loss ≤ 5e-2).
    public static func curve(backend: CUDABackend, root: String = ".", steps: Int) throws -> (points: [CurvePoint], row: CUDAParity.Row) {
        let cpu = CPUBackend(threads: CPUBackend.availableCores)
        let tiny = try tiny(root: root, steps: steps, cpu: cpu)
        let (trainer, device) = try trainers(tiny, cpu: cpu, backend: backend)
        let batches = (0..<4).map { batch($0, tiny: tiny, cpu: cpu) }
        var points: [CurvePoint] = []
        for step in 0..<steps {
            let expected = try trainer.step(batches[step % batches.count])
            let report = try device.step(batches[step % batches.count])
            points.append(CurvePoint(step: step, cpu: expected.totalLoss, cuda: report.totalLoss))
        }
        let row = CUDAParity.Row(model: "train tiny", input: "\(steps) steps, 4 batches", output: "loss curve (total)", reference: "cpu",
                                 cuda: points.map { Float($0.cuda) }, expected: points.map { Float($0.cpu) }, tolerance: curveTolerance)
        return (points, row)
    }
}
