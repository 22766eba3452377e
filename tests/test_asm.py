"""Assembler and disassembler: hand-encoded spot checks, errors, data sections, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from femtojit import isa
from femtojit.asm import assemble, assemble_program, disassemble, format_insn
from femtojit.errors import AsmError, FemtojitError
from femtojit.isa import Insn
from femtojit.program import Function, Program
from tests.conftest import FUZZ_EXAMPLES


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", "").replace("/", ""))


# text -> the slots' bytes in file order, encoded by hand from RFC 9669 / NOTES.md §4.
SPOT_CHECKS = [
    ("mov %r0, 1", "b7 00 0000 01000000"),
    ("mov32 %r1, -1", "b4 01 0000 ffffffff"),
    ("mov32 %r1, 0xffffffff", "b4 01 0000 ffffffff"),
    ("mov %r1, +7", "b7 01 0000 07000000"),
    ("mov %r1, 0X10".replace("X", "x"), "b7 01 0000 10000000"),
    ("add %r1, %r2", "0f 21 0000 00000000"),
    ("add32 %r1, 2", "04 01 0000 02000000"),
    ("sub32 %r3, %r4", "1c 43 0000 00000000"),
    ("sub %r3, -2147483648", "17 03 0000 00000080"),
    ("mul %r1, 0x10", "27 01 0000 10000000"),
    ("mul32 %r1, %r9", "2c 91 0000 00000000"),
    ("div %r1, 3", "37 01 0000 03000000"),
    ("div32 %r1, %r2", "3c 21 0000 00000000"),
    ("sdiv %r1, 3", "37 01 0100 03000000"),
    ("sdiv32 %r1, %r2", "3c 21 0100 00000000"),
    ("mod32 %r1, 7", "94 01 0000 07000000"),
    ("smod %r1, %r2", "9f 21 0100 00000000"),
    ("smod32 %r1, -3", "94 01 0100 fdffffff"),
    ("or %r1, 1", "47 01 0000 01000000"),
    ("and %r1, %r2", "5f 21 0000 00000000"),
    ("lsh %r1, 63", "67 01 0000 3f000000"),
    ("rsh32 %r1, %r2", "7c 21 0000 00000000"),
    ("xor %r1, 0xff", "a7 01 0000 ff000000"),
    ("arsh %r1, 1", "c7 01 0000 01000000"),
    ("arsh32 %r1, %r2", "cc 21 0000 00000000"),
    ("mov %r10, %r1", "bf 1a 0000 00000000"),
    ("neg %r2", "87 02 0000 00000000"),
    ("neg32 %r2", "84 02 0000 00000000"),
    ("le16 %r3", "d4 03 0000 10000000"),
    ("le64 %r3", "d4 03 0000 40000000"),
    ("be32 %r3", "dc 03 0000 20000000"),
    ("bswap32 %r3", "d7 03 0000 20000000"),
    ("swap16 %r3", "d7 03 0000 10000000"),
    ("bswap64 %r9", "d7 09 0000 40000000"),
    ("movsx832 %r1, %r2", "bc 21 0800 00000000"),
    ("movsx1632 %r1, %r2", "bc 21 1000 00000000"),
    ("movsx864 %r1, %r2", "bf 21 0800 00000000"),
    ("movsx1664 %r1, %r2", "bf 21 1000 00000000"),
    ("movsx3264 %r1, %r2", "bf 21 2000 00000000"),
    ("lddw %r0, 0x1122334455667788", "18 00 0000 88776655 / 00 00 0000 44332211"),
    ("lddw %r1, -1", "18 01 0000 ffffffff / 00 00 0000 ffffffff"),
    ("lddw %r1, 4294967296", "18 01 0000 00000000 / 00 00 0000 01000000"),
    ("lddw %r1, 18446744073709551615", "18 01 0000 ffffffff / 00 00 0000 ffffffff"),
    ("lddwd %r2, 8", "b8 02 0000 08000000 / 00 00 0000 00000000"),
    ("lddwr %r3, 0x100000004", "d8 03 0000 04000000 / 00 00 0000 01000000"),
    ("ldxb %r0, [%r1+2]", "71 10 0200 00000000"),
    ("ldxh %r0, [%r1]", "69 10 0000 00000000"),
    ("ldxw %r0, [%r10-4]", "61 a0 fcff 00000000"),
    ("ldxdw %r0, [%r1+0x7fff]", "79 10 ff7f 00000000"),
    ("ldxdw %r0, [%r1+0xffff]", "79 10 ffff 00000000"),
    ("ldxdw %r0, [%r1-32768]", "79 10 0080 00000000"),
    ("ldxsb %r0, [%r1+1]", "91 10 0100 00000000"),
    ("ldxsh %r0, [%r1+1]", "89 10 0100 00000000"),
    ("ldxsw %r0, [%r1+1]", "81 10 0100 00000000"),
    ("stb [%r10-1], 5", "72 0a ffff 05000000"),
    ("sth [%r1+2], 0x1234", "6a 01 0200 34120000"),
    ("stw [%r1], -1", "62 01 0000 ffffffff"),
    ("stdw [%r1+8], -2", "7a 01 0800 feffffff"),
    ("stxb [%r1], %r2", "73 21 0000 00000000"),
    ("stxh [%r1+6], %r2", "6b 21 0600 00000000"),
    ("stxw [%r1+4], %r2", "63 21 0400 00000000"),
    ("stxdw [%r10-8], %r3", "7b 3a f8ff 00000000"),
    ("lock add [%r10-8], %r1", "db 1a f8ff 00000000"),
    ("lock fetch add32 [%r10-8], %r1", "c3 1a f8ff 01000000"),
    ("lock or [%r1], %r2", "db 21 0000 40000000"),
    ("lock fetch or32 [%r1], %r2", "c3 21 0000 41000000"),
    ("lock and32 [%r1], %r2", "c3 21 0000 50000000"),
    ("lock fetch and [%r1], %r2", "db 21 0000 51000000"),
    ("lock xor32 [%r1], %r2", "c3 21 0000 a0000000"),
    ("lock fetch xor [%r1], %r2", "db 21 0000 a1000000"),
    ("lock xchg [%r1], %r2", "db 21 0000 e1000000"),
    ("lock fetch xchg [%r1], %r2", "db 21 0000 e1000000"),
    ("lock cmpxchg32 [%r1+4], %r2", "c3 21 0400 f1000000"),
    ("lock cmpxchg [%r1+4], %r2", "db 21 0400 f1000000"),
    ("jeq %r1, 5, +2", "15 01 0200 05000000"),
    ("jeq %r1, %r2, +0x10", "1d 21 1000 00000000"),
    ("jgt %r1, 5, -1", "25 01 ffff 05000000"),
    ("jge %r1, 5, +1", "35 01 0100 05000000"),
    ("jset %r1, 5, +1", "45 01 0100 05000000"),
    ("jne32 %r1, %r2, -1", "5e 21 ffff 00000000"),
    ("jsgt %r1, -5, +1", "65 01 0100 fbffffff"),
    ("jsge32 %r1, 5, +1", "76 01 0100 05000000"),
    ("jlt %r1, %r2, +1", "ad 21 0100 00000000"),
    ("jle32 %r1, 5, +1", "b6 01 0100 05000000"),
    ("jslt %r1, 5, +1", "c5 01 0100 05000000"),
    ("jsle %r1, %r3, +1", "dd 31 0100 00000000"),
    ("ja +1", "05 00 0100 00000000"),
    ("ja -32768", "05 00 0080 00000000"),
    ("ja32 -2", "06 00 0000 feffffff"),
    ("call 5", "85 00 0000 05000000"),
    ("call helper 5", "85 00 0000 05000000"),
    ("call %r2", "8d 02 0000 00000000"),
    ("call helper %r2", "8d 02 0000 00000000"),
    ("call local +3", "85 10 0000 03000000"),
    ("call runtime 7", "85 20 0000 07000000"),
    ("exit", "95 00 0000 00000000"),
    ("mov %r11, %r15", "bf fb 0000 00000000"),
    (".insn 0x0700010001000000", "07 00 0100 01000000"),
]


@pytest.mark.parametrize("text,expected", SPOT_CHECKS, ids=[t for t, _ in SPOT_CHECKS])
def test_encoding_spot_check(text, expected):
    slots = assemble(text)
    assert isa.encode(slots) == hexbytes(expected)
    # and the disassembly reads back to the same bytes
    assert isa.encode(assemble(disassemble(slots))) == hexbytes(expected)


def test_labels_and_implicit_exit():
    slots = assemble(
        "mov %r0, 0\n"
        "L: ja exit\n"  # label and instruction on one line (femtojit extension)
        "lddw %r1, 1\n"
        "jeq %r1, 1, L\n"
        "exit\n"
        "exit\n"
    )
    assert slots[1] == Insn(0x05, off=3)  # first exit is slot 5
    assert slots[4] == Insn(0x15, 1, 0, -4, 1)


def test_label_at_end_and_call_local_labels():
    slots = assemble("call local f\nexit\nf:\nmov %r0, 1\nexit\nja32 end\nend:\n")
    assert slots[0] == Insn(0x85, 0, 1, 0, 1)
    assert slots[4] == Insn(0x06, imm=0)  # a label may name the slot after the last one


def test_far_label_reaches_imm_but_not_off():
    body = "mov %r0, 0\n" * 40000
    slots = assemble("ja32 far\n" + body + "far:\nexit\n")
    assert slots[0] == Insn(0x06, imm=40000)
    with pytest.raises(AsmError, match="beyond the 16-bit offset"):
        assemble("ja far\n" + body + "far:\nexit\n")


def test_comments_and_blank_lines():
    slots = assemble("  # heading\n\nmov %r0, 1 # one\n\texit\t\n")
    assert slots == [Insn(0xB7, imm=1), Insn(0x95)]


@pytest.mark.parametrize(
    "text,line,reason",
    [
        ("ldxq %r0, %r1", 1, "unknown mnemonic 'ldxq'"),
        ("add64 %r0, 1", 1, "unknown mnemonic"),
        ("exit\nlddw %r0", 2, "lddw takes 2 operands, got 1"),
        ("mov %r0,1", 1, "comma and a space"),
        ("exit 1", 1, "exit takes 0 operands"),
        ("mov32 %r0, 2147483648", 1, "out of the 32-bit range"),
        ("mov32 %r0, -2147483649", 1, "out of the 32-bit range"),
        ("mov32 %r0, 0x100000000", 1, "does not fit in 32 bits"),
        ("mov %r0, -0x1", 1, "negative hex"),
        ("mov %r0, 1x", 1, "bad immediate"),
        ("mov %r0, 1_000", 1, "bad immediate"),
        ("ldxb %r0, [%r1+0x10000]", 1, "does not fit in 16 bits"),
        ("ldxb %r0, [%r1+32768]", 1, "16-bit range"),
        ("ldxb %r0, [%r1-32769]", 1, "16-bit range"),
        ("ldxb %r0, [%r1-0x8]", 1, "negative hex"),
        ("ldxb %r0, %r1", 1, "bad memory operand"),
        ("ldxb %r0, [%r1 + 2]", 1, "operands"),
        ("or %r0, %r50", 1, "invalid register '%r50'"),
        ("or %r0, %r16", 1, "invalid register"),
        ("or %R0, 1", 1, "invalid register"),
        ("ja NOT_A_LABEL\nexit", 1, "undefined label 'NOT_A_LABEL'"),
        ("ja exit", 1, "no exit instruction"),
        ("a:\nexit\na:\nexit", 3, "duplicate label 'a' (first defined on line 1)"),
        ("exit:\nexit", 1, "'exit' cannot be defined"),
        ("ja -0x1", 1, "negative hex"),
        ("ja +32768", 1, "16-bit range"),
        ("lock or [%r10-8]", 1, "lock takes"),
        ("lock", 1, "lock takes"),
        ("lock nand [%r1], %r2", 1, "unknown atomic operation"),
        ("call", 1, "call takes 2 operands"),
        ("call far 5", 1, "bad call mode"),
        ("movsx864 %r1, 5", 1, "register source"),
        ("movsx3232 %r1, %r2", 1, "unknown mnemonic"),
        ("le8 %r1", 1, "unknown mnemonic"),
        ("lddw %r0, 0x10000000000000000", 1, "does not fit in 64 bits"),
        ("lddw %r0, -9223372036854775809", 1, "below -2^63"),
        ("lddwd %r0, nowhere", 1, "undefined label 'nowhere'"),
        (".insn 0x0011", 1, ".insn needs one slot"),
        (".bogus", 1, "unknown directive"),
        (".byte 1", 1, "outside a .data or .rodata section"),
        (".data\nmov %r0, 1", 2, "instruction 'mov' in the .data section"),
        (".data\n.byte 256", 2, "does not fit in 1 byte"),
        (".data\n.half -32769", 2, "does not fit in 2 byte"),
        (".data\n.word x", 2, "bad value"),
        ('.data\n.ascii "abc', 2, "unterminated string"),
        (".data\n.ascii abc", 2, "double quotes"),
        ('.data\n.ascii "\\q"', 2, "unknown escape"),
        (".entry main\nexit", 1, "undefined label 'main'"),
        ("9lives:\nexit", 1, "bad label name"),
    ],
)
def test_errors(text, line, reason):
    with pytest.raises(AsmError) as info:
        assemble(text)
    assert info.value.line == line
    assert reason in str(info.value)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"line {line}: ")


def test_data_sections_and_labels():
    program = assemble_program(
        """
        .globl main
        .entry main
        helper_fn:
            exit
        main:
            lddwd %r1, counter
            lddwr %r2, msg
            lddwr %r3, 0x10
            exit
        .data
            .byte 1, 0x2, -1
        counter:
            .half 0x1234
            .word -1
            .dword 0x1122334455667788
            .zero 2
        .rodata
            .ascii "a#b\\n", "\\x41\\101"   # the # inside quotes is not a comment
        msg:
            .asciz "hi"
        .text
            exit
        """
    )
    assert program.data == bytes([1, 2, 255, 0x34, 0x12, 255, 255, 255, 255]) + bytes.fromhex(
        "8877665544332211"
    ) + bytes(2)
    assert program.rodata == b"a#b\nAAhi\0"
    assert program.functions == [Function("main", 1)]
    assert program.entry == 1
    assert program.slots[1] == Insn(0xB8, 1, 0, 0, 3)  # counter is at .data offset 3
    assert program.slots[3] == Insn(0xD8, 2, 0, 0, 6)  # msg is at .rodata offset 6
    again = assemble_program(disassemble(program))
    assert again.text == program.text
    assert (again.data, again.rodata, again.entry) == (program.data, program.rodata, 1)
    assert again.functions == program.functions


def test_data_label_in_wrong_section():
    with pytest.raises(AsmError, match="not in the .rodata section"):
        assemble(".data\nx:\n.byte 1\n.text\nlddwr %r1, x\nexit")
    with pytest.raises(AsmError, match="not in .text"):
        assemble(".data\nx:\n.byte 1\n.text\nja x\nexit")


def test_disassemble_uses_labels_and_raw_for_the_inexpressible():
    slots = [
        Insn(0x15, 1, 0, 2, 5),  # jeq r1, 5 -> slot 3
        Insn(0x07, 0, 0, 1, 1),  # add with off=1: reserved field -> .insn
        Insn(0x18, 0, 0, 0, 1),  # lddw with a non-zero second slot -> two slots
        Insn(0x00, 1, 0, 0, 0),
        Insn(0x05, 0, 0, -3, 0),  # ja -> slot 2
        Insn(0x05, 0, 0, 5, 0),  # ja outside the program: numeric
        Insn(0x06, 0, 0, 0, 100000),  # ja32 far outside: not expressible -> raw
        Insn(0x95),
    ]
    text = disassemble(slots)
    assert "jeq %r1, 5, L3" in text
    assert ".insn 0x0700010001000000" in text
    assert "ja L2" in text
    assert "ja +5" in text
    assert ".insn 0x06000000a0860100" in text
    assert isa.encode(assemble(text)) == isa.encode(slots)


def test_format_insn_numeric_and_wide():
    slots = assemble("lddw %r1, 0x8000000000000001\nja -3\nexit")
    assert format_insn(slots, 0) == "lddw %r1, 0x8000000000000001"
    assert format_insn(slots, 2) == "ja -3"
    assert format_insn(slots, 3) == "exit"


def test_disassemble_program_with_odd_function_names():
    program = Program(
        assemble("ja +0\nexit\nexit"),  # the jump makes a generated label L1
        functions=[Function("main", 0), Function("has space", 1), Function("L1", 2)],
        data=b"\x01\x02",
    )
    again = assemble_program(disassemble(program))
    assert again.text == program.text and again.data == program.data
    assert [f.name for f in again.functions] == ["main"]


def test_lddw_immediate_forms_round_trip_exactly():
    for value in (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 63, (1 << 64) - 1):
        slots = assemble(f"lddw %r0, {value:#x}")
        assert isa.imm64(slots[0], slots[1]) == value
        assert assemble(disassemble(slots)) == slots


_slot = st.builds(
    Insn,
    opcode=st.integers(0, 255),
    dst=st.integers(0, 15),
    src=st.integers(0, 15),
    off=st.integers(-(1 << 15), (1 << 15) - 1),
    imm=st.integers(-(1 << 31), (1 << 31) - 1),
)


@pytest.mark.fuzz
@settings(max_examples=FUZZ_EXAMPLES or 300, deadline=None)
@given(st.lists(_slot, max_size=12))
def test_any_slots_round_trip(slots):
    """disasm -> asm is the identity on arbitrary bytes, valid or not."""
    assert isa.encode(assemble(disassemble(slots))) == isa.encode(slots)


# Every valid instruction form, with random register/offset/immediate fields.
_reg = st.integers(0, 10)
_off = st.integers(-(1 << 15), (1 << 15) - 1)
_imm = st.integers(-(1 << 31), (1 << 31) - 1)
_ALU_OPS = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0]
_JCOND = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0]


@st.composite
def valid_insn(draw) -> list[Insn]:
    kind = draw(
        st.sampled_from(
            ["alu", "neg", "end", "movsx", "jcond", "ja", "call", "mem", "atomic", "wide", "exit"]
        )
    )
    d, s = draw(_reg), draw(_reg)
    if kind == "alu":
        cls = draw(st.sampled_from([0x04, 0x07]))
        op = draw(st.sampled_from(_ALU_OPS))
        off = draw(st.sampled_from([0, 1])) if op in (0x30, 0x90) else 0
        if draw(st.booleans()):
            return [Insn(cls | op | 0x08, d, s, off, 0)]
        return [Insn(cls | op, d, 0, off, draw(_imm))]
    if kind == "neg":
        return [Insn(draw(st.sampled_from([0x84, 0x87])), d)]
    if kind == "end":
        return [
            Insn(
                draw(st.sampled_from([0xD4, 0xDC, 0xD7])),
                d,
                0,
                0,
                draw(st.sampled_from([16, 32, 64])),
            )
        ]
    if kind == "movsx":
        opcode, off = draw(
            st.sampled_from([(0xBC, 8), (0xBC, 16), (0xBF, 8), (0xBF, 16), (0xBF, 32)])
        )
        return [Insn(opcode, d, s, off)]
    if kind == "jcond":
        cls = draw(st.sampled_from([0x05, 0x06]))
        op = draw(st.sampled_from(_JCOND))
        if draw(st.booleans()):
            return [Insn(cls | op | 0x08, d, s, draw(_off), 0)]
        return [Insn(cls | op, d, 0, draw(_off), draw(_imm))]
    if kind == "ja":
        if draw(st.booleans()):
            return [Insn(0x05, off=draw(_off))]
        return [Insn(0x06, imm=draw(_off))]
    if kind == "call":
        which = draw(st.sampled_from(["helper", "local", "x"]))
        if which == "helper":
            return [Insn(0x85, imm=draw(_imm))]
        if which == "local":
            return [Insn(0x85, src=1, imm=draw(_off))]
        return [Insn(0x8D, d)]
    if kind == "mem":
        opcode = draw(
            st.sampled_from(
                [
                    0x61,
                    0x69,
                    0x71,
                    0x79,
                    0x81,
                    0x89,
                    0x91,
                    0x62,
                    0x6A,
                    0x72,
                    0x7A,
                    0x63,
                    0x6B,
                    0x73,
                    0x7B,
                ]
            )
        )
        if opcode & 7 == 2:
            return [Insn(opcode, d, 0, draw(_off), draw(_imm))]
        return [Insn(opcode, d, s, draw(_off), 0)]
    if kind == "atomic":
        imm = draw(st.sampled_from([0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xA0, 0xA1, 0xE1, 0xF1]))
        return [Insn(draw(st.sampled_from([0xC3, 0xDB])), d, s, draw(_off), imm)]
    if kind == "wide":
        return [
            Insn(draw(st.sampled_from([0x18, 0xB8, 0xD8])), d, 0, 0, draw(_imm)),
            Insn(0, 0, 0, 0, draw(_imm)),
        ]
    return [Insn(0x95)]


@pytest.mark.fuzz
@settings(max_examples=FUZZ_EXAMPLES or 300, deadline=None)
@given(st.lists(valid_insn(), min_size=1, max_size=10))
def test_valid_instructions_disassemble_to_mnemonics(groups):
    slots = [s for group in groups for s in group]
    text = disassemble(slots)
    assert ".insn" not in text
    assert isa.encode(assemble(text)) == isa.encode(slots)


def test_asm_error_is_a_femtojit_error():
    assert issubclass(AsmError, FemtojitError)


def test_docs_example_assembles_and_verifies():
    """The example in docs/assembly.md is a real, valid program."""
    from femtojit.verify import verify
    from tests.conftest import REPO

    doc = (REPO / "docs" / "assembly.md").read_text()
    example = doc.split("Example:\n\n```\n", 1)[1].split("```", 1)[0]
    program = assemble_program(example)
    assert program.rodata == b"hi\n\0" and program.data == bytes(4)
    assert verify(program, profile="femto").helper_ids == {1}
    assert assemble_program(disassemble(program)).text == program.text
