"""Golden tests of the RV32IMC encoders against GNU as (riscv64-unknown-elf-as, rv32imc).

Every encoder is swept over all 32 registers in each register field (x8-x15 being the only
legal ones in the compressed 3-bit fields) and over the edges of each immediate; accepted
cases must give GNU as's bytes for the same text (`.option norvc` for the 32-bit forms,
explicit `c.` mnemonics for the compressed ones), refused ones must raise EncodingError.
`li` is compared with GNU as's own `li` expansion and run under Unicorn.
"""

from __future__ import annotations

import inspect
import random

import pytest
from golden.cases import CaseBook, Reg, check_bad, check_good
from golden.gnu_as import RV32_AS, RV32_PROLOGUE, assemble, rejected

from femtojit.backends.common.fields import EncodingError
from femtojit.backends.rv32 import encode as E


class XReg(Reg):
    NAMES = tuple(f"x{n}" for n in range(32))


ALL = [XReg(n) for n in range(32)]
CREGS = set(range(8, 16))
NONZERO = set(range(1, 32))
x = XReg


def rvc(text: str) -> str:
    return f".option rvc\n{text}\n.option norvc"


def target(offset: int) -> str:
    return f".+{offset}" if offset >= 0 else f".-{-offset}"


def in_range(key, low, high, scale=1, nonzero=False):
    return lambda a: (low <= a[key] <= high and a[key] % scale == 0
                      and not (nonzero and a[key] == 0))


def regs_ok(**allowed):
    return lambda a: all(a[key] in values for key, values in allowed.items())


def both(*predicates):
    return lambda a: all(p(a) for p in predicates)


LI_VALUES = [0, 1, -1, 31, 32, -32, -33, 2047, 2048, -2048, -2049, 0xFFF, 0x1000, 0x1F000,
             0x1F800, 0x1F7FF, 0x20000, -0x20000, -0x20800, -0x1F800, 0x7FFFF800, 0x7FFFF7FF,
             0x7FFFFFFF, -(1 << 31), 0x12345678, -0x12345678, 0x10100, 0x101F0, 0x10200,
             0x7FF0, 0xFFFFF000 - (1 << 32), 0x3FFFF, 0x5000, 0x5010, 0x5400]


def build_book() -> CaseBook:
    book = CaseBook()
    sweep = book.sweep

    # --- RV32I and M ------------------------------------------------------------------------
    for fn in (E.add, E.sub, E.sll, E.slt, E.sltu, E.xor, E.srl, E.sra, E.or_, E.and_,
               E.mul, E.mulh, E.mulhsu, E.mulhu, E.div, E.divu, E.rem, E.remu):
        mnem = fn.__name__.rstrip("_")
        sweep(fn, mnem + " {rd}, {rs1}, {rs2}", dict(rd=x(5), rs1=x(6), rs2=x(7)),
              dict(rd=ALL, rs1=ALL, rs2=ALL + [x(32), x(-1)]), regs_ok(rd=ALL, rs1=ALL, rs2=ALL))
    imm12 = [-2049, -2048, -1, 0, 1, 2047, 2048]
    for fn in (E.addi, E.slti, E.sltiu, E.xori, E.ori, E.andi):
        sweep(fn, fn.__name__ + " {rd}, {rs1}, {imm}", dict(rd=x(5), rs1=x(6), imm=-2048),
              dict(rd=ALL + [x(32)], rs1=ALL, imm=imm12),
              both(regs_ok(rd=ALL), in_range("imm", -2048, 2047)))
    for fn in (E.slli, E.srli, E.srai):
        sweep(fn, fn.__name__ + " {rd}, {rs1}, {shamt}", dict(rd=x(5), rs1=x(6), shamt=31),
              dict(rd=ALL, rs1=ALL, shamt=[-1, 0, 1, 31, 32]), in_range("shamt", 0, 31))
    for fn in (E.lb, E.lh, E.lw, E.lbu, E.lhu):
        sweep(fn, fn.__name__ + " {rd}, {offset}({rs1})", dict(rd=x(5), rs1=x(6), offset=-2048),
              dict(rd=ALL, rs1=ALL, offset=imm12), in_range("offset", -2048, 2047))
    for fn in (E.sb, E.sh, E.sw):
        sweep(fn, fn.__name__ + " {rs2}, {offset}({rs1})",
              dict(rs2=x(5), rs1=x(6), offset=2047), dict(rs2=ALL, rs1=ALL, offset=imm12),
              in_range("offset", -2048, 2047))
    for fn in (E.beq, E.bne, E.blt, E.bge, E.bltu, E.bgeu):
        sweep(fn, lambda a, m=fn.__name__: f"{m} {a['rs1']}, {a['rs2']}, {target(a['offset'])}",
              dict(rs1=x(5), rs2=x(6), offset=-4096),
              dict(rs1=ALL, rs2=ALL, offset=[-4098, -4096, -2, 0, 1, 2, 0xAAA, 4094, 4096]),
              in_range("offset", -4096, 4094, 2))
    sweep(E.jal, lambda a: f"jal {a['rd']}, {target(a['offset'])}", dict(rd=x(1), offset=2),
          dict(rd=ALL, offset=[-(1 << 20) - 2, -(1 << 20), -2, 0, 1, 2, 0x55554, 0x800,
                               (1 << 20) - 2, 1 << 20]),
          in_range("offset", -(1 << 20), (1 << 20) - 2, 2))
    sweep(E.jalr, "jalr {rd}, {offset}({rs1})", dict(rd=x(1), rs1=x(5), offset=0),
          dict(rd=ALL, rs1=ALL, offset=imm12), in_range("offset", -2048, 2047))
    for fn in (E.lui, E.auipc):
        sweep(fn, fn.__name__ + " {rd}, {imm20}", dict(rd=x(5), imm20=0xFFFFF),
              dict(rd=ALL, imm20=[-1, 0, 1, 0x80000, 0xFFFFF, 0x100000]),
              in_range("imm20", 0, 0xFFFFF))
    sweep(E.ecall, "ecall", {})
    sweep(E.ebreak, "ebreak", {})
    # the format builders, which every named instruction goes through
    sweep(E.r_type, "add {rd}, {rs1}, {rs2}",
          dict(funct7=0, rs2=x(2), rs1=x(1), funct3=0, rd=x(3), opcode=0x33),
          dict(funct7=[128, -1], funct3=[8], opcode=[128]),
          lambda a: a["funct7"] in (0,) and a["funct3"] == 0 and a["opcode"] == 0x33)
    sweep(E.i_type, "lw {rd}, {imm}({rs1})", dict(imm=-5, rs1=x(1), funct3=2, rd=x(3), opcode=3),
          dict(imm=[2048], funct3=[8]),
          both(in_range("imm", -2048, 2047), lambda a: a["funct3"] == 2))
    sweep(E.s_type, "sh {rs2}, {imm}({rs1})",
          dict(imm=-5, rs2=x(2), rs1=x(1), funct3=1, opcode=0x23), dict(imm=[-2049]),
          in_range("imm", -2048, 2047))
    sweep(E.b_type, lambda a: f"bge {a['rs1']}, {a['rs2']}, {target(a['imm'])}",
          dict(imm=-6, rs2=x(2), rs1=x(1), funct3=5, opcode=0x63), dict(imm=[-5, 4096]),
          in_range("imm", -4096, 4094, 2))
    sweep(E.u_type, "auipc {rd}, {imm20}", dict(imm20=0x12345, rd=x(4), opcode=0x17),
          dict(imm20=[-1, 1 << 20]), in_range("imm20", 0, 0xFFFFF))
    sweep(E.j_type, lambda a: f"jal {a['rd']}, {target(a['imm'])}",
          dict(imm=-6, rd=x(4), opcode=0x6F), dict(imm=[-5, 1 << 20]),
          in_range("imm", -(1 << 20), (1 << 20) - 2, 2))

    # --- C extension ------------------------------------------------------------------------
    sweep(E.c_addi4spn, lambda a: rvc(f"c.addi4spn {a['rd']}, sp, {a['imm']}"),
          dict(rd=x(8), imm=1020), dict(rd=ALL, imm=[-4, 0, 2, 4, 8, 0x210, 1020, 1024]),
          both(regs_ok(rd=CREGS), in_range("imm", 4, 1020, 4)))
    for fn, mnem, reg in ((E.c_lw, "c.lw", "rd"), (E.c_sw, "c.sw", "rs2")):
        sweep(fn, lambda a, m=mnem, k=reg: rvc(f"{m} {a[k]}, {a['offset']}({a['rs1']})"),
              {reg: x(9), "rs1": x(10), "offset": 124},
              {reg: ALL, "rs1": ALL, "offset": [-4, 0, 2, 4, 64, 124, 128]},
              both(regs_ok(**{reg: CREGS, "rs1": CREGS}), in_range("offset", 0, 124, 4)))
    sweep(E.c_nop, rvc("c.nop"), {})
    sweep(E.c_ebreak, rvc("c.ebreak"), {})
    sweep(E.c_addi, lambda a: rvc(f"c.addi {a['rd']}, {a['imm']}"), dict(rd=x(5), imm=-32),
          dict(rd=ALL, imm=[-33, -32, -1, 0, 1, 31, 32]),
          both(regs_ok(rd=NONZERO), in_range("imm", -32, 31, nonzero=True)))
    sweep(E.c_li, lambda a: rvc(f"c.li {a['rd']}, {a['imm']}"), dict(rd=x(5), imm=-32),
          dict(rd=ALL, imm=[-33, -32, -1, 0, 1, 31, 32]),
          both(regs_ok(rd=NONZERO), in_range("imm", -32, 31)))
    sweep(E.c_addi16sp, lambda a: rvc(f"c.addi16sp sp, {a['imm']}"), dict(imm=-512),
          dict(imm=[-528, -512, -16, -8, 0, 16, 48, 496, 512]),
          in_range("imm", -512, 496, 16, nonzero=True))
    sweep(E.c_lui, lambda a: rvc(f"c.lui {a['rd']}, {a['imm20']}"), dict(rd=x(5), imm20=1),
          dict(rd=ALL, imm20=[-1, 0, 1, 31, 32, 0xFFFDF, 0xFFFE0, 0xFFFFF, 0x100000]),
          lambda a: a["rd"] not in (0, 2) and 0 <= a["imm20"] <= 0xFFFFF and a["imm20"] != 0
          and (a["imm20"] <= 31 or a["imm20"] >= 0xFFFE0))
    for fn in (E.c_srli, E.c_srai):
        sweep(fn, lambda a, m=fn.__name__: rvc(f"{m.replace('_', '.')} {a['rd']}, {a['shamt']}"),
              dict(rd=x(8), shamt=31), dict(rd=ALL, shamt=[-1, 0, 1, 31, 32]),
              both(regs_ok(rd=CREGS), in_range("shamt", 1, 31)))
    sweep(E.c_andi, lambda a: rvc(f"c.andi {a['rd']}, {a['imm']}"), dict(rd=x(8), imm=-32),
          dict(rd=ALL, imm=[-33, -32, -1, 0, 1, 31, 32]),
          both(regs_ok(rd=CREGS), in_range("imm", -32, 31)))
    for fn in (E.c_sub, E.c_xor, E.c_or, E.c_and):
        sweep(fn, lambda a, m=fn.__name__: rvc(f"{m.replace('_', '.')} {a['rd']}, {a['rs2']}"),
              dict(rd=x(8), rs2=x(15)), dict(rd=ALL, rs2=ALL), regs_ok(rd=CREGS, rs2=CREGS))
    for fn in (E.c_j, E.c_jal):
        sweep(fn, lambda a, m=fn.__name__: rvc(f"{m.replace('_', '.')} {target(a['offset'])}"),
              dict(offset=2), dict(offset=[-2050, -2048, -2, 0, 1, 2, 0x2AA, 0x554, 2046, 2048]),
              in_range("offset", -2048, 2046, 2))
    for fn in (E.c_beqz, E.c_bnez):
        sweep(fn, lambda a, m=fn.__name__: rvc(f"{m.replace('_', '.')} {a['rs1']}, "
                                               f"{target(a['offset'])}"),
              dict(rs1=x(8), offset=2),
              dict(rs1=ALL, offset=[-258, -256, -2, 0, 1, 2, 0xAA, 0x54, 254, 256]),
              both(regs_ok(rs1=CREGS), in_range("offset", -256, 254, 2)))
    sweep(E.c_slli, lambda a: rvc(f"c.slli {a['rd']}, {a['shamt']}"), dict(rd=x(5), shamt=31),
          dict(rd=ALL, shamt=[-1, 0, 1, 31, 32]),
          both(regs_ok(rd=NONZERO), in_range("shamt", 1, 31)))
    sweep(E.c_lwsp, lambda a: rvc(f"c.lwsp {a['rd']}, {a['offset']}(sp)"),
          dict(rd=x(5), offset=252), dict(rd=ALL, offset=[-4, 0, 2, 4, 0x84, 252, 256]),
          both(regs_ok(rd=NONZERO), in_range("offset", 0, 252, 4)))
    sweep(E.c_swsp, lambda a: rvc(f"c.swsp {a['rs2']}, {a['offset']}(sp)"),
          dict(rs2=x(5), offset=252), dict(rs2=ALL + [x(32)], offset=[-4, 0, 2, 4, 0x84, 252, 256]),
          both(regs_ok(rs2=ALL), in_range("offset", 0, 252, 4)))
    for fn in (E.c_jr, E.c_jalr):
        sweep(fn, lambda a, m=fn.__name__: rvc(f"{m.replace('_', '.')} {a['rs1']}"),
              dict(rs1=x(5)), dict(rs1=ALL), regs_ok(rs1=NONZERO))
    for fn in (E.c_mv, E.c_add):
        sweep(fn, lambda a, m=fn.__name__: rvc(f"{m.replace('_', '.')} {a['rd']}, {a['rs2']}"),
              dict(rd=x(5), rs2=x(6)), dict(rd=ALL, rs2=ALL), regs_ok(rd=NONZERO, rs2=NONZERO))

    # --- li: against GNU as's own expansion ---------------------------------------------------
    def li_bytes(rd, value):
        return b"".join(E.li(rd, value))

    rng = random.Random(7)
    values = LI_VALUES + [rng.randrange(-(1 << 31), 1 << 31) for _ in range(40)]
    sweep(li_bytes, lambda a: rvc(f"li {a['rd']}, {a['value']}"), dict(rd=x(10), value=1),
          dict(rd=ALL, value=values + [1 << 32, -(1 << 31) - 1]),
          extra=[dict(rd=x(n), value=v) for n in (2, 8, 15, 31) for v in values],
          legal=lambda a: a["rd"] != 0 and -(1 << 31) <= a["value"] < (1 << 32), name="li")
    return book


BOOK = build_book()


@pytest.fixture(scope="session")
def rv32_oracle() -> dict[str, bytes]:
    texts = BOOK.all_asm()
    prologue = RV32_PROLOGUE + ".option norvc\n"
    return {text: code for text, (_, code) in zip(texts, assemble(RV32_AS, prologue, texts))}


@pytest.mark.parametrize("name", BOOK.names())
def test_encoder_matches_gnu_as(name, rv32_oracle):
    problems = check_good(BOOK.good[name], rv32_oracle)
    problems += check_bad(BOOK.bad[name], EncodingError)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:30])


# Forms whose text GNU as range-checks itself (branch targets are only checked at fix-up or
# link time, so they are not here): every refusal of ours must be a refusal of GNU as too,
# except the HINT encodings, which are valid instructions that we refuse on purpose.
ASSEMBLER_CHECKED = {
    "addi", "slti", "sltiu", "xori", "ori", "andi", "slli", "srli", "srai", "lb", "lh", "lw",
    "lbu", "lhu", "sb", "sh", "sw", "jalr", "lui", "auipc", "c_addi4spn", "c_lw", "c_sw",
    "c_addi", "c_li", "c_addi16sp", "c_lui", "c_srli", "c_srai", "c_andi", "c_sub", "c_xor",
    "c_or", "c_and", "c_slli", "c_lwsp", "c_swsp", "c_jr", "c_jalr", "c_mv", "c_add",
}


def _is_hint(case) -> bool:
    a = case.kwargs
    if case.name in ("c_addi", "c_li", "c_lui", "c_slli", "c_mv", "c_add") and a["rd"] == 0:
        return True
    return case.name == "c_addi" and a["imm"] == 0


def test_refusals_agree_with_gnu_as():
    cases = [case for name in sorted(ASSEMBLER_CHECKED) for case in BOOK.bad[name]
             if case.asm is not None and not _is_hint(case)]
    assert len(cases) > 250
    refused = rejected(RV32_AS, RV32_PROLOGUE + ".option norvc\n", [c.asm for c in cases])
    accepted = [cases[i].asm for i in range(len(cases)) if i not in refused]
    assert not accepted, f"GNU as accepts what we refuse: {accepted[:20]}"


def test_every_encoder_has_golden_cases():
    skip = {"hi_lo", "li", "sign_extend", "bits", "as_int", "check_range", "signed_field",
            "unsigned_field"}
    encoders = {name for name, value in inspect.getmembers(E, inspect.isfunction)
                if not name.startswith("_") and value.__module__ == E.__name__
                and name not in skip}
    covered = set(BOOK.names())
    assert encoders - covered == set()
    assert "li" in covered
    for name in covered:
        assert BOOK.good[name], name
    assert sum(len(cases) for cases in BOOK.bad.values()) > 500


def test_hi_lo_split():
    rng = random.Random(3)
    for value in [0, 0x7FF, 0x800, 0xFFFFF800, 0x7FFFF800, 0xFFFFFFFF, -1, -(1 << 31)] + [
            rng.getrandbits(32) for _ in range(2000)]:
        hi, lo = E.hi_lo(value)
        assert 0 <= hi <= 0xFFFFF and -2048 <= lo <= 2047
        assert ((hi << 12) + lo) & 0xFFFFFFFF == value & 0xFFFFFFFF
    with pytest.raises(EncodingError):
        E.hi_lo(1 << 32)


def test_li_sets_the_register_under_unicorn():
    """Run each `li` sequence on an RV32 core and read the register back."""
    from unicorn import UC_ARCH_RISCV, UC_MODE_RISCV32, Uc
    from unicorn.riscv_const import UC_RISCV_REG_X1

    rng = random.Random(11)
    values = LI_VALUES + [rng.randrange(-(1 << 31), 1 << 32) for _ in range(300)]
    base = 0x10000
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    uc.mem_map(base, 0x10000)
    for index, value in enumerate(values):
        rd = 1 + index % 31
        code = b"".join(E.li(rd, value))
        assert len(code) <= 8
        uc.mem_write(base, code)
        uc.emu_start(base, base + len(code))
        got = uc.reg_read(UC_RISCV_REG_X1 + rd - 1)
        assert got == value & 0xFFFFFFFF, (rd, hex(value), code.hex())


def test_typed_immediates():
    assert E.SImm12.try_encode(-2048).field == 0x800
    assert E.SImm12.try_encode(2048) is None
    assert E.CNzImm6.try_encode(0) is None
    assert E.CAddi16spImm.try_encode(16).field == 1
    assert E.CAddi16spImm.try_encode(8) is None
    assert E.CAddi4spnImm.try_encode(0) is None
    assert E.BranchOffset.try_encode(4094) is not None
    assert E.BranchOffset.try_encode(4095) is None
    assert E.addi(5, 6, E.SImm12(-7)) == E.addi(5, 6, -7)


# --- label uses --------------------------------------------------------------------------------

LABEL_CASES = [
    (E.BRANCH, "bltu x9, x21, {target}", E.bltu(9, 21, 0)),
    (E.JAL, "jal x1, {target}", E.jal(1, 0)),
    (E.C_BRANCH, "c.bnez x13, {target}", E.c_bnez(13, 0)),
    (E.C_JUMP, "c.jal {target}", E.c_jal(0)),
    (E.C_JUMP, "c.j {target}", E.c_j(0)),
]


def test_label_use_patching_matches_assembler():
    items, expected = [], []
    for use, text, fresh in LABEL_CASES:
        for misalign in (0, 2):
            for offset in (use.min_disp, use.max_disp, use.min_disp + 2, 0, 2):
                pad = "c.nop\n" if misalign else ""
                items.append(rvc(f".balign 4\n{pad}{text.format(target=target(offset))}"))
                expected.append((use, fresh, misalign, offset))
            for offset in (use.min_disp - 2, use.max_disp + 2, 1):
                buffer = bytearray(misalign) + bytearray(fresh)
                assert not use.fits(misalign, offset)
                with pytest.raises(EncodingError):
                    use.patch(buffer, misalign, offset)
                assert bytes(buffer[misalign:]) == fresh
    results = assemble(RV32_AS, RV32_PROLOGUE, items)
    for (use, fresh, misalign, offset), (address, code) in zip(expected, results):
        at = address + len(code) - use.size
        assert at % 4 == misalign
        buffer = bytearray(misalign) + bytearray(fresh)
        use.patch(buffer, misalign, offset)
        assert bytes(buffer[misalign:]) == code[-use.size:], (use.name, misalign, offset)


@pytest.mark.parametrize("use", [E.AUIPC_JALR, E.AUIPC_ADDI], ids=lambda u: u.name)
def test_auipc_pairs_reach_the_whole_range(use):
    fresh = E.auipc(5, 0) + (E.jalr(1, 5, 0) if use is E.AUIPC_JALR else E.addi(7, 5, 0))
    edges = [use.min_disp, use.min_disp + 2, -2050, -2048, -2, 0, 2, 2046, 2048, 0x7FF,
             0x800, 0x12345678, use.max_disp - 1, use.max_disp]
    for offset in edges:
        if not use.fits(0, offset):
            assert use.align == 2 and offset % 2
            continue
        code = bytearray(fresh)
        use.patch(code, 0, offset)
        hi = int.from_bytes(code[0:4], "little") >> 12
        lo = int.from_bytes(code[4:8], "little") >> 20
        hi = hi - (1 << 20) if hi >> 19 else hi
        lo = lo - (1 << 12) if lo >> 11 else lo
        assert (hi << 12) + lo == offset
        # registers and operations kept: only the immediates changed
        assert code[0:2] == E.auipc(5, hi & 0xFFFFF)[0:2]
        second = E.jalr(1, 5, lo) if use is E.AUIPC_JALR else E.addi(7, 5, lo)
        assert bytes(code[4:8]) == second
    for offset in (use.min_disp - 2, use.max_disp + 2):
        assert not use.fits(0, offset)
        with pytest.raises(EncodingError):
            use.patch(bytearray(fresh), 0, offset)
