extension CUDAKernelSource {
    /// Backward of the LayerNorm and LayerScale kernels (`Backend.layerNormBackward`,
    /// `Backend.layerScaleResidualBackward`), with the parameter gradients as per-part column partials
    /// (`reductions.cu`'s `accumulate_partials` adds them to the gradient buffer):
    ///
    /// - `layer_norm_backward_bf16` / `_f32`: `x` is the LayerNorm's f32 input `[rows, dim]` (the saved residual
    ///   stream), `dy` its output gradient (bf16 from a GEMM's dX, or f32 for the final norm fed by the heads).
    ///   μ and 1/σ are recomputed as the forward computes them (two passes); with `x̂ = (x − μ)/σ`, `ĝ = dy ⊙ w`:
    ///   `dx += (ĝ − mean(ĝ) − x̂·mean(ĝ ⊙ x̂))/σ` (f32, accumulates into the residual stream's gradient),
    ///   `dweight_partials[part] = Σ_rows dy ⊙ x̂`, `dbias_partials[part] = Σ_rows dy`. One block per part of
    ///   `rowsPerPart` rows (`LaunchConfiguration.layerNormBackward`); each thread keeps its columns' partial
    ///   sums in registers (at most 8 columns per thread: dim ≤ 8·blockDim).
    /// - `layer_norm_backward_warps_bf16` / `_f32`: the same results for `dim ≤ 768` (the student's width), one
    ///   warp per row instead of one block: 8 warps share a part's 64 rows, each lane keeps its ≤ 24 columns of the
    ///   row and of its dγ/dβ sums in registers (warp reductions, no block barrier per row; four adjacent columns
    ///   per access when `dim` is a multiple of 4 and the rows are aligned), and the 8 warps' sums meet in shared
    ///   memory at the end (`LaunchConfiguration.layerNormBackwardWarps`).
    /// - `layer_scale_backward`: from the residual gradient `dres` f32 `[rows, dim]`, `dbranch` bf16 =
    ///   `gamma ⊙ dres` (a copy without gamma) — the input of the branch's last GEMM's backward —,
    ///   `dgamma_partials[part] = Σ_rows dres ⊙ branch` (`branch`: the forward's bf16 branch output) and, when
    ///   given, `dbias_partials[part] = Σ_rows dbranch` (the stored bf16 values: that GEMM's bias gradient, as
    ///   `column_partial_sums_bf16` would sum it). One block per part of rows, threads striding over columns, four
    ///   adjacent columns per access when `dim` is a multiple of 4 and the rows are aligned.
    public static let layerNormBackward = CUDAKernelSource(
        file: "layer_norm_backward.cu",
        kernels: ["layer_norm_backward_bf16", "layer_norm_backward_f32", "layer_norm_backward_warps_bf16",
                  "layer_norm_backward_warps_f32", "layer_scale_backward"],
        code: #"""
#define LN_BACKWARD_COLUMNS 8


template <typename Grad>
static __device__ __forceinline__ void layer_norm_backward(const float* __restrict__ x, const float* __restrict__ weight,
                                                           const Grad* __restrict__ dy, float* __restrict__ dx,
                                                           float* __restrict__ dweight_partials,
                                                           float* __restrict__ dbias_partials,
                                                           int rows, int dim, float eps, int rows_per_part) {
    __shared__ float scratch[32];
    const int part = blockIdx.x;
    const int first = part * rows_per_part;
    if (first >= rows) return;
    const int last = min(rows, first + rows_per_part);
    float dweight[LN_BACKWARD_COLUMNS], dbias[LN_BACKWARD_COLUMNS];
    for (int j = 0; j < LN_BACKWARD_COLUMNS; ++j) { dweight[j] = 0.0f; dbias[j] = 0.0f; }
    for (int row = first; row < last; ++row) {
        const float* xr = x + (long long)row * dim;
        const long long base = (long long)row * dim;
        float sum = 0.0f;
        for (int i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i];
        const float mean = block_sum(sum, scratch) / (float)dim;
        float squares = 0.0f;
        for (int i = threadIdx.x; i < dim; i += blockDim.x) {
            const float d = xr[i] - mean;
            squares += d * d;
        }
        const float inverse = 1.0f / sqrtf(block_sum(squares, scratch) / (float)dim + eps);
        float g_sum = 0.0f, gx_sum = 0.0f;
        for (int i = threadIdx.x, j = 0; i < dim; i += blockDim.x, ++j) {
            const float xhat = (xr[i] - mean) * inverse;
            const float g = as_f32(dy[base + i]);
            const float ghat = g * weight[i];
            g_sum += ghat;
            gx_sum += ghat * xhat;
            dweight[j] += g * xhat;
            dbias[j] += g;
        }
        const float g_mean = block_sum(g_sum, scratch) / (float)dim;
        const float gx_mean = block_sum(gx_sum, scratch) / (float)dim;
        for (int i = threadIdx.x; i < dim; i += blockDim.x) {
            const float xhat = (xr[i] - mean) * inverse;
            const float ghat = as_f32(dy[base + i]) * weight[i];
            dx[base + i] += (ghat - g_mean - xhat * gx_mean) * inverse;
        }
    }
    for (int i = threadIdx.x, j = 0; i < dim; i += blockDim.x, ++j) {
        dweight_partials[(long long)part * dim + i] = dweight[j];
        dbias_partials[(long long)part * dim + i] = dbias[j];
    }
}

extern "C" __global__ void layer_norm_backward_bf16(const float* __restrict__ x, const float* __restrict__ weight,
                                                    const bf16_t* __restrict__ dy, float* __restrict__ dx,
                                                    float* __restrict__ dweight_partials, float* __restrict__ dbias_partials,
                                                    int rows, int dim, float eps, int rows_per_part) {
    layer_norm_backward(x, weight, dy, dx, dweight_partials, dbias_partials, rows, dim, eps, rows_per_part);
}

extern "C" __global__ void layer_norm_backward_f32(const float* __restrict__ x, const float* __restrict__ weight,
                                                   const float* __restrict__ dy, float* __restrict__ dx,
                                                   float* __restrict__ dweight_partials, float* __restrict__ dbias_partials,
                                                   int rows, int dim, float eps, int rows_per_part) {
    layer_norm_backward(x, weight, dy, dx, dweight_partials, dbias_partials, rows, dim, eps, rows_per_part);
}

#define LN_WARP_COLUMNS 24
#define LN_WARPS 8
#define LN_EXCHANGE 256

/* dim ≤ 32·LN_WARP_COLUMNS; blockDim.x = 32·LN_WARPS. Lane l owns the columns W·(l + 32·j) + e (e < W, j < 24/W):
   W = 4 (16-byte x/dx/weight and 4-column dy accesses) when dim is a multiple of 4 and every row is aligned to them,
   else W = 1. Register v = W·j + e holds column W·(lane + 32·j) + e. */
template <int W, typename Grad>
static __device__ __forceinline__ void layer_norm_backward_warps(const float* __restrict__ x, const float* __restrict__ weight,
                                                                 const Grad* __restrict__ dy, float* __restrict__ dx,
                                                                 float* __restrict__ dweight_partials,
                                                                 float* __restrict__ dbias_partials,
                                                                 int rows, int dim, float eps, int rows_per_part) {
    __shared__ float exchange[LN_WARPS][LN_EXCHANGE];
    const int part = blockIdx.x;
    const int first = part * rows_per_part;
    if (first >= rows) return;
    const int last = min(rows, first + rows_per_part);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int groups = LN_WARP_COLUMNS / W;
    float dweight[LN_WARP_COLUMNS], dbias[LN_WARP_COLUMNS];
    for (int v = 0; v < LN_WARP_COLUMNS; ++v) { dweight[v] = 0.0f; dbias[v] = 0.0f; }
    for (int row = first + warp; row < last; row += LN_WARPS) {
        const long long base = (long long)row * dim;
        float xv[LN_WARP_COLUMNS], gv[LN_WARP_COLUMNS];
        float sum = 0.0f;
        for (int j = 0; j < groups; ++j) {
            const int i = W * (lane + 32 * j);
            if (i < dim) {
                load_columns<W>(x + base + i, xv + W * j);
                load_columns<W>(dy + base + i, gv + W * j);
            } else {
                for (int e = 0; e < W; ++e) { xv[W * j + e] = 0.0f; gv[W * j + e] = 0.0f; }
            }
            for (int e = 0; e < W; ++e) sum += xv[W * j + e];
        }
        const float mean = warp_sum(sum) / (float)dim;
        float squares = 0.0f;
        for (int j = 0; j < groups; ++j) {
            for (int e = 0; e < W; ++e) {
                const float d = W * (lane + 32 * j) < dim ? xv[W * j + e] - mean : 0.0f;
                squares += d * d;
            }
        }
        const float inverse = 1.0f / sqrtf(warp_sum(squares) / (float)dim + eps);
        float g_sum = 0.0f, gx_sum = 0.0f;
        for (int j = 0; j < groups; ++j) {
            const int i = W * (lane + 32 * j);
            if (i < dim) {
                float w[W];
                load_columns<W>(weight + i, w);
                for (int e = 0; e < W; ++e) {
                    const int v = W * j + e;
                    const float xhat = (xv[v] - mean) * inverse;
                    const float ghat = gv[v] * w[e];
                    g_sum += ghat;
                    gx_sum += ghat * xhat;
                    dweight[v] += gv[v] * xhat;
                    dbias[v] += gv[v];
                    gv[v] = ghat;
                }
            }
        }
        const float g_mean = warp_sum(g_sum) / (float)dim;
        const float gx_mean = warp_sum(gx_sum) / (float)dim;
        for (int j = 0; j < groups; ++j) {
            const int i = W * (lane + 32 * j);
            if (i < dim) {
                float d[W];
                load_columns<W>(dx + base + i, d);
                for (int e = 0; e < W; ++e) {
                    const int v = W * j + e;
                    const float xhat = (xv[v] - mean) * inverse;
                    d[e] += (gv[v] - g_mean - xhat * gx_mean) * inverse;
                }
                store_columns<W>(dx + base + i, d);
            }
        }
    }
    /* The 8 warps' column sums, LN_EXCHANGE columns at a time, weight then bias. */
    for (int start = 0; start < dim; start += LN_EXCHANGE) {
        for (int which = 0; which < 2; ++which) {
            __syncthreads();
            for (int j = 0; j < groups; ++j) {
                for (int e = 0; e < W; ++e) {
                    const int i = W * (lane + 32 * j) + e;
                    if (i >= start && i < start + LN_EXCHANGE) exchange[warp][i - start] = which ? dbias[W * j + e] : dweight[W * j + e];
                }
            }
            __syncthreads();
            for (int c = threadIdx.x; c < LN_EXCHANGE && start + c < dim; c += blockDim.x) {
                float total = 0.0f;
                for (int w = 0; w < LN_WARPS; ++w) total += exchange[w][c];
                (which ? dbias_partials : dweight_partials)[(long long)part * dim + start + c] = total;
            }
        }
    }
}

template <typename Grad>
static __device__ __forceinline__ void layer_norm_backward_warps_any(const float* __restrict__ x, const float* __restrict__ weight,
                                                                     const Grad* __restrict__ dy, float* __restrict__ dx,
                                                                     float* __restrict__ dweight_partials,
                                                                     float* __restrict__ dbias_partials,
                                                                     int rows, int dim, float eps, int rows_per_part) {
    const bool aligned = dim % 4 == 0 && (unsigned long long)x % 16 == 0 && (unsigned long long)dx % 16 == 0
                      && (unsigned long long)weight % 16 == 0 && (unsigned long long)dy % (4 * sizeof(Grad)) == 0;
    if (aligned) layer_norm_backward_warps<4>(x, weight, dy, dx, dweight_partials, dbias_partials, rows, dim, eps, rows_per_part);
    else layer_norm_backward_warps<1>(x, weight, dy, dx, dweight_partials, dbias_partials, rows, dim, eps, rows_per_part);
}

extern "C" __global__ void layer_norm_backward_warps_bf16(const float* __restrict__ x, const float* __restrict__ weight,
                                                          const bf16_t* __restrict__ dy, float* __restrict__ dx,
                                                          float* __restrict__ dweight_partials, float* __restrict__ dbias_partials,
                                                          int rows, int dim, float eps, int rows_per_part) {
    layer_norm_backward_warps_any(x, weight, dy, dx, dweight_partials, dbias_partials, rows, dim, eps, rows_per_part);
}

extern "C" __global__ void layer_norm_backward_warps_f32(const float* __restrict__ x, const float* __restrict__ weight,
                                                         const float* __restrict__ dy, float* __restrict__ dx,
                                                         float* __restrict__ dweight_partials, float* __restrict__ dbias_partials,
                                                         int rows, int dim, float eps, int rows_per_part) {
    layer_norm_backward_warps_any(x, weight, dy, dx, dweight_partials, dbias_partials, rows, dim, eps, rows_per_part);
}

/* One part of rows, W adjacent columns per thread (W = 4: one 16-byte dres / 8-byte branch and dbranch access), every
   column's sums in row order. gamma null: no LayerScale (dbranch = dres, branch not read, no dγ partials);
   dbias_partials null: no bias sums. The bias sums add the stored (bf16-rounded) dbranch: column_partial_sums_bf16's
   partials of dbranch, bit for bit. */
template <int W>
static __device__ __forceinline__ void layer_scale_backward_columns(const float* __restrict__ dres, const bf16_t* __restrict__ branch,
                                                                    const float* __restrict__ gamma, bf16_t* __restrict__ dbranch,
                                                                    float* __restrict__ dgamma_partials,
                                                                    float* __restrict__ dbias_partials,
                                                                    int rows, int dim, int rows_per_part) {
    const int part = blockIdx.x;
    const int first = part * rows_per_part;
    if (first >= rows) return;
    const int last = min(rows, first + rows_per_part);
    for (int c = threadIdx.x * W; c < dim; c += blockDim.x * W) {
        float scale[W], gamma_sum[W], bias_sum[W];
        if (gamma) load_columns<W>(gamma + c, scale);
        else for (int e = 0; e < W; ++e) scale[e] = 1.0f;
        for (int e = 0; e < W; ++e) { gamma_sum[e] = 0.0f; bias_sum[e] = 0.0f; }
        for (int r = first; r < last; ++r) {
            const long long i = (long long)r * dim + c;
            float g[W], out[W];
            load_columns<W>(dres + i, g);
            for (int e = 0; e < W; ++e) out[e] = scale[e] * g[e];
            store_columns<W>(dbranch + i, out);
            if (dbias_partials) for (int e = 0; e < W; ++e) bias_sum[e] += bf16_to_f32(f32_to_bf16(out[e]));
            if (gamma) {
                float b[W];
                load_columns<W>(branch + i, b);
                for (int e = 0; e < W; ++e) gamma_sum[e] += g[e] * b[e];
            }
        }
        const long long o = (long long)part * dim + c;
        if (gamma) for (int e = 0; e < W; ++e) dgamma_partials[o + e] = gamma_sum[e];
        if (dbias_partials) for (int e = 0; e < W; ++e) dbias_partials[o + e] = bias_sum[e];
    }
}

extern "C" __global__ void layer_scale_backward(const float* __restrict__ dres, const bf16_t* __restrict__ branch,
                                                const float* __restrict__ gamma, bf16_t* __restrict__ dbranch,
                                                float* __restrict__ dgamma_partials, float* __restrict__ dbias_partials,
                                                int rows, int dim, int rows_per_part) {
    const bool aligned = dim % 4 == 0 && (unsigned long long)dres % 16 == 0 && (unsigned long long)dbranch % 8 == 0
                      && (unsigned long long)branch % 8 == 0 && (unsigned long long)gamma % 16 == 0;
    if (aligned) layer_scale_backward_columns<4>(dres, branch, gamma, dbranch, dgamma_partials, dbias_partials, rows, dim, rows_per_part);
    else layer_scale_backward_columns<1>(dres, branch, gamma, dbranch, dgamma_partials, dbias_partials, rows, dim, rows_per_part);
}
"""#)
}
