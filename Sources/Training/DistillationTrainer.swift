import Compute
import Models

/// One H0-mini distillation step on the CPU backend, in DINOv2's order (distillation-spec.md §4.11, §5.1):
///
/// ```
/// values = schedules[iteration]                         lr, wd, momentum, τ_t, last-layer lr
/// T_cls = teacher dino_head(teacher x_norm CLS)         [Ng·B, K]        frozen, no gradient
/// T_pat = teacher ibot_head(teacher x_norm patches)     [Ng·B·Np, K]
/// student forward on global [Ng·B,3,S,S] and local [Nl·B,3,s,s] crops, heads → S_loc, S_glo, S_pat
/// L = L_dino_local + L_dino_global + L_ibot (centering or Sinkhorn-Knopp, τ_s 0.1) → dL/dS
/// student backward → gradients; clip 3.0 per module; AdamW with the parameter groups; iteration += 1
/// ```
///
/// The spare EMA is not updated here: the `ema` stage (or the caller) applies `StudentEMA.update` with the step's
/// `schedule.momentum` after each step, so the EMA can live in its own stage. Logits are held whole per step
/// (`[Ng·B·Np, K]` student, teacher and gradient for iBOT): at K = 131,072 and B = 32 that is 3 × 8.6 GB, a
/// GPU-sized step; the CPU runs small K (the quickstart) or small B.
///
/// Not thread-safe: one step at a time (the `student-trainer` stage owns it).
public final class DistillationTrainer {
    /// The step's sizes and hyper-parameters (DINOv2 names in parentheses).
    public struct Settings: Sendable, Equatable {
        /// B, samples per step (`batch_size_per_gpu` × GPUs).
        public var batch: Int
        /// Global and local crops per sample (2, `local_crops_number` 8).
        public var globalCrops = 2, localCrops = 8
        /// Global and local crop sizes, px (224, 98).
        public var globalSize = 224, localSize = 98
        /// τ_s (0.1).
        public var studentTemperature: Float = 0.1
        /// Centering (momentum 0.9, H0-mini) or Sinkhorn-Knopp.
        public var normalization = DistillationObjective.TeacherNormalization.centering(momentum: 0.9)
        /// Per-module gradient-norm bound (`clip_grad` 3.0).
        public var clipGradient = 3.0
        /// Layer-wise lr decay (0.9) and the patch-embedding lr multiplier (0.2).
        public var layerwiseDecay = 0.9, patchEmbedLRMultiplier = 0.2
        /// The schedules (epochs, `OFFICIAL_EPOCH_LENGTH`, base lr, warmups …).
        public var schedules: TrainingSchedules.Settings
        /// Rows per loss chunk.
        public var chunkRows = 256

        public init(batch: Int, schedules: TrainingSchedules.Settings) {
            self.batch = batch
            self.schedules = schedules
        }
    }

    public let settings: Settings
    /// The student: parameters, gradients, backbone and heads.
    public let student: Student
    /// The teacher's frozen heads.
    public let teacherHeads: TeacherHeads
    /// The student's parameters by name and module; DINOv2's parameter groups over it.
    public let table: ParameterTable
    public let groups: ParameterGroups
    /// lr, weight decay, momentum, teacher temperature, last-layer lr per iteration.
    public let schedules: TrainingSchedules
    /// The loss with its two centres.
    public private(set) var objective: DistillationObjective
    /// AdamW's moments.
    public private(set) var optimizer: AdamW
    /// The next step's schedule index (= steps taken).
    public private(set) var iteration = 0
    /// Patch tokens per global crop, Np = (S / patch)².
    public let patchTokens: Int

    private let activations: StudentActivations
    private let teacherDINO: DINOHeadActivations, teacherIBOT: DINOHeadActivations
    private let teacherCLSLogits: Tensor, teacherPatchLogits: Tensor
    private let studentDINOLogits: Tensor, studentPatchLogits: Tensor
    private let dinoGradient: Tensor, patchGradient: Tensor
    private let probabilities: Tensor
    private let collapseDetector = CollapseDetector()

    /// A trainer over `student` (its current parameters are step 0's) and the teacher's `teacherHeads`.
    /// - Throws: `TrainingError.invalidConfiguration` when the student lacks a `dino_head` or `ibot_head`, the
    ///   heads' K differ from each other or from the teacher's, the teacher heads' input width differs between
    ///   them, or a size or schedule setting is invalid; `.badParameterTable` from the layout.
    public init(settings: Settings, student: Student, teacherHeads: TeacherHeads) throws(TrainingError) {
        guard let dino = student.heads["dino_head"], let ibot = student.heads["ibot_head"] else {
            throw .invalidConfiguration("the student needs a dino_head and an ibot_head (it has \(student.heads.keys.sorted()))")
        }
        let k = dino.config.prototypes
        guard ibot.config.prototypes == k, teacherHeads.dino.config.prototypes == k, teacherHeads.ibot.config.prototypes == k else {
            throw .invalidConfiguration("prototypes differ: student DINO \(k), iBOT \(ibot.config.prototypes), teacher DINO "
                                        + "\(teacherHeads.dino.config.prototypes), iBOT \(teacherHeads.ibot.config.prototypes)")
        }
        guard teacherHeads.dino.config.inFeatures == teacherHeads.ibot.config.inFeatures else {
            throw .invalidConfiguration("teacher heads take \(teacherHeads.dino.config.inFeatures) and \(teacherHeads.ibot.config.inFeatures) features")
        }
        guard settings.batch > 0, settings.globalCrops > 0, settings.localCrops >= 0 else {
            throw .invalidConfiguration("batch \(settings.batch), \(settings.globalCrops) global and \(settings.localCrops) local crops")
        }
        let patch = student.layout.backbone.patchSize
        guard settings.globalSize % patch == 0, settings.localSize % patch == 0 else {
            throw .invalidConfiguration("crop sizes \(settings.globalSize), \(settings.localSize) px are not multiples of the patch size \(patch)")
        }
        self.settings = settings
        self.student = student
        self.teacherHeads = teacherHeads
        var table = ParameterTable()
        for parameter in student.layout.layout.parameters { try table.append(parameter.name, shape: parameter.shape) }
        self.table = table
        groups = ParameterGroups(table: table, depth: student.layout.backbone.depth, layerwiseDecay: settings.layerwiseDecay,
                                 patchEmbedLRMultiplier: settings.patchEmbedLRMultiplier)
        schedules = try TrainingSchedules(settings.schedules)
        patchTokens = (settings.globalSize / patch) * (settings.globalSize / patch)
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b
        objective = try DistillationObjective(batch: b, globalCrops: settings.globalCrops, localCrops: settings.localCrops,
                                              patchTokens: patchTokens, prototypes: k, studentTemperature: settings.studentTemperature,
                                              normalization: settings.normalization, chunkRows: settings.chunkRows)
        optimizer = AdamW(count: table.count)
        let backend = student.backend
        activations = student.makeActivations(globalBatch: globals, globalSize: settings.globalSize, localBatch: locals,
                                              localSize: settings.localSize)
        teacherDINO = teacherHeads.dino.makeActivations(rows: globals)
        teacherIBOT = teacherHeads.ibot.makeActivations(rows: globals * patchTokens)
        teacherCLSLogits = backend.makeTensor(shape: [globals, k])
        teacherPatchLogits = backend.makeTensor(shape: [globals * patchTokens, k])
        studentDINOLogits = backend.makeTensor(shape: [locals + globals, k])
        studentPatchLogits = backend.makeTensor(shape: [globals * patchTokens, k])
        dinoGradient = backend.makeTensor(shape: [locals + globals, k])
        patchGradient = backend.makeTensor(shape: [globals * patchTokens, k])
        probabilities = backend.makeTensor(shape: [globals, k])
    }

    /// Applies one step to the student, the optimiser and the centres.
    /// - Returns: the step's losses, schedule values, gradient norms and any collapse seen.
    /// - Throws: `TrainingStepError` (nothing applied: parameters, moments, centres and iteration unchanged) for a
    ///   batch of the wrong shape or a NaN/∞ logit or loss, naming the samples.
    public func step(_ batch: TrainingBatch) throws(TrainingStepError) -> TrainingStepReport {
        let values = schedules[iteration]
        try check(batch)
        let backend = student.backend
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b
        let k = objective.dino.prototypes

        batch.teacherCLS.withUnsafeBufferPointer {
            teacherHeads.logits(teacherHeads.dino, tokens: $0.baseAddress!, activations: teacherDINO, output: teacherCLSLogits)
        }
        batch.teacherPatches.withUnsafeBufferPointer {
            teacherHeads.logits(teacherHeads.ibot, tokens: $0.baseAddress!, activations: teacherIBOT, output: teacherPatchLogits)
        }

        student.zeroGradients()
        batch.globalImages.withUnsafeBufferPointer { activations.global.images.floats.update(from: $0.baseAddress!, count: $0.count) }
        if let local = activations.local {
            batch.localImages.withUnsafeBufferPointer { local.images.floats.update(from: $0.baseAddress!, count: $0.count) }
        }
        do {
            try student.forward(activations)
        } catch {
            throw TrainingStepError(iteration: iteration, cause: .invalidConfiguration("\(error)"), samples: batch.samples)
        }
        let dinoHead = student.heads["dino_head"]!, ibotHead = student.heads["ibot_head"]!
        dinoHead.logits(rows: 0..<(locals + globals), output: studentDINOLogits, activations.dino!)
        ibotHead.logits(rows: 0..<(globals * patchTokens), output: studentPatchLogits, activations.ibot!)

        // The objective mutates its centres; work on a copy so that a failed step leaves them as they were.
        var objective = self.objective
        let losses: DistillationObjective.Losses
        do {
            losses = try objective.lossAndGradients(
                teacherCLS: teacherCLSLogits, teacherPatch: teacherPatchLogits,
                studentGlobal: studentDINOLogits.view(offset: locals * k, shape: [globals, k]),
                studentLocal: locals > 0 ? studentDINOLogits.view(shape: [locals, k]) : nil, studentPatch: studentPatchLogits,
                globalGradient: dinoGradient.view(offset: locals * k, shape: [globals, k]),
                localGradient: locals > 0 ? dinoGradient.view(shape: [locals, k]) : nil, patchGradient: patchGradient,
                teacherTemperature: Float(values.teacherTemperature), backend: backend)
        } catch {
            throw TrainingStepError(iteration: iteration, cause: error, samples: implicated(by: error, batch.samples))
        }
        guard losses.total.isFinite else {
            throw TrainingStepError(iteration: iteration, cause: .nonFiniteLogit(what: "loss", row: 0, column: 0, value: Float(losses.total)),
                                    samples: batch.samples)
        }
        dinoHead.backwardLogits(rows: 0..<(locals + globals), logitsGradient: dinoGradient, activations.dino!)
        ibotHead.backwardLogits(rows: 0..<(globals * patchTokens), logitsGradient: patchGradient, activations.ibot!)
        student.backward(activations)

        let norms = GradientClipping.clipPerModule(gradients: student.gradients, table: table, maxNorm: settings.clipGradient)
        optimizer.update(parameters: student.parameters, gradients: student.gradients, table: table, groups: groups, values: values)
        self.objective = objective
        let report = TrainingStepReport(iteration: iteration, losses: losses, schedule: values, gradientNorms: norms,
                                        collapse: collapse(globals: globals, locals: locals, prototypes: k))
        iteration += 1
        return report
    }

    /// The trainer's part of the train state (`ema` nil; the `ema` stage adds its own), to checkpoint after a step.
    public func state(samplesConsumed: Int, epoch: Int, seed: UInt64) -> TrainState {
        TrainState(iteration: iteration, student: Array(UnsafeBufferPointer(start: student.parameters.floats, count: table.count)),
                   ema: nil, optimizer: optimizer, dinoCentering: objective.dinoCentering, ibotCentering: objective.ibotCentering,
                   samplesConsumed: samplesConsumed, epoch: epoch, seed: seed)
    }

    /// Continues from `state`: student parameters, optimiser moments and step, both centres and the iteration.
    /// - Throws: `TrainingError.invalidConfiguration` when the state was made for another layout or K
    ///   (nothing is changed then).
    public func restore(_ state: TrainState) throws(TrainingError) {
        let k = objective.dino.prototypes
        guard state.student.count == table.count, state.optimizer.m.count == table.count else {
            throw .invalidConfiguration("train state of \(state.student.count) parameters for a student of \(table.count)")
        }
        guard state.dinoCentering.prototypes == k, state.ibotCentering.prototypes == k else {
            throw .invalidConfiguration("train state centres of \(state.dinoCentering.prototypes) prototypes for K = \(k)")
        }
        guard state.iteration >= 0, state.optimizer.step == state.iteration else {
            throw .invalidConfiguration("train state at iteration \(state.iteration) with \(state.optimizer.step) optimiser steps")
        }
        state.student.withUnsafeBufferPointer { student.backend.upload($0, to: student.parameters) }
        optimizer = state.optimizer
        objective.dinoCentering = state.dinoCentering
        objective.ibotCentering = state.ibotCentering
        iteration = state.iteration
    }

    // MARK: Private

    private func check(_ batch: TrainingBatch) throws(TrainingStepError) {
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b
        let dt = teacherHeads.dino.config.inFeatures, s = settings.globalSize, l = settings.localSize
        let expected: [(String, Int, Int)] = [
            ("samples", batch.samples.count, b), ("global crops", batch.globalImages.count, globals * 3 * s * s),
            ("local crops", batch.localImages.count, locals * 3 * l * l), ("teacher CLS tokens", batch.teacherCLS.count, globals * dt),
            ("teacher patch tokens", batch.teacherPatches.count, globals * patchTokens * dt),
        ]
        for (what, count, wanted) in expected where count != wanted {
            throw TrainingStepError(iteration: iteration, cause: .shapeMismatch(what: "batch \(what)", expected: [wanted], actual: [count]),
                                    samples: batch.samples)
        }
    }

    /// The sample a non-finite row belongs to (rows are crop-major; iBOT rows are `Np` per crop).
    private func implicated(by error: TrainingError, _ samples: [SampleTag]) -> [SampleTag] {
        guard case .nonFiniteLogit(let what, let row, _, _) = error else { return samples }
        let b = settings.batch
        let index = what.contains("iBOT") ? (row / patchTokens) % b : row % b
        return [samples[index]]
    }

    /// The collapse check on `softmax(S_glo/τ_s)`.
    private func collapse(globals: Int, locals: Int, prototypes k: Int) -> CollapseDetector.Collapse? {
        student.backend.softmax(input: studentDINOLogits.view(offset: locals * k, shape: [globals, k]), output: probabilities,
                                rows: globals, columns: k, scale: 1 / settings.studentTemperature)
        return collapseDetector.check(probabilities: probabilities, rows: globals, prototypes: k)
    }
}
