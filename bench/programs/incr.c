/* CertrBPF's smallest program: increment a counter the host keeps in ctx. */
#include "bench.h"

uint64_t incr(void *ctx)
{
    uint64_t *counter = ctx;
    *counter += 1;
    return *counter;
}
