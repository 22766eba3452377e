"""Recognise a program's format from its content (never from the file name).

ELF and containers carry magic bytes. Text assembly is recognised as UTF-8 text with no control
characters whose first line of substance starts with an instruction mnemonic, a label or a
directive; other text is refused with a hint, and everything else is raw bytecode. Raw bytecode
is practically never such text: almost every program has NUL bytes and opcodes above 0x7f
(exit is 0x95).
"""

from __future__ import annotations

import re

from femtojit.loaders.container import MAGICS
from femtojit.loaders.elf import ELF_MAGIC

KINDS = ("elf", "container", "asm", "raw")

_ALU = "add|sub|mul|div|sdiv|mod|smod|or|and|lsh|rsh|arsh|xor|mov|neg"
_JCOND = "jeq|jgt|jge|jset|jne|jsgt|jsge|jlt|jle|jslt|jsle"
#: First tokens of assembly lines (bpf_conformance syntax plus Femto-Container's lddwd/lddwr).
_MNEMONIC = re.compile(
    rf"""(?x)
    (?:{_ALU})(?:32|64)?
    | (?:le|be|bswap|swap)(?:16|32|64)
    | movsx(?:8|16|32)(?:32|64)
    | lddw[dr]?
    | ldx(?:s?b|s?h|s?w|dw)
    | st[x]?(?:b|h|w|dw)
    | lock
    | (?:{_JCOND})(?:32)?
    | ja(?:32)?
    | call | callx | exit
    """
)
_LABEL = re.compile(r"[A-Za-z_.$][\w.$]*:")
_DIRECTIVE = re.compile(r"\.[A-Za-z_][\w.]*")
_COMMENT_STARTS = ("#", ";", "//")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def as_assembly_text(raw: bytes) -> str | None:
    """The decoded text if `raw` is text (UTF-8, no control characters), else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.removeprefix("\ufeff")
    if _CONTROL.search(text):
        return None
    return text


def looks_like_assembly(text: str) -> bool:
    """True if the first line that is not blank or a comment starts with an instruction
    mnemonic, a label definition or a directive. Only the first such line decides: C source
    (`int f(...)`, `static ...`) is not taken for assembly, while a typo further down still
    reaches the assembler, which reports it with its line number."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(_COMMENT_STARTS):
            continue
        first = stripped.split()[0]
        return bool(
            _MNEMONIC.fullmatch(first) or _LABEL.fullmatch(first) or _DIRECTIVE.fullmatch(first)
        )
    return False


def detect_kind(raw: bytes) -> str:
    """One of KINDS; "text" is returned for text that is not assembly (the caller says why)."""
    if raw[:4] == ELF_MAGIC:
        return "elf"
    if raw[:4] in MAGICS:
        return "container"
    text = as_assembly_text(raw)
    if text is not None and text.strip():
        return "asm" if looks_like_assembly(text) else "text"
    return "raw"
