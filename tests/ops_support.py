"""The record-loop programs shared by tests/test_armv7m_ops.py and tests/test_rv32_ops.py.

Each program loops over ctx records {a, b, out} (rfc profile: r2 = ctx length, division by
zero defined), computes `a op b` into out, so one translation is checked on many value pairs
at once; `check_records` compares all of ctx between the interpreter and a target's
translations and names the first record that differs.
"""

from __future__ import annotations

import random
import struct

import pytest

from femtojit import isa
from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.interp import run as interp_run
from femtojit.isa import Insn
from femtojit.program import Program
from femtojit.translation import compare_outcomes, translate

M64 = (1 << 64) - 1
EDGES = [0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF,
         0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, M64,
         M64 - 1, 0xFFFFFFFF80000000, 0x123456789ABCDEF0, 0x80000000FFFFFFFF]
IMMS = [0, 1, -1, 7, 31, 32, 63, 255, 256, 0x1FF, 4095, -4096, 0x7FFFFFFF, -0x80000000,
        0x12345678, 0xFF00]


def pairs(seed: int, n: int = 48) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    out = [(a, b) for a in EDGES[::3] for b in EDGES[1::4]]
    rng.shuffle(out)
    out = out[: n // 2]
    while len(out) < n:
        out.append((rng.choice(EDGES + [rng.getrandbits(64)]),
                    rng.choice(EDGES + [rng.getrandbits(64), rng.getrandbits(6)])))
    return out


def records(value_pairs) -> bytes:
    return b"".join(struct.pack("<QQQ", a, b, 0xDEAD) for a, b in value_pairs)


def record_loop(body: list[Insn]) -> Program:
    """for each 24-byte record at r6: r2 = a, r3 = b, body (result in r4), out = r4."""
    head = [
        Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 6, 1),
        Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 7, 2),
        Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 7, 1),
    ]
    loop = [
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 2, 6, 0),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 3, 6, 8),
        *body,
        Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_DW, 6, 4, 16),
        Insn(isa.CLS_ALU64 | isa.ALU_ADD, 6, 0, 0, 24),
    ]
    check = Insn(isa.CLS_JMP | isa.JMP_JGE | isa.SRC_X, 6, 7, len(loop) + 1)
    back = Insn(isa.OP_JA, 0, 0, -(len(loop) + 2))
    tail = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 0, 4), Insn(isa.OP_EXIT)]
    return Program(head + [check] + loop + [back] + tail)


def check_records(program: Program, ctx: bytes, target: str,
                  variants: list[tuple[str, BackendOptions]], profile: str = "rfc",
                  budget=None, show_code: bool = False):
    """Interpreter vs `target` under each (name, backend options); returns the reference.
    A failure names the first record whose out differs (and, with show_code, lists the
    machine code too)."""
    registry = builtin_registry(profile)
    ref = interp_run(program, ctx=ctx, profile=profile, budget=budget, helpers=registry)
    assert ref.status == 0 or profile == "femto"
    for name, options in variants:
        tr = translate(program, target=target, profile=profile, budget=budget,
                       backend_options=options)
        got = tr.run(ctx=ctx, helpers=registry)
        problem = compare_outcomes(ref, got)
        if problem:
            out_ref, out_got = ref.memory["ctx"], got.memory["ctx"]
            bad = [i // 24 for i in range(16, len(out_ref), 24)
                   if out_ref[i:i + 8] != out_got[i:i + 8]]
            raise AssertionError(f"{name}: {problem}; first bad record "
                                 f"{ctx[24 * bad[0]:24 * bad[0] + 16].hex() if bad else ''}"
                                 f"\n{tr.ir_listing()}" + (f"\n{tr.disassembly()}" if show_code
                                                           else ""))
    return ref


ALU = {
    "add": (isa.ALU_ADD, 0), "sub": (isa.ALU_SUB, 0), "mul": (isa.ALU_MUL, 0),
    "div": (isa.ALU_DIV, 0), "sdiv": (isa.ALU_DIV, 1), "mod": (isa.ALU_MOD, 0),
    "smod": (isa.ALU_MOD, 1), "or": (isa.ALU_OR, 0), "and": (isa.ALU_AND, 0),
    "xor": (isa.ALU_XOR, 0), "lsh": (isa.ALU_LSH, 0), "rsh": (isa.ALU_RSH, 0),
    "arsh": (isa.ALU_ARSH, 0), "mov": (isa.ALU_MOV, 0), "movsx8": (isa.ALU_MOV, 8),
    "movsx16": (isa.ALU_MOV, 16), "movsx32": (isa.ALU_MOV, 32),
}


def _alu_cases():
    for name, (op, off) in ALU.items():
        for wide in (False, True):
            if name == "movsx32" and not wide:
                continue
            yield pytest.param(name, op, off, wide, id=f"{name}{64 if wide else 32}")


def alu_cases():
    for name, (op, off) in ALU.items():
        for wide in (False, True):
            if name == "movsx32" and not wide:
                continue
            yield pytest.param(name, op, off, wide, id=f"{name}{64 if wide else 32}")


UNARY_KINDS = ["neg32", "neg64", "le16", "le32", "le64", "be16", "be32", "be64", "bswap16",
               "bswap32", "bswap64"]


def unary_body(kind: str) -> list[Insn]:
    """r4 = a, then the unary operation `kind` on r4."""
    if kind.startswith("neg"):
        insn = Insn(0x84 if kind == "neg32" else 0x87, 4)
    else:
        opcode = {"le": 0xD4, "be": 0xDC, "bswap": 0xD7}[kind[:-2]]
        insn = Insn(opcode, 4, 0, 0, int(kind[-2:]))
    return [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2), insn]


CONDS = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"]
COND_OPS = dict(zip(CONDS, [isa.JMP_JEQ, isa.JMP_JNE, isa.JMP_JGT, isa.JMP_JGE, isa.JMP_JLT,
                            isa.JMP_JLE, isa.JMP_JSGT, isa.JMP_JSGE, isa.JMP_JSLT,
                            isa.JMP_JSLE, isa.JMP_JSET]))


def branch_bits_body(cond: str, wide: bool, imms) -> list[Insn]:
    """r4 = r4 * 2 + cond(a, b) with b a register, then with the operands swapped (a
    constant on the left after folding), then against each immediate."""
    cls = isa.CLS_JMP if wide else isa.CLS_JMP32
    op = COND_OPS[cond]
    body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV, 4, 0, 0, 0)]

    def bit(insn: Insn) -> list[Insn]:
        # r4 = r4 * 2 + cond: the jump over one instruction skips the ja when cond holds
        return [Insn(isa.CLS_ALU64 | isa.ALU_LSH, 4, 0, 0, 1), insn,
                Insn(isa.CLS_JMP | isa.JMP_JA, 0, 0, 1),
                Insn(isa.CLS_ALU64 | isa.ALU_OR, 4, 0, 0, 1)]

    body += bit(Insn(cls | op | isa.SRC_X, 2, 3, 1, 0))
    body += bit(Insn(cls | op | isa.SRC_X, 3, 2, 1, 0))
    for imm in imms:
        body += bit(Insn(cls | op, 2, 0, 1, imm))
    return body


def division_pairs(seed: int, n: int = 400) -> list[tuple[int, int]]:
    """Dividend/divisor pairs of every magnitude class the 64-bit division distinguishes:
    divisor below 2^32 with the dividend's upper half below or above it, divisor above 2^32
    (with quotients that need the final correction), powers of two, 1, all-ones, signs."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rng.randrange(7)
        bits_a = rng.randrange(1, 65)
        a = rng.getrandbits(bits_a)
        if kind == 0:
            b = rng.getrandbits(rng.randrange(1, 33)) or 1
        elif kind == 1:
            b = rng.getrandbits(rng.randrange(33, 65)) or 3
        elif kind == 2:
            b = 1 << rng.randrange(64)
        elif kind == 3:
            b = (a >> rng.randrange(1, 8)) or 1  # small quotients
        elif kind == 4:
            b = rng.choice([1, M64, M64 - 1, 0xFFFFFFFF, 0x100000000, 0x100000001, 1 << 63])
        elif kind == 5:
            q = rng.getrandbits(rng.randrange(1, 33))
            b = rng.getrandbits(rng.randrange(33, 64)) | (1 << 32)
            a = (q * b + rng.randrange(b)) & M64  # remainder just below the divisor
        else:
            b = (-rng.getrandbits(rng.randrange(1, 64))) & M64 or 5
        out.append((a, b))
    return out


def assert_division_results(name: str, value_pairs, ctx_memory: bytes) -> None:
    """The reference itself is right: each record's out equals Python's arithmetic on the
    same pair (`name`: div, mod, sdiv or smod, 64-bit)."""
    for i, (a, b) in enumerate(value_pairs):
        got = struct.unpack_from("<Q", ctx_memory, 24 * i + 16)[0]
        sa, sb = (a - (1 << 64) if a >> 63 else a), (b - (1 << 64) if b >> 63 else b)
        q = abs(sa) // abs(sb) * (1 if (sa < 0) == (sb < 0) else -1)
        expect = {"div": a // b, "mod": a % b, "sdiv": q & M64,
                  "smod": (sa - q * sb) & M64}[name]
        assert got == expect, (name, hex(a), hex(b))
