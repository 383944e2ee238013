/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_sock.c: the TCP socket table and the calls that are not data
 * transfer: open, bind (TCP ports are a namespace apart from UDP's),
 * listen, accept, connect, shutdown, close, options, names, readiness,
 * TCP_INFO, counters; the two hashes that receive uses (bound ports, and
 * connections by 4-tuple) and the VI filters of TCP sockets.
 *
 * Layer: stack. Slots of st->tcps hold every TCP object: sockets the
 * application holds (app = 1), embryonic and not yet accepted children
 * of listeners (in_queue), and orphans finishing in the background
 * (FIN_WAIT, LAST_ACK, TIME_WAIT after close). A slot's generation moves
 * at every allocation.
 *
 * Filters: a listener claims (bound address, port) with an ip4_local
 * filter, and each of its children takes a reference on it, so that a
 * child outlives a closed listener; an active open claims its 4-tuple
 * with an ip4_full filter. Filters go when the connection is freed
 * (after TIME_WAIT) or closed (a reset, a timeout).
 *
 * Binding: two sockets may share a port when their addresses differ and
 * neither is INADDR_ANY, or when both set SO_REUSEADDR and neither
 * listens; SO_REUSEADDR also lets a socket bind a port whose other users
 * are all in TIME_WAIT (the kernel's rules, simplified). Ephemeral ports
 * are taken from ephem_lo..ephem_hi like UDP's, skipping every port a TCP
 * object of this stack holds.
 */
#include "stack/tcp_int.h"
#include "stack/publish.h"
#include "stack/sock_common.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

static unsigned port_bucket(uint16_t lport_be16)
{
  return ntohs(lport_be16) & (ST_PORT_HASH - 1);
}

static unsigned conn_bucket(uint32_t laddr, uint16_t lport, uint32_t raddr,
                            uint16_t rport)
{
  uint64_t h = ((uint64_t)laddr << 32 | raddr) ^
               ((uint64_t)lport << 16 | rport) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return (unsigned)h & (ST_TCP_HASH - 1);
}

static uint64_t mix64(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

int st__tcp_init(struct anyload_stack* st)
{
  unsigned k;

  st->tcps = calloc(st->cfg.max_sockets, sizeof(*st->tcps));
  st->tcp_conn_hash = malloc(ST_TCP_HASH * sizeof(uint32_t));
  if (!st->tcps || !st->tcp_conn_hash) {
    free(st->tcps);
    free(st->tcp_conn_hash);
    st->tcps = NULL;
    st->tcp_conn_hash = NULL;
    return -ENOMEM;
  }
  for (k = 0; k < ST_PORT_HASH; k++)
    st->tcp_port_hash[k] = ST_TCP_NONE;
  for (k = 0; k < ST_TCP_HASH; k++)
    st->tcp_conn_hash[k] = ST_TCP_NONE;
  /* The secret of ISNs and SYN cookies (RFC 6528, RFC 4987): from the
   * configured seed; a caller that wants unpredictable ISNs gives a
   * random seed. */
  st->tcp_secret[0] = mix64(st->cfg.seed ^ 0x7463707365637231ull);
  st->tcp_secret[1] = mix64(st->tcp_secret[0] ^ st->cfg.seed);
  tcp__challenge_init(st);
  return 0;
}

void st__tcp_fini(struct anyload_stack* st)
{
  unsigned k;

  if (st->tcps)
    for (k = 0; k < st->cfg.max_sockets; k++)
      if (st->tcps[k].used)
        tcp__free(st, &st->tcps[k]);
  free(st->tcps);
  free(st->tcp_conn_hash);
  st->tcps = NULL;
  st->tcp_conn_hash = NULL;
}

struct st_tcp* tcp__get(const struct anyload_stack* st, int sd)
{
  if (sd < 0 || (unsigned)sd >= st->cfg.max_sockets || !st->tcps[sd].used ||
      !st->tcps[sd].app)
    return NULL;
  return &st->tcps[sd];
}

struct st_tcp* tcp__alloc(struct anyload_stack* st)
{
  unsigned k;

  for (k = 0; k < st->cfg.max_sockets; k++) {
    struct st_tcp* c = &st->tcps[k];
    uint32_t gen;
    if (c->used)
      continue;
    gen = c->gen + 1;
    memset(c, 0, sizeof(*c));
    c->used = 1;
    c->gen = gen;
    c->state = TCP_CLOSE;
    c->parent = -1;
    c->q_next = c->port_next = c->conn_next = ST_TCP_NONE;
    c->synq_head = c->acceptq_head = c->acceptq_tail = ST_TCP_NONE;
    c->ttl = 64;
    c->rcvbuf = st->cfg.rcvbuf;
    c->sndbuf = ST_TCP_DEFAULT_SNDBUF;
    c->cc_algo = TCP_CC_CUBIC;
    c->keepidle_s = 7200;
    c->keepintvl_s = 75;
    c->keepcnt = 9;
    c->timer.kind = ST_TIMER_TCP;
    st->n_tcps++;
    return c;
  }
  return NULL;
}

/* ---- hashes ----------------------------------------------------------- */

void tcp__port_link(struct anyload_stack* st, struct st_tcp* c)
{
  unsigned b = port_bucket(c->lport_be16);

  if (c->in_port_hash)
    return;
  c->port_next = st->tcp_port_hash[b];
  st->tcp_port_hash[b] = (uint32_t)tcp__index(st, c);
  c->in_port_hash = 1;
}

void tcp__port_unlink(struct anyload_stack* st, struct st_tcp* c)
{
  uint32_t* pp = &st->tcp_port_hash[port_bucket(c->lport_be16)];
  uint32_t me = (uint32_t)tcp__index(st, c);

  if (!c->in_port_hash)
    return;
  while (*pp != ST_TCP_NONE && *pp != me)
    pp = &st->tcps[*pp].port_next;
  if (*pp == me)
    *pp = c->port_next;
  c->port_next = ST_TCP_NONE;
  c->in_port_hash = 0;
}

void tcp__conn_hash_add(struct anyload_stack* st, struct st_tcp* c)
{
  unsigned b = conn_bucket(c->laddr_be32, c->lport_be16, c->raddr_be32,
                           c->rport_be16);

  if (c->in_conn_hash)
    return;
  c->conn_next = st->tcp_conn_hash[b];
  st->tcp_conn_hash[b] = (uint32_t)tcp__index(st, c);
  c->in_conn_hash = 1;
}

static void conn_unlink(struct anyload_stack* st, struct st_tcp* c)
{
  uint32_t* pp;
  uint32_t me = (uint32_t)tcp__index(st, c);

  if (!c->in_conn_hash)
    return;
  pp = &st->tcp_conn_hash[conn_bucket(c->laddr_be32, c->lport_be16,
                                      c->raddr_be32, c->rport_be16)];
  while (*pp != ST_TCP_NONE && *pp != me)
    pp = &st->tcps[*pp].conn_next;
  if (*pp == me)
    *pp = c->conn_next;
  c->conn_next = ST_TCP_NONE;
  c->in_conn_hash = 0;
}

struct st_tcp* tcp__lookup(struct anyload_stack* st, uint32_t laddr,
                           uint16_t lport, uint32_t raddr, uint16_t rport)
{
  uint32_t k = st->tcp_conn_hash[conn_bucket(laddr, lport, raddr, rport)];

  for (; k != ST_TCP_NONE; k = st->tcps[k].conn_next) {
    struct st_tcp* c = &st->tcps[k];
    if (c->laddr_be32 == laddr && c->lport_be16 == lport &&
        c->raddr_be32 == raddr && c->rport_be16 == rport)
      return c;
  }
  return NULL;
}

struct st_tcp* tcp__listener(struct anyload_stack* st, uint32_t laddr,
                             uint16_t lport)
{
  uint32_t k = st->tcp_port_hash[port_bucket(lport)];
  struct st_tcp* wild = NULL;

  for (; k != ST_TCP_NONE; k = st->tcps[k].port_next) {
    struct st_tcp* c = &st->tcps[k];
    if (c->lport_be16 != lport || c->state != TCP_LISTEN)
      continue;
    if (c->bind_addr_be32 == laddr)
      return c;
    if (!c->bind_addr_be32 && !wild)
      wild = c;
  }
  return wild;
}

/* ---- states and teardown ---------------------------------------------- */

static void tally(struct anyload_stack* st, int state, int d)
{
  if (state == TCP_LISTEN)
    st->tcp_n_listen += (unsigned)d;
  else if (state == TCP_TIME_WAIT)
    st->tcp_n_tw += (unsigned)d;
  if (state != TCP_LISTEN && state != TCP_CLOSE)
    st->tcp_n_conn += (unsigned)d;
}

void tcp__set_state(struct anyload_stack* st, struct st_tcp* c, int state)
{
  tally(st, c->state, -1);
  c->state = (uint8_t)state;
  tally(st, state, 1);
  if (state == TCP_ESTABLISHED)
    c->was_connected = 1;
  st__pub_changed(st);
}

void tcp__release_filter(struct anyload_stack* st, struct st_tcp* c)
{
  if (c->filter == 1)
    st__filter_put(st, ST_IPPROTO_TCP, c->bind_addr_be32, c->lport_be16);
  else if (c->filter == 2)
    st__filter_put_full(st, ST_IPPROTO_TCP, c->laddr_be32, c->lport_be16,
                        c->raddr_be32, c->rport_be16);
  c->filter = 0;
}

void tcp__free_bufs(struct anyload_stack* st, struct st_tcp* c)
{
  st->tcp_buf_bytes -= c->sbuf_size + c->rbuf_size;
  free(c->sbuf);
  free(c->rbuf);
  c->sbuf = c->rbuf = NULL;
  c->sbuf_size = c->rbuf_size = 0;
  c->snd_len = c->rcv_len = 0;
}

/* abort_children: reset and free every queued child of listener l. */
static void abort_children(struct anyload_stack* st, struct st_tcp* l,
                           int send_rst, int64_t now)
{
  uint32_t heads[2] = { l->synq_head, l->acceptq_head }, k;
  int q;

  for (q = 0; q < 2; q++)
    for (k = heads[q]; k != ST_TCP_NONE;) {
      struct st_tcp* ch = &st->tcps[k];
      k = ch->q_next;
      if (send_rst)
        tcp__send_ctl(st, ch, ch->snd_max, ST_TCP_RST | ST_TCP_ACK, now);
      tcp__free(st, ch);
    }
}

void tcp__free(struct anyload_stack* st, struct st_tcp* c)
{
  if (c->state == TCP_LISTEN)
    abort_children(st, c, 0, st->now);
  tcp__unqueue(st, c);
  tcp__release_filter(st, c);
  conn_unlink(st, c);
  tcp__port_unlink(st, c);
  tcp__free_bufs(st, c);
  st__timer_cancel(st, &c->timer);
  if (c->tx_blocked)
    st->tcp_tx_blocked--;
  tally(st, c->state, -1);
  if (c->app)
    st->n_tcp_app--;
  c->used = 0;
  st->n_tcps--;
}

void tcp__done(struct anyload_stack* st, struct st_tcp* c, int err)
{
  if (err)
    c->err = err;
  if (err == ECONNRESET || err == ETIMEDOUT || err == ECONNREFUSED ||
      err == EHOSTUNREACH || err == ENETUNREACH)
    c->reset = 1;
  if (!c->app) {
    tcp__free(st, c);
    return;
  }
  tcp__set_state(st, c, TCP_CLOSE);
  tcp__release_filter(st, c);
  conn_unlink(st, c);
  c->rto_at = c->dack_at = c->persist_at = c->keep_at = c->end_at = 0;
  st__timer_cancel(st, &c->timer);
  if (c->tx_blocked) {
    c->tx_blocked = 0;
    st->tcp_tx_blocked--;
  }
  c->snd_len = 0;
  c->fin_queued = 0;
}

/* ---- buffers, path, MSS ----------------------------------------------- */

uint8_t tcp__rcv_ws(unsigned rcvbuf)
{
  uint8_t ws = 0;

  while (ws < ST_TCP_WS_MAX && (rcvbuf >> ws) > 65535)
    ws++;
  return ws;
}

uint8_t tcp__rcv_ws_of(const struct st_tcp* c)
{
  if (c->rcvbuf_user || c->rcvbuf >= ST_TCP_RCVBUF_AUTO_MAX)
    return tcp__rcv_ws(c->rcvbuf);
  return tcp__rcv_ws(ST_TCP_RCVBUF_AUTO_MAX);
}

int tcp__bufs_alloc(struct anyload_stack* st, struct st_tcp* c)
{
  if (c->sbuf)
    return 0;
  c->sbuf = malloc(c->sndbuf);
  c->rbuf = malloc(c->rcvbuf);
  if (!c->sbuf || !c->rbuf) {
    free(c->sbuf);
    free(c->rbuf);
    c->sbuf = c->rbuf = NULL;
    return -ENOMEM;
  }
  c->sbuf_size = c->sndbuf;
  c->rbuf_size = c->rcvbuf;
  c->snd_head = c->snd_len = c->rcv_head = c->rcv_len = 0;
  st->tcp_buf_bytes += c->sbuf_size + c->rbuf_size;
  return 0;
}

uint16_t tcp__mss_for(const struct st_tcp* c, unsigned mtu)
{
  unsigned m = mtu > 40 + ST_TCP_MIN_MSS ? mtu - 40 : ST_TCP_MIN_MSS;

  if (c->user_mss && c->user_mss < m)
    m = c->user_mss;
  return (uint16_t)m;
}

int tcp__path(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  struct anyload_route r;
  unsigned pmtu;
  int rc;

  if (!st->env.route)
    return -ENETUNREACH;
  memset(&r, 0, sizeof(r));
  rc = st->env.route(st->env.ctx, c->raddr_be32, c->laddr_be32, &r);
  if (rc < 0)
    return rc;
  if (r.ifindex != st->ifindex)
    return -EXDEV;
  if (r.type != ANYLOAD_ROUTE_UNICAST)
    return -ENETUNREACH;
  memset(&c->path, 0, sizeof(c->path));
  c->path.src_be32 = c->laddr_be32 ? c->laddr_be32 : r.src_be32;
  c->path.dst_be32 = c->raddr_be32;
  c->path.nexthop_be32 = r.nexthop_be32 ? r.nexthop_be32 : c->raddr_be32;
  c->path.mtu = r.mtu && r.mtu < st->mtu ? r.mtu : st->mtu;
  c->path.type = r.type;
  if (!c->path.src_be32)
    return -EADDRNOTAVAIL;
  pmtu = st__pmtu_get(st, c->raddr_be32, now);
  if (pmtu && pmtu < c->path.mtu)
    c->path.mtu = pmtu;
  c->path_gen = st__env_generation(st);
  c->path_pmtu_gen = st->pmtu_gen;
  c->path_ok = 1;
  return 0;
}

/* ---- open, bind ------------------------------------------------------- */

int anyload_tcp_open(struct anyload_stack* st)
{
  struct st_tcp* c = tcp__alloc(st);

  if (!c)
    return -EMFILE;
  c->app = 1;
  st->n_tcp_app++;
  return tcp__index(st, c);
}

static int port_conflict(const struct anyload_stack* st,
                         const struct st_tcp* c, uint32_t addr_be32,
                         uint16_t port_be16, int listening)
{
  uint32_t k = st->tcp_port_hash[port_bucket(port_be16)];

  for (; k != ST_TCP_NONE; k = st->tcps[k].port_next) {
    const struct st_tcp* o = &st->tcps[k];
    if (o == c || o->lport_be16 != port_be16)
      continue;
    if (o->bind_addr_be32 && addr_be32 && o->bind_addr_be32 != addr_be32)
      continue;
    if (c->reuse && o->state == TCP_TIME_WAIT)
      continue;
    /* Linux's rule (inet_csk_bind_conflict): with SO_REUSEADDR on both,
     * only a listener conflicts, at bind and at listen alike; so a
     * server may listen again while connections its old listener
     * accepted (which inherit the option) live on. */
    if (c->reuse && o->reuse && o->state != TCP_LISTEN)
      continue;
    /* Children share their listener's port by design. */
    if (o->parent >= 0 && !listening)
      continue;
    if (o->parent >= 0 && c->reuse)
      continue;
    return 1;
  }
  return 0;
}

static int do_bind(struct anyload_stack* st, struct st_tcp* c,
                   uint32_t addr_be32, uint16_t port_be16)
{
  unsigned lo = st->cfg.ephem_lo, hi = st->cfg.ephem_hi, n, k;

  if (port_be16) {
    if (port_conflict(st, c, addr_be32, port_be16, 0))
      return -EADDRINUSE;
  } else {
    n = hi - lo + 1;
    for (k = 0; k < n; k++) {
      uint16_t port = st->ephem_next;
      st->ephem_next = (uint16_t)(port >= hi ? lo : port + 1u);
      if (st->tcp_port_hash[port_bucket(htons(port))] != ST_TCP_NONE) {
        uint32_t j = st->tcp_port_hash[port_bucket(htons(port))];
        for (; j != ST_TCP_NONE; j = st->tcps[j].port_next)
          if (st->tcps[j].lport_be16 == htons(port))
            break;
        if (j != ST_TCP_NONE)
          continue;
      }
      port_be16 = htons(port);
      break;
    }
    if (!port_be16)
      return -EADDRINUSE;
  }
  c->bind_addr_be32 = addr_be32;
  c->laddr_be32 = addr_be32;
  c->lport_be16 = port_be16;
  tcp__port_link(st, c);
  return 0;
}

int anyload_tcp_bind(struct anyload_stack* st, int sd,
                     const struct sockaddr_in* addr, socklen_t len)
{
  struct st_tcp* c = tcp__get(st, sd);
  uint32_t a;

  if (!c)
    return -EBADF;
  if (!addr || len < sizeof(*addr))
    return -EINVAL;
  if (addr->sin_family != AF_INET)
    return -EAFNOSUPPORT;
  if (c->lport_be16 || c->state != TCP_CLOSE)
    return -EINVAL;
  a = addr->sin_addr.s_addr;
  if (st_ipv4_is_mcast(a) || st_ipv4_is_bcast(a))
    return -EADDRNOTAVAIL;
  if (a) {
    int rc = st__local_addr_check(st, a);
    if (rc < 0)
      return rc;
  }
  return do_bind(st, c, a, addr->sin_port);
}

/* ---- listen, accept --------------------------------------------------- */

int anyload_tcp_listen(struct anyload_stack* st, int sd, int backlog)
{
  struct st_tcp* c = tcp__get(st, sd);
  int rc;

  if (!c)
    return -EBADF;
  if (backlog <= 0)
    backlog = 1;
  if (backlog > 4096)
    backlog = 4096;
  if (c->state == TCP_LISTEN) {
    c->backlog = backlog;
    return 0;
  }
  if (c->state != TCP_CLOSE || c->was_connected)
    return -EINVAL;
  if (!c->lport_be16 && (rc = do_bind(st, c, 0, 0)) < 0)
    return rc;
  if (port_conflict(st, c, c->bind_addr_be32, c->lport_be16, 1))
    return -EADDRINUSE;
  rc = st__filter_get(st, ST_IPPROTO_TCP, c->bind_addr_be32, c->lport_be16);
  if (rc < 0)
    return rc;
  c->filter = 1;
  c->backlog = backlog;
  tcp__set_state(st, c, TCP_LISTEN);
  return 0;
}

int anyload_tcp_park(struct anyload_stack* st, int sd, unsigned park_ms)
{
  struct st_tcp* c = tcp__get(st, sd);

  if (!c)
    return -EBADF;
  if (c->state != TCP_LISTEN || c->filter != 1 || park_ms > 60000)
    return -EINVAL;
  return st__filter_park(st, ST_IPPROTO_TCP, c->bind_addr_be32, c->lport_be16,
                         park_ms);
}

int anyload_tcp_synq_len(const struct anyload_stack* st, int sd)
{
  const struct st_tcp* l = tcp__get(st, sd);

  if (!l)
    return -EBADF;
  if (l->state != TCP_LISTEN)
    return -EINVAL;
  return (int)l->synq_n;
}

int anyload_tcp_accept(struct anyload_stack* st, int sd,
                       struct sockaddr_in* peer, int64_t now_ns)
{
  struct st_tcp* l = tcp__get(st, sd);
  struct st_tcp* c;

  if (!l)
    return -EBADF;
  if (l->state != TCP_LISTEN)
    return -EINVAL;
  c = l->acceptq_head == ST_TCP_NONE ? NULL : &st->tcps[l->acceptq_head];
  if (c)
    tcp__unqueue(st, c);
  /* Room made now, or before by a queued child's reset. */
  if (l->acks_dropped) {
    st->now = now_ns;
    tcp__acceptq_room(st, l, now_ns);
  }
  if (!c)
    return -EAGAIN;
  c->app = 1;
  st->n_tcp_app++;
  if (peer) {
    memset(peer, 0, sizeof(*peer));
    peer->sin_family = AF_INET;
    peer->sin_addr.s_addr = c->raddr_be32;
    peer->sin_port = c->rport_be16;
  }
  return tcp__index(st, c);
}

/* ---- connect ---------------------------------------------------------- */

int anyload_tcp_connect(struct anyload_stack* st, int sd,
                        const struct sockaddr_in* addr, socklen_t len,
                        int64_t now_ns)
{
  struct st_tcp* c = tcp__get(st, sd);
  int rc, autobound = 0;

  if (!c)
    return -EBADF;
  st->now = now_ns;
  switch (c->state) {
  case TCP_SYN_SENT:
  case TCP_SYN_RECV:
    return -EALREADY;
  case TCP_LISTEN:
    return -EINVAL;
  case TCP_CLOSE:
    if (c->was_connected || c->err) {
      if (c->err) {
        int e = c->err;
        c->err = 0;
        return -e;
      }
      return -EISCONN;
    }
    break;
  default:
    if (!c->connect_reported) {
      c->connect_reported = 1;
      return 0;
    }
    return -EISCONN;
  }
  if (!addr || len < sizeof(*addr))
    return -EINVAL;
  if (addr->sin_family != AF_INET)
    return -EAFNOSUPPORT;
  if (addr->sin_port == 0 || !addr->sin_addr.s_addr ||
      st_ipv4_is_mcast(addr->sin_addr.s_addr) ||
      st_ipv4_is_bcast(addr->sin_addr.s_addr))
    return -EINVAL;
  c->raddr_be32 = addr->sin_addr.s_addr;
  c->rport_be16 = addr->sin_port;
  rc = tcp__path(st, c, now_ns);
  if (rc < 0) {
    c->raddr_be32 = 0;
    c->rport_be16 = 0;
    if (rc == -EXDEV)
      ST_INC(st, tx_not_accel);
    return rc;
  }
  if (!c->lport_be16) {
    if ((rc = do_bind(st, c, 0, 0)) < 0)
      goto fail;
    autobound = 1;
  }
  if (!c->laddr_be32)
    c->laddr_be32 = c->path.src_be32;
  if (tcp__lookup(st, c->laddr_be32, c->lport_be16, c->raddr_be32,
                  c->rport_be16)) {
    rc = -EADDRINUSE;
    goto fail;
  }
  rc = st__filter_get_full(st, ST_IPPROTO_TCP, c->laddr_be32, c->lport_be16,
                           c->raddr_be32, c->rport_be16);
  if (rc < 0)
    goto fail;
  c->filter = 2;
  if ((rc = tcp__bufs_alloc(st, c)) < 0) {
    tcp__release_filter(st, c);
    goto fail;
  }
  tcp__conn_hash_add(st, c);
  c->rcv_ws = tcp__rcv_ws_of(c);
  c->adv_mss = tcp__mss_for(c, c->path.mtu);
  c->path_mtu = c->path.mtu;
  tcp_rtt_init(&c->rtt, 0);
  c->iss = tcp__isn(st, c->laddr_be32, c->lport_be16, c->raddr_be32,
                    c->rport_be16, now_ns);
  c->ts_offset = (uint32_t)(st->tcp_secret[1] ^ c->iss);
  c->snd_una = c->iss;
  c->snd_nxt = c->snd_max = c->iss + 1;
  c->rcv_adv = 0;
  tcp__set_state(st, c, TCP_SYN_SENT);
  c->connect_reported = 1;   /* the first call's answer is EINPROGRESS */
  ST_INC(st, tcp_active_opens);
  tcp__send_ctl(st, c, c->iss, ST_TCP_SYN, now_ns);
  c->rtt_timing = 1;          /* the SYN's RTT is the first sample */
  c->rtt_seq = c->iss + 1;
  c->rtt_start = now_ns;
  tcp__arm_rto(st, c, now_ns);
  return -EINPROGRESS;

fail:
  if (autobound) {
    tcp__port_unlink(st, c);
    c->lport_be16 = 0;
    c->bind_addr_be32 = 0;
  }
  c->laddr_be32 = c->bind_addr_be32;
  c->raddr_be32 = 0;
  c->rport_be16 = 0;
  return rc;
}

/* ---- shutdown, close -------------------------------------------------- */

/* send_fin: queue our FIN (close or SHUT_WR) and move the state. */
static void send_fin(struct anyload_stack* st, struct st_tcp* c, int64_t now)
{
  if (c->fin_queued)
    return;
  switch (c->state) {
  case TCP_ESTABLISHED:
  case TCP_SYN_RECV:
    tcp__set_state(st, c, TCP_FIN_WAIT1);
    break;
  case TCP_CLOSE_WAIT:
    tcp__set_state(st, c, TCP_LAST_ACK);
    break;
  default:
    return;
  }
  c->fin_queued = 1;
  tcp__output(st, c, now);
}

int anyload_tcp_shutdown(struct anyload_stack* st, int sd, int how,
                         int64_t now_ns)
{
  struct st_tcp* c = tcp__get(st, sd);

  if (!c)
    return -EBADF;
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
    return -EINVAL;
  st->now = now_ns;
  if (c->state == TCP_CLOSE || c->state == TCP_LISTEN ||
      c->state == TCP_SYN_SENT) {
    if (c->state == TCP_SYN_SENT) {
      tcp__done(st, c, 0);
      return 0;
    }
    return -ENOTCONN;
  }
  if (how != SHUT_WR)
    c->shut_rd = 1;
  if (how != SHUT_RD) {
    c->shut_wr = 1;
    send_fin(st, c, now_ns);
  }
  return 0;
}

/* reset_and_free: RFC 9293 §3.10.4 ABORT / RFC 2525 §2.17. */
static void reset_conn(struct anyload_stack* st, struct st_tcp* c,
                       int64_t now)
{
  if (c->state != TCP_CLOSE && c->state != TCP_SYN_SENT &&
      c->state != TCP_LISTEN && c->state != TCP_TIME_WAIT) {
    tcp__send_ctl(st, c, c->snd_max, ST_TCP_RST | ST_TCP_ACK, now);
    ST_INC(st, tcp_resets_sent_abort);
  }
  tcp__free(st, c);
}

/* own_filters_after_listener: the listener on (addr, port) is gone. Its
 * accepted connections still hold references on its ip4_local filter,
 * which would keep bringing new SYNs for the port to this stack, where no
 * listener is left to take them (they were answered by RST), rather than
 * to the kernel (its listener after transparent mode's fork hand-over, or
 * a program that listens again through the kernel). Unless another
 * listener of this stack has the same address and port, each such
 * connection (TIME_WAIT included) takes an ip4_full filter on its 4-tuple
 * and lets the local one go; the last one to let go removes it. A
 * connection whose full filter cannot be added keeps the local one
 * (counted as filter_add_err). */
static void own_filters_after_listener(struct anyload_stack* st,
                                       uint32_t addr_be32, uint16_t port_be16)
{
  uint32_t head = st->tcp_port_hash[port_bucket(port_be16)], k;

  for (k = head; k != ST_TCP_NONE; k = st->tcps[k].port_next) {
    const struct st_tcp* o = &st->tcps[k];
    if (o->state == TCP_LISTEN && o->lport_be16 == port_be16 &&
        o->bind_addr_be32 == addr_be32)
      return;
  }
  for (k = head; k != ST_TCP_NONE; k = st->tcps[k].port_next) {
    struct st_tcp* o = &st->tcps[k];
    if (o->filter != 1 || o->lport_be16 != port_be16 ||
        o->bind_addr_be32 != addr_be32)
      continue;
    if (st__filter_get_full(st, ST_IPPROTO_TCP, o->laddr_be32, o->lport_be16,
                            o->raddr_be32, o->rport_be16) < 0)
      continue;
    st__filter_put(st, ST_IPPROTO_TCP, o->bind_addr_be32, o->lport_be16);
    o->filter = 2;
  }
}

int anyload_tcp_close(struct anyload_stack* st, int sd, int64_t now_ns)
{
  struct st_tcp* c = tcp__get(st, sd);

  if (!c)
    return -EBADF;
  st->now = now_ns;
  c->app = 0;
  st->n_tcp_app--;
  switch (c->state) {
  case TCP_LISTEN: {
    uint32_t addr = c->bind_addr_be32;
    uint16_t port = c->lport_be16;
    abort_children(st, c, 1, now_ns);
    tcp__free(st, c);
    own_filters_after_listener(st, addr, port);
    return 0;
  }
  case TCP_CLOSE:
  case TCP_SYN_SENT:
    tcp__free(st, c);
    return 0;
  case TCP_TIME_WAIT:
    /* Finishes by its timer; nothing is left to send or to read. */
    tcp__free_bufs(st, c);
    return 0;
  default:
    break;
  }
  if (c->rcv_len || (c->linger_on && c->linger_s == 0)) {
    if (c->rcv_len)
      ST_INC(st, tcp_close_unread);
    reset_conn(st, c, now_ns);
    return 0;
  }
  c->shut_rd = c->shut_wr = 1;
  send_fin(st, c, now_ns);
  if (c->state == TCP_FIN_WAIT2)
    c->end_at = now_ns + ST_TCP_FIN2_NS;
  tcp__timer_update(st, c);
  return 0;
}

int anyload_tcp_close_handle(const struct anyload_stack* st, int sd,
                             uint64_t* handle)
{
  const struct st_tcp* c = tcp__get(st, sd);

  if (!c)
    return -EBADF;
  if (!handle)
    return -EINVAL;
  /* The slot + 1 (never 0) and its generation. */
  *handle = (uint64_t)c->gen << 32 | (uint64_t)(tcp__index(st, c) + 1);
  return 0;
}

int anyload_tcp_closing(const struct anyload_stack* st, uint64_t handle)
{
  uint32_t slot = (uint32_t)handle, gen = (uint32_t)(handle >> 32);
  const struct st_tcp* c;

  if (!slot || slot > st->cfg.max_sockets)
    return -EINVAL;
  c = &st->tcps[slot - 1];
  if (!c->used || c->gen != gen || c->app)
    return 0;
  return c->state == TCP_FIN_WAIT1 || c->state == TCP_CLOSING ||
         c->state == TCP_LAST_ACK;
}

/* ---- options ---------------------------------------------------------- */

static int get_int(const void* val, socklen_t len, int* out)
{
  if (!val || len < sizeof(int))
    return -EINVAL;
  memcpy(out, val, sizeof(int));
  return 0;
}

static unsigned buf_size(int v)
{
  unsigned b = v > (1 << 28) ? (1u << 29) : (unsigned)v * 2u;

  return b < 4608 ? 4608 : b;   /* the kernel's SOCK_MIN_RCVBUF */
}

int anyload_tcp_setsockopt(struct anyload_stack* st, int sd, int level,
                           int optname, const void* val, socklen_t len,
                           int64_t now_ns)
{
  struct st_tcp* c = tcp__get(st, sd);
  int v = 0, rc;

  if (!c)
    return -EBADF;
  st->now = now_ns;
  if (level == IPPROTO_TCP && optname == TCP_CONGESTION) {
    char name[16];
    int algo;
    if (!val || len == 0)
      return -EINVAL;
    memset(name, 0, sizeof(name));
    memcpy(name, val, len < sizeof(name) - 1 ? len : sizeof(name) - 1);
    algo = tcp_cc_by_name(name);
    if (algo < 0)
      return -ENOENT;
    c->cc_algo = (uint8_t)algo;
    if (c->cc.mss)
      c->cc.algo = (uint8_t)algo;
    return 0;
  }
  if (level == SOL_SOCKET && optname == SO_LINGER) {
    struct linger lg;
    if (!val || len < sizeof(lg))
      return -EINVAL;
    memcpy(&lg, val, sizeof(lg));
    c->linger_on = lg.l_onoff != 0;
    c->linger_s = lg.l_linger < 0 ? 0 : lg.l_linger;
    return 0;
  }
  if ((rc = get_int(val, len, &v)) < 0)
    return rc;
  if (level == SOL_SOCKET) {
    switch (optname) {
    case SO_REUSEADDR:
      c->reuse = v != 0;
      return 0;
    case SO_KEEPALIVE:
      c->keepalive = v != 0;
      tcp__keepalive_reset(st, c, now_ns);
      return 0;
    case SO_RCVBUF:
      if (v < 0)
        return -EINVAL;
      c->rcvbuf = buf_size(v);
      c->rcvbuf_user = 1;
      /* A connection's ring grows now (the window then opens up to what
       * its scale allows); it never shrinks under data already
       * advertised, so a smaller value only shows in getsockopt. */
      if (c->rbuf && c->rcvbuf > c->rbuf_size) {
        if (tcp__rbuf_grow(st, c, c->rcvbuf) < 0)
          return -ENOMEM;
        if (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT1 ||
            c->state == TCP_FIN_WAIT2)
          tcp__send_ack(st, c, now_ns);   /* the window update */
      }
      return 0;
    case SO_SNDBUF:
      if (v < 0)
        return -EINVAL;
      c->sndbuf = buf_size(v);
      c->sndbuf_user = 1;
      if (c->sbuf && c->sndbuf > c->sbuf_size &&
          tcp__sbuf_grow(st, c, c->sndbuf) < 0)
        return -ENOMEM;
      return 0;
    default:
      return -ENOPROTOOPT;
    }
  }
  if (level == IPPROTO_IP) {
    switch (optname) {
    case IP_TTL:
      if (v == -1)
        v = 64;
      if (v < 1 || v > 255)
        return -EINVAL;
      c->ttl = (uint8_t)v;
      return 0;
    case IP_TOS:
      c->tos = (uint8_t)v;
      return 0;
    default:
      return -ENOPROTOOPT;
    }
  }
  if (level != IPPROTO_TCP)
    return -ENOPROTOOPT;
  switch (optname) {
  case TCP_NODELAY:
    c->nodelay = v != 0;
    if (c->nodelay && c->sbuf)
      tcp__output(st, c, now_ns);
    return 0;
  case TCP_CORK:
    c->cork = v != 0;
    if (!c->cork && c->sbuf)
      tcp__output(st, c, now_ns);
    if (!c->cork) {
      c->cork_at = 0;
      tcp__timer_update(st, c);
    }
    return 0;
  case TCP_MAXSEG:
    if (v && (v < ST_TCP_MIN_MSS || v > 65535 - 40))
      return -EINVAL;
    c->user_mss = (uint16_t)v;
    return 0;
  case TCP_KEEPIDLE:
  case TCP_KEEPINTVL:
    if (v < 1 || v > 32767)
      return -EINVAL;
    if (optname == TCP_KEEPIDLE)
      c->keepidle_s = v;
    else
      c->keepintvl_s = v;
    tcp__keepalive_reset(st, c, now_ns);
    return 0;
  case TCP_KEEPCNT:
    if (v < 1 || v > 127)
      return -EINVAL;
    c->keepcnt = v;
    return 0;
  case TCP_QUICKACK:
    c->quickack_opt = v != 0;
    if (v && c->dack_at && c->state >= TCP_ESTABLISHED)
      tcp__send_ack(st, c, now_ns);
    return 0;
  case TCP_USER_TIMEOUT:
    if (v < 0)
      return -EINVAL;
    c->user_timeout_ms = (unsigned)v;
    return 0;
  case TCP_DEFER_ACCEPT:
  case TCP_SYNCNT:
    return 0;
  default:
    return -ENOPROTOOPT;
  }
}

static void fill_info(const struct anyload_stack* st, const struct st_tcp* c,
                      struct tcp_info* ti)
{
  int64_t now = st->now;

  memset(ti, 0, sizeof(*ti));
  ti->tcpi_state = c->state;
  ti->tcpi_ca_state = c->in_recovery ? 3 : c->rto_backoffs ? 4 : 0;
  ti->tcpi_retransmits = c->rto_backoffs;
  ti->tcpi_probes = c->keep_probes;
  ti->tcpi_backoff = c->rtt.backoff;
  if (c->ts_ok)
    ti->tcpi_options |= TCPI_OPT_TIMESTAMPS;
  if (c->sack_ok)
    ti->tcpi_options |= TCPI_OPT_SACK;
  if (c->ws_ok) {
    ti->tcpi_options |= TCPI_OPT_WSCALE;
    ti->tcpi_snd_wscale = c->snd_ws & 0xf;
    ti->tcpi_rcv_wscale = c->rcv_ws & 0xf;
  }
  ti->tcpi_rto = c->rtt.rto_us;
  ti->tcpi_ato = (uint32_t)(ST_TCP_DACK_NS / 1000);
  ti->tcpi_snd_mss = c->mss;
  ti->tcpi_rcv_mss = c->peer_mss;
  ti->tcpi_unacked = c->mss ? (tcp__flight(c) + c->mss - 1) / c->mss : 0;
  ti->tcpi_lost = 0;
  ti->tcpi_retrans = (uint32_t)c->stats[ST_TCP_SOCK_STAT_retrans_segs];
  ti->tcpi_last_data_sent = c->last_data_tx ?
      (uint32_t)((now - c->last_data_tx) / 1000000) : 0;
  ti->tcpi_last_data_recv = c->last_data_rx ?
      (uint32_t)((now - c->last_data_rx) / 1000000) : 0;
  ti->tcpi_last_ack_recv = c->last_rx ?
      (uint32_t)((now - c->last_rx) / 1000000) : 0;
  ti->tcpi_pmtu = c->path_mtu;
  ti->tcpi_rtt = c->rtt.srtt_us;
  ti->tcpi_rttvar = c->rtt.rttvar_us;
  ti->tcpi_snd_ssthresh = c->mss && c->cc.ssthresh != UINT32_MAX
                          ? c->cc.ssthresh / c->mss : 0x7fffffff;
  ti->tcpi_snd_cwnd = c->mss ? c->cc.cwnd / c->mss : 0;
  ti->tcpi_advmss = c->adv_mss;
  ti->tcpi_reordering = 3;
  ti->tcpi_rcv_space = c->rbuf_size;
  ti->tcpi_total_retrans = (uint32_t)c->stats[ST_TCP_SOCK_STAT_retrans_segs];
}

int anyload_tcp_getsockopt(struct anyload_stack* st, int sd, int level,
                           int optname, void* val, socklen_t* len)
{
  struct st_tcp* c = tcp__get(st, sd);

  if (!c)
    return -EBADF;
  if (!val || !len)
    return -EINVAL;
  if (level == SOL_SOCKET) {
    switch (optname) {
    case SO_ERROR: {
      int e = c->err;
      if (st__put_int(val, len, e) < 0)
        return -EINVAL;
      c->err = 0;
      return 0;
    }
    case SO_TYPE:
      return st__put_int(val, len, SOCK_STREAM);
    case SO_ACCEPTCONN:
      return st__put_int(val, len, c->state == TCP_LISTEN);
    case SO_REUSEADDR:
      return st__put_int(val, len, c->reuse);
    case SO_KEEPALIVE:
      return st__put_int(val, len, c->keepalive);
    case SO_RCVBUF:
      return st__put_int(val, len, (int)c->rcvbuf);
    case SO_SNDBUF:
      return st__put_int(val, len, (int)c->sndbuf);
    case SO_LINGER: {
      struct linger lg = { c->linger_on, c->linger_s };
      if (*len < sizeof(lg))
        return -EINVAL;
      memcpy(val, &lg, sizeof(lg));
      *len = sizeof(lg);
      return 0;
    }
    default:
      return -ENOPROTOOPT;
    }
  }
  if (level == IPPROTO_IP) {
    if (optname == IP_TTL)
      return st__put_int(val, len, c->ttl);
    if (optname == IP_TOS)
      return st__put_int(val, len, c->tos);
    return -ENOPROTOOPT;
  }
  if (level != IPPROTO_TCP)
    return -ENOPROTOOPT;
  switch (optname) {
  case TCP_NODELAY:
    return st__put_int(val, len, c->nodelay);
  case TCP_CORK:
    return st__put_int(val, len, c->cork);
  case TCP_MAXSEG:
    return st__put_int(val, len, c->mss ? c->mss
                                    : (c->user_mss ? c->user_mss : 536));
  case TCP_KEEPIDLE:
    return st__put_int(val, len, c->keepidle_s);
  case TCP_KEEPINTVL:
    return st__put_int(val, len, c->keepintvl_s);
  case TCP_KEEPCNT:
    return st__put_int(val, len, c->keepcnt);
  case TCP_QUICKACK:
    return st__put_int(val, len, c->quickack_opt);
  case TCP_USER_TIMEOUT:
    return st__put_int(val, len, (int)c->user_timeout_ms);
  case TCP_DEFER_ACCEPT:
    return st__put_int(val, len, 0);
  case TCP_SYNCNT:
    return st__put_int(val, len, ST_TCP_SYN_RETRIES);
  case TCP_CONGESTION: {
    const char* n = tcp_cc_name(c->cc_algo);
    size_t l = n ? strlen(n) + 1 : 1;
    if (*len < l)
      l = *len;
    memcpy(val, n ? n : "", l);
    *len = (socklen_t)l;
    return 0;
  }
  case TCP_INFO: {
    struct tcp_info ti;
    socklen_t l = *len < sizeof(ti) ? *len : (socklen_t)sizeof(ti);
    fill_info(st, c, &ti);
    memcpy(val, &ti, l);
    *len = l;
    return 0;
  }
  default:
    return -ENOPROTOOPT;
  }
}

/* ---- names, readiness, counters --------------------------------------- */

int anyload_tcp_getsockname(struct anyload_stack* st, int sd,
                            struct sockaddr_in* addr, socklen_t* len)
{
  struct st_tcp* c = tcp__get(st, sd);

  if (!c)
    return -EBADF;
  return st__put_addr(addr, len, c->laddr_be32, c->lport_be16);
}

int anyload_tcp_getpeername(struct anyload_stack* st, int sd,
                            struct sockaddr_in* addr, socklen_t* len)
{
  struct st_tcp* c = tcp__get(st, sd);

  if (!c)
    return -EBADF;
  if (c->state == TCP_CLOSE || c->state == TCP_LISTEN)
    return -ENOTCONN;
  return st__put_addr(addr, len, c->raddr_be32, c->rport_be16);
}

uint64_t anyload_tcp_rx_events(const struct anyload_stack* st, int sd)
{
  const struct st_tcp* c = tcp__get(st, sd);

  if (!c)
    return 0;
  return c->stats[ST_TCP_SOCK_STAT_rx_bytes] +
         c->stats[ST_TCP_SOCK_STAT_rx_fin] +
         c->stats[ST_TCP_SOCK_STAT_rx_rst] +
         c->stats[ST_TCP_SOCK_STAT_accept_queued] + c->err;
}

int anyload_tcp_poll(const struct anyload_stack* st, int sd)
{
  const struct st_tcp* c = tcp__get(st, sd);
  int mask = 0;

  if (!c)
    return -EBADF;
  if (c->state == TCP_LISTEN)
    return c->acceptq_n ? (POLLIN | POLLRDNORM) : 0;
  if (c->err)
    mask |= POLLERR;
  if (c->state == TCP_CLOSE) {
    mask |= POLLHUP;
    if (!c->was_connected && !c->reset)
      return mask | POLLOUT | POLLWRNORM;
  }
  if ((c->shut_wr && (c->fin_rcvd || c->shut_rd)) ||
      (c->fin_rcvd && c->shut_wr))
    mask |= POLLHUP;
  if (c->fin_rcvd || c->shut_rd || c->state == TCP_CLOSE)
    mask |= POLLIN | POLLRDNORM | POLLRDHUP;
  if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECV)
    return mask;
  if (c->rcv_len)
    mask |= POLLIN | POLLRDNORM;
  if (c->state == TCP_CLOSE)
    return mask;
  if (c->shut_wr || c->sbuf_size - c->snd_len >= c->sbuf_size / 3)
    mask |= POLLOUT | POLLWRNORM;
  return mask;
}

int anyload_tcp_state(const struct anyload_stack* st, int sd)
{
  const struct st_tcp* c = tcp__get(st, sd);

  return c ? c->state : -EBADF;
}

static const struct st_stat_desc tcp_stats[] = {
#define ST_TCP_SOCK_STAT(name, doc) ST_STAT_DESC(name, doc)
#include "stack/stats.def"
#undef ST_TCP_SOCK_STAT
};

unsigned anyload_tcp_stat_count(void)
{
  return ST_TCP_SOCK_N_STATS;
}

const char* anyload_tcp_stat_name(unsigned i)
{
  return st__stat_name(tcp_stats, ST_TCP_SOCK_N_STATS, i);
}

const char* anyload_tcp_stat_doc(unsigned i)
{
  return st__stat_doc(tcp_stats, ST_TCP_SOCK_N_STATS, i);
}

int anyload_tcp_stats(const struct anyload_stack* st, int sd, uint64_t* out,
                      unsigned n)
{
  const struct st_tcp* c = tcp__get(st, sd);

  if (!c)
    return -EBADF;
  return st__stat_copy(c->stats, ST_TCP_SOCK_N_STATS, out, n);
}

void st__tcp_poll(struct anyload_stack* st, int64_t now)
{
  unsigned k;

  if (!st->tcp_tx_blocked)
    return;
  /* Round robin from where the last pass stopped: a pass from slot 0
   * each time let the first connections refill the ring at every poll
   * while a later one starved (nginx under wrk: a response stuck > 2 s). */
  for (k = 0; k < st->cfg.max_sockets && st->tcp_tx_blocked; k++) {
    unsigned i = (st->tcp_tx_rr + k) % st->cfg.max_sockets;
    struct st_tcp* c = &st->tcps[i];
    if (!c->used || !c->tx_blocked)
      continue;
    c->tx_blocked = 0;
    st->tcp_tx_blocked--;
    tcp__output(st, c, now);
    if (c->tx_blocked) {
      /* The ring is full again: the next pass starts after c. */
      st->tcp_tx_rr = (i + 1) % st->cfg.max_sockets;
      return;
    }
  }
}
