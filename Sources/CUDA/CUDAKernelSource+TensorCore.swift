extension CUDAKernelSource {
    /// The tensor-core pieces of the fused attention kernels (`attention.cu`'s forward, `attention_backward.cu`'s
    /// fused backward), written once and placed at the top of both sources: `mma.sync.m16n8k16` (bf16 in, f32
    /// accumulate), f32 pairs → bf16x2, `ldmatrix` x4 (plain and `.trans`), `cp.async` of 16 bytes with its commit
    /// and wait, the two-tile shared-memory stage of 64 rows × HD (rows padded by 8 bf16: conflict-free ldmatrix),
    /// its cp.async load, a warp's A fragments from global rows, and the two warp-level tile products
    /// (`C = A·tileᵀ`, `acc += P·tile`) that every fused kernel is built from (PTX ISA: "Matrix fragments for
    /// mma.m16n8k16", "ldmatrix", "cp.async"). Under the CPU emulator (`CUDAEMU`), the inline PTX becomes the
    /// emulator's lane-by-lane functions.
    static let tensorCore = #"""
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
template <bool Transposed> __device__ __forceinline__ void load_matrix_x4(unsigned* r, const bf16_t* row) {
#ifdef CUDAEMU
    cudaemu_ldmatrix_x4(r, row, Transposed ? 1 : 0);
#else
    if constexpr (Transposed) {
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(row)) : "memory");
    } else {
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(shared_address(row)) : "memory");
    }
#endif
}

/* cp.async.cg.shared.global of 16 bytes (zero-filled when !valid: no byte of `source` is read then), and its
   commit and wait (PTX ISA, "cp.async"): the copy bypasses the registers and L1, and the thread goes on. */
__device__ __forceinline__ void copy_async_16(void* target, const void* source, bool valid) {
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

/* Queues, in the calling thread's current cp.async group, the 16-byte copies of rows first … first + 63 of two
   [token][HD] operands (row i of `first_base` + i·first_stride, and of `second_base`) into a stage's two tiles; rows
   ≥ tokens are zero-filled (so their rows add nothing and no NaN reaches an MMA). The caller commits. */
template <int HD> __device__ __forceinline__ void attention_tile_load(AttentionStage<HD>& stage, const bf16_t* first_base,
                                                                     long long first_stride, const bf16_t* second_base,
                                                                     long long second_stride, int first, int tokens) {
    const int chunks = HD / 8;
    for (int c = threadIdx.x; c < ATTENTION_TILE * chunks; c += ATTENTION_THREADS) {
        const int row = c / chunks, chunk = c - row * chunks, token = first + row;
        const bool valid = token < tokens;
        const long long index = valid ? token : 0;
        copy_async_16(&stage.key[row][chunk * 8], first_base + index * first_stride + chunk * 8, valid);
        copy_async_16(&stage.value[row][chunk * 8], second_base + index * second_stride + chunk * 8, valid);
    }
}

/* The two-stage cp.async pipeline over `tiles` tiles: `tile_pipeline_start` queues tile 0 (load(stage, first row));
   `tile_pipeline_advance` at tile kt queues tile kt + 1 into the other stage and waits until tile kt has landed
   (this thread's copies: the caller's __syncthreads then makes every thread's visible). The caller also needs a
   __syncthreads after computing on a stage, before the next advance copies over it. */
template <typename Load> __device__ __forceinline__ void tile_pipeline_start(Load load) {
    load(0, 0);
    copy_async_commit();
}
template <typename Load> __device__ __forceinline__ void tile_pipeline_advance(int kt, int tiles, Load load) {
    if (kt + 1 < tiles) {
        load((kt + 1) & 1, (kt + 1) * ATTENTION_TILE);
        copy_async_commit();
        copy_async_wait<1>();
    } else {
        copy_async_wait<0>();
    }
}

/* Lane (g, t)'s A fragments (mma.m16n8k16, 16 rows × HD) of rows row0 = first + g and row1 = row0 + 8 of a
   [token][HD] operand (row i at base + i·stride), 4-byte loads; rows ≥ tokens are zeros. */
template <int HD> __device__ __forceinline__ void load_row_fragments(unsigned (*a)[4], const bf16_t* base, long long stride,
                                                                    int row0, int tokens, int t) {
    const int row1 = row0 + 8;
    const unsigned* r0 = (const unsigned*)(base + (long long)min(row0, tokens - 1) * stride);
    const unsigned* r1 = (const unsigned*)(base + (long long)min(row1, tokens - 1) * stride);
    const bool valid0 = row0 < tokens, valid1 = row1 < tokens;
    for (int ks = 0; ks < HD / 16; ++ks) {
        a[ks][0] = valid0 ? r0[ks * 8 + t] : 0u;
        a[ks][1] = valid1 ? r1[ks * 8 + t] : 0u;
        a[ks][2] = valid0 ? r0[ks * 8 + 4 + t] : 0u;
        a[ks][3] = valid1 ? r1[ks * 8 + 4 + t] : 0u;
    }
}

/* c[j] (16 rows × 8 columns, j < 8: 64 columns) = A·Bᵀ for A this warp's fragments (16 rows × HD) and B the
   tile's 64 rows × HD (row-major [n][k], ldmatrix non-transposed); 8-column groups at or past `valid` columns are
   skipped and left 0. */
template <int HD> __device__ __forceinline__ void tile_product_transposed(float (*c)[4], const unsigned (*a)[4],
                                                                         const bf16_t (*tile)[HD + 8], int valid, int lane) {
    const int row = lane & 7, column = (lane >> 3) * 8;
    for (int j = 0; j < 8; ++j) {
        c[j][0] = c[j][1] = c[j][2] = c[j][3] = 0.0f;
        if (j * 8 >= valid) continue;
        for (int ks = 0; ks < HD / 16; ks += 2) {
            unsigned b[4];
            load_matrix_x4<false>(b, &tile[j * 8 + row][ks * 16 + column]);
            mma_bf16_16816(c[j], a[ks], b);
            mma_bf16_16816(c[j], a[ks + 1], b + 2);
        }
    }
}

/* acc[dn] (16 rows × HD) += P·tile for P the 16 × 64 values p[j] (in the layout tile_product_transposed leaves,
   rounded to bf16 as A fragments) and the tile's 64 rows × HD (row-major [k][n], ldmatrix transposed); 16-row
   groups at or past `valid` rows are skipped. */
template <int HD> __device__ __forceinline__ void tile_product(float (*acc)[4], const float (*p)[4], const bf16_t (*tile)[HD + 8],
                                                              int valid, int lane) {
    const int row = (lane & 7) + ((lane >> 3) & 1) * 8, column = (lane >> 4) * 8;
    for (int kk = 0; kk < ATTENTION_TILE / 16; ++kk) {
        if (kk * 16 >= valid) continue;
        const unsigned pa[4] = {pack_bf16x2(p[2 * kk][0], p[2 * kk][1]), pack_bf16x2(p[2 * kk][2], p[2 * kk][3]),
                                pack_bf16x2(p[2 * kk + 1][0], p[2 * kk + 1][1]), pack_bf16x2(p[2 * kk + 1][2], p[2 * kk + 1][3])};
        for (int dn = 0; dn < HD / 8; dn += 2) {
            unsigned b[4];
            load_matrix_x4<true>(b, &tile[kk * 16 + row][dn * 8 + column]);
            mma_bf16_16816(acc[dn], pa, b);
            mma_bf16_16816(acc[dn + 1], pa, b + 2);
        }
    }
}
"""#
}
