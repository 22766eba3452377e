"""The RV32IMC (ilp32) backend: ESP32-C3, GD32VF103 and other RV32IMC cores.

    BACKEND.translate(fn, options) -> MachineCode

Pipeline: `common.prep.prepare` makes the vm pointer, run-time parameters, region bounds and
check caches explicit variables; the IR's generic register allocator places every variable
(abi.py: 24 allocatable registers, x8-x15 first so the hottest variables get compressed
instructions; t4-t6 and ra scratch); `align` finds the accesses known to be aligned;
`lower.Selector` selects instructions into an `emit.Asm`, which relaxes branches and jumps
and produces the bytes. `encode` holds one checked pure function per instruction, `forms`
picks the compressed form where it is legal. docs/backends.md describes the result.
"""

from __future__ import annotations

from femtojit.backends.rv32.backend import BACKEND

__all__ = ["BACKEND"]
