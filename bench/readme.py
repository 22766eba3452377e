"""Refresh the benchmark table in README.md from bench/results/latest.json.

`make bench` runs this after `python -m bench.run`, so the README always shows the table of
the last full run: translation / native retired instructions per program, target and
`-mcpu`, the geometric means, and the host interpreter against host native C. The table sits
between two HTML comment markers; everything outside them is left as it is.

    python -m bench.readme [--results bench/results/latest.json] [--readme README.md] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.run import OWN_LIBGCC_NOTE, RESULTS_DIR

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- bench-table:begin (written by python -m bench.readme; do not edit) -->"
END = "<!-- bench-table:end -->"


class ReadmeError(Exception):
    """The README has no (or a broken) marked section, or the results are unusable."""


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def ratio_table(results: dict) -> str:
    """The Markdown block that goes between the markers."""
    rows = results["programs"]
    meta = results["meta"]
    mcpus = meta["mcpus"]
    keys = sorted({k for row in rows.values() for k in row["translations"]})
    natives = meta["native_targets"]
    header = ["program", *(f"eBPF insns {m}" for m in mcpus)]
    header += [f"native {t}" for t in natives]
    header += [f"{k}" for k in keys]
    header += [f"interp {m} / host C" for m in mcpus]
    lines = [
        f"Retired instructions under emulation; translation columns give translated / native "
        f"for the same target (all checks and the budget on). Run {meta['date']}"
        f"{' (quick)' if meta['quick'] else ''}; full tables in "
        "[bench/results/latest.md](bench/results/latest.md).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    own_libgcc = False
    for name, row in rows.items():
        cells = [name]
        cells += [str(row["bytecode"][m]["interp_insns"]) for m in mcpus]
        for target in natives:
            native = row["native"].get(target, {})
            mark = " ¹" if native.get("own_libgcc") else ""
            own_libgcc = own_libgcc or bool(mark)
            cells.append(f"{native.get('insns', '–')}{mark}")
        for key in keys:
            entry = row["translations"].get(key, {})
            cells.append("not translated" if "error" in entry
                         else _ratio(entry.get("ratio_vs_native")))
        host = row.get("host", {}).get("interp", {})
        for m in mcpus:
            value = host.get(m, {}).get("vs_native")
            cells.append("–" if value is None else f"{value:.0f}×")
        lines.append("| " + " | ".join(cells) + " |")
    summary = results["summary"]
    means = summary["geomean_translation_vs_native"]
    interp = summary["geomean_interp_vs_host_native"]
    cells = ["**geometric mean**"] + [""] * (len(mcpus) + len(natives))
    for key in keys:
        target, mcpu = key.split("/")
        cells.append(f"**{_ratio(means.get(target, {}).get(mcpu))}**")
    for m in mcpus:
        value = interp.get(m)
        cells.append("–" if value is None else f"**{value:.0f}×**")
    lines.append("| " + " | ".join(cells) + " |")
    if own_libgcc:
        lines += ["", f"¹ {OWN_LIBGCC_NOTE}"]
    if results.get("failures"):
        lines += ["", f"**{len(results['failures'])} disagreement(s) in this run** — see "
                  "bench/results/latest.md."]
    return "\n".join(lines)


def replace_section(text: str, block: str) -> str:
    """`text` with the part between BEGIN and END replaced by `block`."""
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise ReadmeError(f"README must hold exactly one {BEGIN!r} and one {END!r} line")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readme",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR / "latest.json")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the README's table differs from the results")
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.results.read_text())
        old = args.readme.read_text()
        new = replace_section(old, ratio_table(results))
    except (OSError, ValueError, KeyError, ReadmeError) as exc:
        print(f"bench.readme: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != old:
            print(f"{args.readme}: benchmark table is out of date (run python -m bench.readme)",
                  file=sys.stderr)
            return 1
        return 0
    if new != old:
        args.readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
