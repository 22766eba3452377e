"""The part of instruction selection that every target writes the same way.

`common/selector.py`'s `SelectorBase` keeps the bookkeeping (locations, out-of-line stubs,
scan variants, op dispatch). `LoweringBase` adds, on top of it, the selection code that is
the same op for op on every target, written against a few methods each target's Selector
provides:

- `load_field(d, base, offset)`: d := the word at base + offset; the vm and region-table
  ops of common/prep.py (VmParam, RegionsBase, RegionStart, HelperAddr) are nothing else;
- `jump(label)`, `branch(term, next_id)`, `exit(r0lo, r0hi)`, `ret(term)`: the
  terminators, dispatched here;
- a `routines` module with the same functions on every target (`emit_scan_variant`,
  `emit_scan_common`, `emit_udivmod64`, `emit_signed_div64`), handed to `emit_routines`.

`common_handlers` is the op -> handler table every target's Selector starts from.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from femtojit.backends.common.assembler import Label
from femtojit.backends.common.prep import (
    GuardMem,
    HelperAddr,
    HelperCall,
    KeepVm,
    RegionLimit,
    RegionsBase,
    RegionStart,
    StoreRegs,
    VmArg,
    VmParam,
)
from femtojit.backends.common.selector import SelectorBase
from femtojit.backends.common.vmabi import (
    PARAM_FIELDS,
    REGION_ENTRY_SIZE,
    REGION_START,
    VM_REGIONS,
)
from femtojit.ir import types as T
from femtojit.ir.types import Var
from femtojit.status import Status

M32 = 0xFFFFFFFF
#: Bin ops whose operands may be swapped (selection puts a constant second).
COMMUTATIVE = frozenset({"add", "mul", "and", "or", "xor"})


class LoweringBase(SelectorBase):
    """SelectorBase plus the handlers and routine bookkeeping shared by every target."""

    def __init__(self, fn: T.Function, alloc, frame, vm: Var, asm):
        super().__init__(fn, alloc, frame, vm, asm)
        #: 64-bit division routines called: "udivmod" (the unsigned core), "sdiv", "srem".
        self.div_routines: dict[str, Label] = {}

    # ---- hooks of the target --------------------------------------------------------------

    def load_field(self, d: Var, base, offset: int) -> None:
        """d := the word at base + offset."""
        raise NotImplementedError

    def jump(self, label: Label) -> None:
        """An unconditional jump to label."""
        raise NotImplementedError

    # ---- locations ------------------------------------------------------------------------

    def dest(self, var: Var, scratch: int) -> int:
        """The register to compute var into (its own, or scratch when it is spilled)."""
        loc = self.where(var)
        return loc[1] if loc[0] == "reg" else scratch

    # ---- the vm and region-table words (common/prep.py) -----------------------------------

    def op_vmparam(self, op: VmParam) -> None:
        self.load_field(op.d, op.vm, PARAM_FIELDS[op.name])

    def op_regions_base(self, op: RegionsBase) -> None:
        self.load_field(op.d, op.vm, VM_REGIONS)

    def op_region_start(self, op: RegionStart) -> None:
        self.load_field(op.d, op.regions, REGION_ENTRY_SIZE * op.region + REGION_START)

    def op_helper_addr(self, op: HelperAddr) -> None:
        self.load_field(op.d, op.helpers, 4 * op.index)

    def op_keepvm(self, op: KeepVm) -> None:
        """Only keeps the vm pointer live for the allocator: no code."""

    # ---- memory checks and routines -------------------------------------------------------

    def guard_scans(self, g: GuardMem) -> tuple[Label, tuple, list[Label]]:
        """What a check's miss path needs: the fault stub, the accesses it checks one by one
        ((offset, size), fused ones in program order) and the scan entry of each (only the
        last one fills the cache)."""
        fault = self.fault_stub(g.r0lo, g.r0hi, Status.ILLEGAL_MEM)
        parts = g.parts or ((g.off, g.size),)
        scans = [self.scan_entry(size, g.perm, g.fill if i == len(parts) - 1 else 0)
                 for i, (_, size) in enumerate(parts)]
        return fault, parts, scans

    def div64_entry(self, name: str) -> Label:
        """The routine a Div64 op `name` calls: the unsigned core for udiv and urem, a signed
        wrapper for sdiv and srem (which calls the core, so the core is always emitted)."""
        routine = "udivmod" if name in ("udiv", "urem") else name
        if routine not in self.div_routines:
            self.div_routines[routine] = self.asm.label(f"{routine}64")
        if "udivmod" not in self.div_routines:
            self.div_routines["udivmod"] = self.asm.label("udivmod64")
        return self.div_routines[routine]

    def emit_routines(self, routines: ModuleType, **scan_args) -> None:
        """The region scan (one entry per variant the checks asked for, then the shared loop)
        and the 64-bit division routines called, each once, from the target's `routines`
        module; `scan_args` are what its `emit_scan_common` takes besides asm and label."""
        asm = self.asm
        if self.scan_variants:
            common = asm.label("scan")
            for (size, perm, fill), label in sorted(self.scan_variants.items()):
                routines.emit_scan_variant(asm, label, common, size, perm, fill)
            routines.emit_scan_common(asm, common, **scan_args)
        if self.div_routines:
            core = self.div_routines["udivmod"]
            routines.emit_udivmod64(asm, core)
            for name in ("sdiv", "srem"):
                if name in self.div_routines:
                    routines.emit_signed_div64(asm, self.div_routines[name], core,
                                               remainder=name == "srem")

    # ---- terminators ----------------------------------------------------------------------

    def jump_unless_next(self, block_id: int, next_id) -> None:
        """A jump to the block, left out when it is laid out next."""
        if block_id != next_id:
            self.jump(self.labels[block_id])

    def terminator(self, term, next_id) -> None:
        self.asm.tag = type(term).__name__
        if isinstance(term, (T.Jump, T.LocalCall)):
            self.jump_unless_next(term.target, next_id)
        elif isinstance(term, T.Branch):
            if term.taken == term.fallthrough:  # both ways lead to one block
                self.jump_unless_next(term.taken, next_id)
            else:
                self.branch(term, next_id)
        elif isinstance(term, T.Exit):
            self.exit(term.r0lo, term.r0hi)
        elif isinstance(term, T.Return):
            self.ret(term)
        else:
            raise NotImplementedError(f"{self.target}: terminator {type(term).__name__}")

    def branch(self, term: T.Branch, next_id) -> None:
        """A conditional branch to two different blocks."""
        raise NotImplementedError

    def exit(self, r0lo, r0hi) -> None:
        """vm->result = r0, vm->status = 0, return 0."""
        raise NotImplementedError

    def ret(self, term: T.Return) -> None:
        """Return from a local call, or exit when no frame is on the frame stack."""
        raise NotImplementedError


def common_handlers(selector: type[LoweringBase]) -> dict[type, Callable]:
    """The handler of each op every target selects, taken from the target's Selector class
    (which defines the ISA-specific ones); a target adds its own entries."""
    return {
        T.Mov: selector.op_mov,
        T.Bin: selector.op_bin,
        T.Un: selector.op_un,
        T.Add64: selector.op_addsub64,
        T.Sub64: selector.op_addsub64,
        T.MulWide: selector.op_mulwide,
        T.Shift64: selector.op_shift64,
        T.Div64: selector.op_div64,
        T.CheckDivZero: selector.op_divzero,
        T.BudgetTick: selector.op_budget,
        HelperCall: selector.op_call,
        StoreRegs: selector.op_store_regs,
        HelperAddr: selector.op_helper_addr,
        T.PushFrame: selector.op_push_frame,
        T.PopFrame: selector.op_pop_frame,
        VmArg: selector.op_vmarg,
        VmParam: selector.op_vmparam,
        RegionsBase: selector.op_regions_base,
        KeepVm: selector.op_keepvm,
        RegionStart: selector.op_region_start,
        RegionLimit: selector.op_region_limit,
        GuardMem: selector.op_guard,
    }
