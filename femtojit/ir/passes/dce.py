"""Dead-code elimination and CFG clean-up.

- removes blocks unreachable from the entry (and return sites no live local call pushes);
- removes ops without side effects whose results are never needed, and self-moves
  ("needed" is transitive from side effects and terminators over reaching definitions, so
  a value that only feeds itself around a loop goes too, not only values that are dead);
- drops the dead results of ops that must stay (a helper call's unused r1-r5 reloads or
  return value, a PopFrame's unused restores, the unused half of a pair op);
- threads jumps through empty blocks, merges a block into its only predecessor when that
  predecessor jumps straight to it, and turns a branch with equal targets into a jump.

Checks, stores, calls, budget ticks and frame ops are never removed (side_effect).
"""

from __future__ import annotations

from femtojit.ir import types as T
from femtojit.ir.analysis import (
    local_call_targets,
    predecessors,
    reachable_blocks,
    reaching_definitions,
    return_sites,
)

PAIR_OPS = (T.Add64, T.Sub64, T.MulWide, T.Shift64, T.Div64)


def remove_unreachable(fn: T.Function) -> bool:
    reach = reachable_blocks(fn)
    changed = len(reach) != len(fn.blocks)
    fn.blocks = [b for b in fn.blocks if b.id in reach]
    for block in fn.blocks:
        if isinstance(block.term, T.Return):
            sites = [s for s in block.term.sites if s in reach]
            if sites != block.term.sites:
                block.term.sites = sites
                changed = True
    return changed


def _drop_results(op: T.Op, dead: set[int]) -> bool:
    """Set the optional results of a kept op that are in `dead` to None; True if changed."""
    changed = False

    def is_dead(v) -> bool:
        return v is not None and v.n in dead

    if isinstance(op, (T.Call, T.CallX)):
        for name in ("d_lo", "d_hi"):
            if is_dead(getattr(op, name)):
                setattr(op, name, None)
                changed = True
        if any(is_dead(v) for v in op.clobbered):
            op.clobbered = [None if is_dead(v) else v for v in op.clobbered]
            changed = True
    elif isinstance(op, T.PopFrame):
        if any(is_dead(v) for v in op.saved):
            op.saved = [None if is_dead(v) else v for v in op.saved]
            changed = True
    elif isinstance(op, PAIR_OPS):
        # keep at least one result: the op is removed as a whole when both are dead
        if is_dead(op.dlo) and op.dhi is not None and not is_dead(op.dhi):
            op.dlo = None
            changed = True
        elif is_dead(op.dhi) and op.dlo is not None and not is_dead(op.dlo):
            op.dhi = None
            changed = True
    return changed


def needed_definitions(fn: T.Function, rd) -> set[int]:
    """Definition ids whose value can matter: those reaching a use by a side effect or a
    terminator, and, transitively, those reaching a use that a needed definition depends on.
    A value only used to compute itself (a dead upper half carried around a loop) is not
    needed, which plain liveness cannot see."""
    needed: set[int] = set()
    work: list[int] = []
    depends: dict[int, tuple[int, list]] = {}

    def need(reaching: int, var: int) -> None:
        for d in rd.reaching(reaching, var):
            if d < rd.n_real and d not in needed:
                needed.add(d)
                work.append(d)

    for block in fn.blocks:
        for i, node, reaching, ids in rd.walk(block):
            if node is None:
                continue
            if i == len(block.ops) or node.side_effect:
                for u in node.uses():
                    need(reaching, u.n)
            if i < len(block.ops):
                for d, deps in zip(ids, node.def_dependencies()):
                    depends[d] = (reaching, deps)
    while work:
        reaching, deps = depends[work.pop()]
        for u in deps:
            need(reaching, u.n)
    return needed


def remove_dead_ops(fn: T.Function) -> bool:
    """Remove ops (and optional results) whose values are never needed, and self-moves."""
    rd = reaching_definitions(fn)
    needed = needed_definitions(fn, rd)
    changed = False
    for block in fn.blocks:
        kept: list[T.Op] = []
        for op, ids in zip(block.ops, rd.op_defs[block.id]):
            if isinstance(op, T.Mov) and op.a == op.d:
                changed = True
                continue
            dead = {rd.def_var[d] for d in ids if d not in needed}
            if dead and not op.side_effect and len(dead) == len(ids):
                changed = True
                continue
            if dead and _drop_results(op, dead):
                changed = True
            kept.append(op)
        block.ops = kept
    return changed


def simplify_cfg(fn: T.Function) -> bool:
    changed = False
    for block in fn.blocks:
        term = block.term
        if isinstance(term, T.Branch) and term.taken == term.fallthrough:
            block.term = T.Jump(term.taken)
            changed = True
    entry = fn.blocks[0].id
    sites = return_sites(fn)
    # jump threading through empty blocks
    forward: dict[int, int] = {}
    for block in fn.blocks:
        if (block.id != entry and block.id not in sites and not block.ops
                and isinstance(block.term, T.Jump) and block.term.target != block.id):
            forward[block.id] = block.term.target

    def final(target: int) -> int:
        seen = set()
        while target in forward and target not in seen:
            seen.add(target)
            target = forward[target]
        return target

    if forward:
        for block in fn.blocks:
            if block.term is None:
                continue
            for old in set(block.term.successors()):
                new = final(old)
                if new != old:
                    block.term.replace_target(old, new)
                    changed = True
        if changed:
            remove_unreachable(fn)
    # merge a block into its only predecessor when that one just jumps to it
    preds = predecessors(fn)
    callees = local_call_targets(fn)
    sites = return_sites(fn)
    blocks = fn.block_map()
    removed: set[int] = set()
    for block in fn.blocks:
        if block.id in removed:
            continue
        while isinstance(block.term, T.Jump):
            target = block.term.target
            if (target == block.id or target == entry or target in sites or target in callees
                    or len(preds[target]) != 1 or target in removed):
                break
            succ = blocks[target]
            block.ops.extend(succ.ops)
            block.term = succ.term
            removed.add(target)
            for s in succ.successors():  # succ's successors now have block as predecessor
                preds[s] = [block.id if p == target else p for p in preds[s]]
            changed = True
    if removed:
        fn.blocks = [b for b in fn.blocks if b.id not in removed]
    return changed


def run(fn: T.Function) -> T.Function:
    """Rewrite fn in place until nothing more goes; returns it."""
    remove_unreachable(fn)
    for _ in range(50):
        changed = remove_dead_ops(fn)
        changed |= simplify_cfg(fn)
        changed |= remove_unreachable(fn)
        if not changed:
            break
    return fn
