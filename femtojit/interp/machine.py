"""The Python side of the interpreter: memory layout, entry state, helper calls, results.

The numba core (core.py) runs until it needs Python; this driver lays the regions of the
canonical memory map out in one byte buffer, sets up the registers, calls helpers when the
core stops at a `call`, resumes it, and turns the final state into a RunResult.
"""

from __future__ import annotations

import numpy as np

from femtojit import memmap
from femtojit.helpers import CheckedMemory, HelperCall, HelperFault, HelperRegistry, Runtime
from femtojit.interp import core
from femtojit.interp.decode import Decoded, decode_cached
from femtojit.memmap import HostRegion, MemoryImage
from femtojit.profile import FEMTO
from femtojit.program import Program
from femtojit.result import RunResult
from femtojit.status import Status

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

#: Instructions the core runs before giving Python a chance to see Ctrl-C (checked at taken
#: jumps only, which is where every unbounded loop passes).
CHUNK_INSNS = 1 << 24


class InterpMemory(CheckedMemory):
    """Container memory as helpers see it (the shared region rule of CheckedMemory), over the
    interpreter's one flat buffer holding every region."""

    def __init__(self, image: MemoryImage, buffer: np.ndarray, offsets: list[int]):
        self._bases = [(r.start, r.end, base) for r, base in zip(image.regions, offsets)]
        self._buffer = buffer
        super().__init__(
            [(r.start, r.end, r.perm) for r in image.regions], self._read_bytes, self._write_bytes
        )

    def _at(self, addr: int) -> int:
        """Buffer index of an address that CheckedMemory already found inside a region."""
        for start, end, base in self._bases:
            if start <= addr < end:
                return base + addr - start
        raise AssertionError(f"{addr:#x} is in no region")

    def _read_bytes(self, addr: int, size: int) -> bytes:
        p = self._at(addr)
        return self._buffer[p : p + size].tobytes()

    def _write_bytes(self, addr: int, data: bytes) -> None:
        p = self._at(addr)
        self._buffer[p : p + len(data)] = np.frombuffer(data, dtype=np.uint8)


class Machine:
    """One run's state: decoded code, memory buffer, registers, frames, core state."""

    def __init__(
        self,
        program: Program,
        *,
        ctx: bytes,
        host: list[HostRegion] | None,
        profile: str,
        budget: int | None,
        helpers: HelperRegistry,
        runtime: Runtime,
    ):
        self.profile = profile
        self.helpers = helpers
        self.runtime = runtime
        self.image = memmap.build_memory(program.data, program.rodata, ctx, host)
        self.code: Decoded = decode_cached(
            tuple(program.slots), program.entry, profile, memmap.DATA_BASE, memmap.RODATA_BASE
        )

        offsets: list[int] = []
        total = 0
        for region in self.image.regions:
            offsets.append(total)
            total += len(region.data)
        self.offsets = offsets
        self.buffer = np.zeros(max(total, 1), dtype=np.uint8)
        for region, base in zip(self.image.regions, offsets):
            self.buffer[base : base + len(region.data)] = np.frombuffer(
                bytes(region.data), dtype=np.uint8
            )
        regions = self.image.regions
        self.rstart = np.array([r.start for r in regions], dtype=np.uint64)
        self.rend = np.array([r.end for r in regions], dtype=np.uint64)
        self.rperm = np.array([r.perm for r in regions], dtype=np.int64)
        self.rbase = np.array(offsets, dtype=np.int64)
        self.memory = InterpMemory(self.image, self.buffer, offsets)

        self.regs = np.zeros(core.NUM_REG_SLOTS, dtype=np.uint64)
        self.regs[1] = memmap.CTX_BASE
        self.regs[2] = 0 if profile == FEMTO else len(ctx)
        self.regs[10] = memmap.STACK_TOP
        self.frame_pc = np.zeros(core.MAX_FRAMES, dtype=np.int64)
        self.frame_regs = np.zeros(core.MAX_FRAMES * 4, dtype=np.uint64)
        self.state = np.zeros(core.STATE_SIZE, dtype=np.int64)
        self.state[core.ST_PC] = self.code.entry
        self.state[core.ST_HAS_BUDGET] = 0 if budget is None else 1
        self.state[core.ST_BUDGET] = 0 if budget is None else budget
        self.state[core.ST_DIV_FAULTS] = 1 if profile == FEMTO else 0

    def run(self) -> RunResult:
        """Run to exit or fault, calling helpers on the way."""
        code = self.code
        while True:
            self.state[core.ST_LIMIT] = self.state[core.ST_INSNS] + CHUNK_INSNS
            event = core.run_core(
                code.kind, code.dst, code.src, code.off, code.imm, code.target,
                self.regs, self.buffer, self.rstart, self.rend, self.rperm, self.rbase,
                self.frame_pc, self.frame_regs, self.state,
            )  # fmt: skip
            if event == core.EVENT_YIELD:
                continue
            if event == core.EVENT_HELPER:
                status = self._call_helper(int(self.state[core.ST_HELPER_ID]))
                if status == 0:
                    self.state[core.ST_PC] += 1
                    continue
                return self._result(status)
            return self._result(int(event))

    def _call_helper(self, helper_id: int) -> int:
        """Run helper `helper_id` on the current registers; 0 or the fault status."""
        if helper_id not in self.helpers:
            return int(Status.ILLEGAL_CALL)
        helper = self.helpers[helper_id]
        regs = [int(v) for v in self.regs[:11]]
        call = HelperCall(regs, self.memory, self.runtime, self.profile)
        try:
            value = int(helper.fn(call))
        except HelperFault as fault:
            return fault.status if fault.status < 0 else int(Status.ILLEGAL_CALL)
        self.regs[0] = value & (M32 if self.profile == FEMTO else M64)
        for i in range(1, 6):
            self.regs[i] = call.regs[i] & M64
        return 0

    def snapshot(self) -> dict[str, bytes]:
        """Region contents by name, as the run left them."""
        out = {}
        for region, base in zip(self.image.regions, self.offsets):
            out[region.name] = self.buffer[base : base + len(region.data)].tobytes()
        return out

    def _result(self, status: int) -> RunResult:
        return RunResult(
            status=status,
            result=int(self.regs[0]),
            engine="interp",
            insns=int(self.state[core.ST_INSNS]),
            memory=self.snapshot(),
        )
