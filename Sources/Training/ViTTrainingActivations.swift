import Compute
import Models

/// Everything one training forward pass of a ViT keeps for its backward pass, for a fixed input size `[batch, 3,
/// height, width]`, plus the backward's scratch gradients (llm.c style: allocated once, overwritten by every
/// step). Rows are `B·L` tokens, L = 1 + R + patches. Per block (docs/training.md has the memory per step):
///
/// | cache | shape | used by the backward of |
/// |---|---|---|
/// | `input` (residual before the block) | `[B·L, D]` | `norm1` (μ, 1/σ recomputed) |
/// | `norm1` | `[B·L, D]` | `attn.qkv` (weight gradient) |
/// | `qkv` | `[B·L, 3D]` | attention (probabilities recomputed) |
/// | `attention` | `[B·L, D]` | `attn.proj` |
/// | `projection` (`attn.proj` output) | `[B·L, D]` | `ls1` |
/// | `middle` (residual after the attention branch) | `[B·L, D]` | `norm2` |
/// | `norm2` | `[B·L, D]` | `mlp.fc1` |
/// | `hidden` (`mlp.fc1` output) | `[B·L, H]` | SwiGLU / GELU |
/// | `activated` (SwiGLU or GELU output) | `[B·L, H']` | `mlp.fc2` |
/// | `mlpOutput` (`mlp.fc2` output) | `[B·L, D]` | `ls2` |
///
/// Not shareable between concurrent passes.
public final class ViTTrainingActivations {
    /// One block's cached tensors (see the table above).
    struct Block {
        let input, norm1, qkv, attention, projection, middle, norm2, hidden, activated, mlpOutput: Tensor
    }

    public let config: ViTConfig
    public let batch: Int
    public let height: Int
    public let width: Int
    /// Tokens per image: 1 + R + patches.
    public let length: Int
    /// Patch grid rows and columns.
    public let gridRows: Int
    public let gridColumns: Int
    /// Model input `[B, 3, H, W]` (filled by `ViTTraining.normalize`, or by the caller).
    public let images: Tensor
    /// The patch embedding's output `[B·N, D]` in the forward; its gradient in the backward.
    let patchTokens: Tensor
    /// The resampled positional embedding `[N, D]` (grids other than the stored one) and its gradient.
    let positions: Tensor
    let positionsGradient: Tensor
    let blocks: [Block]
    /// The residual stream after the last block, `[B·L, D]` (the final norm's input).
    let residual: Tensor
    /// `x_norm` `[B, L, D]`: CLS at 0, registers at 1…R, patches after.
    public let output: Tensor
    /// dL/d`x_norm` `[B, L, D]`, read by `ViTTraining.backward`: the caller zeroes it and adds the heads' (and
    /// feature losses') gradients (`Backend.selectTokensBackward`, `DINOHead.backward`).
    public let outputGradient: Tensor
    /// Backward scratch: the residual stream's gradient, a LayerNorm output's or the attention output's
    /// gradient, a branch's, qkv's, `fc1`'s output's and the activation's output's.
    let residualGradient, normGradient, branchGradient, qkvGradient, hiddenGradient, activatedGradient: Tensor

    /// Rows of every `[B·L, ·]` buffer.
    public var rows: Int { batch * length }
    /// Patches per image.
    public var patches: Int { gridRows * gridColumns }

    /// Buffers for `config` and inputs `[batch, 3, height, width]`.
    /// - Precondition: sizes ≥ 1 (checked again, as errors, by `forward`).
    init(config: ViTConfig, backend: any Backend, batch: Int, height: Int, width: Int) {
        self.config = config
        self.batch = batch
        self.height = height
        self.width = width
        gridRows = height / config.patchSize
        gridColumns = width / config.patchSize
        let patches = gridRows * gridColumns
        length = config.prefixTokens + patches
        let rows = batch * length
        let d = config.embedDim, hidden = config.mlpHiddenFeatures, activatedWidth = config.mlpOutputInFeatures
        func make(_ shape: [Int]) -> Tensor { backend.makeTensor(shape: shape) }
        images = make([batch, 3, height, width])
        patchTokens = make([batch * patches, d])
        positions = make([patches, d])
        positionsGradient = make([patches, d])
        blocks = (0..<config.depth).map { _ in
            Block(input: make([rows, d]), norm1: make([rows, d]), qkv: make([rows, 3 * d]), attention: make([rows, d]),
                  projection: make([rows, d]), middle: make([rows, d]), norm2: make([rows, d]), hidden: make([rows, hidden]),
                  activated: make([rows, activatedWidth]), mlpOutput: make([rows, d]))
        }
        residual = make([rows, d])
        output = make([batch, length, d])
        outputGradient = make([batch, length, d])
        residualGradient = make([rows, d])
        normGradient = make([rows, d])
        branchGradient = make([rows, d])
        qkvGradient = make([rows, 3 * d])
        hiddenGradient = make([rows, hidden])
        activatedGradient = make([rows, activatedWidth])
    }
}
