"""Interpreter benchmarks (pytest-benchmark): `pytest bench/bench_interp.py --benchmark-enable`.

- throughput: eBPF instructions per second on a tight loop (3 instructions per iteration,
  budget off), one core; target >= 100 million/s;
- per-run cost: Fletcher-32 over 360 bytes (examples/fletcher32.bin), run after run;
- cold start: wall time of a fresh `python -c 'import femtojit; femtojit.run(...)'` with a
  warm numba cache; target < 1 s.

The figures are printed (run with -s to see them) and stored in the benchmark's extra_info.
Without --benchmark-enable every function still runs once, as a smoke test.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from femtojit.asm import assemble_program
from femtojit.interp import run

REPO = Path(__file__).resolve().parents[1]

LOOP_ITERATIONS = 10_000_000
TIGHT_LOOP = f"""
    mov %r0, 0
    lddw %r1, {LOOP_ITERATIONS}
loop:
    add %r0, %r1
    sub %r1, 1
    jne %r1, 0, loop
    exit
"""

COLD_START = """
import femtojit
from femtojit.asm import assemble_program
result = femtojit.run(assemble_program("mov %r0, 6\\nmul %r0, 7\\nexit"))
assert result.result == 42, result
"""


def _report(benchmark, name: str, value: float, unit: str) -> None:
    benchmark.extra_info[name] = value
    print(f"\n{name}: {value:,.3f} {unit}")


def _best_seconds(benchmark, fallback: float) -> float:
    """The fastest round pytest-benchmark measured, or our own timing when it is disabled."""
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        return stats.stats.min
    return fallback


def test_tight_loop_throughput(benchmark):
    program = assemble_program(TIGHT_LOOP)
    run(program, budget=None)  # compile / load from the numba cache outside the timing
    timings = []

    def once():
        start = time.perf_counter()
        result = run(program, budget=None)
        timings.append(time.perf_counter() - start)
        return result

    result = benchmark.pedantic(once, rounds=5, iterations=1)
    assert result.status == 0
    assert result.result == LOOP_ITERATIONS * (LOOP_ITERATIONS + 1) // 2
    seconds = _best_seconds(benchmark, min(timings))
    _report(benchmark, "million eBPF instructions/s", result.insns / seconds / 1e6, "M/s")


def test_fletcher32_run_cost(benchmark):
    """The committed example: clang -O2 -mcpu=v2 code, the string in its own .rodata."""
    import femtojit

    program = femtojit.load(REPO / "examples" / "fletcher32.bin")
    run(program)
    timings = []

    def once():
        start = time.perf_counter()
        result = run(program)
        timings.append(time.perf_counter() - start)
        return result

    result = benchmark.pedantic(once, rounds=200, iterations=1)
    assert (result.status, result.result) == (0, 0x5BAC8C3D)
    seconds = _best_seconds(benchmark, min(timings))
    _report(benchmark, "fletcher32 run (microseconds)", seconds * 1e6, "us")
    _report(benchmark, "fletcher32 eBPF instructions", result.insns, "")


def test_cold_start(benchmark):
    command = [sys.executable, "-c", COLD_START]
    subprocess.run(command, check=True, cwd=REPO)  # warm the numba cache
    timings = []

    def once():
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=REPO)
        timings.append(time.perf_counter() - start)

    benchmark.pedantic(once, rounds=5, iterations=1)
    seconds = _best_seconds(benchmark, min(timings))
    _report(benchmark, "cold start, fresh process (s)", seconds, "s")
