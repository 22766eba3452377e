"""`femtojit disasm`: print a program as assembly that re-assembles to the same bytes."""

from __future__ import annotations

import argparse

from femtojit.cli.common import add_kind_argument

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
    add_kind_argument(parser)


def main(args: argparse.Namespace) -> int:
    import sys

    from femtojit.asm import disassemble
    from femtojit.cli.common import write_output
    from femtojit.loaders import load

    text = disassemble(load(args.program, kind=args.kind))
    if args.output is None:
        sys.stdout.write(text)
        return 0
    write_output(args.output, text)
    return 0
