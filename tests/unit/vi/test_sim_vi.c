/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for vi/sim_vi.c: the ef_vi API over simulated links
 * (ANYLOAD_BACKEND=sim), with no kernel interface and no privilege. Two
 * VIs on the two ends of a link: interface names, MTU and MAC; RX events
 * in posting order with the posted ids; ring wrap over thousands of frames
 * with their bytes checked; TX completions in order through
 * ef_vi_transmit_unbundle; RX_NO_DESC_TRUNC; -EAGAIN on full rings;
 * -EINVAL for addresses outside registered memory; TX_ERROR 2BIG; frames
 * over several small buffers (EF_EVENT_RX_CONT); filter steering between
 * VIs sharing an interface; waiting, the driver handle and RX timestamps
 * on the virtual clock, and once on the real clock; the loss mask and the
 * rate limit seen through VIs; links from ANYLOAD_SIM_LINKS in a fresh
 * process. Apart from the one real-clock test, time is virtual.
 */
#include "unit_test.h"
#include "vi/vi_int.h"
#include "vi/sim_int.h"
#include "vi/swq.h"

#include <anyload/sim.h>
#include <anyload/vi_ext.h>
#include <arpa/inet.h>
#include <etherfabric/capabilities.h>
#include <etherfabric/checksum.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS  1000000ll
#define BUF 2048

/* ---- fixture ----------------------------------------------------------- */

static int64_t vclock(void)
{
  if (!anyload_sim_clock_is_virtual())
    CHECK(anyload_sim_clock_set(1000 * MS), ==, 0);
  return anyload_sim_clock_now();
}

/* One VI with nbufs buffers of BUF bytes; buffer i has request id i. */
struct ep {
  ef_driver_handle dh;
  ef_pd     pd;
  ef_memreg mr;
  ef_vi     vi;
  uint8_t*  mem;
  unsigned  nbufs;
  unsigned  next_post;    /* ep_refill: next buffer to post */
};

static void ep_open_flags(struct ep* e, const char* ifname, int ring,
                          unsigned nbufs, enum ef_vi_flags flags)
{
  memset(e, 0, sizeof(*e));
  CHECK(setenv("ANYLOAD_BACKEND", "sim", 1), ==, 0);
  CHECK(ef_driver_open(&e->dh), ==, 0);
  CHECK(ef_pd_alloc_by_name(&e->pd, e->dh, ifname, EF_PD_DEFAULT), ==, 0);
  e->nbufs = nbufs;
  e->mem = mmap(NULL, (size_t)nbufs * BUF, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK_PTR(e->mem, !=, MAP_FAILED);
  CHECK(ef_memreg_alloc(&e->mr, e->dh, &e->pd, e->dh, e->mem,
                        (size_t)nbufs * BUF), ==, 0);
  CHECK(ef_vi_alloc_from_pd(&e->vi, e->dh, &e->pd, e->dh, -1, ring, ring,
                            NULL, -1, flags), >=, 0);
}

static void ep_open(struct ep* e, const char* ifname, int ring,
                    unsigned nbufs)
{
  ep_open_flags(e, ifname, ring, nbufs, EF_VI_FLAGS_DEFAULT);
}

static ef_addr ep_addr(struct ep* e, unsigned i)
{
  return ef_memreg_dma_addr(&e->mr, (size_t)i * BUF);
}

static uint8_t* ep_buf(struct ep* e, unsigned i)
{
  return e->mem + (size_t)i * BUF;
}

static void ep_close(struct ep* e)
{
  CHECK(ef_vi_free(&e->vi, e->dh), ==, 0);
  CHECK(ef_memreg_free(&e->mr, e->dh), ==, 0);
  CHECK(ef_pd_free(&e->pd, e->dh), ==, 0);
  munmap(e->mem, (size_t)e->nbufs * BUF);
  CHECK(ef_driver_close(e->dh), ==, 0);
}

/* ep_refill: post buffers, cycling through all of them, until the ring is
 * full or every buffer is posted. Buffers come back in posting order, so
 * the one posted next is never still in use. */
static void ep_refill(struct ep* e)
{
  while (ef_vi_receive_space(&e->vi) > 0 &&
         ef_vi_receive_fill_level(&e->vi) < (int)e->nbufs) {
    unsigned i = e->next_post++ % e->nbufs;
    CHECK(ef_vi_receive_post(&e->vi, ep_addr(e, i), (ef_request_id)i), ==,
          0);
  }
}

static struct anyload_sim_config* cfg_default(struct anyload_sim_config* c)
{
  anyload_sim_config_init(c);
  return c;
}

/* ---- frames ------------------------------------------------------------ */

static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };

/* mk_raw: a frame of len bytes (>= 18), EtherType 0x88b5, seq after the
 * Ethernet header, then a pattern of seq. */
static void mk_raw(uint8_t* p, uint32_t seq, unsigned len)
{
  unsigned i;

  memcpy(p, mac_b, 6);
  memcpy(p + 6, mac_a, 6);
  p[12] = 0x88;
  p[13] = 0xb5;
  memcpy(p + 14, &seq, 4);
  for (i = 18; i < len; i++)
    p[i] = (uint8_t)(seq * 13 + i * 7);
}

static uint32_t raw_seq(const uint8_t* p)
{
  uint32_t seq;
  memcpy(&seq, p + 14, 4);
  return seq;
}

/* mk_udp: Ethernet + IPv4 + UDP to dst MAC dmac, seq as the first 4
 * payload bytes (offset 42); the IP checksum is right and the UDP one 0
 * (none). Returns the frame length. */
static unsigned mk_udp(uint8_t* p, const uint8_t* dmac, const char* src,
                       uint16_t sport, const char* dst, uint16_t dport,
                       uint32_t seq)
{
  struct iphdr ip;
  struct udphdr udp;
  unsigned paylen = 20;

  memcpy(p, dmac, 6);
  memcpy(p + 6, mac_a, 6);
  p[12] = 0x08;
  p[13] = 0x00;
  memset(&ip, 0, sizeof(ip));
  ip.version = 4;
  ip.ihl = 5;
  ip.tot_len = htons((uint16_t)(20 + 8 + paylen));
  ip.ttl = 64;
  ip.protocol = 17;
  CHECK(inet_pton(AF_INET, src, &ip.saddr), ==, 1);
  CHECK(inet_pton(AF_INET, dst, &ip.daddr), ==, 1);
  ip.check = (uint16_t)ef_ip_checksum(&ip);
  memcpy(p + 14, &ip, 20);
  memset(&udp, 0, sizeof(udp));
  udp.source = htons(sport);
  udp.dest = htons(dport);
  udp.len = htons((uint16_t)(8 + paylen));
  memcpy(p + 34, &udp, 8);
  memset(p + 42, 0, paylen);
  memcpy(p + 42, &seq, 4);
  return 14 + 20 + 8 + paylen;
}

/* rx_seqs: poll e until it reports nothing more; every event must be RX
 * (TX events are accepted and unbundled); the seq of each frame (at
 * seq_off) into seqs[]; buffers are reposted. Returns the RX count. */
static int rx_seqs(struct ep* e, uint32_t* seqs, int max, unsigned seq_off)
{
  ef_event evs[16];
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int n, i, got = 0;

  while ((n = ef_eventq_poll(&e->vi, evs, 16)) > 0)
    for (i = 0; i < n; i++) {
      unsigned t = EF_EVENT_TYPE(evs[i]);
      if (t == EF_EVENT_TYPE_TX) {
        CHECK(ef_vi_transmit_unbundle(&e->vi, &evs[i], ids), >, 0);
        continue;
      }
      CHECK(t, ==, EF_EVENT_TYPE_RX);
      if (got < max)
        memcpy(&seqs[got],
               ep_buf(e, (unsigned)EF_EVENT_RX_RQ_ID(evs[i])) + seq_off, 4);
      got++;
      ep_refill(e);
    }
  return got;
}

/* tx_drain: poll e, unbundling TX completions, expecting ids in order from
 * *next; returns how many completed. */
static int tx_drain(struct ep* e, ef_request_id* next)
{
  ef_event evs[16];
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int n, i, k, m, done = 0;

  while ((n = ef_eventq_poll(&e->vi, evs, 16)) > 0)
    for (i = 0; i < n; i++) {
      CHECK(EF_EVENT_TYPE(evs[i]), ==, EF_EVENT_TYPE_TX);
      m = ef_vi_transmit_unbundle(&e->vi, &evs[i], ids);
      CHECK(m, >, 0);
      for (k = 0; k < m; k++)
        CHECK(ids[k], ==, (*next)++);
      done += m;
    }
  return done;
}

/* ---- tests ------------------------------------------------------------- */

static void test_sim_vi_names_mtu_mac(void)
{
  struct anyload_sim_config cfg;
  struct ep a;
  ef_pd pd2, pd3;
  ef_vi vi2;
  uint8_t mac[6];
  unsigned long val = 0;

  vclock();
  cfg_default(&cfg);
  cfg.mtu = 9000;
  memcpy(cfg.mac_a, mac_a, 6);
  CHECK(anyload_sim_link_create("nmA", "nmB", &cfg), ==, 0);
  ep_open(&a, "nmA", -1, 4);
  CHECK_STR(ef_pd_interface_name(&a.pd), ==, "nmA");
  CHECK(a.pd.pd_ifindex, >=, SIM_IFINDEX_BASE);
  CHECK(ef_vi_mtu(&a.vi, a.dh), ==, 9014);
  CHECK_STR(anyload_vi_backend(&a.vi), ==, "sim");
  {
    char d[96];
    CHECK(anyload_vi_describe(&a.vi, d, sizeof(d)), >, 0);
    CHECK_STR(d, ==, "sim, link nmA-nmB, virtual clock");
  }
  CHECK(ef_vi_get_mac(&a.vi, a.dh, mac), ==, 0);
  CHECK_MEM(mac, mac_a, 6);
  CHECK(ef_vi_capabilities_get(a.dh, a.pd.pd_ifindex,
                               EF_VI_CAP_RX_FILTER_TYPE_UDP_LOCAL, &val), ==,
        0);
  CHECK(val, ==, 1);

  /* By index, and names that are not sim interfaces. */
  CHECK(ef_pd_alloc(&pd2, a.dh, a.pd.pd_ifindex + 1, EF_PD_DEFAULT), ==, 0);
  CHECK_STR(ef_pd_interface_name(&pd2), ==, "nmB");
  CHECK(ef_pd_alloc_by_name(&pd2, a.dh, "nosuch", EF_PD_DEFAULT), ==,
        -ENODEV);
  CHECK(ef_pd_alloc(&pd3, a.dh, 1, EF_PD_DEFAULT), ==, -ENODEV);
  CHECK(ef_vi_alloc_from_pd(&vi2, a.dh, &pd2, a.dh, -1, -1, -1, NULL, -1,
                            EF_VI_RX_ZEROCOPY), ==, -EOPNOTSUPP);
  /* A link with VIs stays; a PD outliving its link gets -ENODEV. */
  CHECK(anyload_sim_link_destroy("nmB"), ==, -EBUSY);
  ep_close(&a);
  CHECK(anyload_sim_link_destroy("nmB"), ==, 0);
  CHECK(ef_vi_alloc_from_pd(&vi2, -1, &pd2, -1, -1, -1, -1, NULL, -1, 0),
        ==, -ENODEV);
  CHECK(ef_pd_free(&pd2, -1), ==, 0);

  /* Only ANYLOAD_BACKEND=sim sees sim interfaces; auto never picks sim. */
  CHECK(anyload_sim_link_create("nmC", "nmD", NULL), ==, 0);
  CHECK(unsetenv("ANYLOAD_BACKEND"), ==, 0);
  CHECK(ef_pd_alloc_by_name(&pd2, -1, "nmC", EF_PD_DEFAULT), ==, -ENODEV);
  CHECK_PTR(vi_backend_fallback(&afxdp_ops, -EAFNOSUPPORT), !=, &sim_ops);
  CHECK_PTR(vi_backend_fallback(&afxdp_ops, -EOPNOTSUPP), !=, &sim_ops);
  CHECK(setenv("ANYLOAD_BACKEND", "nosuchbackend", 1), ==, 0);
  CHECK(ef_pd_alloc_by_name(&pd2, -1, "nmC", EF_PD_DEFAULT), ==, -EINVAL);
  CHECK(setenv("ANYLOAD_BACKEND", "sim", 1), ==, 0);
  CHECK(ef_pd_alloc_by_name(&pd2, -1, "nmC", EF_PD_DEFAULT), ==, 0);
  CHECK(ef_pd_free(&pd2, -1), ==, 0);
  CHECK(anyload_sim_link_destroy("nmC"), ==, 0);
}

static void test_sim_vi_rx_order_ids(void)
{
  struct anyload_sim_config cfg;
  struct ep a, b;
  ef_event evs[32];
  unsigned order[16];
  int i, n;

  vclock();
  CHECK(anyload_sim_link_create("roA", "roB", cfg_default(&cfg)), ==, 0);
  ep_open(&a, "roA", -1, 16);
  ep_open(&b, "roB", -1, 16);
  /* Buffers posted in a scrambled order, each with an id of its own. */
  for (i = 0; i < 16; i++) {
    order[i] = (unsigned)(i * 7) % 16;
    CHECK(ef_vi_receive_init(&b.vi, ep_addr(&b, order[i]),
                             (ef_request_id)(1000 + order[i])), ==, 0);
  }
  ef_vi_receive_push(&b.vi);
  CHECK(ef_vi_receive_fill_level(&b.vi), ==, 16);
  for (i = 0; i < 16; i++) {
    mk_raw(ep_buf(&a, (unsigned)i), (uint32_t)i, 60 + (unsigned)i * 10);
    CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, (unsigned)i),
                         60 + i * 10, (ef_request_id)i), ==, 0);
  }
  n = ef_eventq_poll(&b.vi, evs, 32);
  CHECK(n, ==, 16);
  for (i = 0; i < 16; i++) {
    uint8_t ref[256];
    CHECK(EF_EVENT_TYPE(evs[i]), ==, EF_EVENT_TYPE_RX);
    CHECK(EF_EVENT_RX_RQ_ID(evs[i]), ==, 1000 + order[i]);
    CHECK(EF_EVENT_RX_BYTES(evs[i]), ==, 60 + i * 10);
    CHECK(EF_EVENT_RX_SOP(evs[i]), !=, 0);
    CHECK(EF_EVENT_RX_CONT(evs[i]), ==, 0);
    mk_raw(ref, (uint32_t)i, 60 + (unsigned)i * 10);
    CHECK_MEM(ep_buf(&b, order[i]), ref, 60 + (size_t)i * 10);
  }
  CHECK(ef_vi_receive_fill_level(&b.vi), ==, 0);
  CHECK(ef_eventq_poll(&b.vi, evs, 32), ==, 0);
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("roA"), ==, 0);
}

static void test_sim_vi_ring_wrap(void)
{
  enum { N = 6000, TXB = 256 };
  struct anyload_sim_config cfg;
  struct ep a, b;
  ef_event evs[32];
  ef_request_id next_done = 0;
  uint32_t sent = 0, received = 0;
  uint64_t stats[VI_SWQ_N_COUNTERS];
  const ef_vi_stats_layout* lay;
  int i, n;

  vclock();
  CHECK(anyload_sim_link_create("wrA", "wrB", cfg_default(&cfg)), ==, 0);
  ep_open(&a, "wrA", 512, TXB);
  ep_open(&b, "wrB", 512, 1024);
  ep_refill(&b);
  while (received < N) {
    while (sent < N && sent - (uint32_t)next_done < TXB &&
           ef_vi_transmit_space(&a.vi) > 0) {
      unsigned len = 60 + sent % 1400;
      mk_raw(ep_buf(&a, sent % TXB), sent, len);
      CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, sent % TXB), (int)len,
                           (ef_request_id)sent), ==, 0);
      sent++;
    }
    tx_drain(&a, &next_done);
    while ((n = ef_eventq_poll(&b.vi, evs, 32)) > 0)
      for (i = 0; i < n; i++) {
        unsigned id = (unsigned)EF_EVENT_RX_RQ_ID(evs[i]);
        unsigned len = 60 + received % 1400;
        uint8_t ref[BUF];
        CHECK(EF_EVENT_TYPE(evs[i]), ==, EF_EVENT_TYPE_RX);
        /* Buffers come back in posting order: ids cycle through 0..1023. */
        CHECK(id, ==, received % 1024);
        CHECK(EF_EVENT_RX_BYTES(evs[i]), ==, len);
        mk_raw(ref, received, len);
        CHECK_MEM(ep_buf(&b, id), ref, len);
        received++;
      }
    ep_refill(&b);
  }
  tx_drain(&a, &next_done);
  CHECK(next_done, ==, N);
  CHECK(ef_vi_transmit_fill_level(&a.vi), ==, 0);
  CHECK(ef_vi_stats_query_layout(&b.vi, &lay), ==, 0);
  CHECK(lay->evsl_fields_num, ==, VI_SWQ_N_COUNTERS);
  CHECK_STR(lay->evsl_fields[0].evsfl_name, ==, "rx_frames");
  CHECK(ef_vi_stats_query(&b.vi, b.dh, stats, 1), ==, 0);
  CHECK(stats[0], ==, N);
  CHECK(stats[2], ==, 0);       /* rx_no_desc_drops */
  CHECK(ef_vi_stats_query(&a.vi, a.dh, stats, 0), ==, 0);
  CHECK(stats[6], ==, N);       /* tx_frames */
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("wrA"), ==, 0);
}

static void test_sim_vi_rx_no_desc(void)
{
  struct ep a, b;
  ef_event evs[8];
  uint64_t stats[VI_SWQ_N_COUNTERS];
  int i, n;

  vclock();
  CHECK(anyload_sim_link_create("ndA", "ndB", NULL), ==, 0);
  ep_open(&a, "ndA", -1, 4);
  ep_open(&b, "ndB", -1, 4);
  mk_raw(ep_buf(&a, 0), 1, 100);
  for (i = 0; i < 3; i++)
    CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 100, i), ==, 0);
  n = ef_eventq_poll(&b.vi, evs, 8);
  CHECK(n, ==, 3);
  for (i = 0; i < 3; i++)
    CHECK(EF_EVENT_TYPE(evs[i]), ==, EF_EVENT_TYPE_RX_NO_DESC_TRUNC);
  CHECK(ef_vi_stats_query(&b.vi, b.dh, stats, 0), ==, 0);
  CHECK(stats[2], ==, 3);
  /* With a buffer, the next frame arrives. */
  CHECK(ef_vi_receive_post(&b.vi, ep_addr(&b, 1), 1), ==, 0);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 100, 3), ==, 0);
  n = ef_eventq_poll(&b.vi, evs, 8);
  CHECK(n, ==, 1);
  CHECK(EF_EVENT_TYPE(evs[0]), ==, EF_EVENT_TYPE_RX);
  CHECK(EF_EVENT_RX_RQ_ID(evs[0]), ==, 1);
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("ndA"), ==, 0);
}

static void test_sim_vi_ring_errors(void)
{
  struct ep a, b;
  ef_event evs[8];
  ef_request_id ids[EF_VI_TRANSMIT_BATCH], next = 0;
  ef_iovec iov[2];
  int i, cap, n, rx = 0;

  vclock();
  CHECK(anyload_sim_link_create("erA", "erB", NULL), ==, 0);
  ep_open(&a, "erA", 32, 4);
  ep_open(&b, "erB", 32, 4);

  /* Receive ring: capacity buffers, then -EAGAIN; bad addresses. */
  cap = ef_vi_receive_capacity(&b.vi);
  CHECK(cap, ==, 63);
  for (i = 0; i < cap; i++)
    CHECK(ef_vi_receive_init(&b.vi, ep_addr(&b, (unsigned)i % 4), i), ==, 0);
  CHECK(ef_vi_receive_init(&b.vi, ep_addr(&b, 0), 99), ==, -EAGAIN);
  ef_vi_receive_push(&b.vi);
  CHECK(ef_vi_receive_init(&a.vi, ep_addr(&a, 4), 0), ==, -EINVAL);
  CHECK(ef_vi_receive_init(&a.vi, 12345, 0), ==, -EINVAL);

  /* Transmit: bad addresses and lengths. */
  mk_raw(ep_buf(&a, 0), 7, 1518);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 4), 60, 0), ==, -EINVAL);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 3) + BUF - 10, 60, 0), ==,
        -EINVAL);
  CHECK(ef_vi_transmit(&a.vi, 0, 60, 0), ==, -EINVAL);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 0, 0), ==, -EINVAL);
  iov[0].iov_base = ep_addr(&a, 0);
  iov[0].iov_len = 30;
  iov[1].iov_base = 99;
  iov[1].iov_len = 30;
  CHECK(ef_vi_transmitv(&a.vi, iov, 2, 0), ==, -EINVAL);
  CHECK(ef_vi_transmit_fill_level(&a.vi), ==, 0);

  /* Transmit ring: capacity frames without polling, then -EAGAIN. Frame 1
   * is one byte over MTU + Ethernet + VLAN tag: TX_ERROR 2BIG, in its
   * place in the completion order. */
  cap = ef_vi_transmit_capacity(&a.vi);
  CHECK(cap, ==, 63);
  for (i = 0; i < cap; i++)
    CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), i == 1 ? 1519 : 1518, i), ==,
          0);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 60, cap), ==, -EAGAIN);
  CHECK(ef_vi_transmit_space(&a.vi), ==, 0);
  n = ef_eventq_poll(&a.vi, evs, 8);
  CHECK(n, ==, 3);
  CHECK(EF_EVENT_TYPE(evs[0]), ==, EF_EVENT_TYPE_TX);
  CHECK(ef_vi_transmit_unbundle(&a.vi, &evs[0], ids), ==, 1);
  CHECK(ids[0], ==, 0);
  CHECK(EF_EVENT_TYPE(evs[1]), ==, EF_EVENT_TYPE_TX_ERROR);
  CHECK(EF_EVENT_TX_ERROR_TYPE(evs[1]), ==, EF_EVENT_TX_ERROR_2BIG);
  CHECK(ef_vi_transmit_unbundle(&a.vi, &evs[1], ids), ==, 1);
  CHECK(ids[0], ==, 1);
  CHECK(EF_EVENT_TYPE(evs[2]), ==, EF_EVENT_TYPE_TX);
  CHECK(ef_vi_transmit_unbundle(&a.vi, &evs[2], ids), ==, 61);
  for (i = 0; i < 61; i++)
    CHECK(ids[i], ==, i + 2);
  next = cap;
  CHECK(tx_drain(&a, &next), ==, 0);
  CHECK(ef_vi_transmit_space(&a.vi), ==, cap);

  /* The receiver got the 62 good frames, all 1518 bytes. */
  while ((n = ef_eventq_poll(&b.vi, evs, 8)) > 0)
    for (i = 0; i < n; i++) {
      CHECK(EF_EVENT_TYPE(evs[i]), ==, EF_EVENT_TYPE_RX);
      CHECK(EF_EVENT_RX_BYTES(evs[i]), ==, 1518);
      CHECK(EF_EVENT_RX_RQ_ID(evs[i]), ==, rx);
      rx++;
    }
  CHECK(rx, ==, 62);
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("erA"), ==, 0);
}

static void test_sim_vi_multibuf(void)
{
  struct ep a, b;
  ef_event evs[8];
  uint8_t got[1000], ref[1000];
  int i, n;
  size_t off = 0;

  vclock();
  CHECK(anyload_sim_link_create("mbA", "mbB", NULL), ==, 0);
  ep_open(&a, "mbA", -1, 4);
  ep_open(&b, "mbB", -1, 8);
  ef_vi_receive_set_buffer_len(&b.vi, 256);
  for (i = 0; i < 8; i++)
    CHECK(ef_vi_receive_post(&b.vi, ep_addr(&b, (unsigned)i), 10 + i), ==,
          0);
  mk_raw(ep_buf(&a, 0), 42, 1000);
  mk_raw(ref, 42, 1000);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 1000, 0), ==, 0);
  n = ef_eventq_poll(&b.vi, evs, 8);
  CHECK(n, ==, 4);
  for (i = 0; i < 4; i++) {
    unsigned len = i < 3 ? 256 : 1000 - 3 * 256;
    CHECK(EF_EVENT_TYPE(evs[i]), ==, EF_EVENT_TYPE_RX);
    CHECK(EF_EVENT_RX_RQ_ID(evs[i]), ==, 10 + i);
    /* As the original: bytes of the frame so far, not of this buffer. */
    CHECK(EF_EVENT_RX_BYTES(evs[i]), ==, off + len);
    CHECK(EF_EVENT_RX_SOP(evs[i]) != 0, ==, i == 0);
    CHECK(EF_EVENT_RX_CONT(evs[i]) != 0, ==, i < 3);
    memcpy(got + off, ep_buf(&b, (unsigned)i), len);
    off += len;
  }
  CHECK(off, ==, 1000);
  CHECK_MEM(got, ref, 1000);
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("mbA"), ==, 0);
}

static void test_sim_vi_filters(void)
{
  static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
  struct anyload_sim_config cfg;
  struct anyload_sim_stats st;
  struct ep a, v1, v2, v3;
  ef_filter_spec fs;
  ef_filter_cookie c1, c2, c3;
  uint32_t seqs[16];
  unsigned len;
  uint32_t local_ip, remote_ip;

  vclock();
  cfg_default(&cfg);
  memcpy(cfg.mac_b, mac_b, 6);
  CHECK(anyload_sim_link_create("fiA", "fiB", &cfg), ==, 0);
  ep_open(&a, "fiA", -1, 8);
  ep_open(&v1, "fiB", -1, 8);
  ep_open(&v2, "fiB", -1, 8);
  ep_open(&v3, "fiB", -1, 8);
  ep_refill(&v1);
  ep_refill(&v2);
  ep_refill(&v3);
  inet_pton(AF_INET, "198.18.1.2", &local_ip);
  inet_pton(AF_INET, "198.18.1.1", &remote_ip);

  /* v1: UDP to 198.18.1.2:5000. v2: the same from 198.18.1.1:6000 (more
   * specific), and all multicast. v3: no filter, so the rest. */
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_ip4_local(&fs, IPPROTO_UDP, local_ip,
                                     htons(5000)), ==, 0);
  CHECK(ef_vi_filter_add(&v1.vi, v1.dh, &fs, &c1), ==, 0);
  CHECK(ef_vi_filter_add(&v1.vi, v1.dh, &fs, NULL), ==, -EEXIST);
  CHECK(ef_vi_filter_add(&v3.vi, v3.dh, &fs, NULL), ==, -EBUSY);
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_ip4_full(&fs, IPPROTO_UDP, local_ip, htons(5000),
                                    remote_ip, htons(6000)), ==, 0);
  CHECK(ef_vi_filter_add(&v2.vi, v2.dh, &fs, NULL), ==, 0);
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_multicast_all(&fs), ==, 0);
  CHECK(ef_vi_filter_add(&v2.vi, v2.dh, &fs, &c2), ==, 0);
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_multicast_mismatch(&fs), ==, 0);
  CHECK(ef_vi_filter_add(&v2.vi, v2.dh, &fs, NULL), ==, -EOPNOTSUPP);

#define SEND_UDP(dmac, sport, dst, dport, seq)                              \
  do {                                                                      \
    len = mk_udp(ep_buf(&a, 0), dmac, "198.18.1.1", sport, dst, dport, seq); \
    CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), (int)len, (int)(seq)), ==,  \
          0);                                                               \
  } while (0)

  SEND_UDP(mac_b, 6001, "198.18.1.2", 5000, 1);     /* v1: local */
  SEND_UDP(mac_b, 6000, "198.18.1.2", 5000, 2);     /* v2: full */
  SEND_UDP(mac_b, 6000, "198.18.1.2", 5001, 3);     /* v3: no match */
  SEND_UDP(mcast, 6000, "239.1.1.1", 5000, 4);      /* v2: multicast */
  mk_raw(ep_buf(&a, 1), 5, 60);                     /* v3: not IP */
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 1), 60, 5), ==, 0);
  CHECK(rx_seqs(&v1, seqs, 16, 42), ==, 1);
  CHECK(seqs[0], ==, 1);
  CHECK(rx_seqs(&v2, seqs, 16, 42), ==, 2);
  CHECK(seqs[0], ==, 2);
  CHECK(seqs[1], ==, 4);
  CHECK(rx_seqs(&v3, seqs, 16, 42), ==, 2);
  CHECK(seqs[0], ==, 3);
  CHECK(raw_seq(ep_buf(&v3, 1) ), ==, 5);

  /* Without v3 nobody takes unclaimed frames: dropped and counted. */
  ep_close(&v3);
  SEND_UDP(mac_b, 6000, "198.18.1.2", 5001, 6);
  CHECK(rx_seqs(&v1, seqs, 16, 42), ==, 0);
  CHECK(rx_seqs(&v2, seqs, 16, 42), ==, 0);
  CHECK(anyload_sim_link_stats("fiA", &st, 0), ==, 0);
  CHECK(st.unclaimed, ==, 1);
  CHECK(st.delivered, ==, 6);

  /* v1 without its filter is the default VI: the rest goes there, while
   * v2's filters still win. */
  CHECK(ef_vi_filter_del(&v1.vi, v1.dh, &c1), ==, 0);
  CHECK(ef_vi_filter_del(&v1.vi, v1.dh, &c1), ==, -EINVAL);
  SEND_UDP(mac_b, 6001, "198.18.1.2", 5000, 7);
  SEND_UDP(mac_b, 6000, "198.18.1.2", 5000, 8);
  CHECK(rx_seqs(&v1, seqs, 16, 42), ==, 1);
  CHECK(seqs[0], ==, 7);
  CHECK(rx_seqs(&v2, seqs, 16, 42), ==, 1);
  CHECK(seqs[0], ==, 8);

  /* Unicast-all on v2 now takes what has no better match. */
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_unicast_all(&fs), ==, 0);
  CHECK(ef_vi_filter_add(&v2.vi, v2.dh, &fs, &c3), ==, 0);
  SEND_UDP(mac_b, 6001, "198.18.1.2", 5000, 9);
  CHECK(rx_seqs(&v1, seqs, 16, 42), ==, 0);
  CHECK(rx_seqs(&v2, seqs, 16, 42), ==, 1);
  CHECK(seqs[0], ==, 9);
  CHECK(ef_vi_filter_del(&v2.vi, v2.dh, &c3), ==, 0);

  /* Block-kernel (unicast) on v2 drops the unicast frames that would go
   * to the default VI v1; a MAC filter on v1 still gets its frames. */
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_block_kernel_unicast(&fs), ==, 0);
  CHECK(ef_vi_filter_add(&v2.vi, v2.dh, &fs, NULL), ==, 0);
  SEND_UDP(mac_b, 6000, "198.18.1.2", 5001, 10);
  CHECK(rx_seqs(&v1, seqs, 16, 42), ==, 0);
  CHECK(rx_seqs(&v2, seqs, 16, 42), ==, 0);
  CHECK(anyload_sim_link_stats("fiA", &st, 0), ==, 0);
  CHECK(st.unclaimed, ==, 2);
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_eth_local(&fs, EF_FILTER_VLAN_ID_ANY, mac_b), ==,
        0);
  CHECK(ef_vi_filter_add(&v1.vi, v1.dh, &fs, NULL), ==, 0);
  mk_raw(ep_buf(&a, 1), 11, 60);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 1), 60, 11), ==, 0);
  SEND_UDP(mac_b, 6000, "198.18.1.2", 5000, 12);    /* v2: full wins */
  CHECK(rx_seqs(&v1, seqs, 16, 14), ==, 1);
  CHECK(seqs[0], ==, 11);
  CHECK(rx_seqs(&v2, seqs, 16, 42), ==, 1);
  CHECK(seqs[0], ==, 12);
  CHECK(rx_seqs(&a, seqs, 16, 42), ==, 0);   /* TX completions only */
#undef SEND_UDP

  ep_close(&a);
  ep_close(&v1);
  ep_close(&v2);
  CHECK(anyload_sim_link_destroy("fiA"), ==, 0);
}

static void test_sim_vi_wait_virtual(void)
{
  struct anyload_sim_config cfg;
  struct ep a, b;
  struct timeval tv = { 0, 100000 };
  struct pollfd pfd;
  ef_event evs[4];
  ef_timespec ts;
  ef_request_id next = 0;
  int64_t t0 = vclock();
  int n;

  cfg_default(&cfg);
  cfg.a_to_b.latency_ns = MS;
  CHECK(anyload_sim_link_create("wvA", "wvB", &cfg), ==, 0);
  ep_open(&a, "wvA", -1, 4);
  ep_open_flags(&b, "wvB", -1, 4, EF_VI_RX_TIMESTAMPS);
  ep_refill(&b);
  mk_raw(ep_buf(&a, 0), 1, 60);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 60, 0), ==, 0);

  /* In flight: nothing to see, and waiting cannot make time pass. */
  CHECK(ef_eventq_poll(&b.vi, evs, 4), ==, 0);
  CHECK(ef_eventq_has_event(&b.vi), ==, 0);
  CHECK(ef_eventq_wait(&b.vi, b.dh, 0, &tv), ==, -ETIMEDOUT);
  CHECK(ef_eventq_wait(&b.vi, b.dh, 0, NULL), ==, -ETIMEDOUT);
  pfd.fd = b.dh;
  pfd.events = POLLIN;
  CHECK(poll(&pfd, 1, 0), ==, 0);
  /* The sender's completion is ready at once: its handle is readable. */
  CHECK(ef_eventq_has_event(&a.vi), ==, 1);
  CHECK(ef_eventq_wait(&a.vi, a.dh, 0, &tv), ==, 0);
  pfd.fd = a.dh;
  CHECK(poll(&pfd, 1, 0), ==, 1);
  CHECK(tx_drain(&a, &next), ==, 1);
  CHECK(poll(&pfd, 1, 0), ==, 0);

  CHECK(anyload_sim_clock_advance(MS - 1), ==, 0);
  CHECK(ef_eventq_has_event(&b.vi), ==, 0);
  CHECK(anyload_sim_clock_advance(1), ==, 0);
  pfd.fd = b.dh;
  CHECK(poll(&pfd, 1, 0), ==, 1);
  CHECK(ef_eventq_has_event(&b.vi), ==, 1);
  CHECK(ef_eventq_wait(&b.vi, b.dh, 0, &tv), ==, 0);
  n = ef_eventq_poll(&b.vi, evs, 4);
  CHECK(n, ==, 1);
  CHECK(EF_EVENT_TYPE(evs[0]), ==, EF_EVENT_TYPE_RX);
  CHECK(EF_EVENT_RX_BYTES(evs[0]), ==, 60 + VI_RX_PREFIX_LEN);
  /* The RX timestamp is the arrival time on the virtual clock. */
  CHECK(ef_vi_receive_get_timestamp(&b.vi, ep_buf(&b, 0), &ts), ==, 0);
  CHECK((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, ==, t0 + MS);
  CHECK(raw_seq(ep_buf(&b, 0) + VI_RX_PREFIX_LEN), ==, 1);
  CHECK(poll(&pfd, 1, 0), ==, 0);
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("wvA"), ==, 0);
}

static void test_sim_vi_rate_completions(void)
{
  struct anyload_sim_config cfg;
  struct ep a, b;
  ef_request_id next = 0;
  uint32_t seqs[4];
  int i;

  vclock();
  cfg_default(&cfg);
  cfg.a_to_b.rate_bps = 8000000;     /* 1 ms per 1000-byte frame */
  CHECK(anyload_sim_link_create("rcA", "rcB", &cfg), ==, 0);
  ep_open(&a, "rcA", -1, 4);
  ep_open(&b, "rcB", -1, 8);
  ep_refill(&b);
  for (i = 0; i < 3; i++) {
    mk_raw(ep_buf(&a, (unsigned)i), (uint32_t)i, 1000);
    CHECK(ef_vi_transmit_init(&a.vi, ep_addr(&a, (unsigned)i), 1000, i), ==,
          0);
  }
  /* Not pushed yet: nothing leaves. */
  CHECK(anyload_sim_clock_advance(5 * MS), ==, 0);
  CHECK(tx_drain(&a, &next), ==, 0);
  CHECK(rx_seqs(&b, seqs, 4, 14), ==, 0);
  ef_vi_transmit_push(&a.vi);
  CHECK(tx_drain(&a, &next), ==, 0);
  CHECK(ef_vi_flush(&a.vi, a.dh), ==, -ETIMEDOUT);   /* time must pass */
  for (i = 0; i < 3; i++) {
    /* The next thing to happen: frame i leaves A (and, with no latency,
     * reaches B) 1 ms after the previous one. */
    CHECK(anyload_sim_next_event(), ==, anyload_sim_clock_now() + MS);
    CHECK(anyload_sim_clock_advance(MS - 1), ==, 0);
    CHECK(tx_drain(&a, &next), ==, 0);
    CHECK(anyload_sim_clock_advance(1), ==, 0);
    CHECK(tx_drain(&a, &next), ==, 1);
    CHECK(rx_seqs(&b, seqs, 4, 14), ==, 1);
    CHECK(seqs[0], ==, i);
  }
  CHECK(ef_vi_flush(&a.vi, a.dh), ==, 0);
  CHECK(anyload_sim_next_event(), ==, INT64_MAX);
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("rcA"), ==, 0);
}

static void test_sim_vi_loss_mask(void)
{
  static const uint8_t mask[2] = { 0xa5, 0x0f };
  struct anyload_sim_config cfg;
  struct ep a, b;
  uint32_t seqs[16];
  int i, k = 0, n;

  vclock();
  cfg_default(&cfg);
  cfg.a_to_b.loss_mask = mask;
  cfg.a_to_b.loss_mask_bits = 16;
  CHECK(anyload_sim_link_create("lmA", "lmB", &cfg), ==, 0);
  ep_open(&a, "lmA", -1, 16);
  ep_open(&b, "lmB", -1, 16);
  ep_refill(&b);
  for (i = 0; i < 16; i++) {
    mk_raw(ep_buf(&a, (unsigned)i), (uint32_t)i, 80);
    CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, (unsigned)i), 80, i), ==, 0);
  }
  n = rx_seqs(&b, seqs, 16, 14);
  CHECK(n, ==, 16 - 8);
  for (i = 0; i < 16; i++)
    if (!((mask[i / 8] >> (i % 8)) & 1))
      CHECK(seqs[k++], ==, i);
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("lmA"), ==, 0);
}

static int64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_sim_vi_wait_real_clock(void)
{
  struct anyload_sim_config cfg;
  struct timeval tv = { 10, 0 };
  struct pollfd pfd;
  struct ep a, b;
  ef_event evs[4];
  int64_t t0;

  /* The one test on the real clock: only lower bounds on time are
   * checked, which no scheduling delay can break. */
  CHECK(anyload_sim_clock_real(), ==, 0);
  cfg_default(&cfg);
  cfg.a_to_b.latency_ns = 2 * MS;
  CHECK(anyload_sim_link_create("rlA", "rlB", &cfg), ==, 0);
  ep_open(&a, "rlA", -1, 4);
  ep_open(&b, "rlB", -1, 4);
  ep_refill(&b);
  mk_raw(ep_buf(&a, 0), 1, 60);
  t0 = mono_ns();
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 60, 0), ==, 0);
  CHECK(ef_eventq_wait(&b.vi, b.dh, 0, &tv), ==, 0);
  CHECK(mono_ns() - t0, >=, 2 * MS);
  CHECK(ef_eventq_poll(&b.vi, evs, 4), ==, 1);
  CHECK(EF_EVENT_TYPE(evs[0]), ==, EF_EVENT_TYPE_RX);

  /* Sleeping on the driver handle wakes at the arrival. */
  t0 = mono_ns();
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 60, 1), ==, 0);
  pfd.fd = b.dh;
  pfd.events = POLLIN;
  CHECK(poll(&pfd, 1, 10000), ==, 1);
  CHECK(mono_ns() - t0, >=, 2 * MS);
  CHECK(ef_eventq_poll(&b.vi, evs, 4), ==, 1);
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("rlA"), ==, 0);
  vclock();
}

/* A sender thread and a receiver thread that sleeps in ef_eventq_wait: the
 * sender's push must wake it. The sender keeps at most WINDOW frames
 * unreceived, so nothing is dropped whatever the scheduling. */
enum { THR_N = 20000, THR_WINDOW = 256 };

struct thr {
  struct ep a, b;
  uint32_t  received;       /* atomic */
  int       failed;         /* atomic */
};

static void* thr_recv(void* arg)
{
  struct thr* t = arg;
  struct timeval tv = { 5, 0 };
  ef_event evs[16];
  uint32_t got = 0;
  int i, n;

  ep_refill(&t->b);
  while (got < THR_N) {
    n = ef_eventq_poll(&t->b.vi, evs, 16);
    for (i = 0; i < n; i++) {
      uint32_t seq = raw_seq(ep_buf(&t->b,
                                    (unsigned)EF_EVENT_RX_RQ_ID(evs[i])));
      if (EF_EVENT_TYPE(evs[i]) != EF_EVENT_TYPE_RX || seq != got) {
        __atomic_store_n(&t->failed, 1, __ATOMIC_RELEASE);
        return NULL;
      }
      got++;
    }
    if (n) {
      __atomic_store_n(&t->received, got, __ATOMIC_RELEASE);
      ep_refill(&t->b);
    } else if (ef_eventq_wait(&t->b.vi, t->b.dh, 0, &tv) < 0) {
      __atomic_store_n(&t->failed, 2, __ATOMIC_RELEASE);
      return NULL;
    }
  }
  return NULL;
}

static void test_sim_vi_threads(void)
{
  static struct thr t;
  ef_request_id next = 0;
  pthread_t th;
  uint32_t sent = 0;

  CHECK(anyload_sim_clock_real(), ==, 0);
  memset(&t, 0, sizeof(t));
  CHECK(anyload_sim_link_create("thA", "thB", NULL), ==, 0);
  ep_open(&t.a, "thA", 512, 64);
  ep_open(&t.b, "thB", 512, 512);
  CHECK(pthread_create(&th, NULL, thr_recv, &t), ==, 0);
  while (sent < THR_N && !__atomic_load_n(&t.failed, __ATOMIC_ACQUIRE)) {
    uint32_t rx = __atomic_load_n(&t.received, __ATOMIC_ACQUIRE);
    if (sent - rx < THR_WINDOW && ef_vi_transmit_space(&t.a.vi) > 0) {
      unsigned i = sent % 64;
      mk_raw(ep_buf(&t.a, i), sent, 64);
      if (ef_vi_transmit(&t.a.vi, ep_addr(&t.a, i), 64, (int)sent) == 0)
        sent++;
    } else {
      sched_yield();
    }
    tx_drain(&t.a, &next);
  }
  CHECK(pthread_join(th, NULL), ==, 0);
  CHECK(t.failed, ==, 0);
  CHECK(t.received, ==, THR_N);
  tx_drain(&t.a, &next);
  CHECK(next, ==, THR_N);
  ep_close(&t.a);
  ep_close(&t.b);
  CHECK(anyload_sim_link_destroy("thA"), ==, 0);
  vclock();
}

/* The child half of test_sim_vi_env: run in a fresh process (exec of this
 * program) with ANYLOAD_SIM_LINKS set, since it is read once per process.
 * Run without SIM_ENV_EXPECT it has nothing to do. */
static void test_sim_vi_env_child(void)
{
  const char* expect = getenv("SIM_ENV_EXPECT");
  struct anyload_sim_stats st;
  struct ep a, b;
  uint32_t seqs[4];
  ef_pd pd;

  if (!expect)
    return;
  if (!strcmp(expect, "bad")) {
    /* A clear error, not a crash, and no sim interface at all. */
    CHECK(ef_pd_alloc_by_name(&pd, -1, "envA", EF_PD_DEFAULT), ==, -EINVAL);
    CHECK(anyload_sim_link_stats("envA", &st, 0), ==, -ENODEV);
    return;
  }
  vclock();
  ep_open(&a, "envA", -1, 4);
  ep_open(&b, "envB", -1, 4);
  CHECK(ef_vi_mtu(&b.vi, b.dh), ==, 4014);
  ep_refill(&b);
  mk_raw(ep_buf(&a, 0), 3, 60);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 60, 0), ==, 0);
  CHECK(ef_vi_transmit(&a.vi, ep_addr(&a, 0), 60, 1), ==, 0);
  CHECK(rx_seqs(&b, seqs, 4, 14), ==, 0);
  CHECK(anyload_sim_clock_advance(10000), ==, 0);
  CHECK(rx_seqs(&b, seqs, 4, 14), ==, 1);     /* loss_mask=10 */
  CHECK(anyload_sim_link_stats("envA", &st, 0), ==, 0);
  CHECK(st.dropped_mask, ==, 1);
  ep_close(&a);
  ep_close(&b);
  CHECK(anyload_sim_link_destroy("envA"), ==, 0);
}

static void run_env_child(const char* links, const char* expect)
{
  pid_t pid = fork();
  int status = -1;

  CHECK(pid, >=, 0);
  if (pid == 0) {
    char* argv[] = { (char*)"test_sim_vi", (char*)"test_sim_vi_env_child",
                     NULL };
    setenv("ANYLOAD_SIM_LINKS", links, 1);
    setenv("SIM_ENV_EXPECT", expect, 1);
    setenv("ANYLOAD_BACKEND", "sim", 1);
    /* The child's TAP lines go to the log, not into the parent's plan. */
    dup2(2, 1);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  CHECK(waitpid(pid, &status, 0), ==, pid);
  CHECK(WIFEXITED(status), !=, 0);
  CHECK(WEXITSTATUS(status), ==, 0);
}

static void test_sim_vi_env(void)
{
  run_env_child("envA-envB:latency_us=10,loss_mask=10,mtu=4000,seed=7",
                "good");
  run_env_child("envA-envB:latency_us=ten", "bad");
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_sim_vi_names_mtu_mac),
  UNIT_TEST(test_sim_vi_rx_order_ids),
  UNIT_TEST(test_sim_vi_ring_wrap),
  UNIT_TEST(test_sim_vi_rx_no_desc),
  UNIT_TEST(test_sim_vi_ring_errors),
  UNIT_TEST(test_sim_vi_multibuf),
  UNIT_TEST(test_sim_vi_filters),
  UNIT_TEST(test_sim_vi_wait_virtual),
  UNIT_TEST(test_sim_vi_rate_completions),
  UNIT_TEST(test_sim_vi_loss_mask),
  UNIT_TEST(test_sim_vi_wait_real_clock),
  UNIT_TEST(test_sim_vi_threads),
  UNIT_TEST(test_sim_vi_env),
  UNIT_TEST(test_sim_vi_env_child),
};
UNIT_TEST_MAIN(tests)
