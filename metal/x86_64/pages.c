/*
 * metal/x86_64/pages.c - physical memory of the bare-metal port: 4 KiB
 * frames from the boot memory map, handed out in contiguous runs.
 *
 * Physical = virtual (the boot page tables identity-map 4 GiB), so a run
 * of frames is directly usable memory. One bit per frame below 4 GiB (set:
 * in use or not RAM). Everything below the image's end is never handed
 * out (the first MiB holds firmware data, then the image itself).
 * Allocation is first fit from a moving hint; runs are freed with the
 * size they were allocated with, as port.h requires of its callers.
 */
#include <stdint.h>
#include <string.h>

#include "metal.h"
#include "port.h"

#define PAGES_SIZE 4096u
#define PAGES_LIMIT (4ull << 30) /* the identity map's end */
#define PAGES_FRAMES (PAGES_LIMIT / PAGES_SIZE)

static uint64_t pages_map[PAGES_FRAMES / 64];
static uint64_t pages_free_n, pages_total_n;
static uint64_t pages_top;  /* one past the highest usable frame */
static uint64_t pages_hint; /* where the next search starts */

static bool pages_used(uint64_t f)
{
    return (pages_map[f / 64] >> (f % 64)) & 1u;
}

static void pages_mark(uint64_t f, uint64_t n, bool used)
{
    for (uint64_t i = f; i < f + n; i++) {
        if (used)
            pages_map[i / 64] |= 1ull << (i % 64);
        else
            pages_map[i / 64] &= ~(1ull << (i % 64));
    }
}

void pages_init(const struct pages_range *r, size_t n)
{
    uint64_t low = ((uint64_t)(uintptr_t)metal_image_end + PAGES_SIZE - 1) /
                   PAGES_SIZE;

    memset(pages_map, 0xff, sizeof pages_map);
    for (size_t i = 0; i < n; i++) {
        uint64_t first = (r[i].base + PAGES_SIZE - 1) / PAGES_SIZE;
        uint64_t end = r[i].base + r[i].len;

        if (end > PAGES_LIMIT)
            end = PAGES_LIMIT;
        end /= PAGES_SIZE;
        if (first < low)
            first = low;
        for (uint64_t f = first; f < end; f++) {
            if (!pages_used(f))
                continue; /* overlapping entries: count once */
            pages_mark(f, 1, false);
            pages_free_n++;
            pages_total_n++;
        }
        if (end > pages_top)
            pages_top = end;
    }
    pages_hint = low;
}

uint64_t pages_free_count(void)
{
    return pages_free_n;
}

uint64_t pages_total_count(void)
{
    return pages_total_n;
}

/* First free run of n frames at or after from; 0 if none (frame 0 is
 * never free). */
static uint64_t pages_find(uint64_t from, uint64_t n)
{
    uint64_t run = 0;

    for (uint64_t f = from; f < pages_top; f++) {
        if ((f % 64) == 0 && pages_map[f / 64] == ~0ull) {
            run = 0;
            f += 63;
            continue;
        }
        run = pages_used(f) ? 0 : run + 1;
        if (run == n)
            return f + 1 - n;
    }
    return 0;
}

/* Zeroed, page-aligned, contiguous memory of size bytes (rounded up to
 * whole frames); NULL when size is 0 or no run is free. */
void *port_pages_alloc(size_t size)
{
    uint64_t n = (size + PAGES_SIZE - 1) / PAGES_SIZE;
    uint64_t f;

    if (size == 0 || n > pages_free_n)
        return NULL;
    f = pages_find(pages_hint, n);
    if (f == 0)
        f = pages_find(0, n);
    if (f == 0)
        return NULL;
    pages_mark(f, n, true);
    pages_free_n -= n;
    pages_hint = f + n;
    memset((void *)(uintptr_t)(f * PAGES_SIZE), 0, n * PAGES_SIZE);
    return (void *)(uintptr_t)(f * PAGES_SIZE);
}

/* Return a run from port_pages_alloc; NULL does nothing. A pointer that is
 * not page-aligned, outside managed memory or not wholly in use is a model
 * bug and panics. */
void port_pages_free(void *p, size_t size)
{
    uint64_t addr = (uint64_t)(uintptr_t)p;
    uint64_t n = (size + PAGES_SIZE - 1) / PAGES_SIZE;
    uint64_t f = addr / PAGES_SIZE;

    if (p == NULL)
        return;
    if ((addr % PAGES_SIZE) != 0 || size == 0 || f + n > pages_top)
        port_panic("port_pages_free: pointer or size not from "
                   "port_pages_alloc");
    for (uint64_t i = f; i < f + n; i++)
        if (!pages_used(i))
            port_panic("port_pages_free: a page freed twice");
    pages_mark(f, n, false);
    pages_free_n += n;
    if (f < pages_hint)
        pages_hint = f;
}
