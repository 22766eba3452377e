/* Bitwise CRC-32 (IEEE 802.3, reflected, as zlib) of a ctx buffer: no table, 8 steps a byte. */
#include "bench.h"

struct crc32_ctx {
    uint32_t len;
    uint8_t data[252];
};

uint64_t crc32(void *ctx)
{
    const struct crc32_ctx *c = ctx;
    uint32_t len = c->len > 252 ? 252 : c->len;
    uint32_t crc = 0xffffffff;
    for (uint32_t i = 0; i < len; i++) {
        crc ^= c->data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
    }
    return ~crc;
}
