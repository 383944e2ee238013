/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the passive open of the stack's TCP (stack/tcp_listen.c)
 * on a simulated link against a raw peer (tests/harness/tcp_sim.h): the
 * options a SYN cookie carries in the SYN-ACK's TSval and gives back from
 * the completing ACK's TSecr, and a SYN that ends a TIME_WAIT while the
 * listener answers with cookies; a SYN-ACK sent again as soon as the
 * accept queue has room to a peer whose completing ACK was dropped.
 */
#include "unit_test.h"
#include "tcp_sim.h"

#define PA 40000   /* the raw peer's port */

/* fill_synq: 128 embryonic connections on A's listener at port 80 (the
 * SYN queue's floor), each from its own port of the peer; every one gets
 * an ordinary SYN-ACK. */
static void fill_synq(struct tw* w)
{
  struct tw_got g;
  struct tw_seg s;
  int k;

  for (k = 0; k < 128; k++) {
    s = tw_seg_init((uint16_t)(20000 + k), 80);
    s.flags = ST_TCP_SYN;
    s.seq = 100u * (unsigned)k;
    s.mss = 1460;
    tw_peer_send(w, &s);
    tw_peer_expect(w, &g, ST_TCP_SYN | ST_TCP_ACK);
  }
  CHECK(tw_stat(w->st[0], "tcp_syncookies_sent"), ==, 0);
}

/* close_listener: close ls; its 128 embryonic children of fill_synq (and
 * extra more) are reset. */
static void close_listener(struct tw* w, int ls, int extra)
{
  struct tw_got g;
  int k;

  CHECK(anyload_tcp_close(w->st[0], ls, tw_now()), ==, 0);
  for (k = 0; k < 128 + extra; k++)
    tw_peer_expect(w, &g, ST_TCP_RST | ST_TCP_ACK);
  tw_peer_none(w);
}

/* ts_clock: the stack's raw timestamp clock (ms) at now. */
static uint32_t ts_clock(void)
{
  return (uint32_t)(tw_now() / TW_MS);
}

/* A cookie SYN-ACK for a SYN with timestamps, window scale 3 and SACK:
 * the options in the low 6 bits of the TSval (ws 3 | SACK 0x10), at or
 * below our clock and less than 64 ms below it; the completing ACK
 * echoes them and the connection has window scaling both ways, SACK and
 * timestamps, its later TSvals not below the SYN-ACK's. */
static void test_tcp_cookie_options(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct st_tcp* c;
  struct tw_got g, sa;
  struct tw_seg s;
  uint32_t off, raw, clock, cookie;
  uint8_t our_ws;
  int ls, sd;
  char buf[16];

  tw_open(&w, "lco", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 4);
  our_ws = tcp__rcv_ws_of(tcp__get(a, ls));
  CHECK(our_ws, >, 0);
  fill_synq(&w);
  /* The clock's low 6 bits (0 after the 1000 s start, the harness's)
   * are below the options' 0x13: the TSval goes 64 ms back. */
  tw_run(&w, 5 * TW_MS);
  s = tw_syn_full(PA, 80, 9000, 1400, 3, 777);
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &sa, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(tw_stat(a, "tcp_syncookies_sent"), ==, 1);
  cookie = sa.h.seq;
  CHECK(sa.h.ack, ==, 9001);
  CHECK(sa.h.mss, ==, 1460);
  CHECK(sa.h.ws_ok, ==, 1);
  CHECK(sa.h.ws, ==, our_ws);
  CHECK(sa.h.sack_ok, ==, 1);
  CHECK(sa.h.ts_ok, ==, 1);
  CHECK(sa.h.tsecr, ==, 777);
  off = (uint32_t)(a->tcp_secret[1] ^ cookie);
  raw = sa.h.tsval - off;
  clock = ts_clock();
  CHECK(raw & 63u, ==, 0x13u);
  CHECK((int32_t)(clock - raw), >=, 0);
  CHECK((int32_t)(clock - raw), <, 64);
  if ((clock & 63u) < 0x13u)
    CHECK(raw, ==, (clock & ~63u) - 64u + 0x13u);
  else
    CHECK(raw, ==, (clock & ~63u) + 0x13u);
  /* The ACK completes it, with data and a scaled window of 1000 << 3. */
  tw_run(&w, 3 * TW_MS);
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_ACK;
  s.seq = 9001;
  s.ack = cookie + 1;
  s.ts = 1;
  s.tsval = 780;
  s.tsecr = sa.h.tsval;
  s.win = 1000;
  s.data = "hi";
  s.len = 2;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(tw_stat(a, "tcp_syncookies_ok"), ==, 1);
  CHECK(g.h.ack, ==, 9003);
  CHECK(g.h.ts_ok, ==, 1);
  CHECK(g.h.tsecr, ==, 780);
  CHECK((int32_t)(g.h.tsval - sa.h.tsval), >, 0);
  CHECK(g.h.tsval - off, ==, ts_clock());
  sd = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd, >=, 0);
  c = tcp__get(a, sd);
  CHECK(c->cookie, ==, 1);
  CHECK(c->ws_ok, ==, 1);
  CHECK(c->snd_ws, ==, 3);
  CHECK(c->rcv_ws, ==, our_ws);
  CHECK(c->sack_ok, ==, 1);
  CHECK(c->ts_ok, ==, 1);
  CHECK(c->snd_wnd, ==, 8000u);
  CHECK(c->mss, ==, 1400 - 12);
  CHECK(tw_recv(a, sd, buf, sizeof(buf)), ==, 2);
  /* Our window is scaled. */
  CHECK(tw_send(a, sd, "yo", 2), ==, 2);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.h.seq, ==, cookie + 1);
  CHECK(g.len, ==, 2);
  CHECK(g.h.win, ==, tcp__rcv_wnd(c) >> our_ws);
  /* SACK: data past a hole gets a SACK block. */
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_ACK;
  s.seq = 9013;
  s.ack = cookie + 3;
  s.ts = 1;
  s.tsval = 790;
  s.data = "0123456789";
  s.len = 10;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 9003);
  CHECK(g.h.nsack, ==, 1);
  CHECK(g.h.sack[0][0], ==, 9013);
  CHECK(g.h.sack[0][1], ==, 9023);
  tw_abort_sd(&w, sd);
  close_listener(&w, ls, 0);
  tw_close(&w);
}

/* A SYN with timestamps alone: the SYN-ACK has no window scale and no
 * SACK, the TSval's low bits say so (15, no SACK bit); the connection has
 * timestamps only. An ACK without timestamps for such a cookie makes a
 * connection without any option (as Linux). */
static void test_tcp_cookie_ts_only(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct st_tcp* c;
  struct tw_got g, sa;
  struct tw_seg s;
  uint32_t off;
  int ls, sd, k;

  tw_open(&w, "lct", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 4);
  fill_synq(&w);
  for (k = 0; k < 2; k++) {
    uint16_t port = (uint16_t)(PA + k);
    s = tw_seg_init(port, 80);
    s.flags = ST_TCP_SYN;
    s.seq = 9000;
    s.mss = 1460;
    s.ts = 1;
    s.tsval = 50;
    tw_peer_send(&w, &s);
    tw_peer_expect(&w, &sa, ST_TCP_SYN | ST_TCP_ACK);
    CHECK(sa.h.ws_ok, ==, 0);
    CHECK(sa.h.sack_ok, ==, 0);
    CHECK(sa.h.ts_ok, ==, 1);
    CHECK(sa.h.tsecr, ==, 50);
    off = (uint32_t)(a->tcp_secret[1] ^ sa.h.seq);
    CHECK((sa.h.tsval - off) & 63u, ==, 0x0fu);
    CHECK((int32_t)(ts_clock() - (sa.h.tsval - off)), >=, 0);
    s = tw_seg_init(port, 80);
    s.flags = ST_TCP_ACK;
    s.seq = 9001;
    s.ack = sa.h.seq + 1;
    s.ts = k == 0;
    s.tsval = 51;
    s.tsecr = sa.h.tsval;
    s.win = 1000;
    tw_peer_send(&w, &s);
    tw_peer_none(&w);
    CHECK(tw_stat(a, "tcp_syncookies_ok"), ==, (uint64_t)k + 1);
    sd = anyload_tcp_accept(a, ls, NULL, tw_now());
    CHECK(sd, >=, 0);
    c = tcp__get(a, sd);
    CHECK(c->ws_ok, ==, 0);
    CHECK(c->rcv_ws, ==, 0);
    CHECK(c->snd_wnd, ==, 1000u);
    CHECK(c->sack_ok, ==, 0);
    CHECK(c->ts_ok, ==, k == 0);
    CHECK(c->mss, ==, k == 0 ? 1460 - 12 : 1460);
    CHECK(tw_send(a, sd, "yo", 2), ==, 2);
    tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
    CHECK(g.h.ts_ok, ==, k == 0);
    CHECK(g.h.win, ==, 65535);
    tw_abort_sd(&w, sd);
  }
  close_listener(&w, ls, 0);
  tw_close(&w);
}

/* A SYN that ends a TIME_WAIT while the listener's SYN queue is full
 * gets no cookie: an embryonic child of its own with an ISN above the old
 * connection's SND.NXT (RFC 1122 §4.2.2.13), its SYN-ACK with our
 * options, and the handshake completes. */
static void test_tcp_cookie_time_wait(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct anyload_stack_info in;
  struct tw_got g, sa;
  struct tw_seg s;
  uint32_t old_nxt;
  int ls, sd;

  tw_open(&w, "lctw", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 4);
  /* A connection from PA, closed by A first, in TIME_WAIT. */
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_SYN;
  s.seq = 1000;
  s.mss = 1460;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &sa, ST_TCP_SYN | ST_TCP_ACK);
  s.flags = ST_TCP_ACK;
  s.seq = 1001;
  s.ack = sa.h.seq + 1;
  tw_peer_send(&w, &s);
  sd = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd, >=, 0);
  CHECK(anyload_tcp_close(a, sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_FIN);
  s.flags = ST_TCP_ACK | ST_TCP_FIN;
  s.ack = sa.h.seq + 2;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  old_nxt = sa.h.seq + 2;
  anyload_stack_info(a, &in);
  CHECK(in.tcp_time_wait, ==, 1);
  /* The SYN queue full: a SYN from another port gets a cookie. */
  fill_synq(&w);
  s = tw_seg_init(PA + 1, 80);
  s.flags = ST_TCP_SYN;
  s.seq = 3000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(tw_stat(a, "tcp_syncookies_sent"), ==, 1);
  /* The new incarnation of PA's connection does not. */
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_SYN;
  s.seq = 6000;
  s.mss = 1460;
  s.ts = 1;
  s.tsval = 9;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &sa, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(tw_stat(a, "tcp_syncookies_sent"), ==, 1);
  CHECK(tw_stat(a, "tcp_time_wait_reused"), ==, 1);
  CHECK(sa.h.ack, ==, 6001);
  CHECK((int32_t)(sa.h.seq - old_nxt), >, 0);
  CHECK(tcp__get(a, ls)->synq_n, ==, 129u);
  anyload_stack_info(a, &in);
  CHECK(in.tcp_time_wait, ==, 0);
  s.flags = ST_TCP_ACK;
  s.seq = 6001;
  s.ack = sa.h.seq + 1;
  s.tsval = 10;
  s.tsecr = sa.h.tsval;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_syncookies_ok"), ==, 0);
  sd = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd, >=, 0);
  CHECK(tcp__get(a, sd)->cookie, ==, 0);
  CHECK(tcp__get(a, sd)->iss, ==, sa.h.seq);
  tw_abort_sd(&w, sd);
  close_listener(&w, ls, 0);
  tw_close(&w);
}

/* handshake_to_ack: peer port sends its SYN to A's port 80 and gets the
 * SYN-ACK (returned); the completing ACK is left to the caller. */
static struct tw_got handshake_to_ack(struct tw* w, uint16_t port,
                                      uint32_t isn)
{
  struct tw_got sa;
  struct tw_seg s = tw_seg_init(port, 80);

  s.flags = ST_TCP_SYN;
  s.seq = isn;
  s.mss = 1460;
  tw_peer_send(w, &s);
  tw_peer_expect(w, &sa, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(sa.h.ack, ==, isn + 1);
  return sa;
}

/* send_ack: the peer's ACK of SYN-ACK sa from port (its ISN isn). */
static void send_ack(struct tw* w, uint16_t port, uint32_t isn,
                     const struct tw_got* sa)
{
  struct tw_seg s = tw_seg_init(port, 80);

  s.flags = ST_TCP_ACK;
  s.seq = isn + 1;
  s.ack = sa->h.seq + 1;
  tw_peer_send(w, &s);
}

/* Backlog 1, two peers' completing ACKs dropped while the accept queue is
 * full: each accept that makes room sends one of them its SYN-ACK again
 * at once (not after the 1 s retransmission), only as many as there is
 * room for; the peer's ACK to it completes the handshake. */
static void test_tcp_acceptq_room_synack(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_got sa[3], g;
  uint32_t isn[3] = { 1000, 2000, 3000 };
  uint16_t port[3] = { PA, PA + 1, PA + 2 };
  int ls, sd[3], k, first;

  tw_open(&w, "lar", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 1);
  for (k = 0; k < 3; k++)
    sa[k] = handshake_to_ack(&w, port[k], isn[k]);
  for (k = 0; k < 3; k++)
    send_ack(&w, port[k], isn[k], &sa[k]);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_rx_drop_acceptq_full"), ==, 2);
  tw_run(&w, 10 * TW_MS);
  tw_peer_none(&w);

  /* The first accept: one SYN-ACK, exactly the first one again. */
  sd[0] = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd[0], >=, 0);
  tw_peer_expect(&w, &g, ST_TCP_SYN | ST_TCP_ACK);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_synacks_on_room"), ==, 1);
  first = g.dport == port[1] ? 1 : 2;
  CHECK(g.dport, ==, port[first]);
  CHECK(g.h.seq, ==, sa[first].h.seq);
  CHECK(g.h.ack, ==, isn[first] + 1);
  /* Nothing more while that one has not answered (its place is taken),
   * however often the program polls an empty queue. */
  for (k = 0; k < 5; k++)
    CHECK(anyload_tcp_accept(a, ls, NULL, tw_now()), ==, -EAGAIN);
  tw_peer_none(&w);
  send_ack(&w, port[first], isn[first], &sa[first]);
  tw_peer_none(&w);
  sd[1] = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd[1], >=, 0);
  /* Room again: the other one's SYN-ACK. */
  tw_peer_expect(&w, &g, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(g.dport, ==, port[3 - first]);
  CHECK(g.h.seq, ==, sa[3 - first].h.seq);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_synacks_on_room"), ==, 2);
  send_ack(&w, port[3 - first], isn[3 - first], &sa[3 - first]);
  sd[2] = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd[2], >=, 0);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_synacks_on_room"), ==, 2);
  CHECK(tw_stat(a, "tcp_rx_drop_acceptq_full"), ==, 2);
  CHECK(tw_stat(a, "tcp_passive_opens"), ==, 3);
  for (k = 0; k < 3; k++)
    tw_abort_sd(&w, sd[k]);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  tw_peer_none(&w);
  tw_close(&w);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_cookie_options),
  UNIT_TEST(test_tcp_cookie_ts_only),
  UNIT_TEST(test_tcp_cookie_time_wait),
  UNIT_TEST(test_tcp_acceptq_room_synack),
};
UNIT_TEST_MAIN(tests)
