/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/wire/icmp.h: ICMP for IPv4 (RFC 792) as a checked view and a
 * repr: the message header, and the quoted header of the datagram that an
 * error message concerns. Stateless, no I/O.
 *
 * RX: st_icmp_parse checks the length and the checksum over the whole
 * message; for an error (destination unreachable, source quench, time
 * exceeded, parameter problem) st_icmp_parse_quote takes apart the quoted
 * IPv4 header and the first 8 bytes after it (RFC 792: "Internet Header +
 * 64 bits of Original Data Datagram"; RFC 1122 §3.2.2 asks for at least
 * that much), which is where the ports of a UDP or TCP datagram are. The
 * quoted header's total length may exceed what is quoted. The next-hop
 * MTU of "fragmentation needed" sits in the second half of the rest field
 * (RFC 1191 §4). TX: st_icmp_build writes the header and its checksum over
 * header and payload.
 */
#ifndef ANYLOAD_STACK_WIRE_ICMP_H
#define ANYLOAD_STACK_WIRE_ICMP_H

#include "stack/wire/bytes.h"
#include "stack/wire/ipv4.h"

#define ST_ICMP_HLEN      8
#define ST_ICMP_OFF_TYPE  0
#define ST_ICMP_OFF_CODE  1
#define ST_ICMP_OFF_CSUM  2
#define ST_ICMP_OFF_REST  4
#define ST_ICMP_OFF_MTU   6   /* next-hop MTU of FRAG_NEEDED (RFC 1191) */

#define ST_ICMP_ECHO_REPLY     0
#define ST_ICMP_DEST_UNREACH   3
#define ST_ICMP_SOURCE_QUENCH  4
#define ST_ICMP_REDIRECT       5
#define ST_ICMP_ECHO           8
#define ST_ICMP_TIME_EXCEEDED  11
#define ST_ICMP_PARAM_PROBLEM  12

/* Codes of DEST_UNREACH (RFC 792, RFC 1122 §3.2.2.1). */
#define ST_ICMP_NET_UNREACH    0
#define ST_ICMP_HOST_UNREACH   1
#define ST_ICMP_PROT_UNREACH   2
#define ST_ICMP_PORT_UNREACH   3
#define ST_ICMP_FRAG_NEEDED    4
#define ST_ICMP_SR_FAILED      5

enum st_icmp_err {
  ST_ICMP_OK = 0,
  ST_ICMP_E_TRUNC,      /* shorter than 8 bytes */
  ST_ICMP_E_CSUM,       /* checksum over the message */
  ST_ICMP_E_QUOTE,      /* error without a usable quoted header */
};

struct st_icmp_repr {
  uint8_t  type;
  uint8_t  code;
  uint32_t rest_be32;   /* bytes 4..7: id/seq, pointer or MTU */
  const uint8_t* data;  /* bytes after the header (parse only) */
  size_t   data_len;
};

/* What an error message quotes of the datagram it concerns. */
struct st_icmp_quote {
  uint32_t src_be32;    /* our address, for a datagram we sent */
  uint32_t dst_be32;
  uint16_t sport_be16;  /* UDP/TCP ports (first 4 of the 8 bytes) */
  uint16_t dport_be16;
  uint32_t tcp_seq;     /* the next 4 bytes: a TCP segment's sequence */
  uint16_t frag_off;    /* bytes; ports are only there at offset 0 */
  uint16_t tot_len;     /* the quoted datagram's total length */
  uint8_t  proto;
};

/* st_icmp_is_error: the types that report an error about a datagram. */
static inline int st_icmp_is_error(uint8_t type)
{
  return type == ST_ICMP_DEST_UNREACH || type == ST_ICMP_SOURCE_QUENCH ||
         type == ST_ICMP_TIME_EXCEEDED || type == ST_ICMP_PARAM_PROBLEM;
}

/* st_icmp_parse: check and take apart an ICMP message of len bytes at p.
 * Returns ST_ICMP_OK, ST_ICMP_E_TRUNC or ST_ICMP_E_CSUM. */
static inline int st_icmp_parse(const uint8_t* p, size_t len,
                                struct st_icmp_repr* r)
{
  if (len < ST_ICMP_HLEN)
    return ST_ICMP_E_TRUNC;
  if (st_csum_fold(st_csum_acc(0, p, len)) != 0xffff)
    return ST_ICMP_E_CSUM;
  r->type = p[ST_ICMP_OFF_TYPE];
  r->code = p[ST_ICMP_OFF_CODE];
  r->rest_be32 = st_get_raw32(p + ST_ICMP_OFF_REST);
  r->data = p + ST_ICMP_HLEN;
  r->data_len = len - ST_ICMP_HLEN;
  return ST_ICMP_OK;
}

/* st_icmp_mtu: the next-hop MTU of a FRAG_NEEDED message (0 when the
 * sender predates RFC 1191). */
static inline uint16_t st_icmp_mtu(const struct st_icmp_repr* r)
{
  return st_get_be16((const uint8_t*)&r->rest_be32 + 2);
}

/* st_icmp_parse_quote: take apart the quoted datagram of an error
 * message. Returns ST_ICMP_OK or ST_ICMP_E_QUOTE (fewer than a header and
 * 8 bytes, not IPv4, a bad IHL). */
static inline int st_icmp_parse_quote(const struct st_icmp_repr* r,
                                      struct st_icmp_quote* q)
{
  const uint8_t* p = r->data;
  unsigned hlen;

  if (r->data_len < ST_IPV4_HLEN + 8 || (p[0] >> 4) != 4)
    return ST_ICMP_E_QUOTE;
  hlen = (p[0] & 0xfu) * 4u;
  if (hlen < ST_IPV4_HLEN || r->data_len < hlen + 8u)
    return ST_ICMP_E_QUOTE;
  q->src_be32 = st_get_raw32(p + ST_IPV4_OFF_SRC);
  q->dst_be32 = st_get_raw32(p + ST_IPV4_OFF_DST);
  q->proto = p[ST_IPV4_OFF_PROTO];
  q->tot_len = st_get_be16(p + ST_IPV4_OFF_TOTLEN);
  q->frag_off = (uint16_t)((st_get_be16(p + ST_IPV4_OFF_FRAG) &
                            ST_IPV4_FRAG_MASK) * 8u);
  q->sport_be16 = st_get_raw16(p + hlen);
  q->dport_be16 = st_get_raw16(p + hlen + 2);
  q->tcp_seq = st_get_be32(p + hlen + 4);
  return ST_ICMP_OK;
}

/* st_icmp_build: write the header at p, followed by data_len bytes of
 * r->data (which may already be in place at p + 8), with the checksum
 * over both; returns the pointer past the message. */
static inline uint8_t* st_icmp_build(uint8_t* p, const struct st_icmp_repr* r)
{
  uint8_t* h = p;

  p = st_put_u8(p, r->type);
  p = st_put_u8(p, r->code);
  p = st_put_raw16(p, 0);
  p = st_put_raw32(p, r->rest_be32);
  if (r->data_len && r->data != p)
    memmove(p, r->data, r->data_len);
  p += r->data_len;
  st_put_raw16(h + ST_ICMP_OFF_CSUM,
               st_csum_finish(st_csum_acc(0, h, (size_t)(p - h))));
  return p;
}

#endif /* ANYLOAD_STACK_WIRE_ICMP_H */
