/* Freestanding native builds: what gcc may call even in code that never names it.
 * gcc can turn a copy or clear loop (or a large struct initialiser) into a memcpy/memset
 * call; the benchmark builds disable that, and these catch whatever remains. */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int value, size_t n)
{
    uint8_t *d = dst;
    while (n--)
        *d++ = (uint8_t)value;
    return dst;
}
