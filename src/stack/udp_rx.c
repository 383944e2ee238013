/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/udp_rx.c: UDP on receive (RFC 768): header and checksum checks,
 * demultiplexing to sockets, receive queues with their limits, and the
 * receive call.
 *
 * Layer: stack. RX order: ip.c st__rx_frame (or st__reasm_in for a
 * fragmented datagram) -> st__udp_rx -> sock.c lookups -> st__udp_queue
 * -> the socket's queue, which anyload_udp_recvmsg empties. A datagram
 * stays in the buffers it arrived in, as a chain when it came in
 * fragments; nothing is copied until recvmsg copies it out.
 *
 * Checksums: a zero checksum field means the sender computed none
 * (RFC 768), which RFC 1122 §4.1.3.4 lets a host accept: we do, and
 * count it. Otherwise the checksum is verified over the pseudo-header
 * and the datagram, unless ANYLOAD_STACK_F_TRUST_RX_CSUM says the link
 * leaves checksums unfinished, or the VI verified it already
 * (ANYLOAD_STACK_F_VI_CSUM; the VI checks unfragmented datagrams only).
 *
 * Delivery: unicast to the one socket st__sock_lookup picks; multicast
 * to every socket bound to the port (on INADDR_ANY or the group) that is
 * a member (RFC 1112 §7.2); broadcast (the limited broadcast address, or
 * an Ethernet broadcast frame, which is how a subnet broadcast arrives) to
 * every socket bound to the port on INADDR_ANY or that address. Extra
 * receivers get copies.
 *
 * Limits: a socket's queue holds datagrams while the buffers they occupy
 * (buf_size bytes each, the analogue of the kernel's truesize) stay
 * within its receive buffer; one datagram is always accepted into an
 * empty queue. Independently, when fewer than ST_POOL_RESERVE buffers are
 * free, datagrams are dropped rather than queued, so that the receive
 * ring and transmit keep buffers. Both are counted drops.
 */
#include "stack/publish.h"
#include "stack/stack_int.h"
#include "stack/wire/udp.h"

#include <anyload/stack_obs.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Buffers kept free for the receive ring and for transmit. */
#define ST_POOL_RESERVE 64

static unsigned chain_bufs(const struct anyload_stack* st, uint32_t head)
{
  unsigned n = 0;

  for (; head != ST_PKT_NONE; head = st->pkts[head].chain)
    n++;
  return n;
}

void st__udp_queue(struct anyload_stack* st, struct st_sock* s, uint32_t head)
{
  unsigned mem = chain_bufs(st, head) * st->buf_size;

  if (s->rxq.n && s->rxq_bytes + mem > s->rcvbuf) {
    ST_INC(st, rx_drop_rcvbuf);
    ST_SOCK_INC(s, rx_drop_rcvbuf);
    st__pkt_free_chain(st, head);
    return;
  }
  if (st->n_free < ST_POOL_RESERVE) {
    ST_INC(st, rx_drop_pool_low);
    st__pkt_free_chain(st, head);
    return;
  }
  st__pkt_set_state(st, head, ST_PKT_SOCK, 1);
  st__pq_push(st, &s->rxq, head);
  s->rxq_bytes += mem;
  st__lat_stamp(st, head);
  ST_INC(st, rx_udp_datagrams);
  ST_SOCK_INC(s, rx_datagrams);
  ST_SOCK_ADD(s, rx_bytes, st->pkts[head].total);
}

/* deliver_many: give datagram head to every socket on its port that
 * wants a multicast (mcast) or broadcast datagram to dst. */
static void deliver_many(struct anyload_stack* st, uint32_t head,
                         uint32_t dst_be32, int mcast)
{
  const struct st_pkt* p = &st->pkts[head];
  struct st_sock* prev = NULL;
  int k;

  for (k = st__sock_first_on_port(st, p->dport_be16); k >= 0;
       k = st__sock_next_on_port(st, k)) {
    struct st_sock* s = &st->socks[k];
    if (s->bind_addr_be32 && s->bind_addr_be32 != dst_be32)
      continue;
    if (s->connected && (s->raddr_be32 != p->saddr_be32 ||
                         s->rport_be16 != p->sport_be16))
      continue;
    if (mcast && !st__sock_is_member(s, dst_be32, p->saddr_be32))
      continue;
    if (prev) {
      uint32_t c = st__pkt_clone_chain(st, head, ST_PKT_BUSY);
      if (c == ST_PKT_NONE)
        ST_INC(st, rx_drop_pool_low);
      else
        st__udp_queue(st, prev, c);
    }
    prev = s;
  }
  if (prev) {
    st__udp_queue(st, prev, head);
  } else {
    ST_INC(st, rx_drop_udp_no_sock);
    st__pkt_free_chain(st, head);
  }
}

void st__udp_rx(struct anyload_stack* st, uint32_t head,
                const struct st_ipv4_repr* ip, int64_t now)
{
  struct st_pkt* p = &st->pkts[head];
  const uint8_t* frame = st__pkt_data(st, head);
  const uint8_t* uh = frame + p->off;
  unsigned total = 0, seen, fragmented = p->chain != ST_PKT_NONE;
  struct st_udp_repr u;
  struct st_sock* s;
  uint32_t k, last;
  int rc;

  (void)now;
  for (k = head; k != ST_PKT_NONE; k = st->pkts[k].chain)
    total += st->pkts[k].dlen;
  if (p->dlen < ST_UDP_HLEN) {
    ST_INC(st, rx_drop_udp_trunc);
    goto drop;
  }
  rc = st_udp_parse(uh, total, &u);
  if (rc != ST_UDP_OK) {
    if (rc == ST_UDP_E_TRUNC)
      ST_INC(st, rx_drop_udp_trunc);
    else
      ST_INC(st, rx_drop_udp_len);
    goto drop;
  }

  /* Only the first u.len bytes are the datagram (RFC 768): trim. */
  seen = 0;
  last = head;
  for (k = head; k != ST_PKT_NONE; k = st->pkts[k].chain) {
    struct st_pkt* q = &st->pkts[k];
    last = k;
    if (seen + q->dlen >= u.len) {
      q->dlen = (uint16_t)(u.len - seen);
      break;
    }
    seen += q->dlen;
  }
  st__pkt_free_chain(st, st->pkts[last].chain);
  st->pkts[last].chain = ST_PKT_NONE;

  if (u.csum_be16 == 0) {
    ST_INC(st, rx_udp_zero_csum);
  } else if (!(st->cfg.flags & ANYLOAD_STACK_F_TRUST_RX_CSUM) &&
             (fragmented || !(st->cfg.flags & ANYLOAD_STACK_F_VI_CSUM))) {
    uint64_t acc = st_udp_csum_start(ip->src_be32, ip->dst_be32, u.len);
    for (k = head; k != ST_PKT_NONE; k = st->pkts[k].chain)
      acc = st_csum_acc(acc, st__pkt_data(st, k) + st->pkts[k].off,
                        st->pkts[k].dlen);
    if (st_csum_fold(acc) != 0xffff) {
      ST_INC(st, rx_drop_udp_csum);
      goto drop;
    }
  }

  p->off += ST_UDP_HLEN;
  p->dlen -= ST_UDP_HLEN;
  p->total = u.len - ST_UDP_HLEN;
  p->sport_be16 = u.sport_be16;
  p->dport_be16 = u.dport_be16;
  p->saddr_be32 = ip->src_be32;
  p->daddr_be32 = ip->dst_be32;

  if (st_ipv4_is_mcast(ip->dst_be32)) {
    deliver_many(st, head, ip->dst_be32, 1);
    return;
  }
  if (st_ipv4_is_bcast(ip->dst_be32) ||
      (frame[0] == 0xff && frame[1] == 0xff && frame[2] == 0xff &&
       frame[3] == 0xff && frame[4] == 0xff && frame[5] == 0xff)) {
    deliver_many(st, head, ip->dst_be32, 0);
    return;
  }
  s = st__sock_lookup(st, ip->dst_be32, u.dport_be16, ip->src_be32,
                      u.sport_be16);
  if (!s) {
    ST_INC(st, rx_drop_udp_no_sock);
    goto drop;
  }
  st__udp_queue(st, s, head);
  return;

drop:
  st__pkt_free_chain(st, head);
}

/* ---- recvmsg ---------------------------------------------------------- */

ssize_t anyload_udp_recvmsg_at(struct anyload_stack* st, int sd,
                               const struct iovec* iov, int iovcnt,
                               struct sockaddr_in* from, int* flags,
                               int64_t now_ns)
{
  struct st_sock* s = st__sock_get(st, sd);
  const struct st_pkt* p;
  size_t cap = 0, copied = 0, io_off = 0;
  uint32_t head, k;
  int in, vi = 0;

  if (!s)
    return -EBADF;
  if (!flags || iovcnt < 0 || (iovcnt && !iov))
    return -EINVAL;
  in = *flags;
  if (in & ~(MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT))
    return -EOPNOTSUPP;
  if (s->err) {
    int e = s->err;
    s->err = 0;
    return -e;
  }
  head = s->rxq.head;
  if (head == ST_PKT_NONE)
    return -EAGAIN;
  p = &st->pkts[head];
  for (vi = 0; vi < iovcnt; vi++)
    cap += iov[vi].iov_len;

  /* Copy the chain's pieces into the iovecs, both walked once. */
  vi = 0;
  for (k = head; k != ST_PKT_NONE && copied < cap; k = st->pkts[k].chain) {
    const uint8_t* src = st__pkt_data(st, k) + st->pkts[k].off;
    size_t left = st->pkts[k].dlen;
    while (left && vi < iovcnt) {
      size_t room = iov[vi].iov_len - io_off;
      size_t n = left < room ? left : room;
      memcpy((uint8_t*)iov[vi].iov_base + io_off, src, n);
      src += n;
      left -= n;
      copied += n;
      io_off += n;
      if (io_off == iov[vi].iov_len) {
        vi++;
        io_off = 0;
      }
    }
  }
  if (from) {
    memset(from, 0, sizeof(*from));
    from->sin_family = AF_INET;
    from->sin_addr.s_addr = p->saddr_be32;
    from->sin_port = p->sport_be16;
  }
  *flags = p->total > copied ? MSG_TRUNC : 0;
  {
    ssize_t ret = (in & MSG_TRUNC) ? (ssize_t)p->total : (ssize_t)copied;
    if (!(in & MSG_PEEK)) {
      st__lat_read(st, s, head, now_ns);
      st__pq_pop(st, &s->rxq);
      s->rxq_bytes -= chain_bufs(st, head) * st->buf_size;
      st__pkt_free_chain(st, head);
    }
    return ret;
  }
}

ssize_t anyload_udp_recvmsg(struct anyload_stack* st, int sd,
                            const struct iovec* iov, int iovcnt,
                            struct sockaddr_in* from, int* flags)
{
  return anyload_udp_recvmsg_at(st, sd, iov, iovcnt, from, flags, -1);
}

ssize_t anyload_udp_recvfrom_at(struct anyload_stack* st, int sd, void* buf,
                                size_t len, int* flags,
                                struct sockaddr_in* from, int64_t now_ns)
{
  struct iovec iov = { .iov_base = buf, .iov_len = len };

  return anyload_udp_recvmsg_at(st, sd, &iov, 1, from, flags, now_ns);
}

ssize_t anyload_udp_recvfrom(struct anyload_stack* st, int sd, void* buf,
                             size_t len, int* flags, struct sockaddr_in* from)
{
  struct iovec iov = { .iov_base = buf, .iov_len = len };

  return anyload_udp_recvmsg(st, sd, &iov, 1, from, flags);
}
