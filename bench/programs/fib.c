/* CertrBPF: the n-th Fibonacci number, iteratively, in 64 bits. */
#include "bench.h"

uint64_t fib(void *ctx)
{
    uint32_t n = *(const uint32_t *)ctx;
    uint64_t a = 0, b = 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t next = a + b;
        a = b;
        b = next;
    }
    return a;
}
