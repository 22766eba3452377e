"""Isolation of armv7m translations: hostile programs never make the translated code touch
memory outside the container's regions and its own frame, never crash the emulator, and
return to the caller with the callee-saved registers and sp intact (AAPCS).

The harness (femtojit.emu) raises EmulationError on any access outside what the code may
touch; here its policy is tightened further: of the native stack, only the `frame_size`
bytes the blob declares, below the caller's sp. Programs (tests/isolation_support.py) are
generated to be hostile: pointers from random 32- and 64-bit constants and from ctx
contents, huge offsets, r10 arithmetic, pointer sums that wrap around 2^32, every access
size, atomics, helpers given bad pointers, callx of random ids, runaway recursion, loops
until the budget runs out. The outcome must also equal the interpreter's.
"""

from __future__ import annotations

import pytest
from armv7m_support import TARGET
from conftest import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isolation_support import check_hostile_program, hostile_programs
from isolation_support import run_tightly as run_tightly_on

from femtojit import isa
from femtojit.builtin_helpers import builtin_registry
from femtojit.errors import EmulationError
from femtojit.isa import Insn
from femtojit.program import Program
from femtojit.translation import translate

CALLEE_SAVED = {4: 0x44440004, 5: 0x55550005, 6: 0x66660006, 7: 0x77770007,
                8: 0x88880008, 9: 0x99990009, 10: 0xAAAA000A, 11: 0xBBBB000B}


def run_tightly(tr, ctx: bytes, hosts) -> tuple:
    """The tightened run (tests/isolation_support.py) with r4-r11 and sp to preserve."""
    from unicorn.arm_const import UC_ARM_REG_R4, UC_ARM_REG_SP

    preserved = {f"r{reg}": (UC_ARM_REG_R4 + reg - 4, value)
                 for reg, value in CALLEE_SAVED.items()}
    return run_tightly_on(tr, ctx, hosts, helpers=builtin_registry(tr.profile),
                          preserved=preserved, sp_reg=UC_ARM_REG_SP)


SETTINGS = settings(max_examples=FUZZ_EXAMPLES or 150, deadline=None,
                    derandomize=FUZZ_EXAMPLES is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.fuzz
@SETTINGS
@given(case=hostile_programs(), profile=st.sampled_from(["femto", "rfc"]),
       regs=st.sampled_from([None, (), (4, 5), (11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)]),
       hints=st.booleans())
def test_hostile_programs_stay_inside(case, profile, regs, hints):
    check_hostile_program(case, TARGET, profile, regs, hints, builtin_registry(profile),
                          run_tightly)


def test_tight_policy_catches_a_stray_store():
    """The tightened harness is not vacuous: code that stores below its declared frame, or
    into the vm's read-only fields, is reported."""
    program = Program([Insn(isa.CLS_ALU64 | isa.ALU_MOV, 0, 0, 0, 1), Insn(isa.OP_EXIT)])
    tr = translate(program, target=TARGET)
    run_tightly(tr, b"", [])  # fine as it is
    tr.machine.frame_size = 4  # lie about the frame: the prologue's push is now outside it
    with pytest.raises(EmulationError, match="isolation failure"):
        run_tightly(tr, b"", [])
