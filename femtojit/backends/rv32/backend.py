"""The rv32imc backend object: prepare, allocate, select, assemble."""

from __future__ import annotations

from femtojit.backends.common.backend import (
    allocatable_registers,
    check_frame_size,
    machine_code,
    routines_push,
)
from femtojit.backends.common.machine import BackendOptions, MachineCode
from femtojit.backends.common.prep import HelperCall, prepare
from femtojit.backends.rv32.abi import (
    CALL_CLOBBERED,
    CALLEE_SAVED,
    DEFAULT_REGISTERS,
    MAX_OFFSET,
    Frame,
    check_registers,
)
from femtojit.backends.rv32.adapt import hoist_loop_constants, keep_vm_at_faults, vm_from_a0
from femtojit.backends.rv32.align import aligned_accesses
from femtojit.backends.rv32.lower import Selector
from femtojit.backends.rv32.routines import DIV64_PUSH, SCAN_PUSH
from femtojit.ir import types as T
from femtojit.ir.regalloc import allocate

#: Ops the allocator treats as calls: helper calls and the 64-bit division routine.
CALL_OPS = (HelperCall, T.Div64)


class Rv32Backend:
    name = "rv32imc"

    def translate(self, fn: T.Function, options: BackendOptions | None = None) -> MachineCode:
        options = options or BackendOptions()
        registers = allocatable_registers(self.name, options, DEFAULT_REGISTERS, check_registers)
        # a branch compares two registers: only a zero limit (x0) needs no register
        prepared = prepare(fn, compare_imm_ok=lambda value: value == 0,
                           use_hints=options.use_hints, version_loops=options.version_loops)
        pfn = prepared.fn
        keep_vm_at_faults(prepared)
        hoisted = hoist_loop_constants(prepared)
        precolored = vm_from_a0(prepared, registers)
        alloc = allocate(pfn, registers, call_clobbered=CALL_CLOBBERED, call_ops=CALL_OPS,
                         precolored=precolored)
        saved = tuple(r for r in sorted(alloc.used_registers) if r in CALLEE_SAVED)
        calls = any(isinstance(op, HelperCall) for _, _, op in pfn.ops())
        frame = Frame(alloc.num_slots, saved, fn.has_local_calls, calls,
                      alloc.is_spilled(prepared.vm))
        check_frame_size(self.name, frame.size, MAX_OFFSET, alloc.num_slots)
        selector = Selector(pfn, alloc, frame, vm=prepared.vm, aligned=aligned_accesses(pfn))
        out = selector.run().assemble()
        return machine_code(
            self.name, fn, prepared, alloc, selector, out,
            frame_size=frame.size + routines_push(selector, SCAN_PUSH, DIV64_PUSH),
            constants_hoisted=hoisted,
        )  # fmt: skip


BACKEND = Rv32Backend()
