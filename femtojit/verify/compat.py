"""What upstream Femto-Container's interpreter would make of a program (`--compat fc`).

Facts from future-proof-iot/Femto-Container (`src/jumptable.c`, `src/verify.c`): its jump
table holds the ALU64 operations (NEG only as 0x8f), the ALU32 ones only in builds with
FEMTO_CONTAINER_ENABLE_ALU32 (NEG32 as 0x8c), JA and the 64-bit conditional jumps, LDDW,
LDDWD, LDDWR, LDX/ST/STX of the four sizes, CALL (helper ids only) and EXIT; anything else
stops with "illegal instruction". Its preflight wants exit in the last slot and checks jump
targets as slot + offset (without the + 1). Where it runs an instruction, it can still compute
something else than femtojit does (docs/semantics.md fixes these):

- LDDW/LDDWD/LDDWR sign-extend the low 32 bits of the immediate;
- LDDWD/LDDWR address .data/.rodata at header + sizeof(f12r_t), not after the header;
- `mov` (64-bit) zero-extends a negative immediate and truncates a register to 32 bits;
- sdiv/smod and movsx are read as div/mod/mov (the offset is ignored);
- arsh32 sign-extends its result (ALU32 builds);
- a shift by an immediate outside 0..width-1 is undefined behaviour in C.

Shifts by a register are not reported: the amount is only known at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from femtojit import isa
from femtojit.helpers import BUILTIN_HELPER_NAMES
from femtojit.isa import Insn
from femtojit.program import Program

UNSUPPORTED = "unsupported"  # FC stops (illegal instruction/call, preflight failure)
NEEDS_ALU32 = "needs-alu32"  # FC runs it only when built with FEMTO_CONTAINER_ENABLE_ALU32
DIFFERS = "differs"  # FC runs it but computes something else

_ALU2_OPS = {0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0}
_SHIFTS = {isa.ALU_LSH, isa.ALU_RSH, isa.ALU_ARSH}
_FC_MEM = {0x61, 0x69, 0x71, 0x79, 0x62, 0x6A, 0x72, 0x7A, 0x63, 0x6B, 0x73, 0x7B}


@dataclass(frozen=True)
class CompatIssue:
    index: int
    text: str
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"instruction {self.index} ({self.text}): {self.reason} [{self.kind}]"


def compat_report(program: Program | list[Insn]) -> list[CompatIssue]:
    """Every instruction Femto-Container's interpreter would refuse or run differently."""
    from femtojit.asm import format_insn

    slots = program.slots if isinstance(program, Program) else list(program)
    issues: list[CompatIssue] = []

    i = 0
    while i < len(slots):
        insn = slots[i]
        for kind, reason in _insn_issues(insn, i):
            issues.append(CompatIssue(i, format_insn(slots, i), kind, reason))
        i += 2 if isa.is_wide(insn.opcode) and i + 1 < len(slots) else 1
    if slots and slots[-1].opcode != isa.OP_EXIT:
        last = len(slots) - 1
        issues.append(
            CompatIssue(
                last,
                format_insn(slots, last),
                UNSUPPORTED,
                "FC's preflight wants exit in the last slot (status -7, no return)",
            )
        )
    return issues


def _insn_issues(insn: Insn, i: int) -> list[tuple[str, str]]:
    opcode, _dst, src, off, imm = insn
    cls = opcode & 0x07
    op = opcode & 0xF0
    x_form = bool(opcode & isa.SRC_X)
    out: list[tuple[str, str]] = []

    if cls in (isa.CLS_ALU, isa.CLS_ALU64):
        is32 = cls == isa.CLS_ALU
        width = 32 if is32 else 64
        if opcode == 0x8F:
            return out
        if op == isa.ALU_NEG:
            return [(UNSUPPORTED, f"FC has no opcode {opcode:#04x} (its NEG is 0x8f / 0x8c)")]
        if op == isa.ALU_END:
            return [(UNSUPPORTED, "FC has no byte-swap (END) instructions")]
        if op not in _ALU2_OPS:
            return [(UNSUPPORTED, f"FC has no opcode {opcode:#04x}")]
        if is32:
            out.append((NEEDS_ALU32, "32-bit ALU: only in FC builds with ALU32 enabled"))
        if op in (isa.ALU_DIV, isa.ALU_MOD) and off:
            out.append((DIFFERS, "FC ignores the offset: sdiv/smod run as unsigned div/mod"))
        if op == isa.ALU_MOV and x_form and off:
            out.append((DIFFERS, "FC ignores the offset: movsx runs as a plain 32-bit mov"))
        elif op == isa.ALU_MOV and not is32:
            if x_form:
                out.append((DIFFERS, "FC's 64-bit mov truncates the source register to 32 bits"))
            elif imm < 0:
                out.append((DIFFERS, "FC's 64-bit mov zero-extends a negative immediate"))
        if op == isa.ALU_ARSH and is32:
            out.append((DIFFERS, "FC's arsh32 sign-extends the result into 64 bits"))
        if op in _SHIFTS and not x_form and not 0 <= imm < width:
            out.append((DIFFERS, f"FC shifts by {imm}: undefined in C (outside 0..{width - 1})"))
        return out

    if cls == isa.CLS_JMP32:
        return [(UNSUPPORTED, "FC has no JMP32 class (ja32, j*32)")]

    if cls == isa.CLS_JMP:
        if opcode == isa.OP_CALL:
            if src == isa.CALL_LOCAL:
                return [(UNSUPPORTED, f"FC has no local calls (it would call helper {imm})")]
            if src != isa.CALL_HELPER:
                return [(UNSUPPORTED, f"FC has no call kind src={src}")]
            if imm & 0xFFFFFFFF not in BUILTIN_HELPER_NAMES:
                return [
                    (
                        UNSUPPORTED,
                        f"helper {imm & 0xFFFFFFFF} is not a Femto-Container built-in "
                        "(the host must register it)",
                    )
                ]
            return out
        if opcode == isa.OP_CALLX:
            return [(UNSUPPORTED, "FC has no callx (call by register)")]
        if opcode == isa.OP_EXIT:
            return out
        if opcode == isa.OP_JA or (op in isa.COND_JMP_OPS):
            if i + off < 0:
                out.append(
                    (
                        UNSUPPORTED,
                        "FC's preflight checks slot + offset (not + 1) and rejects a jump to "
                        "slot 0",
                    )
                )
            return out
        return [(UNSUPPORTED, f"FC has no opcode {opcode:#04x}")]

    if cls == isa.CLS_LD:
        if not isa.is_wide(opcode):
            return [(UNSUPPORTED, f"FC has no opcode {opcode:#04x}")]
        if opcode != isa.OP_LDDW:
            out.append(
                (
                    DIFFERS,
                    "FC places .data/.rodata at header + sizeof(f12r_t), not right after the "
                    "28-byte header",
                )
            )
        if imm < 0:
            out.append((DIFFERS, "FC sign-extends the low 32 bits of the 64-bit immediate"))
        return out

    if opcode in _FC_MEM:
        return out
    if cls == isa.CLS_LDX and opcode & 0xE0 == isa.MODE_MEMSX:
        return [(UNSUPPORTED, "FC has no sign-extending loads (ldxs*)")]
    if cls == isa.CLS_STX and opcode & 0xE0 == isa.MODE_ATOMIC:
        return [(UNSUPPORTED, "FC has no atomic instructions")]
    return [(UNSUPPORTED, f"FC has no opcode {opcode:#04x}")]
