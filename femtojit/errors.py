"""femtojit's error types.

Every error a user can cause with bad input is a FemtojitError subclass whose message is one
line a person can act on; the CLI prints it and exits with status 2. Anything else escaping is
a bug in femtojit.
"""

from __future__ import annotations


class FemtojitError(Exception):
    """Base class of every error caused by bad input or an impossible request."""

    exit_status = 2


class LoadError(FemtojitError):
    """A file could not be read as a program: truncated, lying lengths, wrong format."""


class AsmError(FemtojitError):
    """Text assembly could not be assembled. `line` is 1-based, or 0 when unknown."""

    def __init__(self, message: str, line: int = 0, source: str = ""):
        self.line = line
        self.source = source
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{message}")


class VerifyError(FemtojitError):
    """A program broke a static rule. Carries the slot index, its text and the rule."""

    def __init__(self, index: int, text: str, rule: str, message: str):
        self.index = index
        self.text = text
        self.rule = rule
        super().__init__(f"instruction {index} ({text}): {message} [{rule}]")


class UnknownTargetError(FemtojitError):
    """A --target or --engine name femtojit does not know."""


class TranslateError(FemtojitError):
    """A verified program could not be translated for the requested target."""


class HelperError(FemtojitError):
    """A helper id that is not registered, or a helper table that cannot be built."""


class EmulationError(Exception):
    """The emulator saw something that must never happen (an isolation failure, an
    emulator crash). This is a femtojit bug, not a user error, so it is not a
    FemtojitError."""
