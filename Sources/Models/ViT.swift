import Compute

/// A Vision Transformer of the timm/DINOv2 family (ViT-B/14 H0-mini, ViT-g/14 H-optimus-0, and small test
/// models), forward pass in the order of distillation-spec.md §2.2, written once against `Backend`:
///
/// 1. patch embedding (`Conv2d(3, D, p, p)` as im2col + GEMM) → `[B, N, D]`
/// 2. `+ pos_embed` (resampled with `config.posEmbedInterpolation` when the grid is not the stored one), then
///    `[cls, registers…, patches]` → `x` `[B, L, D]`, L = 1 + R + N
/// 3. per block: `x += ls1 ⊙ proj(attn(norm1(x)))`; `x += ls2 ⊙ fc2(act(fc1(norm2(x))))`, act = packed SwiGLU
///    (gate = first half) or exact GELU
/// 4. `x_norm = norm(x)` → `[B, L, D]`: CLS at 0, registers at 1…R, patches after (timm `forward_features`).
///
/// Immutable and Sendable; each concurrent caller brings its own `ViTActivations`.
public struct ViT: Sendable {
    public let config: ViTConfig
    public let parameters: ViTParameters
    public let backend: any Backend
    private let blocks: [Block]

    /// Per-block parameter views, resolved once.
    struct Block: Sendable {
        let norm1Weight, norm1Bias, qkvWeight, projWeight, projBias, norm2Weight, norm2Bias: Tensor
        let fc1Weight, fc1Bias, fc2Weight, fc2Bias: Tensor
        let qkvBias, ls1, ls2: Tensor?
    }

    /// A model over `parameters` (which must have `config`'s layout) running on `backend`.
    /// - Precondition: `parameters.layout == ParameterLayout(config: config)`.
    public init(config: ViTConfig, parameters: ViTParameters, backend: any Backend) {
        precondition(parameters.layout == ParameterLayout(config: config), "parameters do not have \(config.name)'s layout")
        self.config = config
        self.parameters = parameters
        self.backend = backend
        blocks = (0..<config.depth).map { index in
            let prefix = "blocks.\(index)."
            return Block(norm1Weight: parameters[prefix + "norm1.weight"], norm1Bias: parameters[prefix + "norm1.bias"],
                         qkvWeight: parameters[prefix + "attn.qkv.weight"], projWeight: parameters[prefix + "attn.proj.weight"],
                         projBias: parameters[prefix + "attn.proj.bias"], norm2Weight: parameters[prefix + "norm2.weight"],
                         norm2Bias: parameters[prefix + "norm2.bias"], fc1Weight: parameters[prefix + "mlp.fc1.weight"],
                         fc1Bias: parameters[prefix + "mlp.fc1.bias"], fc2Weight: parameters[prefix + "mlp.fc2.weight"],
                         fc2Bias: parameters[prefix + "mlp.fc2.bias"], qkvBias: parameters.optional(prefix + "attn.qkv.bias"),
                         ls1: parameters.optional(prefix + "ls1.gamma"), ls2: parameters.optional(prefix + "ls2.gamma"))
        }
    }

    /// Loads `config` with weights from a safetensors checkpoint (timm or DINOv2 layout, strict).
    /// - Throws: as `ViTCheckpoint.load`.
    public init(config: ViTConfig, checkpoint path: String, backend: any Backend) throws {
        self.init(config: config, parameters: try ViTCheckpoint.load(path: path, config: config, backend: backend), backend: backend)
    }

    /// Buffers for inputs of `[batch, 3, height, width]`.
    public func makeActivations(batch: Int, height: Int, width: Int) -> ViTActivations {
        ViTActivations(config: config, backend: backend, batch: batch, height: height, width: width)
    }

    /// Fills `activations.images` from RGB8 pixels `[B, H, W, 3]` with `config.normalization`.
    /// - Precondition: `pixels.count == B·H·W·3` for the activations' size.
    public func normalize(pixels: UnsafeBufferPointer<UInt8>, into activations: ViTActivations) {
        precondition(pixels.count == activations.batch * activations.height * activations.width * 3,
                     "\(pixels.count) bytes for \(activations.batch) images of \(activations.height)×\(activations.width)")
        backend.normalizeImages(pixels: pixels, normalization: config.normalization, output: activations.images,
                                batch: activations.batch, height: activations.height, width: activations.width)
    }

    /// The forward pass on `activations.images`.
    /// - Returns: `x_norm` `[B, L, D]` (`activations.output`, overwritten by the next pass with these activations).
    /// - Throws: `ViTError.badInputShape` (size not a multiple of the patch), `.activationsMismatch` (buffers of
    ///   another architecture), `.unreachableGrid`.
    @discardableResult
    public func forward(_ activations: ViTActivations) throws(ViTError) -> Tensor {
        guard activations.config == config else {
            throw .activationsMismatch(model: config.name, activationsModel: activations.config.name)
        }
        let b = activations.batch, height = activations.height, width = activations.width
        let p = config.patchSize, d = config.embedDim
        guard b > 0, height > 0, width > 0, height % p == 0, width % p == 0 else {
            throw .badInputShape(model: config.name, shape: [b, 3, height, width], patchSize: p)
        }
        let rowsOfGrid = height / p, columnsOfGrid = width / p
        let patches = rowsOfGrid * columnsOfGrid
        let length = activations.length
        let rows = b * length

        backend.patchEmbed(images: activations.images, weight: parameters["patch_embed.proj.weight"],
                           bias: parameters["patch_embed.proj.bias"], output: activations.normed,
                           batch: b, channels: 3, height: height, width: width, patch: p, dim: d)
        let positions = try positionalEmbedding(rows: rowsOfGrid, columns: columnsOfGrid, activations: activations)
        backend.assembleTokens(patchTokens: activations.normed, classToken: parameters["cls_token"],
                               registerTokens: parameters.optional("reg_token") ?? parameters["cls_token"],
                               positions: positions, output: activations.residual, batch: b, patches: patches,
                               registers: config.regTokens, dim: d)
        for block in blocks {
            attentionBranch(block, activations, rows: rows)
            mlpBranch(block, activations, rows: rows)
        }
        backend.layerNorm(input: activations.residual, weight: parameters["norm.weight"], bias: parameters["norm.bias"],
                          output: activations.output, rows: rows, dim: d, eps: config.normEps)
        return activations.output
    }

    /// `x += ls1 ⊙ proj(attn(norm1(x)))`.
    private func attentionBranch(_ block: Block, _ a: ViTActivations, rows: Int) {
        let d = config.embedDim
        backend.layerNorm(input: a.residual, weight: block.norm1Weight, bias: block.norm1Bias, output: a.normed,
                          rows: rows, dim: d, eps: config.normEps)
        backend.linear(input: a.normed, weight: block.qkvWeight, bias: block.qkvBias, output: a.qkv,
                       rows: rows, inFeatures: d, outFeatures: 3 * d)
        backend.attention(qkv: a.qkv, output: a.normed, batch: a.batch, tokens: a.length, heads: config.numHeads,
                          headDim: config.headDim)
        backend.linear(input: a.normed, weight: block.projWeight, bias: block.projBias, output: a.branch,
                       rows: rows, inFeatures: d, outFeatures: d)
        backend.layerScaleResidual(residual: a.residual, branch: a.branch, gamma: block.ls1, rows: rows, dim: d)
    }

    /// `x += ls2 ⊙ fc2(act(fc1(norm2(x))))`.
    private func mlpBranch(_ block: Block, _ a: ViTActivations, rows: Int) {
        let d = config.embedDim, hidden = config.mlpHiddenFeatures
        backend.layerNorm(input: a.residual, weight: block.norm2Weight, bias: block.norm2Bias, output: a.normed,
                          rows: rows, dim: d, eps: config.normEps)
        backend.linear(input: a.normed, weight: block.fc1Weight, bias: block.fc1Bias, output: a.hidden,
                       rows: rows, inFeatures: d, outFeatures: hidden)
        let activated: Tensor
        switch config.mlpLayer {
        case .swigluPacked:
            activated = a.gated!
            backend.swiGLU(input: a.hidden, output: activated, rows: rows, hidden: hidden / 2)
        case .gelu:
            activated = a.hidden
            backend.gelu(input: a.hidden, output: a.hidden, count: rows * hidden)
        }
        backend.linear(input: activated, weight: block.fc2Weight, bias: block.fc2Bias, output: a.branch,
                       rows: rows, inFeatures: config.mlpOutputInFeatures, outFeatures: d)
        backend.layerScaleResidual(residual: a.residual, branch: a.branch, gamma: block.ls2, rows: rows, dim: d)
    }

    /// `pos_embed` as `[rows·columns, D]`: the stored grid itself, or its resampling into `activations.positions`
    /// (done once per activations and parameters).
    private func positionalEmbedding(rows: Int, columns: Int, activations: ViTActivations) throws(ViTError) -> Tensor {
        let grid = config.gridSize
        let stored = parameters["pos_embed"]
        if rows == grid && columns == grid { return stored.reshaped([grid * grid, config.embedDim]) }
        if activations.positionsSource !== parameters.flat.storage {
            let mode = config.posEmbedInterpolation
            let rowResize = mode.resize(stored: grid, target: rows)
            let columnResize = mode.resize(stored: grid, target: columns)
            for (resize, target) in [(rowResize, rows), (columnResize, columns)] {
                if let factor = resize.scaleFactor, BicubicResize.outputSize(inputSize: grid, scaleFactor: factor) != target {
                    throw .unreachableGrid(model: config.name, stored: grid, target: target)
                }
            }
            backend.resizeGrid(input: stored, output: activations.positions, inputHeight: grid, inputWidth: grid,
                               outputHeight: rows, outputWidth: columns, dim: config.embedDim, rows: rowResize,
                               columns: columnResize)
            activations.positionsSource = parameters.flat.storage
        }
        return activations.positions
    }

    /// Pools `x_norm` (from `forward`) into embeddings `[B, pooling.width(D)]`, a new tensor.
    public func pool(_ tokens: Tensor, pooling: Pooling, activations: ViTActivations) -> Tensor {
        let output = backend.makeTensor(shape: [activations.batch, pooling.width(dim: config.embedDim)])
        backend.pool(tokens: tokens, output: output, pooling: pooling, batch: activations.batch, length: activations.length,
                     prefixTokens: config.prefixTokens, dim: config.embedDim)
        return output
    }

    /// Embeddings of RGB8 images `[B, H, W, 3]`: normalise, forward, pool; the host values `[B, width]` row-major.
    /// - Throws: as `forward`.
    public func embed(pixels: UnsafeBufferPointer<UInt8>, pooling: Pooling, activations: ViTActivations) throws(ViTError) -> [Float] {
        normalize(pixels: pixels, into: activations)
        let tokens = try forward(activations)
        return backend.download(pool(tokens, pooling: pooling, activations: activations))
    }
}
