"""`femtojit asm`, `femtojit disasm` and `femtojit verify` as a user runs them."""

from __future__ import annotations

import subprocess
import sys

from femtojit import isa
from femtojit.asm import assemble, assemble_program
from tests.conftest import REPO

PROGRAM = "mov %r0, 1\njeq %r0, 1, done\nmov %r0, 2\ndone:\nexit\n"


def femtojit(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "femtojit", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess, command: str, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"femtojit {command}: error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_asm_raw_then_disasm_then_verify(tmp_path):
    source = tmp_path / "prog.s"
    source.write_text(PROGRAM)
    out = tmp_path / "prog.bin"
    result = femtojit("asm", source, "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == isa.encode(assemble(PROGRAM))
    assert "4 slots, 32 bytes (raw)" in result.stdout

    result = femtojit("disasm", out)
    assert result.returncode == 0, result.stderr
    assert isa.encode(assemble(result.stdout)) == out.read_bytes()
    assert "jeq %r0, 1, L3" in result.stdout

    result = femtojit("verify", out)
    assert (result.returncode, result.stdout) == (0, "ok: 4 instructions\n")


def test_asm_container_keeps_data(tmp_path):
    source = tmp_path / "data.s"
    source.write_text(".globl main\nmain:\nlddwd %r1, 0\nldxb %r0, [%r1]\nexit\n.data\n.byte 7\n")
    out = tmp_path / "data.bin"
    result = femtojit("asm", source, "-o", out, "--format", "container")
    assert result.returncode == 0, result.stderr
    listing = tmp_path / "data.txt"
    result = femtojit("disasm", out, "-o", listing)
    assert result.returncode == 0, result.stderr
    again = assemble_program(listing.read_text())
    original = assemble_program(source.read_text())
    assert again.text == original.text and again.data == b"\x07"


def test_asm_errors(tmp_path):
    bad = tmp_path / "bad.s"
    bad.write_text("mov %r0, 1\nmov %r0,2\nexit\n")
    one_line_error(femtojit("asm", bad, "-o", tmp_path / "x"), "asm", "bad.s", "line 2:")
    one_line_error(femtojit("asm", tmp_path / "missing.s", "-o", tmp_path / "x"), "asm", "no such")
    with_data = tmp_path / "data.s"
    with_data.write_text('exit\n.rodata\n.asciz "x"\n')
    one_line_error(femtojit("asm", with_data, "-o", tmp_path / "x"), "asm", "--format container")
    good = tmp_path / "good.s"
    good.write_text("exit\n")
    one_line_error(
        femtojit("asm", good, "-o", tmp_path / "no" / "dir" / "x"), "asm", "cannot write"
    )
    binary = tmp_path / "binary.s"
    binary.write_bytes(b"\xff\xfe\x00")
    one_line_error(femtojit("asm", binary, "-o", tmp_path / "x"), "asm", "UTF-8")


def test_disasm_errors(tmp_path):
    one_line_error(femtojit("disasm", tmp_path / "missing.bin"), "disasm", "no such")
    odd = tmp_path / "odd.bin"
    odd.write_bytes(b"\x95\x00\x00")
    one_line_error(femtojit("disasm", odd, "--kind", "raw"), "disasm")


def test_verify_reports(tmp_path):
    falls = tmp_path / "falls.s"
    falls.write_text("mov %r10, 1\ncall 5\nmov %r0, 1\n")
    one_line_error(
        femtojit("verify", falls), "verify", "instruction 0 (mov %r10, 1)", "[write-r10]"
    )

    result = femtojit("verify", falls, "--all")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.rsplit("[", 1)[1] for line in lines] == [
        "write-r10]",
        "unknown-helper]",
        "fall-through]",
    ]

    helper5 = tmp_path / "helper5.s"
    helper5.write_text("mov %r1, -1\ncall 5\nexit\n")
    one_line_error(femtojit("verify", helper5), "verify", "[unknown-helper]")
    assert femtojit("verify", helper5, "--profile", "rfc").returncode == 0
    assert femtojit("verify", helper5, "--helper", "0x5").returncode == 0

    result = femtojit("verify", helper5, "--profile", "rfc", "--compat", "fc")
    assert result.returncode == 0, result.stderr
    warnings = result.stdout.splitlines()
    assert warnings[-1] == "ok: 3 instructions"
    assert any("[differs]" in w and "instruction 0" in w for w in warnings)
    assert any("[unsupported]" in w and "helper 5" in w for w in warnings)

    one_line_error(femtojit("verify", helper5, "--profile", "bpf"), "verify", "--profile")
    one_line_error(femtojit("verify", helper5, "--helper", "x"), "verify", "bad helper id")
