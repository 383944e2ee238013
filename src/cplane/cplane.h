/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cplane/cplane.h: the control plane's public header for the stack. A
 * cp_mirror is a copy of the kernel's IPv4 view of one network namespace
 * (the one the calling thread is in at cp_open): links, addresses, routes
 * of the local (255), main (254) and default (253) tables, the ip rules'
 * shape, and the ARP (neighbour) table. It is read once over rtnetlink and
 * then kept current from the kernel's notifications, which the owner
 * applies by calling cp_process when cp_fd is readable.
 *
 * Lookups answer as the kernel's output routing would (ip_route_output for
 * a flow with TOS 0 and no mark): route type, outgoing interface,
 * preferred source, next hop and MTU, with the kernel's errors. Next-hop
 * MACs come from the kernel's own neighbour table, so anyload and the
 * kernel share one ARP cache: anyload never sends ARP itself; it asks the
 * kernel to resolve (cp_neigh_resolve, RTM_NEWNEIGH with NTF_USE, which
 * makes the kernel call neigh_event_send() and emit the request) and
 * learns the answer from the notification. The packets that wait for a
 * resolution are queued by the stack, not here.
 *
 * Out of scope (documented deviations from the kernel):
 *   - Policy routing: lookups use the default rules only (local, main,
 *     default). Rules other than those three are detected and reported
 *     (cp_has_policy_rules, CP_ROUTE_F_POLICY_RULES) so that the stack can
 *     refuse or fall back to the kernel.
 *   - Multipath routes, nexthop objects (RTA_NH_ID) and encapsulation
 *     (RTA_ENCAP) are mirrored but not modelled: a lookup that ends on one
 *     reports CP_ROUTE_F_UNSUPPORTED and accelerated = 0.
 *   - Routes with a TOS, IPv6, VRF/l3mdev, PMTU exceptions (the stack keeps
 *     its own path MTU from ICMP), and the kernel's choice among several
 *     default routes by neighbour state (fib_select_default): we take the
 *     first by metric.
 *   - Without CAP_NET_ADMIN the kernel refuses cp_neigh_resolve and
 *     cp_neigh_confirm (-EPERM); reading works unprivileged.
 *
 * Addresses are IPv4 in network byte order (_be32). All functions return
 * 0 (or a count >= 0) on success and a negative errno on failure.
 *
 * Thread-safety: a cp_mirror belongs to one thread at a time. Every call
 * on the same mirror, lookups included, must be serialised by the caller
 * (the stack calls them from its own poll loop or under its lock).
 * Different mirrors are independent.
 */
#ifndef ANYLOAD_CPLANE_H
#define ANYLOAD_CPLANE_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cp_mirror;

/* Route and address types. The values are the kernel's RTN_* values. */
enum cp_route_type {
  CP_RT_UNSPEC = 0,
  CP_RT_UNICAST = 1,     /* through a gateway or on-link */
  CP_RT_LOCAL = 2,       /* an address of this host (via loopback) */
  CP_RT_BROADCAST = 3,   /* 255.255.255.255 or a subnet broadcast */
  CP_RT_ANYCAST = 4,
  CP_RT_MULTICAST = 5,
  CP_RT_BLACKHOLE = 6,   /* kernel: -EINVAL */
  CP_RT_UNREACHABLE = 7, /* kernel: -EHOSTUNREACH */
  CP_RT_PROHIBIT = 8,    /* kernel: -EACCES */
  CP_RT_THROW = 9,       /* kernel: continue with the next rule */
  CP_RT_NAT = 10,
  CP_RT_XRESOLVE = 11,
};

/* cp_route.flags */
#define CP_ROUTE_F_GATEWAY       0x01u /* nexthop is a gateway, not dst */
#define CP_ROUTE_F_ONLINK_FALLBACK 0x02u /* no route matched; oif was given,
                                          * so the kernel assumes dst is on
                                          * the link of oif */
#define CP_ROUTE_F_UNSUPPORTED   0x04u /* multipath, nexthop object or
                                        * encap: accelerated is 0 */
#define CP_ROUTE_F_POLICY_RULES  0x08u /* ip rules other than the default
                                        * three exist: the kernel may route
                                        * this flow differently */
#define CP_ROUTE_F_INCOMPLETE    0x10u /* the mirror dropped routes (table
                                        * full or memory): accelerated is 0 */
#define CP_ROUTE_F_DEFAULT_TABLE 0x20u /* matched in table 253 */

/* The answer of cp_route_lookup. */
struct cp_route {
  enum cp_route_type type;
  int      ifindex;      /* outgoing interface (loopback for LOCAL) */
  uint32_t src_be32;     /* source address to use */
  uint32_t nexthop_be32; /* gateway, or dst when on-link */
  uint32_t mtu;          /* route MTU metric if set, else the link MTU */
  uint32_t flags;        /* CP_ROUTE_F_* */
  uint32_t metric;       /* priority of the matched route (0 if none) */
  uint8_t  prefix_len;   /* of the matched route (32 if none) */
  uint8_t  table;        /* of the matched route (0 if none) */
  uint8_t  accelerated;  /* 1: anyload may send this flow itself */
};

/* The answer of cp_link_get and cp_link_by_name. */
struct cp_link {
  int      ifindex;
  char     name[IF_NAMESIZE];
  uint8_t  mac[6];       /* zero if the link has no 6-byte address */
  uint8_t  mac_len;      /* length of the link address (6 for Ethernet) */
  uint16_t arptype;      /* ARPHRD_* */
  uint32_t mtu;
  uint32_t flags;        /* IFF_* as the kernel reports them */
  uint8_t  up;           /* IFF_UP */
  uint8_t  running;      /* IFF_RUNNING (carrier and operational) */
  uint8_t  loopback;     /* IFF_LOOPBACK */
  uint8_t  accelerated;  /* registered with cp_set_accelerated */
};

/* An IPv4 address of an interface (cp_addr_get). */
struct cp_addr {
  int      ifindex;
  uint32_t local_be32;   /* the host's address (IFA_LOCAL) */
  uint32_t peer_be32;    /* IFA_ADDRESS: the peer on point-to-point links,
                          * else equal to local_be32 */
  uint32_t broadcast_be32; /* 0 if none */
  uint8_t  prefix_len;
  uint8_t  scope;        /* RT_SCOPE_* */
  uint32_t flags;        /* IFA_F_* (IFA_F_SECONDARY ...) */
};

/* The answer of cp_neigh_lookup. */
struct cp_neigh {
  uint8_t  mac[6];
  uint16_t state;        /* the kernel's NUD_* state */
};

/* Counters of a mirror: X(name, doc). */
#define CP_STATS(X)                                                          \
  X(nl_msgs,        "netlink messages applied (notifications and dumps)")    \
  X(nl_malformed,   "malformed or truncated netlink messages ignored")       \
  X(nl_ignored,     "well-formed messages of no interest (IPv6, bridge, "    \
                    "other tables, cloned routes)")                          \
  X(nl_truncated,   "notifications longer than the receive buffer")          \
  X(overruns,       "event socket overruns (ENOBUFS), each a full re-dump")  \
  X(dumps,          "dumps completed (one per table kind)")                  \
  X(dump_retries,   "dumps restarted because the kernel changed the table "  \
                    "meanwhile (NLM_F_DUMP_INTR)")                           \
  X(dump_errors,    "dumps that failed and are retried later")               \
  X(table_full,     "entries dropped because a table is full or memory "     \
                    "ran out")                                               \
  X(resolve_sent,   "RTM_NEWNEIGH NTF_USE requests sent")                    \
  X(resolve_limited,"resolution requests suppressed by the rate limit")      \
  X(confirm_sent,   "neighbour confirmations sent")                          \
  X(request_errors, "neighbour requests the kernel refused")

struct cp_stats {
#define CP__STAT_FIELD(name, doc) uint64_t name;
  CP_STATS(CP__STAT_FIELD)
#undef CP__STAT_FIELD
};

/* cp_open: create a mirror of the current network namespace. Opens two
 * NETLINK_ROUTE sockets (one subscribed to RTMGRP_LINK, RTMGRP_NEIGH,
 * RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE and RTMGRP_IPV4_RULE; one for
 * dumps and requests), subscribes first and then dumps links, addresses,
 * rules, routes and neighbours, so that no change is missed.
 *   out: receives the mirror; untouched on failure.
 * Returns 0, or -ENOMEM, -EPROTONOSUPPORT (no rtnetlink), -EAGAIN (a dump
 * was interrupted by changes too often), -ETIMEDOUT (the kernel did not
 * answer a dump within 2 s) or another -errno of socket/bind/send/recv.
 * Thread-safety: none needed (creates a new object). */
int cp_open(struct cp_mirror** out);

/* cp_close: close the sockets and free the mirror. NULL is ignored. */
void cp_close(struct cp_mirror* cp);

/* cp_fd: the file descriptor to poll for POLLIN; when it is readable,
 * call cp_process. Owned by the mirror: do not read from or close it. */
int cp_fd(const struct cp_mirror* cp);

/* cp_process: apply every pending notification without blocking, then
 * re-dump what notifications cannot describe: after an overrun of the
 * event socket (ENOBUFS: everything), after a link went up or down or was
 * deleted or an address was deleted (routes: the kernel flushes routes
 * through it without telling), after a rule change (rules).
 * Returns the number of messages applied (>= 0), or a negative errno of
 * recv or of a dump (-ETIMEDOUT, -EAGAIN, -ENOMEM ...); a failed re-dump
 * stays pending and is retried by the next call, so a caller that saw an
 * error should call again later even if cp_fd stays quiet. Never blocks
 * longer than the bounded dumps (2 s each at worst, microseconds
 * normally). */
int cp_process(struct cp_mirror* cp);

/* cp_refresh: re-dump everything now (for callers that want a periodic
 * safety net, as Onload's server re-dumps every few seconds). The
 * generations move only if something differed.
 * Returns 0 or the errors of cp_process. */
int cp_refresh(struct cp_mirror* cp);

/* cp_generation: a counter bumped on every change of the mirror (links,
 * addresses, routes, rules, neighbours, accelerated set). */
uint64_t cp_generation(const struct cp_mirror* cp);

/* cp_route_generation: a counter bumped on every change that can alter
 * the result of cp_route_lookup, cp_addr_* or cp_link_* (not on
 * neighbour changes): a route lookup cached while it is unchanged is
 * still right. */
uint64_t cp_route_generation(const struct cp_mirror* cp);

/* cp_has_policy_rules: 1 if the namespace has IPv4 rules other than the
 * three defaults (0: lookup local, 32766: main, 32767: default), in which
 * case lookups here may differ from the kernel's; else 0. */
int cp_has_policy_rules(const struct cp_mirror* cp);

/* cp_route_lookup: route an outgoing IPv4 flow as the kernel would.
 *   dst_be32: destination (0 means this host, as in the kernel).
 *   src_be32: the source the socket is bound to, or 0. A non-zero source
 *             must be a local address; for a multicast or limited
 *             broadcast destination without oif it picks the interface.
 *   oif:      0, or the interface the socket is bound to
 *             (SO_BINDTODEVICE, IP_MULTICAST_IF, IP_PKTINFO): only routes
 *             through it match, and with no matching route the kernel
 *             assumes dst is on its link (CP_ROUTE_F_ONLINK_FALLBACK).
 *             Link-local multicast (224.0.0.0/24) and 255.255.255.255 go
 *             straight out of oif.
 *   out:      the result (also filled, type and table, when a route of an
 *             error type matched).
 * accelerated is 1 when the type is unicast, broadcast or multicast, the
 * interface was registered with cp_set_accelerated and is not loopback,
 * and the route is one we model (no CP_ROUTE_F_UNSUPPORTED or
 * CP_ROUTE_F_INCOMPLETE); otherwise the caller hands the flow to the
 * kernel. A local destination is type LOCAL, never accelerated.
 * Returns 0, or
 *   -ENETUNREACH  no route (or oif is down, or src is not local),
 *   -EHOSTUNREACH an unreachable route matched,
 *   -EACCES       a prohibit route matched,
 *   -EINVAL       a blackhole (or nat/xresolve) route matched, src is
 *                 multicast/broadcast, a loopback src on another link, or
 *                 dst is in 0.0.0.0/8,
 *   -ENODEV       oif does not exist.
 * Cost: a scan of the routes in lookup order, stopping at the first
 * usable one (linear in the table at worst): cache the answer per flow
 * while cp_route_generation is unchanged.
 * Thread-safety: see the top of this file; does not change the mirror. */
int cp_route_lookup(const struct cp_mirror* cp, uint32_t dst_be32,
                    uint32_t src_be32, int oif, struct cp_route* out);

/* cp_addr_type: the type the kernel gives an address (inet_addr_type):
 * CP_RT_LOCAL for an address of this host (127.0.0.0/8 included),
 * CP_RT_BROADCAST for 0.0.0.0/8, 255.255.255.255 and subnet broadcasts,
 * CP_RT_MULTICAST for 224.0.0.0/4, else CP_RT_UNICAST (or the type of the
 * matching local-table route). Never fails. */
enum cp_route_type cp_addr_type(const struct cp_mirror* cp, uint32_t ip_be32);

/* cp_addr_ifindex: the interface that holds local address ip_be32.
 * Returns its ifindex (> 0), or -EADDRNOTAVAIL. */
int cp_addr_ifindex(const struct cp_mirror* cp, uint32_t ip_be32);

/* cp_addr_get: the idx-th (0-based) IPv4 address of interface ifindex,
 * or of all interfaces when ifindex is 0, in the kernel's order.
 * Returns 0, or -ENOENT when there is no such address. */
int cp_addr_get(const struct cp_mirror* cp, int ifindex, unsigned idx,
                struct cp_addr* out);

/* cp_link_get: the interface ifindex. Returns 0, or -ENODEV. */
int cp_link_get(const struct cp_mirror* cp, int ifindex,
                struct cp_link* out);

/* cp_link_by_name: the interface called name. Returns 0, or -ENODEV. */
int cp_link_by_name(const struct cp_mirror* cp, const char* name,
                    struct cp_link* out);

/* cp_set_accelerated: register (on != 0) or unregister the interface
 * ifindex as one that the caller drives; routes through it then report
 * accelerated = 1. The set survives the link going away and coming back
 * with the same index. Bumps both generations when it changes.
 * Returns 0, -EINVAL (ifindex <= 0, or a loopback interface), -ENOMEM. */
int cp_set_accelerated(struct cp_mirror* cp, int ifindex, int on);

/* cp_neigh_lookup: the kernel's neighbour entry for next hop ip_be32 on
 * interface ifindex.
 * Returns
 *   0             usable: REACHABLE, STALE, DELAY, PROBE, PERMANENT or
 *                 NOARP; out->mac and out->state are set (a STALE entry
 *                 is usable, but see cp_neigh_resolve),
 *   -EAGAIN       unknown, INCOMPLETE, or a resolution we asked for is
 *                 in progress: queue the packet and call cp_neigh_resolve,
 *   -EHOSTUNREACH the last resolution FAILED: fail the packets that
 *                 waited for it; a new packet may call cp_neigh_resolve
 *                 again, which restarts it (as the kernel does).
 * out->state is set whenever the entry exists (NUD_NONE otherwise). */
int cp_neigh_lookup(const struct cp_mirror* cp, int ifindex,
                    uint32_t ip_be32, struct cp_neigh* out);

/* cp_neigh_resolve: ask the kernel to resolve ip_be32 on ifindex
 * (RTM_NEWNEIGH, NLM_F_CREATE, NTF_USE: the kernel runs neigh_event_send,
 * sends the ARP request and later notifies REACHABLE or FAILED). On a
 * STALE entry this makes the kernel re-verify it (STALE -> DELAY -> a
 * unicast probe), as it does for its own traffic: call it, rate-limited,
 * when sending through a STALE entry without upper-layer confirmation.
 * Rate-limited per entry: at most one request a second, unless the kernel
 * reported a new state for the entry since the last request (so a FAILED
 * entry can be retried at once). A request on an unknown or FAILED entry
 * marks it "in progress" here, because the kernel does not notify the
 * INCOMPLETE state.
 * Returns 0 (a request was sent, or one is in progress or was sent less
 * than a second ago), or -EINVAL (bad address: 0, multicast, broadcast,
 * loopback), -ENODEV (unknown interface), -ENOMEM, or the kernel's error
 * (-EPERM without CAP_NET_ADMIN, ...). */
int cp_neigh_resolve(struct cp_mirror* cp, int ifindex, uint32_t ip_be32);

/* cp_neigh_confirm: tell the kernel that the neighbour is reachable
 * because the upper layer saw forward progress (a TCP ACK of new data:
 * what MSG_CONFIRM / dst_confirm do for kernel sockets). If the mirror
 * holds the entry as STALE, DELAY or PROBE with a MAC, sends RTM_NEWNEIGH
 * state REACHABLE with that same MAC, without NLM_F_REPLACE or
 * NLM_F_CREATE: the kernel then only refreshes an entry that still has
 * this MAC (a changed MAC or a deleted entry is left alone). Entries that
 * are REACHABLE, PERMANENT, NOARP, externally learned or managed are not
 * touched. Rate-limited like cp_neigh_resolve.
 * Returns 0 (sent or nothing to do), -ENOENT (no usable entry), -EINVAL,
 * or the kernel's error (-EPERM ...). */
int cp_neigh_confirm(struct cp_mirror* cp, int ifindex, uint32_t ip_be32);

/* cp_dump: write the mirror's tables to f as text, one entry a line, for
 * tools and tests (what onload_mibdump is to Onload). Lines, fields
 * separated by one space, "-" for an absent value:
 *   link IFINDEX NAME mtu MTU up 0|1 mac MAC accel 0|1
 *   addr IFINDEX LOCAL/PLEN brd BRD scope SCOPE flags 0xFLAGS
 *   route TABLE TYPE DST/LEN dev IFINDEX via GW src PREFSRC metric N
 *         mtu N [multipath] [nhobj] [encap] [dead]
 *   neigh IFINDEX IP STATE MAC [in-progress]   (STATE as ip(8) names it)
 *   rules custom N
 *   gen GEN route_gen GEN
 * Routes come in lookup order, neighbours by (ifindex, address); entries
 * that only anyload knows (a resolution it started and the kernel has not
 * reported) show as NONE. Errors of f are f's. */
void cp_dump(const struct cp_mirror* cp, FILE* f);

/* cp_stats_get: a copy of the mirror's counters (CP_STATS). */
void cp_stats_get(const struct cp_mirror* cp, struct cp_stats* out);

#endif /* ANYLOAD_CPLANE_H */
