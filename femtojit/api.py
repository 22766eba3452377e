"""The library API behind `femtojit.run` (and, later, `femtojit.translate`).

`run` is the one checked way to execute a program: it verifies it against the profile and
the helper ids that will be available, then hands it to an engine. The interpreter is the
engine "interp"; any other engine name is a translation target from femtojit.backends.
"""

from __future__ import annotations

from femtojit.helpers import HelperRegistry, Runtime
from femtojit.interp import PROFILE_DEFAULT, resolve_budget
from femtojit.memmap import HostRegion
from femtojit.profile import check_profile
from femtojit.program import Program
from femtojit.result import RunResult

INTERP = "interp"


def engine_names() -> list[str]:
    """Every engine name `run` accepts: the interpreter, then the translation targets."""
    from femtojit.backends import TARGETS

    return [INTERP, *TARGETS]


def run(
    program: Program,
    *,
    engine: str = INTERP,
    ctx: bytes = b"",
    host: list[HostRegion] | None = None,
    profile: str = "femto",
    budget: int | None | str = PROFILE_DEFAULT,
    helpers: HelperRegistry | None = None,
    runtime: Runtime | None = None,
    entry: str | None = None,
    verify: bool = True,
) -> RunResult:
    """Run `program` on `engine` and return its status, result and memory.

    ctx      bytes of the ctx region (r1 = its address; r2 = its length in rfc)
    host     extra regions after ctx (e.g. a read-only buffer ctx points into)
    budget   taken-branch budget: an int, None (off), or the profile default (200 / off)
    helpers  the helper registry (default: the profile's built-ins, femtojit.builtin_helpers)
    runtime  host state the helpers use (stores, clocks, printf stream)
    entry    name of the function to start at (default: the program's entry)
    verify   check the static rules first (VerifyError); skip only for verified programs

    A run-time fault is a status in the result, never an exception; bad input (an unknown
    engine or profile, a program the verifier rejects) raises a FemtojitError.
    """
    from femtojit.builtin_helpers import builtin_registry

    check_profile(profile)
    resolved_budget = resolve_budget(budget, profile)
    registry = helpers if helpers is not None else builtin_registry(profile)
    program = program.with_entry(entry)
    check_engine(engine)  # UnknownTargetError / "not available yet" before anything else
    if verify:
        from femtojit.verify import verify as verify_program

        verify_program(program, profile=profile, helper_ids=set(registry.ids()))
    if engine == INTERP:
        from femtojit import interp

        return interp.run(
            program,
            ctx=ctx,
            host=host,
            profile=profile,
            budget=resolved_budget,
            helpers=registry,
            runtime=runtime,
        )
    # ---- translated engines: translate for the target, run under emulation ---------------
    translation = translate(
        program, target=engine, profile=profile, budget=resolved_budget,
        helpers=set(registry.ids()), verify=False,
    )
    result = translation.run(ctx=ctx, host=host, helpers=registry, runtime=runtime,
                             budget=resolved_budget)
    result.extra = {}  # the same fields as the interpreter's result (femtojit run --json)
    return result


def check_engine(engine: str):
    """The backend of an engine name (None for the interpreter).

    UnknownTargetError (listing the engines) for an unknown name, TranslateError for a
    target whose backend is not available.
    """
    from femtojit.backends import TARGETS, get_backend
    from femtojit.errors import UnknownTargetError

    if engine == INTERP:
        return None
    if engine not in TARGETS:
        known = ", ".join(engine_names())
        raise UnknownTargetError(f"unknown engine {engine!r} (known engines: {known})")
    return get_backend(engine)


# ---- translate() ----------------------------------------------------------------------------


def translate(program: Program, *, target: str, **options):
    """Translate `program` for `target`; see femtojit.translation.translate for the options
    (profile, budget, optimize, helpers, backend_options) and the Translation it returns."""
    from femtojit.translation import translate as _translate

    return _translate(program, target=target, **options)
