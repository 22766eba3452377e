/* Fixed-point sensor filtering: an 8-sample moving average, then a first-order IIR
 * low-pass in Q15, over int16 samples; the filtered values are written back to ctx.
 * Right shifts of negative values are arithmetic (gcc and clang define them so). */
#include "bench.h"

#define WINDOW 8
#define ALPHA_Q15 6554 /* 0.2 */

struct filter_ctx {
    uint32_t n;
    int32_t state;
    int16_t samples[96];
    int16_t out[96];
};

uint64_t sensor_filter(void *ctx)
{
    struct filter_ctx *c = ctx;
    uint32_t n = c->n > 96 ? 96 : c->n;
    int32_t window[WINDOW] = {0};
    int32_t wsum = 0, y = c->state;
    int64_t energy = 0;
    for (uint32_t i = 0; i < n; i++) {
        int32_t x = c->samples[i];
        wsum += x - window[i & (WINDOW - 1)];
        window[i & (WINDOW - 1)] = x;
        int32_t avg = wsum >> 3; /* floor(wsum / WINDOW); eBPF before v4 has no signed division */
        y += ((avg - y) * ALPHA_Q15) >> 15;
        c->out[i] = (int16_t)y;
        energy += (int64_t)y * y;
    }
    c->state = y;
    return (uint64_t)energy ^ ((uint64_t)(uint32_t)y << 48);
}
