extension CUDAKernelSource {
    /// The MLP activations for training, one block per row (`LaunchConfiguration.rowLoop`). The inference
    /// `bias_gelu` works in place; training keeps `fc1`'s output (bias not yet added) for the backward, so:
    ///
    /// - `bias_gelu_store`: `y = gelu(x + b)` (exact erf form, as `bias_gelu`) into a separate `y`, `x` kept;
    /// - `bias_gelu_backward`: with `v = x + b`, `dx = dy · (Φ(v) + v·φ(v))` (`Backend.geluBackward`), bf16;
    /// - `bias_swiglu_backward`: `x [rows, 2·hidden]` (gate first), `dy [rows, hidden]` → `dx [rows, 2·hidden]`:
    ///   gate half `dy·v·σ(a)(1 + a(1 − σ(a)))`, value half `dy·silu(a)` (`Backend.swiGLUBackward`), with
    ///   `a`, `v` the biased halves as `bias_swiglu` forms them.
    ///
    /// `fc1`'s bias gradient is then the column sum of `dx` (`reductions.cu`), since `∂(x + b)/∂b` is the identity.
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

extern "C" __global__ void bias_swiglu_backward(const bf16_t* __restrict__ x, const float* __restrict__ bias,
                                                const bf16_t* __restrict__ dy, bf16_t* __restrict__ dx,
                                                int rows, int hidden) {
    const int row = blockIdx.x;
    if (row >= rows) return;
    const bf16_t* xr = x + (long long)row * 2 * hidden;
    const bf16_t* dyr = dy + (long long)row * hidden;
    bf16_t* dxr = dx + (long long)row * 2 * hidden;
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
        const float a = bf16_to_f32(xr[j]) + bias[j];
        const float v = bf16_to_f32(xr[hidden + j]) + bias[hidden + j];
        const float g = bf16_to_f32(dyr[j]);
        const float sigmoid = 1.0f / (1.0f + expf(-a));
        dxr[j] = f32_to_bf16(g * v * sigmoid * (1.0f + a * (1.0f - sigmoid)));
        dxr[hidden + j] = f32_to_bf16(g * a * sigmoid);
    }
}
"""#)
}
