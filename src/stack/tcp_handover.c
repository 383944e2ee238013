// SPDX-License-Identifier: BSD-2-Clause
/*
 * stack/tcp_handover.c: a connection leaves the stack to go on in another
 * TCP (transparent mode rebuilds it in the kernel with TCP_REPAIR before a
 * fork or an exec): anyload_tcp_export reads its state, _export_bytes its
 * queues, anyload_tcp_detach lets it go without a segment. The other way,
 * anyload_tcp_import takes in an accepted connection that another anyload
 * stack exported (a pre-forking server's listener passing from the
 * master's stack to a worker's, with what it had queued for accept).
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
 * negative errno of anyload_tcp_export. ANYLOAD_TCP_EXPORT_RIDING in
 * flags: also one that rides on its listener's filter. */
static int exportable(const struct st_tcp* c, unsigned flags)
{
  if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
    return -EOPNOTSUPP;
  /* A FIN queued by shutdown(SHUT_WR) moves the state on; an abort or
   * a reset leaves TCP_CLOSE. Either way, nothing of ours is finished. */
  if (c->fin_queued || !c->sbuf || !c->rbuf)
    return -EOPNOTSUPP;
  if (c->filter != 2 &&
      !(c->filter == 1 && (flags & ANYLOAD_TCP_EXPORT_RIDING)))
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
  return anyload_tcp_export_flags(st, sd, out, now_ns, 0);
}

int anyload_tcp_export_flags(const struct anyload_stack* st, int sd,
                             struct anyload_tcp_export* out, int64_t now_ns,
                             unsigned flags)
{
  const struct st_tcp* c = tcp__get(st, sd);
  int rc;

  if (!c)
    return -EBADF;
  if (!out)
    return -EINVAL;
  rc = exportable(c, flags);
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
  out->ts_recent = c->ts_recent;
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
  if ((!buf && len) || exportable(c, ANYLOAD_TCP_EXPORT_RIDING) < 0)
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
  return anyload_tcp_detach_flags(st, sd, now_ns, 0);
}

int anyload_tcp_detach_flags(struct anyload_stack* st, int sd,
                             int64_t now_ns, unsigned flags)
{
  struct st_tcp* c = tcp__get(st, sd);
  int rc;

  if (!c)
    return -EBADF;
  rc = exportable(c, flags);
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

/* importable: ex may join listener l's accept queue: 0 or a negative
 * errno of anyload_tcp_import. */
static int importable(const struct st_tcp* l,
                      const struct anyload_tcp_export* ex)
{
  if (l->state != TCP_LISTEN)
    return -EINVAL;
  if (ex->state != TCP_ESTABLISHED && ex->state != TCP_CLOSE_WAIT)
    return -EINVAL;
  if (!!ex->fin_rcvd != (ex->state == TCP_CLOSE_WAIT))
    return -EINVAL;
  /* Only a connection that nothing was sent on but the handshake: no
   * retransmission state to carry over. */
  if (ex->sent_len || ex->unsent_len || ex->snd_una != ex->snd_max)
    return -EINVAL;
  if (ex->local.sin_family != AF_INET || ex->remote.sin_family != AF_INET ||
      ex->local.sin_port != l->lport_be16 ||
      (l->bind_addr_be32 && ex->local.sin_addr.s_addr != l->bind_addr_be32))
    return -EINVAL;
  if (ex->snd_ws > ST_TCP_WS_MAX || ex->rcv_ws > ST_TCP_WS_MAX)
    return -EINVAL;
  if (l->acceptq_n >= (unsigned)l->backlog)
    return -ENOBUFS;
  return 0;
}

int anyload_tcp_import(struct anyload_stack* st, int lsd,
                       const struct anyload_tcp_export* ex, const void* recv,
                       int64_t now_ns)
{
  struct st_tcp* l = tcp__get(st, lsd);
  struct st_tcp_seg sg;
  struct st_tcp_repr syn;
  struct st_tcp* c;
  int rc;

  if (!l)
    return -EBADF;
  if (!ex || (ex->recv_len && !recv))
    return -EINVAL;
  rc = importable(l, ex);
  if (rc < 0)
    return rc;
  if (tcp__lookup(st, ex->local.sin_addr.s_addr, ex->local.sin_port,
                  ex->remote.sin_addr.s_addr, ex->remote.sin_port))
    return -EEXIST;
  if (ex->recv_len > l->rcvbuf)
    return -ENOBUFS;
  st->now = now_ns;
  memset(&sg, 0, sizeof(sg));
  sg.daddr_be32 = ex->local.sin_addr.s_addr;
  sg.h.dport_be16 = ex->local.sin_port;
  sg.saddr_be32 = ex->remote.sin_addr.s_addr;
  sg.h.sport_be16 = ex->remote.sin_port;
  c = tcp__new_child(st, l, &sg, now_ns);
  if (!c)
    return -EAGAIN;
  if (tcp__bufs_alloc(st, c) < 0) {
    tcp__free(st, c);
    return -ENOMEM;
  }
  /* The handshake as it was: our SYN took the sequence number before
   * snd_una, the peer's the one before what it sent first. */
  c->iss = ex->snd_una - 1;
  c->snd_una = c->snd_nxt = c->snd_max = ex->snd_una;
  memset(&syn, 0, sizeof(syn));
  syn.seq = ex->rcv_nxt - ex->recv_len - (ex->fin_rcvd ? 1u : 0u) - 1;
  syn.mss = ex->peer_mss;
  syn.ws_ok = ex->ws_ok;
  syn.ws = ex->snd_ws;
  syn.sack_ok = ex->sack_ok;
  syn.ts_ok = ex->ts_ok;
  syn.tsval = ex->ts_recent;
  tcp__apply_syn_opts(st, c, &syn, 1, 1, 1);
  /* What the other stack negotiated, not what this one would. */
  c->rcv_ws = ex->ws_ok ? ex->rcv_ws : 0;
  c->rcv_nxt = ex->rcv_nxt;
  c->rcv_adv = ex->rcv_nxt + ex->rcv_wnd;
  c->last_ack_sent = ex->rcv_nxt;
  c->snd_wnd = ex->snd_wnd;
  c->max_snd_wnd = ex->max_snd_wnd > ex->snd_wnd ? ex->max_snd_wnd
                                                 : ex->snd_wnd;
  c->snd_wl1 = ex->snd_wl1;
  c->snd_wl2 = ex->snd_una;
  /* Our timestamp clock goes on from where the other stack's was (the
   * peer's PAWS check): now + ts_offset == ts_val. */
  c->ts_offset = ex->ts_val - (uint32_t)(now_ns / 1000000);
  if (ex->recv_len)
    memcpy(c->rbuf, recv, ex->recv_len);
  c->rcv_len = ex->recv_len;
  c->fin_rcvd = ex->fin_rcvd;
  c->shut_rd = ex->shut_rd;
  tcp__set_state(st, c, ex->fin_rcvd ? TCP_CLOSE_WAIT : TCP_ESTABLISHED);
  c->connect_reported = 1;   /* accepted: connect() says -EISCONN */
  tcp__acceptq_push(st, l, c);
  if (c->keepalive)
    tcp__keepalive_reset(st, c, now_ns);
  tcp__timer_update(st, c);
  ST_INC(st, tcp_imported);
  return 0;
}
