/* Leans on helpers: a histogram of sensor readings kept in the host's global key-value
 * store (bpf_fetch_global / bpf_store_global), then a summary read back from it. */
#include "bench.h"

#define BUCKETS 8
#define KEY_BASE 0x4b560000u

struct kv_ctx {
    uint32_t n;
    uint16_t readings[32];
};

uint64_t kvstore(void *ctx)
{
    const struct kv_ctx *c = ctx;
    uint32_t n = c->n > 32 ? 32 : c->n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t key = KEY_BASE + (c->readings[i] >> 13);
        uint32_t count = 0;
        bpf_fetch_global(key, &count);
        bpf_store_global(key, count + 1);
    }
    uint64_t summary = 0;
    for (uint32_t b = 0; b < BUCKETS; b++) {
        uint32_t count = 0;
        bpf_fetch_global(KEY_BASE + b, &count);
        summary = summary << 6 | (count & 63);
    }
    return summary;
}
