import Compute

/// The fused attention kernels (docs/cuda.md, "Fused attention"): the forward `attention_fused_hd32` /
/// `attention_fused_hd64` (attention.cu) — `qkv [B, L, 3, H, hd]` → merged `[B, L, H·hd]` in one kernel,
/// FlashAttention-2's online softmax on the tensor cores, the `[B·H, L, L]` scores never in memory — in place of
/// `qkv_split`, two strided batched GEMMs, `softmax_rows` and `merge_heads`; and, for training, its backward
/// (`attention_backward_delta`, `attention_backward_dq_hd*`, `attention_backward_dkdv_hd*` in attention_backward.cu:
/// FlashAttention-2's backward, P recomputed from each query row's saved log-sum-exp), in place of the unfused
/// backward's four GEMMs, `softmax_backward_rows` and the two permutations. Head dims 32 and 64; other head dims,
/// or `DISTILL_CUDA_ATTENTION=unfused` (for comparisons), take the unfused path in both directions.
enum FusedAttention {
    /// Query rows (and keys) per tile: one block per (image, head, 64 query rows) — or 64 key rows for dK/dV.
    static let tile = 64
    /// Threads per block: 4 warps of 16 rows.
    static let threads = 128

    /// Whether `DISTILL_CUDA_ATTENTION=unfused` asks for the unfused path (for comparisons), read once.
    static let disabled = DynamicLibrary.environment("DISTILL_CUDA_ATTENTION") == "unfused"

    /// Whether a fused kernel serves `headDim` (32: `attention_fused_hd32`, 64: `attention_fused_hd64`); else the
    /// unfused path.
    static func supports(headDim: Int) -> Bool {
        !disabled && (headDim == 32 || headDim == 64)
    }

    /// Grid `⌈tokens / 64⌉ · pairs` (query or key tile fastest), block 128.
    static func launch(tokens: Int, pairs: Int) -> LaunchConfiguration {
        LaunchConfiguration(gridX: (tokens + tile - 1) / tile * pairs, blockX: threads)
    }

    /// The kernels' scale: log2(e)/√hd (the softmax runs on exp2).
    static func scaleLog2(headDim: Int) -> Float {
        Float(1.4426950408889634 / Double(headDim).squareRoot())
    }

    /// The forward: `output [B·L, H·hd]` (bf16) = softmax(Q·Kᵀ/√hd)·V from `qkv [B·L, 3·H·hd]` (bf16); with `lse`
    /// (training: f32 `[B·H, lseStride]`, lseStride ≥ L), each query row's `log2 Σ_j exp2(s_ij·log2(e)/√hd)` for the
    /// backward. `headDim` must be supported (`supports(headDim:)`).
    /// - Throws: `CUDAError` from the launch.
    static func forward(_ backend: CUDABackend, qkv: Tensor, output: Tensor, lse: Tensor?, lseStride: Int, batch: Int, tokens: Int,
                        heads: Int, headDim: Int) throws(CUDAError) {
        try backend.launch(headDim == 32 ? "attention_fused_hd32" : "attention_fused_hd64", launch(tokens: tokens, pairs: batch * heads), [
            .pointer(qkv.address), .pointer(output.address), .pointer(lse?.address ?? 0), .int(lseStride), .int(tokens), .int(heads),
            .float(scaleLog2(headDim: headDim)),
        ])
    }

    /// The backward of `forward` (with its `lse`): `qkvGradient [B·L, 3·H·hd]` (bf16, every element written) from
    /// `outputGradient` = dL/d`output` `[B·L, H·hd]` (bf16), the forward's `qkv`, `output` and `lse`; `delta` is f32
    /// scratch `[B·H, stride]` (δ = rowsum(dO ⊙ O)). `stride` is `lse`'s, a multiple of 4 (16-byte copies) and ≥ L.
    /// - Throws: `CUDAError` from the launches.
    static func backward(_ backend: CUDABackend, qkv: Tensor, output: Tensor, outputGradient: Tensor, lse: Tensor, delta: Tensor,
                         stride: Int, qkvGradient: Tensor, batch: Int, tokens: Int, heads: Int, headDim: Int) throws(CUDAError) {
        precondition(stride % 4 == 0 && stride >= tokens, "lse stride \(stride) for \(tokens) tokens")
        try backend.launch("attention_backward_delta", .elementwise(count: batch * tokens * heads), [
            .pointer(outputGradient.address), .pointer(output.address), .pointer(delta.address), .int(batch), .int(tokens), .int(heads),
            .int(headDim), .int(stride),
        ])
        let arguments: [KernelArgument] = [
            .pointer(qkv.address), .pointer(outputGradient.address), .pointer(lse.address), .pointer(delta.address), .int(stride),
            .pointer(qkvGradient.address), .int(tokens), .int(heads), .float(scaleLog2(headDim: headDim)),
            .float(Float(1 / Double(headDim).squareRoot())),
        ]
        let geometry = launch(tokens: tokens, pairs: batch * heads)
        try backend.launch(headDim == 32 ? "attention_backward_dq_hd32" : "attention_backward_dq_hd64", geometry, arguments)
        try backend.launch(headDim == 32 ? "attention_backward_dkdv_hd32" : "attention_backward_dkdv_hd64", geometry, arguments)
    }
}
