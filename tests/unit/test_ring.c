/*
 * test_ring.c - the capability ring: NOP, CALL to the null cap, RELEASE,
 * every malformed-SQE class, SQ overrun, CQ full and corruption recovery.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void nop_completes_with_its_user_data_and_result_zero(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    CapSqe s = h_nop(0xfeedfacecafebeefull);
    CapCqe c = h_one(p, &s);
    assert_int_equal(c.result, 0);
    assert_int_equal(c.user_data, 0xfeedfacecafebeefull);
    assert_int_equal(c.cap_count, 0);
    assert_int_equal(p->ring->hdr.sq_head, 1);
    assert_int_equal(p->ring->hdr.cq_tail, 1);
}

static void sixteen_nops_complete_in_submission_order(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    for (uint64_t i = 0; i < CAP_SQ_ENTRIES; i++)
        *h_sqe(p) = h_nop(100 + i);
    h_submit(p);
    assert_int_equal(h_enter(p), CAP_SQ_ENTRIES);
    for (uint64_t i = 0; i < CAP_SQ_ENTRIES; i++) {
        CapCqe c;
        assert_true(h_cqe(p, &c));
        assert_int_equal(c.user_data, 100 + i);
        assert_int_equal(c.result, 0);
    }
}

static void call_to_the_null_cap_returns_an_empty_result(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t cap;
    assert_int_equal(nullcap_grant(p, &cap), 0);
    CapSqe s = h_call(cap, 0, 7);
    CapCqe c = h_one(p, &s);
    assert_int_equal(c.result, 0);
    assert_int_equal(c.user_data, 7);
}

static void null_cap_echo_copies_params_into_the_result_buffer(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t cap;
    assert_int_equal(nullcap_grant(p, &cap), 0);
    char *in = h_alloc(p, 64), *out = h_alloc(p, 64);
    strcpy(in, "capability ring");
    CapSqe s = h_call(cap, 1, 1);
    s.addr = h_va(p, in);
    s.len = 16;
    s.result_addr = h_va(p, out);
    s.result_len = 64;
    CapCqe c = h_one(p, &s);
    assert_int_equal(c.result, 16);
    assert_string_equal(out, "capability ring");

    s.result_len = 8; /* too small: nothing written */
    memset(out, 0, 64);
    c = h_one(p, &s);
    assert_int_equal(c.result, CAP_ERR_INVALID_RESULT_BUFFER);
    assert_int_equal(out[0], 0);
}

static void null_cap_mint_returns_a_usable_result_cap_record(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t cap;
    assert_int_equal(nullcap_grant(p, &cap), 0);
    CapTransferResult *rec = h_alloc(p, sizeof *rec);
    CapSqe s = h_call(cap, 2, 1);
    s.result_addr = h_va(p, rec);
    s.result_len = sizeof *rec;
    CapCqe c = h_one(p, &s);
    assert_int_equal(c.result, 0);
    assert_int_equal(c.cap_count, 1);
    assert_int_equal(c.flags & CAP_CQE_F_CAPS, CAP_CQE_F_CAPS);
    assert_int_equal(rec->interface_id, K_IFACE_NULLCAP);
    assert_int_equal(h_live(p), 2);
    s = h_call(rec->cap_id, 0, 2);
    assert_int_equal(h_one(p, &s).result, 0);

    /* No room for the record: the minted cap is not inserted. */
    s = h_call(cap, 2, 3);
    s.result_addr = h_va(p, rec);
    s.result_len = sizeof *rec - 1;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_RESULT_BUFFER);
    assert_int_equal(h_live(p), 2);
}

/* docs/abi.md §4.5: a CALL naming the interface its cap speaks runs; one
 * naming any other is refused before the object sees it. */
static void
call_naming_its_caps_interface_runs_and_another_is_refused(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t cap;
    assert_int_equal(nullcap_grant(p, &cap), 0);
    CapTransferResult *rec = h_alloc(p, sizeof *rec);
    CapSqe s = h_call(cap, 2, 1); /* NullCap.mint: one result cap */
    s.result_addr = h_va(p, rec);
    s.result_len = sizeof *rec;
    s.interface_id = K_IFACE_NULLCAP;
    assert_int_equal(h_one(p, &s).result, 0);
    assert_int_equal(h_live(p), 2);
    s.interface_id = K_IFACE_TIMER;
    rec->cap_id = 0;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_WRONG_INTERFACE);
    assert_int_equal(h_live(p), 2); /* NullCap.mint did not run */
    assert_int_equal(rec->cap_id, 0);
}

static void release_drops_the_slot_and_a_second_release_fails(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t cap;
    assert_int_equal(nullcap_grant(p, &cap), 0);
    uint32_t objects = k.stats.objects_live;
    CapSqe s = h_release(cap, 5);
    assert_int_equal(h_one(p, &s).result, 0);
    assert_int_equal(h_live(p), 0);
    assert_int_equal(k.stats.objects_live, objects - 1);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVOKE_FAILED);
}

/* One malformed SQE class: how to break a valid SQE, and the code. */
struct bad_case {
    const char *name;
    void (*spoil)(struct k_process *p, CapSqe *s, uint32_t cap);
    int32_t code;
};

static void bad_opcode(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->opcode = 8;
}
static void bad_opcode_max(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->opcode = 255;
}
static void bad_reserved0(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->reserved0 = 1;
}
static void bad_reserved1(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->reserved1[1] = 0x80;
}
static void bad_flag(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->flags = 0x8000;
}
static void bad_pipeline_flag(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->flags = CAP_SQE_PIPELINE;
}
static void bad_pipeline_dep(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->pipeline_dep = 3;
}
static void bad_exception_flag_on_call(struct k_process *p, CapSqe *s,
                                       uint32_t c)
{
    (void)p, (void)c;
    s->flags = CAP_SQE_EXCEPTION;
}
static void op_finish(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->opcode = CAP_OP_FINISH;
}
static void op_park(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->opcode = CAP_OP_PARK;
}
static void op_unpark(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->opcode = CAP_OP_UNPARK;
}
static void park_result_len(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->opcode = CAP_OP_PARK;
    s->result_len = 4;
}
static void unpark_timeout(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->opcode = CAP_OP_UNPARK;
    s->result_addr = 1000;
}
static void nop_with_cap(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p;
    *s = h_nop(s->user_data);
    s->cap_id = c;
}
static void call_unknown_cap(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p;
    s->cap_id = c + 1;
}
static void call_cap_zero(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->cap_id = 0;
}
static void call_params_below_arena(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->addr = 0x1000;
    s->len = 8;
}
static void call_params_in_ring_page(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->addr = CAPOS_RING_VADDR;
    s->len = 8;
}
static void call_params_past_arena(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)c;
    s->addr = CAPOS_ARENA_VADDR + p->arena_size - 4;
    s->len = 8;
}
static void call_params_wrapping(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->addr = UINT64_MAX - 3;
    s->len = 8;
}
static void call_params_too_long(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)c;
    s->addr = CAPOS_HEAP_VADDR;
    s->len = CAP_MAX_PARAMS + 1;
    (void)p;
}
static void call_result_in_capset(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->result_addr = CAPOS_CAPSET_VADDR;
    s->result_len = 16;
}
static void call_result_past_arena(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)c;
    s->result_addr = CAPOS_HEAP_VADDR;
    s->result_len = (uint32_t)p->arena_size;
}
static void call_too_many_xfers(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->addr = CAPOS_HEAP_VADDR + 256;
    s->xfer_cap_count = CAP_XFER_MAX + 1;
}
static void call_xfer_outside_arena(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)c;
    s->addr = CAPOS_ARENA_VADDR + p->arena_size - 8;
    s->len = 8;
    s->xfer_cap_count = 1;
}
static void call_xfer_bad_mode(struct k_process *p, CapSqe *s, uint32_t c)
{
    CapTransferDescriptor *d = h_alloc(p, sizeof *d);
    d->cap_id = c;
    d->mode = 7;
    s->addr = h_va(p, d);
    s->xfer_cap_count = 1;
}
static void call_xfer_reserved_bits(struct k_process *p, CapSqe *s, uint32_t c)
{
    CapTransferDescriptor *d = h_alloc(p, sizeof *d);
    d->cap_id = c;
    d->reserved = 1;
    s->addr = h_va(p, d);
    s->xfer_cap_count = 1;
}
static void call_xfer_stale_cap(struct k_process *p, CapSqe *s, uint32_t c)
{
    CapTransferDescriptor *d = h_alloc(p, 2 * sizeof *d);
    d[0].cap_id = c; /* valid copy first: must be rolled back */
    d[1].cap_id = c + (1u << CT_INDEX_BITS);
    s->addr = h_va(p, d);
    s->xfer_cap_count = 2;
}
static void call_xfer_move_twice(struct k_process *p, CapSqe *s, uint32_t c)
{
    CapTransferDescriptor *d = h_alloc(p, 2 * sizeof *d);
    d[0].cap_id = c;
    d[0].mode = CAP_XFER_MOVE;
    d[1] = d[0];
    s->addr = h_va(p, d);
    s->xfer_cap_count = 2;
}
static void recv_on_null_cap(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p;
    *s = (CapSqe){.opcode = CAP_OP_RECV,
                  .cap_id = c,
                  .user_data = s->user_data,
                  .result_addr = CAPOS_HEAP_VADDR + 1024,
                  .result_len = 128};
}
static void return_on_null_cap(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p;
    *s = (CapSqe){.opcode = CAP_OP_RETURN,
                  .cap_id = c,
                  .call_id = 1,
                  .user_data = s->user_data};
}
static void release_with_method(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p;
    *s = h_release(c, s->user_data);
    s->method_id = 1;
}
static void release_with_interface(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p;
    *s = h_release(c, s->user_data);
    s->interface_id = K_IFACE_NULLCAP;
}
static void call_meant_for_another_interface(struct k_process *p, CapSqe *s,
                                             uint32_t c)
{
    (void)p, (void)c;
    s->interface_id = K_IFACE_CONSOLE;
}
static void call_meant_for_client_endpoint(struct k_process *p, CapSqe *s,
                                           uint32_t c)
{
    (void)p, (void)c;
    s->interface_id = K_IFACE_CLIENT_ENDPOINT;
}
static void release_stale(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p;
    *s = h_release(c ^ (3u << CT_INDEX_BITS), s->user_data);
}
static void call_empty_params_wild_address(struct k_process *p, CapSqe *s,
                                           uint32_t c)
{
    (void)p, (void)c;
    s->addr = UINT64_MAX;
    s->len = 0;
}
static void call_empty_result_wild_address(struct k_process *p, CapSqe *s,
                                           uint32_t c)
{
    (void)p, (void)c;
    s->result_addr = 0x10;
    s->result_len = 0;
}
static void call_with_call_id(struct k_process *p, CapSqe *s, uint32_t c)
{
    (void)p, (void)c;
    s->call_id = 9;
}

static const struct bad_case bad_cases[] = {
    {"opcode 8 is not reserved", bad_opcode, CAP_ERR_INVALID_REQUEST},
    {"opcode 255", bad_opcode_max, CAP_ERR_INVALID_REQUEST},
    {"reserved0 set", bad_reserved0, CAP_ERR_INVALID_REQUEST},
    {"reserved1 set", bad_reserved1, CAP_ERR_INVALID_REQUEST},
    {"unknown flag", bad_flag, CAP_ERR_INVALID_REQUEST},
    {"pipeline flag", bad_pipeline_flag, CAP_ERR_INVALID_REQUEST},
    {"pipeline_dep set", bad_pipeline_dep, CAP_ERR_INVALID_REQUEST},
    {"exception flag on CALL", bad_exception_flag_on_call,
     CAP_ERR_INVALID_REQUEST},
    {"FINISH", op_finish, CAP_ERR_UNSUPPORTED_OPCODE},
    {"PARK on a null cap", op_park, CAP_ERR_INVOKE_FAILED},
    {"UNPARK on a null cap", op_unpark, CAP_ERR_INVOKE_FAILED},
    {"PARK with a result_len", park_result_len, CAP_ERR_INVALID_REQUEST},
    {"UNPARK with a timeout", unpark_timeout, CAP_ERR_INVALID_REQUEST},
    {"NOP naming a cap", nop_with_cap, CAP_ERR_INVALID_REQUEST},
    {"CALL with call_id", call_with_call_id, CAP_ERR_INVALID_REQUEST},
    {"CALL of an unknown cap", call_unknown_cap, CAP_ERR_INVOKE_FAILED},
    {"CALL of cap 0", call_cap_zero, CAP_ERR_INVOKE_FAILED},
    {"params below the arena", call_params_below_arena,
     CAP_ERR_INVALID_PARAMS_BUFFER},
    {"params in the ring page", call_params_in_ring_page,
     CAP_ERR_INVALID_PARAMS_BUFFER},
    {"params past the arena", call_params_past_arena,
     CAP_ERR_INVALID_PARAMS_BUFFER},
    {"params wrapping the address space", call_params_wrapping,
     CAP_ERR_INVALID_PARAMS_BUFFER},
    {"params too long", call_params_too_long, CAP_ERR_INVALID_PARAMS_BUFFER},
    {"empty params at a wild address", call_empty_params_wild_address,
     CAP_ERR_INVALID_PARAMS_BUFFER},
    {"empty result at a wild address", call_empty_result_wild_address,
     CAP_ERR_INVALID_RESULT_BUFFER},
    {"result in the CapSet page", call_result_in_capset,
     CAP_ERR_INVALID_RESULT_BUFFER},
    {"result past the arena", call_result_past_arena,
     CAP_ERR_INVALID_RESULT_BUFFER},
    {"too many transfer descriptors", call_too_many_xfers,
     CAP_ERR_INVALID_TRANSFER},
    {"descriptors outside the arena", call_xfer_outside_arena,
     CAP_ERR_INVALID_TRANSFER},
    {"descriptor mode 7", call_xfer_bad_mode, CAP_ERR_INVALID_TRANSFER},
    {"descriptor reserved bits", call_xfer_reserved_bits,
     CAP_ERR_INVALID_TRANSFER},
    {"descriptor naming a stale cap", call_xfer_stale_cap,
     CAP_ERR_INVALID_TRANSFER},
    {"the same cap moved twice", call_xfer_move_twice,
     CAP_ERR_INVALID_TRANSFER},
    {"RECV on a null cap", recv_on_null_cap, CAP_ERR_INVOKE_FAILED},
    {"RETURN on a null cap", return_on_null_cap, CAP_ERR_INVOKE_FAILED},
    {"RELEASE with a method", release_with_method, CAP_ERR_INVALID_REQUEST},
    {"RELEASE of a stale id", release_stale, CAP_ERR_INVOKE_FAILED},
    {"RELEASE naming an interface", release_with_interface,
     CAP_ERR_INVALID_REQUEST},
    {"CALL meant for another interface", call_meant_for_another_interface,
     CAP_ERR_WRONG_INTERFACE},
    {"CALL meant for ClientEndpoint on a NullCap",
     call_meant_for_client_endpoint, CAP_ERR_WRONG_INTERFACE},
};

/*
 * Every malformed SQE gets its error CQE and changes nothing else: the cap
 * table (slot bytes and counts), object count and the heap are identical
 * afterwards, and the ring only moved by one SQE and one CQE.
 */
static void
every_malformed_sqe_class_gets_its_error_and_changes_nothing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        struct k_process *p = h_proc(bad_cases[i].name, 8);
        uint32_t cap;
        assert_int_equal(nullcap_grant(p, &cap), 0);
        CapSqe s = h_call(cap, 0, 1000 + i);
        bad_cases[i].spoil(p, &s, cap);
        size_t heap_len = 64 * 1024;
        uint8_t *heap = k_user_ptr(p, CAPOS_HEAP_VADDR, heap_len);
        uint8_t *heap_before = malloc(heap_len);
        memcpy(heap_before, heap, heap_len);
        struct ct_slot slots_before[8];
        memcpy(slots_before, p->caps.slots, sizeof slots_before);
        uint32_t live = p->caps.live, objects = k.stats.objects_live;

        CapCqe c = h_one(p, &s);
        if (c.result != bad_cases[i].code || c.user_data != 1000 + i)
            fail_msg("%s: result %d (want %d), user_data %llu",
                     bad_cases[i].name, c.result, bad_cases[i].code,
                     (unsigned long long)c.user_data);
        assert_memory_equal(slots_before, p->caps.slots, sizeof slots_before);
        assert_int_equal(p->caps.live, live);
        assert_int_equal(p->caps.reserved, 0);
        assert_int_equal(k.stats.objects_live, objects);
        assert_memory_equal(heap_before, heap, heap_len);
        assert_int_equal(k_process_check(p), 0);
        free(heap_before);
        k_process_exit(p, 0);
    }
}

/* A tail more than 16 ahead of the head: everything pending is dropped,
 * flagged and counted; nothing is dispatched; the ring then recovers. */
static void sq_tail_overrun_is_dropped_flagged_and_recovers(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t cap;
    assert_int_equal(nullcap_grant(p, &cap), 0);
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++)
        p->ring->sq[i] = h_release(cap, i);
    p->ring->hdr.sq_tail = CAP_SQ_ENTRIES + 1;
    assert_int_equal(k_cap_enter(p, 0, 0), CAP_ERR_RING_CORRUPT);
    assert_int_equal(p->ring->hdr.sq_head, CAP_SQ_ENTRIES + 1);
    assert_int_equal(p->ring->hdr.sq_dropped, 1);
    assert_true(p->ring->hdr.flags & CAP_RING_F_SQ_CORRUPT);
    assert_int_equal(p->ring->hdr.cq_tail, 0);
    assert_int_equal(h_live(p), 1); /* no RELEASE ran */
    CapSqe s = h_nop(77);
    CapCqe c = h_one(p, &s);
    assert_int_equal(c.user_data, 77);
}

/* With 32 CQEs unconsumed the kernel stops consuming SQEs (no overflow,
 * nothing lost) and resumes once the user consumes. */
static void full_cq_stops_sq_consumption_until_the_user_consumes(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++)
            *h_sqe(p) = h_nop(round * 100 + i);
        h_submit(p);
        assert_int_equal(h_enter(p), (int)((round + 1) * CAP_SQ_ENTRIES));
    }
    *h_sqe(p) = h_nop(999);
    h_submit(p);
    assert_int_equal(h_enter(p), CAP_CQ_ENTRIES);
    assert_int_equal(p->ring->hdr.sq_head, 2 * CAP_SQ_ENTRIES);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 0);
    assert_int_equal(h_enter(p), CAP_CQ_ENTRIES);
    assert_int_equal(p->ring->hdr.sq_head, 2 * CAP_SQ_ENTRIES + 1);
    unsigned n = 0;
    uint64_t last = 0;
    while (h_cqe(p, &c)) {
        n++;
        last = c.user_data;
    }
    assert_int_equal(n, CAP_CQ_ENTRIES);
    assert_int_equal(last, 999);
}

static void corrupt_cq_head_is_reported_and_nothing_is_consumed(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    p->ring->hdr.cq_head = 1000;
    *h_sqe(p) = h_nop(1);
    h_submit(p);
    assert_int_equal(k_cap_enter(p, 0, 0), CAP_ERR_RING_CORRUPT);
    assert_true(p->ring->hdr.flags & CAP_RING_F_CQ_CORRUPT);
    assert_int_equal(p->ring->hdr.sq_head, 0);
    p->ring->hdr.cq_head = 0; /* repaired */
    assert_int_equal(k_cap_enter(p, 0, 0), 1);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 1);
}

static void kernel_owned_indices_scribbled_by_the_user_are_ignored(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    p->ring->hdr.sq_head = 12345;
    p->ring->hdr.cq_tail = 999;
    p->ring->hdr.sq_entries = 1;
    CapSqe s = h_nop(3);
    CapCqe c = h_one(p, &s);
    assert_int_equal(c.user_data, 3);
    assert_int_equal(p->ring->hdr.sq_head, 1);
    assert_int_equal(p->ring->hdr.cq_tail, 1);
    assert_int_equal(p->ring->hdr.sq_entries, CAP_SQ_ENTRIES);
}

static void cap_enter_rejects_min_complete_above_the_cq_size(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(k_cap_enter(p, CAP_CQ_ENTRIES + 1, 0),
                     CAP_ERR_INVALID_REQUEST);
    assert_int_equal(k_cap_enter(p, CAP_CQ_ENTRIES, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            nop_completes_with_its_user_data_and_result_zero, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            call_naming_its_caps_interface_runs_and_another_is_refused, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            sixteen_nops_complete_in_submission_order, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            call_to_the_null_cap_returns_an_empty_result, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            null_cap_echo_copies_params_into_the_result_buffer, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            null_cap_mint_returns_a_usable_result_cap_record, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            release_drops_the_slot_and_a_second_release_fails, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            every_malformed_sqe_class_gets_its_error_and_changes_nothing,
            h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            sq_tail_overrun_is_dropped_flagged_and_recovers, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            full_cq_stops_sq_consumption_until_the_user_consumes, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            corrupt_cq_head_is_reported_and_nothing_is_consumed, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            kernel_owned_indices_scribbled_by_the_user_are_ignored, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            cap_enter_rejects_min_complete_above_the_cq_size, h_setup,
            h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
