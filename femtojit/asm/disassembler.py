"""Disassembler: slots back to text that the assembler turns into the very same bytes.

Every slot is printed either as an instruction in the assembler's syntax -- only when every
field of the slot is exactly what the assembler would produce for that text -- or as a raw
`.insn 0x...` line (non-zero reserved fields, unknown opcodes, a broken LDDW pair). So
disassemble -> assemble reproduces any input, valid or not.

Jump and local-call targets that land on an instruction inside the program get labels
(`L<slot>`); other targets are printed as numbers (`+3`), or the slot goes raw when a number
cannot express them (the assembler reads numeric targets as 16-bit offsets).
"""

from __future__ import annotations

from collections.abc import Callable

from femtojit import isa
from femtojit.asm import syntax
from femtojit.asm.syntax import format_imm32, format_mem, format_target
from femtojit.isa import Insn
from femtojit.program import Program

LabelFor = Callable[[int], "str | None"]
_BYTES_PER_LINE = 16


def wide_pair_ok(slots: list[Insn], i: int) -> bool:
    """True if slot i starts a two-slot load the syntax can express (src, off and the
    whole second slot but its imm are zero)."""
    first = slots[i]
    if first.opcode not in syntax.WIDE_NAMES or first.src or first.off or i + 1 >= len(slots):
        return False
    second = slots[i + 1]
    return second.opcode == 0 and second.dst == 0 and second.src == 0 and second.off == 0


def raw_insn(insn: Insn) -> str:
    """The `.insn` directive for one slot (its 8 bytes in file order)."""
    return f".insn 0x{insn.encode().hex()}"


def describe_fields(insn: Insn) -> str:
    return f"opcode {insn.opcode:#04x} dst {insn.dst} src {insn.src} off {insn.off} imm {insn.imm}"


def _raw_note(insn: Insn) -> str:
    """Comment for a raw slot: what it is, when it is a known instruction without syntax."""
    if insn.opcode == isa.OP_NEG64_FC and not (insn.src or insn.off or insn.imm):
        return f"neg %r{insn.dst} in Femto-Container's encoding 0x8f"
    return describe_fields(insn)


def render(slots: list[Insn], i: int, label_for: LabelFor | None = None) -> tuple[str, int]:
    """(text, slots used) for the instruction at slot i. label_for(slot) names a target
    slot or returns None; without it every target is numeric."""
    insn = slots[i]
    if insn.opcode in syntax.WIDE_NAMES:
        if not wide_pair_ok(slots, i):
            return raw_insn(insn), 1
        value = isa.imm64(insn, slots[i + 1])
        return f"{syntax.WIDE_NAMES[insn.opcode]} %r{insn.dst}, {value:#x}", 2
    text = _render_one(insn, i, label_for)
    return (text if text is not None else raw_insn(insn)), 1


def format_insn(slots: list[Insn], i: int, label_for: LabelFor | None = None) -> str:
    """The text of the instruction at slot i (numeric targets unless label_for is given)."""
    return render(slots, i, label_for)[0]


def _target(i: int, delta: int, label_for: LabelFor | None, wide: bool) -> str | None:
    """Text of a jump target delta from slot i; None if not expressible.

    wide: the field is an imm (ja32, call local), which a label can fill at any distance but
    a number only within 16 bits."""
    if label_for is not None:
        label = label_for(i + 1 + delta)
        if label is not None:
            return label
    if -(1 << 15) <= delta < (1 << 15) or not wide:
        return format_target(delta)
    return None


def _render_one(insn: Insn, i: int, label_for: LabelFor | None) -> str | None:
    opcode, dst, src, off, imm = insn
    cls = opcode & 0x07
    if cls in (isa.CLS_ALU, isa.CLS_ALU64):
        return _render_alu(insn)
    if cls in (isa.CLS_JMP, isa.CLS_JMP32):
        op = opcode & 0xF0
        if opcode == isa.OP_JA:
            if dst or src or imm:
                return None
            target = _target(i, off, label_for, wide=False)
            return f"ja {target}"
        if opcode == isa.OP_JA32:
            if dst or src or off:
                return None
            target = _target(i, imm, label_for, wide=True)
            return None if target is None else f"ja32 {target}"
        if opcode == isa.OP_EXIT:
            return "exit" if not (dst or src or off or imm) else None
        if opcode == isa.OP_CALL:
            if dst or off:
                return None
            if src == isa.CALL_HELPER:
                return f"call {format_imm32(imm)}"
            if src == isa.CALL_LOCAL:
                target = _target(i, imm, label_for, wide=True)
                return None if target is None else f"call local {target}"
            if src == isa.CALL_RUNTIME:
                return f"call runtime {format_imm32(imm)}"
            return None
        if opcode == isa.OP_CALLX:
            return f"call %r{dst}" if not (src or off or imm) else None
        if op in syntax.JCOND_NAMES:
            name = syntax.JCOND_NAMES[op] + ("32" if cls == isa.CLS_JMP32 else "")
            target = _target(i, off, label_for, wide=False)
            if opcode & isa.SRC_X:
                return None if imm else f"{name} %r{dst}, %r{src}, {target}"
            return None if src else f"{name} %r{dst}, {format_imm32(imm)}, {target}"
        return None
    name = syntax.MEM_NAMES.get(opcode)
    if name is not None:
        if cls == isa.CLS_LDX:
            return None if imm else f"{name} %r{dst}, {format_mem(src, off)}"
        if cls == isa.CLS_ST:
            return None if src else f"{name} {format_mem(dst, off)}, {format_imm32(imm)}"
        return None if imm else f"{name} {format_mem(dst, off)}, %r{src}"
    if opcode in (syntax.OP_ATOMIC32, syntax.OP_ATOMIC64):
        suffix = "32" if opcode == syntax.OP_ATOMIC32 else ""
        for aop, value in syntax.ATOMIC_OPS.items():
            if imm == value:
                return f"lock {aop}{suffix} {format_mem(dst, off)}, %r{src}"
            if aop in syntax.ATOMIC_FETCHABLE and imm == value | isa.ATOMIC_FETCH:
                return f"lock fetch {aop}{suffix} {format_mem(dst, off)}, %r{src}"
        return None
    return None


def _render_alu(insn: Insn) -> str | None:
    opcode, dst, src, off, imm = insn
    is32 = (opcode & 0x07) == isa.CLS_ALU
    op = opcode & 0xF0
    if opcode in (syntax.OP_NEG64, syntax.OP_NEG32):
        if src or off or imm:
            return None
        return f"neg{'32' if is32 else ''} %r{dst}"
    if opcode in syntax.ENDIAN_NAMES:
        if src or off or imm not in syntax.ENDIAN_WIDTHS:
            return None
        return f"{syntax.ENDIAN_NAMES[opcode]}{imm} %r{dst}"
    if op not in syntax.ALU2_NAMES:
        return None
    if opcode & isa.SRC_X and (opcode, off) in syntax.MOVSX_NAMES:
        return None if imm else f"{syntax.MOVSX_NAMES[(opcode, off)]} %r{dst}, %r{src}"
    if off == 1 and op in syntax.SIGNED_ALU2_NAMES:
        name = syntax.SIGNED_ALU2_NAMES[op]
    elif off == 0:
        name = syntax.ALU2_NAMES[op]
    else:
        return None
    name += "32" if is32 else ""
    if opcode & isa.SRC_X:
        return None if imm else f"{name} %r{dst}, %r{src}"
    return None if src else f"{name} %r{dst}, {format_imm32(imm)}"


def instruction_starts(slots: list[Insn]) -> list[int]:
    """Slot indexes where the disassembler starts an instruction."""
    starts = []
    i = 0
    while i < len(slots):
        starts.append(i)
        i += 2 if wide_pair_ok(slots, i) else 1
    return starts


def _branch_targets(slots: list[Insn], starts: list[int]) -> set[int]:
    """Slots named by a jump or local call whose rendering could use a label."""
    targets = set()
    for i in starts:
        opcode, _dst, src, off, imm = slots[i]
        cls = opcode & 0x07
        if cls not in (isa.CLS_JMP, isa.CLS_JMP32):
            continue
        if opcode == isa.OP_JA32 or (opcode == isa.OP_CALL and src == isa.CALL_LOCAL):
            targets.add(i + 1 + imm)
        elif opcode not in (isa.OP_CALL, isa.OP_CALLX, isa.OP_EXIT):
            targets.add(i + 1 + off)
    return targets


def disassemble(program: Program | list[Insn]) -> str:
    """The whole program as assembler text: instructions with labels, then .data/.rodata,
    functions (.globl) and a non-zero entry (.entry)."""
    if isinstance(program, Program):
        slots, data, rodata = program.slots, program.data, program.rodata
        functions, entry = program.functions, program.entry
    else:
        slots, data, rodata, functions, entry = list(program), b"", b"", [], 0
    starts = instruction_starts(slots)
    start_set = set(starts)
    names: dict[int, list[str]] = {}
    for target in _branch_targets(slots, starts):
        if target in start_set:
            names.setdefault(target, []).append(f"L{target}")
    header: list[str] = []
    taken = {f"L{t}" for t in names}
    for function in functions:
        if (
            function.slot in start_set
            and syntax.LABEL_RE.match(function.name)
            and function.name not in taken
            and function.name != "exit"
        ):
            names.setdefault(function.slot, []).insert(0, function.name)
            taken.add(function.name)
            header.append(f".globl {function.name}")
        else:
            header.append(f"# function {function.name!r} at slot {function.slot} (no label)")
    if entry:
        if entry in start_set:
            if entry not in names:
                names[entry] = [f"L{entry}"]
            header.append(f".entry {names[entry][0]}")
        else:
            header.append(f"# entry at slot {entry} (not an instruction start)")

    def label_for(slot: int) -> str | None:
        labels = names.get(slot)
        return labels[0] if labels else None

    lines = list(header)
    for i in starts:
        for label in names.get(i, []):
            lines.append(f"{label}:")
        text, _width = render(slots, i, label_for)
        if text.startswith(".insn"):
            text += f"  # {_raw_note(slots[i])}"
        lines.append(text)
    for section, image in ((".data", data), (".rodata", rodata)):
        if image:
            lines.append(section)
            for pos in range(0, len(image), _BYTES_PER_LINE):
                chunk = image[pos : pos + _BYTES_PER_LINE]
                lines.append(".byte " + ", ".join(f"0x{b:02x}" for b in chunk))
    return "\n".join(lines) + "\n"
