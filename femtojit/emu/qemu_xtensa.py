"""Native baselines for the ESP8266's Xtensa LX106 (call0 ABI) under qemu-xtensa user mode.

Unicorn has no Xtensa, so this harness builds a small static ELF around the code under test
and runs it with `qemu-xtensa -cpu lx106` (little-endian, like the lx106 toolchain):

- the code bytes at CODE_BASE, each region's bytes at its canonical address, a parameter block
  (entry address, four word arguments) at layout.PARAMS_ADDR, the native stack at
  NATIVE_STACK_BASE: the same memory map as every other engine;
- a runner (`_start` in assembly, the rest in C) that sets the stack pointer, calls the entry
  with callx0, and reports the 64-bit result;
- helper stubs at layout.native_stub_address(id), where native C links its helpers. A stub
  asks the Python side to run the helper over a pipe protocol on the process's stdin/stdout
  (Linux syscalls read=12 / write=13, number in a2, arguments in a6, a3, a4; exit=118):

      runner -> host  8 words: CALL(1), helper id, arg1..arg5, 0   |  DONE(2), result lo, hi
      host -> runner  3 words: READ(1) addr len   -> runner writes len bytes from addr
                               WRITE(2) addr len  -> runner reads len bytes into addr
                               RETURN(3) value 0  -> the helper returns value
                               EXIT(4) status 0   -> the runner exits

  so helpers reach emulated memory through the same region checks as under Unicorn, and the
  regions are read back after the run the same way.

Retired instructions are counted from QEMU's execution log: with `-singlestep -d exec,nochain`
every executed instruction is one "Trace" line, and `-dfilter` keeps only the code under test
(so the runner and the stubs are not counted).

Limits: there is no per-access isolation check here (QEMU user mode has no memory hooks): this
harness runs trusted native baselines. A runaway program is stopped by a watchdog on the log
size (instruction limit) and on wall-clock time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from femtojit.emu import layout
from femtojit.emu.helpercall import MASK32, invoke_helper
from femtojit.errors import EmulationError, FemtojitError, HelperError, UnknownTargetError
from femtojit.helpers import CheckedMemory, HelperRegistry, Runtime
from femtojit.memmap import (
    CODE_BASE,
    CTX_BASE,
    NATIVE_STACK_BASE,
    NATIVE_STACK_SIZE,
    NATIVE_STACK_TOP,
    PERM_READ,
    PERM_WRITE,
    MemoryImage,
)
from femtojit.result import RunResult

GCC = "xtensa-lx106-elf-gcc"
QEMU = "qemu-xtensa"
QEMU_CPU = "lx106"
DEFAULT_INSN_LIMIT = 20_000_000
DEFAULT_TIMEOUT_S = 120.0
LOG_BYTES_PER_INSN = 80  # upper bound of one "Trace" line, for the log-size watchdog

MSG_CALL, MSG_DONE = 1, 2
CMD_READ, CMD_WRITE, CMD_RETURN, CMD_EXIT = 1, 2, 3, 4
MSG_SIZE = 32

_START_S = f"""
    .section .text.fjit_start, "ax"
    .global _start
    .global fjit_helper_trampoline
    .literal_position
    .literal .Lstack_top, {NATIVE_STACK_TOP:#x}
    .align 4
_start:
    l32r    a1, .Lstack_top
    call0   fjit_runner_main
1:  j       1b
    .align 4
fjit_helper_trampoline:        /* from a stub: a8 = caller's return address, a7 = helper id */
    mov     a0, a8
    j       fjit_rpc_helper
"""

_RUNNER_C = f"""
#include <stdint.h>

typedef uint64_t (*entry_fn)(uint32_t, uint32_t, uint32_t, uint32_t);
struct params {{ uint32_t entry; uint32_t args[4]; }};
#define PARAMS ((volatile struct params *){layout.PARAMS_ADDR:#x})

static long sys3(long nr, long a, long b, long c)
{{
    register long r2 asm("a2") = nr;
    register long r6 asm("a6") = a;
    register long r3 asm("a3") = b;
    register long r4 asm("a4") = c;
    asm volatile ("syscall" : "+r"(r2) : "r"(r6), "r"(r3), "r"(r4) : "memory");
    return r2;
}}

static void put(const void *buf, uint32_t n)
{{
    const char *p = buf;
    while (n) {{
        long k = sys3(13, 1, (long)p, n);
        if (k <= 0) sys3(118, 3, 0, 0);
        p += k; n -= k;
    }}
}}

static void get(void *buf, uint32_t n)
{{
    char *p = buf;
    while (n) {{
        long k = sys3(12, 0, (long)p, n);
        if (k <= 0) sys3(118, 4, 0, 0);
        p += k; n -= k;
    }}
}}

static uint32_t serve(void)
{{
    for (;;) {{
        uint32_t cmd[3];
        get(cmd, sizeof cmd);
        if (cmd[0] == {CMD_READ}) put((const void *)cmd[1], cmd[2]);
        else if (cmd[0] == {CMD_WRITE}) get((void *)cmd[1], cmd[2]);
        else if (cmd[0] == {CMD_RETURN}) return cmd[1];
        else sys3(118, cmd[1], 0, 0);
    }}
}}

uint32_t fjit_rpc_helper(uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4, uint32_t a5,
                         uint32_t id)
{{
    volatile uint32_t msg[8];
    msg[0] = {MSG_CALL}; msg[1] = id; msg[2] = a1; msg[3] = a2; msg[4] = a3; msg[5] = a4;
    msg[6] = a5; msg[7] = 0;
    put((const void *)msg, sizeof msg);
    return serve();
}}

void fjit_runner_main(void)
{{
    volatile struct params *p = PARAMS;
    entry_fn fn = (entry_fn)p->entry;
    uint64_t r = fn(p->args[0], p->args[1], p->args[2], p->args[3]);
    volatile uint32_t msg[8];
    msg[0] = {MSG_DONE}; msg[1] = (uint32_t)r; msg[2] = (uint32_t)(r >> 32);
    msg[3] = msg[4] = msg[5] = msg[6] = msg[7] = 0;
    put((const void *)msg, sizeof msg);
    serve();
    sys3(118, 0, 0, 0);
}}
"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FemtojitError(f"{name} is not installed (Debian: qemu-user, gcc-xtensa-lx106)")
    return path


def _run_tool(argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EmulationError(f"{Path(argv[0]).name} failed: {proc.stderr.strip()[:2000]}")


_runner_lock = threading.Lock()


def runner_objects() -> tuple[Path, Path]:
    """The compiled runner (start.o, runner.o), built once and cached by content hash."""
    digest = hashlib.sha256((_START_S + _RUNNER_C).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"femtojit-xtensa-runner-{digest}"
    start_o, runner_o = cache / "start.o", cache / "runner.o"
    with _runner_lock:
        if start_o.exists() and runner_o.exists():
            return start_o, runner_o
        gcc = _tool(GCC)
        work = Path(tempfile.mkdtemp(prefix="femtojit-xtensa-build-"))
        try:
            (work / "start.S").write_text(_START_S)
            (work / "runner.c").write_text(_RUNNER_C)
            _run_tool([gcc, "-c", "start.S", "-o", "start.o"], work)
            _run_tool(
                [gcc, "-O2", "-ffreestanding", "-fno-builtin", "-c", "runner.c", "-o", "runner.o"],
                work,
            )
            cache.mkdir(parents=True, exist_ok=True)
            for name in ("start.o", "runner.o"):  # atomic: parallel test workers share it
                os.replace(work / name, cache / name)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return start_o, runner_o


def _image_assembly(
    code_len: int, image: MemoryImage, helper_ids: Sequence[int], params: bytes
) -> tuple[str, str]:
    """(assembly, linker script) placing code, stubs, params, stack and regions."""
    asm = [
        '    .section .fjit_code, "ax"',
        '    .incbin "code.bin"',
        '    .section .fjit_stubs, "ax"',
        "    .begin no-transform",
    ]
    for helper_id in sorted(helper_ids):
        offset = layout.native_stub_address(helper_id) - layout.HELPER_STUB_BASE
        if helper_id >= 2048:
            raise HelperError(f"xtensa stubs take helper ids below 2048, not {helper_id:#x}")
        asm += [
            f"    .org {offset:#x}",
            "    mov a8, a0",
            f"    movi a7, {helper_id}",
            "    call0 fjit_helper_trampoline",
        ]
    asm += [
        "    .end no-transform",
        '    .section .fjit_params, "aw"',
        '    .incbin "params.bin"',
        '    .section .fjit_stack, "aw", @nobits',
        f"    .space {NATIVE_STACK_SIZE}",
    ]
    script = [
        "ENTRY(_start)",
        "SECTIONS {",
        f"  .fjit_code {CODE_BASE:#x} : {{ KEEP(*(.fjit_code)) }}",
        f"  .fjit_stubs {layout.HELPER_STUB_BASE:#x} : {{ KEEP(*(.fjit_stubs)) }}",
        f"  .fjit_harness {layout.HARNESS_CODE_BASE:#x} : "
        "{ *(.literal .text .literal.* .text.* .rodata .rodata.* .data .data.* .bss .bss.*"
        " COMMON) }",
        f"  .fjit_params {layout.PARAMS_ADDR:#x} : {{ KEEP(*(.fjit_params)) }}",
        f"  .fjit_stack {NATIVE_STACK_BASE:#x} (NOLOAD) : {{ KEEP(*(.fjit_stack)) }}",
    ]
    for index, region in enumerate(image.regions):
        if not region.data:
            continue
        asm += [f'    .section .fjit_region{index}, "aw"', f'    .incbin "region{index}.bin"']
        script.append(
            f"  .fjit_region{index} {region.start:#x} : {{ KEEP(*(.fjit_region{index})) }}"
        )
    script += ["  /DISCARD/ : { *(.comment) *(.xtensa.info) }", "}"]
    assert len(params) == 20 and code_len > 0
    return "\n".join(asm) + "\n", "\n".join(script) + "\n"


class _Pipe:
    """The host end of the runner's pipe protocol."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc

    def receive(self, size: int) -> bytes:
        assert self.proc.stdout is not None
        data = self.proc.stdout.read(size)
        if data is None or len(data) != size:
            raise EOFError
        return data

    def command(self, cmd: int, a: int, b: int, payload: bytes = b"") -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(struct.pack("<III", cmd, a & MASK32, b & MASK32) + payload)
        self.proc.stdin.flush()

    def read(self, addr: int, size: int) -> bytes:
        if size == 0:
            return b""
        self.command(CMD_READ, addr, size)
        return self.receive(size)

    def write(self, addr: int, data: bytes) -> None:
        if data:
            self.command(CMD_WRITE, addr, len(data), bytes(data))


def _watchdog(proc: subprocess.Popen, log: Path, max_log: int, timeout: float, why: list[str]):
    start = time.monotonic()
    while proc.poll() is None:
        if time.monotonic() - start > timeout:
            why.append(f"timed out after {timeout:.0f} s")
        elif log.exists() and log.stat().st_size > max_log:
            why.append("instruction limit reached (runaway loop?)")
        if why:
            proc.kill()
            return
        time.sleep(0.05)


def count_trace_lines(log_text: str, lo: int, hi: int) -> int:
    """Executed instructions in [lo, hi) from a `-singlestep -d exec,nochain` log."""
    count = 0
    for line in log_text.splitlines():
        if not line.startswith("Trace "):
            continue
        fields = line[line.index("[") + 1 : line.index("]")].split("/")
        if lo <= int(fields[1], 16) < hi:
            count += 1
    return count


def run_native(
    target: str,
    code: bytes,
    entry_offset: int,
    memory_image: MemoryImage,
    args: Sequence[int] = (CTX_BASE,),
    helpers: HelperRegistry | None = None,
    runtime: Runtime | None = None,
    helper_ids: Sequence[int] | None = None,
    *,
    insn_limit: int = DEFAULT_INSN_LIMIT,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> RunResult:
    """Call native LX106 code (call0 ABI) at CODE_BASE + entry_offset with `args` under QEMU.

    Returns the 64-bit result (a2:a3), the regions read back after the call and the number
    of instructions executed inside the code (`insns`).
    """
    if target != "xtensa-lx106":
        raise UnknownTargetError(f"no qemu-xtensa harness for target {target!r}")
    if not 0 <= entry_offset < len(code):
        raise EmulationError(f"entry offset {entry_offset} outside {len(code)} bytes")
    if len(args) > 4:
        raise EmulationError("the harness passes at most 4 word arguments")
    registry = helpers or HelperRegistry()
    runtime = runtime or Runtime()
    ids = list(helper_ids) if helper_ids is not None else [i for i in registry.ids() if i < 2048]
    for helper_id in ids:
        if helper_id not in registry:
            raise HelperError(f"no implementation for helper {helper_id:#x}")
    start_o, runner_o = runner_objects()
    gcc, qemu = _tool(GCC), _tool(QEMU)
    padded = list(args) + [0] * (4 - len(args))
    params = struct.pack("<5I", CODE_BASE + entry_offset, *(a & MASK32 for a in padded))

    with tempfile.TemporaryDirectory(prefix="femtojit-xtensa-run-") as tmp:
        work = Path(tmp)
        (work / "code.bin").write_bytes(bytes(code))
        (work / "params.bin").write_bytes(params)
        for index, region in enumerate(memory_image.regions):
            (work / f"region{index}.bin").write_bytes(bytes(region.data))
        asm, script = _image_assembly(len(code), memory_image, ids, params)
        (work / "image.S").write_text(asm)
        (work / "link.ld").write_text(script)
        _run_tool(
            [
                gcc,
                "-nostdlib",
                "-static",
                "-Wl,-T,link.ld",
                "-Wl,--no-relax",
                "image.S",
                str(start_o),
                str(runner_o),
                "-o",
                "runner.elf",
            ],
            work,
        )
        log = work / "exec.log"
        stderr_path = work / "stderr.txt"
        argv = [
            qemu,
            "-cpu",
            QEMU_CPU,
            "-singlestep",
            "-d",
            "exec,nochain",
            "-dfilter",
            f"{CODE_BASE:#x}+{len(code):#x}",
            "-D",
            str(log),
            "runner.elf",
        ]
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen(
                argv, cwd=work, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
            )
        why: list[str] = []
        dog = threading.Thread(
            target=_watchdog,
            args=(proc, log, insn_limit * LOG_BYTES_PER_INSN, timeout, why),
            daemon=True,
        )
        dog.start()
        pipe = _Pipe(proc)
        native_stack = (NATIVE_STACK_BASE, NATIVE_STACK_TOP, PERM_READ | PERM_WRITE)
        memory = CheckedMemory.for_regions(
            memory_image.regions, pipe.read, pipe.write, [native_stack]
        )
        helper_calls = 0
        try:
            while True:
                words = struct.unpack("<8I", pipe.receive(MSG_SIZE))
                if words[0] == MSG_DONE:
                    result = words[1] | words[2] << 32
                    break
                if words[0] != MSG_CALL:
                    raise EmulationError(f"xtensa runner sent unknown message {words[0]}")
                helper_id = words[1]
                helper_calls += 1
                regs = [0, *words[2:7], 0, 0, 0, 0, 0]
                outcome = invoke_helper(registry, helper_id, regs, memory, runtime, "femto")
                if outcome.status:
                    raise EmulationError(
                        f"native helper {helper_id:#x} faulted with status {outcome.status} "
                        f"({outcome.message})"
                    )
                pipe.command(CMD_RETURN, outcome.value, 0)
            regions = {r.name: pipe.read(r.start, len(r.data)) for r in memory_image.regions}
            pipe.command(CMD_EXIT, 0, 0)
            proc.wait(timeout=timeout)
        except (EOFError, BrokenPipeError) as error:
            proc.kill()
            proc.wait()
            detail = "; ".join(why) or stderr_path.read_text(errors="replace").strip()[-500:]
            raise EmulationError(
                f"xtensa-lx106: qemu-xtensa stopped before the call returned "
                f"(exit {proc.returncode}): {detail or type(error).__name__}"
            ) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            dog.join()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(BrokenPipeError):
                        stream.close()
        if proc.returncode != 0:
            raise EmulationError(f"xtensa-lx106: runner exited with status {proc.returncode}")
        insns = count_trace_lines(log.read_text(errors="replace"), CODE_BASE, CODE_BASE + len(code))
    return RunResult(
        status=0,
        result=result,
        engine=f"native-{target}",
        insns=insns,
        memory=regions,
        extra={"code_bytes": len(code), "helper_calls": helper_calls},
    )
