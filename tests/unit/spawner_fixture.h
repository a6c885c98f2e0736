/*
 * spawner_fixture.h - what the ProcessSpawner and ProcessHandle tests
 * (test_spawner.c, test_prochandle.c) share: the child programs, the boot
 * manifest the spawner reads, and builders of spawn and handle calls
 * (spawner_fixture.c). Every message is built with the generated schema
 * code. Model threads (the children) never call cmocka asserts: they
 * record what they see in `seen`, and the test body asserts after k_run().
 */
#ifndef CAPOS_TEST_SPAWNER_FIXTURE_H
#define CAPOS_TEST_SPAWNER_FIXTURE_H

#include "capos.capnp.h"
#include "harness.h"

/* What the "serve" child saw. */
struct seen {
    int ran;
    unsigned count;
    char names[8][CAPOS_CAPSET_NAME_MAX];
    uint64_t ifaces[8];
    uint32_t live;
    int recv_result;
    uint64_t recv_badge;
    char params[8];
    int ret_result;
    int call_result;
};
extern struct seen seen;

/* Ring helpers for a child's own thread (no asserts). */
void child_push(struct k_process *p, const CapSqe *sqe);
CapCqe child_call(struct k_process *p, const CapSqe *sqe);
uint32_t child_cap(struct k_process *p, const char *name);

/* The binaries serve, exit7, block, ghost (a builtin this simulator
 * lacks) and elfy (an ELF image), as a binary SystemManifest. */
extern uint64_t manifest_words[256];
extern size_t manifest_len;

/* cmocka fixtures: a model with the children's binaries and the
 * manifest, and its teardown with the harness's leak checks. */
int sf_setup(void **state);
int sf_teardown(void **state);

/* A parent process holding a ProcessSpawner; *sp is its CapId. */
struct k_process *parent_with_spawner(uint32_t *sp, uint32_t slots);

enum { G_KERNEL, G_SERVICE, G_ENDPOINT, G_CAP, G_RAW_TAG };

struct gspec {
    const char *name;
    int kind;
    uint16_t arg; /* G_KERNEL: source; G_CAP: index (0xffff: null) */
    uint64_t badge;
    uint64_t iface;
};

struct limits {
    uint32_t arena;
    uint16_t threads, slots;
};

/* Result buffer of the last spawn_sqe (RESULT_LEN bytes in its heap). */
extern uint8_t *last_result;
#define RESULT_LEN 512u

/* A spawn CALL from p: name, binary, grants g[0..n), descriptors x[0..nx)
 * after the params, optional limits. The params live in p's heap. */
CapSqe spawn_sqe(struct k_process *p, uint32_t sp, const char *name,
                 const char *bin, const struct gspec *g, unsigned n,
                 const CapTransferDescriptor *x, unsigned nx,
                 const struct limits *lim);
/* The records after a result message of len bytes. */
const CapTransferResult *records(int len);
/* Spawn bin with no grants; returns the handle's CapId. */
uint32_t spawn_plain(struct k_process *p, uint32_t sp, const char *bin);
/* A parent holding a ProcessSpawner (*sp) and the ProcessHandle (*h) of a
 * child it spawned from bin with no grants. */
struct k_process *parent_and_child(uint32_t *sp, uint32_t *h, const char *bin);
/* Submit a ProcessHandle method without waiting; the result lands in *res. */
void handle_submit(struct k_process *p, uint32_t h, uint16_t method,
                   uint64_t user_data, uint8_t **res);
/* The exitCode of a wait result res[0..len). */
int64_t exit_code_in(const uint8_t *res, int len);
/* wait() on h, completing at once: the exit code. */
int64_t wait_now(struct k_process *p, uint32_t h);

#endif /* CAPOS_TEST_SPAWNER_FIXTURE_H */
