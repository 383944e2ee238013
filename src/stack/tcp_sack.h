/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_sack.h: the sender's SACK scoreboard and the loss recovery
 * algorithm of RFC 6675 (IsLost, SetPipe, NextSeg), as pure functions on
 * sequence numbers, unit tested apart from the connection code.
 *
 * The scoreboard holds the SACKed ranges above SND.UNA as a sorted,
 * merged list of at most TCP_SACK_MAX_RANGES ranges (a bounded memory
 * whatever the peer sends: when full, the range with the highest
 * sequence is dropped, which only makes the sender more conservative).
 * Blocks the peer reports are validated (RFC 2018, RFC 2883): a block
 * must lie within (SND.UNA, SND.MAX], have left < right, and not cover
 * SND.UNA (a D-SACK below SND.UNA is recognised and ignored). All
 * sequence comparisons are modulo 2^32, and the window SND.MAX - SND.UNA
 * is taken to be below 2^31; a block is checked as offsets from SND.UNA
 * (three comparisons modulo 2^32 would let through a block that spans
 * most of the space).
 *
 * Sequence conventions: RFC 6675 names octets (HighRxt is the highest
 * octet retransmitted); here every "high" mark is one past, like SND.NXT
 * (high_rxt = HighRxt + 1), and a range is [left, right).
 *
 * Recovery, in the connection code's order: tcp_sack_update on each ACK;
 * on entering recovery tcp_sack_enter_recovery; then while pipe (from
 * tcp_sack_pipe) leaves room in cwnd, tcp_sack_next_seg and, once the
 * segment is sent, tcp_sack_sent; tcp_sack_reset after an RTO.
 */
#ifndef ANYLOAD_STACK_TCP_SACK_H
#define ANYLOAD_STACK_TCP_SACK_H

#include <stdint.h>

#define TCP_SACK_MAX_RANGES 32
#define TCP_DUPTHRESH 3

/* Sequence comparisons modulo 2^32 (RFC 9293 §3.4). */
static inline int tcp_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int tcp_seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline int tcp_seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int tcp_seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

struct tcp_sack_range {
  uint32_t left;          /* first sequence SACKed */
  uint32_t right;         /* one past the last */
};

struct tcp_sack_board {
  struct tcp_sack_range r[TCP_SACK_MAX_RANGES]; /* sorted, disjoint,
                                                   not adjacent */
  unsigned n;
  uint32_t sacked_bytes;  /* sum of the ranges */
  uint32_t high_rxt;      /* HighRxt: highest sequence retransmitted
                             in this recovery (RFC 6675 §2), one past it;
                             never below SND.UNA after an update */
  uint32_t rescue_rxt;    /* RescueRxt: no rescue retransmission (NextSeg
                             rule 4) until SND.UNA is above it */
  uint32_t recovery_point;/* RecoveryPoint (added): SND.MAX when the
                             recovery began; a rescue sets rescue_rxt
                             to it (at least to its own end) */
};

/* tcp_sack_reset: empty the scoreboard (recovery over, RTO, new conn);
 * high_rxt, rescue_rxt and recovery_point become snd_una. */
void tcp_sack_reset(struct tcp_sack_board* b, uint32_t snd_una);

/* tcp_sack_enter_recovery (added): loss recovery starts (RFC 6675 §5
 * step 4) with the scoreboard as it is: RecoveryPoint = snd_max, nothing
 * retransmitted yet (high_rxt = snd_una), and no rescue retransmission
 * before the cumulative ACK has moved past snd_una (rescue_rxt =
 * snd_una; RFC 6675 (4.3) uses the end of the first retransmission,
 * which starts at snd_una: the ACK that covers part of it covers it all
 * in practice). */
void tcp_sack_enter_recovery(struct tcp_sack_board* b, uint32_t snd_una,
                             uint32_t snd_max);

/* tcp_sack_update: apply an ACK: drop everything below snd_una (a range
 * that straddles it keeps its part above: a receiver that reneged, RFC
 * 2018 §8, is left to the RTO), raise high_rxt to snd_una if below, then
 * add the n received blocks (host order; blk may be NULL when n is 0)
 * that are valid for (snd_una, snd_max], merging overlapping and adjacent
 * ranges. The first block is a D-SACK (RFC 2883 §4) when it has left <
 * right <= snd_una (within 2^31 below it), or lies within a valid second
 * block; it is then not added, and *dsack (may be NULL) is set to 1,
 * else to 0. Invalid blocks are skipped. When a block would make a 33rd
 * range, the highest range is dropped (the block itself if it is the
 * highest). Returns the number of bytes newly SACKed and kept on the
 * board (the "SACKed bytes" that RFC 6675's DupAck definition and byte
 * counting need). */
uint32_t tcp_sack_update(struct tcp_sack_board* b, uint32_t snd_una,
                         uint32_t snd_max, const struct tcp_sack_range* blk,
                         unsigned n, int* dsack);

/* tcp_sack_is_sacked: 1 if seq lies in a SACKed range. */
int tcp_sack_is_sacked(const struct tcp_sack_board* b, uint32_t seq);

/* tcp_sack_is_lost: RFC 6675 IsLost(seq): more than (DupThresh - 1) *
 * SMSS bytes above seq are SACKed, or DupThresh discontiguous ranges
 * hold SACKed bytes above seq. */
int tcp_sack_is_lost(const struct tcp_sack_board* b, uint32_t seq,
                     uint32_t smss);

/* tcp_sack_pipe: RFC 6675 SetPipe(): the bytes believed in flight in
 * [snd_una, snd_max), given HighRxt (b->high_rxt), segment size smss:
 * every octet neither SACKed nor IsLost counts once, and every octet
 * not SACKed below high_rxt once more (its retransmission), so pipe
 * may exceed snd_max - snd_una (at most twice it), as the RFC has it. */
uint32_t tcp_sack_pipe(const struct tcp_sack_board* b, uint32_t snd_una,
                       uint32_t snd_max, uint32_t smss);

/* tcp_sack_next_seg: RFC 6675 NextSeg(): the start of the next range to
 * send during recovery and its length (at most smss), with snd_nxt the
 * first never-sent sequence and avail the bytes of new data that may be
 * sent (send buffer and receive window). Rule 1 (lost, not SACKed, above
 * HighRxt), rule 2 (new data), rule 3 (not SACKed, above HighRxt, below
 * the highest SACKed), rule 4 (rescue retransmission, once per
 * recovery: a segment ending at the highest unSACKed octet, when SND.UNA
 * is above rescue_rxt). Retransmissions (rules 1, 3, 4) stop at the next
 * SACKed range. Returns 1 and sets *seq, *len, *is_rxt: 0 for new data
 * (rule 2), 1 for a retransmission by rule 1 or 3, 2 for the rescue
 * retransmission of rule 4; returns 0 when nothing may be sent (smss 0
 * included). The caller updates high_rxt / rescue_rxt with
 * tcp_sack_sent(). */
int tcp_sack_next_seg(const struct tcp_sack_board* b, uint32_t snd_una,
                      uint32_t snd_nxt, uint32_t snd_max, uint32_t avail,
                      uint32_t smss, uint32_t* seq, uint32_t* len,
                      int* is_rxt);

/* tcp_sack_sent: a segment [seq, seq + len) chosen by next_seg went out:
 * HighRxt moves for rules 1 and 3 (is_rxt 1), RescueRxt (and not HighRxt)
 * for rule 4 (rescue set, or is_rxt 2: either says so); new data (is_rxt
 * 0) moves nothing. */
void tcp_sack_sent(struct tcp_sack_board* b, uint32_t seq, uint32_t len,
                   int is_rxt, int rescue);

/* tcp_sack_highest: the highest SACKed sequence (right edge), or
 * snd_una when none. */
uint32_t tcp_sack_highest(const struct tcp_sack_board* b, uint32_t snd_una);

#endif /* ANYLOAD_STACK_TCP_SACK_H */
