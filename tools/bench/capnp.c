/*
 * tools/bench/capnp.c - capos-bench figures: capnp_console_write64,
 * capnp_tcp_recv1k: the Cap'n Proto codec.
 */
#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>

#include "bench.h"
#include "capos.capnp.h"
#include "capos/capnp.h"

static volatile uint64_t codec_sink; /* keeps the decoded bytes live */

/*
 * ns per encode + decode of a message whose root struct holds one Data
 * pointer (pointer 0) of len bytes: Console.write params (@0 data :Data)
 * or TcpSocket.recv results (data :Data). Encode: builder over a reused
 * buffer, root, set_data, finish (framed). Decode: parse the framing, the
 * root, the Data field, and read its first and last byte.
 */
static int codec_data_roundtrip(const char *figure, size_t len, uint64_t ops,
                                unsigned reps, double *samples)
{
    static uint8_t payload[1024], buf[2048];
    uint64_t sum = 0;

    if (len > sizeof payload) {
        printf("%s failed: payload of %zu bytes is larger than %zu\n", figure,
               len, sizeof payload);
        return BENCH_FAIL;
    }
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();

        for (uint64_t i = 0; i < ops; i++) {
            capnp_builder b;
            capnp_struct_builder root;
            capnp_message m;
            capnp_struct rs;
            const uint8_t *d;
            size_t n, dn;
            int rc;

            capnp_builder_init(&b, buf, sizeof buf);
            capnp_init_root(&b, 0, 1, &root);
            capnp_set_data(&root, 0, payload, len);
            if ((rc = capnp_finish(&b, &n)) != CAPNP_OK ||
                (rc = capnp_msg_init(&m, buf, n, NULL)) != CAPNP_OK ||
                (rc = capnp_msg_root(&m, &rs)) != CAPNP_OK ||
                (rc = capnp_get_data(&rs, 0, &d, &dn)) != CAPNP_OK) {
                printf("%s failed: codec returned %d (%s)\n", figure, rc,
                       capnp_strerror(rc));
                return BENCH_FAIL;
            }
            if (dn != len || d[0] != payload[0] ||
                d[dn - 1] != payload[len - 1]) {
                printf("%s failed: decoded %zu bytes, want %zu equal to the "
                       "encoded ones\n",
                       figure, dn, len);
                return BENCH_FAIL;
            }
            sum += d[0] + d[dn - 1];
        }
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), ops);
    }
    codec_sink = sum;
    return BENCH_OK;
}

int fig_capnp_console_write64(uint64_t ops, unsigned reps, double *samples)
{
    return codec_data_roundtrip("capnp_console_write64", 64, ops, reps,
                                samples);
}

int fig_capnp_tcp_recv1k(uint64_t ops, unsigned reps, double *samples)
{
    return codec_data_roundtrip("capnp_tcp_recv1k", 1024, ops, reps, samples);
}
