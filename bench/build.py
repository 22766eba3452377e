"""Build the benchmark programs: eBPF bytecode (clang) and native baselines (each target's gcc).

    bytecode   clang -target bpf -O2 -mcpu=v2 / -mcpu=v3          -> ELF object (femtojit.load)
    armv7m     arm-none-eabi-gcc -O2 -mcpu=cortex-m4 -mthumb        -> raw code + entry offset
    rv32imc    riscv64-unknown-elf-gcc -O2 -march=rv32imc -mabi=ilp32
    xtensa-lx106  xtensa-lx106-elf-gcc -O2 -mlongcalls (call0 ABI)
    host       gcc -O2, linked with bench/native/host_driver.c (timing native C on the host)

Native builds are freestanding (-ffreestanding -nostdlib, bench/native/support.c for memcpy
and memset, libgcc for 64-bit division where the target's libgcc has it; on the LX106,
bench/native/xtensa_libgcc.c supplies what Debian's libgcc lacks). They are linked at
CODE_BASE with helper symbols at the harness's stub addresses, and extracted as one raw image
(code, literals, constant tables) plus the entry offset. A native build with writable data
is refused: the harness maps the code read-only, and a baseline should not need globals.

Everything is cached under bench/build/, keyed by a hash of the sources and the command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.suite import PROGRAMS_DIR, BenchProgram
from femtojit.emu.layout import native_stub_address
from femtojit.errors import FemtojitError
from femtojit.helpers import BUILTIN_HELPER_NAMES
from femtojit.memmap import CODE_BASE

BENCH_DIR = Path(__file__).resolve().parent
BUILD_DIR = BENCH_DIR / "build"
NATIVE_DIR = BENCH_DIR / "native"
HEADER = PROGRAMS_DIR / "bench.h"

MCPUS = ("v2", "v3")
CLANG = "clang"
BPF_EXTRA_FLAGS = ["-fno-builtin", "-Wall"]  # besides femtojit.toolchain's -target bpf -O2
NATIVE_COMMON = [
    "-O2",
    "-ffreestanding",
    "-nostdlib",
    "-fno-builtin",
    "-fno-tree-loop-distribute-patterns",
    "-ffunction-sections",
    "-fdata-sections",
    "-Wall",
]

#: The routines bench/native/xtensa_libgcc.c provides (reported when a build links one).
XTENSA_OWN_LIBGCC = ("__muldi3", "__udivdi3", "__umoddi3", "__udivsi3", "__umodsi3", "__divsi3")


class BuildError(FemtojitError):
    """A benchmark program did not compile or link."""


@dataclass(frozen=True)
class NativeToolchain:
    target: str
    gcc: str
    objcopy_prefix: str
    flags: tuple[str, ...]
    extra_sources: tuple[str, ...] = ()
    thumb: bool = False


TOOLCHAINS: dict[str, NativeToolchain] = {
    "armv7m": NativeToolchain(
        "armv7m",
        "arm-none-eabi-gcc",
        "arm-none-eabi-",
        ("-mcpu=cortex-m4", "-mthumb"),
        thumb=True,
    ),
    "rv32imc": NativeToolchain(
        "rv32imc",
        "riscv64-unknown-elf-gcc",
        "riscv64-unknown-elf-",
        ("-march=rv32imc", "-mabi=ilp32", "-mno-relax"),
    ),
    "xtensa-lx106": NativeToolchain(
        "xtensa-lx106",
        "xtensa-lx106-elf-gcc",
        "xtensa-lx106-elf-",
        ("-mlongcalls",),
        extra_sources=("xtensa_libgcc.c",),
    ),
}
NATIVE_TARGETS = tuple(TOOLCHAINS)


@dataclass(frozen=True)
class NativeBuild:
    """A native baseline: raw image at CODE_BASE and where the entry function starts."""

    target: str
    program: str
    code: bytes
    entry_offset: int
    entry_size: int  # bytes of the entry function itself
    own_libgcc: tuple[str, ...]  # routines from bench/native/xtensa_libgcc.c that were linked
    elf: Path


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BuildError(f"{name} is not installed (make test installs the Debian packages)")
    return path


def _run(argv: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(argv[:3])} ... failed:\n{proc.stderr.strip()[:3000]}")


def _key(parts: list[str], files: list[Path]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in files:
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _out_dir(program: BenchProgram) -> Path:
    path = BUILD_DIR / program.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _publish(tmp: Path, dest: Path) -> None:
    """Move a finished build output into place atomically (parallel builds share the cache)."""
    os.replace(tmp, dest)


def build_bytecode(program: BenchProgram, mcpu: str) -> Path:
    """The clang -target bpf object of `program` for -mcpu=`mcpu` (cached)."""
    from femtojit.toolchain import BPF_BASE_FLAGS, compile_bpf, find_tool

    if mcpu not in MCPUS:
        raise BuildError(f"unknown -mcpu {mcpu!r} (choose from {', '.join(MCPUS)})")
    extra = [*BPF_EXTRA_FLAGS, "-I", str(PROGRAMS_DIR)]
    key = _key(
        [find_tool(CLANG), *BPF_BASE_FLAGS, f"-mcpu={mcpu}", *extra], [program.source, HEADER]
    )
    out = _out_dir(program) / f"bpf-{mcpu}-{key}.o"
    if not out.exists():
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            obj = compile_bpf(program.source, Path(tmp) / "prog.o", mcpu=mcpu, extra_flags=extra)
            _publish(obj, out)
    return out


def _helper_symbols() -> str:
    return "".join(
        f"PROVIDE(bpf_{name} = {native_stub_address(helper_id):#x});\n"
        for helper_id, name in sorted(BUILTIN_HELPER_NAMES.items())
    )


def _linker_script(entry: str) -> str:
    return (
        f"ENTRY({entry})\n"
        "SECTIONS {\n"
        f"  .text {CODE_BASE:#x} : {{ *(.literal .literal.* .text .text.* .rodata .rodata.*"
        " .srodata .srodata.*) }\n"
        "  .data : { *(.data .data.* .sdata .sdata.* .bss .bss.* .sbss .sbss.* COMMON) }\n"
        "  /DISCARD/ : { *(.comment) *(.note*) *(.ARM.attributes) *(.riscv.attributes)"
        " *(.xtensa.info) *(.ARM.exidx*) *(.eh_frame*) }\n"
        "}\n" + _helper_symbols()
    )


def build_native(program: BenchProgram, target: str) -> NativeBuild:
    """The native baseline of `program` for `target` (cached)."""
    try:
        chain = TOOLCHAINS[target]
    except KeyError:
        raise BuildError(
            f"no native toolchain for {target!r} (have: {', '.join(TOOLCHAINS)})"
        ) from None
    gcc = _tool(chain.gcc)
    sources = [program.source, NATIVE_DIR / "support.c"]
    sources += [NATIVE_DIR / name for name in chain.extra_sources]
    script = _linker_script(program.entry_name)
    argv = [gcc, *NATIVE_COMMON, *chain.flags, "-I", str(PROGRAMS_DIR)]
    key = _key([*argv, script], [*sources, HEADER])
    out = _out_dir(program) / f"{target}-{key}.elf"
    if not out.exists():
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            work = Path(tmp)
            (work / "link.ld").write_text(script)
            elf = work / "prog.elf"
            _run(
                [
                    *argv,
                    *map(str, sources),
                    "-Wl,-T,link.ld",
                    "-Wl,--gc-sections",
                    "-lgcc",
                    "-o",
                    str(elf),
                ],
                cwd=work,
            )
            _publish(elf, out)
    return _extract(out, program, chain)


def _extract(elf_path: Path, program: BenchProgram, chain: NativeToolchain) -> NativeBuild:
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    with open(elf_path, "rb") as handle:
        elf = ELFFile(handle)
        pieces = []
        for section in elf.iter_sections():
            flags = section["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC or section["sh_size"] == 0:
                continue
            if flags & SH_FLAGS.SHF_WRITE:
                raise BuildError(
                    f"{program.name} for {chain.target} has writable data ({section.name}): "
                    "benchmark programs must not use writable globals"
                )
            if section["sh_type"] == "SHT_NOBITS":
                continue
            pieces.append((section["sh_addr"], section.data()))
        symbols = elf.get_section_by_name(".symtab")
        entry_sym = symbols.get_symbol_by_name(program.entry_name) if symbols else None
        if not entry_sym:
            raise BuildError(f"{program.name}: no symbol {program.entry_name!r}")
        entry = entry_sym[0]
        names = {sym.name for sym in symbols.iter_symbols()}
    if not pieces:
        raise BuildError(f"{program.name} for {chain.target}: empty image")
    end = max(addr + len(data) for addr, data in pieces)
    image = bytearray(end - CODE_BASE)
    for addr, data in pieces:
        if addr < CODE_BASE:
            raise BuildError(f"{program.name}: section below CODE_BASE at {addr:#x}")
        image[addr - CODE_BASE : addr - CODE_BASE + len(data)] = data
    address = entry["st_value"] & ~1 if chain.thumb else entry["st_value"]
    own = tuple(n for n in XTENSA_OWN_LIBGCC if n in names) if chain.extra_sources else ()
    return NativeBuild(
        target=chain.target,
        program=program.name,
        code=bytes(image),
        entry_offset=address - CODE_BASE,
        entry_size=entry["st_size"],
        own_libgcc=own,
        elf=elf_path,
    )


def build_host(program: BenchProgram) -> Path:
    """The program compiled for the host with gcc -O2 and the timing driver (cached)."""
    gcc = _tool("gcc")
    driver = NATIVE_DIR / "host_driver.c"
    argv = [gcc, "-O2", "-Wall", f"-DBENCH_ENTRY={program.entry_name}", "-I", str(PROGRAMS_DIR)]
    key = _key(argv, [program.source, driver, HEADER])
    out = _out_dir(program) / f"host-{key}"
    if not out.exists():
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            exe = Path(tmp) / "host"
            _run([*argv, str(program.source), str(driver), "-o", str(exe)])
            _publish(exe, out)
    return out


def build_all(programs: list[BenchProgram], targets: tuple[str, ...] = NATIVE_TARGETS) -> dict:
    """Build everything for `programs`; returns {program: {variant: path or NativeBuild}}."""
    out: dict[str, dict[str, object]] = {}
    for program in programs:
        entry: dict[str, object] = {f"bpf-{m}": build_bytecode(program, m) for m in MCPUS}
        for target in targets:
            entry[target] = build_native(program, target)
        entry["host"] = build_host(program)
        out[program.name] = entry
    return out


def main() -> int:
    from bench.suite import PROGRAMS

    built = build_all(PROGRAMS)
    summary = {
        name: {
            variant: (
                {"bytes": len(value.code), "entry_offset": value.entry_offset}
                if isinstance(value, NativeBuild)
                else str(value)
            )
            for variant, value in variants.items()
        }
        for name, variants in built.items()
    }
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
