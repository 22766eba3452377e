"""Program loading: one entry point, `load`, whatever the input format.

The format is recognised from the content (see `detect`): an ELF object from clang
`-target bpf`, a Femto-Container `.bin`, text assembly, or raw little-endian bytecode. `kind`
forces one. Every problem with the input is a LoadError (or the assembler's AsmError) with a
one-line message; nothing else escapes for bad input.
"""

from __future__ import annotations

import os
from pathlib import Path

from femtojit.errors import LoadError
from femtojit.loaders.detect import KINDS, as_assembly_text, detect_kind
from femtojit.program import Program

__all__ = ["KINDS", "load", "load_bytes", "read_source"]


def read_source(source: str | os.PathLike | bytes | bytearray | memoryview) -> tuple[bytes, str]:
    """(content, name for messages). A str or PathLike is a path; bytes are the content."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    if not isinstance(source, (str, os.PathLike)):
        raise LoadError(f"cannot load a {type(source).__name__}: give a path or bytes")
    path = Path(source)
    try:
        return path.read_bytes(), str(path)
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LoadError(f"{path}: is a directory, not a program file") from None
    except PermissionError:
        raise LoadError(f"{path}: permission denied") from None
    except OSError as error:
        raise LoadError(f"{path}: cannot read: {error.strerror or error}") from None


def load(
    source: str | os.PathLike | bytes,
    *,
    entry: str | None = None,
    kind: str | None = None,
) -> Program:
    """Load a program from a path or bytes.

    entry: name of the function to start at (from the container's function table or the ELF's
    global functions); an unknown name is a LoadError that lists the functions.
    kind: "elf", "container", "asm" or "raw" to skip detection.
    """
    raw, origin = read_source(source)
    return load_bytes(raw, origin=origin, entry=entry, kind=kind)


def load_bytes(
    raw: bytes, *, origin: str = "<bytes>", entry: str | None = None, kind: str | None = None
) -> Program:
    """`load` for content already in memory; `origin` names it in messages."""
    if kind is not None and kind not in KINDS:
        raise LoadError(f"unknown program kind {kind!r} (expected one of {', '.join(KINDS)})")
    if not raw:
        raise LoadError(f"{origin}: empty file")
    chosen = kind or detect_kind(raw)
    if chosen == "elf":
        from femtojit.loaders.elf import load_elf

        program = load_elf(raw, origin)
    elif chosen == "container":
        from femtojit.loaders.container import read_container

        program = read_container(raw, origin)
    elif chosen == "asm":
        program = _assemble(raw, origin)
    elif chosen == "raw":
        from femtojit.loaders.raw import load_raw

        program = load_raw(raw, origin)
    else:  # text that is not assembly
        raise LoadError(
            f"{origin}: not a program: text, but not eBPF assembly (its first line is not an "
            "instruction or a label); C source must be compiled first (clang -target bpf -c)"
        )
    return _select_entry(program, entry, origin)


def _assemble(raw: bytes, origin: str) -> Program:
    text = as_assembly_text(raw)
    if text is None:
        raise LoadError(f"{origin}: not assembly: not UTF-8 text without control characters")
    from femtojit.asm import assemble_program

    program = assemble_program(text)
    if not program.slots:
        raise LoadError(f"{origin}: the assembly has no instructions")
    program.origin = f"{origin} (assembly)"
    return program


def _select_entry(program: Program, entry: str | None, origin: str) -> Program:
    if entry is None:
        return program
    for function in program.functions:
        if function.name == entry:
            return program.with_entry(entry)
    known = ", ".join(f.name for f in program.functions) or "none"
    raise LoadError(f"{origin}: no function named {entry!r} (functions: {known})")
