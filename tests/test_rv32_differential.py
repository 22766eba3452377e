"""Differential tests: the reference interpreter against the rv32imc translation under
Unicorn, on generated programs (the generators of tests/armv7m_gen.py: ALU chains, loops
that run into the budget, loads/stores in and out of bounds, across region ends and
unaligned, division by zero in both profiles, helper calls, local calls), under three
register maps (tests/rv32_support.py: the default order, a permutation, three registers
forcing spills) and without the IR passes. Status, 64-bit result, memory of every region
and printf output must agree; no halfword or word access may be misaligned; an access
outside the regions and the frame is an EmulationError. The normal suite runs a small
number of programs; `make fuzz` (FUZZ_EXAMPLES) more.
"""

from __future__ import annotations

import pytest
from armv7m_gen import alu_chain, lddw, programs
from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rv32_support import compare, strict_alignment  # noqa: F401  (a fixture)

from femtojit import isa
from femtojit.isa import Insn
from femtojit.program import Program

pytestmark = pytest.mark.usefixtures("strict_alignment")

SMOKE = settings(
    max_examples=FUZZ_EXAMPLES or 25,
    deadline=None,
    derandomize=FUZZ_EXAMPLES is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
FUZZ = settings(SMOKE, max_examples=FUZZ_EXAMPLES or 8, derandomize=False)


def _run(data, profile, budget, **kinds):
    program, ctx, hosts = data.draw(programs(profile, **kinds))
    ref = compare(program, ctx=ctx, host=hosts, profile=profile, budget=budget)
    event(f"status {ref.status}")


@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]),
       budget=st.sampled_from([0, 3, 40, "default"]))
def test_generated_programs(data, profile, budget):
    if budget == "default" and profile == "rfc":
        budget = 100
    _run(data, profile, budget)


@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_generated_programs_without_budget(data, profile):
    """Forward jumps only: no budget checks compiled in at all."""
    _run(data, profile, None, back_jumps=False)


@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_alu_chains(data, profile):
    """Straight-line arithmetic on values the translator cannot know, both widths."""
    values = [data.draw(st.integers(0, (1 << 64) - 1)) for _ in range(4)]
    raw = b"".join(v.to_bytes(8, "little") for v in values)
    slots = lddw(isa.OP_LDDWD, 9, 0)
    for r in range(4):
        slots.append(Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, r, 9, 8 * r))
    for _ in range(data.draw(st.integers(1, 4))):
        slots += data.draw(alu_chain(profile))
    for r in range(10):
        slots.append(Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_DW, 10, r, -8 * (r + 1)))
    slots.append(Insn(isa.OP_EXIT))
    compare(Program(slots, data=raw), profile=profile, budget=None)


@pytest.mark.fuzz
@FUZZ
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]),
       budget=st.sampled_from([0, 1, 2, 7, 40, 300, "default"]))
def test_generated_programs_fuzz(data, profile, budget):
    if budget == "default" and profile == "rfc":
        budget = 300
    _run(data, profile, budget, max_items=40)
