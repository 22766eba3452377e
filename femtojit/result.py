"""The outcome of one run, the same shape for every engine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from femtojit.status import status_label


@dataclass
class RunResult:
    """Status, 64-bit result and memory after a run.

    `insns` counts what the engine executed: eBPF instructions for the interpreter, retired
    native instructions for a translation under emulation.
    """

    status: int
    result: int
    engine: str
    insns: int = 0
    memory: dict[str, bytes] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def status_name(self) -> str:
        return status_label(self.status)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "status": self.status_name,
            "code": self.status,
            "result": self.result & 0xFFFFFFFFFFFFFFFF,
            "engine": self.engine,
            "insns": self.insns,
        }
        out.update(self.extra)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    def same_outcome(self, other: RunResult) -> bool:
        """Status, result and memory equal: the contract between engines."""
        return (
            self.status == other.status
            and (self.result & 0xFFFFFFFFFFFFFFFF) == (other.result & 0xFFFFFFFFFFFFFFFF)
            and self.memory == other.memory
        )
