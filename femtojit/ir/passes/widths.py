"""Value widths: narrow 64-bit work to 32 bits where the upper halves do not matter.

Facts per variable (forward dataflow, killed when a variable they mention is redefined):

- an int: the variable is that constant;
- ("sign", v): the variable equals v >>s 31 (the upper half of a sign-extended v);
- ("rng", lo, n, m, r): lo <= value < n and value = r (mod m), m a power of two (a range
  with a stride). Sources: masks, remainders, narrow loads, zero-extensions, adds, subtracts
  and shifts of ranges, `param stack_top` (>= 512: the stack lies below it), `param
  data_base`/`rodata_base` (the region fits below 2**32), and unsigned compares or
  (in)equalities on the side of a branch where they hold. Ranges join at merges; when a loop
  header is revisited they are widened (upper bounds to 2**8, 2**16, 2**31, 2**32-1 and, from
  the program's branch constants C, C+1 and C-m+1; lower bounds to 0), so the analysis
  terminates yet still proves the usual counted loops: `i += 4; if i != 128` keeps i <= 124
  at the top of the loop.

With these, a 64-bit loop counter that starts below 2**32 and steps up while below a 32-bit
bound (or until it equals a constant it reaches exactly) keeps a zero upper half: its Add64
becomes a 32-bit add and its compare a 32-bit compare, which is what clang's 64-bit
induction variables need (in -mcpu=v2 code and in v3 code alike).

Rewrites:
- a 64-bit compare of two zero-extended values, or of two sign-extended values, or of two
  values with the same upper half, becomes a 32-bit compare (signed conditions become
  unsigned ones when both sides are zero-extended or share their upper half);
- Add64 / Sub64 whose upper result is dead -> 32-bit add / sub; Add64 / Sub64 whose carry
  (borrow) is known from the ranges and whose upper inputs are known -> 32-bit add / sub and
  hi := constant (64-bit loop counters, `r10 - 8`, `.data + k` at 64 bits);
  MulWide whose upper result is dead -> 32-bit mul;
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
NO_BOUND = 1 << 32
EXACT = 1 << 32  # the stride of a constant: nothing else is congruent to it below 2**32
BOUND_THRESHOLDS = (1 << 8, 1 << 16, 1 << 31, (1 << 32) - 1)
STACK_SIZE = 512

# -- the range domain ---------------------------------------------------------------------
#
# A range fact ("rng", lo, n, m, r) says lo <= value < n and value = r (mod m), m a power of
# two in 1..2**32 (2**32: only r itself). Normalised: lo and n - 1 are values of the set.
# Region addresses are assumed not to wrap past 2**32 (the region table holds 32-bit start
# and length, and an access may not wrap), so stack_top >= 512 and a region's base plus its
# size fits in 32 bits: that is what makes `r10 - 8` and `.data + 4` carry-free at 64 bits.


def lowbit(x: int) -> int:
    """Largest power of two dividing x (EXACT for 0)."""
    return x & -x if x else EXACT


def make_range(lo: int, n: int, m: int, r: int):
    """The normalised fact for lo <= v < n, v = r (mod m): an int for a single value, None
    when it says nothing (any 32-bit value) or nothing is possible."""
    m = min(max(m, 1), EXACT)
    r %= m
    lo = max(lo, 0)
    n = min(n, NO_BOUND)
    lo += (r - lo) % m
    if n <= 0:
        return None
    top = n - 1 - ((n - 1 - r) % m)
    if lo > top:
        return None
    if lo == top:
        return lo
    if lo == 0 and top + 1 >= NO_BOUND and m == 1:
        return None
    return ("rng", lo, top + 1, m, r)


def _range_fact(fact):
    """(lo, n, m, r) of a fact, or None."""
    if isinstance(fact, int):
        return fact, fact + 1, EXACT, fact
    if isinstance(fact, tuple) and fact[0] == "rng":
        return fact[1:]
    return None


def range_of(state: dict, operand) -> tuple[int, int, int, int] | None:
    """(lo, n, m, r) of an operand: lo <= value < n, value = r (mod m); None if unknown."""
    fact = operand.value if isinstance(operand, Const) else state.get(operand.n)
    return _range_fact(fact)


def known(state: dict, operand) -> int | None:
    fact = operand.value if isinstance(operand, Const) else state.get(operand.n)
    return fact if isinstance(fact, int) else None


def upper_bound(state: dict, operand) -> int | None:
    """An exclusive upper bound of the operand's value, if one is known."""
    rng = range_of(state, operand)
    return None if rng is None else rng[1]


def join_ranges(a, b):
    m = min(a[2], b[2], lowbit(abs(a[3] - b[3])))
    return make_range(min(a[0], b[0]), max(a[1], b[1]), m, a[3])


def add_ranges(a, b):
    """(range of a + b mod 2**32, carry out of 32 bits) when the carry is the same for
    every pair of values; None when it may or may not carry."""
    low, high = a[0] + b[0], a[1] + b[1] - 2
    m = min(a[2], b[2])
    if high < NO_BOUND:
        return make_range(low, high + 1, m, a[3] + b[3]), 0
    if low >= NO_BOUND:
        return make_range(low - NO_BOUND, high + 1 - NO_BOUND, m, a[3] + b[3]), 1
    return None


def sub_ranges(a, b):
    """(range of a - b mod 2**32, borrow) when the borrow is the same for every pair."""
    low, high = a[0] - (b[1] - 1), a[1] - 1 - b[0]
    m = min(a[2], b[2])
    if low >= 0:
        return make_range(low, high + 1, m, a[3] - b[3]), 0
    if high < 0:
        return make_range(low + NO_BOUND, high + 1 + NO_BOUND, m, a[3] - b[3]), 1
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


def meet(states: list[dict]) -> dict:
    """Equal facts stay; constants and ranges join; the rest go."""
    first, *rest = states
    out = {}
    for var, fact in first.items():
        others = [s.get(var) for s in rest]
        if all(o == fact for o in others):
            out[var] = fact
            continue
        joined = _range_fact(fact)
        for other in others:
            rng = _range_fact(other)
            if joined is None or rng is None:
                joined = None
                break
            joined = _range_fact(join_ranges(joined, rng))
        if joined is not None:
            out[var] = make_range(*joined)
    return out


def make_widen(constants: set[int]):
    """The widening for one function: a range that grew goes to the next threshold (upper
    bounds) or to 0 (lower bounds), so each fact can only weaken finitely often."""

    def widen(old: dict, new: dict) -> dict:
        out = {}
        for var, fact in new.items():
            before = old.get(var)
            if before == fact:
                out[var] = fact
                continue
            a, b = _range_fact(before), _range_fact(fact)
            if a is None or b is None:
                continue
            joined = _range_fact(join_ranges(a, b))
            if joined is None:
                continue
            lo, n, m, r = joined
            if lo < a[0]:
                lo = 0
            if n > a[1]:
                candidates = set(BOUND_THRESHOLDS) | {NO_BOUND}
                for c in constants:
                    candidates.update((c + 1, c - m + 1))
                n = min(t for t in candidates if t >= n)
            widened = make_range(lo, n, m, r)
            if widened is not None:
                out[var] = widened
        return out

    return widen


#: What a condition proves on its taken side: (strict, smaller, larger) with operand
#: indexes 0 = a, 1 = b; on the fallthrough side the negated condition holds.
_ORDER = {"ult": (True, 0, 1), "ule": (False, 0, 1), "ugt": (True, 1, 0), "uge": (False, 1, 0)}
_NEGATE = {"ult": "uge", "uge": "ult", "ule": "ugt", "ugt": "ule", "eq": "ne", "ne": "eq"}
_ANY = (0, NO_BOUND, 1, 0)


def _refine(out: dict, operand, lo: int, n: int, m: int, r: int) -> None:
    if isinstance(operand, Var):
        fact = make_range(lo, n, m, r)
        if fact is not None:
            out[operand.n] = fact


def edge(block: T.Block, successor: int, state: dict) -> dict:
    """Facts a branch condition proves on one side (on the low halves, when the upper
    halves are known and equal, so the low halves decide)."""
    term = block.term
    if not isinstance(term, T.Branch) or term.taken == term.fallthrough:
        return state
    cond = term.cond if successor == term.taken else _NEGATE.get(term.cond)
    if term.wide:
        ha, hb = known(state, term.ahi), known(state, term.bhi)
        if ha is None or ha != hb:
            return state
    a, b = term.alo, term.blo
    out = dict(state)
    if cond in ("eq", "ne"):
        for x, y in ((a, b), (b, a)):
            c = known(state, y)
            if not isinstance(x, Var) or c is None:
                continue
            if cond == "eq":
                out[x.n] = c
                continue
            rng = range_of(state, x)
            if rng is None:
                continue
            lo, n, m, r = rng
            if n - 1 == c:  # the largest value is excluded
                _refine(out, x, lo, c, m, r)
            elif lo == c:  # the smallest value is excluded
                _refine(out, x, c + 1, n, m, r)
        return out
    if cond not in _ORDER:
        return state
    strict, small, large = _ORDER[cond]
    operands = (a, b)
    rs = range_of(state, operands[small]) or _ANY
    rl = range_of(state, operands[large]) or _ANY
    gap = 1 if strict else 0
    # small < large (or <=): small's bound comes down, large's floor goes up
    _refine(out, operands[small], rs[0], min(rs[1], rl[1] - gap), rs[2], rs[3])
    _refine(out, operands[large], max(rl[0], rs[0] + gap), rl[1], rl[2], rl[3])
    return out


def known_carry(state: dict, op):
    """For an Add64/Sub64 with known upper inputs whose carry (borrow) out of the low half is
    the same for every possible input: (the constant upper result, the low result's fact)."""
    if not isinstance(op, (T.Add64, T.Sub64)):
        return None
    ha, hb = known(state, op.ahi), known(state, op.bhi)
    ra, rb = range_of(state, op.alo), range_of(state, op.blo)
    if ha is None or hb is None or ra is None or rb is None:
        return None
    if isinstance(op, T.Add64):
        result = add_ranges(ra, rb)
        if result is None:
            return None
        return (ha + hb + result[1]) & M32, result[0]
    result = sub_ranges(ra, rb)
    if result is None:
        return None
    return (ha - hb - result[1]) & M32, result[0]


#: Run-time constants: stack_top >= 512 (the stack's 512 bytes lie below it); a region's
#: base plus its size fits in 32 bits.
def _param_fact(fn: T.Function | None, name: str):
    if name == "stack_top":
        return make_range(STACK_SIZE, NO_BOUND, 1, 0)
    if fn is not None and name == "data_base" and fn.data_size:
        return make_range(0, NO_BOUND - fn.data_size + 1, 1, 0)
    if fn is not None and name == "rodata_base" and fn.rodata_size:
        return make_range(0, NO_BOUND - fn.rodata_size + 1, 1, 0)
    return None


def _new_fact(state: dict, op: T.Op, fn: T.Function | None = None):
    """Fact for the single result of op, computed from the state before op."""
    kind = type(op)
    if kind is Mov:
        return known(state, op.a) if isinstance(op.a, Const) else state.get(op.a.n)
    if kind is T.Param:
        return _param_fact(fn, op.name)
    if kind is Bin:
        a, b = known(state, op.a), known(state, op.b)
        if a is not None and b is not None:
            try:
                return bin32(op.op, a, b)
            except ZeroDivisionError:
                return None
        ra, rb = range_of(state, op.a), range_of(state, op.b)
        if op.op == "ashr" and isinstance(op.a, Var):
            fact = state.get(op.a.n)
            if isinstance(fact, tuple) and fact[0] == "sign":
                return fact
            if b is not None and b & 31 == 31:
                return ("sign", op.a)
        if op.op in ("add", "sub") and ra and rb:
            result = (add_ranges if op.op == "add" else sub_ranges)(ra, rb)
            return result[0] if result else None
        if op.op == "and":
            bounds = [x[1] for x in (ra, rb) if x]
            if bounds:
                return make_range(0, min(bounds), 1, 0)
        if op.op == "urem" and b:
            return make_range(0, b, 1, 0)
        if op.op == "lshr" and b is not None:
            k = b & 31
            rng = ra or _ANY
            return make_range(rng[0] >> k, ((rng[1] - 1) >> k) + 1, 1, 0)
        if op.op == "shl" and ra and b is not None:
            k = b & 31
            if ((ra[1] - 1) << k) < NO_BOUND:
                return make_range(ra[0] << k, ((ra[1] - 1) << k) + 1, ra[2] << k, ra[3] << k)
        if op.op == "mul" and ra and b is not None and (ra[1] - 1) * b < NO_BOUND:
            return make_range(ra[0] * b, (ra[1] - 1) * b + 1, ra[2] * lowbit(b), ra[3] * b)
        return None
    if kind is T.Un:
        a = known(state, op.a)
        if a is not None:
            return un32(op.op, a)
        width = {"zext8": 8, "zext16": 16, "bswap16": 16}.get(op.op)
        return make_range(0, 1 << width, 1, 0) if width else None
    if kind is T.Load and not op.signed and op.size < 4:
        return make_range(0, 1 << (8 * op.size), 1, 0)
    return None


def apply(state: dict, op: T.Op, fn: T.Function | None = None) -> None:
    defs = op.defs()
    facts: list[tuple] = []
    if len(defs) == 1:
        facts.append((defs[0], _new_fact(state, op, fn)))
    elif isinstance(op, (T.Add64, T.Sub64)):
        proof = known_carry(state, op)
        if proof is not None:
            facts = [(op.dlo, proof[1]), (op.dhi, proof[0])]
    for d in defs:
        kill(state, d.n)
    for var, fact in facts:
        if var is not None and fact is not None and not mentions(fact, var.n):
            state[var.n] = fact


def transfer(fn: T.Function | None):
    """The block transfer function (fn gives the sizes behind the Param facts)."""

    def transfer_block(block: T.Block, state: dict) -> dict:
        state = dict(state)
        for op in block.ops:
            apply(state, op, fn)
        return state

    return transfer_block


transfer_block = transfer(None)


def branch_constants(fn: T.Function) -> set[int]:
    """Constants compared against in branches (widening thresholds come from them)."""
    out = set()
    for block in fn.blocks:
        if isinstance(block.term, T.Branch):
            for operand in (block.term.alo, block.term.blo):
                if isinstance(operand, Const):
                    out.add(operand.value)
    return out


def analyse(fn: T.Function) -> dict[int, dict]:
    """The facts at the start of every reachable block."""
    return forward(fn, transfer(fn), meet=meet, edge=edge,
                   widen=make_widen(branch_constants(fn)))


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
    proof = known_carry(state, op)
    if proof is not None and op.dlo is not None:
        name = "add" if kind is T.Add64 else "sub"
        new = [Bin(name, op.dlo, op.alo, op.blo)]  # reads its inputs before writing dlo
        if op.dhi is not None:
            new.append(Mov(op.dhi, Const(proof[0])))
        return new
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
    in_states = analyse(fn)
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
                apply(state, new, fn)
        block.ops = new_ops
        if isinstance(block.term, T.Branch):
            rewrite_branch(block.term, state)
    return fn
