/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cplane/cp_int.h: what the control plane's three files share. The tables
 * (cp_table.c: pure data and lookups, no I/O, no clock: time comes in as
 * a parameter), the netlink codec (cp_netlink.c: RTM_* messages in, table
 * updates out; requests built into caller buffers) and the socket loop
 * (cp_mirror.c) that joins them. Names shared between these files only are
 * spelled cp__name.
 *
 * Table layout: every table is a growable array. Links are sorted by
 * ifindex and neighbours by (ifindex, address), both found by binary
 * search. Addresses keep the kernel's order per interface, interfaces in
 * ifindex order. Routes are sorted in the order the kernel's lookup visits
 * them (see cp__route_cmp), so that a route lookup is one scan that stops
 * at the first usable route.
 *
 * Re-dumps: cp__tbl_sync_begin(kind) sets the current array aside and
 * starts an empty one; the dump's messages are appended unsorted (a dump
 * of n entries then costs O(n log n), not O(n^2)); cp__tbl_sync_end sorts,
 * drops duplicate keys (keeping the last), carries our own per-neighbour
 * state over, compares with the old array to decide whether the
 * generations move, and frees the old array (or, when the dump failed,
 * puts it back).
 */
#ifndef ANYLOAD_CPLANE_CP_INT_H
#define ANYLOAD_CPLANE_CP_INT_H

#include "cplane/cplane.h"

#include <linux/neighbour.h>
#include <stddef.h>
#include <stdint.h>

/* Table limits: beyond them entries are dropped and counted (table_full);
 * a dropped route also makes route lookups report CP_ROUTE_F_INCOMPLETE. */
#define CP_MAX_LINKS   4096u
#define CP_MAX_ADDRS   16384u
#define CP_MAX_ROUTES  (1u << 20)
#define CP_MAX_NEIGHS  (1u << 17)

/* The kernel's NUD_VALID (not in the UAPI headers): states with a
 * usable link-layer address. */
#define CP_NUD_VALID (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | \
                      NUD_STALE | NUD_DELAY)

/* Minimum time between two requests about one neighbour entry. */
#define CP_NEIGH_ASK_INTERVAL_NS 1000000000ull

/* The kernel's main/local/default table ids (linux/rtnetlink.h). */
#define CP_TABLE_DEFAULT 253
#define CP_TABLE_MAIN    254
#define CP_TABLE_LOCAL   255

struct cp_link_ent {
  int      ifindex;
  uint32_t flags;          /* IFF_* */
  uint32_t mtu;
  uint16_t arptype;
  uint8_t  mac_len;        /* length of IFLA_ADDRESS (0 if none) */
  uint8_t  mac[6];         /* set when mac_len == 6 */
  char     name[IF_NAMESIZE];
};

struct cp_addr_ent {
  int      ifindex;
  uint32_t local_be32;
  uint32_t peer_be32;
  uint32_t bcast_be32;
  uint32_t flags;          /* IFA_F_* (IFA_FLAGS when present) */
  uint8_t  prefix_len;
  uint8_t  scope;
};

/* cp_route_ent.rflags */
#define CP_RE_MULTIPATH 0x01u /* RTA_MULTIPATH: oif/gw are the first hop's */
#define CP_RE_NHOBJ     0x02u /* RTA_NH_ID: nexthop object, oif unknown */
#define CP_RE_ENCAP     0x04u /* RTA_ENCAP, or RTA_VIA (gateway of another
                               * family) */

struct cp_route_ent {
  uint32_t dst_be32;       /* masked to dst_len */
  uint32_t gw_be32;        /* 0: on-link */
  uint32_t prefsrc_be32;
  uint32_t priority;       /* metric */
  uint32_t mtu;            /* RTAX_MTU, 0 if unset */
  int      oif;
  uint32_t nh_flags;       /* RTNH_F_* of the route (rtm_flags) and hop */
  uint8_t  dst_len;
  uint8_t  table;          /* 253, 254 or 255 */
  uint8_t  type;           /* RTN_* */
  uint8_t  scope;          /* RT_SCOPE_* */
  uint8_t  tos;
  uint8_t  protocol;
  uint8_t  rflags;         /* CP_RE_* */
  int64_t  seq;            /* order among routes of the same key (kernel
                            * alias order: prepend, append); not part of
                            * equality */
};

struct cp_neigh_ent {
  int      ifindex;
  uint32_t ip_be32;
  uint16_t state;          /* NUD_*; NUD_NONE for an entry only we know */
  uint8_t  ntf_flags;      /* NTF_* of ndm_flags */
  uint8_t  managed;        /* NTF_EXT_MANAGED in NDA_FLAGS_EXT */
  uint8_t  mac_len;
  uint8_t  mac[6];
  /* Our own state, not the kernel's: */
  uint8_t  known;          /* the kernel has reported the entry */
  uint8_t  in_progress;    /* we asked; no REACHABLE/FAILED since */
  uint8_t  updated;        /* the kernel reported it since our last ask */
  uint64_t asked_ns;       /* time of the last resolve request (0: never) */
  uint64_t confirmed_ns;   /* time of the last confirmation sent */
};

enum cp_kind {
  CP_K_LINKS,
  CP_K_ADDRS,
  CP_K_ROUTES,
  CP_K_NEIGHS,
  CP_K_RULES,
  CP_K_N,
};

/* cp_table.pending: what notifications could not describe and must be
 * re-dumped (bit (1 << enum cp_kind)). */
#define CP_PEND(kind)  (1u << (kind))
#define CP_PEND_ALL    ((1u << CP_K_N) - 1)

struct cp__sync {
  int    active;
  void*  old;
  size_t n_old;
  size_t cap_old;
  unsigned old_custom_rules;
  int    old_incomplete;
};

struct cp_table {
  struct cp_link_ent*  links;
  size_t n_links, cap_links;
  struct cp_addr_ent*  addrs;
  size_t n_addrs, cap_addrs;
  struct cp_route_ent* routes;
  size_t n_routes, cap_routes;
  struct cp_neigh_ent* neighs;
  size_t n_neighs, cap_neighs;
  int*   accel;              /* sorted ifindexes of cp_set_accelerated */
  size_t n_accel, cap_accel;

  unsigned custom_rules;     /* rules other than the default three */
  int      routes_incomplete;/* a route was dropped since the last dump */
  int64_t  seq_lo, seq_hi;   /* route alias order counters */
  unsigned pending;          /* CP_PEND_* */
  uint64_t gen;              /* every change */
  uint64_t route_gen;        /* changes that can alter route lookups */
  struct cp__sync sync[CP_K_N];
  struct cp_stats stats;
};

/* How a route update places a route among those of the same key (table,
 * dst/len, tos, priority), as the kernel does for ip route replace /
 * append / prepend (and add, which is a prepend of a lone route). */
enum cp_route_how {
  CP_ROUTE_PREPEND,
  CP_ROUTE_APPEND,
  CP_ROUTE_REPLACE,
};

/* ---- cp_table.c: tables and lookups (pure) ---- */

/* cp__tbl_init: an empty table. cp__tbl_free: release its memory (the
 * table may be initialised again). */
void cp__tbl_init(struct cp_table* t);
void cp__tbl_free(struct cp_table* t);

/* cp__tbl_link_update: insert or replace the link e->ifindex. A change of
 * IFF_UP marks routes for a re-dump (the kernel flushes and restores
 * routes of a link that goes down or up without notifying all of it).
 * Returns 1 if the table changed, 0 if not, -ENOMEM (counted). */
int cp__tbl_link_update(struct cp_table* t, const struct cp_link_ent* e);

/* cp__tbl_link_del: remove link ifindex with its addresses, neighbours
 * and routes, and mark routes for a re-dump. Returns 1 if it existed. */
int cp__tbl_link_del(struct cp_table* t, int ifindex);

/* cp__tbl_addr_update / cp__tbl_addr_del: an address, keyed by (ifindex,
 * local, prefix_len, peer). A deletion marks routes for a re-dump (the
 * kernel drops routes that used the address as source silently).
 * Return 1 if the table changed, 0 if not, -ENOMEM. */
int cp__tbl_addr_update(struct cp_table* t, const struct cp_addr_ent* e);
int cp__tbl_addr_del(struct cp_table* t, const struct cp_addr_ent* e);

/* cp__tbl_route_update: add or replace a route as `how` says (during a
 * routes sync the route is appended whatever `how` is). e->seq is
 * ignored. Returns 1 if the table changed, 0 if not, -ENOMEM / -ENOSPC
 * (counted, and lookups report CP_ROUTE_F_INCOMPLETE until a re-dump). */
int cp__tbl_route_update(struct cp_table* t, const struct cp_route_ent* e,
                         enum cp_route_how how);

/* cp__tbl_route_del: remove the route that matches e's key and next hop
 * (type, oif, gateway), else the first of e's key. Returns 1 if one was
 * removed, else 0. */
int cp__tbl_route_del(struct cp_table* t, const struct cp_route_ent* e);

/* cp__tbl_neigh_update: the kernel reported entry (e->ifindex,
 * e->ip_be32) with e->state, e->ntf_flags, e->mac. Our own fields of e
 * are ignored. Returns 1 if the table (as lookups see it) changed, 0 if
 * not, -ENOMEM. */
int cp__tbl_neigh_update(struct cp_table* t, const struct cp_neigh_ent* e);

/* cp__tbl_neigh_del: the kernel deleted the entry. Returns 1 if it
 * existed. */
int cp__tbl_neigh_del(struct cp_table* t, int ifindex, uint32_t ip_be32);

/* cp__tbl_rule_seen: one IPv4 rule of a rules dump; custom is 1 for a rule
 * other than the three defaults. Outside a rules sync it marks rules for a
 * re-dump instead (a notification does not say what else is there). */
void cp__tbl_rule_seen(struct cp_table* t, int custom);

/* cp__tbl_sync_begin: start a re-dump of one kind (see the top of this
 * file). Returns 0 or -EBUSY if that kind is already being synced. */
int cp__tbl_sync_begin(struct cp_table* t, enum cp_kind kind);

/* cp__tbl_sync_end: finish the re-dump of `kind`; ok = 0 restores the
 * table as it was before cp__tbl_sync_begin. On success clears the kind's
 * pending bit. Returns 1 if the table changed, else 0. */
int cp__tbl_sync_end(struct cp_table* t, enum cp_kind kind, int ok);

/* cp__tbl_set_accelerated: see cp_set_accelerated (without the loopback
 * check, which needs the link). Returns 1 if changed, 0, -EINVAL, -ENOMEM. */
int cp__tbl_set_accelerated(struct cp_table* t, int ifindex, int on);

/* cp__tbl_is_accelerated: 1 if ifindex is in the accelerated set. */
int cp__tbl_is_accelerated(const struct cp_table* t, int ifindex);

/* Lookups: the semantics of the cp_* functions of the same names. */
int cp__tbl_route_lookup(const struct cp_table* t, uint32_t dst_be32,
                         uint32_t src_be32, int oif, struct cp_route* out);
enum cp_route_type cp__tbl_addr_type(const struct cp_table* t,
                                     uint32_t ip_be32);
int cp__tbl_addr_ifindex(const struct cp_table* t, uint32_t ip_be32);
int cp__tbl_addr_get(const struct cp_table* t, int ifindex, unsigned idx,
                     struct cp_addr* out);
int cp__tbl_link_get(const struct cp_table* t, int ifindex,
                     struct cp_link* out);
int cp__tbl_link_by_name(const struct cp_table* t, const char* name,
                         struct cp_link* out);
int cp__tbl_neigh_lookup(const struct cp_table* t, int ifindex,
                         uint32_t ip_be32, struct cp_neigh* out);
const struct cp_link_ent* cp__tbl_link_find(const struct cp_table* t,
                                            int ifindex);
const struct cp_neigh_ent* cp__tbl_neigh_find(const struct cp_table* t,
                                              int ifindex, uint32_t ip_be32);

/* What cp__tbl_neigh_ask is asked to decide. */
enum cp_ask {
  CP_ASK_RESOLVE,
  CP_ASK_CONFIRM,
};

/* cp__tbl_neigh_ask: decide whether a resolve or confirm request for
 * (ifindex, ip) should go to the kernel at time now_ns, and if so record
 * it (rate limit; a resolve on an entry that is not valid marks it in
 * progress, creating a local entry when the kernel has none). For a
 * confirmation, *mac receives the MAC to confirm.
 * Returns 1 (send it), 0 (nothing to send: in progress, rate-limited or
 * not needed), -ENOENT (confirm: no confirmable entry), -ENOMEM. */
int cp__tbl_neigh_ask(struct cp_table* t, enum cp_ask what, int ifindex,
                      uint32_t ip_be32, uint64_t now_ns, uint8_t mac[6]);

/* cp__tbl_neigh_ask_failed: the request recorded by cp__tbl_neigh_ask
 * could not be sent or the kernel refused it: undo "in progress". */
void cp__tbl_neigh_ask_failed(struct cp_table* t, int ifindex,
                              uint32_t ip_be32);

/* ---- cp_netlink.c: the rtnetlink codec ---- */

enum cp_nl_mode {
  CP_NL_EVENT,   /* a notification */
  CP_NL_DUMP,    /* part of a dump reply */
};

/* cp__nl_apply_msg: apply one message of at most len bytes (len may
 * exceed nlh->nlmsg_len: a message in a buffer). Counts it in t->stats.
 * Returns 1 (applied, the table changed), 0 (applied without change, or
 * of no interest), -EINVAL (malformed: counted and ignored). Never reads
 * outside [nlh, nlh + len). */
int cp__nl_apply_msg(struct cp_table* t, const void* nlh, size_t len,
                     enum cp_nl_mode mode);

/* cp__nl_apply_buf: apply every message of a buffer as received from a
 * netlink socket (stops at the first header that does not fit, counting
 * it malformed). NLMSG_DONE, NLMSG_ERROR and NLMSG_NOOP are skipped.
 * Returns the number of messages applied that changed the table. */
int cp__nl_apply_buf(struct cp_table* t, const void* buf, size_t len,
                     enum cp_nl_mode mode);

/* cp__nl_build_dump: a dump request of `kind` (not CP_K_N) with sequence
 * number seq into buf (at least CP_NL_REQ_SIZE bytes). Returns its length
 * or -EINVAL. */
#define CP_NL_REQ_SIZE 256
int cp__nl_build_dump(void* buf, size_t size, enum cp_kind kind,
                      uint32_t seq);

/* cp__nl_build_neigh_use: RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK |
 * NLM_F_CREATE, ndm_flags NTF_USE, for (ifindex, ip). Returns its length
 * or -EINVAL. */
int cp__nl_build_neigh_use(void* buf, size_t size, uint32_t seq,
                           int ifindex, uint32_t ip_be32);

/* cp__nl_build_neigh_confirm: RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK
 * (no CREATE, no REPLACE), state NUD_REACHABLE, lladdr mac. Returns its
 * length or -EINVAL. */
int cp__nl_build_neigh_confirm(void* buf, size_t size, uint32_t seq,
                               int ifindex, uint32_t ip_be32,
                               const uint8_t mac[6]);

/* cp__nl_rule_is_custom: for tests and the codec: 1 if the RTM_NEWRULE
 * message describes a rule other than the three defaults, 0 if it is a
 * default, -EINVAL if malformed. */
int cp__nl_rule_is_custom(const void* nlh, size_t len);

#endif /* ANYLOAD_CPLANE_CP_INT_H */
