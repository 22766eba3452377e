"""The qemu-xtensa harness for native LX106 baselines: counting, results, helpers, limits."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from femtojit.emu import layout
from femtojit.emu.qemu_xtensa import count_trace_lines, run_native
from femtojit.errors import EmulationError
from femtojit.helpers import HelperCall, HelperRegistry, Runtime
from femtojit.memmap import CODE_BASE, CTX_BASE, build_memory
from tests.conftest import require_tool


@pytest.fixture(autouse=True)
def _tools():
    require_tool("qemu-xtensa")
    require_tool("xtensa-lx106-elf-gcc")


def lx106(src: str, tmp_path: Path) -> bytes:
    """Assemble call0 code; literals (l32r) go first, so the entry offset is returned too."""
    gas = require_tool("xtensa-lx106-elf-as")
    objcopy = require_tool("xtensa-lx106-elf-objcopy")
    (tmp_path / "code.s").write_text("    .text\n    .begin no-transform\n" + src + "\n")
    subprocess.run([gas, "code.s", "-o", "code.o"], cwd=tmp_path, check=True)
    subprocess.run(
        [objcopy, "-O", "binary", "-j", ".text", "code.o", "code.bin"], cwd=tmp_path, check=True
    )
    return (tmp_path / "code.bin").read_bytes()


def test_counts_exactly_the_instructions_of_the_code(tmp_path):
    code = lx106(
        """
        movi a3, 0
        movi a4, 10
    loop:
        addi a3, a3, 3
        addi a4, a4, -1
        bnez a4, loop
        mov a2, a3
        movi a3, 5
        ret
        """,
        tmp_path,
    )
    result = run_native("xtensa-lx106", code, 0, build_memory(b"", b"", b"ctx!"))
    assert result.result == 5 << 32 | 30
    assert result.insns == 2 + 3 * 10 + 3


def test_arguments_regions_and_memory_read_back(tmp_path):
    code = lx106(
        """
        l32i a4, a2, 0
        add a4, a4, a3
        s32i a4, a2, 4
        mov a2, a4
        movi a3, 0
        ret
        """,
        tmp_path,
    )
    ctx = struct.pack("<II", 40, 0)
    result = run_native("xtensa-lx106", code, 0, build_memory(b"", b"", ctx), args=[CTX_BASE, 2])
    assert result.result == 42
    assert result.memory["ctx"] == struct.pack("<II", 40, 42)


def test_native_helpers_run_in_python_with_checked_memory(tmp_path):
    stub = layout.native_stub_address(0x42)
    code = lx106(
        f"""
        .literal_position
        .align 4
    helper_address:
        .word {stub:#x}
    entry:
        addi a1, a1, -16
        s32i a0, a1, 12
        s32i a2, a1, 8
        movi a3, 7
        l32r a8, helper_address
        callx0 a8
        l32i a3, a1, 8
        l32i a3, a3, 0
        add a2, a2, a3
        movi a3, 0
        l32i a0, a1, 12
        addi a1, a1, 16
        ret
        """,
        tmp_path,
    )

    def helper(call: HelperCall) -> int:
        call.mem.write(call.arg(1), struct.pack("<I", 1000))
        return call.arg(2) * 6

    registry = HelperRegistry()
    registry.register(0x42, "test", helper)
    result = run_native(
        "xtensa-lx106",
        code,
        4,
        build_memory(b"", b"", bytes(4)),
        helpers=registry,
        runtime=Runtime(),
    )
    assert result.result == 1042
    assert result.extra["helper_calls"] == 1
    assert result.memory["ctx"] == struct.pack("<I", 1000)


def test_helper_pointer_outside_the_regions_is_refused(tmp_path):
    stub = layout.native_stub_address(0x42)
    code = lx106(
        f"""
        .literal_position
        .align 4
    helper_address:
        .word {stub:#x}
    entry:
        addi a1, a1, -16
        s32i a0, a1, 12
        movi a2, 0x100
        l32r a8, helper_address
        callx0 a8
        l32i a0, a1, 12
        addi a1, a1, 16
        ret
        """,
        tmp_path,
    )

    def helper(call: HelperCall) -> int:
        call.mem.write(call.arg(1), b"x")
        return 0

    registry = HelperRegistry()
    registry.register(0x42, "test", helper)
    with pytest.raises(EmulationError, match="faulted with status -2"):
        run_native("xtensa-lx106", code, 4, build_memory(b"", b"", b""), helpers=registry)


def test_runaway_loop_is_stopped(tmp_path):
    code = lx106("loop:\n    j loop", tmp_path)
    with pytest.raises(EmulationError, match="instruction limit"):
        run_native("xtensa-lx106", code, 0, build_memory(b"", b"", b""), insn_limit=2_000)


def test_illegal_instruction_is_an_emulation_error(tmp_path):
    code = lx106("ill", tmp_path)
    with pytest.raises(EmulationError, match="qemu-xtensa stopped"):
        run_native("xtensa-lx106", code, 0, build_memory(b"", b"", b""))


def test_trace_line_counting_keeps_the_code_range():
    log = (
        "Trace 0: 0x7f00 [00000000/08000004/00018010/00000201] \n"
        "Trace 0: 0x7f40 [00000000/0f020000/00018010/00000201] \n"
        "Linking TBs 0x1 [08000004] index 0 -> 0x2 [08000008]\n"
        "Trace 0: 0x7f80 [00000000/08000008/00018010/00000201] \n"
    )
    assert count_trace_lines(log, CODE_BASE, CODE_BASE + 8) == 1
    assert count_trace_lines(log, CODE_BASE, CODE_BASE + 16) == 2
