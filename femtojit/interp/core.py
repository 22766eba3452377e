"""The numba-compiled interpreter loop.

`run_core` executes pre-decoded slots (decode.py) until something needs Python: the program
exits or faults, a helper must be called, or a chunk of instructions is used up (so a
long-running program can still be interrupted with Ctrl-C). Its whole state lives in the
arrays it is given, so the Python driver (machine.py) can call a helper and resume.

Registers are uint64 and every constant below is a typed numpy scalar: mixing signed and
unsigned 64-bit integers in numba changes the result type, and these semantics must not
depend on that. Signed operations cast explicitly (numba integer casts wrap).

numba is imported here and only here; importing this module is what compiles (or loads from
the on-disk cache) the loop, so nothing imports it before a program is actually run.
"""

from __future__ import annotations

import numba
import numpy as np

from femtojit.interp.kinds import (
    ADD32_K,
    ADD32_X,
    ADD64_K,
    ADD64_X,
    AND32_K,
    AND32_X,
    AND64_K,
    AND64_X,
    ARSH32_K,
    ARSH32_X,
    ARSH64_K,
    ARSH64_X,
    ATOMIC32,
    ATOMIC64,
    BAD_TARGET,
    BSWAP16,
    BSWAP32,
    BSWAP64,
    CALL_HELPER,
    CALL_LOCAL,
    CALLX,
    DIV32_K,
    DIV32_X,
    DIV64_K,
    DIV64_X,
    END_OF_PROGRAM,
    EXIT,
    FIRST_CONTROL,
    JA,
    JEQ32_K,
    JEQ32_X,
    JEQ_K,
    JEQ_X,
    JGE32_K,
    JGE32_X,
    JGE_K,
    JGE_X,
    JGT32_K,
    JGT32_X,
    JGT_K,
    JGT_X,
    JLE32_K,
    JLE32_X,
    JLE_K,
    JLE_X,
    JLT32_K,
    JLT32_X,
    JLT_K,
    JLT_X,
    JNE32_K,
    JNE32_X,
    JNE_K,
    JNE_X,
    JSET32_K,
    JSET32_X,
    JSET_K,
    JSET_X,
    JSGE32_K,
    JSGE32_X,
    JSGE_K,
    JSGE_X,
    JSGT32_K,
    JSGT32_X,
    JSGT_K,
    JSGT_X,
    JSLE32_K,
    JSLE32_X,
    JSLE_K,
    JSLE_X,
    JSLT32_K,
    JSLT32_X,
    JSLT_K,
    JSLT_X,
    LDDW,
    LDXB,
    LDXDW,
    LDXH,
    LDXSB,
    LDXSH,
    LDXSW,
    LDXW,
    LE16,
    LE32,
    LE64,
    LSH32_K,
    LSH32_X,
    LSH64_K,
    LSH64_X,
    MOD32_K,
    MOD32_X,
    MOD64_K,
    MOD64_X,
    MOV32_K,
    MOV32_X,
    MOV64_K,
    MOV64_X,
    MOVSX32_8,
    MOVSX32_16,
    MOVSX64_8,
    MOVSX64_16,
    MOVSX64_32,
    MUL32_K,
    MUL32_X,
    MUL64_K,
    MUL64_X,
    NEG32,
    NEG64,
    OR32_K,
    OR32_X,
    OR64_K,
    OR64_X,
    RSH32_K,
    RSH32_X,
    RSH64_K,
    RSH64_X,
    SDIV32_K,
    SDIV32_X,
    SDIV64_K,
    SDIV64_X,
    SMOD32_K,
    SMOD32_X,
    SMOD64_K,
    SMOD64_X,
    STB,
    STDW,
    STH,
    STW,
    STXB,
    STXDW,
    STXH,
    STXW,
    SUB32_K,
    SUB32_X,
    SUB64_K,
    SUB64_X,
    XOR32_K,
    XOR32_X,
    XOR64_K,
    XOR64_X,
)
from femtojit.memmap import PERM_READ, PERM_RW, PERM_WRITE
from femtojit.profile import MAX_FRAMES
from femtojit.status import Status

# Indexes into the int64 state array shared with machine.py.
ST_PC = 0
ST_INSNS = 1
ST_BUDGET = 2  # taken jumps still allowed
ST_HAS_BUDGET = 3  # 0: budget off
ST_DEPTH = 4  # local-call frames in use
ST_HELPER_ID = 5  # set when the core stops for a helper
ST_DIV_FAULTS = 6  # 1: division by zero stops the run (femto), 0: rfc results
ST_LIMIT = 7  # stop with EVENT_YIELD at the first taken jump once insns >= this
STATE_SIZE = 8

# Return values of run_core besides a (negative) fault status.
EVENT_EXIT = 0
EVENT_HELPER = 1
EVENT_YIELD = 2

NUM_REG_SLOTS = 16  # r0-r10 plus room for the 4-bit register fields of unverified code

# Fault statuses as plain ints (numba freezes module-level ints into the compiled loop).
_ILLEGAL_INSTRUCTION = int(Status.ILLEGAL_INSTRUCTION)
_ILLEGAL_MEM = int(Status.ILLEGAL_MEM)
_ILLEGAL_JUMP = int(Status.ILLEGAL_JUMP)
_ILLEGAL_CALL = int(Status.ILLEGAL_CALL)
_NO_RETURN = int(Status.NO_RETURN)
_OUT_OF_BRANCHES = int(Status.OUT_OF_BRANCHES)
_ILLEGAL_DIV = int(Status.ILLEGAL_DIV)

U0 = np.uint64(0)
U1 = np.uint64(1)
U2 = np.uint64(2)
U4 = np.uint64(4)
U8 = np.uint64(8)
U16 = np.uint64(16)
U24 = np.uint64(24)
U31 = np.uint64(31)
U32 = np.uint64(32)
U40 = np.uint64(40)
U48 = np.uint64(48)
U56 = np.uint64(56)
U63 = np.uint64(63)
M8 = np.uint64(0xFF)
M16 = np.uint64(0xFFFF)
M32 = np.uint64(0xFFFFFFFF)

# Atomic operation codes (imm field), see femtojit/isa.py.
_ATOMIC_FETCH = np.uint64(0x01)
_ATOMIC_ADD = np.uint64(0x00)
_ATOMIC_OR = np.uint64(0x40)
_ATOMIC_AND = np.uint64(0x50)
_ATOMIC_XOR = np.uint64(0xA0)
_ATOMIC_XCHG = np.uint64(0xE1)
_ATOMIC_CMPXCHG = np.uint64(0xF1)

# Operations of _divide: bit 0 modulo, bit 1 signed, bit 2 32-bit.
_OP_DIV64 = 0
_OP_MOD64 = 1
_OP_SDIV64 = 2
_OP_SMOD64 = 3
_OP_DIV32 = 4
_OP_MOD32 = 5
_OP_SDIV32 = 6
_OP_SMOD32 = 7


def _make_jit():
    """njit with the on-disk cache when numba can find a writable cache directory.

    numba raises RuntimeError at decoration time when no cache locator works (a read-only
    install with no writable user cache directory); the interpreter then compiles in every
    process instead of failing.
    """

    def probe():  # pragma: no cover - only its cache locator matters
        return 0

    try:
        numba.njit(cache=True)(probe)
        cache = True
    except RuntimeError:
        cache = False
    return numba.njit(cache=cache, error_model="numpy", boundscheck=False)


_jit = _make_jit()


@_jit
def _locate(rstart, rend, rperm, rbase, addr, size, need):
    """Index in `mem` of [addr, addr+size), or -1: the first region holding it decides."""
    for i in range(rstart.shape[0]):
        if rstart[i] <= addr and addr + size <= rend[i]:
            if (rperm[i] & need) == need:
                return rbase[i] + np.int64(addr - rstart[i])
            return -1
    return -1


@_jit
def _ld16(mem, p):
    return np.uint64(mem[p]) | (np.uint64(mem[p + 1]) << U8)


@_jit
def _ld32(mem, p):
    return (
        np.uint64(mem[p])
        | (np.uint64(mem[p + 1]) << U8)
        | (np.uint64(mem[p + 2]) << U16)
        | (np.uint64(mem[p + 3]) << U24)
    )


@_jit
def _ld64(mem, p):
    return (
        np.uint64(mem[p])
        | (np.uint64(mem[p + 1]) << U8)
        | (np.uint64(mem[p + 2]) << U16)
        | (np.uint64(mem[p + 3]) << U24)
        | (np.uint64(mem[p + 4]) << U32)
        | (np.uint64(mem[p + 5]) << U40)
        | (np.uint64(mem[p + 6]) << U48)
        | (np.uint64(mem[p + 7]) << U56)
    )


@_jit
def _store(mem, p, value, size):
    """Little-endian store of the low `size` bytes of value."""
    for i in range(size):
        mem[p + i] = np.uint8(value & M8)
        value = value >> U8


@_jit
def _sext32(value):
    return np.uint64(np.int64(np.int32(value)))


@_jit
def _sdiv64(a, b):
    """Truncating signed division of 64-bit patterns; b != 0. INT_MIN / -1 wraps to INT_MIN."""
    negative_a = np.int64(a) < 0
    negative_b = np.int64(b) < 0
    ua = U0 - a if negative_a else a
    ub = U0 - b if negative_b else b
    q = ua // ub
    return U0 - q if negative_a != negative_b else q


@_jit
def _smod64(a, b):
    """Signed remainder with the sign of the dividend; b != 0. INT_MIN % -1 = 0."""
    negative_a = np.int64(a) < 0
    ua = U0 - a if negative_a else a
    ub = U0 - b if np.int64(b) < 0 else b
    r = ua % ub
    return U0 - r if negative_a else r


@_jit
def _bswap16(x):
    return ((x & M8) << U8) | ((x >> U8) & M8)


@_jit
def _bswap32(x):
    return (
        ((x & M8) << U24)
        | (((x >> U8) & M8) << U16)
        | (((x >> U16) & M8) << U8)
        | ((x >> U24) & M8)
    )


@_jit
def _bswap64(x):
    return (_bswap32(x & M32) << U32) | _bswap32(x >> U32)


@_jit
def _store_checked(mem, rstart, rend, rperm, rbase, addr, value, size):
    """Store the low `size` bytes of value at addr if a region allows it; False otherwise."""
    p = _locate(rstart, rend, rperm, rbase, addr, np.uint64(size), PERM_WRITE)
    if p < 0:
        return False
    _store(mem, p, value, size)
    return True


@_jit
def _divide(regs, d, b, op, div_faults):
    """dst = dst op b for the division family; True when it must stop with ILLEGAL_DIV.

    `op` bits: 1 modulo (else division), 2 signed, 4 32-bit. A zero divisor in the rfc
    profile (div_faults False) gives 0 for div and leaves dst for mod (the 32-bit forms
    zero-extend it); the 32-bit forms use the low halves.
    """
    is_mod = (op & 1) != 0
    is_signed = (op & 2) != 0
    narrow = (op & 4) != 0
    a = regs[d]
    if narrow:
        a = a & M32
        b = b & M32
    if b == U0:
        if div_faults:
            return True
        regs[d] = a if is_mod else U0
        return False
    if not is_signed:
        regs[d] = a % b if is_mod else a // b
    elif narrow:
        if is_mod:
            regs[d] = _smod64(_sext32(a), _sext32(b)) & M32
        else:
            regs[d] = _sdiv64(_sext32(a), _sext32(b)) & M32
    else:
        regs[d] = _smod64(a, b) if is_mod else _sdiv64(a, b)
    return False


@_jit
def _atomic(regs, mem, rstart, rend, rperm, rbase, addr, wide, aop, s):
    """Atomic read-modify-write (the container is single-threaded); False on a bad address."""
    p = _locate(rstart, rend, rperm, rbase, addr, U8 if wide else U4, PERM_RW)
    if p < 0:
        return False
    if wide:
        old = _ld64(mem, p)
        operand = regs[s]
    else:
        old = _ld32(mem, p)
        operand = regs[s] & M32
    if aop == _ATOMIC_CMPXCHG:
        expected = regs[0] if wide else regs[0] & M32
        new = operand if expected == old else old
        regs[0] = old
    elif aop == _ATOMIC_XCHG:
        new = operand
        regs[s] = old
    else:
        base = aop & ~_ATOMIC_FETCH
        if base == _ATOMIC_ADD:
            new = old + operand
        elif base == _ATOMIC_OR:
            new = old | operand
        elif base == _ATOMIC_AND:
            new = old & operand
        else:  # _ATOMIC_XOR (decode lets only known operations through)
            new = old ^ operand
        if aop & _ATOMIC_FETCH:
            regs[s] = old
    if wide:
        _store(mem, p, new, 8)
    else:
        _store(mem, p, new & M32, 4)
    return True


@_jit
def run_core(
    kind, dst, src, off, imm, target, regs, mem, rstart, rend, rperm, rbase, fpc, fregs, st
):
    """Run from st[ST_PC] until exit, a fault, a helper call or the chunk limit.

    Returns EVENT_EXIT, EVENT_HELPER (st[ST_PC] is the call, st[ST_HELPER_ID] its id),
    EVENT_YIELD, or a negative fault status (st[ST_PC] is the faulting instruction and r0
    is untouched by it).
    """
    pc = st[ST_PC]
    n = st[ST_INSNS]
    budget = st[ST_BUDGET]
    has_budget = st[ST_HAS_BUDGET] != 0
    depth = st[ST_DEPTH]
    div_faults = st[ST_DIV_FAULTS] != 0
    limit = st[ST_LIMIT]
    code = EVENT_EXIT
    while True:
        k = kind[pc]
        n += 1
        if k < FIRST_CONTROL:
            d = dst[pc]
            # ---- 64-bit arithmetic ----
            if k == ADD64_K:
                regs[d] = regs[d] + imm[pc]
            elif k == ADD64_X:
                regs[d] = regs[d] + regs[src[pc]]
            elif k == SUB64_K:
                regs[d] = regs[d] - imm[pc]
            elif k == SUB64_X:
                regs[d] = regs[d] - regs[src[pc]]
            elif k == MUL64_K:
                regs[d] = regs[d] * imm[pc]
            elif k == MUL64_X:
                regs[d] = regs[d] * regs[src[pc]]
            elif k == OR64_K:
                regs[d] = regs[d] | imm[pc]
            elif k == OR64_X:
                regs[d] = regs[d] | regs[src[pc]]
            elif k == AND64_K:
                regs[d] = regs[d] & imm[pc]
            elif k == AND64_X:
                regs[d] = regs[d] & regs[src[pc]]
            elif k == XOR64_K:
                regs[d] = regs[d] ^ imm[pc]
            elif k == XOR64_X:
                regs[d] = regs[d] ^ regs[src[pc]]
            elif k == LSH64_K:
                regs[d] = regs[d] << imm[pc]
            elif k == LSH64_X:
                regs[d] = regs[d] << (regs[src[pc]] & U63)
            elif k == RSH64_K:
                regs[d] = regs[d] >> imm[pc]
            elif k == RSH64_X:
                regs[d] = regs[d] >> (regs[src[pc]] & U63)
            elif k == ARSH64_K:
                regs[d] = np.uint64(np.int64(regs[d]) >> np.int64(imm[pc]))
            elif k == ARSH64_X:
                regs[d] = np.uint64(np.int64(regs[d]) >> np.int64(regs[src[pc]] & U63))
            elif k == MOV64_K:
                regs[d] = imm[pc]
            elif k == MOV64_X:
                regs[d] = regs[src[pc]]
            elif k == NEG64:
                regs[d] = U0 - regs[d]
            elif k == MOVSX64_8:
                regs[d] = np.uint64(np.int64(np.int8(regs[src[pc]])))
            elif k == MOVSX64_16:
                regs[d] = np.uint64(np.int64(np.int16(regs[src[pc]])))
            elif k == MOVSX64_32:
                regs[d] = _sext32(regs[src[pc]])
            elif k == DIV64_K:
                if _divide(regs, d, imm[pc], _OP_DIV64, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == DIV64_X:
                if _divide(regs, d, regs[src[pc]], _OP_DIV64, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == MOD64_K:
                if _divide(regs, d, imm[pc], _OP_MOD64, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == MOD64_X:
                if _divide(regs, d, regs[src[pc]], _OP_MOD64, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == SDIV64_K:
                if _divide(regs, d, imm[pc], _OP_SDIV64, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == SDIV64_X:
                if _divide(regs, d, regs[src[pc]], _OP_SDIV64, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == SMOD64_K:
                if _divide(regs, d, imm[pc], _OP_SMOD64, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == SMOD64_X:
                if _divide(regs, d, regs[src[pc]], _OP_SMOD64, div_faults):
                    code = _ILLEGAL_DIV
                    break
            # ---- 32-bit arithmetic (zero-extended results) ----
            elif k == ADD32_K:
                regs[d] = (regs[d] + imm[pc]) & M32
            elif k == ADD32_X:
                regs[d] = (regs[d] + regs[src[pc]]) & M32
            elif k == SUB32_K:
                regs[d] = (regs[d] - imm[pc]) & M32
            elif k == SUB32_X:
                regs[d] = (regs[d] - regs[src[pc]]) & M32
            elif k == MUL32_K:
                regs[d] = (regs[d] * imm[pc]) & M32
            elif k == MUL32_X:
                regs[d] = (regs[d] * regs[src[pc]]) & M32
            elif k == OR32_K:
                regs[d] = (regs[d] | imm[pc]) & M32
            elif k == OR32_X:
                regs[d] = (regs[d] | regs[src[pc]]) & M32
            elif k == AND32_K:
                regs[d] = regs[d] & imm[pc]
            elif k == AND32_X:
                regs[d] = regs[d] & regs[src[pc]] & M32
            elif k == XOR32_K:
                regs[d] = (regs[d] ^ imm[pc]) & M32
            elif k == XOR32_X:
                regs[d] = (regs[d] ^ regs[src[pc]]) & M32
            elif k == LSH32_K:
                regs[d] = (regs[d] << imm[pc]) & M32
            elif k == LSH32_X:
                regs[d] = (regs[d] << (regs[src[pc]] & U31)) & M32
            elif k == RSH32_K:
                regs[d] = (regs[d] & M32) >> imm[pc]
            elif k == RSH32_X:
                regs[d] = (regs[d] & M32) >> (regs[src[pc]] & U31)
            elif k == ARSH32_K:
                regs[d] = np.uint64(np.int64(np.int32(regs[d])) >> np.int64(imm[pc])) & M32
            elif k == ARSH32_X:
                amount = np.int64(regs[src[pc]] & U31)
                regs[d] = np.uint64(np.int64(np.int32(regs[d])) >> amount) & M32
            elif k == MOV32_K:
                regs[d] = imm[pc]
            elif k == MOV32_X:
                regs[d] = regs[src[pc]] & M32
            elif k == NEG32:
                regs[d] = (U0 - regs[d]) & M32
            elif k == MOVSX32_8:
                regs[d] = np.uint64(np.int64(np.int8(regs[src[pc]]))) & M32
            elif k == MOVSX32_16:
                regs[d] = np.uint64(np.int64(np.int16(regs[src[pc]]))) & M32
            elif k == DIV32_K:
                if _divide(regs, d, imm[pc], _OP_DIV32, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == DIV32_X:
                if _divide(regs, d, regs[src[pc]], _OP_DIV32, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == MOD32_K:
                if _divide(regs, d, imm[pc], _OP_MOD32, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == MOD32_X:
                if _divide(regs, d, regs[src[pc]], _OP_MOD32, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == SDIV32_K:
                if _divide(regs, d, imm[pc], _OP_SDIV32, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == SDIV32_X:
                if _divide(regs, d, regs[src[pc]], _OP_SDIV32, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == SMOD32_K:
                if _divide(regs, d, imm[pc], _OP_SMOD32, div_faults):
                    code = _ILLEGAL_DIV
                    break
            elif k == SMOD32_X:
                if _divide(regs, d, regs[src[pc]], _OP_SMOD32, div_faults):
                    code = _ILLEGAL_DIV
                    break
            # ---- byte order ----
            elif k == LE16:
                regs[d] = regs[d] & M16
            elif k == LE32:
                regs[d] = regs[d] & M32
            elif k == LE64:
                pass
            elif k == BSWAP16:
                regs[d] = _bswap16(regs[d])
            elif k == BSWAP32:
                regs[d] = _bswap32(regs[d])
            elif k == BSWAP64:
                regs[d] = _bswap64(regs[d])
            # ---- 64-bit immediate ----
            elif k == LDDW:
                regs[d] = imm[pc]
                pc += 1
            # ---- loads ----
            elif k == LDXB:
                addr = (regs[src[pc]] + off[pc]) & M32
                p = _locate(rstart, rend, rperm, rbase, addr, U1, PERM_READ)
                if p < 0:
                    code = _ILLEGAL_MEM
                    break
                regs[d] = np.uint64(mem[p])
            elif k == LDXH:
                addr = (regs[src[pc]] + off[pc]) & M32
                p = _locate(rstart, rend, rperm, rbase, addr, U2, PERM_READ)
                if p < 0:
                    code = _ILLEGAL_MEM
                    break
                regs[d] = _ld16(mem, p)
            elif k == LDXW:
                addr = (regs[src[pc]] + off[pc]) & M32
                p = _locate(rstart, rend, rperm, rbase, addr, U4, PERM_READ)
                if p < 0:
                    code = _ILLEGAL_MEM
                    break
                regs[d] = _ld32(mem, p)
            elif k == LDXDW:
                addr = (regs[src[pc]] + off[pc]) & M32
                p = _locate(rstart, rend, rperm, rbase, addr, U8, PERM_READ)
                if p < 0:
                    code = _ILLEGAL_MEM
                    break
                regs[d] = _ld64(mem, p)
            elif k == LDXSB:
                addr = (regs[src[pc]] + off[pc]) & M32
                p = _locate(rstart, rend, rperm, rbase, addr, U1, PERM_READ)
                if p < 0:
                    code = _ILLEGAL_MEM
                    break
                regs[d] = np.uint64(np.int64(np.int8(mem[p])))
            elif k == LDXSH:
                addr = (regs[src[pc]] + off[pc]) & M32
                p = _locate(rstart, rend, rperm, rbase, addr, U2, PERM_READ)
                if p < 0:
                    code = _ILLEGAL_MEM
                    break
                regs[d] = np.uint64(np.int64(np.int16(_ld16(mem, p))))
            elif k == LDXSW:
                addr = (regs[src[pc]] + off[pc]) & M32
                p = _locate(rstart, rend, rperm, rbase, addr, U4, PERM_READ)
                if p < 0:
                    code = _ILLEGAL_MEM
                    break
                regs[d] = _sext32(_ld32(mem, p))
            # ---- stores ----
            elif k == STB:
                addr = (regs[d] + off[pc]) & M32
                if not _store_checked(mem, rstart, rend, rperm, rbase, addr, imm[pc], 1):
                    code = _ILLEGAL_MEM
                    break
            elif k == STH:
                addr = (regs[d] + off[pc]) & M32
                if not _store_checked(mem, rstart, rend, rperm, rbase, addr, imm[pc], 2):
                    code = _ILLEGAL_MEM
                    break
            elif k == STW:
                addr = (regs[d] + off[pc]) & M32
                if not _store_checked(mem, rstart, rend, rperm, rbase, addr, imm[pc], 4):
                    code = _ILLEGAL_MEM
                    break
            elif k == STDW:
                addr = (regs[d] + off[pc]) & M32
                if not _store_checked(mem, rstart, rend, rperm, rbase, addr, imm[pc], 8):
                    code = _ILLEGAL_MEM
                    break
            elif k == STXB:
                addr = (regs[d] + off[pc]) & M32
                if not _store_checked(mem, rstart, rend, rperm, rbase, addr, regs[src[pc]], 1):
                    code = _ILLEGAL_MEM
                    break
            elif k == STXH:
                addr = (regs[d] + off[pc]) & M32
                if not _store_checked(mem, rstart, rend, rperm, rbase, addr, regs[src[pc]], 2):
                    code = _ILLEGAL_MEM
                    break
            elif k == STXW:
                addr = (regs[d] + off[pc]) & M32
                if not _store_checked(mem, rstart, rend, rperm, rbase, addr, regs[src[pc]], 4):
                    code = _ILLEGAL_MEM
                    break
            elif k == STXDW:
                addr = (regs[d] + off[pc]) & M32
                if not _store_checked(mem, rstart, rend, rperm, rbase, addr, regs[src[pc]], 8):
                    code = _ILLEGAL_MEM
                    break
            elif k == ATOMIC32:
                addr = (regs[d] + off[pc]) & M32
                ok = _atomic(regs, mem, rstart, rend, rperm, rbase, addr, False, imm[pc], src[pc])
                if not ok:
                    code = _ILLEGAL_MEM
                    break
            elif k == ATOMIC64:
                addr = (regs[d] + off[pc]) & M32
                ok = _atomic(regs, mem, rstart, rend, rperm, rbase, addr, True, imm[pc], src[pc])
                if not ok:
                    code = _ILLEGAL_MEM
                    break
            # ---- slots that must not run ----
            elif k == END_OF_PROGRAM:
                n -= 1
                code = _NO_RETURN
                break
            elif k == BAD_TARGET:
                n -= 1
                code = _ILLEGAL_JUMP
                break
            else:  # ILLEGAL
                code = _ILLEGAL_INSTRUCTION
                break
            pc += 1
            continue

        # ---- control flow ----
        taken = False
        if k == JA:
            taken = True
        elif k == JEQ_K:
            taken = regs[dst[pc]] == imm[pc]
        elif k == JEQ_X:
            taken = regs[dst[pc]] == regs[src[pc]]
        elif k == JNE_K:
            taken = regs[dst[pc]] != imm[pc]
        elif k == JNE_X:
            taken = regs[dst[pc]] != regs[src[pc]]
        elif k == JGT_K:
            taken = regs[dst[pc]] > imm[pc]
        elif k == JGT_X:
            taken = regs[dst[pc]] > regs[src[pc]]
        elif k == JGE_K:
            taken = regs[dst[pc]] >= imm[pc]
        elif k == JGE_X:
            taken = regs[dst[pc]] >= regs[src[pc]]
        elif k == JLT_K:
            taken = regs[dst[pc]] < imm[pc]
        elif k == JLT_X:
            taken = regs[dst[pc]] < regs[src[pc]]
        elif k == JLE_K:
            taken = regs[dst[pc]] <= imm[pc]
        elif k == JLE_X:
            taken = regs[dst[pc]] <= regs[src[pc]]
        elif k == JSET_K:
            taken = (regs[dst[pc]] & imm[pc]) != U0
        elif k == JSET_X:
            taken = (regs[dst[pc]] & regs[src[pc]]) != U0
        elif k == JSGT_K:
            taken = np.int64(regs[dst[pc]]) > np.int64(imm[pc])
        elif k == JSGT_X:
            taken = np.int64(regs[dst[pc]]) > np.int64(regs[src[pc]])
        elif k == JSGE_K:
            taken = np.int64(regs[dst[pc]]) >= np.int64(imm[pc])
        elif k == JSGE_X:
            taken = np.int64(regs[dst[pc]]) >= np.int64(regs[src[pc]])
        elif k == JSLT_K:
            taken = np.int64(regs[dst[pc]]) < np.int64(imm[pc])
        elif k == JSLT_X:
            taken = np.int64(regs[dst[pc]]) < np.int64(regs[src[pc]])
        elif k == JSLE_K:
            taken = np.int64(regs[dst[pc]]) <= np.int64(imm[pc])
        elif k == JSLE_X:
            taken = np.int64(regs[dst[pc]]) <= np.int64(regs[src[pc]])
        elif k == JEQ32_K:
            taken = (regs[dst[pc]] & M32) == imm[pc]
        elif k == JEQ32_X:
            taken = (regs[dst[pc]] & M32) == (regs[src[pc]] & M32)
        elif k == JNE32_K:
            taken = (regs[dst[pc]] & M32) != imm[pc]
        elif k == JNE32_X:
            taken = (regs[dst[pc]] & M32) != (regs[src[pc]] & M32)
        elif k == JGT32_K:
            taken = (regs[dst[pc]] & M32) > imm[pc]
        elif k == JGT32_X:
            taken = (regs[dst[pc]] & M32) > (regs[src[pc]] & M32)
        elif k == JGE32_K:
            taken = (regs[dst[pc]] & M32) >= imm[pc]
        elif k == JGE32_X:
            taken = (regs[dst[pc]] & M32) >= (regs[src[pc]] & M32)
        elif k == JLT32_K:
            taken = (regs[dst[pc]] & M32) < imm[pc]
        elif k == JLT32_X:
            taken = (regs[dst[pc]] & M32) < (regs[src[pc]] & M32)
        elif k == JLE32_K:
            taken = (regs[dst[pc]] & M32) <= imm[pc]
        elif k == JLE32_X:
            taken = (regs[dst[pc]] & M32) <= (regs[src[pc]] & M32)
        elif k == JSET32_K:
            taken = (regs[dst[pc]] & imm[pc]) != U0
        elif k == JSET32_X:
            taken = (regs[dst[pc]] & regs[src[pc]] & M32) != U0
        elif k == JSGT32_K:
            taken = np.int32(regs[dst[pc]]) > np.int32(imm[pc])
        elif k == JSGT32_X:
            taken = np.int32(regs[dst[pc]]) > np.int32(regs[src[pc]])
        elif k == JSGE32_K:
            taken = np.int32(regs[dst[pc]]) >= np.int32(imm[pc])
        elif k == JSGE32_X:
            taken = np.int32(regs[dst[pc]]) >= np.int32(regs[src[pc]])
        elif k == JSLT32_K:
            taken = np.int32(regs[dst[pc]]) < np.int32(imm[pc])
        elif k == JSLT32_X:
            taken = np.int32(regs[dst[pc]]) < np.int32(regs[src[pc]])
        elif k == JSLE32_K:
            taken = np.int32(regs[dst[pc]]) <= np.int32(imm[pc])
        elif k == JSLE32_X:
            taken = np.int32(regs[dst[pc]]) <= np.int32(regs[src[pc]])
        elif k == CALL_HELPER:
            st[ST_HELPER_ID] = np.int64(imm[pc])
            code = EVENT_HELPER
            break
        elif k == CALLX:
            st[ST_HELPER_ID] = np.int64(regs[dst[pc]] & M32)
            code = EVENT_HELPER
            break
        elif k == CALL_LOCAL:
            if depth >= MAX_FRAMES:
                code = _ILLEGAL_CALL
                break
            fpc[depth] = pc + 1
            fregs[depth * 4] = regs[6]
            fregs[depth * 4 + 1] = regs[7]
            fregs[depth * 4 + 2] = regs[8]
            fregs[depth * 4 + 3] = regs[9]
            depth += 1
            pc = target[pc]
            continue
        elif k == EXIT:
            if depth == 0:
                code = EVENT_EXIT
                break
            depth -= 1
            pc = fpc[depth]
            regs[6] = fregs[depth * 4]
            regs[7] = fregs[depth * 4 + 1]
            regs[8] = fregs[depth * 4 + 2]
            regs[9] = fregs[depth * 4 + 3]
            continue
        else:
            code = _ILLEGAL_INSTRUCTION
            break

        if taken:
            if has_budget:
                if budget == 0:
                    code = _OUT_OF_BRANCHES
                    break
                budget -= 1
            pc = target[pc]
            if n >= limit:
                code = EVENT_YIELD
                break
        else:
            pc += 1

    st[ST_PC] = pc
    st[ST_INSNS] = n
    st[ST_BUDGET] = budget
    st[ST_DEPTH] = depth
    return code
