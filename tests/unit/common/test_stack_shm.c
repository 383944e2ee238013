/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for common/stack_shm.c and the histogram helpers of
 * common/stack_shm.h: bucket boundaries (exact below 16, 16 per power of
 * two above, the last bucket for huge values), percentiles of known
 * distributions (the upper bound of the right bucket, clamped to the
 * maximum), and the seqlock reader against a writer that is busy (odd
 * seq) or that moves seq during a copy.
 */
#include "unit_test.h"
#include "common/stack_shm.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static void test_stack_shm_bucket_bounds(void)
{
  uint64_t v;
  unsigned b;

  for (v = 0; v < 16; v++)
    CHECK(anyload_hist_bucket(v), ==, v);
  CHECK(anyload_hist_bucket(16), ==, 16);
  CHECK(anyload_hist_bucket(31), ==, 31);
  CHECK(anyload_hist_bucket(32), ==, 32);
  CHECK(anyload_hist_bucket(33), ==, 32);   /* 32..33 share a bucket */
  CHECK(anyload_hist_bucket(34), ==, 33);
  CHECK(anyload_hist_bucket(1000), ==, anyload_hist_bucket(1023));
  CHECK(anyload_hist_bucket(UINT64_MAX), ==, ANYLOAD_HIST_BUCKETS - 1);
  CHECK(anyload_hist_bucket(1ull << 40), ==, ANYLOAD_HIST_BUCKETS - 1);
  CHECK(anyload_hist_bucket((1ull << 40) - 1), ==, ANYLOAD_HIST_BUCKETS - 1);
  /* Every bucket's low bound maps to the bucket, and the value below it
   * to the previous one; widths stay within 1/16 of the value. */
  for (b = 1; b < ANYLOAD_HIST_BUCKETS; b++) {
    uint64_t lo = anyload_hist_low(b);
    CHECK(anyload_hist_bucket(lo), ==, b);
    CHECK(anyload_hist_bucket(lo - 1), ==, b - 1);
    if (b + 1 < ANYLOAD_HIST_BUCKETS && lo >= 16)
      CHECK((anyload_hist_low(b + 1) - lo) * 16, <=, lo);
  }
}

static void test_stack_shm_percentiles(void)
{
  static uint64_t bk[ANYLOAD_HIST_BUCKETS];
  uint64_t v, n = 0;

  CHECK(anyload_hist_percentile(bk, 0, 0.5, 0), ==, 0);
  /* 1..10: exact buckets. */
  for (v = 1; v <= 10; v++, n++)
    bk[anyload_hist_bucket(v)]++;
  CHECK(anyload_hist_percentile(bk, n, 0.5, 10), ==, 5);
  CHECK(anyload_hist_percentile(bk, n, 0.9, 10), ==, 9);
  CHECK(anyload_hist_percentile(bk, n, 0.91, 10), ==, 10);
  CHECK(anyload_hist_percentile(bk, n, 1.0, 10), ==, 10);
  CHECK(anyload_hist_percentile(bk, n, 0.01, 10), ==, 1);
  memset(bk, 0, sizeof(bk));
  /* 990 samples at 1000 ns, 9 at 100 us, 1 at 10 ms. */
  bk[anyload_hist_bucket(1000)] = 990;
  bk[anyload_hist_bucket(100000)] = 9;
  bk[anyload_hist_bucket(10000000)] = 1;
  n = 1000;
  v = anyload_hist_percentile(bk, n, 0.5, 10000000);
  CHECK(v, >=, 1000);
  CHECK(v, <, 1000 + 1000 / 16);
  v = anyload_hist_percentile(bk, n, 0.99, 10000000);
  CHECK(v, >=, 1000);
  CHECK(v, <, 1063);
  v = anyload_hist_percentile(bk, n, 0.991, 10000000);
  CHECK(v, >=, 100000);
  CHECK(v, <, 100000 + 100000 / 16);
  CHECK(anyload_hist_percentile(bk, n, 0.999, 10000000), <, 106250);
  CHECK(anyload_hist_percentile(bk, n, 1.0, 10000000), ==, 10000000);
  /* The maximum clamps an upper bound. */
  CHECK(anyload_hist_percentile(bk, n, 0.5, 1001), ==, 1001);
}

/* A fake mapped file: a header with seq and a payload word. */
struct fake {
  struct anyload_shm_hdr h;
  uint64_t payload;
};

struct reader {
  struct fake* f;
  unsigned runs;
  unsigned bump_runs;   /* the writer moves seq during this many copies */
  uint64_t got;
};

static void copy_word(const void* base, void* ctx)
{
  struct reader* r = ctx;

  (void)base;
  r->got = r->f->payload;
  r->runs++;
  if (r->runs <= r->bump_runs) {
    /* A whole update happens while we copy. */
    r->f->h.seq += 2;
    r->f->payload++;
  }
}

static void test_stack_shm_seqlock_reader(void)
{
  static struct fake f;
  struct reader r = { .f = &f };

  f.payload = 7;
  CHECK(stack_shm_read_consistent(&f, copy_word, &r, 10), ==, 0);
  CHECK(r.runs, ==, 1);
  CHECK(r.got, ==, 7);
  /* A writer busy in the middle of an update: never copied as good. */
  f.h.seq = 5;
  r.runs = 0;
  CHECK(stack_shm_read_consistent(&f, copy_word, &r, 20), ==, -EAGAIN);
  CHECK(r.runs, ==, 0);
  /* Updates during the first three copies: the fourth is kept, and it
   * holds the last value. */
  f.h.seq = 6;
  r.runs = 0;
  r.bump_runs = 3;
  CHECK(stack_shm_read_consistent(&f, copy_word, &r, 10), ==, 0);
  CHECK(r.runs, ==, 4);
  CHECK(r.got, ==, 10);
  CHECK(f.payload, ==, 10);
  /* Always disturbed: gives up after `tries`. */
  r.runs = 0;
  r.bump_runs = 1000;
  CHECK(stack_shm_read_consistent(&f, copy_word, &r, 10), ==, -EAGAIN);
  CHECK(r.runs, ==, 10);
}

static void test_stack_shm_open_rejects(void)
{
  struct stack_shm s;
  char path[] = "/tmp/anyload-shm-test.XXXXXX";
  struct anyload_shm_hdr h;
  int fd = mkstemp(path);

  CHECK(fd, >=, 0);
  memset(&h, 0, sizeof(h));
  h.magic = 42;
  CHECK(write(fd, &h, sizeof(h)), ==, (ssize_t)sizeof(h));
  CHECK(stack_shm_open(path, &s), ==, -EPROTO);
  /* The right magic but sections past the end of the file. */
  h.magic = ANYLOAD_SHM_MAGIC;
  h.version = ANYLOAD_SHM_VERSION;
  h.hdr_size = sizeof(h);
  h.file_size = sizeof(h);
  h.sock_size = sizeof(struct anyload_shm_sock);
  h.max_socks = 10;
  h.socks_off = 64;
  CHECK(pwrite(fd, &h, sizeof(h), 0), ==, (ssize_t)sizeof(h));
  CHECK(stack_shm_open(path, &s), ==, -EPROTO);
  /* Too short to hold a header. */
  CHECK(ftruncate(fd, 16), ==, 0);
  CHECK(stack_shm_open(path, &s), ==, -EPROTO);
  CHECK(stack_shm_open("/nonexistent/anyload", &s), ==, -ENOENT);
  close(fd);
  unlink(path);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_stack_shm_bucket_bounds),
  UNIT_TEST(test_stack_shm_percentiles),
  UNIT_TEST(test_stack_shm_seqlock_reader),
  UNIT_TEST(test_stack_shm_open_rejects),
};
UNIT_TEST_MAIN(tests)
