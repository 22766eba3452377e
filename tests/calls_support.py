"""Helper-call programs shared by tests/test_armv7m_calls.py and tests/test_rv32_calls.py.

The translation skips storing an argument that vm->regs already holds and drops reloads
nobody reads (femtojit/backends/common/prep.py, elide_call_traffic), so the helpers here
rewrite r1-r5 in every way (scramble, bump, keep), fault, and read container memory; the
programs call them in sequences and loops where a skipped store or a dropped reload would
show, and a local-call chain runs up to and past the 8-frame limit.
"""

from __future__ import annotations

from hypothesis import strategies as st
from program_gen import lddw

from femtojit import isa
from femtojit.builtin_helpers import builtin_registry
from femtojit.helpers import HelperFault, HelperRegistry
from femtojit.isa import Insn
from femtojit.program import Program
from femtojit.status import Status

M64 = (1 << 64) - 1
SCRAMBLE, BUMP, KEEP, FAULT, PEEK = 0x7001, 0x7002, 0x7003, 0x7004, 0x7005


def raise_for_fault_bits(value: int) -> None:
    """The faulting helpers' rule: odd value, ILLEGAL_MEM; value & 2, a positive status
    (which the engines turn into ILLEGAL_CALL); else no fault."""
    if value & 1:
        raise HelperFault(Status.ILLEGAL_MEM)
    if value & 2:
        raise HelperFault(5, "positive status")  # becomes ILLEGAL_CALL


def registry(profile: str) -> HelperRegistry:
    """The profile's built-in helpers plus scramble, bump, keep, fault and peek."""
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
        raise_for_fault_bits(call.regs[1])
        return call.regs[1] >> 2

    def peek(call):  # container memory through the checked view
        return int.from_bytes(call.mem.read(call.regs[1] & 0xFFFFFFFF, 4), "little")

    for hid, name, fn in ((SCRAMBLE, "scramble", scramble), (BUMP, "bump", bump),
                          (KEEP, "keep", keep), (FAULT, "fault", fault), (PEEK, "peek", peek)):
        reg.register(hid, name, fn)
    return reg


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


def local_call_depth_program(depth: int) -> Program:
    """A function calling itself `depth` times (r1 counting down, r0 counting the calls);
    each level sets r6, which its caller's r6 must survive (r6-r9 are restored on return)."""
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
    return Program(main + sub)
