"""Random and mutated bytecode into the verifier, the compat report and the disassembler.

Properties: nothing but FemtojitError subclasses ever comes out; the disassembly of anything
re-assembles to the same bytes; a program the verifier accepts disassembles without a single
raw `.insn` line (every valid instruction has a mnemonic). ~200 examples per property in the
normal suite; `make fuzz` raises it with FUZZ_EXAMPLES.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from femtojit import isa
from femtojit.asm import assemble, disassemble, format_insn
from femtojit.conformance import parse_file
from femtojit.errors import FemtojitError, VerifyError
from femtojit.isa import Insn
from femtojit.verify import RULES, compat_report, verify, verify_all
from tests.conftest import CONFORMANCE_TESTS, FUZZ_EXAMPLES

pytestmark = pytest.mark.fuzz

EXAMPLES = FUZZ_EXAMPLES or 200
SEEDS = [parse_file(path).slots for path in CONFORMANCE_TESTS]

# Opcodes the verifier knows, so random slots hit valid instructions often enough.
KNOWN_OPCODES = sorted(
    {cls | op | src for cls in (0x04, 0x07) for op in range(0, 0xE0, 0x10) for src in (0, 8)}
    | {cls | op | src for cls in (0x05, 0x06) for op in range(0, 0xE0, 0x10) for src in (0, 8)}
    | {0x18, 0xB8, 0xD8, 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6A, 0x72, 0x7A}
    | {0x63, 0x6B, 0x73, 0x7B, 0xC3, 0xDB, 0x8F, 0x00}
)


slot = st.builds(
    Insn,
    opcode=st.one_of(st.sampled_from(KNOWN_OPCODES), st.integers(0, 255)),
    dst=st.one_of(st.integers(0, 10), st.integers(0, 15)),
    src=st.one_of(st.just(0), st.integers(0, 15)),
    off=st.one_of(st.just(0), st.integers(-4, 4), st.integers(-(1 << 15), (1 << 15) - 1)),
    imm=st.one_of(
        st.just(0),
        st.sampled_from([1, 16, 32, 64, 0x01, 0x40, 0x51, 0xE1, 0xF1, -1]),
        st.integers(-(1 << 31), (1 << 31) - 1),
    ),
)


def exercise(slots: list[Insn]) -> None:
    """Run everything on slots; only FemtojitErrors may escape, and the text round-trips."""
    for profile in ("femto", "rfc"):
        errors = verify_all(slots, profile=profile)
        assert all(isinstance(e, VerifyError) and e.rule in RULES for e in errors)
        try:
            verify(slots, profile=profile)
            accepted = True
        except VerifyError as error:
            accepted = False
            assert (error.index, error.rule) == (errors[0].index, errors[0].rule)
        assert accepted == (errors == [])
        text = disassemble(slots)
        if accepted:  # only 0x8f (femto's extra NEG encoding) has no mnemonic
            raw_lines = [line for line in text.splitlines() if line.startswith(".insn")]
            assert all(line.startswith(".insn 0x8f") for line in raw_lines), text
    compat_report(slots)
    assert isa.encode(assemble(disassemble(slots))) == isa.encode(slots)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(slot, max_size=16))
def test_random_slots(slots):
    try:
        exercise(slots)
    except FemtojitError:
        pytest.fail("exercise() must not raise: verify_all reports, it does not throw")


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=96).filter(lambda b: len(b) % 8 == 0))
def test_random_bytes(raw):
    exercise(isa.decode(raw))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    edits=st.lists(
        st.tuples(st.integers(0, 1 << 16), st.integers(0, 7), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_conformance_programs(seed, edits):
    raw = bytearray(isa.encode(SEEDS[seed]))
    for position, bit_or_byte, value in edits:
        pos = position % len(raw)
        if bit_or_byte < 4:
            raw[pos] ^= 1 << (value % 8)
        else:
            raw[pos] = value
    exercise(isa.decode(bytes(raw)))


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(slot, min_size=1, max_size=8))
def test_accepted_single_instructions_have_mnemonics(body):
    """Make programs that end properly so that the per-instruction rules decide."""
    slots = body + [Insn(0x95)]
    for profile in ("femto", "rfc"):
        errors = verify_all(slots, profile=profile, helper_ids=set(range(16)))
        bad = {e.index for e in errors}
        i = 0
        while i < len(slots):
            # 0x8f (NEG in Femto-Container's encoding, femto only) has no mnemonic
            if i not in bad and slots[i].opcode != isa.OP_NEG64_FC:
                assert not format_insn(slots, i).startswith(".insn"), (profile, slots[i])
            i += 2 if isa.is_wide(slots[i].opcode) and i + 1 < len(slots) else 1
