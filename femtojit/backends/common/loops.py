"""Counted-loop versioning: a copy of a simple loop without budget ticks and checks.

A loop like

    H: ... check [p + off] ... p += d ... i += c; if (i < n) -> tick -> H, else -> exit

pays, every iteration, a budget tick on its back edge and the fast path of each check. When
the number of back edges it will take (T) is known on entry, both can be paid once: a check
block on every entry edge computes T, and if the budget covers T (the budget is then reduced
by T up front) and every hoistable check's whole range over the T + 1 iterations lies inside
its hinted region, control enters a copy of the loop that has neither; otherwise the
original loop runs unchanged. Exactness:

- budget: the original loop takes at most T back edges (T when it leaves through the latch;
  fewer when it leaves early); its other counted edges (k ticks inside the body, each passed
  at most once per iteration) at most k (T + 1) more. With budget >= T + k (T + 1) none of
  those ticks can fault, so the copy has no back-edge tick and keeps the inner ones as plain
  decrements; on every way out of the copy it pays the back edges actually taken, which the
  counter tells (k - 1 in iteration k: its value minus its value on entry, less one where
  the exit lies after the counter's step). The budget left after the loop is the same.
- checks: a check on a base that is loop-invariant or advanced by a constant every
  iteration touches a subset of a set of addresses known on entry (all of it if it runs
  every iteration); if all of them lie in the hinted region (a fixed region: none overlaps
  it, so it is the first match, and its permission allows the access), or, for a check
  without a usable hint, in the region the region scan finds for the lowest address when
  no earlier region overlaps that one (the rule of the check caches), every one of those
  checks would pass.

The loop must be innermost, jump back to its header from one place (the latch's branch, or
the tick block it feeds), contain no call or frame op, have every exit on the same side of
the counter's step on every path, and
count with one induction variable `i += c` (c = +-1) compared with a loop-invariant bound
(`ne`, or `ult` counting up / `ugt` counting down, entered from the right side of the
bound). Every "runs every iteration" fact is checked on the loop body without its back edge,
not by dominance from the function's entry (which an earlier iteration would satisfy).
Trip counts above MAX_TRIPS take the original loop, which also keeps every range computation
below 2^31.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from femtojit.ir import types as T
from femtojit.ir.analysis import (
    local_call_targets,
    natural_loops,
    predecessors,
    return_sites,
)
from femtojit.ir.types import Const, Operand, Var

MAX_TRIPS = 1 << 20
MAX_STRIDE = 1 << 8
M32 = 0xFFFFFFFF

#: Ops a versioned loop may contain (besides its one back-edge tick).
ALLOWED = (T.Mov, T.Bin, T.Un, T.Add64, T.Sub64, T.MulWide, T.Shift64, T.Div64, T.Load,
           T.Store, T.CheckMem, T.CheckDivZero, T.Param)


@dataclass
class _Hoist:
    check: T.CheckMem
    base: Var | None  # None: the base is a constant
    stride: int  # added to the base every iteration (0: invariant)
    after_step: bool  # the base is advanced before the check within an iteration
    # a base recomputed every iteration as A + (counter << shift): (A, shift, adj), the
    # first value being A + ((counter on entry + adj) << shift)
    affine: tuple | None = None


def version_counted_loops(
    fn: T.Function,
    *,
    usable: Callable[[T.CheckMem], bool],
    region_start: Callable[[int], Var],
    region_length: Callable[[int], Operand],
    probe: Callable | None = None,
    probe_cache: Callable[[], tuple[Var, Var]] | None = None,
) -> int:
    """Version every suitable loop of fn in place; returns how many were versioned.

    usable(check): the check's hint names a fixed region allowing its access.
    region_start / region_length: operands holding a region's start and length.
    probe(start, length, address, access): an op setting start/length to the region the
    region scan finds for one byte at address when it allows `access` and no earlier region
    overlaps it, else both 0 (the backend's ProbeRange); None: checks without a usable hint
    are not hoisted. probe_cache(): a fresh (start, length) pair of variables, 0 on entry,
    keeping the last region a probe vouched for."""
    count = 0
    for header, body in sorted(natural_loops(fn).items()):
        if _version(fn, header, body, usable, region_start, region_length, probe,
                    probe_cache):
            count += 1
    return count


def _must_pass(blocks: dict, body: set[int], header: int, latch: int, block: int) -> bool:
    """Does every path from the header to the latch inside the loop (back edge removed) go
    through `block`?"""
    if block in (header, latch):
        return True
    seen = {header}
    work = [header]
    while work:
        b = work.pop()
        for s in blocks[b].successors():
            if s not in body or s in (header, block) or s in seen:
                continue
            if s == latch:
                return False
            seen.add(s)
            work.append(s)
    return True


def _reaches(blocks: dict, body: set[int], header: int, src: int, dst: int) -> bool:
    """Is there a path src -> dst inside the loop without its back edge?"""
    if src == dst:
        return True
    seen = {src}
    work = [src]
    while work:
        for succ in blocks[work.pop()].successors():
            if succ == dst:
                return True
            if succ in body and succ != header and succ not in seen:
                seen.add(succ)
                work.append(succ)
    return False


def _single_def(body_ops, var: Var):
    """The (block id, index, op) defining var in the loop, if there is exactly one."""
    found = [(bid, i, op) for bid, i, op in body_ops if var in op.defs()]
    return found[0] if len(found) == 1 else None


def _step(op, var: Var) -> int | None:
    """c if op is var := var + c (mod 2^32, as a signed step), else None."""
    if isinstance(op, T.Bin) and op.d == var and isinstance(op.b, Const):
        if op.op == "add" and op.a == var:
            c = op.b.value
        elif op.op == "sub" and op.a == var:
            c = -op.b.value & M32
        else:
            return None
        return c - (1 << 32) if c >> 31 else c
    return None


def _version(fn, header, body, usable, region_start, region_length, probe,
             probe_cache) -> bool:
    blocks = fn.block_map()
    if header == fn.blocks[0].id or header in return_sites(fn) or header in local_call_targets(fn):
        return False
    loops = natural_loops(fn)
    if any(h != header and h in body for h in loops):
        return False  # not innermost
    # the back edge: one block jumps back to the header, a tick block (fed by the latch) or
    # the latch itself; the latch's Branch decides between going on and leaving
    preds = predecessors(fn)
    back = [p for p in preds[header] if p in body]
    if len(back) != 1:
        return False
    tick_block = None
    if _is_tick_to(blocks[back[0]], header):
        tick_block = back[0]
        feeders = [p for p in preds[tick_block] if p in body]
        if len(feeders) != 1:
            return False
        latch = feeders[0]
    else:
        latch = back[0]
    term = blocks[latch].term
    if not isinstance(term, T.Branch):
        return False
    stay = tick_block if tick_block is not None else header
    if stay not in (term.taken, term.fallthrough) or term.taken == term.fallthrough:
        return False
    leave = term.fallthrough if stay == term.taken else term.taken
    if leave in body:
        return False
    # every other way out: a branch of some block to outside the loop
    exits = [(b, s) for b in body for s in set(blocks[b].successors()) if s not in body]
    body_ops = []
    inner_ticks = []  # other counted edges in the loop (the body is acyclic without its back
    # edge, so each is passed at most once per iteration)
    for bid in body:
        if bid == tick_block:
            continue
        block = blocks[bid]
        for i, op in enumerate(block.ops):
            if isinstance(op, T.BudgetTick):
                inner_ticks.append(op)
                continue
            if not isinstance(op, ALLOWED):
                return False
            body_ops.append((bid, i, op))
        if bid != latch and not isinstance(block.term, (T.Jump, T.Branch)):
            return False
    defined = {v for _, _, op in body_ops for v in op.defs()}
    # the induction variable and its bound
    found = _induction(term, stay, body_ops, defined)
    if found is None:
        return False
    iv, bound, cond, step, def_block = found
    if not _must_pass(blocks, body, header, latch, def_block):
        return False
    # where each exit lies relative to the counter's step: the back edges taken when leaving
    # there follow from the counter's value (the loop may leave early)
    exit_after: dict[tuple[int, int], bool] = {}
    for b, s in exits:
        if b == header:  # (_must_pass from the header to itself is trivially true)
            exit_after[(b, s)] = def_block == header
        elif _must_pass(blocks, body, header, b, def_block):
            exit_after[(b, s)] = True
        elif not (_reaches(blocks, body, header, header, def_block)
                  and _reaches(blocks, body, header, def_block, b)):
            exit_after[(b, s)] = False
        else:
            return False
    # checks that run every iteration on an invariant or stepped base
    hoists: list[_Hoist] = []
    order = _order(blocks, body, header, latch)
    for bid, i, op in body_ops:
        if not (isinstance(op, T.CheckMem) and (usable(op) or probe is not None)):
            continue
        # (a check that does not run every iteration is fine: if the range test passes, every
        # access it could make is inside the region)
        base = op.base
        if isinstance(base, Const):
            hoists.append(_Hoist(op, None, 0, False))
            continue
        if base not in defined:
            hoists.append(_Hoist(op, base, 0, False))
            continue
        d = _single_def(body_ops, base)
        if d is None:
            continue
        stride = _step(d[2], base)
        if stride is None:
            found = _affine(d, body_ops, defined, iv[0], order, blocks, body, header, latch,
                            def_block, step, (order[bid], i))
            if found is not None:
                hoists.append(_Hoist(op, base, found[0], False, found[1]))
            continue
        if abs(stride) > MAX_STRIDE:
            continue
        if not _must_pass(blocks, body, header, latch, d[0]):
            continue
        after = (order[d[0]], d[1]) < (order[bid], i)
        hoists.append(_Hoist(op, base, stride, after))
    if inner_ticks and tick_block is None:
        return False
    if tick_block is None and not hoists:
        return False
    _build(fn, header, body, latch, stay, leave, tick_block, iv, bound, cond, step, hoists,
           region_start, region_length, preds, len(inner_ticks), exit_after, usable, probe,
           probe_cache)
    return True


_NEGATE = {"eq": "ne", "ne": "eq", "ult": "uge", "uge": "ult", "ugt": "ule", "ule": "ugt"}
_SWAP = {"ne": "ne", "eq": "eq", "ult": "ugt", "ugt": "ult", "uge": "ule", "ule": "uge"}


def _invariant(x, defined) -> bool:
    return x is not None and (isinstance(x, Const) or x not in defined)


def _induction(term: T.Branch, stay: int, body_ops, defined):
    """(iv, bound, cond, step, block of the step) for the latch's branch, where `cond` is
    the condition on (iv, bound) under which the loop goes on. iv and bound are (lo, hi)
    pairs, hi None for a 32-bit compare. None if it is not a supported counted loop."""
    cond = term.cond if stay == term.taken else _NEGATE.get(term.cond)
    if cond not in _SWAP:  # signed conditions, `set`: not counted loops here
        return None
    a, b = (term.alo, term.ahi), (term.blo, term.bhi)
    wide = term.wide

    def is_iv(pair):
        return isinstance(pair[0], Var) and pair[0] in defined and (
            not wide or (isinstance(pair[1], Var) and pair[1] in defined))

    def is_bound(pair):
        return _invariant(pair[0], defined) and (not wide or _invariant(pair[1], defined))

    if is_iv(a) and is_bound(b):
        iv, bound = a, b
    elif is_iv(b) and is_bound(a):
        iv, bound, cond = b, a, _SWAP[cond]
    else:
        return None
    found = _single_def(body_ops, iv[0])
    if found is None:
        return None
    op = found[2]
    if wide:  # (lo, hi) += c by one Add64 that is the only definition of both halves
        other = _single_def(body_ops, iv[1])
        if (other is None or other[2] is not op or not isinstance(op, T.Add64)
                or (op.dlo, op.dhi, op.alo, op.ahi) != (iv[0], iv[1], iv[0], iv[1])
                or not isinstance(op.blo, Const) or not isinstance(op.bhi, Const)):
            return None
        c = op.blo.value | op.bhi.value << 32
        step = {1: 1, (1 << 64) - 1: -1}.get(c)
    else:
        step = _step(op, iv[0])
    if step not in (1, -1) or cond not in ("ne", "ult", "ugt"):
        return None
    if (cond == "ult" and step != 1) or (cond == "ugt" and step != -1):
        return None
    return iv, bound, cond, step, found[0]


def _affine(d, body_ops, defined, counter, order, blocks, body, header, latch, step_block,
            step, check_at):
    """(stride, (A, shift, adj)) when the base, defined by `d`, is A + (counter << shift)
    recomputed every iteration before the check (an indexed array); else None."""
    bid, index, op = d
    if not (isinstance(op, T.Bin) and op.op == "add"):
        return None
    for a, scaled in ((op.a, op.b), (op.b, op.a)):
        if not _invariant(a, defined) or not isinstance(scaled, Var):
            continue
        if scaled == counter:
            shift, s_def = 0, None
        else:
            s_def = _single_def(body_ops, scaled)
            if s_def is None:
                continue
            sop = s_def[2]
            if not (isinstance(sop, T.Bin) and sop.op == "shl" and sop.a == counter
                    and isinstance(sop.b, Const) and sop.b.value < 8):
                continue
            shift = sop.b.value
        if not _must_pass(blocks, body, header, latch, bid):
            return None
        if not (order[bid], index) < check_at:
            return None  # the check would see the previous iteration's base
        counter_read = (order[bid], index) if s_def is None else (order[s_def[0]], s_def[1])
        if s_def is not None:
            if not _must_pass(blocks, body, header, latch, s_def[0]):
                return None
            if not counter_read < (order[bid], index):
                return None
        stride = step << shift
        if abs(stride) > MAX_STRIDE:
            return None
        step_at = next((order[b], i) for b, i, o in body_ops if counter in o.defs())
        adj = step if step_at < counter_read else 0
        return stride, (a, shift, adj)
    return None


def _order(blocks, body, header, latch) -> dict[int, int]:
    """A topological position of the loop's blocks (back edge removed), for "before"."""
    out: dict[int, int] = {}
    seen: set[int] = set()
    post: list[int] = []

    def visit(b):
        seen.add(b)
        for s in blocks[b].successors():
            if s in body and s != header and s not in seen:
                visit(s)
        post.append(b)

    visit(header)
    for pos, b in enumerate(reversed(post)):
        out[b] = pos
    for b in body:
        out.setdefault(b, len(out))
    return out


def _build(fn, header, body, latch, stay, leave, tick_block, iv, bound, cond, step, hoists,
           region_start, region_length, preds, inner_ticks, exit_after, usable, probe,
           probe_cache):
    blocks = fn.block_map()
    next_id = max(b.id for b in fn.blocks) + 1
    new_blocks: list[T.Block] = []

    def block() -> T.Block:
        nonlocal next_id
        blk = T.Block(next_id, [], None)
        next_id += 1
        new_blocks.append(blk)
        return blk

    # the fast copy
    copies = {bid: next_id + k for k, bid in enumerate(sorted(b for b in body
                                                                if b != tick_block))}
    next_id += len(copies)
    hoisted = {id(h.check) for h in hoists}
    fast_blocks = []
    settles: list[T.Block] = []
    budget = blocks[tick_block].ops[0].counter if tick_block is not None else None
    # leaving only through the latch: exactly T back edges, paid up front; else each way
    # out pays what was taken
    precharge = len(exit_after) == 1
    iv_start = fn.new_var("iv0") if budget is not None and not precharge else None
    for bid in [b.id for b in fn.blocks if b.id in copies]:
        src = blocks[bid]
        # inner counted edges become plain decrements: the budget test covers them
        ops = [T.Bin("sub", op.counter, op.counter, Const(1)) if isinstance(op, T.BudgetTick)
               else op.copy() for op in src.ops if id(op) not in hoisted]
        term = src.term.copy()
        for old in set(term.successors()):
            new = copies.get(old)
            if old == tick_block:
                new = copies[header]
            elif new is None and budget is not None and not precharge:
                # leaving the copy: pay the back edges taken so far (k - 1 in iteration k)
                settle = T.Block(next_id, [], T.Jump(old), None)
                next_id += 1
                taken = fn.new_var("taken")
                if step == 1:
                    settle.ops.append(T.Bin("sub", taken, iv[0], iv_start))
                else:
                    settle.ops.append(T.Bin("sub", taken, iv_start, iv[0]))
                if exit_after[(bid, old)]:
                    settle.ops.append(T.Bin("sub", taken, taken, Const(1)))
                settle.ops.append(T.Bin("sub", budget, budget, taken))
                settles.append(settle)
                new = settle.id
            if new is not None:
                term.replace_target(old, new)
        fast_blocks.append(T.Block(copies[bid], ops, term, src.slot))
    fast_blocks += settles
    # the check chain, entered instead of the header from outside the loop
    slow = header
    first = block()
    cur = first

    def new_var(name):
        return fn.new_var(name)

    def bail(cond_name, a, b):
        """Continue in a new block when cond(a, b) is false; else go to the slow loop."""
        nonlocal cur
        nxt = block()
        cur.term = T.Branch(cond_name, a, None, b, None, slow, nxt.id)
        cur = nxt

    trips = new_var("trips")
    (ilo, ihi), (nlo, nhi) = iv, bound
    wide = ihi is not None
    if cond in ("ult", "ugt"):  # entered on the wrong side of the bound: the original loop
        nxt = block()
        cur.term = T.Branch("uge" if cond == "ult" else "ule", ilo, ihi, nlo, nhi, slow,
                            nxt.id)
        cur = nxt
    high, low = (nlo, nhi), (ilo, ihi)  # trips + 1 = high - low
    if step == -1:
        high, low = low, high
    if wide:
        trips_hi = new_var("trips_hi")
        cur.ops.append(T.Sub64(trips, trips_hi, high[0], high[1], low[0], low[1]))
        cur.ops.append(T.Sub64(trips, trips_hi, trips, trips_hi, Const(1), Const(0)))
        bail("ne", trips_hi, Const(0))
    else:
        cur.ops.append(T.Bin("sub", trips, high[0], low[0]))
        cur.ops.append(T.Bin("sub", trips, trips, Const(1)))  # back edges taken
    bail("ugt", trips, Const(MAX_TRIPS))
    if tick_block is not None:
        need = trips
        if inner_ticks:  # at most inner_ticks more per iteration, T + 1 iterations
            need = new_var("need")
            cur.ops.append(T.Bin("mul", need, trips, Const(inner_ticks + 1)))
            cur.ops.append(T.Bin("add", need, need, Const(inner_ticks)))
        bail("ult", budget, need)
    # one range test per pointer: the union of its checks' ranges (a hinted region's, or
    # one probe with every access kind its checks need)
    groups: dict[tuple, list[_Hoist]] = {}
    for h in hoists:
        kind = ("region", h.check.region) if usable(h.check) else ("probe",)
        base_key = ("affine", *h.affine) if h.affine is not None else (
            h.base if h.base is not None else h.check.base)
        groups.setdefault((base_key, h.stride, h.after_step, kind), []).append(h)
    for (base, stride_signed, after_step, kind), members in groups.items():
        if isinstance(base, tuple):  # A + ((counter + adj) << shift) on entry
            _, a, shift, adj = base
            first_val = new_var("first")
            x = iv[0]
            if adj:
                x = new_var("i1")
                cur.ops.append(T.Bin("add", x, iv[0], Const(adj & M32)))
            if shift:
                scaled = new_var("scaled")
                cur.ops.append(T.Bin("shl", scaled, x, Const(shift)))
                x = scaled
            cur.ops.append(T.Bin("add", first_val, a, x))
            base = first_val
        low_off = min(h.check.off for h in members)
        extent = max(h.check.off + h.check.size for h in members) - low_off
        span = new_var("span")
        lo = new_var("lo")
        if stride_signed == 0:
            base_lo = base
            cur.ops.append(T.Mov(span, Const(extent)))
        else:
            first_base = base
            if after_step:
                first_base = new_var("first")
                cur.ops.append(T.Bin("add", first_base, base, Const(stride_signed & M32)))
            moved = new_var("moved")
            stride = abs(stride_signed)
            if stride & (stride - 1) == 0:
                cur.ops.append(T.Bin("shl", moved, trips, Const(stride.bit_length() - 1)))
            else:
                cur.ops.append(T.Bin("mul", moved, trips, Const(stride)))
            cur.ops.append(T.Bin("add", span, moved, Const(extent)))
            if stride_signed > 0:
                base_lo = first_base
            else:
                base_lo = new_var("low")
                cur.ops.append(T.Bin("sub", base_lo, first_base, moved))
        if low_off:
            cur.ops.append(T.Bin("add", lo, base_lo, Const(low_off & M32)))
        else:
            lo = base_lo
        t = new_var("t")
        if kind[0] == "region":
            cur.ops.append(T.Bin("sub", t, lo, region_start(kind[1])))
            length = region_length(kind[1])
        else:  # no usable hint: ask the region table where lo is (a region nothing earlier
            # overlaps, allowing every access kind), as the slow path of a cached check does
            # (through a cache of the last region vouched for, so a loop entered again
            # and again scans the table once)
            need = {a for h in members for a in h.check.access}
            start, length = probe_cache()
            hit = new_var("t")
            cur.ops.append(T.Bin("sub", hit, lo, start))
            scan, join = block(), block()
            cur.term = T.Branch("ult", hit, None, length, None, join.id, scan.id)
            scan.ops.append(probe(start, length, lo, "rw" if need == {"r", "w"} else
                                  next(iter(need))))
            scan.term = T.Jump(join.id)
            cur = join
            cur.ops.append(T.Bin("sub", t, lo, start))
        bail("ugt", span, length)  # longer than the region (or no region: length 0)
        room = new_var("room")
        cur.ops.append(T.Bin("sub", room, length, span))
        bail("ugt", t, room)
    if tick_block is not None:
        if precharge:
            cur.ops.append(T.Bin("sub", budget, budget, trips))
        else:
            cur.ops.append(T.Mov(iv_start, iv[0]))
    cur.term = T.Jump(copies[header])
    # redirect the loop's entries to the chain
    for p in preds[header]:
        if p in body:
            continue
        blocks[p].term.replace_target(header, first.id)
    # layout: [entry ticks of the header] [check chain] [fast loop] [back-edge tick] [header]
    # so that the entry ticks fall into the chain and the original back edge still falls
    # into the header
    position = next(i for i, b in enumerate(fn.blocks) if b.id == header)
    run_start = position
    while run_start > 0 and _is_tick_to(fn.blocks[run_start - 1], header):
        run_start -= 1
    run = fn.blocks[run_start:position]
    entry_ticks = [b for b in run if b.id not in body]
    back_ticks = [b for b in run if b.id in body]
    fn.blocks[run_start:position] = entry_ticks + new_blocks + fast_blocks + back_ticks


def _is_tick_to(block: T.Block, target: int) -> bool:
    return (len(block.ops) == 1 and isinstance(block.ops[0], T.BudgetTick)
            and isinstance(block.term, T.Jump) and block.term.target == target)
