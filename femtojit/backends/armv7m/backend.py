"""The armv7m backend object: prepare, allocate, select, assemble."""

from __future__ import annotations

from femtojit.backends.armv7m import forms as F
from femtojit.backends.armv7m.abi import (
    CALL_CLOBBERED,
    CALLEE_SAVED,
    DEFAULT_REGISTERS,
    IP,
    Frame,
    check_registers,
)
from femtojit.backends.armv7m.lower import Selector
from femtojit.backends.armv7m.routines import DIV64_PUSH, SCAN_PUSH
from femtojit.backends.common.machine import BackendOptions, MachineCode
from femtojit.backends.common.prep import HelperCall, prepare
from femtojit.errors import TranslateError
from femtojit.ir import types as T
from femtojit.ir.regalloc import allocate

#: Ops the allocator treats as calls: helper calls, and the ops whose expansion uses r0-r3
#: as its own scratch (the 64-bit division routine, variable 64-bit shifts).
CALL_OPS = (HelperCall, T.Shift64, T.Div64)

#: Largest frame offset the selector addresses with one sp-relative load or store.
MAX_FRAME = 4095


class Armv7mBackend:
    name = "armv7m"

    def translate(self, fn: T.Function, options: BackendOptions | None = None) -> MachineCode:
        options = options or BackendOptions()
        try:
            registers = check_registers(
                DEFAULT_REGISTERS if options.registers is None else options.registers)
        except ValueError as error:
            raise TranslateError(f"armv7m: {error}") from None
        prepared = prepare(fn, compare_imm_ok=lambda v: F.cmp_imm(IP, v) is not None,
                           use_hints=options.use_hints, version_loops=options.version_loops,
                           probe_ranges=True)
        pfn = prepared.fn
        alloc = allocate(pfn, registers, call_clobbered=CALL_CLOBBERED, call_ops=CALL_OPS)
        pushed = tuple(sorted(r for r in alloc.used_registers if r in CALLEE_SAVED))
        has_callx = any(isinstance(op, HelperCall) and op.index is None for _, _, op in pfn.ops())
        frame = Frame(alloc.num_slots, pushed, fn.has_local_calls, has_callx)
        if frame.local_size > MAX_FRAME:
            raise TranslateError(
                f"armv7m: the native frame would be {frame.local_size} bytes "
                f"({alloc.num_slots} spill slots); at most {MAX_FRAME} are supported")
        selector = Selector(pfn, alloc, frame, callx=has_callx, vm=prepared.vm)
        asm = selector.run()
        out = asm.assemble()
        extra = max(SCAN_PUSH if selector.scan_variants else 0,
                    DIV64_PUSH if selector.div_routines else 0)
        stats = dict(selector.stats)
        stats.update(
            spill_slots=alloc.num_slots,
            registers_used=len(alloc.used_registers),
            spilled_vars=len(alloc.slots),
            instructions=out.instructions,
            cache_groups=prepared.cache_groups,
            loops_versioned=prepared.loops_versioned,
        )
        return MachineCode(
            target=self.name,
            code=out.code,
            entry_offset=0,
            frame_size=frame.size + extra,
            imports=list(fn.imports),
            labels=out.labels,
            data_offset=out.pool_offset if out.pool_offset < len(out.code) else None,
            stats=stats,
            tags=out.tags,
        )


BACKEND = Armv7mBackend()
