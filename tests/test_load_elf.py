"""ELF loading: C sources in tests/c compiled by clang at test time (-mcpu=v2 and v3).

The checks follow the data, not the loader's code: every LDDWD/LDDWR a function ends up with
must point at the bytes of the one object that function reads, objects must not overlap, and
calls between sections must land on the functions the symbol table names.
"""

from __future__ import annotations

import importlib
import struct
from pathlib import Path

import pytest
from conftest import REPO, require_tool

from femtojit import isa
from femtojit.errors import LoadError
from femtojit.loaders import load
from femtojit.toolchain import compile_bpf

C_DIR = REPO / "tests" / "c"
MCPUS = ("v2", "v3")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """compiled(source_name, mcpu, *flags) -> path of the object, built once per module."""
    require_tool("clang")
    cache: dict[tuple, Path] = {}
    out_dir = tmp_path_factory.mktemp("elf")

    def build(name: str, mcpu: str = "v2", *flags: str) -> Path:
        key = (name, mcpu, flags)
        if key not in cache:
            stem = f"{Path(name).stem}-{mcpu}{''.join(flags)}"
            cache[key] = compile_bpf(C_DIR / name, out_dir / f"{stem}.o", mcpu=mcpu,
                                     extra_flags=flags)
        return cache[key]

    return build


def wide_loads(program, function_name):
    """(opcode, imm64) of every LDDW/LDDWD/LDDWR in the function's slots."""
    starts = sorted(f.slot for f in program.functions)
    start = program.function_named(function_name).slot
    end = next((s for s in starts if s > start), len(program.slots))
    return [
        (program.slots[i].opcode, isa.imm64(program.slots[i], program.slots[i + 1]))
        for i in range(start, end)
        if isa.is_wide(program.slots[i].opcode)
    ]


def only_load(program, function_name, opcode):
    loads = [imm for op, imm in wide_loads(program, function_name) if op == opcode]
    assert loads, f"{function_name}: no {opcode:#x} load"
    assert len(set(loads)) == 1, f"{function_name}: several different addresses {loads}"
    return loads[0]


def u32s(*values):
    return struct.pack(f"<{len(values)}I", *values)


# Objects of globals.c: function -> (image, expected bytes at the address, alignment).
GLOBALS_OBJECTS = {
    "read_counter": ("data", struct.pack("<i", 0x11223344), 4),
    "read_small": ("data", struct.pack("<3H", 0xA1B2, 0xC3D4, 0xE5F6), 2),
    "read_table": ("rodata", u32s(10, 20, 30, 40, 0xDEADBEEF), 4),
    "read_wide": ("rodata", struct.pack("<2Q", 0x1122334455667788, 0x99AABBCCDDEEFF00), 8),
    "read_pair": ("rodata", u32s(0xCAFEF00D, 0x0BADC0DE), 4),
    "read_string": ("rodata", b"hello femtojit\0", 1),
    "read_other_string": ("rodata", b"second literal!\0", 1),
}
OPCODE_OF_IMAGE = {"data": isa.OP_LDDWD, "rodata": isa.OP_LDDWR}


@pytest.mark.parametrize("flags", [(), ("-fcommon",)], ids=["bss", "common"])
@pytest.mark.parametrize("mcpu", MCPUS)
def test_globals_images_and_relocations(compiled, mcpu, flags):
    program = load(compiled("globals.c", mcpu, *flags))
    assert program.origin.endswith("(ELF)")
    assert not any(s.opcode == isa.OP_LDDW for s in program.slots), "an LDDW was left unrelocated"
    spans = {"data": [], "rodata": []}
    for function, (image_name, expected, alignment) in GLOBALS_OBJECTS.items():
        address = only_load(program, function, OPCODE_OF_IMAGE[image_name])
        image = getattr(program, image_name)
        assert image[address:address + len(expected)] == expected, function
        assert address % alignment == 0, f"{function}: {address} not {alignment}-aligned"
        spans[image_name].append((address, address + len(expected), function))

    # bump_zeroed reads the two zero-initialised arrays, zeroed (u32[16], 64 bytes) and
    # zeroed_static (u64[4], 32 bytes), in whichever order they were laid out after .data
    first, second = sorted({imm for op, imm in wide_loads(program, "bump_zeroed")
                            if op == isa.OP_LDDWD})
    first_size = second - first
    assert first_size in (32, 64), "the two zero-initialised arrays are not adjacent"
    second_size = 96 - first_size
    assert second + second_size == len(program.data), "the data image does not end with .bss"
    for address, size in ((first, first_size), (second, second_size)):
        assert address % 4 == 0
        assert program.data[address:address + size] == bytes(size)
        spans["data"].append((address, address + size, f"zeroed@{address}"))

    for image_name, ranges in spans.items():
        ranges.sort()
        for (_, end, a), (start, _, b) in zip(ranges, ranges[1:]):
            assert end <= start, f"{a} and {b} overlap in {image_name}"


@pytest.mark.parametrize("mcpu", MCPUS)
def test_globals_functions_and_entry(compiled, mcpu):
    path = compiled("globals.c", mcpu)
    program = load(path)
    names = [f.name for f in program.functions]
    assert names == [
        "read_counter", "read_small", "read_table", "read_wide", "read_pair",
        "read_string", "read_other_string", "bump_zeroed",
    ]
    slots = [f.slot for f in program.functions]
    assert slots == sorted(slots) and len(set(slots)) == len(slots)
    assert program.entry == 0 == program.functions[0].slot
    # every function ends with exit just before the next one starts
    for function, next_slot in zip(program.functions, slots[1:] + [len(program.slots)]):
        assert program.slots[next_slot - 1].opcode == isa.OP_EXIT, function.name
    chosen = load(path, entry="read_wide")
    assert chosen.entry == program.function_named("read_wide").slot
    assert chosen.slots == program.slots


def test_unknown_entry_lists_functions(compiled):
    with pytest.raises(LoadError) as error:
        load(compiled("globals.c"), entry="nope")
    message = str(error.value)
    assert "'nope'" in message and "read_counter" in message and "bump_zeroed" in message
    assert "\n" not in message


def _symbol_slots(path: Path) -> dict[str, int]:
    """Every function symbol's slot, computed from the ELF directly: executable sections are
    laid out .text first, then in section header order."""
    from elftools.elf.elffile import ELFFile

    with path.open("rb") as stream:
        elf = ELFFile(stream)
        executable = [
            (index, section) for index, section in enumerate(elf.iter_sections())
            if section["sh_flags"] & 0x4 and section["sh_size"]
        ]
        executable.sort(key=lambda item: (item[1].name != ".text", item[0]))
        base, offset = {}, 0
        for index, section in executable:
            base[index] = offset
            offset += section["sh_size"]
        return {
            symbol.name: (base[symbol["st_shndx"]] + symbol["st_value"]) // 8
            for symbol in elf.get_section_by_name(".symtab").iter_symbols()
            if symbol["st_info"]["type"] == "STT_FUNC"
        }


@pytest.mark.parametrize("mcpu", MCPUS)
def test_calls_between_sections(compiled, mcpu):
    path = compiled("calls.c", mcpu)
    program = load(path)
    expected = _symbol_slots(path)
    assert {f.name: f.slot for f in program.functions} == {
        name: expected[name] for name in ("in_text", "plus_eleven", "in_prog")
    }
    assert program.entry == expected["in_text"] == 0

    def call_targets(function):
        starts = sorted(f.slot for f in program.functions)
        start = expected[function]
        end = next((s for s in starts if s > start), len(program.slots))
        return [
            i + 1 + program.slots[i].imm for i in range(start, end)
            if program.slots[i].opcode == isa.OP_CALL and program.slots[i].src == isa.CALL_LOCAL
        ]

    assert sorted(call_targets("in_text")) == sorted(
        [expected["times_seven"], expected["plus_eleven"], expected["squared"]]
    )
    assert sorted(call_targets("in_prog")) == sorted([expected["squared"],
                                                      expected["times_seven"]])


def test_elf_errors_are_load_errors(tmp_path, compiled):
    require_tool("clang")
    extern_call = compile_bpf(
        "extern int somewhere(int);\nint f(int x) { return somewhere(x) + 1; }\n",
        tmp_path / "extern_call.o",
    )
    with pytest.raises(LoadError, match="somewhere"):
        load(extern_call)
    extern_data = compile_bpf(
        "extern int shared_value;\nint f(void) { return shared_value; }\n",
        tmp_path / "extern_data.o",
    )
    with pytest.raises(LoadError, match="undefined symbol 'shared_value'"):
        load(extern_data)
    data_pointer = compile_bpf(
        'const char *greeting = "hi";\nint f(int i) { return greeting[i & 1]; }\n',
        tmp_path / "data_pointer.o",
    )
    with pytest.raises(LoadError, match="pointers in initialised data"):
        load(data_pointer)
    map_object = compile_bpf(
        "struct map_def { unsigned type, key_size, value_size, max_entries; };\n"
        'struct map_def counters __attribute__((section("maps"), used)) = {1, 4, 8, 16};\n'
        "long f(void) { return (long)&counters; }\n",
        tmp_path / "map.o",
    )
    with pytest.raises(LoadError, match="map relocation against symbol 'counters'"):
        load(map_object)
    function_pointer = compile_bpf(
        "static int g(int x) { return x + 1; }\nlong f(void) { return (long)&g; }\n",
        tmp_path / "function_pointer.o",
    )
    with pytest.raises(LoadError, match=r"instruction 0 \(.text\+0x0\): takes the address"):
        load(function_pointer)
    good = compiled("globals.c").read_bytes()
    with pytest.raises(LoadError, match="machine"):
        load(good[:18] + struct.pack("<H", 62) + good[20:])  # EM_X86_64
    with pytest.raises(LoadError, match="64-bit"):
        load(good[:4] + b"\x01" + good[5:])
    with pytest.raises(LoadError, match="truncated"):
        load(good[: len(good) // 2])


def test_debug_info_relocations_are_ignored(tmp_path):
    require_tool("clang")
    plain = compile_bpf(C_DIR / "globals.c", tmp_path / "plain.o")
    debug = compile_bpf(C_DIR / "globals.c", tmp_path / "debug.o", extra_flags=("-g",))
    assert b".rel.debug_" in debug.read_bytes() and b".rel.BTF" in debug.read_bytes()
    a, b = load(plain), load(debug)
    assert (a.slots, a.data, a.rodata, a.functions) == (b.slots, b.data, b.rodata, b.functions)


def _importable(module: str, name: str) -> bool:
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


needs_interpreter = pytest.mark.skipif(
    not (_importable("femtojit.api", "run") and _importable("femtojit.verify", "verify")),
    reason="femtojit.run or the verifier is not in the tree yet",
)


@needs_interpreter
@pytest.mark.parametrize("mcpu", MCPUS)
def test_globals_run_end_to_end(compiled, mcpu):
    import femtojit

    path = compiled("globals.c", mcpu)
    table = [10, 20, 30, 40, 0xDEADBEEF]
    cases = {
        "read_counter": [((5, 0), 0x11223344 + 5)],
        "read_small": [((1, 2), 0xC3D4), ((2, 0), 0xE5F6)],
        "read_table": [((a, 0), table[a % 5]) for a in (0, 3, 4, 9)],
        "read_wide": [((0, 0), 0x1122334455667788), ((1, 0), 0x99AABBCCDDEEFF00)],
        "read_pair": [((0, 0), 0xCAFEF00D), ((3, 0), 0x0BADC0DE)],
        "read_string": [((a, 0), b"hello femtojit"[a % 14]) for a in (0, 6, 13, 20)],
        "read_other_string": [((a, 0), b"second literal!"[a % 15]) for a in (0, 14)],
        "bump_zeroed": [((3, 2), 7 * 1000 + 1)],
    }
    for function, runs in cases.items():
        program = load(path, entry=function)
        for (a, b), expected in runs:
            result = femtojit.run(program, ctx=struct.pack("<II", a, b))
            assert result.status == 0, (function, a, b, result)
            assert result.result == expected, (function, a, b, hex(result.result))


@needs_interpreter
@pytest.mark.parametrize("mcpu", MCPUS)
def test_calls_run_end_to_end(compiled, mcpu):
    import femtojit

    path = compiled("calls.c", mcpu)
    for a, b in ((0, 0), (3, 4), (1000, 77)):
        ctx = struct.pack("<II", a, b)
        in_text = femtojit.run(load(path, entry="in_text"), ctx=ctx)
        in_prog = femtojit.run(load(path, entry="in_prog"), ctx=ctx)
        assert (in_text.status, in_text.result) == (0, a * 7 + 11 + b * b)
        assert (in_prog.status, in_prog.result) == (0, a * a + 7 * b)
