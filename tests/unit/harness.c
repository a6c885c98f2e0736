/*
 * harness.c - see harness.h.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#include "port_uv.h"

#define HEAP_HDR 64u

/* SQEs taken but not yet published, per process (tests use few). */
static struct {
    struct k_process *p;
    uint32_t taken;
} pending[16];

void h_up(bool virtual_clock, uint64_t seed)
{
    memset(pending, 0, sizeof pending);
    assert_int_equal(sim_port_init(), 0);
    struct k_config cfg = {.seed = seed, .virtual_clock = virtual_clock};
    assert_int_equal(k_init(&cfg), 0);
}

void h_down(void)
{
    k_shutdown();
    memset(pending, 0, sizeof pending);
    assert_int_equal(k.stats.objects_live, 0);
    assert_int_equal(k.stats.threads_live, 0);
    assert_int_equal(k.stats.processes_live, 0);
    assert_int_equal(k.stats.processes_held, 0);
    sim_port_fini();
}

int h_setup(void **state)
{
    (void)state;
    h_up(true, 1);
    return 0;
}

int h_setup_real_clock(void **state)
{
    (void)state;
    h_up(false, 1);
    return 0;
}

int h_teardown(void **state)
{
    (void)state;
    h_down();
    return 0;
}

struct k_process *h_proc(const char *name, uint32_t cap_slots)
{
    struct k_process_opts o = {.name = name, .cap_slots = cap_slots};
    struct k_process *p = k_process_create(&o);
    assert_non_null(p);
    return p;
}

void *h_alloc(struct k_process *p, size_t n)
{
    uint8_t *heap = k_user_ptr(p, CAPOS_HEAP_VADDR, HEAP_HDR);
    assert_non_null(heap);
    uint64_t *top = (uint64_t *)heap;
    if (*top == 0)
        *top = HEAP_HDR;
    uint64_t off = (*top + 15) & ~(uint64_t)15;
    uint8_t *ptr = k_user_ptr(p, CAPOS_HEAP_VADDR + off, n);
    assert_non_null(ptr);
    *top = off + n;
    memset(ptr, 0, n);
    return ptr;
}

uint64_t h_va(struct k_process *p, const void *ptr)
{
    uint64_t va = k_user_vaddr(p, ptr);
    assert_int_not_equal(va, 0);
    return va;
}

static uint32_t *taken_of(struct k_process *p)
{
    for (unsigned i = 0; i < 16; i++)
        if (pending[i].p == p)
            return &pending[i].taken;
    for (unsigned i = 0; i < 16; i++)
        if (!pending[i].p || pending[i].p->state != KP_ALIVE) {
            pending[i].p = p;
            pending[i].taken = 0;
            return &pending[i].taken;
        }
    fail_msg("harness: too many processes with pending SQEs");
    return NULL;
}

CapSqe *h_sqe(struct k_process *p)
{
    uint32_t *taken = taken_of(p);
    uint32_t tail = p->ring->hdr.sq_tail + *taken;
    CapSqe *s = &p->ring->sq[tail & (CAP_SQ_ENTRIES - 1)];
    memset(s, 0, sizeof *s);
    (*taken)++;
    return s;
}

void h_submit(struct k_process *p)
{
    uint32_t *taken = taken_of(p);
    __atomic_store_n(&p->ring->hdr.sq_tail, p->ring->hdr.sq_tail + *taken,
                     __ATOMIC_RELEASE);
    *taken = 0;
}

int h_enter(struct k_process *p)
{
    return k_cap_enter(p, 0, 0);
}

bool h_cqe(struct k_process *p, CapCqe *out)
{
    CapRingHeader *h = &p->ring->hdr;
    uint32_t tail = __atomic_load_n(&h->cq_tail, __ATOMIC_ACQUIRE);
    if (h->cq_head == tail)
        return false;
    *out = p->ring->cq[h->cq_head & (CAP_CQ_ENTRIES - 1)];
    __atomic_store_n(&h->cq_head, h->cq_head + 1, __ATOMIC_RELEASE);
    return true;
}

CapCqe h_one(struct k_process *p, const CapSqe *sqe)
{
    *h_sqe(p) = *sqe;
    h_submit(p);
    assert_int_equal(h_enter(p), 1);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    CapCqe extra;
    assert_false(h_cqe(p, &extra));
    return c;
}

CapCqe h_one_wait(struct k_process *p, const CapSqe *sqe)
{
    *h_sqe(p) = *sqe;
    h_submit(p);
    assert_true(k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE) >= 1);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    return c;
}

CapSqe h_nop(uint64_t user_data)
{
    CapSqe s = {.opcode = CAP_OP_NOP, .user_data = user_data};
    return s;
}

CapSqe h_call(uint32_t cap, uint16_t method, uint64_t user_data)
{
    CapSqe s = {.opcode = CAP_OP_CALL,
                .cap_id = cap,
                .method_id = method,
                .user_data = user_data};
    return s;
}

CapSqe h_release(uint32_t cap, uint64_t user_data)
{
    CapSqe s = {
        .opcode = CAP_OP_RELEASE, .cap_id = cap, .user_data = user_data};
    return s;
}

void h_msg(struct k_process *p, capnp_builder *b, size_t cap)
{
    capnp_builder_init(b, h_alloc(p, cap), cap);
}

CapSqe h_call_msg(struct k_process *p, uint32_t cap, uint16_t method,
                  uint64_t user_data, capnp_builder *b, uint32_t res_len,
                  uint8_t **res)
{
    size_t len;
    assert_int_equal(capnp_finish(b, &len), 0);
    CapSqe s = h_call(cap, method, user_data);
    s.addr = h_va(p, b->buf);
    s.len = (uint32_t)len;
    if (res_len) {
        *res = h_alloc(p, res_len);
        s.result_addr = h_va(p, *res);
        s.result_len = res_len;
    }
    return s;
}

CapSqe h_call_xfer(struct k_process *p, uint32_t cap, uint16_t method,
                   uint64_t user_data, uint32_t xfer_cap, uint32_t mode,
                   CapTransferDescriptor **d)
{
    CapTransferDescriptor *desc = h_alloc(p, sizeof *desc);
    desc->cap_id = xfer_cap;
    desc->mode = mode;
    CapSqe s = h_call(cap, method, user_data);
    s.addr = h_va(p, desc);
    s.xfer_cap_count = 1;
    if (d)
        *d = desc;
    return s;
}

CapSqe h_recv(struct k_process *p, uint32_t raw, uint64_t user_data,
              uint32_t len, uint8_t **buf)
{
    *buf = h_alloc(p, len);
    CapSqe s = {.opcode = CAP_OP_RECV,
                .cap_id = raw,
                .user_data = user_data,
                .result_addr = h_va(p, *buf),
                .result_len = len};
    return s;
}

capnp_struct h_root(const void *buf, size_t len, capnp_message *m)
{
    capnp_struct root;
    assert_int_equal(capnp_msg_init(m, buf, len, NULL), 0);
    assert_int_equal(capnp_msg_root(m, &root), 0);
    return root;
}

/* PARK and UNPARK name the word in addr and carry their number in len. */
static CapSqe word_sqe(uint8_t opcode, uint32_t cap, uint64_t addr,
                       uint32_t len, uint64_t user_data)
{
    CapSqe s = {.opcode = opcode,
                .cap_id = cap,
                .user_data = user_data,
                .addr = addr,
                .len = len};
    return s;
}

CapSqe h_park(uint32_t cap, uint64_t addr, uint32_t expected,
              uint64_t user_data)
{
    return word_sqe(CAP_OP_PARK, cap, addr, expected, user_data);
}

CapSqe h_unpark(uint32_t cap, uint64_t addr, uint32_t count, uint64_t user_data)
{
    return word_sqe(CAP_OP_UNPARK, cap, addr, count, user_data);
}

CapRing *h_ring_page(struct k_process *p)
{
    uint8_t *b = h_alloc(p, 2 * CAPOS_PAGE_SIZE);
    uint64_t va = h_va(p, b);
    uint64_t al = (va + CAPOS_PAGE_SIZE - 1) & ~(uint64_t)(CAPOS_PAGE_SIZE - 1);
    return (CapRing *)(b + (al - va));
}

void h_ring_push(CapRing *r, const CapSqe *s)
{
    uint32_t t = r->hdr.sq_tail;
    r->sq[t & (CAP_SQ_ENTRIES - 1)] = *s;
    __atomic_store_n(&r->hdr.sq_tail, t + 1, __ATOMIC_RELEASE);
}

bool h_ring_pop(CapRing *r, CapCqe *out)
{
    uint32_t tail = __atomic_load_n(&r->hdr.cq_tail, __ATOMIC_ACQUIRE);
    if (r->hdr.cq_head == tail)
        return false;
    *out = r->cq[r->hdr.cq_head & (CAP_CQ_ENTRIES - 1)];
    __atomic_store_n(&r->hdr.cq_head, r->hdr.cq_head + 1, __ATOMIC_RELEASE);
    return true;
}

void h_never_runs(void *arg)
{
    (void)arg;
    fail_msg("a host-driven thread ran");
}

struct k_thread *h_ring_thread(struct k_process *p, CapRing **ring)
{
    struct k_thread *t;
    assert_int_equal(k_thread_create(p, h_never_runs, NULL, &t), 0);
    *ring = h_ring_page(p);
    assert_int_equal(k_thread_attach_ring(t, h_va(p, *ring)), 0);
    return t;
}

uint32_t h_live(struct k_process *p)
{
    return p->caps.live;
}
