"""The ARMv7-M (Thumb-2, Cortex-M3/M4, AAPCS) backend.

`encode` holds one checked pure function per instruction encoding; lowering, emission and the
ABI come in their own modules (see DESIGN.md, "Layout").
"""
