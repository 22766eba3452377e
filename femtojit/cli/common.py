"""Argument and file handling several subcommands share.

Like the subcommand modules, this imports only argparse-level code at the top, so the CLI
still starts fast; what reads or writes files raises FemtojitError, which `femtojit.cli.main`
turns into one error line and exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from femtojit.errors import FemtojitError

#: The program formats `--kind` accepts (femtojit.loaders.load's `kind`).
PROGRAM_KINDS = ("elf", "container", "asm", "raw")


def add_kind_argument(parser: argparse.ArgumentParser, what: str = "program") -> None:
    """`--kind`: the input's format, for when recognising it from the content is not wanted."""
    parser.add_argument(
        "--kind",
        choices=PROGRAM_KINDS,
        help=f"{what} format (default: recognised from the content)",
    )


def read_file(path: str, what: str) -> bytes:
    """The bytes of `path`; `what` names the option it came from in the error message."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise FemtojitError(f"{what} {path}: {error.strerror or error}") from None


def write_output(path: str | Path, data: bytes | str) -> None:
    """Write an output file (text as UTF-8); the message names `path` as given."""
    target = Path(path)
    try:
        if isinstance(data, str):
            target.write_text(data, encoding="utf-8")
        else:
            target.write_bytes(data)
    except OSError as error:
        raise FemtojitError(f"cannot write {path}: {error.strerror or error}") from None


def parse_hex_bytes(text: str, what: str = "--mem-hex") -> bytes:
    """Bytes from hex text: pairs of digits, optionally separated by spaces or commas and
    prefixed with 0x ("01 02 ff", "0x01,0x02", "0102ff")."""
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


def read_ctx(args: argparse.Namespace) -> bytes | None:
    """The ctx bytes of `--mem FILE` or `--mem-hex HEX`; None when neither is given."""
    if args.mem is not None:
        return read_file(args.mem, "--mem")
    if args.mem_hex is not None:
        return parse_hex_bytes(args.mem_hex)
    return None
