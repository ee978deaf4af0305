import CUDA
import Compute
import Dataflow
import Foundation
import Models
import Training

/// `student-trainer`: distils the teacher into the student, one ``DistillationTrainer`` step per `batch` teacher
/// outputs (DINO + iBOT with the teacher's frozen heads, DINOv2's schedules, per-module clipping, AdamW;
/// distillation-spec.md §4–5), emitting a ``TrainerUpdate`` per step for the `ema` stage. With `device: cuda` the
/// step runs on the GPU (`CUDATrainingStep`, bf16 autocast precision; DINO + iBOT with centering or Sinkhorn-Knopp) and the
/// student's backbone is downloaded after each step for the update.
///
/// The student is a ViT config (`configs/models/*.yaml`) with DINO and iBOT heads of `prototypes` prototypes,
/// initialised as DINOv2 does from the run seed. The teacher's heads come from `teacher_weights` (the teacher
/// checkpoint's `dino_head.*` / `ibot_head.*`, read strictly) or, when empty, are random from the run seed (a
/// warning says so). The crop geometry (crops per sample, sizes) is the first batch's.
///
/// With `objective: features` (a teacher without heads, the public H-optimus-0; distillation-spec.md §3.3) the
/// student has no heads but a `FeatureProjector` to the teacher's width, and each step is feature distillation
/// (`FeatureDistillationLoss` on the global crops' CLS and patch tokens; the local crops are not used):
/// `teacher_weights` then needs no heads (it is not read), the head and centering settings are unused, and the
/// step publishes `cls_feature_loss` and `patch_feature_loss` in place of the DINO/iBOT losses.
///
/// Each step publishes `loss`, `dino_local_loss`, `dino_global_loss`, `ibot_loss`, `lr`, `weight_decay`,
/// `teacher_temp`, `momentum`, `grad_norm` (backbone) and counts `steps`, `images`; it appends one JSON line to
/// `<run dir>/train.jsonl`. A collapse of the student's outputs (entropy ≈ ln K, or one prototype for every
/// input; field case N3) is logged as a warning when it starts (and when it ends), marked in train.jsonl and
/// counted in `collapsed_steps`. A NaN/∞ logit or loss stops the
/// run with ``TrainingStepError`` naming the step and the samples (slide, coordinates, sample id). The last,
/// partial batch is dropped (DINOv2's `drop_last`). With `max_steps`, the stage stops after that many steps
/// (its input closes; upstream stops); when the run drains (SIGINT/SIGTERM) it stops after the step in progress and
/// hands on the train state, so the `ema` stage checkpoints that step. An input that ends before one whole batch
/// (every slide skipped, no tissue) fails the run with ``StudentTrainerError``: no untrained weights are exported.
///
/// Resuming (`distill run --resume RUN_DIR`), it restores the student, optimiser, centres and step from
/// `<run dir>/checkpoints/latest.safetensors` (written by the `ema` stage), passes the saved EMA on, and skips
/// the samples the checkpointed steps consumed: with an ordered input (one slide reader, ordered multi-crop
/// replicas, one teacher) the run then ends with the same weights as an uninterrupted one. The skipped samples
/// are still read, augmented and run through the teacher upstream.
public struct StudentTrainerStage: Stage {
    public static let summary = "Distils the teacher into the student: DINO + iBOT steps, schedules, AdamW; a TrainerUpdate per step"
    public static let input = InputPort<TeacherOutput>("in")
    public static let output = OutputPort<TrainerUpdate>("out")
    public static var inputs: [PortSpec] { [input.spec] }
    /// `cuda` is accepted in graph files (so `--dry-run` can check GPU graphs); running on it needs the CUDA backend.
    public static var devices: [String] { ["cpu", "cuda"] }
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("model", .string, default: .string(""), "student ViT config (configs/models/*.yaml)", fixedOnResume: true),
        ParameterSpec("objective", .choice(["dino_ibot", "features"]), default: .string("dino_ibot"),
                      "dino_ibot: DINO + iBOT through the teacher's heads; features: feature distillation for a teacher without heads",
                      fixedOnResume: true),
        ParameterSpec("teacher_model", .string, default: .string(""), "teacher ViT config: its width sizes the teacher heads", fixedOnResume: true),
        ParameterSpec("teacher_weights", .string, default: .string(""),
                      "safetensors holding the teacher's dino_head.* and ibot_head.*; empty = random heads from the run seed",
                      fixedOnResume: true),
        ParameterSpec("feature_cosine_weight", .number, default: .number(1), "objective features: weight of the cosine term", fixedOnResume: true),
        ParameterSpec("feature_smooth_l1_weight", .number, default: .number(1), "objective features: weight of the smooth-L1 term", fixedOnResume: true),
        ParameterSpec("feature_beta", .number, default: .number(1), "objective features: smooth-L1 threshold β", fixedOnResume: true),
        ParameterSpec("prototypes", .integer(1...(1 << 24)), default: .integer(131_072), "K, prototypes of both heads", fixedOnResume: true),
        ParameterSpec("head_hidden", .integer(1...65536), default: .integer(2048), "hidden width of the heads' MLP", fixedOnResume: true),
        ParameterSpec("dino_bottleneck", .integer(1...65536), default: .integer(384), "DINO head bottleneck", fixedOnResume: true),
        ParameterSpec("ibot_bottleneck", .integer(1...65536), default: .integer(256), "iBOT head bottleneck", fixedOnResume: true),
        ParameterSpec("teacher_head_hidden", .integer(1...65536), default: .integer(2048), "hidden width of the teacher's heads", fixedOnResume: true),
        ParameterSpec("teacher_dino_bottleneck", .integer(1...65536), default: .integer(384), "teacher DINO head bottleneck", fixedOnResume: true),
        ParameterSpec("teacher_ibot_bottleneck", .integer(1...65536), default: .integer(256), "teacher iBOT head bottleneck", fixedOnResume: true),
        ParameterSpec("batch", .integer(1...1 << 20), default: .integer(32), "samples per step (B)", fixedOnResume: true),
        ParameterSpec("epochs", .integer(1...1 << 20), default: .integer(100), "schedule length in epochs", fixedOnResume: true),
        ParameterSpec("epoch_length", .integer(1...1 << 30), default: .integer(1250), "iterations per epoch (OFFICIAL_EPOCH_LENGTH)", fixedOnResume: true),
        ParameterSpec("base_lr", .number, default: .number(0.004), "lr at batch 1024 (scaled by sqrt(B/1024))", fixedOnResume: true),
        ParameterSpec("min_lr", .number, default: .number(1e-6), "final lr", fixedOnResume: true),
        ParameterSpec("warmup_epochs", .integer(0...1 << 20), default: .integer(10), "lr warmup", fixedOnResume: true),
        ParameterSpec("weight_decay", .number, default: .number(0.04), "initial weight decay", fixedOnResume: true),
        ParameterSpec("weight_decay_end", .number, default: .number(0.4), "final weight decay", fixedOnResume: true),
        ParameterSpec("momentum", .number, default: .number(0.992), "initial EMA momentum (→ 1)", fixedOnResume: true),
        ParameterSpec("teacher_temp", .number, default: .number(0.07), "teacher temperature after warmup", fixedOnResume: true),
        ParameterSpec("warmup_teacher_temp", .number, default: .number(0.04), "initial teacher temperature", fixedOnResume: true),
        ParameterSpec("warmup_teacher_temp_epochs", .integer(0...1 << 20), default: .integer(30), "teacher temperature warmup", fixedOnResume: true),
        ParameterSpec("freeze_last_layer_epochs", .integer(0...1 << 20), default: .integer(1), "epochs the heads' last layers stay frozen", fixedOnResume: true),
        ParameterSpec("clip_grad", .number, default: .number(3.0), "gradient-norm bound per module", fixedOnResume: true),
        ParameterSpec("layerwise_decay", .number, default: .number(0.9), "layer-wise lr decay", fixedOnResume: true),
        ParameterSpec("patch_embed_lr_mult", .number, default: .number(0.2), "lr multiplier of the patch embedding", fixedOnResume: true),
        ParameterSpec("centering", .choice(["centering", "sinkhorn_knopp"]), default: .string("centering"), "teacher normalisation", fixedOnResume: true),
        ParameterSpec("max_steps", .integer(0...Int.max), default: .integer(0), "stop after this many steps; 0 = when the input ends"),
        ParameterSpec("checkpoint_every", .integer(0...Int.max), default: .integer(0), "attach the train state every N steps (the ema stage writes it); 0 = at the end only"),
        ParameterSpec("threads", .integer(0...4096), default: .integer(0), "CPU threads; 0 = every core"),
    ]

    let parameters: StageParameters

    public init(parameters: StageParameters) throws {
        self.parameters = parameters
        guard !parameters.string("model").isEmpty else { throw ParameterError(key: "model", "give the student's config file (configs/models/*.yaml)") }
        guard !parameters.string("teacher_model").isEmpty else {
            throw ParameterError(key: "teacher_model", "give the teacher's config file (configs/models/*.yaml)")
        }
        for (key, meaning, valid) in Self.numberRanges {
            let value = parameters.number(key)
            guard value.isFinite, valid(value) else { throw ParameterError(key: key, "must be \(meaning), not \(value)") }
        }
        _ = try schedules()
        _ = try featureLoss()
    }

    /// The number parameters outside whose range a run makes no sense (a negative `clip_grad` flips the gradients):
    /// name, the range in words, the test.
    static let numberRanges: [(String, String, @Sendable (Double) -> Bool)] = [
        ("base_lr", "a positive lr", { $0 > 0 }), ("min_lr", "an lr ≥ 0", { $0 >= 0 }),
        ("weight_decay", "≥ 0", { $0 >= 0 }), ("weight_decay_end", "≥ 0", { $0 >= 0 }), ("momentum", "in 0…1", { (0...1).contains($0) }),
        ("teacher_temp", "a positive temperature", { $0 > 0 }), ("warmup_teacher_temp", "a positive temperature", { $0 > 0 }),
        ("clip_grad", "a positive gradient norm", { $0 > 0 }), ("layerwise_decay", "in (0, 1]", { $0 > 0 && $0 <= 1 }),
        ("patch_embed_lr_mult", "≥ 0", { $0 >= 0 }),
    ]

    /// The feature loss from `feature_cosine_weight`, `feature_smooth_l1_weight` and `feature_beta`.
    /// - Throws: ``ParameterError`` for a negative weight or β ≤ 0.
    func featureLoss() throws -> FeatureDistillationLoss {
        do {
            return try FeatureDistillationLoss(cosineWeight: parameters.number("feature_cosine_weight"),
                                               smoothL1Weight: parameters.number("feature_smooth_l1_weight"), beta: parameters.number("feature_beta"))
        } catch {
            let key = ["feature_cosine_weight", "feature_smooth_l1_weight"].first { parameters.number($0) < 0 } ?? "feature_beta"
            throw ParameterError(key: key, "\(error)")
        }
    }

    /// The schedules' settings from the parameters.
    /// - Throws: ``ParameterError`` naming the key of an invalid schedule.
    func schedules() throws -> TrainingSchedules.Settings {
        var s = TrainingSchedules.Settings(epochs: parameters.integer("epochs"), batchSize: parameters.integer("batch"))
        s.officialEpochLength = parameters.integer("epoch_length")
        s.baseLR = parameters.number("base_lr")
        s.minLR = parameters.number("min_lr")
        s.warmupEpochs = parameters.integer("warmup_epochs")
        s.weightDecay = parameters.number("weight_decay")
        s.weightDecayEnd = parameters.number("weight_decay_end")
        s.momentum = parameters.number("momentum")
        s.teacherTemperature = parameters.number("teacher_temp")
        s.warmupTeacherTemperature = parameters.number("warmup_teacher_temp")
        s.warmupTeacherTemperatureEpochs = parameters.integer("warmup_teacher_temp_epochs")
        s.freezeLastLayerEpochs = parameters.integer("freeze_last_layer_epochs")
        do { _ = try TrainingSchedules(s) } catch { throw ParameterError(key: "epochs", "\(error)") }
        return s
    }

    /// The seed of the random teacher heads (no `teacher_weights`) of a run seeded `runSeed`; the student is
    /// initialised with `runSeed` itself.
    public static func teacherHeadSeed(runSeed: UInt64) -> UInt64 { runSeed ^ 0x7EAC_4E12 }

    /// Whether `objective` is `features` (feature distillation).
    var isFeatureDistillation: Bool { parameters.string("objective") == "features" }

    /// The student's layout: backbone config + DINO and iBOT heads, or (feature distillation) backbone + a projector
    /// to `teacherWidth`.
    func studentLayout(_ config: ViTConfig, teacherWidth: Int) -> StudentLayout {
        if isFeatureDistillation { return .features(backbone: config, teacherWidth: teacherWidth) }
        let k = parameters.integer("prototypes"), hidden = parameters.integer("head_hidden")
        return StudentLayout(backbone: config, heads: [
            .init(name: "dino_head", config: HeadConfig(inFeatures: config.embedDim, hiddenFeatures: hidden,
                                                        bottleneckFeatures: parameters.integer("dino_bottleneck"), prototypes: k)),
            .init(name: "ibot_head", config: HeadConfig(inFeatures: config.embedDim, hiddenFeatures: hidden,
                                                        bottleneckFeatures: parameters.integer("ibot_bottleneck"), prototypes: k)),
        ])
    }

    /// The teacher heads' configs for a teacher of width `width`.
    func teacherHeadConfigs(width: Int) -> (dino: HeadConfig, ibot: HeadConfig) {
        let k = parameters.integer("prototypes"), hidden = parameters.integer("teacher_head_hidden")
        return (HeadConfig(inFeatures: width, hiddenFeatures: hidden, bottleneckFeatures: parameters.integer("teacher_dino_bottleneck"), prototypes: k),
                HeadConfig(inFeatures: width, hiddenFeatures: hidden, bottleneckFeatures: parameters.integer("teacher_ibot_bottleneck"), prototypes: k))
    }

    /// Reads both configs and, when given (and the objective is `dino_ibot`), the teacher heads' keys and shapes,
    /// so a wrong file fails validation; with `objective: features` a teacher checkpoint without heads is accepted.
    public func validate(replicas: Int) throws {
        guard replicas == 1 else { throw ParameterError(key: "replicas", "student-trainer runs as one replica (it owns the student)") }
        let student: ViTConfig, teacher: ViTConfig
        do { student = try ViTConfig.load(path: parameters.string("model")) } catch { throw ParameterError(key: "model", "\(error)") }
        do { teacher = try ViTConfig.load(path: parameters.string("teacher_model")) } catch { throw ParameterError(key: "teacher_model", "\(error)") }
        _ = student
        let weights = parameters.string("teacher_weights")
        guard !weights.isEmpty, !isFeatureDistillation else { return }
        let heads = teacherHeadConfigs(width: teacher.embedDim)
        do {
            let file = try SafetensorsFile(path: weights)
            for (prefix, config) in [("dino_head.", heads.dino), ("ibot_head.", heads.ibot)] {
                for parameter in config.layout.parameters where file.entries[prefix + parameter.name]?.shape != parameter.shape {
                    throw ParameterError(key: "teacher_weights", "\(weights): \(prefix + parameter.name) is "
                                         + "\(file.entries[prefix + parameter.name].map { "\($0.shape)" } ?? "missing"), expected \(parameter.shape) "
                                         + "(for a teacher without heads set objective: features)")
                }
            }
        } catch let error as ParameterError {
            throw error
        } catch {
            throw ParameterError(key: "teacher_weights", "\(error)")
        }
    }

    public func run(_ context: StageContext) async throws {
        let device = try openDevice(context)
        let inbox = try context.inbox(Self.input)
        let out = try context.outbox(Self.output)
        let config = try ViTConfig.load(path: parameters.string("model"))
        let teacherConfig = try ViTConfig.load(path: parameters.string("teacher_model"))
        let threads = parameters.integer("threads")
        let backend = CPUBackend(threads: threads == 0 ? CPUBackend.availableCores : threads)
        let layout = studentLayout(config, teacherWidth: teacherConfig.embedDim)
        let student = Student.initialized(layout: layout, backend: backend, seed: context.seed)
        let headConfigs = teacherHeadConfigs(width: teacherConfig.embedDim)
        let teacherHeads: TeacherHeads?
        let weights = parameters.string("teacher_weights")
        if isFeatureDistillation {
            teacherHeads = nil
        } else if weights.isEmpty {
            context.logger.warning("student-trainer: no teacher_weights, the teacher's DINO and iBOT heads are random (seed \(context.seed))")
            teacherHeads = TeacherHeads.initialized(dino: headConfigs.dino, ibot: headConfigs.ibot, backend: backend,
                                                   seed: Self.teacherHeadSeed(runSeed: context.seed))
        } else {
            teacherHeads = try TeacherHeads.load(SafetensorsFile(path: weights), dino: headConfigs.dino, ibot: headConfigs.ibot, backend: backend)
        }
        let batch = parameters.integer("batch"), maxSteps = parameters.integer("max_steps")
        let checkpointEvery = parameters.integer("checkpoint_every")
        let log = context.runDirectory.map { TrainingLog(path: ($0 as NSString).appendingPathComponent("train.jsonl")) }
        let resumed = try resumeState(context, layout: layout)
        if let resumed { resumed.student.withUnsafeBufferPointer { backend.upload($0, to: student.parameters) } }
        // A resumed run rewrites the steps after its checkpoint — all of them when the killed run wrote none.
        if context.isResuming { try log?.truncate(after: resumed?.iteration ?? 0) }

        func update(_ trainer: StudentStepper?, step: Int, report: TrainingStepReport?, state: TrainState?) throws -> TrainerUpdate {
            let backbone = Tensor(shape: [layout.backboneLayout.count])
            if let trainer {
                try trainer.copyBackbone(into: backbone, student: student)
            } else {
                backbone.floats.update(from: student.parameters.floats, count: layout.backboneLayout.count)
            }
            let snapshot = ModelSnapshot(role: "student", step: step, config: config,
                                         parameters: ViTParameters(layout: layout.backboneLayout, flat: backbone))
            return TrainerUpdate(step: step, report: report, student: snapshot, layout: layout, state: state, batch: batch)
        }

        let initial = try update(nil, step: resumed?.iteration ?? 0, report: nil, state: resumed)
        try await out.send(initial)
        func state(_ trainer: StudentStepper) throws -> TrainState {
            try trainer.state(samplesConsumed: trainer.iteration * batch, seed: context.seed)
        }
        var skip = resumed?.samplesConsumed ?? 0
        var trainer: StudentStepper?
        var pending: [TeacherOutput] = []
        var lastStateStep = -1
        var collapsed = false
        while let output = try await inbox.next() {
            if skip > 0 {
                skip -= 1  // consumed before the checkpoint this run resumes from
                continue
            }
            pending.append(output)
            guard pending.count == batch else { continue }
            if trainer == nil {
                var settings = DistillationTrainer.Settings(batch: batch, schedules: try schedules())
                let crops = output.crops
                settings.globalCrops = crops.globalShape[0]
                settings.globalSize = crops.globalShape[2]
                settings.localCrops = crops.localShape.first ?? 0
                settings.localSize = crops.localShape.count == 4 ? crops.localShape[2] : 98
                settings.clipGradient = parameters.number("clip_grad")
                settings.layerwiseDecay = parameters.number("layerwise_decay")
                settings.patchEmbedLRMultiplier = parameters.number("patch_embed_lr_mult")
                settings.normalization = parameters.string("centering") == "centering" ? .centering(momentum: 0.9) : .sinkhornKnopp(iterations: 3)
                guard output.dim == teacherConfig.embedDim else {
                    throw ParameterError(key: "teacher_model", "the teacher outputs have width \(output.dim), \(teacherConfig.name) has \(teacherConfig.embedDim)")
                }
                trainer = try makeStepper(settings: settings, student: student, teacherHeads: teacherHeads,
                                          teacherWidth: teacherConfig.embedDim, device: device)
                if let resumed { try trainer!.restore(resumed) }
            }
            let report = try trainer!.step(TrainingBatch(pending))
            pending.removeAll(keepingCapacity: true)
            publish(report, context: context, batch: batch)
            if (report.collapse != nil) != collapsed {
                collapsed.toggle()
                if let collapse = report.collapse {
                    context.logger.warning("student-trainer: from step \(report.iteration + 1) the student's outputs look collapsed (\(collapse), ln K = \(Foundation.log(Double(trainer!.prototypes ?? 1)))); counted in collapsed_steps until they recover")
                } else {
                    context.logger.info("student-trainer: from step \(report.iteration + 1) the student's outputs no longer look collapsed")
                }
            }
            try log?.append(report, images: batch)
            let step = trainer!.iteration
            let checkpoint = checkpointEvery > 0 && step % checkpointEvery == 0
            if checkpoint { lastStateStep = step }
            let checkpointState = checkpoint ? try state(trainer!) : nil
            let message = try update(trainer, step: step, report: report, state: checkpointState)
            try await out.send(message)
            if maxSteps > 0, step >= maxSteps {
                context.logger.info("student-trainer: \(step) steps done (max_steps)")
                break
            }
            if context.isDraining {
                // The batches still in flight are not needed: the checkpoint below records where the data stopped.
                context.logger.info("student-trainer: the run is draining: stopping after step \(step) (its checkpoint lets --resume continue)")
                break
            }
        }
        if !pending.isEmpty {
            context.logger.info("student-trainer: last \(pending.count) sample(s) dropped (a partial batch of \(batch))")
        }
        guard let trainer else {
            if context.isDraining {
                context.logger.info("student-trainer: the run stopped before the first step")
            } else if let resumed {
                let position = skip > 0 ? "before the checkpoint's position (\(skip) of its \(resumed.samplesConsumed) samples not seen)" : "at the checkpoint's position"
                context.logger.warning("student-trainer: resumed at step \(resumed.iteration), but the input ended \(position): no step left to take")
            } else {
                throw StudentTrainerError(message: "no training step: \(pending.count) sample(s) arrived, fewer than one batch of \(batch) (were all slides skipped or without tissue? see the slide reports in run.log and slides.json)")
            }
            return
        }
        if lastStateStep != trainer.iteration {
            let last = try update(trainer, step: trainer.iteration, report: nil, state: try state(trainer))
            try await out.send(last)
        }
    }

    /// The GPU of `device: cuda` (nil for `cpu`).
    /// - Throws: `DeviceUnavailableError` when CUDA does not load; `ParameterError` for feature distillation, which
    ///   runs on the CPU only.
    func openDevice(_ context: StageContext) throws -> CUDABackend? {
        guard context.device == "cuda" else { return nil }
        guard !isFeatureDistillation else {
            throw ParameterError(key: "objective", "feature distillation runs on the CPU (device: cpu); the device step is DINO + iBOT")
        }
        let backend: CUDABackend
        // The highest stream priority: a teacher-inference stage on the same device fills the step's gaps.
        do { backend = try CUDABackend(ordinal: 0, priority: .high) } catch {
            throw DeviceUnavailableError(stage: context.stageName, device: context.device, reason: "\(error)")
        }
        context.logger.info("student-trainer: the step runs on \(backend.device) (\(backend.properties.name))")
        return backend
    }

    /// The trainer for the first batch's crop geometry: the device step with `device`, else the CPU trainer (with the
    /// teacher's heads, or feature distillation without them).
    /// - Throws: `TrainingError` for an invalid configuration; `CUDAError` from the device.
    func makeStepper(settings: DistillationTrainer.Settings, student: Student, teacherHeads: TeacherHeads?, teacherWidth: Int,
                     device: CUDABackend?) throws -> StudentStepper {
        if let device, let teacherHeads {
            let parameters = Array(UnsafeBufferPointer(start: student.parameters.floats, count: student.layout.count))
            return .cuda(try CUDATrainingStep(settings: settings, layout: student.layout, parameters: parameters,
                                              teacherHeads: teacherHeads, backend: device))
        }
        if let teacherHeads { return .cpu(try DistillationTrainer(settings: settings, student: student, teacherHeads: teacherHeads)) }
        return .cpu(try DistillationTrainer(settings: settings, student: student, featureLoss: try featureLoss(), teacherWidth: teacherWidth))
    }

    /// The train state to continue from when the run resumes (`distill run --resume`): `<run dir>/checkpoints/
    /// latest.safetensors`, read strictly for this student; nil for a fresh run, or a resumed one that had not
    /// written a checkpoint yet (it starts from step 0, which is where it was).
    /// - Throws: as `TrainCheckpoint.read`; ``StudentTrainerError`` when the checkpoint was made with another seed.
    func resumeState(_ context: StageContext, layout: StudentLayout) throws -> TrainState? {
        guard context.isResuming, let directory = context.runDirectory else { return nil }
        let path = (directory as NSString).appendingPathComponent(EMAStage.checkpointPath)
        guard FileManager.default.fileExists(atPath: path) else {
            context.logger.warning("student-trainer: resuming, but \(path) does not exist: starting from step 0")
            return nil
        }
        let state = try TrainCheckpoint.read(path: path, layout: layout)
        guard state.seed == context.seed else {
            throw StudentTrainerError(message: "\(path) was written by a run with seed \(state.seed), this run has seed \(context.seed)")
        }
        context.logger.info("student-trainer: resuming from \(path) at step \(state.iteration) (\(state.samplesConsumed) samples consumed)")
        return state
    }

    private func publish(_ report: TrainingStepReport, context: StageContext, batch: Int) {
        let m = context.metrics
        m.set("loss", report.totalLoss)
        if let losses = report.losses {
            m.set("dino_local_loss", losses.dinoLocal)
            m.set("dino_global_loss", losses.dinoGlobal)
            m.set("ibot_loss", losses.ibot)
        }
        if let losses = report.featureLosses {
            m.set("cls_feature_loss", losses.cls.total)
            m.set("patch_feature_loss", losses.patch.total)
        }
        m.set("lr", report.schedule.lr)
        m.set("weight_decay", report.schedule.weightDecay)
        m.set("teacher_temp", report.schedule.teacherTemperature)
        m.set("momentum", report.schedule.momentum)
        m.set("grad_norm", report.gradientNorms[.backbone] ?? 0)
        m.add("steps")
        m.add("images", Double(batch))
        if report.collapse != nil { m.add("collapsed_steps") }
    }
}
