extension CUDAKernelSource {
    /// bf16 ↔ f32 over flat buffers (parameters, outputs), grid-stride loops.
    public static let conversion = CUDAKernelSource(
        file: "conversion.cu",
        kernels: ["convert_f32_to_bf16", "convert_bf16_to_f32"],
        code: #"""
/* out[i] = bf16(in[i]) (round to nearest even, NaN kept), i < n. */
extern "C" __global__ void convert_f32_to_bf16(const float* __restrict__ in, bf16_t* __restrict__ out, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = f32_to_bf16(in[i]);
}

/* out[i] = float(in[i]) (exact), i < n. */
extern "C" __global__ void convert_bf16_to_f32(const bf16_t* __restrict__ in, float* __restrict__ out, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = bf16_to_f32(in[i]);
}
"""#)
}
