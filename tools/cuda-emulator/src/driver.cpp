// The CUDA driver API entry points Distillery binds (Sources/CUDA/CUDADriver.swift), on the CPU: one device
// ("cudaemu", compute capability 9.0), device memory in host memory with every allocation tracked (copies and
// memsets outside a live allocation fail with CUDA_ERROR_ILLEGAL_ADDRESS, a double free with
// CUDA_ERROR_INVALID_VALUE), streams and events that execute in call order, modules that are the kernel
// libraries the emulated NVRTC built (nvrtc.cpp), and stream capture into graphs that replay the recorded work.
#include "emulator.hpp"

#include <dlfcn.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace cudaemu {
namespace {

struct Event {
    double milliseconds = 0;
};

/// A captured graph, and an instantiated one: the stream work recorded between begin and end capture.
struct Graph {
    std::vector<std::function<int()>> operations;
};

bool capture_active = false;
std::vector<std::function<int()>> captured;

std::mutex memory_lock;
std::map<uint64_t, size_t> allocations;  // device allocations: address → bytes
size_t used_bytes = 0;
bool initialised = false;
int context_token, stream_token;

size_t total_bytes() {
    if (const char* value = getenv("CUDAEMU_MEMORY_GIB")) {
        double gib = atof(value);
        if (gib > 0) return (size_t)(gib * (1ull << 30));
    }
    return 16ull << 30;
}

double now_milliseconds() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

bool capturing() { return capture_active; }

void record(std::function<int()> operation) { captured.push_back(std::move(operation)); }

bool device_range_valid(uint64_t address, size_t bytes) {
    std::lock_guard<std::mutex> guard(memory_lock);
    auto above = allocations.upper_bound(address);
    if (above == allocations.begin()) return false;
    --above;
    return address >= above->first && address + bytes <= above->first + above->second;
}

}  // namespace cudaemu

using namespace cudaemu;

namespace {

Result check_range(const char* call, uint64_t address, size_t bytes) {
    if (bytes == 0 || device_range_valid(address, bytes)) return kSuccess;
    report("%s: [0x%llx, +%zu bytes) is not inside one device allocation", call, (unsigned long long)address, bytes);
    return kIllegalAddress;
}

const char* error_name(int code) {
    switch (code) {
        case kSuccess: return "CUDA_SUCCESS";
        case kInvalidValue: return "CUDA_ERROR_INVALID_VALUE";
        case kOutOfMemory: return "CUDA_ERROR_OUT_OF_MEMORY";
        case kNotInitialized: return "CUDA_ERROR_NOT_INITIALIZED";
        case kNoDevice: return "CUDA_ERROR_NO_DEVICE";
        case kInvalidDevice: return "CUDA_ERROR_INVALID_DEVICE";
        case kInvalidImage: return "CUDA_ERROR_INVALID_IMAGE";
        case kInvalidContext: return "CUDA_ERROR_INVALID_CONTEXT";
        case kInvalidHandle: return "CUDA_ERROR_INVALID_HANDLE";
        case kNotFound: return "CUDA_ERROR_NOT_FOUND";
        case kNotReady: return "CUDA_ERROR_NOT_READY";
        case kIllegalAddress: return "CUDA_ERROR_ILLEGAL_ADDRESS";
        case kLaunchOutOfResources: return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
        case kLaunchFailed: return "CUDA_ERROR_LAUNCH_FAILED";
        case kNotSupported: return "CUDA_ERROR_NOT_SUPPORTED";
        case kCaptureUnsupported: return "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED";
        case kCaptureInvalidated: return "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED";
        default: return nullptr;
    }
}

const char* error_string(int code) {
    switch (code) {
        case kSuccess: return "no error";
        case kIllegalAddress: return "an illegal memory access was encountered (cudaemu: see the message above)";
        case kLaunchFailed: return "unspecified launch failure (cudaemu: see the message above)";
        case kNotSupported: return "operation not supported by the cudaemu CPU emulator";
        case kInvalidImage: return "device kernel image is invalid (cudaemu loads only images of its own NVRTC)";
        default: return error_name(code);
    }
}

}  // namespace

extern "C" {

int cuInit(unsigned flags) {
    if (flags != 0) return kInvalidValue;
    initialised = true;
    return kSuccess;
}

int cuDriverGetVersion(int* version) {
    *version = 13000;
    return kSuccess;
}

int cuGetErrorName(int code, const char** name) {
    *name = error_name(code);
    return *name ? kSuccess : kInvalidValue;
}

int cuGetErrorString(int code, const char** text) {
    *text = error_string(code);
    return *text ? kSuccess : kInvalidValue;
}

int cuDeviceGetCount(int* count) {
    if (!initialised) return kNotInitialized;
    *count = 1;
    return kSuccess;
}

int cuDeviceGet(int* device, int ordinal) {
    if (!initialised) return kNotInitialized;
    if (ordinal != 0) return kInvalidDevice;
    *device = 0;
    return kSuccess;
}

int cuDeviceGetName(char* name, int length, int device) {
    if (device != 0 || length <= 0) return kInvalidValue;
    snprintf(name, (size_t)length, "cudaemu (CPU emulation of sm_90)");
    return kSuccess;
}

int cuDeviceGetAttribute(int* value, int attribute, int device) {
    if (device != 0) return kInvalidDevice;
    switch (attribute) {
        case 1: *value = 1024; return kSuccess;     // MAX_THREADS_PER_BLOCK
        case 8: *value = 49152; return kSuccess;    // MAX_SHARED_MEMORY_PER_BLOCK
        case 10: *value = 32; return kSuccess;      // WARP_SIZE
        case 16: *value = 132; return kSuccess;     // MULTIPROCESSOR_COUNT (an H100/H200 SXM)
        case 75: *value = 9; return kSuccess;       // COMPUTE_CAPABILITY_MAJOR
        case 76: *value = 0; return kSuccess;       // COMPUTE_CAPABILITY_MINOR
        case 97: *value = 232448; return kSuccess;  // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
        default:
            report("cuDeviceGetAttribute(%d): attribute not emulated", attribute);
            return kInvalidValue;
    }
}

int cuDeviceTotalMem_v2(size_t* bytes, int device) {
    if (device != 0) return kInvalidDevice;
    *bytes = total_bytes();
    return kSuccess;
}

int cuDevicePrimaryCtxRetain(void** context, int device) {
    if (device != 0) return kInvalidDevice;
    *context = &context_token;
    return kSuccess;
}

int cuDevicePrimaryCtxRelease_v2(int device) { return device == 0 ? kSuccess : kInvalidDevice; }

int cuCtxSetCurrent(void* context) { return context == &context_token || context == nullptr ? kSuccess : kInvalidContext; }

int cuCtxSynchronize() { return kSuccess; }

int cuStreamCreate(void** stream, unsigned) {
    *stream = &stream_token;
    return kSuccess;
}

/* One stream whatever the priority: the emulator runs launches in call order. */
int cuStreamCreateWithPriority(void** stream, unsigned flags, int) { return cuStreamCreate(stream, flags); }

int cuCtxGetStreamPriorityRange(int* least, int* greatest) {
    if (least) *least = 0;
    if (greatest) *greatest = -5;
    return kSuccess;
}

int cuStreamDestroy_v2(void*) { return kSuccess; }

int cuStreamSynchronize(void*) {
    if (capture_active) {
        report("cuStreamSynchronize while the stream is capturing a graph (not permitted on a device)");
        return kCaptureUnsupported;
    }
    return kSuccess;
}

int cuStreamBeginCapture_v2(void*, int) {
    if (capture_active) return kCaptureInvalidated;
    capture_active = true;
    captured.clear();
    return kSuccess;
}

int cuStreamEndCapture(void*, void** graph) {
    if (!capture_active) return kInvalidValue;
    capture_active = false;
    *graph = new Graph{std::move(captured)};
    captured.clear();
    return kSuccess;
}

int cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long) {
    *exec = new Graph{((Graph*)graph)->operations};
    return kSuccess;
}

int cuGraphLaunch(void* exec, void*) {
    if (capture_active) return kCaptureUnsupported;
    for (auto& operation : ((Graph*)exec)->operations)
        if (int result = operation()) return result;
    return kSuccess;
}

int cuGraphExecDestroy(void* exec) {
    delete (Graph*)exec;
    return kSuccess;
}

int cuGraphDestroy(void* graph) {
    delete (Graph*)graph;
    return kSuccess;
}

int cuStreamWaitEvent(void*, void*, unsigned) { return kSuccess; }

int cuMemAlloc_v2(uint64_t* address, size_t bytes) {
    if (bytes == 0) return kInvalidValue;
    std::lock_guard<std::mutex> guard(memory_lock);
    if (used_bytes + bytes > total_bytes()) {
        report("cuMemAlloc of %zu bytes: out of the emulated device's %zu bytes (%zu in use; CUDAEMU_MEMORY_GIB sets it)",
               bytes, total_bytes(), used_bytes);
        return kOutOfMemory;
    }
    void* memory = aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (!memory) return kOutOfMemory;
    *address = (uint64_t)(uintptr_t)memory;
    allocations[*address] = bytes;
    used_bytes += bytes;
    return kSuccess;
}

int cuMemFree_v2(uint64_t address) {
    std::lock_guard<std::mutex> guard(memory_lock);
    auto found = allocations.find(address);
    if (found == allocations.end()) {
        report("cuMemFree(0x%llx): not a live allocation (double free?)", (unsigned long long)address);
        return kInvalidValue;
    }
    used_bytes -= found->second;
    allocations.erase(found);
    free((void*)(uintptr_t)address);
    return kSuccess;
}

int cuMemGetInfo_v2(size_t* free_bytes, size_t* total) {
    std::lock_guard<std::mutex> guard(memory_lock);
    *total = total_bytes();
    *free_bytes = *total - used_bytes;
    return kSuccess;
}

int cuMemAllocHost_v2(void** pointer, size_t bytes) {
    *pointer = aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    return *pointer ? kSuccess : kOutOfMemory;
}

int cuMemFreeHost(void* pointer) {
    free(pointer);
    return kSuccess;
}

int cuMemcpyHtoDAsync_v2(uint64_t destination, const void* source, size_t bytes, void*) {
    if (capture_active) {
        record([=] { return cuMemcpyHtoDAsync_v2(destination, source, bytes, nullptr); });
        return kSuccess;
    }
    if (Result result = check_range("cuMemcpyHtoDAsync", destination, bytes)) return result;
    std::lock_guard<std::mutex> guard(device_lock());
    memcpy((void*)(uintptr_t)destination, source, bytes);
    return kSuccess;
}

int cuMemcpyDtoHAsync_v2(void* destination, uint64_t source, size_t bytes, void*) {
    if (capture_active) {
        record([=] { return cuMemcpyDtoHAsync_v2(destination, source, bytes, nullptr); });
        return kSuccess;
    }
    if (Result result = check_range("cuMemcpyDtoHAsync", source, bytes)) return result;
    std::lock_guard<std::mutex> guard(device_lock());
    memcpy(destination, (const void*)(uintptr_t)source, bytes);
    return kSuccess;
}

int cuMemcpyDtoDAsync_v2(uint64_t destination, uint64_t source, size_t bytes, void*) {
    if (capture_active) {
        record([=] { return cuMemcpyDtoDAsync_v2(destination, source, bytes, nullptr); });
        return kSuccess;
    }
    if (Result result = check_range("cuMemcpyDtoDAsync (destination)", destination, bytes)) return result;
    if (Result result = check_range("cuMemcpyDtoDAsync (source)", source, bytes)) return result;
    std::lock_guard<std::mutex> guard(device_lock());
    memmove((void*)(uintptr_t)destination, (const void*)(uintptr_t)source, bytes);
    return kSuccess;
}

int cuMemsetD32Async(uint64_t destination, unsigned value, size_t count, void*) {
    if (capture_active) {
        record([=] { return cuMemsetD32Async(destination, value, count, nullptr); });
        return kSuccess;
    }
    if (Result result = check_range("cuMemsetD32Async", destination, count * 4)) return result;
    std::lock_guard<std::mutex> guard(device_lock());
    auto* words = (unsigned*)(uintptr_t)destination;
    for (size_t i = 0; i < count; i++) words[i] = value;
    return kSuccess;
}

int cuMemsetD16Async(uint64_t destination, unsigned short value, size_t count, void*) {
    if (capture_active) {
        record([=] { return cuMemsetD16Async(destination, value, count, nullptr); });
        return kSuccess;
    }
    if (Result result = check_range("cuMemsetD16Async", destination, count * 2)) return result;
    std::lock_guard<std::mutex> guard(device_lock());
    auto* halves = (unsigned short*)(uintptr_t)destination;
    for (size_t i = 0; i < count; i++) halves[i] = value;
    return kSuccess;
}

int cuModuleLoadData(void** module, const void* image) {
    static const char magic[] = "CUDAEMU\n";
    if (!image || memcmp(image, magic, sizeof magic - 1) != 0) {
        report("cuModuleLoadData: not an image of the cudaemu NVRTC (point DISTILL_NVRTC at the emulator too)");
        return kInvalidImage;
    }
    std::string path((const char*)image + sizeof magic - 1);
    path = path.substr(0, path.find('\n'));
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        report("cuModuleLoadData: %s", dlerror());
        return kInvalidImage;
    }
    auto bind = (void (*)(const void*))dlsym(handle, "cudaemu_bind");
    if (!bind) {
        report("cuModuleLoadData: %s has no cudaemu_bind", path.c_str());
        return kInvalidImage;
    }
    bind(runtime_table());
    *module = new Module{handle, path, {}};
    return kSuccess;
}

int cuModuleUnload(void* module) {
    auto* loaded = (Module*)module;
    for (auto& entry : loaded->functions) delete entry.second;
    dlclose(loaded->handle);
    delete loaded;
    return kSuccess;
}

int cuModuleGetFunction(void** function, void* module, const char* name) {
    auto* loaded = (Module*)module;
    auto found = loaded->functions.find(name);
    if (found == loaded->functions.end()) {
        auto entry = (void (*)(void**))dlsym(loaded->handle, ("cudaemu_launch_" + std::string(name)).c_str());
        auto state = (ThreadState * (*)()) dlsym(loaded->handle, "cudaemu_state_pointer");
        auto sizes = (int (*)(size_t*))dlsym(loaded->handle, ("cudaemu_parameters_" + std::string(name)).c_str());
        if (!entry || !state || !sizes) return kNotFound;
        found = loaded->functions.emplace(name, new Function{name, entry, state, sizes}).first;
    }
    *function = found->second;
    return kSuccess;
}

int cuFuncSetAttribute(void*, int, int) { return kSuccess; }

int cuLaunchKernel(void* function, unsigned grid_x, unsigned grid_y, unsigned grid_z, unsigned block_x, unsigned block_y,
                   unsigned block_z, unsigned shared_bytes, void*, void** params, void** extra) {
    if (!function) return kInvalidHandle;
    if (extra) {
        report("cuLaunchKernel: `extra` argument packing is not emulated (use kernelParams)");
        return kNotSupported;
    }
    const Dim grid{grid_x, grid_y, grid_z}, block{block_x, block_y, block_z};
    const auto& kernel = *(const Function*)function;
    if (capture_active) {  // a kernel node: the argument values as they are now
        size_t sizes[64];
        const int count = kernel.parameter_sizes(sizes);
        std::vector<std::vector<unsigned char>> values(count);
        for (int i = 0; i < count; i++) values[i].assign((unsigned char*)params[i], (unsigned char*)params[i] + sizes[i]);
        record([&kernel, grid, block, shared_bytes, values]() mutable {
            std::vector<void*> pointers;
            for (auto& value : values) pointers.push_back(value.data());
            return (int)launch(kernel, grid, block, shared_bytes, pointers.data());
        });
        return kSuccess;
    }
    return launch(kernel, grid, block, shared_bytes, params);
}

int cuEventCreate(void** event, unsigned) {
    *event = new Event;
    return kSuccess;
}

int cuEventDestroy_v2(void* event) {
    delete (Event*)event;
    return kSuccess;
}

int cuEventRecord(void* event, void*) {
    ((Event*)event)->milliseconds = now_milliseconds();
    return kSuccess;
}

int cuEventSynchronize(void*) { return kSuccess; }

int cuEventElapsedTime(float* milliseconds, void* start, void* end) {
    *milliseconds = (float)(((Event*)end)->milliseconds - ((Event*)start)->milliseconds);
    return kSuccess;
}

}  // extern "C"
