/*
 * metal/x86_64/heap.c - the kernel heap of the bare-metal port
 * (port_alloc, port_free) and the malloc family libargon2 calls, on the
 * page allocator (pages.c).
 *
 * Blocks of up to HEAP_SMALL_MAX bytes come from power-of-two size classes
 * (32 .. 2048 bytes including a 16-byte header), carved from whole pages
 * and kept on one free list per class; larger blocks are runs of pages
 * of their own, returned on free. Every block starts with a header that
 * names its class or page count and whether it is in use, so free can
 * tell a bad or repeated free (a bug: panic) from a good one. Returned
 * memory is 16-byte aligned (SSE) and zeroed.
 */
#include <stdint.h>
#include <string.h>

#include "metal.h"
#include "port.h"

#define HEAP_PAGE 4096u
#define HEAP_HDR 16u
#define HEAP_MIN_SHIFT 5u  /* 32 bytes */
#define HEAP_MAX_SHIFT 11u /* 2048 bytes */
#define HEAP_CLASSES (HEAP_MAX_SHIFT - HEAP_MIN_SHIFT + 1)
#define HEAP_SMALL_MAX ((1u << HEAP_MAX_SHIFT) - HEAP_HDR)
#define HEAP_USED 0xa110c8edu
#define HEAP_FREE 0xf4eeb10cu
#define HEAP_LARGE 0xffu

struct heap_hdr {
    uint32_t magic;
    uint32_t cls;    /* class index, or HEAP_LARGE */
    uint64_t npages; /* large blocks: the run's length */
};

struct heap_free {
    struct heap_hdr h;
    struct heap_free *next;
};

static struct heap_free *heap_lists[HEAP_CLASSES];
static uint64_t heap_live;  /* blocks allocated, not yet freed */
static uint64_t heap_slabs; /* pages carved into small blocks (kept) */

static unsigned heap_class(size_t size)
{
    unsigned c = 0;

    while (((size_t)1 << (HEAP_MIN_SHIFT + c)) < size + HEAP_HDR)
        c++;
    return c;
}

/* Carve one page into free blocks of class c; false when out of pages. */
static bool heap_refill(unsigned c)
{
    size_t bs = (size_t)1 << (HEAP_MIN_SHIFT + c);
    uint8_t *page = port_pages_alloc(HEAP_PAGE);

    if (page == NULL)
        return false;
    heap_slabs++;
    for (size_t off = 0; off + bs <= HEAP_PAGE; off += bs) {
        struct heap_free *b = (struct heap_free *)(page + off);
        b->h.magic = HEAP_FREE;
        b->h.cls = c;
        b->next = heap_lists[c];
        heap_lists[c] = b;
    }
    return true;
}

static void *heap_alloc_small(size_t size)
{
    unsigned c = heap_class(size);
    struct heap_free *b;

    if (heap_lists[c] == NULL && !heap_refill(c))
        return NULL;
    b = heap_lists[c];
    heap_lists[c] = b->next;
    b->h.magic = HEAP_USED;
    memset((uint8_t *)b + HEAP_HDR, 0,
           ((size_t)1 << (HEAP_MIN_SHIFT + c)) - HEAP_HDR);
    return (uint8_t *)b + HEAP_HDR;
}

static void *heap_alloc_large(size_t size)
{
    uint64_t npages = (size + HEAP_HDR + HEAP_PAGE - 1) / HEAP_PAGE;
    struct heap_hdr *h;

    if (size > (size_t)1 << 40)
        return NULL;
    h = port_pages_alloc(npages * HEAP_PAGE); /* zeroed */
    if (h == NULL)
        return NULL;
    h->magic = HEAP_USED;
    h->cls = HEAP_LARGE;
    h->npages = npages;
    return (uint8_t *)h + HEAP_HDR;
}

/* Zeroed memory of size bytes (a unique block even for 0), or NULL when
 * out of memory. */
void *port_alloc(size_t size)
{
    void *p = size <= HEAP_SMALL_MAX ? heap_alloc_small(size)
                                     : heap_alloc_large(size);
    if (p != NULL)
        heap_live++;
    return p;
}

static struct heap_hdr *heap_header(void *p)
{
    struct heap_hdr *h = (struct heap_hdr *)((uint8_t *)p - HEAP_HDR);

    if (((uintptr_t)p & 15u) != 0 || (uintptr_t)p < HEAP_PAGE)
        port_panic("port_free: not a heap pointer");
    if (h->magic == HEAP_FREE)
        port_panic("port_free: block freed twice");
    if (h->magic != HEAP_USED ||
        (h->cls != HEAP_LARGE && h->cls >= HEAP_CLASSES))
        port_panic("port_free: not a heap pointer (bad header)");
    return h;
}

/* Free a block of port_alloc; NULL does nothing; anything else that is not
 * a live block panics. */
void port_free(void *p)
{
    struct heap_hdr *h;

    if (p == NULL)
        return;
    h = heap_header(p);
    heap_live--;
    if (h->cls == HEAP_LARGE) {
        h->magic = HEAP_FREE;
        port_pages_free(h, h->npages * HEAP_PAGE);
        return;
    }
    struct heap_free *b = (struct heap_free *)h;
    b->h.magic = HEAP_FREE;
    b->next = heap_lists[h->cls];
    heap_lists[h->cls] = b;
}

uint64_t heap_live_count(void)
{
    return heap_live;
}

uint64_t heap_slab_pages(void)
{
    return heap_slabs;
}

/* ---- the C library's allocator, for libargon2 -------------------------- */

void *malloc(size_t size)
{
    return port_alloc(size);
}

void *calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return port_alloc(n * size);
}

void free(void *p)
{
    port_free(p);
}
