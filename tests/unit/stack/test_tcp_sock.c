/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the socket calls of the stack's TCP (stack/tcp_sock.c)
 * on a simulated link against a raw peer (tests/harness/tcp_sim.h): the
 * handle of a closed connection and anyload_tcp_closing, which a
 * lingering close (SO_LINGER with a timeout) waits on.
 */
#include "unit_test.h"
#include "tcp_sim.h"

/* peer_seg: a segment of the peer with flags, acknowledging ack. */
static void peer_seg(struct tw* w, struct tw_conn* c, uint8_t flags,
                     uint32_t ack)
{
  struct tw_seg s = tw_seg_init(80, c->lport);

  s.flags = flags;
  s.seq = c->p_nxt;
  s.ack = ack;
  tw_peer_send(w, &s);
  if (flags & ST_TCP_FIN)
    c->p_nxt++;
}

static void set_linger(struct anyload_stack* a, int sd, int on, int secs)
{
  CHECK(anyload_tcp_setsockopt(a, sd, SOL_SOCKET, SO_LINGER,
                               &(struct linger){ on, secs },
                               sizeof(struct linger), tw_now()), ==, 0);
}

/* Closed with 2500 bytes unacknowledged: anyload_tcp_closing stays 1
 * through FIN_WAIT1 while the peer acknowledges part of the data, then
 * all of it but the FIN; the FIN's ACK (FIN_WAIT2) makes it 0. */
static void test_tcp_closing_fin_wait(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_conn c;
  struct tw_got g;
  uint8_t data[2500];
  uint64_t h;

  tw_open(&w, "clf", NULL, TW_PEER);
  a = w.st[0];
  tw_establish(&w, &c, 0);
  CHECK(anyload_tcp_close_handle(a, c.sd, NULL), ==, -EINVAL);
  CHECK(anyload_tcp_close_handle(a, 999, &h), ==, -EBADF);
  CHECK(anyload_tcp_close_handle(a, c.sd, &h), ==, 0);
  CHECK(anyload_tcp_closing(a, h), ==, 0);      /* the application's */
  CHECK(anyload_tcp_closing(a, 0), ==, -EINVAL);
  CHECK(anyload_tcp_closing(a, (uint64_t)5 << 32 | 100000), ==, -EINVAL);
  set_linger(a, c.sd, 1, 5);
  tw_fill(data, sizeof(data), 0, 50);
  CHECK(tw_send(a, c.sd, data, sizeof(data)), ==, 2500);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.len, ==, 1000);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.len, ==, 1000);
  tw_peer_none(&w);                   /* Nagle holds the last 500 */
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH | ST_TCP_FIN);
  CHECK(g.h.seq, ==, c.a_nxt + 2000);
  CHECK(g.len, ==, 500);
  CHECK(anyload_tcp_closing(a, h), ==, 1);
  peer_seg(&w, &c, ST_TCP_ACK, c.a_nxt + 1000);
  CHECK(anyload_tcp_closing(a, h), ==, 1);
  peer_seg(&w, &c, ST_TCP_ACK, c.a_nxt + 2500);  /* not the FIN */
  CHECK(anyload_tcp_closing(a, h), ==, 1);
  peer_seg(&w, &c, ST_TCP_ACK, c.a_nxt + 2501);
  CHECK(anyload_tcp_closing(a, h), ==, 0);
  tw_peer_none(&w);
  /* The peer's FIN: TIME_WAIT, still 0; 60 s later the slot is free. */
  peer_seg(&w, &c, ST_TCP_ACK | ST_TCP_FIN, c.a_nxt + 2501);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(anyload_tcp_closing(a, h), ==, 0);
  tw_run(&w, 61 * TW_SEC);
  CHECK(anyload_tcp_closing(a, h), ==, 0);
  tw_close(&w);
}

/* From CLOSE_WAIT: LAST_ACK is 1 until the FIN's ACK frees the
 * connection; a new socket in the same slot does not answer for the old
 * handle. Closed with unread data (RST) or SO_LINGER {1, 0}: 0 at
 * once. */
static void test_tcp_closing_last_ack(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_conn c;
  struct tw_got g;
  struct tw_seg s;
  uint64_t h, h2;
  int sd;

  tw_open(&w, "cll", NULL, TW_PEER);
  a = w.st[0];
  tw_establish(&w, &c, 0);
  peer_seg(&w, &c, ST_TCP_ACK | ST_TCP_FIN, c.a_nxt);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_CLOSE_WAIT);
  CHECK(anyload_tcp_close_handle(a, c.sd, &h), ==, 0);
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_FIN);
  CHECK(anyload_tcp_closing(a, h), ==, 1);
  peer_seg(&w, &c, ST_TCP_ACK, c.a_nxt + 1);
  CHECK(anyload_tcp_closing(a, h), ==, 0);
  sd = anyload_tcp_open(a);
  CHECK(sd, ==, c.sd);                          /* the same slot */
  CHECK(anyload_tcp_close_handle(a, sd, &h2), ==, 0);
  CHECK(h2, !=, h);
  CHECK(anyload_tcp_closing(a, h), ==, 0);
  CHECK(anyload_tcp_close(a, sd, tw_now()), ==, 0);

  /* Unread data: the close resets. */
  tw_establish(&w, &c, 0);
  s = tw_seg_init(80, c.lport);
  s.flags = ST_TCP_ACK | ST_TCP_PSH;
  s.seq = c.p_nxt;
  s.ack = c.a_nxt;
  s.data = "abc";
  s.len = 3;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(anyload_tcp_close_handle(a, c.sd, &h), ==, 0);
  set_linger(a, c.sd, 1, 5);
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  CHECK(anyload_tcp_closing(a, h), ==, 0);
  /* SO_LINGER {1, 0}: an abort. */
  tw_establish(&w, &c, 0);
  CHECK(anyload_tcp_close_handle(a, c.sd, &h), ==, 0);
  set_linger(a, c.sd, 1, 0);
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  CHECK(anyload_tcp_closing(a, h), ==, 0);
  tw_close(&w);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_closing_fin_wait),
  UNIT_TEST(test_tcp_closing_last_ack),
};
UNIT_TEST_MAIN(tests)
