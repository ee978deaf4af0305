extension CUDAKernelSource {
    /// Patch embedding as im2col (this file) + a cuBLASLt GEMM with the bias epilogue, then the token sequence; one
    /// block per patch row or token row (`LaunchConfiguration.rowLoop`).
    ///
    /// - `im2col_rgb8`: RGB8 pixels `[B, H, W, 3]` → normalised `(v/255 − mean[c]) / std[c]` (torchvision `ToTensor` +
    ///   `Normalize`, as `CPUBackend.normalizeImages`) → columns `[B·N, kpad]` bf16, column `(c·p + ky)·p + kx` (the
    ///   order of `patch_embed.proj.weight [D, 3, p, p]`), columns `3p² ..< kpad` zero (kpad: a multiple of 8, so
    ///   rows stay 16-byte aligned for the GEMM).
    /// - `im2col_f32`: the same from already normalised planar images `[B, 3, H, W]` float32.
    /// - `assemble_tokens`: `residual [B, L, D]` f32 = `[cls, reg…, patches + pos]` (timm `no_embed_class`).
    public static let patchEmbed = CUDAKernelSource(
        file: "patch_embed.cu",
        kernels: ["im2col_rgb8", "im2col_f32", "assemble_tokens"],
        code: #"""
/* One block per patch row (b, n) of columns [B·N, kpad]; patch n = row·(W/p) + col of the patch grid. */
extern "C" __global__ void im2col_rgb8(const unsigned char* __restrict__ pixels, bf16_t* __restrict__ columns,
                                       int batch, int height, int width, int patch, int kpad,
                                       float mean0, float mean1, float mean2, float std0, float std1, float std2) {
    const int gw = width / patch, patches = gw * (height / patch), k = 3 * patch * patch;
    const int row = blockIdx.x;
    if (row >= batch * patches) return;
    const int b = row / patches, n = row - b * patches;
    const int y0 = (n / gw) * patch, x0 = (n % gw) * patch;
    bf16_t* target = columns + (long long)row * kpad;
    for (int column = threadIdx.x; column < kpad; column += blockDim.x) {
        if (column >= k) { target[column] = 0; continue; }
        const int c = column / (patch * patch), ky = (column / patch) % patch, kx = column % patch;
        const float v = (float)pixels[(((long long)b * height + y0 + ky) * width + x0 + kx) * 3 + c];
        const float mean = c == 0 ? mean0 : (c == 1 ? mean1 : mean2);
        const float sd = c == 0 ? std0 : (c == 1 ? std1 : std2);
        target[column] = f32_to_bf16((v / 255.0f - mean) / sd);
    }
}

extern "C" __global__ void im2col_f32(const float* __restrict__ images, bf16_t* __restrict__ columns,
                                      int batch, int height, int width, int patch, int kpad) {
    const int gw = width / patch, patches = gw * (height / patch), k = 3 * patch * patch;
    const int row = blockIdx.x;
    if (row >= batch * patches) return;
    const int b = row / patches, n = row - b * patches;
    const int y0 = (n / gw) * patch, x0 = (n % gw) * patch;
    bf16_t* target = columns + (long long)row * kpad;
    for (int column = threadIdx.x; column < kpad; column += blockDim.x) {
        if (column >= k) { target[column] = 0; continue; }
        const int c = column / (patch * patch), ky = (column / patch) % patch, kx = column % patch;
        target[column] = f32_to_bf16(images[(((long long)b * 3 + c) * height + y0 + ky) * width + x0 + kx]);
    }
}

/* One block per token row (b, t) of residual [B·L, D]: t = 0 cls, 1..R registers, then patch tokens (bf16, bias
   already added) + positions. */
extern "C" __global__ void assemble_tokens(const bf16_t* __restrict__ patch_tokens, const float* __restrict__ cls,
                                           const float* __restrict__ registers, const float* __restrict__ positions,
                                           float* __restrict__ residual, int batch, int patches, int reg, int dim) {
    const int length = 1 + reg + patches, row = blockIdx.x;
    if (row >= batch * length) return;
    const int b = row / length, t = row - b * length;
    float* target = residual + (long long)row * dim;
    if (t == 0) {
        for (int d = threadIdx.x; d < dim; d += blockDim.x) target[d] = cls[d];
    } else if (t <= reg) {
        for (int d = threadIdx.x; d < dim; d += blockDim.x) target[d] = registers[(long long)(t - 1) * dim + d];
    } else {
        const int n = t - 1 - reg;
        const bf16_t* source = patch_tokens + ((long long)b * patches + n) * dim;
        const float* position = positions + (long long)n * dim;
        for (int d = threadIdx.x; d < dim; d += blockDim.x) target[d] = bf16_to_f32(source[d]) + position[d];
    }
}
"""#)
}
