"""Text assembly: the bpf_conformance syntax (plus femtojit's extensions) in and out.

`assemble`/`assemble_program` read text (docs/assembly.md); `disassemble`/`format_insn` print
slots back as text that re-assembles to identical bytes.
"""

from femtojit.asm.assembler import assemble, assemble_program
from femtojit.asm.disassembler import disassemble, format_insn, instruction_starts, render

__all__ = [
    "assemble",
    "assemble_program",
    "disassemble",
    "format_insn",
    "instruction_starts",
    "render",
]
