"""Format detection by content: the same program as .bin/.o/.s/raw, under misleading names."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

from femtojit.asm import disassemble
from femtojit.errors import AsmError, FemtojitError, LoadError
from femtojit.loaders import load, load_bytes
from femtojit.loaders.detect import detect_kind

FLETCHER_O = REPO / "examples" / "fletcher32.o"
FLETCHER_BIN = REPO / "examples" / "fletcher32.bin"


@pytest.fixture(scope="module")
def reference():
    return load(FLETCHER_O)


@pytest.fixture
def forms(tmp_path, reference):
    """The Fletcher-32 program in every format, each saved under another format's name."""
    contents = {
        "elf": FLETCHER_O.read_bytes(),
        "container": FLETCHER_BIN.read_bytes(),
        "asm": disassemble(load(FLETCHER_BIN)).encode(),
        "raw": reference.text,
    }
    misleading = {"elf": "prog.s", "container": "prog.o", "asm": "prog.bin", "raw": "prog.elf"}
    paths = {}
    for kind, content in contents.items():
        path = tmp_path / misleading[kind]
        path.write_bytes(content)
        paths[kind] = path
    return paths


LABELS = {"elf": "(ELF)", "container": "(container)", "asm": "(assembly)", "raw": "(raw bytecode)"}


@pytest.mark.parametrize("kind", ["elf", "container", "asm", "raw"])
def test_same_program_every_format(forms, reference, kind):
    path = forms[kind]
    assert detect_kind(path.read_bytes()) == kind
    program = load(path)
    assert program.origin.endswith(LABELS[kind]), program.origin
    assert program.slots == reference.slots
    if kind != "raw":
        assert program.rodata.startswith(reference.rodata)
        assert [f.name for f in program.functions] == ["fletcher32_bpf"]
    # str paths, Path objects and the bytes themselves all load the same
    assert load(str(path)).slots == load(path.read_bytes()).slots == reference.slots
    assert load(bytearray(path.read_bytes())).slots == reference.slots


def test_kind_forces_a_format(forms, reference):
    container = forms["container"].read_bytes()
    with pytest.raises(LoadError, match="not an ELF"):
        load(container, kind="elf")
    with pytest.raises(LoadError, match="not a multiple of 8"):
        load(container, kind="raw")  # 714 bytes
    with pytest.raises(LoadError, match="not assembly"):
        load(container, kind="asm")
    with pytest.raises(LoadError, match="not a Femto-Container"):
        load(forms["elf"], kind="container")
    with pytest.raises(LoadError, match="unknown program kind 'exe'"):
        load(container, kind="exe")
    # raw forced on the ELF: 1448 bytes decode as (meaningless) slots, which is what was asked
    assert len(load(forms["elf"], kind="raw").slots) == FLETCHER_O.stat().st_size // 8
    assert load(forms["asm"], kind="asm").slots == reference.slots


@pytest.mark.parametrize(
    "text",
    [
        "mov %r0, 1\nexit\n",
        "# a comment first\n\n   mov %r0, 1\nexit\n",
        "\ufeffstart:\n  mov %r0, 1\n  exit\n",
        ".globl main\nmain:\nmov %r0, 1\nexit\n",
        "lddw %r0, 0x100000000\nexit\n",
        "main: mov %r0, 1\nexit\n",
    ],
)
def test_assembly_is_detected(text):
    assert detect_kind(text.encode()) == "asm"
    assert load(text.encode()).slots[-1].opcode == 0x95


def test_assembly_errors_come_from_the_assembler():
    with pytest.raises(AsmError, match="line 2"):
        load(b"mov %r0, 1\nmvo %r0, 2\nexit\n")


@pytest.mark.parametrize(
    "text",
    [
        "#include <stdint.h>\nint f(void) { switch (1) {\ndefault:\nreturn 0; } }\n",
        "hello world, this is not a program\n",
        "-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n",
    ],
)
def test_text_that_is_not_assembly(text):
    assert detect_kind(text.encode()) == "text"
    with pytest.raises(LoadError, match="not eBPF assembly") as error:
        load(text.encode())
    assert "\n" not in str(error.value)


def test_raw_detection():
    exit_only = bytes([0x95, 0, 0, 0, 0, 0, 0, 0])
    assert detect_kind(exit_only) == "raw"
    assert load(exit_only).slots[0].opcode == 0x95
    with pytest.raises(LoadError, match="13 bytes, not a multiple of 8"):
        load(exit_only + b"\x01\x02\x03\x04\x05")


def test_unreadable_inputs(tmp_path, monkeypatch):
    with pytest.raises(LoadError, match="no such file"):
        load(tmp_path / "missing.bin")
    with pytest.raises(LoadError, match="is a directory"):
        load(tmp_path)
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(LoadError, match="empty file"):
        load(tmp_path / "empty")
    (tmp_path / "plain").write_bytes(b"x")
    with pytest.raises(LoadError, match="cannot read"):
        load(tmp_path / "plain" / "below")  # a file used as a directory
    with pytest.raises(LoadError, match="cannot load a int"):
        load(42)  # type: ignore[arg-type]

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(LoadError, match="permission denied"):
        load(tmp_path / "plain")


def test_every_load_error_is_one_line_and_a_femtojit_error(tmp_path):
    for raw in (b"\x7fELF", b"rBPF", b"\x7fELF" + bytes(100), b"rBPF" + bytes(100)):
        with pytest.raises(FemtojitError) as error:
            load_bytes(raw, origin="x")
        assert "\n" not in str(error.value)
        assert str(error.value).startswith("x: ")
