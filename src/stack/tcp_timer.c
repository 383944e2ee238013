/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_timer.c: the one timer of each TCP connection, armed at the
 * earliest of its deadlines: retransmission (RFC 6298, also the SYN and
 * SYN-ACK retransmissions), delayed ACK (at most 40 ms, RFC 9293
 * §3.8.6.3 allows 500 ms; Linux's TCP_ATO_MIN), zero-window persist,
 * keepalive (RFC 9293 §3.8.4: SO_KEEPALIVE with TCP_KEEPIDLE, _KEEPINTVL,
 * _KEEPCNT; the probe is SND.UNA - 1 without data), and the end of a
 * state (TIME_WAIT: 2 MSL = 60 s as Linux; an orphaned FIN_WAIT_2: 60 s,
 * Linux's tcp_fin_timeout), and the cork's ceiling: a partial segment
 * that TCP_CORK or MSG_MORE held for 200 ms goes (tcp(7): "a 200
 * millisecond ceiling on the time for which output is corked"), as if
 * pushed: cork and Nagle set aside for that one output round. Linux gets
 * its ceiling from the zero-window probe timer, armed at max(RTO, 200 ms)
 * once nothing is in flight; here it counts from the first byte held,
 * in flight or not. A connection reopened from TIME_WAIT whose SYN was an
 * old duplicate comes back to TIME_WAIT here (RFC 1122 §4.2.2.13 (2)).
 *
 * Layer: stack. timer.c calls st__tcp_timeout; each handler here may
 * free the connection, so the timer is re-armed only for a connection
 * still in use.
 */
#include "stack/tcp_int.h"

#include <errno.h>
#include <stddef.h>

static void take_min(int64_t* m, int64_t t)
{
  if (t && (!*m || t < *m))
    *m = t;
}

void tcp__timer_update(struct anyload_stack* st, struct st_tcp* c)
{
  int64_t m = 0;

  if (!c->used)
    return;
  take_min(&m, c->rto_at);
  take_min(&m, c->dack_at);
  take_min(&m, c->persist_at);
  take_min(&m, c->keep_at);
  take_min(&m, c->end_at);
  take_min(&m, c->cork_at);
  if (!m)
    st__timer_cancel(st, &c->timer);
  else if (!c->timer.armed || c->timer.when != m)
    st__timer_set(st, &c->timer, m);
}

void tcp__arm_rto(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  c->rto_at = now + (int64_t)c->rtt.rto_us * 1000;
  c->persist_at = 0;
  tcp__timer_update(st, c);
}

void tcp__keepalive_reset(struct anyload_stack* st, struct st_tcp* c,
                          int64_t now)
{
  c->keep_probes = 0;
  if (c->keepalive && (c->state == TCP_ESTABLISHED ||
                       c->state == TCP_CLOSE_WAIT ||
                       c->state == TCP_FIN_WAIT1 ||
                       c->state == TCP_FIN_WAIT2))
    c->keep_at = now + (int64_t)c->keepidle_s * 1000000000ll;
  else
    c->keep_at = 0;
  tcp__timer_update(st, c);
}

void tcp__enter_time_wait(struct anyload_stack* st, struct st_tcp* c,
                          int64_t now)
{
  tcp__set_state(st, c, TCP_TIME_WAIT);
  /* Everything sent is acknowledged and the peer's FIN came: without
   * the application, the buffers (SO_SNDBUF + SO_RCVBUF, 272 KiB by
   * default) have no use for the 60 s of TIME_WAIT; a server that closes
   * first kept them for every recent connection. */
  if (!c->app)
    tcp__free_bufs(st, c);
  c->rto_at = c->persist_at = c->keep_at = 0;
  c->end_at = now + ST_TCP_MSL2_NS;
  tcp__timer_update(st, c);
}

void tcp__tw_save(const struct st_tcp* c, struct st_tcp_tw* tw)
{
  tw->saved = 1;
  tw->ts_ok = c->ts_ok;
  tw->ws_ok = c->ws_ok;
  tw->rcv_ws = c->rcv_ws;
  tw->snd_ws = c->snd_ws;
  tw->rcv_nxt = c->rcv_nxt;
  tw->snd_max = c->snd_max;
  tw->rcv_adv = c->rcv_adv;
  tw->ts_recent = c->ts_recent;
  tw->ts_offset = c->ts_offset;
  tw->end_at = c->end_at;
}

int tcp__tw_return(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  const struct st_tcp_tw* tw = &c->tw;

  /* Past the old deadline the old connection would be gone by now: no
   * duplicate of it can still be in the network, nothing to return to. A
   * handshake that times out (5 SYN-ACK retries, 63 s) always ends there,
   * after the 60 s of TIME_WAIT. */
  if (!tw->saved || tw->end_at <= now || c->parent < 0 || c->in_queue != 1)
    return 0;
  tcp__unqueue(st, c);
  c->rto_at = c->dack_at = c->persist_at = c->keep_at = c->cork_at = 0;
  c->rtt_timing = 0;
  c->syn_retries = 0;
  c->rto_backoffs = 0;
  c->ts_ok = tw->ts_ok;
  c->ws_ok = tw->ws_ok;
  c->rcv_ws = tw->rcv_ws;
  c->snd_ws = tw->snd_ws;
  c->sack_ok = 0;
  c->nsack_out = 0;
  c->rcv_nxt = tw->rcv_nxt;
  c->rcv_adv = tw->rcv_adv;
  c->snd_una = c->snd_nxt = c->snd_max = tw->snd_max;
  c->ts_recent = tw->ts_recent;
  c->ts_offset = tw->ts_offset;
  c->fin_queued = c->fin_acked = c->fin_rcvd = 1;
  c->ooo_fin = 0;
  c->end_at = tw->end_at;
  c->tw.saved = 0;
  tcp__set_state(st, c, TCP_TIME_WAIT);
  ST_INC(st, tcp_time_wait_returned);
  tcp__timer_update(st, c);
  return 1;
}

static void keepalive_fire(struct anyload_stack* st, struct st_tcp* c,
                           int64_t now)
{
  c->keep_at = 0;
  if (tcp__flight(c) || c->snd_len) {
    /* Data outstanding: the retransmission timer watches the peer. */
    tcp__keepalive_reset(st, c, now);
    return;
  }
  if (c->keep_probes >= c->keepcnt) {
    ST_INC(st, tcp_keepalive_deaths);
    tcp__send_ctl(st, c, c->snd_max, ST_TCP_RST | ST_TCP_ACK, now);
    tcp__done(st, c, ETIMEDOUT);
    return;
  }
  tcp__send_ctl(st, c, c->snd_una - 1, ST_TCP_ACK, now);
  c->keep_probes++;
  ST_INC(st, tcp_keepalive_probes);
  ST_TCP_INC(c, keepalive_probes);
  c->keep_at = now + (int64_t)c->keepintvl_s * 1000000000ll;
}

void st__tcp_timeout(struct anyload_stack* st, struct st_timer* t)
{
  struct st_tcp* c = (struct st_tcp*)((char*)t - offsetof(struct st_tcp,
                                                          timer));
  int64_t now = st->now;
  uint32_t gen = c->gen;

  if (c->end_at && c->end_at <= now) {
    c->end_at = 0;
    if (c->detached) {
      tcp__free(st, c);
      return;
    }
    if (c->state == TCP_TIME_WAIT || c->state == TCP_FIN_WAIT2) {
      if (c->state == TCP_FIN_WAIT2)
        ST_INC(st, tcp_fin_wait2_timeouts);
      tcp__done(st, c, 0);
      return;
    }
  }
  if (c->rto_at && c->rto_at <= now) {
    c->rto_at = 0;
    tcp__rto_fire(st, c, now);
    if (!c->used || c->gen != gen)
      return;
  }
  if (c->persist_at && c->persist_at <= now) {
    tcp__persist_fire(st, c, now);
    if (!c->used || c->gen != gen)
      return;
  }
  if (c->dack_at && c->dack_at <= now) {
    c->dack_at = 0;
    if (c->state != TCP_CLOSE && c->state != TCP_LISTEN) {
      ST_TCP_INC(c, delayed_acks);
      tcp__send_ack(st, c, now);
    }
  }
  if (c->keep_at && c->keep_at <= now) {
    keepalive_fire(st, c, now);
    if (!c->used || c->gen != gen)
      return;
  }
  if (c->cork_at && c->cork_at <= now) {
    c->cork_at = 0;
    ST_TCP_INC(c, cork_expiries);
    c->cork_push = 1;
    tcp__output(st, c, now);
    c->cork_push = 0;
    if (!c->used || c->gen != gen)
      return;
  }
  tcp__timer_update(st, c);
}
