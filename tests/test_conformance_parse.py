"""The .data file reader: upstream's grammar (NOTES.md §3) and femtojit's two improvements."""

from __future__ import annotations

import pytest

from femtojit.conformance import load_suite, parse_file, parse_text
from femtojit.errors import LoadError
from femtojit.isa import Insn
from tests.conftest import CONFORMANCE_DIR, CONFORMANCE_NEGATIVE_UNUSED


def test_whole_suite_parses():
    tests = load_suite(CONFORMANCE_DIR / "tests")
    assert len(tests) == 313
    assert all(t.skipped is None for t in tests)
    assert all(t.expected_result is not None and t.expected_error is None for t in tests)
    assert sum(1 for t in tests if t.mem) == 40
    assert [t.name for t in tests if t.raw is not None] == ["lddw"]


def test_mem_and_result():
    test = parse_file(CONFORMANCE_DIR / "tests" / "ldxdw.data")
    assert test.mem == bytes.fromhex("aabb1122334455667788ccdd")
    assert test.expected_result == 0x8877665544332211
    assert test.slots == [Insn(0x79, 0, 1, 2, 0), Insn(0x95)]


def test_unused_files_read_as_byte_rows():
    assert len(CONFORMANCE_NEGATIVE_UNUSED) == 45
    for path in CONFORMANCE_NEGATIVE_UNUSED:
        test = parse_file(path)
        assert test.skipped is None
        assert test.expected_error == "" and test.expected_result is None and test.must_fail
        assert len(test.slots) == 2 and test.slots[1] == Insn(0x95)
    test = parse_file(CONFORMANCE_DIR / "negative" / "unused-add64_imm-offset.data")
    assert test.slots[0] == Insn(0x07, 0, 0, 1, 1)


def test_raw_words_take_priority_over_asm():
    test = parse_text("-- asm\nmov %r0, 1\nexit\n-- raw\n0x00000002000000b7\n149\n-- result\n2\n")
    assert test.slots == [Insn(0xB7, 0, 0, 0, 2), Insn(0x95)]
    assert test.expected_result == 2


def test_comments_on_every_line_and_substring_directives():
    text = (
        "ignored before any directive\n"
        "--asm  # the substring rule: no space needed\n"
        "mov %r0, 3 # comment on a data line\n"
        "exit\r\n"
        "-- c\n"
        "int f(void) { return 3; }\n"
        "-- mem # with a comment\n"
        "01 0x2 ff1\n"
        "-- no register offset\n"
        "anything\n"
        "-- result\n"
        "7\n"
        "0x3\n"
        "\n"
    )
    test = parse_text(text)
    assert test.slots == [Insn(0xB7, 0, 0, 0, 3), Insn(0x95)]
    assert test.mem == bytes([1, 2, 0xF1])  # each token hex, low 8 bits
    assert test.expected_result == 3  # the last non-empty line counts


def test_decimal_result_wraps_like_stoull():
    assert parse_text("-- asm\nexit\n-- result\n-1\n").expected_result == (1 << 64) - 1
    assert parse_text("-- asm\nexit\n-- result\n42\n").expected_result == 42


def test_error_section_last_line():
    test = parse_text("-- asm\nexit\n-- error\nfirst\nInvalid thing   \n")
    assert test.expected_error == "Invalid thing"
    assert test.must_fail
    assert parse_text("-- asm\nexit\n-- error pattern\nx\n").expected_error == "x"


@pytest.mark.parametrize(
    "text,reason",
    [
        ("-- asm\nexit\n-- description\nabc\n-- result\n0\n", "unknown directive"),
        ("-- asm\nexit\n", "no result or error"),
        ("-- result\n0\n", "no instructions"),
        ("-- asm @ other.s\n-- result\n0\n", "no instructions"),
        ("-- asm\nfoo %r0\n-- result\n0\n", "does not assemble: line 1: unknown mnemonic"),
    ],
)
def test_skip_rules(text, reason):
    test = parse_text(text)
    assert test.skipped is not None and test.skipped.startswith(reason)


def test_negative_tooling_files():
    negative = {t.name: t for t in load_suite(CONFORMANCE_DIR / "negative")}
    assert len(negative) == 60
    assert negative["empty"].skipped == "no result or error"
    assert negative["empty_instructions"].skipped == "no instructions"
    assert negative["invalid_unknown_directive"].skipped.startswith("unknown directive")
    assert negative["invalid_register"].expected_error == "Invalid register"
    assert negative["invalid_register"].asm_error is not None
    assert negative["error.data".removesuffix(".data")].expected_error == "Invalid"
    assert negative["incorrect_return_value_high_bits"].expected_result == 0x8977665544332211


@pytest.mark.parametrize(
    "text",
    [
        "-- asm\nexit\n-- mem\nzz\n-- result\n0\n",
        "-- raw\n0xg\n-- result\n0\n",
        "-- asm\nexit\n-- result\n0xfffffffffffffffff\n",
    ],
)
def test_malformed_numbers_are_load_errors(text):
    with pytest.raises(LoadError):
        parse_text(text, name="bad")


def test_load_suite_needs_a_directory(tmp_path):
    with pytest.raises(LoadError):
        load_suite(tmp_path / "missing")
    with pytest.raises(LoadError):
        parse_file(tmp_path / "missing.data")
