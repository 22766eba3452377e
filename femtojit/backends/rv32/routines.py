"""Out-of-line routines an RV32 translation carries when it needs them (once per blob).

- the **region scan**: the slow path of every memory check, applying the full rule of
  docs/semantics.md (regions in table order, the first that holds all the bytes decides, then
  its permission), with a two-instruction entry per (size, permission, cache fill) variant;
- **64-bit division**: unsigned divide-with-remainder after Hacker's Delight's `divdu`,
  built on a 64/32-bit `divlu` that divides by 16-bit digits with DIVU/REMU, plus signed
  wrappers. RV32M divides 32-bit values only, and DIVU by zero (all ones) never happens
  here: the IR checks divisors before it divides.

Each routine preserves every register its interface does not name, so a call site needs no
save/restore code; the interfaces below say exactly what is clobbered.
"""

from __future__ import annotations

from femtojit.backends.common.vmabi import (
    REGION_ENTRY_SIZE,
    REGION_FLAGS,
    REGION_LEN,
    REGION_START,
    VM_N_REGIONS,
    VM_REGIONS,
)
from femtojit.backends.rv32 import encode as E
from femtojit.backends.rv32 import forms as F
from femtojit.backends.rv32.abi import LINK, SA, SB, SC
from femtojit.backends.rv32.emit import Asm, Label
from femtojit.backends.rv32.encode import (
    A0,
    A1,
    A2,
    A3,
    A4,
    A5,
    A6,
    A7,
    SP,
    T0,
    T1,
    T2,
    ZERO,
)

#: Bytes the scan routine takes below sp (a0-a5 and the vm pointer, 16-byte aligned).
SCAN_PUSH = 32
_SCAN_SAVED = (A0, A1, A2, A3, A4, A5)
#: Most bytes the 64-bit division routines take below sp (signed wrapper + unsigned core).
DIV64_PUSH = 16 + 32


def emit_scan_variant(asm: Asm, entry: Label, common: Label, size: int, perm: int,
                      fill: int) -> None:
    """Entry of the scan for one kind of access. In: SA = the address, SB = the vm pointer,
    LINK = the return address. Out: SC = 0: fault; SC != 0: allowed, and then SA = start and
    SB = max(0, len - fill + 1) of the region the caller may cache (both 0 when fill is 0 or
    the region may not be cached). Every other register is preserved."""
    asm.bind(entry)
    asm.emit(F.li(SC, size | perm << 4 | fill << 8))
    asm.j(common)


def emit_scan_common(asm: Asm, common: Label) -> None:
    """The scan loop; SC = size | needed permission bits << 4 | fill size << 8."""
    loop, nxt, fail = asm.label("scan_loop"), asm.label("scan_next"), asm.label("scan_fail")
    nofill, fill = asm.label("scan_nofill"), asm.label("scan_fill")
    ovl, ovnext = asm.label("scan_overlap"), asm.label("scan_overlap_next")
    done, zero_limit = asm.label("scan_done"), asm.label("scan_zero_limit")
    e = asm.emit
    vm_at = 4 * len(_SCAN_SAVED)
    asm.bind(common)
    e(F.addi(SP, SP, -SCAN_PUSH))
    for i, reg in enumerate(_SCAN_SAVED):
        e(F.sw(reg, SP, 4 * i))
    e(F.sw(SB, SP, vm_at))
    e(F.lw(A4, SB, VM_REGIONS))  # a4 walks the region table
    e(F.lw(A5, SB, VM_N_REGIONS))  # a5 counts the regions left
    e(F.shift_imm("lshr", A2, SC, 4))
    e(F.logic_imm("and", A2, A2, 3))  # a2 = needed permission
    e(F.shift_imm("lshr", A3, SC, 8))  # a3 = fill size
    e(F.logic_imm("and", SB, SC, 15))  # SB = size
    asm.bind(loop)
    asm.branch("beq", A5, ZERO, fail)
    e(F.lw(A1, A4, REGION_LEN))
    asm.branch("bltu", A1, SB, nxt)  # len < size: the region cannot hold the access
    e(F.sub(A1, A1, SB))  # len - size
    e(F.lw(A0, A4, REGION_START))
    e(F.sub(A0, SA, A0))  # t = addr - start (huge for an address below the region)
    asm.branch("bltu", A1, A0, nxt)  # t > len - size
    # This region holds the bytes, so it decides.
    e(F.lw(A0, A4, REGION_FLAGS))
    e(E.xori(A0, A0, -1))
    e(F.logic("and", A0, A0, A2))  # needed & ~flags
    asm.branch("bne", A0, ZERO, fail)
    asm.branch("beq", A3, ZERO, nofill)
    # Cache it only if no earlier region overlaps it (then no address it holds can be
    # decided by an earlier region).
    e(F.lw(A0, SP, vm_at))
    e(F.lw(A5, A0, VM_REGIONS))  # a5 walks the earlier regions
    e(F.lw(A0, A4, REGION_START))  # a0 = start, a1 = len of the region found
    e(F.lw(A1, A4, REGION_LEN))
    asm.bind(ovl)
    asm.branch("beq", A5, A4, fill)
    e(F.lw(SC, A5, REGION_LEN))
    asm.branch("beq", SC, ZERO, ovnext)  # an empty region holds nothing
    e(F.lw(SB, A5, REGION_START))
    e(F.sub(SA, SB, A0))  # its start inside the found region?
    asm.branch("bltu", SA, A1, nofill)
    e(F.sub(SA, A0, SB))  # the found region's start inside it?
    asm.branch("bltu", SA, SC, nofill)
    asm.bind(ovnext)
    e(F.addi(A5, A5, REGION_ENTRY_SIZE))
    asm.j(ovl)
    asm.bind(fill)
    e(F.mv(SA, A0))
    asm.branch("bltu", A1, A3, zero_limit)  # len < fill: limit 0
    e(F.sub(SB, A1, A3))
    e(F.addi(SB, SB, 1))  # len - fill + 1
    e(F.li(SC, 1))  # allowed
    asm.j(done)
    asm.bind(zero_limit)
    e(F.li(SB, 0))
    e(F.li(SC, 1))
    asm.j(done)
    asm.bind(nofill)
    e(F.li(SA, 0))
    e(F.li(SB, 0))
    e(F.li(SC, 1))  # allowed
    asm.j(done)
    asm.bind(nxt)
    e(F.addi(A4, A4, REGION_ENTRY_SIZE))
    e(F.addi(A5, A5, -1))
    asm.j(loop)
    asm.bind(fail)
    e(F.li(SC, 0))  # fault
    asm.bind(done)
    for i, reg in enumerate(_SCAN_SAVED):
        e(F.lw(reg, SP, 4 * i))
    e(F.addi(SP, SP, SCAN_PUSH))
    e(E.c_jr(LINK))


# ---- 64-bit division -------------------------------------------------------------------------

_B16 = 0x10000


def _clz(asm: Asm, rd: int, rs: int, temp: int) -> None:
    """rd := count of leading zeros of rs (rs != 0), by binary search; rs is kept.
    Clobbers temp and SC."""
    e = asm.emit
    e(F.li(rd, 0))
    e(F.mv(temp, rs))
    for step in (16, 8, 4, 2, 1):
        skip = asm.label("clz_skip")
        e(F.shift_imm("lshr", SC, temp, 32 - step))
        asm.branch("bne", SC, ZERO, skip)  # the top `step` bits hold a one
        e(F.addi(rd, rd, step))
        e(F.shift_imm("shl", temp, temp, step))
        asm.bind(skip)


def emit_divlu(asm: Asm, entry: Label) -> None:
    """(a1:a0) / a2 with a1 < a2, called with LINK: quotient in a0, remainder in a1
    (Hacker's Delight `divlu`: normalise, then two 32/16-bit digit divisions with DIVU, each
    estimate corrected at most twice). Clobbers a2, a4-a7, t0, t1, t4-t6; preserves a3 and
    t2."""
    e = asm.emit
    s, vn1, vn0, un1, q1, rhat = A4, A5, A6, A7, T0, T1
    t, u = SA, SB
    asm.bind(entry)
    _clz(asm, s, A2, t)
    e(E.sll(A2, A2, s))  # v <<= s
    # un32 = u1 << s | u0 >> (32 - s), with u0 >> 1 >> (31 - s) for s = 0
    e(E.sll(A1, A1, s))
    e(F.shift_imm("lshr", t, A0, 1))
    e(E.xori(u, s, 31))
    e(E.srl(t, t, u))
    e(F.logic("or", A1, A1, t))
    e(E.sll(A0, A0, s))  # un10
    e(F.shift_imm("lshr", vn1, A2, 16))
    e(F.shift_imm("shl", vn0, A2, 16))
    e(F.shift_imm("lshr", vn0, vn0, 16))
    e(F.shift_imm("lshr", un1, A0, 16))
    e(F.shift_imm("shl", A0, A0, 16))
    e(F.shift_imm("lshr", A0, A0, 16))  # un0
    for digit in (1, 0):
        # digit 1: divide un32 (a1) by vn1 with un1 as the next digit;
        # digit 0: divide un21 (a1) by vn1 with un0 (a0) as the next digit.
        q = q1 if digit == 1 else A2  # (a2 = v is not needed once un21 is formed)
        nxt_digit = un1 if digit == 1 else A0
        again, dec, ok = (asm.label(f"divlu_{digit}_{n}") for n in ("again", "dec", "ok"))
        if digit == 0:
            # un21 = un32 * b + un1 - q1 * v
            e(F.shift_imm("shl", A1, A1, 16))
            e(F.add(A1, A1, un1))
            e(E.mul(t, q1, A2))
            e(F.sub(A1, A1, t))
        e(E.divu(q, A1, vn1))
        e(E.remu(rhat, A1, vn1))
        asm.bind(again)
        e(F.li(t, _B16))
        asm.branch("bgeu", q, t, dec)  # q >= b: too big
        e(E.mul(t, q, vn0))  # q * vn0 > rhat * b + next digit: too big
        e(F.shift_imm("shl", u, rhat, 16))
        e(F.add(u, u, nxt_digit))
        asm.branch("bgeu", u, t, ok)
        asm.bind(dec)
        e(F.addi(q, q, -1))
        e(F.add(rhat, rhat, vn1))
        e(F.li(t, _B16))
        asm.branch("bltu", rhat, t, again)
        asm.bind(ok)
    # remainder = (un21 * b + un0 - q0 * vn) >> s, with vn = vn1 * b + vn0
    e(F.shift_imm("shl", A1, A1, 16))
    e(F.add(A1, A1, A0))
    e(F.shift_imm("shl", t, vn1, 16))
    e(F.add(t, t, vn0))
    e(E.mul(t, A2, t))
    e(F.sub(A1, A1, t))
    e(E.srl(A1, A1, s))
    e(F.shift_imm("shl", A0, q1, 16))  # q = q1 * b + q0
    e(F.add(A0, A0, A2))
    e(E.c_jr(LINK))


def emit_udivmod64(asm: Asm, entry: Label) -> None:
    """(a1:a0) / (a3:a2), divisor non-zero, called with LINK: quotient in a1:a0, remainder
    in a3:a2. Clobbers a4-a7, t0-t6; preserves ra and s0-s11.

    Hacker's Delight's `divdu`: a divisor below 2^32 takes one or two 64/32 divisions
    (`divlu`); a larger one has a quotient below 2^32, estimated from its top 32 bits with one
    64/32 division and corrected once."""
    two_step, big, done = (asm.label(n) for n in ("udiv64_two_step", "udiv64_big",
                                                   "udiv64_done"))
    divlu = asm.label("divlu")
    e = asm.emit
    asm.bind(entry)
    e(F.mv(T2, LINK))  # (divlu preserves t2 and a3)
    asm.branch("bne", A3, ZERO, big)
    asm.branch("bgeu", A1, A2, two_step)
    asm.call(divlu, LINK)  # u_hi < v: one division, the quotient fits 32 bits
    e(F.mv(A2, A1))
    e(F.li(A1, 0))
    e(F.li(A3, 0))
    e(E.c_jr(T2))
    asm.bind(two_step)  # q_hi = u_hi / v, then (u_hi % v : u_lo) / v
    e(E.divu(A3, A1, A2))
    e(E.remu(A1, A1, A2))
    asm.call(divlu, LINK)
    e(F.mv(A2, A1))
    e(F.mv(A1, A3))
    e(F.li(A3, 0))
    e(E.c_jr(T2))
    asm.bind(big)  # divisor >= 2^32: quotient < 2^32
    e(F.addi(SP, SP, -32))
    for i, reg in enumerate((A0, A1, A2, A3)):  # u and v
        e(F.sw(reg, SP, 4 * i))
    _clz(asm, SB, A3, SA)  # n = clz(v_hi), 0..31
    # v1 = top 32 bits of v << n: v_hi << n | v_lo >> 1 >> (31 - n)
    e(E.sll(A3, A3, SB))
    e(F.shift_imm("lshr", SA, A2, 1))
    e(E.xori(SC, SB, 31))
    e(E.srl(SA, SA, SC))
    e(F.logic("or", A2, A3, SA))
    e(F.mv(A3, SB))  # n
    e(F.shift_imm("lshr", A0, A0, 1))  # u >> 1
    e(F.shift_imm("shl", SA, A1, 31))
    e(F.logic("or", A0, A0, SA))
    e(F.shift_imm("lshr", A1, A1, 1))
    asm.call(divlu, LINK)  # q1 = (u >> 1) / v1
    e(E.xori(SB, A3, 31))
    e(E.srl(A0, A0, SB))  # q0 = q1 >> (31 - n): q or q + 1
    skip = asm.label("udiv64_nonzero")
    asm.branch("beq", A0, ZERO, skip)
    e(F.addi(A0, A0, -1))
    asm.bind(skip)
    e(F.lw(A4, SP, 0))  # u
    e(F.lw(A5, SP, 4))
    e(F.lw(A6, SP, 8))  # v
    e(F.lw(A7, SP, 12))
    e(F.addi(SP, SP, 32))
    # rem = u - q0 * v (q0 < 2^32, the product fits 64 bits)
    e(E.mul(A2, A0, A6))
    e(E.mulhu(A3, A0, A6))
    e(E.mul(SA, A0, A7))
    e(F.add(A3, A3, SA))
    e(E.sltu(SA, A4, A2))  # borrow
    e(F.sub(A2, A4, A2))
    e(F.sub(A3, A5, A3))
    e(F.sub(A3, A3, SA))
    # rem >= v: one more
    fix = asm.label("udiv64_fix")
    asm.branch("bltu", A3, A7, done)
    asm.branch("bne", A3, A7, fix)
    asm.branch("bltu", A2, A6, done)
    asm.bind(fix)
    e(F.addi(A0, A0, 1))
    e(E.sltu(SA, A2, A6))
    e(F.sub(A2, A2, A6))
    e(F.sub(A3, A3, A7))
    e(F.sub(A3, A3, SA))
    asm.bind(done)
    e(F.li(A1, 0))
    e(E.c_jr(T2))
    emit_divlu(asm, divlu)


def _negate64(asm: Asm, lo: int, hi: int) -> None:
    """(hi:lo) := -(hi:lo); clobbers SA."""
    e = asm.emit
    e(E.sltu(SA, ZERO, lo))  # borrow = lo != 0
    e(E.sub(lo, ZERO, lo))
    e(E.sub(hi, ZERO, hi))
    e(F.sub(hi, hi, SA))


def _abs64(asm: Asm, lo: int, hi: int) -> None:
    done = asm.label("abs_done")
    asm.branch("bge", hi, ZERO, done)
    _negate64(asm, lo, hi)
    asm.bind(done)


def emit_signed_div64(asm: Asm, entry: Label, udivmod: Label, remainder: bool) -> None:
    """sdiv (remainder False) or srem of (a1:a0) by (a3:a2), result in a1:a0: truncating,
    the remainder takes the dividend's sign, INT64_MIN / -1 = INT64_MIN, INT64_MIN % -1 = 0
    (|INT64_MIN| is 2**63 as an unsigned value, which the unsigned core divides exactly).
    Called with LINK; clobbers what udivmod64 does."""
    e = asm.emit
    done = asm.label("sdiv64_done")
    asm.bind(entry)
    e(F.addi(SP, SP, -16))
    e(F.sw(LINK, SP, 0))
    if remainder:
        e(F.sw(A1, SP, 4))  # sign of the dividend
    else:
        e(E.xor(SA, A1, A3))  # sign of the quotient
        e(F.sw(SA, SP, 4))
    _abs64(asm, A0, A1)
    _abs64(asm, A2, A3)
    asm.call(udivmod, LINK)
    if remainder:
        e(F.mv(A0, A2))
        e(F.mv(A1, A3))
    e(F.lw(SB, SP, 4))
    asm.branch("bge", SB, ZERO, done)
    _negate64(asm, A0, A1)
    asm.bind(done)
    e(F.lw(LINK, SP, 0))
    e(F.addi(SP, SP, 16))
    e(E.c_jr(LINK))
