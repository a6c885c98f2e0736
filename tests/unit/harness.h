/*
 * harness.h - shared helpers of the unit tests: bring a model up on the
 * hosted port, make processes, and drive a ring from the user side the way
 * a capOS process would (write SQEs, bump sq_tail, cap_enter, read CQEs).
 *
 * Ring helpers called from the host context use a non-blocking cap_enter;
 * tests that need blocking run code in model threads and call k_run().
 */
#ifndef CAPOS_TEST_HARNESS_H
#define CAPOS_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kmodel.h"

/* Bring the model up (virtual clock or not, seed) / down. h_down asserts
 * that no object, thread or process is left alive. */
void h_up(bool virtual_clock, uint64_t seed);
void h_down(void);

/* A process with default options (and a given cap table size, 0 = default). */
struct k_process *h_proc(const char *name, uint32_t cap_slots);

/* Bump-allocate n zeroed bytes of p's heap; returns the host pointer. */
void *h_alloc(struct k_process *p, size_t n);
uint64_t h_va(struct k_process *p, const void *ptr);

/* The next free SQE (zeroed); h_submit publishes every SQE taken so far. */
CapSqe *h_sqe(struct k_process *p);
void h_submit(struct k_process *p);
/* Non-blocking cap_enter from the host context. */
int h_enter(struct k_process *p);
/* Pop one CQE; false if none. */
bool h_cqe(struct k_process *p, CapCqe *out);
/* Submit one SQE (copied), cap_enter, pop exactly one CQE and return it. */
CapCqe h_one(struct k_process *p, const CapSqe *sqe);

/* Shorthands building common SQEs. */
CapSqe h_nop(uint64_t user_data);
CapSqe h_call(uint32_t cap, uint16_t method, uint64_t user_data);
CapSqe h_release(uint32_t cap, uint64_t user_data);

/* Number of live caps in p's table. */
uint32_t h_live(struct k_process *p);

#endif /* CAPOS_TEST_HARNESS_H */
