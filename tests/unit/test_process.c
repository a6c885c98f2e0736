/*
 * test_process.c - processes (kernel-model/process.c): the user arena and
 * its address checks, the CapSet page, creation options, and exit.
 *
 * Model threads never call cmocka asserts (a failing assert would longjmp
 * out of the fiber): they record what they see and the test body asserts
 * after k_run() returns.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define SEC 1000000000ull

/* Write one SQE and publish it, from inside a model thread (no asserts). */
static void push_sqe(struct k_process *p, const CapSqe *sqe)
{
    CapRingHeader *h = &p->ring->hdr;
    p->ring->sq[h->sq_tail & (CAP_SQ_ENTRIES - 1)] = *sqe;
    __atomic_store_n(&h->sq_tail, h->sq_tail + 1, __ATOMIC_RELEASE);
}

/* ---- the arena ------------------------------------------------------- */

static void arena_maps_the_ring_then_the_capset_at_fixed_addresses(void **state)
{
    (void)state;
    struct k_process *p = h_proc("layout", 0);
    assert_int_equal(p->arena_size, 4u << 20);
    assert_ptr_equal(p->ring, p->arena);
    assert_ptr_equal(k_user_ptr(p, CAPOS_RING_VADDR, CAPOS_PAGE_SIZE), p->ring);
    assert_ptr_equal(k_user_ptr(p, CAPOS_CAPSET_VADDR, CAPOS_PAGE_SIZE),
                     p->capset);
    assert_ptr_equal((uint8_t *)p->capset, p->arena + CAPOS_PAGE_SIZE);
    assert_int_equal(k_user_vaddr(p, p->ring), CAPOS_RING_VADDR);
    assert_int_equal(k_user_vaddr(p, p->capset), CAPOS_CAPSET_VADDR);
    assert_int_equal(k_user_vaddr(p, p->arena + 0x2345),
                     CAPOS_ARENA_VADDR + 0x2345);
    int outside;
    assert_int_equal(k_user_vaddr(p, &outside), 0);

    const CapRingHeader *h = &p->ring->hdr;
    assert_int_equal(h->sq_entries, CAP_SQ_ENTRIES);
    assert_int_equal(h->cq_entries, CAP_CQ_ENTRIES);
    assert_int_equal(h->sq_head, 0);
    assert_int_equal(h->sq_tail, 0);
    assert_int_equal(h->cq_head, 0);
    assert_int_equal(h->cq_tail, 0);
    assert_int_equal(h->flags, 0);

    const CapSetHeader *c = &p->capset->hdr;
    assert_int_equal(c->magic, CAPOS_CAPSET_MAGIC);
    assert_int_equal(c->version, CAPOS_CAPSET_VERSION);
    assert_int_equal(c->entry_size, sizeof(CapSetEntry));
    assert_int_equal(c->count, 0);
    assert_string_equal(p->name, "layout");
    assert_int_equal(p->state, KP_ALIVE);
}

static void process_names_longer_than_the_field_are_truncated(void **state)
{
    (void)state;
    const char *long_name = "a-process-name-much-longer-than-thirty-one-bytes";
    struct k_process *p = h_proc(long_name, 0);
    assert_int_equal(strlen(p->name), sizeof p->name - 1);
    assert_memory_equal(p->name, long_name, sizeof p->name - 1);
    struct k_process_opts o = {0};
    struct k_process *q = k_process_create(&o);
    assert_non_null(q);
    assert_string_equal(q->name, "process");
    assert_int_not_equal(p->pid, q->pid);
}

static void user_ptr_accepts_exactly_the_arena(void **state)
{
    (void)state;
    struct k_process *p = h_proc("bounds", 0);
    const uint64_t base = CAPOS_ARENA_VADDR, size = p->arena_size;
    const uint64_t end = base + size;

    assert_ptr_equal(k_user_ptr(p, base, size), p->arena);
    assert_ptr_equal(k_user_ptr(p, end - 1, 1), p->arena + size - 1);
    /* len 0 right at the end names no byte outside: allowed. */
    assert_ptr_equal(k_user_ptr(p, end, 0), p->arena + size);

    assert_null(k_user_ptr(p, base - 1, 1)); /* below the base */
    assert_null(k_user_ptr(p, base - 1, 0));
    assert_null(k_user_ptr(p, 0, 0));
    assert_null(k_user_ptr(p, base, size + 1)); /* one byte too long */
    assert_null(k_user_ptr(p, end - 1, 2));     /* straddles the end */
    assert_null(k_user_ptr(p, end, 1));         /* just past the end */
    assert_null(k_user_ptr(p, end + 1, 0));
    /* vaddr + len would wrap around 2^64 back into the arena. */
    assert_null(k_user_ptr(p, base + 16, UINT64_MAX - 8));
    assert_null(k_user_ptr(p, base + 16, UINT64_MAX));
    assert_null(k_user_ptr(p, UINT64_MAX - 3, 8));
    assert_null(k_user_ptr(p, UINT64_MAX, 0));
    assert_null(k_user_ptr(p, UINT64_MAX, UINT64_MAX));
}

static void user_buf_refuses_the_ring_and_capset_pages(void **state)
{
    (void)state;
    struct k_process *p = h_proc("bufs", 0);
    const uint64_t size = p->arena_size;
    const uint64_t end = CAPOS_ARENA_VADDR + size;

    assert_null(k_user_buf(p, CAPOS_RING_VADDR, 1));
    assert_null(k_user_buf(p, CAPOS_RING_VADDR, 0));
    assert_null(k_user_buf(p, CAPOS_RING_VADDR + 0x40, 64)); /* an SQE */
    assert_null(k_user_buf(p, CAPOS_CAPSET_VADDR, 1));
    assert_null(k_user_buf(p, CAPOS_CAPSET_VADDR + 4095, 1));
    assert_null(k_user_buf(p, CAPOS_HEAP_VADDR - 1, 2)); /* straddles */
    assert_null(k_user_buf(p, CAPOS_ARENA_VADDR - 4096, 8192));

    assert_ptr_equal(k_user_buf(p, CAPOS_HEAP_VADDR, 1),
                     p->arena + 2 * CAPOS_PAGE_SIZE);
    assert_non_null(k_user_buf(p, CAPOS_HEAP_VADDR, 0));
    assert_non_null(
        k_user_buf(p, CAPOS_HEAP_VADDR, size - 2 * CAPOS_PAGE_SIZE));
    assert_null(
        k_user_buf(p, CAPOS_HEAP_VADDR, size - 2 * CAPOS_PAGE_SIZE + 1));
    assert_non_null(k_user_buf(p, end, 0));
    assert_null(k_user_buf(p, end, 1));
    assert_null(k_user_buf(p, end + 4096, 0));
    assert_null(k_user_buf(p, CAPOS_HEAP_VADDR + 8, UINT64_MAX - 4));
    assert_null(k_user_buf(p, UINT64_MAX - 7, 16));
}

static void ring_refuses_a_result_buffer_in_the_capset_page(void **state)
{
    (void)state;
    struct k_process *p = h_proc("rbuf", 0);
    uint32_t id;
    assert_int_equal(nullcap_grant(p, &id), 0);
    CapSqe call = h_call(id, 0, 1);
    call.result_addr = CAPOS_CAPSET_VADDR;
    call.result_len = 16;
    CapCqe c = h_one(p, &call);
    assert_int_equal(c.result, CAP_ERR_INVALID_RESULT_BUFFER);
    assert_int_equal(p->capset->hdr.magic, CAPOS_CAPSET_MAGIC);
}

/* ---- the CapSet page ------------------------------------------------- */

static void capset_lists_names_and_interface_ids_in_manifest_order(void **state)
{
    (void)state;
    struct k_process *p = h_proc("capset", 0);
    struct k_process *other = h_proc("peer", 0);
    uint32_t nul, raw, client;
    assert_int_equal(nullcap_grant(p, &nul), 0);
    assert_int_equal(ep_create(p, &raw), 0);
    assert_int_equal(ep_mint_client(p, raw, p, 0, &client), 0);
    (void)other;

    assert_int_equal(k_capset_add(p, "endpoint", raw), 0);
    assert_int_equal(k_capset_add(p, "null", nul), 0);
    assert_int_equal(k_capset_add(p, "client", client), 0);

    const CapSetPage *cs = p->capset;
    assert_int_equal(cs->hdr.count, 3);
    assert_int_equal(cs->entries[0].cap_id, raw);
    assert_int_equal(cs->entries[0].interface_id, K_IFACE_ENDPOINT);
    assert_string_equal(cs->entries[0].name, "endpoint");
    assert_int_equal(cs->entries[1].cap_id, nul);
    assert_int_equal(cs->entries[1].interface_id, K_IFACE_NULLCAP);
    assert_string_equal(cs->entries[1].name, "null");
    assert_int_equal(cs->entries[2].cap_id, client);
    assert_int_equal(cs->entries[2].interface_id, K_IFACE_CLIENT_ENDPOINT);
    assert_string_equal(cs->entries[2].name, "client");

    /* NUL-padded names and zero reserved fields. */
    static const char zeros[CAPOS_CAPSET_NAME_MAX];
    for (unsigned i = 0; i < 3; i++) {
        const CapSetEntry *e = &cs->entries[i];
        size_t n = strlen(e->name);
        assert_memory_equal(e->name + n, zeros, CAPOS_CAPSET_NAME_MAX - n);
        assert_int_equal(e->reserved, 0);
    }
    assert_int_equal(cs->entries[3].cap_id, 0);
    assert_int_equal(cs->entries[3].name[0], 0);
}

static void capset_rejects_bad_names_and_ids(void **state)
{
    (void)state;
    struct k_process *p = h_proc("capset-bad", 0);
    uint32_t id, gone, moving;
    assert_int_equal(nullcap_grant(p, &id), 0);
    assert_int_equal(nullcap_grant(p, &gone), 0);
    assert_int_equal(ct_release(&p->caps, gone), 0);
    assert_int_equal(nullcap_grant(p, &moving), 0);
    assert_int_equal(ct_reserve(&p->caps, moving), 0);

    char longest[CAPOS_CAPSET_NAME_MAX];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = 0; /* 47 bytes: fits with its NUL */
    char too_long[CAPOS_CAPSET_NAME_MAX + 1];
    memset(too_long, 'y', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = 0; /* 48 bytes: no room for the NUL */

    assert_int_equal(k_capset_add(p, "", id), CAP_ERR_INVALID_REQUEST);
    assert_int_equal(k_capset_add(p, too_long, id), CAP_ERR_INVALID_REQUEST);
    assert_int_equal(k_capset_add(p, "stale", gone), CAP_ERR_INVALID_REQUEST);
    assert_int_equal(k_capset_add(p, "zero", 0), CAP_ERR_INVALID_REQUEST);
    assert_int_equal(k_capset_add(p, "index", id & CT_INDEX_MASK),
                     CAP_ERR_INVALID_REQUEST);
    assert_int_equal(k_capset_add(p, "moving", moving),
                     CAP_ERR_INVALID_REQUEST);
    assert_int_equal(p->capset->hdr.count, 0);
    assert_int_equal(p->capset->entries[0].cap_id, 0);

    assert_int_equal(k_capset_add(p, longest, id), 0);
    assert_int_equal(p->capset->hdr.count, 1);
    assert_string_equal(p->capset->entries[0].name, longest);
    assert_int_equal(p->capset->entries[0].name[CAPOS_CAPSET_NAME_MAX - 1], 0);
    ct_unreserve(&p->caps, moving);
}

static void capset_add_beyond_a_full_page_is_refused(void **state)
{
    (void)state;
    struct k_process *p = h_proc("capset-full", 0);
    uint32_t id;
    assert_int_equal(nullcap_grant(p, &id), 0);
    char name[16];
    for (unsigned i = 0; i < CAPOS_CAPSET_MAX_ENTRIES; i++) {
        snprintf(name, sizeof name, "cap%u", i);
        assert_int_equal(k_capset_add(p, name, id), 0);
    }
    assert_int_equal(p->capset->hdr.count, CAPOS_CAPSET_MAX_ENTRIES);
    assert_int_equal(k_capset_add(p, "one-too-many", id), CAP_ERR_QUEUE_FULL);
    assert_int_equal(p->capset->hdr.count, CAPOS_CAPSET_MAX_ENTRIES);
    assert_string_equal(p->capset->entries[CAPOS_CAPSET_MAX_ENTRIES - 1].name,
                        "cap62");
    /* Nothing spilled into the first heap page after the CapSet. */
    static const uint8_t zeros[256];
    assert_memory_equal(p->arena + 2 * CAPOS_PAGE_SIZE, zeros, sizeof zeros);
}

/* ---- creation options ------------------------------------------------ */

static void process_create_rejects_bad_options(void **state)
{
    (void)state;
    uint32_t procs = k.stats.processes_live;
    struct k_process *list = k.procs;
    const struct k_process_opts bad[] = {
        /* more threads than the 32-bit stack bitmap can hold */
        {.max_threads = 33},
        {.max_threads = 33, .arena_size = 64u << 20, .stack_size = 16 << 10},
        /* a stack below 16 KiB */
        {.stack_size = 8 << 10},
        /* 8 default 128 KiB stacks and 3 pages do not fit 1 MiB */
        {.arena_size = 1u << 20},
        /* an arena above 1 GiB */
        {.arena_size = 0x40001000u},
        /* more slots than a CapId index can name */
        {.cap_slots = CT_SLOTS_MAX + 1},
        /* one stack and 3 pages, a page short */
        {.arena_size = 2 * CAPOS_PAGE_SIZE + (16 << 10),
         .max_threads = 1,
         .stack_size = 16 << 10},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct k_process *p = k_process_create(&bad[i]);
        if (p)
            fail_msg("bad option set %u was accepted (pid %u)", i, p->pid);
    }
    assert_int_equal(k.stats.processes_live, procs);
    assert_ptr_equal(k.procs, list);

    /* The tightest valid arena is accepted. */
    struct k_process_opts tight = {
        .arena_size = 3 * CAPOS_PAGE_SIZE + (16 << 10),
        .max_threads = 1,
        .stack_size = 16 << 10,
    };
    struct k_process *p = k_process_create(&tight);
    assert_non_null(p);
    assert_int_equal(p->arena_size, tight.arena_size);
    assert_int_equal(k_process_check(p), 0);
}

static void process_create_rejects_stacks_whose_total_overflows(void **state)
{
    (void)state;
    uint32_t procs = k.stats.processes_live;
    /* 16 x 2^60 bytes of stack wraps size_t to 0, and a stack of nearly
     * 2^64 bytes wraps when the three fixed pages are added: neither fits a
     * 4 MiB arena and both must be refused. */
    const struct k_process_opts bad[] = {
        {.max_threads = 16, .stack_size = (size_t)1 << 60},
        {.max_threads = 1, .stack_size = SIZE_MAX - 8191},
    };
    unsigned accepted = 0;
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct k_process *p = k_process_create(&bad[i]);
        if (p) {
            print_error("option set %u accepted: %u threads x %zu-byte "
                        "stacks in a %zu-byte arena\n",
                        i, p->max_threads, p->stack_size, p->arena_size);
            accepted++;
        }
    }
    assert_int_equal(accepted, 0);
    assert_int_equal(k.stats.processes_live, procs);
}

/* ---- exit ------------------------------------------------------------ */

static void process_exit_releases_every_cap(void **state)
{
    (void)state;
    struct k_process *server = h_proc("server", 0);
    uint32_t srv_raw;
    assert_int_equal(ep_create(server, &srv_raw), 0);
    uint32_t baseline = k.stats.objects_live;
    uint32_t procs = k.stats.processes_live;

    struct k_process *p = h_proc("holder", 0);
    uint32_t ids[4], raw, client;
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(nullcap_grant(p, &ids[i]), 0);
    assert_int_equal(ep_create(p, &raw), 0);
    assert_int_equal(ep_mint_client(server, srv_raw, p, 5, &client), 0);
    assert_int_equal(ep_mint_client(server, srv_raw, p, 6, &client), 0);
    assert_int_equal(h_live(p), 7);
    assert_int_equal(k.stats.objects_live, baseline + 6); /* + client facet */

    k_process_exit(p, 17);
    assert_int_equal(p->state, KP_DEAD);
    assert_int_equal(p->exit_code, 17);
    assert_int_equal(k.stats.objects_live, baseline);
    assert_int_equal(k.stats.processes_live, procs);
    assert_null(p->caps.slots);
    assert_int_equal(ct_free_count(&p->caps), 0);
    /* The server's endpoint is still there and still its own. */
    assert_non_null(ct_lookup(&server->caps, srv_raw));

    /* A second exit changes nothing. */
    k_process_exit(p, 99);
    assert_int_equal(p->exit_code, 17);
    assert_int_equal(k.stats.processes_live, procs);
    /* And the dead process's ring takes no more work. */
    assert_int_equal(k_cap_enter(p, 0, 0), CAP_ERR_INVOKE_FAILED);
}

static int ran[4];

static void blocks_forever(void *arg)
{
    ran[(intptr_t)arg] = 1;
    k_thread_wait(UINT64_MAX);
    ran[(intptr_t)arg] = 2; /* never: the process dies first */
}

static void process_exit_kills_blocked_and_runnable_threads(void **state)
{
    (void)state;
    memset(ran, 0, sizeof ran);
    struct k_process *p = h_proc("killed", 0);
    assert_int_equal(k_thread_create(p, blocks_forever, (void *)0, NULL), 0);
    assert_int_equal(k_thread_create(p, blocks_forever, (void *)1, NULL), 0);
    assert_int_equal(k_run(), 2);
    assert_int_equal(k_thread_create(p, blocks_forever, (void *)2, NULL), 0);
    assert_int_equal(k.stats.threads_live, 3);

    k_process_exit(p, 5);
    assert_int_equal(k.stats.threads_live, 0);
    assert_int_equal(p->nthreads, 0);
    assert_null(k.rq_head);
    assert_int_equal(k_process_check(p), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(ran[0], 1);
    assert_int_equal(ran[1], 1);
    assert_int_equal(ran[2], 0); /* killed before it ever ran */
}

/* k_run is the scheduler; once it reports everything finished, the dead
 * threads' contexts and stack slots should be gone, not parked until the
 * next dispatch or k_shutdown. */
static void run_frees_threads_killed_by_a_host_side_process_exit(void **state)
{
    (void)state;
    memset(ran, 0, sizeof ran);
    struct k_process *p = h_proc("reaped", 0);
    assert_int_equal(k_thread_create(p, blocks_forever, (void *)0, NULL), 0);
    assert_int_equal(k_thread_create(p, blocks_forever, (void *)1, NULL), 0);
    assert_int_equal(k_run(), 2);
    k_process_exit(p, 5);
    assert_int_equal(k_run(), 0);
    assert_null(k.dead);
    assert_null(p->threads);
    assert_int_equal(p->stack_used, 0);
    assert_int_equal(p->refs, 1); /* only the host's (creator's) */
}

/* A thread with a RECV pending on its own endpoint and a completed CALL
 * waits for two completions with a 5 s timeout. */
static struct k_process *waiting;
static uint32_t waiting_raw, waiting_null;
static int waiting_ret;

static void recv_call_and_wait(void *arg)
{
    (void)arg;
    CapSqe recv = {.opcode = CAP_OP_RECV,
                   .cap_id = waiting_raw,
                   .user_data = 1,
                   .result_addr = CAPOS_HEAP_VADDR + 0x100,
                   .result_len = 256};
    CapSqe call = h_call(waiting_null, 0, 2);
    push_sqe(waiting, &recv);
    push_sqe(waiting, &call);
    waiting_ret = k_sys_cap_enter(2, 5 * SEC);
}

/* Another process's thread ends the waiting process and records what it
 * sees before and after. */
static struct k_thread *waiting_thread;
static struct {
    int blocked, registered, recv_pending;
    uint64_t deadline;
    int waiter_cleared, recvs_cleared, calls_cleared, disarmed;
    uint32_t objects_after, threads_after;
    int check_after;
} seen;

static void kills_the_waiting_process(void *arg)
{
    (void)arg;
    seen.blocked = waiting_thread->state == KT_BLOCKED;
    seen.registered = waiting->rs.waiter == waiting_thread;
    seen.recv_pending = waiting->recvs_out != NULL;
    seen.deadline = k_timer_next_deadline();
    k_process_exit(waiting, 9);
    seen.waiter_cleared = waiting->rs.waiter == NULL;
    seen.recvs_cleared = waiting->recvs_out == NULL;
    seen.calls_cleared = waiting->calls_out == NULL;
    seen.disarmed = k_timer_next_deadline() == UINT64_MAX;
    seen.objects_after = k.stats.objects_live;
    seen.threads_after = k.stats.threads_live; /* this thread only */
    seen.check_after = k_process_check(waiting);
}

static void
process_exit_while_its_thread_waits_in_cap_enter_leaves_nothing(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    seen.check_after = 1000;
    uint32_t baseline = k.stats.objects_live;
    waiting_ret = 1000;
    waiting = h_proc("waiting", 0);
    struct k_process *killer = h_proc("killer", 0);
    assert_int_equal(ep_create(waiting, &waiting_raw), 0);
    assert_int_equal(nullcap_grant(waiting, &waiting_null), 0);
    assert_int_equal(
        k_thread_create(waiting, recv_call_and_wait, NULL, &waiting_thread), 0);
    assert_int_equal(
        k_thread_create(killer, kills_the_waiting_process, NULL, NULL), 0);
    assert_int_equal(k_run(), 0);

    assert_true(seen.blocked);
    assert_true(seen.registered);
    assert_true(seen.recv_pending);
    assert_int_equal(seen.deadline, 5 * SEC);
    assert_true(seen.waiter_cleared);
    assert_true(seen.recvs_cleared);
    assert_true(seen.calls_cleared);
    assert_true(seen.disarmed);
    assert_int_equal(seen.objects_after, baseline);
    assert_int_equal(seen.threads_after, 1);
    assert_int_equal(seen.check_after, 0);

    /* The waiter never came back, and the clock never jumped to its
     * deadline: nothing was left to wait for. */
    assert_int_equal(waiting_ret, 1000);
    assert_int_equal(k_now(), 0);
    assert_int_equal(waiting->state, KP_DEAD);
    assert_int_equal(waiting->exit_code, 9);
    assert_null(waiting->threads);
    assert_int_equal(killer->state, KP_DEAD);
    assert_int_equal(k.stats.threads_live, 0);
    assert_int_equal(k.stats.objects_live, baseline);
}

/* A client waits in cap_enter for the reply to a CALL its server has
 * received; the server process exits. */
static struct k_process *cli;
static uint32_t cli_cap;
static int cli_ret;
static CapCqe cli_cqe;

static void client_calls_and_waits(void *arg)
{
    (void)arg;
    CapSqe call = h_call(cli_cap, 3, 0xca11);
    push_sqe(cli, &call);
    cli_ret = k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
    CapRingHeader *h = &cli->ring->hdr;
    if (h->cq_head != h->cq_tail)
        cli_cqe = cli->ring->cq[h->cq_head++ & (CAP_CQ_ENTRIES - 1)];
}

/* A server process with a raw endpoint (*raw) and the client cli, holding
 * a facet of it with badge, blocked in client_calls_and_waits with its
 * CALL queued; returns the server. */
static struct k_process *server_with_waiting_client(uint64_t badge,
                                                    uint32_t *raw)
{
    cli_ret = 1000;
    memset(&cli_cqe, 0, sizeof cli_cqe);
    struct k_process *srv = h_proc("server", 0);
    cli = h_proc("client", 0);
    assert_int_equal(ep_create(srv, raw), 0);
    assert_int_equal(ep_mint_client(srv, *raw, cli, badge, &cli_cap), 0);
    assert_int_equal(k_thread_create(cli, client_calls_and_waits, NULL, NULL),
                     0);
    assert_int_equal(k_run(), 1);
    return srv;
}

static void server_exit_wakes_a_client_waiting_on_its_call(void **state)
{
    (void)state;
    uint32_t raw;
    /* The client blocks with its call queued... */
    struct k_process *srv = server_with_waiting_client(0xb, &raw);
    /* ...the server receives it from the host side... */
    uint8_t *buf;
    CapSqe recv = h_recv(srv, raw, 4, 256, &buf);
    CapCqe c = h_one(srv, &recv);
    assert_int_equal(c.result, (int)sizeof(EndpointMessageHeader));
    assert_int_equal(c.badge, 0xb);
    /* ...and exits without returning. */
    k_process_exit(srv, 1);
    assert_int_equal(k_run(), 0);
    assert_int_equal(cli_ret, 1);
    assert_int_equal(cli_cqe.user_data, 0xca11);
    assert_int_equal(cli_cqe.result, CAP_ERR_DISCONNECTED);
    assert_int_equal(cli->state, KP_DEAD); /* its only thread finished */
}

static void client_exit_withdraws_its_queued_call(void **state)
{
    (void)state;
    uint32_t raw;
    struct k_process *srv = server_with_waiting_client(0xc, &raw);
    assert_non_null(cli->calls_out);

    k_process_exit(cli, 2);
    assert_null(cli->calls_out);
    assert_int_equal(k_run(), 0);
    assert_int_equal(cli_ret, 1000);

    /* The server finds nothing to receive: its RECV stays pending. */
    uint8_t *buf;
    CapSqe *s = h_sqe(srv);
    *s = h_recv(srv, raw, 4, 256, &buf);
    h_submit(srv);
    assert_int_equal(h_enter(srv), 0);
    CapCqe c;
    assert_false(h_cqe(srv, &c));
    assert_non_null(srv->recvs_out);
    assert_int_equal(k_process_check(srv), 0);
}

/* ---- the invariant checker ------------------------------------------- */

static void process_check_passes_on_fresh_and_exited_processes(void **state)
{
    (void)state;
    struct k_process *p = h_proc("checked", 0);
    assert_int_equal(k_process_check(p), 0);
    uint32_t id;
    assert_int_equal(nullcap_grant(p, &id), 0);
    CapSqe nop = h_nop(1);
    (void)h_one(p, &nop);
    assert_int_equal(k_process_check(p), 0);

    /* It is not a rubber stamp: corrupted copies fail. */
    struct k_process copy = *p;
    copy.nthreads = 1; /* no thread on the list */
    assert_int_equal(k_process_check(&copy), -1);
    copy = *p;
    copy.rs.cq_reserved = CAP_CQ_ENTRIES + 1;
    assert_int_equal(k_process_check(&copy), -1);
    copy = *p;
    copy.caps.live = 0; /* table counts off */
    assert_int_equal(k_process_check(&copy), -1);
    copy = *p;
    copy.caps.reserved = 1; /* no slot is reserved */
    assert_int_equal(k_process_check(&copy), -1);

    k_process_exit(p, 0);
    assert_int_equal(k_process_check(p), 0);
    copy = *p;
    copy.nthreads = 1;
    assert_int_equal(k_process_check(&copy), -1);
}

/* sq_head and cq_tail in the ring header are user memory: a process may
 * store anything there and the kernel overwrites it on the next cap_enter
 * (capos/ring.h). Such a store breaks no kernel invariant, so the checker
 * (which the fuzzer runs after every input) must not report one. */
static void
process_check_ignores_user_stores_to_kernel_owned_ring_indices(void **state)
{
    (void)state;
    struct k_process *p = h_proc("scribbler", 0);
    CapSqe nop = h_nop(1);
    (void)h_one(p, &nop);
    assert_int_equal(k_process_check(p), 0);

    p->ring->hdr.sq_head = 0xdead;
    p->ring->hdr.cq_tail = 0xbeef;
    assert_int_equal(k_process_check(p), 0);

    /* The next cap_enter republishes the kernel's values. */
    assert_int_equal(h_enter(p), 0);
    assert_int_equal(p->ring->hdr.sq_head, 1);
    assert_int_equal(p->ring->hdr.cq_tail, 1);
    assert_int_equal(k_process_check(p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
        T(arena_maps_the_ring_then_the_capset_at_fixed_addresses),
        T(process_names_longer_than_the_field_are_truncated),
        T(user_ptr_accepts_exactly_the_arena),
        T(user_buf_refuses_the_ring_and_capset_pages),
        T(ring_refuses_a_result_buffer_in_the_capset_page),
        T(capset_lists_names_and_interface_ids_in_manifest_order),
        T(capset_rejects_bad_names_and_ids),
        T(capset_add_beyond_a_full_page_is_refused),
        T(process_create_rejects_bad_options),
        T(process_create_rejects_stacks_whose_total_overflows),
        T(process_exit_releases_every_cap),
        T(process_exit_kills_blocked_and_runnable_threads),
        T(run_frees_threads_killed_by_a_host_side_process_exit),
        T(process_exit_while_its_thread_waits_in_cap_enter_leaves_nothing),
        T(server_exit_wakes_a_client_waiting_on_its_call),
        T(client_exit_withdraws_its_queued_call),
        T(process_check_passes_on_fresh_and_exited_processes),
        T(process_check_ignores_user_stores_to_kernel_owned_ring_indices),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
