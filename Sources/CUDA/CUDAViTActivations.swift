import Compute
import Models

/// The device buffers of one CUDA ViT forward for a fixed input `[batch, 3, height, width]`, allocated once from the
/// backend's pool and overwritten by every pass (as `ViTActivations` on the CPU). bf16 unless noted; rows = B·L.
/// One pass at a time per activations.
public final class CUDAViTActivations: @unchecked Sendable {
    public let config: ViTConfig
    public let batch: Int
    public let height: Int
    public let width: Int
    /// Tokens per image, 1 + R + patches.
    public let length: Int
    /// Patches per image.
    public let patches: Int
    /// Key count padded to 8: the leading dimension of the score and probability rows.
    let paddedLength: Int
    /// Patch columns per row padded to 8 (`3·p²` → 592 for p = 14).
    let paddedPatchColumns: Int

    /// RGB8 input `[B, H, W, 3]` (bytes).
    let pixels: TensorStorage
    /// Normalised planar input `[B, 3, H, W]` f32 (the other input form).
    public let images: Tensor
    /// im2col output `[B·N, kpad]`.
    let columns: Tensor
    /// Patch tokens after the patch GEMM (bias included) `[B·N, D]`.
    let patchTokens: Tensor
    /// Positional embedding for this grid `[N, D]` f32 (resampled on the host when the grid differs).
    var positions: Tensor?
    /// Residual stream `[rows, D]` f32.
    let residual: Tensor
    /// LayerNorm output, reused as the merged attention output `[rows, D]`.
    let normed: Tensor
    /// `attn.qkv` output `[rows, 3D]`.
    let qkv: Tensor
    /// The unfused attention's buffers; nil when `FusedAttention` serves the head dim (it needs none).
    let unfused: UnfusedAttention?
    /// Branch output (`attn.proj`, `mlp.fc2`) `[rows, D]`.
    let branch: Tensor
    /// `mlp.fc1` output `[rows, hidden]`.
    let hidden: Tensor
    /// SwiGLU output `[rows, hidden/2]` (SwiGLU models).
    let gated: Tensor?
    /// `x_norm` `[B, L, D]` f32.
    public let output: Tensor

    /// The buffers of the unfused attention (`qkv_split`, two strided batched GEMMs, `softmax_rows`, `merge_heads`).
    struct UnfusedAttention {
        /// q, k, v `[B, H, L, hd]` each (one buffer of three).
        let heads: Tensor
        /// Scores `[B·H, L, Lpad]` f32.
        let scores: Tensor
        /// Probabilities `[B·H, L, Lpad]`.
        let probabilities: Tensor
        /// Attention output per head `[B, H, L, hd]`.
        let attended: Tensor
    }

    /// The two input forms of a pass: RGB8 pixels normalised on the device, planar f32 images.
    enum Input: Hashable, Sendable { case rgb8, f32 }
    /// The pass per input form as a `CUDAGraphedPass` (`CUDAViTForward`, docs/cuda.md "CUDA graphs").
    let passes: [Input: CUDAGraphedPass] = [.rgb8: CUDAGraphedPass(), .f32: CUDAGraphedPass()]
    /// Why capturing a pass failed, when it did: that form's passes then stay call by call (`distill cuda parity`
    /// reports it).
    public var graphFailure: String? { passes.values.lazy.compactMap(\.failure).first }

    init(config: ViTConfig, backend: CUDABackend, batch: Int, height: Int, width: Int) throws(CUDAError) {
        guard batch > 0, height > 0, width > 0, height % config.patchSize == 0, width % config.patchSize == 0 else {
            throw .unsupported("\(config.name): input [\(batch), 3, \(height), \(width)] is not a positive multiple of patch \(config.patchSize)")
        }
        self.config = config
        self.batch = batch
        self.height = height
        self.width = width
        let p = config.patchSize, d = config.embedDim
        patches = (height / p) * (width / p)
        length = config.prefixTokens + patches
        paddedLength = LaunchConfiguration.padded(length)
        paddedPatchColumns = LaunchConfiguration.padded(3 * p * p)
        let rows = batch * length, pairs = batch * config.numHeads
        pixels = try backend.pool.storage(bytes: batch * height * width * 3)
        images = try backend.makeTensor(shape: [batch, 3, height, width], dtype: .f32)
        columns = try backend.makeTensor(shape: [batch * patches, paddedPatchColumns], dtype: .bf16)
        patchTokens = try backend.makeTensor(shape: [batch * patches, d], dtype: .bf16)
        residual = try backend.makeTensor(shape: [rows, d], dtype: .f32)
        normed = try backend.makeTensor(shape: [rows, d], dtype: .bf16)
        qkv = try backend.makeTensor(shape: [rows, 3 * d], dtype: .bf16)
        unfused = FusedAttention.supports(headDim: config.headDim) ? nil : UnfusedAttention(
            heads: try backend.makeTensor(shape: [3, batch, config.numHeads, length, config.headDim], dtype: .bf16),
            scores: try backend.makeTensor(shape: [pairs, length, paddedLength], dtype: .f32),
            probabilities: try backend.makeTensor(shape: [pairs, length, paddedLength], dtype: .bf16),
            attended: try backend.makeTensor(shape: [batch, config.numHeads, length, config.headDim], dtype: .bf16))
        branch = try backend.makeTensor(shape: [rows, d], dtype: .bf16)
        hidden = try backend.makeTensor(shape: [rows, config.mlpHiddenFeatures], dtype: .bf16)
        gated = config.mlpLayer == .swigluPacked
            ? try backend.makeTensor(shape: [rows, config.mlpOutputInFeatures], dtype: .bf16) : nil
        output = try backend.makeTensor(shape: [batch, length, d], dtype: .f32)
    }

    /// Every buffer a pass writes, for poisoning.
    var written: [Tensor] {
        [columns, patchTokens, residual, normed, qkv, branch, hidden, output] + (gated.map { [$0] } ?? [])
            + (unfused.map { [$0.heads, $0.scores, $0.probabilities, $0.attended] } ?? [])
    }
}
