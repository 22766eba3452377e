"""femtojit.translate and the Translation it returns (target-independent glue, checked on
armv7m): code and blob, output formats, listings, running under emulation, validation
against the interpreter, the budget, errors; and the `femtojit translate` / `femtojit run
--engine armv7m` commands."""

from __future__ import annotations

import json
import struct

import pytest
from backend_support import check_budget_runs_out
from conftest import REPO, require_tool

import femtojit
from femtojit.blob import parse_blob
from femtojit.cli import main as cli_main
from femtojit.errors import FemtojitError, TranslateError, UnknownTargetError, VerifyError

FLETCHER_BIN = REPO / "examples" / "fletcher32.bin"

SUM_WORDS = """
mov %r0, 0
mov %r3, %r1
add %r3, %r2
loop:
jge %r1, %r3, done
ldxw %r4, [%r1]
add32 %r0, %r4
add %r1, 4
ja loop
done:
exit
"""


def test_translation_fields_and_blob():
    program = femtojit.load(FLETCHER_BIN)
    tr = femtojit.translate(program, target="armv7m")
    assert tr.target == "armv7m" and tr.profile == "femto" and tr.budget == 200
    assert tr.size == len(tr.code) > 0 and tr.entry_offset == 0 and tr.frame_size >= 8
    assert tr.imports == [] and tr.seconds > 0
    blob = parse_blob(tr.output("blob"))
    assert blob.code == tr.code and blob.entry_offset == tr.entry_offset
    assert blob.frame_size == tr.frame_size and blob.budget == 200
    assert blob.data == program.data and blob.rodata == program.rodata
    assert tr.output("elf", name="fletcher")[:4] == b"\x7fELF"
    c_text = tr.output("c", name="fletcher").decode()
    assert "fletcher[]" in c_text and "fletcher_len" in c_text
    with pytest.raises(TranslateError):
        tr.output("elf", name="not a C name")


def test_listings():
    require_tool("arm-none-eabi-objdump")
    program = femtojit.assemble(SUM_WORDS)
    tr = femtojit.translate(program, target="armv7m", profile="rfc")
    listing = tr.disassembly()
    assert "push" in listing and "pop" in listing and "ldr" in listing
    assert any(line.startswith("b") and line.endswith(":") for line in listing.splitlines())
    assert "checkmem" in tr.ir_listing() and "load4" in tr.ir_listing()
    stats = tr.stats_text()
    assert "code bytes" in stats and "bytecode bytes" in stats and "per 1000 instructions" in stats


def test_run_and_validate():
    program = femtojit.assemble(SUM_WORDS)
    tr = femtojit.translate(program, target="armv7m", profile="rfc")
    ctx = struct.pack("<4I", 1, 2, 3, 0xFFFFFFFF)
    res = tr.run(ctx=ctx)
    assert res.status == 0 and res.result == 5 and res.engine == "armv7m" and res.insns > 10
    assert res.memory["ctx"] == ctx
    report = tr.validate(inputs=[ctx, b"\x01\x00\x00\x00"], generated=12)
    assert report.ok and len(report.cases) == 14, report.summary()
    assert "all agree" in report.summary()


def test_validate_reports_a_wrong_translation():
    """validate is not vacuous: a translation whose code was tampered with is caught."""
    program = femtojit.assemble("mov %r0, 7\nexit\n")
    tr = femtojit.translate(program, target="armv7m")
    code = bytearray(tr.machine.code)
    at = code.find(bytes([7, 0x0E]))  # mov.w lr, #7 (the result's low word)
    if at < 0:
        at = code.find(bytes([7]))
    code[at] = 8
    tr.machine.code = bytes(code)
    report = tr.validate(generated=3)
    assert not report.ok and "result 0x8" in report.summary()


@pytest.mark.parametrize("taken", [0, 1, 199, 200, 201, 250])
def test_budget_runs_out_at_exactly_the_201st_taken_branch(taken):
    """A loop taking its back edge `taken` times: with the default budget of 200, 200 taken
    branches run and the 201st stops with OUT_OF_BRANCHES, r0 = the iterations done; the
    armv7m run agrees with the interpreter's."""
    tr, ctx, got = check_budget_runs_out("armv7m", taken)
    ref = femtojit.run(tr.program, ctx=ctx)
    assert (got.status, got.result) == (ref.status, ref.result)


def test_budget_options():
    program = femtojit.assemble(SUM_WORDS)
    assert femtojit.translate(program, target="armv7m", profile="rfc").budget is None
    assert femtojit.translate(program, target="armv7m", budget=None).budget is None
    tr = femtojit.translate(program, target="armv7m", budget=3)
    assert tr.blob().budget == 3
    with pytest.raises(FemtojitError, match="budget"):
        tr.run(budget=None)
    with pytest.raises(FemtojitError, match="budget"):
        femtojit.translate(program, target="armv7m", budget=None).run(budget=4)


def test_errors():
    program = femtojit.assemble("mov %r0, 1\nexit\n")
    with pytest.raises(UnknownTargetError):
        femtojit.translate(program, target="z80")
    with pytest.raises(VerifyError):
        femtojit.translate(femtojit.assemble("mov %r10, 1\nexit\n"), target="armv7m")
    from femtojit.backends.common.machine import BackendOptions

    with pytest.raises(TranslateError, match="not allocatable"):
        femtojit.translate(program, target="armv7m",
                           backend_options=BackendOptions(registers=(12,)))
    with pytest.raises(TranslateError, match="unknown helper"):
        femtojit.translate(femtojit.assemble("call 0x99\nexit\n"), target="armv7m",
                           verify=False)


def test_no_opt_translation_agrees():
    program = femtojit.assemble(SUM_WORDS)
    ctx = struct.pack("<3I", 10, 20, 30)
    tr = femtojit.translate(program, target="armv7m", profile="rfc", optimize=False)
    assert tr.run(ctx=ctx).result == 60
    assert tr.validate(inputs=[ctx], generated=5).ok


# ---- the commands ---------------------------------------------------------------------------


def test_run_command_with_the_armv7m_engine(capsys):
    assert cli_main(["run", "--json", "--engine", "armv7m", str(FLETCHER_BIN)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert cli_main(["run", "--json", str(FLETCHER_BIN)]) == 0
    interp = json.loads(capsys.readouterr().out)
    assert list(out) == list(interp)
    assert out["engine"] == "armv7m" and out["result"] == interp["result"] == 0x5BAC8C3D
    assert out["insns"] > 0


def test_run_command_fault_on_armv7m(capsys, tmp_path):
    prog = tmp_path / "p.s"
    prog.write_text("ldxw %r0, [%r1]\nexit\n")
    assert cli_main(["run", "--json", "--engine", "armv7m", str(prog)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "illegal_mem" and out["code"] == -2


def test_translate_command(capsys, tmp_path):
    require_tool("arm-none-eabi-objdump")
    out = tmp_path / "fletcher.fjit"
    status = cli_main(["translate", str(FLETCHER_BIN), "--target", "armv7m", "--stats",
                       "--dump-ir", "--disasm", "--validate", "6", "-o", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "code bytes" in text and "function" in text and "validated armv7m" in text
    blob = parse_blob(out.read_bytes())
    assert blob.target == "armv7m" and blob.budget == 200
    for fmt, magic in (("elf", b"\x7fELF"), ("c", b"")):
        path = tmp_path / f"out.{fmt}"
        assert cli_main(["translate", str(FLETCHER_BIN), "-t", "armv7m", "-f", fmt,
                         "-o", str(path)]) == 0
        data = path.read_bytes()
        assert data.startswith(magic) if fmt == "elf" else b"uint8_t out[]" in data
    capsys.readouterr()
    prog = tmp_path / "sum.s"
    prog.write_text(SUM_WORDS)
    assert cli_main(["translate", str(prog), "-t", "armv7m", "--profile", "rfc",
                     "--validate", "4", "--mem-hex", "0100000002000000"]) == 0
    assert "validated armv7m" in capsys.readouterr().out


@pytest.mark.parametrize("where", ["missing/dir/out.fjit", "."])
def test_translate_unwritable_output_is_one_line_and_status_2(capsys, tmp_path, where):
    out = tmp_path / where
    assert cli_main(["translate", str(FLETCHER_BIN), "-t", "rv32imc", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("femtojit translate: error: cannot write ") and err.count("\n") == 1


@pytest.mark.parametrize("count", ["-1", "many"])
def test_translate_validate_count_must_be_a_count(capsys, count):
    with pytest.raises(SystemExit) as stop:  # argparse's own exit, as for every bad option
        cli_main(["translate", str(FLETCHER_BIN), "-t", "armv7m", f"--validate={count}"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("femtojit translate: error: argument --validate") and err.count("\n") == 1
