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
from femtojit.backends.common.backend import (
    allocatable_registers,
    check_frame_size,
    machine_code,
    routines_push,
)
from femtojit.backends.common.machine import BackendOptions, MachineCode
from femtojit.backends.common.prep import HelperCall, prepare
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
        registers = allocatable_registers(self.name, options, DEFAULT_REGISTERS, check_registers)
        prepared = prepare(fn, compare_imm_ok=lambda v: F.cmp_imm(IP, v) is not None,
                           use_hints=options.use_hints, version_loops=options.version_loops,
                           probe_ranges=True)
        pfn = prepared.fn
        alloc = allocate(pfn, registers, call_clobbered=CALL_CLOBBERED, call_ops=CALL_OPS)
        pushed = tuple(sorted(r for r in alloc.used_registers if r in CALLEE_SAVED))
        has_callx = any(isinstance(op, HelperCall) and op.index is None for _, _, op in pfn.ops())
        frame = Frame(alloc.num_slots, pushed, fn.has_local_calls, has_callx)
        check_frame_size(self.name, frame.local_size, MAX_FRAME, alloc.num_slots)
        selector = Selector(pfn, alloc, frame, callx=has_callx, vm=prepared.vm)
        out = selector.run().assemble()
        return machine_code(
            self.name, fn, prepared, alloc, selector, out,
            frame_size=frame.size + routines_push(selector, SCAN_PUSH, DIV64_PUSH),
            data_offset=out.pool_offset if out.pool_offset < len(out.code) else None,
        )  # fmt: skip


BACKEND = Armv7mBackend()
