"""A readable listing of IR functions, for tests, debugging and `translate --dump-ir`."""

from __future__ import annotations

from femtojit.ir.types import (
    Add64,
    Bin,
    Block,
    Branch,
    BudgetTick,
    Call,
    CallX,
    CheckDivZero,
    CheckMem,
    Const,
    Div64,
    Exit,
    Function,
    Jump,
    Load,
    LocalCall,
    Mov,
    MulWide,
    Op,
    Param,
    PopFrame,
    PushFrame,
    Return,
    Shift64,
    Store,
    Sub64,
    Term,
    Un,
    Var,
)

REGION_NAMES = {0: "stack", 1: "data", 2: "rodata", 3: "ctx"}


def format_function(fn: Function) -> str:
    """The whole function: a header line, then each block with its ops and terminator."""
    budget = "none" if fn.budget is None else str(fn.budget)
    imports = ", ".join(f"{i:#x}" for i in fn.imports)
    lines = [
        f"function profile={fn.profile} budget={budget} imports=[{imports}] "
        f"vars={fn.num_vars} data={fn.data_size} rodata={fn.rodata_size}"
    ]
    for block in fn.blocks:
        lines.extend(format_block(fn, block))
    return "\n".join(lines) + "\n"


def format_block(fn: Function, block: Block) -> list[str]:
    where = f"  ; slot {block.slot}" if block.slot is not None else ""
    lines = [f"b{block.id}:{where}"]
    lines.extend("    " + format_op(fn, op) for op in block.ops)
    lines.append("    " + (format_term(fn, block.term) if block.term else "<no terminator>"))
    return lines


class _Fmt:
    def __init__(self, fn: Function):
        self.fn = fn

    def o(self, operand) -> str:
        if operand is None:
            return "_"
        if isinstance(operand, Var):
            return self.fn.var_name(operand.n)
        if isinstance(operand, Const):
            v = operand.value
            return str(v) if v < 4096 else f"{v:#x}"
        return repr(operand)

    def pair(self, lo, hi) -> str:
        return f"{self.o(lo)}:{self.o(hi)}"

    def addr(self, base, off: int) -> str:
        if off == 0:
            return f"[{self.o(base)}]"
        sign = "+" if off > 0 else "-"
        return f"[{self.o(base)}{sign}{abs(off)}]"

    def regs(self, values: list, first: int) -> str:
        """A list of per-half values r<first>.lo, r<first>.hi, ... : only the ones that are
        not simply that register half are spelled out."""
        parts = []
        for i, v in enumerate(values):
            n = 2 * first + i
            if isinstance(v, Var) and v.n == n:
                continue
            name = f"r{n // 2}.{'hi' if n % 2 else 'lo'}"
            parts.append(f"{name}={self.o(v)}")
        return "{" + ", ".join(parts) + "}" if parts else ""


def format_op(fn: Function, op: Op) -> str:
    f = _Fmt(fn)
    o = f.o
    if isinstance(op, Mov):
        return f"{o(op.d)} = {o(op.a)}"
    if isinstance(op, Bin):
        return f"{o(op.d)} = {op.op} {o(op.a)}, {o(op.b)}"
    if isinstance(op, Un):
        return f"{o(op.d)} = {op.op} {o(op.a)}"
    if isinstance(op, (Add64, Sub64)):
        name = "add64" if isinstance(op, Add64) else "sub64"
        return (f"{f.pair(op.dlo, op.dhi)} = {name} {f.pair(op.alo, op.ahi)}, "
                f"{f.pair(op.blo, op.bhi)}")
    if isinstance(op, MulWide):
        name = "smulwide" if op.signed else "umulwide"
        return f"{f.pair(op.dlo, op.dhi)} = {name} {o(op.a)}, {o(op.b)}"
    if isinstance(op, Shift64):
        return f"{f.pair(op.dlo, op.dhi)} = {op.op}64 {f.pair(op.alo, op.ahi)}, {o(op.amount)}"
    if isinstance(op, Div64):
        return (f"{f.pair(op.dlo, op.dhi)} = {op.op}64 {f.pair(op.alo, op.ahi)}, "
                f"{f.pair(op.blo, op.bhi)}")
    if isinstance(op, Param):
        return f"{o(op.d)} = param {op.name}"
    if isinstance(op, Load):
        kind = f"load{op.size}{'s' if op.signed else ''}"
        return f"{o(op.d)} = {kind} {f.addr(op.base, op.off)}"
    if isinstance(op, Store):
        return f"store{op.size} {f.addr(op.base, op.off)}, {o(op.value)}"
    if isinstance(op, CheckMem):
        hint = "" if op.region is None else f" hint={REGION_NAMES.get(op.region, op.region)}"
        return (f"checkmem {op.access} {op.size} {f.addr(op.base, op.off)}{hint}"
                f" r0={f.pair(op.r0lo, op.r0hi)}")
    if isinstance(op, CheckDivZero):
        divisor = o(op.lo) if op.hi is None else f.pair(op.lo, op.hi)
        return f"checkdivzero {divisor} r0={f.pair(op.r0lo, op.r0hi)}"
    if isinstance(op, BudgetTick):
        return f"budgettick {o(op.counter)} r0={f.pair(op.r0lo, op.r0hi)}"
    if isinstance(op, (Call, CallX)):
        if isinstance(op, Call):
            helper_id = fn.imports[op.index] if op.index < len(fn.imports) else None
            callee = f"call #{op.index}" + (f" (id {helper_id:#x})" if helper_id is not None
                                             else "")
        else:
            callee = f"callx {o(op.id)}"
        results = f"{f.pair(op.d_lo, op.d_hi)} = "
        args = f.regs(op.args, 1)
        reload = f.regs(op.clobbered, 1)
        return (f"{results}{callee}" + (f" args{args}" if args else "")
                + (f" reload{reload}" if reload else "") + f" r0={f.pair(op.r0lo, op.r0hi)}")
    if isinstance(op, PushFrame):
        saved = f.regs(op.saved, 6)
        return (f"pushframe site=b{op.site}" + (f" saved{saved}" if saved else "")
                + f" r0={f.pair(op.r0lo, op.r0hi)}")
    if isinstance(op, PopFrame):
        saved = f.regs(op.saved, 6)
        return "popframe" + (f" into{saved}" if saved else "")
    return repr(op)


def format_term(fn: Function, term: Term) -> str:
    f = _Fmt(fn)
    if isinstance(term, Jump):
        return f"jump b{term.target}"
    if isinstance(term, Branch):
        a = f.o(term.alo) if term.ahi is None else f.pair(term.alo, term.ahi)
        b = f.o(term.blo) if term.bhi is None else f.pair(term.blo, term.bhi)
        width = "64" if term.wide else "32"
        return f"branch{width} {term.cond} {a}, {b} -> b{term.taken} else b{term.fallthrough}"
    if isinstance(term, Exit):
        return f"exit {f.pair(term.r0lo, term.r0hi)}"
    if isinstance(term, Return):
        sites = ", ".join(f"b{s}" for s in term.sites)
        return f"return {f.pair(term.r0lo, term.r0hi)} sites=[{sites}]"
    if isinstance(term, LocalCall):
        return f"localcall b{term.target} return=b{term.return_block}"
    return repr(term)
