"""Out-of-line routines a translation carries when it needs them (at most once per blob).

- the **region scan**: the slow path of every memory check, applying the full rule of
  docs/semantics.md (regions in table order, the first that holds all the bytes decides, then
  its permission), with a small entry per (size, permission, cache fill size) variant;
- **64-bit division**: unsigned divide-with-remainder by shift and subtract (clz-aligned, so
  it loops once per quotient bit that can be set), plus signed wrappers. Cortex-M4 divides
  32-bit values only.

Each routine preserves every register except the ones its interface names, so a call site
needs no save/restore code of its own.
"""

from __future__ import annotations

from femtojit.backends.armv7m import encode as E
from femtojit.backends.armv7m import forms as F
from femtojit.backends.armv7m.emit import Asm, Label
from femtojit.backends.armv7m.encode import (
    LR,
    PC,
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R12,
    SP,
    Cond,
    Shift,
    SRType,
)
from femtojit.backends.common.vmabi import (
    REGION_ENTRY_SIZE,
    REGION_FLAGS,
    REGION_LEN,
    REGION_START,
    VM_N_REGIONS,
    VM_REGIONS,
)

IP = R12
#: The scan routine saves r0-r6 and lr (8 words: sp stays 8-byte aligned).
SCAN_PUSH = 32
#: Most bytes the 64-bit division pushes (signed wrapper, unsigned core, divlu).
DIV64_PUSH = 8 + 20 + 24

_SCAN_LOW = [R0, R1, R2, R3, R4, R5, R6]


def emit_scan_variant(asm: Asm, entry: Label, common: Label, size: int, perm: int,
                      fill: int) -> None:
    """Entry of the scan for one kind of access. In: ip = the address. Out: Z set = fault;
    Z clear = allowed, and then ip = start and lr = max(0, len - fill + 1) of the region the
    caller may cache (both 0 when fill is 0 or the region may not be cached). Every other
    register is preserved."""
    asm.bind(entry)
    asm.emit(E.t1_push(_SCAN_LOW + [LR]))
    asm.emit(E.t1_movs_imm8(R1, size))
    asm.emit(E.t1_movs_imm8(R2, perm))
    asm.emit(E.t1_movs_imm8(R3, fill))
    asm.b(common)


def emit_scan_common(asm: Asm, common: Label, vm_offset: int) -> None:
    """The scan loop; r1 = size, r2 = needed permission bits, r3 = fill size (0: none)."""
    vm_at = vm_offset + SCAN_PUSH
    loop, nxt, fail = asm.label("scan_loop"), asm.label("scan_next"), asm.label("scan_fail")
    nofill, fill = asm.label("scan_nofill"), asm.label("scan_fill")
    ovl, ovnext = asm.label("scan_overlap"), asm.label("scan_overlap_next")
    e = asm.emit
    asm.bind(common)
    e(F.ldst("ldr", R0, SP, vm_at))
    e(E.t1_ldr_imm5(R4, R0, VM_REGIONS))
    e(E.t1_ldr_imm5(R5, R0, VM_N_REGIONS))
    asm.bind(loop)
    asm.cbz(R5, fail)
    e(E.t1_ldr_imm5(R6, R4, REGION_LEN))
    e(E.t1_subs_reg(R6, R6, R1))  # len - size
    asm.b(nxt, Cond.CC)  # len < size: the region cannot hold the access
    e(E.t1_ldr_imm5(R0, R4, REGION_START))
    e(E.t2_sub_reg(R0, IP, R0))  # t = addr - start (huge for an address below the region)
    e(E.t1_cmp_reg(R0, R6))
    asm.b(nxt, Cond.HI)  # t > len - size
    # This region holds the bytes, so it decides.
    e(E.t1_ldr_imm5(R0, R4, REGION_FLAGS))
    e(E.t2_bic_reg(R0, R2, R0))  # needed & ~flags
    asm.cbz(R0, fail, nonzero=True)
    asm.cbz(R3, nofill)
    # Cache it only if no earlier region overlaps it (then no address it holds can be
    # decided by an earlier region).
    e(F.ldst("ldr", R0, SP, vm_at))
    e(E.t1_ldr_imm5(R5, R0, VM_REGIONS))  # r5 walks the earlier regions
    e(E.t1_ldr_imm5(R0, R4, REGION_START))  # r0 = start, r6 = len of the region found
    e(E.t1_ldr_imm5(R6, R4, REGION_LEN))
    asm.bind(ovl)
    e(E.t1_cmp_reg(R5, R4))
    asm.b(fill, Cond.EQ)
    e(E.t1_ldr_imm5(R1, R5, REGION_LEN))
    asm.cbz(R1, ovnext)  # an empty region holds nothing
    e(E.t1_ldr_imm5(R2, R5, REGION_START))
    e(E.t2_sub_reg(IP, R2, R0))  # its start inside the found region?
    e(E.t2_cmp_reg(IP, R6))
    asm.b(nofill, Cond.CC)
    e(E.t2_sub_reg(IP, R0, R2))  # the found region's start inside it?
    e(E.t2_cmp_reg(IP, R1))
    asm.b(nofill, Cond.CC)
    asm.bind(ovnext)
    e(E.t2_adds_imm8(R5, REGION_ENTRY_SIZE))
    asm.b(ovl)
    asm.bind(fill)
    e(E.t1_mov_reg(IP, R0))
    e(E.t1_subs_reg(R6, R6, R3))  # len - fill
    e(E.t1_it(Cond.CC, "E"))
    e(E.t1_movs_imm8(R6, 0))  # (in the IT block: MOV, no flags) len < fill: limit 0
    e(E.t2_adds_imm8(R6, 1))  # else len - fill + 1
    e(E.t1_mov_reg(LR, R6))
    e(E.t1_movs_imm8(R0, 1))  # Z clear: allowed
    e(E.t1_pop(_SCAN_LOW + [PC]))
    asm.bind(nofill)
    e(E.t2_mov_imm(IP, 0))
    e(E.t2_mov_imm(LR, 0))
    e(E.t1_movs_imm8(R0, 1))  # Z clear: allowed
    e(E.t1_pop(_SCAN_LOW + [PC]))
    asm.bind(fail)
    e(E.t1_movs_imm8(R0, 0))  # Z set: fault
    e(E.t1_pop(_SCAN_LOW + [PC]))
    asm.bind(nxt)
    e(E.t2_adds_imm8(R4, REGION_ENTRY_SIZE))
    e(E.t2_subs_imm8(R5, 1))
    asm.b(loop)


# ---- 64-bit division -------------------------------------------------------------------------


def _negate64(asm: Asm, lo: int, hi: int) -> None:
    """(hi:lo) := -(hi:lo)."""
    asm.emit(E.t1_rsbs_imm(lo, lo))
    asm.emit(E.t2_sbc_reg(hi, hi, hi, Shift(SRType.LSL, 1)))  # hi - 2 hi - borrow


def _abs64(asm: Asm, lo: int, hi: int) -> None:
    done = asm.label("abs_done")
    asm.emit(E.t1_cmp_imm8(hi, 0))
    asm.b(done, Cond.GE)
    _negate64(asm, lo, hi)
    asm.bind(done)


def emit_udivmod64(asm: Asm, entry: Label) -> None:
    """(r1:r0) / (r3:r2), divisor non-zero: quotient in r1:r0, remainder in r3:r2.
    Clobbers ip, lr and the flags; preserves r4-r11.

    Hacker's Delight's `divdu`: a divisor below 2^32 takes one or two 64/32 divisions
    (`divlu`, below); a larger one has a quotient below 2^32, estimated from its top 32 bits
    with one 64/32 division and corrected once."""
    two_step, big, done = (asm.label(n) for n in ("udiv64_two_step", "udiv64_big",
                                                   "udiv64_done"))
    divlu = asm.label("divlu")
    e = asm.emit
    asm.bind(entry)
    e(E.t1_push([R4, R5, R6, R7, LR]))
    asm.cbz(R3, big, nonzero=True)
    e(E.t1_cmp_reg(R1, R2))
    asm.b(two_step, Cond.CS)
    asm.bl(divlu)  # u_hi < v: one division, the quotient fits 32 bits
    e(E.t1_mov_reg(R2, R1))
    e(E.t1_movs_imm8(R1, 0))
    e(E.t1_movs_imm8(R3, 0))
    e(E.t1_pop([R4, R5, R6, R7, PC]))
    asm.bind(two_step)  # q_hi = u_hi / v, then (u_hi % v : u_lo) / v
    e(E.t1_udiv(R4, R1, R2))
    e(E.t1_mls(R1, R4, R2, R1))
    asm.bl(divlu)
    e(E.t1_mov_reg(R2, R1))
    e(E.t1_mov_reg(R1, R4))
    e(E.t1_movs_imm8(R3, 0))
    e(E.t1_pop([R4, R5, R6, R7, PC]))
    asm.bind(big)  # divisor >= 2^32: quotient < 2^32
    for dst, src in ((R4, R0), (R5, R1), (R6, R2), (R7, R3)):  # keep u in r5:r4, v in r7:r6
        e(E.t1_mov_reg(dst, src))
    e(E.t1_clz(IP, R3))  # n = clz(v_hi), 0..31
    e(E.t2_lsl_reg(R2, R3, IP))  # v1 = top 32 bits of v << n
    e(E.t2_rsb_imm(LR, IP, 32))
    e(E.t2_lsr_reg(LR, R6, LR))  # (a shift by 32 gives 0)
    e(E.t2_orr_reg(R2, R2, LR))
    e(E.t1_lsrs_imm(R0, R0, 1))  # u >> 1
    e(E.t2_orr_reg(R0, R0, R5, Shift(SRType.LSL, 31)))
    e(E.t1_lsrs_imm(R1, R5, 1))
    e(E.t1_mov_reg(R3, IP))
    asm.bl(divlu)  # q1 = (u >> 1) / v1
    e(E.t2_rsb_imm(IP, R3, 31))
    e(E.t2_lsr_reg(R0, R0, IP))  # q0 = q1 >> (31 - n): q or q + 1
    skip = asm.label("udiv64_nonzero")
    asm.cbz(R0, skip)
    e(E.t2_subs_imm8(R0, 1))
    asm.bind(skip)
    e(E.t1_umull(R2, R3, R0, R6))  # rem = u - q0 * v
    e(E.t1_mla(R3, R0, R7, R3))
    e(E.t1_subs_reg(R2, R4, R2))
    e(E.t2_sbc_reg(R3, R5, R3))
    e(E.t1_cmp_reg(R2, R6))  # rem >= v: one more
    e(E.t2_sbc_reg(IP, R3, R7, setflags=True))
    asm.b(done, Cond.CC)
    e(E.t2_adds_imm8(R0, 1))
    e(E.t1_subs_reg(R2, R2, R6))
    e(E.t2_sbc_reg(R3, R3, R7))
    asm.bind(done)
    e(E.t1_movs_imm8(R1, 0))
    e(E.t1_pop([R4, R5, R6, R7, PC]))
    _emit_divlu(asm, divlu)


def _emit_divlu(asm: Asm, entry: Label) -> None:
    """(r1:r0) / r2 with r1 < r2: quotient in r0, remainder in r1 (Hacker's Delight
    `divlu`: normalise, then two 32/16-bit digit divisions with UDIV, each estimate corrected
    at most twice). Clobbers r2, ip, lr and the flags; preserves r3-r7."""
    loop1, dec1, done1 = asm.label("divlu_1"), asm.label("divlu_1_dec"), asm.label("divlu_1_ok")
    loop2, dec2, done2 = asm.label("divlu_0"), asm.label("divlu_0_dec"), asm.label("divlu_0_ok")
    e = asm.emit
    b16 = 0x10000
    asm.bind(entry)
    e(E.t1_push([R3, R4, R5, R6, R7, LR]))
    e(E.t1_clz(R3, R2))  # s
    e(E.t1_lsls_reg(R2, R3))  # v <<= s
    e(E.t1_lsls_reg(R1, R3))  # un32 = u1 << s | u0 >> (32 - s)
    e(E.t2_rsb_imm(IP, R3, 32))
    e(E.t2_lsr_reg(IP, R0, IP))  # (s = 0: a shift by 32 gives 0)
    e(E.t2_orr_reg(R1, R1, IP))
    e(E.t1_lsls_reg(R0, R3))  # un10
    e(E.t1_lsrs_imm(R4, R2, 16))  # vn1
    e(E.t1_uxth(R5, R2))  # vn0
    e(E.t2_lsr_imm(IP, R0, 16))  # un1
    e(E.t1_uxth(R0, R0))  # un0
    e(E.t1_udiv(R6, R1, R4))  # q1
    e(E.t1_mls(R7, R6, R4, R1))  # rhat
    asm.bind(loop1)
    e(E.t2_cmp_imm(R6, b16))
    asm.b(dec1, Cond.CS)
    e(E.t2_mul(R1, R6, R5))  # q1 * vn0 > rhat * b + un1: q1 too big
    e(E.t3_add_reg(LR, IP, R7, Shift(SRType.LSL, 16)))
    e(E.t2_cmp_reg(R1, LR))
    asm.b(done1, Cond.LS)
    asm.bind(dec1)
    e(E.t2_subs_imm8(R6, 1))
    e(E.t2_add_reg(R7, R4))
    e(E.t2_cmp_imm(R7, b16))
    asm.b(loop1, Cond.CC)
    asm.bind(done1)
    e(E.t3_add_reg(R1, IP, R7, Shift(SRType.LSL, 16)))  # un21 = rhat * b + un1 - q1 * vn0
    e(E.t1_mls(R1, R6, R5, R1))
    e(E.t1_udiv(IP, R1, R4))  # q0
    e(E.t1_mls(R7, IP, R4, R1))  # rhat
    asm.bind(loop2)
    e(E.t2_cmp_imm(IP, b16))
    asm.b(dec2, Cond.CS)
    e(E.t2_mul(LR, IP, R5))
    e(E.t3_add_reg(R2, R0, R7, Shift(SRType.LSL, 16)))
    e(E.t2_cmp_reg(LR, R2))
    asm.b(done2, Cond.LS)
    asm.bind(dec2)
    e(E.t3_sub_imm(IP, IP, 1))
    e(E.t2_add_reg(R7, R4))
    e(E.t2_cmp_imm(R7, b16))
    asm.b(loop2, Cond.CC)
    asm.bind(done2)
    e(E.t3_add_reg(R1, R0, R7, Shift(SRType.LSL, 16)))  # rem = (rhat * b + un0 - q0 * vn0) >> s
    e(E.t1_mls(R1, IP, R5, R1))
    e(E.t1_lsrs_reg(R1, R3))
    e(E.t3_add_reg(R0, IP, R6, Shift(SRType.LSL, 16)))  # q = q1 * b + q0
    e(E.t1_pop([R3, R4, R5, R6, R7, PC]))


def emit_signed_div64(asm: Asm, entry: Label, udivmod: Label, remainder: bool) -> None:
    """sdiv (remainder False) or srem of (r1:r0) by (r3:r2), result in r1:r0: truncating,
    the remainder takes the dividend's sign, INT64_MIN / -1 = INT64_MIN, INT64_MIN % -1 = 0
    (|INT64_MIN| is 2**63 as an unsigned value, which the unsigned core divides exactly)."""
    e = asm.emit
    done = asm.label("sdiv64_done")
    asm.bind(entry)
    e(E.t1_push([R4, LR]))
    if remainder:
        e(E.t1_mov_reg(R4, R1))  # sign of the dividend
    else:
        e(E.t2_eor_reg(R4, R1, R3))  # sign of the quotient
    _abs64(asm, R0, R1)
    _abs64(asm, R2, R3)
    asm.bl(udivmod)
    if remainder:
        e(E.t1_mov_reg(R0, R2))
        e(E.t1_mov_reg(R1, R3))
    e(E.t1_cmp_imm8(R4, 0))
    asm.b(done, Cond.GE)
    _negate64(asm, R0, R1)
    asm.bind(done)
    e(E.t1_pop([R4, PC]))
