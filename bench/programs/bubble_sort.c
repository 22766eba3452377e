/* CertrBPF: bubble sort of unsigned words in place in ctx; returns a position-weighted sum. */
#include "bench.h"

struct sort_ctx {
    uint32_t n;
    uint32_t a[48];
};

uint64_t bubble_sort(void *ctx)
{
    struct sort_ctx *c = ctx;
    uint32_t n = c->n > 48 ? 48 : c->n;
    for (uint32_t i = 0; i + 1 < n; i++) {
        for (uint32_t j = 0; j + 1 < n - i; j++) {
            uint32_t x = c->a[j], y = c->a[j + 1];
            if (x > y) {
                c->a[j] = y;
                c->a[j + 1] = x;
            }
        }
    }
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += (uint64_t)(i + 1) * c->a[i];
    return sum;
}
