"""Translating a program for a target, and what a translation can do (target-independent).

    tr = translate(program, target="armv7m", profile="femto", budget=200)
    tr.code, tr.size, tr.entry_offset, tr.frame_size, tr.imports
    tr.blob() / tr.output("elf", name="app")       the formats of `femtojit translate`
    tr.run(ctx=b"...")                               run under emulation -> RunResult
    tr.validate(inputs=[b"..."], generated=100)      compare with the interpreter
    tr.ir_listing(), tr.disassembly(), tr.stats_text()

The pipeline is verify -> lower (femtojit.ir) -> passes -> the target's backend
(femtojit.backends). Nothing here knows about a particular target: the backend returns a
`MachineCode`, the emulation harness (femtojit.emu) runs it per native ABI v1.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from femtojit.errors import FemtojitError, TranslateError
from femtojit.program import Program
from femtojit.result import RunResult

#: `budget` value meaning "the profile's default" (200 in femto, off in rfc).
DEFAULT = "default"
#: `Translation.run(budget=...)` default: the budget the translation was made with.
COMPILED = "compiled"

#: ctx sizes `validate` generates inputs of when it is given no input to imitate.
GENERATED_SIZES = (0, 8, 16, 64, 256)


def translate(
    program: Program,
    *,
    target: str,
    profile: str = "femto",
    budget: int | None | str = DEFAULT,
    optimize: bool = True,
    helpers: set[int] | None = None,
    backend_options=None,
    verify: bool = True,
) -> Translation:
    """Translate `program` for `target`.

    budget: taken-branch budget compiled in (an int: checks on, the blob's default budget;
    None: no checks; "default": the profile's). helpers: the helper ids the host will
    provide (default: the profile's built-ins); `call` must name one of them and `callx`
    can reach them all. backend_options: a `femtojit.backends.common.machine.BackendOptions`.
    """
    from femtojit.backends import get_backend
    from femtojit.helpers import default_helper_ids
    from femtojit.interp import resolve_budget
    from femtojit.ir import lower
    from femtojit.ir.passes import DEFAULT_PASSES, NO_PASSES, pipeline
    from femtojit.profile import check_profile

    check_profile(profile)
    resolved = resolve_budget(budget, profile)
    backend = get_backend(target)
    helper_ids = set(default_helper_ids(profile) if helpers is None else helpers)
    started = time.perf_counter()
    if verify:
        from femtojit.verify import verify as verify_program

        verify_program(program, profile=profile, helper_ids=helper_ids)
    fn = lower(program, profile=profile, budget=resolved, helper_ids=helper_ids)
    fn = pipeline(fn, DEFAULT_PASSES if optimize else NO_PASSES)
    machine = backend.translate(fn, backend_options)
    seconds = time.perf_counter() - started
    return Translation(
        program=program,
        target=target,
        profile=profile,
        budget=resolved,
        optimize=optimize,
        helper_ids=helper_ids,
        ir=fn,
        machine=machine,
        seconds=seconds,
    )


@dataclass
class Translation:
    """One program translated for one target."""

    program: Program
    target: str
    profile: str
    budget: int | None
    optimize: bool
    helper_ids: set[int]
    ir: object  # the optimised femtojit.ir.Function the backend translated
    machine: object  # femtojit.backends.common.machine.MachineCode
    seconds: float  # translation time (verify to bytes)

    # ---- the code -----------------------------------------------------------------------

    @property
    def code(self) -> bytes:
        return self.machine.code

    @property
    def size(self) -> int:
        return len(self.machine.code)

    @property
    def entry_offset(self) -> int:
        return self.machine.entry_offset

    @property
    def frame_size(self) -> int:
        return self.machine.frame_size

    @property
    def imports(self) -> list[int]:
        return list(self.machine.imports)

    def blob(self):
        from femtojit.blob import Blob

        return Blob(
            target=self.target,
            profile=self.profile,
            code=self.code,
            entry_offset=self.entry_offset,
            data=bytes(self.program.data),
            rodata=bytes(self.program.rodata),
            imports=self.imports,
            frame_size=self.frame_size,
            budget=self.budget,
        )

    def output(self, fmt: str, name: str = "fjit_program") -> bytes:
        """The bytes of output format `fmt` (blob, elf, c), as `femtojit translate` writes."""
        from femtojit.outputs import check_symbol_name, render_output

        return render_output(self.blob(), fmt, check_symbol_name(name))

    # ---- listings -----------------------------------------------------------------------

    def ir_listing(self) -> str:
        from femtojit.ir import format_function

        return format_function(self.ir)

    def disassembly(self) -> str:
        """The target's objdump listing when the tool is installed, else a hex listing."""
        return disassemble_code(self.target, self.code, self.machine.labels,
                                self.machine.data_offset)

    def stats_text(self) -> str:
        slots = len(self.program.slots)
        bytecode = 8 * slots
        lines = [
            f"target            {self.target} ({self.profile} profile, budget "
            f"{'off' if self.budget is None else self.budget})",
            f"code bytes        {self.size}",
            f"bytecode bytes    {bytecode} ({slots} slots); code/bytecode "
            f"{self.size / max(bytecode, 1):.2f}",
            f"frame bytes       {self.frame_size}",
            f"imports           {', '.join(f'{i:#x}' for i in self.imports) or 'none'}",
            f"translation time  {1000 * self.seconds:.2f} ms "
            f"({1000 * self.seconds * 1000 / max(slots, 1):.2f} ms per 1000 instructions)",
        ]
        for key, value in sorted(self.machine.stats.items()):
            lines.append(f"{key.replace('_', ' '):<18}{value}")
        return "\n".join(lines)

    # ---- running ------------------------------------------------------------------------

    def run(
        self,
        ctx: bytes = b"",
        host=None,
        helpers=None,
        runtime=None,
        budget: int | None | str = COMPILED,
    ) -> RunResult:
        """Run the translation under emulation (femtojit.emu) per native ABI v1.

        budget: the value the host puts in vm->branches_remaining (default: the budget
        the translation was made with). `insns` counts retired native instructions; memory
        holds the regions after the run.
        """
        from femtojit.builtin_helpers import builtin_registry
        from femtojit.emu import UNICORN_TARGETS, run_blob_code
        from femtojit.memmap import build_memory

        if self.target not in UNICORN_TARGETS:
            raise TranslateError(f"no emulator runs translations for {self.target!r} yet")
        if budget == COMPILED:
            budget = self.budget
        if (budget is None) != (self.budget is None):
            state = "without" if self.budget is None else "with"
            raise FemtojitError(
                f"this translation was made {state} budget checks: translate again with "
                f"the budget you want to run with (asked: {budget})")
        image = build_memory(self.program.data, self.program.rodata, bytes(ctx), host)
        registry = helpers if helpers is not None else builtin_registry(self.profile)
        return run_blob_code(
            self.target, self.code, self.entry_offset, image, self.imports, registry,
            runtime, self.profile, budget,
        )

    def validate(self, inputs=(), generated: int = 0, *, seed: int = 0, helpers=None,
                 host=None) -> ValidationReport:
        """Run the translation and the interpreter on each input ctx and on `generated`
        random ones (the lengths of the given inputs, or GENERATED_SIZES), and compare
        status, 64-bit result, memory and printf output."""
        from femtojit.builtin_helpers import builtin_registry
        from femtojit.errors import EmulationError
        from femtojit.helpers import Runtime
        from femtojit.interp import run as interp_run

        registry = helpers if helpers is not None else builtin_registry(self.profile)
        cases: list[tuple[str, bytes]] = [(f"input {i}", bytes(x)) for i, x in enumerate(inputs)]
        rng = random.Random(seed)
        sizes = sorted({len(x) for _, x in cases}) or list(GENERATED_SIZES)
        for i in range(generated):
            size = sizes[i % len(sizes)]
            kind = i // len(sizes)
            if kind == 0:
                data = bytes(size)
            elif kind == 1:
                data = b"\xff" * size
            else:
                data = rng.randbytes(size)
            cases.append((f"generated {i} ({size} bytes)", data))
        report = ValidationReport(self.target, self.profile)
        for label, ctx in cases:
            streams = []
            outcomes = []
            for engine in ("interp", self.target):
                stream = io.StringIO()
                runtime = Runtime(printf_stream=stream)
                streams.append(stream)
                try:
                    if engine == "interp":
                        res = interp_run(self.program, ctx=ctx, host=host, profile=self.profile,
                                         budget=self.budget, helpers=registry, runtime=runtime)
                    else:
                        res = self.run(ctx=ctx, host=host, helpers=registry, runtime=runtime)
                except EmulationError as error:
                    res = None
                    report.cases.append(Case(label, ctx, outcomes[0], None, str(error)))
                outcomes.append(res)
            if outcomes[1] is None:
                continue
            expected, got = outcomes
            problem = compare_outcomes(expected, got)
            if problem is None and streams[0].getvalue() != streams[1].getvalue():
                problem = "printf output differs"
            report.cases.append(Case(label, ctx, expected, got, problem))
        return report


#: objdump and its options per target, for listings of raw code.
OBJDUMP = {
    "armv7m": ("arm-none-eabi-objdump", ["-b", "binary", "-marm", "-Mforce-thumb"]),
    "rv32imc": ("riscv64-unknown-elf-objdump", ["-b", "binary", "-mriscv:rv32"]),
}


def disassemble_code(target: str, code: bytes, labels: dict[str, int],
                     data_offset: int | None = None) -> str:
    """A listing of `code` with its labels: objdump's when installed, else hex halfwords."""
    names: dict[int, list[str]] = {}
    for name, offset in labels.items():
        names.setdefault(offset, []).append(name)
    body: list[tuple[int, str]] = []
    tool = OBJDUMP.get(target)
    path = shutil.which(tool[0]) if tool else None
    end = len(code) if data_offset is None else data_offset
    if path:
        with tempfile.NamedTemporaryFile(suffix=".bin") as handle:
            handle.write(code[:end])
            handle.flush()
            proc = subprocess.run([path, "-D", *tool[1], handle.name], capture_output=True,
                                  text=True)
        for line in proc.stdout.splitlines():
            head, _, rest = line.partition(":")
            try:
                offset = int(head.strip(), 16)
            except ValueError:
                continue
            if rest.startswith("\t"):
                body.append((offset, f"{offset:6x}:{rest}"))
    else:
        for offset in range(0, end, 2):
            body.append((offset, f"{offset:6x}:\t{code[offset:offset + 2][::-1].hex()}"))
    lines = []
    for offset, text in body:
        for name in names.get(offset, []):
            lines.append(f"{name}:")
        lines.append(text)
    if data_offset is not None and data_offset < len(code):
        lines.append("literal pool:")
        for offset in range(data_offset, len(code), 4):
            word = int.from_bytes(code[offset:offset + 4], "little")
            lines.append(f"{offset:6x}:\t.word {word:#010x}")
    return "\n".join(lines)


def compare_outcomes(expected: RunResult, got: RunResult) -> str | None:
    """None when the outcomes agree, else what differs."""
    if expected.status != got.status:
        return f"status {got.status} (expected {expected.status})"
    if expected.result != got.result:
        return f"result {got.result:#x} (expected {expected.result:#x})"
    for name, data in expected.memory.items():
        other = got.memory.get(name)
        if other != data:
            where = next((i for i, (a, b) in enumerate(zip(data, other or b"")) if a != b),
                         None)
            return f"region {name} differs" + (f" at offset {where}" if where is not None else "")
    return None


@dataclass
class Case:
    label: str
    ctx: bytes
    expected: RunResult
    got: RunResult | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class ValidationReport:
    target: str
    profile: str
    cases: list[Case] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cases)

    @property
    def failures(self) -> list[Case]:
        return [c for c in self.cases if not c.ok]

    def summary(self) -> str:
        n = len(self.cases)
        if self.ok:
            insns = [c.got.insns for c in self.cases if c.got is not None]
            extra = f"; {min(insns)}..{max(insns)} native instructions" if insns else ""
            return (f"validated {self.target} against the interpreter on {n} inputs: all "
                    f"agree (status, result, memory){extra}")
        lines = [f"{self.target}: {len(self.failures)} of {n} inputs differ from the "
                 "interpreter:"]
        for case in self.failures[:10]:
            lines.append(f"  {case.label} (ctx {case.ctx[:16].hex()}"
                         f"{'...' if len(case.ctx) > 16 else ''}): {case.problem}")
        if len(self.failures) > 10:
            lines.append(f"  ... and {len(self.failures) - 10} more")
        return "\n".join(lines)
