/*
 * metal/x86_64/trap.c - interrupt dispatch and the fatal reports of the
 * bare-metal port.
 *
 * Device interrupts (PIC IRQs 0-15 remapped to vectors 32-47) go to their
 * driver and are acknowledged. An exception, an interrupt on a vector
 * nothing uses, or a port_panic prints what happened (vector and name,
 * error code, RIP, CR2, the registers, a frame-pointer backtrace) on the
 * serial console and leaves QEMU through isa-debug-exit with
 * TRAP_EXIT_FAULT, so a test sees a loud non-zero exit instead of a hang
 * or a silent triple fault. Addresses in the backtrace resolve with
 * addr2line -e metal/x86_64/capos-metal.
 */
#include <stdint.h>

#include "metal.h"
#include "port.h"

#define TRAP_IRQ_BASE 32u
#define TRAP_DEBUG_EXIT_PORT 0xf4u
#define TRAP_BACKTRACE_MAX 24u

/* Nonzero while a fatal report is printed: a fault inside it stops at
 * once instead of recursing. */
static volatile int trap_reporting;

static const char *const trap_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
    "#OF overflow", "#BR bound range", "#UD invalid opcode",
    "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault",
    "#GP general protection", "#PF page fault", "reserved",
    "#MF x87 floating point", "#AC alignment check", "#MC machine check",
    "#XM SIMD floating point", "#VE virtualization", "#CP control protection",
};

_Noreturn void trap_exit(unsigned v)
{
    cpu_cli();
    /* QEMU's isa-debug-exit (iobase 0xf4, size 4) exits with (v << 1) | 1. */
    cpu_outl(TRAP_DEBUG_EXIT_PORT, v);
    serial_puts("capos-sim: no isa-debug-exit device: halted\n");
    for (;;)
        __asm__ volatile("hlt");
}

/* A frame pointer worth following: 8-aligned, inside the identity map,
 * above the first page. */
static bool trap_frame_ok(uint64_t rbp)
{
    return rbp >= 4096 && rbp < (4ull << 30) - 16 && (rbp & 7) == 0;
}

void trap_backtrace(uint64_t rbp)
{
    serial_printf("backtrace (addr2line -e metal/x86_64/capos-metal):\n");
    for (unsigned i = 0; i < TRAP_BACKTRACE_MAX && trap_frame_ok(rbp); i++) {
        const uint64_t *fp = (const uint64_t *)(uintptr_t)rbp;
        uint64_t ret = fp[1];

        if (ret == 0)
            break;
        serial_printf("  #%u 0x%llx\n", i, (unsigned long long)ret);
        if (fp[0] <= rbp) /* frames go up the stack; anything else is junk */
            break;
        rbp = fp[0];
    }
}

static uint64_t trap_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static void trap_print_regs(const struct trap_frame *f)
{
    serial_printf("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
                 "  rsi %016llx rdi %016llx rbp %016llx rsp %016llx\n"
                 "  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
                 "  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
                 "  rflags %llx cs %llx ss %llx\n",
                 (unsigned long long)f->rax, (unsigned long long)f->rbx,
                 (unsigned long long)f->rcx, (unsigned long long)f->rdx,
                 (unsigned long long)f->rsi, (unsigned long long)f->rdi,
                 (unsigned long long)f->rbp, (unsigned long long)f->rsp,
                 (unsigned long long)f->r8, (unsigned long long)f->r9,
                 (unsigned long long)f->r10, (unsigned long long)f->r11,
                 (unsigned long long)f->r12, (unsigned long long)f->r13,
                 (unsigned long long)f->r14, (unsigned long long)f->r15,
                 (unsigned long long)f->rflags, (unsigned long long)f->cs,
                 (unsigned long long)f->ss);
}

/* An exception or a vector nothing uses: report and leave QEMU. */
static _Noreturn void trap_fatal(const struct trap_frame *f)
{
    const char *name = "unexpected interrupt";

    if (trap_reporting++)
        trap_exit(TRAP_EXIT_FAULT); /* faulted while reporting */
    if (f->vector < 32)
        name = trap_names[f->vector] ? trap_names[f->vector] : "reserved";
    serial_printf("\ncapos-sim: fatal: vector %llu (%s), error code 0x%llx, "
                 "rip 0x%llx, cr2 0x%llx\n",
                 (unsigned long long)f->vector, name,
                 (unsigned long long)f->error, (unsigned long long)f->rip,
                 (unsigned long long)trap_cr2());
    trap_print_regs(f);
    serial_printf("  #  0x%llx (faulting rip)\n", (unsigned long long)f->rip);
    trap_backtrace(f->rbp);
    serial_printf("capos-sim: stopped: a fault in the system, not in its "
                 "input; exit status %u\n",
                 (TRAP_EXIT_FAULT << 1) | 1u);
    trap_exit(TRAP_EXIT_FAULT);
}

void trap_dispatch(struct trap_frame *f)
{
    if (f->vector >= TRAP_IRQ_BASE && f->vector < TRAP_IRQ_BASE + 16) {
        unsigned irq = (unsigned)f->vector - TRAP_IRQ_BASE;

        /* A spurious IRQ 7 or 15 is not in service and gets no EOI
         * (IRQ 15 still needs one on the master). */
        if ((irq == 7 || irq == 15) && !timer_pic_in_service(irq)) {
            if (irq == 15)
                timer_pic_eoi(2);
            return;
        }
        if (irq == 0)
            timer_irq();
        else if (irq == 4)
            serial_irq();
        else
            trap_fatal(f); /* masked at the PIC: should never arrive */
        timer_pic_eoi(irq);
        return;
    }
    trap_fatal(f);
}

_Noreturn void port_panic(const char *msg)
{
    cpu_cli();
    if (trap_reporting++)
        trap_exit(TRAP_EXIT_FAULT);
    serial_printf("\ncapos-sim: panic: %s\n", msg != NULL ? msg : "(null)");
    trap_backtrace((uint64_t)(uintptr_t)__builtin_frame_address(0));
    serial_printf("capos-sim: this is a bug in capos-sim, not in your input; "
                 "exit status %u\n",
                 (TRAP_EXIT_FAULT << 1) | 1u);
    trap_exit(TRAP_EXIT_FAULT);
}
