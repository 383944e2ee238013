/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/tcp_rx.c: libFuzzer target for the stack's TCP receive path
 * (stack/tcp_in.c, tcp_listen.c, tcp_buf.c and the output they trigger),
 * driven through a simulated link: a raw VI on one end talks to a stack
 * on the other, which has a listener on port 80. For each input a fresh
 * connection to the listener is made by hand (SYN, the stack's SYN-ACK
 * read back for its ISS, ACK) and accepted, so that the input's segments
 * can hit it with sequence numbers relative to the real ones.
 *
 * Input: a sequence of records, each starting with a kind byte:
 *   kind % 4 == 0: a raw frame: [len: 2 bytes][bytes] (checksums as
 *     given; the stack trusts TCP checksums, ANYLOAD_STACK_F_TRUST_RX_CSUM,
 *     so that the fuzzer reaches the state machine);
 *   kind % 4 == 1: a TCP segment built by the harness:
 *     [flags][target][seq delta: 4][ack delta: 4][window: 2]
 *     [options length n (<= 40, rounded up to 4)][n bytes][data length]
 *     target % 3: 0 the connection (peer port fixed), 1 the listener from
 *     another peer port (40000 + target), 2 port 81 (nobody). Sequence
 *     and acknowledgment are the peer's next sequence and the stack's
 *     ISS + 1 plus the deltas (big-endian). The data bytes are a pattern;
 *   kind % 4 == 2: the application: [op][n]: send n * 64 bytes, recv,
 *     shutdown(SHUT_WR), set TCP_NODELAY, accept and keep;
 *   kind % 4 == 3: let [n] ms of virtual time pass.
 * After the input every socket is closed (SO_LINGER 0 where open), the
 * virtual clock runs 30 minutes so that every connection ends (TIME_WAIT,
 * FIN_WAIT_2, retransmissions giving up), and then: no connection but the
 * listener, no TCP buffer byte, no timer, every packet buffer back, and
 * the counters account for every TCP segment exactly (rx_tcp_segs = the
 * early drops + segments handed to connections + to listeners).
 *
 * Built by `make fuzz`; its corpus is replayed by the unit suite.
 */
#include "stack/wire/eth.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

#include <anyload/sim.h>
#include <anyload/stack.h>
#include <arpa/inet.h>
#include <errno.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BUF 2048
#define NRX 64
#define MAX_APP 8

static struct {
  ef_driver_handle dh;
  ef_pd pd;
  ef_memreg mr;
  ef_vi vi;
  uint8_t* mem;
  unsigned tx_next;
  /* The last TCP segment the stack sent. */
  struct st_tcp_repr last;
  int have_last;
} raw;
static struct anyload_stack* st;
static int listener, ifindex, ready;
static uint16_t peer_port = 30000;
static uint32_t peer_nxt, stack_iss;
static int app[MAX_APP];
static int n_app;

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerInitialize(int* argc, char*** argv);

static const uint8_t mac_raw[6] = { 2, 0, 0, 0, 0x0a, 0x0a };
static const uint8_t mac_st[6] = { 2, 0, 0, 0, 0x0b, 0x0b };

static void fail(const char* what)
{
  fprintf(stderr, "tcp_rx fuzz: %s\n", what);
  abort();
}

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
  (void)ctx;
  (void)ifx;
  (void)ip;
  memcpy(mac, mac_raw, 6);
  return 0;
}

static uint64_t env_gen(void* ctx)
{
  (void)ctx;
  return 1;
}

int LLVMFuzzerInitialize(int* argc, char*** argv)
{
  struct anyload_stack_config cfg;
  struct anyload_stack_env env;
  struct anyload_sim_config lc;
  struct sockaddr_in a;
  int k;

  (void)argc;
  (void)argv;
  setenv("ANYLOAD_BACKEND", "sim", 1);
  anyload_sim_clock_set(1000000000ll);
  anyload_sim_config_init(&lc);
  memcpy(lc.mac_a, mac_raw, 6);
  memcpy(lc.mac_b, mac_st, 6);
  if (anyload_sim_link_create("ftA", "ftB", &lc) < 0)
    fail("link");
  memset(&env, 0, sizeof(env));
  env.route = env_route;
  env.addr_ifindex = env_addr;
  env.neigh = env_neigh;
  env.generation = env_gen;
  anyload_stack_config_init(&cfg);
  cfg.ifname = "ftB";
  cfg.flags = ANYLOAD_STACK_F_TRUST_RX_CSUM;
  cfg.n_bufs = 1024;
  cfg.rxq_size = 256;
  cfg.txq_size = 256;
  cfg.rcvbuf = 8192;
  cfg.max_sockets = 64;
  if (anyload_stack_create(&cfg, &env, &st) < 0)
    fail("stack");
  ifindex = anyload_stack_ifindex(st);
  listener = anyload_tcp_open(st);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons(80);
  if (anyload_tcp_bind(st, listener, &a, sizeof(a)) < 0 ||
      anyload_tcp_listen(st, listener, 4) < 0)
    fail("listen");
  if (ef_driver_open(&raw.dh) < 0 ||
      ef_pd_alloc_by_name(&raw.pd, raw.dh, "ftA", EF_PD_DEFAULT) < 0)
    fail("raw pd");
  raw.mem = mmap(NULL, 2 * NRX * BUF, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw.mem == MAP_FAILED ||
      ef_memreg_alloc(&raw.mr, raw.dh, &raw.pd, raw.dh, raw.mem,
                      2 * NRX * BUF) < 0 ||
      ef_vi_alloc_from_pd(&raw.vi, raw.dh, &raw.pd, raw.dh, -1, NRX, NRX,
                          NULL, -1, EF_VI_FLAGS_DEFAULT) < 0)
    fail("raw vi");
  ef_vi_receive_set_discards(&raw.vi, 0);
  for (k = 0; k < NRX; k++)
    ef_vi_receive_post(&raw.vi, ef_memreg_dma_addr(&raw.mr, (size_t)k * BUF),
                       (ef_request_id)k);
  ready = 1;
  return 0;
}

/* raw_rx: note the TCP segments the stack sent (the last one kept). */
static void raw_rx(unsigned id, unsigned len)
{
  const uint8_t* f = raw.mem + (size_t)id * BUF;
  struct st_eth_repr eth;
  struct st_ipv4_repr ip;

  if (st_eth_parse(f, len, &eth) == 0 && eth.type == ST_ETHERTYPE_IPV4 &&
      st_ipv4_parse(f + ST_ETH_HLEN, len - ST_ETH_HLEN, &ip, 0) ==
          ST_IPV4_OK &&
      ip.proto == ST_IPPROTO_TCP &&
      st_tcp_parse(f + ST_ETH_HLEN + ip.hlen, ip.tot_len - ip.hlen,
                   &raw.last) == ST_TCP_OK)
    raw.have_last = 1;
}

static void poll_all(void)
{
  ef_event evs[16];
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int rounds, n, i;

  for (rounds = 0; rounds < 256; rounds++) {
    n = anyload_stack_poll(st, anyload_sim_clock_now(), 0);
    while ((i = ef_eventq_poll(&raw.vi, evs, 16)) > 0) {
      n += i;
      while (i-- > 0) {
        unsigned t = EF_EVENT_TYPE(evs[i]);
        if (t == EF_EVENT_TYPE_TX || t == EF_EVENT_TYPE_TX_ERROR) {
          ef_vi_transmit_unbundle(&raw.vi, &evs[i], ids);
        } else if (t == EF_EVENT_TYPE_RX) {
          unsigned id = (unsigned)EF_EVENT_RX_RQ_ID(evs[i]);
          raw_rx(id, EF_EVENT_RX_BYTES(evs[i]));
          ef_vi_receive_post(&raw.vi,
                             ef_memreg_dma_addr(&raw.mr, (size_t)id * BUF),
                             (ef_request_id)id);
        } else if (t == EF_EVENT_TYPE_RX_DISCARD) {
          unsigned id = (unsigned)EF_EVENT_RX_DISCARD_RQ_ID(evs[i]);
          ef_vi_receive_post(&raw.vi,
                             ef_memreg_dma_addr(&raw.mr, (size_t)id * BUF),
                             (ef_request_id)id);
        }
      }
    }
    if (n == 0)
      break;
  }
}

static void raw_send(const uint8_t* frame, size_t len)
{
  unsigned b = NRX + raw.tx_next++ % NRX;

  memcpy(raw.mem + (size_t)b * BUF, frame, len);
  ef_vi_transmit(&raw.vi, ef_memreg_dma_addr(&raw.mr, (size_t)b * BUF),
                 (int)len, (ef_request_id)b);
  poll_all();
}

/* send_seg: a TCP segment from the raw end to the stack, options as raw
 * bytes. */
static void send_seg(uint16_t sport, uint16_t dport, uint32_t seq,
                     uint32_t ack, uint8_t flags, uint16_t win,
                     const uint8_t* opts, unsigned olen, unsigned dlen)
{
  static uint8_t f[BUF];
  struct st_eth_repr eth;
  struct st_ipv4_repr ip;
  struct st_tcp_repr h;
  uint8_t *p, *th;
  unsigned tlen, k, given = olen;

  olen = (olen + 3) & ~3u;
  tlen = ST_TCP_HLEN + olen + dlen;
  memcpy(eth.dst, mac_st, 6);
  memcpy(eth.src, mac_raw, 6);
  eth.type = ST_ETHERTYPE_IPV4;
  p = st_eth_build(f, &eth);
  memset(&ip, 0, sizeof(ip));
  ip.src_be32 = inet_addr("198.18.0.1");
  ip.dst_be32 = inet_addr("198.18.0.2");
  ip.tot_len = (uint16_t)(ST_IPV4_HLEN + tlen);
  ip.ttl = 64;
  ip.proto = ST_IPPROTO_TCP;
  th = st_ipv4_build(p, &ip);
  memset(&h, 0, sizeof(h));
  h.sport_be16 = htons(sport);
  h.dport_be16 = htons(dport);
  h.seq = seq;
  h.ack = ack;
  h.flags = flags;
  h.win = win;
  st_tcp_build(th, &h);
  th[ST_TCP_OFF_DOFF] = (uint8_t)(((ST_TCP_HLEN + olen) / 4) << 4);
  memset(th + ST_TCP_HLEN, 0, olen);
  if (opts)
    memcpy(th + ST_TCP_HLEN, opts, given);
  for (k = 0; k < dlen; k++)
    th[ST_TCP_HLEN + olen + k] = (uint8_t)(seq + k);
  st_tcp_csum_store(th, st_csum_acc(st_tcp_csum_start(ip.src_be32,
                                                      ip.dst_be32,
                                                      (uint16_t)tlen),
                                    th, tlen));
  raw_send(f, ST_ETH_HLEN + ST_IPV4_HLEN + tlen);
}

/* connect_one: a connection from the raw end to the listener, accepted.
 * Returns its sd or -1. */
static int connect_one(void)
{
  static const uint8_t syn_opts[] = { 2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
                                      0, 0, 0, 0, 1, 3, 3, 2 };
  int sd;

  peer_port = (uint16_t)(peer_port >= 39000 ? 30000 : peer_port + 1);
  peer_nxt = 1000;
  raw.have_last = 0;
  send_seg(peer_port, 80, peer_nxt, 0, ST_TCP_SYN, 65535, syn_opts,
           sizeof(syn_opts), 0);
  if (!raw.have_last ||
      raw.last.flags != (ST_TCP_SYN | ST_TCP_ACK))
    return -1;
  stack_iss = raw.last.seq;
  peer_nxt++;
  {
    uint8_t ts[12] = { 1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 0 };
    send_seg(peer_port, 80, peer_nxt, stack_iss + 1, ST_TCP_ACK, 1000, ts,
             sizeof(ts), 0);
  }
  sd = anyload_tcp_accept(st, listener, NULL, anyload_sim_clock_now());
  return sd;
}

static uint32_t be32(const uint8_t* p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

#define S(name) stat_of(v, #name)

static uint64_t stat_of(const uint64_t* v, const char* name)
{
  int k = anyload_stack_stat_index(name);

  if (k < 0)
    fail(name);
  return v[k];
}

static void check_counters(void)
{
  uint64_t v[512];
  unsigned n = anyload_stack_stat_count();

  if (n > 512)
    fail("too many counters");
  anyload_stack_stats(st, v, n, 1);
  if (S(rx_tcp_segs) != S(rx_drop_tcp_trunc) + S(rx_drop_tcp_doff) +
                        S(rx_drop_tcp_csum) + S(rx_drop_tcp_addr) +
                        S(rx_drop_tcp_no_sock) +
                        S(rx_drop_tcp_listener_gone) + S(tcp_rx_conn_segs) +
                        S(tcp_rx_listen_segs))
    fail("a TCP segment without exactly one outcome");
  if (S(rx_frames) > S(rx_drop_multibuf) + S(rx_drop_eth_trunc) +
                     S(rx_drop_not_ip) + S(rx_drop_ip_trunc) +
                     S(rx_drop_ip_version) + S(rx_drop_ip_ihl) +
                     S(rx_drop_ip_len) + S(rx_drop_ip_csum) +
                     S(rx_drop_ip_frag) + S(rx_drop_ip_src) +
                     S(rx_drop_ip_dst) + S(rx_drop_ip_proto) +
                     S(rx_tcp_segs) + S(rx_icmp) + S(reasm_frags) +
                     S(rx_drop_udp_trunc) + S(rx_drop_udp_len) +
                     S(rx_drop_udp_csum) + S(rx_drop_udp_no_sock) +
                     S(rx_drop_rcvbuf) + S(rx_drop_pool_low) +
                     S(rx_udp_datagrams))
    fail("a frame vanished without a counter");
}

static void app_op(uint8_t op, uint8_t n, int sd)
{
  static uint8_t buf[16384];
  struct iovec iov = { buf, sizeof(buf) };
  int64_t now = anyload_sim_clock_now();
  int one = 1;

  switch (op % 5) {
  case 0:
    iov.iov_len = (size_t)n * 64;
    memset(buf, n, iov.iov_len);
    anyload_tcp_send(st, sd, &iov, 1, 0, now);
    break;
  case 1:
    anyload_tcp_recv(st, sd, &iov, 1, n & 1 ? MSG_PEEK : 0, now);
    break;
  case 2:
    anyload_tcp_shutdown(st, sd, SHUT_WR, now);
    break;
  case 3:
    anyload_tcp_setsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &one,
                           sizeof(one), now);
    break;
  default:
    if (n_app < MAX_APP) {
      int c = anyload_tcp_accept(st, listener, NULL, now);
      if (c >= 0)
        app[n_app++] = c;
    }
    break;
  }
  poll_all();
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  static uint8_t frame[BUF];
  struct anyload_stack_info in;
  struct linger lg = { 1, 0 };
  size_t off = 0;
  int sd, k, c;

  if (!ready)
    return 0;
  n_app = 0;
  sd = connect_one();
  if (sd < 0)
    fail("handshake");
  while (off < size) {
    uint8_t kind = data[off++];
    switch (kind % 4) {
    case 0: {
      size_t len;
      if (size - off < 2)
        goto end;
      len = (size_t)data[off] << 8 | data[off + 1];
      off += 2;
      if (len > size - off)
        len = size - off;
      if (len > 0 && len <= BUF - 64) {
        memcpy(frame, data + off, len);
        raw_send(frame, len);
      }
      off += len;
      break;
    }
    case 1: {
      uint8_t flags, target, olen, dlen;
      uint32_t dseq, dack;
      uint16_t win;
      const uint8_t* opts;
      if (size - off < 12)
        goto end;
      flags = data[off];
      target = data[off + 1];
      dseq = be32(data + off + 2);
      dack = be32(data + off + 6);
      win = (uint16_t)(data[off + 10] << 8 | data[off + 11]);
      off += 12;
      if (off >= size)
        goto end;
      olen = data[off++];
      if (olen > 40)
        olen = 40;
      if (olen > size - off)
        olen = (uint8_t)(size - off);
      opts = data + off;
      off += olen;
      dlen = off < size ? data[off++] : 0;
      if (target % 3 == 0)
        send_seg(peer_port, 80, peer_nxt + dseq, stack_iss + 1 + dack, flags,
                 win, opts, olen, dlen);
      else if (target % 3 == 1)
        send_seg((uint16_t)(40000 + target), 80, dseq, dack, flags, win,
                 opts, olen, dlen);
      else
        send_seg(peer_port, 81, dseq, dack, flags, win, opts, olen, dlen);
      break;
    }
    case 2:
      if (size - off < 2)
        goto end;
      app_op(data[off], data[off + 1], sd);
      off += 2;
      break;
    default:
      if (off >= size)
        goto end;
      anyload_sim_clock_advance((int64_t)data[off++] * 1000000ll);
      poll_all();
      break;
    }
  }
end:
  /* Close everything and let every connection end. */
  for (k = 0; k < n_app; k++) {
    anyload_tcp_setsockopt(st, app[k], SOL_SOCKET, SO_LINGER, &lg,
                           sizeof(lg), anyload_sim_clock_now());
    anyload_tcp_close(st, app[k], anyload_sim_clock_now());
  }
  anyload_tcp_close(st, sd, anyload_sim_clock_now());
  while ((c = anyload_tcp_accept(st, listener, NULL,
                                 anyload_sim_clock_now())) >= 0) {
    anyload_tcp_setsockopt(st, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg),
                           anyload_sim_clock_now());
    anyload_tcp_close(st, c, anyload_sim_clock_now());
  }
  poll_all();
  for (k = 0; k < 60; k++) {
    anyload_sim_clock_advance(30ll * 1000000000ll);
    poll_all();
  }
  while ((c = anyload_tcp_accept(st, listener, NULL,
                                 anyload_sim_clock_now())) >= 0)
    anyload_tcp_close(st, c, anyload_sim_clock_now());
  anyload_stack_info(st, &in);
  if (in.tcp_connections || in.tcp_sockets != 1 || in.tcp_listening != 1 ||
      in.tcp_buf_bytes || in.timers) {
    fprintf(stderr, "tcp_rx fuzz: connections %u sockets %u listening %u "
            "time_wait %u buffer bytes %llu timers %u\n", in.tcp_connections,
            in.tcp_sockets, in.tcp_listening, in.tcp_time_wait,
            (unsigned long long)in.tcp_buf_bytes, in.timers);
    fail("connections, buffers or timers left after an input");
  }
  if (in.pkt_free + in.pkt_rx_ring + in.pkt_tx_ring != in.pkt_total ||
      in.pkt_sock_rxq || in.pkt_neigh_wait)
    fail("packet buffers left after an input");
  check_counters();
  return 0;
}
