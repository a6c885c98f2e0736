/*
 * test_transfer.c - copy and move of capabilities on CALL and RETURN:
 * exactly-once accounting, reservation while in flight, all-or-nothing
 * rollback, badge preservation, and transfer-mode restrictions.
 */
#include <string.h>

#include "harness.h"

struct world {
    struct k_process *srv, *cli;
    uint32_t raw, facet;
};

static struct world world_new(uint32_t srv_slots, uint32_t cli_slots)
{
    struct world w;
    w.srv = h_proc("server", srv_slots);
    w.cli = h_proc("client", cli_slots);
    assert_int_equal(ep_create(w.srv, &w.raw), 0);
    assert_int_equal(ep_mint_client(w.srv, w.raw, w.cli, 9, &w.facet), 0);
    return w;
}

/* Submit a CALL of w.facet carrying the given descriptors (no params). */
static void call_with(struct k_process *p, uint32_t facet,
                      const CapTransferDescriptor *d, uint16_t n,
                      uint64_t user_data, void *result, uint32_t result_len)
{
    CapTransferDescriptor *ud = h_alloc(p, n * sizeof *d + 8);
    if (n)
        memcpy(ud, d, n * sizeof *d);
    CapSqe *s = h_sqe(p);
    *s = h_call(facet, 0, user_data);
    s->addr = h_va(p, ud);
    s->xfer_cap_count = n;
    if (result) {
        s->result_addr = h_va(p, result);
        s->result_len = result_len;
    }
    h_submit(p);
}

/* RECV into a fresh buffer; returns the buffer. */
static uint8_t *recv_into(struct k_process *p, uint32_t raw, uint32_t len)
{
    uint8_t *buf;
    CapSqe *s = h_sqe(p);
    *s = h_recv(p, raw, 0, len, &buf);
    h_submit(p);
    return buf;
}

/* The records after the header and params of a received message. */
static const CapTransferResult *records_of(const uint8_t *buf)
{
    EndpointMessageHeader h;
    memcpy(&h, buf, sizeof h);
    return (const CapTransferResult *)(buf +
                                       CAP_ALIGN8(sizeof h + h.params_len));
}

static void copy_leaves_the_sender_cap_and_gives_the_receiver_one(void **state)
{
    (void)state;
    struct world w = world_new(0, 0);
    uint32_t nc;
    assert_int_equal(nullcap_grant(w.cli, &nc), 0);
    uint32_t objects = k.stats.objects_live;
    CapTransferDescriptor d = {.cap_id = nc, .mode = CAP_XFER_COPY};
    call_with(w.cli, w.facet, &d, 1, 1, NULL, 0);
    h_enter(w.cli);
    uint8_t *buf = recv_into(w.srv, w.raw, 256);
    assert_int_equal(h_enter(w.srv), 1);
    CapCqe rc;
    assert_true(h_cqe(w.srv, &rc));
    assert_int_equal(rc.cap_count, 1);
    assert_true(rc.flags & CAP_CQE_F_CAPS);
    const CapTransferResult *rec = records_of(buf);
    assert_int_equal(rec->interface_id, K_IFACE_NULLCAP);
    assert_int_equal(rec->flags, 0); /* the kernel's object, no facet */
    struct ct_slot *got = ct_lookup(&w.srv->caps, rec->cap_id);
    struct ct_slot *mine = ct_lookup(&w.cli->caps, nc);
    assert_non_null(got);
    assert_non_null(mine);
    assert_ptr_equal(got->obj, mine->obj);
    assert_int_equal(got->obj->refs, 2);
    assert_int_equal(k.stats.objects_live, objects);
    /* The copy works in the server. */
    CapSqe s = h_call(rec->cap_id, 0, 2);
    assert_int_equal(h_one(w.srv, &s).result, 0);
}

static void
move_reserves_the_sender_slot_until_delivery_then_frees_it(void **state)
{
    (void)state;
    struct world w = world_new(0, 0);
    uint32_t nc;
    assert_int_equal(nullcap_grant(w.cli, &nc), 0);
    uint32_t cli_live = h_live(w.cli), srv_live = h_live(w.srv);
    CapTransferDescriptor d = {.cap_id = nc, .mode = CAP_XFER_MOVE};
    call_with(w.cli, w.facet, &d, 1, 1, NULL, 0);
    assert_int_equal(h_enter(w.cli), 0);
    /* In flight: reserved, unusable, unreleasable. */
    assert_int_equal(w.cli->caps.reserved, 1);
    assert_int_equal(h_live(w.cli), cli_live - 1);
    CapSqe s = h_call(nc, 0, 2);
    assert_int_equal(h_one(w.cli, &s).result, CAP_ERR_INVOKE_FAILED);
    s = h_release(nc, 3);
    assert_int_equal(h_one(w.cli, &s).result, CAP_ERR_INVOKE_FAILED);
    assert_int_equal(w.cli->caps.reserved, 1);

    uint8_t *buf = recv_into(w.srv, w.raw, 256);
    assert_int_equal(h_enter(w.srv), 1);
    assert_int_equal(w.cli->caps.reserved, 0);
    assert_int_equal(h_live(w.cli), cli_live - 1);
    assert_int_equal(h_live(w.srv), srv_live + 1);
    const CapTransferResult *rec = records_of(buf);
    struct ct_slot *got = ct_lookup(&w.srv->caps, rec->cap_id);
    assert_non_null(got);
    assert_int_equal(got->obj->refs, 1); /* moved, not duplicated */
    assert_null(ct_lookup(&w.cli->caps, nc));
}

/*
 * The receiver's table cannot take the caps: the caller's CALL fails with
 * CAP_ERR_TRANSFER_REJECTED, the moved cap is live again in the sender,
 * the receiver is unchanged, no object is lost or duplicated, and the
 * receive survives for the next call.
 */
static void move_of_last_cap_rolls_back_when_receiver_is_full(void **state)
{
    (void)state;
    struct world w = world_new(2, 0); /* raw + one more slot */
    uint32_t filler;
    assert_int_equal(nullcap_grant(w.srv, &filler), 0);
    assert_int_equal(ct_free_count(&w.srv->caps), 0);
    uint32_t a, b;
    assert_int_equal(nullcap_grant(w.cli, &a), 0);
    assert_int_equal(nullcap_grant(w.cli, &b), 0);
    uint32_t cli_live = h_live(w.cli), srv_live = h_live(w.srv);
    uint32_t objects = k.stats.objects_live;

    uint8_t *buf = recv_into(w.srv, w.raw, 256);
    assert_int_equal(h_enter(w.srv), 0);
    CapTransferDescriptor d[2] = {{.cap_id = a, .mode = CAP_XFER_COPY},
                                  {.cap_id = b, .mode = CAP_XFER_MOVE}};
    call_with(w.cli, w.facet, d, 2, 1, NULL, 0);
    assert_int_equal(h_enter(w.cli), 1);
    CapCqe cc;
    assert_true(h_cqe(w.cli, &cc));
    assert_int_equal(cc.result, CAP_ERR_TRANSFER_REJECTED);
    assert_int_equal(h_live(w.cli), cli_live);
    assert_int_equal(w.cli->caps.reserved, 0);
    assert_int_equal(h_live(w.srv), srv_live);
    assert_int_equal(k.stats.objects_live, objects);
    assert_int_equal(ct_lookup(&w.cli->caps, a)->obj->refs, 1);
    assert_int_equal(ct_lookup(&w.cli->caps, b)->obj->refs, 1);
    CapSqe s = h_call(b, 0, 2);
    assert_int_equal(h_one(w.cli, &s).result, 0); /* b works again */
    assert_int_equal(k_process_check(w.cli), 0);
    assert_int_equal(k_process_check(w.srv), 0);

    /* Make room: the same receive now takes the move. */
    s = h_release(filler, 3);
    assert_int_equal(h_one(w.srv, &s).result, 0);
    call_with(w.cli, w.facet, &d[1], 1, 4, NULL, 0);
    h_enter(w.cli);
    CapCqe rc;
    assert_true(h_cqe(w.srv, &rc));
    assert_int_equal(rc.cap_count, 1);
    assert_non_null(ct_lookup(&w.srv->caps, records_of(buf)->cap_id));
    assert_null(ct_lookup(&w.cli->caps, b));
}

static void caps_returned_by_the_server_land_in_the_caller(void **state)
{
    (void)state;
    struct world w = world_new(0, 0);
    uint32_t gift;
    assert_int_equal(nullcap_grant(w.srv, &gift), 0);
    uint8_t *res = h_alloc(w.cli, 64);
    call_with(w.cli, w.facet, NULL, 0, 1, res, 64);
    h_enter(w.cli);
    recv_into(w.srv, w.raw, 256);
    h_enter(w.srv);
    CapCqe rc;
    assert_true(h_cqe(w.srv, &rc));
    char *payload = h_alloc(w.srv, 64);
    memcpy(payload, "abc", 3);
    CapTransferDescriptor *d = (CapTransferDescriptor *)(payload + 8);
    d->cap_id = gift;
    d->mode = CAP_XFER_MOVE;
    CapSqe s = {.opcode = CAP_OP_RETURN,
                .cap_id = w.raw,
                .call_id = rc.call_id,
                .addr = h_va(w.srv, payload),
                .len = 3,
                .xfer_cap_count = 1};
    assert_int_equal(h_one(w.srv, &s).result, 0);
    assert_null(ct_lookup(&w.srv->caps, gift));
    assert_int_equal(h_enter(w.cli), 1);
    CapCqe cc;
    assert_true(h_cqe(w.cli, &cc));
    assert_int_equal(cc.result, 3);
    assert_int_equal(cc.cap_count, 1);
    assert_memory_equal(res, "abc", 3);
    const CapTransferResult *rec = (const CapTransferResult *)(res + 8);
    assert_int_equal(rec->interface_id, K_IFACE_NULLCAP);
    assert_non_null(ct_lookup(&w.cli->caps, rec->cap_id));
}

static void
returned_caps_roll_back_to_the_server_when_the_caller_is_full(void **state)
{
    (void)state;
    struct world w = world_new(0, 1); /* the facet fills the client */
    uint32_t gift;
    assert_int_equal(nullcap_grant(w.srv, &gift), 0);
    uint8_t *res = h_alloc(w.cli, 64);
    call_with(w.cli, w.facet, NULL, 0, 1, res, 64);
    h_enter(w.cli);
    recv_into(w.srv, w.raw, 256);
    h_enter(w.srv);
    CapCqe rc;
    assert_true(h_cqe(w.srv, &rc));
    CapTransferDescriptor *d = h_alloc(w.srv, sizeof *d);
    d->cap_id = gift;
    d->mode = CAP_XFER_MOVE;
    CapSqe s = {.opcode = CAP_OP_RETURN,
                .cap_id = w.raw,
                .call_id = rc.call_id,
                .addr = h_va(w.srv, d),
                .xfer_cap_count = 1};
    assert_int_equal(h_one(w.srv, &s).result, CAP_ERR_TRANSFER_REJECTED);
    assert_non_null(ct_lookup(&w.srv->caps, gift));
    assert_int_equal(w.srv->caps.reserved, 0);
    h_enter(w.cli);
    CapCqe cc;
    assert_true(h_cqe(w.cli, &cc));
    assert_int_equal(cc.result, CAP_ERR_TRANSFER_REJECTED);
    assert_int_equal(h_live(w.cli), 1);
}

/* Delegating a client facet keeps its badge: the receiver cannot choose
 * another identity, and the server sees the original one. */
static void a_delegated_facet_keeps_the_delegator_badge(void **state)
{
    (void)state;
    struct world w = world_new(0, 0); /* client facet badge 9 */
    struct k_process *third = h_proc("third", 0);
    uint32_t raw2, to_third;
    assert_int_equal(ep_create(third, &raw2), 0);
    assert_int_equal(ep_mint_client(third, raw2, w.cli, 1, &to_third), 0);
    CapTransferDescriptor d = {.cap_id = w.facet, .mode = CAP_XFER_COPY};
    call_with(w.cli, to_third, &d, 1, 1, NULL, 0);
    h_enter(w.cli);
    uint8_t *buf = recv_into(third, raw2, 256);
    assert_int_equal(h_enter(third), 1);
    uint32_t delegated = records_of(buf)->cap_id;
    assert_int_equal(ct_lookup(&third->caps, delegated)->badge, 9);
    /* third calls the server through the delegated facet. */
    CapSqe *s = h_sqe(third);
    *s = h_call(delegated, 0, 5);
    h_submit(third);
    h_enter(third);
    recv_into(w.srv, w.raw, 256);
    assert_int_equal(h_enter(w.srv), 1);
    CapCqe rc;
    assert_true(h_cqe(w.srv, &rc));
    assert_int_equal(rc.badge, 9);
}

/* Delegating a typed facet keeps its interface as well (docs/abi.md §8):
 * copy and move give the receiver a slot and a record of the same
 * interface, whatever the receiver expected, and a freed slot forgets
 * it. */
static void a_delegated_facet_keeps_its_typed_interface(void **state)
{
    (void)state;
    const uint64_t counter = 0xc0ffee0000000001ull;
    struct world w = world_new(0, 0);
    struct k_process *third = h_proc("third", 0);
    uint32_t raw2, to_third;
    assert_int_equal(ep_create(third, &raw2), 0);
    assert_int_equal(ep_mint_client(third, raw2, w.cli, 1, &to_third), 0);
    assert_int_equal(k_capset_add_as(w.cli, "counter", w.facet, counter), 0);
    for (uint32_t mode = CAP_XFER_COPY; mode <= CAP_XFER_MOVE; mode++) {
        CapTransferDescriptor d = {.cap_id = w.facet, .mode = mode};
        call_with(w.cli, to_third, &d, 1, 1 + mode, NULL, 0);
        h_enter(w.cli);
        uint8_t *buf = recv_into(third, raw2, 256);
        assert_int_equal(h_enter(third), 1);
        CapCqe rc;
        assert_true(h_cqe(third, &rc));
        const CapTransferResult *rec = records_of(buf);
        assert_int_equal(rec->interface_id, counter);
        /* Typed Counter, and flagged a facet: no kernel object. */
        assert_int_equal(rec->flags, CAP_XFER_REC_FACET);
        struct ct_slot *sl = ct_lookup(&third->caps, rec->cap_id);
        assert_int_equal(sl->iface, counter);
        assert_int_equal(sl->badge, 9);
    }
    /* Moved away: the sender's slot is free and untyped again. */
    uint32_t idx = w.facet & CT_INDEX_MASK;
    assert_int_equal(w.cli->caps.slots[idx].state, CT_FREE);
    assert_int_equal(w.cli->caps.slots[idx].iface, 0);
    assert_int_equal(ct_check(&third->caps), 0);
}

static void moving_a_cap_into_a_kernel_object_consumes_it(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t target, victim;
    assert_int_equal(nullcap_grant(p, &target), 0);
    assert_int_equal(nullcap_grant(p, &victim), 0);
    uint32_t objects = k.stats.objects_live;
    CapTransferDescriptor *d;
    CapSqe s = h_call_xfer(p, target, 0, 1, victim, CAP_XFER_MOVE, &d);
    assert_int_equal(h_one(p, &s).result, 0);
    assert_null(ct_lookup(&p->caps, victim));
    assert_int_equal(k.stats.objects_live, objects - 1);
    /* A failing call rolls the move back. */
    d->cap_id = target;
    s.method_id = 77;
    assert_int_equal(h_one(p, &s).result,
                     CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED);
    assert_non_null(ct_lookup(&p->caps, target));
    assert_int_equal(p->caps.reserved, 0);
}

static int dummy_call(struct k_object *o, struct k_call *c)
{
    (void)o, (void)c;
    return 0;
}

static void dummy_destroy(struct k_object *o)
{
    port_free(o);
}

static const struct k_object_ops move_only_ops = {
    .name = "MoveOnly",
    .interface_id = 0x1234,
    .call = dummy_call,
    .destroy = dummy_destroy,
};

static void a_move_only_cap_cannot_be_copied(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t target, mo;
    assert_int_equal(nullcap_grant(p, &target), 0);
    struct k_object *o = port_alloc(sizeof *o);
    k_obj_init(o, &move_only_ops, K_OBJ_MOVE_ONLY);
    assert_int_equal(ct_insert(&p->caps, o, 0, &mo), 0);
    k_obj_unref(o);
    CapTransferDescriptor *d;
    CapSqe s = h_call_xfer(p, target, 0, 1, mo, CAP_XFER_COPY, &d);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_TRANSFER);
    assert_non_null(ct_lookup(&p->caps, mo));
    d->mode = CAP_XFER_MOVE;
    assert_int_equal(h_one(p, &s).result, 0);
    assert_null(ct_lookup(&p->caps, mo));
}

/* An invalid descriptor after valid ones rolls the valid ones back. */
static void a_bad_descriptor_rolls_back_the_ones_before_it(void **state)
{
    (void)state;
    struct world w = world_new(0, 0);
    uint32_t a, b;
    assert_int_equal(nullcap_grant(w.cli, &a), 0);
    assert_int_equal(nullcap_grant(w.cli, &b), 0);
    CapTransferDescriptor d[3] = {{.cap_id = a, .mode = CAP_XFER_MOVE},
                                  {.cap_id = b, .mode = CAP_XFER_COPY},
                                  {.cap_id = 0xdead, .mode = CAP_XFER_COPY}};
    call_with(w.cli, w.facet, d, 3, 1, NULL, 0);
    assert_int_equal(h_enter(w.cli), 1);
    CapCqe cc;
    assert_true(h_cqe(w.cli, &cc));
    assert_int_equal(cc.result, CAP_ERR_INVALID_TRANSFER);
    assert_int_equal(w.cli->caps.reserved, 0);
    assert_int_equal(ct_lookup(&w.cli->caps, a)->obj->refs, 1);
    assert_int_equal(ct_lookup(&w.cli->caps, b)->obj->refs, 1);
}

/* A sender exiting with a move queued: the endpoint keeps nothing. */
static void sender_exit_with_a_move_queued_leaks_nothing(void **state)
{
    (void)state;
    struct world w = world_new(0, 0);
    uint32_t a;
    assert_int_equal(nullcap_grant(w.cli, &a), 0);
    uint32_t objects = k.stats.objects_live;
    CapTransferDescriptor d = {.cap_id = a, .mode = CAP_XFER_MOVE};
    call_with(w.cli, w.facet, &d, 1, 1, NULL, 0);
    h_enter(w.cli);
    k_process_exit(w.cli, 0);
    /* a and the client facet are gone. */
    assert_int_equal(k.stats.objects_live, objects - 2);
    recv_into(w.srv, w.raw, 256);
    assert_int_equal(h_enter(w.srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            copy_leaves_the_sender_cap_and_gives_the_receiver_one, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            move_reserves_the_sender_slot_until_delivery_then_frees_it, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            move_of_last_cap_rolls_back_when_receiver_is_full, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            caps_returned_by_the_server_land_in_the_caller, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            returned_caps_roll_back_to_the_server_when_the_caller_is_full,
            h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            a_delegated_facet_keeps_the_delegator_badge, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            a_delegated_facet_keeps_its_typed_interface, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            moving_a_cap_into_a_kernel_object_consumes_it, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_move_only_cap_cannot_be_copied,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            a_bad_descriptor_rolls_back_the_ones_before_it, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            sender_exit_with_a_move_queued_leaks_nothing, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
