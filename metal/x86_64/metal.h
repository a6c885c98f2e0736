/*
 * metal/x86_64/metal.h - internals of the bare-metal port, shared by its
 * files. Each file owns one prefix: cpu_ (cpu.c, and the inline register
 * helpers here), trap_, serial_, timer_, pages_, heap_, rand_, printf_,
 * net_, main_, image_, mb_/mbench_ (mbench.c), replay_; boot_ is boot.S's.
 * libc.c defines the C library's own names. The kernel model sees only
 * kernel-model/port.h.
 */
#ifndef CAPOS_METAL_H
#define CAPOS_METAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- port I/O and registers (inline) ---------------------------------- */

static inline void cpu_outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t cpu_inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void cpu_outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t cpu_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr"
                     :
                     : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpu_cli(void)
{
    __asm__ volatile("cli" ::: "memory");
}

static inline void cpu_sti(void)
{
    __asm__ volatile("sti" ::: "memory");
}

/* Interrupts off; returns the previous RFLAGS for cpu_irq_restore. */
static inline uint64_t cpu_irq_save(void)
{
    uint64_t flags;
    __asm__ volatile("pushfq\n\tpopq %0\n\tcli" : "=r"(flags) : : "memory");
    return flags;
}

/* Interrupts back on if they were on at the matching cpu_irq_save. */
static inline void cpu_irq_restore(uint64_t flags)
{
    if (flags & 0x200u)
        __asm__ volatile("sti" ::: "memory");
}

/* ---- cpu.c: GDT, TSS, IDT, FS base ------------------------------------ */

/* Load the long-mode GDT with a TSS whose interrupt stacks take every
 * interrupt and exception (so no handler ever writes below an interrupted
 * stack pointer: libargon2 is built with the red zone), then the IDT. */
void cpu_init(void);
/* Point FS at a block whose word at %fs:0x28 is the stack-protector
 * canary the distribution's libargon2 checks. */
void cpu_set_canary(uint64_t canary);

/* ---- trap.c: interrupts and fatal reports ----------------------------- */

/* What the interrupt stubs (isr.S) push, lowest address first. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Called by isr.S for every vector with interrupts off. */
void trap_dispatch(struct trap_frame *f);
/* Leave QEMU through isa-debug-exit with status v (QEMU exits (v << 1) |
 * 1); without the device, halt for good. */
_Noreturn void trap_exit(unsigned v);
/* Print a backtrace from frame pointer rbp on the console. */
void trap_backtrace(uint64_t rbp);
/* isa-debug-exit value for a fault, a panic or an unexpected interrupt. */
#define TRAP_EXIT_FAULT 0x7eu

/* ---- serial.c: COM1 ---------------------------------------------------- */

void serial_init(void);
void serial_write(const char *buf, size_t len);
void serial_puts(const char *s);
/* IRQ 4: move received bytes into the input buffer. */
void serial_irq(void);
/* From port_idle with interrupts off: true if new input arrived while
 * watched (the caller then tells the model). */
bool serial_take_event(void);
bool serial_watched(void);
/* Bytes dropped because the input buffer was full, ever. */
uint64_t serial_dropped(void);
/* printf to the console (at most 1 KiB a call). */
void serial_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- timer.c: PIC, PIT, TSC clock -------------------------------------- */

void timer_init(void);
/* IRQ 0. */
void timer_irq(void);
/* Send end-of-interrupt for IRQ irq to the PIC(s). */
void timer_pic_eoi(unsigned irq);
/* True if IRQ irq (7 or 15) is really in service (not spurious). */
bool timer_pic_in_service(unsigned irq);
uint64_t timer_tsc_hz(void);

/* ---- pages.c: physical pages from the boot memory map ------------------ */

/* One usable RAM range of the boot memory map. */
struct pages_range {
    uint64_t base, len;
};
/* Take the usable ranges (copied: the loader's info may be overwritten)
 * and manage every 4 KiB frame of them above the image's end. */
void pages_init(const struct pages_range *r, size_t n);
uint64_t pages_free_count(void);
uint64_t pages_total_count(void);

/* ---- heap.c ------------------------------------------------------------ */

/* Heap blocks allocated and not yet freed (port_alloc and malloc). */
uint64_t heap_live_count(void);
/* Pages the small size classes hold (never returned to pages.c). */
uint64_t heap_slab_pages(void);

/* ---- rand.c ------------------------------------------------------------ */

/* 64 random bits: RDRAND when the CPU has it, else the documented
 * fallback (docs/metal.md, "Randomness"). */
uint64_t rand_u64(void);
/* "rdrand" or "tsc-mix": what rand_u64 uses. */
const char *rand_source(void);


/* ---- mbench.c: boot option bench ---------------------------------------- */

/* Print the model's figures on metal; 0, or 1 if a run failed. */
int mbench_run(void);

/* ---- image.c: what the image carries ------------------------------------ */

/* The manifest bytes for boot mode name (selftest, login), or NULL. */
const uint8_t *image_manifest(const char *mode, size_t *len);

/* Linker symbols (linker.ld). */
extern char metal_image_start[], metal_image_end[];

#endif /* CAPOS_METAL_H */
