/*
 * capset.c - a process's CapSet page: the named list of the caps it was
 * granted (include/capos/capset.h), written by boot and ProcessSpawner in
 * manifest order and read by the process through capos-rt.
 */
#include "kmodel.h"

/*
 * Append a named entry for cap_id to p's CapSet (manifest order), listing
 * the interface of the cap's object. Returns 0, or CAP_ERR_INVALID_REQUEST
 * for a bad name or id, CAP_ERR_QUEUE_FULL when the page is full.
 */
int k_capset_add(struct k_process *p, const char *name, uint32_t cap_id)
{
    return k_capset_add_as(p, name, cap_id, 0);
}

/*
 * As k_capset_add, but list interface_id (0: the object's own). Used for a
 * client endpoint facet of a typed service export, which speaks whatever
 * its server serves (docs/schema.md §4.2).
 */
int k_capset_add_as(struct k_process *p, const char *name, uint32_t cap_id,
                    uint64_t interface_id)
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
    e->interface_id = interface_id ? interface_id : s->obj->ops->interface_id;
    k_memcpy(e->name, name, n);
    h->count++;
    return 0;
}
