// cudaemu: the CUDA driver API, NVRTC and cuBLASLt emulated on the CPU (README.md). Internal declarations shared
// by driver.cpp, nvrtc.cpp, cublaslt.cpp and scheduler.cpp.
#pragma once
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace cudaemu {

/// `CUresult` codes (cuda.h) the emulator returns.
enum Result : int {
    kSuccess = 0,
    kInvalidValue = 1,
    kOutOfMemory = 2,
    kNotInitialized = 3,
    kNoDevice = 100,
    kInvalidDevice = 101,
    kInvalidImage = 200,
    kInvalidContext = 201,
    kInvalidHandle = 400,
    kNotFound = 500,
    kNotReady = 600,
    kIllegalAddress = 700,
    kLaunchOutOfResources = 701,
    kLaunchFailed = 719,
    kNotSupported = 801,
    kUnknown = 999,
};

struct Dim {
    unsigned x, y, z;
};

/// The layout of `cudaemu_thread_state` in include/cudaemu_device.h.
struct ThreadState {
    Dim thread;
    Dim block;
    Dim block_dim;
    Dim grid_dim;
};

/// One kernel of a loaded module: its launch trampoline (`cudaemu_launch_<name>`, taking cuLaunchKernel's
/// `kernelParams`) and the module's per-OS-thread index state.
struct Function {
    std::string name;
    void (*entry)(void** params);
    ThreadState* (*state_pointer)();
};

/// A kernel library loaded by cuModuleLoadData.
struct Module {
    void* handle;
    std::string path;
    std::map<std::string, Function*> functions;
};

/// Runs every block of a launch (scheduler.cpp); a misuse (deadlock, shuffle with exited lanes, bad geometry)
/// is reported on stderr and returned as kLaunchFailed / kInvalidValue.
Result launch(const Function& function, Dim grid, Dim block, unsigned shared_bytes, void** params);

/// The `cudaemu_runtime` table handed to each kernel library (`cudaemu_bind`).
const void* runtime_table();

/// Writes "cudaemu: <message>" to stderr.
void report(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// The one lock of the emulated device: launches, copies and matmuls run one at a time, in call order.
std::mutex& device_lock();

/// Whether [address, address + bytes) lies inside one live device allocation (driver.cpp).
bool device_range_valid(uint64_t address, size_t bytes);

}  // namespace cudaemu
