import Compute
import Models

/// What one device training pass of a ViT keeps for its backward, for a fixed input `[batch, 3, height, width]`
/// (the device counterpart of `ViTTrainingActivations`; docs/cuda.md "The step on the device"). Rows = B·L, bf16
/// unless noted. Per block:
///
/// | saved | shape | read by the backward of |
/// |---|---|---|
/// | `input` (residual before the block, f32) | `[rows, D]` | `norm1` |
/// | `norm1` | `[rows, D]` | `attn.qkv` (dW) |
/// | `heads`: the `attn.qkv` output (fused attention), or q, k, v split (unfused) | `[rows, 3D]`, `[3, B, H, L, hd]` | the attention backward |
/// | `saved`: fused, each query row's log2-sum-exp2 (f32) | `[B·H, Lpad]` | the fused backward (P recomputed) |
/// | `saved`: unfused, the probabilities | `[B·H, L, Lpad]` | softmax backward, `dV = Pᵀ·dO` |
/// | `attention` (heads merged) | `[rows, D]` | `attn.proj` (dW) |
/// | `projection` (`attn.proj` output) | `[rows, D]` | `ls1` |
/// | `middle` (residual after attention, f32) | `[rows, D]` | `norm2` |
/// | `norm2` | `[rows, D]` | `mlp.fc1` (dW) |
/// | `hidden` (`mlp.fc1` output, before its bias) | `[rows, hidden]` | SwiGLU / GELU backward |
/// | `activated` | `[rows, hidden′]` | `mlp.fc2` (dW) |
/// | `mlpOutput` (`mlp.fc2` output) | `[rows, D]` | `ls2` |
///
/// plus the im2col columns (the patch GEMM's dW), the final residual (f32, the final norm's input), `x_norm` and
/// its gradient (f32), and, for a grid other than the stored one, the bicubic resampling matrix of `pos_embed`.
/// Transient buffers (qkv, scores, the backward's gradients) live in `CUDATrainingScratch`, shared by the passes.
final class CUDAViTTrainingActivations: @unchecked Sendable {
    /// What the attention backward reads besides `heads` and `attention`.
    enum SavedAttention {
        /// Fused: each query row's log2-sum-exp2 `[B·H, Lpad]` f32 (P recomputed by the backward).
        case logSumExp(Tensor)
        /// Unfused: the bf16 probabilities `[B·H, L, Lpad]`.
        case probabilities(Tensor)
    }

    struct Block {
        let input, norm1, heads, attention, projection, middle, norm2, hidden, activated, mlpOutput: Tensor
        let saved: SavedAttention
    }

    let config: ViTConfig
    let batch: Int
    let height: Int
    let width: Int
    /// Tokens per image (1 + R + patches), patches per image, the patch grid.
    let length: Int
    let patches: Int
    let gridRows: Int
    let gridColumns: Int
    /// `length` padded to 8 (score and probability rows, the fused attention's `lse` and δ rows), `3p²` padded to
    /// 8 (im2col rows).
    let paddedLength: Int
    /// Whether the attention runs fused (`FusedAttention.supports(headDim:)`).
    let fusedAttention: Bool
    let paddedPatchColumns: Int
    /// Normalised planar input `[B, 3, H, W]` f32.
    let images: Tensor
    /// im2col `[B·N, kpad]`.
    let columns: Tensor
    /// The patch GEMM's output `[B·N, D]`; its gradient in the backward.
    let patchTokens: Tensor
    /// `pos_embed` for this grid `[N, D]` f32 and its gradient (unused on the stored grid).
    let positions: Tensor
    let positionsGradient: Tensor
    let positionsGradientBF16: Tensor
    /// The bicubic resampling of the stored grid to this one as a matrix `R [N, N0]` (bf16): positions = R·pos_embed,
    /// dpos_embed += Rᵀ·dpositions. Nil on the stored grid.
    let resampling: Tensor?
    let blocks: [Block]
    /// The residual after the last block `[rows, D]` f32.
    let residual: Tensor
    /// `x_norm` `[B, L, D]` f32, and dL/d`x_norm` (the heads add into it).
    let output: Tensor
    let outputGradient: Tensor

    var rows: Int { batch * length }

    /// f32 elements of the attention scratch (`CUDATrainingScratch.scores`): the scores `[B·H, L, Lpad]`, or for the
    /// fused attention δ `[B·H, Lpad]`; and bf16 elements of dS (`scoreGradient`; none when fused).
    var scoreElements: Int { batch * config.numHeads * (fusedAttention ? 1 : length) * paddedLength }
    var scoreGradientElements: Int { fusedAttention ? 0 : scoreElements }

    init(config: ViTConfig, backend: CUDABackend, batch: Int, height: Int, width: Int) throws(CUDAError) {
        let p = config.patchSize
        guard batch > 0, height > 0, width > 0, height % p == 0, width % p == 0 else {
            throw .unsupported("\(config.name): input [\(batch), 3, \(height), \(width)] is not a positive multiple of patch \(p)")
        }
        self.config = config
        self.batch = batch
        self.height = height
        self.width = width
        gridRows = height / p
        gridColumns = width / p
        patches = gridRows * gridColumns
        length = config.prefixTokens + patches
        paddedLength = LaunchConfiguration.padded(length)
        paddedPatchColumns = LaunchConfiguration.padded(3 * p * p)
        fusedAttention = FusedAttention.supports(headDim: config.headDim)
        let d = config.embedDim, rows = batch * length, pairs = batch * config.numHeads
        func make(_ shape: [Int], _ dtype: DType = .bf16) throws(CUDAError) -> Tensor { try backend.makeTensor(shape: shape, dtype: dtype) }
        images = try make([batch, 3, height, width], .f32)
        columns = try make([batch * patches, paddedPatchColumns])
        patchTokens = try make([batch * patches, d])
        positions = try make([patches, d], .f32)
        positionsGradient = try make([patches, d], .f32)
        positionsGradientBF16 = try make([patches, d])
        var blocks: [Block] = []
        for _ in 0..<config.depth {
            blocks.append(Block(input: try make([rows, d], .f32), norm1: try make([rows, d]),
                                heads: try make(fusedAttention ? [rows, 3 * d] : [3, batch, config.numHeads, length, config.headDim]),
                                attention: try make([rows, d]), projection: try make([rows, d]), middle: try make([rows, d], .f32),
                                norm2: try make([rows, d]), hidden: try make([rows, config.mlpHiddenFeatures]),
                                activated: try make([rows, config.mlpOutputInFeatures]), mlpOutput: try make([rows, d]),
                                saved: fusedAttention ? .logSumExp(try make([pairs, paddedLength], .f32))
                                    : .probabilities(try make([pairs, length, paddedLength]))))
        }
        self.blocks = blocks
        residual = try make([rows, d], .f32)
        output = try make([batch, length, d], .f32)
        outputGradient = try make([batch, length, d], .f32)
        resampling = try Self.resampling(config: config, rows: gridRows, columns: gridColumns, backend: backend)
    }

    /// `R [N, N0]` with `R·pos_embed` = `CPUBackend.resizeGrid(pos_embed)` (the resize applied to the identity), in
    /// bf16 on the device; nil on the stored grid.
    /// - Throws: `CUDAError.unsupported` when the grid cannot be reached from the stored one.
    static func resampling(config: ViTConfig, rows: Int, columns: Int, backend: CUDABackend) throws(CUDAError) -> Tensor? {
        let grid = config.gridSize
        if rows == grid && columns == grid { return nil }
        let mode = config.posEmbedInterpolation
        let rowResize = mode.resize(stored: grid, target: rows), columnResize = mode.resize(stored: grid, target: columns)
        for (resize, target) in [(rowResize, rows), (columnResize, columns)] {
            if let factor = resize.scaleFactor, BicubicResize.outputSize(inputSize: grid, scaleFactor: factor) != target {
                throw .unsupported("\(config.name): a \(grid)×\(grid) pos_embed grid cannot be resampled to \(target) (scale factor \(factor))")
            }
        }
        let stored = grid * grid, host = CPUBackend(threads: 1)
        var identity = [Float](repeating: 0, count: stored * stored)
        for index in 0..<stored { identity[index * stored + index] = 1 }
        let input = Tensor(shape: [stored, stored], values: identity)
        let output = host.makeTensor(shape: [rows * columns, stored])
        host.resizeGrid(input: input, output: output, inputHeight: grid, inputWidth: grid, outputHeight: rows, outputWidth: columns,
                        dim: stored, rows: rowResize, columns: columnResize)
        let bits = host.download(output).map(DTypeConversion.bfloat16Bits)
        let matrix = try backend.makeTensor(shape: [rows * columns, stored], dtype: .bf16)
        try bits.withUnsafeBytes { bytes in Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: matrix) } }.get()
        return matrix
    }
}

/// The transient buffers of the device training passes, sized for the largest pass and shared by all of them
/// (one pass runs at a time): the forward's qkv, scores and per-head output, and the backward's gradients (what the
/// fused attention does not use — dS, the per-head output, dq/dk/dv — is one element).
final class CUDATrainingScratch: @unchecked Sendable {
    /// qkv `[rows, 3D]` (the forward's GEMM output; its gradient in the backward).
    let qkv: Tensor
    /// Scores `[B·H, L, Lpad]` f32 (the forward); dP in the backward; δ `[B·H, Lpad]` for the fused attention.
    let scores: Tensor
    /// dS `[B·H, L, Lpad]` bf16 (unfused).
    let scoreGradient: Tensor
    /// Per-head attention output `[B, H, L, hd]`; dO in the backward (unfused).
    let attended: Tensor
    /// dq, dk, dv `[3, B, H, L, hd]` (unfused).
    let headsGradient: Tensor
    /// The residual stream's gradient `[rows, D]` f32.
    let residualGradient: Tensor
    /// A branch's gradient and a LayerNorm output's (or the attention output's) gradient `[rows, D]`.
    let branchGradient: Tensor
    let normGradient: Tensor
    /// `fc1`'s output gradient `[rows, hidden]`, the activation's output gradient `[rows, hidden′]`.
    let hiddenGradient: Tensor
    let activatedGradient: Tensor
    /// Column-sum partials, f32 `[2·parts(rows)·widest]`.
    let partials: Tensor
    /// `patch_embed.proj.weight` as bf16 rows padded to kpad `[D, kpad]` (remade by every forward).
    let patchWeight: Tensor

    /// - Parameters: `scoreElements`, `scoreGradientElements`: the largest pass's (`CUDAViTTrainingActivations`);
    ///   `fusedAttention`: the passes' attention runs fused (`FusedAttention.supports(headDim:)`).
    init(config: ViTConfig, backend: CUDABackend, rows: Int, scoreElements: Int, scoreGradientElements: Int,
         fusedAttention: Bool) throws(CUDAError) {
        let d = config.embedDim
        func make(_ count: Int, _ dtype: DType = .bf16) throws(CUDAError) -> Tensor { try backend.makeTensor(shape: [count], dtype: dtype) }
        qkv = try make(rows * 3 * d)
        scores = try make(scoreElements, .f32)
        scoreGradient = try make(max(scoreGradientElements, 1))
        attended = try make(fusedAttention ? 1 : rows * d)
        headsGradient = try make(fusedAttention ? 1 : 3 * rows * d)
        residualGradient = try make(rows * d, .f32)
        branchGradient = try make(rows * d)
        normGradient = try make(rows * d)
        hiddenGradient = try make(rows * config.mlpHiddenFeatures)
        activatedGradient = try make(rows * config.mlpOutputInFeatures)
        let widest = max(3 * d, config.mlpHiddenFeatures, LaunchConfiguration.padded(3 * config.patchSize * config.patchSize))
        partials = try make(2 * LaunchConfiguration.parts(rows: rows) * widest, .f32)
        patchWeight = try make(d * LaunchConfiguration.padded(3 * config.patchSize * config.patchSize))
    }
}
