// SPDX-License-Identifier: BSD-2-Clause
/*
 * stack/tcp_handover.c: a connection leaves the stack to go on in another
 * TCP (transparent mode rebuilds it in the kernel with TCP_REPAIR before a
 * fork or an exec): anyload_tcp_export reads its state, _export_bytes its
 * queues, anyload_tcp_detach lets it go without a segment.
 *
 * A detached connection keeps its slot and its place in the 4-tuple hash
 * for ANYLOAD_TCP_DETACH_QUIET_NS, in TCP_CLOSE with `detached` set, so
 * that segments already in the VI's ring when its filter went are dropped
 * instead of answered: without a connection the stack would reset the
 * peer's connection (RFC 9293 §3.10.7.1), which now lives elsewhere. Its
 * buffers, filter and port go at once; the timer frees the slot.
 *
 * Layer: stack (tcp_int.h).
 */
#include "stack/tcp_int.h"

#include <errno.h>
#include <string.h>

/* exportable: c (the application's sd) may be handed over: 0, or the
 * negative errno of anyload_tcp_export. */
static int exportable(const struct st_tcp* c)
{
  if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
    return -EOPNOTSUPP;
  /* A FIN queued by shutdown(SHUT_WR) moves the state on; an abort or
   * a reset leaves TCP_CLOSE. Either way, nothing of ours is finished. */
  if (c->fin_queued || !c->sbuf || !c->rbuf)
    return -EOPNOTSUPP;
  if (c->filter != 2)
    return -EBUSY;
  return 0;
}

static void sin_of(struct sockaddr_in* a, uint32_t addr_be32,
                   uint16_t port_be16)
{
  memset(a, 0, sizeof(*a));
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = addr_be32;
  a->sin_port = port_be16;
}

int anyload_tcp_export(const struct anyload_stack* st, int sd,
                       struct anyload_tcp_export* out, int64_t now_ns)
{
  const struct st_tcp* c = tcp__get(st, sd);
  int rc;

  if (!c)
    return -EBADF;
  if (!out)
    return -EINVAL;
  rc = exportable(c);
  if (rc < 0)
    return rc;
  memset(out, 0, sizeof(*out));
  out->state = c->state;
  sin_of(&out->local, c->laddr_be32, c->lport_be16);
  sin_of(&out->remote, c->raddr_be32, c->rport_be16);
  out->snd_una = c->snd_una;
  out->snd_max = c->snd_max;
  out->sent_len = c->snd_max - c->snd_una;
  out->unsent_len = c->snd_len - out->sent_len;
  out->snd_wnd = c->snd_wnd;
  out->max_snd_wnd = c->max_snd_wnd;
  out->snd_wl1 = c->snd_wl1;
  out->rcv_nxt = c->rcv_nxt;
  out->recv_len = c->rcv_len;
  out->rcv_wnd = tcp_seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt
                                                    : 0;
  out->fin_rcvd = c->fin_rcvd;
  out->shut_rd = c->shut_rd;
  out->peer_mss = c->peer_mss;
  out->ws_ok = c->ws_ok;
  out->snd_ws = c->snd_ws;
  out->rcv_ws = c->rcv_ws;
  out->sack_ok = c->sack_ok;
  out->ts_ok = c->ts_ok;
  out->ts_val = tcp__ts_now(c, now_ns);
  return 0;
}

ssize_t anyload_tcp_export_bytes(const struct anyload_stack* st, int sd,
                                 enum anyload_tcp_queue q, uint32_t off,
                                 void* buf, uint32_t len)
{
  const struct st_tcp* c = tcp__get(st, sd);
  uint32_t sent, qlen, start, pos, first;

  if (!c)
    return -EBADF;
  if ((!buf && len) || exportable(c) < 0)
    return -EINVAL;
  sent = c->snd_max - c->snd_una;
  switch (q) {
  case ANYLOAD_TCP_Q_SENT:
    qlen = sent;
    start = c->snd_una;
    break;
  case ANYLOAD_TCP_Q_UNSENT:
    qlen = c->snd_len - sent;
    start = c->snd_max;
    break;
  case ANYLOAD_TCP_Q_RECV:
    qlen = c->rcv_len;
    start = 0;
    break;
  default:
    return -EINVAL;
  }
  if (off >= qlen)
    return 0;
  if (len > qlen - off)
    len = qlen - off;
  if (q != ANYLOAD_TCP_Q_RECV) {
    tcp__snd_copy(c, start + off, buf, len);
    return len;
  }
  pos = (c->rcv_head + off) % c->rbuf_size;
  first = c->rbuf_size - pos < len ? c->rbuf_size - pos : len;
  memcpy(buf, c->rbuf + pos, first);
  memcpy((uint8_t*)buf + first, c->rbuf, len - first);
  return len;
}

int anyload_tcp_detach(struct anyload_stack* st, int sd, int64_t now_ns)
{
  struct st_tcp* c = tcp__get(st, sd);
  int rc;

  if (!c)
    return -EBADF;
  rc = exportable(c);
  if (rc < 0)
    return rc;
  st->now = now_ns;
  ST_INC(st, tcp_detached);
  c->app = 0;
  st->n_tcp_app--;
  tcp__release_filter(st, c);
  tcp__port_unlink(st, c);
  tcp__free_bufs(st, c);
  if (c->tx_blocked) {
    c->tx_blocked = 0;
    st->tcp_tx_blocked--;
  }
  c->fin_queued = 0;
  c->detached = 1;
  tcp__set_state(st, c, TCP_CLOSE);
  c->rto_at = c->dack_at = c->persist_at = c->keep_at = c->cork_at = 0;
  c->end_at = now_ns + ANYLOAD_TCP_DETACH_QUIET_NS;
  tcp__timer_update(st, c);
  return 0;
}
