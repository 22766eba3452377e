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
from femtojit.ir.analysis import UnionFind, reaching_definitions
from femtojit.ir.types import Var


def inout_vars(node) -> set[int]:
    """Variables a node reads and writes through the same field (BudgetTick's counter):
    their use and def must stay in one web."""
    out = set()
    for name in set(node.DEFS) & set(node.USES):
        value = getattr(node, name)
        if isinstance(value, Var):
            out.add(value.n)
    return out


def run(fn: T.Function) -> T.Function:
    """Rename fn's variables web by web, in place; returns it."""
    rd = reaching_definitions(fn)
    uf = UnionFind(range(len(rd.def_var)))
    used_pseudo: set[int] = set()

    # union the definitions reaching each use
    for block in fn.blocks:
        for _, node, reaching, ids in rd.walk(block):
            if node is None:
                continue
            for u in node.uses():
                found = rd.reaching(reaching, u.n)
                for i in found[1:]:
                    uf.union(found[0], i)
                used_pseudo.update(i for i in found if i >= rd.n_real)
            inout = inout_vars(node)
            for i in ids:
                if rd.def_var[i] in inout:
                    for j in rd.reaching(reaching, rd.def_var[i]):
                        uf.union(i, j)

    # name the webs: per variable, the web with the earliest definition keeps the number
    webs_of_var: dict[int, set[int]] = {}
    for i, v in enumerate(rd.def_var):
        if i >= rd.n_real and i not in used_pseudo:
            continue
        webs_of_var.setdefault(v, set()).add(uf.find(i))
    name_of_root: dict[int, int] = {}
    for v in sorted(webs_of_var):
        roots = sorted(webs_of_var[v])
        name_of_root[roots[0]] = v
        for root in roots[1:]:
            new = fn.new_var().n
            fn.var_origin[new] = fn.var_origin.get(v, v)
            name_of_root[root] = new

    def rename_use(o, reaching):
        if not isinstance(o, Var):
            return o
        found = rd.reaching(reaching, o.n)
        return Var(name_of_root[uf.find(found[0])]) if found else o

    for block in fn.blocks:
        for _, node, reaching, ids in list(rd.walk(block)):
            if node is None:
                continue
            node.replace_uses(lambda o, r=reaching: rename_use(o, r))
            it = iter(ids)
            node.replace_defs(lambda d, it=it: Var(name_of_root[uf.find(next(it))]))
    return fn
