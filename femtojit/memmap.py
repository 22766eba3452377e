"""The canonical memory map, shared by the interpreter and every emulator.

All engines place the container's regions at the same 32-bit addresses, so pointer values
(r10, r1, LDDWD/LDDWR results, pointers a program stores or returns) agree across engines.

    0x2000_0000  stack    512 B, read-write; r10 = STACK_BASE + 512 at entry
    0x2010_0000  .data    read-write (initialised from the program, .bss zero-filled)
    0x2020_0000  .rodata  read-only
    0x2030_0000  ctx      read-write; r1 = CTX_BASE at entry, r2 = its length (rfc)
    0x2040_0000  host region 0, then one every HOST_STRIDE bytes

Each region gets a slot of REGION_SLOT bytes; nothing else is mapped inside a slot, so an
access just past a region's end touches unmapped memory in an emulator and is reported as an
isolation failure if translated code ever let it through.

Emulation-only areas (never visible to bytecode):

    0x0800_0000  code (translated blob, native baselines)
    0x0F00_0000  helper stubs (one 16-byte entry per helper, hooked by the harness)
    0x1000_0000  harness data: fjit_vm_t, region table, helper table
    0x1010_0000  native stack (the translated code's own frame), NATIVE_STACK_SIZE bytes
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERM_READ = 1
PERM_WRITE = 2
PERM_RW = PERM_READ | PERM_WRITE

STACK_SIZE = 512
REGION_SLOT = 0x0010_0000

STACK_BASE = 0x2000_0000
DATA_BASE = 0x2010_0000
RODATA_BASE = 0x2020_0000
CTX_BASE = 0x2030_0000
HOST_BASE = 0x2040_0000
HOST_STRIDE = REGION_SLOT
MAX_HOST_REGIONS = 16

STACK_TOP = STACK_BASE + STACK_SIZE  # initial r10

CODE_BASE = 0x0800_0000
CODE_SLOT = 0x0040_0000
HELPER_STUB_BASE = 0x0F00_0000
HELPER_STUB_SIZE = 16
HARNESS_BASE = 0x1000_0000
HARNESS_SIZE = 0x0001_0000
NATIVE_STACK_BASE = 0x1010_0000
NATIVE_STACK_SIZE = 0x0001_0000
NATIVE_STACK_TOP = NATIVE_STACK_BASE + NATIVE_STACK_SIZE

# Region indexes in the region table (ABI v1: [0] stack [1] data [2] rodata [3] ctx, then hosts).
REGION_STACK = 0
REGION_DATA = 1
REGION_RODATA = 2
REGION_CTX = 3
FIRST_HOST_REGION = 4


@dataclass
class Region:
    """One memory region: name, start address, contents and permissions."""

    name: str
    start: int
    data: bytearray
    perm: int

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def holds(self, addr: int, size: int) -> bool:
        return self.start <= addr and addr + size <= self.end


@dataclass
class HostRegion:
    """A region the host adds after ctx (e.g. a read-only buffer the ctx points into)."""

    data: bytes
    perm: int = PERM_READ
    name: str = ""


@dataclass
class MemoryImage:
    """The full set of regions a run starts with, in region-table order."""

    regions: list[Region] = field(default_factory=list)

    def by_name(self, name: str) -> Region:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(name)

    def snapshot(self) -> dict[str, bytes]:
        """Region contents by name, for comparing engines after a run."""
        return {r.name: bytes(r.data) for r in self.regions}


def build_memory(
    data: bytes, rodata: bytes, ctx: bytes = b"", host: list[HostRegion] | None = None
) -> MemoryImage:
    """Lay out the regions of one run at their canonical addresses."""
    from femtojit.errors import FemtojitError

    host = list(host or [])
    if len(host) > MAX_HOST_REGIONS:
        raise FemtojitError(f"at most {MAX_HOST_REGIONS} host regions are supported")
    sizes = {"data": len(data), "rodata": len(rodata), "ctx": len(ctx)}
    sizes.update({f"host{i}": len(h.data) for i, h in enumerate(host)})
    for name, size in sizes.items():
        if size > REGION_SLOT:
            raise FemtojitError(f"{name} is {size} bytes; the limit is {REGION_SLOT} bytes")
    regions = [
        Region("stack", STACK_BASE, bytearray(STACK_SIZE), PERM_RW),
        Region("data", DATA_BASE, bytearray(data), PERM_RW),
        Region("rodata", RODATA_BASE, bytearray(rodata), PERM_READ),
        Region("ctx", CTX_BASE, bytearray(ctx), PERM_RW),
    ]
    for i, h in enumerate(host):
        regions.append(
            Region(h.name or f"host{i}", HOST_BASE + i * HOST_STRIDE, bytearray(h.data), h.perm)
        )
    return MemoryImage(regions)
