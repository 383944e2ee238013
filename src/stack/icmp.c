/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/icmp.c: ICMP for IPv4 on receive (RFC 792): errors about our
 * datagrams go to the sockets that sent them, "fragmentation needed"
 * lowers the path MTU (RFC 1191), echo requests to our address are
 * answered. Also the path MTU table that udp_tx.c consults.
 *
 * Layer: stack. RX order: ip.c st__rx_frame -> st__icmp_rx -> (error)
 * wire/icmp.h quote -> st__sock_lookup (sock.c) -> the socket's pending
 * error or counters; (echo) st__ip_build_hdr -> st__vi_send. The errors
 * that quote the stack's flows reach it always (the VI steers them by the
 * quote), the rest of ICMP only with ANYLOAD_STACK_F_RX_ICMP (see
 * anyload/stack.h).
 *
 * Errors to sockets follow the kernel (Linux __udp4_lib_err), which is
 * how RFC 1122 §4.1.3.3 ("UDP MUST pass to the application layer all
 * ICMP error messages") is met by BSD sockets:
 *   - hard errors become the pending error of a connected socket whose
 *     peer the error names: port unreachable ECONNREFUSED, protocol
 *     unreachable ENOPROTOOPT, fragmentation needed EMSGSIZE, parameter
 *     problem EPROTO, the administratively prohibited and unknown-net or
 *     unknown-host codes as the kernel's icmp_err_convert table says;
 *   - soft errors (net or host unreachable, time exceeded: RFC 1122
 *     §3.2.2.1 and §3.2.2.4 call them transient) and every error about an
 *     unconnected socket are only counted on the socket: a BSD socket has
 *     no way to tie them to one send without IP_RECVERR, which we don't
 *     offer (yet);
 *   - source quench is ignored (RFC 6633), redirects too (RFC 1122
 *     §3.2.2.2 lets a host ignore them; the kernel's routes rule).
 * Errors are only matched when they quote a first fragment of a UDP
 * datagram or TCP segment (later fragments carry no ports). TCP's go to
 * st__tcp_icmp_err (tcp_in.c), which checks the quoted sequence (RFC
 * 5927) before it lowers a path MTU or aborts a connection attempt.
 *
 * Path MTU (RFC 1191): a fragmentation-needed message that quotes a
 * datagram of one of our sockets lowers the path MTU towards the quoted
 * destination to the next-hop MTU it carries, or,
 * from a router that predates RFC 1191 (MTU 0), to the plateau below the
 * quoted datagram's length (RFC 1191 §7). Values below 68 (RFC 791) or not
 * below the current path MTU are ignored. Entries expire after
 * pmtu_expiry_ns (RFC 1191 §6.3 suggests 10 minutes), and the table holds
 * ST_PMTU_SLOTS destinations, the entry closest to expiry making room.
 * One that quotes no socket of ours (a foreign flow, another protocol)
 * changes nothing, as in Linux's udp_err: otherwise anyone who can reach
 * us could lower the path MTU towards any destination to 68 bytes and
 * make every datagram to it go out in tiny fragments (RFC 5927 §7).
 */
#include "stack/stack_int.h"
#include "stack/wire/icmp.h"

#include <errno.h>
#include <string.h>

/* ---- path MTU --------------------------------------------------------- */

unsigned st__pmtu_get(struct anyload_stack* st, uint32_t dst_be32,
                      int64_t now)
{
  unsigned k;

  for (k = 0; k < ST_PMTU_SLOTS; k++) {
    struct st_pmtu* e = &st->pmtu[k];
    if (e->dst_be32 != dst_be32)
      continue;
    if (now >= e->expires) {
      e->dst_be32 = 0;
      st->pmtu_gen++;
      return 0;
    }
    return e->mtu;
  }
  return 0;
}

int st__pmtu_learn(struct anyload_stack* st, uint32_t dst_be32, unsigned mtu,
                   int64_t now)
{
  struct st_pmtu* slot = NULL;
  unsigned cur = st__pmtu_get(st, dst_be32, now), k;

  if (!cur)
    cur = st->mtu;
  if (mtu < 68 || mtu >= cur)
    return 0;
  for (k = 0; k < ST_PMTU_SLOTS; k++) {
    struct st_pmtu* e = &st->pmtu[k];
    if (e->dst_be32 == dst_be32) {
      slot = e;
      break;
    }
    if (!slot || (slot->dst_be32 && (!e->dst_be32 ||
                                     e->expires < slot->expires)))
      slot = e;
  }
  slot->dst_be32 = dst_be32;
  slot->mtu = mtu;
  slot->expires = now + st->cfg.pmtu_expiry_ns;
  st->pmtu_gen++;
  return 1;
}

/* plateau: RFC 1191 §7's table: the largest plateau below len. */
static unsigned plateau(unsigned len)
{
  static const unsigned tab[] = { 32000, 17914, 8166, 4352, 2002, 1492,
                                  1006, 508, 296, 68 };
  unsigned k;

  for (k = 0; k < sizeof(tab) / sizeof(tab[0]); k++)
    if (tab[k] < len)
      return tab[k];
  return 68;
}

/* ---- errors ----------------------------------------------------------- */

/* unreach_err: the errno and hardness of a DEST_UNREACH code (the
 * kernel's icmp_err_convert). */
static int unreach_err(uint8_t code, int* hard)
{
  static const struct { uint8_t err, hard; } tab[] = {
    { ENETUNREACH, 0 },  /* 0 net unreachable */
    { EHOSTUNREACH, 0 }, /* 1 host unreachable */
    { ENOPROTOOPT, 1 },  /* 2 protocol unreachable */
    { ECONNREFUSED, 1 }, /* 3 port unreachable */
    { EMSGSIZE, 1 },     /* 4 fragmentation needed */
    { EOPNOTSUPP, 0 },   /* 5 source route failed */
    { ENETUNREACH, 1 },  /* 6 net unknown */
    { EHOSTDOWN, 1 },    /* 7 host unknown */
    { ENONET, 1 },       /* 8 host isolated */
    { ENETUNREACH, 1 },  /* 9 net prohibited */
    { EHOSTUNREACH, 1 }, /* 10 host prohibited */
    { ENETUNREACH, 0 },  /* 11 net unreachable for TOS */
    { EHOSTUNREACH, 0 }, /* 12 host unreachable for TOS */
    { EHOSTUNREACH, 1 }, /* 13 communication prohibited */
    { EHOSTUNREACH, 1 }, /* 14 host precedence violation */
    { EHOSTUNREACH, 1 }, /* 15 precedence cut-off */
  };

  if (code < sizeof(tab) / sizeof(tab[0])) {
    *hard = tab[code].hard;
    return tab[code].err;
  }
  *hard = 0;
  return EHOSTUNREACH;
}

static void icmp_error(struct anyload_stack* st, const struct st_icmp_repr* r,
                       int64_t now)
{
  struct st_icmp_quote q;
  struct st_sock* s;
  int err, hard;

  if (st_icmp_parse_quote(r, &q) != ST_ICMP_OK || q.frag_off != 0) {
    ST_INC(st, rx_drop_icmp_quote);
    return;
  }
  if (q.proto == ST_IPPROTO_TCP) {
    unsigned mtu = 0;
    if (r->type == ST_ICMP_DEST_UNREACH && r->code == ST_ICMP_FRAG_NEEDED) {
      mtu = st_icmp_mtu(r);
      if (mtu == 0)
        mtu = plateau(q.tot_len);
      err = EMSGSIZE;
      hard = 0;
    } else if (r->type == ST_ICMP_DEST_UNREACH) {
      err = unreach_err(r->code, &hard);
    } else if (r->type == ST_ICMP_PARAM_PROBLEM) {
      err = EPROTO;
      hard = 1;
    } else {
      err = EHOSTUNREACH;
      hard = 0;
    }
    st__tcp_icmp_err(st, q.src_be32, q.sport_be16, q.dst_be32, q.dport_be16,
                     q.tcp_seq, err, hard, mtu, now);
    return;
  }
  if (q.proto != ST_IPPROTO_UDP) {
    ST_INC(st, rx_drop_icmp_no_sock);
    return;
  }
  s = st__sock_lookup(st, q.src_be32, q.sport_be16, q.dst_be32,
                      q.dport_be16);
  if (!s) {
    ST_INC(st, rx_drop_icmp_no_sock);
    return;
  }
  if (r->type == ST_ICMP_DEST_UNREACH && r->code == ST_ICMP_FRAG_NEEDED) {
    unsigned mtu = st_icmp_mtu(r);
    if (mtu == 0)
      mtu = plateau(q.tot_len);
    if (st__pmtu_learn(st, q.dst_be32, mtu, now))
      ST_INC(st, icmp_pmtu_learnt);
    else
      ST_INC(st, icmp_pmtu_ignored);
  }
  switch (r->type) {
  case ST_ICMP_DEST_UNREACH:
    err = unreach_err(r->code, &hard);
    break;
  case ST_ICMP_PARAM_PROBLEM:
    err = EPROTO;
    hard = 1;
    break;
  default: /* time exceeded */
    err = EHOSTUNREACH;
    hard = 0;
    break;
  }
  if (hard)
    ST_SOCK_INC(s, icmp_hard);
  else
    ST_SOCK_INC(s, icmp_soft);
  if (!s->connected || s->raddr_be32 != q.dst_be32 ||
      s->rport_be16 != q.dport_be16) {
    ST_INC(st, icmp_err_unconnected);
  } else if (hard) {
    s->err = err;
    ST_INC(st, icmp_err_hard);
  } else {
    ST_INC(st, icmp_err_soft);
  }
}

/* ---- echo ------------------------------------------------------------- */

/* echo_reply: answer an echo request (RFC 792; RFC 1122 §3.2.2.6: same
 * data, identifier and sequence) addressed to us, through the MAC it came
 * from. A reply that finds no buffer or ring room is not sent (the
 * requester retries). */
static void echo_reply(struct anyload_stack* st, uint32_t i,
                       const struct st_ipv4_repr* ip,
                       const struct st_icmp_repr* req)
{
  const struct st_pkt* p = &st->pkts[i];
  struct st_ip_out o;
  struct st_icmp_repr rep;
  uint32_t k;
  uint8_t* f;

  if (!st__is_local(st, ip->dst_be32) ||
      ST_IPV4_HLEN + (unsigned)p->dlen > st->mtu) {
    ST_INC(st, rx_drop_icmp_type);
    return;
  }
  k = st__pkt_alloc(st, ST_PKT_BUSY);
  if (k == ST_PKT_NONE) {
    ST_INC(st, rx_drop_icmp_type);
    return;
  }
  memset(&o, 0, sizeof(o));
  memcpy(o.dst_mac, st__pkt_data(st, i) + ST_ETH_OFF_SRC, 6);
  o.src_be32 = ip->dst_be32;
  o.dst_be32 = ip->src_be32;
  o.ttl = 64;
  o.tos = ip->tos;
  o.proto = ST_IPPROTO_ICMP;
  f = st__pkt_data(st, k);
  f = st__ip_build_hdr(st, f, &o, st__ip_next_id(st), 0, p->dlen, 0, 1);
  rep = *req;
  rep.type = ST_ICMP_ECHO_REPLY;
  rep.code = 0;
  st_icmp_build(f, &rep);
  st->pkts[k].len = (uint16_t)(ST_ETH_HLEN + ST_IPV4_HLEN + p->dlen);
  if (st__vi_send(st, k) < 0) {
    st__pkt_free(st, k);
    ST_INC(st, rx_drop_icmp_type);
    return;
  }
  ST_INC(st, icmp_echo_replies);
}

void st__icmp_rx(struct anyload_stack* st, uint32_t i,
                 const struct st_ipv4_repr* ip, int64_t now)
{
  const struct st_pkt* p = &st->pkts[i];
  struct st_icmp_repr r;
  int rc;

  ST_INC(st, rx_icmp);
  rc = st_icmp_parse(st__pkt_data(st, i) + p->off, p->dlen, &r);
  if (rc == ST_ICMP_E_TRUNC)
    ST_INC(st, rx_drop_icmp_trunc);
  else if (rc != ST_ICMP_OK)
    ST_INC(st, rx_drop_icmp_csum);
  else if (r.type == ST_ICMP_ECHO)
    echo_reply(st, i, ip, &r);
  else if (st_icmp_is_error(r.type) && r.type != ST_ICMP_SOURCE_QUENCH)
    icmp_error(st, &r, now);
  else
    ST_INC(st, rx_drop_icmp_type);
  st__pkt_free(st, i);
}
