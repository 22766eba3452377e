"""The RV32 assembler's relaxation and the compressed-form choices, checked by GNU objdump.

Branches and jumps over gaps around every reach boundary (c.beqz/c.bnez +-256 B, B-type
+-4 KiB, c.j +-2 KiB, jal +-1 MiB), forwards and backwards: each must land exactly on its
label, in the shortest form that reaches (an out-of-reach B-type becomes the inverted branch
over a `jal`). Plus: `forms` picks the 16-bit encodings where they are legal, and a real
translation uses them for most of its instructions.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import REPO, require_tool

import femtojit
from femtojit.backends.rv32 import encode as E
from femtojit.backends.rv32 import forms as F
from femtojit.backends.rv32.emit import Asm, instruction_count
from femtojit.backends.rv32.encode import A0, A1, A6, S0, SP, T0, T5, ZERO

LINE = re.compile(r"^\s*([0-9a-f]+):\s+([0-9a-f]+)\s+(\S+)\s*(.*)$")


def objdump(code: bytes, tmp_path, start: int = 0, stop: int | None = None
            ) -> list[tuple[int, int, str, str]]:
    """(address, size, mnemonic, operands) per instruction in [start, stop), aliases off."""
    tool = require_tool("riscv64-unknown-elf-objdump")
    path = tmp_path / "code.bin"
    path.write_bytes(code)
    window = [f"--start-address={start}", f"--stop-address={stop or len(code)}"]
    out = subprocess.run([tool, "-D", "-b", "binary", "-m", "riscv:rv32", "-M", "no-aliases",
                          *window, str(path)], capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        match = LINE.match(line)
        if match:
            address, raw, mnemonic, operands = match.groups()
            rows.append((int(address, 16), len(raw) // 2, mnemonic, operands))
    return rows


def gap(asm: Asm, size: int) -> None:
    """`size` bytes of nops (c.nop for the odd halfword)."""
    for _ in range(size // 4):
        asm.emit(E.addi(ZERO, ZERO, 0))
    if size % 4:
        asm.emit(E.c_nop())


#: Forms of each item, shortest first: (size, mnemonics, offset of the instruction that
#: reaches the target within the item, its reach).
FORMS = {
    "beqz": [(2, ["c.beqz"], 0, (-256, 254)), (4, ["beq"], 0, (-4096, 4094)),
             (8, ["bne", "jal"], 4, (-(1 << 20), (1 << 20) - 2))],
    "bltu": [(4, ["bltu"], 0, (-4096, 4094)),
             (8, ["bgeu", "jal"], 4, (-(1 << 20), (1 << 20) - 2)),
             (12, ["bgeu", "auipc", "jalr"], 4, (-(1 << 31), (1 << 31) - 1))],
    "j": [(2, ["c.j"], 0, (-2048, 2046)), (4, ["jal"], 0, (-(1 << 20), (1 << 20) - 2)),
          (8, ["auipc", "jalr"], 0, (-(1 << 31), (1 << 31) - 1))],
}


def expected(what: str, size: int, backwards: bool) -> list[str]:
    """The mnemonics of the shortest form that reaches over a gap of `size` bytes."""
    for length, names, reacher, (low, high) in FORMS[what]:
        offset = -size - reacher if backwards else length + size - reacher
        if low <= offset <= high:
            return names
    raise AssertionError("no form reaches")


GAPS = {"beqz": [250, 252, 254, 256, 258, 4090, 4092, 4094, 4096, 5000],
        "bltu": [4088, 4090, 4092, 4094, 4096, 100_000, 1_048_568, 1_048_572, 1_100_000],
        "j": [2042, 2044, 2046, 2048, 70_000, 1_048_572, 1_048_576]}
CASES = [(what, size) for what, sizes in GAPS.items() for size in sizes]


@pytest.mark.parametrize("backwards", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize(("what", "size"), CASES, ids=[f"{w}-{n}" for w, n in CASES])
def test_branch_reach(what, size, backwards, tmp_path):
    asm = Asm()
    target = asm.label("target")
    if backwards:
        asm.bind(target)
        gap(asm, size)
    if what == "beqz":
        asm.branch("beq", S0, ZERO, target)
    elif what == "bltu":
        asm.branch("bltu", A0, A1, target)
    else:
        asm.j(target)
    if not backwards:
        gap(asm, size)
        asm.bind(target)
    asm.emit(E.c_nop())
    out = asm.assemble()
    expect = expected(what, size, backwards)
    at = size if backwards else 0
    branch = objdump(out.code, tmp_path, at, at + 16)[: len(expect)]
    assert [r[2] for r in branch] == expect, branch
    if expect[-1] == "jalr":  # auipc t3, hi; jalr zero, lo(t3)
        hi = int(branch[-2][3].split(",")[1], 16)
        lo = int(branch[-1][3].split(",")[1].split("(")[0])
        dest = (branch[-2][0] + (hi << 12) + lo) & 0xFFFFFFFF
        if dest >= 1 << 31:
            dest -= 1 << 32
        assert branch[-2][3].startswith("t3,") and "(t3)" in branch[-1][3]
    else:
        dest = int(branch[-1][3].split(",")[-1].split()[0], 16)
    assert dest == out.labels["target"]
    if len(expect) > 1 and expect[0] != "auipc":  # the inverted branch skips the rest
        skip = int(branch[0][3].split(",")[-1].split()[0], 16)
        assert skip == branch[0][0] + sum(r[1] for r in branch)


def test_forms_pick_compressed_encodings():
    assert F.addi(A0, A0, 5) == E.c_addi(A0, 5)
    assert F.addi(A0, A1, 5) == E.addi(A0, A1, 5)
    assert F.addi(SP, SP, -48) == E.c_addi16sp(-48)
    assert F.add(A6, A6, T0) == E.c_add(A6, T0)
    assert F.sub(A0, A0, A1) == E.c_sub(A0, A1)
    assert F.sub(A6, A6, A1) == E.sub(A6, A6, A1)  # a6 is not in x8-x15
    assert F.logic("and", A1, A0, A1) == E.c_and(A1, A0)
    assert F.lw(A0, SP, 8) == E.c_lwsp(A0, 8)
    assert F.lw(A0, A1, 124) == E.c_lw(A0, A1, 124) and F.lw(A0, A1, 128) == E.lw(A0, A1, 128)
    assert F.sw(T5, SP, 252) == E.c_swsp(T5, 252)
    assert F.shift_imm("lshr", A0, A0, 3) == E.c_srli(A0, 3)
    assert F.shift_imm("ashr", A6, A6, 3) == E.srai(A6, A6, 3)
    assert F.mv(A0, ZERO) == E.c_li(A0, 0) and F.mv(A0, A0) == b""
    assert instruction_count(E.c_nop() + E.addi(A0, A0, 100) + E.c_nop()) == 3


def test_translation_is_mostly_compressed():
    """Fletcher-32 (the paper's benchmark): most instructions have a 16-bit encoding."""
    tr = femtojit.translate(femtojit.load(REPO / "examples" / "fletcher32.bin"),
                            target="rv32imc")
    instructions = tr.machine.stats["instructions"]
    compressed = 2 * instructions - tr.size // 2  # (2 bytes each, the others 4)
    assert compressed / instructions > 0.5, (compressed, instructions)
