"""The steps of every target's `translate(fn, options)` (`<target>/backend.py`) that do not
depend on the target: reading the register option, refusing a frame the target cannot
address, and packaging the assembled code and its statistics as a `MachineCode`.

What lies between (preparation options, target rewrites, allocation, the frame layout, the
selector) stays in the target's backend.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from femtojit.backends.common.assembler import Assembled
from femtojit.backends.common.machine import BackendOptions, MachineCode
from femtojit.backends.common.prep import Prepared
from femtojit.backends.common.selector import SelectorBase
from femtojit.errors import TranslateError
from femtojit.ir import types as T
from femtojit.ir.regalloc import Allocation


def allocatable_registers(target: str, options: BackendOptions, default: Sequence[int],
                          check: Callable[[Sequence[int]], tuple[int, ...]]
                          ) -> tuple[int, ...]:
    """options.registers (None: the target's `default` order) as the target's `check`
    accepts it; a list it refuses is the caller's mistake, so a TranslateError."""
    try:
        return check(default if options.registers is None else options.registers)
    except ValueError as error:
        raise TranslateError(f"{target}: {error}") from None


def check_frame_size(target: str, size: int, limit: int, spill_slots: int) -> None:
    """Refuse a frame larger than the target's sp-relative loads and stores reach."""
    if size > limit:
        raise TranslateError(
            f"{target}: the native frame would be {size} bytes "
            f"({spill_slots} spill slots); at most {limit} are supported")


def routines_push(selector, scan_push: int, div64_push: int) -> int:
    """Bytes the deepest out-of-line routine the code calls pushes below the frame (the
    region scan's or the 64-bit division's)."""
    return max(scan_push if selector.scan_variants else 0,
               div64_push if selector.div_routines else 0)


def machine_code(target: str, fn: T.Function, prepared: Prepared, alloc: Allocation,
                 selector: SelectorBase, out: Assembled, *, frame_size: int,
                 data_offset: int | None = None, **target_stats: int) -> MachineCode:
    """The translation's MachineCode: the assembled bytes, the frame size given, and the
    selector's statistics with the allocator's, the assembler's and the preparation's
    (plus `target_stats`)."""
    stats = dict(selector.stats)
    stats.update(
        spill_slots=alloc.num_slots,
        registers_used=len(alloc.used_registers),
        spilled_vars=len(alloc.slots),
        instructions=out.instructions,
        cache_groups=prepared.cache_groups,
        loops_versioned=prepared.loops_versioned,
        **target_stats,
    )
    return MachineCode(
        target=target,
        code=out.code,
        entry_offset=0,
        frame_size=frame_size,
        imports=list(fn.imports),
        labels=out.labels,
        data_offset=data_offset,
        stats=stats,
        tags=out.tags,
    )
