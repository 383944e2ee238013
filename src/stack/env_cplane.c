/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/env_cplane.c: the stack's environment over anyload's control
 * plane (src/cplane/cplane.h), the one anyload_stack_create uses when
 * the caller gives none. Routes, local addresses and next-hop MACs are
 * the kernel's, read from the mirror; resolutions are asked of the
 * kernel (cp_neigh_resolve: RTM_NEWNEIGH with NTF_USE, so the kernel
 * sends the ARP request); multicast joins are made on kernel UDP
 * sockets, so that the kernel sends the IGMP membership reports (RFC
 * 1112 §7.2, RFC 2236, RFC 3376) and programs the interface's multicast
 * MAC filter, and switches keep forwarding the group to us.
 *
 * Layer: stack, at its lower edge; the only file of src/stack/ that
 * includes the control plane's header. Called from the stack's thread
 * only (the mirror is not thread-safe, see cplane.h).
 *
 * Decisions:
 *   - A route is accelerated only when the control plane says so (our
 *     interface, registered with cp_set_accelerated, a route type we
 *     model); anything else is -EXDEV: the kernel's datagram.
 *   - A STALE neighbour is used (as the kernel does) and the kernel is
 *     asked to re-verify it (cp_neigh_resolve, rate-limited there), since
 *     UDP has no upper-layer confirmation (RFC 4861 §7.3.1's idea; the
 *     kernel's neigh_event_send on a STALE entry).
 *   - The kernel holds at most igmp_max_memberships (20 by default)
 *     memberships per socket: joins use the first kernel socket with
 *     room and open another when all are full.
 */
#include "stack/stack_int.h"
#include "cplane/cplane.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KSOCKS_MAX 64
#define JOINS_MAX  1024

struct envcp_join {
  uint32_t group_be32;
  uint32_t source_be32;
  int      ks;           /* index in ksocks */
};

struct envcp {
  struct cp_mirror* cp;
  int      ifindex;
  int      ksocks[KSOCKS_MAX];
  unsigned n_ksocks;
  struct envcp_join joins[JOINS_MAX];
  unsigned n_joins;
};

static int ecp_route(void* ctx, uint32_t dst_be32, uint32_t src_be32,
                     struct anyload_route* out)
{
  struct envcp* e = ctx;
  struct cp_route r;
  int rc = cp_route_lookup(e->cp, dst_be32, src_be32, 0, &r);

  if (rc < 0)
    return rc;
  if (!r.accelerated || r.ifindex != e->ifindex)
    return -EXDEV;
  memset(out, 0, sizeof(*out));
  out->ifindex = r.ifindex;
  out->src_be32 = r.src_be32;
  out->nexthop_be32 = r.nexthop_be32;
  out->mtu = r.mtu;
  switch (r.type) {
  case CP_RT_BROADCAST:
    out->type = ANYLOAD_ROUTE_BROADCAST;
    break;
  case CP_RT_MULTICAST:
    out->type = ANYLOAD_ROUTE_MULTICAST;
    break;
  default:
    out->type = ANYLOAD_ROUTE_UNICAST;
    break;
  }
  return 0;
}

static int ecp_addr_ifindex(void* ctx, uint32_t ip_be32)
{
  struct envcp* e = ctx;

  return cp_addr_ifindex(e->cp, ip_be32);
}

static int ecp_neigh(void* ctx, int ifindex, uint32_t ip_be32, uint8_t mac[6])
{
  struct envcp* e = ctx;
  struct cp_neigh n;
  int rc = cp_neigh_lookup(e->cp, ifindex, ip_be32, &n);

  if (rc < 0)
    return rc == -EAGAIN ? -EAGAIN : -EHOSTUNREACH;
  memcpy(mac, n.mac, 6);
  if (n.state & NUD_STALE)
    cp_neigh_resolve(e->cp, ifindex, ip_be32);
  return 0;
}

static int ecp_neigh_resolve(void* ctx, int ifindex, uint32_t ip_be32)
{
  struct envcp* e = ctx;

  return cp_neigh_resolve(e->cp, ifindex, ip_be32);
}

/* ksock_open: one more kernel socket for memberships. */
static int ksock_open(struct envcp* e)
{
  int fd;

  if (e->n_ksocks == KSOCKS_MAX)
    return -ENOBUFS;
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  e->ksocks[e->n_ksocks++] = fd;
  return (int)e->n_ksocks - 1;
}

static int kjoin(struct envcp* e, int fd, uint32_t group_be32,
                 uint32_t source_be32, int join)
{
  int rc;

  if (source_be32) {
    struct ip_mreq_source ms;
    struct cp_addr a;
    memset(&ms, 0, sizeof(ms));
    ms.imr_multiaddr.s_addr = group_be32;
    ms.imr_sourceaddr.s_addr = source_be32;
    /* ip_mreq_source names the interface by an address of it. */
    if (cp_addr_get(e->cp, e->ifindex, 0, &a) < 0)
      return -EADDRNOTAVAIL;
    ms.imr_interface.s_addr = a.local_be32;
    rc = setsockopt(fd, IPPROTO_IP, join ? IP_ADD_SOURCE_MEMBERSHIP
                                         : IP_DROP_SOURCE_MEMBERSHIP,
                    &ms, sizeof(ms));
  } else {
    struct ip_mreqn mn;
    memset(&mn, 0, sizeof(mn));
    mn.imr_multiaddr.s_addr = group_be32;
    mn.imr_ifindex = e->ifindex;
    rc = setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP
                                         : IP_DROP_MEMBERSHIP,
                    &mn, sizeof(mn));
  }
  return rc < 0 ? -errno : 0;
}

static int ecp_mcast_join(void* ctx, int ifindex, uint32_t group_be32,
                          uint32_t source_be32, int join)
{
  struct envcp* e = ctx;
  unsigned k;
  int rc, ks;

  if (ifindex != e->ifindex)
    return -ENODEV;
  if (!join) {
    for (k = 0; k < e->n_joins; k++) {
      struct envcp_join* j = &e->joins[k];
      if (j->group_be32 != group_be32 || j->source_be32 != source_be32)
        continue;
      rc = kjoin(e, e->ksocks[j->ks], group_be32, source_be32, 0);
      *j = e->joins[--e->n_joins];
      return rc;
    }
    return -EADDRNOTAVAIL;
  }
  if (e->n_joins == JOINS_MAX)
    return -ENOBUFS;
  /* The first kernel socket with room (ENOBUFS: its limit is reached). */
  for (ks = 0;; ks++) {
    if ((unsigned)ks == e->n_ksocks && (rc = ksock_open(e)) < 0)
      return rc;
    rc = kjoin(e, e->ksocks[ks], group_be32, source_be32, 1);
    if (rc != -ENOBUFS)
      break;
  }
  if (rc < 0)
    return rc;
  e->joins[e->n_joins].group_be32 = group_be32;
  e->joins[e->n_joins].source_be32 = source_be32;
  e->joins[e->n_joins].ks = ks;
  e->n_joins++;
  return 0;
}

static uint64_t ecp_generation(void* ctx)
{
  struct envcp* e = ctx;

  return cp_generation(e->cp);
}

static int ecp_process(void* ctx, int64_t now_ns)
{
  struct envcp* e = ctx;

  (void)now_ns;
  return cp_process(e->cp);
}

static int ecp_fd(void* ctx)
{
  struct envcp* e = ctx;

  return cp_fd(e->cp);
}

static void ecp_destroy(void* ctx)
{
  struct envcp* e = ctx;
  unsigned k;

  for (k = 0; k < e->n_ksocks; k++)
    close(e->ksocks[k]);
  if (e->cp) {
    cp_set_accelerated(e->cp, e->ifindex, 0);
    cp_close(e->cp);
  }
  free(e);
}

int st__env_cplane_open(int ifindex, struct anyload_stack_env* env)
{
  struct envcp* e = calloc(1, sizeof(*e));
  int rc;

  if (!e)
    return -ENOMEM;
  e->ifindex = ifindex;
  if ((rc = cp_open(&e->cp)) < 0) {
    free(e);
    return rc;
  }
  if ((rc = cp_set_accelerated(e->cp, ifindex, 1)) < 0) {
    cp_close(e->cp);
    free(e);
    return rc;
  }
  memset(env, 0, sizeof(*env));
  env->ctx = e;
  env->route = ecp_route;
  env->addr_ifindex = ecp_addr_ifindex;
  env->neigh = ecp_neigh;
  env->neigh_resolve = ecp_neigh_resolve;
  env->mcast_join = ecp_mcast_join;
  env->generation = ecp_generation;
  env->process = ecp_process;
  env->fd = ecp_fd;
  env->destroy = ecp_destroy;
  return 0;
}
