"""The benchmark programs: source, input, expected result, budget, and a Python model.

Each program is one C file in bench/programs/ with one entry function `uint64_t name(void *)`.
Its spec here gives the ctx bytes (and host regions) it runs on, the taken-branch budget of its
femto-profile runs (explicit and generous, so the budget checks stay compiled in), and the
expected 64-bit result twice: as a constant, and as a Python model of the program that
computes it from the input (`model`), so a wrong constant and a wrong C program both show.
The model also gives ctx as the program leaves it, which every engine must reproduce.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from femtojit.memmap import HOST_BASE, PERM_READ, HostRegion

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
M64 = (1 << 64) - 1
M32 = (1 << 32) - 1

#: The Femto-Container paper's Fletcher32 input: 360 characters, 180 16-bit words.
FLETCHER_TEXT = (
    b"AD3Awn4kb6FtcsyE0RU25U7f55Yncn3LP3oEx9Gl4qr7iDW7I8L6Pbw9jNnh0sE4DmCKucd1J8I34vn31W924y5GMS74"
    b"vUrZQc08805aj4Tf66HgL1cO94os10V2s2GDQ825yNh9Yuq3QHcA60xl31rdA7WskVtCXI7ruH1A4qaR6Uk454hm401l"
    b"Lmv2cGWt5KTJmr93d3JsGaRRPs4HqYi4mFGowo8fWv48IcA3N89Z99nf0A0H2R6P0uI4Tir682Of3Rk78DUB2dIGQRRpd"
    b"qVTtLhgfET2gUGU65V3edSwADMqRttI9JPVz8JS37g5QZj4Ax56rU1u0m0K8YUs57UYG5645nbyNy4yqxu7"
)
FLETCHER_PAPER_RESULT = 0x5BAC8C3D


@dataclass(frozen=True)
class BenchProgram:
    """One benchmark program and the input it runs on."""

    name: str
    summary: str
    ctx: bytes
    expected: int
    budget: int
    model: Callable[[bytes, tuple[HostRegion, ...]], tuple[int, bytes]]
    host: tuple[HostRegion, ...] = ()
    helpers: tuple[int, ...] = ()  # helper ids the program calls
    entry: str = ""  # entry function; the program's name unless given
    source_file: Path | None = None  # bench/programs/<name>.c unless given
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def entry_name(self) -> str:
        return self.entry or self.name

    @property
    def source(self) -> Path:
        return self.source_file or PROGRAMS_DIR / f"{self.name}.c"


def _rng(seed: int) -> random.Random:
    return random.Random(seed)


# ---- models ---------------------------------------------------------------------------------


def _fletcher32_model(ctx: bytes, host: tuple[HostRegion, ...]) -> tuple[int, bytes]:
    address, words = struct.unpack_from("<QI", ctx)
    region = host[(address - HOST_BASE) // 0x10_0000]
    data = struct.unpack_from(f"<{words}H", region.data, address % 0x10_0000)
    sum1 = sum2 = 0xFFFF
    index = 0
    while words:
        tlen = min(words, 359)
        words -= tlen
        for _ in range(tlen):
            sum1 = (sum1 + data[index]) & M32
            sum2 = (sum2 + sum1) & M32
            index += 1
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
    sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    return (sum2 << 16 | sum1) & M32, ctx


def _incr_model(ctx: bytes, host) -> tuple[int, bytes]:
    value = (struct.unpack_from("<Q", ctx)[0] + 1) & M64
    return value, struct.pack("<Q", value) + ctx[8:]


def _square_model(ctx: bytes, host) -> tuple[int, bytes]:
    x = struct.unpack_from("<Q", ctx)[0]
    return x * x & M64, ctx


def _fib_model(ctx: bytes, host) -> tuple[int, bytes]:
    n = struct.unpack_from("<I", ctx)[0]
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) & M64
    return a, ctx


def _bitswap_model(ctx: bytes, host) -> tuple[int, bytes]:
    n = min(struct.unpack_from("<I", ctx)[0], 16)
    words = struct.unpack_from("<16I", ctx, 4)
    acc = 0
    for v in words[:n]:
        r = int(f"{v:032b}"[::-1], 2)
        acc = ((acc << 7 | acc >> 57) & M64) ^ r
    return acc, ctx


def _memcpy_model(ctx: bytes, host) -> tuple[int, bytes]:
    length = min(struct.unpack_from("<I", ctx)[0], 256)
    src = ctx[8:264]
    dst = bytearray(ctx[264:520])
    dst[:length] = src[:length]
    total = 0
    for byte in dst[:length]:
        total = (total * 31 + byte) & M32
    return length << 32 | total, ctx[:264] + bytes(dst)


def _bubble_sort_model(ctx: bytes, host) -> tuple[int, bytes]:
    n = min(struct.unpack_from("<I", ctx)[0], 48)
    values = list(struct.unpack_from("<48I", ctx, 4))
    values[:n] = sorted(values[:n])
    total = sum((i + 1) * v for i, v in enumerate(values[:n])) & M64
    return total, ctx[:4] + struct.pack("<48I", *values) + ctx[4 + 192 :]


def _insertion_sort_model(ctx: bytes, host) -> tuple[int, bytes]:
    n = min(struct.unpack_from("<I", ctx)[0], 64)
    values = list(struct.unpack_from("<64i", ctx, 4))
    values[:n] = sorted(values[:n])
    total = sum((i + 1) * v for i, v in enumerate(values[:n])) & M64
    return total, ctx[:4] + struct.pack("<64i", *values) + ctx[4 + 256 :]


def _crc32_model(ctx: bytes, host) -> tuple[int, bytes]:
    length = min(struct.unpack_from("<I", ctx)[0], 252)
    return zlib.crc32(ctx[4 : 4 + length]) & M32, ctx


def _fnv1a_model(ctx: bytes, host) -> tuple[int, bytes]:
    length = min(struct.unpack_from("<I", ctx)[0], 188)
    value = 0xCBF29CE484222325
    for byte in ctx[4 : 4 + length]:
        value = ((value ^ byte) * 0x100000001B3) & M64
    return value, ctx


def _sensor_filter_model(ctx: bytes, host) -> tuple[int, bytes]:
    n, state = struct.unpack_from("<Ii", ctx)
    n = min(n, 96)
    samples = struct.unpack_from("<96h", ctx, 8)
    out = list(struct.unpack_from("<96h", ctx, 8 + 192))
    window = [0] * 8
    wsum, y, energy = 0, state, 0
    for i in range(n):
        x = samples[i]
        wsum += x - window[i & 7]
        window[i & 7] = x
        avg = wsum >> 3
        y += ((avg - y) * 6554) >> 15
        out[i] = (y + 0x8000) % 0x10000 - 0x8000
        energy += y * y
    result = (energy & M64) ^ (((y & M32) << 48) & M64)
    after = struct.pack("<Ii", struct.unpack_from("<I", ctx)[0], y)
    return result, after + ctx[8 : 8 + 192] + struct.pack("<96h", *out) + ctx[8 + 384 :]


def _arith64_model(ctx: bytes, host) -> tuple[int, bytes]:
    n = min(struct.unpack_from("<I", ctx)[0], 16)
    acc = 0x0123456789ABCDEF
    for i in range(n):
        a, b = struct.unpack_from("<QQ", ctx, 8 + 16 * i)
        b |= 1
        q, r = divmod(a, b)
        acc = (acc * 6364136223846793005 + q) & M64
        acc ^= (r << (a & 31)) & M64
        acc = (acc + (acc >> (b & 15))) & M64
        acc = (acc - (((q * b) & M64) >> 3)) & M64
    return acc, ctx


STREAM_OPS = {
    "END": 0,
    "PUSH8": 1,
    "PUSH16": 2,
    "ADD": 3,
    "SUB": 4,
    "MUL": 5,
    "XOR": 6,
    "DUP": 7,
    "SWAP": 8,
    "DROP": 9,
    "SHL": 10,
    "EMIT": 11,
}


def _stream_parser_model(ctx: bytes, host) -> tuple[int, bytes]:
    length = min(struct.unpack_from("<I", ctx)[0], 252)
    code = ctx[4 : 4 + length]
    stack = [0] * 16
    sp = pc = emitted = out = 0
    ops = STREAM_OPS
    while pc < length:
        op = code[pc]
        pc += 1
        top, below = stack[(sp - 1) & 15], stack[(sp - 2) & 15]
        if op == ops["END"]:
            pc = length
        elif op == ops["PUSH8"]:
            stack[sp & 15] = code[pc] if pc < length else 0
            sp = (sp + 1) & M32
            pc += 1
        elif op == ops["PUSH16"]:
            stack[sp & 15] = code[pc] | code[pc + 1] << 8 if pc + 1 < length else 0
            sp = (sp + 1) & M32
            pc += 2
        elif op in (ops["ADD"], ops["SUB"], ops["MUL"], ops["XOR"]):
            value = {
                ops["ADD"]: below + top,
                ops["SUB"]: below - top,
                ops["MUL"]: below * top,
                ops["XOR"]: below ^ top,
            }[op]
            stack[(sp - 2) & 15] = value & M32
            sp = (sp - 1) & M32
        elif op == ops["DUP"]:
            stack[sp & 15] = top
            sp = (sp + 1) & M32
        elif op == ops["SWAP"]:
            stack[(sp - 1) & 15], stack[(sp - 2) & 15] = below, top
        elif op == ops["DROP"]:
            sp = (sp - 1) & M32
        elif op == ops["SHL"]:
            stack[(sp - 1) & 15] = top << 3 & M32
        elif op == ops["EMIT"]:
            out = ((out << 5 | out >> 59) & M64) ^ top
            emitted += 1
        else:
            return 0xBAD0000000000000 | pc, ctx
    return out ^ (emitted << 56 & M64), ctx


def _sockbuf_model(ctx: bytes, host) -> tuple[int, bytes]:
    length = min(struct.unpack_from("<I", ctx)[0], 124)
    frame = ctx[4 : 4 + length]
    bad = 1 << 63
    if length < 42:
        return bad | 1, ctx
    if frame[12:14] != b"\x08\x00":
        return bad | 2, ctx
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if ip[0] >> 4 != 4 or ihl < 20 or 14 + ihl + 8 > length:
        return bad | 3, ctx
    total = sum(struct.unpack_from(f">{ihl // 2}H", ip))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    if total != 0xFFFF:
        return bad | 4, ctx
    if ip[9] != 17:
        return bad | 5, ctx
    total_len = struct.unpack_from(">H", ip, 2)[0]
    sport, dport, ulen = struct.unpack_from(">HHH", ip, ihl)
    if 14 + total_len > length or ulen < 8 or ihl + ulen > total_len:
        return bad | 6, ctx
    payload = 0
    for byte in ip[ihl + 8 : ihl + ulen]:
        payload = ((payload << 1 | payload >> 15) + byte) & M32
    return sport << 48 | dport << 32 | (ulen - 8) << 16 | (payload & 0xFFFF), ctx


def _kvstore_model(ctx: bytes, host) -> tuple[int, bytes]:
    n = min(struct.unpack_from("<I", ctx)[0], 32)
    readings = struct.unpack_from("<32H", ctx, 4)
    counts = [0] * 8
    for reading in readings[:n]:
        counts[reading >> 13] += 1
    summary = 0
    for count in counts:
        summary = (summary << 6 | (count & 63)) & M64
    return summary, ctx


# ---- inputs ---------------------------------------------------------------------------------


def _fletcher32_input() -> tuple[bytes, tuple[HostRegion, ...]]:
    ctx = struct.pack("<QII", HOST_BASE, len(FLETCHER_TEXT) // 2, 0)
    return ctx, (HostRegion(FLETCHER_TEXT, PERM_READ, "fletcher_data"),)


def _words_ctx(seed: int, count: int, fmt: str, lo: int, hi: int) -> bytes:
    rng = _rng(seed)
    values = [rng.randint(lo, hi) for _ in range(count)]
    return struct.pack(f"<I{count}{fmt}", count, *values)


def _udp_frame() -> bytes:
    payload = bytes((i * 37 + 11) & 0xFF for i in range(40))
    udp = struct.pack(">HHHH", 5683, 5684, 8 + len(payload), 0) + payload
    header = bytearray(
        struct.pack(
            ">BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(udp),
            0x1C46,
            0x4000,
            64,
            17,
            0,
            bytes([10, 0, 0, 1]),
            bytes([10, 0, 0, 2]),
        )
    )
    total = sum(struct.unpack(">10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    header[10:12] = struct.pack(">H", ~total & 0xFFFF)
    ethernet = bytes.fromhex("02000000000102000000000208 00".replace(" ", ""))
    return ethernet + bytes(header) + udp


def _stream_code() -> bytes:
    rng = _rng(7)
    ops = STREAM_OPS
    code = bytearray()
    depth = 0
    while len(code) < 240:
        if depth < 2:
            choice = rng.choice(["PUSH8", "PUSH16"])
        else:
            choice = rng.choice(
                [
                    "PUSH8",
                    "PUSH16",
                    "ADD",
                    "SUB",
                    "MUL",
                    "XOR",
                    "DUP",
                    "SWAP",
                    "DROP",
                    "SHL",
                    "EMIT",
                    "EMIT",
                ]
            )
        code.append(ops[choice])
        if choice == "PUSH8":
            code.append(rng.randrange(256))
            depth += 1
        elif choice == "PUSH16":
            code += struct.pack("<H", rng.randrange(65536))
            depth += 1
        elif choice in ("ADD", "SUB", "MUL", "XOR", "DROP"):
            depth -= 1
        elif choice == "DUP":
            depth += 1
    code.append(ops["END"])
    return bytes(code)


def _sensor_ctx() -> bytes:
    rng = _rng(5)
    samples = []
    level = 0
    for i in range(96):
        level += rng.randint(-600, 600)
        level = max(-12000, min(12000, level))
        samples.append(level + (3000 if i % 12 < 6 else -3000) + rng.randint(-400, 400))
    return struct.pack("<Ii96h96h", 96, 0, *samples, *([0] * 96))


def _build() -> list[BenchProgram]:
    fletcher_ctx, fletcher_host = _fletcher32_input()
    rng = _rng(11)
    memcpy_src = bytes(rng.randrange(256) for _ in range(256))
    frame = _udp_frame()
    stream = _stream_code()
    kv_rng = _rng(13)
    readings = [kv_rng.randrange(65536) for _ in range(32)]
    arith_rng = _rng(17)
    pairs = []
    for _ in range(16):
        pairs += [arith_rng.getrandbits(64), arith_rng.getrandbits(arith_rng.choice([8, 24, 40]))]
    crc_rng = _rng(19)
    fnv_rng = _rng(23)
    specs = [
        BenchProgram(
            "fletcher32",
            "Fletcher32 over the paper's 360-byte vector (read-only host region)",
            ctx=fletcher_ctx,
            host=fletcher_host,
            expected=FLETCHER_PAPER_RESULT,
            budget=1_000,
            model=_fletcher32_model,
            tags=("paper",),
        ),
        BenchProgram(
            "incr",
            "increment a 64-bit counter in ctx",
            ctx=struct.pack("<Q", 41),
            expected=42,
            budget=10,
            model=_incr_model,
            tags=("certrbpf",),
        ),
        BenchProgram(
            "square",
            "square a 64-bit value",
            ctx=struct.pack("<Q", 0x123456789ABCDEF1),
            expected=0xCA4AB582281EDEE1,
            budget=10,
            model=_square_model,
            tags=("certrbpf",),
        ),
        BenchProgram(
            "fib",
            "90th Fibonacci number, 64-bit",
            ctx=struct.pack("<I", 90),
            expected=2880067194370816120,
            budget=1_000,
            model=_fib_model,
            tags=("certrbpf",),
        ),
        BenchProgram(
            "bitswap",
            "bit reversal of 16 words, one bit at a time",
            ctx=_words_ctx(3, 16, "I", 0, M32),
            expected=0xB128F9C0449F31B7,
            budget=5_000,
            model=_bitswap_model,
            tags=("certrbpf",),
        ),
        BenchProgram(
            "memcpy",
            "byte copy of 256 bytes inside ctx, then a checksum",
            ctx=struct.pack("<II", 256, 0) + memcpy_src + bytes(256),
            expected=0x10009CEADAF,
            budget=2_000,
            model=_memcpy_model,
            entry="memcpy_bench",
            tags=("certrbpf",),
        ),
        BenchProgram(
            "bubble_sort",
            "bubble sort of 48 words in place",
            ctx=_words_ctx(29, 48, "I", 0, M32),
            expected=0x3163A1F36FE,
            budget=10_000,
            model=_bubble_sort_model,
            tags=("certrbpf",),
        ),
        BenchProgram(
            "sockbuf",
            "Ethernet/IPv4/UDP frame validation and summary",
            ctx=struct.pack("<I", len(frame)) + frame.ljust(124, b"\0"),
            expected=0x163316340028DFED,
            budget=1_000,
            model=_sockbuf_model,
            tags=("certrbpf",),
        ),
        BenchProgram(
            "crc32",
            "bitwise CRC-32 of 252 bytes",
            ctx=struct.pack("<I", 252) + bytes(crc_rng.randrange(256) for _ in range(252)),
            expected=0xBBEAF0C9,
            budget=5_000,
            model=_crc32_model,
        ),
        BenchProgram(
            "fnv1a",
            "FNV-1a 64-bit hash of 188 bytes",
            ctx=struct.pack("<I", 188) + bytes(fnv_rng.randrange(256) for _ in range(188)),
            expected=0xF5BE0ADFFCBC7B01,
            budget=1_000,
            model=_fnv1a_model,
        ),
        BenchProgram(
            "insertion_sort",
            "insertion sort of 64 signed words in place",
            ctx=_words_ctx(31, 64, "i", -(1 << 31), (1 << 31) - 1),
            expected=0x12256748B53,
            budget=10_000,
            model=_insertion_sort_model,
        ),
        BenchProgram(
            "sensor_filter",
            "moving average + Q15 IIR over 96 int16 samples",
            ctx=_sensor_ctx(),
            expected=0xF72C000012A1222C,
            budget=1_000,
            model=_sensor_filter_model,
        ),
        BenchProgram(
            "arith64",
            "64-bit multiply, unsigned divide/modulo, shifts (16 pairs)",
            ctx=struct.pack("<II32Q", 16, 0, *pairs),
            expected=0x838F73A01E824330,
            budget=1_000,
            model=_arith64_model,
        ),
        BenchProgram(
            "stream_parser",
            "stack-machine command stream parsed with a switch",
            ctx=struct.pack("<I", len(stream)) + stream.ljust(252, b"\0"),
            expected=0xE303542CE6038EF0,
            budget=1_000,
            model=_stream_parser_model,
        ),
        BenchProgram(
            "kvstore",
            "histogram in the host key-value store (helpers 0x11, 0x13)",
            ctx=struct.pack("<I32H", 32, *readings),
            expected=0x831C4184102,
            budget=1_000,
            model=_kvstore_model,
            helpers=(0x11, 0x13),
        ),
    ]
    return specs


PROGRAMS: list[BenchProgram] = _build()
BY_NAME: dict[str, BenchProgram] = {p.name: p for p in PROGRAMS}


def program(name: str) -> BenchProgram:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(BY_NAME)
        raise KeyError(f"no benchmark program {name!r} (have: {known})") from None
