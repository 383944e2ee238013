/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_challenge.c: the stack-wide limit on challenge ACKs (RFC 5961
 * §7, ACK throttling): at most about cfg.tcp_challenge_ack_limit of them
 * per second (default 1000, Linux's tcp_challenge_ack_limit from 4.7 to
 * 5.19), the rest counted as tcp_challenge_acks_limited and not sent.
 *
 * As Linux does since "tcp: make challenge acks less predictable"
 * (2016), the budget of each second (of the stack's clock: now / 1 s) is
 * not the limit itself but limit/2 + a random number below the limit, so
 * that an off-path attacker cannot count the challenge ACKs a connection
 * drew out of the shared budget (the side channel of CVE-2016-5696). The
 * random numbers come from a generator seeded from the stack's secret
 * (cfg.seed), so a test with a fixed seed sees fixed budgets.
 *
 * Deviation: Linux also limits challenge and out-of-window ACKs per
 * connection (tcp_invalid_ratelimit, 500 ms) and, since 6.0, has no
 * global limit by default; here only the global limit exists.
 *
 * Layer: stack. tcp_in.c asks tcp__challenge_ok before each challenge
 * ACK; st__tcp_init sets the limiter up.
 */
#include "stack/tcp_int.h"

#include <limits.h>

#define CHALLENGE_LIMIT_DEFAULT 1000u

void tcp__challenge_init(struct anyload_stack* st)
{
  st->tcp_chack_limit = st->cfg.tcp_challenge_ack_limit
                        ? st->cfg.tcp_challenge_ack_limit
                        : CHALLENGE_LIMIT_DEFAULT;
  st->tcp_chack_rng = st->tcp_secret[0] ^ 0x6368616c6c656e67ull;
  if (!st->tcp_chack_rng)
    st->tcp_chack_rng = 1;
  st->tcp_chack_sec = -1;
  st->tcp_chack_left = 0;
}

/* next_random: xorshift64* (Vigna, 2016). */
static uint64_t next_random(struct anyload_stack* st)
{
  uint64_t x = st->tcp_chack_rng;

  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  st->tcp_chack_rng = x;
  return x * 0x2545f4914f6cdd1dull;
}

int tcp__challenge_ok(struct anyload_stack* st, int64_t now)
{
  int64_t sec = now / 1000000000ll;
  uint32_t limit = st->tcp_chack_limit;

  if (limit == UINT_MAX)
    return 1;
  if (sec != st->tcp_chack_sec) {
    st->tcp_chack_sec = sec;
    st->tcp_chack_left = (limit + 1) / 2 +
                         (uint32_t)((next_random(st) >> 32) % limit);
  }
  if (!st->tcp_chack_left) {
    ST_INC(st, tcp_challenge_acks_limited);
    return 0;
  }
  st->tcp_chack_left--;
  return 1;
}
