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
#: Most bytes the 64-bit division pushes (signed wrapper, then the unsigned core).
DIV64_PUSH = 8 + 20

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
    Clobbers ip and the flags; preserves r4-r11."""
    general, start, loop, skip = (asm.label(n) for n in ("udiv64_general", "udiv64_start",
                                                          "udiv64_loop", "udiv64_skip"))
    e = asm.emit
    asm.bind(entry)
    e(E.t1_push([R4, R5, R6, R7, LR]))
    e(E.t2_orr_reg(R4, R1, R3, setflags=True))
    asm.b(general, Cond.NE)
    e(E.t1_udiv(R4, R0, R2))  # both upper halves 0: one 32-bit division
    e(E.t1_mls(R2, R4, R2, R0))
    e(E.t1_mov_reg(R0, R4))
    e(E.t1_movs_imm8(R1, 0))
    e(E.t1_movs_imm8(R3, 0))
    e(E.t1_pop([R4, R5, R6, R7, PC]))
    asm.bind(general)
    e(E.t1_cmp_reg(R0, R2))
    e(E.t2_sbc_reg(R4, R1, R3, setflags=True))
    asm.b(start, Cond.CS)  # dividend >= divisor
    e(E.t1_mov_reg(R2, R0))
    e(E.t1_mov_reg(R3, R1))
    e(E.t1_movs_imm8(R0, 0))
    e(E.t1_movs_imm8(R1, 0))
    e(E.t1_pop([R4, R5, R6, R7, PC]))
    asm.bind(start)
    for count, lo, hi in ((R4, R2, R3), (R5, R0, R1)):  # count = clz64(hi:lo)
        e(E.t1_clz(count, hi))
        e(E.t1_cmp_imm8(hi, 0))
        e(E.t1_it(Cond.EQ, "T"))
        e(E.t1_clz(count, lo))
        e(E.t2_adds_imm8(count, 32))  # in the IT block: ADD, no flags
    e(E.t1_subs_reg(R4, R4, R5))  # shift = clz(divisor) - clz(dividend), 0..63
    # divisor <<= shift (register shifts by 32..255 give 0)
    e(E.t2_lsl_reg(R3, R3, R4))
    e(E.t2_rsb_imm(R5, R4, 32))
    e(E.t2_lsr_reg(R5, R2, R5))
    e(E.t1_orrs_reg(R3, R5))
    e(E.t3_sub_imm(R5, R4, 32))
    e(E.t2_lsl_reg(R5, R2, R5))
    e(E.t1_orrs_reg(R3, R5))
    e(E.t2_lsl_reg(R2, R2, R4))
    e(E.t1_movs_imm8(R5, 0))  # quotient in r6:r5
    e(E.t1_movs_imm8(R6, 0))
    asm.bind(loop)
    e(E.t1_adds_reg(R5, R5, R5))
    e(E.t1_adcs_reg(R6, R6))
    e(E.t1_subs_reg(R7, R0, R2))
    e(E.t2_sbc_reg(IP, R1, R3, setflags=True))
    asm.b(skip, Cond.CC)
    e(E.t1_mov_reg(R0, R7))
    e(E.t1_mov_reg(R1, IP))
    e(E.t2_adds_imm8(R5, 1))
    asm.bind(skip)
    e(E.t1_lsrs_imm(R2, R2, 1))
    e(E.t2_orr_reg(R2, R2, R3, Shift(SRType.LSL, 31)))
    e(E.t1_lsrs_imm(R3, R3, 1))
    e(E.t2_subs_imm8(R4, 1))
    asm.b(loop, Cond.PL)
    e(E.t1_mov_reg(R2, R0))
    e(E.t1_mov_reg(R3, R1))
    e(E.t1_mov_reg(R0, R5))
    e(E.t1_mov_reg(R1, R6))
    e(E.t1_pop([R4, R5, R6, R7, PC]))


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
