"""Which loads and stores are known to be aligned (RV32 cores may trap on the others).

ESP32-C3-class cores raise an exception on a misaligned `lw`/`sh`, so the backend may use a
word or halfword access only where the address is a multiple of the size; elsewhere it tests
the low address bits at run time (and takes a byte-by-byte path when they are not zero).
This forward dataflow analysis finds the accesses that need no test: for each 32-bit
variable, its value modulo 4 when known at translation time.

Facts come from constants, from the stack (the ABI makes the firmware's eBPF stack 4-byte
aligned, and its size is 512, so `stack_top` and the stack region's start are multiples of
4), and from arithmetic: sums and differences of known residues, products and left shifts
that make a multiple of 4, masks that clear the low bits. Everything else (ctx, .data,
host pointers, loaded values) is unknown. Facts meet at merges by equality.
"""

from __future__ import annotations

from femtojit.backends.common.prep import RegionStart, VmParam
from femtojit.ir import types as T
from femtojit.ir.analysis import reverse_postorder
from femtojit.ir.types import Const
from femtojit.memmap import REGION_STACK

State = dict[int, int]  # variable number -> value mod 4 (absent: unknown)


def _residue(state: State, operand) -> int | None:
    if isinstance(operand, Const):
        return operand.value & 3
    return state.get(operand.n)


def _bin(op: T.Bin, state: State) -> int | None:
    a, b = _residue(state, op.a), _residue(state, op.b)
    name = op.op
    if name == "add" and a is not None and b is not None:
        return (a + b) & 3
    if name == "sub" and a is not None and b is not None:
        return (a - b) & 3
    if name == "mul":
        if a == 0 or b == 0:
            return 0
        if a is not None and b is not None:
            return (a * b) & 3
    if name == "shl" and isinstance(op.b, Const):
        amount = op.b.value & 31
        if amount >= 2:
            return 0
        if a is not None:
            return (a << amount) & 3
    if name == "and":
        if a is not None and b is not None:
            return a & b
        if a == 0 or b == 0:
            return 0
    if name in ("or", "xor") and a is not None and b is not None:
        return (a | b) if name == "or" else (a ^ b)
    return None


def _transfer(op, state: State) -> None:
    value: int | None = None
    if isinstance(op, T.Mov):
        value = _residue(state, op.a)
    elif isinstance(op, T.Bin):
        value = _bin(op, state)
    elif (isinstance(op, VmParam) and op.name == "stack_top"
          or isinstance(op, RegionStart) and op.region == REGION_STACK):
        value = 0
    elif isinstance(op, (T.Add64, T.Sub64)):
        a, b = _residue(state, op.alo), _residue(state, op.blo)
        lo = None
        if a is not None and b is not None:
            lo = (a + b) & 3 if isinstance(op, T.Add64) else (a - b) & 3
        for var, fact in ((op.dlo, lo), (op.dhi, None)):
            if var is not None:
                if fact is None:
                    state.pop(var.n, None)
                else:
                    state[var.n] = fact
        return
    defs = op.defs()
    for var in defs:
        state.pop(var.n, None)
    if value is not None and len(defs) == 1:
        state[defs[0].n] = value


def _meet(states: list[State]) -> State:
    first, *rest = states
    return {v: r for v, r in first.items() if all(s.get(v) == r for s in rest)}


def aligned_accesses(fn: T.Function) -> set[int]:
    """id() of every Load and Store of size 2 or 4 whose address is known to be a multiple
    of its size."""
    blocks = fn.block_map()
    preds: dict[int, list[int]] = {b.id: [] for b in fn.blocks}
    for block in fn.blocks:
        for succ in block.successors():
            if succ in preds:
                preds[succ].append(block.id)
        if isinstance(block.term, T.LocalCall) and block.term.return_block in preds:
            # the return site is entered from the callee's Return: a merge of its own
            preds[block.term.return_block].append(block.id)
    order = reverse_postorder(fn)
    out: dict[int, State] = {}
    entry = fn.blocks[0].id
    changed = True
    while changed:
        changed = False
        for bid in order:
            known = [out[p] for p in preds[bid] if p in out]
            state: State = {} if bid == entry or not known else _meet(known)
            for op in blocks[bid].ops:
                _transfer(op, state)
            if out.get(bid) != state:
                out[bid] = state
                changed = True
    aligned: set[int] = set()
    for bid in order:
        known = [out[p] for p in preds[bid] if p in out]
        state = {} if bid == entry or not known else _meet(known)
        for op in blocks[bid].ops:
            if isinstance(op, (T.Load, T.Store)) and op.size in (2, 4):
                base = _residue(state, op.base)
                if base is not None and (base + op.off) % op.size == 0:
                    aligned.add(id(op))
            _transfer(op, state)
    return aligned
