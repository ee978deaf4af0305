extension CUDAKernelSource {
    /// The teacher targets and the student cross-entropy over row chunks of `[rows, K]` f32 logits (each chunk
    /// made by a logits GEMM just before), so `[2B·256, K]` never exists whole (`SoftmaxCentering`,
    /// `SinkhornKnopp`, `SoftmaxCrossEntropy`; distillation-spec.md §4.2–4.4). NaN/∞ logits are reported through
    /// `first_nonfinite` (`atomicMin` of the flat index `(row_offset + row)·K + k`; the host sets it to all ones
    /// before the step and names the tensor, row and prototype after it, as `TrainingError.nonFiniteLogit`).
    ///
    /// - `center_accumulate_projected`: `pending[k] += Σ_rows T[r, k]` without reading the logits — they are the
    ///   head's last layer `T = y·Wᵀ` (`y` the normalised bottleneck rows, `W` the weight-normalised prototypes, no
    ///   bias), so `Σ_r T[r, k] = (Σ_r y_r)·W_k`: the block sums `column_partial_sums_bf16`'s f32 partials of `y`
    ///   (64 rows each, as the CPU's 64-row f32 blocks) into f64 `Σy` in shared memory, then one warp per prototype
    ///   forms the f64 dot product with `W_k`, four bf16 per lane and access when `n` is a multiple of 4
    ///   (`LaunchConfiguration.centerProjection`). The iBOT rows' centre read
    ///   2.1 G f32 logits (8.6 GB) per paper step; this reads `W` (64 MB) and the partials;
    /// - `center_update`: at the start of a step with queued rows, `c ← c·m + float(pending/rows)·(1 − m)` in f32
    ///   (rounded intrinsics, no FMA), `pending ← 0` (DINOv2's lagged `apply_center_update`);
    /// - `centered_softmax_rows`: `P = softmax((T − c)/τ_t)` per row, `z` formed as `(t − c)/τ` in f32, then
    ///   `exp(z − max)·(1/Σ)` (`CPUBackend.softmax`; max and Σ in one pass, the online softmax); one block per row (`LaunchConfiguration.rows(_:dim:)` with `dim` = K: 1,024 threads at K = 131,072); `P` may
    ///   be `T` (in place);
    /// - `cross_entropy_rows`: per student row, `z = S/τ_s`, teacher rows `P_t` from `teachers` (device pointers,
    ///   each a `[rows, K]` chunk paired row by row): `row_loss[r] = lse·ΣP − ΣP·z` (f64; `lse = max(z) −
    ///   log(1/Σ)` as the CPU takes it from the softmax at the maximum) and the bf16 gradient
    ///   `(w/τ_s)·(softmax(z)·Σ_t ΣP_t − Σ_t P_t)`, i.e. `(softmax(S/τs) − P)/(τs·rows)` for one teacher and
    ///   `w = 1/rows`; one block per row, two passes over `K` (max, Σ, ΣP and ΣP·z in the first: the online softmax);
    /// - `centered_cross_entropy_rows`: the two above for the iBOT pairs (one teacher row per student row) without
    ///   storing P, in two passes: the student's and the teacher's statistics and `ΣP·z` together (online, `ΣP` = 1),
    ///   then the gradient with P recomputed — 16 bytes per logit read and 2 written, against 28 and 6 for the two
    ///   kernels through memory;
    /// - Sinkhorn-Knopp in the CPU's log form (f64), over row chunks: `sinkhorn_column_partial` merges a chunk's
    ///   `max_b` and `Σ_b exp(z_bk + c_b − max)` into a running pair per prototype and, after the last chunk, sets
    ///   `a_k = −log Σ_b exp(z_bk + c_b)` (one thread per prototype; it also flags NaN/∞ logits),
    ///   `sinkhorn_row_scaling` `c_b = −log Σ_k exp(z_bk + a_k)` (one block per row), `sinkhorn_probabilities`
    ///   `P = exp(z + a_k + c_b)`; the column sums run over all the step's teacher rows, so a chunked caller
    ///   passes over its chunks once per column pass (`CUDASinkhorn`).
    public static let loss = CUDAKernelSource(
        file: "loss.cu",
        kernels: ["center_accumulate_projected", "center_update", "centered_softmax_rows", "cross_entropy_rows", "centered_cross_entropy_rows",
                  "sinkhorn_column_partial", "sinkhorn_row_scaling", "sinkhorn_probabilities"],
        code: #"""
#define CENTER_MAX_BOTTLENECK 1024
#define NEGATIVE_INFINITY_F64 __longlong_as_double(0xfff0000000000000ULL)

/* One value into a thread's running softmax statistics: the maximum m and Σ exp(z − m), rescaled when m grows
   (Milakov & Gimelshein, "Online normalizer calculation for softmax", 2018): one pass instead of two. */
static __device__ __forceinline__ void online_softmax_add(float z, float& maximum, float& sum) {
    if (z > maximum) {
        sum = sum * expf(maximum - z) + 1.0f;
        maximum = z;
    } else {
        sum += expf(z - maximum);
    }
}

/* online_softmax_add that also carries paired = Σ exp(z − maximum)·x (f64) for a value x that goes with z, rescaled
   with the sum (the same arithmetic for maximum and sum). */
static __device__ __forceinline__ void online_softmax_add_paired(float z, float x, float& maximum, float& sum, double& paired) {
    if (z > maximum) {
        const float rescale = expf(maximum - z);
        sum = sum * rescale + 1.0f;
        paired = paired * (double)rescale + (double)x;
        maximum = z;
    } else {
        const float weight = expf(z - maximum);
        sum += weight;
        paired += (double)weight * (double)x;
    }
}

/* The block's Σ exp(z − max) from every thread's running pair; `maximum` becomes the block's maximum. */
static __device__ __forceinline__ float block_softmax_sum(float& maximum, float sum, float* scratch) {
    const float block_maximum = block_max(maximum, scratch);
    const float rescaled = sum == 0.0f ? 0.0f : sum * expf(maximum - block_maximum);
    maximum = block_maximum;
    return block_sum(rescaled, scratch);
}

static __device__ __forceinline__ void flag_nonfinite(float value, unsigned long long index, unsigned long long* first) {
    if (!isfinite(value)) atomicMin(first, index);
}

extern "C" __global__ void center_accumulate_projected(const float* __restrict__ partials, int parts,
                                                       const bf16_t* __restrict__ weight, double* __restrict__ pending, int n, int k) {
    __shared__ double sums[CENTER_MAX_BOTTLENECK];
    if (n > CENTER_MAX_BOTTLENECK) return;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        double total = 0.0;
        for (int part = 0; part < parts; ++part) total += (double)partials[(long long)part * n + j];
        sums[j] = total;
    }
    __syncthreads();
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    const bool vectors = (n & 3) == 0 && (unsigned long long)weight % 8 == 0;
    for (long long column = (long long)blockIdx.x * warps + (threadIdx.x >> 5); column < k; column += (long long)gridDim.x * warps) {
        const bf16_t* row = weight + column * n;
        double dot = 0.0;
        if (vectors) {
            for (int j = 4 * lane; j < n; j += 128) {
                float w[4];
                load_columns<4>(row + j, w);
                for (int e = 0; e < 4; ++e) dot += sums[j + e] * (double)w[e];
            }
        } else {
            for (int j = lane; j < n; j += 32) dot += sums[j] * (double)bf16_to_f32(row[j]);
        }
        for (int offset = 16; offset > 0; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
        if (lane == 0) pending[column] += dot;
    }
}

extern "C" __global__ void center_update(float* __restrict__ center, double* __restrict__ pending, int k,
                                         double rows, float keep, float add) {
    for (long long column = blockIdx.x * (long long)blockDim.x + threadIdx.x; column < k;
         column += (long long)gridDim.x * blockDim.x) {
        const float batch_mean = (float)(pending[column] / rows);
        center[column] = __fadd_rn(__fmul_rn(center[column], keep), __fmul_rn(batch_mean, add));
        pending[column] = 0.0;
    }
}

/* P = softmax((T − c)/τ) element by element, once the row's maximum and 1/Σ are known: what centered_softmax_rows
   writes and centered_cross_entropy_rows recomputes (one function, so both give the same bits). */
static __device__ __forceinline__ float centered_probability(float t, float c, float tau, float maximum, float inverse) {
    return __fmul_rn(expf(__fdiv_rn(__fsub_rn(t, c), tau) - maximum), inverse);
}

/* The first pass of a centred softmax row, W columns per access: the row's maximum of z = (t − c)/τ (returned in
   `maximum`) and 1/Σ exp(z − max) (returned); NaN/∞ logits flagged at flat + column. */
template <int W> static __device__ __forceinline__ float centered_softmax_statistics(const float* tr, const float* __restrict__ center,
                                                                                    unsigned long long* __restrict__ first_nonfinite,
                                                                                    unsigned long long flat, int k, float tau,
                                                                                    float& maximum, float* scratch) {
    const int n = k / W;
    float sum = 0.0f;
    maximum = __int_as_float(0xff800000);
    for (int q = threadIdx.x; q < n; q += blockDim.x) {
        float t[W], c[W];
        load_columns<W>(tr + W * q, t);
        load_columns<W>(center + W * q, c);
        for (int e = 0; e < W; ++e) {
            flag_nonfinite(t[e], flat + (unsigned long long)(q * W + e), first_nonfinite);
            online_softmax_add(__fdiv_rn(__fsub_rn(t[e], c[e]), tau), maximum, sum);
        }
    }
    return 1.0f / block_softmax_sum(maximum, sum, scratch);
}

/* One row of centered_softmax_rows, W columns per access (W = 4: K a multiple of 4 and t, center, p 16-byte aligned). */
template <int W> static __device__ __forceinline__ void centered_softmax_row(const float* tr, const float* __restrict__ center, float* pr,
                                                                            unsigned long long* __restrict__ first_nonfinite,
                                                                            unsigned long long flat, int k, float tau, float* scratch) {
    const int n = k / W;
    float maximum;
    const float inverse = centered_softmax_statistics<W>(tr, center, first_nonfinite, flat, k, tau, maximum, scratch);
    for (int q = threadIdx.x; q < n; q += blockDim.x) {
        float t[W], c[W], y[W];
        load_columns<W>(tr + W * q, t);
        load_columns<W>(center + W * q, c);
        for (int e = 0; e < W; ++e) y[e] = centered_probability(t[e], c[e], tau, maximum, inverse);
        store_columns<W>(pr + W * q, y);
    }
}

/* p may be t. */
extern "C" __global__ void centered_softmax_rows(const float* t, const float* __restrict__ center, float* p,
                                                 unsigned long long* __restrict__ first_nonfinite, int rows, int k,
                                                 float tau, long long row_offset) {
    __shared__ float scratch[32];
    const long long row = blockIdx.x;
    if (row >= rows) return;
    const unsigned long long flat = (unsigned long long)((row_offset + row) * k);
    const bool aligned = (k & 3) == 0 && (unsigned long long)t % 16 == 0 && (unsigned long long)center % 16 == 0
                      && (unsigned long long)p % 16 == 0;
    if (aligned) centered_softmax_row<4>(t + row * k, center, p + row * k, first_nonfinite, flat, k, tau, scratch);
    else centered_softmax_row<1>(t + row * k, center, p + row * k, first_nonfinite, flat, k, tau, scratch);
}

#define MAX_TEACHERS 8

/* The teacher rows of cross_entropy_rows: `count` stored probability rows. */
struct StoredTeachers {
    const float* const* rows;
    int count;
    template <int W> __device__ __forceinline__ void load(int q, int i, float* t) const { load_columns<W>(rows[i] + W * q, t); }
};

/* The one teacher row of centered_cross_entropy_rows: softmax((T − c)/τ_t) recomputed from the logits, as
   centered_softmax_rows would have stored it. */
struct CenteredTeacher {
    const float* logits;
    const float* center;
    float tau, maximum, inverse;
    static constexpr int count = 1;
    template <int W> __device__ __forceinline__ void load(int q, int, float* p) const {
        float t[W], c[W];
        load_columns<W>(logits + W * q, t);
        load_columns<W>(center + W * q, c);
        for (int e = 0; e < W; ++e) p[e] = centered_probability(t[e], c[e], tau, maximum, inverse);
    }
};

/* A row's loss lse·ΣP − ΣP·z (f64), lse = max(z) − log(1/Σ) as the CPU takes it from the softmax at the maximum. */
static __device__ __forceinline__ double cross_entropy_row_loss(float maximum, float inverse, double mass, double cross) {
    return ((double)maximum - log((double)inverse)) * mass - cross;
}

/* The cross-entropy's second pass over one row, once the student's maximum and 1/Σ of z = S/τ are known: the bf16
   gradient factor·(softmax(z)·ΣP − Σ_t P_t) with scale = factor·ΣP (factor = w/τ). */
template <int W, typename Teachers> static __device__ __forceinline__ void cross_entropy_gradient(const float* __restrict__ sr, const Teachers& teachers,
                                                                                                bf16_t* __restrict__ gr, int k, float tau,
                                                                                                float maximum, float inverse, float factor,
                                                                                                float scale) {
    const int n = k / W;
    for (int q = threadIdx.x; q < n; q += blockDim.x) {
        float s[W], g[W];
        load_columns<W>(sr + W * q, s);
        for (int e = 0; e < W; ++e) g[e] = __fmul_rn(__fmul_rn(expf(__fdiv_rn(s[e], tau) - maximum), inverse), scale);
        for (int i = 0; i < teachers.count; ++i) {
            float t[W];
            teachers.template load<W>(q, i, t);
            for (int e = 0; e < W; ++e) g[e] = __fsub_rn(g[e], __fmul_rn(factor, t[e]));
        }
        store_columns<W>(gr + W * q, g);
    }
}

/* One row of the cross-entropy, W columns per access (W = 4: K a multiple of 4, the student and teacher rows 16-byte
   aligned, the gradient 8-byte aligned); `teachers` gives the row's stored teacher probabilities. */
template <int W> static __device__ __forceinline__ void cross_entropy_row(const float* __restrict__ sr, const StoredTeachers& teachers,
                                                                         bf16_t* __restrict__ gr, double* __restrict__ row_loss,
                                                                         unsigned long long* __restrict__ first_nonfinite,
                                                                         unsigned long long flat, int k, float tau, float weight,
                                                                         float* scratch, double* scratch64) {
    const int n = k / W;
    float maximum = __int_as_float(0xff800000), sum = 0.0f;
    double mass = 0.0, cross = 0.0;
    for (int q = threadIdx.x; q < n; q += blockDim.x) {
        float s[W], z[W];
        load_columns<W>(sr + W * q, s);
        for (int e = 0; e < W; ++e) {
            flag_nonfinite(s[e], flat + (unsigned long long)(q * W + e), first_nonfinite);
            z[e] = __fdiv_rn(s[e], tau);
            online_softmax_add(z[e], maximum, sum);
        }
        for (int i = 0; i < teachers.count; ++i) {
            float t[W];
            teachers.template load<W>(q, i, t);
            for (int e = 0; e < W; ++e) {
                mass += (double)t[e];
                cross += (double)t[e] * (double)z[e];
            }
        }
    }
    const float inverse = 1.0f / block_softmax_sum(maximum, sum, scratch);
    mass = block_sum_f64(mass, scratch64);
    cross = block_sum_f64(cross, scratch64);
    const float factor = __fdiv_rn(weight, tau);
    cross_entropy_gradient<W>(sr, teachers, gr, k, tau, maximum, inverse, factor, __fmul_rn(factor, (float)mass));
    if (threadIdx.x == 0) *row_loss = cross_entropy_row_loss(maximum, inverse, mass, cross);
}

extern "C" __global__ void cross_entropy_rows(const float* __restrict__ student, const unsigned long long* __restrict__ teachers,
                                              int teacher_count, bf16_t* __restrict__ gradient,
                                              double* __restrict__ row_loss, unsigned long long* __restrict__ first_nonfinite,
                                              int rows, int k, float tau, float weight, long long row_offset) {
    __shared__ float scratch[32];
    __shared__ double scratch64[32];
    const long long row = blockIdx.x;
    if (row >= rows) return;
    const float* tr[MAX_TEACHERS];
    const int count = min(teacher_count, MAX_TEACHERS);
    for (int i = 0; i < count; ++i) tr[i] = (const float*)teachers[i] + row * k;
    const StoredTeachers stored = {tr, count};
    const unsigned long long flat = (unsigned long long)((row_offset + row) * k);
    bool aligned = (k & 3) == 0 && (unsigned long long)student % 16 == 0 && (unsigned long long)gradient % 8 == 0;
    for (int i = 0; i < count; ++i) aligned = aligned && teachers[i] % 16 == 0;
    if (aligned) {
        cross_entropy_row<4>(student + row * k, stored, gradient + row * k, row_loss + row, first_nonfinite, flat, k, tau, weight,
                             scratch, scratch64);
    } else {
        cross_entropy_row<1>(student + row * k, stored, gradient + row * k, row_loss + row, first_nonfinite, flat, k, tau, weight,
                             scratch, scratch64);
    }
}

/* centered_softmax_rows then cross_entropy_rows with that one teacher row (the iBOT pairs: row r of the student
   chunk against row r of the teacher chunk), without storing P, in two passes over the row: the first gathers the
   student's statistics, the teacher's (the same online maximum and Σ as centered_softmax_statistics, so P is the same
   bits) and C = Σ exp(u − max_t)·z (f64, rescaled as max_t grows), so ΣP·z = C/Σ_t and ΣP = 1; the second writes
   the gradient with P recomputed. Per logit 16 bytes read, 2 written (the two kernels through memory: 28 read,
   6 written). The gradient equals the two kernels' but for ΣP (1 here, their f64 sum of the f32 P there); teacher
   NaN/∞ flagged in `teacher_nonfinite`, the student's in `student_nonfinite`. */
template <int W> static __device__ __forceinline__ void centered_cross_entropy_row(const float* tr, const float* __restrict__ center,
                                                                                  const float* __restrict__ sr, bf16_t* __restrict__ gr,
                                                                                  double* __restrict__ row_loss,
                                                                                  unsigned long long* __restrict__ teacher_nonfinite,
                                                                                  unsigned long long* __restrict__ student_nonfinite,
                                                                                  unsigned long long flat, int k, float teacher_tau,
                                                                                  float tau, float weight, float* scratch, double* scratch64) {
    const int n = k / W;
    float maximum = __int_as_float(0xff800000), sum = 0.0f;
    float teacher_maximum = __int_as_float(0xff800000), teacher_sum = 0.0f;
    double cross = 0.0;
    for (int q = threadIdx.x; q < n; q += blockDim.x) {
        float s[W], t[W], c[W];
        load_columns<W>(sr + W * q, s);
        load_columns<W>(tr + W * q, t);
        load_columns<W>(center + W * q, c);
        for (int e = 0; e < W; ++e) {
            const unsigned long long index = flat + (unsigned long long)(q * W + e);
            flag_nonfinite(s[e], index, student_nonfinite);
            flag_nonfinite(t[e], index, teacher_nonfinite);
            const float z = __fdiv_rn(s[e], tau);
            online_softmax_add(z, maximum, sum);
            online_softmax_add_paired(__fdiv_rn(__fsub_rn(t[e], c[e]), teacher_tau), z, teacher_maximum, teacher_sum, cross);
        }
    }
    const float inverse = 1.0f / block_softmax_sum(maximum, sum, scratch);
    const float own_teacher_maximum = teacher_maximum;
    CenteredTeacher teacher = {tr, center, teacher_tau, 0.0f, 0.0f};
    teacher.inverse = 1.0f / block_softmax_sum(teacher_maximum, teacher_sum, scratch);
    teacher.maximum = teacher_maximum;
    cross = block_sum_f64(cross == 0.0 ? 0.0 : cross * (double)expf(own_teacher_maximum - teacher_maximum), scratch64);
    cross *= (double)teacher.inverse;
    const float factor = __fdiv_rn(weight, tau);
    cross_entropy_gradient<W>(sr, teacher, gr, k, tau, maximum, inverse, factor, factor);
    if (threadIdx.x == 0) *row_loss = cross_entropy_row_loss(maximum, inverse, 1.0, cross);
}

extern "C" __global__ void centered_cross_entropy_rows(const float* __restrict__ teacher, const float* __restrict__ center,
                                                       const float* __restrict__ student, bf16_t* __restrict__ gradient,
                                                       double* __restrict__ row_loss, unsigned long long* __restrict__ teacher_nonfinite,
                                                       unsigned long long* __restrict__ student_nonfinite, int rows, int k,
                                                       float teacher_tau, float tau, float weight, long long row_offset) {
    __shared__ float scratch[32];
    __shared__ double scratch64[32];
    const long long row = blockIdx.x;
    if (row >= rows) return;
    const unsigned long long flat = (unsigned long long)((row_offset + row) * k);
    const bool aligned = (k & 3) == 0 && (unsigned long long)teacher % 16 == 0 && (unsigned long long)center % 16 == 0
                      && (unsigned long long)student % 16 == 0 && (unsigned long long)gradient % 8 == 0;
    if (aligned) {
        centered_cross_entropy_row<4>(teacher + row * k, center, student + row * k, gradient + row * k, row_loss + row, teacher_nonfinite,
                                      student_nonfinite, flat, k, teacher_tau, tau, weight, scratch, scratch64);
    } else {
        centered_cross_entropy_row<1>(teacher + row * k, center, student + row * k, gradient + row * k, row_loss + row, teacher_nonfinite,
                                      student_nonfinite, flat, k, teacher_tau, tau, weight, scratch, scratch64);
    }
}

/* One row chunk of Sinkhorn-Knopp's column pass: per prototype, the chunk's max_b and Σ_b exp(z_bk + c_b − max)
   (f64) merged into the running `maximum`/`sum` (`first`: the pass's first chunk, which starts them); after the
   pass's `last` chunk, a_k = −(max + log Σ). `c` is the chunk's own rows. NaN/∞ logits are flagged at
   (row_offset + b)·K + k. */
extern "C" __global__ void sinkhorn_column_partial(const float* __restrict__ t, const double* __restrict__ c,
                                                   double* __restrict__ running_maximum, double* __restrict__ running_sum,
                                                   double* __restrict__ a, unsigned long long* __restrict__ first_nonfinite,
                                                   int rows, int k, float tau, long long row_offset, int first, int last) {
    for (long long column = blockIdx.x * (long long)blockDim.x + threadIdx.x; column < k;
         column += (long long)gridDim.x * blockDim.x) {
        double maximum = NEGATIVE_INFINITY_F64;
        for (int b = 0; b < rows; ++b) {
            const float value = t[(long long)b * k + column];
            flag_nonfinite(value, (unsigned long long)((row_offset + b) * k + column), first_nonfinite);
            maximum = fmax(maximum, (double)__fdiv_rn(value, tau) + c[b]);
        }
        double sum = 0.0;
        for (int b = 0; b < rows; ++b) sum += exp((double)__fdiv_rn(t[(long long)b * k + column], tau) + c[b] - maximum);
        if (!first) {
            const double previous = running_maximum[column];
            const double merged = fmax(previous, maximum);
            sum = running_sum[column] * exp(previous - merged) + sum * exp(maximum - merged);
            maximum = merged;
        }
        if (last) {
            a[column] = -(maximum + log(sum));
        } else {
            running_maximum[column] = maximum;
            running_sum[column] = sum;
        }
    }
}

extern "C" __global__ void sinkhorn_row_scaling(const float* __restrict__ t, const double* __restrict__ a,
                                                double* __restrict__ c, int rows, int k, float tau) {
    __shared__ double scratch[32];
    const long long row = blockIdx.x;
    if (row >= rows) return;
    const float* tr = t + row * k;
    double maximum = NEGATIVE_INFINITY_F64;
    for (int j = threadIdx.x; j < k; j += blockDim.x) maximum = fmax(maximum, (double)__fdiv_rn(tr[j], tau) + a[j]);
    /* block maximum in f64: warp maxima, then the first warp's. */
    for (int offset = 16; offset > 0; offset >>= 1) maximum = fmax(maximum, __shfl_xor_sync(0xffffffffu, maximum, offset));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = maximum;
    __syncthreads();
    maximum = lane < warps ? scratch[lane] : NEGATIVE_INFINITY_F64;
    for (int offset = 16; offset > 0; offset >>= 1) maximum = fmax(maximum, __shfl_xor_sync(0xffffffffu, maximum, offset));
    double sum = 0.0;
    for (int j = threadIdx.x; j < k; j += blockDim.x) sum += exp((double)__fdiv_rn(tr[j], tau) + a[j] - maximum);
    sum = block_sum_f64(sum, scratch);
    if (threadIdx.x == 0) c[row] = -(maximum + log(sum));
}

/* p may be t. */
extern "C" __global__ void sinkhorn_probabilities(const float* t, const double* __restrict__ a, const double* __restrict__ c,
                                                  float* p, int rows, int k, float tau) {
    const long long total = (long long)rows * k;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        const long long b = i / k, column = i - b * k;
        p[i] = (float)exp((double)__fdiv_rn(t[i], tau) + a[column] + c[b]);
    }
}
"""#)
}
