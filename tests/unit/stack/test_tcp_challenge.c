/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the stack-wide challenge ACK limit (stack/tcp_challenge.c,
 * RFC 5961 §7) on a simulated link against a raw peer and the virtual
 * clock (tests/harness/tcp_sim.h): the budget of each second lies in
 * [limit/2, limit/2 + limit), changes from second to second, is shared by
 * every kind of challenge (in-window RST, SYN, old ACK), and what is over
 * it is counted and not sent.
 */
#include "unit_test.h"
#include "tcp_sim.h"

#include <limits.h>

static void open_world(struct tw* w, const char* name, unsigned limit)
{
  struct anyload_stack_config base;

  anyload_stack_config_init(&base);
  base.tcp_challenge_ack_limit = limit;
  tw_open_cfg(w, name, NULL, TW_PEER, &base);
}

/* challenge: the peer sends a segment that asks for a challenge ACK (kind
 * 0: an RST in the window but not at RCV.NXT, 1: a SYN, 2: an ACK older
 * than SND.UNA - MAX.SND.WND). Returns 1 if the challenge ACK came (and
 * checks it), 0 if nothing was sent. */
static int challenge(struct tw* w, struct tw_conn* c, int kind)
{
  struct tw_got g;
  struct tw_seg s = tw_seg_init(80, c->lport);

  s.seq = c->p_nxt + (kind == 0 ? 100 : 0);
  s.flags = kind == 0 ? ST_TCP_RST : kind == 1 ? ST_TCP_SYN : ST_TCP_ACK;
  s.ack = kind == 2 ? c->a_nxt - 100000 : 0;
  tw_peer_send(w, &s);
  if (!tw_peer_next(w, &g))
    return 0;
  CHECK((unsigned)g.h.flags, ==, (unsigned)ST_TCP_ACK);
  CHECK(g.h.seq, ==, c->a_nxt);
  CHECK(g.h.ack, ==, c->p_nxt);
  CHECK(g.len, ==, 0);
  tw_peer_none(w);
  return 1;
}

/* to_next_second: run the clock to the start of the next second. */
static void to_next_second(struct tw* w)
{
  tw_run(w, TW_SEC - tw_now() % TW_SEC);
  CHECK(tw_now() % TW_SEC, ==, 0);
}

/* A limit of 10: in each of 8 seconds, 30 challenges of the three kinds
 * in turn; the first n of them are answered, then none, with n in
 * [5, 14]; not the same n every second; the counters add up; the
 * connection lives on. */
static void test_tcp_challenge_limit(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_conn c;
  unsigned sec, k, n[8], sent = 0, differ = 0;

  open_world(&w, "chl", 10);
  a = w.st[0];
  CHECK(a->tcp_chack_limit, ==, 10u);
  tw_establish(&w, &c, 0);
  for (sec = 0; sec < 8; sec++) {
    to_next_second(&w);
    tw_run(&w, 300 * TW_MS);
    n[sec] = 0;
    for (k = 0; k < 30; k++) {
      int got = challenge(&w, &c, (int)(k % 3));
      if (got)
        CHECK(n[sec], ==, k);      /* none after the first refusal */
      n[sec] += (unsigned)got;
    }
    CHECK(n[sec], >=, 5u);
    CHECK(n[sec], <=, 14u);
    sent += n[sec];
    if (sec && n[sec] != n[0])
      differ = 1;
    CHECK(tw_stat(a, "tcp_challenge_acks"), ==, sent);
    CHECK(tw_stat(a, "tcp_challenge_acks_limited"), ==,
          30u * (sec + 1) - sent);
    CHECK(tw_sstat(a, c.sd, "challenge_acks"), ==, sent);
  }
  CHECK(differ, ==, 1);
  /* The budget is per second of the clock: 0.7 s later, in the same
   * second, still nothing. */
  tw_run(&w, 690 * TW_MS);
  CHECK(tw_now() % TW_SEC, ==, 990 * TW_MS);
  CHECK(challenge(&w, &c, 0), ==, 0);
  to_next_second(&w);
  CHECK(challenge(&w, &c, 0), ==, 1);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_ESTABLISHED);
  tw_abort(&w, &c);
  tw_close(&w);
}

/* The default is 1000 a second; UINT_MAX means no limit: 300 challenges
 * in one second all answered. */
static void test_tcp_challenge_unlimited(void)
{
  struct tw w;
  struct tw_conn c;
  unsigned k;

  open_world(&w, "chd", 0);
  CHECK(w.st[0]->tcp_chack_limit, ==, 1000u);
  anyload_stack_destroy(w.st[0]);
  tw_raw_close(w.raw);
  CHECK(anyload_sim_link_destroy(w.ifn[0]), ==, 0);

  open_world(&w, "chu", UINT_MAX);
  tw_establish(&w, &c, 0);
  for (k = 0; k < 300; k++)
    CHECK(challenge(&w, &c, (int)(k % 3)), ==, 1);
  CHECK(tw_stat(w.st[0], "tcp_challenge_acks"), ==, 300);
  CHECK(tw_stat(w.st[0], "tcp_challenge_acks_limited"), ==, 0);
  tw_abort(&w, &c);
  tw_close(&w);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_challenge_limit),
  UNIT_TEST(test_tcp_challenge_unlimited),
};
UNIT_TEST_MAIN(tests)
