import Compute
import Models

/// The ViT's training pass on the device (the counterpart of `ViTTraining`, docs/cuda.md "The step on the device"):
/// part 1's forward kernels in the same order as `CUDAViTForward`, keeping each block's activations
/// (`CUDAViTTrainingActivations`), and the backward in reverse with the training kernels (`CUDATrainingKernels`)
/// and cuBLASLt (`dX = dY·W`, `dW += dYᵀ·X` with β = 1, so the crop sizes' gradients add up).
///
/// Parameters are read from the master f32 buffer (LayerNorm, LayerScale, tokens, the fused activations' biases)
/// and its bf16 mirror (GEMM weights, bias epilogues); gradients accumulate into the f32 gradient buffer at the
/// same offsets. `pos_embed` for another grid is `R·pos_embed` (`R` the bicubic resampling as a matrix, a GEMM),
/// and its gradient `Rᵀ·dpositions`. Calls queue work on the stream and return.
struct CUDAViTTraining: @unchecked Sendable {
    let config: ViTConfig
    let parameters: CUDAParameterViews
    let kernels: CUDATrainingKernels
    var backend: CUDABackend { kernels.backend }

    // MARK: forward

    /// The forward on `a.images`, keeping every block's activations; `x_norm` in `a.output`.
    func forward(_ a: CUDAViTTrainingActivations, scratch s: CUDATrainingScratch) throws(CUDAError) {
        let p = parameters, d = config.embedDim, b = a.batch, length = a.length, rows = a.rows
        let heads = config.numHeads, hd = config.headDim, pairs = b * heads, eps = config.normEps
        try backend.launch("im2col_f32", .rowLoop(b * a.patches), [
            .pointer(a.images.address), .pointer(a.columns.address), .int(b), .int(a.height), .int(a.width),
            .int(config.patchSize), .int(a.paddedPatchColumns),
        ])
        // The weight [D, 3, p, p] as bf16 rows padded to kpad (16-byte rows, as part 1's): im2col of the weight seen
        // as D images of one patch each (the column order is the weight's (c, y, x); padding zeroed).
        let patchWeight = s.patchWeight.view(shape: [d, a.paddedPatchColumns])
        try backend.launch("im2col_f32", .rowLoop(d), [
            .pointer(p.f32("patch_embed.proj.weight").address), .pointer(patchWeight.address), .int(d), .int(config.patchSize),
            .int(config.patchSize), .int(config.patchSize), .int(a.paddedPatchColumns),
        ])
        try backend.matmul(.linear(rows: b * a.patches, inFeatures: a.paddedPatchColumns, outFeatures: d, bias: true),
                           a: patchWeight, b: a.columns, d: a.patchTokens, bias: p.bf16("patch_embed.proj.bias"))
        let positions: Tensor
        if let resampling = a.resampling {
            let stored = config.gridSize * config.gridSize
            try backend.matmul(.linearInputGradient(rows: a.patches, inFeatures: d, outFeatures: stored, outputF32: true),
                               a: p.bf16("pos_embed"), b: resampling, d: a.positions)
            positions = a.positions
        } else {
            positions = p.f32("pos_embed").reshaped([a.patches, d])
        }
        let cls = p.f32("cls_token"), registers = config.regTokens > 0 ? p.f32("reg_token") : cls
        let first = a.blocks[0]
        try backend.launch("assemble_tokens", .rowLoop(rows), [
            .pointer(a.patchTokens.address), .pointer(cls.address), .pointer(registers.address), .pointer(positions.address),
            .pointer(first.input.address), .int(b), .int(a.patches), .int(config.regTokens), .int(d),
        ])
        try backend.launch("layer_norm_f32_bf16", .rows(rows, dim: d), [
            .pointer(first.input.address), .pointer(p.f32("blocks.0.norm1.weight").address), .pointer(p.f32("blocks.0.norm1.bias").address),
            .pointer(first.norm1.address), .int(rows), .int(d), .float(eps),
        ])
        let headSize = rows * d
        let qkv = s.qkv.view(shape: [rows, 3 * d])
        for (index, c) in a.blocks.enumerated() {
            let prefix = "blocks.\(index)."
            try backend.matmul(.linear(rows: rows, inFeatures: d, outFeatures: 3 * d, bias: config.qkvBias),
                               a: p.bf16(prefix + "attn.qkv.weight"), b: c.norm1, d: a.fusedAttention ? c.heads : qkv,
                               bias: config.qkvBias ? p.bf16(prefix + "attn.qkv.bias") : nil)
            switch c.saved {
            case .logSumExp(let lse):
                try FusedAttention.forward(backend, qkv: c.heads, output: c.attention, lse: lse, lseStride: a.paddedLength, batch: b,
                                           tokens: length, heads: heads, headDim: hd)
            case .probabilities(let probabilities):
                let q = c.heads.view(offset: 0, shape: [headSize]), kk = c.heads.view(offset: headSize, shape: [headSize])
                let v = c.heads.view(offset: 2 * headSize, shape: [headSize])
                let scores = s.scores.view(shape: [pairs, length, a.paddedLength])
                let attended = s.attended.view(shape: [b, heads, length, hd])
                try kernels.qkvSplit(qkv: qkv, q: q, k: kk, v: v, batch: b, tokens: length, heads: heads, headDim: hd)
                try backend.matmul(.attentionScores(tokens: length, headDim: hd, ldScores: a.paddedLength, pairs: pairs),
                                   a: kk, b: q, d: scores, alpha: 1 / Float(hd).squareRoot())
                try backend.launch("softmax_rows", .softmax(rows: pairs * length), [
                    .pointer(scores.address), .pointer(probabilities.address), .long(pairs * length), .int(length),
                    .int(a.paddedLength), .float(1),
                ])
                try backend.matmul(.attentionValues(tokens: length, headDim: hd, ldProbabilities: a.paddedLength, pairs: pairs),
                                   a: v, b: probabilities, d: attended)
                try kernels.mergeHeads(o: attended, out: c.attention, batch: b, tokens: length, heads: heads, headDim: hd)
            }
            try backend.matmul(.linear(rows: rows, inFeatures: d, outFeatures: d, bias: true),
                               a: p.bf16(prefix + "attn.proj.weight"), b: c.attention, d: c.projection, bias: p.bf16(prefix + "attn.proj.bias"))
            try residualLayerNorm(source: c.input, residual: c.middle, branch: c.projection, gamma: p.optionalF32(prefix + "ls1.gamma"),
                                  norm: prefix + "norm2", output: c.norm2, rows: rows)
            let hidden = config.mlpHiddenFeatures
            try backend.matmul(.linear(rows: rows, inFeatures: d, outFeatures: hidden, bias: false),
                               a: p.bf16(prefix + "mlp.fc1.weight"), b: c.norm2, d: c.hidden)
            switch config.mlpLayer {
            case .swigluPacked:
                try backend.launch("bias_swiglu", .rowLoop(rows), [
                    .pointer(c.hidden.address), .pointer(p.f32(prefix + "mlp.fc1.bias").address), .pointer(c.activated.address),
                    .int(rows), .int(hidden / 2),
                ])
            case .gelu:
                try kernels.biasGELUStore(x: c.hidden, bias: p.f32(prefix + "mlp.fc1.bias"), y: c.activated, rows: rows, cols: hidden)
            }
            try backend.matmul(.linear(rows: rows, inFeatures: config.mlpOutputInFeatures, outFeatures: d, bias: true),
                               a: p.bf16(prefix + "mlp.fc2.weight"), b: c.activated, d: c.mlpOutput, bias: p.bf16(prefix + "mlp.fc2.bias"))
            let last = index == config.depth - 1
            let next = last ? a.residual : a.blocks[index + 1].input
            try residualLayerNorm(source: c.middle, residual: next, branch: c.mlpOutput, gamma: p.optionalF32(prefix + "ls2.gamma"),
                                  norm: last ? "norm" : "blocks.\(index + 1).norm1",
                                  output: last ? a.output.view(shape: [rows, d]) : a.blocks[index + 1].norm1, rows: rows)
        }
    }

    /// `residual = source + gamma ⊙ branch; output = LayerNorm(residual)` (bf16, or f32 for the final norm): each
    /// block's residuals are saved for the backward, so the sum goes into the next saved buffer.
    private func residualLayerNorm(source: Tensor, residual: Tensor, branch: Tensor, gamma: Tensor?, norm: String, output: Tensor,
                                   rows: Int) throws(CUDAError) {
        let d = config.embedDim
        try backend.launch(output.dtype == .f32 ? "residual_layer_norm_f32" : "residual_layer_norm_bf16", .rows(rows, dim: d), [
            .pointer(source.address), .pointer(residual.address), .pointer(branch.address), .pointer(gamma?.address ?? 0),
            .pointer(parameters.f32(norm + ".weight").address), .pointer(parameters.f32(norm + ".bias").address),
            .pointer(output.address), .int(rows), .int(d), .float(config.normEps),
        ])
    }

    // MARK: backward

    /// The backward from `a.outputGradient` (dL/d`x_norm`) after `forward(a)`: adds dL/dθ into the gradient buffer.
    func backward(_ a: CUDAViTTrainingActivations, scratch s: CUDATrainingScratch) throws(CUDAError) {
        let p = parameters, d = config.embedDim, rows = a.rows, eps = config.normEps
        let dres = s.residualGradient.view(shape: [rows, d])
        try backend.fillWords(dres, 0)
        try kernels.layerNormBackward(x: a.residual, weight: p.f32("norm.weight"), dy: a.outputGradient, dx: dres,
                                      dWeight: p.gradient("norm.weight"), dBias: p.gradient("norm.bias"), partials: s.partials,
                                      rows: rows, dim: d, eps: eps)
        for index in a.blocks.indices.reversed() {
            try blockBackward(index, a.blocks[index], a, s)
        }
        let stored = a.resampling == nil
        let grid = config.gridSize
        let dPositions = stored ? p.gradient("pos_embed").reshaped([grid * grid, d]) : a.positionsGradient
        if !stored { try backend.fillWords(a.positionsGradient, 0) }
        try kernels.assembleTokensBackward(dres: dres, dPatch: a.patchTokens, dCls: p.gradient("cls_token"),
                                           dRegisters: config.regTokens > 0 ? p.gradient("reg_token") : nil, dPositions: dPositions,
                                           batch: a.batch, patches: a.patches, registers: config.regTokens, dim: d)
        if let resampling = a.resampling {
            try backend.launch("convert_f32_to_bf16", .elementwise(count: a.patches * d), [
                .pointer(a.positionsGradient.address), .pointer(a.positionsGradientBF16.address), .long(a.patches * d),
            ])
            try backend.matmul(.linearWeightGradient(rows: a.patches, inFeatures: d, outFeatures: grid * grid),
                               a: a.positionsGradientBF16, b: resampling, d: p.gradient("pos_embed"), beta: 1)
        }
        // dW_patch [D, 3p²] += dpatchᵀ·columns (the columns' first 3p² of kpad); no input gradient.
        let k = 3 * config.patchSize * config.patchSize
        try backend.matmul(.linearWeightGradient(rows: a.batch * a.patches, inFeatures: k, outFeatures: d, ldInput: a.paddedPatchColumns),
                           a: a.columns, b: a.patchTokens, d: p.gradient("patch_embed.proj.weight"), beta: 1)
        try kernels.addColumnSums(of: a.patchTokens, rows: a.batch * a.patches, cols: d, into: p.gradient("patch_embed.proj.bias"),
                                  partials: s.partials)
    }

    /// `nn.Linear`'s backward on bf16 `dy [rows, out]`: `dx [rows, in] = dy·W` (skipped for nil), `dW += dyᵀ·x`,
    /// `db += Σ_rows dy` (when the layer has a bias).
    func linearBackward(x: Tensor, weight: String, bias: String?, dy: Tensor, dx: Tensor?, rows: Int, inFeatures: Int,
                        outFeatures: Int, partials: Tensor) throws(CUDAError) {
        if let dx {
            try backend.matmul(.linearInputGradient(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                                    outputF32: dx.dtype == .f32),
                               a: parameters.bf16(weight), b: dy, d: dx)
        }
        try backend.matmul(.linearWeightGradient(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures),
                           a: x, b: dy, d: parameters.gradient(weight), beta: 1)
        if let bias {
            try kernels.addColumnSums(of: dy, rows: rows, cols: outFeatures, into: parameters.gradient(bias), partials: partials)
        }
    }

    /// One block in reverse: `s.residualGradient` holds dL/d(block output) on entry, dL/d(block input) on exit.
    private func blockBackward(_ index: Int, _ c: CUDAViTTrainingActivations.Block, _ a: CUDAViTTrainingActivations,
                               _ s: CUDATrainingScratch) throws(CUDAError) {
        let p = parameters, prefix = "blocks.\(index).", d = config.embedDim, rows = a.rows, eps = config.normEps
        let b = a.batch, length = a.length, heads = config.numHeads, hd = config.headDim, pairs = b * heads
        let hidden = config.mlpHiddenFeatures, activatedWidth = config.mlpOutputInFeatures
        let dres = s.residualGradient.view(shape: [rows, d]), dbranch = s.branchGradient.view(shape: [rows, d])
        let dnorm = s.normGradient.view(shape: [rows, d])
        let dact = s.activatedGradient.view(shape: [rows, activatedWidth]), dhidden = s.hiddenGradient.view(shape: [rows, hidden])
        // MLP branch (fc2's and, below, proj's bias gradients summed by the LayerScale backward as it stores dbranch).
        try kernels.layerScaleBackward(dres: dres, branch: c.mlpOutput, gamma: p.optionalF32(prefix + "ls2.gamma"), dBranch: dbranch,
                                       dGamma: p.optionalGradient(prefix + "ls2.gamma"), biasGradient: p.gradient(prefix + "mlp.fc2.bias"),
                                       partials: s.partials, rows: rows, dim: d)
        try linearBackward(x: c.activated, weight: prefix + "mlp.fc2.weight", bias: nil, dy: dbranch, dx: dact,
                           rows: rows, inFeatures: activatedWidth, outFeatures: d, partials: s.partials)
        // fc1's bias gradient: SwiGLU's backward sums it as it writes dx; after GELU's, a column sum of dx.
        let fc1Bias: String?
        switch config.mlpLayer {
        case .swigluPacked:
            try kernels.biasSwiGLUBackward(x: c.hidden, bias: p.f32(prefix + "mlp.fc1.bias"), dy: dact, dx: dhidden,
                                           biasGradient: p.gradient(prefix + "mlp.fc1.bias"), partials: s.partials, rows: rows,
                                           hidden: hidden / 2)
            fc1Bias = nil
        case .gelu:
            try kernels.biasGELUBackward(x: c.hidden, bias: p.f32(prefix + "mlp.fc1.bias"), dy: dact, dx: dhidden, rows: rows, cols: hidden)
            fc1Bias = prefix + "mlp.fc1.bias"
        }
        try linearBackward(x: c.norm2, weight: prefix + "mlp.fc1.weight", bias: fc1Bias, dy: dhidden, dx: dnorm,
                           rows: rows, inFeatures: d, outFeatures: hidden, partials: s.partials)
        try kernels.layerNormBackward(x: c.middle, weight: p.f32(prefix + "norm2.weight"), dy: dnorm, dx: dres,
                                      dWeight: p.gradient(prefix + "norm2.weight"), dBias: p.gradient(prefix + "norm2.bias"),
                                      partials: s.partials, rows: rows, dim: d, eps: eps)
        // Attention branch.
        try kernels.layerScaleBackward(dres: dres, branch: c.projection, gamma: p.optionalF32(prefix + "ls1.gamma"), dBranch: dbranch,
                                       dGamma: p.optionalGradient(prefix + "ls1.gamma"), biasGradient: p.gradient(prefix + "attn.proj.bias"),
                                       partials: s.partials, rows: rows, dim: d)
        try linearBackward(x: c.attention, weight: prefix + "attn.proj.weight", bias: nil, dy: dbranch, dx: dnorm,
                           rows: rows, inFeatures: d, outFeatures: d, partials: s.partials)
        let dqkv = s.qkv.view(shape: [rows, 3 * d])
        switch c.saved {
        case .logSumExp(let lse):
            try FusedAttention.backward(backend, qkv: c.heads, output: c.attention, outputGradient: dnorm, lse: lse,
                                        delta: s.scores.view(shape: [pairs * a.paddedLength]), stride: a.paddedLength, qkvGradient: dqkv,
                                        batch: b, tokens: length, heads: heads, headDim: hd)
        case .probabilities(let probabilities):
            let headSize = rows * d
            let dO = s.attended.view(shape: [headSize])
            try kernels.mergeHeadsBackward(dout: dnorm, dheads: dO, batch: b, tokens: length, heads: heads, headDim: hd)
            let q = c.heads.view(offset: 0, shape: [headSize]), k = c.heads.view(offset: headSize, shape: [headSize])
            let v = c.heads.view(offset: 2 * headSize, shape: [headSize])
            let dq = s.headsGradient.view(offset: 0, shape: [headSize]), dk = s.headsGradient.view(offset: headSize, shape: [headSize])
            let dv = s.headsGradient.view(offset: 2 * headSize, shape: [headSize])
            let scoreCount = pairs * length * a.paddedLength
            let dP = s.scores.view(shape: [scoreCount]), dS = s.scoreGradient.view(shape: [scoreCount])
            let ld = a.paddedLength, alpha = 1 / Float(hd).squareRoot()
            try backend.matmul(.attentionProbabilityGradient(tokens: length, headDim: hd, ldScores: ld, pairs: pairs), a: v, b: dO, d: dP)
            try backend.matmul(.attentionTransposedProduct(tokens: length, headDim: hd, ldProbabilities: ld, pairs: pairs),
                               a: dO, b: probabilities, d: dv)
            try kernels.softmaxBackward(probabilities: probabilities, dProbabilities: dP, dScores: dS, rows: pairs * length,
                                        columns: length, ld: ld, scale: 1)
            try backend.matmul(.attentionQueryGradient(tokens: length, headDim: hd, ldScores: ld, pairs: pairs), a: k, b: dS, d: dq,
                               alpha: alpha)
            try backend.matmul(.attentionTransposedProduct(tokens: length, headDim: hd, ldProbabilities: ld, pairs: pairs),
                               a: q, b: dS, d: dk, alpha: alpha)
            try kernels.qkvSplitBackward(dq: dq, dk: dk, dv: dv, dqkv: dqkv, batch: b, tokens: length, heads: heads, headDim: hd)
        }
        try linearBackward(x: c.norm1, weight: prefix + "attn.qkv.weight", bias: config.qkvBias ? prefix + "attn.qkv.bias" : nil,
                           dy: dqkv, dx: dnorm, rows: rows, inFeatures: d, outFeatures: 3 * d, partials: s.partials)
        try kernels.layerNormBackward(x: c.input, weight: p.f32(prefix + "norm1.weight"), dy: dnorm, dx: dres,
                                      dWeight: p.gradient(prefix + "norm1.weight"), dBias: p.gradient(prefix + "norm1.bias"),
                                      partials: s.partials, rows: rows, dim: d, eps: eps)
    }
}
