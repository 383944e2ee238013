/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/tcp_sack.c: libFuzzer target for the SACK scoreboard and RFC
 * 6675's recovery functions (stack/tcp_sack.h). Arbitrary bytes become a
 * sequence of sender events (new data sent, ACKs carrying arbitrary SACK
 * blocks, entering recovery, NextSeg + sent, resets, IsLost queries), and
 * after each one the target checks the scoreboard against a byte map of
 * the window:
 *   - at most 32 ranges, each non-empty, sorted, disjoint and not
 *     adjacent, within [SND.UNA, SND.MAX]; sacked_bytes is their sum;
 *     high_rxt is never below SND.UNA;
 *   - the board holds exactly the union of the valid blocks received
 *     (minus what the cumulative ACK took), and the update returns the
 *     octets newly added; when a call may have hit the 32-range bound,
 *     the board only has to be a subset of that union, which then
 *     becomes the reference;
 *   - the D-SACK flag follows RFC 2883 §4's two cases;
 *   - IsLost, SetPipe and NextSeg equal the RFC's octet-by-octet
 *     definitions evaluated on the byte map (so pipe <= 2 * flight).
 *
 * Input: 4 bytes initial SND.UNA (little-endian: any point of the
 * sequence space, so runs cross 2^32), 1 byte SMSS / 8 (SMSS = 1 + 8 v),
 * then events, each an opcode byte and its operands (see run_event).
 * The window (SND.MAX - SND.UNA) stays below WIN bytes.
 * Built by `make fuzz`; its corpus is replayed by the unit suite.
 */
#include "stack/tcp_sack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#define WIN 4096u

struct cursor {
  const uint8_t* p;
  size_t left;
};

struct state {
  struct tcp_sack_board b;
  uint32_t una, snd_max, smss;
  uint8_t ref[WIN];   /* the reference: SACKed octets, offset from una */
  uint8_t board[WIN]; /* the board's ranges as a byte map */
};

static void fail(const char* what)
{
  fprintf(stderr, "tcp_sack fuzz: %s\n", what);
  abort();
}

static uint32_t get(struct cursor* c, unsigned bytes)
{
  uint32_t v = 0;
  unsigned i;

  for (i = 0; i < bytes && c->left; i++, c->left--)
    v |= (uint32_t)*c->p++ << (8 * i);
  return v;
}

/* valid: a block inside (una, snd_max], as offsets from una. */
static int valid(const struct tcp_sack_range* r, uint32_t una,
                 uint32_t snd_max)
{
  uint32_t l = r->left - una, rt = r->right - una;

  return l > 0 && l < rt && rt <= snd_max - una;
}

/* contained: block a lies within block b, both valid. */
static int contained(const struct tcp_sack_range* a,
                     const struct tcp_sack_range* b, uint32_t una)
{
  return a->left - una >= b->left - una && a->right - una <= b->right - una;
}

/* check_board: the structural invariants; fills s->board. */
static void check_board(struct state* s)
{
  const struct tcp_sack_board* b = &s->b;
  uint32_t flight = s->snd_max - s->una, sum = 0, o;
  unsigned i;

  if (b->n > TCP_SACK_MAX_RANGES)
    fail("more than 32 ranges");
  memset(s->board, 0, sizeof(s->board));
  for (i = 0; i < b->n; i++) {
    const struct tcp_sack_range* r = &b->r[i];

    if (!tcp_seq_lt(r->left, r->right))
      fail("empty or reversed range");
    if (tcp_seq_lt(r->left, s->una) || tcp_seq_gt(r->right, s->snd_max))
      fail("range outside [una, snd_max]");
    if (i > 0 && !tcp_seq_lt(b->r[i - 1].right, r->left))
      fail("ranges unsorted, overlapping or adjacent");
    sum += r->right - r->left;
    for (o = r->left - s->una; o < r->right - s->una; o++)
      s->board[o] = 1;
  }
  if (sum != b->sacked_bytes)
    fail("sacked_bytes is not the sum of the ranges");
  if (tcp_seq_lt(b->high_rxt, s->una))
    fail("high_rxt below snd_una");
  /* is_sacked at the edges of every range (inside and out). */
  for (i = 0; i < b->n; i++) {
    uint32_t edge[4] = { b->r[i].left - 1, b->r[i].left, b->r[i].right - 1,
                         b->r[i].right };
    unsigned k;

    for (k = 0; k < 4; k++) {
      o = edge[k] - s->una;
      if (o < flight && s->board[o] != tcp_sack_is_sacked(b, edge[k]))
        fail("is_sacked disagrees with the ranges");
    }
  }
}

static int brute_is_lost(const uint8_t* m, uint32_t off, uint32_t flight,
                         uint32_t smss)
{
  uint32_t bytes = 0, ranges = 0, o;

  for (o = off + 1; o < flight; o++)
    if (m[o]) {
      bytes++;
      if (o == off + 1 || !m[o - 1])
        ranges++;
    }
  return ranges >= TCP_DUPTHRESH ||
         bytes > (uint64_t)(TCP_DUPTHRESH - 1) * smss;
}

/* brute_pipe: SetPipe octet by octet, IsLost's counts kept walking down. */
static uint32_t brute_pipe(const struct state* s)
{
  uint32_t flight = s->snd_max - s->una, o = flight;
  uint32_t hr = s->b.high_rxt - s->una;
  uint32_t pipe = 0, bytes = 0, ranges = 0;

  while (o-- > 0) {
    if (s->board[o]) {
      bytes++;
      if (o == flight - 1 || !s->board[o + 1])
        ranges++;
      continue;
    }
    if (!(ranges >= TCP_DUPTHRESH ||
          bytes > (uint64_t)(TCP_DUPTHRESH - 1) * s->smss))
      pipe++;
    if (o < hr)
      pipe++;
  }
  return pipe;
}

/* brute_next_seg: NextSeg's rules on the byte map. */
static int brute_next_seg(const struct state* s, uint32_t avail,
                          uint32_t* seq, uint32_t* len, int* is_rxt)
{
  const uint8_t* m = s->board;
  uint32_t flight = s->snd_max - s->una, smss = s->smss, o, e;
  uint32_t hr = s->b.high_rxt - s->una;
  int64_t hi = -1, s2 = -1;

  for (o = 0; o < flight; o++)
    if (m[o])
      hi = o;
  for (o = hr; (int64_t)o < hi; o++)
    if (!m[o]) {
      s2 = o;
      break;
    }
  if (s2 >= 0 && brute_is_lost(m, (uint32_t)s2, flight, smss)) {
    for (e = (uint32_t)s2; e < flight && !m[e] && e - s2 < smss; e++)
      ;
    *seq = s->una + (uint32_t)s2;
    *len = e - (uint32_t)s2;
    *is_rxt = 1;
    return 1;
  }
  if (avail) {
    *seq = s->snd_max;
    *len = avail < smss ? avail : smss;
    *is_rxt = 0;
    return 1;
  }
  if (s2 >= 0) {
    for (e = (uint32_t)s2; e < flight && !m[e] && e - s2 < smss; e++)
      ;
    *seq = s->una + (uint32_t)s2;
    *len = e - (uint32_t)s2;
    *is_rxt = 1;
    return 1;
  }
  if (tcp_seq_gt(s->una, s->b.rescue_rxt)) {
    o = flight;
    while (o > 0 && m[o - 1])
      o--;
    if (o > 0) { /* o - 1: the highest octet not SACKed */
      e = o;
      while (o > 0 && !m[o - 1] && e - (o - 1) <= smss)
        o--;
      *seq = s->una + o;
      *len = e - o;
      *is_rxt = 2;
      return 1;
    }
  }
  return 0;
}

static void check_all(struct state* s)
{
  uint32_t flight = s->snd_max - s->una;

  check_board(s);
  if (memcmp(s->board, s->ref, flight) != 0)
    fail("the board differs from the blocks received");
  if (tcp_sack_pipe(&s->b, s->una, s->snd_max, s->smss) != brute_pipe(s))
    fail("pipe differs from SetPipe octet by octet");
}

/* ev_ack: the cumulative ACK moves by adv (within the flight), with up to
 * 4 blocks: either near the window (offsets from SND.UNA - 64, widths
 * that may be empty or reversed) or raw 32-bit edges. */
static void ev_ack(struct state* s, struct cursor* c)
{
  struct tcp_sack_range blk[4];
  uint32_t adv = get(c, 2), hdr = get(c, 1), flight, o, added, got;
  unsigned n = hdr % 5, i, n_before = s->b.n;
  int dsack = -1, want_dsack;

  flight = s->snd_max - s->una;
  adv %= flight + 1;
  memmove(s->ref, s->ref + adv, WIN - adv);
  memset(s->ref + WIN - adv, 0, adv);
  s->una += adv;
  for (i = 0; i < n; i++) {
    if (hdr & 0x80) {
      blk[i].left = get(c, 4);
      blk[i].right = get(c, 4);
    } else {
      blk[i].left = s->una - 64 + get(c, 2) % (WIN + 128);
      blk[i].right = blk[i].left + get(c, 2) % 2048 - 64;
    }
  }
  /* RFC 2883 §4: below the cumulative ACK (left < right <= una within
   * 2^31 below it), or within a valid second block. */
  want_dsack = n > 0 &&
               ((s->una - blk[0].left <= INT32_MAX &&
                 s->una - blk[0].right < s->una - blk[0].left) ||
                (n >= 2 && valid(&blk[0], s->una, s->snd_max) &&
                 valid(&blk[1], s->una, s->snd_max) &&
                 contained(&blk[0], &blk[1], s->una)));
  added = 0;
  for (i = 0; i < n; i++)
    if (valid(&blk[i], s->una, s->snd_max))
      for (o = blk[i].left - s->una; o < blk[i].right - s->una; o++)
        if (!s->ref[o]) {
          s->ref[o] = 1;
          added++;
        }
  got = tcp_sack_update(&s->b, s->una, s->snd_max, blk, n, &dsack);
  if (dsack != want_dsack)
    fail("wrong D-SACK flag");
  if (n_before + n >= TCP_SACK_MAX_RANGES) {
    /* The bound may have dropped ranges: the board must be a part of
     * what was received, and becomes the reference. */
    check_board(s);
    for (o = 0; o < s->snd_max - s->una; o++)
      if (s->board[o] && !s->ref[o])
        fail("the board holds octets never SACKed");
    if (got > added)
      fail("more bytes newly SACKed than received");
    memcpy(s->ref, s->board, sizeof(s->ref));
  } else if (got != added) {
    fail("wrong count of bytes newly SACKed");
  }
}

/* ev_next: NextSeg with avail new bytes allowed, compared with the rules
 * on the byte map; the segment is then sent. */
static void ev_next(struct state* s, struct cursor* c)
{
  uint32_t avail = get(c, 1) * 16, seq = 0, len = 0, bseq = 0, blen = 0;
  int rxt = -1, brxt = -1, rc, brc;

  if (s->snd_max - s->una + avail > WIN - 1)
    avail = 0;
  check_board(s);
  rc = tcp_sack_next_seg(&s->b, s->una, s->snd_max, s->snd_max, avail,
                         s->smss, &seq, &len, &rxt);
  brc = brute_next_seg(s, avail, &bseq, &blen, &brxt);
  if (rc != brc)
    fail("NextSeg finds a segment where the rules find none, or not");
  if (!rc)
    return;
  if (seq != bseq || len != blen || rxt != brxt)
    fail("NextSeg differs from the rules");
  if (len == 0 || len > s->smss)
    fail("segment length outside [1, smss]");
  tcp_sack_sent(&s->b, seq, len, rxt, rxt == 2);
  if (rxt == 0)
    s->snd_max += len;
}

static void run_event(struct state* s, struct cursor* c)
{
  uint32_t v;

  switch (get(c, 1) % 6) {
  case 0: /* new data sent */
    v = get(c, 2) % 1024;
    if (s->snd_max - s->una + v < WIN)
      s->snd_max += v;
    break;
  case 1:
    ev_ack(s, c);
    break;
  case 2:
    tcp_sack_enter_recovery(&s->b, s->una, s->snd_max);
    break;
  case 3:
    ev_next(s, c);
    break;
  case 4: /* an RTO */
    tcp_sack_reset(&s->b, s->una);
    memset(s->ref, 0, sizeof(s->ref));
    break;
  default: /* IsLost of an octet not SACKed */
    check_board(s);
    v = get(c, 2) % WIN;
    if (v < s->snd_max - s->una && !s->board[v] &&
        tcp_sack_is_lost(&s->b, s->una + v, s->smss) !=
            brute_is_lost(s->board, v, s->snd_max - s->una, s->smss))
      fail("IsLost differs from its definition");
    break;
  }
  check_all(s);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  static struct state s;
  struct cursor c = { data, size };

  memset(&s, 0, sizeof(s));
  s.una = get(&c, 4);
  s.snd_max = s.una;
  s.smss = 1 + 8 * get(&c, 1);
  tcp_sack_reset(&s.b, s.una);
  while (c.left)
    run_event(&s, &c);
  return 0;
}
