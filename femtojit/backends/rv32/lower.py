"""Instruction selection: a prepared, register-allocated IR function -> RV32IMC items.

Every variable has one location for its whole life (the allocator's register or spill
slot), so there are no moves at block boundaries: each op reads its operands where they
live and writes its results where they live. t3-t6 are the scratch registers (never
allocated, abi.py): a spilled operand or a constant goes through them, and so does the check
arithmetic; x0 is the constant 0. The block order is the IR's layout (budget tick blocks sit
right before their targets), with jumps to the next block left out.

RISC-V has no flags: carries come from `sltu`, 64-bit compares branch on the upper halves
first, and every conditional branch compares two registers (x0 for zero).

Memory accesses whose address is not known to be aligned (align.py) test the low address
bits and take an out-of-line byte-by-byte path when they are not zero (halfword stores are
always done as two byte stores, which is as short as the test): real RV32 cores such as the
ESP32-C3 trap on misaligned accesses.

Out-of-line code follows the function body: the shared fault exit, the fault stubs (one per
distinct (r0 location, status)), the slow paths of memory checks and misaligned accesses,
the region scan and the 64-bit division routines.
"""

from __future__ import annotations

from femtojit.backends.common.abi import FRAME_BYTES
from femtojit.backends.common.lower import COMMUTATIVE, M32, LoweringBase, common_handlers
from femtojit.backends.common.prep import GuardMem, HelperCall, RegionLimit, StoreRegs, VmArg
from femtojit.backends.common.selector import Loc, sequence_moves
from femtojit.backends.common.vmabi import (
    REGION_ENTRY_SIZE,
    REGION_LEN,
    VM_REGS,
    VM_RESULT,
    VM_STATUS,
)
from femtojit.backends.rv32 import encode as E
from femtojit.backends.rv32 import forms as F
from femtojit.backends.rv32 import routines
from femtojit.backends.rv32.abi import CALL_CLOBBERED, LINK, SA, SB, SC, SD, Frame
from femtojit.backends.rv32.emit import Asm, Label
from femtojit.backends.rv32.encode import A0, A1, A2, A3, RA, SP, ZERO
from femtojit.backends.rv32.forms import fits12, signed32
from femtojit.ir import types as T
from femtojit.ir.regalloc import Allocation
from femtojit.ir.types import MAX_FRAMES, Const, Var
from femtojit.status import Status

#: cond -> (branch, swap operands) for a 32-bit compare taken when cond(a, b) holds.
BRANCH_OF = {
    "eq": ("beq", False), "ne": ("bne", False),
    "ult": ("bltu", False), "uge": ("bgeu", False), "ugt": ("bltu", True),
    "ule": ("bgeu", True),
    "slt": ("blt", False), "sge": ("bge", False), "sgt": ("blt", True), "sle": ("bge", True),
}  # fmt: skip
INVERSE = {"beq": "bne", "bne": "beq", "blt": "bge", "bge": "blt", "bltu": "bgeu",
           "bgeu": "bltu"}
#: For a 64-bit ordered compare: the strict compare on the upper halves that decides it when
#: they differ (branch, swap), and the unsigned compare of the lower halves when they are equal.
WIDE_ORDER = {
    "ult": (("bltu", False), ("bltu", False)), "ule": (("bltu", False), ("bgeu", True)),
    "ugt": (("bltu", True), ("bltu", True)), "uge": (("bltu", True), ("bgeu", False)),
    "slt": (("blt", False), ("bltu", False)), "sle": (("blt", False), ("bgeu", True)),
    "sgt": (("blt", True), ("bltu", True)), "sge": (("blt", True), ("bgeu", False)),
}  # fmt: skip
DIVISIONS = ("udiv", "urem", "sdiv", "srem")
REG_OPS = {"mul": E.mul, "shl": E.sll, "lshr": E.srl, "ashr": E.sra, "udiv": E.divu,
           "urem": E.remu, "sdiv": E.div, "srem": E.rem}


class Selector(LoweringBase):
    """Translates one prepared function; `run()` returns the filled Asm."""

    target = "rv32imc"

    def __init__(self, fn: T.Function, alloc: Allocation, frame: Frame, *, vm: Var,
                 aligned: set[int]):
        super().__init__(fn, alloc, frame, vm, Asm())
        self.aligned = aligned
        self.fault_exit = self.asm.label("fault_exit")
        self.stats["alignment_tests"] = 0

    # ---- locations ------------------------------------------------------------------------

    def e(self, data: bytes) -> None:
        self.asm.emit(data)

    def load_loc(self, reg: int, loc: Loc) -> None:
        """reg := the value at loc."""
        kind, x = loc
        if kind == "reg":
            self.e(F.mv(reg, x))
        elif kind == "slot":
            self.e(F.lw(reg, SP, x))
        else:
            self.e(F.li(reg, x))

    def src(self, operand, scratch: int) -> int:
        """A register holding the operand: its own, x0 for 0, or `scratch` loaded with it."""
        return self.src_loc(self.where(operand), scratch)

    def commit(self, var: Var, reg: int) -> None:
        """var := reg (a store when var is spilled)."""
        loc = self.where(var)
        if loc[0] == "slot":
            self.e(F.sw(reg, SP, loc[1]))
        else:
            self.e(F.mv(loc[1], reg))

    def store_word(self, operand, base: int, offset: int, scratch: int) -> None:
        """[base + offset] := the operand (one word)."""
        self.e(F.sw(self.src(operand, scratch), base, offset))

    def parallel_move(self, moves: list[tuple[Loc, Loc]], temp: int) -> None:
        """dst := src for all pairs at once (destinations distinct; a slot is never both a
        destination and a source). Cycles of register moves go through `temp`."""
        for d, s in sequence_moves(moves, temp):
            if d[0] == "slot":
                self.e(F.sw(self.src_loc(s, temp), SP, d[1]))
            else:
                self.load_loc(d[1], s)

    def src_loc(self, loc: Loc, scratch: int) -> int:
        """A register holding the value at loc: its own, x0 for 0, or `scratch` loaded."""
        if loc[0] == "reg":
            return loc[1]
        if loc == ("const", 0):
            return ZERO
        self.load_loc(scratch, loc)
        return scratch

    def vm_in(self, scratch: int) -> int:
        """A register holding the vm pointer."""
        return self.src(self.vm, scratch)

    def vm_after_call(self) -> int:
        """The vm pointer after a call (live there, so not in a caller-saved register)."""
        loc = self.where(self.vm)
        assert loc[0] == "slot" or loc[1] not in CALL_CLOBBERED, loc
        return self.vm_in(SA)

    # ---- stubs ----------------------------------------------------------------------------

    def emit_fault_stub(self, lo: Loc, hi: Loc, status: int) -> None:
        """vm->result = (hi:lo), then the shared exit with `status`."""
        self.load_loc(SA, self.where(self.vm))
        self.e(F.sw(self.src_loc(lo, SB), SA, VM_RESULT))
        self.e(F.sw(self.src_loc(hi, SB), SA, VM_RESULT + 4))
        self.e(F.li(SB, status))
        self.asm.j(self.fault_exit)

    def helper_fault_stub(self, r0: tuple | None = None) -> Label:
        """After a helper reported a fault (SB = vm->status): the status is the helper's
        (ILLEGAL_CALL if it wrote a positive one); the result is r0 from before the call,
        stored before the call (r0 None) or here from locations the call left alone."""

        def common():
            self.load_loc(SA, self.where(self.vm))
            keep = self.asm.label("helper_status")
            self.asm.branch("bge", ZERO, SB, keep)
            self.e(F.li(SB, Status.ILLEGAL_CALL))
            self.asm.bind(keep)
            self.asm.j(self.fault_exit)

        shared = self.deferred_stub(("helper",), "helper_fault", common)
        if r0 is None:
            return shared

        def store_r0():
            self.load_loc(SA, self.where(self.vm))
            self.e(F.sw(self.src_loc(r0[0], SC), SA, VM_RESULT))
            self.e(F.sw(self.src_loc(r0[1], SC), SA, VM_RESULT + 4))
            self.asm.j(shared)

        return self.deferred_stub(("helper", r0), "helper_fault_r0", store_r0)

    # ---- the function ---------------------------------------------------------------------

    def run(self) -> Asm:
        asm = self.asm
        self.prologue()
        blocks = self.fn.blocks
        for i, block in enumerate(blocks):
            asm.bind(self.labels[block.id])
            next_id = blocks[i + 1].id if i + 1 < len(blocks) else None
            ops = block.ops
            j = 0
            while j < len(ops):
                op = ops[j]
                if isinstance(op, (T.Load, T.Store)):
                    count = self.access_group(ops, j)
                    self.asm.tag = type(op).__name__
                    self.op_access(ops[j:j + count])
                    j += count
                    continue
                self.op(op)
                j += 1
            self.terminator(block.term, next_id)
        asm.tag = "out-of-line"
        # the exit of fault stubs: SA = vm, SB = status
        asm.bind(self.fault_exit)
        self.e(F.sw(SB, SA, VM_STATUS))
        self.e(F.mv(A0, SB))
        self.epilogue()
        self.flush_deferred()
        self.emit_routines(routines)
        return asm

    def prologue(self) -> None:
        self.asm.tag = "prologue"
        frame = self.frame
        if frame.size:
            self.e(F.addi(SP, SP, -frame.size))
        for i, reg in enumerate(frame.saved):
            self.e(F.sw(reg, SP, frame.saved_at(i)))
        if frame.depth_offset is not None:
            self.e(F.sw(ZERO, SP, frame.depth_offset))

    def epilogue(self) -> None:
        frame = self.frame
        for i, reg in enumerate(frame.saved):
            self.e(F.lw(reg, SP, frame.saved_at(i)))
        if frame.size:
            self.e(F.addi(SP, SP, frame.size))
        self.e(E.c_jr(RA))

    # ---- ops ------------------------------------------------------------------------------

    def op_mov(self, op: T.Mov) -> None:
        dst, src = self.where(op.d), self.where(op.a)
        if dst == src:
            return
        if dst[0] == "reg":
            self.load_loc(dst[1], src)
        else:
            self.e(F.sw(self.src_loc(src, SA), SP, dst[1]))

    def op_vmarg(self, op: VmArg) -> None:
        self.commit(op.d, A0)

    def load_field(self, d: Var, base, offset: int) -> None:
        """d := the word at base + offset."""
        rb = self.src(base, SA)
        rd = self.dest(d, SA)
        self.e(F.lw(rd, rb, offset))
        self.commit(d, rd)

    def op_region_limit(self, op: RegionLimit) -> None:
        rb = self.src(op.regions, SA)
        rd = self.dest(op.d, SA)
        self.e(F.lw(SB, rb, REGION_ENTRY_SIZE * op.region + REGION_LEN))
        if op.size == 1:
            self.commit(op.d, SB)
            return
        # max(0, len - (size - 1)): mask = len < size - 1 ? 0 : all ones
        self.e(E.sltiu(SC, SB, op.size - 1))
        self.e(F.addi(SC, SC, -1))
        self.e(F.addi(SB, SB, -(op.size - 1)))
        self.e(F.logic("and", rd, SB, SC))
        self.commit(op.d, rd)

    def op_bin(self, op: T.Bin) -> None:
        name, a, b = op.op, op.a, op.b
        if name in COMMUTATIVE and isinstance(a, Const) and not isinstance(b, Const):
            a, b = b, a
        if isinstance(b, Const) and not isinstance(a, Const) and name not in DIVISIONS:
            ra = self.src(a, SA)
            rd = self.dest(op.d, SA)
            data = self.bin_imm(name, rd, ra, b.value)
            if data is not None:
                self.e(data)
                self.commit(op.d, rd)
                return
        ra = self.src(a, SA)
        rb = self.src(b, SB)
        rd = self.dest(op.d, SA)
        if name == "add":
            data = F.add(rd, ra, rb)
        elif name == "sub":
            data = F.sub(rd, ra, rb)
        elif name in ("and", "or", "xor"):
            data = F.logic(name, rd, ra, rb)
        else:
            data = REG_OPS[name](rd, ra, rb)
        self.e(data)
        self.commit(op.d, rd)

    def bin_imm(self, name: str, rd: int, ra: int, value: int) -> bytes | None:
        """rd := ra <op> value in one or two instructions without a scratch, or None."""
        imm = signed32(value)
        if name == "add" and fits12(imm):
            return F.addi(rd, ra, imm)
        if name == "sub" and fits12(-imm):
            return F.addi(rd, ra, -imm)
        if name in ("and", "or", "xor"):
            if fits12(imm):
                return F.logic_imm(name, rd, ra, imm)
            if name == "and":
                low = value + 1
                if low & value == 0:  # 2^k - 1: keep the low k bits
                    k = low.bit_length() - 1
                    return F.shift_imm("shl", rd, ra, 32 - k) + F.shift_imm("lshr", rd, rd, 32 - k)
                high = (~value & M32) + 1
                if high & (~value & M32) == 0:  # clear the low k bits
                    k = high.bit_length() - 1
                    return F.shift_imm("lshr", rd, ra, k) + F.shift_imm("shl", rd, rd, k)
            return None
        if name in ("shl", "lshr", "ashr"):
            return F.shift_imm(name, rd, ra, value & 31)
        if name == "mul" and value and value & (value - 1) == 0:
            return F.shift_imm("shl", rd, ra, value.bit_length() - 1)
        return None

    def op_un(self, op: T.Un) -> None:
        ra = self.src(op.a, SA)
        rd = self.dest(op.d, SA)
        name = op.op
        e = self.e
        if name == "neg":
            e(E.sub(rd, ZERO, ra))
        elif name == "not":
            e(E.xori(rd, ra, -1))
        elif name in ("sext8", "sext16", "zext16"):
            k = 24 if name == "sext8" else 16
            e(F.shift_imm("shl", rd, ra, k))
            e(F.shift_imm("lshr" if name == "zext16" else "ashr", rd, rd, k))
        elif name == "zext8":
            e(F.logic_imm("and", rd, ra, 255))
        elif name == "bswap16":
            e(F.shift_imm("lshr", SC, ra, 8))
            e(F.logic_imm("and", SC, SC, 255))
            e(F.logic_imm("and", SB, ra, 255))
            e(F.shift_imm("shl", SB, SB, 8))
            e(F.logic("or", rd, SB, SC))
        elif name == "bswap32":
            e(F.shift_imm("shl", SB, ra, 24))  # byte 0 -> 3
            e(F.shift_imm("lshr", SC, ra, 24))  # byte 3 -> 0
            e(F.logic("or", SB, SB, SC))
            e(F.shift_imm("shl", SC, ra, 16))  # byte 1 -> 2
            e(F.shift_imm("lshr", SC, SC, 24))
            e(F.shift_imm("shl", SC, SC, 16))
            e(F.logic("or", SB, SB, SC))
            e(F.shift_imm("lshr", SC, ra, 16))  # byte 2 -> 1
            e(F.logic_imm("and", SC, SC, 255))
            e(F.shift_imm("shl", SC, SC, 8))
            e(F.logic("or", rd, SB, SC))
        else:
            raise NotImplementedError(f"rv32imc: Un {name}")
        self.commit(op.d, rd)

    def op_addsub64(self, op) -> None:
        """Low halves, the carry (borrow) by sltu, then the upper halves."""
        add = isinstance(op, T.Add64)
        alo, ahi, blo, bhi = op.alo, op.ahi, op.blo, op.bhi
        if add and isinstance(alo, Const) and not isinstance(blo, Const):
            alo, ahi, blo, bhi = blo, bhi, alo, ahi
        e = self.e
        imm = None
        if isinstance(blo, Const) and fits12(signed32(blo.value)):
            imm = signed32(blo.value)  # the B operand as a 12-bit immediate
            if not add and not fits12(-imm):
                imm = None
        ra = self.src(alo, SA)
        rb = ZERO if imm is not None else self.src(blo, SB)
        if op.dhi is None:  # only the low half: a plain add/sub
            rd = self.dest(op.dlo, SA)
            if imm is not None:
                e(F.addi(rd, ra, imm if add else -imm))
            else:
                e(F.add(rd, ra, rb) if add else F.sub(rd, ra, rb))
            self.commit(op.dlo, rd)
            return
        # the low result goes straight to its register unless that register is an input
        # of the upper half (then to SB, committed last)
        lo_loc = self.where(op.dlo) if op.dlo is not None else None
        if lo_loc is not None and lo_loc[0] == "reg" and lo_loc not in (self.where(ahi),
                                                                          self.where(bhi)):
            rl = lo_loc[1]
        else:
            rl = SB
        # SC := carry out of (or borrow into) the low halves
        if add:
            if imm is not None:
                e(F.addi(rl, ra, imm))
                e(E.sltiu(SC, rl, imm))  # carry iff the sum is below the addend
            else:
                other = ra if rl != ra else rb
                if rl == ra == rb:  # x + x: the carry is the top bit
                    e(F.shift_imm("lshr", SC, ra, 31))
                    e(F.add(rl, ra, rb))
                else:
                    e(F.add(rl, ra, rb))
                    e(E.sltu(SC, rl, other))
        else:
            if imm is not None:
                e(E.sltiu(SC, ra, imm))
                e(F.addi(rl, ra, -imm))
            else:
                e(E.sltu(SC, ra, rb))
                e(F.sub(rl, ra, rb))
        rah = self.src(ahi, SA)
        rdh = self.dest(op.dhi, SA)
        if bhi == Const(0):
            e(F.add(rdh, rah, SC) if add else F.sub(rdh, rah, SC))
            self.commit(op.dhi, rdh)
            if op.dlo is not None:
                self.commit(op.dlo, rl)
            return
        if isinstance(bhi, Const) and fits12(signed32(bhi.value) * (1 if add else -1)):
            e(F.addi(rdh, rah, signed32(bhi.value) * (1 if add else -1)))
        else:
            rbh = self.src(bhi, SD)
            e(F.add(rdh, rah, rbh) if add else F.sub(rdh, rah, rbh))
        e(F.add(rdh, rdh, SC) if add else F.sub(rdh, rdh, SC))
        self.commit(op.dhi, rdh)
        if op.dlo is not None:
            self.commit(op.dlo, rl)

    def op_mulwide(self, op: T.MulWide) -> None:
        """mul / mulhu (mulh): each result straight into its register, the one that
        overwrites an input last."""
        ra = self.src(op.a, SA)
        rb = self.src(op.b, SB)
        high = E.mulh if op.signed else E.mulhu
        if op.dhi is None:
            rd = self.dest(op.dlo, SA)
            self.e(E.mul(rd, ra, rb))
            self.commit(op.dlo, rd)
            return
        rdh = self.dest(op.dhi, SC)
        if op.dlo is None:
            self.e(high(rdh, ra, rb))
            self.commit(op.dhi, rdh)
            return
        rdl = self.dest(op.dlo, SA)
        if rdh in (ra, rb):
            if rdl in (ra, rb):
                rdh = SC  # both results overwrite inputs: the high one waits in SC
                self.e(high(rdh, ra, rb))
                self.e(E.mul(rdl, ra, rb))
            else:
                self.e(E.mul(rdl, ra, rb))
                self.e(high(rdh, ra, rb))
        else:
            self.e(high(rdh, ra, rb))
            self.e(E.mul(rdl, ra, rb))
        self.commit(op.dlo, rdl)
        self.commit(op.dhi, rdh)

    def op_shift64(self, op: T.Shift64) -> None:
        """Inline: inputs copied to SA (lo), SB (hi), SC (amount); ra is the temporary."""
        self.parallel_move([(("reg", SA), self.where(op.alo)), (("reg", SB), self.where(op.ahi)),
                            (("reg", SC), self.where(op.amount))], SD)
        e, asm = self.e, self.asm
        big, done = asm.label("shift64_big"), asm.label("shift64_done")
        e(F.logic_imm("and", SD, SC, 32))
        asm.branch("bne", SD, ZERO, big)
        e(F.logic_imm("and", SD, SC, 31))
        asm.branch("beq", SD, ZERO, done)  # by 0 (mod 64): nothing to do
        e(E.sub(SD, ZERO, SD))  # 32 - n (mod 32), n in 1..31
        if op.op == "shl":
            e(E.srl(SD, SA, SD))  # the bits crossing into the upper half
            e(E.sll(SB, SB, SC))
            e(F.logic("or", SB, SB, SD))
            e(E.sll(SA, SA, SC))
        else:
            e(E.sll(SD, SB, SD))  # the bits crossing into the lower half
            e(E.srl(SA, SA, SC))
            e(F.logic("or", SA, SA, SD))
            e((E.srl if op.op == "lshr" else E.sra)(SB, SB, SC))
        asm.j(done)
        asm.bind(big)  # n in 32..63: one half moves across, shifted by n - 32 (= n mod 32)
        if op.op == "shl":
            e(E.sll(SB, SA, SC))
            e(F.li(SA, 0))
        elif op.op == "lshr":
            e(E.srl(SA, SB, SC))
            e(F.li(SB, 0))
        else:
            e(E.sra(SA, SB, SC))
            e(F.shift_imm("ashr", SB, SB, 31))
        asm.bind(done)
        if op.dlo is not None:
            self.commit(op.dlo, SA)
        if op.dhi is not None:
            self.commit(op.dhi, SB)

    def op_div64(self, op: T.Div64) -> None:
        """A call op for the allocator: the routine clobbers a0-a7 and t0-t6."""
        self.parallel_move([
            (("reg", A0), self.where(op.alo)), (("reg", A1), self.where(op.ahi)),
            (("reg", A2), self.where(op.blo)), (("reg", A3), self.where(op.bhi)),
        ], SA)
        self.asm.call(self.div64_entry(op.op), LINK)
        lo, hi = (A2, A3) if op.op == "urem" else (A0, A1)
        self.results([(op.dlo, lo), (op.dhi, hi)], SA)

    def results(self, pairs, temp: int) -> None:
        """Each variable of (variable or None, register) pairs := its register, all at once
        (a routine's or a helper's results)."""
        self.parallel_move([(self.where(v), ("reg", r)) for v, r in pairs if v is not None],
                           temp)

    # ---- memory ---------------------------------------------------------------------------

    def address(self, base, off: int, scratch: int, span: int) -> tuple[int, int]:
        """(register, offset) addressing base + off .. base + off + span - 1 with 12-bit
        offsets: the base's register when they fit, else scratch := base + off."""
        rb = self.src(base, scratch)
        if fits12(off) and fits12(off + span - 1):
            return rb, off
        self.add_offset(scratch, rb, off, SD)
        return scratch, 0

    def add_offset(self, rd: int, rb: int, off: int, temp: int) -> None:
        """rd := rb + off (mod 2^32), through temp when off needs more than 12 bits."""
        value = signed32(off)
        if fits12(value):
            self.e(F.addi(rd, rb, value))
        else:
            self.e(F.li(temp, off & M32))
            self.e(F.add(rd, rb, temp))

    def misaligned_test(self, rb: int, off: int, size: int) -> Label:
        """Branch to a new label (the slow path) unless (rb + off) is a multiple of size."""
        self.stats["alignment_tests"] += 1
        if off % size:
            self.e(F.addi(SA, rb, off))
            self.e(F.logic_imm("and", SA, SA, size - 1))
        else:
            self.e(F.logic_imm("and", SA, rb, size - 1))
        slow = self.asm.label("misaligned")
        self.asm.branch("bne", SA, ZERO, slow)
        return slow

    def needs_test(self, op) -> bool:
        """A halfword or word access whose address may be misaligned (halfword stores are
        two byte stores instead: as short as the test)."""
        if op.size == 1 or id(op) in self.aligned:
            return False
        return isinstance(op, T.Load) or op.size == 4

    def access_group(self, ops: list, start: int) -> int:
        """How many accesses from ops[start] on share one alignment test: consecutive loads
        and stores needing one, of the same size, through the same base at offsets that are
        equal modulo the size and reachable from one register; a load that redefines the
        base ends the group."""
        first = ops[start]
        if not self.needs_test(first):
            return 1
        size, base = first.size, first.base
        count = 0
        for op in ops[start:]:
            if not (isinstance(op, (T.Load, T.Store)) and self.needs_test(op)
                    and op.size == size and op.base == base
                    and (op.off - first.off) % size == 0
                    and fits12(op.off) and fits12(op.off + size - 1)):
                break
            count += 1
            if isinstance(op, T.Load) and op.d == base:
                break
        return max(count, 1)

    def op_access(self, group: list) -> None:
        """Loads and stores; a group needing an alignment test shares one (access_group):
        the fast path makes the accesses as they are, the out-of-line path byte by byte."""
        first = group[0]
        rb, off0 = self.address(first.base, first.off, SC, first.size)
        if not self.needs_test(first):
            assert len(group) == 1
            self.access(first, rb, off0)
            return
        slow = self.misaligned_test(rb, off0, first.size)
        delta = off0 - first.off  # (0, or the offset folded into SC by address())
        for op in group:
            self.access(op, rb, op.off + delta)
        back = self.asm.label("aligned")
        self.asm.bind(back)

        def slow_path():
            self.asm.bind(slow)
            for op in group:
                self.bytewise(op, rb, op.off + delta)
            self.asm.j(back)

        self.defer(slow_path)

    def access(self, op, rb: int, off: int) -> None:
        """The access as one instruction (two byte stores for an unaligned halfword store)."""
        if isinstance(op, T.Load):
            rd = self.dest(op.d, SB)
            self.e(F.load(rd, rb, off, op.size, op.signed))
            self.commit(op.d, rd)
            return
        rv = self.src(op.value, SB)
        if op.size == 2 and id(op) not in self.aligned:
            self.bytewise(op, rb, off)
        else:
            self.e(F.store(rv, rb, off, op.size))

    def bytewise(self, op, rb: int, off: int) -> None:
        """The access byte by byte, lowest address first (little-endian)."""
        e = self.e
        if isinstance(op, T.Load):
            rd = self.dest(op.d, SB)
            e(E.lbu(SA, rb, off))
            for i in range(1, op.size):
                top = i == op.size - 1
                e((E.lb if top and op.signed else E.lbu)(SD, rb, off + i))  # sign from the top
                e(F.shift_imm("shl", SD, SD, 8 * i))
                e(F.logic("or", SA if not top else rd, SA, SD))
            self.commit(op.d, rd)
            return
        rv = self.src(op.value, SB)
        e(E.sb(rv, rb, off))
        for i in range(1, op.size):
            e(F.shift_imm("lshr", SA, rv, 8 * i))
            e(E.sb(SA, rb, off + i))

    def op_guard(self, g: GuardMem) -> None:
        """Fast path: t = addr - start; t <u limit, else the out-of-line miss path."""
        self.stats["guards_cached" if g.cached else "guards_region"] += 1
        rb = self.src(g.base, SA)
        ra = rb
        if g.off and not g.biased:  # (biased: the start has the offset subtracted already)
            self.add_offset(SA, rb, g.off, SB)
            ra = SA
        start = g.cstart if g.cached else g.start
        limit = g.climit if g.cached else g.limit
        rs = self.src(start, SB)
        self.e(F.sub(SA, ra, rs))
        rl = self.src(limit, SB)
        miss = self.asm.label("miss")
        back = self.asm.label("back")
        self.asm.branch("bgeu", SA, rl, miss)
        self.asm.bind(back)
        fault, parts, scans = self.guard_scans(g)

        def slow_path():
            """Each fused access on its own, in program order, through the full scan."""
            self.asm.bind(miss)
            for (off, _), scan in zip(parts, scans):
                self.add_offset(SA, self.src(g.base, SA), off, SB)
                self.load_loc(SB, self.where(self.vm))
                self.asm.call(scan, LINK)
                self.asm.branch("beq", SC, ZERO, fault)
            if g.cached:
                self.commit(g.cstart, SA)
                self.commit(g.climit, SB)
            self.asm.j(back)

        self.defer(slow_path)

    # ---- checks and budget ----------------------------------------------------------------

    def op_divzero(self, op: T.CheckDivZero) -> None:
        stub = self.fault_stub(op.r0lo, op.r0hi, Status.ILLEGAL_DIV)
        lo, hi = op.lo, op.hi
        if hi is None or hi == Const(0):
            if isinstance(lo, Const):
                if lo.value == 0:
                    self.asm.j(stub)
                return
            self.asm.branch("beq", self.src(lo, SA), ZERO, stub)
            return
        rl = self.src(lo, SA)
        rh = self.src(hi, SB)
        self.e(F.logic("or", SA, rl, rh))
        self.asm.branch("beq", SA, ZERO, stub)

    def op_budget(self, op: T.BudgetTick) -> None:
        stub = self.fault_stub(op.r0lo, op.r0hi, Status.OUT_OF_BRANCHES)
        r = self.src(op.counter, SA)
        self.asm.branch("beq", r, ZERO, stub)
        self.e(F.addi(r, r, -1))
        self.commit(op.counter, r)

    # ---- helper calls ---------------------------------------------------------------------

    def store_halves(self, values, rv: int, offset: int) -> None:
        """vm->regs words from values (r1.lo .. r5.hi, None: leave alone), at rv + offset."""
        for i, value in enumerate(values):
            if value is not None:
                self.store_word(value, rv, offset + 4 * i, SB)

    def op_store_regs(self, op: StoreRegs) -> None:
        rv = self.src(op.vm, SA)
        self.store_halves(op.values, rv, VM_REGS + 8)

    def op_call(self, op: HelperCall) -> None:
        """Store the arguments vm->regs does not hold yet, call helper(fc, &vm->regs),
        check vm->status, take r0, reload the r1-r5 words that are read afterwards. r0 (the
        result should the helper fault) is stored before the call, or only on the fault path
        when the call leaves its locations alone. a0-a7 and t0-t2 are free here (a call op)."""
        if op.index is None:
            self.callx_lookup(op)  # SC := 4 * import index
        rv = self.vm_in(SA)
        r0 = (self.where(op.r0lo), self.where(op.r0hi))
        if any(loc[0] == "reg" and loc[1] in CALL_CLOBBERED for loc in r0):
            self.e(F.sw(self.src(op.r0lo, SB), rv, VM_RESULT))
            self.e(F.sw(self.src(op.r0hi, SB), rv, VM_RESULT + 4))
            r0 = None
        self.store_halves(op.args, rv, VM_REGS + 8)
        target = self.src(op.target, SB)
        if op.index is None:  # the table: helpers[index]
            self.e(F.add(SB, target, SC))
            self.e(F.lw(SB, SB, 0))
            target = SB
        if target in (A0, A1):  # (the argument moves below overwrite it)
            self.e(F.mv(SB, target))
            target = SB
        # a0 = fc, a1 = &vm->regs
        fc = self.where(op.fc)
        if fc == ("reg", A1):
            self.e(F.addi(SC, rv, VM_REGS))
            self.e(F.mv(A0, A1))
            self.e(F.mv(A1, SC))
        else:
            self.e(F.addi(A1, rv, VM_REGS))
            self.load_loc(A0, fc)
        self.e(E.c_jalr(target))
        rv = self.vm_after_call()
        self.e(F.lw(SB, rv, VM_STATUS))
        self.asm.branch("bne", SB, ZERO, self.helper_fault_stub(r0))
        self.results([(op.d_lo, A0), (op.d_hi, A1)], SC)
        for i, var in enumerate(op.clobbered):
            if var is None:
                continue
            rd = self.dest(var, SB)
            self.e(F.lw(rd, rv, VM_REGS + 8 + 4 * i))
            self.commit(var, rd)

    def callx_lookup(self, op: HelperCall) -> None:
        """SC := 4 * the import index of the helper id in op.id, or ILLEGAL_CALL."""
        rid = self.src(op.id, SB)
        join = self.asm.label("callx_join")
        found = []
        for index, helper_id in enumerate(self.fn.imports):
            label = self.asm.label("callx_found")
            self.e(F.li(SC, helper_id))
            self.asm.branch("beq", rid, SC, label)
            found.append((label, index))
        self.asm.j(self.fault_stub(op.r0lo, op.r0hi, Status.ILLEGAL_CALL))
        for label, index in found:
            self.asm.bind(label)
            self.e(F.li(SC, 4 * index))
            self.asm.j(join)
        self.asm.bind(join)

    # ---- local calls ----------------------------------------------------------------------

    def op_push_frame(self, op: T.PushFrame) -> None:
        """The depth word holds FRAME_BYTES x frames pushed: the offset of the next frame."""
        frame = self.frame
        stub = self.fault_stub(op.r0lo, op.r0hi, Status.ILLEGAL_CALL)
        self.e(F.lw(SA, SP, frame.depth_offset))
        self.e(F.li(SB, MAX_FRAMES * FRAME_BYTES))
        self.asm.branch("bgeu", SA, SB, stub)
        self.e(F.addi(SB, SA, FRAME_BYTES))
        self.e(F.sw(SB, SP, frame.depth_offset))
        self.e(F.add(SA, SA, SP))
        base = frame.frames_offset
        for i, value in enumerate(op.saved):
            if value is not None:
                self.store_word(value, SA, base + 4 * i, SB)
        if op.site in self.labels:
            self.asm.la(SB, self.labels[op.site])
            self.e(F.sw(SB, SA, base + 32))
        # else: the return site was removed as unreachable (every path from the callee
        # runs into the frame limit or exits), so nothing ever returns to this frame

    def op_pop_frame(self, op: T.PopFrame) -> None:
        if not any(v is not None for v in op.saved):
            return
        self.e(F.lw(SA, SP, self.frame.depth_offset))
        self.e(F.add(SA, SA, SP))
        for i, var in enumerate(op.saved):
            if var is None:
                continue
            rd = self.dest(var, SB)
            self.e(F.lw(rd, SA, self.frame.frames_offset + 4 * i))
            self.commit(var, rd)

    # ---- terminators ----------------------------------------------------------------------

    def jump(self, label: Label) -> None:
        self.asm.j(label)

    def exit(self, r0lo, r0hi) -> None:
        """vm->result = r0, vm->status = 0, return 0 (with its own copy of the epilogue)."""
        rv = self.vm_in(SA)
        self.e(F.sw(self.src(r0lo, SB), rv, VM_RESULT))
        self.e(F.sw(self.src(r0hi, SB), rv, VM_RESULT + 4))
        self.e(F.sw(ZERO, rv, VM_STATUS))
        self.e(F.li(A0, 0))
        self.epilogue()

    def ret(self, term: T.Return) -> None:
        done = self.asm.label("return_exit")
        depth = self.frame.depth_offset
        self.e(F.lw(SA, SP, depth))
        self.asm.branch("beq", SA, ZERO, done)
        self.e(F.addi(SA, SA, -FRAME_BYTES))
        self.e(F.sw(SA, SP, depth))
        self.e(F.add(SA, SA, SP))
        self.e(F.lw(SA, SA, self.frame.frames_offset + 32))
        self.e(E.c_jr(SA))
        self.asm.bind(done)
        self.exit(term.r0lo, term.r0hi)

    def branch(self, t: T.Branch, next_id) -> None:
        taken, fall = self.labels[t.taken], self.labels[t.fallthrough]
        if t.wide and t.cond not in ("eq", "ne", "set"):
            self.branch_wide_order(t, taken, fall, next_id)
            return
        kind, ra, rb = self.compare(t)
        self.branch_either_way(t, kind, ra, rb, next_id)

    def branch_either_way(self, t: T.Branch, kind: str, rs1: int, rs2: int, next_id) -> None:
        """`kind rs1, rs2` to t's taken block, inverted to its fallthrough when the taken one
        is laid out next, plus a jump when neither is."""
        taken, fall = self.labels[t.taken], self.labels[t.fallthrough]
        if t.fallthrough == next_id:
            self.asm.branch(kind, rs1, rs2, taken)
        elif t.taken == next_id:
            self.asm.branch(INVERSE[kind], rs1, rs2, fall)
        else:
            self.asm.branch(kind, rs1, rs2, taken)
            self.asm.j(fall)

    def compare(self, t: T.Branch) -> tuple[str, int, int]:
        """Emit what the compare needs; (branch kind, rs1, rs2) taken when the cond holds."""
        e = self.e
        if t.cond == "set":
            e(self.and_into(SA, t.alo, t.blo))
            if t.wide:
                e(self.and_into(SB, t.ahi, t.bhi))
                e(F.logic("or", SA, SA, SB))
            return ("bne", SA, ZERO)
        if t.wide:  # eq / ne: (alo ^ blo) | (ahi ^ bhi)
            lo = self.xor_into(SA, t.alo, t.blo)
            hi = self.xor_into(SB, t.ahi, t.bhi)
            e(F.logic("or", SA, lo, hi))
            return ("beq" if t.cond == "eq" else "bne", SA, ZERO)
        kind, swap = BRANCH_OF[t.cond]
        ra = self.src(t.alo, SA)
        rb = self.src(t.blo, SB)
        return (kind, rb, ra) if swap else (kind, ra, rb)

    def and_into(self, rd: int, a, b) -> bytes:
        if isinstance(a, Const):
            a, b = b, a
        ra = self.src(a, rd)
        if isinstance(b, Const) and fits12(signed32(b.value)):
            return F.logic_imm("and", rd, ra, signed32(b.value))
        return F.logic("and", rd, ra, self.src(b, SD))

    def xor_into(self, rd: int, a, b) -> int:
        """rd := a ^ b (emitted), or the register already holding it; returns the register."""
        if isinstance(a, Const):
            a, b = b, a
        ra = self.src(a, rd)
        if b == Const(0):
            return ra
        if isinstance(b, Const) and fits12(signed32(b.value)):
            self.e(F.logic_imm("xor", rd, ra, signed32(b.value)))
        else:
            self.e(F.logic("xor", rd, ra, self.src(b, SD)))
        return rd

    def branch_wide_order(self, t: T.Branch, taken: Label, fall: Label, next_id) -> None:
        """The upper halves decide when they differ, else the lower halves (unsigned)."""
        (hkind, hswap), (lkind, lswap) = WIDE_ORDER[t.cond]
        rah = self.src(t.ahi, SA)
        rbh = self.src(t.bhi, SB)
        x, y = (rbh, rah) if hswap else (rah, rbh)
        if not (hkind == "bltu" and y == ZERO):  # (x <u 0 never holds)
            self.asm.branch(hkind, x, y, taken)
        self.asm.branch("bne", rah, rbh, fall)
        ral = self.src(t.alo, SA)
        rbl = self.src(t.blo, SB)
        x, y = (rbl, ral) if lswap else (ral, rbl)
        self.branch_either_way(t, lkind, x, y, next_id)


#: (Loads and stores are not dispatched: `run` groups them for `op_access`.)
Selector.handlers = common_handlers(Selector)
