"""Memory checks and unaligned accesses of the rv32imc translation, interpreter vs rv32imc.

A pointer walks through every region (stack, .data, .rodata, ctx, a writable and a
read-only host region) forwards off its end and backwards off its start, at run-time steps
of 1, 3 and the access size, so accesses land on odd addresses too, with every size, loads
(zero- and sign-extending), stores, immediate stores, atomics and three fused loads (the
walker of tests/test_armv7m_memory.py). The check's fast path (the hinted region's bounds,
a loop's biased start, or the per-pointer cache the first access fills) must stop the walk
at exactly the right access; the harness reports any access let through outside the
regions, and the strict-alignment watch any halfword or word access at a misaligned address
(real RV32 cores trap on those; the translation must split them into bytes).

Plus: accesses whose alignment the translator proves (the stack through r10) need no run-time
test, every other halfword/word access has one; and the cache is not filled from a region an
earlier region overlaps.
"""

from __future__ import annotations

import pytest
from memory_walk import check_overlapping_region_cache, check_walks, walk_cases
from rv32_support import MAPS, TARGET, strict_alignment  # noqa: F401  (a fixture)

import femtojit
from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.interp import run as interp_run
from femtojit.translation import compare_outcomes, translate

pytestmark = pytest.mark.usefixtures("strict_alignment")

CASES = walk_cases(("load", "load_signed", "fused", "store", "store_imm", "atomic"))


@pytest.mark.parametrize(("region", "size", "kind"), CASES)
def test_walk_off_both_ends(region, size, kind):
    check_walks(TARGET, region, size, kind, ((None, True), (MAPS["reduced"], False)))


UNALIGNED = """
mov %r6, %r10
add %r6, -64
add %r6, %r2
ldxw %r3, [%r1+0]
stxw [%r6+0], %r3
stxdw [%r6+9], %r3
ldxh %r4, [%r6+1]
ldxw %r5, [%r6+3]
ldxdw %r7, [%r6+9]
ldxsh %r8, [%r1+1]
ldxsw %r9, [%r1+3]
add %r3, %r4
add %r3, %r5
add %r3, %r7
add %r3, %r8
add %r3, %r9
sth [%r1+1], 0x1234
stw [%r1+3], -2
stxdw [%r1+5], %r3
mov %r0, %r3
exit
"""


@pytest.mark.parametrize("shift", range(8))
def test_unaligned_accesses_at_every_offset(shift):
    """Word, halfword and doubleword accesses at addresses whose alignment the translator
    cannot know (ctx at a run-time offset, the stack at r10 - 64 + r2), at every
    misalignment: byte-exact results, no misaligned native access."""
    program = femtojit.assemble(UNALIGNED.replace("add %r6, %r2", f"add %r6, {shift}"))
    ctx = bytes(range(0x80 + shift, 0x80 + shift + 16))
    registry = builtin_registry("rfc")
    ref = interp_run(program, ctx=ctx, profile="rfc", budget=None, helpers=registry)
    assert ref.status == 0
    for regs in MAPS.values():
        tr = translate(program, target=TARGET, profile="rfc", budget=None,
                       backend_options=BackendOptions(registers=regs))
        got = tr.run(ctx=ctx, helpers=registry)
        assert compare_outcomes(ref, got) is None


def test_alignment_tests_only_where_needed():
    """Through r10 with constant offsets the stack is known to be aligned: no run-time test;
    the same accesses through ctx (alignment unknown) each get one (halfword stores are two
    byte stores instead), except that consecutive accesses of one size through one base
    share one (the two words of a doubleword, for example)."""
    stack = femtojit.assemble("""
        stxw [%r10-8], %r1
        ldxw %r0, [%r10-8]
        ldxh %r2, [%r10-6]
        stxdw [%r10-16], %r0
        exit
    """)
    ctx = femtojit.assemble("""
        ldxw %r0, [%r1+0]
        ldxh %r2, [%r1+6]
        add %r0, %r2
        stxw [%r1+8], %r0
        sth [%r1+12], 7
        exit
    """)
    stats = translate(stack, target=TARGET, profile="rfc", budget=None).machine.stats
    assert stats["alignment_tests"] == 0
    stats = translate(ctx, target=TARGET, profile="rfc", budget=None).machine.stats
    assert stats["alignment_tests"] == 3
    pairs = femtojit.assemble("""
        ldxdw %r0, [%r1+0]
        stxdw [%r1+8], %r0
        ldxw %r2, [%r1+20]
        ldxw %r3, [%r1+24]
        add %r0, %r2
        add %r0, %r3
        exit
    """)  # one test per run of same-size accesses through one base
    stats = translate(pairs, target=TARGET, profile="rfc", budget=None).machine.stats
    assert stats["alignment_tests"] == 3


def test_cache_is_not_filled_from_a_region_an_earlier_one_overlaps():
    check_overlapping_region_cache(TARGET)
