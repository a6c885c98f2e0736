/*
 * metal/x86_64/serial.c - the console of the bare-metal port: COM1, a
 * 16550 UART at I/O port 0x3F8, 115200 8N1 (QEMU: -serial stdio).
 *
 * Output is polled (wait for the transmit holding register to empty, then
 * write a byte). Input is interrupt-driven: IRQ 4 moves every received
 * byte into a bounded ring buffer; when the buffer is full further bytes
 * are dropped and counted (a flood of garbage costs input, never memory).
 * A break condition (the line held low) or a framing or parity error
 * delivers no byte. The port.h console functions read that buffer.
 *
 * The buffer is written only by the interrupt handler and read only with
 * interrupts off (port_console_read, port_idle), so no lock is needed on
 * this single CPU.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "metal.h"
#include "port.h"

#define SERIAL_BASE 0x3f8u
#define SERIAL_RBR (SERIAL_BASE + 0) /* receive buffer (DLAB 0) */
#define SERIAL_THR (SERIAL_BASE + 0) /* transmit holding (DLAB 0) */
#define SERIAL_IER (SERIAL_BASE + 1)
#define SERIAL_FCR (SERIAL_BASE + 2)
#define SERIAL_LCR (SERIAL_BASE + 3)
#define SERIAL_MCR (SERIAL_BASE + 4)
#define SERIAL_LSR (SERIAL_BASE + 5)
#define SERIAL_LSR_DR 0x01u   /* data ready */
#define SERIAL_LSR_ERR 0x1cu  /* parity, framing, break */
#define SERIAL_LSR_THRE 0x20u /* transmit holding register empty */
#define SERIAL_IN_CAP 4096u   /* a power of two */

static uint8_t serial_in[SERIAL_IN_CAP];
static uint32_t serial_head, serial_tail; /* free-running; head - tail = used */
static uint64_t serial_lost;
static bool serial_watching;
static bool serial_new; /* input arrived since the last event taken */

void serial_init(void)
{
    cpu_outb(SERIAL_IER, 0x00);
    cpu_outb(SERIAL_LCR, 0x80); /* DLAB: divisor follows */
    cpu_outb(SERIAL_BASE + 0, 1); /* 115200 / 1 */
    cpu_outb(SERIAL_BASE + 1, 0);
    cpu_outb(SERIAL_LCR, 0x03); /* 8N1 */
    cpu_outb(SERIAL_FCR, 0xc7); /* FIFOs on, cleared, 14-byte trigger */
    cpu_outb(SERIAL_MCR, 0x0b); /* DTR, RTS, OUT2 (routes the IRQ) */
    (void)cpu_inb(SERIAL_RBR);
    cpu_outb(SERIAL_IER, 0x01); /* interrupt on received data */
}

static void serial_putc(uint8_t c)
{
    for (unsigned spin = 0; !(cpu_inb(SERIAL_LSR) & SERIAL_LSR_THRE); spin++)
        if (spin > 1000000u)
            return; /* no UART answering: drop rather than hang */
    cpu_outb(SERIAL_THR, c);
}

/* A terminal on the far side of the line is raw (QEMU's -serial stdio),
 * so a bare "\n" goes out as "\r\n"; one already preceded by "\r" is
 * left alone. */
static void serial_put_text(uint8_t c)
{
    static uint8_t last;

    if (c == '\n' && last != '\r')
        serial_putc('\r');
    serial_putc(c);
    last = c;
}

void serial_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        serial_put_text((uint8_t)buf[i]);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_put_text((uint8_t)*s++);
}

void serial_irq(void)
{
    uint8_t lsr;

    while ((lsr = cpu_inb(SERIAL_LSR)) & SERIAL_LSR_DR) {
        uint8_t c = cpu_inb(SERIAL_RBR);

        if (lsr & SERIAL_LSR_ERR)
            continue; /* a break or a garbled byte: not input */
        if (serial_head - serial_tail == SERIAL_IN_CAP) {
            serial_lost++;
            continue;
        }
        serial_in[serial_head++ & (SERIAL_IN_CAP - 1)] = c;
        serial_new = true;
    }
}

bool serial_take_event(void)
{
    if (!serial_watching || !serial_new)
        return false;
    serial_new = false;
    return true;
}

bool serial_watched(void)
{
    return serial_watching;
}

uint64_t serial_dropped(void)
{
    return serial_lost;
}

/* ---- port.h console ----------------------------------------------------- */

void port_console_write(const char *buf, size_t len)
{
    serial_write(buf, len);
}

/* Up to cap buffered bytes; 0 when none. A serial line never ends, so
 * PORT_CONSOLE_EOF is never returned. */
int port_console_read(void *buf, size_t cap)
{
    uint8_t *out = buf;
    size_t n = 0;
    uint64_t flags;

    if (cap > 0x7fffffff)
        cap = 0x7fffffff;
    flags = cpu_irq_save();
    while (n < cap && serial_tail != serial_head)
        out[n++] = serial_in[serial_tail++ & (SERIAL_IN_CAP - 1)];
    cpu_irq_restore(flags);
    return (int)n;
}

void port_console_watch(bool on)
{
    uint64_t flags = cpu_irq_save();

    serial_watching = on;
    serial_new = false; /* port.h: input from before the watch gets no call */
    cpu_irq_restore(flags);
}

void port_console_size(uint16_t *columns, uint16_t *rows)
{
    *columns = 0;
    *rows = 0;
}

/* printf to the console, at most one line buffer (1 KiB) a call. */
void serial_printf(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    serial_write(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
