"""The C runtime's blob checker and import resolver, compiled for the host and called through
ctypes, against femtojit/blob.py: the C checker must refuse every blob the Python reader
refuses, and accept every blob it accepts unless a rule only the C side knows is broken."""

from __future__ import annotations

import ctypes
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import FUZZ_EXAMPLES, require_tool
from hypothesis import given, settings
from hypothesis import strategies as st

from femtojit.blob import TARGET_IDS, Blob, parse_blob
from femtojit.errors import LoadError
from femtojit.status import Status

RUNTIME = Path(__file__).resolve().parents[1] / "femtojit" / "runtime"
E_ARG, E_MAGIC, E_VERSION, E_TARGET, E_HEADER, E_BOUNDS = -16, -17, -18, -19, -20, -21
E_ENTRY, E_ALIGN, E_CRC, E_SPACE = -22, -23, -24, -25


class HelperEntry(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("fn", ctypes.c_void_p)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    gcc = require_tool("gcc")
    out = tmp_path_factory.mktemp("host-runtime") / "libfemtojit.so"
    subprocess.run(
        [gcc, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2", "-shared",
         "-fPIC", str(RUNTIME / "femtojit.c"), "-o", str(out)],
        check=True,
    )  # fmt: skip
    lib = ctypes.CDLL(str(out))
    lib.fjit_blob_check.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint8]
    lib.fjit_blob_check.restype = ctypes.c_int32
    lib.fjit_crc32.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.fjit_crc32.restype = ctypes.c_uint32
    lib.fjit_blob_import_count.argtypes = [ctypes.c_void_p]
    lib.fjit_blob_import_count.restype = ctypes.c_uint32
    lib.fjit_resolve_imports.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(HelperEntry),
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_size_t,
    ]
    lib.fjit_resolve_imports.restype = ctypes.c_int32
    lib.fjit_container_init.restype = ctypes.c_int32
    return lib


def check(lib, raw: bytes, target: int, misalign: int = 0) -> int:
    """fjit_blob_check on a copy of raw placed `misalign` bytes past an aligned address."""
    buf = ctypes.create_string_buffer(raw + b"\0" * 8, len(raw) + 8 + misalign)
    ctypes.memmove(ctypes.addressof(buf) + misalign, raw, len(raw))
    assert ctypes.addressof(buf) % 8 == 0
    return lib.fjit_blob_check(ctypes.addressof(buf) + misalign, len(raw), target)


def sample_blob(target: str = "armv7m", **changes) -> Blob:
    fields = dict(
        target=target,
        profile="femto",
        code=bytes(range(40)),
        entry_offset=8,
        data=b"data!",
        rodata=b"read-only bytes",
        imports=[0x10, 0x02, 0x10],
        frame_size=32,
        budget=200,
    )
    fields.update(changes)
    return Blob(**fields)


@pytest.mark.fuzz
@given(st.binary(max_size=600))
@settings(max_examples=FUZZ_EXAMPLES or 50, deadline=None)
def test_crc32_is_zlibs(lib, data):
    assert lib.fjit_crc32(data, len(data)) == zlib.crc32(data)


@pytest.mark.parametrize("target", list(TARGET_IDS))
def test_valid_blob_passes_for_its_own_target_only(lib, target):
    raw = sample_blob(target).to_bytes()
    for name, tid in TARGET_IDS.items():
        assert check(lib, raw, tid) == (0 if name == target else E_TARGET)
    assert check(lib, raw, 0) == E_TARGET  # what a host (FJIT_TARGET_NATIVE 0) expects


def test_empty_sections_and_no_imports(lib):
    raw = sample_blob(data=b"", rodata=b"", imports=[], code=b"\x70\x47", entry_offset=0)
    assert check(lib, raw.to_bytes(), 1) == 0


def put32(raw: bytes, offset: int, value: int) -> bytes:
    return raw[:offset] + struct.pack("<I", value) + raw[offset + 4 :]


ARM = TARGET_IDS["armv7m"]
CASES = {
    "short": (lambda r: r[:63], E_BOUNDS),
    "magic": (lambda r: b"fjit" + r[4:], E_MAGIC),
    "version": (lambda r: r[:4] + b"\x01\x01" + r[6:], E_VERSION),
    "unknown target id": (lambda r: r[:6] + b"\x09" + r[7:], E_TARGET),
    "profile": (lambda r: r[:7] + b"\x02" + r[8:], E_HEADER),
    "flags": (lambda r: put32(r, 8, 2), E_HEADER),
    "header size": (lambda r: put32(r, 12, 128), E_HEADER),
    "code before header": (lambda r: put32(r, 16, 32), E_BOUNDS),
    "code past end": (lambda r: put32(r, 20, len(r)), E_BOUNDS),
    "data past end": (lambda r: put32(r, 32, 0xFFFF_FFF0), E_BOUNDS),
    "rodata offset wraps": (lambda r: put32(r, 36, 0xFFFF_FFFC), E_BOUNDS),
    "imports count wraps": (lambda r: put32(r, 48, 0x4000_0001), E_BOUNDS),
    "code offset unaligned": (lambda r: put32(r, 16, 66), E_ALIGN),
    "imports offset unaligned": (lambda r: put32(r, 44, struct.unpack_from("<I", r, 44)[0] - 2),
                                 E_ALIGN),  # fmt: skip
    "entry at end": (lambda r: put32(r, 24, 40), E_ENTRY),
    "entry odd": (lambda r: put32(r, 24, 9), E_ENTRY),
    "crc field": (lambda r: put32(r, 60, struct.unpack_from("<I", r, 60)[0] ^ 1), E_CRC),
    "body byte": (lambda r: r[:100] + bytes([r[100] ^ 0x80]) + r[101:], E_CRC),
    "appended byte": (lambda r: r + b"\0", E_CRC),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_damage_has_its_status(lib, case):
    damage, expected = CASES[case]
    raw = damage(sample_blob().to_bytes())
    assert check(lib, raw, ARM) == expected


def test_code_must_be_aligned_in_memory(lib):
    raw = sample_blob().to_bytes()
    assert check(lib, raw, ARM, misalign=4) == 0
    assert check(lib, raw, ARM, misalign=2) == E_ALIGN


def test_xtensa_entry_must_be_word_aligned(lib):
    raw = sample_blob("xtensa-lx106", entry_offset=6).to_bytes()
    assert check(lib, raw, TARGET_IDS["xtensa-lx106"]) == E_ENTRY
    raw = sample_blob("xtensa-lx106", entry_offset=8).to_bytes()
    assert check(lib, raw, TARGET_IDS["xtensa-lx106"]) == 0


def c_only_rule_broken(raw: bytes) -> bool:
    """Rules fjit_blob_check has beyond femtojit.blob.parse_blob."""
    target, flags = raw[6], struct.unpack_from("<I", raw, 8)[0]
    entry, imports_off = struct.unpack_from("<I", raw, 24)[0], struct.unpack_from("<I", raw, 44)[0]
    alignment = 4 if target in (3, 4) else 2
    return bool(flags & ~1) or entry % alignment != 0 or imports_off % 4 != 0 or target != ARM


@pytest.mark.fuzz
@given(
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 40),
)
@settings(max_examples=FUZZ_EXAMPLES or 200, deadline=None)
def test_checker_agrees_with_the_python_reader(lib, edits, cut):
    raw = bytearray(sample_blob().to_bytes())
    for offset, value in edits:
        if offset < len(raw):
            raw[offset] = value
    raw = bytes(raw[: len(raw) - cut])
    status = check(lib, raw, ARM)
    try:
        parse_blob(raw)
        python_ok = True
    except LoadError:
        python_ok = False
    if status == 0:
        assert python_ok
    elif python_ok:
        assert c_only_rule_broken(raw), status


def resolve(lib, raw: bytes, table: dict[int, int], out_len: int):
    blob = ctypes.create_string_buffer(raw, len(raw))
    entries = (HelperEntry * max(len(table), 1))(*[HelperEntry(k, v) for k, v in table.items()])
    out = (ctypes.c_void_p * max(out_len, 1))()
    status = lib.fjit_resolve_imports(blob, entries, len(table), out, out_len)
    return status, [out[i] for i in range(out_len)]


def test_imports_resolve_in_order(lib):
    raw = sample_blob().to_bytes()
    assert lib.fjit_blob_import_count(raw) == 3
    status, out = resolve(lib, raw, {0x02: 0x2000, 0x10: 0x1000, 0x99: 0x9900}, 3)
    assert (status, out) == (0, [0x1000, 0x2000, 0x1000])


def test_unknown_import_is_an_illegal_call(lib):
    raw = sample_blob().to_bytes()
    status, _ = resolve(lib, raw, {0x10: 0x1000}, 3)
    assert status == Status.ILLEGAL_CALL
    status, _ = resolve(lib, raw, {0x10: 0x1000, 0x02: 0}, 3)  # a NULL helper is no helper
    assert status == Status.ILLEGAL_CALL


def test_import_array_too_short(lib):
    status, _ = resolve(lib, sample_blob().to_bytes(), {0x10: 1, 0x02: 2}, 2)
    assert status == E_SPACE
    status, _ = resolve(lib, sample_blob(imports=[]).to_bytes(), {}, 0)
    assert status == 0


def test_host_cannot_run_translations(lib):
    """On a 64-bit host the vm layout is not ABI v1: init refuses instead of running."""
    raw = sample_blob().to_bytes()
    container = ctypes.create_string_buffer(4096)
    stack = ctypes.create_string_buffer(512)
    ram = ctypes.create_string_buffer(64)
    status = lib.fjit_container_init(
        container, raw, ctypes.c_size_t(len(raw)), ram, ctypes.c_size_t(64), stack, None, None
    )
    assert status == E_TARGET
