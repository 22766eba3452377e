"""Helper functions (`call imm`): the registry and the interface every engine uses.

A helper is a Python callable `fn(call: HelperCall) -> int`. It sees the eBPF registers
(`call.regs`, r0..r10 as unsigned 64-bit ints; arguments in r1..r5), reaches container memory
only through `call.mem` (checked against the regions, like the bytecode's own accesses), and
the host state through `call.runtime`. Its return value goes to r0: zero-extended from 32 bits
in the femto profile (Femto-Container helpers return uint32_t), kept as 64 bits in rfc.
A helper may also write regs[1..5]; r1..r5 after a call are whatever the helper left there
(and what a native helper leaves in vm->regs[1..5]). A helper stops the run with a status by
raising HelperFault.

The same registry serves the interpreter and every emulator: the interpreter calls helpers
between two instructions, an emulator when translated code calls the helper table entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from femtojit.errors import HelperError
from femtojit.memmap import PERM_READ, PERM_WRITE, Region
from femtojit.status import Status, status_label


class HelperFault(Exception):
    """Raised by a helper to stop the run with a (negative) status, e.g. ILLEGAL_MEM."""

    def __init__(self, status: int, message: str = ""):
        self.status = int(status)
        super().__init__(message or status_label(self.status))


class MemoryAccess(Protocol):
    """Checked access to container memory, provided by the engine running the helper."""

    def read(self, addr: int, size: int) -> bytes:
        """Bytes at [addr, addr+size) if one region allows reading them, else HelperFault."""
        ...

    def write(self, addr: int, data: bytes) -> None:
        """Store if one region allows writing [addr, addr+len), else HelperFault."""
        ...

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string (without the NUL), every byte checked."""
        ...


@dataclass
class HelperCall:
    regs: list[int]
    mem: MemoryAccess
    runtime: Runtime
    profile: str = "femto"

    def arg(self, n: int) -> int:
        """Argument n (1..5) as an unsigned 64-bit value."""
        return self.regs[n]


HelperFn = Callable[[HelperCall], int]


@dataclass(frozen=True)
class Helper:
    id: int
    name: str
    fn: HelperFn
    doc: str = ""


class HelperRegistry:
    """Helpers by id. Build one explicitly; nothing registers itself on import."""

    def __init__(self, helpers: list[Helper] | None = None):
        self._by_id: dict[int, Helper] = {}
        for helper in helpers or []:
            self.add(helper)

    def add(self, helper: Helper) -> None:
        if not 0 <= helper.id < (1 << 32):
            raise HelperError(f"helper id {helper.id} out of range")
        self._by_id[helper.id] = helper

    def register(self, id: int, name: str, fn: HelperFn, doc: str = "") -> None:
        self.add(Helper(id, name, fn, doc))

    def __contains__(self, id: int) -> bool:
        return id in self._by_id

    def __getitem__(self, id: int) -> Helper:
        try:
            return self._by_id[id]
        except KeyError:
            raise HelperError(f"unknown helper id {id:#x}") from None

    def ids(self) -> list[int]:
        return sorted(self._by_id)

    def __iter__(self):
        return iter(self._by_id[i] for i in self.ids())


@dataclass
class Runtime:
    """Host state helpers act on: key-value stores, a clock, a printf stream.

    `clock_ms` / `clock_us` are injectable so runs are reproducible; the global store is
    shared by every container using this Runtime, the local one belongs to one container.
    """

    local_store: dict[int, int] = field(default_factory=dict)
    global_store: dict[int, int] = field(default_factory=dict)
    clock_ms: Callable[[], int] = lambda: 0
    clock_us: Callable[[], int] = lambda: 0
    printf_stream: object = None  # a text stream; None means sys.stdout at call time


#: Femto-Container's host-independent helpers (ids from its `shared.h`).
BUILTIN_HELPER_NAMES: dict[int, str] = {
    0x01: "printf",
    0x02: "memcpy",
    0x10: "store_local",
    0x11: "store_global",
    0x12: "fetch_local",
    0x13: "fetch_global",
    0x20: "now_ms",
    0x60: "ztimer_now",
}

#: Helper 5, which the bpf_conformance suite calls (uBPF's "unwind": returns its argument).
CONFORMANCE_HELPER_NAMES: dict[int, str] = {5: "unwind"}


def default_helper_ids(profile: str) -> set[int]:
    """Helper ids known when the user names none: the built-ins, plus 5 in the rfc profile."""
    ids = set(BUILTIN_HELPER_NAMES)
    if profile == "rfc":
        ids |= set(CONFORMANCE_HELPER_NAMES)
    return ids


class CheckedMemory:
    """The one MemoryAccess every engine hands to helpers.

    Same rule as the bytecode's own accesses (docs/semantics.md, Memory): the first area that
    holds all of `[addr, addr+size)` decides, and it must have the needed permission; an
    access wrapping past 2^32 or outside every area is ILLEGAL_MEM. A zero-length access
    touches nothing and is always allowed. Engines differ only in how bytes are reached, so
    they pass `raw_read(addr, size) -> bytes` and `raw_write(addr, data)`.
    """

    def __init__(
        self,
        areas: Sequence[tuple[int, int, int]],
        raw_read: Callable[[int, int], bytes],
        raw_write: Callable[[int, bytes], None],
    ):
        """`areas`: (start, end, perm) in first-match order (the region table, then any
        extra areas an engine allows, such as a native baseline's own stack)."""
        self._areas = list(areas)
        self._raw_read = raw_read
        self._raw_write = raw_write

    @classmethod
    def for_regions(
        cls,
        regions: Sequence[Region],
        raw_read: Callable[[int, int], bytes],
        raw_write: Callable[[int, bytes], None],
        extra: Sequence[tuple[int, int, int]] = (),
    ) -> CheckedMemory:
        areas = [(r.start, r.end, r.perm) for r in regions] + list(extra)
        return cls(areas, raw_read, raw_write)

    def _check(self, addr: int, size: int, perm: int) -> int:
        """End of the area that allows the access, or HelperFault."""
        end = addr + size
        if addr >= 0 and end <= 1 << 32:
            for start, stop, area_perm in self._areas:
                if start <= addr and end <= stop:
                    if area_perm & perm == perm:
                        return stop
                    break
        kind = "write" if perm & PERM_WRITE else "read"
        raise HelperFault(
            Status.ILLEGAL_MEM, f"helper {kind} of {size} bytes at {addr:#x} outside the regions"
        )

    def read(self, addr: int, size: int) -> bytes:
        if size <= 0:
            return b""
        self._check(addr, size, PERM_READ)
        return bytes(self._raw_read(addr, size))

    def write(self, addr: int, data: bytes) -> None:
        if not data:
            return
        self._check(addr, len(data), PERM_WRITE)
        self._raw_write(addr, bytes(data))

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """Up to `limit` bytes before the first NUL; every byte read is checked."""
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
