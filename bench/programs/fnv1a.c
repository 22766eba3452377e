/* FNV-1a, 64-bit, over a ctx buffer: one 64-bit multiply per byte. */
#include "bench.h"

struct fnv1a_ctx {
    uint32_t len;
    uint8_t data[188];
};

uint64_t fnv1a(void *ctx)
{
    const struct fnv1a_ctx *c = ctx;
    uint32_t len = c->len > 188 ? 188 : c->len;
    uint64_t hash = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < len; i++) {
        hash ^= c->data[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}
