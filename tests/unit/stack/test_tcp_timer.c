/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the timers of the stack's TCP (stack/tcp_timer.c) on a
 * simulated link against a raw peer and the virtual clock
 * (tests/harness/tcp_sim.h): the 200 ms ceiling of TCP_CORK and
 * MSG_MORE.
 */
#include "unit_test.h"
#include "tcp_sim.h"

/* peer_ack: the peer acknowledges A's data up to a_nxt. */
static void peer_ack(struct tw* w, struct tw_conn* c)
{
  struct tw_seg s = tw_seg_init(80, c->lport);

  s.flags = ST_TCP_ACK;
  s.seq = c->p_nxt;
  s.ack = c->a_nxt;
  tw_peer_send(w, &s);
}

/* expect_data: the next segment is ACK|PSH with len bytes of stream 40
 * at A's offset off (sequence a_nxt); a_nxt moves past it. */
#define expect_data(w, c, off, n) do {                                   \
    struct tw_got g_;                                                    \
    tw_peer_expect((w), &g_, ST_TCP_ACK | ST_TCP_PSH);                   \
    CHECK(g_.h.seq, ==, (c)->a_nxt);                                     \
    CHECK(g_.len, ==, (unsigned)(n));                                    \
    CHECK(tw_check(g_.data, (n), (off), 40), ==, 1);                     \
    (c)->a_nxt += (n);                                                   \
  } while (0)

static void set_cork(struct anyload_stack* a, int sd, int on)
{
  CHECK(anyload_tcp_setsockopt(a, sd, IPPROTO_TCP, TCP_CORK, &on,
                               sizeof(on), tw_now()), ==, 0);
}

/* TCP_CORK holds a partial segment 200 ms, then it goes by itself (the
 * cork stays on); the 200 ms count from the first byte held and start
 * again for what a full segment leaves; uncorking sends at once and
 * disarms the ceiling; with data in flight the timed-out partial segment
 * goes despite Nagle; MSG_MORE has the same ceiling. */
static void test_tcp_cork_ceiling(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_conn c;
  struct iovec iov;
  uint8_t data[4096];
  uint64_t off = 0;

  tw_open(&w, "ckc", NULL, TW_PEER);
  a = w.st[0];
  /* RTT 100 ms: the RTO is 300 ms, later than the cork's ceiling. */
  tw_establish(&w, &c, 100 * TW_MS);
  CHECK(tcp__get(a, c.sd)->rtt.rto_us, ==, 300000u);
  tw_fill(data, sizeof(data), 0, 40);
  set_cork(a, c.sd, 1);

  /* 100 bytes: 200 ms, not 199. */
  CHECK(tw_send(a, c.sd, data, 100), ==, 100);
  tw_run(&w, 199 * TW_MS);
  tw_peer_none(&w);
  CHECK(tw_sstat(a, c.sd, "cork_expiries"), ==, 0);
  tw_run(&w, 1 * TW_MS);
  expect_data(&w, &c, off, 100);
  off += 100;
  tw_peer_none(&w);
  CHECK(tw_sstat(a, c.sd, "cork_expiries"), ==, 1);
  peer_ack(&w, &c);
  tw_peer_none(&w);

  /* 50 bytes, 100 ms later 1980: two full segments at once, the 30 bytes
   * left wait 200 ms from then. */
  CHECK(tw_send(a, c.sd, data + off, 50), ==, 50);
  tw_run(&w, 100 * TW_MS);
  tw_peer_none(&w);
  CHECK(tw_send(a, c.sd, data + off + 50, 1980), ==, 1980);
  {
    struct tw_got g;
    tw_peer_expect(&w, &g, ST_TCP_ACK);
    CHECK(g.h.seq, ==, c.a_nxt);
    CHECK(g.len, ==, 1000);
    tw_peer_expect(&w, &g, ST_TCP_ACK);
    CHECK(g.h.seq, ==, c.a_nxt + 1000);
    CHECK(g.len, ==, 1000);
    c.a_nxt += 2000;
    off += 2000;
  }
  tw_peer_none(&w);
  peer_ack(&w, &c);
  tw_run(&w, 199 * TW_MS);
  tw_peer_none(&w);
  tw_run(&w, 1 * TW_MS);
  expect_data(&w, &c, off, 30);
  off += 30;
  CHECK(tw_sstat(a, c.sd, "cork_expiries"), ==, 2);
  peer_ack(&w, &c);

  /* Uncorked after 100 ms: sent then, and nothing fires later. */
  CHECK(tw_send(a, c.sd, data + off, 10), ==, 10);
  tw_run(&w, 100 * TW_MS);
  tw_peer_none(&w);
  set_cork(a, c.sd, 0);
  expect_data(&w, &c, off, 10);
  off += 10;
  peer_ack(&w, &c);
  CHECK(tcp__get(a, c.sd)->cork_at, ==, 0);
  tw_run(&w, 500 * TW_MS);
  tw_peer_none(&w);
  CHECK(tw_sstat(a, c.sd, "cork_expiries"), ==, 2);

  /* Corked again, a full segment in flight (unacknowledged) and 10 bytes
   * held: at 200 ms they go, Nagle notwithstanding. */
  set_cork(a, c.sd, 1);
  CHECK(tw_send(a, c.sd, data + off, 1000), ==, 1000);
  {
    struct tw_got g;
    tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
    CHECK(g.len, ==, 1000);
    c.a_nxt += 1000;
    off += 1000;
  }
  tw_run(&w, 10 * TW_MS);
  CHECK(tw_send(a, c.sd, data + off, 10), ==, 10);
  tw_run(&w, 199 * TW_MS);
  tw_peer_none(&w);
  tw_run(&w, 1 * TW_MS);
  expect_data(&w, &c, off, 10);
  off += 10;
  CHECK(tw_sstat(a, c.sd, "cork_expiries"), ==, 3);
  CHECK(tw_sstat(a, c.sd, "rto_fired"), ==, 0);
  peer_ack(&w, &c);
  set_cork(a, c.sd, 0);
  tw_peer_none(&w);

  /* MSG_MORE: the same ceiling. */
  iov.iov_base = data + off;
  iov.iov_len = 20;
  CHECK(anyload_tcp_send(a, c.sd, &iov, 1, MSG_MORE, tw_now()), ==, 20);
  tw_run(&w, 199 * TW_MS);
  tw_peer_none(&w);
  tw_run(&w, 1 * TW_MS);
  expect_data(&w, &c, off, 20);
  CHECK(tw_sstat(a, c.sd, "cork_expiries"), ==, 4);
  peer_ack(&w, &c);
  tw_abort(&w, &c);
  tw_close(&w);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_cork_ceiling),
};
UNIT_TEST_MAIN(tests)
