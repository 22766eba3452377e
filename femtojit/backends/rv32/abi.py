"""ilp32 frame and register roles of the RV32IMC backend.

Registers:

- allocatable (DEFAULT_REGISTERS, in the allocator's order of preference): first the six
  caller-saved registers the compressed forms can name (a0-a5, in x8-x15), so the hottest
  variables get 16-bit instructions at no cost per run; then the other caller-saved ones
  (a6, a7, t0-t2); then the callee-saved ones, which cost a save and a restore per run
  (s0 and s1 first: they are in x8-x15 too).
- caller-saved (CALL_CLOBBERED): a0-a7, t0-t2. The allocator never gives them to a variable
  live across a call op (helper calls, the 64-bit division routine).
- scratch, never allocated: t3-t6. Instruction selection loads spilled operands and
  constants into them and does check arithmetic in them; t3 (LINK) is also the link
  register of the out-of-line routines (region scan, 64-bit division), so ra keeps the
  caller's return address and is saved only by code that calls helpers (`jalr ra`).
- x0 reads as the constant 0 everywhere, so a zero operand costs nothing.
- sp: the native frame below; gp and tp are never touched.

The frame, from sp upwards (every offset fixed at translation time, sp 16-byte aligned);
a translation that needs none of it has no frame at all:

    [sp + 0]                 spill slots, 4 bytes each (the low ones reach c.lwsp/c.swsp)
    [sp + depth_offset]      local calls: FRAME_BYTES x the number of frames pushed
    [sp + frames_offset]     local calls: MAX_FRAMES frames of FRAME_WORDS words:
                             r6.lo, r6.hi, ..., r9.hi, return address
    [sp + vm_offset]         the vm pointer, when the allocator spills it
    [sp + saved_offset]      ra (when the code calls helpers), then the callee-saved
                             registers the code uses
    (padding to 16 bytes)
"""

from __future__ import annotations

from dataclasses import dataclass

from femtojit.backends.common import abi as common
from femtojit.backends.common.abi import FRAME_BYTES, FrameBase
from femtojit.backends.rv32.encode import (
    A0,
    A1,
    A2,
    A3,
    A4,
    A5,
    A6,
    A7,
    RA,
    S0,
    S1,
    S2,
    S3,
    S4,
    S5,
    S6,
    S7,
    S8,
    S9,
    S10,
    S11,
    T0,
    T1,
    T2,
    T3,
    T4,
    T5,
    T6,
)
from femtojit.ir.types import MAX_FRAMES

#: Allocatable registers, in the allocator's default order of preference.
DEFAULT_REGISTERS: tuple[int, ...] = (
    A0, A1, A2, A3, A4, A5,
    A6, A7, T0, T1, T2,
    S0, S1, S2, S3, S4, S5, S6, S7, S8, S9, S10, S11,
)  # fmt: skip
CALL_CLOBBERED = frozenset({A0, A1, A2, A3, A4, A5, A6, A7, T0, T1, T2})
CALLEE_SAVED = frozenset({S0, S1, S2, S3, S4, S5, S6, S7, S8, S9, S10, S11})
#: Scratch registers of instruction selection (never allocated).
SA, SB, SC, SD = T6, T5, T4, T3
SCRATCH = (SA, SB, SC, SD)
#: The link register of calls to the out-of-line routines.
LINK = SD

#: Largest sp-relative offset one load or store reaches (a signed 12-bit immediate).
MAX_OFFSET = 2047


def check_registers(registers) -> tuple[int, ...]:
    """The allocatable register list from options: a subset of DEFAULT_REGISTERS, no
    duplicates."""
    return common.check_registers(registers, DEFAULT_REGISTERS, "rv32imc",
                                  "a0-a7, s0-s11, t0-t2")


@dataclass
class Frame(FrameBase):
    """Offsets of the native frame (see the module docstring)."""

    calls: bool  # the code calls helpers (ra must be saved)
    vm_spilled: bool

    def __post_init__(self):
        offset = 4 * self.spill_slots
        self.depth_offset = offset if self.local_calls else None
        offset += 4 if self.local_calls else 0
        self.frames_offset = offset if self.local_calls else None
        offset += MAX_FRAMES * FRAME_BYTES if self.local_calls else 0
        self.vm_offset = offset if self.vm_spilled else None
        offset += 4 if self.vm_spilled else 0
        self.saved_offset = offset
        self.saved = ((RA,) if self.calls else ()) + tuple(self.callee_saved)
        offset += 4 * len(self.saved)
        self.size = (offset + 15) & ~15

    def saved_at(self, index: int) -> int:
        return self.saved_offset + 4 * index
