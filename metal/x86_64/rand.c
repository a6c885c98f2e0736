/*
 * metal/x86_64/rand.c - randomness of the bare-metal port: the seed of the
 * model's scheduling choices and the stack-protector canary.
 *
 * RDRAND when CPUID says the CPU has it (QEMU's TCG emulates it only with
 * -cpu max; KVM passes the host's through). Otherwise the fallback is the
 * TSC, read at each call and mixed with a counter through the splitmix64
 * finaliser: unpredictable enough to vary a seed between boots, and NOT a
 * secret (docs/metal.md, "Randomness"). Nothing on metal uses it for keys.
 */
#include <stdint.h>

#include "metal.h"

static int rand_have = -1; /* -1: not asked yet */
static uint64_t rand_counter;

static bool rand_has_rdrand(void)
{
    uint32_t a = 1, b, c = 0, d;

    if (rand_have < 0) {
        __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
        rand_have = (c >> 30) & 1u;
    }
    return rand_have == 1;
}

static uint64_t rand_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rand_u64(void)
{
    if (rand_has_rdrand()) {
        /* RDRAND may fail transiently (CF = 0); Intel advises ten tries. */
        for (int i = 0; i < 10; i++) {
            uint64_t v;
            unsigned char ok;
            __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
            if (ok)
                return v;
        }
    }
    rand_counter += 0x9e3779b97f4a7c15ull;
    return rand_mix(cpu_rdtsc() ^ rand_counter);
}

const char *rand_source(void)
{
    return rand_has_rdrand() ? "rdrand" : "tsc-mix";
}
