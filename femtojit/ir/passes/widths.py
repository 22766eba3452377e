"""Value widths: narrow 64-bit work to 32 bits where the upper halves do not matter.

Facts per variable (forward dataflow, killed when a variable they mention is redefined):
an int (the variable is that constant), ("sign", v) (the variable equals v >>s 31, the upper
half of a sign-extended v), or ("lt", n) (0 <= value < n, from masks, remainders, narrow
loads and zero-extensions).

Rewrites:
- a 64-bit compare of two zero-extended values, or of two sign-extended values, or of two
  values with the same upper half, becomes a 32-bit compare (signed conditions become
  unsigned ones when both sides are zero-extended or share their upper half);
- Add64 / Sub64 whose upper result is dead -> 32-bit add / sub; MulWide whose upper result
  is dead -> 32-bit mul;
- Div64 of zero-extended values -> 32-bit udiv/urem and hi := 0 (signed forms too: both
  sides are non-negative); srem (and sdiv when INT_MIN / -1 cannot happen) of sign-extended
  values -> 32-bit srem/sdiv and hi := sign of the result;
- CheckDivZero of a divisor whose upper half is 0 -> 32-bit check;
- Shift64 by a constant -> 32-bit ops; by an amount known to be < 32: shl with a dead upper
  result, lshr of a zero-extended value and ashr of a sign-extended value -> 32-bit shifts.
"""

from __future__ import annotations

from femtojit.ir import types as T
from femtojit.ir.analysis import liveness
from femtojit.ir.interp import M32, bin32, un32
from femtojit.ir.passes._dataflow import forward, kill, mentions
from femtojit.ir.types import Bin, Const, Mov, Var

UNSIGNED = {"sgt": "ugt", "sge": "uge", "slt": "ult", "sle": "ule"}
ZERO = Const(0)


def known(state: dict, operand) -> int | None:
    if isinstance(operand, Const):
        return operand.value
    fact = state.get(operand.n)
    return fact if isinstance(fact, int) else None


def upper_bound(state: dict, operand) -> int | None:
    """An exclusive upper bound of the operand's value, if one is known."""
    value = known(state, operand)
    if value is not None:
        return value + 1
    fact = state.get(operand.n) if isinstance(operand, Var) else None
    if isinstance(fact, tuple) and fact[0] == "lt":
        return fact[1]
    return None


def extension(state: dict, lo, hi) -> set[str]:
    """How (hi:lo) relates to lo: {"zero"} if hi is 0, {"sign"} if hi is lo's sign word,
    both when lo is known non-negative and hi is 0."""
    out: set[str] = set()
    h = known(state, hi)
    lo_value = known(state, lo)
    if h is not None:
        if h == 0:
            out.add("zero")
            bound = upper_bound(state, lo)
            if bound is not None and bound <= 0x80000000:
                out.add("sign")
        if lo_value is not None and h == (M32 if lo_value >> 31 else 0):
            out.add("sign")
        return out
    if isinstance(hi, Var) and isinstance(lo, Var) and state.get(hi.n) == ("sign", lo):
        out.add("sign")
    return out


def _new_fact(state: dict, op: T.Op):
    """Fact for the single result of op, computed from the state before op."""
    kind = type(op)
    if kind is Mov:
        if isinstance(op.a, Const):
            return op.a.value
        return state.get(op.a.n)
    if kind is Bin:
        a, b = known(state, op.a), known(state, op.b)
        if a is not None and b is not None:
            try:
                return bin32(op.op, a, b)
            except ZeroDivisionError:
                return None
        if op.op == "ashr" and isinstance(op.a, Var):
            fact = state.get(op.a.n)
            if isinstance(fact, tuple) and fact[0] == "sign":
                return fact
            if b is not None and b & 31 == 31:
                return ("sign", op.a)
        if op.op == "and":
            bounds = [x for x in (upper_bound(state, op.a), upper_bound(state, op.b)) if x]
            if bounds:
                return ("lt", min(bounds))
        if op.op == "urem" and b:
            return ("lt", b)
        if op.op == "lshr" and b is not None and b & 31:
            return ("lt", 1 << (32 - (b & 31)))
        return None
    if kind is T.Un:
        a = known(state, op.a)
        if a is not None:
            return un32(op.op, a)
        return {"zext8": ("lt", 256), "zext16": ("lt", 1 << 16),
                "bswap16": ("lt", 1 << 16)}.get(op.op)
    if kind is T.Load and not op.signed and op.size < 4:
        return ("lt", 1 << (8 * op.size))
    return None


def apply(state: dict, op: T.Op) -> None:
    defs = op.defs()
    fact = _new_fact(state, op) if len(defs) == 1 else None
    for d in defs:
        kill(state, d.n)
    if fact is not None and not mentions(fact, defs[0].n):
        state[defs[0].n] = fact


def transfer_block(block: T.Block, state: dict) -> dict:
    state = dict(state)
    for op in block.ops:
        apply(state, op)
    return state


def _dead(var, live: int) -> bool:
    return var is None or not (live >> var.n) & 1


def _movs(fn: T.Function, results: list[tuple], ops: list[T.Op]) -> list[T.Op]:
    """ops computing into temporaries, then Movs of the temporaries into the real results
    (results may alias inputs, so they are written last)."""
    return ops + [Mov(d, t) for d, t in results if d is not None]


def shift64_const(fn: T.Function, op: T.Shift64, k: int) -> list[T.Op]:
    """Shift64 by the constant k (0..63) as 32-bit ops."""
    name, alo, ahi = op.op, op.alo, op.ahi
    tlo, thi = fn.new_var(), fn.new_var()
    if k == 0:
        ops = [Mov(tlo, alo), Mov(thi, ahi)]
    elif k < 32:
        t = fn.new_var()
        if name == "shl":
            ops = [Bin("lshr", t, alo, Const(32 - k)), Bin("shl", thi, ahi, Const(k)),
                   Bin("or", thi, thi, t), Bin("shl", tlo, alo, Const(k))]
        else:
            ops = [Bin("shl", t, ahi, Const(32 - k)), Bin("lshr", tlo, alo, Const(k)),
                   Bin("or", tlo, tlo, t), Bin(name, thi, ahi, Const(k))]
    elif name == "shl":
        ops = [Bin("shl", thi, alo, Const(k - 32)), Mov(tlo, ZERO)]
    else:
        ops = [Bin(name, tlo, ahi, Const(k - 32)),
               Mov(thi, ZERO) if name == "lshr" else Bin("ashr", thi, ahi, Const(31))]
    return _movs(fn, [(op.dlo, tlo), (op.dhi, thi)], ops)


def rewrite_op(fn: T.Function, op: T.Op, state: dict, live_after: int) -> list[T.Op] | None:
    """Narrower ops for op, or None to keep it."""
    kind = type(op)
    if kind in (T.Add64, T.Sub64) and op.dlo is not None and _dead(op.dhi, live_after):
        return [Bin("add" if kind is T.Add64 else "sub", op.dlo, op.alo, op.blo)]
    if kind is T.MulWide and op.dlo is not None and _dead(op.dhi, live_after):
        return [Bin("mul", op.dlo, op.a, op.b)]
    if kind is T.CheckDivZero and op.hi is not None and known(state, op.hi) == 0:
        return [T.CheckDivZero(op.lo, None, op.r0lo, op.r0hi)]
    if kind is T.Div64:
        return _narrow_div(fn, op, state)
    if kind is T.Shift64:
        return _narrow_shift(fn, op, state, live_after)
    return None


def _narrow_div(fn: T.Function, op: T.Div64, state: dict) -> list[T.Op] | None:
    ea, eb = extension(state, op.alo, op.ahi), extension(state, op.blo, op.bhi)
    if "zero" in ea and "zero" in eb:  # both non-negative 64-bit values below 2**32
        t = fn.new_var()
        name = "udiv" if op.op in ("udiv", "sdiv") else "urem"
        return _movs(fn, [(op.dlo, t), (op.dhi, ZERO)], [Bin(name, t, op.alo, op.blo)])
    if "sign" in ea and "sign" in eb and op.op in ("sdiv", "srem"):
        if op.op == "sdiv":
            a, b = known(state, op.alo), known(state, op.blo)
            if not ((a is not None and a != 0x80000000) or (b is not None and b != M32)):
                return None  # INT_MIN / -1 differs: 2**31 at 64 bits, INT_MIN at 32
        t, s = fn.new_var(), fn.new_var()
        ops = [Bin(op.op, t, op.alo, op.blo), Bin("ashr", s, t, Const(31))]
        return _movs(fn, [(op.dlo, t), (op.dhi, s)], ops)
    return None


def _narrow_shift(fn, op: T.Shift64, state: dict, live_after: int) -> list[T.Op] | None:
    amount = known(state, op.amount)
    if amount is not None:
        return shift64_const(fn, op, amount & 63)
    bound = upper_bound(state, op.amount)
    if bound is None or bound > 32:
        return None
    ext = extension(state, op.alo, op.ahi)
    if op.op == "shl" and _dead(op.dhi, live_after) and op.dlo is not None:
        return [Bin("shl", op.dlo, op.alo, op.amount)]
    if op.op == "lshr" and "zero" in ext:
        t = fn.new_var()
        return _movs(fn, [(op.dlo, t), (op.dhi, ZERO)], [Bin("lshr", t, op.alo, op.amount)])
    if op.op == "ashr" and "sign" in ext:
        t, s = fn.new_var(), fn.new_var()
        ops = [Bin("ashr", t, op.alo, op.amount), Bin("ashr", s, op.alo, Const(31))]
        return _movs(fn, [(op.dlo, t), (op.dhi, s)], ops)
    return None


def rewrite_branch(term: T.Branch, state: dict) -> bool:
    """Make a 64-bit compare 32-bit when the upper halves cannot change the outcome."""
    if not term.wide:
        return False
    ea, eb = extension(state, term.alo, term.ahi), extension(state, term.blo, term.bhi)
    cond = term.cond
    ha, hb = known(state, term.ahi), known(state, term.bhi)
    same_hi = (ha is not None and ha == hb) or (
        isinstance(term.ahi, Var) and term.ahi == term.bhi)
    if "zero" in ea and "zero" in eb:
        cond = UNSIGNED.get(cond, cond)
    elif "sign" in ea and "sign" in eb:
        pass
    elif same_hi and cond != "set":
        cond = UNSIGNED.get(cond, cond)
    else:
        return False
    term.cond = cond
    term.ahi = term.bhi = None
    return True


def run(fn: T.Function) -> T.Function:
    """Rewrite fn in place; returns it."""
    in_states = forward(fn, transfer_block)
    live = liveness(fn)
    for block in fn.blocks:
        if block.id not in in_states:
            continue
        state = dict(in_states[block.id])
        live_after = live.op_live_out(block.id)
        new_ops: list[T.Op] = []
        for i, op in enumerate(block.ops):
            replacement = rewrite_op(fn, op, state, live_after[i])
            for new in replacement if replacement is not None else [op]:
                new_ops.append(new)
                apply(state, new)
        block.ops = new_ops
        if isinstance(block.term, T.Branch):
            rewrite_branch(block.term, state)
    return fn
