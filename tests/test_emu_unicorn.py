"""The Unicorn harness: CPU model, instruction counting (IT blocks), helper stubs, isolation.

Code under test is hand-assembled: Thumb-2 with keystone, RV32IMC with GNU as.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from femtojit.emu import layout
from femtojit.emu.unicorn_harness import (
    CLOBBER,
    UnicornHarness,
    run_blob_code,
    run_native,
    select_cpu_model,
)
from femtojit.errors import EmulationError, HelperError
from femtojit.helpers import HelperCall, HelperFault, HelperRegistry, Runtime
from femtojit.memmap import (
    CODE_BASE,
    CTX_BASE,
    DATA_BASE,
    HOST_BASE,
    NATIVE_STACK_BASE,
    PERM_READ,
    RODATA_BASE,
    STACK_TOP,
    HostRegion,
    build_memory,
)
from femtojit.status import Status
from tests.conftest import require_tool

CTX = bytes(range(16))


def thumb(src: str) -> bytes:
    import keystone

    ks = keystone.Ks(keystone.KS_ARCH_ARM, keystone.KS_MODE_THUMB)
    encoding, _ = ks.asm(src, CODE_BASE)
    return bytes(encoding)


def rv32(src: str, tmp_path: Path) -> bytes:
    gas = require_tool("riscv64-unknown-elf-as")
    objcopy = require_tool("riscv64-unknown-elf-objcopy")
    (tmp_path / "code.s").write_text(".option norelax\n" + src + "\n")
    subprocess.run(
        [gas, "-march=rv32imc", "-mabi=ilp32", "code.s", "-o", "code.o"],
        cwd=tmp_path,
        check=True,
    )
    subprocess.run(
        [objcopy, "-O", "binary", "-j", ".text", "code.o", "code.bin"], cwd=tmp_path, check=True
    )
    return (tmp_path / "code.bin").read_bytes()


def image(ctx: bytes = CTX):
    host = [HostRegion(b"host-bytes", PERM_READ, "buffer")]
    return build_memory(b"\0" * 8, b"rodata!!", ctx, host)


# ---- CPU model ------------------------------------------------------------------------------


def test_cortex_m4_runs_dsp_instructions_and_m3_does_not():
    from unicorn.arm_const import UC_CPU_ARM_CORTEX_M3

    code = thumb("sadd16 r0, r0, r1; bx lr")
    m4 = UnicornHarness("armv7m", code, image())
    assert m4.call(0, [0x0001_0002, 0x0003_0004]).ret[0] == 0x0004_0006
    m3 = UnicornHarness("armv7m", code, image(), cpu_model=UC_CPU_ARM_CORTEX_M3)
    with pytest.raises(EmulationError, match="pc 0x8000000"):
        m3.call(0, [1, 2])


def test_model_that_unicorn_does_not_honour_is_refused():
    from unicorn import UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB, Uc
    from unicorn.arm_const import UC_CPU_ARM_CORTEX_M4

    machine = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)  # stays a Cortex-M33
    with pytest.raises(EmulationError, match="model"):
        select_cpu_model(machine, UC_CPU_ARM_CORTEX_M4)


# ---- instruction counting -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r0", "expected_r"),
    [(2, (1, 1, 0)), (1, (0, 0, 1))],  # eq: the first two run; ne: only the third
)
def test_it_block_instructions_count_whether_or_not_they_execute(r0, expected_r):
    code = thumb(
        """
        cmp r0, #2
        itte eq
        addeq r1, r1, #1
        addeq.w r2, r2, #1
        addne r3, r3, #1
        movs r0, r1
        lsls r2, r2, #8
        orrs r0, r2
        lsls r3, r3, #16
        orrs r0, r3
        bx lr
        """
    )
    harness = UnicornHarness("armv7m", code, image())
    outcome = harness.call(0, [r0, 0, 0, 0])
    r1, r2, r3 = expected_r
    assert outcome.ret[0] == r1 | r2 << 8 | r3 << 16
    # cmp, itte, its 3 instructions (all issued, 2 or 1 of them skipped), 6 after it
    assert outcome.insns == 1 + 1 + 3 + 6


def test_unicorn_itself_does_not_report_skipped_it_instructions():
    """The reason the harness decodes IT blocks: Unicorn's code hook misses skipped ones."""
    from unicorn import UC_HOOK_CODE

    code = thumb("cmp r0, #2; ittt eq; moveq r1, #1; moveq r2, #2; moveq r3, #3; bx lr")
    harness = UnicornHarness("armv7m", code, image())
    seen = []
    harness.uc.hook_add(UC_HOOK_CODE, lambda uc, a, s, d: seen.append(a))
    outcome = harness.call(0, [1])  # ne: the whole block is skipped
    assert outcome.insns == 6
    assert len(seen) == 3  # cmp, ittt, bx lr


def test_it_block_ending_in_a_taken_return_and_a_loop_with_it():
    code = thumb(
        """
        movs r1, #0
    loop:
        adds r1, #1
        cmp r1, r0
        it lt
        blt loop
        cmp r1, #10
        itt ge
        movge r0, r1
        bxge lr
        movs r0, #0
        bx lr
        """
    )
    outcome = UnicornHarness("armv7m", code, image()).call(0, [10])
    assert outcome.ret[0] == 10
    # movs; 10 x (adds, cmp, it, blt); cmp, itt, movge, bxge
    assert outcome.insns == 1 + 10 * 4 + 4


def test_stores_inside_it_blocks_execute_correctly():
    """Regression for the Unicorn IT-state bug the harness works around (a memory hook
    firing inside an IT block used to make the next block skip instructions)."""
    code = thumb(
        """
        movs r2, #0
        movs r5, #0
    loop:
        ldr r1, [r3]
        cmp r1, r0
        itt hi
        strhi r0, [r3, #4]
        addhi r5, #1
        adds r2, #1
        cmp r2, #3
        bne loop
        movs r0, r5
        bx lr
        """
    )
    harness = UnicornHarness("armv7m", code, image(struct.pack("<II", 9, 0)))
    outcome = harness.call(0, [5, 0, 0, CTX_BASE])
    assert outcome.ret[0] == 3
    assert harness.read_regions()["ctx"] == struct.pack("<II", 9, 5)
    assert outcome.insns == 2 + 3 * 8 + 2


def test_rv32_counts_every_instruction(tmp_path):
    code = rv32(
        """
        li a1, 0
        li a2, 10
    loop:
        addi a1, a1, 3
        addi a2, a2, -1
        bnez a2, loop
        mv a0, a1
        li a1, 7
        ret
        """,
        tmp_path,
    )
    outcome = UnicornHarness("rv32imc", code, image()).call(0, [])
    assert outcome.ret == (30, 7)
    assert outcome.value64 == 7 << 32 | 30
    assert outcome.insns == 2 + 3 * 10 + 3


# ---- helpers through ABI v1 stubs -----------------------------------------------------------

THUMB_ABI_CALLER = """
    push {r4, lr}
    mov r4, r0
    movs r2, #7
    str r2, [r4, #56]
    movs r2, #0
    str r2, [r4, #60]
    movs r2, #35
    str r2, [r4, #64]
    movs r2, #0
    str r2, [r4, #68]
    ldr r3, [r4, #20]
    ldr r3, [r3]
    ldr r0, [r4, #24]
    add.w r1, r4, #48
    blx r3
    ldr r2, [r4, #32]
    cbnz r2, fault
    str r0, [r4, #40]
    str r1, [r4, #44]
    movs r0, #0
    pop {r4, pc}
fault:
    movs r3, #99
    str r3, [r4, #40]
    movs r3, #0
    str r3, [r4, #44]
    mov r0, r2
    pop {r4, pc}
"""

RV32_ABI_CALLER = """
    addi sp, sp, -16
    sw ra, 12(sp)
    sw s0, 8(sp)
    mv s0, a0
    li t0, 7
    sw t0, 56(s0)
    sw zero, 60(s0)
    li t0, 35
    sw t0, 64(s0)
    sw zero, 68(s0)
    lw t1, 20(s0)
    lw t1, 0(t1)
    lw a0, 24(s0)
    addi a1, s0, 48
    jalr t1
    lw t2, 32(s0)
    bnez t2, fault
    sw a0, 40(s0)
    sw a1, 44(s0)
    li a0, 0
    j out
fault:
    li t0, 99
    sw t0, 40(s0)
    sw zero, 44(s0)
    mv a0, t2
out:
    lw ra, 12(sp)
    lw s0, 8(sp)
    addi sp, sp, 16
    ret
"""


def _registry(fn) -> HelperRegistry:
    registry = HelperRegistry()
    registry.register(0x42, "test_helper", fn)
    return registry


def _abi_code(target: str, tmp_path: Path) -> bytes:
    return thumb(THUMB_ABI_CALLER) if target == "armv7m" else rv32(RV32_ABI_CALLER, tmp_path)


@pytest.mark.parametrize("target", ["armv7m", "rv32imc"])
def test_helper_round_trip(target, tmp_path):
    seen: list[list[int]] = []

    def multiply(call: HelperCall) -> int:
        seen.append(list(call.regs))
        call.mem.write(CTX_BASE + 4, b"\xaa\xbb")  # checked memory, in ctx
        call.regs[3] = 0x1234  # a helper may leave values in r1..r5
        call.runtime.global_store[1] = call.arg(1) + call.arg(2)
        return (call.arg(1) * call.arg(2)) | 0x5_0000_0000  # femto keeps the low 32 bits

    runtime = Runtime()
    result = run_blob_code(
        target,
        _abi_code(target, tmp_path),
        0,
        image(),
        imports=[0x42],
        helpers=_registry(multiply),
        runtime=runtime,
        profile="femto",
        budget=None,
    )
    assert result.status == 0
    assert result.result & 0xFFFF_FFFF == 7 * 35
    assert seen[0][1:3] == [7, 35]
    assert result.memory["ctx"] == CTX[:4] + b"\xaa\xbb" + CTX[6:]
    assert runtime.global_store == {1: 42}
    assert result.extra["helper_calls"] == 1
    assert result.insns > 20


@pytest.mark.parametrize("target", ["armv7m", "rv32imc"])
def test_rfc_helpers_return_64_bits_and_femto_clobbers_the_high_word(target, tmp_path):
    def wide(call: HelperCall) -> int:
        return 0x1122_3344_5566_7788

    code = _abi_code(target, tmp_path)
    rfc = run_blob_code(target, code, 0, image(), [0x42], _registry(wide), Runtime(), "rfc")
    assert rfc.result == 0x1122_3344_5566_7788
    femto = run_blob_code(target, code, 0, image(), [0x42], _registry(wide), Runtime(), "femto")
    assert femto.result & 0xFFFF_FFFF == 0x5566_7788
    assert femto.result >> 32 == CLOBBER  # code must not rely on r1 after a femto helper


@pytest.mark.parametrize("target", ["armv7m", "rv32imc"])
def test_helper_faults_set_vm_status(target, tmp_path):
    def outside(call: HelperCall) -> int:
        call.mem.write(RODATA_BASE, b"x")  # read-only region: ILLEGAL_MEM
        return 0

    def explicit(call: HelperCall) -> int:
        raise HelperFault(Status.ILLEGAL_CALL)

    code = _abi_code(target, tmp_path)
    for fn, status in ((outside, Status.ILLEGAL_MEM), (explicit, Status.ILLEGAL_CALL)):
        result = run_blob_code(target, code, 0, image(), [0x42], _registry(fn), Runtime())
        assert result.status == status
        assert result.result == 99
        assert result.memory["rodata"] == b"rodata!!"


def test_missing_helper_is_a_helper_error():
    with pytest.raises(HelperError, match="0x42"):
        run_blob_code("armv7m", thumb(THUMB_ABI_CALLER), 0, image(), [0x42], HelperRegistry())


def test_entry_must_return_vm_status():
    code = thumb("movs r1, #0; str r1, [r0, #40]; str r1, [r0, #44]; movs r0, #3; bx lr")
    with pytest.raises(EmulationError, match="vm->status"):
        run_blob_code("armv7m", code, 0, image())


def test_vm_struct_is_laid_out_per_abi_v1():
    code = thumb(
        """
        ldr r1, [r0, #8]
        str r1, [r0, #40]
        ldr r1, [r0, #4]
        str r1, [r0, #44]
        ldr r1, [r0, #0]
        ldr r2, [r1, #36]
        ldr r3, [r1, #40]
        add r2, r3
        str r2, [r0, #48]
        movs r0, #0
        bx lr
        """
    )
    harness = UnicornHarness("armv7m", code, image())
    vm = harness.setup_abi_vm([], budget=123)
    harness.call(0, [vm])
    status, result, remaining = harness.read_vm()
    assert (status, remaining) == (0, 123)
    assert result == 5 << 32 | STACK_TOP  # 5 regions: stack, data, rodata, ctx, one host
    regs0 = struct.unpack("<I", harness.uc.mem_read(vm + layout.VM_REGS, 4))[0]
    assert regs0 == CTX_BASE + len(CTX)  # region[3] (ctx): start + len


def test_native_helpers_take_c_arguments():
    def add3(call: HelperCall) -> int:
        return call.arg(1) + call.arg(2) + call.arg(3)

    stub = layout.native_stub_address(0x42) | 1
    code = thumb(
        f"push {{r4, lr}}; movs r0, #1; movs r1, #2; movs r2, #3; ldr r4, =({stub}); "
        "blx r4; adds r0, #100; pop {r4, pc}"
    )
    result = run_native("armv7m", code, 0, image(), helpers=_registry(add3))
    assert result.result & 0xFFFF_FFFF == 106
    assert result.extra["helper_calls"] == 1


# ---- isolation ------------------------------------------------------------------------------


STORE = "str r1, [r0]; bx lr"
LOAD = "ldr r0, [r0]; bx lr"


@pytest.mark.parametrize(
    ("src", "address", "message"),
    [
        (STORE, CTX_BASE + len(CTX), "write of 4 bytes at 0x20300010"),
        (STORE, CTX_BASE + len(CTX) - 2, "write of 4 bytes at 0x2030000e"),
        (STORE, RODATA_BASE, "write of 4 bytes at 0x20200000"),
        (STORE, HOST_BASE, "write of 4 bytes at 0x20400000"),
        (STORE, CODE_BASE, "write"),
        (STORE, 0x3000_0000, "write of 4 bytes at 0x30000000"),
        (STORE, DATA_BASE + 8, "write of 4 bytes at 0x20100008"),
        (LOAD, CTX_BASE + len(CTX), "read of 4 bytes at 0x20300010"),
        (LOAD, layout.HELPER_STUB_BASE, "read of 4 bytes at 0xf000000"),
        (LOAD, layout.VM_ADDR, "read of 4 bytes at 0x10000000"),  # no vm in native mode
        ("bx r0", CTX_BASE | 1, "fetch from non-executable memory"),
        ("bx r0", 0x3000_0001, "fetch from unmapped memory"),
    ],
)
def test_accesses_outside_what_code_may_touch_are_isolation_failures(src, address, message):
    harness = UnicornHarness("armv7m", thumb(src), image())
    with pytest.raises(EmulationError, match=message) as caught:
        harness.call(0, [address, 0x55])
    assert "by code at 0x8000000" in str(caught.value) or "fetch" in message


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        (CTX_BASE + len(CTX) - 4, True),
        (DATA_BASE + 4, True),
        (NATIVE_STACK_BASE + 64, True),
        (layout.VM_ADDR + layout.VM_STATUS, True),
        (layout.VM_ADDR + layout.VM_REGS + 80, True),
        (layout.VM_ADDR + layout.VM_BRANCHES_REMAINING, True),
        (layout.VM_ADDR + layout.VM_REGIONS, False),
        (layout.VM_ADDR + layout.VM_RESERVED, False),
        (layout.REGION_TABLE_ADDR, False),
        (layout.HELPER_TABLE_ADDR, False),
        (layout.FC_ADDR, False),
    ],
)
def test_translated_code_may_write_its_regions_stack_and_vm_outputs_only(address, ok):
    harness = UnicornHarness("armv7m", thumb(STORE), image())
    harness.setup_abi_vm([], None)
    if ok:
        harness.call(0, [address, 0x55])
    else:
        with pytest.raises(EmulationError, match="isolation failure: write"):
            harness.call(0, [address, 0x55])


def test_rv32_isolation(tmp_path):
    code = rv32("sw a1, 0(a0)\nret", tmp_path)
    harness = UnicornHarness("rv32imc", code, image())
    harness.call(0, [CTX_BASE, 1])
    with pytest.raises(EmulationError, match="write of 4 bytes at 0x20300010 by code at 0x8000000"):
        harness.call(0, [CTX_BASE + len(CTX), 1])


def test_invalid_instruction_is_an_emulation_error_with_the_pc():
    code = thumb("nop; udf #0")
    with pytest.raises(EmulationError, match="0x8000002"):
        UnicornHarness("armv7m", code, image()).call(0, [])


def test_jump_into_the_stub_area_without_a_helper():
    code = thumb(f"ldr r1, =({layout.HELPER_STUB_BASE + 0x100 | 1}); bx r1")
    with pytest.raises(EmulationError, match="holds no helper"):
        UnicornHarness("armv7m", code, image()).call(0, [])


@pytest.mark.parametrize("target", ["armv7m", "rv32imc"])
def test_runaway_loop_hits_the_instruction_limit(target, tmp_path):
    code = thumb("b .") if target == "armv7m" else rv32("j .", tmp_path)
    harness = UnicornHarness(target, code, image(), insn_limit=5_000)
    with pytest.raises(EmulationError, match="instruction limit of 5000"):
        harness.call(0, [])


def test_python_errors_in_helpers_surface_unchanged():
    def broken(call: HelperCall) -> int:
        raise ZeroDivisionError("helper bug")

    with pytest.raises(ZeroDivisionError, match="helper bug"):
        run_blob_code("armv7m", thumb(THUMB_ABI_CALLER), 0, image(), [0x42], _registry(broken))
