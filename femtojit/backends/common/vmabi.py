"""The native ABI v1 as every backend sees it: `fjit_vm_t` field offsets and the region table.

DESIGN.md and docs/abi.md define the struct; femtojit/runtime/femtojit.h mirrors it in C (with
static asserts). Backends and the emulators' layout (femtojit/emu/layout.py) read these
constants instead of spelling offsets out, so a change of the ABI is one edit here.
"""

from __future__ import annotations

from femtojit.memmap import PERM_READ, PERM_RW

VM_REGIONS = 0
VM_N_REGIONS = 4
VM_STACK_TOP = 8
VM_CTX = 12
VM_CTX_LEN = 16
VM_HELPERS = 20
VM_FC = 24
VM_BRANCHES_REMAINING = 28
VM_STATUS = 32
VM_RESERVED = 36
VM_RESULT = 40
VM_REGS = 48
#: sizeof(fjit_vm_t): regs[] holds r0..r10, 8 bytes each.
VM_SIZE = VM_REGS + 11 * 8

#: fjit_region_t: {start, len, flags}.
REGION_ENTRY_SIZE = 12
REGION_START = 0
REGION_LEN = 4
REGION_FLAGS = 8

#: Permissions of the four fixed regions (docs/abi.md, section 2): stack, .data, .rodata, ctx.
FIXED_REGION_PERMS = (PERM_RW, PERM_RW, PERM_READ, PERM_RW)

#: vm fields a `Param` op reads directly (the region bases come from the region table).
PARAM_FIELDS = {
    "stack_top": VM_STACK_TOP,
    "ctx": VM_CTX,
    "ctx_len": VM_CTX_LEN,
    "budget": VM_BRANCHES_REMAINING,
    # not IR Params: what helper calls need
    "fc": VM_FC,
    "helpers": VM_HELPERS,
}
#: Params that are the start of a region: name -> region index.
PARAM_REGIONS = {"data_base": 1, "rodata_base": 2}


def vm_reg_offset(reg: int, half: int = 0) -> int:
    """Offset of vm->regs[reg] (half 1: its upper word)."""
    return VM_REGS + 8 * reg + 4 * half
