"""A plugin for the upstream bpf_conformance runner (tests/conformance/NOTES.md section 2).

The runner starts `<plugin> [<base16 memory>] [<plugin options>]` with the program on stdin
as base16 bytes ("b7 00 00 00 ..."); the plugin prints r0 in hex and exits 0, or exits 1 with
a message when the program is rejected or faults. Upstream's runner needs an executable, so
point it at a two-line wrapper:

    #!/bin/sh
    exec femtojit conformance --plugin "$@"

(`python -m femtojit.conformance.plugin` takes the same arguments.) Options: --engine,
--profile (default rfc), --branch-budget (default none). `--elf` is refused: the runner
sends raw instructions unless told otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from femtojit.errors import FemtojitError

EXIT_OK = 0
EXIT_FAILED = 1


def parse_base16(text: str, what: str) -> bytes:
    """The runner's base16: two hex digits per byte, whitespace between bytes allowed."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise FemtojitError(f"{what}: not base16 bytes") from None


def run_plugin(
    memory_hex: str | None,
    program_text: str,
    *,
    engine: str = "interp",
    profile: str = "rfc",
    budget: int | None | str = None,
) -> tuple[int, str]:
    """(exit status, line to print) for one program; errors become exit status 1."""
    from femtojit import isa
    from femtojit.api import run
    from femtojit.program import Program
    from femtojit.status import status_label

    try:
        code = parse_base16(program_text, "program")
        if not code or len(code) % isa.SLOT_SIZE:
            raise FemtojitError(f"program: {len(code)} bytes is not a whole number of slots")
        memory = parse_base16(memory_hex, "memory") if memory_hex else b""
        program = Program(isa.decode(code), origin="<stdin>")
        result = run(program, engine=engine, ctx=memory, profile=profile, budget=budget)
    except FemtojitError as error:
        return EXIT_FAILED, str(error)
    if result.status != 0:
        return EXIT_FAILED, f"{status_label(result.status)} ({result.status})"
    return EXIT_OK, f"{result.result & 0xFFFFFFFFFFFFFFFF:#x}"


def serve(
    memory_hex: str | None,
    *,
    engine: str = "interp",
    profile: str = "rfc",
    budget: int | None | str = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Read the program from stdin, print r0 (stdout) or the error (stdout, for the runner's
    `-- error` comparison), return the exit status."""
    program_text = (stdin or sys.stdin).read()
    status, line = run_plugin(memory_hex, program_text, engine=engine, profile=profile,
                              budget=budget)  # fmt: skip
    print(line, file=stdout or sys.stdout)
    return status


def main(argv: list[str] | None = None) -> int:
    from femtojit.profile import parse_budget

    parser = argparse.ArgumentParser(
        prog="python -m femtojit.conformance.plugin",
        description="bpf_conformance plugin: program on stdin (base16), r0 on stdout",
    )
    parser.add_argument("memory", nargs="?", help="input memory as base16")
    parser.add_argument("--engine", default="interp")
    parser.add_argument("--profile", choices=("femto", "rfc"), default="rfc")
    parser.add_argument("--branch-budget", default="none")
    parser.add_argument("--elf", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.elf:
        print("--elf is not supported: femtojit takes raw instructions", file=sys.stderr)
        return EXIT_FAILED
    try:
        budget = parse_budget(args.branch_budget)
    except FemtojitError as error:
        print(error, file=sys.stderr)
        return 2
    return serve(args.memory, engine=args.engine, profile=args.profile, budget=budget)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
