"""The reference interpreter: executes a Program with the semantics of docs/semantics.md.

It is the oracle every backend is checked against. The hot loop is numba-compiled
(core.py) over arrays decoded once (decode.py); machine.py drives it and calls helpers.
This package's __init__ imports neither numpy nor numba, so `import femtojit` stays light;
the first call to `run` pays for them (and for loading the compiled loop from numba's cache).

`reference.py` is a slow, plain-Python step function used only by tests as a second opinion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from femtojit.helpers import HelperRegistry, Runtime
    from femtojit.memmap import HostRegion
    from femtojit.program import Program
    from femtojit.result import RunResult

#: `budget` value meaning "the profile's default" (200 in femto, off in rfc).
PROFILE_DEFAULT: Literal["default"] = "default"


def resolve_budget(budget: int | None | str, profile: str) -> int | None:
    """The taken-branch budget to use: the profile default for PROFILE_DEFAULT."""
    from femtojit.errors import FemtojitError
    from femtojit.profile import default_budget

    if budget == PROFILE_DEFAULT:
        return default_budget(profile)
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, int) or not 0 <= budget < (1 << 32):
        raise FemtojitError(f"bad branch budget {budget!r}: give 0..2^32-1 or None (off)")
    return budget


def run(
    program: Program,
    *,
    ctx: bytes = b"",
    host: list[HostRegion] | None = None,
    profile: str = "femto",
    budget: int | None | str = PROFILE_DEFAULT,
    helpers: HelperRegistry | None = None,
    runtime: Runtime | None = None,
) -> RunResult:
    """Interpret `program` (assumed verified; see femtojit.api.run for the checked entry).

    ctx becomes the ctx region (r1 points at it), host the regions after it; helpers
    defaults to the built-in registry of the profile, runtime to a fresh Runtime.
    """
    from femtojit.builtin_helpers import builtin_registry
    from femtojit.helpers import Runtime
    from femtojit.interp.machine import Machine
    from femtojit.profile import check_profile

    check_profile(profile)
    machine = Machine(
        program,
        ctx=bytes(ctx),
        host=host,
        profile=profile,
        budget=resolve_budget(budget, profile),
        helpers=helpers if helpers is not None else builtin_registry(profile),
        runtime=runtime if runtime is not None else Runtime(),
    )
    return machine.run()
