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
 * sequence comparisons are modulo 2^32.
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
                             in this recovery (RFC 6675 §2) */
  uint32_t rescue_rxt;    /* RescueRxt */
};

/* tcp_sack_reset: empty the scoreboard (recovery over, RTO, new conn). */
void tcp_sack_reset(struct tcp_sack_board* b, uint32_t snd_una);

/* tcp_sack_update: apply an ACK: drop everything below snd_una, then add
 * the n received blocks (host order) that are valid for (snd_una,
 * snd_max]. Returns the number of bytes newly SACKed (the "SACKed bytes"
 * that RFC 6675's DupAck definition and byte counting need), and sets
 * *dsack when the first block was a D-SACK (RFC 2883). */
uint32_t tcp_sack_update(struct tcp_sack_board* b, uint32_t snd_una,
                         uint32_t snd_max, const struct tcp_sack_range* blk,
                         unsigned n, int* dsack);

/* tcp_sack_is_sacked: 1 if seq lies in a SACKed range. */
int tcp_sack_is_sacked(const struct tcp_sack_board* b, uint32_t seq);

/* tcp_sack_is_lost: RFC 6675 IsLost(seq): more than (DupThresh - 1) *
 * SMSS bytes above seq are SACKed, or DupThresh discontiguous ranges. */
int tcp_sack_is_lost(const struct tcp_sack_board* b, uint32_t seq,
                     uint32_t smss);

/* tcp_sack_pipe: RFC 6675 SetPipe(): the bytes believed in flight in
 * [snd_una, snd_max), given HighRxt (b->high_rxt), segment size smss. */
uint32_t tcp_sack_pipe(const struct tcp_sack_board* b, uint32_t snd_una,
                       uint32_t snd_max, uint32_t smss);

/* tcp_sack_next_seg: RFC 6675 NextSeg(): the start of the next range to
 * send during recovery and its length (at most smss), with snd_nxt the
 * first never-sent sequence and avail the bytes of new data that may be
 * sent (send buffer and receive window). Rule 1 (lost, not SACKed, above
 * HighRxt), rule 2 (new data), rule 3 (not SACKed, above HighRxt, below
 * the highest SACKed), rule 4 (rescue retransmission, once per
 * recovery). Returns 1 and sets *seq, *len, *is_rxt; 0 when nothing may
 * be sent. The caller updates high_rxt / rescue_rxt with
 * tcp_sack_sent(). */
int tcp_sack_next_seg(const struct tcp_sack_board* b, uint32_t snd_una,
                      uint32_t snd_nxt, uint32_t snd_max, uint32_t avail,
                      uint32_t smss, uint32_t* seq, uint32_t* len,
                      int* is_rxt);

/* tcp_sack_sent: a segment [seq, seq + len) chosen by next_seg went out:
 * HighRxt (and RescueRxt for rule 4) move. */
void tcp_sack_sent(struct tcp_sack_board* b, uint32_t seq, uint32_t len,
                   int is_rxt, int rescue);

/* tcp_sack_highest: the highest SACKed sequence (right edge), or
 * snd_una when none. */
uint32_t tcp_sack_highest(const struct tcp_sack_board* b, uint32_t snd_una);

#endif /* ANYLOAD_STACK_TCP_SACK_H */
