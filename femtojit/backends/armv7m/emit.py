"""The Thumb-2 assembler buffer: labels, branch relaxation, the literal pool, final bytes.

Instruction selection appends items to an `Asm`: fixed instructions (already encoded bytes),
labels, and the few PC-relative forms whose size depends on where things end up:

- `b` / `b<c>` to a label: `B` T2 (16-bit, +-2 KiB) or `B.W` T4; `B<c>` T1 (+-256 B),
  `B<c>.W` T3 (+-1 MiB), or the inverted T1 over a `B.W` T4 (+-16 MiB);
- `cbz`/`cbnz`: CBZ (16-bit, 4..130 B forward only), else `cmp rn, #0` + `b<c>` (T1, then T3);
- a 32-bit constant from the literal pool (placed once, after the code, entries shared):
  `LDR` T1 (low register, up to 1020 B forward), `LDR.W` T2 (+-4095 B), else `MOVW`+`MOVT`;
- a code address with the Thumb bit (local-call return addresses): `ADR.W`, or an `ADR.W`
  to a `B.W` trampoline placed right after it when the target is further than 4 KiB.

Layout and relaxation are the target-independent driver of `common.assembler`: every item
starts in its shortest form and grows until it reaches (sizes only grow, so this ends); then
every item is encoded through the checked encoders, so a displacement that does not fit can
only be an EncodingError, never wrong bytes. The literal pool is this target's appended data
(`place_data` / `data_bytes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from femtojit.backends.armv7m import encode as E
from femtojit.backends.armv7m.encode import Cond
from femtojit.backends.common.assembler import Assembled as _Assembled
from femtojit.backends.common.assembler import Assembler, Label, Relaxable

__all__ = ["Asm", "Assembled", "Label"]


class _Branch(Relaxable):
    """`b` / `b<c>` to a label: T2 / T4, or T1 / T3 / inverted T1 over T4."""

    def __init__(self, cond: Cond | None, target: Label):
        self.cond, self.target = cond, target
        self.form = 0

    def __repr__(self) -> str:
        return f"b{self.cond.name.lower() if self.cond else ''} {self.target.name}"

    def sizes(self) -> tuple[int, ...]:
        return (2, 4) if self.cond is None else (2, 4, 6)

    def fits(self, at: int, pool) -> bool:
        target = self.target.address
        if self.cond is None:
            return (E.B_T2, E.B_T4)[self.form].fits(at, target - at)
        if self.form == 2:
            return E.B_T4.fits(at + 2, target - at - 2)
        return (E.B_T1, E.B_T3)[self.form].fits(at, target - at)

    def encode(self, at: int, pool) -> tuple[bytes, int]:
        off = self.target.address - at
        if self.cond is None:
            if self.form == 0:
                return E.t2_b(E.B_T2.displacement(at, off)), 1
            return E.t4_b(E.B_T4.displacement(at, off)), 1
        if self.form == 0:
            return E.t1_b_cond(self.cond, E.B_T1.displacement(at, off)), 1
        if self.form == 1:
            return E.t3_b_cond(self.cond, E.B_T3.displacement(at, off)), 1
        skip = E.t1_b_cond(self.cond.invert(), E.B_T1.displacement(at, 6))
        return skip + E.t4_b(E.B_T4.displacement(at + 2, off - 2)), 2


class _Cbz(Relaxable):
    """`cbz`/`cbnz`: CBZ, else `cmp rn, #0` + `b<c>` (T1, then T3)."""

    def __init__(self, reg: int, nonzero: bool, target: Label):
        self.reg, self.nonzero, self.target = reg, nonzero, target
        self.form = 0

    def __repr__(self) -> str:
        return f"cb{'n' if self.nonzero else ''}z r{self.reg}, {self.target.name}"

    def sizes(self) -> tuple[int, ...]:
        return (2, 4, 6)

    def fits(self, at: int, pool) -> bool:
        target = self.target.address
        if self.form == 0:
            return E.CBZ_T1.fits(at, target - at)
        return (E.B_T1, E.B_T3)[self.form - 1].fits(at + 2, target - at - 2)

    def encode(self, at: int, pool) -> tuple[bytes, int]:
        off = self.target.address - at
        if self.form == 0:
            encoder = E.t1_cbnz if self.nonzero else E.t1_cbz
            return encoder(self.reg, E.CBZ_T1.displacement(at, off)), 1
        cond = Cond.NE if self.nonzero else Cond.EQ
        cmp = E.t1_cmp_imm8(self.reg, 0)
        if self.form == 1:
            return cmp + E.t1_b_cond(cond, E.B_T1.displacement(at + 2, off - 2)), 2
        return cmp + E.t3_b_cond(cond, E.B_T3.displacement(at + 2, off - 2)), 2


class _Literal(Relaxable):
    """A 32-bit constant: `LDR` T1 / `LDR.W` T2 from the pool, else `MOVW`+`MOVT`."""

    def __init__(self, reg: int, value: int):
        self.reg, self.value = reg, value
        self.form = 0

    def __repr__(self) -> str:
        return f"ldr r{self.reg}, ={self.value:#x}"

    def sizes(self) -> tuple[int, ...]:
        return (2, 4, 8) if self.reg < 8 else (4, 8)

    @property
    def in_pool(self) -> bool:
        return self.sizes()[self.form] != 8

    def fits(self, at: int, pool) -> bool:
        size = self.sizes()[self.form]
        if size == 8:
            return True
        use = E.LDR_LIT_T1 if size == 2 else E.LDR_LIT_T2
        return use.fits(at, pool[self.value] - at)

    def encode(self, at: int, pool) -> tuple[bytes, int]:
        size = self.sizes()[self.form]
        if size == 8:
            return (E.t3_movw(self.reg, self.value & 0xFFFF)
                    + E.t1_movt(self.reg, self.value >> 16)), 2
        off = pool[self.value] - at
        if size == 2:
            return E.t1_ldr_lit(self.reg, E.LDR_LIT_T1.displacement(at, off)), 1
        return E.t2_ldr_lit(self.reg, E.LDR_LIT_T2.displacement(at, off)), 1


class _Adr(Relaxable):
    """A code address + addend: `ADR.W`, or `ADR.W` to a `B.W` trampoline placed after it."""

    def __init__(self, reg: int, target: Label, addend: int):
        self.reg, self.target, self.addend = reg, target, addend
        self.form = 0

    def __repr__(self) -> str:
        return f"adr r{self.reg}, {self.target.name}+{self.addend}"

    def sizes(self) -> tuple[int, ...]:
        return (4, 10)

    def fits(self, at: int, pool) -> bool:
        target = self.target.address + self.addend
        if self.form == 0:
            return E.ADR_W.fits(at, target - at)
        tramp = at + 6
        return E.ADR_W.fits(at, tramp + 1 - at) and E.B_T4.fits(
            tramp, target - self.addend - tramp)

    def encode(self, at: int, pool) -> tuple[bytes, int]:
        target = self.target.address + self.addend
        if self.form == 0:
            disp = E.ADR_W.displacement(at, target - at)
            return (E.t3_adr(self.reg, disp) if disp >= 0 else E.t2_adr(self.reg, disp)), 1
        tramp = at + 6
        disp = E.ADR_W.displacement(at, tramp + 1 - at)
        adr = E.t3_adr(self.reg, disp) if disp >= 0 else E.t2_adr(self.reg, disp)
        skip = E.t2_b(E.B_T2.displacement(at + 4, 6))
        jump = E.t4_b(E.B_T4.displacement(tramp, target - self.addend - tramp))
        return adr + skip + jump, 3


class _Bl(Relaxable):
    """`BL` to a local routine (always 32-bit, +-16 MiB)."""

    def __init__(self, target: Label):
        self.target = target
        self.form = 0

    def __repr__(self) -> str:
        return f"bl {self.target.name}"

    def sizes(self) -> tuple[int, ...]:
        return (4,)

    def fits(self, at: int, pool) -> bool:
        return E.BL_T1.fits(at, self.target.address - at)

    def encode(self, at: int, pool) -> tuple[bytes, int]:
        return E.t1_bl(E.BL_T1.displacement(at, self.target.address - at)), 1


@dataclass
class Assembled(_Assembled):
    @property
    def pool_offset(self) -> int:
        """Where the literal pool starts (data, not code, from here on)."""
        return self.data_offset


class Asm(Assembler):
    """The Thumb-2 buffer: `emit` for fixed instructions, plus the relaxable forms."""

    def b(self, target: Label, cond: Cond | None = None) -> None:
        if cond == Cond.AL:
            cond = None
        self.add(_Branch(cond, target))

    def bl(self, target: Label) -> None:
        """`BL` to a local routine (always 32-bit, +-16 MiB)."""
        self.add(_Bl(target))

    def cbz(self, reg: int, target: Label, nonzero: bool = False) -> None:
        """`cbz`/`cbnz` on a low register; may become `cmp reg, #0` + `b<c>` (flags!)."""
        if reg >= 8:
            raise ValueError("cbz needs a low register")
        self.add(_Cbz(reg, nonzero, target))

    def literal(self, reg: int, value: int) -> None:
        """reg := value (32-bit) from the literal pool; never touches the flags."""
        self.add(_Literal(reg, value & 0xFFFFFFFF))

    def adr(self, reg: int, target: Label, addend: int = 1) -> None:
        """reg := address of target + addend (addend 1: a Thumb code address)."""
        self.add(_Adr(reg, target, addend))

    # ---- the literal pool: placed once, after the code, entries shared -----------------

    def place_data(self, code_end: int) -> dict[int, int]:
        """Literal value -> its address in the pool (for the literals currently using it)."""
        pool: dict[int, int] = {}
        pool_at = (code_end + 3) & ~3
        for item in self.items:
            if isinstance(item, _Literal) and item.in_pool and item.value not in pool:
                pool[item.value] = pool_at + 4 * len(pool)
        return pool

    def data_bytes(self, code_end: int, pool: dict[int, int]) -> bytes:
        if not pool:
            return b""
        out = bytearray(-code_end % 4)
        for value, address in sorted(pool.items(), key=lambda kv: kv[1]):
            assert code_end + len(out) == address
            out += value.to_bytes(4, "little")
        return bytes(out)

    def assemble(self) -> Assembled:
        out = super().assemble()
        return Assembled(out.code, out.labels, out.data_offset, out.instructions, out.tags)
