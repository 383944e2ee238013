/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the stack's UDP (stack/udp_rx.c, udp_tx.c, sock.c,
 * arp.c, icmp.c, stack.c) on two stacks joined by a simulated link
 * (anyload/sim.h) on the virtual clock, each with a static environment
 * (routes and neighbours from a table, joins recorded). A raw VI with no
 * filters on either end stands in for that host's kernel: it receives
 * what the stack's filters don't claim and injects hand-made frames.
 *
 * Checks: unconnected and connected exchange both ways, ephemeral ports,
 * a route through a gateway, -EXDEV for a route that is not ours, recv
 * flags (MSG_PEEK, MSG_TRUNC), SO_RCVBUF drops counted, zero checksums
 * accepted, bad checksums counted, large datagrams fragmented and
 * reassembled under the link's loss mask, reordering and duplication
 * with a seed, ICMP port unreachable delivered as ECONNREFUSED to a
 * connected socket and only counted for an unconnected one, time exceeded
 * as a soft error, fragmentation needed lowering the path MTU, waiting
 * for a next hop's MAC then sending, timing out into EHOSTUNREACH, queue
 * limits, multicast with joins, source filters and loopback, broadcast
 * and SO_BROADCAST, options on the wire (TTL, TOS, DF, multicast TTL,
 * MAC and source), the VI's checksum discards counted
 * (ANYLOAD_STACK_F_VI_CSUM), the wait fd readable when a frame arrives,
 * and at every teardown: buffers back in the pool, no timer armed, no
 * filter left but the stack's own.
 */
#include "unit_test.h"
#include "sim_world.h"
#include "stack/stack_int.h"
#include "stack/wire/icmp.h"
#include "stack/wire/udp.h"

#include <arpa/inet.h>
#include <poll.h>

#define US  1000ll
#define MS  1000000ll
#define SEC 1000000000ll

#define IP_A SIM_IP_A
#define IP_B SIM_IP_B

/* ---- a static environment ---------------------------------------------- */

enum { NEIGH_OK, NEIGH_WAIT, NEIGH_FAIL };

struct senv {
  struct sim_env a;             /* first: ctx for sim_env_addr_ifindex */
  int      neigh_mode;
  uint64_t gen;
  unsigned resolves;
  unsigned processes;           /* env->process calls */
  int      process_ret;         /* what they return */
  unsigned joins, leaves;
  uint32_t last_group, last_source;
};

static int in_net(uint32_t a_be32, const char* net24)
{
  return (ntohl(a_be32) & 0xffffff00u) == ntohl(inet_addr(net24));
}

/* Routes: 198.18.0.0/24 on-link, 198.19.0.0/24 through the peer,
 * 198.19.255.0/24 through another interface (-EXDEV), multicast and
 * broadcast on-link, anything else unreachable. */
static int senv_route(void* ctx, uint32_t dst, uint32_t src,
                      struct anyload_route* out)
{
  struct senv* e = ctx;

  (void)src;
  sim_route_unicast(&e->a, dst, out);
  if (in_net(dst, "198.19.255.0"))
    return -EXDEV;
  if (in_net(dst, "198.19.0.0")) {
    out->nexthop_be32 = e->a.peer_be32;
    return 0;
  }
  if (st_ipv4_is_mcast(dst)) {
    out->type = ANYLOAD_ROUTE_MULTICAST;
    return 0;
  }
  if (st_ipv4_is_bcast(dst) || dst == inet_addr("198.18.0.255")) {
    out->type = ANYLOAD_ROUTE_BROADCAST;
    return 0;
  }
  if (in_net(dst, "198.18.0.0"))
    return 0;
  return -ENETUNREACH;
}

static int senv_neigh(void* ctx, int ifindex, uint32_t ip, uint8_t mac[6])
{
  struct senv* e = ctx;

  CHECK(ifindex, ==, e->a.ifindex);
  if (e->neigh_mode == NEIGH_WAIT)
    return -EAGAIN;
  if (e->neigh_mode == NEIGH_FAIL || ip != e->a.peer_be32)
    return -EHOSTUNREACH;
  memcpy(mac, e->a.peer_mac, 6);
  return 0;
}

static int senv_resolve(void* ctx, int ifindex, uint32_t ip)
{
  struct senv* e = ctx;

  (void)ifindex;
  (void)ip;
  e->resolves++;
  return 0;
}

static int senv_join(void* ctx, int ifindex, uint32_t group, uint32_t source,
                     int join)
{
  struct senv* e = ctx;

  CHECK(ifindex, ==, e->a.ifindex);
  if (join)
    e->joins++;
  else
    e->leaves++;
  e->last_group = group;
  e->last_source = source;
  return 0;
}

static uint64_t senv_gen(void* ctx)
{
  return ((struct senv*)ctx)->gen;
}

static int senv_process(void* ctx, int64_t now_ns)
{
  struct senv* e = ctx;

  (void)now_ns;
  e->processes++;
  return e->process_ret;
}

/* ---- a raw VI: the "kernel" of one end (sim_world.h) --------------- */

/* raw_open: 64 buffers each way, up to 256 frames captured (then no
 * more). */
static struct sim_raw* raw_open(const char* ifname)
{
  return sim_raw_open(ifname, 64, 256, 0);
}

/* ---- two stacks on a link ---------------------------------------------- */

struct world {
  char     ifn[2][16];
  struct anyload_stack* st[2];
  struct senv env[2];
  struct sim_raw* raw[2];
};

static struct anyload_stack_env env_of(struct senv* e)
{
  struct anyload_stack_env v;

  memset(&v, 0, sizeof(v));
  v.ctx = e;
  v.route = senv_route;
  v.addr_ifindex = sim_env_addr_ifindex;
  v.neigh = senv_neigh;
  v.neigh_resolve = senv_resolve;
  v.mcast_join = senv_join;
  v.generation = senv_gen;
  v.process = senv_process;
  return v;
}

/* world_open: link <name>A-<name>B with cfg (NULL: perfect), stack A on
 * the A end with flags fa, stack B with fb (fb = -1: no stack on B), and
 * raw VIs on the ends where raw_a / raw_b. */
static void world_open_cfg(struct world* w, const char* name,
                           struct anyload_sim_config* cfg, unsigned fa,
                           int fb, int raw_a, int raw_b,
                           const struct anyload_stack_config* base)
{
  int k;

  memset(w, 0, sizeof(*w));
  sim_link_open(w->ifn, name, cfg);
  for (k = 0; k < 2; k++) {
    struct anyload_stack_config sc;
    struct anyload_stack_env ev;
    struct senv* e = &w->env[k];
    if (k == 1 && fb < 0)
      continue;
    sc = sim_config_of(base);
    sc.flags = k == 0 ? fa : (unsigned)fb;
    sc.n_bufs = 2048;
    sc.seed = 12345;
    sim_env_init(&e->a, k);
    ev = env_of(e);
    w->st[k] = sim_stack_open(&sc, w->ifn[k], &ev, &e->a);
  }
  if (raw_a)
    w->raw[0] = raw_open(w->ifn[0]);
  if (raw_b)
    w->raw[1] = raw_open(w->ifn[1]);
}

static void world_open(struct world* w, const char* name,
                       struct anyload_sim_config* cfg, unsigned fa, int fb,
                       int raw_a, int raw_b)
{
  world_open_cfg(w, name, cfg, fa, fb, raw_a, raw_b, NULL);
}

static int64_t now(void)
{
  return anyload_sim_clock_now();
}

/* poll_all: poll everything until nothing happens at this time. */
static void poll_all(struct world* w)
{
  int k, n, rounds = 0;

  do {
    n = 0;
    for (k = 0; k < 2; k++) {
      if (w->st[k])
        n += anyload_stack_poll(w->st[k], now(), 0);
      if (w->raw[k])
        n += sim_raw_poll(w->raw[k]);
    }
    CHECK(++rounds, <, 100000);
  } while (n);
}

/* run: let dt of virtual time pass, event by event. */
static void run(struct world* w, int64_t dt)
{
  int64_t end = now() + dt;

  for (;;) {
    int64_t t;
    poll_all(w);
    t = now();
    if (t >= end)
      break;
    sim_advance(w->st, t, end);
  }
}

/* world_close: every socket must be closed; wait for the transmits,
 * check that nothing leaked, and free everything. */
static void world_close(struct world* w)
{
  int k;

  run(w, 1 * MS);
  for (k = 0; k < 2; k++) {
    struct anyload_stack_info in;
    if (!w->st[k])
      continue;
    anyload_stack_info(w->st[k], &in);
    CHECK(in.sockets, ==, 0);
    CHECK(in.pkt_tx_ring, ==, 0);
    CHECK(in.pkt_sock_rxq, ==, 0);
    CHECK(in.pkt_reasm, ==, 0);
    CHECK(in.pkt_neigh_wait, ==, 0);
    CHECK(in.pkt_free + in.pkt_rx_ring, ==, in.pkt_total);
    CHECK(in.timers, ==, 0);
    CHECK(in.reasm_datagrams, ==, 0);
    CHECK(in.neigh_waits, ==, 0);
    CHECK(in.filters, ==,
          !!(w->st[k]->cfg.flags & ANYLOAD_STACK_F_RX_FRAGMENTS) +
          !!(w->st[k]->cfg.flags & ANYLOAD_STACK_F_RX_ICMP));
    anyload_stack_destroy(w->st[k]);
  }
  for (k = 0; k < 2; k++)
    if (w->raw[k])
      sim_raw_close(w->raw[k]);
  CHECK(anyload_sim_link_destroy(w->ifn[0]), ==, 0);
}

#define sin_of sim_sin

static int udp_bound(struct anyload_stack* st, const char* ip, uint16_t port)
{
  struct sockaddr_in a = sin_of(ip, port);
  int sd = anyload_udp_open(st);

  CHECK(sd, >=, 0);
  CHECK(anyload_udp_bind(st, sd, &a, sizeof(a)), ==, 0);
  return sd;
}

static ssize_t send_str(struct anyload_stack* st, int sd, const char* ip,
                        uint16_t port, const char* msg)
{
  struct sockaddr_in a = sin_of(ip ? ip : "0.0.0.0", port);

  return anyload_udp_sendto(st, sd, msg, strlen(msg), 0, ip ? &a : NULL,
                            now());
}

/* recv_str: the next datagram as a string (or a negative errno as "E<n>"),
 * and its sender. */
static const char* recv_str(struct anyload_stack* st, int sd,
                            struct sockaddr_in* from)
{
  static char buf[2048];
  int flags = 0;
  ssize_t n = anyload_udp_recvfrom(st, sd, buf, sizeof(buf) - 1, &flags,
                                   from);

  if (n < 0)
    snprintf(buf, sizeof(buf), "E%d", (int)-n);
  else
    buf[n] = '\0';
  return buf;
}

static uint64_t stat(struct anyload_stack* st, const char* name)
{
  CHECK(anyload_stack_stat_index(name), >=, 0);
  return anyload_stack_stat(st, name);
}

static uint64_t sstat(struct anyload_stack* st, int sd, const char* name)
{
  uint64_t v[64];
  unsigned k;

  CHECK(anyload_udp_stats(st, sd, v, 64), ==, (int)anyload_udp_stat_count());
  for (k = 0; k < anyload_udp_stat_count(); k++)
    if (strcmp(anyload_udp_stat_name(k), name) == 0)
      return v[k];
  UNIT_FAIL("no socket counter %s", name);
  return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_udp_sim_exchange(void)
{
  struct world w;
  struct anyload_stack *a, *b;
  struct sockaddr_in from, name;
  socklen_t len = sizeof(name);
  int sa, sa2, sb;
  char big[3000];
  struct iovec iov[2];
  int flags;

  world_open(&w, "ex", NULL, 0, 0, 0, 0);
  a = w.st[0];
  b = w.st[1];
  sb = udp_bound(b, "0.0.0.0", 9000);
  sa = anyload_udp_open(a);
  CHECK(sa, >=, 0);

  /* A -> B from an ephemeral port, then B answers to where it came from. */
  CHECK(send_str(a, sa, IP_B, 9000, "hello B"), ==, 7);
  CHECK(anyload_udp_getsockname(a, sa, &name, &len), ==, 0);
  CHECK(ntohs(name.sin_port), >=, 32768);
  CHECK(ntohs(name.sin_port), <=, 60999);
  CHECK(anyload_udp_poll(b, sb), ==, POLLOUT);
  run(&w, 1 * MS);
  CHECK(anyload_udp_poll(b, sb), ==, POLLIN | POLLOUT);
  CHECK_STR(recv_str(b, sb, &from), ==, "hello B");
  CHECK(from.sin_addr.s_addr, ==, inet_addr(IP_A));
  CHECK(from.sin_port, ==, name.sin_port);
  CHECK(anyload_udp_sendto(b, sb, "hello A", 7, 0, &from, now()), ==, 7);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(a, sa, &from), ==, "hello A");
  CHECK(from.sin_addr.s_addr, ==, inet_addr(IP_B));
  CHECK(ntohs(from.sin_port), ==, 9000);
  CHECK_STR(recv_str(a, sa, &from), ==, "E11");      /* EAGAIN */

  /* A second ephemeral socket gets another port. */
  sa2 = anyload_udp_open(a);
  CHECK(send_str(a, sa2, IP_B, 9000, "two"), ==, 3);
  len = sizeof(from);
  CHECK(anyload_udp_getsockname(a, sa2, &from, &len), ==, 0);
  CHECK(from.sin_port, !=, name.sin_port);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, sb, NULL), ==, "two");

  /* Through a gateway: 198.19.0.1 goes to B's MAC. B's wildcard filter
   * claims it (the filter is on any address), and B, a host that does not
   * forward, drops it as not addressed to it. */
  CHECK(send_str(a, sa, "198.19.0.1", 9000, "via gw"), ==, 6);
  run(&w, 1 * MS);
  CHECK(stat(b, "rx_drop_ip_dst"), ==, 1);
  CHECK_STR(recv_str(b, sb, NULL), ==, "E11");      /* EAGAIN */
  /* Not through our interface: the kernel's datagram. */
  CHECK(send_str(a, sa, "198.19.255.1", 9000, "x"), ==, -EXDEV);
  CHECK(stat(a, "tx_not_accel"), ==, 1);
  CHECK(send_str(a, sa, "203.0.113.1", 9000, "x"), ==, -ENETUNREACH);

  /* recv flags: MSG_PEEK keeps, MSG_TRUNC reports; iovecs gather. */
  memset(big, 'z', sizeof(big));
  iov[0].iov_base = big;
  iov[0].iov_len = 1000;
  iov[1].iov_base = big + 1000;
  iov[1].iov_len = 400;
  from = sin_of(IP_B, 0);
  CHECK(anyload_udp_sendmsg(a, sa, &from, iov, 2, 0, now()), ==, -EINVAL);
  from = sin_of(IP_B, 9000);
  CHECK(anyload_udp_sendmsg(a, sa, &from, iov, 2, MSG_MORE, now()), ==,
        -EOPNOTSUPP);
  CHECK(anyload_udp_sendmsg(a, sa, &from, iov, 2, MSG_DONTWAIT, now()), ==,
        1400);
  run(&w, 1 * MS);
  flags = MSG_PEEK;
  CHECK(anyload_udp_recvfrom(b, sb, big, 10, &flags, NULL), ==, 10);
  CHECK(flags, ==, MSG_TRUNC);
  flags = MSG_PEEK | MSG_TRUNC;
  CHECK(anyload_udp_recvfrom(b, sb, big, 10, &flags, NULL), ==, 1400);
  flags = 0;
  memset(big, 0, sizeof(big));
  CHECK(anyload_udp_recvfrom(b, sb, big, sizeof(big), &flags, NULL), ==, 1400);
  CHECK(flags, ==, 0);
  CHECK(big[0], ==, 'z');
  CHECK(big[1399], ==, 'z');
  CHECK(big[1400], ==, 0);
  flags = 0;
  CHECK(anyload_udp_recvfrom(b, sb, big, 10, &flags, NULL), ==, -EAGAIN);
  flags = MSG_OOB;
  CHECK(anyload_udp_recvfrom(b, sb, big, 10, &flags, NULL), ==, -EOPNOTSUPP);

  CHECK(sstat(a, sa, "tx_datagrams"), ==, 3);
  CHECK(sstat(b, sb, "rx_datagrams"), ==, 3);
  CHECK(stat(b, "rx_udp_datagrams"), ==, 3);
  CHECK(anyload_udp_close(a, sa), ==, 0);
  CHECK(anyload_udp_close(a, sa), ==, -EBADF);
  CHECK(anyload_udp_close(a, sa2), ==, 0);
  CHECK(anyload_udp_close(b, sb), ==, 0);
  world_close(&w);
}

/* anyload_stack_sync: the frames waiting in B's VI are taken in (and
 * counted) without any other poll, and a second call finds nothing. */
static void test_udp_sim_sync(void)
{
  struct world w;
  struct anyload_stack *a, *b;
  int sa, sb, k;

  world_open(&w, "sy", NULL, 0, 0, 0, 0);
  a = w.st[0];
  b = w.st[1];
  sb = udp_bound(b, "0.0.0.0", 9000);
  sa = anyload_udp_open(a);
  CHECK(sa, >=, 0);
  for (k = 0; k < 5; k++)
    CHECK(send_str(a, sa, IP_B, 9000, "sync"), ==, 4);
  CHECK(anyload_stack_stat(b, "rx_udp_datagrams"), ==, 0);
  CHECK(anyload_stack_sync(b, now()), >=, 5);
  CHECK(anyload_stack_stat(b, "rx_udp_datagrams"), ==, 5);
  CHECK(anyload_stack_sync(b, now()), ==, 0);
  CHECK(anyload_udp_close(a, sa), ==, 0);
  CHECK(anyload_udp_close(b, sb), ==, 0);
  world_close(&w);
}

static void test_udp_sim_connected(void)
{
  struct world w;
  struct anyload_stack *a, *b;
  struct sockaddr_in peer = sin_of(IP_B, 9000), back = sin_of(IP_A, 9001);
  struct sockaddr_in name;
  socklen_t len = sizeof(name);
  int sa, sb, other, k;

  world_open(&w, "co", NULL, 0, 0, 0, 0);
  a = w.st[0];
  b = w.st[1];
  sb = udp_bound(b, IP_B, 9000);
  sa = udp_bound(a, "0.0.0.0", 9001);
  CHECK(anyload_udp_connect(a, sa, &peer, sizeof(peer)), ==, 0);
  CHECK(anyload_udp_getpeername(a, sa, &name, &len), ==, 0);
  CHECK(name.sin_addr.s_addr, ==, peer.sin_addr.s_addr);
  len = sizeof(name);
  CHECK(anyload_udp_getsockname(a, sa, &name, &len), ==, 0);
  CHECK(name.sin_addr.s_addr, ==, inet_addr(IP_A));   /* chosen by connect */
  CHECK(anyload_udp_connect(b, sb, &back, sizeof(back)), ==, 0);
  for (k = 0; k < 5; k++) {
    CHECK(send_str(a, sa, NULL, 0, "ping"), ==, 4);
    run(&w, 1 * MS);
    CHECK_STR(recv_str(b, sb, NULL), ==, "ping");
    CHECK(send_str(b, sb, NULL, 0, "pong"), ==, 4);
    run(&w, 1 * MS);
    CHECK_STR(recv_str(a, sa, NULL), ==, "pong");
  }
  /* Headers were built once per socket and reused. */
  CHECK(stat(a, "tx_hdr_built"), ==, 1);
  CHECK(stat(a, "tx_hdr_cached"), ==, 4);
  /* A generation change rebuilds them. */
  w.env[0].gen++;
  CHECK(send_str(a, sa, NULL, 0, "gen"), ==, 3);
  CHECK(stat(a, "tx_hdr_built"), ==, 2);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, sb, NULL), ==, "gen");

  /* A datagram from another port does not reach the connected socket. */
  other = udp_bound(a, "0.0.0.0", 9002);
  CHECK(send_str(a, other, IP_B, 9000, "stranger"), ==, 8);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, sb, NULL), ==, "E11");
  CHECK(stat(b, "rx_drop_udp_no_sock"), ==, 1);
  /* Disconnected, it does. */
  peer.sin_family = AF_UNSPEC;
  CHECK(anyload_udp_connect(b, sb, &peer, sizeof(peer)), ==, 0);
  len = sizeof(name);
  CHECK(anyload_udp_getpeername(b, sb, &name, &len), ==, -ENOTCONN);
  CHECK(send_str(a, other, IP_B, 9000, "stranger"), ==, 8);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, sb, NULL), ==, "stranger");
  CHECK(send_str(b, sb, NULL, 0, "x"), ==, -EDESTADDRREQ);

  /* Binding rules. */
  {
    struct sockaddr_in any = sin_of("0.0.0.0", 9000);
    struct sockaddr_in other_ip = sin_of("198.18.0.77", 9005);
    int s2 = anyload_udp_open(b);
    CHECK(anyload_udp_bind(b, s2, &any, sizeof(any)), ==, -EADDRINUSE);
    CHECK(anyload_udp_bind(b, s2, &other_ip, sizeof(other_ip)), ==,
          -EADDRNOTAVAIL);
    any.sin_family = AF_INET6;
    CHECK(anyload_udp_bind(b, s2, &any, sizeof(any)), ==, -EAFNOSUPPORT);
    CHECK(anyload_udp_bind(b, s2, &any, 4), ==, -EINVAL);
    CHECK(anyload_udp_bind(b, 999, &any, sizeof(any)), ==, -EBADF);
    CHECK(anyload_udp_close(b, s2), ==, 0);
  }
  CHECK(anyload_udp_close(a, sa), ==, 0);
  CHECK(anyload_udp_close(a, other), ==, 0);
  CHECK(anyload_udp_close(b, sb), ==, 0);
  world_close(&w);
}

static void test_udp_sim_rcvbuf_checksums(void)
{
  struct world w;
  struct anyload_stack *a, *b;
  int sa, sb, v, k;
  socklen_t vl = sizeof(v);
  uint8_t f[128];
  unsigned flen;

  /* A raw VI on A's end injects hand-made frames towards B. */
  world_open(&w, "rc", NULL, 0, 0, 1, 0);
  a = w.st[0];
  b = w.st[1];
  sb = udp_bound(b, "0.0.0.0", 9000);
  sa = udp_bound(a, "0.0.0.0", 9001);
  v = 2048;   /* doubled to 4096: two buffers of 2048 */
  CHECK(anyload_udp_setsockopt(b, sb, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)),
        ==, 0);
  CHECK(anyload_udp_getsockopt(b, sb, SOL_SOCKET, SO_RCVBUF, &v, &vl), ==, 0);
  CHECK(v, ==, 4096);
  for (k = 0; k < 5; k++)
    CHECK(send_str(a, sa, IP_B, 9000, "fill"), ==, 4);
  run(&w, 1 * MS);
  CHECK(stat(b, "rx_drop_rcvbuf"), ==, 3);
  CHECK(sstat(b, sb, "rx_drop_rcvbuf"), ==, 3);
  CHECK_STR(recv_str(b, sb, NULL), ==, "fill");
  CHECK_STR(recv_str(b, sb, NULL), ==, "fill");
  CHECK_STR(recv_str(b, sb, NULL), ==, "E11");

  /* No checksum (SO_NO_CHECK on the sender): accepted and counted. */
  v = 1;
  CHECK(anyload_udp_setsockopt(a, sa, SOL_SOCKET, SO_NO_CHECK, &v, sizeof(v)),
        ==, 0);
  CHECK(send_str(a, sa, IP_B, 9000, "nocheck"), ==, 7);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, sb, NULL), ==, "nocheck");
  CHECK(stat(b, "rx_udp_zero_csum"), ==, 1);

  /* A frame with a wrong UDP checksum, from the raw VI. */
  {
    struct st_ip_out o;
    struct st_udp_repr u;
    uint8_t* pl;
    memset(&o, 0, sizeof(o));
    o.src_be32 = inet_addr(IP_A);
    o.dst_be32 = inet_addr(IP_B);
    memcpy(o.dst_mac, sim_mac_b, 6);
    o.ttl = 64;
    o.proto = ST_IPPROTO_UDP;
    pl = st__ip_build_hdr(a, f, &o, 99, 0, 8 + 5, 0, 0);
    u.sport_be16 = htons(1234);
    u.dport_be16 = htons(9000);
    u.len = 13;
    memcpy(st_udp_build(pl, &u), "hello", 5);
    st_udp_csum_store(pl, st_csum_acc(st_udp_csum_start(o.src_be32,
                                                         o.dst_be32, 13),
                                      pl, 13));
    flen = 34 + 13;
    sim_raw_send(w.raw[0], f, flen);      /* good */
    pl[8] ^= 0x20;                    /* "Hello": the sum no longer holds */
    sim_raw_send(w.raw[0], f, flen);
    run(&w, 1 * MS);
    CHECK_STR(recv_str(b, sb, NULL), ==, "hello");
    CHECK_STR(recv_str(b, sb, NULL), ==, "E11");
    CHECK(stat(b, "rx_drop_udp_csum"), ==, 1);
  }
  CHECK(anyload_udp_close(a, sa), ==, 0);
  CHECK(anyload_udp_close(b, sb), ==, 0);
  world_close(&w);
}

/* The payload of datagram d of test_udp_sim_frag_loss: byte k is
 * (d * 31 + k) & 0xff, with d in the first byte. */
static void frag_payload(uint8_t* p, unsigned len, unsigned d)
{
  unsigned k;

  for (k = 0; k < len; k++)
    p[k] = (uint8_t)(d * 31 + k);
  p[0] = (uint8_t)d;
}

static void test_udp_sim_frag_loss(void)
{
  enum { N = 20, LEN = 4000 };   /* 4008 UDP bytes: 1480 + 1480 + 1048 */
  struct anyload_sim_config cfg;
  /* Frame i of A->B is datagram i / 3, fragment i % 3: frames 4, 10, 11
   * and 30 are lost, so datagrams 1, 3 and 10 cannot complete. */
  static const uint8_t mask[8] = { 0x10, 0x0c, 0x00, 0x40 };
  struct world w;
  struct anyload_stack *a, *b;
  unsigned got[N] = { 0 }, d, total = 0;
  uint8_t buf[LEN + 16], want[LEN];
  int sa, sb, flags;
  ssize_t n;

  anyload_sim_config_init(&cfg);
  cfg.seed = 7;
  cfg.a_to_b.loss_mask = mask;
  cfg.a_to_b.loss_mask_bits = 64;
  cfg.a_to_b.reorder = 0.2;
  cfg.a_to_b.reorder_distance = 2;
  cfg.a_to_b.duplicate = 0.2;
  cfg.a_to_b.latency_ns = 20 * US;
  world_open(&w, "fl", &cfg, 0, ANYLOAD_STACK_F_RX_FRAGMENTS, 0, 0);
  a = w.st[0];
  b = w.st[1];
  sb = udp_bound(b, "0.0.0.0", 9000);
  sa = udp_bound(a, "0.0.0.0", 9001);
  for (d = 0; d < N; d++) {
    frag_payload(buf, LEN, d);
    CHECK(anyload_udp_sendto(a, sa, buf, LEN, 0,
                             &(struct sockaddr_in){ .sin_family = AF_INET,
                               .sin_port = htons(9000),
                               .sin_addr.s_addr = inet_addr(IP_B) },
                             now()), ==, LEN);
    run(&w, 50 * US);
  }
  CHECK(stat(a, "tx_fragmented"), ==, N);
  CHECK(stat(a, "tx_frags"), ==, 3 * N);
  run(&w, 10 * MS);
  for (;;) {
    flags = 0;
    n = anyload_udp_recvfrom(b, sb, buf, sizeof(buf), &flags, NULL);
    if (n == -EAGAIN)
      break;
    CHECK(n, ==, LEN);
    d = buf[0];
    CHECK(d, <, N);
    frag_payload(want, LEN, d);
    CHECK_MEM(buf, want, LEN);
    got[d]++;
    total++;
  }
  for (d = 0; d < N; d++) {
    if (d == 1 || d == 3 || d == 10)
      CHECK(got[d], ==, 0);
    else
      CHECK(got[d], >=, 1);
  }
  /* The link did reorder and duplicate; reassembly saw duplicates. */
  {
    struct anyload_sim_stats ls;
    CHECK(anyload_sim_link_stats(w.ifn[0], &ls, 0), ==, 0);
    CHECK(ls.dropped_mask, ==, 4);
    CHECK(ls.reordered, >, 0);
    CHECK(ls.duplicated, >, 0);
  }
  CHECK(stat(b, "reasm_done"), ==, total);
  CHECK(stat(b, "reasm_drop_dup") + stat(b, "reasm_drop_timeout"), >, 0);
  /* The incomplete ones time out and give their buffers back. */
  CHECK(b->n_reasm, >=, 3);
  run(&w, 31 * SEC);
  CHECK(b->n_reasm, ==, 0);
  CHECK(stat(b, "reasm_drop_timeout"), >=, 3);
  CHECK(anyload_udp_close(a, sa), ==, 0);
  CHECK(anyload_udp_close(b, sb), ==, 0);
  world_close(&w);
}

/* icmp_reply: the frame an ICMP error of type/code (rest: MTU) about the
 * datagram whose IP header starts at quote makes, from B to A. */
static unsigned icmp_reply(uint8_t* f, const uint8_t* quote, uint8_t type,
                           uint8_t code, uint16_t mtu)
{
  struct st_ip_out o;
  struct st_icmp_repr r;
  uint8_t* pl;

  memset(&o, 0, sizeof(o));
  o.src_be32 = inet_addr(IP_B);
  o.dst_be32 = inet_addr(IP_A);
  memcpy(o.dst_mac, sim_mac_a, 6);
  o.ttl = 64;
  o.proto = ST_IPPROTO_ICMP;
  memset(&r, 0, sizeof(r));
  r.type = type;
  r.code = code;
  st_put_be16((uint8_t*)&r.rest_be32 + 2, mtu);
  r.data = quote;
  r.data_len = 28;
  /* The raw VI's frame is built in a stack-independent way: a fake stack
   * only lends its MAC to st__ip_build_hdr. */
  {
    struct anyload_stack fake;
    memset(&fake, 0, sizeof(fake));
    memcpy(fake.mac, sim_mac_b, 6);
    pl = st__ip_build_hdr(&fake, f, &o, 7, 0, 8 + 28, 0, 0);
  }
  st_icmp_build(pl, &r);
  return 34 + 8 + 28;
}

static void test_udp_sim_icmp_errors(void)
{
  struct world w;
  struct anyload_stack* a;
  struct sockaddr_in to = sin_of(IP_B, 7777);
  uint8_t f[256];
  unsigned flen;
  int sc, su, v;
  socklen_t vl = sizeof(v);

  /* No stack on B: its raw VI is B's kernel and sees everything. */
  world_open(&w, "ic", NULL, ANYLOAD_STACK_F_RX_ICMP, -1, 0, 1);
  a = w.st[0];
  sc = udp_bound(a, "0.0.0.0", 9001);
  su = udp_bound(a, "0.0.0.0", 9002);
  CHECK(anyload_udp_connect(a, sc, &to, sizeof(to)), ==, 0);

  /* Connected: port unreachable becomes ECONNREFUSED, once. */
  CHECK(send_str(a, sc, NULL, 0, "anyone?"), ==, 7);
  run(&w, 1 * MS);
  CHECK(w.raw[1]->n_cap, ==, 1);
  flen = icmp_reply(f, w.raw[1]->cap[0] + 14, ST_ICMP_DEST_UNREACH,
                    ST_ICMP_PORT_UNREACH, 0);
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(stat(a, "icmp_err_hard"), ==, 1);
  CHECK(anyload_udp_poll(a, sc), ==, POLLOUT | POLLERR);
  CHECK_STR(recv_str(a, sc, NULL), ==, "E111");      /* ECONNREFUSED */
  CHECK_STR(recv_str(a, sc, NULL), ==, "E11");
  CHECK(anyload_udp_poll(a, sc), ==, POLLOUT);
  /* Again, read through SO_ERROR this time, then by a send. */
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(anyload_udp_getsockopt(a, sc, SOL_SOCKET, SO_ERROR, &v, &vl), ==, 0);
  CHECK(v, ==, ECONNREFUSED);
  CHECK(anyload_udp_getsockopt(a, sc, SOL_SOCKET, SO_ERROR, &v, &vl), ==, 0);
  CHECK(v, ==, 0);
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(send_str(a, sc, NULL, 0, "x"), ==, -ECONNREFUSED);
  CHECK(send_str(a, sc, NULL, 0, "x"), ==, 1);
  CHECK(sstat(a, sc, "icmp_hard"), ==, 3);

  /* Time exceeded is soft: counted on the socket, no error. */
  flen = icmp_reply(f, w.raw[1]->cap[0] + 14, ST_ICMP_TIME_EXCEEDED, 0, 0);
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(sstat(a, sc, "icmp_soft"), ==, 1);
  CHECK(stat(a, "icmp_err_soft"), ==, 1);
  CHECK(anyload_udp_poll(a, sc), ==, POLLOUT);

  /* Unconnected: counted, never an error. */
  w.raw[1]->n_cap = 0;
  CHECK(send_str(a, su, IP_B, 7777, "anyone?"), ==, 7);
  run(&w, 1 * MS);
  CHECK(w.raw[1]->n_cap, >=, 1);
  flen = icmp_reply(f, w.raw[1]->cap[w.raw[1]->n_cap - 1] + 14,
                    ST_ICMP_DEST_UNREACH, ST_ICMP_PORT_UNREACH, 0);
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(stat(a, "icmp_err_unconnected"), ==, 1);
  CHECK(sstat(a, su, "icmp_hard"), ==, 1);
  CHECK(anyload_udp_poll(a, su), ==, POLLOUT);
  CHECK_STR(recv_str(a, su, NULL), ==, "E11");

  /* About a port no socket has, and with a bad checksum. */
  f[34 + 8 + 20 + 1] ^= 1;                  /* the quoted source port */
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(stat(a, "rx_drop_icmp_csum"), ==, 1);
  {
    struct st_icmp_repr r;
    uint8_t* m = f + 34;
    st_put_raw16(m + 2, 0);
    st_put_raw16(m + 2, st_csum_finish(st_csum_acc(0, m, 36)));
    CHECK(st_icmp_parse(m, 36, &r), ==, ST_ICMP_OK);
  }
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(stat(a, "rx_drop_icmp_no_sock"), ==, 1);

  CHECK(anyload_udp_close(a, sc), ==, 0);
  CHECK(anyload_udp_close(a, su), ==, 0);
  world_close(&w);
}

static void test_udp_sim_echo(void)
{
  struct world w;
  uint8_t f[128];
  struct st_ip_out o;
  struct st_icmp_repr r;
  struct anyload_stack fake;
  uint8_t* pl;

  world_open(&w, "ec", NULL, ANYLOAD_STACK_F_RX_ICMP, -1, 0, 1);
  memset(&o, 0, sizeof(o));
  o.src_be32 = inet_addr(IP_B);
  o.dst_be32 = inet_addr(IP_A);
  memcpy(o.dst_mac, sim_mac_a, 6);
  o.ttl = 64;
  o.proto = ST_IPPROTO_ICMP;
  memset(&fake, 0, sizeof(fake));
  memcpy(fake.mac, sim_mac_b, 6);
  memset(&r, 0, sizeof(r));
  r.type = ST_ICMP_ECHO;
  r.rest_be32 = htonl(0x00770001);
  r.data = (const uint8_t*)"ping";
  r.data_len = 4;
  pl = st__ip_build_hdr(&fake, f, &o, 1, 0, 12, 0, 0);
  st_icmp_build(pl, &r);
  sim_raw_send(w.raw[1], f, 34 + 12);
  run(&w, 1 * MS);
  CHECK(stat(w.st[0], "icmp_echo_replies"), ==, 1);
  CHECK(w.raw[1]->n_cap, ==, 1);
  {
    const uint8_t* rep = w.raw[1]->cap[0];
    struct st_ipv4_repr ip;
    struct st_icmp_repr rr;
    CHECK_MEM(rep, sim_mac_b, 6);
    CHECK(st_ipv4_parse(rep + 14, w.raw[1]->cap_len[0] - 14, &ip, 0), ==,
          ST_IPV4_OK);
    CHECK(ip.src_be32, ==, inet_addr(IP_A));
    CHECK(ip.dst_be32, ==, inet_addr(IP_B));
    CHECK(st_icmp_parse(rep + 34, ip.tot_len - 20u, &rr), ==, ST_ICMP_OK);
    CHECK(rr.type, ==, ST_ICMP_ECHO_REPLY);
    CHECK(rr.rest_be32, ==, htonl(0x00770001));
    CHECK_MEM(rr.data, "ping", 4);
  }
  world_close(&w);
}

static void test_udp_sim_frag_needed(void)
{
  struct world w;
  struct anyload_stack *a, *b;
  struct sockaddr_in to = sin_of(IP_B, 9000);
  uint8_t buf[1400], out[1500], f[256];
  uint8_t quote[28];
  unsigned flen;
  uint64_t bytes;
  int sa, sb, flags = 0;

  world_open(&w, "fn", NULL, ANYLOAD_STACK_F_RX_ICMP,
             ANYLOAD_STACK_F_RX_FRAGMENTS, 0, 1);
  a = w.st[0];
  b = w.st[1];
  sb = udp_bound(b, "0.0.0.0", 9000);
  sa = udp_bound(a, "0.0.0.0", 9001);
  CHECK(anyload_udp_connect(a, sa, &to, sizeof(to)), ==, 0);
  memset(buf, 'm', sizeof(buf));
  CHECK(anyload_udp_sendto(a, sa, buf, sizeof(buf), 0, NULL, now()), ==, 1400);
  run(&w, 1 * MS);
  CHECK(anyload_udp_recvfrom(b, sb, out, sizeof(out), &flags, NULL), ==, 1400);
  CHECK(stat(a, "tx_fragmented"), ==, 0);

  /* A router on the way says: 1000 bytes at most. The quote is of the
   * datagram A sent: its IP header with DF, and the UDP header. */
  {
    struct st_ipv4_repr ip;
    memset(&ip, 0, sizeof(ip));
    ip.src_be32 = inet_addr(IP_A);
    ip.dst_be32 = inet_addr(IP_B);
    ip.tot_len = 1428;
    ip.df = 1;
    ip.ttl = 63;
    ip.proto = ST_IPPROTO_UDP;
    st_ipv4_build(quote, &ip);
    st_put_be16(quote + 20, 9001);
    st_put_be16(quote + 22, 9000);
    st_put_be16(quote + 24, 1408);
    st_put_be16(quote + 26, 0);
  }
  flen = icmp_reply(f, quote, ST_ICMP_DEST_UNREACH, ST_ICMP_FRAG_NEEDED, 1000);
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(stat(a, "icmp_pmtu_learnt"), ==, 1);
  /* As the kernel: a connected socket hears EMSGSIZE once. */
  CHECK(anyload_udp_sendto(a, sa, buf, sizeof(buf), 0, NULL, now()), ==,
        -EMSGSIZE);
  bytes = stat(a, "tx_bytes");
  CHECK(anyload_udp_sendto(a, sa, buf, sizeof(buf), 0, NULL, now()), ==, 1400);
  /* 1408 UDP bytes at MTU 1000: 976 + 432, frames of 1010 and 466. */
  CHECK(stat(a, "tx_fragmented"), ==, 1);
  CHECK(stat(a, "tx_frags"), ==, 2);
  CHECK(stat(a, "tx_bytes") - bytes, ==, 1010 + 466);
  run(&w, 1 * MS);
  memset(out, 0, sizeof(out));
  CHECK(anyload_udp_recvfrom(b, sb, out, sizeof(out), &flags, NULL), ==, 1400);
  CHECK_MEM(out, buf, 1400);
  CHECK(stat(b, "reasm_done"), ==, 1);
  /* A larger MTU, or one below 68, is ignored. */
  flen = icmp_reply(f, quote, ST_ICMP_DEST_UNREACH, ST_ICMP_FRAG_NEEDED, 1200);
  sim_raw_send(w.raw[1], f, flen);
  flen = icmp_reply(f, quote, ST_ICMP_DEST_UNREACH, ST_ICMP_FRAG_NEEDED, 60);
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(stat(a, "icmp_pmtu_ignored"), ==, 2);
  /* An old router (MTU 0): the plateau below 1428 is 1006. */
  flen = icmp_reply(f, quote, ST_ICMP_DEST_UNREACH, ST_ICMP_FRAG_NEEDED, 0);
  sim_raw_send(w.raw[1], f, flen);
  run(&w, 1 * MS);
  CHECK(stat(a, "icmp_pmtu_ignored"), ==, 3);      /* 1006 > 1000 */
  CHECK(st__pmtu_get(a, inet_addr(IP_B), now()), ==, 1000);
  /* Each message was still an error about the connected socket's
   * datagram (the kernel reports EMSGSIZE whatever the MTU): pending
   * once. */
  CHECK(anyload_udp_sendto(a, sa, buf, 1, 0, NULL, now()), ==, -EMSGSIZE);
  /* Learnt MTUs expire (10 minutes), also for the connected socket's
   * cached path. */
  run(&w, 601 * SEC);
  CHECK(anyload_udp_sendto(a, sa, buf, sizeof(buf), 0, NULL, now()), ==, 1400);
  CHECK(stat(a, "tx_fragmented"), ==, 1);
  run(&w, 1 * MS);
  CHECK(anyload_udp_recvfrom(b, sb, out, sizeof(out), &flags, NULL), ==, 1400);
  CHECK(st__pmtu_get(a, inet_addr(IP_B), now()), ==, 0);
  CHECK(anyload_udp_close(a, sa), ==, 0);
  CHECK(anyload_udp_close(b, sb), ==, 0);
  world_close(&w);
}

/* spin: poll stack st every 100 us of virtual time for dt, as a
 * spinning program does; the environment's process calls made. */
static unsigned spin(struct world* w, struct anyload_stack* st,
                     struct senv* e, int64_t dt)
{
  unsigned before = e->processes;
  int64_t end = now() + dt;

  while (now() < end) {
    CHECK(anyload_sim_clock_advance(100 * US), ==, 0);
    anyload_stack_poll(st, now(), 0);
    (void)w;
  }
  return e->processes - before;
}

/* env->process from a polling loop: every 10 ms while nothing waits on
 * it, every 1 ms while it reports changes and while a datagram waits for
 * a next hop's MAC, the first of those within 1 ms of the wait. */
static void test_udp_sim_env_process_interval(void)
{
  struct world w;
  struct anyload_stack* a;
  struct senv* e;
  unsigned n;
  int sa, sb;

  world_open(&w, "ep", NULL, 0, 0, 0, 0);
  a = w.st[0];
  e = &w.env[0];
  sb = udp_bound(w.st[1], "0.0.0.0", 9000);
  sa = udp_bound(a, "0.0.0.0", 9001);
  spin(&w, a, e, 20 * MS);
  n = spin(&w, a, e, 100 * MS);
  CHECK(n, >=, 9);
  CHECK(n, <=, 11);
  /* Changes seen: at once again. */
  e->process_ret = 1;
  spin(&w, a, e, 10 * MS);
  n = spin(&w, a, e, 50 * MS);
  CHECK(n, >=, 49);
  CHECK(n, <=, 51);
  e->process_ret = 0;
  spin(&w, a, e, 30 * MS);
  n = spin(&w, a, e, 100 * MS);
  CHECK(n, <=, 11);
  /* A datagram waits for a MAC: the answer is looked for within 1 ms,
   * then every 1 ms. */
  /* Just after a call, so that the next would be 10 ms away. */
  for (n = 0; n < 200 && !spin(&w, a, e, 100 * US); n++)
    ;
  CHECK(n, <, 200);
  e->neigh_mode = NEIGH_WAIT;
  CHECK(send_str(a, sa, IP_B, 9000, "wait"), ==, 4);
  CHECK(stat(a, "neigh_queued"), ==, 1);
  CHECK(spin(&w, a, e, 1100 * US), >=, 1);
  n = spin(&w, a, e, 50 * MS);
  CHECK(n, >=, 49);
  CHECK(n, <=, 51);
  e->neigh_mode = NEIGH_OK;
  e->gen++;
  spin(&w, a, e, 1 * MS);
  CHECK(stat(a, "neigh_sent"), ==, 1);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(w.st[1], sb, NULL), ==, "wait");
  /* Nothing waits: back to every 10 ms. */
  spin(&w, a, e, 20 * MS);
  n = spin(&w, a, e, 100 * MS);
  CHECK(n, <=, 11);
  CHECK(anyload_udp_close(a, sa), ==, 0);
  CHECK(anyload_udp_close(w.st[1], sb), ==, 0);
  world_close(&w);
}

static void test_udp_sim_neigh_wait(void)
{
  struct anyload_stack_config base;
  struct world w;
  struct anyload_stack *a, *b;
  int sa, sb, k;

  anyload_stack_config_init(&base);
  base.neigh_max_per_dest = 4;
  world_open_cfg(&w, "nw", NULL, 0, 0, 0, 0, &base);
  a = w.st[0];
  b = w.st[1];
  sb = udp_bound(b, "0.0.0.0", 9000);
  sa = udp_bound(a, "0.0.0.0", 9001);

  /* Unknown MAC: the datagram waits, resolution is asked for... */
  w.env[0].neigh_mode = NEIGH_WAIT;
  CHECK(send_str(a, sa, IP_B, 9000, "first"), ==, 5);
  CHECK(send_str(a, sa, IP_B, 9000, "second"), ==, 6);
  CHECK(stat(a, "neigh_queued"), ==, 2);
  CHECK(w.env[0].resolves, ==, 1);
  run(&w, 1 * SEC);
  CHECK_STR(recv_str(b, sb, NULL), ==, "E11");
  CHECK(w.env[0].resolves, >=, 9);           /* retried every 100 ms */
  CHECK(anyload_stack_next_deadline(a), <=, now() + 100 * MS);
  /* ...and goes, in order, when the environment learns the MAC. */
  w.env[0].neigh_mode = NEIGH_OK;
  w.env[0].gen++;
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, sb, NULL), ==, "first");
  CHECK_STR(recv_str(b, sb, NULL), ==, "second");
  CHECK(stat(a, "neigh_sent"), ==, 2);
  CHECK(sstat(a, sa, "tx_neigh_wait"), ==, 2);
  CHECK(anyload_stack_next_deadline(a), ==, INT64_MAX);

  /* Never resolved: dropped after 3 s, EHOSTUNREACH to the sender. */
  w.env[0].neigh_mode = NEIGH_WAIT;
  CHECK(send_str(a, sa, IP_B, 9000, "lost"), ==, 4);
  run(&w, 2900 * MS);
  CHECK(anyload_udp_poll(a, sa), ==, POLLOUT);
  run(&w, 200 * MS);
  CHECK(stat(a, "neigh_drop_timeout"), ==, 1);
  CHECK(sstat(a, sa, "tx_neigh_drop"), ==, 1);
  CHECK(anyload_udp_poll(a, sa), ==, POLLOUT | POLLERR);
  CHECK(send_str(a, sa, IP_B, 9000, "x"), ==, -EHOSTUNREACH);
  CHECK(anyload_udp_poll(a, sa), ==, POLLOUT);

  /* Queue limits: 4 frames per next hop here. */
  for (k = 0; k < 4; k++)
    CHECK(send_str(a, sa, IP_B, 9000, "q"), ==, 1);
  CHECK(send_str(a, sa, IP_B, 9000, "q"), ==, -ENOBUFS);
  CHECK(stat(a, "neigh_drop_full"), ==, 1);
  /* The environment gives up: dropped at once, the error pending. */
  w.env[0].neigh_mode = NEIGH_FAIL;
  w.env[0].gen++;
  run(&w, 1 * MS);
  CHECK(stat(a, "neigh_drop_failed"), ==, 4);
  CHECK_STR(recv_str(a, sa, NULL), ==, "E113");      /* EHOSTUNREACH */
  /* And a send that finds it unreachable fails at once. */
  CHECK(send_str(a, sa, IP_B, 9000, "x"), ==, -EHOSTUNREACH);
  CHECK(anyload_stack_next_deadline(a), ==, INT64_MAX);

  /* A socket closed while its frames wait: they still time out quietly. */
  w.env[0].neigh_mode = NEIGH_WAIT;
  CHECK(send_str(a, sa, IP_B, 9000, "orphan"), ==, 6);
  CHECK(anyload_udp_close(a, sa), ==, 0);
  run(&w, 3100 * MS);
  CHECK(stat(a, "neigh_drop_timeout"), ==, 2);
  CHECK(anyload_udp_close(b, sb), ==, 0);
  world_close(&w);
}

static void test_udp_sim_multicast(void)
{
  struct world w;
  struct anyload_stack *a, *b;
  struct ip_mreqn mn;
  struct ip_mreq_source ms;
  struct in_addr ifa;
  int s1, s2, s3, s4, sa, a2, v = 1, off = 0;
  struct sockaddr_in grp = sin_of("239.1.2.3", 9100);

  world_open(&w, "mc", NULL, 0, 0, 0, 0);
  a = w.st[0];
  b = w.st[1];
  s1 = anyload_udp_open(b);
  s2 = anyload_udp_open(b);
  s3 = anyload_udp_open(b);
  s4 = anyload_udp_open(b);
  CHECK(anyload_udp_setsockopt(b, s1, SOL_SOCKET, SO_REUSEADDR, &v, 4), ==, 0);
  CHECK(anyload_udp_setsockopt(b, s2, SOL_SOCKET, SO_REUSEADDR, &v, 4), ==, 0);
  CHECK(anyload_udp_setsockopt(b, s3, SOL_SOCKET, SO_REUSEADDR, &v, 4), ==, 0);
  CHECK(anyload_udp_setsockopt(b, s4, SOL_SOCKET, SO_REUSEADDR, &v, 4), ==, 0);
  {
    struct sockaddr_in any = sin_of("0.0.0.0", 9100);
    CHECK(anyload_udp_bind(b, s1, &any, sizeof(any)), ==, 0);
    CHECK(anyload_udp_bind(b, s2, &any, sizeof(any)), ==, 0);
    CHECK(anyload_udp_bind(b, s3, &grp, sizeof(grp)), ==, 0);
    CHECK(anyload_udp_bind(b, s4, &any, sizeof(any)), ==, 0);
  }
  /* s1: any source; s3: from A only; s4: from another host only; s2 is
   * no member. The kernel is told once per group and source. */
  memset(&mn, 0, sizeof(mn));
  mn.imr_multiaddr.s_addr = grp.sin_addr.s_addr;
  mn.imr_ifindex = anyload_stack_ifindex(b);
  CHECK(anyload_udp_setsockopt(b, s1, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn,
                               sizeof(mn)), ==, 0);
  CHECK(anyload_udp_setsockopt(b, s1, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn,
                               sizeof(mn)), ==, -EADDRINUSE);
  CHECK(w.env[1].joins, ==, 1);
  CHECK(w.env[1].last_group, ==, grp.sin_addr.s_addr);
  CHECK(w.env[1].last_source, ==, 0);
  memset(&ms, 0, sizeof(ms));
  ms.imr_multiaddr.s_addr = grp.sin_addr.s_addr;
  ms.imr_sourceaddr.s_addr = inet_addr(IP_A);
  CHECK(anyload_udp_setsockopt(b, s3, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP,
                               &ms, sizeof(ms)), ==, 0);
  CHECK(w.env[1].joins, ==, 2);
  CHECK(w.env[1].last_source, ==, inet_addr(IP_A));
  ms.imr_sourceaddr.s_addr = inet_addr("198.18.0.99");
  CHECK(anyload_udp_setsockopt(b, s4, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP,
                               &ms, sizeof(ms)), ==, 0);
  CHECK(w.env[1].joins, ==, 3);
  /* Not a group; an interface that is not ours. */
  mn.imr_multiaddr.s_addr = inet_addr(IP_A);
  CHECK(anyload_udp_setsockopt(b, s2, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn,
                               sizeof(mn)), ==, -EINVAL);
  mn.imr_multiaddr.s_addr = grp.sin_addr.s_addr;
  mn.imr_ifindex = 1;
  CHECK(anyload_udp_setsockopt(b, s2, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn,
                               sizeof(mn)), ==, -ENODEV);

  /* A sends from its address, with a member socket of its own (loop). */
  sa = udp_bound(a, "0.0.0.0", 9101);
  a2 = anyload_udp_open(a);
  {
    struct sockaddr_in any = sin_of("0.0.0.0", 9100);
    CHECK(anyload_udp_bind(a, a2, &any, sizeof(any)), ==, 0);
    mn.imr_ifindex = 0;
    CHECK(anyload_udp_setsockopt(a, a2, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn,
                                 sizeof(mn)), ==, 0);
  }
  ifa.s_addr = inet_addr(IP_A);
  CHECK(anyload_udp_setsockopt(a, sa, IPPROTO_IP, IP_MULTICAST_IF, &ifa,
                               sizeof(ifa)), ==, 0);
  CHECK(anyload_udp_sendto(a, sa, "g1", 2, 0, &grp, now()), ==, 2);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, s1, NULL), ==, "g1");
  CHECK_STR(recv_str(b, s2, NULL), ==, "E11");
  CHECK_STR(recv_str(b, s3, NULL), ==, "g1");
  CHECK_STR(recv_str(b, s4, NULL), ==, "E11");
  CHECK_STR(recv_str(a, a2, NULL), ==, "g1");
  CHECK(stat(a, "mcast_loop"), ==, 1);
  /* Without loop, A's own member sees nothing. */
  CHECK(anyload_udp_setsockopt(a, sa, IPPROTO_IP, IP_MULTICAST_LOOP, &off,
                               sizeof(off)), ==, 0);
  CHECK(anyload_udp_sendto(a, sa, "g2", 2, 0, &grp, now()), ==, 2);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, s1, NULL), ==, "g2");
  CHECK_STR(recv_str(b, s3, NULL), ==, "g2");
  CHECK_STR(recv_str(a, a2, NULL), ==, "E11");

  /* A datagram larger than the MTU: fragments loop back whole to A's
   * member (reassembled although A does not claim fragments), and reach
   * B's members whole: the VI gives B the later fragments (which carry no
   * ports) because its filter took the first. */
  {
    char big[3000], in[3100];
    int flags = 0;
    memset(big, 'L', sizeof(big));
    CHECK(anyload_udp_setsockopt(a, sa, IPPROTO_IP, IP_MULTICAST_LOOP, &v,
                                 sizeof(v)), ==, 0);
    CHECK(anyload_udp_sendto(a, sa, big, sizeof(big), 0, &grp, now()), ==,
          3000);
    run(&w, 1 * MS);
    CHECK(anyload_udp_recvfrom(a, a2, in, sizeof(in), &flags, NULL), ==, 3000);
    CHECK_MEM(in, big, 3000);
    memset(in, 0, sizeof(in));
    CHECK(anyload_udp_recvfrom(b, s1, in, sizeof(in), &flags, NULL), ==,
          3000);
    CHECK_MEM(in, big, 3000);
    memset(in, 0, sizeof(in));
    CHECK(anyload_udp_recvfrom(b, s3, in, sizeof(in), &flags, NULL), ==,
          3000);
    CHECK_MEM(in, big, 3000);
    CHECK(stat(b, "reasm_done"), ==, 1);
    CHECK(b->n_reasm, ==, 0);
    CHECK(anyload_udp_setsockopt(a, sa, IPPROTO_IP, IP_MULTICAST_LOOP, &off,
                                 sizeof(off)), ==, 0);
  }

  /* Leaving: s1 no longer gets the group. */
  mn.imr_ifindex = 0;
  CHECK(anyload_udp_setsockopt(b, s1, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mn,
                               sizeof(mn)), ==, 0);
  CHECK(anyload_udp_setsockopt(b, s1, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mn,
                               sizeof(mn)), ==, -EADDRNOTAVAIL);
  CHECK(w.env[1].leaves, ==, 1);
  CHECK(anyload_udp_sendto(a, sa, "g3", 2, 0, &grp, now()), ==, 2);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, s1, NULL), ==, "E11");
  CHECK_STR(recv_str(b, s3, NULL), ==, "g3");

  /* Broadcast needs SO_BROADCAST. */
  {
    struct sockaddr_in bc = sin_of("255.255.255.255", 9100);
    CHECK(anyload_udp_sendto(a, sa, "b", 1, 0, &bc, now()), ==, -EACCES);
    CHECK(anyload_udp_setsockopt(a, sa, SOL_SOCKET, SO_BROADCAST, &v, 4), ==,
          0);
    CHECK(anyload_udp_sendto(a, sa, "b", 1, 0, &bc, now()), ==, 1);
    run(&w, 1 * MS);
    /* Every socket on INADDR_ANY:9100 gets it; s3 (bound to the group)
     * does not. */
    CHECK_STR(recv_str(b, s1, NULL), ==, "b");
    CHECK_STR(recv_str(b, s2, NULL), ==, "b");
    CHECK_STR(recv_str(b, s4, NULL), ==, "b");
    CHECK_STR(recv_str(b, s3, NULL), ==, "E11");
  }

  CHECK(anyload_udp_close(b, s1), ==, 0);
  CHECK(anyload_udp_close(b, s2), ==, 0);
  CHECK(anyload_udp_close(b, s3), ==, 0);
  CHECK(anyload_udp_close(b, s4), ==, 0);
  CHECK(w.env[1].leaves, ==, 3);
  CHECK(anyload_udp_close(a, sa), ==, 0);
  CHECK(anyload_udp_close(a, a2), ==, 0);
  world_close(&w);
}

static void test_udp_sim_options(void)
{
  struct world w;
  struct anyload_stack* a;
  int sd, v;
  socklen_t vl = sizeof(v);

  world_open(&w, "op", NULL, 0, -1, 0, 1);
  a = w.st[0];
  sd = udp_bound(a, "0.0.0.0", 9300);
  v = 7;
  CHECK(anyload_udp_setsockopt(a, sd, IPPROTO_IP, IP_TTL, &v, sizeof(v)), ==,
        0);
  v = 0x28;
  CHECK(anyload_udp_setsockopt(a, sd, IPPROTO_IP, IP_TOS, &v, sizeof(v)), ==,
        0);
  v = 0;
  CHECK(anyload_udp_setsockopt(a, sd, IPPROTO_IP, IP_TTL, &v, sizeof(v)), ==,
        -EINVAL);
  CHECK(anyload_udp_setsockopt(a, sd, IPPROTO_IP, IP_RECVERR, &v, sizeof(v)),
        ==, -ENOPROTOOPT);
  CHECK(anyload_udp_setsockopt(a, sd, IPPROTO_TCP, 1, &v, sizeof(v)), ==,
        -ENOPROTOOPT);
  CHECK(anyload_udp_getsockopt(a, sd, IPPROTO_IP, IP_TTL, &v, &vl), ==, 0);
  CHECK(v, ==, 7);
  CHECK(anyload_udp_getsockopt(a, sd, SOL_SOCKET, SO_TYPE, &v, &vl), ==, 0);
  CHECK(v, ==, SOCK_DGRAM);
  vl = 2;
  CHECK(anyload_udp_getsockopt(a, sd, IPPROTO_IP, IP_TTL, &v, &vl), ==,
        -EINVAL);
  CHECK(send_str(a, sd, IP_B, 9000, "ttl"), ==, 3);
  run(&w, 1 * MS);
  CHECK(w.raw[1]->n_cap, ==, 1);
  {
    struct st_ipv4_repr ip;
    CHECK(st_ipv4_parse(w.raw[1]->cap[0] + 14, w.raw[1]->cap_len[0] - 14,
                        &ip, 0), ==, ST_IPV4_OK);
    CHECK(ip.ttl, ==, 7);
    CHECK(ip.tos, ==, 0x28);
    CHECK(ip.df, ==, 1);
    CHECK_MEM(w.raw[1]->cap[0], sim_mac_b, 6);
    CHECK_MEM(w.raw[1]->cap[0] + 6, sim_mac_a, 6);
  }
  /* Multicast: IP_MULTICAST_TTL, the group's MAC, the interface's
   * address as the source. */
  {
    struct sockaddr_in g = sin_of("239.1.2.3", 9100);
    struct in_addr ifa;
    struct st_ipv4_repr ip;
    static const uint8_t gmac[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
    v = 5;
    CHECK(anyload_udp_setsockopt(a, sd, IPPROTO_IP, IP_MULTICAST_TTL, &v,
                                 sizeof(v)), ==, 0);
    ifa.s_addr = inet_addr(IP_A);
    CHECK(anyload_udp_setsockopt(a, sd, IPPROTO_IP, IP_MULTICAST_IF, &ifa,
                                 sizeof(ifa)), ==, 0);
    ifa.s_addr = inet_addr("198.18.0.77");
    CHECK(anyload_udp_setsockopt(a, sd, IPPROTO_IP, IP_MULTICAST_IF, &ifa,
                                 sizeof(ifa)), ==, -EADDRNOTAVAIL);
    vl = sizeof(ifa);
    CHECK(anyload_udp_getsockopt(a, sd, IPPROTO_IP, IP_MULTICAST_IF, &ifa,
                                 &vl), ==, 0);
    CHECK(ifa.s_addr, ==, inet_addr(IP_A));
    CHECK(anyload_udp_sendto(a, sd, "m", 1, 0, &g, now()), ==, 1);
    run(&w, 1 * MS);
    CHECK(w.raw[1]->n_cap, ==, 2);
    CHECK_MEM(w.raw[1]->cap[1], gmac, 6);
    CHECK(st_ipv4_parse(w.raw[1]->cap[1] + 14, w.raw[1]->cap_len[1] - 14,
                        &ip, 0), ==, ST_IPV4_OK);
    CHECK(ip.ttl, ==, 5);
    CHECK(ip.src_be32, ==, inet_addr(IP_A));
    CHECK(ip.dst_be32, ==, g.sin_addr.s_addr);
  }
  /* Stack counters have names and descriptions. */
  CHECK(anyload_stack_stat_count(), >, 40);
  CHECK_STR(anyload_stack_stat_name(0), ==, "rx_frames");
  CHECK_PTR(anyload_stack_stat_doc(anyload_stack_stat_count()), ==, NULL);
  CHECK(anyload_stack_stat_index("no such counter"), ==, -ENOENT);
  CHECK(anyload_udp_close(a, sd), ==, 0);
  world_close(&w);
}

static void test_udp_sim_vi_csum_wait_fd(void)
{
  struct world w;
  struct anyload_stack* b;
  struct pollfd pfd;
  uint8_t f[128];
  struct st_ip_out o;
  struct st_udp_repr u;
  struct anyload_stack fake;
  uint8_t* pl;
  int sb;

  /* B lets the VI check checksums; a raw VI on A's end sends. */
  world_open(&w, "vc", NULL, 0, ANYLOAD_STACK_F_VI_CSUM, 1, 0);
  b = w.st[1];
  sb = udp_bound(b, "0.0.0.0", 9000);
  memset(&o, 0, sizeof(o));
  o.src_be32 = inet_addr(IP_A);
  o.dst_be32 = inet_addr(IP_B);
  memcpy(o.dst_mac, sim_mac_b, 6);
  o.ttl = 64;
  o.proto = ST_IPPROTO_UDP;
  memset(&fake, 0, sizeof(fake));
  memcpy(fake.mac, sim_mac_a, 6);
  pl = st__ip_build_hdr(&fake, f, &o, 5, 0, 13, 0, 0);
  u.sport_be16 = htons(1234);
  u.dport_be16 = htons(9000);
  u.len = 13;
  memcpy(st_udp_build(pl, &u), "hello", 5);
  st_udp_csum_store(pl, st_csum_acc(st_udp_csum_start(o.src_be32, o.dst_be32,
                                                       13), pl, 13));

  /* Nothing yet: the wait fd is quiet. A frame makes it readable before
   * any poll of the stack. */
  anyload_stack_prime(b);
  pfd.fd = anyload_stack_wait_fd(b);
  pfd.events = POLLIN;
  CHECK(poll(&pfd, 1, 0), ==, 0);
  sim_raw_send(w.raw[0], f, 47);
  CHECK(poll(&pfd, 1, 0), ==, 1);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, sb, NULL), ==, "hello");
  /* A bad UDP checksum: discarded by the VI, counted by the stack. */
  pl[8] ^= 0x20;
  sim_raw_send(w.raw[0], f, 47);
  /* A bad IP header checksum too. */
  pl[8] ^= 0x20;
  f[14 + 8] = 1;
  sim_raw_send(w.raw[0], f, 47);
  run(&w, 1 * MS);
  CHECK_STR(recv_str(b, sb, NULL), ==, "E11");
  CHECK(stat(b, "rx_drop_vi_discard"), ==, 2);
  CHECK(stat(b, "rx_drop_udp_csum"), ==, 0);
  CHECK(stat(b, "rx_drop_ip_csum"), ==, 0);
  CHECK(anyload_udp_close(b, sb), ==, 0);
  world_close(&w);
}

static void test_udp_sim_create_errors(void)
{
  struct anyload_stack_config c;
  struct anyload_stack* st = (struct anyload_stack*)&c;
  struct senv e;
  struct anyload_stack_env ev;

  memset(&e, 0, sizeof(e));
  ev = env_of(&e);
  CHECK(setenv("ANYLOAD_BACKEND", "sim", 1), ==, 0);
  CHECK(anyload_sim_link_create("ceA", "ceB", NULL), ==, 0);
  anyload_stack_config_init(&c);
  CHECK(anyload_stack_create(&c, &ev, &st), ==, -EINVAL);     /* no name */
  CHECK(anyload_stack_create(NULL, &ev, &st), ==, -EINVAL);
  c.ifname = "ceA";
  c.size = sizeof(c) - 1;
  CHECK(anyload_stack_create(&c, &ev, &st), ==, -EINVAL);
  c.size = sizeof(c);
  c.ifname = "nosuchif";
  CHECK(anyload_stack_create(&c, &ev, &st), ==, -ENODEV);
  c.ifname = "ceA";
  c.n_bufs = 100;                 /* fewer than the rings need */
  CHECK(anyload_stack_create(&c, &ev, &st), ==, -EINVAL);
  c.n_bufs = 0;
  c.ephem_lo = 5000;
  c.ephem_hi = 4000;
  CHECK(anyload_stack_create(&c, &ev, &st), ==, -EINVAL);
  CHECK_PTR(st, ==, (struct anyload_stack*)&c);   /* untouched */
  c.ephem_lo = c.ephem_hi = 0;
  CHECK(anyload_stack_create(&c, &ev, &st), ==, 0);
  /* The link cannot go while the stack's VI is on it. */
  CHECK(anyload_sim_link_destroy("ceA"), ==, -EBUSY);
  anyload_stack_destroy(st);
  anyload_stack_destroy(NULL);
  CHECK(anyload_sim_link_destroy("ceA"), ==, 0);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_udp_sim_create_errors),
  UNIT_TEST(test_udp_sim_exchange),
  UNIT_TEST(test_udp_sim_sync),
  UNIT_TEST(test_udp_sim_connected),
  UNIT_TEST(test_udp_sim_rcvbuf_checksums),
  UNIT_TEST(test_udp_sim_frag_loss),
  UNIT_TEST(test_udp_sim_icmp_errors),
  UNIT_TEST(test_udp_sim_echo),
  UNIT_TEST(test_udp_sim_frag_needed),
  UNIT_TEST(test_udp_sim_neigh_wait),
  UNIT_TEST(test_udp_sim_env_process_interval),
  UNIT_TEST(test_udp_sim_multicast),
  UNIT_TEST(test_udp_sim_options),
  UNIT_TEST(test_udp_sim_vi_csum_wait_fd),
};
UNIT_TEST_MAIN(tests)
