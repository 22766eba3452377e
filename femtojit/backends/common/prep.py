"""Backend preparation of an optimised IR function: make the ABI's run-time values explicit.

The IR leaves three things implicit that every 32-bit backend has to place somewhere: the vm
pointer (the entry's argument), the run-time constants `Param` reads from it, and the values
a memory check compares against. `prepare` rewrites a copy of the function so that all of them
are ordinary variables, defined once in a new prologue block; the generic register allocator
then keeps the hot ones (a loop's region bounds, the budget counter) in registers and spills
the rest, with no special case in the backend.

Memory checks become `GuardMem` ops of one of two kinds:

- **region**: the check has a provenance hint naming one of the fixed regions (stack, .data,
  .rodata, ctx) whose permission allows the access. Those regions never overlap (the loader
  refuses it), so if the hinted region holds the bytes it is the first region that does, and
  the access is allowed. The fast path is `t = addr - start; t <u limit` with
  `limit = max(0, len - size + 1)`: an address below the region wraps to a huge `t` and
  fails, so does one whose last byte is past the end. `start` is one variable per region and
  `limit` one per (region, size); .data, .rodata and the stack have sizes fixed at
  translation time, so their limits are constants (a variable when the target cannot compare
  against that immediate).
- **cache**: no usable hint. The check compares against a per-pointer cache (`cstart`,
  `climit`), a pair of variables shared by the checks of one base variable and access kind,
  with `climit` computed for the largest access size of the group (so it is conservative for
  the smaller ones). The cache starts empty (limit 0: every access misses).

On a miss, both kinds call the backend's region scan, which applies the full rule (regions in
table order, first match wins, permission) and either faults or returns; for a cache check it
also returns the region's bounds, which become the new cache, but only when no earlier region
overlaps that region (otherwise a later hit in the cache could skip the region that should
have decided). The cache variables are both read and written by the check, which is how the
allocator learns that they live across the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from femtojit.backends.common.vmabi import FIXED_REGION_PERMS, PARAM_FIELDS, PARAM_REGIONS
from femtojit.ir import types as T
from femtojit.ir.types import ACCESS_PERMS, Const, Op, Operand, Var


@dataclass(slots=True)
class VmArg(Op):
    """d := the vm pointer the entry was called with. First op of the prologue block."""

    d: Var
    DEFS: ClassVar[tuple[str, ...]] = ("d",)


@dataclass(slots=True)
class VmParam(Op):
    """d := a run-time constant of the vm struct or region table (`Param` names)."""

    d: Var
    vm: Var
    name: str
    DEFS: ClassVar[tuple[str, ...]] = ("d",)
    USES: ClassVar[tuple[str, ...]] = ("vm",)


@dataclass(slots=True)
class RegionsBase(Op):
    """d := vm->regions (the region table's address)."""

    d: Var
    vm: Var
    DEFS: ClassVar[tuple[str, ...]] = ("d",)
    USES: ClassVar[tuple[str, ...]] = ("vm",)


@dataclass(slots=True)
class RegionStart(Op):
    """d := regions[region].start (`regions`: a RegionsBase result)."""

    d: Var
    regions: Var
    region: int
    DEFS: ClassVar[tuple[str, ...]] = ("d",)
    USES: ClassVar[tuple[str, ...]] = ("regions",)


@dataclass(slots=True)
class RegionLimit(Op):
    """d := max(0, regions[region].len - size + 1): the exclusive bound of `addr - start`
    for an access of `size` bytes to lie inside the region."""

    d: Var
    regions: Var
    region: int
    size: int
    DEFS: ClassVar[tuple[str, ...]] = ("d",)
    USES: ClassVar[tuple[str, ...]] = ("regions",)


@dataclass(slots=True)
class KeepVm(Op):
    """Last op of a block that can end the run (Exit, Return): the exit sequence writes the
    result through the vm pointer, so the vm variable is live up to there (the allocator
    then keeps it in a register when one is free)."""

    vm: Var
    USES: ClassVar[tuple[str, ...]] = ("vm",)
    side_effect: ClassVar[bool] = True


@dataclass(slots=True)
class GuardMem(T.MemCheck):
    """A memory check with its fast path spelled out (see the module docstring); the checked
    range, access and hint are the T.MemCheck fields it shares with CheckMem.

    region kind: `start`/`limit` set, `cstart`/`climit` None. cache kind: the reverse, and
    `fill` is the access size the cache limit is computed for. `region` keeps the hint.
    `parts`: the original checks, in program order, whose union [off, off + size) is; the
    slow path checks them one by one. `biased`: the start operand already has `off`
    subtracted (a loop's check then needs no address addition: `base - (start - off)` is
    `base + off - start`).
    """

    start: Operand | None
    limit: Operand | None
    cstart: Var | None
    climit: Var | None
    fill: int
    r0lo: Operand
    r0hi: Operand
    parts: tuple[tuple[int, int], ...] = ()  # the checks fused into this one: (off, size)
    biased: bool = False  # region kind: `start` is the region's start minus `off`
    DEFS: ClassVar[tuple[str, ...]] = ("cstart", "climit")
    USES: ClassVar[tuple[str, ...]] = ("base", "start", "limit", "cstart", "climit", "r0lo", "r0hi")

    @property
    def cached(self) -> bool:
        return self.cstart is not None


@dataclass(slots=True)
class HelperAddr(Op):
    """d := helpers[index] (`helpers`: the VmParam "helpers", vm->helpers)."""

    d: Var
    helpers: Var
    index: int
    DEFS: ClassVar[tuple[str, ...]] = ("d",)
    USES: ClassVar[tuple[str, ...]] = ("helpers",)


@dataclass(slots=True)
class StoreRegs(Op):
    """vm->regs[1..5] := values (10 halves, r1.lo first; None: leave that word alone). The
    prologue stores the entry values of r1-r5 once, so calls can skip storing arguments
    that are still there (see elide_call_traffic)."""

    vm: Var
    values: list
    USES: ClassVar[tuple[str, ...]] = ("vm", "values")
    side_effect: ClassVar[bool] = True


@dataclass(slots=True)
class HelperCall(Op):
    """A Call (index set) or CallX (id set) with its run-time operands explicit: the vm
    pointer, fc, and the helper's address (Call) or the helper table (CallX). `args`
    (r1.lo .. r5.hi) holds None for a word vm->regs already holds; `clobbered` None for a
    word nobody reads afterwards."""

    index: int | None
    id: Operand | None
    args: list
    d_lo: Var | None
    d_hi: Var | None
    clobbered: list
    r0lo: Operand
    r0hi: Operand
    vm: Var
    fc: Var
    target: Var
    DEFS: ClassVar[tuple[str, ...]] = ("d_lo", "d_hi", "clobbered")
    USES: ClassVar[tuple[str, ...]] = ("id", "args", "r0lo", "r0hi", "vm", "fc", "target")
    side_effect: ClassVar[bool] = True
    can_fault: ClassVar[bool] = True


@dataclass(slots=True)
class ProbeRange(Op):
    """start, length := the region the region scan finds for the byte at `address` when it
    allows `access` and no earlier region overlaps it; else 0, 0. Never faults (loop
    versioning uses it to test a whole range; see loops.py)."""

    start: Var
    length: Var
    address: Operand
    access: str
    DEFS: ClassVar[tuple[str, ...]] = ("start", "length")
    USES: ClassVar[tuple[str, ...]] = ("address",)

    @property
    def perm(self) -> int:
        return ACCESS_PERMS[self.access]


#: Every op `prepare` introduces.
PREP_OPS = (VmArg, VmParam, RegionsBase, RegionStart, RegionLimit, KeepVm, GuardMem,
            HelperAddr, StoreRegs, HelperCall, ProbeRange)


@dataclass
class Prepared:
    """The rewritten function and what the backend needs to know about it."""

    fn: T.Function
    vm: Var
    prologue: int  # block id of the new entry block
    guards: int  # number of GuardMem ops
    cache_groups: int
    loops_versioned: int = 0


def region_length(fn: T.Function, region: int) -> int | None:
    """Length of a fixed region known at translation time (None for ctx): fn.region_size,
    under the name this module has always exported."""
    return fn.region_size(region)


def usable_hint(check: T.CheckMem) -> bool:
    """A hint to a fixed region whose permission allows the access."""
    region = check.region
    if region is None or not 0 <= region < len(FIXED_REGION_PERMS):
        return False
    need = check.perm
    return FIXED_REGION_PERMS[region] & need == need


def prepare(
    fn: T.Function,
    *,
    compare_imm_ok: Callable[[int], bool],
    use_hints: bool = True,
    version_loops: bool = True,
    probe_ranges: bool = False,
) -> Prepared:
    """A prepared copy of fn (fn itself is left alone).

    compare_imm_ok(value): whether the target compares a register with `value` in one
    instruction; other constant limits become variables set in the prologue.
    use_hints: False makes every check a cache check (to exercise that path in tests).
    version_loops: give counted loops a copy without budget ticks and hoistable checks
    (femtojit/backends/common/loops.py). probe_ranges: the backend implements ProbeRange,
    so checks without a usable hint are hoisted too.
    """
    fn = fn.copy()
    narrow_extensions(fn)
    local_cse(fn)
    vm = fn.new_var("vm")
    prologue_ops: list[Op] = [VmArg(vm)]
    params: dict[str, Var] = {}
    starts: dict[int, Var] = {}
    limits: dict[tuple[int, int], Operand] = {}
    groups: dict[tuple, tuple[Var, Var]] = {}
    group_size: dict[tuple, int] = {}
    guards = 0
    regions_base: list[Var] = []
    biased: dict[tuple[int, int], Var] = {}
    from femtojit.ir.analysis import loop_depth

    depth = loop_depth(fn)
    helper_addrs: dict[int, Var] = {}
    has_calls = any(isinstance(op, (T.Call, T.CallX)) for _, _, op in fn.ops())

    def helper_addr(index: int) -> Var:
        if index not in helper_addrs:
            var = fn.new_var(f"helper{index}_")
            helper_addrs[index] = var
            prologue_ops.append(HelperAddr(var, param("helpers"), index))
        return helper_addrs[index]

    def regions() -> Var:
        if not regions_base:
            var = fn.new_var("regions")
            regions_base.append(var)
            prologue_ops.append(RegionsBase(var, vm))
        return regions_base[0]

    def param(name: str) -> Var:
        if name in PARAM_REGIONS:  # .data / .rodata base: the same value as the check's start
            return region_start(PARAM_REGIONS[name])
        if name not in params:
            var = fn.new_var(name)
            params[name] = var
            prologue_ops.append(VmParam(var, vm, name))
        return params[name]

    def region_start(region: int) -> Var:
        if region not in starts:
            var = fn.new_var(f"start{region}_")
            starts[region] = var
            prologue_ops.append(RegionStart(var, regions(), region))
        return starts[region]

    def biased_start(region: int, off: int) -> Var:
        key = (region, off)
        if key not in biased:
            var = fn.new_var(f"start{region}_{off & 0xFFFFFFFF:x}_")
            biased[key] = var
            prologue_ops.append(T.Bin("sub", var, region_start(region), Const(off & 0xFFFFFFFF)))
        return biased[key]

    def region_limit(region: int, size: int) -> Operand:
        key = (region, size)
        if key not in limits:
            length = fn.region_size(region)
            if length is None:
                var = fn.new_var(f"limit{region}_{size}_")
                prologue_ops.append(RegionLimit(var, regions(), region, size))
                limits[key] = var
            else:
                value = max(0, length - size + 1)
                if compare_imm_ok(value):
                    limits[key] = Const(value)
                else:
                    var = fn.new_var(f"limit{region}_{size}_")
                    prologue_ops.append(T.Mov(var, Const(value)))
                    limits[key] = var
        return limits[key]

    versioned_count = 0
    if use_hints and version_loops:
        from femtojit.backends.common.loops import version_counted_loops

        def probe_cache() -> tuple[Var, Var]:
            start, length = fn.new_var("pcache"), fn.new_var("plen")
            prologue_ops.extend([T.Mov(start, Const(0)), T.Mov(length, Const(0))])
            return start, length

        def length_of(region: int) -> Operand:
            known = fn.region_size(region)
            return Const(known) if known is not None else region_limit(region, 1)

        versioned_count = version_counted_loops(
            fn, usable=usable_hint, region_start=region_start, region_length=length_of,
            probe=ProbeRange if probe_ranges else None, probe_cache=probe_cache)
        if versioned_count:
            depth = loop_depth(fn)
    # Fuse checks of the same pointer (see fuse_checks), then the cache groups and their
    # largest access size.
    fused = fuse_checks(fn, use_hints)
    for _, _, op in fn.ops():
        if isinstance(op, T.CheckMem) and id(op) in fused and not (use_hints
                                                                    and usable_hint(op)):
            key = (op.base, op.access)
            group_size[key] = max(group_size.get(key, 0), op.size)

    for block in fn.blocks:
        out: list[Op] = []
        for op in block.ops:
            if isinstance(op, T.Param):
                if op.name in PARAM_FIELDS or op.name in PARAM_REGIONS:
                    out.append(T.Mov(op.d, param(op.name)))
                    continue
                raise ValueError(f"prepare: unknown Param {op.name!r}")
            if isinstance(op, T.CheckMem):
                guards += 1
                if id(op) not in fused:
                    continue  # fused into an earlier check
                parts = fused[id(op)]
                if use_hints and usable_hint(op):
                    bias = op.off != 0 and depth.get(block.id, 0) > 0
                    start = biased_start(op.region, op.off) if bias else region_start(op.region)
                    out.append(GuardMem(
                        op.base, op.off, op.size, op.access, op.region,
                        start, region_limit(op.region, op.size),
                        None, None, 0, op.r0lo, op.r0hi, parts, bias,
                    ))
                else:
                    key = (op.base, op.access)
                    if key not in groups:
                        cstart, climit = fn.new_var("cstart"), fn.new_var("climit")
                        groups[key] = (cstart, climit)
                        prologue_ops += [T.Mov(cstart, Const(0)), T.Mov(climit, Const(0))]
                    cstart, climit = groups[key]
                    out.append(GuardMem(
                        op.base, op.off, op.size, op.access, op.region, None, None,
                        cstart, climit, group_size[key], op.r0lo, op.r0hi, parts,
                    ))
                continue
            if isinstance(op, (T.Call, T.CallX)):
                callx = isinstance(op, T.CallX)
                op = HelperCall(
                    None if callx else op.index, op.id if callx else None, list(op.args),
                    op.d_lo, op.d_hi, list(op.clobbered), op.r0lo, op.r0hi, vm, param("fc"),
                    param("helpers") if callx else helper_addr(op.index))
            out.append(op)
        if isinstance(block.term, (T.Exit, T.Return)):
            out.append(KeepVm(vm))
        block.ops = out
    if has_calls:  # the entry values of r1-r5: r1 = ctx, r2 = ctx length (rfc) or 0, r3-r5 = 0
        zero = Const(0)
        r2 = param("ctx_len") if fn.profile == "rfc" else zero
        prologue_ops.append(StoreRegs(vm, [param("ctx"), zero, r2] + [zero] * 7))
    entry = fn.blocks[0]
    prologue = T.Block(max(b.id for b in fn.blocks) + 1, prologue_ops, T.Jump(entry.id), None)
    fn.blocks.insert(0, prologue)
    if has_calls:
        elide_call_traffic(fn)
    return Prepared(fn, vm, prologue.id, guards, len(groups), versioned_count)


_COMMUTATIVE = {"add", "mul", "and", "or", "xor"}


def local_cse(fn: T.Function) -> None:
    """Within a block, a Bin/Un computing what an earlier one computed (same operation, same
    operands, none of them nor the earlier result redefined since) becomes a Mov of the
    earlier result (clang's 64-bit multiply lowering computes lo*hi twice, for example)."""
    for block in fn.blocks:
        seen: dict[tuple, Var] = {}
        for i, op in enumerate(block.ops):
            if isinstance(op, T.Bin):
                a, b = op.a, op.b
                if op.op in _COMMUTATIVE and repr(b) < repr(a):
                    a, b = b, a
                key = ("bin", op.op, a, b)
            elif isinstance(op, T.Un):
                key = ("un", op.op, op.a)
            else:
                key = None
            earlier = seen.get(key) if key is not None else None
            if earlier is not None and earlier != op.d:
                block.ops[i] = op = T.Mov(op.d, earlier)
            defs = set(op.defs())
            if defs:
                seen = {k: v for k, v in seen.items()
                        if v not in defs and not defs.intersection(x for x in k[2:]
                                                                   if isinstance(x, Var))}
            if key is not None and earlier is None and op.d not in (
                    x for x in key[2:] if isinstance(x, Var)):
                seen[key] = op.d


def narrow_extensions(fn: T.Function) -> None:
    """Sign and zero extensions clang writes as shift pairs, as one operation: within a
    block, `t = shl x, k; d = ashr t, k` (k 16 or 24) becomes `d = sext16/sext8 x`,
    `t = shl x, k; d = lshr t, k` becomes `d = and x, 2^(32-k) - 1`, when t has no other
    use and x is not redefined in between; then an unsigned narrow load whose only use is a
    sign extension of its width becomes a signed load."""
    from femtojit.ir.analysis import liveness

    live = liveness(fn)
    for block in fn.blocks:
        ops = block.ops
        after = live.op_live_out(block.id)
        dead: set[int] = set()
        for i, op in enumerate(ops):
            if not (isinstance(op, T.Bin) and op.op in ("ashr", "lshr")
                    and isinstance(op.a, Var) and isinstance(op.b, Const)):
                continue
            k = op.b.value
            t = op.a
            if (after[i] >> t.n) & 1:
                continue
            for j in range(i - 1, -1, -1):
                prev = ops[j]
                if j in dead:
                    continue
                if t in prev.defs():
                    ok = (isinstance(prev, T.Bin) and prev.op == "shl" and prev.b == Const(k)
                          and 0 < k < 32)
                    x = prev.a if ok else None
                    between = ops[j + 1:i]
                    if ok and any(t in o.uses() or (isinstance(x, Var) and x in o.defs())
                                  for o in between):
                        ok = False
                    if ok and op.op == "ashr" and k in (16, 24):
                        ops[i] = T.Un("sext16" if k == 16 else "sext8", op.d, x)
                        dead.add(j)
                    elif ok and op.op == "lshr":
                        ops[i] = T.Bin("and", op.d, x, Const((1 << (32 - k)) - 1))
                        dead.add(j)
                    break
                if t in prev.uses():
                    break
        block.ops = [o for j, o in enumerate(ops) if j not in dead]
    live = liveness(fn)
    for block in fn.blocks:
        ops = block.ops
        after = live.op_live_out(block.id)
        dead = set()
        for i, op in enumerate(ops):
            if not (isinstance(op, T.Un) and op.op in ("sext8", "sext16")
                    and isinstance(op.a, Var) and not (after[i] >> op.a.n) & 1):
                continue
            size = 1 if op.op == "sext8" else 2
            for j in range(i - 1, -1, -1):
                prev = ops[j]
                if op.a in prev.defs():
                    if (isinstance(prev, T.Load) and prev.size == size and not prev.signed
                            and not any(op.a in o.uses() or op.d in o.uses() or op.d in o.defs()
                                        for o in ops[j + 1:i])
                            and not (isinstance(prev.base, Var) and prev.base == op.d)):
                        ops[j] = T.Load(op.d, prev.base, prev.off, size, True)
                        dead.add(i)
                    break
                if op.a in prev.uses() or op.d in prev.uses() or op.d in prev.defs():
                    break
        block.ops = [o for j, o in enumerate(ops) if j not in dead]


#: Largest range one fused check covers (fusing never makes a valid access fail the fast
#: path, but a wide range of far-apart accesses would rarely pass it).
MAX_FUSED_SPAN = 64

#: Ops that may sit between two checks being fused: no side effect, no fault of their own.
TRANSPARENT = (T.Mov, T.Bin, T.Un, T.Add64, T.Sub64, T.MulWide, T.Shift64, T.Div64, T.Load,
               T.Param)


def fuse_checks(fn: T.Function, use_hints: bool) -> dict[int, tuple]:
    """Fuse checks of one pointer within a block: a later CheckMem B of the same base, access,
    hint and r0 as an earlier A, with only transparent ops (and other checks with that r0)
    in between, none redefining the base or r0, is moved up into A, whose range becomes the
    union. Moving B up is safe: nothing in between has an effect a fault would expose, and
    a fault gives the same status (ILLEGAL_MEM) and result either way; the fused check's slow
    path still checks A's and B's ranges one by one, in order, so the first-match rule is
    applied to each access exactly as before. Mutates the kept checks' off/size in place and
    returns id(kept check) -> its parts ((off, size) in program order); fused-away checks
    are absent."""
    out: dict[int, tuple] = {}
    for block in fn.blocks:
        ops = block.ops
        absorbed: set[int] = set()
        for i, a in enumerate(ops):
            if not isinstance(a, T.CheckMem) or id(a) in absorbed:
                continue
            parts = [(a.off, a.size)]
            watched = {x for x in (a.base, a.r0lo, a.r0hi) if isinstance(x, Var)}
            for b in ops[i + 1:]:
                if isinstance(b, T.CheckMem):
                    if (b.r0lo, b.r0hi) != (a.r0lo, a.r0hi):
                        break
                    span = (max(a.off + a.size, b.off + b.size, *(o + n for o, n in parts))
                            - min(a.off, b.off, *(o for o, _ in parts)))
                    if (b.base == a.base and b.access == a.access and b.region == a.region
                            and span <= MAX_FUSED_SPAN
                            and (use_hints and usable_hint(a)) == (use_hints and usable_hint(b))):
                        absorbed.add(id(b))
                        parts.append((b.off, b.size))
                    continue
                if not isinstance(b, TRANSPARENT) or watched.intersection(b.defs()):
                    break
            if len(parts) > 1:
                low = min(off for off, _ in parts)
                high = max(off + size for off, size in parts)
                a.off, a.size = low, high - low
            out[id(a)] = tuple(parts)
    return out


def elide_call_traffic(fn: T.Function) -> None:
    """Skip argument stores whose value vm->regs already holds, then reloads nobody reads.

    Forward dataflow: for each of the 10 words of vm->regs[1..5], the set of operands known
    to equal its content (meet: intersection). StoreRegs and a call's stores set it to the
    stored operand; after a call a word equals the variable reloaded from it (or nothing);
    a Mov d := a joins d to the words a is in; any other definition of d removes d. An
    argument already in its word is not stored again. The facts are computed once, on the
    calls as they are, so they stay true when dead reloads are dropped afterwards: the word
    still holds the value, it is just not loaded into a register.
    """
    from femtojit.ir.analysis import liveness, reverse_postorder

    blocks = fn.block_map()
    preds: dict[int, list[int]] = {b.id: [] for b in fn.blocks}
    for b in fn.blocks:
        for succ in b.successors():
            if succ in preds:
                preds[succ].append(b.id)
    unknown = tuple(frozenset() for _ in range(10))

    def transfer(state: tuple, op) -> tuple:
        words = list(state)
        if isinstance(op, StoreRegs):
            return tuple(frozenset() if v is None else frozenset({v}) for v in op.values)
        if isinstance(op, HelperCall):
            return tuple(frozenset() if v is None else frozenset({v}) for v in op.clobbered)
        defs = op.defs()
        if defs:
            words = [w - set(defs) for w in words]
            if isinstance(op, T.Mov):
                words = [w | {op.d} if op.a in w else w for w in words]
        return tuple(words)

    order = reverse_postorder(fn)
    out_state: dict[int, tuple] = {}
    in_state: dict[int, tuple] = {}
    changed = True
    while changed:
        changed = False
        for bid in order:
            known = [out_state[p] for p in preds[bid] if p in out_state]
            if bid == fn.blocks[0].id or not known:
                state = unknown
            else:
                state = tuple(frozenset.intersection(*(k[i] for k in known)) for i in range(10))
            in_state[bid] = state
            for op in blocks[bid].ops:
                state = transfer(state, op)
            if out_state.get(bid) != state:
                out_state[bid] = state
                changed = True
    for bid, state in in_state.items():
        for op in blocks[bid].ops:
            if isinstance(op, HelperCall):
                op.args = [None if a is not None and a in state[i] else a
                           for i, a in enumerate(op.args)]
            state = transfer(state, op)
    live = liveness(fn)
    for block in fn.blocks:
        after = live.op_live_out(block.id)
        for i, op in enumerate(block.ops):
            if isinstance(op, HelperCall):
                op.clobbered = [v if v is not None and (after[i] >> v.n) & 1 else None
                                for v in op.clobbered]
                for name in ("d_lo", "d_hi"):
                    v = getattr(op, name)
                    if v is not None and not (after[i] >> v.n) & 1:
                        setattr(op, name, None)


def param_names() -> tuple[str, ...]:
    return tuple(PARAM_FIELDS) + tuple(PARAM_REGIONS)
