import Compute
import Foundation
import Models
import Training

/// One DINO + iBOT distillation step on a `CUDABackend`, the device counterpart of `DistillationTrainer.step`
/// (docs/cuda.md "The step on the device"): the same inputs (a `TrainingBatch`: normalised crops and the teacher's
/// `x_norm` CLS and patch tokens, which the frozen teacher heads turn into logits here), the same order and the
/// same report.
///
/// ```
/// values = schedules[iteration]; center_update (the lagged centres)            CUDATrainingState
/// student forward on the global and the local crops, activations kept         CUDAViTTraining.forward
/// heads: CLS rows (local, then global) → dino_head, global patches → ibot_head CUDADINOHead.forwardFeatures
/// teacher heads on the teacher tokens, their logits' column sums for the centres center_accumulate_projected
/// DINO teacher probabilities (centred)                                        centered_softmax_rows
/// per LogitChunkPlan chunk: logits GEMM → cross_entropy_rows → dW, dnormalized  (never [rows, K] at once for iBOT)
/// one wait: the non-finite flags and the row losses (a NaN/∞ stops the step here, nothing applied)
/// heads backward → x_norm gradients → backbone backward (global, then local)    β = 1 GEMMs into one f32 buffer
/// gradient_square_partials + clip_scales (per module) → adamw_step (+ bf16 mirror) → ema_update (backbone)
/// ```
///
/// Precision is bf16 autocast's (bf16 GEMM operands, f32 accumulation, f32 residual, LayerNorm, softmax, loss),
/// so it follows the fp32 CPU step to bf16 tolerance (`CUDATrainingParity`). Differences from the CPU trainer: the
/// spare EMA of the backbone is updated here (the CPU leaves it to the `ema` stage), no collapse check (the report's
/// `collapse` is nil), no feature distillation (refused at init). With Sinkhorn-Knopp (`CUDASinkhorn`) the centres
/// stay as uploaded, as the CPU's do, and the iBOT teacher logits are made `iterations + 1` times per chunk.
///
/// Not thread-safe: one step at a time.
public final class CUDATrainingStep: @unchecked Sendable {
    public let settings: DistillationTrainer.Settings
    public let layout: StudentLayout
    public let table: ParameterTable
    public let groups: ParameterGroups
    public let schedules: TrainingSchedules
    public let backend: CUDABackend
    /// The next step's schedule index (= steps taken).
    public private(set) var iteration = 0
    /// Patch tokens per global crop, Np.
    public let patchTokens: Int
    /// The logit chunks of the iBOT pass (and the bound on a DINO crop's chunk).
    public let chunks: LogitChunkPlan
    /// Sinkhorn-Knopp's scratch when the settings ask for it; nil with centering.
    let sinkhorn: CUDASinkhorn?
    /// Whether the forward and the backward go through CUDA graphs (`CUDAGraphedPass`: call by call on the first
    /// step, captured on the second, replayed after); the loss pass between them, whose arguments change with τ_t,
    /// always runs call by call. `CUDATrainingParity` turns it off for its call-by-call reference.
    public var usesGraphs = true
    /// The backbone's attention in this step: "fused" (FlashAttention-2 kernels, head dims 32 and 64) or "unfused"
    /// (batched GEMMs; other head dims, or `DISTILL_CUDA_ATTENTION=unfused`).
    public var attention: String { global.fusedAttention ? "fused" : "unfused" }
    /// Why a capture failed, when one did (those passes then stay call by call).
    public var graphFailure: String? { forwardPass.failure ?? backwardPass.failure }
    let forwardPass = CUDAGraphedPass(), backwardPass = CUDAGraphedPass()

    let state: CUDATrainingState
    let kernels: CUDATrainingKernels
    let backbone: CUDAViTTraining
    let dinoHead: CUDADINOHead, ibotHead: CUDADINOHead
    let teacherDINO: CUDADINOHead, teacherIBOT: CUDADINOHead
    let global: CUDAViTTrainingActivations
    let local: CUDAViTTrainingActivations?
    let scratch: CUDATrainingScratch
    let dinoRows: CUDADINOHeadActivations, ibotRows: CUDADINOHeadActivations
    let teacherDINORows: CUDADINOHeadActivations, teacherIBOTRows: CUDADINOHeadActivations
    let loss: LossBuffers
    let plan: CUDATrainingKernels.DevicePlan
    /// Per-group `Float(1 − lr·λ)` and `Float(−lr/(1 − β₁ᵗ))`, uploaded each step.
    let decay: Tensor, stepSize: Tensor

    /// The loss pass's buffers: the chunk's teacher and student logits (f32) and gradient (bf16), the DINO teacher
    /// probabilities `[Ng·B, K]`, the row losses (f64), the CLS rows and teacher tokens in f32, the four
    /// non-finite flags (u64: teacher DINO, teacher iBOT, student DINO, student iBOT), the teacher pointer
    /// tables of `cross_entropy_rows`, and the column partials of the centres' sums (f32).
    struct LossBuffers {
        let teacherChunk: Tensor, studentChunk: Tensor, gradientChunk: Tensor
        let dinoProbabilities: Tensor
        let dinoRowLoss: Tensor, ibotRowLoss: Tensor
        let clsTokens: Tensor
        let teacherCLS: Tensor, teacherPatches: Tensor
        let flags: Tensor
        /// nil with Sinkhorn-Knopp.
        let centerPartials: Tensor?
        /// u64 device pointers: per DINO chunk its teachers' rows, then the iBOT chunk's one teacher.
        let pointers: Tensor
        /// The DINO chunks: student rows (in `[local; global]` order), the crop's name, its teacher count and its
        /// first entry in `pointers`.
        let dinoChunks: [(rows: Range<Int>, crop: String, firstRow: Int, teachers: Int, pointer: Int)]
        let ibotPointer: Int
    }

    /// Uploads the student (`parameters` in `layout` order), zero moments and centres, the EMA at the student's
    /// backbone, and the teacher heads; compiles nothing (the backend has the kernels).
    /// - Parameter logitBudgetBytes: the scratch of one logit chunk (`LogitChunkPlan`); 2 GiB: the paper's iBOT rows
    ///   in 11 chunks (each chunk's prototype gradient GEMM reads and writes the f32 `[K, 256]` dW once).
    /// - Throws: `TrainingError.invalidConfiguration` as `DistillationTrainer.init` (heads, K, sizes, schedules) and
    ///   for what the device step does not do (a projector, more than 8 teacher crops); `CUDAError` from the
    ///   device (out of memory, a shape the kernels refuse).
    public init(settings: DistillationTrainer.Settings, layout: StudentLayout, parameters: [Float], teacherHeads: TeacherHeads,
                backend: CUDABackend, logitBudgetBytes: Int = 1 << 31) throws {
        guard let dinoConfig = layout.heads.first(where: { $0.name == "dino_head" })?.config,
              let ibotConfig = layout.heads.first(where: { $0.name == "ibot_head" })?.config, layout.projector == nil else {
            throw TrainingError.invalidConfiguration("the device step needs a student with a dino_head and an ibot_head and no projector")
        }
        let k = dinoConfig.prototypes
        guard ibotConfig.prototypes == k, teacherHeads.dino.config.prototypes == k, teacherHeads.ibot.config.prototypes == k,
              teacherHeads.dino.config.inFeatures == teacherHeads.ibot.config.inFeatures else {
            throw TrainingError.invalidConfiguration("prototypes or teacher widths differ between the heads")
        }
        // Sinkhorn-Knopp keeps centres that nothing reads, at DistillationObjective's momentum.
        let momentum: Double, sinkhornIterations: Int?
        switch settings.normalization {
        case .centering(let value): (momentum, sinkhornIterations) = (value, nil)
        case .sinkhornKnopp(let iterations):
            guard iterations >= 1 else { throw TrainingError.invalidConfiguration("Sinkhorn-Knopp needs at least one iteration") }
            (momentum, sinkhornIterations) = (0.9, iterations)
        }
        let config = layout.backbone, patch = config.patchSize
        guard settings.batch > 0, settings.globalCrops >= 2, settings.globalCrops <= 8, settings.localCrops >= 0,
              settings.globalSize % patch == 0, settings.localSize % patch == 0 else {
            throw TrainingError.invalidConfiguration("batch \(settings.batch), \(settings.globalCrops) global (2 … 8) and "
                                                     + "\(settings.localCrops) local crops of \(settings.globalSize), \(settings.localSize) px")
        }
        guard parameters.count == layout.count else {
            throw TrainingError.invalidConfiguration("\(parameters.count) parameters for a student of \(layout.count)")
        }
        self.settings = settings
        self.layout = layout
        self.backend = backend
        var table = ParameterTable()
        for parameter in layout.layout.parameters { try table.append(parameter.name, shape: parameter.shape) }
        self.table = table
        groups = ParameterGroups(table: table, depth: config.depth, layerwiseDecay: settings.layerwiseDecay,
                                 patchEmbedLRMultiplier: settings.patchEmbedLRMultiplier)
        schedules = try TrainingSchedules(settings.schedules)
        patchTokens = (settings.globalSize / patch) * (settings.globalSize / patch)
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b
        let ibotRowCount = globals * patchTokens
        chunks = LogitChunkPlan(rows: ibotRowCount, prototypes: k, budgetBytes: logitBudgetBytes)

        let kernels = CUDATrainingKernels(backend: backend)
        let state = try CUDATrainingState(backend: backend, count: layout.count, backboneCount: layout.backboneLayout.count,
                                          prototypes: k, momentum: momentum)
        self.kernels = kernels
        self.state = state
        if let sinkhornIterations {
            sinkhorn = try CUDASinkhorn(kernels: kernels, rows: max(globals, ibotRowCount), prototypes: k, iterations: sinkhornIterations)
        } else {
            sinkhorn = nil
        }
        func views(_ module: String, _ moduleLayout: ParameterLayout) -> CUDAParameterViews {
            CUDAParameterViews(layout: moduleLayout, base: layout.range(of: module).lowerBound, master: state.master,
                               mirror: state.mirror, gradients: state.gradients)
        }
        backbone = CUDAViTTraining(config: config, parameters: views("backbone", layout.backboneLayout), kernels: kernels)
        let dinoHead = CUDADINOHead(config: dinoConfig, parameters: views("dino_head", dinoConfig.layout), kernels: kernels)
        let ibotHead = CUDADINOHead(config: ibotConfig, parameters: views("ibot_head", ibotConfig.layout), kernels: kernels)
        self.dinoHead = dinoHead
        self.ibotHead = ibotHead
        func teacher(_ head: DINOHead) throws(CUDAError) -> CUDADINOHead {
            let flat = head.parameters.flat, count = head.config.layout.count
            let master = try backend.makeTensor(shape: [count], dtype: .f32), mirror = try backend.makeTensor(shape: [count], dtype: .bf16)
            try backend.upload(UnsafeRawBufferPointer(start: flat.rawPointer, count: count * 4), to: master)
            try backend.launch("convert_f32_to_bf16", .elementwise(count: count), [.pointer(master.address), .pointer(mirror.address), .long(count)])
            return CUDADINOHead(config: head.config, parameters: CUDAParameterViews(layout: head.config.layout, base: 0, master: master,
                                                                                     mirror: mirror, gradients: nil), kernels: kernels)
        }
        let teacherDINO = try teacher(teacherHeads.dino), teacherIBOT = try teacher(teacherHeads.ibot)
        self.teacherDINO = teacherDINO
        self.teacherIBOT = teacherIBOT

        let global = try CUDAViTTrainingActivations(config: config, backend: backend, batch: globals, height: settings.globalSize,
                                                    width: settings.globalSize)
        self.global = global
        let local = locals > 0 ? try CUDAViTTrainingActivations(config: config, backend: backend, batch: locals, height: settings.localSize,
                                                             width: settings.localSize) : nil
        self.local = local
        let passes = [global] + (local.map { [$0] } ?? [])
        scratch = try CUDATrainingScratch(config: config, backend: backend, rows: passes.map(\.rows).max()!,
                                          scoreElements: passes.map(\.scoreElements).max()!,
                                          scoreGradientElements: passes.map(\.scoreGradientElements).max()!,
                                          fusedAttention: global.fusedAttention)
        dinoRows = try dinoHead.makeActivations(rows: locals + globals)
        ibotRows = try ibotHead.makeActivations(rows: ibotRowCount)
        teacherDINORows = try teacherDINO.makeActivations(rows: globals)
        teacherIBOTRows = try teacherIBOT.makeActivations(rows: ibotRowCount)

        // DINO chunks: per student crop (locals first, then globals), its rows in pieces of ≤ rowsPerChunk, each with
        // the pointers of its teacher crops' rows (CrossEntropyPairing).
        let pairing = CrossEntropyPairing(globalCrops: settings.globalCrops, localCrops: settings.localCrops, batch: b)
        var pointerRows: [[Int]] = []
        var dinoChunks: [(rows: Range<Int>, crop: String, firstRow: Int, teachers: Int, pointer: Int)] = []
        let crops = (0..<settings.localCrops).map { ("student DINO local crop \($0)", pairing.teacherCropsOfLocal) }
            + (0..<settings.globalCrops).map { ("student DINO global crop \($0)", pairing.teacherCrops(global: $0)) }
        for (index, (name, teachers)) in crops.enumerated() {
            for start in stride(from: 0, to: b, by: chunks.rowsPerChunk) {
                let n = min(chunks.rowsPerChunk, b - start)
                dinoChunks.append((index * b + start..<index * b + start + n, name, start, teachers.count, pointerRows.count))
                pointerRows.append(teachers.map { pairing.teacherOffset(crop: $0, image: start, prototypes: k) })
            }
        }
        let chunks = self.chunks
        let chunkElements = chunks.rowsPerChunk * k
        let dinoProbabilities = try backend.makeTensor(shape: [globals, k], dtype: .f32)
        let teacherChunk = try backend.makeTensor(shape: [chunkElements], dtype: .f32)
        // Pointer table: 8 slots per row (cross_entropy_rows takes at most 8 teachers).
        var words = [UInt64](repeating: 0, count: 8 * (pointerRows.count + 1))
        for (row, offsets) in pointerRows.enumerated() {
            for (slot, offset) in offsets.enumerated() { words[8 * row + slot] = dinoProbabilities.address + UInt64(offset * 4) }
        }
        words[8 * pointerRows.count] = teacherChunk.address
        let pointers = try backend.makeTensor(shape: [2 * words.count], dtype: .f32)
        try words.withUnsafeBytes { bytes in Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: pointers) } }.get()
        let dt = teacherHeads.dino.config.inFeatures
        // Centring's column sums (none with Sinkhorn-Knopp): f32 partials of the widest teacher bottleneck.
        let bottleneck = max(teacherHeads.dino.config.bottleneckFeatures, teacherHeads.ibot.config.bottleneckFeatures)
        guard sinkhornIterations != nil || bottleneck <= LaunchConfiguration.centerProjectionMaxBottleneck else {
            throw TrainingError.invalidConfiguration("teacher head bottleneck \(bottleneck) over the centring's "
                                                     + "\(LaunchConfiguration.centerProjectionMaxBottleneck)")
        }
        let centerPartials = sinkhornIterations != nil ? nil
            : try backend.makeTensor(shape: [LaunchConfiguration.parts(rows: max(globals, ibotRowCount)) * bottleneck], dtype: .f32)
        loss = LossBuffers(teacherChunk: teacherChunk, studentChunk: try backend.makeTensor(shape: [chunkElements], dtype: .f32),
                           gradientChunk: try backend.makeTensor(shape: [chunkElements], dtype: .bf16), dinoProbabilities: dinoProbabilities,
                           dinoRowLoss: try backend.makeTensor(shape: [2 * (locals + globals)], dtype: .f32),
                           ibotRowLoss: try backend.makeTensor(shape: [2 * ibotRowCount], dtype: .f32),
                           clsTokens: try backend.makeTensor(shape: [max(locals, globals), config.embedDim], dtype: .f32),
                           teacherCLS: try backend.makeTensor(shape: [globals, dt], dtype: .f32),
                           teacherPatches: try backend.makeTensor(shape: [ibotRowCount, dt], dtype: .f32),
                           flags: try backend.makeTensor(shape: [8], dtype: .f32),
                           centerPartials: centerPartials,
                           pointers: pointers, dinoChunks: dinoChunks,
                           ibotPointer: pointerRows.count)

        let modules = table.modules
        plan = try kernels.upload(OptimizerChunkPlan(ranges: table.entries.enumerated().map { index, entry in
            .init(elements: entry.range, group: index, module: modules.firstIndex(of: entry.module)!)
        }, moduleCount: modules.count))
        decay = try backend.makeTensor(shape: [table.entries.count], dtype: .f32)
        stepSize = try backend.makeTensor(shape: [table.entries.count], dtype: .f32)

        var initial = TrainState(iteration: 0, student: parameters, ema: nil, optimizer: AdamW(count: layout.count),
                                 dinoCentering: SoftmaxCentering(prototypes: k, momentum: momentum),
                                 ibotCentering: SoftmaxCentering(prototypes: k, momentum: momentum), samplesConsumed: 0, epoch: 0, seed: 0)
        initial.ema = StudentEMA(parameters: Array(parameters[0..<layout.backboneLayout.count]))
        try state.upload(initial)
        try backend.synchronize()
    }

    /// Applies one step to the student, the optimiser, the centres and the EMA.
    /// - Returns: the losses, schedule values and gradient norms (as `DistillationTrainer.step`; `collapse` nil).
    /// - Throws: `TrainingStepError` (nothing applied) for a batch of the wrong shape or a NaN/∞ logit or loss,
    ///   naming the tensor, row, prototype and sample; `CUDAError` from the device.
    public func step(_ batch: TrainingBatch) throws -> TrainingStepReport {
        try batch.checkShapes(settings, teacherWidth: teacherDINORows.config.inFeatures, patchTokens: patchTokens, iteration: iteration)
        try upload(batch.globalImages, to: global.images)
        if let local { try upload(batch.localImages, to: local.images) }
        try upload(batch.teacherCLS, to: loss.teacherCLS)
        try upload(batch.teacherPatches, to: loss.teacherPatches)
        return try stepResident(samples: batch.samples)
    }

    /// The global crops' input `[Ng·B, 3, S, S]` f32 on the device (a resident producer writes it, then calls
    /// `stepResident`; the teacher's forward reads it).
    public var globalImages: Tensor { global.images }
    /// The local crops' input `[Nl·B, 3, s, s]` f32, nil without local crops.
    public var localImages: Tensor? { local?.images }

    /// Takes the teacher's `x_norm` `[Ng·B, L_t, D_t]` (f32, on this backend; `CUDAViTForward`'s output on the
    /// global crops) as the step's teacher tokens: the CLS rows and the patch rows (registers dropped), on the device.
    /// - Precondition: the shape matches the step's global crops and the teacher heads' width.
    public func takeTeacherTokens(_ xNorm: Tensor, length: Int, prefixTokens: Int) throws(CUDAError) {
        let rows = global.batch, dt = teacherDINORows.config.inFeatures
        precondition(xNorm.count == rows * length * dt && length - prefixTokens == patchTokens && xNorm.dtype == .f32,
                     "teacher x_norm \(xNorm.shape) for \(rows) crops of \(patchTokens) patches, width \(dt)")
        try backend.launch("pool_tokens", .elementwise(count: rows * dt), [
            .pointer(xNorm.address), .pointer(loss.teacherCLS.address), .int(rows), .int(length), .int(prefixTokens), .int(dt), .int(0),
        ])
        for image in 0..<rows {
            try backend.copy(from: xNorm.view(offset: (image * length + prefixTokens) * dt, shape: [patchTokens * dt]),
                             to: loss.teacherPatches.view(offset: image * patchTokens * dt, shape: [patchTokens * dt]))
        }
    }

    /// One step on the inputs already on the device (`globalImages`, `localImages`, `takeTeacherTokens`) for
    /// `samples` (named in errors). As `step`.
    public func stepResident(samples: [SampleTag]) throws -> TrainingStepReport {
        let values = schedules[iteration]
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b, k = chunks.prototypes
        try state.saveCenters()
        try backend.fillWords(state.gradients, 0)
        for index in 0..<2 where sinkhorn == nil {
            try kernels.centerUpdate(center: state.centers[index], pending: state.pending[index], prototypes: k,
                                     pendingRows: state.pendingRows[index], momentum: state.momentum)
            state.pendingRows[index] = 0
        }
        if usesGraphs {
            try forwardPass.run(on: backend) { () throws(CUDAError) in try self.forward() }
        } else {
            try forward()
        }
        let losses: DistillationObjective.Losses
        do {
            losses = try headsLoss(samples: samples, teacherTemperature: Float(values.teacherTemperature))
        } catch let error as TrainingStepError {
            try state.restoreCenters()
            throw error
        }
        if sinkhorn == nil {
            state.pendingRows[0] += globals
            state.pendingRows[1] += globals * patchTokens
        }
        if usesGraphs {
            try backwardPass.run(on: backend) { () throws(CUDAError) in try self.backward(locals: locals) }
        } else {
            try backward(locals: locals)
        }

        try kernels.clipScales(gradients: state.gradients, plan: plan, maxNorm: Float(settings.clipGradient))
        let step = state.adamSteps + 1
        let biasCorrection = 1 - Foundation.pow(0.9, Double(step))
        let rules = table.entries.indices.map { groups.settings($0, values) }
        try upload(rules.map { Float(1 - $0.lr * $0.weightDecay) }, to: decay)
        try upload(rules.map { Float(-($0.lr / biasCorrection)) }, to: stepSize)
        try kernels.adamW(parameters: state.master, gradients: state.gradients, m: state.m, v: state.v, parametersBF16: state.mirror,
                          plan: plan, decay: decay, stepSize: stepSize, clipped: true, step: step)
        state.adamSteps = step
        try kernels.emaUpdate(ema: state.ema, student: state.master, count: state.backboneCount, momentum: values.momentum)
        state.emaUpdates += 1
        let norms = try kernels.norms(plan)
        let report = TrainingStepReport(iteration: iteration, losses: losses, featureLosses: nil, schedule: values,
                                        gradientNorms: Dictionary(uniqueKeysWithValues: zip(table.modules, norms)), collapse: nil)
        iteration += 1
        return report
    }

    /// The run's state as the CPU types (waits for the stream): what `TrainCheckpoint` writes, with the EMA.
    public func trainState(samplesConsumed: Int = 0, epoch: Int = 0, seed: UInt64 = 0) throws -> TrainState {
        try state.download(iteration: iteration, samplesConsumed: samplesConsumed, epoch: epoch, seed: seed)
    }

    /// Continues from `state` (student, moments and step, centres, EMA, iteration).
    /// - Throws: `TrainingError.invalidConfiguration` for a state of another layout or K, or whose optimiser step is
    ///   not its iteration; `CUDAError` from the device.
    public func restore(_ trainState: TrainState) throws {
        guard trainState.iteration >= 0, trainState.optimizer.step == trainState.iteration else {
            throw TrainingError.invalidConfiguration("train state at iteration \(trainState.iteration) with \(trainState.optimizer.step) optimiser steps")
        }
        do {
            try state.upload(trainState)
        } catch {
            throw TrainingError.invalidConfiguration("\(error)")
        }
        iteration = trainState.iteration
        try backend.synchronize()
    }

    /// The student backbone's parameters, `layout.backboneLayout` order (downloaded from the f32 master; waits for the
    /// stream): what the `student-trainer` stage sends downstream after each step.
    /// - Throws: `CUDAError` from the copy.
    public func backboneParameters() throws(CUDAError) -> [Float] {
        try backend.downloadFloats(state.master.view(offset: 0, shape: [layout.backboneLayout.count]))
    }

    /// Device memory of the pool now and at most (bytes).
    public var memoryUsage: (used: Int, peak: Int, cached: Int) { backend.memoryUsage }

    // MARK: the passes

    /// The backbone on both crop sizes, the student heads up to their normalised features, the teacher heads and (with
    /// centring) the teacher logits' column sums added to the pending centre sums — so it runs once per step: a second
    /// run would count those sums twice.
    private func forward() throws(CUDAError) {
        let d = layout.backbone.embedDim, prefix = layout.backbone.prefixTokens
        var offset = 0
        for pass in [local, global].compactMap({ $0 }) {
            try backbone.forward(pass, scratch: scratch)
            try backend.fillWords(pass.outputGradient, 0)
            // CLS rows: pooled (CLS only) in f32, then to bf16 into the DINO head's input.
            let cls = loss.clsTokens.view(shape: [pass.batch, d])
            try backend.launch("pool_tokens", .elementwise(count: pass.batch * d), [
                .pointer(pass.output.address), .pointer(cls.address), .int(pass.batch), .int(pass.length), .int(prefix), .int(d), .int(0),
            ])
            try convert(cls, into: dinoRows.input.view(offset: offset * d, shape: [pass.batch, d]))
            offset += pass.batch
        }
        // Patch rows of the global crops, image by image (contiguous N·D per image).
        let n = global.patches
        for image in 0..<global.batch {
            try convert(global.output.view(offset: (image * global.length + prefix) * d, shape: [n, d]),
                        into: ibotRows.input.view(offset: image * n * d, shape: [n, d]))
        }
        try dinoHead.forwardFeatures(dinoRows)
        try ibotHead.forwardFeatures(ibotRows)
        try convert(loss.teacherCLS, into: teacherDINORows.input)
        try convert(loss.teacherPatches, into: teacherIBOTRows.input)
        try teacherDINO.forwardFeatures(teacherDINORows)
        try teacherIBOT.forwardFeatures(teacherIBOTRows)
        // The teacher logits' column sums, queued for the next centres (from y and W: the logits are made later,
        // chunk by chunk, and never read for this).
        if let partials = loss.centerPartials {
            try teacherDINO.accumulateCenter(pending: state.pending[0], partials: partials, teacherDINORows)
            try teacherIBOT.accumulateCenter(pending: state.pending[1], partials: partials, teacherIBOTRows)
        }
    }

    /// The heads' backward, their input gradients into the `x_norm` gradients, then the backbone (global, local).
    private func backward(locals: Int) throws(CUDAError) {
        let d = layout.backbone.embedDim
        try dinoHead.backward(dinoRows)
        var offset = 0
        for pass in [local, global].compactMap({ $0 }) {
            try kernels.selectTokensBackward(dSelected: dinoRows.inputGradient!.view(offset: offset * d, shape: [pass.batch, d]),
                                             dTokens: pass.outputGradient, batch: pass.batch, length: pass.length, first: 0, count: 1, dim: d)
            offset += pass.batch
        }
        try ibotHead.backward(ibotRows)
        try kernels.selectTokensBackward(dSelected: ibotRows.inputGradient!, dTokens: global.outputGradient, batch: global.batch,
                                         length: global.length, first: layout.backbone.prefixTokens, count: global.patches, dim: d)
        for pass in [global, local].compactMap({ $0 }) { try backbone.backward(pass, scratch: scratch) }
    }

    /// f32 → bf16 of a whole view.
    func convert(_ source: Tensor, into destination: Tensor) throws(CUDAError) {
        precondition(source.count == destination.count && source.dtype == .f32 && destination.dtype == .bf16)
        try backend.launch("convert_f32_to_bf16", .elementwise(count: source.count),
                           [.pointer(source.address), .pointer(destination.address), .long(source.count)])
    }

    func upload(_ values: [Float], to tensor: Tensor) throws(CUDAError) {
        try values.withUnsafeBytes { bytes in
            Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: tensor.view(shape: [values.count])) }
        }.get()
    }
}
