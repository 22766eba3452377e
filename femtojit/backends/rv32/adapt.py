"""RV32-specific rewrites of the prepared function, before register allocation.

- **vm at every fault**: a KeepVm after every op that can fault keeps the vm pointer live
  there, so a fault stub finds it in its register (or its slot) and the prologue need not
  store it anywhere.
- **vm arrives in a0**: the entry's argument is a variable precoloured a0 copied into the vm
  variable, so the allocator can coalesce the two and leave the pointer where it came.
- **constants in loops**: RISC-V compares two registers and its immediates have 12 bits, so a
  constant that no instruction takes as an immediate costs a `li` (one or two instructions)
  each time it is used. In a loop, such a constant becomes a variable set once in the
  prologue: the allocator keeps it in a register when the loop has one to spare (a spill
  costs one load, no more than the `li`).
"""

from __future__ import annotations

from femtojit.backends.common.prep import KeepVm, Prepared, VmArg
from femtojit.backends.rv32.encode import A0
from femtojit.backends.rv32.forms import fits12, signed32
from femtojit.ir import types as T
from femtojit.ir.analysis import loop_depth
from femtojit.ir.types import Const, Var

M32 = 0xFFFFFFFF


def keep_vm_at_faults(prepared: Prepared) -> None:
    vm = prepared.vm
    for block in prepared.fn.blocks:
        out = []
        for op in block.ops:
            out.append(op)
            if getattr(op, "can_fault", False):
                out.append(KeepVm(vm))
        block.ops = out


def vm_from_a0(prepared: Prepared, registers) -> dict[int, int]:
    """Split VmArg(vm) into VmArg(arg) + Mov(vm, arg), arg precoloured a0; returns the
    precolouring (empty when a0 is not allocatable)."""
    if A0 not in registers:
        return {}
    fn = prepared.fn
    entry = fn.block_map()[prepared.prologue]
    assert isinstance(entry.ops[0], VmArg)
    arg = fn.new_var("arg")
    entry.ops[0:1] = [VmArg(arg), T.Mov(prepared.vm, arg)]
    return {arg.n: A0}


def _immediate_ok(op: T.Bin, value: int) -> bool:
    """Whether `d = a <op> value` needs no register for the constant (see Selector.bin_imm)."""
    name, imm = op.op, signed32(value)
    if name == "add":
        return fits12(imm)
    if name == "sub":
        return fits12(-imm)
    if name in ("and", "or", "xor"):
        if fits12(imm):
            return True
        low, high = value + 1, (~value & M32) + 1
        return name == "and" and (low & value == 0 or high & (~value & M32) == 0)
    if name in ("shl", "lshr", "ashr"):
        return True
    return name == "mul" and value != 0 and value & (value - 1) == 0


def hoist_loop_constants(prepared: Prepared) -> int:
    """Constants in loop blocks that would need a `li` become variables set in the prologue;
    returns how many distinct constants were hoisted."""
    fn = prepared.fn
    depth = loop_depth(fn)
    hoisted: dict[int, Var] = {}

    def var_for(value: int) -> Var:
        if value not in hoisted:
            hoisted[value] = fn.new_var(f"k{value:x}_")
        return hoisted[value]

    def lift(operand):
        if isinstance(operand, Const) and operand.value != 0:
            return var_for(operand.value)
        return operand

    for block in fn.blocks:
        if not depth.get(block.id, 0):
            continue
        for op in block.ops:
            if isinstance(op, T.Bin):
                if isinstance(op.a, Const) and isinstance(op.b, Const):
                    continue  # (only without the passes; not worth a register)
                if isinstance(op.b, Const) and not _immediate_ok(op, op.b.value):
                    op.b = lift(op.b)
                if isinstance(op.a, Const) and op.op not in ("add", "mul", "and", "or", "xor"):
                    op.a = lift(op.a)
            elif isinstance(op, T.Store):
                op.value = lift(op.value)
            elif isinstance(op, T.MulWide):
                op.a, op.b = lift(op.a), lift(op.b)
        term = block.term
        if isinstance(term, T.Branch) and not term.wide:
            if term.cond == "set":
                if isinstance(term.blo, Const) and not fits12(signed32(term.blo.value)):
                    term.blo = lift(term.blo)
            else:
                term.alo, term.blo = lift(term.alo), lift(term.blo)
    if hoisted:
        entry = fn.block_map()[prepared.prologue]
        entry.ops += [T.Mov(var, Const(value)) for value, var in sorted(hoisted.items())]
    return len(hoisted)
