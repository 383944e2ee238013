/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/wire/ipv4.h: the IPv4 header (RFC 791 §3.1) as a checked view and
 * a repr. Stateless, no I/O.
 *
 * RX: st_ipv4_parse checks, in this order, that the header fits, the
 * version is 4, the IHL is at least 5 words and fits, the total length
 * covers the header and fits in the frame (Ethernet padding after it is
 * allowed), the header checksum (unless the caller says it was verified
 * already), and that a fragment neither ends past 65535 bytes nor, when
 * more fragments follow, holds a length that is not a multiple of 8
 * (RFC 791 §3.2: offsets count 8-byte units). Each failure has its own
 * reason code so that the stack can count it. Options are accepted and
 * skipped (RFC 1122 §3.2.1.8 asks hosts to ignore the ones they don't
 * understand; source routes are not honoured). TX: st_ipv4_build writes a
 * 20-byte header without options, checksum included.
 */
#ifndef ANYLOAD_STACK_WIRE_IPV4_H
#define ANYLOAD_STACK_WIRE_IPV4_H

#include "stack/wire/bytes.h"

#define ST_IPV4_HLEN        20      /* without options */
#define ST_IPV4_MAX_LEN     65535
#define ST_IPV4_OFF_VER_IHL 0
#define ST_IPV4_OFF_TOS     1
#define ST_IPV4_OFF_TOTLEN  2
#define ST_IPV4_OFF_ID      4
#define ST_IPV4_OFF_FRAG    6
#define ST_IPV4_OFF_TTL     8
#define ST_IPV4_OFF_PROTO   9
#define ST_IPV4_OFF_CSUM    10
#define ST_IPV4_OFF_SRC     12
#define ST_IPV4_OFF_DST     16

#define ST_IPV4_F_DF        0x4000
#define ST_IPV4_F_MF        0x2000
#define ST_IPV4_FRAG_MASK   0x1fff  /* offset in 8-byte units */

#define ST_IPPROTO_ICMP     1
#define ST_IPPROTO_UDP      17
#define ST_IPPROTO_TCP      6

/* Why st_ipv4_parse refused a header (0: it did not). */
enum st_ipv4_err {
  ST_IPV4_OK = 0,
  ST_IPV4_E_TRUNC,      /* shorter than 20 bytes */
  ST_IPV4_E_VERSION,    /* version is not 4 */
  ST_IPV4_E_IHL,        /* IHL below 5 or past the frame */
  ST_IPV4_E_LEN,        /* total length below IHL or past the frame */
  ST_IPV4_E_CSUM,       /* header checksum */
  ST_IPV4_E_FRAG,       /* fragment past 65535, or MF with a length that
                           is not a multiple of 8 */
};

/* The header in host order, except the addresses (network order). */
struct st_ipv4_repr {
  uint32_t src_be32;
  uint32_t dst_be32;
  uint16_t tot_len;     /* header + payload */
  uint16_t id;
  uint16_t frag_off;    /* in bytes (the field times 8) */
  uint8_t  hlen;        /* header length in bytes (IHL * 4) */
  uint8_t  tos;
  uint8_t  ttl;
  uint8_t  proto;
  uint8_t  df;          /* don't fragment */
  uint8_t  mf;          /* more fragments */
};

/* st_ipv4_is_frag: part of a fragmented datagram (MF or an offset). */
static inline int st_ipv4_is_frag(const struct st_ipv4_repr* r)
{
  return r->mf || r->frag_off;
}

/* st_ipv4_parse: check and take apart the IPv4 header at p, in a buffer
 * of len bytes (the rest of the frame after the Ethernet header).
 * csum_ok: the checksum was verified already (skip it).
 * Returns ST_IPV4_OK, or the enum st_ipv4_err of the first failed check
 * (r is then partly filled and must not be used). */
static inline int st_ipv4_parse(const uint8_t* p, size_t len,
                                struct st_ipv4_repr* r, int csum_ok)
{
  uint16_t frag;
  unsigned payload;

  if (len < ST_IPV4_HLEN)
    return ST_IPV4_E_TRUNC;
  if ((p[ST_IPV4_OFF_VER_IHL] >> 4) != 4)
    return ST_IPV4_E_VERSION;
  r->hlen = (uint8_t)((p[ST_IPV4_OFF_VER_IHL] & 0xf) * 4);
  if (r->hlen < ST_IPV4_HLEN || r->hlen > len)
    return ST_IPV4_E_IHL;
  r->tot_len = st_get_be16(p + ST_IPV4_OFF_TOTLEN);
  if (r->tot_len < r->hlen || r->tot_len > len)
    return ST_IPV4_E_LEN;
  if (!csum_ok && st_csum_fold(st_csum_acc(0, p, r->hlen)) != 0xffff)
    return ST_IPV4_E_CSUM;
  r->tos = p[ST_IPV4_OFF_TOS];
  r->id = st_get_be16(p + ST_IPV4_OFF_ID);
  frag = st_get_be16(p + ST_IPV4_OFF_FRAG);
  r->df = (frag & ST_IPV4_F_DF) != 0;
  r->mf = (frag & ST_IPV4_F_MF) != 0;
  r->frag_off = (uint16_t)((frag & ST_IPV4_FRAG_MASK) * 8u);
  payload = r->tot_len - r->hlen;
  if ((unsigned)r->frag_off + payload > ST_IPV4_MAX_LEN ||
      (r->mf && (payload == 0 || payload % 8)))
    return ST_IPV4_E_FRAG;
  r->ttl = p[ST_IPV4_OFF_TTL];
  r->proto = p[ST_IPV4_OFF_PROTO];
  r->src_be32 = st_get_raw32(p + ST_IPV4_OFF_SRC);
  r->dst_be32 = st_get_raw32(p + ST_IPV4_OFF_DST);
  return ST_IPV4_OK;
}

/* st_ipv4_set_csum: compute and store the header checksum of the header
 * at p (hlen bytes). */
static inline void st_ipv4_set_csum(uint8_t* p, unsigned hlen)
{
  st_put_raw16(p + ST_IPV4_OFF_CSUM, 0);
  st_put_raw16(p + ST_IPV4_OFF_CSUM, st_csum_finish(st_csum_acc(0, p, hlen)));
}

/* st_ipv4_build: write a 20-byte header (r->hlen is ignored) with its
 * checksum at p; returns the pointer to the payload. */
static inline uint8_t* st_ipv4_build(uint8_t* p, const struct st_ipv4_repr* r)
{
  uint8_t* h = p;
  uint16_t frag = (uint16_t)((r->frag_off / 8u) & ST_IPV4_FRAG_MASK);

  if (r->df)
    frag |= ST_IPV4_F_DF;
  if (r->mf)
    frag |= ST_IPV4_F_MF;
  p = st_put_u8(p, 0x45);
  p = st_put_u8(p, r->tos);
  p = st_put_be16(p, r->tot_len);
  p = st_put_be16(p, r->id);
  p = st_put_be16(p, frag);
  p = st_put_u8(p, r->ttl);
  p = st_put_u8(p, r->proto);
  p = st_put_raw16(p, 0);
  p = st_put_raw32(p, r->src_be32);
  p = st_put_raw32(p, r->dst_be32);
  st_ipv4_set_csum(h, ST_IPV4_HLEN);
  return p;
}

/* Address classes (RFC 1122 §3.2.1.3, RFC 5771). */
static inline int st_ipv4_is_mcast(uint32_t a_be32)
{
  return (((const uint8_t*)&a_be32)[0] & 0xf0) == 0xe0;
}

static inline int st_ipv4_is_bcast(uint32_t a_be32)
{
  return a_be32 == 0xffffffffu;
}

static inline int st_ipv4_is_zeronet(uint32_t a_be32)
{
  return ((const uint8_t*)&a_be32)[0] == 0;
}

static inline int st_ipv4_is_loopback(uint32_t a_be32)
{
  return ((const uint8_t*)&a_be32)[0] == 127;
}

#endif /* ANYLOAD_STACK_WIRE_IPV4_H */
