/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for fragmented TCP on receive (stack/ip.c reassembly,
 * stack/tcp_in.c reading a reassembled segment, and the sim VI's
 * following of later fragments, which the XDP and tc programs do with
 * al_frags): a raw peer sends segments in IPv4 fragments, as a router
 * with a smaller MTU passes them on from a sender without path MTU
 * discovery. Checks: the data arrives byte for byte and is acknowledged,
 * also from a segment larger than a packet buffer and from 8-byte
 * fragments that cut the TCP header; a bad checksum over the whole
 * segment drops it; a duplicate fragment is dropped alone; a later
 * fragment that overtakes the first is not followed, the datagram times
 * out, and the peer's retransmission delivers the data.
 */
#include "unit_test.h"
#include "tcp_sim.h"

#define SEED 7

/* send_data: the peer sends len bytes of the stream at offset off (from
 * sequence c->p_nxt + off) in fragments of fsize. */
static void send_data(struct tw* w, const struct tw_conn* c, unsigned off,
                      unsigned len, unsigned fsize, const int* order,
                      unsigned n_order, int flip)
{
  static uint8_t data[8192];
  struct tw_seg s = tw_seg_init(80, c->lport);

  CHECK(len, <=, sizeof(data));
  tw_fill(data, len, off, SEED);
  s.flags = ST_TCP_ACK | ST_TCP_PSH;
  s.seq = c->p_nxt + off;
  s.ack = c->a_nxt;
  s.data = data;
  s.len = len;
  tw_peer_send_frags(w, &s, fsize, order, n_order, flip);
}

/* last_ack: run 500 ms (past the delayed ACK) and return the highest
 * acknowledgment A sent meanwhile; 0 if it sent nothing. */
static uint32_t last_ack(struct tw* w)
{
  struct tw_got g;
  uint32_t ack = 0;

  tw_run(w, 500 * TW_MS);
  while (tw_peer_next(w, &g)) {
    CHECK(g.len, ==, 0);
    ack = g.h.ack;
  }
  return ack;
}

/* recv_check: A's socket holds exactly len bytes of the stream at off. */
static void recv_check(struct tw* w, const struct tw_conn* c, unsigned off,
                       unsigned len)
{
  static uint8_t buf[8192];

  CHECK(tw_recv(w->st[0], c->sd, buf, sizeof(buf)), ==, (ssize_t)len);
  CHECK(tw_check(buf, len, off, SEED), ==, 1);
  CHECK(tw_recv(w->st[0], c->sd, buf, sizeof(buf)), ==, -EAGAIN);
}

static void test_tcp_frag_delivered(void)
{
  struct tw w;
  struct tw_conn c;
  struct anyload_stack* a;

  tw_open(&w, "fd", NULL, TW_PEER);
  a = w.st[0];
  tw_establish(&w, &c, 0);

  /* 2900 bytes (more than a 2048-byte packet buffer) in two fragments. */
  send_data(&w, &c, 0, 2900, 1480, NULL, 0, -1);
  CHECK(last_ack(&w), ==, c.p_nxt + 2900);
  recv_check(&w, &c, 0, 2900);
  CHECK(tw_stat(a, "reasm_done"), ==, 1);
  CHECK(tw_stat(a, "tcp_rx_reassembled"), ==, 1);

  /* 8-byte fragments: the first holds only the ports and the sequence
   * number; the header's other fields come in the next two. */
  send_data(&w, &c, 2900, 40, 8, NULL, 0, -1);
  CHECK(last_ack(&w), ==, c.p_nxt + 2940);
  recv_check(&w, &c, 2900, 40);
  CHECK(tw_stat(a, "reasm_frags"), ==, 2 + 8);

  /* A duplicate fragment is dropped alone. */
  send_data(&w, &c, 2940, 1000, 512, (const int[]){ 0, 0, 1 }, 3, -1);
  CHECK(last_ack(&w), ==, c.p_nxt + 3940);
  recv_check(&w, &c, 2940, 1000);
  CHECK(tw_stat(a, "reasm_drop_dup"), ==, 1);
  CHECK(tw_stat(a, "tcp_rx_reassembled"), ==, 3);
  CHECK(tw_stat(a, "rx_drop_tcp_csum"), ==, 0);
  tw_abort(&w, &c);
  tw_close(&w);
}

static void test_tcp_frag_bad_and_late(void)
{
  struct tw w;
  struct tw_conn c;
  struct anyload_stack* a;

  tw_open(&w, "fb", NULL, TW_PEER);
  a = w.st[0];
  tw_establish(&w, &c, 0);

  /* A byte of the second fragment flipped: the reassembled segment's
   * checksum fails, nothing is taken or answered. */
  send_data(&w, &c, 0, 1500, 1000, NULL, 0, 1200);
  CHECK(last_ack(&w), ==, 0);
  CHECK(tw_stat(a, "rx_drop_tcp_csum"), ==, 1);
  CHECK(tw_recv(a, c.sd, (char[8]){ 0 }, 8), ==, -EAGAIN);

  /* The second fragment before the first: nothing sent it to A (the VI
   * follows a datagram from its first fragment on), so the first waits
   * for it until the reassembly timeout (30 s) frees its buffer. */
  send_data(&w, &c, 0, 1500, 1000, (const int[]){ 1, 0 }, 2, -1);
  CHECK(last_ack(&w), ==, 0);
  CHECK(a->n_reasm, ==, 1);
  tw_run(&w, 30 * TW_SEC);
  CHECK(a->n_reasm, ==, 0);
  CHECK(tw_stat(a, "reasm_drop_timeout"), ==, 1);

  /* The peer's retransmission, in order, delivers it. */
  send_data(&w, &c, 0, 1500, 1000, NULL, 0, -1);
  CHECK(last_ack(&w), ==, c.p_nxt + 1500);
  recv_check(&w, &c, 0, 1500);
  CHECK(tw_stat(a, "tcp_rx_reassembled"), ==, 2);
  tw_abort(&w, &c);
  tw_close(&w);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_frag_delivered),
  UNIT_TEST(test_tcp_frag_bad_and_late),
};
UNIT_TEST_MAIN(tests)
