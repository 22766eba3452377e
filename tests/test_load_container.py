"""Femto-Container containers: exact layout, round trips, and every kind of corruption."""

from __future__ import annotations

import struct

import pytest
from conftest import REPO

from femtojit import isa
from femtojit.errors import FemtojitError, LoadError
from femtojit.isa import Insn
from femtojit.loaders import load
from femtojit.loaders.container import PackError, read_container, write_container
from femtojit.program import Function, Program

EXIT = Insn(isa.OP_EXIT)
MOV_R0_7 = Insn(0xB7, dst=0, imm=7)
FLETCHER_BIN = REPO / "examples" / "fletcher32.bin"
FLETCHER_O = REPO / "examples" / "fletcher32.o"


def small_program() -> Program:
    return Program(
        [MOV_R0_7, EXIT, Insn(0xB7, dst=0, imm=-3), EXIT,
         Insn(isa.OP_LDDWR, dst=1, imm=2), Insn(0, imm=0), EXIT],
        data=b"\x01\x02\x03",
        rodata=b"ro\0data",
        functions=[Function("first", 0), Function("second", 2), Function("third", 4)],
    )


def test_write_container_exact_bytes():
    program = small_program()
    blob = write_container(program)
    names = b"first\0second\0third\0"
    rodata = b"ro\0data" + names
    text = program.text
    expected = (
        b"rBPF" + struct.pack("<6I", 0, 0, 3, len(rodata), len(text), 3)
        + b"\x01\x02\x03" + rodata + text
        + struct.pack("<3H", 7, 0, 0) + struct.pack("<3H", 13, 0, 16)
        + struct.pack("<3H", 20, 0, 32)
    )
    assert blob == expected


def test_round_trip_and_idempotence():
    program = small_program()
    blob = write_container(program)
    loaded = read_container(blob)
    assert loaded.slots == program.slots
    assert loaded.data == program.data
    assert loaded.rodata.startswith(program.rodata)
    assert loaded.functions == program.functions
    assert loaded.entry == 0
    # names already in .rodata are reused, so packing again changes nothing
    assert write_container(loaded) == blob


def test_name_already_in_rodata_is_reused():
    program = Program([MOV_R0_7, EXIT], rodata=b"xxmain\0", functions=[Function("main", 0)])
    blob = write_container(program)
    loaded = read_container(blob)
    assert loaded.rodata == b"xxmain\0"
    assert loaded.functions == [Function("main", 0)]


def test_c_order_magic_is_accepted():
    blob = write_container(small_program())
    loaded = load(b"FPBr" + blob[4:])
    assert loaded.slots == small_program().slots


def test_pack_round_trip_of_the_example():
    elf = load(FLETCHER_O)
    packed = load(write_container(elf))
    assert packed.slots == elf.slots
    assert packed.data == elf.data
    assert packed.rodata.startswith(elf.rodata)
    assert packed.functions == elf.functions == [Function("fletcher32_bpf", 0)]
    assert write_container(elf) == FLETCHER_BIN.read_bytes(), "committed .bin is stale"


def test_entry_by_name():
    blob = write_container(small_program())
    assert load(blob, entry="second").entry == 2
    with pytest.raises(LoadError, match="first, second, third"):
        load(blob, entry="fourth")


def test_pack_limits():
    many = [MOV_R0_7] * 8200 + [EXIT]
    with pytest.raises(PackError, match="location_offset"):
        write_container(Program(many, functions=[Function("late", 8192)]))
    with pytest.raises(PackError, match="name_offset"):
        write_container(Program([EXIT], rodata=bytes(70000), functions=[Function("f", 0)]))
    with pytest.raises(PackError, match="outside"):
        write_container(Program([EXIT], functions=[Function("f", 3)]))
    with pytest.raises(PackError):
        write_container(Program([EXIT], functions=[Function("a\0b", 0)]))
    with pytest.raises(PackError, match="twice"):
        write_container(Program([EXIT], functions=[Function("f", 0), Function("f", 0)]))
    assert issubclass(PackError, FemtojitError)


# --- corruption ---------------------------------------------------------------------------

VALID = write_container(small_program())
HEADER_FIELDS = {"version": 4, "flags": 8, "data_len": 12, "rodata_len": 16, "text_len": 20,
                 "functions": 24}


@pytest.mark.parametrize("blob", [VALID, FLETCHER_BIN.read_bytes()], ids=["small", "fletcher"])
def test_every_truncation_is_a_load_error(blob):
    read_container(blob)  # the untruncated file is fine
    for length in range(len(blob)):
        with pytest.raises(LoadError):
            read_container(blob[:length])
        if length:
            with pytest.raises(LoadError):
                load(blob[:length], kind="container")


def with_field(blob: bytes, offset: int, value: int) -> bytes:
    return blob[:offset] + struct.pack("<I", value & 0xFFFFFFFF) + blob[offset + 4:]


@pytest.mark.parametrize("name", ["data_len", "rodata_len", "text_len", "functions"])
@pytest.mark.parametrize("delta", [1, -1, 6, -6, 8, -8, 1 << 31, -(1 << 32) + 1])
def test_lying_lengths(name, delta):
    offset = HEADER_FIELDS[name]
    value = struct.unpack_from("<I", VALID, offset)[0] + delta
    corrupted = with_field(VALID, offset, value)
    with pytest.raises(LoadError) as error:
        read_container(corrupted)
    assert "\n" not in str(error.value)


def test_length_messages_name_the_field_and_numbers():
    with pytest.raises(LoadError, match=r"text_len 17 is not a multiple of 8"):
        read_container(with_field(VALID, 20, 17))
    with pytest.raises(LoadError, match=r"truncated container.*data_len 4"):
        read_container(with_field(VALID, 12, 4))
    with pytest.raises(LoadError, match=r"5 bytes of trailing garbage"):
        read_container(VALID + b"12345")
    with pytest.raises(LoadError, match="compressed"):
        read_container(with_field(VALID, 8, 1))
    with pytest.raises(LoadError, match="unknown container flags 0x4"):
        read_container(with_field(VALID, 8, 4))
    with pytest.raises(LoadError, match="magic"):
        read_container(b"rBPX" + VALID[4:])
    with pytest.raises(LoadError, match="no instructions"):
        read_container(write_container(Program([]))[:28])


def _table_entry_offset(blob: bytes, index: int) -> int:
    _, _, _, data_len, rodata_len, text_len, _ = struct.unpack_from("<4s6I", blob)
    return 28 + data_len + rodata_len + text_len + 6 * index


def with_entry(blob: bytes, index: int, name_offset: int, location: int) -> bytes:
    at = _table_entry_offset(blob, index)
    return blob[:at] + struct.pack("<3H", name_offset, 0, location) + blob[at + 6:]


@pytest.mark.parametrize(
    ("name_offset", "location", "message"),
    [
        (7, 4, "location_offset 4 is not the start of a slot"),
        (7, 56, "location_offset 56"),  # text is 56 bytes: one past the last slot
        (7, 0xFFF8, "location_offset 65528"),
        (26, 0, "name_offset 26 is outside"),
        (0xFFFF, 0, "name_offset 65535"),
        (2, 0, "empty name"),
        (7, 16, "name 'first' already used by function 0"),
    ],
)
def test_bad_function_entries(name_offset, location, message):
    # entry 1 ("second") rewritten; entry 0 is "first" at name offset 7
    with pytest.raises(LoadError, match=message):
        read_container(with_entry(VALID, 1, name_offset, location))


def test_name_without_terminator():
    program = Program([MOV_R0_7, EXIT], rodata=b"main\0", functions=[Function("main", 0)])
    blob = bytearray(write_container(program))
    blob[28 + 4] = ord("x")  # overwrite the NUL that ends "main"
    with pytest.raises(LoadError, match="no NUL terminator"):
        read_container(bytes(blob))


def test_name_not_utf8():
    program = Program([MOV_R0_7, EXIT], rodata=b"main\0", functions=[Function("main", 0)])
    blob = bytearray(write_container(program))
    blob[28] = 0xFF
    with pytest.raises(LoadError, match="UTF-8"):
        read_container(bytes(blob))
