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
    """True if a fact refers to variable n (facts are ints, Vars, or tuples whose Var
    elements are the variables they refer to)."""
    if type(fact) is Var:
        return fact.n == n
    if type(fact) is tuple:
        return any(type(part) is Var and part.n == n for part in fact)
    return False


def kill(state: State, n: int) -> None:
    """Variable n is about to be redefined: forget its fact and every fact mentioning it."""
    state.pop(n, None)
    stale = [k for k, fact in state.items() if mentions(fact, n)]
    for k in stale:
        del state[k]


def _prune(state: State, live: int) -> State:
    """Only the facts about variables live here (dropping facts is always sound; it keeps
    states, and the cost of `kill`, proportional to what is live, not to the function)."""
    return {k: f for k, f in state.items() if (live >> k) & 1}


def forward(
    fn: Function,
    transfer: Callable[[Block, State], State],
    meet: Callable[[list[State]], State] = meet_equal,
    feasible: Callable[[Block, State], list[int]] | None = None,
    edge: Callable[[Block, int, State], State] | None = None,
    widen: Callable[[State, State], State] = lambda old, new: meet_equal([old, new]),
) -> dict[int, State]:
    """In-state of every block reached from the entry (the entry starts with no facts).

    transfer(block, in_state) -> out_state (must not modify in_state). feasible(block,
    out_state) -> the successors control can really take (default: all), which gives
    conditional propagation: a block reached only through infeasible edges stays unreached
    and is absent from the result. edge(block, successor, out_state) -> the state on that
    edge (default: out_state), for facts a branch condition proves on one side.
    When a block is reached again, its new in-state is widen(previous, new), which must only
    drop or weaken facts and must not weaken any fact more than finitely often (the default
    drops every fact that changed), so this terminates.
    """
    from femtojit.ir.analysis import liveness

    live_in = liveness(fn).live_in
    blocks = fn.block_map()
    rpo = reverse_postorder(fn)
    rank = {b: i for i, b in enumerate(rpo)}
    preds = predecessors(fn)
    entry = fn.blocks[0].id
    live_edges: set[tuple[int, int]] = set()
    edge_state: dict[tuple[int, int], State] = {}
    in_state: dict[int, State] = {}
    pending = {entry}
    while pending:
        bid = min(pending, key=lambda b: rank.get(b, len(rank) + b))
        pending.discard(bid)
        block = blocks[bid]
        incoming = [edge_state[(p, bid)] for p in preds[bid] if (p, bid) in live_edges]
        if bid == entry:
            incoming.append({})
        if not incoming:
            continue
        state = meet(incoming) if len(incoming) > 1 else dict(incoming[0])
        state = _prune(state, live_in[bid])
        if bid in in_state:
            state = widen(in_state[bid], state)
            if state == in_state[bid]:
                continue
        in_state[bid] = state
        out = transfer(block, state)
        succs = feasible(block, out) if feasible else block.successors()
        for s in succs:
            if s not in blocks:
                continue
            live_edges.add((bid, s))
            edge_state[(bid, s)] = edge(block, s, out) if edge else out
            pending.add(s)
    return in_state
