/*
 * object.c - reference counting shared by every kernel object.
 *
 * A reference is held by each capability slot naming the object, by each
 * prepared transfer and by kernel structures that point at it. The object's
 * destroy hook runs when the last reference goes.
 */
#include "kmodel.h"

void k_obj_init(struct k_object *o, const struct k_object_ops *ops,
                uint32_t flags)
{
    o->ops = ops;
    o->refs = 1;
    o->flags = flags;
    k.stats.objects_live++;
}

/* The last reference to o is gone (k_obj_unref): destroy it. */
void k_obj_destroy(struct k_object *o)
{
    k.stats.objects_live--;
    o->ops->destroy(o);
}

/*
 * Put a newly made object (its creation reference held by the caller) in
 * p's table and give that reference up: afterwards the slot is the only
 * holder, or, when the table is full (CAP_ERR_TRANSFER_REJECTED), the
 * object is destroyed. Returns 0 and the CapId, or that error.
 */
int k_obj_grant(struct k_process *p, struct k_object *o, uint32_t *out_id)
{
    int r = ct_insert(&p->caps, o, 0, out_id);
    k_obj_unref(o);
    return r;
}
