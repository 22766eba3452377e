"""Finding and running external compilers (clang for eBPF; the targets' gcc/binutils).

Tests and benchmarks build their inputs with these; femtojit itself never needs them. A missing
tool is a ToolchainError that names the Debian package to install, and a failed compilation is
a ToolchainError carrying the compiler's first error line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from femtojit.errors import FemtojitError

#: Debian package that provides each tool femtojit's tests and benchmarks run.
DEBIAN_PACKAGES: dict[str, str] = {
    "clang": "clang",
    "llvm-objdump": "llvm",
    "llvm-readelf": "llvm",
    "qemu-xtensa": "qemu-user",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi",
    "arm-none-eabi-as": "binutils-arm-none-eabi",
    "arm-none-eabi-objdump": "binutils-arm-none-eabi",
    "riscv64-unknown-elf-gcc": "gcc-riscv64-unknown-elf",
    "riscv64-unknown-elf-as": "binutils-riscv64-unknown-elf",
    "riscv64-unknown-elf-objdump": "binutils-riscv64-unknown-elf",
    "xtensa-lx106-elf-gcc": "gcc-xtensa-lx106",
    "xtensa-lx106-elf-as": "binutils-xtensa-lx106",
    "xtensa-lx106-elf-objdump": "binutils-xtensa-lx106",
}

#: eBPF CPU versions clang accepts for -mcpu.
BPF_CPUS = ("v1", "v2", "v3", "v4")

#: Flags every eBPF compilation gets. -ffreestanding: there is no C library for the bpf target,
#: and it makes <stdint.h> come from clang itself instead of the host's glibc headers.
BPF_BASE_FLAGS = ("-target", "bpf", "-ffreestanding", "-fno-common")

DEFAULT_TIMEOUT = 120.0


class ToolchainError(FemtojitError):
    """An external tool is missing, or it failed on its input."""


def find_tool(name: str) -> str:
    """Absolute path of a tool on PATH; ToolchainError naming the Debian package if absent."""
    path = shutil.which(name)
    if path is None:
        package = DEBIAN_PACKAGES.get(name)
        hint = f" (Debian package {package})" if package else ""
        raise ToolchainError(f"{name} is not installed{hint}")
    return path


def run_tool(
    argv: Sequence[str], *, what: str, timeout: float = DEFAULT_TIMEOUT, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run a tool (argv[0] is looked up with find_tool); ToolchainError if it fails.

    `what` describes the job for the message ("clang on fletcher32.c").
    """
    executable = find_tool(argv[0])
    try:
        completed = subprocess.run(
            [executable, *argv[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{what}: timed out after {timeout:.0f} s") from None
    except OSError as error:
        raise ToolchainError(f"{what}: cannot run {argv[0]}: {error.strerror}") from None
    if completed.returncode != 0:
        raise ToolchainError(
            f"{what} failed (exit status {completed.returncode}): "
            f"{first_error_line(completed.stderr or completed.stdout)}"
        )
    return completed


def first_error_line(output: str) -> str:
    """The most useful single line of a compiler's output: its first "error" line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower():
            return line
    return lines[0] if lines else "no output"


def compile_bpf(
    source: os.PathLike | str,
    out_path: os.PathLike | str,
    *,
    mcpu: str = "v2",
    opt: str = "-O2",
    extra_flags: Sequence[str] = (),
) -> Path:
    """Compile C to an eBPF relocatable object with `clang -target bpf -mcpu=... -O2 -c`.

    `source` is a path when it is a PathLike (pathlib.Path), and C source text when it is a
    str. Returns the output path.
    """
    if mcpu not in BPF_CPUS:
        raise ToolchainError(f"unknown eBPF CPU {mcpu!r} (expected one of {', '.join(BPF_CPUS)})")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    flags = [*BPF_BASE_FLAGS, f"-mcpu={mcpu}", opt, *extra_flags, "-c", "-o", str(out)]
    if isinstance(source, os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise ToolchainError(f"{path}: no such C source file")
        run_tool(["clang", *flags, str(path)], what=f"clang on {path.name}")
        return out
    with tempfile.TemporaryDirectory(prefix="femtojit-cc-") as tmp:
        path = Path(tmp) / (out.stem + ".c")
        path.write_text(source)
        run_tool(["clang", *flags, str(path)], what=f"clang on the source of {out.name}")
    return out
