"""IR passes and the pipeline that runs them.

Each pass is a module with `run(fn) -> fn` that rewrites fn in place, keeps its semantics,
and may be left out. `pipeline` runs a list of them in rounds until a round changes
nothing (or MAX_ROUNDS is reached): constant folding exposes dead code, dead code removal
exposes dead upper halves, and so on.

    pipeline(fn)                      the default optimisation (DEFAULT_PASSES)
    pipeline(fn, passes=NO_PASSES)    --no-opt: only what every backend needs (CLEANUP:
                                      unreachable blocks removed, nothing else)
    pipeline(fn, passes=("constants", "dce"))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from femtojit.errors import FemtojitError
from femtojit.ir.types import Function

#: Every pass, by name, in the order the default pipeline runs them.
PASS_NAMES = ("constants", "widths", "provenance", "dce", "webs")
DEFAULT_PASSES: tuple[str, ...] = PASS_NAMES
NO_PASSES: tuple[str, ...] = ()
MAX_ROUNDS = 8

PassFn = Callable[[Function], Function]


def get_pass(name: str) -> PassFn:
    if name not in PASS_NAMES:
        raise FemtojitError(f"unknown IR pass {name!r} (known: {', '.join(PASS_NAMES)})")
    return importlib.import_module(f"femtojit.ir.passes.{name}").run


def parse_passes(text: str) -> tuple[str, ...]:
    """A comma-separated pass list from the command line ("none" for no passes)."""
    if text.strip().lower() in ("none", ""):
        return NO_PASSES
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    for name in names:
        get_pass(name)
    return names


def fingerprint(fn: Function) -> str:
    """What a round compares to tell whether anything changed (the listing, minus the
    variable count, which renaming passes may raise without changing anything)."""
    from femtojit.ir.printer import format_function

    return format_function(fn).split("\n", 1)[1]


def pipeline(fn: Function, passes: Sequence[str | PassFn] = DEFAULT_PASSES) -> Function:
    """Run the passes on fn (in place) until a round changes nothing; returns fn.

    Whatever the list, unreachable blocks are removed first (cheap, and it means backends
    never see code that cannot run)."""
    from femtojit.ir.passes import dce

    dce.remove_unreachable(fn)
    runs = [get_pass(p) if isinstance(p, str) else p for p in passes]
    if not runs:
        return fn
    before = fingerprint(fn)
    for _ in range(MAX_ROUNDS):
        for run in runs:
            fn = run(fn) or fn
        after = fingerprint(fn)
        if after == before:
            break
        before = after
    return fn
