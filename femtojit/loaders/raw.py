"""Raw little-endian eBPF bytecode: nothing but 8-byte instruction slots.

There is no .data, .rodata or function table, so a raw program cannot use LDDWD/LDDWR with any
meaning beyond an empty region; execution starts at slot 0.
"""

from __future__ import annotations

from femtojit import isa
from femtojit.errors import LoadError
from femtojit.program import Program


def load_raw(raw: bytes, origin: str = "<bytes>") -> Program:
    """Decode raw bytecode; its length must be a whole number of slots."""
    if not raw:
        raise LoadError(f"{origin}: empty program (0 bytes of bytecode)")
    if len(raw) % isa.SLOT_SIZE:
        raise LoadError(
            f"{origin}: raw bytecode is {len(raw)} bytes, not a multiple of {isa.SLOT_SIZE} "
            f"({len(raw) % isa.SLOT_SIZE} trailing bytes)"
        )
    return Program(isa.decode(bytes(raw)), origin=f"{origin} (raw bytecode)")
