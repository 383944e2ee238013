/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/wire/ipv4.h: a fixed header taken apart and built
 * again byte for byte (checksum included); each check of st_ipv4_parse
 * refuses its malformed header with its own reason (truncated, version,
 * IHL below 5 and past the frame, total length below the header and past
 * the frame, checksum, a fragment ending past 65535, MF with a length that
 * is not a multiple of 8); options and Ethernet padding are accepted; a
 * verified checksum is not checked again; the address classes.
 */
#include "unit_test.h"
#include "stack/wire/ipv4.h"
#include "wire_frames.h"

#include <arpa/inet.h>

#define IP (udp_frame + 14)
#define IPLEN (sizeof(udp_frame) - 14)

static void test_wire_ipv4_roundtrip(void)
{
  struct st_ipv4_repr r;
  uint8_t out[ST_IPV4_HLEN];

  CHECK(st_ipv4_parse(IP, IPLEN, &r, 0), ==, ST_IPV4_OK);
  CHECK(r.hlen, ==, 20);
  CHECK(r.tot_len, ==, 43);
  CHECK(r.id, ==, 0x1234);
  CHECK(r.df, ==, 1);
  CHECK(r.mf, ==, 0);
  CHECK(r.frag_off, ==, 0);
  CHECK(r.ttl, ==, 64);
  CHECK(r.tos, ==, 0);
  CHECK(r.proto, ==, ST_IPPROTO_UDP);
  CHECK(r.src_be32, ==, inet_addr("198.18.0.1"));
  CHECK(r.dst_be32, ==, inet_addr("198.18.0.2"));
  CHECK(st_ipv4_is_frag(&r), ==, 0);
  CHECK_PTR(st_ipv4_build(out, &r), ==, out + ST_IPV4_HLEN);
  CHECK_MEM(out, IP, ST_IPV4_HLEN);
}

/* mutate: a copy of the fixed header with byte off set to v, the
 * checksum fixed again unless keep_csum. */
static void mutate(uint8_t* b, unsigned off, uint8_t v, int fix_csum)
{
  memcpy(b, IP, IPLEN);
  b[off] = v;
  if (fix_csum)
    st_ipv4_set_csum(b, 20);
}

static void test_wire_ipv4_malformed(void)
{
  struct st_ipv4_repr r;
  uint8_t b[64];

  CHECK(st_ipv4_parse(IP, 19, &r, 0), ==, ST_IPV4_E_TRUNC);
  mutate(b, 0, 0x65, 1);
  CHECK(st_ipv4_parse(b, IPLEN, &r, 0), ==, ST_IPV4_E_VERSION);
  mutate(b, 0, 0x44, 1);
  CHECK(st_ipv4_parse(b, IPLEN, &r, 0), ==, ST_IPV4_E_IHL);
  mutate(b, 0, 0x4f, 0);               /* 60 bytes of header, 43 here */
  CHECK(st_ipv4_parse(b, IPLEN, &r, 0), ==, ST_IPV4_E_IHL);
  mutate(b, 3, 19, 1);                  /* total length 19 < 20 */
  CHECK(st_ipv4_parse(b, IPLEN, &r, 0), ==, ST_IPV4_E_LEN);
  CHECK(st_ipv4_parse(IP, IPLEN - 1, &r, 0), ==, ST_IPV4_E_LEN);
  mutate(b, 8, 63, 0);                  /* TTL changed, checksum not */
  CHECK(st_ipv4_parse(b, IPLEN, &r, 0), ==, ST_IPV4_E_CSUM);
  /* ...unless the caller verified it already. */
  CHECK(st_ipv4_parse(b, IPLEN, &r, 1), ==, ST_IPV4_OK);
  /* Offset 8190 * 8 = 65520, + 23 bytes > 65535: oversized. */
  memcpy(b, IP, IPLEN);
  st_put_be16(b + ST_IPV4_OFF_FRAG, 8190);
  st_ipv4_set_csum(b, 20);
  CHECK(st_ipv4_parse(b, IPLEN, &r, 0), ==, ST_IPV4_E_FRAG);
  /* MF with 23 bytes of payload: not a multiple of 8. */
  st_put_be16(b + ST_IPV4_OFF_FRAG, ST_IPV4_F_MF);
  st_ipv4_set_csum(b, 20);
  CHECK(st_ipv4_parse(b, IPLEN, &r, 0), ==, ST_IPV4_E_FRAG);
  /* The last fragment may have any length. */
  st_put_be16(b + ST_IPV4_OFF_FRAG, 1);
  st_ipv4_set_csum(b, 20);
  CHECK(st_ipv4_parse(b, IPLEN, &r, 0), ==, ST_IPV4_OK);
  CHECK(r.frag_off, ==, 8);
  CHECK(st_ipv4_is_frag(&r), ==, 1);
}

static void test_wire_ipv4_options_padding(void)
{
  struct st_ipv4_repr r;
  uint8_t b[80];

  /* IHL 6: a 4-byte option (NOP x3, EOL) before the payload. */
  memcpy(b, IP, 20);
  b[0] = 0x46;
  st_put_be16(b + 2, 24 + 23);
  memcpy(b + 20, "\x01\x01\x01\x00", 4);
  memcpy(b + 24, IP + 20, 23);
  st_ipv4_set_csum(b, 24);
  CHECK(st_ipv4_parse(b, 47, &r, 0), ==, ST_IPV4_OK);
  CHECK(r.hlen, ==, 24);
  CHECK(r.tot_len, ==, 47);
  /* Ethernet padding after the datagram is not part of it. */
  memcpy(b, IP, IPLEN);
  memset(b + IPLEN, 0, 10);
  CHECK(st_ipv4_parse(b, IPLEN + 10, &r, 0), ==, ST_IPV4_OK);
  CHECK(r.tot_len, ==, IPLEN);
}

static void test_wire_ipv4_build_frag(void)
{
  struct st_ipv4_repr r, back;
  uint8_t b[40];

  memset(&r, 0, sizeof(r));
  r.src_be32 = inet_addr("198.18.0.1");
  r.dst_be32 = inet_addr("198.18.0.2");
  r.tot_len = 36;   /* 16 bytes: a multiple of 8, as MF needs */
  r.id = 7;
  r.frag_off = 1480;
  r.mf = 1;
  r.ttl = 3;
  r.tos = 0x10;
  r.proto = ST_IPPROTO_UDP;
  memset(b, 0, sizeof(b));
  st_ipv4_build(b, &r);
  CHECK(st_get_be16(b + ST_IPV4_OFF_FRAG), ==, ST_IPV4_F_MF | 185);
  CHECK(st_ipv4_parse(b, sizeof(b), &back, 0), ==, ST_IPV4_OK);
  CHECK(back.frag_off, ==, 1480);
  CHECK(back.mf, ==, 1);
  CHECK(back.df, ==, 0);
  CHECK(back.tos, ==, 0x10);
  CHECK(back.ttl, ==, 3);
  CHECK(back.id, ==, 7);
}

static void test_wire_ipv4_classes(void)
{
  CHECK(st_ipv4_is_mcast(inet_addr("224.0.0.1")), ==, 1);
  CHECK(st_ipv4_is_mcast(inet_addr("239.255.255.255")), ==, 1);
  CHECK(st_ipv4_is_mcast(inet_addr("240.0.0.1")), ==, 0);
  CHECK(st_ipv4_is_bcast(inet_addr("255.255.255.255")), ==, 1);
  CHECK(st_ipv4_is_zeronet(inet_addr("0.1.2.3")), ==, 1);
  CHECK(st_ipv4_is_loopback(inet_addr("127.0.0.1")), ==, 1);
  CHECK(st_ipv4_is_loopback(inet_addr("198.18.0.1")), ==, 0);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_wire_ipv4_roundtrip),
  UNIT_TEST(test_wire_ipv4_malformed),
  UNIT_TEST(test_wire_ipv4_options_padding),
  UNIT_TEST(test_wire_ipv4_build_frag),
  UNIT_TEST(test_wire_ipv4_classes),
};
UNIT_TEST_MAIN(tests)
