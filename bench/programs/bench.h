/* Shared by every benchmark program: one source, two builds.
 *
 * As a Femto-Container (clang -target bpf), a helper is a call through a function pointer
 * whose value is the helper id, which clang turns into `call <id>`. Natively (the target's
 * gcc, or the host's), the same name is an ordinary extern C function: the emulation harness
 * links it at the helper's stub address, the host driver defines it.
 *
 * Every program has one entry function `uint64_t <name>(void *ctx)` whose 64-bit return
 * value is the result compared across engines. Fixed-width types only: `long` and pointers
 * are 64-bit in eBPF and 32-bit on the microcontrollers.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>

#ifdef __bpf__
#define BENCH_HELPER(id, ret, name, params) static ret (*const name) params = (void *)(id)
#else
#define BENCH_HELPER(id, ret, name, params) extern ret name params
#endif

/* Femto-Container's key-value store helpers (ids from its shared.h). */
BENCH_HELPER(0x11, uint32_t, bpf_store_global, (uint32_t key, uint32_t value));
BENCH_HELPER(0x13, uint32_t, bpf_fetch_global, (uint32_t key, uint32_t *value));

/* A 64-bit field holding an address: the ctx layout is the same in every build. */
#define BENCH_PTR(type, field) ((type)(uintptr_t)(field))

#endif
