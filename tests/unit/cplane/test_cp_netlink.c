/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for cplane/cp_netlink.c: real kernel messages (captured once,
 * pasted below) and messages built here with libmnl are applied to a
 * table, and the table is checked; the requests the mirror sends are
 * checked byte by byte; and malformed input (every truncation of every
 * message, bad lengths, bad payload sizes, random corruption) is counted
 * and ignored, never read out of bounds (run under ASan in `make test`).
 *
 * How the cap_* arrays were captured: on Linux 6.18, in a network
 * namespace made by tests/harness/netns.sh (veth ifindex 2, 198.18.0.1/24),
 * a program bound a NETLINK_ROUTE socket to RTMGRP_LINK | RTMGRP_NEIGH |
 * RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE and printed
 * each notification's bytes while these commands ran:
 *   ip route add 198.19.5.0/24 via 198.18.0.2 metric 100 mtu 1400
 *                                                    -> cap_route_add
 *   ip route del 198.19.5.0/24 via 198.18.0.2 metric 100 -> cap_route_del
 *   ip neigh replace 198.18.0.9 dev IF lladdr 02:00:00:00:00:09 nud reachable
 *                                                    -> cap_neigh_new
 *   ip addr add 198.19.9.1/24 dev IF                 -> cap_addr_new
 *   ip rule add from 198.18.0.1 table 100 pref 1000  -> cap_rule_new
 * and cap_rule_default0..2 are the three rules of an RTM_GETRULE dump
 * (AF_INET) in a fresh namespace (local, main, default).
 */
#include "unit_test.h"
#include "cplane/cp_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <sys/socket.h>

/* type=24 (RTM_NEWROUTE) flags=0x600 (CREATE|EXCL) len=80 */
static const uint8_t cap_route_add[] __attribute__((aligned(4))) = {
  0x50, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x06, 0x69, 0xac, 0x06, 0x6b,
  0x89, 0x0e, 0x00, 0x00, 0x02, 0x18, 0x00, 0x00, 0xfe, 0x03, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x00, 0xfe, 0x00, 0x00, 0x00,
  0x08, 0x00, 0x01, 0x00, 0xc6, 0x13, 0x05, 0x00, 0x08, 0x00, 0x06, 0x00,
  0x64, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x08, 0x00, 0x08, 0x00, 0x02, 0x00,
  0x78, 0x05, 0x00, 0x00, 0x08, 0x00, 0x05, 0x00, 0xc6, 0x12, 0x00, 0x02,
  0x08, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00,
};
/* type=25 (RTM_DELROUTE) flags=0x0 len=80 */
static const uint8_t cap_route_del[] __attribute__((aligned(4))) = {
  0x50, 0x00, 0x00, 0x00, 0x19, 0x00, 0x00, 0x00, 0x69, 0xac, 0x06, 0x6b,
  0x09, 0x0f, 0x00, 0x00, 0x02, 0x18, 0x00, 0x00, 0xfe, 0x03, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x00, 0xfe, 0x00, 0x00, 0x00,
  0x08, 0x00, 0x01, 0x00, 0xc6, 0x13, 0x05, 0x00, 0x08, 0x00, 0x06, 0x00,
  0x64, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x08, 0x00, 0x08, 0x00, 0x02, 0x00,
  0x78, 0x05, 0x00, 0x00, 0x08, 0x00, 0x05, 0x00, 0xc6, 0x12, 0x00, 0x02,
  0x08, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00,
};
/* type=28 (RTM_NEWNEIGH) flags=0x0 len=76 */
static const uint8_t cap_neigh_new[] __attribute__((aligned(4))) = {
  0x4c, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x2e, 0x0f, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
  0x02, 0x00, 0x00, 0x01, 0x08, 0x00, 0x01, 0x00, 0xc6, 0x12, 0x00, 0x09,
  0x0a, 0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00,
  0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x03, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x02, 0x00, 0x00, 0x00,
};
/* type=20 (RTM_NEWADDR) flags=0x0 len=88 */
static const uint8_t cap_addr_new[] __attribute__((aligned(4))) = {
  0x58, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x69, 0xac, 0x06, 0x6b,
  0x86, 0x0f, 0x00, 0x00, 0x02, 0x18, 0x80, 0x00, 0x02, 0x00, 0x00, 0x00,
  0x08, 0x00, 0x01, 0x00, 0xc6, 0x13, 0x09, 0x01, 0x08, 0x00, 0x02, 0x00,
  0xc6, 0x13, 0x09, 0x01, 0x13, 0x00, 0x03, 0x00, 0x61, 0x6c, 0x30, 0x30,
  0x30, 0x33, 0x36, 0x30, 0x32, 0x39, 0x35, 0x30, 0x37, 0x61, 0x00, 0x00,
  0x08, 0x00, 0x08, 0x00, 0x80, 0x00, 0x00, 0x00, 0x14, 0x00, 0x06, 0x00,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x06, 0x00,
  0x0f, 0x7f, 0x06, 0x00,
};
/* type=32 (RTM_NEWRULE) flags=0x0 len=68 */
static const uint8_t cap_rule_new[] __attribute__((aligned(4))) = {
  0x44, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x6a, 0xac, 0x06, 0x6b,
  0xd6, 0x0f, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x64, 0x00, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x00, 0x64, 0x00, 0x00, 0x00,
  0x08, 0x00, 0x0e, 0x00, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x15, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x06, 0x00, 0xe8, 0x03, 0x00, 0x00,
  0x08, 0x00, 0x02, 0x00, 0xc6, 0x12, 0x00, 0x01,
};
/* type=32 flags=0x2 (NLM_F_MULTI) len=52: 0: from all lookup local */
static const uint8_t cap_rule_default0[] __attribute__((aligned(4))) = {
  0x34, 0x00, 0x00, 0x00, 0x20, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00,
  0xa8, 0x18, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x00, 0xff, 0x00, 0x00, 0x00,
  0x08, 0x00, 0x0e, 0x00, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x15, 0x00,
  0x02, 0x00, 0x00, 0x00,
};
/* type=32 flags=0x2 len=60: 32766: from all lookup main */
static const uint8_t cap_rule_default1[] __attribute__((aligned(4))) = {
  0x3c, 0x00, 0x00, 0x00, 0x20, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00,
  0xa8, 0x18, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xfe, 0x00, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x00, 0xfe, 0x00, 0x00, 0x00,
  0x08, 0x00, 0x0e, 0x00, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x15, 0x00,
  0x02, 0x00, 0x00, 0x00, 0x08, 0x00, 0x06, 0x00, 0xfe, 0x7f, 0x00, 0x00,
};
/* type=32 flags=0x2 len=60: 32767: from all lookup default */
static const uint8_t cap_rule_default2[] __attribute__((aligned(4))) = {
  0x3c, 0x00, 0x00, 0x00, 0x20, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00,
  0xa8, 0x18, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x00, 0xfd, 0x00, 0x00, 0x00,
  0x08, 0x00, 0x0e, 0x00, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x15, 0x00,
  0x02, 0x00, 0x00, 0x00, 0x08, 0x00, 0x06, 0x00, 0xff, 0x7f, 0x00, 0x00,
};

static const struct {
  const uint8_t* msg;
  size_t len;
} captured[] = {
  { cap_route_add, sizeof(cap_route_add) },
  { cap_route_del, sizeof(cap_route_del) },
  { cap_neigh_new, sizeof(cap_neigh_new) },
  { cap_addr_new, sizeof(cap_addr_new) },
  { cap_rule_new, sizeof(cap_rule_new) },
  { cap_rule_default0, sizeof(cap_rule_default0) },
  { cap_rule_default1, sizeof(cap_rule_default1) },
  { cap_rule_default2, sizeof(cap_rule_default2) },
};
#define N_CAPTURED (sizeof(captured) / sizeof(captured[0]))

static uint32_t ip(const char* s)
{
  struct in_addr a;

  if (inet_pton(AF_INET, s, &a) != 1)
    UNIT_FAIL("bad address %s", s);
  return a.s_addr;
}

/* A buffer for messages built here (8-aligned, like a receive buffer). */
struct msgbuf {
  uint64_t align;
  char b[4096];
};

/* A message built with libmnl; the caller adds attributes. */
static struct nlmsghdr* start(struct msgbuf* m, uint16_t type,
                              uint16_t flags, void** hdr, size_t hdrlen)
{
  struct nlmsghdr* nlh;

  memset(m, 0, sizeof(*m));
  nlh = mnl_nlmsg_put_header(m->b);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  *hdr = mnl_nlmsg_put_extra_header(nlh, hdrlen);
  return nlh;
}

static int apply(struct cp_table* t, const void* msg, size_t len)
{
  return cp__nl_apply_msg(t, msg, len, CP_NL_EVENT);
}

/* A route message: table main, universe scope unless no gateway. */
static struct nlmsghdr* route_msg(struct msgbuf* m, uint16_t type,
                                  uint16_t flags, const char* dst,
                                  unsigned len, int oif, const char* gw,
                                  uint32_t prio)
{
  struct rtmsg* rtm;
  struct nlmsghdr* nlh = start(m, type, flags, (void**)&rtm, sizeof(*rtm));

  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = (uint8_t)len;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
  if (len)
    mnl_attr_put_u32(nlh, RTA_DST, ip(dst));
  if (prio)
    mnl_attr_put_u32(nlh, RTA_PRIORITY, prio);
  if (gw)
    mnl_attr_put_u32(nlh, RTA_GATEWAY, ip(gw));
  if (oif)
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
  return nlh;
}

static struct nlmsghdr* link_msg(struct msgbuf* m, uint16_t type,
                                 int ifindex, const char* name,
                                 uint32_t flags, uint32_t mtu)
{
  static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
  struct ifinfomsg* ifi;
  struct nlmsghdr* nlh = start(m, type, 0, (void**)&ifi, sizeof(*ifi));

  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_type = ARPHRD_ETHER;
  ifi->ifi_index = ifindex;
  ifi->ifi_flags = flags;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
  mnl_attr_put(nlh, IFLA_BROADCAST, 6, "\xff\xff\xff\xff\xff\xff");
  return nlh;
}

/* base: links lo (1) and eth (2, up, accelerated), 198.18.0.1/24 on eth,
 * its connected route: enough for lookups through the captured routes. */
static void base(struct cp_table* t)
{
  struct msgbuf m;
  struct nlmsghdr* nlh;
  struct ifaddrmsg* ifa;

  cp__tbl_init(t);
  nlh = link_msg(&m, RTM_NEWLINK, 1, "lo",
                 IFF_UP | IFF_RUNNING | IFF_LOOPBACK, 65536);
  CHECK(apply(t, nlh, nlh->nlmsg_len), ==, 1);
  nlh = link_msg(&m, RTM_NEWLINK, 2, "eth0",
                 IFF_UP | IFF_RUNNING | IFF_BROADCAST, 1500);
  CHECK(apply(t, nlh, nlh->nlmsg_len), ==, 1);
  nlh = start(&m, RTM_NEWADDR, 0, (void**)&ifa, sizeof(*ifa));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = 24;
  ifa->ifa_index = 2;
  mnl_attr_put_u32(nlh, IFA_LOCAL, ip("198.18.0.1"));
  mnl_attr_put_u32(nlh, IFA_ADDRESS, ip("198.18.0.1"));
  CHECK(apply(t, nlh, nlh->nlmsg_len), ==, 1);
  nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
                  "198.18.0.0", 24, 2, NULL, 0);
  mnl_attr_put_u32(nlh, RTA_PREFSRC, ip("198.18.0.1"));
  CHECK(apply(t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_set_accelerated(t, 2, 1), ==, 1);
}

static void test_cp_netlink_route_captured(void)
{
  struct cp_table t;
  struct cp_route r;
  const struct cp_route_ent* e;
  uint64_t rg;

  base(&t);
  CHECK(apply(&t, cap_route_add, sizeof(cap_route_add)), ==, 1);
  CHECK(t.n_routes, ==, 2);
  e = &t.routes[0];                      /* /24s sort by address */
  CHECK(e->dst_be32, ==, ip("198.18.0.0"));
  e = &t.routes[1];
  CHECK(e->dst_be32, ==, ip("198.19.5.0"));
  CHECK(e->dst_len, ==, 24);
  CHECK(e->gw_be32, ==, ip("198.18.0.2"));
  CHECK(e->oif, ==, 2);
  CHECK(e->priority, ==, 100);
  CHECK(e->mtu, ==, 1400);
  CHECK(e->table, ==, 254);
  CHECK(e->type, ==, RTN_UNICAST);
  CHECK(e->scope, ==, RT_SCOPE_UNIVERSE);
  CHECK(e->protocol, ==, RTPROT_BOOT);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.5.9"), 0, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.2"));
  CHECK(r.mtu, ==, 1400);
  CHECK(r.metric, ==, 100);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));
  CHECK(r.accelerated, ==, 1);
  /* Applying it again (a notification a dump already showed): no change. */
  rg = t.route_gen;
  CHECK(apply(&t, cap_route_add, sizeof(cap_route_add)), ==, 0);
  CHECK(t.route_gen, ==, rg);
  CHECK(apply(&t, cap_route_del, sizeof(cap_route_del)), ==, 1);
  CHECK(t.n_routes, ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.5.9"), 0, 0, &r), ==,
        -ENETUNREACH);
  CHECK(apply(&t, cap_route_del, sizeof(cap_route_del)), ==, 0);
  CHECK(t.stats.nl_msgs, ==, 8);
  CHECK(t.stats.nl_malformed, ==, 0);
  cp__tbl_free(&t);
}

/* The notification flags say where the kernel put the route among those
 * of the same key: add = CREATE|EXCL, append = CREATE|APPEND, prepend =
 * CREATE, replace = REPLACE (seen on Linux 6.18). */
static void test_cp_netlink_route_flags(void)
{
  struct cp_table t;
  struct cp_route r;
  struct msgbuf m;
  struct nlmsghdr* nlh;

  base(&t);
  nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, "198.19.5.0",
                  24, 2, "198.18.0.2", 100);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_APPEND,
                  "198.19.5.0", 24, 2, NULL, 100);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.5.9"), 0, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.2"));
  nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE, "198.19.5.0", 24, 2,
                  "198.18.0.3", 100);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.5.9"), 0, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.3"));
  nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_REPLACE, "198.19.5.0", 24, 2,
                  "198.18.0.4", 100);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.5.9"), 0, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.4"));
  CHECK(t.n_routes, ==, 4);
  nlh = route_msg(&m, RTM_DELROUTE, 0, "198.19.5.0", 24, 2, "198.18.0.4",
                  100);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.5.9"), 0, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.2"));
  nlh = route_msg(&m, RTM_DELROUTE, 0, "198.19.5.0", 24, 2, "198.18.0.2",
                  100);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.5.9"), 0, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.19.5.9"));       /* the dev route */
  cp__tbl_free(&t);
}

static void test_cp_netlink_route_kinds(void)
{
  struct cp_table t;
  struct cp_route r;
  struct msgbuf m;
  struct nlmsghdr* nlh;
  struct nlattr* mp;
  struct rtnexthop* nh;
  struct rtmsg* rtm;

  base(&t);
  /* Local table, type local (no RTA_TABLE: rtm_table counts). */
  nlh = start(&m, RTM_NEWROUTE, NLM_F_CREATE, (void**)&rtm, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 32;
  rtm->rtm_table = RT_TABLE_LOCAL;
  rtm->rtm_type = RTN_LOCAL;
  rtm->rtm_scope = RT_SCOPE_HOST;
  mnl_attr_put_u32(nlh, RTA_DST, ip("198.18.0.1"));
  mnl_attr_put_u32(nlh, RTA_OIF, 2);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.18.0.1"), 0, 0, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_LOCAL);
  CHECK(r.ifindex, ==, 1);

  /* Unreachable, no next hop. */
  nlh = start(&m, RTM_NEWROUTE, NLM_F_CREATE, (void**)&rtm, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 24;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_type = RTN_UNREACHABLE;
  mnl_attr_put_u32(nlh, RTA_DST, ip("198.19.66.0"));
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.66.1"), 0, 0, &r), ==,
        -EHOSTUNREACH);
  CHECK(r.type, ==, CP_RT_UNREACHABLE);

  /* Multipath with two hops: modelled as unsupported, first hop kept. */
  nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE, "198.19.67.0", 24, 0,
                  NULL, 0);
  mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
  nh = mnl_nlmsg_get_payload_tail(nlh);
  mnl_nlmsg_put_extra_header(nlh, sizeof(*nh));
  nh->rtnh_ifindex = 2;
  mnl_attr_put_u32(nlh, RTA_GATEWAY, ip("198.18.0.2"));
  nh->rtnh_len = (unsigned short)((char*)mnl_nlmsg_get_payload_tail(nlh) -
                                  (char*)nh);
  nh = mnl_nlmsg_get_payload_tail(nlh);
  mnl_nlmsg_put_extra_header(nlh, sizeof(*nh));
  nh->rtnh_ifindex = 2;
  mnl_attr_put_u32(nlh, RTA_GATEWAY, ip("198.18.0.3"));
  nh->rtnh_len = (unsigned short)((char*)mnl_nlmsg_get_payload_tail(nlh) -
                                  (char*)nh);
  mnl_attr_nest_end(nlh, mp);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.67.1"), 0, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, 2);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.2"));
  CHECK(r.flags & CP_ROUTE_F_UNSUPPORTED, ==, CP_ROUTE_F_UNSUPPORTED);
  CHECK(r.accelerated, ==, 0);

  /* A nexthop object. */
  nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE, "198.19.68.0", 24, 0,
                  NULL, 0);
  mnl_attr_put_u32(nlh, RTA_NH_ID, 7);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_route_lookup(&t, ip("198.19.68.1"), 0, 0, &r), ==, 0);
  CHECK(r.accelerated, ==, 0);
  CHECK(r.flags & CP_ROUTE_F_UNSUPPORTED, ==, CP_ROUTE_F_UNSUPPORTED);
  cp__tbl_free(&t);
}

static void test_cp_netlink_neigh_captured(void)
{
  struct cp_table t;
  struct cp_neigh out;
  uint8_t del[sizeof(cap_neigh_new)] __attribute__((aligned(4)));
  struct nlmsghdr* nlh;

  cp__tbl_init(&t);
  CHECK(apply(&t, cap_neigh_new, sizeof(cap_neigh_new)), ==, 1);
  CHECK(cp__tbl_neigh_lookup(&t, 2, ip("198.18.0.9"), &out), ==, 0);
  CHECK(out.state, ==, NUD_REACHABLE);
  CHECK_MEM(out.mac, "\x02\x00\x00\x00\x00\x09", 6);
  CHECK(cp__tbl_neigh_find(&t, 2, ip("198.18.0.9"))->mac_len, ==, 6);
  /* The same message as RTM_DELNEIGH (the kernel sends the entry's last
   * state with it). */
  memcpy(del, cap_neigh_new, sizeof(del));
  nlh = (struct nlmsghdr*)del;
  nlh->nlmsg_type = RTM_DELNEIGH;
  CHECK(apply(&t, del, sizeof(del)), ==, 1);
  CHECK(cp__tbl_neigh_lookup(&t, 2, ip("198.18.0.9"), &out), ==, -EAGAIN);
  CHECK(t.n_neighs, ==, 0);
  cp__tbl_free(&t);
}

static void test_cp_netlink_neigh_built(void)
{
  struct cp_table t;
  struct cp_neigh out;
  struct msgbuf m;
  struct nlmsghdr* nlh;
  struct ndmsg* ndm;

  cp__tbl_init(&t);
  /* FAILED carries no lladdr. */
  nlh = start(&m, RTM_NEWNEIGH, 0, (void**)&ndm, sizeof(*ndm));
  ndm->ndm_family = AF_INET;
  ndm->ndm_ifindex = 2;
  ndm->ndm_state = NUD_FAILED;
  mnl_attr_put_u32(nlh, NDA_DST, ip("198.18.0.77"));
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_neigh_lookup(&t, 2, ip("198.18.0.77"), &out), ==,
        -EHOSTUNREACH);
  /* Managed entries (NDA_FLAGS_EXT) are not confirmed. */
  nlh = start(&m, RTM_NEWNEIGH, 0, (void**)&ndm, sizeof(*ndm));
  ndm->ndm_family = AF_INET;
  ndm->ndm_ifindex = 2;
  ndm->ndm_state = NUD_STALE;
  mnl_attr_put_u32(nlh, NDA_DST, ip("198.18.0.5"));
  mnl_attr_put(nlh, NDA_LLADDR, 6, "\x02\x00\x00\x00\x00\x05");
  mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_neigh_find(&t, 2, ip("198.18.0.5"))->managed, ==, 1);
  /* Bridge FDB (AF_BRIDGE), IPv6 and proxy entries are of no interest. */
  ndm->ndm_family = AF_BRIDGE;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  ndm->ndm_family = AF_INET6;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  ndm->ndm_family = AF_INET;
  ndm->ndm_flags = NTF_PROXY;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  CHECK(t.stats.nl_ignored, ==, 3);
  CHECK(t.n_neighs, ==, 2);
  cp__tbl_free(&t);
}

static void test_cp_netlink_addr_captured(void)
{
  struct cp_table t;
  struct cp_addr a;
  uint8_t del[sizeof(cap_addr_new)] __attribute__((aligned(4)));

  cp__tbl_init(&t);
  CHECK(apply(&t, cap_addr_new, sizeof(cap_addr_new)), ==, 1);
  CHECK(cp__tbl_addr_get(&t, 2, 0, &a), ==, 0);
  CHECK(a.local_be32, ==, ip("198.19.9.1"));
  CHECK(a.peer_be32, ==, ip("198.19.9.1"));
  CHECK(a.prefix_len, ==, 24);
  CHECK(a.scope, ==, RT_SCOPE_UNIVERSE);
  CHECK(a.flags, ==, IFA_F_PERMANENT);
  CHECK(a.broadcast_be32, ==, 0);
  CHECK(cp__tbl_addr_ifindex(&t, ip("198.19.9.1")), ==, 2);
  CHECK(t.pending, ==, 0);
  memcpy(del, cap_addr_new, sizeof(del));
  ((struct nlmsghdr*)del)->nlmsg_type = RTM_DELADDR;
  CHECK(apply(&t, del, sizeof(del)), ==, 1);
  CHECK(cp__tbl_addr_get(&t, 2, 0, &a), ==, -ENOENT);
  CHECK(t.pending, ==, CP_PEND(CP_K_ROUTES));
  cp__tbl_free(&t);
}

static void test_cp_netlink_link_built(void)
{
  struct cp_table t;
  struct cp_link l;
  struct msgbuf m;
  struct nlmsghdr* nlh;
  struct ifinfomsg* ifi;

  cp__tbl_init(&t);
  nlh = link_msg(&m, RTM_NEWLINK, 5, "eth5", IFF_UP | IFF_RUNNING, 9000);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_link_get(&t, 5, &l), ==, 0);
  CHECK_STR(l.name, ==, "eth5");
  CHECK(l.mtu, ==, 9000);
  CHECK(l.up, ==, 1);
  CHECK(l.running, ==, 1);
  CHECK(l.arptype, ==, ARPHRD_ETHER);
  CHECK(l.mac_len, ==, 6);
  CHECK_MEM(l.mac, "\x02\x11\x22\x33\x44\x55", 6);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  /* Down: routes must be re-dumped. */
  ifi = mnl_nlmsg_get_payload(nlh);
  ifi->ifi_flags = 0;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(t.pending, ==, CP_PEND(CP_K_ROUTES));
  /* A bridge port event is not a link of ours. */
  ifi->ifi_family = AF_BRIDGE;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  CHECK(t.stats.nl_ignored, ==, 1);
  /* A name without its NUL, or too long, is malformed. */
  nlh = start(&m, RTM_NEWLINK, 0, (void**)&ifi, sizeof(*ifi));
  ifi->ifi_index = 6;
  mnl_attr_put(nlh, IFLA_IFNAME, 4, "abcd");
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  nlh = start(&m, RTM_NEWLINK, 0, (void**)&ifi, sizeof(*ifi));
  ifi->ifi_index = 6;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "a-name-of-17-char");
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  CHECK(t.stats.nl_malformed, ==, 2);
  /* Deleted. */
  nlh = link_msg(&m, RTM_DELLINK, 5, "eth5", 0, 9000);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 1);
  CHECK(cp__tbl_link_get(&t, 5, &l), ==, -ENODEV);
  cp__tbl_free(&t);
}

static void test_cp_netlink_rules(void)
{
  struct cp_table t;

  CHECK(cp__nl_rule_is_custom(cap_rule_default0, sizeof(cap_rule_default0)),
        ==, 0);
  CHECK(cp__nl_rule_is_custom(cap_rule_default1, sizeof(cap_rule_default1)),
        ==, 0);
  CHECK(cp__nl_rule_is_custom(cap_rule_default2, sizeof(cap_rule_default2)),
        ==, 0);
  CHECK(cp__nl_rule_is_custom(cap_rule_new, sizeof(cap_rule_new)), ==, 1);
  CHECK(cp__nl_rule_is_custom(cap_rule_new, 10), ==, -EINVAL);

  cp__tbl_init(&t);
  CHECK(cp__tbl_sync_begin(&t, CP_K_RULES), ==, 0);
  CHECK(cp__nl_apply_msg(&t, cap_rule_default0, sizeof(cap_rule_default0),
                         CP_NL_DUMP), ==, 0);
  CHECK(cp__nl_apply_msg(&t, cap_rule_new, sizeof(cap_rule_new),
                         CP_NL_DUMP), ==, 0);
  CHECK(cp__nl_apply_msg(&t, cap_rule_default1, sizeof(cap_rule_default1),
                         CP_NL_DUMP), ==, 0);
  CHECK(cp__tbl_sync_end(&t, CP_K_RULES, 1), ==, 1);
  CHECK(t.custom_rules, ==, 1);
  /* A notification asks for a re-dump. */
  CHECK(t.pending, ==, 0);
  CHECK(apply(&t, cap_rule_default2, sizeof(cap_rule_default2)), ==, 0);
  CHECK(t.pending, ==, CP_PEND(CP_K_RULES));
  CHECK(t.stats.nl_msgs, ==, 4);
  cp__tbl_free(&t);
}

static void test_cp_netlink_ignored(void)
{
  struct cp_table t;
  struct msgbuf m;
  struct nlmsghdr* nlh;
  struct rtmsg* rtm;

  cp__tbl_init(&t);
  nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE, "198.19.5.0", 24, 2, NULL,
                  0);
  rtm = mnl_nlmsg_get_payload(nlh);
  rtm->rtm_family = AF_INET6;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  rtm->rtm_family = AF_INET;
  rtm->rtm_flags = RTM_F_CLONED;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  rtm->rtm_flags = 0;
  nlh = route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE, "198.19.5.0", 24, 2, NULL,
                  0);
  mnl_attr_put_u32(nlh, RTA_TABLE, 100);     /* the last one counts */
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  nlh->nlmsg_type = RTM_NEWNSID;             /* a type we do not handle */
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  nlh->nlmsg_type = NLMSG_DONE;              /* control: not counted */
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, 0);
  CHECK(t.stats.nl_ignored, ==, 4);
  CHECK(t.stats.nl_msgs, ==, 0);
  CHECK(t.n_routes, ==, 0);
  cp__tbl_free(&t);
}

/* check_sane: the table's invariants after arbitrary input. */
static void check_sane(const struct cp_table* t)
{
  size_t i;

  CHECK(t->n_links, <=, t->cap_links);
  CHECK(t->n_routes, <=, t->cap_routes);
  /* Arrays being re-dumped are unsorted until the dump ends. */
  for (i = 1; !t->sync[CP_K_LINKS].active && i < t->n_links; i++)
    CHECK(t->links[i - 1].ifindex, <, t->links[i].ifindex);
  for (i = 0; i < t->n_routes; i++) {
    CHECK(t->routes[i].dst_len, <=, 32);
    CHECK(t->routes[i].table, >=, 253);
  }
  for (i = 1; !t->sync[CP_K_NEIGHS].active && i < t->n_neighs; i++)
    CHECK(t->neighs[i - 1].ifindex, <=, t->neighs[i].ifindex);
  for (i = 0; i < t->n_links; i++)
    CHECK(strnlen(t->links[i].name, IF_NAMESIZE), <, IF_NAMESIZE);
}

/* Every truncation of every captured message, two ways: the buffer ends
 * early (nlmsg_len then exceeds it), or nlmsg_len itself is cut. */
static void test_cp_netlink_truncated(void)
{
  struct cp_table t;
  struct msgbuf m;
  size_t i, len;

  cp__tbl_init(&t);
  for (i = 0; i < N_CAPTURED; i++) {
    for (len = 0; len < captured[i].len; len++) {
      uint64_t bad = t.stats.nl_malformed;
      memcpy(m.b, captured[i].msg, len);
      CHECK(apply(&t, m.b, len), ==, -EINVAL);
      CHECK(t.stats.nl_malformed, ==, bad + 1);
      if (len >= NLMSG_HDRLEN) {
        ((struct nlmsghdr*)m.b)->nlmsg_len = (uint32_t)len;
        CHECK(apply(&t, m.b, len), <=, 1);
      }
      check_sane(&t);
    }
  }
  /* The message header itself. */
  CHECK(apply(&t, NULL, 100), ==, -EINVAL);
  CHECK(apply(&t, cap_route_add + 1, sizeof(cap_route_add) - 1), ==,
        -EINVAL);                             /* misaligned */
  memcpy(m.b, cap_route_add, sizeof(cap_route_add));
  ((struct nlmsghdr*)m.b)->nlmsg_len = 4;
  CHECK(apply(&t, m.b, sizeof(cap_route_add)), ==, -EINVAL);
  cp__tbl_free(&t);
}

/* Attribute and payload checks on otherwise good messages. */
static void test_cp_netlink_bad_fields(void)
{
  struct cp_table t;
  struct msgbuf m;
  struct nlmsghdr* nlh;
  struct nlattr* at;
  struct rtmsg* rtm;
  struct ndmsg* ndm;
  struct ifaddrmsg* ifa;
  uint64_t bad;

  cp__tbl_init(&t);
  bad = t.stats.nl_malformed;
  /* An attribute longer than the message. */
  memcpy(m.b, cap_route_add, sizeof(cap_route_add));
  at = (struct nlattr*)(m.b + 28);
  at->nla_len = 0xfff0;
  CHECK(apply(&t, m.b, sizeof(cap_route_add)), ==, -EINVAL);
  /* An attribute shorter than its header. */
  at->nla_len = 2;
  CHECK(apply(&t, m.b, sizeof(cap_route_add)), ==, -EINVAL);
  /* Trailing bytes after the last attribute. */
  memcpy(m.b, cap_route_add, sizeof(cap_route_add));
  ((struct nlmsghdr*)m.b)->nlmsg_len += 2;
  CHECK(apply(&t, m.b, sizeof(cap_route_add) + 2), ==, -EINVAL);
  /* RTA_DST of 3 bytes; dst_len 33; RTA_OIF beyond INT_MAX. */
  nlh = start(&m, RTM_NEWROUTE, 0, (void**)&rtm, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_dst_len = 24;
  mnl_attr_put(nlh, RTA_DST, 3, "\xc6\x13\x05");
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  nlh = start(&m, RTM_NEWROUTE, 0, (void**)&rtm, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_dst_len = 33;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  nlh = start(&m, RTM_NEWROUTE, 0, (void**)&rtm, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  mnl_attr_put_u32(nlh, RTA_OIF, 0x80000000u);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  /* Metrics with a bad nested attribute. */
  nlh = start(&m, RTM_NEWROUTE, 0, (void**)&rtm, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  at = mnl_attr_nest_start(nlh, RTA_METRICS);
  mnl_attr_put_u16(nlh, RTAX_MTU, 1400);
  mnl_attr_nest_end(nlh, at);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  /* Multipath with a hop longer than the attribute. */
  nlh = start(&m, RTM_NEWROUTE, 0, (void**)&rtm, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  mnl_attr_put(nlh, RTA_MULTIPATH, 8, "\x40\x00\x00\x00\x02\x00\x00\x00");
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  /* A neighbour without NDA_DST, with ifindex 0, with a 40-byte lladdr. */
  nlh = start(&m, RTM_NEWNEIGH, 0, (void**)&ndm, sizeof(*ndm));
  ndm->ndm_family = AF_INET;
  ndm->ndm_ifindex = 2;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  mnl_attr_put_u32(nlh, NDA_DST, ip("198.18.0.2"));
  ndm->ndm_ifindex = 0;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  ndm->ndm_ifindex = 2;
  mnl_attr_put(nlh, NDA_LLADDR, 40, m.b);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  /* An address with no address, or prefix length 33. */
  nlh = start(&m, RTM_NEWADDR, 0, (void**)&ifa, sizeof(*ifa));
  ifa->ifa_family = AF_INET;
  ifa->ifa_index = 2;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  mnl_attr_put_u32(nlh, IFA_LOCAL, ip("198.18.0.1"));
  ifa->ifa_prefixlen = 33;
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  /* A family header that does not fit. */
  nlh = start(&m, RTM_NEWROUTE, 0, (void**)&rtm, 4);
  CHECK(apply(&t, nlh, nlh->nlmsg_len), ==, -EINVAL);
  CHECK(t.stats.nl_malformed, ==, bad + 14);
  CHECK(t.n_routes + t.n_neighs + t.n_addrs, ==, 0);
  cp__tbl_free(&t);
}

/* xorshift64: a fixed sequence, so that a failure can be replayed. */
static uint64_t rnd(uint64_t* s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Random corruption of real messages, in both modes, with some of the
 * tables in a re-dump: nothing may crash, the table stays sane. */
static void test_cp_netlink_corrupted(void)
{
  struct cp_table t;
  struct msgbuf m;
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int round, k;

  cp__tbl_init(&t);
  for (round = 0; round < 20000; round++) {
    size_t i = rnd(&seed) % N_CAPTURED;
    size_t len = captured[i].len;
    enum cp_nl_mode mode = (round & 1) ? CP_NL_DUMP : CP_NL_EVENT;
    int flips = 1 + (int)(rnd(&seed) % 4);

    memcpy(m.b, captured[i].msg, len);
    for (k = 0; k < flips; k++)
      m.b[rnd(&seed) % len] ^= (char)(1u << (rnd(&seed) % 8));
    if (round % 1000 == 0)
      cp__tbl_sync_begin(&t, (enum cp_kind)(rnd(&seed) % CP_K_N));
    cp__nl_apply_msg(&t, m.b, len, mode);
    cp__nl_apply_buf(&t, m.b, len, mode);
    if (round % 1000 == 999)
      for (k = 0; k < CP_K_N; k++)
        cp__tbl_sync_end(&t, (enum cp_kind)k, 1);
    if (round % 97 == 0)
      check_sane(&t);
  }
  check_sane(&t);
  CHECK(t.stats.nl_malformed, >, 0);
  CHECK(t.stats.nl_msgs, >, 0);
  cp__tbl_free(&t);
}

/* Several messages in one buffer, as a dump delivers them. */
static void test_cp_netlink_buffer(void)
{
  struct cp_table t;
  struct msgbuf m;
  size_t off = 0;

  cp__tbl_init(&t);
  memcpy(m.b + off, cap_addr_new, sizeof(cap_addr_new));
  off += sizeof(cap_addr_new);
  memcpy(m.b + off, cap_neigh_new, sizeof(cap_neigh_new));
  off += sizeof(cap_neigh_new);
  memcpy(m.b + off, cap_route_add, sizeof(cap_route_add));
  off += sizeof(cap_route_add);
  CHECK(cp__nl_apply_buf(&t, m.b, off, CP_NL_EVENT), ==, 3);
  CHECK(t.n_addrs, ==, 1);
  CHECK(t.n_neighs, ==, 1);
  CHECK(t.n_routes, ==, 1);
  CHECK(t.stats.nl_malformed, ==, 0);
  /* A partial header at the end is counted. */
  CHECK(cp__nl_apply_buf(&t, m.b, off + 8, CP_NL_EVENT), ==, 0);
  CHECK(t.stats.nl_malformed, ==, 1);
  CHECK(cp__nl_apply_buf(&t, m.b + 2, off, CP_NL_EVENT), ==, 0);
  CHECK(t.stats.nl_malformed, ==, 2);
  cp__tbl_free(&t);
}

static void test_cp_netlink_requests(void)
{
  static const uint16_t types[CP_K_N] = {
    RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH, RTM_GETRULE,
  };
  static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 0x42 };
  struct msgbuf m;
  const struct nlmsghdr* nlh = (const struct nlmsghdr*)m.b;
  const struct ndmsg* ndm;
  const struct nlattr* at;
  int k, len;

  for (k = 0; k < CP_K_N; k++) {
    len = cp__nl_build_dump(m.b, sizeof(m.b), (enum cp_kind)k, 77);
    CHECK(len, >, 0);
    CHECK(nlh->nlmsg_len, ==, len);
    CHECK(nlh->nlmsg_type, ==, types[k]);
    CHECK(nlh->nlmsg_flags, ==, NLM_F_REQUEST | NLM_F_DUMP);
    CHECK(nlh->nlmsg_seq, ==, 77);
    /* The family is the first byte of every family header. */
    CHECK(((const uint8_t*)mnl_nlmsg_get_payload(nlh))[0], ==,
          k == CP_K_LINKS ? AF_UNSPEC : AF_INET);
  }
  len = cp__nl_build_dump(m.b, sizeof(m.b), CP_K_LINKS, 1);
  CHECK(len, ==, NLMSG_HDRLEN + sizeof(struct ifinfomsg) + 8);
  at = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ifinfomsg));
  CHECK(mnl_attr_get_type(at), ==, IFLA_EXT_MASK);
  CHECK(mnl_attr_get_u32(at), ==, RTEXT_FILTER_SKIP_STATS);
  CHECK(cp__nl_build_dump(m.b, sizeof(m.b), CP_K_N, 1), ==, -EINVAL);
  CHECK(cp__nl_build_dump(m.b, 16, CP_K_LINKS, 1), ==, -EINVAL);

  len = cp__nl_build_neigh_use(m.b, sizeof(m.b), 9, 2, ip("198.18.0.2"));
  CHECK(len, ==, NLMSG_HDRLEN + sizeof(struct ndmsg) + 8);
  CHECK(nlh->nlmsg_type, ==, RTM_NEWNEIGH);
  CHECK(nlh->nlmsg_flags, ==, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
  ndm = mnl_nlmsg_get_payload(nlh);
  CHECK(ndm->ndm_family, ==, AF_INET);
  CHECK(ndm->ndm_ifindex, ==, 2);
  CHECK(ndm->ndm_flags, ==, NTF_USE);
  CHECK(ndm->ndm_state, ==, NUD_NONE);
  at = mnl_nlmsg_get_payload_offset(nlh, sizeof(*ndm));
  CHECK(mnl_attr_get_type(at), ==, NDA_DST);
  CHECK(mnl_attr_get_u32(at), ==, ip("198.18.0.2"));
  CHECK(cp__nl_build_neigh_use(m.b, sizeof(m.b), 9, 0, 1), ==, -EINVAL);

  len = cp__nl_build_neigh_confirm(m.b, sizeof(m.b), 10, 3,
                                   ip("198.18.0.3"), mac);
  CHECK(len, ==, NLMSG_HDRLEN + sizeof(struct ndmsg) + 8 + 12);
  CHECK(nlh->nlmsg_flags, ==, NLM_F_REQUEST | NLM_F_ACK);
  ndm = mnl_nlmsg_get_payload(nlh);
  CHECK(ndm->ndm_state, ==, NUD_REACHABLE);
  CHECK(ndm->ndm_flags, ==, 0);
  CHECK(ndm->ndm_ifindex, ==, 3);
  at = mnl_attr_next(mnl_nlmsg_get_payload_offset(nlh, sizeof(*ndm)));
  CHECK(mnl_attr_get_type(at), ==, NDA_LLADDR);
  CHECK(mnl_attr_get_payload_len(at), ==, 6);
  CHECK_MEM(mnl_attr_get_payload(at), mac, 6);
  CHECK(cp__nl_build_neigh_confirm(m.b, sizeof(m.b), 10, 3, 1, NULL), ==,
        -EINVAL);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_cp_netlink_route_captured),
  UNIT_TEST(test_cp_netlink_route_flags),
  UNIT_TEST(test_cp_netlink_route_kinds),
  UNIT_TEST(test_cp_netlink_neigh_captured),
  UNIT_TEST(test_cp_netlink_neigh_built),
  UNIT_TEST(test_cp_netlink_addr_captured),
  UNIT_TEST(test_cp_netlink_link_built),
  UNIT_TEST(test_cp_netlink_rules),
  UNIT_TEST(test_cp_netlink_ignored),
  UNIT_TEST(test_cp_netlink_truncated),
  UNIT_TEST(test_cp_netlink_bad_fields),
  UNIT_TEST(test_cp_netlink_corrupted),
  UNIT_TEST(test_cp_netlink_buffer),
  UNIT_TEST(test_cp_netlink_requests),
};

UNIT_TEST_MAIN(tests)
