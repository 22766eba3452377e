"""Running a Python helper on behalf of emulated code.

Every harness does the same three things when emulated code reaches a helper stub: give the
helper checked access to the container's memory (through whatever reads and writes emulated
memory: Unicorn's mem_read/mem_write, or the qemu-xtensa runner's pipe protocol), call it, and
hand back the return value, the registers it left and the fault it raised, if any.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from femtojit.helpers import HelperCall, HelperFault, HelperRegistry, Runtime
from femtojit.memmap import PERM_READ, PERM_WRITE, MemoryImage
from femtojit.status import Status

MASK32 = 0xFFFF_FFFF
MASK64 = 0xFFFF_FFFF_FFFF_FFFF


class CheckedMemory:
    """MemoryAccess over emulated memory, checked against the region table.

    Same rule as the bytecode's own accesses (docs/semantics.md): the first region holding all
    the bytes decides, and it must have the needed permission; otherwise ILLEGAL_MEM.
    """

    def __init__(
        self,
        image: MemoryImage,
        raw_read: Callable[[int, int], bytes],
        raw_write: Callable[[int, bytes], None],
        extra: Sequence[tuple[int, int, int]] = (),
    ):
        """`extra`: (start, end, perm) areas tried after the regions; native baselines pass
        their own stack, where native C keeps what a container keeps on the eBPF stack."""
        self._regions = [(r.start, r.start + len(r.data), r.perm) for r in image.regions]
        self._regions += list(extra)
        self._raw_read = raw_read
        self._raw_write = raw_write

    def _check(self, addr: int, size: int, perm: int) -> int:
        """End of the region that allows the access, or HelperFault."""
        end = addr + size
        if addr < 0 or end > 1 << 32:
            raise HelperFault(Status.ILLEGAL_MEM, f"access at {addr:#x} wraps past 2^32")
        for start, stop, region_perm in self._regions:
            if start <= addr and end <= stop:
                if region_perm & perm:
                    return stop
                break
        kind = "write" if perm == PERM_WRITE else "read"
        raise HelperFault(
            Status.ILLEGAL_MEM, f"helper {kind} of {size} bytes at {addr:#x} outside the regions"
        )

    def read(self, addr: int, size: int) -> bytes:
        self._check(addr, size, PERM_READ)
        return bytes(self._raw_read(addr, size)) if size else b""

    def write(self, addr: int, data: bytes) -> None:
        self._check(addr, len(data), PERM_WRITE)
        if data:
            self._raw_write(addr, bytes(data))

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        out = bytearray()
        while len(out) < limit:
            here = addr + len(out)
            stop = self._check(here, 1, PERM_READ)
            chunk = self._raw_read(here, min(stop - here, limit - len(out)))
            nul = chunk.find(b"\0")
            if nul >= 0:
                return bytes(out + chunk[:nul])
            out += chunk
        return bytes(out)


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
