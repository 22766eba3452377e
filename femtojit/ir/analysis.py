"""Target-independent analyses: CFG helpers, dominators, loop depth, liveness, union-find.

Classic iterative dataflow over the CFG (the IR is not SSA). Variable sets are Python ints
used as bitsets (bit n = variable n), which keeps liveness fast on programs of a few
thousand ops without any extra dependency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from femtojit.ir.types import Function, LocalCall, Op, PushFrame, Return, Term


def successors(fn: Function) -> dict[int, list[int]]:
    """CFG successors of every block (a Return lists every return site it may go to)."""
    return {b.id: b.successors() for b in fn.blocks}


def predecessors(fn: Function) -> dict[int, list[int]]:
    """CFG predecessors of every block, in layout order of the predecessor, no duplicates."""
    preds: dict[int, list[int]] = {b.id: [] for b in fn.blocks}
    for block in fn.blocks:
        for succ in block.successors():
            if succ in preds and block.id not in preds[succ]:
                preds[succ].append(block.id)
    return preds


def reachable_blocks(fn: Function) -> set[int]:
    """Blocks reachable from the entry. A Return only reaches the return sites pushed by a
    reachable PushFrame (so a dead local call does not keep its return block alive)."""
    blocks = fn.block_map()
    seen: set[int] = set()
    pushed: set[int] = set()
    returns: list[Return] = []
    work = [fn.blocks[0].id]
    while work:
        bid = work.pop()
        if bid in seen:
            continue
        seen.add(bid)
        block = blocks[bid]
        for op in block.ops:
            if isinstance(op, PushFrame) and op.site not in pushed:
                pushed.add(op.site)
                if returns:  # a Return seen earlier may now go there
                    work.append(op.site)
        term = block.term
        if isinstance(term, Return):
            returns.append(term)
            work.extend(s for s in term.sites if s in pushed)
        elif term is not None:
            work.extend(term.successors())
    return seen


def reverse_postorder(fn: Function) -> list[int]:
    """Reachable block ids in reverse postorder of a depth-first walk from the entry
    (successors visited in their listed order, so the result is deterministic)."""
    blocks = fn.block_map()
    order: list[int] = []
    seen: set[int] = set()
    entry = fn.blocks[0].id
    stack: list[tuple[int, int]] = [(entry, 0)]
    seen.add(entry)
    while stack:
        bid, i = stack[-1]
        succs = blocks[bid].successors()
        if i < len(succs):
            stack[-1] = (bid, i + 1)
            nxt = succs[i]
            if nxt not in seen and nxt in blocks:
                seen.add(nxt)
                stack.append((nxt, 0))
        else:
            stack.pop()
            order.append(bid)
    order.reverse()
    return order


def immediate_dominators(fn: Function) -> dict[int, int]:
    """idom of every reachable block (the entry maps to itself), by Cooper, Harvey and
    Kennedy's iterative algorithm."""
    rpo = reverse_postorder(fn)
    index = {b: i for i, b in enumerate(rpo)}
    preds = predecessors(fn)
    entry = rpo[0]
    idom: dict[int, int] = {entry: entry}

    def intersect(a: int, b: int) -> int:
        while a != b:
            while index[a] > index[b]:
                a = idom[a]
            while index[b] > index[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for bid in rpo[1:]:
            candidates = [p for p in preds[bid] if p in idom]
            if not candidates:
                continue
            new = candidates[0]
            for p in candidates[1:]:
                new = intersect(p, new)
            if idom.get(bid) != new:
                idom[bid] = new
                changed = True
    return idom


def dominates(idom: dict[int, int], a: int, b: int) -> bool:
    """True if block a dominates block b."""
    while True:
        if a == b:
            return True
        parent = idom.get(b)
        if parent is None or parent == b:
            return False
        b = parent


def natural_loops(fn: Function) -> dict[int, set[int]]:
    """Loop header -> blocks of its natural loop (all back edges to a header merged).
    Back edges are edges to a dominator; irreducible cycles are not loops here."""
    idom = immediate_dominators(fn)
    preds = predecessors(fn)
    loops: dict[int, set[int]] = {}
    for block in fn.blocks:
        if block.id not in idom:
            continue
        for succ in block.successors():
            if succ in idom and dominates(idom, succ, block.id):
                body = loops.setdefault(succ, {succ})
                work = [block.id]
                while work:
                    b = work.pop()
                    if b in body:
                        continue
                    body.add(b)
                    work.extend(p for p in preds[b] if p in idom)
    return loops


def loop_depth(fn: Function) -> dict[int, int]:
    """Number of natural loops containing each block (0 outside loops and for unreachable
    blocks)."""
    depth = {b.id: 0 for b in fn.blocks}
    for body in natural_loops(fn).values():
        for b in body:
            depth[b] += 1
    return depth


def block_weights(fn: Function, base: int = 8, cap: int = 6) -> dict[int, int]:
    """Static execution-frequency estimate: base ** loop depth (depth capped)."""
    return {b: base ** min(d, cap) for b, d in loop_depth(fn).items()}


# --------------------------------------------------------------------------------------------
# Liveness


def _mask(vars_) -> int:
    m = 0
    for v in vars_:
        m |= 1 << v.n
    return m


def op_use_mask(node: Op | Term) -> int:
    return _mask(node.uses())


def op_def_mask(node: Op | Term) -> int:
    return _mask(node.defs())


def bits(mask: int) -> list[int]:
    """Variable numbers in a bitset, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


@dataclass
class Liveness:
    """live_in / live_out bitsets per block id."""

    fn: Function
    live_in: dict[int, int]
    live_out: dict[int, int]

    def op_live_out(self, block_id: int) -> list[int]:
        """For each op of the block, the variables live right after it; one more entry at
        the end for what is live after the terminator (= live_out)."""
        block = self.fn.block_map()[block_id]
        return self._walk(block)

    def _walk(self, block) -> list[int]:
        live = self.live_out[block.id]
        out = [0] * (len(block.ops) + 1)
        out[-1] = live
        if block.term is not None:
            live |= op_use_mask(block.term)
        for i in range(len(block.ops) - 1, -1, -1):
            out[i] = live
            op = block.ops[i]
            live = (live & ~op_def_mask(op)) | op_use_mask(op)
        return out

    def all_op_live_out(self) -> dict[int, list[int]]:
        return {b.id: self._walk(b) for b in self.fn.blocks}

    def live_before_term(self, block_id: int) -> int:
        block = self.fn.block_map()[block_id]
        live = self.live_out[block_id]
        if block.term is not None:
            live |= op_use_mask(block.term)
        return live


def liveness(fn: Function) -> Liveness:
    """Backward dataflow: a variable is live if some path reads it before writing it."""
    use: dict[int, int] = {}
    kill: dict[int, int] = {}
    succs: dict[int, list[int]] = {}
    for block in fn.blocks:
        u = 0
        k = 0
        for op in block.ops:
            u |= op_use_mask(op) & ~k
            k |= op_def_mask(op)
        if block.term is not None:
            u |= op_use_mask(block.term) & ~k
        use[block.id] = u
        kill[block.id] = k
        succs[block.id] = block.successors()
    live_in = {b.id: 0 for b in fn.blocks}
    live_out = {b.id: 0 for b in fn.blocks}
    order = [b.id for b in reversed(fn.blocks)]
    changed = True
    while changed:
        changed = False
        for bid in order:
            out = 0
            for s in succs[bid]:
                out |= live_in.get(s, 0)
            new_in = use[bid] | (out & ~kill[bid])
            if out != live_out[bid] or new_in != live_in[bid]:
                live_out[bid] = out
                live_in[bid] = new_in
                changed = True
    return Liveness(fn, live_in, live_out)


def local_call_targets(fn: Function) -> set[int]:
    """Blocks entered by a LocalCall (callee entry points)."""
    return {b.term.target for b in fn.blocks if isinstance(b.term, LocalCall)}


def return_sites(fn: Function) -> set[int]:
    """Blocks entered through a Return (they start with PopFrame)."""
    return {op.site for _, _, op in fn.ops() if isinstance(op, PushFrame)}


# --------------------------------------------------------------------------------------------
# Reaching definitions


@dataclass
class ReachingDefs:
    """Reaching definitions as bitsets over definition ids.

    Every (op, written variable) is a definition, numbered in layout order; ids from
    `n_real` on are one "undefined at entry" pseudo-definition per variable (id n_real + v).
    """

    fn: Function
    def_var: list[int]
    op_defs: dict[int, list[list[int]]]  # block id -> per op: its definition ids
    n_real: int
    defs_of_var: list[int]
    reach_in: dict[int, int]

    def walk(self, block):
        """(op index, op, definitions reaching just before it, its definition ids) for each
        op, then (len(ops), terminator, reaching before it, [])."""
        r = self.reach_in[block.id]
        for i, (op, ids) in enumerate(zip(block.ops, self.op_defs[block.id])):
            yield i, op, r, ids
            for d in ids:
                r &= ~self.defs_of_var[self.def_var[d]]
            for d in ids:
                r |= 1 << d
        yield len(block.ops), block.term, r, []

    def reaching(self, reaching: int, var: int) -> list[int]:
        """Definition ids of `var` in a reaching set."""
        return bits(reaching & self.defs_of_var[var])


def reaching_definitions(fn: Function) -> ReachingDefs:
    def_var: list[int] = []
    op_defs: dict[int, list[list[int]]] = {}
    for block in fn.blocks:
        per_op = []
        for op in block.ops:
            ids = []
            for d in op.defs():
                ids.append(len(def_var))
                def_var.append(d.n)
            per_op.append(ids)
        op_defs[block.id] = per_op
    n_real = len(def_var)
    def_var.extend(range(fn.num_vars))
    defs_of_var = [0] * fn.num_vars
    for i, v in enumerate(def_var):
        defs_of_var[v] |= 1 << i
    gen: dict[int, int] = {}
    kill: dict[int, int] = {}
    for block in fn.blocks:
        g = k = 0
        for ids in op_defs[block.id]:
            for i in ids:
                v = def_var[i]
                g = (g & ~defs_of_var[v]) | (1 << i)
                k |= defs_of_var[v]
        gen[block.id] = g
        kill[block.id] = k
    preds = predecessors(fn)
    entry = fn.blocks[0].id
    entry_in = 0
    for v in range(fn.num_vars):
        entry_in |= 1 << (n_real + v)
    reach_in = {b.id: 0 for b in fn.blocks}
    reach_out = {b.id: 0 for b in fn.blocks}
    changed = True
    while changed:
        changed = False
        for block in fn.blocks:
            bid = block.id
            r = entry_in if bid == entry else 0
            for p in preds[bid]:
                r |= reach_out[p]
            out = gen[bid] | (r & ~kill[bid])
            if r != reach_in[bid] or out != reach_out[bid]:
                reach_in[bid], reach_out[bid] = r, out
                changed = True
    return ReachingDefs(fn, def_var, op_defs, n_real, defs_of_var, reach_in)


class UnionFind:
    """Disjoint sets of ints (path halving). Of two roots the smaller becomes the root of the
    union, so a set is always named by its smallest member and results stay deterministic
    (webs number renamed variables by it; the allocator coalesces into it)."""

    def __init__(self, elements: Iterable[int]):
        self.parent = {x: x for x in elements}

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> int:
        """Join the sets of a and b; returns the root of the union."""
        ra, rb = self.find(a), self.find(b)
        keep, gone = (ra, rb) if ra < rb else (rb, ra)
        self.parent[gone] = keep
        return keep
