"""Emulation harnesses: run translated blobs and native baselines on emulated targets.

- `unicorn_harness`: Cortex-M4 (Thumb-2) and RV32IMC under Unicorn, with per-instruction
  counting, helper dispatch through stub addresses, and an isolation check on every memory
  access. `run_blob_code` runs translated code per native ABI v1; `run_native` runs a C
  function compiled by the target's gcc.
- `qemu_xtensa`: native baselines for the ESP8266's LX106 (call0 ABI) under `qemu-xtensa`.
- `layout`: where the harness puts the vm struct, the tables, the helper stubs and the
  return sentinel inside the emulation-only areas of `femtojit.memmap`.

Nothing heavy is imported here: unicorn is loaded by the functions that need it.
"""

from __future__ import annotations

from femtojit.emu.layout import NATIVE_TARGETS, UNICORN_TARGETS

__all__ = ["NATIVE_TARGETS", "UNICORN_TARGETS", "run_blob_code", "run_native"]


def run_blob_code(*args, **kwargs):
    """Run translated code under Unicorn per ABI v1; see unicorn_harness.run_blob_code."""
    from femtojit.emu.unicorn_harness import run_blob_code as _run

    return _run(*args, **kwargs)


def run_native(target: str, *args, **kwargs):
    """Run a native baseline on its emulator (Unicorn, or qemu-xtensa for xtensa-lx106)."""
    if target in UNICORN_TARGETS:
        from femtojit.emu.unicorn_harness import run_native as _run

        return _run(target, *args, **kwargs)
    from femtojit.emu.qemu_xtensa import run_native as _run_xtensa

    return _run_xtensa(target, *args, **kwargs)
