/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_in.c: TCP on receive: header and checksum checks, the
 * demultiplexing to a connection (4-tuple), a listener or nobody (RST,
 * RFC 9293 §3.10.7.1), and segment arrival in every state (RFC 9293
 * §3.10.7.3 and .4): PAWS (RFC 7323 §5), the acceptability test, RSTs and
 * SYNs checked as RFC 5961 §3 and §4 ask (an RST or SYN that is in the
 * window but not exact gets a challenge ACK), the ACK range check of RFC
 * 5961 §5, the state changes of the handshake and of closing, data into
 * the receive ring (tcp_buf.c) and the FIN. In TIME_WAIT a newer SYN (its
 * TSval, or its ISN, above the old connection's: RFC 6191) reopens the
 * connection through the listener, which goes back to TIME_WAIT if the
 * peer resets the SYN-ACK (RFC 1122 §4.2.2.13 (2), tcp_timer.c), and the
 * peer's FIN again restarts the 2 MSL timer. Also the ICMP errors about
 * our segments (RFC 5927: only quotes with a sequence in flight count).
 *
 * Layer: stack. RX order: ip.c st__rx_frame -> st__tcp_rx -> tcp__lookup
 * / tcp__listener (tcp_sock.c) -> tcp__rx_conn (here) or tcp__listen_rx
 * (tcp_listen.c) -> tcp__ack_rx and tcp__output (tcp_out.c). The frame's
 * buffer is freed when the segment has been handled: data is copied into
 * the connection's ring.
 *
 * Challenge ACKs are limited stack-wide (RFC 5961 §7, tcp_challenge.c).
 *
 * Deviations: urgent data is delivered inline (as with SO_OOBINLINE); a
 * segment's data in a SYN-ACK is dropped (the peer sends it again), and
 * so is a FIN after such data, or with a SYN without ACK (simultaneous
 * open); a FIN alone in a SYN-ACK is taken (RFC 9293 §3.10.7.3: Linux
 * drops it too, and the peer sends it again).
 */
#include "stack/tcp_int.h"

#include <errno.h>
#include <string.h>

void tcp__apply_syn_opts(struct anyload_stack* st, struct st_tcp* c,
                         const struct st_tcp_repr* h, int ours_ws,
                         int ours_ts, int ours_sack)
{
  unsigned m;

  (void)st;
  /* An MSS option below ST_TCP_PEER_MSS_MIN is raised to it, as Linux
   * floors its sending MSS at 48 bytes (CVE-2019-11479): an MSS of 1 made
   * a segment per byte, and with timestamps (12 bytes of options) the
   * MSS wrapped to 65525. RFC 9293 §3.7.1 sets no floor; 536 without. */
  c->peer_mss = !h->mss ? 536
                : h->mss < ST_TCP_PEER_MSS_MIN ? ST_TCP_PEER_MSS_MIN : h->mss;
  c->ws_ok = h->ws_ok && ours_ws;
  c->snd_ws = c->ws_ok ? h->ws : 0;
  if (!c->ws_ok)
    c->rcv_ws = 0;
  c->ts_ok = h->ts_ok && ours_ts;
  if (c->ts_ok)
    c->ts_recent = h->tsval;
  c->sack_ok = h->sack_ok && ours_sack;
  m = tcp__mss_for(c, c->path_mtu);
  if (m > c->peer_mss)
    m = c->peer_mss;
  if (c->ts_ok)
    m -= 12;
  c->mss = (uint16_t)m;
  tcp_cc_init(&c->cc, c->cc_algo, m);
  tcp_sack_reset(&c->sb, c->snd_una);
  c->irs = h->seq;
  c->rcv_nxt = h->seq + 1;
  c->snd_wnd = h->win;
  c->max_snd_wnd = h->win;
  c->quickacks = ST_TCP_QUICKACKS;
}

static void challenge_ack(struct anyload_stack* st, struct st_tcp* c,
                          int64_t now)
{
  if (!tcp__challenge_ok(st, now))
    return;
  ST_INC(st, tcp_challenge_acks);
  ST_TCP_INC(c, challenge_acks);
  tcp__send_ack(st, c, now);
}

static void fin_in(struct anyload_stack* st, struct st_tcp* c, int64_t now);

static void syn_sent_rx(struct anyload_stack* st, struct st_tcp* c,
                        struct st_tcp_seg* sg, int64_t now)
{
  const struct st_tcp_repr* h = &sg->h;
  int acceptable = 0;

  if (h->flags & ST_TCP_ACK) {
    if (tcp_seq_le(h->ack, c->iss) || tcp_seq_gt(h->ack, c->snd_max)) {
      ST_INC(st, tcp_rx_drop_bad_ack);
      tcp__send_rst_for(st, sg, now);
      return;
    }
    acceptable = 1;
  }
  if (h->flags & ST_TCP_RST) {
    if (acceptable) {
      ST_INC(st, tcp_rx_rst);
      ST_INC(st, tcp_connect_refused);
      tcp__done(st, c, ECONNREFUSED);
    } else {
      ST_INC(st, tcp_rx_drop_rst_bad);
    }
    return;
  }
  if (!(h->flags & ST_TCP_SYN)) {
    ST_INC(st, tcp_rx_drop_syn_sent_other);
    return;
  }
  tcp__apply_syn_opts(st, c, h, 1, 1, 1);
  c->snd_wl1 = h->seq;
  if (acceptable) {
    c->snd_una = h->ack;
    c->snd_wl2 = h->ack;
    tcp_sack_reset(&c->sb, c->snd_una);
    if (c->rtt_timing && tcp_seq_ge(h->ack, c->rtt_seq)) {
      int64_t us = (now - c->rtt_start) / 1000;
      tcp_rtt_sample(&c->rtt, us > 0 ? (uint32_t)us : 0);
    }
    c->rtt_timing = 0;
    c->rto_at = 0;
    tcp__set_state(st, c, TCP_ESTABLISHED);
    c->connect_reported = 0;
    if (c->keepalive)
      tcp__keepalive_reset(st, c, now);
    c->quickacks--;
    if ((h->flags & ST_TCP_FIN) && !sg->len)
      fin_in(st, c, now);     /* CLOSE_WAIT, and the ACK of both */
    else
      tcp__send_ack(st, c, now);
    tcp__output(st, c, now);
    return;
  }
  /* Simultaneous open (RFC 9293 §3.5, figure 8). */
  ST_INC(st, tcp_simultaneous_opens);
  c->snd_wl2 = c->iss;
  tcp__set_state(st, c, TCP_SYN_RECV);
  tcp__send_ctl(st, c, c->iss, ST_TCP_SYN | ST_TCP_ACK, now);
  tcp__arm_rto(st, c, now);
}

/* fin_in: the peer's FIN at RCV.NXT. */
static void fin_in(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  c->rcv_nxt++;
  c->fin_rcvd = 1;
  c->ooo_fin = 0;
  ST_TCP_INC(c, rx_fin);
  switch (c->state) {
  case TCP_SYN_RECV:
  case TCP_ESTABLISHED:
    tcp__set_state(st, c, TCP_CLOSE_WAIT);
    break;
  case TCP_FIN_WAIT1:
    if (c->fin_acked)
      tcp__enter_time_wait(st, c, now);
    else
      tcp__set_state(st, c, TCP_CLOSING);
    break;
  case TCP_FIN_WAIT2:
    c->end_at = 0;
    tcp__enter_time_wait(st, c, now);
    break;
  default:
    break;
  }
  tcp__send_ack(st, c, now);
}

/* acceptable: RFC 9293 §3.10.7.4 first check, the four cases. */
static int acceptable(const struct st_tcp* c, uint32_t seq, uint32_t seglen,
                      uint32_t wnd)
{
  if (!seglen)
    return wnd ? tcp_seq_ge(seq, c->rcv_nxt) &&
                 tcp_seq_lt(seq, c->rcv_nxt + wnd)
               : seq == c->rcv_nxt;
  if (!wnd)
    return 0;
  return (tcp_seq_ge(seq, c->rcv_nxt) && tcp_seq_lt(seq, c->rcv_nxt + wnd)) ||
         (tcp_seq_ge(seq + seglen - 1, c->rcv_nxt) &&
          tcp_seq_lt(seq + seglen - 1, c->rcv_nxt + wnd));
}

void tcp__rx_conn(struct anyload_stack* st, struct st_tcp* c,
                  struct st_tcp_seg* sg, int64_t now)
{
  struct st_tcp_repr* h = &sg->h;
  uint8_t f = h->flags;
  uint32_t wnd, seglen;
  int ack_only = 0, now_ack = 0;

  c->last_rx = now;
  ST_TCP_INC(c, rx_segs);
  if (c->state == TCP_SYN_SENT) {
    syn_sent_rx(st, c, sg, now);
    return;
  }
  if (c->state == TCP_CLOSE || c->state == TCP_LISTEN) {
    ST_INC(st, tcp_rx_drop_closed);
    return;
  }

  /* PAWS (RFC 7323 §5.3). */
  if (c->ts_ok && h->ts_ok && !(f & ST_TCP_RST) &&
      (int32_t)(h->tsval - c->ts_recent) < 0) {
    ST_INC(st, tcp_rx_drop_paws);
    ST_TCP_INC(c, rx_drop_paws);
    tcp__send_ack(st, c, now);
    return;
  }

  /* Acceptability. */
  seglen = sg->len + !!(f & ST_TCP_SYN) + !!(f & ST_TCP_FIN);
  wnd = c->rcv_adv && tcp_seq_gt(c->rcv_adv, c->rcv_nxt)
        ? c->rcv_adv - c->rcv_nxt : 0;
  if (c->state == TCP_SYN_RECV || !c->rcv_adv)
    wnd = tcp__rcv_wnd(c);
  if (!acceptable(c, h->seq, seglen, wnd)) {
    if (!wnd && h->seq == c->rcv_nxt && (f & ST_TCP_ACK) &&
        !(f & (ST_TCP_RST | ST_TCP_SYN))) {
      /* A zero window still takes ACKs (RFC 9293 §3.10.7.4). */
      ack_only = 1;
      ST_INC(st, tcp_rx_zero_window_ack_only);
    } else {
      if (!(f & ST_TCP_RST)) {
        ST_INC(st, tcp_rx_drop_out_of_window);
        ST_TCP_INC(c, rx_drop_out_of_window);
        if (c->state == TCP_SYN_RECV && c->parent >= 0 &&
            (f & (ST_TCP_SYN | ST_TCP_ACK)) == ST_TCP_SYN &&
            h->seq == c->irs) {
          /* Our SYN-ACK was lost: the SYN again. */
          tcp__send_ctl(st, c, c->iss, ST_TCP_SYN | ST_TCP_ACK, now);
          return;
        }
        tcp__send_ack(st, c, now);
        if (c->state == TCP_TIME_WAIT &&
            (f & (ST_TCP_FIN | ST_TCP_ACK)) == (ST_TCP_FIN | ST_TCP_ACK) &&
            h->seq + sg->len + 1 == c->rcv_nxt) {
          /* The peer's FIN again (our last ACK was lost): it sits just
           * below RCV.NXT, so the test above fails it; acknowledged, and
           * the 2 MSL timer restarts (RFC 9293 §3.10.7.4, FIN bit). */
          ST_INC(st, tcp_time_wait_restarts);
          c->end_at = now + ST_TCP_MSL2_NS;
          tcp__timer_update(st, c);
        }
      } else {
        ST_INC(st, tcp_rx_drop_rst_out_of_window);
      }
      return;
    }
  }

  /* RST (RFC 5961 §3.2). */
  if (f & ST_TCP_RST) {
    if (h->seq != c->rcv_nxt) {
      challenge_ack(st, c, now);
      return;
    }
    ST_INC(st, tcp_rx_rst);
    ST_TCP_INC(c, rx_rst);
    switch (c->state) {
    case TCP_SYN_RECV:
      if (c->parent >= 0) {
        /* A connection reopened from TIME_WAIT by an old duplicate SYN
         * (the peer resets our SYN-ACK) goes back to TIME_WAIT. */
        if (!tcp__tw_return(st, c, now))
          tcp__free(st, c);
        return;
      }
      tcp__done(st, c, ECONNREFUSED);
      return;
    case TCP_ESTABLISHED:
    case TCP_FIN_WAIT1:
    case TCP_FIN_WAIT2:
    case TCP_CLOSE_WAIT:
      tcp__done(st, c, ECONNRESET);
      return;
    default:
      tcp__done(st, c, 0);
      return;
    }
  }

  /* SYN (RFC 5961 §4). */
  if (f & ST_TCP_SYN) {
    if (c->state == TCP_SYN_RECV && h->seq == c->irs) {
      tcp__send_ctl(st, c, c->iss, ST_TCP_SYN | ST_TCP_ACK, now);
      return;
    }
    challenge_ack(st, c, now);
    return;
  }
  if (!(f & ST_TCP_ACK)) {
    ST_INC(st, tcp_rx_drop_no_ack);
    return;
  }

  /* The ACK range (RFC 5961 §5). */
  if (tcp_seq_gt(h->ack, c->snd_max)) {
    ST_INC(st, tcp_rx_drop_ack_future);
    tcp__send_ack(st, c, now);
    return;
  }
  if (tcp_seq_lt(h->ack, c->snd_una - c->max_snd_wnd)) {
    challenge_ack(st, c, now);
    return;
  }

  /* TS.Recent (RFC 7323 §4.3). */
  if (c->ts_ok && h->ts_ok && tcp_seq_le(h->seq, c->last_ack_sent))
    c->ts_recent = h->tsval;

  if (c->state == TCP_SYN_RECV) {
    if (!tcp_seq_gt(h->ack, c->snd_una)) {
      ST_INC(st, tcp_rx_drop_bad_ack);
      tcp__send_rst_for(st, sg, now);
      return;
    }
    if (c->parent >= 0) {
      if (tcp__child_established(st, c) < 0)
        return;
    }
    tcp__set_state(st, c, TCP_ESTABLISHED);
    /* connect() reports 0 once for an active open (simultaneous), never
     * for an accepted connection (-EISCONN, as the kernel). */
    c->connect_reported = c->parent >= 0;
    c->snd_una = h->ack;
    c->snd_wnd = (uint32_t)h->win << c->snd_ws;
    c->max_snd_wnd = c->snd_wnd;
    c->snd_wl1 = h->seq;
    c->snd_wl2 = h->ack;
    if (c->rtt_timing && tcp_seq_ge(h->ack, c->rtt_seq)) {
      int64_t us = (now - c->rtt_start) / 1000;
      tcp_rtt_sample(&c->rtt, us > 0 ? (uint32_t)us : 0);
    }
    c->rtt_timing = 0;
    c->rto_at = 0;
    c->syn_retries = 0;
    tcp_sack_reset(&c->sb, c->snd_una);
    if (c->keepalive)
      tcp__keepalive_reset(st, c, now);
    tcp__timer_update(st, c);
  } else if (tcp_seq_ge(h->ack, c->snd_una)) {
    tcp__ack_rx(st, c, sg, now);
  }

  switch (c->state) {
  case TCP_FIN_WAIT1:
    if (c->fin_acked) {
      tcp__set_state(st, c, TCP_FIN_WAIT2);
      if (!c->app) {
        c->end_at = now + ST_TCP_FIN2_NS;
        tcp__timer_update(st, c);
      }
    }
    break;
  case TCP_CLOSING:
    if (c->fin_acked)
      tcp__enter_time_wait(st, c, now);
    break;
  case TCP_LAST_ACK:
    if (c->fin_acked) {
      tcp__done(st, c, 0);
      return;
    }
    break;
  case TCP_TIME_WAIT:
    if (f & ST_TCP_FIN) {
      tcp__send_ack(st, c, now);
      c->end_at = now + ST_TCP_MSL2_NS;
      tcp__timer_update(st, c);
    }
    return;
  default:
    break;
  }
  if (c->keepalive)
    tcp__keepalive_reset(st, c, now);

  /* Data. */
  if (sg->len && !ack_only) {
    if (c->state != TCP_ESTABLISHED && c->state != TCP_FIN_WAIT1 &&
        c->state != TCP_FIN_WAIT2) {
      ST_INC(st, tcp_rx_drop_data_after_fin);
    } else if (!c->app && c->shut_rd) {
      /* Data for a closed socket: RFC 9293 §3.10.7.4 and Linux reset. */
      ST_INC(st, tcp_rx_drop_data_after_close);
      tcp__send_ctl(st, c, c->snd_max, ST_TCP_RST | ST_TCP_ACK, now);
      tcp__done(st, c, ECONNRESET);
      return;
    } else {
      int filled = 0, in_order;
      uint32_t before = c->rcv_nxt;
      in_order = tcp__rcv_data(st, c, h->seq, sg->data, sg->len, &filled);
      c->last_data_rx = now;
      ST_INC(st, tcp_rx_data_segs);
      if (c->shut_rd) {
        /* SHUT_RD: what arrives is discarded once in order. */
        c->rcv_head = (c->rcv_head + c->rcv_len) % c->rbuf_size;
        c->rcv_len = 0;
      }
      if (!in_order || filled || c->n_ooo || c->rcv_nxt == before)
        now_ack = 1;
      if (c->ooo_fin && c->rcv_nxt == c->ooo_fin_seq) {
        fin_in(st, c, now);
        tcp__output(st, c, now);
        return;
      }
      if (!(f & ST_TCP_FIN))
        tcp__schedule_ack(st, c, now_ack, now);
    }
  }

  /* FIN. */
  if ((f & ST_TCP_FIN) && !ack_only && c->state != TCP_TIME_WAIT) {
    uint32_t fin_seq = h->seq + sg->len;
    if (fin_seq == c->rcv_nxt && !c->fin_rcvd) {
      fin_in(st, c, now);
    } else if (tcp_seq_gt(fin_seq, c->rcv_nxt)) {
      c->ooo_fin = 1;
      c->ooo_fin_seq = fin_seq;
      tcp__send_ack(st, c, now);
    } else {
      tcp__send_ack(st, c, now);
    }
  } else if (ack_only) {
    tcp__send_ack(st, c, now);
  }
  if (c->used && c->state != TCP_CLOSE)
    tcp__output(st, c, now);
}

/* tw_newer_syn: SYN h for connection c in TIME_WAIT is newer than it
 * (RFC 6191 §2): with timestamps on both, a TSval above TS.Recent is, one
 * below is not (PAWS); otherwise (and for an equal TSval, as Linux) the
 * ISN must be above RCV.NXT (RFC 1122 §4.2.2.13). */
static int tw_newer_syn(const struct st_tcp* c, const struct st_tcp_repr* h)
{
  if (c->ts_ok && h->ts_ok && h->tsval != c->ts_recent)
    return (int32_t)(h->tsval - c->ts_recent) > 0;
  return tcp_seq_gt(h->seq, c->rcv_nxt);
}

/* linearize: copy the reassembled segment of chain i into st->tcp_lin
 * (ST_IPV4_MAX_LEN bytes, which ip.c's bound on a datagram's end
 * respects; checked here too, so that the copy's safety does not rest on
 * another file). Returns its length, 0 if it would not fit. */
static uint32_t linearize(struct anyload_stack* st, uint32_t i)
{
  uint32_t len = 0, k;

  for (k = i; k != ST_PKT_NONE; k = st->pkts[k].chain) {
    const struct st_pkt* f = &st->pkts[k];
    if (len + f->dlen > ST_IPV4_MAX_LEN)
      return 0;
    memcpy(st->tcp_lin + len, st__pkt_data(st, k) + f->off, f->dlen);
    len += f->dlen;
  }
  return len;
}

void st__tcp_rx(struct anyload_stack* st, uint32_t i,
                const struct st_ipv4_repr* ip, int64_t now)
{
  struct st_pkt* p = &st->pkts[i];
  uint8_t* frame = st__pkt_data(st, i);
  const uint8_t* th = frame + p->off;
  uint32_t tlen = p->dlen;
  int reassembled = p->chain != ST_PKT_NONE;
  struct st_tcp_seg sg;
  struct st_tcp* c;
  int rc;

  ST_INC(st, rx_tcp_segs);
  if (reassembled) {
    /* Fragments reassembled by ip.c: read as one segment, its checksum
     * always checked (no device checks a fragmented segment's). */
    ST_INC(st, tcp_rx_reassembled);
    tlen = linearize(st, i);
    th = st->tcp_lin;
  }
  rc = st_tcp_parse(th, tlen, &sg.h);
  if (rc == ST_TCP_E_TRUNC) {
    ST_INC(st, rx_drop_tcp_trunc);
    goto out;
  }
  if (rc != ST_TCP_OK) {
    ST_INC(st, rx_drop_tcp_doff);
    goto out;
  }
  if ((reassembled || !(st->cfg.flags & (ANYLOAD_STACK_F_TRUST_RX_CSUM |
                                         ANYLOAD_STACK_F_VI_CSUM))) &&
      !st_tcp_csum_ok(ip->src_be32, ip->dst_be32, th, tlen)) {
    ST_INC(st, rx_drop_tcp_csum);
    goto out;
  }
  if (st_ipv4_is_mcast(ip->dst_be32) || st_ipv4_is_bcast(ip->dst_be32) ||
      sg.h.sport_be16 == 0 || sg.h.dport_be16 == 0) {
    ST_INC(st, rx_drop_tcp_addr);
    goto out;
  }
  if (sg.h.opt_malformed)
    ST_INC(st, tcp_rx_opt_malformed);
  sg.saddr_be32 = ip->src_be32;
  sg.daddr_be32 = ip->dst_be32;
  sg.data = th + sg.h.hlen;
  sg.len = tlen - sg.h.hlen;
  sg.ip_tos = ip->tos;
  sg.src_mac = frame + ST_ETH_OFF_SRC;
  memset(&sg.tw, 0, sizeof(sg.tw));

  c = tcp__lookup(st, ip->dst_be32, sg.h.dport_be16, ip->src_be32,
                  sg.h.sport_be16);
  if (c && c->state == TCP_TIME_WAIT && !c->app &&
      (sg.h.flags & (ST_TCP_SYN | ST_TCP_ACK | ST_TCP_RST | ST_TCP_FIN)) ==
          ST_TCP_SYN &&
      tw_newer_syn(c, &sg.h) &&
      tcp__listener(st, ip->dst_be32, sg.h.dport_be16)) {
    /* A new incarnation of the connection (RFC 9293 §3.10.7.4 note,
     * RFC 6191): end TIME_WAIT and let the listener take the SYN. Only a
     * SYN the listener takes (tcp__listen_rx drops SYN+FIN): a SYN+FIN
     * ended TIME_WAIT and then opened nothing. */
    ST_INC(st, tcp_time_wait_reused);
    tcp__tw_save(c, &sg.tw);
    tcp__free(st, c);
    c = NULL;
  }
  if (c && c->detached) {
    /* Its connection goes on elsewhere (tcp_handover.c): no answer. */
    ST_INC(st, tcp_detached_rx_dropped);
  } else if (c) {
    ST_INC(st, tcp_rx_conn_segs);
    tcp__rx_conn(st, c, &sg, now);
  } else {
    struct st_tcp* l = tcp__listener(st, ip->dst_be32, sg.h.dport_be16);
    if (l) {
      ST_INC(st, tcp_rx_listen_segs);
      tcp__listen_rx(st, l, &sg, now);
    } else if (st__filter_was_local(st, ST_IPPROTO_TCP, ip->dst_be32,
                                    sg.h.dport_be16)) {
      /* Its listener left the stack as it came: no answer (sock.c). */
      ST_INC(st, rx_drop_tcp_listener_gone);
    } else {
      ST_INC(st, rx_drop_tcp_no_sock);
      tcp__send_rst_for(st, &sg, now);
    }
  }
out:
  st__pkt_free_chain(st, i);
}

void st__tcp_icmp_err(struct anyload_stack* st, uint32_t laddr_be32,
                      uint16_t lport_be16, uint32_t raddr_be32,
                      uint16_t rport_be16, uint32_t seq, int err, int hard,
                      unsigned frag_mtu, int64_t now)
{
  struct st_tcp* c = tcp__lookup(st, laddr_be32, lport_be16, raddr_be32,
                                 rport_be16);

  if (!c || c->detached) {
    ST_INC(st, rx_drop_icmp_no_sock);
    return;
  }
  if (tcp_seq_lt(seq, c->snd_una) || tcp_seq_ge(seq, c->snd_max)) {
    ST_INC(st, tcp_icmp_out_of_window);
    return;
  }
  if (frag_mtu) {
    ST_INC(st, tcp_icmp_frag_needed);
    if (st__pmtu_learn(st, raddr_be32, frag_mtu, now)) {
      ST_INC(st, icmp_pmtu_learnt);
      ST_TCP_INC(c, pmtu_lowered);
      /* Send again at the new MSS what is in flight (the path MTU
       * lowered the cached path's generation). */
      if (c->state >= TCP_ESTABLISHED && c->state != TCP_LISTEN &&
          c->state != TCP_TIME_WAIT && c->sbuf) {
        c->snd_nxt = c->snd_una;
        c->rtt_timing = 0;
        tcp__output(st, c, now);
      }
    } else {
      ST_INC(st, icmp_pmtu_ignored);
    }
    return;
  }
  if (hard && (c->state == TCP_SYN_SENT ||
               (c->state == TCP_SYN_RECV && c->parent < 0))) {
    ST_INC(st, icmp_err_hard);
    tcp__done(st, c, err);
    return;
  }
  ST_INC(st, icmp_err_soft);
  ST_TCP_INC(c, icmp_soft);
}
