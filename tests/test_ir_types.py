"""IR data types: generic defs/uses/rewriting, copies, names and the printer."""

from __future__ import annotations

import pytest

from femtojit.asm import assemble_program
from femtojit.errors import TranslateError
from femtojit.ir import format_function, lower
from femtojit.ir import types as T
from femtojit.ir.types import Const, Var
from femtojit.isa import Insn
from femtojit.program import Program


def test_const_range_is_checked():
    assert T.const(-1) == Const(0xFFFFFFFF)
    with pytest.raises(ValueError):
        Const(1 << 32)
    with pytest.raises(ValueError):
        Const(-1)


def test_unknown_op_names_are_rejected():
    with pytest.raises(ValueError):
        T.Bin("rol", Var(0), Var(1), Var(2))
    with pytest.raises(ValueError):
        T.Un("popcount", Var(0), Var(1))
    with pytest.raises(ValueError):
        T.Branch("lt", Var(0), None, Var(1), None, 1, 2)
    with pytest.raises(ValueError):
        T.Branch("eq", Var(0), Var(1), Var(2), None, 1, 2)  # half 64-bit


def test_defs_and_uses_are_generic():
    op = T.Add64(Var(0), Var(1), Var(0), Var(1), Const(5), Const(0))
    assert op.defs() == [Var(0), Var(1)]
    assert op.uses() == [Var(0), Var(1)]
    assert op.operands() == [Var(0), Var(1), Const(5), Const(0)]
    tick = T.BudgetTick(Var(30), Var(0), Var(1))
    assert tick.defs() == [Var(30)] and tick.uses() == [Var(30), Var(0), Var(1)]
    store = T.Store(Var(20), -8, 4, Const(7))
    assert store.defs() == [] and store.uses() == [Var(20)] and store.side_effect
    call = T.Call(0, [Var(n) for n in range(2, 12)], Var(0), None,
                  [Var(2), None, *[None] * 8], Var(0), Var(1))
    assert call.defs() == [Var(0), Var(2)]
    assert len(call.uses()) == 12 and call.can_fault


def test_def_dependencies_of_a_low_sum_skip_upper_halves():
    op = T.Add64(Var(0), Var(1), Var(2), Var(3), Var(4), Var(5))
    low, high = op.def_dependencies()
    assert low == [Var(2), Var(4)]
    assert high == [Var(2), Var(3), Var(4), Var(5)]


def test_replace_uses_keeps_list_positions_and_defs():
    call = T.Call(0, [Var(n) for n in range(2, 12)], Var(0), None, [None] * 10, Var(0), Var(1))
    call.replace_uses(lambda o: Const(9) if o == Var(3) else o)
    assert call.args[1] == Const(9) and call.args[0] == Var(2) and len(call.args) == 10
    assert call.d_lo == Var(0)  # a def is not a use
    op = T.Bin("add", Var(4), Var(4), Var(5))
    op.replace_defs(lambda v: Var(40))
    assert (op.d, op.a) == (Var(40), Var(4))


def test_copy_is_independent():
    op = T.PushFrame(3, [Var(n) for n in range(12, 20)], Var(0), Var(1))
    dup = op.copy()
    dup.replace_uses(lambda o: Const(0))
    assert op.saved[0] == Var(12) and dup.saved[0] == Const(0)


def test_terminator_successors_and_retargeting():
    br = T.Branch("ult", Var(0), None, Const(3), None, 5, 6)
    assert br.successors() == [5, 6] and not br.wide
    br.replace_target(5, 9)
    assert br.successors() == [9, 6]
    ret = T.Return(Var(0), Var(1), [4, 7])
    assert ret.successors() == [4, 7]
    assert T.LocalCall(2, 8).successors() == [2]
    assert T.Exit(Var(0), Var(1)).successors() == []


def test_function_names_and_new_vars():
    fn = lower(assemble_program("mov %r0, 1\nja +0\nexit"), profile="femto")
    assert fn.var_name(0) == "r0.lo" and fn.var_name(21) == "r10.hi"
    assert fn.var_name(fn.budget_var) == "budget"
    t = fn.new_var("sum")
    assert fn.var_name(t.n) == f"sum{t.n}"
    fn.var_origin[99] = 7
    assert fn.var_name(99) == "r3.hi.99"
    block = fn.new_block()
    assert block.id == max(b.id for b in fn.blocks[:-1]) + 1


def test_printer_lists_every_block_and_op_kind():
    program = assemble_program(
        """
        mov %r6, 5
        lddw %r7, 0x100000000
        stxdw [%r10-8], %r7
        ldxdw %r1, [%r10-8]
        div %r1, %r6
        lock fetch add [%r10-8], %r6
        call 1
        call local sub
        exit
        sub:
        rsh %r1, %r2
        exit
        """
    )
    fn = lower(program, profile="femto", helper_ids={1})
    text = format_function(fn)
    for needle in ("function profile=femto budget=200 imports=[0x1]", "param stack_top",
                   "checkmem w 8 [r10.lo-8]", "load4 [r10.lo-4]", "udiv64", "checkdivzero",
                   "call #0 (id 0x1)", "pushframe site=b", "popframe", "localcall b",
                   "return r0.lo:r0.hi sites=[", "lshr64", "store4 [r10.lo-4], r7.hi"):
        assert needle in text, needle
    assert text.count("b0:") == 1


def test_program_without_exit_fails_to_lower():
    with pytest.raises(TranslateError, match="fall through"):
        lower(Program([Insn(0xB7, 0, 0, 0, 1)]))
