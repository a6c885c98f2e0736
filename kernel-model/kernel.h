/*
 * kernel.h - the kernel model's host API: what a port and the program
 * that composes it (sim/main.c) call to start the model, boot a system,
 * run it, look at it, stop it and tear it down. Everything else of the
 * model is internal (kmodel.h).
 */
#ifndef CAPOS_KERNEL_H
#define CAPOS_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct k_process;

/* One ring event for --trace: an SQE taken (sqe) or a CQE posted. */
struct k_trace {
    bool sqe;
    uint32_t pid;
    uint32_t tid;    /* the thread in cap_enter (0: host context) */
    uint8_t opcode;  /* sqe only */
    uint32_t cap_id; /* sqe only */
    uint64_t iface;  /* sqe only: the invoked cap's interface, 0 if none */
    uint16_t method; /* sqe only */
    uint64_t user_data;
    int32_t result; /* cqe only */
};

struct k_config {
    uint64_t seed;      /* drives every nondeterministic choice */
    bool virtual_clock; /* time moves only when idle or advanced */
    bool shuffle;       /* seeded run-queue order among runnable threads */
    /* Called for every SQE taken and CQE posted when set (--trace). */
    void (*trace)(const struct k_trace *ev);
};

struct k_stats {
    uint64_t sqes;
    uint64_t cqes;
    uint64_t switches;
    uint32_t processes_live;
    uint32_t processes_held; /* process structs not yet freed (any state) */
    uint32_t threads_live;
    uint32_t objects_live;
    uint64_t stale_dropped; /* completions for an exited thread's ring */
};

/* Bring the model up (kernel.c); 0 or a CAP_ERR_* code. */
int k_init(const struct k_config *cfg);
/* Boot a binary SystemManifest (boot.c); 0 and init, or a refusal with a
 * one-line reason in err. */
int k_boot(const uint8_t *bytes, size_t len, struct k_process **init_out,
           char *err, size_t errcap);
/* Run until nothing can run again (sched.c); threads left blocked. */
unsigned k_run(void);
/* Ask for a clean stop (sched.c): every live process exits with code.
 * Safe from a device callback: it only records the request, which the
 * scheduler performs before it next picks a thread or gives up. */
void k_stop_all(int code);
/* The model's counters now (kernel.c). */
const struct k_stats *k_census(void);
/* The exit code of process p (process.c): meaningful once it exited. */
int64_t k_process_exit_code(const struct k_process *p);
/* Bind the manifest's forward of guest port to host port instead (net.c);
 * 0 or a CAP_ERR_* code. */
int net_hostfwd(uint16_t guest_port, uint16_t host_port);
/* Tear everything down (kernel.c), from the host context. */
void k_shutdown(void);

#endif /* CAPOS_KERNEL_H */
