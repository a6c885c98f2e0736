/*
 * test_captable.c - the capability table (kernel-model/captable.c).
 *
 * Slots, generations, reservation for moves, the full-table error and the
 * invariant checker, on a bare table (with a counting test object) and
 * through a process's ring where the ABI makes a promise (docs/abi.md §8).
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* ---- a test object that counts its destruction ---------------------- */

#define TOBJ_IFACE 0x7e57c0de00000001ull

struct tobj {
    struct k_object o;
    unsigned destroyed;
};

static void tobj_destroy(struct k_object *o)
{
    struct tobj *t = (struct tobj *)((char *)o - offsetof(struct tobj, o));
    t->destroyed++;
}

static int tobj_call(struct k_object *o, struct k_call *c)
{
    (void)o;
    (void)c;
    return 0;
}

static const struct k_object_ops tobj_ops = {
    .name = "TestObject",
    .interface_id = TOBJ_IFACE,
    .call = tobj_call,
    .destroy = tobj_destroy,
};

/* Make an object with one reference (the test's own). */
static void tobj_init(struct tobj *t)
{
    memset(t, 0, sizeof *t);
    k_obj_init(&t->o, &tobj_ops, 0);
}

/* A fresh table of slots slots (*ct) and a test object with one reference,
 * the test's own (*a). */
static void table_and_object(struct k_captable *ct, uint32_t slots,
                             struct tobj *a)
{
    tobj_init(a);
    assert_int_equal(ct_init(ct, slots), 0);
}

static uint32_t id_index(uint32_t id)
{
    return id & CT_INDEX_MASK;
}

static uint32_t id_gen(uint32_t id)
{
    return id >> CT_INDEX_BITS;
}

static uint32_t make_id(uint32_t index, uint32_t gen)
{
    return (gen << CT_INDEX_BITS) | index;
}

/* ---- init ------------------------------------------------------------ */

static void
init_rejects_zero_slots_and_more_than_the_index_can_name(void **state)
{
    (void)state;
    struct k_captable ct;
    assert_int_equal(ct_init(&ct, 0), CAP_ERR_INVALID_REQUEST);
    assert_null(ct.slots);
    assert_int_equal(ct_init(&ct, CT_SLOTS_MAX + 1), CAP_ERR_INVALID_REQUEST);
    assert_null(ct.slots);
    assert_int_equal(ct_init(&ct, CT_SLOTS_MAX), 0);
    assert_int_equal(ct_free_count(&ct), CT_SLOTS_MAX);
    assert_int_equal(ct_check(&ct), 0);
    ct_destroy(&ct);
}

/* ---- insert / lookup / release -------------------------------------- */

static void inserted_cap_looks_up_to_its_object_and_badge(void **state)
{
    (void)state;
    struct k_captable ct;
    struct tobj a, b;
    tobj_init(&a);
    tobj_init(&b);
    assert_int_equal(ct_init(&ct, 8), 0);

    uint32_t ia = 0, ib = 0;
    assert_int_equal(ct_insert(&ct, &a.o, 0xaaaa, &ia), 0);
    assert_int_equal(ct_insert(&ct, &b.o, 0xbbbb, &ib), 0);
    assert_int_not_equal(ia, ib);
    assert_int_not_equal(id_gen(ia), 0);
    assert_int_equal(a.o.refs, 2); /* the test's and the slot's */

    struct ct_slot *sa = ct_lookup(&ct, ia);
    struct ct_slot *sb = ct_lookup(&ct, ib);
    assert_non_null(sa);
    assert_non_null(sb);
    assert_ptr_equal(sa->obj, &a.o);
    assert_ptr_equal(sb->obj, &b.o);
    assert_int_equal(sa->badge, 0xaaaa);
    assert_int_equal(sb->badge, 0xbbbb);
    assert_int_equal(sa->state, CT_LIVE);
    assert_int_equal(ct.live, 2);
    assert_int_equal(ct_free_count(&ct), 6);
    assert_int_equal(ct_check(&ct), 0);

    ct_destroy(&ct);
    k_obj_unref(&a.o);
    k_obj_unref(&b.o);
}

static void release_frees_the_slot_and_drops_its_reference(void **state)
{
    (void)state;
    struct k_captable ct;
    struct tobj a;
    table_and_object(&ct, 4, &a);
    uint32_t id = 0;
    assert_int_equal(ct_insert(&ct, &a.o, 7, &id), 0);
    k_obj_unref(&a.o); /* the slot is now the only holder */
    assert_int_equal(a.o.refs, 1);
    uint32_t before = k.stats.objects_live;

    assert_int_equal(ct_release(&ct, id), 0);
    assert_int_equal(a.destroyed, 1);
    assert_int_equal(k.stats.objects_live, before - 1);
    assert_null(ct_lookup(&ct, id));
    assert_int_equal(ct.live, 0);
    assert_int_equal(ct_free_count(&ct), 4);
    assert_int_equal(ct_check(&ct), 0);
    /* A second release of the same id finds nothing. */
    assert_int_equal(ct_release(&ct, id), CAP_ERR_INVOKE_FAILED);
    assert_int_equal(a.destroyed, 1);

    ct_destroy(&ct);
}

static void stale_id_fails_lookup_once_its_slot_is_reused(void **state)
{
    (void)state;
    struct k_captable ct;
    struct tobj a, b;
    tobj_init(&a);
    tobj_init(&b);
    assert_int_equal(ct_init(&ct, 4), 0);

    uint32_t old = 0, fresh = 0;
    assert_int_equal(ct_insert(&ct, &a.o, 1, &old), 0);
    assert_int_equal(ct_release(&ct, old), 0);
    assert_int_equal(ct_insert(&ct, &b.o, 2, &fresh), 0);

    /* LIFO free list: the same slot, one generation later. */
    assert_int_equal(id_index(fresh), id_index(old));
    assert_int_equal(id_gen(fresh), id_gen(old) + 1);
    assert_null(ct_lookup(&ct, old));
    assert_int_equal(ct_release(&ct, old), CAP_ERR_INVOKE_FAILED);
    struct ct_slot *s = ct_lookup(&ct, fresh);
    assert_non_null(s);
    assert_ptr_equal(s->obj, &b.o);
    assert_int_equal(s->badge, 2);
    assert_int_equal(b.o.refs, 2);
    assert_int_equal(ct.live, 1);

    ct_destroy(&ct);
    k_obj_unref(&a.o);
    k_obj_unref(&b.o);
}

static void
release_of_a_stale_id_via_the_ring_fails_and_spares_the_new_holder(void **state)
{
    (void)state;
    struct k_process *p = h_proc("stale", 0);
    uint32_t old = 0, fresh = 0;
    assert_int_equal(nullcap_grant(p, &old), 0);
    CapSqe rel = h_release(old, 11);
    CapCqe c = h_one(p, &rel);
    assert_int_equal(c.result, 0);
    assert_int_equal(c.user_data, 11);
    assert_int_equal(h_live(p), 0);

    assert_int_equal(nullcap_grant(p, &fresh), 0);
    assert_int_equal(id_index(fresh), id_index(old));
    assert_int_not_equal(fresh, old);
    uint32_t objects = k.stats.objects_live;

    rel = h_release(old, 12);
    c = h_one(p, &rel);
    assert_int_equal(c.result, CAP_ERR_INVOKE_FAILED);
    assert_int_equal(c.user_data, 12);
    assert_int_equal(h_live(p), 1);
    assert_int_equal(k.stats.objects_live, objects);
    assert_non_null(ct_lookup(&p->caps, fresh));

    /* A CALL through the stale id fails too; the new holder still works. */
    CapSqe call = h_call(old, 0, 13);
    c = h_one(p, &call);
    assert_int_equal(c.result, CAP_ERR_INVOKE_FAILED);
    call = h_call(fresh, 0, 14);
    c = h_one(p, &call);
    assert_int_equal(c.result, 0);
    assert_int_equal(c.user_data, 14);
    assert_int_equal(k_process_check(p), 0);
}

/* ---- generations ----------------------------------------------------- */

static void generation_wraps_from_max_to_one_never_issuing_zero(void **state)
{
    (void)state;
    struct k_captable ct;
    struct tobj a;
    table_and_object(&ct, 1, &a);

    /* Cycle the only slot through every generation and once more. */
    uint32_t id = 0, first = 0, zero_gens = 0, wrong_slot = 0;
    for (uint32_t g = 1; g <= CT_GEN_MAX; g++) {
        assert_int_equal(ct_insert(&ct, &a.o, 0, &id), 0);
        if (g == 1)
            first = id;
        if (id_gen(id) == 0)
            zero_gens++;
        if (id_index(id) != 0)
            wrong_slot++;
        if (g == CT_GEN_MAX)
            break;
        assert_int_equal(ct_release(&ct, id), 0);
    }
    assert_int_equal(zero_gens, 0);
    assert_int_equal(wrong_slot, 0);
    assert_int_equal(id_gen(id), CT_GEN_MAX);
    assert_int_equal(ct_check(&ct), 0);

    assert_int_equal(ct_release(&ct, id), 0);
    assert_int_equal(ct_check(&ct), 0);
    uint32_t wrapped = 0;
    assert_int_equal(ct_insert(&ct, &a.o, 0, &wrapped), 0);
    assert_int_equal(id_gen(wrapped), 1);
    assert_int_equal(wrapped, first);
    assert_int_not_equal(wrapped, 0);
    /* The id from the last lap is stale now. */
    assert_null(ct_lookup(&ct, id));
    assert_non_null(ct_lookup(&ct, wrapped));

    ct_destroy(&ct);
    k_obj_unref(&a.o);
}

static void ids_beyond_the_table_or_with_generation_zero_fail(void **state)
{
    (void)state;
    struct k_captable ct;
    struct tobj a;
    table_and_object(&ct, 4, &a);
    uint32_t ids[4];
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(ct_insert(&ct, &a.o, 0, &ids[i]), 0);
    assert_int_equal(ct.live, 4);

    const uint32_t bogus[] = {
        0,                              /* slot 0, generation 0 */
        id_index(ids[1]),               /* live slot, generation 0 */
        make_id(4, 1),                  /* one past the last slot */
        make_id(CT_INDEX_MASK, 1),      /* last index the id can name */
        make_id(0, id_gen(ids[0]) + 1), /* a generation not issued yet */
        UINT32_MAX,
    };
    for (unsigned i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        assert_null(ct_lookup(&ct, bogus[i]));
        assert_int_equal(ct_release(&ct, bogus[i]), CAP_ERR_INVOKE_FAILED);
        assert_int_equal(ct_reserve(&ct, bogus[i]), CAP_ERR_INVALID_TRANSFER);
    }
    assert_int_equal(ct.live, 4);
    assert_int_equal(ct.reserved, 0);
    assert_int_equal(a.o.refs, 5);
    assert_int_equal(ct_check(&ct), 0);

    ct_destroy(&ct);
    assert_int_equal(a.o.refs, 1);
    k_obj_unref(&a.o);
}

static void ring_release_of_cap_id_zero_or_out_of_range_fails(void **state)
{
    (void)state;
    struct k_process *p = h_proc("range", 4);
    uint32_t id = 0;
    assert_int_equal(nullcap_grant(p, &id), 0);
    const uint32_t bogus[] = {0, id_index(id), make_id(4, 1),
                              make_id(CT_INDEX_MASK, 1)};
    for (unsigned i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        CapSqe rel = h_release(bogus[i], 100 + i);
        CapCqe c = h_one(p, &rel);
        assert_int_equal(c.result, CAP_ERR_INVOKE_FAILED);
        assert_int_equal(c.user_data, 100 + i);
    }
    assert_int_equal(h_live(p), 1);
    assert_int_equal(k_process_check(p), 0);
}

/* ---- a full table ---------------------------------------------------- */

static void
insert_into_a_full_table_is_rejected_without_taking_a_ref(void **state)
{
    (void)state;
    struct k_captable ct;
    struct tobj a;
    table_and_object(&ct, 3, &a);
    uint32_t ids[3];
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(ct_insert(&ct, &a.o, 0, &ids[i]), 0);
    assert_int_equal(ct_free_count(&ct), 0);
    assert_int_equal(ct_check(&ct), 0);

    uint32_t extra = 0xdeadbeef;
    assert_int_equal(ct_insert(&ct, &a.o, 0, &extra),
                     CAP_ERR_TRANSFER_REJECTED);
    assert_int_equal(extra, 0xdeadbeef);
    assert_int_equal(a.o.refs, 4);
    assert_int_equal(ct.live, 3);

    /* Room again after one release; the freed slot is the one reused. */
    assert_int_equal(ct_release(&ct, ids[1]), 0);
    assert_int_equal(ct_insert(&ct, &a.o, 0, &extra), 0);
    assert_int_equal(id_index(extra), id_index(ids[1]));
    assert_int_equal(ct_check(&ct), 0);

    ct_destroy(&ct);
    k_obj_unref(&a.o);
}

static void
mint_into_a_full_process_table_fails_with_transfer_rejected(void **state)
{
    (void)state;
    struct k_process *p = h_proc("full", 1);
    uint32_t id = 0;
    assert_int_equal(nullcap_grant(p, &id), 0);
    uint32_t extra = 0;
    assert_int_equal(nullcap_grant(p, &extra), CAP_ERR_TRANSFER_REJECTED);
    uint32_t objects = k.stats.objects_live;

    uint8_t *buf = h_alloc(p, 64);
    CapSqe call = h_call(id, 2 /* mint */, 5);
    call.result_addr = h_va(p, buf);
    call.result_len = 64;
    CapCqe c = h_one(p, &call);
    assert_int_equal(c.result, CAP_ERR_TRANSFER_REJECTED);
    assert_int_equal(c.cap_count, 0);
    assert_int_equal(h_live(p), 1);
    assert_int_equal(k.stats.objects_live, objects); /* minted cap dropped */
    assert_int_equal(k_process_check(p), 0);
}

/* ---- reservation for moves ------------------------------------------ */

static void
reserved_slot_cannot_be_looked_up_released_or_reserved_again(void **state)
{
    (void)state;
    struct k_captable ct;
    struct tobj a;
    table_and_object(&ct, 4, &a);
    uint32_t id = 0, other = 0;
    assert_int_equal(ct_insert(&ct, &a.o, 9, &id), 0);
    assert_int_equal(ct_insert(&ct, &a.o, 0, &other), 0);

    assert_int_equal(ct_reserve(&ct, id), 0);
    assert_int_equal(ct.live, 1);
    assert_int_equal(ct.reserved, 1);
    assert_int_equal(ct_free_count(&ct), 2);
    assert_int_equal(ct_check(&ct), 0);

    assert_null(ct_lookup(&ct, id));
    assert_int_equal(ct_release(&ct, id), CAP_ERR_INVOKE_FAILED);
    assert_int_equal(ct_reserve(&ct, id), CAP_ERR_INVALID_TRANSFER);
    assert_int_equal(ct.live, 1);
    assert_int_equal(ct.reserved, 1);
    assert_int_equal(a.o.refs, 3);
    /* The other slot is unaffected. */
    assert_non_null(ct_lookup(&ct, other));

    ct_unreserve(&ct, id);
    assert_int_equal(ct.live, 2);
    assert_int_equal(ct.reserved, 0);
    assert_int_equal(ct_free_count(&ct), 2);
    struct ct_slot *s = ct_lookup(&ct, id);
    assert_non_null(s);
    assert_int_equal(s->badge, 9);
    assert_ptr_equal(s->obj, &a.o);
    assert_int_equal(ct_check(&ct), 0);

    ct_destroy(&ct);
    k_obj_unref(&a.o);
}

static void
commit_move_frees_the_reserved_slot_and_drops_its_reference(void **state)
{
    (void)state;
    struct k_captable ct;
    struct tobj a;
    table_and_object(&ct, 4, &a);
    uint32_t id = 0;
    assert_int_equal(ct_insert(&ct, &a.o, 0, &id), 0);
    k_obj_unref(&a.o); /* only the slot holds it */
    uint32_t objects = k.stats.objects_live;

    assert_int_equal(ct_reserve(&ct, id), 0);
    assert_int_equal(ct_free_count(&ct), 3);
    ct_commit_move(&ct, id);
    assert_int_equal(a.destroyed, 1);
    assert_int_equal(k.stats.objects_live, objects - 1);
    assert_int_equal(ct.live, 0);
    assert_int_equal(ct.reserved, 0);
    assert_int_equal(ct_free_count(&ct), 4);
    assert_int_equal(ct_check(&ct), 0);

    /* The slot is reused under a new generation. */
    struct tobj b;
    tobj_init(&b);
    uint32_t fresh = 0;
    assert_int_equal(ct_insert(&ct, &b.o, 0, &fresh), 0);
    assert_int_equal(id_index(fresh), id_index(id));
    assert_int_equal(id_gen(fresh), id_gen(id) + 1);
    assert_null(ct_lookup(&ct, id));

    ct_destroy(&ct);
    k_obj_unref(&b.o);
}

/* ---- the invariant checker ------------------------------------------ */

/* A private copy of a table (slots included) to corrupt on purpose. */
struct ct_copy {
    struct k_captable ct;
};

static void copy_table(struct ct_copy *c, const struct k_captable *src)
{
    c->ct = *src;
    c->ct.slots = malloc(src->nslots * sizeof *src->slots);
    assert_non_null(c->ct.slots);
    memcpy(c->ct.slots, src->slots, src->nslots * sizeof *src->slots);
}

static void free_copy(struct ct_copy *c)
{
    free(c->ct.slots);
}

static void check_detects_a_corrupted_free_list_or_count(void **state)
{
    (void)state;
    struct k_captable ct;
    struct tobj a;
    table_and_object(&ct, 6, &a);
    uint32_t ids[3];
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(ct_insert(&ct, &a.o, 0, &ids[i]), 0);
    assert_int_equal(ct_reserve(&ct, ids[2]), 0);
    /* Free slots 3, 4, 5 on the list; 0, 1 live; 2 reserved. */
    assert_int_equal(ct_check(&ct), 0);

    struct ct_copy c;

    copy_table(&c, &ct); /* the copy itself is sound */
    assert_int_equal(ct_check(&c.ct), 0);
    free_copy(&c);

    copy_table(&c, &ct); /* free list loops back on itself */
    c.ct.slots[5].next_free = c.ct.free_head;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* free list names a live slot */
    c.ct.free_head = id_index(ids[0]);
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* free list loses a free slot */
    c.ct.free_head = c.ct.slots[c.ct.free_head].next_free;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* free list runs off the table */
    c.ct.slots[5].next_free = 6;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* live count off by one */
    c.ct.live++;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* reserved count off by one */
    c.ct.reserved--;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* a slot at generation 0 */
    c.ct.slots[0].gen = 0;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* a live slot with no object */
    c.ct.slots[1].obj = NULL;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* a free slot still naming an object */
    c.ct.slots[4].obj = &a.o;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* an unknown state */
    c.ct.slots[3].state = 7;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* a typed slot that holds no client facet (§8) */
    c.ct.slots[0].iface = 0x1234;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    copy_table(&c, &ct); /* a free slot still typed */
    c.ct.slots[4].iface = 0x1234;
    assert_int_equal(ct_check(&c.ct), -1);
    free_copy(&c);

    /* The original was never touched. */
    assert_int_equal(ct_check(&ct), 0);
    ct_unreserve(&ct, ids[2]);
    ct_destroy(&ct);
    k_obj_unref(&a.o);
}

/* ---- teardown -------------------------------------------------------- */

static void destroy_drops_every_live_and_reserved_reference(void **state)
{
    (void)state;
    uint32_t baseline = k.stats.objects_live;
    struct k_captable ct;
    struct tobj a, b, c;
    tobj_init(&a);
    tobj_init(&b);
    tobj_init(&c);
    assert_int_equal(k.stats.objects_live, baseline + 3);
    assert_int_equal(ct_init(&ct, 8), 0);
    uint32_t ia1, ia2, ib, ic;
    assert_int_equal(ct_insert(&ct, &a.o, 0, &ia1), 0);
    assert_int_equal(ct_insert(&ct, &a.o, 1, &ia2), 0);
    assert_int_equal(ct_insert(&ct, &b.o, 0, &ib), 0);
    assert_int_equal(ct_insert(&ct, &c.o, 0, &ic), 0);
    assert_int_equal(ct_release(&ct, ia2), 0);
    assert_int_equal(ct_reserve(&ct, ib), 0); /* a move in flight */
    k_obj_unref(&a.o);
    k_obj_unref(&b.o);
    k_obj_unref(&c.o);
    assert_int_equal(a.destroyed + b.destroyed + c.destroyed, 0);

    ct_destroy(&ct);
    assert_int_equal(a.destroyed, 1);
    assert_int_equal(b.destroyed, 1);
    assert_int_equal(c.destroyed, 1);
    assert_int_equal(k.stats.objects_live, baseline);
    assert_null(ct.slots);
    assert_int_equal(ct.nslots, 0);
    assert_int_equal(ct_free_count(&ct), 0);
    /* Destroying twice is harmless. */
    ct_destroy(&ct);
    assert_int_equal(k.stats.objects_live, baseline);
}

static void process_exit_drops_the_objects_its_table_held(void **state)
{
    (void)state;
    uint32_t baseline = k.stats.objects_live;
    struct k_process *p = h_proc("holder", 0);
    uint32_t ids[5];
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(nullcap_grant(p, &ids[i]), 0);
    uint32_t raw = 0;
    assert_int_equal(ep_create(p, &raw), 0);
    assert_int_equal(k.stats.objects_live, baseline + 6);

    k_process_exit(p, 3);
    assert_int_equal(k.stats.objects_live, baseline);
    assert_null(p->caps.slots);
    assert_int_equal(k_process_check(p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
        T(init_rejects_zero_slots_and_more_than_the_index_can_name),
        T(inserted_cap_looks_up_to_its_object_and_badge),
        T(release_frees_the_slot_and_drops_its_reference),
        T(stale_id_fails_lookup_once_its_slot_is_reused),
        T(release_of_a_stale_id_via_the_ring_fails_and_spares_the_new_holder),
        T(generation_wraps_from_max_to_one_never_issuing_zero),
        T(ids_beyond_the_table_or_with_generation_zero_fail),
        T(ring_release_of_cap_id_zero_or_out_of_range_fails),
        T(insert_into_a_full_table_is_rejected_without_taking_a_ref),
        T(mint_into_a_full_process_table_fails_with_transfer_rejected),
        T(reserved_slot_cannot_be_looked_up_released_or_reserved_again),
        T(commit_move_frees_the_reserved_slot_and_drops_its_reference),
        T(check_detects_a_corrupted_free_list_or_count),
        T(destroy_drops_every_live_and_reserved_reference),
        T(process_exit_drops_the_objects_its_table_held),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
