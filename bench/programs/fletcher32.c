/* Fletcher-32 over 16-bit words: the Femto-Container paper's benchmark (360 bytes). */
#include "bench.h"

struct fletcher32_ctx {
    uint64_t data;  /* address of the words (a read-only host region) */
    uint32_t words;
    uint32_t reserved;
};

uint64_t fletcher32(void *ctx)
{
    const struct fletcher32_ctx *c = ctx;
    const uint16_t *data = BENCH_PTR(const uint16_t *, c->data);
    uint32_t words = c->words;
    uint32_t sum1 = 0xffff, sum2 = 0xffff;

    while (words) {
        uint32_t tlen = words > 359 ? 359 : words;
        words -= tlen;
        do {
            sum2 += sum1 += *data++;
        } while (--tlen);
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return sum2 << 16 | sum1;
}
