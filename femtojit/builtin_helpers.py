"""Femto-Container's host-independent helpers, written against femtojit's helper interface.

Ids and arguments follow Femto-Container (RIOT `sys/femto-container`, `shared.h`); the
differences are deliberate and documented in docs/interpreter.md: every pointer a helper
follows is checked against the container's regions (upstream memcpy trusts its arguments,
and the fetch helpers return -1 instead of stopping), and a bad pointer stops the run with
ILLEGAL_MEM. The same registry serves the interpreter and every emulated backend.
"""

from __future__ import annotations

import sys

from femtojit.helpers import (
    BUILTIN_HELPER_NAMES,
    CONFORMANCE_HELPER_NAMES,
    Helper,
    HelperCall,
    HelperRegistry,
    MemoryAccess,
)
from femtojit.profile import RFC, check_profile

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

#: printf reads at most this many bytes of a %s argument (a guard against a runaway string).
PRINTF_STRING_LIMIT = 4096


# ---------------------------------------------------------------------------------------------
# printf


def _format_integer(value: int, conversion: str, flags: str, width: int, precision: int | None):
    """One integer conversion the way C's printf does it (value already cut to its width)."""
    negative = value < 0
    magnitude = -value if negative else value
    if conversion in "di":
        digits = str(magnitude)
    elif conversion == "o":
        digits = format(magnitude, "o")
    elif conversion == "x":
        digits = format(magnitude, "x")
    elif conversion == "X":
        digits = format(magnitude, "X")
    else:  # "u"
        digits = str(magnitude)
    if precision is not None:
        digits = "" if precision == 0 and magnitude == 0 else digits.rjust(precision, "0")
    prefix = ""
    if conversion in "di":
        prefix = "-" if negative else "+" if "+" in flags else " " if " " in flags else ""
    elif "#" in flags:
        if conversion == "o" and not digits.startswith("0"):
            digits = "0" + digits
        elif conversion in "xX" and magnitude != 0:
            prefix = "0" + conversion
    body_width = width - len(prefix)
    if "-" in flags:
        return (prefix + digits).ljust(width)
    if "0" in flags and precision is None:
        return prefix + digits.rjust(body_width, "0")
    return (prefix + digits).rjust(width)


def _integer_argument(raw: int, conversion: str, length: str) -> int:
    """Cut a register to the C type the length modifier names (int is 32 bits here)."""
    bits = {"hh": 8, "h": 16, "ll": 64}.get(length, 32)
    value = raw & ((1 << bits) - 1)
    if conversion in "di" and value >> (bits - 1):
        value -= 1 << bits
    return value


def format_printf(fmt: bytes, args: list[int], mem: MemoryAccess) -> bytes:
    """Expand a printf format with up to four register arguments, C style.

    Conversions: d i u o x X c s p %, flags - + space # 0, width and precision (digits or
    *), length modifiers hh h l ll (int and long are 32 bits as on the microcontroller;
    ll takes the whole 64-bit register). Each conversion (and each *) takes the next
    argument; missing arguments read as 0. %s reads through checked memory, so a string
    outside the regions stops the run with ILLEGAL_MEM. Unknown conversions are copied.
    """
    arguments = iter(args)
    out = bytearray()
    text = fmt.decode("latin-1")
    i = 0
    n = len(text)

    def next_argument() -> int:
        return next(arguments, 0)

    while i < n:
        ch = text[i]
        if ch != "%":
            out += ch.encode("latin-1")
            i += 1
            continue
        start = i
        i += 1
        flags = ""
        while i < n and text[i] in "-+ #0":
            flags += text[i]
            i += 1
        width = 0
        if i < n and text[i] == "*":
            width = _integer_argument(next_argument(), "d", "")
            if width < 0:
                flags += "-"
                width = -width
            i += 1
        else:
            while i < n and text[i].isdigit():
                width = width * 10 + int(text[i])
                i += 1
        precision: int | None = None
        if i < n and text[i] == ".":
            i += 1
            precision = 0
            if i < n and text[i] == "*":
                precision = _integer_argument(next_argument(), "d", "")
                if precision < 0:
                    precision = None
                i += 1
            else:
                while i < n and text[i].isdigit():
                    precision = precision * 10 + int(text[i])
                    i += 1
        length = ""
        for modifier in ("hh", "h", "ll", "l", "z", "j", "t"):
            if text.startswith(modifier, i):
                length = modifier
                i += len(modifier)
                break
        if length == "j":
            length = "ll"  # intmax_t is 64 bits; size_t and ptrdiff_t are 32 (like l)
        if i >= n:
            out += text[start:].encode("latin-1")
            break
        conversion = text[i]
        i += 1
        if conversion == "%":
            out += b"%"
        elif conversion in "diuoxX":
            value = _integer_argument(next_argument(), conversion, length)
            out += _format_integer(value, conversion, flags, width, precision).encode("latin-1")
        elif conversion == "p":  # newlib style: always 0x, even for NULL
            pointer = f"0x{next_argument() & M32:x}"
            padded = pointer.ljust(width) if "-" in flags else pointer.rjust(width)
            out += padded.encode("latin-1")
        elif conversion == "c":
            char = bytes([next_argument() & 0xFF])
            pad = b" " * max(0, width - 1)
            out += char + pad if "-" in flags else pad + char
        elif conversion == "s":
            address = next_argument() & M32
            if precision is None:
                string = mem.read_cstring(address, PRINTF_STRING_LIMIT)
            else:
                string = _read_bounded_string(mem, address, min(precision, PRINTF_STRING_LIMIT))
            pad = b" " * max(0, width - len(string))
            out += string + pad if "-" in flags else pad + string
        else:
            out += text[start:i].encode("latin-1")
    return bytes(out)


def _read_bounded_string(mem: MemoryAccess, address: int, limit: int) -> bytes:
    """At most `limit` bytes up to a NUL; like C, no byte past the limit is read."""
    out = bytearray()
    while len(out) < limit:
        byte = mem.read(address + len(out), 1)[0]
        if byte == 0:
            break
        out.append(byte)
    return bytes(out)


def helper_printf(call: HelperCall) -> int:
    """0x01 printf(fmt, a2..a5): write to runtime.printf_stream; returns the byte count."""
    fmt = call.mem.read_cstring(call.arg(1) & M32, PRINTF_STRING_LIMIT)
    output = format_printf(fmt, [call.arg(i) for i in range(2, 6)], call.mem)
    stream = call.runtime.printf_stream or sys.stdout
    stream.write(output.decode("utf-8", errors="replace"))
    return len(output)


# ---------------------------------------------------------------------------------------------
# memory and key-value stores


def helper_memcpy(call: HelperCall) -> int:
    """0x02 memcpy(dst, src, n): both ranges checked (read, then write); returns dst."""
    dst = call.arg(1) & M32
    src = call.arg(2) & M32
    size = call.arg(3) & M32
    data = call.mem.read(src, size)
    call.mem.write(dst, data)
    return dst


def helper_store_local(call: HelperCall) -> int:
    """0x10 store_local(key, value): the container's own store; returns 0."""
    call.runtime.local_store[call.arg(1) & M32] = call.arg(2) & M32
    return 0


def helper_store_global(call: HelperCall) -> int:
    """0x11 store_global(key, value): the store shared by every container; returns 0."""
    call.runtime.global_store[call.arg(1) & M32] = call.arg(2) & M32
    return 0


def helper_fetch_local(call: HelperCall) -> int:
    """0x12 fetch_local(key, uint32_t *value): writes the value (0 if missing); returns 0."""
    value = call.runtime.local_store.get(call.arg(1) & M32, 0)
    call.mem.write(call.arg(2) & M32, (value & M32).to_bytes(4, "little"))
    return 0


def helper_fetch_global(call: HelperCall) -> int:
    """0x13 fetch_global(key, uint32_t *value): writes the value (0 if missing); returns 0."""
    value = call.runtime.global_store.get(call.arg(1) & M32, 0)
    call.mem.write(call.arg(2) & M32, (value & M32).to_bytes(4, "little"))
    return 0


# ---------------------------------------------------------------------------------------------
# clocks and the conformance suite's helper


def helper_now_ms(call: HelperCall) -> int:
    """0x20 now_ms(): the runtime's millisecond clock, 32 bits (ztimer_now(ZTIMER_MSEC))."""
    return int(call.runtime.clock_ms()) & M32


def helper_ztimer_now(call: HelperCall) -> int:
    """0x60 ztimer_now(): the runtime's microsecond clock, 32 bits (ZTIMER_USEC)."""
    return int(call.runtime.clock_us()) & M32


def helper_unwind(call: HelperCall) -> int:
    """5 unwind(x) (rfc profile only): returns r1, as the conformance suite expects."""
    return call.arg(1) & M64


_BUILTINS = {
    0x01: helper_printf,
    0x02: helper_memcpy,
    0x10: helper_store_local,
    0x11: helper_store_global,
    0x12: helper_fetch_local,
    0x13: helper_fetch_global,
    0x20: helper_now_ms,
    0x60: helper_ztimer_now,
}


def builtin_registry(profile: str = "femto") -> HelperRegistry:
    """A fresh registry with the built-in helpers of `profile` (plus 5 "unwind" in rfc)."""
    check_profile(profile)
    registry = HelperRegistry()
    for helper_id, name in BUILTIN_HELPER_NAMES.items():
        fn = _BUILTINS[helper_id]
        registry.add(Helper(helper_id, name, fn, (fn.__doc__ or "").strip()))
    if profile == RFC:
        for helper_id, name in CONFORMANCE_HELPER_NAMES.items():
            registry.add(Helper(helper_id, name, helper_unwind, helper_unwind.__doc__ or ""))
    return registry
