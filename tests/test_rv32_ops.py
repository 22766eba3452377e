"""Every ALU operation and branch condition, at both widths, with register and immediate
operands, on edge values, interpreter vs rv32imc; the 64-bit division routine on values of
every magnitude class; variable 64-bit shifts by every amount class (0, 1..31, 32, 33..63,
above 63).

The programs are tests/ops_support.py's, as on armv7m: each loops over ctx records {a, b, out} (rfc
profile: r2 = ctx length, division by zero defined), computes `a op b` into out, so one
translation is checked on many value pairs at once; the comparison covers all of ctx. Each
runs under the rv32 register maps (tests/rv32_support.py) plus everything spilled.
"""

from __future__ import annotations

import pytest
from ops_support import (
    ALU,
    CONDS,
    EDGES,
    IMMS,
    M64,
    UNARY_KINDS,
    alu_cases,
    assert_division_results,
    branch_bits_body,
    check_records,
    division_pairs,
    pairs,
    record_loop,
    records,
    unary_body,
)
from rv32_support import MAPS, MORE_MAPS, TARGET, strict_alignment  # noqa: F401  (a fixture)

from femtojit import isa
from femtojit.backends.common.machine import BackendOptions
from femtojit.isa import Insn
from femtojit.program import Program

pytestmark = pytest.mark.usefixtures("strict_alignment")

OPS_MAPS = {**MAPS, "none": MORE_MAPS["none"]}


def check_program(program: Program, ctx: bytes, maps=OPS_MAPS):
    """Interpreter vs rv32imc under each register map (the default one also with every
    memory check through the cache, and without loop versions); returns the reference."""
    variants = [(f"map {name}", BackendOptions(registers=regs)) for name, regs in maps.items()]
    variants += [("map cache", BackendOptions(use_hints=False)),
                 ("map loops-not-versioned", BackendOptions(version_loops=False))]
    return check_records(program, ctx, TARGET, variants, show_code=True)


@pytest.mark.parametrize(("name", "op", "off", "wide"), list(alu_cases()))
def test_alu_register_operand(name, op, off, wide):
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2),
            Insn(cls | op | isa.SRC_X, 4, 3, off, 0)]
    values = pairs(sum(map(ord, name)))
    values += [(a, 0) for a in (5, M64, 0x8000000000000000)]  # division by zero (rfc)
    values += [(0x80000000, 0xFFFFFFFF), (0x8000000000000000, M64)]  # INT_MIN / -1
    values += [(0x8000000000000000, 0xFFFFFFFF), (0xFFFFFFFF80000000, M64)]
    check_program(record_loop(body), records(values))


@pytest.mark.parametrize(("name", "op", "off", "wide"),
                         [p for p in alu_cases() if not p.values[0].startswith("movsx")])
def test_alu_immediate_operand(name, op, off, wide):
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2)]
    for imm in IMMS + [2047, -2048, 2048, -2049, 0xFFFF, 0xFF00FF00 - (1 << 32), -256]:
        body.append(Insn(cls | op, 4, 0, off, imm))  # r4 = r4 op imm, then mixed again
        body.append(Insn(isa.CLS_ALU64 | isa.ALU_XOR | isa.SRC_X, 4, 2))
    check_program(record_loop(body), records(pairs(7)), maps={"default": None, "none": ()})


@pytest.mark.parametrize("kind", UNARY_KINDS)
def test_unary(kind):
    check_program(record_loop(unary_body(kind)), records(pairs(3)))


@pytest.mark.parametrize("wide", [False, True], ids=["32", "64"])
@pytest.mark.parametrize("cond", CONDS)
def test_branch_conditions(cond, wide):
    """r4 = r4 * 2 + cond(a, b), with b a register, the operands swapped, and immediates."""
    body = branch_bits_body(cond, wide, (0, 1, -1, 255, 2047, -2048, 0x7FFFFFFF, -0x80000000,
                                         4096, 0x12345678))
    values = pairs(11) + [(a, a) for a in EDGES[:8]] + [(0xFFFFFFFF, 0x1FFFFFFFF),
                                                        (0x100000000, 0x200000000),
                                                        (0x1FFFFFFFF, 0xFFFFFFFF)]
    check_program(record_loop(body), records(values))


@pytest.mark.parametrize("name", ["div", "mod", "sdiv", "smod"])
def test_div64_on_many_values(name):
    """The out-of-line 64-bit division (divdu over a 16-bit-digit divlu) on 400 pairs of every
    magnitude class, checked against Python's arithmetic too."""
    op, off = ALU[name]
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2),
            Insn(isa.CLS_ALU64 | op | isa.SRC_X, 4, 3, off, 0)]
    values = division_pairs(sum(map(ord, name)))
    ref = check_program(record_loop(body), records(values), maps={"default": None})
    assert_division_results(name, values, ref.memory["ctx"])


@pytest.mark.parametrize("op", [isa.ALU_LSH, isa.ALU_RSH, isa.ALU_ARSH])
def test_variable_shift64_every_amount(op):
    """The inline 64-bit shift by a register: amounts 0..70 (masked to 6 bits) on values
    with both halves busy, the amount register also shifted in place."""
    values = [0x8000000080000001, 0x123456789ABCDEF0, M64, 1, 0x7FFFFFFF00000000]
    amounts = [(v, n) for n in range(71) for v in values[n % 5:n % 5 + 2]]
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2),
            Insn(isa.CLS_ALU64 | op | isa.SRC_X, 4, 3),
            Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 5, 3),
            Insn(isa.CLS_ALU64 | op | isa.SRC_X, 5, 5),
            Insn(isa.CLS_ALU64 | isa.ALU_XOR | isa.SRC_X, 4, 5)]
    check_program(record_loop(body), records(amounts))
