extension CUDAKernelSource {
    /// The non-GEMM parts of multi-head self-attention (the GEMMs `S = α·Q·Kᵀ` and `O = P·V` are cuBLASLt strided
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
extern "C" __global__ void qkv_split(const bf16_t* __restrict__ qkv, bf16_t* __restrict__ q, bf16_t* __restrict__ k,
                                     bf16_t* __restrict__ v, int batch, int tokens, int heads, int head_dim) {
    const int dim = heads * head_dim;
    const long long total = (long long)batch * tokens * 3 * dim;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        const int e = (int)(i % head_dim);
        const int h = (int)((i / head_dim) % heads);
        const int s = (int)((i / dim) % 3);
        const long long bt = i / (3LL * dim);
        const int t = (int)(bt % tokens), b = (int)(bt / tokens);
        bf16_t* target = s == 0 ? q : (s == 1 ? k : v);
        target[(((long long)b * heads + h) * tokens + t) * head_dim + e] = qkv[i];
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

extern "C" __global__ void merge_heads(const bf16_t* __restrict__ o, bf16_t* __restrict__ out,
                                       int batch, int tokens, int heads, int head_dim) {
    const int dim = heads * head_dim;
    const long long total = (long long)batch * tokens * dim;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        const int e = (int)(i % head_dim);
        const int h = (int)((i / head_dim) % heads);
        const long long bt = i / dim;
        const int t = (int)(bt % tokens), b = (int)(bt / tokens);
        out[i] = o[(((long long)b * heads + h) * tokens + t) * head_dim + e];
    }
}
"""#)
}
