extension CUDAKernelSource {
    /// The non-GEMM parts of multi-head self-attention (`qkv_split`, `merge_heads`: one block per token row,
    /// `LaunchConfiguration.rowLoop`) (the GEMMs `S = α·Q·Kᵀ` and `O = P·V` are cuBLASLt strided
    /// batched matmuls over the B·H (image, head) pairs; α = 1/√headDim):
    ///
    /// - `qkv_split`: `qkv [B, L, 3, H, hd]` (the `attn.qkv` output) → `q`, `k`, `v` each `[B, H, L, hd]`, so every
    ///   (image, head) matrix is contiguous and one batch stride covers them all;
    /// - `softmax_rows`: `P[r, j] = exp(S[r, j] − max_r) / Σ_j exp(S[r, j] − max_r)` over the first `columns` of each
    ///   f32 row of `ld` (the padded key count), written as bf16; the padding columns get 0. One warp per row.
    /// - `merge_heads`: `O [B, H, L, hd]` → `[B, L, H·hd]` (timm's `transpose(1, 2).reshape(B, N, C)`).
    public static let attention = CUDAKernelSource(
        file: "attention.cu",
        kernels: ["qkv_split", "softmax_rows", "merge_heads"],
        code: #"""
/* One block per token row (b, t) of qkv [B·L, 3·D]; 32-bit column arithmetic inside the row. */
extern "C" __global__ void qkv_split(const bf16_t* __restrict__ qkv, bf16_t* __restrict__ q, bf16_t* __restrict__ k,
                                     bf16_t* __restrict__ v, int batch, int tokens, int heads, int head_dim) {
    const int row = blockIdx.x;
    if (row >= batch * tokens) return;
    const int b = row / tokens, t = row - b * tokens, dim = heads * head_dim;
    const bf16_t* source = qkv + (long long)row * 3 * dim;
    for (int c = threadIdx.x; c < 3 * dim; c += blockDim.x) {
        const int s = c / dim, r = c - s * dim, h = r / head_dim, e = r - h * head_dim;
        bf16_t* target = s == 0 ? q : (s == 1 ? k : v);
        target[(((long long)b * heads + h) * tokens + t) * head_dim + e] = source[c];
    }
}

/* rows = B·H·L query rows of S [rows, ld] f32; columns = L keys. blockDim.x = 32·rowsPerBlock. */
extern "C" __global__ void softmax_rows(const float* __restrict__ scores, bf16_t* __restrict__ probs,
                                        long long rows, int columns, int ld, float scale) {
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const float* s = scores + row * ld;
    bf16_t* p = probs + row * ld;
    float maximum = __int_as_float(0xff800000);
    for (int j = lane; j < columns; j += 32) maximum = fmaxf(maximum, s[j]);
    maximum = warp_max(maximum);
    float sum = 0.0f;
    for (int j = lane; j < columns; j += 32) sum += expf(scale * (s[j] - maximum));
    sum = warp_sum(sum);
    const float inverse = 1.0f / sum;
    for (int j = lane; j < columns; j += 32) p[j] = f32_to_bf16(expf(scale * (s[j] - maximum)) * inverse);
    for (int j = columns + lane; j < ld; j += 32) p[j] = 0;
}

/* One block per output token row (b, t) of [B·L, H·hd]. */
extern "C" __global__ void merge_heads(const bf16_t* __restrict__ o, bf16_t* __restrict__ out,
                                       int batch, int tokens, int heads, int head_dim) {
    const int row = blockIdx.x;
    if (row >= batch * tokens) return;
    const int b = row / tokens, t = row - b * tokens, dim = heads * head_dim;
    bf16_t* target = out + (long long)row * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        const int h = c / head_dim, e = c - h * head_dim;
        target[c] = o[(((long long)b * heads + h) * tokens + t) * head_dim + e];
    }
}
"""#)
}
