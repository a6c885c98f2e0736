/*
 * tools/bench/model.c - bringing a kernel up for a model figure and turning
 * its measuring threads' reports into the figure's result.
 */
#define _GNU_SOURCE

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

/* The name of a CAP_ERR_* code or of a BENCH_E_* failure, for messages. */
static const char *cap_err_name(int code)
{
    static const char *const names[] = {
        "?",
        "CAP_ERR_INVALID_REQUEST",
        "CAP_ERR_INVALID_PARAMS_BUFFER",
        "CAP_ERR_INVALID_RESULT_BUFFER",
        "CAP_ERR_INVOKE_FAILED",
        "CAP_ERR_UNSUPPORTED_OPCODE",
        "CAP_ERR_APPLICATION_EXCEPTION",
        "CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED",
        "CAP_ERR_INVALID_TRANSFER",
        "CAP_ERR_TRANSFER_REJECTED",
        "CAP_ERR_QUEUE_FULL",
        "CAP_ERR_DISCONNECTED",
        "CAP_ERR_RING_BUSY",
        "CAP_ERR_RING_CORRUPT",
    };

    if (code < 0 && -code < (int)(sizeof names / sizeof names[0]))
        return names[-code];
    switch (code) {
    case BENCH_E_SHORT:
        return "fewer CQEs than min_complete without a timeout";
    case BENCH_E_USER_DATA:
        return "CQE user_data does not match the SQE";
    case BENCH_E_NO_HEAP:
        return "heap buffer is outside the process arena";
    default:
        return "unexpected value";
    }
}

bool model_ok(const char *figure, const char *what, int rc)
{
    if (rc != 0)
        printf("%s failed: %s returned %d (%s)\n", figure, what, rc,
               cap_err_name(rc));
    return rc == 0;
}

void *job_heap(struct model_job *j, uint64_t off, uint64_t len, uint64_t *vaddr)
{
    void *ptr = user_heap(j->proc, off, len, vaddr);

    if (ptr == NULL)
        job_fail(j, "k_user_ptr(heap)", BENCH_E_NO_HEAP);
    return ptr;
}

bool model_up(const char *figure)
{
    const struct k_config cfg = {.seed = 1, .virtual_clock = false};

    return model_ok(figure, "k_init", k_init(&cfg));
}

struct k_process *model_process(const char *figure, const char *name)
{
    const struct k_process_opts opts = {.name = name};
    struct k_process *p = k_process_create(&opts);

    if (p == NULL)
        printf("%s failed: k_process_create(%s) returned NULL\n", figure, name);
    return p;
}

bool model_thread(const char *figure, struct k_process *p,
                  void (*entry)(void *), void *arg)
{
    return model_ok(figure, "k_thread_create",
                    k_thread_create(p, entry, arg, NULL));
}

int model_run(const char *figure, struct model_job *jobs, unsigned njobs)
{
    unsigned stuck = k_run();
    int result = BENCH_OK;

    k_shutdown();
    for (unsigned i = 0; i < njobs; i++) {
        struct model_job *j = &jobs[i];

        if (!model_ok(figure, j->where, j->err)) {
            result = BENCH_FAIL;
        } else if (!j->done) {
            printf("%s failed: a measuring thread never finished (k_run "
                   "returned with %u thread(s) blocked)\n",
                   figure, stuck);
            result = BENCH_FAIL;
        }
    }
    return result;
}
