/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the stack's TCP (stack/tcp_*.c) on simulated links and
 * the virtual clock (tests/harness/tcp_sim.h): against a raw peer whose
 * segments are written by hand and whose received segments are checked
 * field by field (flags, sequence, acknowledgment, window, options), and
 * between two stacks.
 */
#include "unit_test.h"
#include "tcp_sim.h"

#define PA 40000   /* the raw peer's port */

/* peer_connect: the raw peer opens a connection to A's listener on port
 * with the options given in syn (seq = 1000); returns A's SYN-ACK and
 * completes the handshake with an ACK carrying tsval 101. */
static void peer_connect(struct tw* w, struct tw_seg* syn, struct tw_got* sa)
{
  struct tw_seg ack;

  syn->flags = ST_TCP_SYN;
  syn->seq = 1000;
  tw_peer_send(w, syn);
  tw_peer_expect(w, sa, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(sa->h.ack, ==, 1001);
  ack = tw_seg_init(syn->sport, syn->dport);
  ack.flags = ST_TCP_ACK;
  ack.seq = 1001;
  ack.ack = sa->h.seq + 1;
  ack.win = syn->win;
  ack.ts = syn->ts;
  ack.tsval = 101;
  ack.tsecr = sa->h.tsval;
  tw_peer_send(w, &ack);
}

/* A connects to the raw peer: the SYN's options, the handshake, data
 * both ways with exact sequence numbers, windows and timestamps. */
static void test_tcp_active_open_options(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct sockaddr_in b = tw_sin(TW_IP_B, 80), name;
  socklen_t len = sizeof(name);
  struct tw_got g;
  struct tw_seg s;
  struct tcp_info ti;
  uint32_t iss;
  uint16_t lport;
  int sd;
  char buf[100];

  tw_open(&w, "ao", NULL, TW_PEER);
  a = w.st[0];
  sd = anyload_tcp_open(a);
  CHECK(sd, >=, 0);
  CHECK(anyload_tcp_poll(a, sd), ==, POLLOUT | POLLWRNORM | POLLHUP);
  CHECK(tw_send(a, sd, "x", 1), ==, -ENOTCONN);
  CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==,
        -EINPROGRESS);
  CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==, -EALREADY);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_SYN_SENT);
  CHECK(anyload_tcp_poll(a, sd), ==, 0);
  CHECK(tw_send(a, sd, "x", 1), ==, -EAGAIN);
  CHECK(anyload_tcp_getsockname(a, sd, &name, &len), ==, 0);
  lport = ntohs(name.sin_port);
  CHECK(lport, >=, 32768);
  CHECK(name.sin_addr.s_addr, ==, inet_addr(TW_IP_A));

  /* The SYN: MSS 1460 (MTU 1500), SACK permitted, timestamps, window
   * scale 2 (212992 bytes of receive buffer), window 65535, DF. */
  tw_peer_expect(&w, &g, ST_TCP_SYN);
  CHECK(g.sport, ==, lport);
  CHECK(g.dport, ==, 80);
  CHECK(g.h.mss, ==, 1460);
  CHECK(g.h.sack_ok, ==, 1);
  CHECK(g.h.ts_ok, ==, 1);
  CHECK(g.h.tsecr, ==, 0);
  CHECK(g.h.ws_ok, ==, 1);
  CHECK(g.h.ws, ==, 2);
  CHECK(g.h.win, ==, 65535);
  CHECK(g.h.hlen, ==, 40);
  CHECK(g.df, ==, 1);
  CHECK(g.len, ==, 0);
  iss = g.h.seq;
  tw_peer_none(&w);

  /* SYN-ACK with MSS 1000, WS 7, SACK, TS. */
  s = tw_seg_init(80, lport);
  s.flags = ST_TCP_SYN | ST_TCP_ACK;
  s.seq = 5000;
  s.ack = iss + 1;
  s.mss = 1000;
  s.ws = 7;
  s.sack_ok = 1;
  s.ts = 1;
  s.tsval = 77;
  s.tsecr = g.h.tsval;
  s.win = 65535;            /* never scaled in a SYN (RFC 7323 §2.2) */
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, iss + 1);
  CHECK(g.h.ack, ==, 5001);
  CHECK(g.h.ts_ok, ==, 1);
  CHECK(g.h.tsecr, ==, 77);
  CHECK(g.h.win, ==, 212992 >> 2);
  CHECK(g.h.sack_ok, ==, 0);
  CHECK(g.h.mss, ==, 0);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_ESTABLISHED);
  CHECK(anyload_tcp_poll(a, sd), ==, POLLOUT | POLLWRNORM);
  CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==, 0);
  CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==, -EISCONN);
  len = sizeof(ti);
  CHECK(anyload_tcp_getsockopt(a, sd, IPPROTO_TCP, TCP_INFO, &ti, &len), ==,
        0);
  CHECK(ti.tcpi_state, ==, TCP_ESTABLISHED);
  CHECK(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK |
                           TCPI_OPT_WSCALE), ==,
        TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
  CHECK((unsigned)ti.tcpi_snd_wscale, ==, 7);
  CHECK((unsigned)ti.tcpi_rcv_wscale, ==, 2);
  CHECK(ti.tcpi_snd_mss, ==, 1000 - 12);

  /* Data from A: 2000 bytes go as segments of 988 bytes (MSS 1000 less
   * the timestamps), Nagle holding the tail until the first is ACKed. */
  {
    char big[2000];
    tw_fill((uint8_t*)big, sizeof(big), 0, 1);
    CHECK(tw_send(a, sd, big, sizeof(big)), ==, 2000);
  }
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, iss + 1);
  CHECK(g.len, ==, 988);
  CHECK(tw_check(g.data, g.len, 0, 1), ==, 1);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, iss + 1 + 988);
  CHECK(g.len, ==, 988);
  tw_peer_none(&w);           /* 24 bytes wait for Nagle */
  s = tw_seg_init(80, lport);
  s.flags = ST_TCP_ACK;
  s.seq = 5001;
  s.ack = iss + 1 + 988;
  s.win = 100;              /* 100 << 7 = 12800 bytes */
  s.ts = 1;
  s.tsval = 78;
  s.tsecr = g.h.tsval;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);           /* still one segment in flight: Nagle */
  s.ack = iss + 1 + 1976;
  s.ts = 1;
  s.tsval = 78;
  s.tsecr = g.h.tsval;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.h.seq, ==, iss + 1 + 1976);
  CHECK(g.len, ==, 24);
  CHECK(tw_check(g.data, g.len, 1976, 1), ==, 1);

  /* Data from the peer: "hello"; A ACKs at once (quick ACKs at the
   * start) with the window less 5 bytes... rounded by the scale. */
  s.seq = 5001;
  s.ack = iss + 1 + 2000;
  s.tsval = 79;
  s.data = "hello";
  s.len = 5;
  s.flags = ST_TCP_ACK | ST_TCP_PSH;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 5006);
  CHECK(g.h.tsecr, ==, 79);
  CHECK(anyload_tcp_poll(a, sd), ==, POLLIN | POLLRDNORM | POLLOUT |
                                     POLLWRNORM);
  CHECK(tw_recv(a, sd, buf, sizeof(buf)), ==, 5);
  CHECK_MEM(buf, "hello", 5);
  CHECK(tw_recv(a, sd, buf, sizeof(buf)), ==, -EAGAIN);

  /* The peer closes: A acknowledges the FIN, recv gives 0. */
  s.seq = 5006;
  s.len = 0;
  s.flags = ST_TCP_ACK | ST_TCP_FIN;
  s.tsval = 80;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 5007);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_CLOSE_WAIT);
  CHECK(tw_recv(a, sd, buf, sizeof(buf)), ==, 0);
  CHECK(anyload_tcp_poll(a, sd) & (POLLIN | POLLRDHUP), ==,
        POLLIN | POLLRDHUP);

  /* A closes: FIN, the peer's ACK ends the connection (LAST_ACK). */
  CHECK(anyload_tcp_close(a, sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_FIN);
  CHECK(g.h.seq, ==, iss + 1 + 2000);
  s.seq = 5007;
  s.ack = iss + 2 + 2000;
  s.flags = ST_TCP_ACK;
  s.tsval = 81;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  tw_close(&w);
}

/* The raw peer connects to A's listener: the SYN-ACK answers only the
 * options offered; then simultaneous close. */
static void test_tcp_passive_open_options(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_got g, sa;
  struct tw_seg s;
  struct sockaddr_in peer;
  int ls, sd;

  tw_open(&w, "po", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 4);
  CHECK(anyload_tcp_poll(a, ls), ==, 0);
  CHECK(anyload_tcp_accept(a, ls, NULL, tw_now()), ==, -EAGAIN);

  /* A SYN with MSS 1400 and nothing else: no WS, SACK or TS back. */
  s = tw_seg_init(PA, 80);
  s.mss = 1400;
  peer_connect(&w, &s, &sa);
  CHECK(sa.h.mss, ==, 1460);
  CHECK(sa.h.ws_ok, ==, 0);
  CHECK(sa.h.sack_ok, ==, 0);
  CHECK(sa.h.ts_ok, ==, 0);
  CHECK(sa.h.win, ==, 65535);
  tw_peer_none(&w);
  CHECK(anyload_tcp_poll(a, ls), ==, POLLIN | POLLRDNORM);
  sd = anyload_tcp_accept(a, ls, &peer, tw_now());
  CHECK(sd, >=, 0);
  CHECK(peer.sin_addr.s_addr, ==, inet_addr(TW_IP_B));
  CHECK(ntohs(peer.sin_port), ==, PA);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_ESTABLISHED);
  /* No window scale: the window is at most 65535. */
  CHECK(tw_send(a, sd, "abc", 3), ==, 3);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.h.seq, ==, sa.h.seq + 1);
  CHECK(g.h.ack, ==, 1001);
  CHECK(g.h.win, ==, 65535);
  CHECK(g.h.hlen, ==, 20);
  CHECK_MEM(g.data, "abc", 3);

  /* Simultaneous close: both FINs cross. */
  CHECK(anyload_tcp_shutdown(a, sd, SHUT_WR, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_FIN);
  CHECK(g.h.seq, ==, sa.h.seq + 4);
  CHECK(tw_send(a, sd, "x", 1), ==, -EPIPE);
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_ACK | ST_TCP_FIN;
  s.seq = 1001;
  s.ack = sa.h.seq + 1;      /* does not ack the FIN nor the data yet */
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 1002);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_CLOSING);
  s.flags = ST_TCP_ACK;
  s.seq = 1002;
  s.ack = sa.h.seq + 5;
  tw_peer_send(&w, &s);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_TIME_WAIT);
  CHECK(anyload_tcp_close(a, sd, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  {
    struct anyload_stack_info in;
    anyload_stack_info(a, &in);
    CHECK(in.tcp_time_wait, ==, 1);
    CHECK(in.filters, ==, 1);       /* TIME_WAIT keeps it */
  }
  /* A retransmitted FIN in TIME_WAIT is ACKed again. */
  s.flags = ST_TCP_ACK | ST_TCP_FIN;
  s.seq = 1001;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 1002);
  tw_run(&w, 59 * TW_SEC);
  {
    struct anyload_stack_info in;
    anyload_stack_info(a, &in);
    CHECK(in.tcp_time_wait, ==, 1);
  }
  tw_run(&w, 2 * TW_SEC);
  tw_peer_none(&w);
  tw_close(&w);
}

/* Two stacks: connect, data both ways, half close, close from each side,
 * TIME_WAIT on the side that closed first, ending after 60 s. */
static void test_tcp_stacks_exchange(void)
{
  struct tw w;
  struct anyload_stack *a, *b;
  int ls, ca, cb;
  char buf[5000], big[5000];
  ssize_t n;

  tw_open(&w, "ex", NULL, TW_STACK);
  a = w.st[0];
  b = w.st[1];
  tw_connect_pair(&w, 7000, &ls, &ca, &cb);
  tw_fill((uint8_t*)big, sizeof(big), 0, 2);
  CHECK(tw_send(a, ca, big, sizeof(big)), ==, 5000);
  tw_run(&w, 1 * TW_MS);
  n = tw_recv(b, cb, buf, sizeof(buf));
  CHECK(n, ==, 5000);
  CHECK(tw_check((uint8_t*)buf, 5000, 0, 2), ==, 1);
  CHECK(tw_send(b, cb, "pong", 4), ==, 4);
  tw_run(&w, 1 * TW_MS);
  CHECK(tw_recv(a, ca, buf, sizeof(buf)), ==, 4);
  CHECK_MEM(buf, "pong", 4);

  /* Half close from A: B still sends. */
  CHECK(anyload_tcp_shutdown(a, ca, SHUT_WR, tw_now()), ==, 0);
  tw_run(&w, 1 * TW_MS);
  CHECK(anyload_tcp_state(a, ca), ==, TCP_FIN_WAIT2);
  CHECK(anyload_tcp_state(b, cb), ==, TCP_CLOSE_WAIT);
  CHECK(tw_recv(b, cb, buf, sizeof(buf)), ==, 0);
  CHECK(tw_send(b, cb, "more", 4), ==, 4);
  tw_run(&w, 1 * TW_MS);
  CHECK(tw_recv(a, ca, buf, sizeof(buf)), ==, 4);
  CHECK(anyload_tcp_close(b, cb, tw_now()), ==, 0);
  tw_run(&w, 1 * TW_MS);
  CHECK(anyload_tcp_state(a, ca), ==, TCP_TIME_WAIT);
  CHECK(tw_recv(a, ca, buf, sizeof(buf)), ==, 0);
  CHECK(anyload_tcp_close(a, ca, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(b, ls, tw_now()), ==, 0);
  tw_run(&w, 61 * TW_SEC);
  tw_close(&w);
}


/* pump: move data through a pair of connections until each direction
 * has delivered its total, every byte checked at the receiver; the
 * virtual time is bounded. */
struct dir {
  struct anyload_stack *tx_st, *rx_st;
  int tx, rx;
  uint64_t total, sent, got, seed;
};

static void pump_dir(struct dir* d)
{
  static uint8_t buf[65536];
  ssize_t n;

  while (d->sent < d->total) {
    size_t want = d->total - d->sent < sizeof(buf) ? d->total - d->sent
                                                    : sizeof(buf);
    tw_fill(buf, want, d->sent, d->seed);
    n = tw_send(d->tx_st, d->tx, buf, want);
    if (n == -EAGAIN)
      break;
    CHECK(n, >, 0);
    d->sent += (uint64_t)n;
  }
  for (;;) {
    n = tw_recv(d->rx_st, d->rx, buf, sizeof(buf));
    if (n == -EAGAIN)
      break;
    CHECK(n, >, 0);
    CHECK(tw_check(buf, (size_t)n, d->got, d->seed), ==, 1);
    d->got += (uint64_t)n;
  }
}

static void pump(struct tw* w, struct dir* d, int nd, int64_t limit)
{
  int64_t end = tw_now() + limit;
  int k, done;

  do {
    done = 1;
    for (k = 0; k < nd; k++) {
      pump_dir(&d[k]);
      if (d[k].got < d[k].total)
        done = 0;
    }
    if (done)
      break;
    CHECK(tw_step(w, end), ==, 1);
  } while (1);
}

/* bulk: total bytes A -> B and total / 4 B -> A at once, on a link with
 * the given loss, reordering and duplication both ways (seeded). */
static void bulk(const char* name, double loss, double reorder, double dup,
                 uint64_t total, const char* cc)
{
  struct anyload_sim_config cfg;
  struct tw w;
  struct dir d[2];
  int ls, ca, cb;

  anyload_sim_config_init(&cfg);
  cfg.seed = 42;
  cfg.a_to_b.latency_ns = cfg.b_to_a.latency_ns = 50 * TW_US;
  cfg.a_to_b.loss = cfg.b_to_a.loss = loss;
  cfg.a_to_b.reorder = cfg.b_to_a.reorder = reorder;
  cfg.a_to_b.reorder_distance = cfg.b_to_a.reorder_distance = 3;
  cfg.a_to_b.duplicate = cfg.b_to_a.duplicate = dup;
  tw_open(&w, name, &cfg, TW_STACK);
  tw_connect_pair(&w, 7001, &ls, &ca, &cb);
  CHECK(anyload_tcp_setsockopt(w.st[0], ca, IPPROTO_TCP, TCP_CONGESTION, cc,
                               (socklen_t)strlen(cc), tw_now()), ==, 0);
  memset(d, 0, sizeof(d));
  d[0].tx_st = w.st[0];
  d[0].rx_st = w.st[1];
  d[0].tx = ca;
  d[0].rx = cb;
  d[0].total = total;
  d[0].seed = 11;
  d[1].tx_st = w.st[1];
  d[1].rx_st = w.st[0];
  d[1].tx = cb;
  d[1].rx = ca;
  d[1].total = total / 4;
  d[1].seed = 12;
  {
    int64_t t0 = tw_now();
    pump(&w, d, 2, 3600 * TW_SEC);
    printf("# %s: %.3f s virtual, A: %llu segs, %llu retrans (%llu fast "
           "retransmits, %llu SACK, %llu RTOs), B: %llu ooo segs\n", name,
           (double)(tw_now() - t0) / 1e9,
           (unsigned long long)tw_sstat(w.st[0], ca, "tx_segs"),
           (unsigned long long)tw_sstat(w.st[0], ca, "retrans_segs"),
           (unsigned long long)tw_sstat(w.st[0], ca, "fast_retrans"),
           (unsigned long long)tw_sstat(w.st[0], ca, "sack_retrans"),
           (unsigned long long)tw_sstat(w.st[0], ca, "rto_fired"),
           (unsigned long long)tw_sstat(w.st[1], cb, "rx_ooo_segs"));
  }
  if (loss > 0) {
    CHECK(tw_sstat(w.st[0], ca, "retrans_segs"), >, 0);
    CHECK(tw_stat(w.st[0], "tcp_fast_retrans"), >, 0);
  }
  CHECK(anyload_tcp_close(w.st[0], ca, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(w.st[1], cb, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(w.st[1], ls, tw_now()), ==, 0);
  tw_run(&w, 200 * TW_SEC);
  tw_close(&w);
}

static void test_tcp_bulk_clean(void)
{
  bulk("bc", 0, 0, 0, 64ull << 20, "cubic");
}

static void test_tcp_bulk_loss1(void)
{
  bulk("b1", 0.01, 0.01, 0.01, 64ull << 20, "reno");
}

static void test_tcp_bulk_loss5(void)
{
  bulk("b5", 0.05, 0.02, 0.02, 64ull << 20, "cubic");
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_active_open_options),
  UNIT_TEST(test_tcp_passive_open_options),
  UNIT_TEST(test_tcp_stacks_exchange),
  UNIT_TEST(test_tcp_bulk_clean),
  UNIT_TEST(test_tcp_bulk_loss1),
  UNIT_TEST(test_tcp_bulk_loss5),
};
UNIT_TEST_MAIN(tests)
