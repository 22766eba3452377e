"""Fuzzing the loaders: random bytes and mutated valid containers and ELF objects.

Only FemtojitError subclasses may come out of load() (and of the verifier, when it is in the
tree); any other exception is a loader bug. What loads must be a coherent Program: functions
and entry inside the program, and a container round trip that gives the program back.
~200 examples per property in the normal suite; `make fuzz` raises it with FUZZ_EXAMPLES.
"""

from __future__ import annotations

import importlib
import struct
from pathlib import Path

import pytest
from conftest import FUZZ_EXAMPLES, REPO, require_tool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from femtojit.errors import FemtojitError
from femtojit.loaders import load
from femtojit.loaders.container import PackError, write_container
from femtojit.toolchain import compile_bpf

pytestmark = pytest.mark.fuzz

EXAMPLES = FUZZ_EXAMPLES or 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

def _verifier():
    """femtojit.verify.verify once the verifier is in the tree, else None."""
    try:
        return importlib.import_module("femtojit.verify").verify
    except (ImportError, AttributeError):
        return None


VERIFY = _verifier()


def _seed_objects() -> dict[str, bytes]:
    """Valid ELF objects to mutate: the committed example plus the tests/c sources, compiled
    once per session at -mcpu=v3 (v2 is the example)."""
    require_tool("clang")
    import tempfile

    seeds = {"fletcher32.o": (REPO / "examples" / "fletcher32.o").read_bytes()}
    with tempfile.TemporaryDirectory(prefix="femtojit-fuzz-") as tmp:
        for name in ("globals.c", "calls.c"):
            out = compile_bpf(REPO / "tests" / "c" / name, Path(tmp) / f"{name}.o", mcpu="v3")
            seeds[name] = out.read_bytes()
    return seeds


@pytest.fixture(scope="module")
def elf_seeds() -> list[bytes]:
    return list(_seed_objects().values())


@pytest.fixture(scope="module")
def container_seeds(elf_seeds) -> list[bytes]:
    return [write_container(load(seed)) for seed in elf_seeds]


def check_load(raw: bytes, kind: str | None = None) -> None:
    """load() gives a coherent Program or a FemtojitError; nothing else."""
    try:
        program = load(raw, kind=kind)
    except FemtojitError as error:
        assert "\n" not in str(error), f"multi-line message: {error!r}"
        return
    assert program.slots, "a program without instructions was accepted"
    assert 0 <= program.entry < len(program.slots)
    for function in program.functions:
        assert 0 <= function.slot < len(program.slots)
    assert len(program.text) == 8 * len(program.slots)
    try:
        blob = write_container(program)
    except PackError:
        pass
    else:
        again = load(blob)
        assert again.slots == program.slots
        assert again.data == program.data
        assert again.rodata.startswith(program.rodata)
        assert again.functions == program.functions
    if VERIFY is not None:
        try:
            VERIFY(program)
        except FemtojitError as error:
            assert "\n" not in str(error), f"multi-line message: {error!r}"


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A seed with a few mutations: bit flips, overwritten integers, truncation, splices."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        action = draw(st.sampled_from(["flip", "u8", "u16", "u32", "u64", "truncate", "splice"]))
        # bias positions towards the headers, where lengths and offsets live
        limit = draw(st.sampled_from([min(len(data), 64), len(data)]))
        position = draw(st.integers(0, max(0, limit - 1)))
        if action == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "truncate":
            del data[draw(st.integers(0, len(data) - 1)):]
        elif action == "splice":
            junk = draw(st.binary(min_size=1, max_size=16))
            data[position:position] = junk
        else:
            width = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}[action]
            value = draw(st.sampled_from([0, 1, 7, 8, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF,
                                          0xFFFFFFFFFFFFFFFF, 1 << 31, 1 << 63])
                         | st.integers(0, (1 << 64) - 1))
            data[position:position + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(
                width, "little")
    return bytes(data)


def _elf_section_header_positions(raw: bytes) -> list[int]:
    """Byte positions of the integer fields of every section header (for targeted damage)."""
    if len(raw) < 64:
        return []
    e_shoff, = struct.unpack_from("<Q", raw, 0x28)
    e_shnum, = struct.unpack_from("<H", raw, 0x3C)
    positions = []
    for index in range(e_shnum):
        base = e_shoff + 64 * index
        positions += [base + field for field in (4, 8, 24, 32, 40, 44, 48, 56)]
    return [p for p in positions if p + 8 <= len(raw)]


@FUZZ
@given(raw=st.binary(max_size=512))
def test_random_bytes(raw):
    check_load(raw)


@FUZZ
@given(raw=st.binary(max_size=256), magic=st.sampled_from([b"\x7fELF", b"rBPF", b"FPBr"]))
def test_random_bytes_behind_a_magic(raw, magic):
    check_load(magic + raw)


@FUZZ
@given(data=st.data())
def test_mutated_containers(container_seeds, data):
    check_load(data.draw(mutated(container_seeds)))


@FUZZ
@given(data=st.data())
def test_mutated_elf_objects(elf_seeds, data):
    check_load(data.draw(mutated(elf_seeds)))


@FUZZ
@given(data=st.data())
def test_damaged_elf_section_headers(elf_seeds, data):
    """Overwrite the size/offset/link/info/alignment/entsize fields of section headers."""
    raw = bytearray(data.draw(st.sampled_from(elf_seeds)))
    positions = _elf_section_header_positions(bytes(raw))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.sampled_from(positions))
        value = data.draw(st.sampled_from([0, 1, 3, 8, 24, 0xFFFF, 0xFFFFFFFF, 1 << 40,
                                           (1 << 64) - 1]) | st.integers(0, 1 << 20))
        raw[position:position + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
    check_load(bytes(raw))


@FUZZ
@given(data=st.data(), kind=st.sampled_from(["elf", "container", "asm", "raw"]))
def test_forced_kinds_on_mutations(elf_seeds, container_seeds, data, kind):
    check_load(data.draw(mutated(elf_seeds + container_seeds)), kind=kind)


ASM_WORDS = [
    "mov", "mov32", "add", "lddw", "lddwd", "lddwr", "ldxw", "stxdw", "ja", "jeq", "call",
    "call local", "exit", "neg", "le16", "lock add", "%r0,", "%r1", "%r10,", "%r11", "0x10",
    "-1", "+3", "[%r1+4],", "[%r10-8]", "L1:", "L1", "exit:", ".text", ".data", ".rodata",
    ".byte", ".word 1, 2", ".globl main", ".entry main", "main:", ".asciz", '"x"', ".zero",
    "4096", "0xffffffffffffffff", ".insn 0x9500000000000000", "#",
]


@FUZZ
@given(lines=st.lists(st.lists(st.sampled_from(ASM_WORDS), min_size=1, max_size=4),
                      min_size=1, max_size=12))
def test_assembly_like_text(lines):
    """Text made of assembly tokens reaches the assembler: AsmError/LoadError or a program."""
    check_load("\n".join(" ".join(words) for words in lines).encode())
