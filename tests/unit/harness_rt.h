/*
 * harness_rt.h - the harness's part for unit tests linked with capos-rt
 * (services/rt): their model threads run capos-rt processes.
 */
#ifndef CAPOS_TEST_HARNESS_RT_H
#define CAPOS_TEST_HARNESS_RT_H

#include "capos_rt.h"

/* A k_thread entry that runs main_fn, an int (*)(capos_capset_t *) passed
 * as the thread's argument, as a capOS process's main through
 * capos_rt_start: k_thread_create(p, h_start, (void *)main_fn, NULL). */
static inline void h_start(void *main_fn)
{
    capos_rt_start((int (*)(capos_capset_t *))main_fn);
}

#endif
