"""Isolation of armv7m translations: hostile programs never make the translated code touch
memory outside the container's regions and its own frame, never crash the emulator, and
return to the caller with the callee-saved registers and sp intact (AAPCS).

The harness (femtojit.emu) raises EmulationError on any access outside what the code may
touch; here its policy is tightened further: of the native stack, only the `frame_size`
bytes the blob declares, below the caller's sp. Programs are generated to be hostile:
pointers from random 32- and 64-bit constants and from ctx contents, huge offsets, r10
arithmetic, pointer sums that wrap around 2^32, every access size, atomics, helpers given
bad pointers, callx of random ids, runaway recursion, loops until the budget runs out. The
outcome must also equal the interpreter's.
"""

from __future__ import annotations

from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from program_gen import lddw

from femtojit import isa
from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.emu import layout
from femtojit.emu.unicorn_harness import UnicornHarness
from femtojit.errors import VerifyError
from femtojit.helpers import Runtime
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
CALLEE_SAVED = {4: 0x44440004, 5: 0x55550005, 6: 0x66660006, 7: 0x77770007,
                8: 0x88880008, 9: 0x99990009, 10: 0xAAAA000A, 11: 0xBBBB000B}

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


def run_tightly(tr, ctx: bytes, hosts) -> tuple:
    """Run a translation allowing only its regions, the vm fields ABI v1 lets it write, its
    code (literals) and exactly its declared frame; check r4-r11 and sp come back intact."""
    from unicorn.arm_const import UC_ARM_REG_R4, UC_ARM_REG_SP

    image = build_memory(tr.program.data, tr.program.rodata, ctx, hosts)
    harness = UnicornHarness("armv7m", tr.code, image)
    registry = builtin_registry(tr.profile)
    harness.use_helpers(registry, Runtime(printf_stream=_Sink()), tr.profile)
    vm = harness.setup_abi_vm(tr.imports, tr.budget)
    frame = (NATIVE_STACK_TOP - tr.frame_size, NATIVE_STACK_TOP)
    for rules in (harness.policy.read, harness.policy.write):
        rules.remove((NATIVE_STACK_BASE, NATIVE_STACK_TOP))
        rules.append(frame)
    for reg, value in CALLEE_SAVED.items():
        harness.uc.reg_write(UC_ARM_REG_R4 + reg - 4, value)
    outcome = harness.call(tr.entry_offset, [vm])
    for reg, value in CALLEE_SAVED.items():
        got = harness.uc.reg_read(UC_ARM_REG_R4 + reg - 4)
        assert got == value, f"r{reg} not preserved: {got:#x}"
    assert harness.uc.reg_read(UC_ARM_REG_SP) == NATIVE_STACK_TOP, "sp not restored"
    status, result, _ = harness.read_vm()
    assert outcome.ret[0] == status & 0xFFFFFFFF
    assert result != layout.RESULT_POISON, "vm->result never written"
    return status, result, harness.read_regions()


class _Sink:
    def write(self, text):
        return len(text)


SETTINGS = settings(max_examples=FUZZ_EXAMPLES or 150, deadline=None,
                    derandomize=FUZZ_EXAMPLES is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HOSTS = [HostRegion(bytes(range(32)), PERM_READ), HostRegion(bytes(16))]


@SETTINGS
@given(case=hostile_programs(), profile=st.sampled_from(["femto", "rfc"]),
       regs=st.sampled_from([None, (), (4, 5), (11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)]),
       hints=st.booleans())
def test_hostile_programs_stay_inside(case, profile, regs, hints):
    program, ctx = case
    registry = builtin_registry(profile)
    try:
        tr = translate(program, target="armv7m", profile=profile, budget=50,
                       helpers=set(registry.ids()),
                       backend_options=BackendOptions(registers=regs, use_hints=hints))
    except VerifyError:
        assume(False)
    status, result, memory = run_tightly(tr, ctx, HOSTS)
    ref = interp_run(program, ctx=ctx, host=HOSTS, profile=profile, budget=50,
                     helpers=registry, runtime=Runtime(printf_stream=_Sink()))
    got = type(ref)(status=status, result=result, engine="armv7m", memory=memory)
    assert compare_outcomes(ref, got) is None, compare_outcomes(ref, got)


def test_tight_policy_catches_a_stray_store():
    """The tightened harness is not vacuous: code that stores below its declared frame, or
    into the vm's read-only fields, is reported."""
    import pytest

    from femtojit.errors import EmulationError

    program = Program([Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 1), Insn(isa.OP_EXIT)])
    tr = translate(program, target="armv7m")
    run_tightly(tr, b"", [])  # fine as it is
    tr.machine.frame_size = 4  # lie about the frame: the prologue's push is now outside it
    with pytest.raises(EmulationError, match="isolation failure"):
        run_tightly(tr, b"", [])
