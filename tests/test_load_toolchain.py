"""femtojit.toolchain: compiling C for the loader tests and benchmarks."""

from __future__ import annotations

import pytest
from conftest import require_tool

from femtojit.errors import FemtojitError
from femtojit.loaders import load
from femtojit.toolchain import (
    ToolchainError,
    compile_bpf,
    find_tool,
    first_error_line,
    run_tool,
)

SOURCE = "#include <stdint.h>\nuint64_t f(void) { return 42; }\n"


@pytest.mark.parametrize("mcpu", ["v2", "v3"])
def test_compile_text_and_path(tmp_path, mcpu):
    require_tool("clang")
    from_text = compile_bpf(SOURCE, tmp_path / "text" / "f.o", mcpu=mcpu)
    assert from_text == tmp_path / "text" / "f.o"
    source = tmp_path / "f.c"
    source.write_text(SOURCE)
    from_path = compile_bpf(source, tmp_path / "f.o", mcpu=mcpu)
    assert from_path.read_bytes()[:4] == b"\x7fELF"
    program = load(from_path)
    assert [f.name for f in program.functions] == ["f"]
    assert load(from_text).slots == program.slots


def test_mcpu_reaches_clang(tmp_path):
    """-mcpu=v3 enables 32-bit jumps (class 0x06); v2 has none."""
    require_tool("clang")
    source = "unsigned f(unsigned *p) { return p[0] < p[1] ? p[0] : p[1]; }\n"
    v2 = load(compile_bpf(source, tmp_path / "v2.o", mcpu="v2"))
    v3 = load(compile_bpf(source, tmp_path / "v3.o", mcpu="v3"))
    assert not any(s.opcode & 7 == 6 for s in v2.slots)
    assert any(s.opcode & 7 == 6 for s in v3.slots)


def test_compile_errors_are_one_line(tmp_path):
    require_tool("clang")
    with pytest.raises(ToolchainError) as error:
        compile_bpf("int f(void) { return undeclared_name; }\n", tmp_path / "bad.o")
    message = str(error.value)
    assert "\n" not in message and "undeclared_name" in message and "clang" in message
    assert isinstance(error.value, FemtojitError)
    with pytest.raises(ToolchainError, match="no such C source"):
        compile_bpf(tmp_path / "absent.c", tmp_path / "absent.o")
    with pytest.raises(ToolchainError, match="unknown eBPF CPU 'v9'"):
        compile_bpf(SOURCE, tmp_path / "x.o", mcpu="v9")


def test_missing_tool_names_the_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolchainError, match=r"clang is not installed \(Debian package clang\)"):
        find_tool("clang")
    with pytest.raises(ToolchainError, match=r"gcc-arm-none-eabi"):
        find_tool("arm-none-eabi-gcc")
    with pytest.raises(ToolchainError, match="no-such-tool is not installed$"):
        run_tool(["no-such-tool"], what="nothing")


def test_first_error_line():
    output = "a.c:1:2: warning: w\na.c:3:4: error: e\nmore\n"
    assert first_error_line(output) == "a.c:3:4: error: e"
    assert first_error_line("only this\n") == "only this"
    assert first_error_line("") == "no output"
