/*
 * Fletcher-32 over a fixed 360-character string: the benchmark of the Femto-Containers paper,
 * made self-contained for femtojit's demo (the input lives in .rodata, so the program needs no
 * context). The expected result is 0x5bac8c3d.
 *
 * Build (the .o and .bin next to this file are committed, so the demo needs no clang):
 *   clang -target bpf -mcpu=v2 -O2 -ffreestanding -fno-common -c fletcher32.c -o fletcher32.o
 *   femtojit pack fletcher32.o -o fletcher32.bin
 */
#include <stdint.h>

/* 360 characters = 180 little-endian 16-bit words; aligned so that it can be read as words. */
static const char input[361] __attribute__((aligned(4))) =
    "AD3Awn4kb6FtcsyE0RU25U7f55Yncn3LP3oEx9Gl4qr7iDW7I8L6Pbw9jNnh0sE4DmCKucd1J8I34vn31W924y5G"
    "MS74vUrZQc08805aj4Tf66HgL1cO94os10V2s2GDQ825yNh9Yuq3QHcA60xl31rdA7WskVtCXI7ruH1A4qaR6Uk4"
    "54hm401lLmv2cGWt5KTJmr93d3JsGaRRPs4HqYi4mFGowo8fWv48IcA3N89Z99nf0A0H2R6P0uI4Tir682Of3Rk7"
    "8DUB2dIGQRRpdqVTtLhgfET2gUGU65V3edSwADMqRttI9JPVz8JS37g5QZj4Ax56rU1u0m0K8YUs57UYG5645nby"
    "Ny4yqxu7";

/* Fold the carries back in: keeps both sums below 2^17, equal to their values mod 65535. */
static inline void reduce(uint32_t *sum1, uint32_t *sum2)
{
    *sum1 = (*sum1 & 0xffff) + (*sum1 >> 16);
    *sum2 = (*sum2 & 0xffff) + (*sum2 >> 16);
}

static uint32_t fletcher32(const uint16_t *data, uint32_t words)
{
    uint32_t sum1 = 0xffff, sum2 = 0xffff;

    while (words) {
        /* 359 words is the most that can be summed before sum2 could overflow 32 bits */
        uint32_t block = words > 359 ? 359 : words;
        words -= block;
        do {
            sum1 += *data++;
            sum2 += sum1;
        } while (--block);
        reduce(&sum1, &sum2);
    }
    reduce(&sum1, &sum2);
    return (sum2 << 16) | sum1;
}

uint32_t fletcher32_bpf(void *ctx)
{
    (void)ctx;
    return fletcher32((const uint16_t *)input, (sizeof(input) - 1) / 2);
}
