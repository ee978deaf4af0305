// Execution contexts of the kernel fibers. On x86-64 a hand-written switch saves the callee-saved registers, MXCSR
// and the x87 control word on the fiber's stack and swaps stack pointers — no system call, where glibc's
// swapcontext/getcontext each save the signal mask with one (a third of a parity run's time went there).
// Elsewhere, ucontext.
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__)

extern "C" void cudaemu_switch(void** save, void* load);

namespace cudaemu {

struct Context {
    void* stack_pointer = nullptr;
};

/// Prepares `context` to run `entry` on [stack, stack + bytes). `entry` must never return: it ends by switching away.
inline void context_start(Context& context, char* stack, size_t bytes, void (*entry)()) {
    auto top = (reinterpret_cast<uintptr_t>(stack + bytes)) & ~uintptr_t(15);
    auto** slot = reinterpret_cast<void**>(top);
    *--slot = nullptr;                          // entry's return address: none
    *--slot = reinterpret_cast<void*>(entry);   // where the first switch "returns" to (16-byte aligned slot)
    for (int i = 0; i < 6; i++) *--slot = nullptr;  // rbp, rbx, r12–r15
    --slot;
    uint32_t mxcsr;
    uint16_t control;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(control));
    auto* modes = reinterpret_cast<unsigned char*>(slot);
    __builtin_memcpy(modes, &mxcsr, 4);
    __builtin_memcpy(modes + 4, &control, 2);
    context.stack_pointer = slot;
}

/// Saves the running context into `from` and resumes `to`.
inline void context_switch(Context& from, Context& to) { cudaemu_switch(&from.stack_pointer, to.stack_pointer); }

}  // namespace cudaemu

#else

#include <ucontext.h>

namespace cudaemu {

struct Context {
    ucontext_t context;
};

inline void context_start(Context& context, char* stack, size_t bytes, void (*entry)()) {
    getcontext(&context.context);
    context.context.uc_stack.ss_sp = stack;
    context.context.uc_stack.ss_size = bytes;
    context.context.uc_link = nullptr;
    makecontext(&context.context, entry, 0);
}

inline void context_switch(Context& from, Context& to) { swapcontext(&from.context, &to.context); }

}  // namespace cudaemu

#endif
