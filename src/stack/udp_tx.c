/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/udp_tx.c: UDP on transmit (RFC 768): routing through the
 * environment, next-hop MACs, headers built once per connected socket,
 * fragmentation of large datagrams, checksums, multicast loopback.
 *
 * Layer: stack. TX order: anyload_udp_sendmsg -> st__udp_path (route,
 * path MTU from icmp.c) -> the next hop's MAC (env->neigh, or the group
 * or broadcast MAC) -> frames built here with ip.c's st__ip_build_hdr, or
 * from the socket's cached headers -> st__tx_frames (arp.c), which puts
 * them on the ring or holds them until the MAC is known.
 *
 * Headers once per connected socket: the Ethernet, IPv4 and UDP headers
 * of a connected socket's datagrams differ only in lengths,
 * identification and checksums, so they are built at the first send and
 * patched afterwards, as long as the environment's generation (routes and
 * neighbours), the learnt path MTUs and the socket's options are as they
 * were. Without env->generation nothing is cached.
 *
 * Fragmentation (RFC 791 §3.2): a datagram that does not fit the path
 * MTU is cut into fragments of the largest multiple of 8 bytes that fits,
 * all with DF clear; a datagram that fits carries DF, so that a smaller
 * MTU on the way answers with "fragmentation needed" (RFC 1191) rather
 * than fragmenting: this is the kernel's IP_PMTUDISC_WANT. The UDP
 * checksum is summed over the fragments' payloads once they are filled
 * and stored in the first. Identifications come from one counter per
 * stack (RFC 6864 asks for uniqueness per source, destination and
 * protocol within the datagram's lifetime, which a counter gives).
 *
 * Multicast: TTL IP_MULTICAST_TTL (default 1, RFC 1112 §6.1), the group's
 * MAC (RFC 1112 §6.4), the interface of IP_MULTICAST_IF or else the
 * route's. With IP_MULTICAST_LOOP (the default), a copy of each frame is
 * received by this stack as if it had arrived, so that its own member
 * sockets see it; other processes and the kernel do not (a deviation
 * from the kernel, which loops to every local member).
 */
#include "stack/stack_int.h"
#include "stack/wire/udp.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int st__udp_path(struct anyload_stack* st, const struct st_sock* s,
                 uint32_t dst_be32, struct st_path* out, int64_t now)
{
  struct anyload_route r;
  unsigned pmtu;
  int rc;

  memset(out, 0, sizeof(*out));
  out->dst_be32 = dst_be32;
  if (st_ipv4_is_mcast(dst_be32) && s->mcast_if_be32) {
    out->src_be32 = s->laddr_be32 ? s->laddr_be32 : s->mcast_if_be32;
    out->nexthop_be32 = dst_be32;
    out->mtu = st->mtu;
    out->type = ANYLOAD_ROUTE_MULTICAST;
  } else {
    if (!st->env.route)
      return -ENETUNREACH;
    memset(&r, 0, sizeof(r));
    rc = st->env.route(st->env.ctx, dst_be32, s->laddr_be32, &r);
    if (rc < 0)
      return rc;
    if (r.ifindex != st->ifindex)
      return -EXDEV;
    out->src_be32 = s->laddr_be32 ? s->laddr_be32 : r.src_be32;
    out->nexthop_be32 = r.nexthop_be32 ? r.nexthop_be32 : dst_be32;
    out->mtu = r.mtu && r.mtu < st->mtu ? r.mtu : st->mtu;
    out->type = st_ipv4_is_mcast(dst_be32) ? ANYLOAD_ROUTE_MULTICAST
              : st_ipv4_is_bcast(dst_be32) ? ANYLOAD_ROUTE_BROADCAST
              : r.type;
  }
  if (!out->src_be32)
    return -EADDRNOTAVAIL;
  pmtu = st__pmtu_get(st, dst_be32, now);
  if (pmtu && pmtu < out->mtu)
    out->mtu = pmtu;
  return 0;
}

/* path_mac: the destination MAC of path p: the group's, broadcast, or
 * the next hop's from the environment. Returns 0 (p->have_mac says
 * whether it is known; -EAGAIN from the environment leaves it unknown),
 * or -EHOSTUNREACH. */
static int path_mac(struct anyload_stack* st, struct st_path* p)
{
  int rc;

  p->have_mac = 1;
  if (p->type == ANYLOAD_ROUTE_MULTICAST) {
    st_eth_ip4_mcast_mac(p->dst_be32, p->mac);
    return 0;
  }
  if (p->type == ANYLOAD_ROUTE_BROADCAST) {
    memset(p->mac, 0xff, 6);
    return 0;
  }
  p->have_mac = 0;
  if (!st->env.neigh)
    return -EHOSTUNREACH;
  rc = st->env.neigh(st->env.ctx, st->ifindex, p->nexthop_be32, p->mac);
  if (rc == 0)
    p->have_mac = 1;
  else if (rc != -EAGAIN)
    return rc == -EHOSTUNREACH ? rc : -EHOSTUNREACH;
  return 0;
}

/* The cursor over the caller's iovecs. */
struct iov_cur {
  const struct iovec* iov;
  int      n;
  int      i;
  size_t   off;
};

static void iov_copy(struct iov_cur* c, uint8_t* dst, size_t len)
{
  while (len && c->i < c->n) {
    size_t room = c->iov[c->i].iov_len - c->off;
    size_t k = len < room ? len : room;
    memcpy(dst, (const uint8_t*)c->iov[c->i].iov_base + c->off, k);
    dst += k;
    len -= k;
    c->off += k;
    if (c->off == c->iov[c->i].iov_len) {
      c->i++;
      c->off = 0;
    }
  }
}

/* build_cached: the socket's header template for path p. */
static void build_cached(struct anyload_stack* st, struct st_sock* s,
                         const struct st_path* p)
{
  struct st_ip_out o;
  struct st_udp_repr u;
  uint8_t* f;

  memset(&o, 0, sizeof(o));
  o.src_be32 = p->src_be32;
  o.dst_be32 = p->dst_be32;
  memcpy(o.dst_mac, p->mac, 6);
  o.ttl = p->type == ANYLOAD_ROUTE_MULTICAST ? s->mcast_ttl : s->ttl;
  o.tos = s->tos;
  o.proto = ST_IPPROTO_UDP;
  f = st__ip_build_hdr(st, s->hdr, &o, 0, 0, ST_UDP_HLEN, 0, 1);
  u.sport_be16 = s->lport_be16;
  u.dport_be16 = s->rport_be16;
  u.len = ST_UDP_HLEN;
  st_udp_build(f, &u);
  s->hdr_path = *p;
  s->hdr_gen = st__env_generation(st);
  s->hdr_pmtu_gen = st->pmtu_gen;
  s->hdr_valid = 1;
  ST_INC(st, tx_hdr_built);
}

/* any_member: whether a socket of this stack would receive a multicast
 * datagram to (group, port) from src. */
static int any_member(const struct anyload_stack* st, uint32_t group_be32,
                      uint16_t port_be16, uint32_t src_be32)
{
  int k;

  for (k = st__sock_first_on_port(st, port_be16); k >= 0;
       k = st__sock_next_on_port(st, k))
    if (st__sock_is_member(&st->socks[k], group_be32, src_be32))
      return 1;
  return 0;
}

/* mcast_loop: receive a copy of each frame of chain head. */
static void mcast_loop(struct anyload_stack* st, uint32_t head, int64_t now)
{
  uint32_t k;

  for (k = head; k != ST_PKT_NONE; k = st->pkts[k].chain) {
    uint32_t c = st__pkt_alloc(st, ST_PKT_BUSY);
    if (c == ST_PKT_NONE)
      return;
    memcpy(st__pkt_data(st, c), st__pkt_data(st, k), st->pkts[k].len);
    st->pkts[c].looped = 1;
    st__rx_frame(st, c, st->pkts[k].len, now);
  }
  ST_INC(st, mcast_loop);
}

ssize_t anyload_udp_sendmsg(struct anyload_stack* st, int sd,
                            const struct sockaddr_in* dst,
                            const struct iovec* iov, int iovcnt, int flags,
                            int64_t now_ns)
{
  struct st_sock* s = st__sock_get(st, sd);
  struct st_path path, *pp = &path;
  struct iov_cur cur = { iov, iovcnt, 0, 0 };
  uint32_t daddr, head = ST_PKT_NONE, tail = ST_PKT_NONE, k;
  uint16_t dport, id;
  size_t len = 0;
  unsigned nfr, per, ulen, fo, f;
  uint64_t acc;
  int rc, i, cached = 0;

  if (!s)
    return -EBADF;
  if (flags & ~MSG_DONTWAIT)
    return -EOPNOTSUPP;
  if (iovcnt < 0 || (iovcnt && !iov))
    return -EINVAL;
  for (i = 0; i < iovcnt; i++) {
    len += iov[i].iov_len;
    if (len > ST_UDP_MAX_PAYLOAD)
      return -EMSGSIZE;
  }
  if (dst) {
    if (dst->sin_family != AF_INET)
      return -EAFNOSUPPORT;
    if (dst->sin_port == 0)
      return -EINVAL;
    daddr = dst->sin_addr.s_addr;
    dport = dst->sin_port;
  } else if (s->connected) {
    daddr = s->raddr_be32;
    dport = s->rport_be16;
  } else {
    return -EDESTADDRREQ;
  }
  if (s->err) {
    int e = s->err;
    s->err = 0;
    return -e;
  }
  if ((rc = st__sock_autobind(st, s)) < 0)
    return rc;
  st->now = now_ns;

  /* The path: the connected socket's cached one while it holds. */
  if (s->connected && daddr == s->raddr_be32 && dport == s->rport_be16 &&
      st->env.generation && s->hdr_valid) {
    /* A path MTU below the link's may be a learnt one that has expired
     * since: looking it up lets it expire (and moves pmtu_gen). */
    if (s->hdr_path.mtu < st->mtu)
      st__pmtu_get(st, daddr, now_ns);
    if (s->hdr_gen == st__env_generation(st) &&
        s->hdr_pmtu_gen == st->pmtu_gen) {
      pp = &s->hdr_path;
      cached = 1;
    }
  }
  if (!cached) {
    rc = st__udp_path(st, s, daddr, &path, now_ns);
    if (rc == -EXDEV) {
      ST_INC(st, tx_not_accel);
      return rc;
    }
    if (rc < 0) {
      ST_INC(st, tx_route_err);
      return rc;
    }
    if (path.type == ANYLOAD_ROUTE_BROADCAST && !s->broadcast)
      return -EACCES;
    if ((rc = path_mac(st, &path)) < 0) {
      ST_INC(st, tx_route_err);
      return rc;
    }
    if (s->connected && daddr == s->raddr_be32 && dport == s->rport_be16 &&
        st->env.generation && path.have_mac) {
      build_cached(st, s, &path);
      pp = &s->hdr_path;
      cached = 1;
    }
  } else {
    ST_INC(st, tx_hdr_cached);
  }

  /* Room: buffers, and ring slots unless the frames will wait for a MAC.
   * A poll reclaims completed transmits once before giving up. */
  ulen = (unsigned)len + ST_UDP_HLEN;
  nfr = st__ip_frag_count(ulen, pp->mtu);
  for (i = 0; i < 2; i++) {
    if (st->n_free >= nfr + 1 &&
        (!pp->have_mac || ef_vi_transmit_space(st__tx_vi(st)) >= (int)nfr))
      break;
    if (i == 0)
      anyload_stack_poll(st, now_ns, 0);
  }
  if (i == 2) {
    ST_INC(st, tx_eagain);
    ST_SOCK_INC(s, tx_eagain);
    return -EAGAIN;
  }

  for (f = 0; f < nfr; f++) {
    k = st__pkt_alloc(st, ST_PKT_BUSY);
    if (tail == ST_PKT_NONE)
      head = k;
    else
      st->pkts[tail].chain = k;
    tail = k;
  }

  id = st__ip_next_id(st);
  if (nfr == 1 && cached) {
    /* The template, with lengths, identification and checksums. */
    uint8_t* fr = st__pkt_data(st, head);
    uint8_t* ip = fr + ST_ETH_HLEN;
    uint8_t* uh = ip + ST_IPV4_HLEN;
    memcpy(fr, s->hdr, ST_HDR_LEN);
    st_put_be16(ip + ST_IPV4_OFF_TOTLEN, (uint16_t)(ST_IPV4_HLEN + ulen));
    st_put_be16(ip + ST_IPV4_OFF_ID, id);
    st_ipv4_set_csum(ip, ST_IPV4_HLEN);
    st_put_be16(uh + ST_UDP_OFF_LEN, (uint16_t)ulen);
    iov_copy(&cur, uh + ST_UDP_HLEN, len);
    st->pkts[head].len = (uint16_t)(ST_HDR_LEN + len);
  } else {
    struct st_ip_out o;
    struct st_udp_repr u;

    memset(&o, 0, sizeof(o));
    o.src_be32 = pp->src_be32;
    o.dst_be32 = daddr;
    memcpy(o.dst_mac, pp->mac, 6);
    o.ttl = pp->type == ANYLOAD_ROUTE_MULTICAST ? s->mcast_ttl : s->ttl;
    o.tos = s->tos;
    o.proto = ST_IPPROTO_UDP;
    per = nfr == 1 ? ulen : st__ip_frag_size(pp->mtu);
    for (f = 0, fo = 0, k = head; k != ST_PKT_NONE;
         k = st->pkts[k].chain, f++, fo += per) {
      unsigned flen = ulen - fo < per ? ulen - fo : per;
      uint8_t* pl = st__ip_build_hdr(st, st__pkt_data(st, k), &o, id, fo,
                                     flen, f + 1 < nfr, nfr == 1);
      if (fo == 0) {
        u.sport_be16 = s->lport_be16;
        u.dport_be16 = dport;
        u.len = (uint16_t)ulen;
        st_udp_build(pl, &u);
        iov_copy(&cur, pl + ST_UDP_HLEN, flen - ST_UDP_HLEN);
      } else {
        iov_copy(&cur, pl, flen);
      }
      st->pkts[k].len = (uint16_t)(ST_ETH_HLEN + ST_IPV4_HLEN + flen);
    }
  }

  /* The UDP checksum over every fragment's share, stored in the first
   * (fragment payloads are multiples of 8 bytes: the sum chains). */
  if (!s->no_check) {
    acc = st_udp_csum_start(pp->src_be32, daddr, (uint16_t)ulen);
    for (k = head; k != ST_PKT_NONE; k = st->pkts[k].chain)
      acc = st_csum_acc(acc, st__pkt_data(st, k) + ST_ETH_HLEN + ST_IPV4_HLEN,
                        st->pkts[k].len - ST_ETH_HLEN - ST_IPV4_HLEN);
    st_udp_csum_store(st__pkt_data(st, head) + ST_ETH_HLEN + ST_IPV4_HLEN,
                      acc);
  }

  if (pp->type == ANYLOAD_ROUTE_MULTICAST && s->mcast_loop &&
      any_member(st, daddr, dport, pp->src_be32))
    mcast_loop(st, head, now_ns);

  if (!pp->have_mac)
    ST_SOCK_INC(s, tx_neigh_wait);
  rc = st__tx_frames(st, head, st->ifindex, pp->nexthop_be32,
                     pp->have_mac ? pp->mac : NULL, sd, s->gen, now_ns);
  if (rc < 0) {
    if (rc == -EAGAIN) {
      ST_INC(st, tx_eagain);
      ST_SOCK_INC(s, tx_eagain);
    }
    return rc;
  }
  ST_INC(st, tx_datagrams);
  if (nfr > 1) {
    ST_INC(st, tx_fragmented);
    ST_ADD(st, tx_frags, nfr);
  }
  ST_SOCK_INC(s, tx_datagrams);
  ST_SOCK_ADD(s, tx_bytes, len);
  return (ssize_t)len;
}

ssize_t anyload_udp_sendto(struct anyload_stack* st, int sd, const void* buf,
                           size_t len, int flags,
                           const struct sockaddr_in* dst, int64_t now_ns)
{
  struct iovec iov = { .iov_base = (void*)buf, .iov_len = len };

  return anyload_udp_sendmsg(st, sd, dst, &iov, 1, flags, now_ns);
}
