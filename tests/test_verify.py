"""The verifier: every rule with its index/text/rule, the profiles, the report, the suite."""

from __future__ import annotations

import pytest

from femtojit.asm import assemble, assemble_program
from femtojit.conformance import load_suite, parse_file
from femtojit.errors import FemtojitError, VerifyError
from femtojit.isa import Insn
from femtojit.program import Function, Program
from femtojit.verify import RULES, verify, verify_all
from tests.conftest import CONFORMANCE_DIR, CONFORMANCE_NEGATIVE_UNUSED, CONFORMANCE_TESTS


def rejected(source, profile="femto", **kwargs) -> VerifyError:
    program = assemble_program(source) if isinstance(source, str) else source
    with pytest.raises(VerifyError) as info:
        verify(program, profile=profile, **kwargs)
    error = info.value
    assert error.rule in RULES
    assert "\n" not in str(error)
    assert str(error).endswith(f"[{error.rule}]")
    return error


def check(source, index, text, rule, profile="femto", message="", **kwargs):
    error = rejected(source, profile, **kwargs)
    assert (error.index, error.text, error.rule) == (index, text, rule), str(error)
    assert message in str(error)


# -- one test per rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    "source,index,text,message",
    [
        ("mov %r0, 0\n.insn 0xe700000000000000\nexit", 1, ".insn 0xe700000000000000", "0xe7"),
        (".insn 0x2000000000000000\nexit", 0, ".insn 0x2000000000000000", "0x20"),  # LD_ABS
        (".insn 0x9910000000000000\nexit", 0, ".insn 0x9910000000000000", "0x99"),  # ldxsdw
        (".insn 0x0d00000000000000\nexit", 0, ".insn 0x0d00000000000000", "0x0d"),  # ja X
        (".insn 0x8600000000000000\nexit", 0, ".insn 0x8600000000000000", "0x86"),  # call32
        (".insn 0xdf01000010000000\nexit", 0, ".insn 0xdf01000010000000", "0xdf"),  # END64 X
        (".insn 0xd321000000000000\nexit", 0, ".insn 0xd321000000000000", "0xd3"),  # atomic b
        (".insn 0xdb21000010000000\nexit", 0, ".insn 0xdb21000010000000", "atomic operation"),
        ("call runtime 3\nexit", 0, "call runtime 3", "BTF"),
        (".insn 0x9600000000000000\nexit", 0, ".insn 0x9600000000000000", "0x96"),
    ],
)
def test_unknown_opcode(source, index, text, message):
    check(source, index, text, "unknown-opcode", message=message)


def test_neg_0x8f_only_in_femto():
    program = [Insn(0x8F, 1), Insn(0xB7), Insn(0x95)]
    assert verify(program, profile="femto").n_insns == 3
    check(program, 0, ".insn 0x8f01000000000000", "unknown-opcode", profile="rfc")
    check([Insn(0x8F, 1, 1), Insn(0x95)], 0, ".insn 0x8f11000000000000", "reserved-field")


def test_lddwd_lddwr_in_both_profiles():
    for profile in ("femto", "rfc"):
        report = verify(assemble("lddwd %r1, 4\nlddwr %r2, 0\nexit"), profile=profile)
        assert report.starts == [0, 2, 4]


@pytest.mark.parametrize(
    "source,index,text",
    [
        ("mov %r0, 0\nmov %r11, 1\nexit", 1, "mov %r11, 1"),
        ("ldxw %r0, [%r12]\nexit", 0, "ldxw %r0, [%r12]"),
        ("stxw [%r1], %r15\nexit", 0, "stxw [%r1], %r15"),
        ("call %r11\nexit", 0, "call %r11"),
        ("jeq %r1, %r13, +0\nexit", 0, "jeq %r1, %r13, +0"),
        ("lddw %r14, 1\nexit", 0, "lddw %r14, 0x1"),
        ("lock add [%r11], %r1\nexit", 0, "lock add [%r11], %r1"),
        ("le16 %r11\nexit", 0, "le16 %r11"),
    ],
)
def test_bad_register(source, index, text):
    check(source, index, text, "bad-register", message="does not exist")


@pytest.mark.parametrize(
    "slot,message",
    [
        (Insn(0xD4, 1, 0, 0, 8), "width must be 16, 32 or 64"),
        (Insn(0xBC, 1, 2, 32), "movsx width (8, 16)"),  # no 32-bit movsx from 32 bits
        (Insn(0xB7, 1, 0, 8, 0), "offset field must be 0"),  # movsx is X form only
        (Insn(0x3F, 1, 2, 2), "div offset must be 0 (div) or 1 (sdiv)"),
        (Insn(0x97, 1, 0, 3, 1), "mod offset must be 0 (mod) or 1 (smod)"),
        (Insn(0x27, 1, 0, 1, 1), "offset field must be 0"),  # only div/mod take off=1
        (Insn(0x18, 1, 1, 0, 1), "src field must be 0"),  # map-fd lddw is not supported
        (Insn(0x06, 1, 0, 0, 0), "dst field must be 0"),  # ja32
        (Insn(0x06, 0, 0, 1, 0), "offset field must be 0"),  # ja32
        (Insn(0x8D, 1, 0, 0, 1), "imm field must be 0"),  # callx
        (Insn(0x85, 0, 3, 0, 1), "src field must be 0"),  # unknown call kind
        (Insn(0x85, 1, 1, 0, 0), "dst field must be 0"),  # local call
        (Insn(0x62, 1, 2, 0, 0), "src field must be 0"),
        (Insn(0x81, 1, 2, 0, 4), "imm field must be 0"),
    ],
)
def test_reserved_field(slot, message):
    slots = [slot, Insn(0x00)] if slot.opcode == 0x18 else [slot]
    error = rejected(slots + [Insn(0x95)])
    assert (error.index, error.rule) == (0, "reserved-field")
    assert message in str(error)


@pytest.mark.parametrize("path", CONFORMANCE_NEGATIVE_UNUSED, ids=lambda p: p.stem)
def test_unused_field_files_rejected(path):
    test = parse_file(path)
    for profile in ("rfc", "femto"):
        error = rejected(test.program, profile)
        assert (error.index, error.rule) == (0, "reserved-field")


def test_lddw_pair():
    check(
        [Insn(0xB7), Insn(0x95), Insn(0x18, 1, 0, 0, 1)],
        2,
        ".insn 0x1801000001000000",
        "lddw-pair",
        message="last slot",
    )
    check(
        [Insn(0x18, 1, 0, 0, 1), Insn(0x95), Insn(0x95)],
        0,
        ".insn 0x1801000001000000",
        "lddw-pair",
        message="opcode 149",
    )
    check(
        [Insn(0xB8, 1, 0, 0, 1), Insn(0, 2, 0, 0, 0), Insn(0x95)],
        0,
        ".insn 0xb801000001000000",
        "lddw-pair",
        message="dst 2",
    )
    check(
        [Insn(0xD8, 1, 0, 0, 1), Insn(0, 0, 0, 5, 0), Insn(0x95)],
        0,
        ".insn 0xd801000001000000",
        "lddw-pair",
        message="offset 5",
    )


@pytest.mark.parametrize(
    "source,index,text,message",
    [
        ("ja +5\nexit", 0, "ja +5", "slot 6, outside the program (0..1)"),
        ("mov %r0, 0\nja -3\nexit", 1, "ja -3", "slot -1, outside"),
        ("jeq %r1, 0, +2\nexit", 0, "jeq %r1, 0, +2", "slot 3, outside"),
        ("ja32 +1\nexit", 0, "ja32 +1", "slot 2, outside"),
        ("jne %r1, 0, +1\nlddw %r0, 1\nexit", 0, "jne %r1, 0, +1", "second half of the 64-bit"),
        ("call local -2\nexit", 0, "call local -2", "local call to slot -1"),
        ("call local +1\nlddw %r0, 1\nexit", 0, "call local +1", "second half"),
    ],
)
def test_jump_target(source, index, text, message):
    check(source, index, text, "jump-target", message=message)


def test_entry_point_must_be_an_instruction_start():
    program = Program(assemble("lddw %r0, 1\nexit"), entry=1)
    check(program, 1, ".insn 0x0000000000000000", "jump-target", message="entry point")
    program = Program(assemble("exit"), functions=[Function("f", 7)])
    assert rejected(program).rule == "jump-target"


@pytest.mark.parametrize(
    "source,index,text",
    [
        ("mov %r0, 1\ndiv %r0, 0\nexit", 1, "div %r0, 0"),
        ("mod32 %r1, 0\nexit", 0, "mod32 %r1, 0"),
        ("sdiv %r1, 0\nexit", 0, "sdiv %r1, 0"),
        ("smod32 %r1, 0\nexit", 0, "smod32 %r1, 0"),
    ],
)
def test_div_by_zero_immediate_only_in_femto(source, index, text):
    check(source, index, text, "div-by-zero", message="femto profile")
    verify(assemble(source), profile="rfc")


def test_div_by_register_is_a_run_time_matter():
    verify(assemble("mov %r1, 0\ndiv %r0, %r1\nmod32 %r0, %r1\nexit"), profile="femto")


@pytest.mark.parametrize(
    "source,index,text",
    [
        ("mov %r10, 1\nexit", 0, "mov %r10, 1"),
        ("add32 %r10, %r1\nexit", 0, "add32 %r10, %r1"),
        ("neg %r10\nexit", 0, "neg %r10"),
        ("be32 %r10\nexit", 0, "be32 %r10"),
        ("movsx864 %r10, %r1\nexit", 0, "movsx864 %r10, %r1"),
        ("ldxdw %r10, [%r1]\nexit", 0, "ldxdw %r10, [%r1]"),
        ("ldxsw %r10, [%r1]\nexit", 0, "ldxsw %r10, [%r1]"),
        ("lddw %r10, 1\nexit", 0, "lddw %r10, 0x1"),
        ("lddwd %r10, 0\nexit", 0, "lddwd %r10, 0x0"),
        ("lock fetch add [%r1], %r10\nexit", 0, "lock fetch add [%r1], %r10"),
        ("lock xchg32 [%r1], %r10\nexit", 0, "lock xchg32 [%r1], %r10"),
    ],
)
def test_write_r10(source, index, text):
    check(source, index, text, "write-r10", message="read-only frame pointer")
    check(source, index, text, "write-r10", profile="rfc")


def test_reads_and_stores_through_r10_are_fine():
    verify(
        assemble(
            "stxdw [%r10-8], %r10\nmov %r1, %r10\nlock add [%r10-8], %r10\n"
            "lock cmpxchg [%r10-8], %r10\njeq %r10, %r1, +0\nldxdw %r0, [%r10-8]\nexit"
        )
    )


def test_unknown_helper():
    check(
        "mov %r1, 1\ncall 99\nexit", 1, "call 99", "unknown-helper", message="no helper with id 99"
    )
    verify(assemble("call 99\nexit"), helper_ids={99})
    check("call 1\nexit", 0, "call 1", "unknown-helper", helper_ids=set(), message="known: none")
    # helper 5 (bpf_conformance's) exists only in the rfc profile's default set
    verify(assemble("call 5\nexit"), profile="rfc")
    check("call 5\nexit", 0, "call 5", "unknown-helper")
    check("call -1\nexit", 0, "call -1", "unknown-helper", message="id 4294967295")


@pytest.mark.parametrize(
    "source,index,text",
    [
        ("mov %r0, 1", 0, "mov %r0, 1"),
        ("mov %r0, 0\njeq %r0, 0, -2", 1, "jeq %r0, 0, -2"),
        ("call local -1", 0, "call local -1"),  # calls itself, then runs on
        ("exit\nf:\nmov %r0, 0\nja f\ng:\nmov %r0, 1\ncall 1", 4, "call 1"),
    ],
)
def test_fall_through(source, index, text):
    program = assemble_program(source + "\n.globl g" if "g:" in source else source)
    check(program, index, text, "fall-through", message="past the end")


def test_unreachable_tail_and_jump_endings_are_fine():
    verify(assemble("exit\nmov %r0, 1"))  # the mov can never run
    verify(assemble("mov %r0, 0\nja32 +0\nexit"))
    verify(assemble("mov %r1, 0\nja L2\nL1:\nexit\nL2:\nja L1"))
    # a function only reachable through a local call must end properly too
    check("call local f\nexit\nf:\nmov %r0, 1", 2, "mov %r0, 1", "fall-through")


def test_empty():
    for program in ([], Program([])):
        error = rejected(program)
        assert (error.index, error.text, error.rule) == (0, "", "empty")


def test_unknown_profile():
    with pytest.raises(FemtojitError, match="unknown profile"):
        verify(assemble("exit"), profile="bpf")


# -- verify_all and the report ------------------------------------------------------------


def test_verify_all_lists_every_problem():
    program = assemble_program(
        "mov %r10, 1\n.insn 0x0700010001000000\ncall 77\nja +9\ndiv %r1, 0\nmov %r0, 1"
    )
    errors = verify_all(program)
    assert [(e.index, e.rule) for e in errors] == [
        (0, "write-r10"),
        (1, "reserved-field"),
        (2, "unknown-helper"),
        (3, "jump-target"),
        (4, "div-by-zero"),
    ]
    assert verify_all(assemble("exit")) == []
    assert [e.rule for e in verify_all(assemble("mov %r0, 1"))] == ["fall-through"]


def test_report_for_lowering():
    program = assemble_program(
        "lddw %r1, 1\n"  # 0-1
        "jeq %r1, 0, out\n"  # 2
        "call local f\n"  # 3
        "call 1\n"  # 4
        "mov %r2, 1\n"  # 5
        "call %r2\n"  # 6
        "out:\nexit\n"  # 7
        "f:\nja +0\n"  # 8
        "exit\n"  # 9
        "dead:\nexit\n"  # 10
    )
    report = verify(program, profile="femto")
    assert report.starts == [0, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert report.n_insns == 10 and report.n_slots == 11
    assert report.jump_targets == {7, 9}
    assert report.call_targets == {8}
    assert report.helper_ids == {1}
    assert report.uses_local_calls and report.uses_callx
    assert report.reachable == {0, 2, 3, 4, 5, 6, 7, 8, 9}
    plain = verify(assemble("mov %r0, 0\nexit"))
    assert not plain.uses_local_calls and not plain.uses_callx and not plain.helper_ids


def test_program_method_uses_the_verifier():
    assert assemble_program("exit").verify().n_insns == 1


# -- the conformance suite ----------------------------------------------------------------


def test_whole_suite_accepted_in_rfc():
    tests = load_suite(CONFORMANCE_DIR / "tests")
    assert len(tests) == len(CONFORMANCE_TESTS) == 313
    for test in tests:
        errors = verify_all(test.program, profile="rfc")
        assert errors == [], f"{test.name}: {errors[0]}"


def test_suite_in_femto_only_loses_the_helper_5_test():
    rejected_tests = {}
    for test in load_suite(CONFORMANCE_DIR / "tests"):
        errors = verify_all(test.program, profile="femto")
        if errors:
            rejected_tests[test.name] = [e.rule for e in errors]
    assert rejected_tests == {"call_unwind_fail": ["unknown-helper"]}
