"""`femtojit conformance`: run bpf_conformance .data tests, or act as the upstream plugin."""

from __future__ import annotations

import argparse

HELP = "run the bpf_conformance tests of a directory (or serve as its runner's plugin)"
DESCRIPTION = """\
Run every *.data test of DIR (bpf_conformance format) on an engine and print one line per
test, then `N passed, N failed`. Each test runs with r1 = the address of its `-- mem` bytes,
r2 = their length (rfc profile), no branch budget; r0 is compared on all 64 bits. A test that
expects an error passes when femtojit rejects the program or the run faults.
Exit status: 0 all passed, 1 some failed, 2 bad input.

With --plugin, act as a plugin of the upstream bpf_conformance runner instead: the program
comes on stdin as base16, the memory (if any) as the argument of --plugin; r0 is printed in
hex (exit 0), or the error (exit 1). Use it through a wrapper script:
    #!/bin/sh
    exec femtojit conformance --plugin "$@"
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", nargs="?", help="directory of .data files")
    parser.add_argument("--engine", default="interp", help="interp (default) or a target")
    parser.add_argument("--profile", choices=("femto", "rfc"), default="rfc")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="list only failed and skipped tests"
    )
    parser.add_argument(
        "--plugin",
        metavar="MEMHEX",
        nargs="?",
        const="",
        help="upstream-runner plugin mode: program on stdin, memory as base16 here",
    )
    parser.add_argument(
        "--branch-budget",
        metavar="N|none",
        default="none",
        help="taken-branch budget in plugin mode (default none)",
    )


def main(args: argparse.Namespace) -> int:
    from femtojit.errors import FemtojitError
    from femtojit.profile import parse_budget

    if args.plugin is not None:
        from femtojit.conformance.plugin import serve

        budget = parse_budget(args.branch_budget)
        return serve(args.plugin or None, engine=args.engine, profile=args.profile, budget=budget)
    if args.directory is None:
        raise FemtojitError("give a directory of .data tests (or --plugin)")

    from femtojit.api import check_engine
    from femtojit.conformance.parser import load_suite
    from femtojit.conformance.runner import FAIL, PASS, SKIP, run_test, tally

    check_engine(args.engine)
    tests = load_suite(args.directory)
    if not tests:
        raise FemtojitError(f"{args.directory}: no .data files")
    outcomes = []
    for test in tests:
        outcome = run_test(test, engine=args.engine, profile=args.profile)
        outcomes.append(outcome)
        if not (args.quiet and outcome.verdict == PASS):
            print(outcome.line(), flush=True)
    counts = tally(outcomes)
    if counts[SKIP]:
        print(f"{counts[SKIP]} skipped")
    print(f"{counts[PASS]} passed, {counts[FAIL]} failed")
    return 1 if counts[FAIL] else 0
