"""clang's -mcpu=v2 output must benefit from the IR passes, not only -mcpu=v3.

Small C kernels are compiled at test time (clang -target bpf -O2, v2 and v3), lowered and
optimised. For each, the hot loop (the blocks of greatest loop depth) is measured before and
after the pipeline: pair ops (Add64, Sub64, MulWide, Shift64, Div64), 64-bit compares, and
register upper halves (rN.hi) used or defined there. The results are also checked three ways
(reference interpreter, IR after lowering, IR after the pipeline) and against values
computed in Python.

One thing the passes must not do: in v2 code a value that reaches r0 keeps its 64-bit
arithmetic, because r0's upper half is observable (it is the program's 64-bit result, and the
result of a run stopped by a fault or by the budget). The tests check that exactly those
upper halves remain: with r0's upper half made unobservable (a what-if copy of the function
whose exit and fault ops read only r0.lo), the v2 hot loops become as narrow as v3's.
"""

from __future__ import annotations

import struct
import zlib

import pytest
from conftest import require_tool

from bench.suite import FLETCHER_TEXT
from femtojit.ir import lower
from femtojit.ir import types as T
from femtojit.ir.analysis import loop_depth
from femtojit.ir.check import compare_engines
from femtojit.ir.passes import pipeline
from femtojit.loaders import load
from femtojit.toolchain import compile_bpf

KERNELS = r"""
#include <stdint.h>
struct ctx { uint32_t len; uint8_t buf[360]; };

uint32_t fletcher32(struct ctx *c)
{
    const uint16_t *data = (const uint16_t *)c->buf;
    uint32_t words = c->len / 2;
    uint32_t sum1 = 0xffff, sum2 = 0xffff;
    while (words) {
        uint32_t tlen = words > 359 ? 359 : words;
        words -= tlen;
        do {
            sum2 += sum1 += *data++;
        } while (--tlen);
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return (sum2 << 16) | sum1;
}

uint32_t sum_words(struct ctx *c)
{
    const uint32_t *w = (const uint32_t *)c->buf;
    uint32_t n = c->len / 4, s = 0;
    for (uint32_t i = 0; i < n; i++)
        s = (s ^ (s >> 5)) + w[i] * 3;
    return s;
}

uint32_t crc32(struct ctx *c)
{
    uint32_t crc = 0xffffffff;
    for (uint32_t i = 0; i < c->len; i++) {
        crc ^= c->buf[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
    }
    return ~crc;
}

uint32_t stack_mix(struct ctx *c)
{
    uint32_t a[32];
    uint32_t seed = c->len;
    for (uint32_t i = 0; i < 32; i++) {
        seed = seed * 1103515245u + 12345u;
        a[i] = seed >> 3;
    }
    uint32_t s = 0;
    for (uint32_t i = 0; i < 32; i++)
        s += a[i] ^ (s << 3);
    return s;
}
"""

TEXT = FLETCHER_TEXT  # the paper's test vector (bench/suite.py)
CTX = struct.pack("<I", len(TEXT)) + TEXT
M32 = 0xFFFFFFFF


def _sum_words(buf: bytes) -> int:
    s = 0
    for (w,) in struct.iter_unpack("<I", buf[: len(buf) // 4 * 4]):
        s = ((s ^ (s >> 5)) + w * 3) & M32
    return s


def _stack_mix(length: int) -> int:
    seed, a = length, []
    for _ in range(32):
        seed = (seed * 1103515245 + 12345) & M32
        a.append(seed >> 3)
    s = 0
    for x in a:
        s = (s + (x ^ ((s << 3) & M32))) & M32
    return s


EXPECTED = {
    "fletcher32": 0x5BAC8C3D,
    "sum_words": _sum_words(TEXT),
    "crc32": zlib.crc32(TEXT),
    "stack_mix": _stack_mix(len(TEXT)),
}
PAIR_OPS = (T.Add64, T.Sub64, T.MulWide, T.Shift64, T.Div64)


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    require_tool("clang")
    out = tmp_path_factory.mktemp("kernels")
    return {cpu: compile_bpf(KERNELS, out / f"kernels_{cpu}.o", mcpu=cpu) for cpu in ("v2", "v3")}


def hot_loop(fn: T.Function) -> dict:
    """Pair ops, 64-bit compares and register upper halves in the innermost loop."""
    depth = loop_depth(fn)
    deepest = max(depth.values())
    assert deepest > 0, "the kernel has a loop"
    blocks = [b for b in fn.blocks if depth[b.id] == deepest]
    upper = set()
    for block in blocks:
        for node in [*block.ops, block.term]:
            for v in node.defs() + node.uses():
                origin = fn.var_origin.get(v.n, v.n)
                if origin < T.NUM_REG_VARS and origin % 2:
                    upper.add(f"r{origin // 2}")
    return {
        "pair_ops": sum(isinstance(op, PAIR_OPS) for b in blocks for op in b.ops),
        "wide_branches": sum(isinstance(b.term, T.Branch) and b.term.wide for b in blocks),
        "upper_halves": sorted(upper),
    }


def r0_upper_unobservable(fn: T.Function) -> T.Function:
    """What-if copy: exit and fault ops report only r0.lo (r0.hi replaced by 0)."""
    fn = fn.copy()
    for block in fn.blocks:
        for node in [*block.ops, block.term]:
            if hasattr(node, "r0hi"):
                node.r0hi = T.Const(0)
    return fn


@pytest.mark.parametrize("cpu", ["v2", "v3"])
@pytest.mark.parametrize("kernel", sorted(EXPECTED))
@pytest.mark.parametrize("profile", ["femto", "rfc"])
def test_kernels_run_the_same_three_ways(objects, cpu, kernel, profile):
    program = load(objects[cpu], entry=kernel)
    budget = 1 << 20 if profile == "femto" else None
    comparison = compare_engines(program, profile=profile, budget=budget, ctx=CTX)
    assert not comparison.mismatches()
    assert comparison.reference.status == 0
    assert comparison.reference.result & M32 == EXPECTED[kernel]


@pytest.mark.parametrize("kernel", sorted(EXPECTED))
def test_v3_hot_loops_become_32_bit(objects, kernel):
    program = load(objects["v3"], entry=kernel)
    fn = lower(program, profile="femto")
    before = hot_loop(fn)
    after = hot_loop(pipeline(fn))
    assert before["pair_ops"] + before["wide_branches"] > 0
    assert after == {"pair_ops": 0, "wide_branches": 0, "upper_halves": []}


@pytest.mark.parametrize("kernel", sorted(EXPECTED))
@pytest.mark.parametrize("profile", ["femto", "rfc"])
def test_v2_hot_loops_keep_only_what_reaches_r0(objects, kernel, profile):
    program = load(objects["v2"], entry=kernel)
    budget = "default" if profile == "femto" else None
    fn = lower(program, profile=profile, budget=budget)
    before = hot_loop(fn)
    optimised = pipeline(fn.copy())
    after = hot_loop(optimised)
    # every 64-bit compare is gone, most upper halves and pair ops too ...
    assert before["wide_branches"] > 0 and after["wide_branches"] == 0
    assert len(after["upper_halves"]) <= len(before["upper_halves"]) // 2
    assert after["pair_ops"] <= before["pair_ops"] // 2
    # ... and what is left only exists because r0's upper half is observable
    what_if = hot_loop(pipeline(r0_upper_unobservable(fn)))
    assert what_if == {"pair_ops": 0, "wide_branches": 0, "upper_halves": []}


def test_v2_loop_counter_truncations_disappear(objects):
    """fletcher32 -mcpu=v2: the loop counter truncated with `lsh 32; rsh 32` (r7 -> r8)
    leaves neither upper half nor shift; only sum1/sum2, which reach r0, stay 64-bit."""
    program = load(objects["v2"], entry="fletcher32")
    lowered = lower(program, profile="femto")
    assert {"r7", "r8"} <= set(hot_loop(lowered)["upper_halves"])
    fn = pipeline(lowered)
    assert not any(isinstance(op, T.Shift64) for _, _, op in fn.ops())
    assert set(hot_loop(fn)["upper_halves"]) == {"r0", "r2", "r6"}


def _hot_loop_size(fn: T.Function) -> int:
    depth = loop_depth(fn)
    deepest = max(depth.values())
    return sum(len(b.ops) + 1 for b in fn.blocks if depth[b.id] == deepest)


@pytest.mark.parametrize("kernel", sorted(EXPECTED))
def test_v2_hot_loops_as_small_as_v3_when_r0_upper_is_unobservable(objects, kernel):
    sizes = {}
    for cpu in ("v2", "v3"):
        fn = lower(load(objects[cpu], entry=kernel), profile="femto")
        sizes[cpu] = _hot_loop_size(pipeline(r0_upper_unobservable(fn)))
    assert sizes["v2"] <= sizes["v3"] + 2, sizes
