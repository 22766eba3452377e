"""The RISC-V RV32IMC (ilp32) backend.

`encode` holds one checked pure function per instruction encoding; lowering, emission and the
ABI come in their own modules (see DESIGN.md, "Layout").
"""
