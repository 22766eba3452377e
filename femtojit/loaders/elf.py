"""clang `-target bpf` relocatable objects (`.o`) → Program.

What the loader does with an object, section by section:

- executable sections (`.text` first, then `.text.*`, `section("name")` functions, in section
  header order) are concatenated into one text; local calls between them are fixed up from
  their R_BPF_64_32 relocations (target = symbol + (imm + 1) * 8, as libbpf computes it);
- every `.rodata` / `.rodata.*` section (`.rodata.str1.1`, `.rodata.cst16`, ...) is merged into
  one read-only image, each at its own alignment;
- `.data` / `.data.*` are merged into the data image, then `.bss` / `.bss.*` and COMMON symbols
  are appended zero-filled (aligned);
- each R_BPF_64_64 relocation on an LDDW becomes an LDDWD (0xb8, .data-relative) or LDDWR
  (0xd8, .rodata-relative) whose 64-bit immediate is the symbol's offset in the merged image
  plus the addend (REL: the LDDW's own immediate);
- relocations of non-allocated sections (BTF, DWARF) are ignored; anything else (an unknown
  relocation type, an undefined symbol, a map, a pointer stored in .data) is a LoadError naming
  the symbol and the instruction.

pyelftools does the ELF parsing. It raises many different exception types on corrupt input,
so its use is confined to `_read_object`, which copies what is needed into plain records and
turns any parsing failure into a LoadError; everything after that works on those records.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from femtojit import isa
from femtojit.errors import LoadError
from femtojit.memmap import REGION_SLOT
from femtojit.program import Function, Program

ELF_MAGIC = b"\x7fELF"
EM_BPF = 247

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_32 = 10
RELOCATION_NAMES = {
    R_BPF_NONE: "R_BPF_NONE",
    R_BPF_64_64: "R_BPF_64_64",
    R_BPF_64_ABS64: "R_BPF_64_ABS64",
    R_BPF_64_ABS32: "R_BPF_64_ABS32",
    R_BPF_64_NODYLD32: "R_BPF_64_NODYLD32",
    R_BPF_64_32: "R_BPF_64_32",
}

#: Largest .data (with .bss) or .rodata image: one region slot of the canonical memory map.
MAX_IMAGE = REGION_SLOT

_ELF64_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION_HEADER_SIZE = 64
_SYMBOL_SIZE = 24
_REL_SIZE = 16
_RELA_SIZE = 24


# --- plain records copied out of pyelftools ----------------------------------------------


@dataclass
class _Section:
    index: int
    name: str  # "#<index>" for a section without a name, so that messages stay readable
    type: str  # "SHT_PROGBITS", "SHT_NOBITS", ... (str(int) for unknown types)
    flags: int
    align: int
    size: int
    data: bytes  # b"" for NOBITS
    info: int


@dataclass
class _Symbol:
    index: int
    name: str
    type: str  # "STT_FUNC", "STT_OBJECT", "STT_SECTION", ...
    bind: str  # "STB_GLOBAL", ...
    shndx: int | str  # section index, or "SHN_UNDEF" / "SHN_ABS" / "SHN_COMMON"
    value: int
    size: int


@dataclass
class _Relocation:
    offset: int
    type: int
    symbol: int
    addend: int | None  # None for REL (implicit addend)


@dataclass
class _RelocationSection:
    name: str
    target: int  # index of the section the relocations apply to
    entries: list[_Relocation]


@dataclass
class _Object:
    sections: list[_Section]
    symbols: list[_Symbol]
    relocation_sections: list[_RelocationSection] = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------


def _check_header(raw: bytes, origin: str) -> None:
    """Check the fixed ELF header ourselves, so that messages are precise and pyelftools only
    ever sees a section header table that lies inside the file."""
    if len(raw) < _ELF64_HEADER.size:
        raise LoadError(
            f"{origin}: truncated ELF header: {len(raw)} bytes, need {_ELF64_HEADER.size}"
        )
    ident = raw[:16]
    if ident[:4] != ELF_MAGIC:
        raise LoadError(f"{origin}: not an ELF file (magic {ident[:4]!r})")
    if ident[4] != 2:
        raise LoadError(f"{origin}: not a 64-bit ELF object (EI_CLASS {ident[4]}); "
                        "eBPF objects are ELF64")
    if ident[5] != 1:
        raise LoadError(f"{origin}: not a little-endian ELF object (EI_DATA {ident[5]}); "
                        "compile with -target bpf (or bpfel)")
    (_, e_type, e_machine, _, _, _, e_shoff, _, _, _, _, e_shentsize, e_shnum,
     e_shstrndx) = _ELF64_HEADER.unpack_from(raw)
    if e_machine != EM_BPF:
        raise LoadError(
            f"{origin}: ELF machine {e_machine} is not eBPF ({EM_BPF}); compile with clang "
            "-target bpf"
        )
    if e_type != 1:
        raise LoadError(
            f"{origin}: ELF type {e_type} is not a relocatable object (1); give the output of "
            "clang -c, not a linked file"
        )
    if e_shnum == 0 or e_shoff == 0:
        raise LoadError(f"{origin}: the ELF object has no section header table")
    if e_shentsize != _SECTION_HEADER_SIZE:
        raise LoadError(
            f"{origin}: ELF section header size {e_shentsize}, expected {_SECTION_HEADER_SIZE}"
        )
    table_end = e_shoff + e_shnum * e_shentsize
    if table_end > len(raw):
        raise LoadError(
            f"{origin}: truncated ELF object: the section header table ends at byte {table_end} "
            f"(e_shoff {e_shoff} + e_shnum {e_shnum} x 64), the file has {len(raw)}"
        )
    if e_shstrndx >= e_shnum:
        raise LoadError(
            f"{origin}: ELF section name table index {e_shstrndx} is not below e_shnum {e_shnum}"
        )


def _read_object(raw: bytes, origin: str) -> _Object:
    """Copy sections, symbols and relocations out of the object into plain records."""
    _check_header(raw, origin)
    try:
        return _copy_out(raw, origin)
    except LoadError:
        raise
    except Exception as error:  # noqa: BLE001 - pyelftools raises arbitrary types on bad input
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LoadError(f"{origin}: malformed ELF object ({detail})") from None


def _copy_out(raw: bytes, origin: str) -> _Object:
    import io

    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(raw))
    sections: list[_Section] = []
    symbols: list[_Symbol] = []
    relocation_sections: list[_RelocationSection] = []
    symtab_index = None
    for index in range(elf.num_sections()):
        section = elf.get_section(index)
        sh_type = section["sh_type"]
        sh_type = sh_type if isinstance(sh_type, str) else str(sh_type)
        size = section["sh_size"]
        offset = section["sh_offset"]
        if sh_type not in ("SHT_NOBITS", "SHT_NULL") and offset + size > len(raw):
            raise LoadError(
                f"{origin}: truncated ELF object: section {index} ({section.name or '?'}) "
                f"spans bytes {offset}..{offset + size}, the file has {len(raw)}"
            )
        data = b""
        if sh_type not in ("SHT_NOBITS", "SHT_NULL") and size:
            data = raw[offset:offset + size]
        sections.append(
            _Section(index, section.name or f"#{index}", sh_type, section["sh_flags"],
                     section["sh_addralign"], size, data, section["sh_info"])
        )
        if sh_type == "SHT_SYMTAB":
            if symtab_index is not None:
                raise LoadError(f"{origin}: the ELF object has two symbol tables")
            symtab_index = index
            if section["sh_entsize"] != _SYMBOL_SIZE:
                raise LoadError(
                    f"{origin}: symbol table entry size {section['sh_entsize']}, "
                    f"expected {_SYMBOL_SIZE}"
                )
            for number, symbol in enumerate(section.iter_symbols()):
                info = symbol["st_info"]
                symbols.append(
                    _Symbol(number, symbol.name, str(info["type"]), str(info["bind"]),
                            symbol["st_shndx"], symbol["st_value"], symbol["st_size"])
                )
    for index in range(elf.num_sections()):
        section = elf.get_section(index)
        if section["sh_type"] not in ("SHT_REL", "SHT_RELA"):
            continue
        is_rela = section["sh_type"] == "SHT_RELA"
        expected = _RELA_SIZE if is_rela else _REL_SIZE
        if section["sh_entsize"] != expected:
            raise LoadError(
                f"{origin}: relocation section {section.name} has entry size "
                f"{section['sh_entsize']}, expected {expected}"
            )
        entries = [
            _Relocation(
                entry["r_offset"],
                entry["r_info_type"],
                entry["r_info_sym"],
                entry["r_addend"] if is_rela else None,
            )
            for entry in (relocation.entry for relocation in section.iter_relocations())
        ]
        relocation_sections.append(
            _RelocationSection(section.name or f"#{index}", section["sh_info"], entries)
        )
    return _Object(sections, symbols, relocation_sections)


# --- layout -------------------------------------------------------------------------------


def _align_up(value: int, alignment: int) -> int:
    alignment = max(1, alignment)
    return (value + alignment - 1) // alignment * alignment


def _is_named(name: str, prefix: str) -> bool:
    """`.data` matches `.data` and `.data.anything`, not `.database`."""
    return name == prefix or name.startswith(prefix + ".")


@dataclass
class _Layout:
    """Where every loaded section ended up: (image, byte offset in that image)."""

    text: bytearray = field(default_factory=bytearray)
    data: bytearray = field(default_factory=bytearray)
    rodata: bytearray = field(default_factory=bytearray)
    text_sections: dict[int, int] = field(default_factory=dict)  # section index -> text offset
    data_sections: dict[int, int] = field(default_factory=dict)  # section index -> data offset
    rodata_sections: dict[int, int] = field(default_factory=dict)
    common_symbols: dict[int, int] = field(default_factory=dict)  # symbol index -> data offset


def _place(image: bytearray, section: _Section, origin: str) -> int:
    """Append a section to an image at its alignment; return its offset there."""
    if section.align > 4096 or section.align & (section.align - 1):
        raise LoadError(
            f"{origin}: section {section.name} has alignment {section.align}, "
            "not a power of two up to 4096"
        )
    offset = _align_up(len(image), section.align)
    if offset + section.size > MAX_IMAGE:
        raise LoadError(
            f"{origin}: section {section.name} ({section.size} bytes) does not fit in a "
            f"{MAX_IMAGE}-byte memory region"
        )
    image.extend(bytes(offset - len(image)))
    if section.type == "SHT_NOBITS":
        image.extend(bytes(section.size))
    else:
        image.extend(section.data)
    return offset


def _lay_out(obj: _Object, origin: str) -> _Layout:
    layout = _Layout()
    allocated = [s for s in obj.sections if s.flags & SHF_ALLOC and s.size]
    executable = [s for s in allocated if s.flags & SHF_EXECINSTR]
    executable.sort(key=lambda s: (s.name != ".text", s.index))
    for section in executable:
        if section.type != "SHT_PROGBITS":
            raise LoadError(f"{origin}: executable section {section.name} has no contents")
        if section.size % isa.SLOT_SIZE:
            raise LoadError(
                f"{origin}: executable section {section.name} is {section.size} bytes, "
                "not a multiple of 8"
            )
        layout.text_sections[section.index] = len(layout.text)
        layout.text.extend(section.data)

    others = [s for s in allocated if not s.flags & SHF_EXECINSTR]
    for section in others:
        if _is_named(section.name, ".rodata") and section.type == "SHT_PROGBITS":
            layout.rodata_sections[section.index] = _place(layout.rodata, section, origin)
    for section in others:
        if _is_named(section.name, ".data") and section.type == "SHT_PROGBITS":
            layout.data_sections[section.index] = _place(layout.data, section, origin)
    for section in others:
        if _is_named(section.name, ".bss") and section.type == "SHT_NOBITS":
            layout.data_sections[section.index] = _place(layout.data, section, origin)
    for symbol in obj.symbols:
        if symbol.shndx == "SHN_COMMON":
            # For COMMON symbols st_value is the required alignment.
            offset = _align_up(len(layout.data), min(max(symbol.value, 1), 4096))
            if offset + symbol.size > MAX_IMAGE:
                raise LoadError(
                    f"{origin}: COMMON symbol {symbol.name!r} ({symbol.size} bytes) does not "
                    f"fit in a {MAX_IMAGE}-byte memory region"
                )
            layout.data.extend(bytes(offset - len(layout.data) + symbol.size))
            layout.common_symbols[symbol.index] = offset
    return layout


# --- relocation ---------------------------------------------------------------------------


def _symbol_label(obj: _Object, symbol: _Symbol) -> str:
    if symbol.type == "STT_SECTION" and isinstance(symbol.shndx, int) and symbol.shndx < len(
        obj.sections
    ):
        return f"section {obj.sections[symbol.shndx].name}"
    return f"symbol {symbol.name!r}" if symbol.name else f"symbol #{symbol.index}"


def _data_target(obj: _Object, layout: _Layout, symbol: _Symbol, where: str) -> tuple[int, int]:
    """(opcode, image offset of the symbol) for an LDDW that takes a data address."""
    label = _symbol_label(obj, symbol)
    if symbol.shndx == "SHN_UNDEF":
        raise LoadError(f"{where}: relocation against undefined {label} (extern symbols "
                        "cannot be resolved in a container)")
    if symbol.shndx == "SHN_COMMON":
        return isa.OP_LDDWD, layout.common_symbols[symbol.index]
    if not isinstance(symbol.shndx, int) or symbol.shndx >= len(obj.sections):
        raise LoadError(f"{where}: relocation against {label} in section {symbol.shndx}, "
                        "which femtojit does not load")
    section = obj.sections[symbol.shndx]
    if symbol.shndx in layout.data_sections:
        return isa.OP_LDDWD, layout.data_sections[symbol.shndx] + symbol.value
    if symbol.shndx in layout.rodata_sections:
        return isa.OP_LDDWR, layout.rodata_sections[symbol.shndx] + symbol.value
    if symbol.shndx in layout.text_sections:
        raise LoadError(f"{where}: takes the address of function code ({label}), which "
                        "eBPF cannot do")
    if _is_named(section.name, "maps") or section.name in (".maps", "maps") or (
        section.name.startswith("maps/")
    ):
        raise LoadError(f"{where}: map relocation against {label} in {section.name}: "
                        "eBPF maps are not supported by Femto-Containers")
    raise LoadError(f"{where}: relocation against {label} in section {section.name}, "
                    "which is not .data*, .rodata* or .bss*")


def _relocate_lddw(obj: _Object, layout: _Layout, text: bytearray, position: int,
                   relocation: _Relocation, symbol: _Symbol, where: str) -> None:
    if position + 2 * isa.SLOT_SIZE > len(text) or text[position] != isa.OP_LDDW:
        raise LoadError(f"{where}: R_BPF_64_64 relocation on an instruction that is not an "
                        f"LDDW (opcode {text[position]:#04x})")
    first = isa.decode_slot(text, position)
    second = isa.decode_slot(text, position + isa.SLOT_SIZE)
    addend = isa.imm64(first, second) if relocation.addend is None else relocation.addend
    opcode, offset = _data_target(obj, layout, symbol, where)
    value = isa.u64(offset + addend)
    text[position:position + 2 * isa.SLOT_SIZE] = isa.encode([
        first._replace(opcode=opcode, imm=isa.s32(value)),
        second._replace(imm=isa.s32(value >> 32)),
    ])


def _relocate_call(obj: _Object, layout: _Layout, text: bytearray, position: int,
                   relocation: _Relocation, symbol: _Symbol, where: str) -> None:
    insn = isa.decode_slot(text, position)
    label = _symbol_label(obj, symbol)
    if insn.opcode != isa.OP_CALL or insn.src != isa.CALL_LOCAL:
        raise LoadError(f"{where}: R_BPF_64_32 relocation against {label} on an instruction "
                        f"that is not a local call (opcode {insn.opcode:#04x}, src {insn.src})")
    if symbol.shndx == "SHN_UNDEF":
        raise LoadError(f"{where}: call to undefined function {label} (extern functions "
                        "cannot be resolved in a container)")
    if not isinstance(symbol.shndx, int) or symbol.shndx not in layout.text_sections:
        raise LoadError(f"{where}: call to {label}, which is not in an executable section")
    section = obj.sections[symbol.shndx]
    if relocation.addend is None:
        # libbpf's rule: the callee is at symbol + (imm + 1) slots.
        target = symbol.value + (insn.imm + 1) * isa.SLOT_SIZE
    else:
        target = symbol.value + relocation.addend
    if not 0 <= target < section.size or target % isa.SLOT_SIZE:
        raise LoadError(f"{where}: call to {label} lands at byte {target} of {section.name}, "
                        f"not the start of a slot of its {section.size} bytes")
    target_slot = (layout.text_sections[symbol.shndx] + target) // isa.SLOT_SIZE
    relative = target_slot - (position // isa.SLOT_SIZE + 1)
    text[position:position + isa.SLOT_SIZE] = insn._replace(imm=relative).encode()


def _relocate(obj: _Object, layout: _Layout, origin: str) -> None:
    """Apply every relocation of the executable sections; refuse those of data sections."""
    for rel_section in obj.relocation_sections:
        if rel_section.target >= len(obj.sections):
            raise LoadError(f"{origin}: relocation section {rel_section.name} applies to "
                            f"section {rel_section.target}, which does not exist")
        target = obj.sections[rel_section.target]
        if not target.flags & SHF_ALLOC:
            continue  # BTF, DWARF and other non-loaded information
        for relocation in rel_section.entries:
            if relocation.type == R_BPF_NONE:
                continue
            kind = RELOCATION_NAMES.get(relocation.type, f"type {relocation.type}")
            if relocation.symbol >= len(obj.symbols):
                raise LoadError(f"{origin}: {rel_section.name}: {kind} relocation names symbol "
                                f"#{relocation.symbol}, beyond the symbol table")
            symbol = obj.symbols[relocation.symbol]
            label = _symbol_label(obj, symbol)
            if rel_section.target not in layout.text_sections:
                if rel_section.target in layout.data_sections or (
                    rel_section.target in layout.rodata_sections
                ):
                    raise LoadError(
                        f"{origin}: {target.name}+{relocation.offset:#x} holds the address of "
                        f"{label} ({kind}): pointers in initialised data cannot be relocated "
                        "in a container"
                    )
                continue  # a section femtojit does not load (license, maps, ...)
            if relocation.offset % isa.SLOT_SIZE or relocation.offset >= target.size:
                raise LoadError(f"{origin}: {rel_section.name}: {kind} relocation at byte "
                                f"{relocation.offset:#x}, not a slot of {target.name}")
            position = layout.text_sections[rel_section.target] + relocation.offset
            where = (f"{origin}: instruction {position // isa.SLOT_SIZE} "
                     f"({target.name}+{relocation.offset:#x})")
            if relocation.type == R_BPF_64_64:
                if relocation.offset + 2 * isa.SLOT_SIZE > target.size:
                    raise LoadError(f"{where}: R_BPF_64_64 relocation on the last slot of "
                                    f"{target.name}, where no LDDW fits")
                _relocate_lddw(obj, layout, layout.text, position, relocation, symbol, where)
            elif relocation.type == R_BPF_64_32:
                _relocate_call(obj, layout, layout.text, position, relocation, symbol, where)
            else:
                raise LoadError(f"{where}: unsupported relocation {kind} against {label}")


# --- functions ----------------------------------------------------------------------------


def _functions(obj: _Object, layout: _Layout, origin: str) -> tuple[list[Function], int]:
    """Global functions (name, slot), and the default entry: the first function of .text."""
    functions: list[Function] = []
    first_in_text: int | None = None
    for symbol in obj.symbols:
        if symbol.type != "STT_FUNC" or symbol.shndx not in layout.text_sections:
            continue
        section = obj.sections[symbol.shndx]  # type: ignore[index]
        if symbol.value % isa.SLOT_SIZE or symbol.value >= section.size:
            raise LoadError(f"{origin}: function {symbol.name!r} at byte {symbol.value} of "
                            f"{section.name} is not the start of a slot")
        slot = (layout.text_sections[symbol.shndx] + symbol.value) // isa.SLOT_SIZE
        if section.name == ".text" and (first_in_text is None or slot < first_in_text):
            first_in_text = slot
        if symbol.bind in ("STB_GLOBAL", "STB_WEAK") and symbol.name:
            functions.append(Function(symbol.name, slot))
    functions.sort(key=lambda f: (f.slot, f.name))
    names = [f.name for f in functions]
    for name in names:
        if names.count(name) > 1:
            raise LoadError(f"{origin}: function {name!r} is defined twice")
    return functions, first_in_text if first_in_text is not None else 0


def load_elf(raw: bytes, origin: str = "<bytes>") -> Program:
    """Load a clang -target bpf relocatable object."""
    obj = _read_object(bytes(raw), origin)
    layout = _lay_out(obj, origin)
    if not layout.text:
        raise LoadError(f"{origin}: the ELF object has no code (no non-empty executable "
                        "section)")
    _relocate(obj, layout, origin)
    functions, entry = _functions(obj, layout, origin)
    return Program(
        isa.decode(bytes(layout.text)),
        data=bytes(layout.data),
        rodata=bytes(layout.rodata),
        functions=functions,
        entry=entry,
        origin=f"{origin} (ELF)",
    )
