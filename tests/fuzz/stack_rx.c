/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/stack_rx.c: libFuzzer target for the stack's receive path (frame
 * -> Ethernet, IPv4 checks, reassembly, UDP, ICMP errors and echo,
 * socket queues), driven through a simulated link: a raw VI on one end
 * sends the input's frames to a stack on the other, which claims UDP,
 * fragments and ICMP and has sockets bound (unicast, connected, multicast
 * member, broadcast). Nothing may read outside a buffer, and every frame
 * must end in a socket queue or as a counted drop: after each input the
 * sockets are drained and the clock moved past every timeout, and then
 * every buffer must be back in the pool or on the receive ring, and the
 * counters must account for every frame (see check_counters: each ICMP
 * message has exactly one outcome, no frame vanishes uncounted, and a
 * path MTU is only learnt from an error about one of our sockets).
 *
 * Input: byte 0: bit 0 set = fix the IPv4 header checksum and, for ICMP,
 * the ICMP checksum of each frame before sending (so that the fuzzer gets
 * past them: STYLE.md's checksum bypass, done here rather than in the
 * stack), bits 1..3 = log2 of the virtual time (in ms) between frames;
 * then frames as [length: 2 bytes big-endian][bytes], up to the input's
 * end. The stack trusts UDP checksums (ANYLOAD_STACK_F_TRUST_RX_CSUM) for
 * the same reason; test_udp_sim covers their checks.
 *
 * Built by `make fuzz`; its corpus is replayed by the unit suite.
 */
#include <anyload/sim.h>
#include <anyload/stack.h>
#include <arpa/inet.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BUF 2048
#define NSOCK 4

static struct {
  ef_driver_handle dh;
  ef_pd pd;
  ef_memreg mr;
  ef_vi vi;
  uint8_t* mem;
} raw;
static struct anyload_stack* st;
static int socks[NSOCK];
static int ifindex;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerInitialize(int* argc, char*** argv);

/* The environment: everything on-link, the peer's MAC known. */
static int env_route(void* ctx, uint32_t dst, uint32_t src,
                     struct anyload_route* out)
{
  (void)ctx;
  (void)src;
  memset(out, 0, sizeof(*out));
  out->ifindex = ifindex;
  out->src_be32 = inet_addr("198.18.0.2");
  out->nexthop_be32 = dst;
  out->type = ANYLOAD_ROUTE_UNICAST;
  return 0;
}

static int env_addr(void* ctx, uint32_t ip)
{
  (void)ctx;
  return ip == inet_addr("198.18.0.2") ? ifindex : -EADDRNOTAVAIL;
}

static int env_neigh(void* ctx, int ifx, uint32_t ip, uint8_t mac[6])
{
  static const uint8_t peer[6] = { 2, 0, 0, 0, 0x0a, 0x0a };
  (void)ctx;
  (void)ifx;
  (void)ip;
  memcpy(mac, peer, 6);
  return 0;
}

static uint64_t env_gen(void* ctx)
{
  (void)ctx;
  return 1;
}

static struct sockaddr_in sin_of(const char* ip, unsigned port)
{
  struct sockaddr_in a;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = inet_addr(ip);
  a.sin_port = htons((uint16_t)port);
  return a;
}

static void fail(const char* what)
{
  fprintf(stderr, "stack_rx fuzz: %s\n", what);
  abort();
}

int LLVMFuzzerInitialize(int* argc, char*** argv)
{
  struct anyload_stack_config cfg;
  struct anyload_stack_env env;
  struct anyload_sim_config lc;
  struct ip_mreq mr;
  struct sockaddr_in a;
  int one = 1, k;

  (void)argc;
  (void)argv;
  setenv("ANYLOAD_BACKEND", "sim", 1);
  anyload_sim_clock_set(1000000000ll);
  anyload_sim_config_init(&lc);
  memcpy(lc.mac_a, "\x02\x00\x00\x00\x0a\x0a", 6);
  memcpy(lc.mac_b, "\x02\x00\x00\x00\x0b\x0b", 6);
  if (anyload_sim_link_create("fsA", "fsB", &lc) < 0)
    fail("link");
  memset(&env, 0, sizeof(env));
  env.route = env_route;
  env.addr_ifindex = env_addr;
  env.neigh = env_neigh;
  env.generation = env_gen;
  anyload_stack_config_init(&cfg);
  cfg.ifname = "fsB";
  cfg.flags = ANYLOAD_STACK_F_RX_FRAGMENTS | ANYLOAD_STACK_F_RX_ICMP |
              ANYLOAD_STACK_F_TRUST_RX_CSUM;
  cfg.n_bufs = 1024;
  cfg.rxq_size = 256;
  cfg.txq_size = 256;
  cfg.reasm_max_datagrams = 8;
  cfg.reasm_max_bufs = 64;
  if (anyload_stack_create(&cfg, &env, &st) < 0)
    fail("stack");
  ifindex = anyload_stack_ifindex(st);
  for (k = 0; k < NSOCK; k++) {
    socks[k] = anyload_udp_open(st);
    anyload_udp_setsockopt(st, socks[k], SOL_SOCKET, SO_REUSEADDR, &one,
                           sizeof(one));
  }
  a = sin_of("0.0.0.0", 9000);
  anyload_udp_bind(st, socks[0], &a, sizeof(a));
  a = sin_of("198.18.0.2", 9000);
  anyload_udp_bind(st, socks[1], &a, sizeof(a));
  a = sin_of("198.18.0.1", 9001);
  anyload_udp_connect(st, socks[1], &a, sizeof(a));
  a = sin_of("0.0.0.0", 9000);
  anyload_udp_bind(st, socks[2], &a, sizeof(a));
  mr.imr_multiaddr.s_addr = inet_addr("239.1.2.3");
  mr.imr_interface.s_addr = 0;
  anyload_udp_setsockopt(st, socks[2], IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
                         sizeof(mr));
  a = sin_of("255.255.255.255", 9002);
  anyload_udp_bind(st, socks[3], &a, sizeof(a));

  if (ef_driver_open(&raw.dh) < 0 ||
      ef_pd_alloc_by_name(&raw.pd, raw.dh, "fsA", EF_PD_DEFAULT) < 0)
    fail("raw pd");
  raw.mem = mmap(NULL, 64 * BUF, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw.mem == MAP_FAILED ||
      ef_memreg_alloc(&raw.mr, raw.dh, &raw.pd, raw.dh, raw.mem, 64 * BUF) < 0
      || ef_vi_alloc_from_pd(&raw.vi, raw.dh, &raw.pd, raw.dh, -1, 64, 64,
                             NULL, -1, EF_VI_FLAGS_DEFAULT) < 0)
    fail("raw vi");
  ready = 1;
  return 0;
}

static uint16_t sum16(const uint8_t* p, size_t len)
{
  uint32_t s = 0;
  size_t k;

  for (k = 0; k + 1 < len; k += 2)
    s += (uint32_t)(p[k] << 8 | p[k + 1]);
  if (len & 1)
    s += (uint32_t)p[len - 1] << 8;
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/* fix_sums: recompute the IPv4 header checksum (and the ICMP one) of an
 * Ethernet frame of len bytes, where they fit. */
static void fix_sums(uint8_t* f, size_t len)
{
  size_t ihl, tot;
  uint16_t c;

  if (len < 34 || f[12] != 0x08 || f[13] != 0x00)
    return;
  ihl = (size_t)(f[14] & 0xf) * 4;
  if (ihl < 20 || 14 + ihl > len)
    return;
  f[24] = f[25] = 0;
  c = sum16(f + 14, ihl);
  f[24] = (uint8_t)(c >> 8);
  f[25] = (uint8_t)c;
  tot = (size_t)f[16] << 8 | f[17];
  if (f[23] == 1 && tot >= ihl + 4 && 14 + tot <= len) {
    uint8_t* m = f + 14 + ihl;
    m[2] = m[3] = 0;
    c = sum16(m, tot - ihl);
    m[2] = (uint8_t)(c >> 8);
    m[3] = (uint8_t)c;
  }
}

static void poll_all(void)
{
  ef_event evs[16];
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int rounds, n, i;

  for (rounds = 0; rounds < 64; rounds++) {
    n = anyload_stack_poll(st, anyload_sim_clock_now(), 0);
    while ((i = ef_eventq_poll(&raw.vi, evs, 16)) > 0) {
      n += i;
      while (i-- > 0)
        if (EF_EVENT_TYPE(evs[i]) == EF_EVENT_TYPE_TX ||
            EF_EVENT_TYPE(evs[i]) == EF_EVENT_TYPE_TX_ERROR)
          ef_vi_transmit_unbundle(&raw.vi, &evs[i], ids);
    }
    if (n == 0)
      break;
  }
}

static void drain_sockets(void)
{
  static uint8_t buf[65536];
  int k, flags;

  for (k = 0; k < NSOCK; k++) {
    flags = 0;
    while (anyload_udp_recvfrom(st, socks[k], buf, sizeof(buf), &flags, NULL)
           != -EAGAIN)
      flags = 0;
  }
}

/* S: the value of counter `name` in v[] (stats read by index). */
#define S(name) stat_of(v, #name)

static uint64_t stat_of(const uint64_t* v, const char* name)
{
  int k = anyload_stack_stat_index(name);

  if (k < 0)
    fail(name);
  return v[k];
}

/* check_counters: the stack's counters since the last call (read and
 * reset) account for every frame of the input:
 *   - every ICMP message has exactly one outcome;
 *   - every frame ends in exactly one receive-path counter: a drop of
 *     Ethernet or IPv4, a fragment taken in by reassembly, an ICMP
 *     message, or an unfragmented UDP datagram's outcome (reassembled
 *     datagrams reach UDP too, hence reasm_done on the left). A datagram
 *     given to several sockets counts once per socket, so the right side
 *     may exceed the left, never fall short of it (a frame that vanished
 *     without a counter);
 *   - path MTUs are learnt (or considered) only from errors about one of
 *     our sockets, which then also count as hard or unconnected errors. */
static void check_counters(void)
{
  uint64_t v[256];
  unsigned n = anyload_stack_stat_count();
  uint64_t l3, udp, icmp;

  if (n > 256)
    fail("too many counters");
  anyload_stack_stats(st, v, n, 1);
  icmp = S(rx_drop_icmp_trunc) + S(rx_drop_icmp_csum) +
         S(rx_drop_icmp_quote) + S(rx_drop_icmp_type) +
         S(rx_drop_icmp_no_sock) + S(icmp_err_hard) + S(icmp_err_soft) +
         S(icmp_err_unconnected) + S(icmp_echo_replies) +
         S(tcp_icmp_out_of_window) + S(tcp_icmp_frag_needed);
  if (icmp != S(rx_icmp))
    fail("ICMP messages without exactly one outcome");
  l3 = S(rx_drop_multibuf) + S(rx_drop_eth_trunc) + S(rx_drop_not_ip) +
       S(rx_drop_ip_trunc) + S(rx_drop_ip_version) + S(rx_drop_ip_ihl) +
       S(rx_drop_ip_len) + S(rx_drop_ip_csum) + S(rx_drop_ip_frag) +
       S(rx_drop_ip_src) + S(rx_drop_ip_dst) + S(rx_drop_ip_proto);
  udp = S(rx_drop_udp_trunc) + S(rx_drop_udp_len) + S(rx_drop_udp_csum) +
        S(rx_drop_udp_no_sock) + S(rx_drop_rcvbuf) + S(rx_drop_pool_low) +
        S(rx_udp_datagrams);
  if (S(rx_frames) + S(reasm_done) >
      l3 + S(reasm_frags) + udp + S(rx_icmp) + S(rx_tcp_segs))
    fail("a frame vanished without a counter");
  if (S(icmp_pmtu_learnt) + S(icmp_pmtu_ignored) >
      S(icmp_err_hard) + S(icmp_err_unconnected) + S(tcp_icmp_frag_needed))
    fail("a path MTU was learnt from an error about no socket of ours");
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  static uint8_t frame[BUF];
  struct anyload_stack_info in;
  int64_t step;
  size_t off = 1;

  if (!ready || size < 1)
    return 0;
  step = (1ll << ((data[0] >> 1) & 7)) * 1000000ll;
  while (off + 2 <= size) {
    size_t len = (size_t)data[off] << 8 | data[off + 1];
    off += 2;
    if (len > size - off)
      len = size - off;
    if (len > 0 && len <= BUF - 64) {
      memcpy(frame, data + off, len);
      if (data[0] & 1)
        fix_sums(frame, len);
      memcpy(raw.mem, frame, len);
      ef_vi_transmit(&raw.vi, ef_memreg_dma_addr(&raw.mr, 0), (int)len, 0);
    }
    poll_all();
    anyload_sim_clock_advance(step);
    off += len;
  }
  /* Leave nothing for the next input: queues read, timers expired. */
  poll_all();
  drain_sockets();
  anyload_sim_clock_advance(61ll * 1000000000ll);
  poll_all();
  drain_sockets();
  anyload_stack_info(st, &in);
  if (in.pkt_free + in.pkt_rx_ring + in.pkt_tx_ring != in.pkt_total ||
      in.pkt_reasm || in.pkt_sock_rxq || in.pkt_neigh_wait ||
      in.reasm_datagrams || in.timers)
    fail("buffers or timers left after an input");
  check_counters();
  return 0;
}
