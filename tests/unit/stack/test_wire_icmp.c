/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/wire/icmp.h: fixed messages taken apart (port
 * unreachable with the quoted datagram's addresses and ports,
 * fragmentation needed with its next-hop MTU, an echo request) and built
 * again byte for byte; short messages, bad checksums and quotes too short
 * or not IPv4 are refused.
 */
#include "unit_test.h"
#include "stack/wire/icmp.h"
#include "wire_frames.h"

#include <arpa/inet.h>

#define PU (icmp_port_unreach + 34)
#define PULEN (sizeof(icmp_port_unreach) - 34)

static void test_wire_icmp_port_unreach(void)
{
  struct st_icmp_repr r;
  struct st_icmp_quote q;
  uint8_t out[PULEN];

  CHECK(st_icmp_parse(PU, PULEN, &r), ==, ST_ICMP_OK);
  CHECK(r.type, ==, ST_ICMP_DEST_UNREACH);
  CHECK(r.code, ==, ST_ICMP_PORT_UNREACH);
  CHECK(st_icmp_is_error(r.type), ==, 1);
  CHECK(r.data_len, ==, 28);
  CHECK(st_icmp_parse_quote(&r, &q), ==, ST_ICMP_OK);
  CHECK(q.src_be32, ==, inet_addr("198.18.0.1"));
  CHECK(q.dst_be32, ==, inet_addr("198.18.0.2"));
  CHECK(q.proto, ==, ST_IPPROTO_UDP);
  CHECK(ntohs(q.sport_be16), ==, 40000);
  CHECK(ntohs(q.dport_be16), ==, 9000);
  CHECK(q.frag_off, ==, 0);
  CHECK(q.tot_len, ==, 43);
  CHECK_PTR(st_icmp_build(out, &r), ==, out + PULEN);
  CHECK_MEM(out, PU, PULEN);
}

static void test_wire_icmp_frag_needed(void)
{
  struct st_icmp_repr r;
  uint8_t out[sizeof(icmp_frag_needed)];

  CHECK(st_icmp_parse(icmp_frag_needed, sizeof(icmp_frag_needed), &r), ==,
        ST_ICMP_OK);
  CHECK(r.code, ==, ST_ICMP_FRAG_NEEDED);
  CHECK(st_icmp_mtu(&r), ==, 1000);
  CHECK_PTR(st_icmp_build(out, &r), ==, out + sizeof(out));
  CHECK_MEM(out, icmp_frag_needed, sizeof(out));
}

static void test_wire_icmp_echo(void)
{
  struct st_icmp_repr r;
  uint8_t out[sizeof(icmp_echo)];

  CHECK(st_icmp_parse(icmp_echo, sizeof(icmp_echo), &r), ==, ST_ICMP_OK);
  CHECK(r.type, ==, ST_ICMP_ECHO);
  CHECK(st_icmp_is_error(r.type), ==, 0);
  CHECK(st_get_be16((const uint8_t*)&r.rest_be32), ==, 0x77);
  CHECK(r.data_len, ==, 4);
  CHECK_MEM(r.data, "ping", 4);
  st_icmp_build(out, &r);
  CHECK_MEM(out, icmp_echo, sizeof(out));
}

static void test_wire_icmp_malformed(void)
{
  struct st_icmp_repr r;
  struct st_icmp_quote q;
  uint8_t b[PULEN];

  CHECK(st_icmp_parse(PU, 7, &r), ==, ST_ICMP_E_TRUNC);
  memcpy(b, PU, PULEN);
  b[20] ^= 1;
  CHECK(st_icmp_parse(b, PULEN, &r), ==, ST_ICMP_E_CSUM);
  /* A quote of the header and 7 bytes only. */
  CHECK(st_icmp_parse(PU, PULEN, &r), ==, ST_ICMP_OK);
  r.data_len = 27;
  CHECK(st_icmp_parse_quote(&r, &q), ==, ST_ICMP_E_QUOTE);
  /* A quoted IPv6 header, and a quoted IHL of 4. */
  memcpy(b, PU, PULEN);
  b[8] = 0x60;
  st_put_raw16(b + 2, 0);
  st_put_raw16(b + 2, st_csum_finish(st_csum_acc(0, b, PULEN)));
  CHECK(st_icmp_parse(b, PULEN, &r), ==, ST_ICMP_OK);
  CHECK(st_icmp_parse_quote(&r, &q), ==, ST_ICMP_E_QUOTE);
  b[8] = 0x44;
  st_put_raw16(b + 2, 0);
  st_put_raw16(b + 2, st_csum_finish(st_csum_acc(0, b, PULEN)));
  CHECK(st_icmp_parse(b, PULEN, &r), ==, ST_ICMP_OK);
  CHECK(st_icmp_parse_quote(&r, &q), ==, ST_ICMP_E_QUOTE);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_wire_icmp_port_unreach),
  UNIT_TEST(test_wire_icmp_frag_needed),
  UNIT_TEST(test_wire_icmp_echo),
  UNIT_TEST(test_wire_icmp_malformed),
};
UNIT_TEST_MAIN(tests)
