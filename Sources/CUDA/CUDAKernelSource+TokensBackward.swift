extension CUDAKernelSource {
    /// Backward of the token sequence (`Backend.assembleTokensBackward`, `Backend.selectTokensBackward`):
    ///
    /// - `patch_tokens_backward`: the patch rows of the residual gradient `dres [B, L, D]` f32 → `dpatch
    ///   [B·N, D]` bf16, the patch GEMM's output gradient (its weight gradient is the GEMM `dWᵀ = im2colᵀ·dpatch`
    ///   on the forward's saved columns, its bias gradient a column sum). One block per patch row
    ///   (`LaunchConfiguration.rowLoop`).
    /// - `token_parameters_backward`: `cls_token`, `reg_token` and `pos_embed` gradients `+=` their rows of `dres`
    ///   summed over the batch, in image order (`dreg` null when there are no registers). One thread per
    ///   (token, channel) of `[L, D]` (`LaunchConfiguration.elementwise(count: L·D)`), coalesced over channels.
    ///   At a grid other than the stored one the positions' gradient is that of the resized grid (the resize's
    ///   transpose, `Backend.resizeGridBackward`, maps it back: weights-only, on the host).
    /// - `select_tokens_backward`: `dtokens [B, L, D]` f32 `+=` `dselected [B, count, D]` at tokens
    ///   `first ..< first + count` (the heads' inputs: CLS, or the patch tokens), one block per selected row.
    public static let tokensBackward = CUDAKernelSource(
        file: "tokens_backward.cu",
        kernels: ["patch_tokens_backward", "token_parameters_backward", "select_tokens_backward"],
        code: #"""
extern "C" __global__ void patch_tokens_backward(const float* __restrict__ dres, bf16_t* __restrict__ dpatch,
                                                 int batch, int patches, int reg, int dim) {
    const int row = blockIdx.x;
    if (row >= batch * patches) return;
    const int b = row / patches, n = row - b * patches, length = 1 + reg + patches;
    const float* source = dres + ((long long)b * length + 1 + reg + n) * dim;
    bf16_t* target = dpatch + (long long)row * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) target[d] = f32_to_bf16(source[d]);
}

extern "C" __global__ void token_parameters_backward(const float* __restrict__ dres, float* __restrict__ dcls,
                                                     float* __restrict__ dreg, float* __restrict__ dpos,
                                                     int batch, int patches, int reg, int dim) {
    const int length = 1 + reg + patches;
    const long long total = (long long)length * dim;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        const int t = (int)(i / dim), d = (int)(i - (long long)t * dim);
        float sum = 0.0f;
        for (int b = 0; b < batch; ++b) sum += dres[((long long)b * length + t) * dim + d];
        if (t == 0) dcls[d] += sum;
        else if (t <= reg) dreg[(long long)(t - 1) * dim + d] += sum;
        else dpos[(long long)(t - 1 - reg) * dim + d] += sum;
    }
}

extern "C" __global__ void select_tokens_backward(const float* __restrict__ dselected, float* __restrict__ dtokens,
                                                  int batch, int length, int first, int count, int dim) {
    const int row = blockIdx.x;
    if (row >= batch * count) return;
    const int b = row / count, i = row - b * count;
    const float* source = dselected + (long long)row * dim;
    float* target = dtokens + ((long long)b * length + first + i) * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) target[d] += source[d];
}
"""#)
}
