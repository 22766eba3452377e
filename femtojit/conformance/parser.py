"""Reader for bpf_conformance `.data` files, exactly as tests/conformance/NOTES.md section 3
describes the upstream parser, with two deliberate improvements:

- a RAW section written as rows of 8 two-digit hex byte tokens (the `negative/unused-*`
  files) is read as one slot per row, little-endian, instead of one word per token;
- an ERROR section that is present but empty means "must be rejected, message not
  checked" (expected_error == ""), where upstream skips the file.

A file that does not assemble is not an exception here: it comes back with `asm_error` set
and `skipped` explaining why, so a runner can list it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from femtojit import isa
from femtojit.errors import AsmError, LoadError
from femtojit.isa import Insn
from femtojit.program import Program

ASM, RESULT, MEM, RAW, IGNORE, ERROR = "asm", "result", "mem", "raw", "ignore", "error"
_BYTE_ROW_RE = re.compile(r"(?:[0-9a-fA-F]{2}\s+){7}[0-9a-fA-F]{2}\Z")


@dataclass
class ConformanceTest:
    """One .data file.

    slots            the program: `raw` when the file has a non-empty RAW section, else the
                     assembled `asm` (empty when it does not assemble)
    expected_result  r0 expected (full 64 bits), or None
    expected_error   the error text expected, "" for "rejected, message unchecked", or None
    skipped          why the test cannot run as written (upstream's skip rules), or None
    """

    name: str
    path: Path | None
    asm: str
    raw: list[Insn] | None
    slots: list[Insn]
    mem: bytes
    expected_result: int | None
    expected_error: str | None
    skipped: str | None = None
    asm_error: str | None = None

    @property
    def program(self) -> Program:
        return Program(list(self.slots), origin=f"{self.name}.data")

    @property
    def must_fail(self) -> bool:
        """True when the test expects the program to be rejected (ERROR without RESULT)."""
        return self.expected_error is not None and self.expected_result is None


def classify(line: str) -> str | None:
    """The section a directive line opens, by substring, first match wins (upstream's
    order); None for an unknown directive."""
    for needle, kind in (
        ("asm", ASM),
        ("result", RESULT),
        ("mem", MEM),
        ("raw", RAW),
        ("no register offset", IGNORE),
        (" c", IGNORE),
        ("error", ERROR),
    ):
        if needle in line:
            return kind
    return None


def _parse_u64(token: str, hex_only: bool = False) -> int:
    """stoull-like: hex when asked or when the token has 0x, else decimal; a leading '-'
    wraps modulo 2^64."""
    text = token.strip()
    negative = text.startswith("-")
    body = text[1:] if negative or text.startswith("+") else text
    if hex_only or "0x" in body:
        if body.lower().startswith("0x"):
            body = body[2:]
        if not re.fullmatch(r"[0-9a-fA-F]+", body):
            raise ValueError(f"bad hex number {token!r}")
        value = int(body, 16)
    else:
        if not re.fullmatch(r"[0-9]+", body):
            raise ValueError(f"bad number {token!r}")
        value = int(body, 10)
    if value >= 1 << 64:
        raise ValueError(f"number {token!r} does not fit in 64 bits")
    return (-value if negative else value) & 0xFFFFFFFFFFFFFFFF


def _parse_raw(lines: list[str]) -> list[Insn]:
    rows = [line.strip() for line in lines if line.strip()]
    if rows and all(_BYTE_ROW_RE.match(row) for row in rows):
        return [isa.decode_slot(bytes(int(tok, 16) for tok in row.split())) for row in rows]
    words = [_parse_u64(tok) for tok in " ".join(rows).split()]
    return [isa.decode_slot(word.to_bytes(8, "little")) for word in words]


def parse_text(text: str, name: str = "<text>", path: Path | None = None) -> ConformanceTest:
    """Parse the contents of one .data file."""
    sections: dict[str, list[str]] = {ASM: [], RESULT: [], MEM: [], RAW: [], ERROR: []}
    seen: set[str] = set()
    current: str | None = None
    unknown: str | None = None
    for raw_line in text.split("\n"):
        line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
        line = line.split("#", 1)[0]
        if "--" in line:
            kind = classify(line)
            if kind is None:
                unknown = unknown or line.strip()
                current = None
            else:
                current = kind
                seen.add(kind)
            continue
        if not line.strip() or current is None or current == IGNORE:
            continue
        sections[current].append(line)

    def fail(message: str) -> LoadError:
        return LoadError(f"{name}: {message}")

    try:
        raw = _parse_raw(sections[RAW]) if sections[RAW] else None
    except ValueError as err:
        raise fail(f"-- raw: {err}") from None
    try:
        mem = bytes(
            _parse_u64(tok, hex_only=True) & 0xFF for tok in " ".join(sections[MEM]).split()
        )
    except ValueError as err:
        raise fail(f"-- mem: {err}") from None
    expected_result = None
    if sections[RESULT]:
        try:
            expected_result = _parse_u64(sections[RESULT][-1])
        except ValueError as err:
            raise fail(f"-- result: {err}") from None
    expected_error = None
    if ERROR in seen:
        expected_error = sections[ERROR][-1].rstrip() if sections[ERROR] else ""

    asm = "\n".join(sections[ASM])
    slots: list[Insn] = []
    asm_error = None
    if raw:
        slots = raw
    elif sections[ASM]:
        from femtojit.asm import assemble

        try:
            slots = assemble(asm)
        except AsmError as err:
            asm_error = str(err)

    skipped = None
    if unknown is not None:
        skipped = f"unknown directive {unknown!r}"
    elif expected_result is None and expected_error is None:
        skipped = "no result or error"
    elif asm_error is not None:
        skipped = f"does not assemble: {asm_error}"
    elif not slots:
        skipped = "no instructions"
    return ConformanceTest(
        name=name,
        path=path,
        asm=asm,
        raw=raw,
        slots=slots,
        mem=mem,
        expected_result=expected_result,
        expected_error=expected_error,
        skipped=skipped,
        asm_error=asm_error,
    )


def parse_file(path: str | Path) -> ConformanceTest:
    """Parse one .data file; LoadError if it cannot be read or a number is malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LoadError(f"cannot read {path}: {err}") from None
    return parse_text(text, name=path.stem, path=path)


def load_suite(directory: str | Path) -> list[ConformanceTest]:
    """Every *.data file of a directory (not recursive), sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise LoadError(f"{directory} is not a directory")
    return [parse_file(path) for path in sorted(directory.glob("*.data"))]
