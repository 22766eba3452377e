"""Choosing the encoding of one operation: 16-bit forms wherever legal, else 32-bit ones.

Each function returns the instruction bytes, or None when no single instruction does the job
(the caller then puts the immediate in a scratch register). `flags` says what the caller
needs from the condition flags:

- ANY: the instruction may set or keep them (16-bit data-processing forms set them outside
  IT blocks, which is fine when nothing reads them afterwards);
- SET: the flags must be those of the operation (ADDS for a carry chain, SUBS for a borrow);
- KEEP: the flags must not change (between a flag-setting instruction and its reader).

Nothing here is used inside an IT block, where 16-bit forms do not set the flags.
"""

from __future__ import annotations

from femtojit.backends.armv7m import encode as E
from femtojit.backends.armv7m.encode import SP, Shift, SRType, ThumbModImm

ANY, SET, KEEP = "any", "set", "keep"
M32 = 0xFFFFFFFF


def low(*regs: int) -> bool:
    return all(r < 8 for r in regs)


def modimm(value: int) -> bool:
    return ThumbModImm.fits(value & M32)


# ---- constants ---------------------------------------------------------------------------


def mov_imm(rd: int, value: int, flags: str = ANY) -> bytes | None:
    """rd := value in one instruction, or None (the caller uses the literal pool)."""
    value &= M32
    if flags == ANY and rd < 8 and value <= 0xFF:
        return E.t1_movs_imm8(rd, value)
    if modimm(value):
        return E.t2_mov_imm(rd, value)
    if modimm(~value & M32):
        return E.t1_mvn_imm(rd, ~value & M32)
    if value <= 0xFFFF:
        return E.t3_movw(rd, value)
    return None


def mov_reg(rd: int, rm: int) -> bytes:
    """rd := rm, flags untouched (MOV T1, 16-bit, any registers)."""
    return E.t1_mov_reg(rd, rm)


# ---- add / subtract with an immediate ----------------------------------------------------


def add_imm(rd: int, rn: int, value: int, flags: str = ANY) -> bytes | None:
    """rd := rn + value. With SET the carry is the carry of that addition."""
    value &= M32
    neg = -value & M32
    if flags != KEEP and low(rd, rn) and rn != SP:
        if value <= 7:
            return E.t1_adds_imm3(rd, rn, value)
        if rd == rn and value <= 0xFF:
            return E.t2_adds_imm8(rd, value)
        if flags == ANY:
            if neg <= 7:
                return E.t1_subs_imm3(rd, rn, neg)
            if rd == rn and neg <= 0xFF:
                return E.t2_subs_imm8(rd, neg)
    if modimm(value):
        return E.t3_add_imm(rd, rn, value, setflags=flags == SET)
    if flags != SET:
        if modimm(neg):
            return E.t3_sub_imm(rd, rn, neg)
        if value <= 0xFFF:
            return E.t4_addw_imm12(rd, rn, value)
        if neg <= 0xFFF:
            return E.t4_subw_imm12(rd, rn, neg)
    return None


def sub_imm(rd: int, rn: int, value: int, flags: str = ANY) -> bytes | None:
    """rd := rn - value. With SET the carry is SUBS's (no borrow)."""
    value &= M32
    if flags == SET:
        if low(rd, rn):
            if value <= 7:
                return E.t1_subs_imm3(rd, rn, value)
            if rd == rn and value <= 0xFF:
                return E.t2_subs_imm8(rd, value)
        if modimm(value):
            return E.t3_sub_imm(rd, rn, value, setflags=True)
        return None
    return add_imm(rd, rn, -value & M32, flags)


# ---- other data processing ---------------------------------------------------------------

_MOD_IMM = {
    "and": E.t1_and_imm,
    "or": E.t1_orr_imm,
    "xor": E.t1_eor_imm,
}


def logic_imm(op: str, rd: int, rn: int, value: int, flags: str = ANY) -> bytes | None:
    """and / or / xor with an immediate. SET: N and Z of the result (C is not meaningful)."""
    value &= M32
    setflags = flags == SET
    if modimm(value):
        return _MOD_IMM[op](rd, rn, value, setflags=setflags)
    inverse = ~value & M32
    if op == "or" and modimm(inverse):
        return E.t1_orn_imm(rd, rn, inverse, setflags=setflags)
    if op == "and" and modimm(inverse):
        return E.t1_bic_imm(rd, rn, inverse, setflags=setflags)
    if setflags:
        return None
    if op == "and":
        if value == 0xFF:
            return E.t1_uxtb(rd, rn) if low(rd, rn) else E.t2_uxtb(rd, rn)
        if value == 0xFFFF:
            return E.t1_uxth(rd, rn) if low(rd, rn) else E.t2_uxth(rd, rn)
        if value and value & (value + 1) == 0:  # 2**k - 1
            return E.t1_ubfx(rd, rn, 0, value.bit_length())
        if rd == rn and inverse and inverse & (inverse + (inverse & -inverse)) == 0:
            lsb = (inverse & -inverse).bit_length() - 1  # one run of zeros: clear it
            return E.t1_bfc(rd, lsb, inverse.bit_length() - lsb)
    return None


_REG16_COMMUTATIVE = {"and": E.t1_ands_reg, "or": E.t1_orrs_reg, "xor": E.t1_eors_reg,
                      "adc": E.t1_adcs_reg}
_REG16 = {"sbc": E.t1_sbcs_reg, "shl": E.t1_lsls_reg, "lshr": E.t1_lsrs_reg,
          "ashr": E.t1_asrs_reg, "bic": E.t1_bics_reg}
_REG32 = {"and": E.t2_and_reg, "or": E.t2_orr_reg, "xor": E.t2_eor_reg, "adc": E.t2_adc_reg,
          "sbc": E.t2_sbc_reg, "bic": E.t2_bic_reg, "sub": E.t2_sub_reg, "add": E.t3_add_reg,
          "rsb": E.t1_rsb_reg}
_SHIFT32 = {"shl": E.t2_lsl_reg, "lshr": E.t2_lsr_reg, "ashr": E.t2_asr_reg}


def reg_op(op: str, rd: int, rn: int, rm: int, flags: str = ANY) -> bytes | None:
    """rd := rn <op> rm for add sub rsb and or xor bic adc sbc mul shl lshr ashr.
    Register shifts use rm[7:0] (the caller masks the amount). None only for a flag-setting
    mul that has no 16-bit form."""
    s16 = flags != KEEP and low(rd, rn, rm)
    if op == "add":
        if s16:
            return E.t1_adds_reg(rd, rn, rm)
        if flags != SET and rd == rn:
            return E.t2_add_reg(rd, rm)
        if flags != SET and rd == rm:
            return E.t2_add_reg(rd, rn)
        return E.t3_add_reg(rd, rn, rm, setflags=flags == SET)
    if op == "sub":
        if s16:
            return E.t1_subs_reg(rd, rn, rm)
        return E.t2_sub_reg(rd, rn, rm, setflags=flags == SET)
    if op == "mul":
        if flags != KEEP and low(rd, rn, rm) and rd in (rn, rm):
            return E.t1_muls(rd, rm if rd == rn else rn)
        return None if flags == SET else E.t2_mul(rd, rn, rm)
    if op in _REG16_COMMUTATIVE and s16 and rd in (rn, rm):
        return _REG16_COMMUTATIVE[op](rd, rm if rd == rn else rn)
    if op in _REG16 and s16 and rd == rn:
        return _REG16[op](rd, rm)
    if op in _SHIFT32:
        return _SHIFT32[op](rd, rn, rm, setflags=flags == SET)
    return _REG32[op](rd, rn, rm, setflags=flags == SET)


def shift_imm(op: str, rd: int, rn: int, amount: int, flags: str = ANY) -> bytes:
    """rd := rn shl/lshr/ashr amount (0..31; 0 is a move). SET: N and Z of the result."""
    amount &= 31
    setflags = flags == SET
    if amount == 0:
        if flags != KEEP and low(rd, rn):
            return E.t2_movs_reg(rd, rn)
        return E.t3_mov_reg(rd, rn, setflags=True) if setflags else E.t1_mov_reg(rd, rn)
    if flags != KEEP and low(rd, rn):
        return {"shl": E.t1_lsls_imm, "lshr": E.t1_lsrs_imm, "ashr": E.t1_asrs_imm}[op](
            rd, rn, amount)
    return {"shl": E.t2_lsl_imm, "lshr": E.t2_lsr_imm, "ashr": E.t2_asr_imm}[op](
        rd, rn, amount, setflags=setflags)


def cmp_imm(rn: int, value: int) -> bytes | None:
    """Flags of rn - value (as CMP), or None."""
    value &= M32
    if rn < 8 and value <= 0xFF:
        return E.t1_cmp_imm8(rn, value)
    if modimm(value):
        return E.t2_cmp_imm(rn, value)
    neg = -value & M32
    if value not in (0, 0x8000_0000) and modimm(neg):
        return E.t1_cmn_imm(rn, neg)  # same N Z C V as CMP for these values
    return None


def cmp_reg(rn: int, rm: int) -> bytes:
    if low(rn, rm):
        return E.t1_cmp_reg(rn, rm)
    return E.t2_cmp_reg(rn, rm)


def tst_imm(rn: int, value: int) -> bytes | None:
    return E.t1_tst_imm(rn, value) if modimm(value) else None


def tst_reg(rn: int, rm: int) -> bytes:
    return E.t1_tst_reg(rn, rm) if low(rn, rm) else E.t2_tst_reg(rn, rm)


def add_shifted(rd: int, rn: int, rm: int, lsl: int) -> bytes:
    """rd := rn + (rm << lsl), flags untouched."""
    return E.t3_add_reg(rd, rn, rm, Shift(SRType.LSL, lsl))


# ---- loads and stores --------------------------------------------------------------------

_LDST16 = {  # kind: (encoder, scale, max offset)
    "ldr": (E.t1_ldr_imm5, 4, 124),
    "str": (E.t1_str_imm5, 4, 124),
    "ldrh": (E.t1_ldrh_imm5, 2, 62),
    "strh": (E.t1_strh_imm5, 2, 62),
    "ldrb": (E.t1_ldrb_imm5, 1, 31),
    "strb": (E.t1_strb_imm5, 1, 31),
}
_LDST12 = {
    "ldr": E.t3_ldr_imm12, "str": E.t3_str_imm12, "ldrh": E.t2_ldrh_imm12,
    "strh": E.t2_strh_imm12, "ldrb": E.t2_ldrb_imm12, "strb": E.t2_strb_imm12,
    "ldrsh": E.t1_ldrsh_imm12, "ldrsb": E.t1_ldrsb_imm12,
}
_LDST8 = {
    "ldr": E.t4_ldr_imm8, "str": E.t4_str_imm8, "ldrh": E.t3_ldrh_imm8,
    "strh": E.t3_strh_imm8, "ldrb": E.t3_ldrb_imm8, "strb": E.t3_strb_imm8,
    "ldrsh": E.t2_ldrsh_imm8, "ldrsb": E.t2_ldrsb_imm8,
}


def ldst(kind: str, rt: int, rn: int, offset: int) -> bytes | None:
    """`kind rt, [rn, #offset]` (kind: ldr str ldrh strh ldrb strb ldrsh ldrsb), or None."""
    if rn == SP and kind in ("ldr", "str") and rt < 8 and 0 <= offset <= 1020 and offset % 4 == 0:
        return (E.t2_ldr_sp_imm8 if kind == "ldr" else E.t2_str_sp_imm8)(rt, offset)
    if kind in _LDST16 and rn != SP and low(rt, rn):
        encoder, scale, top = _LDST16[kind]
        if 0 <= offset <= top and offset % scale == 0:
            return encoder(rt, rn, offset)
    if 0 <= offset <= 0xFFF:
        return _LDST12[kind](rt, rn, offset)
    if -0xFF <= offset < 0:
        return _LDST8[kind](rt, rn, offset)
    return None


LOAD_KIND = {(4, False): "ldr", (2, False): "ldrh", (1, False): "ldrb", (2, True): "ldrsh",
             (1, True): "ldrsb", (4, True): "ldr"}
STORE_KIND = {4: "str", 2: "strh", 1: "strb"}
