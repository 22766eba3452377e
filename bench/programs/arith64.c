/* 64-bit arithmetic: multiply, unsigned divide and modulo, shifts, over pairs from ctx. */
#include "bench.h"

struct arith64_ctx {
    uint32_t n;
    uint32_t reserved;
    uint64_t pairs[16][2];
};

uint64_t arith64(void *ctx)
{
    const struct arith64_ctx *c = ctx;
    uint32_t n = c->n > 16 ? 16 : c->n;
    uint64_t acc = 0x0123456789abcdefull;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = c->pairs[i][0], b = c->pairs[i][1] | 1;
        uint64_t q = a / b, r = a % b;
        acc = acc * 6364136223846793005ull + q;
        acc ^= r << (a & 31);
        acc += acc >> (b & 15);
        acc -= (q * b) >> 3;
    }
    return acc;
}
