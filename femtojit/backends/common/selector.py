"""The target-independent part of instruction selection, shared by every backend's Selector.

A backend's selector walks a prepared, register-allocated IR function (common/prep.py, the IR
allocator) and appends machine items to an assembler (common/assembler.py). What does not
depend on the instruction set lives here:

- **locations**: every variable has one location for its whole life (`where`): a register,
  a spill slot of the frame, or for a constant the value itself;
- **out-of-line code**: stubs keyed by what they do (one fault stub per (r0 location,
  status), like Cranelift's deferred traps) and slow paths, emitted after the function body
  (`deferred_stub`, `defer`, `flush_deferred`);
- **region-scan variants**: one entry per (access size, permission, cache fill size);
- **parallel moves**: the order of single moves that performs several moves at once
  (`sequence_moves`), cycles broken through a temporary;
- **dispatch** of ops to the target's handlers.

A target frame provides `slot_offset(slot)` and `vm_offset` (where a spilled vm pointer
lives); a target selector provides `emit_fault_stub(lo, hi, status)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from femtojit.backends.common.assembler import Label
from femtojit.ir import types as T
from femtojit.ir.regalloc import Allocation
from femtojit.ir.types import Const, Var

Loc = tuple  # ("reg", n) | ("slot", byte offset) | ("const", value)


def sequence_moves(moves: list[tuple[Loc, Loc]], temp) -> list[tuple[Loc, Loc]]:
    """Single moves (dst, src), in order, that perform all of `moves` at once.

    Destinations are distinct; a slot is never both a destination and a source. Moves into
    slots come first (they read registers before any register is overwritten); register
    moves follow, each one as soon as its destination is no longer needed as a source; a
    cycle is broken by a move of one source into the register `temp`.
    """
    moves = [(d, s) for d, s in moves if d != s]
    out = [(d, s) for d, s in moves if d[0] == "slot"]
    assert all(s not in [d for d, _ in out] for _, s in moves)
    pending = [(d, s) for d, s in moves if d[0] == "reg"]
    while pending:
        sources = [s[1] for _, s in pending if s[0] == "reg"]
        for i, (d, s) in enumerate(pending):
            if d[1] not in sources:
                out.append((d, s))
                pending.pop(i)
                break
        else:  # a cycle of register moves: break it through temp
            _, s = pending[0]
            out.append((("reg", temp), s))
            pending = [(d2, ("reg", temp) if s2 == s else s2) for d2, s2 in pending]
    return out


class SelectorBase:
    """State and helpers every target's Selector shares; subclasses fill `handlers`."""

    target: ClassVar[str] = "?"
    handlers: ClassVar[dict[type, Callable]] = {}

    def __init__(self, fn: T.Function, alloc: Allocation, frame, vm: Var, asm):
        self.fn = fn
        self.alloc = alloc
        self.frame = frame
        self.vm = vm
        self.asm = asm
        self.labels = {b.id: asm.label(f"b{b.id}") for b in fn.blocks}
        self.stubs: dict[tuple, Label] = {}
        self.deferred: list[Callable[[], None]] = []
        self.scan_variants: dict[tuple[int, int, int], Label] = {}
        self.stats: dict[str, int] = {"guards_region": 0, "guards_cached": 0,
                                      "fault_stubs": 0}

    # ---- locations ------------------------------------------------------------------------

    def where(self, operand) -> Loc:
        if isinstance(operand, Const):
            return ("const", operand.value)
        kind, place = self.alloc.location(operand)
        if kind == "reg":
            return ("reg", place)
        if operand == self.vm:  # a spilled vm pointer has a slot of its own
            return ("slot", self.frame.vm_offset)
        return ("slot", self.frame.slot_offset(place))

    # ---- out-of-line code -----------------------------------------------------------------

    def defer(self, emit: Callable[[], None]) -> None:
        """Emit this after the function body (slow paths, stubs)."""
        self.deferred.append(emit)

    def deferred_stub(self, key: tuple, name: str, body: Callable[[], None]) -> Label:
        """The label of the out-of-line stub `key`, made (label bound, then `body`) the first
        time it is asked for."""
        if key not in self.stubs:
            label = self.asm.label(name)
            self.stubs[key] = label

            def emit():
                self.asm.bind(label)
                body()

            self.defer(emit)
        return self.stubs[key]

    def flush_deferred(self) -> None:
        while self.deferred:
            self.deferred.pop(0)()

    def fault_stub(self, r0lo, r0hi, status: int) -> Label:
        """A stub that ends the run with `status` and result (r0hi:r0lo) as they are here
        (one per distinct pair of locations and status)."""
        lo, hi = self.where(r0lo), self.where(r0hi)
        key = (lo, hi, status)
        if key not in self.stubs:
            self.stats["fault_stubs"] += 1
        return self.deferred_stub(key, f"fault{-status}",
                                  lambda: self.emit_fault_stub(lo, hi, status))

    def emit_fault_stub(self, lo: Loc, hi: Loc, status: int) -> None:
        raise NotImplementedError

    def scan_entry(self, size: int, perm: int, fill: int) -> Label:
        """The entry of the region scan for one kind of access (emitted with the routines)."""
        key = (size, perm, fill)
        if key not in self.scan_variants:
            self.scan_variants[key] = self.asm.label(f"scan_{size}_{perm}_{fill}")
        return self.scan_variants[key]

    # ---- dispatch -------------------------------------------------------------------------

    def op(self, op) -> None:
        kind = type(op)
        self.asm.tag = kind.__name__
        handler = self.handlers.get(kind)
        if handler is None:
            raise NotImplementedError(
                f"{self.target}: no instruction selection for {kind.__name__}")
        handler(self, op)
