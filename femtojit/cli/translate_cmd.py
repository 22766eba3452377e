"""`femtojit translate`: bytecode to native code for one target."""

from __future__ import annotations

import argparse
import sys

HELP = "translate a program to native code (blob, ELF object or C array)"
DESCRIPTION = """\
Translate a program ahead of time into position-independent native code for a target,
keeping the container's isolation: every memory access is checked against the regions,
the taken-branch budget is counted, helpers are called through the helper table.

Output formats:
  blob  the femtojit blob (docs/abi.md), loaded by the C runtime in femtojit/runtime/
  elf   a relocatable ELF object with a global function symbol NAME (and NAME_blob,
        NAME_data, NAME_rodata, NAME_imports) that the target's gcc links into firmware
  c     a C file holding the blob as `const uint8_t NAME[]`

--validate runs the translation under emulation and the interpreter on the same inputs and
compares status, 64-bit result and memory; it exits 1 on any difference.

examples:
  femtojit translate app.bin --target armv7m -o app.fjit
  femtojit translate app.o --entry main --target rv32imc --format elf -o app_rv.o
  femtojit translate app.bin --target armv7m --validate 200 --mem-hex 0102 -o /dev/null
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from femtojit.backends import TARGETS

    p.add_argument("program", help="program file (.bin, .o, .s or raw bytecode)")
    p.add_argument(
        "--target", "-t", required=True, metavar="TARGET",
        help=f"target: {', '.join(TARGETS)}",
    )
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: no output)")
    p.add_argument(
        "--format", "-f", choices=("blob", "elf", "c"), default="blob",
        help="output format (default: blob)",
    )
    p.add_argument("--name", default=None, help="symbol name for elf/c output (default: from OUT)")
    p.add_argument("--entry", metavar="NAME", help="function to translate (default: first)")
    p.add_argument("--profile", choices=("femto", "rfc"), default="femto",
                   help="semantics profile (default: femto)")
    p.add_argument(
        "--branch-budget", metavar="N|none", default=None,
        help="compile in the taken-branch budget check (default: on, 200, in femto; off in rfc)",
    )
    p.add_argument("--no-opt", action="store_true", help="skip the IR optimisation passes")
    p.add_argument(
        "--validate", nargs="?", const=100, type=_count, metavar="N",
        help="run the translation and the interpreter on the given input (--mem/--mem-hex) "
        "and on N generated ctx inputs (default 100), and compare",
    )
    p.add_argument("--mem", metavar="FILE", help="ctx bytes for --validate")
    p.add_argument("--mem-hex", metavar="HEX", help="ctx bytes for --validate, as hex")
    p.add_argument("--dump-ir", action="store_true", help="print the optimised IR")
    p.add_argument("--disasm", action="store_true", help="print the native disassembly")
    p.add_argument("--stats", action="store_true", help="print size and timing figures")


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    import femtojit
    from femtojit.profile import default_budget, parse_budget

    program = femtojit.load(args.program, entry=args.entry)
    budget = (
        default_budget(args.profile) if args.branch_budget is None
        else parse_budget(args.branch_budget)
    )
    translation = femtojit.translate(
        program, target=args.target, profile=args.profile, budget=budget,
        optimize=not args.no_opt,
    )
    if args.dump_ir:
        print(translation.ir_listing())
    if args.disasm:
        print(translation.disassembly())
    if args.stats:
        print(translation.stats_text())
    status = 0
    if args.validate is not None:
        from femtojit.cli.common import read_ctx

        ctx = read_ctx(args)
        inputs = [ctx] if ctx is not None else []
        report = translation.validate(inputs=inputs, generated=args.validate)
        print(report.summary())
        status = 0 if report.ok else 1
    if args.output:
        out = Path(args.output)
        name = args.name or _symbol_name(out)
        data = translation.output(args.format, name=name)
        if isinstance(data, str):
            data = data.encode()
        if args.output == "-":
            sys.stdout.buffer.write(data)
        else:
            from femtojit.cli.common import write_output

            write_output(args.output, data)
    return status


def _count(text: str) -> int:
    """argparse type for --validate: a count of generated inputs, 0 or more."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a count of inputs must be 0 or more, not {value}")
    return value


def _symbol_name(path) -> str:
    import re

    stem = re.sub(r"\W", "_", path.stem) or "fjit_program"
    return stem if not stem[0].isdigit() else f"_{stem}"
