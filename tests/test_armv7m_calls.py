"""Helper calls, callx and local calls on armv7m, interpreter vs translation.

The translation skips storing an argument that vm->regs already holds and drops reloads
nobody reads (femtojit/backends/common/prep.py, elide_call_traffic), so the helpers here
rewrite r1-r5 in every way (scramble, bump, keep), fault, and are called in sequences and
loops where a skipped store or a dropped reload would show. Local calls: the 8-frame limit,
r6-r9 restored, recursion, return sites.
"""

from __future__ import annotations

import io

import pytest
from armv7m_gen import MAPS, lddw
from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from femtojit import isa
from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.helpers import HelperFault, Runtime
from femtojit.interp import run as interp_run
from femtojit.isa import Insn
from femtojit.program import Program
from femtojit.status import Status
from femtojit.translation import compare_outcomes, translate

M64 = (1 << 64) - 1
SCRAMBLE, BUMP, KEEP, FAULT, PEEK = 0x7001, 0x7002, 0x7003, 0x7004, 0x7005


def registry(profile: str):
    reg = builtin_registry(profile)

    def scramble(call):  # rewrites r2 and r5
        call.regs[2] = (call.regs[1] ^ 0x5555_0000_5555) & M64
        call.regs[5] = (call.regs[4] + 1) & M64
        return (call.regs[1] * 3 + call.regs[3]) & M64

    def bump(call):  # r3 += 1, r4 ^= r1, r1 := r5
        call.regs[3] = (call.regs[3] + 1) & M64
        call.regs[4] ^= call.regs[1]
        call.regs[1] = call.regs[5]
        return call.regs[2] >> 1

    def keep(call):  # reads everything, writes nothing
        return sum(call.regs[1:6]) & M64

    def fault(call):
        if call.regs[1] & 1:
            raise HelperFault(Status.ILLEGAL_MEM)
        if call.regs[1] & 2:
            raise HelperFault(5, "positive status")  # becomes ILLEGAL_CALL
        return call.regs[1] >> 2

    def peek(call):  # container memory through the checked view
        return int.from_bytes(call.mem.read(call.regs[1] & 0xFFFFFFFF, 4), "little")

    for hid, name, fn in ((SCRAMBLE, "scramble", scramble), (BUMP, "bump", bump),
                          (KEEP, "keep", keep), (FAULT, "fault", fault), (PEEK, "peek", peek)):
        reg.register(hid, name, fn)
    return reg


def compare(program: Program, *, ctx: bytes = b"", profile: str = "femto", budget="default",
            maps=MAPS):
    reg = registry(profile)
    ids = set(reg.ids())
    stream = io.StringIO()
    tr0 = translate(program, target="armv7m", profile=profile, budget=budget, helpers=ids)
    ref = interp_run(program, ctx=ctx, profile=profile, budget=tr0.budget, helpers=reg,
                     runtime=Runtime(printf_stream=stream))
    for name, regs in maps.items():
        tr = translate(program, target="armv7m", profile=profile, budget=budget, helpers=ids,
                       backend_options=BackendOptions(registers=regs))
        got = tr.run(ctx=ctx, helpers=reg, runtime=Runtime(printf_stream=io.StringIO()))
        problem = compare_outcomes(ref, got)
        assert problem is None, f"map {name}: {problem}\n{tr.ir_listing()}"
    return ref


def epilogue() -> list[Insn]:
    out = [Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_DW, 10, r, -8 * (r + 1)) for r in range(10)]
    return out + [Insn(isa.OP_EXIT)]


def setup() -> list[Insn]:
    """r0-r9 := values from .data the translator does not know."""
    out = lddw(isa.OP_LDDWD, 9, 0)
    for r in range(9):
        out.append(Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, r, 9, 8 * r))
    out.append(Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 9, 9, 72))
    return out


DATA = b"".join(((i * 0x9E3779B97F4A7C15) & M64).to_bytes(8, "little") for i in range(1, 11))

call_item = st.sampled_from([SCRAMBLE, BUMP, KEEP, KEEP, PEEK, 0x10, 0x11, 0x12, 0x13, 0x20])


@st.composite
def call_sequences(draw, profile: str):
    body: list[Insn] = []
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.integers(0, 6))
        if kind == 0:  # touch an argument register between calls
            reg = draw(st.integers(1, 5))
            op = draw(st.sampled_from([isa.ALU_ADD, isa.ALU_XOR, isa.ALU_MOV]))
            body.append(Insn(isa.CLS_ALU64 | op, reg, 0, 0, draw(st.integers(-9, 9))))
        elif kind == 1:
            src, dst = draw(st.integers(0, 9)), draw(st.integers(1, 5))
            body.append(Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, dst, src))
        elif kind == 2:  # a pointer argument: r1 = r10 - 8 (for peek/fetch)
            body += [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 1, 10),
                     Insn(isa.CLS_ALU64 | isa.ALU_ADD, 1, 0, 0, -8),
                     Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 2, 1)]
        elif kind == 3:  # keep an argument in r6-r8 across a call, pass it again after
            k = draw(st.integers(1, 5))
            keep = draw(st.integers(6, 8))
            body += [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, keep, k),
                     Insn(isa.OP_CALL, 0, 0, 0, draw(call_item)),
                     Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, k, keep),
                     Insn(isa.OP_CALL, 0, 0, 0, draw(call_item))]
        else:
            helper = draw(call_item)
            body.append(Insn(isa.OP_CALL, 0, 0, 0, helper))
    loop = draw(st.booleans())
    if loop:  # run the sequence three times with r9 counting
        head = [Insn(isa.CLS_ALU64 | isa.ALU_MOV, 9, 0, 0, 3)]
        tail = [Insn(isa.CLS_ALU64 | isa.ALU_SUB, 9, 0, 0, 1),
                Insn(isa.CLS_JMP | isa.JMP_JNE, 9, 0, -(len(body) + 2), 0)]
        body = head + body + tail
    return Program(setup() + body + epilogue(), data=DATA)


SETTINGS = settings(max_examples=FUZZ_EXAMPLES or 60, deadline=None,
                    derandomize=FUZZ_EXAMPLES is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


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
    tr = translate(program, target="armv7m", helpers=set(registry("femto").ids()))
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
    main = [Insn(isa.CLS_ALU64 | isa.ALU_MOV, 1, 0, 0, depth),
            Insn(isa.CLS_ALU64 | isa.ALU_MOV, 6, 0, 0, 600),
            Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 0),
            Insn(isa.OP_CALL, 0, isa.CALL_LOCAL, 0, 3),
            Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 6),
            Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_DW, 10, 6, -8),
            Insn(isa.OP_EXIT)]
    sub = [Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1),
           Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 6, 1),
           Insn(isa.CLS_ALU64 | isa.ALU_SUB, 1, 0, 0, 1),
           Insn(isa.CLS_JMP | isa.JMP_JEQ, 1, 0, 1, 0),
           Insn(isa.OP_CALL, 0, isa.CALL_LOCAL, 0, -5),
           Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 6),
           Insn(isa.OP_EXIT)]
    ref = compare(Program(main + sub), maps={"default": None, "none": (), "two": (4, 5)})
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
