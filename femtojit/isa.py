"""eBPF instruction set: opcode fields, the instruction slot, and decoding.

Everything here follows RFC 9669 ("BPF Instruction Set Architecture"), plus the two
Femto-Container extensions LDDWD (0xb8, address of .data + imm) and LDDWR (0xd8, address of
.rodata + imm), and NEG encoded as 0x8f, which Femto-Container's interpreter also accepts.

An instruction is one 8-byte little-endian slot: opcode (8 bits), dst (4 bits), src (4 bits),
offset (signed 16 bits), imm (signed 32 bits). The 64-bit immediate loads (LDDW, LDDWD, LDDWR)
take two slots; the second slot carries the upper 32 bits in its imm field and must otherwise
be zero.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

SLOT_SIZE = 8

# Instruction classes (RFC 9669 section 3.3), the low 3 bits of the opcode.
CLS_LD = 0x00
CLS_LDX = 0x01
CLS_ST = 0x02
CLS_STX = 0x03
CLS_ALU = 0x04
CLS_JMP = 0x05
CLS_JMP32 = 0x06
CLS_ALU64 = 0x07

# Source bit of arithmetic and jump instructions (RFC 9669 section 4.1).
SRC_K = 0x00
SRC_X = 0x08

# Arithmetic operations (RFC 9669 section 4.1), the upper 4 bits of the opcode.
ALU_ADD = 0x00
ALU_SUB = 0x10
ALU_MUL = 0x20
ALU_DIV = 0x30
ALU_OR = 0x40
ALU_AND = 0x50
ALU_LSH = 0x60
ALU_RSH = 0x70
ALU_NEG = 0x80
ALU_MOD = 0x90
ALU_XOR = 0xA0
ALU_MOV = 0xB0
ALU_ARSH = 0xC0
ALU_END = 0xD0

ALU_OP_NAMES = {
    ALU_ADD: "add",
    ALU_SUB: "sub",
    ALU_MUL: "mul",
    ALU_DIV: "div",
    ALU_OR: "or",
    ALU_AND: "and",
    ALU_LSH: "lsh",
    ALU_RSH: "rsh",
    ALU_NEG: "neg",
    ALU_MOD: "mod",
    ALU_XOR: "xor",
    ALU_MOV: "mov",
    ALU_ARSH: "arsh",
    ALU_END: "end",
}

# Jump operations (RFC 9669 section 4.3).
JMP_JA = 0x00
JMP_JEQ = 0x10
JMP_JGT = 0x20
JMP_JGE = 0x30
JMP_JSET = 0x40
JMP_JNE = 0x50
JMP_JSGT = 0x60
JMP_JSGE = 0x70
JMP_CALL = 0x80
JMP_EXIT = 0x90
JMP_JLT = 0xA0
JMP_JLE = 0xB0
JMP_JSLT = 0xC0
JMP_JSLE = 0xD0

JMP_OP_NAMES = {
    JMP_JA: "ja",
    JMP_JEQ: "jeq",
    JMP_JGT: "jgt",
    JMP_JGE: "jge",
    JMP_JSET: "jset",
    JMP_JNE: "jne",
    JMP_JSGT: "jsgt",
    JMP_JSGE: "jsge",
    JMP_CALL: "call",
    JMP_EXIT: "exit",
    JMP_JLT: "jlt",
    JMP_JLE: "jle",
    JMP_JSLT: "jslt",
    JMP_JSLE: "jsle",
}

#: Conditional jump operations (everything in the JMP class but ja, call and exit).
COND_JMP_OPS = (
    JMP_JEQ,
    JMP_JGT,
    JMP_JGE,
    JMP_JSET,
    JMP_JNE,
    JMP_JSGT,
    JMP_JSGE,
    JMP_JLT,
    JMP_JLE,
    JMP_JSLT,
    JMP_JSLE,
)

# Load/store size (RFC 9669 section 5.1) and mode fields.
SIZE_W = 0x00
SIZE_H = 0x08
SIZE_B = 0x10
SIZE_DW = 0x18
SIZE_BYTES = {SIZE_W: 4, SIZE_H: 2, SIZE_B: 1, SIZE_DW: 8}
SIZE_NAMES = {SIZE_W: "w", SIZE_H: "h", SIZE_B: "b", SIZE_DW: "dw"}

MODE_IMM = 0x00
MODE_ABS = 0x20
MODE_IND = 0x40
MODE_MEM = 0x60
MODE_MEMSX = 0x80
MODE_ATOMIC = 0xC0

# Atomic operations, in the imm field of an ATOMIC store (RFC 9669 section 5.3).
ATOMIC_FETCH = 0x01
ATOMIC_ADD = 0x00
ATOMIC_OR = 0x40
ATOMIC_AND = 0x50
ATOMIC_XOR = 0xA0
ATOMIC_XCHG = 0xE0 | ATOMIC_FETCH
ATOMIC_CMPXCHG = 0xF0 | ATOMIC_FETCH
ATOMIC_OPS = {
    ATOMIC_ADD: "add",
    ATOMIC_OR: "or",
    ATOMIC_AND: "and",
    ATOMIC_XOR: "xor",
    ATOMIC_ADD | ATOMIC_FETCH: "fetch add",
    ATOMIC_OR | ATOMIC_FETCH: "fetch or",
    ATOMIC_AND | ATOMIC_FETCH: "fetch and",
    ATOMIC_XOR | ATOMIC_FETCH: "fetch xor",
    ATOMIC_XCHG: "xchg",
    ATOMIC_CMPXCHG: "cmpxchg",
}

# Whole opcodes used on their own.
OP_LDDW = CLS_LD | MODE_IMM | SIZE_DW  # 0x18: dst = imm64
OP_LDDWD = 0xB8  # Femto-Container: dst = address of .data + imm64
OP_LDDWR = 0xD8  # Femto-Container: dst = address of .rodata + imm64
OP_NEG64_FC = 0x8F  # Femto-Container's spelling of 64-bit NEG (the X bit set)
OP_CALL = CLS_JMP | JMP_CALL  # 0x85 (src 0: helper, src 1: local call)
OP_CALLX = CLS_JMP | JMP_CALL | SRC_X  # 0x8d: call the helper whose id is in dst
OP_EXIT = CLS_JMP | JMP_EXIT  # 0x95
OP_JA = CLS_JMP | JMP_JA  # 0x05
OP_JA32 = CLS_JMP32 | JMP_JA  # 0x06: "gotol", target in imm

WIDE_OPCODES = (OP_LDDW, OP_LDDWD, OP_LDDWR)

# src field values of the call instruction (RFC 9669 section 4.3.1).
CALL_HELPER = 0
CALL_LOCAL = 1
CALL_RUNTIME = 2

# Registers.
NUM_REGS = 11
REG_FP = 10  # r10: read-only frame pointer (one past the end of the stack)

_SLOT = struct.Struct("<BBhi")


class Insn(NamedTuple):
    """One 8-byte instruction slot, fields as stored (off and imm signed)."""

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    @property
    def cls(self) -> int:
        return self.opcode & 0x07

    def encode(self) -> bytes:
        """The slot's 8 bytes. Raises ValueError on a field out of range."""
        return encode_slot(self)


def encode_slot(insn: Insn) -> bytes:
    """Pack one slot; every field must already be in range (nothing is masked)."""
    if not 0 <= insn.opcode <= 0xFF:
        raise ValueError(f"opcode {insn.opcode:#x} out of range")
    if not 0 <= insn.dst <= 15 or not 0 <= insn.src <= 15:
        raise ValueError(f"register field out of range (dst {insn.dst}, src {insn.src})")
    if not -(1 << 15) <= insn.off < (1 << 15):
        raise ValueError(f"offset {insn.off} does not fit in 16 signed bits")
    if not -(1 << 31) <= insn.imm < (1 << 31):
        raise ValueError(f"immediate {insn.imm} does not fit in 32 signed bits")
    return _SLOT.pack(insn.opcode, insn.dst | (insn.src << 4), insn.off, insn.imm)


def decode_slot(raw: bytes, offset: int = 0) -> Insn:
    """Unpack the 8 bytes at `offset` into an Insn."""
    opcode, regs, off, imm = _SLOT.unpack_from(raw, offset)
    return Insn(opcode, regs & 0x0F, regs >> 4, off, imm)


def decode(raw: bytes) -> list[Insn]:
    """Decode bytecode into slots. The caller checks that len(raw) is a multiple of 8."""
    if len(raw) % SLOT_SIZE:
        raise ValueError(f"bytecode length {len(raw)} is not a multiple of {SLOT_SIZE}")
    return [decode_slot(raw, i) for i in range(0, len(raw), SLOT_SIZE)]


def encode(slots: list[Insn]) -> bytes:
    """Encode slots back into bytecode."""
    return b"".join(encode_slot(s) for s in slots)


def is_wide(opcode: int) -> bool:
    """True for the two-slot 64-bit immediate loads (LDDW, LDDWD, LDDWR)."""
    return opcode in WIDE_OPCODES


def imm64(first: Insn, second: Insn) -> int:
    """The unsigned 64-bit immediate of a two-slot load: (u32)imm_lo | (u64)imm_hi << 32."""
    return (first.imm & 0xFFFFFFFF) | ((second.imm & 0xFFFFFFFF) << 32)


def u64(value: int) -> int:
    return value & 0xFFFFFFFFFFFFFFFF


def s64(value: int) -> int:
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >> 63 else value


def u32(value: int) -> int:
    return value & 0xFFFFFFFF


def s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >> 31 else value
