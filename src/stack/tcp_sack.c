/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_sack.c: the sender's SACK scoreboard and RFC 6675's loss
 * recovery functions (IsLost, SetPipe, NextSeg), pure functions on
 * sequence numbers (tcp_sack.h has the contract; the unit tests and the
 * tcp_sack fuzz target check it).
 *
 * Layer: stack. The scoreboard is a sorted array of at most
 * TCP_SACK_MAX_RANGES disjoint, non-adjacent ranges above SND.UNA, so
 * every operation is a walk over at most 32 entries, whatever the peer
 * sends. IsLost is monotone in the sequence number (fewer SACKed bytes
 * and ranges lie above a higher one), and it is constant over each hole
 * between two ranges: SetPipe and NextSeg work hole by hole rather than
 * octet by octet, with the same result.
 */
#include "stack/tcp_sack.h"

#include <stddef.h>
#include <string.h>

void tcp_sack_reset(struct tcp_sack_board* b, uint32_t snd_una)
{
  memset(b, 0, sizeof(*b));
  b->high_rxt = snd_una;
  b->rescue_rxt = snd_una;
  b->recovery_point = snd_una;
}

void tcp_sack_enter_recovery(struct tcp_sack_board* b, uint32_t snd_una,
                             uint32_t snd_max)
{
  b->high_rxt = snd_una;
  b->rescue_rxt = snd_una;
  b->recovery_point = snd_max;
}

static void remove_ranges(struct tcp_sack_board* b, unsigned i, unsigned k)
{
  memmove(&b->r[i], &b->r[i + k], (b->n - i - k) * sizeof(b->r[0]));
  b->n -= k;
}

/* prune_below: forget what the cumulative ACK covers. */
static void prune_below(struct tcp_sack_board* b, uint32_t una)
{
  unsigned k = 0;

  while (k < b->n && tcp_seq_le(b->r[k].right, una)) {
    b->sacked_bytes -= b->r[k].right - b->r[k].left;
    k++;
  }
  if (k)
    remove_ranges(b, 0, k);
  if (b->n && tcp_seq_lt(b->r[0].left, una)) {
    b->sacked_bytes -= una - b->r[0].left;
    b->r[0].left = una;
  }
}

/* block_valid: 0 < left - una < right - una <= snd_max - una, as offsets
 * from SND.UNA: three comparisons modulo 2^32 would not do, since they
 * are not transitive (a block can be "above" SND.UNA, "below" SND.MAX and
 * have left "below" right while spanning most of the sequence space). */
static int block_valid(const struct tcp_sack_range* blk, uint32_t una,
                       uint32_t snd_max)
{
  uint32_t l = blk->left - una, r = blk->right - una;

  return l > 0 && l < r && r <= snd_max - una;
}

/* is_dsack: RFC 2883 §4: the first block reports a duplicate when it is
 * below the cumulative ACK (left < right <= una, as distances below
 * SND.UNA of less than 2^31), or when a valid second block contains it. */
static int is_dsack(const struct tcp_sack_range* blk, unsigned n,
                    uint32_t una, uint32_t snd_max)
{
  uint32_t dl = una - blk[0].left, dr = una - blk[0].right;

  if (dl <= INT32_MAX && dr < dl)
    return 1;
  return n >= 2 && block_valid(&blk[1], una, snd_max) &&
         block_valid(&blk[0], una, snd_max) &&
         blk[0].left - una >= blk[1].left - una &&
         blk[0].right - una <= blk[1].right - una;
}

/* insert: add [left, right) (valid, so above every pruned range's
 * SND.UNA) to the sorted list; returns the bytes it added. */
static uint32_t insert(struct tcp_sack_board* b, uint32_t left,
                       uint32_t right)
{
  unsigned i = 0, j, k;
  uint32_t old = 0, nl, nr, added;

  /* Ranges [i, j) overlap or touch the block; those before i end below
   * it with a gap. */
  while (i < b->n && tcp_seq_lt(b->r[i].right, left))
    i++;
  j = i;
  while (j < b->n && tcp_seq_le(b->r[j].left, right))
    j++;

  if (j == i) {
    if (b->n == TCP_SACK_MAX_RANGES) {
      /* Full: the highest range goes, which is only conservative (those
       * bytes count as not SACKed, so as in flight or lost). */
      if (i == b->n)
        return 0;
      b->sacked_bytes -= b->r[b->n - 1].right - b->r[b->n - 1].left;
      b->n--;
    }
    memmove(&b->r[i + 1], &b->r[i], (b->n - i) * sizeof(b->r[0]));
    b->r[i].left = left;
    b->r[i].right = right;
    b->n++;
    b->sacked_bytes += right - left;
    return right - left;
  }

  for (k = i; k < j; k++)
    old += b->r[k].right - b->r[k].left;
  nl = tcp_seq_lt(b->r[i].left, left) ? b->r[i].left : left;
  nr = tcp_seq_gt(b->r[j - 1].right, right) ? b->r[j - 1].right : right;
  b->r[i].left = nl;
  b->r[i].right = nr;
  if (j - i > 1)
    remove_ranges(b, i + 1, j - i - 1);
  added = (nr - nl) - old;
  b->sacked_bytes += added;
  return added;
}

uint32_t tcp_sack_update(struct tcp_sack_board* b, uint32_t snd_una,
                         uint32_t snd_max, const struct tcp_sack_range* blk,
                         unsigned n, int* dsack)
{
  uint32_t added = 0;
  unsigned i = 0;

  if (dsack)
    *dsack = 0;
  prune_below(b, snd_una);
  if (tcp_seq_lt(b->high_rxt, snd_una))
    b->high_rxt = snd_una;
  if (!blk || n == 0)
    return 0;
  if (is_dsack(blk, n, snd_una, snd_max)) {
    if (dsack)
      *dsack = 1;
    i = 1;
  }
  for (; i < n; i++)
    if (block_valid(&blk[i], snd_una, snd_max))
      added += insert(b, blk[i].left, blk[i].right);
  return added;
}

int tcp_sack_is_sacked(const struct tcp_sack_board* b, uint32_t seq)
{
  unsigned k;

  for (k = 0; k < b->n; k++)
    if (tcp_seq_ge(seq, b->r[k].left) && tcp_seq_lt(seq, b->r[k].right))
      return 1;
  return 0;
}

/* lost_by: the IsLost rule on what lies above: ranges and bytes. */
static int lost_by(unsigned ranges, uint64_t bytes, uint32_t smss)
{
  return ranges >= TCP_DUPTHRESH ||
         bytes > (uint64_t)(TCP_DUPTHRESH - 1) * smss;
}

int tcp_sack_is_lost(const struct tcp_sack_board* b, uint32_t seq,
                     uint32_t smss)
{
  uint64_t bytes = 0;
  unsigned k = b->n, ranges = 0;

  while (k-- > 0) {
    const struct tcp_sack_range* r = &b->r[k];

    /* No octet of r above seq: none of the ranges below either. */
    if (!tcp_seq_gt(r->right - 1, seq))
      break;
    bytes += tcp_seq_gt(r->left, seq) ? r->right - r->left
                                      : r->right - seq - 1;
    ranges++;
  }
  return lost_by(ranges, bytes, smss);
}

uint32_t tcp_sack_pipe(const struct tcp_sack_board* b, uint32_t snd_una,
                       uint32_t snd_max, uint32_t smss)
{
  uint32_t high_rxt = b->high_rxt;
  uint64_t pipe = 0, above = 0;
  unsigned k = b->n + 1;

  if (!tcp_seq_lt(snd_una, snd_max))
    return 0;
  if (tcp_seq_gt(high_rxt, snd_max))
    high_rxt = snd_max;
  /* Hole k lies below range k (k = n: above the last range), and has
   * the n - k ranges from k up above it. */
  while (k-- > 0) {
    uint32_t start = k ? b->r[k - 1].right : snd_una;
    uint32_t end = k < b->n ? b->r[k].left : snd_max;

    if (tcp_seq_lt(start, snd_una))
      start = snd_una;
    if (tcp_seq_gt(end, snd_max))
      end = snd_max;
    if (tcp_seq_lt(start, end)) {
      if (!lost_by(b->n - k, above, smss))
        pipe += end - start;
      if (tcp_seq_lt(start, high_rxt))
        pipe += (tcp_seq_lt(end, high_rxt) ? end : high_rxt) - start;
    }
    if (k)
      above += b->r[k - 1].right - b->r[k - 1].left;
  }
  return pipe > UINT32_MAX ? UINT32_MAX : (uint32_t)pipe;
}

/* hole_end: the end of the unSACKed run that starts at seq (not SACKed):
 * the next range's left edge, or limit. */
static uint32_t hole_end(const struct tcp_sack_board* b, uint32_t seq,
                         uint32_t limit)
{
  unsigned k;

  for (k = 0; k < b->n; k++)
    if (tcp_seq_gt(b->r[k].left, seq))
      return tcp_seq_lt(b->r[k].left, limit) ? b->r[k].left : limit;
  return limit;
}

static uint32_t seg_len(uint32_t from, uint32_t to, uint32_t smss)
{
  return to - from < smss ? to - from : smss;
}

int tcp_sack_next_seg(const struct tcp_sack_board* b, uint32_t snd_una,
                      uint32_t snd_nxt, uint32_t snd_max, uint32_t avail,
                      uint32_t smss, uint32_t* seq, uint32_t* len,
                      int* is_rxt)
{
  int have_s3 = 0;
  uint32_t s2 = 0, s2_len = 0;
  unsigned k;

  if (smss == 0)
    return 0;

  /* Rules 1 and 3 look at the same octet: the first one not SACKed at or
   * above HighRxt (1.a) and below the highest SACKed octet (1.b); if it
   * is not lost, no higher one is (IsLost is monotone). */
  if (b->n) {
    uint32_t top = b->r[b->n - 1].left;

    s2 = tcp_seq_gt(b->high_rxt, snd_una) ? b->high_rxt : snd_una;
    for (k = 0; k < b->n; k++)
      if (tcp_seq_ge(s2, b->r[k].left) && tcp_seq_lt(s2, b->r[k].right)) {
        s2 = b->r[k].right; /* ranges are not adjacent: s2 is a hole */
        break;
      }
    if (tcp_seq_lt(s2, top)) {
      s2_len = seg_len(s2, hole_end(b, s2, top), smss);
      if (tcp_sack_is_lost(b, s2, smss)) {
        *seq = s2;
        *len = s2_len;
        *is_rxt = 1;
        return 1;
      }
      have_s3 = 1;
    }
  }

  /* Rule 2: new data. */
  if (avail > 0) {
    *seq = snd_nxt;
    *len = avail < smss ? avail : smss;
    *is_rxt = 0;
    return 1;
  }

  /* Rule 3. */
  if (have_s3) {
    *seq = s2;
    *len = s2_len;
    *is_rxt = 1;
    return 1;
  }

  /* Rule 4: one rescue retransmission per recovery, a segment that ends
   * with the highest octet outstanding and not SACKed. */
  if (tcp_seq_gt(snd_una, b->rescue_rxt)) {
    uint32_t end = snd_max, start = snd_una;

    if (b->n && b->r[b->n - 1].right == snd_max) {
      end = b->r[b->n - 1].left;
      if (b->n >= 2)
        start = b->r[b->n - 2].right;
    } else if (b->n) {
      start = b->r[b->n - 1].right;
    }
    if (tcp_seq_lt(start, snd_una))
      start = snd_una;
    if (tcp_seq_lt(start, end)) {
      *len = seg_len(start, end, smss);
      *seq = end - *len;
      *is_rxt = 2;
      return 1;
    }
  }
  return 0;
}

void tcp_sack_sent(struct tcp_sack_board* b, uint32_t seq, uint32_t len,
                   int is_rxt, int rescue)
{
  uint32_t end = seq + len;

  if (rescue || is_rxt == 2) {
    /* RFC 6675 NextSeg rule 4: RescueRxt = RecoveryPoint, HighRxt
     * untouched. */
    b->rescue_rxt = tcp_seq_gt(b->recovery_point, end) ? b->recovery_point
                                                       : end;
    return;
  }
  if (is_rxt && tcp_seq_gt(end, b->high_rxt))
    b->high_rxt = end;
}

uint32_t tcp_sack_highest(const struct tcp_sack_board* b, uint32_t snd_una)
{
  return b->n ? b->r[b->n - 1].right : snd_una;
}
