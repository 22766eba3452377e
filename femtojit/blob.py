"""The blob: a translated program as one file (ABI version 1).

All fields are little-endian. The layout is mirrored by `femtojit/runtime/femtojit.h`
(`fjit_blob_header_t`) and described byte by byte in docs/abi.md.

    off  size  field
    0    4     magic "FJIT"
    4    2     abi_version (1)
    6    1     target (1 armv7m, 2 rv32imc, 3 xtensa-lx106 call0, 4 xtensa-esp32 windowed)
    7    1     profile (0 femto, 1 rfc)
    8    4     flags (bit 0: budget checks compiled in)
    12   4     header_size (64)
    16   4     code_offset   (4-byte aligned)
    20   4     code_size
    24   4     entry_offset  (within the code; Thumb entry addresses get bit 0 set by the loader)
    28   4     data_offset
    32   4     data_size     (initial .data image, .bss included; copied to RAM by the loader)
    36   4     rodata_offset
    40   4     rodata_size   (may stay in flash: the code only reads it)
    44   4     imports_offset
    48   4     n_imports     (u32 helper ids, in import order: vm->helpers has one entry each)
    52   4     frame_size    (bytes of native stack the code needs at most, incl. callee saves)
    56   4     default_budget (the budget to use when the host has no better idea)
    60   4     crc32 of bytes [64, total size) (zlib.crc32)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

from femtojit.errors import LoadError

MAGIC = b"FJIT"
ABI_VERSION = 1
HEADER_SIZE = 64
FLAG_BUDGET = 1

PROFILE_IDS = {"femto": 0, "rfc": 1}
TARGET_IDS = {"armv7m": 1, "rv32imc": 2, "xtensa-lx106": 3, "xtensa-esp32": 4}

_HEADER = struct.Struct("<4sHBBIIIIIIIIIIIIII")
assert _HEADER.size == HEADER_SIZE


class BlobHeader(NamedTuple):
    """The header fields in file order (see the table above), as stored: unchecked."""

    magic: bytes
    version: int
    target_id: int
    profile_id: int
    flags: int
    header_size: int
    code_off: int
    code_size: int
    entry: int
    data_off: int
    data_size: int
    rodata_off: int
    rodata_size: int
    imports_off: int
    n_imports: int
    frame_size: int
    budget: int
    crc: int


def read_header(raw: bytes) -> BlobHeader:
    """The header of a blob of at least HEADER_SIZE bytes, without any checks (parse_blob
    checks; code that just wrote the blob can trust it)."""
    return BlobHeader._make(_HEADER.unpack_from(raw))


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


@dataclass
class Blob:
    target: str
    profile: str
    code: bytes
    entry_offset: int
    data: bytes = b""
    rodata: bytes = b""
    imports: list[int] = field(default_factory=list)
    frame_size: int = 0
    budget: int | None = None  # compiled-in budget checks use vm->branches_remaining

    @property
    def flags(self) -> int:
        return FLAG_BUDGET if self.budget is not None else 0

    def to_bytes(self) -> bytes:
        code_off = HEADER_SIZE
        data_off = _align(code_off + len(self.code), 8)
        rodata_off = _align(data_off + len(self.data), 8)
        imports_off = _align(rodata_off + len(self.rodata), 4)
        end = imports_off + 4 * len(self.imports)
        body = bytearray(end - HEADER_SIZE)

        def put(off: int, data: bytes) -> None:
            body[off - HEADER_SIZE : off - HEADER_SIZE + len(data)] = data

        put(code_off, self.code)
        put(data_off, self.data)
        put(rodata_off, self.rodata)
        put(imports_off, b"".join(struct.pack("<I", i) for i in self.imports))
        header = _HEADER.pack(
            MAGIC,
            ABI_VERSION,
            TARGET_IDS[self.target],
            PROFILE_IDS[self.profile],
            self.flags,
            HEADER_SIZE,
            code_off,
            len(self.code),
            self.entry_offset,
            data_off,
            len(self.data),
            rodata_off,
            len(self.rodata),
            imports_off,
            len(self.imports),
            self.frame_size,
            self.budget or 0,
            zlib.crc32(bytes(body)),
        )
        return header + bytes(body)


def parse_blob(raw: bytes) -> Blob:
    """Read a blob, checking every field against the file (LoadError on any lie)."""
    if len(raw) < HEADER_SIZE:
        raise LoadError(f"blob is {len(raw)} bytes, shorter than its {HEADER_SIZE}-byte header")
    h = read_header(raw)
    if h.magic != MAGIC:
        raise LoadError(f"not a femtojit blob (magic {h.magic!r}, expected {MAGIC!r})")
    if h.version != ABI_VERSION:
        raise LoadError(f"blob ABI version {h.version}, this femtojit reads {ABI_VERSION}")
    if h.header_size != HEADER_SIZE:
        raise LoadError(f"blob header_size {h.header_size}, expected {HEADER_SIZE}")
    targets = {v: k for k, v in TARGET_IDS.items()}
    profiles = {v: k for k, v in PROFILE_IDS.items()}
    if h.target_id not in targets:
        raise LoadError(f"blob has unknown target id {h.target_id}")
    if h.profile_id not in profiles:
        raise LoadError(f"blob has unknown profile id {h.profile_id}")
    for name, off, size in (
        ("code", h.code_off, h.code_size),
        ("data", h.data_off, h.data_size),
        ("rodata", h.rodata_off, h.rodata_size),
        ("imports", h.imports_off, 4 * h.n_imports),
    ):
        if off < HEADER_SIZE or off + size > len(raw):
            raise LoadError(
                f"blob {name} [{off}, {off + size}) lies outside the {len(raw)}-byte file"
            )
    if h.code_off % 4:
        raise LoadError(f"blob code offset {h.code_off} is not 4-byte aligned")
    if h.entry >= max(h.code_size, 1):
        raise LoadError(f"blob entry offset {h.entry} is outside the {h.code_size}-byte code")
    if zlib.crc32(raw[HEADER_SIZE:]) != h.crc:
        raise LoadError("blob checksum mismatch (corrupted or truncated)")
    imports = list(struct.unpack_from(f"<{h.n_imports}I", raw, h.imports_off))
    return Blob(
        target=targets[h.target_id],
        profile=profiles[h.profile_id],
        code=raw[h.code_off : h.code_off + h.code_size],
        entry_offset=h.entry,
        data=raw[h.data_off : h.data_off + h.data_size],
        rodata=raw[h.rodata_off : h.rodata_off + h.rodata_size],
        imports=imports,
        frame_size=h.frame_size,
        budget=h.budget if h.flags & FLAG_BUDGET else None,
    )
