/// One CUDA C source file of the ViT forward's kernels, kept as a Swift string literal (one file per kernel family,
/// `CUDAKernelSource+<Family>.swift`) and compiled at run time by NVRTC for the device's architecture.
///
/// Why string literals and not `.cu` resources: a SwiftPM resource needs `Bundle.module` (Foundation) and a bundle
/// folder beside the executable, and the binary carried to the GPU machine is one static file
/// (docs/cuda.md, "Kernel sources"). Every source is prefixed with `prelude`: bf16 as raw `unsigned short`
/// (no `cuda_bf16.h`, so NVRTC needs no include path), warp and block reductions (f32 sums and maxima, f64 sums).
public struct CUDAKernelSource: Sendable, Hashable {
    /// The file name shown in reports and errors (`layer_norm.cu`).
    public let file: String
    /// The `extern "C"` kernels it defines (what the backend looks up with `cuModuleGetFunction`).
    public let kernels: [String]
    /// The CUDA C text, without the prelude.
    public let code: String

    public init(file: String, kernels: [String], code: String) {
        self.file = file
        self.kernels = kernels
        self.code = code
    }

    /// `prelude` + `code`: what NVRTC compiles.
    public var fullText: String { Self.prelude + "\n#line 1 \"\(file)\"\n" + code }

    /// The sources of the ViT forward (part 1), in the order `distill cuda compile` reports them.
    public static let forward: [CUDAKernelSource] = [conversion, patchEmbed, layerNorm, attention, activations, pooling]

    /// The sources of the training step (part 2): backward kernels, column reductions, optimiser, head and loss.
    public static let training: [CUDAKernelSource] = [
        reductions, layerNormBackward, attentionBackward, activationsTraining, tokensBackward, optimizer, head, loss,
    ]

    /// Every source, forward then training: what `distill cuda compile` compiles and `CUDABackend` loads.
    public static let all: [CUDAKernelSource] = forward + training

    /// The source defining `kernel`, or nil.
    public static func source(defining kernel: String) -> CUDAKernelSource? {
        all.first { $0.kernels.contains(kernel) }
    }

    /// Shared by every source: bf16 conversions (bf16 → f32 = bits << 16; f32 → bf16 rounds to nearest even and
    /// keeps NaN, quieted — as `DTypeConversion.bfloat16Bits` and PyTorch), 16- and 8-byte vectors of four f32 / bf16
    /// (`F32x4`, `BF16x4`: one access for four columns) read and written through `load_vector` / `store_vector`
    /// (the CPU emulator checks their alignment), warp/block sums and maxima.
    /// Block reductions assume `blockDim.x` is a multiple of 32, at most 1024, and a `__shared__ float[32]` scratch.
    public static let prelude = #"""
typedef unsigned short bf16_t;

__device__ __forceinline__ float bf16_to_f32(bf16_t v) {
    return __uint_as_float(((unsigned int)v) << 16);
}

/* Four consecutive f32 (16 bytes) and four bf16 (8 bytes), for vector loads and stores. */
struct alignas(16) F32x4 { float v[4]; };
struct alignas(8) BF16x4 { bf16_t v[4]; };

/* Every access wider than its elements goes through these: `p` must be aligned to sizeof(V) (the device faults
   otherwise; the CPU emulator checks it and fails the launch). */
template <typename V> __device__ __forceinline__ V load_vector(const void* p) {
#ifdef CUDAEMU
    cudaemu_check_alignment(p, sizeof(V));
#endif
    return *reinterpret_cast<const V*>(p);
}
template <typename V> __device__ __forceinline__ void store_vector(void* p, const V& value) {
#ifdef CUDAEMU
    cudaemu_check_alignment(p, sizeof(V));
#endif
    *reinterpret_cast<V*>(p) = value;
}

__device__ __forceinline__ bf16_t f32_to_bf16(float f) {
    unsigned int bits = __float_as_uint(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((bits >> 16) | 0x0040u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (bf16_t)(bits >> 16);
}

/* One element as f32, and an f32 into an element. */
__device__ __forceinline__ float as_f32(float v) { return v; }
__device__ __forceinline__ float as_f32(bf16_t v) { return bf16_to_f32(v); }
__device__ __forceinline__ void store_one(float* p, float v) { *p = v; }
__device__ __forceinline__ void store_one(bf16_t* p, float v) { *p = f32_to_bf16(v); }

/* Four consecutive columns at p as f32, in one access (16 bytes of f32, 8 of bf16; p aligned to it). */
__device__ __forceinline__ void load_four(const float* p, float* out) {
    const F32x4 v = load_vector<F32x4>(p);
    for (int e = 0; e < 4; ++e) out[e] = v.v[e];
}
__device__ __forceinline__ void load_four(const bf16_t* p, float* out) {
    const BF16x4 v = load_vector<BF16x4>(p);
    for (int e = 0; e < 4; ++e) out[e] = bf16_to_f32(v.v[e]);
}
__device__ __forceinline__ void store_four(float* p, const float* in) {
    F32x4 v;
    for (int e = 0; e < 4; ++e) v.v[e] = in[e];
    store_vector(p, v);
}
__device__ __forceinline__ void store_four(bf16_t* p, const float* in) {
    BF16x4 v;
    for (int e = 0; e < 4; ++e) v.v[e] = f32_to_bf16(in[e]);
    store_vector(p, v);
}

/* W consecutive columns at p (W = 4: one access, p aligned to it; W = 1: one element) as f32, and back. */
template <int W, typename T> __device__ __forceinline__ void load_columns(const T* p, float* out) {
    if (W == 4) load_four(p, out);
    else for (int e = 0; e < W; ++e) out[e] = as_f32(p[e]);
}
template <int W, typename T> __device__ __forceinline__ void store_columns(T* p, const float* in) {
    if (W == 4) store_four(p, in);
    else for (int e = 0; e < W; ++e) store_one(p + e, in[e]);
}

/* Warp and block reductions, one template for every type and operation. */
struct SumOp { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; } };
struct MaxOp { __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); } };

template <typename T, typename Op> __device__ __forceinline__ T warp_reduce(T v, Op op) {
    for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

/* The reduction of v over the block, returned to every thread; identity fills the missing warps.
   scratch: __shared__ T[32]. */
template <typename T, typename Op> __device__ __forceinline__ T block_reduce(T v, T* scratch, T identity, Op op) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_reduce(v, op);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_reduce(lane < warps ? scratch[lane] : identity, op);
}

__device__ __forceinline__ float warp_sum(float v) { return warp_reduce(v, SumOp()); }
__device__ __forceinline__ float warp_max(float v) { return warp_reduce(v, MaxOp()); }
__device__ __forceinline__ double warp_sum_f64(double v) { return warp_reduce(v, SumOp()); }
/* The sum (maximum) of v over the block, returned to every thread. scratch: __shared__ float[32] (double[32]). */
__device__ __forceinline__ float block_sum(float v, float* scratch) { return block_reduce(v, scratch, 0.0f, SumOp()); }
__device__ __forceinline__ float block_max(float v, float* scratch) {
    return block_reduce(v, scratch, __int_as_float(0xff800000), MaxOp());
}
__device__ __forceinline__ double block_sum_f64(double v, double* scratch) { return block_reduce(v, scratch, 0.0, SumOp()); }
"""#
}
