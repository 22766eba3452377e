"""Translation-time benchmarks (pytest-benchmark):
`pytest bench/bench_translate.py --benchmark-enable -s`.

Times `femtojit.translate` (verify, lower, IR passes, backend, final bytes) of benchmark
programs for every translation target, at -mcpu=v2 and -mcpu=v3, and reports milliseconds
per 1,000 eBPF instructions. `make bench` reports the same figure from its own repeated
timing; this file gives pytest-benchmark's statistics (rounds, min, mean, deviation).
Nothing here asserts on time. Without --benchmark-enable every case runs once, as a smoke
test of the translation path.
"""

from __future__ import annotations

import pytest

import femtojit
from bench import build, suite
from femtojit.backends import TARGETS

PROGRAMS = ("fletcher32", "crc32", "insertion_sort", "stream_parser")


@pytest.mark.parametrize("mcpu", ["v2", "v3"])
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("name", PROGRAMS)
def test_translation_time(benchmark, name: str, target: str, mcpu: str):
    spec = suite.program(name)
    program = femtojit.load(build.build_bytecode(spec, mcpu), entry=spec.entry_name)
    translation = benchmark(
        femtojit.translate, program, target=target, budget=spec.budget
    )
    assert translation.size > 0
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        per_kilo = stats.stats.min * 1000.0 / len(program.slots) * 1000.0
        benchmark.extra_info["ms_per_1000_insns"] = per_kilo
        print(f"\n{name} {mcpu} -> {target}: {per_kilo:.1f} ms per 1,000 eBPF instructions")
