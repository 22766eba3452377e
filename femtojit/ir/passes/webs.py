"""Webs: give every independent live range of a variable its own variable.

eBPF code reuses registers for unrelated values (r1 is the ctx pointer, later a loop
counter, later a helper argument). Each such value is a separate *web*: the definitions
connected through the uses they reach (reaching definitions + union-find). Renaming webs
apart lets the register allocator place each one separately, which matters with 8
registers. The first web of a variable (in layout order) keeps its number; the others get
new variables whose `Function.var_origin` records where they came from. Semantics are
unchanged: it is a pure renaming.
"""

from __future__ import annotations

from femtojit.ir import types as T
from femtojit.ir.analysis import bits, predecessors
from femtojit.ir.types import Var


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def _inout_vars(node) -> set[int]:
    """Variables a node reads and writes through the same field (BudgetTick's counter):
    their use and def must stay in one web."""
    both = set(node.DEFS) & set(node.USES)
    out = set()
    for name in both:
        value = getattr(node, name)
        if isinstance(value, Var):
            out.add(value.n)
    return out


def run(fn: T.Function) -> T.Function:
    """Rename fn's variables web by web, in place; returns it."""
    # number every definition: (block index, op index, var)
    def_var: list[int] = []
    block_defs: list[list[list[int]]] = []  # per block, per op: def ids
    for block in fn.blocks:
        per_op = []
        for op in block.ops:
            ids = []
            for d in op.defs():
                ids.append(len(def_var))
                def_var.append(d.n)
            per_op.append(ids)
        block_defs.append(per_op)
    n_real = len(def_var)
    num_vars = fn.num_vars
    pseudo = [n_real + v for v in range(num_vars)]  # "undefined at entry" per variable
    def_var.extend(range(num_vars))
    defs_of_var = [0] * num_vars
    for i, v in enumerate(def_var):
        defs_of_var[v] |= 1 << i

    # reaching definitions
    index = {b.id: i for i, b in enumerate(fn.blocks)}
    gen, kill = [], []
    for bi in range(len(fn.blocks)):
        g = k = 0
        for ids in block_defs[bi]:
            for i in ids:
                v = def_var[i]
                g = (g & ~defs_of_var[v]) | (1 << i)
                k |= defs_of_var[v]
        gen.append(g)
        kill.append(k)
    preds = predecessors(fn)
    entry_in = 0
    for p in pseudo:
        entry_in |= 1 << p
    reach_in = [0] * len(fn.blocks)
    reach_out = [0] * len(fn.blocks)
    changed = True
    while changed:
        changed = False
        for bi, block in enumerate(fn.blocks):
            r = entry_in if bi == 0 else 0
            for p in preds[block.id]:
                r |= reach_out[index[p]]
            out = gen[bi] | (r & ~kill[bi])
            if r != reach_in[bi] or out != reach_out[bi]:
                reach_in[bi], reach_out[bi] = r, out
                changed = True

    # union the definitions reaching each use
    uf = _UnionFind(len(def_var))
    used_pseudo: set[int] = set()

    def join_use(reaching: int, v: int) -> None:
        ids = bits(reaching & defs_of_var[v])
        for i in ids[1:]:
            uf.union(ids[0], i)
        used_pseudo.update(i for i in ids if i >= n_real)

    for bi, block in enumerate(fn.blocks):
        r = reach_in[bi]
        for op, ids in zip(block.ops, block_defs[bi]):
            for u in op.uses():
                join_use(r, u.n)
            inout = _inout_vars(op)
            for i in ids:
                v = def_var[i]
                if v in inout:
                    for j in bits(r & defs_of_var[v]):
                        uf.union(i, j)
            for i in ids:
                r &= ~defs_of_var[def_var[i]]
            for i in ids:
                r |= 1 << i
        if block.term is not None:
            for u in block.term.uses():
                join_use(r, u.n)

    # name the webs: per variable, the web with the earliest definition keeps the number
    webs_of_var: dict[int, list[int]] = {}
    for i in range(len(def_var)):
        if i >= n_real and i not in used_pseudo:
            continue
        root = uf.find(i)
        lst = webs_of_var.setdefault(def_var[i], [])
        if root not in lst:
            lst.append(root)
    name_of_root: dict[int, int] = {}
    for v in sorted(webs_of_var):
        roots = sorted(webs_of_var[v])
        name_of_root[roots[0]] = v
        for root in roots[1:]:
            new = fn.new_var().n
            fn.var_origin[new] = fn.var_origin.get(v, v)
            name_of_root[root] = new

    # rewrite
    for bi, block in enumerate(fn.blocks):
        r = reach_in[bi]

        def rename_use(o, reaching):
            if not isinstance(o, Var):
                return o
            ids = bits(reaching & defs_of_var[o.n])
            return Var(name_of_root[uf.find(ids[0])]) if ids else o

        for op, ids in zip(block.ops, block_defs[bi]):
            reaching = r
            op.replace_uses(lambda o, reaching=reaching: rename_use(o, reaching))
            it = iter(ids)
            op.replace_defs(lambda d, it=it: Var(name_of_root[uf.find(next(it))]))
            for i in ids:
                r &= ~defs_of_var[def_var[i]]
            for i in ids:
                r |= 1 << i
        if block.term is not None:
            block.term.replace_uses(lambda o, reaching=r: rename_use(o, reaching))
    return fn
