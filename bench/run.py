"""The benchmark runner: `python -m bench.run [--quick] [--programs ...] [--targets ...]`.

For every program of bench/suite.py it measures

- the interpreter (femtojit.run) on the clang -mcpu=v2 and -mcpu=v3 bytecode: result and
  eBPF instructions executed;
- every translation target femtojit has (femtojit.backends.TARGETS whose backend loads):
  result, retired native instructions under emulation, code bytes, and translation time per
  1,000 eBPF instructions (reported, never asserted);
- the native baseline (the same C through the target's gcc -O2) under the same emulator and
  memory map: result, retired instructions, code bytes;
- on the host: interpreter throughput (eBPF instructions per second) and its time per run
  against the same C compiled by the host's gcc -O2.

Every result must agree: with the program's expected value, with its Python model's ctx, and
translations with the interpreter (status, result and every region). A disagreement, an
emulation error (isolation failure) or a failed build is reported loudly and makes the run
exit with status 1; a program a backend cannot translate is reported in the table.

Writes bench/results/latest.json, latest.md (tables) and latest.png (translation/native ratio
per program and target; native instruction counts while no translation target exists).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import build
from bench.suite import PROGRAMS, BenchProgram, program
from femtojit.errors import FemtojitError, TranslateError
from femtojit.helpers import HelperRegistry, Runtime
from femtojit.memmap import build_memory
from femtojit.result import RunResult

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: The footnote of native figures that include bench/native/xtensa_libgcc.c.
OWN_LIBGCC_NOTE = (
    "LX106 native figure includes femtojit's own `__muldi3` / 64-bit division "
    "(bench/native/xtensa_libgcc.c): Debian's xtensa-lx106-elf libgcc has none, and "
    "the LX106 has no high-half multiply and no divide instruction.")
M64 = (1 << 64) - 1


# ---- small utilities ------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr (no dependency)."""

    def __init__(self, total: int, enabled: bool = True):
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled and sys.stderr.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 30
        filled = width * self.done // self.total
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {label[:40]:<40}")
        sys.stderr.flush()
        if self.done >= self.total:
            sys.stderr.write("\n")


def best_time(fn: Callable[[], object], min_total: float, max_repeats: int) -> float:
    """Smallest wall time of one call of fn, repeating until min_total seconds are spent."""
    best = math.inf
    spent = 0.0
    for _ in range(max_repeats):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        spent += elapsed
        if spent >= min_total:
            break
    return best


def geomean(values: Sequence[float]) -> float | None:
    values = [v for v in values if v and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def hex64(value: int) -> str:
    return f"{value & M64:#018x}"


def available_translation_targets() -> dict[str, str]:
    """Translation targets and their availability ("" if usable, else the reason)."""
    from femtojit.backends import TARGETS, get_backend

    out = {}
    for name in TARGETS:
        try:
            get_backend(name)
            out[name] = ""
        except FemtojitError as error:
            out[name] = str(error)
    return out


def tool_versions() -> dict[str, str]:
    versions = {}
    for tool in ("clang", *(c.gcc for c in build.TOOLCHAINS.values()), "gcc", "qemu-xtensa"):
        try:
            out = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
            versions[tool] = out.splitlines()[0] if out else "?"
        except OSError:
            versions[tool] = "missing"
    import unicorn

    versions["unicorn"] = unicorn.__version__
    return versions


# ---- one program ----------------------------------------------------------------------------


@dataclass
class Checker:
    """Collects disagreements; any of them fails the run."""

    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)
        sys.stderr.write(f"\n*** MISMATCH: {message}\n")

    def result(self, where: str, spec: BenchProgram, result: RunResult) -> bool:
        if result.status != 0 or (result.result & M64) != spec.expected:
            self.fail(
                f"{spec.name} on {where}: status {result.status}, result {hex64(result.result)}"
                f", expected status 0 and {hex64(spec.expected)}"
            )
            return False
        return True

    def ctx(self, where: str, spec: BenchProgram, memory: dict[str, bytes]) -> bool:
        _, ctx_after = spec.model(spec.ctx, spec.host)
        ok = memory.get("ctx") == ctx_after
        for region in spec.host:
            ok = ok and memory.get(region.name) == region.data
        if not ok:
            self.fail(f"{spec.name} on {where}: ctx or host regions differ from the model's")
        return ok


def _registry() -> HelperRegistry:
    from femtojit.builtin_helpers import builtin_registry

    return builtin_registry("femto")


def _run(prog, spec: BenchProgram, engine: str, verify: bool = True) -> RunResult:
    """One run of a benchmark program on `engine`, on its inputs, with a fresh runtime."""
    import femtojit

    return femtojit.run(
        prog,
        engine=engine,
        ctx=spec.ctx,
        host=list(spec.host),
        profile="femto",
        budget=spec.budget,
        helpers=_registry(),
        runtime=Runtime(),
        verify=verify,
    )


def _interp(prog, spec: BenchProgram, verify: bool = True) -> RunResult:
    return _run(prog, spec, "interp", verify)


def _translate(prog, target: str, spec: BenchProgram):
    import femtojit

    return femtojit.translate(prog, target=target, profile="femto", budget=spec.budget)


def _run_translated(prog, target: str, spec: BenchProgram) -> RunResult:
    return _run(prog, spec, target)


def _code_size(translation) -> int:
    size = getattr(translation, "size", None)
    return int(size) if size is not None else len(translation.code)


def host_native_time(spec: BenchProgram, quick: bool) -> tuple[int, float]:
    """(result, ns per call) of the program compiled for the host by gcc -O2."""
    exe = build.build_host(spec)
    memory = build_memory(b"", b"", spec.ctx, list(spec.host))
    blob = struct.pack("<I", len(memory.regions))
    for region in memory.regions:
        blob += struct.pack("<II", region.start, len(region.data)) + bytes(region.data)
    with tempfile.NamedTemporaryFile(suffix=".img") as handle:
        handle.write(blob)
        handle.flush()

        def measure(iterations: int, repeats: int) -> tuple[int, float]:
            proc = subprocess.run(
                [str(exe), handle.name, str(iterations), str(repeats)],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise build.BuildError(f"host run of {spec.name} failed: {proc.stderr.strip()}")
            fields = dict(line.split() for line in proc.stdout.splitlines())
            return int(fields["result"], 16), float(fields["ns_per_call"])

        result, estimate = measure(1000, 1)
        target_ns = 5e6 if quick else 2e7  # per repeat
        iterations = int(min(1_000_000, max(1000, target_ns / max(estimate, 1.0))))
        result, ns = measure(iterations, 3 if quick else 7)
    return result, ns


def bench_program(
    spec: BenchProgram,
    mcpus: Sequence[str],
    native_targets: Sequence[str],
    translation_targets: Sequence[str],
    quick: bool,
    host: bool,
    checker: Checker,
    progress: Progress,
) -> dict:
    import femtojit
    from femtojit.emu import run_native

    row: dict = {
        "summary": spec.summary,
        "expected": hex64(spec.expected),
        "budget": spec.budget,
        "bytecode": {},
        "native": {},
        "translations": {},
    }
    programs = {}
    for mcpu in mcpus:
        obj = build.build_bytecode(spec, mcpu)
        prog = femtojit.load(str(obj), entry=spec.entry_name)
        programs[mcpu] = prog
        res = _interp(prog, spec)
        ok = checker.result(f"interp -mcpu={mcpu}", spec, res)
        ok = checker.ctx(f"interp -mcpu={mcpu}", spec, res.memory) and ok
        row["bytecode"][mcpu] = {
            "slots": len(prog.slots),
            "bytes": 8 * len(prog.slots),
            "interp_insns": res.insns,
            "status": res.status,
            "result": hex64(res.result),
            "ok": ok,
        }
        row["bytecode"][mcpu]["_interp"] = res
        progress.step(f"{spec.name} interp {mcpu}")

    for target in native_targets:
        native = build.build_native(spec, target)
        memory = build_memory(b"", b"", spec.ctx, list(spec.host))
        res = run_native(
            target,
            native.code,
            native.entry_offset,
            memory,
            helpers=_registry(),
            runtime=Runtime(),
        )
        ok = checker.result(f"native {target}", spec, res)
        ok = checker.ctx(f"native {target}", spec, res.memory) and ok
        row["native"][target] = {
            "insns": res.insns,
            "code_bytes": len(native.code),
            "entry_bytes": native.entry_size,
            "result": hex64(res.result),
            "own_libgcc": list(native.own_libgcc),
            "ok": ok,
        }
        progress.step(f"{spec.name} native {target}")

    for target in translation_targets:
        for mcpu in mcpus:
            key = f"{target}/{mcpu}"
            prog = programs[mcpu]
            entry: dict = {}
            try:
                translation = _translate(prog, target, spec)
                seconds = best_time(
                    lambda p=prog, t=target: _translate(p, t, spec),
                    0.05 if quick else 0.3,
                    3 if quick else 20,
                )
                res = _run_translated(prog, target, spec)
            except TranslateError as error:
                row["translations"][key] = {"error": str(error)}
                progress.step(f"{spec.name} {key}")
                continue
            interp = row["bytecode"][mcpu]["_interp"]
            ok = checker.result(f"{target} (-mcpu={mcpu})", spec, res)
            if not res.same_outcome(interp):
                checker.fail(
                    f"{spec.name} on {target} (-mcpu={mcpu}) differs from the interpreter "
                    f"(status {res.status} vs {interp.status}, result {hex64(res.result)} vs "
                    f"{hex64(interp.result)}, memory equal: {res.memory == interp.memory})"
                )
                ok = False
            native_insns = row["native"].get(target, {}).get("insns")
            entry.update(
                insns=res.insns,
                code_bytes=_code_size(translation),
                translate_ms_per_1k=1000 * seconds * 1000 / max(len(prog.slots), 1),
                ratio_vs_native=(res.insns / native_insns) if native_insns else None,
                result=hex64(res.result),
                ok=ok,
            )
            row["translations"][key] = entry
            progress.step(f"{spec.name} {key}")

    if host:
        result, native_ns = host_native_time(spec, quick)
        if result != spec.expected:
            checker.fail(f"{spec.name} on the host (gcc -O2): result {hex64(result)}")
        host_row: dict = {"native_ns_per_call": native_ns, "interp": {}}
        for mcpu in mcpus:
            prog = programs[mcpu]
            insns = row["bytecode"][mcpu]["interp_insns"]
            _interp(prog, spec, verify=False)  # warm (numba compile, caches)
            seconds = best_time(
                lambda p=prog: _interp(p, spec, verify=False),
                0.05 if quick else 0.3,
                5 if quick else 200,
            )
            host_row["interp"][mcpu] = {
                "ns_per_run": seconds * 1e9,
                "insns_per_s": insns / seconds if seconds else None,
                "vs_native": seconds * 1e9 / native_ns if native_ns > 0 else None,
            }
        row["host"] = host_row
        progress.step(f"{spec.name} host")
    for mcpu in mcpus:
        row["bytecode"][mcpu].pop("_interp")
    return row


# ---- the whole suite ------------------------------------------------------------------------


def run_suite(
    specs: Sequence[BenchProgram],
    *,
    mcpus: Sequence[str] = build.MCPUS,
    targets: Sequence[str] | None = None,
    quick: bool = False,
    host: bool = True,
    show_progress: bool = True,
) -> tuple[dict, list[str]]:
    """Run the benchmarks; returns (results, failures)."""
    availability = available_translation_targets()
    wanted = list(targets) if targets is not None else None
    native_targets = [t for t in build.NATIVE_TARGETS if wanted is None or t in wanted]
    translation_targets = [
        t for t, why in availability.items() if not why and (wanted is None or t in wanted)
    ]
    steps_per = len(mcpus) + len(native_targets) + len(translation_targets) * len(mcpus)
    progress = Progress(len(specs) * (steps_per + (1 if host else 0)), show_progress)
    checker = Checker()
    rows = {}
    for spec in specs:
        try:
            rows[spec.name] = bench_program(
                spec, mcpus, native_targets, translation_targets, quick, host, checker, progress
            )
        except (FemtojitError, build.BuildError) as error:
            checker.fail(f"{spec.name}: {type(error).__name__}: {error}")
    results = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "quick": quick,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "tools": tool_versions(),
            "mcpus": list(mcpus),
            "native_targets": native_targets,
            "translation_targets": {t: why or "available" for t, why in availability.items()},
        },
        "programs": rows,
        "summary": summarise(rows, mcpus),
        "failures": checker.failures,
    }
    return results, checker.failures


def summarise(rows: dict, mcpus: Sequence[str]) -> dict:
    """Geometric means of translation/native ratios per target and -mcpu."""
    ratios: dict[str, dict[str, float | None]] = {}
    keys = sorted({k for row in rows.values() for k in row["translations"]})
    for key in keys:
        target, mcpu = key.split("/")
        values = [
            row["translations"][key].get("ratio_vs_native")
            for row in rows.values()
            if key in row["translations"]
        ]
        ratios.setdefault(target, {})[mcpu] = geomean([v for v in values if v])
    interp_vs_native = {
        mcpu: geomean(
            [
                row["host"]["interp"][mcpu]["vs_native"]
                for row in rows.values()
                if "host" in row and row["host"]["interp"][mcpu]["vs_native"]
            ]
        )
        for mcpu in mcpus
    }
    return {
        "geomean_translation_vs_native": ratios,
        "geomean_interp_vs_host_native": (interp_vs_native),
    }


# ---- reports --------------------------------------------------------------------------------


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(results: dict) -> str:
    rows = results["programs"]
    meta = results["meta"]
    mcpus = meta["mcpus"]
    natives = meta["native_targets"]
    lines = [
        "# femtojit benchmark results",
        "",
        f"Run {meta['date']}{' (quick)' if meta['quick'] else ''} on {meta['machine']}, "
        f"Python {meta['python']}. See docs/benchmarks.md for what is measured.",
        "",
        "Translation targets: "
        + ", ".join(f"{t}: {why}" for t, why in meta["translation_targets"].items()),
        "",
    ]
    if results["failures"]:
        lines += ["## FAILURES", ""] + [f"- {f}" for f in results["failures"]] + [""]

    lines += ["## Results and executed instructions", ""]
    header = ["program", "expected result"]
    header += [f"interp {m} (eBPF insns)" for m in mcpus]
    header += [f"native {t}" for t in natives]
    keys = sorted({k for row in rows.values() for k in row["translations"]})
    header += [f"{k} (ratio)" for k in keys]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    footnotes = set()
    for name, row in rows.items():
        cells = [name, f"`{row['expected']}`"]
        cells += [_fmt(row["bytecode"][m]["interp_insns"]) for m in mcpus]
        for t in natives:
            native = row["native"].get(t, {})
            mark = ""
            if native.get("own_libgcc"):
                mark = " ¹"
                footnotes.add("own_libgcc")
            cells.append(_fmt(native.get("insns")) + mark)
        for k in keys:
            tr = row["translations"].get(k, {})
            if "error" in tr:
                cells.append("not translated")
            else:
                cells.append(f"{_fmt(tr.get('insns'))} ({_fmt(tr.get('ratio_vs_native'))}×)")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if footnotes:
        lines += [f"¹ {OWN_LIBGCC_NOTE}", ""]

    lines += ["## Code size (bytes)", ""]
    header = ["program"] + [f"bytecode {m}" for m in mcpus] + [f"native {t}" for t in natives]
    header += [f"{k}" for k in keys]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in rows.items():
        cells = [name] + [_fmt(row["bytecode"][m]["bytes"]) for m in mcpus]
        cells += [_fmt(row["native"].get(t, {}).get("code_bytes")) for t in natives]
        cells += [_fmt(row["translations"].get(k, {}).get("code_bytes")) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")

    if keys:
        lines += ["## Translation time (ms per 1,000 eBPF instructions, host)", ""]
        lines += ["| program | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
        for name, row in rows.items():
            cells = [_fmt(row["translations"].get(k, {}).get("translate_ms_per_1k")) for k in keys]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")

    if any("host" in row for row in rows.values()):
        lines += ["## Host: interpreter against the same C compiled by gcc -O2", ""]
        header = ["program", "native C (ns/call)"]
        for m in mcpus:
            header += [f"interp {m} (ns/run)", f"interp {m} (M eBPF insns/s)", f"{m} / native"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, row in rows.items():
            if "host" not in row:
                continue
            host = row["host"]
            cells = [name, _fmt(host["native_ns_per_call"], 1)]
            for m in mcpus:
                entry = host["interp"][m]
                rate = entry["insns_per_s"]
                cells += [
                    _fmt(entry["ns_per_run"], 0),
                    _fmt(rate / 1e6 if rate else None, 1),
                    _fmt(entry["vs_native"], 1) + "×",
                ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")

    summary = results["summary"]
    lines += ["## Geometric means", ""]
    ratios = summary["geomean_translation_vs_native"]
    if ratios:
        for target, per in ratios.items():
            text = ", ".join(f"-mcpu={m}: {_fmt(v)}×" for m, v in per.items())
            lines.append(f"- {target} translation / native retired instructions: {text}")
    else:
        lines.append("- no translation target was available: no translation/native ratio yet")
    interp = summary["geomean_interp_vs_host_native"]
    if any(interp.values()):
        text = ", ".join(f"-mcpu={m}: {_fmt(v, 1)}×" for m, v in interp.items())
        lines.append(f"- host interpreter time / host native C time: {text}")
    lines.append("")
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["programs"]
    names = list(rows)
    keys = sorted({k for row in rows.values() for k in row["translations"]})
    keys = [
        k
        for k in keys
        if any(rows[n]["translations"].get(k, {}).get("ratio_vs_native") for n in names)
    ]
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.8), 4.5))
    if keys:
        series = {
            k: [rows[n]["translations"].get(k, {}).get("ratio_vs_native") or 0 for n in names]
            for k in keys
        }
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set_ylabel("translated / native retired instructions")
        ax.set_title("femtojit translation cost relative to native C (lower is better)")
    else:
        natives = results["meta"]["native_targets"]
        series = {
            t: [rows[n]["native"].get(t, {}).get("insns") or 0 for n in names] for t in natives
        }
        ax.set_yscale("log")
        ax.set_ylabel("retired native instructions")
        ax.set_title("native baselines (no translation target available yet)")
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        ax.bar([x + i * width for x in range(len(names))], values, width, label=label)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(names))])
    ax.set_xticklabels(names, rotation=40, ha="right")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_results(results: dict, out_dir: Path, with_plot: bool = True) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "latest.json.tmp"
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(out_dir / "latest.json")
    (out_dir / "latest.md").write_text(markdown(results))
    if with_plot:
        plot(results, out_dir / "latest.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer timing repetitions")
    parser.add_argument("--programs", nargs="+", metavar="NAME", help="programs to run")
    parser.add_argument(
        "--targets", nargs="+", metavar="TARGET", help="targets (native and translation)"
    )
    parser.add_argument("--mcpu", nargs="+", choices=build.MCPUS, default=list(build.MCPUS))
    parser.add_argument("--no-host", action="store_true", help="skip the host timing")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    try:
        specs = [program(n) for n in args.programs] if args.programs else list(PROGRAMS)
    except KeyError as error:
        parser.error(str(error.args[0]))
    results, failures = run_suite(
        specs,
        mcpus=args.mcpu,
        targets=args.targets,
        quick=args.quick,
        host=not args.no_host,
    )
    write_results(results, args.out, with_plot=not args.no_plot)
    print(markdown(results))
    print(f"wrote {args.out / 'latest.json'}, latest.md" + ("" if args.no_plot else ", latest.png"))
    if failures:
        print(f"\n{len(failures)} FAILURE(S):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
