"""The RV32IMC assembler: the PC-relative forms and their relaxation.

Built on the target-independent `common.assembler.Assembler`; the relaxable items are:

- a conditional branch `b<cond> rs1, rs2, label`: `c.beqz`/`c.bnez` (2 bytes, +-256 B) when
  it compares a register of x8-x15 with x0 for (in)equality, the B-type (4 bytes, +-4 KiB),
  the inverted B-type over a `jal x0` (8 bytes, +-1 MiB), else over `auipc`+`jalr` (12);
- a jump `j label`: `c.j` (2 bytes, +-2 KiB), `jal x0` (4, +-1 MiB), `auipc`+`jalr` (8);

The far forms (`auipc`+`jalr`) need a register for the upper part: t3 (FAR_TEMP), which
instruction selection never keeps a value in across a branch or jump.
- a call of a local routine `jal link, label`: `c.jal` (2, link ra only), `jal` (4),
  `auipc`+`jalr` (8);
- a code address `la rd, label` (local-call return addresses): `auipc`+`addi` (8).

RISC-V has no PC bias: displacements are the target minus the instruction's own address,
checked by the label uses of `encode` (BRANCH, JAL, C_BRANCH, C_JUMP, AUIPC_JALR,
AUIPC_ADDI).
"""

from __future__ import annotations

from femtojit.backends.common.assembler import Assembler, Label, Relaxable
from femtojit.backends.rv32 import encode as E
from femtojit.backends.rv32.encode import RA, T3, ZERO

#: The register a far jump or branch builds its target address in.
FAR_TEMP = T3

#: B-type encoders and the condition each one inverts to.
BRANCHES = {
    "beq": (E.beq, "bne"), "bne": (E.bne, "beq"),
    "blt": (E.blt, "bge"), "bge": (E.bge, "blt"),
    "bltu": (E.bltu, "bgeu"), "bgeu": (E.bgeu, "bltu"),
}  # fmt: skip


class CondBranch(Relaxable):
    def __init__(self, kind: str, rs1: int, rs2: int, target: Label):
        if kind not in BRANCHES:
            raise ValueError(f"unknown branch {kind!r}")
        self.kind, self.rs1, self.rs2, self.target = kind, rs1, rs2, target
        self.short = kind in ("beq", "bne") and rs2 == ZERO and 8 <= rs1 <= 15
        self.form = 0

    def __repr__(self) -> str:
        return f"{self.kind} x{self.rs1}, x{self.rs2}, {self.target.name}"

    def sizes(self) -> tuple[int, ...]:
        return (2, 4, 8, 12) if self.short else (4, 8, 12)

    def fits(self, at: int, context) -> bool:
        size = self.sizes()[self.form]
        offset = self.target.address - at
        if size == 2:
            return E.C_BRANCH.fits(at, offset)
        if size == 4:
            return E.BRANCH.fits(at, offset)
        if size == 8:
            return E.JAL.fits(at + 4, offset - 4)
        return E.AUIPC_JALR.fits(at + 4, offset - 4)

    def encode(self, at: int, context) -> tuple[bytes, int]:
        size = self.sizes()[self.form]
        offset = self.target.address - at
        if size == 2:
            encoder = E.c_beqz if self.kind == "beq" else E.c_bnez
            return encoder(self.rs1, E.C_BRANCH.displacement(at, offset)), 1
        encoder, inverse = BRANCHES[self.kind]
        if size == 4:
            return encoder(self.rs1, self.rs2, E.BRANCH.displacement(at, offset)), 1
        skip = BRANCHES[inverse][0](self.rs1, self.rs2, size)
        if size == 8:
            return skip + E.jal(ZERO, E.JAL.displacement(at + 4, offset - 4)), 2
        far = bytearray(E.auipc(FAR_TEMP, 0) + E.jalr(ZERO, FAR_TEMP, 0))
        E.AUIPC_JALR.patch(far, 0, offset - 4)
        return skip + bytes(far), 3


class Jump(Relaxable):
    """`j label` (link ZERO) or `jal ra, label` (link RA)."""

    def __init__(self, target: Label, link: int = ZERO):
        self.target, self.link = target, link
        self.form = 0

    def __repr__(self) -> str:
        return f"jal x{self.link}, {self.target.name}"

    def sizes(self) -> tuple[int, ...]:
        return (2, 4, 8) if self.link in (ZERO, RA) else (4, 8)

    def fits(self, at: int, context) -> bool:
        offset = self.target.address - at
        uses = (E.C_JUMP, E.JAL, E.AUIPC_JALR) if self.link in (ZERO, RA) else (E.JAL,
                                                                                E.AUIPC_JALR)
        return uses[self.form].fits(at, offset)

    def encode(self, at: int, context) -> tuple[bytes, int]:
        offset = self.target.address - at
        size = self.sizes()[self.form]
        if size == 2:
            disp = E.C_JUMP.displacement(at, offset)
            return (E.c_j(disp) if self.link == ZERO else E.c_jal(disp)), 1
        if size == 4:
            return E.jal(self.link, E.JAL.displacement(at, offset)), 1
        temp = self.link if self.link != ZERO else FAR_TEMP
        code = bytearray(E.auipc(temp, 0) + E.jalr(self.link, temp, 0))
        E.AUIPC_JALR.patch(code, 0, offset)
        return bytes(code), 2


class LoadAddress(Relaxable):
    """rd := the address of a label (auipc + addi)."""

    def __init__(self, rd: int, target: Label):
        self.rd, self.target = rd, target
        self.form = 0

    def __repr__(self) -> str:
        return f"la x{self.rd}, {self.target.name}"

    def sizes(self) -> tuple[int, ...]:
        return (8,)

    def fits(self, at: int, context) -> bool:
        return E.AUIPC_ADDI.fits(at, self.target.address - at)

    def encode(self, at: int, context) -> tuple[bytes, int]:
        code = bytearray(E.auipc(self.rd, 0) + E.addi(self.rd, self.rd, 0))
        E.AUIPC_ADDI.patch(code, 0, self.target.address - at)
        return bytes(code), 2


class Asm(Assembler):
    """The RV32 buffer: `emit` for fixed instructions, plus the relaxable forms."""

    def emit(self, data: bytes, count: int | None = None) -> None:
        if not data:
            return
        if count is None:
            count = instruction_count(data)
        super().emit(data, count)

    def branch(self, kind: str, rs1: int, rs2: int, target: Label) -> None:
        self.add(CondBranch(kind, rs1, rs2, target))

    def j(self, target: Label) -> None:
        self.add(Jump(target))

    def call(self, target: Label, link: int = RA) -> None:
        """`jal link, target`: a local routine returning through `link`."""
        self.add(Jump(target, link))

    def la(self, rd: int, target: Label) -> None:
        self.add(LoadAddress(rd, target))


def instruction_count(data: bytes) -> int:
    """Instructions in a run of encoded RV32IMC bytes (16-bit forms have low bits != 11)."""
    count = at = 0
    while at < len(data):
        at += 4 if data[at] & 3 == 3 else 2
        count += 1
    return count
