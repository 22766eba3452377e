"""The C runtime inside real firmware: Cortex-M4 (Thumb-2) and RV32IMC images built by the
targets' gcc, run under Unicorn. Hand-written ABI v1 code (tests/firmware/probe_*.S) stands
in for translations here, so these tests check the loader, not a backend."""

from __future__ import annotations

import struct

import pytest
from firmware.fwkit import ARCHES, HERE, Firmware, assemble_code, build_firmware

from femtojit import memmap
from femtojit.blob import Blob
from femtojit.status import Status

TARGETS = ("armv7m", "rv32imc")
FC_VALUE = 0x5EED
DATA_IMAGE = struct.pack("<II", 0x1000, 7)
RODATA_IMAGE = struct.pack("<II", 0x22, 0x33)
SUM, READ, WRITE = 0x10, 0x11, 0x12  # fw_main.c's helpers

# loader errors (femtojit.h)
E_ARG, E_MAGIC, E_VERSION, E_TARGET, E_HEADER, E_BOUNDS = -16, -17, -18, -19, -20, -21
E_ENTRY, E_ALIGN, E_CRC, E_SPACE, E_OVERLAP, E_CODE = -22, -23, -24, -25, -26, -27


@pytest.fixture(scope="module", params=TARGETS)
def kit(request, tmp_path_factory):
    """(firmware, code bytes, symbol offsets in the code) for one target."""
    arch = ARCHES[request.param]
    work = tmp_path_factory.mktemp(f"fw-{arch.name}")
    code, offsets = assemble_code(arch, HERE / f"probe_{arch.name}.S", work)
    firmware = Firmware(arch, build_firmware(arch, work))
    return firmware, code, offsets


def probe_blob(kit, **changes) -> Blob:
    firmware, code, offsets = kit
    fields = dict(
        target=firmware.arch.name,
        profile="femto",
        code=code,
        entry_offset=offsets["probe"],
        data=DATA_IMAGE,
        rodata=RODATA_IMAGE,
        imports=[SUM],
        frame_size=24,
        budget=200,
    )
    fields.update(changes)
    return Blob(**fields)


def guard_blob(kit, helper: int) -> Blob:
    return probe_blob(kit, entry_offset=kit[2]["guard"], imports=[helper])


def regions_from_dump(dump: bytes, count: int) -> list[tuple[int, int, int]]:
    return [struct.unpack_from("<III", dump, 40 + 12 * i) for i in range(count)]


def test_probe_sees_what_the_loader_promised(kit):
    firmware, _, _ = kit
    blob = probe_blob(kit)
    raw = blob.to_bytes()
    ctx = bytes(range(128))
    out, uc = firmware.run(
        blob=raw,
        ctx=ctx,
        runs=2,
        budget=77,
        memory={memmap.STACK_BASE: b"\x77" * 512, memmap.DATA_BASE: b"\xee" * 64},
    )
    assert (out.check_status, out.resolve_status, out.init_status) == (0, 0, 0)
    assert out.stage == 7 and out.statuses[:2] == [0, 0] and out.returned == 0
    assert out.n_imports == 1 and out.default_budget == 200
    # result = helper(data[0], rodata[0]) | ctx_len << 32; data[0] grows by one per run
    helper_value = (0x1000 + 3 * 0x22 + FC_VALUE, 0x1001 + 3 * 0x22 + FC_VALUE)
    assert out.results[:2] == [v | len(ctx) << 32 for v in helper_value]

    dump = bytes(uc.mem_read(memmap.CTX_BASE, 40 + 4 * 12))
    container = firmware.address("fw_container")
    vm = struct.unpack_from("<10I", dump)
    assert vm == (
        container + 136,  # regions: the table right after the vm in fjit_container_t
        4,
        memmap.STACK_TOP,
        memmap.CTX_BASE,
        len(ctx),
        firmware.address("fw_helpers"),
        firmware.address("fw_fc_value"),
        77,  # branches_remaining = the budget given to fjit_execute_ctx
        0,
        0,
    )
    rodata_offset = struct.unpack_from("<I", raw, 36)[0]
    assert regions_from_dump(dump, 4) == [
        (memmap.STACK_BASE, 512, 3),
        (memmap.DATA_BASE, len(DATA_IMAGE), 3),
        (memmap.CODE_BASE + rodata_offset, len(RODATA_IMAGE), 1),  # read in place
        (memmap.CTX_BASE, len(ctx), 3),
    ]
    # .data was copied once and kept between runs; the RAM past it was left alone
    data_ram = bytes(uc.mem_read(memmap.DATA_BASE, 64))
    assert data_ram[:8] == struct.pack("<II", 0x1002, 7)
    assert data_ram[8:] == b"\xee" * 56
    # each run starts from a zeroed stack; the code's store at stack_top - 4 is there
    stack = bytes(uc.mem_read(memmap.STACK_BASE, 512))
    assert stack == bytes(508) + struct.pack("<I", 0xCAFEBABE)
    # the helper table holds fw_helper_sum for import 0x10
    helpers = struct.unpack("<I", uc.mem_read(firmware.address("fw_helpers"), 4))[0]
    assert helpers & ~1 == firmware.address("fw_helper_sum")


def test_host_region_joins_the_table(kit):
    firmware, _, _ = kit
    out, uc = firmware.run(
        blob=probe_blob(kit).to_bytes(),
        ctx=bytes(128),
        host_addr=memmap.HOST_BASE,
        host_len=24,
        host_flags=1,
    )
    assert out.add_region_status == 4 and out.statuses[0] == 0
    dump = bytes(uc.mem_read(memmap.CTX_BASE, 40 + 5 * 12))
    assert struct.unpack_from("<I", dump, 4)[0] == 5
    assert regions_from_dump(dump, 5)[4] == (memmap.HOST_BASE, 24, 1)


# (helper, address the second call gets, host region (start, len, flags) or None,
#  expected status, expected result)
FIRST_WORD = 0x44332211  # ctx[0..4) as the read helper returns it
GUARD_CASES = {
    "read ctx": (READ, memmap.CTX_BASE + 8, None, 0, 0x0B0A0908),
    "read unmapped": (READ, 0x1234_5678, None, Status.ILLEGAL_MEM, FIRST_WORD),
    "read rodata": (READ, "rodata", None, 0, 0x22),
    "read past stack end": (READ, memmap.STACK_TOP - 2, None, Status.ILLEGAL_MEM, FIRST_WORD),
    "read last data word": (READ, memmap.DATA_BASE + 4, None, 0, 7),
    "read past data size": (READ, memmap.DATA_BASE + 5, None, Status.ILLEGAL_MEM, FIRST_WORD),
    "read the vm": (READ, "fw_container", None, Status.ILLEGAL_MEM, FIRST_WORD),
    "read host": (READ, memmap.HOST_BASE + 4, (memmap.HOST_BASE, 8, 1), 0, 0x08070605),
    "write ctx": (WRITE, memmap.CTX_BASE + 12, None, 0, 1),
    "write stack": (WRITE, memmap.STACK_BASE, None, 0, 1),
    "write rodata": (WRITE, "rodata", None, Status.ILLEGAL_MEM, 1),
    "write read-only host": (
        WRITE,
        memmap.HOST_BASE,
        (memmap.HOST_BASE, 8, 1),
        Status.ILLEGAL_MEM,
        1,
    ),
    # rodata comes first in the table, so a later writable alias of it does not help
    "write rodata aliased by a writable host region": (
        WRITE,
        "rodata",
        ("rodata", 8, 3),
        Status.ILLEGAL_MEM,
        1,
    ),
}


@pytest.mark.parametrize("case", list(GUARD_CASES))
def test_helper_checks_and_faults(kit, case):
    """A helper checks a pointer with fjit_vm_check_access and reports a fault through
    FJIT_VM_FROM_REGS; the code stops with it, result = r0 before the call."""
    firmware, _, _ = kit
    helper, target, host, status, result = GUARD_CASES[case]
    blob = guard_blob(kit, helper)
    raw = blob.to_bytes()
    rodata_addr = memmap.CODE_BASE + struct.unpack_from("<I", raw, 36)[0]

    def resolve(addr):
        if addr == "rodata":
            return rodata_addr
        if isinstance(addr, str):
            return firmware.address(addr)
        return addr

    ctx = struct.pack("<II", 0x44332211, resolve(target)) + bytes(range(8, 32))
    host_inputs = {}
    memory = {memmap.HOST_BASE: bytes(range(1, 9))}
    if host is not None:
        start, length, flags = host
        host_inputs = dict(host_addr=resolve(start), host_len=length, host_flags=flags)
    out, uc = firmware.run(blob=raw, ctx=ctx, memory=memory, **host_inputs)
    assert out.stage == 7, out
    assert (out.statuses[0], out.results[0]) == (status, result)
    if helper == WRITE and status == 0:
        assert uc.mem_read(resolve(target), 4) == b"\xa5" * 4
    if helper == WRITE:  # the first call's write to ctx[0..4) went through
        assert uc.mem_read(memmap.CTX_BASE, 4) == b"\xa5" * 4


def corrupt(raw: bytes, offset: int, value: bytes) -> bytes:
    return raw[:offset] + value + raw[offset + len(value) :]


BLOB_ERRORS = {
    "magic": (lambda raw: corrupt(raw, 0, b"XJIT"), E_MAGIC),
    "abi version": (lambda raw: corrupt(raw, 4, b"\x02\x00"), E_VERSION),
    "header size": (lambda raw: corrupt(raw, 12, struct.pack("<I", 60)), E_HEADER),
    "profile": (lambda raw: corrupt(raw, 7, b"\x05"), E_HEADER),
    "unknown flag": (lambda raw: corrupt(raw, 8, struct.pack("<I", 0x81)), E_HEADER),
    "code size": (lambda raw: corrupt(raw, 20, struct.pack("<I", 0x10000)), E_BOUNDS),
    "truncated": (lambda raw: raw[:-4], E_BOUNDS),
    "header only": (lambda raw: raw[:40], E_BOUNDS),
    "entry outside code": (lambda raw: corrupt(raw, 24, struct.pack("<I", 4096)), E_ENTRY),
    "odd entry": (lambda raw: corrupt(raw, 24, struct.pack("<I", 5)), E_ENTRY),
    "code offset": (lambda raw: corrupt(raw, 16, struct.pack("<I", 66)), E_ALIGN),
    "flipped code bit": (lambda raw: corrupt(raw, 70, bytes([raw[70] ^ 0x10])), E_CRC),
    "flipped data bit": (lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]), E_CRC),
}


@pytest.mark.parametrize("case", list(BLOB_ERRORS))
def test_damaged_blob_is_refused(kit, case):
    firmware, _, _ = kit
    damage, expected = BLOB_ERRORS[case]
    out, _ = firmware.run(blob=damage(probe_blob(kit).to_bytes()), ctx=bytes(128))
    assert (out.check_status, out.init_status, out.returned) == (expected,) * 3
    assert out.stage == 1


def test_blob_for_another_target_is_refused(kit):
    firmware, _, _ = kit
    other = "rv32imc" if firmware.arch.name == "armv7m" else "armv7m"
    out, _ = firmware.run(blob=probe_blob(kit, target=other).to_bytes(), ctx=bytes(128))
    assert (out.check_status, out.init_status) == (E_TARGET, E_TARGET)


def test_misaligned_blob_is_refused(kit):
    firmware, _, _ = kit
    raw = probe_blob(kit).to_bytes()
    out, _ = firmware.run(blob=raw, blob_addr=memmap.CODE_BASE + 2, ctx=bytes(128))
    assert (out.check_status, out.init_status) == (E_ALIGN, E_ALIGN)


def test_unknown_import_is_an_illegal_call(kit):
    firmware, _, _ = kit
    out, _ = firmware.run(blob=probe_blob(kit, imports=[SUM, 0x99]).to_bytes(), ctx=bytes(8))
    assert out.resolve_status == Status.ILLEGAL_CALL and out.stage == 2


INIT_ERRORS = {
    "data RAM too small": (dict(data_ram_len=7), "init_status", E_SPACE),
    "misaligned stack": (dict(stack_addr=memmap.STACK_BASE + 2), "init_status", E_ALIGN),
    "stack over .data": (dict(stack_addr=memmap.DATA_BASE), "init_status", E_OVERLAP),
    "stack over the container": (dict(stack_addr="fw_container"), "init_status", E_OVERLAP),
    "ctx over the stack": (dict(ctx_addr=memmap.STACK_BASE + 256), "exec", E_OVERLAP),
    "ctx over .data": (dict(ctx_addr=memmap.DATA_BASE), "exec", E_OVERLAP),
    "ctx over the container": (dict(ctx_addr="fw_container"), "exec", E_OVERLAP),
    "ctx over the helper table": (dict(ctx_addr="fw_helpers"), "exec", E_OVERLAP),
    "ctx over the code": (dict(ctx_addr=memmap.CODE_BASE + 64), "exec", E_OVERLAP),
    "writable host region over the container": (
        dict(host_addr="fw_container", host_len=16, host_flags=3),
        "add_region_status",
        E_OVERLAP,
    ),
    "host region with unknown flags": (
        dict(host_addr=memmap.HOST_BASE, host_len=16, host_flags=4),
        "add_region_status",
        E_ARG,
    ),
}


@pytest.mark.parametrize("case", list(INIT_ERRORS))
def test_unsafe_layout_is_refused(kit, case):
    """Regions 0-3 must be disjoint, and no writable region may cover the vm, the region
    table, the helper table or the code: a store there would undo the isolation."""
    firmware, _, _ = kit
    inputs, field_name, expected = INIT_ERRORS[case]
    inputs = {k: firmware.address(v) if isinstance(v, str) else v for k, v in inputs.items()}
    out, uc = firmware.run(
        blob=probe_blob(kit).to_bytes(),
        ctx_len=128,
        memory={memmap.STACK_BASE: b"\x77" * 512},
        **inputs,
    )
    got = out.statuses[0] if field_name == "exec" else out.fields[field_name]
    assert got == expected
    assert out.returned == expected
    # refused before running: the stack was neither cleared nor written by the probe
    assert bytes(uc.mem_read(memmap.STACK_BASE, 512)) == b"\x77" * 512


def test_readonly_host_region_may_alias_the_container(kit):
    firmware, _, _ = kit
    out, _ = firmware.run(
        blob=probe_blob(kit).to_bytes(),
        ctx=bytes(128),
        host_addr=firmware.address("fw_container"),
        host_len=16,
        host_flags=1,
    )
    assert out.add_region_status == 4 and out.statuses[0] == 0
