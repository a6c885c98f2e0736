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

#include "capos/capnp.h"
#include "kmodel.h"

/* Bring the model up (virtual clock or not, seed) / down. h_down asserts
 * that no object, thread or process is left alive. */
void h_up(bool virtual_clock, uint64_t seed);
void h_down(void);

/* The cmocka fixtures of most tests: h_setup brings the model up on the
 * virtual clock with seed 1, h_setup_real_clock on the host clock with
 * seed 1, h_teardown brings it down (with h_down's checks). */
int h_setup(void **state);
int h_setup_real_clock(void **state);
int h_teardown(void **state);

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

/* Start a message in a fresh buffer of cap bytes of p's heap. */
void h_msg(struct k_process *p, capnp_builder *b, size_t cap);
/* A CALL whose params are the message b (begun by h_msg), finished here,
 * and with, when res_len is not 0, a fresh result buffer of res_len bytes
 * (*res). */
CapSqe h_call_msg(struct k_process *p, uint32_t cap, uint16_t method,
                  uint64_t user_data, capnp_builder *b, uint32_t res_len,
                  uint8_t **res);

/* A CALL that transfers p's cap xfer_cap (mode CAP_XFER_COPY or
 * CAP_XFER_MOVE) through a descriptor in a fresh piece of p's heap; *d,
 * when d is not NULL, is that descriptor, for a test to change. */
CapSqe h_call_xfer(struct k_process *p, uint32_t cap, uint16_t method,
                   uint64_t user_data, uint32_t xfer_cap, uint32_t mode,
                   CapTransferDescriptor **d);

/* A RECV on the raw endpoint raw into a fresh buffer of len bytes of p's
 * heap (*buf). */
CapSqe h_recv(struct k_process *p, uint32_t raw, uint64_t user_data,
              uint32_t len, uint8_t **buf);

/* The root struct of the message in buf[0..len), which must decode. */
capnp_struct h_root(const void *buf, size_t len, capnp_message *m);

/* From a model thread (blocking cap_enter): submit one SQE on p's process
 * ring, wait for a CQE and pop it. */
CapCqe h_one_wait(struct k_process *p, const CapSqe *sqe);

/* Shorthands building common SQEs. */
CapSqe h_nop(uint64_t user_data);
CapSqe h_call(uint32_t cap, uint16_t method, uint64_t user_data);
CapSqe h_release(uint32_t cap, uint64_t user_data);
/* PARK on the word at addr while it holds expected; UNPARK up to count
 * waiters of it (docs/abi.md §15). */
CapSqe h_park(uint32_t cap, uint64_t addr, uint32_t expected,
              uint64_t user_data);
CapSqe h_unpark(uint32_t cap, uint64_t addr, uint32_t count,
                uint64_t user_data);

/* A thread's own ring seen from the user side (docs/abi.md §16). */
/* A fresh page-aligned page of p's heap: its host pointer. */
CapRing *h_ring_page(struct k_process *p);
/* Write one SQE at r's SQ tail and publish it. */
void h_ring_push(CapRing *r, const CapSqe *s);
/* Pop one CQE of r; false if none. */
bool h_ring_pop(CapRing *r, CapCqe *out);
/* A thread entry for threads that must never run: fails the test. */
void h_never_runs(void *arg);
/* A thread of p that never runs (it fails the test if it does), with its
 * own ring in a fresh page (*ring); tests drive that ring from the host. */
struct k_thread *h_ring_thread(struct k_process *p, CapRing **ring);

/* Number of live caps in p's table. */
uint32_t h_live(struct k_process *p);

#endif /* CAPOS_TEST_HARNESS_H */
