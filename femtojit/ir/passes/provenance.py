"""Pointer provenance: which region each pointer variable points into.

Facts (forward dataflow): ("ptr", region, low, high) where region is the region-table index
(0 stack, 1 data, 2 rodata, 3 ctx) and [low, high] the possible distances from the region's
start (None, None when unknown). Sources: `param stack_top` (the stack at offset 512: r10),
`param ctx` (r1 at entry), `param data_base` / `param rodata_base` (LDDWD / LDDWR).
Adding or subtracting a constant moves the interval; adding a non-pointer whose range the
widths analysis knows (a loop index below a bound) widens it by that range; adding anything
else keeps the region and forgets the offsets. An interval that changes when a loop header is
revisited is forgotten too (so the analysis terminates).

Rewrites: a CheckMem whose whole address interval lies inside the stack, or inside .data
(read or write) or .rodata (read) — whose sizes are fixed when the program is translated —
is removed; every other CheckMem whose base has a known region gets it as `region` hint.
"""

from __future__ import annotations

from femtojit.ir import types as T
from femtojit.ir.passes import widths
from femtojit.ir.passes._dataflow import forward, kill
from femtojit.ir.types import Var
from femtojit.memmap import REGION_CTX, REGION_DATA, REGION_RODATA, REGION_STACK, STACK_SIZE

PARAM_POINTERS = {
    "stack_top": (REGION_STACK, STACK_SIZE),
    "ctx": (REGION_CTX, 0),
    "data_base": (REGION_DATA, 0),
    "rodata_base": (REGION_RODATA, 0),
}
UNKNOWN = (None, None)


def meet(states: list[dict]) -> dict:
    """Same region everywhere: keep it, with the union of the offset intervals."""
    first, *rest = states
    out = {}
    for var, fact in first.items():
        others = [s.get(var) for s in rest]
        if any(o is None or o[1] != fact[1] for o in others):
            continue
        lows = [f[2] for f in [fact, *others]]
        highs = [f[3] for f in [fact, *others]]
        if None in lows or None in highs:
            out[var] = ("ptr", fact[1], None, None)
        else:
            out[var] = ("ptr", fact[1], min(lows), max(highs))
    return out


def widen(old: dict, new: dict) -> dict:
    """Revisiting a block: a region stays, offsets that changed are forgotten."""
    out = {}
    for var, fact in new.items():
        before = old.get(var)
        if before is None or before[1] != fact[1]:
            continue
        out[var] = fact if before == fact else ("ptr", fact[1], None, None)
    return out


def pointer(state: dict, operand):
    return state.get(operand.n) if isinstance(operand, Var) else None


def _interval(wstate: dict, operand) -> tuple[int, int] | None:
    """[min, max] of a non-pointer operand from the widths facts, if bounded (a constant
    counts as signed: adding 0xfffffff8 moves a pointer down by 8)."""
    value = widths.known(wstate, operand)
    if value is not None:
        value = value - (1 << 32) if value >> 31 else value
        return value, value
    rng = widths.range_of(wstate, operand)
    return None if rng is None else (rng[0], rng[1] - 1)


def _ptr(region: int, low: int, high: int):
    """A fact with the interval moved by a multiple of 2**32 (addresses wrap) so that low
    is in [-2**31, 2**31); offsets unknown when the interval spans 2**32 or more."""
    if high - low >= 1 << 32:
        return ("ptr", region, None, None)
    turn = ((low + (1 << 31)) >> 32) << 32
    return ("ptr", region, low - turn, high - turn)


def _shift(fact, interval, sign: int):
    low, high = fact[2], fact[3]
    if low is None or interval is None:
        return ("ptr", fact[1], None, None)
    if sign > 0:
        return _ptr(fact[1], low + interval[0], high + interval[1])
    return _ptr(fact[1], low - interval[1], high - interval[0])


def _add(state: dict, wstate: dict, a, b, subtract: bool):
    fa, fb = pointer(state, a), pointer(state, b)
    if subtract:
        if fa is not None and fb is None:
            return _shift(fa, _interval(wstate, b), -1)
        return None
    if fa is not None and fb is None:
        return _shift(fa, _interval(wstate, b), 1)
    if fb is not None and fa is None:
        return _shift(fb, _interval(wstate, a), 1)
    return None


def new_fact(state: dict, wstate: dict, op: T.Op):
    kind = type(op)
    if kind is T.Param:
        place = PARAM_POINTERS.get(op.name)
        return ("ptr", place[0], place[1], place[1]) if place else None
    if kind is T.Mov:
        return pointer(state, op.a)
    if kind is T.Bin and op.op in ("add", "sub"):
        return _add(state, wstate, op.a, op.b, op.op == "sub")
    if kind in (T.Add64, T.Sub64):  # the low half of a 64-bit pointer sum
        return _add(state, wstate, op.alo, op.blo, kind is T.Sub64)
    return None


def apply(state: dict, wstate: dict, op: T.Op) -> None:
    defs = op.defs()
    if not defs:
        return
    fact = new_fact(state, wstate, op)
    for d in defs:
        kill(state, d.n)
    if fact is not None:
        target = op.dlo if isinstance(op, (T.Add64, T.Sub64)) else defs[0]
        if target is not None:
            state[target.n] = fact


def provably_allowed(fn: T.Function, fact, check: T.CheckMem) -> bool:
    """True if every address the check can see is inside a region of fixed size that
    allows the access."""
    _, region, low, high = fact
    size = fn.region_size(region)
    if low is None or size is None:
        return False
    if region == REGION_RODATA and check.access != "r":
        return False
    return low + check.off >= 0 and high + check.off + check.size <= size


def run(fn: T.Function) -> T.Function:
    """Rewrite fn in place; returns it."""
    width_facts = widths.analyse(fn)

    def transfer_block(block: T.Block, state: dict) -> dict:
        state = dict(state)
        wstate = dict(width_facts.get(block.id, {}))
        for op in block.ops:
            apply(state, wstate, op)
            widths.apply(wstate, op, fn)
        return state

    in_states = forward(fn, transfer_block, meet=meet, widen=widen)
    for block in fn.blocks:
        if block.id not in in_states:
            continue
        state = dict(in_states[block.id])
        wstate = dict(width_facts.get(block.id, {}))
        kept = []
        for op in block.ops:
            if isinstance(op, T.CheckMem):
                fact = pointer(state, op.base)
                if fact is not None:
                    if provably_allowed(fn, fact, op):
                        continue
                    op.region = fact[1]
            apply(state, wstate, op)
            widths.apply(wstate, op, fn)
            kept.append(op)
        block.ops = kept
    return fn


