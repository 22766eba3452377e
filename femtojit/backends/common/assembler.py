"""A target-independent assembler buffer: labels, branch relaxation, final bytes.

Instruction selection appends items to an `Assembler`: fixed instructions (bytes already
encoded by the target's checked encoders), label bindings, and *relaxable* items, whose size
depends on where things end up (a conditional branch that may need a longer form, a jump, a
PC-relative address). A relaxable item lists its possible sizes (`sizes()`, shortest first),
says whether its current form reaches from an address (`fits`), and encodes itself
(`encode`).

Layout starts every relaxable item in its shortest form and grows the ones that do not reach
until nothing changes; sizes only grow, so this ends. Then every item is encoded through the
target's checked encoders, so a displacement that does not fit can only be an
EncodingError, never wrong bytes.

A target that places data after the code (a literal pool) overrides `place_data` (called
after each layout pass with the end of the code, it returns a context handed to `fits` and
`encode`) and `data_bytes` (the bytes to append).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from femtojit.backends.common.fields import EncodingError


class Label:
    """A position in the code; `address` is set by layout."""

    __slots__ = ("name", "address")

    def __init__(self, name: str):
        self.name = name
        self.address: int | None = None

    def __repr__(self) -> str:
        return f"Label({self.name})"


class Relaxable:
    """Base of the items whose size depends on layout. `form` indexes `sizes()`."""

    form: int = 0

    def sizes(self) -> tuple[int, ...]:
        raise NotImplementedError

    def fits(self, at: int, context) -> bool:
        """Whether the current form, placed at `at`, reaches what it refers to."""
        raise NotImplementedError

    def encode(self, at: int, context) -> tuple[bytes, int]:
        """The bytes of the current form at `at`, and how many instructions they are."""
        raise NotImplementedError


@dataclass
class _Raw:
    data: bytes
    count: int


@dataclass
class _Bind:
    label: Label


@dataclass
class Assembled:
    code: bytes
    labels: dict[str, int] = field(default_factory=dict)
    data_offset: int = 0  # where appended data (a literal pool) starts; len(code) if none
    instructions: int = 0  # instructions emitted (appended data excluded)
    tags: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, what)


class Assembler:
    """An append-only list of items; `assemble()` lays it out and encodes it."""

    def __init__(self):
        self.items: list = []
        self._names: dict[str, int] = {}
        self._tags: list[str] = []
        self._addresses: list[int] = []
        self.tag = ""  # what the items appended now are for (profiles, listings)

    # ---- building -----------------------------------------------------------------------

    def label(self, name: str) -> Label:
        """A new label with a unique name based on `name` (not yet placed)."""
        n = self._names.get(name, 0)
        self._names[name] = n + 1
        return Label(name if n == 0 else f"{name}.{n}")

    def add(self, item) -> None:
        self.items.append(item)
        self._tags.append(self.tag)

    def bind(self, label: Label) -> None:
        self.add(_Bind(label))

    def emit(self, data: bytes, count: int = 1) -> None:
        """`count` already-encoded instructions."""
        self.add(_Raw(bytes(data), count))

    # ---- hooks for appended data --------------------------------------------------------

    def place_data(self, code_end: int):
        """Called after each layout pass; returns the context `fits`/`encode` receive."""
        return None

    def data_bytes(self, code_end: int, context) -> bytes:
        """Bytes appended after the code (padding included); none by default."""
        return b""

    # ---- layout -------------------------------------------------------------------------

    @staticmethod
    def _size(item) -> int:
        if isinstance(item, _Raw):
            return len(item.data)
        if isinstance(item, _Bind):
            return 0
        return item.sizes()[item.form]

    def _place(self) -> int:
        address = 0
        self._addresses = []
        for item in self.items:
            self._addresses.append(address)
            if isinstance(item, _Bind):
                item.label.address = address
            address += self._size(item)
        return address

    def assemble(self) -> Assembled:
        relaxable = [item for item in self.items if isinstance(item, Relaxable)]
        for item in relaxable:
            item.form = 0
        while True:
            end = self._place()
            context = self.place_data(end)
            grown = False
            for item, at in zip(self.items, self._addresses):
                if isinstance(item, Relaxable) and not item.fits(at, context):
                    if item.form + 1 >= len(item.sizes()):
                        raise EncodingError(f"{item} cannot reach its target from {at}")
                    item.form += 1
                    grown = True
            if not grown:
                break
        out = bytearray()
        count = 0
        tags: list[tuple[int, int, str]] = []
        for item, at, tag in zip(self.items, self._addresses, self._tags):
            assert len(out) == at
            if isinstance(item, _Raw):
                data, n = item.data, item.count
            elif isinstance(item, _Bind):
                data, n = b"", 0
            else:
                data, n = item.encode(at, context)
                if len(data) != self._size(item):
                    raise EncodingError(f"{item} encoded to {len(data)} bytes")
            out += data
            count += n
            if data:
                if tags and tags[-1][2] == tag and tags[-1][1] == at:
                    tags[-1] = (tags[-1][0], at + len(data), tag)
                else:
                    tags.append((at, at + len(data), tag))
        code_end = len(out)
        extra = self.data_bytes(code_end, context)
        data_offset = code_end
        if extra:
            data_offset = code_end + (-code_end % 4)
            out += extra
        labels: dict[str, int] = {}
        for item in self.items:
            if isinstance(item, _Bind):
                labels.setdefault(item.label.name, item.label.address)
        return Assembled(bytes(out), labels, data_offset, count, tags)
