"""The static checks every program passes before it runs or is translated.

Rules (docs/semantics.md, RFC 9669), each failure a VerifyError with the slot index, the
instruction's text and one of these rule names:

    unknown-opcode  opcode not in the profile's instruction set (also unknown atomic ops,
                    call kinds other than helper/local)
    bad-register    a register field that is used holds a number above 10
    reserved-field  a field the instruction does not use is not zero (and END widths,
                    the offset of sdiv/smod/movsx)
    lddw-pair       a 64-bit load in the last slot, or its second slot not a clean carrier
    jump-target     a jump, local call or entry outside the program or into an LDDW's
                    second slot
    div-by-zero     div/mod/sdiv/smod by an immediate 0 (femto profile only)
    write-r10       an instruction that writes r10, the read-only frame pointer
    unknown-helper  `call imm` with an id no helper has
    fall-through    a reachable instruction that can run past the last slot
    empty           a program with no instructions

The report carries what lowering needs: instruction starts, jump and call targets, helper
ids, and which call kinds are used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from femtojit import isa
from femtojit.errors import VerifyError
from femtojit.isa import Insn
from femtojit.profile import FEMTO, check_profile
from femtojit.program import Program

UNKNOWN_OPCODE = "unknown-opcode"
BAD_REGISTER = "bad-register"
RESERVED_FIELD = "reserved-field"
LDDW_PAIR = "lddw-pair"
JUMP_TARGET = "jump-target"
DIV_BY_ZERO = "div-by-zero"
WRITE_R10 = "write-r10"
UNKNOWN_HELPER = "unknown-helper"
FALL_THROUGH = "fall-through"
EMPTY = "empty"
RULES = (
    UNKNOWN_OPCODE,
    BAD_REGISTER,
    RESERVED_FIELD,
    LDDW_PAIR,
    JUMP_TARGET,
    DIV_BY_ZERO,
    WRITE_R10,
    UNKNOWN_HELPER,
    FALL_THROUGH,
    EMPTY,
)

_ALU2_OPS = {
    isa.ALU_ADD,
    isa.ALU_SUB,
    isa.ALU_MUL,
    isa.ALU_DIV,
    isa.ALU_OR,
    isa.ALU_AND,
    isa.ALU_LSH,
    isa.ALU_RSH,
    isa.ALU_MOD,
    isa.ALU_XOR,
    isa.ALU_MOV,
    isa.ALU_ARSH,
}
_END_OPCODES = (0xD4, 0xDC, 0xD7)  # le, be, bswap (ALU64 | END | K)
_NEG_OPCODES = (0x84, 0x87)
_LDX_OPCODES = {0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91}
_ST_OPCODES = {0x62, 0x6A, 0x72, 0x7A}
_STX_OPCODES = {0x63, 0x6B, 0x73, 0x7B}
_ATOMIC_OPCODES = (0xC3, 0xDB)
_MOVSX_OFFSETS = {isa.CLS_ALU: (8, 16), isa.CLS_ALU64: (8, 16, 32)}


@dataclass
class VerifyReport:
    """What a verified program looks like, for the stages after the verifier.

    starts          slot index of every instruction (an LDDW's second slot is not one)
    jump_targets    slots some ja/ja32/conditional jump can reach
    call_targets    slots some `call local` enters (local function entries)
    helper_ids      ids used by `call imm`
    reachable       instruction starts reachable from the entry and the functions
    """

    profile: str
    n_slots: int
    starts: list[int]
    jump_targets: set[int] = field(default_factory=set)
    call_targets: set[int] = field(default_factory=set)
    helper_ids: set[int] = field(default_factory=set)
    uses_local_calls: bool = False
    uses_callx: bool = False
    reachable: set[int] = field(default_factory=set)

    @property
    def n_insns(self) -> int:
        return len(self.starts)


@dataclass(frozen=True)
class _Flow:
    """Control flow of one instruction: where it can go next."""

    falls_through: bool
    jump: int | None = None  # ja / ja32 / conditional target
    call: int | None = None  # call local target


def _slots_of(program: Program | list[Insn]) -> tuple[list[Insn], int, list[int]]:
    if isinstance(program, Program):
        roots = [program.entry] + [f.slot for f in program.functions]
        return program.slots, program.entry, roots
    return list(program), 0, [0]


class _Checker:
    def __init__(self, slots: list[Insn], profile: str, helper_ids: set[int]):
        self.slots = slots
        self.profile = profile
        self.helper_ids = helper_ids
        self.starts: list[int] = []
        self.second_halves: set[int] = set()
        i = 0
        while i < len(slots):
            self.starts.append(i)
            if isa.is_wide(slots[i].opcode) and i + 1 < len(slots):
                self.second_halves.add(i + 1)
                i += 2
            else:
                i += 1
        self.flows: dict[int, _Flow] = {}

    def error(self, i: int, rule: str, message: str) -> VerifyError:
        from femtojit.asm import format_insn

        text = format_insn(self.slots, i) if 0 <= i < len(self.slots) else ""
        return VerifyError(i, text, rule, message)

    # -- per instruction -------------------------------------------------------------------

    def check(self, report: VerifyReport) -> Iterator[VerifyError]:
        for i in self.starts:
            error = self.check_one(i, report)
            if error is not None:
                yield error

    def check_one(self, i: int, report: VerifyReport) -> VerifyError | None:
        insn = self.slots[i]
        opcode, dst, src, off, imm = insn
        cls = opcode & 0x07
        self.flows[i] = _Flow(True)
        err = self.error

        def regs(*numbers: int) -> VerifyError | None:
            for reg in numbers:
                if reg > 10:
                    return err(i, BAD_REGISTER, f"register r{reg} does not exist (r0..r10)")
            return None

        def zero(**fields: int) -> VerifyError | None:
            for name, value in fields.items():
                if value:
                    return err(i, RESERVED_FIELD, f"{name} field must be 0 here, not {value}")
            return None

        def writes(reg: int) -> VerifyError | None:
            if reg == isa.REG_FP:
                return err(i, WRITE_R10, "r10 is the read-only frame pointer")
            return None

        if cls in (isa.CLS_ALU, isa.CLS_ALU64):
            op = opcode & 0xF0
            if opcode in _NEG_OPCODES or (opcode == isa.OP_NEG64_FC and self.profile == FEMTO):
                return regs(dst) or zero(src=src, offset=off, imm=imm) or writes(dst)
            if opcode in _END_OPCODES:
                problem = regs(dst) or zero(src=src, offset=off)
                if problem:
                    return problem
                if imm not in (16, 32, 64):
                    return err(
                        i, RESERVED_FIELD, f"byte swap width must be 16, 32 or 64, not {imm}"
                    )
                return writes(dst)
            if op not in _ALU2_OPS:
                return err(i, UNKNOWN_OPCODE, f"unknown opcode {opcode:#04x}")
            x_form = bool(opcode & isa.SRC_X)
            problem = regs(dst, src) if x_form else regs(dst) or zero(src=src)
            if problem:
                return problem
            if x_form and imm:
                return zero(imm=imm)
            if off:
                allowed = (1,) if op in (isa.ALU_DIV, isa.ALU_MOD) else ()
                if op == isa.ALU_MOV and x_form:
                    allowed = _MOVSX_OFFSETS[cls]
                if off not in allowed:
                    what = {
                        isa.ALU_DIV: "div offset must be 0 (div) or 1 (sdiv)",
                        isa.ALU_MOD: "mod offset must be 0 (mod) or 1 (smod)",
                    }.get(op)
                    if op == isa.ALU_MOV and x_form:
                        what = f"mov offset must be 0 or a movsx width {allowed}"
                    return err(
                        i, RESERVED_FIELD, f"{what or 'offset field must be 0 here'}, not {off}"
                    )
            problem = writes(dst)
            if problem:
                return problem
            if (
                self.profile == FEMTO
                and op in (isa.ALU_DIV, isa.ALU_MOD)
                and not x_form
                and imm == 0
            ):
                return err(i, DIV_BY_ZERO, "division by the immediate 0 (femto profile)")
            return None

        if cls in (isa.CLS_JMP, isa.CLS_JMP32):
            return self.check_jump(i, insn, report, regs, zero)

        if cls == isa.CLS_LD:
            if not isa.is_wide(opcode):
                return err(i, UNKNOWN_OPCODE, f"unknown opcode {opcode:#04x}")
            problem = regs(dst) or zero(src=src, offset=off)
            if problem:
                return problem
            if i + 1 >= len(self.slots):
                return err(i, LDDW_PAIR, "64-bit load in the last slot: its second half is missing")
            second = self.slots[i + 1]
            for name, value in (
                ("opcode", second.opcode),
                ("dst", second.dst),
                ("src", second.src),
                ("offset", second.off),
            ):
                if value:
                    return err(
                        i, LDDW_PAIR, f"second slot of the 64-bit load has {name} {value}, not 0"
                    )
            return writes(dst)

        if cls == isa.CLS_LDX:
            if opcode not in _LDX_OPCODES:
                return err(i, UNKNOWN_OPCODE, f"unknown opcode {opcode:#04x}")
            return regs(dst, src) or zero(imm=imm) or writes(dst)
        if cls == isa.CLS_ST:
            if opcode not in _ST_OPCODES:
                return err(i, UNKNOWN_OPCODE, f"unknown opcode {opcode:#04x}")
            return regs(dst) or zero(src=src)
        # CLS_STX
        if opcode in _STX_OPCODES:
            return regs(dst, src) or zero(imm=imm)
        if opcode in _ATOMIC_OPCODES:
            if imm not in isa.ATOMIC_OPS:
                return err(i, UNKNOWN_OPCODE, f"unknown atomic operation {imm:#x}")
            problem = regs(dst, src)
            if problem:
                return problem
            if imm & isa.ATOMIC_FETCH and imm != isa.ATOMIC_CMPXCHG:
                return writes(src)
            return None
        return err(i, UNKNOWN_OPCODE, f"unknown opcode {opcode:#04x}")

    def check_jump(self, i, insn, report, regs, zero) -> VerifyError | None:
        opcode, dst, src, off, imm = insn
        op = opcode & 0xF0
        err = self.error
        if opcode == isa.OP_EXIT:
            self.flows[i] = _Flow(False)
            return zero(dst=dst, src=src, offset=off, imm=imm)
        if opcode == isa.OP_JA:
            problem = zero(dst=dst, src=src, imm=imm)
            self.flows[i] = _Flow(False, jump=i + 1 + off)
            return problem or self.target(i, i + 1 + off, "jump", report.jump_targets)
        if opcode == isa.OP_JA32:
            problem = zero(dst=dst, src=src, offset=off)
            self.flows[i] = _Flow(False, jump=i + 1 + imm)
            return problem or self.target(i, i + 1 + imm, "jump", report.jump_targets)
        if opcode == isa.OP_CALL:
            if src == isa.CALL_HELPER:
                problem = zero(dst=dst, offset=off)
                if problem:
                    return problem
                report.helper_ids.add(imm & 0xFFFFFFFF)
                if imm & 0xFFFFFFFF not in self.helper_ids:
                    known = ", ".join(str(h) for h in sorted(self.helper_ids)) or "none"
                    return err(
                        i,
                        UNKNOWN_HELPER,
                        f"no helper with id {imm & 0xFFFFFFFF} (known: {known})",
                    )
                return None
            if src == isa.CALL_LOCAL:
                problem = zero(dst=dst, offset=off)
                if problem:
                    return problem
                report.uses_local_calls = True
                self.flows[i] = _Flow(True, call=i + 1 + imm)
                return self.target(i, i + 1 + imm, "local call", report.call_targets)
            if src == isa.CALL_RUNTIME:
                return err(i, UNKNOWN_OPCODE, "call by BTF id (src 2) is not supported")
            return zero(src=src)
        if opcode == isa.OP_CALLX:
            report.uses_callx = True
            return regs(dst) or zero(src=src, offset=off, imm=imm)
        if op in isa.COND_JMP_OPS:
            x_form = bool(opcode & isa.SRC_X)
            problem = regs(dst, src) or zero(imm=imm) if x_form else regs(dst) or zero(src=src)
            self.flows[i] = _Flow(True, jump=i + 1 + off)
            return problem or self.target(i, i + 1 + off, "jump", report.jump_targets)
        return err(i, UNKNOWN_OPCODE, f"unknown opcode {opcode:#04x}")

    def target(self, i: int, target: int, what: str, into: set[int]) -> VerifyError | None:
        n = len(self.slots)
        if not 0 <= target < n:
            return self.error(
                i, JUMP_TARGET, f"{what} to slot {target}, outside the program (0..{n - 1})"
            )
        if target in self.second_halves:
            return self.error(
                i,
                JUMP_TARGET,
                f"{what} to slot {target}, the second half of the 64-bit load at {target - 1}",
            )
        into.add(target)
        return None

    # -- whole program ---------------------------------------------------------------------

    def reach(self, roots: list[int]) -> set[int]:
        """Instruction starts reachable from roots, following only valid edges."""
        start_set = set(self.starts)
        seen: set[int] = set()
        work = [r for r in roots if r in start_set]
        while work:
            i = work.pop()
            if i in seen:
                continue
            seen.add(i)
            flow = self.flows.get(i, _Flow(True))
            nxt = [flow.jump, flow.call]
            if flow.falls_through:
                nxt.append(i + (2 if i + 1 in self.second_halves else 1))
            work.extend(t for t in nxt if t is not None and t in start_set and t not in seen)
        return seen

    def structure(self, roots: list[int], report: VerifyReport) -> Iterator[VerifyError]:
        start_set = set(self.starts)
        for root in dict.fromkeys(roots):
            if root not in start_set:
                yield self.error(
                    root if 0 <= root < len(self.slots) else 0,
                    JUMP_TARGET,
                    f"entry point at slot {root} is not an instruction start",
                )
        report.reachable = self.reach(roots)
        last = self.starts[-1]
        flow = self.flows.get(last, _Flow(True))
        if last in report.reachable and flow.falls_through:
            yield self.error(
                last,
                FALL_THROUGH,
                "execution can run past the end of the program (end with exit or ja)",
            )


def _run(
    program: Program | list[Insn], profile: str, helper_ids: set[int] | None
) -> tuple[VerifyReport, Iterator[VerifyError]]:
    check_profile(profile)
    if helper_ids is None:
        from femtojit.helpers import default_helper_ids

        helper_ids = default_helper_ids(profile)
    slots, _entry, roots = _slots_of(program)
    checker = _Checker(slots, profile, set(helper_ids))
    report = VerifyReport(profile, len(slots), checker.starts)

    def errors() -> Iterator[VerifyError]:
        if not slots:
            yield VerifyError(0, "", EMPTY, "the program has no instructions")
            return
        yield from checker.check(report)
        yield from checker.structure(roots, report)

    return report, errors()


def verify(
    program: Program | list[Insn], profile: str = FEMTO, helper_ids: set[int] | None = None
) -> VerifyReport:
    """Check every rule; raise VerifyError on the first one broken (in slot order)."""
    report, errors = _run(program, profile, helper_ids)
    for error in errors:
        raise error
    return report


def verify_all(
    program: Program | list[Insn], profile: str = FEMTO, helper_ids: set[int] | None = None
) -> list[VerifyError]:
    """Every problem (at most one per instruction, plus the whole-program ones)."""
    _report, errors = _run(program, profile, helper_ids)
    return list(errors)
