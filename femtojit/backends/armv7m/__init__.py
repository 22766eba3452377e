"""The ARMv7-M (Thumb-2, Cortex-M3/M4, AAPCS) backend.

    BACKEND.translate(fn, options) -> MachineCode

Pipeline: `common.prep.prepare` makes the vm pointer, run-time parameters, region bounds and
check caches explicit variables; the IR's generic register allocator places every variable
(abi.py: r0-r11 allocatable, ip and lr scratch, r0-r3 caller-saved); `lower.Selector` selects
instructions into an `emit.Asm`, which relaxes branches and literal loads and produces the
bytes. `encode` holds one checked pure function per instruction encoding. docs/backends.md
describes the result.
"""

from __future__ import annotations

from femtojit.backends.armv7m.backend import BACKEND

__all__ = ["BACKEND"]
