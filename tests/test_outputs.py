"""The `c` and `elf` output formats: what binutils make of them, and firmware built from them
running under Unicorn (the hand-written ABI v1 probe stands in for a translation)."""

from __future__ import annotations

import struct
import subprocess

import pytest
from firmware.fwkit import ARCHES, HERE, Firmware, assemble_code, build_firmware, run_tool

from femtojit import memmap
from femtojit.blob import Blob, parse_blob
from femtojit.errors import LoadError, TranslateError
from femtojit.outputs import (
    FORMATS,
    check_symbol_name,
    render_output,
    symbol_name_for,
    to_c_array,
    to_elf_object,
)

FC_VALUE = 0x5EED
E_CODE = -27
EXPECTED_MACHINE = {"armv7m": ("ARM", 0x0500_0000), "rv32imc": ("RISC-V", 0x1)}


def make_probe_blob(arch, work) -> Blob:
    code, offsets = assemble_code(arch, HERE / f"probe_{arch.name}.S", work)
    return Blob(
        target=arch.name,
        profile="femto",
        code=code,
        entry_offset=offsets["probe"],
        data=struct.pack("<II", 0x1000, 7),
        rodata=struct.pack("<II", 0x22, 0x33),
        imports=[0x10],
        frame_size=24,
        budget=200,
    )


@pytest.fixture(scope="module", params=["armv7m", "rv32imc"])
def probe(request, tmp_path_factory):
    """(arch, work dir, probe blob) for one target."""
    arch = ARCHES[request.param]
    work = tmp_path_factory.mktemp(f"out-{arch.name}")
    return arch, work, make_probe_blob(arch, work)


def expected_result(ctx_len: int, data_word: int = 0x1000) -> int:
    return (data_word + 3 * 0x22 + FC_VALUE) | ctx_len << 32


def readelf(arch, *args) -> str:
    proc = subprocess.run(
        [arch.tool("readelf"), "-W", *map(str, args)], capture_output=True, text=True
    )
    assert proc.returncode == 0 and not proc.stderr, proc.stderr  # readelf warns on stderr
    return proc.stdout


def symbol_rows(arch, obj) -> dict[str, list[str]]:
    """readelf -s rows by symbol name: [value, size, type, bind, vis, ndx]."""
    rows = {}
    for line in readelf(arch, "-s", obj).splitlines():
        parts = line.split()
        if len(parts) == 8 and parts[0].endswith(":"):
            rows[parts[7]] = parts[1:7]
    return rows


def test_elf_object_as_binutils_sees_it(probe):
    arch, work, blob = probe
    obj = work / "probe.o"
    obj.write_bytes(to_elf_object(blob, "probe"))
    header = readelf(arch, "-h", obj)
    machine, flags = EXPECTED_MACHINE[arch.name]
    assert "REL (Relocatable file)" in header and "ELF32" in header
    assert f"Machine:                           {machine}" in header
    assert f"Flags:                             {flags:#x}" in header
    raw = blob.to_bytes()
    _, code_size, entry, data_off, data_size, rodata_off, rodata_size, imports_off = (
        struct.unpack_from("<8I", raw, 16)
    )
    thumb = int(arch.name == "armv7m")
    rows = symbol_rows(arch, obj)
    assert rows["probe"][:4] == [f"{entry | thumb:08x}", str(code_size - entry), "FUNC", "GLOBAL"]
    assert rows["probe_blob"][:4] == ["00000000", str(len(raw)), "OBJECT", "GLOBAL"]
    assert rows["probe_blob_len"][1:4] == ["4", "OBJECT", "GLOBAL"]
    assert rows["probe_data"][:2] == [f"{data_off:08x}", str(data_size)]
    assert rows["probe_rodata"][:2] == [f"{rodata_off:08x}", str(rodata_size)]
    assert rows["probe_imports"][:2] == [f"{imports_off:08x}", "4"]
    if thumb:
        assert rows["$t"][2:4] == ["NOTYPE", "LOCAL"]
    sections = readelf(arch, "-S", obj)
    assert ".text.probe" in sections and ".rodata.probe" in sections
    assert "rel" not in readelf(arch, "-r", obj).lower().replace("there are no relocations", "")
    # the code section holds exactly the code, disassembled as the target's instructions
    dump = run_tool(arch.tool("objdump"), "-d", obj)
    # the Thumb-2 push, or c.addi16sp
    first = "sp!, {r4, r5, r6, r7, r8, lr}" if thumb else "add\tsp,sp,-16"
    assert first in dump.split("<probe>:")[1].splitlines()[1]


def test_elf_object_is_read_back_by_pyelftools(probe):
    import io

    from elftools.elf.elffile import ELFFile

    _, _, blob = probe
    elf = ELFFile(io.BytesIO(to_elf_object(blob, "app")))
    assert elf.header.e_type == "ET_REL" and elf.elfclass == 32 and elf.little_endian
    text = elf.get_section_by_name(".text.app")
    assert text.data() == blob.code and text["sh_addralign"] == 4
    rodata = elf.get_section_by_name(".rodata.app")
    raw = blob.to_bytes()
    assert rodata.data()[: len(raw)] == raw and rodata["sh_addralign"] == 8
    length_symbol = elf.get_section_by_name(".symtab").get_symbol_by_name("app_blob_len")[0]
    offset = length_symbol["st_value"]
    assert struct.unpack_from("<I", rodata.data(), offset)[0] == len(raw)
    assert parse_blob(rodata.data()[: len(raw)]) == blob


def test_linked_elf_runs_from_text(probe):
    """Firmware linked with the `elf` output runs the code where the linker put it, not the
    descriptor's copy, after fjit_container_use_entry checked they are the same bytes."""
    arch, work, blob = probe
    obj = work / "linked_probe.o"
    obj.write_bytes(to_elf_object(blob, "probe"))
    elf = build_firmware(arch, work / "linked", defines=("FW_LINKED=probe",), extra=(obj,))
    firmware = Firmware(arch, elf)
    entry = firmware.address("probe")
    descriptor = firmware.address("probe_blob")
    assert descriptor % 8 == 0
    code_size = len(blob.code) - blob.entry_offset
    copy = descriptor + struct.unpack_from("<I", blob.to_bytes(), 16)[0] + blob.entry_offset

    out, _ = firmware.run(ctx=bytes(96), runs=2, trace=(entry, entry + code_size))
    assert (out.init_status, out.use_entry_status, out.stage) == (0, 0, 7)
    assert out.blob_addr == descriptor and out.blob_len == len(blob.to_bytes())
    assert out.statuses[:2] == [0, 0]
    assert out.results[:2] == [expected_result(96), expected_result(96, 0x1001)]
    assert out.executed and min(out.executed) == entry  # the linked copy ran...

    out, _ = firmware.run(ctx=bytes(96), trace=(copy, copy + code_size))
    assert out.statuses[0] == 0 and out.executed == []  # ...and the descriptor's did not


def test_linked_code_must_match_the_descriptor(probe):
    arch, work, blob = probe
    obj = work / "tampered_probe.o"
    obj.write_bytes(to_elf_object(blob, "probe"))
    elf = build_firmware(arch, work / "tampered", defines=("FW_LINKED=probe",), extra=(obj,))
    firmware = Firmware(arch, elf)
    last = firmware.address("probe") + len(blob.code) - blob.entry_offset - 2
    out, uc = firmware.run(ctx=bytes(96), memory={last: b"\x00\x00"})
    assert out.use_entry_status == E_CODE and out.returned == E_CODE and out.stage == 4


def test_c_array_compiles_and_runs(probe):
    arch, work, blob = probe
    source = work / "app_blob.c"
    source.write_text(to_c_array(blob.to_bytes(), "app_blob"))
    elf = build_firmware(arch, work / "array", defines=("FW_ARRAY=app_blob",), extra=(source,))
    firmware = Firmware(arch, elf)
    assert firmware.address("app_blob") % 8 == 0
    out, uc = firmware.run(ctx=bytes(64))
    assert out.blob_len == len(blob.to_bytes())
    assert (out.init_status, out.statuses[0]) == (0, 0)
    assert out.results[0] == expected_result(64)
    assert bytes(uc.mem_read(firmware.address("app_blob"), out.blob_len)) == blob.to_bytes()
    assert bytes(uc.mem_read(memmap.DATA_BASE, 8)) == struct.pack("<II", 0x1001, 7)


def test_c_array_text():
    blob = Blob("rv32imc", "rfc", b"\x82\x80\x01\x00", 0, data=b"abc", imports=[5])
    text = to_c_array(blob.to_bytes(), "demo")
    assert "FJIT_BLOB_ALIGN const uint8_t demo[" in text
    assert f"const size_t demo_len = {len(blob.to_bytes())}u;" in text
    assert "target rv32imc, profile rfc" in text and "[0x5]" in text
    body = text.split("= {")[1].split("};")[0]
    values = bytes(int(v, 16) for v in body.replace(",", " ").split())
    assert values == blob.to_bytes()


def test_elf_object_links_with_hard_float_firmware(tmp_path):
    """The Arm object makes no float-ABI claim (its entry takes a pointer), so hard-float
    Cortex-M4F firmware links it too. (RISC-V objects must state one: soft, ilp32.)"""
    arch = ARCHES["armv7m"]
    blob = make_probe_blob(arch, tmp_path)
    obj = tmp_path / "probe.o"
    obj.write_bytes(to_elf_object(blob, "probe"))
    build_firmware(
        arch,
        tmp_path,
        defines=("FW_LINKED=probe",),
        extra=(obj,),
        cflags=("-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
    )


def test_elf_object_links_into_esp8266_firmware(tmp_path):
    """Xtensa (call0): the object links; running it is the Xtensa harness's business."""
    arch = ARCHES["xtensa-lx106"]
    source = tmp_path / "x.S"
    source.write_text("\t.text\n\t.align 4\n\t.global app\napp:\n\tmovi\ta2, 0\n\tret.n\n")
    code, offsets = assemble_code(arch, source, tmp_path)
    blob = Blob("xtensa-lx106", "femto", code, offsets["app"], data=b"\x01\x02", budget=200)
    obj = tmp_path / "app.o"
    obj.write_bytes(to_elf_object(blob, "app"))
    assert "Machine:                           Tensilica Xtensa" in readelf(arch, "-h", obj)
    elf = build_firmware(arch, tmp_path / "fw", defines=("FW_LINKED=app",), extra=(obj,))
    symbols = Firmware(arch, elf).symbols
    assert symbols["app"] % 4 == 0 and symbols["app_blob"] % 8 == 0


@pytest.mark.parametrize("name", ["1abc", "a-b", "", "int", "a b", "é"])
def test_names_must_be_c_identifiers(name):
    blob = Blob("armv7m", "femto", b"\x70\x47", 0)
    with pytest.raises(TranslateError, match="not a C identifier"):
        to_elf_object(blob, name)
    with pytest.raises(TranslateError, match="not a C identifier"):
        to_c_array(blob.to_bytes(), name)


def test_c_array_refuses_a_non_blob():
    with pytest.raises(LoadError):
        to_c_array(b"not a blob at all" * 5, "x")


def test_render_output_formats():
    blob = Blob("armv7m", "femto", b"\x70\x47", 0)
    assert render_output(blob, "blob", "x") == blob.to_bytes()
    assert render_output(blob, "elf", "x")[:4] == b"\x7fELF"
    assert render_output(blob, "c", "x").startswith(b"/* Generated by femtojit")
    assert FORMATS == ("blob", "elf", "c")
    with pytest.raises(TranslateError, match="unknown output format"):
        render_output(blob, "hex", "x")


@pytest.mark.parametrize(
    "stem, name",
    [("fletcher32", "fletcher32"), ("fletcher-32", "fletcher_32"), ("1st", "_1st"),
     ("int", "_int"), ("", "_"), ("café", "caf_")],
)  # fmt: skip
def test_symbol_name_from_a_file_name(stem, name):
    assert symbol_name_for(stem) == name
    assert check_symbol_name(name) == name
