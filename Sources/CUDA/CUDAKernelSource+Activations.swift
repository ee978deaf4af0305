extension CUDAKernelSource {
    /// The MLP activations fused with `mlp.fc1`'s bias (the GEMM writes `x·Wᵀ` without it):
    ///
    /// - `bias_gelu`: in place on `[rows, cols]` bf16, `y = gelu(x + b)`, exact erf form `0.5·v·(1 + erf(v/√2))`
    ///   (`nn.GELU()`; cuBLASLt's GELU epilogue is the tanh approximation, so it is not used);
    /// - `bias_swiglu`: `x [rows, 2·hidden]` → `y [rows, hidden]`, `y = silu(a)·v`, `a = x[:, j] + b[j]` (the gate,
    ///   **first** half), `v = x[:, hidden + j] + b[hidden + j]` (timm `SwiGLUPacked`, distillation-spec.md §2.2).
    public static let activations = CUDAKernelSource(
        file: "activations.cu",
        kernels: ["bias_gelu", "bias_swiglu"],
        code: #"""
extern "C" __global__ void bias_gelu(bf16_t* __restrict__ x, const float* __restrict__ bias, long long rows, int cols) {
    const long long total = rows * cols;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        const float v = bf16_to_f32(x[i]) + bias[i % cols];
        x[i] = f32_to_bf16(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
    }
}

extern "C" __global__ void bias_swiglu(const bf16_t* __restrict__ x, const float* __restrict__ bias,
                                       bf16_t* __restrict__ y, long long rows, int hidden) {
    const long long total = rows * hidden;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        const int j = (int)(i % hidden);
        const long long r = i / hidden;
        const float a = bf16_to_f32(x[r * 2 * hidden + j]) + bias[j];
        const float v = bf16_to_f32(x[r * 2 * hidden + hidden + j]) + bias[hidden + j];
        y[i] = f32_to_bf16(a / (1.0f + expf(-a)) * v);
    }
}
"""#)
}
