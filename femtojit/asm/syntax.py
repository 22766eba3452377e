"""Shared vocabulary of the text syntax: mnemonics, registers and number formats.

The assembler and the disassembler both read these tables, so that whatever the
disassembler prints is, by construction, spelled the way the assembler reads it. The number
formats follow the bpf_conformance assembler (tests/conformance/NOTES.md section 4):

    IMM32   [+|-]decimal (-2^31 .. 2^31-1)  or  [+]0xHEX (0 .. 0xffffffff, a 32-bit pattern)
    OFF16   [+|-]decimal (-32768 .. 32767)  or  [+]0xHEX (0 .. 0xffff, a 16-bit pattern)
    IMM64   0xHEX (0 .. 2^64-1)  or  -decimal (int64)  or  decimal (uint64)

A negative hex number ("-0x10") is rejected everywhere, as upstream does.
"""

from __future__ import annotations

import re

from femtojit import isa

#: Register spellings. %r11..%r15 are accepted (as upstream) so negative tests can be built.
REGISTERS: dict[str, int] = {f"%r{n}": n for n in range(16)}

#: Two-operand arithmetic mnemonics (without the "32" suffix) -> (operation, offset field).
ALU2_OPS: dict[str, tuple[int, int]] = {
    "add": (isa.ALU_ADD, 0),
    "sub": (isa.ALU_SUB, 0),
    "mul": (isa.ALU_MUL, 0),
    "div": (isa.ALU_DIV, 0),
    "sdiv": (isa.ALU_DIV, 1),
    "or": (isa.ALU_OR, 0),
    "and": (isa.ALU_AND, 0),
    "lsh": (isa.ALU_LSH, 0),
    "rsh": (isa.ALU_RSH, 0),
    "mod": (isa.ALU_MOD, 0),
    "smod": (isa.ALU_MOD, 1),
    "xor": (isa.ALU_XOR, 0),
    "mov": (isa.ALU_MOV, 0),
    "arsh": (isa.ALU_ARSH, 0),
}
#: operation -> mnemonic, for offset 0 (the signed forms are looked up separately).
ALU2_NAMES: dict[int, str] = {op: name for name, (op, off) in ALU2_OPS.items() if off == 0}
SIGNED_ALU2_NAMES: dict[int, str] = {isa.ALU_DIV: "sdiv", isa.ALU_MOD: "smod"}

#: Sign-extending moves: mnemonic -> (opcode, offset). Only these five spellings exist.
MOVSX: dict[str, tuple[int, int]] = {
    "movsx832": (isa.CLS_ALU | isa.ALU_MOV | isa.SRC_X, 8),
    "movsx1632": (isa.CLS_ALU | isa.ALU_MOV | isa.SRC_X, 16),
    "movsx864": (isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 8),
    "movsx1664": (isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 16),
    "movsx3264": (isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 32),
}
MOVSX_NAMES: dict[tuple[int, int], str] = {v: k for k, v in MOVSX.items()}

OP_LE = isa.CLS_ALU | isa.ALU_END | isa.SRC_K  # 0xd4
OP_BE = isa.CLS_ALU | isa.ALU_END | isa.SRC_X  # 0xdc
OP_BSWAP = isa.CLS_ALU64 | isa.ALU_END  # 0xd7
OP_NEG64 = isa.CLS_ALU64 | isa.ALU_NEG  # 0x87
OP_NEG32 = isa.CLS_ALU | isa.ALU_NEG  # 0x84

#: Byte-order mnemonics: prefix -> opcode ("swap" is upstream's other spelling of "bswap").
ENDIAN_PREFIXES: dict[str, int] = {"le": OP_LE, "be": OP_BE, "bswap": OP_BSWAP, "swap": OP_BSWAP}
ENDIAN_NAMES: dict[int, str] = {OP_LE: "le", OP_BE: "be", OP_BSWAP: "bswap"}
ENDIAN_WIDTHS = (16, 32, 64)

#: Conditional jump mnemonics (without the "32" suffix) -> operation.
JCOND_OPS: dict[str, int] = {
    "jeq": isa.JMP_JEQ,
    "jgt": isa.JMP_JGT,
    "jge": isa.JMP_JGE,
    "jset": isa.JMP_JSET,
    "jne": isa.JMP_JNE,
    "jsgt": isa.JMP_JSGT,
    "jsge": isa.JMP_JSGE,
    "jlt": isa.JMP_JLT,
    "jle": isa.JMP_JLE,
    "jslt": isa.JMP_JSLT,
    "jsle": isa.JMP_JSLE,
}
JCOND_NAMES: dict[int, str] = {v: k for k, v in JCOND_OPS.items()}

#: Register loads: mnemonic -> opcode.
LDX: dict[str, int] = {
    "ldxw": isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_W,
    "ldxh": isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_H,
    "ldxb": isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_B,
    "ldxdw": isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW,
    "ldxsw": isa.CLS_LDX | isa.MODE_MEMSX | isa.SIZE_W,
    "ldxsh": isa.CLS_LDX | isa.MODE_MEMSX | isa.SIZE_H,
    "ldxsb": isa.CLS_LDX | isa.MODE_MEMSX | isa.SIZE_B,
}
ST: dict[str, int] = {
    "stw": isa.CLS_ST | isa.MODE_MEM | isa.SIZE_W,
    "sth": isa.CLS_ST | isa.MODE_MEM | isa.SIZE_H,
    "stb": isa.CLS_ST | isa.MODE_MEM | isa.SIZE_B,
    "stdw": isa.CLS_ST | isa.MODE_MEM | isa.SIZE_DW,
}
STX: dict[str, int] = {
    "stxw": isa.CLS_STX | isa.MODE_MEM | isa.SIZE_W,
    "stxh": isa.CLS_STX | isa.MODE_MEM | isa.SIZE_H,
    "stxb": isa.CLS_STX | isa.MODE_MEM | isa.SIZE_B,
    "stxdw": isa.CLS_STX | isa.MODE_MEM | isa.SIZE_DW,
}
MEM_NAMES: dict[int, str] = {v: k for table in (LDX, ST, STX) for k, v in table.items()}

OP_ATOMIC32 = isa.CLS_STX | isa.MODE_ATOMIC | isa.SIZE_W  # 0xc3
OP_ATOMIC64 = isa.CLS_STX | isa.MODE_ATOMIC | isa.SIZE_DW  # 0xdb
#: Atomic operation names after "lock" (without "32") -> imm. "fetch" may precede the
#: first four; xchg and cmpxchg always fetch.
ATOMIC_OPS: dict[str, int] = {
    "add": isa.ATOMIC_ADD,
    "or": isa.ATOMIC_OR,
    "and": isa.ATOMIC_AND,
    "xor": isa.ATOMIC_XOR,
    "xchg": isa.ATOMIC_XCHG,
    "cmpxchg": isa.ATOMIC_CMPXCHG,
}
ATOMIC_FETCHABLE = ("add", "or", "and", "xor")

#: The 64-bit immediate loads: mnemonic -> opcode (lddwd/lddwr are Femto-Container's).
WIDE: dict[str, int] = {"lddw": isa.OP_LDDW, "lddwd": isa.OP_LDDWD, "lddwr": isa.OP_LDDWR}
WIDE_NAMES: dict[int, str] = {v: k for k, v in WIDE.items()}

#: Label names the assembler defines and the disassembler generates.
LABEL_RE = re.compile(r"[A-Za-z_.$][A-Za-z0-9_.$]*\Z")

_DEC_RE = re.compile(r"[+-]?[0-9]+\Z")
_HEX_RE = re.compile(r"\+?0x[0-9a-fA-F]+\Z")
_UDEC_RE = re.compile(r"\+?[0-9]+\Z")


class NumberError(ValueError):
    """A number that does not parse or does not fit; the message is the reason."""


def _parse(text: str, what: str) -> tuple[int, bool]:
    """(value, was_hex) for decimal or hex text; negative hex is refused."""
    if _DEC_RE.match(text):
        return int(text, 10), False
    if _HEX_RE.match(text):
        return int(text.lstrip("+"), 16), True
    if text.startswith("-0x") or text.startswith("-0X"):
        raise NumberError(
            f"negative hex {what} {text!r} is not accepted: write it in decimal or as a bit pattern"
        )
    raise NumberError(f"bad {what} {text!r}")


def parse_imm32(text: str) -> int:
    """An IMM32 operand as the signed 32-bit field value."""
    value, was_hex = _parse(text, "immediate")
    if was_hex:
        if value > 0xFFFFFFFF:
            raise NumberError(f"immediate {text} does not fit in 32 bits (max 0xffffffff)")
        return isa.s32(value)
    if not -(1 << 31) <= value < (1 << 31):
        raise NumberError(f"immediate {text} out of the 32-bit range -2147483648..2147483647")
    return value


def parse_off16(text: str) -> int:
    """An OFF16 operand as the signed 16-bit field value."""
    value, was_hex = _parse(text, "offset")
    if was_hex:
        if value > 0xFFFF:
            raise NumberError(f"offset {text} does not fit in 16 bits (max 0xffff)")
        return value - 0x10000 if value & 0x8000 else value
    if not -(1 << 15) <= value < (1 << 15):
        raise NumberError(f"offset {text} out of the 16-bit range -32768..32767")
    return value


def parse_imm64(text: str) -> int:
    """An IMM64 operand as an unsigned 64-bit value."""
    value, was_hex = _parse(text, "64-bit immediate")
    if was_hex or value >= 0:
        if value >= 1 << 64:
            raise NumberError(f"immediate {text} does not fit in 64 bits")
        return value
    if value < -(1 << 63):
        raise NumberError(f"immediate {text} below -2^63")
    return value & 0xFFFFFFFFFFFFFFFF


def parse_register(text: str) -> int:
    try:
        return REGISTERS[text]
    except KeyError:
        raise NumberError(f"invalid register {text!r} (expected %r0 .. %r10)") from None


def format_imm32(value: int) -> str:
    """An imm field as text the assembler reads back to the same field: small values in
    decimal, large ones as a 32-bit hex pattern."""
    if -4096 <= value <= 4096:
        return str(value)
    return f"0x{value & 0xFFFFFFFF:x}"


def format_target(delta: int) -> str:
    """A numeric jump target ("+3", "-1")."""
    return f"+{delta}" if delta >= 0 else str(delta)


def format_mem(reg: int, off: int) -> str:
    if off == 0:
        return f"[%r{reg}]"
    return f"[%r{reg}+{off}]" if off > 0 else f"[%r{reg}{off}]"
