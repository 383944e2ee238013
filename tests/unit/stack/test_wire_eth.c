/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/wire/eth.h: a fixed frame's Ethernet header taken
 * apart and built again byte for byte; a frame shorter than the header is
 * refused; the IPv4 multicast MAC mapping of RFC 1112 §6.4 (the group's
 * low 23 bits, the 24th dropped).
 */
#include "unit_test.h"
#include "stack/wire/eth.h"
#include "wire_frames.h"

#include <arpa/inet.h>

static void test_wire_eth_roundtrip(void)
{
  struct st_eth_repr r;
  uint8_t out[ST_ETH_HLEN];
  static const uint8_t dst[6] = { 2, 0, 0, 0, 0x0b, 0x0b };
  static const uint8_t src[6] = { 2, 0, 0, 0, 0x0a, 0x0a };

  CHECK(st_eth_parse(udp_frame, sizeof(udp_frame), &r), ==, 0);
  CHECK_MEM(r.dst, dst, 6);
  CHECK_MEM(r.src, src, 6);
  CHECK(r.type, ==, ST_ETHERTYPE_IPV4);
  CHECK(st_eth_is_mcast(r.dst), ==, 0);
  memset(out, 0xaa, sizeof(out));
  CHECK_PTR(st_eth_build(out, &r), ==, out + ST_ETH_HLEN);
  CHECK_MEM(out, udp_frame, ST_ETH_HLEN);
}

static void test_wire_eth_truncated(void)
{
  struct st_eth_repr r;

  CHECK(st_eth_parse(udp_frame, ST_ETH_HLEN - 1, &r), ==, -1);
  CHECK(st_eth_parse(udp_frame, 0, &r), ==, -1);
  CHECK(st_eth_parse(udp_frame, ST_ETH_HLEN, &r), ==, 0);
}

static void test_wire_eth_mcast_mac(void)
{
  uint8_t mac[6];
  static const uint8_t want[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
  static const uint8_t want2[6] = { 0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa };

  st_eth_ip4_mcast_mac(inet_addr("239.1.2.3"), mac);
  CHECK_MEM(mac, want, 6);
  /* 224.129.2.3 differs in the 24th bit only: the same MAC. */
  st_eth_ip4_mcast_mac(inet_addr("224.129.2.3"), mac);
  CHECK_MEM(mac, want, 6);
  st_eth_ip4_mcast_mac(inet_addr("239.255.255.250"), mac);
  CHECK_MEM(mac, want2, 6);
  CHECK(st_eth_is_mcast(mac), ==, 1);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_wire_eth_roundtrip),
  UNIT_TEST(test_wire_eth_truncated),
  UNIT_TEST(test_wire_eth_mcast_mac),
};
UNIT_TEST_MAIN(tests)
