"""Every ALU operation and every branch condition, at both widths, with a register and with
immediate operands, on edge values, interpreter vs armv7m.

Each program loops over ctx records {a, b, out} (tests/ops_support.py; rfc profile: r2 = ctx
length, division by zero defined), computes `a op b` into out, so one translation is checked
on many value pairs at once; the comparison covers all of ctx. Each program runs under
several register maps (default, none at all: everything spilled, two registers, high
registers only), each with and without provenance hints.
"""

from __future__ import annotations

import zlib

import pytest
from armv7m_support import TARGET
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

from femtojit import isa
from femtojit.backends.common.machine import BackendOptions
from femtojit.isa import Insn
from femtojit.program import Program

MAPS = {"default": None, "none": (), "two": (6, 7), "high-only": (8, 9, 10, 11)}


def check_program(program: Program, ctx: bytes, maps=MAPS):
    """Interpreter vs armv7m under each register map, with and without hints."""
    variants = [(f"map {name} hints {hints}", BackendOptions(registers=regs, use_hints=hints))
                for name, regs in maps.items() for hints in (True, False)]
    return check_records(program, ctx, TARGET, variants)


@pytest.mark.parametrize(("name", "op", "off", "wide"), list(alu_cases()))
def test_alu_register_operand(name, op, off, wide):
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2),
            Insn(cls | op | isa.SRC_X, 4, 3, off, 0)]
    values = pairs(zlib.crc32(name.encode()) & 0xFFFF)  # the same inputs every run
    values += [(a, 0) for a in (5, M64, 0x8000000000000000)]  # division by zero (rfc)
    values += [(0x80000000, 0xFFFFFFFF), (0x8000000000000000, M64)]  # INT_MIN / -1
    check_program(record_loop(body), records(values))


@pytest.mark.parametrize(("name", "op", "off", "wide"),
                         [p for p in alu_cases() if not p.values[0].startswith("movsx")])
def test_alu_immediate_operand(name, op, off, wide):
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2)]
    for imm in IMMS:  # one immediate after another on the same value: r4 = r4 op imm ...
        body.append(Insn(cls | op, 4, 0, off, imm))
        body.append(Insn(isa.CLS_ALU64 | isa.ALU_XOR | isa.SRC_X, 4, 2))
    check_program(record_loop(body), records(pairs(7)), maps={"default": None, "none": ()})


@pytest.mark.parametrize("kind", UNARY_KINDS)
def test_unary(kind):
    check_program(record_loop(unary_body(kind)), records(pairs(3)))


@pytest.mark.parametrize("wide", [False, True], ids=["32", "64"])
@pytest.mark.parametrize("cond", CONDS)
def test_branch_conditions(cond, wide):
    """r4 = cond(a, b) ? 1 : 0 with b a register, then against several immediates, and with
    the operands swapped (a constant on the left after folding)."""
    body = branch_bits_body(cond, wide, (0, 1, -1, 255, 0x7FFFFFFF, -0x80000000, 4096,
                                         0x12345678))
    values = pairs(11) + [(a, a) for a in EDGES[:8]] + [(0xFFFFFFFF, 0x1FFFFFFFF),
                                                        (0x100000000, 0x200000000)]
    check_program(record_loop(body), records(values))


def test_memory_loads_and_stores_of_every_size():
    body = []
    for size in (isa.SIZE_B, isa.SIZE_H, isa.SIZE_W, isa.SIZE_DW):
        for sx in (False, True):
            if sx and size == isa.SIZE_DW:
                continue
            mode = isa.MODE_MEMSX if sx else isa.MODE_MEM
            for off in (0, 1, 3, 5):  # unaligned too
                body.append(Insn(isa.CLS_LDX | mode | size, 5, 6, off))
                body.append(Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 4, 5))
                body.append(Insn(isa.CLS_ALU64 | isa.ALU_LSH, 4, 0, 0, 3))
    body.insert(0, Insn(isa.CLS_ALU64 | isa.ALU_MOV, 4, 0, 0, 0))
    body += [Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_H, 6, 4, 1),
             Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_W, 6, 4, 9),
             Insn(isa.CLS_ST | isa.MODE_MEM | isa.SIZE_B, 6, 0, 13, -3)]
    check_program(record_loop(body), records(pairs(5)))


@pytest.mark.parametrize("name", ["div", "mod", "sdiv", "smod"])
def test_div64_on_many_values(name):
    op, off = ALU[name]
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2),
            Insn(isa.CLS_ALU64 | op | isa.SRC_X, 4, 3, off, 0)]
    values = division_pairs(zlib.crc32(name.encode()) & 0xFFF)
    ref = check_program(record_loop(body), records(values), maps={"default": None})
    assert_division_results(name, values, ref.memory["ctx"])


@pytest.mark.parametrize("k", [8, 16, 24, 31])
@pytest.mark.parametrize("right", [isa.ALU_ARSH, isa.ALU_RSH])
@pytest.mark.parametrize("wide", [False, True], ids=["32", "64"])
def test_shift_pairs_and_narrow_loads(k, right, wide):
    """`x << k >> k` (clang's extensions; the backend turns the k = 16/24 ones into one
    extend) on values and on narrow loads, whose sign extension becomes a signed load."""
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    kk = k + 32 if wide else k
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2),
            Insn(cls | isa.ALU_LSH, 4, 0, 0, kk), Insn(cls | right, 4, 0, 0, kk)]
    for size in (isa.SIZE_B, isa.SIZE_H):
        body += [Insn(isa.CLS_LDX | isa.MODE_MEM | size, 5, 6, 1),
                 Insn(cls | isa.ALU_LSH, 5, 0, 0, kk), Insn(cls | right, 5, 0, 0, kk),
                 Insn(isa.CLS_ALU64 | isa.ALU_XOR | isa.SRC_X, 4, 5)]
    check_program(record_loop(body), records(pairs(k)))
