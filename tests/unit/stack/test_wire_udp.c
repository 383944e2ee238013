/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/wire/udp.h: a fixed datagram taken apart, its
 * checksum verified, built again byte for byte with the checksum
 * computed here; a zero checksum means none; a flipped payload bit fails
 * the checksum; short datagrams and bad length fields are refused; a
 * computed checksum of zero goes on the wire as 0xffff (RFC 768).
 */
#include "unit_test.h"
#include "stack/wire/udp.h"
#include "wire_frames.h"

#include <arpa/inet.h>

#define UDP (udp_frame + 34)
#define UDPLEN (sizeof(udp_frame) - 34)

static void test_wire_udp_roundtrip(void)
{
  struct st_udp_repr r;
  uint8_t out[UDPLEN];
  uint32_t s = inet_addr("198.18.0.1"), d = inet_addr("198.18.0.2");

  CHECK(st_udp_parse(UDP, UDPLEN, &r), ==, ST_UDP_OK);
  CHECK(ntohs(r.sport_be16), ==, 40000);
  CHECK(ntohs(r.dport_be16), ==, 9000);
  CHECK(r.len, ==, 23);
  CHECK(r.csum_be16, !=, 0);
  CHECK(st_udp_csum_ok(s, d, UDP, (uint16_t)UDPLEN), ==, 1);
  /* A wrong pseudo-header fails. */
  CHECK(st_udp_csum_ok(s, inet_addr("198.18.0.3"), UDP, (uint16_t)UDPLEN), ==,
        0);

  memcpy(out + ST_UDP_HLEN, UDP + ST_UDP_HLEN, UDPLEN - ST_UDP_HLEN);
  CHECK_PTR(st_udp_build(out, &r), ==, out + ST_UDP_HLEN);
  st_udp_csum_store(out, st_csum_acc(st_udp_csum_start(s, d, r.len), out,
                                     UDPLEN));
  CHECK_MEM(out, UDP, UDPLEN);
}

static void test_wire_udp_checksums(void)
{
  uint8_t b[UDPLEN];
  uint32_t s = inet_addr("198.18.0.1"), d = inet_addr("198.18.0.2");

  memcpy(b, UDP, UDPLEN);
  b[10] ^= 0x04;
  CHECK(st_udp_csum_ok(s, d, b, (uint16_t)UDPLEN), ==, 0);
  /* No checksum: accepted whatever the payload. */
  st_put_raw16(b + ST_UDP_OFF_CSUM, 0);
  CHECK(st_udp_csum_ok(s, d, b, (uint16_t)UDPLEN), ==, 1);
  /* A sum that complements to zero is sent as 0xffff. */
  st_udp_csum_store(b, 0xffff);
  CHECK(st_get_be16(b + ST_UDP_OFF_CSUM), ==, 0xffff);
}

static void test_wire_udp_malformed(void)
{
  struct st_udp_repr r;
  uint8_t b[UDPLEN];

  CHECK(st_udp_parse(UDP, 7, &r), ==, ST_UDP_E_TRUNC);
  memcpy(b, UDP, UDPLEN);
  st_put_be16(b + ST_UDP_OFF_LEN, 7);
  CHECK(st_udp_parse(b, UDPLEN, &r), ==, ST_UDP_E_LEN);
  st_put_be16(b + ST_UDP_OFF_LEN, (uint16_t)(UDPLEN + 1));
  CHECK(st_udp_parse(b, UDPLEN, &r), ==, ST_UDP_E_LEN);
  /* Shorter than the IP payload: the rest is not the datagram's. */
  st_put_be16(b + ST_UDP_OFF_LEN, 8);
  CHECK(st_udp_parse(b, UDPLEN, &r), ==, ST_UDP_OK);
  CHECK(r.len, ==, 8);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_wire_udp_roundtrip),
  UNIT_TEST(test_wire_udp_checksums),
  UNIT_TEST(test_wire_udp_malformed),
};
UNIT_TEST_MAIN(tests)
