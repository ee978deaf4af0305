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

/* d += a·b on the tensor cores for one warp: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32. Fragments
   (g = lane / 4, t = lane % 4; each 32-bit register two bf16, the lower column first):
   a[0] A[g][2t..], a[1] A[g+8][2t..], a[2] A[g][2t+8..], a[3] A[g+8][2t+8..];
   b[0] B[2t..][g], b[1] B[2t+8..][g];  d[0..1] D[g][2t..], d[2..3] D[g+8][2t..].
   The CPU emulator (tools/cuda-emulator) has no PTX: it defines CUDAEMU and computes the same fragments. */
__device__ __forceinline__ void mma_bf16_16816(float* d, const unsigned* a, const unsigned* b) {
#ifdef CUDAEMU
    cudaemu_mma_m16n8k16_bf16(d, a, b);
#else
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

/* Two f32 → bf16 (round to nearest even) in one register, low first: cvt.rn.bf16x2.f32 puts its first source in
   the upper half. */
__device__ __forceinline__ unsigned pack_bf16x2(float low, float high) {
#ifdef CUDAEMU
    return (unsigned)f32_to_bf16(low) | ((unsigned)f32_to_bf16(high) << 16);
#else
    unsigned packed;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(packed) : "f"(high), "f"(low));
    return packed;
#endif
}

/* ldmatrix.sync.aligned.m8n8.x4 (PTX ISA, "Warp-level matrix load instruction: ldmatrix"): lanes 8j … 8j + 7 give
   the 16-byte shared-memory rows of 8×8 bf16 matrix j; r[j] gets lane i's fragment of it — row i/4, columns
   2(i%4), 2(i%4) + 1 — or, transposed, column i/4 of rows 2(i%4), 2(i%4) + 1: a B fragment of mma.m16n8k16 from a
   row-major [n][k] tile, or (transposed) from a row-major [k][n] one. */
#ifndef CUDAEMU
__device__ __forceinline__ unsigned shared_address(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }
#endif
__device__ __forceinline__ void load_matrix_x4(unsigned* r, const bf16_t* row) {
#ifdef CUDAEMU
    cudaemu_ldmatrix_x4(r, row, 0);
#else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(row)) : "memory");
#endif
}
__device__ __forceinline__ void load_matrix_x4_transposed(unsigned* r, const bf16_t* row) {
#ifdef CUDAEMU
    cudaemu_ldmatrix_x4(r, row, 1);
#else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(row)) : "memory");
#endif
}

/* cp.async.cg.shared.global of 16 bytes (zero-filled when !valid: no byte of `source` is read then), and its
   commit and wait (PTX ISA, "cp.async"): the copy bypasses the registers and L1, and the thread goes on. */
__device__ __forceinline__ void copy_async_16(bf16_t* target, const bf16_t* source, bool valid) {
#ifdef CUDAEMU
    cudaemu_cp_async_16(target, source, valid ? 16u : 0u);
#else
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n"
                 :: "r"(shared_address(target)), "l"(source), "r"(valid ? 16 : 0) : "memory");
#endif
}
__device__ __forceinline__ void copy_async_commit() {
#ifdef CUDAEMU
    cudaemu_cp_async_commit();
#else
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
/* Waits until at most `N` of this thread's committed groups are still in flight. */
template <int N> __device__ __forceinline__ void copy_async_wait() {
#ifdef CUDAEMU
    cudaemu_cp_async_wait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" :: "n"(N) : "memory");
#endif
}

#define ATTENTION_TILE 64
#define ATTENTION_THREADS 128

/* One 64-key tile of K and V in shared memory, both row-major [key][dim] as in qkv; each row padded by 8 bf16 (16
   bytes), so the 8 rows an ldmatrix reads start on distinct 4-bank groups (stride 36 words for HD 64, 20 for 32). */
template <int HD> struct alignas(16) AttentionStage {
    bf16_t key[ATTENTION_TILE][HD + 8];
    bf16_t value[ATTENTION_TILE][HD + 8];
};

/* Queues the 16-byte copies of keys and values first … first + 63 into `stage` as one cp.async group; rows ≥ tokens
   are zero-filled (so their V rows add nothing and no NaN reaches P·V). */
template <int HD> __device__ __forceinline__ void attention_tile_load(AttentionStage<HD>& stage, const bf16_t* k_base,
                                                                     const bf16_t* v_base, long long stride, int first, int tokens) {
    const int chunks = HD / 8;
    for (int c = threadIdx.x; c < ATTENTION_TILE * chunks; c += ATTENTION_THREADS) {
        const int key = c / chunks, chunk = c - key * chunks, token = first + key;
        const bool valid = token < tokens;
        const long long offset = (long long)(valid ? token : 0) * stride + chunk * 8;
        copy_async_16(&stage.key[key][chunk * 8], k_base + offset, valid);
        copy_async_16(&stage.value[key][chunk * 8], v_base + offset, valid);
    }
    copy_async_commit();
}

/* The fused forward for head dim HD (32 or 64). blockDim.x = 128; grid = ⌈L/64⌉ · B·H, query tile fastest.
   scale_log2 = log2(e)/√hd. out [B·L, H·HD] is never the qkv input's memory. Two stages of K/V tiles: tile kt + 1
   is copied (cp.async) while tile kt is computed. Key columns of the last tile past L are masked and their 8-key
   (16-key) MMA groups skipped; warps whose 16 query rows all lie past L only copy. */
template <int HD>
__device__ __forceinline__ void attention_fused(const bf16_t* __restrict__ qkv, bf16_t* __restrict__ out,
                                                int tokens, int heads, float scale_log2) {
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
    /* The rows this lane gives ldmatrix: K's x4 covers 8 keys × 32 dims (matrix lane/8 at dims 8·(lane/8)); V's
       covers 16 keys × 16 dims (keys +8 for matrices 1 and 3, dims +8 for matrices 2 and 3). */
    const int key_row = lane & 7, key_column = (lane >> 3) * 8;
    const int value_row = (lane & 7) + ((lane >> 3) & 1) * 8, value_column = (lane >> 4) * 8;

    attention_tile_load<HD>(stages[0], k_base, v_base, stride, 0, tokens);
    unsigned qa[HD / 16][4];
    {
        const unsigned* q0 = (const unsigned*)(q_base + (long long)min(row0, tokens - 1) * stride);
        const unsigned* q1 = (const unsigned*)(q_base + (long long)min(row1, tokens - 1) * stride);
        const bool valid0 = row0 < tokens, valid1 = row1 < tokens;
        for (int ks = 0; ks < HD / 16; ++ks) {
            qa[ks][0] = valid0 ? q0[ks * 8 + t] : 0u;
            qa[ks][1] = valid1 ? q1[ks * 8 + t] : 0u;
            qa[ks][2] = valid0 ? q0[ks * 8 + 4 + t] : 0u;
            qa[ks][3] = valid1 ? q1[ks * 8 + 4 + t] : 0u;
        }
    }
    float o[HD / 8][4];
    for (int dn = 0; dn < HD / 8; ++dn) o[dn][0] = o[dn][1] = o[dn][2] = o[dn][3] = 0.0f;
    const float negative_infinity = __int_as_float(0xff800000);
    float max0 = negative_infinity, max1 = negative_infinity, sum0 = 0.0f, sum1 = 0.0f;

    for (int kt = 0; kt < tiles; ++kt) {
        if (kt + 1 < tiles) {
            attention_tile_load<HD>(stages[(kt + 1) & 1], k_base, v_base, stride, (kt + 1) * ATTENTION_TILE, tokens);
            copy_async_wait<1>();
        } else {
            copy_async_wait<0>();
        }
        __syncthreads();                               /* tile kt is in shared memory, every thread's part of it */
        const AttentionStage<HD>& stage = stages[kt & 1];
        const int remaining = tokens - kt * ATTENTION_TILE;   /* valid keys of this tile (≥ 1) */
        if (active) {
            float s[8][4];
            for (int j = 0; j < 8; ++j) {
                s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
                if (j * 8 >= remaining) continue;
                for (int ks = 0; ks < HD / 16; ks += 2) {
                    unsigned kb[4];
                    load_matrix_x4(kb, &stage.key[j * 8 + key_row][ks * 16 + key_column]);
                    mma_bf16_16816(s[j], qa[ks], kb);
                    mma_bf16_16816(s[j], qa[ks + 1], kb + 2);
                }
            }
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
            for (int kk = 0; kk < ATTENTION_TILE / 16; ++kk) {
                if (kk * 16 >= remaining) continue;
                const unsigned pa[4] = {pack_bf16x2(s[2 * kk][0], s[2 * kk][1]), pack_bf16x2(s[2 * kk][2], s[2 * kk][3]),
                                        pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                        pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
                for (int dn = 0; dn < HD / 8; dn += 2) {
                    unsigned vb[4];
                    load_matrix_x4_transposed(vb, &stage.value[kk * 16 + value_row][dn * 8 + value_column]);
                    mma_bf16_16816(o[dn], pa, vb);
                    mma_bf16_16816(o[dn + 1], pa, vb + 2);
                }
            }
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
}

extern "C" __global__ __launch_bounds__(ATTENTION_THREADS) void attention_fused_hd32(const bf16_t* __restrict__ qkv, bf16_t* __restrict__ out,
                                                 int tokens, int heads, float scale_log2) {
    attention_fused<32>(qkv, out, tokens, heads, scale_log2);
}

extern "C" __global__ __launch_bounds__(ATTENTION_THREADS) void attention_fused_hd64(const bf16_t* __restrict__ qkv, bf16_t* __restrict__ out,
                                                 int tokens, int heads, float scale_log2) {
    attention_fused<64>(qkv, out, tokens, heads, scale_log2);
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
