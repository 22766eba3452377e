"""Assemble many small items with one GNU as run and return each item's address and bytes.

Each item (one or more assembly lines) is preceded by a label `fj_item_<n>`; the object
file's symbol table gives where each item starts, so items of any length (16/32-bit Thumb,
compressed RISC-V, IT blocks) come back without parsing a disassembly. Errors name the
item that failed, with its text.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from conftest import require_tool

THUMB_AS = ("arm-none-eabi-as", ["-mthumb", "-mcpu=cortex-m4", "-mimplicit-it=never"])
THUMB_PROLOGUE = ".syntax unified\n.thumb\n.text\n.p2align 2\n"
RV32_AS = ("riscv64-unknown-elf-as", ["-march=rv32imc", "-mabi=ilp32"])
RV32_PROLOGUE = ".option norelax\n.text\n.p2align 2\n"
THUMB_OBJDUMP = ("arm-none-eabi-objdump", ["-b", "binary", "-m", "arm", "-M", "force-thumb"])
RV32_OBJDUMP = (
    "riscv64-unknown-elf-objdump",
    ["-b", "binary", "-m", "riscv:rv32", "-M", "no-aliases"],
)


class AssemblerRejected(AssertionError):
    """The oracle refused some items: their text and its messages."""


def _source(prologue: str, items: Sequence[str]) -> tuple[str, list[int]]:
    """The source text and, for each source line, the item it belongs to (-1: none)."""
    lines = prologue.rstrip("\n").split("\n")
    owner = [-1] * len(lines)
    for index, item in enumerate(items):
        lines.append(f"fj_item_{index}:")
        owner.append(index)
        for line in item.split("\n"):
            lines.append(line)
            owner.append(index)
    lines.append(f"fj_item_{len(items)}:")
    owner.append(-1)
    return "\n".join(lines) + "\n", owner


def assemble(
    tool: tuple[str, list[str]], prologue: str, items: Sequence[str]
) -> list[tuple[int, bytes]]:
    """(address, bytes) of every item, in order."""
    from elftools.elf.elffile import ELFFile

    program, flags = tool
    path = require_tool(program)
    source, owner = _source(prologue, items)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "items.s"
        obj = Path(tmp) / "items.o"
        src.write_text(source)
        run = subprocess.run(
            [path, *flags, "-o", str(obj), str(src)], capture_output=True, text=True
        )
        # a warning on an item (UNPREDICTABLE, erratum) makes it no oracle for that item
        if run.returncode != 0 or _item_messages(run.stderr, owner):
            raise AssemblerRejected(_explain(run.stderr, owner, items))
        with obj.open("rb") as handle:
            elf = ELFFile(handle)
            text = elf.get_section_by_name(".text").data()
            symbols = {
                symbol.name: symbol["st_value"]
                for symbol in elf.get_section_by_name(".symtab").iter_symbols()
                if symbol.name.startswith("fj_item_")
            }
    starts = [symbols[f"fj_item_{n}"] for n in range(len(items) + 1)]
    return [(starts[n], text[starts[n] : starts[n + 1]]) for n in range(len(items))]


def _item_messages(stderr: str, owner: list[int]) -> list[int]:
    lines = [int(m.group(1)) - 1 for m in re.finditer(r":(\d+): (?:Error|Warning): ", stderr)]
    return [line for line in lines if 0 <= line < len(owner) and owner[line] >= 0]


def _explain(stderr: str, owner: list[int], items: Sequence[str]) -> str:
    report = []
    for match in re.finditer(r":(\d+): (?:Error|Warning): (.*)", stderr):
        line = int(match.group(1)) - 1
        index = owner[line] if 0 <= line < len(owner) else -1
        where = f"item {index} {items[index]!r}" if index >= 0 else f"line {line + 1}"
        report.append(f"{where}: {match.group(2)}")
    return "assembler rejected:\n" + "\n".join(report[:60] or [stderr[:4000]])


def rejected(tool: tuple[str, list[str]], prologue: str, items: Sequence[str]) -> set[int]:
    """The indices of the one-line items the assembler refuses (with an error)."""
    program, flags = tool
    path = require_tool(program)
    source, owner = _source(prologue, items)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "items.s"
        src.write_text(source)
        run = subprocess.run(
            [path, *flags, "-o", str(Path(tmp) / "items.o"), str(src)],
            capture_output=True,
            text=True,
        )
    refused = set()
    for match in re.finditer(r":(\d+): Error: ", run.stderr):
        line = int(match.group(1)) - 1
        if 0 <= line < len(owner) and owner[line] >= 0:
            refused.add(owner[line])
    return refused


def disassemble(tool: tuple[str, list[str]], chunks: Sequence[bytes]) -> list[str]:
    """The disassembler's text for each chunk (each one instruction), in one run."""
    program, flags = tool
    path = require_tool(program)
    starts, offset = [], 0
    for chunk in chunks:
        starts.append(offset)
        offset += len(chunk)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "code.bin"
        raw.write_bytes(b"".join(chunks))
        run = subprocess.run(
            [path, *flags, "-D", str(raw)], capture_output=True, text=True, check=True
        )
    lines = {}
    for match in re.finditer(r"^\s*([0-9a-f]+):\t(?:[0-9a-f]+ ?)+\s*\t(.*)$", run.stdout, re.M):
        lines[int(match.group(1), 16)] = match.group(2).replace("\t", " ").strip()
    return [lines.get(start, "<no instruction here>") for start in starts]
