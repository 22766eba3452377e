"""`femtojit asm`: assemble text into raw bytecode or a Femto-Container container."""

from __future__ import annotations

import argparse

HELP = "assemble text (bpf_conformance syntax) into raw bytecode or a container"
DESCRIPTION = """\
Assemble a text program (the bpf_conformance assembler syntax plus femtojit's extensions:
lddwd/lddwr, .data/.rodata sections, .insn, .globl/.entry; see docs/assembly.md).

--format raw (default) writes the bytecode alone: 8 bytes per slot, little-endian. It cannot
carry .data/.rodata; use --format container (a Femto-Container .bin) for programs with data.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN", help="assembly source file")
    parser.add_argument("-o", "--output", metavar="OUT", required=True, help="file to write")
    parser.add_argument(
        "--format",
        choices=("raw", "container"),
        default="raw",
        help="raw bytecode (default) or a Femto-Container container",
    )


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from femtojit.asm import assemble_program
    from femtojit.cli.common import write_output
    from femtojit.errors import FemtojitError, LoadError
    from femtojit.loaders import read_source

    raw, origin = read_source(args.input)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LoadError(f"{origin}: not UTF-8 text") from None
    try:
        program = assemble_program(text, origin=origin)
    except FemtojitError as error:
        raise type(error)(f"{origin}: {error}") from None
    if args.format == "raw":
        if program.data or program.rodata:
            raise FemtojitError(
                f"{origin}: raw bytecode cannot carry .data/.rodata: use --format container"
            )
        blob = program.text
    else:
        from femtojit.loaders.container import write_container

        blob = write_container(program)
    output = Path(args.output)
    write_output(output, blob)
    print(f"{output}: {len(program.slots)} slots, {len(blob)} bytes ({args.format})")
    return 0
