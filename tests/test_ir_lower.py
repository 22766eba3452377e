"""Lowering: every instruction form against the reference interpreter, and the shape of
what lowering produces (checks, budget edges, calls, division by zero per profile)."""

from __future__ import annotations

import struct

import pytest

from femtojit import isa
from femtojit.asm import assemble_program
from femtojit.errors import TranslateError
from femtojit.helpers import HelperRegistry
from femtojit.ir import lower
from femtojit.ir import types as T
from femtojit.ir.check import compare_engines
from femtojit.ir.interp import IRRuntimeError, StepLimitExceeded, interpret
from femtojit.isa import Insn
from femtojit.program import Program

M64 = (1 << 64) - 1

# Pairs of 64-bit operands the per-instruction tests load from ctx (so that no pass can
# fold them away): signs, zeros, carries, INT_MIN / -1, shift amounts beyond the width.
VALUES = [
    (0x0000000100000005, 0x0000000000000003),
    (0xFFFFFFFFFFFFFFFF, 0x0000000000000001),
    (0x8000000000000000, 0xFFFFFFFFFFFFFFFF),
    (0xFFFFFFFF80000000, 0x00000000FFFFFFFF),
    (0x123456789ABCDEF0, 0x0000000000000000),
    (0x00000000FFFFFFFF, 0x0000000000000021),
    (0x7FFFFFFF00000000, 0xFFFFFFFFFFFFFFC1),
    (0x0000000080000000, 0xFFFFFFFF80000000),
]


def ctx_for(a: int, b: int) -> bytes:
    return struct.pack("<QQ", a, b) + bytes(range(16))


def check_snippet(body: str, profiles=("femto", "rfc"), values=VALUES):
    """Run `body` with r2, r3 loaded from ctx (each value pair), r0 := r2 at the end and
    r2/r3 stored to the stack; the three engines must agree."""
    text = f"""
        ldxdw %r2, [%r1]
        ldxdw %r3, [%r1+8]
        {body}
        stxdw [%r10-8], %r2
        stxdw [%r10-16], %r3
        mov %r0, %r2
        exit
    """
    program = assemble_program(text)
    for profile in profiles:
        for a, b in values:
            comparison = compare_engines(program, profile=profile, ctx=ctx_for(a, b))
            assert not comparison.mismatches(), (profile, hex(a), hex(b), body,
                                                 comparison.mismatches())


ALU2 = ["add", "sub", "mul", "div", "sdiv", "mod", "smod", "or", "and", "lsh", "rsh",
        "arsh", "xor", "mov"]


@pytest.mark.parametrize("op", ALU2)
@pytest.mark.parametrize("width", ["", "32"])
def test_alu_register_forms(op, width):
    check_snippet(f"{op}{width} %r2, %r3")


@pytest.mark.parametrize("op", ALU2)
@pytest.mark.parametrize("width", ["", "32"])
def test_alu_immediate_forms(op, width):
    for imm in (1, -1, 7, 31, 32, 33, 63, 64, -0x80000000, 0x7FFFFFFF):
        check_snippet(f"{op}{width} %r2, {imm}", values=VALUES[:4])


def test_alu_by_same_register():
    for op in ALU2:
        check_snippet(f"{op} %r2, %r2", values=VALUES[:4])
        check_snippet(f"{op}32 %r2, %r2", values=VALUES[:4])


def test_division_by_zero_immediate_in_rfc():
    for op in ("div", "mod", "sdiv", "smod", "div32", "mod32", "sdiv32", "smod32"):
        check_snippet(f"{op} %r2, 0", profiles=("rfc",), values=VALUES[:3])


@pytest.mark.parametrize("form", ["neg %r2", "neg32 %r2", "le16 %r2", "le32 %r2", "le64 %r2",
                                  "be16 %r2", "be32 %r2", "be64 %r2", "bswap16 %r2",
                                  "bswap32 %r2", "bswap64 %r2", "movsx832 %r2, %r3",
                                  "movsx1632 %r2, %r3", "movsx864 %r2, %r3",
                                  "movsx1664 %r2, %r3", "movsx3264 %r2, %r3"])
def test_unary_and_sign_extending_moves(form):
    check_snippet(form)


def test_negation_spelled_0x8f():
    insns = [Insn(0x79, 2, 1, 0), Insn(isa.OP_NEG64_FC, 2), Insn(0xBF, 0, 2), Insn(0x95)]
    comparison = compare_engines(Program(insns), profile="femto", ctx=ctx_for(5, 0))
    assert not comparison.mismatches() and comparison.reference.result == M64 - 4


JUMPS = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"]


@pytest.mark.parametrize("jump", JUMPS)
@pytest.mark.parametrize("width", ["", "32"])
def test_conditional_jumps(jump, width):
    check_snippet(f"{jump}{width} %r2, %r3, +1\nmov %r2, 77")
    for imm in (0, 1, -1, 5, -0x80000000, 0x7FFFFFFF):
        check_snippet(f"{jump}{width} %r2, {imm}, +1\nmov %r2, 77", values=VALUES[:5])


@pytest.mark.parametrize("size", ["b", "h", "w", "dw"])
def test_loads_and_stores_every_size(size):
    check_snippet(f"""
        stx{size} [%r10-24], %r2
        ldx{size} %r3, [%r10-24]
        st{size} [%r10-32], -3
        ldx{size} %r2, [%r10-32]
        stx{size} [%r1+3], %r3
        ldx{size} %r2, [%r1+2]
    """)


@pytest.mark.parametrize("size", ["b", "h", "w"])
def test_sign_extending_loads(size):
    check_snippet(f"ldxs{size} %r2, [%r1+4]\nldxs{size} %r3, [%r1+1]")


@pytest.mark.parametrize("size", ["b", "h", "w", "dw"])
def test_accesses_across_the_ends_of_regions(size):
    n = {"b": 1, "h": 2, "w": 4, "dw": 8}[size]
    for base, off in (("%r10", -n + 1), ("%r10", -512), ("%r10", -513), ("%r1", 32 - n),
                      ("%r1", 32 - n + 1), ("%r1", -1)):
        sign = "-" if off < 0 else "+"
        check_snippet(f"ldx{size} %r2, [{base}{sign}{abs(off)}]", values=VALUES[:1])
        check_snippet(f"stx{size} [{base}{sign}{abs(off)}], %r3", values=VALUES[:1])


def test_data_and_rodata_pointers():
    program = assemble_program("""
        lddwd %r6, 4
        lddwr %r7, 0
        ldxw %r2, [%r7+0]
        stxw [%r6+0], %r2
        ldxdw %r3, [%r6-4]
        stxw [%r7+0], %r2
        exit
    """)
    program.data = bytes(range(16))
    program.rodata = b"\x11\x22\x33\x44\x55"
    for profile in ("femto", "rfc"):
        comparison = compare_engines(program, profile=profile)
        assert not comparison.mismatches()
        assert comparison.reference.status == -2  # the store to .rodata


ATOMICS = ["add", "or", "and", "xor"]


@pytest.mark.parametrize("op", ATOMICS)
@pytest.mark.parametrize("width", ["", "32"])
def test_atomics(op, width):
    for fetch in ("", "fetch "):
        check_snippet(f"stxdw [%r10-24], %r2\nlock {fetch}{op}{width} [%r10-24], %r3\n"
                      "ldxdw %r2, [%r10-24]")
        check_snippet(f"lock {fetch}{op}{width} [%r1+1], %r3", values=VALUES[:2])


@pytest.mark.parametrize("width", ["", "32"])
def test_exchange_and_compare_exchange(width):
    for setup in ("mov %r0, %r2", "mov %r0, 1"):
        check_snippet(f"stxdw [%r10-24], %r2\n{setup}\nlock xchg{width} [%r10-24], %r3\n"
                      f"lock cmpxchg{width} [%r10-24], %r3\nstxdw [%r10-40], %r0\n"
                      "ldxdw %r2, [%r10-24]")


def test_atomics_need_read_and_write():
    program = assemble_program("lddwr %r7, 0\nmov %r2, 1\nlock add32 [%r7+0], %r2\nexit")
    program.rodata = bytes(8)
    fn = lower(program)
    checks = [op for _, _, op in fn.ops() if isinstance(op, T.CheckMem)]
    assert [c.access for c in checks] == ["rw"]
    assert compare_engines(program).reference.status == -2


def test_eight_byte_access_is_one_check_and_two_words():
    fn = lower(assemble_program("ldxdw %r1, [%r1+2]\nstxdw [%r10-8], %r1\nexit"))
    ops = [op for op in fn.blocks[1].ops]
    checks = [op for op in ops if isinstance(op, T.CheckMem)]
    assert [(c.size, c.access) for c in checks] == [(8, "r"), (8, "w")]
    assert [(op.size, op.off) for op in ops if isinstance(op, T.Load)] == [(4, 6), (4, 2)]
    assert [(op.size, op.off) for op in ops if isinstance(op, T.Store)] == [(4, -8), (4, -4)]


def test_division_checks_per_profile():
    program = assemble_program("div %r2, %r3\nmod32 %r2, 5\nexit")
    femto = lower(program, profile="femto")
    assert sum(isinstance(op, T.CheckDivZero) for _, _, op in femto.ops()) == 1
    assert not any(isinstance(b.term, T.Branch) for b in femto.blocks)
    rfc = lower(program, profile="rfc")
    assert not any(isinstance(op, T.CheckDivZero) for _, _, op in rfc.ops())
    branches = [b.term for b in rfc.blocks if isinstance(b.term, T.Branch)]
    assert len(branches) == 1 and branches[0].cond == "eq" and branches[0].wide


def test_budget_ticks_live_on_their_own_edge_blocks():
    program = assemble_program("""
        mov %r0, 0
        loop:
        add %r0, 1
        jlt %r0, 10, loop
        ja next
        next:
        call local f
        exit
        f:
        exit
    """)
    fn = lower(program, profile="femto", budget=50)
    ticks = [b for b in fn.blocks if any(isinstance(op, T.BudgetTick) for op in b.ops)]
    assert len(ticks) == 2  # the taken jlt and the ja; calls and exits are not jumps
    for block in ticks:
        assert len(block.ops) == 1 and isinstance(block.term, T.Jump)
    assert not any(isinstance(op, T.BudgetTick) for _, _, op in
                   lower(program, profile="femto", budget=None).ops())


@pytest.mark.parametrize("budget", [0, 1, 9, 10, 11, None])
def test_budget_counts_taken_jumps(budget):
    program = assemble_program("""
        mov %r0, 0
        loop:
        add %r0, 1
        jlt %r0, 10, loop
        ja +0
        exit
    """)
    comparison = compare_engines(program, profile="femto", budget=budget)
    assert not comparison.mismatches()
    expected = -8 if budget is not None and budget < 10 else 0
    assert comparison.reference.status == expected


def test_folded_always_taken_branch_still_ticks():
    program = assemble_program("mov %r2, 3\njgt %r2, 1, +1\nmov %r0, 5\nmov %r0, 6\nexit")
    for budget in (0, 1):
        comparison = compare_engines(program, profile="femto", budget=budget)
        assert not comparison.mismatches()
        assert comparison.reference.status == (-8 if budget == 0 else 0)
    # after the pipeline the branch is gone but its tick is not
    assert "branch" not in comparison.listing and "budgettick" in comparison.listing


def _registry():
    registry = HelperRegistry()

    def big(call):
        call.regs[3] = 0x1122334455667788
        return (call.regs[1] << 8 | 0xAB) & M64

    registry.register(7, "big", big)
    registry.register(8, "echo", lambda call: call.regs[2])
    return registry


def test_helper_calls_per_profile():
    program = assemble_program("""
        ldxdw %r1, [%r1]
        mov %r3, 5
        call 7
        mov %r6, %r0
        mov %r0, %r3
        add %r0, %r6
        exit
    """)
    for profile in ("femto", "rfc"):
        comparison = compare_engines(program, profile=profile, ctx=ctx_for(M64, 0),
                                     helpers=_registry())
        assert not comparison.mismatches()
    femto = lower(program, profile="femto", helper_ids={7, 8})
    call = next(op for _, _, op in femto.ops() if isinstance(op, T.Call))
    assert call.d_hi is None and call.args == [T.Var(n) for n in range(2, 12)]
    assert call.clobbered == [T.Var(n) for n in range(2, 12)]
    rfc = lower(program, profile="rfc", helper_ids={7, 8})
    assert next(op for _, _, op in rfc.ops() if isinstance(op, T.Call)).d_hi == T.Var(1)


def test_imports_and_callx():
    program = assemble_program("mov %r2, 8\ncall %r2\ncall 7\nmov %r3, 99\ncall %r3\nexit")
    fn = lower(program, profile="femto", helper_ids={9, 8, 7})
    assert fn.imports == [7, 8, 9]  # call imm ids first, then every other for callx
    comparison = compare_engines(program, helpers=_registry())
    assert not comparison.mismatches() and comparison.reference.status == -4
    with pytest.raises(TranslateError, match="unknown helper"):
        lower(assemble_program("call 3\nexit"), helper_ids={7})


def test_local_calls_frames_and_returns():
    program = assemble_program("""
        mov %r6, 1
        mov %r1, 10
        call local f
        add %r0, %r6
        exit
        f:
        mov %r6, 100
        mov %r0, %r1
        add %r0, 5
        exit
    """)
    fn = lower(program)
    assert fn.has_local_calls
    pushes = [op for _, _, op in fn.ops() if isinstance(op, T.PushFrame)]
    pops = [b for b in fn.blocks if b.ops and isinstance(b.ops[0], T.PopFrame)]
    assert len(pushes) == 1 and [b.id for b in pops] == [pushes[0].site]
    assert all(not isinstance(b.term, T.Exit) for b in fn.blocks)
    comparison = compare_engines(program)
    assert not comparison.mismatches() and comparison.reference.result == 16


def test_recursion_hits_the_frame_limit():
    program = assemble_program("mov %r0, 3\nf:\nadd %r0, 1\ncall local f\nexit")
    comparison = compare_engines(program, profile="femto")
    assert not comparison.mismatches()
    assert comparison.reference.status == -4 and comparison.reference.result == 3 + 9


def test_entry_state_per_profile():
    program = assemble_program("mov %r0, %r2\nadd %r0, %r1\nexit")
    for profile in ("femto", "rfc"):
        comparison = compare_engines(program, profile=profile, ctx=b"abcdef")
        assert not comparison.mismatches()


def test_jump_into_wide_load_is_rejected():
    slots = [Insn(isa.OP_JA, 0, 0, 1), Insn(isa.OP_LDDW, 0, 0, 0, 1), Insn(0, 0, 0, 0, 0),
             Insn(isa.OP_EXIT)]
    with pytest.raises(TranslateError, match="second slot"):
        lower(Program(slots))


def test_ir_interpreter_refuses_unchecked_accesses():
    fn = T.Function([T.Block(0, [T.Load(T.Var(0), T.Const(0x1000), 0, 4)], T.Exit(T.Var(0),
                     T.Const(0)))], 2)
    with pytest.raises(IRRuntimeError, match="unchecked load"):
        interpret(fn)


def test_ir_interpreter_step_limit():
    fn = lower(assemble_program("ja -1\nexit"), profile="femto", budget=None)
    with pytest.raises(StepLimitExceeded):
        interpret(fn, max_steps=1000)
