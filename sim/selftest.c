/*
 * selftest.c - the boot self-test of capos-sim: two processes exercising
 * the ring end to end through the capOS syscalls only.
 *
 * The boot half (selftest_run) builds the processes, their caps and their
 * CapSets with the kernel model; the user half (the *_main functions) sees
 * nothing but include/capos/: the ring page, the CapSet page, cap_enter and
 * exit, as a capOS process would.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos/capset.h"
#include "capos/ring.h"
#include "capos/syscall.h"
#include "kmodel.h"
#include "selftest.h"

/* ---- user side -------------------------------------------------------- */

struct user {
    CapRing *ring;
    const CapSetPage *capset;
    uint8_t *heap;
    size_t heap_used;
    const char *who;
    int failures;
    int checks;
};

static void check(struct user *u, bool ok, const char *fmt, ...)
{
    va_list ap;
    u->checks++;
    if (ok)
        return;
    u->failures++;
    fprintf(stderr, "capos-sim: self-test: %s: FAILED: ", u->who);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void user_init(struct user *u, const char *who)
{
    memset(u, 0, sizeof *u);
    u->who = who;
    u->ring = capos_user_ptr(CAPOS_RING_VADDR);
    u->capset = capos_user_ptr(CAPOS_CAPSET_VADDR);
    u->heap = capos_user_ptr(CAPOS_HEAP_VADDR);
}

static void *user_alloc(struct user *u, size_t n)
{
    void *p = u->heap + u->heap_used;
    u->heap_used += (n + 15) & ~(size_t)15;
    memset(p, 0, n);
    return p;
}

/* Find an initial cap by name in the CapSet; 0 if absent. */
static uint32_t user_cap(struct user *u, const char *name)
{
    if (u->capset->hdr.magic != CAPOS_CAPSET_MAGIC)
        return 0;
    for (unsigned i = 0; i < u->capset->hdr.count; i++)
        if (strcmp(u->capset->entries[i].name, name) == 0)
            return u->capset->entries[i].cap_id;
    return 0;
}

static CapSqe *user_sqe(struct user *u, unsigned ahead)
{
    CapSqe *s = &u->ring->sq[(u->ring->hdr.sq_tail + ahead) &
                             (CAP_SQ_ENTRIES - 1)];
    memset(s, 0, sizeof *s);
    return s;
}

static void user_submit(struct user *u, unsigned n)
{
    __atomic_store_n(&u->ring->hdr.sq_tail, u->ring->hdr.sq_tail + n,
                     __ATOMIC_RELEASE);
}

static bool user_cqe(struct user *u, CapCqe *out)
{
    uint32_t tail = __atomic_load_n(&u->ring->hdr.cq_tail, __ATOMIC_ACQUIRE);
    if (u->ring->hdr.cq_head == tail)
        return false;
    *out = u->ring->cq[u->ring->hdr.cq_head & (CAP_CQ_ENTRIES - 1)];
    __atomic_store_n(&u->ring->hdr.cq_head, u->ring->hdr.cq_head + 1,
                     __ATOMIC_RELEASE);
    return true;
}

/* Submit one SQE and wait for its CQE. */
static CapCqe user_call(struct user *u, const CapSqe *sqe)
{
    *user_sqe(u, 0) = *sqe;
    user_submit(u, 1);
    CapCqe c = {.result = CAP_ERR_INVOKE_FAILED};
    capos_cap_enter(1, CAP_TIMEOUT_INFINITE);
    if (!user_cqe(u, &c))
        check(u, false, "no CQE after cap_enter(1)");
    return c;
}

static struct user server_user, client_user;

/* Serves two calls on "service": echoes the params reversed and returns a
 * cap it received to the caller. */
static void server_main(void *arg)
{
    (void)arg;
    struct user *u = &server_user;
    user_init(u, "server");
    uint32_t ep = user_cap(u, "service");
    check(u, ep != 0, "CapSet has no \"service\" cap");
    uint8_t *buf = user_alloc(u, 512);
    for (int round = 0; round < 2; round++) {
        CapSqe s = {.opcode = CAP_OP_RECV,
                    .cap_id = ep,
                    .user_data = 100 + round,
                    .result_addr = capos_user_vaddr(buf),
                    .result_len = 512};
        CapCqe c = user_call(u, &s);
        check(u, c.result >= (int)sizeof(EndpointMessageHeader),
              "RECV result %d", c.result);
        if (c.result < (int)sizeof(EndpointMessageHeader))
            capos_exit(1);
        EndpointMessageHeader h;
        memcpy(&h, buf, sizeof h);
        check(u, c.badge == 0x5e1f && h.badge == 0x5e1f,
              "server sees badge %#llx, want 0x5e1f",
              (unsigned long long)c.badge);
        uint8_t *reply = user_alloc(u, 256);
        for (uint32_t i = 0; i < h.params_len && i < 128; i++)
            reply[i] = buf[sizeof h + h.params_len - 1 - i];
        CapTransferDescriptor *d =
            (CapTransferDescriptor *)(reply + CAP_ALIGN8(h.params_len));
        const CapTransferResult *rec =
            (const CapTransferResult *)(buf + CAP_ALIGN8(sizeof h +
                                                         h.params_len));
        uint16_t nx = 0;
        if (h.cap_count == 1) {
            d->cap_id = rec->cap_id;
            d->mode = CAP_XFER_MOVE;
            nx = 1;
        }
        s = (CapSqe){.opcode = CAP_OP_RETURN,
                     .cap_id = ep,
                     .call_id = h.call_id,
                     .addr = capos_user_vaddr(reply),
                     .len = h.params_len,
                     .xfer_cap_count = nx,
                     .user_data = 200 + round};
        c = user_call(u, &s);
        check(u, c.result == 0, "RETURN result %d", c.result);
    }
    capos_exit(u->failures ? 1 : 0);
}

static void client_main(void *arg)
{
    (void)arg;
    struct user *u = &client_user;
    user_init(u, "client");
    uint32_t null = user_cap(u, "null");
    uint32_t svc = user_cap(u, "service");
    check(u, null && svc, "CapSet lacks \"null\" or \"service\"");

    /* 16 NOPs in one batch, completed in order. */
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++) {
        CapSqe *s = user_sqe(u, i);
        s->opcode = CAP_OP_NOP;
        s->user_data = i;
    }
    user_submit(u, CAP_SQ_ENTRIES);
    int n = capos_cap_enter(CAP_SQ_ENTRIES, CAP_TIMEOUT_INFINITE);
    check(u, n == CAP_SQ_ENTRIES, "cap_enter returned %d for 16 NOPs", n);
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++) {
        CapCqe c;
        bool got = user_cqe(u, &c);
        check(u, got && c.user_data == i && c.result == 0,
              "NOP %u completion", i);
    }

    /* Null cap: call, echo, mint. */
    CapSqe s = {.opcode = CAP_OP_CALL, .cap_id = null, .user_data = 1};
    check(u, user_call(u, &s).result == 0, "NullCap.call");
    char *in = user_alloc(u, 32), *out = user_alloc(u, 32);
    strcpy(in, "hello, ring");
    s = (CapSqe){.opcode = CAP_OP_CALL,
                 .cap_id = null,
                 .method_id = 1,
                 .addr = capos_user_vaddr(in),
                 .len = 11,
                 .result_addr = capos_user_vaddr(out),
                 .result_len = 32};
    CapCqe c = user_call(u, &s);
    check(u, c.result == 11 && memcmp(out, "hello, ring", 11) == 0,
          "NullCap.echo result %d", c.result);
    CapTransferResult *rec = user_alloc(u, sizeof *rec);
    s = (CapSqe){.opcode = CAP_OP_CALL,
                 .cap_id = null,
                 .method_id = 2,
                 .result_addr = capos_user_vaddr(rec),
                 .result_len = sizeof *rec};
    c = user_call(u, &s);
    check(u, c.result == 0 && c.cap_count == 1 &&
                 rec->interface_id == K_IFACE_NULLCAP,
          "NullCap.mint result %d caps %u", c.result, c.cap_count);
    uint32_t minted = rec->cap_id;

    /* A malformed SQE gets an error CQE. */
    s = (CapSqe){.opcode = 0x42, .user_data = 9};
    c = user_call(u, &s);
    check(u, c.result == CAP_ERR_INVALID_REQUEST && c.user_data == 9,
          "unknown opcode gives %d", c.result);
    s = (CapSqe){.opcode = CAP_OP_CALL, .cap_id = minted + 1};
    check(u, user_call(u, &s).result == CAP_ERR_INVOKE_FAILED,
          "stale cap id");

    /* Endpoint round trip, then again moving the minted cap through the
     * server and back. */
    for (int round = 0; round < 2; round++) {
        char *msg = user_alloc(u, 64);
        char *res = user_alloc(u, 64);
        strcpy(msg, "stressed");
        CapTransferDescriptor *d = (CapTransferDescriptor *)(msg + 8);
        d->cap_id = minted;
        d->mode = CAP_XFER_MOVE;
        s = (CapSqe){.opcode = CAP_OP_CALL,
                     .cap_id = svc,
                     .method_id = 0,
                     .addr = capos_user_vaddr(msg),
                     .len = 8,
                     .xfer_cap_count = round == 1,
                     .result_addr = capos_user_vaddr(res),
                     .result_len = 64,
                     .user_data = 50 + round};
        c = user_call(u, &s);
        check(u, c.result == 8 && memcmp(res, "desserts", 8) == 0,
              "endpoint round trip %d: result %d", round, c.result);
        if (round == 1) {
            const CapTransferResult *back =
                (const CapTransferResult *)(res + 8);
            check(u, c.cap_count == 1 &&
                         back->interface_id == K_IFACE_NULLCAP,
                  "moved cap came back (%u caps)", c.cap_count);
            s = (CapSqe){.opcode = CAP_OP_CALL, .cap_id = back->cap_id};
            check(u, user_call(u, &s).result == 0, "returned cap works");
            s = (CapSqe){.opcode = CAP_OP_CALL, .cap_id = minted};
            check(u, user_call(u, &s).result == CAP_ERR_INVOKE_FAILED,
                  "moved-away id is dead");
        }
    }

    /* cap_enter with nothing to complete times out. */
    n = capos_cap_enter(1, 2 * 1000 * 1000);
    check(u, n == 0, "cap_enter timeout returned %d", n);
    capos_exit(u->failures ? 1 : 0);
}

/* ---- boot side -------------------------------------------------------- */

static struct k_process *spawn(const char *name)
{
    struct k_process_opts o = {.name = name, .arena_size = 1u << 20,
                               .max_threads = 2};
    struct k_process *p = k_process_create(&o);
    if (!p) {
        fprintf(stderr, "capos-sim: self-test: cannot create process %s\n",
                name);
    }
    return p;
}

/*
 * Run the self-test on a model that is up. Prints one line per process and
 * a summary. Returns 0 if every check passed and nothing leaked, 1
 * otherwise.
 */
int selftest_run(void)
{
    struct k_process *srv = spawn("selftest-server");
    struct k_process *cli = spawn("selftest-client");
    if (!srv || !cli)
        return 1;
    uint32_t raw, facet, null;
    if (ep_create(srv, &raw) || k_capset_add(srv, "service", raw) ||
        ep_mint_client(srv, raw, cli, 0x5e1f, &facet) ||
        k_capset_add(cli, "service", facet) || nullcap_grant(cli, &null) ||
        k_capset_add(cli, "null", null)) {
        fprintf(stderr, "capos-sim: self-test: cannot grant caps\n");
        return 1;
    }
    if (k_thread_create(srv, server_main, NULL, NULL) ||
        k_thread_create(cli, client_main, NULL, NULL)) {
        fprintf(stderr, "capos-sim: self-test: cannot start threads\n");
        return 1;
    }
    unsigned stuck = k_run();
    int failures = server_user.failures + client_user.failures;
    int checks = server_user.checks + client_user.checks;
    printf("capos-sim: self-test: %s exited %lld, %s exited %lld\n",
           srv->name, (long long)srv->exit_code, cli->name,
           (long long)cli->exit_code);
    if (stuck) {
        fprintf(stderr, "capos-sim: self-test: %u threads blocked forever\n",
                stuck);
        failures++;
    }
    if (srv->exit_code || cli->exit_code)
        failures++;
    printf("capos-sim: self-test: %llu SQEs, %llu CQEs, %llu switches\n",
           (unsigned long long)k.stats.sqes, (unsigned long long)k.stats.cqes,
           (unsigned long long)k.stats.switches);
    if (failures) {
        printf("capos-sim: self-test FAILED: %d of %d checks\n", failures,
               checks);
        return 1;
    }
    printf("capos-sim: self-test passed: %d checks\n", checks);
    return 0;
}
