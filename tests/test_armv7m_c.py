"""Programs compiled from C by clang (-target bpf -O2, -mcpu=v2 and v3), translated for
armv7m and run under Unicorn: the benchmark programs (bench/programs, on their inputs) and a
program of this file's own, exercising what clang emits for C that the benchmarks do not:
switch chains, BPF-to-BPF calls, 64-bit signed arithmetic and unsigned division, structs in
.data/.rodata, helper calls with pointers to the stack. Results, status and memory equal
the interpreter's (and the benchmark's expected value)."""

from __future__ import annotations

import struct

import pytest
from conftest import require_tool

import femtojit
from bench import build, suite
from femtojit.builtin_helpers import builtin_registry
from femtojit.helpers import Runtime
from femtojit.toolchain import compile_bpf
from femtojit.translation import compare_outcomes


@pytest.mark.parametrize("mcpu", ["v2", "v3"])
@pytest.mark.parametrize("name", [p.name for p in suite.PROGRAMS])
def test_benchmark_programs(name, mcpu):
    require_tool("clang")
    spec = suite.program(name)
    program = femtojit.load(str(build.build_bytecode(spec, mcpu)), entry=spec.entry_name)
    kwargs = dict(ctx=spec.ctx, host=list(spec.host), budget=spec.budget)
    ref = femtojit.run(program, helpers=builtin_registry("femto"), runtime=Runtime(), **kwargs)
    got = femtojit.run(program, engine="armv7m", helpers=builtin_registry("femto"),
                       runtime=Runtime(), **kwargs)
    assert ref.status == 0 and ref.result == spec.expected
    assert compare_outcomes(ref, got) is None, compare_outcomes(ref, got)


OWN_C = r"""
#include <stdint.h>
#define SEC(x) __attribute__((section(x), used))
static uint32_t (*store_global)(uint32_t key, uint32_t value) = (void *)0x11;
static uint32_t (*fetch_global)(uint32_t key, uint32_t *value) = (void *)0x13;

struct rec { int32_t a; int16_t b; uint8_t c; uint8_t tag; };
static const struct rec table[6] = {
    {-5, 300, 7, 1}, {123456, -2, 255, 2}, {0, 0, 0, 3}, {-2147483647 - 1, 32767, 1, 4},
    {42, -32768, 128, 5}, {7, 7, 7, 6},
};
static int64_t bias = -12345678901LL;
static uint32_t counters[4];

static __attribute__((noinline)) int64_t classify(const struct rec *r, int64_t x)
{
    switch (r->tag) {
    case 1: return x * r->a + r->b;
    case 2: return (x >> 3) ^ (int64_t)r->a;
    case 3: return x < 0 ? -x : x;
    case 4: return (int64_t)r->a - x;
    case 5: return (int64_t)((uint64_t)x / (uint16_t)(r->b ? r->b : 1));
    default: return (int64_t)((uint64_t)x % 1000003u);
    }
}

static __attribute__((noinline)) uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x01000193u;
    return h ^ (h >> 15);
}

uint64_t own(uint64_t *ctx)
{
    uint32_t n = (uint32_t)ctx[0] % 64;
    int64_t acc = bias;
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) {
        const struct rec *r = &table[(ctx[1] + i) % 6];
        acc += classify(r, (int64_t)ctx[2 + (i & 3)] - (int64_t)i * 977);
        h = mix(h, (uint32_t)acc);
        counters[i & 3] += r->c;
    }
    uint32_t seen = 0;
    store_global(7, h);
    fetch_global(7, &seen);
    ctx[6] = (uint64_t)acc;
    return (uint64_t)(seen ^ counters[0] ^ counters[3]) << 32 | (h & 0xffffffffu);
}
"""


@pytest.mark.parametrize("mcpu", ["v2", "v3"])
def test_own_c_program(tmp_path, mcpu):
    require_tool("clang")
    obj = compile_bpf(OWN_C, tmp_path / f"own-{mcpu}.o", mcpu=mcpu)
    program = femtojit.load(str(obj), entry="own")
    registry = builtin_registry("femto")
    tr = femtojit.translate(program, target="armv7m", budget=100000)
    for n, start, values in ((0, 0, (1, 2, 3, 4)), (13, 4, (-7, 10**12, -(1 << 62), 99)),
                             (63, 1, ((1 << 63) - 1, -1, 0, 12345)),
                             (40, 5, (-(1 << 63), 3, -3, 7))):
        ctx = struct.pack("<QQ4qQ", n, start, *values, 0)
        ref = femtojit.run(program, ctx=ctx, budget=100000, helpers=registry,
                           runtime=Runtime())
        got = tr.run(ctx=ctx, helpers=registry, runtime=Runtime())
        assert ref.status == 0
        assert compare_outcomes(ref, got) is None, (n, compare_outcomes(ref, got))
