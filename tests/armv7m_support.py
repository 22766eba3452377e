"""Shared by the armv7m test files: the register maps and the engine comparison bound to
them (tests/backend_support.py)."""

from __future__ import annotations

import backend_support

from femtojit.program import Program

TARGET = "armv7m"

#: Register maps every differential test runs under (None: the backend's default order).
MAPS = {
    "default": None,
    "reversed": tuple(range(11, -1, -1)),
    "permuted": (7, 2, 11, 4, 0, 9, 5, 1, 10, 3, 8, 6),
    "high-only": (8, 9, 10, 11),
    "two": (4, 5),
    "none": (),
}


def compare(program: Program, *, ctx: bytes = b"", host=(), profile: str = "femto",
            budget="default", maps=MAPS, optimize_off_too: bool = True, assume_valid=True):
    """Interpreter vs armv7m under every register map (and without the IR passes);
    returns the reference result."""
    return backend_support.compare(
        program, target=TARGET, maps=maps, ctx=ctx, host=host, profile=profile, budget=budget,
        unoptimized=(backend_support.NO_OPT,) if optimize_off_too else (),
        assume_valid=assume_valid)
