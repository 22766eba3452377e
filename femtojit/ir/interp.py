"""A plain Python interpreter of IR functions, on the canonical memory map.

It exists so that lowering and every pass can be checked against the reference bytecode
interpreter without any backend: run a program's IR before and after a pass and compare
status, result and memory. It is deliberately simple and strict: a Load or Store that a
CheckMem did not make safe (for example because a pass removed a check it should not have)
raises IRRuntimeError instead of quietly reading or writing, and so does a division by zero
in a Bin or Div64 op (lowering must have checked the divisor first).
"""

from __future__ import annotations

from collections.abc import Callable

from femtojit.errors import FemtojitError
from femtojit.helpers import CheckedMemory as SharedCheckedMemory
from femtojit.helpers import HelperCall, HelperFault, HelperRegistry, Runtime
from femtojit.ir import types as T
from femtojit.memmap import PERM_READ, PERM_WRITE, HostRegion, Region, build_memory
from femtojit.result import RunResult
from femtojit.status import Status

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

_DEFAULT = "default"


class IRRuntimeError(Exception):
    """The IR did something lowering/passes must never produce (an unchecked out-of-bounds
    access, a division by zero in a division op, a missing terminator). A femtojit bug."""


class StepLimitExceeded(FemtojitError):
    """The run did not finish within the interpreter's step limit (no budget, endless loop)."""


def _s32(x: int) -> int:
    return x - (1 << 32) if x & 0x80000000 else x


def _s64(x: int) -> int:
    return x - (1 << 64) if x & (1 << 63) else x


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _trunc_rem(a: int, b: int) -> int:
    return a - _trunc_div(a, b) * b


def bin32(op: str, a: int, b: int) -> int:
    """Bin semantics (also used by constant folding). Division by zero raises
    ZeroDivisionError: callers decide what that means."""
    if op == "add":
        return (a + b) & M32
    if op == "sub":
        return (a - b) & M32
    if op == "mul":
        return (a * b) & M32
    if op == "and":
        return a & b
    if op == "or":
        return a | b
    if op == "xor":
        return a ^ b
    if op == "shl":
        return (a << (b & 31)) & M32
    if op == "lshr":
        return a >> (b & 31)
    if op == "ashr":
        return (_s32(a) >> (b & 31)) & M32
    if op in T.DIV64_OPS:
        return _divide(op, a, b, _s32, M32)
    raise ValueError(op)


def un32(op: str, a: int) -> int:
    if op == "neg":
        return -a & M32
    if op == "not":
        return ~a & M32
    if op == "bswap16":
        return ((a & 0xFF) << 8) | ((a >> 8) & 0xFF)
    if op == "bswap32":
        return int.from_bytes(a.to_bytes(4, "little"), "big")
    if op == "sext8":
        a &= 0xFF
        return (a - 0x100 if a & 0x80 else a) & M32
    if op == "sext16":
        a &= 0xFFFF
        return (a - 0x10000 if a & 0x8000 else a) & M32
    if op == "zext8":
        return a & 0xFF
    if op == "zext16":
        return a & 0xFFFF
    raise ValueError(op)


def shift64(op: str, a: int, amount: int) -> int:
    k = amount & 63
    if op == "shl":
        return (a << k) & M64
    if op == "lshr":
        return a >> k
    return (_s64(a) >> k) & M64


def div64(op: str, a: int, b: int) -> int:
    return _divide(op, a, b, _s64, M64)


def _divide(op: str, a: int, b: int, signed: Callable[[int], int], mask: int) -> int:
    """udiv urem sdiv srem on unsigned values of one width (signed: its two's-complement
    reading, mask: its all-ones value); srem is the remainder of the truncating sdiv."""
    if b == 0:
        raise ZeroDivisionError(op)
    if op == "udiv":
        return a // b
    if op == "urem":
        return a % b
    if op == "sdiv":
        return _trunc_div(signed(a), signed(b)) & mask
    return _trunc_rem(signed(a), signed(b)) & mask


def compare(cond: str, a: int, b: int, bits: int) -> bool:
    """Branch condition on unsigned `bits`-wide values."""
    if cond == "eq":
        return a == b
    if cond == "ne":
        return a != b
    if cond == "ugt":
        return a > b
    if cond == "uge":
        return a >= b
    if cond == "ult":
        return a < b
    if cond == "ule":
        return a <= b
    if cond == "set":
        return (a & b) != 0
    sign = 1 << (bits - 1)
    sa = a - (sign << 1) if a & sign else a
    sb = b - (sign << 1) if b & sign else b
    if cond == "sgt":
        return sa > sb
    if cond == "sge":
        return sa >= sb
    if cond == "slt":
        return sa < sb
    if cond == "sle":
        return sa <= sb
    raise ValueError(cond)


class CheckedMemory(SharedCheckedMemory):
    """Container memory with the region rules of docs/semantics.md: the IR interpreter's own
    accesses ask `allowed`, helpers get the shared MemoryAccess methods."""

    def __init__(self, regions: list[Region]):
        self.regions = regions
        super().__init__(
            [(r.start, r.end, r.perm) for r in regions], self._read_bytes, self._write_bytes
        )

    def region_for(self, addr: int, size: int) -> Region | None:
        """The first region holding all of [addr, addr+size), or None."""
        if addr + size > (1 << 32):
            return None
        for region in self.regions:
            if region.holds(addr, size):
                return region
        return None

    def allowed(self, addr: int, size: int, perm: int) -> Region | None:
        region = self.region_for(addr, size)
        if region is None or region.perm & perm != perm:
            return None
        return region

    def _read_bytes(self, addr: int, size: int) -> bytes:
        region = self.region_for(addr, size)
        assert region is not None
        return bytes(region.data[addr - region.start : addr - region.start + size])

    def _write_bytes(self, addr: int, data: bytes) -> None:
        region = self.region_for(addr, len(data))
        assert region is not None
        region.data[addr - region.start : addr - region.start + len(data)] = data


class _Fault(Exception):
    def __init__(self, status: int, r0: int):
        self.status = status
        self.r0 = r0


def interpret(
    fn: T.Function,
    *,
    data: bytes = b"",
    rodata: bytes = b"",
    ctx: bytes = b"",
    host: list[HostRegion] | None = None,
    budget: int | None | str = _DEFAULT,
    helpers: HelperRegistry | None = None,
    runtime: Runtime | None = None,
    max_steps: int = 5_000_000,
) -> RunResult:
    """Run fn on fresh memory and return status, 64-bit result and memory contents.

    budget: the run-time taken-branch budget (vm->branches_remaining); default: fn.budget.
    It matters only if fn was lowered with a budget (budget ticks compiled in).
    """
    image = build_memory(data, rodata, ctx, host)
    memory = CheckedMemory(image.regions)
    if budget == _DEFAULT:
        budget = fn.budget
    params = {
        "stack_top": image.regions[0].end,
        "ctx": image.regions[3].start,
        "ctx_len": len(ctx),
        "data_base": image.regions[1].start,
        "rodata_base": image.regions[2].start,
        "budget": (budget if budget is not None else 0) & M32,
    }
    machine = _Machine(fn, memory, params, helpers or HelperRegistry(), runtime or Runtime())
    status, result = machine.run(max_steps)
    return RunResult(status, result, "ir", machine.steps, image.snapshot())


class _Machine:
    def __init__(self, fn, memory: CheckedMemory, params, helpers, runtime):
        self.fn = fn
        self.memory = memory
        self.params = params
        self.helpers = helpers
        self.runtime = runtime
        self.blocks = fn.block_map()
        self.vals = [0] * fn.num_vars
        self.frames: list[tuple[int, list[int]]] = []
        self.steps = 0

    def v(self, operand) -> int:
        if isinstance(operand, T.Var):
            return self.vals[operand.n]
        return operand.value

    def pair(self, lo, hi) -> int:
        return self.v(lo) | (self.v(hi) << 32)

    def set(self, var, value: int) -> None:
        if var is not None:
            self.vals[var.n] = value & M32

    def set_pair(self, lo, hi, value: int) -> None:
        self.set(lo, value)
        self.set(hi, value >> 32)

    def access(self, base, off: int, size: int, perm: int, what: str):
        addr = (self.v(base) + off) & M32
        region = self.memory.allowed(addr, size, perm)
        if region is None:
            raise IRRuntimeError(f"unchecked {what} of {size} bytes at {addr:#x}")
        return region, addr - region.start

    def run(self, max_steps: int) -> tuple[int, int]:
        block = self.fn.blocks[0]
        while True:
            try:
                for op in block.ops:
                    self.steps += 1
                    self.execute(op)
            except _Fault as fault:
                return fault.status, fault.r0
            self.steps += 1
            if self.steps > max_steps:
                raise StepLimitExceeded(f"IR run exceeded {max_steps} steps")
            term = block.term
            if term is None:
                raise IRRuntimeError(f"block b{block.id} has no terminator")
            nxt = self.terminate(term)
            if isinstance(nxt, tuple):
                return nxt
            block = self.blocks[nxt]

    def terminate(self, term):
        if isinstance(term, T.Jump):
            return term.target
        if isinstance(term, T.Branch):
            if term.ahi is None:
                taken = compare(term.cond, self.v(term.alo), self.v(term.blo), 32)
            else:
                taken = compare(
                    term.cond, self.pair(term.alo, term.ahi), self.pair(term.blo, term.bhi), 64
                )
            return term.taken if taken else term.fallthrough
        if isinstance(term, T.Exit):
            return (0, self.pair(term.r0lo, term.r0hi))
        if isinstance(term, T.Return):
            if not self.frames:
                return (0, self.pair(term.r0lo, term.r0hi))
            site = self.frames[-1][0]
            if site not in term.sites:
                raise IRRuntimeError(f"return to b{site}, which is not among {term.sites}")
            return site
        if isinstance(term, T.LocalCall):
            return term.target
        raise IRRuntimeError(f"unknown terminator {term!r}")

    def fault(self, status: int, r0lo, r0hi):
        raise _Fault(int(status), self.pair(r0lo, r0hi))

    def execute(self, op) -> None:
        kind = type(op)
        if kind is T.Mov:
            self.set(op.d, self.v(op.a))
        elif kind is T.Bin:
            try:
                self.set(op.d, bin32(op.op, self.v(op.a), self.v(op.b)))
            except ZeroDivisionError:
                raise IRRuntimeError(f"{op.op} by zero reached a Bin op") from None
        elif kind is T.Un:
            self.set(op.d, un32(op.op, self.v(op.a)))
        elif kind is T.Add64:
            self.set_pair(op.dlo, op.dhi, self.pair(op.alo, op.ahi) + self.pair(op.blo, op.bhi))
        elif kind is T.Sub64:
            self.set_pair(op.dlo, op.dhi, self.pair(op.alo, op.ahi) - self.pair(op.blo, op.bhi))
        elif kind is T.MulWide:
            a, b = self.v(op.a), self.v(op.b)
            if op.signed:
                a, b = _s32(a), _s32(b)
            self.set_pair(op.dlo, op.dhi, (a * b) & M64)
        elif kind is T.Shift64:
            self.set_pair(op.dlo, op.dhi,
                          shift64(op.op, self.pair(op.alo, op.ahi), self.v(op.amount)))
        elif kind is T.Div64:
            try:
                value = div64(op.op, self.pair(op.alo, op.ahi), self.pair(op.blo, op.bhi))
            except ZeroDivisionError:
                raise IRRuntimeError(f"{op.op} by zero reached a Div64 op") from None
            self.set_pair(op.dlo, op.dhi, value)
        elif kind is T.Param:
            self.set(op.d, self.params[op.name])
        elif kind is T.Load:
            region, start = self.access(op.base, op.off, op.size, PERM_READ, "load")
            value = int.from_bytes(region.data[start : start + op.size], "little")
            if op.signed and op.size < 4:
                sign = 1 << (8 * op.size - 1)
                value = (value - (sign << 1)) & M32 if value & sign else value
            self.set(op.d, value)
        elif kind is T.Store:
            region, start = self.access(op.base, op.off, op.size, PERM_WRITE, "store")
            value = self.v(op.value) & ((1 << (8 * op.size)) - 1)
            region.data[start : start + op.size] = value.to_bytes(op.size, "little")
        elif kind is T.CheckMem:
            addr = (self.v(op.base) + op.off) & M32
            if self.memory.allowed(addr, op.size, op.perm) is None:
                self.fault(Status.ILLEGAL_MEM, op.r0lo, op.r0hi)
        elif kind is T.CheckDivZero:
            divisor = self.v(op.lo) | (0 if op.hi is None else self.v(op.hi))
            if divisor == 0:
                self.fault(Status.ILLEGAL_DIV, op.r0lo, op.r0hi)
        elif kind is T.BudgetTick:
            remaining = self.v(op.counter)
            if remaining == 0:
                self.fault(Status.OUT_OF_BRANCHES, op.r0lo, op.r0hi)
            self.set(op.counter, remaining - 1)
        elif kind is T.Call:
            if not 0 <= op.index < len(self.fn.imports):
                raise IRRuntimeError(f"call of import #{op.index}: no such import")
            self.call_helper(self.fn.imports[op.index], op)
        elif kind is T.CallX:
            helper_id = self.v(op.id)
            if helper_id not in self.fn.imports:
                self.fault(Status.ILLEGAL_CALL, op.r0lo, op.r0hi)
            self.call_helper(helper_id, op)
        elif kind is T.PushFrame:
            if len(self.frames) >= T.MAX_FRAMES:
                self.fault(Status.ILLEGAL_CALL, op.r0lo, op.r0hi)
            self.frames.append((op.site, [self.v(s) for s in op.saved]))
        elif kind is T.PopFrame:
            if not self.frames:
                raise IRRuntimeError("PopFrame with no frame")
            _, saved = self.frames.pop()
            for var, value in zip(op.saved, saved):
                self.set(var, value)
        else:
            raise IRRuntimeError(f"unknown op {op!r}")

    def call_helper(self, helper_id: int, op) -> None:
        # regs[0] and regs[6..10] are unspecified to helpers: 0 here
        regs = [0] * 11
        for i in range(5):
            regs[1 + i] = self.pair(op.args[2 * i], op.args[2 * i + 1])
        r0 = self.pair(op.r0lo, op.r0hi)
        if helper_id not in self.helpers:  # as the reference interpreter does
            raise _Fault(int(Status.ILLEGAL_CALL), r0)
        helper = self.helpers[helper_id]
        call = HelperCall(list(regs), self.memory, self.runtime, self.fn.profile)
        try:
            value = helper.fn(call)
        except HelperFault as fault:
            status = fault.status if fault.status < 0 else int(Status.ILLEGAL_CALL)
            raise _Fault(status, r0) from None
        value = int(value) & (M32 if self.fn.profile == "femto" else M64)
        self.set(op.d_lo, value)
        self.set(op.d_hi, value >> 32)
        for i, var in enumerate(op.clobbered):
            reg = call.regs[1 + i // 2] & M64
            self.set(var, reg >> 32 if i % 2 else reg)
