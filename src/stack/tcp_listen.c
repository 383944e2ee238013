/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_listen.c: passive open: segments for a listening socket
 * (RFC 9293 §3.10.7.2), the SYN queue of embryonic children (SYN_RECV,
 * no buffers yet), the accept queue of established ones, SYN cookies
 * (RFC 4987 §3.6) when the SYN queue is full, and initial sequence
 * numbers (RFC 6528).
 *
 * Layer: stack. RX order: tcp_in.c finds no connection for a segment,
 * finds a listener -> tcp__listen_rx. A child gets its own slot, the
 * listener's filter (one more reference) and the 4-tuple hash; its
 * handshake then goes on in tcp_in.c. A child whose SYN ended a TIME_WAIT
 * keeps that connection (c->tw), to go back to it if the SYN was an old
 * duplicate (tcp__tw_return, tcp_timer.c).
 *
 * Keyed hash: ISNs and cookies use SipHash-2-4 keyed with the stack's
 * secret (derived from cfg.seed). ISN = a 4-microsecond clock + the hash
 * of the 4-tuple (RFC 6528 §3). A cookie is the hash of the 4-tuple, the
 * peer's ISN and a 64-second counter, with its low 8 bits replaced by
 * the counter's 5 low bits and a 3-bit index into a table of MSS values
 * (the index is hashed too, so that it cannot be changed); it is valid
 * for two counter periods.
 *
 * Options of a cookie connection, as Linux does them: when the SYN had
 * timestamps, the low 6 bits of our TSval in the SYN-ACK carry the
 * peer's window scale (4 bits, 15: none), SACK-permitted (bit 4) and
 * ECN (bit 5, always 0: no ECN here), and the completing ACK's TSecr
 * gives them back. The TSval is our timestamp clock with its low 6 bits
 * replaced, moved 64 down when that put it ahead of the clock, so that
 * the connection's later TSvals never go below it (PAWS at the peer,
 * RFC 7323 §5). The clock's offset is the one every child gets (a hash
 * of the ISN, here the cookie), so that no state is needed to undo it.
 * Without timestamps in the SYN, a cookie connection has no window
 * scale, SACK or timestamps.
 *
 * A SYN that ended a TIME_WAIT never gets a cookie: its child must
 * start its ISN above the old connection's sequence space (tcp_in.c),
 * which a hashed cookie cannot promise; it takes a slot even with the
 * SYN queue full, as Linux's tcp_conn_request does for such a SYN.
 */
#include "stack/tcp_int.h"

#include <errno.h>
#include <string.h>

#define SYNQ_MIN 128
#define COOKIE_PERIOD_NS 64000000000ll

static const uint16_t cookie_mss[8] = { 536, 1220, 1360, 1400, 1440, 1452,
                                        1460, 8960 };

/* ---- SipHash-2-4 (Aumasson and Bernstein, 2012) ------------------------ */

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static void sip_rounds(uint64_t v[4], int n)
{
  while (n--) {
    v[0] += v[1]; v[1] = ROTL64(v[1], 13); v[1] ^= v[0];
    v[0] = ROTL64(v[0], 32);
    v[2] += v[3]; v[3] = ROTL64(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = ROTL64(v[3], 21); v[3] ^= v[0];
    v[2] += v[1]; v[1] = ROTL64(v[1], 17); v[1] ^= v[2];
    v[2] = ROTL64(v[2], 32);
  }
}

static uint64_t siphash3(const uint64_t key[2], uint64_t a, uint64_t b,
                         uint64_t c)
{
  uint64_t v[4] = { key[0] ^ 0x736f6d6570736575ull,
                    key[1] ^ 0x646f72616e646f6dull,
                    key[0] ^ 0x6c7967656e657261ull,
                    key[1] ^ 0x7465646279746573ull };
  uint64_t m[4] = { a, b, c, (uint64_t)24 << 56 };
  int k;

  for (k = 0; k < 4; k++) {
    v[3] ^= m[k];
    sip_rounds(v, 2);
    v[0] ^= m[k];
  }
  v[2] ^= 0xff;
  sip_rounds(v, 4);
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint64_t tuple_a(uint32_t laddr, uint32_t raddr)
{
  return (uint64_t)laddr | (uint64_t)raddr << 32;
}

static uint64_t tuple_b(uint16_t lport, uint16_t rport, uint32_t x)
{
  return (uint64_t)lport | (uint64_t)rport << 16 | (uint64_t)x << 32;
}

uint32_t tcp__isn(struct anyload_stack* st, uint32_t laddr, uint16_t lport,
                  uint32_t raddr, uint16_t rport, int64_t now)
{
  return (uint32_t)(now / 4000) +
         (uint32_t)siphash3(st->tcp_secret, tuple_a(laddr, raddr),
                            tuple_b(lport, rport, 0), 1);
}

static uint32_t cookie_make(struct anyload_stack* st,
                            const struct st_tcp_seg* sg, uint32_t count,
                            unsigned mss_idx)
{
  uint32_t h = (uint32_t)siphash3(st->tcp_secret,
                                  tuple_a(sg->daddr_be32, sg->saddr_be32),
                                  tuple_b(sg->h.dport_be16, sg->h.sport_be16,
                                          count),
                                  2 | (uint64_t)(mss_idx & 7u) << 8 |
                                  (uint64_t)sg->h.seq << 32);

  return (h & ~0xffu) | ((count & 0x1fu) << 3) | (mss_idx & 7u);
}

#define COOKIE_TS_BITS   6
#define COOKIE_TS_WS     0x0fu   /* 15: no window scale */
#define COOKIE_TS_SACK   0x10u
#define COOKIE_TS_MASK   ((1u << COOKIE_TS_BITS) - 1)

/* ts_offset_for: the timestamp clock's offset of a connection whose ISN
 * is iss (every child's, cookie or not). */
static uint32_t ts_offset_for(const struct anyload_stack* st, uint32_t iss)
{
  return (uint32_t)(st->tcp_secret[1] ^ iss);
}

/* cookie_tsval: our TSval for a cookie SYN-ACK answering SYN h at now,
 * with its options in the low bits, at most the clock's value. */
static uint32_t cookie_tsval(const struct st_tcp_repr* h, int64_t now)
{
  uint32_t clock = (uint32_t)(now / 1000000);
  uint32_t opts = h->ws_ok ? h->ws : COOKIE_TS_WS;
  uint32_t ts;

  if (h->sack_ok)
    opts |= COOKIE_TS_SACK;
  ts = (clock & ~COOKIE_TS_MASK) | opts;
  if ((int32_t)(ts - clock) > 0)
    ts -= 1u << COOKIE_TS_BITS;
  return ts;
}

/* cookie_check: the MSS index of a valid cookie in the ACK of sg, or -1. */
static int cookie_check(struct anyload_stack* st, struct st_tcp_seg* sg,
                        int64_t now)
{
  uint32_t cookie = sg->h.ack - 1, count = (uint32_t)(now / COOKIE_PERIOD_NS);
  unsigned k;

  /* The ACK's sequence is the peer's ISN + 1. */
  sg->h.seq--;
  for (k = 0; k < 2; k++) {
    uint32_t c = count - k;
    if (((cookie >> 3) & 0x1f) == (c & 0x1f) &&
        cookie_make(st, sg, c, cookie & 7) == cookie) {
      sg->h.seq++;
      return (int)(cookie & 7);
    }
  }
  sg->h.seq++;
  return -1;
}

/* ---- queues ----------------------------------------------------------- */

void tcp__unqueue(struct anyload_stack* st, struct st_tcp* c)
{
  struct st_tcp* l;
  uint32_t* pp;
  uint32_t me = (uint32_t)tcp__index(st, c), prev = ST_TCP_NONE;

  if (!c->in_queue || c->parent < 0)
    return;
  l = &st->tcps[c->parent];
  pp = c->in_queue == 1 ? &l->synq_head : &l->acceptq_head;
  while (*pp != ST_TCP_NONE && *pp != me) {
    prev = *pp;
    pp = &st->tcps[*pp].q_next;
  }
  if (*pp == me) {
    *pp = c->q_next;
    if (c->in_queue == 1) {
      l->synq_n--;
    } else {
      l->acceptq_n--;
      if (l->acceptq_tail == me)
        l->acceptq_tail = prev;
    }
  }
  c->q_next = ST_TCP_NONE;
  c->in_queue = 0;
  c->parent = -1;
}

void tcp__acceptq_push(struct anyload_stack* st, struct st_tcp* l,
                       struct st_tcp* c)
{
  uint32_t me = (uint32_t)tcp__index(st, c);

  c->q_next = ST_TCP_NONE;
  if (l->acceptq_tail == ST_TCP_NONE)
    l->acceptq_head = me;
  else
    st->tcps[l->acceptq_tail].q_next = me;
  l->acceptq_tail = me;
  l->acceptq_n++;
  ST_TCP_INC(l, accept_queued);
  c->in_queue = 2;
  c->parent = tcp__index(st, l);
}

int tcp__child_established(struct anyload_stack* st, struct st_tcp* c)
{
  struct st_tcp* l = &st->tcps[c->parent];

  if (l->acceptq_n >= (unsigned)l->backlog) {
    ST_INC(st, tcp_rx_drop_acceptq_full);
    c->ack_dropped = 1;
    l->acks_dropped = 1;
    return -1;
  }
  if (tcp__bufs_alloc(st, c) < 0) {
    ST_INC(st, tcp_rx_drop_nomem);
    return -1;
  }
  tcp__unqueue(st, c);
  tcp__acceptq_push(st, l, c);
  ST_INC(st, tcp_passive_opens);
  return 0;
}

/* The peer of a child whose completing ACK was dropped believes itself
 * connected and says nothing more until our SYN-ACK's retransmission (1 s
 * and more later) makes it ACK again: a SYN-ACK sent as soon as there is
 * room does that at once (RFC 9293: an established peer answers the old
 * SYN-ACK with an ACK; RFC 5961 §4: a challenge ACK, which completes the
 * handshake just as well). Without it, a listener taken out of the stack
 * (the preload's drain) could wait for these handshakes longer than it
 * may, and a program that accepts late waits a second for each. As many
 * as there is room for, counting those sent and not answered yet
 * (ack_dropped 2), so that a program polling accept on a queue that
 * stays short sends no more; the others when more room comes. */
void tcp__acceptq_room(struct anyload_stack* st, struct st_tcp* l,
                       int64_t now)
{
  unsigned room, answering = 0;
  uint32_t i;

  if (!l->acks_dropped || l->state != TCP_LISTEN)
    return;
  for (i = l->synq_head; i != ST_TCP_NONE; i = st->tcps[i].q_next)
    answering += st->tcps[i].ack_dropped == 2;
  if (l->acceptq_n + answering >= (unsigned)l->backlog)
    return;
  room = (unsigned)l->backlog - l->acceptq_n - answering;
  l->acks_dropped = 0;
  for (i = l->synq_head; i != ST_TCP_NONE; i = st->tcps[i].q_next) {
    struct st_tcp* c = &st->tcps[i];
    if (c->ack_dropped != 1)
      continue;
    if (!room) {
      l->acks_dropped = 1;
      break;
    }
    c->ack_dropped = 2;
    c->rtt_timing = 0;     /* the ACK will answer this one, not the first */
    tcp__send_ctl(st, c, c->iss, ST_TCP_SYN | ST_TCP_ACK, now);
    ST_INC(st, tcp_synacks_on_room);
    room--;
  }
}

/* ---- children --------------------------------------------------------- */

/* tcp__new_child: a connection for SYN sg on listener l, its handshake
 * state set by the caller. NULL when no slot, filter or route. */
struct st_tcp* tcp__new_child(struct anyload_stack* st, struct st_tcp* l,
                              const struct st_tcp_seg* sg, int64_t now)
{
  struct st_tcp* c = tcp__alloc(st);

  if (!c) {
    ST_INC(st, tcp_rx_drop_no_slot);
    return NULL;
  }
  c->laddr_be32 = sg->daddr_be32;
  c->lport_be16 = sg->h.dport_be16;
  c->raddr_be32 = sg->saddr_be32;
  c->rport_be16 = sg->h.sport_be16;
  c->bind_addr_be32 = l->bind_addr_be32;
  c->reuse = l->reuse;        /* inherited, as Linux's children do */
  c->rcvbuf = l->rcvbuf;
  c->sndbuf = l->sndbuf;
  c->sndbuf_user = l->sndbuf_user;
  c->rcvbuf_user = l->rcvbuf_user;
  c->nodelay = l->nodelay;
  c->keepalive = l->keepalive;
  c->keepidle_s = l->keepidle_s;
  c->keepintvl_s = l->keepintvl_s;
  c->keepcnt = l->keepcnt;
  c->linger_on = l->linger_on;
  c->linger_s = l->linger_s;
  c->user_mss = l->user_mss;
  c->user_timeout_ms = l->user_timeout_ms;
  c->cc_algo = l->cc_algo;
  c->ttl = l->ttl;
  c->tos = l->tos;
  if (tcp__path(st, c, now) < 0) {
    ST_INC(st, tcp_rx_drop_no_route);
    c->used = 0;
    st->n_tcps--;
    return NULL;
  }
  if (st__filter_get(st, ST_IPPROTO_TCP, c->bind_addr_be32,
                     c->lport_be16) < 0) {
    c->used = 0;
    st->n_tcps--;
    return NULL;
  }
  c->filter = 1;
  c->path_mtu = c->path.mtu;
  c->adv_mss = tcp__mss_for(c, c->path.mtu);
  c->rcv_ws = tcp__rcv_ws_of(c);
  tcp_rtt_init(&c->rtt, 0);
  tcp__port_link(st, c);
  tcp__conn_hash_add(st, c);
  c->parent = tcp__index(st, l);
  c->parent_gen = l->gen;
  return c;
}

static void syn_rx(struct anyload_stack* st, struct st_tcp* l,
                   struct st_tcp_seg* sg, int64_t now)
{
  unsigned synq_max = (unsigned)l->backlog > SYNQ_MIN ? (unsigned)l->backlog
                                                     : SYNQ_MIN;
  struct st_tcp* c;

  if (l->synq_n >= synq_max && !sg->tw.saved) {
    /* SYN cookie: answer without state. */
    struct st_tcp tmp;
    unsigned idx = 0, k;
    uint32_t count = (uint32_t)(now / COOKIE_PERIOD_NS);
    uint16_t peer = sg->h.mss ? sg->h.mss : 536;
    for (k = 0; k < 8; k++)
      if (cookie_mss[k] <= peer)
        idx = k;
    memset(&tmp, 0, sizeof(tmp));
    tmp.laddr_be32 = sg->daddr_be32;
    tmp.lport_be16 = sg->h.dport_be16;
    tmp.raddr_be32 = sg->saddr_be32;
    tmp.rport_be16 = sg->h.sport_be16;
    tmp.rcvbuf = l->rcvbuf;
    tmp.user_mss = l->user_mss;
    tmp.ttl = l->ttl;
    tmp.tos = l->tos;
    tmp.used = 1;
    if (tcp__path(st, &tmp, now) < 0) {
      ST_INC(st, tcp_rx_drop_no_route);
      return;
    }
    tmp.adv_mss = tcp__mss_for(&tmp, tmp.path.mtu);
    tmp.iss = cookie_make(st, sg, count, idx);
    tmp.rcv_nxt = sg->h.seq + 1;
    tmp.snd_nxt = tmp.iss + 1;
    if (sg->h.ts_ok) {
      /* The options ride in the TSval (see the top of the file); emit
       * sends the clock plus ts_offset. */
      tmp.ts_ok = 1;
      tmp.ts_recent = sg->h.tsval;
      tmp.ws_ok = sg->h.ws_ok;
      tmp.rcv_ws = sg->h.ws_ok ? tcp__rcv_ws_of(l) : 0;
      tmp.sack_ok = sg->h.sack_ok;
      tmp.ts_offset = cookie_tsval(&sg->h, now) +
                      ts_offset_for(st, tmp.iss) - (uint32_t)(now / 1000000);
    }
    tcp__send_ctl(st, &tmp, tmp.iss, ST_TCP_SYN | ST_TCP_ACK, now);
    ST_INC(st, tcp_syncookies_sent);
    return;
  }
  c = tcp__new_child(st, l, sg, now);
  if (!c)
    return;
  c->iss = tcp__isn(st, c->laddr_be32, c->lport_be16, c->raddr_be32,
                    c->rport_be16, now);
  c->tw = sg->tw;
  if (sg->tw.saved && !tcp_seq_gt(c->iss, sg->tw.snd_max)) {
    /* Reopened from TIME_WAIT before the ISN clock passed the old
     * connection's sequence space: start above it and above anything of
     * it still in flight in a 64 KiB window (RFC 1122 §4.2.2.13 (1); the
     * same choice as Linux). */
    c->iss = sg->tw.snd_max + 65535 + 2;
  }
  c->ts_offset = ts_offset_for(st, c->iss);
  c->snd_una = c->iss;
  c->snd_nxt = c->snd_max = c->iss + 1;
  tcp__apply_syn_opts(st, c, &sg->h, 1, 1, 1);
  c->snd_wl1 = sg->h.seq;
  c->snd_wl2 = c->iss;
  tcp__set_state(st, c, TCP_SYN_RECV);
  c->q_next = l->synq_head;
  l->synq_head = (uint32_t)tcp__index(st, c);
  l->synq_n++;
  c->in_queue = 1;
  tcp__send_ctl(st, c, c->iss, ST_TCP_SYN | ST_TCP_ACK, now);
  c->rtt_timing = 1;
  c->rtt_seq = c->iss + 1;
  c->rtt_start = now;
  tcp__arm_rto(st, c, now);
}

/* cookie_ack: an ACK that may complete a cookie handshake. Returns 1 if
 * it did (the child is established and handled the segment). */
static int cookie_ack(struct anyload_stack* st, struct st_tcp* l,
                      struct st_tcp_seg* sg, int64_t now)
{
  struct st_tcp_repr syn;
  struct st_tcp* c;
  int idx = cookie_check(st, sg, now);

  if (idx < 0)
    return 0;
  if (l->acceptq_n >= (unsigned)l->backlog) {
    ST_INC(st, tcp_rx_drop_acceptq_full);
    return 1;
  }
  c = tcp__new_child(st, l, sg, now);
  if (!c)
    return 1;
  memset(&syn, 0, sizeof(syn));
  syn.seq = sg->h.seq - 1;
  syn.mss = cookie_mss[idx];
  syn.win = sg->h.win;
  c->iss = sg->h.ack - 1;
  c->ts_offset = ts_offset_for(st, c->iss);
  if (sg->h.ts_ok) {
    /* Our SYN-ACK's options, echoed in TSecr (Linux's
     * cookie_timestamp_decode; the ECN bit is ignored: no ECN here). */
    uint32_t opts = (sg->h.tsecr - c->ts_offset) & COOKIE_TS_MASK;
    syn.ts_ok = 1;
    syn.tsval = sg->h.tsval;
    syn.sack_ok = !!(opts & COOKIE_TS_SACK);
    if ((opts & COOKIE_TS_WS) != COOKIE_TS_WS) {
      syn.ws_ok = 1;
      syn.ws = (uint8_t)(opts & COOKIE_TS_WS);
      if (syn.ws > ST_TCP_WS_MAX)
        syn.ws = ST_TCP_WS_MAX;
    }
  }
  c->snd_una = c->iss;
  c->snd_nxt = c->snd_max = c->iss + 1;
  c->cookie = 1;
  tcp__apply_syn_opts(st, c, &syn, 1, 1, 1);
  c->last_ack_sent = c->rcv_nxt;
  c->snd_wl1 = syn.seq;
  c->snd_wl2 = c->iss;
  tcp__set_state(st, c, TCP_SYN_RECV);
  c->q_next = l->synq_head;
  l->synq_head = (uint32_t)tcp__index(st, c);
  l->synq_n++;
  c->in_queue = 1;
  ST_INC(st, tcp_syncookies_ok);
  tcp__rx_conn(st, c, sg, now);
  return 1;
}

void tcp__listen_rx(struct anyload_stack* st, struct st_tcp* l,
                    struct st_tcp_seg* sg, int64_t now)
{
  uint8_t f = sg->h.flags;

  if (f & ST_TCP_RST) {
    ST_INC(st, tcp_rx_drop_listen_rst);
    return;
  }
  if (f & ST_TCP_ACK) {
    if (!(f & ST_TCP_SYN) && cookie_ack(st, l, sg, now))
      return;
    if (!(f & ST_TCP_SYN))
      ST_INC(st, tcp_syncookies_bad);
    ST_INC(st, tcp_rx_drop_listen_ack);
    tcp__send_rst_for(st, sg, now);
    return;
  }
  if (!(f & ST_TCP_SYN) || (f & ST_TCP_FIN)) {
    ST_INC(st, tcp_rx_drop_listen_other);
    return;
  }
  syn_rx(st, l, sg, now);
}
