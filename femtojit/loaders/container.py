"""Femto-Container application files (`.bin`, "rBPF" containers): read and write.

Layout (all little-endian), as written by upstream's gen_rbf.py and read by the RIOT runtime:

    header    28 bytes: magic "rBPF", version u32, flags u32, data_len u32, rodata_len u32,
              text_len u32, functions u32
    .data     data_len bytes
    .rodata   rodata_len bytes (function names live here, NUL-terminated)
    .text     text_len bytes, a whole number of 8-byte slots
    functions `functions` entries of 6 bytes: name_offset u16 (into .rodata), flags u16,
              location_offset u16 (byte offset into .text)

Nothing in the header is trusted: every length is checked against the file, so a truncated or
corrupted container is a LoadError that names the field, never an IndexError later on.
"""

from __future__ import annotations

import struct

from femtojit import isa
from femtojit.errors import FemtojitError, LoadError
from femtojit.program import Function, Program

#: On-disk magic: gen_rbf.py packs int.from_bytes(b"rBPF", "little") as <I, i.e. these bytes.
MAGIC = b"rBPF"
#: The C header's RBPF_MAGIC_NO (0x72425046) stored as a little-endian u32: what a C tool that
#: fills in the header itself writes. Accepted on input, never written.
MAGIC_C_ORDER = b"FPBr"
MAGICS = (MAGIC, MAGIC_C_ORDER)

HEADER = struct.Struct("<4sIIIIII")
HEADER_SIZE = HEADER.size  # 28
FUNCTION_ENTRY = struct.Struct("<HHH")
FUNCTION_ENTRY_SIZE = FUNCTION_ENTRY.size  # 6

#: gen_rbf.py's flag for its compressed instruction encoding, which femtojit does not read.
FLAG_COMPRESSED = 0x01

U16_LIMIT = 1 << 16


class PackError(FemtojitError):
    """A program cannot be represented as a container (a field would not fit in 16 bits)."""


def read_container(raw: bytes, origin: str = "<bytes>") -> Program:
    """Parse a container, checking every header field against the actual file size."""
    raw = bytes(raw)
    if len(raw) < HEADER_SIZE:
        raise LoadError(
            f"{origin}: truncated container header: {len(raw)} bytes, need {HEADER_SIZE}"
        )
    magic, _version, flags, data_len, rodata_len, text_len, n_functions = HEADER.unpack_from(raw)
    if magic not in MAGICS:
        raise LoadError(f"{origin}: not a Femto-Container file: magic {magic!r}, expected b'rBPF'")
    if flags & FLAG_COMPRESSED:
        raise LoadError(f"{origin}: compressed containers (flags {flags:#x}) are not supported")
    if flags:
        raise LoadError(f"{origin}: unknown container flags {flags:#x} (only 0 is supported)")
    if text_len % isa.SLOT_SIZE:
        raise LoadError(
            f"{origin}: text_len {text_len} is not a multiple of {isa.SLOT_SIZE} "
            "(bytecode is made of 8-byte slots)"
        )
    table_len = n_functions * FUNCTION_ENTRY_SIZE
    expected = HEADER_SIZE + data_len + rodata_len + text_len + table_len
    sizes = (
        f"data_len {data_len} + rodata_len {rodata_len} + text_len {text_len} "
        f"+ functions {n_functions} x {FUNCTION_ENTRY_SIZE}"
    )
    if len(raw) < expected:
        raise LoadError(
            f"{origin}: truncated container: the header announces {expected} bytes "
            f"(28 + {sizes}) but the file has {len(raw)}"
        )
    if len(raw) > expected:
        raise LoadError(
            f"{origin}: {len(raw) - expected} bytes of trailing garbage after the function "
            f"table: the file has {len(raw)} bytes, the header announces {expected} (28 + {sizes})"
        )
    if text_len == 0:
        raise LoadError(f"{origin}: the container has no instructions (text_len 0)")

    data_start = HEADER_SIZE
    rodata_start = data_start + data_len
    text_start = rodata_start + rodata_len
    table_start = text_start + text_len
    data = raw[data_start:rodata_start]
    rodata = raw[rodata_start:text_start]
    text = raw[text_start:table_start]

    functions = []
    seen: dict[str, int] = {}
    for index in range(n_functions):
        name_offset, _flags, location = FUNCTION_ENTRY.unpack_from(
            raw, table_start + index * FUNCTION_ENTRY_SIZE
        )
        where = f"{origin}: function {index}"
        if location >= text_len or location % isa.SLOT_SIZE:
            raise LoadError(
                f"{where}: location_offset {location} is not the start of a slot in the "
                f"{text_len}-byte text (must be a multiple of 8 below {text_len})"
            )
        name = _name_at(rodata, name_offset, where)
        if name in seen:
            raise LoadError(f"{where}: name {name!r} already used by function {seen[name]}")
        seen[name] = index
        functions.append(Function(name, location // isa.SLOT_SIZE))

    return Program(
        isa.decode(text),
        data=data,
        rodata=rodata,
        functions=functions,
        entry=0,
        origin=f"{origin} (container)",
    )


def _name_at(rodata: bytes, offset: int, where: str) -> str:
    """The NUL-terminated UTF-8 name at `offset` in .rodata."""
    if offset >= len(rodata):
        raise LoadError(
            f"{where}: name_offset {offset} is outside the {len(rodata)}-byte .rodata"
        )
    end = rodata.find(b"\0", offset)
    if end < 0:
        raise LoadError(
            f"{where}: the name at .rodata offset {offset} has no NUL terminator before the end "
            f"of .rodata ({len(rodata)} bytes)"
        )
    if end == offset:
        raise LoadError(f"{where}: empty name at .rodata offset {offset}")
    try:
        return rodata[offset:end].decode("utf-8")
    except UnicodeDecodeError:
        raise LoadError(
            f"{where}: the name at .rodata offset {offset} is not valid UTF-8"
        ) from None


def write_container(program: Program) -> bytes:
    """Serialise a program as a container, upstream-compatible.

    Function names go into .rodata as NUL-terminated strings (like gen_rbf.py): a name already
    present there is reused, otherwise it is appended. The container has no entry field, so
    the host starts at slot 0 or picks a function from the table; `program.entry` is not kept.
    """
    rodata = bytearray(program.rodata)
    entries = []
    names = [function.name for function in program.functions]
    for name in names:
        if names.count(name) > 1:
            raise PackError(f"function name {name!r} appears twice in the function table")
    for function in program.functions:
        encoded = function.name.encode("utf-8")
        if not encoded or b"\0" in encoded:
            raise PackError(f"function name {function.name!r} cannot be stored (empty or has NUL)")
        offset = bytes(rodata).find(encoded + b"\0")
        if offset < 0:
            offset = len(rodata)
            rodata += encoded + b"\0"
        location = function.slot * isa.SLOT_SIZE
        if offset >= U16_LIMIT:
            raise PackError(
                f"function {function.name!r}: its name would sit at .rodata offset {offset}, "
                "beyond the 16-bit name_offset field"
            )
        if not 0 <= function.slot < len(program.slots):
            raise PackError(
                f"function {function.name!r} starts at slot {function.slot}, outside the "
                f"{len(program.slots)}-slot program"
            )
        if location >= U16_LIMIT:
            raise PackError(
                f"function {function.name!r} starts at text byte {location}, beyond the 16-bit "
                "location_offset field"
            )
        entries.append(FUNCTION_ENTRY.pack(offset, 0, location))
    text = program.text
    header = HEADER.pack(
        MAGIC, 0, 0, len(program.data), len(rodata), len(text), len(entries)
    )
    return b"".join([header, bytes(program.data), bytes(rodata), text, *entries])
