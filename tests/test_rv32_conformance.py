"""The bpf_conformance suite (313 positive tests) on rv32imc under Unicorn, rfc profile,
r1 = the ctx address, r2 = its length, no budget: every test under three register maps (the
default order, a permutation, three registers forcing spills; the last also with every
memory check through the per-pointer cache). Each translation must give the expected r0
(or a fault where the test expects an error) and agree with the interpreter on status,
result and memory, with no misaligned halfword or word access.
"""

from __future__ import annotations

import pytest
from conftest import CONFORMANCE_TESTS
from rv32_support import MAPS, TARGET, strict_alignment  # noqa: F401  (a fixture)

from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.conformance.parser import parse_file
from femtojit.errors import VerifyError
from femtojit.interp import run as interp_run
from femtojit.translation import compare_outcomes, translate

pytestmark = pytest.mark.usefixtures("strict_alignment")

assert len(CONFORMANCE_TESTS) == 313

VARIANTS = [(name, regs, True) for name, regs in MAPS.items()] + [
    ("reduced-cache", MAPS["reduced"], False)]


@pytest.mark.parametrize("path", CONFORMANCE_TESTS, ids=[p.stem for p in CONFORMANCE_TESTS])
def test_conformance(path):
    test = parse_file(path)
    assert test.skipped is None
    if test.asm_error is not None:
        assert test.must_fail
        return
    registry = builtin_registry("rfc")
    ids = set(registry.ids())
    try:
        translate(test.program, target=TARGET, profile="rfc", budget=None, helpers=ids)
    except VerifyError:
        assert test.must_fail, "the verifier rejected a test that should run"
        return
    ref = interp_run(test.program, ctx=test.mem, profile="rfc", budget=None, helpers=registry)
    for name, regs, hints in VARIANTS:
        tr = translate(test.program, target=TARGET, profile="rfc", budget=None, helpers=ids,
                       verify=False,
                       backend_options=BackendOptions(registers=regs, use_hints=hints))
        got = tr.run(ctx=test.mem, helpers=registry)
        if test.must_fail:
            assert got.status != 0, f"{name}: ran to exit, expected an error"
        else:
            assert got.status == 0, f"{name}: stopped with {got.status}"
            assert got.result == test.expected_result, (
                f"{name}: r0 = {got.result:#x}, expected {test.expected_result:#x}")
        problem = compare_outcomes(ref, got)
        assert problem is None, f"{name}: {problem}"
