/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/ip.c: the IPv4 receive checks and reassembly, on a
 * stack object with its buffer pool, timers and tables but no VI (frames
 * are put into buffers by hand and handed to st__rx_frame or
 * st__reasm_in, as stack.c does after a poll). Checks: malformed frames
 * are counted drops, each under its own reason, and their buffers come
 * back; datagrams reassemble in order, reversed and interleaved, byte for
 * byte; exact duplicates are dropped alone; overlapping fragments, a
 * fragment past the end, two different ends, and a fragment ending past
 * 65535 drop the datagram; the timeout frees every buffer; the memory
 * bound evicts the oldest datagram; fragmented ICMP is refused, UDP and
 * TCP fragments are taken in with or without the claim-all flag; a
 * fragment count and size follow RFC 791 §3.2. Every test ends with the
 * pool full and no timer armed.
 */
#include "unit_test.h"
#include "stack/stack_int.h"

#include <arpa/inet.h>
#include <stdlib.h>

#define MS 1000000ll
#define SEC 1000000000ll

/* ---- fixture ----------------------------------------------------------- */

static struct anyload_stack* fx_new(unsigned max_dgrams, unsigned max_bufs)
{
  struct anyload_stack* st = calloc(1, sizeof(*st));

  CHECK_PTR(st, !=, NULL);
  anyload_stack_config_init(&st->cfg);
  st->cfg.n_bufs = 256;
  st->cfg.max_sockets = 4;
  st->cfg.reasm_max_datagrams = max_dgrams;
  st->cfg.reasm_max_bufs = max_bufs;
  st->cfg.reasm_timeout_ns = 30 * SEC;
  st->cfg.neigh_max_dests = 4;
  st->cfg.flags = ANYLOAD_STACK_F_RX_FRAGMENTS;
  st->buf_size = 2048;
  st->mtu = 1500;
  st->mem = calloc(st->cfg.n_bufs, st->buf_size);
  CHECK_PTR(st->mem, !=, NULL);
  st__timer_init(st);
  CHECK(st__pkt_init(st), ==, 0);
  CHECK(st__sock_init(st), ==, 0);
  CHECK(st__reasm_init(st), ==, 0);
  CHECK(st__nwait_init(st), ==, 0);
  return st;
}

/* fx_free: check that nothing leaked, then free. */
static void fx_free(struct anyload_stack* st, int expect_empty)
{
  if (expect_empty) {
    CHECK(st->n_state[ST_PKT_FREE], ==, st->n_pkts);
    CHECK(st->n_timers, ==, 0);
    CHECK(st->n_reasm, ==, 0);
    CHECK(st->reasm_bufs, ==, 0);
  }
  st__reasm_fini(st);
  st__nwait_fini(st);
  st__sock_fini(st);
  CHECK(st->n_state[ST_PKT_FREE], ==, st->n_pkts);
  CHECK(st->n_timers, ==, 0);
  st__pkt_fini(st);
  free(st->mem);
  free(st);
}

/* mk_frag: a frame holding the IPv4 fragment at byte off of a datagram
 * with id, carrying len bytes of pattern (byte k of the datagram is
 * (k * 7 + id) & 0xff), mf as given, in a new buffer (BUSY). Returns the
 * buffer; *flen gets the frame length. */
static uint32_t mk_frag(struct anyload_stack* st, uint16_t id, unsigned off,
                        unsigned len, int mf, uint8_t proto, unsigned* flen)
{
  uint32_t i = st__pkt_alloc(st, ST_PKT_BUSY);
  struct st_ip_out o;
  uint8_t* pl;
  unsigned k;

  CHECK(i, !=, ST_PKT_NONE);
  memset(&o, 0, sizeof(o));
  o.src_be32 = inet_addr("198.18.0.1");
  o.dst_be32 = inet_addr("198.18.0.2");
  o.ttl = 64;
  o.proto = proto;
  pl = st__ip_build_hdr(st, st__pkt_data(st, i), &o, id, off, len, mf, 0);
  for (k = 0; k < len; k++)
    pl[k] = (uint8_t)((off + k) * 7 + id);
  *flen = 34 + len;
  return i;
}

/* reasm: parse frame i as st__rx_frame does and add it to reassembly. */
static uint32_t reasm(struct anyload_stack* st, uint32_t i, unsigned flen,
                      int64_t now)
{
  struct st_ipv4_repr ip;
  struct st_pkt* p = &st->pkts[i];

  CHECK(st_ipv4_parse(st__pkt_data(st, i) + 14, flen - 14, &ip, 0), ==,
        ST_IPV4_OK);
  p->len = (uint16_t)flen;
  p->off = (uint16_t)(14 + ip.hlen);
  p->dlen = (uint16_t)(ip.tot_len - ip.hlen);
  return st__reasm_in(st, i, &ip, now);
}

/* frag: mk_frag + reasm. */
static uint32_t frag(struct anyload_stack* st, uint16_t id, unsigned off,
                     unsigned len, int mf, int64_t now)
{
  unsigned flen;
  uint32_t i = mk_frag(st, id, off, len, mf, ST_IPPROTO_UDP, &flen);

  return reasm(st, i, flen, now);
}

/* check_dgram: datagram head (a chain) holds total bytes of id's
 * pattern, in order; then free it. */
static void check_dgram(struct anyload_stack* st, uint32_t head, uint16_t id,
                        unsigned total)
{
  unsigned pos = 0, k;
  uint32_t i;

  CHECK(head, !=, ST_PKT_NONE);
  CHECK(st->pkts[head].total, ==, total);
  for (i = head; i != ST_PKT_NONE; i = st->pkts[i].chain) {
    const uint8_t* d = st__pkt_data(st, i) + st->pkts[i].off;
    CHECK(st->pkts[i].state, ==, ST_PKT_BUSY);
    for (k = 0; k < st->pkts[i].dlen; k++, pos++)
      if (d[k] != (uint8_t)(pos * 7 + id))
        UNIT_FAIL("byte %u of datagram %u is 0x%02x", pos, id, d[k]);
  }
  CHECK(pos, ==, total);
  st__pkt_free_chain(st, head);
}

static uint64_t stat(struct anyload_stack* st, const char* name)
{
  return anyload_stack_stat(st, name);
}

/* ---- receive checks ---------------------------------------------------- */

/* rx_mutated: a 60-byte UDP frame with byte off of the IP header set to v
 * (checksum fixed if fix), given to st__rx_frame with flen bytes. */
static void rx_mutated(struct anyload_stack* st, unsigned off, uint8_t v,
                       int fix, unsigned flen)
{
  unsigned len;
  uint32_t i = mk_frag(st, 1, 0, 26, 0, ST_IPPROTO_UDP, &len);
  uint8_t* ip = st__pkt_data(st, i) + 14;

  /* A UDP header: ports 1 and 2, length 26, no checksum. */
  st_put_be16(ip + 20, 1);
  st_put_be16(ip + 22, 2);
  st_put_be16(ip + 24, 26);
  st_put_be16(ip + 26, 0);
  ip[off] = v;
  if (fix)
    st_ipv4_set_csum(ip, 20);
  st__rx_frame(st, i, flen ? flen : len, 0);
}

static void test_ip_rx_malformed(void)
{
  struct anyload_stack* st = fx_new(8, 64);
  uint32_t i;
  uint8_t* f;

  rx_mutated(st, 0, 0x45, 0, 13);                 /* no Ethernet header */
  CHECK(stat(st, "rx_drop_eth_trunc"), ==, 1);
  i = st__pkt_alloc(st, ST_PKT_BUSY);
  f = st__pkt_data(st, i);
  memset(f, 0, 60);
  f[12] = 0x08;
  f[13] = 0x06;                                   /* ARP */
  st__rx_frame(st, i, 60, 0);
  CHECK(stat(st, "rx_drop_not_ip"), ==, 1);
  rx_mutated(st, 0, 0x45, 0, 14 + 19);            /* 19 bytes of IP */
  CHECK(stat(st, "rx_drop_ip_trunc"), ==, 1);
  rx_mutated(st, 0, 0x65, 1, 0);                  /* version 6 */
  CHECK(stat(st, "rx_drop_ip_version"), ==, 1);
  rx_mutated(st, 0, 0x43, 1, 0);                  /* IHL 3 */
  rx_mutated(st, 0, 0x4f, 0, 0);                  /* IHL 15 > frame */
  CHECK(stat(st, "rx_drop_ip_ihl"), ==, 2);
  rx_mutated(st, 3, 200, 1, 0);                   /* total length > frame */
  rx_mutated(st, 3, 10, 1, 0);                    /* total length < IHL */
  CHECK(stat(st, "rx_drop_ip_len"), ==, 2);
  rx_mutated(st, 8, 1, 0, 0);                     /* TTL, old checksum */
  CHECK(stat(st, "rx_drop_ip_csum"), ==, 1);
  rx_mutated(st, 6, 0x3f, 1, 0);                  /* MF, 34 bytes */
  CHECK(stat(st, "rx_drop_ip_frag"), ==, 1);
  rx_mutated(st, 12, 224, 1, 0);                  /* multicast source */
  rx_mutated(st, 12, 127, 1, 0);                  /* loopback source */
  rx_mutated(st, 12, 0, 1, 0);                    /* zero-net source */
  CHECK(stat(st, "rx_drop_ip_src"), ==, 3);
  rx_mutated(st, 9, 132, 1, 0);                   /* SCTP */
  CHECK(stat(st, "rx_drop_ip_proto"), ==, 1);
  {
    unsigned len;
    i = mk_frag(st, 2, 0, 16, 1, ST_IPPROTO_ICMP, &len);
    st__rx_frame(st, i, len, 0);                  /* fragmented ICMP */
    CHECK(stat(st, "rx_drop_ip_proto"), ==, 2);
  }
  /* A good frame with no socket: as far as UDP, then a counted drop. */
  rx_mutated(st, 8, 64, 1, 0);
  CHECK(stat(st, "rx_drop_udp_no_sock"), ==, 1);
  /* A UDP length past the IP payload, and a short UDP header. */
  {
    unsigned len;
    i = mk_frag(st, 3, 0, 26, 0, ST_IPPROTO_UDP, &len);
    st_put_be16(st__pkt_data(st, i) + 34 + 4, 27);
    st__rx_frame(st, i, len, 0);
    CHECK(stat(st, "rx_drop_udp_len"), ==, 1);
    i = mk_frag(st, 3, 0, 6, 0, ST_IPPROTO_UDP, &len);
    st__rx_frame(st, i, len, 0);
    CHECK(stat(st, "rx_drop_udp_trunc"), ==, 1);
    i = mk_frag(st, 3, 0, 26, 0, ST_IPPROTO_UDP, &len);
    st_put_be16(st__pkt_data(st, i) + 34 + 4, 26);
    st_put_be16(st__pkt_data(st, i) + 34 + 6, 0x1234);   /* wrong sum */
    st__rx_frame(st, i, len, 0);
    CHECK(stat(st, "rx_drop_udp_csum"), ==, 1);
  }
  fx_free(st, 1);
}

/* ---- reassembly -------------------------------------------------------- */

static void test_ip_reasm_in_order(void)
{
  struct anyload_stack* st = fx_new(8, 64);
  uint32_t h;

  CHECK(frag(st, 10, 0, 1480, 1, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 10, 1480, 1480, 1, 0), ==, ST_PKT_NONE);
  CHECK(st->n_reasm, ==, 1);
  CHECK(st->n_state[ST_PKT_REASM], ==, 2);
  CHECK(st->n_timers, ==, 1);
  h = frag(st, 10, 2960, 100, 0, 0);
  check_dgram(st, h, 10, 3060);
  CHECK(stat(st, "reasm_done"), ==, 1);
  CHECK(stat(st, "reasm_frags"), ==, 3);
  fx_free(st, 1);
}

static void test_ip_reasm_reversed_interleaved(void)
{
  struct anyload_stack* st = fx_new(8, 64);
  uint32_t h1, h2;

  /* Two datagrams, fragments in reverse order, interleaved. */
  CHECK(frag(st, 20, 800, 5, 0, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 21, 1600, 33, 0, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 20, 400, 400, 1, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 21, 800, 800, 1, 0), ==, ST_PKT_NONE);
  CHECK(st->n_reasm, ==, 2);
  h1 = frag(st, 20, 0, 400, 1, 0);
  check_dgram(st, h1, 20, 805);
  CHECK(st->n_reasm, ==, 1);
  h2 = frag(st, 21, 0, 800, 1, 0);
  check_dgram(st, h2, 21, 1633);
  CHECK(stat(st, "reasm_done"), ==, 2);
  fx_free(st, 1);
}

static void test_ip_reasm_duplicates(void)
{
  struct anyload_stack* st = fx_new(8, 64);
  uint32_t h;

  CHECK(frag(st, 30, 0, 800, 1, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 30, 0, 800, 1, 0), ==, ST_PKT_NONE);
  CHECK(stat(st, "reasm_drop_dup"), ==, 1);
  CHECK(st->n_state[ST_PKT_REASM], ==, 1);
  CHECK(frag(st, 30, 1600, 8, 0, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 30, 1600, 8, 0, 0), ==, ST_PKT_NONE);   /* last, again */
  CHECK(stat(st, "reasm_drop_dup"), ==, 2);
  h = frag(st, 30, 800, 800, 1, 0);
  check_dgram(st, h, 30, 1608);
  fx_free(st, 1);
}

static void test_ip_reasm_overlap_bad_oversize(void)
{
  struct anyload_stack* st = fx_new(8, 64);
  unsigned len;
  uint32_t i;

  /* Overlap with the previous fragment: the datagram goes. */
  CHECK(frag(st, 40, 0, 800, 1, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 40, 792, 800, 1, 0), ==, ST_PKT_NONE);
  CHECK(stat(st, "reasm_drop_overlap"), ==, 1);
  CHECK(st->n_reasm, ==, 0);
  /* Overlap with the next fragment. */
  CHECK(frag(st, 41, 800, 800, 1, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 41, 0, 808, 1, 0), ==, ST_PKT_NONE);
  /* Same offset, other length: not a duplicate, an overlap. */
  CHECK(frag(st, 42, 0, 800, 1, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 42, 0, 808, 1, 0), ==, ST_PKT_NONE);
  CHECK(stat(st, "reasm_drop_overlap"), ==, 3);
  /* Past the end that the last fragment gave. */
  CHECK(frag(st, 43, 800, 8, 0, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 43, 808, 8, 1, 0), ==, ST_PKT_NONE);
  /* A held fragment past a late last fragment's end. */
  CHECK(frag(st, 44, 1600, 8, 1, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 44, 800, 8, 0, 0), ==, ST_PKT_NONE);
  /* Two last fragments with different ends. */
  CHECK(frag(st, 45, 800, 8, 0, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 45, 1600, 8, 0, 0), ==, ST_PKT_NONE);
  CHECK(stat(st, "reasm_drop_bad"), ==, 3);
  CHECK(st->n_reasm, ==, 0);
  /* A fragment ending past 65535 never reaches reassembly. */
  i = mk_frag(st, 46, 65528, 16, 0, ST_IPPROTO_UDP, &len);
  st__rx_frame(st, i, len, 0);
  CHECK(stat(st, "rx_drop_ip_frag"), ==, 1);
  fx_free(st, 1);
}

static void test_ip_reasm_timeout(void)
{
  struct anyload_stack* st = fx_new(8, 64);

  CHECK(frag(st, 50, 0, 800, 1, 0), ==, ST_PKT_NONE);
  CHECK(frag(st, 51, 0, 800, 1, 10 * SEC), ==, ST_PKT_NONE);
  CHECK(frag(st, 51, 1600, 8, 0, 10 * SEC), ==, ST_PKT_NONE);
  CHECK(st__timer_next(st), ==, 30 * SEC);
  st__timer_run(st, 30 * SEC - 1);
  CHECK(st->n_reasm, ==, 2);
  st__timer_run(st, 30 * SEC);
  CHECK(st->n_reasm, ==, 1);
  CHECK(stat(st, "reasm_drop_timeout"), ==, 1);
  CHECK(st->n_state[ST_PKT_REASM], ==, 2);
  CHECK(st__timer_next(st), ==, 40 * SEC);
  st__timer_run(st, 41 * SEC);
  CHECK(stat(st, "reasm_drop_timeout"), ==, 2);
  CHECK(st__timer_next(st), ==, INT64_MAX);
  fx_free(st, 1);
}

static void test_ip_reasm_memory_bound(void)
{
  /* At most 3 datagrams and 6 buffers in reassembly. */
  struct anyload_stack* st = fx_new(3, 6);
  uint16_t id;
  uint32_t h;

  for (id = 60; id < 63; id++) {
    CHECK(frag(st, id, 0, 800, 1, id), ==, ST_PKT_NONE);
    CHECK(frag(st, id, 800, 800, 1, id), ==, ST_PKT_NONE);
  }
  CHECK(st->reasm_bufs, ==, 6);
  /* A fourth datagram: no slot, the oldest (60) is evicted. */
  CHECK(frag(st, 63, 0, 800, 1, 100), ==, ST_PKT_NONE);
  CHECK(stat(st, "reasm_drop_evicted"), ==, 1);
  CHECK(st->n_reasm, ==, 3);
  CHECK(st->reasm_bufs, ==, 5);
  CHECK(frag(st, 63, 800, 800, 1, 100), ==, ST_PKT_NONE);
  CHECK(st->reasm_bufs, ==, 6);
  /* A third fragment of 61 finds the bound reached: the oldest datagram
   * other than 61 (62) is evicted to make room. */
  CHECK(frag(st, 61, 1600, 800, 1, 100), ==, ST_PKT_NONE);
  CHECK(stat(st, "reasm_drop_evicted"), ==, 2);
  CHECK(st->reasm_bufs, ==, 5);
  CHECK(st->n_state[ST_PKT_REASM], ==, 5);
  h = frag(st, 61, 2400, 1, 0, 100);
  check_dgram(st, h, 61, 2401);
  CHECK(stat(st, "reasm_drop_evicted"), ==, 2);
  CHECK(st->n_reasm, ==, 1);
  CHECK(st->reasm_bufs, ==, 2);
  /* A datagram larger than the whole bound cannot complete. */
  {
    struct anyload_stack* st2 = fx_new(3, 2);
    CHECK(frag(st2, 70, 0, 800, 1, 0), ==, ST_PKT_NONE);
    CHECK(frag(st2, 70, 800, 800, 1, 0), ==, ST_PKT_NONE);
    CHECK(frag(st2, 70, 1600, 800, 0, 0), ==, ST_PKT_NONE);
    CHECK(stat(st2, "reasm_drop_nomem"), ==, 1);
    fx_free(st2, 1);
  }
  st__timer_run(st, 60 * SEC);
  fx_free(st, 1);
}

static void test_ip_frag_any_flags(void)
{
  struct anyload_stack* st = fx_new(8, 64);
  unsigned len;
  uint32_t i;

  /* Without ANYLOAD_STACK_F_RX_FRAGMENTS fragments are reassembled too:
   * the VI gives us a datagram's later fragments when it gave us the
   * first; TCP as UDP, ICMP not. */
  st->cfg.flags = 0;
  i = mk_frag(st, 80, 0, 800, 1, ST_IPPROTO_UDP, &len);
  st__rx_frame(st, i, len, 0);
  CHECK(st->n_reasm, ==, 1);
  i = mk_frag(st, 81, 0, 800, 1, ST_IPPROTO_TCP, &len);
  st__rx_frame(st, i, len, 0);
  CHECK(st->n_reasm, ==, 2);
  i = mk_frag(st, 82, 0, 800, 1, ST_IPPROTO_ICMP, &len);
  st__rx_frame(st, i, len, 0);
  CHECK(st->n_reasm, ==, 2);
  CHECK(stat(st, "rx_drop_ip_proto"), ==, 1);
  CHECK(stat(st, "reasm_frags"), ==, 2);
  st__timer_run(st, 31 * SEC);
  CHECK(stat(st, "reasm_drop_timeout"), ==, 2);
  fx_free(st, 1);
}

static void test_ip_frag_sizes(void)
{
  CHECK(st__ip_frag_count(1480, 1500), ==, 1);
  CHECK(st__ip_frag_count(1481, 1500), ==, 2);
  CHECK(st__ip_frag_size(1500), ==, 1480);
  CHECK(st__ip_frag_size(1000), ==, 976);      /* 980 rounded down to 8 */
  CHECK(st__ip_frag_count(65515, 1500), ==, 45);
  CHECK(st__ip_frag_count(2953, 1000), ==, 4);
  CHECK(st__ip_frag_size(68), ==, 48);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_ip_rx_malformed),
  UNIT_TEST(test_ip_reasm_in_order),
  UNIT_TEST(test_ip_reasm_reversed_interleaved),
  UNIT_TEST(test_ip_reasm_duplicates),
  UNIT_TEST(test_ip_reasm_overlap_bad_oversize),
  UNIT_TEST(test_ip_reasm_timeout),
  UNIT_TEST(test_ip_reasm_memory_bound),
  UNIT_TEST(test_ip_frag_any_flags),
  UNIT_TEST(test_ip_frag_sizes),
};
UNIT_TEST_MAIN(tests)
