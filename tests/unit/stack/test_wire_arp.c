/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/wire/arp.h: a fixed ARP request taken apart and
 * built again byte for byte; packets that are short or not Ethernet/IPv4
 * are refused.
 */
#include "unit_test.h"
#include "stack/wire/arp.h"
#include "wire_frames.h"

#include <arpa/inet.h>

static void test_wire_arp_roundtrip(void)
{
  struct st_arp_repr r;
  uint8_t out[ST_ARP_LEN];
  static const uint8_t sha[6] = { 2, 0, 0, 0, 0x0a, 0x0a };
  static const uint8_t zero[6] = { 0 };

  CHECK(st_arp_parse(arp_request, sizeof(arp_request), &r), ==, 0);
  CHECK(r.op, ==, ST_ARP_OP_REQUEST);
  CHECK_MEM(r.sha, sha, 6);
  CHECK_MEM(r.tha, zero, 6);
  CHECK(r.spa_be32, ==, inet_addr("198.18.0.1"));
  CHECK(r.tpa_be32, ==, inet_addr("198.18.0.2"));
  CHECK_PTR(st_arp_build(out, &r), ==, out + ST_ARP_LEN);
  CHECK_MEM(out, arp_request, ST_ARP_LEN);
}

static void test_wire_arp_malformed(void)
{
  struct st_arp_repr r;
  uint8_t bad[ST_ARP_LEN];

  CHECK(st_arp_parse(arp_request, ST_ARP_LEN - 1, &r), ==, -1);
  memcpy(bad, arp_request, sizeof(bad));
  bad[ST_ARP_OFF_HLEN] = 8;            /* not Ethernet */
  CHECK(st_arp_parse(bad, sizeof(bad), &r), ==, -1);
  memcpy(bad, arp_request, sizeof(bad));
  bad[ST_ARP_OFF_PTYPE] = 0x86;        /* 0x86dd: not IPv4 */
  bad[ST_ARP_OFF_PTYPE + 1] = 0xdd;
  CHECK(st_arp_parse(bad, sizeof(bad), &r), ==, -1);
  memcpy(bad, arp_request, sizeof(bad));
  bad[ST_ARP_OFF_HTYPE + 1] = 6;       /* IEEE 802 */
  CHECK(st_arp_parse(bad, sizeof(bad), &r), ==, -1);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_wire_arp_roundtrip),
  UNIT_TEST(test_wire_arp_malformed),
};
UNIT_TEST_MAIN(tests)
