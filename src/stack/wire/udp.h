/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/wire/udp.h: the UDP header (RFC 768) as a checked view and a
 * repr, and its checksum over the IPv4 pseudo-header. Stateless, no I/O.
 *
 * RX: st_udp_parse checks that the header fits and that the length field
 * covers the header and fits in the IP payload (bytes after it are
 * ignored, as RFC 768 defines the datagram by its length field); the
 * checksum is checked apart (st_udp_csum_ok), because a fragmented
 * datagram is summed over several buffers. A checksum field of zero means
 * "none" (RFC 768; RFC 1122 §4.1.3.4 lets a host accept it). TX:
 * st_udp_build writes the header with a zero checksum; the caller sums
 * the datagram and stores the result with st_udp_csum_store, which turns
 * a computed zero into 0xffff as RFC 768 requires.
 */
#ifndef ANYLOAD_STACK_WIRE_UDP_H
#define ANYLOAD_STACK_WIRE_UDP_H

#include "stack/wire/bytes.h"
#include "stack/wire/ipv4.h"

#define ST_UDP_HLEN      8
#define ST_UDP_OFF_SPORT 0
#define ST_UDP_OFF_DPORT 2
#define ST_UDP_OFF_LEN   4
#define ST_UDP_OFF_CSUM  6
/* The largest payload of one datagram: 65535 - 20 (IP) - 8 (UDP). */
#define ST_UDP_MAX_PAYLOAD 65507

enum st_udp_err {
  ST_UDP_OK = 0,
  ST_UDP_E_TRUNC,       /* fewer than 8 bytes */
  ST_UDP_E_LEN,         /* length field below 8 or past the IP payload */
};

/* The header: ports and checksum in network order, length in host
 * order. */
struct st_udp_repr {
  uint16_t sport_be16;
  uint16_t dport_be16;
  uint16_t len;         /* header + payload */
  uint16_t csum_be16;   /* as received; 0 = none */
};

/* st_udp_parse: check and take apart the UDP header at p, in an IP
 * payload of len bytes. Returns ST_UDP_OK or an enum st_udp_err. */
static inline int st_udp_parse(const uint8_t* p, size_t len,
                               struct st_udp_repr* r)
{
  if (len < ST_UDP_HLEN)
    return ST_UDP_E_TRUNC;
  r->sport_be16 = st_get_raw16(p + ST_UDP_OFF_SPORT);
  r->dport_be16 = st_get_raw16(p + ST_UDP_OFF_DPORT);
  r->len = st_get_be16(p + ST_UDP_OFF_LEN);
  r->csum_be16 = st_get_raw16(p + ST_UDP_OFF_CSUM);
  if (r->len < ST_UDP_HLEN || r->len > len)
    return ST_UDP_E_LEN;
  return ST_UDP_OK;
}

/* st_udp_build: write the header with a zero checksum at p; returns the
 * pointer to the payload. */
static inline uint8_t* st_udp_build(uint8_t* p, const struct st_udp_repr* r)
{
  p = st_put_raw16(p, r->sport_be16);
  p = st_put_raw16(p, r->dport_be16);
  p = st_put_be16(p, r->len);
  return st_put_raw16(p, 0);
}

/* st_udp_csum_start: the pseudo-header sum of a datagram of udp_len bytes
 * (header included); add the datagram's bytes to it with st_csum_acc. */
static inline uint64_t st_udp_csum_start(uint32_t src_be32, uint32_t dst_be32,
                                         uint16_t udp_len)
{
  return st_csum_pseudo4(0, src_be32, dst_be32, ST_IPPROTO_UDP, udp_len);
}

/* st_udp_csum_store: store the checksum of a finished sum into the
 * header at p (whose checksum field was zero while summing). */
static inline void st_udp_csum_store(uint8_t* p, uint64_t acc)
{
  uint16_t c = st_csum_finish(acc);
  st_put_raw16(p + ST_UDP_OFF_CSUM, c ? c : 0xffff);
}

/* st_udp_csum_ok: 1 if the datagram at p (len bytes, header included,
 * contiguous) has a correct or absent checksum, else 0. */
static inline int st_udp_csum_ok(uint32_t src_be32, uint32_t dst_be32,
                                 const uint8_t* p, uint16_t len)
{
  if (st_get_raw16(p + ST_UDP_OFF_CSUM) == 0)
    return 1;
  return st_csum_fold(st_csum_acc(st_udp_csum_start(src_be32, dst_be32, len),
                                  p, len)) == 0xffff;
}

#endif /* ANYLOAD_STACK_WIRE_UDP_H */
