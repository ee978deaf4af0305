extension CUDAKernelSource {
    /// The non-GEMM parts of attention's backward (`Backend.attentionBackward`); the GEMMs are cuBLASLt strided
    /// batched matmuls over the B·H (image, head) pairs: `dV = Pᵀ·dO`, `dP = dO·Vᵀ` (f32 rows of `ld`),
    /// `dQ = α·dS·K`, `dK = α·dSᵀ·Q` (α = 1/√headDim, as the forward's scores GEMM):
    ///
    /// - `merge_heads_backward`: `dout [B, L, H·hd]` (the `proj` input's gradient) → `[B, H, L, hd]`, the inverse
    ///   permutation of `merge_heads`;
    /// - `softmax_backward_rows`: `dS[r, j] = scale·P[r, j]·(dP[r, j] − Σ_j P[r, j]·dP[r, j])` over the first
    ///   `columns` of each row (P: the forward's bf16 probabilities; the dot in f32), padding columns 0; one warp
    ///   per row (`LaunchConfiguration.softmax`), `scale` the forward's `softmax_rows` scale;
    /// - `qkv_split_backward`: `dq`, `dk`, `dv` `[B, H, L, hd]` → `dqkv [B, L, 3, H, hd]`, the inverse of
    ///   `qkv_split` (the `attn.qkv` output's gradient). One block per token row (`LaunchConfiguration.rowLoop`).
    public static let attentionBackward = CUDAKernelSource(
        file: "attention_backward.cu",
        kernels: ["merge_heads_backward", "softmax_backward_rows", "qkv_split_backward"],
        code: #"""
extern "C" __global__ void merge_heads_backward(const bf16_t* __restrict__ dout, bf16_t* __restrict__ dheads,
                                                int batch, int tokens, int heads, int head_dim) {
    const int row = blockIdx.x;
    if (row >= batch * tokens) return;
    const int b = row / tokens, t = row - b * tokens, dim = heads * head_dim;
    const bf16_t* source = dout + (long long)row * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        const int h = c / head_dim, e = c - h * head_dim;
        dheads[(((long long)b * heads + h) * tokens + t) * head_dim + e] = source[c];
    }
}

extern "C" __global__ void softmax_backward_rows(const bf16_t* __restrict__ probs, const float* __restrict__ dprobs,
                                                 bf16_t* __restrict__ dscores, long long rows, int columns, int ld,
                                                 float scale) {
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const bf16_t* p = probs + row * ld;
    const float* dp = dprobs + row * ld;
    bf16_t* ds = dscores + row * ld;
    float dot = 0.0f;
    for (int j = lane; j < columns; j += 32) dot += bf16_to_f32(p[j]) * dp[j];
    dot = warp_sum(dot);
    for (int j = lane; j < columns; j += 32) ds[j] = f32_to_bf16(scale * bf16_to_f32(p[j]) * (dp[j] - dot));
    for (int j = columns + lane; j < ld; j += 32) ds[j] = 0;
}

extern "C" __global__ void qkv_split_backward(const bf16_t* __restrict__ dq, const bf16_t* __restrict__ dk,
                                              const bf16_t* __restrict__ dv, bf16_t* __restrict__ dqkv,
                                              int batch, int tokens, int heads, int head_dim) {
    const int row = blockIdx.x;
    if (row >= batch * tokens) return;
    const int b = row / tokens, t = row - b * tokens, dim = heads * head_dim;
    bf16_t* target = dqkv + (long long)row * 3 * dim;
    for (int c = threadIdx.x; c < 3 * dim; c += blockDim.x) {
        const int s = c / dim, r = c - s * dim, h = r / head_dim, e = r - h * head_dim;
        const bf16_t* source = s == 0 ? dq : (s == 1 ? dk : dv);
        target[c] = source[(((long long)b * heads + h) * tokens + t) * head_dim + e];
    }
}
"""#)
}
