extension CUDAKernelSource {
    /// The MLP activations for training, one block per row (`LaunchConfiguration.rowLoop`). The inference
    /// `bias_gelu` works in place; training keeps `fc1`'s output (bias not yet added) for the backward, so:
    ///
    /// - `bias_gelu_store`: `y = gelu(x + b)` (exact erf form, as `bias_gelu`) into a separate `y`, `x` kept;
    /// - `bias_gelu_backward`: with `v = x + b`, `dx = dy · (Φ(v) + v·φ(v))` (`Backend.geluBackward`), bf16;
    /// - `bias_swiglu_backward`: `x [rows, 2·hidden]` (gate first), `dy [rows, hidden]` → `dx [rows, 2·hidden]`:
    ///   gate half `dy·v·σ(a)(1 + a(1 − σ(a)))`, value half `dy·silu(a)` (`Backend.swiGLUBackward`), with
    ///   `a`, `v` the biased halves as `bias_swiglu` forms them; one block per part of 64 rows
    ///   (`LaunchConfiguration.columnParts`), each thread four adjacent columns of each half (8-byte accesses; one
    ///   column when `hidden` is not a multiple of 4) over four rows at a time (their loads issued together), which
    ///   also writes `fc1`'s bias-gradient partials: the column
    ///   sums of the part's `dx` as stored, in row order — `column_partial_sums_bf16`'s partials of `dx`, bit for bit,
    ///   without reading `dx` again.
    ///
    /// `fc1`'s bias gradient is the column sum of `dx` since `∂(x + b)/∂b` is the identity (GELU: `reductions.cu`
    /// after `bias_gelu_backward`; SwiGLU: `accumulate_partials` of the kernel's partials).
    public static let activationsTraining = CUDAKernelSource(
        file: "activations_training.cu",
        kernels: ["bias_gelu_store", "bias_gelu_backward", "bias_swiglu_backward"],
        code: #"""
extern "C" __global__ void bias_gelu_store(const bf16_t* __restrict__ x, const float* __restrict__ bias,
                                           bf16_t* __restrict__ y, int rows, int cols) {
    const int row = blockIdx.x;
    if (row >= rows) return;
    const bf16_t* xr = x + (long long)row * cols;
    bf16_t* yr = y + (long long)row * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float v = bf16_to_f32(xr[c]) + bias[c];
        yr[c] = f32_to_bf16(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
    }
}

/* dx may be dy (in place). */
extern "C" __global__ void bias_gelu_backward(const bf16_t* __restrict__ x, const float* __restrict__ bias,
                                              const bf16_t* dy, bf16_t* dx, int rows, int cols) {
    const int row = blockIdx.x;
    if (row >= rows) return;
    const long long base = (long long)row * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float v = bf16_to_f32(x[base + c]) + bias[c];
        const float cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
        const float pdf = 0.39894228040143268f * expf(-0.5f * v * v);
        dx[base + c] = f32_to_bf16(bf16_to_f32(dy[base + c]) * (cdf + v * pdf));
    }
}

#define SWIGLU_ROWS 4

template <int W>
static __device__ __forceinline__ void bias_swiglu_backward_part(const bf16_t* __restrict__ x, const float* __restrict__ bias,
                                                                const bf16_t* __restrict__ dy, bf16_t* __restrict__ dx,
                                                                float* __restrict__ partials, int rows, int hidden,
                                                                int rows_per_part) {
    const int part = blockIdx.x, first = part * rows_per_part;
    if (first >= rows) return;
    const int last = min(rows, first + rows_per_part);
    const long long width = 2LL * hidden;
    for (int c = threadIdx.x * W; c < hidden; c += blockDim.x * W) {
        float gate_bias[W], value_bias[W], gate_sum[W], value_sum[W];
        for (int e = 0; e < W; ++e) {
            gate_bias[e] = bias[c + e];
            value_bias[e] = bias[hidden + c + e];
            gate_sum[e] = 0.0f;
            value_sum[e] = 0.0f;
        }
        /* SWIGLU_ROWS rows at a time: their loads issued together, then each row in order. */
        for (int r0 = first; r0 < last; r0 += SWIGLU_ROWS) {
            const int count = min(SWIGLU_ROWS, last - r0);
            float a[SWIGLU_ROWS][W], v[SWIGLU_ROWS][W], g[SWIGLU_ROWS][W];
#pragma unroll
            for (int u = 0; u < SWIGLU_ROWS; ++u) {
                if (u < count) {
                    const bf16_t* xr = x + (r0 + u) * width;
                    load_columns<W>(xr + c, a[u]);
                    load_columns<W>(xr + hidden + c, v[u]);
                    load_columns<W>(dy + (long long)(r0 + u) * hidden + c, g[u]);
                }
            }
#pragma unroll
            for (int u = 0; u < SWIGLU_ROWS; ++u) {
                if (u < count) {
                    float da[W], dv[W];
                    for (int e = 0; e < W; ++e) {
                        const float gate = a[u][e] + gate_bias[e], value = v[u][e] + value_bias[e];
                        const float sigmoid = 1.0f / (1.0f + expf(-gate));
                        /* rounded to bf16 as stored, so the sums are those of the stored dx */
                        da[e] = bf16_to_f32(f32_to_bf16(g[u][e] * value * sigmoid * (1.0f + gate * (1.0f - sigmoid))));
                        dv[e] = bf16_to_f32(f32_to_bf16(g[u][e] * gate * sigmoid));
                        gate_sum[e] += da[e];
                        value_sum[e] += dv[e];
                    }
                    store_columns<W>(dx + (r0 + u) * width + c, da);
                    store_columns<W>(dx + (r0 + u) * width + hidden + c, dv);
                }
            }
        }
        for (int e = 0; e < W; ++e) {
            partials[part * width + c + e] = gate_sum[e];
            partials[part * width + hidden + c + e] = value_sum[e];
        }
    }
}

/* partials: [parts, 2·hidden] f32, parts = ⌈rows / rows_per_part⌉. */
extern "C" __global__ void bias_swiglu_backward(const bf16_t* __restrict__ x, const float* __restrict__ bias,
                                                const bf16_t* __restrict__ dy, bf16_t* __restrict__ dx,
                                                float* __restrict__ partials, int rows, int hidden, int rows_per_part) {
    const bool vectors = (hidden & 3) == 0 && (unsigned long long)x % 8 == 0 && (unsigned long long)dy % 8 == 0
                      && (unsigned long long)dx % 8 == 0;
    if (vectors) bias_swiglu_backward_part<4>(x, bias, dy, dx, partials, rows, hidden, rows_per_part);
    else bias_swiglu_backward_part<1>(x, bias, dy, dx, partials, rows, hidden, rows_per_part);
}
"""#)
}
