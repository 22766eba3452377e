"""The README's benchmark table (bench/readme.py): the marked section is replaced and
nothing else, a README without markers is refused, and the committed README shows the
committed results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import readme

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench/results/latest.json"


def test_replace_section_keeps_the_rest():
    text = f"intro\n{readme.BEGIN}\nold table\n{readme.END}\noutro\n"
    new = readme.replace_section(text, "new table")
    assert new == f"intro\n{readme.BEGIN}\nnew table\n{readme.END}\noutro\n"
    assert readme.replace_section(new, "new table") == new


@pytest.mark.parametrize(
    "text", ["no markers\n", f"{readme.BEGIN}\n{readme.BEGIN}\n{readme.END}\n"])
def test_replace_section_refuses_a_readme_without_one_section(text):
    with pytest.raises(readme.ReadmeError):
        readme.replace_section(text, "table")


def test_table_has_every_program_and_the_geometric_means():
    results = json.loads(RESULTS.read_text())
    table = readme.ratio_table(results)
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(results["programs"]) + 1  # header, programs, geomean
    for name, row in results["programs"].items():
        line = next(r for r in rows if r.startswith(f"| {name} |"))
        for key, entry in row["translations"].items():
            assert f"{entry['ratio_vs_native']:.2f}×" in line, (name, key)
    for target, per in results["summary"]["geomean_translation_vs_native"].items():
        for value in per.values():
            assert f"**{value:.2f}×**" in rows[-1], target


def test_main_rewrites_a_copy_and_check_reports_staleness(tmp_path, capsys):
    copy = tmp_path / "README.md"
    copy.write_text(f"# x\n{readme.BEGIN}\nstale\n{readme.END}\n")
    args = ["--results", str(RESULTS), "--readme", str(copy)]
    assert readme.main([*args, "--check"]) == 1
    assert readme.main(args) == 0
    assert "stale" not in copy.read_text()
    assert readme.main([*args, "--check"]) == 0
    shutil.copy(RESULTS, tmp_path / "bad.json")
    (tmp_path / "bad.json").write_text("{")
    assert readme.main(["--results", str(tmp_path / "bad.json"), "--readme", str(copy)]) == 2
    assert "bench.readme:" in capsys.readouterr().err


def test_committed_readme_shows_the_committed_results():
    assert readme.main(["--check"]) == 0, "run python -m bench.readme after make bench"
