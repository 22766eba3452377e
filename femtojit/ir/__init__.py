"""The 32-bit IR every backend translates from (docs/ir.md).

    lower(program, profile=..., budget=..., helper_ids=...) -> Function
    pipeline(fn, passes=DEFAULT_PASSES) -> Function      (femtojit.ir.passes)
    interpret(fn, ...) -> RunResult                      (femtojit.ir.interp)
    allocate(fn, registers, ...) -> Allocation           (femtojit.ir.regalloc)
"""

from __future__ import annotations

from femtojit.ir.lower import lower
from femtojit.ir.printer import format_function
from femtojit.ir.types import Block, Const, Function, Var

__all__ = ["Block", "Const", "Function", "Var", "format_function", "lower"]
