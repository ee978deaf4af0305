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
    ///
    /// The fused backward (FlashAttention-2's backward, Dao 2023, Algorithm 2, split in two kernels so that no
    /// gradient needs atomics), for head dims 32 and 64, after `attention_fused_hd*` saved each query row's
    /// `lse = log2 Σ_j exp2(s_ij·c)` (c = log2(e)/√hd): P is recomputed per 64 × 64 tile as `exp2(s·c − lse)` and
    /// never stored; inputs are the forward's `qkv [B, L, 3, H, hd]` and `dO [B, L, H·hd]` (the `attn.proj` input's
    /// gradient, merged), outputs go straight into `dqkv [B, L, 3, H, hd]` (bf16, each element written once):
    ///
    /// - `attention_backward_delta`: `δ_i = Σ_e dO_ie·O_ie` (f32) per (image, head, query row) into `[B·H, stride]`;
    ///   one thread per (token row, head);
    /// - `attention_backward_dq_hd*`: per (image, head, 64 query rows) — the forward's grid — over key tiles:
    ///   S = Q·Kᵀ, dP = dO·Vᵀ, dS = P ⊙ (dP − δ), `dQ += dS·K`; dQ·(1/√hd) written;
    /// - `attention_backward_dkdv_hd*`: per (image, head, 64 key rows) over query tiles, transposed: Sᵀ = K·Qᵀ,
    ///   dPᵀ = V·dOᵀ, `dV += Pᵀ·dO`, `dK += dSᵀ·Q`; dK·(1/√hd) and dV written. Q/dO tiles and their `lse`, `δ`
    ///   (strides padded to 8 so 16-byte copies never straddle a pair) arrive by cp.async, two stages.
    public static let attentionBackward = CUDAKernelSource(
        file: "attention_backward.cu",
        kernels: ["merge_heads_backward", "softmax_backward_rows", "qkv_split_backward", "attention_backward_delta",
                  "attention_backward_dq_hd32", "attention_backward_dq_hd64", "attention_backward_dkdv_hd32",
                  "attention_backward_dkdv_hd64"],
        code: #"""
\#(Self.tensorCore)
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
/* δ[pair·stride + i] = Σ_e dO[b, i, h·HD + e]·O[b, i, h·HD + e] in f32 (head_dim a multiple of 4); one (token row,
   head) per thread, grid-stride. */
extern "C" __global__ void attention_backward_delta(const bf16_t* __restrict__ dout, const bf16_t* __restrict__ o,
                                                    float* __restrict__ delta, int batch, int tokens, int heads, int head_dim,
                                                    int stride) {
    const long long count = (long long)batch * tokens * heads;
    for (long long index = blockIdx.x * (long long)blockDim.x + threadIdx.x; index < count;
         index += (long long)gridDim.x * blockDim.x) {
        const long long row = index / heads;
        const int h = (int)(index - row * heads), b = (int)(row / tokens), i = (int)(row - (long long)b * tokens);
        const long long offset = row * heads * head_dim + (long long)h * head_dim;
        float sum = 0.0f;
        for (int e = 0; e < head_dim; e += 4) {
            float x[4], y[4];
            load_four(dout + offset + e, x);
            load_four(o + offset + e, y);
            for (int u = 0; u < 4; ++u) sum = fmaf(x[u], y[u], sum);
        }
        delta[((long long)b * heads + h) * stride + i] = sum;
    }
}

/* dQ per (image, head, 64 query rows): grid ⌈L/64⌉ · B·H (query tile fastest), blockDim.x = 128, 16 query rows per
   warp; K and V tiles in two cp.async stages, as the forward. */
template <int HD>
__device__ __forceinline__ void attention_backward_dq(const bf16_t* __restrict__ qkv, const bf16_t* __restrict__ dout,
                                                      const float* __restrict__ lse, const float* __restrict__ delta, int stats_stride,
                                                      bf16_t* __restrict__ dqkv, int tokens, int heads, float scale_log2, float scale) {
    __shared__ AttentionStage<HD> stages[2];
    const int tiles = (tokens + ATTENTION_TILE - 1) / ATTENTION_TILE;
    const int pair = blockIdx.x / tiles, query_tile = blockIdx.x - pair * tiles;
    const int b = pair / heads, h = pair - b * heads, dim = heads * HD;
    const long long stride = 3LL * dim;
    const bf16_t* q_base = qkv + (long long)b * tokens * stride + h * HD;
    const bf16_t* k_base = q_base + dim;
    const bf16_t* v_base = q_base + 2 * dim;
    const bf16_t* do_base = dout + (long long)b * tokens * dim + h * HD;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int row0 = query_tile * ATTENTION_TILE + warp * 16 + g, row1 = row0 + 8;
    const bool active = query_tile * ATTENTION_TILE + warp * 16 < tokens;

    auto load = [&](int stage, int first) { attention_tile_load<HD>(stages[stage], k_base, stride, v_base, stride, first, tokens); };
    tile_pipeline_start(load);
    unsigned qa[HD / 16][4], da[HD / 16][4];
    load_row_fragments<HD>(qa, q_base, stride, row0, tokens, t);
    load_row_fragments<HD>(da, do_base, dim, row0, tokens, t);
    const float* stats_lse = lse + (long long)pair * stats_stride;
    const float* stats_delta = delta + (long long)pair * stats_stride;
    const float lse0 = row0 < tokens ? stats_lse[row0] : 0.0f, lse1 = row1 < tokens ? stats_lse[row1] : 0.0f;
    const float delta0 = row0 < tokens ? stats_delta[row0] : 0.0f, delta1 = row1 < tokens ? stats_delta[row1] : 0.0f;
    float dq[HD / 8][4];
    for (int dn = 0; dn < HD / 8; ++dn) dq[dn][0] = dq[dn][1] = dq[dn][2] = dq[dn][3] = 0.0f;

    for (int kt = 0; kt < tiles; ++kt) {
        tile_pipeline_advance(kt, tiles, load);
        __syncthreads();
        const AttentionStage<HD>& stage = stages[kt & 1];
        const int remaining = tokens - kt * ATTENTION_TILE;
        if (active) {
            float s[8][4], dp[8][4];
            tile_product_transposed<HD>(s, qa, stage.key, remaining, lane);
            tile_product_transposed<HD>(dp, da, stage.value, remaining, lane);
            for (int j = 0; j < 8; ++j) {
                for (int e = 0; e < 2; ++e) {
                    const bool valid = j * 8 + 2 * t + e < remaining;
                    const float p0 = valid ? exp2f(fmaf(s[j][e], scale_log2, -lse0)) : 0.0f;
                    const float p1 = valid ? exp2f(fmaf(s[j][2 + e], scale_log2, -lse1)) : 0.0f;
                    s[j][e] = p0 * (dp[j][e] - delta0);          /* dS, over the tile's keys */
                    s[j][2 + e] = p1 * (dp[j][2 + e] - delta1);
                }
            }
            tile_product<HD>(dq, s, stage.key, remaining, lane);
        }
        __syncthreads();
    }
    if (!active) return;
    bf16_t* dq_base = dqkv + (long long)b * tokens * stride + h * HD;
    for (int dn = 0; dn < HD / 8; ++dn) {
        const int column = dn * 8 + 2 * t;
        if (row0 < tokens) store_vector(dq_base + (long long)row0 * stride + column, pack_bf16x2(dq[dn][0] * scale, dq[dn][1] * scale));
        if (row1 < tokens) store_vector(dq_base + (long long)row1 * stride + column, pack_bf16x2(dq[dn][2] * scale, dq[dn][3] * scale));
    }
}

/* dK, dV per (image, head, 64 key rows): grid ⌈L/64⌉ · B·H (key tile fastest), blockDim.x = 128, 16 key rows per
   warp; Q and dO tiles (with their lse and δ) in two cp.async stages. */
template <int HD>
__device__ __forceinline__ void attention_backward_dkdv(const bf16_t* __restrict__ qkv, const bf16_t* __restrict__ dout,
                                                        const float* __restrict__ lse, const float* __restrict__ delta, int stats_stride,
                                                        bf16_t* __restrict__ dqkv, int tokens, int heads, float scale_log2, float scale) {
    __shared__ AttentionStage<HD> stages[2];          /* key: the Q tile; value: the dO tile */
    alignas(16) __shared__ float stats[2][2][ATTENTION_TILE];   /* [stage][lse, δ][query] */
    const int tiles = (tokens + ATTENTION_TILE - 1) / ATTENTION_TILE;
    const int pair = blockIdx.x / tiles, key_tile = blockIdx.x - pair * tiles;
    const int b = pair / heads, h = pair - b * heads, dim = heads * HD;
    const long long stride = 3LL * dim;
    const bf16_t* q_base = qkv + (long long)b * tokens * stride + h * HD;
    const bf16_t* k_base = q_base + dim;
    const bf16_t* v_base = q_base + 2 * dim;
    const bf16_t* do_base = dout + (long long)b * tokens * dim + h * HD;
    const float* stats_lse = lse + (long long)pair * stats_stride;
    const float* stats_delta = delta + (long long)pair * stats_stride;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int key0 = key_tile * ATTENTION_TILE + warp * 16 + g, key1 = key0 + 8;
    const bool active = key_tile * ATTENTION_TILE + warp * 16 < tokens;

    /* A query tile: Q and dO rows, and the 16-byte chunks of their lse (threads 0–15) and δ (16–31); chunks past
       the padded stride are zero-filled (those queries are masked). */
    auto load = [&](int stage, int first) {
        attention_tile_load<HD>(stages[stage], q_base, stride, do_base, dim, first, tokens);
        if (threadIdx.x < 32) {
            const int which = threadIdx.x >> 4, chunk = threadIdx.x & 15, query = first + 4 * chunk;
            const float* source = which == 0 ? stats_lse : stats_delta;
            const bool valid = query < stats_stride;
            copy_async_16(&stats[stage][which][4 * chunk], source + (valid ? query : 0), valid);
        }
    };
    tile_pipeline_start(load);
    unsigned ka[HD / 16][4], va[HD / 16][4];
    load_row_fragments<HD>(ka, k_base, stride, key0, tokens, t);
    load_row_fragments<HD>(va, v_base, stride, key0, tokens, t);
    float dk[HD / 8][4], dv[HD / 8][4];
    for (int dn = 0; dn < HD / 8; ++dn) {
        dk[dn][0] = dk[dn][1] = dk[dn][2] = dk[dn][3] = 0.0f;
        dv[dn][0] = dv[dn][1] = dv[dn][2] = dv[dn][3] = 0.0f;
    }

    for (int qt = 0; qt < tiles; ++qt) {
        tile_pipeline_advance(qt, tiles, load);
        __syncthreads();
        const AttentionStage<HD>& stage = stages[qt & 1];
        const float* tile_lse = stats[qt & 1][0];
        const float* tile_delta = stats[qt & 1][1];
        const int remaining = tokens - qt * ATTENTION_TILE;   /* valid queries of this tile */
        if (active) {
            float st[8][4], dpt[8][4];                       /* Sᵀ, dPᵀ: rows = this warp's keys, columns = queries */
            tile_product_transposed<HD>(st, ka, stage.key, remaining, lane);
            tile_product_transposed<HD>(dpt, va, stage.value, remaining, lane);
            for (int j = 0; j < 8; ++j) {
                for (int e = 0; e < 2; ++e) {
                    const int query = j * 8 + 2 * t + e;
                    const bool valid = query < remaining;
                    const float l = tile_lse[query], d = tile_delta[query];
                    const float p0 = valid ? exp2f(fmaf(st[j][e], scale_log2, -l)) : 0.0f;
                    const float p1 = valid ? exp2f(fmaf(st[j][2 + e], scale_log2, -l)) : 0.0f;
                    st[j][e] = p0;                           /* Pᵀ */
                    st[j][2 + e] = p1;
                    dpt[j][e] = valid ? p0 * (dpt[j][e] - d) : 0.0f;   /* dSᵀ (δ past L is not written: never read) */
                    dpt[j][2 + e] = valid ? p1 * (dpt[j][2 + e] - d) : 0.0f;
                }
            }
            tile_product<HD>(dv, st, stage.value, remaining, lane);
            tile_product<HD>(dk, dpt, stage.key, remaining, lane);
        }
        __syncthreads();
    }
    if (!active) return;
    bf16_t* dk_base = dqkv + (long long)b * tokens * stride + dim + h * HD;
    bf16_t* dv_base = dk_base + dim;
    for (int dn = 0; dn < HD / 8; ++dn) {
        const int column = dn * 8 + 2 * t;
        if (key0 < tokens) {
            store_vector(dk_base + (long long)key0 * stride + column, pack_bf16x2(dk[dn][0] * scale, dk[dn][1] * scale));
            store_vector(dv_base + (long long)key0 * stride + column, pack_bf16x2(dv[dn][0], dv[dn][1]));
        }
        if (key1 < tokens) {
            store_vector(dk_base + (long long)key1 * stride + column, pack_bf16x2(dk[dn][2] * scale, dk[dn][3] * scale));
            store_vector(dv_base + (long long)key1 * stride + column, pack_bf16x2(dv[dn][2], dv[dn][3]));
        }
    }
}

extern "C" __global__ __launch_bounds__(ATTENTION_THREADS) void attention_backward_dq_hd32(
        const bf16_t* __restrict__ qkv, const bf16_t* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
        int stats_stride, bf16_t* __restrict__ dqkv, int tokens, int heads, float scale_log2, float scale) {
    attention_backward_dq<32>(qkv, dout, lse, delta, stats_stride, dqkv, tokens, heads, scale_log2, scale);
}

extern "C" __global__ __launch_bounds__(ATTENTION_THREADS) void attention_backward_dkdv_hd32(
        const bf16_t* __restrict__ qkv, const bf16_t* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
        int stats_stride, bf16_t* __restrict__ dqkv, int tokens, int heads, float scale_log2, float scale) {
    attention_backward_dkdv<32>(qkv, dout, lse, delta, stats_stride, dqkv, tokens, heads, scale_log2, scale);
}

extern "C" __global__ __launch_bounds__(ATTENTION_THREADS) void attention_backward_dq_hd64(
        const bf16_t* __restrict__ qkv, const bf16_t* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
        int stats_stride, bf16_t* __restrict__ dqkv, int tokens, int heads, float scale_log2, float scale) {
    attention_backward_dq<64>(qkv, dout, lse, delta, stats_stride, dqkv, tokens, heads, scale_log2, scale);
}

extern "C" __global__ __launch_bounds__(ATTENTION_THREADS) void attention_backward_dkdv_hd64(
        const bf16_t* __restrict__ qkv, const bf16_t* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
        int stats_stride, bf16_t* __restrict__ dqkv, int tokens, int heads, float scale_log2, float scale) {
    attention_backward_dkdv<64>(qkv, dout, lse, delta, stats_stride, dqkv, tokens, heads, scale_log2, scale);
}
"""#)
}
