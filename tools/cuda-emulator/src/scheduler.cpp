// Kernel execution: CUDA threads as fibers (context.hpp), one block at a time per worker OS thread.
//
// A worker runs the fibers of its block, warp by warp, until each finishes or reaches a synchronisation point, and
// releases what can proceed: a warp whose lanes (all lanes of the shuffle's mask) wait at a shuffle gets the
// exchanged values and runs on; a block whose live threads all wait at __syncthreads passes the barrier (exited threads count as arrived, as on
// the device). When nothing can proceed the launch fails with a deadlock report; a shuffle that names an exited
// or absent lane, or lanes of one warp waiting at different barriers, fails too — code the device would run with
// undefined results or hang on.
#include "context.hpp"
#include "emulator.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace cudaemu {
namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kGuardBytes = 4096;

enum class Status { Ready, BlockBarrier, WarpBarrier, Done };

struct Fiber {
    Context context;
    char* stack = nullptr;
    Status status = Status::Done;
    Dim index{};
    unsigned mask = 0;
    unsigned long long value = 0, result = 0;
    int kind = 0, lane = 0;
};

struct Launch {
    const Function* function;
    void** params;
    Dim grid, block;
    unsigned long long blocks;
    std::atomic<unsigned long long> next{0};
    std::atomic<bool> failed{false};
    std::mutex error_lock;
    std::string error;

    void fail(const std::string& message) {
        std::lock_guard<std::mutex> guard(error_lock);
        if (error.empty()) error = message;
        failed = true;
    }
};

struct Worker {
    Context scheduler;
    std::vector<std::unique_ptr<Fiber>> fibers;
    Fiber* current = nullptr;
    Launch* launch = nullptr;
    ThreadState* state = nullptr;
    Dim block_index{};
    std::string misuse;

    ~Worker() {
        for (auto& fiber : fibers) munmap(fiber->stack - kGuardBytes, kStackBytes + kGuardBytes);
    }

    void reserve(size_t count) {
        while (fibers.size() < count) {
            auto fiber = std::make_unique<Fiber>();
            void* mapping = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (mapping == MAP_FAILED) {
                report("cannot map a fiber stack (%zu fibers)", fibers.size());
                abort();
            }
            mprotect(mapping, kGuardBytes, PROT_NONE);  // a stack overflow faults instead of corrupting
            fiber->stack = static_cast<char*>(mapping) + kGuardBytes;
            fibers.push_back(std::move(fiber));
        }
    }
};

thread_local Worker* current_worker = nullptr;

/// `CUDAEMU_SCHEDULE=reverse` runs each block's threads last to first: a read of shared or global memory that
/// another thread writes without a barrier between them then sees a different value, so the race shows.
bool reverse_order() {
    static const bool reverse = [] {
        const char* value = getenv("CUDAEMU_SCHEDULE");
        return value && strcmp(value, "reverse") == 0;
    }();
    return reverse;
}

std::string describe(const Launch& launch, Dim block) {
    char text[256];
    snprintf(text, sizeof text, "kernel %s, block (%u, %u, %u) of grid (%u, %u, %u), block size (%u, %u, %u)",
             launch.function->name.c_str(), block.x, block.y, block.z, launch.grid.x, launch.grid.y, launch.grid.z,
             launch.block.x, launch.block.y, launch.block.z);
    return text;
}

void fiber_entry() {
    Worker* worker = current_worker;
    Fiber* fiber = worker->current;
    worker->launch->function->entry(worker->launch->params);
    fiber->status = Status::Done;
    context_switch(fiber->context, worker->scheduler);  // never resumed
}

void suspend(Status status) {
    Worker* worker = current_worker;
    Fiber* fiber = worker->current;
    fiber->status = status;
    context_switch(fiber->context, worker->scheduler);
}

void runtime_syncthreads() { suspend(Status::BlockBarrier); }

unsigned long long runtime_shuffle(unsigned mask, unsigned long long value, int kind, int lane, int width) {
    Worker* worker = current_worker;
    Fiber* fiber = worker->current;
    if (width != 32 && worker->misuse.empty()) worker->misuse = "shuffle of width " + std::to_string(width) + " (only 32 is emulated)";
    fiber->mask = mask;
    fiber->value = value;
    fiber->kind = kind;
    fiber->lane = lane;
    suspend(Status::WarpBarrier);
    return fiber->result;
}

// A vector access at an address not aligned to its size: the device faults (CUDA_ERROR_MISALIGNED_ADDRESS); here the
// access itself is harmless, so the thread runs on and the launch fails after its warp's pass, naming the access.
void runtime_misaligned(const void* address, unsigned bytes) {
    Worker* worker = current_worker;
    if (!worker->misuse.empty()) return;
    char text[160];
    snprintf(text, sizeof text, "misaligned %u-byte access at %p (thread %u; the device faults: CUDA_ERROR_MISALIGNED_ADDRESS)",
             bytes, address, worker->state->thread.x);
    worker->misuse = text;
}

const struct {
    void (*syncthreads)();
    unsigned long long (*shuffle)(unsigned, unsigned long long, int, int, int);
    void (*misaligned)(const void*, unsigned);
} runtime{runtime_syncthreads, runtime_shuffle, runtime_misaligned};

/// Releases warp `warp` when every lane of its shuffle mask waits at a shuffle. Returns true when released;
/// sets `error` for a mask naming an exited or absent lane, or lanes with different masks.
bool release_warp(Worker& worker, unsigned warp, unsigned count, std::string& error) {
    Fiber* lanes[32] = {};
    unsigned first = warp * 32, present = std::min(32u, count - first);
    for (unsigned lane = 0; lane < present; lane++) lanes[lane] = worker.fibers[first + lane].get();
    unsigned mask = 0;
    bool any = false;
    for (unsigned lane = 0; lane < present; lane++) {
        if (lanes[lane]->status != Status::WarpBarrier) continue;
        if (any && lanes[lane]->mask != mask) {
            error = "lanes of warp " + std::to_string(warp) + " wait at shuffles with different masks";
            return false;
        }
        mask = lanes[lane]->mask;
        any = true;
    }
    if (!any) return false;
    for (unsigned lane = 0; lane < 32; lane++) {
        if (!(mask >> lane & 1)) continue;
        if (lane >= present || lanes[lane]->status == Status::Done) {
            char text[160];
            snprintf(text, sizeof text, "warp %u shuffles with mask 0x%08x but lane %u %s", warp, mask, lane,
                     lane >= present ? "does not exist (block size not a multiple of 32)" : "has exited");
            error = text;
            return false;
        }
        if (lanes[lane]->status != Status::WarpBarrier) return false;  // still running towards it, or at a block barrier
    }
    for (unsigned lane = 0; lane < 32; lane++) {
        if (!(mask >> lane & 1)) continue;
        Fiber* fiber = lanes[lane];
        int source;
        switch (fiber->kind) {
            case 0: source = fiber->lane & 31; break;
            case 1: source = (int)lane ^ (fiber->lane & 31); break;
            case 2: source = (int)lane + fiber->lane > 31 ? (int)lane : (int)lane + fiber->lane; break;
            default: source = (int)lane - fiber->lane < 0 ? (int)lane : (int)lane - fiber->lane; break;
        }
        if (!(mask >> source & 1)) {
            error = "lane " + std::to_string(lane) + " of warp " + std::to_string(warp) + " reads lane " +
                    std::to_string(source) + ", outside the shuffle's mask";
            return false;
        }
        fiber->result = lanes[source]->value;
    }
    for (unsigned lane = 0; lane < 32; lane++)
        if (mask >> lane & 1) lanes[lane]->status = Status::Ready;
    return true;
}

/// Runs one block to completion. Returns false (with the launch's error set) on a misuse.
bool run_block(Worker& worker, unsigned long long linear) {
    Launch& launch = *worker.launch;
    Dim block{unsigned(linear % launch.grid.x), unsigned(linear / launch.grid.x % launch.grid.y),
              unsigned(linear / ((unsigned long long)launch.grid.x * launch.grid.y))};
    worker.state->block = block;
    worker.block_index = block;
    const unsigned count = launch.block.x * launch.block.y * launch.block.z;
    for (unsigned i = 0; i < count; i++) {
        Fiber& fiber = *worker.fibers[i];
        context_start(fiber.context, fiber.stack, kStackBytes, fiber_entry);
        fiber.status = Status::Ready;
        fiber.index = Dim{i % launch.block.x, i / launch.block.x % launch.block.y, i / (launch.block.x * launch.block.y)};
    }
    // Warp by warp: a warp's lanes run until each blocks; while they all wait at one shuffle it is exchanged and
    // they run on, so a shuffle costs a pass over 32 fibers, not over the block. Then the block barrier.
    const unsigned warps = (count + 31) / 32;
    const bool reverse = reverse_order();
    for (;;) {
        bool progress = false;
        for (unsigned w = 0; w < warps; w++) {
            const unsigned warp = reverse ? warps - 1 - w : w;
            const unsigned first = warp * 32, lanes = std::min(32u, count - first);
            for (;;) {
                for (unsigned l = 0; l < lanes; l++) {
                    Fiber& fiber = *worker.fibers[first + (reverse ? lanes - 1 - l : l)];
                    if (fiber.status != Status::Ready) continue;
                    worker.current = &fiber;
                    worker.state->thread = fiber.index;
                    context_switch(worker.scheduler, fiber.context);
                    progress = true;
                }
                if (!worker.misuse.empty()) {
                    launch.fail(describe(launch, block) + ": " + worker.misuse);
                    return false;
                }
                std::string error;
                const bool released = release_warp(worker, warp, count, error);
                if (!error.empty()) {
                    launch.fail(describe(launch, block) + ": " + error);
                    return false;
                }
                if (!released) break;
            }
        }
        unsigned live = 0, at_block = 0, at_warp = 0;
        for (unsigned i = 0; i < count; i++) {
            Status status = worker.fibers[i]->status;
            live += status != Status::Done;
            at_block += status == Status::BlockBarrier;
            at_warp += status == Status::WarpBarrier;
        }
        if (live == 0) return true;
        if (at_block == live) {
            for (unsigned i = 0; i < count; i++)
                if (worker.fibers[i]->status == Status::BlockBarrier) worker.fibers[i]->status = Status::Ready;
            continue;
        }
        if (!progress) {
            char text[200];
            snprintf(text, sizeof text,
                     "deadlock: %u live threads, %u at __syncthreads, %u at a warp shuffle (lanes of one warp at "
                     "different barriers, or a shuffle whose lanes never arrive)", live, at_block, at_warp);
            launch.fail(describe(launch, block) + ": " + text);
            return false;
        }
    }
}

std::mutex workers_lock;
std::vector<std::unique_ptr<Worker>> workers;

Worker& worker_at(size_t index) {
    std::lock_guard<std::mutex> guard(workers_lock);
    while (workers.size() <= index) workers.push_back(std::make_unique<Worker>());
    return *workers[index];
}

unsigned worker_count() {
    if (const char* value = getenv("CUDAEMU_THREADS")) {
        int count = atoi(value);
        if (count > 0) return (unsigned)count;
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

// A fault inside a kernel names the kernel, block and thread before the previous handler (the Swift runtime's
// backtracer, or the default) takes over.
struct sigaction previous_segv, previous_bus;

void on_fault(int signal, siginfo_t* info, void* context) {
    if (Worker* worker = current_worker; worker && worker->launch && worker->current) {
        char text[400];
        int length = snprintf(text, sizeof text,
                              "cudaemu: %s at address %p in kernel %s, block (%u, %u, %u), thread (%u, %u, %u)\n",
                              signal == SIGSEGV ? "segmentation fault" : "bus error", info->si_addr,
                              worker->launch->function->name.c_str(), worker->block_index.x, worker->block_index.y,
                              worker->block_index.z, worker->current->index.x, worker->current->index.y,
                              worker->current->index.z);
        if (length > 0) (void)!write(2, text, (size_t)std::min(length, (int)sizeof text - 1));
    }
    struct sigaction& previous = signal == SIGSEGV ? previous_segv : previous_bus;
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) return previous.sa_sigaction(signal, info, context);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN && previous.sa_handler) {
        return previous.sa_handler(signal);
    }
    sigaction(signal, &previous, nullptr);
    raise(signal);
}

void install_fault_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_sigaction = on_fault;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        sigaction(SIGSEGV, &action, &previous_segv);
        sigaction(SIGBUS, &action, &previous_bus);
    });
}

void run_worker(Worker& worker, Launch& launch) {
    Worker* outer = current_worker;
    current_worker = &worker;
    worker.launch = &launch;
    worker.misuse.clear();
    worker.state = launch.function->state_pointer();
    worker.state->block_dim = launch.block;
    worker.state->grid_dim = launch.grid;
    worker.reserve((size_t)launch.block.x * launch.block.y * launch.block.z);
    while (!launch.failed) {
        unsigned long long block = launch.next++;
        if (block >= launch.blocks) break;
        if (!run_block(worker, block)) break;
    }
    worker.launch = nullptr;
    worker.current = nullptr;
    current_worker = outer;
}

}  // namespace

const void* runtime_table() { return &runtime; }

void report(const char* format, ...) {
    va_list arguments;
    va_start(arguments, format);
    char text[1024];
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    fprintf(stderr, "cudaemu: %s\n", text);
    fflush(stderr);
}

std::mutex& device_lock() {
    static std::mutex lock;
    return lock;
}

Result launch(const Function& function, Dim grid, Dim block, unsigned shared_bytes, void** params) {
    const unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0 || threads > 1024 || block.z > 64 ||
        grid.y > 65535 || grid.z > 65535) {
        report("launch of %s with grid (%u, %u, %u), block (%u, %u, %u): invalid geometry", function.name.c_str(), grid.x,
               grid.y, grid.z, block.x, block.y, block.z);
        return kInvalidValue;
    }
    if (shared_bytes > 0) {
        report("launch of %s asks for %u bytes of dynamic shared memory: not emulated (extern __shared__)",
               function.name.c_str(), shared_bytes);
        return kNotSupported;
    }
    install_fault_handler();
    std::lock_guard<std::mutex> guard(device_lock());
    Launch launch;
    launch.function = &function;
    launch.params = params;
    launch.grid = grid;
    launch.block = block;
    launch.blocks = (unsigned long long)grid.x * grid.y * grid.z;
    const unsigned count = (unsigned)std::min<unsigned long long>(worker_count(), launch.blocks);
    std::vector<std::thread> threads_running;
    for (unsigned index = 1; index < count; index++) {
        Worker& worker = worker_at(index);
        threads_running.emplace_back([&worker, &launch] { run_worker(worker, launch); });
    }
    run_worker(worker_at(0), launch);
    for (auto& thread : threads_running) thread.join();
    if (launch.failed) {
        report("%s", launch.error.c_str());
        return kLaunchFailed;
    }
    return kSuccess;
}

}  // namespace cudaemu
