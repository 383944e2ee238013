/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/tcp_cc.c against numbers worked out by hand from
 * the RFCs' formulas (each test says where its numbers come from):
 * RFC 6928's initial window; slow start with byte counting (RFC 3465):
 * every byte acked counts in the first one (Linux's tcp_slow_start), L =
 * 2 SMSS in one after a loss; congestion avoidance, one SMSS per cwnd bytes acked
 * (RFC 5681 §3.1); the Reno loss and RTO reactions (RFC 5681 §3.2, §3.1,
 * RFC 6582); the restart window (§4.1); CUBIC (RFC 9438): K, the window
 * after a loss, W_cubic(K) = W_max, concave then convex growth, the
 * Reno-friendly region, fast convergence, the epoch reset on RTO and
 * idle; no growth when not cwnd-limited; and the RFC 6298 estimator.
 *
 * Time is a number passed in (ns); "RTTs" are simulated by spreading one
 * window's worth of ACKs evenly over the RTT. K is computed to the
 * millisecond (floored), so each check of K allows [K - 1 ms, K].
 */
#include "unit_test.h"
#include "stack/tcp_cc.h"

#include <stdint.h>

#define MS 1000000ll /* ns */

static void test_tcp_cc_names(void)
{
  CHECK(tcp_cc_by_name("reno"), ==, TCP_CC_RENO);
  CHECK(tcp_cc_by_name("cubic"), ==, TCP_CC_CUBIC);
  CHECK(tcp_cc_by_name("bbr"), ==, -1);
  CHECK(tcp_cc_by_name("Reno"), ==, -1);
  CHECK(tcp_cc_by_name(NULL), ==, -1);
  CHECK_STR(tcp_cc_name(TCP_CC_RENO), ==, "reno");
  CHECK_STR(tcp_cc_name(TCP_CC_CUBIC), ==, "cubic");
  CHECK_PTR(tcp_cc_name(TCP_CC_N), ==, NULL);
  CHECK_PTR(tcp_cc_name(-1), ==, NULL);
}

/* RFC 6928 §2: IW = min(10 MSS, max(2 MSS, 14600)). */
static void test_tcp_cc_initial_window(void)
{
  static const struct {
    uint32_t mss, iw;
  } cases[] = {
    { 536, 5360 },     /* 10 MSS */
    { 1448, 14480 },   /* 10 MSS */
    { 1460, 14600 },   /* both */
    { 4000, 14600 },   /* 14600 */
    { 8960, 17920 },   /* 2 MSS */
    { 65495, 130990 }, /* 2 MSS (loopback) */
  };
  struct tcp_cc cc;
  unsigned i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    tcp_cc_init(&cc, TCP_CC_RENO, cases[i].mss);
    CHECK(cc.cwnd, ==, cases[i].iw);
    CHECK(cc.mss, ==, cases[i].mss);
    CHECK(cc.ssthresh, ==, UINT32_MAX);
    CHECK(cc.in_recovery, ==, 0);
    tcp_cc_init(&cc, TCP_CC_CUBIC, cases[i].mss);
    CHECK(cc.algo, ==, TCP_CC_CUBIC);
    CHECK(cc.cwnd, ==, cases[i].iw);
  }
  tcp_cc_init(&cc, 7, 1000); /* unknown: Reno */
  CHECK(cc.algo, ==, TCP_CC_RENO);
  tcp_cc_init(&cc, TCP_CC_RENO, 0); /* no division by zero later */
  CHECK(cc.mss, ==, 1);
  CHECK(cc.cwnd, ==, 10);
}

/* RFC 3465 byte counting. The first slow start has no limit L (Linux's
 * tcp_slow_start): cwnd += acked per ACK, so stretch ACKs double cwnd per
 * round trip as ACKs of one segment do. After a loss (ssthresh set), L =
 * 2 SMSS: cwnd += min(acked, 2 SMSS). */
static void test_tcp_cc_slow_start_abc(void)
{
  struct tcp_cc cc;
  int i;

  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  CHECK(cc.cwnd, ==, 10000);
  tcp_cc_on_ack(&cc, 1000, 1, 1 * MS, 0);
  CHECK(cc.cwnd, ==, 11000);
  tcp_cc_on_ack(&cc, 500, 1, 2 * MS, 0);
  CHECK(cc.cwnd, ==, 11500);
  tcp_cc_on_ack(&cc, 3000, 1, 3 * MS, 0); /* stretch ACK: all of it */
  CHECK(cc.cwnd, ==, 14500);
  tcp_cc_on_ack(&cc, 60000, 1, 4 * MS, 0);
  CHECK(cc.cwnd, ==, 74500);

  /* A round of delayed ACKs (one per 2 segments) doubles cwnd. */
  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  for (i = 0; i < 5; i++)
    tcp_cc_on_ack(&cc, 2000, 1, 10 * MS, 0);
  CHECK(cc.cwnd, ==, 20000);
  /* ACKs of 4 segments each (a window of 20 in five): doubles too. */
  for (i = 0; i < 5; i++)
    tcp_cc_on_ack(&cc, 4000, 1, 20 * MS, 0);
  CHECK(cc.cwnd, ==, 40000);
  CHECK(cc.bytes_acked, ==, 0);

  /* After a loss: L = 2 SMSS per ACK. */
  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  cc.ssthresh = 100000;
  tcp_cc_on_ack(&cc, 1000, 1, 1 * MS, 0);
  CHECK(cc.cwnd, ==, 11000);
  tcp_cc_on_ack(&cc, 3000, 1, 2 * MS, 0); /* stretch ACK: 2 SMSS */
  CHECK(cc.cwnd, ==, 13000);
  tcp_cc_on_ack(&cc, 60000, 1, 3 * MS, 0);
  CHECK(cc.cwnd, ==, 15000);
  for (i = 0; i < 5; i++)
    tcp_cc_on_ack(&cc, 4000, 1, 20 * MS, 0);
  CHECK(cc.cwnd, ==, 25000);

  /* Up to ssthresh; the rest of the ACK counts for avoidance. */
  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  cc.ssthresh = 12500;
  tcp_cc_on_ack(&cc, 2000, 1, 1 * MS, 0);
  CHECK(cc.cwnd, ==, 12000);
  tcp_cc_on_ack(&cc, 2000, 1, 2 * MS, 0);
  CHECK(cc.cwnd, ==, 12500);
  CHECK(cc.bytes_acked, ==, 1500);
}

/* RFC 5681 §3.1 with byte counting (RFC 3465 §2.1): cwnd grows by one
 * SMSS once cwnd bytes were acknowledged, so one SMSS per RTT. */
static void test_tcp_cc_congestion_avoidance(void)
{
  struct tcp_cc cc;
  int i;

  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  cc.ssthresh = 10000;
  for (i = 0; i < 9; i++)
    tcp_cc_on_ack(&cc, 1000, 1, (i + 1) * MS, 0);
  CHECK(cc.cwnd, ==, 10000);
  CHECK(cc.bytes_acked, ==, 9000);
  tcp_cc_on_ack(&cc, 1000, 1, 10 * MS, 0);
  CHECK(cc.cwnd, ==, 11000);
  CHECK(cc.bytes_acked, ==, 0);
  /* The next RTT: 11 ACKs of one segment; delayed ACKs the same. */
  for (i = 0; i < 10; i++)
    tcp_cc_on_ack(&cc, 1000, 1, 20 * MS, 0);
  CHECK(cc.cwnd, ==, 11000);
  tcp_cc_on_ack(&cc, 1000, 1, 21 * MS, 0);
  CHECK(cc.cwnd, ==, 12000);
  for (i = 0; i < 6; i++)
    tcp_cc_on_ack(&cc, 2000, 1, 30 * MS, 0);
  CHECK(cc.cwnd, ==, 13000);
  /* Ten RTTs of full windows: ten SMSS. */
  for (i = 0; i < 10; i++) {
    uint32_t w = cc.cwnd, a;

    for (a = 0; a < w; a += 1000)
      tcp_cc_on_ack(&cc, 1000, 1, (40 + i) * MS, 0);
  }
  CHECK(cc.cwnd, ==, 23000);
}

static void test_tcp_cc_not_cwnd_limited(void)
{
  struct tcp_cc cc;
  int i;

  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  for (i = 0; i < 100; i++)
    tcp_cc_on_ack(&cc, 1000, 0, i * MS, 0);
  CHECK(cc.cwnd, ==, 10000);
  cc.ssthresh = 10000;
  for (i = 0; i < 100; i++)
    tcp_cc_on_ack(&cc, 1000, 0, i * MS, 0);
  CHECK(cc.cwnd, ==, 10000);
  CHECK(cc.bytes_acked, ==, 0);

  tcp_cc_init(&cc, TCP_CC_CUBIC, 1000);
  cc.cwnd = 50000;
  cc.ssthresh = 40000;
  cc.w_max = 60000;
  for (i = 0; i < 1000; i++)
    tcp_cc_on_ack(&cc, 1000, 0, (1000 + i * 10) * MS, 50000);
  CHECK(cc.cwnd, ==, 50000);
  CHECK(cc.epoch_start, ==, 0);
  CHECK(cc.w_est, ==, 0);
}

/* RFC 5681 §3.2 / RFC 6582: ssthresh = max(FlightSize / 2, 2 SMSS),
 * cwnd = ssthresh after the full ACK; no change during recovery. */
static void test_tcp_cc_reno_loss(void)
{
  struct tcp_cc cc;

  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  cc.cwnd = 20000;
  tcp_cc_on_loss(&cc, 18000, 5 * MS);
  CHECK(cc.ssthresh, ==, 9000);
  CHECK(cc.cwnd, ==, 9000);
  CHECK(cc.in_recovery, ==, 1);
  tcp_cc_on_ack(&cc, 1000, 1, 6 * MS, 0);
  CHECK(cc.cwnd, ==, 9000);
  tcp_cc_on_recovery_end(&cc, 7 * MS);
  CHECK(cc.cwnd, ==, 9000);
  CHECK(cc.in_recovery, ==, 0);
  /* Congestion avoidance from there: 9 ACKs for the next SMSS. */
  tcp_cc_on_ack(&cc, 8000, 1, 8 * MS, 0);
  CHECK(cc.cwnd, ==, 9000);
  tcp_cc_on_ack(&cc, 1000, 1, 9 * MS, 0);
  CHECK(cc.cwnd, ==, 10000);

  /* A small flight: the 2 SMSS floor. */
  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  tcp_cc_on_loss(&cc, 3000, 5 * MS);
  CHECK(cc.ssthresh, ==, 2000);
  CHECK(cc.cwnd, ==, 2000);
}

/* RFC 5681 §3.1 eq. (4) and the loss window: ssthresh from the flight on
 * the first expiry only, cwnd = 1 SMSS, then slow start. */
static void test_tcp_cc_rto(void)
{
  struct tcp_cc cc;

  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  cc.cwnd = 20000;
  tcp_cc_on_loss(&cc, 20000, 1 * MS); /* an RTO during recovery */
  tcp_cc_on_rto(&cc, 20000, 1, 2 * MS);
  CHECK(cc.ssthresh, ==, 10000);
  CHECK(cc.cwnd, ==, 1000);
  CHECK(cc.in_recovery, ==, 0);
  tcp_cc_on_rto(&cc, 1000, 0, 3 * MS); /* backed-off expiry */
  CHECK(cc.ssthresh, ==, 10000);
  CHECK(cc.cwnd, ==, 1000);
  tcp_cc_on_ack(&cc, 1000, 1, 4 * MS, 0);
  CHECK(cc.cwnd, ==, 2000);
  tcp_cc_on_ack(&cc, 2000, 1, 5 * MS, 0);
  CHECK(cc.cwnd, ==, 4000);
}

/* RFC 5681 §4.1: cwnd = min(cwnd, RW), RW = IW. */
static void test_tcp_cc_idle(void)
{
  struct tcp_cc cc;

  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  cc.cwnd = 50000;
  tcp_cc_on_idle(&cc, 1 * MS);
  CHECK(cc.cwnd, ==, 10000);
  cc.cwnd = 5000;
  tcp_cc_on_idle(&cc, 2 * MS);
  CHECK(cc.cwnd, ==, 5000);
}

static void test_tcp_cc_set_mss(void)
{
  struct tcp_cc cc;

  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  cc.cwnd = 20000;
  cc.ssthresh = 8000;
  tcp_cc_set_mss(&cc, 500);
  CHECK(cc.mss, ==, 500);
  CHECK(cc.cwnd, ==, 10000);
  CHECK(cc.ssthresh, ==, 4000);
  tcp_cc_set_mss(&cc, 0);
  CHECK(cc.mss, ==, 500);
  tcp_cc_init(&cc, TCP_CC_RENO, 1000);
  tcp_cc_set_mss(&cc, 1500);
  CHECK(cc.cwnd, ==, 15000);
  CHECK(cc.ssthresh, ==, UINT32_MAX);
}

/* ---- CUBIC ------------------------------------------------------------ */

/* rounds: n RTTs of rtt_ns, each acknowledging the cwnd of its start in
 * ACKs of one SMSS spread evenly over the RTT, with SRTT = rtt. */
static void rounds(struct tcp_cc* cc, int64_t* now, int64_t rtt_ns, int n)
{
  int i;

  for (i = 0; i < n; i++) {
    uint32_t acks = cc->cwnd / cc->mss, a;

    for (a = 0; a < acks; a++) {
      *now += rtt_ns / acks;
      tcp_cc_on_ack(cc, cc->mss, 1, *now, (uint32_t)(rtt_ns / 1000));
    }
  }
}

/* A CUBIC flow of SMSS 1000 that lost at cwnd = W_max = 100 segments,
 * in congestion avoidance from the full ACK at now. */
static void cubic_after_loss(struct tcp_cc* cc, int64_t now)
{
  tcp_cc_init(cc, TCP_CC_CUBIC, 1000);
  cc->cwnd = 100000;
  tcp_cc_on_loss(cc, 100000, now);
  tcp_cc_on_recovery_end(cc, now);
}

/* RFC 9438 §4.6: ssthresh = cwnd = 0.7 flight; §4.2: K = cbrt((W_max -
 * cwnd_epoch) / C) = cbrt(30 / 0.4) = cbrt(75) = 4.2172 s. */
static void test_tcp_cc_cubic_loss_and_k(void)
{
  struct tcp_cc cc;

  cubic_after_loss(&cc, 1000 * MS);
  CHECK(cc.ssthresh, ==, 70000);
  CHECK(cc.cwnd, ==, 70000);
  CHECK(cc.w_max, ==, 100000);
  CHECK(cc.w_last_max, ==, 100000);
  CHECK(cc.in_recovery, ==, 0);
  CHECK(cc.epoch_start, ==, 0);
  tcp_cc_on_ack(&cc, 1000, 1, 1001 * MS, 100000);
  CHECK(cc.epoch_start, ==, 1001 * MS);
  CHECK(cc.cwnd_epoch, ==, 70000);
  CHECK(cc.w_est, ==, 70000);
  CHECK(cc.k_s, >=, 4.2162);
  CHECK(cc.k_s, <=, 4.2172);

  /* W_max = 1000 segments, cwnd_epoch 700: K = cbrt(750) = 9.0856 s. */
  tcp_cc_init(&cc, TCP_CC_CUBIC, 1448);
  cc.cwnd = 1000 * 1448;
  tcp_cc_on_loss(&cc, 1000 * 1448, 0);
  CHECK(cc.cwnd, ==, 700 * 1448);
  tcp_cc_on_recovery_end(&cc, 0);
  tcp_cc_on_ack(&cc, 1448, 1, 1 * MS, 0);
  CHECK(cc.k_s, >=, 9.0846);
  CHECK(cc.k_s, <=, 9.0856);

  /* The 2 SMSS floor, as Reno's. */
  tcp_cc_init(&cc, TCP_CC_CUBIC, 1000);
  tcp_cc_on_loss(&cc, 2000, 0);
  CHECK(cc.ssthresh, ==, 2000);
}

/* §4.2: W_cubic(K) = W_max: after K seconds of ACK clock the window is
 * back at W_max (within a segment); before K it grows fast then slowly
 * (concave), after K slowly then fast (convex). With K = 4.2172 s and an
 * RTT of 0.5 s (long enough that W_est, growing by alpha_cubic = 9/17
 * segment per RTT, stays below the curve: Reno-friendly growth would
 * hide the convex part at short RTTs), cwnd lies between W_cubic(t) and
 * its target W_cubic(t + RTT). Differences in segments, by hand:
 *              W_cubic(t)                        W_cubic(t + 0.5)
 *   [0.5, 1.5]  0.4((-2.717)^3 - (-3.717)^3) = 12.5   8.96
 *   [2.5, 3.5]  0.4((-0.717)^3 - (-1.717)^3) =  1.88  0.72
 *   [5.5, 6.5]  0.4((2.283)^3 - (1.283)^3)   =  3.9   6.35
 *   [7.0, 8.0]  0.4((3.783)^3 - (2.783)^3)   = 13.0  17.3 */
static void test_tcp_cc_cubic_curve(void)
{
  struct tcp_cc cc;
  int64_t t0 = 1000 * MS, now = t0, rtt = 500 * MS;
  uint32_t w05, w15, w25, w35, w55, w65, w70, w80;

  cubic_after_loss(&cc, now);
  rounds(&cc, &now, rtt, 1);
  w05 = cc.cwnd;
  rounds(&cc, &now, rtt, 2);
  w15 = cc.cwnd;
  rounds(&cc, &now, rtt, 2);
  w25 = cc.cwnd;
  rounds(&cc, &now, rtt, 2);
  w35 = cc.cwnd;
  rounds(&cc, &now, rtt, 2); /* t = 4.5 s, just past K */
  CHECK(now - t0, >=, (int64_t)(cc.k_s * 1e9));
  CHECK(cc.cwnd, >=, 99000);
  CHECK(cc.cwnd, <=, 101000);
  rounds(&cc, &now, rtt, 2);
  w55 = cc.cwnd;
  rounds(&cc, &now, rtt, 2);
  w65 = cc.cwnd;
  rounds(&cc, &now, rtt, 1);
  w70 = cc.cwnd;
  rounds(&cc, &now, rtt, 2);
  w80 = cc.cwnd;

  CHECK(w15 - w05, >=, 9000);
  CHECK(w15 - w05, <=, 14000);
  CHECK(w35 - w25, <=, 2500);
  CHECK(w15 - w05, >, 4 * (w35 - w25)); /* concave */
  CHECK(w65 - w55, >=, 3000);
  CHECK(w65 - w55, <=, 7000);
  CHECK(w80 - w70, >=, 11000);
  CHECK(w80 - w70, <=, 18000);
  CHECK(w80 - w70, >, 2 * (w65 - w55)); /* convex */
  CHECK(cc.w_est, <, cc.cwnd);          /* not Reno-friendly */
}

/* §4.3: at a small W_max and a short RTT, Reno's estimate W_est is above
 * W_cubic and cwnd follows it. W_max 10 segments, cwnd_epoch 7 (K =
 * cbrt(7.5) = 1.957 s, so W_cubic stays near 7 segments for the few ms
 * of this test); ACKs of one segment; W_est += alpha * acked / cwnd with
 * alpha = 9/17 until W_est reaches cwnd_prior (10 segments), then 1:
 *   7000 -> 8000 after ceil(7000 * 17/9 / 1000) = 14 ACKs,
 *   8000 -> 9000 after 15 more (778 left + 15000 >= 15111),
 *   9000 -> 10000 after 17 more (667 left + 17000 >= 17000),
 *   10000 -> 11000 after 10 more (alpha 1: 667 + 10000 >= 10000),
 *   11000 -> 12000 after 11 more. */
static void test_tcp_cc_cubic_reno_friendly(void)
{
  static const struct {
    int acks;
    uint32_t cwnd;
  } steps[] = {
    { 13, 7000 }, { 1, 8000 }, { 14, 8000 }, { 1, 9000 }, { 16, 9000 },
    { 1, 10000 }, { 9, 10000 }, { 1, 11000 }, { 10, 11000 }, { 1, 12000 },
  };
  struct tcp_cc cc;
  int64_t now = 1000 * MS;
  unsigned i;
  int a;

  tcp_cc_init(&cc, TCP_CC_CUBIC, 1000);
  cc.cwnd = 10000;
  tcp_cc_on_loss(&cc, 10000, now);
  tcp_cc_on_recovery_end(&cc, now);
  CHECK(cc.cwnd, ==, 7000);
  for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    for (a = 0; a < steps[i].acks; a++) {
      now += MS / 10;
      tcp_cc_on_ack(&cc, 1000, 1, now, 1000);
    }
    CHECK(cc.cwnd, ==, steps[i].cwnd);
    CHECK(cc.w_est, ==, steps[i].cwnd);
  }
  CHECK(cc.k_s, >=, 1.956);
  CHECK(cc.k_s, <=, 1.958);
}

/* §4.7: a loss below the previous W_max lowers W_max to cwnd (1 + beta)
 * / 2 = 0.85 cwnd; a loss above it takes W_max = cwnd. */
static void test_tcp_cc_cubic_fast_convergence(void)
{
  struct tcp_cc cc;

  cubic_after_loss(&cc, 0);
  CHECK(cc.w_max, ==, 100000);
  cc.cwnd = 80000;
  tcp_cc_on_loss(&cc, 80000, 1 * MS);
  CHECK(cc.w_max, ==, 68000);
  CHECK(cc.w_last_max, ==, 80000);
  CHECK(cc.ssthresh, ==, 56000);
  CHECK(cc.cwnd, ==, 56000);
  tcp_cc_on_recovery_end(&cc, 2 * MS);
  /* K = cbrt((68 - 56) / 0.4) = cbrt(30) = 3.1072 s. */
  tcp_cc_on_ack(&cc, 1000, 1, 3 * MS, 10000);
  CHECK(cc.k_s, >=, 3.1062);
  CHECK(cc.k_s, <=, 3.1072);
  cc.cwnd = 90000;
  tcp_cc_on_loss(&cc, 90000, 4 * MS);
  CHECK(cc.w_max, ==, 90000);
  CHECK(cc.ssthresh, ==, 63000);
}

/* §4.8: after an RTO, cwnd = 1 SMSS, ssthresh = 0.7 flight, and the first
 * congestion avoidance stage has K = 0 and W_max = its starting cwnd.
 * After an idle period (RFC 5681 §4.1) the epoch restarts as well. */
static void test_tcp_cc_cubic_epoch_reset(void)
{
  struct tcp_cc cc;
  int64_t now = 1000 * MS;

  cubic_after_loss(&cc, now);
  rounds(&cc, &now, 100 * MS, 3);
  CHECK(cc.epoch_start, !=, 0);
  tcp_cc_on_rto(&cc, 80000, 1, now);
  CHECK(cc.epoch_start, ==, 0);
  CHECK(cc.cwnd, ==, 1000);
  CHECK(cc.ssthresh, ==, 56000);
  CHECK(cc.w_max, ==, 0);
  /* Slow start to ssthresh (no epoch), then the first CA ACK. */
  while (cc.cwnd < cc.ssthresh) {
    now += MS;
    tcp_cc_on_ack(&cc, 1000, 1, now, 100000);
    CHECK(cc.epoch_start, ==, 0);
  }
  CHECK(cc.cwnd, ==, 56000);
  now += MS;
  tcp_cc_on_ack(&cc, 1000, 1, now, 100000);
  CHECK(cc.epoch_start, ==, now);
  CHECK(cc.k_s, ==, 0.0);
  CHECK(cc.w_max, ==, 56000);
  CHECK(cc.cwnd_epoch, ==, 56000);

  /* Idle: cwnd = min(cwnd, IW) and the epoch ends; slow start to
   * ssthresh follows (no epoch). With ssthresh at the restart window, a
   * new epoch starts from there: K = cbrt((56 - 10) / 0.4) = cbrt(115) =
   * 4.8629 s. */
  rounds(&cc, &now, 100 * MS, 2);
  tcp_cc_on_idle(&cc, now);
  CHECK(cc.cwnd, ==, 10000);
  CHECK(cc.epoch_start, ==, 0);
  CHECK(cc.w_max, ==, 56000);
  tcp_cc_on_ack(&cc, 1000, 1, now + 4000 * MS, 100000);
  CHECK(cc.cwnd, ==, 11000);
  CHECK(cc.epoch_start, ==, 0);
  cc.cwnd = 10000;
  cc.ssthresh = 10000;
  tcp_cc_on_ack(&cc, 1000, 1, now + 5000 * MS, 100000);
  CHECK(cc.epoch_start, ==, now + 5000 * MS);
  CHECK(cc.cwnd_epoch, ==, 10000);
  CHECK(cc.k_s, >=, 4.8619);
  CHECK(cc.k_s, <=, 4.8629);

  /* Not cwnd-limited for a while: the epoch restarts from the cwnd. */
  now += 6000 * MS;
  rounds(&cc, &now, 100 * MS, 5);
  tcp_cc_on_ack(&cc, 1000, 0, now + 1 * MS, 100000);
  CHECK(cc.epoch_start, ==, 0);
  tcp_cc_on_ack(&cc, 1000, 1, now + 2 * MS, 100000);
  CHECK(cc.epoch_start, ==, now + 2 * MS);
  CHECK(cc.cwnd_epoch, ==, cc.cwnd);
}

/* A CUBIC window above W_max at the start of an epoch (after an idle
 * restart in the convex region): K is negative, and W_cubic(0) = cwnd:
 * W_max 50 segments, cwnd 60: K = -cbrt(10 / 0.4) = -2.9240 s. */
static void test_tcp_cc_cubic_negative_k(void)
{
  struct tcp_cc cc;

  tcp_cc_init(&cc, TCP_CC_CUBIC, 1000);
  cc.w_max = 50000;
  cc.w_last_max = 50000;
  cc.cwnd = 60000;
  cc.ssthresh = 40000;
  tcp_cc_on_ack(&cc, 1000, 1, 1000 * MS, 100000);
  CHECK(cc.k_s, <=, -2.9230);
  CHECK(cc.k_s, >=, -2.9240);
  CHECK(cc.cwnd, >=, 60000);
  CHECK(cc.cwnd, <=, 61000);
}

/* Extreme numbers take no time: at SMSS 1 and cwnd 10, one ACK of 4e9
 * bytes (Reno-friendly, alpha 1 since W_est = cwnd_prior) moves W_est by
 * 4e9 / 10 steps of one byte, counted by division. */
static void test_tcp_cc_cubic_extremes(void)
{
  struct tcp_cc cc;

  tcp_cc_init(&cc, TCP_CC_CUBIC, 1);
  cc.cwnd = 10;
  cc.ssthresh = 10;
  cc.w_max = 10;
  cc.w_last_max = 10;
  tcp_cc_on_ack(&cc, 4000000000u, 1, 1000 * MS, 1000);
  CHECK(cc.w_est, ==, 400000010);
  CHECK(cc.cwnd, ==, 400000010);
  CHECK(cc.w_est_acked, ==, 0);
  /* Saturation instead of overflow at the top of the range. */
  tcp_cc_init(&cc, TCP_CC_CUBIC, 65535);
  cc.cwnd = UINT32_MAX - 10;
  cc.ssthresh = 1000;
  cc.w_max = UINT32_MAX;
  cc.w_last_max = UINT32_MAX;
  tcp_cc_on_ack(&cc, UINT32_MAX, 1, 1000 * MS, 1000);
  tcp_cc_on_ack(&cc, UINT32_MAX, 1, 900000 * MS, 1000);
  CHECK(cc.cwnd, >=, UINT32_MAX - 10);
  tcp_cc_init(&cc, TCP_CC_RENO, 65535);
  cc.cwnd = UINT32_MAX - 10;
  tcp_cc_on_ack(&cc, UINT32_MAX, 1, 1000 * MS, 1000);
  CHECK(cc.cwnd, ==, UINT32_MAX);
  tcp_cc_on_ack(&cc, UINT32_MAX, 1, 1000 * MS, 1000);
  CHECK(cc.cwnd, ==, UINT32_MAX);
}

/* ---- RTT estimator (RFC 6298) ------------------------------------------ */

static void test_tcp_rtt_first_sample(void)
{
  struct tcp_rtt r;

  tcp_rtt_init(&r, 0);
  CHECK(r.srtt_us, ==, 0);
  CHECK(r.rto_us, ==, 1000000);
  CHECK(r.min_rto_us, ==, 200000);
  CHECK(r.min_rtt_us, ==, 0);
  /* §2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR = 3 R. */
  tcp_rtt_sample(&r, 100000);
  CHECK(r.srtt_us, ==, 100000);
  CHECK(r.rttvar_us, ==, 50000);
  CHECK(r.rto_us, ==, 300000);
  CHECK(r.min_rtt_us, ==, 100000);
  /* 10 ms: 3 R = 30 ms, below the 200 ms minimum. */
  tcp_rtt_init(&r, 0);
  tcp_rtt_sample(&r, 10000);
  CHECK(r.srtt_us, ==, 10000);
  CHECK(r.rttvar_us, ==, 5000);
  CHECK(r.rto_us, ==, 200000);
  /* A minimum of our own. */
  tcp_rtt_init(&r, 5000);
  CHECK(r.rto_us, ==, 1000000);
  tcp_rtt_sample(&r, 1000);
  CHECK(r.rto_us, ==, 5000);
  tcp_rtt_init(&r, 3000000);
  CHECK(r.rto_us, ==, 3000000);
  /* rtt 0 counts as 1 us: RTO = 1 + max(G = 1, 0), then the minimum. */
  tcp_rtt_init(&r, 1);
  tcp_rtt_sample(&r, 0);
  CHECK(r.srtt_us, ==, 1);
  CHECK(r.rttvar_us, ==, 0);
  CHECK(r.rto_us, ==, 2);
  /* 100 s: 300 s, above the 120 s maximum. */
  tcp_rtt_init(&r, 0);
  tcp_rtt_sample(&r, 100000000);
  CHECK(r.rto_us, ==, TCP_RTO_MAX_US);
}

/* §2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, then SRTT = 7/8 SRTT +
 * 1/8 R, RTO = SRTT + 4 RTTVAR; samples chosen so that every division
 * is exact. */
static void test_tcp_rtt_subsequent(void)
{
  struct tcp_rtt r;

  tcp_rtt_init(&r, 0);
  tcp_rtt_sample(&r, 100000);
  /* R = 120000: RTTVAR = (150000 + 20000) / 4 = 42500, SRTT = (700000 +
   * 120000) / 8 = 102500, RTO = 102500 + 170000 = 272500. */
  tcp_rtt_sample(&r, 120000);
  CHECK(r.rttvar_us, ==, 42500);
  CHECK(r.srtt_us, ==, 102500);
  CHECK(r.rto_us, ==, 272500);
  /* R = 86500: RTTVAR = (127500 + 16000) / 4 = 35875, SRTT = (717500 +
   * 86500) / 8 = 100500, RTO = 100500 + 143500 = 244000. */
  tcp_rtt_sample(&r, 86500);
  CHECK(r.rttvar_us, ==, 35875);
  CHECK(r.srtt_us, ==, 100500);
  CHECK(r.rto_us, ==, 244000);
  CHECK(r.min_rtt_us, ==, 86500);
  /* R = 100500 + 8 * 4 = 100532: RTTVAR = (107625 + 32) / 4 = 26914.25,
   * truncated to 26914; SRTT = (703500 + 100532) / 8 = 100504;
   * RTO = 100504 + 107656 = 208160. */
  tcp_rtt_sample(&r, 100532);
  CHECK(r.rttvar_us, ==, 26914);
  CHECK(r.srtt_us, ==, 100504);
  CHECK(r.rto_us, ==, 208160);
  CHECK(r.min_rtt_us, ==, 86500);
}

/* §5.5: each expiry doubles the RTO, up to the maximum; a new sample
 * computes it afresh. */
static void test_tcp_rtt_backoff(void)
{
  static const uint32_t want[] = {
    2000000, 4000000, 8000000, 16000000, 32000000, 64000000, 120000000,
    120000000,
  };
  struct tcp_rtt r;
  unsigned i;

  tcp_rtt_init(&r, 0);
  for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    tcp_rtt_backoff(&r);
    CHECK(r.rto_us, ==, want[i]);
    CHECK(r.backoff, ==, i + 1);
  }
  tcp_rtt_sample(&r, 100000);
  CHECK(r.backoff, ==, 0);
  CHECK(r.rto_us, ==, 300000);
  tcp_rtt_backoff(&r);
  tcp_rtt_backoff(&r);
  CHECK(r.rto_us, ==, 1200000);
  CHECK(r.backoff, ==, 2);
  /* R = 100000 again: RTTVAR = 37500, SRTT 100000, RTO 250000. */
  tcp_rtt_sample(&r, 100000);
  CHECK(r.backoff, ==, 0);
  CHECK(r.rto_us, ==, 250000);
  for (i = 0; i < 300; i++)
    tcp_rtt_backoff(&r);
  CHECK(r.backoff, ==, 255);
  CHECK(r.rto_us, ==, TCP_RTO_MAX_US);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_cc_names),
  UNIT_TEST(test_tcp_cc_initial_window),
  UNIT_TEST(test_tcp_cc_slow_start_abc),
  UNIT_TEST(test_tcp_cc_congestion_avoidance),
  UNIT_TEST(test_tcp_cc_not_cwnd_limited),
  UNIT_TEST(test_tcp_cc_reno_loss),
  UNIT_TEST(test_tcp_cc_rto),
  UNIT_TEST(test_tcp_cc_idle),
  UNIT_TEST(test_tcp_cc_set_mss),
  UNIT_TEST(test_tcp_cc_cubic_loss_and_k),
  UNIT_TEST(test_tcp_cc_cubic_curve),
  UNIT_TEST(test_tcp_cc_cubic_reno_friendly),
  UNIT_TEST(test_tcp_cc_cubic_fast_convergence),
  UNIT_TEST(test_tcp_cc_cubic_epoch_reset),
  UNIT_TEST(test_tcp_cc_cubic_negative_k),
  UNIT_TEST(test_tcp_cc_cubic_extremes),
  UNIT_TEST(test_tcp_rtt_first_sample),
  UNIT_TEST(test_tcp_rtt_subsequent),
  UNIT_TEST(test_tcp_rtt_backoff),
};

UNIT_TEST_MAIN(tests)
