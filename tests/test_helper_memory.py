"""The one checked-memory view every engine gives helpers, and engines agreeing through it."""

from __future__ import annotations

import pytest

import femtojit
from femtojit.helpers import CheckedMemory, HelperFault
from femtojit.memmap import PERM_READ, PERM_RW
from femtojit.status import Status


def _memory(areas):
    backing: dict[int, int] = {}

    def raw_read(addr: int, size: int) -> bytes:
        return bytes(backing.get(addr + i, 0) for i in range(size))

    def raw_write(addr: int, data: bytes) -> None:
        for i, byte in enumerate(data):
            backing[addr + i] = byte

    return CheckedMemory(areas, raw_read, raw_write), backing


def test_zero_length_touches_nothing_anywhere():
    mem, backing = _memory([(0x100, 0x110, PERM_READ)])
    assert mem.read(0, 0) == b""
    mem.write(0xFFFF_FFFF, b"")
    assert backing == {}


def test_first_matching_area_decides_permission():
    mem, _ = _memory([(0x100, 0x110, PERM_READ), (0x100, 0x200, PERM_RW)])
    assert mem.read(0x100, 4) == b"\0" * 4
    with pytest.raises(HelperFault) as fault:
        mem.write(0x100, b"x")
    assert fault.value.status == Status.ILLEGAL_MEM
    mem.write(0x110, b"x")  # only the second area holds it: writable


@pytest.mark.parametrize("addr,size", [(0xFC, 8), (0x10E, 4), (0xFFFF_FFFE, 4), (-1, 1)])
def test_straddling_wrapping_or_outside_faults(addr, size):
    mem, _ = _memory([(0x100, 0x110, PERM_RW)])
    with pytest.raises(HelperFault):
        mem.read(addr, size)


def test_cstring_stops_at_nul_limit_or_region_end():
    mem, _ = _memory([(0x100, 0x108, PERM_RW)])
    mem.write(0x100, b"abc\0def\0")
    assert mem.read_cstring(0x100) == b"abc"
    assert mem.read_cstring(0x104, limit=2) == b"de"
    mem.write(0x100, b"abcdefgh")
    with pytest.raises(HelperFault):
        mem.read_cstring(0x100)  # runs off the region before any NUL


MEMCPY_ZERO = """
mov %r1, 0
mov %r2, 0
mov %r3, 0
call 2
exit
"""


@pytest.mark.parametrize("engine", ["interp", "armv7m", "rv32imc"])
def test_memcpy_of_zero_bytes_from_nowhere_is_allowed_on_every_engine(engine):
    program = femtojit.assemble(MEMCPY_ZERO)
    result = femtojit.run(program, engine=engine)
    assert result.status == Status.OK


def test_helper_fault_with_any_status_has_a_message():
    assert str(HelperFault(5)) == "status_5"
    assert str(HelperFault(Status.ILLEGAL_MEM)) == "illegal_mem"
