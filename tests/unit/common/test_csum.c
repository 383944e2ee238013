/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for common/csum.h, the Internet checksum every layer uses:
 * al_csum_acc (64-bit words with end-around carry) against a reference
 * written straight from RFC 1071 §4.1 (16-bit words, the carry folded
 * back at each add), for every length from 0 to 300 at every alignment,
 * from starting sums that carry at once; split sums (even pieces, then
 * an odd last one) equal the whole; a sum of 0xffff multiples gives the
 * same one's-complement zero; the RFC's worked example.
 */
#include "unit_test.h"
#include "common/csum.h"

#include <stdint.h>
#include <string.h>

/* ref_sum: RFC 1071 §4.1 over native 16-bit words (byte order does not
 * matter, §2(B)), starting from the 16-bit fold of acc. */
static uint16_t ref_sum(uint64_t acc, const uint8_t* p, size_t len)
{
  uint32_t sum = al_csum_fold(acc);
  uint16_t w;

  while (len >= 2) {
    memcpy(&w, p, 2);
    sum += w;
    sum = (sum & 0xffff) + (sum >> 16);
    p += 2;
    len -= 2;
  }
  if (len) {
    uint8_t pad[2] = { p[0], 0 };
    memcpy(&w, pad, 2);
    sum += w;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return (uint16_t)sum;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Every length 0..300 at alignments 0..7, random bytes, starting sums 0,
 * small, and all ones (every first add carries). */
static void test_csum_matches_rfc1071(void)
{
  static uint8_t buf[320];
  const uint64_t starts[] = { 0, 0x1234, 0xffffffffffffffffull,
                              0xfffffffffffff000ull };
  size_t len, off, k, s;

  for (k = 0; k < sizeof(buf); k++)
    buf[k] = (uint8_t)rng();
  for (len = 0; len <= 300; len++)
    for (off = 0; off < 8; off++)
      for (s = 0; s < sizeof(starts) / sizeof(starts[0]); s++)
        CHECK(al_csum_fold(al_csum_acc(starts[s], buf + off, len)), ==,
              ref_sum(starts[s], buf + off, len));
  /* All bytes 0xff: carries on every add. */
  memset(buf, 0xff, sizeof(buf));
  for (len = 0; len <= 300; len++)
    CHECK(al_csum_fold(al_csum_acc(0xffffffffffffffffull, buf, len)), ==,
          ref_sum(0xffffffffffffffffull, buf, len));
}

/* A sum in pieces (every piece but the last of even length) is the sum
 * of the whole. */
static void test_csum_pieces(void)
{
  static uint8_t buf[2000];
  size_t k, a, b;

  for (k = 0; k < sizeof(buf); k++)
    buf[k] = (uint8_t)rng();
  for (k = 0; k < 500; k++) {
    size_t last = 1 + rng() % 599;
    uint64_t acc;
    a = (rng() % 700) & ~(size_t)1;
    b = (rng() % 700) & ~(size_t)1;
    acc = al_csum_acc(al_csum_acc(al_csum_acc(0, buf, a), buf + a, b),
                      buf + a + b, last);
    CHECK(al_csum_fold(acc), ==,
          al_csum_fold(al_csum_acc(0, buf, a + b + last)));
    CHECK(al_csum_fold(acc), ==, ref_sum(0, buf, a + b + last));
  }
}

/* Zero in one's complement: all-zero data folds to 0; data whose words
 * add to a non-zero multiple of 0xffff folds to 0xffff, as RFC 1071's
 * loop gives. */
static void test_csum_zeroes(void)
{
  uint8_t z[64] = { 0 };
  uint8_t m[64];
  uint16_t w = 0x0001, v = 0xfffe;

  CHECK(al_csum_fold(al_csum_acc(0, z, sizeof(z))), ==, 0);
  memset(m, 0, sizeof(m));
  memcpy(m, &w, 2);
  memcpy(m + 30, &v, 2);
  CHECK(al_csum_fold(al_csum_acc(0, m, sizeof(m))), ==, 0xffff);
  CHECK(ref_sum(0, m, sizeof(m)), ==, 0xffff);
}

/* RFC 1071 §3's example: the words 0001 f203 f4f5 f6f7 sum to ddf2 (in
 * big-endian order; native order gives its byte swap, §2(B)). */
static void test_csum_rfc_example(void)
{
  const uint8_t d[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
  uint16_t s = al_csum_fold(al_csum_acc(0, d, sizeof(d)));
  uint8_t b[2];

  memcpy(b, &s, 2);
  CHECK(b[0], ==, 0xdd);
  CHECK(b[1], ==, 0xf2);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_csum_matches_rfc1071),
  UNIT_TEST(test_csum_pieces),
  UNIT_TEST(test_csum_zeroes),
  UNIT_TEST(test_csum_rfc_example),
};
UNIT_TEST_MAIN(tests)
