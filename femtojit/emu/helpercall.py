"""Running a Python helper on behalf of emulated code.

Every harness does the same three things when emulated code reaches a helper stub: give the
helper checked access to the container's memory (through whatever reads and writes emulated
memory: Unicorn's mem_read/mem_write, or the qemu-xtensa runner's pipe protocol), call it, and
hand back the return value, the registers it left and the fault it raised, if any.
"""

from __future__ import annotations

from dataclasses import dataclass

from femtojit.helpers import CheckedMemory, HelperCall, HelperFault, HelperRegistry, Runtime

MASK32 = 0xFFFF_FFFF
MASK64 = 0xFFFF_FFFF_FFFF_FFFF


@dataclass
class HelperOutcome:
    """What a helper call produced: a fault status (0 if none), r0, and regs[0..10] after."""

    status: int
    value: int
    regs: list[int]
    message: str = ""


def invoke_helper(
    registry: HelperRegistry,
    helper_id: int,
    regs: list[int],
    mem: CheckedMemory,
    runtime: Runtime,
    profile: str,
) -> HelperOutcome:
    """Call helper `helper_id` with eBPF registers `regs` (r0..r10).

    The return value is cut to what the profile's ABI carries: 32 bits in femto (helpers
    return uint32_t), 64 in rfc. An unknown id is the caller's problem (HelperError).
    """
    helper = registry[helper_id]
    call = HelperCall(regs=[r & MASK64 for r in regs], mem=mem, runtime=runtime, profile=profile)
    try:
        value = helper.fn(call)
    except HelperFault as fault:
        return HelperOutcome(fault.status, 0, list(regs), str(fault))
    mask = MASK32 if profile == "femto" else MASK64
    return HelperOutcome(0, int(value) & mask, [int(r) & MASK64 for r in call.regs])
