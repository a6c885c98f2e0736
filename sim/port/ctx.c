/*
 * sim/port/ctx.c - execution contexts (fibers) for the hosted port: the
 * port_ctx_* functions of kernel-model/port.h.
 *
 * On x86_64 a switch is arch/x86_64/switch.S (a handful of pushes and pops,
 * no system call). Elsewhere, or when built with -DCAPOS_CTX_UCONTEXT, it
 * is the POSIX ucontext API, which is portable but slow (glibc's
 * swapcontext makes a sigprocmask system call on every switch).
 *
 * One host thread runs every context (DESIGN.md, "Execution model"), so the
 * bookkeeping below is plain static data.
 *
 * AddressSanitizer: every switch is announced with
 * __sanitizer_start_switch_fiber and completed with
 * __sanitizer_finish_switch_fiber on the arriving side, so ASan knows
 * which stack is live and keeps one fake stack (for use-after-return
 * detection) per context. The host thread's stack bounds are not known up
 * front; they are learned from the first finish_switch_fiber that reports
 * the stack we came from.
 */
#define _GNU_SOURCE

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "port.h"

#if defined(__x86_64__) && !defined(CAPOS_CTX_UCONTEXT)
#define CTX_ASM 1
#include "../../arch/x86_64/switch.h"
#else
#define CTX_ASM 0
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CTX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CTX_ASAN 1
#endif
#endif
#ifndef CTX_ASAN
#define CTX_ASAN 0
#endif

#if CTX_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

/* The smallest stack port.h lets a caller hand us. */
#define CTX_MIN_STACK (16u * 1024u)

struct port_ctx {
#if CTX_ASM
    void *sp; /* saved stack pointer while suspended (switch.S frame) */
#else
    ucontext_t uc;
#endif
    void (*entry)(void *);
    void *arg;
    /* Stack bounds for ASan; the host context's are learned lazily. */
    const void *stack_bottom;
    size_t stack_size;
#if CTX_ASAN
    void *fake_stack; /* ASan's fake stack while this context is away */
#endif
};

/* The host thread's own context: never created, never freed. */
static struct port_ctx ctx_host;

/* The context running now. Only maintained to catch callers that switch
 * "from" a context that is not running, which would corrupt both. */
static struct port_ctx *ctx_running = &ctx_host;

/* The context that initiated the switch in flight: read by the arriving
 * side to learn the host stack bounds (ASan) and, with ucontext, by a
 * fresh context to find itself. */
static struct port_ctx *ctx_leaving;
#if !CTX_ASM
static struct port_ctx *ctx_arriving;
#endif

/* ---------------------------------------------------------------- */
/* Switch bookkeeping and AddressSanitizer annotations             */
/* ---------------------------------------------------------------- */

/*
 * Announce a switch from `from` to `to`. A context leaving for the last
 * time passes dying = true, so ASan frees its fake stack instead of saving
 * it.
 */
static inline void ctx_switch_begin(struct port_ctx *from, struct port_ctx *to,
                                    bool dying)
{
    ctx_leaving = from;
    ctx_running = to;
#if CTX_ASAN
    __sanitizer_start_switch_fiber(dying ? NULL : &from->fake_stack,
                                   to->stack_bottom, to->stack_size);
#else
    (void)dying;
#endif
}

/*
 * Complete a switch on the arriving side; self is the context now
 * running. Learns the bounds of the stack we came from if they were
 * unknown (the host thread's).
 */
static inline void ctx_switch_end(struct port_ctx *self)
{
#if CTX_ASAN
    const void *prev_bottom = NULL;
    size_t prev_size = 0;

    __sanitizer_finish_switch_fiber(self->fake_stack, &prev_bottom, &prev_size);
    if (ctx_leaving != NULL && ctx_leaving->stack_bottom == NULL) {
        ctx_leaving->stack_bottom = prev_bottom;
        ctx_leaving->stack_size = prev_size;
    }
#else
    (void)self;
#endif
}

/*
 * First code of every created context, on its own stack. Never returns:
 * entry must leave through port_ctx_exit, and if it returns instead the
 * model is broken.
 */
static void ctx_start(struct port_ctx *self)
{
    ctx_switch_end(self); /* fake_stack is NULL: nothing to restore */
    self->entry(self->arg);
    port_panic("port_ctx: a context's entry function returned; it must "
               "leave with port_ctx_exit");
}

#if CTX_ASM
static void ctx_start_asm(void *self)
{
    ctx_start(self);
}
#else
static void ctx_start_uc(void)
{
    ctx_start(ctx_arriving);
}
#endif

/* ---------------------------------------------------------------- */
/* port.h                                                            */
/* ---------------------------------------------------------------- */

/* The host thread's context; valid for the life of the process. */
port_ctx_t *port_ctx_self(void)
{
    return &ctx_host;
}

/*
 * Make a suspended context that runs entry(arg) on [stack, stack +
 * stack_size) when first switched to. The stack stays the caller's: it
 * must outlive the context's last switch away and is not freed by
 * port_ctx_destroy. Returns NULL when out of host memory. A NULL entry, a
 * NULL stack or a stack smaller than 16 KiB is a model bug and panics.
 */
port_ctx_t *port_ctx_create(void *stack, size_t stack_size,
                            void (*entry)(void *), void *arg)
{
    struct port_ctx *c;

    if (entry == NULL || stack == NULL || stack_size < CTX_MIN_STACK)
        port_panic("port_ctx_create: need an entry and a stack of at "
                   "least 16 KiB");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->entry = entry;
    c->arg = arg;
    c->stack_bottom = stack;
    c->stack_size = stack_size;
#if CTX_ASAN
    /* The stack may be reused from a dead context whose frames left
     * redzones poisoned; a fresh context starts with a clean stack. */
    __asan_unpoison_memory_region(stack, stack_size);
#endif
#if CTX_ASM
    c->sp = capos_ctx_init_stack(stack, stack_size, ctx_start_asm, c);
#else
    if (getcontext(&c->uc) != 0) {
        free(c);
        return NULL;
    }
    c->uc.uc_stack.ss_sp = stack;
    c->uc.uc_stack.ss_size = stack_size;
    c->uc.uc_link = NULL; /* ctx_start never returns */
    makecontext(&c->uc, ctx_start_uc, 0);
#endif
    return c;
}

/*
 * Free a context that is not running. A suspended context is simply
 * forgotten (its stack belongs to the caller). Destroying the host
 * context or NULL does nothing; destroying the running context panics.
 * Under ASan, the fake stack of a context destroyed while suspended (a
 * killed thread) is not reclaimed; this only matters with
 * detect_stack_use_after_return=1.
 */
void port_ctx_destroy(port_ctx_t *ctx)
{
    if (ctx == NULL || ctx == &ctx_host)
        return;
    if (ctx == ctx_running)
        port_panic("port_ctx_destroy: the running context cannot be "
                   "destroyed; switch away with port_ctx_exit first");
    free(ctx);
}

/*
 * Suspend from (which must be the running context) and resume to.
 * Returns when another context switches back to from. Switching to the
 * running context itself returns at once.
 */
void port_ctx_switch(port_ctx_t *from, port_ctx_t *to)
{
    if (from != ctx_running)
        port_panic("port_ctx_switch: 'from' is not the running context");
    if (to == from)
        return;
    ctx_switch_begin(from, to, false);
#if CTX_ASM
    capos_ctx_swap(&from->sp, to->sp);
#else
    ctx_arriving = to;
    if (swapcontext(&from->uc, &to->uc) != 0)
        port_panic("port_ctx_switch: swapcontext failed");
#endif
    ctx_switch_end(from);
}

/*
 * Leave from (the running context) for the last time and resume to. The
 * caller may free from's stack and destroy from once to runs. Never
 * returns.
 */
_Noreturn void port_ctx_exit(port_ctx_t *from, port_ctx_t *to)
{
    if (from != ctx_running || to == from)
        port_panic("port_ctx_exit: 'from' must be the running context and "
                   "'to' another one");
    ctx_switch_begin(from, to, true);
#if CTX_ASM
    {
        /* Nobody resumes a dead context: its stack pointer goes to a
         * scratch word. */
        static void *dead_sp;
        capos_ctx_swap(&dead_sp, to->sp);
    }
#else
    {
        static ucontext_t dead_uc;
        ctx_arriving = to;
        swapcontext(&dead_uc, &to->uc);
    }
#endif
    port_panic("port_ctx_exit: a dead context was resumed");
}
