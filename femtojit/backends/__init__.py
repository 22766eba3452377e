"""The table of translation targets. One explicit table; backends never register themselves.

Each entry names the module implementing the target; it is imported only when the target is
used, so `femtojit --help` does not pay for it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from femtojit.errors import TranslateError, UnknownTargetError


@dataclass(frozen=True)
class TargetInfo:
    name: str
    module: str
    description: str
    blob_id: int  # the target byte of the blob header (docs/abi.md)


TARGETS: dict[str, TargetInfo] = {
    "armv7m": TargetInfo(
        "armv7m", "femtojit.backends.armv7m", "Arm Cortex-M3/M4 (ARMv7-M Thumb-2, AAPCS)", 1
    ),
    "rv32imc": TargetInfo(
        "rv32imc", "femtojit.backends.rv32", "RISC-V RV32IMC (ilp32), e.g. ESP32-C3", 2
    ),
}


def target_info(name: str) -> TargetInfo:
    try:
        return TARGETS[name]
    except KeyError:
        known = ", ".join(TARGETS)
        raise UnknownTargetError(f"unknown target {name!r} (known targets: {known})") from None


def get_backend(name: str):
    """The backend module of a target (its BACKEND object)."""
    info = target_info(name)
    try:
        module = importlib.import_module(info.module)
    except ModuleNotFoundError as error:
        if error.name and info.module.startswith(error.name):
            raise TranslateError(f"target {name!r} is not available yet") from None
        raise
    backend = getattr(module, "BACKEND", None)
    if backend is None:
        raise TranslateError(f"target {name!r} is not available yet")
    return backend
