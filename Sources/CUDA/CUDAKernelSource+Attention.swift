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
    ///
    /// And the fused forward of the inference path, `attention_fused_hd32` / `attention_fused_hd64` (head dims 32 and
    /// 64): `qkv [B, L, 3, H, hd]` in, `softmax(Q·Kᵀ/√hd)·V` merged as `[B, L, H·hd]` out, the scores never in
    /// memory — the online softmax of FlashAttention-2 (Dao, 2023, Algorithm 1). One block of 4 warps per (image,
    /// head, 64 query rows), grid `⌈L/64⌉·B·H`; each warp holds 16 query rows. Per 64-key tile: K and V `[key][dim]`
    /// as in qkv, copied global → shared by `cp.async` (16 bytes a copy, no registers; two stages, so tile kt + 1
    /// arrives while tile kt is computed), rows padded by 8 bf16 so that `ldmatrix` (x4; `.trans` for V) reads its
    /// B fragments without bank conflicts; S = Q·Kᵀ and O += P·V on the tensor cores (`mma.sync.m16n8k16` bf16 → f32, PTX ISA "Matrix fragments for mma.m16n8k16"), the running
    /// maximum and sum in f32 (exp2 of log2e-scaled scores, the scale folded into the exponent's FMA), P rounded to bf16 for P·V, O divided by the row sum at
    /// the end. Keys ≥ L are masked with −∞, query rows ≥ L computed on zeros and not written.
    public static let attention = CUDAKernelSource(
        file: "attention.cu",
        kernels: ["qkv_split", "softmax_rows", "merge_heads", "attention_fused_hd32", "attention_fused_hd64"],
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

\#(Self.tensorCore)
/* The fused forward for head dim HD (32 or 64). blockDim.x = 128; grid = ⌈L/64⌉ · B·H, query tile fastest.
   scale_log2 = log2(e)/√hd. out [B·L, H·HD] is never the qkv input's memory. Two stages of K/V tiles: tile kt + 1
   is copied (cp.async) while tile kt is computed. Key columns of the last tile past L are masked and their 8-key
   (16-key) MMA groups skipped; warps whose 16 query rows all lie past L only copy. With `lse` (training), each
   query row's log2 Σ_j exp2(s_ij·scale_log2) goes to lse[pair·lse_stride + row], for the fused backward. */
template <int HD>
__device__ __forceinline__ void attention_fused(const bf16_t* __restrict__ qkv, bf16_t* __restrict__ out, float* __restrict__ lse,
                                                int lse_stride, int tokens, int heads, float scale_log2) {
    __shared__ AttentionStage<HD> stages[2];
    const int tiles = (tokens + ATTENTION_TILE - 1) / ATTENTION_TILE;
    const int pair = blockIdx.x / tiles, query_tile = blockIdx.x - pair * tiles;
    const int b = pair / heads, h = pair - b * heads, dim = heads * HD;
    const long long stride = 3LL * dim;                /* elements from one token's qkv row to the next */
    const bf16_t* q_base = qkv + (long long)b * tokens * stride + h * HD;
    const bf16_t* k_base = q_base + dim;
    const bf16_t* v_base = q_base + 2 * dim;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int row0 = query_tile * ATTENTION_TILE + warp * 16 + g, row1 = row0 + 8;
    const bool active = query_tile * ATTENTION_TILE + warp * 16 < tokens;   /* uniform over the warp */

    auto load = [&](int stage, int first) { attention_tile_load<HD>(stages[stage], k_base, stride, v_base, stride, first, tokens); };
    tile_pipeline_start(load);
    unsigned qa[HD / 16][4];
    load_row_fragments<HD>(qa, q_base, stride, row0, tokens, t);
    float o[HD / 8][4];
    for (int dn = 0; dn < HD / 8; ++dn) o[dn][0] = o[dn][1] = o[dn][2] = o[dn][3] = 0.0f;
    const float negative_infinity = __int_as_float(0xff800000);
    float max0 = negative_infinity, max1 = negative_infinity, sum0 = 0.0f, sum1 = 0.0f;

    for (int kt = 0; kt < tiles; ++kt) {
        tile_pipeline_advance(kt, tiles, load);
        __syncthreads();                               /* tile kt is in shared memory, every thread's part of it */
        const AttentionStage<HD>& stage = stages[kt & 1];
        const int remaining = tokens - kt * ATTENTION_TILE;   /* valid keys of this tile (≥ 1) */
        if (active) {
            float s[8][4];
            tile_product_transposed<HD>(s, qa, stage.key, remaining, lane);
            /* Raw scores; the scale is applied in the exponent (max(s)·c = max(s·c) for c > 0). */
            if (remaining < ATTENTION_TILE) {
                for (int j = 0; j < 8; ++j) {
                    for (int e = 0; e < 2; ++e) {
                        if (j * 8 + 2 * t + e >= remaining) s[j][e] = s[j][2 + e] = negative_infinity;
                    }
                }
            }
            float tile_max0 = negative_infinity, tile_max1 = negative_infinity;
            for (int j = 0; j < 8; ++j) {
                tile_max0 = fmaxf(tile_max0, fmaxf(s[j][0], s[j][1]));
                tile_max1 = fmaxf(tile_max1, fmaxf(s[j][2], s[j][3]));
            }
            tile_max0 = fmaxf(tile_max0, __shfl_xor_sync(0xffffffffu, tile_max0, 1));
            tile_max0 = fmaxf(tile_max0, __shfl_xor_sync(0xffffffffu, tile_max0, 2));
            tile_max1 = fmaxf(tile_max1, __shfl_xor_sync(0xffffffffu, tile_max1, 1));
            tile_max1 = fmaxf(tile_max1, __shfl_xor_sync(0xffffffffu, tile_max1, 2));
            const float new_max0 = fmaxf(max0, tile_max0 * scale_log2), new_max1 = fmaxf(max1, tile_max1 * scale_log2);
            const float correction0 = exp2f(max0 - new_max0), correction1 = exp2f(max1 - new_max1);
            max0 = new_max0;
            max1 = new_max1;
            float partial0 = 0.0f, partial1 = 0.0f;
            for (int j = 0; j < 8; ++j) {
                for (int e = 0; e < 2; ++e) {
                    s[j][e] = exp2f(fmaf(s[j][e], scale_log2, -max0));
                    s[j][2 + e] = exp2f(fmaf(s[j][2 + e], scale_log2, -max1));
                    partial0 += s[j][e];
                    partial1 += s[j][2 + e];
                }
            }
            sum0 = sum0 * correction0 + partial0;      /* this lane's share of the row sums */
            sum1 = sum1 * correction1 + partial1;
            for (int dn = 0; dn < HD / 8; ++dn) {
                o[dn][0] *= correction0;
                o[dn][1] *= correction0;
                o[dn][2] *= correction1;
                o[dn][3] *= correction1;
            }
            tile_product<HD>(o, s, stage.value, remaining, lane);
        }
        __syncthreads();                               /* its readers are done before tile kt + 2 is copied over it */
    }
    if (!active) return;
    sum0 += __shfl_xor_sync(0xffffffffu, sum0, 1);
    sum0 += __shfl_xor_sync(0xffffffffu, sum0, 2);
    sum1 += __shfl_xor_sync(0xffffffffu, sum1, 1);
    sum1 += __shfl_xor_sync(0xffffffffu, sum1, 2);
    const float inverse0 = 1.0f / sum0, inverse1 = 1.0f / sum1;
    for (int dn = 0; dn < HD / 8; ++dn) {
        const int column = h * HD + dn * 8 + 2 * t;
        if (row0 < tokens) {
            store_vector(out + ((long long)b * tokens + row0) * dim + column, pack_bf16x2(o[dn][0] * inverse0, o[dn][1] * inverse0));
        }
        if (row1 < tokens) {
            store_vector(out + ((long long)b * tokens + row1) * dim + column, pack_bf16x2(o[dn][2] * inverse1, o[dn][3] * inverse1));
        }
    }
    if (lse != nullptr && t == 0) {
        if (row0 < tokens) lse[(long long)pair * lse_stride + row0] = max0 + log2f(sum0);
        if (row1 < tokens) lse[(long long)pair * lse_stride + row1] = max1 + log2f(sum1);
    }
}

extern "C" __global__ __launch_bounds__(ATTENTION_THREADS) void attention_fused_hd32(const bf16_t* __restrict__ qkv, bf16_t* __restrict__ out,
                                                 float* __restrict__ lse, int lse_stride, int tokens, int heads, float scale_log2) {
    attention_fused<32>(qkv, out, lse, lse_stride, tokens, heads, scale_log2);
}

extern "C" __global__ __launch_bounds__(ATTENTION_THREADS) void attention_fused_hd64(const bf16_t* __restrict__ qkv, bf16_t* __restrict__ out,
                                                 float* __restrict__ lse, int lse_stride, int tokens, int heads, float scale_log2) {
    attention_fused<64>(qkv, out, lse, lse_stride, tokens, heads, scale_log2);
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
