"""Golden tests of the Thumb-2 encoders against GNU as (arm-none-eabi-as, Cortex-M4).

Every encoder is swept over every register in each register field and over the edges of each
immediate (0, 1, max, max+1, min, min-1, misaligned); accepted cases must give the bytes GNU
as gives for the same instruction text (with .n/.w forcing the width), refused ones must
raise EncodingError. All instructions are assembled in one run, cached per session.
"""

from __future__ import annotations

import inspect
import random

import pytest
from golden.cases import CaseBook, Reg, check_bad, check_disasm, check_good
from golden.gnu_as import THUMB_AS, THUMB_OBJDUMP, THUMB_PROLOGUE, assemble, disassemble

from femtojit.backends.armv7m import encode as E
from femtojit.backends.armv7m.encode import LR, PC, SP, Shift, SRType, ThumbModImm
from femtojit.backends.common.fields import EncodingError


class TReg(Reg):
    NAMES = E.REG_NAMES


ALL = [TReg(n) for n in range(16)]
LOW = set(range(8))
GEN = set(range(13)) | {LR}
NOTPC = set(range(15))
CONDS = ["eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le",
         "al", "nv"]
r = TReg


def regs_ok(**allowed):
    return lambda a: all(a[key] in values for key, values in allowed.items())


def both(*predicates):
    return lambda a: all(p(a) for p in predicates)


def in_range(key, low, high, scale=1):
    return lambda a: low <= a[key] <= high and a[key] % scale == 0


def s_suffix(a):
    return "s" if a.get("setflags") else ""


def reglist_text(registers):
    return ", ".join(format(TReg(x)) for x in registers)


def shift_text(shift):
    if shift is None:
        return ""
    return f", {shift.kind.name.lower()} #{shift.amount}"


MOD_IMM_GOOD = [0, 1, 0x7F, 0xFF, 0x100, 0x1FE, 0x3FC, 0xFF0, 0x00AB00AB, 0xAB00AB00,
                0xABABABAB, 0x01010101, 0x80000000, 0xFF000000, 0x3FC00000, 0x00FF00FF,
                0xC000003F]
MOD_IMM_BAD = [-1, 0x101, 0x12345678, 0x1FF0, 0xFFFF, 0x1_0000_0000, 0x80000001]
SHIFTS_GOOD = [None, Shift(SRType.LSL, 0), Shift(SRType.LSL, 1), Shift(SRType.LSL, 31),
               Shift(SRType.LSR, 1), Shift(SRType.LSR, 32), Shift(SRType.ASR, 1),
               Shift(SRType.ASR, 32), Shift(SRType.ROR, 1), Shift(SRType.ROR, 31)]
SHIFTS_BAD = [Shift(SRType.LSL, 32), Shift(SRType.LSL, -1), Shift(SRType.LSR, 0),
              Shift(SRType.LSR, 33), Shift(SRType.ASR, 0), Shift(SRType.ROR, 0),
              Shift(SRType.ROR, 32)]


def shift_ok(a):
    return a.get("shift") not in SHIFTS_BAD


def build_book() -> CaseBook:
    book = CaseBook()
    sweep = book.sweep

    # --- 16-bit shift/add/sub/mov/cmp --------------------------------------------------
    for fn, mnem, low, high in ((E.t1_lsls_imm, "lsls", 1, 31), (E.t1_lsrs_imm, "lsrs", 1, 32),
                                (E.t1_asrs_imm, "asrs", 1, 32)):
        sweep(fn, mnem + ".n {rd}, {rm}, #{amount}", dict(rd=r(0), rm=r(1), amount=1),
              dict(rd=ALL, rm=ALL, amount=[-1, 0, 1, 2, 31, 32, 33]),
              both(regs_ok(rd=LOW, rm=LOW), in_range("amount", low, high)))
    sweep(E.t2_movs_reg, "movs.n {rd}, {rm}", dict(rd=r(0), rm=r(1)), dict(rd=ALL, rm=ALL),
          regs_ok(rd=LOW, rm=LOW))
    for fn, mnem in ((E.t1_adds_reg, "adds"), (E.t1_subs_reg, "subs")):
        sweep(fn, mnem + ".n {rd}, {rn}, {rm}", dict(rd=r(0), rn=r(1), rm=r(2)),
              dict(rd=ALL, rn=ALL, rm=ALL), regs_ok(rd=LOW, rn=LOW, rm=LOW))
    for fn, mnem in ((E.t1_adds_imm3, "adds"), (E.t1_subs_imm3, "subs")):
        # GNU as prefers T2 for `adds rX, rX, #imm`: check those through the disassembler
        sweep(fn, lambda a, m=mnem: f"{m}{'' if a['rd'] == a['rn'] else '.n'} {a['rd']}, "
                                    f"{a['rn']}, #{a['imm']}",
              dict(rd=r(0), rn=r(1), imm=7), dict(rd=ALL, rn=ALL, imm=[-1, 0, 1, 7, 8]),
              both(regs_ok(rd=LOW, rn=LOW), in_range("imm", 0, 7)),
              extra=[dict(rd=r(x), rn=r(x), imm=x) for x in range(8)],
              disasm_when=lambda a, m=mnem: a["rd"] == a["rn"])
    for fn, text, reg in ((E.t1_movs_imm8, "movs.n {rd}, #{imm}", "rd"),
                          (E.t1_cmp_imm8, "cmp.n {rn}, #{imm}", "rn"),
                          (E.t2_adds_imm8, "adds.n {rdn}, #{imm}", "rdn"),
                          (E.t2_subs_imm8, "subs.n {rdn}, #{imm}", "rdn")):
        sweep(fn, text, {reg: r(3), "imm": 255}, {reg: ALL, "imm": [-1, 0, 1, 255, 256]},
              both(regs_ok(**{reg: LOW}), in_range("imm", 0, 255)))

    # --- 16-bit data processing ---------------------------------------------------------
    for fn, mnem in ((E.t1_ands_reg, "ands"), (E.t1_eors_reg, "eors"), (E.t1_lsls_reg, "lsls"),
                     (E.t1_lsrs_reg, "lsrs"), (E.t1_asrs_reg, "asrs"), (E.t1_adcs_reg, "adcs"),
                     (E.t1_sbcs_reg, "sbcs"), (E.t1_rors_reg, "rors"), (E.t1_orrs_reg, "orrs"),
                     (E.t1_bics_reg, "bics")):
        sweep(fn, mnem + ".n {rdn}, {rm}", dict(rdn=r(2), rm=r(5)), dict(rdn=ALL, rm=ALL),
              regs_ok(rdn=LOW, rm=LOW))
    for fn, mnem in ((E.t1_tst_reg, "tst"), (E.t1_cmp_reg, "cmp"), (E.t1_cmn_reg, "cmn")):
        sweep(fn, mnem + ".n {rn}, {rm}", dict(rn=r(2), rm=r(5)), dict(rn=ALL, rm=ALL),
              regs_ok(rn=LOW, rm=LOW))
    sweep(E.t1_mvns_reg, "mvns.n {rd}, {rm}", dict(rd=r(2), rm=r(5)), dict(rd=ALL, rm=ALL),
          regs_ok(rd=LOW, rm=LOW))
    sweep(E.t1_rsbs_imm, "rsbs.n {rd}, {rn}, #0", dict(rd=r(2), rn=r(5)), dict(rd=ALL, rn=ALL),
          regs_ok(rd=LOW, rn=LOW))
    sweep(E.t1_muls, "muls.n {rdm}, {rn}, {rdm}", dict(rdm=r(2), rn=r(5)),
          dict(rdm=ALL, rn=ALL), regs_ok(rdm=LOW, rn=LOW))

    # --- 16-bit special data processing, branch and exchange ----------------------------
    sweep(E.t2_add_reg, "add.n {rdn}, {rm}", dict(rdn=r(9), rm=r(3)), dict(rdn=ALL, rm=ALL),
          regs_ok(rdn=NOTPC, rm=NOTPC))
    sweep(E.t2_cmp_reg, "cmp.n {rn}, {rm}", dict(rn=r(9), rm=r(3)),
          dict(rn=ALL, rm=ALL), extra=[dict(rn=r(3), rm=r(12)), dict(rn=r(3), rm=r(1))],
          legal=both(regs_ok(rn=NOTPC, rm=NOTPC), lambda a: a["rn"] >= 8 or a["rm"] >= 8))
    sweep(E.t1_mov_reg, "mov.n {rd}, {rm}", dict(rd=r(9), rm=r(3)), dict(rd=ALL, rm=ALL),
          regs_ok(rd=NOTPC, rm=NOTPC))
    sweep(E.t1_bx, "bx {rm}", dict(rm=r(14)), dict(rm=ALL), regs_ok(rm=NOTPC))
    sweep(E.t1_blx_reg, "blx {rm}", dict(rm=r(3)), dict(rm=ALL), regs_ok(rm=NOTPC))

    # --- 16-bit loads and stores -----------------------------------------------------------
    sweep(E.t1_ldr_lit, "ldr.n {rt}, [pc, #{imm}]", dict(rt=r(1), imm=8),
          dict(rt=ALL, imm=[-4, 0, 2, 4, 1020, 1024]),
          both(regs_ok(rt=LOW), in_range("imm", 0, 1020, 4)))
    for fn, mnem in ((E.t1_str_reg, "str"), (E.t1_strh_reg, "strh"), (E.t1_strb_reg, "strb"),
                     (E.t1_ldrsb_reg, "ldrsb"), (E.t1_ldr_reg, "ldr"), (E.t1_ldrh_reg, "ldrh"),
                     (E.t1_ldrb_reg, "ldrb"), (E.t1_ldrsh_reg, "ldrsh")):
        sweep(fn, mnem + ".n {rt}, [{rn}, {rm}]", dict(rt=r(1), rn=r(2), rm=r(3)),
              dict(rt=ALL, rn=ALL, rm=ALL), regs_ok(rt=LOW, rn=LOW, rm=LOW))
    for fn, mnem, scale in ((E.t1_str_imm5, "str", 4), (E.t1_ldr_imm5, "ldr", 4),
                            (E.t1_strb_imm5, "strb", 1), (E.t1_ldrb_imm5, "ldrb", 1),
                            (E.t1_strh_imm5, "strh", 2), (E.t1_ldrh_imm5, "ldrh", 2)):
        top = 31 * scale
        offsets = [-scale, 0, scale, top, top + scale] + ([scale // 2] if scale > 1 else [])
        sweep(fn, mnem + ".n {rt}, [{rn}, #{offset}]", dict(rt=r(4), rn=r(6), offset=top),
              dict(rt=ALL, rn=ALL, offset=offsets),
              both(regs_ok(rt=LOW, rn=LOW), in_range("offset", 0, top, scale)))
    for fn, mnem in ((E.t2_str_sp_imm8, "str"), (E.t2_ldr_sp_imm8, "ldr")):
        sweep(fn, mnem + ".n {rt}, [sp, #{offset}]", dict(rt=r(7), offset=1020),
              dict(rt=ALL, offset=[-4, 0, 2, 4, 1020, 1024]),
              both(regs_ok(rt=LOW), in_range("offset", 0, 1020, 4)))

    # --- 16-bit address generation and miscellaneous ----------------------------------------
    sweep(E.t1_adr, "add {rd}, pc, #{imm}", dict(rd=r(5), imm=1020),
          dict(rd=ALL, imm=[-4, 0, 2, 4, 1020, 1024]),
          both(regs_ok(rd=LOW), in_range("imm", 0, 1020, 4)))
    sweep(E.t1_add_sp_imm8, "add.n {rd}, sp, #{imm}", dict(rd=r(5), imm=1020),
          dict(rd=ALL, imm=[-4, 0, 2, 4, 1020, 1024]),
          both(regs_ok(rd=LOW), in_range("imm", 0, 1020, 4)))
    for fn, mnem in ((E.t2_add_sp_imm7, "add"), (E.t1_sub_sp_imm7, "sub")):
        sweep(fn, mnem + ".n sp, sp, #{imm}", dict(imm=508),
              dict(imm=[-4, 0, 2, 4, 508, 512]), in_range("imm", 0, 508, 4))
    for fn, mnem in ((E.t1_cbz, "cbz"), (E.t1_cbnz, "cbnz")):
        sweep(fn, lambda a, m=mnem: f"{m} {a['rn']:}, .+{a['imm'] + 4}",
              dict(rn=r(3), imm=126), dict(rn=ALL, imm=[-2, 0, 1, 2, 64, 126, 128]),
              both(regs_ok(rn=LOW), in_range("imm", 0, 126, 2)))
    for fn, mnem in ((E.t1_sxth, "sxth"), (E.t1_sxtb, "sxtb"), (E.t1_uxth, "uxth"),
                     (E.t1_uxtb, "uxtb"), (E.t1_rev, "rev"), (E.t1_rev16, "rev16"),
                     (E.t1_revsh, "revsh")):
        sweep(fn, mnem + ".n {rd}, {rm}", dict(rd=r(1), rm=r(6)), dict(rd=ALL, rm=ALL),
              regs_ok(rd=LOW, rm=LOW))
    for fn, mnem, extra_reg in ((E.t1_push, "push", LR), (E.t1_pop, "pop", PC)):
        lists = [[x] for x in range(16)] + [list(range(8)) + [extra_reg], [0, 7], [],
                                             [1, 1], [extra_reg]]
        sweep(fn, lambda a, m=mnem: f"{m}.n {{{reglist_text(a['registers'])}}}",
              dict(registers=[4, extra_reg]), dict(registers=lists),
              lambda a, x=extra_reg: bool(a["registers"])
              and len(set(a["registers"])) == len(a["registers"])
              and set(a["registers"]) <= LOW | {x})
    sweep(E.t1_bkpt, "bkpt #{imm}", dict(imm=0), dict(imm=[-1, 0, 1, 255, 256]),
          in_range("imm", 0, 255))
    patterns = ["", "T", "E", "TT", "TE", "ET", "EE", "TTT", "TTE", "TET", "TEE", "ETT",
                "ETE", "EET", "EEE"]

    def it_block(firstcond, pattern):
        return E.t1_it(firstcond, pattern) + E.t1_nop() * (1 + len(pattern))

    def it_text(a):
        cond = a["firstcond"]
        conds = [CONDS[cond]] + [CONDS[cond if x == "T" else cond ^ 1] for x in a["pattern"]]
        return "\n".join([f"it{a['pattern'].lower()} {CONDS[cond]}"]
                         + [f"nop{c}" for c in conds])

    sweep(it_block, it_text, dict(firstcond=0, pattern=""),
          dict(firstcond=range(16), pattern=patterns + ["TTTT", "X"]),
          extra=[dict(firstcond=c, pattern=p) for c in (1, 10, 13, 14) for p in patterns],
          legal=lambda a: a["firstcond"] < 15 and len(a["pattern"]) <= 3
          and set(a["pattern"]) <= {"T", "E"}
          and not (a["firstcond"] == 14 and "E" in a["pattern"]),
          name="t1_it")
    sweep(E.t1_nop, "nop.n", {})
    sweep(E.t2_nop, "nop.w", {})

    # --- 16-bit multiple, branch, UDF ------------------------------------------------------
    lists = [[1, 2], [0], [7], list(range(8)), [8], [], [2, 3], [0, 2], [1, 1]]
    sweep(E.t1_stm, lambda a: f"stmia.n {a['rn']}!, {{{reglist_text(a['registers'])}}}",
          dict(rn=r(0), registers=[1, 2]), dict(rn=ALL, registers=lists),
          lambda a: a["rn"] in LOW and a["registers"] and set(a["registers"]) <= LOW
          and len(set(a["registers"])) == len(a["registers"])
          and (a["rn"] not in a["registers"] or a["rn"] == min(a["registers"])))
    sweep(E.t1_ldm,
          lambda a: f"ldmia.n {a['rn']}{'!' if a['writeback'] else ''}, "
                    f"{{{reglist_text(a['registers'])}}}",
          dict(rn=r(0), registers=[1, 2], writeback=True),
          dict(rn=ALL, registers=lists, writeback=[True, False]),
          extra=[dict(rn=r(2), registers=[1, 2, 3], writeback=False),
                 dict(rn=r(2), registers=[1, 2, 3], writeback=True)],
          legal=lambda a: a["rn"] in LOW and a["registers"] and set(a["registers"]) <= LOW
          and len(set(a["registers"])) == len(a["registers"])
          and a["writeback"] == (a["rn"] not in a["registers"]))
    sweep(E.t1_b_cond, lambda a: f"b{CONDS[a['cond']]}.n .+{a['imm'] + 4}",
          dict(cond=0, imm=254), dict(cond=range(16), imm=[-258, -256, -2, 0, 1, 2, 254, 256]),
          lambda a: a["cond"] < 14 and -256 <= a["imm"] <= 254 and a["imm"] % 2 == 0)
    sweep(E.t1_udf, "udf.n #{imm}", dict(imm=0), dict(imm=[-1, 0, 1, 255, 256]),
          in_range("imm", 0, 255))
    sweep(E.t2_b, lambda a: f"b.n .+{a['imm'] + 4}", dict(imm=0),
          dict(imm=[-2050, -2048, -2, 0, 1, 2, 2046, 2048]), in_range("imm", -2048, 2046, 2))

    # --- 32-bit load/store multiple -------------------------------------------------------
    for fn, mnem, load in ((E.t2_stm, "stmia.w", False), (E.t2_ldm, "ldmia.w", True),
                           (E.t1_stmdb, "stmdb.w", False), (E.t1_ldmdb, "ldmdb.w", True)):
        lists = ([[0, x] for x in range(1, 16)] + [[3], [], list(range(13)) + [LR],
                 list(range(13)) + [PC], [LR, PC], [1, 1]])
        allowed = (GEN | {PC}) if load else GEN

        def legal(a, allowed=allowed):
            regs = a["registers"]
            return (a["rn"] in NOTPC and len(regs) >= 2 and len(set(regs)) == len(regs)
                    and set(regs) <= allowed and not {LR, PC} <= set(regs)
                    and not (a["writeback"] and a["rn"] in regs))

        sweep(fn, lambda a, m=mnem: f"{m} {a['rn']}{'!' if a['writeback'] else ''}, "
                                    f"{{{reglist_text(a['registers'])}}}",
              dict(rn=r(5), registers=[0, 1], writeback=True),
              dict(rn=ALL, registers=lists, writeback=[False, True]),
              extra=[dict(rn=r(SP), registers=[4, 5, 6, LR]), dict(rn=r(5), registers=[0, 5],
                                                                  writeback=False)],
              legal=legal)
    lists = [[0, x] for x in range(1, 16)] + [[3], [], list(range(13)) + [LR], [LR, PC],
                                              list(range(13)) + [PC], [1, 1]]
    sweep(E.t2_push, lambda a: f"push.w {{{reglist_text(a['registers'])}}}",
          dict(registers=[4, LR]), dict(registers=lists),
          lambda a: len(a["registers"]) >= 2 and set(a["registers"]) <= GEN
          and len(set(a["registers"])) == len(a["registers"]))
    sweep(E.t2_pop, lambda a: f"pop.w {{{reglist_text(a['registers'])}}}",
          dict(registers=[4, PC]), dict(registers=lists),
          lambda a: len(a["registers"]) >= 2 and set(a["registers"]) <= GEN | {PC}
          and len(set(a["registers"])) == len(a["registers"])
          and not {LR, PC} <= set(a["registers"]))
    sweep(E.t3_push, "push.w {{{rt}}}", dict(rt=r(5)), dict(rt=ALL), regs_ok(rt=GEN))
    sweep(E.t3_pop, "pop.w {{{rt}}}", dict(rt=r(5)), dict(rt=ALL), regs_ok(rt=GEN | {PC}))

    for fn, mnem, load in ((E.t1_ldrd_imm, "ldrd", True), (E.t1_strd_imm, "strd", False)):
        def ldrd_text(a, m=mnem):
            head = f"{m} {a['rt']}, {a['rt2']}, [{a['rn']}"
            if not a["index"]:
                return f"{head}], #{a['offset']}"
            return f"{head}, #{a['offset']}]" + ("!" if a["wback"] else "")

        def ldrd_legal(a, load=load):
            return (a["rt"] in GEN and a["rt2"] in GEN and a["rn"] in NOTPC
                    and (a["index"] or a["wback"]) and not (load and a["rt"] == a["rt2"])
                    and not (a["wback"] and a["rn"] in (a["rt"], a["rt2"]))
                    and -1020 <= a["offset"] <= 1020 and a["offset"] % 4 == 0)

        for index, wback in ((True, False), (True, True), (False, True), (False, False)):
            sweep(fn, ldrd_text,
                  dict(rt=r(2), rt2=r(3), rn=r(4), offset=-1020, index=index, wback=wback),
                  dict(rt=ALL, rt2=ALL, rn=ALL,
                       offset=[-1024, -1020, -4, -2, 0, 4, 1020, 1024]),
                  ldrd_legal)

    # --- 32-bit modified immediate -----------------------------------------------------------
    imm_values = MOD_IMM_GOOD + MOD_IMM_BAD + [ThumbModImm(0xAB00AB00)]

    def mod_ok(a):
        return ThumbModImm.fits(int(a["imm"])) and 0 <= int(a["imm"]) < 2**32

    def mod_text(template):
        return lambda a: template.format(**{**a, "s": s_suffix(a), "imm": int(a["imm"])})

    for fn, mnem in ((E.t1_and_imm, "and"), (E.t1_bic_imm, "bic"), (E.t1_orr_imm, "orr"),
                     (E.t1_orn_imm, "orn"), (E.t1_eor_imm, "eor"), (E.t1_adc_imm, "adc"),
                     (E.t1_sbc_imm, "sbc"), (E.t2_rsb_imm, "rsb")):
        sweep(fn, mod_text(mnem + "{s}.w {rd}, {rn}, #{imm}"),
              dict(rd=r(3), rn=r(4), imm=0xFF00, setflags=False),
              dict(rd=ALL, rn=ALL, imm=imm_values, setflags=[True]),
              both(regs_ok(rd=GEN, rn=GEN), mod_ok))
    for fn, mnem in ((E.t3_add_imm, "add"), (E.t3_sub_imm, "sub")):
        sweep(fn, mod_text(mnem + "{s}.w {rd}, {rn}, #{imm}"),
              dict(rd=r(3), rn=r(4), imm=0xFF00, setflags=False),
              dict(rd=ALL, rn=ALL, imm=imm_values, setflags=[True]),
              extra=[dict(rd=r(SP), rn=r(SP)), dict(rd=r(SP), rn=r(SP), setflags=True),
                     dict(rd=r(5), rn=r(SP)), dict(rd=r(PC), rn=r(SP)),
                     dict(rd=r(SP), rn=r(5))],
              legal=both(mod_ok, lambda a: a["rn"] in NOTPC
                         and a["rd"] in (NOTPC if a["rn"] == SP else GEN)))
    for fn, mnem in ((E.t2_mov_imm, "mov"), (E.t1_mvn_imm, "mvn")):
        sweep(fn, mod_text(mnem + "{s}.w {rd}, #{imm}"), dict(rd=r(3), imm=0xFF00),
              dict(rd=ALL, imm=imm_values, setflags=[True]), both(regs_ok(rd=GEN), mod_ok))
    for fn, text, regs in ((E.t1_tst_imm, "tst {rn}, #{imm}", GEN),
                           (E.t1_teq_imm, "teq {rn}, #{imm}", GEN),
                           (E.t1_cmn_imm, "cmn.w {rn}, #{imm}", NOTPC),
                           (E.t2_cmp_imm, "cmp.w {rn}, #{imm}", NOTPC)):
        sweep(fn, mod_text(text), dict(rn=r(3), imm=0xFF00), dict(rn=ALL, imm=imm_values),
              both(regs_ok(rn=regs), mod_ok))

    # --- 32-bit plain binary immediate -------------------------------------------------------
    for fn, mnem in ((E.t4_addw_imm12, "addw"), (E.t4_subw_imm12, "subw")):
        sweep(fn, mnem + " {rd}, {rn}, #{imm}", dict(rd=r(3), rn=r(4), imm=4095),
              dict(rd=ALL, rn=ALL, imm=[-1, 0, 1, 4095, 4096]),
              extra=[dict(rd=r(SP), rn=r(SP)), dict(rd=r(PC), rn=r(SP)),
                     dict(rd=r(SP), rn=r(5))],
              legal=both(in_range("imm", 0, 4095), lambda a: a["rn"] in NOTPC
                         and a["rd"] in (NOTPC if a["rn"] == SP else GEN)))
    sweep(E.t3_adr, "addw {rd}, pc, #{imm}", dict(rd=r(3), imm=4095),
          dict(rd=ALL, imm=[-1, 0, 1, 4095, 4096]),
          both(regs_ok(rd=GEN), in_range("imm", 0, 4095)))
    sweep(E.t2_adr, lambda a: f"subw {a['rd']}, pc, #{-a['imm']}", dict(rd=r(3), imm=-4095),
          dict(rd=ALL, imm=[1, -1, -4095, -4096]),
          both(regs_ok(rd=GEN), in_range("imm", -4095, 0)))
    for fn, mnem in ((E.t3_movw, "movw"), (E.t1_movt, "movt")):
        sweep(fn, mnem + " {rd}, #{imm}", dict(rd=r(3), imm=0xFFFF),
              dict(rd=ALL, imm=[-1, 0, 1, 0x1234, 0xFFFF, 0x10000]),
              both(regs_ok(rd=GEN), in_range("imm", 0, 0xFFFF)))
    fields = [(0, 1), (0, 32), (31, 1), (8, 8), (16, 16), (1, 31), (31, 2), (0, 33), (32, 1),
              (-1, 1), (0, 0), (4, 29)]

    def field_ok(a):
        return 0 <= a["lsb"] <= 31 and 1 <= a["width"] <= 32 - a["lsb"]

    for fn, mnem in ((E.t1_sbfx, "sbfx"), (E.t1_ubfx, "ubfx"), (E.t1_bfi, "bfi")):
        sweep(fn, mnem + " {rd}, {rn}, #{lsb}, #{width}", dict(rd=r(3), rn=r(4), lsb=3, width=5),
              dict(rd=ALL, rn=ALL), extra=[dict(lsb=x, width=y) for x, y in fields],
              legal=both(regs_ok(rd=GEN, rn=GEN), field_ok))
    sweep(E.t1_bfc, "bfc {rd}, #{lsb}, #{width}", dict(rd=r(3), lsb=3, width=5),
          dict(rd=ALL), extra=[dict(lsb=x, width=y) for x, y in fields],
          legal=both(regs_ok(rd=GEN), field_ok))
    # USAT (added by the armv7m backend, which clamps region limits with it)
    usat_shifts = [Shift(SRType.LSL, 1), Shift(SRType.LSL, 31), Shift(SRType.ASR, 1),
                   Shift(SRType.ASR, 31), Shift(SRType.LSR, 3), Shift(SRType.ASR, 32),
                   Shift(SRType.LSL, 0)]

    def usat_shift_ok(a):
        sh = a.get("shift")
        return sh is None or (sh.kind in (SRType.LSL, SRType.ASR) and 1 <= sh.amount <= 31)

    sweep(E.t1_usat, lambda a: "usat {rd}, #{sat}, {rn}{sh}".format(
              **a, sh=shift_text(a.get("shift"))),
          dict(rd=r(3), sat=31, rn=r(4), shift=None),
          dict(rd=ALL, rn=ALL, sat=[0, 1, 16, 31, 32, -1]),
          extra=[dict(shift=x) for x in usat_shifts],
          legal=both(regs_ok(rd=GEN, rn=GEN), in_range("sat", 0, 31), usat_shift_ok))

    # --- 32-bit shifted register ----------------------------------------------------------------
    def dp_text(template):
        return lambda a: template.format(**{**a, "s": s_suffix(a),
                                            "shift": shift_text(a.get("shift"))})

    shifts = SHIFTS_GOOD + SHIFTS_BAD
    for fn, mnem in ((E.t2_and_reg, "and"), (E.t2_bic_reg, "bic"), (E.t2_orr_reg, "orr"),
                     (E.t1_orn_reg, "orn"), (E.t2_eor_reg, "eor"), (E.t2_adc_reg, "adc"),
                     (E.t2_sbc_reg, "sbc"), (E.t1_rsb_reg, "rsb")):
        sweep(fn, dp_text(mnem + "{s}.w {rd}, {rn}, {rm}{shift}"),
              dict(rd=r(3), rn=r(4), rm=r(5), shift=None, setflags=False),
              dict(rd=ALL, rn=ALL, rm=ALL, shift=shifts, setflags=[True]),
              both(regs_ok(rd=GEN, rn=GEN, rm=GEN), shift_ok))
    for fn, mnem in ((E.t3_add_reg, "add"), (E.t2_sub_reg, "sub")):
        def sp_legal(a):
            if a["rn"] not in NOTPC or a["rm"] not in GEN or not shift_ok(a):
                return False
            if a["rn"] != SP:
                return a["rd"] in GEN
            shift = a.get("shift")
            return a["rd"] in NOTPC and not (
                a["rd"] == SP and shift is not None
                and (shift.kind != SRType.LSL or shift.amount > 3))

        sweep(fn, dp_text(mnem + "{s}.w {rd}, {rn}, {rm}{shift}"),
              dict(rd=r(3), rn=r(4), rm=r(5), shift=None, setflags=False),
              dict(rd=ALL, rn=ALL, rm=ALL, shift=shifts, setflags=[True]),
              extra=[dict(rd=r(SP), rn=r(SP)), dict(rd=r(SP), rn=r(SP), shift=Shift(SRType.LSL, 3)),
                     dict(rd=r(SP), rn=r(SP), shift=Shift(SRType.LSL, 4)),
                     dict(rd=r(SP), rn=r(SP), shift=Shift(SRType.LSR, 1)),
                     dict(rd=r(6), rn=r(SP), shift=Shift(SRType.ASR, 7)),
                     dict(rd=r(PC), rn=r(SP)), dict(rd=r(SP), rn=r(6))],
              legal=sp_legal)
    for fn, mnem, regs in ((E.t2_tst_reg, "tst.w", GEN), (E.t1_teq_reg, "teq", GEN),
                           (E.t2_cmn_reg, "cmn.w", NOTPC), (E.t3_cmp_reg, "cmp.w", NOTPC)):
        sweep(fn, dp_text(mnem + " {rn}, {rm}{shift}"), dict(rn=r(4), rm=r(5), shift=None),
              dict(rn=ALL, rm=ALL, shift=shifts),
              both(regs_ok(rn=regs, rm=GEN), shift_ok))
    sweep(E.t2_mvn_reg, dp_text("mvn{s}.w {rd}, {rm}{shift}"),
          dict(rd=r(3), rm=r(5), shift=None, setflags=False),
          dict(rd=ALL, rm=ALL, shift=shifts, setflags=[True]),
          both(regs_ok(rd=GEN, rm=GEN), shift_ok))
    sweep(E.t3_mov_reg, dp_text("mov{s}.w {rd}, {rm}"), dict(rd=r(3), rm=r(5), setflags=False),
          dict(rd=ALL, rm=ALL, setflags=[True]), regs_ok(rd=GEN, rm=GEN))
    for fn, mnem, low, high in ((E.t2_lsl_imm, "lsl", 1, 31), (E.t2_lsr_imm, "lsr", 1, 32),
                                (E.t2_asr_imm, "asr", 1, 32), (E.t1_ror_imm, "ror", 1, 31)):
        sweep(fn, dp_text(mnem + "{s}.w {rd}, {rm}, #{amount}"),
              dict(rd=r(3), rm=r(5), amount=1, setflags=False),
              dict(rd=ALL, rm=ALL, amount=[-1, 0, 1, 2, 31, 32, 33], setflags=[True]),
              both(regs_ok(rd=GEN, rm=GEN), in_range("amount", low, high)))
    for fn, mnem in ((E.t2_lsl_reg, "lsl"), (E.t2_lsr_reg, "lsr"), (E.t2_asr_reg, "asr"),
                     (E.t2_ror_reg, "ror")):
        sweep(fn, dp_text(mnem + "{s}.w {rd}, {rn}, {rm}"),
              dict(rd=r(3), rn=r(4), rm=r(5), setflags=False),
              dict(rd=ALL, rn=ALL, rm=ALL, setflags=[True]), regs_ok(rd=GEN, rn=GEN, rm=GEN))

    # --- extends, reverses, multiplies, divides ----------------------------------------------
    for fn, mnem in ((E.t2_sxth, "sxth"), (E.t2_uxth, "uxth"), (E.t2_sxtb, "sxtb"),
                     (E.t2_uxtb, "uxtb")):
        sweep(fn, lambda a, m=mnem: f"{m}.w {a['rd']}, {a['rm']}"
                                    + (f", ror #{a['rotation']}" if a["rotation"] else ""),
              dict(rd=r(3), rm=r(5), rotation=0),
              dict(rd=ALL, rm=ALL, rotation=[-8, 0, 4, 8, 16, 24, 32]),
              both(regs_ok(rd=GEN, rm=GEN), in_range("rotation", 0, 24, 8)))
    for fn, text in ((E.t2_rev, "rev.w"), (E.t2_rev16, "rev16.w"), (E.t2_revsh, "revsh.w"),
                     (E.t1_clz, "clz")):
        sweep(fn, text + " {rd}, {rm}", dict(rd=r(3), rm=r(5)), dict(rd=ALL, rm=ALL),
              regs_ok(rd=GEN, rm=GEN))
    for fn, text in ((E.t2_mul, "mul"), (E.t1_sdiv, "sdiv"), (E.t1_udiv, "udiv")):
        sweep(fn, text + " {rd}, {rn}, {rm}", dict(rd=r(3), rn=r(4), rm=r(5)),
              dict(rd=ALL, rn=ALL, rm=ALL), regs_ok(rd=GEN, rn=GEN, rm=GEN))
    for fn, text in ((E.t1_mla, "mla"), (E.t1_mls, "mls")):
        sweep(fn, text + " {rd}, {rn}, {rm}, {ra}", dict(rd=r(3), rn=r(4), rm=r(5), ra=r(6)),
              dict(rd=ALL, rn=ALL, rm=ALL, ra=ALL), regs_ok(rd=GEN, rn=GEN, rm=GEN, ra=GEN))
    for fn, text in ((E.t1_smull, "smull"), (E.t1_umull, "umull"), (E.t1_smlal, "smlal"),
                     (E.t1_umlal, "umlal")):
        sweep(fn, text + " {rdlo}, {rdhi}, {rn}, {rm}",
              dict(rdlo=r(0), rdhi=r(1), rn=r(4), rm=r(5)),
              dict(rdlo=ALL, rdhi=ALL, rn=ALL, rm=ALL),
              both(regs_ok(rdlo=GEN, rdhi=GEN, rn=GEN, rm=GEN),
                   lambda a: a["rdlo"] != a["rdhi"]))

    # --- 32-bit single loads and stores -----------------------------------------------------
    word = GEN | {SP}  # STR may store SP; no load may write it (Cortex-M3 erratum 752419)
    memops = [  # imm12 fn, imm8 fn, reg fn, mnemonic, legal Rt
        (E.t3_ldr_imm12, E.t4_ldr_imm8, E.t2_ldr_reg, "ldr", GEN),
        (E.t2_ldrb_imm12, E.t3_ldrb_imm8, E.t2_ldrb_reg, "ldrb", GEN),
        (E.t2_ldrh_imm12, E.t3_ldrh_imm8, E.t2_ldrh_reg, "ldrh", GEN),
        (E.t1_ldrsb_imm12, E.t2_ldrsb_imm8, E.t2_ldrsb_reg, "ldrsb", GEN),
        (E.t1_ldrsh_imm12, E.t2_ldrsh_imm8, E.t2_ldrsh_reg, "ldrsh", GEN),
        (E.t3_str_imm12, E.t4_str_imm8, E.t2_str_reg, "str", word),
        (E.t2_strb_imm12, E.t3_strb_imm8, E.t2_strb_reg, "strb", GEN),
        (E.t2_strh_imm12, E.t3_strh_imm8, E.t2_strh_reg, "strh", GEN),
    ]
    for imm12_fn, imm8_fn, reg_fn, mnem, rt_ok in memops:
        sweep(imm12_fn, mnem + ".w {rt}, [{rn}, #{offset}]", dict(rt=r(3), rn=r(4), offset=4095),
              dict(rt=ALL, rn=ALL, offset=[-1, 0, 1, 4095, 4096]),
              both(regs_ok(rt=rt_ok, rn=NOTPC), in_range("offset", 0, 4095)))

        def imm8_text(a, m=mnem):
            if not a["index"]:
                return f"{m} {a['rt']}, [{a['rn']}], #{a['offset']}"
            return f"{m} {a['rt']}, [{a['rn']}, #{a['offset']}]" + ("!" if a["wback"] else "")

        def imm8_legal(a, rt_ok=rt_ok):
            return (a["rt"] in rt_ok and a["rn"] in NOTPC and -255 <= a["offset"] <= 255
                    and (a["index"] or a["wback"])
                    and not (a["index"] and not a["wback"] and a["offset"] >= 0)
                    and not (a["wback"] and a["rn"] == a["rt"]))

        for index, wback in ((True, False), (True, True), (False, True), (False, False)):
            sweep(imm8_fn, imm8_text,
                  dict(rt=r(3), rn=r(4), offset=-255, index=index, wback=wback),
                  dict(rt=ALL, rn=ALL, offset=[-256, -255, -1, 0, 1, 255, 256]), imm8_legal)
        sweep(reg_fn, mnem + ".w {rt}, [{rn}, {rm}, lsl #{lsl}]",
              dict(rt=r(3), rn=r(4), rm=r(5), lsl=0),
              dict(rt=ALL, rn=ALL, rm=ALL, lsl=[-1, 0, 1, 3, 4]),
              both(regs_ok(rt=rt_ok, rn=NOTPC, rm=GEN), in_range("lsl", 0, 3)))
    sweep(E.t2_ldr_lit, "ldr.w {rt}, [pc, #{imm}]", dict(rt=r(3), imm=-4095),
          dict(rt=ALL, imm=[-4096, -4095, -1, 0, 1, 4095, 4096]),
          both(regs_ok(rt=NOTPC), in_range("imm", -4095, 4095)))

    # --- 32-bit branches, UDF -------------------------------------------------------------------
    sweep(E.t3_b_cond, lambda a: f"b{CONDS[a['cond']]}.w .+{a['imm'] + 4}",
          dict(cond=1, imm=-(1 << 20)),
          dict(cond=range(16), imm=[-(1 << 20) - 2, -(1 << 20), -2, 0, 1, 2, 0x5554,
                                    (1 << 20) - 2, 1 << 20]),
          lambda a: a["cond"] < 14 and -(1 << 20) <= a["imm"] < (1 << 20) and a["imm"] % 2 == 0)
    for fn, text in ((E.t4_b, "b.w"), (E.t1_bl, "bl")):
        sweep(fn, lambda a, t=text: f"{t} .+{a['imm'] + 4}", dict(imm=0),
              dict(imm=[-(1 << 24) - 2, -(1 << 24), -(1 << 22) - 2, -2, 0, 1, 2, 0x2AAAAA,
                        (1 << 22), (1 << 23), (1 << 24) - 2, 1 << 24]),
              in_range("imm", -(1 << 24), (1 << 24) - 2, 2))
    sweep(E.t2_udf, "udf.w #{imm}", dict(imm=0), dict(imm=[-1, 0, 1, 0xFFFF, 0x10000]),
          in_range("imm", 0, 0xFFFF))
    return book


BOOK = build_book()


@pytest.fixture(scope="session")
def thumb_oracle() -> dict[str, bytes]:
    texts = BOOK.all_asm()
    return {text: code for text, (_, code) in zip(texts, assemble(THUMB_AS, THUMB_PROLOGUE, texts))}


@pytest.fixture(scope="session")
def thumb_disassembly() -> dict[int, str]:
    """objdump's text for the cases whose text GNU as would encode another way."""
    cases, chunks = [], []
    for case in BOOK.disasm_cases():
        try:
            chunks.append(case.call(**case.kwargs))
        except EncodingError:
            continue  # reported by check_good's caller through check_disasm as missing
        cases.append(case)
    return {id(case): text for case, text in zip(cases, disassemble(THUMB_OBJDUMP, chunks))}


@pytest.mark.parametrize("name", BOOK.names())
def test_encoder_matches_gnu_as(name, thumb_oracle, thumb_disassembly):
    problems = check_good(BOOK.good[name], thumb_oracle)
    problems += check_disasm(
        [case for case in BOOK.good[name] if case.disasm], thumb_disassembly, "@"
    )
    problems += check_bad(BOOK.bad[name], EncodingError)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:30])


def test_every_encoder_has_golden_cases():
    encoders = {name for name, value in inspect.getmembers(E, inspect.isfunction)
                if name[:2] in ("t1", "t2", "t3", "t4") and name[2] == "_"
                and value.__module__ == E.__name__}
    covered = set(BOOK.names())
    assert encoders - covered == set()
    for name in covered:  # both directions: each encoder has accepted and refused cases
        assert BOOK.good[name], name
    assert sum(len(cases) for cases in BOOK.bad.values()) > 1000


# --- modified immediates ----------------------------------------------------------------------


def _all_expansions() -> dict[int, int]:
    values = {}
    for imm12 in range(4096):
        try:
            values.setdefault(E.thumb_expand_imm(imm12), imm12)
        except EncodingError:
            assert imm12 >> 10 == 0 and imm12 & 0xFF == 0 and imm12 >> 8
    return values


def test_modified_immediate_round_trip_and_completeness():
    expansions = _all_expansions()
    for value in expansions:
        imm = ThumbModImm(value)
        assert E.thumb_expand_imm(imm.imm12) == value
        assert ThumbModImm.try_encode(value) == imm
    rng = random.Random(1)
    samples = [rng.getrandbits(32) for _ in range(20000)]
    samples += [rng.getrandbits(8) << rng.randrange(25) for _ in range(2000)]
    for value in samples:
        assert ThumbModImm.fits(value) == (value in expansions), hex(value)
        if value not in expansions:
            assert ThumbModImm.try_encode(value) is None
            with pytest.raises(EncodingError):
                ThumbModImm(value)
    for bad in (-1, 1 << 32, True, "1"):
        assert not ThumbModImm.fits(bad)


def test_typed_field_immediates():
    assert E.Imm12.try_encode(4095).field == 4095
    assert E.Imm12.try_encode(4096) is None
    assert E.Imm12.try_encode(-1) is None
    assert E.WordOffset5(124).field == 31
    assert E.WordOffset5.try_encode(126) is None
    assert E.HalfOffset5.try_encode(62).field == 31
    assert E.SPAdjust7.max() == 508
    with pytest.raises(EncodingError):
        E.SPOffset8(1024)
    # encoders accept typed immediates as well as ints
    assert E.t1_ldr_imm5(0, 1, E.WordOffset5(8)) == E.t1_ldr_imm5(0, 1, 8)
    assert E.t3_add_imm(0, 1, ThumbModImm(0x100)) == E.t3_add_imm(0, 1, 0x100)


def test_cond_invert():
    assert E.Cond.EQ.invert() is E.Cond.NE
    assert E.Cond.LT.invert() is E.Cond.GE
    with pytest.raises(EncodingError):
        E.Cond.AL.invert()


# --- label uses: patched bytes against the assembler's own label resolution -------------------

LABEL_CASES = [  # label use, the instruction text with {target}, fresh bytes to patch
    (E.B_T1, "bne.n {target}", E.t1_b_cond(1, 0)),
    (E.B_T2, "b.n {target}", E.t2_b(0)),
    (E.B_T3, "bgt.w {target}", E.t3_b_cond(12, 0)),
    (E.B_T4, "b.w {target}", E.t4_b(0)),
    (E.BL_T1, "bl {target}", E.t1_bl(0)),
    (E.CBZ_T1, "cbnz r5, {target}", E.t1_cbnz(5, 0)),
    (E.LDR_LIT_T1, "ldr.n r6, {target}", E.t1_ldr_lit(6, 0)),
    (E.LDR_LIT_T2, "ldr.w r9, {target}", E.t2_ldr_lit(9, 0)),
    (E.ADR_T1, "adr.n r2, {target}", E.t1_adr(2, 0)),
    (E.ADR_W, "adr.w r11, {target}", E.t3_adr(11, 0)),
]


def _edge_offsets(use, at):
    """Offsets (target - at) at and just beyond the reach of `use` from `at`."""
    base = use.pc_base(at) - at
    low = base + use.min_disp
    high = base + use.max_disp
    inside = [low, high, low + use.align, high - use.align, base]
    outside = [low - use.align, high + use.align]
    if use.align > 1:
        outside.append(low + 1)
    return [o for o in inside if use.fits(at, o)], outside


def test_label_use_patching_matches_assembler():
    items, expected = [], []
    for use, text, fresh in LABEL_CASES:
        for misalign in (0, 2):
            inside, outside = _edge_offsets(use, misalign)
            for offset in inside:
                pad = "nop.n\n" if misalign else ""
                items.append(f".balign 4\n{pad}{text.format(target=f'.+{offset}')}")
                expected.append((use, fresh, misalign, offset))
            for offset in outside:
                code = bytearray(fresh)
                padded = bytearray(misalign) + code
                assert not use.fits(misalign, offset), (use.name, misalign, offset)
                with pytest.raises(EncodingError):
                    use.patch(padded, misalign, offset)
                assert padded[misalign:] == fresh  # nothing written on failure
    results = assemble(THUMB_AS, THUMB_PROLOGUE, items)
    for (use, fresh, misalign, offset), (address, code) in zip(expected, results):
        at = address + len(code) - use.size
        assert at % 4 == misalign
        buffer = bytearray(misalign) + bytearray(fresh)
        use.patch(buffer, misalign, offset)
        assert bytes(buffer[misalign:]) == code[-use.size:], (use.name, misalign, offset)


def test_label_use_ranges():
    assert (E.B_T1.min_offset, E.B_T1.max_offset) == (-252, 258)
    assert (E.B_T4.min_offset, E.B_T4.max_offset) == (-(1 << 24) + 4, (1 << 24) + 2)
    assert (E.CBZ_T1.min_offset, E.CBZ_T1.max_offset) == (4, 130)
    assert (E.LDR_LIT_T1.min_offset, E.LDR_LIT_T1.max_offset) == (4, 1022)
    for use in E.LABEL_USES:
        for at in (0, 2, 4, 6):  # the conservative bounds hold from every address
            edges = [*range(use.min_offset, use.min_offset + 8),
                     *range(use.max_offset - 7, use.max_offset + 1)]
            for offset in edges:
                if (at + offset - use.pc_base(at)) % use.align == 0:
                    assert use.fits(at, offset), (use.name, at, offset)
        assert not use.fits(1, 8)  # a Thumb instruction is never at an odd address
