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

Layout starts with every item in its shortest form and grows the ones that do not reach
until nothing changes (sizes only grow, so this ends); then every item is encoded through
the checked encoders, so a displacement that does not fit can only be an EncodingError,
never wrong bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from femtojit.backends.armv7m import encode as E
from femtojit.backends.armv7m.encode import Cond


class Label:
    """A position in the code; `address` is set by layout."""

    __slots__ = ("name", "address")

    def __init__(self, name: str):
        self.name = name
        self.address: int | None = None

    def __repr__(self) -> str:
        return f"Label({self.name})"


@dataclass
class _Raw:
    data: bytes


@dataclass
class _Bind:
    label: Label


@dataclass
class _Branch:
    cond: Cond | None
    target: Label
    form: int = 0
    SIZES_COND = (2, 4, 6)
    SIZES_ALWAYS = (2, 4)

    def sizes(self) -> tuple[int, ...]:
        return self.SIZES_ALWAYS if self.cond is None else self.SIZES_COND


@dataclass
class _Cbz:
    reg: int
    nonzero: bool
    target: Label
    form: int = 0

    def sizes(self) -> tuple[int, ...]:
        return (2, 4, 6)


@dataclass
class _Literal:
    reg: int
    value: int
    form: int = 0

    def sizes(self) -> tuple[int, ...]:
        return (2, 4, 8) if self.reg < 8 else (4, 8)


@dataclass
class _Adr:
    reg: int
    target: Label
    addend: int
    form: int = 0

    def sizes(self) -> tuple[int, ...]:
        return (4, 10)


@dataclass
class _Bl:
    target: Label


_RELAXABLE = (_Branch, _Cbz, _Literal, _Adr)


@dataclass
class Assembled:
    code: bytes
    labels: dict[str, int] = field(default_factory=dict)
    pool_offset: int = 0  # where the literal pool starts (data, not code, from here on)
    instructions: int = 0  # count of instructions emitted (pool excluded)
    tags: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, what)


class Asm:
    """An append-only list of items; `assemble()` lays it out and encodes it."""

    def __init__(self):
        self.items: list = []
        self._names: dict[str, int] = {}
        self._tags: list[str] = []
        self.tag = ""  # what the items appended now are for (profiles, listings)

    # ---- building -----------------------------------------------------------------------

    def label(self, name: str) -> Label:
        """A new label with a unique name based on `name` (not yet placed)."""
        n = self._names.get(name, 0)
        self._names[name] = n + 1
        return Label(name if n == 0 else f"{name}.{n}")

    def _add(self, item) -> None:
        self.items.append(item)
        self._tags.append(self.tag)

    def bind(self, label: Label) -> None:
        self._add(_Bind(label))

    def emit(self, data: bytes) -> None:
        """One already-encoded instruction (or an IT block's instructions, one by one)."""
        self._add(_Raw(bytes(data)))

    def b(self, target: Label, cond: Cond | None = None) -> None:
        if cond == Cond.AL:
            cond = None
        self._add(_Branch(cond, target))

    def bl(self, target: Label) -> None:
        """`BL` to a local routine (always 32-bit, +-16 MiB)."""
        self._add(_Bl(target))

    def cbz(self, reg: int, target: Label, nonzero: bool = False) -> None:
        """`cbz`/`cbnz` on a low register; may become `cmp reg, #0` + `b<c>` (flags!)."""
        if reg >= 8:
            raise ValueError("cbz needs a low register")
        self._add(_Cbz(reg, nonzero, target))

    def literal(self, reg: int, value: int) -> None:
        """reg := value (32-bit) from the literal pool; never touches the flags."""
        self._add(_Literal(reg, value & 0xFFFFFFFF))

    def adr(self, reg: int, target: Label, addend: int = 1) -> None:
        """reg := address of target + addend (addend 1: a Thumb code address)."""
        self._add(_Adr(reg, target, addend))

    # ---- layout -------------------------------------------------------------------------

    def _size(self, item) -> int:
        if isinstance(item, _Raw):
            return len(item.data)
        if isinstance(item, _Bind):
            return 0
        if isinstance(item, _Bl):
            return 4
        return item.sizes()[item.form]

    def _place(self) -> tuple[int, dict[int, int]]:
        """Addresses of every item and label; returns (code end, literal value -> address)."""
        address = 0
        self._addresses = []
        for item in self.items:
            self._addresses.append(address)
            if isinstance(item, _Bind):
                item.label.address = address
            address += self._size(item)
        pool = {}
        pool_at = (address + 3) & ~3
        for item in self.items:
            if (isinstance(item, _Literal) and item.value not in pool
                    and item.sizes()[item.form] != 8):
                pool[item.value] = pool_at + 4 * len(pool)
        return address, pool

    def _fits(self, item, at: int, pool: dict[int, int]) -> bool:
        if isinstance(item, _Branch):
            target = item.target.address
            if item.cond is None:
                use = (E.B_T2, E.B_T4)[item.form]
                return use.fits(at, target - at)
            if item.form == 2:
                return E.B_T4.fits(at + 2, target - at - 2)
            use = (E.B_T1, E.B_T3)[item.form]
            return use.fits(at, target - at)
        if isinstance(item, _Cbz):
            target = item.target.address
            if item.form == 0:
                return E.CBZ_T1.fits(at, target - at)
            use = (E.B_T1, E.B_T3)[item.form - 1]
            return use.fits(at + 2, target - at - 2)
        if isinstance(item, _Literal):
            sizes = item.sizes()
            size = sizes[item.form]
            if size == 8:
                return True
            use = E.LDR_LIT_T1 if size == 2 else E.LDR_LIT_T2
            return use.fits(at, pool[item.value] - at)
        if isinstance(item, _Adr):
            target = item.target.address + item.addend
            if item.form == 0:
                return E.ADR_W.fits(at, target - at)
            tramp = at + 6
            return E.ADR_W.fits(at, tramp + 1 - at) and E.B_T4.fits(tramp, target - item.addend
                                                                    - tramp)
        raise TypeError(item)

    def assemble(self) -> Assembled:
        for item in self.items:
            if isinstance(item, _RELAXABLE):
                item.form = 0
        while True:
            end, pool = self._place()
            grown = False
            for item, at in zip(self.items, self._addresses):
                if isinstance(item, _RELAXABLE) and not self._fits(item, at, pool):
                    if item.form + 1 >= len(item.sizes()):
                        raise E.EncodingError(f"{item} cannot reach its target from {at}")
                    item.form += 1
                    grown = True
            if not grown:
                break
        out = bytearray()
        count = 0
        tags = []
        for item, at, tag in zip(self.items, self._addresses, self._tags):
            assert len(out) == at
            data, n = self._encode(item, at, pool)
            out += data
            count += n
            if data:
                if tags and tags[-1][2] == tag and tags[-1][1] == at:
                    tags[-1] = (tags[-1][0], at + len(data), tag)
                else:
                    tags.append((at, at + len(data), tag))
        pool_offset = len(out)
        if pool:
            out += bytes(-len(out) % 4)
            pool_offset = len(out)
            for value, address in sorted(pool.items(), key=lambda kv: kv[1]):
                assert len(out) == address
                out += value.to_bytes(4, "little")
        labels = {}
        for item in self.items:
            if isinstance(item, _Bind):
                labels.setdefault(item.label.name, item.label.address)
        return Assembled(bytes(out), labels, pool_offset, count, tags)

    def _encode(self, item, at: int, pool: dict[int, int]) -> tuple[bytes, int]:
        if isinstance(item, _Raw):
            return item.data, 1
        if isinstance(item, _Bind):
            return b"", 0
        if isinstance(item, _Bl):
            return E.t1_bl(E.BL_T1.displacement(at, item.target.address - at)), 1
        if isinstance(item, _Branch):
            off = item.target.address - at
            if item.cond is None:
                if item.form == 0:
                    return E.t2_b(E.B_T2.displacement(at, off)), 1
                return E.t4_b(E.B_T4.displacement(at, off)), 1
            if item.form == 0:
                return E.t1_b_cond(item.cond, E.B_T1.displacement(at, off)), 1
            if item.form == 1:
                return E.t3_b_cond(item.cond, E.B_T3.displacement(at, off)), 1
            skip = E.t1_b_cond(item.cond.invert(), E.B_T1.displacement(at, 6))
            return skip + E.t4_b(E.B_T4.displacement(at + 2, off - 2)), 2
        if isinstance(item, _Cbz):
            off = item.target.address - at
            if item.form == 0:
                encoder = E.t1_cbnz if item.nonzero else E.t1_cbz
                return encoder(item.reg, E.CBZ_T1.displacement(at, off)), 1
            cond = Cond.NE if item.nonzero else Cond.EQ
            cmp = E.t1_cmp_imm8(item.reg, 0)
            if item.form == 1:
                return cmp + E.t1_b_cond(cond, E.B_T1.displacement(at + 2, off - 2)), 2
            return cmp + E.t3_b_cond(cond, E.B_T3.displacement(at + 2, off - 2)), 2
        if isinstance(item, _Literal):
            size = item.sizes()[item.form]
            if size == 8:
                return (E.t3_movw(item.reg, item.value & 0xFFFF)
                        + E.t1_movt(item.reg, item.value >> 16)), 2
            off = pool[item.value] - at
            if size == 2:
                return E.t1_ldr_lit(item.reg, E.LDR_LIT_T1.displacement(at, off)), 1
            return E.t2_ldr_lit(item.reg, E.LDR_LIT_T2.displacement(at, off)), 1
        if isinstance(item, _Adr):
            target = item.target.address + item.addend
            if item.form == 0:
                disp = E.ADR_W.displacement(at, target - at)
                return (E.t3_adr(item.reg, disp) if disp >= 0 else E.t2_adr(item.reg, disp)), 1
            tramp = at + 6
            disp = E.ADR_W.displacement(at, tramp + 1 - at)
            adr = E.t3_adr(item.reg, disp) if disp >= 0 else E.t2_adr(item.reg, disp)
            skip = E.t2_b(E.B_T2.displacement(at + 4, 6))
            jump = E.t4_b(E.B_T4.displacement(tramp, target - item.addend - tramp))
            return adr + skip + jump, 3
        raise TypeError(item)
