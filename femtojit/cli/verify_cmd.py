"""`femtojit verify`: the static checks, and optionally a Femto-Container compatibility list."""

from __future__ import annotations

import argparse

from femtojit.cli.common import add_kind_argument

HELP = "check a program against the verifier's rules"
DESCRIPTION = """\
Check a program against the static rules every program passes before it runs or is
translated (docs/semantics.md): known opcodes, registers r0..r10, zero reserved fields,
complete LDDW pairs, jump and call targets inside the program, no write to r10, known helper
ids, no fall-through past the end, and in the femto profile no division by an immediate 0.

Prints "ok: N instructions", or the first problem (every problem with --all) on stderr.
--compat fc also lists the instructions upstream Femto-Container's interpreter would refuse
or run differently; those are warnings and do not change the exit status.
Exit status: 0 accepted, 2 rejected or unreadable.
"""


def _helper_id(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad helper id {text!r}") from None
    if not 0 <= value < 1 << 32:
        raise argparse.ArgumentTypeError(f"helper id {text} out of range 0..2^32-1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("program", metavar="PROGRAM", help="program file (.bin, .o, .s, raw)")
    parser.add_argument("--profile", choices=("femto", "rfc"), default="femto")
    parser.add_argument("--compat", choices=("fc",), help="also list Femto-Container issues")
    parser.add_argument("--all", action="store_true", help="report every problem, not the first")
    parser.add_argument(
        "--helper",
        metavar="ID",
        type=_helper_id,
        action="append",
        default=[],
        help="accept this helper id besides the built-in ones (repeatable)",
    )
    add_kind_argument(parser)


def main(args: argparse.Namespace) -> int:
    import sys

    from femtojit.helpers import default_helper_ids
    from femtojit.loaders import load
    from femtojit.verify import compat_report, verify, verify_all

    program = load(args.program, kind=args.kind)
    helper_ids = default_helper_ids(args.profile) | set(args.helper)
    if args.compat == "fc":
        for issue in compat_report(program):
            print(f"warning: fc: {issue}")
    if args.all:
        errors = verify_all(program, profile=args.profile, helper_ids=helper_ids)
        if errors:
            for error in errors:
                print(f"femtojit verify: error: {error}", file=sys.stderr)
            return 2
    report = verify(program, profile=args.profile, helper_ids=helper_ids)
    print(f"ok: {report.n_insns} instructions")
    return 0
