/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_out.c: TCP on transmit: segments cut from the send ring at
 * (re)transmit time into packet buffers of the pool, the windows that
 * allow them (the peer's, scaled by RFC 7323 §2, and cwnd from
 * tcp_cc.h), Nagle (RFC 9293 §3.7.4) and cork, ACKs (delayed, quick),
 * limited transmit (RFC 3042),
 * RSTs, zero-window probes, the processing of arriving ACKs (RTT
 * samples, congestion control, duplicate ACKs), fast retransmit and
 * NewReno recovery (RFC 5681 §3.2, RFC 6582), SACK loss recovery (RFC
 * 6675 through tcp_sack.h) and the retransmission timeout (RFC 6298 §5,
 * going back to SND.UNA).
 *
 * Layer: stack. TX order: tcp__output / tcp__xmit / tcp__send_ctl ->
 * emit (path through the environment, cached per connection while the
 * environment's generation and the learnt path MTUs stay; next-hop MAC)
 * -> st__ip_build_hdr (ip.c, DF set: the MSS follows the path MTU) ->
 * st__tx_frames (arp.c). A segment that finds no buffer or ring room is
 * not sent: the connection is marked and st__tcp_poll tries again after
 * the next completions (retransmissions are left to the timer).
 *
 * RTT: one segment at a time is timed (Karn's algorithm: a
 * retransmission cancels the measurement), on the stack's clock.
 */
#include "stack/publish.h"
#include "stack/tcp_int.h"

#include <errno.h>
#include <string.h>

uint32_t tcp__rcv_wnd(const struct st_tcp* c)
{
  uint32_t size = c->rbuf ? c->rbuf_size : c->rcvbuf;
  uint32_t w = size - c->rcv_len;
  uint32_t max = 65535u << c->rcv_ws;

  return w > max ? max : w;
}

/* tcp__path_fresh: the cached path of c, re-routed when the environment or
 * the path MTUs moved; the MSS follows a lower path MTU. */
int tcp__path_fresh(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  int rc;

  if (c->path_ok && c->path_gen == st__env_generation(st) &&
      c->path_pmtu_gen == st->pmtu_gen && st->env.generation)
    return 0;
  if ((rc = tcp__path(st, c, now)) < 0)
    return rc;
  if (c->path.mtu != c->path_mtu && c->mss) {
    unsigned m = tcp__mss_for(c, c->path.mtu);
    if (m > c->peer_mss)
      m = c->peer_mss;
    if (c->ts_ok)
      m -= 12;
    c->mss = (uint16_t)m;
    tcp_cc_set_mss(&c->cc, m);
  }
  c->path_mtu = c->path.mtu;
  return 0;
}

/* emit_ready: the route and next hop of c are known, and a buffer is free
 * (0), or a negative errno (-EAGAIN: no buffer or ring room). */
static int emit_ready(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  int rc;

  if ((rc = tcp__path_fresh(st, c, now)) < 0) {
    ST_INC(st, tcp_tx_route_err);
    return rc;
  }
  if (!c->path.have_mac && st->env.neigh) {
    rc = st->env.neigh(st->env.ctx, st->ifindex, c->path.nexthop_be32,
                       c->path.mac);
    if (rc == 0)
      c->path.have_mac = 1;
    else if (rc != -EAGAIN)
      return -EHOSTUNREACH;
  }
  if (c->path.have_mac && ef_vi_transmit_space(st__tx_vi(st)) < 1)
    return -EAGAIN;
  if (st->n_free < 2)
    return -EAGAIN;
  return 0;
}

/* seg_repr: the TCP header of c's segment: flags, sequence seq, the
 * window we advertise, and the options. */
static void seg_repr(struct st_tcp* c, uint32_t seq, uint8_t flags,
                     int64_t now, struct st_tcp_repr* h)
{
  uint32_t wnd;

  memset(h, 0, sizeof(*h));
  h->sport_be16 = c->lport_be16;
  h->dport_be16 = c->rport_be16;
  h->seq = seq;
  h->flags = flags;
  if (flags & ST_TCP_ACK)
    h->ack = c->rcv_nxt;
  wnd = tcp__rcv_wnd(c);
  if (flags & ST_TCP_SYN) {
    h->win = (uint16_t)(wnd > 65535 ? 65535 : wnd);
    h->mss = c->adv_mss;
    if (!(flags & ST_TCP_ACK) || c->ws_ok) {
      h->ws_ok = 1;
      h->ws = c->rcv_ws;
    }
    if (!(flags & ST_TCP_ACK) || c->sack_ok)
      h->sack_ok = 1;
    if (!(flags & ST_TCP_ACK) || c->ts_ok) {
      h->ts_ok = 1;
      h->tsval = tcp__ts_now(c, now);
      h->tsecr = (flags & ST_TCP_ACK) ? c->ts_recent : 0;
    }
  } else {
    uint32_t edge;
    if (flags & ST_TCP_RST)
      wnd = 0;
    h->win = (uint16_t)(wnd >> c->rcv_ws);
    edge = c->rcv_nxt + ((uint32_t)h->win << c->rcv_ws);
    if ((flags & ST_TCP_ACK) && !(flags & ST_TCP_RST)) {
      if (tcp_seq_gt(edge, c->rcv_adv) || !c->rcv_adv)
        c->rcv_adv = edge;
      else if (tcp_seq_gt(c->rcv_adv, edge))
        /* Never shrink the window (RFC 9293 §3.8.6.2.2). */
        h->win = (uint16_t)((c->rcv_adv - c->rcv_nxt + (1u << c->rcv_ws) - 1)
                            >> c->rcv_ws);
    }
    if (c->ts_ok) {
      h->ts_ok = 1;
      h->tsval = tcp__ts_now(c, now);
      h->tsecr = c->ts_recent;
    }
    if (c->sack_ok && c->nsack_out && (flags & ST_TCP_ACK) &&
        !(flags & ST_TCP_RST)) {
      unsigned j;
      h->nsack = c->nsack_out;
      for (j = 0; j < h->nsack; j++) {
        h->sack[j][0] = c->sack_out[j][0];
        h->sack[j][1] = c->sack_out[j][1];
      }
    }
  }
  if (flags & ST_TCP_ACK)
    c->last_ack_sent = c->rcv_nxt;
}

/* seg_headers: write the Ethernet, IPv4 and TCP headers of a segment of
 * tlen TCP bytes into frame f; returns where the payload goes, and the
 * TCP header in *th. */
static uint8_t* seg_headers(struct anyload_stack* st, const struct st_tcp* c,
                            struct st_tcp_repr* h, unsigned tlen, uint8_t* f,
                            uint8_t** th)
{
  struct st_ip_out o;

  memset(&o, 0, sizeof(o));
  o.src_be32 = c->path.src_be32;
  o.dst_be32 = c->raddr_be32;
  memcpy(o.dst_mac, c->path.mac, 6);
  o.ttl = c->ttl;
  o.tos = c->tos;
  o.proto = ST_IPPROTO_TCP;
  o.mtu = c->path.mtu;
  *th = st__ip_build_hdr(st, f, &o, st__ip_next_id(st), 0, tlen, 0, 1);
  return st_tcp_build(*th, h);
}

/* seg_sent: what a segment (or a super-frame of nsegs) that left with
 * flags and dlen bytes of data changes. */
static void seg_sent(struct anyload_stack* st, struct st_tcp* c,
                     uint8_t flags, uint32_t dlen, unsigned nsegs,
                     int64_t now)
{
  ST_ADD(st, tcp_tx_segs, nsegs);
  ST_TCP_ADD(c, tx_segs, nsegs);
  if (flags & ST_TCP_RST)
    ST_INC(st, tcp_tx_rst);
  if (flags & ST_TCP_ACK) {
    c->dack_at = 0;
    c->ack_pending = 0;
  }
  c->last_tx = now;
  if (dlen)
    c->last_data_tx = now;
}

/* emit: build and send one segment: flags, sequence seq, dlen bytes of
 * the send ring from data_seq. Returns 0 or a negative errno (-EAGAIN:
 * no buffer or ring room). */
static int emit(struct anyload_stack* st, struct st_tcp* c, uint32_t seq,
                uint8_t flags, uint32_t data_seq, uint32_t dlen, int64_t now)
{
  struct st_tcp_repr h;
  uint32_t k;
  uint8_t *th, *pl;
  uint64_t acc;
  unsigned tlen;
  int rc;

  if ((rc = emit_ready(st, c, now)) < 0)
    return rc;
  k = st__pkt_alloc(st, ST_PKT_BUSY);
  if (k == ST_PKT_NONE)
    return -EAGAIN;
  seg_repr(c, seq, flags, now, &h);
  tlen = ST_TCP_HLEN + st_tcp_opts_len(&h) + dlen;
  pl = seg_headers(st, c, &h, tlen, st__pkt_data(st, k), &th);
  if (dlen)
    tcp__snd_copy(c, data_seq, pl, dlen);
  acc = st_tcp_csum_start(c->path.src_be32, c->raddr_be32, (uint16_t)tlen);
  st_tcp_csum_store(th, st_csum_acc(acc, th, tlen));
  st->pkts[k].len = (uint16_t)(ST_ETH_HLEN + ST_IPV4_HLEN + tlen);
  rc = st__tx_frames(st, k, st->ifindex, c->path.nexthop_be32,
                     c->path.have_mac ? c->path.mac : NULL, -1, 0, now);
  if (rc < 0)
    return rc;
  seg_sent(st, c, flags, dlen, 1, now);
  return 0;
}

/* emit_gso: send dlen bytes of new data at seq (nsegs segments of seg
 * bytes, the last one possibly shorter) as one super-frame
 * (ef_vi_transmitv_gso): the headers in a packet buffer, the data
 * straight from the send ring, copied once, by the kernel. The segments
 * share the header's options (timestamps, SACK blocks), as TSO's do; IP
 * IDs run on from the header's. Returns 0, or a negative errno after
 * which the caller sends the data segment by segment. */
static int emit_gso(struct anyload_stack* st, struct st_tcp* c, uint32_t seq,
                    uint8_t flags, uint32_t dlen, uint32_t seg,
                    unsigned nsegs, int64_t now)
{
  struct st_tcp_repr h;
  struct iovec iov[3];
  uint32_t k;
  uint8_t* th;
  uint8_t* f;
  unsigned tlen, hlen, i;
  int rc, n;

  if ((rc = emit_ready(st, c, now)) < 0)
    return rc;
  if (!c->path.have_mac)
    return -EAGAIN;
  k = st__pkt_alloc(st, ST_PKT_BUSY);
  if (k == ST_PKT_NONE)
    return -EAGAIN;
  /* Frames waiting for the doorbell go first: the VI pushes them. */
  st->tx_unpushed = 0;
  seg_repr(c, seq, flags, now, &h);
  tlen = ST_TCP_HLEN + st_tcp_opts_len(&h) + dlen;
  f = st__pkt_data(st, k);
  seg_headers(st, c, &h, tlen, f, &th);
  hlen = (unsigned)(th - f) + h.hlen;
  iov[0].iov_base = f;
  iov[0].iov_len = hlen;
  n = 1 + tcp__snd_iov(c, seq, dlen, &iov[1]);
  rc = ef_vi_transmitv_gso(st__tx_vi(st), iov, n, seg);
  st__pkt_free(st, k);
  if (rc < 0) {
    /* The IP ID taken stays unused: harmless. */
    if (rc != -EAGAIN)
      st->tcp_gso_off = 1;   /* this VI cannot: never again */
    else
      ST_INC(st, tcp_tx_gso_fallback);
    return rc;
  }
  for (i = 1; i < nsegs; i++)
    st__ip_next_id(st);
  ST_INC(st, tcp_tx_gso_frames);
  ST_ADD(st, tcp_tx_gso_segs, nsegs);
  /* Frames on the wire. */
  ST_ADD(st, tx_frames, nsegs);
  ST_ADD(st, tx_bytes, (uint64_t)hlen * nsegs + dlen);
  seg_sent(st, c, flags, dlen, nsegs, now);
  return 0;
}

int tcp__send_ctl(struct anyload_stack* st, struct st_tcp* c, uint32_t seq,
                  uint8_t flags, int64_t now)
{
  return emit(st, c, seq, flags, 0, 0, now);
}

void tcp__send_ack(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  /* SND.MAX, not SND.NXT: after an RTO went back to SND.UNA, the peer has
   * seen sequences up to SND.MAX, and an ACK below its RCV.NXT would be
   * unacceptable to it (RFC 9293 §3.10.7.4's test on an empty segment):
   * two ends recovering at once would drop each other's ACKs forever. */
  if (tcp__send_ctl(st, c, c->snd_max, ST_TCP_ACK, now) == 0)
    ST_TCP_INC(c, tx_acks);
  tcp__timer_update(st, c);
}

void tcp__schedule_ack(struct anyload_stack* st, struct st_tcp* c,
                       int now_ack, int64_t now)
{
  if (c->quickacks) {
    c->quickacks--;
    now_ack = 1;
  }
  if (now_ack || c->quickack_opt) {
    tcp__send_ack(st, c, now);
    return;
  }
  if (++c->ack_pending >= 2) {
    /* Every second full segment is ACKed (RFC 5681 §4.2) -- but segments
     * that arrived in one receive batch count as one, as the kernel's
     * GRO makes them: the ACK goes when the batch ends, covering them
     * all. Each ACK costs a frame on the wire and a kick. */
    if (st->in_rx_batch && (c->ack_due ||
                            st->n_tcp_ack_due < ST_TCP_ACK_DUE_MAX)) {
      if (!c->ack_due) {
        c->ack_due = 1;
        st->tcp_ack_due[st->n_tcp_ack_due++] = (int)(c - st->tcps);
      }
      return;
    }
    tcp__send_ack(st, c, now);
    return;
  }
  if (!c->dack_at) {
    c->dack_at = now + ST_TCP_DACK_NS;
    tcp__timer_update(st, c);
  }
}

void st__tcp_flush_acks(struct anyload_stack* st, int64_t now)
{
  unsigned k, n = st->n_tcp_ack_due;

  st->n_tcp_ack_due = 0;
  for (k = 0; k < n; k++) {
    struct st_tcp* c = &st->tcps[st->tcp_ack_due[k]];
    if (!c->ack_due)
      continue;
    c->ack_due = 0;
    /* Data sent meanwhile carried the ACK (emit cleared ack_pending). */
    if (c->used && c->ack_pending && c->state != TCP_CLOSE)
      tcp__send_ack(st, c, now);
  }
}

void tcp__send_rst_for(struct anyload_stack* st, const struct st_tcp_seg* sg,
                       int64_t now)
{
  struct st_tcp_repr h;
  struct st_ip_out o;
  uint8_t *f, *th;
  uint32_t k;

  (void)now;
  if (sg->h.flags & ST_TCP_RST)
    return;
  k = st__pkt_alloc(st, ST_PKT_BUSY);
  if (k == ST_PKT_NONE || ef_vi_transmit_space(st__tx_vi(st)) < 1) {
    if (k != ST_PKT_NONE)
      st__pkt_free(st, k);
    ST_INC(st, tcp_rst_not_sent);
    return;
  }
  memset(&h, 0, sizeof(h));
  h.sport_be16 = sg->h.dport_be16;
  h.dport_be16 = sg->h.sport_be16;
  if (sg->h.flags & ST_TCP_ACK) {
    h.seq = sg->h.ack;
    h.flags = ST_TCP_RST;
  } else {
    h.seq = 0;
    h.ack = sg->h.seq + sg->len + !!(sg->h.flags & ST_TCP_SYN) +
            !!(sg->h.flags & ST_TCP_FIN);
    h.flags = ST_TCP_RST | ST_TCP_ACK;
  }
  memset(&o, 0, sizeof(o));
  o.src_be32 = sg->daddr_be32;
  o.dst_be32 = sg->saddr_be32;
  memcpy(o.dst_mac, sg->src_mac, 6);
  o.ttl = 64;
  o.proto = ST_IPPROTO_TCP;
  f = st__pkt_data(st, k);
  th = st__ip_build_hdr(st, f, &o, st__ip_next_id(st), 0, ST_TCP_HLEN, 0, 1);
  st_tcp_build(th, &h);
  st_tcp_csum_store(th, st_csum_acc(st_tcp_csum_start(o.src_be32, o.dst_be32,
                                                      ST_TCP_HLEN),
                                    th, ST_TCP_HLEN));
  st->pkts[k].len = ST_ETH_HLEN + ST_IPV4_HLEN + ST_TCP_HLEN;
  if (st__vi_send(st, k) < 0) {
    st__pkt_free(st, k);
    ST_INC(st, tcp_rst_not_sent);
    return;
  }
  ST_INC(st, tcp_tx_segs);
  ST_INC(st, tcp_tx_rst);
}

/* data_end: the sequence just past the queued data (the FIN's). */
static uint32_t data_end(const struct st_tcp* c)
{
  return c->snd_una + c->snd_len;
}

/* max_payload: the data one segment may carry: the MSS, less the SACK
 * blocks that ride on it. */
static uint32_t max_payload(const struct st_tcp* c)
{
  uint32_t m = c->mss;
  uint32_t extra = c->nsack_out ? 4u + 8u * c->nsack_out : 0;

  return m > extra + 64 ? m - extra : m;
}

int tcp__xmit(struct anyload_stack* st, struct st_tcp* c, uint32_t seq,
              uint32_t len, int64_t now)
{
  uint32_t end = data_end(c);
  uint8_t flags = ST_TCP_ACK;
  int rc;

  if (tcp_seq_lt(seq, c->snd_una))
    return 0;
  if (tcp_seq_gt(seq + len, end))
    len = tcp_seq_gt(seq, end) ? 0 : end - seq;
  if (len && seq + len == end)
    flags |= ST_TCP_PSH;
  if (c->fin_queued && !c->fin_acked && seq + len == end)
    flags |= ST_TCP_FIN;
  if (!len && !(flags & ST_TCP_FIN))
    return 0;
  rc = emit(st, c, seq, flags, seq, len, now);
  if (rc < 0) {
    if (rc == -EAGAIN && !c->tx_blocked) {
      c->tx_blocked = 1;
      st->tcp_tx_blocked++;
    }
    ST_TCP_INC(c, tx_eagain);
    return rc;
  }
  if (tcp_seq_lt(seq, c->snd_max)) {
    ST_INC(st, tcp_retrans_segs);
    ST_TCP_INC(c, retrans_segs);
    if (c->rtt_timing && tcp_seq_lt(seq, c->rtt_seq))
      c->rtt_timing = 0;   /* Karn */
  } else if (!c->rtt_timing && len) {
    c->rtt_timing = 1;
    c->rtt_seq = seq + len;
    c->rtt_start = now;
  }
  if (len)
    ST_TCP_ADD(c, tx_bytes, len);
  seq += len + !!(flags & ST_TCP_FIN);
  if (tcp_seq_gt(seq, c->snd_nxt))
    c->snd_nxt = seq;
  if (tcp_seq_gt(seq, c->snd_max))
    c->snd_max = seq;
  if (!c->rto_at)
    tcp__arm_rto(st, c, now);
  return 0;
}

/* gso_allowed: super-frames may carry c's new data now: the stack and
 * the VI allow them, no capture is attached (tcpdump sees each segment),
 * and the next hop is known. */
static int gso_allowed(const struct anyload_stack* st, const struct st_tcp* c)
{
  return !st->tcp_gso_off && c->path.have_mac &&
         !(st->pub && __atomic_load_n(&st->pub->cap->on, __ATOMIC_RELAXED));
}

/* xmit_gso: send the next nsegs full segments of new data (from snd_nxt,
 * which is snd_max) as one super-frame. 0, or a negative errno: then the
 * caller sends them one by one. */
static int xmit_gso(struct anyload_stack* st, struct st_tcp* c,
                    uint32_t seg, unsigned nsegs, int64_t now)
{
  uint32_t seq = c->snd_nxt, len = seg * nsegs;
  uint8_t flags = ST_TCP_ACK;
  int rc;

  if (seq + len == data_end(c))
    flags |= ST_TCP_PSH;
  rc = emit_gso(st, c, seq, flags, len, seg, nsegs, now);
  if (rc < 0)
    return rc;
  if (!c->rtt_timing) {
    c->rtt_timing = 1;
    c->rtt_seq = seq + len;
    c->rtt_start = now;
  }
  ST_TCP_ADD(c, tx_bytes, len);
  c->snd_nxt = seq + len;
  c->snd_max = c->snd_nxt;
  if (!c->rto_at)
    tcp__arm_rto(st, c, now);
  return 0;
}

/* gso_segs: how many full segments of seg bytes of new data may leave in
 * one super-frame now (0 or 1: none). Only full segments: a short one
 * is Nagle's and the cork's to decide; and not the segment that takes
 * the FIN along. */
static unsigned gso_segs(const struct st_tcp* c, uint32_t seg,
                         uint32_t unsent, uint32_t usable)
{
  uint32_t span = unsent < usable ? unsent : usable;
  unsigned n, max;

  if (c->snd_nxt != c->snd_max)
    return 0;
  /* IPv4 total length: at most 65535 with 20 + 60 bytes of headers. */
  max = (65535u - 20u - 60u) / seg;
  n = span / seg;
  if (n > max)
    n = max;
  if (n && c->fin_queued && !c->fin_acked &&
      c->snd_nxt + n * seg == data_end(c))
    n--;
  return n;
}

/* sack_send: RFC 6675 §5 (C): send while cwnd - pipe >= 1 SMSS. */
static void sack_send(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  for (;;) {
    uint32_t pipe = tcp_sack_pipe(&c->sb, c->snd_una, c->snd_max, c->mss);
    uint32_t end = data_end(c), avail = 0, seq, len;
    uint32_t wnd_edge = c->snd_una + c->snd_wnd;
    int is_rxt;

    if (c->cc.cwnd <= pipe || c->cc.cwnd - pipe < c->mss)
      break;
    if (tcp_seq_gt(end, c->snd_max) && tcp_seq_gt(wnd_edge, c->snd_max))
      avail = (tcp_seq_lt(end, wnd_edge) ? end : wnd_edge) - c->snd_max;
    if (!tcp_sack_next_seg(&c->sb, c->snd_una, c->snd_max, c->snd_max, avail,
                           max_payload(c), &seq, &len, &is_rxt))
      break;
    if (tcp__xmit(st, c, seq, len, now) < 0)
      break;
    tcp_sack_sent(&c->sb, seq, len, is_rxt, is_rxt == 2);
    if (is_rxt)
      ST_TCP_INC(c, sack_retrans);
  }
}

static void output(struct anyload_stack* st, struct st_tcp* c, int64_t now);

/* tcp__output: send what the windows allow; the burst leaves with one kick
 * of the backend. */
void tcp__output(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  st__tx_hold(st);
  output(st, c, now);
  st__tx_release(st);
}

static void output(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  switch (c->state) {
  case TCP_ESTABLISHED:
  case TCP_CLOSE_WAIT:
  case TCP_FIN_WAIT1:
  case TCP_CLOSING:
  case TCP_LAST_ACK:
    break;
  default:
    return;
  }
  if (c->tx_blocked || !c->sbuf)
    return;
  /* The MSS of this round follows the path MTU (RFC 1191 §6.4). */
  if (tcp__path_fresh(st, c, now) < 0)
    return;
  if (c->in_recovery && c->sack_ok) {
    sack_send(st, c, now);
    return;
  }
  for (;;) {
    uint32_t end = data_end(c), wnd, flight, usable, unsent, seg;

    wnd = c->cc.cwnd + c->cwnd_infl;
    if (c->snd_wnd < wnd)
      wnd = c->snd_wnd;
    flight = c->snd_nxt - c->snd_una;
    if (tcp_seq_lt(c->snd_nxt, end)) {
      unsent = end - c->snd_nxt;
      usable = wnd > flight ? wnd - flight : 0;
      seg = max_payload(c);
      if (seg > unsent)
        seg = unsent;
      if (seg > usable)
        seg = usable;
      if (!seg) {
        if (!c->snd_wnd && !flight && !c->persist_at) {
          c->persist_backoff = 0;
          c->persist_at = now + c->rtt.rto_us * 1000ll;
          tcp__timer_update(st, c);
        }
        break;
      }
      if (seg < max_payload(c)) {
        if (seg < unsent) {
          /* Window-limited: sender SWS avoidance (RFC 9293
           * §3.8.6.2.1): wait for a full segment or half the largest
           * window while data is in flight. */
          if (flight && seg < c->max_snd_wnd / 2)
            break;
        } else if (!(c->fin_queued && !c->fin_acked) && !c->cork_push) {
          if (c->cork) {
            /* Held, ST_TCP_CORK_NS at most (tcp_timer.c). */
            if (!c->cork_at) {
              c->cork_at = now + ST_TCP_CORK_NS;
              tcp__timer_update(st, c);
            }
            break;
          }
          if (!c->nodelay && flight)
            break;   /* Nagle */
        }
      }
      if (seg == max_payload(c) && gso_allowed(st, c)) {
        unsigned n = gso_segs(c, seg, unsent, usable);
        if (n >= 2 && xmit_gso(st, c, seg, n, now) == 0) {
          c->cork_at = 0;
          continue;
        }
      }
      if (tcp__xmit(st, c, c->snd_nxt, seg, now) < 0)
        break;
      /* What the cork still holds after this is newer. */
      c->cork_at = 0;
      continue;
    }
    if (c->fin_queued && !c->fin_acked && c->snd_nxt == end) {
      tcp__xmit(st, c, end, 0, now);
    }
    break;
  }
  /* Nothing left unsent: the cork holds nothing (a later partial segment
   * gets its own 200 ms). */
  if (c->cork_at && !tcp_seq_lt(c->snd_nxt, data_end(c)))
    c->cork_at = 0;
}

/* ---- arriving ACKs ---------------------------------------------------- */

static void rtt_sample(struct st_tcp* c, int64_t now)
{
  int64_t us = (now - c->rtt_start) / 1000;

  c->rtt_timing = 0;
  tcp_rtt_sample(&c->rtt, us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX
                                                       : (uint32_t)us);
}

static void enter_recovery(struct anyload_stack* st, struct st_tcp* c,
                           int64_t now)
{
  c->recover = c->snd_max;
  tcp_cc_on_loss(&c->cc, tcp__flight(c), now);
  c->in_recovery = 1;
  c->rtt_timing = 0;
  ST_INC(st, tcp_fast_retrans);
  ST_TCP_INC(c, fast_retrans);
  if (c->sack_ok) {
    tcp_sack_enter_recovery(&c->sb, c->snd_una, c->snd_max);
    sack_send(st, c, now);
  } else {
    c->cwnd_infl = TCP_DUPTHRESH * c->mss;
    tcp__xmit(st, c, c->snd_una, max_payload(c), now);
  }
}

void tcp__ack_rx(struct anyload_stack* st, struct st_tcp* c,
                 const struct st_tcp_seg* sg, int64_t now)
{
  uint32_t ack = sg->h.ack, acked = ack - c->snd_una, newly = 0;
  uint32_t win = (uint32_t)sg->h.win << c->snd_ws;
  uint32_t flight_before = tcp__flight(c);
  int dup = 0;

  c->persist_unanswered = 0;

  if (c->sack_ok && sg->h.nsack) {
    struct tcp_sack_range blk[ST_TCP_MAX_SACK];
    unsigned j;
    int dsack = 0;
    for (j = 0; j < sg->h.nsack; j++) {
      blk[j].left = sg->h.sack[j][0];
      blk[j].right = sg->h.sack[j][1];
    }
    newly = tcp_sack_update(&c->sb, ack, c->snd_max, blk, sg->h.nsack,
                            &dsack);
    if (dsack)
      ST_TCP_INC(c, rx_dsack);
  } else if (c->sack_ok && acked) {
    tcp_sack_update(&c->sb, ack, c->snd_max, NULL, 0, &(int){ 0 });
  }

  if (acked) {
    uint32_t end = data_end(c), bytes = acked;
    if (c->fin_queued && !c->fin_acked && tcp_seq_gt(ack, end)) {
      c->fin_acked = 1;
      bytes--;
    }
    tcp__snd_ack(c, bytes);
    c->snd_una = ack;
    if (tcp_seq_lt(c->snd_nxt, ack))
      c->snd_nxt = ack;
    ST_TCP_ADD(c, tx_bytes_acked, bytes);
    if (c->rtt_timing && tcp_seq_ge(ack, c->rtt_seq))
      rtt_sample(c, now);
    c->rto_backoffs = 0;
    c->first_rto_at = 0;
    c->dupacks = 0;
    if (c->in_recovery) {
      if (tcp_seq_ge(ack, c->recover)) {
        tcp_cc_on_recovery_end(&c->cc, now);
        c->in_recovery = 0;
        c->cwnd_infl = 0;
      } else if (!c->sack_ok) {
        /* RFC 6582 §3.2 step 5: partial ACK: retransmit the next
         * segment, deflate by the amount acknowledged, add back one. */
        c->cwnd_infl = c->cwnd_infl > bytes ? c->cwnd_infl - bytes : 0;
        c->cwnd_infl += c->mss;
        tcp__xmit(st, c, c->snd_una, max_payload(c), now);
      }
    } else {
      tcp_cc_on_ack(&c->cc, bytes,
                    flight_before + c->mss >= c->cc.cwnd, now,
                    c->rtt.srtt_us);
    }
    if (tcp__flight(c))
      tcp__arm_rto(st, c, now);
    else
      c->rto_at = 0;
  } else if (c->sack_ok ? newly > 0 && tcp__flight(c)
                         : !sg->len &&
                           !(sg->h.flags & (ST_TCP_SYN | ST_TCP_FIN)) &&
                           tcp__flight(c) && win == c->snd_wnd) {
    /* A duplicate ACK: RFC 5681 §2 without SACK (no data, same window);
     * with SACK, RFC 6675 §2: one that SACKs new data, data-carrying or
     * not (the peer's own data must not hide our losses). */
    dup = 1;
  }

  /* The send window (RFC 9293 §3.10.7.4, SND.WL1/WL2). */
  if (tcp_seq_lt(c->snd_wl1, sg->h.seq) ||
      (c->snd_wl1 == sg->h.seq && tcp_seq_le(c->snd_wl2, ack))) {
    int opened = !c->snd_wnd && win;
    c->snd_wnd = win;
    c->snd_wl1 = sg->h.seq;
    c->snd_wl2 = ack;
    if (win > c->max_snd_wnd)
      c->max_snd_wnd = win;
    if (opened && c->persist_at) {
      c->persist_at = 0;
      c->persist_backoff = 0;
    }
  }

  if (!dup && acked && c->sack_ok && newly && !c->in_recovery &&
      tcp_seq_ge(c->snd_una, c->recover) &&
      tcp_sack_is_lost(&c->sb, c->snd_una, c->mss)) {
    /* A partial cumulative ACK whose SACK blocks still say SND.UNA's
     * segment is lost (RFC 6675 IsLost(HighACK + 1)), as Linux does. */
    enter_recovery(st, c, now);
  }
  if (dup) {
    ST_TCP_INC(c, rx_dupacks);
    if (c->dupacks < 255)
      c->dupacks++;
    if (!c->in_recovery) {
      int lost = c->dupacks >= TCP_DUPTHRESH ||
                 (c->sack_ok && tcp_sack_is_lost(&c->sb, c->snd_una, c->mss));
      /* RFC 6582 §3.2 step 2: not again for losses of the same window. */
      if (lost && tcp_seq_ge(c->snd_una, c->recover)) {
        enter_recovery(st, c, now);
      } else if (c->dupacks < TCP_DUPTHRESH && c->snd_nxt == c->snd_max &&
                 tcp_seq_lt(c->snd_nxt, data_end(c)) &&
                 tcp__flight(c) + c->mss <= c->snd_wnd) {
        /* Limited transmit (RFC 3042): a new segment for each of the
         * first two duplicate ACKs, so that a small window still gets
         * the duplicate ACKs that fast retransmit needs. */
        uint32_t len = data_end(c) - c->snd_nxt;
        if (len > max_payload(c))
          len = max_payload(c);
        if (tcp__xmit(st, c, c->snd_nxt, len, now) == 0)
          ST_TCP_INC(c, limited_transmits);
      }
    } else if (!c->sack_ok) {
      c->cwnd_infl += c->mss;
    }
  }
  tcp__timer_update(st, c);
}

/* ---- timers ----------------------------------------------------------- */

void tcp__rto_fire(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  ST_INC(st, tcp_rto_fired);
  ST_TCP_INC(c, rto_fired);
  if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECV) {
    int max = c->state == TCP_SYN_SENT ? ST_TCP_SYN_RETRIES
                                       : ST_TCP_SYNACK_RETRIES;
    if (c->syn_retries >= max) {
      ST_INC(st, tcp_timeouts);
      tcp__done(st, c, ETIMEDOUT);
      return;
    }
    c->syn_retries++;
    tcp_rtt_backoff(&c->rtt);
    c->rtt_timing = 0;
    tcp__send_ctl(st, c, c->iss, c->state == TCP_SYN_SENT ? ST_TCP_SYN
                                 : ST_TCP_SYN | ST_TCP_ACK, now);
    ST_TCP_INC(c, retrans_segs);
    tcp__arm_rto(st, c, now);
    return;
  }
  if (!tcp__flight(c))
    return;
  if (!c->first_rto_at)
    c->first_rto_at = now;
  if (c->rto_backoffs >= ST_TCP_RETRIES2 ||
      (c->user_timeout_ms &&
       now - c->first_rto_at >= (int64_t)c->user_timeout_ms * 1000000)) {
    ST_INC(st, tcp_timeouts);
    tcp__done(st, c, ETIMEDOUT);
    return;
  }
  tcp_cc_on_rto(&c->cc, tcp__flight(c), c->rto_backoffs == 0, now);
  c->rto_backoffs++;
  tcp_rtt_backoff(&c->rtt);
  c->in_recovery = 0;
  c->cwnd_infl = 0;
  c->dupacks = 0;
  c->recover = c->snd_max;
  c->rtt_timing = 0;
  if (c->sack_ok)
    tcp_sack_reset(&c->sb, c->snd_una);
  c->snd_nxt = c->snd_una;
  c->rto_at = 0;
  if (c->tx_blocked) {
    c->tx_blocked = 0;
    st->tcp_tx_blocked--;
  }
  /* Go back to SND.UNA: one segment now (cwnd is the loss window). A
   * zero window still gets its probe from here, as Linux does. */
  if (!c->snd_wnd) {
    uint32_t len = c->snd_len < max_payload(c) ? c->snd_len : max_payload(c);
    tcp__xmit(st, c, c->snd_una, len ? len : 0, now);
  } else {
    tcp__output(st, c, now);
  }
  tcp__arm_rto(st, c, now);
}

void tcp__persist_fire(struct anyload_stack* st, struct st_tcp* c,
                       int64_t now)
{
  int64_t d;

  c->persist_at = 0;
  if (c->snd_wnd || !c->snd_len || tcp__flight(c)) {
    tcp__output(st, c, now);
    return;
  }
  /* A peer that never answers (gone, or an orphan's peer that stopped
   * reading and talking): give up as the retransmission timer would
   * (Linux's tcp_probe_timer: tcp_retries2, 8 for an orphan). */
  if (c->persist_unanswered >= (c->app ? ST_TCP_RETRIES2 : 8)) {
    ST_INC(st, tcp_timeouts);
    tcp__done(st, c, ETIMEDOUT);
    return;
  }
  c->persist_unanswered++;
  /* A zero-window probe: an old sequence, no data (Linux's choice; RFC
   * 9293 §3.8.6.1 allows one byte too). The peer answers with an ACK that
   * carries its window. */
  tcp__send_ctl(st, c, c->snd_una - 1, ST_TCP_ACK, now);
  ST_INC(st, tcp_persist_probes);
  ST_TCP_INC(c, persist_probes);
  if (c->persist_backoff < 20)
    c->persist_backoff++;
  d = (int64_t)c->rtt.rto_us * 1000 << (c->persist_backoff < 10
                                        ? c->persist_backoff : 10);
  if (d > ST_TCP_PERSIST_MAX_NS)
    d = ST_TCP_PERSIST_MAX_NS;
  c->persist_at = now + d;
  tcp__timer_update(st, c);
}
