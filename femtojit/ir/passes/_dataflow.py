"""Forward dataflow over per-variable facts, shared by the constants, widths and provenance
passes.

A state is a dict {variable number: fact}; a missing variable has no fact ("anything").
Facts may mention other variables (a copy of v, the sign of v): `kill` drops every fact that
mentions a variable being redefined, so facts stay true in this non-SSA IR.
"""

from __future__ import annotations

from collections.abc import Callable

from femtojit.ir.analysis import predecessors, reverse_postorder
from femtojit.ir.types import Block, Function, Var

State = dict


def meet_equal(states: list[State]) -> State:
    """Keep the facts every incoming state agrees on."""
    first, *rest = states
    out = {}
    for var, fact in first.items():
        if all(s.get(var, _MISSING) == fact for s in rest):
            out[var] = fact
    return out


_MISSING = object()


def mentions(fact, n: int) -> bool:
    """True if a fact refers to variable n (facts are ints, Vars or tuples of those)."""
    if isinstance(fact, Var):
        return fact.n == n
    if isinstance(fact, tuple):
        return any(mentions(part, n) for part in fact)
    return False


def kill(state: State, n: int) -> None:
    """Variable n is about to be redefined: forget its fact and every fact mentioning it."""
    state.pop(n, None)
    stale = [k for k, fact in state.items() if mentions(fact, n)]
    for k in stale:
        del state[k]


def forward(
    fn: Function,
    transfer: Callable[[Block, State], State],
    meet: Callable[[list[State]], State] = meet_equal,
    feasible: Callable[[Block, State], list[int]] | None = None,
) -> dict[int, State]:
    """In-state of every block reached from the entry (the entry starts with no facts).

    transfer(block, in_state) -> out_state (must not modify in_state). feasible(block,
    out_state) -> the successors control can really take (default: all), which gives
    conditional propagation: a block reached only through infeasible edges stays unreached
    and is absent from the result. A block's in-state only ever loses facts (each update is
    met with the previous one), so this terminates.
    """
    blocks = fn.block_map()
    rpo = reverse_postorder(fn)
    rank = {b: i for i, b in enumerate(rpo)}
    preds = predecessors(fn)
    entry = fn.blocks[0].id
    live_edges: set[tuple[int, int]] = set()
    out_state: dict[int, State] = {}
    in_state: dict[int, State] = {}
    pending = {entry}
    while pending:
        bid = min(pending, key=lambda b: rank.get(b, len(rank) + b))
        pending.discard(bid)
        block = blocks[bid]
        incoming = [out_state[p] for p in preds[bid] if (p, bid) in live_edges]
        if bid == entry:
            incoming.append({})
        if not incoming:
            continue
        state = meet(incoming) if len(incoming) > 1 else dict(incoming[0])
        if bid in in_state:
            # only ever lose facts: a fact that changed into another one is dropped, which
            # is conservative and makes the iteration terminate whatever the transfer does
            state = meet([in_state[bid], state])
            if state == in_state[bid]:
                continue
        in_state[bid] = state
        out = transfer(block, state)
        out_state[bid] = out
        succs = feasible(block, out) if feasible else block.successors()
        for s in succs:
            if s not in blocks:
                continue
            live_edges.add((bid, s))
            pending.add(s)
    return in_state
