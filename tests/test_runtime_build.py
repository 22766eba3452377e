"""The C runtime builds warning-free (C99, -pedantic -Wall -Wextra -Werror) with every
target's gcc, with no outside symbol at all (no libc, no libgcc), and its static asserts pin
the ABI v1 layout on each target (they fail the build if a compiler lays fjit_vm_t out
differently)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import require_tool

RUNTIME = Path(__file__).resolve().parents[1] / "femtojit" / "runtime"
STRICT = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-ffreestanding"]

TOOLCHAINS = {
    "armv7m": ("arm-none-eabi-", ["-mcpu=cortex-m4", "-mthumb"]),
    "armv7m-hard-float": (
        "arm-none-eabi-",
        ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    ),
    "cortex-m3": ("arm-none-eabi-", ["-mcpu=cortex-m3", "-mthumb"]),
    "rv32imc": ("riscv64-unknown-elf-", ["-march=rv32imc", "-mabi=ilp32"]),
    "xtensa-lx106": ("xtensa-lx106-elf-", []),
}


def compile_runtime(prefix: str, flags: list[str], out: Path, *extra: str) -> None:
    gcc = require_tool(prefix + "gcc")
    proc = subprocess.run(
        [gcc, *flags, *STRICT, *extra, "-c", str(RUNTIME / "femtojit.c"), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("opt", ["-O2", "-Os", "-O0"])
@pytest.mark.parametrize("name", list(TOOLCHAINS))
def test_runtime_is_freestanding(name, opt, tmp_path):
    prefix, flags = TOOLCHAINS[name]
    obj = tmp_path / "femtojit.o"
    compile_runtime(prefix, flags, obj, opt)
    nm = require_tool(prefix + "nm")
    undefined = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True, check=True)
    assert undefined.stdout.split() == []
    defined = subprocess.run([nm, str(obj)], capture_output=True, text=True, check=True).stdout
    for api in ("fjit_blob_check", "fjit_container_init", "fjit_execute_ctx", "fjit_crc32"):
        assert f" T {api}" in defined


def test_runtime_builds_for_the_esp32_windowed_abi(tmp_path):
    """Debian's xtensa-lx106 assembler has no windowed instructions, so this stops at the
    assembly: what it checks is the C (the static asserts with -mabi=windowed)."""
    gcc = require_tool("xtensa-lx106-elf-gcc")
    out = tmp_path / "femtojit.s"
    proc = subprocess.run(
        [gcc, "-mabi=windowed", *STRICT, "-O2", "-S", str(RUNTIME / "femtojit.c"), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\tentry\t" in out.read_text() or "\tentry " in out.read_text()


def test_header_compiles_as_cplusplus(tmp_path):
    gxx = require_tool("arm-none-eabi-g++")
    source = tmp_path / "use.cpp"
    source.write_text('#include "femtojit.h"\nint32_t f(fjit_vm_t *vm) { return vm->status; }\n')
    proc = subprocess.run(
        [gxx, "-mcpu=cortex-m4", "-mthumb", "-Wall", "-Wextra", "-Werror", f"-I{RUNTIME}",
         "-c", str(source), "-o", str(tmp_path / "use.o")],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_layout_mismatch_fails_the_build(tmp_path):
    """The static asserts really fire: an offset that disagrees with the layout fails."""
    gcc = require_tool("arm-none-eabi-gcc")
    source = tmp_path / "bad.c"
    source.write_text(
        '#include "femtojit.h"\n'
        "FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, result) == 44, wrong_on_purpose);\n"
    )
    proc = subprocess.run(
        [gcc, "-mcpu=cortex-m4", "-mthumb", *STRICT, f"-I{RUNTIME}", "-c", str(source),
         "-o", str(tmp_path / "bad.o")],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert proc.returncode != 0 and "wrong_on_purpose" in proc.stderr
