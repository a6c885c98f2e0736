/*
 * metal/x86_64/timer.c - time on the bare-metal port: the 8259 PICs, the
 * 8254 PIT and the TSC.
 *
 * The monotonic clock (port_clock_ns) is the TSC, calibrated once at boot
 * against PIT channel 2 over 10 ms (the PIT counts at 1.193182 MHz on
 * every PC). The PIT's channel 0 interrupts at 1 kHz; its only job is to
 * wake the CPU from hlt, so port_idle can notice a deadline with 1 ms
 * granularity. Interrupts are remapped to vectors 32-47 (trap.c); only
 * IRQ 0 (PIT) and IRQ 4 (COM1) are unmasked.
 */
#include <stdint.h>

#include "metal.h"
#include "port.h"

#define TIMER_PIC1_CMD 0x20u
#define TIMER_PIC1_DATA 0x21u
#define TIMER_PIC2_CMD 0xa0u
#define TIMER_PIC2_DATA 0xa1u
#define TIMER_PIT_CH0 0x40u
#define TIMER_PIT_CH2 0x42u
#define TIMER_PIT_CMD 0x43u
#define TIMER_PIT_GATE 0x61u
#define TIMER_PIT_HZ 1193182u
#define TIMER_TICK_HZ 1000u
#define TIMER_CAL_MS 10u

static uint64_t timer_hz;      /* TSC ticks per second */
static uint64_t timer_mult;    /* ns = (tsc - timer_base) * mult >> 32 */
static uint64_t timer_base;    /* TSC at calibration */
static volatile uint64_t timer_ticks;

static void timer_pic_init(void)
{
    cpu_outb(TIMER_PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 */
    cpu_outb(TIMER_PIC2_CMD, 0x11);
    cpu_outb(TIMER_PIC1_DATA, 0x20); /* ICW2: vectors 32.. and 40.. */
    cpu_outb(TIMER_PIC2_DATA, 0x28);
    cpu_outb(TIMER_PIC1_DATA, 0x04); /* ICW3: slave on IRQ 2 */
    cpu_outb(TIMER_PIC2_DATA, 0x02);
    cpu_outb(TIMER_PIC1_DATA, 0x01); /* ICW4: 8086 mode */
    cpu_outb(TIMER_PIC2_DATA, 0x01);
    cpu_outb(TIMER_PIC1_DATA, (uint8_t)~((1u << 0) | (1u << 4)));
    cpu_outb(TIMER_PIC2_DATA, 0xff);
}

/* TSC ticks in TIMER_CAL_MS, counted by PIT channel 2 in mode 0 (its
 * output, bit 5 of port 0x61, rises at the terminal count); 0 if the PIT
 * never answers. */
static uint64_t timer_calibrate(void)
{
    uint16_t count = (uint16_t)(TIMER_PIT_HZ / (1000u / TIMER_CAL_MS));
    uint64_t t0, t1;

    cpu_outb(TIMER_PIT_GATE, (uint8_t)((cpu_inb(TIMER_PIT_GATE) & ~0x02u) | 0x01u));
    cpu_outb(TIMER_PIT_CMD, 0xb0); /* channel 2, lo/hi, mode 0, binary */
    cpu_outb(TIMER_PIT_CH2, (uint8_t)count);
    cpu_outb(TIMER_PIT_CH2, (uint8_t)(count >> 8));
    t0 = cpu_rdtsc();
    for (uint64_t spin = 0; !(cpu_inb(TIMER_PIT_GATE) & 0x20u); spin++)
        if (spin > 100000000ull)
            return 0;
    t1 = cpu_rdtsc();
    return (t1 - t0) * (1000u / TIMER_CAL_MS);
}

void timer_init(void)
{
    uint16_t div = (uint16_t)(TIMER_PIT_HZ / TIMER_TICK_HZ);

    timer_pic_init();
    timer_hz = timer_calibrate();
    if (timer_hz < 1000000u) {
        serial_printf("capos-sim: the PIT did not count; assuming a 1 GHz "
                     "TSC (times will be wrong)\n");
        timer_hz = 1000000000u;
    }
    timer_mult = (uint64_t)((1000000000ull << 32) / timer_hz);
    timer_base = cpu_rdtsc();
    cpu_outb(TIMER_PIT_CMD, 0x34); /* channel 0, lo/hi, rate generator */
    cpu_outb(TIMER_PIT_CH0, (uint8_t)div);
    cpu_outb(TIMER_PIT_CH0, (uint8_t)(div >> 8));
}

void timer_irq(void)
{
    timer_ticks++;
}

void timer_pic_eoi(unsigned irq)
{
    if (irq >= 8)
        cpu_outb(TIMER_PIC2_CMD, 0x20);
    cpu_outb(TIMER_PIC1_CMD, 0x20);
}

bool timer_pic_in_service(unsigned irq)
{
    uint16_t cmd = irq >= 8 ? TIMER_PIC2_CMD : TIMER_PIC1_CMD;

    cpu_outb((uint16_t)cmd, 0x0b); /* OCW3: read the in-service register */
    return (cpu_inb((uint16_t)cmd) >> (irq & 7)) & 1u;
}

uint64_t timer_tsc_hz(void)
{
    return timer_hz;
}

/* ---- port.h clock and idle wait ------------------------------------------ */

/* Nanoseconds since calibration, from the TSC. */
uint64_t port_clock_ns(void)
{
    uint64_t d = cpu_rdtsc() - timer_base;

    return (uint64_t)(((unsigned __int128)d * timer_mult) >> 32);
}

/*
 * Halt until console input arrives while watched (then tell the model and
 * return true) or the clock reaches deadline_ns (false). With no deadline
 * and no console watch nothing can ever happen (there is no other device):
 * false at once. The checks run with interrupts off and "sti; hlt" is one
 * step (sti takes effect after hlt starts), so an interrupt between the
 * check and the halt still wakes it.
 */
bool port_idle(uint64_t deadline_ns)
{
    for (;;) {
        cpu_cli();
        if (serial_take_event()) {
            cpu_sti();
            k_console_input_ready();
            return true;
        }
        if (port_clock_ns() >= deadline_ns ||
            (deadline_ns == UINT64_MAX && !serial_watched())) {
            cpu_sti();
            return false;
        }
        __asm__ volatile("sti\n\thlt" ::: "memory");
    }
}
