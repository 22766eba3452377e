"""What every backend's `translate(fn, options)` takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BackendOptions:
    """Knobs a backend honours (tests use them to run the same program several ways).

    registers: the allocatable registers in order of preference (None: the target's
        default). A short list forces spills; any order must give the same results.
    use_hints: check a hinted region first (False: every check goes through the per-pointer
        cache, to exercise that path).
    version_loops: give counted loops a copy without budget ticks and hoisted checks
        (femtojit/backends/common/loops.py).
    """

    registers: tuple[int, ...] | None = None
    use_hints: bool = True
    version_loops: bool = True


@dataclass
class MachineCode:
    """Position-independent code for one target, per native ABI v1."""

    target: str
    code: bytes
    entry_offset: int
    frame_size: int  # bytes of native stack at most, pushed registers included
    imports: list[int] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)  # for listings
    data_offset: int | None = None  # where constant data (a literal pool) starts, if any
    stats: dict[str, int] = field(default_factory=dict)
    tags: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, what for)
