/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the stack's TCP (stack/tcp_*.c): data integrity of long
 * transfers between two stacks on simulated links (tests/harness/
 * tcp_sim.h) on the virtual clock: the same amount each way at once,
 * through a perfect link and through links with 1% and 5% random loss
 * plus reordering and duplication (seeded); every byte checked at the
 * receiver against the generated stream, and the SHA-256 of what each
 * end sent equal to that of what the other received. With loss the
 * sender must have retransmitted and entered fast recovery. Then the
 * clean and 5% cases again with super-frames (ef_vi_transmitv_gso).
 *
 * Size: TCP_BULK_BYTES each way (suffix K, M or G; default 32M, the
 * 5%-loss super-frame case half of it). tests/integration/
 * tcp_sim_integrity.sh runs this with 1G.
 */
#include "unit_test.h"
#include "tcp_sim.h"
#include "../../../bench/parse_size.h"
#include "../../../bench/sha256.h"

#include <stdlib.h>

/* bulk_bytes: TCP_BULK_BYTES, or 32 MiB. */
static uint64_t bulk_bytes(void)
{
  const char* v = getenv("TCP_BULK_BYTES");
  uint64_t n = 0;

  if (!v || !*v)
    return 32ull << 20;
  CHECK(parse_size(v, UINT64_MAX, &n), ==, 0);
  CHECK(n, >, 0);
  return n;
}

/* pump: move data through a pair of connections until each direction
 * has delivered its total, every byte checked at the receiver; the
 * virtual time is bounded. */
struct dir {
  struct anyload_stack *tx_st, *rx_st;
  int tx, rx;
  uint64_t total, sent, got, seed;
  struct sha256_ctx tx_hash, rx_hash;
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
    sha256_update(&d->tx_hash, buf, (size_t)n);
    d->sent += (uint64_t)n;
  }
  for (;;) {
    n = tw_recv(d->rx_st, d->rx, buf, sizeof(buf));
    if (n == -EAGAIN)
      break;
    CHECK(n, >, 0);
    CHECK(tw_check(buf, (size_t)n, d->got, d->seed), ==, 1);
    sha256_update(&d->rx_hash, buf, (size_t)n);
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

/* bulk: total bytes A -> B and total B -> A at once, on a link with the
 * given loss, reordering and duplication both ways (seeded). */
static void bulk(const char* name, double loss, double reorder, double dup,
                 uint64_t total, const char* cc, unsigned gso)
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
  cfg.gso = gso;
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
  d[1].total = total;
  d[1].seed = 12;
  sha256_init(&d[0].tx_hash);
  sha256_init(&d[0].rx_hash);
  sha256_init(&d[1].tx_hash);
  sha256_init(&d[1].rx_hash);
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
  {
    uint8_t sent[SHA256_DIGEST], got[SHA256_DIGEST];
    char hex[2 * SHA256_DIGEST + 1];
    int k;
    for (k = 0; k < 2; k++) {
      sha256_final(&d[k].tx_hash, sent);
      sha256_final(&d[k].rx_hash, got);
      CHECK(d[k].got, ==, total);
      CHECK_MEM(sent, got, sizeof(sent));
      sha256_hex(got, hex);
      printf("# %s: %s %llu bytes, sha256 %s on both ends\n", name,
             k ? "B -> A" : "A -> B", (unsigned long long)total, hex);
    }
  }
  /* Super-frames carried most of the data, in both directions. */
  if (gso) {
    CHECK(tw_stat(w.st[0], "tcp_tx_gso_segs"), >, total / 1460 / 2);
    CHECK(tw_stat(w.st[1], "tcp_tx_gso_frames"), >, 0);
  } else {
    CHECK(tw_stat(w.st[0], "tcp_tx_gso_frames"), ==, 0);
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
  bulk("bc", 0, 0, 0, bulk_bytes(), "cubic", 0);
}

/* The same through super-frames (a link that cuts them as Linux's GSO
 * does): clean, and with 5% loss, reordering and duplication of the
 * segments they become. */
static void test_tcp_bulk_gso_clean(void)
{
  bulk("gc", 0, 0, 0, bulk_bytes(), "cubic", 1);
}

static void test_tcp_bulk_gso_loss5(void)
{
  bulk("g5", 0.05, 0.02, 0.02, bulk_bytes() / 2, "cubic", 1);
}

static void test_tcp_bulk_loss1(void)
{
  bulk("b1", 0.01, 0.01, 0.01, bulk_bytes(), "reno", 0);
}

static void test_tcp_bulk_loss5(void)
{
  bulk("b5", 0.05, 0.02, 0.02, bulk_bytes(), "cubic", 0);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_bulk_clean),
  UNIT_TEST(test_tcp_bulk_loss1),
  UNIT_TEST(test_tcp_bulk_loss5),
  UNIT_TEST(test_tcp_bulk_gso_clean),
  UNIT_TEST(test_tcp_bulk_gso_loss5),
};
UNIT_TEST_MAIN(tests)
