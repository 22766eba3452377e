"""Helper calls, callx and local calls on armv7m, interpreter vs translation.

The translation skips storing an argument that vm->regs already holds and drops reloads
nobody reads (femtojit/backends/common/prep.py, elide_call_traffic), so the helpers here
(tests/calls_support.py) rewrite r1-r5 in every way (scramble, bump, keep), fault, and are
called in sequences and loops where a skipped store or a dropped reload would show. Local
calls: the 8-frame limit, r6-r9 restored, recursion, return sites.
"""

from __future__ import annotations

import backend_support
import pytest
from armv7m_support import MAPS, TARGET
from calls_support import (
    BUMP,
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
from program_gen import lddw

from femtojit import isa
from femtojit.isa import Insn
from femtojit.program import Program
from femtojit.status import Status
from femtojit.translation import translate


def compare(program: Program, *, profile: str = "femto", budget="default", maps=MAPS):
    """Interpreter vs armv7m with the call helpers under each register map (the clocks the
    helpers read stay at the Runtime's default 0)."""
    return backend_support.compare(program, target=TARGET, maps=maps, profile=profile,
                                   budget=budget, unoptimized=(), assume_valid=False,
                                   helpers=registry(profile), clocks=(0, 0))


SETTINGS = settings(max_examples=FUZZ_EXAMPLES or 60, deadline=None,
                    derandomize=FUZZ_EXAMPLES is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.fuzz
@SETTINGS
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_call_sequences(data, profile):
    program = data.draw(call_sequences(profile))
    compare(program, profile=profile, budget=100)


def test_arguments_kept_in_vm_regs_are_not_stored_again():
    """Two calls in a row passing r3-r5 unchanged: the second stores none of them (and
    nothing reloads r3-r5 between), yet a helper that rewrites r3 is seen by the next."""
    body = [Insn(isa.OP_CALL, 0, 0, 0, KEEP), Insn(isa.OP_CALL, 0, 0, 0, BUMP),
            Insn(isa.OP_CALL, 0, 0, 0, KEEP), Insn(isa.OP_CALL, 0, 0, 0, SCRAMBLE)]
    program = Program(setup() + body + epilogue(), data=DATA)
    compare(program)
    tr = translate(program, target=TARGET, helpers=set(registry("femto").ids()))
    from femtojit.backends.common.prep import HelperCall, prepare

    prepared = prepare(tr.ir, compare_imm_ok=lambda v: v < 256)
    calls = [op for _, _, op in prepared.fn.ops() if isinstance(op, HelperCall)]
    assert len(calls) == 4
    assert all(a is not None for a in calls[0].args)
    assert calls[1].args[4:] == [None] * 6  # r3-r5 are still in vm->regs after the first


@pytest.mark.parametrize("value", [0, 1, 2, 4, 7])
def test_helper_faults(value):
    """Odd r1: ILLEGAL_MEM from the helper; r1 & 2: a positive status, ILLEGAL_CALL; the
    result is r0 before the call."""
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 77),
            Insn(isa.CLS_ALU64 | isa.ALU_MOV, 1, 0, 0, value),
            Insn(isa.OP_CALL, 0, 0, 0, FAULT),
            Insn(isa.OP_EXIT)]
    ref = compare(Program(body))
    expected = {1: -2, 7: -2, 2: -4}.get(value, 0)
    assert ref.status == expected
    assert ref.result == (77 if expected else value >> 2)


@pytest.mark.parametrize("helper_id", [SCRAMBLE, KEEP, 0x20, 99, 0x7004_0000])
def test_callx(helper_id):
    """callx through a register: a known id calls it, an unknown one stops with
    ILLEGAL_CALL (result r0 before the call)."""
    body = setup() + [lddw(isa.OP_LDDW, 7, helper_id)[0], lddw(isa.OP_LDDW, 7, helper_id)[1],
                      Insn(isa.OP_CALLX, 7)] + epilogue()
    ref = compare(Program(body, data=DATA))
    assert (ref.status == Status.ILLEGAL_CALL) == (helper_id in (99, 0x7004_0000))


@pytest.mark.parametrize("depth", [1, 7, 8, 9, 12])
def test_local_call_depth(depth):
    """A function calling itself `depth` times: up to 8 frames work, the 9th nested call
    stops with ILLEGAL_CALL; r6-r9 are restored after each return."""
    ref = compare(local_call_depth_program(depth),
                  maps={"default": None, "none": (), "two": (4, 5)})
    assert (ref.status == Status.ILLEGAL_CALL) == (depth > 8)


@pytest.mark.parametrize("helper", [BUMP, SCRAMBLE, KEEP])
@pytest.mark.parametrize("reg", [1, 2, 3, 4, 5])
def test_argument_passed_again_after_a_helper_rewrote_its_word(helper, reg):
    """r6 = rN; call (may rewrite regs[N]); rN = r6; call: the second call must store rN
    again, although it is the same value the first call stored."""
    body = setup() + [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 6, reg),
                      Insn(isa.OP_CALL, 0, 0, 0, helper),
                      Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, reg, 6),
                      Insn(isa.OP_CALL, 0, 0, 0, KEEP)] + epilogue()
    compare(Program(body, data=DATA), maps={"default": None, "two": (4, 5)})
