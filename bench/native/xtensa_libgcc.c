/* The integer helpers Debian's xtensa-lx106-elf libgcc lacks (it has no __muldi3, no 64-bit
 * division, and its __moddi3 needs 32-bit division routines it does not contain either).
 * The LX106 has a 32x32->32 multiply (MULL) but no high-half multiply and no divide, so
 * these are plain shift-and-subtract and 16-bit-limb code. Figures of native LX106 code that
 * multiplies or divides 64-bit values include these routines. */
#include <stdint.h>

uint64_t __muldi3(uint64_t a, uint64_t b)
{
    uint32_t al = (uint32_t)a, ah = (uint32_t)(a >> 32);
    uint32_t bl = (uint32_t)b, bh = (uint32_t)(b >> 32);
    uint32_t a0 = al & 0xffff, a1 = al >> 16, b0 = bl & 0xffff, b1 = bl >> 16;
    uint32_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint32_t mid = (p00 >> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    uint32_t lo = (p00 & 0xffff) | mid << 16;
    uint32_t hi = p11 + (p01 >> 16) + (p10 >> 16) + (mid >> 16);
    hi += ah * bl + al * bh;
    return (uint64_t)hi << 32 | lo;
}

static uint64_t udivmod64(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0, r = 0;
    if (d == 0) {
        /* undefined in C; the benchmarks never divide by zero */
        if (rem)
            *rem = n;
        return ~(uint64_t)0;
    }
    for (int i = 63; i >= 0; i--) {
        r = r << 1 | (n >> i & 1);
        if (r >= d) {
            r -= d;
            q |= (uint64_t)1 << i;
        }
    }
    if (rem)
        *rem = r;
    return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d)
{
    return udivmod64(n, d, 0);
}

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    udivmod64(n, d, &r);
    return r;
}

static uint32_t udivmod32(uint32_t n, uint32_t d, uint32_t *rem)
{
    uint32_t q = 0, r = 0;
    if (d == 0) {
        if (rem)
            *rem = n;
        return ~(uint32_t)0;
    }
    for (int i = 31; i >= 0; i--) {
        r = r << 1 | (n >> i & 1);
        if (r >= d) {
            r -= d;
            q |= (uint32_t)1 << i;
        }
    }
    if (rem)
        *rem = r;
    return q;
}

uint32_t __udivsi3(uint32_t n, uint32_t d)
{
    return udivmod32(n, d, 0);
}

uint32_t __umodsi3(uint32_t n, uint32_t d)
{
    uint32_t r;
    udivmod32(n, d, &r);
    return r;
}

int32_t __divsi3(int32_t n, int32_t d)
{
    uint32_t un = n < 0 ? -(uint32_t)n : (uint32_t)n;
    uint32_t ud = d < 0 ? -(uint32_t)d : (uint32_t)d;
    uint32_t q = udivmod32(un, ud, 0);
    return (n < 0) != (d < 0) ? -(int32_t)q : (int32_t)q;
}
