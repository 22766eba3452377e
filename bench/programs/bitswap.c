/* CertrBPF: reverse the bits of each 32-bit word, one bit at a time, and fold the results. */
#include "bench.h"

struct bitswap_ctx {
    uint32_t n;
    uint32_t words[16];
};

uint64_t bitswap(void *ctx)
{
    const struct bitswap_ctx *c = ctx;
    uint32_t n = c->n > 16 ? 16 : c->n;
    uint64_t acc = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = c->words[i], r = 0;
        for (uint32_t bit = 0; bit < 32; bit++) {
            r = r << 1 | (v & 1);
            v >>= 1;
        }
        acc = (acc << 7 | acc >> 57) ^ r;
    }
    return acc;
}
