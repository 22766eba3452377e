"""Shared test fixtures and paths."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFORMANCE_DIR = REPO / "tests" / "conformance" / "bpf_conformance"
CONFORMANCE_TESTS = sorted((CONFORMANCE_DIR / "tests").glob("*.data"))
CONFORMANCE_NEGATIVE_UNUSED = sorted((CONFORMANCE_DIR / "negative").glob("unused-*.data"))

#: hypothesis example count for the differential/fuzz tests; `make fuzz` raises it.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None


def require_tool(name: str) -> str:
    """Path of an external tool the test needs. `make test` installs them all, so a missing
    tool is a set-up error, not a reason to skip: the test fails and says what is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make test` (it installs the Debian packages)")
    return path
