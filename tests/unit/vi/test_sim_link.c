/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for vi/sim_link.c, the simulated link model on its own (no
 * VIs): the literal loss mask per direction, seeded reproducibility of
 * loss, duplication, reordering, corruption and truncation, latency and
 * rate limiting on the virtual clock, the queue limit, the pcap writer,
 * the ANYLOAD_SIM_LINKS syntax and argument errors. Frames go in with
 * sim_link_send and come out with sim_link_pop; each carries its sequence
 * number after the Ethernet header. Every test runs on the virtual clock,
 * so none depends on timing, and uses link names of its own, so a failed
 * test does not disturb the next.
 */
#include "unit_test.h"
#include "vi/sim_int.h"

#include <anyload/sim.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000ll

/* vclock: the virtual clock's time, switching to it on first use. */
static int64_t vclock(void)
{
  if (!anyload_sim_clock_is_virtual())
    CHECK(anyload_sim_clock_set(1000 * MS), ==, 0);
  return anyload_sim_clock_now();
}

/* mkframe: a frame of len bytes (>= 18) with sequence number seq: a
 * broadcast Ethernet header of the local experimental EtherType, the
 * sequence number, then a pattern derived from it. */
static struct sim_frame* mkframe(uint32_t seq, uint32_t len)
{
  struct sim_frame* f = sim_frame_alloc(len);
  uint32_t i;

  CHECK_PTR(f, !=, NULL);
  memset(f->data, 0xff, 6);
  memset(f->data + 6, 0x02, 6);
  f->data[12] = 0x88;
  f->data[13] = 0xb5;
  memcpy(f->data + 14, &seq, 4);
  for (i = 18; i < len; i++)
    f->data[i] = (uint8_t)(seq * 7 + i);
  return f;
}

static uint32_t seq_of(const struct sim_frame* f)
{
  uint32_t seq = 0;
  if (f->len >= 18)
    memcpy(&seq, f->data + 14, 4);
  return seq;
}

static int64_t send1(struct sim_link* l, int end, uint32_t seq, uint32_t len)
{
  int64_t done = -1;

  pthread_mutex_lock(&l->lock);
  sim_link_send(l, end, mkframe(seq, len), anyload_sim_clock_now(), &done);
  pthread_mutex_unlock(&l->lock);
  return done;
}

static struct sim_frame* pop1(struct sim_link* l, int to_end)
{
  struct sim_frame* f;

  pthread_mutex_lock(&l->lock);
  f = sim_link_pop(l, to_end, anyload_sim_clock_now());
  pthread_mutex_unlock(&l->lock);
  return f;
}

/* pop_seqs: pop every frame that has arrived at to_end; their sequence
 * numbers into seqs[] (up to max); returns how many. */
static int pop_seqs(struct sim_link* l, int to_end, uint32_t* seqs, int max)
{
  struct sim_frame* f;
  int n = 0;

  while ((f = pop1(l, to_end))) {
    if (n < max)
      seqs[n] = seq_of(f);
    n++;
    sim_frame_free(f);
  }
  return n;
}

static struct sim_link* mklink(const char* a, const char* b,
                               const struct anyload_sim_config* cfg)
{
  struct sim_link* l;
  int end = -1;

  CHECK(anyload_sim_link_create(a, b, cfg), ==, 0);
  l = sim_link_by_name(a, &end);
  CHECK_PTR(l, !=, NULL);
  CHECK(end, ==, 0);
  return l;
}

static void test_sim_link_mask_each_direction(void)
{
  /* Different patterns each way; 40 bits, then 24 frames past the end of
   * the mask, which the mask does not drop. */
  static const uint8_t mask_ab[5] = { 0x96, 0x01, 0x00, 0xf0, 0x81 };
  static const uint8_t mask_ba[5] = { 0x01, 0x80, 0x55, 0x00, 0x0f };
  struct anyload_sim_config cfg;
  struct anyload_sim_stats st;
  struct sim_link* l;
  uint32_t got[2][64];
  int n[2] = { 0, 0 }, e, i, k, dropped[2] = { 0, 0 };

  vclock();
  anyload_sim_config_init(&cfg);
  cfg.seed = 1;
  cfg.a_to_b.loss_mask = mask_ab;
  cfg.a_to_b.loss_mask_bits = 40;
  cfg.b_to_a.loss_mask = mask_ba;
  cfg.b_to_a.loss_mask_bits = 40;
  l = mklink("mskA", "mskB", &cfg);
  /* Interleave the directions: the masks count per direction. */
  for (i = 0; i < 64; i++) {
    send1(l, 0, (uint32_t)i, 60);
    send1(l, 1, (uint32_t)i, 60);
  }
  n[1] = pop_seqs(l, 1, got[1], 64);   /* a -> b */
  n[0] = pop_seqs(l, 0, got[0], 64);   /* b -> a */
  for (e = 0; e < 2; e++) {
    const uint8_t* m = e == 0 ? mask_ab : mask_ba;
    int to = !e;
    k = 0;
    for (i = 0; i < 64; i++) {
      int drop = i < 40 && ((m[i / 8] >> (i % 8)) & 1);
      if (drop) {
        dropped[e]++;
        continue;
      }
      CHECK(k, <, n[to]);
      CHECK(got[to][k], ==, i);
      k++;
    }
    CHECK(k, ==, n[to]);
  }
  CHECK(anyload_sim_link_stats("mskA", &st, 0), ==, 0);
  CHECK(st.sent, ==, 64);
  CHECK(st.dropped_mask, ==, dropped[0]);
  CHECK(st.delivered, ==, 64 - dropped[0]);
  CHECK(st.dropped_loss, ==, 0);
  CHECK(st.in_flight, ==, 0);
  CHECK(anyload_sim_link_stats("mskB", &st, 0), ==, 0);
  CHECK(st.dropped_mask, ==, dropped[1]);
  CHECK(st.delivered, ==, 64 - dropped[1]);
  CHECK(dropped[0], ==, 11);
  CHECK(dropped[1], ==, 10);
  CHECK(anyload_sim_link_destroy("mskB"), ==, 0);
}

/* A run's observable outcome: every delivered frame's sequence number,
 * length and a hash of its bytes, in delivery order, and the counters. */
struct trace {
  uint32_t n;
  uint64_t rec[4096];
  struct anyload_sim_stats st;
};

static uint64_t fnv(const uint8_t* p, uint32_t len)
{
  uint64_t h = 0xcbf29ce484222325ull;
  while (len--)
    h = (h ^ *p++) * 0x100000001b3ull;
  return h;
}

static void run_faulty(const char* a, const char* b, uint64_t seed,
                       struct trace* t)
{
  struct anyload_sim_config cfg;
  struct sim_link* l;
  struct sim_frame* f;
  uint32_t i;

  vclock();
  anyload_sim_config_init(&cfg);
  cfg.seed = seed;
  cfg.a_to_b.latency_ns = 10000;
  cfg.a_to_b.loss = 0.1;
  cfg.a_to_b.duplicate = 0.05;
  cfg.a_to_b.reorder = 0.05;
  cfg.a_to_b.reorder_distance = 3;
  cfg.a_to_b.corrupt = 0.05;
  cfg.a_to_b.truncate = 0.05;
  l = mklink(a, b, &cfg);
  memset(t, 0, sizeof(*t));
  for (i = 0; i < 2000; i++) {
    send1(l, 0, i, 64 + i % 200);
    if (i % 7 == 6)
      CHECK(anyload_sim_clock_advance(3000), ==, 0);
    while ((f = pop1(l, 1))) {
      CHECK(t->n, <, 4096);
      t->rec[t->n++] = (uint64_t)seq_of(f) << 32 ^ (uint64_t)f->len << 48 ^
                       fnv(f->data, f->len);
      sim_frame_free(f);
    }
  }
  CHECK(anyload_sim_clock_advance(MS), ==, 0);
  while ((f = pop1(l, 1))) {
    CHECK(t->n, <, 4096);
    t->rec[t->n++] = (uint64_t)seq_of(f) << 32 ^ (uint64_t)f->len << 48 ^
                     fnv(f->data, f->len);
    sim_frame_free(f);
  }
  CHECK(anyload_sim_link_stats(a, &t->st, 0), ==, 0);
  CHECK(anyload_sim_link_destroy(a), ==, 0);
}

static void test_sim_link_seed_reproduces(void)
{
  static struct trace t1, t2, t3;
  uint32_t i, same = 0;

  run_faulty("seedA", "seedB", 7, &t1);
  run_faulty("seedA", "seedB", 7, &t2);
  run_faulty("seedA", "seedB", 8, &t3);

  /* Every kind of fault happened, and the counters add up. */
  CHECK(t1.st.sent, ==, 2000);
  CHECK(t1.st.dropped_loss, >, 100);
  CHECK(t1.st.duplicated, >, 40);
  CHECK(t1.st.reordered, >, 40);
  CHECK(t1.st.corrupted, >, 40);
  CHECK(t1.st.truncated, >, 40);
  CHECK(t1.st.delivered, ==, t1.n);
  CHECK(t1.st.delivered, ==,
        t1.st.sent - t1.st.dropped_loss + t1.st.duplicated);
  CHECK(t1.st.in_flight, ==, 0);

  /* The same seed: the same run, byte for byte. */
  CHECK(t2.n, ==, t1.n);
  CHECK_MEM(t2.rec, t1.rec, t1.n * sizeof(t1.rec[0]));
  CHECK_MEM(&t2.st, &t1.st, sizeof(t1.st));

  /* Another seed: another run. */
  CHECK(t3.st.sent, ==, 2000);
  for (i = 0; i < t1.n && i < t3.n; i++)
    same += t1.rec[i] == t3.rec[i];
  CHECK(same, <, t1.n / 2);
  CHECK(memcmp(&t3.st, &t1.st, sizeof(t1.st)), !=, 0);
}

static void test_sim_link_latency_virtual(void)
{
  struct anyload_sim_config cfg;
  struct sim_link* l;
  struct sim_frame* f;
  uint32_t seqs[16];
  int64_t t0 = vclock();
  int i;

  anyload_sim_config_init(&cfg);
  cfg.a_to_b.latency_ns = 5 * MS;
  cfg.b_to_a.latency_ns = 2 * MS;
  l = mklink("latA", "latB", &cfg);
  for (i = 0; i < 10; i++)
    CHECK(send1(l, 0, (uint32_t)i, 100), ==, t0);   /* no rate: at once */
  send1(l, 1, 99, 100);
  CHECK(sim_link_next_arrival(l, 1), ==, t0 + 5 * MS);
  CHECK(sim_link_next_arrival(l, 0), ==, t0 + 2 * MS);
  CHECK(anyload_sim_next_event(), ==, t0 + 2 * MS);

  CHECK(anyload_sim_clock_advance(2 * MS - 1), ==, 0);
  CHECK_PTR(pop1(l, 0), ==, NULL);
  CHECK(anyload_sim_clock_advance(1), ==, 0);
  f = pop1(l, 0);
  CHECK_PTR(f, !=, NULL);
  CHECK(seq_of(f), ==, 99);
  CHECK(f->arrival_ns, ==, t0 + 2 * MS);
  sim_frame_free(f);

  CHECK(anyload_sim_clock_advance(3 * MS - 1), ==, 0);
  CHECK(pop_seqs(l, 1, seqs, 16), ==, 0);
  CHECK(anyload_sim_clock_advance(1), ==, 0);
  CHECK(pop_seqs(l, 1, seqs, 16), ==, 10);
  for (i = 0; i < 10; i++)
    CHECK(seqs[i], ==, i);
  CHECK(sim_link_next_arrival(l, 1), ==, SIM_NEVER);
  CHECK(anyload_sim_next_event(), ==, INT64_MAX);
  CHECK(anyload_sim_link_destroy("latA"), ==, 0);
}

static void test_sim_link_rate_spacing(void)
{
  struct anyload_sim_config cfg;
  struct sim_link* l;
  struct sim_frame* f;
  int64_t t0 = vclock();
  int i;

  /* 8 Mbit/s: a 1000-byte frame takes exactly 1 ms on the line. */
  anyload_sim_config_init(&cfg);
  cfg.a_to_b.rate_bps = 8000000;
  cfg.a_to_b.latency_ns = 500000;
  l = mklink("rateA", "rateB", &cfg);
  for (i = 0; i < 5; i++)
    CHECK(send1(l, 0, (uint32_t)i, 1000), ==, t0 + (i + 1) * MS);
  /* Frame i arrives at t0 + (i + 1) ms + 0.5 ms, one per millisecond. */
  for (i = 0; i < 5; i++) {
    int64_t due = t0 + (i + 1) * MS + 500000;
    CHECK(anyload_sim_clock_set(due - 1), ==, 0);
    CHECK_PTR(pop1(l, 1), ==, NULL);
    CHECK(anyload_sim_clock_set(due), ==, 0);
    f = pop1(l, 1);
    CHECK_PTR(f, !=, NULL);
    CHECK(seq_of(f), ==, i);
    CHECK(f->arrival_ns, ==, due);
    sim_frame_free(f);
    CHECK_PTR(pop1(l, 1), ==, NULL);
  }
  /* The line is idle again: the next frame goes at once. */
  CHECK(send1(l, 0, 5, 500), ==, anyload_sim_clock_now() + MS / 2);
  /* The other direction has no limit. */
  CHECK(send1(l, 1, 6, 1000), ==, anyload_sim_clock_now());
  CHECK(anyload_sim_clock_advance(MS), ==, 0);
  CHECK(pop_seqs(l, 1, NULL, 0), ==, 1);
  CHECK(pop_seqs(l, 0, NULL, 0), ==, 1);
  CHECK(anyload_sim_link_destroy("rateA"), ==, 0);
}

static void test_sim_link_queue_limit(void)
{
  struct anyload_sim_config cfg;
  struct anyload_sim_stats st;
  struct sim_link* l;
  uint32_t seqs[16];
  int64_t t0 = vclock();
  int i;

  anyload_sim_config_init(&cfg);
  cfg.a_to_b.rate_bps = 8000000;     /* 1 ms per 1000-byte frame */
  cfg.a_to_b.queue_limit = 3;
  l = mklink("qA", "qB", &cfg);
  for (i = 0; i < 10; i++)
    send1(l, 0, (uint32_t)i, 1000);
  CHECK(anyload_sim_link_stats("qA", &st, 0), ==, 0);
  CHECK(st.dropped_queue, ==, 7);
  CHECK(st.in_flight, ==, 3);
  /* After 1 ms the first frame is out: one place in the queue. */
  CHECK(anyload_sim_clock_set(t0 + MS), ==, 0);
  send1(l, 0, 10, 1000);
  send1(l, 0, 11, 1000);
  CHECK(anyload_sim_link_stats("qA", &st, 1), ==, 0);
  CHECK(st.dropped_queue, ==, 8);
  CHECK(st.sent, ==, 12);
  CHECK(anyload_sim_clock_set(t0 + 10 * MS), ==, 0);
  CHECK(pop_seqs(l, 1, seqs, 16), ==, 4);
  CHECK(seqs[0], ==, 0);
  CHECK(seqs[1], ==, 1);
  CHECK(seqs[2], ==, 2);
  CHECK(seqs[3], ==, 10);
  CHECK(anyload_sim_link_stats("qA", &st, 0), ==, 0);
  CHECK(st.sent, ==, 0);           /* reset by the read above */
  CHECK(st.delivered, ==, 4);
  CHECK(anyload_sim_link_destroy("qA"), ==, 0);
}

static void test_sim_link_truncate_corrupt(void)
{
  struct anyload_sim_config cfg;
  struct anyload_sim_stats st;
  struct sim_link* l;
  struct sim_frame *f, *ref;
  uint32_t min_len = 200, max_len = 0;
  int i;

  vclock();
  anyload_sim_config_init(&cfg);
  cfg.seed = 3;
  cfg.a_to_b.truncate = 1.0;
  cfg.b_to_a.corrupt = 1.0;
  l = mklink("dmgA", "dmgB", &cfg);
  for (i = 0; i < 100; i++) {
    send1(l, 0, (uint32_t)i, 200);
    send1(l, 1, (uint32_t)i, 200);
  }
  /* Truncated: a shorter frame, a prefix of what was sent, with its
   * Ethernet header. */
  for (i = 0; i < 100; i++) {
    f = pop1(l, 1);
    CHECK_PTR(f, !=, NULL);
    ref = mkframe((uint32_t)i, 200);
    CHECK(f->len, >=, 14);
    CHECK(f->len, <, 200);
    CHECK_MEM(f->data, ref->data, f->len);
    min_len = f->len < min_len ? f->len : min_len;
    max_len = f->len > max_len ? f->len : max_len;
    sim_frame_free(ref);
    sim_frame_free(f);
  }
  CHECK(max_len - min_len, >, 100);    /* random lengths */
  /* Corrupted: the same length, exactly one bit flipped, after the
   * Ethernet header. */
  for (i = 0; i < 100; i++) {
    uint32_t k, bits = 0, first = 0;
    f = pop1(l, 0);
    CHECK_PTR(f, !=, NULL);
    ref = mkframe((uint32_t)i, 200);
    CHECK(f->len, ==, 200);
    for (k = 0; k < 200; k++) {
      uint8_t x = f->data[k] ^ ref->data[k];
      if (x && !bits)
        first = k;
      bits += (uint32_t)__builtin_popcount(x);
    }
    CHECK(bits, ==, 1);
    CHECK(first, >=, 14);
    sim_frame_free(ref);
    sim_frame_free(f);
  }
  CHECK(anyload_sim_link_stats("dmgA", &st, 0), ==, 0);
  CHECK(st.truncated, ==, 100);
  CHECK(st.corrupted, ==, 0);
  CHECK(anyload_sim_link_stats("dmgB", &st, 0), ==, 0);
  CHECK(st.corrupted, ==, 100);
  CHECK(st.truncated, ==, 0);
  CHECK(anyload_sim_link_destroy("dmgA"), ==, 0);
}

static void test_sim_link_duplicate_reorder(void)
{
  struct anyload_sim_config cfg;
  struct anyload_sim_dir_config d;
  struct anyload_sim_stats st;
  struct sim_link* l;
  uint32_t seqs[32];
  int i;

  vclock();
  anyload_sim_config_init(&cfg);
  cfg.a_to_b.duplicate = 1.0;
  l = mklink("drA", "drB", &cfg);
  for (i = 0; i < 5; i++)
    send1(l, 0, (uint32_t)i, 60);
  CHECK(pop_seqs(l, 1, seqs, 32), ==, 10);
  for (i = 0; i < 10; i++)
    CHECK(seqs[i], ==, i / 2);

  /* Frame 5 is held back for 2 later frames, then the link is perfect. */
  memset(&d, 0, sizeof(d));
  d.reorder = 1.0;
  d.reorder_distance = 2;
  d.latency_ns = MS;
  CHECK(anyload_sim_link_set_faults("drA", &d), ==, 0);
  send1(l, 0, 5, 60);
  d.reorder = 0;
  CHECK(anyload_sim_link_set_faults("drA", &d), ==, 0);
  CHECK(anyload_sim_clock_advance(MS / 2), ==, 0);
  CHECK(pop_seqs(l, 1, seqs, 32), ==, 0);     /* waiting for 2 frames */
  for (i = 6; i < 9; i++)
    send1(l, 0, (uint32_t)i, 60);
  CHECK(anyload_sim_clock_advance(MS), ==, 0);
  CHECK(pop_seqs(l, 1, seqs, 32), ==, 4);
  CHECK(seqs[0], ==, 6);
  CHECK(seqs[1], ==, 7);
  CHECK(seqs[2], ==, 5);
  CHECK(seqs[3], ==, 8);

  /* A held frame with fewer followers goes once nothing else is in
   * flight and its own time has come. */
  d.reorder = 1.0;
  d.reorder_distance = 5;
  d.latency_ns = MS;
  CHECK(anyload_sim_link_set_faults("drA", &d), ==, 0);
  send1(l, 0, 9, 60);
  d.reorder = 0;
  CHECK(anyload_sim_link_set_faults("drA", &d), ==, 0);
  send1(l, 0, 10, 60);
  CHECK(anyload_sim_clock_advance(MS - 1), ==, 0);
  CHECK(pop_seqs(l, 1, seqs, 32), ==, 0);
  CHECK(anyload_sim_clock_advance(1), ==, 0);
  CHECK(pop_seqs(l, 1, seqs, 32), ==, 2);
  CHECK(seqs[0], ==, 10);
  CHECK(seqs[1], ==, 9);
  /* A mask set mid-run counts from the next frame: drop the next 2. */
  {
    static const uint8_t two[1] = { 0x03 };
    d.latency_ns = 0;
    d.loss_mask = two;
    d.loss_mask_bits = 2;
    CHECK(anyload_sim_link_set_faults("drA", &d), ==, 0);
    for (i = 11; i < 14; i++)
      send1(l, 0, (uint32_t)i, 60);
    CHECK(pop_seqs(l, 1, seqs, 32), ==, 1);
    CHECK(seqs[0], ==, 13);
  }
  CHECK(anyload_sim_link_stats("drA", &st, 0), ==, 0);
  CHECK(st.duplicated, ==, 5);
  CHECK(st.reordered, ==, 2);
  CHECK(st.delivered, ==, 17);
  CHECK(st.dropped_mask, ==, 2);
  CHECK(anyload_sim_link_destroy("drA"), ==, 0);
}

static void test_sim_link_pcap(void)
{
  static const uint8_t mask[1] = { 0x04 };   /* frame 2 dropped */
  struct anyload_sim_config cfg;
  struct sim_link* l;
  char path[] = "/tmp/anyload-sim-pcap-XXXXXX";
  unsigned char buf[4096];
  uint32_t hdr[6], rec[4];
  uint16_t ver[2];
  int64_t t0 = vclock();
  size_t n;
  FILE* fp;
  int fd, i, records = 0;

  fd = mkstemp(path);
  CHECK(fd, >=, 0);
  close(fd);
  anyload_sim_config_init(&cfg);
  cfg.a_to_b.latency_ns = 1500;
  cfg.a_to_b.loss_mask = mask;
  cfg.a_to_b.loss_mask_bits = 8;
  l = mklink("pcA", "pcB", &cfg);
  CHECK(anyload_sim_link_pcap("pcA", path), ==, 0);
  for (i = 0; i < 5; i++)
    send1(l, 0, (uint32_t)i, 60 + (uint32_t)i);
  send1(l, 1, 77, 100);
  CHECK(anyload_sim_clock_advance(MS), ==, 0);
  CHECK(pop_seqs(l, 1, NULL, 0), ==, 4);
  CHECK(pop_seqs(l, 0, NULL, 0), ==, 1);
  CHECK(anyload_sim_link_pcap("pcA", NULL), ==, 0);
  send1(l, 0, 5, 60);           /* not recorded: the capture is closed */
  CHECK(anyload_sim_clock_advance(MS), ==, 0);
  CHECK(pop_seqs(l, 1, NULL, 0), ==, 1);
  CHECK(anyload_sim_link_destroy("pcA"), ==, 0);

  fp = fopen(path, "rb");
  CHECK_PTR(fp, !=, NULL);
  CHECK(fread(hdr, 4, 1, fp), ==, 1);
  CHECK(fread(ver, 2, 2, fp), ==, 2);
  CHECK(fread(&hdr[1], 4, 4, fp), ==, 4);
  CHECK(hdr[0], ==, 0xa1b23c4du);     /* nanosecond timestamps */
  CHECK(ver[0], ==, 2);
  CHECK(ver[1], ==, 4);
  CHECK(hdr[1], ==, 0);               /* thiszone */
  CHECK(hdr[3], ==, 65535);           /* snaplen */
  CHECK(hdr[4], ==, 1);               /* LINKTYPE_ETHERNET */
  while (fread(rec, 4, 4, fp) == 4) {
    static const uint32_t lens[5] = { 60, 61, 63, 64, 100 };
    int64_t t = (int64_t)rec[0] * 1000000000 + rec[1];
    CHECK(records, <, 5);
    CHECK(rec[2], ==, lens[records]);
    CHECK(rec[3], ==, rec[2]);
    CHECK(t, ==, t0 + (records < 4 ? 1500 : 0));
    n = fread(buf, 1, rec[2], fp);
    CHECK(n, ==, rec[2]);
    records++;
  }
  CHECK(records, ==, 5);
  fclose(fp);
  unlink(path);
}

static void test_sim_link_spec(void)
{
  struct anyload_sim_stats st;
  struct sim_link* l;
  uint32_t seqs[8];
  int end, i;

  vclock();
  CHECK(anyload_sim_links_add("spA-spB:ab.loss_mask=101,seed=3,"
                              "latency_us=10,ba.latency_ns=5;"
                              " spC-spD : mtu=9000,"), ==, -EINVAL);
  CHECK(anyload_sim_links_add("spA-spB:ab.loss_mask=101,seed=3,"
                              "latency_us=10,ba.latency_ns=5,"
                              "mac_a=02:00:00:00:aa:01 ; spC-spD:mtu=9000;"),
        ==, 0);
  l = sim_link_by_name("spB", &end);
  CHECK_PTR(l, !=, NULL);
  CHECK(end, ==, 1);
  CHECK(l->ifs[0].mac[5], ==, 0x01);
  CHECK(l->ifs[0].mac[4], ==, 0xaa);
  CHECK(l->ifs[1].mtu, ==, 1500);
  CHECK(l->dirs[0].cfg.latency_ns, ==, 10000);
  CHECK(l->dirs[1].cfg.latency_ns, ==, 5);
  for (i = 0; i < 3; i++) {
    send1(l, 0, (uint32_t)i, 60);
    send1(l, 1, (uint32_t)i, 60);
  }
  CHECK(anyload_sim_clock_advance(MS), ==, 0);
  CHECK(pop_seqs(l, 1, seqs, 8), ==, 1);   /* mask 101: only frame 1 */
  CHECK(seqs[0], ==, 1);
  CHECK(pop_seqs(l, 0, seqs, 8), ==, 3);
  CHECK(anyload_sim_link_stats("spA", &st, 0), ==, 0);
  CHECK(st.dropped_mask, ==, 2);
  l = sim_link_by_name("spD", &end);
  CHECK_PTR(l, !=, NULL);
  CHECK(l->ifs[1].mtu, ==, 9000);

  /* Errors leave nothing behind: a name taken, then rolled back. */
  CHECK(anyload_sim_links_add("spE-spF;spG-spA"), ==, -EEXIST);
  CHECK_PTR(sim_link_by_name("spE", NULL), ==, NULL);
  {
    static const char* const bad[] = {
      "", ";", "x", "x-", "-y", "x-x", "x-y:", "x-y:loss", "x-y:loss=",
      "x-y:loss=1.5", "x-y:loss=-0.1", "x-y:loss=nan", "x-y:bogus=1",
      "x-y:latency_us=12a", "x-y:latency_ms=99999999999999999999",
      "x-y:ab.seed=4", "x-y:mtu=10", "x-y:mac_a=02:00:00:00:00",
      "x-y:loss_mask=0120", "x-y:pcap=", "x-y:queue=5000000000",
      "x y", "x-y z", "averyveryverylongname-y", "x-y:ab.", "x-y,loss=0",
      "x-y:rate_gbps=18446744073709551615",
    };
    for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
      int rc = anyload_sim_links_add(bad[i]);
      if (rc != -EINVAL)
        UNIT_FAIL("spec \"%s\": %d, not -EINVAL", bad[i], rc);
    }
  }
  CHECK_PTR(sim_link_by_name("x", NULL), ==, NULL);
  CHECK(anyload_sim_links_add(NULL), ==, -EINVAL);
  CHECK(anyload_sim_link_destroy("spA"), ==, 0);
  CHECK(anyload_sim_link_destroy("spC"), ==, 0);
}

static void test_sim_link_errors(void)
{
  struct anyload_sim_config cfg;
  struct anyload_sim_dir_config d;
  struct anyload_sim_stats st;
  struct sim_link* l;
  int64_t t;

  vclock();
  anyload_sim_config_init(&cfg);
  cfg.size = 0;
  CHECK(anyload_sim_link_create("erA", "erB", &cfg), ==, -EINVAL);
  anyload_sim_config_init(&cfg);
  cfg.b_to_a.duplicate = 1.5;
  CHECK(anyload_sim_link_create("erA", "erB", &cfg), ==, -EINVAL);
  anyload_sim_config_init(&cfg);
  cfg.mtu = 10;
  CHECK(anyload_sim_link_create("erA", "erB", &cfg), ==, -EINVAL);
  anyload_sim_config_init(&cfg);
  cfg.a_to_b.loss_mask_bits = 3;
  CHECK(anyload_sim_link_create("erA", "erB", &cfg), ==, -EINVAL);
  CHECK(anyload_sim_link_create("erA", "erA", NULL), ==, -EINVAL);
  CHECK(anyload_sim_link_create("", "erB", NULL), ==, -EINVAL);
  CHECK(anyload_sim_link_create(NULL, "erB", NULL), ==, -EINVAL);
  CHECK(anyload_sim_link_create("a-name-of-16-chr", "erB", NULL), ==,
        -EINVAL);
  CHECK(anyload_sim_link_create("erA", "erB", NULL), ==, 0);
  CHECK(anyload_sim_link_create("erB", "erC", NULL), ==, -EEXIST);
  CHECK(anyload_sim_link_destroy("erC"), ==, -ENODEV);
  CHECK(anyload_sim_link_destroy(NULL), ==, -ENODEV);
  CHECK(anyload_sim_link_stats("erA", NULL, 0), ==, -EINVAL);
  CHECK(anyload_sim_link_stats("erC", &st, 0), ==, -ENODEV);
  CHECK(anyload_sim_link_pcap("erC", "/tmp/x"), ==, -ENODEV);
  CHECK(anyload_sim_link_pcap("erA", "/nonexistent-dir/x.pcap"), ==,
        -ENOENT);
  memset(&d, 0, sizeof(d));
  d.loss = 2;
  CHECK(anyload_sim_link_set_faults("erA", &d), ==, -EINVAL);
  CHECK(anyload_sim_link_set_faults("erA", NULL), ==, -EINVAL);
  d.loss = 0;
  d.loss_mask_bits = 1;
  CHECK(anyload_sim_link_set_faults("erA", &d), ==, -EINVAL);  /* NULL */
  d.loss_mask_bits = 0;
  d.loss = 0;
  CHECK(anyload_sim_link_set_faults("erC", &d), ==, -ENODEV);

  /* The clock: forward always, back or to the real clock only when no
   * frame is in flight. */
  t = anyload_sim_clock_now();
  CHECK(anyload_sim_clock_advance(-1), ==, -EINVAL);
  CHECK(anyload_sim_clock_set(-1), ==, -EINVAL);
  l = sim_link_by_name("erA", NULL);
  d.latency_ns = MS;
  CHECK(anyload_sim_link_set_faults("erA", &d), ==, 0);
  send1(l, 0, 1, 60);
  CHECK(anyload_sim_clock_set(t - 1), ==, -EBUSY);
  CHECK(anyload_sim_clock_real(), ==, -EBUSY);
  CHECK(anyload_sim_clock_is_virtual(), ==, 1);
  CHECK(anyload_sim_clock_set(t + MS), ==, 0);
  CHECK(pop_seqs(l, 1, NULL, 0), ==, 1);
  CHECK(anyload_sim_clock_set(t - 5), ==, 0);
  CHECK(anyload_sim_clock_now(), ==, t - 5);
  CHECK(anyload_sim_clock_real(), ==, 0);
  CHECK(anyload_sim_clock_is_virtual(), ==, 0);
  CHECK(anyload_sim_clock_advance(1), ==, -EINVAL);
  CHECK(anyload_sim_link_destroy("erB"), ==, 0);
  CHECK(anyload_sim_link_destroy("erA"), ==, -ENODEV);
}

static void test_sim_link_in_flight_cleanup(void)
{
  struct anyload_sim_config cfg;
  struct sim_link* l;
  int i;

  /* Destroying a link with frames in flight (on the wire and held) frees
   * them: the sanitizer build checks that nothing leaks. */
  vclock();
  anyload_sim_config_init(&cfg);
  cfg.a_to_b.latency_ns = MS;
  cfg.a_to_b.reorder = 0.5;
  cfg.a_to_b.reorder_distance = 1000;
  cfg.a_to_b.rate_bps = 1000000000;
  cfg.b_to_a.duplicate = 1;
  cfg.b_to_a.latency_ns = MS;
  l = mklink("flA", "flB", &cfg);
  for (i = 0; i < 100; i++) {
    send1(l, 0, (uint32_t)i, 100);
    send1(l, 1, (uint32_t)i, 100);
  }
  CHECK(l->dirs[0].held.n, >, 0);
  CHECK(l->dirs[0].wire.n, >, 0);
  CHECK(l->dirs[1].wire.n, ==, 200);
  CHECK(anyload_sim_link_destroy("flA"), ==, 0);
  /* The next test may move the clock back again. */
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_sim_link_mask_each_direction),
  UNIT_TEST(test_sim_link_seed_reproduces),
  UNIT_TEST(test_sim_link_latency_virtual),
  UNIT_TEST(test_sim_link_rate_spacing),
  UNIT_TEST(test_sim_link_queue_limit),
  UNIT_TEST(test_sim_link_truncate_corrupt),
  UNIT_TEST(test_sim_link_duplicate_reorder),
  UNIT_TEST(test_sim_link_pcap),
  UNIT_TEST(test_sim_link_spec),
  UNIT_TEST(test_sim_link_errors),
  UNIT_TEST(test_sim_link_in_flight_cleanup),
};
UNIT_TEST_MAIN(tests)
