/*
 * sim/port/console_uv.c - console input of the hosted port: the port.h console
 * read side (port_console_read, port_console_watch, port_console_size) over
 * libuv, and the host-only helpers of sim/port/console_uv.h.
 *
 * The console is one host file descriptor, read through a duplicate:
 *   terminal      uv_tty, in raw mode for SIM_CONSOLE_STDIO (restored by
 *                 sim_console_close, at exit and on fatal signals);
 *   pipe, socket  uv_pipe;
 *   file, device  plain read() from a uv_idle callback (files are always
 *                 "readable", and epoll refuses them).
 * Bytes land in one 4 KiB buffer that port_console_read drains. The host is
 * read only while the model watches (a readLine waits): otherwise the loop
 * holds no active console handle, so an idle system is not kept awake by
 * its console, and what the user types meanwhile stays with the host.
 *
 * One host thread runs the loop and the model (DESIGN.md, "Execution
 * model"), so the state below is plain static data. The raw-mode restore
 * path is the exception: it runs from signal handlers and uses only
 * async-signal-safe calls on state set before the handlers were armed.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <uv.h>

#include "console_uv.h"
#include "port.h"
#include "port_uv.h"

#define CON_BUF 4096u

enum con_kind { CON_NONE = 0, CON_TTY, CON_STREAM, CON_FILE };

static struct {
    enum con_kind kind;
    uv_handle_t *h;  /* tty, pipe or idle handle (heap; the close cb frees) */
    int fd;          /* CON_FILE: our descriptor; CON_STREAM: for flags */
    int saved_flags; /* CON_STREAM: status flags to put back at close */
    bool watched;    /* the model asked for k_console_input_ready */
    bool reading;    /* uv_read_start (or the file idle) is active */
    bool eof;        /* input ended; final */
    size_t head, tail;
    uint8_t buf[CON_BUF];
} con;

/* ---------------------------------------------------------------- */
/* Raw mode and its restore                                          */
/* ---------------------------------------------------------------- */

/* Set before raw mode starts and read by signal handlers. */
static volatile sig_atomic_t raw_active;
static struct termios raw_saved; /* the terminal's mode before raw */
static int raw_fd = -1;          /* a descriptor of the terminal */

static const int raw_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT,
                                  SIGBUS, SIGFPE, SIGSEGV, SIGTERM};
#define RAW_NSIG (sizeof raw_signals / sizeof raw_signals[0])
static struct sigaction raw_old[RAW_NSIG];
static bool raw_hooked[RAW_NSIG];
static bool raw_handlers_armed;

/* Put the terminal back as it was (async-signal-safe; idempotent). */
static void raw_restore(int when)
{
    if (!raw_active)
        return;
    raw_active = 0;
    (void)tcsetattr(raw_fd, when, &raw_saved);
}

static void raw_restore_at_exit(void)
{
    raw_restore(TCSADRAIN);
}

/*
 * A fatal signal while the terminal is raw: restore it, reinstate the
 * previous disposition (the default, or a sanitizer's handler) and raise
 * the signal again; it is delivered to that disposition as soon as this
 * handler returns, so the process dies (or reports) as it would have.
 */
static void raw_on_signal(int sig)
{
    int saved_errno = errno;

    raw_restore(TCSANOW);
    for (size_t i = 0; i < RAW_NSIG; i++) {
        if (raw_signals[i] == sig && raw_hooked[i]) {
            (void)sigaction(sig, &raw_old[i], NULL);
            raw_hooked[i] = false;
        }
    }
    (void)raise(sig);
    errno = saved_errno;
}

/* Arm the restore paths once per process: atexit and the fatal signals
 * (except those the process ignores, which stay ignored). */
static void raw_arm_handlers(void)
{
    if (raw_handlers_armed)
        return;
    raw_handlers_armed = true;
    (void)atexit(raw_restore_at_exit);
    for (size_t i = 0; i < RAW_NSIG; i++) {
        struct sigaction sa;

        if (sigaction(raw_signals[i], NULL, &raw_old[i]) != 0 ||
            raw_old[i].sa_handler == SIG_IGN)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = raw_on_signal;
        sigemptyset(&sa.sa_mask);
        if (sigaction(raw_signals[i], &sa, NULL) == 0)
            raw_hooked[i] = true;
    }
}

/*
 * Put the terminal of tty in raw mode: libuv's (no echo, no canonical
 * editing, output newline translation kept), with one key left to the
 * host: Ctrl-\ (VQUIT) still raises SIGQUIT, the way out of a system
 * that no longer reads its console (the handler restores the terminal).
 * Ctrl-C, Ctrl-Z and every other key arrive as bytes. Returns 0 or a
 * negative libuv error code (the mode is unchanged then).
 */
static int raw_enter(uv_tty_t *tty)
{
    uv_os_fd_t fd;
    int r = uv_fileno((uv_handle_t *)tty, &fd);

    if (r != 0)
        return r;
    if (tcgetattr(fd, &raw_saved) != 0)
        return -errno;
    raw_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (raw_fd < 0)
        return -errno;
    raw_arm_handlers();
    /* Active before the change: a signal in between restores the saved
     * mode, which is harmless. */
    raw_active = 1;
    r = uv_tty_set_mode(tty, UV_TTY_MODE_RAW);
    if (r == 0) {
        struct termios t;

        if (tcgetattr(fd, &t) == 0) {
            t.c_lflag |= ISIG;
            t.c_cc[VINTR] = _POSIX_VDISABLE;
            t.c_cc[VSUSP] = _POSIX_VDISABLE;
            if (tcsetattr(fd, TCSADRAIN, &t) != 0)
                r = -errno;
        } else {
            r = -errno;
        }
    }
    if (r != 0) {
        raw_restore(TCSANOW);
        close(raw_fd);
        raw_fd = -1;
    }
    return r;
}

static void raw_leave(uv_tty_t *tty)
{
    if (!raw_active)
        return;
    (void)uv_tty_set_mode(tty, UV_TTY_MODE_NORMAL);
    raw_restore(TCSADRAIN);
    close(raw_fd);
    raw_fd = -1;
}

/* ---------------------------------------------------------------- */
/* Reading                                                           */
/* ---------------------------------------------------------------- */

/* Move the unread bytes to the front; returns the free room after them. */
static size_t con_compact(void)
{
    if (con.head > 0) {
        memmove(con.buf, con.buf + con.head, con.tail - con.head);
        con.tail -= con.head;
        con.head = 0;
    }
    return CON_BUF - con.tail;
}

/* Something arrived (bytes or the end): count it as a device event and
 * tell the model if it watches. */
static void con_arrived(void)
{
    sim_port_note_event();
    if (con.watched)
        k_console_input_ready();
}

static void con_stop_reading(void)
{
    if (!con.reading)
        return;
    con.reading = false;
    if (con.kind == CON_FILE)
        uv_idle_stop((uv_idle_t *)con.h);
    else
        uv_read_stop((uv_stream_t *)con.h);
}

static void con_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    (void)suggested;
    size_t room = con_compact();
    b->base = (char *)con.buf + con.tail;
    b->len = room; /* 0 makes libuv report UV_ENOBUFS */
}

static void con_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)s;
    (void)b;
    if (n == 0)
        return; /* EAGAIN */
    if (n == UV_ENOBUFS) {
        /* Full: wait until port_console_read makes room. */
        con_stop_reading();
        return;
    }
    if (n > 0) {
        con.tail += (size_t)n;
        if (con.tail == CON_BUF)
            con_stop_reading();
    } else {
        /* UV_EOF, or an error (hang-up, EIO): either way the input has
         * ended for the model. */
        con.eof = true;
        con_stop_reading();
    }
    con_arrived();
}

/* Files and devices are always readable: one read() per loop turn while
 * watched, so a long file cannot hold the model in one call. */
static void con_file_idle(uv_idle_t *h)
{
    (void)h;
    size_t room = con_compact();
    ssize_t n;

    if (room == 0) {
        con_stop_reading();
        return;
    }
    do
        n = read(con.fd, con.buf + con.tail, room);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n > 0) {
        con.tail += (size_t)n;
    } else {
        con.eof = true;
        con_stop_reading();
    }
    con_arrived();
}

/* Read from the host while watched, not at the end, and with room. A
 * handle that refuses to start ends the input (the model sees EOF on its
 * next port_console_read). */
static void con_start_reading(void)
{
    int r;

    if (con.reading || !con.watched || con.eof || con.kind == CON_NONE ||
        con.tail - con.head == CON_BUF)
        return;
    if (con.kind == CON_FILE)
        r = uv_idle_start((uv_idle_t *)con.h, con_file_idle);
    else
        r = uv_read_start((uv_stream_t *)con.h, con_alloc, con_on_read);
    if (r != 0)
        con.eof = true;
    else
        con.reading = true;
}

/* ---------------------------------------------------------------- */
/* port.h                                                            */
/* ---------------------------------------------------------------- */

/* See port.h. Never blocks: it hands out what the callbacks buffered. */
int port_console_read(void *buf, size_t cap)
{
    size_t avail = con.tail - con.head;

    if (cap > INT_MAX)
        cap = INT_MAX;
    if (avail > 0 && cap > 0) {
        size_t n = avail < cap ? avail : cap;
        memcpy(buf, con.buf + con.head, n);
        con.head += n;
        if (con.head == con.tail)
            con.head = con.tail = 0;
        con_start_reading(); /* room again after a full buffer */
        return (int)n;
    }
    if (con.eof || con.kind == CON_NONE)
        return PORT_CONSOLE_EOF;
    return 0;
}

void port_console_watch(bool on)
{
    con.watched = on;
    if (on)
        con_start_reading();
    else
        con_stop_reading();
}

void port_console_size(uint16_t *columns, uint16_t *rows)
{
    int w = 0, h = 0;

    if (con.kind != CON_TTY ||
        uv_tty_get_winsize((uv_tty_t *)con.h, &w, &h) != 0)
        w = h = 0;
    *columns = (uint16_t)(w > 0 && w <= UINT16_MAX ? w : 0);
    *rows = (uint16_t)(h > 0 && h <= UINT16_MAX ? h : 0);
}

/* ---------------------------------------------------------------- */
/* console_uv.h                                                      */
/* ---------------------------------------------------------------- */

int sim_console_parse_mode(const char *arg, enum sim_console_mode *mode)
{
    if (arg != NULL && strcmp(arg, "stdio") == 0) {
        *mode = SIM_CONSOLE_STDIO;
        return 0;
    }
    if (arg != NULL && strcmp(arg, "pipe") == 0) {
        *mode = SIM_CONSOLE_PIPE;
        return 0;
    }
    return -1;
}

static void con_free_handle(uv_handle_t *h)
{
    free(h);
}

/* Open a terminal console on our duplicate d (libuv owns it after a
 * successful init). */
static int con_open_tty(int d, enum sim_console_mode mode)
{
    uv_tty_t *tty = calloc(1, sizeof *tty);
    uv_os_fd_t used;
    int r;

    if (tty == NULL) {
        close(d);
        return UV_ENOMEM;
    }
    r = uv_tty_init(sim_loop(), tty, d, 1);
    if (r != 0) {
        free(tty);
        close(d);
        return r;
    }
    /* libuv reopens a terminal by name (a private file description it
     * can make non-blocking) and dup2s it over d: then d is ours to
     * close. */
    if (uv_fileno((uv_handle_t *)tty, &used) == 0 && used != d)
        close(d);
    con.kind = CON_TTY;
    con.h = (uv_handle_t *)tty;
    con.fd = -1;
    if (mode == SIM_CONSOLE_STDIO) {
        r = raw_enter(tty);
        if (r != 0) {
            sim_console_close();
            return r;
        }
    }
    return 0;
}

/* Open a pipe or socket console on our duplicate d. The status flags are
 * shared with the caller's descriptor (libuv sets O_NONBLOCK): they are
 * put back at close. */
static int con_open_stream(int d)
{
    uv_pipe_t *p = calloc(1, sizeof *p);
    int flags = fcntl(d, F_GETFL);
    int r;

    if (p == NULL || flags < 0) {
        r = p == NULL ? UV_ENOMEM : -errno;
        free(p);
        close(d);
        return r;
    }
    r = uv_pipe_init(sim_loop(), p, 0);
    if (r != 0) {
        free(p);
        close(d);
        return r;
    }
    r = uv_pipe_open(p, d);
    if (r != 0) {
        uv_close((uv_handle_t *)p, con_free_handle);
        (void)fcntl(d, F_SETFL, flags);
        close(d);
        return r;
    }
    con.kind = CON_STREAM;
    con.h = (uv_handle_t *)p;
    con.fd = d;
    con.saved_flags = flags;
    return 0;
}

/* Open a file or device console on our duplicate d (read by us). */
static int con_open_file(int d)
{
    uv_idle_t *idle = calloc(1, sizeof *idle);
    int r;

    if (idle == NULL) {
        close(d);
        return UV_ENOMEM;
    }
    r = uv_idle_init(sim_loop(), idle);
    if (r != 0) {
        free(idle);
        close(d);
        return r;
    }
    con.kind = CON_FILE;
    con.h = (uv_handle_t *)idle;
    con.fd = d;
    return 0;
}

/* See console_uv.h. */
int sim_console_open(int fd, enum sim_console_mode mode)
{
    uv_handle_type type;
    int d, r;

    sim_console_close();
    type = uv_guess_handle(fd);
    if (type != UV_TTY && type != UV_NAMED_PIPE && type != UV_TCP &&
        type != UV_FILE)
        return UV_EINVAL;
    /* At least 3, so that libuv's close never skips it as stdio. */
    d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (d < 0)
        return -errno;
    switch (type) {
    case UV_TTY:
        r = con_open_tty(d, mode);
        break;
    case UV_FILE:
        r = con_open_file(d);
        break;
    default:
        r = con_open_stream(d);
        break;
    }
    if (r == 0)
        con_start_reading(); /* a reader may already be waiting */
    return r;
}

/*
 * See console_uv.h. The model's watch outlives the console: a reader
 * waiting now is told (it reads the end of input), and a console opened
 * later starts reading for it.
 */
void sim_console_close(void)
{
    bool watched = con.watched;

    if (con.kind == CON_NONE)
        return;
    con_stop_reading();
    if (con.kind == CON_TTY)
        raw_leave((uv_tty_t *)con.h);
    if (con.kind == CON_STREAM)
        (void)fcntl(con.fd, F_SETFL, con.saved_flags);
    /* The tty and pipe handles close their descriptor (>= 3) here. */
    if (!uv_is_closing(con.h))
        uv_close(con.h, con_free_handle);
    if (con.kind == CON_FILE)
        close(con.fd);
    memset(&con, 0, sizeof con);
    con.fd = -1;
    con.watched = watched;
    if (watched)
        con_arrived();
}

bool sim_console_is_raw(void)
{
    return raw_active != 0;
}

bool sim_console_is_watched(void)
{
    return con.watched;
}
