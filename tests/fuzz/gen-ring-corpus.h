/*
 * gen-ring-corpus.h - what the ring_dispatch seed writer's files share:
 * the harness's format (ring_dispatch.h), the seeds' conventions (where
 * received caps land, the heap layout), the input being built and the
 * builders gen-ring-corpus.c defines, and the seed groups of
 * gen-ring-seeds-{ring,ep,net}.c. gen-ring-corpus.c documents the caps
 * and conventions.
 */
#ifndef CAPOS_FUZZ_GEN_RING_CORPUS_H
#define CAPOS_FUZZ_GEN_RING_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "capos/capset.h"
#include "capos/ring.h"

/* The harness's ids, input layout and script format. */
#include "ring_dispatch.h"

/* Where the seeds' received caps land (see above). */
#define A_FREE 0x1006u /* the first cap A receives */
#define B_FREE 0x1005u /* the first cap B receives */

#define PA 0 /* process A */
#define PB 1 /* process B */
#define PT 2 /* thread T of A, on its own ring (SQE templates: A's heap) */

#define NULL_CALL 0u
#define NULL_ECHO 1u
#define NULL_MINT 2u

/* Heap conventions of these seeds: SQE templates at heap offset idx * 64
 * (idx < 16, or < 32 in a seed whose params start at 0x800), params from
 * 0x400, result buffers from 0x1000 (past the input chunk, so they cost no
 * file bytes). */
#define TMPL_MAX 32u
#define PARAMS_OFF 0x400u
#define HEAP_VA(off) ((uint64_t)CAPOS_HEAP_VADDR + (off))
#define RES(n) HEAP_VA(0x1000u + (uint32_t)(n)*0x400u)

#define RECV_BUF 512u /* header, params and records fit */

/* The input being built and its script length (gen-ring-corpus.c). */
extern uint8_t in[INPUT_MAX];
extern unsigned nsteps;

/* Builders (gen-ring-corpus.c; see there). */
CapRing *ring_of(int pr);
void reset(void);
void push(int pr, CapSqe s);
void tmpl(int pr, unsigned idx, CapSqe s);
uint64_t put(int pr, uint32_t off, const void *b, size_t n);
uint64_t put_xfer(int pr, uint32_t off, const void *params, uint32_t len,
                  const CapTransferDescriptor *d, unsigned n);
void put_step(struct step st);
void step(uint8_t op, uint8_t sq_adv, uint8_t cq_adv, uint8_t min_complete,
          uint8_t nload, uint8_t load_idx);
void enter_a(void);
void enter_b(void);
void drain_a(void);
void drain_b(void);
void load(int pr, uint8_t idx, uint8_t n);
void emit(const char *name);
CapSqe nop(uint64_t ud);
CapSqe call(uint32_t cap, uint16_t method, uint64_t ud, uint64_t addr,
            uint32_t len, uint64_t res, uint32_t res_len, uint16_t nx);
CapSqe call_as(uint64_t iface, uint32_t cap, uint16_t method, uint64_t ud,
               uint64_t addr, uint32_t len, uint64_t res, uint32_t res_len);
CapSqe recv_(uint32_t cap, uint64_t ud, uint64_t res, uint32_t res_len);
CapSqe ret(uint32_t cap, uint32_t call_id, uint64_t ud, uint64_t addr,
           uint32_t len, uint16_t nx, uint16_t flags);
CapSqe rel(uint32_t cap, uint64_t ud);
CapTransferDescriptor xd(uint32_t cap, uint32_t mode);

/* The seed groups, each writing its seeds in corpus order. */
void seeds_ring(void); /* gen-ring-seeds-ring.c */
void seeds_ep(void);   /* gen-ring-seeds-ep.c */
void seeds_net(void);  /* gen-ring-seeds-net.c */

#endif /* CAPOS_FUZZ_GEN_RING_CORPUS_H */
