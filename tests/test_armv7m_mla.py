"""MLA fusion on armv7m (`t = mul a, b; ...; d = add t, x` becomes one MLA at the add).

The MLA reads the mul's inputs at the add. An input that dies at the mul may have had its
register handed to a value defined in between; the fusion must then be refused. Hypothesis
found this (test_alu_chains): `mul32 r1, r1; add32 r1, 0; add32 r0, 1; add32 r1, r0` with
r0 and r1 loaded from .data gave the wrong r1 under register maps that reuse r1's register
for the new r0.
"""

from __future__ import annotations

from armv7m_support import MAPS, compare

from femtojit.asm import assemble_program
from femtojit.backends.common.machine import BackendOptions
from femtojit.program import Program
from femtojit.translation import translate


def _program(text: str, data: bytes = b"") -> Program:
    return Program(slots=assemble_program(text).slots, data=data)


STORES = "\n".join(f"stxdw [%r10-{8 * (r + 1)}], %r{r}" for r in range(10))


def test_input_dying_at_the_mul_is_not_read_after_its_register_is_reused():
    program = _program(f"""
        lddwd %r9, 0
        ldxdw %r0, [%r9]
        ldxdw %r1, [%r9+8]
        ldxdw %r2, [%r9+16]
        ldxdw %r3, [%r9+24]
        mul32 %r1, %r1
        add32 %r1, 0
        add32 %r0, 1
        add32 %r1, %r0
        {STORES}
        exit
    """, data=bytes(range(3, 35)))
    for profile in ("femto", "rfc"):
        compare(program, profile=profile, budget=None)


def test_fusion_still_applies_when_the_inputs_stay_live():
    program = _program("""
        mov %r2, %r1
        rsh %r2, 3
        mov %r3, %r2
        mul32 %r3, %r1
        add32 %r0, 7
        add32 %r3, %r0
        add32 %r3, %r2
        add32 %r3, %r1
        mov %r0, %r3
        exit
    """)
    for regs in (None, MAPS["reversed"], MAPS["permuted"]):
        tr = translate(program, target="armv7m", budget=None,
                       backend_options=BackendOptions(registers=regs))
        assert "mla" in tr.disassembly(), regs
    compare(program, ctx=bytes(range(40)), budget=None)
