"""The benchmark programs: inputs, models and expected values agree, and every native build
(Cortex-M4, RV32IMC, LX106) computes the expected result under emulation."""

from __future__ import annotations

import dataclasses

import pytest

from bench import build
from bench.suite import FLETCHER_PAPER_RESULT, FLETCHER_TEXT, PROGRAMS, program
from femtojit.builtin_helpers import builtin_registry
from femtojit.emu import run_native
from femtojit.helpers import Runtime
from femtojit.memmap import build_memory
from tests.conftest import require_tool

NAMES = [p.name for p in PROGRAMS]


def test_fletcher32_input_is_the_papers_vector():
    spec = program("fletcher32")
    assert len(FLETCHER_TEXT) == 360
    assert spec.expected == FLETCHER_PAPER_RESULT == 0x5BAC8C3D
    assert spec.model(spec.ctx, spec.host)[0] == 0x5BAC8C3D


@pytest.mark.parametrize("name", NAMES)
def test_model_gives_the_expected_value(name):
    spec = program(name)
    result, ctx_after = spec.model(spec.ctx, spec.host)
    assert result == spec.expected
    assert len(ctx_after) == len(spec.ctx)
    assert spec.budget > 0
    assert spec.source.exists()


@pytest.mark.parametrize("target", build.NATIVE_TARGETS)
@pytest.mark.parametrize("name", NAMES)
def test_native_program_computes_the_expected_result(name, target):
    require_tool(build.TOOLCHAINS[target].gcc)
    if target == "xtensa-lx106":
        require_tool("qemu-xtensa")
    spec = program(name)
    native = build.build_native(spec, target)
    memory = build_memory(b"", b"", spec.ctx, list(spec.host))
    result = run_native(
        target,
        native.code,
        native.entry_offset,
        memory,
        helpers=builtin_registry("femto"),
        runtime=Runtime(),
    )
    assert result.result == spec.expected, f"{result.result:#x} != {spec.expected:#x}"
    assert result.memory["ctx"] == spec.model(spec.ctx, spec.host)[1]
    assert result.insns > 0
    if spec.helpers:
        assert result.extra["helper_calls"] > 0
    else:
        assert result.extra["helper_calls"] == 0


def test_lx106_builds_report_femtojits_own_libgcc_routines():
    require_tool("xtensa-lx106-elf-gcc")
    assert build.build_native(program("arith64"), "xtensa-lx106").own_libgcc == (
        "__muldi3",
        "__udivdi3",
        "__umoddi3",
    )
    assert build.build_native(program("crc32"), "xtensa-lx106").own_libgcc == ()


def test_native_build_with_writable_globals_is_refused(tmp_path, monkeypatch):
    require_tool("arm-none-eabi-gcc")
    source = tmp_path / "globals.c"
    source.write_text(
        '#include "bench.h"\nstatic uint32_t calls;\n'
        "uint64_t globals(void *ctx) { return ++calls; }\n"
    )
    monkeypatch.setattr(build, "BUILD_DIR", tmp_path / "build")
    spec = dataclasses.replace(program("incr"), name="globals", source_file=source)
    with pytest.raises(build.BuildError, match="writable data"):
        build.build_native(spec, "armv7m")


@pytest.mark.parametrize("mcpu", build.MCPUS)
def test_bytecode_builds_and_loads(mcpu):
    require_tool("clang")
    import femtojit

    for spec in (program("fletcher32"), program("kvstore")):
        prog = femtojit.load(str(build.build_bytecode(spec, mcpu)), entry=spec.entry_name)
        assert len(prog.slots) > 2
