/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/sock.c: the UDP socket table and the socket calls that are not
 * data transfer: open, bind (ephemeral ports), connect, disconnect,
 * close, options, names, readiness, per-socket counters; the VI filters
 * that the bound sockets need; and the lookups that receive uses.
 *
 * Layer: stack. Sockets are slots of st->socks, numbered from 0; a slot's
 * generation moves at every open, so that a late reference (a frame
 * waiting for a MAC, sent by a socket closed since) cannot reach the
 * slot's next owner. Bound sockets are chained per local port in a hash
 * of ST_PORT_HASH buckets. RX order: udp_rx.c and icmp.c call
 * st__sock_lookup (unicast) or walk a port's chain (multicast, broadcast).
 *
 * Demultiplexing (RFC 768 leaves it to the host; this is the kernel's
 * order): a connected socket whose four-tuple matches, then a socket
 * bound to the destination address, then one bound to INADDR_ANY.
 * Binding follows the kernel's rule: two sockets may share a port when
 * their addresses differ and neither is INADDR_ANY, or when both set
 * SO_REUSEADDR. Ephemeral ports are picked from ephem_lo..ephem_hi,
 * starting after the last one given, skipping ports that any socket of
 * this stack uses and ports whose filter another VI holds (-EBUSY).
 *
 * Multicast (RFC 1112 §7.2, RFC 3376 for sources): memberships are kept
 * per socket (at most ST_MAX_MSHIPS) and the kernel is told through
 * env->mcast_join once per group and source, whatever the number of
 * sockets of this stack that joined, so that it sends the IGMP reports.
 * A membership needs no filter of its own: the socket's filter on its
 * port (wildcard or group address) already claims the group's datagrams.
 * A socket receives a group's datagrams only if it joined (what the
 * kernel does with IP_MULTICAST_ALL off; the kernel's default also
 * delivers groups joined by other sockets: a deviation).
 */
#include "stack/stack_int.h"
#include "stack/publish.h"
#include "stack/sock_common.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define PORT_NONE UINT32_MAX

static unsigned port_bucket(uint16_t lport_be16)
{
  return ntohs(lport_be16) & (ST_PORT_HASH - 1);
}

int st__sock_init(struct anyload_stack* st)
{
  unsigned k;

  st->socks = calloc(st->cfg.max_sockets, sizeof(*st->socks));
  st->n_filters_max = 2 * st->cfg.max_sockets + 16;  /* UDP and TCP */
  st->filters = calloc(st->n_filters_max, sizeof(*st->filters));
  /* (a stack without VIs, as unit tests make, still gets one column) */
  st->filter_cookies = calloc((size_t)st->n_filters_max *
                                (st->n_vis ? st->n_vis : 1),
                              sizeof(*st->filter_cookies));
  if (!st->socks || !st->filters || !st->filter_cookies) {
    free(st->socks);
    free(st->filters);
    free(st->filter_cookies);
    st->socks = NULL;
    st->filters = NULL;
    st->filter_cookies = NULL;
    return -ENOMEM;
  }
  for (k = 0; k < ST_PORT_HASH; k++)
    st->port_hash[k] = PORT_NONE;
  st->n_socks = 0;
  st->n_filters = 0;
  return 0;
}

void st__sock_fini(struct anyload_stack* st)
{
  unsigned k;

  if (st->socks)
    for (k = 0; k < st->cfg.max_sockets; k++)
      if (st->socks[k].used)
        anyload_udp_close(st, (int)k);
  free(st->socks);
  free(st->filters);
  free(st->filter_cookies);
  st->socks = NULL;
  st->filters = NULL;
  st->filter_cookies = NULL;
}

struct st_sock* st__sock_get(const struct anyload_stack* st, int sd)
{
  if (sd < 0 || (unsigned)sd >= st->cfg.max_sockets || !st->socks[sd].used)
    return NULL;
  return &st->socks[sd];
}

void st__sock_set_error(struct anyload_stack* st, int sd, uint32_t gen,
                        int err)
{
  struct st_sock* s = st__sock_get(st, sd);

  if (s && s->gen == gen)
    s->err = err;
}

int st__sock_first_on_port(const struct anyload_stack* st, uint16_t lport_be16)
{
  uint32_t k = st->port_hash[port_bucket(lport_be16)];

  while (k != PORT_NONE && st->socks[k].lport_be16 != lport_be16)
    k = st->socks[k].port_next;
  return k == PORT_NONE ? -1 : (int)k;
}

int st__sock_next_on_port(const struct anyload_stack* st, int sd)
{
  uint16_t port = st->socks[sd].lport_be16;
  uint32_t k = st->socks[sd].port_next;

  while (k != PORT_NONE && st->socks[k].lport_be16 != port)
    k = st->socks[k].port_next;
  return k == PORT_NONE ? -1 : (int)k;
}

struct st_sock* st__sock_lookup(struct anyload_stack* st, uint32_t laddr_be32,
                                uint16_t lport_be16, uint32_t raddr_be32,
                                uint16_t rport_be16)
{
  struct st_sock *exact = NULL, *wild = NULL;
  int k;

  for (k = st__sock_first_on_port(st, lport_be16); k >= 0;
       k = st__sock_next_on_port(st, k)) {
    struct st_sock* s = &st->socks[k];
    if (s->laddr_be32 && s->laddr_be32 != laddr_be32)
      continue;
    if (s->connected) {
      if (s->raddr_be32 == raddr_be32 && s->rport_be16 == rport_be16)
        return s;
      continue;
    }
    if (s->laddr_be32) {
      if (!exact)
        exact = s;
    } else if (!wild) {
      wild = s;
    }
  }
  return exact ? exact : wild;
}

int st__sock_is_member(const struct st_sock* s, uint32_t group_be32,
                       uint32_t src_be32)
{
  unsigned k;

  for (k = 0; k < s->n_mships; k++)
    if (s->mships[k].group_be32 == group_be32 &&
        (!s->mships[k].source_be32 || s->mships[k].source_be32 == src_be32))
      return 1;
  return 0;
}

/* ---- filters ---------------------------------------------------------- */

static struct st_filter* filter_find(struct anyload_stack* st, uint8_t proto,
                                     uint32_t laddr_be32, uint16_t lport_be16,
                                     uint32_t raddr_be32, uint16_t rport_be16)
{
  unsigned k;

  for (k = 0; k < st->n_filters_max; k++) {
    struct st_filter* f = &st->filters[k];
    if (f->used && f->proto == proto && f->laddr_be32 == laddr_be32 &&
        f->lport_be16 == lport_be16 && f->raddr_be32 == raddr_be32 &&
        f->rport_be16 == rport_be16)
      return f;
  }
  return NULL;
}

/* filter_cookies: f's cookies, one per VI. */
static ef_filter_cookie* filter_cookies(struct anyload_stack* st,
                                        const struct st_filter* f)
{
  return st->filter_cookies + (size_t)(f - st->filters) * st->n_vis;
}

/* filter_get: a reference on the ip4_local (raddr 0) or ip4_full filter. */
static int filter_get(struct anyload_stack* st, uint8_t proto,
                      uint32_t laddr_be32, uint16_t lport_be16,
                      uint32_t raddr_be32, uint16_t rport_be16)
{
  struct st_filter* f = filter_find(st, proto, laddr_be32, lport_be16,
                                    raddr_be32, rport_be16);
  ef_filter_spec fs;
  unsigned k;
  int rc;

  if (f) {
    f->refs++;
    return 0;
  }
  for (k = 0; k < st->n_filters_max && st->filters[k].used; k++)
    ;
  if (k == st->n_filters_max)
    return -ENOSPC;
  f = &st->filters[k];
  /* A host's flows: with their later fragments and their ICMP errors. A
   * TCP listener's may be held on the interface's other queues by the
   * stacks of other processes listening there too (a pre-forking server's
   * workers, one queue each): each gets the connections that RSS puts on
   * its queue, which then stay there. */
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_WHOLE_FLOW |
                             (proto == ST_IPPROTO_TCP && !raddr_be32
                                ? EF_FILTER_FLAG_SHARE_QUEUES : 0));
  if (raddr_be32)
    rc = ef_filter_spec_set_ip4_full(&fs, proto, laddr_be32, lport_be16,
                                     raddr_be32, rport_be16);
  else
    rc = ef_filter_spec_set_ip4_local(&fs, proto, laddr_be32, lport_be16);
  if (rc == 0)
    rc = st__vi_filter_add(st, &fs, filter_cookies(st, f));
  if (rc < 0) {
    ST_INC(st, filter_add_err);
    return rc;
  }
  f->used = 1;
  f->proto = proto;
  f->laddr_be32 = laddr_be32;
  f->lport_be16 = lport_be16;
  f->raddr_be32 = raddr_be32;
  f->rport_be16 = rport_be16;
  f->refs = 1;
  st->n_filters++;
  return 0;
}

static void filter_put(struct anyload_stack* st, uint8_t proto,
                       uint32_t laddr_be32, uint16_t lport_be16,
                       uint32_t raddr_be32, uint16_t rport_be16)
{
  struct st_filter* f = filter_find(st, proto, laddr_be32, lport_be16,
                                    raddr_be32, rport_be16);

  if (!f || --f->refs)
    return;
  /* Only TCP asks (tcp_in.c): a UDP release must not push a TCP port
   * out of the few remembered. */
  if (!raddr_be32 && proto == ST_IPPROTO_TCP) {
    struct st_filter_gone* g =
      &st->filters_gone[st->filters_gone_next++ % ST_FILTERS_GONE];
    g->proto = proto;
    g->laddr_be32 = laddr_be32;
    g->lport_be16 = lport_be16;
    g->until = st->now + ST_FILTER_GONE_NS;
  }
  if (!st->forgotten && f->park_ms)
    st__vi_filter_park(st, filter_cookies(st, f), f->park_ms);
  else if (!st->forgotten)
    st__vi_filter_del(st, filter_cookies(st, f));
  memset(f, 0, sizeof(*f));
  st->n_filters--;
}

int st__filter_was_local(const struct anyload_stack* st, uint8_t proto,
                         uint32_t laddr_be32, uint16_t lport_be16)
{
  unsigned k;

  for (k = 0; k < ST_FILTERS_GONE; k++) {
    const struct st_filter_gone* g = &st->filters_gone[k];
    if (g->until > st->now && g->proto == proto &&
        g->lport_be16 == lport_be16 &&
        (!g->laddr_be32 || g->laddr_be32 == laddr_be32))
      return 1;
  }
  return 0;
}

int st__filter_park(struct anyload_stack* st, uint8_t proto,
                    uint32_t laddr_be32, uint16_t lport_be16,
                    unsigned park_ms)
{
  struct st_filter* f = filter_find(st, proto, laddr_be32, lport_be16, 0, 0);

  if (!f)
    return -ENOENT;
  f->park_ms = park_ms;
  return 0;
}

int st__filter_get(struct anyload_stack* st, uint8_t proto,
                   uint32_t laddr_be32, uint16_t lport_be16)
{
  return filter_get(st, proto, laddr_be32, lport_be16, 0, 0);
}

void st__filter_put(struct anyload_stack* st, uint8_t proto,
                    uint32_t laddr_be32, uint16_t lport_be16)
{
  filter_put(st, proto, laddr_be32, lport_be16, 0, 0);
}

int st__filter_get_full(struct anyload_stack* st, uint8_t proto,
                        uint32_t laddr_be32, uint16_t lport_be16,
                        uint32_t raddr_be32, uint16_t rport_be16)
{
  return filter_get(st, proto, laddr_be32, lport_be16, raddr_be32,
                    rport_be16);
}

void st__filter_put_full(struct anyload_stack* st, uint8_t proto,
                         uint32_t laddr_be32, uint16_t lport_be16,
                         uint32_t raddr_be32, uint16_t rport_be16)
{
  filter_put(st, proto, laddr_be32, lport_be16, raddr_be32, rport_be16);
}

/* ---- open, bind, close ------------------------------------------------ */

int anyload_udp_open(struct anyload_stack* st)
{
  unsigned k;

  for (k = 0; k < st->cfg.max_sockets; k++) {
    struct st_sock* s = &st->socks[k];
    uint32_t gen;
    if (s->used)
      continue;
    gen = s->gen + 1;
    memset(s, 0, sizeof(*s));
    s->used = 1;
    s->gen = gen;
    s->ttl = 64;
    s->mcast_ttl = 1;
    s->mcast_loop = 1;
    s->rcvbuf = st->cfg.rcvbuf;
    s->port_next = PORT_NONE;
    st__pq_init(&s->rxq);
    st->n_socks++;
    return (int)k;
  }
  return -EMFILE;
}

/* port_conflict: whether binding s to (addr, port) clashes with another
 * socket of the stack (the kernel's rule, see the top of this file). */
static int port_conflict(const struct anyload_stack* st,
                         const struct st_sock* s, uint32_t addr_be32,
                         uint16_t port_be16)
{
  int k;

  for (k = st__sock_first_on_port(st, port_be16); k >= 0;
       k = st__sock_next_on_port(st, k)) {
    const struct st_sock* o = &st->socks[k];
    if (o == s)
      continue;
    if (o->bind_addr_be32 && addr_be32 && o->bind_addr_be32 != addr_be32)
      continue;
    if (o->reuse && s->reuse)
      continue;
    return 1;
  }
  return 0;
}

static void port_link(struct anyload_stack* st, struct st_sock* s)
{
  unsigned b = port_bucket(s->lport_be16);

  s->port_next = st->port_hash[b];
  st->port_hash[b] = (uint32_t)st__sock_index(st, s);
}

static void port_unlink(struct anyload_stack* st, struct st_sock* s)
{
  uint32_t* pp = &st->port_hash[port_bucket(s->lport_be16)];
  uint32_t me = (uint32_t)st__sock_index(st, s);

  while (*pp != PORT_NONE && *pp != me)
    pp = &st->socks[*pp].port_next;
  if (*pp == me)
    *pp = s->port_next;
  s->port_next = PORT_NONE;
}

/* do_bind: bind s to addr (network order, already checked) and port (0:
 * ephemeral), taking the filter. */
static int do_bind(struct anyload_stack* st, struct st_sock* s,
                   uint32_t addr_be32, uint16_t port_be16)
{
  unsigned lo = st->cfg.ephem_lo, hi = st->cfg.ephem_hi, n, k;
  int rc;

  if (port_be16) {
    if (port_conflict(st, s, addr_be32, port_be16))
      return -EADDRINUSE;
    rc = st__filter_get(st, ST_IPPROTO_UDP, addr_be32, port_be16);
    if (rc < 0)
      return rc;
  } else {
    n = hi - lo + 1;
    rc = -EADDRINUSE;
    for (k = 0; k < n; k++) {
      uint16_t port = st->ephem_next;
      st->ephem_next = (uint16_t)(port >= hi ? lo : port + 1u);
      port_be16 = htons(port);
      if (st__sock_first_on_port(st, port_be16) >= 0)
        continue;
      rc = st__filter_get(st, ST_IPPROTO_UDP, addr_be32, port_be16);
      if (rc == 0)
        break;
      if (rc != -EBUSY && rc != -EEXIST)
        return rc;
      rc = -EADDRINUSE;
    }
    if (rc < 0)
      return rc;
  }
  s->bind_addr_be32 = addr_be32;
  s->laddr_be32 = (st_ipv4_is_mcast(addr_be32) || st_ipv4_is_bcast(addr_be32))
                  ? 0 : addr_be32;
  s->lport_be16 = port_be16;
  s->filtered = 1;
  s->hdr_valid = 0;
  port_link(st, s);
  st__pub_changed(st);
  return 0;
}

int anyload_udp_bind(struct anyload_stack* st, int sd,
                     const struct sockaddr_in* addr, socklen_t len)
{
  struct st_sock* s = st__sock_get(st, sd);
  uint32_t a;

  if (!s)
    return -EBADF;
  if (!addr || len < sizeof(*addr))
    return -EINVAL;
  if (addr->sin_family != AF_INET)
    return -EAFNOSUPPORT;
  if (s->lport_be16)
    return -EINVAL;
  a = addr->sin_addr.s_addr;
  if (a && !st_ipv4_is_mcast(a) && !st_ipv4_is_bcast(a)) {
    int rc = st__local_addr_check(st, a);
    if (rc < 0)
      return rc;
  }
  return do_bind(st, s, a, addr->sin_port);
}

int st__sock_autobind(struct anyload_stack* st, struct st_sock* s)
{
  if (s->lport_be16)
    return 0;
  return do_bind(st, s, 0, 0);
}

/* mship_shared: whether a socket other than s holds (group, source). */
static int mship_shared(const struct anyload_stack* st,
                        const struct st_sock* s, uint32_t group_be32,
                        uint32_t source_be32)
{
  unsigned k, m;

  for (k = 0; k < st->cfg.max_sockets; k++) {
    const struct st_sock* o = &st->socks[k];
    if (!o->used || o == s)
      continue;
    for (m = 0; m < o->n_mships; m++)
      if (o->mships[m].group_be32 == group_be32 &&
          o->mships[m].source_be32 == source_be32)
        return 1;
  }
  return 0;
}

/* mship_drop: remove membership m of s, leaving the kernel's group when
 * no other socket of the stack holds it. */
static int mship_drop(struct anyload_stack* st, struct st_sock* s, unsigned m)
{
  struct st_mship ms = s->mships[m];
  int rc = 0;

  s->mships[m] = s->mships[--s->n_mships];
  if (st->env.mcast_join && !st->forgotten &&
      !mship_shared(st, s, ms.group_be32, ms.source_be32))
    rc = st->env.mcast_join(st->env.ctx, st->ifindex, ms.group_be32,
                            ms.source_be32, 0);
  return rc;
}

int anyload_udp_close(struct anyload_stack* st, int sd)
{
  struct st_sock* s = st__sock_get(st, sd);
  uint32_t k;

  if (!s)
    return -EBADF;
  while ((k = st__pq_pop(st, &s->rxq)) != ST_PKT_NONE)
    st__pkt_free_chain(st, k);
  s->rxq_bytes = 0;
  while (s->n_mships)
    mship_drop(st, s, s->n_mships - 1);
  if (s->lport_be16) {
    port_unlink(st, s);
    if (s->filtered)
      st__filter_put(st, ST_IPPROTO_UDP, s->bind_addr_be32, s->lport_be16);
  }
  s->used = 0;
  st->n_socks--;
  st__pub_changed(st);
  return 0;
}

/* ---- connect ---------------------------------------------------------- */

int anyload_udp_disconnect(struct anyload_stack* st, int sd)
{
  struct st_sock* s = st__sock_get(st, sd);

  if (!s)
    return -EBADF;
  s->connected = 0;
  s->raddr_be32 = 0;
  s->rport_be16 = 0;
  s->hdr_valid = 0;
  if (s->src_by_connect) {
    s->laddr_be32 = 0;
    s->src_by_connect = 0;
  }
  return 0;
}

int anyload_udp_connect(struct anyload_stack* st, int sd,
                        const struct sockaddr_in* addr, socklen_t len)
{
  struct st_sock* s = st__sock_get(st, sd);
  struct st_path path;
  int rc;

  if (!s)
    return -EBADF;
  if (!addr || len < sizeof(sa_family_t))
    return -EINVAL;
  if (addr->sin_family == AF_UNSPEC)
    return anyload_udp_disconnect(st, sd);
  if (len < sizeof(*addr))
    return -EINVAL;
  if (addr->sin_family != AF_INET)
    return -EAFNOSUPPORT;
  if (addr->sin_port == 0)
    return -EINVAL;
  if ((rc = st__sock_autobind(st, s)) < 0)
    return rc;
  rc = st__udp_path(st, s, addr->sin_addr.s_addr, &path, st->now);
  if (rc < 0)
    return rc;
  anyload_udp_disconnect(st, sd);
  if (!s->laddr_be32) {
    s->laddr_be32 = path.src_be32;
    s->src_by_connect = 1;
  }
  s->raddr_be32 = addr->sin_addr.s_addr;
  s->rport_be16 = addr->sin_port;
  s->connected = 1;
  st__pub_changed(st);
  return 0;
}

/* ---- options ---------------------------------------------------------- */

static int get_int(const void* val, socklen_t len, int* out)
{
  if (!val || len < 1)
    return -EINVAL;
  if (len >= sizeof(int)) {
    memcpy(out, val, sizeof(int));
  } else {
    *out = *(const unsigned char*)val;   /* the kernel takes a char too */
  }
  return 0;
}

/* mreq_parse: the group and interface of IP_ADD/DROP_MEMBERSHIP (struct
 * ip_mreq or ip_mreqn); the interface must be this stack's. */
static int mreq_parse(const struct anyload_stack* st, const void* val,
                      socklen_t len, uint32_t* group_be32)
{
  struct ip_mreqn mn;

  if (!val || len < sizeof(struct ip_mreq))
    return -EINVAL;
  memset(&mn, 0, sizeof(mn));
  memcpy(&mn, val, len < sizeof(mn) ? len : sizeof(mn));
  if (!st_ipv4_is_mcast(mn.imr_multiaddr.s_addr))
    return -EINVAL;
  if (len >= sizeof(mn) && mn.imr_ifindex && mn.imr_ifindex != st->ifindex)
    return -ENODEV;
  if (mn.imr_address.s_addr && !st__is_local(st, mn.imr_address.s_addr))
    return -EADDRNOTAVAIL;
  *group_be32 = mn.imr_multiaddr.s_addr;
  return 0;
}

static int mship_find(const struct st_sock* s, uint32_t group_be32,
                      uint32_t source_be32)
{
  unsigned k;

  for (k = 0; k < s->n_mships; k++)
    if (s->mships[k].group_be32 == group_be32 &&
        s->mships[k].source_be32 == source_be32)
      return (int)k;
  return -1;
}

static int mship_add(struct anyload_stack* st, struct st_sock* s,
                     uint32_t group_be32, uint32_t source_be32)
{
  unsigned k;
  int rc;

  if (mship_find(s, group_be32, source_be32) >= 0)
    return -EADDRINUSE;
  /* A group is joined for any source or for chosen sources, not both. */
  for (k = 0; k < s->n_mships; k++)
    if (s->mships[k].group_be32 == group_be32)
      return -EINVAL;
  if (s->n_mships == ST_MAX_MSHIPS)
    return -ENOBUFS;
  if (st->env.mcast_join && !mship_shared(st, s, group_be32, source_be32)) {
    rc = st->env.mcast_join(st->env.ctx, st->ifindex, group_be32,
                            source_be32, 1);
    if (rc < 0)
      return rc;
  }
  s->mships[s->n_mships].group_be32 = group_be32;
  s->mships[s->n_mships].source_be32 = source_be32;
  s->n_mships++;
  return 0;
}

static int set_ip(struct anyload_stack* st, struct st_sock* s, int optname,
                  const void* val, socklen_t len)
{
  uint32_t group, source;
  int v, rc, m;

  switch (optname) {
  case IP_TTL:
    if ((rc = get_int(val, len, &v)) < 0)
      return rc;
    if (v == -1)
      v = 64;
    if (v < 1 || v > 255)
      return -EINVAL;
    s->ttl = (uint8_t)v;
    break;
  case IP_TOS:
    if ((rc = get_int(val, len, &v)) < 0)
      return rc;
    s->tos = (uint8_t)v;
    break;
  case IP_MULTICAST_TTL:
    if ((rc = get_int(val, len, &v)) < 0)
      return rc;
    if (v == -1)
      v = 1;
    if (v < 0 || v > 255)
      return -EINVAL;
    s->mcast_ttl = (uint8_t)v;
    break;
  case IP_MULTICAST_LOOP:
    if ((rc = get_int(val, len, &v)) < 0)
      return rc;
    s->mcast_loop = v != 0;
    break;
  case IP_MULTICAST_IF: {
    struct ip_mreqn mn;
    uint32_t a;
    if (!val || len < sizeof(struct in_addr))
      return -EINVAL;
    memset(&mn, 0, sizeof(mn));
    memcpy(&mn, val, len < sizeof(mn) ? len : sizeof(mn));
    if (len >= sizeof(struct ip_mreq))
      a = mn.imr_address.s_addr;   /* ip_mreq(n): the interface address */
    else
      a = mn.imr_multiaddr.s_addr; /* a bare struct in_addr */
    if (len >= sizeof(mn) && mn.imr_ifindex && mn.imr_ifindex != st->ifindex)
      return -EXDEV;
    if (a && !st__is_local(st, a))
      return -EADDRNOTAVAIL;
    s->mcast_if_be32 = a;
    s->hdr_valid = 0;
    break;
  }
  case IP_ADD_MEMBERSHIP:
  case IP_DROP_MEMBERSHIP:
    if ((rc = mreq_parse(st, val, len, &group)) < 0)
      return rc;
    if (optname == IP_ADD_MEMBERSHIP)
      return mship_add(st, s, group, 0);
    if ((m = mship_find(s, group, 0)) < 0)
      return -EADDRNOTAVAIL;
    return mship_drop(st, s, (unsigned)m);
  case IP_ADD_SOURCE_MEMBERSHIP:
  case IP_DROP_SOURCE_MEMBERSHIP: {
    struct ip_mreq_source ms;
    if (!val || len < sizeof(ms))
      return -EINVAL;
    memcpy(&ms, val, sizeof(ms));
    group = ms.imr_multiaddr.s_addr;
    source = ms.imr_sourceaddr.s_addr;
    if (!st_ipv4_is_mcast(group) || !source)
      return -EINVAL;
    if (ms.imr_interface.s_addr && !st__is_local(st, ms.imr_interface.s_addr))
      return -EADDRNOTAVAIL;
    if (optname == IP_ADD_SOURCE_MEMBERSHIP)
      return mship_add(st, s, group, source);
    if ((m = mship_find(s, group, source)) < 0)
      return -EADDRNOTAVAIL;
    return mship_drop(st, s, (unsigned)m);
  }
  default:
    return -ENOPROTOOPT;
  }
  s->hdr_valid = 0;
  return 0;
}

int anyload_udp_setsockopt(struct anyload_stack* st, int sd, int level,
                           int optname, const void* val, socklen_t len)
{
  struct st_sock* s = st__sock_get(st, sd);
  int v, rc;

  if (!s)
    return -EBADF;
  if (level == IPPROTO_IP)
    return set_ip(st, s, optname, val, len);
  if (level != SOL_SOCKET)
    return -ENOPROTOOPT;
  if ((rc = get_int(val, len, &v)) < 0)
    return rc;
  switch (optname) {
  case SO_BROADCAST:
    s->broadcast = v != 0;
    s->hdr_valid = 0;   /* a cached broadcast path was checked with it */
    break;
  case SO_REUSEADDR:
    s->reuse = v != 0;
    break;
  case SO_NO_CHECK:
    s->no_check = v != 0;
    break;
  case SO_RCVBUF:
    /* The kernel doubles the value for its bookkeeping; so do we, with a
     * floor of one buffer so that a datagram always fits. */
    if (v < 0)
      return -EINVAL;
    s->rcvbuf = (unsigned)v > (1u << 29) ? (1u << 30) : (unsigned)v * 2u;
    if (s->rcvbuf < st->buf_size)
      s->rcvbuf = st->buf_size;
    break;
  default:
    return -ENOPROTOOPT;
  }
  return 0;
}

int anyload_udp_getsockopt(struct anyload_stack* st, int sd, int level,
                           int optname, void* val, socklen_t* len)
{
  struct st_sock* s = st__sock_get(st, sd);
  int v;

  if (!s)
    return -EBADF;
  if (level == SOL_SOCKET) {
    switch (optname) {
    case SO_ERROR:
      v = s->err;
      if (st__put_int(val, len, v) < 0)
        return -EINVAL;
      s->err = 0;
      return 0;
    case SO_TYPE:
      return st__put_int(val, len, SOCK_DGRAM);
    case SO_BROADCAST:
      return st__put_int(val, len, s->broadcast);
    case SO_REUSEADDR:
      return st__put_int(val, len, s->reuse);
    case SO_NO_CHECK:
      return st__put_int(val, len, s->no_check);
    case SO_RCVBUF:
      return st__put_int(val, len, (int)s->rcvbuf);
    default:
      return -ENOPROTOOPT;
    }
  }
  if (level != IPPROTO_IP)
    return -ENOPROTOOPT;
  switch (optname) {
  case IP_TTL:
    return st__put_int(val, len, s->ttl);
  case IP_TOS:
    return st__put_int(val, len, s->tos);
  case IP_MULTICAST_TTL:
    return st__put_int(val, len, s->mcast_ttl);
  case IP_MULTICAST_LOOP:
    return st__put_int(val, len, s->mcast_loop);
  case IP_MULTICAST_IF:
    if (!val || !len || *len < sizeof(struct in_addr))
      return -EINVAL;
    memcpy(val, &s->mcast_if_be32, sizeof(struct in_addr));
    *len = sizeof(struct in_addr);
    return 0;
  default:
    return -ENOPROTOOPT;
  }
}

/* ---- names, readiness, counters --------------------------------------- */

int anyload_udp_getsockname(struct anyload_stack* st, int sd,
                            struct sockaddr_in* addr, socklen_t* len)
{
  struct st_sock* s = st__sock_get(st, sd);

  if (!s)
    return -EBADF;
  return st__put_addr(addr, len,
                      s->laddr_be32 ? s->laddr_be32 : s->bind_addr_be32,
                      s->lport_be16);
}

int anyload_udp_getpeername(struct anyload_stack* st, int sd,
                            struct sockaddr_in* addr, socklen_t* len)
{
  struct st_sock* s = st__sock_get(st, sd);

  if (!s)
    return -EBADF;
  if (!s->connected)
    return -ENOTCONN;
  return st__put_addr(addr, len, s->raddr_be32, s->rport_be16);
}

int anyload_udp_poll(const struct anyload_stack* st, int sd)
{
  const struct st_sock* s = st__sock_get(st, sd);
  int mask = 0;

  if (!s)
    return -EBADF;
  if (s->rxq.n)
    mask |= POLLIN;
  if (s->err)
    mask |= POLLERR;
  if (ef_vi_transmit_space(st__tx_vi(st)) > 0 && st->n_free > 1)
    mask |= POLLOUT;
  return mask;
}

static const struct st_stat_desc sock_stats[] = {
#define ST_SOCK_STAT(name, doc) ST_STAT_DESC(name, doc)
#include "stack/stats.def"
#undef ST_SOCK_STAT
};

unsigned anyload_udp_stat_count(void)
{
  return ST_SOCK_N_STATS;
}

const char* anyload_udp_stat_name(unsigned i)
{
  return st__stat_name(sock_stats, ST_SOCK_N_STATS, i);
}

const char* anyload_udp_stat_doc(unsigned i)
{
  return st__stat_doc(sock_stats, ST_SOCK_N_STATS, i);
}

int anyload_udp_stats(const struct anyload_stack* st, int sd, uint64_t* out,
                      unsigned n)
{
  const struct st_sock* s = st__sock_get(st, sd);

  if (!s)
    return -EBADF;
  return st__stat_copy(s->stats, ST_SOCK_N_STATS, out, n);
}
