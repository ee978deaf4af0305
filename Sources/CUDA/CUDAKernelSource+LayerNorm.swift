extension CUDAKernelSource {
    /// LayerNorm over the last dimension with f32 statistics (two passes: mean, then the biased variance of
    /// `x − mean`; `F.layer_norm`), one block per row; and the fused block tail
    /// `residual = source + gamma ⊙ branch; y = LayerNorm(residual)` (timm `x + ls(…)` followed by the next
    /// `norm1`/`norm2` or the final `norm`; `source` is `residual` in the inference forward, the previous saved
    /// residual in training, which keeps each one), which reads the residual once and the bf16 branch once — for
    /// `dim % 4 == 0` (every ViT) with 16-byte accesses, each thread's columns kept in registers between the passes.
    ///
    /// Launch: grid `rows`, block `LaunchConfiguration.rowThreads(dim:)` (a multiple of 32), no dynamic shared memory.
    public static let layerNorm = CUDAKernelSource(
        file: "layer_norm.cu",
        kernels: ["layer_norm_f32_bf16", "residual_layer_norm_bf16", "residual_layer_norm_f32"],
        code: #"""
static __device__ __forceinline__ void store(float* y, long long i, float v) { y[i] = v; }
static __device__ __forceinline__ void store(bf16_t* y, long long i, float v) { y[i] = f32_to_bf16(v); }

template <typename Out>
static __device__ __forceinline__ void normalize_row(const float* __restrict__ x, const float* __restrict__ weight,
                                                     const float* __restrict__ bias, Out* __restrict__ y, int dim,
                                                     float eps, float sum, float* scratch) {
    const float mean = block_sum(sum, scratch) / (float)dim;
    float squares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float d = x[i] - mean;
        squares += d * d;
    }
    const float variance = block_sum(squares, scratch) / (float)dim;
    const float inverse = 1.0f / sqrtf(variance + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        store(y, i, (x[i] - mean) * inverse * weight[i] + bias[i]);
}

/* y[row] = LayerNorm(x[row]) as bf16; x f32 [rows, dim]. */
extern "C" __global__ void layer_norm_f32_bf16(const float* __restrict__ x, const float* __restrict__ weight,
                                               const float* __restrict__ bias, bf16_t* __restrict__ y,
                                               int rows, int dim, float eps) {
    __shared__ float scratch[32];
    const long long row = blockIdx.x;
    if (row >= rows) return;
    const float* xr = x + row * dim;
    float sum = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i];
    normalize_row(xr, weight, bias, y + row * dim, dim, eps, sum, scratch);
}

/* The fused tail for dim % 4 == 0 and dim ≤ 8·blockDim.x: each thread's ≤ 2 groups of 4 columns stay in registers
   (one read and one write of the residual, 16-byte accesses); the same arithmetic as the loop form. */
template <typename Out>
static __device__ __forceinline__ void residual_layer_norm_vectors(const float* sr, float* xr, const bf16_t* __restrict__ br,
                                                                   const float* __restrict__ gamma,
                                                                   const float* __restrict__ weight,
                                                                   const float* __restrict__ bias, Out* __restrict__ yr,
                                                                   int dim, float eps, float* scratch) {
    const int groups = dim >> 2;
    float v[2][4];
    float sum = 0.0f;
    for (int c = 0; c < 2; ++c) {
        const int q = threadIdx.x + c * blockDim.x;
        if (q < groups) {
            F32x4 r = load_vector<F32x4>(sr + 4 * q);
            const BF16x4 b = load_vector<BF16x4>(br + 4 * q);
            for (int e = 0; e < 4; ++e) {
                const float scale = gamma ? gamma[4 * q + e] : 1.0f;
                v[c][e] = r.v[e] + scale * bf16_to_f32(b.v[e]);
                r.v[e] = v[c][e];
                sum += v[c][e];
            }
            store_vector(xr + 4 * q, r);
        }
    }
    const float mean = block_sum(sum, scratch) / (float)dim;
    float squares = 0.0f;
    for (int c = 0; c < 2; ++c) {
        if (threadIdx.x + c * blockDim.x < groups) {
            for (int e = 0; e < 4; ++e) {
                const float d = v[c][e] - mean;
                squares += d * d;
            }
        }
    }
    const float inverse = 1.0f / sqrtf(block_sum(squares, scratch) / (float)dim + eps);
    for (int c = 0; c < 2; ++c) {
        const int q = threadIdx.x + c * blockDim.x;
        if (q < groups) {
            float out[4];
            for (int e = 0; e < 4; ++e) out[e] = (v[c][e] - mean) * inverse * weight[4 * q + e] + bias[4 * q + e];
            store_four(yr + 4 * q, out);
        }
    }
}

/* residual[row] = source[row] + gamma ⊙ branch[row] (gamma null: plain add; source may be residual), then
   y[row] = LayerNorm(residual[row]). */
template <typename Out>
static __device__ __forceinline__ void residual_layer_norm(const float* source, float* residual, const bf16_t* __restrict__ branch,
                                                           const float* __restrict__ gamma, const float* __restrict__ weight,
                                                           const float* __restrict__ bias, Out* __restrict__ y,
                                                           int rows, int dim, float eps) {
    __shared__ float scratch[32];
    const long long row = blockIdx.x;
    if (row >= rows) return;
    const float* sr = source + row * dim;
    float* xr = residual + row * dim;
    const bf16_t* br = branch + row * dim;
    if ((dim & 3) == 0 && dim <= 8 * (int)blockDim.x) {
        residual_layer_norm_vectors(sr, xr, br, gamma, weight, bias, y + row * dim, dim, eps, scratch);
        return;
    }
    float sum = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float scale = gamma ? gamma[i] : 1.0f;
        const float v = sr[i] + scale * bf16_to_f32(br[i]);
        xr[i] = v;
        sum += v;
    }
    normalize_row(xr, weight, bias, y + row * dim, dim, eps, sum, scratch);
}

extern "C" __global__ void residual_layer_norm_bf16(const float* source, float* residual, const bf16_t* __restrict__ branch,
                                                    const float* __restrict__ gamma, const float* __restrict__ weight,
                                                    const float* __restrict__ bias, bf16_t* __restrict__ y,
                                                    int rows, int dim, float eps) {
    residual_layer_norm(source, residual, branch, gamma, weight, bias, y, rows, dim, eps);
}

extern "C" __global__ void residual_layer_norm_f32(const float* source, float* residual, const bf16_t* __restrict__ branch,
                                                   const float* __restrict__ gamma, const float* __restrict__ weight,
                                                   const float* __restrict__ bias, float* __restrict__ y,
                                                   int rows, int dim, float eps) {
    residual_layer_norm(source, residual, branch, gamma, weight, bias, y, rows, dim, eps);
}
"""#)
}
