"""Counted-loop versioning (femtojit/backends/common/loops.py) on armv7m.

Loops of every supported shape (32- and 64-bit counters, `!=` counting up or down, `<`
counting up, `>` counting down, bound on either side, in a register or a constant) walk a
pointer with every stride through every region, with trip counts, start points and budgets
around the edges: zero iterations, entered on the wrong side of the bound, trip counts above
the versioning limit, the budget running out exactly at, before and after the loop's end,
the walk leaving its region on the first, a middle or the last iteration. The outcome must be
the interpreter's and the unversioned translation's; and the versioned copy must actually
run (fewer instructions) when its conditions hold.
"""

from __future__ import annotations

import struct

import pytest
from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from femtojit import isa
from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.interp import run as interp_run
from femtojit.isa import Insn
from femtojit.memmap import HOST_BASE, HOST_STRIDE, PERM_READ, PERM_RW, HostRegion
from femtojit.program import Program
from femtojit.translation import compare_outcomes, translate

DATA = bytes(range(3, 3 + 40))
RODATA = bytes(range(90, 90 + 24))
CTX_TAIL = bytes(range(150, 150 + 48))
BASES = {  # instructions setting r6 to the start of a region
    "stack": [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 6, 10),
              Insn(isa.CLS_ALU64 | isa.ALU_ADD, 6, 0, 0, -512)],
    "data": [Insn(isa.OP_LDDWD, 6), Insn(0)],
    "rodata": [Insn(isa.OP_LDDWR, 6), Insn(0)],
    "ctx": [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 6, 1)],
}
LENGTHS = {"stack": 512, "data": len(DATA), "rodata": len(RODATA), "ctx": 24 + len(CTX_TAIL)}
SIZES = {1: isa.SIZE_B, 2: isa.SIZE_H, 4: isa.SIZE_W, 8: isa.SIZE_DW}

SHAPES = [  # (jump opcode, step, counter on the left)
    (isa.JMP_JNE, 1, True), (isa.JMP_JNE, -1, True), (isa.JMP_JNE, 1, False),
    (isa.JMP_JLT, 1, True), (isa.JMP_JGT, 1, False), (isa.JMP_JGT, -1, True),
    (isa.JMP_JLT, -1, False),
]


def loop_program(shape, wide: bool, region: str, size: int, stride: int, off: int,
                 store: bool, const_bound: int | None) -> Program:
    """r2 = i0, r3 = n, r6 = region start + delta (all from ctx); loop: access [r6 + off],
    r0 += 1 (or the loaded value), r6 += stride, r2 += step, branch back while cond."""
    op, step, left = shape
    alu = isa.CLS_ALU64 if wide else isa.CLS_ALU
    jmp = isa.CLS_JMP if wide else isa.CLS_JMP32
    head = BASES[region] + [
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 2, 1, 0),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 3, 1, 8),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 4, 1, 16),
        Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 6, 4),
        Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 0),
    ]
    if store:
        access = [Insn(isa.CLS_STX | isa.MODE_MEM | SIZES[size], 6, 2, off),
                  Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1)]
    else:
        access = [Insn(isa.CLS_LDX | isa.MODE_MEM | SIZES[size], 5, 6, off),
                  Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 5),
                  Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1)]
    body = access + [Insn(isa.CLS_ALU64 | isa.ALU_ADD, 6, 0, 0, stride),
                     Insn(alu | isa.ALU_ADD, 2, 0, 0, step)]
    if const_bound is not None:
        back = Insn(jmp | op, 2, 0, 0, const_bound)
    elif left:
        back = Insn(jmp | op | isa.SRC_X, 2, 3, 0, 0)
    else:
        back = Insn(jmp | op | isa.SRC_X, 3, 2, 0, 0)
    back = back._replace(off=-(len(body) + 1))
    return Program(head + body + [back, Insn(isa.OP_EXIT)], data=DATA, rodata=RODATA)


def _ctx(i0: int, n: int, delta: int) -> bytes:
    return struct.pack("<QQq", i0 & (2**64 - 1), n & (2**64 - 1), delta) + CTX_TAIL


def _check(program, ctx, budget, profile="femto"):
    registry = builtin_registry(profile)
    ref = interp_run(program, ctx=ctx, profile=profile, budget=budget, helpers=registry)
    runs = {}
    for name, opts in (("versioned", BackendOptions()),
                       ("plain", BackendOptions(version_loops=False)),
                       ("spilled", BackendOptions(registers=()))):
        tr = translate(program, target="armv7m", profile=profile, budget=budget,
                       backend_options=opts)
        got = tr.run(ctx=ctx, helpers=registry)
        problem = compare_outcomes(ref, got)
        assert problem is None, f"{name}: {problem}\n{tr.ir_listing()}"
        runs[name] = (tr, got)
    return ref, runs


SETTINGS = settings(max_examples=FUZZ_EXAMPLES or 80, deadline=None,
                    derandomize=FUZZ_EXAMPLES is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.fuzz
@SETTINGS
@given(shape=st.sampled_from(SHAPES), wide=st.booleans(),
       region=st.sampled_from(list(BASES)), size=st.sampled_from([1, 2, 4, 8]),
       stride=st.sampled_from([0, 1, 2, 4, 8, -1, -4, 3, 300]),
       off=st.sampled_from([0, 0, 3, -2, 16]), store=st.booleans(),
       const_bound=st.sampled_from([None, None, 0, 5, 17]),
       i0=st.sampled_from([0, 1, 4, 5, 16, 17, 20, 0xFFFFFFFF, 2**32, 2**63, -3]),
       trips=st.sampled_from([0, 1, 2, 5, 9, 15, (1 << 20) + 3]),
       delta=st.integers(-40, 60), budget=st.sampled_from([0, 3, 8, 9, 10, 16, 60]))
def test_counted_loops(shape, wide, region, size, stride, off, store, const_bound, i0, trips,
                       delta, budget):
    if store and region == "rodata":
        store = False
    # (always a budget: a generated bound may never be reached)
    op, step, left = shape
    n = i0 + step * trips if const_bound is None else const_bound
    program = loop_program(shape, wide, region, size, stride, off, store, const_bound)
    _check(program, _ctx(i0, n, delta), budget)


@pytest.mark.parametrize("budget", [None, 7, 8, 9])
def test_budget_boundary_and_fast_path(budget):
    """A loop of 9 iterations (8 back edges) over ctx: with budget 8 it completes, with 7 it
    stops at the 8th back edge; when the versioned copy runs it is cheaper."""
    shape = (isa.JMP_JLT, 1, True)
    program = loop_program(shape, False, "ctx", 4, 4, 24, False, None)
    ref, runs = _check(program, _ctx(0, 9, 0), budget)
    assert ref.status == (-8 if budget == 7 else 0)
    versioned, plain = runs["versioned"][1].insns, runs["plain"][1].insns
    assert runs["versioned"][0].machine.stats["loops_versioned"] == 1
    if budget != 7:
        assert versioned < plain, (versioned, plain)


@pytest.mark.parametrize("region", list(BASES))
@pytest.mark.parametrize("where", ["first", "middle", "last", "none"])
def test_walk_leaves_the_region(region, where):
    """The range test fails (slow copy) and the walk faults at exactly the access that
    leaves the region: the first, one in the middle, the last; or it stays inside."""
    length = LENGTHS[region]
    size, stride, iterations = 4, 4, 6
    start = {"first": length - 2, "middle": length - 3 * stride - 2,
             "last": length - (iterations - 1) * stride - 2, "none": 0}[where]
    program = loop_program((isa.JMP_JNE, 1, True), True, region, size, stride, 0, False, None)
    ref, _ = _check(program, _ctx(0, iterations, start), None)
    assert ref.status == (0 if where == "none" else -2)


@pytest.mark.parametrize("region", list(BASES))
@pytest.mark.parametrize("size", [1, 4, 8])
@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("slack", [-1, 0, 1])
def test_walk_edges_to_the_byte(region, size, forward, slack):
    """Walks whose extreme access ends exactly at the region's end / starts exactly at its
    start (slack 0: all inside), or one byte beyond (slack 1: the range test must fail and
    the walk fault there), or one byte short (slack -1); forwards and backwards, the check
    before the pointer step, so the first and the last access are both extremes."""
    length = LENGTHS[region]
    iterations = min(5, length // size - 1)  # the walk is shorter than the region
    stride = size if forward else -size
    if forward:  # the last access [start + 4*stride, +size) ends at length + slack
        start = length + slack - size - (iterations - 1) * stride
    else:  # the last access starts at -slack
        start = -slack - (iterations - 1) * stride
    program = loop_program((isa.JMP_JNE, 1, True), False, region, size, stride, 0, False, None)
    ref, _ = _check(program, _ctx(0, iterations, start), None)
    assert ref.status == (-2 if slack == 1 else 0)
    # the same extremes on the first access: walking away from the edge
    start = (length + slack - size) if not forward else -slack
    ref, _ = _check(program, _ctx(0, iterations, start), None)
    assert ref.status == (-2 if slack == 1 else 0)


@pytest.mark.parametrize("budget", list(range(0, 30, 3)) + [8, 13, 14, 15, 16, 1000])
@pytest.mark.parametrize("start", [24, 27])
def test_inner_counted_branches(budget, start):
    """A loop whose body takes a counted branch in some iterations (as bubble sort's swap
    test does): the copy keeps those ticks as decrements after checking the budget covers
    the worst case, so the budget runs out at exactly the same taken branch either way
    (a loop after it spends what is left, so the budget the loop leaves shows in r0)."""
    head = BASES["ctx"] + [
        Insn(isa.CLS_ALU64 | isa.ALU_ADD, 6, 0, 0, start),  # the bytes after the header
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 2, 1, 0),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 3, 1, 8),
        Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 0),
    ]
    body = [
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_B, 5, 6, 0),
        Insn(isa.CLS_JMP | isa.JMP_JGT, 5, 0, 2, 160),  # taken for some bytes
        Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 5),
        Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_B, 6, 0, 1),
        Insn(isa.CLS_ALU64 | isa.ALU_ADD, 6, 0, 0, 1),
        Insn(isa.CLS_ALU | isa.ALU_ADD, 2, 0, 0, 1),
    ]
    back = Insn(isa.CLS_JMP32 | isa.JMP_JLT | isa.SRC_X, 2, 3, -(len(body) + 1), 0)
    # then count up until the budget runs out: r0 shows exactly what the loop left
    drain = [Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1000), Insn(isa.OP_JA, 0, 0, -2)]
    program = Program(head + body + [back] + drain, data=DATA, rodata=RODATA)
    ctx = struct.pack("<QQQ", 0, 12, 0) + bytes([150, 170, 3, 200, 161, 159] * 8)
    ref, runs = _check(program, ctx, budget)
    assert runs["versioned"][0].machine.stats["loops_versioned"] == 1
    assert ref.status == -8
    if budget == 1000:
        assert runs["versioned"][1].insns < runs["plain"][1].insns


@pytest.mark.parametrize("budget", [0, 4, 9, 10, 11, 12, 20, 21, 22, 23, 1000])
@pytest.mark.parametrize("stop", [0, 3, 11, 99])
@pytest.mark.parametrize("after_step", [False, True])
def test_early_exits(budget, stop, after_step):
    """A counted loop with a second, data-dependent exit (as insertion sort's inner loop
    has), before or after the counter's step: the copy pays the back edges actually taken
    on whichever way it leaves; a loop after it spends what is left (observable in r0)."""
    step = Insn(isa.CLS_ALU | isa.ALU_ADD, 2, 0, 0, 1)
    load = Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_B, 5, 6, 0)
    body = [load, Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 5)]
    leave = Insn(isa.CLS_JMP | isa.JMP_JEQ, 2 if after_step else 5, 0, 0, stop)
    body += [step, leave] if after_step else [leave, step]
    body += [Insn(isa.CLS_ALU64 | isa.ALU_ADD, 6, 0, 0, 1)]
    back = Insn(isa.CLS_JMP32 | isa.JMP_JLT | isa.SRC_X, 2, 3, -(len(body) + 1), 0)
    drain = [Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1000), Insn(isa.OP_JA, 0, 0, -2)]
    body_index = {id(x): i for i, x in enumerate(body)}
    leave_at = body_index[id(leave)]
    body[leave_at] = leave._replace(off=len(body) - leave_at)  # to the drain
    head = BASES["ctx"] + [
        Insn(isa.CLS_ALU64 | isa.ALU_ADD, 6, 0, 0, 24),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 2, 1, 0),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 3, 1, 8),
        Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 0),
    ]
    program = Program(head + body + [back] + drain, data=DATA, rodata=RODATA)
    ctx = struct.pack("<QQQ", 0, 14, 0) + bytes([9, 8, 7, 3, 6, 5, 4, 0, 2, 11, 1] * 4)
    ref, runs = _check(program, ctx, budget)
    assert runs["versioned"][0].machine.stats["loops_versioned"] == 1
    assert ref.status == -8


HOSTS = [HostRegion(bytes(range(40, 40 + 36)), PERM_RW), HostRegion(bytes(range(29)), PERM_READ)]


@pytest.mark.parametrize("host", [0, 1])
@pytest.mark.parametrize("size", [1, 4, 8])
@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("slack", [-1, 0, 1])
@pytest.mark.parametrize("store", [False, True])
def test_unhinted_walks_to_the_byte(host, size, forward, slack, store):
    """A pointer read from ctx (no provenance hint: cached checks) walks a host region to
    its edges: the loop copy's range test asks the region table (ProbeRange), and must fail
    exactly when an access would leave the region or the region lacks the permission."""
    length = len(HOSTS[host].data)
    iterations = min(5, length // size - 1)
    stride = size if forward else -size
    if forward:
        start = length + slack - size - (iterations - 1) * stride
    else:
        start = -slack - (iterations - 1) * stride
    base = HOST_BASE + host * HOST_STRIDE
    setup = [Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 6, 1, 24)]
    program = loop_program((isa.JMP_JNE, 1, True), False, "ctx", size, stride, 0, store,
                           None)
    program = Program(setup + program.slots[1:], data=DATA, rodata=RODATA)
    ctx = struct.pack("<QQqQ", 0, iterations, start, base) + CTX_TAIL[8:]
    registry = builtin_registry("femto")
    ref = interp_run(program, ctx=ctx, host=HOSTS, budget=None, helpers=registry)
    for opts in (BackendOptions(), BackendOptions(version_loops=False)):
        tr = translate(program, target="armv7m", budget=None, backend_options=opts)
        got = tr.run(ctx=ctx, host=HOSTS, helpers=registry)
        assert compare_outcomes(ref, got) is None, compare_outcomes(ref, got)
    expect_fault = slack == 1 or (store and host == 1)
    assert ref.status == (-2 if expect_fault else 0)


def test_probe_refuses_a_region_an_earlier_one_overlaps():
    """With a read-only window (earlier in the table) inside a writable host region, the
    probe must not vouch for the host region: a loop storing across the window faults at
    the first store into it, as the interpreter's first-match rule says."""
    from femtojit.emu import layout
    from femtojit.emu.unicorn_harness import UnicornHarness
    from femtojit.helpers import Runtime
    from femtojit.memmap import build_memory

    setup = [Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 6, 1, 24)]
    program = loop_program((isa.JMP_JNE, 1, True), False, "ctx", 4, 4, 0, True, None)
    program = Program(setup + program.slots[1:], data=DATA, rodata=RODATA)
    tr = translate(program, target="armv7m", budget=None)
    assert tr.machine.stats["loops_versioned"] == 1
    big = HostRegion(bytes(64), PERM_RW)
    for delta, expected in ((8, (-2, 4)), (32, (0, 6)), (0, (0, 6))):  # window [24, 32)
        ctx = struct.pack("<QQqQ", 0, 6, delta, HOST_BASE) + CTX_TAIL[8:]
        image = build_memory(DATA, RODATA, ctx, [big])
        harness = UnicornHarness("armv7m", tr.code, image)
        harness.use_helpers(builtin_registry("femto"), Runtime(), "femto")
        vm = harness.setup_abi_vm([], None)
        table = layout.pack_region_table(image)
        window = struct.pack("<III", HOST_BASE + 24, 8, PERM_READ)
        table = table[:48] + window + table[48:]
        harness.uc.mem_write(layout.REGION_TABLE_ADDR, table)
        harness.uc.mem_write(vm + layout.VM_N_REGIONS, struct.pack("<I", 6))
        harness.policy.read.append((layout.REGION_TABLE_ADDR, layout.REGION_TABLE_ADDR + 72))
        harness.call(tr.entry_offset, [vm])
        status, result, _ = harness.read_vm()
        assert (status, result) == expected, delta


@pytest.mark.parametrize("cond", [isa.JMP_JSET, isa.JMP_JSGT, isa.JMP_JSLE, isa.JMP_JGE,
                                  isa.JMP_JLE, isa.JMP_JEQ])
@pytest.mark.parametrize("left", [True, False])
def test_latch_conditions_left_alone(cond, left):
    """Latch conditions the versioning does not count (signed, `set`, `>=`, `<=`, `==`),
    with the counter on either side: the loop is translated as it is."""
    body = [Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1),
            Insn(isa.CLS_ALU64 | isa.ALU_SUB, 2, 0, 0, 1)]
    back = (Insn(isa.CLS_JMP | cond | isa.SRC_X, 2, 3, -3, 0) if left
            else Insn(isa.CLS_JMP | cond | isa.SRC_X, 3, 2, -3, 0))
    head = [Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 2, 1, 0),
            Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 3, 1, 8)]
    program = Program(head + body + [back, Insn(isa.OP_EXIT)])
    for i0, n in ((9, 3), (3, 9), (5, 5), (7, 6)):
        _check(program, struct.pack("<qq", i0, n), 50)


def indexed_program(shift: int, step: int, index_after_step: bool, wide: bool,
                    store: bool, off: int) -> Program:
    """for (i = i0; i != n; i += step) access base[i << shift] (+ off): r6 = ctx's data,
    r2 = i, r3 = n; the address is recomputed from the counter every iteration."""
    alu = isa.CLS_ALU64 if wide else isa.CLS_ALU
    size = {0: isa.SIZE_B, 1: isa.SIZE_H, 2: isa.SIZE_W, 3: isa.SIZE_DW}[shift]
    head = BASES["ctx"] + [
        Insn(isa.CLS_ALU64 | isa.ALU_ADD, 6, 0, 0, 24),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 2, 1, 0),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 3, 1, 8),
        Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 0),
    ]
    index = [Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 4, 2)]
    if shift:
        index.append(Insn(isa.CLS_ALU64 | isa.ALU_LSH, 4, 0, 0, shift))
    index.append(Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 4, 6))
    if store:
        access = [Insn(isa.CLS_STX | isa.MODE_MEM | size, 4, 0, off)]
    else:
        access = [Insn(isa.CLS_LDX | isa.MODE_MEM | size, 5, 4, off),
                  Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 5)]
    count = [Insn(alu | isa.ALU_ADD, 2, 0, 0, step)]
    body = (count + index if index_after_step else index + count) + access + [
        Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1)]
    jmp = isa.CLS_JMP if wide else isa.CLS_JMP32
    back = Insn(jmp | isa.JMP_JNE | isa.SRC_X, 2, 3, -(len(body) + 1), 0)
    return Program(head + body + [back, Insn(isa.OP_EXIT)], data=DATA, rodata=RODATA)


@pytest.mark.parametrize("shift", [0, 1, 2, 3])
@pytest.mark.parametrize("step", [1, -1])
@pytest.mark.parametrize("index_after_step", [False, True])
@pytest.mark.parametrize("store", [False, True])
def test_indexed_walks_to_the_byte(shift, step, index_after_step, store):
    """Array indexing (base + (i << shift)) hoisted as a whole range: walks whose extreme
    access ends exactly at the end of ctx, one byte past it, starts exactly at its start or
    one byte before it; the fault, when there is one, comes at the same access."""
    size = 1 << shift
    room = len(CTX_TAIL)  # bytes after the 24-byte header, where r6 points
    iterations = 4
    results = []
    for wide in (False, True):
        program = indexed_program(shift, step, index_after_step, wide, store, 0)
        for first_index in range(-2, room // size + 2):
            # i runs first_index .. (with the index before or after the step)
            i0 = first_index - (step if index_after_step else 0)
            n = i0 + step * iterations
            ref, _ = _check(program, _ctx(i0, n, 0), 50)
            results.append(ref.status)
    assert 0 in results and -2 in results
