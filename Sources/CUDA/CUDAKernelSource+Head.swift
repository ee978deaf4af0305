extension CUDAKernelSource {
    /// The DINO/iBOT head's normalisations (`DINOHead`; `Backend.l2Normalize`, `Backend.weightNorm` and their
    /// backward), in f32; the head's MLP layers are cuBLASLt GEMMs with `bias_gelu_store`/`bias_gelu_backward`.
    ///
    /// - `l2_normalize_rows`: `y[r] = x[r] / max(‖x[r]‖₂, eps)` (`F.normalize`, eps 1e-12), f32 and a bf16 copy
    ///   (the logits GEMM's operand; null to skip); one warp per row (`LaunchConfiguration.warpRows`);
    /// - `l2_normalize_backward`: where `‖x‖ > eps`, `dx = (dy − (dy·y)·y)/‖x‖`, else `dy/eps`;
    /// - `weight_norm_rows`: `W[k] = g[k]·v[k]/‖v[k]‖₂` (`weight_norm(dim=0)`, no eps) into bf16 `[K, n]`, one warp
    ///   per prototype row;
    /// - `weight_norm_backward`: from `dW` f32 `[K, n]` (accumulated over the logit chunks), with
    ///   `π = (dW_k·v_k)/‖v_k‖`: `dg[k] += π`, `dv[k] += (g_k/‖v_k‖)(dW_k − π·v_k/‖v_k‖)`, as the CPU.
    public static let head = CUDAKernelSource(
        file: "head.cu",
        kernels: ["l2_normalize_rows", "l2_normalize_backward", "weight_norm_rows", "weight_norm_backward"],
        code: #"""
static __device__ __forceinline__ float warp_norm(const float* __restrict__ x, int dim, int lane) {
    float squares = 0.0f;
    for (int d = lane; d < dim; d += 32) squares += x[d] * x[d];
    return sqrtf(warp_sum(squares));
}

extern "C" __global__ void l2_normalize_rows(const float* __restrict__ x, float* __restrict__ y,
                                             bf16_t* __restrict__ y_bf16, int rows, int dim, float eps) {
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const float* xr = x + row * dim;
    const float denominator = fmaxf(warp_norm(xr, dim, lane), eps);
    for (int d = lane; d < dim; d += 32) {
        const float value = xr[d] / denominator;
        y[row * dim + d] = value;
        if (y_bf16) y_bf16[row * dim + d] = f32_to_bf16(value);
    }
}

extern "C" __global__ void l2_normalize_backward(const float* __restrict__ x, const float* __restrict__ y,
                                                 const float* __restrict__ dy, float* __restrict__ dx,
                                                 int rows, int dim, float eps) {
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const float norm = warp_norm(x + row * dim, dim, lane);
    const float* yr = y + row * dim;
    const float* dyr = dy + row * dim;
    float* dxr = dx + row * dim;
    if (norm > eps) {
        float projection = 0.0f;
        for (int d = lane; d < dim; d += 32) projection += dyr[d] * yr[d];
        projection = warp_sum(projection);
        for (int d = lane; d < dim; d += 32) dxr[d] = (dyr[d] - projection * yr[d]) / norm;
    } else {
        for (int d = lane; d < dim; d += 32) dxr[d] = dyr[d] / eps;
    }
}

extern "C" __global__ void weight_norm_rows(const float* __restrict__ v, const float* __restrict__ g,
                                            bf16_t* __restrict__ w, int rows, int cols) {
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const float* vr = v + row * cols;
    const float factor = g[row] / warp_norm(vr, cols, lane);
    for (int c = lane; c < cols; c += 32) w[row * cols + c] = f32_to_bf16(vr[c] * factor);
}

extern "C" __global__ void weight_norm_backward(const float* __restrict__ v, const float* __restrict__ g,
                                                const float* __restrict__ dw, float* __restrict__ dv,
                                                float* __restrict__ dg, int rows, int cols) {
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const float* vr = v + row * cols;
    const float* dwr = dw + row * cols;
    const float norm = warp_norm(vr, cols, lane);
    float projection = 0.0f;
    for (int c = lane; c < cols; c += 32) projection += dwr[c] * vr[c];
    projection = warp_sum(projection) / norm;
    if (lane == 0) dg[row] += projection;
    const float factor = g[row] / norm;
    for (int c = lane; c < cols; c += 32) dv[row * cols + c] += factor * (dwr[c] - projection * vr[c] / norm);
}
"""#)
}
