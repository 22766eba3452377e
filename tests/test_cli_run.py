"""`femtojit run`: options, JSON output, exit statuses (0 ran, 1 faulted, 2 bad input)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from femtojit.cli import main as cli_main

FLETCHER_BIN = REPO / "examples" / "fletcher32.bin"


@pytest.fixture
def program_file(tmp_path):
    def write(text: str, name: str = "prog.s"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def run_json(capsys, *args) -> tuple[int, dict]:
    status = cli_main(["run", "--json", *map(str, args)])
    captured = capsys.readouterr()
    return status, json.loads(captured.out)


def test_fletcher_container_json(capsys):
    status, out = run_json(capsys, FLETCHER_BIN)
    assert status == 0
    assert list(out) == ["status", "code", "result", "engine", "insns"]
    assert out["status"] == "ok" and out["code"] == 0
    assert out["result"] == 0x5BAC8C3D and out["engine"] == "interp" and out["insns"] > 500


def test_readable_summary(capsys):
    assert cli_main(["run", str(FLETCHER_BIN)]) == 0
    out = capsys.readouterr().out
    assert "status:  ok (0)" in out
    assert "result:  0x5bac8c3d (1538034749)" in out


def test_memory_options(capsys, program_file, tmp_path):
    prog = program_file("ldxw %r0, [%r1]\nexit\n")
    for hex_text in ("01 02 03 04", "0x01,0x02,0x03,0x04", "01020304", "0x01020304"):
        status, out = run_json(capsys, prog, "--mem-hex", hex_text)
        assert (status, out["result"]) == (0, 0x04030201), hex_text
    mem = tmp_path / "mem.bin"
    mem.write_bytes(b"\xaa\xbb\xcc\xdd")
    assert run_json(capsys, prog, "--mem", mem)[1]["result"] == 0xDDCCBBAA
    # without memory the ctx region is empty: the load faults, exit status 1
    status, out = run_json(capsys, prog)
    assert status == 1
    assert out["status"] == "illegal_mem" and out["code"] == -2 and out["result"] == 0


def test_host_regions(capsys, program_file, tmp_path):
    data = tmp_path / "host.bin"
    data.write_bytes(b"\x05\x00\x00\x00")
    prog = program_file(
        "lddw %r1, 0x20400000\nldxw %r0, [%r1]\nstw [%r1], 9\nldxw %r2, [%r1]\nadd %r0, %r2\nexit\n"
    )
    status, out = run_json(capsys, prog, "--host", f"{data}:rw")
    assert (status, out["result"]) == (0, 14)
    for spec in (str(data), f"{data}:r"):
        status, out = run_json(capsys, prog, "--host", spec)
        assert (status, out["status"], out["result"]) == (1, "illegal_mem", 5)
    # a second region lands one stride further
    prog2 = program_file("lddw %r1, 0x20500000\nldxb %r0, [%r1]\nexit\n", "second.s")
    assert run_json(capsys, prog2, "--host", data, "--host", data)[1]["result"] == 5


def test_entry_budget_and_profile(capsys, program_file):
    prog = program_file(
        ".globl main\n.globl other\nmain:\nmov %r0, 1\nexit\nother:\nmov %r0, %r2\nexit\n"
    )
    assert run_json(capsys, prog)[1]["result"] == 1
    assert run_json(capsys, prog, "--entry", "other")[1]["result"] == 0
    assert run_json(capsys, prog, "--entry", "other", "--profile", "rfc",
                    "--mem-hex", "00 00 00")[1]["result"] == 3  # fmt: skip
    loop = program_file("mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 300, loop\nexit\n", "loop.s")
    status, out = run_json(capsys, loop)  # the femto default budget: 200
    assert (status, out["status"], out["result"]) == (1, "out_of_branches", 201)
    assert run_json(capsys, loop, "--branch-budget", "none")[1]["result"] == 300
    assert run_json(capsys, loop, "--branch-budget", "299")[1]["status"] == "ok"
    assert run_json(capsys, loop, "--branch-budget", "0x10")[1]["result"] == 17
    assert run_json(capsys, loop, "--profile", "rfc")[1]["result"] == 300


def test_result_is_unsigned_64_bit(capsys, program_file):
    prog = program_file("mov %r0, -1\nexit\n")
    assert run_json(capsys, prog)[1]["result"] == (1 << 64) - 1
    assert cli_main(["run", prog]) == 0
    assert "0xffffffffffffffff (18446744073709551615, signed -1)" in capsys.readouterr().out


def test_printf_goes_to_stderr_with_json(capsys, program_file):
    prog = program_file('.rodata\nmsg: .asciz "hello %d"\n.text\nlddwr %r1, msg\nmov %r2, 7\n'
                        "call 1\nexit\n")  # fmt: skip
    status, out = run_json(capsys, prog)
    assert (status, out["result"]) == (0, 7)
    assert cli_main(["run", "--json", prog]) == 0
    captured = capsys.readouterr()
    assert captured.err == "hello 7" and json.loads(captured.out)["status"] == "ok"
    assert cli_main(["run", prog]) == 0
    assert capsys.readouterr().out.startswith("hello 7")


@pytest.mark.parametrize(
    "args,message",
    [
        (["missing.s"], "no such file"),
        (["PROG", "--mem-hex", "xyz"], "not hex"),
        (["PROG", "--mem", "missing.bin"], "--mem"),
        (["PROG", "--host", "missing.bin:rw"], "--host"),
        (["PROG", "--branch-budget", "lots"], "branch budget"),
        (["PROG", "--engine", "z80"], "unknown engine"),
        (["PROG", "--entry", "nope"], "no function named"),
        (["BAD"], "r10"),
    ],
)
def test_bad_input_exits_2(capsys, program_file, tmp_path, args, message):
    prog = program_file("mov %r0, 0\nexit\n")
    bad = program_file("mov %r10, 0\nexit\n", "bad.s")
    args = [{"PROG": prog, "BAD": bad}.get(a, a) for a in args]
    args = [str(tmp_path / a) if a.startswith("missing") else a for a in args]
    assert cli_main(["run", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_exit_statuses_of_the_process(program_file):
    ok = program_file("mov %r0, 0\nexit\n")
    fault = program_file("ldxb %r0, [%r1]\nexit\n", "fault.s")
    cmd = [sys.executable, "-m", "femtojit", "run", "--json"]
    for path, expected in ((ok, 0), (fault, 1), ("/nonexistent.s", 2)):
        done = subprocess.run([*cmd, path], capture_output=True, text=True, timeout=120)
        assert done.returncode == expected, done.stderr
        assert "Traceback" not in done.stderr
