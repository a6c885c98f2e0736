/*
 * capos/ring.h - the capability ring: the only way a capOS process invokes
 * anything.
 *
 * One 4 KiB page per process, mapped at CAPOS_RING_VADDR, holds a header, a
 * 16-entry submission queue of 64-byte CapSqe records and a 32-entry
 * completion queue of 32-byte CapCqe records (upstream sizes). Userspace
 * produces SQEs and advances sq_tail; the kernel consumes them inside
 * cap_enter, posts CQEs and advances cq_tail; userspace consumes CQEs and
 * advances cq_head. Indices are free-running 32-bit counters masked by the
 * queue size.
 *
 * Every constant here is listed with its source in docs/abi.md; where
 * upstream is silent the value is a capos-sim choice recorded there.
 * Freestanding: only <stdint.h> and <stddef.h>.
 */
#ifndef CAPOS_RING_H
#define CAPOS_RING_H

#include <stddef.h>
#include <stdint.h>

#define CAPOS_PAGE_SIZE 4096u

/* Queue geometry (upstream: 16-entry SQ, 32-entry CQ, one 4 KiB page). */
#define CAP_SQ_ENTRIES 16u
#define CAP_CQ_ENTRIES 32u
#define SQE_SIZE 64u
#define CQE_SIZE 32u

/* Opcodes (names upstream; values a capos-sim choice, docs/abi.md §2). */
#define CAP_OP_NOP 0u
#define CAP_OP_CALL 1u
#define CAP_OP_RECV 2u
#define CAP_OP_RETURN 3u
#define CAP_OP_RELEASE 4u
#define CAP_OP_FINISH 5u /* reserved upstream: CAP_ERR_UNSUPPORTED_OPCODE */
#define CAP_OP_PARK 6u   /* wait on a word via a ParkSpace (§14) */
#define CAP_OP_UNPARK 7u /* wake waiters of a word (§14) */
#define CAP_OP_MAX_RESERVED 7u

/* Transport result codes, CapCqe.result < 0. -1..-5 are upstream values;
 * the rest are capos-sim choices (docs/abi.md §3). */
#define CAP_ERR_INVALID_REQUEST (-1)
#define CAP_ERR_INVALID_PARAMS_BUFFER (-2)
#define CAP_ERR_INVALID_RESULT_BUFFER (-3)
#define CAP_ERR_INVOKE_FAILED (-4)
#define CAP_ERR_UNSUPPORTED_OPCODE (-5)
#define CAP_ERR_APPLICATION_EXCEPTION (-6)
#define CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED (-7)
#define CAP_ERR_INVALID_TRANSFER (-8)
#define CAP_ERR_TRANSFER_REJECTED (-9)
#define CAP_ERR_QUEUE_FULL (-10)
#define CAP_ERR_DISCONNECTED (-11)
#define CAP_ERR_RING_BUSY (-12)
#define CAP_ERR_RING_CORRUPT (-13)
#define CAP_ERR_WRONG_INTERFACE (-14) /* CALL meant for another interface */

/* CAP_OP_PARK results, CapCqe.result >= 0 (capos-sim choice, §14). */
#define CAP_PARK_WOKEN 0     /* an UNPARK woke the waiter */
#define CAP_PARK_MISMATCH 1  /* the word differed at submission */
#define CAP_PARK_TIMED_OUT 2 /* the timeout passed first */

/* CapSqe.flags. */
#define CAP_SQE_PIPELINE 0x0001u  /* upstream name; not accepted yet */
#define CAP_SQE_EXCEPTION 0x0002u /* RETURN: payload is a CapException */
#define CAP_SQE_FLAGS_KNOWN (CAP_SQE_EXCEPTION)

/* CapCqe.flags. */
#define CAP_CQE_F_CAPS 0x0001u /* CapTransferResult records follow payload */

/* Ring header flags (kernel-written, informational). */
#define CAP_RING_F_SQ_CORRUPT 0x0001u /* sq_tail ran past sq_head + 16 */
#define CAP_RING_F_CQ_CORRUPT                                                  \
    0x0002u /* cq_head outside [cq_tail-32, cq_tail] */

/* Bounds (docs/abi.md §6). */
#define CAP_MAX_PARAMS 65536u /* params and RECV payload bytes */
#define CAP_MAX_RESULT 65536u /* result bytes copied back */
#define CAP_XFER_MAX 8u       /* transfer descriptors per CALL/RETURN */

/*
 * 64-byte submission entry. The field set is upstream's; the byte layout is
 * a capos-sim choice. Reserved bytes must be zero (CAP_ERR_INVALID_REQUEST
 * otherwise) so that they can be given meaning later.
 */
typedef struct CapSqe {
    uint8_t opcode;
    uint8_t reserved0;
    uint16_t flags;
    uint32_t cap_id;
    uint64_t user_data;
    uint64_t addr;      /* params (CALL, RETURN); word (PARK, UNPARK) */
    uint32_t len;       /* params bytes; expected value (PARK); wake
                         * count (UNPARK) */
    uint16_t method_id; /* Cap'n Proto method ordinal */
    uint16_t xfer_cap_count;
    uint64_t result_addr; /* result buffer (CALL, RECV); timeout ns (PARK) */
    uint32_t result_len;
    uint32_t call_id; /* RETURN: which delivered call */
    uint32_t pipeline_dep;
    uint16_t pipeline_field;
    uint8_t reserved1[2];
    /* CALL: the interface the caller means (0: untyped, no check); the
     * cap must speak it (capos-sim extension, docs/abi.md §4.5). */
    uint64_t interface_id;
} CapSqe;

/*
 * 32-byte completion entry. result >= 0 is opcode-specific success (bytes
 * written to the result buffer for CALL/RECV); < 0 is a CAP_ERR_* code.
 */
typedef struct CapCqe {
    uint64_t user_data;
    int32_t result;
    uint16_t flags;
    uint16_t cap_count; /* CapTransferResult records after the payload */
    uint32_t call_id;   /* RECV: id to name in the RETURN */
    uint32_t reserved;
    uint64_t badge; /* RECV: badge of the caller's client cap */
} CapCqe;

/*
 * Ring header. sq_tail and cq_head are written by userspace and never
 * trusted; sq_head and cq_tail are written by the kernel from its private
 * copies (userspace stores to them are overwritten and ignored).
 */
typedef struct CapRingHeader {
    uint32_t sq_head;
    uint32_t sq_tail;
    uint32_t cq_head;
    uint32_t cq_tail;
    uint32_t sq_entries;
    uint32_t cq_entries;
    uint32_t flags;
    uint32_t sq_dropped; /* SQEs discarded by corruption recovery */
    uint8_t reserved[32];
} CapRingHeader;

#define CAP_RING_SQ_OFFSET 0x040u
#define CAP_RING_CQ_OFFSET 0x440u
#define CAP_RING_END (CAP_RING_CQ_OFFSET + CAP_CQ_ENTRIES * CQE_SIZE)

typedef struct CapRing {
    CapRingHeader hdr;
    CapSqe sq[CAP_SQ_ENTRIES];
    CapCqe cq[CAP_CQ_ENTRIES];
    uint8_t unused[CAPOS_PAGE_SIZE - CAP_RING_END];
} CapRing;

/* Transfer descriptor: an array of xfer_cap_count of these follows the
 * params bytes at addr + CAP_ALIGN8(len). */
#define CAP_XFER_COPY 0u
#define CAP_XFER_MOVE 1u
typedef struct CapTransferDescriptor {
    uint32_t cap_id;
    uint32_t mode;     /* CAP_XFER_COPY or CAP_XFER_MOVE */
    uint64_t reserved; /* must be zero */
} CapTransferDescriptor;

/* Result-cap record: cap_count of these follow the payload in the result
 * buffer at result_addr + CAP_ALIGN8(result). */
typedef struct CapTransferResult {
    uint32_t cap_id;
    uint32_t flags; /* CAP_XFER_REC_* (capos-sim, docs/abi.md §9) */
    uint64_t interface_id;
} CapTransferResult;

/* CapTransferResult.flags: the cap is a client facet, so interface_id is
 * what its server serves, not a kernel object (docs/abi.md §8). */
#define CAP_XFER_REC_FACET 0x1u

/* RECV delivers this header, then the params bytes, then (at an 8-byte
 * aligned offset) cap_count CapTransferResult records. */
typedef struct EndpointMessageHeader {
    uint32_t call_id;
    uint32_t params_len;
    uint64_t badge;
    uint16_t method_id;
    uint16_t cap_count;
    uint32_t reserved;
    uint64_t scoped_ref; /* caller-session reference (0 until sessions) */
    uint64_t scoped_ref_hi;
    uint64_t epoch;
} EndpointMessageHeader;

#define CAP_ALIGN8(n) (((n) + 7u) & ~(uint64_t)7u)

/* cap_enter timeout meaning "wait without a deadline". */
#define CAP_TIMEOUT_INFINITE UINT64_MAX

_Static_assert(sizeof(CapSqe) == SQE_SIZE, "CapSqe is 64 bytes");
_Static_assert(sizeof(CapCqe) == CQE_SIZE, "CapCqe is 32 bytes");
_Static_assert(offsetof(CapSqe, opcode) == 0x00, "sqe.opcode");
_Static_assert(offsetof(CapSqe, flags) == 0x02, "sqe.flags");
_Static_assert(offsetof(CapSqe, cap_id) == 0x04, "sqe.cap_id");
_Static_assert(offsetof(CapSqe, user_data) == 0x08, "sqe.user_data");
_Static_assert(offsetof(CapSqe, addr) == 0x10, "sqe.addr");
_Static_assert(offsetof(CapSqe, len) == 0x18, "sqe.len");
_Static_assert(offsetof(CapSqe, method_id) == 0x1c, "sqe.method_id");
_Static_assert(offsetof(CapSqe, xfer_cap_count) == 0x1e, "sqe.xfer_cap_count");
_Static_assert(offsetof(CapSqe, result_addr) == 0x20, "sqe.result_addr");
_Static_assert(offsetof(CapSqe, result_len) == 0x28, "sqe.result_len");
_Static_assert(offsetof(CapSqe, call_id) == 0x2c, "sqe.call_id");
_Static_assert(offsetof(CapSqe, pipeline_dep) == 0x30, "sqe.pipeline_dep");
_Static_assert(offsetof(CapSqe, pipeline_field) == 0x34, "sqe.pipeline_field");
_Static_assert(offsetof(CapSqe, reserved1) == 0x36, "sqe.reserved1");
_Static_assert(offsetof(CapSqe, interface_id) == 0x38, "sqe.interface_id");
_Static_assert(offsetof(CapCqe, user_data) == 0x00, "cqe.user_data");
_Static_assert(offsetof(CapCqe, result) == 0x08, "cqe.result");
_Static_assert(offsetof(CapCqe, flags) == 0x0c, "cqe.flags");
_Static_assert(offsetof(CapCqe, cap_count) == 0x0e, "cqe.cap_count");
_Static_assert(offsetof(CapCqe, call_id) == 0x10, "cqe.call_id");
_Static_assert(offsetof(CapCqe, badge) == 0x18, "cqe.badge");
_Static_assert(sizeof(CapRingHeader) == 64, "ring header is 64 bytes");
_Static_assert(offsetof(CapRing, sq) == CAP_RING_SQ_OFFSET, "SQ offset");
_Static_assert(offsetof(CapRing, cq) == CAP_RING_CQ_OFFSET, "CQ offset");
_Static_assert(sizeof(CapRing) == CAPOS_PAGE_SIZE, "ring is one page");
_Static_assert((CAP_SQ_ENTRIES & (CAP_SQ_ENTRIES - 1)) == 0, "SQ power of 2");
_Static_assert((CAP_CQ_ENTRIES & (CAP_CQ_ENTRIES - 1)) == 0, "CQ power of 2");
_Static_assert(sizeof(CapTransferDescriptor) == 16, "xfer descriptor");
_Static_assert(sizeof(CapTransferResult) == 16, "xfer result record");
_Static_assert(sizeof(EndpointMessageHeader) == 48, "endpoint header");
_Static_assert(offsetof(EndpointMessageHeader, badge) == 8, "hdr.badge");
_Static_assert(offsetof(EndpointMessageHeader, scoped_ref) == 24, "hdr.ref");

#endif /* CAPOS_RING_H */
