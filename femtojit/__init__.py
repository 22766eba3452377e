"""femtojit: Femto-Container eBPF bytecode to isolated native code, checked under emulation.

The library API (everything the CLI does, a few calls away):

    import femtojit
    prog = femtojit.load("app.o", entry="main")     # .bin, .o, .s or raw bytecode
    prog.verify(profile="femto")                     # raises VerifyError
    res = femtojit.run(prog, ctx=b"...")             # interpreter; RunResult
    tr = femtojit.translate(prog, target="armv7m")   # Translation: code, size, run()

Heavy dependencies (numba, unicorn, keystone) are imported only by the calls that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from femtojit.errors import (
    AsmError,
    EmulationError,
    FemtojitError,
    HelperError,
    LoadError,
    TranslateError,
    UnknownTargetError,
    VerifyError,
)
from femtojit.memmap import HostRegion
from femtojit.program import Function, Program
from femtojit.result import RunResult
from femtojit.status import Status

__all__ = [
    "AsmError",
    "EmulationError",
    "FemtojitError",
    "Function",
    "HelperError",
    "HostRegion",
    "LoadError",
    "Program",
    "RunResult",
    "Status",
    "TranslateError",
    "UnknownTargetError",
    "VerifyError",
    "assemble",
    "disassemble",
    "load",
    "run",
    "translate",
    "verify",
]


def load(source, *, entry: str | None = None, kind: str | None = None) -> Program:
    """Load a program from a path or bytes; the format is recognised from the content."""
    from femtojit.loaders import load as _load

    return _load(source, entry=entry, kind=kind)


def assemble(text: str) -> Program:
    """Assemble text in the bpf_conformance syntax into a Program."""
    from femtojit.asm import assemble_program

    return assemble_program(text)


def disassemble(program: Program) -> str:
    from femtojit.asm import disassemble as _disassemble

    return _disassemble(program)


def verify(program: Program, profile: str = "femto"):
    from femtojit.verify import verify as _verify

    return _verify(program, profile=profile)


def run(program: Program, **kwargs) -> RunResult:
    """Run a program; see femtojit.api.run for the options."""
    from femtojit.api import run as _run

    return _run(program, **kwargs)


def translate(program: Program, target: str, **kwargs):
    """Translate a program for a target; see femtojit.api.translate."""
    from femtojit.api import translate as _translate

    return _translate(program, target=target, **kwargs)
