/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/tcp_sack.c: block validation (RFC 2018) and
 * D-SACK recognition (RFC 2883 §4), merging of overlapping and adjacent
 * ranges, the bound of 32 ranges (the highest dropped), sacked_bytes and
 * the update's return value, RFC 6675 IsLost (both DupThresh rules),
 * SetPipe on hand-made scoreboards, NextSeg rules 1 to 4 in their order
 * with HighRxt and RescueRxt, and a seeded comparison with a byte-map
 * model (IsLost and SetPipe octet by octet, as the RFC words them).
 *
 * Every scenario runs twice: at a small base sequence and at a base just
 * below 2^32, so that its ranges straddle the wrap of the sequence space.
 */
#include "unit_test.h"
#include "stack/tcp_sack.h"

#include <stdint.h>
#include <string.h>

static const uint32_t bases[] = { 1000u, 0xFFFFE000u };
#define N_BASES (sizeof(bases) / sizeof(bases[0]))

/* upd: one ACK at snd_una = B + una with blocks given as offsets from B
 * (pairs left, right); returns the update's result, *dsack its flag. */
static uint32_t upd(struct tcp_sack_board* b, uint32_t B, uint32_t una,
                    uint32_t snd_max, const uint32_t* off, unsigned n,
                    int* dsack)
{
  struct tcp_sack_range blk[8];
  unsigned i;

  for (i = 0; i < n; i++) {
    blk[i].left = B + off[2 * i];
    blk[i].right = B + off[2 * i + 1];
  }
  return tcp_sack_update(b, B + una, B + snd_max, blk, n, dsack);
}

/* check_ranges: the board holds exactly the ranges off[] (offsets from
 * B), and sacked_bytes is their sum. */
#define CHECK_RANGES(b, B, ...) do {                                     \
  static const uint32_t want_[] = { __VA_ARGS__ };                       \
  unsigned i_, n_ = sizeof(want_) / sizeof(want_[0]) / 2;                \
  uint32_t sum_ = 0;                                                     \
  CHECK((b)->n, ==, n_);                                                 \
  for (i_ = 0; i_ < n_; i_++) {                                          \
    CHECK((b)->r[i_].left - (B), ==, want_[2 * i_]);                     \
    CHECK((b)->r[i_].right - (B), ==, want_[2 * i_ + 1]);                \
    sum_ += want_[2 * i_ + 1] - want_[2 * i_];                           \
  }                                                                      \
  CHECK((b)->sacked_bytes, ==, sum_);                                    \
} while (0)

static void test_tcp_sack_validation(void)
{
  unsigned bi;

  for (bi = 0; bi < N_BASES; bi++) {
    uint32_t B = bases[bi];
    struct tcp_sack_board b;
    int ds = -1;

    tcp_sack_reset(&b, B);
    CHECK(b.n, ==, 0);
    CHECK(b.high_rxt, ==, B);
    CHECK(tcp_sack_highest(&b, B), ==, B);

    /* A valid block. */
    CHECK(upd(&b, B, 0, 10000, (const uint32_t[]){ 1000, 2000 }, 1, &ds),
          ==, 1000);
    CHECK(ds, ==, 0);
    CHECK_RANGES(&b, B, 1000, 2000);
    /* A first block below SND.UNA: a D-SACK, reported and not added. */
    CHECK(upd(&b, B, 0, 10000,
              (const uint32_t[]){ -500u, 0, 3000, 3500 }, 2, &ds), ==, 500);
    CHECK(ds, ==, 1);
    CHECK_RANGES(&b, B, 1000, 2000, 3000, 3500);
    /* The same block in second place: invalid, not a D-SACK. */
    CHECK(upd(&b, B, 0, 10000,
              (const uint32_t[]){ 5000, 5100, -500u, 0 }, 2, &ds), ==, 100);
    CHECK(ds, ==, 0);
    CHECK_RANGES(&b, B, 1000, 2000, 3000, 3500, 5000, 5100);
    /* Covering SND.UNA, straddling it, beyond SND.MAX, empty, reversed:
     * all invalid, none a D-SACK. */
    CHECK(upd(&b, B, 0, 10000, (const uint32_t[]){ 0, 100 }, 1, &ds), ==, 0);
    CHECK(ds, ==, 0);
    CHECK(upd(&b, B, 0, 10000, (const uint32_t[]){ -100u, 100 }, 1, &ds),
          ==, 0);
    CHECK(ds, ==, 0);
    CHECK(upd(&b, B, 0, 10000, (const uint32_t[]){ 9500, 10500 }, 1, &ds),
          ==, 0);
    CHECK(upd(&b, B, 0, 10000, (const uint32_t[]){ 3000, 3000 }, 1, &ds),
          ==, 0);
    CHECK(upd(&b, B, 0, 10000, (const uint32_t[]){ 7000, 6000 }, 1, &ds),
          ==, 0);
    CHECK(ds, ==, 0);
    CHECK(upd(&b, B, 0, 10000, (const uint32_t[]){ -10u, -20u }, 1, &ds),
          ==, 0);
    CHECK(ds, ==, 0);
    CHECK_RANGES(&b, B, 1000, 2000, 3000, 3500, 5000, 5100);
    /* Modulo 2^32, left is above SND.UNA, right below SND.MAX and left
     * below right, yet the block spans most of the sequence space: no
     * ordering holds for it; nor for a "D-SACK" that wraps. */
    CHECK(upd(&b, B, 0, 10000,
              (const uint32_t[]){ 0x60000011u, 0xE0000000u }, 1, &ds), ==,
          0);
    CHECK(ds, ==, 0);
    CHECK(upd(&b, B, 0, 10000,
              (const uint32_t[]){ 0x60000000u, -0x30000000u }, 1, &ds), ==,
          0);
    CHECK(ds, ==, 0);
    /* Up to SND.MAX exactly is valid. */
    CHECK(upd(&b, B, 0, 10000, (const uint32_t[]){ 9500, 10000 }, 1, &ds),
          ==, 500);
    CHECK_RANGES(&b, B, 1000, 2000, 3000, 3500, 5000, 5100, 9500, 10000);
    /* D-SACK within the second block (RFC 2883 §4.2): the second block
     * is added (its new part only). */
    CHECK(upd(&b, B, 0, 10000,
              (const uint32_t[]){ 3100, 3200, 2900, 3600 }, 2, &ds), ==, 200);
    CHECK(ds, ==, 1);
    CHECK_RANGES(&b, B, 1000, 2000, 2900, 3600, 5000, 5100, 9500, 10000);
    /* Not contained in the second block: an ordinary first block. */
    CHECK(upd(&b, B, 0, 10000,
              (const uint32_t[]){ 6000, 6100, 6050, 6300 }, 2, &ds), ==, 300);
    CHECK(ds, ==, 0);
    CHECK_RANGES(&b, B, 1000, 2000, 2900, 3600, 5000, 5100, 6000, 6300,
                 9500, 10000);
    /* No blocks at all; NULL for dsack. */
    CHECK(tcp_sack_update(&b, B, B + 10000, NULL, 0, &ds), ==, 0);
    CHECK(ds, ==, 0);
    CHECK(upd(&b, B, 0, 10000, (const uint32_t[]){ -9u, -1u }, 1, NULL),
          ==, 0);
    CHECK(tcp_sack_highest(&b, B), ==, B + 10000);
  }
}

static void test_tcp_sack_merge_prune(void)
{
  unsigned bi;

  for (bi = 0; bi < N_BASES; bi++) {
    uint32_t B = bases[bi];
    struct tcp_sack_board b;

    tcp_sack_reset(&b, B);
    CHECK(upd(&b, B, 0, 20000,
              (const uint32_t[]){ 3000, 4000, 1000, 2000 }, 2, NULL), ==,
          2000);
    CHECK_RANGES(&b, B, 1000, 2000, 3000, 4000);
    /* Adjacent on both sides: one range. */
    CHECK(upd(&b, B, 0, 20000, (const uint32_t[]){ 2000, 3000 }, 1, NULL),
          ==, 1000);
    CHECK_RANGES(&b, B, 1000, 4000);
    /* Overlapping below; contained (nothing new). */
    CHECK(upd(&b, B, 0, 20000, (const uint32_t[]){ 500, 1500 }, 1, NULL),
          ==, 500);
    CHECK(upd(&b, B, 0, 20000, (const uint32_t[]){ 1500, 3500 }, 1, NULL),
          ==, 0);
    CHECK_RANGES(&b, B, 500, 4000);
    CHECK(upd(&b, B, 0, 20000,
              (const uint32_t[]){ 4500, 5000, 6000, 7000, 8000, 9000 }, 3,
              NULL), ==, 2500);
    CHECK_RANGES(&b, B, 500, 4000, 4500, 5000, 6000, 7000, 8000, 9000);
    /* One block over three ranges and the gaps between. */
    CHECK(upd(&b, B, 0, 20000, (const uint32_t[]){ 3500, 6500 }, 1, NULL),
          ==, 1500);
    CHECK_RANGES(&b, B, 500, 7000, 8000, 9000);
    CHECK(tcp_sack_is_sacked(&b, B + 500), ==, 1);
    CHECK(tcp_sack_is_sacked(&b, B + 6999), ==, 1);
    CHECK(tcp_sack_is_sacked(&b, B + 7000), ==, 0);
    CHECK(tcp_sack_is_sacked(&b, B + 499), ==, 0);
    CHECK(tcp_sack_is_sacked(&b, B + 8999), ==, 1);

    /* The cumulative ACK takes what it covers. */
    b.high_rxt = B + 300;
    CHECK(upd(&b, B, 7000, 20000, NULL, 0, NULL), ==, 0);
    CHECK_RANGES(&b, B, 8000, 9000);
    CHECK(b.high_rxt, ==, B + 7000);
    /* A range the ACK cuts (the receiver reneged): its part above. */
    CHECK(upd(&b, B, 8500, 20000, NULL, 0, NULL), ==, 0);
    CHECK_RANGES(&b, B, 8500, 9000);
    CHECK(upd(&b, B, 9000, 20000, NULL, 0, NULL), ==, 0);
    CHECK(b.n, ==, 0);
    CHECK(b.sacked_bytes, ==, 0);
    CHECK(tcp_sack_highest(&b, B + 9000), ==, B + 9000);
  }
}

/* 40 disjoint blocks of 100 bytes, in ACKs of 3: the board keeps the 32
 * lowest; a new block below them pushes out the highest; a block that
 * merges makes room. */
static void test_tcp_sack_bound(void)
{
  unsigned bi;

  for (bi = 0; bi < N_BASES; bi++) {
    uint32_t B = bases[bi], total = 0;
    struct tcp_sack_board b;
    uint32_t off[6];
    unsigned i, k;

    tcp_sack_reset(&b, B);
    for (i = 0; i < 40; i += 3) {
      unsigned n = 0;

      for (k = i; k < i + 3 && k < 40; k++, n++) {
        off[2 * n] = 1000 + 200 * k;
        off[2 * n + 1] = 1100 + 200 * k;
      }
      total += upd(&b, B, 0, 20000, off, n, NULL);
      CHECK(b.n, <=, TCP_SACK_MAX_RANGES);
    }
    CHECK(total, ==, 3200);
    CHECK(b.n, ==, 32);
    CHECK(b.sacked_bytes, ==, 3200);
    CHECK(b.r[0].left, ==, B + 1000);
    CHECK(tcp_sack_highest(&b, B), ==, B + 1100 + 200 * 31);
    /* A lower block: kept, the highest range dropped. */
    CHECK(upd(&b, B, 0, 20000, (const uint32_t[]){ 10, 20 }, 1, NULL), ==,
          10);
    CHECK(b.n, ==, 32);
    CHECK(b.sacked_bytes, ==, 3110);
    CHECK(tcp_sack_highest(&b, B), ==, B + 1100 + 200 * 30);
    /* A block that bridges two ranges: 31 ranges, then room for one. */
    CHECK(upd(&b, B, 0, 20000, (const uint32_t[]){ 1100, 1200 }, 1, NULL),
          ==, 100);
    CHECK(b.n, ==, 31);
    CHECK(upd(&b, B, 0, 20000, (const uint32_t[]){ 15000, 15001 }, 1, NULL),
          ==, 1);
    CHECK(b.n, ==, 32);
    CHECK(b.sacked_bytes, ==, 3211);
    CHECK(tcp_sack_highest(&b, B), ==, B + 15001);
  }
}

static void test_tcp_sack_is_lost(void)
{
  unsigned bi;

  for (bi = 0; bi < N_BASES; bi++) {
    uint32_t B = bases[bi];
    struct tcp_sack_board b;

    tcp_sack_reset(&b, B);
    CHECK(tcp_sack_is_lost(&b, B, 1000), ==, 0);
    /* Two ranges, 2000 bytes: neither rule ("more than" 2 SMSS). */
    upd(&b, B, 0, 20000, (const uint32_t[]){ 5000, 6000, 7000, 8000 }, 2,
        NULL);
    CHECK(tcp_sack_is_lost(&b, B + 1000, 1000), ==, 0);
    /* A third range of one byte: DupThresh ranges. */
    upd(&b, B, 0, 20000, (const uint32_t[]){ 9000, 9001 }, 1, NULL);
    CHECK(tcp_sack_is_lost(&b, B + 1000, 1000), ==, 1);
    CHECK(tcp_sack_is_lost(&b, B + 4999, 1000), ==, 1);
    CHECK(tcp_sack_is_lost(&b, B + 6000, 1000), ==, 0); /* 2 above */
    CHECK(tcp_sack_is_lost(&b, B + 9001, 1000), ==, 0);
    /* Bytes: 2001 above is more than 2 SMSS of 1000. */
    tcp_sack_reset(&b, B);
    upd(&b, B, 0, 20000, (const uint32_t[]){ 5000, 7001 }, 1, NULL);
    CHECK(tcp_sack_is_lost(&b, B + 4999, 1000), ==, 1);
    CHECK(tcp_sack_is_lost(&b, B + 4999, 1001), ==, 0);
    CHECK(tcp_sack_is_lost(&b, B + 4999, 500), ==, 1);
    tcp_sack_reset(&b, B);
    upd(&b, B, 0, 20000, (const uint32_t[]){ 5000, 7000 }, 1, NULL);
    CHECK(tcp_sack_is_lost(&b, B + 4999, 1000), ==, 0);
    /* Inside a range: the octets above seq only. [5000, 8001): above
     * 5500 are 8000 - 5500 = 2500 octets; above 6000, 2000 (not more
     * than 2 SMSS); above 5999, 2001. */
    upd(&b, B, 0, 20000, (const uint32_t[]){ 7000, 8001 }, 1, NULL);
    CHECK(tcp_sack_is_lost(&b, B + 5500, 1000), ==, 1);
    CHECK(tcp_sack_is_lost(&b, B + 6000, 1000), ==, 0);
    CHECK(tcp_sack_is_lost(&b, B + 5999, 1000), ==, 1);
  }
}

/* SetPipe by hand, SMSS 1000, SND.UNA = B, SND.MAX = B + 10000, SACKed
 * [2000, 3000) [4000, 5000) [6000, 7000). Holes: [0, 2000) has three
 * ranges above (lost), [3000, 4000) two ranges and 2000 bytes (not lost),
 * [5000, 6000) and [7000, 10000) not lost: pipe = 1000 + 1000 + 3000. */
static void test_tcp_sack_pipe(void)
{
  unsigned bi;

  for (bi = 0; bi < N_BASES; bi++) {
    uint32_t B = bases[bi];
    struct tcp_sack_board b;

    tcp_sack_reset(&b, B);
    CHECK(tcp_sack_pipe(&b, B, B + 10000, 1000), ==, 10000);
    CHECK(tcp_sack_pipe(&b, B, B, 1000), ==, 0);
    upd(&b, B, 0, 10000,
        (const uint32_t[]){ 2000, 3000, 4000, 5000, 6000, 7000 }, 3, NULL);
    tcp_sack_enter_recovery(&b, B, B + 10000);
    CHECK(tcp_sack_pipe(&b, B, B + 10000, 1000), ==, 5000);
    /* [0, 1000) retransmitted: lost, so counted once, for the copy. */
    b.high_rxt = B + 1000;
    CHECK(tcp_sack_pipe(&b, B, B + 10000, 1000), ==, 6000);
    /* Up to 3500: [0, 2000) once each, [3000, 3500) twice. */
    b.high_rxt = B + 3500;
    CHECK(tcp_sack_pipe(&b, B, B + 10000, 1000), ==, 7500);
    /* SMSS 500: 2000 bytes above [3000, 4000) are now more than 2 SMSS. */
    b.high_rxt = B;
    CHECK(tcp_sack_pipe(&b, B, B + 10000, 500), ==, 4000);
    /* Everything retransmitted, nothing SACKed: twice the flight. */
    tcp_sack_reset(&b, B);
    b.high_rxt = B + 3000;
    CHECK(tcp_sack_pipe(&b, B, B + 3000, 1000), ==, 6000);
    /* A HighRxt beyond SND.MAX counts only up to SND.MAX. */
    b.high_rxt = B + 5000;
    CHECK(tcp_sack_pipe(&b, B, B + 3000, 1000), ==, 6000);
  }
}

static void next(const struct tcp_sack_board* b, uint32_t B, uint32_t una,
                 uint32_t snd_max, uint32_t avail, uint32_t smss,
                 int want_rc, uint32_t want_seq, uint32_t want_len,
                 int want_rxt)
{
  uint32_t seq = 0xdead, len = 0xbeef;
  int rxt = -1;

  CHECK(tcp_sack_next_seg(b, B + una, B + snd_max, B + snd_max, avail,
                          smss, &seq, &len, &rxt), ==, want_rc);
  if (!want_rc)
    return;
  CHECK(seq - B, ==, want_seq);
  CHECK(len, ==, want_len);
  CHECK(rxt, ==, want_rxt);
}

/* NextSeg, SMSS 1000, the board of the pipe test: rule 1 takes the lost
 * holes in order, before new data; then rule 2 (new data) while there is
 * some; then rule 3 (holes not lost); rule 4 once the ACK has moved. */
static void test_tcp_sack_next_seg(void)
{
  unsigned bi;

  for (bi = 0; bi < N_BASES; bi++) {
    uint32_t B = bases[bi];
    struct tcp_sack_board b;

    tcp_sack_reset(&b, B);
    upd(&b, B, 0, 10000,
        (const uint32_t[]){ 2000, 3000, 4000, 5000, 6000, 7000 }, 3, NULL);
    tcp_sack_enter_recovery(&b, B, B + 10000);
    next(&b, B, 0, 10000, 5000, 1000, 1, 0, 1000, 1);
    tcp_sack_sent(&b, B, 1000, 1, 0);
    CHECK(b.high_rxt, ==, B + 1000);
    /* SMSS 1500: the hole ends at 2000. */
    next(&b, B, 0, 10000, 5000, 1500, 1, 1000, 1000, 1);
    tcp_sack_sent(&b, B + 1000, 1000, 1, 0);
    CHECK(b.high_rxt, ==, B + 2000);
    /* [3000, 4000) is not lost: new data first, as much as allowed. */
    next(&b, B, 0, 10000, 5000, 1000, 1, 10000, 1000, 0);
    next(&b, B, 0, 10000, 300, 1000, 1, 10000, 300, 0);
    tcp_sack_sent(&b, B + 10000, 300, 0, 0);
    CHECK(b.high_rxt, ==, B + 2000);
    /* No new data: rule 3. */
    next(&b, B, 0, 10000, 0, 1000, 1, 3000, 1000, 1);
    tcp_sack_sent(&b, B + 3000, 1000, 1, 0);
    next(&b, B, 0, 10000, 0, 1000, 1, 5000, 1000, 1);
    tcp_sack_sent(&b, B + 5000, 1000, 1, 0);
    CHECK(b.high_rxt, ==, B + 6000);
    /* Above the highest SACKed octet: not rule 3; no rescue before the
     * cumulative ACK moves. */
    next(&b, B, 0, 10000, 0, 1000, 0, 0, 0, 0);
    /* The retransmissions of [0, 2000) arrive: SND.UNA 3000. */
    upd(&b, B, 3000, 10000, NULL, 0, NULL);
    CHECK(b.high_rxt, ==, B + 6000);
    /* Rule 4: a segment ending at the highest octet not SACKed. */
    next(&b, B, 3000, 10000, 0, 1000, 1, 9000, 1000, 2);
    tcp_sack_sent(&b, B + 9000, 1000, 2, 1);
    CHECK(b.high_rxt, ==, B + 6000);
    CHECK(b.rescue_rxt, ==, B + 10000);
    next(&b, B, 3000, 10000, 0, 1000, 0, 0, 0, 0);
    upd(&b, B, 5000, 10000, NULL, 0, NULL);
    next(&b, B, 5000, 10000, 0, 1000, 0, 0, 0, 0);
    /* New data is still allowed after the rescue. */
    next(&b, B, 5000, 10000, 10, 1000, 1, 10000, 10, 0);

    /* The highest range ends at SND.MAX: the rescue ends below it, and
     * starts no lower than the range before it. */
    tcp_sack_reset(&b, B);
    upd(&b, B, 0, 10000, (const uint32_t[]){ 2000, 3000, 8000, 10000 }, 2,
        NULL);
    tcp_sack_enter_recovery(&b, B, B + 10000);
    b.high_rxt = B + 8000; /* all of it retransmitted already */
    upd(&b, B, 1000, 10000, NULL, 0, NULL);
    next(&b, B, 1000, 10000, 0, 1000, 1, 7000, 1000, 2);
    next(&b, B, 1000, 10000, 0, 8000, 1, 3000, 5000, 2);
    /* is_rxt 2 alone marks the rescue as well. */
    tcp_sack_sent(&b, B + 7000, 1000, 2, 0);
    CHECK(b.rescue_rxt, ==, B + 10000);
    CHECK(b.high_rxt, ==, B + 8000);
    next(&b, B, 1000, 10000, 0, 1000, 0, 0, 0, 0);

    /* Nothing SACKed: neither rule 1 nor 3 (1.b); new data, or the
     * rescue of the tail. */
    tcp_sack_reset(&b, B);
    tcp_sack_enter_recovery(&b, B, B + 4000);
    next(&b, B, 0, 4000, 0, 1000, 0, 0, 0, 0);
    next(&b, B, 0, 4000, 2000, 1000, 1, 4000, 1000, 0);
    upd(&b, B, 1000, 4000, NULL, 0, NULL);
    next(&b, B, 1000, 4000, 0, 1000, 1, 3000, 1000, 2);
    /* SMSS 0: nothing. */
    next(&b, B, 1000, 4000, 2000, 0, 0, 0, 0, 0);
  }
}

/* ---- a seeded comparison with a byte map ---------------------------- */

#define WIN 2048u

struct model {
  uint8_t sacked[WIN]; /* offset from una */
};

static uint32_t lcg(uint64_t* s)
{
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

/* brute_is_lost: RFC 6675 IsLost, octet by octet. */
static int brute_is_lost(const struct model* m, uint32_t off, uint32_t flight,
                         uint32_t smss)
{
  uint32_t bytes = 0, ranges = 0, o;

  for (o = off + 1; o < flight; o++)
    if (m->sacked[o]) {
      bytes++;
      if (o == off + 1 || !m->sacked[o - 1])
        ranges++;
    }
  return ranges >= TCP_DUPTHRESH || bytes > (TCP_DUPTHRESH - 1) * smss;
}

/* brute_pipe: RFC 6675 SetPipe, octet by octet; IsLost's counts of the
 * SACKed octets and runs above each octet are kept while walking down. */
static uint32_t brute_pipe(const struct model* m, uint32_t flight,
                           uint32_t high_rxt_off, uint32_t smss)
{
  uint32_t pipe = 0, bytes = 0, ranges = 0, o = flight;

  while (o-- > 0) {
    if (m->sacked[o]) {
      bytes++;
      if (o == flight - 1 || !m->sacked[o + 1])
        ranges++;
      continue;
    }
    if (!(ranges >= TCP_DUPTHRESH || bytes > (TCP_DUPTHRESH - 1) * smss))
      pipe++;
    if (o < high_rxt_off)
      pipe++;
  }
  return pipe;
}

static int valid(const struct tcp_sack_range* r, uint32_t una,
                 uint32_t snd_max)
{
  uint32_t l = r->left - una, rt = r->right - una;

  return l > 0 && l < rt && rt <= snd_max - una;
}

static void test_tcp_sack_model(void)
{
  unsigned bi;

  for (bi = 0; bi < N_BASES; bi++) {
    uint64_t seed = 42 + bi;
    uint32_t una = bases[bi], snd_max = una + WIN / 2;
    struct tcp_sack_board b;
    struct model m;
    int round;

    memset(&m, 0, sizeof(m));
    tcp_sack_reset(&b, una);
    tcp_sack_enter_recovery(&b, una, snd_max);
    for (round = 0; round < 3000; round++) {
      struct tcp_sack_range blk[4];
      uint32_t adv = 0, smss = 50 + lcg(&seed) % 300, flight, o, sum = 0;
      unsigned n = lcg(&seed) % 5, i;
      uint32_t got;

      if (lcg(&seed) % 4 == 0) /* the cumulative ACK moves */
        adv = lcg(&seed) % (snd_max - una + 1) / 4;
      for (i = 0; i < n; i++) {
        uint32_t l = lcg(&seed) % (WIN / 2 + 64);
        uint32_t w = lcg(&seed) % (round % 3 ? 30 : 200);

        blk[i].left = una + l - 32;
        blk[i].right = blk[i].left + w - 8;
      }
      /* The model: shift out what the ACK covers, then apply. */
      memmove(m.sacked, m.sacked + adv, WIN - adv);
      memset(m.sacked + WIN - adv, 0, adv);
      una += adv;
      for (i = 0; i < n; i++) {
        if (!valid(&blk[i], una, snd_max))
          continue;
        if (i == 0 && n >= 2 && valid(&blk[1], una, snd_max) &&
            tcp_seq_ge(blk[0].left, blk[1].left) &&
            tcp_seq_le(blk[0].right, blk[1].right))
          continue; /* a D-SACK; the second block has it all */
        for (o = blk[i].left - una; o < blk[i].right - una; o++)
          if (!m.sacked[o]) {
            m.sacked[o] = 1;
            sum++;
          }
      }
      got = tcp_sack_update(&b, una, snd_max, blk, n, NULL);
      CHECK(b.n, <, TCP_SACK_MAX_RANGES); /* never full in this window */
      CHECK(got, ==, sum);
      flight = snd_max - una;
      sum = 0;
      for (o = 0; o < flight; o++) {
        CHECK(tcp_sack_is_sacked(&b, una + o), ==, m.sacked[o]);
        sum += m.sacked[o];
      }
      CHECK(b.sacked_bytes, ==, sum);
      for (i = 0; i < 4; i++) {
        o = lcg(&seed) % (flight + 1);
        if (o < flight && !m.sacked[o])
          CHECK(tcp_sack_is_lost(&b, una + o, smss), ==,
                brute_is_lost(&m, o, flight, smss));
      }
      b.high_rxt = una + lcg(&seed) % (flight + 1);
      CHECK(tcp_sack_pipe(&b, una, snd_max, smss), ==,
            brute_pipe(&m, flight, b.high_rxt - una, smss));
      /* New data now and then, within the window of the model. */
      if (snd_max - una < WIN - 300)
        snd_max += lcg(&seed) % 300;
    }
  }
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_sack_validation),
  UNIT_TEST(test_tcp_sack_merge_prune),
  UNIT_TEST(test_tcp_sack_bound),
  UNIT_TEST(test_tcp_sack_is_lost),
  UNIT_TEST(test_tcp_sack_pipe),
  UNIT_TEST(test_tcp_sack_next_seg),
  UNIT_TEST(test_tcp_sack_model),
};

UNIT_TEST_MAIN(tests)
