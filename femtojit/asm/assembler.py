"""Assembler for the bpf_conformance text syntax, plus femtojit's extensions.

The instruction syntax is exactly the one tests/conformance/NOTES.md section 4 describes, so
every conformance test assembles to the bytes its upstream assembler gives. femtojit adds
(documented in docs/assembly.md):

- comments: `#`, `;` or `//` to the end of the line (the conformance file reader strips `#`
  comments before the assembler sees the text);
- `label: instruction` on one line (upstream silently drops what follows a label);
- `lddwd %rN, IMM64|LABEL` (0xb8) and `lddwr %rN, IMM64|LABEL` (0xd8): address of .data /
  .rodata plus the immediate, where LABEL is a label defined in that section;
- `.insn 0xHHHHHHHHHHHHHHHH`: one raw slot, its 8 bytes in file order (what the
  disassembler prints for slots the syntax cannot express);
- sections and data: `.text`, `.data`, `.rodata`, with `.byte .half .word .dword` (comma
  separated values), `.ascii "..."`, `.asciz "..."` and `.zero N` in the data sections;
- `.globl NAME` (NAME is a function: Program.functions) and `.entry NAME` (Program.entry).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from femtojit import isa
from femtojit.asm import syntax
from femtojit.asm.syntax import NumberError
from femtojit.errors import AsmError
from femtojit.isa import Insn
from femtojit.program import Function, Program

TEXT, DATA, RODATA = ".text", ".data", ".rodata"
_DATA_WIDTHS = {".byte": 1, ".half": 2, ".word": 4, ".dword": 8}
_MEM_RE = re.compile(r"\[(%r[0-9]+)(?:([+-])([^\]]*))?\]\Z")
_INSN_RE = re.compile(r"0x([0-9a-fA-F]{16})\Z")


@dataclass
class _Fixup:
    """A label operand resolved after the whole text is read."""

    slot: int
    label: str
    field: str  # "off", "imm" (jump/call targets) or "data" (lddwd/lddwr address)
    line: int


def strip_comment(line: str) -> str:
    """The line without its comment (`#`, `;` or `//` to the end of the line); those
    characters inside a double-quoted string are kept."""
    in_string = False
    escaped = False
    for pos, char in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "#;" or line.startswith("//", pos):
            return line[:pos]
    return line


class _Assembler:
    def __init__(self) -> None:
        self.slots: list[Insn] = []
        self.section = TEXT
        self.data = {DATA: bytearray(), RODATA: bytearray()}
        # label -> (section, position: slot index in .text, byte offset in data sections)
        self.labels: dict[str, tuple[str, int]] = {}
        self.label_lines: dict[str, int] = {}
        self.fixups: list[_Fixup] = []
        self.first_exit: int | None = None
        self.globls: list[tuple[str, int]] = []
        self.entry: tuple[str, int] | None = None
        self.line = 0

    # -- driver ---------------------------------------------------------------------------

    def run(self, text: str) -> None:
        for self.line, raw_line in enumerate(text.split("\n"), start=1):
            self.statement(strip_comment(raw_line.rstrip("\r")).strip())
        self.resolve()

    def error(self, message: str) -> AsmError:
        return AsmError(message, self.line)

    def statement(self, text: str) -> None:
        if not text:
            return
        parts = text.split(None, 1)
        head, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        if head.endswith(":"):
            self.define_label(head[:-1])
            self.statement(rest.strip())
        elif head.startswith("."):
            self.directive(head, rest.strip())
        else:
            if self.section != TEXT:
                raise self.error(f"instruction {head!r} in the {self.section} section")
            self.instruction(head, rest)

    def define_label(self, name: str) -> None:
        if not syntax.LABEL_RE.match(name):
            raise self.error(f"bad label name {name!r}")
        if name == "exit":
            raise self.error("'exit' cannot be defined: it names the first exit instruction")
        if name in self.labels:
            raise self.error(
                f"duplicate label {name!r} (first defined on line {self.label_lines[name]})"
            )
        position = len(self.slots) if self.section == TEXT else len(self.data[self.section])
        self.labels[name] = (self.section, position)
        self.label_lines[name] = self.line

    # -- directives -----------------------------------------------------------------------

    def directive(self, name: str, rest: str) -> None:
        if name in (TEXT, DATA, RODATA):
            if rest:
                raise self.error(f"{name} takes no operands")
            self.section = name
        elif name in (".globl", ".global", ".entry"):
            if not syntax.LABEL_RE.match(rest):
                raise self.error(f"{name} needs one label name")
            if name == ".entry":
                if self.entry is not None:
                    raise self.error(".entry given twice")
                self.entry = (rest, self.line)
            else:
                self.globls.append((rest, self.line))
        elif name == ".insn":
            if self.section != TEXT:
                raise self.error(f".insn in the {self.section} section")
            match = _INSN_RE.match(rest)
            if not match:
                raise self.error(".insn needs one slot as 0x followed by 16 hex digits")
            self.slots.append(isa.decode_slot(bytes.fromhex(match.group(1))))
        elif name in _DATA_WIDTHS or name in (".ascii", ".asciz", ".zero"):
            if self.section == TEXT:
                raise self.error(f"{name} outside a .data or .rodata section")
            self.data[self.section] += self.data_bytes(name, rest)
        else:
            raise self.error(f"unknown directive {name!r}")

    def data_bytes(self, name: str, rest: str) -> bytes:
        if name == ".zero":
            if not re.fullmatch(r"[0-9]+|0x[0-9a-fA-F]+", rest):
                raise self.error(".zero needs a byte count")
            count = _int_auto(rest)
            if count > 1 << 24:
                raise self.error(f".zero {count}: too large")
            return bytes(count)
        if name in (".ascii", ".asciz"):
            strings = parse_strings(rest, self.error)
            if name == ".asciz":
                strings = [s + b"\0" for s in strings]
            return b"".join(strings)
        width = _DATA_WIDTHS[name]
        out = bytearray()
        for item in rest.split(","):
            item = item.strip()
            if not re.fullmatch(r"[+-]?[0-9]+|\+?0x[0-9a-fA-F]+", item):
                raise self.error(f"{name}: bad value {item!r}")
            value = _int_auto(item)
            if not -(1 << (8 * width - 1)) <= value < (1 << (8 * width)):
                raise self.error(f"{name}: value {item} does not fit in {width} byte(s)")
            out += (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
        return bytes(out)

    # -- instructions ---------------------------------------------------------------------

    def instruction(self, mnemonic: str, rest: str) -> None:
        operands = [tok[:-1] if tok.endswith(",") else tok for tok in rest.split()]
        try:
            self.encode(mnemonic, operands)
        except NumberError as err:
            raise self.error(str(err)) from None

    def expect(self, mnemonic: str, operands: list[str], count: int) -> None:
        if len(operands) != count:
            hint = ""
            if any("," in op for op in operands):
                hint = " (separate operands with a comma and a space)"
            raise self.error(
                f"{mnemonic} takes {count} operand{'s' if count != 1 else ''}, "
                f"got {len(operands)}{hint}"
            )

    def emit(self, insn: Insn, label: str | None = None, field: str = "off") -> None:
        if label is not None:
            self.fixups.append(_Fixup(len(self.slots), label, field, self.line))
        self.slots.append(insn)

    def target(self, text: str) -> tuple[int, str | None]:
        """A jump target: (numeric delta, None) or (0, label)."""
        if text.startswith(("+", "-")):
            return syntax.parse_off16(text), None
        return 0, text

    def mem(self, text: str) -> tuple[int, int]:
        """A memory operand [%rN], [%rN+OFF], [%rN-DEC] -> (register, offset)."""
        match = _MEM_RE.match(text)
        if not match:
            raise self.error(f"bad memory operand {text!r} (expected [%rN], [%rN+off], [%rN-off])")
        reg = syntax.parse_register(match.group(1))
        sign, number = match.group(2), match.group(3)
        if sign is None:
            return reg, 0
        if sign == "+":
            return reg, syntax.parse_off16("+" + number)
        if number.startswith("0x"):
            raise self.error(
                f"negative hex offset in {text!r} is not accepted: write it in decimal"
            )
        if not number.isdigit() or not number.isascii():
            raise self.error(f"bad offset in memory operand {text!r}")
        off = -int(number)
        if off < -(1 << 15):
            raise self.error(f"offset in {text!r} out of the 16-bit range -32768..32767")
        return reg, off

    def encode(self, m: str, ops: list[str]) -> None:
        reg = syntax.parse_register
        if m == "exit":
            self.expect(m, ops, 0)
            if self.first_exit is None:
                self.first_exit = len(self.slots)
            self.emit(Insn(isa.OP_EXIT))
        elif m in ("ja", "ja32"):
            self.expect(m, ops, 1)
            delta, label = self.target(ops[0])
            if m == "ja":
                self.emit(Insn(isa.OP_JA, off=delta), label, "off")
            else:
                self.emit(Insn(isa.OP_JA32, imm=delta), label, "imm")
        elif m == "call":
            self.encode_call(ops)
        elif m == "lock":
            self.encode_atomic(ops)
        elif m in syntax.WIDE:
            self.expect(m, ops, 2)
            dst = reg(ops[0])
            opcode = syntax.WIDE[m]
            label = None
            if m != "lddw" and syntax.LABEL_RE.match(ops[1]):
                value, label = 0, ops[1]
            else:
                value = syntax.parse_imm64(ops[1])
            self.emit(Insn(opcode, dst, 0, 0, isa.s32(value)), label, "data")
            self.emit(Insn(0, 0, 0, 0, isa.s32(value >> 32)))
        elif m in syntax.LDX:
            self.expect(m, ops, 2)
            dst = reg(ops[0])
            src, off = self.mem(ops[1])
            self.emit(Insn(syntax.LDX[m], dst, src, off))
        elif m in syntax.ST:
            self.expect(m, ops, 2)
            dst, off = self.mem(ops[0])
            self.emit(Insn(syntax.ST[m], dst, 0, off, syntax.parse_imm32(ops[1])))
        elif m in syntax.STX:
            self.expect(m, ops, 2)
            dst, off = self.mem(ops[0])
            self.emit(Insn(syntax.STX[m], dst, reg(ops[1]), off))
        elif m in syntax.MOVSX:
            self.expect(m, ops, 2)
            opcode, off = syntax.MOVSX[m]
            if not ops[1].startswith("%"):
                raise self.error(f"{m} takes a register source, not {ops[1]!r}")
            self.emit(Insn(opcode, reg(ops[0]), reg(ops[1]), off))
        elif m in ("neg", "neg32"):
            self.expect(m, ops, 1)
            self.emit(Insn(syntax.OP_NEG32 if m == "neg32" else syntax.OP_NEG64, reg(ops[0])))
        elif (endian := _split_endian(m)) is not None:
            opcode, width = endian
            self.expect(m, ops, 1)
            self.emit(Insn(opcode, reg(ops[0]), imm=width))
        elif (alu := _split_suffix(m, syntax.ALU2_OPS)) is not None:
            (op, off), is32 = alu
            self.expect(m, ops, 2)
            cls = isa.CLS_ALU if is32 else isa.CLS_ALU64
            dst = reg(ops[0])
            if ops[1].startswith("%"):
                self.emit(Insn(cls | op | isa.SRC_X, dst, reg(ops[1]), off))
            else:
                self.emit(Insn(cls | op | isa.SRC_K, dst, 0, off, syntax.parse_imm32(ops[1])))
        elif (jcond := _split_suffix(m, syntax.JCOND_OPS)) is not None:
            op, is32 = jcond
            self.expect(m, ops, 3)
            cls = isa.CLS_JMP32 if is32 else isa.CLS_JMP
            dst = reg(ops[0])
            delta, label = self.target(ops[2])
            if ops[1].startswith("%"):
                insn = Insn(cls | op | isa.SRC_X, dst, reg(ops[1]), delta)
            else:
                insn = Insn(cls | op | isa.SRC_K, dst, 0, delta, syntax.parse_imm32(ops[1]))
            self.emit(insn, label, "off")
        else:
            raise self.error(f"unknown mnemonic {m!r}")

    def encode_call(self, ops: list[str]) -> None:
        if len(ops) == 1:
            ops = ["helper", ops[0]]
        self.expect("call", ops, 2)
        mode, operand = ops
        if mode == "helper":
            if operand.startswith("%"):
                self.emit(Insn(isa.OP_CALLX, syntax.parse_register(operand)))
            else:
                self.emit(Insn(isa.OP_CALL, imm=syntax.parse_imm32(operand)))
        elif mode == "local":
            delta, label = self.target(operand)
            self.emit(Insn(isa.OP_CALL, src=isa.CALL_LOCAL, imm=delta), label, "imm")
        elif mode == "runtime":
            self.emit(Insn(isa.OP_CALL, src=isa.CALL_RUNTIME, imm=syntax.parse_imm32(operand)))
        else:
            raise self.error(f"bad call mode {mode!r} (expected helper, local or runtime)")

    def encode_atomic(self, ops: list[str]) -> None:
        fetch = bool(ops) and ops[0] == "fetch"
        rest = ops[1:] if fetch else ops
        if len(rest) != 3:
            raise self.error(
                "lock takes an operation, a memory operand and a register "
                "(lock [fetch] OP [%rN+off], %rM)"
            )
        name, mem, src = rest
        aop = _split_suffix(name, syntax.ATOMIC_OPS)
        if aop is None:
            raise self.error(f"unknown atomic operation {name!r}")
        imm, is32 = aop
        if fetch:
            imm |= isa.ATOMIC_FETCH
        dst, off = self.mem(mem)
        opcode = syntax.OP_ATOMIC32 if is32 else syntax.OP_ATOMIC64
        self.emit(Insn(opcode, dst, syntax.parse_register(src), off, imm))

    # -- labels ---------------------------------------------------------------------------

    def resolve(self) -> None:
        for fix in self.fixups:
            self.line = fix.line
            if fix.label == "exit":
                if self.first_exit is None:
                    raise self.error("label 'exit' used but the program has no exit instruction")
                section, position = TEXT, self.first_exit
            elif fix.label in self.labels:
                section, position = self.labels[fix.label]
            else:
                raise self.error(f"undefined label {fix.label!r}")
            insn = self.slots[fix.slot]
            if fix.field == "data":
                wanted = DATA if insn.opcode == isa.OP_LDDWD else RODATA
                if section != wanted:
                    raise self.error(f"label {fix.label!r} is not in the {wanted} section")
                self.slots[fix.slot] = insn._replace(imm=position)
                continue
            if section != TEXT:
                raise self.error(f"label {fix.label!r} is in {section}, not in .text")
            delta = position - (fix.slot + 1)
            if fix.field == "off":
                if not -(1 << 15) <= delta < (1 << 15):
                    raise self.error(
                        f"jump to {fix.label!r} is {delta} slots away: beyond the 16-bit offset"
                    )
                self.slots[fix.slot] = insn._replace(off=delta)
            else:
                self.slots[fix.slot] = insn._replace(imm=delta)

    def functions(self) -> tuple[list[Function], int]:
        functions = []
        for name, line in self.globls:
            self.line = line
            functions.append(Function(name, self.text_label(name)))
        entry = 0
        if self.entry is not None:
            self.line = self.entry[1]
            entry = self.text_label(self.entry[0])
        return functions, entry

    def text_label(self, name: str) -> int:
        if name not in self.labels:
            raise self.error(f"undefined label {name!r}")
        section, position = self.labels[name]
        if section != TEXT:
            raise self.error(f"label {name!r} is in {section}, not in .text")
        return position


def _int_auto(item: str) -> int:
    """Decimal with leading zeros or 0x hex, with an optional sign."""
    sign = -1 if item.startswith("-") else 1
    body = item.lstrip("+-")
    return sign * (int(body, 16) if body.startswith("0x") else int(body, 10))


def _split_suffix(mnemonic: str, table: dict):
    """(table value, is32) for NAME or NAME32, else None."""
    if mnemonic in table:
        return table[mnemonic], False
    if mnemonic.endswith("32") and mnemonic[:-2] in table:
        return table[mnemonic[:-2]], True
    return None


def _split_endian(mnemonic: str) -> tuple[int, int] | None:
    for prefix, opcode in syntax.ENDIAN_PREFIXES.items():
        width = mnemonic[len(prefix) :]
        if mnemonic.startswith(prefix) and width in ("16", "32", "64"):
            return opcode, int(width)
    return None


_ESCAPES = {
    "n": 10,
    "t": 9,
    "r": 13,
    "0": 0,
    "\\": 92,
    '"': 34,
    "'": 39,
    "a": 7,
    "b": 8,
    "f": 12,
    "v": 11,
}


def parse_strings(text: str, error) -> list[bytes]:
    """One or more comma-separated C-style string literals, as bytes (UTF-8 for non-ASCII)."""
    strings: list[bytes] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text) or text[pos] != '"':
            raise error("expected a string in double quotes")
        pos += 1
        out = bytearray()
        while True:
            if pos >= len(text):
                raise error("unterminated string")
            char = text[pos]
            if char == '"':
                pos += 1
                break
            if char != "\\":
                out += char.encode("utf-8")
                pos += 1
                continue
            pos += 1
            if pos >= len(text):
                raise error("unterminated string")
            esc = text[pos]
            if esc == "x":
                digits = re.match(r"[0-9a-fA-F]{1,2}", text[pos + 1 :])
                if not digits:
                    raise error("\\x needs hex digits")
                out.append(int(digits.group(0), 16))
                pos += 1 + len(digits.group(0))
            elif esc in "01234567":
                digits = re.match(r"[0-7]{1,3}", text[pos:])
                value = int(digits.group(0), 8)
                if value > 255:
                    raise error(f"octal escape \\{digits.group(0)} above 255")
                out.append(value)
                pos += len(digits.group(0))
            elif esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                pos += 1
            else:
                raise error(f"unknown escape \\{esc}")
        strings.append(bytes(out))
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos == len(text):
            return strings
        if text[pos] != ",":
            raise error("expected ',' between strings")
        pos += 1


def assemble(text: str) -> list[Insn]:
    """Assemble text into instruction slots (data sections, if any, are dropped)."""
    return assemble_program(text).slots


def assemble_program(text: str, origin: str = "assembly") -> Program:
    """Assemble text into a Program: slots, .data, .rodata, functions and entry."""
    asm = _Assembler()
    asm.run(text)
    functions, entry = asm.functions()
    return Program(
        slots=asm.slots,
        data=bytes(asm.data[DATA]),
        rodata=bytes(asm.data[RODATA]),
        functions=functions,
        entry=entry,
        origin=origin,
    )
