"""A quick slice of the benchmark runner inside `make test`, so the harness cannot rot:
three programs on the interpreter, every native target and every translation target that
exists, with the host timing, and the three report files."""

from __future__ import annotations

import dataclasses
import json

from bench import run
from bench.suite import program
from tests.conftest import require_tool

SMOKE = ["fletcher32", "kvstore", "arith64"]


def test_quick_suite_agrees_everywhere(tmp_path):
    for tool in (
        "clang",
        "gcc",
        "arm-none-eabi-gcc",
        "riscv64-unknown-elf-gcc",
        "xtensa-lx106-elf-gcc",
        "qemu-xtensa",
    ):
        require_tool(tool)
    results, failures = run.run_suite(
        [program(n) for n in SMOKE], quick=True, host=True, show_progress=False
    )
    assert failures == []
    rows = results["programs"]
    assert list(rows) == SMOKE
    for name in SMOKE:
        row = rows[name]
        for mcpu in ("v2", "v3"):
            assert row["bytecode"][mcpu]["ok"]
            assert row["bytecode"][mcpu]["interp_insns"] > 0
        for target in ("armv7m", "rv32imc", "xtensa-lx106"):
            assert row["native"][target]["ok"]
            assert row["native"][target]["insns"] > 0
        for key, entry in row["translations"].items():
            assert "error" in entry or entry["ok"], key
        assert row["host"]["native_ns_per_call"] > 0
    assert rows["fletcher32"]["native"]["armv7m"]["insns"] > 180  # one pass over 180 words
    assert rows["arith64"]["native"]["xtensa-lx106"]["own_libgcc"]

    run.write_results(results, tmp_path)
    saved = json.loads((tmp_path / "latest.json").read_text())
    assert saved["programs"]["fletcher32"]["expected"] == "0x000000005bac8c3d"
    table = (tmp_path / "latest.md").read_text()
    assert "| fletcher32 |" in table
    assert (tmp_path / "latest.png").read_bytes().startswith(b"\x89PNG")


def test_a_wrong_result_fails_the_run():
    require_tool("clang")
    wrong = dataclasses.replace(program("fletcher32"), expected=0x5BAC8C3E)
    results, failures = run.run_suite(
        [wrong], targets=["armv7m"], mcpus=["v3"], quick=True, host=False, show_progress=False
    )
    assert failures
    assert all("fletcher32" in failure for failure in failures)
    assert "0x000000005bac8c3d" in failures[0]
    assert results["failures"] == failures


def test_main_exits_1_on_failure_and_0_on_success(tmp_path, monkeypatch, capsys):
    require_tool("clang")
    args = ["--programs", "incr", "--targets", "rv32imc", "--no-host", "--no-plot", "--quick"]
    assert run.main([*args, "--out", str(tmp_path)]) == 0
    assert (tmp_path / "latest.md").exists()
    broken = dataclasses.replace(program("incr"), expected=41)
    monkeypatch.setattr(run, "program", lambda name: broken)
    assert run.main([*args, "--out", str(tmp_path)]) == 1
    assert "FAILURE" in capsys.readouterr().err


class _FakeTranslation:
    code = b"\0" * 64
    size = 64


def test_translation_columns_fill_in_when_a_target_exists(tmp_path, monkeypatch):
    """The runner's translation path, with a stand-in backend that reuses the interpreter's
    outcome (so this does not wait for a real backend to exist)."""
    require_tool("clang")

    def fake_run(prog, target, spec):
        res = run._interp(prog, spec)
        res.insns = 3 * res.insns
        return res

    monkeypatch.setattr(run, "available_translation_targets", lambda: {"armv7m": ""})
    monkeypatch.setattr(run, "_translate", lambda prog, target, spec: _FakeTranslation())
    monkeypatch.setattr(run, "_run_translated", fake_run)
    results, failures = run.run_suite(
        [program("fib"), program("crc32")],
        targets=["armv7m"],
        quick=True,
        host=False,
        show_progress=False,
    )
    assert failures == []
    for name in ("fib", "crc32"):
        row = results["programs"][name]
        for mcpu in ("v2", "v3"):
            entry = row["translations"][f"armv7m/{mcpu}"]
            interp_insns = row["bytecode"][mcpu]["interp_insns"]
            assert entry["insns"] == 3 * interp_insns
            assert entry["ratio_vs_native"] == entry["insns"] / row["native"]["armv7m"]["insns"]
            assert entry["code_bytes"] == 64
            assert entry["translate_ms_per_1k"] > 0
    geo = results["summary"]["geomean_translation_vs_native"]["armv7m"]
    assert set(geo) == {"v2", "v3"} and all(v > 0 for v in geo.values())
    run.write_results(results, tmp_path)
    assert "armv7m/v2 (ratio)" in (tmp_path / "latest.md").read_text()

    def differing_run(prog, target, spec):
        res = run._interp(prog, spec)
        res.memory = {**res.memory, "stack": b"\x01" + res.memory["stack"][1:]}
        return res

    monkeypatch.setattr(run, "_run_translated", differing_run)
    _, failures = run.run_suite(
        [program("fib")],
        targets=["armv7m"],
        mcpus=["v3"],
        quick=True,
        host=False,
        show_progress=False,
    )
    assert len(failures) == 1 and "differs from the interpreter" in failures[0]
