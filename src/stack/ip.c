/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/ip.c: Ethernet and IPv4 on receive, IPv4 reassembly, and the
 * IPv4 side of transmit (headers, identification, fragment sizes).
 *
 * Layer: stack. RX order: stack.c polls the VI -> st__rx_frame (Ethernet
 * type, IPv4 checks through wire/ipv4.h, source address sanity, the
 * destination is ours) ->
 * st__reasm_in for fragments -> st__udp_rx (udp_rx.c), st__tcp_rx
 * (tcp_in.c) or st__icmp_rx (icmp.c). TX: udp_tx.c and icmp.c call st__ip_build_hdr per frame.
 *
 * Reassembly (RFC 791 §3.2, RFC 1122 §3.3.2, RFC 815's hole idea reduced
 * to "no overlaps, count the bytes"): datagrams are keyed by source,
 * destination, identification and protocol. Fragments stay in the
 * buffers they arrived in (no copy), sorted by offset; the datagram is
 * complete when the last fragment (MF clear) has fixed its length and
 * the bytes held add up to it, which, with overlaps refused, means every
 * byte is there. Policy:
 *   - an exact duplicate (same offset and length) is dropped alone;
 *   - any other overlap drops the whole datagram. RFC 791 lets a receiver
 *     merge overlaps; we don't, as Linux since 4.19 and RFC 5722 (IPv6)
 *     don't, because overlapping fragments serve only evasion;
 *   - a fragment past the end that the last fragment gave, or a second
 *     last fragment with another end, drops the datagram;
 *   - memory is bounded: at most reasm_max_datagrams in progress and
 *     reasm_max_bufs buffers held; beyond, the oldest datagram is evicted
 *     (as Linux evicts under ipfrag_high_thresh);
 *   - a datagram still incomplete reasm_timeout_ns after its first
 *     fragment is dropped (default 30 s as Linux; RFC 1122 §3.3.2 asks
 *     for 60 to 120 s: a deviation in favour of memory). The stack sends
 *     no ICMP time exceeded for it (it sends no ICMP errors at all).
 * UDP and TCP are reassembled; fragmented ICMP is dropped. TCP is sent
 * with DF and an MSS that fits, by us and by every modern stack, but a
 * sender with path MTU discovery off (DF clear) behind a router with a
 * smaller MTU arrives in fragments, and the kernel takes those in: so do
 * we, or such a connection would stall. The VI gives us a datagram's
 * later fragments (which carry no ports) when its filter took the first
 * (al_frags in bpf/filter_lookup.h); with ANYLOAD_STACK_F_RX_FRAGMENTS,
 * every UDP fragment that no other filter claims.
 */
#include "stack/stack_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- receive ---------------------------------------------------------- */

static void count_ip_err(struct anyload_stack* st, int rc)
{
  switch (rc) {
  case ST_IPV4_E_TRUNC:
    ST_INC(st, rx_drop_ip_trunc);
    break;
  case ST_IPV4_E_VERSION:
    ST_INC(st, rx_drop_ip_version);
    break;
  case ST_IPV4_E_IHL:
    ST_INC(st, rx_drop_ip_ihl);
    break;
  case ST_IPV4_E_LEN:
    ST_INC(st, rx_drop_ip_len);
    break;
  case ST_IPV4_E_CSUM:
    ST_INC(st, rx_drop_ip_csum);
    break;
  default:
    ST_INC(st, rx_drop_ip_frag);
    break;
  }
}

/* martian_src: a source no host may use (RFC 1122 §3.2.1.3: a host MUST
 * silently discard a datagram from a broadcast or multicast source; zero
 * and loopback sources cannot come from a wire either). */
static int martian_src(uint32_t src_be32)
{
  return st_ipv4_is_mcast(src_be32) || st_ipv4_is_bcast(src_be32) ||
         st_ipv4_is_zeronet(src_be32) || st_ipv4_is_loopback(src_be32);
}

/* for_us: whether a packet to dst_be32 is addressed to this host (RFC 1122
 * §3.2.1.3: a host silently discards one that is not; Linux drops it when
 * it does not forward). Multicast and broadcast are for us (the socket
 * lookups filter them further), and so is any address in a frame sent to
 * the Ethernet broadcast address, which is how a subnet broadcast arrives.
 * The filters claim ports on any address, so transit traffic that reaches
 * the interface (a neighbour routing through us) gets here. The last
 * local destination is cached while the environment's generation stays
 * the same: nearly all traffic goes to one address. */
static int for_us(struct anyload_stack* st, const uint8_t* eth_dst,
                  uint32_t dst_be32)
{
  static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
  uint64_t gen;

  if (st_ipv4_is_mcast(dst_be32) || st_ipv4_is_bcast(dst_be32) ||
      !memcmp(eth_dst, bcast, 6) || !st->env.addr_ifindex)
    return 1;
  gen = st__env_generation(st);
  if (st->env.generation && dst_be32 == st->local_be32 &&
      gen == st->local_gen)
    return 1;
  if (!st__is_local(st, dst_be32))
    return 0;
  st->local_be32 = dst_be32;
  st->local_gen = gen;
  return 1;
}

void st__rx_frame(struct anyload_stack* st, uint32_t i, unsigned len,
                  int64_t now)
{
  uint8_t* f = st__pkt_data(st, i);
  struct st_pkt* p = &st->pkts[i];
  struct st_eth_repr eth;
  struct st_ipv4_repr ip;
  int rc;

  if (st_eth_parse(f, len, &eth) < 0) {
    ST_INC(st, rx_drop_eth_trunc);
    goto drop;
  }
  if (eth.type != ST_ETHERTYPE_IPV4) {
    ST_INC(st, rx_drop_not_ip);
    goto drop;
  }
  rc = st_ipv4_parse(f + ST_ETH_HLEN, len - ST_ETH_HLEN, &ip,
                     (st->cfg.flags & ANYLOAD_STACK_F_VI_CSUM) != 0);
  if (rc != ST_IPV4_OK) {
    count_ip_err(st, rc);
    goto drop;
  }
  if (martian_src(ip.src_be32)) {
    ST_INC(st, rx_drop_ip_src);
    goto drop;
  }
  if (!p->looped && !for_us(st, eth.dst, ip.dst_be32)) {
    ST_INC(st, rx_drop_ip_dst);
    goto drop;
  }
  /* Ethernet pads short frames: the IP total length is the truth. */
  p->len = (uint16_t)(ST_ETH_HLEN + ip.tot_len);
  p->off = (uint16_t)(ST_ETH_HLEN + ip.hlen);
  p->dlen = (uint16_t)(ip.tot_len - ip.hlen);
  p->saddr_be32 = ip.src_be32;
  p->daddr_be32 = ip.dst_be32;

  if (ip.proto != ST_IPPROTO_UDP && ip.proto != ST_IPPROTO_ICMP &&
      ip.proto != ST_IPPROTO_TCP) {
    ST_INC(st, rx_drop_ip_proto);
    goto drop;
  }
  if (st_ipv4_is_frag(&ip)) {
    if (ip.proto == ST_IPPROTO_ICMP) {
      ST_INC(st, rx_drop_ip_proto);
      goto drop;
    }
    i = st__reasm_in(st, i, &ip, now);
    if (i == ST_PKT_NONE)
      return;
  }
  if (ip.proto == ST_IPPROTO_UDP)
    st__udp_rx(st, i, &ip, now);
  else if (ip.proto == ST_IPPROTO_TCP)
    st__tcp_rx(st, i, &ip, now);
  else
    st__icmp_rx(st, i, &ip, now);
  return;

drop:
  st__pkt_free(st, i);
}

/* ---- reassembly ------------------------------------------------------- */

int st__reasm_init(struct anyload_stack* st)
{
  unsigned k;

  st->reasm = calloc(st->cfg.reasm_max_datagrams, sizeof(*st->reasm));
  st->tcp_lin = malloc(ST_IPV4_MAX_LEN);
  if (!st->reasm || !st->tcp_lin) {
    free(st->reasm);
    free(st->tcp_lin);
    st->reasm = NULL;
    st->tcp_lin = NULL;
    return -ENOMEM;
  }
  for (k = 0; k < st->cfg.reasm_max_datagrams; k++)
    st->reasm[k].timer.kind = ST_TIMER_REASM;
  st->n_reasm = 0;
  st->reasm_bufs = 0;
  return 0;
}

/* reasm_free: drop datagram r and every fragment it holds. */
static void reasm_free(struct anyload_stack* st, struct st_reasm* r)
{
  uint32_t k = r->frags;

  while (k != ST_PKT_NONE) {
    uint32_t nx = st->pkts[k].next;
    st__pkt_free(st, k);
    k = nx;
  }
  st->reasm_bufs -= r->nfrags;
  st__timer_cancel(st, &r->timer);
  memset(r, 0, sizeof(*r));
  r->timer.kind = ST_TIMER_REASM;
  r->frags = ST_PKT_NONE;
  st->n_reasm--;
}

void st__reasm_fini(struct anyload_stack* st)
{
  unsigned k;

  if (!st->reasm)
    return;
  for (k = 0; k < st->cfg.reasm_max_datagrams; k++)
    if (st->reasm[k].used)
      reasm_free(st, &st->reasm[k]);
  free(st->reasm);
  st->reasm = NULL;
  free(st->tcp_lin);
  st->tcp_lin = NULL;
}

void st__reasm_timeout(struct anyload_stack* st, struct st_timer* t)
{
  struct st_reasm* r = (struct st_reasm*)((char*)t -
                                          offsetof(struct st_reasm, timer));
  ST_INC(st, reasm_drop_timeout);
  reasm_free(st, r);
}

/* reasm_oldest: the datagram in progress that started first, other than
 * keep; NULL if none. */
static struct st_reasm* reasm_oldest(struct anyload_stack* st,
                                     const struct st_reasm* keep)
{
  struct st_reasm* best = NULL;
  unsigned k;

  for (k = 0; k < st->cfg.reasm_max_datagrams; k++) {
    struct st_reasm* r = &st->reasm[k];
    if (r->used && r != keep && (!best || r->born < best->born))
      best = r;
  }
  return best;
}

static struct st_reasm* reasm_find(struct anyload_stack* st,
                                   const struct st_ipv4_repr* ip, int64_t now)
{
  struct st_reasm* free_slot = NULL;
  unsigned k;

  for (k = 0; k < st->cfg.reasm_max_datagrams; k++) {
    struct st_reasm* r = &st->reasm[k];
    if (!r->used) {
      if (!free_slot)
        free_slot = r;
      continue;
    }
    if (r->id == ip->id && r->src_be32 == ip->src_be32 &&
        r->dst_be32 == ip->dst_be32 && r->proto == ip->proto)
      return r;
  }
  if (!free_slot) {
    free_slot = reasm_oldest(st, NULL);
    ST_INC(st, reasm_drop_evicted);
    reasm_free(st, free_slot);
  }
  free_slot->used = 1;
  free_slot->id = ip->id;
  free_slot->src_be32 = ip->src_be32;
  free_slot->dst_be32 = ip->dst_be32;
  free_slot->proto = ip->proto;
  free_slot->frags = ST_PKT_NONE;
  free_slot->born = now;
  st->n_reasm++;
  st__timer_set(st, &free_slot->timer, now + st->cfg.reasm_timeout_ns);
  return free_slot;
}

uint32_t st__reasm_in(struct anyload_stack* st, uint32_t i,
                      const struct st_ipv4_repr* ip, int64_t now)
{
  struct st_pkt* p = &st->pkts[i];
  unsigned start = ip->frag_off, end = start + p->dlen;
  uint32_t prev = ST_PKT_NONE, cur, head, total;
  struct st_reasm* r;

  ST_INC(st, reasm_frags);
  r = reasm_find(st, ip, now);

  /* The end of the datagram, fixed by the fragment with MF clear. */
  if (!ip->mf) {
    uint32_t k;
    if (r->end && r->end != end)
      goto bad;
    for (k = r->frags; k != ST_PKT_NONE; k = st->pkts[k].next)
      if (st->pkts[k].frag_off + st->pkts[k].dlen > end)
        goto bad;
  } else if (r->end && end > r->end) {
    goto bad;
  }
  if (end == start && ip->mf)
    goto bad;   /* st_ipv4_parse refuses it already; kept for clarity */

  /* The place in offset order, and overlaps with the neighbours. */
  for (cur = r->frags; cur != ST_PKT_NONE && st->pkts[cur].frag_off < start;
       cur = st->pkts[cur].next)
    prev = cur;
  if (cur != ST_PKT_NONE && st->pkts[cur].frag_off == start &&
      st->pkts[cur].dlen == p->dlen) {
    ST_INC(st, reasm_drop_dup);
    st__pkt_free(st, i);
    return ST_PKT_NONE;
  }
  if ((prev != ST_PKT_NONE &&
       st->pkts[prev].frag_off + st->pkts[prev].dlen > start) ||
      (cur != ST_PKT_NONE && end > st->pkts[cur].frag_off)) {
    ST_INC(st, reasm_drop_overlap);
    reasm_free(st, r);
    st__pkt_free(st, i);
    return ST_PKT_NONE;
  }

  /* The memory bound: evict older datagrams, or give up on this one. */
  while (st->reasm_bufs + 1 > st->cfg.reasm_max_bufs) {
    struct st_reasm* old = reasm_oldest(st, r);
    if (!old) {
      ST_INC(st, reasm_drop_nomem);
      reasm_free(st, r);
      st__pkt_free(st, i);
      return ST_PKT_NONE;
    }
    ST_INC(st, reasm_drop_evicted);
    reasm_free(st, old);
  }

  p->frag_off = (uint16_t)start;
  p->frag_last = !ip->mf;
  st__pkt_set_state(st, i, ST_PKT_REASM, 0);
  p->next = cur;
  if (prev == ST_PKT_NONE)
    r->frags = i;
  else
    st->pkts[prev].next = i;
  r->nfrags++;
  r->have += p->dlen;
  st->reasm_bufs++;
  if (!ip->mf)
    r->end = end;
  if (!r->end || r->have != r->end)
    return ST_PKT_NONE;

  /* Complete: the fragments become one chain, in offset order. */
  total = r->end;
  head = r->frags;
  for (cur = head; cur != ST_PKT_NONE; cur = st->pkts[cur].next) {
    st->pkts[cur].chain = st->pkts[cur].next;
    st__pkt_set_state(st, cur, ST_PKT_BUSY, 0);
  }
  for (cur = head; cur != ST_PKT_NONE; cur = st->pkts[cur].chain)
    st->pkts[cur].next = ST_PKT_NONE;
  st->reasm_bufs -= r->nfrags;
  r->frags = ST_PKT_NONE;
  r->nfrags = 0;
  reasm_free(st, r);
  st->pkts[head].total = total;
  ST_INC(st, reasm_done);
  return head;

bad:
  ST_INC(st, reasm_drop_bad);
  reasm_free(st, r);
  st__pkt_free(st, i);
  return ST_PKT_NONE;
}

/* ---- transmit --------------------------------------------------------- */

uint16_t st__ip_next_id(struct anyload_stack* st)
{
  return st->ip_id++;
}

unsigned st__ip_frag_count(unsigned len, unsigned mtu)
{
  unsigned per;

  if (ST_IPV4_HLEN + len <= mtu)
    return 1;
  per = st__ip_frag_size(mtu);
  return (len + per - 1) / per;
}

uint8_t* st__ip_build_hdr(const struct anyload_stack* st, uint8_t* frame,
                          const struct st_ip_out* o, uint16_t id,
                          unsigned frag_off, unsigned plen, int mf, int df)
{
  struct st_eth_repr eth;
  struct st_ipv4_repr ip;

  memcpy(eth.dst, o->dst_mac, 6);
  memcpy(eth.src, st->mac, 6);
  eth.type = ST_ETHERTYPE_IPV4;
  frame = st_eth_build(frame, &eth);
  memset(&ip, 0, sizeof(ip));
  ip.src_be32 = o->src_be32;
  ip.dst_be32 = o->dst_be32;
  ip.tot_len = (uint16_t)(ST_IPV4_HLEN + plen);
  ip.id = id;
  ip.frag_off = (uint16_t)frag_off;
  ip.tos = o->tos;
  ip.ttl = o->ttl;
  ip.proto = o->proto;
  ip.df = (uint8_t)(df != 0);
  ip.mf = (uint8_t)(mf != 0);
  return st_ipv4_build(frame, &ip);
}
