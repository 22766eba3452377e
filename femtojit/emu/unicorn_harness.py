"""Cortex-M4 and RV32IMC under Unicorn: call code, count what it retires, police its memory.

One `UnicornHarness` is one emulated machine laid out per `femtojit.memmap` and
`femtojit.emu.layout`. It calls a function at an address per the target's C calling
convention (AAPCS / ilp32) with up to four word arguments, returning to a sentinel in the code
slot, and while the code runs it

- counts retired instructions in the code area (helper stubs and the harness excluded),
  including Thumb instructions an IT block skips: the core issues them, but Unicorn calls no
  code hook for them, so the harness decodes each IT it sees and counts its whole block once;
- checks every load and store against what the code may touch (see `AccessPolicy`), and turns
  anything else, every emulator exception and a runaway loop into EmulationError, whose
  message names the access and the PC;
- runs Python helpers when the code reaches a helper stub: ABI v1 stubs (`fc`, `regs`
  pointer, vm->status on a fault) for translated code, plain C-call stubs for native code;
  after a helper it fills the caller-saved registers it may clobber with a pattern;
- repairs the core's IT state when a memory hook fires inside an IT block (a Unicorn 2.1.4
  bug otherwise makes the following code skip instructions; see `_repair_it_state`).

`run_blob_code` runs translated code per native ABI v1; `run_native` runs a native baseline.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from femtojit.emu import layout
from femtojit.emu.helpercall import MASK32, MASK64, invoke_helper
from femtojit.errors import EmulationError, HelperError, UnknownTargetError
from femtojit.helpers import CheckedMemory, HelperRegistry, Runtime
from femtojit.memmap import (
    CODE_BASE,
    CODE_SLOT,
    CTX_BASE,
    HARNESS_BASE,
    HARNESS_SIZE,
    HELPER_STUB_BASE,
    NATIVE_STACK_BASE,
    NATIVE_STACK_SIZE,
    NATIVE_STACK_TOP,
    PERM_READ,
    PERM_WRITE,
    STACK_TOP,
    MemoryImage,
)
from femtojit.result import RunResult

PAGE = 0x1000
DEFAULT_INSN_LIMIT = 5_000_000  # Python hooks run ~1M instructions/s: ~5 s to catch a runaway

#: Values written into the caller-saved registers a helper call may clobber, so that code
#: relying on them surviving a call fails under emulation instead of on a device.
CLOBBER = 0xC10BB300

#: IT/ICI bits of the Armv7-M xPSR ([26:25] and [15:10]).
XPSR_IT_BITS = 0x3 << 25 | 0x3F << 10


def _page_up(n: int) -> int:
    return max(PAGE, (n + PAGE - 1) // PAGE * PAGE)


@dataclass(frozen=True)
class ArchSpec:
    """What the harness needs to know about one target's ISA and C calling convention."""

    name: str
    uc_arch: int
    uc_mode: int
    cpu_model: int | None
    cpu_model_name: str
    thumb: bool
    pc: int
    sp: int
    ra: int
    args: tuple[int, ...]  # argument registers, in order
    ret: tuple[int, int]  # low and high word of a 64-bit return value
    scratch: tuple[int, ...]  # caller-saved registers besides ret[0] (clobbered by helpers)
    return_insn: bytes  # what a helper stub holds: return to the caller
    park_insn: bytes  # a branch to itself, at the sentinel


def arch_spec(target: str) -> ArchSpec:
    """The ArchSpec of a Unicorn target ("armv7m" or "rv32imc")."""
    import unicorn as uc
    from unicorn import arm_const as arm
    from unicorn import riscv_const as rv

    if target == "armv7m":
        return ArchSpec(
            name=target,
            uc_arch=uc.UC_ARCH_ARM,
            uc_mode=uc.UC_MODE_THUMB,
            cpu_model=arm.UC_CPU_ARM_CORTEX_M4,
            cpu_model_name="Cortex-M4",
            thumb=True,
            pc=arm.UC_ARM_REG_PC,
            sp=arm.UC_ARM_REG_SP,
            ra=arm.UC_ARM_REG_LR,
            args=(arm.UC_ARM_REG_R0, arm.UC_ARM_REG_R1, arm.UC_ARM_REG_R2, arm.UC_ARM_REG_R3),
            ret=(arm.UC_ARM_REG_R0, arm.UC_ARM_REG_R1),
            scratch=(arm.UC_ARM_REG_R1, arm.UC_ARM_REG_R2, arm.UC_ARM_REG_R3, arm.UC_ARM_REG_R12),
            return_insn=b"\x70\x47",  # bx lr
            park_insn=b"\xfe\xe7",  # b .
        )
    if target == "rv32imc":
        t_regs = (rv.UC_RISCV_REG_T0, rv.UC_RISCV_REG_T1, rv.UC_RISCV_REG_T2)
        t_regs += (rv.UC_RISCV_REG_T3, rv.UC_RISCV_REG_T4, rv.UC_RISCV_REG_T5)
        t_regs += (rv.UC_RISCV_REG_T6,)
        a_regs = tuple(getattr(rv, f"UC_RISCV_REG_A{i}") for i in range(8))
        return ArchSpec(
            name=target,
            uc_arch=uc.UC_ARCH_RISCV,
            uc_mode=uc.UC_MODE_RISCV32,
            cpu_model=rv.UC_CPU_RISCV32_SIFIVE_E31,  # RV32IMAC: the closest model to IMC
            cpu_model_name="SiFive E31",
            thumb=False,
            pc=rv.UC_RISCV_REG_PC,
            sp=rv.UC_RISCV_REG_SP,
            ra=rv.UC_RISCV_REG_RA,
            args=a_regs[:5],
            ret=(a_regs[0], a_regs[1]),
            scratch=a_regs[1:] + t_regs,
            return_insn=struct.pack("<I", 0x0000_8067),  # jalr x0, 0(ra)
            park_insn=struct.pack("<I", 0x0000_006F),  # jal x0, .
        )
    raise UnknownTargetError(
        f"no Unicorn harness for target {target!r} (have: {', '.join(layout.UNICORN_TARGETS)})"
    )


def open_unicorn(target: str, cpu_model: int | None = None):
    """A fresh Uc for `target`, with its CPU model set and checked (see select_cpu_model)."""
    from unicorn import Uc

    spec = arch_spec(target)
    machine = Uc(spec.uc_arch, spec.uc_mode)
    model = spec.cpu_model if cpu_model is None else cpu_model
    if model is not None:
        select_cpu_model(machine, model)
    return machine


def select_cpu_model(machine, model: int) -> None:
    """Set the CPU model, then read it back: EmulationError unless it is the one asked for.

    Unicorn can silently keep another model (opened with UC_MODE_MCLASS, 2.1.4 stays a
    Cortex-M33 whatever is asked), and the harness's figures only mean something on the
    right core.
    """
    from unicorn import UcError

    try:
        machine.ctl_set_cpu_model(model)
        got = machine.ctl_get_cpu_model()
    except UcError as error:
        raise EmulationError(f"Unicorn refused CPU model {model}: {error}") from None
    if got != model:
        raise EmulationError(f"Unicorn kept CPU model {got} when asked for model {model}")


@dataclass
class AccessPolicy:
    """Address ranges [start, end) the code may read and write; everything else is a breach."""

    read: list[tuple[int, int]] = field(default_factory=list)
    write: list[tuple[int, int]] = field(default_factory=list)

    def allows(self, write: bool, addr: int, size: int) -> bool:
        end = addr + size
        for start, stop in self.write if write else self.read:
            if start <= addr and end <= stop:
                return True
        return False


@dataclass(frozen=True)
class StubTarget:
    """What a helper stub stands for: `abi` (ABI v1 call) or `native` (plain C call)."""

    kind: str
    helper_id: int


@dataclass
class CallOutcome:
    """Return registers and the retired-instruction count of one call."""

    ret: tuple[int, int]
    insns: int

    @property
    def value64(self) -> int:
        return self.ret[0] | self.ret[1] << 32


class UnicornHarness:
    """One emulated target with the canonical memory map and the code under test loaded."""

    def __init__(
        self,
        target: str,
        code: bytes,
        image: MemoryImage,
        *,
        insn_limit: int = DEFAULT_INSN_LIMIT,
        cpu_model: int | None = None,
    ):
        from unicorn import UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE

        if len(code) > CODE_SLOT - 2 * PAGE:
            raise EmulationError(f"code of {len(code)} bytes does not fit the code slot")
        self.spec = arch_spec(target)
        self.target = target
        self.code = bytes(code)
        self.image = image
        self.insn_limit = insn_limit
        self.uc = open_unicorn(target, cpu_model)
        self.helpers: HelperRegistry | None = None
        self.runtime = Runtime()
        self.profile = "femto"
        self.stubs: dict[int, StubTarget] = {}
        self.policy = AccessPolicy()
        self.helper_calls = 0

        rx = UC_PROT_READ | UC_PROT_EXEC
        rw = UC_PROT_READ | UC_PROT_WRITE
        uc = self.uc
        uc.mem_map(CODE_BASE, _page_up(len(self.code)), rx)
        uc.mem_write(CODE_BASE, self.code)
        uc.mem_map(layout.SENTINEL_ADDR, PAGE, rx)
        uc.mem_write(layout.SENTINEL_ADDR, self.spec.park_insn)
        uc.mem_map(HELPER_STUB_BASE, layout.STUB_AREA_SIZE, rx)
        uc.mem_map(HARNESS_BASE, HARNESS_SIZE, rw)
        uc.mem_map(NATIVE_STACK_BASE, NATIVE_STACK_SIZE, rw)
        for region in image.regions:
            uc.mem_map(region.start, _page_up(len(region.data)), rw)
            if region.data:
                uc.mem_write(region.start, bytes(region.data))

        policy = self.policy
        for region in image.regions:
            span = (region.start, region.start + len(region.data))
            if region.perm & PERM_READ:
                policy.read.append(span)
            if region.perm & PERM_WRITE:
                policy.write.append(span)
        policy.read.append((NATIVE_STACK_BASE, NATIVE_STACK_TOP))
        policy.write.append((NATIVE_STACK_BASE, NATIVE_STACK_TOP))
        policy.read.append((CODE_BASE, CODE_BASE + len(self.code)))  # literal pools

        self._count = 0
        self._it_pending: list[int] = []
        self._last_pc = 0
        self._in_it = False
        self._error: str | None = None
        self._exception: BaseException | None = None
        self._it_heads = self._find_it_heads() if self.spec.thumb else frozenset()
        self._install_hooks()

    # ---- set-up -------------------------------------------------------------------------

    def use_helpers(self, registry: HelperRegistry, runtime: Runtime, profile: str) -> None:
        self.helpers = registry
        self.runtime = runtime
        self.profile = profile

    def add_stub(self, addr: int, target: StubTarget) -> None:
        self.stubs[addr] = target
        self.uc.mem_write(addr, self.spec.return_insn)

    def setup_abi_vm(self, imports: Sequence[int], budget: int | None) -> int:
        """Lay out fjit_vm_t, the region and helper tables; allow what ABI v1 code may touch.

        Returns the vm address (the entry's argument).
        """
        registry = self.helpers or HelperRegistry()
        missing = [i for i in imports if i not in registry]
        if missing:
            names = ", ".join(f"{i:#x}" for i in missing)
            raise HelperError(f"the blob imports helpers with no implementation: {names}")
        if len(imports) > layout.MAX_IMPORTS:
            raise HelperError(f"a blob may import at most {layout.MAX_IMPORTS} helpers")
        thumb = 1 if self.spec.thumb else 0
        table = b""
        for index, helper_id in enumerate(imports):
            addr = layout.abi_stub_address(index)
            self.add_stub(addr, StubTarget("abi", helper_id))
            table += struct.pack("<I", addr | thumb)
        uc = self.uc
        uc.mem_write(
            layout.VM_ADDR, layout.pack_vm(self.image, budget, stack_top=STACK_TOP, ctx=CTX_BASE)
        )
        uc.mem_write(layout.REGION_TABLE_ADDR, layout.pack_region_table(self.image))
        uc.mem_write(layout.HELPER_TABLE_ADDR, table)
        vm = layout.VM_ADDR
        read = self.policy.read
        read.append((vm, vm + layout.VM_SIZE))
        table_size = layout.REGION_ENTRY_SIZE * len(self.image.regions)
        read.append((layout.REGION_TABLE_ADDR, layout.REGION_TABLE_ADDR + table_size))
        read.append((layout.HELPER_TABLE_ADDR, layout.HELPER_TABLE_ADDR + len(table)))
        write = self.policy.write
        write.append((vm + layout.VM_BRANCHES_REMAINING, vm + layout.VM_STATUS + 4))
        write.append((vm + layout.VM_RESULT, vm + layout.VM_SIZE))
        return vm

    def setup_native_helpers(self, helper_ids: Sequence[int]) -> None:
        """Native stubs for `helper_ids` (native C linked them at native_stub_address)."""
        registry = self.helpers or HelperRegistry()
        for helper_id in helper_ids:
            if helper_id not in registry:
                raise HelperError(f"no implementation for helper {helper_id:#x}")
            self.add_stub(layout.native_stub_address(helper_id), StubTarget("native", helper_id))

    def _find_it_heads(self) -> frozenset[int]:
        """Addresses of every halfword in the code that encodes an IT instruction."""
        code = self.code
        heads = set()
        for off in range(0, len(code) - 1, 2):
            if code[off + 1] == 0xBF and code[off] & 0x0F:
                heads.add(CODE_BASE + off)
        return frozenset(heads)

    def _it_block(self, addr: int) -> list[int]:
        """Addresses of the instructions in the IT block whose IT is at `addr`."""
        mask = self.code[addr - CODE_BASE] & 0x0F
        length = 4 - (mask & -mask).bit_length() + 1
        out = []
        here = addr + 2
        for _ in range(length):
            off = here - CODE_BASE
            if off + 2 > len(self.code):
                break
            out.append(here)
            first = self.code[off + 1] >> 3
            here += 4 if first in (0b11101, 0b11110, 0b11111) else 2
        return out

    # ---- hooks --------------------------------------------------------------------------

    def _install_hooks(self) -> None:
        from unicorn import (
            UC_HOOK_CODE,
            UC_HOOK_MEM_INVALID,
            UC_HOOK_MEM_READ,
            UC_HOOK_MEM_WRITE,
        )

        uc = self.uc
        uc.hook_add(
            UC_HOOK_CODE,
            self._guarded(self._on_code),
            begin=CODE_BASE,
            end=CODE_BASE + CODE_SLOT - 1,
        )
        uc.hook_add(
            UC_HOOK_CODE,
            self._guarded(self._on_stub),
            begin=HELPER_STUB_BASE,
            end=HELPER_STUB_BASE + layout.STUB_AREA_SIZE - 1,
        )
        uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._guarded(self._on_access))
        uc.hook_add(UC_HOOK_MEM_INVALID, self._on_invalid)

    def _guarded(self, hook):
        """Wrap a hook so that a Python exception stops the emulation and is re-raised."""

        def run(uc, *args):
            try:
                hook(uc, *args)
            except BaseException as exc:  # re-raised by call() once Unicorn has returned
                if self._exception is None:
                    self._exception = exc
                uc.emu_stop()

        return run

    def _fail(self, message: str) -> None:
        if self._error is None:
            self._error = message
        self.uc.emu_stop()

    def _on_code(self, uc, address: int, size: int, _user) -> None:
        self._last_pc = address
        self._in_it = False
        pending = self._it_pending
        if pending:
            if address in pending:
                # Counted with its IT; drop it and whatever the block skipped before it.
                del pending[: pending.index(address) + 1]
                self._in_it = True
                return
            pending.clear()
        if address >= CODE_BASE + len(self.code):
            self._fail(f"execution outside the code at {address:#x}")
            return
        self._count += 1
        if address in self._it_heads and size == 2:
            block = self._it_block(address)
            self._count += len(block)
            self._it_pending = block
        if self._count > self.insn_limit:
            self._fail(
                f"instruction limit of {self.insn_limit} reached (runaway loop?) at {address:#x}"
            )

    def _on_access(self, uc, access: int, address: int, size: int, value: int, _user) -> None:
        from unicorn import UC_MEM_WRITE

        if self._in_it:
            self._repair_it_state()
        write = access == UC_MEM_WRITE
        if not self.policy.allows(write, address, size):
            kind = "write" if write else "read"
            self._fail(
                f"isolation failure: {kind} of {size} bytes at {address:#x} "
                f"by code at {self._last_pc:#x}"
            )

    def _repair_it_state(self) -> None:
        """Work around a Unicorn 2.1.4 bug: a memory hook that fires inside an IT block
        leaves the core's IT state as it was at that instruction (Unicorn restores the state
        of the instruction to report its PC, and the translated block only writes the IT
        state back when the block ends inside an IT block). The next translated block then
        believes it is inside the IT block and skips or misexecutes instructions (seen:
        bubble sort's `it hi; strdhi` loop never ending; unicorn-engine/unicorn#2309).
        Clearing the IT bits here is exact: the rest of this translated block uses the IT
        state fixed at translation, and a block that ends inside the IT block writes the
        right state back."""
        from unicorn.arm_const import UC_ARM_REG_XPSR

        xpsr = self.uc.reg_read(UC_ARM_REG_XPSR)
        if xpsr & XPSR_IT_BITS:
            self.uc.reg_write(UC_ARM_REG_XPSR, xpsr & ~XPSR_IT_BITS)

    def _on_invalid(self, uc, access: int, address: int, size: int, value: int, _user) -> bool:
        import unicorn as u

        kinds = {
            u.UC_MEM_READ_UNMAPPED: "read of unmapped memory",
            u.UC_MEM_WRITE_UNMAPPED: "write of unmapped memory",
            u.UC_MEM_FETCH_UNMAPPED: "fetch from unmapped memory",
            u.UC_MEM_READ_PROT: "read of protected memory",
            u.UC_MEM_WRITE_PROT: "write of protected memory",
            u.UC_MEM_FETCH_PROT: "fetch from non-executable memory",
        }
        kind = kinds.get(access, f"invalid access {access}")
        if self._error is None:
            self._error = (
                f"isolation failure: {kind} ({size} bytes at {address:#x}) "
                f"by code at {self._last_pc:#x}"
            )
        return False

    def _on_stub(self, uc, address: int, size: int, _user) -> None:
        target = self.stubs.get(address)
        if target is None:
            self._fail(f"jump to {address:#x} in the helper stub area, which holds no helper")
            return
        self.helper_calls += 1
        if target.kind == "abi":
            self._abi_helper(target.helper_id)
        else:
            self._native_helper(target.helper_id)

    def _read_u64s(self, addr: int, count: int) -> list[int]:
        return list(struct.unpack(f"<{count}Q", self.uc.mem_read(addr, 8 * count)))

    def _memory(self, native: bool = False) -> CheckedMemory:
        extra = [(NATIVE_STACK_BASE, NATIVE_STACK_TOP, PERM_READ | PERM_WRITE)] if native else []
        return CheckedMemory.for_regions(
            self.image.regions, self.uc.mem_read, self.uc.mem_write, extra
        )

    def _clobber_scratch(self, keep: int) -> None:
        for i, reg in enumerate(self.spec.scratch[keep:]):
            self.uc.reg_write(reg, (CLOBBER + i) & MASK32)

    def _abi_helper(self, helper_id: int) -> None:
        """ABI v1: helper(fc, regs) with vm->regs filled; fault status goes to vm->status."""
        spec, uc = self.spec, self.uc
        fc = uc.reg_read(spec.args[0])
        regs_ptr = uc.reg_read(spec.args[1])
        vm_regs = layout.VM_ADDR + layout.VM_REGS
        if fc != layout.FC_ADDR or regs_ptr != vm_regs:
            self._fail(
                f"helper {helper_id:#x} called with fc={fc:#x} regs={regs_ptr:#x} from "
                f"{self._last_pc:#x} (ABI v1 wants fc={layout.FC_ADDR:#x} regs={vm_regs:#x})"
            )
            return
        assert self.helpers is not None
        regs = self._read_u64s(vm_regs, 11)
        outcome = invoke_helper(
            self.helpers, helper_id, regs, self._memory(), self.runtime, self.profile
        )
        if outcome.status:
            uc.mem_write(layout.VM_ADDR + layout.VM_STATUS, struct.pack("<i", outcome.status))
        else:
            uc.mem_write(vm_regs + 8, struct.pack("<5Q", *outcome.regs[1:6]))
        uc.reg_write(spec.ret[0], outcome.value & MASK32)
        if self.profile == "femto":
            self._clobber_scratch(0)
        else:
            uc.reg_write(spec.ret[1], outcome.value >> 32 & MASK32)
            self._clobber_scratch(1)

    def _native_helper(self, helper_id: int) -> None:
        """A plain C call: arguments in registers (the 5th on the stack for AAPCS)."""
        spec, uc = self.spec, self.uc
        args = [uc.reg_read(r) for r in spec.args]
        if len(args) < 5:
            sp = uc.reg_read(spec.sp)
            args += list(struct.unpack("<I", uc.mem_read(sp, 4)))
        regs = [0] + args[:5] + [0] * 5
        assert self.helpers is not None
        outcome = invoke_helper(
            self.helpers, helper_id, regs, self._memory(native=True), self.runtime, self.profile
        )
        if outcome.status:
            self._fail(
                f"native helper {helper_id:#x} faulted with status {outcome.status} "
                f"({outcome.message}) when called from {uc.reg_read(spec.ra):#x}"
            )
            return
        uc.reg_write(spec.ret[0], outcome.value & MASK32)
        uc.reg_write(spec.ret[1], outcome.value >> 32 & MASK32)
        self._clobber_scratch(1)

    # ---- running ------------------------------------------------------------------------

    def call(self, entry_offset: int, args: Sequence[int] = ()) -> CallOutcome:
        """Call the code at CODE_BASE + entry_offset per the C convention; count its work."""
        from unicorn import UcError

        spec, uc = self.spec, self.uc
        if not 0 <= entry_offset < len(self.code):
            raise EmulationError(f"entry offset {entry_offset} outside {len(self.code)} bytes")
        if len(args) > 4:
            raise EmulationError("the harness passes at most 4 word arguments")
        for reg, value in zip(spec.args, args):
            uc.reg_write(reg, value & MASK32)
        thumb = 1 if spec.thumb else 0
        uc.reg_write(spec.sp, NATIVE_STACK_TOP)
        uc.reg_write(spec.ra, layout.SENTINEL_ADDR | thumb)
        self._count = 0
        self._it_pending = []
        self._in_it = False
        self._error = None
        self._exception = None
        entry = CODE_BASE + entry_offset
        self._last_pc = entry
        try:
            uc.emu_start(entry | thumb, layout.SENTINEL_ADDR)
        except UcError as error:
            if self._exception is not None:
                raise self._exception from None
            detail = self._error or f"{error} at pc {uc.reg_read(spec.pc):#x}"
            raise EmulationError(
                f"{self.target}: {detail} (last code pc {self._last_pc:#x})"
            ) from None
        if self._exception is not None:
            raise self._exception
        if self._error is not None:
            raise EmulationError(f"{self.target}: {self._error}")
        pc = uc.reg_read(spec.pc)
        if pc != layout.SENTINEL_ADDR:
            raise EmulationError(
                f"{self.target}: emulation stopped at {pc:#x} before returning "
                f"(last code pc {self._last_pc:#x})"
            )
        ret = (uc.reg_read(spec.ret[0]) & MASK32, uc.reg_read(spec.ret[1]) & MASK32)
        return CallOutcome(ret, self._count)

    def read_regions(self) -> dict[str, bytes]:
        """Region contents as they are now in emulated memory, by region name."""
        return {r.name: bytes(self.uc.mem_read(r.start, len(r.data))) for r in self.image.regions}

    def read_vm(self) -> tuple[int, int, int]:
        """(status, result, branches_remaining) from the fjit_vm_t."""
        raw = self.uc.mem_read(layout.VM_ADDR, layout.VM_REGS)
        remaining, status, _reserved, result = struct.unpack_from("<IiIQ", raw, 28)
        return status, result, remaining


def run_blob_code(
    arch: str,
    code: bytes,
    entry_offset: int,
    memory_image: MemoryImage,
    imports: Sequence[int] = (),
    helpers: HelperRegistry | None = None,
    runtime: Runtime | None = None,
    profile: str = "femto",
    budget: int | None = None,
    *,
    insn_limit: int = DEFAULT_INSN_LIMIT,
) -> RunResult:
    """Run translated code per native ABI v1: `int32_t entry(fjit_vm_t *vm)`.

    Returns the status and result from the vm struct, the regions read back from emulated
    memory, and the native instructions retired between entry and return (`insns`).
    """
    harness = UnicornHarness(arch, code, memory_image, insn_limit=insn_limit)
    harness.use_helpers(helpers or HelperRegistry(), runtime or Runtime(), profile)
    vm = harness.setup_abi_vm(list(imports), budget)
    outcome = harness.call(entry_offset, [vm])
    status, result, remaining = harness.read_vm()
    returned = outcome.ret[0] - (1 << 32) if outcome.ret[0] & 0x8000_0000 else outcome.ret[0]
    if returned != status:
        raise EmulationError(
            f"{arch}: entry returned {returned} but vm->status is {status} (ABI v1: they agree)"
        )
    return RunResult(
        status=status,
        result=result & MASK64,
        engine=arch,
        insns=outcome.insns,
        memory=harness.read_regions(),
        extra={
            "code_bytes": len(code),
            "helper_calls": harness.helper_calls,
            "branches_remaining": None if budget is None else remaining,
        },
    )


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
) -> RunResult:
    """Call a native baseline (C compiled by the target's gcc) with `args`; 64-bit result.

    Native code reaches helpers through stubs at `layout.native_stub_address(id)`; every
    helper of the registry (or just `helper_ids`) gets one. It may touch the regions (as
    permitted), its own stack and its code (literals, constant tables), nothing else.
    """
    registry = helpers or HelperRegistry()
    harness = UnicornHarness(target, code, memory_image, insn_limit=insn_limit)
    harness.use_helpers(registry, runtime or Runtime(), "femto")
    ids = (
        list(helper_ids)
        if helper_ids is not None
        else [i for i in registry.ids() if i < layout.MAX_NATIVE_HELPER_ID]
    )
    harness.setup_native_helpers(ids)
    outcome = harness.call(entry_offset, list(args))
    return RunResult(
        status=0,
        result=outcome.value64,
        engine=f"native-{target}",
        insns=outcome.insns,
        memory=harness.read_regions(),
        extra={"code_bytes": len(code), "helper_calls": harness.helper_calls},
    )
