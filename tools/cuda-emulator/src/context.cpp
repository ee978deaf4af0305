// The x86-64 context switch of context.hpp: `cudaemu_switch(save, load)` pushes the callee-saved registers, MXCSR
// and the x87 control word, stores the stack pointer in *save, loads `load` as the stack pointer and pops the same
// in reverse; `ret` continues where that context switched away (or at a new fiber's entry).
#if defined(__x86_64__)
__asm__(R"(
    .text
    .globl cudaemu_switch
    .type cudaemu_switch, @function
cudaemu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size cudaemu_switch, .-cudaemu_switch
    .section .note.GNU-stack,"",@progbits
)");
#endif
