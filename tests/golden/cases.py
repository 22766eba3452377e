"""Case books for the encoder golden tests.

A sweep takes one encoder, a base set of arguments and, per argument, the values to try one
at a time (every register, the immediate edges on both sides of the legal range). The
test's own `legal` predicate, written from the manual's rules, says which argument sets the
encoder must accept — those are compared byte for byte with the assembler's output for the
same instruction text — and which it must refuse with EncodingError.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


class Reg(int):
    """A register number that formats as its assembler name, for instruction templates."""

    NAMES: tuple[str, ...] = ()

    def __format__(self, spec: str) -> str:
        return self.NAMES[self] if 0 <= self < len(self.NAMES) else f"?{int(self)}"

    def __repr__(self) -> str:
        return format(self)


@dataclass
class Case:
    name: str  # the encoder (or group) it tests
    call: Callable[..., bytes]
    kwargs: dict
    asm: str | None  # the oracle's text (for refused cases: best effort, may be None)
    disasm: bool = False  # `asm` is what the disassembler must print for our bytes

    def describe(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.kwargs.items())
        return f"{self.name}({args})"


@dataclass
class CaseBook:
    good: dict[str, list[Case]] = field(default_factory=lambda: defaultdict(list))
    bad: dict[str, list[Case]] = field(default_factory=lambda: defaultdict(list))

    def sweep(
        self,
        call: Callable[..., bytes],
        asm: str | Callable[[dict], str],
        base: dict,
        vary: dict[str, Iterable] | None = None,
        legal: Callable[[dict], bool] = lambda args: True,
        extra: Iterable[dict] = (),
        name: str | None = None,
        disasm_when: Callable[[dict], bool] = lambda args: False,
    ) -> None:
        """Add `base`, `base` with each `vary` value substituted one at a time, and each of
        `extra` (merged over `base`), as good or bad cases by `legal`. Where the assembler
        would pick another valid encoding for the same text (`disasm_when`), the oracle is
        instead the disassembler, which must print that text for the encoder's bytes."""
        name = name or call.__name__
        candidates = [dict(base)]
        for key, values in (vary or {}).items():
            candidates += [{**base, key: value} for value in values]
        candidates += [{**base, **more} for more in extra]
        seen = set()
        for args in candidates:
            key = repr(sorted(args.items()))
            if key in seen:
                continue
            seen.add(key)
            if legal(args):
                text = asm(args) if callable(asm) else asm.format(**args)
                self.good[name].append(Case(name, call, args, text, disasm_when(args)))
            else:
                self.bad[name].append(Case(name, call, args, _render(asm, args)))

    def names(self) -> list[str]:
        return sorted(set(self.good) | set(self.bad))

    def all_asm(self) -> list[str]:
        return sorted(
            {case.asm for cases in self.good.values() for case in cases if not case.disasm}
        )

    def disasm_cases(self) -> list[Case]:
        return [case for cases in self.good.values() for case in cases if case.disasm]


def _render(asm: str | Callable[[dict], str], args: dict) -> str | None:
    """The text of a refused case, for asking the assembler whether it refuses it too."""
    try:
        text = asm(args) if callable(asm) else asm.format(**args)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError):
        return None
    return None if "?" in text else text


def check_good(cases: list[Case], oracle: dict[str, bytes]) -> list[str]:
    """Mismatches between each case's encoding and the oracle's bytes."""
    problems = []
    for case in cases:
        if case.disasm:
            continue
        want = oracle[case.asm]
        try:
            got = case.call(**case.kwargs)
        except Exception as error:  # noqa: BLE001 - reported as a failure with its case
            problems.append(f"{case.describe()} raised {error!r}; `{case.asm}` is {want.hex()}")
            continue
        if got != want:
            problems.append(
                f"{case.describe()} = {got.hex()}, but `{case.asm}` assembles to {want.hex()}"
            )
    return problems


def check_bad(cases: list[Case], error_type: type[Exception]) -> list[str]:
    """Cases that did not raise `error_type`."""
    problems = []
    for case in cases:
        try:
            got = case.call(**case.kwargs)
        except error_type:
            continue
        except Exception as error:  # noqa: BLE001
            problems.append(f"{case.describe()} raised {error!r}, not {error_type.__name__}")
            continue
        problems.append(f"{case.describe()} = {got.hex()}, but must raise")
    return problems


def normalize_asm(text: str, comment: str) -> str:
    """Assembly text with its comment dropped and spacing canonical, for comparing."""
    text = text.split(comment)[0].lower()
    return " ".join(text.replace(",", ", ").split()).replace(" ,", ",")


def check_disasm(cases: list[Case], disassembly: dict[int, str], comment: str) -> list[str]:
    """Cases whose bytes the disassembler does not print as their text; `disassembly` maps
    id(case) to the printed text (or to an error message)."""
    problems = []
    for case in cases:
        got = disassembly.get(id(case), "<missing>")
        if normalize_asm(got, comment) != normalize_asm(case.asm, comment):
            problems.append(f"{case.describe()} disassembles to `{got}`, not `{case.asm}`")
    return problems
