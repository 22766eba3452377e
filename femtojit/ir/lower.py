"""Lowering: verified eBPF bytecode -> IR (docs/ir.md, docs/semantics.md).

Each eBPF instruction becomes a few 32-bit IR ops on the register halves; every implicit check
(memory bounds, division by zero, taken-branch budget) becomes an explicit op. Lowering does no
optimisation: it is written to be obviously equivalent to docs/semantics.md, and the passes
clean up after it.
"""

from __future__ import annotations

from femtojit import isa
from femtojit.errors import TranslateError
from femtojit.helpers import default_helper_ids
from femtojit.ir.types import (
    NUM_REG_VARS,
    Add64,
    Bin,
    Block,
    Branch,
    BudgetTick,
    Call,
    CallX,
    CheckDivZero,
    CheckMem,
    Const,
    Div64,
    Exit,
    Function,
    Jump,
    Load,
    LocalCall,
    Mov,
    MulWide,
    Op,
    Operand,
    Param,
    PopFrame,
    PushFrame,
    Return,
    Shift64,
    Store,
    Sub64,
    Un,
    Var,
    const,
    hi_var,
    lo_var,
)
from femtojit.program import Program

DEFAULT = "default"

ZERO = Const(0)
R0LO, R0HI = Var(0), Var(1)

_COND_NAMES = {
    isa.JMP_JEQ: "eq",
    isa.JMP_JNE: "ne",
    isa.JMP_JGT: "ugt",
    isa.JMP_JGE: "uge",
    isa.JMP_JLT: "ult",
    isa.JMP_JLE: "ule",
    isa.JMP_JSGT: "sgt",
    isa.JMP_JSGE: "sge",
    isa.JMP_JSLT: "slt",
    isa.JMP_JSLE: "sle",
    isa.JMP_JSET: "set",
}
_BITWISE = {isa.ALU_OR: "or", isa.ALU_AND: "and", isa.ALU_XOR: "xor"}
_ATOMIC_BIN = {isa.ATOMIC_ADD: "add", isa.ATOMIC_OR: "or", isa.ATOMIC_AND: "and",
               isa.ATOMIC_XOR: "xor"}


def lower(
    program: Program,
    *,
    profile: str = "femto",
    budget: int | None | str = DEFAULT,
    helper_ids=None,
) -> Function:
    """Lower a verified program to an IR Function.

    budget: taken-branch budget compiled in (None: no checks; "default": the profile's
    default). helper_ids: the helper ids the host provides (default: the profile's built-ins);
    `call imm` must name one of them, and `callx` can reach any of them.
    """
    from femtojit.profile import check_profile, default_budget

    check_profile(profile)
    if budget == DEFAULT:
        budget = default_budget(profile)
    ids = set(default_helper_ids(profile) if helper_ids is None else helper_ids)
    return _Lowerer(program, profile, budget, ids).run()


def _sign_word(imm: int) -> Const:
    """Upper half of a sign-extended 32-bit immediate."""
    return Const(0xFFFFFFFF if imm < 0 else 0)


class _Lowerer:
    def __init__(self, program: Program, profile: str, budget, helper_ids: set[int]):
        self.program = program
        self.slots = program.slots
        self.profile = profile
        self.femto = profile == "femto"
        self.budget = budget
        self.helper_ids = helper_ids
        self.fn = Function([], NUM_REG_VARS, profile, budget)
        self.fn.data_size = len(program.data)
        self.fn.rodata_size = len(program.rodata)
        self.next_block_id = 0
        self.blocks: dict[int, Block] = {}
        self.cur: Block | None = None
        self.slot_index = 0
        # layout bookkeeping: blocks created while lowering a leader's instructions follow it
        self.leader_order: list[int] = []
        self.extra_blocks: dict[int, list[int]] = {}
        self.ticks_for: dict[int, list[int]] = {}
        self.current_leader: int | None = None
        self.return_sites: list[int] = []
        self.exits_to_patch: list[Return] = []

    # -- small helpers ----------------------------------------------------------------------

    def error(self, message: str) -> TranslateError:
        slot = self.slot_index
        return TranslateError(f"instruction {slot}: {message}")

    def make_block(self, slot: int | None = None) -> Block:
        block = Block(self.next_block_id, [], None, slot)
        self.next_block_id += 1
        self.blocks[block.id] = block
        return block

    def extra_block(self) -> Block:
        """A block invented inside one instruction's lowering, laid out after its leader."""
        block = self.make_block(self.slot_index)
        self.extra_blocks.setdefault(self.current_leader, []).append(block.id)
        return block

    def emit(self, op: Op) -> None:
        self.cur.ops.append(op)

    def mov(self, d: Var, a: Operand) -> None:
        self.emit(Mov(d, a))

    def bin(self, op: str, d: Var, a: Operand, b: Operand) -> None:
        self.emit(Bin(op, d, a, b))

    def temp(self) -> Var:
        return self.fn.new_var()

    def edge_to(self, target_block: int) -> int:
        """Block id to branch to for a taken (counted) jump: a tick block when budgeted."""
        if self.budget is None:
            return target_block
        tick = self.make_block(None)
        tick.ops.append(BudgetTick(Var(self.fn.budget_var), R0LO, R0HI))
        tick.term = Jump(target_block)
        self.ticks_for.setdefault(target_block, []).append(tick.id)
        return tick.id

    # -- structure --------------------------------------------------------------------------

    def find_leaders(self) -> tuple[set[int], list[int]]:
        """Slots that start a block, and the slot index of every instruction start."""
        n = len(self.slots)
        leaders = {0, self.program.entry}
        starts: list[int] = []
        i = 0
        while i < n:
            starts.append(i)
            insn = self.slots[i]
            width = 2 if isa.is_wide(insn.opcode) else 1
            cls = insn.cls
            if cls in (isa.CLS_JMP, isa.CLS_JMP32):
                op = insn.opcode & 0xF0
                if op == isa.JMP_JA:
                    leaders.add(self.jump_target(i, insn))
                    leaders.add(i + 1)
                elif op == isa.JMP_EXIT and cls == isa.CLS_JMP:
                    leaders.add(i + 1)
                elif op == isa.JMP_CALL and cls == isa.CLS_JMP:
                    if insn.src == isa.CALL_LOCAL and not (insn.opcode & isa.SRC_X):
                        leaders.add(i + 1 + insn.imm)
                        leaders.add(i + 1)
                elif op in _COND_NAMES:
                    leaders.add(i + 1 + insn.off)
                    leaders.add(i + 1)
            i += width
        start_set = set(starts)
        for leader in leaders:
            if leader < n and leader not in start_set:
                raise TranslateError(
                    f"jump into the second slot of the 64-bit load at slot {leader - 1}"
                )
        return {x for x in leaders if x < n}, starts

    def jump_target(self, i: int, insn: isa.Insn) -> int:
        if insn.cls == isa.CLS_JMP32 and (insn.opcode & 0xF0) == isa.JMP_JA:
            return i + 1 + insn.imm
        return i + 1 + insn.off

    def block_for_slot(self, slot: int) -> int:
        try:
            return self.slot_block[slot]
        except KeyError:
            raise self.error(f"jump target {slot} is outside the program") from None

    def run(self) -> Function:
        fn = self.fn
        if self.budget is not None:
            fn.budget_var = fn.new_var().n
        leaders, starts = self.find_leaders()
        self.prepare_imports(starts)
        init = self.make_block(None)
        self.slot_block: dict[int, int] = {}
        for slot in sorted(leaders):
            self.slot_block[slot] = self.make_block(slot).id
        if self.program.entry not in self.slot_block:
            raise TranslateError(f"entry point {self.program.entry} is outside the program")
        self.cur = init
        self.emit_entry_state()
        init.term = Jump(self.slot_block[self.program.entry])
        self.cur = None
        for i in starts:
            self.slot_index = i
            if i in self.slot_block:
                block = self.blocks[self.slot_block[i]]
                if self.cur is not None and self.cur.term is None:
                    self.cur.term = Jump(block.id)
                self.cur = block
                self.current_leader = block.id
                self.leader_order.append(block.id)
            self.lower_insn(i, self.slots[i])
        if self.cur is not None and self.cur.term is None:
            raise TranslateError(
                f"instruction {self.slot_index}: execution can fall through past the end "
                "of the program"
            )
        for ret in self.exits_to_patch:
            ret.sites = list(self.return_sites)
        fn.blocks = self.layout(init)
        return fn

    def layout(self, init: Block) -> list[Block]:
        """Entry block, then per leader (in slot order): the tick blocks that jump to it, the
        leader, and the blocks its instructions invented."""
        order = [init.id]
        for leader in self.leader_order:
            order += self.ticks_for.get(leader, [])
            order.append(leader)
            order += self.extra_blocks.get(leader, [])
        assert sorted(order) == sorted(self.blocks), "every block is laid out exactly once"
        return [self.blocks[bid] for bid in order]

    def prepare_imports(self, starts: list[int]) -> None:
        """Import table: `call imm` ids in order of first use, then (if the program has a
        callx) every other known helper, sorted, so callx can reach them."""
        imports: list[int] = []
        has_callx = False
        has_local = False
        for i in starts:
            insn = self.slots[i]
            if insn.opcode == isa.OP_CALL and insn.src == isa.CALL_HELPER:
                helper_id = insn.imm & 0xFFFFFFFF
                if helper_id not in self.helper_ids:
                    self.slot_index = i
                    raise self.error(f"call to unknown helper {helper_id:#x}")
                if helper_id not in imports:
                    imports.append(helper_id)
            elif insn.opcode == isa.OP_CALLX:
                has_callx = True
            elif insn.opcode == isa.OP_CALL and insn.src == isa.CALL_LOCAL:
                has_local = True
        if has_callx:
            imports.extend(sorted(self.helper_ids - set(imports)))
        self.fn.imports = imports
        self.fn.has_local_calls = has_local
        self.has_local = has_local

    def emit_entry_state(self) -> None:
        """docs/semantics.md 'Registers and entry state'."""
        for reg in range(11):
            self.mov(hi_var(reg), ZERO)
            if reg == 1:
                self.emit(Param(lo_var(1), "ctx"))
            elif reg == 2 and not self.femto:
                self.emit(Param(lo_var(2), "ctx_len"))
            elif reg == 10:
                self.emit(Param(lo_var(10), "stack_top"))
            else:
                self.mov(lo_var(reg), ZERO)
        if self.fn.budget_var is not None:
            self.emit(Param(Var(self.fn.budget_var), "budget"))

    # -- instructions -----------------------------------------------------------------------

    def lower_insn(self, i: int, insn: isa.Insn) -> None:
        cls = insn.cls
        if cls in (isa.CLS_ALU, isa.CLS_ALU64):
            self.alu(insn, cls == isa.CLS_ALU64)
        elif cls in (isa.CLS_JMP, isa.CLS_JMP32):
            self.jmp(i, insn, cls == isa.CLS_JMP32)
        elif cls == isa.CLS_LD:
            self.wide_load(i, insn)
        elif cls == isa.CLS_LDX:
            self.ldx(insn)
        elif cls == isa.CLS_ST:
            self.st(insn)
        elif cls == isa.CLS_STX:
            mode = insn.opcode & 0xE0
            if mode == isa.MODE_ATOMIC:
                self.atomic(insn)
            else:
                self.stx(insn)
        else:  # pragma: no cover - all 8 classes are handled
            raise self.error(f"unknown opcode {insn.opcode:#04x}")

    def source(self, insn: isa.Insn, wide: bool) -> tuple[Operand, Operand]:
        """Second operand of an ALU/JMP instruction: (lo, hi); hi is the sign word of a K
        immediate (64-bit) or unused (32-bit)."""
        if insn.opcode & isa.SRC_X:
            return lo_var(insn.src), hi_var(insn.src)
        return const(insn.imm), _sign_word(insn.imm) if wide else ZERO

    def alu(self, insn: isa.Insn, wide: bool) -> None:
        op = insn.opcode & 0xF0
        d = insn.dst
        dlo, dhi = lo_var(d), hi_var(d)
        if op == isa.ALU_END:
            self.endian(insn, wide)
            return
        if op == isa.ALU_NEG:
            if wide:
                self.emit(Sub64(dlo, dhi, ZERO, ZERO, dlo, dhi))
            else:
                self.emit(Un("neg", dlo, dlo))
                self.mov(dhi, ZERO)
            return
        blo, bhi = self.source(insn, wide)
        if op == isa.ALU_MOV:
            self.move(insn, wide, dlo, dhi, blo, bhi)
        elif op in (isa.ALU_ADD, isa.ALU_SUB):
            name = "add" if op == isa.ALU_ADD else "sub"
            if wide:
                cls = Add64 if op == isa.ALU_ADD else Sub64
                self.emit(cls(dlo, dhi, dlo, dhi, blo, bhi))
            else:
                self.bin(name, dlo, dlo, blo)
                self.mov(dhi, ZERO)
        elif op in _BITWISE:
            self.bin(_BITWISE[op], dlo, dlo, blo)
            if wide:
                self.bin(_BITWISE[op], dhi, dhi, bhi)
            else:
                self.mov(dhi, ZERO)
        elif op == isa.ALU_MUL:
            if wide:
                self.mul64(dlo, dhi, blo, bhi)
            else:
                self.bin("mul", dlo, dlo, blo)
                self.mov(dhi, ZERO)
        elif op in (isa.ALU_LSH, isa.ALU_RSH, isa.ALU_ARSH):
            self.shift(insn, op, wide, dlo, dhi, blo)
        elif op in (isa.ALU_DIV, isa.ALU_MOD):
            self.divide(insn, op, wide, dlo, dhi, blo, bhi)
        else:
            raise self.error(f"unknown ALU opcode {insn.opcode:#04x}")

    def move(self, insn, wide, dlo, dhi, blo, bhi) -> None:
        if insn.off == 0:
            self.mov(dlo, blo)
            self.mov(dhi, bhi if wide else ZERO)
            return
        if not insn.opcode & isa.SRC_X:
            raise self.error("movsx needs a register source")
        if insn.off == 8:
            self.emit(Un("sext8", dlo, blo))
        elif insn.off == 16:
            self.emit(Un("sext16", dlo, blo))
        elif insn.off == 32:
            self.mov(dlo, blo)
        else:
            raise self.error(f"bad movsx width {insn.off}")
        if wide:
            self.bin("ashr", dhi, dlo, Const(31))
        else:
            self.mov(dhi, ZERO)

    def endian(self, insn: isa.Insn, wide: bool) -> None:
        dlo, dhi = lo_var(insn.dst), hi_var(insn.dst)
        width = insn.imm
        if width not in (16, 32, 64):
            raise self.error(f"bad byte-swap width {width}")
        swap = wide or bool(insn.opcode & isa.SRC_X)  # bswap (ALU64) or be (to big endian)
        if width == 16:
            self.emit(Un("bswap16" if swap else "zext16", dlo, dlo))
            self.mov(dhi, ZERO)
        elif width == 32:
            if swap:
                self.emit(Un("bswap32", dlo, dlo))
            self.mov(dhi, ZERO)
        elif swap:
            t = self.temp()
            self.emit(Un("bswap32", t, dlo))
            self.emit(Un("bswap32", dlo, dhi))
            self.mov(dhi, t)
        # le64: nothing to do

    def mul64(self, dlo: Var, dhi: Var, blo: Operand, bhi: Operand) -> None:
        """Low 64 bits of a 64x64 product: lo*lo (wide) + (lo*hi + hi*lo) << 32."""
        plo, phi, c1, c2 = self.temp(), self.temp(), self.temp(), self.temp()
        self.emit(MulWide(plo, phi, dlo, blo, False))
        self.bin("mul", c1, dlo, bhi)
        self.bin("mul", c2, dhi, blo)
        self.bin("add", phi, phi, c1)
        self.bin("add", dhi, phi, c2)
        self.mov(dlo, plo)

    def shift(self, insn, op, wide, dlo, dhi, blo) -> None:
        name = {isa.ALU_LSH: "shl", isa.ALU_RSH: "lshr", isa.ALU_ARSH: "ashr"}[op]
        if not wide:
            amount = blo if isinstance(blo, Var) else Const(blo.value & 31)
            if not (isinstance(amount, Const) and amount.value == 0):
                self.bin(name, dlo, dlo, amount)
            self.mov(dhi, ZERO)
            return
        if isinstance(blo, Var):
            self.emit(Shift64(name, dlo, dhi, dlo, dhi, blo))
            return
        k = blo.value & 63
        if k == 0:
            return
        if k < 32:
            t = self.temp()
            if name == "shl":
                self.bin("lshr", t, dlo, Const(32 - k))
                self.bin("shl", dhi, dhi, Const(k))
                self.bin("or", dhi, dhi, t)
                self.bin("shl", dlo, dlo, Const(k))
            else:
                self.bin("shl", t, dhi, Const(32 - k))
                self.bin("lshr", dlo, dlo, Const(k))
                self.bin("or", dlo, dlo, t)
                self.bin(name, dhi, dhi, Const(k))
            return
        if name == "shl":
            if k == 32:
                self.mov(dhi, dlo)
            else:
                self.bin("shl", dhi, dlo, Const(k - 32))
            self.mov(dlo, ZERO)
        else:
            if k == 32:
                self.mov(dlo, dhi)
            else:
                self.bin(name, dlo, dhi, Const(k - 32))
            if name == "lshr":
                self.mov(dhi, ZERO)
            else:
                self.bin("ashr", dhi, dhi, Const(31))

    def divide(self, insn, op, wide, dlo, dhi, blo, bhi) -> None:
        signed = insn.off == 1
        if insn.off not in (0, 1):
            raise self.error(f"bad division offset {insn.off}")
        is_div = op == isa.ALU_DIV
        name = ("sdiv" if signed else "udiv") if is_div else ("srem" if signed else "urem")
        constant = isinstance(blo, Const)
        const_zero = constant and blo.value == 0 and (not wide or bhi.value == 0)

        def do_divide():
            if wide:
                self.emit(Div64(name, dlo, dhi, dlo, dhi, blo, bhi))
            else:
                self.bin(name, dlo, dlo, blo)
                self.mov(dhi, ZERO)

        def by_zero():  # rfc: div -> 0, mod -> unchanged (32-bit forms zero-extend)
            if is_div:
                self.mov(dlo, ZERO)
            if is_div or not wide:
                self.mov(dhi, ZERO)

        if self.femto:
            if not constant or const_zero:
                self.emit(CheckDivZero(blo, bhi if wide else None, R0LO, R0HI))
            if not const_zero:  # after a check that always faults, nothing more runs
                do_divide()
            return
        if constant:
            if const_zero:
                by_zero()
            else:
                do_divide()
            return
        # rfc, register divisor: branch on zero (not a counted jump)
        zero_block, div_block, join = self.extra_block(), self.extra_block(), self.extra_block()
        self.cur.term = Branch(
            "eq", blo, bhi if wide else None, ZERO, ZERO if wide else None,
            zero_block.id, div_block.id,
        )
        self.cur = div_block
        do_divide()
        self.cur.term = Jump(join.id)
        self.cur = zero_block
        by_zero()
        self.cur.term = Jump(join.id)
        self.cur = join

    # -- jumps and calls --------------------------------------------------------------------

    def jmp(self, i: int, insn: isa.Insn, narrow: bool) -> None:
        op = insn.opcode & 0xF0
        if op == isa.JMP_JA:
            target = self.block_for_slot(self.jump_target(i, insn))
            self.cur.term = Jump(self.edge_to(target))
            self.cur = None
            return
        if not narrow and op == isa.JMP_EXIT:
            if self.has_local:
                ret = Return(R0LO, R0HI, [])
                self.exits_to_patch.append(ret)
                self.cur.term = ret
            else:
                self.cur.term = Exit(R0LO, R0HI)
            self.cur = None
            return
        if not narrow and op == isa.JMP_CALL:
            self.call(i, insn)
            return
        if op not in _COND_NAMES:
            raise self.error(f"unknown jump opcode {insn.opcode:#04x}")
        alo, ahi = lo_var(insn.dst), hi_var(insn.dst)
        blo, bhi = self.source(insn, True)
        if narrow:
            ahi = bhi = None
        target = self.block_for_slot(i + 1 + insn.off)
        fall = self.block_for_slot(i + 1) if i + 1 < len(self.slots) else None
        if fall is None:
            raise self.error("a conditional jump can fall through past the end of the program")
        self.cur.term = Branch(_COND_NAMES[op], alo, ahi, blo, bhi, self.edge_to(target), fall)
        self.cur = None

    def call_args(self) -> list[Operand]:
        """r1.lo .. r5.hi: what helpers see (docs/semantics.md)."""
        return [Var(n) for n in range(2, 12)]

    def call(self, i: int, insn: isa.Insn) -> None:
        d_hi = None if self.femto else R0HI
        clobbered = [Var(n) for n in range(2, 12)]
        if insn.opcode & isa.SRC_X:  # callx: helper id in dst
            self.emit(CallX(lo_var(insn.dst), self.call_args(), R0LO, d_hi, clobbered,
                            R0LO, R0HI))
        elif insn.src == isa.CALL_HELPER:
            index = self.fn.imports.index(insn.imm & 0xFFFFFFFF)
            self.emit(Call(index, self.call_args(), R0LO, d_hi, clobbered, R0LO, R0HI))
        elif insn.src == isa.CALL_LOCAL:
            target = self.block_for_slot(i + 1 + insn.imm)
            if i + 1 not in self.slot_block:
                raise self.error("a local call must be followed by an instruction")
            ret = self.extra_block()
            ret.ops.append(PopFrame([Var(n) for n in range(12, 20)]))
            ret.term = Jump(self.slot_block[i + 1])
            self.return_sites.append(ret.id)
            self.emit(PushFrame(ret.id, [Var(n) for n in range(12, 20)], R0LO, R0HI))
            self.cur.term = LocalCall(target, ret.id)
            self.cur = None
            return
        else:
            raise self.error(f"unsupported call kind (src {insn.src})")
        if self.femto:
            self.mov(R0HI, ZERO)

    # -- memory -----------------------------------------------------------------------------

    def check(self, base: Operand, off: int, size: int, access: str) -> None:
        self.emit(CheckMem(base, off, size, access, None, R0LO, R0HI))

    def wide_load(self, i: int, insn: isa.Insn) -> None:
        if insn.opcode not in isa.WIDE_OPCODES:
            raise self.error(f"unknown load opcode {insn.opcode:#04x}")
        if i + 1 >= len(self.slots):
            raise self.error("64-bit immediate load without its second slot")
        value = isa.imm64(insn, self.slots[i + 1])
        dlo, dhi = lo_var(insn.dst), hi_var(insn.dst)
        lo, hi = const(value), const(value >> 32)
        if insn.opcode == isa.OP_LDDW:
            self.mov(dlo, lo)
            self.mov(dhi, hi)
            return
        base = self.temp()
        self.emit(Param(base, "data_base" if insn.opcode == isa.OP_LDDWD else "rodata_base"))
        self.emit(Add64(dlo, dhi, base, ZERO, lo, hi))

    def ldx(self, insn: isa.Insn) -> None:
        mode = insn.opcode & 0xE0
        size = isa.SIZE_BYTES[insn.opcode & 0x18]
        base = lo_var(insn.src)
        dlo, dhi = lo_var(insn.dst), hi_var(insn.dst)
        off = insn.off
        if mode not in (isa.MODE_MEM, isa.MODE_MEMSX) or (mode == isa.MODE_MEMSX and size == 8):
            raise self.error(f"unknown load opcode {insn.opcode:#04x}")
        self.check(base, off, size, "r")
        if size == 8:
            # hi first: dhi is never the base (a lo half), so the base survives for the lo load
            self.emit(Load(dhi, base, off + 4, 4, False))
            self.emit(Load(dlo, base, off, 4, False))
            return
        signed = mode == isa.MODE_MEMSX
        self.emit(Load(dlo, base, off, size, signed and size < 4))
        if signed:
            self.bin("ashr", dhi, dlo, Const(31))
        else:
            self.mov(dhi, ZERO)

    def store_value(self, base, off, size, lo: Operand, hi: Operand) -> None:
        if size == 8:
            self.emit(Store(base, off, 4, lo))
            self.emit(Store(base, off + 4, 4, hi))
        else:
            self.emit(Store(base, off, size, lo))

    def checked_store(self, insn: isa.Insn) -> tuple[Var, int]:
        """The part st and stx share: the mode check and the write check of the destination;
        returns the base (dst.lo) and the access size."""
        if insn.opcode & 0xE0 != isa.MODE_MEM:
            raise self.error(f"unknown store opcode {insn.opcode:#04x}")
        size = isa.SIZE_BYTES[insn.opcode & 0x18]
        base = lo_var(insn.dst)
        self.check(base, insn.off, size, "w")
        return base, size

    def st(self, insn: isa.Insn) -> None:
        base, size = self.checked_store(insn)
        self.store_value(base, insn.off, size, const(insn.imm), _sign_word(insn.imm))

    def stx(self, insn: isa.Insn) -> None:
        base, size = self.checked_store(insn)
        self.store_value(base, insn.off, size, lo_var(insn.src), hi_var(insn.src))

    def atomic(self, insn: isa.Insn) -> None:
        """Check (rw), load, operate, store; the container is single-threaded."""
        size = isa.SIZE_BYTES[insn.opcode & 0x18]
        if size not in (4, 8):
            raise self.error(f"atomic operations need size w or dw, not {size}")
        wide = size == 8
        base, off = lo_var(insn.dst), insn.off
        slo, shi = lo_var(insn.src), hi_var(insn.src)
        code = insn.imm
        if code not in isa.ATOMIC_OPS:
            raise self.error(f"unknown atomic operation {code:#x}")
        self.check(base, off, size, "rw")
        olo = self.temp()
        ohi = self.temp() if wide else ZERO
        if wide:
            self.emit(Load(ohi, base, off + 4, 4))
        self.emit(Load(olo, base, off, 4))
        if code == isa.ATOMIC_CMPXCHG:
            store_block, join = self.extra_block(), self.extra_block()
            self.cur.term = Branch(
                "eq", olo, ohi if wide else None, R0LO, R0HI if wide else None,
                store_block.id, join.id,
            )
            self.cur = store_block
            self.store_value(base, off, size, slo, shi)
            self.cur.term = Jump(join.id)
            self.cur = join
            self.mov(R0LO, olo)
            self.mov(R0HI, ohi)
            return
        if code == isa.ATOMIC_XCHG:
            self.store_value(base, off, size, slo, shi)
        else:
            kind = _ATOMIC_BIN[code & ~isa.ATOMIC_FETCH]
            nlo = self.temp()
            nhi = self.temp() if wide else None
            if kind == "add" and wide:
                self.emit(Add64(nlo, nhi, olo, ohi, slo, shi))
            else:
                self.bin(kind, nlo, olo, slo)
                if wide:
                    self.bin(kind, nhi, ohi, shi)
            self.store_value(base, off, size, nlo, nhi)
        if code & isa.ATOMIC_FETCH:
            self.mov(slo, olo)
            self.mov(shi, ohi)
