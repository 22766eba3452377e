"""`femtojit pack`, run as a user runs it: `python -m femtojit pack IN -o OUT`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO, require_tool

from femtojit.loaders import load
from femtojit.loaders.container import HEADER
from femtojit.toolchain import compile_bpf

CLI = [sys.executable, "-m", "femtojit"]


def femtojit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=False)


def assert_clean_failure(completed: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 2, exactly one line on stderr that says why, no traceback."""
    assert completed.returncode == 2, completed
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    assert lines[0].startswith("femtojit pack: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_pack_an_object_compiled_now(tmp_path):
    require_tool("clang")
    obj = compile_bpf(REPO / "tests" / "c" / "globals.c", tmp_path / "globals.o", mcpu="v3")
    out = tmp_path / "globals.bin"
    completed = femtojit("pack", obj, "-o", out)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert str(out) in completed.stdout and "read_counter" in completed.stdout
    blob = out.read_bytes()
    assert blob[:4] == b"rBPF"
    elf, packed = load(obj), load(out)
    assert packed.slots == elf.slots and packed.data == elf.data
    assert packed.rodata.startswith(elf.rodata) and packed.functions == elf.functions
    magic, version, flags, data_len, rodata_len, text_len, functions = HEADER.unpack_from(blob)
    assert (version, flags, data_len, text_len, functions) == (
        0, 0, len(elf.data), 8 * len(elf.slots), len(elf.functions))
    # the names are appended after the merged .rodata
    assert blob[28 + data_len + len(elf.rodata):28 + data_len + rodata_len].split(b"\0")[:-1] == [
        f.name.encode() for f in elf.functions]


def test_pack_reproduces_the_committed_example(tmp_path):
    out = tmp_path / "f.bin"
    completed = femtojit("pack", REPO / "examples" / "fletcher32.o", "-o", out)
    assert completed.returncode == 0, completed.stderr
    assert out.read_bytes() == (REPO / "examples" / "fletcher32.bin").read_bytes()


def test_missing_input(tmp_path):
    completed = femtojit("pack", tmp_path / "absent.o", "-o", tmp_path / "x.bin")
    assert_clean_failure(completed, "absent.o", "no such file")
    assert not (tmp_path / "x.bin").exists()


def test_input_that_is_not_a_program(tmp_path):
    notes = tmp_path / "notes.o"
    notes.write_text("these are notes, not an object file\n")
    assert_clean_failure(femtojit("pack", notes, "-o", tmp_path / "x.bin"), "not a program")
    odd = tmp_path / "odd.o"
    odd.write_bytes(bytes(range(200, 255)))
    assert_clean_failure(femtojit("pack", odd, "-o", tmp_path / "x.bin"), "not a multiple of 8")
    container = REPO / "examples" / "fletcher32.bin"
    assert_clean_failure(femtojit("pack", container, "--kind", "elf", "-o", tmp_path / "x.bin"),
                         "not an ELF")


@pytest.mark.parametrize("keep", [3, 40, 64, 500, 1000, 1447])
def test_truncated_elf(tmp_path, keep):
    truncated = tmp_path / "truncated.o"
    truncated.write_bytes((REPO / "examples" / "fletcher32.o").read_bytes()[:keep])
    assert_clean_failure(femtojit("pack", truncated, "-o", tmp_path / "x.bin"))


def test_unwritable_output(tmp_path):
    completed = femtojit("pack", REPO / "examples" / "fletcher32.o", "-o",
                         tmp_path / "no" / "such" / "dir.bin")
    assert_clean_failure(completed, "cannot write")


def test_directory_as_input(tmp_path):
    assert_clean_failure(femtojit("pack", tmp_path, "-o", tmp_path / "x.bin"), "is a directory")
