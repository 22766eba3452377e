"""The generic register allocator.

Soundness is checked by simulation: the function is rewritten so that every variable becomes
its location (one IR variable per register and per spill slot), call-clobbered registers get
garbage after every call, and the IR interpreter must give the same outcome as before. So a
wrong colouring, a broken coalescing or a variable left in a clobbered register across a call
changes the result, whatever the backend.
"""

from __future__ import annotations

import struct

import pytest
from conftest import CONFORMANCE_TESTS, FUZZ_EXAMPLES
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from femtojit.asm import assemble_program
from femtojit.builtin_helpers import builtin_registry
from femtojit.conformance.parser import parse_file
from femtojit.errors import VerifyError
from femtojit.ir import lower
from femtojit.ir import types as T
from femtojit.ir.analysis import loop_depth
from femtojit.ir.interp import interpret
from femtojit.ir.passes import pipeline
from femtojit.ir.regalloc import allocate, check_allocation, interference
from femtojit.ir.types import Const, Var
from femtojit.verify import verify

THUMB = [f"r{i}" for i in range(4, 12)]  # 8 callee-saved registers
RV32 = [f"x{i}" for i in range(5, 32)]  # 27 registers
RV32_CALLER_SAVED = {f"x{i}" for i in (5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 28, 29, 30, 31)}
CONFIGS = [
    ("thumb", THUMB, set()),
    ("rv32", RV32, RV32_CALLER_SAVED),
    ("tiny", ["a", "b", "c"], {"a"}),  # forces spills and the call policy
]
GARBAGE = Const(0xDEADBEEF)


def on_locations(fn: T.Function, alloc, registers, clobbered) -> T.Function:
    """fn with every variable replaced by its location, and clobbered registers trashed
    after each call (except those the call itself defines)."""
    index = {reg: i for i, reg in enumerate(registers)}
    moved = 1 << 20  # locations are numbered from here while rewriting (a field can be both
    # a use and a def, BudgetTick's counter, and must be mapped once)

    def to_loc(o):
        if not isinstance(o, Var) or o.n >= moved:
            return o
        kind, where = alloc.location(o.n)
        return Var(moved + (index[where] if kind == "reg" else len(registers) + where))

    def back(o):
        return Var(o.n - moved) if isinstance(o, Var) and o.n >= moved else o

    out = fn.copy()
    for block in out.blocks:
        ops = []
        for op in block.ops:
            for rewrite in (to_loc, back):
                op.replace_uses(rewrite)
                op.replace_defs(rewrite)
            ops.append(op)
            if isinstance(op, (T.Call, T.CallX)):
                written = {d.n for d in op.defs()}
                ops += [T.Mov(Var(index[r]), GARBAGE) for r in sorted(clobbered)
                        if index[r] not in written]
        block.ops = ops
        if block.term is not None:
            block.term.replace_uses(to_loc)
            block.term.replace_uses(back)
    out.num_vars = len(registers) + alloc.num_slots
    out.budget_var = None
    return out


def assert_allocation_sound(program, fn, *, ctx=b"", helpers=None, budget="default"):
    before = interpret(fn, data=program.data, rodata=program.rodata, ctx=ctx, helpers=helpers,
                       budget=budget)
    for name, registers, clobbered in CONFIGS:
        alloc = allocate(fn, registers, call_clobbered=clobbered)
        assert check_allocation(fn, alloc, clobbered) == [], name
        after = interpret(on_locations(fn, alloc, registers, clobbered), data=program.data,
                          rodata=program.rodata, ctx=ctx, helpers=helpers, budget=budget)
        assert before.same_outcome(after), (name, before, after)


def test_conformance_suite_allocations_are_sound():
    registry = builtin_registry("rfc")
    for path in CONFORMANCE_TESTS:
        test = parse_file(path)
        if test.skipped or not test.slots:
            continue
        program = test.program
        fn = pipeline(lower(program, profile="rfc", budget=None, helper_ids=set(registry.ids())))
        assert_allocation_sound(program, fn, ctx=test.mem, helpers=registry)


def test_unoptimised_functions_allocate_too():
    program = assemble_program("""
        ldxdw %r2, [%r1]
        mov %r9, 0
        loop:
        add %r2, %r9
        mul %r2, 3
        add %r9, 1
        jlt %r9, 20, loop
        mov %r0, %r2
        exit
    """)
    fn = lower(program, profile="femto")
    assert_allocation_sound(program, fn, ctx=struct.pack("<Q", 12345))


@st.composite
def straight_line(draw):
    """Many simultaneously live values, mixed with helper calls, in a loop."""
    lines = ["ldxdw %r2, [%r1]", "ldxdw %r3, [%r1+8]", "mov %r6, 0"]
    for r in (4, 5, 7, 8, 9):
        lines.append(f"mov %r{r}, {draw(st.integers(-1000, 1000))}")
    lines.append("loop:")
    ops = ["add", "sub", "mul", "xor", "or", "and", "lsh", "rsh", "arsh", "mov"]
    for _ in range(draw(st.integers(3, 25))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append("call 2")  # memcpy(r1, r2, r3): faults or copies
        elif kind == 1:
            lines.append(f"stxdw [%r10-{8 * draw(st.integers(1, 8))}], "
                         f"%r{draw(st.integers(0, 9))}")
        else:
            op = draw(st.sampled_from(ops))
            width = draw(st.sampled_from(["", "32"]))
            dst = draw(st.sampled_from([0, 2, 3, 4, 5, 7, 8, 9]))
            src = draw(st.integers(0, 9))
            lines.append(f"{op}{width} %r{dst}, %r{src}")
    lines += ["add %r6, 1", "jlt %r6, 5, loop"]
    for r in range(10):
        lines.append(f"stxdw [%r10-{8 * (r + 9)}], %r{r}")
    lines.append("exit")
    return assemble_program("\n".join(lines))


@pytest.mark.fuzz
@settings(max_examples=FUZZ_EXAMPLES or 60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program=straight_line(), ctx=st.binary(min_size=24, max_size=24),
       optimise=st.booleans())
def test_generated_allocations_are_sound(program, ctx, optimise):
    registry = builtin_registry("femto")
    try:
        verify(program, "femto", set(registry.ids()))
    except VerifyError:
        assume(False)
    fn = lower(program, profile="femto", helper_ids=set(registry.ids()))
    if optimise:
        fn = pipeline(fn)
    assert_allocation_sound(program, fn, ctx=ctx, helpers=registry)


LOOP = """
    ldxdw %r2, [%r1]
    ldxdw %r3, [%r1+8]
    ldxdw %r4, [%r1+16]
    ldxdw %r5, [%r1+24]
    mov %r9, 0
    mov %r0, 0
    loop:
    ldxw %r6, [%r1+32]
    add32 %r0, %r6
    xor32 %r0, %r9
    add32 %r9, 1
    jlt32 %r9, 100, loop
    add %r0, %r2
    add %r0, %r3
    add %r0, %r4
    add %r0, %r5
    exit
"""


def test_hot_loop_variables_win_registers():
    fn = pipeline(lower(assemble_program(LOOP), profile="femto"))
    alloc = allocate(fn, ["a", "b", "c", "d", "e"])
    depth = loop_depth(fn)
    in_loop = set()
    for block in fn.blocks:
        if depth[block.id]:
            for op in [*block.ops, block.term]:
                in_loop.update(v.n for v in op.uses() + op.defs())
    assert alloc.slots, "5 registers cannot hold everything"
    assert all(v in alloc.registers for v in in_loop), "loop values are the hottest"
    assert any(v not in in_loop for v in alloc.slots)


def test_allocation_is_deterministic_and_fits_in_27_registers():
    fn = pipeline(lower(assemble_program(LOOP), profile="femto"))
    first = allocate(fn, RV32, call_clobbered=RV32_CALLER_SAVED)
    second = allocate(fn.copy(), RV32, call_clobbered=RV32_CALLER_SAVED)
    assert first.registers == second.registers and first.slots == second.slots == {}
    assert first.used_registers == [r for r in RV32 if r in set(first.registers.values())]


def test_values_live_across_calls_avoid_clobbered_registers():
    program = assemble_program("""
        ldxdw %r6, [%r1]
        mov %r7, %r6
        mul %r7, 3
        call 1
        add %r6, %r7
        mov %r0, %r6
        exit
    """)
    fn = pipeline(lower(program, profile="femto", helper_ids={1}))
    alloc = allocate(fn, ["s0", "a0", "a1", "s1"], call_clobbered={"a0", "a1"})
    assert alloc.live_across_calls
    for v in alloc.live_across_calls:
        assert alloc.registers.get(v) not in {"a0", "a1"}
    # with every register clobbered, values live across the call are spilled
    alloc = allocate(fn, ["a0", "a1"], call_clobbered={"a0", "a1"})
    assert all(v in alloc.slots for v in alloc.live_across_calls)


def test_moves_are_coalesced():
    """Every Mov between variables that do not interfere ends up a self-move."""
    program = assemble_program("""
        ldxdw %r2, [%r1]
        mov %r3, %r2
        add %r3, 1
        mov %r4, %r3
        mov %r6, %r4
        stxdw [%r10-8], %r6
        mov %r0, 0
        exit
    """)
    fn = lower(program, profile="rfc", budget=None)
    graph = interference(fn)
    alloc = allocate(fn, THUMB)
    moves = [op for _, _, op in fn.ops() if isinstance(op, T.Mov) and isinstance(op.a, Var)
             and not graph.interferes(op.d.n, op.a.n)]
    assert len(moves) >= 4
    assert all(alloc.location(m.d) == alloc.location(m.a) for m in moves)


def test_precoloured_variables_and_errors():
    fn = pipeline(lower(assemble_program(LOOP), profile="femto"))
    alloc = allocate(fn, THUMB, precolored={fn.budget_var: "r11"})
    assert alloc.registers[fn.budget_var] == "r11"
    assert check_allocation(fn, alloc) == []
    graph = interference(fn)
    a = fn.budget_var
    b = sorted(graph.adj[a])[0]
    with pytest.raises(ValueError, match="interfere"):
        allocate(fn, THUMB, precolored={a: "r4", b: "r4"})
    with pytest.raises(ValueError, match="not allocatable"):
        allocate(fn, THUMB, precolored={a: "r0"})


def test_results_of_multi_result_ops_share_registers_only_with_themselves():
    """A pair op's result may share a register with an input only when it is the same
    variable (an in-place update), so a backend can write the results in any order."""
    program = assemble_program("ldxdw %r2, [%r1]\nldxdw %r3, [%r1+8]\nadd %r2, %r3\n"
                               "mov %r4, %r2\nmul %r4, %r3\nmov %r0, %r4\nexit")
    for fn in (lower(program, profile="rfc", budget=None),
               pipeline(lower(program, profile="rfc", budget=None))):
        alloc = allocate(fn, ["a", "b", "c", "d", "e", "f"])
        checked = 0
        for _, _, op in fn.ops():
            if len(op.defs()) > 1:
                for d in op.defs():
                    for u in op.uses():
                        if d != u:
                            assert alloc.location(d) != alloc.location(u), op
                checked += 1
        assert checked
