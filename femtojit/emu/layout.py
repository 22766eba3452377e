"""Where the emulation harnesses put things inside the emulation-only areas of the memory map.

`femtojit.memmap` fixes the areas (code, helper stubs, harness data, native stack); this module
fixes what lies inside them, so every harness (Unicorn for Arm and RV32, qemu-xtensa for the
LX106) and every native baseline build agree on addresses:

    CODE_BASE                     the code under test (translated blob or native baseline)
    SENTINEL_ADDR                 return address given to the code (LR / ra / a0): reaching
                                  it ends the call; it is in the code slot, past any code
    HELPER_STUB_BASE + 16*id      native stub of helper `id`: native C links the helper's
                                  symbol here and calls it as an ordinary C function
    ABI_STUB_BASE + 16*i          stub of import i of a translated blob (vm->helpers[i])
    HARNESS_CODE_BASE             the harness's own code (the qemu-xtensa runner)
    VM_ADDR                       fjit_vm_t (native ABI v1, DESIGN.md)
    REGION_TABLE_ADDR             fjit_region_t[n_regions]
    HELPER_TABLE_ADDR             fjit_helper_t[n_imports]
    FC_ADDR                       the opaque `fc` pointer passed to every helper
    PARAMS_ADDR                   the qemu-xtensa runner's parameter block
"""

from __future__ import annotations

import struct

# The fjit_vm_t offsets and the region entry size are the ABI's (vmabi), named here too so
# harness code and its tests can take every address and offset from this module.
from femtojit.backends.common.vmabi import REGION_ENTRY_SIZE as REGION_ENTRY_SIZE
from femtojit.backends.common.vmabi import VM_BRANCHES_REMAINING as VM_BRANCHES_REMAINING
from femtojit.backends.common.vmabi import VM_CTX as VM_CTX
from femtojit.backends.common.vmabi import VM_CTX_LEN as VM_CTX_LEN
from femtojit.backends.common.vmabi import VM_FC as VM_FC
from femtojit.backends.common.vmabi import VM_HELPERS as VM_HELPERS
from femtojit.backends.common.vmabi import VM_N_REGIONS as VM_N_REGIONS
from femtojit.backends.common.vmabi import VM_REGIONS as VM_REGIONS
from femtojit.backends.common.vmabi import VM_REGS as VM_REGS
from femtojit.backends.common.vmabi import VM_RESERVED as VM_RESERVED
from femtojit.backends.common.vmabi import VM_RESULT as VM_RESULT
from femtojit.backends.common.vmabi import VM_SIZE as VM_SIZE
from femtojit.backends.common.vmabi import VM_STACK_TOP as VM_STACK_TOP
from femtojit.backends.common.vmabi import VM_STATUS as VM_STATUS
from femtojit.errors import FemtojitError, HelperError
from femtojit.memmap import (
    CODE_BASE,
    CODE_SLOT,
    FIRST_HOST_REGION,
    HARNESS_BASE,
    HELPER_STUB_BASE,
    HELPER_STUB_SIZE,
    MAX_HOST_REGIONS,
    MemoryImage,
)

#: Targets with a Unicorn harness, and every target with a native-baseline harness.
UNICORN_TARGETS = ("armv7m", "rv32imc")
NATIVE_TARGETS = ("armv7m", "rv32imc", "xtensa-lx106")

SENTINEL_ADDR = CODE_BASE + CODE_SLOT - 0x1000

MAX_NATIVE_HELPER_ID = 0x1000  # native stubs cover ids 0..0xfff
ABI_STUB_BASE = HELPER_STUB_BASE + MAX_NATIVE_HELPER_ID * HELPER_STUB_SIZE
MAX_IMPORTS = 0x180
HARNESS_CODE_BASE = HELPER_STUB_BASE + 0x20000
HARNESS_CODE_SIZE = 0x10000
STUB_AREA_SIZE = HARNESS_CODE_BASE + HARNESS_CODE_SIZE - HELPER_STUB_BASE

VM_ADDR = HARNESS_BASE
REGION_TABLE_ADDR = HARNESS_BASE + 0x100
HELPER_TABLE_ADDR = HARNESS_BASE + 0x200
FC_ADDR = HARNESS_BASE + 0x800
FC_SIZE = 16
PARAMS_ADDR = HARNESS_BASE + 0x900

#: vm->result before the call: translated code must overwrite it on every exit path.
RESULT_POISON = 0xDEAD_BEEF_DEAD_BEEF
#: vm->branches_remaining when the run has no budget (the code must not check it then).
NO_BUDGET = 0xFFFF_FFFF

assert REGION_TABLE_ADDR + (FIRST_HOST_REGION + MAX_HOST_REGIONS) * REGION_ENTRY_SIZE <= (
    HELPER_TABLE_ADDR
)
assert HELPER_TABLE_ADDR + 4 * MAX_IMPORTS <= FC_ADDR


def native_stub_address(helper_id: int) -> int:
    """Address native C links helper `helper_id` at (calls land on a hooked stub)."""
    if not 0 <= helper_id < MAX_NATIVE_HELPER_ID:
        raise HelperError(
            f"helper id {helper_id:#x} has no native stub (ids below {MAX_NATIVE_HELPER_ID:#x})"
        )
    return HELPER_STUB_BASE + helper_id * HELPER_STUB_SIZE


def abi_stub_address(import_index: int) -> int:
    """Address vm->helpers[import_index] points at (without the Thumb bit)."""
    if not 0 <= import_index < MAX_IMPORTS:
        raise HelperError(f"a blob may import at most {MAX_IMPORTS} helpers")
    return ABI_STUB_BASE + import_index * HELPER_STUB_SIZE


def pack_region_table(image: MemoryImage) -> bytes:
    """fjit_region_t[] for the regions of `image`, in table order."""
    return b"".join(struct.pack("<III", r.start, len(r.data), r.perm) for r in image.regions)


def pack_vm(image: MemoryImage, budget: int | None, *, stack_top: int, ctx: int) -> bytes:
    """fjit_vm_t as the host sets it up before calling the entry (ABI v1)."""
    if budget is not None and not 0 <= budget < NO_BUDGET:
        raise FemtojitError(f"branch budget {budget} out of range 0..{NO_BUDGET - 1}")
    ctx_len = len(image.by_name("ctx").data)
    head = struct.pack(
        "<IIIIIIIIiIQ",
        REGION_TABLE_ADDR,
        len(image.regions),
        stack_top,
        ctx,
        ctx_len,
        HELPER_TABLE_ADDR,
        FC_ADDR,
        NO_BUDGET if budget is None else budget,
        0,
        0,
        RESULT_POISON,
    )
    assert len(head) == VM_REGS
    return head + bytes(11 * 8)
