"""Memory checks of the armv7m translation at every region's ends, interpreter vs armv7m.

The walks are tests/memory_walk.py's: a pointer walks through a region (forwards off its
end, backwards off its start) at run-time steps and alignments given in ctx, accessing it at
each step, so the check's fast path (the hinted region's bounds, or the per-pointer cache
the first access fills) is the one that must stop the walk at exactly the right access.
Every region (stack, .data, .rodata, ctx, a writable and a read-only host region), every
size, loads, stores and atomics, unaligned starts; with provenance hints and with every
check forced through the cache. The harness
reports any access the code lets through outside the regions (EmulationError).

Three loads through one pointer are fused into one check of their union (the "fused"
kind): the fast path covers all three, the slow path checks them one by one.

Plus: the cache is not filled from a region that an earlier region overlaps (the first
region holding the bytes decides), shown with a region table the host sets up that way.
"""

from __future__ import annotations

import pytest
from armv7m_support import TARGET
from memory_walk import (
    HOSTS,
    REGIONS,
    check_overlapping_region_cache,
    check_walks,
    walk_cases,
    walk_ctx,
    walker,
    walks,
)

from femtojit.backends.common.machine import BackendOptions
from femtojit.builtin_helpers import builtin_registry
from femtojit.interp import run as interp_run
from femtojit.memmap import CTX_BASE, HOST_BASE
from femtojit.translation import compare_outcomes, translate

CASES = walk_cases(("load", "load_signed", "fused", "rmw", "store", "store_imm", "atomic"))


@pytest.mark.parametrize(("region", "size", "kind"), CASES)
def test_walk_off_both_ends(region, size, kind):
    check_walks(TARGET, region, size, kind, ((None, True), (None, False), ((), True)))


@pytest.mark.parametrize("host", [0, 1])
@pytest.mark.parametrize("size", [1, 4, 8])
def test_rmw_through_a_ctx_pointer_into_a_host_region(host, size):
    """A pointer derived from r1 (hinted ctx) that actually points into a host region: the
    load's check passes through the scan, and the store's check, implied by the load's fast
    path only, must still be made: into the read-only host region it faults."""
    program = walker(REGIONS["ctx"][0], size, "rmw", 0)
    delta = HOST_BASE + host * 0x10_0000 - CTX_BASE + 4
    registry = builtin_registry("rfc")
    ctx = walk_ctx(delta, size, 3, "ctx")
    ref = interp_run(program, ctx=ctx, host=HOSTS, profile="rfc", budget=None,
                     helpers=registry)
    assert ref.status == (-2 if host == 1 else 0)
    for hints in (True, False):
        tr = translate(program, target=TARGET, profile="rfc", budget=None,
                       backend_options=BackendOptions(use_hints=hints))
        got = tr.run(ctx=ctx, host=HOSTS, helpers=registry)
        assert compare_outcomes(ref, got) is None, compare_outcomes(ref, got)


def test_walks_reach_both_outcomes():
    """The walks above are not vacuous: some end normally, some fault on the region's end."""
    setup, length = REGIONS["host_rw"]
    program = walker(setup, 4, "load", 0)
    statuses = set()
    for delta, step, count in walks(length, 4, 0):
        res = interp_run(program, ctx=walk_ctx(delta, step, count, "host_rw"), host=HOSTS,
                         profile="rfc", budget=None)
        statuses.add(res.status)
    assert statuses == {0, -2}


def test_cache_is_not_filled_from_a_region_an_earlier_one_overlaps():
    check_overlapping_region_cache(TARGET)
