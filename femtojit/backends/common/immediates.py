"""Typed immediates: a value that is known to fit a field.

Instruction selection asks `Imm.try_encode(value)` ("does this constant fit the field?") and
gets an instance or None, with no exception used as control flow; `Imm(value)` raises
`EncodingError` when it does not fit. Encoders accept either a plain int or an instance.
A subclass fixes the field's width, signedness and scale (byte offsets of word accesses are
stored divided by 4, for example).
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from femtojit.backends.common.fields import EncodingError, as_int

_Imm = TypeVar("_Imm", bound="FieldImm")


class FieldImm:
    """An integer that fits a `BITS`-wide field, signed or not, as a multiple of `SCALE`.
    `NONZERO` forbids 0 (RISC-V compressed forms reserve it)."""

    BITS: ClassVar[int]
    SIGNED: ClassVar[bool] = False
    SCALE: ClassVar[int] = 1
    NONZERO: ClassVar[bool] = False

    __slots__ = ("value",)

    def __init__(self, value: int):
        number = as_int(type(self).__name__, value)
        if not type(self).fits(number):
            raise EncodingError(
                f"{number} does not fit {type(self).__name__} "
                f"([{self.min()}, {self.max()}], multiple of {self.SCALE}"
                f"{', non-zero' if self.NONZERO else ''})"
            )
        self.value = number

    @classmethod
    def min(cls) -> int:
        return -(1 << (cls.BITS - 1)) * cls.SCALE if cls.SIGNED else 0

    @classmethod
    def max(cls) -> int:
        top = (1 << (cls.BITS - 1)) - 1 if cls.SIGNED else (1 << cls.BITS) - 1
        return top * cls.SCALE

    @classmethod
    def fits(cls, value: int) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        if cls.NONZERO and value == 0:
            return False
        return cls.min() <= value <= cls.max() and value % cls.SCALE == 0

    @classmethod
    def try_encode(cls: type[_Imm], value: int) -> _Imm | None:
        """An instance when `value` fits, else None."""
        return cls(value) if cls.fits(value) else None

    @property
    def field(self) -> int:
        """The raw bits stored in the instruction (`value / SCALE`, two's complement)."""
        return (self.value // self.SCALE) & ((1 << self.BITS) - 1)

    def __index__(self) -> int:
        return self.value

    def __int__(self) -> int:
        return self.value

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.value == self.value  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.value))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value})"
