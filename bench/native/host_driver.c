/* Runs one benchmark program compiled for the host (gcc -O2) on the canonical memory map,
 * to time native C against the host interpreter.
 *
 *   host_driver IMAGE ITERATIONS REPEATS
 *
 * IMAGE holds the regions: u32 count, then per region u32 start, u32 length, bytes. Each
 * region is mapped at its canonical address (so pointers stored in ctx are valid), and
 * restored before every call, together with the key-value store the helpers keep.
 * Prints "result 0x<16 hex digits>" and "ns_per_call <float>": (the best over REPEATS of
 * ITERATIONS x (restore + call), minus the best of ITERATIONS x restore) / ITERATIONS.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

uint64_t BENCH_ENTRY(void *ctx);

#define MAX_REGIONS 20
#define CTX_BASE 0x20300000u
#define KV_SLOTS 64

static struct { uint8_t *at; uint8_t *pristine; uint32_t len; } regions[MAX_REGIONS];
static uint32_t n_regions;
static struct { uint32_t key, value, used; } kv[KV_SLOTS];

uint32_t bpf_store_global(uint32_t key, uint32_t value)
{
    for (int i = 0; i < KV_SLOTS; i++) {
        if (kv[i].used && kv[i].key == key) {
            kv[i].value = value;
            return 0;
        }
    }
    for (int i = 0; i < KV_SLOTS; i++) {
        if (!kv[i].used) {
            kv[i].used = 1;
            kv[i].key = key;
            kv[i].value = value;
            return 0;
        }
    }
    return (uint32_t)-1;
}

uint32_t bpf_fetch_global(uint32_t key, uint32_t *value)
{
    for (int i = 0; i < KV_SLOTS; i++) {
        if (kv[i].used && kv[i].key == key) {
            *value = kv[i].value;
            return 0;
        }
    }
    *value = 0; /* like femtojit's built-in helper: a missing key reads as 0 */
    return 0;
}

static void restore(void)
{
    for (uint32_t i = 0; i < n_regions; i++)
        memcpy(regions[i].at, regions[i].pristine, regions[i].len);
    memset(kv, 0, sizeof kv);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint32_t read_u32(FILE *f)
{
    uint8_t b[4];
    if (fread(b, 1, 4, f) != 4) {
        fprintf(stderr, "truncated image\n");
        exit(2);
    }
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s IMAGE ITERATIONS REPEATS\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    long iterations = atol(argv[2]), repeats = atol(argv[3]);
    n_regions = read_u32(f);
    if (n_regions > MAX_REGIONS)
        return 2;
    for (uint32_t i = 0; i < n_regions; i++) {
        uint32_t start = read_u32(f), len = read_u32(f);
        size_t span = ((size_t)len + 4095) / 4096 * 4096;
        if (span == 0)
            span = 4096;
        void *at = mmap((void *)(uintptr_t)start, span, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (at != (void *)(uintptr_t)start) {
            fprintf(stderr, "cannot map region at 0x%x\n", start);
            return 2;
        }
        regions[i].at = at;
        regions[i].len = len;
        regions[i].pristine = malloc(len ? len : 1);
        if (len && fread(regions[i].pristine, 1, len, f) != len) {
            fprintf(stderr, "truncated image\n");
            return 2;
        }
    }
    fclose(f);

    uint64_t (*volatile entry)(void *) = BENCH_ENTRY;
    restore();
    uint64_t result = entry((void *)(uintptr_t)CTX_BASE);
    double best_with = -1, best_without = -1;
    for (long r = 0; r < repeats; r++) {
        double t0 = now_ns();
        for (long i = 0; i < iterations; i++) {
            restore();
            entry((void *)(uintptr_t)CTX_BASE);
        }
        double t1 = now_ns();
        for (long i = 0; i < iterations; i++) {
            restore();
            __asm__ volatile("" ::: "memory");
        }
        double t2 = now_ns();
        if (best_with < 0 || t1 - t0 < best_with)
            best_with = t1 - t0;
        if (best_without < 0 || t2 - t1 < best_without)
            best_without = t2 - t1;
    }
    double best = (best_with - best_without) / iterations;
    printf("result 0x%016llx\nns_per_call %.3f\n", (unsigned long long)result, best < 0 ? 0 : best);
    return 0;
}
