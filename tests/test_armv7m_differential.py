"""Differential tests: the reference interpreter against the armv7m translation under
Unicorn (Cortex-M4), on generated programs (tests/program_gen.py), under several register
maps (tests/armv7m_support.py: the default order, reversed, permuted, high registers only,
two registers, none at all) and without the IR passes. Status, 64-bit result, memory of every
region and printf output must agree. The normal suite runs a modest number of programs;
`make fuzz` (FUZZ_EXAMPLES) more.
"""

from __future__ import annotations

import pytest
from armv7m_support import MAPS, compare
from backend_support import check_generated
from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from program_gen import alu_chain_programs

SMOKE = settings(
    max_examples=FUZZ_EXAMPLES or 60,
    deadline=None,
    derandomize=FUZZ_EXAMPLES is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
FUZZ = settings(SMOKE, max_examples=FUZZ_EXAMPLES or 100, derandomize=False)


@pytest.mark.fuzz
@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]),
       budget=st.sampled_from([0, 3, 40, "default"]))
def test_generated_programs(data, profile, budget):
    if budget == "default" and profile == "rfc":
        budget = 100
    check_generated(data, compare, profile, budget)


@pytest.mark.fuzz
@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_generated_programs_without_budget(data, profile):
    """Forward jumps only: no budget checks compiled in at all."""
    check_generated(data, compare, profile, None, back_jumps=False)


@pytest.mark.fuzz
@SMOKE
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]))
def test_alu_chains(data, profile):
    """Straight-line arithmetic on values the translator cannot know, both widths."""
    compare(data.draw(alu_chain_programs(profile)), profile=profile, budget=None)


@pytest.mark.fuzz
@FUZZ
@given(data=st.data(), profile=st.sampled_from(["femto", "rfc"]),
       budget=st.sampled_from([0, 1, 2, 7, 40, 300, "default"]))
def test_generated_programs_fuzz(data, profile, budget):
    if budget == "default" and profile == "rfc":
        budget = 300
    check_generated(data, compare, profile, budget, max_items=40)


def test_maps_cover_spilling_and_high_registers():
    assert MAPS["none"] == () and MAPS["two"] == (4, 5)
    assert all(r >= 8 for r in MAPS["high-only"])
