"""`femtojit run`: verify a program and run it on the interpreter (or another engine)."""

from __future__ import annotations

import argparse

from femtojit.cli.common import add_kind_argument, read_ctx, read_file
from femtojit.cli.common import parse_hex_bytes as parse_hex_bytes  # its former home

HELP = "verify and run a program on the interpreter (or a translation engine)"
DESCRIPTION = """\
Verify a program and run it. The program is a Femto-Container .bin, a clang -target bpf
object, text assembly or raw bytecode (recognised from the content).

The ctx region holds the --mem / --mem-hex bytes (r1 = its address; in the rfc profile r2 =
its length). --host adds regions after ctx, read-only unless FILE:rw. The taken-branch
budget defaults to the profile's (200 in femto, off in rfc).

Output: a readable summary, or with --json one JSON object
{"status", "code", "result" (r0, unsigned 64-bit), "engine", "insns"}; printf output of the
program then goes to stderr so stdout stays one object.
Exit status: 0 the program ran to exit, 1 it faulted at run time, 2 bad input.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("program", metavar="PROGRAM", help="program file (.bin, .o, .s, raw)")
    parser.add_argument(
        "--engine", default="interp", help="interp (default) or a translation target"
    )
    memory = parser.add_mutually_exclusive_group()
    memory.add_argument("--mem", metavar="FILE", help="ctx bytes from a file")
    memory.add_argument("--mem-hex", metavar="HEX", help='ctx bytes as hex ("01 02 ff", "0102ff")')
    parser.add_argument(
        "--host",
        metavar="FILE[:r|rw]",
        action="append",
        default=[],
        help="add a host region after ctx with this file's bytes (repeatable; default r)",
    )
    parser.add_argument("--entry", metavar="NAME", help="function to start at")
    parser.add_argument(
        "--branch-budget",
        metavar="N|none",
        help="taken-branch budget (default: 200 in femto, none in rfc)",
    )
    parser.add_argument("--profile", choices=("femto", "rfc"), default="femto")
    add_kind_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def parse_host(spec: str):
    """A --host value, FILE, FILE:r or FILE:rw, as a HostRegion."""
    from femtojit.memmap import PERM_READ, PERM_RW, HostRegion

    path, perm = spec, PERM_READ
    for suffix, value in ((":rw", PERM_RW), (":r", PERM_READ)):
        if spec.endswith(suffix):
            path, perm = spec[: -len(suffix)], value
            break
    return HostRegion(read_file(path, "--host"), perm)


def summary(result, program) -> str:
    """The readable form of a RunResult."""
    from femtojit.status import status_label

    value = result.result & 0xFFFFFFFFFFFFFFFF
    signed = value - (1 << 64) if value >> 63 else value
    decimal = f"{value}" if signed == value else f"{value}, signed {signed}"
    lines = [
        f"program: {program.origin or 'program'} ({len(program.slots)} slots)",
        f"status:  {status_label(result.status)} ({result.status})",
        f"result:  {value:#x} ({decimal})",
        f"insns:   {result.insns} ({result.engine})",
    ]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    import sys

    from femtojit.api import run
    from femtojit.helpers import Runtime
    from femtojit.loaders import load
    from femtojit.profile import parse_budget

    ctx = read_ctx(args) or b""
    host = [parse_host(spec) for spec in args.host]
    budget = "default" if args.branch_budget is None else parse_budget(args.branch_budget)
    program = load(args.program, entry=args.entry, kind=args.kind)
    runtime = Runtime(printf_stream=sys.stderr if args.json else sys.stdout)
    result = run(
        program,
        engine=args.engine,
        ctx=ctx,
        host=host,
        profile=args.profile,
        budget=budget,
        runtime=runtime,
    )
    if args.json:
        print(result.to_json())
    else:
        sys.stdout.flush()
        print(summary(result, program))
    return 0 if result.ok else 1
