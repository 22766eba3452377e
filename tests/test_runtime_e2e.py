"""End to end: real translations (femtojit.translate) loaded by the C runtime inside Cortex-M4
and RV32IMC firmware under Unicorn, compared with the reference interpreter (femtojit.run):
same status, same 64-bit result, same stack, .data and ctx contents.

These tests wait for the backends: while `femtojit.translate` cannot translate for a target
they skip and say so; they run as soon as a backend provides a BACKEND object."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conftest import CONFORMANCE_DIR
from firmware.fwkit import ARCHES, Firmware, build_firmware

import femtojit
from femtojit import memmap
from femtojit.blob import Blob, parse_blob
from femtojit.outputs import to_elf_object

REPO = Path(__file__).resolve().parents[1]
FLETCHER = REPO / "examples" / "fletcher32.bin"
FLETCHER_RESULT = 0x5BAC8C3D

#: A spread of the conformance suite: ALU corner cases, loads/stores of every size, atomics,
#: local calls, helper 5 (an rfc helper returning 64 bits), division by zero (rfc), jumps.
CONFORMANCE_SAMPLE = (
    "alu64-arith",
    "be64",
    "call_local",
    "call_unwind_fail",
    "callx",
    "div64-by-zero-reg",
    "jit-bounce",
    "ldxh-all2",
    "lock_cmpxchg",
    "mem-len",
    "mul64-intmin-by-negone-reg",
    "prime",
    "sdiv64-intmin-by-negone-reg",
    "stack",
    "stxb-chain",
    "subnet",
)

DIV_BY_ZERO_FEMTO = """
mov %r0, 7
lddw %r1, 0x100000000
mov32 %r2, 0
add %r0, 1
div %r1, %r2
exit
"""


#: The helper ids the test firmware provides (tests/firmware/fw_main.c: fw_helper_table). A
#: blob with callx imports every helper known at translation time, so translate for exactly
#: the firmware's helpers, as a firmware build would.
FIRMWARE_HELPER_IDS = {0x05, 0x10, 0x11, 0x12}


def translated_blob(program, target: str, profile: str) -> Blob:
    """The blob of femtojit.translate(...) for the test firmware's helpers."""
    translation = femtojit.translate(
        program, target=target, profile=profile, helpers=FIRMWARE_HELPER_IDS
    )
    blob = translation.blob()
    return parse_blob(blob) if isinstance(blob, bytes | bytearray) else blob


@pytest.fixture(scope="module", params=["armv7m", "rv32imc"])
def firmware(request, tmp_path_factory):
    arch = ARCHES[request.param]
    work = tmp_path_factory.mktemp(f"e2e-{arch.name}")
    return Firmware(arch, build_firmware(arch, work))


def run_both(firmware: Firmware, program, profile: str, ctx: bytes = b""):
    """(interpreter RunResult, firmware Outcome, the CPU afterwards, the blob)."""
    blob = translated_blob(program, firmware.arch.name, profile)
    reference = femtojit.run(program, ctx=ctx, profile=profile)
    raw = blob.to_bytes()
    budget = struct.unpack_from("<I", raw, 56)[0]
    out, uc = firmware.run(blob=raw, ctx=ctx, budget=budget, data_ram_len=len(blob.data))
    return reference, out, uc, blob


def assert_same(reference, out, uc, blob: Blob, ctx_len: int) -> None:
    assert (out.check_status, out.resolve_status, out.init_status) == (0, 0, 0), out
    assert out.statuses[0] == reference.status
    assert out.results[0] == reference.result & (2**64 - 1)
    memory = reference.memory
    assert bytes(uc.mem_read(memmap.STACK_BASE, memmap.STACK_SIZE)) == memory["stack"]
    assert bytes(uc.mem_read(memmap.DATA_BASE, len(blob.data))) == memory["data"]
    assert bytes(uc.mem_read(memmap.CTX_BASE, ctx_len)) == memory["ctx"]


def test_fletcher32_matches_the_interpreter(firmware):
    program = femtojit.load(FLETCHER)
    reference, out, uc, blob = run_both(firmware, program, "femto")
    assert reference.result == FLETCHER_RESULT
    assert_same(reference, out, uc, blob, 0)


def test_division_by_zero_fault_matches(firmware):
    program = femtojit.assemble(DIV_BY_ZERO_FEMTO)
    reference, out, uc, blob = run_both(firmware, program, "femto")
    assert reference.status == -9 and reference.result == 8
    assert_same(reference, out, uc, blob, 0)


@pytest.mark.parametrize("name", CONFORMANCE_SAMPLE)
def test_conformance_sample_matches(firmware, name):
    from femtojit.conformance.parser import parse_file

    test = parse_file(CONFORMANCE_DIR / "tests" / f"{name}.data")
    assert test.skipped is None and test.asm_error is None
    reference, out, uc, blob = run_both(firmware, test.program, "rfc", test.mem)
    assert_same(reference, out, uc, blob, len(test.mem))


def test_fletcher32_linked_as_elf(firmware, tmp_path):
    """The `elf` output of a real translation, linked into firmware and run from .text."""
    program = femtojit.load(FLETCHER)
    blob = translated_blob(program, firmware.arch.name, "femto")
    obj = tmp_path / "fletcher.o"
    obj.write_bytes(to_elf_object(blob, "fletcher"))
    arch = firmware.arch
    linked = Firmware(
        arch, build_firmware(arch, tmp_path, defines=("FW_LINKED=fletcher",), extra=(obj,))
    )
    out, _ = linked.run(budget=blob.budget or 0, data_ram_len=len(blob.data))
    assert (out.init_status, out.use_entry_status, out.statuses[0]) == (0, 0, 0)
    assert out.results[0] == FLETCHER_RESULT
