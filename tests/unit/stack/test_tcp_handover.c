/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for handing a TCP connection over to another TCP
 * (stack/tcp_handover.c: anyload_tcp_export, _export_bytes, _detach) on a
 * simulated link against a raw peer (tests/harness/tcp_sim.h): the exact
 * sequence numbers, windows, options and queued bytes of a connection
 * with data in every queue; which connections can leave and why the
 * others cannot; a detach that sends nothing, takes the filter away and
 * drops (never answers) the segments already on their way to the stack.
 */
#include "unit_test.h"
#include "tcp_sim.h"

/* peer_data: the peer sends len bytes of stream `seed` at its offset off
 * (sequence 5001 + off), acknowledging ack. */
static void peer_data(struct tw* w, struct tw_conn* c, uint32_t off,
                      unsigned len, uint32_t ack, int queue_only)
{
  static uint8_t buf[2000];
  struct tw_seg s = tw_seg_init(80, c->lport);

  tw_fill(buf, len, off, 7);
  s.flags = ST_TCP_ACK | ST_TCP_PSH;
  s.seq = 5001 + off;
  s.ack = ack;
  s.data = buf;
  s.len = len;
  if (queue_only)
    tw_peer_queue(w, &s);
  else
    tw_peer_send(w, &s);
}

static void peer_ack(struct tw* w, struct tw_conn* c, uint32_t seq,
                     uint32_t ack, uint8_t extra)
{
  struct tw_seg s = tw_seg_init(80, c->lport);

  s.flags = ST_TCP_ACK | extra;
  s.seq = seq;
  s.ack = ack;
  tw_peer_send(w, &s);
}

static uint64_t unclaimed_to_a(struct tw* w)
{
  struct anyload_sim_stats s;

  CHECK(anyload_sim_link_stats(w->ifn[1], &s, 0), ==, 0);
  return s.unclaimed;
}

/* A connection with bytes in every queue: 1000 sent and unacknowledged,
 * 500 held by Nagle, 300 received and unread, 50 out of order. The
 * export gives each number exactly and each queue's bytes at any offset;
 * the out-of-order bytes are not in it. */
static void test_export_queues(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_conn c;
  struct tw_got g;
  struct anyload_tcp_export ex;
  uint8_t data[2500], got[2500];
  uint32_t adv;

  tw_open(&w, "hoq", NULL, TW_PEER);
  a = w.st[0];
  tw_establish(&w, &c, 0);
  tw_fill(data, sizeof(data), 0, 50);
  CHECK(tw_send(a, c.sd, data, sizeof(data)), ==, 2500);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  tw_peer_none(&w);                   /* Nagle holds the last 500 */
  peer_ack(&w, &c, 5001, c.a_nxt + 1000, 0);
  tw_peer_none(&w);                   /* 1000 in flight: still held */
  peer_data(&w, &c, 0, 300, c.a_nxt + 1000, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK); /* quick ACK of the data */
  CHECK(g.h.ack, ==, 5301);
  peer_data(&w, &c, 400, 50, c.a_nxt + 1000, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK); /* duplicate ACK: a hole */
  CHECK(g.h.ack, ==, 5301);
  adv = g.h.win;                      /* no window scale */

  CHECK(anyload_tcp_export(a, c.sd, NULL, tw_now()), ==, -EINVAL);
  CHECK(anyload_tcp_export(a, 999, &ex, tw_now()), ==, -EBADF);
  CHECK(anyload_tcp_export(a, c.sd, &ex, tw_now()), ==, 0);
  CHECK(ex.state, ==, TCP_ESTABLISHED);
  CHECK(ex.local.sin_addr.s_addr, ==, inet_addr(TW_IP_A));
  CHECK(ntohs(ex.local.sin_port), ==, c.lport);
  CHECK(ex.remote.sin_addr.s_addr, ==, inet_addr(TW_IP_B));
  CHECK(ntohs(ex.remote.sin_port), ==, 80);
  CHECK(ex.snd_una, ==, c.a_nxt + 1000);
  CHECK(ex.snd_max, ==, c.a_nxt + 2000);
  CHECK(ex.sent_len, ==, 1000);
  CHECK(ex.unsent_len, ==, 500);
  CHECK(ex.snd_wnd, ==, 65535);
  CHECK(ex.max_snd_wnd, ==, 65535);
  CHECK(ex.rcv_nxt, ==, 5301);
  CHECK(ex.recv_len, ==, 300);
  CHECK(ex.rcv_wnd, ==, adv);
  CHECK(ex.fin_rcvd, ==, 0);
  CHECK(ex.shut_rd, ==, 0);
  CHECK(ex.peer_mss, ==, 1000);
  CHECK(ex.ws_ok, ==, 0);
  CHECK(ex.sack_ok, ==, 0);
  CHECK(ex.ts_ok, ==, 0);

  /* The queues' bytes, whole and from an offset; nothing past the end. */
  CHECK(anyload_tcp_export_bytes(a, c.sd, ANYLOAD_TCP_Q_SENT, 0, got,
                                 sizeof(got)), ==, 1000);
  CHECK(tw_check(got, 1000, 1000, 50), ==, 1);
  CHECK(anyload_tcp_export_bytes(a, c.sd, ANYLOAD_TCP_Q_SENT, 999, got,
                                 10), ==, 1);
  CHECK(tw_check(got, 1, 1999, 50), ==, 1);
  CHECK(anyload_tcp_export_bytes(a, c.sd, ANYLOAD_TCP_Q_SENT, 1000, got,
                                 10), ==, 0);
  CHECK(anyload_tcp_export_bytes(a, c.sd, ANYLOAD_TCP_Q_UNSENT, 0, got,
                                 sizeof(got)), ==, 500);
  CHECK(tw_check(got, 500, 2000, 50), ==, 1);
  CHECK(anyload_tcp_export_bytes(a, c.sd, ANYLOAD_TCP_Q_UNSENT, 100, got,
                                 50), ==, 50);
  CHECK(tw_check(got, 50, 2100, 50), ==, 1);
  CHECK(anyload_tcp_export_bytes(a, c.sd, ANYLOAD_TCP_Q_RECV, 0, got,
                                 sizeof(got)), ==, 300);
  CHECK(tw_check(got, 300, 0, 7), ==, 1);
  CHECK(anyload_tcp_export_bytes(a, c.sd, ANYLOAD_TCP_Q_RECV, 250, got,
                                 sizeof(got)), ==, 50);
  CHECK(tw_check(got, 50, 250, 7), ==, 1);
  CHECK(anyload_tcp_export_bytes(a, c.sd, (enum anyload_tcp_queue)9, 0, got,
                                 10), ==, -EINVAL);
  CHECK(anyload_tcp_export_bytes(a, c.sd, ANYLOAD_TCP_Q_RECV, 0, NULL, 10),
        ==, -EINVAL);
  CHECK(anyload_tcp_export_bytes(a, 999, ANYLOAD_TCP_Q_RECV, 0, got, 10),
        ==, -EBADF);
  /* Exporting changed nothing: the connection goes on. */
  tw_peer_none(&w);
  peer_ack(&w, &c, 5301, c.a_nxt + 2000, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.h.seq, ==, c.a_nxt + 2000);
  CHECK(g.len, ==, 500);
  CHECK(tw_recv(a, c.sd, got, sizeof(got)), ==, 300);
  tw_abort(&w, &c);
  tw_close(&w);
}

/* Window scale, SACK and timestamps negotiated: the export has the
 * peer's MSS and scale, ours, the peer's scaled window, and our
 * timestamp clock as it runs on. */
static void test_export_options(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct sockaddr_in b = tw_sin(TW_IP_B, 80), name;
  socklen_t len = sizeof(name);
  struct anyload_tcp_export ex;
  struct tw_got g;
  struct tw_seg s;
  uint16_t lport;
  uint32_t iss, syn_tsval;
  uint8_t syn_ws;
  int sd;

  tw_open(&w, "hoo", NULL, TW_PEER);
  a = w.st[0];
  sd = anyload_tcp_open(a);
  CHECK(anyload_tcp_connect(a, sd, &b, sizeof(b), tw_now()), ==,
        -EINPROGRESS);
  CHECK(anyload_tcp_export(a, sd, &ex, tw_now()), ==, -EOPNOTSUPP);
  CHECK(anyload_tcp_detach(a, sd, tw_now()), ==, -EOPNOTSUPP);
  CHECK(anyload_tcp_getsockname(a, sd, &name, &len), ==, 0);
  lport = ntohs(name.sin_port);
  tw_peer_expect(&w, &g, ST_TCP_SYN);
  CHECK(g.h.ws_ok, ==, 1);
  CHECK(g.h.ts_ok, ==, 1);
  iss = g.h.seq;
  syn_tsval = g.h.tsval;
  syn_ws = g.h.ws;
  s = tw_seg_init(80, lport);
  s.flags = ST_TCP_SYN | ST_TCP_ACK;
  s.seq = 5000;
  s.ack = iss + 1;
  s.mss = 1400;
  s.ws = 7;
  s.sack_ok = 1;
  s.ts = 1;
  s.tsval = 777;
  s.tsecr = syn_tsval;
  s.win = 60000;
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  /* A window update of 300 << 7 from the peer. */
  s = tw_seg_init(80, lport);
  s.flags = ST_TCP_ACK;
  s.seq = 5001;
  s.ack = iss + 1;
  s.win = 300;
  s.ts = 1;
  s.tsval = 780;
  s.tsecr = syn_tsval;
  tw_peer_send(&w, &s);
  tw_run(&w, 5 * TW_MS);
  CHECK(anyload_tcp_export(a, sd, &ex, tw_now()), ==, 0);
  CHECK(ex.peer_mss, ==, 1400);
  CHECK(ex.ws_ok, ==, 1);
  CHECK(ex.snd_ws, ==, 7);
  CHECK(ex.rcv_ws, ==, syn_ws);       /* what our SYN offered */
  CHECK(ex.sack_ok, ==, 1);
  CHECK(ex.ts_ok, ==, 1);
  CHECK(ex.snd_wnd, ==, 300u << 7);
  CHECK(ex.snd_wl1, ==, 5001);
  CHECK(ex.snd_una, ==, iss + 1);
  CHECK(ex.sent_len, ==, 0);
  CHECK(ex.unsent_len, ==, 0);
  CHECK(ex.recv_len, ==, 0);
  /* Our clock (ms) ran 5 ms since the ACK; the SYN was at the same
   * virtual time as that ACK. */
  CHECK(ex.ts_val, ==, syn_tsval + 5);
  tw_abort_sd(&w, sd);
  tw_close(&w);
}

/* Which connections may leave: CLOSE_WAIT may (the peer's FIN counted in
 * rcv_nxt); after shutdown(SHUT_WR) (our FIN queued) it may not; an
 * accepted connection riding on its listener's filter may not (-EBUSY)
 * until the listener closes and it has a filter of its own. */
static void test_export_which(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct anyload_tcp_export ex;
  struct tw_conn c;
  struct tw_got g;
  struct tw_seg s;
  int ls, sd;

  tw_open(&w, "how", NULL, TW_PEER);
  a = w.st[0];
  tw_establish(&w, &c, 0);
  peer_data(&w, &c, 0, 10, c.a_nxt, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  peer_ack(&w, &c, 5011, c.a_nxt, ST_TCP_FIN);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(anyload_tcp_state(a, c.sd), ==, TCP_CLOSE_WAIT);
  CHECK(anyload_tcp_export(a, c.sd, &ex, tw_now()), ==, 0);
  CHECK(ex.state, ==, TCP_CLOSE_WAIT);
  CHECK(ex.fin_rcvd, ==, 1);
  CHECK(ex.rcv_nxt, ==, 5012);
  CHECK(ex.recv_len, ==, 10);
  CHECK(anyload_tcp_shutdown(a, c.sd, SHUT_WR, tw_now()), ==, 0);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_FIN);
  CHECK(anyload_tcp_export(a, c.sd, &ex, tw_now()), ==, -EOPNOTSUPP);
  CHECK(anyload_tcp_detach(a, c.sd, tw_now()), ==, -EOPNOTSUPP);
  tw_abort(&w, &c);

  /* Accepted: the listener's filter carries it. */
  ls = tw_listen(a, 8080, 4);
  s = tw_seg_init(4000, 8080);
  s.flags = ST_TCP_SYN;
  s.seq = 100;
  s.mss = 1000;
  CHECK(anyload_tcp_synq_len(a, ls), ==, 0);
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_SYN | ST_TCP_ACK);
  /* In its handshake: what closing the listener now would reset. */
  CHECK(anyload_tcp_synq_len(a, ls), ==, 1);
  s.flags = ST_TCP_ACK;
  s.seq = 101;
  s.ack = g.h.seq + 1;
  s.mss = 0;
  tw_peer_send(&w, &s);
  CHECK(anyload_tcp_synq_len(a, ls), ==, 0);
  CHECK(anyload_tcp_synq_len(a, 999), ==, -EBADF);
  sd = anyload_tcp_accept(a, ls, NULL, tw_now());
  CHECK(anyload_tcp_synq_len(a, sd), ==, -EINVAL);
  CHECK(sd, >=, 0);
  CHECK(anyload_tcp_export(a, sd, &ex, tw_now()), ==, -EBUSY);
  CHECK(anyload_tcp_detach(a, sd, tw_now()), ==, -EBUSY);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  CHECK(anyload_tcp_export(a, sd, &ex, tw_now()), ==, 0);
  CHECK(ntohs(ex.local.sin_port), ==, 8080);
  CHECK(ntohs(ex.remote.sin_port), ==, 4000);
  CHECK(ex.rcv_nxt, ==, 101);
  CHECK(anyload_tcp_detach(a, sd, tw_now()), ==, 0);
  tw_peer_none(&w);
  tw_run(&w, ANYLOAD_TCP_DETACH_QUIET_NS + TW_SEC);
  tw_close(&w);
}

/* The detach: nothing on the wire; the sd is gone; the filter is gone
 * (the peer's next segments are not the stack's: unclaimed on the sim
 * link); segments that were already in the VI's ring are dropped
 * unanswered (not reset) and counted; the slot is free after the quiet
 * time, and a segment of the 4-tuple that reaches a stack without it is
 * answered by RST as any other. */
static void test_detach(void)
{
  struct tw w;
  struct anyload_stack* a;
  struct tw_conn c;
  struct tw_got g;
  uint8_t data[100];
  uint64_t unclaimed, no_sock;
  int ls, other;

  tw_open(&w, "hod", NULL, TW_PEER);
  a = w.st[0];
  /* A VI without filters stands for the kernel on the sim link and gets
   * every frame: another socket keeps a filter on A's. */
  other = tw_listen(a, 9, 1);
  tw_establish(&w, &c, 0);
  tw_fill(data, sizeof(data), 0, 3);
  CHECK(tw_send(a, c.sd, data, sizeof(data)), ==, 100);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  /* The peer's data and ACK reach the VI; no poll takes them before the
   * connection leaves. */
  peer_data(&w, &c, 0, 20, c.a_nxt + 100, 1);
  CHECK(tw_stat(a, "tcp_detached"), ==, 0);
  CHECK(anyload_tcp_detach(a, c.sd, tw_now()), ==, 0);
  CHECK(tw_stat(a, "tcp_detached"), ==, 1);
  CHECK(anyload_tcp_state(a, c.sd), ==, -EBADF);
  CHECK(anyload_tcp_detach(a, c.sd, tw_now()), ==, -EBADF);
  no_sock = tw_stat(a, "rx_drop_tcp_no_sock");
  unclaimed = unclaimed_to_a(&w);
  tw_poll_all(&w);
  tw_peer_none(&w);                   /* no ACK, no RST */
  CHECK(tw_stat(a, "tcp_detached_rx_dropped"), ==, 1);
  CHECK(tw_stat(a, "rx_drop_tcp_no_sock"), ==, no_sock);
  CHECK(unclaimed_to_a(&w), ==, unclaimed);
  /* The filter is gone: the next segments no longer reach the stack. */
  peer_data(&w, &c, 20, 20, c.a_nxt + 100, 0);
  tw_peer_none(&w);
  CHECK(unclaimed_to_a(&w), ==, unclaimed + 1);
  CHECK(tw_stat(a, "tcp_detached_rx_dropped"), ==, 1);
  /* After the quiet time the slot is free. A listener on the port brings
   * the 4-tuple's segments back to the stack, which has no connection
   * for them any more: RST. */
  tw_run(&w, ANYLOAD_TCP_DETACH_QUIET_NS - TW_SEC);
  CHECK(tw_stat(a, "tcp_detached_rx_dropped"), ==, 1);
  tw_run(&w, 2 * TW_SEC);
  ls = tw_listen(a, c.lport, 4);
  peer_data(&w, &c, 40, 20, c.a_nxt + 100, 0);
  tw_peer_expect(&w, &g, ST_TCP_RST);
  CHECK(g.h.seq, ==, c.a_nxt + 100);
  CHECK(tw_stat(a, "tcp_detached_rx_dropped"), ==, 1);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(a, other, tw_now()), ==, 0);
  tw_close(&w);
}

/* peer_seg: a segment of the raw peer from port 40000 to A's 8080, with
 * timestamps (TSval tsval, TSecr tsecr). */
static void peer_seg(struct tw* w, uint8_t flags, uint32_t seq, uint32_t ack,
                     uint32_t tsval, uint32_t tsecr, const void* data,
                     unsigned len)
{
  struct tw_seg s = tw_seg_init(40000, 8080);

  s.flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.ts = 1;
  s.tsval = tsval;
  s.tsecr = tsecr;
  s.data = data;
  s.len = len;
  tw_peer_send(w, &s);
}

/* A pre-forking server's hand-over: a connection queued on A's listener,
 * with 100 bytes received, leaves A (export with
 * ANYLOAD_TCP_EXPORT_RIDING, detach) and joins the accept queue of
 * another stack's listener on the same port and interface
 * (anyload_tcp_import). That stack goes on with it without a segment:
 * the same sequence numbers, window scales and timestamp clock; it
 * acknowledges what the peer sends next, echoes its TSval, and sends. */
static void test_import(void)
{
  struct tw w;
  struct anyload_stack *a, *b;
  struct anyload_stack_config sc;
  struct anyload_stack_env ev;
  struct sim_env e2;
  struct anyload_tcp_export ex, bad;
  struct sockaddr_in peer;
  struct tw_got g;
  struct tw_seg s;
  uint8_t data[150], got[150];
  uint32_t iss, win, win_a;
  int ls, sd, lb, sb;

  tw_open(&w, "hoi", NULL, TW_PEER);
  a = w.st[0];
  ls = tw_listen(a, 8080, 4);
  s = tw_syn_full(40000, 8080, 7000, 1400, 6, 500);
  tw_peer_send(&w, &s);
  tw_peer_expect(&w, &g, ST_TCP_SYN | ST_TCP_ACK);
  iss = g.h.seq;
  CHECK(g.h.ws_ok, ==, 1);
  tw_fill(data, sizeof(data), 0, 9);
  peer_seg(&w, ST_TCP_ACK | ST_TCP_PSH, 7001, iss + 1, 510, g.h.tsval, data,
           100);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.ack, ==, 7101);
  win_a = g.h.win;                    /* scaled below, by ex.rcv_ws */
  tw_run(&w, 3 * TW_MS);
  sd = anyload_tcp_accept(a, ls, &peer, tw_now());
  CHECK(sd, >=, 0);
  /* It rides on the listener's filter: only a move into another anyload
   * stack may take it. */
  CHECK(anyload_tcp_export(a, sd, &ex, tw_now()), ==, -EBUSY);
  CHECK(anyload_tcp_export_flags(a, sd, &ex, tw_now(),
                                 ANYLOAD_TCP_EXPORT_RIDING), ==, 0);
  CHECK(ex.recv_len, ==, 100);
  CHECK(ex.rcv_nxt, ==, 7101);
  CHECK(ex.snd_una, ==, iss + 1);
  CHECK(ex.ts_recent, ==, 510);
  CHECK(anyload_tcp_export_bytes(a, sd, ANYLOAD_TCP_Q_RECV, 0, got, 100),
        ==, 100);
  CHECK(memcmp(got, data, 100), ==, 0);
  CHECK(anyload_tcp_detach(a, sd, tw_now()), ==, -EBUSY);
  CHECK(anyload_tcp_detach_flags(a, sd, tw_now(), ANYLOAD_TCP_EXPORT_RIDING),
        ==, 0);
  CHECK(anyload_tcp_close(a, ls, tw_now()), ==, 0);
  tw_peer_none(&w);                   /* A let it go without a word */
  anyload_stack_destroy(a);

  /* Stack B on the same interface (as the worker's, in another process)
   * listens on the port and takes the connection in. */
  sc = sim_config_of(NULL);
  sc.n_bufs = 2048;
  sc.seed = 777;
  sim_env_init(&e2, 0);
  ev = tw_env_of(&e2);
  b = sim_stack_open(&sc, w.ifn[0], &ev, &e2);
  w.st[0] = b;
  lb = tw_listen(b, 8080, 4);
  bad = ex;
  bad.sent_len = 1;
  bad.snd_max = bad.snd_una + 1;
  CHECK(anyload_tcp_import(b, lb, &bad, got, tw_now()), ==, -EINVAL);
  bad = ex;
  bad.local.sin_port = htons(8081);
  CHECK(anyload_tcp_import(b, lb, &bad, got, tw_now()), ==, -EINVAL);
  CHECK(anyload_tcp_import(b, lb, &ex, NULL, tw_now()), ==, -EINVAL);
  CHECK(anyload_tcp_import(b, lb + 1, &ex, got, tw_now()), ==, -EBADF);
  CHECK(anyload_tcp_import(b, lb, &ex, got, tw_now()), ==, 0);
  CHECK(anyload_tcp_import(b, lb, &ex, got, tw_now()), ==, -EEXIST);
  CHECK(tw_stat(b, "tcp_imported"), ==, 1);
  tw_peer_none(&w);
  sb = anyload_tcp_accept(b, lb, &peer, tw_now());
  CHECK(sb, >=, 0);
  CHECK(ntohs(peer.sin_port), ==, 40000);
  CHECK(anyload_tcp_state(b, sb), ==, TCP_ESTABLISHED);
  memset(got, 0, sizeof(got));
  CHECK(tw_recv(b, sb, got, sizeof(got)), ==, 100);
  CHECK(memcmp(got, data, 100), ==, 0);
  /* The peer goes on: B acknowledges with A's numbers and clock. */
  peer_seg(&w, ST_TCP_ACK | ST_TCP_PSH, 7101, iss + 1, 520, ex.ts_val,
           data + 100, 50);
  tw_peer_expect(&w, &g, ST_TCP_ACK);
  CHECK(g.h.seq, ==, iss + 1);
  CHECK(g.h.ack, ==, 7151);
  CHECK(g.h.ts_ok, ==, 1);
  CHECK(g.h.tsecr, ==, 520);
  CHECK((int32_t)(g.h.tsval - ex.ts_val), >=, 0);
  CHECK((int32_t)(g.h.tsval - ex.ts_val), <, 1000);
  /* The window in A's scale: the same buffer size as A's, with 50 bytes
   * unread where A had 100. */
  win = (uint32_t)g.h.win << ex.rcv_ws;
  win_a <<= ex.rcv_ws;
  CHECK(win, >=, win_a);
  CHECK(win, <=, win_a + 50 + (1u << ex.rcv_ws));
  CHECK(tw_recv(b, sb, got, sizeof(got)), ==, 50);
  CHECK(memcmp(got, data + 100, 50), ==, 0);
  /* B sends at A's sequence numbers, in the peer's window scale. */
  CHECK(tw_send(b, sb, "reply", 5), ==, 5);
  tw_peer_expect(&w, &g, ST_TCP_ACK | ST_TCP_PSH);
  CHECK(g.h.seq, ==, iss + 1);
  CHECK(g.len, ==, 5);
  CHECK(memcmp(g.data, "reply", 5), ==, 0);
  peer_seg(&w, ST_TCP_ACK, 7151, iss + 6, 530, g.h.tsval, NULL, 0);
  tw_run(&w, 1 * TW_MS);
  tw_peer_none(&w);
  CHECK(anyload_tcp_close(b, lb, tw_now()), ==, 0);
  tw_abort_sd(&w, sb);
  tw_close(&w);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_export_queues),
  UNIT_TEST(test_export_options),
  UNIT_TEST(test_export_which),
  UNIT_TEST(test_detach),
  UNIT_TEST(test_import),
};
UNIT_TEST_MAIN(tests)
