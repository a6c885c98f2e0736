/*
 * captable.c - a process's capability table.
 *
 * Slots carry an object reference, a badge, a typed interface, a state (free,
 * live, reserved by an in-flight move) and a generation. A CapId names a slot
 * and the generation it was issued under, so an id kept after its slot was
 * released and reused fails lookup (docs/abi.md §8). Free slots form a LIFO
 * list.
 */
#include "kmodel.h"

#define CT_NIL UINT32_MAX

static uint32_t ct_make_id(uint32_t index, uint32_t gen)
{
    return (gen << CT_INDEX_BITS) | index;
}

/*
 * Set up an empty table of nslots slots (1..CT_SLOTS_MAX). Returns 0, or
 * CAP_ERR_INVALID_REQUEST for a bad size, CAP_ERR_INVOKE_FAILED when out of
 * memory.
 */
int ct_init(struct k_captable *ct, uint32_t nslots)
{
    k_memset(ct, 0, sizeof *ct);
    if (nslots == 0 || nslots > CT_SLOTS_MAX)
        return CAP_ERR_INVALID_REQUEST;
    ct->slots = port_alloc(nslots * sizeof(struct ct_slot));
    if (!ct->slots)
        return CAP_ERR_INVOKE_FAILED;
    ct->nslots = nslots;
    for (uint32_t i = 0; i < nslots; i++) {
        ct->slots[i].gen = 1;
        ct->slots[i].next_free = i + 1 < nslots ? i + 1 : CT_NIL;
    }
    ct->free_head = 0;
    return 0;
}

/* Drop every live and reserved slot's reference and free the table. */
void ct_destroy(struct k_captable *ct)
{
    if (!ct->slots)
        return;
    for (uint32_t i = 0; i < ct->nslots; i++) {
        struct ct_slot *s = &ct->slots[i];
        if (s->state != CT_FREE) {
            struct k_object *o = s->obj;
            s->obj = NULL;
            s->state = CT_FREE;
            k_obj_unref(o);
        }
    }
    port_free(ct->slots);
    k_memset(ct, 0, sizeof *ct);
}

/*
 * Put obj in a free slot with badge and typed interface iface (0: untyped;
 * only a client facet may be typed, docs/abi.md §8), taking a new
 * reference. Returns 0 and the CapId, or CAP_ERR_TRANSFER_REJECTED when
 * the table is full.
 */
int ct_insert_as(struct k_captable *ct, struct k_object *obj, uint64_t badge,
                 uint64_t iface, uint32_t *out_id)
{
    K_ASSERT(iface == 0 || ep_is_client(obj), "typed slot of a non-facet");
    if (ct->free_head == CT_NIL || !ct->slots)
        return CAP_ERR_TRANSFER_REJECTED;
    uint32_t i = ct->free_head;
    struct ct_slot *s = &ct->slots[i];
    K_ASSERT(s->state == CT_FREE, "free list names a used slot");
    ct->free_head = s->next_free;
    k_obj_ref(obj);
    s->obj = obj;
    s->badge = badge;
    s->iface = iface;
    s->state = CT_LIVE;
    s->next_free = CT_NIL;
    ct->live++;
    *out_id = ct_make_id(i, s->gen);
    return 0;
}

/* The slot an id names, whatever its state, or NULL for a stale id. */
static struct ct_slot *ct_slot_of(struct k_captable *ct, uint32_t id)
{
    uint32_t i = id & CT_INDEX_MASK;
    uint32_t gen = id >> CT_INDEX_BITS;
    if (!ct->slots || i >= ct->nslots || gen == 0)
        return NULL;
    struct ct_slot *s = &ct->slots[i];
    if (s->gen != gen || s->state == CT_FREE)
        return NULL;
    return s;
}

/* Free a slot: bump its generation (skipping 0) and push it. */
static void ct_free_slot(struct k_captable *ct, struct ct_slot *s)
{
    uint32_t i = (uint32_t)(s - ct->slots);
    s->obj = NULL;
    s->badge = 0;
    s->iface = 0;
    s->state = CT_FREE;
    s->gen = s->gen == CT_GEN_MAX ? 1 : s->gen + 1;
    s->next_free = ct->free_head;
    ct->free_head = i;
}

/*
 * CAP_OP_RELEASE: drop a live slot. Returns 0, or CAP_ERR_INVOKE_FAILED for
 * an id that does not name a live slot (a slot reserved by an in-flight move
 * cannot be released until the move commits or rolls back).
 */
int ct_release(struct k_captable *ct, uint32_t id)
{
    struct ct_slot *s = ct_lookup(ct, id);
    if (!s)
        return CAP_ERR_INVOKE_FAILED;
    struct k_object *o = s->obj;
    ct->live--;
    ct_free_slot(ct, s);
    k_obj_unref(o);
    return 0;
}

/* Reserve a live slot for a move (abi.md §9): it can no longer be used,
 * released or transferred until ct_unreserve or ct_commit_move. */
int ct_reserve(struct k_captable *ct, uint32_t id)
{
    struct ct_slot *s = ct_lookup(ct, id);
    if (!s)
        return CAP_ERR_INVALID_TRANSFER;
    s->state = CT_RESERVED;
    ct->live--;
    ct->reserved++;
    return 0;
}

/* Roll a reserved slot back to live. */
void ct_unreserve(struct k_captable *ct, uint32_t id)
{
    struct ct_slot *s = ct_slot_of(ct, id);
    K_ASSERT(s && s->state == CT_RESERVED, "unreserve of unreserved slot");
    s->state = CT_LIVE;
    ct->reserved--;
    ct->live++;
}

/* Commit a move: the reserved slot is freed and its reference dropped. */
void ct_commit_move(struct k_captable *ct, uint32_t id)
{
    struct ct_slot *s = ct_slot_of(ct, id);
    K_ASSERT(s && s->state == CT_RESERVED, "commit of unreserved slot");
    struct k_object *o = s->obj;
    ct->reserved--;
    ct_free_slot(ct, s);
    k_obj_unref(o);
}

uint32_t ct_free_count(const struct k_captable *ct)
{
    return ct->nslots - ct->live - ct->reserved;
}

/*
 * Check the table's invariants: counts match slot states, every used slot
 * names an object with references, only client facets are typed, the free
 * list covers exactly the free slots. Returns 0 or -1. Used by tests and the
 * fuzzer after every input.
 */
int ct_check(const struct k_captable *ct)
{
    uint32_t live = 0, reserved = 0, free = 0;
    for (uint32_t i = 0; i < ct->nslots; i++) {
        const struct ct_slot *s = &ct->slots[i];
        if (s->gen == 0 || s->gen > CT_GEN_MAX)
            return -1;
        if (s->state == CT_LIVE)
            live++;
        else if (s->state == CT_RESERVED)
            reserved++;
        else if (s->state == CT_FREE)
            free++;
        else
            return -1;
        if (s->state != CT_FREE && (!s->obj || s->obj->refs == 0))
            return -1;
        if (s->state == CT_FREE && (s->obj || s->iface))
            return -1;
        /* Only a client facet is typed, never as ClientEndpoint (§8). */
        if (s->iface && (s->state == CT_FREE || !ep_is_client(s->obj) ||
                         s->iface == K_IFACE_CLIENT_ENDPOINT))
            return -1;
    }
    if (live != ct->live || reserved != ct->reserved)
        return -1;
    uint32_t n = 0;
    for (uint32_t i = ct->free_head; i != CT_NIL; i = ct->slots[i].next_free) {
        if (i >= ct->nslots || ct->slots[i].state != CT_FREE || ++n > free)
            return -1;
    }
    return n == free ? 0 : -1;
}
