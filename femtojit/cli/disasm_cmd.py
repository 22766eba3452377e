"""`femtojit disasm`: print a program as assembly that re-assembles to the same bytes."""

from __future__ import annotations

import argparse

HELP = "print a program as text assembly"
DESCRIPTION = """\
Print a program (container .bin, clang -target bpf object, assembly or raw bytecode) as text
in the assembler's syntax. Jump targets get labels (L<slot>); slots the syntax cannot express
(unknown opcodes, non-zero reserved fields) are printed as `.insn 0x<8 bytes>`, so
`femtojit asm` turns the output back into identical bytecode. .data/.rodata are printed as
.byte lines, functions as .globl.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("program", metavar="PROGRAM", help="program file (.bin, .o, .s, raw)")
    parser.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    parser.add_argument(
        "--kind",
        choices=("elf", "container", "asm", "raw"),
        help="program format (default: recognised from the content)",
    )


def main(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from femtojit.asm import disassemble
    from femtojit.errors import FemtojitError
    from femtojit.loaders import load

    text = disassemble(load(args.program, kind=args.kind))
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise FemtojitError(f"cannot write {args.output}: {error.strerror or error}") from None
    return 0
