"""Build the test firmware around the C runtime and run it under Unicorn.

The firmware (fw_main.c + femtojit/runtime/femtojit.c) is compiled by the target's gcc
(freestanding, no libc, no libgcc: a missing symbol fails the link), laid out by
firmware.ld.in at the canonical addresses of femtojit/memmap.py, and driven through its
`fw_mailbox` struct. Hand-written blob code (probe_*.S) stands in for translations in tests
that must not depend on a backend.
"""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from femtojit import memmap

HERE = Path(__file__).resolve().parent
RUNTIME = HERE.parents[1] / "femtojit" / "runtime"
FIRMWARE_BASE = memmap.CODE_BASE + memmap.CODE_SLOT  # the first code slot holds the blob

C_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-ffreestanding", "-nostdlib"]


@dataclass(frozen=True)
class Arch:
    name: str  # femtojit target name
    prefix: str  # toolchain prefix
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...] = ()

    def tool(self, name: str) -> str:
        from conftest import require_tool

        return require_tool(self.prefix + name)


ARCHES = {
    "armv7m": Arch("armv7m", "arm-none-eabi-", ("-mcpu=cortex-m4", "-mthumb")),
    "rv32imc": Arch(
        "rv32imc",
        "riscv64-unknown-elf-",
        ("-march=rv32imc", "-mabi=ilp32", "-mno-relax"),
        ("-m", "elf32lriscv"),
    ),
    "xtensa-lx106": Arch("xtensa-lx106", "xtensa-lx106-elf-", ("-mlongcalls",)),
}


def run_tool(*argv: str | Path) -> str:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def symbols_of(arch: Arch, elf: Path, kinds: str = "") -> dict[str, int]:
    """Symbol values from `nm` (Thumb function values keep bit 0, as in the symbol table),
    only of the nm type letters in `kinds` if given."""
    table = {}
    for line in run_tool(arch.tool("nm"), elf).splitlines():
        parts = line.split()
        if len(parts) == 3 and (not kinds or parts[1] in kinds):
            table[parts[2]] = int(parts[0], 16)
    return table


def assemble_code(arch: Arch, source: Path, work: Path) -> tuple[bytes, dict[str, int]]:
    """Machine code of an assembly file (linked at 0, so every branch is resolved) and the
    offsets of its global symbols."""
    obj = work / (source.stem + ".o")
    linked = work / (source.stem + ".elf")
    raw = work / (source.stem + ".bin")
    run_tool(arch.tool("gcc"), *arch.cflags, "-c", source, "-o", obj)
    run_tool(arch.tool("ld"), *arch.ldflags, "-Ttext=0", "-e", "0", obj, "-o", linked)
    run_tool(arch.tool("objcopy"), "-O", "binary", "-j", ".text", linked, raw)
    offsets = {name: value & ~1 for name, value in symbols_of(arch, linked, "tT").items()}
    return raw.read_bytes(), offsets


def linker_script(work: Path) -> Path:
    text = (HERE / "firmware.ld.in").read_text()
    for name, value in {
        "FIRMWARE_BASE": FIRMWARE_BASE,
        "HARNESS_BASE": memmap.HARNESS_BASE,
        "STACK_BASE": memmap.STACK_BASE,
        "DATA_BASE": memmap.DATA_BASE,
        "CTX_BASE": memmap.CTX_BASE,
    }.items():
        text = text.replace(f"@{name}@", f"{value:#x}")
    path = work / "firmware.ld"
    path.write_text(text)
    return path


def build_firmware(
    arch: Arch,
    work: Path,
    name: str = "fw",
    defines: tuple[str, ...] = (),
    extra: tuple[Path, ...] = (),
    cflags: tuple[str, ...] = (),
) -> Path:
    """Compile and link fw_main.c + femtojit.c (+ extra objects or C files) into an ELF."""
    work.mkdir(parents=True, exist_ok=True)
    elf = work / f"{name}.elf"
    run_tool(
        arch.tool("gcc"),
        *arch.cflags,
        *cflags,
        *C_FLAGS,
        *(f"-D{d}" for d in defines),
        f"-I{RUNTIME}",
        "-T",
        linker_script(work),
        HERE / "fw_main.c",
        RUNTIME / "femtojit.c",
        *extra,
        "-o",
        elf,
    )
    return elf


# fw_mailbox_t (fw_main.c)
MAX_RUNS = 4
_MAILBOX = struct.Struct("<4q4i11I5i3I")
_INPUTS = (
    "blob_addr",
    "blob_len",
    "ctx_addr",
    "ctx_len",
    "budget",
    "data_ram_len",
    "stack_addr",
    "runs",
    "host_addr",
    "host_len",
    "host_flags",
)
_OUTPUTS = (
    "check_status",
    "resolve_status",
    "init_status",
    "use_entry_status",
    "add_region_status",
    "n_imports",
    "default_budget",
    "stage",
)


@dataclass
class Outcome:
    """What fw_main reported, plus the memory the test wants to look at afterwards."""

    returned: int
    results: list[int]
    statuses: list[int]
    fields: dict[str, int]
    executed: list[int] = field(default_factory=list)  # addresses run, when traced

    def __getattr__(self, name: str) -> int:
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None


class Firmware:
    """One firmware image loaded into a fresh Unicorn instance per run."""

    def __init__(self, arch: Arch, elf: Path):
        self.arch = arch
        self.elf = elf
        self.symbols = symbols_of(arch, elf)
        self.segments = self._load_segments()

    def _load_segments(self) -> list[tuple[int, bytes, int]]:
        from elftools.elf.elffile import ELFFile

        segments = []
        with open(self.elf, "rb") as f:
            image = ELFFile(f)
            for seg in image.iter_segments():
                if seg["p_type"] == "PT_LOAD" and seg["p_memsz"]:
                    segments.append((seg["p_vaddr"], seg.data(), seg["p_memsz"]))
        return segments

    def address(self, symbol: str) -> int:
        return self.symbols[symbol] & ~1

    def new_cpu(self):
        """A Unicorn CPU with the firmware loaded and every canonical area mapped."""
        from unicorn import UC_ARCH_ARM, UC_ARCH_RISCV, UC_MODE_RISCV32, UC_MODE_THUMB, Uc
        from unicorn.arm_const import UC_CPU_ARM_CORTEX_M4
        from unicorn.riscv_const import UC_CPU_RISCV32_SIFIVE_E31

        if self.arch.name == "armv7m":
            uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
            model = UC_CPU_ARM_CORTEX_M4
        else:
            uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
            model = UC_CPU_RISCV32_SIFIVE_E31  # RV32IMAC, no FPU: the closest to rv32imc
        uc.ctl_set_cpu_model(model)
        if uc.ctl_get_cpu_model() != model:
            raise AssertionError(f"Unicorn CPU model {uc.ctl_get_cpu_model()}, asked {model}")
        page = 0x1000
        for base, size in (
            (memmap.CODE_BASE, memmap.CODE_SLOT),
            (FIRMWARE_BASE, memmap.CODE_SLOT),
            (memmap.HARNESS_BASE, memmap.HARNESS_SIZE),
            (memmap.NATIVE_STACK_BASE, memmap.NATIVE_STACK_SIZE),
            (memmap.STACK_BASE, page),
            (memmap.DATA_BASE, 2 * page),
            (memmap.CTX_BASE, 2 * page),
            (memmap.HOST_BASE, page),
        ):
            uc.mem_map(base, size)
        for vaddr, data, _memsz in self.segments:
            uc.mem_write(vaddr, data)  # NOBITS tails stay zero
        return uc

    def run(
        self,
        *,
        blob: bytes = b"",
        blob_addr: int = memmap.CODE_BASE,
        ctx: bytes = b"",
        memory: dict[int, bytes] | None = None,
        patch: dict[str, bytes] | None = None,
        trace: tuple[int, int] | None = None,
        max_insns: int = 2_000_000,
        **inputs: int,
    ) -> tuple[Outcome, object]:
        """Write the blob, ctx and mailbox, call fw_main, return its report and the CPU."""
        from unicorn import UC_HOOK_CODE

        uc = self.new_cpu()
        if blob:
            uc.mem_write(blob_addr, blob)
        ctx_addr = inputs.get("ctx_addr") or memmap.CTX_BASE
        if ctx:
            uc.mem_write(ctx_addr, ctx)
        for addr, data in (memory or {}).items():
            uc.mem_write(addr, data)
        for symbol, data in (patch or {}).items():
            uc.mem_write(self.address(symbol), data)
        values = {
            "blob_addr": blob_addr,
            "blob_len": len(blob),
            "ctx_len": len(ctx),
            "budget": 200,
            "data_ram_len": 4096,
            "runs": 1,
        }
        values.update(inputs)
        mailbox = self.address("fw_mailbox")
        block = bytearray(_MAILBOX.size)
        struct.pack_into(f"<{len(_INPUTS)}I", block, 48, *(values.get(k, 0) for k in _INPUTS))
        uc.mem_write(mailbox, bytes(block))

        executed: list[int] = []
        if trace is not None:
            lo, hi = trace
            uc.hook_add(UC_HOOK_CODE, lambda _uc, addr, _size, _data: executed.append(addr),
                        begin=lo, end=hi - 1)  # fmt: skip
        stop = self.address("fw_stop")
        start = self.address("fw_main")
        if self.arch.name == "armv7m":
            from unicorn.arm_const import UC_ARM_REG_LR, UC_ARM_REG_PC, UC_ARM_REG_R0, UC_ARM_REG_SP

            uc.reg_write(UC_ARM_REG_SP, memmap.NATIVE_STACK_TOP)
            uc.reg_write(UC_ARM_REG_LR, stop | 1)
            uc.emu_start(start | 1, stop, count=max_insns)
            returned, pc = uc.reg_read(UC_ARM_REG_R0), uc.reg_read(UC_ARM_REG_PC)
            sp = uc.reg_read(UC_ARM_REG_SP)
        else:
            from unicorn.riscv_const import (
                UC_RISCV_REG_A0,
                UC_RISCV_REG_PC,
                UC_RISCV_REG_RA,
                UC_RISCV_REG_SP,
            )

            uc.reg_write(UC_RISCV_REG_SP, memmap.NATIVE_STACK_TOP)
            uc.reg_write(UC_RISCV_REG_RA, stop)
            uc.emu_start(start, stop, count=max_insns)
            returned, pc = uc.reg_read(UC_RISCV_REG_A0), uc.reg_read(UC_RISCV_REG_PC)
            sp = uc.reg_read(UC_RISCV_REG_SP)
        if pc & ~1 != stop:
            raise AssertionError(f"fw_main did not return (pc {pc:#x} after {max_insns} insns)")
        if sp != memmap.NATIVE_STACK_TOP:
            raise AssertionError(f"fw_main returned with sp {sp:#x}: the stack is unbalanced")
        words = _MAILBOX.unpack(bytes(uc.mem_read(mailbox, _MAILBOX.size)))
        results = [r & (2**64 - 1) for r in words[:4]]
        statuses = list(words[4:8])
        outputs = dict(zip(_OUTPUTS, words[8 + len(_INPUTS) :]))
        outputs.update(zip(_INPUTS, words[8 : 8 + len(_INPUTS)]))
        returned = struct.unpack("<i", struct.pack("<I", returned & 0xFFFFFFFF))[0]
        return Outcome(returned, results, statuses, outputs, executed), uc
