"""`femtojit run`: verify a program and run it on the interpreter (or another engine)."""

from __future__ import annotations

import argparse

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
    parser.add_argument(
        "--kind",
        choices=("elf", "container", "asm", "raw"),
        help="program format (default: recognised from the content)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def parse_hex_bytes(text: str, what: str = "--mem-hex") -> bytes:
    """Bytes from hex text: pairs of digits, optionally separated by spaces or commas and
    prefixed with 0x ("01 02 ff", "0x01,0x02", "0102ff")."""
    from femtojit.errors import FemtojitError

    tokens = text.replace(",", " ").split()
    try:
        if len(tokens) > 1:
            values = []
            for token in tokens:
                digits = token[2:] if token.lower().startswith("0x") else token
                if not 1 <= len(digits) <= 2:
                    raise ValueError(token)
                values.append(int(digits, 16))
            return bytes(values)
        digits = tokens[0] if tokens else ""
        digits = digits[2:] if digits.lower().startswith("0x") else digits
        return bytes.fromhex(digits)
    except ValueError:
        raise FemtojitError(f"{what}: not hex bytes: {text!r}") from None


def _read_file(path: str, what: str) -> bytes:
    from femtojit.errors import FemtojitError

    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise FemtojitError(f"{what} {path}: {error.strerror or error}") from None


def parse_host(spec: str):
    """A --host value, FILE, FILE:r or FILE:rw, as a HostRegion."""
    from femtojit.memmap import PERM_READ, PERM_RW, HostRegion

    path, perm = spec, PERM_READ
    for suffix, value in ((":rw", PERM_RW), (":r", PERM_READ)):
        if spec.endswith(suffix):
            path, perm = spec[: -len(suffix)], value
            break
    return HostRegion(_read_file(path, "--host"), perm)


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

    if args.mem is not None:
        ctx = _read_file(args.mem, "--mem")
    elif args.mem_hex is not None:
        ctx = parse_hex_bytes(args.mem_hex)
    else:
        ctx = b""
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
