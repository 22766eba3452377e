"""Isolation of rv32imc translations: hostile programs (tests/test_isolation_armv7m.py's
generator: pointers from random constants and ctx contents, huge offsets, r10 arithmetic,
wrapping sums, every size, atomics, helpers given bad pointers, callx of random ids, runaway
recursion, loops until the budget runs out) never make the code touch memory outside the
regions, the vm fields ABI v1 lets it write, and exactly the native frame the blob declares;
never crash Unicorn; never make a misaligned halfword or word access; and return with s0-s11,
sp, gp and tp intact (ilp32). The outcome must equal the interpreter's.
"""

from __future__ import annotations

import pytest
from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isolation_support import check_hostile_program, hostile_programs
from isolation_support import run_tightly as run_tightly_on
from rv32_support import TARGET, strict_alignment  # noqa: F401  (a fixture)

from femtojit import isa
from femtojit.backends.rv32.encode import A0, S0, S2, S5, T0
from femtojit.builtin_helpers import builtin_registry
from femtojit.errors import EmulationError
from femtojit.isa import Insn
from femtojit.program import Program
from femtojit.translation import translate

pytestmark = pytest.mark.usefixtures("strict_alignment")


def registry(profile: str):
    """The built-in helpers, with memcpy of 0 bytes touching nothing: the emulation harness
    checks a 0-byte range at an address outside every region and faults, the interpreter
    does not (a harness/interpreter difference in helper memory checks, not the code's)."""
    from femtojit.builtin_helpers import helper_memcpy

    reg = builtin_registry(profile)

    def memcpy(call):
        if call.arg(3) & 0xFFFFFFFF == 0:
            return call.arg(1) & 0xFFFFFFFF
        return helper_memcpy(call)

    reg.register(0x02, "memcpy", memcpy)
    return reg


def _preserved():
    """Register -> the value the caller leaves in it (s0-s11, gp, tp)."""
    from unicorn import riscv_const as rv

    regs = {getattr(rv, f"UC_RISCV_REG_S{i}"): 0x5A5A0000 + i for i in range(12)}
    regs[rv.UC_RISCV_REG_GP] = 0x6B6B0003
    regs[rv.UC_RISCV_REG_TP] = 0x7C7C0004
    return regs


def run_tightly(tr, ctx: bytes, hosts) -> tuple:
    """The tightened run (tests/isolation_support.py) with s0-s11, gp, tp and sp to
    preserve, and the helpers above."""
    from unicorn.riscv_const import UC_RISCV_REG_SP

    preserved = {f"register {reg}": (reg, value) for reg, value in _preserved().items()}
    return run_tightly_on(tr, ctx, hosts, helpers=registry(tr.profile), preserved=preserved,
                          sp_reg=UC_RISCV_REG_SP)


SETTINGS = settings(max_examples=FUZZ_EXAMPLES or 150, deadline=None,
                    derandomize=FUZZ_EXAMPLES is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@pytest.mark.fuzz
@SETTINGS
@given(case=hostile_programs(), profile=st.sampled_from(["femto", "rfc"]),
       regs=st.sampled_from([None, (), (S0, A0, T0), (S2, S5)]), hints=st.booleans())
def test_hostile_programs_stay_inside(case, profile, regs, hints):
    check_hostile_program(case, TARGET, profile, regs, hints, registry(profile), run_tightly)


def test_tight_policy_catches_a_stray_store():
    """The tightened harness is not vacuous: code whose frame is larger than it declares
    (a spilled variable, a saved register) is reported."""
    program = Program([Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 1),
                       Insn(isa.OP_CALL, 0, 0, 0, 0x20), Insn(isa.OP_EXIT)])
    tr = translate(program, target=TARGET)
    run_tightly(tr, b"", [])  # fine as it is (ra is saved around the helper call)
    assert tr.frame_size >= 4
    tr.machine.frame_size = 0  # lie about the frame: the saves are now outside it
    with pytest.raises(EmulationError, match="isolation failure"):
        run_tightly(tr, b"", [])
