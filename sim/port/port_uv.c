/*
 * sim/port/port_uv.c - the hosted port: kernel-model/port.h over libuv and libc.
 *
 * Clock, idle wait, kernel heap, user arena pages, console bytes and panic.
 * Execution contexts are in sim/port/ctx.c. The string functions port.h asks a
 * port to provide (memcpy, memmove, memset, memcmp) come from libc.
 *
 * One host thread runs the kernel model and the loop (DESIGN.md,
 * "Execution model"), so the state below is plain static data.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uv.h>

#include "console_uv.h"
#include "net_uv.h"
#include "port.h"
#include "port_uv.h"

static uv_loop_t port_loop;
static uv_timer_t port_deadline_timer;
static bool port_up;
static bool port_deadline_fired;
static uint64_t port_events; /* sim_port_note_event calls, ever */
static int port_console_fd = STDOUT_FILENO;

/* ---------------------------------------------------------------- */
/* Host-only helpers (port_uv.h)                                     */
/* ---------------------------------------------------------------- */

void sim_port_fix_stdio(void)
{
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* open returns the lowest free descriptor: this one. */
        int d = open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
        if (d >= 0 && d != fd)
            (void)close(d);
    }
}

int sim_port_init(void)
{
    int rc;

    if (port_up)
        return 0;
    /* A write to a TCP connection the peer has reset (sim/port/net_uv.c, through
     * uv_try_write and uv_write, which cannot pass MSG_NOSIGNAL) raises
     * SIGPIPE, whose default action would end the whole system; with it
     * ignored the write fails with EPIPE and the socket reports the reset. */
    (void)signal(SIGPIPE, SIG_IGN);
    sim_port_fix_stdio();
    rc = uv_loop_init(&port_loop);
    if (rc != 0)
        return rc;
    rc = uv_timer_init(&port_loop, &port_deadline_timer);
    if (rc != 0) {
        uv_loop_close(&port_loop);
        return rc;
    }
    port_up = true;
    return 0;
}

static void port_close_leftover(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void sim_port_fini(void)
{
    if (!port_up)
        return;
    sim_console_close(); /* restores a raw terminal; state of its own */
    sim_net_close();
    /* Closes the deadline timer and whatever a backend left open. */
    uv_walk(&port_loop, port_close_leftover, NULL);
    uv_run(&port_loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&port_loop) != 0)
        port_panic("sim_port_fini: the libuv loop still has open handles "
                   "after closing them all");
    port_up = false;
}

uv_loop_t *sim_loop(void)
{
    if (!port_up && sim_port_init() != 0)
        port_panic("sim_loop: libuv could not create an event loop "
                   "(out of file descriptors or memory?)");
    return &port_loop;
}

void sim_console_set_fd(int fd)
{
    port_console_fd = fd;
}

void sim_port_note_event(void)
{
    port_events++;
}

/* ---------------------------------------------------------------- */
/* Clock and idle wait                                               */
/* ---------------------------------------------------------------- */

/* CLOCK_MONOTONIC in ns (libuv's uv_hrtime); never fails. */
uint64_t port_clock_ns(void)
{
    return uv_hrtime();
}

static void port_on_deadline(uv_timer_t *t)
{
    (void)t;
    port_deadline_fired = true;
}

/*
 * Run the loop until a device callback may have run or port_clock_ns()
 * reaches deadline_ns. Returns true if a device event may have been
 * delivered (a backend noted one, or the loop woke for a reason other
 * than our deadline), false if only time passed or if nothing can ever
 * happen (no deadline and no active handle or request: returns at once).
 * A deadline already past polls once without blocking.
 *
 * libuv timers have millisecond resolution and run on the loop's cached
 * (possibly coarse) clock, so the wait rounds up to whole milliseconds and
 * a timer that fires before deadline_ns by our clock waits again.
 */
bool port_idle(uint64_t deadline_ns)
{
    uv_loop_t *loop = sim_loop();
    uint64_t events_before = port_events;

    for (;;) {
        uint64_t now = port_clock_ns();
        uint64_t ms;

        if (deadline_ns <= now) {
            uv_run(loop, UV_RUN_NOWAIT);
            return port_events != events_before;
        }
        if (deadline_ns == UINT64_MAX) {
            if (!uv_loop_alive(loop))
                return false;
            /* Blocks until some callback runs: an event by definition. */
            uv_run(loop, UV_RUN_ONCE);
            return true;
        }
        ms = (deadline_ns - now + 999999u) / 1000000u;
        port_deadline_fired = false;
        uv_update_time(loop); /* the timer counts from the loop's now */
        uv_timer_start(&port_deadline_timer, port_on_deadline, ms, 0);
        uv_run(loop, UV_RUN_ONCE);
        uv_timer_stop(&port_deadline_timer);
        if (port_events != events_before || !port_deadline_fired)
            return true;
    }
}

/* ---------------------------------------------------------------- */
/* Memory                                                            */
/* ---------------------------------------------------------------- */

/* Zeroed heap memory, or NULL when the host is out of memory. A zero
 * size still gives a unique pointer, so NULL always means failure. */
void *port_alloc(size_t size)
{
    return calloc(1, size != 0 ? size : 1);
}

void port_free(void *p)
{
    free(p);
}

/*
 * Zeroed, page-aligned, read-write anonymous memory of size bytes
 * (rounded up to whole pages by the host). MAP_NORESERVE: a large arena
 * costs only the pages touched. NULL when size is 0 or the host refuses.
 * Freed with port_pages_free and the same size.
 */
void *port_pages_alloc(size_t size)
{
    void *p;

    if (size == 0)
        return NULL;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Return pages from port_pages_alloc; NULL does nothing. A range the host
 * rejects means the model passed a pointer or size it did not get from
 * port_pages_alloc, which is a model bug and panics. */
void port_pages_free(void *p, size_t size)
{
    if (p == NULL)
        return;
    if (munmap(p, size) != 0)
        port_panic("port_pages_free: munmap rejected the range (pointer "
                   "or size not from port_pages_alloc)");
}

/* ---------------------------------------------------------------- */
/* Console and panic                                                 */
/* ---------------------------------------------------------------- */

/* Write all of buf to fd, retrying short writes, EINTR and EAGAIN (a
 * non-blocking fd waits in poll). Returns false if the fd fails. */
static bool port_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/*
 * Console bytes go to the configured fd (sim_console_set_fd), whole. A
 * console that fails (closed pipe, full disk) drops the bytes: there is
 * nowhere left to report it, and the model must not stop for it.
 */
void port_console_write(const char *buf, size_t len)
{
    (void)port_write_all(port_console_fd, buf, len);
}

/* Print the message to stderr and abort() (core dump, debugger stop). */
_Noreturn void port_panic(const char *msg)
{
    static const char head[] = "capos-sim: panic: ";
    static const char tail[] =
        "\ncapos-sim: this is a bug in capos-sim, not in your input; "
        "please report it with the command line and the seed it ran "
        "with\n";

    (void)port_write_all(STDERR_FILENO, head, sizeof(head) - 1);
    if (msg != NULL)
        (void)port_write_all(STDERR_FILENO, msg, strlen(msg));
    (void)port_write_all(STDERR_FILENO, tail, sizeof(tail) - 1);
    abort();
}

/* ---- built-in programs ------------------------------------------------ */

static const struct sim_binary *binaries;
static size_t nbinaries;

void sim_set_binaries(const struct sim_binary *table, size_t n)
{
    binaries = table;
    nbinaries = table ? n : 0;
}

void (*port_binary_entry(const char *name, size_t len))(void *)
{
    for (size_t i = 0; i < nbinaries; i++)
        if (strlen(binaries[i].name) == len &&
            memcmp(binaries[i].name, name, len) == 0)
            return binaries[i].entry;
    return NULL;
}
