/*
 * svc_fuzz.h - the shared driver of a service's own libFuzzer target
 * (a `fuzz=DIR/fuzz_X.c` word in services/services.list; docs/services.md
 * §9). The target is one line:
 *
 *     int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *     {
 *         return svc_fuzz(COUNTER_COUNTER_INTERFACE_ID, data, size);
 *     }
 *
 * and links the service's sources, whose capos_main is the server.
 */
#ifndef CAPOS_SVC_FUZZ_H
#define CAPOS_SVC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * One input, as up to SVC_FUZZ_CALLS calls on the server, each
 * [method u16 LE][params length u16 LE][params bytes], the last one
 * taking what is left: a fresh kernel model, the server (capos_main) on
 * its "serve" Endpoint with a console, and a client holding a facet of
 * it typed iface (badge from the input's first call) that makes the
 * calls in order through capos-rt and exits. Aborts when the client
 * does not exit cleanly, a call gets no completion, or anything is left
 * live after the model is shut down. Returns 0.
 */
int svc_fuzz(uint64_t iface, const uint8_t *data, size_t size);

#define SVC_FUZZ_CALLS 8u

#endif /* CAPOS_SVC_FUZZ_H */
