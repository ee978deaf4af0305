/// The fused attention forward of `CUDAViTForward` (`attention_fused_hd32`, `attention_fused_hd64` in
/// attention.cu): `qkv [B, L, 3, H, hd]` → merged `[B, L, H·hd]` in one kernel, FlashAttention-2's online softmax
/// on the tensor cores, the `[B·H, L, L]` scores never in memory — in place of `qkv_split`, two strided batched
/// GEMMs, `softmax_rows` and `merge_heads` (docs/cuda.md, "Fused attention"). The training forward keeps the
/// unfused path: its backward reads the probabilities.
enum FusedAttention {
    /// Query rows (and keys) per tile: one block per (image, head, 64 query rows).
    static let tile = 64
    /// Threads per block: 4 warps of 16 query rows.
    static let threads = 128

    /// Whether `DISTILL_CUDA_ATTENTION=unfused` asks for the unfused path (for comparisons), read once.
    static let disabled = DynamicLibrary.environment("DISTILL_CUDA_ATTENTION") == "unfused"

    /// Whether a fused kernel serves `headDim` (32: `attention_fused_hd32`, 64: `attention_fused_hd64`); else the
    /// unfused path.
    static func supports(headDim: Int) -> Bool {
        !disabled && (headDim == 32 || headDim == 64)
    }

    /// Grid `⌈tokens / 64⌉ · pairs` (query tile fastest), block 128.
    static func launch(tokens: Int, pairs: Int) -> LaunchConfiguration {
        LaunchConfiguration(gridX: (tokens + tile - 1) / tile * pairs, blockX: threads)
    }

    /// The kernels' scale: log2(e)/√hd (the softmax runs on exp2).
    static func scaleLog2(headDim: Int) -> Float {
        Float(1.4426950408889634 / Double(headDim).squareRoot())
    }
}
