"""What every target's frame and register roles (`<target>/abi.py`) have in common.

- A local call saves r6-r9 (both 32-bit halves) and the return address on the frame stack:
  FRAME_WORDS words a frame, MAX_FRAMES frames (femtojit.ir.types), whatever the target.
- `check_registers` validates a register list from `BackendOptions(registers=...)` against
  the registers a target can allocate.
- `FrameBase` holds the fields every target's Frame is built from; spill slots are 4 bytes
  each from sp + 0 on every target.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

#: Saved words of one local-call frame: r6-r9 (both halves) and the return address.
FRAME_WORDS = 9
FRAME_BYTES = 4 * FRAME_WORDS


def check_registers(registers: Iterable[int], allocatable: Collection[int], target: str,
                     described: str) -> tuple[int, ...]:
    """`registers` as a tuple after checking it has no duplicates and only registers of
    `allocatable` (`described` names them in the error); raises ValueError."""
    regs = tuple(int(r) for r in registers)
    if len(set(regs)) != len(regs):
        raise ValueError(f"duplicate registers in {regs}")
    bad = [r for r in regs if r not in allocatable]
    if bad:
        raise ValueError(f"registers {bad} are not allocatable on {target} ({described} only)")
    return regs


@dataclass
class FrameBase:
    """The inputs of every target's frame layout; the target's `__post_init__` places them."""

    spill_slots: int
    callee_saved: tuple[int, ...]  # callee-saved registers the code uses
    local_calls: bool

    def slot_offset(self, slot: int) -> int:
        """sp-relative offset of the allocator's spill slot `slot`."""
        return 4 * slot
