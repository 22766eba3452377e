"""The engine comparison shared by the backend test files (armv7m and rv32imc).

`compare(program, target=..., ...)` runs the reference interpreter once and the target's
translation under every register map asked for, plus the variants without the IR passes
(and, where asked, without loop versions), and fails with a readable message on the first
difference in status, 64-bit result, memory or printf output. tests/armv7m_support.py and
tests/rv32_support.py bind it to their target's register maps and variants;
`check_generated` draws a program of tests/program_gen.py and compares it with one of them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from hypothesis import assume, event
from program_gen import programs

from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.errors import VerifyError
from femtojit.helpers import HelperRegistry, Runtime
from femtojit.interp import run as interp_run
from femtojit.program import Program
from femtojit.translation import compare_outcomes, translate

#: (name, optimize, version_loops) of a translation with the default register map.
NO_OPT = ("no-opt", False, True)
LOOPS_NOT_VERSIONED = ("loops-not-versioned", True, False)

#: The clocks the helpers read in a comparison: fixed, so both engines see the same time.
FIXED_CLOCKS = (1234, 987654)


def runtime(clocks: tuple[int, int] = FIXED_CLOCKS) -> tuple[Runtime, io.StringIO]:
    """A Runtime with fixed clocks whose printf output is captured in the returned stream."""
    stream = io.StringIO()
    ms, us = clocks
    return Runtime(printf_stream=stream, clock_ms=lambda: ms, clock_us=lambda: us), stream


def compare(program: Program, *, target: str, maps: Mapping[str, tuple[int, ...] | None],
            ctx: bytes = b"", host=(), profile: str = "femto", budget="default",
            unoptimized: Sequence[tuple[str, bool, bool]] = (NO_OPT,), assume_valid=True,
            helpers: HelperRegistry | None = None, use_hints: bool = True,
            clocks: tuple[int, int] = FIXED_CLOCKS):
    """Interpreter vs `target` under every register map in `maps` and every variant in
    `unoptimized`; returns the reference result. A program the verifier rejects is
    discarded (hypothesis `assume`) when `assume_valid`, else the VerifyError propagates."""
    registry = helpers if helpers is not None else builtin_registry(profile)
    run_time, stream = runtime(clocks)
    ids = set(registry.ids())
    try:
        first = translate(program, target=target, profile=profile, budget=budget, helpers=ids,
                          backend_options=BackendOptions(use_hints=use_hints))
    except VerifyError:
        if assume_valid:
            assume(False)
        raise
    ref = interp_run(program, ctx=ctx, host=list(host), profile=profile, budget=first.budget,
                     helpers=registry, runtime=run_time)
    printed = stream.getvalue()
    variants = [(name, regs, True, True) for name, regs in maps.items()]
    variants += [(name, None, optimize, versions) for name, optimize, versions in unoptimized]
    for name, regs, optimize, versions in variants:
        if name == "default" and optimize:
            tr = first
        else:
            options = BackendOptions(registers=regs, use_hints=use_hints, version_loops=versions)
            tr = translate(program, target=target, profile=profile, budget=budget, helpers=ids,
                           optimize=optimize, verify=False, backend_options=options)
        run_time, stream = runtime(clocks)
        got = tr.run(ctx=ctx, host=list(host), helpers=registry, runtime=run_time)
        problem = compare_outcomes(ref, got)
        if problem is None and stream.getvalue() != printed:
            problem = f"printf output {stream.getvalue()!r} vs {printed!r}"
        if problem:
            from femtojit.asm import disassemble

            raise AssertionError(
                f"register map {name}: {problem}\nprogram:\n{disassemble(program)}\n"
                f"ctx {ctx.hex()} hosts {[h.data.hex() for h in host]}\n"
                f"IR:\n{tr.ir_listing()}\n{tr.disassembly()}")
    return ref


def check_generated(data, compare_fn, profile: str, budget, **kinds) -> None:
    """Draw a generated program (`kinds`: the options of program_gen.programs) and compare
    the engines on it with `compare_fn` (a target's compare)."""
    program, ctx, hosts = data.draw(programs(profile, **kinds))
    ref = compare_fn(program, ctx=ctx, host=hosts, profile=profile, budget=budget)
    event(f"status {ref.status}")


def check_budget_runs_out(target: str, taken: int):
    """A loop taking its back edge `taken` times (r0 counts the iterations), translated for
    `target` with the default budget of 200: 200 taken branches run and the 201st stops
    with OUT_OF_BRANCHES, r0 = the iterations done; a budget of 5 given at run time (ABI:
    vm->branches_remaining) stops it after 5. Returns (translation, ctx, default run)."""
    import struct

    import femtojit
    from femtojit import isa
    from femtojit.isa import Insn
    from femtojit.status import Status

    program = Program([
        Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 0),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_W, 2, 1, 0),
        Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1),
        Insn(isa.CLS_JMP | isa.JMP_JGT | isa.SRC_X, 2, 0, -2, 0),
        Insn(isa.OP_EXIT),
    ])
    ctx = struct.pack("<I", taken + 1)
    tr = femtojit.translate(program, target=target)
    got = tr.run(ctx=ctx)
    if taken <= 200:
        assert got.status == 0 and got.result == taken + 1
    else:
        assert got.status == Status.OUT_OF_BRANCHES and got.result == 201
    small = tr.run(ctx=ctx, budget=5)
    assert small.status == (0 if taken <= 5 else Status.OUT_OF_BRANCHES)
    return tr, ctx, got
