"""Helper calls, callx and local calls on rv32imc, interpreter vs translation.

The helpers and programs are tests/calls_support.py's, as on armv7m: helpers that rewrite
r1-r5 in every way (scramble, bump, keep), fault (with a negative and a positive status) and
read container memory; call sequences and loops where a skipped argument store or a dropped
reload would show; callx of known and unknown ids; local calls up to and past the 8-frame
limit. RV32 specifics: the helper gets a0 = fc and a1 = &vm->regs (the harness checks), the
rfc profile takes the 64-bit return in a0:a1, and the harness fills a0-a7 and t0-t6 with a
pattern after each helper, so a variable left in a caller-saved register across a call
shows.
"""

from __future__ import annotations

import pytest
from calls_support import (
    DATA,
    FAULT,
    KEEP,
    SCRAMBLE,
    call_sequences,
    epilogue,
    local_call_depth_program,
    registry,
    setup,
)
from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rv32_support import MAPS, MORE_MAPS, compare, strict_alignment  # noqa: F401  (a fixture)

from femtojit import isa
from femtojit.isa import Insn
from femtojit.program import Program
from femtojit.status import Status

pytestmark = pytest.mark.usefixtures("strict_alignment")

SETTINGS = settings(max_examples=FUZZ_EXAMPLES or 30, deadline=None,
                    derandomize=FUZZ_EXAMPLES is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def check(program: Program, profile: str = "femto", budget="default", maps=MAPS):
    return compare(program, profile=profile, budget=budget, maps=maps,
                   helpers=registry(profile), optimize_off_too=False, assume_valid=False)


@pytest.mark.fuzz
@SETTINGS
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_call_sequences(data, profile):
    check(data.draw(call_sequences(profile)), profile=profile, budget=100)


@pytest.mark.parametrize("profile", ["femto", "rfc"])
@pytest.mark.parametrize("value", [0, 1, 2, 4, 7])
def test_helper_faults(value, profile):
    """Odd r1: ILLEGAL_MEM from the helper; r1 & 2: a positive status, ILLEGAL_CALL; the
    result is r0 before the call: a constant (stored on the fault path), or a value from
    .data in whatever register the map gives it (stored before the call when the call
    clobbers that register, else on the fault path)."""
    for r0 in (lddw_r0(0x1234_5678_9ABC_DEF0 if profile == "rfc" else 77),
               setup()[:3]):
        body = [*r0, Insn(isa.CLS_ALU64 | isa.ALU_MOV, 1, 0, 0, value),
                Insn(isa.OP_CALL, 0, 0, 0, FAULT), Insn(isa.OP_EXIT)]
        ref = check(Program(body, data=DATA), profile=profile, maps={**MAPS, **MORE_MAPS})
        expected = {1: -2, 7: -2, 2: -4}.get(value, 0)
        assert ref.status == expected


def lddw_r0(value: int) -> list[Insn]:
    return [Insn(isa.OP_LDDW, 0, 0, 0, isa.s32(value)), Insn(0, 0, 0, 0, isa.s32(value >> 32))]


def test_rfc_helper_returns_64_bits():
    """Helper 5 of the rfc profile returns a 64-bit value: all of it reaches r0."""
    body = setup() + [Insn(isa.CLS_ALU64 | isa.ALU_MOV, 1, 0, 0, -3),
                      Insn(isa.OP_CALL, 0, 0, 0, SCRAMBLE),
                      Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_DW, 10, 0, -88)] + epilogue()
    ref = check(Program(body, data=DATA), profile="rfc")
    assert ref.result >> 32


@pytest.mark.parametrize("helper_id", [SCRAMBLE, KEEP, 0x20, 99, 0x7004_0000])
def test_callx(helper_id):
    """callx through a register: a known id calls it, an unknown one stops with
    ILLEGAL_CALL (result r0 before the call)."""
    body = setup() + [Insn(isa.OP_LDDW, 7, 0, 0, isa.s32(helper_id)), Insn(0),
                      Insn(isa.OP_CALLX, 7)] + epilogue()
    ref = check(Program(body, data=DATA))
    assert (ref.status == Status.ILLEGAL_CALL) == (helper_id in (99, 0x7004_0000))


@pytest.mark.parametrize("depth", [1, 7, 8, 9, 12])
def test_local_call_depth(depth):
    """A function calling itself `depth` times: up to 8 frames work, the 9th nested call
    stops with ILLEGAL_CALL; r6-r9 are restored after each return."""
    ref = check(local_call_depth_program(depth), maps={**MAPS, "none": MORE_MAPS["none"]})
    assert (ref.status == Status.ILLEGAL_CALL) == (depth > 8)


def test_calls_under_every_register_map():
    """One program with calls, a callx and a loop, under the extra maps (callee-saved only,
    a single register, none): variables live across calls must survive the clobbering."""
    body = setup() + [Insn(isa.CLS_ALU64 | isa.ALU_MOV, 9, 0, 0, 3),
                      Insn(isa.OP_CALL, 0, 0, 0, SCRAMBLE),
                      Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 6, 0),
                      Insn(isa.OP_LDDW, 7, 0, 0, KEEP), Insn(0),
                      Insn(isa.OP_CALLX, 7),
                      Insn(isa.CLS_ALU64 | isa.ALU_XOR | isa.SRC_X, 8, 0),
                      Insn(isa.CLS_ALU64 | isa.ALU_SUB, 9, 0, 0, 1),
                      Insn(isa.CLS_JMP | isa.JMP_JNE, 9, 0, -8, 0)] + epilogue()
    for profile in ("femto", "rfc"):
        check(Program(body, data=DATA), profile=profile, maps={**MAPS, **MORE_MAPS})
