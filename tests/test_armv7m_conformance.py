"""The bpf_conformance suite on armv7m under Unicorn (Cortex-M4): all 313 tests, rfc profile
(r1 = the ctx copy, r2 = its length, budget off), each translated once per register map and
run under emulation; status OK and the full 64-bit result must match the suite's.

Register maps: the default order; reversed; and two registers only, which forces every hot
value into the frame (the suite passes with no allocatable register at all too, but that
map is covered by the differential tests). With the IR passes most tests fold to a constant,
so the suite also runs without them: every instruction is then translated for real.
"""

from __future__ import annotations

import pytest
from conftest import CONFORMANCE_TESTS

from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.conformance.parser import parse_file
from femtojit.translation import translate

MAPS = {"default": None, "reversed": tuple(range(11, -1, -1)), "two": (4, 5)}

assert len(CONFORMANCE_TESTS) == 313


def _tests():
    return [parse_file(path) for path in CONFORMANCE_TESTS]


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "no-opt"])
@pytest.mark.parametrize("map_name", list(MAPS))
def test_conformance_suite(map_name, optimize):
    registry = builtin_registry("rfc")
    failures = []
    ran = 0
    for test in _tests():
        assert test.skipped is None and not test.must_fail, test.name
        tr = translate(test.program, target="armv7m", profile="rfc", budget=None,
                       optimize=optimize, helpers=set(registry.ids()),
                       backend_options=BackendOptions(registers=MAPS[map_name]))
        res = tr.run(ctx=test.mem, helpers=registry)
        ran += 1
        if res.status != 0 or res.result != test.expected_result:
            failures.append(f"{test.name}: status {res.status} r0 {res.result:#x}, "
                            f"expected {test.expected_result:#x}")
    assert ran == 313
    assert not failures, "\n".join(failures[:20])


def test_conformance_through_femtojit_run():
    """The same suite through the public API: femtojit.run(engine="armv7m")."""
    from conftest import CONFORMANCE_DIR

    from femtojit.conformance.runner import PASS, run_suite

    outcomes = run_suite(CONFORMANCE_DIR / "tests", engine="armv7m", profile="rfc")
    bad = [o.line() for o in outcomes if o.verdict != PASS]
    assert len(outcomes) == 313 and not bad, "\n".join(bad[:20])
