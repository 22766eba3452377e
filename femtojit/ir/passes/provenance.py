"""Pointer provenance: which region each pointer variable points into.

Facts (forward dataflow): ("ptr", region, offset) where region is the region-table index
(0 stack, 1 data, 2 rodata, 3 ctx) and offset the distance from the region's start (None
when unknown). Sources: `param stack_top` (the stack at offset 512: r10), `param ctx`
(r1 at entry), `param data_base` / `param rodata_base` (LDDWD / LDDWR). Adding or
subtracting a constant moves the offset; adding an unknown non-pointer keeps the region
and forgets the offset.

Rewrites: a CheckMem whose address is at a known offset inside the stack, or inside .data
(read or write) or .rodata (read) — whose sizes are fixed when the program is translated —
is removed; every other CheckMem with a known region gets it as its `region` hint.
"""

from __future__ import annotations

from femtojit.ir import types as T
from femtojit.ir.passes._dataflow import forward, kill
from femtojit.ir.types import Const, Var
from femtojit.memmap import REGION_CTX, REGION_DATA, REGION_RODATA, REGION_STACK, STACK_SIZE

PARAM_POINTERS = {
    "stack_top": (REGION_STACK, STACK_SIZE),
    "ctx": (REGION_CTX, 0),
    "data_base": (REGION_DATA, 0),
    "rodata_base": (REGION_RODATA, 0),
}


def _norm(offset: int | None) -> int | None:
    return None if offset is None else offset & 0xFFFFFFFF


def meet(states: list[dict]) -> dict:
    """Same region everywhere: keep it (and the offset if it agrees); else forget."""
    first, *rest = states
    out = {}
    for var, fact in first.items():
        others = [s.get(var) for s in rest]
        if any(o is None or o[1] != fact[1] for o in others):
            continue
        offset = fact[2] if all(o[2] == fact[2] for o in others) else None
        out[var] = ("ptr", fact[1], offset)
    return out


def pointer(state: dict, operand):
    if isinstance(operand, Var):
        return state.get(operand.n)
    return None


def _offset_sum(fact, delta: int | None, sign: int = 1):
    offset = None if fact[2] is None or delta is None else fact[2] + sign * delta
    return ("ptr", fact[1], _norm(offset))


def _add(state: dict, a, b, subtract: bool):
    fa, fb = pointer(state, a), pointer(state, b)
    cb = b.value if isinstance(b, Const) else None
    if subtract:
        return _offset_sum(fa, cb, -1) if fa is not None and fb is None else None
    if fa is not None and fb is None:
        return _offset_sum(fa, cb)
    if fb is not None and fa is None:
        return _offset_sum(fb, a.value if isinstance(a, Const) else None)
    return None


def new_fact(state: dict, op: T.Op):
    kind = type(op)
    if kind is T.Param:
        place = PARAM_POINTERS.get(op.name)
        return ("ptr", *place) if place else None
    if kind is T.Mov:
        return pointer(state, op.a)
    if kind is T.Bin and op.op in ("add", "sub"):
        return _add(state, op.a, op.b, op.op == "sub")
    if kind in (T.Add64, T.Sub64):  # the low half of a 64-bit pointer sum
        return _add(state, op.alo, op.blo, kind is T.Sub64)
    return None


def apply(state: dict, op: T.Op) -> None:
    defs = op.defs()
    if not defs:
        return
    fact = new_fact(state, op)
    for d in defs:
        kill(state, d.n)
    if fact is not None:
        target = op.dlo if isinstance(op, (T.Add64, T.Sub64)) else defs[0]
        if target is not None:
            state[target.n] = fact


def transfer_block(block: T.Block, state: dict) -> dict:
    state = dict(state)
    for op in block.ops:
        apply(state, op)
    return state


def region_size(fn: T.Function, region: int) -> int | None:
    return {REGION_STACK: STACK_SIZE, REGION_DATA: fn.data_size,
            REGION_RODATA: fn.rodata_size}.get(region)


def provably_allowed(fn: T.Function, fact, check: T.CheckMem) -> bool:
    """True if the access is inside a region of fixed size that allows it."""
    _, region, offset = fact
    size = region_size(fn, region)
    if offset is None or size is None:
        return False
    if region == REGION_RODATA and check.access != "r":
        return False
    start = (offset + check.off) & 0xFFFFFFFF
    return start + check.size <= size


def run(fn: T.Function) -> T.Function:
    """Rewrite fn in place; returns it."""
    in_states = forward(fn, transfer_block, meet=meet)
    for block in fn.blocks:
        if block.id not in in_states:
            continue
        state = dict(in_states[block.id])
        kept = []
        for op in block.ops:
            if isinstance(op, T.CheckMem):
                fact = pointer(state, op.base)
                if fact is not None:
                    if provably_allowed(fn, fact, op):
                        continue
                    op.region = fact[1]
            apply(state, op)
            kept.append(op)
        block.ops = kept
    return fn
