/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for cplane/cp_table.c on hand-built tables: longest-prefix
 * match, metrics, alias order (prepend/append/replace), default routes
 * and the default table, local and broadcast destinations, error routes,
 * oif and source hints, multicast, source selection, MTU, the accelerated
 * flag, removal, re-dumps, generation counters, and the neighbour states,
 * resolution bookkeeping and rate limits. Default routes are tested here
 * only: tests never add one to a real system.
 */
#include "unit_test.h"
#include "cplane/cp_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#define LO   1
#define ETH  2      /* accelerated */
#define OTH  3      /* not accelerated */
#define DOWN 4      /* administratively down */

static uint32_t ip(const char* s)
{
  struct in_addr a;

  if (inet_pton(AF_INET, s, &a) != 1)
    UNIT_FAIL("bad address %s", s);
  return a.s_addr;
}

static void add_link(struct cp_table* t, int ifindex, const char* name,
                     uint32_t flags, uint32_t mtu)
{
  struct cp_link_ent e;

  memset(&e, 0, sizeof(e));
  e.ifindex = ifindex;
  e.flags = flags;
  e.mtu = mtu;
  e.mac_len = 6;
  e.mac[5] = (uint8_t)ifindex;
  snprintf(e.name, sizeof(e.name), "%s", name);
  CHECK(cp__tbl_link_update(t, &e), ==, 1);
}

static void add_addr(struct cp_table* t, int ifindex, const char* a,
                     unsigned plen, unsigned scope, uint32_t flags)
{
  struct cp_addr_ent e;

  memset(&e, 0, sizeof(e));
  e.ifindex = ifindex;
  e.local_be32 = e.peer_be32 = ip(a);
  e.prefix_len = (uint8_t)plen;
  e.scope = (uint8_t)scope;
  e.flags = flags;
  CHECK(cp__tbl_addr_update(t, &e), ==, 1);
}

/* rt: a route entry. dst "a.b.c.d/len"; gw and src may be NULL. */
static struct cp_route_ent rt(const char* dst, int table, int type, int oif,
                              const char* gw, const char* src,
                              uint32_t prio)
{
  struct cp_route_ent e;
  char buf[32];
  char* slash;

  memset(&e, 0, sizeof(e));
  snprintf(buf, sizeof(buf), "%s", dst);
  slash = strchr(buf, '/');
  if (slash) {
    *slash = '\0';
    e.dst_len = (uint8_t)atoi(slash + 1);
  } else {
    e.dst_len = 32;
  }
  e.dst_be32 = ip(buf);
  e.table = (uint8_t)table;
  e.type = (uint8_t)type;
  e.oif = oif;
  e.gw_be32 = gw ? ip(gw) : 0;
  e.prefsrc_be32 = src ? ip(src) : 0;
  e.priority = prio;
  e.scope = type == RTN_LOCAL ? RT_SCOPE_HOST :
            (gw || type != RTN_UNICAST) ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  if (type == RTN_BROADCAST)
    e.scope = RT_SCOPE_LINK;
  e.protocol = RTPROT_KERNEL;
  return e;
}

static void add_rt(struct cp_table* t, struct cp_route_ent e)
{
  CHECK(cp__tbl_route_update(t, &e, CP_ROUTE_PREPEND), ==, 1);
}

/* host: lo, eth (198.18.0.1/24, accelerated), oth (198.19.0.1/24), a down
 * link, and the routes the kernel makes for those addresses. */
static void host(struct cp_table* t)
{
  cp__tbl_init(t);
  add_link(t, LO, "lo", IFF_UP | IFF_RUNNING | IFF_LOOPBACK, 65536);
  add_link(t, ETH, "eth", IFF_UP | IFF_RUNNING | IFF_BROADCAST, 1500);
  add_link(t, OTH, "oth", IFF_UP | IFF_RUNNING | IFF_BROADCAST, 9000);
  add_link(t, DOWN, "down", IFF_BROADCAST, 1500);
  add_addr(t, LO, "127.0.0.1", 8, RT_SCOPE_HOST, IFA_F_PERMANENT);
  add_addr(t, ETH, "198.18.0.1", 24, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT);
  add_addr(t, OTH, "198.19.0.1", 24, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT);
  add_rt(t, rt("127.0.0.0/8", 255, RTN_LOCAL, LO, NULL, "127.0.0.1", 0));
  add_rt(t, rt("127.0.0.1", 255, RTN_LOCAL, LO, NULL, "127.0.0.1", 0));
  add_rt(t, rt("127.255.255.255", 255, RTN_BROADCAST, LO, NULL, "127.0.0.1",
               0));
  add_rt(t, rt("198.18.0.1", 255, RTN_LOCAL, ETH, NULL, "198.18.0.1", 0));
  add_rt(t, rt("198.18.0.255", 255, RTN_BROADCAST, ETH, NULL, "198.18.0.1",
               0));
  add_rt(t, rt("198.19.0.1", 255, RTN_LOCAL, OTH, NULL, "198.19.0.1", 0));
  add_rt(t, rt("198.19.0.255", 255, RTN_BROADCAST, OTH, NULL, "198.19.0.1",
               0));
  add_rt(t, rt("198.18.0.0/24", 254, RTN_UNICAST, ETH, NULL, "198.18.0.1",
               0));
  add_rt(t, rt("198.19.0.0/24", 254, RTN_UNICAST, OTH, NULL, "198.19.0.1",
               0));
  CHECK(cp__tbl_set_accelerated(t, ETH, 1), ==, 1);
}

static int lookup(const struct cp_table* t, const char* dst, const char* src,
                  int oif, struct cp_route* r)
{
  return cp__tbl_route_lookup(t, ip(dst), src ? ip(src) : 0, oif, r);
}

static void test_cp_table_connected(void)
{
  struct cp_table t;
  struct cp_route r;

  host(&t);
  CHECK(lookup(&t, "198.18.0.2", NULL, 0, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_UNICAST);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.2"));
  CHECK(r.src_be32, ==, ip("198.18.0.1"));
  CHECK(r.mtu, ==, 1500);
  CHECK(r.accelerated, ==, 1);
  CHECK(r.prefix_len, ==, 24);
  CHECK(r.table, ==, 254);
  CHECK(r.flags, ==, 0);

  CHECK(lookup(&t, "198.19.0.7", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  CHECK(r.mtu, ==, 9000);
  CHECK(r.accelerated, ==, 0);
  cp__tbl_free(&t);
}

static void test_cp_table_lpm(void)
{
  struct cp_table t;
  struct cp_route r;

  host(&t);
  add_rt(&t, rt("198.19.5.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL,
                0));
  add_rt(&t, rt("198.19.5.128/25", 254, RTN_UNICAST, OTH, "198.19.0.2",
                NULL, 0));
  add_rt(&t, rt("198.19.5.200", 254, RTN_UNICAST, ETH, "198.18.0.3", NULL,
                0));
  add_rt(&t, rt("198.19.0.0/16", 254, RTN_UNICAST, ETH, "198.18.0.4", NULL,
                0));

  CHECK(lookup(&t, "198.19.5.1", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.2"));
  CHECK(r.flags & CP_ROUTE_F_GATEWAY, ==, CP_ROUTE_F_GATEWAY);
  CHECK(r.prefix_len, ==, 24);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));

  CHECK(lookup(&t, "198.19.5.129", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  CHECK(r.nexthop_be32, ==, ip("198.19.0.2"));
  CHECK(r.prefix_len, ==, 25);
  CHECK(r.accelerated, ==, 0);

  CHECK(lookup(&t, "198.19.5.200", NULL, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.3"));
  CHECK(r.prefix_len, ==, 32);

  /* /16 covers what the more specific ones do not. */
  CHECK(lookup(&t, "198.19.77.1", NULL, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.4"));
  CHECK(r.prefix_len, ==, 16);
  /* ... but the connected /24 on OTH is longer. */
  CHECK(lookup(&t, "198.19.0.9", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  CHECK(r.nexthop_be32, ==, ip("198.19.0.9"));
  cp__tbl_free(&t);
}

static void test_cp_table_metric(void)
{
  struct cp_table t;
  struct cp_route r;
  struct cp_route_ent lo_metric;

  host(&t);
  add_rt(&t, rt("198.19.6.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL,
                100));
  lo_metric = rt("198.19.6.0/24", 254, RTN_UNICAST, OTH, "198.19.0.2", NULL,
                 50);
  add_rt(&t, lo_metric);
  add_rt(&t, rt("198.19.6.0/24", 254, RTN_UNICAST, OTH, "198.19.0.3", NULL,
                200));
  CHECK(lookup(&t, "198.19.6.1", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  CHECK(r.metric, ==, 50);
  CHECK(r.nexthop_be32, ==, ip("198.19.0.2"));

  CHECK(cp__tbl_route_del(&t, &lo_metric), ==, 1);
  CHECK(lookup(&t, "198.19.6.1", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.metric, ==, 100);
  CHECK(r.accelerated, ==, 1);
  /* A longer prefix wins whatever its metric. */
  add_rt(&t, rt("198.19.6.0/25", 254, RTN_UNICAST, OTH, "198.19.0.4", NULL,
                1000));
  CHECK(lookup(&t, "198.19.6.1", NULL, 0, &r), ==, 0);
  CHECK(r.metric, ==, 1000);
  CHECK(r.nexthop_be32, ==, ip("198.19.0.4"));
  cp__tbl_free(&t);
}

/* Routes of one key (table, prefix, tos, metric) keep the kernel's alias
 * order: add/prepend go first, append last, replace takes the first's
 * place; the same route twice is one route. */
static void test_cp_table_alias_order(void)
{
  struct cp_table t;
  struct cp_route r;
  struct cp_route_ent a, b, c, d;

  host(&t);
  a = rt("198.19.7.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL, 10);
  b = rt("198.19.7.0/24", 254, RTN_UNICAST, ETH, "198.18.0.3", NULL, 10);
  c = rt("198.19.7.0/24", 254, RTN_UNICAST, ETH, "198.18.0.4", NULL, 10);
  d = rt("198.19.7.0/24", 254, RTN_UNICAST, ETH, "198.18.0.5", NULL, 10);
  CHECK(cp__tbl_route_update(&t, &a, CP_ROUTE_PREPEND), ==, 1);
  CHECK(cp__tbl_route_update(&t, &b, CP_ROUTE_APPEND), ==, 1);
  CHECK(lookup(&t, "198.19.7.1", NULL, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.2"));
  CHECK(cp__tbl_route_update(&t, &c, CP_ROUTE_PREPEND), ==, 1);
  CHECK(lookup(&t, "198.19.7.1", NULL, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.4"));
  CHECK(cp__tbl_route_update(&t, &d, CP_ROUTE_REPLACE), ==, 1);
  CHECK(lookup(&t, "198.19.7.1", NULL, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.5"));
  /* c was replaced: deleting it finds no exact match and removes the
   * first of the key (d), as the kernel's delete without a next hop. */
  CHECK(cp__tbl_route_del(&t, &c), ==, 1);
  CHECK(lookup(&t, "198.19.7.1", NULL, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.2"));
  /* The same route again changes nothing. */
  CHECK(cp__tbl_route_update(&t, &a, CP_ROUTE_PREPEND), ==, 0);
  CHECK(cp__tbl_route_del(&t, &b), ==, 1);
  CHECK(cp__tbl_route_del(&t, &a), ==, 1);
  CHECK(cp__tbl_route_del(&t, &a), ==, 0);
  CHECK(lookup(&t, "198.19.7.1", NULL, 0, &r), ==, -ENETUNREACH);
  cp__tbl_free(&t);
}

static void test_cp_table_default_route(void)
{
  struct cp_table t;
  struct cp_route r;
  struct cp_route_ent d1, d2;

  host(&t);
  CHECK(lookup(&t, "192.0.2.1", NULL, 0, &r), ==, -ENETUNREACH);
  d1 = rt("0.0.0.0/0", 254, RTN_UNICAST, ETH, "198.18.0.254", NULL, 10);
  d2 = rt("0.0.0.0/0", 254, RTN_UNICAST, OTH, "198.19.0.254", NULL, 5);
  add_rt(&t, d1);
  CHECK(lookup(&t, "192.0.2.1", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.254"));
  CHECK(r.prefix_len, ==, 0);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));
  CHECK(r.accelerated, ==, 1);
  add_rt(&t, d2);
  CHECK(lookup(&t, "192.0.2.1", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  CHECK(r.metric, ==, 5);
  /* More specific routes still win over the default. */
  CHECK(lookup(&t, "198.18.0.9", NULL, 0, &r), ==, 0);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.9"));
  CHECK(r.prefix_len, ==, 24);
  /* Local addresses are local, not sent to the gateway. */
  CHECK(lookup(&t, "198.18.0.1", NULL, 0, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_LOCAL);
  CHECK(cp__tbl_route_del(&t, &d2), ==, 1);
  CHECK(cp__tbl_route_del(&t, &d1), ==, 1);
  CHECK(lookup(&t, "192.0.2.1", NULL, 0, &r), ==, -ENETUNREACH);
  cp__tbl_free(&t);
}

/* Table 253 is consulted only when local+main fail, and replaces their
 * error; throw in main falls through to it. */
static void test_cp_table_default_table(void)
{
  struct cp_table t;
  struct cp_route r;

  host(&t);
  add_rt(&t, rt("0.0.0.0/0", 253, RTN_UNICAST, OTH, "198.19.0.254", NULL,
                0));
  CHECK(lookup(&t, "192.0.2.1", NULL, 0, &r), ==, 0);
  CHECK(r.table, ==, 253);
  CHECK(r.flags & CP_ROUTE_F_DEFAULT_TABLE, ==, CP_ROUTE_F_DEFAULT_TABLE);
  CHECK(r.ifindex, ==, OTH);
  /* main wins where it has a route, even a shorter-prefix one. */
  add_rt(&t, rt("192.0.0.0/8", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL,
                0));
  CHECK(lookup(&t, "192.0.2.1", NULL, 0, &r), ==, 0);
  CHECK(r.table, ==, 254);
  add_rt(&t, rt("192.0.2.0/24", 254, RTN_THROW, 0, NULL, NULL, 0));
  CHECK(lookup(&t, "192.0.2.1", NULL, 0, &r), ==, 0);
  CHECK(r.table, ==, 253);
  cp__tbl_free(&t);
}

static void test_cp_table_local_broadcast(void)
{
  struct cp_table t;
  struct cp_route r;

  host(&t);
  CHECK(lookup(&t, "198.18.0.1", NULL, 0, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_LOCAL);
  CHECK(r.ifindex, ==, LO);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));
  CHECK(r.mtu, ==, 65536);
  CHECK(r.accelerated, ==, 0);
  CHECK(lookup(&t, "127.0.0.5", NULL, 0, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_LOCAL);
  CHECK(r.src_be32, ==, ip("127.0.0.1"));
  /* 0.0.0.0 means this host. */
  CHECK(cp__tbl_route_lookup(&t, 0, 0, 0, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_LOCAL);
  CHECK(r.nexthop_be32, ==, ip("127.0.0.1"));

  CHECK(lookup(&t, "198.18.0.255", NULL, 0, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_BROADCAST);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));
  CHECK(r.accelerated, ==, 1);
  CHECK(lookup(&t, "255.255.255.255", NULL, 0, &r), ==, -ENETUNREACH);
  CHECK(lookup(&t, "255.255.255.255", NULL, ETH, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_BROADCAST);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));
  CHECK(lookup(&t, "0.1.2.3", NULL, 0, &r), ==, -ENETUNREACH);

  CHECK(cp__tbl_addr_type(&t, ip("198.18.0.1")), ==, CP_RT_LOCAL);
  CHECK(cp__tbl_addr_type(&t, ip("127.1.2.3")), ==, CP_RT_LOCAL);
  CHECK(cp__tbl_addr_type(&t, ip("198.18.0.255")), ==, CP_RT_BROADCAST);
  CHECK(cp__tbl_addr_type(&t, ip("255.255.255.255")), ==, CP_RT_BROADCAST);
  CHECK(cp__tbl_addr_type(&t, 0), ==, CP_RT_BROADCAST);
  CHECK(cp__tbl_addr_type(&t, ip("239.1.1.1")), ==, CP_RT_MULTICAST);
  CHECK(cp__tbl_addr_type(&t, ip("198.18.0.2")), ==, CP_RT_UNICAST);
  CHECK(cp__tbl_addr_type(&t, ip("192.0.2.1")), ==, CP_RT_UNICAST);

  CHECK(cp__tbl_addr_ifindex(&t, ip("198.18.0.1")), ==, ETH);
  CHECK(cp__tbl_addr_ifindex(&t, ip("198.19.0.1")), ==, OTH);
  CHECK(cp__tbl_addr_ifindex(&t, ip("127.0.0.9")), ==, LO);
  CHECK(cp__tbl_addr_ifindex(&t, ip("198.18.0.2")), ==, -EADDRNOTAVAIL);
  cp__tbl_free(&t);
}

static void test_cp_table_error_routes(void)
{
  static const struct {
    int type;
    int err;
  } cases[] = {
    { RTN_BLACKHOLE, -EINVAL },
    { RTN_UNREACHABLE, -EHOSTUNREACH },
    { RTN_PROHIBIT, -EACCES },
    { RTN_THROW, -ENETUNREACH },
  };
  struct cp_table t;
  struct cp_route r;
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    host(&t);
    add_rt(&t, rt("198.19.8.0/24", 254, cases[i].type, 0, NULL, NULL, 0));
    CHECK(lookup(&t, "198.19.8.1", NULL, 0, &r), ==, cases[i].err);
    if (cases[i].type != RTN_THROW) {
      CHECK(r.type, ==, cases[i].type);
      CHECK(r.prefix_len, ==, 24);
    }
    CHECK(r.accelerated, ==, 0);
    /* An error route ends the lookup even when a shorter route would
     * match... */
    add_rt(&t, rt("198.19.0.0/16", 254, RTN_UNICAST, ETH, "198.18.0.2",
                  NULL, 0));
    CHECK(lookup(&t, "198.19.8.1", NULL, 0, &r), ==,
          cases[i].type == RTN_THROW ? -ENETUNREACH : cases[i].err);
    /* ... and a longer route escapes it. */
    add_rt(&t, rt("198.19.8.0/25", 254, RTN_UNICAST, ETH, "198.18.0.3",
                  NULL, 0));
    CHECK(lookup(&t, "198.19.8.1", NULL, 0, &r), ==, 0);
    CHECK(r.nexthop_be32, ==, ip("198.18.0.3"));
    cp__tbl_free(&t);
  }
}

static void test_cp_table_oif(void)
{
  struct cp_table t;
  struct cp_route r;

  host(&t);
  add_rt(&t, rt("198.19.9.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL,
                0));
  add_rt(&t, rt("198.19.9.0/24", 254, RTN_UNICAST, OTH, "198.19.0.2", NULL,
                10));
  CHECK(lookup(&t, "198.19.9.1", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, ETH);
  /* Bound to OTH: only routes through OTH match. */
  CHECK(lookup(&t, "198.19.9.1", NULL, OTH, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  CHECK(r.nexthop_be32, ==, ip("198.19.0.2"));
  CHECK(r.metric, ==, 10);
  /* No route through oif: the kernel assumes the destination on-link. */
  CHECK(lookup(&t, "198.18.0.7", NULL, OTH, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  CHECK(r.nexthop_be32, ==, ip("198.18.0.7"));
  CHECK(r.src_be32, ==, ip("198.19.0.1"));
  CHECK(r.flags & CP_ROUTE_F_ONLINK_FALLBACK, ==,
        CP_ROUTE_F_ONLINK_FALLBACK);
  CHECK(lookup(&t, "192.0.2.1", NULL, ETH, &r), ==, 0);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.accelerated, ==, 1);
  CHECK(lookup(&t, "198.18.0.2", NULL, DOWN, &r), ==, -ENETUNREACH);
  CHECK(lookup(&t, "198.18.0.2", NULL, 99, &r), ==, -ENODEV);
  cp__tbl_free(&t);
}

static void test_cp_table_multicast(void)
{
  struct cp_table t;
  struct cp_route r;

  host(&t);
  /* No route for 224.0.0.0/4 and no oif: as the kernel, -ENETUNREACH. */
  CHECK(lookup(&t, "239.1.2.3", NULL, 0, &r), ==, -ENETUNREACH);
  CHECK(lookup(&t, "239.1.2.3", NULL, ETH, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_MULTICAST);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));
  CHECK(r.nexthop_be32, ==, ip("239.1.2.3"));
  CHECK(r.accelerated, ==, 1);
  CHECK(lookup(&t, "224.0.0.251", NULL, OTH, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_MULTICAST);
  CHECK(r.ifindex, ==, OTH);
  CHECK(r.accelerated, ==, 0);
  /* Bound to a source address instead of IP_MULTICAST_IF. */
  CHECK(lookup(&t, "239.1.2.3", "198.19.0.1", 0, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  CHECK(r.src_be32, ==, ip("198.19.0.1"));
  /* A multicast route. */
  add_rt(&t, rt("224.0.0.0/4", 254, RTN_UNICAST, ETH, NULL, NULL, 0));
  CHECK(lookup(&t, "239.1.2.3", NULL, 0, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_MULTICAST);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.prefix_len, ==, 4);
  /* oif wins over the route (the route is skipped, then on-link). */
  CHECK(lookup(&t, "239.1.2.3", NULL, OTH, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  cp__tbl_free(&t);
}

static void test_cp_table_src_hint(void)
{
  struct cp_table t;
  struct cp_route r;

  host(&t);
  CHECK(lookup(&t, "198.18.0.2", "198.19.0.1", 0, &r), ==, 0);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.src_be32, ==, ip("198.19.0.1"));
  CHECK(lookup(&t, "198.18.0.2", "198.18.0.9", 0, &r), ==, -ENETUNREACH);
  CHECK(lookup(&t, "198.18.0.2", "239.0.0.1", 0, &r), ==, -EINVAL);
  CHECK(lookup(&t, "198.18.0.2", "255.255.255.255", 0, &r), ==, -EINVAL);
  /* A loopback source cannot leave through another link. */
  CHECK(lookup(&t, "198.18.0.2", "127.0.0.1", 0, &r), ==, -EINVAL);
  CHECK(lookup(&t, "127.0.0.1", "127.0.0.1", 0, &r), ==, 0);
  CHECK(r.type, ==, CP_RT_LOCAL);
  cp__tbl_free(&t);
}

/* inet_select_addr: prefsrc first, then a primary address of the link in
 * the gateway's subnet, then the first primary within scope; secondaries
 * never; link-scoped ones not for a gateway route. */
static void test_cp_table_source_selection(void)
{
  struct cp_table t;
  struct cp_route r;

  host(&t);
  add_addr(&t, ETH, "198.18.1.1", 24, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT);
  add_addr(&t, ETH, "198.18.2.1", 24, RT_SCOPE_UNIVERSE,
           IFA_F_PERMANENT | IFA_F_SECONDARY);
  add_rt(&t, rt("198.19.10.0/24", 254, RTN_UNICAST, ETH, "198.18.1.254",
                NULL, 0));
  add_rt(&t, rt("198.19.11.0/24", 254, RTN_UNICAST, ETH, "198.18.2.254",
                NULL, 0));
  add_rt(&t, rt("198.19.12.0/24", 254, RTN_UNICAST, ETH, "198.18.1.254",
                "198.18.0.1", 0));
  CHECK(lookup(&t, "198.19.10.1", NULL, 0, &r), ==, 0);
  CHECK(r.src_be32, ==, ip("198.18.1.1"));
  CHECK(lookup(&t, "198.19.11.1", NULL, 0, &r), ==, 0);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));       /* not the secondary */
  CHECK(lookup(&t, "198.19.12.1", NULL, 0, &r), ==, 0);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));       /* prefsrc */

  /* A link with only a link-scoped address: a gateway route through it
   * takes a global address of another interface. */
  add_link(&t, 5, "ll", IFF_UP | IFF_RUNNING, 1500);
  add_addr(&t, 5, "169.254.1.1", 16, RT_SCOPE_LINK, IFA_F_PERMANENT);
  add_rt(&t, rt("198.19.13.0/24", 254, RTN_UNICAST, 5, "169.254.1.2", NULL,
                0));
  CHECK(lookup(&t, "198.19.13.1", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, 5);
  CHECK(r.src_be32, ==, ip("198.18.0.1"));
  cp__tbl_free(&t);
}

static void test_cp_table_mtu_and_dead(void)
{
  struct cp_table t;
  struct cp_route r;
  struct cp_route_ent e;

  host(&t);
  e = rt("198.19.14.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL, 0);
  e.mtu = 1400;
  add_rt(&t, e);
  CHECK(lookup(&t, "198.19.14.1", NULL, 0, &r), ==, 0);
  CHECK(r.mtu, ==, 1400);
  /* A dead next hop is skipped. */
  e = rt("198.19.15.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL, 0);
  e.nh_flags = RTNH_F_DEAD;
  add_rt(&t, e);
  add_rt(&t, rt("198.19.15.0/24", 254, RTN_UNICAST, OTH, "198.19.0.2", NULL,
                5));
  CHECK(lookup(&t, "198.19.15.1", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, OTH);
  /* A route with a TOS does not match our TOS-0 flows. */
  e = rt("198.19.16.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL, 0);
  e.tos = 0x10;
  add_rt(&t, e);
  CHECK(lookup(&t, "198.19.16.1", NULL, 0, &r), ==, -ENETUNREACH);
  cp__tbl_free(&t);
}

static void test_cp_table_unsupported(void)
{
  struct cp_table t;
  struct cp_route r;
  struct cp_route_ent e;

  host(&t);
  e = rt("198.19.17.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL, 0);
  e.rflags = CP_RE_MULTIPATH;
  add_rt(&t, e);
  CHECK(lookup(&t, "198.19.17.1", NULL, 0, &r), ==, 0);
  CHECK(r.ifindex, ==, ETH);
  CHECK(r.flags & CP_ROUTE_F_UNSUPPORTED, ==, CP_ROUTE_F_UNSUPPORTED);
  CHECK(r.accelerated, ==, 0);
  e = rt("198.19.18.0/24", 254, RTN_UNICAST, 0, NULL, NULL, 0);
  e.rflags = CP_RE_NHOBJ;
  add_rt(&t, e);
  CHECK(lookup(&t, "198.19.18.1", NULL, 0, &r), ==, 0);
  CHECK(r.accelerated, ==, 0);
  CHECK(r.ifindex, ==, 0);
  cp__tbl_free(&t);
}

static void test_cp_table_accelerated_set(void)
{
  struct cp_table t;
  struct cp_route r;
  struct cp_link l;
  uint64_t rg;

  host(&t);
  rg = t.route_gen;
  CHECK(cp__tbl_set_accelerated(&t, ETH, 1), ==, 0);
  CHECK(t.route_gen, ==, rg);
  CHECK(cp__tbl_set_accelerated(&t, OTH, 1), ==, 1);
  CHECK(t.route_gen, >, rg);
  CHECK(lookup(&t, "198.19.0.2", NULL, 0, &r), ==, 0);
  CHECK(r.accelerated, ==, 1);
  CHECK(cp__tbl_set_accelerated(&t, ETH, 0), ==, 1);
  CHECK(lookup(&t, "198.18.0.2", NULL, 0, &r), ==, 0);
  CHECK(r.accelerated, ==, 0);
  CHECK(cp__tbl_link_get(&t, OTH, &l), ==, 0);
  CHECK(l.accelerated, ==, 1);
  CHECK_STR(l.name, ==, "oth");
  CHECK(l.mtu, ==, 9000);
  CHECK(l.up, ==, 1);
  CHECK(cp__tbl_link_get(&t, ETH, &l), ==, 0);
  CHECK(l.accelerated, ==, 0);
  /* Loopback is never accelerated, even if registered by mistake. */
  CHECK(cp__tbl_set_accelerated(&t, LO, 1), ==, 1);
  CHECK(cp__tbl_link_get(&t, LO, &l), ==, 0);
  CHECK(l.accelerated, ==, 0);
  CHECK(l.loopback, ==, 1);
  CHECK(lookup(&t, "127.0.0.1", NULL, 0, &r), ==, 0);
  CHECK(r.accelerated, ==, 0);
  CHECK(cp__tbl_link_by_name(&t, "down", &l), ==, 0);
  CHECK(l.ifindex, ==, DOWN);
  CHECK(l.up, ==, 0);
  CHECK(cp__tbl_link_by_name(&t, "nope", &l), ==, -ENODEV);
  CHECK(cp__tbl_link_get(&t, 77, &l), ==, -ENODEV);
  CHECK(cp__tbl_set_accelerated(&t, 0, 1), ==, -EINVAL);
  cp__tbl_free(&t);
}

static void test_cp_table_generations(void)
{
  struct cp_table t;
  struct cp_route_ent e;
  struct cp_neigh_ent n;
  uint64_t g, rg;

  host(&t);
  g = t.gen;
  rg = t.route_gen;
  e = rt("198.19.20.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL, 0);
  add_rt(&t, e);
  CHECK(t.gen, ==, g + 1);
  CHECK(t.route_gen, ==, rg + 1);
  /* No change, no bump. */
  CHECK(cp__tbl_route_update(&t, &e, CP_ROUTE_PREPEND), ==, 0);
  CHECK(t.gen, ==, g + 1);
  CHECK(cp__tbl_route_del(&t, &e), ==, 1);
  CHECK(t.route_gen, ==, rg + 2);
  CHECK(cp__tbl_route_del(&t, &e), ==, 0);
  CHECK(t.route_gen, ==, rg + 2);

  /* Neighbours move gen only. */
  memset(&n, 0, sizeof(n));
  n.ifindex = ETH;
  n.ip_be32 = ip("198.18.0.2");
  n.state = NUD_REACHABLE;
  n.mac_len = 6;
  n.mac[0] = 2;
  CHECK(cp__tbl_neigh_update(&t, &n), ==, 1);
  CHECK(t.gen, ==, g + 3);
  CHECK(t.route_gen, ==, rg + 2);
  CHECK(cp__tbl_neigh_update(&t, &n), ==, 0);
  CHECK(t.gen, ==, g + 3);
  n.state = NUD_STALE;
  CHECK(cp__tbl_neigh_update(&t, &n), ==, 1);
  CHECK(t.gen, ==, g + 4);
  CHECK(cp__tbl_neigh_del(&t, ETH, n.ip_be32), ==, 1);
  CHECK(t.gen, ==, g + 5);
  CHECK(t.route_gen, ==, rg + 2);
  cp__tbl_free(&t);
}

/* The kernel flushes routes of a link that goes down (or away), and of an
 * address that goes away, without notifications: the table asks for a
 * route re-dump. */
static void test_cp_table_silent_flush_marks(void)
{
  struct cp_table t;
  struct cp_link_ent l;
  struct cp_addr_ent a;
  struct cp_route r;
  struct cp_neigh_ent n;

  host(&t);
  CHECK(t.pending, ==, 0);
  memset(&l, 0, sizeof(l));
  l.ifindex = OTH;
  l.flags = IFF_UP | IFF_RUNNING | IFF_BROADCAST;
  l.mtu = 9000;
  l.mac_len = 6;
  l.mac[5] = OTH;
  snprintf(l.name, sizeof(l.name), "oth");
  CHECK(cp__tbl_link_update(&t, &l), ==, 0);
  l.mtu = 1500;
  CHECK(cp__tbl_link_update(&t, &l), ==, 1);
  CHECK(t.pending, ==, 0);
  l.flags &= ~(unsigned)IFF_UP;
  CHECK(cp__tbl_link_update(&t, &l), ==, 1);
  CHECK(t.pending, ==, CP_PEND(CP_K_ROUTES));
  t.pending = 0;

  memset(&a, 0, sizeof(a));
  a.ifindex = OTH;
  a.local_be32 = a.peer_be32 = ip("198.19.0.1");
  a.prefix_len = 24;
  CHECK(cp__tbl_addr_del(&t, &a), ==, 1);
  CHECK(t.pending, ==, CP_PEND(CP_K_ROUTES));
  t.pending = 0;

  memset(&n, 0, sizeof(n));
  n.ifindex = ETH;
  n.ip_be32 = ip("198.18.0.2");
  n.state = NUD_REACHABLE;
  CHECK(cp__tbl_neigh_update(&t, &n), ==, 1);
  CHECK(cp__tbl_link_del(&t, ETH), ==, 1);
  CHECK(t.pending, ==, CP_PEND(CP_K_ROUTES));
  CHECK(lookup(&t, "198.18.0.2", NULL, 0, &r), ==, -ENETUNREACH);
  CHECK(cp__tbl_neigh_find(&t, ETH, n.ip_be32), ==, NULL);
  CHECK(cp__tbl_addr_ifindex(&t, ip("198.18.0.1")), ==, -EADDRNOTAVAIL);
  CHECK(cp__tbl_link_del(&t, ETH), ==, 0);
  cp__tbl_free(&t);
}

static void test_cp_table_sync(void)
{
  struct cp_table t;
  struct cp_route r;
  struct cp_route_ent e;
  uint64_t g;
  size_t i, n_routes;
  struct cp_route_ent saved[32];

  host(&t);
  n_routes = t.n_routes;
  CHECK(n_routes, <=, 32);
  memcpy(saved, t.routes, n_routes * sizeof(saved[0]));

  /* The same routes again, in reverse order: no change. */
  g = t.gen;
  CHECK(cp__tbl_sync_begin(&t, CP_K_ROUTES), ==, 0);
  CHECK(cp__tbl_sync_begin(&t, CP_K_ROUTES), ==, -EBUSY);
  /* Lookups during a sync see nothing rather than half a table. */
  CHECK(lookup(&t, "198.18.0.2", NULL, 0, &r), ==, -ENETUNREACH);
  for (i = n_routes; i-- > 0;)
    CHECK(cp__tbl_route_update(&t, &saved[i], CP_ROUTE_PREPEND), ==, 1);
  CHECK(cp__tbl_sync_end(&t, CP_K_ROUTES, 1), ==, 0);
  CHECK(t.gen, ==, g);
  CHECK(lookup(&t, "198.18.0.2", NULL, 0, &r), ==, 0);

  /* A dump with one more route: changed. */
  t.pending = CP_PEND(CP_K_ROUTES);
  CHECK(cp__tbl_sync_begin(&t, CP_K_ROUTES), ==, 0);
  for (i = 0; i < n_routes; i++)
    cp__tbl_route_update(&t, &saved[i], CP_ROUTE_APPEND);
  e = rt("198.19.21.0/24", 254, RTN_UNICAST, ETH, "198.18.0.2", NULL, 0);
  cp__tbl_route_update(&t, &e, CP_ROUTE_APPEND);
  CHECK(cp__tbl_sync_end(&t, CP_K_ROUTES, 1), ==, 1);
  CHECK(t.gen, ==, g + 1);
  CHECK(t.pending, ==, 0);
  CHECK(lookup(&t, "198.19.21.1", NULL, 0, &r), ==, 0);

  /* A failed dump restores the table as it was. */
  CHECK(cp__tbl_sync_begin(&t, CP_K_ROUTES), ==, 0);
  cp__tbl_route_update(&t, &saved[0], CP_ROUTE_APPEND);
  CHECK(cp__tbl_sync_end(&t, CP_K_ROUTES, 0), ==, 0);
  CHECK(t.n_routes, ==, n_routes + 1);
  CHECK(lookup(&t, "198.19.21.1", NULL, 0, &r), ==, 0);
  CHECK(t.gen, ==, g + 1);

  /* A links dump where a link went down asks for routes. */
  t.pending = 0;
  CHECK(cp__tbl_sync_begin(&t, CP_K_LINKS), ==, 0);
  add_link(&t, LO, "lo", IFF_UP | IFF_RUNNING | IFF_LOOPBACK, 65536);
  add_link(&t, OTH, "oth", IFF_UP | IFF_RUNNING | IFF_BROADCAST, 9000);
  add_link(&t, ETH, "eth", IFF_RUNNING | IFF_BROADCAST, 1400);
  add_link(&t, ETH, "eth", IFF_BROADCAST, 1500);     /* the last wins */
  add_link(&t, DOWN, "down", IFF_BROADCAST, 1500);
  CHECK(cp__tbl_sync_end(&t, CP_K_LINKS, 1), ==, 1);
  CHECK(t.pending, ==, CP_PEND(CP_K_ROUTES));
  CHECK(t.n_links, ==, 4);
  CHECK(cp__tbl_link_find(&t, ETH)->mtu, ==, 1500);
  CHECK(t.links[0].ifindex, ==, LO);
  CHECK(t.links[3].ifindex, ==, DOWN);

  /* Rules: counted during a sync, marked pending outside one. */
  t.pending = 0;
  cp__tbl_rule_seen(&t, 1);
  CHECK(t.pending, ==, CP_PEND(CP_K_RULES));
  CHECK(t.custom_rules, ==, 0);
  g = t.route_gen;
  CHECK(cp__tbl_sync_begin(&t, CP_K_RULES), ==, 0);
  cp__tbl_rule_seen(&t, 0);
  cp__tbl_rule_seen(&t, 1);
  cp__tbl_rule_seen(&t, 0);
  CHECK(cp__tbl_sync_end(&t, CP_K_RULES, 1), ==, 1);
  CHECK(t.custom_rules, ==, 1);
  CHECK(t.pending, ==, 0);
  CHECK(t.route_gen, ==, g + 1);
  CHECK(lookup(&t, "198.19.0.2", NULL, 0, &r), ==, 0);
  CHECK(r.flags & CP_ROUTE_F_POLICY_RULES, ==, CP_ROUTE_F_POLICY_RULES);
  cp__tbl_free(&t);
}

static struct cp_neigh_ent nb(int ifindex, const char* a, uint16_t state,
                              uint8_t last)
{
  struct cp_neigh_ent n;

  memset(&n, 0, sizeof(n));
  n.ifindex = ifindex;
  n.ip_be32 = ip(a);
  n.state = state;
  if (state & CP_NUD_VALID) {
    n.mac_len = 6;
    n.mac[0] = 2;
    n.mac[5] = last;
  }
  return n;
}

static void test_cp_table_neigh_states(void)
{
  static const struct {
    uint16_t state;
    int rc;
  } cases[] = {
    { NUD_INCOMPLETE, -EAGAIN },
    { NUD_REACHABLE, 0 },
    { NUD_STALE, 0 },
    { NUD_DELAY, 0 },
    { NUD_PROBE, 0 },
    { NUD_FAILED, -EHOSTUNREACH },
    { NUD_NOARP, 0 },
    { NUD_PERMANENT, 0 },
    { NUD_NONE, -EAGAIN },
  };
  struct cp_table t;
  struct cp_neigh out;
  struct cp_neigh_ent n;
  size_t i;

  cp__tbl_init(&t);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, ip("198.18.0.2"), &out), ==, -EAGAIN);
  CHECK(out.state, ==, NUD_NONE);
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    n = nb(ETH, "198.18.0.2", cases[i].state, (uint8_t)i);
    cp__tbl_neigh_update(&t, &n);
    CHECK(cp__tbl_neigh_lookup(&t, ETH, ip("198.18.0.2"), &out), ==,
          cases[i].rc);
    CHECK(out.state, ==, cases[i].state);
    if (cases[i].rc == 0) {
      CHECK(out.mac[0], ==, 2);
      CHECK(out.mac[5], ==, i);
    }
  }
  /* Keys are (ifindex, address). */
  n = nb(OTH, "198.18.0.2", NUD_REACHABLE, 9);
  cp__tbl_neigh_update(&t, &n);
  n = nb(ETH, "198.18.0.3", NUD_REACHABLE, 10);
  cp__tbl_neigh_update(&t, &n);
  CHECK(cp__tbl_neigh_lookup(&t, OTH, ip("198.18.0.2"), &out), ==, 0);
  CHECK(out.mac[5], ==, 9);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, ip("198.18.0.3"), &out), ==, 0);
  CHECK(out.mac[5], ==, 10);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, ip("198.18.0.2"), &out), ==, -EAGAIN);
  CHECK(t.n_neighs, ==, 3);
  CHECK(t.neighs[0].ifindex, ==, ETH);
  CHECK(t.neighs[0].ip_be32, ==, ip("198.18.0.2"));
  CHECK(t.neighs[1].ip_be32, ==, ip("198.18.0.3"));
  CHECK(t.neighs[2].ifindex, ==, OTH);
  cp__tbl_free(&t);
}

#define SEC 1000000000ull

static void test_cp_table_neigh_resolve(void)
{
  struct cp_table t;
  struct cp_neigh out;
  struct cp_neigh_ent n;
  uint32_t a = ip("198.18.0.77");
  uint64_t g;

  cp__tbl_init(&t);
  /* Unknown: the first request goes out and marks it in progress. */
  g = t.gen;
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_RESOLVE, ETH, a, 10 * SEC, NULL), ==,
        1);
  CHECK(t.gen, ==, g + 1);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, a, &out), ==, -EAGAIN);
  CHECK(cp__tbl_neigh_find(&t, ETH, a)->in_progress, ==, 1);
  CHECK(cp__tbl_neigh_find(&t, ETH, a)->known, ==, 0);
  /* Rate limit: once a second while the kernel is silent. */
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_RESOLVE, ETH, a, 10 * SEC + 1, NULL),
        ==, 0);
  CHECK(t.stats.resolve_limited, ==, 1);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_RESOLVE, ETH, a, 11 * SEC, NULL), ==,
        1);
  /* The kernel reports INCOMPLETE (seen in a dump): still in progress. */
  n = nb(ETH, "198.18.0.77", NUD_INCOMPLETE, 0);
  CHECK(cp__tbl_neigh_update(&t, &n), ==, 1);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, a, &out), ==, -EAGAIN);
  /* FAILED ends it: -EHOSTUNREACH. */
  n = nb(ETH, "198.18.0.77", NUD_FAILED, 0);
  CHECK(cp__tbl_neigh_update(&t, &n), ==, 1);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, a, &out), ==, -EHOSTUNREACH);
  CHECK(out.state, ==, NUD_FAILED);
  /* A new request right after FAILED is allowed (the kernel spoke) and
   * restarts the resolution. */
  g = t.gen;
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_RESOLVE, ETH, a, 11 * SEC + 2, NULL),
        ==, 1);
  CHECK(t.gen, ==, g + 1);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, a, &out), ==, -EAGAIN);
  /* If that request fails to go out, the FAILED answer stands again. */
  cp__tbl_neigh_ask_failed(&t, ETH, a);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, a, &out), ==, -EHOSTUNREACH);
  /* The same FAILED reported again after a new request: back to
   * -EHOSTUNREACH (the lookups see a change). */
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_RESOLVE, ETH, a, 13 * SEC, NULL), ==,
        1);
  CHECK(cp__tbl_neigh_update(&t, &n), ==, 1);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, a, &out), ==, -EHOSTUNREACH);
  /* Resolved. */
  n = nb(ETH, "198.18.0.77", NUD_REACHABLE, 0x77);
  CHECK(cp__tbl_neigh_update(&t, &n), ==, 1);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, a, &out), ==, 0);
  CHECK(out.mac[5], ==, 0x77);
  /* Nothing to ask for a reachable entry; a stale one is re-verified. */
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_RESOLVE, ETH, a, 20 * SEC, NULL), ==,
        0);
  n.state = NUD_STALE;
  cp__tbl_neigh_update(&t, &n);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_RESOLVE, ETH, a, 20 * SEC, NULL), ==,
        1);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, a, &out), ==, 0);   /* still usable */
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_RESOLVE, ETH, a, 20 * SEC + 5, NULL),
        ==, 0);
  cp__tbl_free(&t);
}

static void test_cp_table_neigh_confirm(void)
{
  struct cp_table t;
  struct cp_neigh_ent n;
  uint8_t mac[6] = { 0 };
  uint32_t a = ip("198.18.0.2");

  cp__tbl_init(&t);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_CONFIRM, ETH, a, SEC, mac), ==,
        -ENOENT);
  n = nb(ETH, "198.18.0.2", NUD_REACHABLE, 0x22);
  cp__tbl_neigh_update(&t, &n);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_CONFIRM, ETH, a, SEC, mac), ==, 0);
  n.state = NUD_STALE;
  cp__tbl_neigh_update(&t, &n);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_CONFIRM, ETH, a, SEC, mac), ==, 1);
  CHECK(mac[0], ==, 2);
  CHECK(mac[5], ==, 0x22);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_CONFIRM, ETH, a, SEC + 10, mac), ==, 0);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_CONFIRM, ETH, a, 2 * SEC + 10, mac),
        ==, 1);
  n.state = NUD_PERMANENT;
  cp__tbl_neigh_update(&t, &n);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_CONFIRM, ETH, a, 9 * SEC, mac), ==, 0);
  n.state = NUD_STALE;
  n.ntf_flags = NTF_EXT_LEARNED;
  cp__tbl_neigh_update(&t, &n);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_CONFIRM, ETH, a, 19 * SEC, mac), ==, 0);
  n.ntf_flags = 0;
  n.managed = 1;
  cp__tbl_neigh_update(&t, &n);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_CONFIRM, ETH, a, 29 * SEC, mac), ==, 0);
  n = nb(ETH, "198.18.0.2", NUD_FAILED, 0);
  cp__tbl_neigh_update(&t, &n);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_CONFIRM, ETH, a, 39 * SEC, mac), ==,
        -ENOENT);
  cp__tbl_free(&t);
}

/* A neighbour re-dump keeps our own state (requests in progress, rate
 * limit), drops what the kernel no longer has, and keeps the last report
 * of a duplicate. */
static void test_cp_table_neigh_sync(void)
{
  struct cp_table t;
  struct cp_neigh out;
  struct cp_neigh_ent n;
  uint32_t a = ip("198.18.0.77"), b = ip("198.18.0.2"), c = ip("198.18.0.3");
  uint64_t g;

  cp__tbl_init(&t);
  CHECK(cp__tbl_neigh_ask(&t, CP_ASK_RESOLVE, ETH, a, 5 * SEC, NULL), ==, 1);
  n = nb(ETH, "198.18.0.3", NUD_REACHABLE, 3);
  cp__tbl_neigh_update(&t, &n);
  g = t.gen;

  CHECK(cp__tbl_sync_begin(&t, CP_K_NEIGHS), ==, 0);
  n = nb(ETH, "198.18.0.2", NUD_STALE, 1);
  cp__tbl_neigh_update(&t, &n);
  n = nb(ETH, "198.18.0.77", NUD_INCOMPLETE, 0);
  cp__tbl_neigh_update(&t, &n);
  n = nb(ETH, "198.18.0.2", NUD_REACHABLE, 2);
  cp__tbl_neigh_update(&t, &n);
  CHECK(cp__tbl_sync_end(&t, CP_K_NEIGHS, 1), ==, 1);
  CHECK(t.gen, ==, g + 1);
  CHECK(t.n_neighs, ==, 2);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, b, &out), ==, 0);
  CHECK(out.state, ==, NUD_REACHABLE);
  CHECK(out.mac[5], ==, 2);
  CHECK(cp__tbl_neigh_lookup(&t, ETH, c, &out), ==, -EAGAIN);   /* gone */
  CHECK(cp__tbl_neigh_lookup(&t, ETH, a, &out), ==, -EAGAIN);
  CHECK(cp__tbl_neigh_find(&t, ETH, a)->in_progress, ==, 1);
  CHECK(cp__tbl_neigh_find(&t, ETH, a)->asked_ns, ==, 5 * SEC);
  cp__tbl_free(&t);
}

/* A route table that overflows makes lookups say so, and a later dump
 * that fits clears it. */
static void test_cp_table_incomplete(void)
{
  struct cp_table t;
  struct cp_route r;
  struct cp_route_ent e;
  uint32_t i;

  host(&t);
  CHECK(cp__tbl_sync_begin(&t, CP_K_ROUTES), ==, 0);
  e = rt("198.18.0.0/24", 254, RTN_UNICAST, ETH, NULL, "198.18.0.1", 0);
  for (i = 0; i < CP_MAX_ROUTES; i++) {
    e.priority = i;
    if (cp__tbl_route_update(&t, &e, CP_ROUTE_APPEND) != 1)
      UNIT_FAIL("route %u refused", i);
  }
  e.priority = CP_MAX_ROUTES;
  CHECK(cp__tbl_route_update(&t, &e, CP_ROUTE_APPEND), ==, -ENOSPC);
  CHECK(t.stats.table_full, ==, 1);
  CHECK(cp__tbl_sync_end(&t, CP_K_ROUTES, 1), ==, 1);
  CHECK(lookup(&t, "198.18.0.2", NULL, 0, &r), ==, 0);
  CHECK(r.flags & CP_ROUTE_F_INCOMPLETE, ==, CP_ROUTE_F_INCOMPLETE);
  CHECK(r.accelerated, ==, 0);
  CHECK(r.metric, ==, 0);

  CHECK(cp__tbl_sync_begin(&t, CP_K_ROUTES), ==, 0);
  e.priority = 0;
  cp__tbl_route_update(&t, &e, CP_ROUTE_APPEND);
  CHECK(cp__tbl_sync_end(&t, CP_K_ROUTES, 1), ==, 1);
  CHECK(lookup(&t, "198.18.0.2", NULL, 0, &r), ==, 0);
  CHECK(r.flags, ==, 0);
  CHECK(r.accelerated, ==, 1);
  cp__tbl_free(&t);
}

static void test_cp_table_addr_get(void)
{
  struct cp_table t;
  struct cp_addr a;

  host(&t);
  add_addr(&t, ETH, "198.18.1.1", 24, RT_SCOPE_UNIVERSE, 0);
  add_addr(&t, LO, "127.0.0.2", 8, RT_SCOPE_HOST, IFA_F_SECONDARY);
  CHECK(cp__tbl_addr_get(&t, ETH, 0, &a), ==, 0);
  CHECK(a.local_be32, ==, ip("198.18.0.1"));
  CHECK(a.prefix_len, ==, 24);
  CHECK(cp__tbl_addr_get(&t, ETH, 1, &a), ==, 0);
  CHECK(a.local_be32, ==, ip("198.18.1.1"));
  CHECK(cp__tbl_addr_get(&t, ETH, 2, &a), ==, -ENOENT);
  /* All interfaces: by ifindex, each in arrival order. */
  CHECK(cp__tbl_addr_get(&t, 0, 0, &a), ==, 0);
  CHECK(a.local_be32, ==, ip("127.0.0.1"));
  CHECK(cp__tbl_addr_get(&t, 0, 1, &a), ==, 0);
  CHECK(a.local_be32, ==, ip("127.0.0.2"));
  CHECK(a.flags, ==, IFA_F_SECONDARY);
  CHECK(cp__tbl_addr_get(&t, 0, 2, &a), ==, 0);
  CHECK(a.ifindex, ==, ETH);
  CHECK(cp__tbl_addr_get(&t, 0, 5, &a), ==, -ENOENT);
  cp__tbl_free(&t);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_cp_table_connected),
  UNIT_TEST(test_cp_table_lpm),
  UNIT_TEST(test_cp_table_metric),
  UNIT_TEST(test_cp_table_alias_order),
  UNIT_TEST(test_cp_table_default_route),
  UNIT_TEST(test_cp_table_default_table),
  UNIT_TEST(test_cp_table_local_broadcast),
  UNIT_TEST(test_cp_table_error_routes),
  UNIT_TEST(test_cp_table_oif),
  UNIT_TEST(test_cp_table_multicast),
  UNIT_TEST(test_cp_table_src_hint),
  UNIT_TEST(test_cp_table_source_selection),
  UNIT_TEST(test_cp_table_mtu_and_dead),
  UNIT_TEST(test_cp_table_unsupported),
  UNIT_TEST(test_cp_table_accelerated_set),
  UNIT_TEST(test_cp_table_generations),
  UNIT_TEST(test_cp_table_silent_flush_marks),
  UNIT_TEST(test_cp_table_sync),
  UNIT_TEST(test_cp_table_neigh_states),
  UNIT_TEST(test_cp_table_neigh_resolve),
  UNIT_TEST(test_cp_table_neigh_confirm),
  UNIT_TEST(test_cp_table_neigh_sync),
  UNIT_TEST(test_cp_table_incomplete),
  UNIT_TEST(test_cp_table_addr_get),
};

UNIT_TEST_MAIN(tests)
