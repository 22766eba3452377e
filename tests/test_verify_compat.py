"""`--compat fc`: what upstream Femto-Container's interpreter would refuse or run differently."""

from __future__ import annotations

import pytest

from femtojit.asm import assemble
from femtojit.isa import Insn
from femtojit.verify import compat_report


def kinds(source) -> list[tuple[int, str]]:
    slots = assemble(source) if isinstance(source, str) else source
    return [(issue.index, issue.kind) for issue in compat_report(slots)]


def test_plain_femto_container_program_is_clean():
    program = (
        "mov %r0, 0\n"
        "mov %r2, 5\n"
        "lddw %r1, 0x7fffffff\n"
        "loop:\n"
        "add %r0, %r2\n"
        "ldxw %r3, [%r10-4]\n"
        "stw [%r10-4], 1\n"
        "stxdw [%r10-8], %r3\n"
        "call 2\n"  # memcpy, a built-in
        "lsh %r3, 63\n"
        "jsgt %r2, 1, +1\n"
        "jlt %r2, %r3, loop\n"
        "exit\n"
    )
    assert compat_report(assemble(program)) == []
    assert compat_report([Insn(0x8F, 1), Insn(0x95)]) == []  # FC's own NEG encoding


@pytest.mark.parametrize(
    "source,expected",
    [
        ("add32 %r0, 1\nexit", [(0, "needs-alu32")]),
        ("neg32 %r0\nexit", [(0, "unsupported")]),
        ("neg %r0\nexit", [(0, "unsupported")]),
        ("le16 %r0\nexit", [(0, "unsupported")]),
        ("bswap64 %r0\nexit", [(0, "unsupported")]),
        ("jeq32 %r0, 1, +0\nexit", [(0, "unsupported")]),
        ("ja32 +0\nexit", [(0, "unsupported")]),
        ("ldxsw %r0, [%r10-4]\nexit", [(0, "unsupported")]),
        ("lock add [%r10-8], %r1\nexit", [(0, "unsupported")]),
        ("call local +0\nexit", [(0, "unsupported")]),
        ("call %r1\nexit", [(0, "unsupported")]),
        ("call 5\nexit", [(0, "unsupported")]),
        ("sdiv %r0, 3\nexit", [(0, "differs")]),
        ("smod32 %r0, %r1\nexit", [(0, "needs-alu32"), (0, "differs")]),
        ("movsx3264 %r0, %r1\nexit", [(0, "differs")]),
        ("movsx832 %r0, %r1\nexit", [(0, "needs-alu32"), (0, "differs")]),
        ("mov %r0, -1\nexit", [(0, "differs")]),
        ("mov %r0, %r1\nexit", [(0, "differs")]),
        ("mov32 %r0, -1\nmov32 %r0, %r1\nexit", [(0, "needs-alu32"), (1, "needs-alu32")]),
        ("arsh32 %r0, 1\nexit", [(0, "needs-alu32"), (0, "differs")]),
        ("lsh %r0, 64\nexit", [(0, "differs")]),
        ("rsh %r0, -1\nexit", [(0, "differs")]),
        ("lsh32 %r0, 32\nexit", [(0, "needs-alu32"), (0, "differs")]),
        ("lddw %r0, 0x80000000\nexit", [(0, "differs")]),
        ("lddw %r0, 0xffffffff7fffffff\nexit", []),
        ("lddwd %r0, 0\nexit", [(0, "differs")]),
        ("lddwr %r0, 0xfffffff0\nexit", [(0, "differs"), (0, "differs")]),
        ("mov %r0, 0\nja -2\nexit", [(1, "unsupported")]),  # jump to slot 0
        ("mov %r0, 0\nexit\nja -2", [(2, "unsupported")]),  # last slot not exit
        (".insn 0xe700000000000000\nexit", [(0, "unsupported")]),
    ],
)
def test_cases(source, expected):
    assert kinds(source) == expected


def test_issue_text_and_reason():
    (issue,) = compat_report(assemble("mov %r0, 0\ncall local +0\nexit"))
    assert issue.index == 1 and issue.text == "call local +0"
    assert "no local calls" in issue.reason
    assert str(issue) == f"instruction 1 (call local +0): {issue.reason} [unsupported]"
