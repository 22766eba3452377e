"""Run bpf_conformance tests on a femtojit engine.

The harness contract is upstream's (tests/conformance/NOTES.md section 2): r1 = the address
of a writable copy of the `-- mem` bytes (the ctx region), r2 = their length (the rfc profile
does this), no branch budget, helper 5 ("unwind") available, and the full 64-bit r0 compared.

A test that expects an error (`-- error`, no `-- result`) passes when femtojit rejects the
program (assembler or verifier) or the run stops with a fault; the message is not compared,
since femtojit's messages are its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from femtojit.conformance.parser import ConformanceTest, load_suite
from femtojit.errors import FemtojitError, VerifyError
from femtojit.status import status_label

PASS = "pass"
FAIL = "fail"
SKIP = "skip"


@dataclass
class TestOutcome:
    name: str
    verdict: str  # PASS, FAIL or SKIP
    detail: str = ""
    insns: int = 0

    def line(self) -> str:
        """One line for the runner's output: `PASS name`, `FAIL name: why`, ..."""
        text = f"{self.verdict.upper()} {self.name}"
        return f"{text}: {self.detail}" if self.detail else text


def run_test(test: ConformanceTest, *, engine: str = "interp", profile: str = "rfc") -> TestOutcome:
    """Run one parsed test and judge it."""
    from femtojit.api import run

    if test.asm_error is not None and test.must_fail:
        return TestOutcome(test.name, PASS, f"rejected by the assembler: {test.asm_error}")
    if test.skipped is not None:
        return TestOutcome(test.name, SKIP, test.skipped)
    try:
        result = run(test.program, engine=engine, ctx=test.mem, profile=profile, budget=None)
    except VerifyError as error:
        verdict = PASS if test.must_fail else FAIL
        return TestOutcome(test.name, verdict, f"rejected by the verifier: {error}")
    except FemtojitError as error:
        return TestOutcome(test.name, FAIL, str(error))
    value = result.result & 0xFFFFFFFFFFFFFFFF
    if test.must_fail:
        if result.status != 0:
            return TestOutcome(test.name, PASS, f"stopped with {status_label(result.status)}")
        return TestOutcome(test.name, FAIL, f"ran to exit (r0 = {value:#x}), expected an error")
    expected = test.expected_result
    if result.status != 0:
        detail = f"stopped with {status_label(result.status)} ({result.status}), expected r0 = "
        return TestOutcome(test.name, FAIL, f"{detail}{expected:#x}", result.insns)
    if value != expected:
        return TestOutcome(
            test.name, FAIL, f"r0 = {value:#x}, expected {expected:#x}", result.insns
        )
    return TestOutcome(test.name, PASS, "", result.insns)


def run_suite(
    directory: str | Path, *, engine: str = "interp", profile: str = "rfc"
) -> list[TestOutcome]:
    """Every *.data test of a directory, in name order."""
    return [run_test(t, engine=engine, profile=profile) for t in load_suite(directory)]


def tally(outcomes: list[TestOutcome]) -> dict[str, int]:
    counts = {PASS: 0, FAIL: 0, SKIP: 0}
    for outcome in outcomes:
        counts[outcome.verdict] += 1
    return counts
