/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the sizes of a TCP connection's rings (stack/tcp_buf.c,
 * tcp_sock.c) on simulated links and the virtual clock (tests/harness/
 * tcp_sim.h):
 *   - the send ring grows with the congestion window (autotuning, as
 *     Linux's tcp_sndbuf_expand) up to ST_TCP_SNDBUF_AUTO_MAX, and not at
 *     all once the application chose SO_SNDBUF;
 *   - SO_SNDBUF on an established connection grows its ring at once (one
 *     send takes that much);
 *   - SO_RCVBUF on an established connection whose receive ring is full
 *     grows the ring, keeps its bytes in order, and sends the window
 *     update that lets the sender go on; with loss, reordering and
 *     duplication, growing the ring while out-of-order data sits in it
 *     keeps every byte;
 *   - the receive ring grows with what the application reads per round
 *     trip (autotuning, as Linux's tcp_rcv_space_adjust) up to
 *     ST_TCP_RCVBUF_AUTO_MAX, so that a long path is not held to the
 *     default ring per round trip; not with SO_RCVBUF set, and not for a
 *     reader that takes little per round trip.
 */
#include "unit_test.h"
#include "tcp_sim.h"

static int get_buf(struct anyload_stack* st, int sd, int opt)
{
  int v = -1;
  socklen_t len = sizeof(v);

  CHECK(anyload_tcp_getsockopt(st, sd, SOL_SOCKET, opt, &v, &len), ==, 0);
  return v;
}

static int set_buf(struct anyload_stack* st, int sd, int opt, int v)
{
  return anyload_tcp_setsockopt(st, sd, SOL_SOCKET, opt, &v, sizeof(v),
                                tw_now());
}

/* stream: A sends `total` bytes to B while B reads, every byte checked;
 * grow_at (or 0): when B has read that much, B sets SO_RCVBUF to
 * grow_to. Bounded in virtual time. */
static void stream(struct tw* w, int ca, int cb, uint64_t total,
                   uint64_t grow_at, int grow_to)
{
  static uint8_t buf[65536];
  uint64_t sent = 0, got = 0;
  int64_t end = tw_now() + 600 * TW_SEC;
  int grown = 0;
  ssize_t n;

  while (got < total) {
    while (sent < total) {
      size_t want = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
      tw_fill(buf, want, sent, 7);
      n = tw_send(w->st[0], ca, buf, want);
      if (n == -EAGAIN)
        break;
      CHECK(n, >, 0);
      sent += (uint64_t)n;
    }
    while ((n = tw_recv(w->st[1], cb, buf, sizeof(buf))) > 0) {
      CHECK(tw_check(buf, (size_t)n, got, 7), ==, 1);
      got += (uint64_t)n;
    }
    CHECK(n, ==, -EAGAIN);
    if (grow_at && !grown && got >= grow_at) {
      CHECK(set_buf(w->st[1], cb, SO_RCVBUF, grow_to), ==, 0);
      grown = 1;
    }
    if (got < total)
      CHECK(tw_step(w, end), ==, 1);
  }
}

static void close_all(struct tw* w, int ls, int ca, int cb)
{
  CHECK(anyload_tcp_close(w->st[0], ca, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(w->st[1], cb, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(w->st[1], ls, tw_now()), ==, 0);
  tw_run(w, 200 * TW_SEC);
  tw_close(w);
}

static void open_link_rtt(struct tw* w, const char* name, double loss,
                          int64_t one_way_ns)
{
  struct anyload_sim_config cfg;

  anyload_sim_config_init(&cfg);
  cfg.seed = 99;
  cfg.a_to_b.latency_ns = cfg.b_to_a.latency_ns = one_way_ns;
  cfg.a_to_b.loss = cfg.b_to_a.loss = loss;
  cfg.a_to_b.reorder = cfg.b_to_a.reorder = loss;
  cfg.a_to_b.reorder_distance = cfg.b_to_a.reorder_distance = 3;
  cfg.a_to_b.duplicate = cfg.b_to_a.duplicate = loss;
  tw_open(w, name, &cfg, TW_STACK);
}

static void open_link(struct tw* w, const char* name, double loss)
{
  open_link_rtt(w, name, loss, 100 * TW_US);
}

/* The send ring starts at ST_TCP_DEFAULT_SNDBUF and follows 2 x cwnd. */
static void test_tcp_sndbuf_autotune(void)
{
  struct tw w;
  int ls, ca, cb;

  open_link(&w, "ba", 0);
  tw_connect_pair(&w, 7101, &ls, &ca, &cb);
  CHECK(get_buf(w.st[0], ca, SO_SNDBUF), ==, (int)ST_TCP_DEFAULT_SNDBUF);
  stream(&w, ca, cb, 32ull << 20, 0, 0);
  CHECK(tw_sstat(w.st[0], ca, "sndbuf_grown"), >, 0);
  CHECK(get_buf(w.st[0], ca, SO_SNDBUF), >, (int)ST_TCP_DEFAULT_SNDBUF);
  CHECK(get_buf(w.st[0], ca, SO_SNDBUF), <=, (int)ST_TCP_SNDBUF_AUTO_MAX);
  /* Twice the window it needed, a power-of-two multiple of the start. */
  CHECK(get_buf(w.st[0], ca, SO_SNDBUF) % ST_TCP_DEFAULT_SNDBUF, ==, 0);
  close_all(&w, ls, ca, cb);
}

/* SO_SNDBUF set: that size, no autotuning; set on an established
 * connection: the ring has that room at once. */
static void test_tcp_sndbuf_user(void)
{
  static uint8_t big[1 << 20];
  struct tw w;
  int ls, ca, cb;

  open_link(&w, "bu", 0);
  tw_connect_pair(&w, 7102, &ls, &ca, &cb);
  CHECK(set_buf(w.st[0], ca, SO_SNDBUF, 256 * 1024), ==, 0);
  CHECK(get_buf(w.st[0], ca, SO_SNDBUF), ==, 512 * 1024);   /* doubled */
  tw_fill(big, sizeof(big), 0, 7);
  /* One send takes the whole ring, not the 64 KiB it started with. */
  CHECK(tw_send(w.st[0], ca, big, sizeof(big)), ==, 512 * 1024);
  {
    /* Drain the first 512 KiB, then go on to 16 MiB. */
    uint8_t buf[65536];
    uint64_t got = 0;
    int64_t end = tw_now() + 60 * TW_SEC;
    ssize_t n;
    while (got < 512 * 1024) {
      while ((n = tw_recv(w.st[1], cb, buf, sizeof(buf))) > 0) {
        CHECK(tw_check(buf, (size_t)n, got, 7), ==, 1);
        got += (uint64_t)n;
      }
      if (got < 512 * 1024)
        CHECK(tw_step(&w, end), ==, 1);
    }
  }
  CHECK(tw_sstat(w.st[0], ca, "sndbuf_grown"), ==, 0);
  CHECK(get_buf(w.st[0], ca, SO_SNDBUF), ==, 512 * 1024);
  close_all(&w, ls, ca, cb);
}

/* A full receive ring grown by SO_RCVBUF: the window update goes out at
 * once and the sender fills the new room; bytes stay in order. */
static void test_tcp_rcvbuf_grow_full(void)
{
  static uint8_t big[1 << 20];
  uint8_t buf[65536];
  struct tw w;
  int ls, ca, cb, rcv0;
  uint64_t got = 0;
  ssize_t n;

  open_link(&w, "br", 0);
  tw_connect_pair(&w, 7103, &ls, &ca, &cb);
  CHECK(set_buf(w.st[0], ca, SO_SNDBUF, 1 << 20), ==, 0);
  rcv0 = get_buf(w.st[1], cb, SO_RCVBUF);
  tw_fill(big, sizeof(big), 0, 7);
  CHECK(tw_send(w.st[0], ca, big, sizeof(big)), ==, (ssize_t)sizeof(big));
  tw_run(&w, 2 * TW_SEC);
  /* B reads nothing: the ring is full and the sender waits. */
  CHECK((int)tw_sstat(w.st[1], cb, "rx_bytes"), <=, rcv0);
  {
    uint64_t acks = tw_sstat(w.st[1], cb, "tx_acks");
    CHECK(set_buf(w.st[1], cb, SO_RCVBUF, 1 << 20), ==, 0);
    CHECK(tw_sstat(w.st[1], cb, "tx_acks"), ==, acks + 1);
  }
  tw_run(&w, 2 * TW_SEC);
  /* The whole megabyte fits now, without a read. */
  CHECK(tw_sstat(w.st[1], cb, "rx_bytes"), ==, (uint64_t)sizeof(big));
  while ((n = tw_recv(w.st[1], cb, buf, sizeof(buf))) > 0) {
    CHECK(tw_check(buf, (size_t)n, got, 7), ==, 1);
    got += (uint64_t)n;
  }
  CHECK(got, ==, (uint64_t)sizeof(big));
  close_all(&w, ls, ca, cb);
}

/* Growing while out-of-order data sits in the ring (5% loss, reordering,
 * duplication): every byte arrives, in order. */
static void test_tcp_rcvbuf_grow_lossy(void)
{
  struct tw w;
  int ls, ca, cb;

  open_link(&w, "bl", 0.05);
  tw_connect_pair(&w, 7104, &ls, &ca, &cb);
  stream(&w, ca, cb, 8ull << 20, 1ull << 20, 2 << 20);
  CHECK(get_buf(w.st[1], cb, SO_RCVBUF), ==, 4 << 20);
  CHECK(tw_sstat(w.st[1], cb, "rx_ooo_segs"), >, 0);
  close_all(&w, ls, ca, cb);
}

/* stream_time: A sends 32 MiB to B, which reads all it can at every
 * step, over a 10 ms round trip; B's listener has SO_RCVBUF rcvbuf (0:
 * not set). Returns the virtual time it took; sets the SYN-ACK's window
 * scale (as B's TCP_INFO has it) and B's connection's counter
 * rcvbuf_grown and final SO_RCVBUF. */
static int64_t stream_time(const char* name, int rcvbuf, unsigned* ws,
                           uint64_t* grown, int* final_rcvbuf)
{
  struct tw w;
  struct tcp_info ti;
  socklen_t len = sizeof(ti);
  int ls, ca, cb;
  int64_t t0;

  open_link_rtt(&w, name, 0, 5 * TW_MS);
  ls = tw_listen(w.st[1], 7105, 16);
  if (rcvbuf)
    CHECK(set_buf(w.st[1], ls, SO_RCVBUF, rcvbuf), ==, 0);
  tw_connect_to(&w, ls, 7105, &ca, &cb);
  CHECK(anyload_tcp_getsockopt(w.st[1], cb, IPPROTO_TCP, TCP_INFO, &ti,
                               &len), ==, 0);
  *ws = ti.tcpi_rcv_wscale;
  t0 = tw_now();
  stream(&w, ca, cb, 32ull << 20, 0, 0);
  t0 = tw_now() - t0;
  *grown = tw_sstat(w.st[1], cb, "rcvbuf_grown");
  *final_rcvbuf = get_buf(w.st[1], cb, SO_RCVBUF);
  close_all(&w, ls, ca, cb);
  return t0;
}

/* Over a 10 ms round trip the default ring (212992 bytes) allows at most
 * 21.3 MB/s, 1.57 s for 32 MiB: with autotuning the ring grows (in
 * doublings of the default, at most 6 MiB; the SYN-ACK offered the
 * scale of 6 MiB) and the transfer takes less than a quarter of that;
 * with SO_RCVBUF set to the same 212992 bytes it does not grow, the
 * scale is that of the setting, and the transfer is held to the
 * window. */
static void test_tcp_rcvbuf_autotune(void)
{
  unsigned ws_auto, ws_user;
  uint64_t grown_auto, grown_user;
  int rcv_auto, rcv_user;
  int64_t t_auto, t_user;

  t_auto = stream_time("bt", 0, &ws_auto, &grown_auto, &rcv_auto);
  t_user = stream_time("bv", 106496, &ws_user, &grown_user, &rcv_user);
  printf("# autotuned: %.3f s virtual, ring %d (%llu growths); "
         "SO_RCVBUF 212992: %.3f s\n", (double)t_auto / TW_SEC, rcv_auto,
         (unsigned long long)grown_auto, (double)t_user / TW_SEC);
  CHECK(ws_auto, ==, 7);
  CHECK(grown_auto, >, 0);
  CHECK(rcv_auto, >, 212992);
  CHECK(rcv_auto, <=, (int)ST_TCP_RCVBUF_AUTO_MAX);
  CHECK(rcv_auto == (int)ST_TCP_RCVBUF_AUTO_MAX ||
        (rcv_auto % 212992 == 0 &&
         ((rcv_auto / 212992) & (rcv_auto / 212992 - 1)) == 0), ==, 1);
  CHECK(ws_user, ==, 2);
  CHECK(grown_user, ==, 0);
  CHECK(rcv_user, ==, 212992);
  CHECK(t_user, >=, (int64_t)((32ull << 20) * 10 * TW_MS / 212992));
  CHECK(t_auto * 4, <, t_user);
}

/* A reader that takes 16 KiB every 10 ms (a round trip): the ring stays
 * as it was, however long it goes on. */
static void test_tcp_rcvbuf_slow_reader(void)
{
  static uint8_t buf[65536];
  uint8_t rd[16384];
  struct tw w;
  int ls, ca, cb, k;
  uint64_t sent = 0, got = 0;
  ssize_t n;

  open_link_rtt(&w, "bs", 0, 5 * TW_MS);
  tw_connect_pair(&w, 7106, &ls, &ca, &cb);
  for (k = 0; k < 200; k++) {
    tw_fill(buf, sizeof(buf), sent, 7);
    n = tw_send(w.st[0], ca, buf, sizeof(buf));
    if (n > 0)
      sent += (uint64_t)n;
    n = tw_recv(w.st[1], cb, rd, sizeof(rd));
    if (n > 0) {
      CHECK(tw_check(rd, (size_t)n, got, 7), ==, 1);
      got += (uint64_t)n;
    }
    tw_run(&w, 10 * TW_MS);
  }
  CHECK(got, >=, 100ull * sizeof(rd));
  CHECK(tw_sstat(w.st[1], cb, "rcvbuf_grown"), ==, 0);
  CHECK(get_buf(w.st[1], cb, SO_RCVBUF), ==, 212992);
  CHECK(anyload_tcp_setsockopt(w.st[1], cb, SOL_SOCKET, SO_LINGER,
                               &(struct linger){ 1, 0 },
                               sizeof(struct linger), tw_now()), ==, 0);
  CHECK(anyload_tcp_close(w.st[1], cb, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(w.st[0], ca, tw_now()), ==, 0);
  CHECK(anyload_tcp_close(w.st[1], ls, tw_now()), ==, 0);
  tw_run(&w, 200 * TW_SEC);
  tw_close(&w);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_rcvbuf_autotune),
  UNIT_TEST(test_tcp_rcvbuf_slow_reader),
  UNIT_TEST(test_tcp_sndbuf_autotune),
  UNIT_TEST(test_tcp_sndbuf_user),
  UNIT_TEST(test_tcp_rcvbuf_grow_full),
  UNIT_TEST(test_tcp_rcvbuf_grow_lossy),
};
UNIT_TEST_MAIN(tests)
