"""The shortest RV32IMC encoding of one operation: compressed where a C form is legal.

Instruction selection says what it wants (`add(rd, rs1, rs2)`, `addi(rd, rs, imm)`, ...)
and gets the bytes of the 16-bit form when the registers and immediate allow it (chapter 16
of the ISA manual), else the 32-bit one. Everything goes through the checked encoders of
`encode`, so a wrong choice here raises instead of emitting a different instruction.
"""

from __future__ import annotations

from femtojit.backends.rv32 import encode as E
from femtojit.backends.rv32.encode import SP, ZERO

M32 = 0xFFFFFFFF


def signed32(value: int) -> int:
    """A 32-bit pattern as a signed number."""
    value &= M32
    return value - (1 << 32) if value >> 31 else value


def fits12(value: int) -> bool:
    return -2048 <= value <= 2047


def compressible(*regs: int) -> bool:
    """All registers in x8-x15 (the 3-bit register fields of the C forms)."""
    return all(8 <= r <= 15 for r in regs)


def mv(rd: int, rs: int) -> bytes:
    if rd == rs:
        return b""
    if rs == ZERO:
        return E.c_li(rd, 0)
    return E.c_mv(rd, rs)


def li(rd: int, value: int) -> bytes:
    return b"".join(E.li(rd, value))


def li_count(value: int) -> int:
    """Instructions `li` takes for value (1 or 2)."""
    return len(E.li(E.T6, value))


def addi(rd: int, rs: int, imm: int) -> bytes:
    """rd := rs + imm, imm a signed 12-bit value."""
    if imm == 0:
        return mv(rd, rs)
    if rs == ZERO:
        return li(rd, imm)
    if rd == rs and rd != ZERO and -32 <= imm <= 31:
        return E.c_addi(rd, imm)
    if rd == rs == SP and imm % 16 == 0 and -512 <= imm <= 496:
        return E.c_addi16sp(imm)
    if rs == SP and compressible(rd) and 0 < imm <= 1020 and imm % 4 == 0:
        return E.c_addi4spn(rd, imm)
    return E.addi(rd, rs, imm)


def add(rd: int, a: int, b: int) -> bytes:
    if b == ZERO:
        return mv(rd, a)
    if a == ZERO:
        return mv(rd, b)
    if rd == a:
        return E.c_add(rd, b)
    if rd == b:
        return E.c_add(rd, a)
    return E.add(rd, a, b)


def sub(rd: int, a: int, b: int) -> bytes:
    if b == ZERO:
        return mv(rd, a)
    if rd == a and compressible(rd, b):
        return E.c_sub(rd, b)
    return E.sub(rd, a, b)


_CA = {"and": (E.c_and, E.and_), "or": (E.c_or, E.or_), "xor": (E.c_xor, E.xor)}


def logic(name: str, rd: int, a: int, b: int) -> bytes:
    """and / or / xor of two registers (commutative: either may be rd)."""
    short, full = _CA[name]
    if rd == b and rd != a:
        a, b = b, a
    if rd == a and compressible(rd, b):
        return short(rd, b)
    return full(rd, a, b)


def logic_imm(name: str, rd: int, a: int, imm: int) -> bytes:
    """andi / ori / xori with a signed 12-bit immediate."""
    if name == "and" and rd == a and compressible(rd) and -32 <= imm <= 31:
        return E.c_andi(rd, imm)
    return {"and": E.andi, "or": E.ori, "xor": E.xori}[name](rd, a, imm)


def shift_imm(name: str, rd: int, a: int, amount: int) -> bytes:
    """slli / srli / srai by 0..31 (0: a move)."""
    amount &= 31
    if amount == 0:
        return mv(rd, a)
    if rd == a:
        if name == "shl":
            return E.c_slli(rd, amount)
        if compressible(rd):
            return (E.c_srli if name == "lshr" else E.c_srai)(rd, amount)
    return {"shl": E.slli, "lshr": E.srli, "ashr": E.srai}[name](rd, a, amount)


def lw(rd: int, base: int, offset: int) -> bytes:
    if offset % 4 == 0:
        if base == SP and rd != ZERO and 0 <= offset <= 252:
            return E.c_lwsp(rd, offset)
        if compressible(rd, base) and 0 <= offset <= 124:
            return E.c_lw(rd, base, offset)
    return E.lw(rd, base, offset)


def sw(rs: int, base: int, offset: int) -> bytes:
    if offset % 4 == 0:
        if base == SP and 0 <= offset <= 252:
            return E.c_swsp(rs, offset)
        if compressible(rs, base) and 0 <= offset <= 124:
            return E.c_sw(rs, base, offset)
    return E.sw(rs, base, offset)


LOADS = {(1, False): E.lbu, (1, True): E.lb, (2, False): E.lhu, (2, True): E.lh}


def load(rd: int, base: int, offset: int, size: int, signed: bool = False) -> bytes:
    if size == 4:
        return lw(rd, base, offset)
    return LOADS[(size, signed)](rd, base, offset)


def store(rs: int, base: int, offset: int, size: int) -> bytes:
    if size == 4:
        return sw(rs, base, offset)
    return (E.sb if size == 1 else E.sh)(rs, base, offset)
