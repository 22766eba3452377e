"""RV32IMC instruction encoders: one small pure function per instruction.

Each function is named after its assembler mnemonic (`addi`, `lw`, `c_addi`, `c_lw`; `or_`
and `and_` because `or`/`and` are Python keywords) and cites its section of "The RISC-V
Instruction Set Manual, Volume I: Unprivileged ISA", version 20191213: chapter 2 (RV32I),
chapter 7 (M), chapter 16 (C). It returns the instruction bytes, little-endian: 4 bytes, or
2 for the compressed forms.

Every function raises `EncodingError` instead of masking: an immediate that does not fit, a
misaligned offset, a register outside x8-x15 in a 3-bit compressed register field, x0 where
a compressed form reserves it, a zero immediate where a compressed form needs a non-zero one
(the HINT and reserved encodings: c.addi with 0, c.lui with rd = x2 or 0, c.addi16sp with 0,
c.srli/c.srai/c.slli by 0 or by 32 and more).

Operand order follows the assembler (`sw(rs2, rs1, offset)` is `sw rs2, offset(rs1)`).
Branch and jump offsets are target minus the instruction's own address (RISC-V has no PC
bias), so the label uses at the end of the module are direct.
"""

from __future__ import annotations

from femtojit.backends.common.fields import (
    EncodingError,
    as_int,
    bits,
    check_range,
    sign_extend,
    signed_field,
    unsigned_field,
)
from femtojit.backends.common.immediates import FieldImm
from femtojit.backends.common.labels import LabelUse

# ----------------------------------------------------------------------------------------
# Registers
# ----------------------------------------------------------------------------------------

ZERO, RA, SP, GP, TP = 0, 1, 2, 3, 4
T0, T1, T2 = 5, 6, 7
S0, S1 = 8, 9
A0, A1, A2, A3, A4, A5, A6, A7 = range(10, 18)
S2, S3, S4, S5, S6, S7, S8, S9, S10, S11 = range(18, 28)
T3, T4, T5, T6 = range(28, 32)

ABI_NAMES = (
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
    "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
    "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
    "t3", "t4", "t5", "t6",
)  # fmt: skip


def _reg(name: str, reg: object) -> int:
    return check_range(name, reg, 0, 31)


def _creg(name: str, reg: object) -> int:
    """The 3-bit field of a compressed register operand: x8-x15 only."""
    number = as_int(name, reg)
    if not 8 <= number <= 15:
        raise EncodingError(f"{name} = x{number}: this compressed form allows only x8-x15")
    return number - 8


def _nonzero_reg(name: str, reg: object, why: str = "x0 is reserved here") -> int:
    number = _reg(name, reg)
    if number == 0:
        raise EncodingError(f"{name} = x0: {why}")
    return number


def _w32(word: int) -> bytes:
    return word.to_bytes(4, "little")


def _c16(halfword: int) -> bytes:
    return halfword.to_bytes(2, "little")


# ----------------------------------------------------------------------------------------
# Typed immediates
# ----------------------------------------------------------------------------------------


class SImm12(FieldImm):
    """-2048..2047: I-type and S-type immediates (addi, loads, stores, jalr)."""

    BITS = 12
    SIGNED = True


class UImm20(FieldImm):
    """0..0xFFFFF: the U-type field of lui/auipc (bits 31..12 of the value)."""

    BITS = 20


class Shamt(FieldImm):
    """0..31: RV32 shift amounts."""

    BITS = 5


class BranchOffset(FieldImm):
    """-4096..4094, even: B-type branch offsets."""

    BITS = 12
    SIGNED = True
    SCALE = 2


class JumpOffset(FieldImm):
    """-1048576..1048574, even: J-type (jal) offsets."""

    BITS = 20
    SIGNED = True
    SCALE = 2


class CImm6(FieldImm):
    """-32..31: c.li, c.andi."""

    BITS = 6
    SIGNED = True


class CNzImm6(FieldImm):
    """-32..31 except 0: c.addi."""

    BITS = 6
    SIGNED = True
    NONZERO = True


class CLwOffset(FieldImm):
    """0..124 in steps of 4: c.lw, c.sw."""

    BITS = 5
    SCALE = 4


class CSpOffset(FieldImm):
    """0..252 in steps of 4: c.lwsp, c.swsp."""

    BITS = 6
    SCALE = 4


class CAddi4spnImm(FieldImm):
    """4..1020 in steps of 4: c.addi4spn."""

    BITS = 8
    SCALE = 4
    NONZERO = True


class CAddi16spImm(FieldImm):
    """-512..496 in steps of 16, not 0: c.addi16sp."""

    BITS = 6
    SIGNED = True
    SCALE = 16
    NONZERO = True


class CBranchOffset(FieldImm):
    """-256..254, even: c.beqz, c.bnez."""

    BITS = 8
    SIGNED = True
    SCALE = 2


class CJumpOffset(FieldImm):
    """-2048..2046, even: c.j, c.jal."""

    BITS = 11
    SIGNED = True
    SCALE = 2


def hi_lo(value: int) -> tuple[int, int]:
    """Split a 32-bit value (signed or unsigned) into a lui/auipc field and a signed 12-bit
    addend with `(hi << 12) + lo == value (mod 2**32)`: the upper part is rounded so that the
    sign-extended low part lands on the value (2.4, "lui ... addi")."""
    value = check_range("value", value, -(1 << 31), (1 << 32) - 1) & 0xFFFFFFFF
    hi = ((value + 0x800) >> 12) & 0xFFFFF
    lo = sign_extend(value - (hi << 12), 32)
    return hi, lo


# ----------------------------------------------------------------------------------------
# Base formats (2.2, 2.3)
# ----------------------------------------------------------------------------------------


def r_type(funct7: int, rs2: int, rs1: int, funct3: int, rd: int, opcode: int) -> bytes:
    """R-type: funct7 | rs2 | rs1 | funct3 | rd | opcode (2.2)."""
    return _w32(
        unsigned_field("funct7", funct7, 7) << 25 | _reg("rs2", rs2) << 20
        | _reg("rs1", rs1) << 15 | unsigned_field("funct3", funct3, 3) << 12
        | _reg("rd", rd) << 7 | unsigned_field("opcode", opcode, 7)
    )  # fmt: skip


def i_type(imm: int, rs1: int, funct3: int, rd: int, opcode: int) -> bytes:
    """I-type: imm[11:0] | rs1 | funct3 | rd | opcode, imm signed (2.2)."""
    return _w32(
        signed_field("imm", imm, 12) << 20 | _reg("rs1", rs1) << 15
        | unsigned_field("funct3", funct3, 3) << 12 | _reg("rd", rd) << 7
        | unsigned_field("opcode", opcode, 7)
    )  # fmt: skip


def s_type(imm: int, rs2: int, rs1: int, funct3: int, opcode: int) -> bytes:
    """S-type: imm[11:5] | rs2 | rs1 | funct3 | imm[4:0] | opcode (2.2)."""
    field = signed_field("imm", imm, 12)
    return _w32(
        (field >> 5) << 25 | _reg("rs2", rs2) << 20 | _reg("rs1", rs1) << 15
        | unsigned_field("funct3", funct3, 3) << 12 | (field & 31) << 7
        | unsigned_field("opcode", opcode, 7)
    )  # fmt: skip


def b_type(imm: int, rs2: int, rs1: int, funct3: int, opcode: int) -> bytes:
    """B-type: imm[12|10:5] | rs2 | rs1 | funct3 | imm[4:1|11] | opcode, even (2.3)."""
    field = signed_field("offset", imm, 12, 2) << 1  # the 13-bit offset, bit 0 clear
    return _w32(
        bits(field, 12, 12) << 31 | bits(field, 10, 5) << 25 | _reg("rs2", rs2) << 20
        | _reg("rs1", rs1) << 15 | unsigned_field("funct3", funct3, 3) << 12
        | bits(field, 4, 1) << 8 | bits(field, 11, 11) << 7
        | unsigned_field("opcode", opcode, 7)
    )  # fmt: skip


def u_type(imm20: int, rd: int, opcode: int) -> bytes:
    """U-type: imm[31:12] | rd | opcode; `imm20` is the 20-bit field (2.2)."""
    return _w32(
        unsigned_field("imm20", imm20, 20) << 12 | _reg("rd", rd) << 7
        | unsigned_field("opcode", opcode, 7)
    )  # fmt: skip


def j_type(imm: int, rd: int, opcode: int) -> bytes:
    """J-type: imm[20|10:1|11|19:12] | rd | opcode, even (2.3)."""
    field = signed_field("offset", imm, 20, 2) << 1  # the 21-bit offset, bit 0 clear
    return _w32(
        bits(field, 20, 20) << 31 | bits(field, 10, 1) << 21 | bits(field, 11, 11) << 20
        | bits(field, 19, 12) << 12 | _reg("rd", rd) << 7
        | unsigned_field("opcode", opcode, 7)
    )  # fmt: skip


_LUI, _AUIPC, _JAL, _JALR, _BRANCH = 0b0110111, 0b0010111, 0b1101111, 0b1100111, 0b1100011
_LOAD, _STORE, _OP_IMM, _OP, _SYSTEM = 0b0000011, 0b0100011, 0b0010011, 0b0110011, 0b1110011

# ----------------------------------------------------------------------------------------
# RV32I (chapter 2)
# ----------------------------------------------------------------------------------------


def lui(rd: int, imm20: int) -> bytes:
    """2.4 LUI: rd = imm20 << 12."""
    return u_type(imm20, rd, _LUI)


def auipc(rd: int, imm20: int) -> bytes:
    """2.4 AUIPC: rd = pc + (imm20 << 12)."""
    return u_type(imm20, rd, _AUIPC)


def jal(rd: int, offset: int) -> bytes:
    """2.5 JAL: rd = pc + 4; pc += offset (-1 MiB..+1 MiB - 2, even)."""
    return j_type(offset, rd, _JAL)


def jalr(rd: int, rs1: int, offset: int = 0) -> bytes:
    """2.5 JALR: rd = pc + 4; pc = (rs1 + offset) & ~1."""
    return i_type(offset, rs1, 0b000, rd, _JALR)


def beq(rs1: int, rs2: int, offset: int) -> bytes:
    """2.5 BEQ: branch if rs1 == rs2 (-4096..4094, even)."""
    return b_type(offset, rs2, rs1, 0b000, _BRANCH)


def bne(rs1: int, rs2: int, offset: int) -> bytes:
    """2.5 BNE: branch if rs1 != rs2."""
    return b_type(offset, rs2, rs1, 0b001, _BRANCH)


def blt(rs1: int, rs2: int, offset: int) -> bytes:
    """2.5 BLT: branch if rs1 < rs2 (signed)."""
    return b_type(offset, rs2, rs1, 0b100, _BRANCH)


def bge(rs1: int, rs2: int, offset: int) -> bytes:
    """2.5 BGE: branch if rs1 >= rs2 (signed)."""
    return b_type(offset, rs2, rs1, 0b101, _BRANCH)


def bltu(rs1: int, rs2: int, offset: int) -> bytes:
    """2.5 BLTU: branch if rs1 < rs2 (unsigned)."""
    return b_type(offset, rs2, rs1, 0b110, _BRANCH)


def bgeu(rs1: int, rs2: int, offset: int) -> bytes:
    """2.5 BGEU: branch if rs1 >= rs2 (unsigned)."""
    return b_type(offset, rs2, rs1, 0b111, _BRANCH)


def lb(rd: int, rs1: int, offset: int) -> bytes:
    """2.6 LB: load a byte, sign-extended."""
    return i_type(offset, rs1, 0b000, rd, _LOAD)


def lh(rd: int, rs1: int, offset: int) -> bytes:
    """2.6 LH: load a halfword, sign-extended."""
    return i_type(offset, rs1, 0b001, rd, _LOAD)


def lw(rd: int, rs1: int, offset: int) -> bytes:
    """2.6 LW: load a word."""
    return i_type(offset, rs1, 0b010, rd, _LOAD)


def lbu(rd: int, rs1: int, offset: int) -> bytes:
    """2.6 LBU: load a byte, zero-extended."""
    return i_type(offset, rs1, 0b100, rd, _LOAD)


def lhu(rd: int, rs1: int, offset: int) -> bytes:
    """2.6 LHU: load a halfword, zero-extended."""
    return i_type(offset, rs1, 0b101, rd, _LOAD)


def sb(rs2: int, rs1: int, offset: int) -> bytes:
    """2.6 SB: store the low byte of rs2 at rs1 + offset."""
    return s_type(offset, rs2, rs1, 0b000, _STORE)


def sh(rs2: int, rs1: int, offset: int) -> bytes:
    """2.6 SH: store the low halfword of rs2."""
    return s_type(offset, rs2, rs1, 0b001, _STORE)


def sw(rs2: int, rs1: int, offset: int) -> bytes:
    """2.6 SW: store a word."""
    return s_type(offset, rs2, rs1, 0b010, _STORE)


def addi(rd: int, rs1: int, imm: int) -> bytes:
    """2.4 ADDI: rd = rs1 + imm (-2048..2047)."""
    return i_type(imm, rs1, 0b000, rd, _OP_IMM)


def slti(rd: int, rs1: int, imm: int) -> bytes:
    """2.4 SLTI: rd = rs1 < imm (signed)."""
    return i_type(imm, rs1, 0b010, rd, _OP_IMM)


def sltiu(rd: int, rs1: int, imm: int) -> bytes:
    """2.4 SLTIU: rd = rs1 < imm (unsigned compare of the sign-extended immediate)."""
    return i_type(imm, rs1, 0b011, rd, _OP_IMM)


def xori(rd: int, rs1: int, imm: int) -> bytes:
    """2.4 XORI: rd = rs1 ^ imm."""
    return i_type(imm, rs1, 0b100, rd, _OP_IMM)


def ori(rd: int, rs1: int, imm: int) -> bytes:
    """2.4 ORI: rd = rs1 | imm."""
    return i_type(imm, rs1, 0b110, rd, _OP_IMM)


def andi(rd: int, rs1: int, imm: int) -> bytes:
    """2.4 ANDI: rd = rs1 & imm."""
    return i_type(imm, rs1, 0b111, rd, _OP_IMM)


def _shift_imm(funct7: int, funct3: int, rd: int, rs1: int, shamt: int) -> bytes:
    # RV32: shamt[5] set is reserved, so the field is 5 bits and funct7 the upper ones.
    return r_type(funct7, unsigned_field("shamt", shamt, 5), rs1, funct3, rd, _OP_IMM)


def slli(rd: int, rs1: int, shamt: int) -> bytes:
    """2.4 SLLI: rd = rs1 << 0..31."""
    return _shift_imm(0b0000000, 0b001, rd, rs1, shamt)


def srli(rd: int, rs1: int, shamt: int) -> bytes:
    """2.4 SRLI: rd = rs1 >> 0..31 (logical)."""
    return _shift_imm(0b0000000, 0b101, rd, rs1, shamt)


def srai(rd: int, rs1: int, shamt: int) -> bytes:
    """2.4 SRAI: rd = rs1 >> 0..31 (arithmetic)."""
    return _shift_imm(0b0100000, 0b101, rd, rs1, shamt)


def add(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 ADD."""
    return r_type(0b0000000, rs2, rs1, 0b000, rd, _OP)


def sub(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 SUB: rd = rs1 - rs2."""
    return r_type(0b0100000, rs2, rs1, 0b000, rd, _OP)


def sll(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 SLL: rd = rs1 << (rs2 & 31)."""
    return r_type(0b0000000, rs2, rs1, 0b001, rd, _OP)


def slt(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 SLT: rd = rs1 < rs2 (signed)."""
    return r_type(0b0000000, rs2, rs1, 0b010, rd, _OP)


def sltu(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 SLTU: rd = rs1 < rs2 (unsigned)."""
    return r_type(0b0000000, rs2, rs1, 0b011, rd, _OP)


def xor(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 XOR."""
    return r_type(0b0000000, rs2, rs1, 0b100, rd, _OP)


def srl(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 SRL: rd = rs1 >> (rs2 & 31) (logical)."""
    return r_type(0b0000000, rs2, rs1, 0b101, rd, _OP)


def sra(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 SRA: rd = rs1 >> (rs2 & 31) (arithmetic)."""
    return r_type(0b0100000, rs2, rs1, 0b101, rd, _OP)


def or_(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 OR."""
    return r_type(0b0000000, rs2, rs1, 0b110, rd, _OP)


def and_(rd: int, rs1: int, rs2: int) -> bytes:
    """2.4 AND."""
    return r_type(0b0000000, rs2, rs1, 0b111, rd, _OP)


def ecall() -> bytes:
    """2.8 ECALL."""
    return i_type(0, 0, 0b000, 0, _SYSTEM)


def ebreak() -> bytes:
    """2.8 EBREAK: a trap for the debugger or emulator."""
    return i_type(1, 0, 0b000, 0, _SYSTEM)


# ----------------------------------------------------------------------------------------
# M extension (chapter 7): funct7 = 0000001 on the OP opcode
# ----------------------------------------------------------------------------------------


def mul(rd: int, rs1: int, rs2: int) -> bytes:
    """7.1 MUL: low 32 bits of rs1 * rs2."""
    return r_type(0b0000001, rs2, rs1, 0b000, rd, _OP)


def mulh(rd: int, rs1: int, rs2: int) -> bytes:
    """7.1 MULH: high 32 bits of signed * signed."""
    return r_type(0b0000001, rs2, rs1, 0b001, rd, _OP)


def mulhsu(rd: int, rs1: int, rs2: int) -> bytes:
    """7.1 MULHSU: high 32 bits of signed rs1 * unsigned rs2."""
    return r_type(0b0000001, rs2, rs1, 0b010, rd, _OP)


def mulhu(rd: int, rs1: int, rs2: int) -> bytes:
    """7.1 MULHU: high 32 bits of unsigned * unsigned."""
    return r_type(0b0000001, rs2, rs1, 0b011, rd, _OP)


def div(rd: int, rs1: int, rs2: int) -> bytes:
    """7.2 DIV: signed division (x/0 = -1, INT_MIN/-1 = INT_MIN; no trap)."""
    return r_type(0b0000001, rs2, rs1, 0b100, rd, _OP)


def divu(rd: int, rs1: int, rs2: int) -> bytes:
    """7.2 DIVU: unsigned division (x/0 = 2**32 - 1)."""
    return r_type(0b0000001, rs2, rs1, 0b101, rd, _OP)


def rem(rd: int, rs1: int, rs2: int) -> bytes:
    """7.2 REM: signed remainder (x%0 = x, INT_MIN%-1 = 0)."""
    return r_type(0b0000001, rs2, rs1, 0b110, rd, _OP)


def remu(rd: int, rs1: int, rs2: int) -> bytes:
    """7.2 REMU: unsigned remainder (x%0 = x)."""
    return r_type(0b0000001, rs2, rs1, 0b111, rd, _OP)


# ----------------------------------------------------------------------------------------
# C extension (chapter 16), RV32 only
# ----------------------------------------------------------------------------------------


def c_addi4spn(rd: int, imm: int) -> bytes:
    """16.5 C.ADDI4SPN (CIW): rd' = sp + 4..1020 (multiple of 4, 0 reserved)."""
    field = unsigned_field("imm", CAddi4spnImm(imm), 8, 4) << 2  # nzuimm[9:2]
    return _c16(
        bits(field, 5, 4) << 11 | bits(field, 9, 6) << 7 | bits(field, 2, 2) << 6
        | bits(field, 3, 3) << 5 | _creg("rd", rd) << 2
    )  # fmt: skip


def _cl_offset(offset: int) -> int:
    field = unsigned_field("offset", offset, 5, 4) << 2  # uimm[6:2]
    return bits(field, 5, 3) << 10 | bits(field, 2, 2) << 6 | bits(field, 6, 6) << 5


def c_lw(rd: int, rs1: int, offset: int) -> bytes:
    """16.3 C.LW (CL): rd' = mem[rs1' + 0..124] (multiple of 4)."""
    return _c16(0b010 << 13 | _cl_offset(offset) | _creg("rs1", rs1) << 7 | _creg("rd", rd) << 2)


def c_sw(rs2: int, rs1: int, offset: int) -> bytes:
    """16.3 C.SW (CS): mem[rs1' + 0..124] = rs2'."""
    return _c16(0b110 << 13 | _cl_offset(offset) | _creg("rs1", rs1) << 7 | _creg("rs2", rs2) << 2)


def c_nop() -> bytes:
    """16.5 C.NOP (c.addi x0, 0)."""
    return _c16(0b01)


def _ci(funct3: int, rd: int, field6: int, op: int) -> bytes:
    return _c16(funct3 << 13 | bits(field6, 5, 5) << 12 | rd << 7 | (field6 & 31) << 2 | op)


def c_addi(rd: int, imm: int) -> bytes:
    """16.5 C.ADDI (CI): rd += -32..31; rd = x0 or imm = 0 are HINTs, refused."""
    rd = _nonzero_reg("rd", rd, "c.addi to x0 is a HINT (c.nop is separate)")
    imm = check_range("imm", imm, -32, 31)
    if imm == 0:
        raise EncodingError("c.addi with 0 is a HINT, not an addition")
    return _ci(0b000, rd, imm & 0x3F, 0b01)


def _cj_offset(offset: int) -> int:
    field = signed_field("offset", offset, 11, 2) << 1  # offset[11:1]
    return (
        bits(field, 11, 11) << 12 | bits(field, 4, 4) << 11 | bits(field, 9, 8) << 9
        | bits(field, 10, 10) << 8 | bits(field, 6, 6) << 7 | bits(field, 7, 7) << 6
        | bits(field, 3, 1) << 3 | bits(field, 5, 5) << 2
    )  # fmt: skip


def c_jal(offset: int) -> bytes:
    """16.4 C.JAL (CJ, RV32 only): ra = pc + 2; pc += -2048..2046 (even)."""
    return _c16(0b001 << 13 | _cj_offset(offset) | 0b01)


def c_li(rd: int, imm: int) -> bytes:
    """16.5 C.LI (CI): rd = -32..31 (rd = x0 is a HINT, refused)."""
    rd = _nonzero_reg("rd", rd, "c.li to x0 is a HINT")
    return _ci(0b010, rd, check_range("imm", imm, -32, 31) & 0x3F, 0b01)


def c_addi16sp(imm: int) -> bytes:
    """16.5 C.ADDI16SP (CI): sp += -512..496 (multiple of 16; 0 is reserved)."""
    field = signed_field("imm", CAddi16spImm(imm), 6, 16) << 4  # nzimm[9:4]
    return _c16(
        0b011 << 13 | bits(field, 9, 9) << 12 | SP << 7 | bits(field, 4, 4) << 6
        | bits(field, 6, 6) << 5 | bits(field, 8, 7) << 3 | bits(field, 5, 5) << 2 | 0b01
    )  # fmt: skip


def c_lui(rd: int, imm20: int) -> bytes:
    """16.5 C.LUI (CI): rd = imm20 << 12, with the same 20-bit field as `lui` restricted to
    sign-extended 6-bit values (1..31 or 0xFFFE0..0xFFFFF). rd = x2 is c.addi16sp; rd = x0
    is a HINT; imm20 = 0 is reserved: all refused."""
    rd = _reg("rd", rd)
    if rd in (ZERO, SP):
        raise EncodingError(f"c.lui to x{rd} is not a load-upper (x0: HINT, x2: c.addi16sp)")
    imm20 = unsigned_field("imm20", imm20, 20)
    if imm20 == 0 or not (imm20 <= 31 or imm20 >= 0xFFFE0):
        raise EncodingError(f"c.lui: imm20 = {imm20:#x} is not a non-zero 6-bit signed value")
    return _ci(0b011, rd, imm20 & 0x3F, 0b01)


def _shamt_c(shamt: int) -> int:
    # RV32C: shamt[5] = 1 is reserved (NSE) and 0 is a HINT
    return check_range("shamt", shamt, 1, 31)


def c_srli(rd: int, shamt: int) -> bytes:
    """16.5 C.SRLI (CB): rd' >>= 1..31 (logical)."""
    return _c16(0b100 << 13 | 0b00 << 10 | _creg("rd", rd) << 7 | _shamt_c(shamt) << 2 | 0b01)


def c_srai(rd: int, shamt: int) -> bytes:
    """16.5 C.SRAI (CB): rd' >>= 1..31 (arithmetic)."""
    return _c16(0b100 << 13 | 0b01 << 10 | _creg("rd", rd) << 7 | _shamt_c(shamt) << 2 | 0b01)


def c_andi(rd: int, imm: int) -> bytes:
    """16.5 C.ANDI (CB): rd' &= -32..31."""
    field = signed_field("imm", imm, 6)
    return _c16(
        0b100 << 13 | bits(field, 5, 5) << 12 | 0b10 << 10 | _creg("rd", rd) << 7
        | (field & 31) << 2 | 0b01
    )  # fmt: skip


def _ca(funct2: int, rd: int, rs2: int) -> bytes:
    return _c16(0b100011 << 10 | _creg("rd", rd) << 7 | funct2 << 5 | _creg("rs2", rs2) << 2 | 1)


def c_sub(rd: int, rs2: int) -> bytes:
    """16.5 C.SUB (CA): rd' -= rs2'."""
    return _ca(0b00, rd, rs2)


def c_xor(rd: int, rs2: int) -> bytes:
    """16.5 C.XOR (CA): rd' ^= rs2'."""
    return _ca(0b01, rd, rs2)


def c_or(rd: int, rs2: int) -> bytes:
    """16.5 C.OR (CA): rd' |= rs2'."""
    return _ca(0b10, rd, rs2)


def c_and(rd: int, rs2: int) -> bytes:
    """16.5 C.AND (CA): rd' &= rs2'."""
    return _ca(0b11, rd, rs2)


def c_j(offset: int) -> bytes:
    """16.4 C.J (CJ): pc += -2048..2046 (even)."""
    return _c16(0b101 << 13 | _cj_offset(offset) | 0b01)


def _cb_branch(funct3: int, rs1: int, offset: int) -> bytes:
    field = signed_field("offset", offset, 8, 2) << 1  # offset[8:1]
    return _c16(
        funct3 << 13 | bits(field, 8, 8) << 12 | bits(field, 4, 3) << 10
        | _creg("rs1", rs1) << 7 | bits(field, 7, 6) << 5 | bits(field, 2, 1) << 3
        | bits(field, 5, 5) << 2 | 0b01
    )  # fmt: skip


def c_beqz(rs1: int, offset: int) -> bytes:
    """16.4 C.BEQZ (CB): branch if rs1' == 0 (-256..254, even)."""
    return _cb_branch(0b110, rs1, offset)


def c_bnez(rs1: int, offset: int) -> bytes:
    """16.4 C.BNEZ (CB): branch if rs1' != 0 (-256..254, even)."""
    return _cb_branch(0b111, rs1, offset)


def c_slli(rd: int, shamt: int) -> bytes:
    """16.5 C.SLLI (CI): rd <<= 1..31 (rd = x0 is a HINT, refused)."""
    rd = _nonzero_reg("rd", rd, "c.slli to x0 is a HINT")
    return _ci(0b000, rd, _shamt_c(shamt), 0b10)


def c_lwsp(rd: int, offset: int) -> bytes:
    """16.3 C.LWSP (CI): rd = mem[sp + 0..252] (multiple of 4; rd = x0 reserved)."""
    rd = _nonzero_reg("rd", rd)
    field = unsigned_field("offset", offset, 6, 4) << 2  # uimm[7:2]
    return _c16(
        0b010 << 13 | bits(field, 5, 5) << 12 | rd << 7 | bits(field, 4, 2) << 4
        | bits(field, 7, 6) << 2 | 0b10
    )  # fmt: skip


def c_jr(rs1: int) -> bytes:
    """16.4 C.JR (CR): pc = rs1 (rs1 = x0 reserved)."""
    return _c16(0b1000 << 12 | _nonzero_reg("rs1", rs1) << 7 | 0b10)


def c_mv(rd: int, rs2: int) -> bytes:
    """16.5 C.MV (CR): rd = rs2 (rs2 = x0 is c.jr; rd = x0 a HINT: refused)."""
    rd = _nonzero_reg("rd", rd, "c.mv to x0 is a HINT")
    rs2 = _nonzero_reg("rs2", rs2, "c.mv from x0 is c.jr")
    return _c16(0b1000 << 12 | rd << 7 | rs2 << 2 | 0b10)


def c_ebreak() -> bytes:
    """16.8 C.EBREAK."""
    return _c16(0x9002)


def c_jalr(rs1: int) -> bytes:
    """16.4 C.JALR (CR): ra = pc + 2; pc = rs1 (rs1 = x0 is c.ebreak: refused)."""
    return _c16(0b1001 << 12 | _nonzero_reg("rs1", rs1, "that is c.ebreak") << 7 | 0b10)


def c_add(rd: int, rs2: int) -> bytes:
    """16.5 C.ADD (CR): rd += rs2 (rs2 = x0 is c.jalr/c.ebreak; rd = x0 a HINT)."""
    rd = _nonzero_reg("rd", rd, "c.add to x0 is a HINT")
    rs2 = _nonzero_reg("rs2", rs2, "c.add of x0 is c.jalr/c.ebreak")
    return _c16(0b1001 << 12 | rd << 7 | rs2 << 2 | 0b10)


def c_swsp(rs2: int, offset: int) -> bytes:
    """16.3 C.SWSP (CSS): mem[sp + 0..252] = rs2 (multiple of 4)."""
    field = unsigned_field("offset", offset, 6, 4) << 2  # uimm[7:2]
    return _c16(
        0b110 << 13 | bits(field, 5, 2) << 9 | bits(field, 7, 6) << 7 | _reg("rs2", rs2) << 2
        | 0b10
    )  # fmt: skip


# ----------------------------------------------------------------------------------------
# Constant materialisation
# ----------------------------------------------------------------------------------------


def _c_lui_fits(rd: int, imm20: int) -> bool:
    return rd not in (ZERO, SP) and imm20 != 0 and (imm20 <= 31 or imm20 >= 0xFFFE0)


def li(rd: int, value: int) -> list[bytes]:
    """The shortest sequence that sets rd to a 32-bit value (signed or unsigned): c.li
    (2 bytes), addi (4), or lui/c.lui followed, unless the low part is 0, by
    addi/c.addi/c.addi16sp with the upper part rounded so the sign-extended low part
    lands on the value (`hi_lo`)."""
    rd = _nonzero_reg("rd", rd, "loading a constant into x0 does nothing")
    hi, lo = hi_lo(value)
    signed = sign_extend(value & 0xFFFFFFFF, 32)
    if -32 <= signed <= 31:
        return [c_li(rd, signed)]
    if -2048 <= signed <= 2047:
        return [addi(rd, ZERO, signed)]
    sequence = [c_lui(rd, hi) if _c_lui_fits(rd, hi) else lui(rd, hi)]
    if lo == 0:
        return sequence
    if -32 <= lo <= 31:
        sequence.append(c_addi(rd, lo))
    elif rd == SP and CAddi16spImm.fits(lo):
        sequence.append(c_addi16sp(lo))
    else:
        sequence.append(addi(rd, rd, lo))
    return sequence


# ----------------------------------------------------------------------------------------
# Label uses
# ----------------------------------------------------------------------------------------


def _word(code: bytes) -> int:
    return int.from_bytes(code[:4], "little")


def _rewrite_branch(old: bytes, offset: int) -> bytes:
    word = _word(old)
    return b_type(offset, bits(word, 24, 20), bits(word, 19, 15), bits(word, 14, 12), _BRANCH)


def _rewrite_jal(old: bytes, offset: int) -> bytes:
    return jal(bits(_word(old), 11, 7), offset)


def _rewrite_c_branch(old: bytes, offset: int) -> bytes:
    halfword = int.from_bytes(old[:2], "little")
    return _cb_branch(bits(halfword, 15, 13), bits(halfword, 9, 7) + 8, offset)


def _rewrite_c_jump(old: bytes, offset: int) -> bytes:
    halfword = int.from_bytes(old[:2], "little")
    return _c16(bits(halfword, 15, 13) << 13 | _cj_offset(offset) | 0b01)


def _rewrite_auipc_pair(old: bytes, offset: int) -> bytes:
    """auipc rd, hi; then an I-type (jalr/addi/lw ...) whose immediate is lo: keep every
    other field of both."""
    first, second = _word(old[:4]), _word(old[4:8])
    hi = signed_field("offset upper part", (offset + 0x800) >> 12, 20)
    lo = offset - (sign_extend(hi, 20) << 12)
    return auipc(bits(first, 11, 7), hi) + i_type(
        lo, bits(second, 19, 15), bits(second, 14, 12), bits(second, 11, 7), second & 0x7F
    )


def _rv_use(name: str, size: int, low: int, high: int, align: int, rewrite) -> LabelUse:
    return LabelUse(name, size, low, high, align, pc_bias=0, pc_align=1, code_align=2,
                    rewrite=rewrite)  # fmt: skip


#: B-type conditional branch (beq ... bgeu), +-4 KiB.
BRANCH = _rv_use("B-type branch", 4, -4096, 4094, 2, _rewrite_branch)
#: J-type jal, +-1 MiB.
JAL = _rv_use("jal", 4, -(1 << 20), (1 << 20) - 2, 2, _rewrite_jal)
#: c.beqz / c.bnez, +-256 B (the rewrite keeps which one and the register).
C_BRANCH = _rv_use("c.beqz/c.bnez", 2, -256, 254, 2, _rewrite_c_branch)
#: c.j / c.jal, +-2 KiB.
C_JUMP = _rv_use("c.j/c.jal", 2, -2048, 2046, 2, _rewrite_c_jump)
#: auipc + jalr (a far call or jump): the whole 32-bit space around the pc.
AUIPC_JALR = _rv_use("auipc+jalr", 8, -(1 << 31) - 0x800, (1 << 31) - 0x801, 2, _rewrite_auipc_pair)
#: auipc + addi (a pc-relative address) or auipc + a load (a pc-relative literal).
AUIPC_ADDI = _rv_use(
    "auipc+addi/load", 8, -(1 << 31) - 0x800, (1 << 31) - 0x801, 1, _rewrite_auipc_pair
)

LABEL_USES = (BRANCH, JAL, C_BRANCH, C_JUMP, AUIPC_JALR, AUIPC_ADDI)
