"""Each IR pass on its own: what it rewrites, what it must leave alone, and that the
outcome (reference interpreter vs IR interpreter) never changes."""

from __future__ import annotations

import struct

import pytest

from femtojit.asm import assemble_program
from femtojit.errors import FemtojitError
from femtojit.ir import format_function, lower
from femtojit.ir import types as T
from femtojit.ir.check import compare_engines
from femtojit.ir.passes import (
    DEFAULT_PASSES,
    NO_PASSES,
    constants,
    dce,
    parse_passes,
    pipeline,
    provenance,
    webs,
    widths,
)
from femtojit.ir.types import Const, Var

M64 = (1 << 64) - 1


def build(text: str, *, profile="femto", budget="default", data=b"", rodata=b""):
    program = assemble_program(text)
    program.data, program.rodata = data, rodata
    return program, lower(program, profile=profile, budget=budget)


def same_everywhere(program, ctxs, passes=DEFAULT_PASSES, profiles=("femto", "rfc"), **kw):
    for profile in profiles:
        for ctx in ctxs:
            comparison = compare_engines(program, profile=profile, ctx=ctx, passes=passes, **kw)
            assert not comparison.mismatches(), (profile, ctx, comparison.listing)


def ops_of(fn, kind):
    return [op for _, _, op in fn.ops() if isinstance(op, kind)]


def q(*values) -> bytes:
    return b"".join(struct.pack("<Q", v & M64) for v in values) + bytes(16)


CTXS = [q(5, 3), q(M64, 1), q(1 << 63, M64), q(0xFFFFFFFF, 0x80000000), q(0, 0)]

# -- constants ------------------------------------------------------------------------------


def test_constants_fold_a_whole_program():
    program, fn = build("mov %r2, 5\nadd %r2, 3\nlsh %r2, 33\nmov %r0, %r2\nexit")
    pipeline(fn, ("constants", "dce"))
    assert fn.blocks[-1].term == T.Exit(Const(0), Const(16))
    assert sum(len(b.ops) for b in fn.blocks) == 0


def test_constants_identities_and_copies():
    program, fn = build("""
        ldxdw %r2, [%r1]
        mov %r3, %r2
        add32 %r3, 0
        mul %r3, 1
        xor %r4, %r4
        or %r4, %r3
        mov %r0, %r4
        exit
    """)
    pipeline(fn, ("constants", "dce"))
    body = [op for b in fn.blocks for op in b.ops]
    assert not any(isinstance(op, (T.Bin, T.Add64, T.MulWide)) for op in body)
    assert fn.blocks[-1].term.r0hi == Const(0)  # add32 zero-extended the copy
    same_everywhere(program, CTXS)


def test_constants_conditional_propagation_and_branch_folding():
    program, fn = build("""
        mov %r2, 1
        jeq %r2, 1, +2
        mov %r2, 7
        ja +1
        mov %r3, 9
        mov %r0, %r2
        exit
    """)
    constants.run(fn)
    dce.run(fn)
    assert not any(isinstance(b.term, T.Branch) for b in fn.blocks)
    assert fn.blocks[-1].term.r0lo == Const(1)
    assert len(ops_of(fn, T.BudgetTick)) == 1  # the taken jeq still counts
    same_everywhere(program, [b""], passes=("constants", "dce"))


def test_constants_leave_a_known_zero_division_to_its_check():
    program, fn = build("mov %r3, 0\nmov %r2, 10\ndiv %r2, %r3\nmov %r0, %r2\nexit")
    pipeline(fn)
    assert len(ops_of(fn, T.CheckDivZero)) == 1
    same_everywhere(program, [b""])


def test_fault_results_become_constants():
    program, fn = build("mov %r0, 42\nldxw %r2, [%r1+100]\nexit")
    pipeline(fn)
    check = ops_of(fn, T.CheckMem)[0]
    assert (check.r0lo, check.r0hi) == (Const(42), Const(0))
    same_everywhere(program, [b"", bytes(200)])


# -- widths ---------------------------------------------------------------------------------


def test_lsh_rsh_32_leaves_a_zero_upper_half():
    program, fn = build("ldxdw %r2, [%r1]\nlsh %r2, 32\nrsh %r2, 32\nmov %r0, %r2\nexit")
    pipeline(fn)
    assert fn.blocks[-1].term.r0hi == Const(0)
    assert not ops_of(fn, T.Shift64) and not ops_of(fn, T.Bin)
    same_everywhere(program, CTXS)


@pytest.mark.parametrize("cond,expected", [("jsgt", "ugt"), ("jslt", "ult"), ("jgt", "ugt"),
                                           ("jeq", "eq"), ("jset", "set")])
def test_compares_of_zero_extended_values_become_32_bit(cond, expected):
    program, fn = build(f"""
        ldxw %r2, [%r1]
        ldxw %r3, [%r1+8]
        mov %r0, 0
        {cond} %r2, %r3, +1
        mov %r0, 1
        exit
    """)
    pipeline(fn)
    (branch,) = [b.term for b in fn.blocks if isinstance(b.term, T.Branch)]
    assert not branch.wide and branch.cond == expected
    same_everywhere(program, CTXS)


@pytest.mark.parametrize("cond", ["jsgt", "jslt", "jgt", "jlt", "jeq", "jset"])
def test_compares_of_sign_extended_values_keep_their_signedness(cond):
    program, fn = build(f"""
        ldxw %r2, [%r1]
        lsh %r2, 32
        arsh %r2, 32
        mov %r0, 0
        {cond} %r2, -5, +1
        mov %r0, 1
        exit
    """)
    pipeline(fn)
    (branch,) = [b.term for b in fn.blocks if isinstance(b.term, T.Branch)]
    assert not branch.wide and branch.cond == {"jsgt": "sgt", "jslt": "slt", "jgt": "ugt",
                                               "jlt": "ult", "jeq": "eq", "jset": "set"}[cond]
    same_everywhere(program, CTXS + [q(0xFFFFFFFB), q(0xFFFFFFFA), q(0x80000000)])


def test_compare_with_unknown_upper_half_stays_64_bit():
    program, fn = build("ldxdw %r2, [%r1]\nmov %r0, 0\njsgt %r2, 5, +1\nmov %r0, 1\nexit")
    pipeline(fn)
    (branch,) = [b.term for b in fn.blocks if isinstance(b.term, T.Branch)]
    assert branch.wide
    same_everywhere(program, CTXS)


def test_dead_upper_halves_narrow_pair_ops():
    program, fn = build("""
        ldxdw %r2, [%r1]
        ldxdw %r3, [%r1+8]
        add %r2, %r3
        mul %r2, %r3
        sub %r2, 7
        mov32 %r0, %r2
        exit
    """)
    pipeline(fn)
    assert not ops_of(fn, T.Add64) and not ops_of(fn, T.Sub64)
    assert not ops_of(fn, T.MulWide)
    assert sorted(op.op for op in ops_of(fn, T.Bin)) == ["add", "mul", "sub"]
    same_everywhere(program, CTXS)


@pytest.mark.parametrize("op", ["div", "mod", "sdiv", "smod"])
def test_divisions_of_zero_extended_values_become_32_bit(op):
    program, fn = build(f"ldxw %r2, [%r1]\nldxw %r3, [%r1+8]\n{op} %r2, %r3\n"
                        "mov %r0, %r2\nexit")
    pipeline(fn)
    assert not ops_of(fn, T.Div64)
    assert all(c.hi is None for c in ops_of(fn, T.CheckDivZero))
    same_everywhere(program, CTXS)


def test_signed_remainder_of_sign_extended_values_is_32_bit():
    program, fn = build("ldxsw %r2, [%r1]\nldxsw %r3, [%r1+8]\nsmod %r2, %r3\n"
                        "mov %r0, %r2\nexit", profile="rfc", budget=None)
    pipeline(fn)
    assert not ops_of(fn, T.Div64)
    # srem and the result's sign; the other ashr is r2's own sign, kept for mod by zero
    assert sorted(op.op for op in ops_of(fn, T.Bin)) == ["ashr", "ashr", "srem"]
    same_everywhere(program, CTXS + [q(0x80000000, 0xFFFFFFFF)], profiles=("rfc",))


def test_signed_division_int_min_by_minus_one_stays_64_bit():
    program, fn = build("ldxsw %r2, [%r1]\nldxsw %r3, [%r1+8]\nsdiv %r2, %r3\n"
                        "mov %r0, %r2\nexit", profile="rfc", budget=None)
    pipeline(fn)
    assert ops_of(fn, T.Div64)
    same_everywhere(program, CTXS + [q(0x80000000, 0xFFFFFFFF)], profiles=("rfc",))


def test_shift_by_bounded_amounts():
    for amount_ops, narrow in (("and %r3, 31", True), ("rsh32 %r3, 27", True),
                               ("rsh32 %r3, 26", False), ("and %r3, 63", False)):
        program, fn = build(f"""
            ldxw %r2, [%r1]
            ldxdw %r3, [%r1+8]
            {amount_ops}
            rsh %r2, %r3
            mov %r0, %r2
            exit
        """)
        pipeline(fn)
        assert (not ops_of(fn, T.Shift64)) == narrow, amount_ops
        same_everywhere(program, CTXS + [q(0x80000000, 63), q(0xFFFFFFFF, 0xFC000000)])


def test_counter_stopping_just_below_2_to_32_is_narrowed():
    program, fn = build("""
        lddw %r9, 0xfffffff0
        lddw %r3, 0xffffffff
        loop:
        add %r9, 1
        jne %r9, %r3, loop
        stxdw [%r10-8], %r9
        exit
    """, budget=40)
    pipeline(fn)
    assert not ops_of(fn, T.Add64)
    same_everywhere(program, [b""], budget=40)


def test_stack_and_data_pointers_at_64_bits_need_no_carry():
    """r10 - k and .data + k (k within the region) cannot carry out of the low half."""
    program, fn = build("""
        mov %r2, %r10
        add %r2, -64
        lddwd %r3, 12
        stxdw [%r10-8], %r2
        stxdw [%r10-16], %r3
        mov %r0, %r2
        exit
    """, data=bytes(16))
    pipeline(fn)
    assert not ops_of(fn, T.Add64) and not ops_of(fn, T.Sub64)
    same_everywhere(program, [b""], passes=DEFAULT_PASSES)


def test_counted_loops_get_32_bit_counters():
    program, fn = build("""
        mov %r9, 0
        mov %r0, 0
        loop:
        ldxb %r2, [%r1+0]
        add %r0, %r2
        add %r9, 4
        jne %r9, 128, loop
        exit
    """)
    pipeline(fn)
    counter = [op for op in ops_of(fn, T.Add64) if fn.var_origin.get(op.dlo.n, op.dlo.n) == 18]
    assert not counter  # r0's sum stays 64-bit (its upper half is the result), r9 does not
    loop_branch = [b.term for b in fn.blocks if isinstance(b.term, T.Branch)]
    assert loop_branch and not any(b.wide for b in loop_branch)
    same_everywhere(program, [bytes([200]) * 4])


@pytest.mark.parametrize("start,step,bound,cond", [
    (0, 3, 128, "jne"),  # never equal: the counter may run past 2**32
    (0, 4, 130, "jne"),
    (1, 4, 128, "jne"),
    (0, 1, 0xFFFFFFFF, "jle"),  # i <= 2**32-1 holds for every 32-bit i
    (0xFFFFFFF0, 8, 0xFFFFFFF9, "jlt"),
    (0xFFFFFFF0, 1, 0x100000005, "jne"),  # crosses 2**32 on the way
    (0xFFFFFFF0, 1, 0x100000005, "jlt"),
])
def test_loops_the_range_analysis_must_not_narrow(start, step, bound, cond):
    program, fn = build(f"""
        lddw %r9, {start}
        lddw %r3, {bound}
        loop:
        add %r9, {step}
        {cond} %r9, %r3, loop
        stxdw [%r10-8], %r9
        exit
    """, budget=40)
    pipeline(fn)
    assert ops_of(fn, T.Add64), "the counter's upper half is not provably zero"
    same_everywhere(program, [b""], budget=40)


# -- provenance -------------------------------------------------------------------------------


@pytest.mark.parametrize("access,removed", [
    ("ldxdw %r2, [%r10-8]", True), ("ldxdw %r2, [%r10-4]", False),
    ("ldxb %r2, [%r10-512]", True), ("ldxb %r2, [%r10-513]", False),
    ("ldxw %r2, [%r10-3]", False), ("ldxw %r2, [%r10-4]", True),
    ("stxdw [%r10-512], %r2", True), ("lock add [%r10-8], %r2", True),
])
def test_stack_checks_at_known_offsets(access, removed):
    program, fn = build(f"mov %r2, 1\n{access}\nmov %r0, %r2\nexit")
    provenance.run(fn)
    checks = ops_of(fn, T.CheckMem)
    assert (not checks) == removed
    assert all(c.region == 0 for c in checks)
    same_everywhere(program, [b""], passes=("provenance",))


def test_stack_pointer_copies_and_indexed_loops():
    program, fn = build("""
        mov %r8, %r10
        add %r8, -64
        stxdw [%r8+0], %r1
        mov %r9, 0
        loop:
        mov %r7, %r10
        add %r7, -128
        add %r7, %r9
        stxw [%r7+0], %r9
        add %r9, 4
        jlt %r9, 128, loop
        ldxw %r0, [%r10-4]
        exit
    """)
    pipeline(fn)
    assert not ops_of(fn, T.CheckMem)
    same_everywhere(program, [b""])


def test_indexed_access_that_can_leave_the_stack_keeps_its_check():
    program, fn = build("""
        mov %r9, 0
        loop:
        mov %r7, %r10
        add %r7, -128
        add %r7, %r9
        stxw [%r7+0], %r9
        add %r9, 4
        jle %r9, 128, loop
        exit
    """)
    pipeline(fn)
    assert len(ops_of(fn, T.CheckMem)) == 1
    same_everywhere(program, [b""])


def test_data_and_rodata_checks_and_hints():
    text = """
        lddwd %r6, 8
        lddwr %r7, 4
        ldxw %r2, [%r6-8]
        ldxw %r3, [%r7+0]
        ldxdw %r4, [%r6+4]
        ldxw %r5, [%r1+0]
        stxw [%r7+0], %r2
        exit
    """
    program, fn = build(text, data=bytes(16), rodata=bytes(8))
    provenance.run(fn)
    checks = ops_of(fn, T.CheckMem)
    # kept: .data+12..20 (past the end), ctx (unknown size), the store to .rodata
    assert [(c.region, c.access) for c in checks] == [(1, "r"), (3, "r"), (2, "w")]
    same_everywhere(program, [b"", bytes(8)], passes=("provenance",))


# -- dce ------------------------------------------------------------------------------------


def test_dce_removes_dead_values_but_never_checks_or_stores():
    program, fn = build("""
        ldxdw %r2, [%r1]
        mov %r3, %r2
        mul %r3, 7
        stxw [%r10-4], %r2
        mov %r0, 1
        exit
    """)
    dce.run(fn)
    assert not ops_of(fn, T.MulWide) and not ops_of(fn, T.Bin)
    assert len(ops_of(fn, T.CheckMem)) == 2 and ops_of(fn, T.Store)
    same_everywhere(program, CTXS, passes=("dce",))


def test_dce_removes_values_that_only_feed_themselves():
    program, fn = build("""
        mov %r4, 0
        mov %r0, 0
        loop:
        add %r4, 3
        add %r0, 1
        jlt %r0, 10, loop
        exit
    """)
    dce.run(fn)
    assert all(op.dlo != Var(8) for op in ops_of(fn, T.Add64))  # r4 is gone
    assert len(ops_of(fn, T.Add64)) == 1
    same_everywhere(program, [b""], passes=("dce",))


def test_dce_trims_helper_reloads_and_results():
    program, fn = build("mov %r1, 1\ncall 1\nmov %r0, 5\nmov %r2, 3\nexit")
    dce.run(fn)
    (call,) = ops_of(fn, T.Call)
    assert call.d_lo is None and all(v is None for v in call.clobbered)


def test_dce_removes_unreachable_blocks_and_dead_local_calls():
    program, fn = build("""
        mov %r0, 1
        ja +2
        call local f
        mov %r0, 3
        exit
        f:
        exit
    """)
    pipeline(fn)
    assert not ops_of(fn, T.PushFrame) and not ops_of(fn, T.PopFrame)
    assert all(not isinstance(b.term, T.LocalCall) for b in fn.blocks)
    same_everywhere(program, [b""])


def test_dce_threads_and_merges_blocks():
    program, fn = build("mov %r0, 1\nja +0\nja +0\nexit", budget=None)
    dce.run(fn)
    assert len(fn.blocks) == 1


# -- webs -----------------------------------------------------------------------------------


def test_webs_split_unrelated_uses_of_a_register():
    program, fn = build("""
        ldxdw %r2, [%r1]
        stxdw [%r10-8], %r2
        ldxdw %r2, [%r1+8]
        stxdw [%r10-16], %r2
        mov %r0, 0
        exit
    """)
    dce.run(fn)
    webs.run(fn)
    stores = [op.value for op in ops_of(fn, T.Store)]
    assert len({v.n for v in stores if isinstance(v, Var)}) == 4
    assert any(n in fn.var_origin for n in (v.n for v in stores))
    same_everywhere(program, CTXS, passes=("dce", "webs"))


def test_webs_keep_the_budget_counter_one_variable():
    program, fn = build("ja +0\nja +0\nja +0\nexit")
    webs.run(fn)
    counters = {op.counter for op in ops_of(fn, T.BudgetTick)}
    assert counters == {Var(fn.budget_var)}


# -- pipeline -------------------------------------------------------------------------------


def test_pipeline_choices():
    _, fn = build("mov %r0, 1\nadd %r0, 2\nexit")
    before = format_function(fn)
    pipeline(fn, NO_PASSES)
    assert format_function(fn) == before
    assert parse_passes("none") == NO_PASSES
    assert parse_passes("constants, dce") == ("constants", "dce")
    with pytest.raises(FemtojitError, match="unknown IR pass"):
        parse_passes("constants,inline")


def test_pipeline_is_idempotent():
    program, fn = build("""
        ldxdw %r2, [%r1]
        mov %r9, 0
        loop:
        add %r2, %r9
        add %r9, 1
        jlt %r9, 10, loop
        mov %r0, %r2
        exit
    """)
    pipeline(fn)
    once = format_function(fn)
    pipeline(fn)
    assert format_function(fn) == once


def test_widths_pass_alone_preserves_semantics():
    program, _ = build("ldxdw %r2, [%r1]\nldxdw %r3, [%r1+8]\nrsh %r2, %r3\njsgt %r2, %r3, +1\n"
                       "mov %r2, 3\nmov %r0, %r2\nexit")
    for passes in (("widths",), ("constants", "widths"), ("widths", "dce", "webs")):
        same_everywhere(program, CTXS, passes=passes)
    assert widths.run  # each pass is importable on its own
