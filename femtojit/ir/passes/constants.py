"""Constant propagation and folding, branch folding and copy propagation.

Facts per variable: a constant (an int) or "a copy of variable v" (a Var). Propagation is
conditional: a branch whose operands are all known only makes its one real successor
reachable, so constants found on one side of a folded branch do not get diluted by the
other side. The rewrite replaces every use by its constant or by the oldest copy, folds ops
whose inputs are known, applies algebraic identities (x+0, x*1, x&0, ...) and turns folded
branches into jumps. A folded branch that is always taken jumps to its tick block, so the
taken-branch budget still counts it. Blocks that become unreachable are left for dce.
"""

from __future__ import annotations

from femtojit.ir import types as T
from femtojit.ir.interp import M32, M64, bin32, compare, div64, shift64, un32
from femtojit.ir.passes._dataflow import forward, kill
from femtojit.ir.types import Const, Mov, Var


def resolve(state: dict, operand):
    """The best replacement for an operand under the facts: a Const, the copied Var, or
    the operand itself."""
    if isinstance(operand, Var):
        fact = state.get(operand.n)
        if isinstance(fact, int):
            return Const(fact)
        if isinstance(fact, Var):
            return fact
    return operand


def _c(operand) -> int | None:
    return operand.value if isinstance(operand, Const) else None


def parallel_movs(pairs: list[tuple[Var | None, object]]) -> list[T.Op] | None:
    """Movs that assign all pairs at once (sources read before any write), or None when
    that needs a temporary (a swap)."""
    pairs = [(d, s) for d, s in pairs if d is not None]
    if len(pairs) <= 1:
        return [Mov(d, s) for d, s in pairs]
    (d1, s1), (d2, s2) = pairs
    if s2 != d1:
        return [Mov(d1, s1), Mov(d2, s2)]
    if s1 != d2:
        return [Mov(d2, s2), Mov(d1, s1)]
    return None


def _fold_bin(op: T.Bin) -> list[T.Op] | None:
    """Replacement ops for a Bin whose operands are (partly) known, or None to keep it."""
    a, b = op.a, op.b
    ca, cb = _c(a), _c(b)
    if ca is not None and cb is not None:
        try:
            return [Mov(op.d, Const(bin32(op.op, ca, cb)))]
        except ZeroDivisionError:
            return None  # unreachable at run time (a check faults first): leave it
    name = op.op
    same = isinstance(a, Var) and a == b
    zero = Const(0)
    if name in ("add", "or", "xor") and cb == 0:
        return [Mov(op.d, a)]
    if name in ("add", "or", "xor") and ca == 0:
        return [Mov(op.d, b)]
    if name == "sub" and cb == 0:
        return [Mov(op.d, a)]
    if name in ("sub", "xor") and same:
        return [Mov(op.d, zero)]
    if name in ("and", "or") and same:
        return [Mov(op.d, a)]
    if name == "mul" and (ca == 0 or cb == 0):
        return [Mov(op.d, zero)]
    if name == "mul" and cb == 1:
        return [Mov(op.d, a)]
    if name == "mul" and ca == 1:
        return [Mov(op.d, b)]
    if name == "and" and (ca == 0 or cb == 0):
        return [Mov(op.d, zero)]
    if name == "and" and cb == M32:
        return [Mov(op.d, a)]
    if name == "and" and ca == M32:
        return [Mov(op.d, b)]
    if name == "or" and (ca == M32 or cb == M32):
        return [Mov(op.d, Const(M32))]
    if name in ("shl", "lshr", "ashr"):
        if cb is not None and cb & 31 == 0:
            return [Mov(op.d, a)]
        if ca == 0 or (name == "ashr" and ca == M32):
            return [Mov(op.d, a)]
    if name in ("udiv", "sdiv") and cb == 1:
        return [Mov(op.d, a)]
    if name in ("urem", "srem") and cb == 1:
        return [Mov(op.d, zero)]
    return None


def _pair_consts(*operands) -> list[int] | None:
    values = [_c(o) for o in operands]
    return None if any(v is None for v in values) else values


def _split(d_lo, d_hi, value: int) -> list[tuple]:
    return [(d_lo, Const(value & M32)), (d_hi, Const((value >> 32) & M32))]


def simplify(op: T.Op, state: dict) -> list[T.Op]:
    """The op with uses resolved under `state`, folded or simplified when possible."""
    op = op.copy()
    op.replace_uses(lambda o: resolve(state, o))
    kind = type(op)
    if kind is Mov:
        if isinstance(op.a, Var) and op.a == op.d:
            return []
        known = state.get(op.d.n)
        if (isinstance(op.a, Const) and known == op.a.value) or (
            isinstance(op.a, Var) and known == op.a
        ):
            return []  # d already holds that value
        return [op]
    if kind is T.Bin:
        return _fold_bin(op) or [op]
    if kind is T.Un:
        if isinstance(op.a, Const):
            return [Mov(op.d, Const(un32(op.op, op.a.value)))]
        return [op]
    if kind in (T.Add64, T.Sub64):
        values = _pair_consts(op.alo, op.ahi, op.blo, op.bhi)
        if values:
            a = values[0] | values[1] << 32
            b = values[2] | values[3] << 32
            result = (a + b if kind is T.Add64 else a - b) & M64
            return parallel_movs(_split(op.dlo, op.dhi, result)) or [op]
        if _c(op.blo) == 0 and _c(op.bhi) == 0:
            return parallel_movs([(op.dlo, op.alo), (op.dhi, op.ahi)]) or [op]
        if kind is T.Add64 and _c(op.alo) == 0 and _c(op.ahi) == 0:
            return parallel_movs([(op.dlo, op.blo), (op.dhi, op.bhi)]) or [op]
        return [op]
    if kind is T.MulWide:
        ca, cb = _c(op.a), _c(op.b)
        if ca is not None and cb is not None:
            if op.signed:
                ca = ca - (1 << 32) if ca >> 31 else ca
                cb = cb - (1 << 32) if cb >> 31 else cb
            return parallel_movs(_split(op.dlo, op.dhi, (ca * cb) & M64)) or [op]
        if ca == 0 or cb == 0:
            return parallel_movs(_split(op.dlo, op.dhi, 0)) or [op]
        if not op.signed and (ca == 1 or cb == 1):
            other = op.b if ca == 1 else op.a
            return parallel_movs([(op.dlo, other), (op.dhi, Const(0))]) or [op]
        return [op]
    if kind is T.Shift64:
        amount = _c(op.amount)
        if amount is not None and amount & 63 == 0:
            return parallel_movs([(op.dlo, op.alo), (op.dhi, op.ahi)]) or [op]
        values = _pair_consts(op.alo, op.ahi, op.amount)
        if values:
            result = shift64(op.op, values[0] | values[1] << 32, values[2])
            return parallel_movs(_split(op.dlo, op.dhi, result)) or [op]
        return [op]
    if kind is T.Div64:
        values = _pair_consts(op.alo, op.ahi, op.blo, op.bhi)
        if values and (values[2] or values[3]):
            result = div64(op.op, values[0] | values[1] << 32, values[2] | values[3] << 32)
            return parallel_movs(_split(op.dlo, op.dhi, result)) or [op]
        return [op]
    if kind is T.CheckDivZero:
        lo, hi = _c(op.lo), (0 if op.hi is None else _c(op.hi))
        if (lo is not None and lo != 0) or (hi is not None and hi != 0):
            return []  # the divisor is known to be non-zero
        return [op]
    return [op]


def apply(state: dict, op: T.Op) -> None:
    """Update the facts after op (already simplified, so a Mov's source is a Const or a
    variable without a fact of its own) has executed."""
    if type(op) is Mov:
        fact = op.a.value if isinstance(op.a, Const) else op.a
        kill(state, op.d.n)
        if not (isinstance(fact, Var) and fact.n == op.d.n):
            state[op.d.n] = fact
        return
    for d in op.defs():
        kill(state, d.n)


def transfer_block(block: T.Block, state: dict) -> dict:
    state = dict(state)
    for op in block.ops:
        for new in simplify(op, state):
            apply(state, new)
    return state


def branch_outcome(term, state: dict) -> bool | None:
    """True/False if a Branch's condition is known under the facts, else None."""
    if not isinstance(term, T.Branch):
        return None
    alo, blo = _c(resolve(state, term.alo)), _c(resolve(state, term.blo))
    if term.ahi is None:
        if alo is None or blo is None:
            return None
        return compare(term.cond, alo, blo, 32)
    ahi, bhi = _c(resolve(state, term.ahi)), _c(resolve(state, term.bhi))
    if None in (alo, blo, ahi, bhi):
        return None
    return compare(term.cond, alo | ahi << 32, blo | bhi << 32, 64)


def _feasible(block: T.Block, state: dict) -> list[int]:
    outcome = branch_outcome(block.term, state)
    if outcome is None:
        return block.successors()
    return [block.term.taken if outcome else block.term.fallthrough]


def run(fn: T.Function) -> T.Function:
    """Rewrite fn in place; returns it."""
    in_states = forward(fn, transfer_block, feasible=_feasible)
    for block in fn.blocks:
        if block.id not in in_states:
            continue  # unreachable: dce removes it
        state = dict(in_states[block.id])
        new_ops: list[T.Op] = []
        for op in block.ops:
            for new in simplify(op, state):
                new_ops.append(new)
                apply(state, new)
        block.ops = new_ops
        term = block.term
        if term is None:
            continue
        outcome = branch_outcome(term, state)
        if outcome is not None:
            block.term = T.Jump(term.taken if outcome else term.fallthrough)
            continue
        term.replace_uses(lambda o, s=state: resolve(s, o))
        if isinstance(term, T.Branch) and term.taken == term.fallthrough:
            block.term = T.Jump(term.taken)
    return fn
