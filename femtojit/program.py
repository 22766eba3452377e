"""The one Program model every loader produces and every later stage reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from femtojit import isa
from femtojit.isa import Insn


@dataclass(frozen=True)
class Function:
    """A named entry point: `slot` is its index in Program.slots."""

    name: str
    slot: int


@dataclass
class Program:
    """Bytecode plus the data it needs.

    slots     every 8-byte slot of .text, decoded (the second half of an LDDW is a slot too)
    data      initial .data image (.bss appended, zero-filled), read-write at run time
    rodata    .rodata image (all .rodata* sections merged), read-only at run time
    functions named entry points (from a container's function table or an ELF's symbols)
    entry     slot index where execution starts
    origin    what it was loaded from, for messages ("fletcher.o (ELF)")
    """

    slots: list[Insn]
    data: bytes = b""
    rodata: bytes = b""
    functions: list[Function] = field(default_factory=list)
    entry: int = 0
    origin: str = ""

    @property
    def text(self) -> bytes:
        """The bytecode as bytes."""
        return isa.encode(self.slots)

    def __len__(self) -> int:
        return len(self.slots)

    def function_named(self, name: str) -> Function:
        from femtojit.errors import FemtojitError

        for function in self.functions:
            if function.name == name:
                return function
        known = ", ".join(f.name for f in self.functions) or "none"
        raise FemtojitError(f"no function named {name!r} (functions: {known})")

    def with_entry(self, name: str | None) -> Program:
        """This program with execution starting at function `name` (unchanged for None)."""
        if name is None:
            return self
        function = self.function_named(name)
        return Program(
            self.slots, self.data, self.rodata, list(self.functions), function.slot, self.origin
        )

    # The rest of the library API, as methods, imported lazily so that loading stays light.

    def verify(self, profile: str = "femto"):
        """Check the static rules; raise VerifyError on the first broken one."""
        from femtojit.verify import verify

        return verify(self, profile=profile)

    def disassemble(self) -> str:
        from femtojit.asm import disassemble

        return disassemble(self)

    def run(self, **kwargs):
        """Run on an engine (default: the interpreter); see femtojit.run."""
        from femtojit.api import run

        return run(self, **kwargs)

    def translate(self, target: str, **kwargs):
        from femtojit.api import translate

        return translate(self, target=target, **kwargs)
