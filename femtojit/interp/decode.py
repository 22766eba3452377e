"""Decode a Program once into flat numpy arrays for the numba core.

Everything the core would otherwise recompute on every execution is settled here: the
operation kind (see kinds.py), immediates already sign-extended to 64 bits or cut to 32,
shift immediates already masked, LDDW/LDDWD/LDDWR values already combined (with the .data or
.rodata base added), jump targets as absolute slot indexes, memory offsets as 64-bit
two's-complement values.

The arrays have two slots more than the program: index n is END_OF_PROGRAM (reached by
falling through the last slot) and n + 1 is BAD_TARGET (where out-of-range jumps are sent),
so the core never reads outside its arrays even for a program the verifier did not check.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from femtojit import isa
from femtojit.interp import kinds as K
from femtojit.isa import Insn
from femtojit.profile import FEMTO

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

# ALU operation -> (64-bit K, 64-bit X, 32-bit K, 32-bit X) kinds, for the plain binary ops.
_ALU_BINARY = {
    isa.ALU_ADD: (K.ADD64_K, K.ADD64_X, K.ADD32_K, K.ADD32_X),
    isa.ALU_SUB: (K.SUB64_K, K.SUB64_X, K.SUB32_K, K.SUB32_X),
    isa.ALU_MUL: (K.MUL64_K, K.MUL64_X, K.MUL32_K, K.MUL32_X),
    isa.ALU_OR: (K.OR64_K, K.OR64_X, K.OR32_K, K.OR32_X),
    isa.ALU_AND: (K.AND64_K, K.AND64_X, K.AND32_K, K.AND32_X),
    isa.ALU_LSH: (K.LSH64_K, K.LSH64_X, K.LSH32_K, K.LSH32_X),
    isa.ALU_RSH: (K.RSH64_K, K.RSH64_X, K.RSH32_K, K.RSH32_X),
    isa.ALU_ARSH: (K.ARSH64_K, K.ARSH64_X, K.ARSH32_K, K.ARSH32_X),
    isa.ALU_XOR: (K.XOR64_K, K.XOR64_X, K.XOR32_K, K.XOR32_X),
}
# (operation, offset) -> kinds, for division (offset 0 unsigned, 1 signed).
_ALU_DIVISION = {
    (isa.ALU_DIV, 0): (K.DIV64_K, K.DIV64_X, K.DIV32_K, K.DIV32_X),
    (isa.ALU_DIV, 1): (K.SDIV64_K, K.SDIV64_X, K.SDIV32_K, K.SDIV32_X),
    (isa.ALU_MOD, 0): (K.MOD64_K, K.MOD64_X, K.MOD32_K, K.MOD32_X),
    (isa.ALU_MOD, 1): (K.SMOD64_K, K.SMOD64_X, K.SMOD32_K, K.SMOD32_X),
}
_SHIFTS = (isa.ALU_LSH, isa.ALU_RSH, isa.ALU_ARSH)
_MOVSX64 = {8: K.MOVSX64_8, 16: K.MOVSX64_16, 32: K.MOVSX64_32}
_MOVSX32 = {8: K.MOVSX32_8, 16: K.MOVSX32_16}
_LE = {16: K.LE16, 32: K.LE32, 64: K.LE64}
_BSWAP = {16: K.BSWAP16, 32: K.BSWAP32, 64: K.BSWAP64}
_LDX = {isa.SIZE_B: K.LDXB, isa.SIZE_H: K.LDXH, isa.SIZE_W: K.LDXW, isa.SIZE_DW: K.LDXDW}
_LDXS = {isa.SIZE_B: K.LDXSB, isa.SIZE_H: K.LDXSH, isa.SIZE_W: K.LDXSW}
_ST = {isa.SIZE_B: K.STB, isa.SIZE_H: K.STH, isa.SIZE_W: K.STW, isa.SIZE_DW: K.STDW}
_STX = {isa.SIZE_B: K.STXB, isa.SIZE_H: K.STXH, isa.SIZE_W: K.STXW, isa.SIZE_DW: K.STXDW}
# Jump operation -> (64-bit K, 64-bit X, 32-bit K, 32-bit X) kinds.
_COND_JUMPS = {
    isa.JMP_JEQ: (K.JEQ_K, K.JEQ_X, K.JEQ32_K, K.JEQ32_X),
    isa.JMP_JGT: (K.JGT_K, K.JGT_X, K.JGT32_K, K.JGT32_X),
    isa.JMP_JGE: (K.JGE_K, K.JGE_X, K.JGE32_K, K.JGE32_X),
    isa.JMP_JSET: (K.JSET_K, K.JSET_X, K.JSET32_K, K.JSET32_X),
    isa.JMP_JNE: (K.JNE_K, K.JNE_X, K.JNE32_K, K.JNE32_X),
    isa.JMP_JSGT: (K.JSGT_K, K.JSGT_X, K.JSGT32_K, K.JSGT32_X),
    isa.JMP_JSGE: (K.JSGE_K, K.JSGE_X, K.JSGE32_K, K.JSGE32_X),
    isa.JMP_JLT: (K.JLT_K, K.JLT_X, K.JLT32_K, K.JLT32_X),
    isa.JMP_JLE: (K.JLE_K, K.JLE_X, K.JLE32_K, K.JLE32_X),
    isa.JMP_JSLT: (K.JSLT_K, K.JSLT_X, K.JSLT32_K, K.JSLT32_X),
    isa.JMP_JSLE: (K.JSLE_K, K.JSLE_X, K.JSLE32_K, K.JSLE32_X),
}


@dataclass
class Decoded:
    """The per-slot arrays the numba core runs on (all of length len(program) + 2)."""

    kind: np.ndarray  # int32
    dst: np.ndarray  # uint8
    src: np.ndarray  # uint8
    off: np.ndarray  # uint64, sign-extended offset (memory operands)
    imm: np.ndarray  # uint64, operand value prepared for the kind
    target: np.ndarray  # int64, absolute slot of the jump / local call target
    entry: int

    def __len__(self) -> int:
        return len(self.kind) - 2


@dataclass
class _Slot:
    kind: int = K.ILLEGAL
    imm: int = 0
    target: int = 0


def _decode_alu(insn: Insn, profile: str) -> _Slot:
    op = insn.opcode
    wide = insn.cls == isa.CLS_ALU64
    reg_form = bool(op & isa.SRC_X)
    code = op & 0xF0
    column = (0 if wide else 2) + (1 if reg_form else 0)
    imm = insn.imm & (M64 if wide else M32)
    if code in _ALU_BINARY:
        if code in _SHIFTS:
            imm &= 63 if wide else 31
        return _Slot(_ALU_BINARY[code][column], imm)
    if code in (isa.ALU_DIV, isa.ALU_MOD):
        kinds = _ALU_DIVISION.get((code, insn.off))
        return _Slot(kinds[column], imm) if kinds else _Slot()
    if code == isa.ALU_MOV:
        if not reg_form:
            return _Slot(K.MOV64_K if wide else K.MOV32_K, imm) if insn.off == 0 else _Slot()
        if insn.off == 0:
            return _Slot(K.MOV64_X if wide else K.MOV32_X)
        kind = (_MOVSX64 if wide else _MOVSX32).get(insn.off, K.ILLEGAL)
        return _Slot(kind)
    if code == isa.ALU_NEG:
        if op == 0x87 or (op == isa.OP_NEG64_FC and profile == FEMTO):
            return _Slot(K.NEG64)
        return _Slot(K.NEG32 if op == 0x84 else K.ILLEGAL)
    if code == isa.ALU_END:
        if op == 0xD4:
            return _Slot(_LE.get(insn.imm, K.ILLEGAL))
        if op in (0xDC, 0xD7):
            return _Slot(_BSWAP.get(insn.imm, K.ILLEGAL))
    return _Slot()


def _decode_jump(insn: Insn, index: int) -> _Slot:
    op = insn.opcode
    code = op & 0xF0
    wide = insn.cls == isa.CLS_JMP
    if op == isa.OP_JA:
        return _Slot(K.JA, target=index + 1 + insn.off)
    if op == isa.OP_JA32:
        return _Slot(K.JA, target=index + 1 + insn.imm)
    if op == isa.OP_CALL:
        if insn.src == isa.CALL_HELPER:
            return _Slot(K.CALL_HELPER, insn.imm & M32)
        if insn.src == isa.CALL_LOCAL:
            return _Slot(K.CALL_LOCAL, target=index + 1 + insn.imm)
        return _Slot()
    if op == isa.OP_CALLX:
        return _Slot(K.CALLX)
    if op == isa.OP_EXIT:
        return _Slot(K.EXIT)
    kinds = _COND_JUMPS.get(code)
    if kinds is None:
        return _Slot()
    column = (0 if wide else 2) + (1 if op & isa.SRC_X else 0)
    imm = insn.imm & (M64 if wide else M32)
    return _Slot(kinds[column], imm, index + 1 + insn.off)


def _decode_memory(insn: Insn) -> _Slot:
    op = insn.opcode
    mode = op & 0xE0
    size = op & 0x18
    cls = insn.cls
    if cls == isa.CLS_LDX and mode == isa.MODE_MEM:
        return _Slot(_LDX[size])
    if cls == isa.CLS_LDX and mode == isa.MODE_MEMSX:
        return _Slot(_LDXS.get(size, K.ILLEGAL))
    if cls == isa.CLS_ST and mode == isa.MODE_MEM:
        return _Slot(_ST[size], insn.imm & M64)
    if cls == isa.CLS_STX and mode == isa.MODE_MEM:
        return _Slot(_STX[size])
    if cls == isa.CLS_STX and mode == isa.MODE_ATOMIC and (insn.imm & M32) in isa.ATOMIC_OPS:
        if size == isa.SIZE_W:
            return _Slot(K.ATOMIC32, insn.imm & M32)
        if size == isa.SIZE_DW:
            return _Slot(K.ATOMIC64, insn.imm & M32)
    return _Slot()


def decode(
    slots: list[Insn], entry: int, profile: str, data_base: int, rodata_base: int
) -> Decoded:
    """Decode every slot (see the module docstring); undecodable slots become ILLEGAL."""
    n = len(slots)
    decoded: list[_Slot] = []
    index = 0
    while index < n:
        insn = slots[index]
        cls = insn.cls
        if isa.is_wide(insn.opcode):
            if index + 1 < n and slots[index + 1].opcode == 0:
                value = isa.imm64(insn, slots[index + 1])
                if insn.opcode == isa.OP_LDDWD:
                    value += data_base
                elif insn.opcode == isa.OP_LDDWR:
                    value += rodata_base
                decoded.append(_Slot(K.LDDW, value & M64))
                decoded.append(_Slot())  # the second half is never executed
                index += 2
                continue
            slot = _Slot()
        elif cls in (isa.CLS_ALU, isa.CLS_ALU64):
            slot = _decode_alu(insn, profile)
        elif cls in (isa.CLS_JMP, isa.CLS_JMP32):
            slot = _decode_jump(insn, index)
        else:
            slot = _decode_memory(insn)
        decoded.append(slot)
        index += 1

    kind = [slot.kind for slot in decoded] + [K.END_OF_PROGRAM, K.BAD_TARGET]
    target = [slot.target if 0 <= slot.target < n else n + 1 for slot in decoded] + [0, 0]
    if not 0 <= entry <= n:
        entry = n + 1  # entry == n runs straight into END_OF_PROGRAM
    return Decoded(
        kind=np.array(kind, dtype=np.int32),
        dst=np.array([insn.dst for insn in slots] + [0, 0], dtype=np.uint8),
        src=np.array([insn.src for insn in slots] + [0, 0], dtype=np.uint8),
        off=np.array([insn.off & M64 for insn in slots] + [0, 0], dtype=np.uint64),
        imm=np.array([slot.imm for slot in decoded] + [0, 0], dtype=np.uint64),
        target=np.array(target, dtype=np.int64),
        entry=entry,
    )


@functools.lru_cache(maxsize=256)
def decode_cached(
    slots: tuple[Insn, ...], entry: int, profile: str, data_base: int, rodata_base: int
) -> Decoded:
    """`decode` remembered for the last programs run: the differential tests and benchmarks
    run the same program many times, and nothing ever writes to the decoded arrays."""
    return decode(list(slots), entry, profile, data_base, rodata_base)
