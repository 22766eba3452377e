"""`femtojit pack`: write a Femto-Container container (.bin) from a program."""

from __future__ import annotations

import argparse

from femtojit.cli.common import add_kind_argument

HELP = "write a Femto-Container .bin from a clang -target bpf object (or any program)"
DESCRIPTION = """\
Write a Femto-Container application file (.bin, "rBPF" container) from a program: the job of
upstream's gen_rbf.py, including what it cannot do (.bss, string literals in .rodata.str1.1,
.rodata.cst* constants, functions in several sections).

The container holds .data (initialised data, then .bss zero-filled), .rodata (every .rodata*
section merged, then the function names), .text (LDDW relocations turned into LDDWD/LDDWR) and
the table of global functions. The input is usually a clang -target bpf object; assembly, raw
bytecode and containers are accepted too (recognised from the content, or --kind).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN", help="program file (usually a .o from clang)")
    parser.add_argument("-o", "--output", metavar="OUT", required=True, help="container to write")
    add_kind_argument(parser, "input")


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from femtojit.cli.common import write_output
    from femtojit.loaders import load
    from femtojit.loaders.container import HEADER, write_container

    program = load(args.input, kind=args.kind)
    blob = write_container(program)
    output = Path(args.output)
    write_output(output, blob)
    _, _, _, data_len, rodata_len, text_len, _ = HEADER.unpack_from(blob)
    functions = ", ".join(f.name for f in program.functions) or "none"
    print(
        f"{output}: {len(blob)} bytes (text {text_len} B = {text_len // 8} slots, "
        f"data {data_len} B, rodata {rodata_len} B); functions: {functions}"
    )
    return 0
