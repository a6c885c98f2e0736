/*
 * capos_rt.h - capos-rt, the C runtime every capOS service links.
 *
 * A service is a C file defining
 *
 *     int capos_main(capos_capset_t *caps);
 *
 * and nothing else that enters the system: the runtime owns the entry
 * point, finds initial caps by name in the CapSet, submits SQEs, waits for
 * completions by user_data, adopts result caps after checking their
 * interface, releases dropped caps with RELEASE SQEs, and allocates from
 * the process heap. It reaches the world only through its ring
 * (include/capos/), never through the kernel model or the host.
 *
 * The runtime keeps its state in the process's own heap, so every process
 * has its own even though, hosted, all services share one host program.
 */
#ifndef CAPOS_RT_H
#define CAPOS_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capos/capset.h"
#include "capos/ring.h"
#include "capos/syscall.h"

/* Runtime errors CAPOS_RT_E_* (include/capos/errname.h, beside their
 * names); CAP_ERR_* pass through. A CALL whose cap speaks another
 * interface than the caller means is refused by the kernel with
 * CAP_ERR_WRONG_INTERFACE (docs/abi.md §4.5). */
#include "capos/errname.h"

typedef struct capos_capset capos_capset_t;

/* A capability handle: the table-local id and the interface it speaks. */
typedef struct capos_cap {
    uint32_t id;
    uint64_t interface_id;
} capos_cap_t;

/* Defined by the service. Its return value is the process exit code. */
int capos_main(capos_capset_t *caps);

/*
 * The runtime entry: sets the runtime up in the current process, runs
 * main, flushes queued releases and exits with main's result. Hosted, the
 * simulator starts a service's first thread here; never returns.
 */
_Noreturn void capos_rt_start(int (*main_fn)(capos_capset_t *));

/* ---- the CapSet ------------------------------------------------------ */

/*
 * Find the initial cap called name. interface_id 0 accepts any interface.
 * Returns 0 and the handle, CAPOS_RT_E_NOT_FOUND, or
 * CAPOS_RT_E_WRONG_INTERFACE when the entry speaks another interface.
 */
int capos_capset_find(const capos_capset_t *caps, const char *name,
                      uint64_t interface_id, capos_cap_t *out);
unsigned capos_capset_count(const capos_capset_t *caps);
/* Entry i in manifest order, or NULL past the end. */
const CapSetEntry *capos_capset_entry(const capos_capset_t *caps, unsigned i);

/* ---- the ring -------------------------------------------------------- */

/* A fresh user_data tag, never 0, unique within the process. */
uint64_t capos_rt_tag(void);

/*
 * Queue one SQE (copied), flushing queued releases first; if the SQ is
 * full, enters the kernel until there is room. Returns 0 or a CAP_ERR_*
 * code from cap_enter.
 */
int capos_rt_submit(const CapSqe *sqe);

/*
 * Wait until the CQE tagged user_data arrives (completions for other tags
 * that arrive meanwhile are kept for their own waits) or timeout_ns
 * passes (CAP_TIMEOUT_INFINITE: no limit). Returns 0 with *out filled,
 * CAPOS_RT_E_TIMEOUT, CAPOS_RT_E_TOO_MANY, or a cap_enter error.
 */
int capos_rt_wait(uint64_t user_data, CapCqe *out, uint64_t timeout_ns);

/*
 * Wait until the CQE of any of tags[0..n) arrives (as capos_rt_wait for
 * one tag): returns 0 with *which set to its index in tags and *out
 * filled, or an error as capos_rt_wait. n must be at least 1.
 */
int capos_rt_wait_any(const uint64_t *tags, unsigned n, unsigned *which,
                      CapCqe *out, uint64_t timeout_ns);

/* Submit sqe with a fresh tag and wait for its completion. Returns 0 with
 * *out filled (out->result holds the operation's own result), or an error
 * as capos_rt_wait. */
int capos_rt_call(CapSqe *sqe, CapCqe *out);

/*
 * Make a CALL of method on cap, meant for cap.interface_id (the interface
 * it was adopted under; 0: untyped, unchecked): the kernel refuses it
 * with CAP_ERR_WRONG_INTERFACE when the slot speaks another. params
 * (params_len bytes, may be NULL) are sent, up to result_len bytes of
 * result land in result. Returns the CQE result (>= 0: result bytes;
 * < 0: CAP_ERR_*), *cqe filled if not NULL.
 */
int capos_rt_invoke(capos_cap_t cap, uint16_t method, const void *params,
                    uint32_t params_len, void *result, uint32_t result_len,
                    CapCqe *cqe);

/*
 * A typed call: finish the params message being built in params, CALL
 * method on cap with result_len bytes of result room, and on success decode
 * the result message into *msg / *root (both may be NULL when there is no
 * result to read). Returns the CQE result (>= 0: result bytes), a
 * CAP_ERR_* code, or a CAPNP_E_* code when the params did not fit their
 * buffer or the result is not a valid message.
 */
struct capnp_builder;
struct capnp_message;
struct capnp_struct;
int capos_rt_call_capnp(capos_cap_t cap, uint16_t method,
                        struct capnp_builder *params, void *result,
                        uint32_t result_len, struct capnp_message *msg,
                        struct capnp_struct *root);

/*
 * Ring reactor bridge (docs/abi.md §4.4, one cap_enter waiter per
 * process ring). When the CapSet holds a ParkSpace named "park", several
 * threads sharing the process ring (CAPOS_RT_RING_BRIDGE below) may use
 * the calls above at once: the thread that wins the runtime's drainer
 * lock drains the CQ and waits in cap_enter, routing each completion by
 * user_data to the waiting thread's record in a bounded table
 * (CAPOS_RT_E_TOO_MANY past 16 waiters) or to the stash; the others wait
 * on their records. Without "park" the runtime is single-threaded as
 * before. capos_rt_park_space gives the ParkSpace (for
 * services/rt/sync.h) or CAPOS_RT_E_NOT_FOUND; capos_rt_bridge_busy
 * counts waits that found another thread draining.
 */
int capos_rt_park_space(capos_cap_t *out);
uint64_t capos_rt_bridge_busy(void);

/*
 * Threads and rings (docs/runtime.md). capos_rt_thread_spawn starts
 * fn(arg) on a new thread of this process through the CapSet's
 * ThreadSpawner (CAPOS_RT_E_NOT_FOUND without one). The ring mode, a
 * runtime switch, says which ring the new thread uses:
 *   CAPOS_RT_RING_PER_THREAD (default): its own ring (docs/abi.md §16);
 *     the runtime owns the thread's FS base, which points at its record.
 *     It submits and sleeps in cap_enter on that ring alone.
 *   CAPOS_RT_RING_BRIDGE: the process ring, shared with its siblings
 *     through the ring reactor bridge above (needs "park").
 * The mode applies to threads spawned after it is set (set it from the
 * main thread before spawning). The process ring uses the bridge only in
 * bridge mode or while threads spawned onto it live; otherwise the main
 * thread is its single user and waits there directly. join waits for
 * the thread's exit, reports its exit code, and frees its record (and
 * ring page); a thread never joined keeps them until the process ends. A
 * second join of the same capos_thread_t is CAPOS_RT_E_NOT_FOUND.
 */
enum capos_rt_ring_mode {
    CAPOS_RT_RING_BRIDGE = 1,
    CAPOS_RT_RING_PER_THREAD = 2,
};
int capos_rt_set_ring_mode(enum capos_rt_ring_mode mode);
enum capos_rt_ring_mode capos_rt_ring_mode(void);

typedef struct capos_thread {
    capos_cap_t handle; /* its ThreadHandle */
    void *record;       /* runtime record (and ring page) */
} capos_thread_t;
int capos_rt_thread_spawn(void (*fn)(void *), void *arg, capos_thread_t *out);
int capos_rt_thread_join(capos_thread_t *t, int64_t *exit_code);

/* Console.writeLine(text) on a Console cap; the CQE result or an error
 * (services/rt/console.c). */
int capos_console_line(capos_cap_t console, const char *text);
/* The longest line capos_console_printf writes, NUL included. */
#define CAPOS_CONSOLE_LINE_MAX 1024
/* Console.writeLine of a printf-formatted line, cut at
 * CAPOS_CONSOLE_LINE_MAX - 1 bytes, with every control byte, DEL, byte
 * >= 0x80 and backslash written "\xHH" (capos/escape.h), so text quoted
 * from input cannot drive the terminal; the CQE result or an error. */
int capos_console_printf(capos_cap_t console, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same with a va_list, for a service's own say(). */
int capos_console_vprintf(capos_cap_t console, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* AuditLog.append of one record (services/rt/audit.c): category, code,
 * outcome (an AuditOutcome), principal and detail (NULL: not set); the
 * CQE result or an error. Never put secrets in it. */
int capos_audit_append(capos_cap_t log, const char *category, const char *code,
                       uint16_t outcome, const char *principal,
                       const char *detail);
/* The same with the record's sessionId = sid[0..sidlen) (0: not set). */
int capos_audit_append_session(capos_cap_t log, const char *category,
                               const char *code, uint16_t outcome,
                               const char *principal, const uint8_t *sid,
                               size_t sidlen, const char *detail);

/* AuditLog.append of a denial-style record (no principal) whose detail
 * is printf-formatted and cut at CAPOS_AUDIT_DETAIL_MAX bytes (the
 * schema's bound); the CQE result or an error. */
#define CAPOS_AUDIT_DETAIL_MAX 256
int capos_audit_printf(capos_cap_t log, const char *category,
                       const char *code, uint16_t outcome, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));

/* Endpoint.mintClient(badge) on our own Endpoint ep, built in pbuf and
 * answered in rbuf (buf_len bytes each): 0 and the new untyped client
 * facet in *out, or an error (services/rt/endpoint.c). On a server's
 * facet that serves mintClient itself, the facet it answers is adopted
 * as its record says. */
int capos_endpoint_mint_client(capos_cap_t ep, uint64_t badge, uint8_t *pbuf,
                               uint8_t *rbuf, uint32_t buf_len,
                               capos_cap_t *out);
/* The same, the facet typed as interface_id (0: untyped): its CapSet
 * entries and transfer records, and those of every copy, name that
 * interface, and only CALLs meant for it reach ep (docs/abi.md §8). */
int capos_endpoint_mint_typed(capos_cap_t ep, uint64_t badge,
                              uint64_t interface_id, uint8_t *pbuf,
                              uint8_t *rbuf, uint32_t buf_len,
                              capos_cap_t *out);

/* Why a call failed: the CapException message left in its result buffer
 * res[0..res_len), or "error CODE" (services/rt/errors.c). Returns out. */
const char *capos_rt_error_text(const void *res, size_t res_len, int code,
                                char *out, size_t cap);

/* Adopt a result cap record if it speaks interface_id (0: any). */
int capos_rt_adopt(const CapTransferResult *rec, uint64_t interface_id,
                   capos_cap_t *out);

/* Of the result caps of a completed call (CQE c, result >= 0; records
 * after the result message in res), keep record 0 in *first if it speaks
 * interface_id (0: any) and release every other. True if *first was
 * kept (then it is the caller's). */
bool capos_rt_keep_first_cap(const CapCqe *c, const void *res,
                             uint64_t interface_id, capos_cap_t *first);

/* The result message of completed call cqe in res (res_len bytes): true
 * with *m and *root decoded, false when the call failed, returned nothing
 * or more than res_len, or the bytes are no valid message. */
bool capos_rt_result_msg(const CapCqe *cqe, const void *res, size_t res_len,
                         struct capnp_message *m, struct capnp_struct *root);
/* Result cap record i of completed call cqe, whose result buffer res
 * holds res_len bytes (services/rt/results.c): true with *out filled, or
 * false when the call failed, returned fewer caps or the record lies
 * outside the buffer. */
bool capos_rt_result_cap(const CapCqe *cqe, const void *res, size_t res_len,
                         uint32_t i, CapTransferResult *out);
/* Release every result cap of cqe except record keep (UINT32_MAX: all). */
void capos_rt_drop_result_caps(const CapCqe *cqe, const void *res,
                               size_t res_len, uint32_t keep);

/* Queue a RELEASE of cap; sent with the next submission or flush. */
void capos_rt_release(capos_cap_t cap);
/* Send queued releases now and wait for their completions. Returns the
 * number of releases the kernel refused (0 normally). */
int capos_rt_flush_releases(void);

/* ---- memory ---------------------------------------------------------- */

/* Allocate from the process heap (16-byte aligned); NULL when full. */
void *capos_alloc(size_t n);
void capos_free(void *p);
/* The same, zeroed. */
void *capos_zalloc(size_t n);
/* A service's two call buffers (params and results) of n bytes each into
 * *pbuf and *rbuf; false when either could not be had (what was had stays
 * in its pointer, the caller's). */
bool capos_alloc_call_bufs(uint8_t **pbuf, uint8_t **rbuf, size_t n);
/* The user address of a pointer into this process's memory. */
uint64_t capos_va(const void *p);

#endif /* CAPOS_RT_H */
