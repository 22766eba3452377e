"""The differential test that matters for the IR: for every program, the reference bytecode
interpreter, the IR interpreter after lowering, and the IR interpreter after the full pass
pipeline give the same status, 64-bit result and memory, in both profiles.

Programs: the 313 bpf_conformance tests, and hypothesis-generated programs (ALU chains at
both widths on random values, forward and backward jumps under a budget, loads/stores/atomics
in and out of bounds and straddling region ends through r10, ctx, .data and .rodata
pointers, division by zero, helper calls that fault or rewrite r1-r5, callx, local calls).
Each generated program ends by storing r0-r9 to the stack, so a wrong value in any register
shows up in memory.
"""

from __future__ import annotations

import pytest
from calls_support import raise_for_fault_bits
from conftest import CONFORMANCE_TESTS, FUZZ_EXAMPLES
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from program_gen import alu_fields, any_reg, jump_item, lddw, resolve_items, unary_insn, work_reg

from femtojit import isa
from femtojit.builtin_helpers import builtin_registry
from femtojit.conformance.parser import parse_file
from femtojit.errors import VerifyError
from femtojit.helpers import HelperRegistry
from femtojit.ir.check import compare_engines
from femtojit.isa import Insn
from femtojit.program import Program
from femtojit.verify import verify

M64 = (1 << 64) - 1

# -- the conformance suite -------------------------------------------------------------------


def _suite():
    return [parse_file(path) for path in CONFORMANCE_TESTS]


def test_conformance_suite_has_all_tests():
    assert len(CONFORMANCE_TESTS) == 313


@pytest.mark.parametrize("profile", ["rfc", "femto"])
def test_conformance_suite_three_ways(profile):
    registry = builtin_registry(profile)
    checked = 0
    failures = []
    for test in _suite():
        if test.skipped or not test.slots:
            continue
        try:
            verify(test.program, profile, set(registry.ids()))
        except VerifyError:
            assert profile == "femto", f"{test.name} rejected in rfc"
            continue  # femto rejects e.g. a zero immediate divisor
        comparison = compare_engines(test.program, profile=profile, ctx=test.mem,
                                     helpers=registry)
        if profile == "rfc" and test.expected_result is not None:
            assert comparison.reference.result == test.expected_result, test.name
        failures += [f"{test.name}: {m}" for m in comparison.mismatches()]
        checked += 1
    assert not failures, "\n".join(failures[:10])
    assert checked >= (313 if profile == "rfc" else 280)


# -- generated programs -----------------------------------------------------------------------

EXAMPLES = FUZZ_EXAMPLES or 150

INTERESTING = [0, 1, -1, 2, 3, 7, 8, 31, 32, 33, 63, 64, 0xFF, 0xFFFF, 0x7FFFFFFF,
               -0x80000000, -2, 0x12345678]
imm32 = st.one_of(st.sampled_from(INTERESTING), st.integers(-(1 << 31), (1 << 31) - 1))
value64 = st.one_of(
    st.sampled_from([0, 1, M64, 1 << 63, (1 << 63) - 1, 0xFFFFFFFF, 1 << 32, 0x80000000]),
    st.integers(0, M64),
    st.integers(0, 0xFFFF),
)
HELPER_SCRAMBLE, HELPER_PEEK, HELPER_POKE, HELPER_FAULT = 7, 8, 9, 10


def _registry() -> HelperRegistry:
    registry = HelperRegistry()

    def scramble(call):  # rewrites r2 and r5, returns a 64-bit value
        call.regs[2] = call.regs[1] ^ 0x5555_0000_5555
        call.regs[5] = (call.regs[4] + 1) & M64
        return (call.regs[1] * 3 + call.regs[3]) & M64

    def peek(call):  # reads container memory: faults ILLEGAL_MEM outside the regions
        return int.from_bytes(call.mem.read(call.regs[1] & 0xFFFFFFFF, 4), "little")

    def poke(call):
        call.mem.write(call.regs[1] & 0xFFFFFFFF, (call.regs[2] & 0xFFFFFFFF).to_bytes(4, "little"))
        return 0

    def fault(call):
        raise_for_fault_bits(call.regs[1])
        return call.regs[1] >> 1

    registry.register(HELPER_SCRAMBLE, "scramble", scramble)
    registry.register(HELPER_PEEK, "peek", peek)
    registry.register(HELPER_POKE, "poke", poke)
    registry.register(HELPER_FAULT, "fault", fault)
    return registry


@st.composite
def alu_insn(draw, profile: str):
    op, cls, x, off = alu_fields(draw)
    imm = 0 if x else draw(imm32)
    if not x and op in (isa.ALU_DIV, isa.ALU_MOD) and imm == 0 and profile == "femto":
        imm = 3  # the femto verifier rejects a zero immediate divisor
    return [Insn(cls | op | (isa.SRC_X if x else 0), draw(work_reg),
                 draw(any_reg) if x else 0, off, imm)]


@st.composite
def memory_insn(draw, ctx_len: int, data_len: int, rodata_len: int):
    size_code = draw(st.sampled_from([isa.SIZE_B, isa.SIZE_H, isa.SIZE_W, isa.SIZE_DW]))
    size = isa.SIZE_BYTES[size_code]
    # base register, offset of its region's start and end relative to the base
    base, start, end = draw(st.sampled_from([
        (10, -512, 0), (1, 0, ctx_len), (6, 0, data_len), (7, 0, rodata_len), (8, -512, 0),
    ]))
    where = draw(st.integers(0, 11))
    if where < 3:  # at an edge, just inside, across or just past it
        off = draw(st.sampled_from([start, start, end - size, end - size, start - 1,
                                    start - size + 1, end - size + 1, end, end - 1]))
    elif where == 3:
        off = draw(st.integers(start - 600, end + 600))
    else:  # inside (when the access fits at all)
        off = draw(st.integers(start, max(start, end - size)))
    off = max(-(1 << 15), min(off, (1 << 15) - 1))
    form = draw(st.sampled_from(["ldx", "ldxs", "st", "stx", "atomic"]))
    dst = draw(st.integers(2, 9))
    if form == "ldx" or (form == "ldxs" and size == 8):
        return [Insn(isa.CLS_LDX | isa.MODE_MEM | size_code, dst, base, off)]
    if form == "ldxs":
        return [Insn(isa.CLS_LDX | isa.MODE_MEMSX | size_code, dst, base, off)]
    if form == "st":
        return [Insn(isa.CLS_ST | isa.MODE_MEM | size_code, base, 0, off, draw(imm32))]
    if form == "atomic":
        width = draw(st.sampled_from([isa.SIZE_W, isa.SIZE_DW]))
        code = draw(st.sampled_from(sorted(isa.ATOMIC_OPS)))
        return [Insn(isa.CLS_STX | isa.MODE_ATOMIC | width, base, draw(work_reg), off, code)]
    return [Insn(isa.CLS_STX | isa.MODE_MEM | size_code, base, draw(work_reg), off)]


@st.composite
def pointer_insn(draw):
    """r8 := a pointer into the stack or ctx, or r8 += small constant."""
    kind = draw(st.sampled_from(["from_r10", "from_r1", "bump"]))
    if kind == "bump":
        return [Insn(isa.CLS_ALU64 | isa.ALU_ADD, 8, 0, 0, draw(st.integers(-16, 16)))]
    src = 10 if kind == "from_r10" else 1
    return [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 8, src),
            Insn(isa.CLS_ALU64 | isa.ALU_ADD, 8, 0, 0, draw(st.integers(-40, 8)))]


@st.composite
def call_insn(draw):
    kind = draw(st.sampled_from(["helper", "helper", "callx", "callx_random"]))
    if kind == "helper":
        helper = draw(st.sampled_from([HELPER_SCRAMBLE, HELPER_PEEK, HELPER_POKE, HELPER_FAULT]))
        return [Insn(isa.OP_CALL, 0, 0, 0, helper)]
    reg = draw(st.integers(2, 9))
    if kind == "callx":
        helper = draw(st.sampled_from([HELPER_SCRAMBLE, HELPER_FAULT, 99]))
        return [Insn(isa.CLS_ALU64 | isa.ALU_MOV, reg, 0, 0, helper), Insn(isa.OP_CALLX, reg)]
    return [Insn(isa.OP_CALLX, reg)]


def _avoid_counter(insns: list[Insn]) -> list[Insn]:
    """The same instructions with writes to r9 (the loop counter) redirected to r8."""
    out = []
    for insn in insns:
        if insn.cls in (isa.CLS_ALU, isa.CLS_ALU64, isa.CLS_LDX) and insn.dst == 9:
            insn = insn._replace(dst=8)
        if insn.cls == isa.CLS_STX and insn.opcode & 0xE0 == isa.MODE_ATOMIC and insn.src == 9:
            insn = insn._replace(src=8)
        out.append(insn)
    return out


@st.composite
def counted_loop(draw, profile: str, ctx_len: int, data_len: int, rodata_len: int):
    """r9 from a start value by a step until a compare against a constant fails (or the
    budget runs out: the counter may overshoot a `jne` bound). The body may index the stack
    with r9, so check removal over counter ranges is exercised at the range's edges."""
    wide = draw(st.booleans())
    step = draw(st.sampled_from([1, 2, 4, 8, 3, -1, -4]))
    start = draw(st.sampled_from([0, 1, 4, 8, 60, 0xFFFFFFF0, 0x7FFFFFFE, -8]))
    trips = draw(st.integers(0, 12))
    bound = (start + step * trips + draw(st.sampled_from([0, 0, 0, 1, -1]))) & 0xFFFFFFFF
    cond = draw(st.sampled_from([isa.JMP_JNE, isa.JMP_JLT, isa.JMP_JLE, isa.JMP_JGT,
                                 isa.JMP_JGE, isa.JMP_JSLT, isa.JMP_JSGT]))
    body: list[Insn] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            body += draw(alu_insn(profile))
        elif kind == 1:
            body += draw(memory_insn(ctx_len, data_len, rodata_len))
        else:  # an access through r10 + r9 + k
            size = draw(st.sampled_from([isa.SIZE_B, isa.SIZE_W, isa.SIZE_DW]))
            k = draw(st.sampled_from([-512, -128, -64, -8, -4, 0, 4]))
            body += [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 8, 10),
                     Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 8, 9),
                     Insn(isa.CLS_STX | isa.MODE_MEM | size, 8, 3, k) if kind == 2 else
                     Insn(isa.CLS_LDX | isa.MODE_MEM | size, 2, 8, k)]
    body = _avoid_counter(body)
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    jcls = isa.CLS_JMP if wide else isa.CLS_JMP32
    init = lddw(isa.OP_LDDW, 9, start & M64 if wide else start & 0xFFFFFFFF)
    add = Insn(cls | isa.ALU_ADD, 9, 0, 0, step)
    back = Insn(jcls | cond, 9, 0, -(len(body) + 2), isa.s32(bound))
    return init + body + [add, back]


@st.composite
def programs(draw, profile: str, back_jumps: bool):
    """(program, ctx). Jumps land on item boundaries, so never inside an LDDW."""
    ctx_len = draw(st.sampled_from([0, 4, 16, 24]))
    ctx = draw(st.binary(min_size=ctx_len, max_size=ctx_len))
    # .data starts with 8 random values the translator cannot know (so the passes see
    # unknown values, not just constants to fold), then a random tail
    inputs = [draw(value64) for _ in range(8)]
    data = b"".join(v.to_bytes(8, "little") for v in inputs) + draw(st.binary(max_size=24))
    rodata = draw(st.binary(max_size=24))
    items: list[list[Insn] | tuple] = []
    items.append(lddw(isa.OP_LDDWD, 6, 0))
    for i, r in enumerate((0, 2, 3, 4, 5, 9)):
        if draw(st.integers(0, 3)):
            size = draw(st.sampled_from([isa.SIZE_DW, isa.SIZE_DW, isa.SIZE_W, isa.SIZE_B]))
            items.append([Insn(isa.CLS_LDX | isa.MODE_MEM | size, r, 6, 8 * i)])
        else:
            items.append(lddw(isa.OP_LDDW, r, draw(value64)))
    items.append(lddw(isa.OP_LDDWD, 6, draw(st.integers(0, 8))))
    items.append(lddw(isa.OP_LDDWR, 7, draw(st.integers(0, 8))))
    items.append([Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 8, 10)])
    first_body = len(items)
    n = draw(st.integers(1, 28))
    has_local = False
    for _ in range(n):
        choice = draw(st.integers(0, 19))
        if choice < 8:
            items.append(draw(alu_insn(profile)))
        elif choice < 10:
            items.append(draw(unary_insn()))
        elif choice < 14:
            items.append(draw(memory_insn(ctx_len, len(data), len(rodata))))
        elif choice < 15:
            items.append(draw(pointer_insn()))
        elif choice < 17:
            items.append(jump_item(draw, imm32))
        elif choice < 18 or (choice < 19 and not back_jumps):
            items.append(draw(call_insn()))
        elif choice < 19:
            items.append(draw(counted_loop(profile, ctx_len, len(data), len(rodata))))
        else:
            items.append(("local",))
            has_local = True
    epilogue_start = len(items)
    for r in range(10):
        items.append([Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_DW, 10, r, -8 * (r + 1))])
    items.append([Insn(isa.OP_EXIT)])
    sub_start = len(items)
    if has_local:
        for _ in range(draw(st.integers(0, 3))):
            items.append(draw(alu_insn(profile)))
        if draw(st.integers(0, 5)) == 0:
            items.append(("local",))  # recursion: runs into the frame limit
        items.append([Insn(isa.OP_EXIT)])
    slots = resolve_items(draw, items, first_body=first_body, epilogue=epilogue_start,
                          sub_start=sub_start, back_jumps=back_jumps)
    return Program(slots, data=data, rodata=rodata), ctx


def _check(program: Program, ctx: bytes, profile: str, budget):
    registry = _registry()
    try:
        verify(program, profile, set(registry.ids()))
    except VerifyError:
        assume(False)
    comparison = compare_engines(program, profile=profile, budget=budget, ctx=ctx,
                                 helpers=registry)
    event(f"status {comparison.reference.status}")
    assert not comparison.mismatches(), (
        "\n".join(comparison.mismatches()) + "\n" + comparison.listing
    )
    return comparison


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]),
       budget=st.sampled_from([0, 2, 7, 40, 300, "default"]))
def test_generated_programs_with_loops(data, profile, budget):
    """Backward jumps allowed: the budget bounds every run."""
    if budget == "default" and profile == "rfc":
        budget = 60
    program, ctx = data.draw(programs(profile, back_jumps=True))
    _check(program, ctx, profile, budget)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_generated_programs_without_budget(data, profile):
    """Forward jumps only, so runs end without a budget (no tick blocks at all)."""
    program, ctx = data.draw(programs(profile, back_jumps=False))
    _check(program, ctx, profile, None)
