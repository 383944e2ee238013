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

#include "stack/tcp_int.h"
#include "stack/wire/tcp.h"

#include <anyload/sim.h>
#include <anyload/stack.h>
#include <arpa/inet.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>

#define TW_US  1000ll
#define TW_MS  1000000ll
#define TW_SEC 1000000000ll

#define TW_IP_A "198.18.0.1"
#define TW_IP_B "198.18.0.2"

static const uint8_t tw_mac_a[6] = { 0x02, 0, 0, 0, 0x0a, 0x0a };
static const uint8_t tw_mac_b[6] = { 0x02, 0, 0, 0, 0x0b, 0x0b };

/* ---- static environment ----------------------------------------------- */

struct tw_env {
  int      ifindex;
  uint32_t local_be32;
  uint32_t peer_be32;
  uint8_t  peer_mac[6];
};

static __attribute__((unused)) int tw_env_route(void* ctx, uint32_t dst, uint32_t src,
                        struct anyload_route* out)
{
  struct tw_env* e = ctx;

  (void)src;
  memset(out, 0, sizeof(*out));
  out->ifindex = e->ifindex;
  out->src_be32 = e->local_be32;
  out->nexthop_be32 = dst;
  out->type = ANYLOAD_ROUTE_UNICAST;
  if ((ntohl(dst) & 0xffffff00u) != (ntohl(inet_addr("198.18.0.0"))))
    return -ENETUNREACH;
  return 0;
}

static __attribute__((unused)) int tw_env_addr_ifindex(void* ctx, uint32_t ip)
{
  struct tw_env* e = ctx;

  return ip == e->local_be32 ? e->ifindex : -EADDRNOTAVAIL;
}

static __attribute__((unused)) int tw_env_neigh(void* ctx, int ifindex, uint32_t ip, uint8_t mac[6])
{
  struct tw_env* e = ctx;

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
#define TW_RAW_BUF  2048
#define TW_RAW_CAP  1024

struct tw_raw {
  ef_driver_handle dh;
  ef_pd    pd;
  ef_memreg mr;
  ef_vi    vi;
  uint8_t* mem;
  unsigned next_tx;
  unsigned n_cap, rd;
  unsigned cap_len[TW_RAW_CAP];
  uint8_t  cap[TW_RAW_CAP][TW_RAW_BUF];
};

static __attribute__((unused)) struct tw_raw* tw_raw_open(const char* ifname)
{
  struct tw_raw* r = calloc(1, sizeof(*r));
  unsigned i;

  CHECK_PTR(r, !=, NULL);
  CHECK(ef_driver_open(&r->dh), ==, 0);
  CHECK(ef_pd_alloc_by_name(&r->pd, r->dh, ifname, EF_PD_DEFAULT), ==, 0);
  r->mem = mmap(NULL, 2 * TW_RAW_BUFS * TW_RAW_BUF, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK_PTR(r->mem, !=, MAP_FAILED);
  CHECK(ef_memreg_alloc(&r->mr, r->dh, &r->pd, r->dh, r->mem,
                        2 * TW_RAW_BUFS * TW_RAW_BUF), ==, 0);
  CHECK(ef_vi_alloc_from_pd(&r->vi, r->dh, &r->pd, r->dh, -1, 256, 256, NULL,
                            -1, EF_VI_FLAGS_DEFAULT), >=, 0);
  ef_vi_receive_set_discards(&r->vi, 0);
  for (i = 0; i < TW_RAW_BUFS; i++)
    CHECK(ef_vi_receive_post(&r->vi,
                             ef_memreg_dma_addr(&r->mr, i * TW_RAW_BUF),
                             (ef_request_id)i), ==, 0);
  return r;
}

static __attribute__((unused)) void tw_raw_close(struct tw_raw* r)
{
  CHECK(ef_vi_free(&r->vi, r->dh), ==, 0);
  CHECK(ef_memreg_free(&r->mr, r->dh), ==, 0);
  CHECK(ef_pd_free(&r->pd, r->dh), ==, 0);
  munmap(r->mem, 2 * TW_RAW_BUFS * TW_RAW_BUF);
  CHECK(ef_driver_close(r->dh), ==, 0);
  free(r);
}

static __attribute__((unused)) int tw_raw_poll(struct tw_raw* r)
{
  ef_event evs[16];
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int n, i, total = 0;

  while ((n = ef_eventq_poll(&r->vi, evs, 16)) > 0) {
    total += n;
    for (i = 0; i < n; i++) {
      unsigned t = EF_EVENT_TYPE(evs[i]);
      if (t == EF_EVENT_TYPE_TX || t == EF_EVENT_TYPE_TX_ERROR) {
        ef_vi_transmit_unbundle(&r->vi, &evs[i], ids);
      } else if (t == EF_EVENT_TYPE_RX) {
        unsigned id = (unsigned)EF_EVENT_RX_RQ_ID(evs[i]);
        unsigned len = EF_EVENT_RX_BYTES(evs[i]);
        CHECK(r->n_cap, <, TW_RAW_CAP);
        memcpy(r->cap[r->n_cap], r->mem + id * TW_RAW_BUF, len);
        r->cap_len[r->n_cap++] = len;
        CHECK(ef_vi_receive_post(&r->vi,
                                 ef_memreg_dma_addr(&r->mr, id * TW_RAW_BUF),
                                 (ef_request_id)id), ==, 0);
      }
    }
  }
  return total;
}

/* ---- worlds ----------------------------------------------------------- */

enum { TW_STACK, TW_PEER };

struct tw {
  char     ifn[2][16];
  struct anyload_stack* st[2];
  struct tw_env env[2];
  struct tw_raw* raw;            /* the peer, on B */
  uint16_t ip_id;
};

static __attribute__((unused)) struct anyload_stack_env tw_env_of(struct tw_env* e)
{
  struct anyload_stack_env v;

  memset(&v, 0, sizeof(v));
  v.ctx = e;
  v.route = tw_env_route;
  v.addr_ifindex = tw_env_addr_ifindex;
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
  struct anyload_sim_config c;
  int k;

  memset(w, 0, sizeof(*w));
  CHECK(setenv("ANYLOAD_BACKEND", "sim", 1), ==, 0);
  if (!anyload_sim_clock_is_virtual())
    CHECK(anyload_sim_clock_set(1000 * TW_SEC), ==, 0);
  if (!cfg) {
    anyload_sim_config_init(&c);
    cfg = &c;
  }
  memcpy(cfg->mac_a, tw_mac_a, 6);
  memcpy(cfg->mac_b, tw_mac_b, 6);
  snprintf(w->ifn[0], sizeof(w->ifn[0]), "%sA", name);
  snprintf(w->ifn[1], sizeof(w->ifn[1]), "%sB", name);
  CHECK(anyload_sim_link_create(w->ifn[0], w->ifn[1], cfg), ==, 0);
  for (k = 0; k < 2; k++) {
    struct anyload_stack_config sc;
    struct anyload_stack_env ev;
    struct tw_env* e = &w->env[k];
    if (k == 1 && b_kind == TW_PEER)
      continue;
    if (base)
      sc = *base;
    else
      anyload_stack_config_init(&sc);
    sc.ifname = w->ifn[k];
    if (!sc.n_bufs)
      sc.n_bufs = 2048;
    sc.seed = 12345 + (uint64_t)k;
    e->local_be32 = inet_addr(k == 0 ? TW_IP_A : TW_IP_B);
    e->peer_be32 = inet_addr(k == 0 ? TW_IP_B : TW_IP_A);
    memcpy(e->peer_mac, k == 0 ? tw_mac_b : tw_mac_a, 6);
    ev = tw_env_of(e);
    CHECK(anyload_stack_create(&sc, &ev, &w->st[k]), ==, 0);
    e->ifindex = anyload_stack_ifindex(w->st[k]);
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
      n += tw_raw_poll(w->raw);
    CHECK(++rounds, <, 1000000);
  } while (n);
}

/* tw_step: move to the next event (a frame, a deadline), at most until
 * end, and poll. Returns 0 once end is reached. */
static __attribute__((unused)) int tw_step(struct tw* w, int64_t end)
{
  int64_t t, next;
  int k;

  tw_poll_all(w);
  t = tw_now();
  if (t >= end)
    return 0;
  next = anyload_sim_next_event();
  for (k = 0; k < 2; k++)
    if (w->st[k]) {
      int64_t d = anyload_stack_next_deadline(w->st[k]);
      if (d < next)
        next = d;
    }
  if (next <= t)
    next = t + 1 * TW_US;
  if (next > end)
    next = end;
  CHECK(anyload_sim_clock_advance(next - t), ==, 0);
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

static __attribute__((unused)) struct sockaddr_in tw_sin(const char* ip, uint16_t port)
{
  struct sockaddr_in s;

  memset(&s, 0, sizeof(s));
  s.sin_family = AF_INET;
  s.sin_addr.s_addr = inet_addr(ip);
  s.sin_port = htons(port);
  return s;
}

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

/* tw_connect_pair: a connection from A to B's listener on port; sets
 * *ca (A's socket), *cb (B's accepted socket). */
static __attribute__((unused)) void tw_connect_pair(struct tw* w, uint16_t port, int* ls, int* ca,
                            int* cb)
{
  struct sockaddr_in b = tw_sin(TW_IP_B, port);

  *ls = tw_listen(w->st[1], port, 16);
  *ca = anyload_tcp_open(w->st[0]);
  CHECK(*ca, >=, 0);
  CHECK(anyload_tcp_connect(w->st[0], *ca, &b, sizeof(b), tw_now()), ==,
        -EINPROGRESS);
  /* Until both ends are up (a lossy link may lose the handshake). */
  {
    int64_t end = tw_now() + 30 * TW_SEC;
    while (anyload_tcp_state(w->st[0], *ca) != TCP_ESTABLISHED ||
           !(anyload_tcp_poll(w->st[1], *ls) & POLLIN))
      CHECK(tw_step(w, end), ==, 1);
  }
  CHECK(anyload_tcp_state(w->st[0], *ca), ==, TCP_ESTABLISHED);
  *cb = anyload_tcp_accept(w->st[1], *ls, NULL, tw_now());
  CHECK(*cb, >=, 0);
  CHECK(anyload_tcp_state(w->st[1], *cb), ==, TCP_ESTABLISHED);
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

static __attribute__((unused)) void tw_peer_send(struct tw* w, const struct tw_seg* s)
{
  struct tw_raw* r = w->raw;
  unsigned b = TW_RAW_BUFS + r->next_tx++ % TW_RAW_BUFS;
  uint8_t* f = r->mem + b * TW_RAW_BUF;
  struct st_eth_repr eth;
  struct st_ipv4_repr ip;
  struct st_tcp_repr h;
  uint8_t *p, *th;
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
  memcpy(eth.dst, tw_mac_a, 6);
  memcpy(eth.src, tw_mac_b, 6);
  eth.type = ST_ETHERTYPE_IPV4;
  p = st_eth_build(f, &eth);
  memset(&ip, 0, sizeof(ip));
  ip.src_be32 = inet_addr(TW_IP_B);
  ip.dst_be32 = inet_addr(TW_IP_A);
  ip.tot_len = (uint16_t)(ST_IPV4_HLEN + tlen);
  ip.id = w->ip_id++;
  ip.ttl = 64;
  ip.proto = ST_IPPROTO_TCP;
  ip.df = 1;
  th = st_ipv4_build(p, &ip);
  p = st_tcp_build(th, &h);
  if (s->len)
    memcpy(p, s->data, s->len);
  st_tcp_csum_store(th, st_csum_acc(st_tcp_csum_start(ip.src_be32,
                                                      ip.dst_be32,
                                                      (uint16_t)tlen),
                                    th, tlen));
  CHECK(ef_vi_transmit(&r->vi, ef_memreg_dma_addr(&r->mr, b * TW_RAW_BUF),
                       (int)(ST_ETH_HLEN + ST_IPV4_HLEN + tlen),
                       (ef_request_id)b), ==, 0);
  tw_poll_all(w);
}

/* A segment the stack sent, as the peer received it. */
struct tw_got {
  struct st_tcp_repr h;
  uint16_t sport, dport;
  unsigned len;
  uint8_t  data[TW_RAW_BUF];
  uint8_t  df;
};

/* tw_peer_next: the next TCP segment the peer received (checksums
 * verified), or 0 if none is waiting. */
static __attribute__((unused)) int tw_peer_next(struct tw* w, struct tw_got* g)
{
  struct tw_raw* r = w->raw;

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

#endif /* ANYLOAD_TESTS_TCP_SIM_H */
