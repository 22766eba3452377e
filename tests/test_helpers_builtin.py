"""The built-in helpers (femtojit/builtin_helpers.py): printf formatting, checked memcpy,
the key-value stores, the clocks, and the registry per profile. Programs run through
femtojit.run (verified first) on the interpreter."""

from __future__ import annotations

import io

import pytest

import femtojit
from femtojit import memmap
from femtojit.asm import assemble_program
from femtojit.builtin_helpers import builtin_registry, format_printf
from femtojit.helpers import BUILTIN_HELPER_NAMES, HelperFault, Runtime
from femtojit.status import Status

M32 = (1 << 32) - 1
M64 = (1 << 64) - 1


class FlatMemory:
    """One readable region at BASE, for printf's %s."""

    BASE = 0x1000

    def __init__(self, data: bytes):
        self.data = data

    def read(self, addr: int, size: int) -> bytes:
        if not (addr >= self.BASE and addr + size <= self.BASE + len(self.data)):
            raise HelperFault(Status.ILLEGAL_MEM)
        return self.data[addr - self.BASE : addr - self.BASE + size]

    def write(self, addr: int, data: bytes) -> None:
        raise HelperFault(Status.ILLEGAL_MEM)

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        out = b""
        while len(out) < limit and (byte := self.read(addr + len(out), 1)) != b"\0":
            out += byte
        return out


PRINTF_CASES = [
    (b"plain", [], b"plain"),
    (b"%d|%i|%u", [-5 & M64, 7, -1 & M64], b"-5|7|4294967295"),
    (b"%d", [0x1_0000_0005], b"5"),  # int is 32 bits: the upper half is ignored
    (b"%ld %lu %lx", [-2 & M64, -2 & M64, 0xABC], b"-2 4294967294 abc"),
    (b"%lld %llu %llx", [-2 & M64, -2 & M64, 0x1_0000_0000], b"-2 18446744073709551614 100000000"),
    (b"%hd %hu %hhd %hhx", [0x18000, 0x18000, 0xFF, 0x1AB], b"-32768 32768 -1 ab"),
    (b"%x %X %o %#x %#X %#o %#x", [255, 255, 8, 255, 255, 8, 0], b"ff FF 10 0xff 0XFF 010 0"),
    (b"[%5d][%-5d][%05d][%+d][% d][%+d]", [42, 42, -42, 42, 42, -3 & M64],
     b"[   42][42   ][-0042][+42][ 42][-3]"),
    (b"[%.3d][%8.3x][%.0d][%-#8x]", [7, 10, 0, 10], b"[007][     00a][][0xa     ]"),
    (b"[%*d][%-*d][%.*d]", [4, 1, 3, 2, 2, 5], b"[   1][2  ][05]"),
    (b"[%*d]", [-3 & M64, 9], b"[9  ]"),
    (b"%c%c%c [%3c][%-3c]", [ord("a"), 0x162, ord("c"), ord("x"), ord("y")], b"abc [  x][y  ]"),
    (b"%s|%.2s|%6s|%-6s|", [0x1000, 0x1000, 0x1000, 0x1004], b"abc|ab|   abc|de    |"),
    (b"%p %p [%12p]", [0x20000200, 0, 0x1_0000_00FF], b"0x20000200 0x0 [        0xff]"),
    (b"100%% %q %", [1], b"100% %q %"),
    (b"%d %d %d %d %d", [1, 2, 3, 4], b"1 2 3 4 0"),  # missing arguments read as 0
]


@pytest.mark.parametrize(
    "fmt,args,expected", PRINTF_CASES, ids=[c[0].decode() for c in PRINTF_CASES]
)
def test_printf_formatting(fmt, args, expected):
    assert format_printf(fmt, args, FlatMemory(b"abc\0de\0")) == expected


def test_printf_string_outside_memory_faults():
    with pytest.raises(HelperFault) as fault:
        format_printf(b"%s", [0x2000], FlatMemory(b"abc\0"))
    assert fault.value.status == Status.ILLEGAL_MEM
    with pytest.raises(HelperFault):  # runs off the end without a NUL
        format_printf(b"%s", [0x1000], FlatMemory(b"abc"))
    # a precision stops reading before the end, like C
    assert format_printf(b"%.3s", [0x1000], FlatMemory(b"abc")) == b"abc"


def _run(text: str, profile: str = "femto", **kwargs):
    return femtojit.run(assemble_program(text), profile=profile, **kwargs)


@pytest.mark.parametrize("profile", ["femto", "rfc"])
def test_printf_in_a_program(profile):
    out = io.StringIO()
    result = _run(
        '.rodata\nfmt: .asciz "%s=%d (%#x)\\n"\nname: .asciz "answer"\n.text\n'
        "lddwr %r1, fmt\nlddwr %r2, name\nmov %r3, 42\nmov %r4, 42\ncall 1\nexit",
        profile,
        runtime=Runtime(printf_stream=out),
    )
    assert out.getvalue() == "answer=42 (0x2a)\n"
    assert (result.status, result.result) == (0, len("answer=42 (0x2a)\n"))


def test_printf_with_a_bad_format_pointer_faults():
    runtime = Runtime(printf_stream=io.StringIO())
    result = _run("mov %r0, 3\nmov %r1, 16\ncall 1\nexit", runtime=runtime)
    assert (result.status, result.result) == (Status.ILLEGAL_MEM, 3)


MEMCPY = """
    mov %r0, 1
    lddw %r1, {dst:#x}
    lddw %r2, {src:#x}
    mov %r3, {n}
    call 2
    exit
"""


def test_memcpy_copies_between_regions_and_returns_dst():
    text = MEMCPY.format(dst=memmap.STACK_TOP - 8, src=memmap.CTX_BASE + 1, n=5)
    result = _run(text, ctx=b"0123456789")
    assert (result.status, result.result) == (0, memmap.STACK_TOP - 8)
    assert result.memory["stack"][-8:] == b"12345\0\0\0"
    # overlapping ranges inside one region behave like memmove
    text = MEMCPY.format(dst=memmap.CTX_BASE + 2, src=memmap.CTX_BASE, n=6)
    assert _run(text, ctx=b"0123456789").memory["ctx"] == b"0101234589"
    # zero bytes: nothing is checked or copied
    text = MEMCPY.format(dst=0, src=0, n=0)
    assert _run(text).status == 0


@pytest.mark.parametrize(
    "dst,src,n",
    [
        (memmap.STACK_TOP - 4, memmap.CTX_BASE, 5),  # destination runs past the stack
        (memmap.STACK_TOP - 8, memmap.CTX_BASE + 8, 4),  # source runs past ctx
        (memmap.RODATA_BASE, memmap.CTX_BASE, 1),  # read-only destination
        (memmap.STACK_TOP - 8, 0x1000, 1),  # source outside every region
    ],
)
def test_memcpy_is_checked_and_writes_nothing_on_a_fault(dst, src, n):
    result = _run(MEMCPY.format(dst=dst, src=src, n=n), ctx=b"0123456789")
    assert (result.status, result.result) == (Status.ILLEGAL_MEM, 1)
    assert result.memory["stack"] == bytes(512)
    assert result.memory["ctx"] == b"0123456789"


def test_stores_and_fetches():
    runtime = Runtime(global_store={9: 0xDEAD})
    text = """
        mov %r1, 5
        lddw %r2, 0x1000000aa
        call 0x10            # store_local(5, 0xaa): the value is 32 bits
        mov %r1, 6
        mov %r2, 0xbb
        call 0x11            # store_global(6, 0xbb)
        mov %r1, 5
        mov %r2, %r10
        sub %r2, 4
        call 0x12            # fetch_local(5) -> 0xaa
        mov %r1, 9
        mov %r2, %r10
        sub %r2, 8
        call 0x13            # fetch_global(9) -> 0xdead
        mov %r1, 77
        mov %r2, %r10
        sub %r2, 12
        call 0x12            # missing key -> 0
        exit
    """
    result = _run(text, runtime=runtime, ctx=b"")
    assert (result.status, result.result) == (0, 0)
    assert runtime.local_store == {5: 0xAA}
    assert runtime.global_store == {9: 0xDEAD, 6: 0xBB}
    stack = result.memory["stack"]
    assert stack[-4:] == (0xAA).to_bytes(4, "little")
    assert stack[-8:-4] == (0xDEAD).to_bytes(4, "little")
    assert stack[-12:-8] == bytes(4)


@pytest.mark.parametrize("helper", ["0x12", "0x13"])
def test_fetch_through_a_bad_pointer_faults(helper):
    result = _run(f"mov %r0, 2\nmov %r1, 1\nmov %r2, %r10\nsub %r2, 3\ncall {helper}\nexit")
    assert (result.status, result.result) == (Status.ILLEGAL_MEM, 2)


def test_clocks_come_from_the_runtime():
    runtime = Runtime(clock_ms=lambda: 0x1_0000_0123, clock_us=lambda: 456789)
    assert _run("call 0x20\nexit", runtime=runtime).result == 0x123
    assert _run("call 0x60\nexit", runtime=runtime).result == 456789


def test_registry_per_profile():
    femto = builtin_registry("femto")
    rfc = builtin_registry("rfc")
    assert femto.ids() == sorted(BUILTIN_HELPER_NAMES)
    assert rfc.ids() == sorted([*BUILTIN_HELPER_NAMES, 5])
    assert all(helper.doc for helper in rfc)
    assert femto[0x02].name == "memcpy" and rfc[5].name == "unwind"
    # unwind returns r1, all 64 bits in rfc; femto does not know it (the verifier says so)
    assert _run("mov %r1, -1\ncall 5\nexit", "rfc").result == M64
    with pytest.raises(femtojit.VerifyError):
        _run("mov %r1, -1\ncall 5\nexit", "femto")
    # registries are independent objects (nothing registered globally)
    femto.register(0x99, "extra", lambda call: 0)
    assert 0x99 not in builtin_registry("femto")
