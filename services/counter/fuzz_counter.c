/*
 * fuzz_counter.c - libFuzzer target of the counter service: hostile
 * calls (any method, any params bytes, several in a row) through the
 * whole server path (tests/fuzz/svc_fuzz.h); the server must answer each
 * and leave nothing behind.
 */
#include <stddef.h>
#include <stdint.h>

#include "counter.capnp.h"
#include "svc_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return svc_fuzz(COUNTER_COUNTER_INTERFACE_ID, data, size);
}
