"""The `femtojit` command line.

Each subcommand lives in its own module of this package with three names: HELP (one line),
add_arguments(parser) and main(args) -> exit status. The table below is the only place that
lists them; nothing registers itself on import. Subcommand modules import only argparse-level
code at the top, so `femtojit --help` and `femtojit translate` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from femtojit.errors import FemtojitError

#: name -> module implementing it, in the order `--help` lists them.
COMMANDS: dict[str, str] = {
    "asm": "femtojit.cli.asm_cmd",
    "disasm": "femtojit.cli.disasm_cmd",
    "pack": "femtojit.cli.pack_cmd",
    "verify": "femtojit.cli.verify_cmd",
    "run": "femtojit.cli.run_cmd",
    "translate": "femtojit.cli.translate_cmd",
    "conformance": "femtojit.cli.conformance_cmd",
}

DESCRIPTION = """\
femtojit translates Femto-Container eBPF bytecode ahead of time into native Thumb-2,
RV32IMC and Xtensa code that keeps the container's isolation, and checks each translation
under emulation against a reference interpreter.

Programs are read from Femto-Container containers (.bin), clang -target bpf objects (.o),
text assembly (.s, bpf_conformance syntax) or raw little-endian bytecode; the format is
recognised from the content, not the file name.

Exit status: 0 success, 1 the program ran and faulted (run) or a check failed,
2 bad input (unreadable program, rejected by the verifier, bad option).
"""


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="femtojit",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from femtojit import __version__

    parser.add_argument("--version", action="version", version=f"femtojit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_module=module_name)
    return parser




def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    module = importlib.import_module(args._module)
    try:
        return int(module.main(args) or 0)
    except FemtojitError as error:
        print(f"femtojit {args.command}: error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("femtojit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
