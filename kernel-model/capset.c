/*
 * capset.c - a process's CapSet page: the named list of the caps it was
 * granted (include/capos/capset.h), written by boot and ProcessSpawner in
 * manifest order and read by the process through capos-rt.
 */
#include "kmodel.h"

/*
 * Append a named entry for cap_id to p's CapSet (manifest order), listing
 * the interface the cap speaks (its slot's typed interface, else its
 * object's). Returns 0, or CAP_ERR_INVALID_REQUEST for a bad name or id,
 * CAP_ERR_QUEUE_FULL when the page is full.
 */
int k_capset_add(struct k_process *p, const char *name, uint32_t cap_id)
{
    struct ct_slot *s = ct_lookup(&p->caps, cap_id);
    size_t n = k_strlen(name);
    if (!s || n == 0 || n >= CAPOS_CAPSET_NAME_MAX)
        return CAP_ERR_INVALID_REQUEST;
    CapSetHeader *h = &p->capset->hdr;
    if (h->count >= CAPOS_CAPSET_MAX_ENTRIES)
        return CAP_ERR_QUEUE_FULL;
    CapSetEntry *e = &p->capset->entries[h->count];
    k_memset(e, 0, sizeof *e);
    e->cap_id = cap_id;
    e->interface_id = ct_slot_iface(s);
    k_memcpy(e->name, name, n);
    h->count++;
    return 0;
}

/*
 * As k_capset_add, but the entry speaks interface_id (0: the cap's own).
 * An untyped client facet is typed to it in its slot, so the CapSet, the
 * records of later transfers and the CALL check agree (docs/abi.md §8);
 * any other cap must already speak it. Returns 0, or
 * CAP_ERR_WRONG_INTERFACE when the cap speaks another interface, or an
 * error of k_capset_add (the slot is then left as it was).
 */
int k_capset_add_as(struct k_process *p, const char *name, uint32_t cap_id,
                    uint64_t interface_id)
{
    struct ct_slot *s = ct_lookup(&p->caps, cap_id);
    if (!s)
        return CAP_ERR_INVALID_REQUEST;
    uint64_t was = s->iface;
    if (interface_id && interface_id != ct_slot_iface(s)) {
        if (!ep_is_client(s->obj) || s->iface)
            return CAP_ERR_WRONG_INTERFACE;
        s->iface = interface_id;
    }
    int r = k_capset_add(p, name, cap_id);
    if (r < 0)
        s->iface = was;
    return r;
}
