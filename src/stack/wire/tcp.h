/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/wire/tcp.h: the TCP header (RFC 9293 §3.1) and its options as a
 * checked view and a repr, and its checksum over the IPv4 pseudo-header.
 * Stateless, no I/O.
 *
 * RX: st_tcp_parse checks that the fixed header fits and that the data
 * offset is at least 5 words and within the segment, then takes the
 * options apart: End of Option List, No-Operation, MSS (RFC 9293
 * §3.2), Window Scale (RFC 7323 §2), SACK-Permitted and SACK blocks (RFC
 * 2018), Timestamps (RFC 7323 §3); unknown kinds are skipped by their
 * length. An option whose length byte is below 2 or runs past the header
 * ends the parse, keeping what came before (what Linux's
 * tcp_parse_options does: the segment is not dropped); so does a known
 * option with the wrong length, which is then ignored alone. The parse
 * reports such a header in opt_malformed so that the stack counts it.
 * The checksum is checked apart (st_tcp_csum_ok).
 * TX: st_tcp_build writes the header and the options of the repr
 * (padded with NOPs to a multiple of 4 as RFC 7323 Appendix A
 * suggests), with a zero checksum; the caller sums the segment and
 * stores the result with st_tcp_csum_store.
 */
#ifndef ANYLOAD_STACK_WIRE_TCP_H
#define ANYLOAD_STACK_WIRE_TCP_H

#include "stack/wire/bytes.h"
#include "stack/wire/ipv4.h"

#define ST_TCP_HLEN      20     /* without options */
#define ST_TCP_MAX_HLEN  60
#define ST_TCP_OFF_SPORT 0
#define ST_TCP_OFF_DPORT 2
#define ST_TCP_OFF_SEQ   4
#define ST_TCP_OFF_ACK   8
#define ST_TCP_OFF_DOFF  12
#define ST_TCP_OFF_FLAGS 13
#define ST_TCP_OFF_WIN   14
#define ST_TCP_OFF_CSUM  16
#define ST_TCP_OFF_URP   18

#define ST_TCP_FIN 0x01
#define ST_TCP_SYN 0x02
#define ST_TCP_RST 0x04
#define ST_TCP_PSH 0x08
#define ST_TCP_ACK 0x10
#define ST_TCP_URG 0x20
#define ST_TCP_ECE 0x40
#define ST_TCP_CWR 0x80

#define ST_TCP_OPT_EOL     0
#define ST_TCP_OPT_NOP     1
#define ST_TCP_OPT_MSS     2
#define ST_TCP_OPT_WS      3
#define ST_TCP_OPT_SACK_OK 4
#define ST_TCP_OPT_SACK    5
#define ST_TCP_OPT_TS      8

#define ST_TCP_MAX_SACK    4    /* blocks in one header (RFC 2018 §3) */
#define ST_TCP_WS_MAX      14   /* RFC 7323 §2.3 */

enum st_tcp_err {
  ST_TCP_OK = 0,
  ST_TCP_E_TRUNC,       /* fewer than 20 bytes */
  ST_TCP_E_DOFF,        /* data offset below 5 or past the segment */
};

/* The header in host order, except the ports (network order). Options
 * absent on receive: mss 0, ws_ok 0, ts_ok 0, sack_ok 0, nsack 0. */
struct st_tcp_repr {
  uint16_t sport_be16;
  uint16_t dport_be16;
  uint32_t seq;
  uint32_t ack;
  uint8_t  hlen;          /* header + options, bytes */
  uint8_t  flags;         /* ST_TCP_* */
  uint16_t win;           /* as on the wire (unscaled) */
  uint16_t urp;
  /* Options. */
  uint16_t mss;
  uint8_t  ws_ok;
  uint8_t  ws;            /* shift; RFC 7323 §2.3 caps it at 14 */
  uint8_t  sack_ok;
  uint8_t  ts_ok;
  uint8_t  nsack;
  uint8_t  opt_malformed; /* the parse stopped at a bad option */
  uint32_t tsval;
  uint32_t tsecr;
  uint32_t sack[ST_TCP_MAX_SACK][2]; /* left, right */
};

/* st_tcp_parse_opts: the options at p (len bytes) into r. */
static inline void st_tcp_parse_opts(const uint8_t* p, unsigned len,
                                     struct st_tcp_repr* r)
{
  unsigned k = 0;

  while (k < len) {
    unsigned kind = p[k], olen, j;
    if (kind == ST_TCP_OPT_EOL)
      return;
    if (kind == ST_TCP_OPT_NOP) {
      k++;
      continue;
    }
    if (k + 1 >= len || p[k + 1] < 2 || k + p[k + 1] > len) {
      r->opt_malformed = 1;
      return;
    }
    olen = p[k + 1];
    switch (kind) {
    case ST_TCP_OPT_MSS:
      if (olen == 4)
        r->mss = st_get_be16(p + k + 2);
      else
        r->opt_malformed = 1;
      break;
    case ST_TCP_OPT_WS:
      if (olen == 3) {
        r->ws_ok = 1;
        r->ws = p[k + 2] > ST_TCP_WS_MAX ? ST_TCP_WS_MAX : p[k + 2];
      } else {
        r->opt_malformed = 1;
      }
      break;
    case ST_TCP_OPT_SACK_OK:
      if (olen == 2)
        r->sack_ok = 1;
      else
        r->opt_malformed = 1;
      break;
    case ST_TCP_OPT_TS:
      if (olen == 10) {
        r->ts_ok = 1;
        r->tsval = st_get_be32(p + k + 2);
        r->tsecr = st_get_be32(p + k + 6);
      } else {
        r->opt_malformed = 1;
      }
      break;
    case ST_TCP_OPT_SACK:
      if (olen < 10 || (olen - 2) % 8) {
        r->opt_malformed = 1;
        break;
      }
      for (j = 0; j < (olen - 2) / 8 && r->nsack < ST_TCP_MAX_SACK; j++) {
        r->sack[r->nsack][0] = st_get_be32(p + k + 2 + 8 * j);
        r->sack[r->nsack][1] = st_get_be32(p + k + 6 + 8 * j);
        r->nsack++;
      }
      break;
    default:
      break;
    }
    k += olen;
  }
}

/* st_tcp_parse: check and take apart the TCP header at p, in an IP
 * payload of len bytes. Returns ST_TCP_OK or an enum st_tcp_err. */
static inline int st_tcp_parse(const uint8_t* p, size_t len,
                               struct st_tcp_repr* r)
{
  memset(r, 0, sizeof(*r));
  if (len < ST_TCP_HLEN)
    return ST_TCP_E_TRUNC;
  r->sport_be16 = st_get_raw16(p + ST_TCP_OFF_SPORT);
  r->dport_be16 = st_get_raw16(p + ST_TCP_OFF_DPORT);
  r->seq = st_get_be32(p + ST_TCP_OFF_SEQ);
  r->ack = st_get_be32(p + ST_TCP_OFF_ACK);
  r->hlen = (uint8_t)((p[ST_TCP_OFF_DOFF] >> 4) * 4);
  r->flags = p[ST_TCP_OFF_FLAGS];
  r->win = st_get_be16(p + ST_TCP_OFF_WIN);
  r->urp = st_get_be16(p + ST_TCP_OFF_URP);
  if (r->hlen < ST_TCP_HLEN || r->hlen > len)
    return ST_TCP_E_DOFF;
  st_tcp_parse_opts(p + ST_TCP_HLEN, r->hlen - ST_TCP_HLEN, r);
  return ST_TCP_OK;
}

/* st_tcp_opts_len: the bytes the options of r take when built. */
static inline unsigned st_tcp_opts_len(const struct st_tcp_repr* r)
{
  unsigned n = 0;

  if (r->mss)
    n += 4;
  if (r->ws_ok)
    n += 4;               /* NOP + WS */
  if (r->ts_ok)
    n += 12;              /* NOP NOP TS, or SACK-OK TS */
  else if (r->sack_ok)
    n += 4;               /* NOP NOP SACK-OK */
  if (r->nsack)
    n += 4 + 8u * r->nsack;   /* NOP NOP SACK */
  return n;
}

/* st_tcp_build: write the header and options of r (r->hlen is computed
 * and set) with a zero checksum at p; returns the pointer to the
 * payload. At most ST_TCP_MAX_HLEN bytes: the caller keeps nsack within
 * what fits (3 blocks with timestamps, 4 without). */
static inline uint8_t* st_tcp_build(uint8_t* p, struct st_tcp_repr* r)
{
  unsigned j;
  uint8_t* h = p;

  r->hlen = (uint8_t)(ST_TCP_HLEN + st_tcp_opts_len(r));
  p = st_put_raw16(p, r->sport_be16);
  p = st_put_raw16(p, r->dport_be16);
  p = st_put_be32(p, r->seq);
  p = st_put_be32(p, r->ack);
  p = st_put_u8(p, (uint8_t)((r->hlen / 4) << 4));
  p = st_put_u8(p, r->flags);
  p = st_put_be16(p, r->win);
  p = st_put_raw16(p, 0);
  p = st_put_be16(p, r->urp);
  if (r->mss) {
    p = st_put_u8(p, ST_TCP_OPT_MSS);
    p = st_put_u8(p, 4);
    p = st_put_be16(p, r->mss);
  }
  if (r->ts_ok) {
    if (r->sack_ok) {
      p = st_put_u8(p, ST_TCP_OPT_SACK_OK);
      p = st_put_u8(p, 2);
    } else {
      p = st_put_u8(p, ST_TCP_OPT_NOP);
      p = st_put_u8(p, ST_TCP_OPT_NOP);
    }
    p = st_put_u8(p, ST_TCP_OPT_TS);
    p = st_put_u8(p, 10);
    p = st_put_be32(p, r->tsval);
    p = st_put_be32(p, r->tsecr);
  } else if (r->sack_ok) {
    p = st_put_u8(p, ST_TCP_OPT_NOP);
    p = st_put_u8(p, ST_TCP_OPT_NOP);
    p = st_put_u8(p, ST_TCP_OPT_SACK_OK);
    p = st_put_u8(p, 2);
  }
  if (r->ws_ok) {
    p = st_put_u8(p, ST_TCP_OPT_NOP);
    p = st_put_u8(p, ST_TCP_OPT_WS);
    p = st_put_u8(p, 3);
    p = st_put_u8(p, r->ws);
  }
  if (r->nsack) {
    p = st_put_u8(p, ST_TCP_OPT_NOP);
    p = st_put_u8(p, ST_TCP_OPT_NOP);
    p = st_put_u8(p, ST_TCP_OPT_SACK);
    p = st_put_u8(p, (uint8_t)(2 + 8 * r->nsack));
    for (j = 0; j < r->nsack; j++) {
      p = st_put_be32(p, r->sack[j][0]);
      p = st_put_be32(p, r->sack[j][1]);
    }
  }
  return h + r->hlen;
}

/* st_tcp_csum_start: the pseudo-header sum of a segment of len bytes
 * (header included); add the segment's bytes with st_csum_acc. */
static inline uint64_t st_tcp_csum_start(uint32_t src_be32, uint32_t dst_be32,
                                         uint16_t len)
{
  return st_csum_pseudo4(0, src_be32, dst_be32, ST_IPPROTO_TCP, len);
}

/* st_tcp_csum_store: store the checksum of a finished sum into the
 * header at p (whose checksum field was zero while summing). */
static inline void st_tcp_csum_store(uint8_t* p, uint64_t acc)
{
  st_put_raw16(p + ST_TCP_OFF_CSUM, st_csum_finish(acc));
}

/* st_tcp_csum_ok: 1 if the segment at p (len bytes) sums correctly. */
static inline int st_tcp_csum_ok(uint32_t src_be32, uint32_t dst_be32,
                                 const uint8_t* p, uint16_t len)
{
  return st_csum_fold(st_csum_acc(st_tcp_csum_start(src_be32, dst_be32, len),
                                  p, len)) == 0xffff;
}

#endif /* ANYLOAD_STACK_WIRE_TCP_H */
