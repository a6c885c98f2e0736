/*
 * capos/capset.h - the read-only CapSet page and the process address layout.
 *
 * A process finds its initial capabilities by name in the CapSet page the
 * kernel maps at CAPOS_CAPSET_VADDR, in manifest order. The layout is a
 * capos-sim choice (upstream does not publish one); see docs/abi.md §5.
 */
#ifndef CAPOS_CAPSET_H
#define CAPOS_CAPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* User address layout shared by every process (docs/abi.md §5). The whole
 * user arena is one mapping starting at CAPOS_ARENA_VADDR. */
#define CAPOS_ARENA_VADDR 0x00200000u
#define CAPOS_RING_VADDR (CAPOS_ARENA_VADDR + 0x0000u)
#define CAPOS_CAPSET_VADDR (CAPOS_ARENA_VADDR + 0x1000u)
#define CAPOS_HEAP_VADDR (CAPOS_ARENA_VADDR + 0x2000u)

#define CAPOS_CAPSET_MAGIC 0x54455343u /* "CSET" little-endian */
#define CAPOS_CAPSET_VERSION 1u
#define CAPOS_CAPSET_NAME_MAX 48u
#define CAPOS_CAPSET_MAX_ENTRIES 63u

typedef struct CapSetEntry {
    uint32_t cap_id;
    uint32_t reserved;
    uint64_t interface_id;
    char name[CAPOS_CAPSET_NAME_MAX]; /* NUL-padded, NUL-terminated */
} CapSetEntry;

typedef struct CapSetHeader {
    uint32_t magic;
    uint16_t version;
    uint16_t count;
    uint32_t entry_size;
    uint32_t pid;
    uint64_t heap_vaddr; /* the process heap the runtime may use */
    uint64_t heap_size;
    uint32_t reserved[8];
} CapSetHeader;

typedef struct CapSetPage {
    CapSetHeader hdr;
    CapSetEntry entries[CAPOS_CAPSET_MAX_ENTRIES];
} CapSetPage;

_Static_assert(sizeof(CapSetEntry) == 64, "CapSet entry is 64 bytes");
_Static_assert(sizeof(CapSetHeader) == 64, "CapSet header is 64 bytes");
_Static_assert(offsetof(CapSetHeader, heap_vaddr) == 16, "heap_vaddr");
_Static_assert(sizeof(CapSetPage) == 4096, "CapSet is one page");

/* The longest process name ProcessSpawner.spawn takes (docs/abi.md §13.1). */
#define CAPOS_PROCESS_NAME_MAX 31u

/* A CapSet name s[0..n): 1 to 47 printable ASCII bytes, no space (the
 * grants of ProcessSpawner.spawn, docs/abi.md §13.1; the entry keeps a
 * NUL). Kernel and init check the same rule. */
static inline bool capos_capset_name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= CAPOS_CAPSET_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

/* A process name s[0..n): 1 to CAPOS_PROCESS_NAME_MAX bytes of letters,
 * digits, '.', '_' and '-' (docs/abi.md §13.1). */
static inline bool capos_process_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > CAPOS_PROCESS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

#endif /* CAPOS_CAPSET_H */
