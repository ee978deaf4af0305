import Compute
import Models

/// A ViT's training pass: the forward of `ViT` (same kernels, same order, so the same numbers) keeping every
/// block's activations in `ViTTrainingActivations`, and the backward that walks the layers in reverse, each
/// layer's backward kernel beside its forward (llm.c style):
///
/// ```
/// forward                                      backward (reverse order)
/// t = patchEmbed(images)                       patchEmbedBackward → patch_embed.proj.{weight,bias}
/// p = resizeGrid(pos_embed)  (other grids)     resizeGridBackward → pos_embed
/// x = [cls, reg…, t + p]                       assembleTokensBackward → cls_token, reg_token, positions
/// per block i:
///   n1 = norm1(x)                              layerNormBackward (dx added to the residual gradient)
///   qkv = attn.qkv(n1)                         linearBackward
///   a = attention(qkv)                         attentionBackward
///   x += ls1 ⊙ attn.proj(a)                    linearBackward, layerScaleResidualBackward → ls1.gamma
///   n2 = norm2(x)                              layerNormBackward
///   h = mlp.fc1(n2); g = act(h)                linearBackward, swiGLUBackward / geluBackward
///   x += ls2 ⊙ mlp.fc2(g)                      linearBackward, layerScaleResidualBackward → ls2.gamma
/// x_norm = norm(x)                             layerNormBackward → norm.{weight,bias}
/// ```
///
/// Gradients accumulate into `gradients` (the parameters' layout over a second flat buffer), so passes at
/// several input sizes (global and local crops) add up; zero `gradients.flat` once per step. Immutable and
/// Sendable like `ViT`; each concurrent caller brings its own activations.
public struct ViTTraining: Sendable {
    public let config: ViTConfig
    public let parameters: ViTParameters
    /// dL/dθ for every parameter, same layout as `parameters`.
    public let gradients: ViTParameters
    public let backend: any Backend
    private let blocks: [(weights: BlockParameters, gradients: BlockParameters)]

    /// One block's tensors under their timm names (`blocks.{i}.…`), from the weights or from the gradients.
    struct BlockParameters: Sendable {
        let norm1Weight, norm1Bias, qkvWeight, projWeight, projBias, norm2Weight, norm2Bias: Tensor
        let fc1Weight, fc1Bias, fc2Weight, fc2Bias: Tensor
        let qkvBias, ls1, ls2: Tensor?

        init(_ p: ViTParameters, block: Int) {
            let prefix = "blocks.\(block)."
            norm1Weight = p[prefix + "norm1.weight"]
            norm1Bias = p[prefix + "norm1.bias"]
            qkvWeight = p[prefix + "attn.qkv.weight"]
            qkvBias = p.optional(prefix + "attn.qkv.bias")
            projWeight = p[prefix + "attn.proj.weight"]
            projBias = p[prefix + "attn.proj.bias"]
            ls1 = p.optional(prefix + "ls1.gamma")
            norm2Weight = p[prefix + "norm2.weight"]
            norm2Bias = p[prefix + "norm2.bias"]
            fc1Weight = p[prefix + "mlp.fc1.weight"]
            fc1Bias = p[prefix + "mlp.fc1.bias"]
            fc2Weight = p[prefix + "mlp.fc2.weight"]
            fc2Bias = p[prefix + "mlp.fc2.bias"]
            ls2 = p.optional(prefix + "ls2.gamma")
        }
    }

    /// A training pass over `parameters`, accumulating into `gradients`.
    /// - Precondition: both have `config`'s layout.
    public init(config: ViTConfig, parameters: ViTParameters, gradients: ViTParameters, backend: any Backend) {
        let layout = ParameterLayout(config: config)
        precondition(parameters.layout == layout && gradients.layout == layout, "parameters or gradients do not have \(config.name)'s layout")
        self.config = config
        self.parameters = parameters
        self.gradients = gradients
        self.backend = backend
        blocks = (0..<config.depth).map { (BlockParameters(parameters, block: $0), BlockParameters(gradients, block: $0)) }
    }

    /// Buffers for inputs of `[batch, 3, height, width]`.
    public func makeActivations(batch: Int, height: Int, width: Int) -> ViTTrainingActivations {
        ViTTrainingActivations(config: config, backend: backend, batch: batch, height: height, width: width)
    }

    /// Fills `activations.images` from RGB8 pixels `[B, H, W, 3]` with `config.normalization`.
    /// - Precondition: `pixels.count == B·H·W·3`.
    public func normalize(pixels: UnsafeBufferPointer<UInt8>, into activations: ViTTrainingActivations) {
        precondition(pixels.count == activations.batch * activations.height * activations.width * 3,
                     "\(pixels.count) bytes for \(activations.batch) images of \(activations.height)×\(activations.width)")
        backend.normalizeImages(pixels: pixels, normalization: config.normalization, output: activations.images,
                                batch: activations.batch, height: activations.height, width: activations.width)
    }

    // MARK: Forward

    /// The forward pass on `activations.images`, keeping every block's activations.
    /// - Returns: `x_norm` `[B, L, D]` (`activations.output`), equal to `ViT.forward`'s.
    /// - Throws: `ViTError.badInputShape`, `.activationsMismatch`, `.unreachableGrid` (as `ViT.forward`).
    @discardableResult
    public func forward(_ a: ViTTrainingActivations) throws(ViTError) -> Tensor {
        guard a.config == config else { throw .activationsMismatch(model: config.name, activationsModel: a.config.name) }
        let p = config.patchSize, d = config.embedDim
        guard a.batch > 0, a.height > 0, a.width > 0, a.height % p == 0, a.width % p == 0 else {
            throw .badInputShape(model: config.name, shape: [a.batch, 3, a.height, a.width], patchSize: p)
        }
        backend.patchEmbed(images: a.images, weight: parameters["patch_embed.proj.weight"], bias: parameters["patch_embed.proj.bias"],
                           output: a.patchTokens, batch: a.batch, channels: 3, height: a.height, width: a.width, patch: p, dim: d)
        let positions = try positionalEmbedding(a)
        backend.assembleTokens(patchTokens: a.patchTokens, classToken: parameters["cls_token"],
                               registerTokens: parameters.optional("reg_token") ?? parameters["cls_token"],
                               positions: positions, output: a.blocks.first?.input ?? a.residual, batch: a.batch,
                               patches: a.patches, registers: config.regTokens, dim: d)
        for (index, block) in blocks.enumerated() {
            let next = index + 1 < blocks.count ? a.blocks[index + 1].input : a.residual
            blockForward(block.weights, a.blocks[index], output: next, a)
        }
        backend.layerNorm(input: a.residual, weight: parameters["norm.weight"], bias: parameters["norm.bias"],
                          output: a.output, rows: a.rows, dim: d, eps: config.normEps)
        return a.output
    }

    /// `x' = x + ls1 ⊙ proj(attn(norm1(x)))`, `output = x' + ls2 ⊙ fc2(act(fc1(norm2(x'))))`, from `c.input`.
    private func blockForward(_ w: BlockParameters, _ c: ViTTrainingActivations.Block, output: Tensor, _ a: ViTTrainingActivations) {
        let d = config.embedDim, rows = a.rows, hidden = config.mlpHiddenFeatures
        backend.layerNorm(input: c.input, weight: w.norm1Weight, bias: w.norm1Bias, output: c.norm1, rows: rows, dim: d, eps: config.normEps)
        backend.linear(input: c.norm1, weight: w.qkvWeight, bias: w.qkvBias, output: c.qkv, rows: rows, inFeatures: d, outFeatures: 3 * d)
        backend.attention(qkv: c.qkv, output: c.attention, batch: a.batch, tokens: a.length, heads: config.numHeads, headDim: config.headDim)
        backend.linear(input: c.attention, weight: w.projWeight, bias: w.projBias, output: c.projection, rows: rows, inFeatures: d, outFeatures: d)
        backend.copy(from: c.input, to: c.middle, count: rows * d)
        backend.layerScaleResidual(residual: c.middle, branch: c.projection, gamma: w.ls1, rows: rows, dim: d)

        backend.layerNorm(input: c.middle, weight: w.norm2Weight, bias: w.norm2Bias, output: c.norm2, rows: rows, dim: d, eps: config.normEps)
        backend.linear(input: c.norm2, weight: w.fc1Weight, bias: w.fc1Bias, output: c.hidden, rows: rows, inFeatures: d, outFeatures: hidden)
        switch config.mlpLayer {
        case .swigluPacked: backend.swiGLU(input: c.hidden, output: c.activated, rows: rows, hidden: hidden / 2)
        case .gelu: backend.gelu(input: c.hidden, output: c.activated, count: rows * hidden)
        }
        backend.linear(input: c.activated, weight: w.fc2Weight, bias: w.fc2Bias, output: c.mlpOutput, rows: rows,
                       inFeatures: config.mlpOutputInFeatures, outFeatures: d)
        backend.copy(from: c.middle, to: output, count: rows * d)
        backend.layerScaleResidual(residual: output, branch: c.mlpOutput, gamma: w.ls2, rows: rows, dim: d)
    }

    /// `pos_embed` as `[N, D]`: the stored grid, or its resampling into `a.positions` (every pass: the weights
    /// change between steps).
    private func positionalEmbedding(_ a: ViTTrainingActivations) throws(ViTError) -> Tensor {
        let grid = config.gridSize
        if a.gridRows == grid && a.gridColumns == grid { return parameters["pos_embed"].reshaped([grid * grid, config.embedDim]) }
        let (rows, columns) = try resizes(a)
        backend.resizeGrid(input: parameters["pos_embed"], output: a.positions, inputHeight: grid, inputWidth: grid,
                           outputHeight: a.gridRows, outputWidth: a.gridColumns, dim: config.embedDim, rows: rows, columns: columns)
        return a.positions
    }

    /// The row and column resizes from the stored grid to `a`'s, checked to land on it.
    private func resizes(_ a: ViTTrainingActivations) throws(ViTError) -> (BicubicResize, BicubicResize) {
        let grid = config.gridSize
        let mode = config.posEmbedInterpolation
        let rows = mode.resize(stored: grid, target: a.gridRows), columns = mode.resize(stored: grid, target: a.gridColumns)
        for (resize, target) in [(rows, a.gridRows), (columns, a.gridColumns)] {
            if let factor = resize.scaleFactor, BicubicResize.outputSize(inputSize: grid, scaleFactor: factor) != target {
                throw .unreachableGrid(model: config.name, stored: grid, target: target)
            }
        }
        return (rows, columns)
    }

    // MARK: Backward

    /// The backward pass from `a.outputGradient` (dL/d`x_norm`), after `forward(a)` with the same parameters:
    /// adds dL/dθ to `gradients` for every parameter. The images get no gradient.
    /// - Precondition: `forward(a)` ran last on these activations.
    public func backward(_ a: ViTTrainingActivations) {
        let d = config.embedDim, rows = a.rows
        backend.fill(a.residualGradient, value: 0, count: rows * d)
        backend.layerNormBackward(input: a.residual, weight: parameters["norm.weight"], outputGradient: a.outputGradient,
                                  inputGradient: a.residualGradient, weightGradient: gradients["norm.weight"],
                                  biasGradient: gradients["norm.bias"], rows: rows, dim: d, eps: config.normEps)
        for index in blocks.indices.reversed() {
            blockBackward(blocks[index].weights, blocks[index].gradients, a.blocks[index], a)
        }
        let grid = config.gridSize
        let stored = a.gridRows == grid && a.gridColumns == grid
        let positionsGradient = stored ? gradients["pos_embed"].reshaped([grid * grid, d]) : a.positionsGradient
        if !stored { backend.fill(a.positionsGradient, value: 0, count: a.patches * d) }
        backend.assembleTokensBackward(outputGradient: a.residualGradient, patchTokensGradient: a.patchTokens,
                                       classTokenGradient: gradients["cls_token"], registerTokensGradient: gradients.optional("reg_token"),
                                       positionsGradient: positionsGradient, batch: a.batch, patches: a.patches,
                                       registers: config.regTokens, dim: d)
        if !stored {
            // forward succeeded on these activations, so the grid is reachable.
            guard let (rowResize, columnResize) = try? resizes(a) else { preconditionFailure("backward before a successful forward") }
            backend.resizeGridBackward(outputGradient: a.positionsGradient, inputGradient: gradients["pos_embed"], inputHeight: grid,
                                       inputWidth: grid, outputHeight: a.gridRows, outputWidth: a.gridColumns, dim: d,
                                       rows: rowResize, columns: columnResize)
        }
        backend.patchEmbedBackward(images: a.images, outputGradient: a.patchTokens, weightGradient: gradients["patch_embed.proj.weight"],
                                   biasGradient: gradients["patch_embed.proj.bias"], batch: a.batch, channels: 3,
                                   height: a.height, width: a.width, patch: config.patchSize, dim: d)
    }

    /// One block in reverse, `a.residualGradient` holding dL/d(block output) on entry and dL/d(block input) on exit.
    private func blockBackward(_ w: BlockParameters, _ g: BlockParameters, _ c: ViTTrainingActivations.Block, _ a: ViTTrainingActivations) {
        let d = config.embedDim, rows = a.rows, hidden = config.mlpHiddenFeatures, eps = config.normEps
        // MLP branch.
        backend.layerScaleResidualBackward(residualGradient: a.residualGradient, branch: c.mlpOutput, gamma: w.ls2,
                                           branchGradient: a.branchGradient, gammaGradient: g.ls2, rows: rows, dim: d)
        backend.linearBackward(input: c.activated, weight: w.fc2Weight, outputGradient: a.branchGradient, inputGradient: a.activatedGradient,
                               weightGradient: g.fc2Weight, biasGradient: g.fc2Bias, rows: rows,
                               inFeatures: config.mlpOutputInFeatures, outFeatures: d)
        switch config.mlpLayer {
        case .swigluPacked:
            backend.swiGLUBackward(input: c.hidden, outputGradient: a.activatedGradient, inputGradient: a.hiddenGradient,
                                   rows: rows, hidden: hidden / 2)
        case .gelu:
            backend.geluBackward(input: c.hidden, outputGradient: a.activatedGradient, inputGradient: a.hiddenGradient, count: rows * hidden)
        }
        backend.linearBackward(input: c.norm2, weight: w.fc1Weight, outputGradient: a.hiddenGradient, inputGradient: a.normGradient,
                               weightGradient: g.fc1Weight, biasGradient: g.fc1Bias, rows: rows, inFeatures: d, outFeatures: hidden)
        backend.layerNormBackward(input: c.middle, weight: w.norm2Weight, outputGradient: a.normGradient, inputGradient: a.residualGradient,
                                  weightGradient: g.norm2Weight, biasGradient: g.norm2Bias, rows: rows, dim: d, eps: eps)
        // Attention branch (normGradient holds dL/d(attention output), then dL/d(norm1 output)).
        backend.layerScaleResidualBackward(residualGradient: a.residualGradient, branch: c.projection, gamma: w.ls1,
                                           branchGradient: a.branchGradient, gammaGradient: g.ls1, rows: rows, dim: d)
        backend.linearBackward(input: c.attention, weight: w.projWeight, outputGradient: a.branchGradient, inputGradient: a.normGradient,
                               weightGradient: g.projWeight, biasGradient: g.projBias, rows: rows, inFeatures: d, outFeatures: d)
        backend.attentionBackward(qkv: c.qkv, outputGradient: a.normGradient, qkvGradient: a.qkvGradient, batch: a.batch,
                                  tokens: a.length, heads: config.numHeads, headDim: config.headDim)
        backend.linearBackward(input: c.norm1, weight: w.qkvWeight, outputGradient: a.qkvGradient, inputGradient: a.normGradient,
                               weightGradient: g.qkvWeight, biasGradient: g.qkvBias, rows: rows, inFeatures: d, outFeatures: 3 * d)
        backend.layerNormBackward(input: c.input, weight: w.norm1Weight, outputGradient: a.normGradient, inputGradient: a.residualGradient,
                                  weightGradient: g.norm1Weight, biasGradient: g.norm1Bias, rows: rows, dim: d, eps: eps)
    }
}
