"""The two semantic profiles (see docs/semantics.md) and the taken-branch budget default."""

from __future__ import annotations

FEMTO = "femto"
RFC = "rfc"
PROFILES = (FEMTO, RFC)

#: Taken-branch budget of the femto profile when none is given (Femto-Container's default).
DEFAULT_BUDGET = 200

#: Nesting limit of local calls in both profiles: a call with this many frames in use faults
#: ILLEGAL_CALL (docs/semantics.md). Every engine takes it from here.
MAX_FRAMES = 8


def check_profile(profile: str) -> str:
    from femtojit.errors import FemtojitError

    if profile not in PROFILES:
        raise FemtojitError(f"unknown profile {profile!r} (choose from {', '.join(PROFILES)})")
    return profile


def default_budget(profile: str) -> int | None:
    """Budget used when the user gives none: 200 in femto, off (None) in rfc."""
    return DEFAULT_BUDGET if profile == FEMTO else None


def parse_budget(text: str) -> int | None:
    """Parse a --branch-budget value: a non-negative integer, or "none" to switch it off."""
    from femtojit.errors import FemtojitError

    if text.lower() in ("none", "off"):
        return None
    try:
        value = int(text, 0)
    except ValueError:
        raise FemtojitError(f"bad branch budget {text!r}: give a number or 'none'") from None
    if not 0 <= value < (1 << 32):
        raise FemtojitError(f"branch budget {value} out of range 0..2^32-1")
    return value
