"""Hypothesis program generators shared by the differential test files (armv7m, rv32imc,
the IR engines, the numba interpreter).

`programs(profile, ...)` draws a whole test case for the backends: a program, its ctx, its
host regions. The programs start by loading values the translator cannot know (from .data
and ctx) into r0-r5, point r6/r7 at .data/.rodata, r8 at the stack and r9 at ctx or a host
region (a pointer read from ctx, so only the run-time check can place it), run a body of
random items, and end by storing r0-r9 to the stack, so a wrong value in any register shows
in memory. `resolve_items` lays out items with jump and local-call placeholders (any
generator of item lists can use it), `lddw`, `unary_insn`, `jump_item` and `alu_fields` are
the building blocks the other generators share.

The engine comparisons live in tests/backend_support.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from femtojit import isa
from femtojit.isa import Insn
from femtojit.memmap import HOST_BASE, HOST_STRIDE, PERM_READ, PERM_RW, HostRegion
from femtojit.program import Program

M64 = (1 << 64) - 1

INTERESTING32 = [0, 1, -1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 127, 128, 255, 256, 0xFF,
                 0xFFFF, 0x10000, 0x7FFFFFFF, -0x80000000, -2, 0x12345678, 0xFF00FF, 4095,
                 4096, -4096, 0x55555555 - (1 << 32)]
imm32 = st.one_of(st.sampled_from(INTERESTING32), st.integers(-(1 << 31), (1 << 31) - 1))
value64 = st.one_of(
    st.sampled_from([0, 1, M64, 1 << 63, (1 << 63) - 1, 0xFFFFFFFF, 1 << 32, 0x80000000,
                     0xFFFFFFFF80000000, 2, 3, 0x100000001]),
    st.integers(0, M64),
    st.integers(0, 0xFFFF),
)
work_reg = st.integers(0, 9)
any_reg = st.integers(0, 10)

ALU_OPS = [isa.ALU_ADD, isa.ALU_SUB, isa.ALU_MUL, isa.ALU_DIV, isa.ALU_OR, isa.ALU_AND,
           isa.ALU_LSH, isa.ALU_RSH, isa.ALU_MOD, isa.ALU_XOR, isa.ALU_MOV, isa.ALU_ARSH]


def alu_fields(draw) -> tuple[int, int, int, int]:
    """(op, class, register source?, offset) of a random ALU instruction: any operation at
    either width, signed division (offset 1) and sign-extending moves (8/16/32) included."""
    op = draw(st.sampled_from(ALU_OPS))
    cls = draw(st.sampled_from([isa.CLS_ALU, isa.CLS_ALU64]))
    x = draw(st.booleans())
    off = 0
    if op in (isa.ALU_DIV, isa.ALU_MOD):
        off = draw(st.sampled_from([0, 1]))
    elif op == isa.ALU_MOV and x:
        off = draw(st.sampled_from([0, 8, 16] + ([32] if cls == isa.CLS_ALU64 else [])))
    return op, cls, x, off


def lddw(op: int, reg: int, value: int) -> list[Insn]:
    return [Insn(op, reg, 0, 0, isa.s32(value)), Insn(0, 0, 0, 0, isa.s32(value >> 32))]


def alu(op: int, dst: int, *, src: int | None = None, imm: int = 0, wide: bool = True,
        off: int = 0) -> Insn:
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    if src is None:
        return Insn(cls | op, dst, 0, off, isa.s32(imm))
    return Insn(cls | op | isa.SRC_X, dst, src, off, 0)


@st.composite
def alu_insn(draw, profile: str):
    op = draw(st.sampled_from(ALU_OPS))
    wide = draw(st.booleans())
    x = draw(st.booleans())
    off = 0
    if op in (isa.ALU_DIV, isa.ALU_MOD):
        off = draw(st.sampled_from([0, 1]))
    elif op == isa.ALU_MOV and x:
        off = draw(st.sampled_from([0, 0, 8, 16] + ([32] if wide else [])))
    dst = draw(work_reg)
    if x:
        return [alu(op, dst, src=draw(any_reg), wide=wide, off=off)]
    imm = draw(imm32)
    if op in (isa.ALU_DIV, isa.ALU_MOD) and imm == 0 and profile == "femto":
        imm = 7  # the femto verifier rejects a zero immediate divisor
    return [alu(op, dst, imm=imm, wide=wide, off=off)]


@st.composite
def alu_chain(draw, profile: str):
    """Several ALU instructions on two or three registers, so values flow through."""
    regs = draw(st.lists(work_reg, min_size=2, max_size=3, unique=True))
    out = []
    for _ in range(draw(st.integers(2, 8))):
        op = draw(st.sampled_from(ALU_OPS))
        wide = draw(st.booleans())
        dst = draw(st.sampled_from(regs))
        if draw(st.booleans()):
            off = draw(st.sampled_from([0, 1])) if op in (isa.ALU_DIV, isa.ALU_MOD) else 0
            out.append(alu(op, dst, src=draw(st.sampled_from(regs)), wide=wide, off=off))
        else:
            imm = draw(imm32)
            if op in (isa.ALU_DIV, isa.ALU_MOD) and imm == 0 and profile == "femto":
                imm = -3
            out.append(alu(op, dst, imm=imm, wide=wide))
    return out


@st.composite
def unary_insn(draw):
    kind = draw(st.sampled_from(["neg32", "neg64", "le", "be", "bswap"]))
    dst = draw(work_reg)
    if kind == "neg32":
        return [Insn(0x84, dst)]
    if kind == "neg64":
        return [Insn(0x87, dst)]
    opcode = {"le": 0xD4, "be": 0xDC, "bswap": 0xD7}[kind]
    return [Insn(opcode, dst, 0, 0, draw(st.sampled_from([16, 32, 64])))]


@dataclass
class Layout:
    """Where the generated program's pointer registers point: base register -> the region's
    [start, end) relative to the register's value at entry."""

    bases: list[tuple[int, int, int]]


SIZE_CODES = [isa.SIZE_B, isa.SIZE_H, isa.SIZE_W, isa.SIZE_DW]


@st.composite
def memory_insn(draw, layout: Layout):
    size_code = draw(st.sampled_from(SIZE_CODES))
    size = isa.SIZE_BYTES[size_code]
    base, start, end = draw(st.sampled_from(layout.bases))
    where = draw(st.integers(0, 9))
    if where < 4:  # at an edge: inside, across, just past, unaligned
        off = draw(st.sampled_from([start, end - size, start - 1, start - size + 1,
                                    end - size + 1, end, end - 1, start + 1, end - size - 1]))
    elif where == 4:
        off = draw(st.integers(start - 700, end + 700))
    elif where == 5:
        off = draw(st.integers(-(1 << 15), (1 << 15) - 1))
    else:
        off = draw(st.integers(start, max(start, end - size)))
    off = max(-(1 << 15), min(off, (1 << 15) - 1))
    form = draw(st.sampled_from(["ldx", "ldx", "ldxs", "st", "stx", "stx", "atomic"]))
    dst = draw(st.integers(0, 5))
    if form == "ldx" or (form == "ldxs" and size == 8):
        return [Insn(isa.CLS_LDX | isa.MODE_MEM | size_code, dst, base, off)]
    if form == "ldxs":
        return [Insn(isa.CLS_LDX | isa.MODE_MEMSX | size_code, dst, base, off)]
    if form == "st":
        return [Insn(isa.CLS_ST | isa.MODE_MEM | size_code, base, 0, off, draw(imm32))]
    if form == "atomic":
        width = draw(st.sampled_from([isa.SIZE_W, isa.SIZE_DW]))
        code = draw(st.sampled_from(sorted(isa.ATOMIC_OPS)))
        return [Insn(isa.CLS_STX | isa.MODE_ATOMIC | width, base, draw(st.integers(0, 5)),
                     off, code)]
    return [Insn(isa.CLS_STX | isa.MODE_MEM | size_code, base, draw(work_reg), off)]


@st.composite
def pointer_insn(draw):
    """r8 moves: a copy of r10, r1, r6 or r9 plus a small constant, or a bump."""
    kind = draw(st.sampled_from(["copy", "bump", "bump", "add_reg"]))
    if kind == "bump":
        return [alu(isa.ALU_ADD, 8, imm=draw(st.integers(-24, 24)))]
    if kind == "add_reg":  # a pointer plus a value it cannot know (masked small)
        src = draw(st.integers(0, 5))
        return [alu(isa.ALU_MOV, 8, src=src), alu(isa.ALU_AND, 8, imm=31),
                alu(isa.ALU_ADD, 8, src=10), alu(isa.ALU_SUB, 8, imm=draw(st.integers(0, 40)))]
    src = draw(st.sampled_from([10, 1, 6, 9]))
    return [alu(isa.ALU_MOV, 8, src=src), alu(isa.ALU_ADD, 8, imm=draw(st.integers(-40, 8)))]


@st.composite
def helper_call(draw, profile: str, layout: Layout):
    """A built-in helper with arguments that are sometimes good pointers, sometimes not."""
    helper = draw(st.sampled_from([0x02, 0x02, 0x10, 0x11, 0x12, 0x13, 0x20, 0x60, 0x01]
                                  + ([5] if profile == "rfc" else [])))
    out: list[Insn] = []
    if helper in (0x02, 0x12, 0x13):
        base, start, end = draw(st.sampled_from(layout.bases))
        out.append(alu(isa.ALU_MOV, 1, src=base))
        out.append(alu(isa.ALU_ADD, 1, imm=draw(st.integers(start - 4, max(start, end - 1)))))
        if helper == 0x02:
            base2, start2, end2 = draw(st.sampled_from(layout.bases))
            out.append(alu(isa.ALU_MOV, 2, src=base2))
            out.append(alu(isa.ALU_ADD, 2, imm=draw(st.integers(start2, max(start2, end2 - 1)))))
            out.append(alu(isa.ALU_MOV, 3, imm=draw(st.integers(1, 12))))  # (n = 0: see report)
        else:
            out.append(alu(isa.ALU_MOV, 2, src=1))
            out.append(alu(isa.ALU_MOV, 1, imm=draw(st.integers(0, 3))))
    elif helper in (0x10, 0x11):
        out.append(alu(isa.ALU_MOV, 1, imm=draw(st.integers(0, 3))))
    elif helper == 0x01:  # printf("%x %d\n", r2, r3) from .rodata offset 0
        out.append(alu(isa.ALU_MOV, 1, src=7))
    out.append(Insn(isa.OP_CALL, 0, 0, 0, helper))
    return out


@st.composite
def counted_loop(draw, profile: str, layout: Layout):
    """r9-free counted loop on r5 with a body; may run into the budget."""
    wide = draw(st.booleans())
    step = draw(st.sampled_from([1, 2, 4, -1, -3]))
    start = draw(st.sampled_from([0, 1, 8, 0xFFFFFFF0, 0x7FFFFFFE, -8]))
    trips = draw(st.integers(0, 10))
    bound = (start + step * trips + draw(st.sampled_from([0, 0, 1, -1]))) & 0xFFFFFFFF
    cond = draw(st.sampled_from([isa.JMP_JNE, isa.JMP_JLT, isa.JMP_JLE, isa.JMP_JGT,
                                 isa.JMP_JGE, isa.JMP_JSLT, isa.JMP_JSGT]))
    body: list[Insn] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 2))
        if kind == 0:
            body += draw(alu_insn(profile))
        elif kind == 1:
            body += draw(memory_insn(layout))
        else:  # an access through the stack indexed by the counter
            size = draw(st.sampled_from([isa.SIZE_B, isa.SIZE_W, isa.SIZE_DW]))
            k = draw(st.sampled_from([-512, -64, -8, 0]))
            body += [alu(isa.ALU_MOV, 8, src=10), alu(isa.ALU_ADD, 8, src=5),
                     Insn(isa.CLS_STX | isa.MODE_MEM | size, 8, 3, k)]
    body = [i._replace(dst=4) if i.dst == 5 and i.cls in (isa.CLS_ALU, isa.CLS_ALU64,
                                                          isa.CLS_LDX) else i for i in body]
    cls = isa.CLS_ALU64 if wide else isa.CLS_ALU
    jcls = isa.CLS_JMP if wide else isa.CLS_JMP32
    init = lddw(isa.OP_LDDW, 5, start & M64 if wide else start & 0xFFFFFFFF)
    add = Insn(cls | isa.ALU_ADD, 5, 0, 0, step)
    back = Insn(jcls | cond, 5, 0, -(len(body) + 2), isa.s32(bound))
    return init + body + [add, back]


def jump_item(draw, imm=imm32):
    """A ("jump", ...) placeholder for resolve_items: any condition or ja, either class,
    register or immediate (drawn from `imm`) operand; the target is drawn when resolved."""
    op = draw(st.sampled_from(list(isa.COND_JMP_OPS) + [isa.JMP_JA]))
    cls = draw(st.sampled_from([isa.CLS_JMP, isa.CLS_JMP32]))
    x = draw(st.booleans())
    return ("jump", op, cls, x, draw(work_reg), draw(any_reg), draw(imm))


def resolve_items(draw, items: list, *, first_body: int, epilogue: int, sub_start: int,
                  back_jumps: bool) -> list[Insn]:
    """Lay the items out and turn the ("jump", ...) and ("local",) placeholders into real
    instructions: a jump lands on an item boundary between the first body item (or, without
    back jumps, the next item) and the epilogue; a local call targets the item sub_start."""
    starts, pos = [], 0
    for item in items:
        starts.append(pos)
        pos += 1 if isinstance(item, tuple) else len(item)
    starts.append(pos)
    slots: list[Insn] = []
    for index, item in enumerate(items):
        here = starts[index]
        if not isinstance(item, tuple):
            slots += item
            continue
        if item[0] == "local":
            slots.append(Insn(isa.OP_CALL, 0, isa.CALL_LOCAL, 0, starts[sub_start] - here - 1))
            continue
        _, op, cls, x, dst, src, imm = item
        low = first_body if back_jumps else index + 1
        target = draw(st.integers(low, epilogue))
        delta = starts[target] - here - 1
        if op == isa.JMP_JA:
            slots.append(Insn(isa.OP_JA32, 0, 0, 0, delta) if cls == isa.CLS_JMP32
                         else Insn(isa.OP_JA, 0, 0, delta))
            continue
        slots.append(Insn(cls | op | (isa.SRC_X if x else 0), dst, src if x else 0, delta,
                          0 if x else imm))
    return slots


PRINTF_FORMAT = b"%x %d\n\0"


@st.composite
def programs(draw, profile: str, *, back_jumps: bool = True, helpers: bool = True,
             local_calls: bool = True, max_items: int = 24):
    """(program, ctx, host regions). Jumps land on item boundaries (never inside LDDW)."""
    hosts: list[HostRegion] = []
    for _ in range(draw(st.integers(0, 2))):
        size = draw(st.sampled_from([0, 1, 4, 16, 40]))
        hosts.append(HostRegion(draw(st.binary(min_size=size, max_size=size)),
                                draw(st.sampled_from([PERM_READ, PERM_RW]))))
    ctx_len = draw(st.sampled_from([0, 3, 8, 16, 24, 40]))
    ctx = bytearray(draw(st.binary(min_size=ctx_len, max_size=ctx_len)))
    host_ptr = None
    if hosts and ctx_len >= 8:  # ctx[0:8] = a pointer into a host region (maybe past it)
        which = draw(st.integers(0, len(hosts) - 1))
        host_ptr = HOST_BASE + which * HOST_STRIDE + draw(st.integers(-8, 8))
        ctx[0:8] = host_ptr.to_bytes(8, "little")
        host_len = len(hosts[which].data)
    inputs = [draw(value64) for _ in range(6)]
    data = b"".join(v.to_bytes(8, "little") for v in inputs) + draw(st.binary(max_size=24))
    rodata = PRINTF_FORMAT + draw(st.binary(max_size=24))
    items: list = []
    for r in range(6):  # r0-r5: values the translator cannot know
        source = draw(st.integers(0, 4))
        if source == 0:
            items.append(lddw(isa.OP_LDDW, r, draw(value64)))
        else:
            size = draw(st.sampled_from([isa.SIZE_DW, isa.SIZE_DW, isa.SIZE_W, isa.SIZE_B]))
            items.append(lddw(isa.OP_LDDWD, 7, 0))
            items.append([Insn(isa.CLS_LDX | isa.MODE_MEM | size, r, 7, 8 * r)])
    data_off = draw(st.integers(0, 8))
    rodata_off = draw(st.integers(0, 8))
    items.append(lddw(isa.OP_LDDWD, 6, data_off))
    items.append(lddw(isa.OP_LDDWR, 7, rodata_off))
    items.append([alu(isa.ALU_MOV, 8, src=10)])
    bases = [(10, -512, 0), (8, -512, 0), (6, -data_off, len(data) - data_off),
             (7, -rodata_off, len(rodata) - rodata_off)]
    if host_ptr is not None:
        items.append([Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, 9, 1, 0)])
        delta = host_ptr - HOST_BASE - which * HOST_STRIDE
        bases.append((9, -delta, host_len - delta))
    else:
        items.append([alu(isa.ALU_MOV, 9, src=1)])
        bases.append((9, 0, ctx_len))
    bases.append((1, 0, ctx_len))
    layout = Layout(bases)
    first_body = len(items)
    has_local = False
    for _ in range(draw(st.integers(1, max_items))):
        choice = draw(st.integers(0, 21))
        if choice < 6:
            items.append(draw(alu_insn(profile)))
        elif choice < 8:
            items.append(draw(alu_chain(profile)))
        elif choice < 10:
            items.append(draw(unary_insn()))
        elif choice < 15:
            items.append(draw(memory_insn(layout)))
        elif choice < 16:
            items.append(draw(pointer_insn()))
        elif choice < 18:
            items.append(jump_item(draw))
        elif choice < 19 and helpers:
            items.append(draw(helper_call(profile, layout)))
        elif choice < 20 and back_jumps:
            items.append(draw(counted_loop(profile, layout)))
        elif choice < 21 and local_calls:
            items.append(("local",))
            has_local = True
        else:
            items.append(draw(alu_insn(profile)))
    epilogue = len(items)
    for r in range(10):
        items.append([Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_DW, 10, r, -8 * (r + 1))])
    items.append([Insn(isa.OP_EXIT)])
    sub_start = len(items)
    if has_local:
        for _ in range(draw(st.integers(0, 3))):
            items.append(draw(alu_insn(profile)))
        if draw(st.integers(0, 4)) == 0:
            items.append(("local",))  # recursion: runs into the 8-frame limit
        items.append([alu(isa.ALU_MOV, 6, imm=draw(imm32))])  # r6 is restored by the return
        items.append([Insn(isa.OP_EXIT)])
    slots = resolve_items(draw, items, first_body=first_body, epilogue=epilogue,
                          sub_start=sub_start, back_jumps=back_jumps)
    return Program(slots, data=data, rodata=rodata), bytes(ctx), hosts


@st.composite
def alu_chain_programs(draw, profile: str):
    """Straight-line arithmetic on four values the translator cannot know (from .data),
    both widths, ending by storing r0-r9 to the stack."""
    values = [draw(st.integers(0, M64)) for _ in range(4)]
    raw = b"".join(v.to_bytes(8, "little") for v in values)
    slots = lddw(isa.OP_LDDWD, 9, 0)
    for r in range(4):
        slots.append(Insn(isa.CLS_LDX | isa.MODE_MEM | isa.SIZE_DW, r, 9, 8 * r))
    for _ in range(draw(st.integers(1, 4))):
        slots += draw(alu_chain(profile))
    for r in range(10):
        slots.append(Insn(isa.CLS_STX | isa.MODE_MEM | isa.SIZE_DW, 10, r, -8 * (r + 1)))
    slots.append(Insn(isa.OP_EXIT))
    return Program(slots, data=raw)
