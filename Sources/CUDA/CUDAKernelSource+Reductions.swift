extension CUDAKernelSource {
    /// Column sums over the rows of a matrix in two deterministic stages (no atomics, so a gradient has the same
    /// bits on every run): stage 1 sums each part of `rowsPerPart` rows into one f32 row of `partials`
    /// `[parts, cols]`; stage 2 adds the parts in order into the target, `target[c] += Σ_p partials[p, c]`.
    /// Every bias gradient of the backward is such a sum (`Σ_rows dy`; the same `partials` layout is written by
    /// `layer_norm_backward` and `layer_scale_backward` for dγ/dβ).
    ///
    /// - `column_partial_sums_bf16` / `_f32`: one block per part (`LaunchConfiguration.columnParts`), its threads
    ///   striding over the columns, each summing four adjacent columns (one 8- or 16-byte read per row; one column
    ///   when `cols` is not a multiple of 4 or `x` is not aligned) over the part's rows in row order (coalesced reads);
    /// - `accumulate_partials`: one thread per column (`LaunchConfiguration.elementwise(count: cols)`).
    public static let reductions = CUDAKernelSource(
        file: "reductions.cu",
        kernels: ["column_partial_sums_bf16", "column_partial_sums_f32", "accumulate_partials"],
        code: #"""
/* partials[part, c] = Σ_{r in part} x[r, c]; part = blockIdx.x covers rows [part·rows_per_part, …) ∩ [0, rows).
   Each thread sums W adjacent columns (W = 4 when cols is a multiple of 4 and x is aligned to a 4-column access),
   every column in row order: the same sums either way. */
template <int W, typename In>
static __device__ __forceinline__ void column_partial_sums(const In* __restrict__ x, float* __restrict__ partials,
                                                           int rows, int cols, int rows_per_part) {
    const int part = blockIdx.x;
    const int first = part * rows_per_part;
    if (first >= rows) return;
    const int last = min(rows, first + rows_per_part);
    for (int c = threadIdx.x * W; c < cols; c += blockDim.x * W) {
        float sum[W];
        for (int e = 0; e < W; ++e) sum[e] = 0.0f;
        for (int r = first; r < last; ++r) {
            float v[W];
            load_columns<W>(x + (long long)r * cols + c, v);
            for (int e = 0; e < W; ++e) sum[e] += v[e];
        }
        for (int e = 0; e < W; ++e) partials[(long long)part * cols + c + e] = sum[e];
    }
}

template <typename In>
static __device__ __forceinline__ void column_partial_sums_any(const In* __restrict__ x, float* __restrict__ partials,
                                                               int rows, int cols, int rows_per_part) {
    if (cols % 4 == 0 && (unsigned long long)x % (4 * sizeof(In)) == 0) column_partial_sums<4>(x, partials, rows, cols, rows_per_part);
    else column_partial_sums<1>(x, partials, rows, cols, rows_per_part);
}

extern "C" __global__ void column_partial_sums_bf16(const bf16_t* __restrict__ x, float* __restrict__ partials,
                                                    int rows, int cols, int rows_per_part) {
    column_partial_sums_any(x, partials, rows, cols, rows_per_part);
}

extern "C" __global__ void column_partial_sums_f32(const float* __restrict__ x, float* __restrict__ partials,
                                                   int rows, int cols, int rows_per_part) {
    column_partial_sums_any(x, partials, rows, cols, rows_per_part);
}

/* target[c] += Σ_p partials[p, c], parts in order, f32. Grid-stride over the columns. */
extern "C" __global__ void accumulate_partials(const float* __restrict__ partials, float* __restrict__ target,
                                               int parts, int cols) {
    for (long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x; c < cols; c += (long long)gridDim.x * blockDim.x) {
        float sum = 0.0f;
        for (int p = 0; p < parts; ++p) sum += partials[(long long)p * cols + c];
        target[c] += sum;
    }
}
"""#)
}
