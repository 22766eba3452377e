"""Instruction selection: a prepared, register-allocated IR function -> Thumb-2 items.

Every variable has one location for its whole life (the allocator's register or spill slot),
so there are no moves at block boundaries: each op reads its operands where they live and
writes its results where they live. ip and lr are the scratch registers (never allocated):
an operand that is spilled or a constant that no instruction takes as an immediate goes
through them, and so does the check arithmetic. The block order is the IR's layout (budget
tick blocks sit right before their targets), with jumps to the next block left out.

Out-of-line code follows the function body: the shared exit (status to the vm, epilogue),
the fault stubs (one per distinct (r0 location, status), like Cranelift's deferred traps),
the slow paths of memory checks, the region scan and the 64-bit division routines, and the
literal pool.
"""

from __future__ import annotations

from femtojit.backends.armv7m import encode as E
from femtojit.backends.armv7m import forms as F
from femtojit.backends.armv7m import routines
from femtojit.backends.armv7m.abi import CALL_CLOBBERED, IP, Frame
from femtojit.backends.armv7m.emit import Asm, Label
from femtojit.backends.armv7m.encode import LR, R0, R1, R2, R3, SP, Cond, Shift, SRType
from femtojit.backends.common.abi import FRAME_BYTES
from femtojit.backends.common.lower import COMMUTATIVE, LoweringBase, common_handlers
from femtojit.backends.common.prep import (
    GuardMem,
    HelperCall,
    ProbeRange,
    RegionLimit,
    StoreRegs,
    VmArg,
)
from femtojit.backends.common.selector import Loc, sequence_moves
from femtojit.backends.common.vmabi import (
    REGION_ENTRY_SIZE,
    REGION_LEN,
    VM_REGS,
    VM_RESULT,
    VM_STATUS,
)
from femtojit.ir import types as T
from femtojit.ir.regalloc import Allocation
from femtojit.ir.types import MAX_FRAMES, Const, Var
from femtojit.status import Status

CONDS = {
    "eq": Cond.EQ, "ne": Cond.NE, "ugt": Cond.HI, "uge": Cond.CS, "ult": Cond.CC,
    "ule": Cond.LS, "sgt": Cond.GT, "sge": Cond.GE, "slt": Cond.LT, "sle": Cond.LE,
}
#: cond(a, b) == SWAPPED[cond](b, a)
SWAPPED = {"eq": "eq", "ne": "ne", "ugt": "ult", "uge": "ule", "ult": "ugt", "ule": "uge",
           "sgt": "slt", "sge": "sle", "slt": "sgt", "sle": "sge", "set": "set"}


class Selector(LoweringBase):
    """Translates one prepared function; `run()` returns the filled Asm."""

    target = "armv7m"

    def __init__(self, fn: T.Function, alloc: Allocation, frame: Frame, *, callx: bool,
                 vm: Var):
        super().__init__(fn, alloc, frame, vm, Asm())
        self.exit_label = self.asm.label("exit")
        self.has_callx = callx
        # compare-with-zero folding: the last op of a block computes the value its branch
        # tests against 0; computing it with a flag-setting instruction makes the CMP moot
        self.flag_target: Var | None = None
        self.flags_hold: Var | None = None
        self.live = None  # liveness of fn, computed when a peephole needs it
        self.lr_holds = None
        self.track_lr = False

    # ---- locations ------------------------------------------------------------------------

    def e(self, data: bytes | None) -> None:
        assert data is not None
        self.asm.emit(data)

    def load_slot(self, reg: int, offset: int) -> None:
        self.e(F.ldst("ldr", reg, SP, offset))

    def store_slot(self, reg: int, offset: int) -> None:
        self.e(F.ldst("str", reg, SP, offset))

    def mov_imm(self, reg: int, value: int, keep_flags: bool = False) -> None:
        data = F.mov_imm(reg, value, F.KEEP if keep_flags else F.ANY)
        if data is not None:
            self.e(data)
        else:
            self.asm.literal(reg, value)

    def mov_reg(self, rd: int, rm: int) -> None:
        if rd != rm:
            self.e(F.mov_reg(rd, rm))

    def load_loc(self, reg: int, loc: Loc, keep_flags: bool = False) -> None:
        """reg := the value at loc."""
        kind, x = loc
        if kind == "reg":
            self.mov_reg(reg, x)
        elif kind == "slot":
            self.load_slot(reg, x)
        else:
            self.mov_imm(reg, x, keep_flags)

    def in_reg(self, operand, scratch: int, keep_flags: bool = False) -> int:
        """A register holding the operand: its own, or `scratch` loaded with it."""
        loc = self.where(operand)
        if loc[0] == "reg":
            return loc[1]
        self.load_loc(scratch, loc, keep_flags)
        return scratch

    def commit(self, var: Var, reg: int) -> None:
        """var := reg (a store when var is spilled); never touches the flags."""
        loc = self.where(var)
        if loc[0] == "slot":
            self.store_slot(reg, loc[1])
        else:
            self.mov_reg(loc[1], reg)

    def store_loc_to(self, loc: Loc, base: int, offset: int, scratch: int = LR) -> None:
        """[base + offset] := the value at loc (one word)."""
        reg = loc[1] if loc[0] == "reg" else scratch
        if loc[0] != "reg":
            self.load_loc(scratch, loc)
        self.e(F.ldst("str", reg, base, offset))

    def cbz_to_stub(self, reg: int, stub: Label, nonzero: bool = False) -> None:
        """cb(n)z reg to an out-of-line stub, usually too far for CBZ: the opposite test
        skips a branch to it, so the usual path still runs one instruction (not CMP and
        B<c>)."""
        ok = self.asm.label("ok")
        self.asm.cbz(reg, ok, not nonzero)
        self.asm.b(stub)
        self.asm.bind(ok)

    def load_lr(self, loc: Loc) -> None:
        """lr := the value at loc, skipped when lr already holds that constant (only while
        `lr_holds` is tracked: a call's argument stores)."""
        if self.track_lr and loc[0] == "const" and self.lr_holds == loc[1]:
            return
        self.load_loc(LR, loc)
        self.lr_holds = loc[1] if self.track_lr and loc[0] == "const" else None

    def store_pair_to(self, lo, hi, base: int, offset: int) -> None:
        """[base + offset] := lo, [base + offset + 4] := hi (STRD when both are in registers:
        only used on the vm struct, which is 8-byte aligned)."""
        llo, lhi = self.where(lo), self.where(hi)
        if llo[0] == "reg" and lhi[0] == "reg":
            self.e(E.t1_strd_imm(llo[1], lhi[1], base, offset))
            return
        if llo == lhi:  # the same constant twice
            self.load_lr(llo)
            self.e(E.t1_strd_imm(LR, LR, base, offset))
            return
        if llo[0] == "reg" or lhi[0] == "reg":  # the other half through lr, then STRD
            self.load_lr(lhi if llo[0] == "reg" else llo)
            pair = (llo[1], LR) if llo[0] == "reg" else (LR, lhi[1])
            self.e(E.t1_strd_imm(pair[0], pair[1], base, offset))
            return
        self.lr_holds = None  # (lr is overwritten below)
        if base != IP:
            self.load_loc(LR, llo)
            self.load_loc(IP, lhi)
            self.e(E.t1_strd_imm(LR, IP, base, offset))
            return
        self.store_loc_to(llo, base, offset)
        self.store_loc_to(lhi, base, offset + 4)

    def parallel_move(self, moves: list[tuple[Loc, Loc]]) -> bool:
        """Perform dst := src for all pairs at once (dsts distinct; a slot is never both a
        destination and a source). Returns True if ip was used as a temporary."""
        used_ip = False
        for d, s in sequence_moves(moves, IP):
            if d[0] == "slot":
                self.store_loc_to(s, SP, d[1], scratch=LR)
            else:
                self.load_loc(d[1], s)
                used_ip = used_ip or d == ("reg", IP)
        return used_ip

    def vm_to(self, reg: int) -> None:
        self.load_slot(reg, self.frame.vm_offset)

    # ---- stubs ----------------------------------------------------------------------------

    def emit_fault_stub(self, lo: Loc, hi: Loc, status: int) -> None:
        """vm->result = (hi:lo), r0 = status, then the shared exit."""
        self.vm_to(IP)
        self.store_loc_to(lo, IP, VM_RESULT)
        self.store_loc_to(hi, IP, VM_RESULT + 4)
        self.e(E.t1_mvn_imm(R0, -status - 1))
        self.asm.b(self.exit_label)

    def helper_fault_stub(self) -> Label:
        """After a helper reported a fault: the result was stored before the call; the status
        is the helper's (ILLEGAL_CALL if it wrote a positive one)."""

        def body():
            self.vm_to(IP)
            self.e(F.ldst("ldr", R0, IP, VM_STATUS))
            self.e(E.t1_cmp_imm8(R0, 0))
            self.e(E.t1_it(Cond.GT))
            self.e(E.t1_mvn_imm(R0, -Status.ILLEGAL_CALL - 1))
            self.asm.b(self.exit_label)

        return self.deferred_stub(("helper",), "helper_fault", body)

    # ---- the function ---------------------------------------------------------------------

    def run(self) -> Asm:
        asm = self.asm
        self.prologue()
        blocks = self.fn.blocks
        self.position = {b.id: i for i, b in enumerate(blocks)}
        for i, block in enumerate(blocks):
            self.current = i
            asm.bind(self.labels[block.id])
            next_id = blocks[i + 1].id if i + 1 < len(blocks) else None
            self.flags_hold = None
            setter = flag_setter(block)
            fused = self.mla_fusions(block)
            pairs = guard_pairs(block, fused)
            skipped: dict[int, Label] = {}
            for j, op in enumerate(block.ops):
                self.flag_target = zero_test(block.term) if j == setter else None
                if not flag_neutral(op):
                    self.flags_hold = None
                if j in skipped:  # implied by an earlier check's fast path
                    self.asm.bind(skipped[j])
                    continue
                if j in fused:
                    mul, acc = fused[j]
                    if mul is not None:
                        self.asm.tag = "Bin"
                        self.mla(op.d, mul.a, mul.b, acc)
                    continue
                if j in pairs:
                    k = pairs[j]
                    after = self.asm.label("implied")
                    skipped[k] = after
                    self.op_guard(op, redo=(block.ops[j + 1:k + 1], after))
                    continue
                self.op(op)
            self.flag_target = None
            self.terminator(block.term, next_id)
            self.flags_hold = None
        # the exit of fault stubs: r0 = status, ip = vm
        asm.bind(self.exit_label)
        self.e(F.ldst("str", R0, IP, VM_STATUS))
        self.epilogue()
        self.asm.tag = "out-of-line"
        self.flush_deferred()
        self.emit_routines(routines, vm_offset=self.frame.vm_offset)
        return asm

    def mla_fusions(self, block: T.Block) -> dict:
        """`t = mul a, b; ...; d = add t, x` with t read nowhere else: one MLA at the add.
        Returns index -> (None, None) for the mul (skipped) and (mul, x) for the add."""
        if self.live is None:
            from femtojit.ir.analysis import liveness

            self.live = liveness(self.fn)
        ops = block.ops
        after = self.live.op_live_out(block.id)
        out: dict[int, tuple] = {}
        for i, op in enumerate(ops):
            if not (isinstance(op, T.Bin) and op.op == "add") or i in out:
                continue
            for t, x in ((op.a, op.b), (op.b, op.a)):
                if not isinstance(t, Var) or (after[i] >> t.n) & 1 or t == x:
                    continue
                j = next((k for k in range(i - 1, -1, -1) if t in ops[k].defs()
                          or t in ops[k].uses()), None)
                if j is None or j in out:
                    continue
                mul = ops[j]
                if not (isinstance(mul, T.Bin) and mul.op == "mul" and mul.d == t):
                    continue
                inputs = [v for v in (mul.a, mul.b) if isinstance(v, Var)]
                if any(isinstance(v, Const) and v.value & (v.value - 1) == 0
                       for v in (mul.a, mul.b)):  # by a power of two: a shift is as short
                    continue
                if not self.inputs_survive(ops, j, i, after, inputs):
                    continue
                if sum(self.where(v)[0] != "reg" for v in (mul.a, mul.b, x)) > 2:
                    continue
                out[j] = (None, None)
                out[i] = (mul, x)
                break
        return out

    def inputs_survive(self, ops: list, j: int, i: int, after: list[int],
                       inputs: list[Var]) -> bool:
        """Whether the mul's inputs still hold their values at the add (i), where the MLA
        reads them. None may be redefined in between. One live past op i-1 keeps its
        register or slot; one that dies at the mul (j) may have had its location handed to a
        value defined in between, so then the ops in between must write nothing but their
        own results (and ip/lr), none of them into an input's location."""
        if any(set(inputs) & set(op.defs()) for op in ops[j + 1:i]):
            return False
        dead = [v for v in inputs if not (after[i - 1] >> v.n) & 1] if i > j + 1 else []
        if not dead:
            return True
        places = {self.where(v) for v in dead}
        for op in ops[j + 1:i]:
            if not isinstance(op, PLAIN_OPS):
                return False
            if any(self.where(d) in places for d in op.defs()):
                return False
        return True

    def mla(self, d: Var, a, b, x) -> None:
        """d := a * b + x."""
        regs = []
        scratch = [IP, LR]
        for v in (a, b, x):
            loc = self.where(v)
            if loc[0] == "reg":
                regs.append(loc[1])
            else:
                reg = scratch.pop(0)
                self.load_loc(reg, loc)
                regs.append(reg)
        rd = self.dest(d, IP)
        self.e(E.t1_mla(rd, regs[0], regs[1], regs[2]))
        self.commit(d, rd)

    def adjust_sp(self, amount: int) -> None:
        """sp += amount (negative: reserve)."""
        size = abs(amount)
        if size <= 508:
            self.e(E.t2_add_sp_imm7(size) if amount > 0 else E.t1_sub_sp_imm7(size))
        elif amount > 0:
            self.e(F.add_imm(SP, SP, size, F.KEEP))
        else:
            self.e(F.sub_imm(SP, SP, size, F.KEEP))

    def prologue(self) -> None:
        self.asm.tag = "prologue"
        frame = self.frame
        self.e(push_list(list(frame.pushed)))
        if frame.local_size:
            self.adjust_sp(-frame.local_size)
        if frame.depth_offset is not None:
            self.e(E.t1_movs_imm8(R1, 0))
            self.store_slot(R1, frame.depth_offset)

    # ---- ops ------------------------------------------------------------------------------

    def op_mov(self, op: T.Mov) -> None:
        dst, src = self.where(op.d), self.where(op.a)
        if dst == src:
            return
        if dst[0] == "reg":
            self.load_loc(dst[1], src)
        else:
            self.store_loc_to(src, SP, dst[1], scratch=IP)

    def op_vmarg(self, op: VmArg) -> None:
        if self.where(op.d)[0] == "reg":  # (spilled: already in its pushed slot)
            self.commit(op.d, R0)

    def epilogue(self) -> None:
        if self.frame.local_size:
            self.adjust_sp(self.frame.local_size)
        self.e(pop_list(list(self.frame.popped)))

    def load_field(self, d: Var, base, offset: int) -> None:
        """d := the word at base + offset."""
        rb = self.in_reg(base, IP)
        rd = self.dest(d, IP)
        self.e(F.ldst("ldr", rd, rb, offset))
        self.commit(d, rd)

    def op_region_limit(self, op: RegionLimit) -> None:
        self.load_field(op.d, op.regions, REGION_ENTRY_SIZE * op.region + REGION_LEN)
        if op.size == 1:
            return
        rd = self.in_reg(op.d, IP)
        self.e(F.sub_imm(rd, rd, op.size - 1))
        self.e(E.t1_usat(rd, 31, rd))  # below 0: 0 (regions are shorter than 2^31 bytes)
        self.commit(op.d, rd)

    def op_probe(self, op: ProbeRange) -> None:
        """The region scan for one byte at op.address with fill 1: on a hit it returns the
        region's start and length (0, 0 when an earlier region overlaps it); on a miss (Z set)
        both are 0 here."""
        ra = self.in_reg(op.address, IP)
        self.mov_reg(IP, ra)
        self.asm.bl(self.scan_entry(1, op.perm, 1))
        self.e(E.t1_it(Cond.EQ, "T"))
        self.e(E.t2_mov_imm(IP, 0))
        self.e(E.t2_mov_imm(LR, 0))
        self.commit(op.start, IP)
        self.commit(op.length, LR)

    def op_bin(self, op: T.Bin) -> None:
        name, a, b = op.op, op.a, op.b
        want = F.SET if self.flag_target == op.d else F.ANY
        if name in COMMUTATIVE and isinstance(a, Const) and not isinstance(b, Const):
            a, b = b, a
        if name in ("udiv", "sdiv", "urem", "srem"):
            self.divide32(op.d, name, a, b)
            return
        if name == "sub" and isinstance(a, Const) and not isinstance(b, Const):
            rb = self.in_reg(b, LR)
            rd = self.dest(op.d, IP)
            if a.value == 0 and F.low(rd, rb):
                self.e(E.t1_rsbs_imm(rd, rb))
            elif F.modimm(a.value):
                self.e(E.t2_rsb_imm(rd, rb, a.value, setflags=want == F.SET))
            else:
                self.mov_imm(IP, a.value)
                self.e(F.reg_op("sub", rd, IP, rb, want))
            self.commit(op.d, rd)
            self.flags_hold = op.d if want == F.SET else None
            return
        ra = self.in_reg(a, IP)
        rd = self.dest(op.d, IP)
        if isinstance(b, Const):
            data = self.bin_imm(name, rd, ra, b.value, want)
            if data is not None:
                self.e(data)
                self.commit(op.d, rd)
                self.flags_hold = op.d if want == F.SET else None
                return
            self.mov_imm(LR, b.value)
            rb = LR
        else:
            rb = self.in_reg(b, LR)
        if name in ("shl", "lshr", "ashr"):
            self.e(F.logic_imm("and", LR, rb, 31))
            rb = LR
        data = F.reg_op(name, rd, ra, rb, want)
        if data is None:  # no flag-setting form: compare afterwards
            want = F.ANY
            data = F.reg_op(name, rd, ra, rb)
        self.e(data)
        self.commit(op.d, rd)
        self.flags_hold = op.d if want == F.SET else None

    def bin_imm(self, name: str, rd: int, ra: int, value: int,
                flags: str = F.ANY) -> bytes | None:
        if name == "add":
            return F.add_imm(rd, ra, value, flags)
        if name == "sub":
            return F.sub_imm(rd, ra, value, flags)
        if name in ("and", "or", "xor"):
            return F.logic_imm(name, rd, ra, value, flags)
        if name in ("shl", "lshr", "ashr"):
            return F.shift_imm(name, rd, ra, value & 31, flags)
        if name == "mul" and value and value & (value - 1) == 0:
            return F.shift_imm("shl", rd, ra, value.bit_length() - 1, flags)
        return None

    def divide32(self, d: Var, name: str, a, b) -> None:
        la, lb, ld = self.where(a), self.where(b), self.where(d)
        ra = self.in_reg(a, IP)
        rb = self.in_reg(b, LR)
        div = E.t1_udiv if name in ("udiv", "urem") else E.t1_sdiv
        if name in ("udiv", "sdiv"):
            rd = self.dest(d, IP)
            self.e(div(rd, ra, rb))
            self.commit(d, rd)
            return
        # remainder: q = a / b; d = a - q * b (MLS), q in a register that is neither a nor b
        if ld[0] == "reg" and ld[1] not in (ra, rb):
            q = ld[1]
        elif ra != IP and rb != IP:
            q = IP
        elif ra != LR and rb != LR:
            q = LR
        else:  # a and b both in scratch registers, d spilled: reload a afterwards
            assert la[0] != "reg" and lb[0] != "reg" and ld[0] == "slot"
            self.e(div(IP, IP, LR))
            self.e(E.t2_mul(IP, IP, LR))
            self.load_loc(LR, la)
            self.e(E.t2_sub_reg(IP, LR, IP))
            self.commit(d, IP)
            return
        self.e(div(q, ra, rb))
        rd = self.dest(d, IP)
        self.e(E.t1_mls(rd, q, rb, ra))
        self.commit(d, rd)

    def op_un(self, op: T.Un) -> None:
        ra = self.in_reg(op.a, IP)
        rd = self.dest(op.d, IP)
        low = F.low(rd, ra)
        name = op.op
        if name == "neg":
            self.e(E.t1_rsbs_imm(rd, ra) if low else E.t2_rsb_imm(rd, ra, 0))
        elif name == "not":
            self.e(E.t1_mvns_reg(rd, ra) if low else E.t2_mvn_reg(rd, ra))
        elif name == "bswap32":
            self.e(E.t1_rev(rd, ra) if low else E.t2_rev(rd, ra))
        elif name == "bswap16":
            self.e(E.t1_rev16(rd, ra) if low else E.t2_rev16(rd, ra))
            self.e(E.t1_uxth(rd, rd) if low else E.t2_uxth(rd, rd))
        else:
            small, wide = {"sext8": (E.t1_sxtb, E.t2_sxtb), "sext16": (E.t1_sxth, E.t2_sxth),
                           "zext8": (E.t1_uxtb, E.t2_uxtb),
                           "zext16": (E.t1_uxth, E.t2_uxth)}[name]
            self.e(small(rd, ra) if low else wide(rd, ra))
        self.commit(op.d, rd)

    def op_addsub64(self, op) -> None:
        add = isinstance(op, T.Add64)
        alo, ahi, blo, bhi = op.alo, op.ahi, op.blo, op.bhi
        if add and isinstance(alo, Const) and not isinstance(blo, Const):
            alo, ahi, blo, bhi = blo, bhi, alo, ahi
        # low half, setting the carry
        if not add and isinstance(alo, Const):
            rb = self.in_reg(blo, LR)
            rd = self.dest(op.dlo, IP) if op.dlo is not None else IP
            if F.modimm(alo.value):
                self.e(E.t2_rsb_imm(rd, rb, alo.value, setflags=True))
            else:
                self.mov_imm(IP, alo.value)
                self.e(F.reg_op("sub", rd, IP, rb, F.SET))
        else:
            ra = self.in_reg(alo, IP)
            rd = self.dest(op.dlo, IP) if op.dlo is not None else None
            self.e(self.carry_op(add, rd, ra, blo))
        if op.dlo is not None:
            self.commit(op.dlo, rd)
        if op.dhi is None:
            return
        rah = self.in_reg(ahi, IP, keep_flags=True)
        rdh = self.dest(op.dhi, IP)
        if isinstance(bhi, Const) and F.modimm(bhi.value):
            self.e((E.t1_adc_imm if add else E.t1_sbc_imm)(rdh, rah, bhi.value))
        else:
            rbh = self.in_reg(bhi, LR, keep_flags=True)
            self.e(F.reg_op("adc" if add else "sbc", rdh, rah, rbh))
        self.commit(op.dhi, rdh)

    def carry_op(self, add: bool, rd: int | None, ra: int, b) -> bytes:
        """rd := ra +/- b setting the carry as ADDS/SUBS; rd None: only the flags."""
        if isinstance(b, Const):
            if rd is not None:
                data = (F.add_imm if add else F.sub_imm)(rd, ra, b.value, F.SET)
            elif add:
                data = E.t1_cmn_imm(ra, b.value) if F.modimm(b.value) else None
            else:
                data = F.cmp_imm(ra, b.value)
            if data is not None:
                return data
            self.mov_imm(LR, b.value)
            rb = LR
        else:
            rb = self.in_reg(b, LR)
        if rd is not None:
            return F.reg_op("add" if add else "sub", rd, ra, rb, F.SET)
        if add:
            return E.t1_cmn_reg(ra, rb) if F.low(ra, rb) else E.t2_cmn_reg(ra, rb)
        return F.cmp_reg(ra, rb)

    def op_mulwide(self, op: T.MulWide) -> None:
        ra = self.in_reg(op.a, IP)
        rb = self.in_reg(op.b, LR)
        if op.dhi is None:
            rd = self.dest(op.dlo, IP)
            self.e(F.reg_op("mul", rd, ra, rb))
            self.commit(op.dlo, rd)
            return
        rdhi = self.dest(op.dhi, LR)
        rdlo = self.dest(op.dlo, IP) if op.dlo is not None else (IP if rdhi != IP else LR)
        if rdlo == rdhi:
            rdlo = IP if rdhi == LR else LR
        self.e((E.t1_smull if op.signed else E.t1_umull)(rdlo, rdhi, ra, rb))
        if op.dlo is not None:
            self.commit(op.dlo, rdlo)
        self.commit(op.dhi, rdhi)

    def op_shift64(self, op: T.Shift64) -> None:
        """A call op for the allocator: r0-r3 are free here."""
        self.parallel_move([(("reg", R0), self.where(op.alo)), (("reg", R1), self.where(op.ahi)),
                            (("reg", R2), self.where(op.amount))])
        e = self.e
        e(E.t1_and_imm(R2, R2, 63))
        if op.op == "shl":
            src, dst, near, far = R0, R1, E.t2_lsl_reg, E.t2_lsr_reg
        else:
            src, dst, near, far = R1, R0, E.t2_lsr_reg, E.t2_lsl_reg
        # (register shifts by 32..255 give 0, which makes this branch-free)
        e(near(dst, dst, R2))
        e(E.t2_rsb_imm(R3, R2, 32))
        e(far(R3, src, R3))
        e(E.t1_orrs_reg(dst, R3))
        if op.op == "ashr":
            e(E.t3_sub_imm(R3, R2, 32, setflags=True))
            e(E.t1_it(Cond.PL))
            e(E.t2_asr_reg(R0, R1, R3))
            e(E.t2_asr_reg(R1, R1, R2))
        else:
            e(E.t3_sub_imm(R3, R2, 32))
            e(near(R3, src, R3))
            e(E.t1_orrs_reg(dst, R3))
            e(near(src, src, R2))
        self.results([(op.dlo, R0), (op.dhi, R1)])

    def results(self, pairs) -> bool:
        moves = [(self.where(v), ("reg", r)) for v, r in pairs if v is not None]
        return self.parallel_move(moves)

    def op_div64(self, op: T.Div64) -> None:
        """A call op for the allocator: the routine uses r0-r3, ip and lr."""
        self.parallel_move([
            (("reg", R0), self.where(op.alo)), (("reg", R1), self.where(op.ahi)),
            (("reg", R2), self.where(op.blo)), (("reg", R3), self.where(op.bhi)),
        ])
        self.asm.bl(self.div64_entry(op.op))
        lo, hi = (R2, R3) if op.op == "urem" else (R0, R1)
        self.results([(op.dlo, lo), (op.dhi, hi)])

    # ---- memory ---------------------------------------------------------------------------

    def address(self, base, off: int, scratch: int) -> tuple[int, int]:
        """(register, offset) addressing base + off: the base's register when off has an
        immediate form, else scratch := base + off."""
        rb = self.in_reg(base, scratch)
        return rb, off

    def add_to(self, rd: int, rn: int, value: int, temp: int) -> None:
        """rd := rn + value (any flags), through temp when no immediate form fits."""
        if value == 0:
            self.mov_reg(rd, rn)
            return
        data = F.add_imm(rd, rn, value)
        if data is None:
            self.mov_imm(temp, value)
            data = F.reg_op("add", rd, rn, temp)
        self.e(data)

    def op_load(self, op: T.Load) -> None:
        kind = F.LOAD_KIND[(op.size, op.signed)]
        rb = self.in_reg(op.base, IP)
        rd = self.dest(op.d, IP)
        data = F.ldst(kind, rd, rb, op.off)
        if data is None:
            self.add_to(IP, rb, op.off, LR)
            data = F.ldst(kind, rd, IP, 0)
        self.e(data)
        self.commit(op.d, rd)

    def op_store(self, op: T.Store) -> None:
        kind = F.STORE_KIND[op.size]
        rv = self.in_reg(op.value, IP)
        rb = self.in_reg(op.base, LR)
        data = F.ldst(kind, rv, rb, op.off)
        if data is None:
            self.add_to(LR, rb, op.off, LR if rb != LR else IP)
            if rb == LR and rv == IP:  # no temp left: recompute with the value reloaded
                self.in_reg(op.value, IP)
            data = F.ldst(kind, rv, LR, 0)
        self.e(data)

    def op_guard(self, g: GuardMem, redo=None) -> None:
        """Fast path: t = addr - start; t <u limit, else the out-of-line miss path.

        redo: (ops, label) when a later check of the same block is implied by this one's
        fast path (guard_pairs): the main path skips it, and the slow path, once this check
        passed through the scan, runs a copy of the ops up to and including that check (in
        full) and rejoins at `label`."""
        self.stats["guards_cached" if g.cached else "guards_region"] += 1
        rb = self.in_reg(g.base, IP)
        if g.off and not g.biased:
            self.add_to(IP, rb, g.off, LR)
            ra = IP
        else:
            ra = rb
        start = g.cstart if g.cached else g.start
        limit = g.climit if g.cached else g.limit
        rs = self.in_reg(start, LR)
        self.e(E.t2_sub_reg(IP, ra, rs))
        data = F.cmp_imm(IP, limit.value) if isinstance(limit, Const) else None
        if data is None:
            rl = self.in_reg(limit, LR)
            data = F.cmp_reg(IP, rl)
        self.e(data)
        miss = self.asm.label("miss")
        back = self.asm.label("back")
        self.asm.b(miss, Cond.CS)
        self.asm.bind(back)
        fault, parts, scans = self.guard_scans(g)

        def slow_path():
            """Each fused access on its own, in program order, through the full scan."""
            self.asm.bind(miss)
            for (off, _), scan in zip(parts, scans):
                rb2 = self.in_reg(g.base, IP)
                self.add_to(IP, rb2, off, LR)
                self.asm.bl(scan)
                self.asm.b(fault, Cond.EQ)
            if g.cached:
                self.commit(g.cstart, IP)
                self.commit(g.climit, LR)
            if redo is None:
                self.asm.b(back)
                return
            ops, label = redo
            self.flag_target = self.flags_hold = None
            for op in ops:
                self.op(op)
            self.asm.b(label)

        self.defer(slow_path)

    # ---- checks and budget ----------------------------------------------------------------

    def op_divzero(self, op: T.CheckDivZero) -> None:
        stub = self.fault_stub(op.r0lo, op.r0hi, Status.ILLEGAL_DIV)
        lo, hi = op.lo, op.hi
        if hi is None or (isinstance(hi, Const) and hi.value == 0):
            if isinstance(lo, Const):
                if lo.value == 0:
                    self.asm.b(stub)
                return
            loc = self.where(lo)
            if loc[0] == "reg" and loc[1] < 8:
                self.cbz_to_stub(loc[1], stub)
                return
            r = self.in_reg(lo, IP)
            self.e(F.cmp_imm(r, 0))
            self.asm.b(stub, Cond.EQ)
            return
        rl = self.in_reg(lo, IP)
        rh = self.in_reg(hi, LR)
        self.e(E.t2_orr_reg(IP, rl, rh, setflags=True))
        self.asm.b(stub, Cond.EQ)

    def op_budget(self, op: T.BudgetTick) -> None:
        stub = self.fault_stub(op.r0lo, op.r0hi, Status.OUT_OF_BRANCHES)
        r = self.in_reg(op.counter, IP)
        self.e(F.sub_imm(r, r, 1, F.SET))
        self.commit(op.counter, r)
        self.asm.b(stub, Cond.CC)  # it was 0

    # ---- helper calls ---------------------------------------------------------------------

    def vm_in(self, scratch: int = IP) -> int:
        """A register holding the vm pointer (its own, or scratch loaded from the frame)."""
        return self.in_reg(self.vm, scratch)

    def vm_after_call(self) -> int:
        """The vm pointer after a call: its register unless the call clobbered it (possible
        when no exit follows), else ip loaded from the pushed slot."""
        loc = self.where(self.vm)
        if loc[0] == "reg" and loc[1] not in CALL_CLOBBERED:
            return loc[1]
        self.load_slot(IP, self.frame.vm_offset)
        return IP

    def op_store_regs(self, op: StoreRegs) -> None:
        rv = self.in_reg(op.vm, IP)
        values = op.values
        for reg in range(1, 6):
            lo, hi = values[2 * reg - 2], values[2 * reg - 1]
            if lo is not None and hi is not None:
                self.store_pair_to(lo, hi, rv, VM_REGS + 8 * reg)
            elif lo is not None or hi is not None:
                half = 0 if lo is not None else 1
                self.store_loc_to(self.where(lo if half == 0 else hi), rv,
                                  VM_REGS + 8 * reg + 4 * half)

    def op_call(self, op: HelperCall) -> None:
        """Store r0 (the result should the helper fault) and the arguments vm->regs does not
        hold yet, call helper(fc, &vm->regs), check vm->status, take r0, reload r1-r5 words
        that are read afterwards. r0-r3 are free here (a call op for the allocator)."""
        callx = op.index is None
        if callx:
            self.callx_lookup(op)
        rv = self.vm_in(IP)
        self.lr_holds, self.track_lr = None, True  # lr keeps a constant across these stores
        self.store_pair_to(op.r0lo, op.r0hi, rv, VM_RESULT)
        args = op.args  # r1.lo, r1.hi, ..., r5.hi; None: already in vm->regs
        for reg in range(1, 6):
            lo, hi = args[2 * reg - 2], args[2 * reg - 1]
            if lo is not None and hi is not None:
                self.store_pair_to(lo, hi, rv, VM_REGS + 8 * reg)
            else:
                for half, value in ((0, lo), (1, hi)):
                    if value is not None:
                        self.store_loc_to(self.where(value), rv, VM_REGS + 8 * reg + 4 * half)
                        self.lr_holds = None
        self.lr_holds, self.track_lr = None, False
        target, fc = self.where(op.target), self.where(op.fc)
        # r0 = fc, r1 = &vm->regs; the helper's address stays in its own register when it
        # is neither (else ip)
        in_place = (not callx and target[0] == "reg" and target[1] not in (R0, R1)
                    and fc != ("reg", R1) and rv != R1)
        spilled_target = (not callx and target[0] != "reg" and fc != ("reg", R1)
                          and rv not in (R1, IP))
        if in_place:
            self.e(E.t3_add_imm(R1, rv, VM_REGS))
            self.load_loc(R0, fc)
            call = target[1]
        elif spilled_target:  # the helper's address from the frame straight into ip
            self.e(E.t3_add_imm(R1, rv, VM_REGS))
            self.load_loc(IP, target)
            self.load_loc(R0, fc)
            call = IP
        else:
            self.e(E.t3_add_imm(LR, rv, VM_REGS))  # &vm->regs (rv may be ip: used up here)
            self.load_loc(IP, target)  # the helper, or the table (callx)
            # (lr is no destination: no cycle, so ip is not needed as a temporary)
            assert not self.parallel_move([(("reg", R0), fc), (("reg", R1), ("reg", LR))])
            call = IP
        if callx:
            self.load_slot(R2, self.frame.callx_offset)
            self.e(E.t2_ldr_reg(IP, IP, R2, 2))
        self.e(E.t1_blx_reg(call))
        rv = self.vm_after_call()
        self.e(F.ldst("ldr", R2, rv, VM_STATUS))
        self.cbz_to_stub(R2, self.helper_fault_stub(), nonzero=True)
        if self.results([(op.d_lo, R0), (op.d_hi, R1)]) and rv == IP:
            rv = self.vm_after_call()
        clobbered = op.clobbered
        for i in range(0, 10, 2):
            offset = VM_REGS + 8 * (1 + i // 2)
            lo, hi = clobbered[i], clobbered[i + 1]
            llo = self.where(lo) if lo is not None else None
            lhi = self.where(hi) if hi is not None else None
            if llo and lhi and llo[0] == "reg" and lhi[0] == "reg":
                self.e(E.t1_ldrd_imm(llo[1], lhi[1], rv, offset))
                continue
            for var, loc, off in ((lo, llo, offset), (hi, lhi, offset + 4)):
                if var is None:
                    continue
                rd = loc[1] if loc[0] == "reg" else LR
                self.e(F.ldst("ldr", rd, rv, off))
                self.commit(var, rd)

    def callx_lookup(self, op: HelperCall) -> None:
        """The import index of the helper id in op.id into the callx slot, or ILLEGAL_CALL."""
        rid = self.in_reg(op.id, LR)
        found = []
        for index, helper_id in enumerate(self.fn.imports):
            data = F.cmp_imm(rid, helper_id)
            if data is None:
                self.mov_imm(IP, helper_id)
                data = F.cmp_reg(rid, IP)
            self.e(data)
            label = self.asm.label("callx_found")
            found.append((label, index))
            self.asm.b(label, Cond.EQ)
        self.asm.b(self.fault_stub(op.r0lo, op.r0hi, Status.ILLEGAL_CALL))
        join = self.asm.label("callx_join")
        for label, index in found:
            self.asm.bind(label)
            self.mov_imm(IP, index)
            self.asm.b(join)
        self.asm.bind(join)
        self.store_slot(IP, self.frame.callx_offset)

    # ---- local calls ----------------------------------------------------------------------

    def frame_entry(self, depth_reg: int) -> None:
        """lr := address of frame number depth_reg on the frame stack."""
        self.e(F.add_imm(LR, SP, self.frame.frames_offset, F.KEEP))
        assert FRAME_BYTES == 36
        self.e(E.t3_add_reg(LR, LR, depth_reg, Shift(SRType.LSL, 5)))
        self.e(E.t3_add_reg(LR, LR, depth_reg, Shift(SRType.LSL, 2)))

    def op_push_frame(self, op: T.PushFrame) -> None:
        stub = self.fault_stub(op.r0lo, op.r0hi, Status.ILLEGAL_CALL)
        self.load_slot(IP, self.frame.depth_offset)
        self.e(E.t2_cmp_imm(IP, MAX_FRAMES))
        self.asm.b(stub, Cond.CS)
        self.frame_entry(IP)
        self.e(E.t3_add_imm(IP, IP, 1))
        self.store_slot(IP, self.frame.depth_offset)
        for i, value in enumerate(op.saved):
            self.store_loc_to(self.where(value), LR, 4 * i, scratch=IP)
        if op.site in self.labels:
            self.asm.adr(IP, self.labels[op.site], 1)
            self.e(F.ldst("str", IP, LR, 32))
        # else: the return site was removed as unreachable (every path from the callee
        # runs into the frame limit or exits), so nothing ever returns to this frame

    def op_pop_frame(self, op: T.PopFrame) -> None:
        if not any(v is not None for v in op.saved):
            return
        self.load_slot(IP, self.frame.depth_offset)
        self.frame_entry(IP)
        for i, var in enumerate(op.saved):
            if var is None:
                continue
            rd = self.dest(var, IP)
            self.e(F.ldst("ldr", rd, LR, 4 * i))
            self.commit(var, rd)

    # ---- terminators ----------------------------------------------------------------------

    def jump(self, label: Label) -> None:
        self.asm.b(label)

    def exit(self, r0lo, r0hi) -> None:
        """vm->result = r0, vm->status = 0, return 0 (with its own copy of the epilogue)."""
        loc = self.where(self.vm)
        if loc[0] == "reg" and loc[1] != R0:
            rv = loc[1]
        else:
            rv = IP
            self.load_loc(IP, loc)
        self.store_pair_to(r0lo, r0hi, rv, VM_RESULT)
        self.e(E.t1_movs_imm8(R0, 0))
        self.e(F.ldst("str", R0, rv, VM_STATUS))
        self.epilogue()

    def ret(self, term: T.Return) -> None:
        done = self.asm.label("return_exit")
        self.load_slot(IP, self.frame.depth_offset)
        self.e(E.t2_cmp_imm(IP, 0))
        self.asm.b(done, Cond.EQ)
        self.e(E.t3_sub_imm(IP, IP, 1))
        self.store_slot(IP, self.frame.depth_offset)
        self.frame_entry(IP)
        self.e(F.ldst("ldr", IP, LR, 32))
        self.e(E.t1_bx(IP))
        self.asm.bind(done)
        self.exit(term.r0lo, term.r0hi)

    def branch(self, t: T.Branch, next_id) -> None:
        taken, fall = self.labels[t.taken], self.labels[t.fallthrough]
        result = self.compare(t)
        if result[0] == "cbz":
            _, reg, nonzero = result
            if t.fallthrough == next_id:
                self.asm.cbz(reg, taken, nonzero)
                return
            if t.taken == next_id:
                self.asm.cbz(reg, fall, not nonzero)
                return
            if self.backward(t.fallthrough) and not self.backward(t.taken):
                self.asm.cbz(reg, fall, not nonzero)  # (relaxes to cmp + b<c>: backward)
                self.asm.b(taken)
                return
            self.asm.cbz(reg, taken, nonzero)
            self.asm.b(fall)
            return
        cond = result[1]
        if t.fallthrough == next_id:
            self.asm.b(taken, cond)
        elif t.taken == next_id:
            self.asm.b(fall, cond.invert())
        elif self.backward(t.fallthrough) and not self.backward(t.taken):
            # a loop's back edge: the conditional branch goes back, the exit jumps once
            self.asm.b(fall, cond.invert())
            self.asm.b(taken)
        else:
            self.asm.b(taken, cond)
            self.asm.b(fall)

    def backward(self, block_id: int) -> bool:
        """Is the block laid out at or before the one being emitted?"""
        return self.position[block_id] <= self.current

    def compare(self, t: T.Branch) -> tuple:
        """Emit the comparison; ("cond", Cond) for the taken condition, or ("cbz", reg,
        nonzero) when a CBZ/CBNZ does it."""
        cond = t.cond
        if t.wide:
            return ("cond", self.compare64(t))
        a, b = t.alo, t.blo
        if isinstance(a, Const) and not isinstance(b, Const):
            a, b, cond = b, a, SWAPPED[cond]
        if cond == "set":
            self.tst(self.in_reg(a, IP), b, LR)
            return ("cond", Cond.NE)
        if (isinstance(b, Const) and b.value == 0 and self.flags_hold is not None
                and self.flags_hold == a and cond in ZERO_TESTS):
            return ("cond", ZERO_TESTS[cond])
        if isinstance(b, Const) and b.value == 0 and cond in ("eq", "ne"):
            loc = self.where(a)
            if loc[0] == "reg" and loc[1] < 8:
                return ("cbz", loc[1], cond == "ne")
        ra = self.in_reg(a, IP)
        self.cmp(ra, b, LR)
        return ("cond", CONDS[cond])

    def cmp(self, ra: int, b, scratch: int, keep_flags: bool = False) -> None:
        data = F.cmp_imm(ra, b.value) if isinstance(b, Const) else None
        if data is None:
            data = F.cmp_reg(ra, self.in_reg(b, scratch, keep_flags))
        self.e(data)

    def tst(self, ra: int, b, scratch: int) -> None:
        """The flags of ra & b (TST); b through scratch when no immediate form takes it."""
        data = F.tst_imm(ra, b.value) if isinstance(b, Const) else None
        if data is None:
            data = F.tst_reg(ra, self.in_reg(b, scratch))
        self.e(data)

    def compare64(self, t: T.Branch) -> Cond:
        cond = t.cond
        alo, ahi, blo, bhi = t.alo, t.ahi, t.blo, t.bhi
        if isinstance(alo, Const) and isinstance(ahi, Const) and not (
                isinstance(blo, Const) and isinstance(bhi, Const)):
            alo, ahi, blo, bhi, cond = blo, bhi, alo, ahi, SWAPPED[cond]
        if cond == "set":
            self.tst(self.in_reg(alo, IP), blo, LR)
            skip = self.asm.label("set_lo")
            self.asm.b(skip, Cond.NE)
            self.tst(self.in_reg(ahi, IP), bhi, LR)
            self.asm.bind(skip)
            return Cond.NE
        if cond in ("eq", "ne"):
            if blo == Const(0) and bhi == Const(0):
                rl = self.in_reg(alo, IP)
                rh = self.in_reg(ahi, LR)
                self.e(E.t2_orr_reg(IP, rl, rh, setflags=True))
                return CONDS[cond]
            simple = all(self.where(x)[0] == "reg" for x in (alo, ahi)) and all(
                self.where(x)[0] == "reg" or (isinstance(x, Const) and F.modimm(x.value))
                for x in (blo, bhi))
            if simple:
                self.cmp(self.where(alo)[1], blo, LR)
                self.e(E.t1_it(Cond.EQ))
                rh = self.where(ahi)[1]
                if isinstance(bhi, Const):
                    data = (E.t1_cmp_imm8(rh, bhi.value) if rh < 8 and bhi.value <= 0xFF
                            else E.t2_cmp_imm(rh, bhi.value))
                else:
                    data = F.cmp_reg(rh, self.where(bhi)[1])
                self.e(data)
                return CONDS[cond]
            skip = self.asm.label("eq64")
            self.cmp(self.in_reg(alo, IP), blo, LR)
            self.asm.b(skip, Cond.NE)
            self.cmp(self.in_reg(ahi, IP), bhi, LR)
            self.asm.bind(skip)
            return CONDS[cond]
        if cond in ("ugt", "ule", "sgt", "sle"):
            alo, ahi, blo, bhi, cond = blo, bhi, alo, ahi, SWAPPED[cond]
        # a < b / a >= b: flags of the 64-bit subtraction a - b
        self.cmp(self.in_reg(alo, IP), blo, LR)
        rah = self.in_reg(ahi, IP, keep_flags=True)
        if isinstance(bhi, Const) and F.modimm(bhi.value):
            self.e(E.t1_sbc_imm(IP, rah, bhi.value, setflags=True))
        else:
            rbh = self.in_reg(bhi, LR, keep_flags=True)
            self.e(E.t2_sbc_reg(IP, rah, rbh, setflags=True))
        return CONDS[cond]


#: Conditions against 0 that N and Z alone decide (any flag-setting instruction sets them).
ZERO_TESTS = {"eq": Cond.EQ, "ne": Cond.NE, "slt": Cond.MI, "sge": Cond.PL}


def zero_test(term) -> Var | None:
    """The variable a 32-bit branch compares with 0 under a ZERO_TESTS condition."""
    if (isinstance(term, T.Branch) and not term.wide and term.cond in ZERO_TESTS
            and isinstance(term.alo, Var) and term.blo == Const(0)):
        return term.alo
    return None


#: Ops whose code writes only their results' locations and the scratch registers ip/lr
#: (no fixed registers, no calls, no routines): what may sit between a mul and the add it
#: fuses with when a mul input dies at the mul.
PLAIN_OPS = (T.Mov, T.Bin, T.Un, T.Add64, T.Sub64, T.MulWide)

#: Ops that may sit between a check and a later one its fast path implies: the slow path
#: emits them a second time, so nothing that binds labels of its own.
_REPEATABLE = (T.Mov, T.Bin, T.Un, T.Add64, T.Sub64, T.MulWide, T.Load, T.Store,
               T.CheckDivZero, T.BudgetTick)


def guard_pairs(block: T.Block, fused: dict) -> dict[int, int]:
    """Pairs (i -> k) of region checks where check k is implied by check i's fast path:
    same base (not redefined in between), same hinted fixed region (whose permission
    allows both, or they would not be region checks), k's range inside i's. Typical: a load
    and a store back to the same place (`x += 1` on a ctx field)."""
    ops = block.ops
    out: dict[int, int] = {}
    taken: set[int] = set()
    for i, a in enumerate(ops):
        if not isinstance(a, GuardMem) or a.cached or i in taken or i in fused:
            continue
        for k in range(i + 1, len(ops)):
            b = ops[k]
            if k in fused:
                break
            if isinstance(b, GuardMem):
                if (not b.cached and b.base == a.base and b.region == a.region
                        and a.off <= b.off and b.off + b.size <= a.off + a.size):
                    out[i] = k
                    taken.add(k)
                break
            if not isinstance(b, _REPEATABLE) or (isinstance(a.base, Var)
                                                  and a.base in b.defs()):
                break
    return out


def flag_neutral(op) -> bool:
    """A Mov from a variable: selected as MOV (T1), LDR or STR, none of which touch the
    flags."""
    return isinstance(op, T.Mov) and isinstance(op.a, Var)


def flag_setter(block: T.Block) -> int | None:
    """Index of the Bin op whose result the block's branch tests against 0, when only
    flag-neutral ops that leave that result alone come after it."""
    target = zero_test(block.term)
    if target is None:
        return None
    for j in range(len(block.ops) - 1, -1, -1):
        op = block.ops[j]
        if target in op.defs():
            return j if isinstance(op, T.Bin) else None
        if not flag_neutral(op):
            return None
    return None


def push_list(registers: list[int]) -> bytes:
    if all(r < 8 or r == LR for r in registers):
        return E.t1_push(registers)
    return E.t2_push(registers)


def pop_list(registers: list[int]) -> bytes:
    if all(r < 8 or r == E.PC for r in registers):
        return E.t1_pop(registers)
    return E.t2_pop(registers)


Selector.handlers = {
    **common_handlers(Selector),
    T.Load: Selector.op_load,
    T.Store: Selector.op_store,
    ProbeRange: Selector.op_probe,
}
