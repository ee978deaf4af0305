extension CUDAKernelSource {
    /// The MLP activations fused with `mlp.fc1`'s bias (the GEMM writes `x·Wᵀ` without it), one block per row
    /// (`LaunchConfiguration.rowLoop`):
    ///
    /// - `bias_gelu`: in place on `[rows, cols]` bf16, `y = gelu(x + b)`, exact erf form `0.5·v·(1 + erf(v/√2))`
    ///   (`nn.GELU()`; cuBLASLt's GELU epilogue is the tanh approximation, so it is not used);
    /// - `bias_swiglu`: `x [rows, 2·hidden]` → `y [rows, hidden]`, `y = silu(a)·v`, `a = x[:, j] + b[j]` (the gate,
    ///   **first** half), `v = x[:, hidden + j] + b[hidden + j]` (timm `SwiGLUPacked`, distillation-spec.md §2.2).
    public static let activations = CUDAKernelSource(
        file: "activations.cu",
        kernels: ["bias_gelu", "bias_swiglu"],
        code: #"""
/* One block per row of x [rows, cols], in place. */
extern "C" __global__ void bias_gelu(bf16_t* __restrict__ x, const float* __restrict__ bias, int rows, int cols) {
    const int row = blockIdx.x;
    if (row >= rows) return;
    bf16_t* xr = x + (long long)row * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float v = bf16_to_f32(xr[c]) + bias[c];
        xr[c] = f32_to_bf16(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
    }
}

static __device__ __forceinline__ bf16_t swiglu(bf16_t gate, bf16_t value, float gate_bias, float value_bias) {
    const float a = bf16_to_f32(gate) + gate_bias;
    const float v = bf16_to_f32(value) + value_bias;
    return f32_to_bf16(a / (1.0f + expf(-a)) * v);
}

/* One block per row: x [rows, 2·hidden] → y [rows, hidden]; 8-byte accesses (4 columns) when hidden % 4 == 0. */
extern "C" __global__ void bias_swiglu(const bf16_t* __restrict__ x, const float* __restrict__ bias,
                                       bf16_t* __restrict__ y, int rows, int hidden) {
    const int row = blockIdx.x;
    if (row >= rows) return;
    const bf16_t* xr = x + (long long)row * 2 * hidden;
    bf16_t* yr = y + (long long)row * hidden;
    if ((hidden & 3) == 0) {
        for (int q = threadIdx.x; q < hidden / 4; q += blockDim.x) {
            const BF16x4 gate = load_vector<BF16x4>(xr + 4 * q), value = load_vector<BF16x4>(xr + hidden + 4 * q);
            BF16x4 out;
            for (int e = 0; e < 4; ++e) out.v[e] = swiglu(gate.v[e], value.v[e], bias[4 * q + e], bias[hidden + 4 * q + e]);
            store_vector(yr + 4 * q, out);
        }
        return;
    }
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) yr[j] = swiglu(xr[j], xr[hidden + j], bias[j], bias[hidden + j]);
}
"""#)
}
