/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cplane/cp_mirror.c: the control plane's sockets and event loop: opens
 * the rtnetlink sockets, dumps the kernel's tables into a cp_table
 * (cp_table.c) through the codec (cp_netlink.c), applies notifications in
 * cp_process, re-dumps what notifications cannot describe, and sends the
 * neighbour requests. The public lookups are thin wrappers over the
 * table's.
 *
 * Two sockets: `ev` is bound to the multicast groups and only ever read
 * (non-blocking) by cp_process; `req` carries dumps and requests, each
 * with its own sequence number, and is read synchronously (dump replies
 * with a 2 s receive timeout; the ACK of a request is already queued when
 * sendmsg returns, because rtnetlink handles requests in the sender's
 * context). Subscribing before dumping means no change is lost: a
 * notification that the dump already reflects is applied again
 * harmlessly (updates are idempotent, and the last message about an
 * object always carries its latest state).
 */
#include "cplane/cp_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Receive buffer: larger than any single message (the kernel caps dump
 * messages at 32 KiB; link notifications are a few KiB). */
#define CP_BUF_SIZE      (64 * 1024)
/* Socket receive buffer of the event socket (SO_RCVBUFFORCE when
 * privileged): room for bursts such as a flush of many routes. */
#define CP_EV_RCVBUF     (4 * 1024 * 1024)
#define CP_DUMP_TIMEOUT_S 2
#define CP_DUMP_ATTEMPTS 4
/* cp_process reads at most this many datagrams per call, so that a flood
 * of notifications cannot hold the caller; the fd stays readable. */
#define CP_PROCESS_BUDGET 256

struct cp_mirror {
  struct mnl_socket* ev;
  struct mnl_socket* req;
  unsigned req_portid;
  uint32_t seq;
  struct cp_table tbl;
  char* buf;
};

static uint64_t now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* recv_kernel: one datagram from the kernel (others are dropped).
 * Returns its length, or -errno (-EAGAIN when nothing is there, -EMSGSIZE
 * when it did not fit the buffer). */
static ssize_t recv_kernel(int fd, char* buf, int flags)
{
  for (;;) {
    struct sockaddr_nl sa;
    socklen_t alen = sizeof(sa);
    ssize_t n = recvfrom(fd, buf, CP_BUF_SIZE, flags | MSG_TRUNC,
                         (struct sockaddr*)&sa, &alen);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EWOULDBLOCK)
        return -EAGAIN;
      return -errno;
    }
    if (alen < sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
      continue;
    if (n > CP_BUF_SIZE)
      return -EMSGSIZE;
    return n;
  }
}

/* dump_recv: read the reply to dump `seq` into the table. Sets *intr when
 * the kernel flagged the dump inconsistent (NLM_F_DUMP_INTR). */
static int dump_recv(struct cp_mirror* cp, uint32_t seq, int* intr)
{
  int fd = mnl_socket_get_fd(cp->req);

  for (;;) {
    ssize_t n = recv_kernel(fd, cp->buf, 0);
    const struct nlmsghdr* nlh;
    int rem;

    if (n == -EAGAIN)
      return -ETIMEDOUT;           /* SO_RCVTIMEO expired */
    if (n == -ENOBUFS)
      continue;                    /* a dropped ACK; dump data is paced */
    if (n < 0)
      return (int)n;
    rem = (int)n;
    for (nlh = (const struct nlmsghdr*)cp->buf; mnl_nlmsg_ok(nlh, rem);
         nlh = mnl_nlmsg_next(nlh, &rem)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != cp->req_portid)
        continue;                  /* a late ACK of an earlier request */
      if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
        *intr = 1;
      if (nlh->nlmsg_type == NLMSG_DONE) {
        int err = 0;
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err))
          memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
        return err < 0 ? err : 0;
      }
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr e;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(e))
          return -EPROTO;
        memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
        if (e.error)
          return e.error < 0 ? e.error : -e.error;
        continue;
      }
      cp__nl_apply_msg(&cp->tbl, nlh, (size_t)rem, CP_NL_DUMP);
    }
  }
}

/* dump_kind: re-dump one kind into the table, again when the kernel says
 * the dump was interrupted by changes. */
static int dump_kind(struct cp_mirror* cp, enum cp_kind kind)
{
  char req[CP_NL_REQ_SIZE] __attribute__((aligned(8)));
  int attempt, len, rc, intr;

  for (attempt = 0; attempt < CP_DUMP_ATTEMPTS; attempt++) {
    uint32_t seq = ++cp->seq;

    len = cp__nl_build_dump(req, sizeof(req), kind, seq);
    if (len < 0)
      return len;
    if (mnl_socket_sendto(cp->req, req, (size_t)len) < 0) {
      rc = -errno;
      cp->tbl.stats.dump_errors++;
      return rc;
    }
    rc = cp__tbl_sync_begin(&cp->tbl, kind);
    if (rc < 0)
      return rc;
    intr = 0;
    rc = dump_recv(cp, seq, &intr);
    cp__tbl_sync_end(&cp->tbl, kind, rc == 0 && !intr);
    if (rc < 0) {
      cp->tbl.stats.dump_errors++;
      return rc;
    }
    if (!intr) {
      cp->tbl.stats.dumps++;
      return 0;
    }
    cp->tbl.stats.dump_retries++;
  }
  cp->tbl.stats.dump_errors++;
  return -EAGAIN;
}

/* resync: re-dump every pending kind, links first (a link change can mark
 * routes) and neighbours last. */
static int resync(struct cp_mirror* cp)
{
  static const enum cp_kind order[] = {
    CP_K_LINKS, CP_K_ADDRS, CP_K_RULES, CP_K_ROUTES, CP_K_NEIGHS,
  };
  size_t i;
  int rc;

  for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
    if (!(cp->tbl.pending & CP_PEND(order[i])))
      continue;
    rc = dump_kind(cp, order[i]);
    if (rc < 0)
      return rc;
  }
  return 0;
}

int cp_open(struct cp_mirror** out)
{
  struct cp_mirror* cp;
  struct timeval tv = { .tv_sec = CP_DUMP_TIMEOUT_S };
  int rcvbuf = CP_EV_RCVBUF;
  int rc;

  cp = calloc(1, sizeof(*cp));
  if (!cp)
    return -ENOMEM;
  cp__tbl_init(&cp->tbl);
  cp->buf = aligned_alloc(8, CP_BUF_SIZE);
  if (!cp->buf) {
    rc = -ENOMEM;
    goto free_cp;
  }

  cp->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!cp->ev) {
    rc = -errno;
    goto free_buf;
  }
  if (setsockopt(mnl_socket_get_fd(cp->ev), SOL_SOCKET, SO_RCVBUFFORCE,
                 &rcvbuf, sizeof(rcvbuf)) < 0)
    (void)setsockopt(mnl_socket_get_fd(cp->ev), SOL_SOCKET, SO_RCVBUF,
                     &rcvbuf, sizeof(rcvbuf));
  if (mnl_socket_bind(cp->ev, RTMGRP_LINK | RTMGRP_NEIGH |
                      RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
                      RTMGRP_IPV4_RULE, MNL_SOCKET_AUTOPID) < 0) {
    rc = -errno;
    goto close_ev;
  }

  cp->req = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!cp->req) {
    rc = -errno;
    goto close_ev;
  }
  if (setsockopt(mnl_socket_get_fd(cp->req), SOL_SOCKET, SO_RCVTIMEO, &tv,
                 sizeof(tv)) < 0 ||
      mnl_socket_bind(cp->req, 0, MNL_SOCKET_AUTOPID) < 0) {
    rc = -errno;
    goto close_req;
  }
  cp->req_portid = mnl_socket_get_portid(cp->req);

  cp->tbl.pending = CP_PEND_ALL;
  rc = resync(cp);
  if (rc < 0)
    goto close_req;
  *out = cp;
  return 0;

close_req:
  mnl_socket_close(cp->req);
close_ev:
  mnl_socket_close(cp->ev);
free_buf:
  free(cp->buf);
free_cp:
  cp__tbl_free(&cp->tbl);
  free(cp);
  return rc;
}

void cp_close(struct cp_mirror* cp)
{
  if (!cp)
    return;
  mnl_socket_close(cp->req);
  mnl_socket_close(cp->ev);
  free(cp->buf);
  cp__tbl_free(&cp->tbl);
  free(cp);
}

int cp_fd(const struct cp_mirror* cp)
{
  return mnl_socket_get_fd(cp->ev);
}

int cp_process(struct cp_mirror* cp)
{
  int fd = mnl_socket_get_fd(cp->ev);
  uint64_t before = cp->tbl.stats.nl_msgs;
  int i, rc;

  for (i = 0; i < CP_PROCESS_BUDGET; i++) {
    ssize_t n = recv_kernel(fd, cp->buf, MSG_DONTWAIT);
    if (n == -EAGAIN)
      break;
    if (n == -ENOBUFS) {
      /* Notifications were lost: only a full re-dump can say what. */
      cp->tbl.stats.overruns++;
      cp->tbl.pending |= CP_PEND_ALL;
      continue;
    }
    if (n == -EMSGSIZE) {
      cp->tbl.stats.nl_truncated++;
      cp->tbl.pending |= CP_PEND_ALL;
      continue;
    }
    if (n < 0)
      return (int)n;
    cp__nl_apply_buf(&cp->tbl, cp->buf, (size_t)n, CP_NL_EVENT);
  }
  rc = resync(cp);
  if (rc < 0)
    return rc;
  return (int)(cp->tbl.stats.nl_msgs - before);
}

int cp_refresh(struct cp_mirror* cp)
{
  cp->tbl.pending |= CP_PEND_ALL;
  return resync(cp);
}

uint64_t cp_generation(const struct cp_mirror* cp)
{
  return cp->tbl.gen;
}

uint64_t cp_route_generation(const struct cp_mirror* cp)
{
  return cp->tbl.route_gen;
}

int cp_has_policy_rules(const struct cp_mirror* cp)
{
  return cp->tbl.custom_rules != 0;
}

int cp_route_lookup(const struct cp_mirror* cp, uint32_t dst_be32,
                    uint32_t src_be32, int oif, struct cp_route* out)
{
  return cp__tbl_route_lookup(&cp->tbl, dst_be32, src_be32, oif, out);
}

enum cp_route_type cp_addr_type(const struct cp_mirror* cp, uint32_t ip_be32)
{
  return cp__tbl_addr_type(&cp->tbl, ip_be32);
}

int cp_addr_ifindex(const struct cp_mirror* cp, uint32_t ip_be32)
{
  return cp__tbl_addr_ifindex(&cp->tbl, ip_be32);
}

int cp_addr_get(const struct cp_mirror* cp, int ifindex, unsigned idx,
                struct cp_addr* out)
{
  return cp__tbl_addr_get(&cp->tbl, ifindex, idx, out);
}

int cp_link_get(const struct cp_mirror* cp, int ifindex,
                struct cp_link* out)
{
  return cp__tbl_link_get(&cp->tbl, ifindex, out);
}

int cp_link_by_name(const struct cp_mirror* cp, const char* name,
                    struct cp_link* out)
{
  return cp__tbl_link_by_name(&cp->tbl, name, out);
}

int cp_set_accelerated(struct cp_mirror* cp, int ifindex, int on)
{
  const struct cp_link_ent* l = cp__tbl_link_find(&cp->tbl, ifindex);
  int rc;

  if (on && l && (l->flags & IFF_LOOPBACK))
    return -EINVAL;
  rc = cp__tbl_set_accelerated(&cp->tbl, ifindex, on);
  return rc < 0 ? rc : 0;
}

int cp_neigh_lookup(const struct cp_mirror* cp, int ifindex,
                    uint32_t ip_be32, struct cp_neigh* out)
{
  return cp__tbl_neigh_lookup(&cp->tbl, ifindex, ip_be32, out);
}

/* request: send one request that asks for an ACK and return the kernel's
 * answer (0 or -errno). */
static int request(struct cp_mirror* cp, const void* req, size_t len,
                   uint32_t seq)
{
  int fd = mnl_socket_get_fd(cp->req);

  if (mnl_socket_sendto(cp->req, req, len) < 0)
    return -errno;
  for (;;) {
    ssize_t n = recv_kernel(fd, cp->buf, MSG_DONTWAIT);
    const struct nlmsghdr* nlh;
    int rem;

    if (n == -EAGAIN)
      return 0;     /* no answer queued: not expected; assume success */
    if (n == -ENOBUFS)
      continue;
    if (n < 0)
      return (int)n;
    rem = (int)n;
    for (nlh = (const struct nlmsghdr*)cp->buf; mnl_nlmsg_ok(nlh, rem);
         nlh = mnl_nlmsg_next(nlh, &rem)) {
      struct nlmsgerr e;
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_type != NLMSG_ERROR)
        continue;
      if (mnl_nlmsg_get_payload_len(nlh) < sizeof(e))
        return -EPROTO;
      memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
      return e.error <= 0 ? e.error : -e.error;
    }
  }
}

/* neigh_target_ok: an address the kernel can resolve on a link. */
static int neigh_target_ok(uint32_t ip_be32)
{
  uint32_t h = ntohl(ip_be32);

  return h != 0 && h != 0xffffffffu && (h & 0xf0000000u) != 0xe0000000u &&
         (h & 0xff000000u) != 0x7f000000u && (h & 0xff000000u) != 0;
}

int cp_neigh_resolve(struct cp_mirror* cp, int ifindex, uint32_t ip_be32)
{
  char req[CP_NL_REQ_SIZE] __attribute__((aligned(8)));
  uint32_t seq;
  int rc, len;

  if (!neigh_target_ok(ip_be32))
    return -EINVAL;
  if (!cp__tbl_link_find(&cp->tbl, ifindex))
    return -ENODEV;
  rc = cp__tbl_neigh_ask(&cp->tbl, CP_ASK_RESOLVE, ifindex, ip_be32,
                         now_ns(), NULL);
  if (rc <= 0)
    return rc;
  seq = ++cp->seq;
  len = cp__nl_build_neigh_use(req, sizeof(req), seq, ifindex, ip_be32);
  rc = len < 0 ? len : request(cp, req, (size_t)len, seq);
  if (rc < 0) {
    cp->tbl.stats.request_errors++;
    cp__tbl_neigh_ask_failed(&cp->tbl, ifindex, ip_be32);
    return rc;
  }
  cp->tbl.stats.resolve_sent++;
  return 0;
}

int cp_neigh_confirm(struct cp_mirror* cp, int ifindex, uint32_t ip_be32)
{
  char req[CP_NL_REQ_SIZE] __attribute__((aligned(8)));
  uint8_t mac[6];
  uint32_t seq;
  int rc, len;

  if (!neigh_target_ok(ip_be32))
    return -EINVAL;
  rc = cp__tbl_neigh_ask(&cp->tbl, CP_ASK_CONFIRM, ifindex, ip_be32,
                         now_ns(), mac);
  if (rc <= 0)
    return rc;
  seq = ++cp->seq;
  len = cp__nl_build_neigh_confirm(req, sizeof(req), seq, ifindex, ip_be32,
                                   mac);
  rc = len < 0 ? len : request(cp, req, (size_t)len, seq);
  if (rc < 0) {
    cp->tbl.stats.request_errors++;
    /* -ENOENT: the kernel dropped the entry meanwhile; nothing to do. */
    return rc == -ENOENT ? 0 : rc;
  }
  cp->tbl.stats.confirm_sent++;
  return 0;
}

static const char* route_type_name(unsigned type)
{
  static const char* const names[] = {
    "unspec", "unicast", "local", "broadcast", "anycast", "multicast",
    "blackhole", "unreachable", "prohibit", "throw", "nat", "xresolve",
  };
  return type < sizeof(names) / sizeof(names[0]) ? names[type] : "other";
}

static const char* nud_name(uint16_t state)
{
  switch (state) {
  case NUD_INCOMPLETE: return "INCOMPLETE";
  case NUD_REACHABLE:  return "REACHABLE";
  case NUD_STALE:      return "STALE";
  case NUD_DELAY:      return "DELAY";
  case NUD_PROBE:      return "PROBE";
  case NUD_FAILED:     return "FAILED";
  case NUD_NOARP:      return "NOARP";
  case NUD_PERMANENT:  return "PERMANENT";
  case NUD_NONE:       return "NONE";
  default:             return "OTHER";
  }
}

static const char* ip_str(uint32_t a_be, char* buf)
{
  if (!a_be)
    return "-";
  return inet_ntop(AF_INET, &a_be, buf, INET_ADDRSTRLEN);
}

static const char* mac_str(const uint8_t* mac, uint8_t len, char* buf)
{
  if (len != 6)
    return "-";
  snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
           mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

void cp_dump(const struct cp_mirror* cp, FILE* f)
{
  const struct cp_table* t = &cp->tbl;
  char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], m[18];
  size_t i;

  for (i = 0; i < t->n_links; i++) {
    const struct cp_link_ent* l = &t->links[i];
    fprintf(f, "link %d %s mtu %u up %d mac %s accel %d\n", l->ifindex,
            l->name[0] ? l->name : "-", l->mtu, !!(l->flags & IFF_UP),
            mac_str(l->mac, l->mac_len, m),
            cp__tbl_is_accelerated(t, l->ifindex));
  }
  for (i = 0; i < t->n_addrs; i++) {
    const struct cp_addr_ent* e = &t->addrs[i];
    fprintf(f, "addr %d %s/%u brd %s scope %u flags 0x%x\n", e->ifindex,
            ip_str(e->local_be32, a), e->prefix_len, ip_str(e->bcast_be32, b),
            e->scope, e->flags);
  }
  for (i = 0; i < t->n_routes; i++) {
    const struct cp_route_ent* r = &t->routes[i];
    char d[INET_ADDRSTRLEN];
    fprintf(f, "route %u %s %s/%u dev %d via %s src %s metric %u mtu %u%s%s"
            "%s%s\n", r->table, route_type_name(r->type),
            inet_ntop(AF_INET, &r->dst_be32, d, sizeof(d)), r->dst_len,
            r->oif, ip_str(r->gw_be32, a), ip_str(r->prefsrc_be32, b),
            r->priority, r->mtu,
            (r->rflags & CP_RE_MULTIPATH) ? " multipath" : "",
            (r->rflags & CP_RE_NHOBJ) ? " nhobj" : "",
            (r->rflags & CP_RE_ENCAP) ? " encap" : "",
            (r->nh_flags & RTNH_F_DEAD) ? " dead" : "");
  }
  for (i = 0; i < t->n_neighs; i++) {
    const struct cp_neigh_ent* n = &t->neighs[i];
    fprintf(f, "neigh %d %s %s %s%s\n", n->ifindex, ip_str(n->ip_be32, a),
            nud_name(n->state), mac_str(n->mac, n->mac_len, m),
            n->in_progress ? " in-progress" : "");
  }
  fprintf(f, "rules custom %u\n", t->custom_rules);
  fprintf(f, "gen %llu route_gen %llu\n", (unsigned long long)t->gen,
          (unsigned long long)t->route_gen);
}

void cp_stats_get(const struct cp_mirror* cp, struct cp_stats* out)
{
  *out = cp->tbl.stats;
}
