/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for vi/gso.c: cutting a TCP/IPv4 super-frame into segments as
 * Linux's GSO does (IP total length, IP ID + index, IP and TCP checksums
 * recomputed, sequence + index * gso_size, PSH and FIN on the last segment
 * only, CWR on the first only, options kept), checked byte by byte with a
 * checksum of the test's own (RFC 1071, byte-wise); and the refusals:
 * VLAN tags, other protocols, fragments, bad header lengths, oversize.
 */
#include "unit_test.h"
#include "vi/gso.h"

#include <errno.h>

#define HLEN (14 + 20 + 32)   /* Ethernet, IPv4, TCP with 12 option bytes */

/* rfc1071: the ones' complement sum of p, folded, from 16-bit big-endian
 * words. */
static uint16_t rfc1071(const uint8_t* p, size_t n, uint32_t s)
{
  size_t i;

  for (i = 0; i + 1 < n; i += 2)
    s += (uint32_t)p[i] << 8 | p[i + 1];
  if (n & 1)
    s += (uint32_t)p[n - 1] << 8;
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return (uint16_t)s;
}

static uint32_t rd32(const uint8_t* p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static uint16_t rd16(const uint8_t* p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* super: a super-frame with payload bytes (i * 7) & 0xff, TCP flags fl,
 * sequence seq; its length. The caller's IP length and checksums are
 * junk on purpose: segmentation must not trust them. */
static size_t super(uint8_t* f, size_t payload, uint8_t fl, uint32_t seq)
{
  static const uint8_t hdr[HLEN] = {
    /* Ethernet */
    0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
    /* IPv4: length and checksum junk, ID 0xfffe (wraps), DF */
    0x45, 0x00, 0xde, 0xad, 0xff, 0xfe, 0x40, 0x00, 0x40, 0x06,
    0xbe, 0xef, 198, 18, 0, 1, 198, 18, 0, 2,
    /* TCP 40000 -> 7000, seq set below, ack 0x01020304, doff 8 */
    0x9c, 0x40, 0x1b, 0x58, 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04,
    0x80, 0x00, 0x01, 0x00, 0x12, 0x34, 0x00, 0x00,
    /* NOP NOP timestamps */
    0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 9, 0, 0, 0, 5,
  };
  size_t i;

  memcpy(f, hdr, HLEN);
  f[14 + 20 + 13] = fl;
  f[14 + 20 + 4] = (uint8_t)(seq >> 24);
  f[14 + 20 + 5] = (uint8_t)(seq >> 16);
  f[14 + 20 + 6] = (uint8_t)(seq >> 8);
  f[14 + 20 + 7] = (uint8_t)seq;
  for (i = 0; i < payload; i++)
    f[HLEN + i] = (uint8_t)(i * 7);
  return HLEN + payload;
}

struct got {
  unsigned n;
  int fail_at;               /* out() fails at this segment (-1: never) */
  size_t len[64];
  uint8_t seg[8][HLEN + 2000];
};

static int collect(void* ctx, const uint8_t* seg, size_t len)
{
  struct got* g = ctx;

  if ((int)g->n == g->fail_at)
    return -ENOBUFS;
  if (g->n < 8 && len <= sizeof(g->seg[0]))
    memcpy(g->seg[g->n], seg, len);
  g->len[g->n++] = len;
  return 0;
}

/* check_seg: segment i of a super-frame cut at gso, with plen payload
 * bytes from offset off. */
static void check_seg(const uint8_t* s, size_t len, unsigned i, size_t off,
                      size_t plen, uint32_t seq0, uint8_t flags)
{
  const uint8_t* ip = s + 14;
  const uint8_t* th = ip + 20;
  uint8_t pseudo[12];
  size_t k;

  CHECK(len, ==, HLEN + plen);
  CHECK(rd16(ip + 2), ==, 20 + 32 + plen);
  CHECK(rd16(ip + 4), ==, (uint16_t)(0xfffe + i));
  CHECK(rfc1071(ip, 20, 0), ==, 0xffff);
  CHECK(rd32(th + 4), ==, seq0 + (uint32_t)off);
  CHECK(rd32(th + 8), ==, 0x01020304u);
  CHECK(th[13], ==, flags);
  CHECK(rd16(th + 14), ==, 0x0100);
  CHECK(th[20], ==, 0x01);
  CHECK(th[22], ==, 0x08);
  CHECK(th[27], ==, 9);
  memcpy(pseudo, ip + 12, 8);
  pseudo[8] = 0;
  pseudo[9] = 6;
  pseudo[10] = (uint8_t)((32 + plen) >> 8);
  pseudo[11] = (uint8_t)(32 + plen);
  CHECK(rfc1071(th, 32 + plen, rfc1071(pseudo, 12, 0)), ==, 0xffff);
  for (k = 0; k < plen; k++)
    if (s[HLEN + k] != (uint8_t)((off + k) * 7))
      break;
  CHECK(k, ==, plen);
}

static void test_gso_cut_flags_ids_checksums(void)
{
  static uint8_t f[HLEN + 4000];
  static struct got g;
  /* ACK|PSH|FIN|CWR over 3 full segments and a short one; the sequence
   * and the IP ID wrap. */
  uint8_t fl = 0x10 | 0x08 | 0x01 | 0x80;
  uint32_t seq0 = 0xfffff000u;
  size_t len = super(f, 3 * 1000 + 500, fl, seq0);
  unsigned i;

  memset(&g, 0, sizeof(g));
  g.fail_at = -1;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, 4);
  CHECK(g.n, ==, 4);
  check_seg(g.seg[0], g.len[0], 0, 0, 1000, seq0, 0x10 | 0x80);
  for (i = 1; i < 3; i++)
    check_seg(g.seg[i], g.len[i], i, i * 1000u, 1000, seq0, 0x10);
  check_seg(g.seg[3], g.len[3], 3, 3000, 500, seq0, 0x10 | 0x08 | 0x01);
}

static void test_gso_exact_and_single(void)
{
  static uint8_t f[HLEN + 4000];
  static struct got g;
  size_t len;

  /* A multiple of gso_size: no short tail segment. */
  len = super(f, 2000, 0x18, 1);
  memset(&g, 0, sizeof(g));
  g.fail_at = -1;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, 2);
  check_seg(g.seg[0], g.len[0], 0, 0, 1000, 1, 0x10);
  check_seg(g.seg[1], g.len[1], 1, 1000, 1000, 1, 0x18);
  /* No more than one segment: flags as given, checksums still made. */
  len = super(f, 999, 0x19, 5);
  memset(&g, 0, sizeof(g));
  g.fail_at = -1;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, 1);
  check_seg(g.seg[0], g.len[0], 0, 0, 999, 5, 0x19);
  /* No payload at all. */
  len = super(f, 0, 0x11, 5);
  memset(&g, 0, sizeof(g));
  g.fail_at = -1;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, 1);
  check_seg(g.seg[0], g.len[0], 0, 0, 0, 5, 0x11);
}

static void test_gso_output_failure_stops(void)
{
  static uint8_t f[HLEN + 4000];
  static struct got g;
  size_t len = super(f, 3500, 0x18, 1);

  memset(&g, 0, sizeof(g));
  g.fail_at = 2;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, -ENOBUFS);
  CHECK(g.n, ==, 2);
}

static void test_gso_refusals(void)
{
  static uint8_t f[VI_GSO_FRAME_MAX + 16];
  static struct got g;
  unsigned ihl;
  size_t len = super(f, 3000, 0x18, 1);

  memset(&g, 0, sizeof(g));
  g.fail_at = -1;
  CHECK(vi_gso_parse(f, HLEN, len, &ihl), ==, HLEN);
  CHECK(ihl, ==, 20);
  /* Headers not all in the bytes given. */
  CHECK(vi_gso_parse(f, HLEN - 1, len, &ihl), ==, -EINVAL);
  CHECK(vi_gso_segment(f, len, 0, collect, &g), ==, -EINVAL);
  CHECK(vi_gso_segment(f, len, 65536, collect, &g), ==, -EINVAL);
  /* A VLAN tag. */
  f[12] = 0x81;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, -EINVAL);
  f[12] = 0x08;
  /* UDP. */
  f[14 + 9] = 17;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, -EINVAL);
  f[14 + 9] = 6;
  /* IPv6 in the version field, an IHL of 4. */
  f[14] = 0x65;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, -EINVAL);
  f[14] = 0x44;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, -EINVAL);
  f[14] = 0x45;
  /* A fragment: MF, then an offset. */
  f[14 + 6] = 0x20;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, -EINVAL);
  f[14 + 6] = 0x40;
  f[14 + 7] = 0x01;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, -EINVAL);
  f[14 + 7] = 0;
  /* A TCP data offset of 4. */
  f[14 + 20 + 12] = 0x40;
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, -EINVAL);
  f[14 + 20 + 12] = 0x80;
  /* Longer than an IPv4 packet can be. */
  CHECK(vi_gso_segment(f, VI_GSO_FRAME_MAX + 1, 1000, collect, &g), ==,
        -EINVAL);
  CHECK(g.n, ==, 0);
  /* Unchanged, it is taken. */
  CHECK(vi_gso_segment(f, len, 1000, collect, &g), ==, 3);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_gso_cut_flags_ids_checksums),
  UNIT_TEST(test_gso_exact_and_single),
  UNIT_TEST(test_gso_output_failure_stops),
  UNIT_TEST(test_gso_refusals),
};
UNIT_TEST_MAIN(tests)
