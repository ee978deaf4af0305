import Compute

/// The reusable activation buffers of one ViT forward pass for a fixed input size `[batch, 3, height, width]`
/// (llm.c style: allocated once, overwritten by every pass). Not shareable between concurrent passes: one
/// caller uses one `ViTActivations` at a time.
public final class ViTActivations {
    /// The architecture the buffers are sized for.
    public let config: ViTConfig
    public let batch: Int
    public let height: Int
    public let width: Int
    /// Tokens per image: 1 + R + patches.
    public let length: Int
    /// Model input `[B, 3, H, W]` (filled by `ViT.normalize`, or by the caller).
    public let images: Tensor
    /// Positional embedding for this grid, `[patches, D]` (resampled once per buffer set when the grid differs
    /// from the stored one).
    let positions: Tensor
    /// The residual stream `x`, `[B·L, D]`.
    let residual: Tensor
    /// LayerNorm output, also the patch tokens before assembly and the attention output, `[B·L, D]`.
    let normed: Tensor
    /// `attn.qkv` output `[B·L, 3D]`.
    let qkv: Tensor
    /// Branch output before LayerScale (`attn.proj` or `mlp.fc2`), `[B·L, D]`.
    let branch: Tensor
    /// `mlp.fc1` output `[B·L, hidden]`.
    let hidden: Tensor
    /// SwiGLU output `[B·L, hidden/2]` (SwiGLU models only).
    let gated: Tensor?
    /// The final `x_norm`, `[B, L, D]`.
    public let output: Tensor
    /// The parameter storage whose `pos_embed` `positions` holds resampled (kept alive, so the identity cannot be
    /// reused); nil before the first pass at a resampled size.
    var positionsSource: TensorStorage?

    init(config: ViTConfig, backend: any Backend, batch: Int, height: Int, width: Int) {
        self.config = config
        self.batch = batch
        self.height = height
        self.width = width
        let patches = (height / config.patchSize) * (width / config.patchSize)
        let length = config.prefixTokens + patches
        self.length = length
        let rows = batch * length
        let d = config.embedDim
        images = backend.makeTensor(shape: [batch, 3, height, width])
        positions = backend.makeTensor(shape: [patches, d])
        residual = backend.makeTensor(shape: [rows, d])
        normed = backend.makeTensor(shape: [rows, d])
        qkv = backend.makeTensor(shape: [rows, 3 * d])
        branch = backend.makeTensor(shape: [rows, d])
        hidden = backend.makeTensor(shape: [rows, config.mlpHiddenFeatures])
        gated = config.mlpLayer == .swigluPacked ? backend.makeTensor(shape: [rows, config.mlpOutputInFeatures]) : nil
        output = backend.makeTensor(shape: [batch, length, d])
    }
}
