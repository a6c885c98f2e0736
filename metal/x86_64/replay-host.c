/*
 * metal/x86_64/replay-host.c - the hosted half of make qemu-diff:
 * `ring-replay FILE...` replays each ring_dispatch input on the hosted port
 * (replay.c, the code the metal image runs with boot option `replay`) and
 * prints one line per input (REPLAY_LINE). Exit 0 when every input
 * replayed, 1 when one failed (its reason on stderr), 2 on a usage or I/O
 * error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

/* The input's bytes (at most INPUT_MAX are used; read 64 KiB). */
static size_t replay_read(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "ring-replay: cannot read %s: %s\n", path,
                strerror(errno));
        exit(2);
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    static uint8_t buf[65536];
    int status = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: ring-replay FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *base = strrchr(argv[i], '/');
        size_t n = replay_read(argv[i], buf, sizeof buf);
        struct replay_result r;
        char err[160];

        base = base ? base + 1 : argv[i];
        if (replay_input(buf, n, &r, err, sizeof err) != 0) {
            fprintf(stderr, "ring-replay: %s: %s\n", base, err);
            status = 1;
            continue;
        }
        printf(REPLAY_LINE, base, (unsigned long long)r.digest, r.cqes,
               r.steps);
    }
    return status;
}
