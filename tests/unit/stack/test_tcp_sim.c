/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the stack's TCP (stack/tcp_*.c) on simulated links and
 * the virtual clock (tests/harness/tcp_sim.h): against a raw peer whose
 * segments are written by hand and whose received segments are checked
 * field by field (flags, sequence, acknowledgment, window, options), and
 * between two stacks. The long transfers are in test_tcp_bulk.c.
 */
#include "unit_test.h"
#include "tcp_sim.h"
#include "stack/wire/icmp.h"

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
  /* The scale of the largest ring autotuning may grow: 6 MiB. */
  CHECK(g.h.ws, ==, 7);
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
  CHECK(g.h.win, ==, 212992 >> 7);
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
  CHECK((unsigned)ti.tcpi_rcv_wscale, ==, 7);
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


/* ---- against the raw peer: an established connection ------------------ */

/* A connection A -> peer:80 with the peer's options (SACK, timestamps,
 * no window scale); the peer's ISN is 5000. */
struct conn {
  int      sd;
  uint16_t lport;
  uint32_t a_nxt;      /* A's next sequence */
  uint32_t p_nxt;      /* the peer's next sequence */
  uint32_t tsval;      /* the peer's clock */
  int      ts, sack;
};

static struct tw_seg cseg(struct conn* c, uint8_t flags)
{
  struct tw_seg s = tw_seg_init(80, c->lport);

  s.flags = flags;
  s.seq = c->p_nxt;
  s.ack = c->a_nxt;
  s.ts = c->ts;
  s.tsval = ++c->tsval;
  s.win = 65535;
  return s;
}

static void est_active(struct tw* w, struct conn* c, int ts, int sack)
{
  struct anyload_stack* a = w->st[0];
  struct sockaddr_in b = tw_sin(TW_IP_B, 80), name;
  socklen_t len = sizeof(name);
  struct tw_got g;
  struct tw_seg s;

  memset(c, 0, sizeof(*c));
  c->sd = anyload_tcp_open(a);
  CHECK(c->sd, >=, 0);
  CHECK(anyload_tcp_connect(a, c->sd, &b, sizeof(b), tw_now()), ==,
        -EINPROGRESS);
  CHECK(anyload_tcp_getsockname(a, c->sd, &name, &len), ==, 0);
  c->lport = ntohs(name.sin_port);
  tw_peer_expect(w, &g, ST_TCP_SYN);
  c->a_nxt = g.h.seq + 1;
  c->p_nxt = 5000;
  c->ts = ts;
  c->sack = sack;
  c->tsval = 1000;
  s = cseg(c, ST_TCP_SYN | ST_TCP_ACK);
  s.mss = 1000;
  s.sack_ok = sack;
  s.tsecr = g.h.tsval;
  tw_peer_send(w, &s);
  c->p_nxt++;
  tw_peer_expect(w, &g, ST_TCP_ACK);
  CHECK(anyload_tcp_state(a, c->sd), ==, TCP_ESTABLISHED);
}

/* est_world: a world <name> with a raw peer on B and a connection from A
 * to it established (est_active); returns stack A. */
static struct anyload_stack* est_world(struct tw* w, struct conn* c,
                                       const char* name, int ts, int sack)
{
  tw_open(w, name, NULL, TW_PEER);
  est_active(w, c, ts, sack);
  return w->st[0];
}

static void set_opt_int(struct anyload_stack* st, int sd, int level,
                        int name, int v)
{
  CHECK(anyload_tcp_setsockopt(st, sd, level, name, &v, sizeof(v),
                               tw_now()), ==, 0);
}

/* send_flight: with TCP_NODELAY, A sends the first len bytes of stream
 * seed (filled into data); the peer gets the first n segments of 1000
 * bytes, in order, and nothing more. */
static void send_flight(struct tw* w, struct conn* c, uint8_t* data,
                        size_t len, uint64_t seed, unsigned n)
{
  struct tw_got g;
  unsigned k;

  set_opt_int(w->st[0], c->sd, IPPROTO_TCP, TCP_NODELAY, 1);
  tw_fill(data, len, 0, seed);
  CHECK(tw_send(w->st[0], c->sd, data, len), ==, (ssize_t)len);
  for (k = 0; k < n; k++) {
    CHECK(tw_peer_next(w, &g), ==, 1);
    CHECK(g.h.seq, ==, c->a_nxt + 1000u * k);
  }
  tw_peer_none(w);
}

/* close_time_wait: A closes with all its data acknowledged, the peer
 * acknowledges A's FIN with its own, and TIME_WAIT runs out. */
static void close_time_wait(struct tw* w, struct conn* c)
{
  struct tw_got g;
  struct tw_seg s;

  CHECK(anyload_tcp_close(w->st[0], c->sd, tw_now()), ==, 0);
  tw_peer_expect(w, &g, ST_TCP_ACK | ST_TCP_FIN);
  s = cseg(c, ST_TCP_ACK | ST_TCP_FIN);
  s.ack = c->a_nxt + 1;
  tw_peer_send(w, &s);
  tw_peer_expect(w, &g, ST_TCP_ACK);
  tw_run(w, 61 * TW_SEC);
}

/* peer_data: the peer sends len bytes of data in one ACK segment. */
static void peer_data(struct tw* w, struct conn* c, const void* data,
                      unsigned len)
{
  struct tw_seg s = cseg(c, ST_TCP_ACK);

  s.data = data;
  s.len = len;
  tw_peer_send(w, &s);
  c->p_nxt += len;
}

/* syn_with_options: a SYN from the peer's sport with MSS mss and the
 * other options (timestamps, SACK, window scale 3). */
static struct tw_seg syn_with_options(uint16_t sport, uint32_t seq,
                                      uint16_t mss)
{
  struct tw_seg s = tw_seg_init(sport, 80);

  s.flags = ST_TCP_SYN;
  s.seq = seq;
  s.mss = mss;
  s.ts = 1;
  s.tsval = 5;
  s.sack_ok = 1;
  s.ws = 3;
  return s;
}

static void test_tcp_closed_port_rst(void)
{
  struct tw w;
  struct tw_got g;
  struct tw_seg s;
  struct conn c;
  int ls;

  tw_open(&w, "cp", NULL, TW_PEER);
  /* A sim interface gives what no filter claims to its oldest VI without
   * filters: the stack's, while it has none, as a host's kernel would
   * get it. A SYN to a port nobody listens on: RST|ACK, seq 0, ack
   * SEG.SEQ + 1 (RFC 9293 §3.10.7.1). */
  s = tw_seg_init(PA, 81);
  s.flags = ST_TCP_SYN;
  s.seq = 777;
  s.mss = 1460;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  CHECK(g.h.seq, ==, 0);
  CHECK(g.h.ack, ==, 778);
  CHECK(g.sport, ==, 81);
  CHECK(g.dport, ==, PA);
  CHECK(tw_stat(w.st[0], "rx_drop_tcp_no_sock"), ==, 1);
  /* An RST is never answered. */
  s.flags = ST_TCP_RST;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(tw_stat(w.st[0], "rx_drop_tcp_no_sock"), ==, 2);

  ls = tw_listen(w.st[0], 81, 1);
  /* An ACK to a listener without a cookie: RST with seq = SEG.ACK. */
  s.flags = ST_TCP_ACK;
  s.seq = 800;
  s.ack = 12345;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_RST);
  CHECK(g.h.seq, ==, 12345);
  CHECK(tw_stat(w.st[0], "tcp_syncookies_bad"), ==, 1);
  /* A listener ignores RSTs. */
  s.flags = ST_TCP_RST;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(tw_stat(w.st[0], "tcp_rx_drop_listen_rst"), ==, 1);
  CHECK(anyload_tcp_close(w.st[0], ls, tw_now()), ==, 0);

  /* SO_LINGER 0: close resets; then data from the peer on the old
   * 4-tuple finds no connection: RST with seq = SEG.ACK. */
  est_active(&w, &c, 0, 0);
  CHECK(anyload_tcp_setsockopt(w.st[0], c.sd, SOL_SOCKET, SO_LINGER,
                               &(struct linger){ 1, 0 },
                               sizeof(struct linger), tw_now()), ==, 0);
  CHECK(anyload_tcp_close(w.st[0], c.sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt);
  CHECK(g.h.ack, ==, c.p_nxt);
  CHECK(tw_stat(w.st[0], "tcp_resets_sent_abort"), ==, 1);
  s = cseg(&c, ST_TCP_ACK);
  s.data = "late";
  s.len = 4;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_RST);
  CHECK(g.h.seq, ==, c.a_nxt);
  tw_close(&w);
}

/* A SYN for a port whose listener has just left the stack (it was on a
 * ring as the port went to the kernel or another stack) gets no answer
 * for a second, counted; after that a SYN to the port is refused again
 * (RFC 9293 §3.10.7.1). Other ports are refused throughout. */
static void test_tcp_listener_gone(void)
{
  struct tw w;
  struct tw_got g;
  struct tw_seg s;
  int ls, i;

  tw_open(&w, "lg", NULL, TW_PEER);
  ls = tw_listen(w.st[0], 82, 4);
  CHECK(anyload_tcp_close(w.st[0], ls, tw_now()), ==, 0);
  tw_run(&w, 1 * TW_MS);
  /* UDP ports released after it do not push it out of the few that are
   * remembered. */
  for (i = 0; i < 2 * ST_FILTERS_GONE; i++) {
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)(5000 + i)) };
    int u = anyload_udp_open(w.st[0]);
    CHECK(u, >=, 0);
    CHECK(anyload_udp_bind(w.st[0], u, &a, sizeof(a)), ==, 0);
    CHECK(anyload_udp_close(w.st[0], u), ==, 0);
  }
  s = tw_seg_init(PA, 82);
  s.flags = ST_TCP_SYN;
  s.seq = 900;
  s.mss = 1460;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(tw_stat(w.st[0], "rx_drop_tcp_listener_gone"), ==, 1);
  CHECK(tw_stat(w.st[0], "rx_drop_tcp_no_sock"), ==, 0);
  /* Another port: refused at once. */
  s.sport = PA + 1;
  s.dport = 83;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  CHECK(g.sport, ==, 83);
  CHECK(tw_stat(w.st[0], "rx_drop_tcp_no_sock"), ==, 1);
  /* A second after the close: port 82 is refused too. */
  tw_run(&w, 1 * TW_SEC);
  s.sport = PA;
  s.dport = 82;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  CHECK(g.sport, ==, 82);
  CHECK(g.h.ack, ==, 901);
  CHECK(tw_stat(w.st[0], "rx_drop_tcp_listener_gone"), ==, 1);
  CHECK(tw_stat(w.st[0], "rx_drop_tcp_no_sock"), ==, 2);
  tw_close(&w);
}

/* RSTs and SYNs in ESTABLISHED: exact RST resets, in-window RST and SYN
 * get challenge ACKs, out-of-window RST is dropped (RFC 5961). */
static void test_tcp_rst_established(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  char buf[16];

  a = est_world(&w, &c, "re", 1, 1);
  s = cseg(&c, ST_TCP_RST);
  s.seq = c.p_nxt + 100;             /* in the window, not exact */
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt);
  CHECK(g.h.ack, ==, c.p_nxt);
  CHECK(tw_stat(a, "tcp_challenge_acks"), ==, 1);
  s.seq = c.p_nxt + 10000000;        /* out of the window */
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_rx_drop_rst_out_of_window"), ==, 1);
  s = cseg(&c, ST_TCP_SYN);         /* SYN in ESTABLISHED */
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, c.p_nxt);
  CHECK(tw_stat(a, "tcp_challenge_acks"), ==, 2);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_ESTABLISHED);
  /* Out-of-window data: an ACK, nothing delivered. */
  s = cseg(&c, ST_TCP_ACK);
  s.seq = c.p_nxt - 5000;
  s.data = "old";
  s.len = 3;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, c.p_nxt);
  CHECK(tw_recv(a, c.sd, buf, sizeof(buf)), ==, -EAGAIN);
  /* An ACK for data never sent: an ACK back, dropped. */
  s = cseg(&c, ST_TCP_ACK);
  s.ack = c.a_nxt + 100;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(tw_stat(a, "tcp_rx_drop_ack_future"), ==, 1);
  /* The exact RST: reset. */
  s = cseg(&c, ST_TCP_RST);
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_CLOSE);
  CHECK(anyload_tcp_poll(a, c.sd) & (POLLERR | POLLHUP), ==,
        POLLERR | POLLHUP);
  CHECK(tw_recv(a, c.sd, buf, sizeof(buf)), ==, -ECONNRESET);
  CHECK(tw_recv(a, c.sd, buf, sizeof(buf)), ==, 0);
  CHECK(tw_send(a, c.sd, "x", 1), ==, -EPIPE);
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);
  tw_close(&w);
}

/* RSTs in the other states. */
static void test_tcp_rst_states(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g, sa;
  struct tw_seg s;
  struct sockaddr_in b = tw_sin(TW_IP_B, 80);
  int sd, ls, e;
  socklen_t len = sizeof(e);

  tw_open(&w, "rs", NULL, TW_PEER);
  a = w.st[0];
  /* SYN_SENT: an RST without ACK is ignored, one with an acceptable ACK
   * refuses the connection. */
  sd = anyload_tcp_open(a);
  CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==,
        -EINPROGRESS);
  tw_peer_expect(&w, &g, ST_TCP_SYN);
  {
    struct sockaddr_in n;
    socklen_t nl = sizeof(n);
    CHECK(anyload_tcp_getsockname(a, sd, &n, &nl), ==, 0);
    s = tw_seg_init(80, ntohs(n.sin_port));
  }
  s.flags = ST_TCP_RST;
  s.seq = 1;
  tw_peer_send(&w, &s);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_SYN_SENT);
  s.flags = ST_TCP_RST | ST_TCP_ACK;
  s.ack = g.h.seq + 5;        /* not acceptable: an RST? no: dropped */
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_SYN_SENT);
  s.ack = g.h.seq + 1;
  tw_peer_send(&w, &s);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_CLOSE);
  CHECK(anyload_tcp_poll(a, sd) & POLLERR, ==, POLLERR);
  CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==,
        -ECONNREFUSED);
  CHECK(anyload_tcp_close(a, sd, tw_now()), ==, 0);

  /* SYN_RECV (passive): the exact RST removes the embryonic child. */
  ls = tw_listen(a, 90, 4);
  s = tw_seg_init(PA, 90);
  s.flags = ST_TCP_SYN;
  s.seq = 300;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &sa, ST_TCP_SYN | ST_TCP_ACK);
  s.flags = ST_TCP_RST;
  s.seq = 301;
  tw_peer_send(&w, &s);
  {
    struct anyload_stack_info in;
    anyload_stack_info(a, &in);
    CHECK(in.tcp_connections, ==, 0);
  }
  CHECK(anyload_tcp_accept(a, ls, NULL, tw_now()), ==, -EAGAIN);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);

  /* FIN_WAIT1: the exact RST ends it; SO_ERROR tells ECONNRESET. */
  est_active(&w, &c, 1, 0);
  CHECK(anyload_tcp_shutdown(a, c.sd, SHUT_WR, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_FIN);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_FIN_WAIT1);
  s = cseg(&c, ST_TCP_RST);
  tw_peer_send(&w, &s);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_CLOSE);
  CHECK(anyload_tcp_getsockopt(a, c.sd, SOL_SOCKET, SO_ERROR, &e, &len), ==,
        0);
  CHECK(e, ==, ECONNRESET);
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);

  /* CLOSE_WAIT then LAST_ACK: RST in LAST_ACK closes quietly. */
  est_active(&w, &c, 1, 0);
  s = cseg(&c, ST_TCP_ACK | ST_TCP_FIN);
  tw_peer_send(&w, &s);
  c.p_nxt++;
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_CLOSE_WAIT);
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_FIN);
  s = cseg(&c, ST_TCP_RST);
  tw_peer_send(&w, &s);
  {
    struct anyload_stack_info in;
    anyload_stack_info(a, &in);
    CHECK(in.tcp_connections, ==, 0);
    CHECK(in.filters, ==, 0);
  }
  CHECK(tw_stat(a, "tcp_rx_rst"), ==, 4);
  tw_close(&w);
}

/* PAWS drops a segment with an old timestamp (and ACKs); out-of-order
 * segments are held, SACKed, and assembled when the hole fills. */
static void test_tcp_paws_ooo(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  uint8_t data[3000], buf[4000];

  a = est_world(&w, &c, "pa", 1, 1);
  tw_fill(data, sizeof(data), 0, 5);
  /* PAWS: tsval older than TS.Recent. */
  s = cseg(&c, ST_TCP_ACK);
  s.tsval = c.tsval - 500;
  s.data = data;
  s.len = 100;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, c.p_nxt);
  CHECK(tw_stat(a, "tcp_rx_drop_paws"), ==, 1);
  CHECK(tw_recv(a, c.sd, buf, sizeof(buf)), ==, -EAGAIN);

  /* Three 1000-byte pieces: the third, then the second, then the first. */
  s = cseg(&c, ST_TCP_ACK);
  s.seq = c.p_nxt + 2000;
  s.data = data + 2000;
  s.len = 1000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, c.p_nxt);
  CHECK(g.h.nsack, ==, 1);
  CHECK(g.h.sack[0][0], ==, c.p_nxt + 2000);
  CHECK(g.h.sack[0][1], ==, c.p_nxt + 3000);
  s = cseg(&c, ST_TCP_ACK);
  s.seq = c.p_nxt + 500;      /* a second hole: [500, 1000) comes later */
  s.data = data + 1000;
  s.len = 0;
  s.seq = c.p_nxt + 1000;
  s.len = 500;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.nsack, ==, 2);
  CHECK(g.h.sack[0][0], ==, c.p_nxt + 1000);   /* the latest first */
  CHECK(g.h.sack[0][1], ==, c.p_nxt + 1500);
  CHECK(g.h.sack[1][0], ==, c.p_nxt + 2000);
  CHECK(g.h.sack[1][1], ==, c.p_nxt + 3000);
  s = cseg(&c, ST_TCP_ACK);
  s.seq = c.p_nxt + 1500;
  s.data = data + 1500;
  s.len = 500;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.nsack, ==, 1);
  CHECK(g.h.sack[0][0], ==, c.p_nxt + 1000);
  CHECK(g.h.sack[0][1], ==, c.p_nxt + 3000);
  CHECK(tw_recv(a, c.sd, buf, sizeof(buf)), ==, -EAGAIN);
  s = cseg(&c, ST_TCP_ACK);
  s.data = data;
  s.len = 1000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, c.p_nxt + 3000);
  CHECK(g.h.nsack, ==, 0);
  CHECK(tw_recv(a, c.sd, buf, sizeof(buf)), ==, 3000);
  CHECK(tw_check(buf, 3000, 0, 5), ==, 1);
  CHECK(tw_sstat(a, c.sd, "rx_ooo_segs"), ==, 3);
  c.p_nxt += 3000;
  close_time_wait(&w, &c);
  tw_close(&w);
}

/* Close with unread data resets (RFC 2525 §2.17). */
static void test_tcp_close_unread_rst(void)
{
  struct tw w;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;

  tw_open(&w, "cu", NULL, TW_PEER);
  est_active(&w, &c, 0, 0);
  s = cseg(&c, ST_TCP_ACK | ST_TCP_PSH);
  s.data = "unread";
  s.len = 6;
  tw_peer_send(&w, &s);
  c.p_nxt += 6;
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(anyload_tcp_close(w.st[0], c.sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt);
  CHECK(g.h.ack, ==, c.p_nxt);
  CHECK(tw_stat(w.st[0], "tcp_close_unread"), ==, 1);
  tw_close(&w);
}

/* RTO: the peer never ACKs; retransmissions at RTO, 2 RTO, 4 RTO ... of
 * the first segment only (cwnd is one segment after an RTO), then the
 * peer ACKs and the rest follows; TCP_USER_TIMEOUT ends a second
 * attempt with ETIMEDOUT. */
static void test_tcp_rto_backoff(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  uint8_t data[3000];
  int64_t t0, rto;
  int k;
  char buf[8];

  a = est_world(&w, &c, "rt", 0, 0);
  tw_fill(data, sizeof(data), 0, 7);
  CHECK(tw_send(a, c.sd, data, 3000), ==, 3000);
  t0 = tw_now();
  for (k = 0; k < 3; k++) {
    tw_peer_expect(&w, &g, k == 2 ? ST_TCP_ACK | ST_TCP_PSH : ST_TCP_ACK);
    CHECK(g.h.seq, ==, c.a_nxt + 1000u * (unsigned)k);
  }
  tw_peer_none(&w);
  /* The handshake took no time on this link: RTO is the 200 ms floor. */
  rto = 200 * TW_MS;
  for (k = 0; k < 4; k++) {
    int64_t due = t0 + rto * ((2ll << k) - 1);
    tw_run(&w, due - tw_now() - 1);
    tw_peer_none(&w);
    tw_run(&w, 1);
    tw_peer_expect(&w, &g, ST_TCP_ACK);
    CHECK(g.h.seq, ==, c.a_nxt);
    CHECK(g.len, ==, 1000);
    tw_peer_none(&w);
  }
  CHECK(tw_sstat(a, c.sd, "rto_fired"), ==, 4);
  s = cseg(&c, ST_TCP_ACK);
  s.ack = c.a_nxt + 1000;
  tw_peer_send(&w, &s);
  /* Slow start from one segment: two more now. */
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt + 1000);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.h.seq, ==, c.a_nxt + 2000);
  s.ack = c.a_nxt + 3000;
  tw_peer_send(&w, &s);
  c.a_nxt += 3000;
  tw_peer_none(&w);

  /* TCP_USER_TIMEOUT 3 s: the connection gives up. */
  set_opt_int(a, c.sd, IPPROTO_TCP, TCP_USER_TIMEOUT, 3000);
  CHECK(tw_send(a, c.sd, data, 10), ==, 10);
  tw_run(&w, 10 * TW_SEC);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_CLOSE);
  CHECK(tw_recv(a, c.sd, buf, sizeof(buf)), ==, -ETIMEDOUT);
  CHECK(tw_stat(a, "tcp_timeouts"), ==, 1);
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);
  while (tw_peer_next(&w, &g))
    CHECK(g.h.seq, ==, c.a_nxt);
  tw_close(&w);
}

/* Fast retransmit after three duplicate ACKs (no SACK: NewReno). */
static void test_tcp_fast_retransmit(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  uint8_t data[6000];
  int k;

  a = est_world(&w, &c, "fr", 0, 0);
  send_flight(&w, &c, data, 6000, 8, 6);
  /* Segment 1 was "lost": ACK of 0, then 3 duplicates for 2, 3, 4. */
  s = cseg(&c, ST_TCP_ACK);
  s.ack = c.a_nxt + 1000;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  for (k = 0; k < 2; k++) {
    tw_peer_send(&w, &s);
    tw_peer_none(&w);
  }
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt + 1000);
  CHECK(g.len, ==, 1000);
  CHECK(tw_check(g.data, 1000, 1000, 8), ==, 1);
  CHECK(tw_sstat(a, c.sd, "fast_retrans"), ==, 1);
  CHECK(tw_sstat(a, c.sd, "rto_fired"), ==, 0);
  /* A partial ACK (up to 3, 3 was lost too): 3 goes at once. */
  s.ack = c.a_nxt + 3000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt + 3000);
  s.ack = c.a_nxt + 6000;
  tw_peer_send(&w, &s);
  c.a_nxt += 6000;
  close_time_wait(&w, &c);
  tw_close(&w);
}

/* SACK recovery (RFC 6675) with three holes: exactly the holes are
 * retransmitted, the SACKed segments are not. */
static void test_tcp_sack_holes(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  uint8_t data[10000];
  int k, seen[10];
  unsigned m;

  a = est_world(&w, &c, "sh", 0, 1);
  send_flight(&w, &c, data, 10000, 9, 10);
  /* Segments 1, 4 and 7 lost: the peer SACKs the rest as it arrives. */
  s = cseg(&c, ST_TCP_ACK);
  s.ack = c.a_nxt + 1000;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  s.nsack = 1;
  s.sack[0][0] = c.a_nxt + 2000;
  s.sack[0][1] = c.a_nxt + 3000;
  tw_peer_send(&w, &s);
  s.sack[0][1] = c.a_nxt + 4000;
  tw_peer_send(&w, &s);
  s.nsack = 2;
  s.sack[0][0] = c.a_nxt + 5000;
  s.sack[0][1] = c.a_nxt + 6000;
  s.sack[1][0] = c.a_nxt + 2000;
  s.sack[1][1] = c.a_nxt + 4000;
  tw_peer_send(&w, &s);
  s.sack[0][1] = c.a_nxt + 7000;
  tw_peer_send(&w, &s);
  s.nsack = 3;
  s.sack[0][0] = c.a_nxt + 8000;
  s.sack[0][1] = c.a_nxt + 9000;
  s.sack[1][0] = c.a_nxt + 5000;
  s.sack[1][1] = c.a_nxt + 7000;
  s.sack[2][0] = c.a_nxt + 2000;
  s.sack[2][1] = c.a_nxt + 4000;
  tw_peer_send(&w, &s);
  s.sack[0][1] = c.a_nxt + 10000;
  tw_peer_send(&w, &s);
  memset(seen, 0, sizeof(seen));
  while (tw_peer_next(&w, &g)) {
    m = (g.h.seq - c.a_nxt) / 1000;
    CHECK(m, <, 10);
    CHECK(g.len, ==, 1000);
    CHECK(tw_check(g.data, 1000, m * 1000, 9), ==, 1);
    seen[m]++;
  }
  /* The holes once each; no SACKed segment again, and no rescue
   * retransmission (RFC 6675 rule 4) before the cumulative ACK moves. */
  CHECK(seen[1], ==, 1);
  CHECK(seen[4], ==, 1);
  CHECK(seen[7], ==, 1);
  for (k = 0; k < 10; k++)
    if (k != 1 && k != 4 && k != 7)
      CHECK(seen[k], ==, 0);
  CHECK(tw_sstat(a, c.sd, "fast_retrans"), ==, 1);
  CHECK(tw_sstat(a, c.sd, "sack_retrans"), ==, 3);
  CHECK(tw_sstat(a, c.sd, "rto_fired"), ==, 0);
  s.nsack = 0;
  s.ack = c.a_nxt + 10000;
  tw_peer_send(&w, &s);
  c.a_nxt += 10000;
  tw_peer_none(&w);
  {
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    CHECK(anyload_tcp_getsockopt(a, c.sd, IPPROTO_TCP, TCP_INFO, &ti, &len),
          ==, 0);
    CHECK(ti.tcpi_ca_state, ==, 0);
    CHECK(ti.tcpi_unacked, ==, 0);
    CHECK(ti.tcpi_total_retrans, ==, 3);
  }
  close_time_wait(&w, &c);
  tw_close(&w);
}

/* Zero window: A probes with SND.UNA - 1 at RTO, 2 RTO ... and sends
 * again once the window opens. */
static void test_tcp_zero_window(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  uint8_t data[3000];
  int64_t t0;

  a = est_world(&w, &c, "zw", 0, 0);
  s = cseg(&c, ST_TCP_ACK);
  s.win = 0;
  tw_peer_send(&w, &s);
  tw_fill(data, sizeof(data), 0, 10);
  CHECK(tw_send(a, c.sd, data, 3000), ==, 3000);
  tw_peer_none(&w);
  t0 = tw_now();
  tw_run(&w, 200 * TW_MS - 1);
  tw_peer_none(&w);
  tw_run(&w, 1);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt - 1);
  CHECK(g.len, ==, 0);
  tw_peer_send(&w, &s);          /* still zero */
  tw_run(&w, t0 + 600 * TW_MS - 1 - tw_now());
  tw_peer_none(&w);
  tw_run(&w, 1);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt - 1);
  CHECK(tw_sstat(a, c.sd, "persist_probes"), ==, 2);
  /* The window opens to 1500: one full segment and 500 bytes... Nagle
   * holds the 500 with one in flight. */
  s.win = 1500;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt);
  CHECK(g.len, ==, 1000);
  tw_peer_none(&w);
  s.ack = c.a_nxt + 1000;
  s.win = 65535;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.len, ==, 1000);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.h.seq, ==, c.a_nxt + 2000);
  s.ack = c.a_nxt + 3000;
  tw_peer_send(&w, &s);
  c.a_nxt += 3000;
  tw_peer_none(&w);
  tw_abort_sd(&w, c.sd);
  tw_close(&w);
}

/* Keepalive: probes after KEEPIDLE, every KEEPINTVL; an answer resets
 * the count; KEEPCNT unanswered probes end the connection with RST. */
static void test_tcp_keepalive(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  int k;
  char buf[4];

  a = est_world(&w, &c, "ka", 0, 0);
  set_opt_int(a, c.sd, SOL_SOCKET, SO_KEEPALIVE, 1);
  set_opt_int(a, c.sd, IPPROTO_TCP, TCP_KEEPIDLE, 10);
  set_opt_int(a, c.sd, IPPROTO_TCP, TCP_KEEPINTVL, 2);
  set_opt_int(a, c.sd, IPPROTO_TCP, TCP_KEEPCNT, 3);
  /* The idle time restarts with the option. */
  tw_run(&w, 10 * TW_SEC - 1);
  tw_peer_none(&w);
  tw_run(&w, 1);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt - 1);
  CHECK(g.len, ==, 0);
  /* Answered: idle again. */
  s = cseg(&c, ST_TCP_ACK);
  tw_peer_send(&w, &s);
  tw_run(&w, 10 * TW_SEC - 1);
  tw_peer_none(&w);
  for (k = 0; k < 3; k++) {
    tw_run(&w, k ? 2 * TW_SEC : 1);
    tw_peer_expect(&w, &g, ST_TCP_ACK);
    CHECK(g.h.seq, ==, c.a_nxt - 1);
  }
  tw_run(&w, 2 * TW_SEC);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_CLOSE);
  CHECK(tw_recv(a, c.sd, buf, sizeof(buf)), ==, -ETIMEDOUT);
  CHECK(tw_stat(a, "tcp_keepalive_probes"), ==, 4);
  CHECK(tw_stat(a, "tcp_keepalive_deaths"), ==, 1);
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);
  tw_close(&w);
}

/* SYN cookies: with the SYN queue full (128 embryonic connections), a
 * SYN gets a cookie SYN-ACK (its options ride in the TSval:
 * test_tcp_listen.c) and the ACK completes it; an ACK without timestamps
 * makes a connection without options. */
static void test_tcp_syn_cookies(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_got g;
  struct tw_seg s;
  int ls, k, sd;
  char buf[8];

  tw_open(&w, "sc", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 1);
  for (k = 0; k < 128; k++) {
    s = syn_with_options((uint16_t)(20000 + k), 100u * (unsigned)k, 1460);
    tw_peer_send(&w, &s);
    tw_peer_expect(&w, &g, ST_TCP_SYN | ST_TCP_ACK);
    CHECK(g.h.ts_ok, ==, 1);
  }
  CHECK(tw_stat(a, "tcp_syncookies_sent"), ==, 0);
  s = syn_with_options(PA, 9000, 1400);
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(tw_stat(a, "tcp_syncookies_sent"), ==, 1);
  CHECK(g.h.mss, ==, 1460);
  CHECK(g.h.ts_ok, ==, 1);
  CHECK(g.h.ws_ok, ==, 1);
  CHECK(g.h.sack_ok, ==, 1);
  CHECK(g.h.ack, ==, 9001);
  /* A wrong cookie: RST. */
  s.flags = ST_TCP_ACK;
  s.seq = 9001;
  s.ts = 0;
  s.ack = g.h.seq + 2;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_RST);
  CHECK(tw_stat(a, "tcp_syncookies_bad"), ==, 1);
  /* The right one, with data. */
  s.ack = g.h.seq - 1;      /* = cookie + 1: g.h.seq was cookie + 2 */
  s.data = "hi";
  s.len = 2;
  s.win = 1000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 9003);
  CHECK(tw_stat(a, "tcp_syncookies_ok"), ==, 1);
  sd = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd, >=, 0);
  CHECK(tw_recv(a, sd, buf, sizeof(buf)), ==, 2);
  CHECK(tw_send(a, sd, "yo", 2), ==, 2);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.len, ==, 2);
  CHECK(g.h.win, ==, 65535);      /* no window scale */
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  /* The 128 embryonic children were reset with the listener. */
  for (k = 0; k < 128; k++)
    tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  tw_abort_sd(&w, sd);
  tw_close(&w);
}

/* Simultaneous open between two stacks (RFC 9293 figure 8). */
static void test_tcp_simultaneous_open(void)
{
  struct tw w;
  struct anyload_stack *a, *b;
  struct sockaddr_in la = tw_sin(TW_IP_A, 5000), lb = tw_sin(TW_IP_B, 6000);
  int sa, sb;
  char buf[8];

  tw_open(&w, "so", NULL, TW_STACK);
  a = w.st[0];
  b = w.st[1];
  sa = anyload_tcp_open(a);
  sb = anyload_tcp_open(b);
  CHECK(anyload_tcp_bind(a, sa, &la, sizeof(la)), ==, 0);
  CHECK(anyload_tcp_bind(b, sb, &lb, sizeof(lb)), ==, 0);
  CHECK(anyload_tcp_connect(a, sa, &lb, sizeof(lb), tw_now()), ==,
        -EINPROGRESS);
  CHECK(anyload_tcp_connect(b, sb, &la, sizeof(la), tw_now()), ==,
        -EINPROGRESS);
  tw_run(&w, 10 * TW_MS);
  CHECK(anyload_tcp_state(a, sa), ==, TCP_ESTABLISHED);
  CHECK(anyload_tcp_state(b, sb), ==, TCP_ESTABLISHED);
  CHECK(tw_stat(a, "tcp_simultaneous_opens"), ==, 1);
  CHECK(tw_stat(b, "tcp_simultaneous_opens"), ==, 1);
  CHECK(tw_send(a, sa, "ab", 2), ==, 2);
  CHECK(tw_send(b, sb, "ba", 2), ==, 2);
  tw_run(&w, 10 * TW_MS);
  CHECK(tw_recv(a, sa, buf, sizeof(buf)), ==, 2);
  CHECK_MEM(buf, "ba", 2);
  CHECK(tw_recv(b, sb, buf, sizeof(buf)), ==, 2);
  CHECK_MEM(buf, "ab", 2);
  /* Simultaneous close: both in TIME_WAIT. */
  CHECK(anyload_tcp_close(a, sa, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(b, sb, tw_now()), ==, 0);
  tw_run(&w, 10 * TW_MS);
  {
    struct anyload_stack_info ia, ib;
    anyload_stack_info(a, &ia);
    anyload_stack_info(b, &ib);
    CHECK(ia.tcp_time_wait, ==, 1);
    CHECK(ib.tcp_time_wait, ==, 1);
  }
  tw_run(&w, 61 * TW_SEC);
  tw_close(&w);
}

/* A literal loss mask between two stacks: the first data segment and
 * its first retransmission are lost; the data arrives intact after RTOs
 * and the sender counts them. */
static void test_tcp_loss_mask(void)
{
  struct anyload_sim_config cfg;
  struct tw w;
  struct anyload_stack *a, *b;
  int ls, ca, cb;
  uint8_t data[20000], buf[20000];
  static const uint8_t none[1] = { 0 };
  struct anyload_sim_dir_config dir;
  ssize_t n, got = 0;

  anyload_sim_config_init(&cfg);
  cfg.a_to_b.latency_ns = cfg.b_to_a.latency_ns = 1 * TW_MS;
  tw_open(&w, "lm", &cfg, TW_STACK);
  a = w.st[0];
  b = w.st[1];
  tw_connect_pair(&w, 7002, &ls, &ca, &cb);
  /* The next frame from A (the first data segment) and the one after
   * the next three (its retransmission after the three others) die. */
  memset(&dir, 0, sizeof(dir));
  dir.latency_ns = 1 * TW_MS;
  {
    static const uint8_t mask[1] = { 0x11 };
    dir.loss_mask = mask;
    dir.loss_mask_bits = 8;
  }
  (void)none;
  CHECK(anyload_sim_link_set_faults(w.ifn[0], &dir), ==, 0);
  tw_fill(data, sizeof(data), 0, 13);
  CHECK(tw_send(a, ca, data, 4 * 1448), ==, 4 * 1448);
  tw_run(&w, 5 * TW_SEC);
  while ((n = tw_recv(b, cb, buf + got, sizeof(buf) - (size_t)got)) > 0)
    got += n;
  CHECK(got, ==, 4 * 1448);
  CHECK(tw_check(buf, (size_t)got, 0, 13), ==, 1);
  CHECK(tw_sstat(a, ca, "retrans_segs"), >=, 2);
  CHECK(tw_stat(b, "tcp_rx_ooo_segs"), >=, 3);
  CHECK(anyload_tcp_close(a, ca, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(b, cb, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(b, ls, tw_now()), ==, 0);
  tw_run(&w, 61 * TW_SEC);
  tw_close(&w);
}

/* peer_icmp: an ICMP error from the peer quoting the last frame the peer
 * captured (its IP header and first 8 bytes of TCP), with seq_delta
 * added to the quoted sequence. */
static void peer_icmp(struct tw* w, uint8_t type, uint8_t code, uint16_t mtu,
                      int32_t seq_delta)
{
  struct sim_raw* r = w->raw;
  const uint8_t* q = r->cap[r->rd - 1] + ST_ETH_HLEN;
  unsigned b;
  uint8_t* f = sim_raw_tx_buf(r, &b);
  uint8_t quote[28];
  struct st_icmp_repr ic;
  uint8_t* p;

  memcpy(quote, q, 28);
  st_put_be32(quote + 24, st_get_be32(quote + 24) + (uint32_t)seq_delta);
  p = tw_peer_headers(f, ST_IPPROTO_ICMP, 8 + 28, 0, 0);
  memset(&ic, 0, sizeof(ic));
  ic.type = type;
  ic.code = code;
  ic.rest_be32 = htonl(mtu);
  ic.data = quote;
  ic.data_len = 28;
  st_icmp_build(p, &ic);
  sim_raw_tx(r, b, ST_ETH_HLEN + ST_IPV4_HLEN + 8 + 28);
  tw_poll_all(w);
}

/* ICMP about our segments (RFC 5927): port unreachable aborts a
 * connection attempt (ECONNREFUSED); fragmentation needed quoting a
 * sequence in flight lowers the path MTU and the MSS and the data goes
 * again in smaller segments; quotes outside SND.UNA..SND.MAX are
 * ignored. With flags 0 (the stack does not claim ICMP, as in transparent
 * mode) the same: the VI gives a stack the errors that quote its flows. */
static void icmp_case(unsigned flags)
{
  struct anyload_stack_config base;
  struct tw w;
  struct anyload_stack* a;
  struct sockaddr_in b = tw_sin(TW_IP_B, 80);
  struct tw_got g;
  struct tw_seg s;
  struct conn c;
  uint8_t data[3000];
  int sd, k;

  anyload_stack_config_init(&base);
  base.flags = flags;
  tw_open_cfg(&w, "ic", NULL, TW_PEER, &base);
  a = w.st[0];
  sd = anyload_tcp_open(a);
  CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==,
        -EINPROGRESS);
  tw_peer_expect(&w, &g, ST_TCP_SYN);
  peer_icmp(&w, ST_ICMP_DEST_UNREACH, 3, 0, 5);     /* wrong sequence */
  CHECK(tw_stat(a, "tcp_icmp_out_of_window"), ==, 1);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_SYN_SENT);
  peer_icmp(&w, ST_ICMP_DEST_UNREACH, 3, 0, 0);
  CHECK(anyload_tcp_state(a, sd), ==, TCP_CLOSE);
  CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==,
        -ECONNREFUSED);
  CHECK(anyload_tcp_close(a, sd, tw_now()), ==, 0);

  est_active(&w, &c, 0, 0);
  set_opt_int(a, c.sd, IPPROTO_TCP, TCP_NODELAY, 1);
  tw_fill(data, sizeof(data), 0, 21);
  CHECK(tw_send(a, c.sd, data, 2000), ==, 2000);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.len, ==, 1000);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.len, ==, 1000);
  /* The path MTU on the way is 576: 536 bytes of data per segment. */
  peer_icmp(&w, ST_ICMP_DEST_UNREACH, ST_ICMP_FRAG_NEEDED, 576, 0);
  CHECK(tw_stat(a, "icmp_pmtu_learnt"), ==, 1);
  CHECK(tw_sstat(a, c.sd, "pmtu_lowered"), ==, 1);
  for (k = 0; k < 4; k++) {
    tw_peer_expect(&w, &g, k == 3 ? ST_TCP_ACK | ST_TCP_PSH : ST_TCP_ACK);
    CHECK(g.h.seq, ==, c.a_nxt + 536u * (unsigned)k);
    CHECK(g.len, ==, (k == 3 ? 2000 - 3 * 536 : 536));
    CHECK(g.df, ==, 1);
  }
  /* A quote of an acknowledged sequence changes nothing. */
  s = cseg(&c, ST_TCP_ACK);
  s.ack = c.a_nxt + 2000;
  tw_peer_send(&w, &s);
  c.a_nxt += 2000;
  peer_icmp(&w, ST_ICMP_DEST_UNREACH, ST_ICMP_FRAG_NEEDED, 300, 0);
  CHECK(tw_stat(a, "icmp_pmtu_learnt"), ==, 1);
  CHECK(tw_stat(a, "tcp_icmp_out_of_window"), ==, 2);
  tw_abort_sd(&w, c.sd);
  tw_close(&w);
}

static void test_tcp_icmp(void)
{
  icmp_case(ANYLOAD_STACK_F_RX_ICMP);
}

static void test_tcp_icmp_unclaimed(void)
{
  icmp_case(0);
}

/* Delayed ACKs: after the quick ACKs of the start, every second segment
 * is ACKed at once, a lone one after 40 ms. */
static void test_tcp_delayed_ack(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  uint8_t data[100];
  int k;

  a = est_world(&w, &c, "da", 0, 0);
  memset(data, 'd', sizeof(data));
  /* The quick ACKs (16 at the start, one used by the handshake). */
  for (k = 0; k < 15; k++) {
    peer_data(&w, &c, data, 100);
    tw_peer_expect(&w, &g, ST_TCP_ACK);
    CHECK(g.h.ack, ==, c.p_nxt);
  }
  peer_data(&w, &c, data, 100);
  tw_peer_none(&w);
  peer_data(&w, &c, data, 100);
  tw_peer_expect(&w, &g, ST_TCP_ACK);       /* the second: at once */
  CHECK(g.h.ack, ==, c.p_nxt);
  peer_data(&w, &c, data, 100);
  tw_run(&w, 40 * TW_MS - 1);
  tw_peer_none(&w);
  tw_run(&w, 1);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, c.p_nxt);
  CHECK(tw_sstat(a, c.sd, "delayed_acks"), ==, 1);
  /* An orphan in FIN_WAIT_2 ends after 60 s if the peer never closes. */
  {
    uint8_t buf[2048];
    while (tw_recv(a, c.sd, buf, sizeof(buf)) > 0)
      ;
  }
  CHECK(anyload_tcp_close(a, c.sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_FIN);
  s = cseg(&c, ST_TCP_ACK);
  s.ack = c.a_nxt + 1;
  tw_peer_send(&w, &s);
  {
    struct anyload_stack_info in;
    anyload_stack_info(a, &in);
    CHECK(in.tcp_connections, ==, 1);
    tw_run(&w, 60 * TW_SEC - 1);
    anyload_stack_info(a, &in);
    CHECK(in.tcp_connections, ==, 1);
    tw_run(&w, 1);
    anyload_stack_info(a, &in);
    CHECK(in.tcp_connections, ==, 0);
  }
  CHECK(tw_stat(a, "tcp_fin_wait2_timeouts"), ==, 1);
  tw_close(&w);
}

/* Ports: TCP's are apart from UDP's; a bound port is refused to another
 * socket unless both set SO_REUSEADDR and none listens; SO_REUSEADDR
 * binds over a TIME_WAIT connection. */
static void test_tcp_bind_rules(void)
{
  struct tw w;
  struct anyload_stack *a, *b;
  struct sockaddr_in p = tw_sin("0.0.0.0", 7100), bad;
  int s1, s2, u, ls, ca, cb, one = 1;

  tw_open(&w, "br", NULL, TW_STACK);
  a = w.st[0];
  b = w.st[1];
  u = anyload_udp_open(a);
  CHECK(anyload_udp_bind(a, u, &p, sizeof(p)), ==, 0);
  s1 = anyload_tcp_open(a);
  s2 = anyload_tcp_open(a);
  CHECK(anyload_tcp_bind(a, s1, &p, sizeof(p)), ==, 0);   /* not UDP's */
  CHECK(anyload_tcp_bind(a, s1, &p, sizeof(p)), ==, -EINVAL);
  CHECK(anyload_tcp_bind(a, s2, &p, sizeof(p)), ==, -EADDRINUSE);
  bad = tw_sin("198.18.0.77", 7101);
  CHECK(anyload_tcp_bind(a, s2, &bad, sizeof(bad)), ==, -EADDRNOTAVAIL);
  bad.sin_family = AF_INET6;
  CHECK(anyload_tcp_bind(a, s2, &bad, sizeof(bad)), ==, -EAFNOSUPPORT);
  CHECK(anyload_tcp_listen(a, s1, 1), ==, 0);
  CHECK(anyload_tcp_setsockopt(a, s2, SOL_SOCKET, SO_REUSEADDR, &one,
                               sizeof(one), tw_now()), ==, 0);
  CHECK(anyload_tcp_bind(a, s2, &p, sizeof(p)), ==, -EADDRINUSE);
  CHECK(anyload_tcp_close(a, s1, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(a, s2, tw_now()), ==, 0);
  CHECK(anyload_udp_close(a, u), ==, 0);

  /* A TIME_WAIT connection on B's port 7002: a new listener with
   * SO_REUSEADDR binds it. */
  tw_connect_pair(&w, 7002, &ls, &ca, &cb);
  CHECK(anyload_tcp_close(b, ls, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(b, cb, tw_now()), ==, 0);
  tw_run(&w, 10 * TW_MS);
  CHECK(anyload_tcp_close(a, ca, tw_now()), ==, 0);
  tw_run(&w, 10 * TW_MS);
  {
    struct anyload_stack_info in;
    anyload_stack_info(b, &in);
    CHECK(in.tcp_time_wait, ==, 1);
  }
  s1 = anyload_tcp_open(b);
  p = tw_sin("0.0.0.0", 7002);
  CHECK(anyload_tcp_bind(b, s1, &p, sizeof(p)), ==, -EADDRINUSE);
  CHECK(anyload_tcp_close(b, s1, tw_now()), ==, 0);
  ls = tw_listen(b, 7002, 1);
  CHECK(anyload_tcp_close(b, ls, tw_now()), ==, 0);
  tw_run(&w, 61 * TW_SEC);
  tw_close(&w);
}


/* TCP_CORK and MSG_MORE hold partial segments; uncorking sends them. A
 * shorter TCP_INFO gets a prefix. */
static void test_tcp_cork_more(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  uint8_t data[2100];
  struct iovec iov = { data, 100 };
  uint8_t info[8];
  socklen_t len = sizeof(info);

  a = est_world(&w, &c, "ck", 0, 0);
  tw_fill(data, sizeof(data), 0, 30);
  set_opt_int(a, c.sd, IPPROTO_TCP, TCP_CORK, 1);
  CHECK(tw_send(a, c.sd, data, 100), ==, 100);
  tw_peer_none(&w);
  CHECK(tw_send(a, c.sd, data + 100, 2000), ==, 2000);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.len, ==, 1000);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.len, ==, 1000);
  tw_peer_none(&w);                       /* 100 bytes held */
  s = cseg(&c, ST_TCP_ACK);
  s.ack = c.a_nxt + 2000;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);                       /* still corked */
  set_opt_int(a, c.sd, IPPROTO_TCP, TCP_CORK, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.h.seq, ==, c.a_nxt + 2000);
  CHECK(g.len, ==, 100);
  CHECK(tw_check(g.data, 100, 2000, 30), ==, 1);
  s.ack = c.a_nxt + 2100;
  tw_peer_send(&w, &s);
  c.a_nxt += 2100;
  /* MSG_MORE: held; the next send without it goes with it. */
  CHECK(anyload_tcp_send(a, c.sd, &iov, 1, MSG_MORE, tw_now()), ==, 100);
  tw_peer_none(&w);
  CHECK(tw_send(a, c.sd, data + 100, 50), ==, 50);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.len, ==, 150);
  CHECK(anyload_tcp_send(a, c.sd, &iov, 1, MSG_OOB, tw_now()), ==,
        -EOPNOTSUPP);
  CHECK(anyload_tcp_getsockopt(a, c.sd, IPPROTO_TCP, TCP_INFO, info, &len),
        ==, 0);
  CHECK(len, ==, 8);
  CHECK(info[0], ==, TCP_ESTABLISHED);
  tw_abort_sd(&w, c.sd);
  tw_close(&w);
}


/* Limited transmit (RFC 3042): with the window full (10 segments, the
 * initial window), the first two duplicate ACKs each send one new
 * segment, the third retransmits the first. */
static void test_tcp_limited_transmit(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct conn c;
  struct tw_got g;
  struct tw_seg s;
  uint8_t data[12000];
  int k;

  a = est_world(&w, &c, "lt", 0, 0);
  send_flight(&w, &c, data, 12000, 31, 10);
  s = cseg(&c, ST_TCP_ACK);
  for (k = 0; k < 2; k++) {
    tw_peer_send(&w, &s);
    tw_peer_expect(&w, &g, k ? ST_TCP_ACK | ST_TCP_PSH : ST_TCP_ACK);
    CHECK(g.h.seq, ==, c.a_nxt + 10000u + 1000u * (unsigned)k);
    tw_peer_none(&w);
  }
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, c.a_nxt);
  CHECK(g.len, ==, 1000);
  CHECK(tw_sstat(a, c.sd, "limited_transmits"), ==, 2);
  CHECK(tw_sstat(a, c.sd, "fast_retrans"), ==, 1);
  s.ack = c.a_nxt + 12000;
  tw_peer_send(&w, &s);
  c.a_nxt += 12000;
  tw_abort_sd(&w, c.sd);
  tw_close(&w);
}

/* A listener closed while a connection it accepted lives on (transparent
 * mode's hand-over of listeners at fork, a server that listens again):
 * the connection moves to a full filter of its own and keeps carrying
 * data; a SYN for the port is no longer the stack's (no RST: on a host it
 * reaches the kernel's listener); a new listener with SO_REUSEADDR on the
 * port (the child inherited it, as on Linux, so the bind is allowed)
 * takes SYNs again. */
static void test_tcp_listener_close_children(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct anyload_stack_info in;
  struct tw_got g, sa;
  struct tw_seg s, syn2, d;
  char buf[8];
  uint64_t no_sock0, rst0;
  int ls, ls2, sd, found = 0;

  tw_open(&w, "lc", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 4);
  s = tw_seg_init(PA, 80);
  s.mss = 1460;
  peer_connect(&w, &s, &sa);
  sd = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd, >=, 0);
  anyload_stack_info(a, &in);
  CHECK(in.filters, ==, 1);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  anyload_stack_info(a, &in);
  CHECK(in.filters, ==, 1);        /* the connection's full filter */
  CHECK(in.tcp_listening, ==, 0);

  /* A SYN from another port: nothing in the stack sees it. */
  no_sock0 = tw_stat(a, "rx_drop_tcp_no_sock");
  rst0 = tw_stat(a, "tcp_tx_rst");
  syn2 = tw_seg_init(PA + 1, 80);
  syn2.flags = ST_TCP_SYN;
  syn2.seq = 5000;
  syn2.mss = 1460;
  tw_peer_send(&w, &syn2);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "rx_drop_tcp_no_sock"), ==, no_sock0);
  CHECK(tw_stat(a, "tcp_tx_rst"), ==, rst0);

  /* The accepted connection still works both ways. */
  d = tw_seg_init(PA, 80);
  d.flags = ST_TCP_ACK | ST_TCP_PSH;
  d.seq = 1001;
  d.ack = sa.h.seq + 1;
  d.data = "ping";
  d.len = 4;
  tw_peer_send(&w, &d);
  tw_poll_all(&w);
  CHECK(tw_recv(a, sd, buf, sizeof(buf)), ==, 4);
  CHECK_MEM(buf, "ping", 4);
  CHECK(tw_send(a, sd, "pong", 4), ==, 4);
  while (tw_peer_next(&w, &g))
    if (g.len == 4 && memcmp(g.data, "pong", 4) == 0)
      found = 1;
  CHECK(found, ==, 1);

  /* Listening again on the port: SYNs are the stack's again. */
  ls2 = tw_listen(a, 80, 4);
  syn2.seq = 6000;
  tw_peer_send(&w, &syn2);
  tw_peer_expect(&w, &g, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(g.h.ack, ==, 6001);
  CHECK(g.dport, ==, PA + 1);

  /* Clean up: the listener resets its embryonic child, SO_LINGER 0
   * resets the connection. */
  CHECK(anyload_tcp_close(a, ls2, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  tw_abort_sd(&w, sd);
  tw_close(&w);
}

/* TIME_WAIT of a connection A closed first (no application left): a SYN
 * above RCV.NXT reopens it through the listener (RFC 1122 §4.2.2.13, RFC
 * 6191), with an ISN above the old SND.NXT; a SYN+FIN, which the listener
 * would drop, is the connection's (a challenge ACK, RFC 5961 §4.2) and
 * leaves TIME_WAIT alone. */
static void test_tcp_time_wait_syn(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct anyload_stack_info in;
  struct tw_got g, sa;
  struct tw_seg s;
  int ls, sd;

  tw_open(&w, "tws", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 4);
  s = tw_seg_init(PA, 80);
  peer_connect(&w, &s, &sa);
  tw_peer_none(&w);
  sd = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd, >=, 0);
  /* A closes first; the peer acknowledges its FIN and sends its own. */
  CHECK(anyload_tcp_close(a, sd, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_FIN);
  CHECK(g.h.seq, ==, sa.h.seq + 1);
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_ACK | ST_TCP_FIN;
  s.seq = 1001;
  s.ack = sa.h.seq + 2;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 1002);
  anyload_stack_info(a, &in);
  CHECK(in.tcp_time_wait, ==, 1);
  /* SYN+FIN above RCV.NXT: a challenge ACK, TIME_WAIT stays. */
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_SYN | ST_TCP_FIN;
  s.seq = 5000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, sa.h.seq + 2);
  CHECK(g.h.ack, ==, 1002);
  tw_peer_none(&w);
  anyload_stack_info(a, &in);
  CHECK(in.tcp_time_wait, ==, 1);
  /* A SYN above RCV.NXT: a new connection, TIME_WAIT ends. */
  s.flags = ST_TCP_SYN;
  s.seq = 6000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(g.h.ack, ==, 6001);
  CHECK((int32_t)(g.h.seq - (sa.h.seq + 2)), >, 0);
  anyload_stack_info(a, &in);
  CHECK(in.tcp_time_wait, ==, 0);
  /* Clean up: closing the listener resets its embryonic child. */
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  tw_close(&w);
}

/* time_wait_conn_ts: the raw peer connects to A's listener on port 80
 * (ISN 1000, *sa is A's SYN-ACK; with ts, timestamps on, the peer's TSvals
 * 100, 101 and 102 for its FIN), A accepts and closes first, the peer
 * acknowledges A's FIN and sends its own: A's connection is in TIME_WAIT
 * (RCV.NXT 1002, SND.NXT sa->h.seq + 2) from the returned time on. */
static int64_t time_wait_conn_ts(struct tw* w, int ls, struct tw_got* sa,
                                 int ts)
{
  struct anyload_stack* a = w->st[0];
  struct anyload_stack_info in;
  struct tw_got g;
  struct tw_seg s;
  int sd;

  s = tw_seg_init(PA, 80);
  s.ts = ts;
  s.tsval = 100;
  peer_connect(w, &s, sa);
  CHECK(sa->h.ts_ok, ==, !!ts);
  tw_peer_none(w);
  sd = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(sd, >=, 0);
  CHECK(anyload_tcp_close(a, sd, tw_now()), ==, 0);
  tw_peer_expect(w, &g, ST_TCP_ACK | ST_TCP_FIN);
  CHECK(g.h.seq, ==, sa->h.seq + 1);
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_ACK | ST_TCP_FIN;
  s.seq = 1001;
  s.ack = sa->h.seq + 2;
  s.ts = ts;
  s.tsval = 102;
  s.tsecr = g.h.tsval;
  tw_peer_send(w, &s);
  tw_peer_expect(w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 1002);
  anyload_stack_info(a, &in);
  CHECK(in.tcp_time_wait, ==, 1);
  return tw_now();
}

static int64_t time_wait_conn(struct tw* w, int ls, struct tw_got* sa)
{
  return time_wait_conn_ts(w, ls, sa, 0);
}

/* tw_conns: A's connections, and how many of them are in TIME_WAIT. */
static void tw_conns(struct anyload_stack* a, unsigned* conns, unsigned* tw)
{
  struct anyload_stack_info in;

  anyload_stack_info(a, &in);
  *conns = in.tcp_connections;
  *tw = in.tcp_time_wait;
}

/* A connection in TIME_WAIT that a SYN reopened goes back to TIME_WAIT
 * when the SYN was an old duplicate (the peer resets the SYN-ACK: RFC 1122
 * §4.2.2.13 (2)), with the old sequence numbers and until the old 2 MSL
 * deadline; after that deadline there is nothing to go back to. */
static void test_tcp_time_wait_syn_return(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_got g, sa, sa2;
  struct tw_seg s;
  unsigned conns, tw;
  int64_t t0;
  int ls;

  tw_open(&w, "twr", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 4);
  t0 = time_wait_conn(&w, ls, &sa);
  /* 10 s later an old duplicate SYN above RCV.NXT: a new incarnation. */
  tw_run(&w, 10 * TW_SEC);
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_SYN;
  s.seq = 6000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &sa2, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(sa2.h.ack, ==, 6001);
  CHECK((int32_t)(sa2.h.seq - (sa.h.seq + 2)), >, 0);
  CHECK(tw_stat(a, "tcp_time_wait_reused"), ==, 1);
  tw_conns(a, &conns, &tw);
  CHECK(conns, ==, 1);
  CHECK(tw, ==, 0);
  /* The peer knows no such connection: an RST at SEG.ACK of the
   * SYN-ACK, RCV.NXT of the embryo. The old connection comes back. */
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_RST;
  s.seq = 6001;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_time_wait_returned"), ==, 1);
  tw_conns(a, &conns, &tw);
  CHECK(conns, ==, 1);
  CHECK(tw, ==, 1);
  /* It is the old connection: an out-of-window ACK gets the old
   * SND.NXT and RCV.NXT. */
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_ACK;
  s.seq = 1002 + (1u << 30);
  s.ack = sa.h.seq + 2;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, sa.h.seq + 2);
  CHECK(g.h.ack, ==, 1002);
  tw_peer_none(&w);
  /* Its SYN-ACK is not sent again, and it ends at the old deadline. */
  tw_run(&w, t0 + 60 * TW_SEC - TW_MS - tw_now());
  tw_peer_none(&w);
  tw_conns(a, &conns, &tw);
  CHECK(tw, ==, 1);
  tw_run(&w, 2 * TW_MS);
  tw_conns(a, &conns, &tw);
  CHECK(conns, ==, 0);
  CHECK(tw, ==, 0);
  tw_peer_none(&w);

  /* Again, the SYN 59.5 s into TIME_WAIT and the RST after the old
   * deadline: the embryo goes, nothing comes back. */
  t0 = time_wait_conn(&w, ls, &sa);
  tw_run(&w, 59500 * TW_MS);
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_SYN;
  s.seq = 7000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &sa2, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(sa2.h.ack, ==, 7001);
  CHECK(tw_stat(a, "tcp_time_wait_reused"), ==, 2);
  tw_run(&w, t0 + 60 * TW_SEC + TW_MS - tw_now());
  while (tw_peer_next(&w, &g)) {
    /* The SYN-ACK again (RTO 1 s), nothing else. */
    CHECK((unsigned)g.h.flags, ==, ST_TCP_SYN | ST_TCP_ACK);
    CHECK(g.h.seq, ==, sa2.h.seq);
  }
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_RST;
  s.seq = 7001;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_time_wait_returned"), ==, 1);
  tw_conns(a, &conns, &tw);
  CHECK(conns, ==, 0);
  CHECK(tw, ==, 0);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  tw_close(&w);
}

/* With timestamps on the old connection and the SYN, the TSval decides
 * whether a SYN is newer (RFC 6191 §2): above TS.Recent (102) it reopens
 * the connection whatever its ISN; below, it does not (PAWS: an ACK),
 * whatever its ISN; equal, the ISN decides (as Linux). A SYN without
 * timestamps: the ISN. The connection that came back from a reopening
 * keeps its timestamps. */
static void test_tcp_time_wait_syn_ts(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_got g, sa, sa2;
  struct tw_seg s;
  unsigned conns, tw;
  int ls;

  tw_open(&w, "twt", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 4);
  time_wait_conn_ts(&w, ls, &sa, 1);
  tw_run(&w, 1 * TW_SEC);
  /* ISN above RCV.NXT, TSval below TS.Recent: PAWS, TIME_WAIT stays. */
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_SYN;
  s.seq = 6000;
  s.ts = 1;
  s.tsval = 50;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, sa.h.seq + 2);
  CHECK(g.h.ack, ==, 1002);
  CHECK(g.h.tsecr, ==, 102);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_rx_drop_paws"), ==, 1);
  CHECK(tw_stat(a, "tcp_time_wait_reused"), ==, 0);
  /* ISN below RCV.NXT, TSval equal: the ISN decides, not newer (an
   * out-of-window ACK). */
  s.seq = 500;
  s.tsval = 102;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 1002);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_time_wait_reused"), ==, 0);
  /* ISN below RCV.NXT, TSval above: a new incarnation. */
  s.tsval = 200;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &sa2, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(sa2.h.ack, ==, 501);
  CHECK(sa2.h.ts_ok, ==, 1);
  CHECK(sa2.h.tsecr, ==, 200);
  CHECK((int32_t)(sa2.h.seq - (sa.h.seq + 2)), >, 0);
  CHECK(tw_stat(a, "tcp_time_wait_reused"), ==, 1);
  /* Reset by the peer: back to TIME_WAIT, TS.Recent 102 again. */
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_RST;
  s.seq = 501;
  tw_peer_send(&w, &s);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_time_wait_returned"), ==, 1);
  tw_conns(a, &conns, &tw);
  CHECK(tw, ==, 1);
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_ACK;
  s.seq = 1002 + (1u << 30);
  s.ack = sa.h.seq + 2;
  s.ts = 1;
  s.tsval = 103;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, sa.h.seq + 2);
  CHECK(g.h.ack, ==, 1002);
  CHECK(g.h.ts_ok, ==, 1);
  CHECK(g.h.tsecr, ==, 102);
  /* A SYN without timestamps, ISN above RCV.NXT: a new incarnation. */
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_SYN;
  s.seq = 7000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &sa2, ST_TCP_SYN | ST_TCP_ACK);
  CHECK(sa2.h.ack, ==, 7001);
  CHECK(sa2.h.ts_ok, ==, 0);
  CHECK(tw_stat(a, "tcp_time_wait_reused"), ==, 2);
  tw_conns(a, &conns, &tw);
  CHECK(tw, ==, 0);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  tw_close(&w);
}

/* The peer's FIN again in TIME_WAIT (A's last ACK lost): acknowledged, and
 * the 2 MSL timer starts again from it (RFC 9293 §3.10.7.4). A FIN
 * without ACK restarts nothing (the segment is dropped after its ACK). */
static void test_tcp_time_wait_fin_restart(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_got g, sa;
  struct tw_seg s;
  unsigned conns, tw;
  int64_t t0, t1;
  int ls;

  tw_open(&w, "twf", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 80, 4);
  t0 = time_wait_conn(&w, ls, &sa);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  /* 30 s in: the FIN without ACK, then with. */
  tw_run(&w, 30 * TW_SEC);
  s = tw_seg_init(PA, 80);
  s.flags = ST_TCP_FIN;
  s.seq = 1001;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, sa.h.seq + 2);
  CHECK(g.h.ack, ==, 1002);
  CHECK(tw_stat(a, "tcp_time_wait_restarts"), ==, 0);
  tw_run(&w, 5 * TW_SEC);
  s.flags = ST_TCP_FIN | ST_TCP_ACK;
  s.ack = sa.h.seq + 2;
  tw_peer_send(&w, &s);
  t1 = tw_now();
  CHECK(t1, ==, t0 + 35 * TW_SEC);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, sa.h.seq + 2);
  CHECK(g.h.ack, ==, 1002);
  tw_peer_none(&w);
  CHECK(tw_stat(a, "tcp_time_wait_restarts"), ==, 1);
  /* Past the first deadline, still there; gone 60 s after the FIN. */
  tw_run(&w, t0 + 60 * TW_SEC + TW_MS - tw_now());
  tw_conns(a, &conns, &tw);
  CHECK(tw, ==, 1);
  tw_run(&w, t1 + 60 * TW_SEC - TW_MS - tw_now());
  tw_conns(a, &conns, &tw);
  CHECK(tw, ==, 1);
  tw_run(&w, 2 * TW_MS);
  tw_conns(a, &conns, &tw);
  CHECK(conns, ==, 0);
  CHECK(tw, ==, 0);
  tw_peer_none(&w);
  tw_close(&w);
}

/* A SYN-ACK with a FIN and no data (RFC 9293 §3.10.7.3: the FIN is
 * processed after the SYN): ESTABLISHED then CLOSE_WAIT at once, one ACK
 * covering the SYN and the FIN, the end of the stream for recv. With data
 * before the FIN, both are dropped (the peer sends them again). */
static void test_tcp_syn_ack_fin(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct sockaddr_in b = tw_sin(TW_IP_B, 80);
  struct tw_got g;
  struct tw_seg s;
  char buf[8];
  int sd, k;

  tw_open(&w, "saf", NULL, TW_PEER);
  a = w.st[0];
  for (k = 0; k < 2; k++) {
    sd = anyload_tcp_open(a);
    CHECK(sd, >=, 0);
    CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==,
          -EINPROGRESS);
    tw_peer_expect(&w, &g, ST_TCP_SYN);
    s = tw_seg_init(80, g.sport);
    s.flags = ST_TCP_SYN | ST_TCP_ACK | ST_TCP_FIN;
    s.seq = 5000;
    s.ack = g.h.seq + 1;
    if (k == 1) {
      s.data = "abc";
      s.len = 3;
    }
    tw_peer_send(&w, &s);
    tw_peer_expect(&w, &g, ST_TCP_ACK);
    CHECK(g.h.seq, ==, s.ack);
    CHECK(g.h.ack, ==, (k == 0 ? 5002u : 5001u));
    tw_peer_none(&w);
    CHECK(anyload_tcp_state(a, sd), ==, (k == 0 ? TCP_CLOSE_WAIT
                                                : TCP_ESTABLISHED));
    CHECK(tw_recv(a, sd, buf, sizeof(buf)), ==, (k == 0 ? 0 : -EAGAIN));
    CHECK(anyload_tcp_setsockopt(a, sd, SOL_SOCKET, SO_LINGER,
                                 &(struct linger){ 1, 0 },
                                 sizeof(struct linger), tw_now()), ==, 0);
    CHECK(anyload_tcp_close(a, sd, tw_now()), ==, 0);
    tw_peer_expect(&w, &g, ST_TCP_RST | ST_TCP_ACK);
  }
  tw_close(&w);
}

/* Segments that find the transmit ring full wait for the poll that
 * reaps the completions (which do not make the wait fd readable): while
 * they wait, the next deadline is at most 100 us after the last poll, so
 * that a caller sleeping until it polls again; once they left, the
 * deadline is the timers' again. */
static void test_tcp_tx_blocked_deadline(void)
{
  struct anyload_stack_config sc;
  struct tw w;
  struct anyload_stack* a;
  struct conn c[8];
  struct tw_got g;
  static uint8_t data[10000];
  int64_t now;
  int k, rounds;

  anyload_stack_config_init(&sc);
  sc.txq_size = 64;
  tw_open_cfg(&w, "tb", NULL, TW_PEER, &sc);
  a = w.st[0];
  for (k = 0; k < 8; k++)
    est_active(&w, &c[k], 0, 0);
  now = tw_now();
  CHECK(anyload_stack_next_deadline(a), >, now + 100 * TW_US);
  /* 8 x 10 segments (the initial window) for a ring of 63 descriptors,
   * without a poll in between. */
  for (k = 0; k < 8; k++)
    CHECK(tw_send(a, c[k].sd, data, sizeof(data)), ==, sizeof(data));
  CHECK(anyload_stack_next_deadline(a), <=, now + 100 * TW_US);
  for (rounds = 0; anyload_stack_next_deadline(a) <= tw_now() + 100 * TW_US;
       rounds++) {
    CHECK(rounds, <, 100);
    anyload_stack_poll(a, tw_now(), 0);
  }
  CHECK(rounds, >=, 1);
  CHECK(anyload_stack_next_deadline(a), >, tw_now() + 100 * TW_MS);
  for (k = 0; k < 8; k++) {
    CHECK(anyload_tcp_setsockopt(a, c[k].sd, SOL_SOCKET, SO_LINGER,
                                 &(struct linger){ 1, 0 },
                                 sizeof(struct linger), tw_now()), ==, 0);
    CHECK(anyload_tcp_close(a, c[k].sd, tw_now()), ==, 0);
  }
  for (k = 0; k < 80 + 8 && tw_peer_next(&w, &g); k++)
    ;
  tw_close(&w);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_active_open_options),
  UNIT_TEST(test_tcp_passive_open_options),
  UNIT_TEST(test_tcp_stacks_exchange),
  UNIT_TEST(test_tcp_closed_port_rst),
  UNIT_TEST(test_tcp_listener_gone),
  UNIT_TEST(test_tcp_rst_established),
  UNIT_TEST(test_tcp_rst_states),
  UNIT_TEST(test_tcp_paws_ooo),
  UNIT_TEST(test_tcp_close_unread_rst),
  UNIT_TEST(test_tcp_rto_backoff),
  UNIT_TEST(test_tcp_fast_retransmit),
  UNIT_TEST(test_tcp_sack_holes),
  UNIT_TEST(test_tcp_zero_window),
  UNIT_TEST(test_tcp_keepalive),
  UNIT_TEST(test_tcp_syn_cookies),
  UNIT_TEST(test_tcp_simultaneous_open),
  UNIT_TEST(test_tcp_loss_mask),
  UNIT_TEST(test_tcp_icmp),
  UNIT_TEST(test_tcp_icmp_unclaimed),
  UNIT_TEST(test_tcp_delayed_ack),
  UNIT_TEST(test_tcp_bind_rules),
  UNIT_TEST(test_tcp_cork_more),
  UNIT_TEST(test_tcp_limited_transmit),
  UNIT_TEST(test_tcp_listener_close_children),
  UNIT_TEST(test_tcp_time_wait_syn),
  UNIT_TEST(test_tcp_time_wait_syn_return),
  UNIT_TEST(test_tcp_time_wait_syn_ts),
  UNIT_TEST(test_tcp_time_wait_fin_restart),
  UNIT_TEST(test_tcp_syn_ack_fin),
  UNIT_TEST(test_tcp_tx_blocked_deadline),
};
UNIT_TEST_MAIN(tests)
