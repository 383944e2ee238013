/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cplane/cp_netlink.c: the control plane's rtnetlink codec. Turns
 * RTM_NEWLINK/DELLINK, RTM_NEWADDR/DELADDR (IPv4), RTM_NEWROUTE/DELROUTE
 * (IPv4, tables 253-255), RTM_NEWNEIGH/DELNEIGH (IPv4) and
 * RTM_NEWRULE/DELRULE (IPv4) messages, from dumps or notifications, into
 * cp_table updates, and builds the requests the mirror sends (dumps,
 * NTF_USE resolution, confirmation). No I/O and no state of its own.
 *
 * Input is untrusted: every length is checked before a field is read
 * (the message header against the buffer, the family header against the
 * message, each attribute against what is left of the message, payload
 * sizes against the attribute), headers are copied out with memcpy, and a
 * message that fails a check is counted (nl_malformed) and ignored.
 * Messages of other families (IPv6, bridge), cloned routes, proxy
 * neighbours and other routing tables are counted as ignored.
 */
#include "cplane/cp_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

_Static_assert((int)CP_RT_UNICAST == RTN_UNICAST &&
               (int)CP_RT_LOCAL == RTN_LOCAL &&
               (int)CP_RT_BROADCAST == RTN_BROADCAST &&
               (int)CP_RT_MULTICAST == RTN_MULTICAST &&
               (int)CP_RT_BLACKHOLE == RTN_BLACKHOLE &&
               (int)CP_RT_UNREACHABLE == RTN_UNREACHABLE &&
               (int)CP_RT_PROHIBIT == RTN_PROHIBIT &&
               (int)CP_RT_THROW == RTN_THROW &&
               (int)CP_RT_XRESOLVE == RTN_XRESOLVE,
               "cp_route_type values are the kernel's RTN_* values");

/* A handler's "well-formed but of no interest". */
#define IGNORED 2

/* Attribute types above this are not collected (none that we read is). */
#define TB_SIZE 64

struct attrs {
  const struct nlattr* tb[TB_SIZE];
};

/* parse_range: collect the attributes in [p, end): each must have a
 * header, a length that covers it and stays within the range; the range
 * must end exactly after the last one's padding (or within that padding).
 * The last occurrence of a type wins, as in the kernel's nla_parse. */
static int parse_range(const char* p, const char* end, struct attrs* a)
{
  memset(a, 0, sizeof(*a));
  while (end - p >= (ptrdiff_t)sizeof(struct nlattr)) {
    const struct nlattr* at = (const struct nlattr*)p;
    uint16_t type;

    if (at->nla_len < sizeof(*at) || at->nla_len > end - p)
      return -EINVAL;
    type = mnl_attr_get_type(at);
    if (type < TB_SIZE)
      a->tb[type] = at;
    p += MNL_ALIGN(at->nla_len);
  }
  return p < end ? -EINVAL : 0;
}

/* parse_msg: the attributes after a family header of hdrlen bytes. */
static int parse_msg(const struct nlmsghdr* nlh, size_t hdrlen,
                     struct attrs* a)
{
  const char* base = (const char*)nlh;

  if (nlh->nlmsg_len < NLMSG_HDRLEN + MNL_ALIGN(hdrlen))
    return -EINVAL;
  return parse_range(base + NLMSG_HDRLEN + MNL_ALIGN(hdrlen),
                     base + nlh->nlmsg_len, a);
}

/* get_u32: 0 if absent, 1 if read, -EINVAL if the payload is not 4 bytes.
 * Also used for IPv4 addresses (kept in network order). */
static int get_u32(const struct nlattr* at, uint32_t* v)
{
  if (!at)
    return 0;
  if (mnl_attr_get_payload_len(at) != sizeof(*v))
    return -EINVAL;
  memcpy(v, mnl_attr_get_payload(at), sizeof(*v));
  return 1;
}

static int get_u8(const struct nlattr* at, uint8_t* v)
{
  if (!at)
    return 0;
  if (mnl_attr_get_payload_len(at) != sizeof(*v))
    return -EINVAL;
  memcpy(v, mnl_attr_get_payload(at), sizeof(*v));
  return 1;
}

static int payload(const struct nlmsghdr* nlh, void* hdr, size_t size)
{
  if (nlh->nlmsg_len < NLMSG_HDRLEN + size)
    return -EINVAL;
  memcpy(hdr, (const char*)nlh + NLMSG_HDRLEN, size);
  return 0;
}

/* ---- links ---- */

static int link_msg(struct cp_table* t, const struct nlmsghdr* nlh,
                    enum cp_nl_mode mode)
{
  struct cp_link_ent e;
  struct ifinfomsg ifi;
  struct attrs a;
  uint32_t mtu = 0;
  int rc;

  if (payload(nlh, &ifi, sizeof(ifi)) < 0)
    return -EINVAL;
  if (ifi.ifi_family != AF_UNSPEC)
    return IGNORED;                /* AF_BRIDGE port events and the like */
  if (ifi.ifi_index <= 0)
    return -EINVAL;
  if (parse_msg(nlh, sizeof(ifi), &a) < 0)
    return -EINVAL;
  if (nlh->nlmsg_type == RTM_DELLINK)
    return mode == CP_NL_EVENT ? cp__tbl_link_del(t, ifi.ifi_index) : IGNORED;

  memset(&e, 0, sizeof(e));
  e.ifindex = ifi.ifi_index;
  e.flags = ifi.ifi_flags;
  e.arptype = ifi.ifi_type;
  if (get_u32(a.tb[IFLA_MTU], &mtu) < 0)
    return -EINVAL;
  e.mtu = mtu;
  if (a.tb[IFLA_IFNAME]) {
    const char* s = mnl_attr_get_payload(a.tb[IFLA_IFNAME]);
    size_t n = mnl_attr_get_payload_len(a.tb[IFLA_IFNAME]);
    size_t l = strnlen(s, n);
    if (l == n || l >= IF_NAMESIZE)   /* no NUL, or too long */
      return -EINVAL;
    memcpy(e.name, s, l);
  }
  if (a.tb[IFLA_ADDRESS]) {
    size_t n = mnl_attr_get_payload_len(a.tb[IFLA_ADDRESS]);
    if (n > 32)                        /* MAX_ADDR_LEN */
      return -EINVAL;
    e.mac_len = (uint8_t)n;
    if (n == 6)
      memcpy(e.mac, mnl_attr_get_payload(a.tb[IFLA_ADDRESS]), 6);
  }
  rc = cp__tbl_link_update(t, &e);
  return rc;
}

/* ---- addresses ---- */

static int addr_msg(struct cp_table* t, const struct nlmsghdr* nlh,
                    enum cp_nl_mode mode)
{
  struct cp_addr_ent e;
  struct ifaddrmsg ifa;
  struct attrs a;
  uint32_t local = 0, peer = 0, bcast = 0, flags;
  int hl, hp;

  if (payload(nlh, &ifa, sizeof(ifa)) < 0)
    return -EINVAL;
  if (ifa.ifa_family != AF_INET)
    return IGNORED;
  if (ifa.ifa_index == 0 || ifa.ifa_index > INT32_MAX ||
      ifa.ifa_prefixlen > 32)
    return -EINVAL;
  if (parse_msg(nlh, sizeof(ifa), &a) < 0)
    return -EINVAL;
  hl = get_u32(a.tb[IFA_LOCAL], &local);
  hp = get_u32(a.tb[IFA_ADDRESS], &peer);
  flags = ifa.ifa_flags;
  if (hl < 0 || hp < 0 || (hl == 0 && hp == 0) ||
      get_u32(a.tb[IFA_BROADCAST], &bcast) < 0 ||
      get_u32(a.tb[IFA_FLAGS], &flags) < 0)
    return -EINVAL;
  memset(&e, 0, sizeof(e));
  e.ifindex = (int)ifa.ifa_index;
  e.local_be32 = hl ? local : peer;
  e.peer_be32 = hp ? peer : local;
  e.bcast_be32 = bcast;
  e.flags = flags;
  e.prefix_len = ifa.ifa_prefixlen;
  e.scope = ifa.ifa_scope;
  if (nlh->nlmsg_type == RTM_DELADDR)
    return mode == CP_NL_EVENT ? cp__tbl_addr_del(t, &e) : IGNORED;
  return cp__tbl_addr_update(t, &e);
}

/* ---- routes ---- */

/* parse_multipath: RTA_MULTIPATH is a run of struct rtnexthop, each
 * followed by its own attributes (RTA_GATEWAY ...). We keep the first
 * hop's interface and gateway; two or more hops make the route one we do
 * not model. */
static int parse_multipath(const struct nlattr* at, struct cp_route_ent* e)
{
  const char* p = mnl_attr_get_payload(at);
  size_t rem = mnl_attr_get_payload_len(at);
  int hops = 0;

  while (rem >= sizeof(struct rtnexthop)) {
    struct rtnexthop nh;
    size_t step;

    memcpy(&nh, p, sizeof(nh));
    if (nh.rtnh_len < sizeof(nh) || nh.rtnh_len > rem)
      return -EINVAL;
    if (hops == 0) {
      struct attrs na;
      uint32_t gw = 0;
      if (parse_range(p + sizeof(nh), p + nh.rtnh_len, &na) < 0 ||
          get_u32(na.tb[RTA_GATEWAY], &gw) < 0)
        return -EINVAL;
      e->oif = nh.rtnh_ifindex;
      e->gw_be32 = gw;
      e->nh_flags |= nh.rtnh_flags;
      if (na.tb[RTA_VIA] || na.tb[RTA_ENCAP])
        e->rflags |= CP_RE_ENCAP;
    }
    hops++;
    step = RTNH_ALIGN(nh.rtnh_len);
    if (step >= rem)
      break;
    p += step;
    rem -= step;
  }
  if (hops == 0)
    return -EINVAL;
  if (hops > 1)
    e->rflags |= CP_RE_MULTIPATH;
  return 0;
}

static int route_msg(struct cp_table* t, const struct nlmsghdr* nlh,
                     enum cp_nl_mode mode)
{
  struct cp_route_ent e;
  struct rtmsg rtm;
  struct attrs a;
  uint32_t table, dst = 0, oif = 0, gw = 0, prio = 0, src = 0, nh_id;
  enum cp_route_how how;

  if (payload(nlh, &rtm, sizeof(rtm)) < 0)
    return -EINVAL;
  if (rtm.rtm_family != AF_INET)
    return IGNORED;
  if (rtm.rtm_dst_len > 32)
    return -EINVAL;
  if (parse_msg(nlh, sizeof(rtm), &a) < 0)
    return -EINVAL;
  if (rtm.rtm_flags & RTM_F_CLONED)
    return IGNORED;                /* a cache/exception entry */
  table = rtm.rtm_table;
  if (get_u32(a.tb[RTA_TABLE], &table) < 0 ||
      get_u32(a.tb[RTA_DST], &dst) < 0 ||
      get_u32(a.tb[RTA_OIF], &oif) < 0 ||
      get_u32(a.tb[RTA_GATEWAY], &gw) < 0 ||
      get_u32(a.tb[RTA_PRIORITY], &prio) < 0 ||
      get_u32(a.tb[RTA_PREFSRC], &src) < 0 ||
      get_u32(a.tb[RTA_NH_ID], &nh_id) < 0 || oif > INT32_MAX)
    return -EINVAL;
  if (table != CP_TABLE_LOCAL && table != CP_TABLE_MAIN &&
      table != CP_TABLE_DEFAULT)
    return IGNORED;

  memset(&e, 0, sizeof(e));
  e.dst_len = rtm.rtm_dst_len;
  e.dst_be32 = dst & (e.dst_len ? htonl(~0u << (32 - e.dst_len)) : 0);
  e.gw_be32 = gw;
  e.prefsrc_be32 = src;
  e.priority = prio;
  e.oif = (int)oif;
  e.nh_flags = rtm.rtm_flags & 0xff;        /* RTNH_F_* */
  e.table = (uint8_t)table;
  e.type = rtm.rtm_type;
  e.scope = rtm.rtm_scope;
  e.tos = rtm.rtm_tos;
  e.protocol = rtm.rtm_protocol;
  if (a.tb[RTA_METRICS]) {
    const struct nlattr* m = a.tb[RTA_METRICS];
    const char* p = mnl_attr_get_payload(m);
    struct attrs ma;
    uint32_t mtu = 0;
    if (parse_range(p, p + mnl_attr_get_payload_len(m), &ma) < 0 ||
        get_u32(ma.tb[RTAX_MTU], &mtu) < 0)
      return -EINVAL;
    e.mtu = mtu;
  }
  if (a.tb[RTA_MULTIPATH] && parse_multipath(a.tb[RTA_MULTIPATH], &e) < 0)
    return -EINVAL;
  if (a.tb[RTA_NH_ID])
    e.rflags |= CP_RE_NHOBJ;
  if (a.tb[RTA_ENCAP] || a.tb[RTA_VIA])
    e.rflags |= CP_RE_ENCAP;

  if (nlh->nlmsg_type == RTM_DELROUTE)
    return mode == CP_NL_EVENT ? cp__tbl_route_del(t, &e) : IGNORED;
  /* fib_table_insert reports how it placed the alias in the flags of its
   * notification: NLM_F_REPLACE, NLM_F_APPEND, else before the others of
   * the same key (ip route prepend; a lone add is the same). */
  if (mode == CP_NL_DUMP || (nlh->nlmsg_flags & NLM_F_APPEND))
    how = CP_ROUTE_APPEND;
  else if (nlh->nlmsg_flags & NLM_F_REPLACE)
    how = CP_ROUTE_REPLACE;
  else
    how = CP_ROUTE_PREPEND;
  return cp__tbl_route_update(t, &e, how);
}

/* ---- neighbours ---- */

static int neigh_msg(struct cp_table* t, const struct nlmsghdr* nlh,
                     enum cp_nl_mode mode)
{
  struct cp_neigh_ent e;
  struct ndmsg ndm;
  struct attrs a;
  uint32_t dst = 0, ext = 0;
  int hd;

  if (payload(nlh, &ndm, sizeof(ndm)) < 0)
    return -EINVAL;
  if (ndm.ndm_family != AF_INET)
    return IGNORED;                /* bridge FDB, IPv6 */
  if (ndm.ndm_flags & NTF_PROXY)
    return IGNORED;
  if (ndm.ndm_ifindex <= 0)
    return -EINVAL;
  if (parse_msg(nlh, sizeof(ndm), &a) < 0)
    return -EINVAL;
  hd = get_u32(a.tb[NDA_DST], &dst);
  if (hd <= 0)
    return -EINVAL;
  if (nlh->nlmsg_type == RTM_DELNEIGH)
    return mode == CP_NL_EVENT ?
           cp__tbl_neigh_del(t, ndm.ndm_ifindex, dst) : IGNORED;
  memset(&e, 0, sizeof(e));
  e.ifindex = ndm.ndm_ifindex;
  e.ip_be32 = dst;
  e.state = ndm.ndm_state;
  e.ntf_flags = ndm.ndm_flags;
  if (get_u32(a.tb[NDA_FLAGS_EXT], &ext) < 0)
    return -EINVAL;
  e.managed = !!(ext & NTF_EXT_MANAGED);
  if (a.tb[NDA_LLADDR]) {
    size_t n = mnl_attr_get_payload_len(a.tb[NDA_LLADDR]);
    if (n > 32)
      return -EINVAL;
    e.mac_len = (uint8_t)n;
    if (n == 6)
      memcpy(e.mac, mnl_attr_get_payload(a.tb[NDA_LLADDR]), 6);
  }
  return cp__tbl_neigh_update(t, &e);
}

/* ---- rules ---- */

int cp__nl_rule_is_custom(const void* p, size_t len)
{
  const struct nlmsghdr* nlh = p;
  struct fib_rule_hdr frh;
  uint32_t table, prio = 0, v;
  uint8_t b;
  struct attrs a;
  int custom, type;

  if (!p || ((uintptr_t)p & 3) || len < NLMSG_HDRLEN ||
      nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len)
    return -EINVAL;
  if (payload(nlh, &frh, sizeof(frh)) < 0 ||
      parse_msg(nlh, sizeof(frh), &a) < 0)
    return -EINVAL;
  table = frh.table;
  if (get_u32(a.tb[FRA_TABLE], &table) < 0 ||
      get_u32(a.tb[FRA_PRIORITY], &prio) < 0)
    return -EINVAL;
  custom = frh.action != FR_ACT_TO_TBL || frh.dst_len || frh.src_len ||
           frh.tos || (frh.flags & FIB_RULE_INVERT);
  /* Any selector or option makes a rule custom; the defaults carry only
   * these, with these values (fib_nl_fill_rule). */
  for (type = 0; type < TB_SIZE; type++) {
    const struct nlattr* at = a.tb[type];
    if (!at)
      continue;
    switch (type) {
    case FRA_UNSPEC:
    case FRA_TABLE:
    case FRA_PRIORITY:
    case FRA_PROTOCOL:
    case FRA_PAD:
      break;
    case FRA_SUPPRESS_PREFIXLEN:
    case FRA_SUPPRESS_IFGROUP:
      if (get_u32(at, &v) < 0)
        return -EINVAL;
      custom |= v != 0xffffffffu;
      break;
    case FRA_FWMARK:
    case FRA_FWMASK:
      if (get_u32(at, &v) < 0)
        return -EINVAL;
      custom |= v != 0;
      break;
    case FRA_L3MDEV:
    case FRA_IP_PROTO:
      if (get_u8(at, &b) < 0)
        return -EINVAL;
      custom |= b != 0;
      break;
    default:
      custom = 1;
      break;
    }
  }
  if (!custom)
    custom = !((prio == 0 && table == CP_TABLE_LOCAL) ||
               (prio == 32766 && table == CP_TABLE_MAIN) ||
               (prio == 32767 && table == CP_TABLE_DEFAULT));
  return custom;
}

static int rule_msg(struct cp_table* t, const struct nlmsghdr* nlh,
                    enum cp_nl_mode mode)
{
  struct fib_rule_hdr frh;
  int custom;

  if (payload(nlh, &frh, sizeof(frh)) < 0)
    return -EINVAL;
  if (frh.family != AF_INET)
    return IGNORED;
  custom = cp__nl_rule_is_custom(nlh, nlh->nlmsg_len);
  if (custom < 0)
    return custom;
  if (mode == CP_NL_DUMP && nlh->nlmsg_type == RTM_DELRULE)
    return IGNORED;
  /* In a dump: count it. A notification only marks rules for a re-dump
   * (cp__tbl_rule_seen outside a sync). */
  cp__tbl_rule_seen(t, custom);
  return 0;
}

/* ---- entry points ---- */

int cp__nl_apply_msg(struct cp_table* t, const void* p, size_t len,
                     enum cp_nl_mode mode)
{
  const struct nlmsghdr* nlh = p;
  int rc;

  if (!p || ((uintptr_t)p & 3) || len < NLMSG_HDRLEN ||
      nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len) {
    t->stats.nl_malformed++;
    return -EINVAL;
  }
  switch (nlh->nlmsg_type) {
  case RTM_NEWLINK:
  case RTM_DELLINK:
    rc = link_msg(t, nlh, mode);
    break;
  case RTM_NEWADDR:
  case RTM_DELADDR:
    rc = addr_msg(t, nlh, mode);
    break;
  case RTM_NEWROUTE:
  case RTM_DELROUTE:
    rc = route_msg(t, nlh, mode);
    break;
  case RTM_NEWNEIGH:
  case RTM_DELNEIGH:
    rc = neigh_msg(t, nlh, mode);
    break;
  case RTM_NEWRULE:
  case RTM_DELRULE:
    rc = rule_msg(t, nlh, mode);
    break;
  case NLMSG_NOOP:
  case NLMSG_ERROR:
  case NLMSG_DONE:
  case NLMSG_OVERRUN:
    return 0;
  default:
    rc = IGNORED;
    break;
  }
  if (rc == IGNORED) {
    t->stats.nl_ignored++;
    return 0;
  }
  if (rc == -EINVAL) {
    t->stats.nl_malformed++;
    return -EINVAL;
  }
  t->stats.nl_msgs++;
  return rc > 0 ? 1 : 0;   /* -ENOMEM/-ENOSPC were counted by the table */
}

int cp__nl_apply_buf(struct cp_table* t, const void* buf, size_t len,
                     enum cp_nl_mode mode)
{
  const char* p = buf;
  size_t rem = len;
  int changed = 0;

  if (!buf || ((uintptr_t)buf & 3)) {
    t->stats.nl_malformed++;
    return 0;
  }
  while (rem > 0) {
    const struct nlmsghdr* nlh = (const struct nlmsghdr*)p;
    size_t step;

    if (rem < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
        nlh->nlmsg_len > rem) {
      t->stats.nl_malformed++;
      break;
    }
    if (cp__nl_apply_msg(t, nlh, rem, mode) > 0)
      changed++;
    step = NLMSG_ALIGN(nlh->nlmsg_len);
    if (step >= rem)
      break;
    p += step;
    rem -= step;
  }
  return changed;
}

/* ---- requests ---- */

static struct nlmsghdr* req_start(void* buf, size_t size, uint16_t type,
                                  uint16_t flags, uint32_t seq)
{
  struct nlmsghdr* nlh;

  if (!buf || size < CP_NL_REQ_SIZE || ((uintptr_t)buf & 3))
    return NULL;
  memset(buf, 0, CP_NL_REQ_SIZE);
  nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = seq;
  return nlh;
}

int cp__nl_build_dump(void* buf, size_t size, enum cp_kind kind,
                      uint32_t seq)
{
  static const uint16_t types[CP_K_N] = {
    [CP_K_LINKS] = RTM_GETLINK,
    [CP_K_ADDRS] = RTM_GETADDR,
    [CP_K_ROUTES] = RTM_GETROUTE,
    [CP_K_NEIGHS] = RTM_GETNEIGH,
    [CP_K_RULES] = RTM_GETRULE,
  };
  struct nlmsghdr* nlh;

  if ((unsigned)kind >= CP_K_N)
    return -EINVAL;
  nlh = req_start(buf, size, types[kind], NLM_F_REQUEST | NLM_F_DUMP, seq);
  if (!nlh)
    return -EINVAL;
  switch (kind) {
  case CP_K_LINKS: {
    struct ifinfomsg* ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    /* Statistics make link messages large and say nothing we use. */
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    break;
  }
  case CP_K_ADDRS: {
    struct ifaddrmsg* ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    break;
  }
  case CP_K_ROUTES: {
    struct rtmsg* rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    break;
  }
  case CP_K_NEIGHS: {
    struct ndmsg* ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
    ndm->ndm_family = AF_INET;
    break;
  }
  case CP_K_RULES: {
    struct fib_rule_hdr* frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
    frh->family = AF_INET;
    break;
  }
  default:
    return -EINVAL;
  }
  return (int)nlh->nlmsg_len;
}

int cp__nl_build_neigh_use(void* buf, size_t size, uint32_t seq,
                           int ifindex, uint32_t ip_be32)
{
  struct nlmsghdr* nlh;
  struct ndmsg* ndm;

  if (ifindex <= 0)
    return -EINVAL;
  /* NLM_F_CREATE: an entry the kernel does not have yet is created (state
   * NONE) before neigh_event_send() starts its resolution. */
  nlh = req_start(buf, size, RTM_NEWNEIGH,
                  NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, seq);
  if (!nlh)
    return -EINVAL;
  ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
  ndm->ndm_family = AF_INET;
  ndm->ndm_ifindex = ifindex;
  ndm->ndm_state = NUD_NONE;
  ndm->ndm_flags = NTF_USE;
  mnl_attr_put(nlh, NDA_DST, sizeof(ip_be32), &ip_be32);
  return (int)nlh->nlmsg_len;
}

int cp__nl_build_neigh_confirm(void* buf, size_t size, uint32_t seq,
                               int ifindex, uint32_t ip_be32,
                               const uint8_t mac[6])
{
  struct nlmsghdr* nlh;
  struct ndmsg* ndm;

  if (ifindex <= 0 || !mac)
    return -EINVAL;
  /* No NLM_F_REPLACE: without NEIGH_UPDATE_F_OVERRIDE the kernel leaves a
   * valid entry whose MAC differs alone; no NLM_F_CREATE: a deleted entry
   * is not brought back. */
  nlh = req_start(buf, size, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK, seq);
  if (!nlh)
    return -EINVAL;
  ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
  ndm->ndm_family = AF_INET;
  ndm->ndm_ifindex = ifindex;
  ndm->ndm_state = NUD_REACHABLE;
  mnl_attr_put(nlh, NDA_DST, sizeof(ip_be32), &ip_be32);
  mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
  return (int)nlh->nlmsg_len;
}
