// Self-test of the emulator (run by selftest.sh, in CI): kernels that must work give the device's results, and
// each misuse the README lists is reported as the error it names. Exit 0 when every check holds.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
int cuInit(unsigned);
int cuMemAlloc_v2(uint64_t*, size_t);
int cuMemFree_v2(uint64_t);
int cuMemcpyHtoDAsync_v2(uint64_t, const void*, size_t, void*);
int cuMemcpyDtoHAsync_v2(void*, uint64_t, size_t, void*);
int cuModuleLoadData(void**, const void*);
int cuModuleGetFunction(void**, void*, const char*);
int cuLaunchKernel(void*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void*, void**, void**);
int cuMemsetD32Async(uint64_t, unsigned, size_t, void*);
int cuStreamSynchronize(void*);
int cuStreamBeginCapture_v2(void*, int);
int cuStreamEndCapture(void*, void**);
int cuGraphInstantiateWithFlags(void**, void*, unsigned long long);
int cuGraphLaunch(void*, void*);
int nvrtcCreateProgram(void**, const char*, const char*, int, const char* const*, const char* const*);
int nvrtcCompileProgram(void*, int, const char* const*);
int nvrtcGetCUBINSize(void*, size_t*);
int nvrtcGetCUBIN(void*, char*);
int nvrtcGetProgramLogSize(void*, size_t*);
int nvrtcGetProgramLog(void*, char*);
}

static const char* kSource = R"(
extern "C" __global__ void block_sum(const float* x, float* out, int n) {
    __shared__ float partial[32];
    float v = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) v += x[blockIdx.x * n + i];
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        for (int w = 0; w < (int)(blockDim.x >> 5); ++w) total += partial[w];
        out[blockIdx.x] = total;
    }
}
// One warp: D [16][8] f32 = A [16][16] · B [16][8] (bf16 bits, row-major) through the emulated tensor-core mma,
// each lane packing its fragments as the PTX ISA lays them out (g = lane / 4, t = lane % 4).
extern "C" __global__ __launch_bounds__(32) void mma_tile(const unsigned short* a, const unsigned short* b, float* d) {
    const int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
    auto pair = [](const unsigned short* p, int low, int high) { return (unsigned)p[low] | ((unsigned)p[high] << 16); };
    const unsigned fa[4] = {pair(a, g * 16 + 2 * t, g * 16 + 2 * t + 1), pair(a, (g + 8) * 16 + 2 * t, (g + 8) * 16 + 2 * t + 1),
                            pair(a, g * 16 + 2 * t + 8, g * 16 + 2 * t + 9), pair(a, (g + 8) * 16 + 2 * t + 8, (g + 8) * 16 + 2 * t + 9)};
    const unsigned fb[2] = {pair(b, (2 * t) * 8 + g, (2 * t + 1) * 8 + g), pair(b, (2 * t + 8) * 8 + g, (2 * t + 9) * 8 + g)};
    float fd[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    cudaemu_mma_m16n8k16_bf16(fd, fa, fb);
    d[g * 8 + 2 * t] = fd[0];
    d[g * 8 + 2 * t + 1] = fd[1];
    d[(g + 8) * 8 + 2 * t] = fd[2];
    d[(g + 8) * 8 + 2 * t + 1] = fd[3];
}

// One warp, ldmatrix.x4 of a 16×16 bf16 matrix in shared memory (rows 24 bf16 apart): lane l gives row l % 16 at
// column 8·(l / 16), so the matrices are the four 8×8 quarters (top-left, bottom-left, top-right, bottom-right);
// out[8l + j] is lane l's r[j], out[8l + 4 + j] the same with .trans.
extern "C" __global__ __launch_bounds__(32) void ldmatrix_tile(const unsigned short* m, unsigned* out) {
    alignas(16) __shared__ unsigned short tile[16 * 24];
    const int lane = threadIdx.x;
    for (int i = lane; i < 256; i += 32) tile[(i / 16) * 24 + i % 16] = m[i];
    __syncthreads();
    unsigned r[4], rt[4];
    const unsigned short* row = &tile[(lane % 16) * 24 + (lane / 16) * 8];
    cudaemu_ldmatrix_x4(r, row, 0);
    cudaemu_ldmatrix_x4(rt, row, 1);
    for (int j = 0; j < 4; ++j) {
        out[8 * lane + j] = r[j];
        out[8 * lane + 4 + j] = rt[j];
    }
}
// One warp, cp.async of 16 bytes per thread in two groups (group 0: thread 30 copies 8 bytes, thread 31 none, the
// rest zero-filled; group 1 whole), shared memory first set to 0xdeadbeef. out[0, 32): group 0's first word before
// any wait; out[32, 64) and out[64, 96): groups 0 and 1 after wait_group 1; out[96, 224): the next thread's four
// words of group 0 after wait_group 0 and a barrier.
extern "C" __global__ __launch_bounds__(32) void async_copy(const unsigned* in, unsigned* out) {
    alignas(16) __shared__ unsigned staged[2][128];
    const int i = threadIdx.x;
    for (int w = 0; w < 4; ++w) staged[0][4 * i + w] = staged[1][4 * i + w] = 0xdeadbeefu;
    __syncthreads();
    cudaemu_cp_async_16(&staged[0][4 * i], in + 4 * i, i == 31 ? 0u : (i == 30 ? 8u : 16u));
    cudaemu_cp_async_commit();
    cudaemu_cp_async_16(&staged[1][4 * i], in + 128 + 4 * i, 16u);
    cudaemu_cp_async_commit();
    out[i] = staged[0][4 * i];
    cudaemu_cp_async_wait(1);
    out[32 + i] = staged[0][4 * i];
    out[64 + i] = staged[1][4 * i];
    cudaemu_cp_async_wait(0);
    __syncthreads();
    for (int w = 0; w < 4; ++w) out[96 + 4 * i + w] = staged[0][4 * ((i + 1) % 32) + w];
}

extern "C" __global__ void deadlock(float* out) {
    if (threadIdx.x < 32) __syncthreads();
    out[threadIdx.x] = 1.0f;
}
extern "C" __global__ void exited_lane(float* out) {
    if (threadIdx.x == 5) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}
/* Half a warp at a barrier, the other half at a full-mask shuffle: hangs on a device. */
extern "C" __global__ void divergent_barriers(float* out) {
    if (threadIdx.x < 16) __syncthreads();
    else out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}
/* A 16-byte access 4 bytes past an aligned address (what the prelude's load_vector checks): the device faults. */
extern "C" __global__ void misaligned_vector(float* out) {
    cudaemu_check_alignment(out + 4 * threadIdx.x + (threadIdx.x == 7 ? 1 : 0), 16);
    out[threadIdx.x] = 1.0f;
}
/* Reads its neighbour's shared value without a barrier: right only when the neighbour ran first. */
extern "C" __global__ void racy_neighbour(float* out) {
    __shared__ float value[64];
    value[threadIdx.x] = (float)threadIdx.x;
    out[threadIdx.x] = threadIdx.x == 0 ? 0.0f : value[threadIdx.x - 1];
}
)";

static int failures = 0;

static void expect(bool condition, const std::string& what) {
    printf("  %-70s %s\n", what.c_str(), condition ? "ok" : "FAILED");
    if (!condition) failures++;
}

int main(int argc, char** argv) {
    const bool reverse = argc > 1 && strcmp(argv[1], "reverse") == 0;
    cuInit(0);
    void* program = nullptr;
    nvrtcCreateProgram(&program, kSource, "selftest.cu", 0, nullptr, nullptr);
    int compiled = nvrtcCompileProgram(program, 0, nullptr);
    if (compiled != 0) {
        size_t size = 0;
        nvrtcGetProgramLogSize(program, &size);
        std::vector<char> log(size);
        nvrtcGetProgramLog(program, log.data());
        printf("compile failed:\n%s\n", log.data());
        return 1;
    }
    size_t size = 0;
    nvrtcGetCUBINSize(program, &size);
    std::vector<char> image(size);
    nvrtcGetCUBIN(program, image.data());
    void* module = nullptr;
    expect(cuModuleLoadData(&module, image.data()) == 0, "cuModuleLoadData of the emulated NVRTC's image");
    expect(cuModuleLoadData(&module, "\x7f" "ELF not ours") == 200, "a foreign image is CUDA_ERROR_INVALID_IMAGE");

    // A two-level reduction over 3 blocks of 256 threads.
    const int blocks = 3, n = 1000;
    std::vector<float> x(blocks * n);
    for (int i = 0; i < blocks * n; i++) x[i] = (float)(i % 7);
    uint64_t dx = 0, dout = 0;
    cuMemAlloc_v2(&dx, x.size() * 4);
    cuMemAlloc_v2(&dout, 1024 * 4);
    cuMemcpyHtoDAsync_v2(dx, x.data(), x.size() * 4, nullptr);
    void* function = nullptr;
    cuModuleGetFunction(&function, module, "block_sum");
    int count = n;
    void* params[] = {&dx, &dout, &count};
    expect(cuLaunchKernel(function, blocks, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr) == 0, "block_sum launches");
    float sums[blocks];
    cuMemcpyDtoHAsync_v2(sums, dout, sizeof sums, nullptr);
    bool right = true;
    for (int b = 0; b < blocks; b++) {
        double expected = 0;
        for (int i = 0; i < n; i++) expected += x[b * n + i];
        right = right && sums[b] == (float)expected;
    }
    expect(right, "block_sum: warp shuffles + __syncthreads give every block's sum");
    expect(cuLaunchKernel(function, 1, 1, 1, 2048, 1, 1, 0, nullptr, params, nullptr) == 1,
           "a 2,048-thread block is CUDA_ERROR_INVALID_VALUE");

    // The tensor-core mma: small integers, exact in bf16 and in the f32 sums, so D must equal A·B exactly.
    {
        std::vector<unsigned short> a(16 * 16), b(16 * 8);
        std::vector<float> fa(a.size()), fb(b.size());
        for (size_t i = 0; i < a.size(); i++) fa[i] = (float)((int)(i * 7 % 11) - 5);
        for (size_t i = 0; i < b.size(); i++) fb[i] = (float)((int)(i * 5 % 9) - 4);
        auto bits = [](float v) { unsigned u; memcpy(&u, &v, 4); return (unsigned short)(u >> 16); };
        for (size_t i = 0; i < a.size(); i++) a[i] = bits(fa[i]);
        for (size_t i = 0; i < b.size(); i++) b[i] = bits(fb[i]);
        uint64_t da = 0, db = 0, dd = 0;
        cuMemAlloc_v2(&da, a.size() * 2);
        cuMemAlloc_v2(&db, b.size() * 2);
        cuMemAlloc_v2(&dd, 16 * 8 * 4);
        cuMemcpyHtoDAsync_v2(da, a.data(), a.size() * 2, nullptr);
        cuMemcpyHtoDAsync_v2(db, b.data(), b.size() * 2, nullptr);
        void* mma = nullptr;
        expect(cuModuleGetFunction(&mma, module, "mma_tile") == 0, "a kernel declared with __launch_bounds__ is found");
        void* mma_params[] = {&da, &db, &dd};
        expect(cuLaunchKernel(mma, 1, 1, 1, 32, 1, 1, 0, nullptr, mma_params, nullptr) == 0, "mma_tile launches");
        float out[16 * 8];
        cuMemcpyDtoHAsync_v2(out, dd, sizeof out, nullptr);
        bool exact = true;
        for (int r = 0; r < 16; r++) {
            for (int c = 0; c < 8; c++) {
                float sum = 0.0f;
                for (int k = 0; k < 16; k++) sum += fa[r * 16 + k] * fb[k * 8 + c];
                exact = exact && out[r * 8 + c] == sum;
            }
        }
        expect(exact, "mma.m16n8k16 bf16: every lane's fragments give D = A·B");
    }

    // ldmatrix: every lane's fragments as the PTX ISA lays them out (integers as bf16 bits, compared bit for bit).
    {
        std::vector<unsigned short> m(256);
        for (int i = 0; i < 256; i++) m[i] = (unsigned short)(1000 + i);
        uint64_t dm = 0, dr = 0;
        cuMemAlloc_v2(&dm, m.size() * 2);
        cuMemAlloc_v2(&dr, 256 * 4);
        cuMemcpyHtoDAsync_v2(dm, m.data(), m.size() * 2, nullptr);
        void* kernel = nullptr;
        cuModuleGetFunction(&kernel, module, "ldmatrix_tile");
        void* kernel_params[] = {&dm, &dr};
        expect(cuLaunchKernel(kernel, 1, 1, 1, 32, 1, 1, 0, nullptr, kernel_params, nullptr) == 0, "ldmatrix_tile launches");
        unsigned r[256];
        cuMemcpyDtoHAsync_v2(r, dr, sizeof r, nullptr);
        bool plain = true, transposed = true;
        for (int lane = 0; lane < 32; lane++) {
            for (int j = 0; j < 4; j++) {
                const int row0 = (j % 2) * 8, column0 = (j / 2) * 8;
                auto at = [&](int row, int column) { return (unsigned)m[(row0 + row) * 16 + column0 + column]; };
                plain = plain && r[8 * lane + j] == (at(lane / 4, 2 * (lane % 4)) | (at(lane / 4, 2 * (lane % 4) + 1) << 16));
                transposed = transposed && r[8 * lane + 4 + j] == (at(2 * (lane % 4), lane / 4) | (at(2 * (lane % 4) + 1, lane / 4) << 16));
            }
        }
        expect(plain, "ldmatrix.x4: lane i holds row i/4, columns 2(i%4) and 2(i%4) + 1 of each matrix");
        expect(transposed, "ldmatrix.x4.trans: lane i holds column i/4 of rows 2(i%4) and 2(i%4) + 1");
        cuMemFree_v2(dm);
        cuMemFree_v2(dr);
    }

    // cp.async: a copy lands at the wait that covers its group, zero-filled past its source bytes.
    {
        std::vector<unsigned> in(256);
        for (int i = 0; i < 256; i++) in[i] = 7 + 3 * (unsigned)i;
        uint64_t din = 0, dcopy = 0;
        cuMemAlloc_v2(&din, in.size() * 4);
        cuMemAlloc_v2(&dcopy, 224 * 4);
        cuMemcpyHtoDAsync_v2(din, in.data(), in.size() * 4, nullptr);
        void* kernel = nullptr;
        cuModuleGetFunction(&kernel, module, "async_copy");
        void* kernel_params[] = {&din, &dcopy};
        expect(cuLaunchKernel(kernel, 1, 1, 1, 32, 1, 1, 0, nullptr, kernel_params, nullptr) == 0, "async_copy launches");
        unsigned out[224];
        cuMemcpyDtoHAsync_v2(out, dcopy, sizeof out, nullptr);
        const unsigned sentinel = 0xdeadbeefu;
        auto copied = [&](int thread, int word) {
            const int bytes = thread == 31 ? 0 : (thread == 30 ? 8 : 16);
            return 4 * word < bytes ? in[4 * thread + word] : 0u;
        };
        bool early = true, first = true, second = true, whole = true;
        for (int i = 0; i < 32; i++) {
            early = early && out[i] == sentinel;
            first = first && out[32 + i] == copied(i, 0);
            second = second && out[64 + i] == sentinel;
            for (int w = 0; w < 4; w++) whole = whole && out[96 + 4 * i + w] == copied((i + 1) % 32, w);
        }
        expect(early, "cp.async: shared memory unchanged before a wait");
        expect(first && second, "cp.async.wait_group 1: the first group landed, the last one not yet");
        expect(whole, "cp.async.wait_group 0 + barrier: every copy landed, zero-filled past its source bytes");
        cuMemFree_v2(din);
        cuMemFree_v2(dcopy);
    }

    // A graph: a memset and the launch captured (argument values copied at capture), replayed twice.
    const float poison = __builtin_nanf("");
    unsigned poison_bits;
    memcpy(&poison_bits, &poison, 4);
    expect(cuStreamBeginCapture_v2(nullptr, 2) == 0, "cuStreamBeginCapture");
    cuMemsetD32Async(dout, poison_bits, blocks, nullptr);
    int captured_n = n;
    void* captured_params[] = {&dx, &dout, &captured_n};
    cuLaunchKernel(function, blocks, 1, 1, 256, 1, 1, 0, nullptr, captured_params, nullptr);
    captured_n = 1;  // later changes to the host variables do not reach the graph
    expect(cuStreamSynchronize(nullptr) == 900, "cuStreamSynchronize while capturing is CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED");
    void* graph = nullptr;
    void* exec = nullptr;
    expect(cuStreamEndCapture(nullptr, &graph) == 0 && cuGraphInstantiateWithFlags(&exec, graph, 0) == 0,
           "cuStreamEndCapture + cuGraphInstantiateWithFlags");
    float before[blocks];
    cuMemcpyDtoHAsync_v2(before, dout, sizeof before, nullptr);
    bool untouched = true;
    for (int b = 0; b < blocks; b++) untouched = untouched && before[b] == sums[b];
    expect(untouched, "capturing runs nothing");
    bool replayed = true;
    for (int pass = 0; pass < 2; pass++) {
        replayed = replayed && cuGraphLaunch(exec, nullptr) == 0;
        float again[blocks];
        cuMemcpyDtoHAsync_v2(again, dout, sizeof again, nullptr);
        for (int b = 0; b < blocks; b++) replayed = replayed && again[b] == sums[b];
    }
    expect(replayed, "each graph launch replays the memset and the launch with the captured arguments");

    void* deadlock = nullptr;
    cuModuleGetFunction(&deadlock, module, "deadlock");
    void* one[] = {&dout};
    expect(cuLaunchKernel(deadlock, 1, 1, 1, 64, 1, 1, 0, nullptr, one, nullptr) == 0,
           "__syncthreads skipped by the other warp: exited threads count as arrived");
    void* divergent = nullptr;
    cuModuleGetFunction(&divergent, module, "divergent_barriers");
    expect(cuLaunchKernel(divergent, 1, 1, 1, 32, 1, 1, 0, nullptr, one, nullptr) == 719,
           "half a warp at __syncthreads, half at a shuffle: a deadlock, CUDA_ERROR_LAUNCH_FAILED");
    void* exited = nullptr;
    cuModuleGetFunction(&exited, module, "exited_lane");
    expect(cuLaunchKernel(exited, 1, 1, 1, 32, 1, 1, 0, nullptr, one, nullptr) == 719,
           "a full-mask shuffle after lane 5 exited is CUDA_ERROR_LAUNCH_FAILED");
    expect(cuLaunchKernel(function, 1, 1, 1, 48, 1, 1, 0, nullptr, params, nullptr) == 719,
           "a full-mask shuffle in a 48-thread block (absent lanes) is CUDA_ERROR_LAUNCH_FAILED");

    void* misaligned = nullptr;
    cuModuleGetFunction(&misaligned, module, "misaligned_vector");
    expect(cuLaunchKernel(misaligned, 1, 1, 1, 32, 1, 1, 0, nullptr, one, nullptr) == 719,
           "a 16-byte vector access 4 bytes off alignment (thread 7) is CUDA_ERROR_LAUNCH_FAILED");

    void* racy = nullptr;
    cuModuleGetFunction(&racy, module, "racy_neighbour");
    cuLaunchKernel(racy, 1, 1, 1, 64, 1, 1, 0, nullptr, one, nullptr);
    float values[64];
    cuMemcpyDtoHAsync_v2(values, dout, sizeof values, nullptr);
    bool ordered = true;
    for (int i = 1; i < 64; i++) ordered = ordered && values[i] == (float)(i - 1);
    expect(ordered != reverse, reverse ? "reverse order: the missing barrier shows (neighbours not written yet)"
                                       : "forward order: threads run first to last");

    std::vector<char> host(64);
    expect(cuMemcpyDtoHAsync_v2(host.data(), dout + 1024 * 4 - 8, 64, nullptr) == 700,
           "a copy past the end of an allocation is CUDA_ERROR_ILLEGAL_ADDRESS");
    expect(cuMemFree_v2(dx) == 0 && cuMemFree_v2(dx) == 1, "a double free is CUDA_ERROR_INVALID_VALUE");

    void* broken = nullptr;
    nvrtcCreateProgram(&broken, "extern \"C\" __global__ void k(float* x) { x[0] = undeclared; }", "broken.cu", 0,
                       nullptr, nullptr);
    int status = nvrtcCompileProgram(broken, 0, nullptr);
    size_t log_size = 0;
    nvrtcGetProgramLogSize(broken, &log_size);
    std::vector<char> log(log_size);
    nvrtcGetProgramLog(broken, log.data());
    expect(status == 6 && strstr(log.data(), "undeclared") != nullptr,
           "a compile error is NVRTC_ERROR_COMPILATION with the compiler's log");

    printf(failures == 0 ? "selftest: passed\n" : "selftest: %d FAILED\n", failures);
    return failures == 0 ? 0 : 1;
}
