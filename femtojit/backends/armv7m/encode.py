"""Thumb-2 (ARMv7-M) instruction encoders: one small pure function per instruction encoding.

Each function is named after the manual's mnemonic and encoding number (`t1_adds_imm3` is
ADD (immediate) encoding T1, `t3_add_imm` is encoding T3, the 32-bit modified-immediate form)
and cites its section of the ARMv7-M Architecture Reference Manual, DDI 0403E.e (section
numbers of the earlier E.b revision are one lower from CSDB, two lower from PSSBB and three
lower from SSBB onward: the later revision added those three entries). It returns the
instruction bytes as stored in memory: little-endian halfwords, the first halfword of a
32-bit instruction first.

Every function raises `EncodingError` instead of masking: an immediate that does not fit, a
misaligned offset, a high register given to a low-register form, SP or PC where the manual
says UNPREDICTABLE (its `BadReg` rule: r13 and r15 excluded), a register list a form cannot
hold. PC is never accepted as a data or load destination here: femtojit does not branch that
way. 16-bit data-processing forms set the flags when outside an IT block, and are named with
the S (`t1_lsls_imm`); 32-bit forms take `setflags`.

Displacements of PC-relative forms are the architectural ones (branches: target minus the
instruction address + 4; literal loads and ADR: target minus that value rounded down to a
word). The label uses at the end of the module translate from "target minus instruction
address" for the emitter.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import NamedTuple

from femtojit.backends.common.fields import (
    EncodingError,
    as_int,
    bits,
    check_range,
    signed_field,
    unsigned_field,
)
from femtojit.backends.common.immediates import FieldImm
from femtojit.backends.common.labels import LabelUse

# ----------------------------------------------------------------------------------------
# Registers, conditions, shifts
# ----------------------------------------------------------------------------------------

R0, R1, R2, R3, R4, R5, R6, R7 = range(8)
R8, R9, R10, R11, R12 = range(8, 13)
SP, LR, PC = 13, 14, 15

REG_NAMES = tuple(f"r{n}" for n in range(13)) + ("sp", "lr", "pc")

_LOW = frozenset(range(8))
_GENERAL = frozenset(range(13)) | {LR}  # everything but SP and PC: the manual's !BadReg
_NOT_PC = frozenset(range(15))


class Cond(IntEnum):
    """Condition codes (A7.3)."""

    EQ = 0
    NE = 1
    CS = 2
    CC = 3
    MI = 4
    PL = 5
    VS = 6
    VC = 7
    HI = 8
    LS = 9
    GE = 10
    LT = 11
    GT = 12
    LE = 13
    AL = 14

    def invert(self) -> Cond:
        """The opposite condition (AL has none)."""
        if self is Cond.AL:
            raise EncodingError("AL has no inverse condition")
        return Cond(self ^ 1)


class SRType(IntEnum):
    """Shift kinds of a shifted-register operand (A7.4.2)."""

    LSL = 0
    LSR = 1
    ASR = 2
    ROR = 3


class Shift(NamedTuple):
    """A constant shift applied to the second register operand."""

    kind: SRType
    amount: int


def _reg(name: str, reg: object, allowed: frozenset[int], what: str) -> int:
    number = as_int(name, reg)
    if number not in allowed:
        shown = REG_NAMES[number] if 0 <= number < 16 else str(number)
        raise EncodingError(f"{name} = {shown}: this form allows only {what}")
    return number


def _low(name: str, reg: object) -> int:
    return _reg(name, reg, _LOW, "r0-r7")


def _general(name: str, reg: object) -> int:
    return _reg(name, reg, _GENERAL, "r0-r12 and lr (SP/PC are UNPREDICTABLE)")


def _not_pc(name: str, reg: object) -> int:
    return _reg(name, reg, _NOT_PC, "r0-r12, sp, lr")


def _t16(halfword: int) -> bytes:
    return halfword.to_bytes(2, "little")


def _t32(hw1: int, hw2: int) -> bytes:
    return hw1.to_bytes(2, "little") + hw2.to_bytes(2, "little")


def _cond(name: str, cond: object) -> int:
    """A condition for a conditional branch: AL is a separate encoding there."""
    return check_range(name, cond, 0, 13)


def _shift_fields(shift: Shift | None) -> tuple[int, int, int]:
    """(type, imm3, imm2) of a shifted-register operand (DecodeImmShift, A7.4.2)."""
    if shift is None:
        return 0, 0, 0
    kind = SRType(shift.kind)
    if kind is SRType.LSL:
        amount = check_range("LSL amount", shift.amount, 0, 31)
    elif kind is SRType.ROR:  # ROR #0 is RRX
        amount = check_range("ROR amount", shift.amount, 1, 31)
    else:  # LSR/ASR #32 are encoded as 0
        amount = check_range(f"{kind.name} amount", shift.amount, 1, 32) & 31
    return kind, amount >> 2, amount & 3


def _reglist(name: str, registers: Iterable[int], allowed: frozenset[int], what: str) -> int:
    mask = 0
    for reg in registers:
        number = _reg(name, reg, allowed, what)
        if mask >> number & 1:
            raise EncodingError(f"{name}: {REG_NAMES[number]} is listed twice")
        mask |= 1 << number
    if not mask:
        raise EncodingError(f"{name}: the register list is empty")
    return mask


def _lowest(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


# ----------------------------------------------------------------------------------------
# Typed immediates
# ----------------------------------------------------------------------------------------


def thumb_expand_imm(imm12: int) -> int:
    """The 32-bit constant an `i:imm3:imm8` field stands for (A5.3.2, ThumbExpandImm)."""
    imm12 = unsigned_field("imm12", imm12, 12)
    imm8 = imm12 & 0xFF
    if imm12 >> 10 == 0:
        pattern = imm12 >> 8
        if pattern and not imm8:
            raise EncodingError(f"imm12 = {imm12:#x} is UNPREDICTABLE (zero pattern byte)")
        return (imm8, imm8 * 0x00010001, imm8 * 0x01000100, imm8 * 0x01010101)[pattern]
    unrotated = 0x80 | (imm12 & 0x7F)
    rotation = imm12 >> 7
    return ((unrotated >> rotation) | (unrotated << (32 - rotation))) & 0xFFFFFFFF


def _mod_imm12(value: int) -> int | None:
    """The `i:imm3:imm8` field for `value`, or None when no modified immediate gives it."""
    if value <= 0xFF:
        return value
    low = value & 0xFF
    second = (value >> 8) & 0xFF
    if low and value == low * 0x00010001:
        return 0x100 | low
    if second and value == second * 0x01000100:
        return 0x200 | second
    if low and value == low * 0x01010101:
        return 0x300 | low
    for rotation in range(8, 32):  # value = ROR('1':bcdefgh, rotation)
        unrotated = ((value << rotation) | (value >> (32 - rotation))) & 0xFFFFFFFF
        if 0x80 <= unrotated <= 0xFF:
            return (rotation << 7) | (unrotated & 0x7F)
    return None


class ThumbModImm:
    """A 32-bit constant expressible as a Thumb modified immediate (A5.3.2): an 8-bit value,
    one of the byte patterns 00XY00XY / XY00XY00 / XYXYXYXY, or an 8-bit value with its top
    bit set rotated right by 8..31. `value` is the constant (0 <= value < 2**32), `imm12` the
    `i:imm3:imm8` field."""

    __slots__ = ("value", "imm12")

    def __init__(self, value: int):
        number = check_range("modified immediate", value, 0, 0xFFFFFFFF)
        imm12 = _mod_imm12(number)
        if imm12 is None:
            raise EncodingError(f"{number:#x} is not a Thumb modified immediate constant")
        self.value = number
        self.imm12 = imm12

    @classmethod
    def fits(cls, value: int) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 0 <= value <= 0xFFFFFFFF
            and _mod_imm12(value) is not None
        )

    @classmethod
    def try_encode(cls, value: int) -> ThumbModImm | None:
        """An instance when `value` is a modified immediate, else None."""
        return cls(value) if cls.fits(value) else None

    def __index__(self) -> int:
        return self.value

    def __int__(self) -> int:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ThumbModImm) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("ThumbModImm", self.value))

    def __repr__(self) -> str:
        return f"ThumbModImm({self.value:#x})"


def _mod_imm(value: ThumbModImm | int) -> ThumbModImm:
    return value if isinstance(value, ThumbModImm) else ThumbModImm(as_int("imm", value))


class Imm12(FieldImm):
    """0..4095: ADDW/SUBW, the imm12 loads and stores, ADR.W magnitudes."""

    BITS = 12


class Imm8(FieldImm):
    """0..255: MOVS/CMP/ADDS/SUBS imm8, the magnitude of the P/U/W imm8 loads and stores."""

    BITS = 8


class Imm16(FieldImm):
    """0..65535: MOVW/MOVT halves."""

    BITS = 16


class Imm3(FieldImm):
    """0..7: ADDS/SUBS imm3."""

    BITS = 3


class WordOffset5(FieldImm):
    """0..124 in steps of 4: LDR/STR imm5 byte offsets."""

    BITS = 5
    SCALE = 4


class HalfOffset5(FieldImm):
    """0..62 in steps of 2: LDRH/STRH imm5 byte offsets."""

    BITS = 5
    SCALE = 2


class ByteOffset5(FieldImm):
    """0..31: LDRB/STRB imm5 byte offsets."""

    BITS = 5


class SPOffset8(FieldImm):
    """0..1020 in steps of 4: SP-relative LDR/STR, ADD Rd, SP, #imm."""

    BITS = 8
    SCALE = 4


class SPAdjust7(FieldImm):
    """0..508 in steps of 4: 16-bit ADD/SUB SP, SP, #imm."""

    BITS = 7
    SCALE = 4


# ----------------------------------------------------------------------------------------
# 16-bit: shift (immediate), add, subtract, move, compare (A5.2.1)
# ----------------------------------------------------------------------------------------


def _shift_imm16(opcode: int, rd: int, rm: int, imm5: int) -> bytes:
    return _t16(opcode << 11 | imm5 << 6 | _low("Rm", rm) << 3 | _low("Rd", rd))


def t1_lsls_imm(rd: int, rm: int, amount: int) -> bytes:
    """A7.7.68 LSL (immediate) T1: `LSLS <Rd>, <Rm>, #1..31` (#0 is MOVS, `t2_movs_reg`)."""
    return _shift_imm16(0b00, rd, rm, check_range("amount", amount, 1, 31))


def t1_lsrs_imm(rd: int, rm: int, amount: int) -> bytes:
    """A7.7.70 LSR (immediate) T1: `LSRS <Rd>, <Rm>, #1..32`."""
    return _shift_imm16(0b01, rd, rm, check_range("amount", amount, 1, 32) & 31)


def t1_asrs_imm(rd: int, rm: int, amount: int) -> bytes:
    """A7.7.10 ASR (immediate) T1: `ASRS <Rd>, <Rm>, #1..32`."""
    return _shift_imm16(0b10, rd, rm, check_range("amount", amount, 1, 32) & 31)


def t2_movs_reg(rd: int, rm: int) -> bytes:
    """A7.7.77 MOV (register) T2: `MOVS <Rd>, <Rm>` (low registers, sets N and Z)."""
    return _shift_imm16(0b00, rd, rm, 0)


def _add_sub_reg16(opc: int, rd: int, rn: int, rm: int) -> bytes:
    return _t16(
        0b0001100 << 9 | opc << 9 | _low("Rm", rm) << 6 | _low("Rn", rn) << 3 | _low("Rd", rd)
    )


def t1_adds_reg(rd: int, rn: int, rm: int) -> bytes:
    """A7.7.4 ADD (register) T1: `ADDS <Rd>, <Rn>, <Rm>` (low registers)."""
    return _add_sub_reg16(0, rd, rn, rm)


def t1_subs_reg(rd: int, rn: int, rm: int) -> bytes:
    """A7.7.175 SUB (register) T1: `SUBS <Rd>, <Rn>, <Rm>` (low registers)."""
    return _add_sub_reg16(1, rd, rn, rm)


def _add_sub_imm3(opc: int, rd: int, rn: int, imm: int) -> bytes:
    imm3 = unsigned_field("imm3", imm, 3)
    return _t16(0b0001110 << 9 | opc << 9 | imm3 << 6 | _low("Rn", rn) << 3 | _low("Rd", rd))


def t1_adds_imm3(rd: int, rn: int, imm: int) -> bytes:
    """A7.7.3 ADD (immediate) T1: `ADDS <Rd>, <Rn>, #0..7`."""
    return _add_sub_imm3(0, rd, rn, imm)


def t1_subs_imm3(rd: int, rn: int, imm: int) -> bytes:
    """A7.7.174 SUB (immediate) T1: `SUBS <Rd>, <Rn>, #0..7`."""
    return _add_sub_imm3(1, rd, rn, imm)


def _imm8_16(opcode: int, rd: int, imm: int) -> bytes:
    return _t16(opcode << 11 | _low("Rd", rd) << 8 | unsigned_field("imm8", imm, 8))


def t1_movs_imm8(rd: int, imm: int) -> bytes:
    """A7.7.76 MOV (immediate) T1: `MOVS <Rd>, #0..255`."""
    return _imm8_16(0b00100, rd, imm)


def t1_cmp_imm8(rn: int, imm: int) -> bytes:
    """A7.7.27 CMP (immediate) T1: `CMP <Rn>, #0..255`."""
    return _imm8_16(0b00101, rn, imm)


def t2_adds_imm8(rdn: int, imm: int) -> bytes:
    """A7.7.3 ADD (immediate) T2: `ADDS <Rdn>, #0..255`."""
    return _imm8_16(0b00110, rdn, imm)


def t2_subs_imm8(rdn: int, imm: int) -> bytes:
    """A7.7.174 SUB (immediate) T2: `SUBS <Rdn>, #0..255`."""
    return _imm8_16(0b00111, rdn, imm)


# ----------------------------------------------------------------------------------------
# 16-bit data processing (A5.2.2): `<op>S <Rdn>, <Rm>` on low registers
# ----------------------------------------------------------------------------------------


def _dp16(opcode: int, rdn: int, rm: int, rdn_name: str = "Rdn") -> bytes:
    return _t16(0b010000 << 10 | opcode << 6 | _low("Rm", rm) << 3 | _low(rdn_name, rdn))


def t1_ands_reg(rdn: int, rm: int) -> bytes:
    """A7.7.9 AND (register) T1: `ANDS <Rdn>, <Rm>`."""
    return _dp16(0b0000, rdn, rm)


def t1_eors_reg(rdn: int, rm: int) -> bytes:
    """A7.7.36 EOR (register) T1: `EORS <Rdn>, <Rm>`."""
    return _dp16(0b0001, rdn, rm)


def t1_lsls_reg(rdn: int, rm: int) -> bytes:
    """A7.7.69 LSL (register) T1: `LSLS <Rdn>, <Rm>` (amount = Rm[7:0])."""
    return _dp16(0b0010, rdn, rm)


def t1_lsrs_reg(rdn: int, rm: int) -> bytes:
    """A7.7.71 LSR (register) T1: `LSRS <Rdn>, <Rm>`."""
    return _dp16(0b0011, rdn, rm)


def t1_asrs_reg(rdn: int, rm: int) -> bytes:
    """A7.7.11 ASR (register) T1: `ASRS <Rdn>, <Rm>`."""
    return _dp16(0b0100, rdn, rm)


def t1_adcs_reg(rdn: int, rm: int) -> bytes:
    """A7.7.2 ADC (register) T1: `ADCS <Rdn>, <Rm>`."""
    return _dp16(0b0101, rdn, rm)


def t1_sbcs_reg(rdn: int, rm: int) -> bytes:
    """A7.7.125 SBC (register) T1: `SBCS <Rdn>, <Rm>`."""
    return _dp16(0b0110, rdn, rm)


def t1_rors_reg(rdn: int, rm: int) -> bytes:
    """A7.7.117 ROR (register) T1: `RORS <Rdn>, <Rm>`."""
    return _dp16(0b0111, rdn, rm)


def t1_tst_reg(rn: int, rm: int) -> bytes:
    """A7.7.189 TST (register) T1: `TST <Rn>, <Rm>`."""
    return _dp16(0b1000, rn, rm, "Rn")


def t1_rsbs_imm(rd: int, rn: int) -> bytes:
    """A7.7.119 RSB (immediate) T1: `RSBS <Rd>, <Rn>, #0` (NEGS; the immediate is always 0)."""
    return _t16(0b0100001001 << 6 | _low("Rn", rn) << 3 | _low("Rd", rd))


def t1_cmp_reg(rn: int, rm: int) -> bytes:
    """A7.7.28 CMP (register) T1: `CMP <Rn>, <Rm>` (low registers)."""
    return _dp16(0b1010, rn, rm, "Rn")


def t1_cmn_reg(rn: int, rm: int) -> bytes:
    """A7.7.26 CMN (register) T1: `CMN <Rn>, <Rm>`."""
    return _dp16(0b1011, rn, rm, "Rn")


def t1_orrs_reg(rdn: int, rm: int) -> bytes:
    """A7.7.92 ORR (register) T1: `ORRS <Rdn>, <Rm>`."""
    return _dp16(0b1100, rdn, rm)


def t1_muls(rdm: int, rn: int) -> bytes:
    """A7.7.84 MUL T1: `MULS <Rdm>, <Rn>, <Rdm>` (the destination is also a source)."""
    return _t16(0b0100001101 << 6 | _low("Rn", rn) << 3 | _low("Rdm", rdm))


def t1_bics_reg(rdn: int, rm: int) -> bytes:
    """A7.7.16 BIC (register) T1: `BICS <Rdn>, <Rm>`."""
    return _dp16(0b1110, rdn, rm)


def t1_mvns_reg(rd: int, rm: int) -> bytes:
    """A7.7.86 MVN (register) T1: `MVNS <Rd>, <Rm>`."""
    return _dp16(0b1111, rd, rm, "Rd")


# ----------------------------------------------------------------------------------------
# 16-bit special data processing and branch/exchange (A5.2.3)
# ----------------------------------------------------------------------------------------


def t2_add_reg(rdn: int, rm: int) -> bytes:
    """A7.7.4 ADD (register) T2: `ADD <Rdn>, <Rm>`, any registers but PC, flags untouched.
    With SP as either operand this is A7.7.6 ADD (SP plus register) T1/T2 (same bits)."""
    rdn = _not_pc("Rdn", rdn)
    rm = _not_pc("Rm", rm)
    return _t16(0b01000100 << 8 | (rdn >> 3) << 7 | rm << 3 | (rdn & 7))


def t2_cmp_reg(rn: int, rm: int) -> bytes:
    """A7.7.28 CMP (register) T2: `CMP <Rn>, <Rm>` with at least one high register
    (two low ones are UNPREDICTABLE here: use T1)."""
    rn = _not_pc("Rn", rn)
    rm = _not_pc("Rm", rm)
    if rn < 8 and rm < 8:
        raise EncodingError("CMP T2 needs a high register (two low ones are UNPREDICTABLE)")
    return _t16(0b01000101 << 8 | (rn >> 3) << 7 | rm << 3 | (rn & 7))


def t1_mov_reg(rd: int, rm: int) -> bytes:
    """A7.7.77 MOV (register) T1: `MOV <Rd>, <Rm>`, any registers but PC, flags untouched."""
    rd = _not_pc("Rd", rd)
    rm = _not_pc("Rm", rm)
    return _t16(0b01000110 << 8 | (rd >> 3) << 7 | rm << 3 | (rd & 7))


def t1_bx(rm: int) -> bytes:
    """A7.7.20 BX T1: `BX <Rm>` (bit 0 of Rm must be 1: Thumb state)."""
    return _t16(0b010001110 << 7 | _not_pc("Rm", rm) << 3)


def t1_blx_reg(rm: int) -> bytes:
    """A7.7.19 BLX (register) T1: `BLX <Rm>` (Rm = PC is UNPREDICTABLE)."""
    return _t16(0b010001111 << 7 | _not_pc("Rm", rm) << 3)


# ----------------------------------------------------------------------------------------
# 16-bit loads and stores (A5.2.4)
# ----------------------------------------------------------------------------------------


def t1_ldr_lit(rt: int, imm: int) -> bytes:
    """A7.7.44 LDR (literal) T1: `LDR <Rt>, [PC, #0..1020]` (word-aligned PC base)."""
    return _t16(0b01001 << 11 | _low("Rt", rt) << 8 | unsigned_field("imm", imm, 8, 4))


def _ldst_reg16(opb: int, rt: int, rn: int, rm: int) -> bytes:
    return _t16(
        0b0101 << 12 | opb << 9 | _low("Rm", rm) << 6 | _low("Rn", rn) << 3 | _low("Rt", rt)
    )


def t1_str_reg(rt: int, rn: int, rm: int) -> bytes:
    """A7.7.162 STR (register) T1: `STR <Rt>, [<Rn>, <Rm>]`."""
    return _ldst_reg16(0b000, rt, rn, rm)


def t1_strh_reg(rt: int, rn: int, rm: int) -> bytes:
    """A7.7.171 STRH (register) T1: `STRH <Rt>, [<Rn>, <Rm>]`."""
    return _ldst_reg16(0b001, rt, rn, rm)


def t1_strb_reg(rt: int, rn: int, rm: int) -> bytes:
    """A7.7.164 STRB (register) T1: `STRB <Rt>, [<Rn>, <Rm>]`."""
    return _ldst_reg16(0b010, rt, rn, rm)


def t1_ldrsb_reg(rt: int, rn: int, rm: int) -> bytes:
    """A7.7.61 LDRSB (register) T1: `LDRSB <Rt>, [<Rn>, <Rm>]`."""
    return _ldst_reg16(0b011, rt, rn, rm)


def t1_ldr_reg(rt: int, rn: int, rm: int) -> bytes:
    """A7.7.45 LDR (register) T1: `LDR <Rt>, [<Rn>, <Rm>]`."""
    return _ldst_reg16(0b100, rt, rn, rm)


def t1_ldrh_reg(rt: int, rn: int, rm: int) -> bytes:
    """A7.7.57 LDRH (register) T1: `LDRH <Rt>, [<Rn>, <Rm>]`."""
    return _ldst_reg16(0b101, rt, rn, rm)


def t1_ldrb_reg(rt: int, rn: int, rm: int) -> bytes:
    """A7.7.48 LDRB (register) T1: `LDRB <Rt>, [<Rn>, <Rm>]`."""
    return _ldst_reg16(0b110, rt, rn, rm)


def t1_ldrsh_reg(rt: int, rn: int, rm: int) -> bytes:
    """A7.7.65 LDRSH (register) T1: `LDRSH <Rt>, [<Rn>, <Rm>]`."""
    return _ldst_reg16(0b111, rt, rn, rm)


def _ldst_imm5(opcode: int, rt: int, rn: int, imm: int, scale: int) -> bytes:
    imm5 = unsigned_field("offset", imm, 5, scale)
    return _t16(opcode << 11 | imm5 << 6 | _low("Rn", rn) << 3 | _low("Rt", rt))


def t1_str_imm5(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.161 STR (immediate) T1: `STR <Rt>, [<Rn>, #0..124]` (multiple of 4)."""
    return _ldst_imm5(0b01100, rt, rn, offset, 4)


def t1_ldr_imm5(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.43 LDR (immediate) T1: `LDR <Rt>, [<Rn>, #0..124]` (multiple of 4)."""
    return _ldst_imm5(0b01101, rt, rn, offset, 4)


def t1_strb_imm5(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.163 STRB (immediate) T1: `STRB <Rt>, [<Rn>, #0..31]`."""
    return _ldst_imm5(0b01110, rt, rn, offset, 1)


def t1_ldrb_imm5(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.46 LDRB (immediate) T1: `LDRB <Rt>, [<Rn>, #0..31]`."""
    return _ldst_imm5(0b01111, rt, rn, offset, 1)


def t1_strh_imm5(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.170 STRH (immediate) T1: `STRH <Rt>, [<Rn>, #0..62]` (even)."""
    return _ldst_imm5(0b10000, rt, rn, offset, 2)


def t1_ldrh_imm5(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.55 LDRH (immediate) T1: `LDRH <Rt>, [<Rn>, #0..62]` (even)."""
    return _ldst_imm5(0b10001, rt, rn, offset, 2)


def t2_str_sp_imm8(rt: int, offset: int) -> bytes:
    """A7.7.161 STR (immediate) T2: `STR <Rt>, [SP, #0..1020]` (multiple of 4)."""
    return _t16(0b10010 << 11 | _low("Rt", rt) << 8 | unsigned_field("offset", offset, 8, 4))


def t2_ldr_sp_imm8(rt: int, offset: int) -> bytes:
    """A7.7.43 LDR (immediate) T2: `LDR <Rt>, [SP, #0..1020]` (multiple of 4)."""
    return _t16(0b10011 << 11 | _low("Rt", rt) << 8 | unsigned_field("offset", offset, 8, 4))


# ----------------------------------------------------------------------------------------
# 16-bit PC/SP-relative address generation and miscellaneous (A5.2.5)
# ----------------------------------------------------------------------------------------


def t1_adr(rd: int, imm: int) -> bytes:
    """A7.7.7 ADR T1: `ADR <Rd>, <label>` = Align(PC, 4) + 0..1020 (multiple of 4)."""
    return _t16(0b10100 << 11 | _low("Rd", rd) << 8 | unsigned_field("imm", imm, 8, 4))


def t1_add_sp_imm8(rd: int, imm: int) -> bytes:
    """A7.7.5 ADD (SP plus immediate) T1: `ADD <Rd>, SP, #0..1020` (multiple of 4)."""
    return _t16(0b10101 << 11 | _low("Rd", rd) << 8 | unsigned_field("imm", imm, 8, 4))


def t2_add_sp_imm7(imm: int) -> bytes:
    """A7.7.5 ADD (SP plus immediate) T2: `ADD SP, SP, #0..508` (multiple of 4)."""
    return _t16(0b101100000 << 7 | unsigned_field("imm", imm, 7, 4))


def t1_sub_sp_imm7(imm: int) -> bytes:
    """A7.7.176 SUB (SP minus immediate) T1: `SUB SP, SP, #0..508` (multiple of 4)."""
    return _t16(0b101100001 << 7 | unsigned_field("imm", imm, 7, 4))


def _cb(op: int, rn: int, imm: int) -> bytes:
    field = unsigned_field("imm", imm, 6, 2)
    return _t16(
        0b1011 << 12 | op << 11 | (field >> 5) << 9 | 1 << 8 | (field & 31) << 3 | _low("Rn", rn)
    )


def t1_cbz(rn: int, imm: int) -> bytes:
    """A7.7.21 CBZ T1: `CBZ <Rn>, <label>`, label = PC + 0..126 (even, forward only).
    Not allowed inside an IT block."""
    return _cb(0, rn, imm)


def t1_cbnz(rn: int, imm: int) -> bytes:
    """A7.7.21 CBNZ T1: `CBNZ <Rn>, <label>`, label = PC + 0..126 (even, forward only)."""
    return _cb(1, rn, imm)


def _extend16(opc: int, rd: int, rm: int) -> bytes:
    return _t16(0b1011001000 << 6 | opc << 6 | _low("Rm", rm) << 3 | _low("Rd", rd))


def t1_sxth(rd: int, rm: int) -> bytes:
    """A7.7.184 SXTH T1: `SXTH <Rd>, <Rm>` (low registers)."""
    return _extend16(0b00, rd, rm)


def t1_sxtb(rd: int, rm: int) -> bytes:
    """A7.7.182 SXTB T1: `SXTB <Rd>, <Rm>` (low registers)."""
    return _extend16(0b01, rd, rm)


def t1_uxth(rd: int, rm: int) -> bytes:
    """A7.7.223 UXTH T1: `UXTH <Rd>, <Rm>` (low registers)."""
    return _extend16(0b10, rd, rm)


def t1_uxtb(rd: int, rm: int) -> bytes:
    """A7.7.221 UXTB T1: `UXTB <Rd>, <Rm>` (low registers)."""
    return _extend16(0b11, rd, rm)


def t1_push(registers: Iterable[int]) -> bytes:
    """A7.7.101 PUSH T1: `PUSH {<registers>}`, r0-r7 and LR."""
    mask = _reglist("registers", registers, _LOW | {LR}, "r0-r7 and lr")
    return _t16(0b1011010 << 9 | (mask >> LR & 1) << 8 | (mask & 0xFF))


def t1_pop(registers: Iterable[int]) -> bytes:
    """A7.7.99 POP T1: `POP {<registers>}`, r0-r7 and PC."""
    mask = _reglist("registers", registers, _LOW | {PC}, "r0-r7 and pc")
    return _t16(0b1011110 << 9 | (mask >> PC & 1) << 8 | (mask & 0xFF))


def _rev16(opc: int, rd: int, rm: int) -> bytes:
    return _t16(0b1011101000 << 6 | opc << 6 | _low("Rm", rm) << 3 | _low("Rd", rd))


def t1_rev(rd: int, rm: int) -> bytes:
    """A7.7.113 REV T1: `REV <Rd>, <Rm>` (byte-reverse a word; low registers)."""
    return _rev16(0b00, rd, rm)


def t1_rev16(rd: int, rm: int) -> bytes:
    """A7.7.114 REV16 T1: `REV16 <Rd>, <Rm>` (byte-reverse each halfword)."""
    return _rev16(0b01, rd, rm)


def t1_revsh(rd: int, rm: int) -> bytes:
    """A7.7.115 REVSH T1: `REVSH <Rd>, <Rm>` (byte-reverse the low halfword, sign-extend)."""
    return _rev16(0b11, rd, rm)


def t1_bkpt(imm: int) -> bytes:
    """A7.7.17 BKPT T1: `BKPT #0..255`."""
    return _t16(0b10111110 << 8 | unsigned_field("imm8", imm, 8))


def t1_it(firstcond: int, pattern: str = "") -> bytes:
    """A7.7.38 IT T1: `IT{x{y{z}}} <firstcond>`. `pattern` gives the then/else of the 2nd to
    4th instruction ("", "T", "E", "TT", "TE", ... up to three letters). An AL block cannot
    have else slots (their condition would be NV)."""
    cond = check_range("firstcond", firstcond, 0, 14)
    if len(pattern) > 3 or any(letter not in "TE" for letter in pattern.upper()):
        raise EncodingError(f"IT pattern {pattern!r}: up to three of T and E")
    if cond == Cond.AL and "E" in pattern.upper():
        raise EncodingError("an IT AL block cannot have else instructions")
    mask = 0
    for position, letter in enumerate(pattern.upper()):
        then_bit = cond & 1 if letter == "T" else (cond & 1) ^ 1
        mask |= then_bit << (3 - position)
    mask |= 1 << (3 - len(pattern))
    return _t16(0b10111111 << 8 | cond << 4 | mask)


def t1_nop() -> bytes:
    """A7.7.88 NOP T1: `NOP` (16-bit)."""
    return _t16(0xBF00)


# ----------------------------------------------------------------------------------------
# 16-bit load/store multiple, conditional branch, UDF, unconditional branch
# ----------------------------------------------------------------------------------------


def t1_stm(rn: int, registers: Iterable[int]) -> bytes:
    """A7.7.159 STM T1: `STM <Rn>!, {<registers>}` (low registers, always writes back;
    Rn in the list stores an UNKNOWN value unless it is the lowest one)."""
    rn = _low("Rn", rn)
    mask = _reglist("registers", registers, _LOW, "r0-r7")
    if mask >> rn & 1 and _lowest(mask) != rn:
        raise EncodingError("STM T1: Rn in the list must be its lowest register")
    return _t16(0b11000 << 11 | rn << 8 | mask)


def t1_ldm(rn: int, registers: Iterable[int], writeback: bool) -> bytes:
    """A7.7.41 LDM T1: `LDM <Rn>{!}, {<registers>}` (low registers). The encoding has no W
    bit: it writes back exactly when Rn is not in the list, so `writeback` must agree."""
    rn = _low("Rn", rn)
    mask = _reglist("registers", registers, _LOW, "r0-r7")
    if bool(writeback) == bool(mask >> rn & 1):
        raise EncodingError("LDM T1 writes back iff Rn is not in the list")
    return _t16(0b11001 << 11 | rn << 8 | mask)


def t1_b_cond(cond: int, imm: int) -> bytes:
    """A7.7.12 B T1: `B<c> <label>`, label = PC + -256..254 (even). Not in an IT block."""
    cond = _cond("cond", cond)
    return _t16(0b1101 << 12 | cond << 8 | signed_field("imm", imm, 8, 2))


def t1_udf(imm: int) -> bytes:
    """A7.7.194 UDF T1: `UDF #0..255` (permanently undefined: a trap)."""
    return _t16(0b11011110 << 8 | unsigned_field("imm8", imm, 8))


def t2_b(imm: int) -> bytes:
    """A7.7.12 B T2: `B <label>`, label = PC + -2048..2046 (even)."""
    return _t16(0b11100 << 11 | signed_field("imm", imm, 11, 2))


# ----------------------------------------------------------------------------------------
# 32-bit load/store multiple, dual (A5.3.5, A5.3.6)
# ----------------------------------------------------------------------------------------


def _ldstm32(
    op: int, load: bool, rn: int, registers: Iterable[int], writeback: bool, name: str
) -> bytes:
    rn = _not_pc("Rn", rn)
    if load:
        mask = _reglist("registers", registers, _GENERAL | {PC}, "r0-r12, lr, pc")
        if mask >> LR & 1 and mask >> PC & 1:
            raise EncodingError(f"{name}: LR and PC together are UNPREDICTABLE")
    else:
        mask = _reglist("registers", registers, _GENERAL, "r0-r12 and lr")
    if mask.bit_count() < 2:
        raise EncodingError(f"{name}: fewer than two registers are UNPREDICTABLE")
    if writeback and mask >> rn & 1:
        raise EncodingError(f"{name}: write-back with Rn in the list is UNPREDICTABLE")
    hw1 = 0b1110100 << 9 | op << 7 | int(bool(writeback)) << 5 | int(load) << 4 | rn
    return _t32(hw1, mask)


def t2_stm(rn: int, registers: Iterable[int], writeback: bool = True) -> bytes:
    """A7.7.159 STM T2: `STM.W <Rn>{!}, {<registers>}` (increment after; two or more of
    r0-r12, lr)."""
    return _ldstm32(0b01, False, rn, registers, writeback, "STM.W")


def t2_ldm(rn: int, registers: Iterable[int], writeback: bool = True) -> bytes:
    """A7.7.41 LDM T2: `LDM.W <Rn>{!}, {<registers>}` (increment after; two or more of
    r0-r12, lr, pc, not both lr and pc). With SP! this is POP.W."""
    return _ldstm32(0b01, True, rn, registers, writeback, "LDM.W")


def t1_stmdb(rn: int, registers: Iterable[int], writeback: bool = True) -> bytes:
    """A7.7.160 STMDB T1: `STMDB <Rn>{!}, {<registers>}` (decrement before). With SP! this
    is PUSH.W."""
    return _ldstm32(0b10, False, rn, registers, writeback, "STMDB")


def t1_ldmdb(rn: int, registers: Iterable[int], writeback: bool = True) -> bytes:
    """A7.7.42 LDMDB T1: `LDMDB <Rn>{!}, {<registers>}` (decrement before)."""
    return _ldstm32(0b10, True, rn, registers, writeback, "LDMDB")


def t2_push(registers: Iterable[int]) -> bytes:
    """A7.7.101 PUSH T2: `PUSH.W {<registers>}`, two or more of r0-r12, lr."""
    return _ldstm32(0b10, False, SP, registers, True, "PUSH.W")


def t2_pop(registers: Iterable[int]) -> bytes:
    """A7.7.99 POP T2: `POP.W {<registers>}`, two or more of r0-r12, lr, pc (not lr and pc)."""
    return _ldstm32(0b01, True, SP, registers, True, "POP.W")


def t3_push(rt: int) -> bytes:
    """A7.7.101 PUSH T3: `PUSH.W {<Rt>}` = `STR <Rt>, [SP, #-4]!` (one register)."""
    return _t32(0xF84D, _general("Rt", rt) << 12 | 0xD04)


def t3_pop(rt: int) -> bytes:
    """A7.7.99 POP T3: `POP.W {<Rt>}` = `LDR <Rt>, [SP], #4` (one register, PC allowed)."""
    return _t32(0xF85D, _reg("Rt", rt, _GENERAL | {PC}, "r0-r12, lr, pc") << 12 | 0xB04)


def _ldstrd(load: bool, rt: int, rt2: int, rn: int, offset: int, index: bool, wback: bool) -> bytes:
    name = "LDRD" if load else "STRD"
    rt = _general("Rt", rt)
    rt2 = _general("Rt2", rt2)
    rn = _not_pc("Rn", rn)
    if not index and not wback:
        raise EncodingError(
            f"{name}: post-indexing always writes back (P=0 W=0 is another instruction)"
        )
    if load and rt == rt2:
        raise EncodingError("LDRD with Rt == Rt2 is UNPREDICTABLE")
    if wback and rn in (rt, rt2):
        raise EncodingError(f"{name}: write-back to a transferred register is UNPREDICTABLE")
    offset = check_range("offset", offset, -1020, 1020, 4)
    add = offset >= 0
    hw1 = (
        0b1110100 << 9
        | int(bool(index)) << 8
        | int(add) << 7
        | 1 << 6
        | int(bool(wback)) << 5
        | int(load) << 4
        | rn
    )
    return _t32(hw1, rt << 12 | rt2 << 8 | abs(offset) >> 2)


def t1_ldrd_imm(
    rt: int, rt2: int, rn: int, offset: int = 0, *, index: bool = True, wback: bool = False
) -> bytes:
    """A7.7.50 LDRD (immediate) T1: `LDRD <Rt>, <Rt2>, [<Rn>, #+/-0..1020]` (multiple of 4),
    pre-indexed with optional write-back (`index`, `wback`) or post-indexed (`index=False`)."""
    return _ldstrd(True, rt, rt2, rn, offset, index, wback)


def t1_strd_imm(
    rt: int, rt2: int, rn: int, offset: int = 0, *, index: bool = True, wback: bool = False
) -> bytes:
    """A7.7.166 STRD (immediate) T1: `STRD <Rt>, <Rt2>, [<Rn>, #+/-0..1020]` (multiple of 4)."""
    return _ldstrd(False, rt, rt2, rn, offset, index, wback)


# ----------------------------------------------------------------------------------------
# 32-bit data processing, modified immediate (A5.3.1)
# ----------------------------------------------------------------------------------------


def _dp_mod(op: int, setflags: bool, rn: int, rd: int, imm: ThumbModImm | int) -> bytes:
    imm12 = _mod_imm(imm).imm12
    hw1 = 0b11110 << 11 | (imm12 >> 11) << 10 | op << 5 | int(bool(setflags)) << 4 | rn
    return _t32(hw1, bits(imm12, 10, 8) << 12 | rd << 8 | (imm12 & 0xFF))


def t1_and_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.8 AND (immediate) T1: `AND{S}.W <Rd>, <Rn>, #<const>`."""
    return _dp_mod(0b0000, setflags, _general("Rn", rn), _general("Rd", rd), imm)


def t1_tst_imm(rn: int, imm: ThumbModImm | int) -> bytes:
    """A7.7.188 TST (immediate) T1: `TST <Rn>, #<const>`."""
    return _dp_mod(0b0000, True, _general("Rn", rn), PC, imm)


def t1_bic_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.15 BIC (immediate) T1: `BIC{S} <Rd>, <Rn>, #<const>`."""
    return _dp_mod(0b0001, setflags, _general("Rn", rn), _general("Rd", rd), imm)


def t1_orr_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.91 ORR (immediate) T1: `ORR{S} <Rd>, <Rn>, #<const>`."""
    return _dp_mod(0b0010, setflags, _general("Rn", rn), _general("Rd", rd), imm)


def t2_mov_imm(rd: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.76 MOV (immediate) T2: `MOV{S}.W <Rd>, #<const>`."""
    return _dp_mod(0b0010, setflags, PC, _general("Rd", rd), imm)


def t1_orn_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.89 ORN (immediate) T1: `ORN{S} <Rd>, <Rn>, #<const>` (Rn | ~const)."""
    return _dp_mod(0b0011, setflags, _general("Rn", rn), _general("Rd", rd), imm)


def t1_mvn_imm(rd: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.85 MVN (immediate) T1: `MVN{S} <Rd>, #<const>` (Rd = ~const)."""
    return _dp_mod(0b0011, setflags, PC, _general("Rd", rd), imm)


def t1_eor_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.35 EOR (immediate) T1: `EOR{S} <Rd>, <Rn>, #<const>`."""
    return _dp_mod(0b0100, setflags, _general("Rn", rn), _general("Rd", rd), imm)


def t1_teq_imm(rn: int, imm: ThumbModImm | int) -> bytes:
    """A7.7.186 TEQ (immediate) T1: `TEQ <Rn>, #<const>`."""
    return _dp_mod(0b0100, True, _general("Rn", rn), PC, imm)


def _sp_form_rd(rd: int, rn: int) -> int:
    """Rd of ADD/SUB with an immediate: SP is allowed only when Rn is SP (the SP forms)."""
    return _not_pc("Rd", rd) if rn == SP else _general("Rd", rd)


def t3_add_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.3 ADD (immediate) T3: `ADD{S}.W <Rd>, <Rn>, #<const>`. Rn = SP gives A7.7.5
    ADD (SP plus immediate) T3, where Rd may be SP too."""
    rn = _not_pc("Rn", rn)
    return _dp_mod(0b1000, setflags, rn, _sp_form_rd(rd, rn), imm)


def t1_cmn_imm(rn: int, imm: ThumbModImm | int) -> bytes:
    """A7.7.25 CMN (immediate) T1: `CMN <Rn>, #<const>`."""
    return _dp_mod(0b1000, True, _not_pc("Rn", rn), PC, imm)


def t1_adc_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.1 ADC (immediate) T1: `ADC{S} <Rd>, <Rn>, #<const>`."""
    return _dp_mod(0b1010, setflags, _general("Rn", rn), _general("Rd", rd), imm)


def t1_sbc_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.124 SBC (immediate) T1: `SBC{S} <Rd>, <Rn>, #<const>`."""
    return _dp_mod(0b1011, setflags, _general("Rn", rn), _general("Rd", rd), imm)


def t3_sub_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.174 SUB (immediate) T3: `SUB{S}.W <Rd>, <Rn>, #<const>`. Rn = SP gives A7.7.176
    SUB (SP minus immediate) T2, where Rd may be SP too."""
    rn = _not_pc("Rn", rn)
    return _dp_mod(0b1101, setflags, rn, _sp_form_rd(rd, rn), imm)


def t2_cmp_imm(rn: int, imm: ThumbModImm | int) -> bytes:
    """A7.7.27 CMP (immediate) T2: `CMP.W <Rn>, #<const>`."""
    return _dp_mod(0b1101, True, _not_pc("Rn", rn), PC, imm)


def t2_rsb_imm(rd: int, rn: int, imm: ThumbModImm | int, setflags: bool = False) -> bytes:
    """A7.7.119 RSB (immediate) T2: `RSB{S}.W <Rd>, <Rn>, #<const>` (const - Rn)."""
    return _dp_mod(0b1110, setflags, _general("Rn", rn), _general("Rd", rd), imm)


# ----------------------------------------------------------------------------------------
# 32-bit data processing, plain binary immediate (A5.3.3)
# ----------------------------------------------------------------------------------------


def _plain_imm(op: int, rn: int, rd: int, imm12: int) -> bytes:
    hw1 = 0b11110 << 11 | (imm12 >> 11) << 10 | 1 << 9 | op << 4 | rn
    return _t32(hw1, bits(imm12, 10, 8) << 12 | rd << 8 | (imm12 & 0xFF))


def t4_addw_imm12(rd: int, rn: int, imm: int) -> bytes:
    """A7.7.3 ADD (immediate) T4: `ADDW <Rd>, <Rn>, #0..4095` (no flags). Rn = SP gives
    A7.7.5 ADD (SP plus immediate) T4, where Rd may be SP; Rn = PC is ADR (`t3_adr`)."""
    rn = _not_pc("Rn", rn)
    return _plain_imm(0b00000, rn, _sp_form_rd(rd, rn), unsigned_field("imm12", imm, 12))


def t4_subw_imm12(rd: int, rn: int, imm: int) -> bytes:
    """A7.7.174 SUB (immediate) T4: `SUBW <Rd>, <Rn>, #0..4095` (no flags). Rn = SP gives
    A7.7.176 SUB (SP minus immediate) T3; Rn = PC is ADR (`t2_adr`)."""
    rn = _not_pc("Rn", rn)
    return _plain_imm(0b01010, rn, _sp_form_rd(rd, rn), unsigned_field("imm12", imm, 12))


def t3_adr(rd: int, imm: int) -> bytes:
    """A7.7.7 ADR T3: `ADR.W <Rd>, <label>` = Align(PC, 4) + 0..4095 (`ADDW Rd, PC, #imm`)."""
    return _plain_imm(0b00000, PC, _general("Rd", rd), unsigned_field("imm", imm, 12))


def t2_adr(rd: int, imm: int) -> bytes:
    """A7.7.7 ADR T2: `ADR.W <Rd>, <label>` = Align(PC, 4) - 0..4095 (`SUBW Rd, PC, #imm`);
    `imm` is the (non-positive) displacement."""
    magnitude = -check_range("imm", imm, -4095, 0)
    return _plain_imm(0b01010, PC, _general("Rd", rd), magnitude)


def t3_movw(rd: int, imm: int) -> bytes:
    """A7.7.76 MOV (immediate) T3: `MOVW <Rd>, #0..65535` (zero-extends)."""
    imm16 = unsigned_field("imm16", imm, 16)
    return _plain_imm(0b00100, imm16 >> 12, _general("Rd", rd), imm16 & 0xFFF)


def t1_movt(rd: int, imm: int) -> bytes:
    """A7.7.79 MOVT T1: `MOVT <Rd>, #0..65535` (writes the top halfword only)."""
    imm16 = unsigned_field("imm16", imm, 16)
    return _plain_imm(0b01100, imm16 >> 12, _general("Rd", rd), imm16 & 0xFFF)


def _bitfield(op: int, rd: int, rn: int, lsb: int, last: int) -> bytes:
    """`last` is widthm1 (SBFX/UBFX) or msb (BFI/BFC)."""
    hw1 = 0b11110011 << 8 | op << 4 | rn
    return _t32(hw1, (lsb >> 2) << 12 | rd << 8 | (lsb & 3) << 6 | last)


def _lsb_width(lsb: int, width: int) -> tuple[int, int]:
    lsb = check_range("lsb", lsb, 0, 31)
    width = check_range("width", width, 1, 32 - lsb)
    return lsb, width


def t1_usat(rd: int, sat: int, rn: int, shift: Shift | None = None) -> bytes:
    """A7.7.213 USAT T1: `USAT <Rd>, #0..31, <Rn>{, LSL #1..31 | ASR #1..31}`: Rn (signed)
    clamped to [0, 2^sat - 1]."""
    sat = check_range("sat", sat, 0, 31)
    sh, amount = 0, 0
    if shift is not None:
        kind = SRType(shift.kind)
        if kind not in (SRType.LSL, SRType.ASR):
            raise EncodingError("USAT shifts by LSL or ASR only")
        amount = check_range(f"{kind.name} amount", shift.amount, 1, 31)
        sh = 1 if kind is SRType.ASR else 0
    hw1 = 0b11110011100 << 5 | sh << 5 | _general("Rn", rn)
    return _t32(hw1, (amount >> 2) << 12 | _general("Rd", rd) << 8 | (amount & 3) << 6 | sat)


def t1_sbfx(rd: int, rn: int, lsb: int, width: int) -> bytes:
    """A7.7.126 SBFX T1: `SBFX <Rd>, <Rn>, #<lsb>, #<width>` (signed bit-field extract)."""
    lsb, width = _lsb_width(lsb, width)
    return _bitfield(0b0100, _general("Rd", rd), _general("Rn", rn), lsb, width - 1)


def t1_bfi(rd: int, rn: int, lsb: int, width: int) -> bytes:
    """A7.7.14 BFI T1: `BFI <Rd>, <Rn>, #<lsb>, #<width>` (insert Rn's low bits)."""
    lsb, width = _lsb_width(lsb, width)
    return _bitfield(0b0110, _general("Rd", rd), _general("Rn", rn), lsb, lsb + width - 1)


def t1_bfc(rd: int, lsb: int, width: int) -> bytes:
    """A7.7.13 BFC T1: `BFC <Rd>, #<lsb>, #<width>` (clear a bit-field)."""
    lsb, width = _lsb_width(lsb, width)
    return _bitfield(0b0110, _general("Rd", rd), PC, lsb, lsb + width - 1)


def t1_ubfx(rd: int, rn: int, lsb: int, width: int) -> bytes:
    """A7.7.193 UBFX T1: `UBFX <Rd>, <Rn>, #<lsb>, #<width>` (unsigned bit-field extract)."""
    lsb, width = _lsb_width(lsb, width)
    return _bitfield(0b1100, _general("Rd", rd), _general("Rn", rn), lsb, width - 1)


# ----------------------------------------------------------------------------------------
# 32-bit data processing, shifted register (A5.3.11)
# ----------------------------------------------------------------------------------------


def _dp_shifted(op: int, setflags: bool, rn: int, rd: int, rm: int, shift: Shift | None) -> bytes:
    kind, imm3, imm2 = _shift_fields(shift)
    hw1 = 0b11101010 << 8 | op << 5 | int(bool(setflags)) << 4 | rn
    return _t32(hw1, imm3 << 12 | rd << 8 | imm2 << 6 | kind << 4 | rm)


def _three_general(rd: int, rn: int, rm: int) -> tuple[int, int, int]:
    return _general("Rd", rd), _general("Rn", rn), _general("Rm", rm)


def t2_and_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.9 AND (register) T2: `AND{S}.W <Rd>, <Rn>, <Rm>{, <shift>}`."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _dp_shifted(0b0000, setflags, rn, rd, rm, shift)


def t2_tst_reg(rn: int, rm: int, shift: Shift | None = None) -> bytes:
    """A7.7.189 TST (register) T2: `TST.W <Rn>, <Rm>{, <shift>}`."""
    return _dp_shifted(0b0000, True, _general("Rn", rn), PC, _general("Rm", rm), shift)


def t2_bic_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.16 BIC (register) T2: `BIC{S}.W <Rd>, <Rn>, <Rm>{, <shift>}`."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _dp_shifted(0b0001, setflags, rn, rd, rm, shift)


def t2_orr_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.92 ORR (register) T2: `ORR{S}.W <Rd>, <Rn>, <Rm>{, <shift>}`."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _dp_shifted(0b0010, setflags, rn, rd, rm, shift)


def t3_mov_reg(rd: int, rm: int, setflags: bool = False) -> bytes:
    """A7.7.77 MOV (register) T3: `MOV{S}.W <Rd>, <Rm>` (SP/PC refused: use T1 for SP)."""
    return _dp_shifted(0b0010, setflags, PC, _general("Rd", rd), _general("Rm", rm), None)


def _shift_imm32(kind: SRType, rd: int, rm: int, amount: int, setflags: bool) -> bytes:
    return _dp_shifted(
        0b0010, setflags, PC, _general("Rd", rd), _general("Rm", rm), Shift(kind, amount)
    )


def t2_lsl_imm(rd: int, rm: int, amount: int, setflags: bool = False) -> bytes:
    """A7.7.68 LSL (immediate) T2: `LSL{S}.W <Rd>, <Rm>, #1..31` (#0 is MOV.W)."""
    return _shift_imm32(SRType.LSL, rd, rm, check_range("amount", amount, 1, 31), setflags)


def t2_lsr_imm(rd: int, rm: int, amount: int, setflags: bool = False) -> bytes:
    """A7.7.70 LSR (immediate) T2: `LSR{S}.W <Rd>, <Rm>, #1..32`."""
    return _shift_imm32(SRType.LSR, rd, rm, amount, setflags)


def t2_asr_imm(rd: int, rm: int, amount: int, setflags: bool = False) -> bytes:
    """A7.7.10 ASR (immediate) T2: `ASR{S}.W <Rd>, <Rm>, #1..32`."""
    return _shift_imm32(SRType.ASR, rd, rm, amount, setflags)


def t1_ror_imm(rd: int, rm: int, amount: int, setflags: bool = False) -> bytes:
    """A7.7.116 ROR (immediate) T1: `ROR{S} <Rd>, <Rm>, #1..31` (#0 is RRX)."""
    return _shift_imm32(SRType.ROR, rd, rm, amount, setflags)


def t1_orn_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.90 ORN (register) T1: `ORN{S} <Rd>, <Rn>, <Rm>{, <shift>}` (Rn | ~Rm)."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _dp_shifted(0b0011, setflags, rn, rd, rm, shift)


def t2_mvn_reg(rd: int, rm: int, shift: Shift | None = None, setflags: bool = False) -> bytes:
    """A7.7.86 MVN (register) T2: `MVN{S}.W <Rd>, <Rm>{, <shift>}`."""
    return _dp_shifted(0b0011, setflags, PC, _general("Rd", rd), _general("Rm", rm), shift)


def t2_eor_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.36 EOR (register) T2: `EOR{S}.W <Rd>, <Rn>, <Rm>{, <shift>}`."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _dp_shifted(0b0100, setflags, rn, rd, rm, shift)


def t1_teq_reg(rn: int, rm: int, shift: Shift | None = None) -> bytes:
    """A7.7.187 TEQ (register) T1: `TEQ <Rn>, <Rm>{, <shift>}`."""
    return _dp_shifted(0b0100, True, _general("Rn", rn), PC, _general("Rm", rm), shift)


def _sp_reg_form(rd: int, rn: int, rm: int, shift: Shift | None) -> tuple[int, int, int]:
    """Registers of ADD/SUB (register): Rn = SP is the SP form, where Rd = SP needs a
    shift of LSL #0..3."""
    rn = _not_pc("Rn", rn)
    rm = _general("Rm", rm)
    if rn != SP:
        return _general("Rd", rd), rn, rm
    rd = _not_pc("Rd", rd)
    if rd == SP and shift is not None and (shift.kind != SRType.LSL or shift.amount > 3):
        raise EncodingError("SP = SP +/- Rm allows only LSL #0..3")
    return rd, rn, rm


def t3_add_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.4 ADD (register) T3: `ADD{S}.W <Rd>, <Rn>, <Rm>{, <shift>}`. Rn = SP gives
    A7.7.6 ADD (SP plus register) T3."""
    rd, rn, rm = _sp_reg_form(rd, rn, rm, shift)
    return _dp_shifted(0b1000, setflags, rn, rd, rm, shift)


def t2_cmn_reg(rn: int, rm: int, shift: Shift | None = None) -> bytes:
    """A7.7.26 CMN (register) T2: `CMN.W <Rn>, <Rm>{, <shift>}`."""
    return _dp_shifted(0b1000, True, _not_pc("Rn", rn), PC, _general("Rm", rm), shift)


def t2_adc_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.2 ADC (register) T2: `ADC{S}.W <Rd>, <Rn>, <Rm>{, <shift>}`."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _dp_shifted(0b1010, setflags, rn, rd, rm, shift)


def t2_sbc_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.125 SBC (register) T2: `SBC{S}.W <Rd>, <Rn>, <Rm>{, <shift>}`."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _dp_shifted(0b1011, setflags, rn, rd, rm, shift)


def t2_sub_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.175 SUB (register) T2: `SUB{S}.W <Rd>, <Rn>, <Rm>{, <shift>}`. Rn = SP gives
    A7.7.177 SUB (SP minus register) T1."""
    rd, rn, rm = _sp_reg_form(rd, rn, rm, shift)
    return _dp_shifted(0b1101, setflags, rn, rd, rm, shift)


def t3_cmp_reg(rn: int, rm: int, shift: Shift | None = None) -> bytes:
    """A7.7.28 CMP (register) T3: `CMP.W <Rn>, <Rm>{, <shift>}`."""
    return _dp_shifted(0b1101, True, _not_pc("Rn", rn), PC, _general("Rm", rm), shift)


def t1_rsb_reg(
    rd: int, rn: int, rm: int, shift: Shift | None = None, setflags: bool = False
) -> bytes:
    """A7.7.120 RSB (register) T1: `RSB{S} <Rd>, <Rn>, <Rm>{, <shift>}` (Rm - Rn)."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _dp_shifted(0b1110, setflags, rn, rd, rm, shift)


# ----------------------------------------------------------------------------------------
# 32-bit register-controlled shifts, extends, miscellaneous (A5.3.12, A5.3.13)
# ----------------------------------------------------------------------------------------


def _shift_reg32(kind: int, rd: int, rn: int, rm: int, setflags: bool) -> bytes:
    rd, rn, rm = _three_general(rd, rn, rm)
    return _t32(0xFA00 | kind << 5 | int(bool(setflags)) << 4 | rn, 0xF000 | rd << 8 | rm)


def t2_lsl_reg(rd: int, rn: int, rm: int, setflags: bool = False) -> bytes:
    """A7.7.69 LSL (register) T2: `LSL{S}.W <Rd>, <Rn>, <Rm>` (amount = Rm[7:0])."""
    return _shift_reg32(SRType.LSL, rd, rn, rm, setflags)


def t2_lsr_reg(rd: int, rn: int, rm: int, setflags: bool = False) -> bytes:
    """A7.7.71 LSR (register) T2: `LSR{S}.W <Rd>, <Rn>, <Rm>`."""
    return _shift_reg32(SRType.LSR, rd, rn, rm, setflags)


def t2_asr_reg(rd: int, rn: int, rm: int, setflags: bool = False) -> bytes:
    """A7.7.11 ASR (register) T2: `ASR{S}.W <Rd>, <Rn>, <Rm>`."""
    return _shift_reg32(SRType.ASR, rd, rn, rm, setflags)


def t2_ror_reg(rd: int, rn: int, rm: int, setflags: bool = False) -> bytes:
    """A7.7.117 ROR (register) T2: `ROR{S}.W <Rd>, <Rn>, <Rm>`."""
    return _shift_reg32(SRType.ROR, rd, rn, rm, setflags)


def _extend32(op: int, rd: int, rm: int, rotation: int) -> bytes:
    rotate = check_range("rotation", rotation, 0, 24, 8) >> 3
    return _t32(
        0xFA0F | op << 4, 0xF080 | _general("Rd", rd) << 8 | rotate << 4 | _general("Rm", rm)
    )


def t2_sxth(rd: int, rm: int, rotation: int = 0) -> bytes:
    """A7.7.184 SXTH T2: `SXTH.W <Rd>, <Rm>{, ROR #8|16|24}`."""
    return _extend32(0b000, rd, rm, rotation)


def t2_uxth(rd: int, rm: int, rotation: int = 0) -> bytes:
    """A7.7.223 UXTH T2: `UXTH.W <Rd>, <Rm>{, ROR #8|16|24}`."""
    return _extend32(0b001, rd, rm, rotation)


def t2_sxtb(rd: int, rm: int, rotation: int = 0) -> bytes:
    """A7.7.182 SXTB T2: `SXTB.W <Rd>, <Rm>{, ROR #8|16|24}`."""
    return _extend32(0b100, rd, rm, rotation)


def t2_uxtb(rd: int, rm: int, rotation: int = 0) -> bytes:
    """A7.7.221 UXTB T2: `UXTB.W <Rd>, <Rm>{, ROR #8|16|24}`."""
    return _extend32(0b101, rd, rm, rotation)


def _misc32(op1: int, op2: int, rd: int, rm: int) -> bytes:
    """Miscellaneous operations: Rm is encoded twice, and both copies must agree."""
    rd = _general("Rd", rd)
    rm = _general("Rm", rm)
    return _t32(0xFA80 | op1 << 4 | rm, 0xF080 | rd << 8 | op2 << 4 | rm)


def t2_rev(rd: int, rm: int) -> bytes:
    """A7.7.113 REV T2: `REV.W <Rd>, <Rm>`."""
    return _misc32(0b01, 0b00, rd, rm)


def t2_rev16(rd: int, rm: int) -> bytes:
    """A7.7.114 REV16 T2: `REV16.W <Rd>, <Rm>`."""
    return _misc32(0b01, 0b01, rd, rm)


def t2_revsh(rd: int, rm: int) -> bytes:
    """A7.7.115 REVSH T2: `REVSH.W <Rd>, <Rm>`."""
    return _misc32(0b01, 0b11, rd, rm)


def t1_clz(rd: int, rm: int) -> bytes:
    """A7.7.24 CLZ T1: `CLZ <Rd>, <Rm>` (count leading zeros; 32 for 0)."""
    return _misc32(0b11, 0b00, rd, rm)


# ----------------------------------------------------------------------------------------
# 32-bit multiply, multiply-accumulate, long multiply, divide (A5.3.16, A5.3.17)
# ----------------------------------------------------------------------------------------


def t2_mul(rd: int, rn: int, rm: int) -> bytes:
    """A7.7.84 MUL T2: `MUL <Rd>, <Rn>, <Rm>` (flags untouched)."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _t32(0xFB00 | rn, 0xF000 | rd << 8 | rm)


def t1_mla(rd: int, rn: int, rm: int, ra: int) -> bytes:
    """A7.7.74 MLA T1: `MLA <Rd>, <Rn>, <Rm>, <Ra>` (Ra + Rn * Rm)."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _t32(0xFB00 | rn, _general("Ra", ra) << 12 | rd << 8 | rm)


def t1_mls(rd: int, rn: int, rm: int, ra: int) -> bytes:
    """A7.7.75 MLS T1: `MLS <Rd>, <Rn>, <Rm>, <Ra>` (Ra - Rn * Rm)."""
    rd, rn, rm = _three_general(rd, rn, rm)
    return _t32(0xFB00 | rn, _general("Ra", ra) << 12 | rd << 8 | 0b0001 << 4 | rm)


def _long_mul(op1: int, rdlo: int, rdhi: int, rn: int, rm: int) -> bytes:
    rdlo = _general("RdLo", rdlo)
    rdhi = _general("RdHi", rdhi)
    if rdlo == rdhi:
        raise EncodingError("RdLo == RdHi is UNPREDICTABLE")
    return _t32(0xFB80 | op1 << 4 | _general("Rn", rn), rdlo << 12 | rdhi << 8 | _general("Rm", rm))


def t1_smull(rdlo: int, rdhi: int, rn: int, rm: int) -> bytes:
    """A7.7.149 SMULL T1: `SMULL <RdLo>, <RdHi>, <Rn>, <Rm>` (signed 32x32->64)."""
    return _long_mul(0b000, rdlo, rdhi, rn, rm)


def t1_umull(rdlo: int, rdhi: int, rn: int, rm: int) -> bytes:
    """A7.7.204 UMULL T1: `UMULL <RdLo>, <RdHi>, <Rn>, <Rm>` (unsigned 32x32->64)."""
    return _long_mul(0b010, rdlo, rdhi, rn, rm)


def t1_smlal(rdlo: int, rdhi: int, rn: int, rm: int) -> bytes:
    """A7.7.138 SMLAL T1: `SMLAL <RdLo>, <RdHi>, <Rn>, <Rm>` (RdHi:RdLo += signed product)."""
    return _long_mul(0b100, rdlo, rdhi, rn, rm)


def t1_umlal(rdlo: int, rdhi: int, rn: int, rm: int) -> bytes:
    """A7.7.203 UMLAL T1: `UMLAL <RdLo>, <RdHi>, <Rn>, <Rm>` (RdHi:RdLo += unsigned product)."""
    return _long_mul(0b110, rdlo, rdhi, rn, rm)


def _divide(op1: int, rd: int, rn: int, rm: int) -> bytes:
    rd, rn, rm = _three_general(rd, rn, rm)
    return _t32(0xFB80 | op1 << 4 | rn, 0xF0F0 | rd << 8 | rm)


def t1_sdiv(rd: int, rn: int, rm: int) -> bytes:
    """A7.7.127 SDIV T1: `SDIV <Rd>, <Rn>, <Rm>` (0 for a zero divisor unless DIV_0_TRP)."""
    return _divide(0b001, rd, rn, rm)


def t1_udiv(rd: int, rn: int, rm: int) -> bytes:
    """A7.7.195 UDIV T1: `UDIV <Rd>, <Rn>, <Rm>`."""
    return _divide(0b011, rd, rn, rm)


# ----------------------------------------------------------------------------------------
# 32-bit single loads and stores (A5.3.7 to A5.3.10)
# ----------------------------------------------------------------------------------------

# hw1 base (bits 15..4, Rn excluded) of the imm12 form; the imm8 and register forms clear
# bit 7 (0x0080). Byte and halfword forms refuse SP/PC as Rt (PC there means a hint).
_WORD_LOAD = 0xF8D0
_BYTE_LOAD = 0xF890
_HALF_LOAD = 0xF8B0
_SBYTE_LOAD = 0xF990
_SHALF_LOAD = 0xF9B0
_WORD_STORE = 0xF8C0
_BYTE_STORE = 0xF880
_HALF_STORE = 0xF8A0


def _rt_for(base: int, rt: int) -> int:
    """Rt of a single load/store: a word store may store SP; nothing may load SP, although
    the manual allows LDR to SP (Cortex-M3 erratum 752419: an interrupted load to SP can
    corrupt it; GNU as warns) and femtojit never needs it."""
    return _not_pc("Rt", rt) if base == _WORD_STORE else _general("Rt", rt)


def _ldst_imm12(base: int, rt: int, rn: int, offset: int) -> bytes:
    rt = _rt_for(base, rt)
    rn = _not_pc("Rn", rn)  # Rn = PC is the literal form for loads, UNDEFINED for stores
    return _t32(base | rn, rt << 12 | unsigned_field("offset", offset, 12))


def _ldst_imm8(base: int, rt: int, rn: int, offset: int, index: bool, wback: bool) -> bytes:
    rt = _rt_for(base, rt)
    rn = _not_pc("Rn", rn)
    offset = check_range("offset", offset, -255, 255)
    if not index and not wback:
        raise EncodingError("post-indexing always writes back (P=0 W=0 is UNDEFINED)")
    if index and not wback and offset >= 0:
        raise EncodingError(
            "[Rn, #+imm8] without write-back is the unprivileged (LDRT/STRT) "
            "encoding: use the imm12 form"
        )
    if wback and rn == rt:
        raise EncodingError("write-back with Rn == Rt is UNPREDICTABLE")
    hw2 = (
        rt << 12
        | 1 << 11
        | int(bool(index)) << 10
        | int(offset >= 0) << 9
        | int(bool(wback)) << 8
        | abs(offset)
    )
    return _t32((base & ~0x0080) | rn, hw2)


def _ldst_reg32(base: int, rt: int, rn: int, rm: int, lsl: int) -> bytes:
    rt = _rt_for(base, rt)
    rn = _not_pc("Rn", rn)
    imm2 = check_range("lsl", lsl, 0, 3)
    return _t32((base & ~0x0080) | rn, rt << 12 | imm2 << 4 | _general("Rm", rm))


def t3_ldr_imm12(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.43 LDR (immediate) T3: `LDR.W <Rt>, [<Rn>, #0..4095]`."""
    return _ldst_imm12(_WORD_LOAD, rt, rn, offset)


def t4_ldr_imm8(rt: int, rn: int, offset: int, *, index: bool = True, wback: bool = False) -> bytes:
    """A7.7.43 LDR (immediate) T4: `LDR <Rt>, [<Rn>, #-255..-1]`, `[<Rn>, #+/-imm8]!`
    (`wback`) or `[<Rn>], #+/-imm8` (`index=False`)."""
    return _ldst_imm8(_WORD_LOAD, rt, rn, offset, index, wback)


def t2_ldr_reg(rt: int, rn: int, rm: int, lsl: int = 0) -> bytes:
    """A7.7.45 LDR (register) T2: `LDR.W <Rt>, [<Rn>, <Rm>{, LSL #0..3}]`."""
    return _ldst_reg32(_WORD_LOAD, rt, rn, rm, lsl)


def t2_ldrb_imm12(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.46 LDRB (immediate) T2: `LDRB.W <Rt>, [<Rn>, #0..4095]`."""
    return _ldst_imm12(_BYTE_LOAD, rt, rn, offset)


def t3_ldrb_imm8(
    rt: int, rn: int, offset: int, *, index: bool = True, wback: bool = False
) -> bytes:
    """A7.7.46 LDRB (immediate) T3: `LDRB <Rt>, [<Rn>, #-255..-1]` and the indexed forms."""
    return _ldst_imm8(_BYTE_LOAD, rt, rn, offset, index, wback)


def t2_ldrb_reg(rt: int, rn: int, rm: int, lsl: int = 0) -> bytes:
    """A7.7.48 LDRB (register) T2: `LDRB.W <Rt>, [<Rn>, <Rm>{, LSL #0..3}]`."""
    return _ldst_reg32(_BYTE_LOAD, rt, rn, rm, lsl)


def t2_ldrh_imm12(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.55 LDRH (immediate) T2: `LDRH.W <Rt>, [<Rn>, #0..4095]`."""
    return _ldst_imm12(_HALF_LOAD, rt, rn, offset)


def t3_ldrh_imm8(
    rt: int, rn: int, offset: int, *, index: bool = True, wback: bool = False
) -> bytes:
    """A7.7.55 LDRH (immediate) T3: `LDRH <Rt>, [<Rn>, #-255..-1]` and the indexed forms."""
    return _ldst_imm8(_HALF_LOAD, rt, rn, offset, index, wback)


def t2_ldrh_reg(rt: int, rn: int, rm: int, lsl: int = 0) -> bytes:
    """A7.7.57 LDRH (register) T2: `LDRH.W <Rt>, [<Rn>, <Rm>{, LSL #0..3}]`."""
    return _ldst_reg32(_HALF_LOAD, rt, rn, rm, lsl)


def t1_ldrsb_imm12(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.59 LDRSB (immediate) T1: `LDRSB <Rt>, [<Rn>, #0..4095]`."""
    return _ldst_imm12(_SBYTE_LOAD, rt, rn, offset)


def t2_ldrsb_imm8(
    rt: int, rn: int, offset: int, *, index: bool = True, wback: bool = False
) -> bytes:
    """A7.7.59 LDRSB (immediate) T2: `LDRSB <Rt>, [<Rn>, #-255..-1]` and the indexed forms."""
    return _ldst_imm8(_SBYTE_LOAD, rt, rn, offset, index, wback)


def t2_ldrsb_reg(rt: int, rn: int, rm: int, lsl: int = 0) -> bytes:
    """A7.7.61 LDRSB (register) T2: `LDRSB.W <Rt>, [<Rn>, <Rm>{, LSL #0..3}]`."""
    return _ldst_reg32(_SBYTE_LOAD, rt, rn, rm, lsl)


def t1_ldrsh_imm12(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.63 LDRSH (immediate) T1: `LDRSH <Rt>, [<Rn>, #0..4095]`."""
    return _ldst_imm12(_SHALF_LOAD, rt, rn, offset)


def t2_ldrsh_imm8(
    rt: int, rn: int, offset: int, *, index: bool = True, wback: bool = False
) -> bytes:
    """A7.7.63 LDRSH (immediate) T2: `LDRSH <Rt>, [<Rn>, #-255..-1]` and the indexed forms."""
    return _ldst_imm8(_SHALF_LOAD, rt, rn, offset, index, wback)


def t2_ldrsh_reg(rt: int, rn: int, rm: int, lsl: int = 0) -> bytes:
    """A7.7.65 LDRSH (register) T2: `LDRSH.W <Rt>, [<Rn>, <Rm>{, LSL #0..3}]`."""
    return _ldst_reg32(_SHALF_LOAD, rt, rn, rm, lsl)


def t3_str_imm12(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.161 STR (immediate) T3: `STR.W <Rt>, [<Rn>, #0..4095]`."""
    return _ldst_imm12(_WORD_STORE, rt, rn, offset)


def t4_str_imm8(rt: int, rn: int, offset: int, *, index: bool = True, wback: bool = False) -> bytes:
    """A7.7.161 STR (immediate) T4: `STR <Rt>, [<Rn>, #-255..-1]` and the indexed forms."""
    return _ldst_imm8(_WORD_STORE, rt, rn, offset, index, wback)


def t2_str_reg(rt: int, rn: int, rm: int, lsl: int = 0) -> bytes:
    """A7.7.162 STR (register) T2: `STR.W <Rt>, [<Rn>, <Rm>{, LSL #0..3}]`."""
    return _ldst_reg32(_WORD_STORE, rt, rn, rm, lsl)


def t2_strb_imm12(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.163 STRB (immediate) T2: `STRB.W <Rt>, [<Rn>, #0..4095]`."""
    return _ldst_imm12(_BYTE_STORE, rt, rn, offset)


def t3_strb_imm8(
    rt: int, rn: int, offset: int, *, index: bool = True, wback: bool = False
) -> bytes:
    """A7.7.163 STRB (immediate) T3: `STRB <Rt>, [<Rn>, #-255..-1]` and the indexed forms."""
    return _ldst_imm8(_BYTE_STORE, rt, rn, offset, index, wback)


def t2_strb_reg(rt: int, rn: int, rm: int, lsl: int = 0) -> bytes:
    """A7.7.164 STRB (register) T2: `STRB.W <Rt>, [<Rn>, <Rm>{, LSL #0..3}]`."""
    return _ldst_reg32(_BYTE_STORE, rt, rn, rm, lsl)


def t2_strh_imm12(rt: int, rn: int, offset: int) -> bytes:
    """A7.7.170 STRH (immediate) T2: `STRH.W <Rt>, [<Rn>, #0..4095]`."""
    return _ldst_imm12(_HALF_STORE, rt, rn, offset)


def t3_strh_imm8(
    rt: int, rn: int, offset: int, *, index: bool = True, wback: bool = False
) -> bytes:
    """A7.7.170 STRH (immediate) T3: `STRH <Rt>, [<Rn>, #-255..-1]` and the indexed forms."""
    return _ldst_imm8(_HALF_STORE, rt, rn, offset, index, wback)


def t2_strh_reg(rt: int, rn: int, rm: int, lsl: int = 0) -> bytes:
    """A7.7.171 STRH (register) T2: `STRH.W <Rt>, [<Rn>, <Rm>{, LSL #0..3}]`."""
    return _ldst_reg32(_HALF_STORE, rt, rn, rm, lsl)


def t2_ldr_lit(rt: int, imm: int) -> bytes:
    """A7.7.44 LDR (literal) T2: `LDR.W <Rt>, [PC, #-4095..4095]` (word-aligned PC base)."""
    imm = check_range("imm", imm, -4095, 4095)
    return _t32(0xF85F | int(imm >= 0) << 7, _not_pc("Rt", rt) << 12 | abs(imm))


# ----------------------------------------------------------------------------------------
# 32-bit branches and miscellaneous control (A5.3.4)
# ----------------------------------------------------------------------------------------


def t3_b_cond(cond: int, imm: int) -> bytes:
    """A7.7.12 B T3: `B<c>.W <label>`, label = PC + -1048576..1048574 (even)."""
    cond = _cond("cond", cond)
    field = signed_field("imm", imm, 20, 2)  # S:J2:J1:imm6:imm11
    hw1 = 0xF000 | (field >> 19) << 10 | cond << 6 | bits(field, 16, 11)
    hw2 = 0x8000 | bits(field, 17, 17) << 13 | bits(field, 18, 18) << 11 | (field & 0x7FF)
    return _t32(hw1, hw2)


def _b_long(link: bool, imm: int) -> bytes:
    field = signed_field("imm", imm, 24, 2)  # S:I1:I2:imm10:imm11
    s = field >> 23
    j1 = (bits(field, 22, 22) ^ 1) ^ s  # I1 = NOT(J1 XOR S)
    j2 = (bits(field, 21, 21) ^ 1) ^ s
    hw1 = 0xF000 | s << 10 | bits(field, 20, 11)
    hw2 = 0x8000 | j1 << 13 | int(link) << 14 | 1 << 12 | j2 << 11 | (field & 0x7FF)
    return _t32(hw1, hw2)


def t4_b(imm: int) -> bytes:
    """A7.7.12 B T4: `B.W <label>`, label = PC + -16777216..16777214 (even)."""
    return _b_long(False, imm)


def t1_bl(imm: int) -> bytes:
    """A7.7.18 BL T1: `BL <label>`, label = PC + -16777216..16777214 (even)."""
    return _b_long(True, imm)


def t2_nop() -> bytes:
    """A7.7.88 NOP T2: `NOP.W` (32-bit, for padding to a word)."""
    return _t32(0xF3AF, 0x8000)


def t2_udf(imm: int) -> bytes:
    """A7.7.194 UDF T2: `UDF.W #0..65535` (permanently undefined: a trap)."""
    imm16 = unsigned_field("imm16", imm, 16)
    return _t32(0xF7F0 | imm16 >> 12, 0xA000 | (imm16 & 0xFFF))


# ----------------------------------------------------------------------------------------
# Label uses: each PC-relative form, with its reach and a rewrite that keeps the other fields
# ----------------------------------------------------------------------------------------


def _hw(code: bytes, index: int) -> int:
    return int.from_bytes(code[2 * index : 2 * index + 2], "little")


def _rewrite_b_t1(old: bytes, disp: int) -> bytes:
    return t1_b_cond(bits(_hw(old, 0), 11, 8), disp)


def _rewrite_b_t3(old: bytes, disp: int) -> bytes:
    return t3_b_cond(bits(_hw(old, 0), 9, 6), disp)


def _rewrite_cb(old: bytes, disp: int) -> bytes:
    halfword = _hw(old, 0)
    return _cb(bits(halfword, 11, 11), halfword & 7, disp)


def _rewrite_ldr_lit_t2(old: bytes, disp: int) -> bytes:
    return t2_ldr_lit(bits(_hw(old, 1), 15, 12), disp)


def _rewrite_adr_w(old: bytes, disp: int) -> bytes:
    rd = bits(_hw(old, 1), 11, 8)
    return t3_adr(rd, disp) if disp >= 0 else t2_adr(rd, disp)


def _thumb_use(
    name: str, size: int, low: int, high: int, align: int, rewrite, pc_align: int = 1
) -> LabelUse:
    return LabelUse(
        name, size, low, high, align, pc_bias=4, pc_align=pc_align, code_align=2, rewrite=rewrite
    )


#: `B<c>` T1 (16-bit conditional branch, +-256 B).
B_T1 = _thumb_use("B<c> T1", 2, -256, 254, 2, _rewrite_b_t1)
#: `B` T2 (16-bit unconditional branch, +-2 KiB).
B_T2 = _thumb_use("B T2", 2, -2048, 2046, 2, lambda old, disp: t2_b(disp))
#: `B<c>.W` T3 (32-bit conditional branch, +-1 MiB).
B_T3 = _thumb_use("B<c>.W T3", 4, -(1 << 20), (1 << 20) - 2, 2, _rewrite_b_t3)
#: `B.W` T4 (32-bit unconditional branch, +-16 MiB).
B_T4 = _thumb_use("B.W T4", 4, -(1 << 24), (1 << 24) - 2, 2, lambda old, disp: t4_b(disp))
#: `BL` T1 (call, +-16 MiB).
BL_T1 = _thumb_use("BL", 4, -(1 << 24), (1 << 24) - 2, 2, lambda old, disp: t1_bl(disp))
#: `CBZ`/`CBNZ` (0..126 B forward; the rewrite keeps which one and the register).
CBZ_T1 = _thumb_use("CB{N}Z", 2, 0, 126, 2, _rewrite_cb)
#: `LDR <Rt>, <label>` T1 (0..1020 B from the word-aligned PC, word-aligned literal).
LDR_LIT_T1 = _thumb_use(
    "LDR (literal) T1",
    2,
    0,
    1020,
    4,
    lambda old, disp: t1_ldr_lit(bits(_hw(old, 0), 10, 8), disp),
    pc_align=4,
)
#: `LDR.W <Rt>, <label>` T2 (+-4095 B from the word-aligned PC).
LDR_LIT_T2 = _thumb_use("LDR (literal) T2", 4, -4095, 4095, 1, _rewrite_ldr_lit_t2, pc_align=4)
#: `ADR <Rd>, <label>` T1 (0..1020 B from the word-aligned PC, word-aligned target).
ADR_T1 = _thumb_use(
    "ADR T1",
    2,
    0,
    1020,
    4,
    lambda old, disp: t1_adr(bits(_hw(old, 0), 10, 8), disp),
    pc_align=4,
)
#: `ADR.W <Rd>, <label>`: T3 (add) or T2 (subtract), chosen by the sign (+-4095 B).
ADR_W = _thumb_use("ADR.W T2/T3", 4, -4095, 4095, 1, _rewrite_adr_w, pc_align=4)

LABEL_USES = (B_T1, B_T2, B_T3, B_T4, BL_T1, CBZ_T1, LDR_LIT_T1, LDR_LIT_T2, ADR_T1, ADR_W)
