/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_cc.c: TCP congestion control (Reno with appropriate byte
 * counting, CUBIC) and the RFC 6298 RTT/RTO estimator, as pure state
 * machines on numbers: no clock, no packets, no I/O (tcp_cc.h has the
 * contract; tests/unit/stack/test_tcp_cc.c checks it against numbers
 * worked out by hand from the RFCs).
 *
 * Layer: stack. The connection code calls tcp_cc_on_ack for each ACK that
 * advances SND.UNA outside recovery, tcp_cc_on_loss when it enters fast
 * recovery, tcp_cc_on_recovery_end at the full ACK, tcp_cc_on_rto at each
 * expiry of the retransmission timer and tcp_cc_on_idle before sending
 * after an idle period; tcp_rtt_sample for each valid RTT measurement and
 * tcp_rtt_backoff at each expiry.
 *
 * Arithmetic: windows are 32-bit byte counts, every product is taken in
 * 64 bits and every result saturates at UINT32_MAX. CUBIC's curve is
 * evaluated in double precision (C = 0.4 segments/s^3, converted to bytes
 * with the SMSS); K comes from an integer cube root in milliseconds, so
 * libm is not needed.
 */
#include "stack/tcp_cc.h"

#include <stddef.h>
#include <string.h>

/* CUBIC's constants (RFC 9438 §4.6, §4.2, §4.3), as fractions where the
 * arithmetic is integer. alpha_cubic = 3 (1 - beta) / (1 + beta) =
 * 0.9 / 1.7 = 9 / 17. */
#define CUBIC_BETA_NUM   7u
#define CUBIC_BETA_DEN  10u
#define CUBIC_C          0.4
#define CUBIC_ALPHA_NUM  9u
#define CUBIC_ALPHA_DEN 17u

static const char* const cc_names[TCP_CC_N] = {
  [TCP_CC_RENO] = "reno",
  [TCP_CC_CUBIC] = "cubic",
};

int tcp_cc_by_name(const char* name)
{
  int i;

  if (!name)
    return -1;
  for (i = 0; i < TCP_CC_N; i++)
    if (strcmp(name, cc_names[i]) == 0)
      return i;
  return -1;
}

const char* tcp_cc_name(int algo)
{
  if (algo < 0 || algo >= TCP_CC_N)
    return NULL;
  return cc_names[algo];
}

static uint32_t sat32(uint64_t v)
{
  return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static uint32_t max32(uint32_t a, uint32_t b)
{
  return a > b ? a : b;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
  return a < b ? a : b;
}

/* initial_window: RFC 6928 §2, min(10 SMSS, max(2 SMSS, 14600)). */
static uint32_t initial_window(uint32_t mss)
{
  uint64_t iw = (uint64_t)mss * 10;
  uint64_t floor = (uint64_t)mss * 2 > 14600 ? (uint64_t)mss * 2 : 14600;

  return sat32(iw < floor ? iw : floor);
}

/* icbrt64: floor of the cube root of x, one result bit per step (the
 * schoolbook digit-by-digit method in base 2). At step s, y holds the top
 * bits of the root and x what remains of the radicand once y^3 (shifted)
 * is taken out; (2y + 1)^3 - (2y)^3 = 3 (2y)(2y + 1) + 1 decides the next
 * bit. The comparison is made on x >> s so that nothing overflows. */
static uint64_t icbrt64(uint64_t x)
{
  uint64_t y = 0;
  int s;

  for (s = 63; s >= 0; s -= 3) {
    uint64_t b;

    y <<= 1;
    b = 3 * y * (y + 1) + 1;
    if ((x >> s) >= b) {
      x -= b << s;
      y++;
    }
  }
  return y;
}

/* cubic_k_s: K of RFC 9438 §4.2, K = cbrt((W_max - cwnd_epoch) / C) in
 * seconds with the windows in segments; in milliseconds and bytes,
 * K_ms^3 = (W_max - cwnd_epoch) / (C * SMSS) * 10^9 = delta * 2.5e9 /
 * SMSS, which fits 64 bits for any 32-bit delta. Negative when cwnd_epoch
 * is above W_max (the curve is then in its convex part from the start). */
static double cubic_k_s(uint32_t w_max, uint32_t cwnd_epoch, uint32_t mss)
{
  uint32_t delta = w_max >= cwnd_epoch ? w_max - cwnd_epoch
                                       : cwnd_epoch - w_max;
  uint64_t k_ms = icbrt64((uint64_t)delta * 2500000000ull / mss);

  return (w_max >= cwnd_epoch ? 1.0 : -1.0) * (double)k_ms / 1000.0;
}

/* cubic_w: W_cubic(t) = C (t - K)^3 + W_max of RFC 9438 §4.2 in bytes
 * (C scaled by the SMSS), clamped to [0, UINT32_MAX] before conversion so
 * that a long epoch never overflows. */
static uint32_t cubic_w(const struct tcp_cc* cc, double t_s)
{
  double d = t_s - cc->k_s;
  double w = CUBIC_C * (double)cc->mss * d * d * d + (double)cc->w_max;

  if (w <= 0.0)
    return 0;
  if (w >= (double)UINT32_MAX)
    return UINT32_MAX;
  return (uint32_t)w;
}

void tcp_cc_init(struct tcp_cc* cc, int algo, uint32_t mss)
{
  memset(cc, 0, sizeof(*cc));
  cc->algo = algo == TCP_CC_CUBIC ? TCP_CC_CUBIC : TCP_CC_RENO;
  cc->mss = mss ? mss : 1;
  cc->cwnd = initial_window(cc->mss);
  cc->ssthresh = UINT32_MAX;
}

void tcp_cc_set_mss(struct tcp_cc* cc, uint32_t mss)
{
  uint32_t old = cc->mss;

  if (mss == 0 || mss == old)
    return;
#define RESCALE(v) ((v) = sat32((uint64_t)(v) * mss / old))
  RESCALE(cc->cwnd);
  if (cc->ssthresh != UINT32_MAX)
    RESCALE(cc->ssthresh);
  RESCALE(cc->w_max);
  RESCALE(cc->w_last_max);
  RESCALE(cc->w_est);
#undef RESCALE
  cc->mss = mss;
  if (cc->cwnd < mss)
    cc->cwnd = mss;
  cc->bytes_acked = 0;
  /* K depends on the SMSS: the curve starts again from the current cwnd
   * (which, rescaled, is at the same place on it). */
  cc->epoch_start = 0;
}

/* reno_ca: RFC 5681 §3.1 congestion avoidance with byte counting (RFC
 * 3465 §2.1): one SMSS per cwnd bytes acknowledged. */
static void reno_ca(struct tcp_cc* cc, uint32_t acked)
{
  cc->bytes_acked = sat32((uint64_t)cc->bytes_acked + acked);
  while (cc->bytes_acked >= cc->cwnd && cc->cwnd < UINT32_MAX) {
    cc->bytes_acked -= cc->cwnd;
    cc->cwnd = sat32((uint64_t)cc->cwnd + cc->mss);
  }
}

/* cubic_epoch_start: RFC 9438 §4.2: the congestion avoidance stage starts
 * now with cwnd_epoch = cwnd; after an RTO (w_max 0) K = 0 and W_max =
 * cwnd (§4.8); W_est starts at cwnd (§4.3). */
static void cubic_epoch_start(struct tcp_cc* cc, int64_t now)
{
  /* 0 means "no epoch": a clock that reads 0 starts it at 1 ns. */
  cc->epoch_start = now > 0 ? now : 1;
  cc->cwnd_epoch = cc->cwnd;
  cc->bytes_acked = 0;
  cc->w_est = cc->cwnd;
  cc->w_est_acked = 0;
  if (cc->w_max == 0) {
    cc->w_max = cc->cwnd;
    cc->k_s = 0.0;
  } else {
    cc->k_s = cubic_k_s(cc->w_max, cc->cwnd, cc->mss);
  }
}

/* add_steps: w + steps SMSS, saturating (steps * SMSS may not fit 64
 * bits when both are near 2^32). */
static uint32_t add_steps(uint32_t w, uint64_t steps, uint32_t mss)
{
  if (steps > UINT32_MAX / mss)
    return UINT32_MAX;
  return sat32(w + steps * mss);
}

/* cubic_w_est_grow: the Reno-friendly estimate (§4.3): W_est +=
 * alpha_cubic * acked / cwnd segments, in whole SMSS steps: one step per
 * cwnd / alpha_cubic bytes acknowledged (w_est_acked counts them), with
 * alpha_cubic = 9/17 below cwnd_prior and 1 from there on. The steps are
 * counted by division, not one by one, so that no SMSS makes it slow. */
static void cubic_w_est_grow(struct tcp_cc* cc)
{
  uint64_t need, steps, room;

  if (cc->w_est < cc->w_last_max) {
    need = (uint64_t)cc->cwnd * CUBIC_ALPHA_DEN / CUBIC_ALPHA_NUM;
    room = ((uint64_t)cc->w_last_max - cc->w_est + cc->mss - 1) / cc->mss;
    steps = cc->w_est_acked / need;
    if (steps > room)
      steps = room;
    cc->w_est_acked -= (uint32_t)(steps * need);
    cc->w_est = add_steps(cc->w_est, steps, cc->mss);
    if (cc->w_est < cc->w_last_max)
      return;
  }
  steps = cc->w_est_acked / cc->cwnd;
  cc->w_est_acked -= (uint32_t)(steps * cc->cwnd);
  cc->w_est = add_steps(cc->w_est, steps, cc->mss);
}

/* cubic_ca: RFC 9438 §4.3-§4.5 for one ACK of acked bytes. */
static void cubic_ca(struct tcp_cc* cc, uint32_t acked, int64_t now,
                     uint32_t srtt_us)
{
  uint64_t need, steps, room;
  uint32_t target, w_t, w_t_rtt, cap;
  double t_s;

  if (cc->epoch_start == 0)
    cubic_epoch_start(cc, now);
  t_s = now > cc->epoch_start ? (double)(now - cc->epoch_start) / 1e9 : 0.0;

  cc->w_est_acked = sat32((uint64_t)cc->w_est_acked + acked);
  cubic_w_est_grow(cc);

  w_t = cubic_w(cc, t_s);
  if (w_t < cc->w_est) {
    /* Reno-friendly region: cwnd = W_est (never lower); the count
     * toward the curve's next step starts again. */
    if (cc->w_est > cc->cwnd)
      cc->cwnd = cc->w_est;
    cc->bytes_acked = 0;
    return;
  }

  /* Concave and convex regions (§4.4, §4.5): target = W_cubic(t + RTT)
   * within [cwnd, 1.5 cwnd]; cwnd grows by (target - cwnd) / cwnd
   * segments per segment acknowledged, that is one SMSS per
   * cwnd * SMSS / (target - cwnd) bytes acknowledged. */
  w_t_rtt = cubic_w(cc, t_s + (double)srtt_us / 1e6);
  cap = sat32((uint64_t)cc->cwnd + cc->cwnd / 2);
  target = w_t_rtt < cc->cwnd ? cc->cwnd : min32(w_t_rtt, cap);
  if (target <= cc->cwnd) {
    cc->bytes_acked = 0;
    return;
  }
  need = (uint64_t)cc->cwnd * cc->mss / (target - cc->cwnd);
  if (need == 0)
    need = 1;
  cc->bytes_acked = sat32((uint64_t)cc->bytes_acked + acked);
  steps = cc->bytes_acked / need;
  room = ((uint64_t)target - cc->cwnd + cc->mss - 1) / cc->mss;
  if (steps > room)
    steps = room;
  cc->bytes_acked -= (uint32_t)(steps * need);
  cc->cwnd = min32(sat32(cc->cwnd + steps * cc->mss), target);
}

void tcp_cc_on_ack(struct tcp_cc* cc, uint32_t acked, int cwnd_limited,
                   int64_t now, uint32_t srtt_us)
{
  if (cc->in_recovery || acked == 0)
    return;
  if (!cwnd_limited) {
    /* RFC 7661's idea, RFC 9438 §5.8: no growth while the application
     * limits the sender, and for CUBIC that time must not count in t:
     * the next cwnd-limited ACK starts a new epoch from the current cwnd
     * (with K recomputed, that is the same curve shifted in time). */
    cc->epoch_start = 0;
    return;
  }
  if (cc->cwnd < cc->ssthresh) {
    /* Slow start with byte counting (RFC 3465), up to ssthresh; what is
     * left of the ACK counts for congestion avoidance. The first slow
     * start (no loss yet: ssthresh "arbitrarily high") counts every byte
     * acknowledged, as Linux's tcp_slow_start: with L = 2 SMSS, stretch
     * ACKs (a GRO receiver's; ours, one per receive batch) grew cwnd by a
     * fraction of a window per round trip instead of doubling it (32 MiB
     * over a 10 ms path took 0.79 s instead of 0.2). After a loss, L = 2
     * SMSS (RFC 3465 §2.2): a cumulative ACK after a retransmission can
     * cover a whole window the receiver already held, and counting all of
     * it sends a burst into the path that just dropped (at 5% loss, nine
     * times the retransmissions and RTOs backing off for ever). */
    uint32_t inc = cc->ssthresh == UINT32_MAX
                       ? acked : min32(acked, sat32((uint64_t)2 * cc->mss));
    uint32_t room = cc->ssthresh - cc->cwnd;

    if (inc < room) {
      cc->cwnd += inc;
      return;
    }
    cc->cwnd = cc->ssthresh;
    acked -= room;
    if (acked == 0)
      return;
  }
  if (cc->algo == TCP_CC_CUBIC)
    cubic_ca(cc, acked, now, srtt_us);
  else
    reno_ca(cc, acked);
}

/* loss_ssthresh: the ssthresh of a congestion event: RFC 5681 eq. (4)
 * (RFC 6582 §3.2 step 2) for Reno, RFC 9438 §4.6 for CUBIC, at least
 * 2 SMSS. Also sets CUBIC's W_max with fast convergence (§4.7) and
 * cwnd_prior. */
static void loss_ssthresh(struct tcp_cc* cc, uint32_t flight_size)
{
  uint32_t ss;

  if (cc->algo == TCP_CC_CUBIC) {
    ss = sat32((uint64_t)flight_size * CUBIC_BETA_NUM / CUBIC_BETA_DEN);
    cc->w_last_max = cc->cwnd;
    if (cc->cwnd < cc->w_max)
      cc->w_max = sat32((uint64_t)cc->cwnd * (CUBIC_BETA_DEN + CUBIC_BETA_NUM)
                        / (2 * CUBIC_BETA_DEN));
    else
      cc->w_max = cc->cwnd;
  } else {
    ss = flight_size / 2;
  }
  cc->ssthresh = max32(ss, sat32((uint64_t)2 * cc->mss));
}

void tcp_cc_on_loss(struct tcp_cc* cc, uint32_t flight_size, int64_t now)
{
  (void)now;
  loss_ssthresh(cc, flight_size);
  cc->cwnd = cc->ssthresh;
  cc->bytes_acked = 0;
  cc->epoch_start = 0;
  cc->in_recovery = 1;
}

void tcp_cc_on_recovery_end(struct tcp_cc* cc, int64_t now)
{
  (void)now;
  cc->cwnd = cc->ssthresh;
  cc->bytes_acked = 0;
  cc->epoch_start = 0;
  cc->in_recovery = 0;
}

void tcp_cc_on_rto(struct tcp_cc* cc, uint32_t flight_size, int first,
                   int64_t now)
{
  (void)now;
  if (first) {
    loss_ssthresh(cc, flight_size);
    /* RFC 9438 §4.8: the first congestion avoidance stage after a
     * timeout starts with K = 0 and W_max = cwnd at its start. */
    cc->w_max = 0;
  }
  cc->cwnd = cc->mss;
  cc->bytes_acked = 0;
  cc->epoch_start = 0;
  cc->in_recovery = 0;
}

void tcp_cc_on_idle(struct tcp_cc* cc, int64_t now)
{
  (void)now;
  cc->cwnd = min32(cc->cwnd, initial_window(cc->mss));
  cc->bytes_acked = 0;
  cc->epoch_start = 0;
}

/* ---- RTT and RTO (RFC 6298) ---------------------------------------- */

/* rto_from: RFC 6298 §2.3 with G = 1 us (the unit of the estimator),
 * within [min_rto, TCP_RTO_MAX_US] (§2.4, §2.5). */
static uint32_t rto_from(const struct tcp_rtt* r)
{
  uint64_t var4 = (uint64_t)r->rttvar_us * 4;
  uint64_t rto = (uint64_t)r->srtt_us + (var4 > 1 ? var4 : 1);

  if (rto < r->min_rto_us)
    rto = r->min_rto_us;
  if (rto > TCP_RTO_MAX_US)
    rto = TCP_RTO_MAX_US;
  return (uint32_t)rto;
}

void tcp_rtt_init(struct tcp_rtt* r, uint32_t min_rto_us)
{
  memset(r, 0, sizeof(*r));
  r->min_rto_us = min_rto_us ? min32(min_rto_us, TCP_RTO_MAX_US)
                             : TCP_RTO_MIN_US;
  r->rto_us = max32(TCP_RTO_INITIAL_US, r->min_rto_us);
}

void tcp_rtt_sample(struct tcp_rtt* r, uint32_t rtt_us)
{
  if (rtt_us == 0)
    rtt_us = 1;
  if (r->min_rtt_us == 0 || rtt_us < r->min_rtt_us)
    r->min_rtt_us = rtt_us;
  if (r->srtt_us == 0) {
    /* §2.2: the first measurement. */
    r->srtt_us = rtt_us;
    r->rttvar_us = rtt_us / 2;
  } else {
    /* §2.3: RTTVAR first (with the old SRTT), beta = 1/4, alpha = 1/8,
     * in whole microseconds (truncated). */
    uint32_t dev = r->srtt_us > rtt_us ? r->srtt_us - rtt_us
                                       : rtt_us - r->srtt_us;

    r->rttvar_us = (uint32_t)(((uint64_t)r->rttvar_us * 3 + dev) / 4);
    r->srtt_us = (uint32_t)(((uint64_t)r->srtt_us * 7 + rtt_us) / 8);
  }
  r->backoff = 0;
  r->rto_us = rto_from(r);
}

void tcp_rtt_backoff(struct tcp_rtt* r)
{
  r->rto_us = min32(sat32((uint64_t)r->rto_us * 2), TCP_RTO_MAX_US);
  if (r->backoff < UINT8_MAX)
    r->backoff++;
}
