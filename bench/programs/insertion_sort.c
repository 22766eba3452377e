/* Insertion sort of signed words in place in ctx; returns a position-weighted sum. */
#include "bench.h"

struct isort_ctx {
    uint32_t n;
    int32_t a[64];
};

uint64_t insertion_sort(void *ctx)
{
    struct isort_ctx *c = ctx;
    uint32_t n = c->n > 64 ? 64 : c->n;
    for (uint32_t i = 1; i < n; i++) {
        int32_t key = c->a[i];
        uint32_t j = i;
        while (j > 0 && c->a[j - 1] > key) {
            c->a[j] = c->a[j - 1];
            j--;
        }
        c->a[j] = key;
    }
    int64_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += (int64_t)(i + 1) * c->a[i];
    return (uint64_t)sum;
}
