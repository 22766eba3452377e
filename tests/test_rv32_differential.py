"""Differential tests: the reference interpreter against the rv32imc translation under
Unicorn, on generated programs (the generators of tests/program_gen.py: ALU chains, loops
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
from backend_support import check_generated
from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from program_gen import alu_chain_programs, alu_insn, lddw
from rv32_support import compare, strict_alignment  # noqa: F401  (a fixture)

from femtojit import isa
from femtojit.isa import Insn
from femtojit.program import Program

pytestmark = pytest.mark.usefixtures("strict_alignment")

SMOKE = settings(
    max_examples=FUZZ_EXAMPLES or 40,
    deadline=None,
    derandomize=FUZZ_EXAMPLES is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
FUZZ = settings(SMOKE, max_examples=FUZZ_EXAMPLES or 8)  # random only under make fuzz


@pytest.mark.fuzz
@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]),
       budget=st.sampled_from([0, 3, 40, "default"]))
def test_generated_programs(data, profile, budget):
    if budget == "default" and profile == "rfc":
        budget = 100
    check_generated(data, compare, profile, budget)


@pytest.mark.fuzz
@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_generated_programs_without_budget(data, profile):
    """Forward jumps only: no budget checks compiled in at all."""
    check_generated(data, compare, profile, None, back_jumps=False)


@pytest.mark.fuzz
@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_alu_chains(data, profile):
    """Straight-line arithmetic on values the translator cannot know, both widths."""
    compare(data.draw(alu_chain_programs(profile)), profile=profile, budget=None)


@pytest.mark.fuzz
@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_loops_run_into_the_budget(data, profile):
    """A loop of ALU work taking its back edge `trips` times, around the budget: the run
    ends normally or with OUT_OF_BRANCHES exactly at the budget + 1-th taken branch (r0 is
    the iteration count), whatever the loop does with the other registers."""
    trips = data.draw(st.integers(0, 60))
    budget = trips + data.draw(st.sampled_from([-2, -1, 0, 1, 5]))
    budget = max(budget, 0)
    body = []
    for _ in range(data.draw(st.integers(0, 3))):
        body += [i for i in data.draw(alu_insn(profile))
                 if i.dst not in (0, 5) and i.opcode & 0xF0 not in (isa.ALU_DIV, isa.ALU_MOD)]
    slots = [Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 0),
             Insn(isa.CLS_ALU64 | isa.ALU_MOV, 5, 0, 0, trips + 1),
             *body,
             Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1),
             Insn(isa.CLS_ALU64 | isa.ALU_SUB, 5, 0, 0, 1),
             Insn(isa.CLS_JMP | isa.JMP_JNE, 5, 0, -(len(body) + 3), 0),
             Insn(isa.OP_EXIT)]
    ref = compare(Program(slots), profile=profile, budget=budget)
    if trips > budget:
        assert (ref.status, ref.result) == (-8, budget + 1)
    else:
        assert ref.status == 0
    event(f"status {ref.status}")


@pytest.mark.fuzz
@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]),
       wide=st.booleans(), signed=st.booleans(), mod=st.booleans())
def test_division_by_zero(data, profile, wide, signed, mod):
    """A division by a register that is often zero (at run time), in both profiles: femto
    stops with ILLEGAL_DIV (r0 as it was), rfc gives 0 (div) or keeps the dividend (mod)."""
    divisor = data.draw(st.sampled_from([0, 0, 0, 1, -1, 1 << 32, 0xFFFFFFFF00000000]))
    dividend = data.draw(st.integers(0, (1 << 64) - 1))
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    slots = [*lddw(isa.OP_LDDWD, 9, 0),
             Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 2, 9, 0),
             Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 3, 9, 8),
             Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 77),
             Insn(cls | (isa.ALU_MOD if mod else isa.ALU_DIV) | isa.SRC_X, 2, 3, int(signed)),
             Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 0, 2),
             Insn(isa.OP_EXIT)]
    raw = (dividend.to_bytes(8, "little") + (divisor % (1 << 64)).to_bytes(8, "little"))
    ref = compare(Program(slots, data=raw), profile=profile, budget=None)
    if profile == "femto" and (divisor if wide else divisor & 0xFFFFFFFF) == 0:
        assert (ref.status, ref.result) == (-9, 77)
    event(f"status {ref.status}")


@pytest.mark.fuzz
@FUZZ
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]),
       budget=st.sampled_from([0, 1, 2, 7, 40, 300, "default"]))
def test_generated_programs_fuzz(data, profile, budget):
    if budget == "default" and profile == "rfc":
        budget = 300
    check_generated(data, compare, profile, budget, max_items=40)
