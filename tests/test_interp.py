"""Interpreter unit tests: every opcode and the semantic edges of docs/semantics.md.

Every run goes through both the numba interpreter and the plain-Python reference machine
(femtojit/interp/reference.py) and the two must agree on status, r0, memory and the
instruction count; the expected values below are written out by hand from the semantics.
"""

from __future__ import annotations

import io

import pytest

from femtojit import interp, memmap
from femtojit.asm import assemble, assemble_program
from femtojit.builtin_helpers import builtin_registry
from femtojit.helpers import HelperFault, HelperRegistry, Runtime
from femtojit.interp.reference import run_reference
from femtojit.isa import Insn
from femtojit.memmap import HostRegion
from femtojit.profile import default_budget
from femtojit.program import Program
from femtojit.status import Status

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
INT64_MIN = 1 << 63
PROFILES = ("femto", "rfc")


def execute(source, *, profile="femto", budget="default", helpers=None, **kwargs):
    """Run on the interpreter and the reference machine; they must agree. Returns the
    interpreter's RunResult."""
    if isinstance(source, str):
        program = assemble_program(source)
    elif isinstance(source, Program):
        program = source
    else:
        program = Program(list(source))
    resolved = default_budget(profile) if budget == "default" else budget
    registry = helpers if helpers is not None else builtin_registry(profile)
    result = interp.run(program, profile=profile, budget=resolved, helpers=registry, **kwargs)
    reference = run_reference(
        program, profile=profile, budget=resolved, helpers=registry, **kwargs
    )
    assert result.status == reference.status, (result, reference)
    assert result.result == reference.result, (hex(result.result), hex(reference.result))
    assert result.memory == reference.memory
    assert result.insns == reference.insns
    return result


def r0_of(source, **kwargs) -> int:
    result = execute(source, **kwargs)
    assert result.status == 0, Status(result.status).name
    return result.result


# ---------------------------------------------------------------------------------------------
# arithmetic, both profiles (identical there)

ALU_CASES = [
    # 64-bit, immediate and register forms
    ("mov %r0, 5\nadd %r0, 7", 12),
    ("mov %r0, 5\nmov %r1, -7\nadd %r0, %r1", M64 - 1),
    ("mov %r0, 5\nsub %r0, 7", M64 - 1),
    ("mov %r0, 5\nmov %r1, 7\nsub %r0, %r1", M64 - 1),
    ("lddw %r0, 0x100000001\nmul %r0, 3", 0x300000003),
    ("lddw %r0, 0x100000001\nmov %r1, -1\nmul %r0, %r1", (-0x100000001) & M64),
    ("mov %r0, 100\ndiv %r0, 7", 14),
    ("mov %r0, -1\nmov %r1, 2\ndiv %r0, %r1", M64 // 2),
    ("mov %r0, 100\nmod %r0, 7", 2),
    ("mov %r0, -1\nmov %r1, 10\nmod %r0, %r1", M64 % 10),
    ("mov %r0, -100\nsdiv %r0, 7", (-14) & M64),
    ("mov %r0, -100\nmov %r1, -7\nsdiv %r0, %r1", 14),
    ("mov %r0, -100\nsmod %r0, 7", (-2) & M64),
    ("mov %r0, 100\nmov %r1, -7\nsmod %r0, %r1", 2),
    ("mov %r0, 0x0f0\nor %r0, 0x00f", 0xFF),
    ("mov %r0, 0x0f0\nmov %r1, -256\nor %r0, %r1", (-16) & M64),
    ("mov %r0, -1\nand %r0, 0x7f", 0x7F),
    ("mov %r0, -1\nmov %r1, 0x100\nand %r0, %r1", 0x100),
    ("mov %r0, 0xff\nxor %r0, -1", (~0xFF) & M64),
    ("mov %r0, 0xff\nmov %r1, 0x0f\nxor %r0, %r1", 0xF0),
    ("mov %r0, 1\nlsh %r0, 40", 1 << 40),
    ("mov %r0, 1\nmov %r1, 63\nlsh %r0, %r1", 1 << 63),
    ("mov %r0, -1\nrsh %r0, 60", 0xF),
    ("mov %r0, -1\nmov %r1, 1\nrsh %r0, %r1", M64 >> 1),
    ("mov %r0, -16\narsh %r0, 2", (-4) & M64),
    ("mov %r0, -16\nmov %r1, 63\narsh %r0, %r1", M64),
    ("mov %r0, -1\nmov %r0, 3", 3),
    ("mov %r1, -9\nmov %r0, %r1", (-9) & M64),
    ("mov %r0, 5\nneg %r0", (-5) & M64),
    ("mov %r0, 0\nneg %r0", 0),
    # 32-bit forms: the result is zero-extended
    ("mov %r0, -1\nadd32 %r0, 1", 0),
    ("lddw %r0, 0xffffffff00000005\nmov %r1, 2\nadd32 %r0, %r1", 7),
    ("mov %r0, 0\nsub32 %r0, 1", M32),
    ("mov %r0, 3\nmov %r1, 5\nsub32 %r0, %r1", M32 - 1),
    ("mov %r0, 0x10000\nmul32 %r0, 0x10000", 0),
    ("mov %r0, -3\nmov %r1, 3\nmul32 %r0, %r1", (-9) & M32),
    ("mov %r0, -1\ndiv32 %r0, 2", M32 // 2),
    ("lddw %r0, 0x100000064\nmov %r1, 7\ndiv32 %r0, %r1", 14),
    ("mov %r0, -1\nmod32 %r0, 10", M32 % 10),
    ("lddw %r0, 0x100000064\nmov %r1, 7\nmod32 %r0, %r1", 2),
    ("mov %r0, -100\nsdiv32 %r0, 7", (-14) & M32),
    ("mov32 %r0, -100\nmov %r1, -7\nsdiv32 %r0, %r1", 14),
    ("mov %r0, -100\nsmod32 %r0, 7", (-2) & M32),
    ("mov32 %r0, 100\nmov %r1, -7\nsmod32 %r0, %r1", 2),
    ("mov %r0, -1\nor32 %r0, 0", M32),
    ("mov %r0, 0\nmov %r1, -1\nor32 %r0, %r1", M32),
    ("mov %r0, -1\nand32 %r0, -1", M32),
    ("mov %r0, -1\nmov %r1, 0xff\nand32 %r0, %r1", 0xFF),
    ("mov %r0, -1\nxor32 %r0, 0", M32),
    ("mov %r0, -1\nmov %r1, -1\nxor32 %r0, %r1", 0),
    ("mov %r0, -1\nlsh32 %r0, 4", 0xFFFFFFF0),
    ("mov %r0, 1\nmov %r1, 31\nlsh32 %r0, %r1", 1 << 31),
    ("mov %r0, -1\nrsh32 %r0, 28", 0xF),
    ("mov %r0, -1\nmov %r1, 31\nrsh32 %r0, %r1", 1),
    ("mov %r0, -16\narsh32 %r0, 2", (-4) & M32),
    ("lddw %r0, 0x80000000\nmov %r1, 31\narsh32 %r0, %r1", M32),
    ("mov32 %r0, -1", M32),
    ("mov %r1, -1\nmov32 %r0, %r1", M32),
    ("mov %r0, 5\nneg32 %r0", (-5) & M32),
    # sign-extending moves (v4)
    ("mov %r1, 0x80\nmovsx864 %r0, %r1", (-128) & M64),
    ("mov %r1, 0x7f\nmovsx864 %r0, %r1", 0x7F),
    ("mov %r1, 0x8000\nmovsx1664 %r0, %r1", (-32768) & M64),
    ("lddw %r1, 0x1180000000\nmovsx3264 %r0, %r1", (-(1 << 31)) & M64),
    ("mov %r1, 0x180\nmovsx832 %r0, %r1", (-128) & M32),
    ("lddw %r1, 0x123458000\nmovsx1632 %r0, %r1", (-32768) & M32),
    # byte order: le truncates, be and bswap swap, all zero-extend
    ("lddw %r0, 0x1122334455667788\nle16 %r0", 0x7788),
    ("lddw %r0, 0x1122334455667788\nle32 %r0", 0x55667788),
    ("lddw %r0, 0x1122334455667788\nle64 %r0", 0x1122334455667788),
    ("lddw %r0, 0x1122334455667788\nbe16 %r0", 0x8877),
    ("lddw %r0, 0x1122334455667788\nbe32 %r0", 0x88776655),
    ("lddw %r0, 0x1122334455667788\nbe64 %r0", 0x8877665544332211),
    ("lddw %r0, 0x1122334455667788\nbswap16 %r0", 0x8877),
    ("lddw %r0, 0x1122334455667788\nbswap32 %r0", 0x88776655),
    ("lddw %r0, 0x1122334455667788\nbswap64 %r0", 0x8877665544332211),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("body,expected", ALU_CASES, ids=[c[0] for c in ALU_CASES])
def test_alu(body, expected, profile):
    assert r0_of(body + "\nexit", profile=profile) == expected


SHIFT_EDGE_CASES = [
    # immediates are masked (& 63 / & 31), negative ones included
    ("mov %r0, 1\nlsh %r0, 64", 1),
    ("mov %r0, 1\nlsh %r0, 65", 2),
    ("mov %r0, 1\nlsh %r0, -1", 1 << 63),
    ("mov %r0, -1\nrsh %r0, -1", 1),
    ("mov %r0, -2\narsh %r0, -63", M64),
    ("mov %r0, 1\nlsh32 %r0, 32", 1),
    ("mov %r0, 1\nlsh32 %r0, -1", 1 << 31),
    ("mov %r0, -1\nrsh32 %r0, 33", M32 >> 1),
    ("mov32 %r0, -8\narsh32 %r0, -30", (-2) & M32),
    # register amounts use the low 6 / 5 bits of the whole register
    ("mov %r0, 1\nmov %r1, 100\nlsh %r0, %r1", 1 << 36),
    ("mov %r0, 1\nlddw %r1, 0x100000001\nlsh %r0, %r1", 2),
    ("mov %r0, 1\nmov %r1, -1\nlsh %r0, %r1", 1 << 63),
    ("mov %r0, 1\nmov %r1, 33\nlsh32 %r0, %r1", 2),
    ("mov %r0, -1\nmov %r1, -1\nrsh32 %r0, %r1", 1),
    ("lddw %r0, 0x80000000\nmov %r1, 63\narsh32 %r0, %r1", M32),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("body,expected", SHIFT_EDGE_CASES, ids=[c[0] for c in SHIFT_EDGE_CASES])
def test_shift_amounts_are_masked(body, expected, profile):
    assert r0_of(body + "\nexit", profile=profile) == expected


INT_MIN_CASES = [
    ("lddw %r0, 0x8000000000000000\nsdiv %r0, -1", INT64_MIN),
    ("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1", INT64_MIN),
    ("lddw %r0, 0x8000000000000000\nsmod %r0, -1", 0),
    ("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1", 0),
    ("mov32 %r0, 0x80000000\nsdiv32 %r0, -1", 0x80000000),
    ("mov32 %r0, 0x80000000\nmov %r1, -1\nsdiv32 %r0, %r1", 0x80000000),
    ("mov32 %r0, 0x80000000\nsmod32 %r0, -1", 0),
    ("mov32 %r0, 0x80000000\nmov32 %r1, -1\nsmod32 %r0, %r1", 0),
    # the 32-bit forms look at the low halves only
    ("lddw %r0, 0x1ffffffff\nlddw %r1, 0x2ffffffff\nsdiv32 %r0, %r1", 1),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("body,expected", INT_MIN_CASES, ids=[c[0] for c in INT_MIN_CASES])
def test_int_min_by_minus_one(body, expected, profile):
    assert r0_of(body + "\nexit", profile=profile) == expected


DIV_ZERO_CASES = [
    # operation, rfc result for dst = 0xffffffff_00000007 (r0 is 0x55 before)
    ("div %r2, %r1", 0),
    ("mod %r2, %r1", 0xFFFFFFFF00000007),
    ("sdiv %r2, %r1", 0),
    ("smod %r2, %r1", 0xFFFFFFFF00000007),
    ("div32 %r2, %r1", 0),
    ("mod32 %r2, %r1", 7),
    ("sdiv32 %r2, %r1", 0),
    ("smod32 %r2, %r1", 7),
    ("div %r2, 0", 0),
    ("mod32 %r2, 0", 7),
]


@pytest.mark.parametrize("op,rfc_value", DIV_ZERO_CASES, ids=[c[0] for c in DIV_ZERO_CASES])
def test_division_by_zero(op, rfc_value):
    # 0x1_00000000 has a zero low half: a 32-bit divisor of zero even though r1 != 0
    divisor = "lddw %r1, 0x100000000" if "32" in op else "mov %r1, 0"
    text = f"mov %r0, 0x55\nlddw %r2, 0xffffffff00000007\n{divisor}\n{op}\nmov %r0, %r2\nexit"
    femto = execute(text, profile="femto")
    assert (femto.status, femto.result) == (Status.ILLEGAL_DIV, 0x55)
    assert r0_of(text, profile="rfc") == rfc_value


def test_immediates_are_sign_extended_in_64_bit_operations():
    assert r0_of("mov %r0, -1\nexit") == M64
    assert r0_of("mov %r0, 0\nadd %r0, -2\nexit") == M64 - 1
    assert r0_of("mov %r0, -1\njeq %r0, -1, +1\nmov %r0, 0\nexit") == M64
    assert r0_of("mov %r0, 0\nstdw [%r10-8], -1\nldxdw %r0, [%r10-8]\nexit") == M64
    # ... and used as 32 bits in ALU32 / JMP32
    assert r0_of("mov32 %r0, -1\njeq32 %r0, -1, +1\nmov %r0, 0\nexit") == M32
    assert r0_of("mov %r0, 0\nmov32 %r0, -1\njeq %r0, -1, +1\nexit") == M32


def test_lddw_with_bit_31_set_is_not_sign_extended():
    assert r0_of("lddw %r0, 0x80000000\nexit") == 0x80000000
    assert r0_of("lddw %r0, 0x1ffffffff\nexit") == 0x1FFFFFFFF
    assert r0_of("lddw %r0, 0xfffffffe80000000\nexit") == 0xFFFFFFFE80000000
    # raw slots: imm_lo = -1 (bit 31 set), imm_hi = 0
    slots = [Insn(0x18, 0, 0, 0, -1), Insn(0, 0, 0, 0, 0), Insn(0x95)]
    assert r0_of(slots) == 0xFFFFFFFF


def test_lddwd_and_lddwr_give_region_addresses():
    program = assemble_program(
        ".data\nd: .word 0x11223344\n.rodata\n.zero 8\nr: .word 0x55667788\n.text\n"
        "lddwd %r1, d\nlddwr %r2, r\nldxw %r0, [%r1]\nldxw %r3, [%r2]\nlsh %r0, 32\n"
        "or %r0, %r3\nexit"
    )
    assert r0_of(program) == 0x1122334455667788
    assert r0_of(Program([Insn(0xB8, 0, 0, 0, 4), Insn(0), Insn(0x95)])) == memmap.DATA_BASE + 4
    assert r0_of(Program([Insn(0xD8, 0, 0, 0, 8), Insn(0), Insn(0x95)])) == memmap.RODATA_BASE + 8


# ---------------------------------------------------------------------------------------------
# jumps


JUMP_CASES = [
    # (condition instruction with a +1 target, taken?) with r1 = -2 (unsigned huge), r2 = 3
    ("jeq %r1, -2, +1", True),
    ("jeq %r1, %r2, +1", False),
    ("jne %r1, %r2, +1", True),
    ("jne %r2, 3, +1", False),
    ("jgt %r1, %r2, +1", True),
    ("jgt %r2, %r1, +1", False),
    ("jge %r2, 3, +1", True),
    ("jge %r2, 4, +1", False),
    ("jge %r1, %r2, +1", True),
    ("jgt %r1, 5, +1", True),
    ("jlt %r2, %r1, +1", True),
    ("jlt %r1, 5, +1", False),
    ("jle %r2, 3, +1", True),
    ("jle %r1, %r2, +1", False),
    ("jset %r1, 2, +1", True),
    ("jset %r1, %r1, +1", True),
    ("jset %r2, 4, +1", False),
    ("jsgt %r2, %r1, +1", True),
    ("jsgt %r1, -2, +1", False),
    ("jsge %r1, -2, +1", True),
    ("jsge %r1, %r2, +1", False),
    ("jslt %r1, %r2, +1", True),
    ("jslt %r2, -5, +1", False),
    ("jsle %r1, -2, +1", True),
    ("jsle %r2, %r1, +1", False),
    # JMP32 compares the low halves; r3 = 0x1_00000003 (low half 3), r4 = 0xffffffff
    ("jeq32 %r3, 3, +1", True),
    ("jeq32 %r3, %r2, +1", True),
    ("jeq %r3, %r2, +1", False),
    ("jne32 %r3, %r2, +1", False),
    ("jne32 %r3, 4, +1", True),
    ("jgt32 %r4, %r3, +1", True),
    ("jgt32 %r3, 3, +1", False),
    ("jge32 %r3, %r2, +1", True),
    ("jge32 %r3, 4, +1", False),
    ("jlt32 %r3, %r4, +1", True),
    ("jlt32 %r3, 3, +1", False),
    ("jle32 %r3, 3, +1", True),
    ("jle32 %r4, %r3, +1", False),
    ("jset32 %r3, 2, +1", True),
    ("jset32 %r3, %r4, +1", True),
    ("jset32 %r3, 4, +1", False),
    ("jsgt32 %r3, %r4, +1", True),
    ("jsgt32 %r4, 0, +1", False),
    ("jsge32 %r4, -1, +1", True),
    ("jsge32 %r4, %r3, +1", False),
    ("jslt32 %r4, %r3, +1", True),
    ("jslt32 %r3, -1, +1", False),
    ("jsle32 %r4, -1, +1", True),
    ("jsle32 %r3, %r4, +1", False),
    ("ja +1", True),
    ("ja32 +1", True),
]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("jump,taken", JUMP_CASES, ids=[c[0] for c in JUMP_CASES])
def test_conditional_jumps(jump, taken, profile):
    text = (
        "mov %r0, 1\nmov %r1, -2\nmov %r2, 3\nlddw %r3, 0x100000003\nmov32 %r4, -1\n"
        f"{jump}\nmov %r0, 2\nexit"
    )
    assert r0_of(text, profile=profile) == (1 if taken else 2)


# ---------------------------------------------------------------------------------------------
# memory


@pytest.mark.parametrize("profile", PROFILES)
def test_loads_and_stores_every_size(profile):
    text = """
        lddw %r1, 0x8877665544332211
        stxdw [%r10-16], %r1
        ldxb %r2, [%r10-16]
        ldxh %r3, [%r10-15]
        ldxw %r4, [%r10-14]
        ldxdw %r5, [%r10-16]
        stb [%r10-24], 0x1ff
        sth [%r10-23], -2
        stw [%r10-21], 0x12345678
        stxb [%r10-17], %r1
        stxh [%r10-32], %r1
        stxw [%r10-30], %r1
        stdw [%r10-40], -3
        mov %r0, %r2
        exit
    """
    result = execute(text, profile=profile)
    assert result.status == 0 and result.result == 0x11
    stack = result.memory["stack"]
    assert stack[-16:-8] == bytes.fromhex("1122334455667788")
    assert stack[-24:-17] == bytes.fromhex("fffeff78563412") and stack[-17] == 0x11
    assert stack[-32:-26] == bytes.fromhex("112211223344")
    assert stack[-40:-32] == ((-3) & M64).to_bytes(8, "little")
    loads = "mov %r0, %r3\nlsh %r0, 32\nor %r0, %r4"
    assert r0_of(text.replace("mov %r0, %r2", loads)) == (0x3322 << 32) | 0x66554433
    assert r0_of(text.replace("mov %r0, %r2", "mov %r0, %r5")) == 0x8877665544332211


def test_sign_extending_loads():
    text = """
        lddw %r1, 0x0000000080008080
        stxdw [%r10-8], %r1
        ldxsb %r2, [%r10-8]
        ldxsh %r3, [%r10-7]
        ldxsw %r4, [%r10-8]
        ldxsb %r5, [%r10-1]
        ldxsh %r6, [%r10-6]
        mov %r0, %r{}
        exit
    """
    # memory: 80 80 00 80 00 00 00 00
    assert r0_of(text.format(2)) == (-128) & M64
    assert r0_of(text.format(3)) == 0x80
    assert r0_of(text.format(4)) == (-0x7FFF7F80) & M64
    assert r0_of(text.format(5)) == 0
    assert r0_of(text.format(6)) == (-32768) & M64


def test_unaligned_accesses_work_everywhere():
    ctx = bytes(range(1, 17))
    text = """
        ldxw %r2, [%r1+1]
        ldxdw %r3, [%r1+3]
        stxdw [%r1+7], %r3
        stxdw [%r10-13], %r3
        ldxh %r4, [%r10-13]
        mov %r0, %r2
        add %r0, %r4
        exit
    """
    result = execute(text, ctx=ctx)
    assert result.status == 0
    assert result.result == 0x05040302 + 0x0504
    assert result.memory["ctx"] == bytes(range(1, 8)) + bytes(range(4, 12)) + bytes([16])
    assert result.memory["stack"][512 - 13 : 512 - 5] == bytes(range(4, 12))


def _region_program(base_loader: str, offset: int, size_letter: str, store: bool) -> str:
    access = (
        f"stx{size_letter} [%r1{offset:+d}], %r0"
        if store
        else f"ldx{size_letter} %r2, [%r1{offset:+d}]"
    )
    return f"mov %r0, 0x77\n{base_loader}\n{access}\nmov %r0, 1\nexit"


REGIONS = {
    # name: (instruction putting the region's start in r1, length, writable)
    "stack": ("mov %r1, %r10\nsub %r1, 512", memmap.STACK_SIZE, True),
    "data": ("lddwd %r1, 0", 24, True),
    "rodata": ("lddwr %r1, 0", 24, False),
    "ctx": ("", 24, True),
    "host0": (f"lddw %r1, {memmap.HOST_BASE:#x}", 24, False),
    "host1": (f"lddw %r1, {memmap.HOST_BASE + memmap.HOST_STRIDE:#x}", 24, True),
}
SIZES = {"b": 1, "h": 2, "w": 4, "dw": 8}


def _region_run(name: str, offset: int, letter: str, store: bool):
    loader, length, _ = REGIONS[name]
    program = assemble_program(_region_program(loader, offset, letter, store))
    program.data = bytes(range(24))
    program.rodata = bytes(range(100, 124))
    host = [HostRegion(bytes(24)), HostRegion(bytes(24), memmap.PERM_RW)]
    return execute(program, ctx=bytes(24), host=host)


@pytest.mark.parametrize("letter", list(SIZES))
@pytest.mark.parametrize("name", list(REGIONS))
def test_region_edges(name, letter):
    _, length, writable = REGIONS[name]
    size = SIZES[letter]
    for store in (False, True):
        allowed = writable or not store
        inside = [0, length - size]
        # straddling the start (one byte before) and the end (one byte past)
        straddling = [-1, length - size + 1]
        if size > 1:
            straddling += [-(size - 1), length - 1]
        for offset in inside:
            result = _region_run(name, offset, letter, store)
            expected = Status.OK if allowed else Status.ILLEGAL_MEM
            assert result.status == expected, (name, offset, letter, store)
        for offset in straddling:
            result = _region_run(name, offset, letter, store)
            assert (result.status, result.result) == (Status.ILLEGAL_MEM, 0x77), (
                name, offset, letter, store,
            )


def test_writes_to_rodata_fail_and_leave_it_alone():
    program = assemble_program("lddwr %r1, 0\nmov %r0, 9\nstb [%r1], 1\nexit")
    program.rodata = b"abcd"
    result = execute(program)
    assert (result.status, result.result) == (Status.ILLEGAL_MEM, 9)
    assert result.memory["rodata"] == b"abcd"
    # atomics need write permission too, reads are fine
    program = assemble_program("lddwr %r1, 0\nmov %r2, 1\nlock add32 [%r1], %r2\nexit")
    program.rodata = b"abcd"
    assert execute(program).status == Status.ILLEGAL_MEM
    program = assemble_program("lddwr %r1, 0\nldxw %r0, [%r1]\nexit")
    program.rodata = b"abcd"
    assert r0_of(program) == 0x64636261


def test_addresses_are_32_bit():
    # the upper half of the base register is ignored: (reg + off) mod 2^32
    assert r0_of("lddw %r2, 0xdead000000000000\nadd %r2, %r1\nldxb %r0, [%r2+1]\nexit",
                 ctx=b"\x05\x06") == 6  # fmt: skip
    # wrapping below zero does not reach anything
    assert execute("mov %r2, 0\nldxb %r0, [%r2-1]\nexit").status == Status.ILLEGAL_MEM
    # an access ending past 2^32 does not wrap around to address 0
    assert execute("mov32 %r2, -2\nldxw %r0, [%r2]\nexit").status == Status.ILLEGAL_MEM


def test_fault_keeps_r0_and_earlier_writes():
    result = execute("mov %r0, 42\nstb [%r10-1], 7\nldxb %r0, [%r10]\nmov %r0, 0\nexit")
    assert (result.status, result.result) == (Status.ILLEGAL_MEM, 42)
    assert result.memory["stack"][-1] == 7
    assert result.insns == 3


@pytest.mark.parametrize("profile", PROFILES)
def test_atomics(profile):
    init = 0x000000050000000C
    operand = 0x0000000100000003

    def run(op: str, r0: int = 0):
        text = (
            f"lddw %r2, {init:#x}\nstxdw [%r10-8], %r2\nlddw %r1, {operand:#x}\n"
            f"lddw %r0, {r0:#x}\n{op}\nstxdw [%r10-24], %r1\nldxdw %r3, [%r10-8]\n"
            "stxdw [%r10-16], %r3\nexit"
        )
        result = execute(text, profile=profile)
        assert result.status == 0
        stack = result.memory["stack"]
        memory = int.from_bytes(stack[-8:], "little")
        src_after = int.from_bytes(stack[-24:-16], "little")
        return memory, src_after, result.result

    lo = init & M32
    cases = {
        "lock add [%r10-8], %r1": (init + operand, operand),
        "lock or [%r10-8], %r1": (init | operand, operand),
        "lock and [%r10-8], %r1": (init & operand, operand),
        "lock xor [%r10-8], %r1": (init ^ operand, operand),
        "lock fetch add [%r10-8], %r1": (init + operand, init),
        "lock fetch or [%r10-8], %r1": (init | operand, init),
        "lock fetch and [%r10-8], %r1": (init & operand, init),
        "lock fetch xor [%r10-8], %r1": (init ^ operand, init),
        "lock xchg [%r10-8], %r1": (operand, init),
        "lock add32 [%r10-8], %r1": ((init & ~M32) | (lo + 3), operand),
        "lock or32 [%r10-8], %r1": ((init & ~M32) | (lo | 3), operand),
        "lock and32 [%r10-8], %r1": ((init & ~M32) | (lo & 3), operand),
        "lock xor32 [%r10-8], %r1": ((init & ~M32) | (lo ^ 3), operand),
        "lock fetch add32 [%r10-8], %r1": ((init & ~M32) | (lo + 3), lo),
        "lock fetch or32 [%r10-8], %r1": ((init & ~M32) | (lo | 3), lo),
        "lock fetch and32 [%r10-8], %r1": ((init & ~M32) | (lo & 3), lo),
        "lock fetch xor32 [%r10-8], %r1": ((init & ~M32) | (lo ^ 3), lo),
        "lock xchg32 [%r10-8], %r1": ((init & ~M32) | 3, lo),
    }
    for op, (memory, src_after) in cases.items():
        assert run(op)[:2] == (memory, src_after), op
    # cmpxchg: r0 compared with memory, r0 = old value in both cases
    assert run("lock cmpxchg [%r10-8], %r1", r0=init) == (operand, operand, init)
    assert run("lock cmpxchg [%r10-8], %r1", r0=init + 1) == (init, operand, init)
    # the 32-bit form compares the low half of r0 only and zero-extends the old value
    assert run("lock cmpxchg32 [%r10-8], %r1", r0=(7 << 32) | lo) == (
        (init & ~M32) | 3, operand, lo,
    )
    assert run("lock cmpxchg32 [%r10-8], %r1", r0=lo + 1) == (init, operand, lo)


# ---------------------------------------------------------------------------------------------
# entry state, profiles, unverified code


def test_entry_registers():
    ctx = b"12345"
    for profile, r2 in (("femto", 0), ("rfc", 5)):
        assert r0_of("mov %r0, %r1\nexit", profile=profile, ctx=ctx) == memmap.CTX_BASE
        assert r0_of("mov %r0, %r2\nexit", profile=profile, ctx=ctx) == r2
        assert r0_of("mov %r0, %r10\nexit", profile=profile) == memmap.STACK_TOP
        assert r0_of("mov %r0, %r1\nexit", profile=profile) == memmap.CTX_BASE  # empty ctx
    assert r0_of("exit") == 0
    for reg in range(3, 10):
        assert r0_of(f"mov %r0, %r{reg}\nexit", ctx=ctx) == 0


def test_neg_0x8f_is_femto_only():
    slots = [Insn(0xB7, 0, 0, 0, 3), Insn(0x8F, 0), Insn(0x95)]
    assert r0_of(slots, profile="femto") == (-3) & M64
    assert execute(slots, profile="rfc").status == Status.ILLEGAL_INSTRUCTION


def test_unverified_programs_stop_cleanly():
    # falling off the end, jumping outside, undecodable opcodes, a broken LDDW pair
    assert execute([Insn(0xB7, 0, 0, 0, 1)]).status == Status.NO_RETURN
    assert execute([Insn(0x05, 0, 0, 5), Insn(0x95)]).status == Status.ILLEGAL_JUMP
    assert execute([Insn(0x05, 0, 0, -3), Insn(0x95)]).status == Status.ILLEGAL_JUMP
    assert execute([Insn(0x85, 0, 1, 0, 9), Insn(0x95)]).status == Status.ILLEGAL_JUMP
    assert execute([Insn(0xFF), Insn(0x95)]).status == Status.ILLEGAL_INSTRUCTION
    assert execute([Insn(0x18, 0, 0, 0, 1)]).status == Status.ILLEGAL_INSTRUCTION
    assert execute([Insn(0x18, 0, 0, 0, 1), Insn(0x95)]).status == Status.ILLEGAL_INSTRUCTION
    assert execute(Program([Insn(0x95)], entry=3)).status == Status.ILLEGAL_JUMP
    # a jump into the second slot of an LDDW
    slots = [Insn(0x05, 0, 0, 1), Insn(0x18, 0, 0, 0, 1), Insn(0, 0, 0, 0, 0), Insn(0x95)]
    assert execute(slots).status == Status.ILLEGAL_INSTRUCTION


# ---------------------------------------------------------------------------------------------
# the taken-branch budget


def _loop(iterations: int) -> str:
    """A loop whose back edge is taken iterations - 1 times; r0 counts the iterations."""
    return f"""
        mov %r0, 0
        mov %r1, {iterations}
    loop:
        add %r0, 1
        sub %r1, 1
        jne %r1, 0, loop
        exit
    """


def test_budget_200_taken_jumps_pass_the_201st_stops():
    ok = execute(_loop(201))  # 200 taken jumps
    assert (ok.status, ok.result) == (Status.OK, 201)
    stopped = execute(_loop(202))  # the 201st taken jump stops the run
    assert (stopped.status, stopped.result) == (Status.OUT_OF_BRANCHES, 201)
    assert stopped.insns == 2 + 3 * 201
    # rfc has no budget unless asked; an explicit one works in either profile
    assert r0_of(_loop(5000), profile="rfc") == 5000
    assert execute(_loop(12), profile="rfc", budget=10).status == Status.OUT_OF_BRANCHES
    assert r0_of(_loop(11), profile="rfc", budget=10) == 11
    assert r0_of(_loop(5000), budget=None) == 5000
    assert execute(_loop(2), budget=0).status == Status.OUT_OF_BRANCHES


def test_budget_counts_only_taken_jumps():
    # not-taken conditions, calls and exits do not count; ja and ja32 do
    text = """
        mov %r0, 0
        jeq %r0, 1, +5
        jeq %r0, 1, +4
        call local f
        call local f
        ja +0
        ja32 +0
        exit
    f:
        add %r0, 1
        exit
    """
    assert r0_of(text, budget=2) == 2
    assert execute(text, budget=1).status == Status.OUT_OF_BRANCHES


def test_long_loop_runs_across_chunks(monkeypatch):
    from femtojit.interp import machine

    monkeypatch.setattr(machine, "CHUNK_INSNS", 7)
    result = execute(_loop(100), budget=None)
    assert (result.status, result.result, result.insns) == (0, 100, 2 + 3 * 100 + 1)


# ---------------------------------------------------------------------------------------------
# local calls


def _nested_calls(depth: int) -> str:
    return f"""
        mov %r1, {depth}
        mov %r6, 66
        call local f
        mov %r0, %r6
        exit
    f:
        mov %r6, %r1
        sub %r1, 1
        jeq %r1, 0, +1
        call local f
        exit
    """


def test_local_call_depth():
    assert r0_of(_nested_calls(8)) == 66  # 8 frames: allowed, r6 restored at each level
    result = execute(_nested_calls(9))
    assert (result.status, result.result) == (Status.ILLEGAL_CALL, 0)


@pytest.mark.parametrize("profile", PROFILES)
def test_local_call_saves_r6_to_r9_and_shares_the_stack(profile):
    text = """
        mov %r6, 6
        mov %r7, 7
        mov %r8, 8
        mov %r9, 9
        mov %r1, 100
        call local f
        stxdw [%r10-16], %r0
        mov %r0, %r6
        add %r0, %r7
        add %r0, %r8
        add %r0, %r9
        ldxdw %r1, [%r10-8]
        add %r0, %r1
        exit
    f:
        mov %r6, 60
        mov %r7, 70
        mov %r8, 80
        mov %r9, 90
        stxdw [%r10-8], %r1
        mov %r0, %r10
        exit
    """
    result = execute(text, profile=profile)
    assert result.result == 6 + 7 + 8 + 9 + 100
    stack = result.memory["stack"]
    assert int.from_bytes(stack[-16:-8], "little") == memmap.STACK_TOP  # r10 unchanged


# ---------------------------------------------------------------------------------------------
# helpers


def _registry(fn, helper_id=7):
    registry = HelperRegistry()
    registry.register(helper_id, "test", fn)
    return registry


def test_helper_return_width_depends_on_profile():
    registry = _registry(lambda call: 0x1_0000_0002)
    assert r0_of("call 7\nexit", helpers=registry) == 2
    assert r0_of("call 7\nexit", profile="rfc", helpers=registry) == 0x1_0000_0002
    negative = _registry(lambda call: -1)
    assert r0_of("call 7\nexit", helpers=negative) == M32
    assert r0_of("call 7\nexit", profile="rfc", helpers=negative) == M64


def test_helper_sees_registers_and_may_change_r1_to_r5():
    seen = {}

    def helper(call):
        seen["regs"] = list(call.regs)
        call.regs[1] = 11
        call.regs[5] = -5  # masked to 64 bits
        call.regs[6] = 99  # ignored: r6-r9 are the caller's
        return 0

    text = """
        mov %r1, 1
        mov %r2, 2
        mov %r3, 3
        mov %r4, 4
        mov %r5, 5
        mov %r6, 6
        call 7
        mov %r0, %r1
        add %r0, %r5
        add %r0, %r6
        exit
    """
    for profile in PROFILES:
        assert r0_of(text, profile=profile, helpers=_registry(helper)) == 11 - 5 + 6
        assert seen["regs"][:7] == [0, 1, 2, 3, 4, 5, 6]
        assert seen["regs"][10] == memmap.STACK_TOP
        assert len(seen["regs"]) == 11


def test_helper_fault_stops_with_its_status_and_r0_before_the_call():
    def helper(call):
        raise HelperFault(Status.ILLEGAL_MEM)

    result = execute("mov %r0, 5\ncall 7\nmov %r0, 6\nexit", helpers=_registry(helper))
    assert (result.status, result.result) == (Status.ILLEGAL_MEM, 5)
    assert result.insns == 2


def test_callx_uses_the_low_half_of_dst_and_unknown_ids_stop():
    registry = _registry(lambda call: 33)
    assert r0_of("lddw %r3, 0x500000007\ncall %r3\nexit", helpers=registry) == 33
    result = execute("mov %r0, 4\nmov %r3, 8\ncall %r3\nexit", helpers=registry)
    assert (result.status, result.result) == (Status.ILLEGAL_CALL, 4)
    # an unknown id in `call imm` (only possible without the verifier) stops the same way
    assert execute("call 8\nexit", helpers=registry).status == Status.ILLEGAL_CALL


def test_helper_memory_access_is_checked():
    seen = []

    def helper(call):
        seen.append(call.mem.read(call.arg(1), 4))
        call.mem.write(call.arg(2), b"\x01\x02")
        return len(call.mem.read_cstring(call.arg(3)))

    registry = _registry(helper)
    program = assemble_program(
        "lddwr %r1, 0\nmov %r2, %r10\nsub %r2, 2\nlddwr %r3, 4\ncall 7\nexit"
    )
    program.rodata = b"abcdxyz\0"
    result = execute(program, helpers=registry)
    assert result.result == 3 and seen[-1] == b"abcd"
    assert result.memory["stack"][-2:] == b"\x01\x02"
    program.slots = assemble("lddwr %r1, 0\nmov %r2, %r10\nsub %r2, 1\nlddwr %r3, 4\ncall 7\nexit")
    assert execute(program, helpers=registry).status == Status.ILLEGAL_MEM  # write straddles
    program.slots = assemble("lddwr %r1, 0\nmov %r2, %r10\nsub %r2, 2\nlddwr %r3, 6\ncall 7\nexit")
    program.rodata = b"abcdxyz"  # no NUL before the end of the region
    assert execute(program, helpers=registry).status == Status.ILLEGAL_MEM


def test_memory_is_reported_per_region():
    program = assemble_program(".data\n.zero 4\n.text\nlddwd %r1, 0\nstw [%r1], 0x61626364\n"
                               "stb [%r10-1], 1\nexit")  # fmt: skip
    result = execute(program, ctx=b"xy", host=[HostRegion(b"h")])
    assert result.memory == {
        "stack": bytes(511) + b"\x01",
        "data": b"dcba",
        "rodata": b"",
        "ctx": b"xy",
        "host0": b"h",
    }


def test_builtin_helpers_run_inside_programs():
    out = io.StringIO()
    clock = iter(range(1000, 2000))
    runtime = Runtime(
        printf_stream=out, clock_ms=lambda: 0x1_2345_6789, clock_us=lambda: next(clock)
    )
    program = assemble_program(
        '.rodata\nfmt: .asciz "v=%d %s!"\nname: .asciz "ok"\n.text\n'
        "lddwr %r1, fmt\nmov %r2, -7\nlddwr %r3, name\ncall 1\n"
        "mov %r6, %r0\n"
        "mov %r1, 3\nmov %r2, 44\ncall 0x10\n"
        "mov %r1, 3\nmov %r2, %r10\nsub %r2, 4\ncall 0x12\n"
        "ldxw %r7, [%r10-4]\n"
        "call 0x20\nmov %r8, %r0\n"
        "call 0x60\nmov %r9, %r0\n"
        "mov %r0, %r6\nlsh %r0, 8\nor %r0, %r7\nlsh %r0, 32\nor %r0, %r8\n"
        "exit"
    )
    result = execute(program, runtime=runtime)
    assert result.status == 0
    assert out.getvalue() == "v=-7 ok!" * 2  # interpreter and reference machine
    assert runtime.local_store == {3: 44}
    assert result.result == (((8 << 8) | 44) << 32) | 0x23456789  # 8 bytes printed


# ---------------------------------------------------------------------------------------------
# femtojit.run (api.py): verification first, options, errors


def test_api_run_verifies_and_reports_bad_options():
    import femtojit
    from femtojit.errors import FemtojitError, UnknownTargetError, VerifyError

    good = assemble_program(
        ".globl main\n.globl two\nmain:\nmov %r0, 1\nexit\ntwo:\nmov %r0, 2\nexit"
    )
    assert femtojit.run(good).result == 1
    assert femtojit.run(good, entry="two").result == 2
    assert good.run(entry="two").result == 2  # Program.run is the same call
    with pytest.raises(FemtojitError, match="no function named"):
        femtojit.run(good, entry="three")
    with pytest.raises(UnknownTargetError, match="unknown engine 'z80'.*interp"):
        femtojit.run(good, engine="z80")
    with pytest.raises(FemtojitError, match="unknown profile"):
        femtojit.run(good, profile="ubpf")
    for budget in (-1, 1 << 32, True, "lots"):
        with pytest.raises(FemtojitError, match="branch budget"):
            femtojit.run(good, budget=budget)
    bad = assemble_program("mov %r10, 1\nexit")
    with pytest.raises(VerifyError):
        femtojit.run(bad)
    assert femtojit.run(bad, verify=False).status == 0  # the interpreter itself stays safe
    # the verifier is told which helpers exist: the given registry, not the built-ins
    calls_7 = assemble_program("call 7\nexit")
    with pytest.raises(VerifyError):
        femtojit.run(calls_7)
    assert femtojit.run(calls_7, helpers=_registry(lambda call: 9)).result == 9
