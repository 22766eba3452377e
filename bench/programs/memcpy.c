/* CertrBPF: copy a buffer byte by byte inside ctx, then checksum the copy. */
#include "bench.h"

struct memcpy_ctx {
    uint32_t len;
    uint32_t reserved;
    uint8_t src[256];
    uint8_t dst[256];
};

uint64_t memcpy_bench(void *ctx)
{
    struct memcpy_ctx *c = ctx;
    uint32_t len = c->len > 256 ? 256 : c->len;
    for (uint32_t i = 0; i < len; i++)
        c->dst[i] = c->src[i];
    uint32_t sum = 0;
    for (uint32_t i = 0; i < len; i++)
        sum = sum * 31 + c->dst[i];
    return (uint64_t)len << 32 | sum;
}
