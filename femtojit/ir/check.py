"""Differential checking of the IR against the reference interpreter.

For one program and input, run (a) the bytecode interpreter, (b) the IR interpreter on the
lowered function, (c) the IR interpreter after the pass pipeline; status, 64-bit result and
memory must agree. Tests use it on the conformance suite and on generated programs; it needs
no backend, so a lowering or pass bug is caught where it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from femtojit.helpers import HelperRegistry, Runtime
from femtojit.memmap import HostRegion
from femtojit.program import Program
from femtojit.result import RunResult

_DEFAULT = "default"


@dataclass
class Comparison:
    reference: RunResult
    lowered: RunResult
    optimised: RunResult
    listing: str = ""

    def mismatches(self) -> list[str]:
        out = []
        for name, other in (("lowered", self.lowered), ("optimised", self.optimised)):
            if not self.reference.same_outcome(other):
                out.append(
                    f"{name}: status {other.status} result {other.result:#x} vs reference "
                    f"status {self.reference.status} result {self.reference.result:#x}"
                    + ("" if other.memory == self.reference.memory else " (memory differs)")
                )
        return out


def compare_engines(
    program: Program,
    *,
    profile: str = "femto",
    budget: int | None | str = _DEFAULT,
    ctx: bytes = b"",
    host: list[HostRegion] | None = None,
    helpers: HelperRegistry | None = None,
    runtime_factory: Callable[[], Runtime] = Runtime,
    passes: Sequence | None = None,
    max_steps: int = 5_000_000,
) -> Comparison:
    """Run the three engines on fresh state each; see the module docstring."""
    from femtojit.builtin_helpers import builtin_registry
    from femtojit.interp import resolve_budget
    from femtojit.interp import run as reference_run
    from femtojit.ir.interp import interpret
    from femtojit.ir.lower import lower
    from femtojit.ir.passes import DEFAULT_PASSES, pipeline
    from femtojit.ir.printer import format_function

    budget = resolve_budget(budget, profile)
    helpers = helpers if helpers is not None else builtin_registry(profile)
    ids = set(helpers.ids())
    ref = reference_run(program, ctx=ctx, host=host, profile=profile, budget=budget,
                        helpers=helpers, runtime=runtime_factory())
    fn = lower(program, profile=profile, budget=budget, helper_ids=ids)
    common = dict(data=program.data, rodata=program.rodata, ctx=ctx, host=host, budget=budget,
                  helpers=helpers, max_steps=max_steps)
    lowered = interpret(fn, runtime=runtime_factory(), **common)
    fn = pipeline(fn, DEFAULT_PASSES if passes is None else passes)
    optimised = interpret(fn, runtime=runtime_factory(), **common)
    return Comparison(ref, lowered, optimised, format_function(fn))
