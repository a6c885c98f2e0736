/*
 * sim/port/syscall.c - include/capos/syscall.h for hosted user code.
 *
 * Hosted, a capOS "syscall" is a function call from user code running on a
 * kernel-model thread (a fiber) into the model; the calling thread is
 * k_current(). User addresses are process-virtual, CAPOS_ARENA_VADDR
 * based, and are translated through the calling process's arena.
 */
#include <stddef.h>
#include <stdint.h>

#include "capos/syscall.h"
#include "kmodel.h"

/* The calling thread's process, or NULL when called from host code that is
 * not a kernel-model thread. */
static struct k_process *sys_current_proc(void)
{
    struct k_thread *t = k_current();

    return t != NULL ? t->proc : NULL;
}

/* cap_enter as syscall.h describes it; the model does all the work and
 * reports errors as CAP_ERR_* values. */
int capos_cap_enter(uint32_t min_complete, uint64_t timeout_ns)
{
    return k_sys_cap_enter(min_complete, timeout_ns);
}

/*
 * End the calling process with code. k_process_exit on the current
 * process switches away from this thread for good; if it ever comes back
 * the model is broken, and so is calling this from outside a thread.
 */
_Noreturn void capos_exit(int64_t code)
{
    struct k_process *p = sys_current_proc();

    if (p == NULL)
        port_panic("capos_exit: called outside a kernel-model thread");
    k_process_exit(p, code);
    port_panic("capos_exit: k_process_exit returned to the exiting thread");
}

/* Host pointer for a user address of the calling process, or NULL if the
 * address is outside its arena or there is no calling process. */
void *capos_user_ptr(uint64_t vaddr)
{
    struct k_process *p = sys_current_proc();

    return p != NULL ? k_user_ptr(p, vaddr, 1) : NULL;
}

/* User address of a host pointer into the calling process's arena; what
 * the model returns for a pointer outside the arena (see k_user_vaddr),
 * and 0 when there is no calling process. */
uint64_t capos_user_vaddr(const void *ptr)
{
    struct k_process *p = sys_current_proc();

    return p != NULL ? k_user_vaddr(p, ptr) : 0;
}

/* The calling thread's FS base as the model recorded it (0 outside a
 * thread); see syscall.h. */
uint64_t capos_fs_base(void)
{
    struct k_thread *t = k_current();

    return t != NULL ? t->fs_base : 0;
}
