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
/// **Feature distillation** (`init(settings:student:featureLoss:teacherWidth:)`, a teacher without heads such as the
/// public H-optimus-0; distillation-spec.md §3.3, docs/objective.md): the student has no heads but a
/// `FeatureProjector`; the same step runs with the loss part replaced by
///
/// ```
/// y_cls = projector(student x_norm CLS of the global crops)        [Ng·B, D_t]
/// y_pat = projector(student x_norm patches of the global crops)    [Ng·B·Np, D_t]
/// L = FeatureDistillationLoss(y_cls, teacher CLS) + FeatureDistillationLoss(y_pat, teacher patches)
/// ```
///
/// each student crop against the teacher's tokens of the same crop (no swap: a regression target is a property
/// of the view, unlike DINO's view-invariant prototypes). The local crops are not used: the teacher sees only the
/// global crops, and a local crop's features are not a regression target for them (the batch still carries them,
/// so the same multi-crop stage feeds both modes; set `local_crops: 0` upstream to save the work). Clipping is per
/// module (backbone, projector); AdamW runs over both; there are no centres and no collapse check (no prototypes).
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
    /// The student: parameters, gradients, backbone and heads (or projector).
    public let student: Student
    /// The teacher's frozen heads (DINO + iBOT); nil in feature distillation.
    public let teacherHeads: TeacherHeads?
    /// The feature loss; nil with heads.
    public let featureLoss: FeatureDistillationLoss?
    /// D_t, the teacher tokens' width.
    public let teacherWidth: Int
    /// The student's parameters by name and module; DINOv2's parameter groups over it.
    public let table: ParameterTable
    public let groups: ParameterGroups
    /// lr, weight decay, momentum, teacher temperature, last-layer lr per iteration.
    public let schedules: TrainingSchedules
    /// The DINO + iBOT loss with its two centres; nil in feature distillation.
    public private(set) var objective: DistillationObjective?
    /// AdamW's moments.
    public private(set) var optimizer: AdamW
    /// The next step's schedule index (= steps taken).
    public private(set) var iteration = 0
    /// Patch tokens per global crop, Np = (S / patch)².
    public let patchTokens: Int

    private let activations: StudentActivations
    private let headBuffers: HeadBuffers?
    private let featureBuffers: FeatureBuffers?
    private let collapseDetector = CollapseDetector()

    /// The DINO + iBOT step's logits and gradients.
    private struct HeadBuffers {
        let teacherDINO: DINOHeadActivations, teacherIBOT: DINOHeadActivations
        let teacherCLSLogits: Tensor, teacherPatchLogits: Tensor
        let studentDINOLogits: Tensor, studentPatchLogits: Tensor
        let dinoGradient: Tensor, patchGradient: Tensor
        let probabilities: Tensor
    }

    /// The feature step's projector inputs, predictions, teacher targets and gradients, for the CLS rows
    /// (`[Ng·B, ·]`) and the patch rows (`[Ng·B·Np, ·]`).
    private struct FeatureBuffers {
        struct Rows {
            let input: Tensor, inputGradient: Tensor, prediction: Tensor, predictionGradient: Tensor, teacher: Tensor
            init(rows: Int, student: Int, teacher: Int, backend: any Backend) {
                input = backend.makeTensor(shape: [rows, student])
                inputGradient = backend.makeTensor(shape: [rows, student])
                prediction = backend.makeTensor(shape: [rows, teacher])
                predictionGradient = backend.makeTensor(shape: [rows, teacher])
                self.teacher = backend.makeTensor(shape: [rows, teacher])
            }
        }
        let cls: Rows, patches: Rows
    }

    /// A DINO + iBOT trainer over `student` (its current parameters are step 0's) and the teacher's `teacherHeads`.
    /// - Throws: `TrainingError.invalidConfiguration` when the student lacks a `dino_head` or `ibot_head`, the
    ///   heads' K differ from each other or from the teacher's, the teacher heads' input width differs between
    ///   them, or a size or schedule setting is invalid; `.badParameterTable` from the layout.
    public convenience init(settings: Settings, student: Student, teacherHeads: TeacherHeads) throws(TrainingError) {
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
        try self.init(settings: settings, student: student, teacherHeads: teacherHeads, featureLoss: nil,
                      teacherWidth: teacherHeads.dino.config.inFeatures)
    }

    /// A feature-distillation trainer over `student` (backbone + `FeatureProjector`, no heads; its current
    /// parameters are step 0's) against teacher tokens of width `teacherWidth` (D_t).
    /// - Throws: `TrainingError.invalidConfiguration` when the student has heads or no projector, the projector's
    ///   widths are not (D_s, `teacherWidth`), or a size or schedule setting is invalid; `.badParameterTable`
    ///   from the layout.
    public convenience init(settings: Settings, student: Student, featureLoss: FeatureDistillationLoss,
                            teacherWidth: Int) throws(TrainingError) {
        guard student.heads.isEmpty, let projector = student.layout.projector else {
            throw .invalidConfiguration("feature distillation needs a student with a projector and no heads "
                                        + "(it has heads \(student.heads.keys.sorted()), projector \(student.layout.projector == nil ? "none" : "yes"))")
        }
        guard projector.inFeatures == student.layout.backbone.embedDim, projector.outFeatures == teacherWidth else {
            throw .invalidConfiguration("projector \(projector.inFeatures) → \(projector.outFeatures) for a student of width "
                                        + "\(student.layout.backbone.embedDim) and a teacher of width \(teacherWidth)")
        }
        try self.init(settings: settings, student: student, teacherHeads: nil, featureLoss: featureLoss, teacherWidth: teacherWidth)
    }

    private init(settings: Settings, student: Student, teacherHeads: TeacherHeads?, featureLoss: FeatureDistillationLoss?,
                 teacherWidth: Int) throws(TrainingError) {
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
        self.featureLoss = featureLoss
        self.teacherWidth = teacherWidth
        var table = ParameterTable()
        for parameter in student.layout.layout.parameters { try table.append(parameter.name, shape: parameter.shape) }
        self.table = table
        groups = ParameterGroups(table: table, depth: student.layout.backbone.depth, layerwiseDecay: settings.layerwiseDecay,
                                 patchEmbedLRMultiplier: settings.patchEmbedLRMultiplier)
        schedules = try TrainingSchedules(settings.schedules)
        patchTokens = (settings.globalSize / patch) * (settings.globalSize / patch)
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b
        optimizer = AdamW(count: table.count)
        let backend = student.backend
        if let teacherHeads {
            let k = teacherHeads.dino.config.prototypes
            objective = try DistillationObjective(batch: b, globalCrops: settings.globalCrops, localCrops: settings.localCrops,
                                                  patchTokens: patchTokens, prototypes: k, studentTemperature: settings.studentTemperature,
                                                  normalization: settings.normalization, chunkRows: settings.chunkRows)
            activations = student.makeActivations(globalBatch: globals, globalSize: settings.globalSize, localBatch: locals,
                                                  localSize: settings.localSize)
            headBuffers = HeadBuffers(
                teacherDINO: teacherHeads.dino.makeActivations(rows: globals), teacherIBOT: teacherHeads.ibot.makeActivations(rows: globals * patchTokens),
                teacherCLSLogits: backend.makeTensor(shape: [globals, k]), teacherPatchLogits: backend.makeTensor(shape: [globals * patchTokens, k]),
                studentDINOLogits: backend.makeTensor(shape: [locals + globals, k]),
                studentPatchLogits: backend.makeTensor(shape: [globals * patchTokens, k]),
                dinoGradient: backend.makeTensor(shape: [locals + globals, k]), patchGradient: backend.makeTensor(shape: [globals * patchTokens, k]),
                probabilities: backend.makeTensor(shape: [globals, k]))
            featureBuffers = nil
        } else {
            objective = nil
            // The local crops are not used in feature distillation: no local pass.
            activations = student.makeActivations(globalBatch: globals, globalSize: settings.globalSize)
            headBuffers = nil
            let d = student.layout.backbone.embedDim
            featureBuffers = FeatureBuffers(cls: .init(rows: globals, student: d, teacher: teacherWidth, backend: backend),
                                            patches: .init(rows: globals * patchTokens, student: d, teacher: teacherWidth, backend: backend))
        }
    }

    /// Applies one step to the student, the optimiser and the centres.
    /// - Returns: the step's losses, schedule values, gradient norms and any collapse seen.
    /// - Throws: `TrainingStepError` (nothing applied: parameters, moments, centres and iteration unchanged) for a
    ///   batch of the wrong shape or a NaN/∞ logit, feature or loss, naming the samples.
    public func step(_ batch: TrainingBatch) throws(TrainingStepError) -> TrainingStepReport {
        let values = schedules[iteration]
        try batch.checkShapes(settings, teacherWidth: teacherWidth, patchTokens: patchTokens, iteration: iteration)
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
        // The objective mutates its centres; work on a copy so that a failed step leaves them as they were.
        var objective = self.objective
        var losses: DistillationObjective.Losses?, featureLosses: TrainingStepReport.FeatureLosses?
        if let buffers = headBuffers, let teacherHeads, var headObjective = objective {
            losses = try headsLoss(batch, buffers: buffers, teacherHeads: teacherHeads, objective: &headObjective,
                                   teacherTemperature: Float(values.teacherTemperature))
            objective = headObjective
        } else if let buffers = featureBuffers, let featureLoss {
            featureLosses = try featuresLoss(batch, buffers: buffers, loss: featureLoss)
        }
        student.backward(activations)

        let norms = GradientClipping.clipPerModule(gradients: student.gradients, table: table, maxNorm: settings.clipGradient)
        optimizer.update(parameters: student.parameters, gradients: student.gradients, table: table, groups: groups, values: values)
        self.objective = objective
        let report = TrainingStepReport(iteration: iteration, losses: losses, featureLosses: featureLosses, schedule: values,
                                        gradientNorms: norms, collapse: headBuffers.flatMap(collapse))
        iteration += 1
        return report
    }

    /// The trainer's part of the train state (`ema` nil; the `ema` stage adds its own), to checkpoint after a step.
    public func state(samplesConsumed: Int, epoch: Int, seed: UInt64) -> TrainState {
        TrainState(iteration: iteration, student: Array(UnsafeBufferPointer(start: student.parameters.floats, count: table.count)),
                   ema: nil, optimizer: optimizer, dinoCentering: objective?.dinoCentering, ibotCentering: objective?.ibotCentering,
                   samplesConsumed: samplesConsumed, epoch: epoch, seed: seed)
    }

    /// Continues from `state`: student parameters, optimiser moments and step, both centres (with heads) and the
    /// iteration.
    /// - Throws: `TrainingError.invalidConfiguration` when the state was made for another layout or K, or has
    ///   centres in feature distillation or none with heads (nothing is changed then).
    public func restore(_ state: TrainState) throws(TrainingError) {
        guard state.student.count == table.count, state.optimizer.m.count == table.count else {
            throw .invalidConfiguration("train state of \(state.student.count) parameters for a student of \(table.count)")
        }
        if let k = objective?.dino.prototypes {
            guard let dino = state.dinoCentering, let ibot = state.ibotCentering else {
                throw .invalidConfiguration("train state without centres (feature distillation) for a DINO + iBOT trainer")
            }
            guard dino.prototypes == k, ibot.prototypes == k else {
                throw .invalidConfiguration("train state centres of \(dino.prototypes) and \(ibot.prototypes) prototypes for K = \(k)")
            }
        } else if state.dinoCentering != nil || state.ibotCentering != nil {
            throw .invalidConfiguration("train state with centres (DINO + iBOT) for a feature-distillation trainer")
        }
        guard state.iteration >= 0, state.optimizer.step == state.iteration else {
            throw .invalidConfiguration("train state at iteration \(state.iteration) with \(state.optimizer.step) optimiser steps")
        }
        state.student.withUnsafeBufferPointer { student.backend.upload($0, to: student.parameters) }
        optimizer = state.optimizer
        if let dino = state.dinoCentering, let ibot = state.ibotCentering {
            objective?.dinoCentering = dino
            objective?.ibotCentering = ibot
        }
        iteration = state.iteration
    }

    // MARK: Private

    /// The DINO + iBOT part of a step after the student's forward pass: teacher and student logits, the losses
    /// (centres updated in `objective`) and the heads' logits backward.
    private func headsLoss(_ batch: TrainingBatch, buffers h: HeadBuffers, teacherHeads: TeacherHeads,
                           objective: inout DistillationObjective, teacherTemperature: Float) throws(TrainingStepError) -> DistillationObjective.Losses {
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b
        let k = objective.dino.prototypes
        batch.teacherCLS.withUnsafeBufferPointer {
            teacherHeads.logits(teacherHeads.dino, tokens: $0.baseAddress!, activations: h.teacherDINO, output: h.teacherCLSLogits)
        }
        batch.teacherPatches.withUnsafeBufferPointer {
            teacherHeads.logits(teacherHeads.ibot, tokens: $0.baseAddress!, activations: h.teacherIBOT, output: h.teacherPatchLogits)
        }
        let dinoHead = student.heads["dino_head"]!, ibotHead = student.heads["ibot_head"]!
        dinoHead.logits(rows: 0..<(locals + globals), output: h.studentDINOLogits, activations.dino!)
        ibotHead.logits(rows: 0..<(globals * patchTokens), output: h.studentPatchLogits, activations.ibot!)
        let losses: DistillationObjective.Losses
        do {
            losses = try objective.lossAndGradients(
                teacherCLS: h.teacherCLSLogits, teacherPatch: h.teacherPatchLogits,
                studentGlobal: h.studentDINOLogits.view(offset: locals * k, shape: [globals, k]),
                studentLocal: locals > 0 ? h.studentDINOLogits.view(shape: [locals, k]) : nil, studentPatch: h.studentPatchLogits,
                globalGradient: h.dinoGradient.view(offset: locals * k, shape: [globals, k]),
                localGradient: locals > 0 ? h.dinoGradient.view(shape: [locals, k]) : nil, patchGradient: h.patchGradient,
                teacherTemperature: teacherTemperature, backend: student.backend)
        } catch {
            throw TrainingStepError(iteration: iteration, cause: error, samples: implicated(by: error, batch.samples))
        }
        guard losses.total.isFinite else {
            throw TrainingStepError(iteration: iteration, cause: .nonFiniteLogit(what: "loss", row: 0, column: 0, value: Float(losses.total)),
                                    samples: batch.samples)
        }
        dinoHead.backwardLogits(rows: 0..<(locals + globals), logitsGradient: h.dinoGradient, activations.dino!)
        ibotHead.backwardLogits(rows: 0..<(globals * patchTokens), logitsGradient: h.patchGradient, activations.ibot!)
        return losses
    }

    /// The feature part of a step after the student's forward pass: the global crops' CLS and patch rows through
    /// the projector, the two feature losses against the teacher's tokens, and their gradients back through the
    /// projector into the global pass's `x_norm` gradient (the student's backward follows).
    private func featuresLoss(_ batch: TrainingBatch, buffers f: FeatureBuffers,
                              loss: FeatureDistillationLoss) throws(TrainingStepError) -> TrainingStepReport.FeatureLosses {
        let backend = student.backend, projector = student.projector!, pass = activations.global
        let d = student.layout.backbone.embedDim, first = student.layout.backbone.prefixTokens
        let parts: [(name: String, rows: FeatureBuffers.Rows, first: Int, count: Int, teacher: [Float])] = [
            ("CLS", f.cls, 0, 1, batch.teacherCLS), ("patch", f.patches, first, pass.patches, batch.teacherPatches),
        ]
        var values: [FeatureDistillationLoss.Value] = []
        for part in parts {
            let rows = pass.batch * part.count
            backend.selectTokens(tokens: pass.output, output: part.rows.input, batch: pass.batch, length: pass.length,
                                 first: part.first, count: part.count, dim: d)
            projector.projector.forward(input: part.rows.input, weight: projector.weight, bias: projector.bias,
                                        output: part.rows.prediction, rows: rows, backend: backend)
            part.teacher.withUnsafeBufferPointer { backend.upload($0, to: part.rows.teacher) }
            do {
                values.append(try loss.lossAndGradient(predictions: part.rows.prediction, teacherFeatures: part.rows.teacher,
                                                       gradient: part.rows.predictionGradient, rows: rows, dim: teacherWidth, name: part.name))
            } catch {
                throw TrainingStepError(iteration: iteration, cause: error, samples: implicated(by: error, batch.samples))
            }
        }
        let losses = TrainingStepReport.FeatureLosses(cls: values[0], patch: values[1])
        guard losses.total.isFinite else {
            throw TrainingStepError(iteration: iteration, cause: .nonFiniteFeature(what: "loss", row: 0, column: 0, value: Float(losses.total)),
                                    samples: batch.samples)
        }
        for part in parts {
            let rows = pass.batch * part.count
            projector.projector.backward(input: part.rows.input, weight: projector.weight, outputGradient: part.rows.predictionGradient,
                                         inputGradient: part.rows.inputGradient, weightGradient: projector.weightGradient,
                                         biasGradient: projector.biasGradient, rows: rows, backend: backend)
            backend.selectTokensBackward(outputGradient: part.rows.inputGradient, tokensGradient: pass.outputGradient, batch: pass.batch,
                                         length: pass.length, first: part.first, count: part.count, dim: d)
        }
        return losses
    }

    /// The sample a non-finite row belongs to (rows are crop-major; iBOT and patch-feature rows are `Np` per crop).
    private func implicated(by error: TrainingError, _ samples: [SampleTag]) -> [SampleTag] {
        let b = settings.batch
        switch error {
        case .nonFiniteLogit(let what, let row, _, _):
            return [samples[what.contains("iBOT") ? (row / patchTokens) % b : row % b]]
        case .nonFiniteFeature(let what, let row, _, _):
            return [samples[what.contains("patch") ? (row / patchTokens) % b : row % b]]
        default:
            return samples
        }
    }

    /// The collapse check on `softmax(S_glo/τ_s)`.
    private func collapse(_ h: HeadBuffers) -> CollapseDetector.Collapse? {
        let k = h.probabilities.shape[1], globals = settings.globalCrops * settings.batch, locals = settings.localCrops * settings.batch
        student.backend.softmax(input: h.studentDINOLogits.view(offset: locals * k, shape: [globals, k]), output: h.probabilities,
                                rows: globals, columns: k, scale: 1 / settings.studentTemperature)
        return collapseDetector.check(probabilities: h.probabilities, rows: globals, prototypes: k)
    }
}
