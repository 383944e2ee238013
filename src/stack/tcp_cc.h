/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_cc.h: TCP congestion control and the retransmission timer's
 * estimator, as pure state machines on numbers (no packets, no clock of
 * their own, no I/O), so that they are unit tested against the RFCs'
 * formulas. The connection code (tcp_*.c) calls them at the events the
 * RFCs name.
 *
 *   Reno:  slow start and congestion avoidance (RFC 5681 §3.1, with
 *          byte counting, RFC 3465: every byte acked counts in the first
 *          slow start as in Linux's tcp_slow_start, L = 2 * SMSS in a
 *          slow start after a loss), the loss
 *          reaction of RFC 5681 §3.2 / RFC 6582 (ssthresh = max(FlightSize
 *          / 2, 2 * SMSS)), the loss window after an RTO (1 SMSS), the
 *          restart window after an idle period (RFC 5681 §4.1).
 *   CUBIC: RFC 9438: W_cubic(t) = C (t - K)^3 + W_max with C = 0.4
 *          (windows in segments, t and K in seconds; evaluated in bytes
 *          as C * SMSS) and beta_cubic = 0.7, target = W_cubic(t + RTT)
 *          within [cwnd, 1.5 cwnd], the Reno-friendly region (§4.3), fast
 *          convergence (§4.7), slow start below ssthresh as Reno, the
 *          RTO reaction of §4.8.
 *   RTT:   RFC 6298: SRTT/RTTVAR with alpha 1/8 and beta 1/4, RTO = SRTT
 *          + max(G, 4 RTTVAR), bounded to [min_rto, 120 s] (min_rto is
 *          200 ms by default, Linux's, rather than the RFC's 1 s), 1 s
 *          before the first sample, exponential backoff (§5.5) capped at
 *          120 s, and the backoff undone by a new sample.
 *
 * Units: windows and MSS in bytes; times in nanoseconds on the stack's
 * clock (`now`), RTTs in microseconds.
 */
#ifndef ANYLOAD_STACK_TCP_CC_H
#define ANYLOAD_STACK_TCP_CC_H

#include <stdint.h>

enum tcp_cc_algo { TCP_CC_RENO = 0, TCP_CC_CUBIC = 1, TCP_CC_N };

/* tcp_cc_by_name: the algorithm called name ("reno", "cubic"), or -1.
 * tcp_cc_name: the name of algo, or NULL. */
int tcp_cc_by_name(const char* name);
const char* tcp_cc_name(int algo);

struct tcp_cc {
  uint8_t  algo;          /* enum tcp_cc_algo */
  uint8_t  in_recovery;   /* between a loss reaction and its end */
  uint32_t mss;           /* SMSS */
  uint32_t cwnd;
  uint32_t ssthresh;      /* UINT32_MAX until the first loss */
  uint32_t bytes_acked;   /* congestion avoidance byte counter */
  /* CUBIC (RFC 9438 §4). */
  uint32_t w_max;         /* W_max, bytes: the plateau of the curve and
                             what fast convergence (§4.7) compares the
                             next loss against; 0 after an RTO: the next
                             epoch starts at K = 0, W_max = cwnd (§4.8) */
  uint32_t w_last_max;    /* cwnd_prior (§4.6), bytes: cwnd just before
                             the last reduction; the Reno-friendly
                             alpha_cubic becomes 1 once W_est reaches it
                             (§4.3) */
  uint32_t w_est;         /* Reno-friendly estimate, bytes */
  double   k_s;           /* K, seconds (to the millisecond); negative
                             when the epoch starts above W_max (§4.2) */
  int64_t  epoch_start;   /* ns; 0: no epoch (restart at the next ACK) */
  uint32_t cwnd_epoch;    /* cwnd at the start of the epoch */
  uint32_t w_est_acked;   /* bytes acked toward W_est's next SMSS step
                             (added: W_est grows by fractions of a byte
                             per ACK at large windows) */
};

/* tcp_cc_init: algo, SMSS, and the initial window of RFC 6928
 * (min(10 * SMSS, max(2 * SMSS, 14600))); ssthresh "arbitrarily high".
 * An unknown algo is taken as Reno, an SMSS of 0 as 1. */
void tcp_cc_init(struct tcp_cc* cc, int algo, uint32_t mss);

/* tcp_cc_set_mss: the SMSS changed (PMTU): cwnd is kept in segments
 * (as are ssthresh, W_max, cwnd_prior and W_est: each is rescaled by
 * new / old SMSS), at least 1 SMSS; CUBIC's epoch restarts. 0 is
 * ignored. */
void tcp_cc_set_mss(struct tcp_cc* cc, uint32_t mss);

/* tcp_cc_on_ack: an ACK advanced SND.UNA by acked bytes (> 0) outside
 * recovery, at now, with the smoothed RTT srtt_us (0: none yet).
 * cwnd_limited: the sender had filled cwnd (or nearly: the flight before
 * the ACK was at least cwnd - SMSS); cwnd only grows when it was (RFC
 * 7661's idea; Linux's tcp_is_cwnd_limited). An ACK that was not
 * cwnd-limited also ends CUBIC's epoch, so that the next one starts a new
 * epoch from the current cwnd and the application-limited time is not
 * counted in t (RFC 9438 §5.8). Slow start adds min(acked, 2 SMSS) up to
 * ssthresh, the rest of the ACK counts for congestion avoidance. Called in
 * recovery (in_recovery 1), it changes nothing. */
void tcp_cc_on_ack(struct tcp_cc* cc, uint32_t acked, int cwnd_limited,
                   int64_t now, uint32_t srtt_us);

/* tcp_cc_on_loss: fast retransmit / SACK loss detection entered recovery
 * with flight_size bytes outstanding: ssthresh and cwnd set per the
 * algorithm (Reno: ssthresh = max(flight / 2, 2 SMSS), cwnd = ssthresh;
 * CUBIC: ssthresh = max(0.7 flight, 2 SMSS), cwnd = ssthresh, cwnd_prior
 * = the cwnd before, W_max = that cwnd, or 0.85 of it when it is below
 * the previous W_max (fast convergence), per §4.6/§4.7). in_recovery
 * becomes 1; CUBIC's epoch ends. */
void tcp_cc_on_loss(struct tcp_cc* cc, uint32_t flight_size, int64_t now);

/* tcp_cc_on_recovery_end: the recovery point was acknowledged (RFC 6582
 * full ACK): cwnd = ssthresh (deflation), in_recovery 0. */
void tcp_cc_on_recovery_end(struct tcp_cc* cc, int64_t now);

/* tcp_cc_on_rto: the retransmission timer expired with flight_size bytes
 * outstanding: ssthresh as for a loss (only on the first expiry of a
 * series: pass first = 0 for the backoffs), cwnd = 1 SMSS (the loss
 * window), in_recovery 0, CUBIC's epoch reset. */
void tcp_cc_on_rto(struct tcp_cc* cc, uint32_t flight_size, int first,
                   int64_t now);

/* tcp_cc_on_idle: the connection sent nothing for idle_ns, longer than
 * one RTO: cwnd = min(cwnd, restart window = initial window) (RFC 5681
 * §4.1); CUBIC's epoch restarts. */
void tcp_cc_on_idle(struct tcp_cc* cc, int64_t now);

/* ---- RTT and RTO (RFC 6298) ---------------------------------------- */

#define TCP_RTO_INITIAL_US 1000000u
#define TCP_RTO_MIN_US      200000u
#define TCP_RTO_MAX_US   120000000u

struct tcp_rtt {
  uint32_t srtt_us;       /* 0: no sample yet */
  uint32_t rttvar_us;
  uint32_t rto_us;        /* the current RTO, backoff included */
  uint32_t min_rto_us;
  uint8_t  backoff;       /* doublings applied since the last sample */
  uint32_t min_rtt_us;    /* the smallest sample seen (TCP_INFO) */
};

/* tcp_rtt_init: no sample, RTO 1 s (or min_rto_us if that is larger);
 * min_rto_us 0 means TCP_RTO_MIN_US, and more than TCP_RTO_MAX_US is
 * taken as TCP_RTO_MAX_US. min_rtt_us is 0 until the first sample. */
void tcp_rtt_init(struct tcp_rtt* r, uint32_t min_rto_us);

/* tcp_rtt_sample: a new measurement (RFC 6298 §2.2/2.3, Karn's rule is
 * the caller's: no samples from retransmitted segments unless by
 * timestamps); rtt_us 0 counts as 1. SRTT and RTTVAR are whole
 * microseconds, truncated; the clock granularity G is 1 us. Clears the
 * backoff. */
void tcp_rtt_sample(struct tcp_rtt* r, uint32_t rtt_us);

/* tcp_rtt_backoff: double the RTO (RFC 6298 §5.5), at most
 * TCP_RTO_MAX_US; backoff counts the doublings (saturating at 255). */
void tcp_rtt_backoff(struct tcp_rtt* r);

#endif /* ANYLOAD_STACK_TCP_CC_H */
