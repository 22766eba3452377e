"""AAPCS frame and register roles of the Thumb-2 backend.

Registers:

- allocatable: r0-r11 (DEFAULT_REGISTERS). r0-r3 are caller-saved: the allocator never
  gives them to a variable that lives across a call op (helper calls, the 64-bit division
  routine, variable 64-bit shifts, which use r0-r3 as their own scratch).
- scratch: ip (r12) and lr (r14), never allocated: instruction selection uses them for
  spilled operands, constants and check arithmetic, and the region scan returns the new
  cache bounds in them. lr is free because the prologue pushes it.
- sp: the native frame, laid out below.

The frame, from sp upwards (every offset fixed at translation time):

    [sp + 0]                 spill slots, 4 bytes each (the allocator's slots)
    [sp + depth_offset]      local calls: number of frames on the frame stack
    [sp + callx_offset]      callx: the import index found at run time
    [sp + frames_offset]     local calls: MAX_FRAMES frames of FRAME_WORDS words:
                             r6.lo, r6.hi, ..., r9.hi, return address (Thumb bit set)
    (padding to keep sp 8-byte aligned)
    [sp + vm_offset]         pushed: r0 = the vm pointer, [r1: padding], the callee-saved
                             registers the code uses, lr (popped into pc)
"""

from __future__ import annotations

from dataclasses import dataclass

from femtojit.backends.armv7m.encode import LR, PC, R0, R1, R2, R3, R12
from femtojit.backends.common import abi as common
from femtojit.backends.common.abi import FRAME_BYTES, FrameBase
from femtojit.ir.types import MAX_FRAMES

#: Allocatable registers, in the allocator's default order of preference.
DEFAULT_REGISTERS: tuple[int, ...] = tuple(range(12))
#: Registers a call op destroys (besides the scratch registers, which are never allocated).
CALL_CLOBBERED = frozenset({R0, R1, R2, R3})
CALLEE_SAVED = frozenset(range(4, 12))
SCRATCH = (R12, LR)
IP = R12


def check_registers(registers) -> tuple[int, ...]:
    """The allocatable register list from options: a subset of r0-r11, no duplicates."""
    return common.check_registers(registers, DEFAULT_REGISTERS, "armv7m", "r0-r11")


@dataclass
class Frame(FrameBase):
    """Offsets of the native frame (see the module docstring)."""

    callx: bool

    def __post_init__(self):
        offset = 4 * self.spill_slots
        self.depth_offset = offset if self.local_calls else None
        offset += 4 if self.local_calls else 0
        self.callx_offset = offset if self.callx else None
        offset += 4 if self.callx else 0
        self.frames_offset = offset if self.local_calls else None
        offset += MAX_FRAMES * FRAME_BYTES if self.local_calls else 0
        # push {r0 (the vm pointer), [r1 as padding], callee-saved, lr}: the vm slot costs
        # no instruction, and an empty local area needs no `sub sp`
        pushed = [R0, *self.callee_saved, LR]
        if (4 * len(pushed) + offset) % 8:
            if offset:
                offset += 4
            else:
                pushed.insert(1, R1)
        self.local_size = offset
        self.pushed = tuple(pushed)
        # popped into r1 (and r2): r0 holds the status being returned
        self.popped = tuple([R1, R2][: len(pushed) - len(self.callee_saved) - 1]
                            + list(self.callee_saved) + [PC])
        self.push_bytes = 4 * len(pushed)
        self.vm_offset = offset

    @property
    def size(self) -> int:
        """Bytes of native stack below the caller's sp, pushed registers included."""
        return self.local_size + self.push_bytes
