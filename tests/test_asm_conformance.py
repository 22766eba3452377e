"""The assembler against the bpf_conformance suite: every positive file assembles and
round-trips, lddw.data matches its -- raw section, and the negative assembler files fail."""

from __future__ import annotations

import pytest

from femtojit import isa
from femtojit.asm import assemble, disassemble
from femtojit.conformance import parse_file
from femtojit.errors import AsmError
from tests.conftest import CONFORMANCE_DIR, CONFORMANCE_TESTS

NEGATIVE_ASM = [
    "invalid_imm32_dec_range",
    "invalid_imm32_hex_range",
    "invalid_label",
    "invalid_lock",
    "invalid_lock2",
    "invalid_mnemonic",
    "invalid_offset",
    "invalid_offset_range",
    "invalid_operand_count",
    "invalid_register",
]


def test_suite_is_complete():
    assert len(CONFORMANCE_TESTS) == 313


@pytest.mark.parametrize("path", CONFORMANCE_TESTS, ids=[p.stem for p in CONFORMANCE_TESTS])
def test_round_trip(path):
    test = parse_file(path)
    assembled = assemble(test.asm)
    assert assembled, "assembles to at least one slot"
    if test.raw is not None:
        assert isa.encode(assembled) == isa.encode(test.raw)
    text = disassemble(assembled)
    assert ".insn" not in text  # the suite uses only expressible instructions
    assert isa.encode(assemble(text)) == isa.encode(assembled)


def test_lddw_raw_section_matches_assembly():
    test = parse_file(CONFORMANCE_DIR / "tests" / "lddw.data")
    assert test.raw is not None
    assert test.raw == assemble(test.asm)


@pytest.mark.parametrize("name", NEGATIVE_ASM)
def test_negative_files_fail_to_assemble(name):
    test = parse_file(CONFORMANCE_DIR / "negative" / f"{name}.data")
    with pytest.raises(AsmError):
        assemble(test.asm)
    assert test.asm_error is not None and test.skipped.startswith("does not assemble")
