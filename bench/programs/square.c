/* CertrBPF: square a 64-bit value (the product wraps modulo 2^64). */
#include "bench.h"

uint64_t square(void *ctx)
{
    uint64_t x = *(const uint64_t *)ctx;
    return x * x;
}
