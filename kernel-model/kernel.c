/*
 * kernel.c - the kernel model's global state: start-up, shut-down, the
 * seeded random source and a few freestanding helpers.
 */
#include "capos/escape.h"
#include "kmodel.h"

struct kernel k;

/*
 * Bring the model up. cfg->seed drives every nondeterministic choice (a
 * seed of 0 is replaced by 1 so that the generator never sticks). Returns 0,
 * or CAP_ERR_INVOKE_FAILED if the model is already up or out of memory.
 */
int k_init(const struct k_config *cfg)
{
    if (k.up)
        return CAP_ERR_INVOKE_FAILED;
    k_memset(&k, 0, sizeof k);
    k.cfg = *cfg;
    k.rng = cfg->seed ? cfg->seed : 1;
    k.next_pid = 1;
    k.next_tid = 1;
    net_init();
    k.sched_ctx = port_ctx_self();
    k.scratch_params = port_alloc(
        CAP_MAX_PARAMS + CAP_XFER_MAX * sizeof(CapTransferDescriptor) + 8);
    k.scratch_result = port_alloc(CAP_MAX_RESULT);
    if (!k.scratch_params || !k.scratch_result) {
        port_free(k.scratch_params);
        port_free(k.scratch_result);
        return CAP_ERR_INVOKE_FAILED;
    }
    k.up = true;
    return 0;
}

/* The first live process on k.procs, or NULL. */
static struct k_process *first_alive(void)
{
    struct k_process *p = k.procs;
    while (p && p->state != KP_ALIVE)
        p = p->next;
    return p;
}

/*
 * Tear everything down: every process exits (releasing its caps, threads,
 * queued messages and arena) and is freed. Must be called from the host
 * context, not from a thread of the model.
 */
void k_shutdown(void)
{
    if (!k.up)
        return;
    K_ASSERT(k.current == NULL, "k_shutdown from inside a thread");
    /* An exit can reap other processes (a spawned child whose handle the
     * exiting process held), so the list is walked again from its head
     * after each one. */
    struct k_process *p;
    while ((p = first_alive()) != NULL)
        k_process_exit(p, -1);
    k_sched_reap();
    /* Every spawned process is gone now (its handle and threads were its
     * references); what is left was made by the host, which drops its
     * reference here. */
    while ((p = k.procs) != NULL) {
        K_ASSERT(p->host_ref && p->refs == 1,
                 "a process is still referenced at shutdown");
        p->host_ref = false;
        k_process_put(p); /* unlinks it */
    }
    ep_cache_drain();
    park_cache_drain();
    port_free(k.scratch_params);
    port_free(k.scratch_result);
    k.up = false;
}

/* splitmix64: small, full-period, good enough for scheduling choices. */
uint64_t k_random(void)
{
    uint64_t z = (k.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t k_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* Decimal rendering into buf (always NUL-terminated when cap > 0). */
void k_fmt_u64(char *buf, size_t cap, uint64_t v)
{
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t i = 0;
    while (n && i + 1 < cap)
        buf[i++] = tmp[--n];
    if (cap)
        buf[i] = 0;
}

void k_log(const char *msg)
{
    port_console_write(msg, k_strlen(msg));
}

/* ---- bounded messages for people (boot and spawn refusals) ----------- */

/* Append s[0..n), truncating at the buffer's end; always NUL-terminated
 * when cap > 0. */
void k_msg_put(struct k_msg *m, const char *s, size_t n)
{
    for (size_t i = 0; i < n && m->len + 1 < m->cap; i++)
        m->buf[m->len++] = s[i];
    if (m->cap)
        m->buf[m->len] = 0;
}

void k_msg_str(struct k_msg *m, const char *s)
{
    k_msg_put(m, s, k_strlen(s));
}

/*
 * Append s[0..n), text that came from input (a manifest, a caller's
 * params), escaped by capos_escape_text (lib/escape.c): a message quoting
 * it is printed on a console, and no byte of it may reach a terminal as a
 * control sequence. Cut at the buffer's end, never inside an escape.
 */
void k_msg_text(struct k_msg *m, const char *s, size_t n)
{
    char esc[5];
    for (size_t i = 0; i < n; i++) {
        capos_escape_text(esc, sizeof esc, &s[i], 1);
        size_t len = k_strlen(esc);
        if (m->len + len >= m->cap)
            break;
        k_msg_put(m, esc, len);
    }
}

void k_msg_u64(struct k_msg *m, uint64_t v)
{
    char tmp[24];
    k_fmt_u64(tmp, sizeof tmp, v);
    k_msg_str(m, tmp);
}

/* The model's counters, for the host's census and leak checks. */
const struct k_stats *k_census(void)
{
    return &k.stats;
}
