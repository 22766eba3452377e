/*
 * Functions spread over several executable sections: .text, .text.helpers (a static and a
 * global function) and a section("prog") entry point. Calls between sections carry
 * R_BPF_64_32 relocations that the loader must turn into relative slot offsets.
 */
#include <stdint.h>

struct ctx {
    uint32_t a;
    uint32_t b;
};

__attribute__((section(".text.helpers"), noinline)) static uint64_t times_seven(uint64_t x)
{
    return x * 7;
}

__attribute__((section(".text.helpers"), noinline)) uint64_t plus_eleven(uint64_t x)
{
    return x + 11;
}

__attribute__((noinline)) static uint64_t squared(uint64_t x)
{
    return x * x;
}

uint64_t in_text(struct ctx *c)
{
    /* (a * 7) + 11 + b^2 */
    return plus_eleven(times_seven(c->a)) + squared(c->b);
}

__attribute__((section("prog"))) uint64_t in_prog(struct ctx *c)
{
    /* a^2 + 7 b */
    return squared(c->a) + times_seven(c->b);
}
