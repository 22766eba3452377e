"""Property: the numba interpreter and the plain-Python reference machine agree.

Random programs of arithmetic (every ALU opcode, both widths, K and X forms, division
included), conditional and unconditional jumps (backwards too: the budget bounds them),
stack/ctx loads and stores (some out of bounds), atomics, helper calls and local calls; both
profiles. Status, every register, memory and the instruction count must be identical (the
registers too, so that a wrong value that never reaches r0 or memory is still seen).
"""

from __future__ import annotations

import pytest
from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from program_gen import alu_fields, unary_insn

from femtojit import isa
from femtojit.helpers import HelperRegistry, Runtime
from femtojit.interp.machine import Machine
from femtojit.interp.reference import ReferenceMachine
from femtojit.isa import Insn
from femtojit.program import Program

pytestmark = pytest.mark.fuzz

EXAMPLES = FUZZ_EXAMPLES or 150

INTERESTING_IMM = [0, 1, -1, 2, 7, 31, 32, 33, 63, 64, -64, 0x7FFFFFFF, -0x80000000, 0xFF, 16]
imm32 = st.one_of(st.sampled_from(INTERESTING_IMM), st.integers(-(1 << 31), (1 << 31) - 1))
reg = st.integers(0, 9)
any_src = st.integers(0, 10)


@st.composite
def alu(draw):
    op, cls, x, off = alu_fields(draw)
    opcode = cls | op | (isa.SRC_X if x else 0)
    return Insn(opcode, draw(reg), draw(any_src) if x else 0, off, 0 if x else draw(imm32))


@st.composite
def jump(draw, length):
    op = draw(st.sampled_from(list(isa.COND_JMP_OPS) + [isa.JMP_JA]))
    cls = draw(st.sampled_from([isa.CLS_JMP, isa.CLS_JMP32]))
    here = draw(st.integers(0, length))
    target = draw(st.integers(0, length))
    delta = target - here - 1
    if op == isa.JMP_JA:
        if cls == isa.CLS_JMP32:
            return Insn(isa.OP_JA32, 0, 0, 0, delta)
        return Insn(isa.OP_JA, 0, 0, delta)
    x = draw(st.booleans())
    opcode = cls | op | (isa.SRC_X if x else 0)
    return Insn(opcode, draw(reg), draw(any_src) if x else 0, delta, 0 if x else draw(imm32))


@st.composite
def memory(draw):
    size = draw(st.sampled_from([isa.SIZE_B, isa.SIZE_H, isa.SIZE_W, isa.SIZE_DW]))
    base = draw(st.sampled_from([10, 1]))  # stack top, or ctx (16 bytes)
    if base == 10:
        off = draw(st.integers(-520, 4))
    else:
        off = draw(st.integers(-4, 20))
    form = draw(st.sampled_from(["ldx", "ldxs", "st", "stx", "atomic"]))
    if form == "ldx":
        return Insn(isa.CLS_LDX | isa.MODE_MEM | size, draw(st.integers(2, 9)), base, off)
    if form == "ldxs" and size != isa.SIZE_DW:
        return Insn(isa.CLS_LDX | isa.MODE_MEMSX | size, draw(st.integers(2, 9)), base, off)
    if form == "st":
        return Insn(isa.CLS_ST | isa.MODE_MEM | size, base, 0, off, draw(imm32))
    if form == "atomic":
        width = draw(st.sampled_from([isa.SIZE_W, isa.SIZE_DW]))
        aop = draw(st.sampled_from(sorted(isa.ATOMIC_OPS)))
        return Insn(isa.CLS_STX | isa.MODE_ATOMIC | width, base, draw(reg), off, aop)
    return Insn(isa.CLS_STX | isa.MODE_MEM | size, base, draw(reg), off)


@st.composite
def programs(draw):
    body_length = draw(st.integers(1, 24))
    # a prologue giving r0, r2..r9 random 64-bit values (r1 keeps the ctx address)
    slots: list[Insn] = []
    for r in (0, 2, 3, 4, 5, 6, 7, 8, 9):
        value = draw(st.one_of(st.integers(0, (1 << 64) - 1), st.sampled_from([0, 1, 1 << 63])))
        high = Insn(0, 0, 0, 0, isa.s32(value >> 32))
        slots += [Insn(isa.OP_LDDW, r, 0, 0, isa.s32(value)), high]
    start = len(slots)
    body: list[Insn] = []
    for _ in range(body_length):
        choice = draw(st.integers(0, 9))
        if choice <= 3:
            body.append(draw(alu()))
        elif choice == 4:
            body += draw(unary_insn())
        elif choice <= 6:
            body.append(draw(jump(body_length)))
        elif choice <= 8:
            body.append(draw(memory()))
        else:
            kind = draw(st.sampled_from(["helper", "callx", "local", "exit"]))
            if kind == "helper":
                body.append(Insn(isa.OP_CALL, 0, 0, 0, 7))
            elif kind == "callx":
                body.append(Insn(isa.OP_CALLX, draw(reg)))
            elif kind == "local":
                body.append(Insn(isa.OP_CALL, 0, 1, 0, draw(st.integers(-5, 5))))
            else:
                body.append(Insn(isa.OP_EXIT))
    body.append(Insn(isa.OP_EXIT))
    # jumps were drawn relative to the body; they stay relative, so nothing to fix up
    return Program(slots + body, entry=0), start


def _helper_registry() -> HelperRegistry:
    registry = HelperRegistry()

    def scramble(call):
        call.regs[2] = call.regs[1] ^ 0x5555
        return (call.regs[1] * 3 + call.regs[3]) & ((1 << 64) - 1)

    registry.register(7, "scramble", scramble)
    registry.register(1, "one", lambda call: 1)
    return registry


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    generated=programs(),
    profile=st.sampled_from(["femto", "rfc"]),
    budget=st.sampled_from([0, 3, 30]),
    ctx=st.binary(min_size=16, max_size=16),
)
def test_numba_core_matches_reference(generated, profile, budget, ctx):
    program, _ = generated
    registry = _helper_registry()
    options = dict(ctx=ctx, host=None, profile=profile, budget=budget, helpers=registry)
    fast_machine = Machine(program, runtime=Runtime(), **options)
    slow_machine = ReferenceMachine(program, runtime=Runtime(), **options)
    fast = fast_machine.run()
    slow = slow_machine.run()
    assert (fast.status, fast.result, fast.insns) == (slow.status, slow.result, slow.insns)
    assert [int(v) for v in fast_machine.regs[:11]] == slow_machine.regs[:11]
    assert fast.memory == slow.memory
