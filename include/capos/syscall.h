/*
 * capos/syscall.h - the two capOS syscalls.
 *
 * cap_enter(min_complete, timeout_ns): process pending SQEs of the caller's
 * ring, then wait until at least min_complete CQEs are available or
 * timeout_ns (relative, CAP_TIMEOUT_INFINITE for none) elapses. Returns the
 * number of CQEs available (which is < min_complete after a timeout), or
 * CAP_ERR_RING_BUSY when another thread of the process already waits, or
 * CAP_ERR_RING_CORRUPT after ring corruption recovery (docs/abi.md §4).
 *
 * exit(code): end the calling process; never returns.
 *
 * In the hosted simulator these are function calls into the port; user
 * addresses are process-virtual (CAPOS_ARENA_VADDR based) and
 * capos_user_ptr() translates them for hosted user code (identity on metal).
 *
 * capos_fs_base() is not a syscall: it reads the calling thread's FS base
 * (rdfsbase / %fs:0 on metal), which ThreadSpawner.spawn or
 * ThreadControl.setFsBase set. Hosted, the FS register is the host's, so
 * the simulator returns the value the model recorded for the thread.
 */
#ifndef CAPOS_SYSCALL_H
#define CAPOS_SYSCALL_H

#include <stdint.h>

int capos_cap_enter(uint32_t min_complete, uint64_t timeout_ns);
_Noreturn void capos_exit(int64_t code);
void *capos_user_ptr(uint64_t vaddr);
uint64_t capos_user_vaddr(const void *ptr);
uint64_t capos_fs_base(void);

#endif /* CAPOS_SYSCALL_H */
