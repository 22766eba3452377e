"""Every ALU operation and branch condition, at both widths, with register and immediate
operands, on edge values, interpreter vs rv32imc; the 64-bit division routine on values of
every magnitude class; variable 64-bit shifts by every amount class (0, 1..31, 32, 33..63,
above 63).

The programs are tests/test_armv7m_ops.py's: each loops over ctx records {a, b, out} (rfc
profile: r2 = ctx length, division by zero defined), computes `a op b` into out, so one
translation is checked on many value pairs at once; the comparison covers all of ctx. Each
runs under the rv32 register maps (tests/rv32_support.py) plus everything spilled.
"""

from __future__ import annotations

import struct

import pytest
from rv32_support import MAPS, MORE_MAPS, TARGET, strict_alignment  # noqa: F401  (a fixture)
from test_armv7m_ops import (
    ALU,
    CONDS,
    EDGES,
    IMMS,
    _alu_cases,
    _ctx,
    _division_pairs,
    _loop,
    _pairs,
)

from femtojit import isa
from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.interp import run as interp_run
from femtojit.isa import Insn
from femtojit.program import Program
from femtojit.translation import compare_outcomes, translate

pytestmark = pytest.mark.usefixtures("strict_alignment")

M64 = (1 << 64) - 1
OPS_MAPS = {**MAPS, "none": MORE_MAPS["none"]}
COND_OPS = dict(zip(CONDS, [isa.JMP_JEQ, isa.JMP_JNE, isa.JMP_JGT, isa.JMP_JGE, isa.JMP_JLT,
                            isa.JMP_JLE, isa.JMP_JSGT, isa.JMP_JSGE, isa.JMP_JSLT,
                            isa.JMP_JSLE, isa.JMP_JSET]))


def check_program(program: Program, ctx: bytes, maps=OPS_MAPS, profile: str = "rfc"):
    """Interpreter vs rv32imc under each register map (the default one also with every
    memory check through the cache, and without loop versions); returns the reference."""
    registry = builtin_registry(profile)
    ref = interp_run(program, ctx=ctx, profile=profile, budget=None, helpers=registry)
    assert ref.status == 0
    variants = [(name, regs, True, True) for name, regs in maps.items()]
    variants += [("cache", None, False, True), ("loops-not-versioned", None, True, False)]
    for name, regs, hints, versions in variants:
        options = BackendOptions(registers=regs, use_hints=hints, version_loops=versions)
        tr = translate(program, target=TARGET, profile=profile, budget=None,
                       backend_options=options)
        got = tr.run(ctx=ctx, helpers=registry)
        problem = compare_outcomes(ref, got)
        if problem:
            out_ref, out_got = ref.memory["ctx"], got.memory["ctx"]
            bad = [i // 24 for i in range(16, len(out_ref), 24)
                   if out_ref[i:i + 8] != out_got[i:i + 8]]
            raise AssertionError(f"map {name}: {problem}; first bad record "
                                 f"{ctx[24 * bad[0]:24 * bad[0] + 16].hex() if bad else ''}"
                                 f"\n{tr.ir_listing()}\n{tr.disassembly()}")
    return ref


@pytest.mark.parametrize(("name", "op", "off", "wide"), list(_alu_cases()))
def test_alu_register_operand(name, op, off, wide):
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2),
            Insn(cls | op | isa.SRC_X, 4, 3, off, 0)]
    pairs = _pairs(sum(map(ord, name)))
    pairs += [(a, 0) for a in (5, M64, 0x8000000000000000)]  # division by zero (rfc)
    pairs += [(0x80000000, 0xFFFFFFFF), (0x8000000000000000, M64)]  # INT_MIN / -1
    pairs += [(0x8000000000000000, 0xFFFFFFFF), (0xFFFFFFFF80000000, M64)]
    check_program(_loop(body), _ctx(pairs))


@pytest.mark.parametrize(("name", "op", "off", "wide"),
                         [p for p in _alu_cases() if not p.values[0].startswith("movsx")])
def test_alu_immediate_operand(name, op, off, wide):
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2)]
    for imm in IMMS + [2047, -2048, 2048, -2049, 0xFFFF, 0xFF00FF00 - (1 << 32), -256]:
        body.append(Insn(cls | op, 4, 0, off, imm))  # r4 = r4 op imm, then mixed again
        body.append(Insn(isa.CLS_ALU64 | isa.ALU_XOR | isa.SRC_X, 4, 2))
    check_program(_loop(body), _ctx(_pairs(7)), maps={"default": None, "none": ()})


@pytest.mark.parametrize("kind", ["neg32", "neg64", "le16", "le32", "le64", "be16", "be32",
                                  "be64", "bswap16", "bswap32", "bswap64"])
def test_unary(kind):
    if kind.startswith("neg"):
        insn = Insn(0x84 if kind == "neg32" else 0x87, 4)
    else:
        opcode = {"le": 0xD4, "be": 0xDC, "bswap": 0xD7}[kind[:-2]]
        insn = Insn(opcode, 4, 0, 0, int(kind[-2:]))
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2), insn]
    check_program(_loop(body), _ctx(_pairs(3)))


@pytest.mark.parametrize("wide", [False, True], ids=["32", "64"])
@pytest.mark.parametrize("cond", CONDS)
def test_branch_conditions(cond, wide):
    """r4 = r4 * 2 + cond(a, b), with b a register, the operands swapped, and immediates."""
    cls = isa.CLS_JMP if wide else isa.CLS_JMP32
    op = COND_OPS[cond]
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV, 4, 0, 0, 0)]

    def bit(insn: Insn) -> list[Insn]:
        return [Insn(isa.CLS_ALU64 | isa.ALU_LSH, 4, 0, 0, 1), insn,
                Insn(isa.CLS_JMP | isa.JMP_JA, 0, 0, 1),
                Insn(isa.CLS_ALU64 | isa.ALU_OR, 4, 0, 0, 1)]

    body += bit(Insn(cls | op | isa.SRC_X, 2, 3, 1, 0))
    body += bit(Insn(cls | op | isa.SRC_X, 3, 2, 1, 0))
    for imm in (0, 1, -1, 255, 2047, -2048, 0x7FFFFFFF, -0x80000000, 4096, 0x12345678):
        body += bit(Insn(cls | op, 2, 0, 1, imm))
    pairs = _pairs(11) + [(a, a) for a in EDGES[:8]] + [(0xFFFFFFFF, 0x1FFFFFFFF),
                                                          (0x100000000, 0x200000000),
                                                          (0x1FFFFFFFF, 0xFFFFFFFF)]
    check_program(_loop(body), _ctx(pairs))


@pytest.mark.parametrize("name", ["div", "mod", "sdiv", "smod"])
def test_div64_on_many_values(name):
    """The out-of-line 64-bit division (divdu over a 16-bit-digit divlu) on 400 pairs of every
    magnitude class, checked against Python's arithmetic too."""
    op, off = ALU[name]
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2),
            Insn(isa.CLS_ALU64 | op | isa.SRC_X, 4, 3, off, 0)]
    pairs = _division_pairs(sum(map(ord, name)))
    ref = check_program(_loop(body), _ctx(pairs), maps={"default": None})
    for i, (a, b) in enumerate(pairs):
        got = struct.unpack_from("<Q", ref.memory["ctx"], 24 * i + 16)[0]
        sa, sb = (a - (1 << 64) if a >> 63 else a), (b - (1 << 64) if b >> 63 else b)
        q = abs(sa) // abs(sb) * (1 if (sa < 0) == (sb < 0) else -1)
        expect = {"div": a // b, "mod": a % b, "sdiv": q & M64,
                  "smod": (sa - q * sb) & M64}[name]
        assert got == expect, (name, hex(a), hex(b))


@pytest.mark.parametrize("op", [isa.ALU_LSH, isa.ALU_RSH, isa.ALU_ARSH])
def test_variable_shift64_every_amount(op):
    """The inline 64-bit shift by a register: amounts 0..70 (masked to 6 bits) on values
    with both halves busy, the amount register also shifted in place."""
    values = [0x8000000080000001, 0x123456789ABCDEF0, M64, 1, 0x7FFFFFFF00000000]
    pairs = [(v, n) for n in range(71) for v in values[n % 5:n % 5 + 2]]
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2),
            Insn(isa.CLS_ALU64 | op | isa.SRC_X, 4, 3),
            Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 5, 3),
            Insn(isa.CLS_ALU64 | op | isa.SRC_X, 5, 5),
            Insn(isa.CLS_ALU64 | isa.ALU_XOR | isa.SRC_X, 4, 5)]
    check_program(_loop(body), _ctx(pairs))
