"""A generic register allocator for the 32-bit IR: every backend uses it with its own
register list.

    allocate(fn, registers, *, weights=None, precolored=None, call_clobbered=(),
             call_ops=(Call, CallX)) -> Allocation

Method (priority-based colouring, after Chow and Hennessy):

1. Liveness per op; the interference graph: each result interferes with what is live after
   its op (a Mov's result not with its source). The results of an op with several results
   (pair ops, calls, PopFrame) also interfere with each other and with every input of the
   op, so a backend may write them in any order.
2. Conservative (Briggs) coalescing of Mov-related variables that do not interfere, hottest
   moves first: a coalesced move becomes a self-move the backend skips.
3. Priority = loop-weighted count of defs and uses (a block's weight is 8 ** loop depth,
   or `weights[block id]` when given). Precoloured variables first, then by priority:
   each takes a free register, preferring the register of a Mov partner (biased
   colouring), else the first free one in `registers` order; when none is free it is
   spilled to a 4-byte frame slot. Spill slots are shared between variables that do not
   interfere. Ties break on variable number: the output is deterministic.

Caller-saved policy: a variable live across a call op (a live-out of the op that the op
does not define) never gets a register in `call_clobbered`, so a backend needs no
save/restore code around calls. With a register list that is all callee-saved (Thumb
r4-r11) nothing changes; with RV32's 27 the variables live across calls go to s0-s11.
Backends that expand other ops into calls (a 64-bit division routine) add them to
`call_ops`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from femtojit.ir import types as T
from femtojit.ir.analysis import UnionFind, bits, block_weights, liveness

Register = Hashable


@dataclass
class Allocation:
    """Where each variable lives: a register, or a spill slot (index of a 4-byte word in
    the frame's spill area). Variables that never occur have no location."""

    registers: dict[int, Register] = field(default_factory=dict)
    slots: dict[int, int] = field(default_factory=dict)
    num_slots: int = 0
    used_registers: list = field(default_factory=list)
    live_across_calls: set[int] = field(default_factory=set)
    priority: dict[int, float] = field(default_factory=dict)

    def location(self, var: T.Var | int) -> tuple[str, object]:
        """("reg", register) or ("slot", index); KeyError for a variable not allocated."""
        n = var.n if isinstance(var, T.Var) else var
        if n in self.registers:
            return ("reg", self.registers[n])
        return ("slot", self.slots[n])

    def is_spilled(self, var: T.Var | int) -> bool:
        n = var.n if isinstance(var, T.Var) else var
        return n in self.slots


class InterferenceGraph:
    """Undirected graph over variable numbers, plus the Mov pairs and per-variable facts
    the allocator needs."""

    def __init__(self):
        self.adj: dict[int, set[int]] = {}
        self.moves: list[tuple[float, int, int]] = []  # (weight, dst, src)
        self.across_calls: set[int] = set()
        self.weight: dict[int, float] = {}

    def add_node(self, v: int) -> None:
        self.adj.setdefault(v, set())

    def add_edge(self, a: int, b: int) -> None:
        if a != b:
            self.adj.setdefault(a, set()).add(b)
            self.adj.setdefault(b, set()).add(a)

    def interferes(self, a: int, b: int) -> bool:
        return b in self.adj.get(a, ())


def interference(
    fn: T.Function,
    *,
    weights: dict[int, float] | None = None,
    call_ops: tuple[type, ...] = (T.Call, T.CallX),
) -> InterferenceGraph:
    """The interference graph of fn (every block, reachable or not, so every variable a
    backend may meet gets a location; see the module docstring)."""
    graph = InterferenceGraph()
    live = liveness(fn)
    block_weight = dict(block_weights(fn))
    if weights:
        block_weight.update(weights)
    for block in fn.blocks:
        w = block_weight.get(block.id, 1)
        after = live.op_live_out(block.id)
        for i, op in enumerate(block.ops):
            defs = [d.n for d in op.defs()]
            uses = [u.n for u in op.uses()]
            for v in defs + uses:
                graph.add_node(v)
                graph.weight[v] = graph.weight.get(v, 0) + w
            live_after = bits(after[i])
            source = op.a.n if isinstance(op, T.Mov) and isinstance(op.a, T.Var) else None
            for d in defs:
                for v in live_after:
                    if v != d and v != source:
                        graph.add_edge(d, v)
            if len(defs) > 1:
                for j, d in enumerate(defs):
                    for e in defs[j + 1:]:
                        graph.add_edge(d, e)
                    for u in uses:
                        graph.add_edge(d, u)
            if source is not None and source != defs[0]:
                graph.moves.append((w, defs[0], source))
            if isinstance(op, call_ops):
                graph.across_calls.update(v for v in live_after if v not in defs)
        if block.term is not None:
            for u in block.term.uses():
                graph.add_node(u.n)
                graph.weight[u.n] = graph.weight.get(u.n, 0) + w
    entry_live = bits(live.live_in[fn.blocks[0].id])
    for j, a in enumerate(entry_live):  # read before any write: all alive together
        graph.add_node(a)
        for b in entry_live[j + 1:]:
            graph.add_edge(a, b)
    return graph


class _Nodes(UnionFind):
    """Union-find of coalesced variables with merged adjacency."""

    def __init__(self, graph: InterferenceGraph):
        super().__init__(graph.adj)
        self.adj = {v: set(n) for v, n in graph.adj.items()}
        self.members = {v: [v] for v in graph.adj}

    def merge(self, a: int, b: int) -> int:
        """Merge the nodes of roots a and b (the smaller keeps its name); returns the root."""
        keep = self.union(a, b)
        gone = b if keep == a else a
        self.members[keep] += self.members.pop(gone)
        for n in self.adj.pop(gone):
            self.adj[n].discard(gone)
            if n != keep:
                self.adj[n].add(keep)
                self.adj[keep].add(n)
        return keep


def allocate(
    fn: T.Function,
    registers: Sequence[Register],
    *,
    weights: dict[int, float] | None = None,
    precolored: dict[int, Register] | None = None,
    call_clobbered: Sequence[Register] | set = (),
    call_ops: tuple[type, ...] = (T.Call, T.CallX),
) -> Allocation:
    """Colour fn's variables with `registers` (in order of preference) and spill the rest.

    weights: block id -> execution-frequency estimate, replacing 8 ** loop depth.
    precolored: variable -> register it must get (it must be in `registers`).
    call_clobbered: registers a call op destroys; never given to a variable live across one.
    """
    registers = list(registers)
    if len(set(registers)) != len(registers):
        raise ValueError("allocate: duplicate registers in the list")
    clobbered = set(call_clobbered)
    precolored = dict(precolored or {})
    for reg in precolored.values():
        if reg not in registers:
            raise ValueError(f"allocate: precoloured register {reg!r} is not allocatable")
    graph = interference(fn, weights=weights, call_ops=call_ops)
    for v in precolored:
        graph.add_node(v)
    nodes = _Nodes(graph)
    pre_of: dict[int, Register] = {v: precolored[v] for v in precolored if v in nodes.parent}
    across = {v: v in graph.across_calls for v in nodes.parent}
    k_all = len(registers)
    k_safe = len([r for r in registers if r not in clobbered])

    def k_of(root: int) -> int:
        return k_safe if across[root] else k_all

    # Conservative coalescing (Briggs), hottest moves first.
    for _, d, s in sorted(graph.moves, key=lambda m: (-m[0], m[1], m[2])):
        a, b = nodes.find(d), nodes.find(s)
        if a == b or b in nodes.adj[a]:
            continue
        pa, pb = pre_of.get(a), pre_of.get(b)
        if pa is not None and pb is not None and pa != pb:
            continue
        pre = pa if pa is not None else pb
        is_across = across[a] or across[b]
        if pre is not None and is_across and pre in clobbered:
            continue
        if pre is not None and any(pre_of.get(n) == pre for n in nodes.adj[a] | nodes.adj[b]):
            continue
        k = k_safe if is_across else k_all
        neighbours = nodes.adj[a] | nodes.adj[b]
        significant = sum(1 for n in neighbours if len(nodes.adj[n]) >= k)
        if significant >= k:
            continue
        root = nodes.merge(a, b)
        across[root] = is_across
        if pre is not None:
            pre_of[root] = pre

    roots = sorted({nodes.find(v) for v in nodes.parent})
    priority = {r: sum(graph.weight.get(m, 0) for m in nodes.members[r]) for r in roots}
    partners: dict[int, list[tuple[float, int]]] = {r: [] for r in roots}
    for w, d, s in graph.moves:
        a, b = nodes.find(d), nodes.find(s)
        if a != b:
            partners[a].append((w, b))
            partners[b].append((w, a))
    order = sorted(roots, key=lambda r: (r not in pre_of, -priority[r], r))
    color: dict[int, Register] = {}
    spilled: list[int] = []
    for r in order:
        taken = {color[n] for n in nodes.adj[r] if n in color}
        if r in pre_of:
            if pre_of[r] in taken:
                raise ValueError(f"allocate: precoloured variables interfere on {pre_of[r]!r}")
            color[r] = pre_of[r]
            continue
        free = [x for x in registers if x not in taken and not (across[r] and x in clobbered)]
        if not free:
            spilled.append(r)
            continue
        choice = free[0]
        for _, p in sorted(partners[r], key=lambda x: (-x[0], x[1])):
            if p in color and color[p] in free:
                choice = color[p]
                break
        color[r] = choice

    slot_of: dict[int, int] = {}
    for r in spilled:  # already in priority order
        busy = {slot_of[n] for n in nodes.adj[r] if n in slot_of}
        slot = 0
        while slot in busy:
            slot += 1
        slot_of[r] = slot

    out = Allocation()
    for v in sorted(nodes.parent):
        r = nodes.find(v)
        if r in color:
            out.registers[v] = color[r]
        else:
            out.slots[v] = slot_of[r]
        out.priority[v] = priority[r]
    out.num_slots = max(slot_of.values(), default=-1) + 1
    used = set(out.registers.values())
    out.used_registers = [x for x in registers if x in used]
    out.live_across_calls = set(graph.across_calls)
    return out


def check_allocation(
    fn: T.Function,
    allocation: Allocation,
    call_clobbered: Sequence[Register] | set = (),
    call_ops: tuple[type, ...] = (T.Call, T.CallX),
) -> list[str]:
    """Problems with an allocation (empty when it is sound): interfering variables sharing
    a register or slot, a variable live across a call in a clobbered register, a variable
    without a location."""
    graph = interference(fn, call_ops=call_ops)
    problems = []
    for a in sorted(graph.adj):
        if a not in allocation.registers and a not in allocation.slots:
            problems.append(f"{fn.var_name(a)} has no location")
            continue
        for b in sorted(graph.adj[a]):
            if b <= a or (b not in allocation.registers and b not in allocation.slots):
                continue
            if allocation.location(a) == allocation.location(b):
                problems.append(f"{fn.var_name(a)} and {fn.var_name(b)} interfere but share "
                                f"{allocation.location(a)}")
    for v in sorted(graph.across_calls):
        if allocation.registers.get(v) in set(call_clobbered):
            problems.append(f"{fn.var_name(v)} is live across a call in a clobbered register")
    return problems
