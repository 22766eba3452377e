/*
 * Every kind of data a clang -target bpf object can carry, each read by its own global
 * function so that a test can find the relocated LDDWD/LDDWR of each one and, with an
 * interpreter, run it. ctx is struct ctx; results depend on ctx so nothing is folded away.
 */
#include <stdint.h>

struct ctx {
    uint32_t a;
    uint32_t b;
};

int32_t counter = 0x11223344;                                         /* .data */
static uint16_t small_init[3] = {0xa1b2, 0xc3d4, 0xe5f6};             /* .data, static */
const uint32_t table[5] = {10, 20, 30, 40, 0xdeadbeef};               /* .rodata */
static const uint64_t wide[2] = {0x1122334455667788ull, 0x99aabbccddeeff00ull}; /* .rodata.cst16 */
static const uint32_t pair[2] = {0xcafef00d, 0x0badc0de};             /* .rodata.cst8 */
uint32_t zeroed[16];                                                  /* .bss (COMMON with -fcommon) */
static uint64_t zeroed_static[4];                                     /* .bss */

uint64_t read_counter(struct ctx *c)
{
    counter += (int32_t)c->a;
    return (uint32_t)counter;
}

uint32_t read_small(struct ctx *c)
{
    uint16_t value = small_init[c->a % 3];
    small_init[c->b % 3] = value + 1; /* written, so that it stays in .data */
    return value;
}

uint32_t read_table(struct ctx *c)
{
    return table[c->a % 5];
}

uint64_t read_wide(struct ctx *c)
{
    return wide[c->a & 1];
}

uint32_t read_pair(struct ctx *c)
{
    return pair[c->a & 1];
}

int64_t read_string(struct ctx *c)
{
    const char *s = "hello femtojit";
    return s[c->a % 14];
}

int64_t read_other_string(struct ctx *c)
{
    const char *s = "second literal!";
    return s[c->a % 15];
}

uint64_t bump_zeroed(struct ctx *c)
{
    zeroed[c->a & 15] += 7;
    zeroed_static[c->b & 3] += 1;
    return zeroed[c->a & 15] * 1000 + zeroed_static[c->b & 3];
}
