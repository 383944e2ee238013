/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for vi/filter.c: building filter specs (what combines, what
 * is refused, how fields are encoded) and the argument checks of
 * ef_vi_filter_add/del on a VI that was never allocated.
 */
#include "unit_test.h"
#include "vi/vi_int.h"

#include <arpa/inet.h>
#include <etherfabric/vi.h>
#include <netinet/in.h>

static void test_filter_ip4_local_encoding(void)
{
  ef_filter_spec fs;
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(fs.type, ==, VI_FLT_NONE);
  CHECK(ef_filter_spec_set_ip4_local(&fs, IPPROTO_UDP, htonl(0xc6120002),
                                     htons(8080)), ==, 0);
  CHECK(fs.type, ==, VI_FLT_IP4_LOCAL);
  CHECK(fs.data[VI_FD_PROTO], ==, IPPROTO_UDP);
  CHECK(fs.data[VI_FD_LHOST], ==, htonl(0xc6120002));
  CHECK(fs.data[VI_FD_LPORT], ==, htons(8080));
}

static void test_filter_one_main_type(void)
{
  ef_filter_spec fs;
  uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_ip4_full(&fs, IPPROTO_TCP, 1, 2, 3, 4), ==, 0);
  CHECK(ef_filter_spec_set_ip4_local(&fs, IPPROTO_TCP, 1, 2), ==,
        -EPROTONOSUPPORT);
  CHECK(ef_filter_spec_set_eth_local(&fs, EF_FILTER_VLAN_ID_ANY, mac), ==,
        -EPROTONOSUPPORT);
  CHECK(ef_filter_spec_set_unicast_all(&fs), ==, -EPROTONOSUPPORT);
  CHECK(fs.type, ==, VI_FLT_IP4_FULL);
}

static void test_filter_bad_protocol(void)
{
  ef_filter_spec fs;
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_ip4_local(&fs, IPPROTO_ICMP, 1, 2), ==,
        -EPROTONOSUPPORT);
  CHECK(fs.type, ==, VI_FLT_NONE);
}

static void test_filter_vlan_rules(void)
{
  ef_filter_spec fs;
  uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

  /* VLAN goes with MAC filters... */
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_eth_local(&fs, 100, mac), ==, 0);
  CHECK(fs.flags & VI_FLT_F_VLAN, !=, 0);
  CHECK(fs.data[VI_FD_VLAN], ==, 100);
  CHECK(fs.data[VI_FD_MAC_HI], ==, 0x02112233u);
  CHECK(fs.data[VI_FD_MAC_LO], ==, 0x4455u);
  /* ...not with IP filters, in either order. */
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_ip4_local(&fs, IPPROTO_UDP, 1, 2), ==, 0);
  CHECK(ef_filter_spec_set_vlan(&fs, 5), ==, -EPROTONOSUPPORT);
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_vlan(&fs, 5), ==, 0);
  CHECK(ef_filter_spec_set_ip4_local(&fs, IPPROTO_UDP, 1, 2), ==,
        -EPROTONOSUPPORT);
  CHECK(ef_filter_spec_set_vlan(&fs, 4096), ==, -EINVAL);
  CHECK(ef_filter_spec_set_vlan(&fs, -1), ==, -EINVAL);
}

static void test_filter_eth_any_vlan(void)
{
  ef_filter_spec fs;
  uint8_t mac[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_eth_local(&fs, EF_FILTER_VLAN_ID_ANY, mac), ==, 0);
  CHECK(fs.flags & VI_FLT_F_VLAN, ==, 0);
  /* A missing MAC is a bad argument before anything else. */
  CHECK(ef_filter_spec_set_eth_local(&fs, EF_FILTER_VLAN_ID_ANY, NULL), ==,
        -EINVAL);
}

static void test_filter_ip6_encoding(void)
{
  ef_filter_spec fs;
  struct in6_addr l, r;
  inet_pton(AF_INET6, "2001:db8::1", &l);
  inet_pton(AF_INET6, "2001:db8::2", &r);
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  CHECK(ef_filter_spec_set_ip6_full(&fs, IPPROTO_UDP, &l, htons(1), &r,
                                    htons(2)), ==, 0);
  CHECK(fs.type, ==, VI_FLT_IP6_FULL);
  CHECK_MEM(&fs.data[VI_FD_LHOST], &l, 16);
  CHECK_MEM(&fs.data[VI_FD_RHOST], &r, 16);
  CHECK(fs.data[VI_FD_LPORT], ==, htons(1));
  CHECK(fs.data[VI_FD_RPORT], ==, htons(2));
}

static void test_filter_add_needs_allocated_vi(void)
{
  ef_vi vi;
  ef_filter_spec fs;
  ef_filter_cookie cookie = { 0, 0 };

  memset(&vi, 0, sizeof(vi));
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  ef_filter_spec_set_unicast_all(&fs);
  CHECK(ef_vi_filter_add(&vi, -1, &fs, &cookie), ==, -EINVAL);
  CHECK(ef_vi_filter_del(&vi, -1, &cookie), ==, -EINVAL);
  CHECK(ef_vi_filter_add(NULL, -1, &fs, NULL), ==, -EINVAL);
}

static void test_filter_type_names(void)
{
  CHECK_STR(vi_filter_type_name(VI_FLT_IP4_FULL), ==, "ip4_full");
  CHECK_STR(vi_filter_type_name(VI_FLT_MCAST_ALL), ==, "multicast_all");
  CHECK_STR(vi_filter_type_name(9999), ==, "unknown");
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_filter_ip4_local_encoding),
  UNIT_TEST(test_filter_one_main_type),
  UNIT_TEST(test_filter_bad_protocol),
  UNIT_TEST(test_filter_vlan_rules),
  UNIT_TEST(test_filter_eth_any_vlan),
  UNIT_TEST(test_filter_ip6_encoding),
  UNIT_TEST(test_filter_add_needs_allocated_vi),
  UNIT_TEST(test_filter_type_names),
};
UNIT_TEST_MAIN(tests)
