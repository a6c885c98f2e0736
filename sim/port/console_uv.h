/*
 * sim/port/console_uv.h - host-only helpers of the hosted console input
 * (sim/port/console_uv.c): which host file descriptor is the console, and how.
 *
 * The model sees only port_console_read / port_console_watch /
 * port_console_size (kernel-model/port.h). Output stays with
 * port_console_write and sim_console_set_fd (sim/port/port_uv.h). Nothing under
 * kernel-model/ or services/ may include this header.
 *
 * Until sim_console_open succeeds there is no console input: the port
 * reports end of input, so a TerminalSession.readLine gets endOfInput.
 */
#ifndef CAPOS_SIM_CONSOLE_UV_H
#define CAPOS_SIM_CONSOLE_UV_H

#include <stdbool.h>

/* The `--console` choices of capos-sim. */
enum sim_console_mode {
    /*
     * Interactive: the fd is the console. If it is a terminal it is put in
     * raw mode (no host echo, no host line editing, Ctrl-C, Ctrl-D and
     * Ctrl-Z arrive as bytes: the TerminalSession edits and echoes);
     * only Ctrl-\ stays with the host: SIGQUIT, the way out. The mode is
     * restored by sim_console_close, at exit, and on fatal signals. A fd
     * that is not a terminal is read as a byte stream.
     */
    SIM_CONSOLE_STDIO,
    /*
     * Scripted runs: the fd is read as a byte stream (pipe, socket or
     * file) and terminal modes are never touched, even if it is a
     * terminal.
     */
    SIM_CONSOLE_PIPE,
};

/*
 * Parse a `--console` argument: "stdio" or "pipe". Returns 0 and sets
 * *mode, or -1 for anything else (the caller prints its usage, e.g.
 * "--console needs stdio or pipe").
 */
int sim_console_parse_mode(const char *arg, enum sim_console_mode *mode);

/*
 * Make fd (STDIN_FILENO for capos-sim, a pipe's read end in tests) the
 * console input, in mode. The caller keeps its fd: the console works on a
 * duplicate and never closes fd. Replaces an open console (closing it
 * first). Returns 0, or a negative libuv error code (uv_strerror names
 * it): UV_EINVAL when fd is neither a terminal, a pipe, a socket nor a
 * regular file or character device.
 */
int sim_console_open(int fd, enum sim_console_mode mode);

/*
 * Stop reading, restore the terminal mode if it was changed, and close
 * the console's handles (their close callbacks run in the next loop
 * iteration; sim_port_fini calls this, then runs them). Afterwards the
 * port reports end of input. Does nothing when no console is open.
 */
void sim_console_close(void);

/* True while the console terminal is in raw mode (SIM_CONSOLE_STDIO on a
 * terminal). */
bool sim_console_is_raw(void);

/* True while the model watches console input (a readLine waits); tests
 * use it to see that a cancelled read left nothing behind. */
bool sim_console_is_watched(void);

#endif /* CAPOS_SIM_CONSOLE_UV_H */
