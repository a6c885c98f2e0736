/*
 * metal/x86_64/cpu.c - descriptor tables of the bare-metal port: the
 * long-mode GDT with a TSS, the IDT, and the FS base.
 *
 * Everything runs in ring 0 (docs/metal.md, "What metal does not do yet"),
 * so the TSS exists only for its interrupt stack table: IST1 takes the
 * device interrupts, IST2 the exceptions and IST3 double faults and NMIs.
 * With every gate on an IST stack the CPU never pushes a frame below the
 * interrupted stack pointer, which keeps the 128-byte red zone of code
 * compiled without -mno-red-zone (Debian's libargon2.a) intact. Handlers
 * run with interrupts off (interrupt gates), so a stack is never entered
 * twice except by a fault inside a fault report, which trap.c stops.
 */
#include <stdint.h>

#include "metal.h"

#define CPU_IST_SIZE 16384u
#define CPU_SEL_CODE 0x08u
#define CPU_SEL_TSS 0x18u
#define CPU_MSR_FS_BASE 0xC0000100u

struct cpu_tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct cpu_gate {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
} __attribute__((packed));

struct cpu_table_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* null, code 0x08, data 0x10, TSS 0x18 (two words). */
static uint64_t cpu_gdt[5] = {
    0,
    0x00af9a000000ffffull,
    0x00cf92000000ffffull,
    0,
    0,
};
static struct cpu_tss cpu_tss;
static struct cpu_gate cpu_idt[256];
static _Alignas(16) uint8_t cpu_ist_stacks[3][CPU_IST_SIZE];

/* The block FS points at: glibc's layout puts the stack-protector canary
 * at %fs:0x28 (tcbhead_t.stack_guard), which is what code built by
 * Debian's gcc reads. */
static _Alignas(64) uint64_t cpu_fs_block[16];

extern char isr_stubs[];

static void cpu_load_gdt(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&cpu_tss;
    uint64_t limit = sizeof(cpu_tss) - 1;
    struct cpu_table_ptr p = {sizeof(cpu_gdt) - 1,
                              (uint64_t)(uintptr_t)cpu_gdt};

    cpu_tss.iomap_base = sizeof(cpu_tss); /* no I/O bitmap */
    for (unsigned i = 0; i < 3; i++)
        cpu_tss.ist[i] = (uint64_t)(uintptr_t)(cpu_ist_stacks[i] + CPU_IST_SIZE);
    /* Available 64-bit TSS (type 9), present. */
    cpu_gdt[3] = (limit & 0xffffu) | ((base & 0xffffffu) << 16) |
                 (0x89ull << 40) | (((limit >> 16) & 0xfu) << 48) |
                 (((base >> 24) & 0xffu) << 56);
    cpu_gdt[4] = base >> 32;
    __asm__ volatile("lgdt %0" : : "m"(p));
    /* Reload CS through a far return, then the data segments. */
    __asm__ volatile("pushq %0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movw $0x10, %%ax\n\t"
                     "movw %%ax, %%ds\n\t"
                     "movw %%ax, %%es\n\t"
                     "movw %%ax, %%ss\n\t"
                     :
                     : "i"((uint64_t)CPU_SEL_CODE)
                     : "rax", "memory");
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)CPU_SEL_TSS));
}

/* IST index for a vector: 3 for NMI and double fault, 2 for the other
 * exceptions, 1 for everything else. */
static uint8_t cpu_ist_for(unsigned v)
{
    if (v == 2 || v == 8)
        return 3;
    return v < 32 ? 2 : 1;
}

static void cpu_load_idt(void)
{
    struct cpu_table_ptr p = {sizeof(cpu_idt) - 1,
                              (uint64_t)(uintptr_t)cpu_idt};

    for (unsigned v = 0; v < 256; v++) {
        uint64_t off = (uint64_t)(uintptr_t)(isr_stubs + 16u * v);
        cpu_idt[v] = (struct cpu_gate){
            .off_lo = (uint16_t)off,
            .sel = CPU_SEL_CODE,
            .ist = cpu_ist_for(v),
            .type = 0x8e, /* present, ring 0, 64-bit interrupt gate */
            .off_mid = (uint16_t)(off >> 16),
            .off_hi = (uint32_t)(off >> 32),
        };
    }
    __asm__ volatile("lidt %0" : : "m"(p));
}

void cpu_init(void)
{
    cpu_load_gdt();
    cpu_load_idt();
}

void cpu_set_canary(uint64_t canary)
{
    cpu_fs_block[0] = (uint64_t)(uintptr_t)cpu_fs_block; /* tcb self */
    cpu_fs_block[5] = canary;                            /* %fs:0x28 */
    cpu_wrmsr(CPU_MSR_FS_BASE, (uint64_t)(uintptr_t)cpu_fs_block);
}
