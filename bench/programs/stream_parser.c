/* A byte-stream parser with a switch: a tiny stack-machine command stream in ctx. */
#include "bench.h"

enum { OP_END, OP_PUSH8, OP_PUSH16, OP_ADD, OP_SUB, OP_MUL, OP_XOR, OP_DUP, OP_SWAP,
       OP_DROP, OP_SHL, OP_EMIT };

struct stream_ctx {
    uint32_t len;
    uint8_t code[252];
};

uint64_t stream_parser(void *ctx)
{
    const struct stream_ctx *c = ctx;
    uint32_t len = c->len > 252 ? 252 : c->len;
    uint32_t stack[16];
    uint32_t sp = 0, pc = 0, emitted = 0;
    uint64_t out = 0;
    while (pc < len) {
        uint8_t op = c->code[pc++];
        uint32_t top = stack[(sp - 1) & 15], below = stack[(sp - 2) & 15];
        switch (op) {
        case OP_END:
            pc = len;
            break;
        case OP_PUSH8:
            stack[sp++ & 15] = pc < len ? c->code[pc] : 0;
            pc++;
            break;
        case OP_PUSH16:
            stack[sp++ & 15] = pc + 1 < len ? (uint32_t)c->code[pc] | (uint32_t)c->code[pc + 1] << 8 : 0;
            pc += 2;
            break;
        case OP_ADD:
            stack[(sp - 2) & 15] = below + top;
            sp--;
            break;
        case OP_SUB:
            stack[(sp - 2) & 15] = below - top;
            sp--;
            break;
        case OP_MUL:
            stack[(sp - 2) & 15] = below * top;
            sp--;
            break;
        case OP_XOR:
            stack[(sp - 2) & 15] = below ^ top;
            sp--;
            break;
        case OP_DUP:
            stack[sp++ & 15] = top;
            break;
        case OP_SWAP:
            stack[(sp - 1) & 15] = below;
            stack[(sp - 2) & 15] = top;
            break;
        case OP_DROP:
            sp--;
            break;
        case OP_SHL:
            stack[(sp - 1) & 15] = top << 3;
            break;
        case OP_EMIT:
            out = (out << 5 | out >> 59) ^ top;
            emitted++;
            break;
        default:
            return 0xbad0000000000000ull | pc;
        }
    }
    return out ^ (uint64_t)emitted << 56;
}
