"""Hostile programs and the tightened harness run shared by tests/test_isolation_armv7m.py
and tests/test_rv32_isolation.py.

`hostile_programs()` draws programs that try to escape: pointers from random 32- and 64-bit
constants and from ctx contents, huge offsets, r10 arithmetic, pointer sums that wrap around
2^32, every access size, atomics, helpers given bad pointers, callx of random ids, runaway
recursion, loops until the budget runs out. `run_tightly` runs a translation with the
harness's policy tightened to exactly the blob's declared frame of native stack and checks
that the callee-saved registers and sp come back intact; `check_hostile_program` also
compares the outcome with the interpreter's.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st
from program_gen import lddw

from femtojit import isa
from femtojit.backends.common.machine import BackendOptions
from femtojit.emu import layout
from femtojit.emu.unicorn_harness import UnicornHarness
from femtojit.errors import VerifyError
from femtojit.helpers import HelperRegistry, Runtime
from femtojit.interp import run as interp_run
from femtojit.isa import Insn
from femtojit.memmap import (
    CTX_BASE,
    DATA_BASE,
    HOST_BASE,
    NATIVE_STACK_BASE,
    NATIVE_STACK_TOP,
    PERM_READ,
    RODATA_BASE,
    STACK_BASE,
    HostRegion,
    build_memory,
)
from femtojit.program import Program
from femtojit.translation import compare_outcomes, translate

M64 = (1 << 64) - 1
HOSTS = [HostRegion(bytes(range(32)), PERM_READ), HostRegion(bytes(16))]

NEAR_REGIONS = [STACK_BASE, STACK_BASE + 512, DATA_BASE, RODATA_BASE, CTX_BASE, HOST_BASE,
                0x1000_0000, 0x0800_0000, 0x1010_0000, 0xFFFF_FFF0, 0]
pointer = st.one_of(
    st.integers(0, 0xFFFF_FFFF),
    st.builds(lambda b, d: (b + d) & 0xFFFF_FFFF, st.sampled_from(NEAR_REGIONS),
              st.integers(-600, 600)),
    st.integers(0, M64),
)


@st.composite
def hostile_item(draw) -> list[Insn]:
    kind = draw(st.integers(0, 9))
    reg = draw(st.integers(1, 9))
    size = draw(st.sampled_from([isa.SIZE_B, isa.SIZE_H, isa.SIZE_W, isa.SIZE_DW]))
    off = draw(st.one_of(st.integers(-(1 << 15), (1 << 15) - 1), st.integers(-16, 16)))
    if kind == 0:  # a pointer from nowhere
        return lddw(isa.OP_LDDW, reg, draw(pointer))
    if kind == 1:  # r10 arithmetic, wrapping
        return [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, reg, 10),
                Insn(isa.CLS_ALU64 | isa.ALU_ADD, reg, 0, 0, draw(st.integers(-(1 << 31),
                                                                             (1 << 31) - 1)))]
    if kind == 2:  # a pointer read from ctx (the host's data decides)
        return [Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, reg, 1, draw(st.integers(0, 24)))]
    if kind == 3:
        return [Insn(isa.CLS_LDX | isa.MODE_MEM | size, draw(st.integers(0, 9)),
                     draw(st.integers(0, 10)), off)]
    if kind == 4:
        return [Insn(isa.CLS_STX | isa.MODE_MEM | size, draw(st.integers(0, 10)),
                     draw(st.integers(0, 9)), off)]
    if kind == 5:
        return [Insn(isa.CLS_ST | isa.MODE_MEM | size, draw(st.integers(0, 10)), 0, off,
                     draw(st.integers(-(1 << 31), (1 << 31) - 1)))]
    if kind == 6:
        width = draw(st.sampled_from([isa.SIZE_W, isa.SIZE_DW]))
        code = draw(st.sampled_from(sorted(isa.ATOMIC_OPS)))
        return [Insn(isa.CLS_STX | isa.MODE_ATOMIC | width, draw(st.integers(0, 10)),
                     draw(st.integers(0, 9)), off, code)]
    if kind == 7:  # a helper with whatever r1-r3 hold (memcpy, fetch: pointers)
        return [Insn(isa.OP_CALL, 0, 0, 0, draw(st.sampled_from([0x02, 0x12, 0x13, 0x01])))]
    if kind == 8:
        return [Insn(isa.OP_CALLX, reg)]
    return [Insn(isa.CLS_ALU64 | draw(st.sampled_from([isa.ALU_ADD, isa.ALU_SUB, isa.ALU_XOR,
                                                       isa.ALU_LSH, isa.ALU_MUL])) | isa.SRC_X,
                 reg, draw(st.integers(0, 10)))]


@st.composite
def hostile_programs(draw):
    items = [draw(hostile_item()) for _ in range(draw(st.integers(1, 20)))]
    slots: list[Insn] = []
    for item in items:
        slots += item
    tail = draw(st.sampled_from(["exit", "loop", "recurse"]))
    if tail == "loop":  # jump back to the start: runs until the budget or a fault stops it
        slots.append(Insn(isa.OP_JA, 0, 0, -(len(slots) + 1)))
    elif tail == "recurse":  # call itself forever: the frame limit stops it
        slots.append(Insn(isa.OP_CALL, 0, isa.CALL_LOCAL, 0, -(len(slots) + 1)))
        slots.append(Insn(isa.OP_EXIT))
    else:
        slots.append(Insn(isa.OP_EXIT))
    ctx_words = [draw(pointer) for _ in range(4)]
    ctx = b"".join((w & M64).to_bytes(8, "little") for w in ctx_words)
    return Program(slots, data=bytes(24), rodata=b"%s\0" + bytes(13)), ctx


class Sink:
    """A printf stream that drops what it is given."""

    def write(self, text):
        return len(text)


def run_tightly(tr, ctx: bytes, hosts, *, helpers: HelperRegistry,
                preserved: dict[str, tuple[int, int]], sp_reg: int) -> tuple:
    """Run a translation allowing only its regions, the vm fields ABI v1 lets it write, its
    code (literals) and exactly its declared frame; check that the `preserved` registers
    (name: (unicorn register, value the caller leaves in it)) and sp come back intact."""
    image = build_memory(tr.program.data, tr.program.rodata, ctx, hosts)
    harness = UnicornHarness(tr.target, tr.code, image)
    harness.use_helpers(helpers, Runtime(printf_stream=Sink()), tr.profile)
    vm = harness.setup_abi_vm(tr.imports, tr.budget)
    frame = (NATIVE_STACK_TOP - tr.frame_size, NATIVE_STACK_TOP)
    for rules in (harness.policy.read, harness.policy.write):
        rules.remove((NATIVE_STACK_BASE, NATIVE_STACK_TOP))
        rules.append(frame)
    for uc_reg, value in preserved.values():
        harness.uc.reg_write(uc_reg, value)
    outcome = harness.call(tr.entry_offset, [vm])
    for name, (uc_reg, value) in preserved.items():
        got = harness.uc.reg_read(uc_reg)
        assert got == value, f"{name} not preserved: {got:#x}"
    assert harness.uc.reg_read(sp_reg) == NATIVE_STACK_TOP, "sp not restored"
    status, result, _ = harness.read_vm()
    assert outcome.ret[0] == status & 0xFFFFFFFF
    assert result != layout.RESULT_POISON, "vm->result never written"
    return status, result, harness.read_regions()


def check_hostile_program(case: tuple[Program, bytes], target: str, profile: str, regs, hints,
                          helpers: HelperRegistry, run) -> None:
    """Translate a hostile program (discarded if the verifier rejects it), run it with
    `run(tr, ctx, hosts)` (a target's run_tightly) and compare with the interpreter."""
    program, ctx = case
    try:
        tr = translate(program, target=target, profile=profile, budget=50,
                       helpers=set(helpers.ids()),
                       backend_options=BackendOptions(registers=regs, use_hints=hints))
    except VerifyError:
        assume(False)
    status, result, memory = run(tr, ctx, HOSTS)
    ref = interp_run(program, ctx=ctx, host=HOSTS, profile=profile, budget=50,
                     helpers=helpers, runtime=Runtime(printf_stream=Sink()))
    got = type(ref)(status=status, result=result, engine=target, memory=memory)
    assert compare_outcomes(ref, got) is None, compare_outcomes(ref, got)
