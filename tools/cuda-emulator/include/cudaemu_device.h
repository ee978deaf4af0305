/* cudaemu device header: what a CUDA C kernel source needs to compile as C++17 on the CPU.
 *
 * The emulator's NVRTC (src/nvrtc.cpp) compiles every kernel source with `clang++ -include cudaemu_device.h` into
 * a shared library, one per source. Kernel threads run as fibers (src/scheduler.cpp): `__syncthreads()` and the
 * warp shuffles suspend the calling fiber until every thread of the block (or every lane of the warp) has arrived,
 * as on the device; `__shared__` variables are per worker OS thread, and a worker runs one block at a time, so each
 * block sees its own shared memory.
 *
 * Covered: the built-in indices, __syncthreads, __shfl{,_xor,_down,_up}_sync (width 32), the alignment of the
 * prelude's vector accesses, the atomics the kernels
 * use, the bit casts and rounded intrinsics (`__fmul_rn` …: compiled with -ffp-contract=off, so they round as
 * written), the CUDA math names that C++ lacks, and the bf16 tensor-core mma (m16n8k16) as a function that kernels
 * call under `#ifdef CUDAEMU` where the device runs inline PTX, and so ldmatrix (x4, .trans) and cp.async (16 bytes,
 * commit and wait groups). Not covered: dynamic (`extern`) shared memory,
 * textures, other inline PTX, cooperative groups.
 */
#pragma once
#include <cmath>
#include <math.h>
#include <cstdint>
#include <cstring>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>

struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };

/* The indices of the running CUDA thread, set by the scheduler before it resumes a fiber. */
struct cudaemu_thread_state {
    uint3 thread;
    uint3 block;
    dim3 block_dim;
    dim3 grid_dim;
};

/* The scheduler's entry points, handed to each kernel library by `cudaemu_bind`. */
struct cudaemu_runtime {
    void (*syncthreads)();
    /* kind: 0 index, 1 xor, 2 down, 3 up */
    unsigned long long (*shuffle)(unsigned int mask, unsigned long long value, int kind, int lane, int width);
    /* A vector access at an address not aligned to its size (the launch then fails, as the device faults). */
    void (*misaligned)(const void* address, unsigned int bytes);
};

static thread_local cudaemu_thread_state cudaemu_state;
static const cudaemu_runtime* cudaemu_rt;

extern "C" __attribute__((visibility("default"))) cudaemu_thread_state* cudaemu_state_pointer() { return &cudaemu_state; }
extern "C" __attribute__((visibility("default"))) void cudaemu_bind(const cudaemu_runtime* runtime) { cudaemu_rt = runtime; }

#define threadIdx (cudaemu_state.thread)
#define blockIdx (cudaemu_state.block)
#define blockDim (cudaemu_state.block_dim)
#define gridDim (cudaemu_state.grid_dim)
#define warpSize 32

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __shared__ static thread_local
#define __constant__ static
#define __launch_bounds__(...)

static inline void __syncthreads() { cudaemu_rt->syncthreads(); }
static inline void __syncwarp(unsigned int mask = 0xffffffffu) { cudaemu_rt->shuffle(mask, 0, 1, 0, 32); }

template <typename T> static inline T cudaemu_shuffle(unsigned int mask, T value, int kind, int lane, int width) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a type wider than 8 bytes");
    unsigned long long raw = 0;
    std::memcpy(&raw, &value, sizeof(T));
    raw = cudaemu_rt->shuffle(mask, raw, kind, lane, width);
    T result;
    std::memcpy(&result, &raw, sizeof(T));
    return result;
}
template <typename T> static inline T __shfl_sync(unsigned int mask, T value, int lane, int width = 32) {
    return cudaemu_shuffle(mask, value, 0, lane, width);
}
template <typename T> static inline T __shfl_xor_sync(unsigned int mask, T value, int lane_mask, int width = 32) {
    return cudaemu_shuffle(mask, value, 1, lane_mask, width);
}
template <typename T> static inline T __shfl_down_sync(unsigned int mask, T value, unsigned int delta, int width = 32) {
    return cudaemu_shuffle(mask, value, 2, (int)delta, width);
}
template <typename T> static inline T __shfl_up_sync(unsigned int mask, T value, unsigned int delta, int width = 32) {
    return cudaemu_shuffle(mask, value, 3, (int)delta, width);
}

/* Atomics: real ones, since blocks run on several OS threads at once. */
template <typename T> static inline T atomicAdd(T* address, T value) {
    if constexpr (std::is_integral<T>::value) {
        return __atomic_fetch_add(address, value, __ATOMIC_SEQ_CST);
    } else {
        T old = __atomic_load_n(address, __ATOMIC_SEQ_CST);
        while (!__atomic_compare_exchange_n(address, &old, old + value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
        return old;
    }
}
template <typename T> static inline T atomicMin(T* address, T value) {
    T old = __atomic_load_n(address, __ATOMIC_SEQ_CST);
    while (value < old && !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    return old;
}
template <typename T> static inline T atomicMax(T* address, T value) {
    T old = __atomic_load_n(address, __ATOMIC_SEQ_CST);
    while (value > old && !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    return old;
}
template <typename T> static inline T atomicExch(T* address, T value) { return __atomic_exchange_n(address, value, __ATOMIC_SEQ_CST); }
template <typename T> static inline T atomicCAS(T* address, T compare, T value) {
    __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return compare;
}
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
template <typename T> static inline T __ldg(const T* address) { return *address; }

/* Bit casts. */
template <typename To, typename From> static inline To cudaemu_bits(From value) {
    static_assert(sizeof(To) == sizeof(From), "bit cast between sizes");
    To result;
    std::memcpy(&result, &value, sizeof(To));
    return result;
}
static inline float __int_as_float(int v) { return cudaemu_bits<float>(v); }
static inline float __uint_as_float(unsigned int v) { return cudaemu_bits<float>(v); }
static inline int __float_as_int(float v) { return cudaemu_bits<int>(v); }
static inline unsigned int __float_as_uint(float v) { return cudaemu_bits<unsigned int>(v); }
static inline double __longlong_as_double(long long v) { return cudaemu_bits<double>(v); }
static inline long long __double_as_longlong(double v) { return cudaemu_bits<long long>(v); }

/* The kernel prelude's `load_vector` / `store_vector` call this: the device faults on a misaligned vector access. */
static inline void cudaemu_check_alignment(const void* address, unsigned int bytes) {
    if (reinterpret_cast<unsigned long long>(address) % bytes != 0) cudaemu_rt->misaligned(address, bytes);
}

/* Kernel sources test this to take the emulator's path where the device's is inline PTX (the tensor-core mma). */
#define CUDAEMU 1

/* mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 for one warp (PTX ISA, "Matrix fragments for
   mma.m16n8k16"): g = lane / 4, t = lane % 4; a[0] A[g][2t..], a[1] A[g+8][2t..], a[2] A[g][2t+8..], a[3]
   A[g+8][2t+8..]; b[0] B[2t..][g], b[1] B[2t+8..][g]; d[0..1] D[g][2t..], d[2..3] D[g+8][2t..]; two bf16 per
   register, the lower index in the low half. Every lane's fragments go to a per-block scratch, the warp meets (as
   at __syncwarp), each lane sums its four outputs in f32 in k order (the device's order and rounding differ), and
   the warp meets again before the scratch is reused. One-dimensional blocks of whole warps. */
static inline float cudaemu_bf16_half(unsigned int word, int high) { return cudaemu_bits<float>((high ? word >> 16 : word & 0xffffu) << 16); }
static inline void cudaemu_mma_m16n8k16_bf16(float* d, const unsigned int* a, const unsigned int* b) {
    static thread_local unsigned int scratch[32][32][6];
    const unsigned int warp = cudaemu_state.thread.x / 32, lane = cudaemu_state.thread.x % 32;
    for (int i = 0; i < 4; i++) scratch[warp][lane][i] = a[i];
    scratch[warp][lane][4] = b[0];
    scratch[warp][lane][5] = b[1];
    cudaemu_rt->shuffle(0xffffffffu, 0, 1, 0, 32);
    const unsigned int g = lane / 4, t = lane % 4;
    for (int out = 0; out < 4; out++) {
        const unsigned int row = g + (out >= 2 ? 8 : 0), column = 2 * t + (out & 1);
        float sum = d[out];
        for (unsigned int k = 0; k < 16; k++) {
            const unsigned int source = (k % 8) / 2, high = k % 2, upper = k >= 8 ? 1 : 0;
            const float x = cudaemu_bf16_half(scratch[warp][(row % 8) * 4 + source][(row >= 8 ? 1 : 0) + 2 * upper], high);
            const float y = cudaemu_bf16_half(scratch[warp][column * 4 + source][4 + upper], high);
            sum += x * y;
        }
        d[out] = sum;
    }
    cudaemu_rt->shuffle(0xffffffffu, 0, 1, 0, 32);
}

/* ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16 for one warp (PTX ISA, "Warp-level matrix load instruction:
   ldmatrix"): lanes 8j … 8j + 7 give the 16-byte rows of matrix j (each address 16-byte aligned); lane i receives in
   r[j] the two bf16 of row i/4 at columns 2(i%4), 2(i%4) + 1 — or, with `trans`, column i/4 of rows 2(i%4) and
   2(i%4) + 1 — the lower in the low half. The warp meets before and after, as for the mma. */
static inline void cudaemu_ldmatrix_x4(unsigned int* r, const void* row, int trans) {
    static thread_local const unsigned char* rows[32][32];
    cudaemu_check_alignment(row, 16);
    const unsigned int warp = cudaemu_state.thread.x / 32, lane = cudaemu_state.thread.x % 32;
    rows[warp][lane] = static_cast<const unsigned char*>(row);
    cudaemu_rt->shuffle(0xffffffffu, 0, 1, 0, 32);
    for (int j = 0; j < 4; j++) {
        if (!trans) {
            std::memcpy(&r[j], rows[warp][8 * j + lane / 4] + 4 * (lane % 4), 4);
        } else {
            unsigned short low, high;
            std::memcpy(&low, rows[warp][8 * j + 2 * (lane % 4)] + 2 * (lane / 4), 2);
            std::memcpy(&high, rows[warp][8 * j + 2 * (lane % 4) + 1] + 2 * (lane / 4), 2);
            r[j] = (unsigned int)low | ((unsigned int)high << 16);
        }
    }
    cudaemu_rt->shuffle(0xffffffffu, 0, 1, 0, 32);
}

/* cp.async.cg.shared.global (16 bytes; `source_bytes` of them read, the rest zero-filled), cp.async.commit_group
   and cp.async.wait_group N (PTX ISA, "Data Movement and Conversion Instructions: cp.async"): a copy is queued
   per thread and made only when a wait_group of its thread covers its group, so a kernel that reads the shared
   memory before waiting (or before the barrier after the wait) reads stale data here too. A block's queue is
   dropped when the thread next queues for another block; more than 64 copies pending in one thread abort. */
struct cudaemu_async_copy { unsigned char* target; const unsigned char* source; unsigned int source_bytes, group; };
struct cudaemu_async_queue {
    cudaemu_async_copy copies[64];
    unsigned int count, committed;
    unsigned long long block;
};
static inline cudaemu_async_queue& cudaemu_async_queue_of_thread() {
    static thread_local cudaemu_async_queue queues[1024];
    cudaemu_async_queue& queue = queues[cudaemu_state.thread.x];
    const unsigned long long block = ((unsigned long long)cudaemu_state.block.z * cudaemu_state.grid_dim.y + cudaemu_state.block.y)
                                         * cudaemu_state.grid_dim.x + cudaemu_state.block.x + 1;
    if (queue.block != block) queue = cudaemu_async_queue{{}, 0, 0, block};
    return queue;
}
static inline void cudaemu_cp_async_16(void* target, const void* source, unsigned int source_bytes) {
    cudaemu_check_alignment(target, 16);
    cudaemu_check_alignment(source, 16);
    cudaemu_async_queue& queue = cudaemu_async_queue_of_thread();
    if (queue.count == 64) {
        std::fprintf(stderr, "cudaemu: more than 64 cp.async copies pending in one thread\n");
        std::abort();
    }
    queue.copies[queue.count++] = {static_cast<unsigned char*>(target), static_cast<const unsigned char*>(source),
                                   source_bytes < 16 ? source_bytes : 16, queue.committed};
}
static inline void cudaemu_cp_async_commit() { cudaemu_async_queue_of_thread().committed++; }
static inline void cudaemu_cp_async_wait(unsigned int pending_groups) {
    cudaemu_async_queue& queue = cudaemu_async_queue_of_thread();
    unsigned int kept = 0;
    for (unsigned int i = 0; i < queue.count; i++) {
        const cudaemu_async_copy copy = queue.copies[i];
        if (copy.group + pending_groups < queue.committed) {
            std::memcpy(copy.target, copy.source, copy.source_bytes);
            std::memset(copy.target + copy.source_bytes, 0, 16 - copy.source_bytes);
        } else {
            queue.copies[kept++] = copy;
        }
    }
    queue.count = kept;
}

/* Rounded intrinsics (round to nearest even, no contraction: the file is compiled with -ffp-contract=off). */
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fsqrt_rn(float a) { return std::sqrt(a); }
static inline float __frcp_rn(float a) { return 1.0f / a; }
static inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }

/* CUDA math names C++ lacks; the fast intrinsics as their accurate counterparts (glibc itself declares __expf
   and __logf). */
static inline float rsqrtf(float a) { return 1.0f / std::sqrt(a); }
static inline double rsqrt(double a) { return 1.0 / std::sqrt(a); }
static inline float __fdividef(float a, float b) { return a / b; }
static inline float __saturatef(float a) { return a < 0.0f ? 0.0f : (a > 1.0f ? 1.0f : a); }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
static inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
static inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
static inline float min(float a, float b) { return std::fmin(a, b); }
static inline float max(float a, float b) { return std::fmax(a, b); }
static inline double min(double a, double b) { return std::fmin(a, b); }
static inline double max(double a, double b) { return std::fmax(a, b); }

/* The launch trampoline: `params` as cuLaunchKernel receives it (one pointer per argument). */
template <typename... Arguments, std::size_t... Index>
static inline void cudaemu_invoke(void (*kernel)(Arguments...), void** params, std::index_sequence<Index...>) {
    kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<Arguments>>*>(params[Index])...);
}
template <typename... Arguments> static inline void cudaemu_invoke(void (*kernel)(Arguments...), void** params) {
    cudaemu_invoke(kernel, params, std::index_sequence_for<Arguments...>{});
}
/* The byte size of each argument (what a captured launch copies, as the device records a graph's kernel node). */
template <typename... Arguments> static inline int cudaemu_parameter_sizes(void (*)(Arguments...), size_t* sizes) {
    const size_t each[] = {sizeof(std::remove_cv_t<std::remove_reference_t<Arguments>>)..., 0};
    for (size_t i = 0; i < sizeof...(Arguments); i++) sizes[i] = each[i];
    return (int)sizeof...(Arguments);
}
