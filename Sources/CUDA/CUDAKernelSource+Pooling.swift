extension CUDAKernelSource {
    /// Pooling of `x_norm [B, L, D]` f32 into `[B, W]`: CLS (`W = D`), or CLS ⊕ the mean of tokens
    /// `prefix ..< L` (registers excluded; `W = 2D`), as `CPUBackend.pool` (distillation-spec.md §2.4).
    /// One thread per (image, channel); the mean sums in f32 in token order.
    public static let pooling = CUDAKernelSource(
        file: "pooling.cu",
        kernels: ["pool_tokens"],
        code: #"""
extern "C" __global__ void pool_tokens(const float* __restrict__ tokens, float* __restrict__ out,
                                       int batch, int length, int prefix, int dim, int with_mean) {
    const int width = with_mean ? 2 * dim : dim;
    const long long total = (long long)batch * dim;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        const int d = (int)(i % dim), b = (int)(i / dim);
        const float* sequence = tokens + (long long)b * length * dim;
        out[(long long)b * width + d] = sequence[d];
        if (with_mean) {
            float sum = 0.0f;
            for (int t = prefix; t < length; ++t) sum += sequence[(long long)t * dim + d];
            out[(long long)b * width + dim + d] = sum / (float)(length - prefix);
        }
    }
}
"""#)
}
