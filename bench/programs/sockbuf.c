/* CertrBPF's socket-buffer parser: validate an Ethernet/IPv4/UDP frame in ctx (IPv4 header
 * checksum included) and summarise its ports and payload. */
#include "bench.h"

#define BAD(code) (0x8000000000000000ull | (code))

struct sockbuf_ctx {
    uint32_t len;
    uint8_t frame[124];
};

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

uint64_t sockbuf(void *ctx)
{
    const struct sockbuf_ctx *c = ctx;
    uint32_t len = c->len > 124 ? 124 : c->len;
    const uint8_t *frame = c->frame;
    if (len < 14 + 20 + 8)
        return BAD(1);
    if (be16(frame + 12) != 0x0800)
        return BAD(2);
    const uint8_t *ip = frame + 14;
    uint32_t ihl = (ip[0] & 15) * 4;
    if (ip[0] >> 4 != 4 || ihl < 20 || 14 + ihl + 8 > len)
        return BAD(3);
    uint32_t sum = 0;
    for (uint32_t i = 0; i < ihl; i += 2)
        sum += be16(ip + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    if (sum != 0xffff)
        return BAD(4);
    if (ip[9] != 17)
        return BAD(5);
    uint32_t total = be16(ip + 2);
    const uint8_t *udp = ip + ihl;
    uint32_t sport = be16(udp), dport = be16(udp + 2), ulen = be16(udp + 4);
    if (14 + total > len || ulen < 8 || ihl + ulen > total)
        return BAD(6);
    uint32_t payload = 0;
    for (uint32_t i = 8; i < ulen; i++)
        payload = (payload << 1 | payload >> 15) + udp[i];
    return (uint64_t)sport << 48 | (uint64_t)dport << 32 | (ulen - 8) << 16 | (payload & 0xffff);
}
