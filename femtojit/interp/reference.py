"""A slow, plain-Python reference interpreter: one instruction per `step`, no pre-decoding.

It exists only as a second opinion for the tests (hypothesis compares it with the numba
core). It is written straight from docs/semantics.md over the raw slots and Python integers,
sharing nothing with decode.py or core.py except the memory map and the helper interface.
"""

from __future__ import annotations

from femtojit import isa, memmap
from femtojit.helpers import HelperCall, HelperFault, HelperRegistry, Runtime
from femtojit.isa import Insn
from femtojit.profile import MAX_FRAMES
from femtojit.program import Program
from femtojit.result import RunResult
from femtojit.status import Status

M32 = (1 << 32) - 1
M64 = (1 << 64) - 1


class Stop(Exception):
    """The run ended: exit (status 0) or a fault."""

    def __init__(self, status: int):
        self.status = status
        super().__init__(status)


def sx(value: int, bits: int) -> int:
    """Two's-complement value of the low `bits` bits."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def trunc_div(a: int, b: int) -> int:
    """C division of signed ints (rounds toward zero)."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def trunc_mod(a: int, b: int) -> int:
    """C remainder: a - trunc_div(a, b) * b, so it has the sign of a."""
    return a - trunc_div(a, b) * b


class ReferenceMachine:
    """The state of one run, advanced one instruction at a time by step()."""

    def __init__(
        self,
        program: Program,
        *,
        ctx: bytes = b"",
        host: list[memmap.HostRegion] | None = None,
        profile: str = "femto",
        budget: int | None = None,
        helpers: HelperRegistry | None = None,
        runtime: Runtime | None = None,
    ):
        self.slots = program.slots
        self.profile = profile
        self.budget = budget
        self.helpers = helpers or HelperRegistry()
        self.runtime = runtime or Runtime()
        self.image = memmap.build_memory(program.data, program.rodata, ctx, host)
        self.regs = [0] * 16
        self.regs[1] = memmap.CTX_BASE
        self.regs[2] = len(ctx) if profile == "rfc" else 0
        self.regs[10] = memmap.STACK_TOP
        self.pc = program.entry
        self.frames: list[tuple[int, list[int]]] = []
        self.insns = 0

    # -- memory ---------------------------------------------------------------------------

    def _region(self, addr: int, size: int, need: int) -> tuple[memmap.Region, int]:
        for region in self.image.regions:
            if region.start <= addr and addr + size <= region.end:
                if region.perm & need == need:
                    return region, addr - region.start
                break
        raise Stop(Status.ILLEGAL_MEM)

    def load(self, addr: int, size: int) -> int:
        region, at = self._region(addr & M32, size, memmap.PERM_READ)
        return int.from_bytes(region.data[at : at + size], "little")

    def store(self, addr: int, size: int, value: int) -> None:
        region, at = self._region(addr & M32, size, memmap.PERM_WRITE)
        region.data[at : at + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    def read(self, addr: int, size: int) -> bytes:
        if size <= 0:
            return b""
        region, at = self._region(addr & M64, size, memmap.PERM_READ)
        return bytes(region.data[at : at + size])

    def write(self, addr: int, data: bytes) -> None:
        if data:
            region, at = self._region(addr & M64, len(data), memmap.PERM_WRITE)
            region.data[at : at + len(data)] = data

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        out = bytearray()
        while len(out) < limit and (byte := self.read(addr + len(out), 1)[0]):
            out.append(byte)
        return bytes(out)

    # -- execution ------------------------------------------------------------------------

    def run(self) -> RunResult:
        while True:
            try:
                self.step()
            except Stop as stop:
                return RunResult(
                    status=int(stop.status),
                    result=self.regs[0],
                    engine="reference",
                    insns=self.insns,
                    memory=self.image.snapshot(),
                )

    def _jump(self, target: int) -> None:
        if self.budget is not None:
            if self.budget == 0:
                raise Stop(Status.OUT_OF_BRANCHES)
            self.budget -= 1
        if not 0 <= target < len(self.slots):
            raise Stop(Status.ILLEGAL_JUMP)
        self.pc = target

    def step(self) -> None:
        """Execute the instruction at pc; raises Stop when the run ends."""
        if not 0 <= self.pc < len(self.slots):
            raise Stop(Status.NO_RETURN if self.pc == len(self.slots) else Status.ILLEGAL_JUMP)
        insn = self.slots[self.pc]
        self.insns += 1
        cls = insn.cls
        if cls in (isa.CLS_ALU, isa.CLS_ALU64):
            self._alu(insn, cls == isa.CLS_ALU64)
            self.pc += 1
        elif cls in (isa.CLS_JMP, isa.CLS_JMP32):
            self._control(insn, cls == isa.CLS_JMP)
        elif isa.is_wide(insn.opcode):
            if self.pc + 1 >= len(self.slots) or self.slots[self.pc + 1].opcode != 0:
                raise Stop(Status.ILLEGAL_INSTRUCTION)
            value = isa.imm64(insn, self.slots[self.pc + 1])
            if insn.opcode == isa.OP_LDDWD:
                value += memmap.DATA_BASE
            elif insn.opcode == isa.OP_LDDWR:
                value += memmap.RODATA_BASE
            self.regs[insn.dst] = value & M64
            self.pc += 2
        else:
            self._memory(insn)
            self.pc += 1

    def _alu(self, insn: Insn, wide: bool) -> None:
        bits = 64 if wide else 32
        mask = M64 if wide else M32
        op = insn.opcode & 0xF0
        regs = self.regs
        a = regs[insn.dst] & mask
        if insn.opcode & isa.SRC_X:
            b = regs[insn.src] & mask
        else:
            b = insn.imm & mask  # sign-extended to 64 bits, or the 32-bit pattern
        if op == isa.ALU_ADD:
            r = a + b
        elif op == isa.ALU_SUB:
            r = a - b
        elif op == isa.ALU_MUL:
            r = a * b
        elif op in (isa.ALU_DIV, isa.ALU_MOD):
            if insn.off not in (0, 1):
                raise Stop(Status.ILLEGAL_INSTRUCTION)
            if b == 0:
                if self.profile == "femto":
                    raise Stop(Status.ILLEGAL_DIV)
                r = 0 if op == isa.ALU_DIV else a
            elif insn.off == 1:
                sa, sb = sx(a, bits), sx(b, bits)
                r = trunc_div(sa, sb) if op == isa.ALU_DIV else trunc_mod(sa, sb)
            else:
                r = a // b if op == isa.ALU_DIV else a % b
        elif op == isa.ALU_OR:
            r = a | b
        elif op == isa.ALU_AND:
            r = a & b
        elif op == isa.ALU_XOR:
            r = a ^ b
        elif op == isa.ALU_LSH:
            r = a << (b % bits)
        elif op == isa.ALU_RSH:
            r = a >> (b % bits)
        elif op == isa.ALU_ARSH:
            r = sx(a, bits) >> (b % bits)
        elif op == isa.ALU_MOV:
            if insn.off == 0:
                r = b
            elif insn.opcode & isa.SRC_X and insn.off in ((8, 16, 32) if wide else (8, 16)):
                r = sx(regs[insn.src], insn.off)
            else:
                raise Stop(Status.ILLEGAL_INSTRUCTION)
        elif op == isa.ALU_NEG:
            if insn.opcode not in (0x84, 0x87) and not (
                insn.opcode == isa.OP_NEG64_FC and self.profile == "femto"
            ):
                raise Stop(Status.ILLEGAL_INSTRUCTION)
            r = -a
        elif op == isa.ALU_END:
            width = insn.imm
            if width not in (16, 32, 64) or insn.opcode not in (0xD4, 0xDC, 0xD7):
                raise Stop(Status.ILLEGAL_INSTRUCTION)
            value = regs[insn.dst] & ((1 << width) - 1)
            if insn.opcode != 0xD4:
                value = int.from_bytes(value.to_bytes(width // 8, "little"), "big")
            regs[insn.dst] = value
            return
        else:
            raise Stop(Status.ILLEGAL_INSTRUCTION)
        regs[insn.dst] = r & mask

    def _condition(self, op: int, a: int, b: int, bits: int) -> bool:
        sa, sb = sx(a, bits), sx(b, bits)
        return {
            isa.JMP_JEQ: a == b,
            isa.JMP_JNE: a != b,
            isa.JMP_JGT: a > b,
            isa.JMP_JGE: a >= b,
            isa.JMP_JLT: a < b,
            isa.JMP_JLE: a <= b,
            isa.JMP_JSET: (a & b) != 0,
            isa.JMP_JSGT: sa > sb,
            isa.JMP_JSGE: sa >= sb,
            isa.JMP_JSLT: sa < sb,
            isa.JMP_JSLE: sa <= sb,
        }[op]

    def _control(self, insn: Insn, wide: bool) -> None:
        op = insn.opcode & 0xF0
        if insn.opcode == isa.OP_JA:
            self._jump(self.pc + 1 + insn.off)
        elif insn.opcode == isa.OP_JA32:
            self._jump(self.pc + 1 + insn.imm)
        elif insn.opcode == isa.OP_CALL and insn.src == isa.CALL_LOCAL:
            if len(self.frames) >= MAX_FRAMES:
                raise Stop(Status.ILLEGAL_CALL)
            target = self.pc + 1 + insn.imm
            if not 0 <= target < len(self.slots):
                raise Stop(Status.ILLEGAL_JUMP)
            self.frames.append((self.pc + 1, self.regs[6:10]))
            self.pc = target
        elif insn.opcode == isa.OP_CALL and insn.src == isa.CALL_HELPER:
            self._helper(insn.imm & M32)
            self.pc += 1
        elif insn.opcode == isa.OP_CALLX:
            self._helper(self.regs[insn.dst] & M32)
            self.pc += 1
        elif insn.opcode == isa.OP_EXIT:
            if not self.frames:
                raise Stop(Status.OK)
            self.pc, saved = self.frames.pop()
            self.regs[6:10] = saved
        elif op in isa.COND_JMP_OPS:
            bits = 64 if wide else 32
            mask = (1 << bits) - 1
            a = self.regs[insn.dst] & mask
            b = (self.regs[insn.src] if insn.opcode & isa.SRC_X else insn.imm) & mask
            if self._condition(op, a, b, bits):
                self._jump(self.pc + 1 + insn.off)
            else:
                self.pc += 1
        else:
            raise Stop(Status.ILLEGAL_INSTRUCTION)

    def _helper(self, helper_id: int) -> None:
        if helper_id not in self.helpers:
            raise Stop(Status.ILLEGAL_CALL)
        call = HelperCall(list(self.regs[:11]), self, self.runtime, self.profile)
        try:
            value = int(self.helpers[helper_id].fn(call))
        except HelperFault as fault:
            raise Stop(fault.status if fault.status < 0 else Status.ILLEGAL_CALL) from None
        self.regs[0] = value & (M32 if self.profile == "femto" else M64)
        for i in range(1, 6):
            self.regs[i] = call.regs[i] & M64

    def _memory(self, insn: Insn) -> None:
        op = insn.opcode
        cls = insn.cls
        mode = op & 0xE0
        size = isa.SIZE_BYTES[op & 0x18]
        regs = self.regs
        if cls == isa.CLS_LDX and mode in (isa.MODE_MEM, isa.MODE_MEMSX):
            if mode == isa.MODE_MEMSX and size == 8:
                raise Stop(Status.ILLEGAL_INSTRUCTION)
            value = self.load(regs[insn.src] + insn.off, size)
            if mode == isa.MODE_MEMSX:
                value = sx(value, 8 * size) & M64
            regs[insn.dst] = value
        elif cls == isa.CLS_ST and mode == isa.MODE_MEM:
            self.store(regs[insn.dst] + insn.off, size, insn.imm)
        elif cls == isa.CLS_STX and mode == isa.MODE_MEM:
            self.store(regs[insn.dst] + insn.off, size, regs[insn.src])
        elif cls == isa.CLS_STX and mode == isa.MODE_ATOMIC and size in (4, 8):
            self._atomic(insn, size)
        else:
            raise Stop(Status.ILLEGAL_INSTRUCTION)

    def _atomic(self, insn: Insn, size: int) -> None:
        aop = insn.imm & M32
        if aop not in isa.ATOMIC_OPS:
            raise Stop(Status.ILLEGAL_INSTRUCTION)
        mask = (1 << (8 * size)) - 1
        addr = (self.regs[insn.dst] + insn.off) & M32
        self._region(addr, size, memmap.PERM_RW)  # both permissions before anything happens
        old = self.load(addr, size)
        operand = self.regs[insn.src] & mask
        if aop == isa.ATOMIC_CMPXCHG:
            new = operand if (self.regs[0] & mask) == old else old
            self.regs[0] = old
        elif aop == isa.ATOMIC_XCHG:
            new = operand
            self.regs[insn.src] = old
        else:
            base = aop & ~isa.ATOMIC_FETCH
            new = {
                isa.ATOMIC_ADD: old + operand,
                isa.ATOMIC_OR: old | operand,
                isa.ATOMIC_AND: old & operand,
                isa.ATOMIC_XOR: old ^ operand,
            }[base]
            if aop & isa.ATOMIC_FETCH:
                self.regs[insn.src] = old
        self.store(addr, size, new)


def run_reference(program: Program, **kwargs) -> RunResult:
    """Run `program` on the reference machine (same keywords as ReferenceMachine)."""
    return ReferenceMachine(program, **kwargs).run()
