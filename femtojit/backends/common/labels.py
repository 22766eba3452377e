"""Label uses: the PC-relative instruction forms, described for branch relaxation and patching.

A `LabelUse` says, for one PC-relative form (a Thumb `B<c>` T1, a RISC-V B-type branch, an
`auipc`+`jalr` pair, ...), how far it reaches, what alignment its displacement needs, how many
bytes it occupies, and how to re-encode its displacement in place (`patch`). The emitter
first lays out code with a guess of each form, then checks `fits` and widens what does not
reach, then patches every use once the addresses are final (the scheme of Cranelift's
`LabelUse`).

Offsets are always *target minus the address of the using instruction*: callers never deal
with the architectures' PC bias (Thumb reads PC as the instruction address + 4, rounded down
to a word for literal loads and ADR; RISC-V as the instruction address itself). Addresses are
offsets into the code buffer, which the loader must place at a 4-byte-aligned address, so
that `at % 4` is the instruction's real alignment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from femtojit.backends.common.fields import EncodingError


@dataclass(frozen=True)
class LabelUse:
    """One PC-relative instruction form.

    `min_disp`..`max_disp` and `align` constrain the architectural displacement (target minus
    the PC base); `rewrite(old_bytes, displacement)` returns the instruction with the new
    displacement and every other field (registers, condition) kept, through the form's
    checked encoder.
    """

    name: str
    size: int  # bytes rewritten by `patch`
    min_disp: int
    max_disp: int
    align: int  # the displacement must be a multiple of this
    pc_bias: int  # the PC base is `at + pc_bias` ...
    pc_align: int  # ... rounded down to a multiple of `pc_align`
    code_align: int  # instructions of this form start at multiples of this
    rewrite: Callable[[bytes, int], bytes]

    def pc_base(self, at: int) -> int:
        """The address the displacement is relative to, for an instruction at `at`."""
        return (at + self.pc_bias) & ~(self.pc_align - 1)

    def displacement(self, at: int, offset: int) -> int:
        """The architectural displacement for a target `offset` bytes from `at`."""
        return at + offset - self.pc_base(at)

    def fits(self, at: int, offset: int) -> bool:
        """True when an instruction at `at` can reach `at + offset`."""
        if at % self.code_align:
            return False
        disp = self.displacement(at, offset)
        return self.min_disp <= disp <= self.max_disp and disp % self.align == 0

    @property
    def min_offset(self) -> int:
        """The most negative offset reachable from any instruction address."""
        return self.min_disp + self.pc_bias

    @property
    def max_offset(self) -> int:
        """The largest offset reachable from any instruction address (alignment of the
        target aside: `fits` checks that)."""
        slack = max(self.pc_align - self.code_align, 0)
        return self.max_disp + self.pc_bias - slack

    def patch(self, code: bytearray, at: int, offset: int) -> None:
        """Re-encode the use at `code[at:at+size]` to reach `at + offset`; raises
        EncodingError when out of reach or misaligned (nothing is written then)."""
        if at % self.code_align or at < 0 or at + self.size > len(code):
            raise EncodingError(f"{self.name}: no instruction of {self.size} bytes at {at}")
        if not self.fits(at, offset):
            disp = self.displacement(at, offset)
            raise EncodingError(
                f"{self.name} at {at}: offset {offset} (displacement {disp}) is out of "
                f"reach [{self.min_disp}, {self.max_disp}] or not a multiple of {self.align}"
            )
        new = self.rewrite(bytes(code[at : at + self.size]), self.displacement(at, offset))
        if len(new) != self.size:  # a rewrite that changes the size is a bug in this module
            raise EncodingError(f"{self.name}: rewrite produced {len(new)} bytes")
        code[at : at + self.size] = new
