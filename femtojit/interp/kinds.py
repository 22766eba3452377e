"""Dense operation kinds of the pre-decoded interpreter.

Each eBPF instruction is decoded once into one of these small integers, so the numba core
dispatches on a single dense value (LLVM turns the comparison chain into a jump table) and
never re-reads opcode bits, operand forms or widths at run time. K/X (immediate/register)
and 32/64-bit variants are separate kinds for the same reason.

Kinds below FIRST_CONTROL are straight-line operations (the core falls through to pc + 1);
the others may change the control flow.
"""

from __future__ import annotations

# Sentinels and undecodable slots.
ILLEGAL = 0  # unknown opcode / unused field combination / second LDDW slot: status -1
END_OF_PROGRAM = 1  # the slot after the last one: falling through it gives -7
BAD_TARGET = 2  # where jumps outside the program land: -3

# 64-bit arithmetic.
ADD64_K, ADD64_X = 3, 4
SUB64_K, SUB64_X = 5, 6
MUL64_K, MUL64_X = 7, 8
DIV64_K, DIV64_X = 9, 10
SDIV64_K, SDIV64_X = 11, 12
MOD64_K, MOD64_X = 13, 14
SMOD64_K, SMOD64_X = 15, 16
OR64_K, OR64_X = 17, 18
AND64_K, AND64_X = 19, 20
LSH64_K, LSH64_X = 21, 22
RSH64_K, RSH64_X = 23, 24
ARSH64_K, ARSH64_X = 25, 26
XOR64_K, XOR64_X = 27, 28
MOV64_K, MOV64_X = 29, 30
NEG64 = 31
MOVSX64_8, MOVSX64_16, MOVSX64_32 = 32, 33, 34

# 32-bit arithmetic (results zero-extended).
ADD32_K, ADD32_X = 35, 36
SUB32_K, SUB32_X = 37, 38
MUL32_K, MUL32_X = 39, 40
DIV32_K, DIV32_X = 41, 42
SDIV32_K, SDIV32_X = 43, 44
MOD32_K, MOD32_X = 45, 46
SMOD32_K, SMOD32_X = 47, 48
OR32_K, OR32_X = 49, 50
AND32_K, AND32_X = 51, 52
LSH32_K, LSH32_X = 53, 54
RSH32_K, RSH32_X = 55, 56
ARSH32_K, ARSH32_X = 57, 58
XOR32_K, XOR32_X = 59, 60
MOV32_K, MOV32_X = 61, 62
NEG32 = 63
MOVSX32_8, MOVSX32_16 = 64, 65

# Byte order: le* truncate, be* and bswap* swap (the host order is little-endian).
LE16, LE32, LE64 = 66, 67, 68
BSWAP16, BSWAP32, BSWAP64 = 69, 70, 71

# 64-bit immediate loads (LDDW, LDDWD, LDDWR: the base address is folded in at decode time).
LDDW = 72

# Memory.
LDXB, LDXH, LDXW, LDXDW = 73, 74, 75, 76
LDXSB, LDXSH, LDXSW = 77, 78, 79
STB, STH, STW, STDW = 80, 81, 82, 83
STXB, STXH, STXW, STXDW = 84, 85, 86, 87
ATOMIC32, ATOMIC64 = 88, 89

FIRST_CONTROL = 90

# Jumps. 64-bit compares, then 32-bit ones (JMP32 class).
JA = 90
JEQ_K, JEQ_X = 91, 92
JGT_K, JGT_X = 93, 94
JGE_K, JGE_X = 95, 96
JSET_K, JSET_X = 97, 98
JNE_K, JNE_X = 99, 100
JSGT_K, JSGT_X = 101, 102
JSGE_K, JSGE_X = 103, 104
JLT_K, JLT_X = 105, 106
JLE_K, JLE_X = 107, 108
JSLT_K, JSLT_X = 109, 110
JSLE_K, JSLE_X = 111, 112
JEQ32_K, JEQ32_X = 113, 114
JGT32_K, JGT32_X = 115, 116
JGE32_K, JGE32_X = 117, 118
JSET32_K, JSET32_X = 119, 120
JNE32_K, JNE32_X = 121, 122
JSGT32_K, JSGT32_X = 123, 124
JSGE32_K, JSGE32_X = 125, 126
JLT32_K, JLT32_X = 127, 128
JLE32_K, JLE32_X = 129, 130
JSLT32_K, JSLT32_X = 131, 132
JSLE32_K, JSLE32_X = 133, 134

# Calls and exit.
CALL_HELPER = 135
CALLX = 136
CALL_LOCAL = 137
EXIT = 138

NUM_KINDS = 139
