"""The memory-walk programs shared by tests/test_armv7m_memory.py and
tests/test_rv32_memory.py.

A pointer walks through a region (forwards off its end, backwards off its start) at run-time
steps and alignments given in ctx, accessing it at each step, so the check's fast path (the
hinted region's bounds, or the per-pointer cache the first access fills) is the one that
must stop the walk at exactly the right access. `check_walks` runs every walk of one case
on the interpreter and on a target's translations; `check_overlapping_region_cache` checks
that the cache is not filled from a region an earlier region overlaps.
"""

from __future__ import annotations

import struct

import pytest

from femtojit import isa
from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.helpers import Runtime
from femtojit.interp import run as interp_run
from femtojit.isa import Insn
from femtojit.memmap import HOST_BASE, PERM_READ, PERM_RW, HostRegion, build_memory
from femtojit.program import Program
from femtojit.translation import compare_outcomes, translate

CTX_HEAD = 32  # delta, step, count, host pointer; then the ctx's own bytes
CTX_BYTES = bytes(range(7, 7 + 45))
HOSTS = [HostRegion(bytes(range(100, 100 + 37)), PERM_RW),
         HostRegion(bytes(range(200, 200 + 29)), PERM_READ)]
DATA = bytes(range(1, 42))
RODATA = bytes(range(50, 83))

REGIONS = {  # name: (instructions setting r6 to the region's start, region length)
    "stack": ([Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 6, 10),
               Insn(isa.CLS_ALU64 | isa.ALU_ADD, 6, 0, 0, -512)], 512),
    "data": ([Insn(isa.OP_LDDWD, 6), Insn(0)], len(DATA)),
    "rodata": ([Insn(isa.OP_LDDWR, 6), Insn(0)], len(RODATA)),
    "ctx": ([Insn(isa.CLS_ALU64 | isa.ALU_MOV | isa.SRC_X, 6, 1)], CTX_HEAD + len(CTX_BYTES)),
    "host_rw": ([Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 6, 1, 24)], len(HOSTS[0].data)),
    "host_r": ([Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 6, 1, 24)], len(HOSTS[1].data)),
}
SIZES = {1: isa.SIZE_B, 2: isa.SIZE_H, 4: isa.SIZE_W, 8: isa.SIZE_DW}


def walker(setup: list[Insn], size: int, kind: str, off: int) -> Program:
    """r6 = region start + delta; repeat count times: access [r6 + off]; r6 += step."""
    code = list(setup) + [
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 7, 1, 0),  # delta
        Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 6, 7),
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 8, 1, 8),  # step
        Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 9, 1, 16),  # count
        Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 0),
    ]
    sc = SIZES[size]
    if kind == "load":
        body = [Insn(isa.CLS_LDX | isa.MODE_MEM | sc, 3, 6, off),
                Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 3)]
    elif kind == "load_signed":
        body = [Insn(isa.CLS_LDX | isa.MODE_MEMSX | sc, 3, 6, off),
                Insn(isa.CLS_ALU64 | isa.ALU_XOR | isa.SRC_X, 0, 3)]
    elif kind == "fused":  # three loads of one pointer: one fused check, parts in order
        body = [Insn(isa.CLS_LDX | isa.MODE_MEM | sc, 3, 6, off),
                Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_B, 4, 6, off + size + 1),
                Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_H, 5, 6, off - 3),
                Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 3, 4),
                Insn(isa.CLS_ALU64 | isa.ALU_XOR | isa.SRC_X, 3, 5),
                Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 3)]
    elif kind == "rmw":  # load, modify, store back: the store's check is implied by the load's
        body = [Insn(isa.CLS_LDX | isa.MODE_MEM | sc, 3, 6, off),
                Insn(isa.CLS_ALU64 | isa.ALU_ADD, 3, 0, 0, 7),
                Insn(isa.CLS_STX | isa.MODE_MEM | sc, 6, 3, off),
                Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 3)]
    elif kind == "store":
        body = [Insn(isa.CLS_STX | isa.MODE_MEM | sc, 6, 9, off),
                Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1)]
    elif kind == "store_imm":
        body = [Insn(isa.CLS_ST | isa.MODE_MEM | sc, 6, 0, off, -0x5A5A5A5B),
                Insn(isa.CLS_ALU64 | isa.ALU_ADD, 0, 0, 0, 1)]
    else:  # atomic fetch-add
        body = [Insn(isa.CLS_ALU64 | isa.ALU_MOV, 3, 0, 0, 0x01010101),
                Insn(isa.CLS_STX | isa.MODE_ATOMIC | sc, 6, 3, off,
                     isa.ATOMIC_ADD | isa.ATOMIC_FETCH),
                Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 0, 3)]
    body += [Insn(isa.CLS_ALU64 | isa.ALU_ADD | isa.SRC_X, 6, 8),
             Insn(isa.CLS_ALU64 | isa.ALU_SUB, 9, 0, 0, 1)]
    loop = body + [Insn(isa.CLS_JMP | isa.JMP_JNE, 9, 0, -(len(body) + 1), 0)]
    return Program(code + loop + [Insn(isa.OP_EXIT)], data=DATA, rodata=RODATA)


def walks(length: int, size: int, off: int) -> list[tuple[int, int, int]]:
    """(delta, step, count) runs that cross the end and the start of a region, at several
    alignments; each starts well inside and walks out."""
    out = []
    for step in (size, 1, 3):
        for slack in (0, 1, 2):
            start = max(0, length - size - off - step * 3 - slack)
            out.append((start, step, 8))  # forwards past the end
            out.append((min(length - 1, step * 2 + slack) - off, -step, 8))  # back past start
    out.append((length - size - off, 1, 1))  # exactly the last bytes
    out.append((-off, 1, 1))  # exactly the first bytes
    out.append((length - off, 1, 1))  # just past the end
    out.append((-1 - off, 1, 1))  # just before the start
    out.append((-(1 << 31), 1 << 30, 4))  # far away, wrapping around
    return out


def walk_ctx(delta: int, step: int, count: int, region: str) -> bytes:
    host = HOST_BASE if region != "host_r" else HOST_BASE + 0x10_0000
    head = struct.pack("<qqqQ", delta, step, count, host)
    return head + CTX_BYTES


def walk_cases(kinds: tuple[str, ...]) -> list:
    """pytest params (region, size, kind) of every region, size and kind that exists."""
    cases = []
    for region in REGIONS:
        for size in (1, 2, 4, 8):
            for kind in kinds:
                if kind == "atomic" and size < 4 or kind == "load_signed" and size == 8:
                    continue
                cases.append(pytest.param(region, size, kind, id=f"{region}-{kind}{size}"))
    return cases


def check_walks(target: str, region: str, size: int, kind: str,
                variants: tuple[tuple[tuple[int, ...] | None, bool], ...]) -> None:
    """Every walk of `kind` accesses of `size` bytes off both ends of `region`, at offsets 0
    and 5: interpreter vs the target's translation under each (registers, use_hints)."""
    setup, length = REGIONS[region]
    registry = builtin_registry("rfc")
    for off in (0, 5):
        program = walker(setup, size, kind, off)
        translations = [
            translate(program, target=target, profile="rfc", budget=None,
                      backend_options=BackendOptions(registers=regs, use_hints=hints))
            for regs, hints in variants
        ]
        for delta, step, count in walks(length, size, off):
            ctx = walk_ctx(delta, step, count, region)
            ref = interp_run(program, ctx=ctx, host=HOSTS, profile="rfc", budget=None,
                             helpers=registry)
            for tr in translations:
                got = tr.run(ctx=ctx, host=HOSTS, helpers=registry)
                problem = compare_outcomes(ref, got)
                assert problem is None, (f"off {off} delta {delta} step {step}: {problem}\n"
                                         f"{tr.ir_listing()}")


def check_overlapping_region_cache(target: str) -> None:
    """Host regions may alias: with host0 = a read-only window inside host1 (earlier in the
    table), a store into host1 outside the window is allowed, but one into the window must
    fault even right after the other store went through the same pointer's cache."""
    from femtojit.emu import layout
    from femtojit.emu.unicorn_harness import UnicornHarness

    program = walker(REGIONS["host_rw"][0], 4, "store", 0)
    tr = translate(program, target=target, profile="rfc", budget=None)
    big = HostRegion(bytes(64), PERM_RW)
    window = (HOST_BASE + 24, 8, PERM_READ)  # [24, 32) read-only
    for delta, expect_status, expect_stores in ((0, -2, 3), (32, 0, 4)):
        image = build_memory(DATA, RODATA, walk_ctx(delta, 8, 4, "host_rw"), [big])
        harness = UnicornHarness(target, tr.code, image)
        harness.use_helpers(builtin_registry("rfc"), Runtime(), "rfc")
        vm = harness.setup_abi_vm([], None)
        table = layout.pack_region_table(image)
        table = table[:4 * 12] + struct.pack("<III", *window) + table[4 * 12:]
        harness.uc.mem_write(layout.REGION_TABLE_ADDR, table)
        harness.uc.mem_write(vm + layout.VM_N_REGIONS, struct.pack("<I", 6))
        harness.policy.read.append((layout.REGION_TABLE_ADDR, layout.REGION_TABLE_ADDR + 72))
        outcome = harness.call(tr.entry_offset, [vm])
        status, result, _ = harness.read_vm()
        assert outcome.ret[0] == status & 0xFFFFFFFF
        assert (status, result) == (expect_status, expect_stores), delta
