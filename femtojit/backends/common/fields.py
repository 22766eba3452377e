"""Checked instruction fields.

Every encoder builds its fields through these functions, so that a value that does not fit
raises `EncodingError` instead of being masked: a silently clipped field is an instruction
that does something else, found (if ever) by a wrong result on a board.
"""

from __future__ import annotations

import operator


class EncodingError(ValueError):
    """An instruction cannot be encoded as asked: a field out of range, a misaligned offset,
    a register the form does not allow. Instruction selection asked for the impossible, so
    this is a femtojit bug, never a user error (hence not a FemtojitError)."""


def as_int(name: str, value: object) -> int:
    """`value` as a Python int (typed immediates convert through `__index__`)."""
    if isinstance(value, bool):
        raise EncodingError(f"{name}: expected an integer, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise EncodingError(f"{name}: expected an integer, got {value!r}") from None


def check_range(name: str, value: object, low: int, high: int, scale: int = 1) -> int:
    """`value` itself, after checking `low <= value <= high` and `value % scale == 0`."""
    number = as_int(name, value)
    if not low <= number <= high:
        raise EncodingError(f"{name} = {number} is out of range [{low}, {high}]")
    if number % scale:
        raise EncodingError(f"{name} = {number} is not a multiple of {scale}")
    return number


def unsigned_field(name: str, value: object, bits: int, scale: int = 1) -> int:
    """The field holding `value / scale` in `bits` unsigned bits."""
    number = check_range(name, value, 0, ((1 << bits) - 1) * scale, scale)
    return number // scale


def signed_field(name: str, value: object, bits: int, scale: int = 1) -> int:
    """The two's-complement field holding `value / scale` in `bits` bits."""
    low = -(1 << (bits - 1)) * scale
    high = ((1 << (bits - 1)) - 1) * scale
    number = check_range(name, value, low, high, scale)
    return (number // scale) & ((1 << bits) - 1)


def bit(value: int, n: int) -> int:
    """Bit `n` of `value` (0 or 1)."""
    return (value >> n) & 1


def bits(value: int, high: int, low: int) -> int:
    """Bits `high..low` (inclusive) of `value`, shifted down to bit 0."""
    return (value >> low) & ((1 << (high - low + 1)) - 1)


def sign_extend(value: int, width: int) -> int:
    """The signed value of the `width`-bit two's-complement number `value`."""
    value &= (1 << width) - 1
    return value - (1 << width) if value >> (width - 1) else value
