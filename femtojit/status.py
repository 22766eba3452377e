"""Run-time status codes, shared by every engine (Femto-Container's values)."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    OK = 0
    ILLEGAL_INSTRUCTION = -1
    ILLEGAL_MEM = -2
    ILLEGAL_JUMP = -3
    ILLEGAL_CALL = -4
    ILLEGAL_LEN = -5
    ILLEGAL_REGISTER = -6
    NO_RETURN = -7
    OUT_OF_BRANCHES = -8
    ILLEGAL_DIV = -9

    @property
    def label(self) -> str:
        """The lower-case name used in JSON output ("ok", "illegal_mem", ...)."""
        return self.name.lower()


def status_label(code: int) -> str:
    """Name of a status code, or "status_<n>" for a value outside the table."""
    try:
        return Status(code).label
    except ValueError:
        return f"status_{code}"
