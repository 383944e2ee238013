/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/harness/tcp_sim.h: a harness for the stack's TCP on simulated
 * links (anyload/sim.h) and the virtual clock, header-only, for unit
 * tests that include unit_test.h first.
 *
 * A world is one sim link <name>A-<name>B with an anyload stack on the A
 * end and, on the B end, either a second stack (tw_open(.., TW_STACK))
 * or a raw VI, the "peer" (TW_PEER), through which the test injects
 * hand-made TCP segments (tw_peer_send) and reads back exactly what the
 * stack sent (tw_peer_next), headers and options parsed by the stack's
 * own wire view. Both ends have a static environment: 198.18.0.0/24
 * on-link, the other end's MAC known.
 *
 * Time is virtual: tw_run(w, dt) moves the clock event by event (frames
 * on the link, the stacks' deadlines) and polls everything at each step.
 * tw_close checks that nothing leaked: no socket, connection, buffer
 * byte, timer or filter left, every packet buffer back in the pool.
 *
 * A data stream's bytes are a function of their offset (tw_fill,
 * tw_check), so that a receiver checks every byte it gets, in order,
 * without keeping a copy.
 */
#ifndef ANYLOAD_TESTS_TCP_SIM_H
#define ANYLOAD_TESTS_TCP_SIM_H

#include "sim_world.h"
#include "stack/tcp_int.h"
#include "stack/wire/tcp.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>

#define TW_US  1000ll
#define TW_MS  1000000ll
#define TW_SEC 1000000000ll

#define TW_IP_A SIM_IP_A
#define TW_IP_B SIM_IP_B

#define tw_mac_a sim_mac_a
#define tw_mac_b sim_mac_b

/* ---- static environment ----------------------------------------------- */

static __attribute__((unused)) int tw_env_route(void* ctx, uint32_t dst, uint32_t src,
                        struct anyload_route* out)
{
  (void)src;
  sim_route_unicast(ctx, dst, out);
  if ((ntohl(dst) & 0xffffff00u) != (ntohl(inet_addr("198.18.0.0"))))
    return -ENETUNREACH;
  return 0;
}

static __attribute__((unused)) int tw_env_neigh(void* ctx, int ifindex, uint32_t ip, uint8_t mac[6])
{
  struct sim_env* e = ctx;

  (void)ifindex;
  if (ip != e->peer_be32)
    return -EHOSTUNREACH;
  memcpy(mac, e->peer_mac, 6);
  return 0;
}

static __attribute__((unused)) uint64_t tw_env_gen(void* ctx)
{
  (void)ctx;
  return 1;
}

/* ---- the raw peer ----------------------------------------------------- */

#define TW_RAW_BUFS 128
#define TW_RAW_CAP  1024

/* tw_raw_open: the peer, a raw VI (sim_world.h) capturing up to
 * TW_RAW_CAP frames; one more fails the test. */
static __attribute__((unused)) struct sim_raw* tw_raw_open(const char* ifname)
{
  return sim_raw_open(ifname, TW_RAW_BUFS, TW_RAW_CAP, 1);
}

static __attribute__((unused)) void tw_raw_close(struct sim_raw* r)
{
  sim_raw_close(r);
}

/* ---- worlds ----------------------------------------------------------- */

enum { TW_STACK, TW_PEER };

struct tw {
  char     ifn[2][16];
  struct anyload_stack* st[2];
  struct sim_env env[2];
  struct sim_raw* raw;          /* the peer, on B */
  uint16_t ip_id;
};

static __attribute__((unused)) struct anyload_stack_env tw_env_of(struct sim_env* e)
{
  struct anyload_stack_env v;

  memset(&v, 0, sizeof(v));
  v.ctx = e;
  v.route = tw_env_route;
  v.addr_ifindex = sim_env_addr_ifindex;
  v.neigh = tw_env_neigh;
  v.generation = tw_env_gen;
  return v;
}

/* tw_open_cfg: link with cfg (NULL: perfect), stack A, and a stack or a
 * raw peer on B; base (may be NULL) is the stacks' configuration. */
static __attribute__((unused)) void tw_open_cfg(struct tw* w, const char* name,
                        struct anyload_sim_config* cfg, int b_kind,
                        const struct anyload_stack_config* base)
{
  int k;

  memset(w, 0, sizeof(*w));
  sim_link_open(w->ifn, name, cfg);
  for (k = 0; k < 2; k++) {
    struct anyload_stack_config sc;
    struct anyload_stack_env ev;
    struct sim_env* e = &w->env[k];
    if (k == 1 && b_kind == TW_PEER)
      continue;
    sc = sim_config_of(base);
    if (!sc.n_bufs)
      sc.n_bufs = 2048;
    sc.seed = 12345 + (uint64_t)k;
    sim_env_init(e, k);
    ev = tw_env_of(e);
    w->st[k] = sim_stack_open(&sc, w->ifn[k], &ev, e);
  }
  if (b_kind == TW_PEER)
    w->raw = tw_raw_open(w->ifn[1]);
}

static __attribute__((unused)) void tw_open(struct tw* w, const char* name,
                    struct anyload_sim_config* cfg, int b_kind)
{
  tw_open_cfg(w, name, cfg, b_kind, NULL);
}

static __attribute__((unused)) int64_t tw_now(void)
{
  return anyload_sim_clock_now();
}

static __attribute__((unused)) void tw_poll_all(struct tw* w)
{
  int k, n, rounds = 0;

  do {
    n = 0;
    for (k = 0; k < 2; k++)
      if (w->st[k])
        n += anyload_stack_poll(w->st[k], tw_now(), 0);
    if (w->raw)
      n += sim_raw_poll(w->raw);
    CHECK(++rounds, <, 1000000);
  } while (n);
}

/* tw_step: move to the next event (a frame, a deadline), at most until
 * end, and poll. Returns 0 once end is reached. */
static __attribute__((unused)) int tw_step(struct tw* w, int64_t end)
{
  int64_t t;

  tw_poll_all(w);
  t = tw_now();
  if (t >= end)
    return 0;
  sim_advance(w->st, t, end);
  tw_poll_all(w);
  return 1;
}

static __attribute__((unused)) void tw_run(struct tw* w, int64_t dt)
{
  int64_t end = tw_now() + dt;

  while (tw_step(w, end))
    ;
}

static __attribute__((unused)) void tw_check_idle(struct anyload_stack* st)
{
  struct anyload_stack_info in;

  anyload_stack_info(st, &in);
  CHECK(in.sockets, ==, 0);
  CHECK(in.tcp_sockets, ==, 0);
  CHECK(in.tcp_connections, ==, 0);
  CHECK(in.tcp_listening, ==, 0);
  CHECK(in.tcp_time_wait, ==, 0);
  CHECK(in.tcp_buf_bytes, ==, 0);
  CHECK(in.pkt_tx_ring, ==, 0);
  CHECK(in.pkt_sock_rxq, ==, 0);
  CHECK(in.pkt_neigh_wait, ==, 0);
  CHECK(in.pkt_free + in.pkt_rx_ring, ==, in.pkt_total);
  CHECK(in.timers, ==, 0);
  CHECK(in.filters, ==, !!(st->cfg.flags & ANYLOAD_STACK_F_RX_FRAGMENTS) +
                        !!(st->cfg.flags & ANYLOAD_STACK_F_RX_ICMP));
}

/* tw_close: every socket must be closed and every connection over. */
static __attribute__((unused)) void tw_close(struct tw* w)
{
  int k;

  tw_run(w, 1 * TW_MS);
  for (k = 0; k < 2; k++) {
    if (!w->st[k])
      continue;
    tw_check_idle(w->st[k]);
    anyload_stack_destroy(w->st[k]);
  }
  if (w->raw)
    tw_raw_close(w->raw);
  CHECK(anyload_sim_link_destroy(w->ifn[0]), ==, 0);
}

/* ---- addresses, counters ---------------------------------------------- */

#define tw_sin sim_sin

static __attribute__((unused)) uint64_t tw_stat(struct anyload_stack* st, const char* name)
{
  CHECK(anyload_stack_stat_index(name), >=, 0);
  return anyload_stack_stat(st, name);
}

static __attribute__((unused)) uint64_t tw_sstat(struct anyload_stack* st, int sd, const char* name)
{
  uint64_t v[64];
  unsigned k;

  CHECK(anyload_tcp_stats(st, sd, v, 64), ==, (int)anyload_tcp_stat_count());
  for (k = 0; k < anyload_tcp_stat_count(); k++)
    if (strcmp(anyload_tcp_stat_name(k), name) == 0)
      return v[k];
  UNIT_FAIL("no TCP socket counter %s", name);
  return 0;
}

static __attribute__((unused)) int tw_listen(struct anyload_stack* st, uint16_t port, int backlog)
{
  struct sockaddr_in a = tw_sin("0.0.0.0", port);
  int one = 1, sd = anyload_tcp_open(st);

  CHECK(sd, >=, 0);
  CHECK(anyload_tcp_setsockopt(st, sd, SOL_SOCKET, SO_REUSEADDR, &one,
                               sizeof(one), tw_now()), ==, 0);
  CHECK(anyload_tcp_bind(st, sd, &a, sizeof(a)), ==, 0);
  CHECK(anyload_tcp_listen(st, sd, backlog), ==, 0);
  return sd;
}

static __attribute__((unused)) ssize_t tw_send(struct anyload_stack* st, int sd, const void* buf,
                       size_t len)
{
  struct iovec iov = { (void*)buf, len };

  return anyload_tcp_send(st, sd, &iov, 1, 0, tw_now());
}

static __attribute__((unused)) ssize_t tw_recv(struct anyload_stack* st, int sd, void* buf,
                       size_t len)
{
  struct iovec iov = { buf, len };

  return anyload_tcp_recv(st, sd, &iov, 1, 0, tw_now());
}

/* tw_connect_to: a connection from A to B's listener ls on port; sets
 * *ca (A's socket), *cb (B's accepted socket). */
static __attribute__((unused)) void tw_connect_to(struct tw* w, int ls, uint16_t port, int* ca,
                          int* cb)
{
  struct sockaddr_in b = tw_sin(TW_IP_B, port);

  *ca = anyload_tcp_open(w->st[0]);
  CHECK(*ca, >=, 0);
  CHECK(anyload_tcp_connect(w->st[0], *ca, &b, sizeof(b), tw_now()), ==,
        -EINPROGRESS);
  /* Until both ends are up (a lossy link may lose the handshake). */
  {
    int64_t end = tw_now() + 30 * TW_SEC;
    while (anyload_tcp_state(w->st[0], *ca) != TCP_ESTABLISHED ||
           !(anyload_tcp_poll(w->st[1], ls) & POLLIN))
      CHECK(tw_step(w, end), ==, 1);
  }
  CHECK(anyload_tcp_state(w->st[0], *ca), ==, TCP_ESTABLISHED);
  *cb = anyload_tcp_accept(w->st[1], ls, NULL, tw_now());
  CHECK(*cb, >=, 0);
  CHECK(anyload_tcp_state(w->st[1], *cb), ==, TCP_ESTABLISHED);
}

/* tw_connect_pair: a listener of B's on port, and a connection to it. */
static __attribute__((unused)) void tw_connect_pair(struct tw* w, uint16_t port, int* ls, int* ca,
                            int* cb)
{
  *ls = tw_listen(w->st[1], port, 16);
  tw_connect_to(w, *ls, port, ca, cb);
}

/* ---- streams ---------------------------------------------------------- */

static __attribute__((unused)) uint64_t tw_word(uint64_t block, uint64_t seed)
{
  uint64_t x = block * 0x9e3779b97f4a7c15ull + seed;

  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return x;
}

/* tw_byte: the stream's byte at offset off: byte off % 8 of the word of
 * its 8-byte block. */
static __attribute__((unused)) uint8_t tw_byte(uint64_t off, uint64_t seed)
{
  return (uint8_t)(tw_word(off >> 3, seed) >> (8 * (off & 7)));
}

static __attribute__((unused)) void tw_fill(uint8_t* buf, size_t len,
                                            uint64_t off, uint64_t seed)
{
  size_t k = 0;

  /* Byte by byte to a block boundary, then a word per 8 bytes. */
  for (; k < len && ((off + k) & 7); k++)
    buf[k] = tw_byte(off + k, seed);
  for (; k + 8 <= len; k += 8) {
    uint64_t x = tw_word((off + k) >> 3, seed);
    unsigned j;
    for (j = 0; j < 8; j++)
      buf[k + j] = (uint8_t)(x >> (8 * j));
  }
  for (; k < len; k++)
    buf[k] = tw_byte(off + k, seed);
}

/* tw_check: 1 if buf holds the stream's bytes at off. */
static __attribute__((unused)) int tw_check(const uint8_t* buf, size_t len,
                                            uint64_t off, uint64_t seed)
{
  uint8_t tmp[4096];
  size_t k;

  for (k = 0; k < len; k += sizeof(tmp)) {
    size_t n = len - k < sizeof(tmp) ? len - k : sizeof(tmp);
    tw_fill(tmp, n, off + k, seed);
    if (memcmp(tmp, buf + k, n))
      return 0;
  }
  return 1;
}

/* ---- the peer's segments ---------------------------------------------- */

/* A segment from the peer (B, raw) to A. */
struct tw_seg {
  uint16_t sport, dport;        /* host order */
  uint32_t seq, ack;
  uint8_t  flags;
  uint16_t win;
  uint16_t mss;                 /* options: 0 = absent */
  int      ws;                  /* -1 absent */
  int      sack_ok;
  int      ts;                  /* with timestamps */
  uint32_t tsval, tsecr;
  unsigned nsack;
  uint32_t sack[4][2];
  const void* data;
  unsigned len;
};

static __attribute__((unused)) struct tw_seg tw_seg_init(uint16_t sport, uint16_t dport)
{
  struct tw_seg s;

  memset(&s, 0, sizeof(s));
  s.sport = sport;
  s.dport = dport;
  s.ws = -1;
  s.win = 65535;
  return s;
}

/* tw_syn_full: a SYN from sport to dport at seq with every option: MSS
 * mss, window scale ws, SACK permitted, timestamps with TSval tsval. */
static __attribute__((unused)) struct tw_seg tw_syn_full(
  uint16_t sport, uint16_t dport, uint32_t seq, uint16_t mss, int ws,
  uint32_t tsval)
{
  struct tw_seg s = tw_seg_init(sport, dport);

  s.flags = ST_TCP_SYN;
  s.seq = seq;
  s.mss = mss;
  s.ws = ws;
  s.sack_ok = 1;
  s.ts = 1;
  s.tsval = tsval;
  return s;
}

/* tw_peer_frag_headers: Ethernet and IPv4 headers (B to A, TTL 64, id)
 * at f for len bytes of protocol proto, DF if df, at fragment offset
 * frag_off (bytes) with MF if mf; returns where those bytes go. */
static __attribute__((unused)) uint8_t* tw_peer_frag_headers(
  uint8_t* f, uint8_t proto, unsigned len, uint16_t id, int df,
  unsigned frag_off, int mf)
{
  struct st_eth_repr eth;
  struct st_ipv4_repr ip;

  memcpy(eth.dst, tw_mac_a, 6);
  memcpy(eth.src, tw_mac_b, 6);
  eth.type = ST_ETHERTYPE_IPV4;
  f = st_eth_build(f, &eth);
  memset(&ip, 0, sizeof(ip));
  ip.src_be32 = inet_addr(TW_IP_B);
  ip.dst_be32 = inet_addr(TW_IP_A);
  ip.tot_len = (uint16_t)(ST_IPV4_HLEN + len);
  ip.id = id;
  ip.ttl = 64;
  ip.proto = proto;
  ip.df = (uint8_t)df;
  ip.frag_off = (uint16_t)frag_off;
  ip.mf = (uint8_t)mf;
  return st_ipv4_build(f, &ip);
}

/* tw_peer_headers: the same for a whole datagram of l4len bytes. */
static __attribute__((unused)) uint8_t* tw_peer_headers(uint8_t* f,
                                                        uint8_t proto,
                                                        unsigned l4len,
                                                        uint16_t id, int df)
{
  return tw_peer_frag_headers(f, proto, l4len, id, df, 0, 0);
}

/* tw_seg_build: s as a TCP segment (header, options, data, checksum)
 * at th; returns its length. */
static __attribute__((unused)) unsigned tw_seg_build(const struct tw_seg* s,
                                                     uint8_t* th)
{
  struct st_tcp_repr h;
  uint8_t* p;
  unsigned tlen, j;

  memset(&h, 0, sizeof(h));
  h.sport_be16 = htons(s->sport);
  h.dport_be16 = htons(s->dport);
  h.seq = s->seq;
  h.ack = s->ack;
  h.flags = s->flags;
  h.win = s->win;
  h.mss = s->mss;
  h.ws_ok = s->ws >= 0;
  h.ws = (uint8_t)(s->ws >= 0 ? s->ws : 0);
  h.sack_ok = (uint8_t)s->sack_ok;
  h.ts_ok = (uint8_t)s->ts;
  h.tsval = s->tsval;
  h.tsecr = s->tsecr;
  h.nsack = (uint8_t)s->nsack;
  for (j = 0; j < s->nsack; j++) {
    h.sack[j][0] = s->sack[j][0];
    h.sack[j][1] = s->sack[j][1];
  }
  tlen = ST_TCP_HLEN + st_tcp_opts_len(&h) + s->len;
  p = st_tcp_build(th, &h);
  if (s->len)
    memcpy(p, s->data, s->len);
  st_tcp_csum_store(th, st_csum_acc(st_tcp_csum_start(inet_addr(TW_IP_B),
                                                      inet_addr(TW_IP_A),
                                                      (uint16_t)tlen),
                                    th, tlen));
  return tlen;
}

/* tw_peer_queue: the peer sends s; it reaches A's VI (a perfect link
 * steers it at once) but no stack is polled. */
static __attribute__((unused)) void tw_peer_queue(struct tw* w, const struct tw_seg* s)
{
  static uint8_t seg[65536];
  unsigned b, tlen;
  uint8_t* f = sim_raw_tx_buf(w->raw, &b);

  CHECK(s->len, <=, 65535 - ST_IPV4_HLEN - 60);
  tlen = tw_seg_build(s, seg);
  CHECK(tlen, <=, SIM_RAW_BUF - ST_ETH_HLEN - ST_IPV4_HLEN);
  memcpy(tw_peer_headers(f, ST_IPPROTO_TCP, tlen, w->ip_id++, 1), seg, tlen);
  sim_raw_tx(w->raw, b, ST_ETH_HLEN + ST_IPV4_HLEN + tlen);
}

/* tw_peer_send_frags: the peer sends s as a router with a small MTU
 * would pass it on from a sender without path MTU discovery: in IPv4
 * fragments (DF clear, one identification) carrying fsize bytes of the
 * segment each (a multiple of 8; the last carries the rest). order lists
 * the fragments to send by index, in sending order (a fragment may be
 * left out or repeated); NULL sends them all in order. flip >= 0 flips
 * the bits of the segment's byte at that offset after the checksum.
 * Every stack polls afterwards. Returns the number of fragments. */
static __attribute__((unused)) unsigned tw_peer_send_frags(
  struct tw* w, const struct tw_seg* s, unsigned fsize, const int* order,
  unsigned n_order, int flip)
{
  static uint8_t seg[65536];
  unsigned tlen, n, k;
  uint16_t id = w->ip_id++;

  CHECK(s->len, <=, 65535 - ST_IPV4_HLEN - 60);
  tlen = tw_seg_build(s, seg);
  n = (tlen + fsize - 1) / fsize;
  CHECK(fsize % 8, ==, 0);
  CHECK(fsize, <=, SIM_RAW_BUF - ST_ETH_HLEN - ST_IPV4_HLEN);
  if (flip >= 0)
    seg[flip] ^= 0xff;
  if (!order)
    n_order = n;
  for (k = 0; k < n_order; k++) {
    unsigned i = order ? (unsigned)order[k] : k, b, off = i * fsize;
    unsigned len = tlen - off < fsize ? tlen - off : fsize;
    uint8_t* f = sim_raw_tx_buf(w->raw, &b);

    CHECK(i, <, n);
    memcpy(tw_peer_frag_headers(f, ST_IPPROTO_TCP, len, id, 0, off,
                                i + 1 < n), seg + off, len);
    sim_raw_tx(w->raw, b, ST_ETH_HLEN + ST_IPV4_HLEN + len);
  }
  tw_poll_all(w);
  return n;
}

/* tw_peer_send: the peer sends s, and every stack takes it. */
static __attribute__((unused)) void tw_peer_send(struct tw* w, const struct tw_seg* s)
{
  tw_peer_queue(w, s);
  tw_poll_all(w);
}

/* A segment the stack sent, as the peer received it. */
struct tw_got {
  struct st_tcp_repr h;
  uint16_t sport, dport;
  unsigned len;
  uint8_t  data[SIM_RAW_BUF];
  uint8_t  df;
};

/* tw_peer_next: the next TCP segment the peer received (checksums
 * verified), or 0 if none is waiting. */
static __attribute__((unused)) int tw_peer_next(struct tw* w, struct tw_got* g)
{
  struct sim_raw* r = w->raw;

  tw_poll_all(w);
  while (r->rd < r->n_cap) {
    const uint8_t* f = r->cap[r->rd];
    unsigned flen = r->cap_len[r->rd];
    struct st_eth_repr eth;
    struct st_ipv4_repr ip;
    r->rd++;
    if (st_eth_parse(f, flen, &eth) < 0 || eth.type != ST_ETHERTYPE_IPV4)
      continue;
    CHECK(st_ipv4_parse(f + ST_ETH_HLEN, flen - ST_ETH_HLEN, &ip, 0), ==,
          ST_IPV4_OK);
    if (ip.proto != ST_IPPROTO_TCP)
      continue;
    CHECK(st_tcp_csum_ok(ip.src_be32, ip.dst_be32, f + ST_ETH_HLEN + ip.hlen,
                         (uint16_t)(ip.tot_len - ip.hlen)), ==, 1);
    CHECK(st_tcp_parse(f + ST_ETH_HLEN + ip.hlen, ip.tot_len - ip.hlen,
                       &g->h), ==, ST_TCP_OK);
    CHECK(g->h.opt_malformed, ==, 0);
    g->sport = ntohs(g->h.sport_be16);
    g->dport = ntohs(g->h.dport_be16);
    g->len = ip.tot_len - ip.hlen - g->h.hlen;
    memcpy(g->data, f + ST_ETH_HLEN + ip.hlen + g->h.hlen, g->len);
    g->df = ip.df;
    return 1;
  }
  return 0;
}

/* tw_peer_expect: the next segment must exist and have these flags (a
 * macro, so that a failure names the test's line). */
#define tw_peer_expect(w, g, fl) do {                                    \
    CHECK(tw_peer_next((w), (g)), ==, 1);                                \
    CHECK((unsigned)(g)->h.flags, ==, (unsigned)(fl));                   \
  } while (0)

/* tw_peer_none: nothing more was sent. */
#define tw_peer_none(w) do {                                             \
    struct tw_got g_none_;                                               \
    CHECK(tw_peer_next((w), &g_none_), ==, 0);                           \
  } while (0)

/* ---- an established active connection ---------------------------------- */

/* An established connection A -> peer:80 (no options, MSS 1000); the
 * peer's ISN is 5000. a_nxt / p_nxt: the next sequence of A / the peer. */
struct tw_conn {
  int      sd;
  uint16_t lport;
  uint32_t a_nxt, p_nxt;
};

/* tw_establish: c connects from A's stack to the raw peer, which answers
 * the SYN with a SYN-ACK (MSS 1000) after rtt of virtual time (0: at
 * once); A's ACK is checked. */
static __attribute__((unused)) void tw_establish(struct tw* w,
                                                 struct tw_conn* c,
                                                 int64_t rtt)
{
  struct anyload_stack* a = w->st[0];
  struct sockaddr_in b = tw_sin(TW_IP_B, 80), name;
  socklen_t len = sizeof(name);
  struct tw_got g;
  struct tw_seg s;

  memset(c, 0, sizeof(*c));
  c->sd = anyload_tcp_open(a);
  CHECK(c->sd, >=, 0);
  CHECK(anyload_tcp_connect(a, c->sd, &b, sizeof(b), tw_now()), ==,
        -EINPROGRESS);
  CHECK(anyload_tcp_getsockname(a, c->sd, &name, &len), ==, 0);
  c->lport = ntohs(name.sin_port);
  tw_peer_expect(w, &g, ST_TCP_SYN);
  if (rtt > 0)
    tw_run(w, rtt);
  c->a_nxt = g.h.seq + 1;
  c->p_nxt = 5001;
  s = tw_seg_init(80, c->lport);
  s.flags = ST_TCP_SYN | ST_TCP_ACK;
  s.seq = 5000;
  s.ack = c->a_nxt;
  s.mss = 1000;
  tw_peer_send(w, &s);
  tw_peer_expect(w, &g, ST_TCP_ACK);
  CHECK(anyload_tcp_state(a, c->sd), ==, TCP_ESTABLISHED);
}

/* tw_abort_sd: close A's socket sd abortively (SO_LINGER {1, 0}); the
 * raw peer gets the RST. */
static __attribute__((unused)) void tw_abort_sd(struct tw* w, int sd)
{
  struct tw_got g;

  CHECK(anyload_tcp_setsockopt(w->st[0], sd, SOL_SOCKET, SO_LINGER,
                               &(struct linger){ 1, 0 },
                               sizeof(struct linger), tw_now()), ==, 0);
  CHECK(anyload_tcp_close(w->st[0], sd, tw_now()), ==, 0);
  tw_peer_expect(w, &g, ST_TCP_RST | ST_TCP_ACK);
}

/* tw_abort: close c abortively; the peer gets the RST. */
static __attribute__((unused)) void tw_abort(struct tw* w, struct tw_conn* c)
{
  tw_abort_sd(w, c->sd);
}

#endif /* ANYLOAD_TESTS_TCP_SIM_H */
