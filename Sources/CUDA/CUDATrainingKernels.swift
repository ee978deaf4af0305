import Compute
#if canImport(Glibc)
import Glibc
#endif

/// Typed launches of the training kernels (`CUDAKernelSource.training`, docs/cuda.md "Part 2"): one method per
/// kernel (or per two-stage reduction), with the launch geometry of `LaunchConfiguration` and the argument list of
/// the kernel's C signature. Device `Tensor`s in, queued on the backend's stream; nothing waits. Shapes follow the
/// CPU `Backend` method each kernel mirrors (named in each doc comment). Used by `CUDAKernelParity` now and by the
/// device training step next.
///
/// Every method throws `CUDAError` from the launch (`cuLaunchKernel`, or `.unsupported` for a geometry the device
/// refuses).
public struct CUDATrainingKernels: Sendable {
    public let backend: CUDABackend

    public init(backend: CUDABackend) {
        self.backend = backend
    }

    private func launch(_ name: String, _ configuration: LaunchConfiguration, _ arguments: [KernelArgument]) throws(CUDAError) {
        try backend.context.makeCurrent()
        try backend.launch(name, configuration, arguments)
    }

    private static func pointer(_ tensor: Tensor?) -> KernelArgument { .pointer(tensor?.address ?? 0) }

    // MARK: reductions.cu

    /// `target [cols]` f32 `+=` the column sums of `x [rows, cols]` (bf16 or f32), through `partials`
    /// (`[parts(rows), cols]` f32 scratch).
    public func addColumnSums(of x: Tensor, rows: Int, cols: Int, into target: Tensor, partials: Tensor) throws(CUDAError) {
        precondition(target.count >= cols, "column sums of \(rows)×\(cols)")
        let parts = try columnPartialSums(of: x, rows: rows, cols: cols, partials: partials)
        try addPartials(partials, parts: parts, cols: cols, into: target)
    }

    /// `partials [parts(rows), cols]` f32 = the column sums of `x [rows, cols]` (bf16 or f32) per part of
    /// `LaunchConfiguration.rowsPerPart` rows (`column_partial_sums_*`).
    /// - Returns: the number of parts.
    @discardableResult
    public func columnPartialSums(of x: Tensor, rows: Int, cols: Int, partials: Tensor) throws(CUDAError) -> Int {
        let parts = LaunchConfiguration.parts(rows: rows)
        precondition(partials.count >= parts * cols && x.count >= rows * cols, "column sums of \(rows)×\(cols)")
        try launch(x.dtype == .bf16 ? "column_partial_sums_bf16" : "column_partial_sums_f32", .columnParts(rows: rows),
                   [Self.pointer(x), Self.pointer(partials), .int(rows), .int(cols), .int(LaunchConfiguration.rowsPerPart)])
        return parts
    }

    /// `target [cols] += Σ_p partials[p, cols]` (`accumulate_partials`).
    public func addPartials(_ partials: Tensor, parts: Int, cols: Int, into target: Tensor) throws(CUDAError) {
        try launch("accumulate_partials", .elementwise(count: cols), [Self.pointer(partials), Self.pointer(target), .int(parts), .int(cols)])
    }

    // MARK: layer_norm_backward.cu

    /// `Backend.layerNormBackward`: `dx [rows, dim]` f32 `+=`, `dWeight`, `dBias` `[dim]` f32 `+=`; `dy` bf16 or f32;
    /// `partials` f32 scratch of `2·parts(rows)·dim`.
    public func layerNormBackward(x: Tensor, weight: Tensor, dy: Tensor, dx: Tensor, dWeight: Tensor, dBias: Tensor,
                                  partials: Tensor, rows: Int, dim: Int, eps: Float) throws(CUDAError) {
        guard let configuration = LaunchConfiguration.layerNormBackward(rows: rows, dim: dim) else {
            throw .unsupported("layer_norm_backward over \(dim) columns (at most 8,192)")
        }
        let parts = configuration.gridX
        precondition(partials.count >= 2 * parts * dim, "layer_norm_backward partials")
        let weightPartials = partials.view(offset: 0, shape: [parts, dim])
        let biasPartials = partials.view(offset: parts * dim, shape: [parts, dim])
        let warps = dim <= LaunchConfiguration.layerNormBackwardWarpColumns, bf16 = dy.dtype == .bf16
        try launch(warps ? (bf16 ? "layer_norm_backward_warps_bf16" : "layer_norm_backward_warps_f32")
                         : (bf16 ? "layer_norm_backward_bf16" : "layer_norm_backward_f32"), configuration,
                   [Self.pointer(x), Self.pointer(weight), Self.pointer(dy), Self.pointer(dx), Self.pointer(weightPartials),
                    Self.pointer(biasPartials), .int(rows), .int(dim), .float(eps), .int(LaunchConfiguration.rowsPerPart)])
        try addPartials(weightPartials, parts: parts, cols: dim, into: dWeight)
        try addPartials(biasPartials, parts: parts, cols: dim, into: dBias)
    }

    /// `Backend.layerScaleResidualBackward`: `dBranch [rows, dim]` bf16 = `gamma ⊙ dres`, `dGamma [dim] +=`
    /// (both skipped for gamma nil: a copy), and the branch's last linear layer's bias gradient `biasGradient [dim]
    /// += Σ_rows dBranch` (the stored bf16 values, as `addColumnSums` would sum them; skipped for nil);
    /// `partials` f32 scratch of `2·parts(rows)·dim`.
    public func layerScaleBackward(dres: Tensor, branch: Tensor, gamma: Tensor?, dBranch: Tensor, dGamma: Tensor?,
                                   biasGradient: Tensor?, partials: Tensor, rows: Int, dim: Int) throws(CUDAError) {
        let configuration = LaunchConfiguration.columnParts(rows: rows)
        let parts = configuration.gridX
        precondition(partials.count >= 2 * parts * dim, "layer_scale_backward partials")
        let gammaPartials = partials.view(offset: 0, shape: [parts, dim])
        let biasPartials = partials.view(offset: parts * dim, shape: [parts, dim])
        try launch("layer_scale_backward", configuration,
                   [Self.pointer(dres), Self.pointer(branch), Self.pointer(gamma), Self.pointer(dBranch), Self.pointer(gammaPartials),
                    Self.pointer(biasGradient == nil ? nil : biasPartials), .int(rows), .int(dim), .int(LaunchConfiguration.rowsPerPart)])
        if let dGamma { try addPartials(gammaPartials, parts: parts, cols: dim, into: dGamma) }
        if let biasGradient { try addPartials(biasPartials, parts: parts, cols: dim, into: biasGradient) }
    }

    // MARK: activations_training.cu

    /// `y = gelu(x + bias)` into a separate `y` (`x` bf16 `[rows, cols]` kept), as `bias_gelu`.
    public func biasGELUStore(x: Tensor, bias: Tensor, y: Tensor, rows: Int, cols: Int) throws(CUDAError) {
        try launch("bias_gelu_store", .rowLoop(rows), [Self.pointer(x), Self.pointer(bias), Self.pointer(y), .int(rows), .int(cols)])
    }

    /// `Backend.geluBackward` at `x + bias`: `dx` bf16 (may be `dy`).
    public func biasGELUBackward(x: Tensor, bias: Tensor, dy: Tensor, dx: Tensor, rows: Int, cols: Int) throws(CUDAError) {
        try launch("bias_gelu_backward", .rowLoop(rows),
                   [Self.pointer(x), Self.pointer(bias), Self.pointer(dy), Self.pointer(dx), .int(rows), .int(cols)])
    }

    /// `Backend.swiGLUBackward` at `x + bias` (`x [rows, 2·hidden]`, gate first): `dx [rows, 2·hidden]` bf16, and
    /// the bias's gradient `biasGradient [2·hidden]` f32 `+= Σ_rows dx` (the stored bf16 dx, as `addColumnSums`
    /// would sum it) through `partials` (`LaunchConfiguration.parts(rows:)·2·hidden` f32).
    public func biasSwiGLUBackward(x: Tensor, bias: Tensor, dy: Tensor, dx: Tensor, biasGradient: Tensor, partials: Tensor, rows: Int,
                                   hidden: Int) throws(CUDAError) {
        let parts = LaunchConfiguration.parts(rows: rows)
        precondition(partials.count >= parts * 2 * hidden && biasGradient.count >= 2 * hidden, "SwiGLU backward of \(rows)×2·\(hidden)")
        try launch("bias_swiglu_backward", .columnParts(rows: rows),
                   [Self.pointer(x), Self.pointer(bias), Self.pointer(dy), Self.pointer(dx), Self.pointer(partials), .int(rows), .int(hidden),
                    .int(LaunchConfiguration.rowsPerPart)])
        try addPartials(partials, parts: parts, cols: 2 * hidden, into: biasGradient)
    }

    // MARK: attention_backward.cu (and the forward permutations they invert)

    /// `merge_heads_backward`: `dout [B·L, H·hd]` → `dheads [B, H, L, hd]`.
    public func mergeHeadsBackward(dout: Tensor, dheads: Tensor, batch: Int, tokens: Int, heads: Int, headDim: Int) throws(CUDAError) {
        try launch("merge_heads_backward", .rowLoop(batch * tokens),
                   [Self.pointer(dout), Self.pointer(dheads), .int(batch), .int(tokens), .int(heads), .int(headDim)])
    }

    /// `softmax_backward_rows`: `dscores = scale·P ⊙ (dP − Σ P ⊙ dP)` over `columns` of rows of `ld` (bf16 P and
    /// dS, f32 dP).
    public func softmaxBackward(probabilities: Tensor, dProbabilities: Tensor, dScores: Tensor, rows: Int, columns: Int,
                                ld: Int, scale: Float) throws(CUDAError) {
        try launch("softmax_backward_rows", .warpRows(rows),
                   [Self.pointer(probabilities), Self.pointer(dProbabilities), Self.pointer(dScores), .long(rows), .int(columns),
                    .int(ld), .float(scale)])
    }

    /// `qkv_split_backward`: `dq`, `dk`, `dv` `[B, H, L, hd]` → `dqkv [B·L, 3·H·hd]`.
    public func qkvSplitBackward(dq: Tensor, dk: Tensor, dv: Tensor, dqkv: Tensor, batch: Int, tokens: Int, heads: Int,
                                 headDim: Int) throws(CUDAError) {
        try launch("qkv_split_backward", .rowLoop(batch * tokens),
                   [Self.pointer(dq), Self.pointer(dk), Self.pointer(dv), Self.pointer(dqkv), .int(batch), .int(tokens), .int(heads),
                    .int(headDim)])
    }

    /// The forward's `qkv_split` (part 1), for the round trip of the parity check.
    func qkvSplit(qkv: Tensor, q: Tensor, k: Tensor, v: Tensor, batch: Int, tokens: Int, heads: Int, headDim: Int) throws(CUDAError) {
        try launch("qkv_split", .rowLoop(batch * tokens),
                   [Self.pointer(qkv), Self.pointer(q), Self.pointer(k), Self.pointer(v), .int(batch), .int(tokens), .int(heads),
                    .int(headDim)])
    }

    /// The forward's `merge_heads` (part 1), for the round trip of the parity check.
    func mergeHeads(o: Tensor, out: Tensor, batch: Int, tokens: Int, heads: Int, headDim: Int) throws(CUDAError) {
        try launch("merge_heads", .rowLoop(batch * tokens),
                   [Self.pointer(o), Self.pointer(out), .int(batch), .int(tokens), .int(heads), .int(headDim)])
    }

    // MARK: tokens_backward.cu

    /// `Backend.assembleTokensBackward`: `dPatch [B·N, D]` bf16 (overwritten), `dCls [D]`, `dRegisters [R, D]`
    /// (nil when R = 0), `dPositions [N, D]` f32 `+=`, from `dres [B, 1 + R + N, D]` f32.
    public func assembleTokensBackward(dres: Tensor, dPatch: Tensor, dCls: Tensor, dRegisters: Tensor?, dPositions: Tensor,
                                       batch: Int, patches: Int, registers: Int, dim: Int) throws(CUDAError) {
        try launch("patch_tokens_backward", .rowLoop(batch * patches),
                   [Self.pointer(dres), Self.pointer(dPatch), .int(batch), .int(patches), .int(registers), .int(dim)])
        try launch("token_parameters_backward", .elementwise(count: (1 + registers + patches) * dim),
                   [Self.pointer(dres), Self.pointer(dCls), Self.pointer(dRegisters), Self.pointer(dPositions), .int(batch),
                    .int(patches), .int(registers), .int(dim)])
    }

    /// `Backend.selectTokensBackward`: `dTokens [B, L, D] +=` `dSelected [B, count, D]` at tokens `first ..< first + count`.
    public func selectTokensBackward(dSelected: Tensor, dTokens: Tensor, batch: Int, length: Int, first: Int, count: Int,
                                     dim: Int) throws(CUDAError) {
        try launch("select_tokens_backward", .rowLoop(batch * count),
                   [Self.pointer(dSelected), Self.pointer(dTokens), .int(batch), .int(length), .int(first), .int(count), .int(dim)])
    }

    // MARK: optimizer.cu

    /// The plan's arrays on the device (uploaded once per model).
    public struct DevicePlan: Sendable {
        public let plan: OptimizerChunkPlan
        let starts: Tensor, counts: Tensor, groups: Tensor, modules: Tensor, moduleOffsets: Tensor
        /// Scratch: f64 partials per chunk, f32 scales and f64 norms per module.
        let partials: Tensor, scales: Tensor, norms: Tensor
    }

    /// Uploads `plan`'s arrays and allocates its scratch.
    public func upload(_ plan: OptimizerChunkPlan) throws(CUDAError) -> DevicePlan {
        let modules = plan.moduleOffsets.count - 1
        func ints(_ values: [Int32]) throws(CUDAError) -> Tensor {
            let tensor = try backend.makeTensor(shape: [max(values.count, 1)], dtype: .f32)
            try values.withUnsafeBytes { bytes in
                Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: tensor.view(offset: 0, shape: [values.count])) }
            }.get()
            return tensor
        }
        let starts = try backend.makeTensor(shape: [2 * max(plan.chunkCount, 1)], dtype: .f32)   // int64 as 2 × 4 bytes
        try plan.starts.withUnsafeBytes { bytes in
            Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: starts.view(offset: 0, shape: [2 * plan.chunkCount])) }
        }.get()
        return DevicePlan(plan: plan, starts: starts, counts: try ints(plan.counts), groups: try ints(plan.groups),
                          modules: try ints(plan.modules), moduleOffsets: try ints(plan.moduleOffsets),
                          partials: try backend.makeTensor(shape: [2 * max(plan.chunkCount, 1)], dtype: .f32),
                          scales: try backend.makeTensor(shape: [max(modules, 1)], dtype: .f32),
                          norms: try backend.makeTensor(shape: [2 * max(modules, 1)], dtype: .f32))
    }

    /// `GradientClipping.clipPerModule` (scales computed here, applied by `adamW`): per-module norms into the plan's
    /// `norms` (f64) and `min(1, maxNorm/(n + 1e-6))` into its `scales`.
    public func clipScales(gradients: Tensor, plan: DevicePlan, maxNorm: Float = 3) throws(CUDAError) {
        try launch("gradient_square_partials", plan.plan.chunkLaunch,
                   [Self.pointer(gradients), Self.pointer(plan.starts), Self.pointer(plan.counts), Self.pointer(plan.partials),
                    .int(plan.plan.chunkCount)])
        try launch("clip_scales", plan.plan.moduleLaunch,
                   [Self.pointer(plan.partials), Self.pointer(plan.moduleOffsets), .int(plan.plan.moduleOffsets.count - 1),
                    .float(maxNorm), Self.pointer(plan.scales), Self.pointer(plan.norms)])
    }

    /// The per-module gradient norms of the last `clipScales` (waits for the stream).
    public func norms(_ plan: DevicePlan) throws(CUDAError) -> [Double] {
        let bytes = try backend.downloadBytes(plan.norms)
        return (0..<(plan.plan.moduleOffsets.count - 1)).map { index in
            bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 8, as: Double.self) }
        }
    }

    /// `AdamW.update` with the clip scales of `clipScales` (`clipped: false` ignores them): `decay` and `stepSize`
    /// `[groups]` f32 on the device (`Float(1 − lr·λ)`, `Float(−lr/(1 − β₁ᵗ))` per group, formed on the host as
    /// `AdamW.update` does); `parametersBF16` (nil to skip) receives the bf16 copy.
    public func adamW(parameters: Tensor, gradients: Tensor, m: Tensor, v: Tensor, parametersBF16: Tensor?, plan: DevicePlan,
                      decay: Tensor, stepSize: Tensor, clipped: Bool, step: Int, beta1: Double = 0.9, beta2: Double = 0.999,
                      epsilon: Double = 1e-8) throws(CUDAError) {
        let correction = Float((1 - pow(beta2, Double(step))).squareRoot())
        try launch("adamw_step", plan.plan.chunkLaunch,
                   [Self.pointer(parameters), Self.pointer(gradients), Self.pointer(m), Self.pointer(v), Self.pointer(parametersBF16),
                    Self.pointer(plan.starts), Self.pointer(plan.counts), Self.pointer(plan.groups), Self.pointer(plan.modules),
                    Self.pointer(decay), Self.pointer(stepSize), clipped ? Self.pointer(plan.scales) : .pointer(0),
                    .int(plan.plan.chunkCount), .float(Float(1 - beta1)), .float(Float(beta2)), .float(Float(1 - beta2)),
                    .float(correction), .float(Float(epsilon))])
    }

    /// `StudentEMA.update` over `count` elements: `ema ← fma(student, 1 − m, ema·m)`.
    public func emaUpdate(ema: Tensor, student: Tensor, count: Int, momentum: Double) throws(CUDAError) {
        try launch("ema_update", .elementwise(count: count),
                   [Self.pointer(ema), Self.pointer(student), .long(count), .float(Float(momentum)), .float(Float(1 - momentum))])
    }

    // MARK: head.cu

    /// `Backend.l2Normalize` into `y` f32 and `yBF16` (nil to skip).
    public func l2Normalize(x: Tensor, y: Tensor, yBF16: Tensor?, rows: Int, dim: Int, eps: Float) throws(CUDAError) {
        try launch("l2_normalize_rows", .warpRows(rows),
                   [Self.pointer(x), Self.pointer(y), Self.pointer(yBF16), .int(rows), .int(dim), .float(eps)])
    }

    /// `Backend.l2NormalizeBackward`.
    public func l2NormalizeBackward(x: Tensor, y: Tensor, dy: Tensor, dx: Tensor, rows: Int, dim: Int, eps: Float) throws(CUDAError) {
        try launch("l2_normalize_backward", .warpRows(rows),
                   [Self.pointer(x), Self.pointer(y), Self.pointer(dy), Self.pointer(dx), .int(rows), .int(dim), .float(eps)])
    }

    /// `Backend.weightNorm` into bf16 `weight [rows, cols]`.
    public func weightNorm(direction: Tensor, magnitude: Tensor, weight: Tensor, rows: Int, cols: Int) throws(CUDAError) {
        try launch("weight_norm_rows", .warpRows(rows),
                   [Self.pointer(direction), Self.pointer(magnitude), Self.pointer(weight), .int(rows), .int(cols)])
    }

    /// `Backend.weightNormBackward` (`dDirection`, `dMagnitude` `+=`).
    public func weightNormBackward(direction: Tensor, magnitude: Tensor, dWeight: Tensor, dDirection: Tensor, dMagnitude: Tensor,
                                   rows: Int, cols: Int) throws(CUDAError) {
        try launch("weight_norm_backward", .warpRows(rows),
                   [Self.pointer(direction), Self.pointer(magnitude), Self.pointer(dWeight), Self.pointer(dDirection),
                    Self.pointer(dMagnitude), .int(rows), .int(cols)])
    }

    // MARK: loss.cu

    /// `SoftmaxCentering.beginStep` on the device: `center`, `pending` (f64 `[K]`) with `pendingRows` queued rows.
    public func centerUpdate(center: Tensor, pending: Tensor, prototypes: Int, pendingRows: Int, momentum: Double = 0.9) throws(CUDAError) {
        guard pendingRows > 0 else { return }
        try launch("center_update", .elementwise(count: prototypes),
                   [Self.pointer(center), Self.pointer(pending), .int(prototypes), .double(Double(pendingRows)),
                    .float(Float(momentum)), .float(Float(1 - momentum))])
    }

    /// `SoftmaxCentering.accumulate` of the logits `y·Wᵀ` of `rows` rows, from the head's last-layer operands instead
    /// of the logits (`column_partial_sums_bf16`, then `center_accumulate_projected`): `normalized` bf16
    /// `[rows, n]`, `weight` bf16 `[K, n]`, `pending` f64 `[K]` (as `[2K]` words) `+=`, `partials` f32 scratch of
    /// `LaunchConfiguration.parts(rows:)·n` elements. `n` ≤ 1,024 (the kernel's shared sums).
    public func centerAccumulate(normalized: Tensor, weight: Tensor, pending: Tensor, partials: Tensor, rows: Int, bottleneck n: Int,
                                 prototypes: Int) throws(CUDAError) {
        precondition(n <= LaunchConfiguration.centerProjectionMaxBottleneck && weight.count >= prototypes * n && pending.count >= 2 * prototypes,
                     "centre projection of \(rows)×\(n) onto \(prototypes) prototypes")
        let parts = try columnPartialSums(of: normalized, rows: rows, cols: n, partials: partials)
        try launch("center_accumulate_projected", .centerProjection(prototypes: prototypes),
                   [Self.pointer(partials), .int(parts), Self.pointer(weight), Self.pointer(pending), .int(n), .int(prototypes)])
    }

    /// `SoftmaxCentering.probabilities` of a chunk (`output` may be `logits`); NaN/∞ flagged in `firstNonFinite`.
    public func centeredSoftmax(logits: Tensor, center: Tensor, output: Tensor, firstNonFinite: Tensor, rows: Int, prototypes: Int,
                                temperature: Float, rowOffset: Int) throws(CUDAError) {
        try launch("centered_softmax_rows", .rows(rows, dim: prototypes),
                   [Self.pointer(logits), Self.pointer(center), Self.pointer(output), Self.pointer(firstNonFinite), .int(rows),
                    .int(prototypes), .float(temperature), .long(rowOffset)])
    }

    /// `SoftmaxCrossEntropy.accumulate` of a chunk: `teachers` a device array of `teacherCount` pointers (u64) to
    /// `[rows, K]` f32 probabilities; `gradient` bf16 `[rows, K]`; `rowLoss` f64 `[rows]` (unweighted).
    public func crossEntropy(student: Tensor, teachers: Tensor, teacherCount: Int, gradient: Tensor, rowLoss: Tensor,
                             firstNonFinite: Tensor, rows: Int, prototypes: Int, temperature: Float, weight: Float,
                             rowOffset: Int) throws(CUDAError) {
        precondition(teacherCount >= 1 && teacherCount <= 8, "cross_entropy_rows takes 1 … 8 teachers")
        try launch("cross_entropy_rows", .rows(rows, dim: prototypes),
                   [Self.pointer(student), Self.pointer(teachers), .int(teacherCount), Self.pointer(gradient), Self.pointer(rowLoss),
                    Self.pointer(firstNonFinite), .int(rows), .int(prototypes), .float(temperature), .float(weight), .long(rowOffset)])
    }

    /// `centeredSoftmax` of `teacher` then `crossEntropy` against it for one teacher row per student row (the iBOT
    /// pairs), without storing the probabilities (`centered_cross_entropy_rows`: the same P as the two kernels, `ΣP`
    /// taken as 1, two passes over the logits; `teacher` left as it is): `teacher`, `student` `[rows, K]` f32 logits,
    /// `center` `[K]`, `gradient` bf16 `[rows, K]`, `rowLoss` f64 `[rows]` (unweighted); NaN/∞ flagged in
    /// `teacherNonFinite` / `studentNonFinite`.
    public func centeredCrossEntropy(teacher: Tensor, center: Tensor, student: Tensor, gradient: Tensor, rowLoss: Tensor,
                                     teacherNonFinite: Tensor, studentNonFinite: Tensor, rows: Int, prototypes: Int,
                                     teacherTemperature: Float, temperature: Float, weight: Float, rowOffset: Int) throws(CUDAError) {
        try launch("centered_cross_entropy_rows", .rows(rows, dim: prototypes),
                   [Self.pointer(teacher), Self.pointer(center), Self.pointer(student), Self.pointer(gradient), Self.pointer(rowLoss),
                    Self.pointer(teacherNonFinite), Self.pointer(studentNonFinite), .int(rows), .int(prototypes),
                    .float(teacherTemperature), .float(temperature), .float(weight), .long(rowOffset)])
    }

    /// One row chunk of a Sinkhorn-Knopp column pass (`sinkhorn_column_partial`): `logits` `[rows, K]` f32, `c` the
    /// chunk's row scalings (f64 `[rows]`), `maximum`/`sum` the running pair (f64 `[K]`; `first` starts them), and
    /// after the `last` chunk `a` (f64 `[K]`) `= −log Σ_b exp(z_bk + c_b)`. NaN/∞ logits go to `firstNonFinite` at
    /// `(rowOffset + row)·K + k`.
    public func sinkhornColumnPartial(logits: Tensor, c: Tensor, maximum: Tensor, sum: Tensor, a: Tensor, firstNonFinite: Tensor,
                                      rows: Int, prototypes: Int, temperature: Float, rowOffset: Int, first: Bool,
                                      last: Bool) throws(CUDAError) {
        try launch("sinkhorn_column_partial", .elementwise(count: prototypes),
                   [Self.pointer(logits), Self.pointer(c), Self.pointer(maximum), Self.pointer(sum), Self.pointer(a), Self.pointer(firstNonFinite),
                    .int(rows), .int(prototypes), .float(temperature), .long(rowOffset), .int(first ? 1 : 0), .int(last ? 1 : 0)])
    }

    /// `c` (f64 `[rows]`) `= −log Σ_k exp(z_bk + a_k)` for the chunk `logits` `[rows, K]` (`sinkhorn_row_scaling`).
    public func sinkhornRowScaling(logits: Tensor, a: Tensor, c: Tensor, rows: Int, prototypes: Int, temperature: Float) throws(CUDAError) {
        try launch("sinkhorn_row_scaling", .rows(rows, dim: prototypes),
                   [Self.pointer(logits), Self.pointer(a), Self.pointer(c), .int(rows), .int(prototypes), .float(temperature)])
    }

    /// `output` `[rows, K]` f32 `= exp(z + a_k + c_b)` (`sinkhorn_probabilities`); `output` may be `logits`.
    public func sinkhornProbabilities(logits: Tensor, a: Tensor, c: Tensor, output: Tensor, rows: Int, prototypes: Int,
                                      temperature: Float) throws(CUDAError) {
        try launch("sinkhorn_probabilities", .elementwise(count: rows * prototypes),
                   [Self.pointer(logits), Self.pointer(a), Self.pointer(c), Self.pointer(output), .int(rows), .int(prototypes),
                    .float(temperature)])
    }

    /// Sets a non-finite flag (one u64) to all ones, before the kernels that report into it.
    public func resetNonFinite(_ flag: Tensor) throws(CUDAError) {
        try backend.fillWords(flag, 0xFFFF_FFFF)
    }
}
