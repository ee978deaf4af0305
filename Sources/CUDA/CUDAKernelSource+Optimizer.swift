extension CUDAKernelSource {
    /// The optimiser step over the flat f32 parameter buffer, as `GradientClipping.clipPerModule`, `AdamW.update`
    /// and `StudentEMA.update` compute it, over the chunks of an `OptimizerChunkPlan` (each chunk inside one
    /// parameter range, so it has one lr/weight-decay group and one module):
    ///
    /// - `gradient_square_partials`: `partials[chunk] = Σ g²` of the chunk, in f64 (one block per chunk);
    /// - `clip_scales`: per module (one block each), `n = √Σ partials` over the module's chunks,
    ///   `c = maxNorm/(float(n) + 1e-6)` in f32 as PyTorch's `clip_grad_norm_`; `scales[module] = min(c, 1)`,
    ///   `norms[module] = n`;
    /// - `adamw_step`: per element of a chunk with group `k` and module `j`, the gradient clipped in place
    ///   (`g ×= scales[j]` where `scales[j] < 1`, as the CPU clip writes it back), then torch's AdamW in
    ///   `AdamW.update`'s order: `p ×= decay[k]`, `m ← m + (1 − β₁)(g − m)`, `v ← v·β₂`,
    ///   `v ← v + ((1 − β₂)·g)·g`, `p ← p + step[k]·(m / (√v / correction + ε))` with `decay[k] = 1 − lr·λ` and
    ///   `step[k] = −lr/(1 − β₁ᵗ)` formed on the host in `Double` then rounded, as the CPU does; every operation
    ///   is an explicitly rounded f32 intrinsic (`__fmul_rn` …), so NVRTC cannot contract it into an FMA and the
    ///   update has the CPU's bits. The bf16 copy of the parameter (`p_bf16`, the GEMM weights; null to skip) is
    ///   written from the new value.
    /// - `ema_update`: `ema ← fma(student, 1 − m, ema·m)` (`StudentEMA.update`, the `_foreach_mul_` then
    ///   `_foreach_add_(alpha = 1 − m)` form whose CPU kernel fuses the multiply-add), grid-stride over the backbone.
    public static let optimizer = CUDAKernelSource(
        file: "optimizer.cu",
        kernels: ["gradient_square_partials", "clip_scales", "adamw_step", "ema_update"],
        code: #"""
extern "C" __global__ void gradient_square_partials(const float* __restrict__ g, const long long* __restrict__ chunk_start,
                                                    const int* __restrict__ chunk_count, double* __restrict__ partials,
                                                    int chunks) {
    __shared__ double scratch[32];
    const int chunk = blockIdx.x;
    if (chunk >= chunks) return;
    const float* gc = g + chunk_start[chunk];
    const int count = chunk_count[chunk];
    double sum = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) sum += (double)gc[i] * (double)gc[i];
    sum = block_sum_f64(sum, scratch);
    if (threadIdx.x == 0) partials[chunk] = sum;
}

/* Module j owns chunks module_offsets[j] ..< module_offsets[j + 1]. */
extern "C" __global__ void clip_scales(const double* __restrict__ partials, const int* __restrict__ module_offsets,
                                       int modules, float max_norm, float* __restrict__ scales,
                                       double* __restrict__ norms) {
    __shared__ double scratch[32];
    const int module = blockIdx.x;
    if (module >= modules) return;
    double sum = 0.0;
    for (int c = module_offsets[module] + threadIdx.x; c < module_offsets[module + 1]; c += blockDim.x) sum += partials[c];
    sum = block_sum_f64(sum, scratch);
    if (threadIdx.x == 0) {
        const double norm = sqrt(sum);
        const float coefficient = __fdiv_rn(max_norm, __fadd_rn((float)norm, 1e-6f));
        scales[module] = coefficient < 1.0f ? coefficient : 1.0f;
        norms[module] = norm;
    }
}

/* scales null: no clipping. One block per chunk. */
extern "C" __global__ void adamw_step(float* __restrict__ p, float* __restrict__ g, float* __restrict__ m,
                                      float* __restrict__ v, bf16_t* __restrict__ p_bf16,
                                      const long long* __restrict__ chunk_start, const int* __restrict__ chunk_count,
                                      const int* __restrict__ chunk_group, const int* __restrict__ chunk_module,
                                      const float* __restrict__ group_decay, const float* __restrict__ group_step,
                                      const float* __restrict__ scales, int chunks, float lerp_weight, float beta2,
                                      float one_minus_beta2, float correction, float epsilon) {
    const int chunk = blockIdx.x;
    if (chunk >= chunks) return;
    const long long first = chunk_start[chunk];
    const int count = chunk_count[chunk];
    const float decay = group_decay[chunk_group[chunk]], step = group_step[chunk_group[chunk]];
    const float scale = scales ? scales[chunk_module[chunk]] : 1.0f;
    for (int j = threadIdx.x; j < count; j += blockDim.x) {
        const long long i = first + j;
        float gradient = g[i];
        if (scale < 1.0f) {
            gradient = __fmul_rn(gradient, scale);
            g[i] = gradient;
        }
        const float decayed = __fmul_rn(p[i], decay);
        const float moment = __fadd_rn(m[i], __fmul_rn(lerp_weight, __fsub_rn(gradient, m[i])));
        float second = __fmul_rn(v[i], beta2);
        second = __fadd_rn(second, __fmul_rn(__fmul_rn(one_minus_beta2, gradient), gradient));
        const float denominator = __fadd_rn(__fdiv_rn(__fsqrt_rn(second), correction), epsilon);
        const float updated = __fadd_rn(decayed, __fmul_rn(step, __fdiv_rn(moment, denominator)));
        p[i] = updated;
        m[i] = moment;
        v[i] = second;
        if (p_bf16) p_bf16[i] = f32_to_bf16(updated);
    }
}

extern "C" __global__ void ema_update(float* __restrict__ ema, const float* __restrict__ student, long long n,
                                      float momentum, float alpha) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        ema[i] = __fmaf_rn(student[i], alpha, __fmul_rn(ema[i], momentum));
}
"""#)
}
