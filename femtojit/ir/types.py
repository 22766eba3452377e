"""IR data types: operands, ops, terminators, blocks and functions (see docs/ir.md).

The IR is a 32-bit, non-SSA IR over numbered variables: each eBPF register rN is the pair
`rN.lo` (variable 2N) and `rN.hi` (variable 2N+1). Every op declares which of its fields it
reads (USES) and writes (DEFS), so analyses and passes stay generic: `defs()`, `uses()`,
`replace_uses(f)` and `replace_defs(f)` work the same way for every op and terminator.

Operand fields may hold a single operand, None, or a list of operands (helper-call arguments,
the saved registers of a local-call frame); a list keeps its length and position meaning when
rewritten (position i of a call's `args` is always register i // 2, half i % 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import ClassVar

from femtojit.memmap import (
    PERM_READ,
    PERM_RW,
    PERM_WRITE,
    REGION_DATA,
    REGION_RODATA,
    REGION_STACK,
    STACK_SIZE,
)
from femtojit.profile import MAX_FRAMES as MAX_FRAMES  # nesting limit of PushFrame

MASK32 = 0xFFFFFFFF

#: Number of variables that are eBPF register halves (r0.lo .. r10.hi).
NUM_REG_VARS = 22


@dataclass(frozen=True, slots=True)
class Var:
    """A 32-bit variable."""

    n: int

    def __repr__(self) -> str:
        return f"v{self.n}"


@dataclass(frozen=True, slots=True)
class Const:
    """A 32-bit constant, 0 <= value < 2**32."""

    value: int

    def __post_init__(self):
        if not 0 <= self.value <= MASK32:
            raise ValueError(f"IR constant {self.value} out of 32-bit range")

    def __repr__(self) -> str:
        return f"#{self.value:#x}"


Operand = Var | Const


def lo_var(reg: int) -> Var:
    return Var(2 * reg)


def hi_var(reg: int) -> Var:
    return Var(2 * reg + 1)


def const(value: int) -> Const:
    """A constant from any Python int, reduced modulo 2**32."""
    return Const(value & MASK32)


# --------------------------------------------------------------------------------------------
# Generic field access shared by ops and terminators.


class _Node:
    """Base of ops and terminators: generic defs/uses over the fields named in DEFS/USES."""

    __slots__ = ()
    DEFS: ClassVar[tuple[str, ...]] = ()
    USES: ClassVar[tuple[str, ...]] = ()
    #: For a def field whose value depends on only some of the use fields (the low half of
    #: a 64-bit sum needs no upper halves): def field -> those use fields.
    DEF_USES: ClassVar[dict[str, tuple[str, ...]]] = {}

    def _read(self, names: tuple[str, ...]) -> list:
        """The values of the fields `names`, list fields flattened, None entries skipped."""
        out: list = []
        for name in names:
            value = getattr(self, name)
            if isinstance(value, list):
                out.extend(v for v in value if v is not None)
            elif value is not None:
                out.append(value)
        return out

    def _rewrite(self, names: tuple[str, ...], f: Callable) -> None:
        """Replace every non-None value of the fields `names` by f(value), lists element-wise
        (keeping their length, so positions keep their meaning)."""
        for name in names:
            value = getattr(self, name)
            if isinstance(value, list):
                setattr(self, name, [None if v is None else f(v) for v in value])
            elif value is not None:
                setattr(self, name, f(value))

    def defs(self) -> list[Var]:
        """Variables this node writes (None entries skipped)."""
        return self._read(self.DEFS)

    def def_dependencies(self) -> list[list[Var]]:
        """For each variable of defs() (same order), the variables its value depends on."""
        out: list[list[Var]] = []
        for name in self.DEFS:
            fields_read = self.DEF_USES.get(name, self.USES)
            deps: list[Var] = []
            for f in fields_read:
                value = getattr(self, f)
                values = value if isinstance(value, list) else [value]
                deps.extend(v for v in values if isinstance(v, Var))
            value = getattr(self, name)
            count = sum(1 for v in value if v is not None) if isinstance(value, list) else (
                0 if value is None else 1)
            out.extend([deps] * count)
        return out

    def operands(self) -> list[Operand]:
        """Every operand this node reads (variables and constants), in field order."""
        return self._read(self.USES)

    def uses(self) -> list[Var]:
        """Variables this node reads."""
        return [o for o in self.operands() if isinstance(o, Var)]

    def replace_uses(self, f: Callable[[Operand], Operand]) -> None:
        """Rewrite every read operand through f, in place (f returns its argument to keep it)."""
        self._rewrite(self.USES, f)

    def replace_defs(self, f: Callable[[Var], Var]) -> None:
        """Rewrite every written variable through f, in place."""
        self._rewrite(self.DEFS, f)

    def copy(self):
        """A shallow copy with list fields copied, so rewriting the copy leaves self alone."""
        kwargs = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            kwargs[f.name] = list(value) if isinstance(value, list) else value
        return type(self)(**kwargs)


class Op(_Node):
    """An operation inside a block.

    side_effect: must never be removed by DCE even when its results are dead (checks,
    stores, calls, frame pushes). can_fault: may stop the run; such ops read r0 (through
    explicit operands) because the result of a faulted run is r0.
    """

    __slots__ = ()
    side_effect: ClassVar[bool] = False
    can_fault: ClassVar[bool] = False


class _Selected(Op):
    """An op whose `op` field selects the operation, one of OPS (checked on construction)."""

    __slots__ = ()
    OPS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        if self.op not in self.OPS:
            raise ValueError(f"unknown {type(self).__name__} op {self.op!r}")


BIN_OPS = (
    "add",
    "sub",
    "mul",
    "and",
    "or",
    "xor",
    "shl",
    "lshr",
    "ashr",
    "udiv",
    "urem",
    "sdiv",
    "srem",
)
UN_OPS = ("neg", "not", "bswap16", "bswap32", "sext8", "sext16", "zext8", "zext16")
SHIFT64_OPS = ("shl", "lshr", "ashr")
DIV64_OPS = ("udiv", "urem", "sdiv", "srem")
PARAMS = ("stack_top", "ctx", "ctx_len", "data_base", "rodata_base", "budget")
ACCESSES = ("r", "w", "rw")
#: The region permission bits each access kind needs.
ACCESS_PERMS = {"r": PERM_READ, "w": PERM_WRITE, "rw": PERM_RW}


@dataclass(slots=True)
class Mov(Op):
    """d := a"""

    d: Var
    a: Operand
    DEFS: ClassVar[tuple[str, ...]] = ("d",)
    USES: ClassVar[tuple[str, ...]] = ("a",)


@dataclass(slots=True)
class Bin(_Selected):
    """d := a <op> b on 32 bits. Shifts use b & 31; divisions need b != 0 (checked before)."""

    op: str
    d: Var
    a: Operand
    b: Operand
    DEFS: ClassVar[tuple[str, ...]] = ("d",)
    USES: ClassVar[tuple[str, ...]] = ("a", "b")
    OPS: ClassVar[tuple[str, ...]] = BIN_OPS


@dataclass(slots=True)
class Un(_Selected):
    """d := <op> a on 32 bits (bswap16, zext* zero-extend; sext* sign-extend)."""

    op: str
    d: Var
    a: Operand
    DEFS: ClassVar[tuple[str, ...]] = ("d",)
    USES: ClassVar[tuple[str, ...]] = ("a",)
    OPS: ClassVar[tuple[str, ...]] = UN_OPS


@dataclass(slots=True)
class _Carry64(Op):
    """The fields of Add64 and Sub64, which differ only in the operation. All inputs are read
    before any output is written, so outputs may name inputs; the low half of the result
    depends on the low halves only."""

    dlo: Var | None
    dhi: Var | None
    alo: Operand
    ahi: Operand
    blo: Operand
    bhi: Operand
    DEFS: ClassVar[tuple[str, ...]] = ("dlo", "dhi")
    USES: ClassVar[tuple[str, ...]] = ("alo", "ahi", "blo", "bhi")
    DEF_USES: ClassVar[dict[str, tuple[str, ...]]] = {"dlo": ("alo", "blo")}


@dataclass(slots=True)
class Add64(_Carry64):
    """(dhi:dlo) := (ahi:alo) + (bhi:blo) modulo 2**64."""


@dataclass(slots=True)
class Sub64(_Carry64):
    """(dhi:dlo) := (ahi:alo) - (bhi:blo) modulo 2**64."""


@dataclass(slots=True)
class MulWide(Op):
    """(dhi:dlo) := a * b, the full 64-bit product of two 32-bit values (signed or not)."""

    dlo: Var | None
    dhi: Var | None
    a: Operand
    b: Operand
    signed: bool = False
    DEFS: ClassVar[tuple[str, ...]] = ("dlo", "dhi")
    USES: ClassVar[tuple[str, ...]] = ("a", "b")


@dataclass(slots=True)
class Shift64(_Selected):
    """(dhi:dlo) := (ahi:alo) <op> (amount & 63), op in shl lshr ashr."""

    op: str
    dlo: Var | None
    dhi: Var | None
    alo: Operand
    ahi: Operand
    amount: Operand
    DEFS: ClassVar[tuple[str, ...]] = ("dlo", "dhi")
    USES: ClassVar[tuple[str, ...]] = ("alo", "ahi", "amount")
    OPS: ClassVar[tuple[str, ...]] = SHIFT64_OPS


@dataclass(slots=True)
class Div64(_Selected):
    """(dhi:dlo) := (ahi:alo) <op> (bhi:blo), op in udiv urem sdiv srem; divisor non-zero.
    sdiv INT64_MIN, -1 = INT64_MIN; srem INT64_MIN, -1 = 0; srem takes the dividend's sign."""

    op: str
    dlo: Var | None
    dhi: Var | None
    alo: Operand
    ahi: Operand
    blo: Operand
    bhi: Operand
    DEFS: ClassVar[tuple[str, ...]] = ("dlo", "dhi")
    USES: ClassVar[tuple[str, ...]] = ("alo", "ahi", "blo", "bhi")
    OPS: ClassVar[tuple[str, ...]] = DIV64_OPS


@dataclass(slots=True)
class Param(Op):
    """d := a run-time constant from the vm struct / region table (same value all run long,
    so a backend may rematerialise it anywhere). `budget` is the initial branch budget."""

    d: Var
    name: str
    DEFS: ClassVar[tuple[str, ...]] = ("d",)

    def __post_init__(self):
        if self.name not in PARAMS:
            raise ValueError(f"unknown Param {self.name!r}")


@dataclass(slots=True)
class Load(Op):
    """d := the `size` bytes (1, 2, 4) at (base + off) mod 2**32, zero- or sign-extended.
    Always preceded by a CheckMem covering it (or proven in bounds), so it never faults."""

    d: Var
    base: Operand
    off: int
    size: int
    signed: bool = False
    DEFS: ClassVar[tuple[str, ...]] = ("d",)
    USES: ClassVar[tuple[str, ...]] = ("base",)


@dataclass(slots=True)
class Store(Op):
    """The low `size` bytes (1, 2, 4) of value to (base + off) mod 2**32."""

    base: Operand
    off: int
    size: int
    value: Operand
    USES: ClassVar[tuple[str, ...]] = ("base", "value")
    side_effect: ClassVar[bool] = True


@dataclass(slots=True)
class MemCheck(Op):
    """What every memory check checks (CheckMem here, GuardMem after backend preparation):
    the bytes [base+off, base+off+size), for `access` ("r", "w", "rw"), with `region` the
    provenance hint. Subclasses add their own fields after these."""

    base: Operand
    off: int
    size: int
    access: str
    region: int | None
    side_effect: ClassVar[bool] = True
    can_fault: ClassVar[bool] = True

    @property
    def perm(self) -> int:
        """The permission bits a region needs to allow the access."""
        return ACCESS_PERMS[self.access]


@dataclass(slots=True)
class CheckMem(MemCheck):
    """Fault ILLEGAL_MEM (result r0) unless [base+off, base+off+size) lies in one region
    with `access` permission ("r", "w", "rw"). `region` is a provenance hint: the index in
    the region table to try first (None: no idea); it never changes the outcome."""

    r0lo: Operand
    r0hi: Operand
    USES: ClassVar[tuple[str, ...]] = ("base", "r0lo", "r0hi")


@dataclass(slots=True)
class CheckDivZero(Op):
    """femto profile: fault ILLEGAL_DIV (result r0) if the divisor is zero (hi None: 32-bit)."""

    lo: Operand
    hi: Operand | None
    r0lo: Operand
    r0hi: Operand
    USES: ClassVar[tuple[str, ...]] = ("lo", "hi", "r0lo", "r0hi")
    side_effect: ClassVar[bool] = True
    can_fault: ClassVar[bool] = True


@dataclass(slots=True)
class BudgetTick(Op):
    """Fault OUT_OF_BRANCHES (result r0) if counter is 0, else counter -= 1."""

    counter: Var
    r0lo: Operand
    r0hi: Operand
    DEFS: ClassVar[tuple[str, ...]] = ("counter",)
    USES: ClassVar[tuple[str, ...]] = ("counter", "r0lo", "r0hi")
    side_effect: ClassVar[bool] = True
    can_fault: ClassVar[bool] = True


@dataclass(slots=True)
class Call(Op):
    """Call helper `imports[index]`.

    args: 10 operands, r1.lo, r1.hi, ..., r5.hi (position i is register 1 + i // 2, half
    i % 2), stored into vm->regs[1..5] before the call (regs[0] and regs[6..10] are
    unspecified to helpers, docs/semantics.md). After it: d_lo := low 32 bits of the return
    value, d_hi := its high 32 bits (rfc profile; None in femto, where lowering sets
    r0.hi := 0 itself), and clobbered[i] (10 entries like args, None = not needed) := that
    half of vm->regs[1 + i // 2] as the helper left it. A helper fault stops the run with
    its status (ILLEGAL_CALL if the helper gave a non-negative one) and result (r0hi:r0lo),
    r0 before the call.
    """

    index: int
    args: list
    d_lo: Var | None
    d_hi: Var | None
    clobbered: list
    r0lo: Operand
    r0hi: Operand
    DEFS: ClassVar[tuple[str, ...]] = ("d_lo", "d_hi", "clobbered")
    USES: ClassVar[tuple[str, ...]] = ("args", "r0lo", "r0hi")
    side_effect: ClassVar[bool] = True
    can_fault: ClassVar[bool] = True


@dataclass(slots=True)
class CallX(Op):
    """Like Call, but the helper id is a run-time value: the low 32 bits of the register
    callx names (the reference interpreter ignores the upper half). It is looked up in the
    import table; an id that is not there faults ILLEGAL_CALL (result r0)."""

    id: Operand
    args: list
    d_lo: Var | None
    d_hi: Var | None
    clobbered: list
    r0lo: Operand
    r0hi: Operand
    DEFS: ClassVar[tuple[str, ...]] = ("d_lo", "d_hi", "clobbered")
    USES: ClassVar[tuple[str, ...]] = ("id", "args", "r0lo", "r0hi")
    side_effect: ClassVar[bool] = True
    can_fault: ClassVar[bool] = True




@dataclass(slots=True)
class PushFrame(Op):
    """Local call: push a frame holding the return site (a block id, entered later through
    Return) and the 8 saved operands (r6.lo .. r9.hi). With MAX_FRAMES frames already
    pushed, fault ILLEGAL_CALL (result r0)."""

    site: int
    saved: list
    r0lo: Operand
    r0hi: Operand
    USES: ClassVar[tuple[str, ...]] = ("saved", "r0lo", "r0hi")
    side_effect: ClassVar[bool] = True
    can_fault: ClassVar[bool] = True


@dataclass(slots=True)
class PopFrame(Op):
    """First op of a return-site block: pop the top frame, saved[i] := its i-th saved value
    (8 entries, r6.lo .. r9.hi; None = not needed)."""

    saved: list
    DEFS: ClassVar[tuple[str, ...]] = ("saved",)
    side_effect: ClassVar[bool] = True


# --------------------------------------------------------------------------------------------
# Terminators

CONDS = ("eq", "ne", "ugt", "uge", "ult", "ule", "sgt", "sge", "slt", "sle", "set")


class Term(_Node):
    """A block terminator: successors() lists the block ids control can go to next."""

    __slots__ = ()
    TARGETS: ClassVar[tuple[str, ...]] = ()

    def successors(self) -> list[int]:
        out: list[int] = []
        for name in self.TARGETS:
            value = getattr(self, name)
            if isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out

    def replace_target(self, old: int, new: int) -> None:
        for name in self.TARGETS:
            value = getattr(self, name)
            if isinstance(value, list):
                setattr(self, name, [new if t == old else t for t in value])
            elif value == old:
                setattr(self, name, new)


@dataclass(slots=True)
class Jump(Term):
    target: int
    TARGETS: ClassVar[tuple[str, ...]] = ("target",)


@dataclass(slots=True)
class Branch(Term):
    """Go to `taken` if (ahi:alo) <cond> (bhi:blo) holds, else to `fallthrough`.
    ahi and bhi are both None for a 32-bit compare. `set` means (a & b) != 0."""

    cond: str
    alo: Operand
    ahi: Operand | None
    blo: Operand
    bhi: Operand | None
    taken: int
    fallthrough: int
    USES: ClassVar[tuple[str, ...]] = ("alo", "ahi", "blo", "bhi")
    TARGETS: ClassVar[tuple[str, ...]] = ("taken", "fallthrough")

    def __post_init__(self):
        if self.cond not in CONDS:
            raise ValueError(f"unknown condition {self.cond!r}")
        if (self.ahi is None) != (self.bhi is None):
            raise ValueError("Branch: ahi and bhi must both be set (64-bit) or both None")

    @property
    def wide(self) -> bool:
        return self.ahi is not None


@dataclass(slots=True)
class Exit(Term):
    """End the run with status OK and result (r0hi:r0lo)."""

    r0lo: Operand
    r0hi: Operand
    USES: ClassVar[tuple[str, ...]] = ("r0lo", "r0hi")


@dataclass(slots=True)
class Return(Term):
    """eBPF `exit` in a program with local calls: with no frame left, end the run like Exit;
    otherwise continue at the return-site block recorded in the top frame (one of `sites`;
    that block starts with the PopFrame)."""

    r0lo: Operand
    r0hi: Operand
    sites: list
    USES: ClassVar[tuple[str, ...]] = ("r0lo", "r0hi")
    TARGETS: ClassVar[tuple[str, ...]] = ("sites",)


@dataclass(slots=True)
class LocalCall(Term):
    """Continue at `target` (the callee) after the PushFrame that precedes this terminator.
    `return_block` is where the callee's Return comes back (for layout and listings; it is
    not a CFG successor of this block)."""

    target: int
    return_block: int
    TARGETS: ClassVar[tuple[str, ...]] = ("target",)


# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Block:
    """A basic block: straight-line ops and one terminator. `slot` is the first eBPF slot it
    came from (None for blocks lowering invented), for listings and messages."""

    id: int
    ops: list = field(default_factory=list)
    term: Term | None = None
    slot: int | None = None

    def successors(self) -> list[int]:
        return self.term.successors() if self.term is not None else []


@dataclass
class Function:
    """One translated program. blocks[0] is the entry; block ids are stable names (not list
    positions), so passes can delete and add blocks without renumbering.

    budget: the compile-time taken-branch budget (None: no budget checks compiled in);
    budget_var: the variable that counts down (None without a budget).
    imports: helper ids in import order (the blob's import table; Call.index refers to it).
    data_size / rodata_size: sizes of .data and .rodata, fixed at translation time.
    var_origin: for variables made by renaming (webs), the variable they came from.
    """

    blocks: list[Block]
    num_vars: int
    profile: str = "femto"
    budget: int | None = None
    budget_var: int | None = None
    imports: list[int] = field(default_factory=list)
    has_local_calls: bool = False
    data_size: int = 0
    rodata_size: int = 0
    var_origin: dict[int, int] = field(default_factory=dict)
    temp_names: dict[int, str] = field(default_factory=dict)

    def region_size(self, region: int) -> int | None:
        """Size of a region fixed at translation time (stack, .data, .rodata; None for ctx
        and host regions)."""
        return {REGION_STACK: STACK_SIZE, REGION_DATA: self.data_size,
                REGION_RODATA: self.rodata_size}.get(region)

    def new_var(self, name: str | None = None) -> Var:
        n = self.num_vars
        self.num_vars += 1
        if name:
            self.temp_names[n] = name
        return Var(n)

    def new_block(self, slot: int | None = None) -> Block:
        """A new empty block with a fresh id, appended to the layout."""
        next_id = max((b.id for b in self.blocks), default=-1) + 1
        block = Block(next_id, [], None, slot)
        self.blocks.append(block)
        return block

    @property
    def entry(self) -> Block:
        return self.blocks[0]

    def block_map(self) -> dict[int, Block]:
        return {b.id: b for b in self.blocks}

    def var_name(self, n: int) -> str:
        """`r3.lo`, `budget`, `t7`, or `r3.lo.2` for the third web of r3.lo."""
        if n in self.var_origin:
            base = self.var_name(self.var_origin[n])
            return f"{base}.{n}"
        if n < NUM_REG_VARS:
            return f"r{n // 2}.{'hi' if n % 2 else 'lo'}"
        if n == self.budget_var:
            return "budget"
        if n in self.temp_names:
            return f"{self.temp_names[n]}{n}"
        return f"t{n}"

    def ops(self) -> Iterator[tuple[Block, int, Op]]:
        for block in self.blocks:
            for i, op in enumerate(block.ops):
                yield block, i, op

    def copy(self) -> Function:
        """A deep enough copy for passes to rewrite without touching self."""
        blocks = [
            Block(b.id, [op.copy() for op in b.ops], b.term.copy() if b.term else None, b.slot)
            for b in self.blocks
        ]
        return Function(
            blocks,
            self.num_vars,
            self.profile,
            self.budget,
            self.budget_var,
            list(self.imports),
            self.has_local_calls,
            self.data_size,
            self.rodata_size,
            dict(self.var_origin),
            dict(self.temp_names),
        )


#: Every op and terminator class, for code that dispatches on them.
OP_TYPES = (
    Mov,
    Bin,
    Un,
    Add64,
    Sub64,
    MulWide,
    Shift64,
    Div64,
    Param,
    Load,
    Store,
    CheckMem,
    CheckDivZero,
    BudgetTick,
    Call,
    CallX,
    PushFrame,
    PopFrame,
)
TERM_TYPES = (Jump, Branch, Exit, Return, LocalCall)
