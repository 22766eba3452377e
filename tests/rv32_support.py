"""Shared by the rv32 test files: register maps, the engine comparison, and a watch for
misaligned accesses.

Unicorn's RV32 core performs a misaligned `lw`/`sh` silently, while real cores such as the
ESP32-C3 trap, so a passing run under Unicorn proves nothing about alignment by itself.
`strict_alignment` (a fixture the rv32 test modules import) adds a memory hook to every
RV32 machine the harness opens and fails the test if translated code ever makes a
halfword or word access at an address that is not a multiple of its size (helpers run in
Python and do not go through the hook).

`compare(program, ...)` runs the reference interpreter once and the rv32imc translation
under every register map asked for (and without the IR passes, and without loop versions),
and fails with a readable message on the first difference in status, 64-bit result, memory
or printf output (tests/backend_support.py's comparison, bound to the rv32 maps).
"""

from __future__ import annotations

import backend_support
import pytest
from backend_support import LOOPS_NOT_VERSIONED, NO_OPT

from femtojit.backends.rv32.abi import DEFAULT_REGISTERS
from femtojit.backends.rv32.encode import A0, A5, S0, S2, S7, S11, T0
from femtojit.program import Program

TARGET = "rv32imc"

#: Register maps every differential test runs under (None: the backend's default order).
MAPS = {
    "default": None,
    "permuted": tuple(reversed(DEFAULT_REGISTERS[8:])) + DEFAULT_REGISTERS[:8],
    "reduced": (S0, A0, T0),  # one callee-saved, one caller-saved, one non-compressible
}
#: More maps for the cheaper tests: callee-saved only, one register, none at all.
MORE_MAPS = {
    "callee-saved": (S2, S7, S11, A5),
    "one": (S0,),
    "none": (),
}

MISALIGNED: list[str] = []


def _watch(uc, access, address, size, value, user) -> None:
    if size in (2, 4) and address % size:
        from unicorn.riscv_const import UC_RISCV_REG_PC

        kind = "write" if access == user else "read"
        MISALIGNED.append(f"misaligned {kind} of {size} bytes at {address:#x} by code at "
                          f"{uc.reg_read(UC_RISCV_REG_PC):#x}")


@pytest.fixture(autouse=False)
def strict_alignment(monkeypatch):
    """Fail the test if rv32 code makes a misaligned halfword or word access."""
    from unicorn import UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE, UC_MEM_WRITE

    from femtojit.emu.unicorn_harness import UnicornHarness

    original = UnicornHarness._install_hooks

    def install(self):
        original(self)
        if self.target == TARGET:
            self.uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, _watch, UC_MEM_WRITE)

    monkeypatch.setattr(UnicornHarness, "_install_hooks", install)
    MISALIGNED.clear()
    yield
    found, MISALIGNED[:] = list(MISALIGNED), []
    assert not found, "\n".join(found[:5])


def compare(program: Program, *, ctx: bytes = b"", host=(), profile: str = "femto",
            budget="default", maps=MAPS, optimize_off_too: bool = True, assume_valid=True,
            helpers=None, use_hints: bool = True):
    """Interpreter vs rv32imc under every register map (and without the IR passes, and
    without loop versions); returns the reference result."""
    unoptimized = (NO_OPT, LOOPS_NOT_VERSIONED) if optimize_off_too else ()
    return backend_support.compare(
        program, target=TARGET, maps=maps, ctx=ctx, host=host, profile=profile, budget=budget,
        unoptimized=unoptimized, assume_valid=assume_valid, helpers=helpers,
        use_hints=use_hints)
