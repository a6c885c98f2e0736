/*
 * arch/x86_64/switch.h - the x86_64 context-switch primitive shared by the
 * hosted (sim/port/ctx.c) and bare-metal ports.
 *
 * A suspended context is nothing but a stack pointer: everything the SysV
 * ABI says a callee must preserve (rbx, rbp, r12-r15, the x87 control word
 * and MXCSR control bits) sits on the suspended stack, below the return
 * address into capos_ctx_swap's caller. Caller-saved registers need no
 * saving because capos_ctx_swap is an ordinary function call.
 */
#ifndef CAPOS_ARCH_X86_64_SWITCH_H
#define CAPOS_ARCH_X86_64_SWITCH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Suspend the running context and resume another. Stores the running
 * context's stack pointer into *save_sp, then switches to load_sp, which
 * must come from an earlier capos_ctx_swap (*save_sp) or from
 * capos_ctx_init_stack. Returns when some context swaps back to the value
 * stored in *save_sp. save_sp may point into memory that is never read
 * again (a context leaving for the last time).
 */
void capos_ctx_swap(void **save_sp, void *load_sp);

/* Assembly entry of every fresh context; only capos_ctx_init_stack uses
 * its address. Not callable from C. */
void capos_ctx_trampoline(void);

/*
 * Bytes capos_ctx_init_stack uses at the top of a fresh stack: the register
 * frame capos_ctx_swap pops (8 words), plus two zero words that end the
 * call chain for debuggers and unwinders.
 */
#define CAPOS_CTX_INIT_FRAME 80u

/*
 * Lay out a first frame at the top of [stack, stack + size) so that the
 * first capos_ctx_swap to the returned stack pointer calls entry(arg) on
 * that stack with a SysV-aligned stack (rsp + 8 a multiple of 16 at
 * entry), MXCSR 0x1f80 and x87 control word 0x037f (the ABI's initial
 * values). stack + size need not be aligned; the frame is placed at the
 * highest 16-byte boundary below it. size must be at least
 * CAPOS_CTX_INIT_FRAME + 16. entry must never return: if it does, the
 * trampoline executes ud2 (SIGILL hosted, #UD on metal).
 */
static inline void *capos_ctx_init_stack(void *stack, size_t size,
                                         void (*entry)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    uint64_t *f = (uint64_t *)(top - CAPOS_CTX_INIT_FRAME);

    /* Frame as capos_ctx_swap leaves it (lowest address first). */
    f[0] = 0x1f80u | ((uint64_t)0x037fu << 32); /* MXCSR, x87 CW */
    f[1] = 0;                                   /* r15 */
    f[2] = 0;                                   /* r14 */
    f[3] = (uint64_t)(uintptr_t)arg;            /* r13: argument */
    f[4] = (uint64_t)(uintptr_t)entry;          /* r12: entry */
    f[5] = 0;                                   /* rbx */
    f[6] = 0;                                   /* rbp: end of frame chain */
    f[7] = (uint64_t)(uintptr_t)capos_ctx_trampoline; /* return address */
    f[8] = 0; /* the trampoline runs with rsp here: 16-byte aligned */
    f[9] = 0;
    return f;
}

#endif /* CAPOS_ARCH_X86_64_SWITCH_H */
