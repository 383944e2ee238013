// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/tcp_follow.c: a listener follows the process that uses it.
 * Layer: preload (stack API and kernel calls only).
 *
 * Why: a pre-forking server (nginx: listen, fork the workers, which
 * accept; with `daemon on` the master is itself a forked child of the
 * process that listened) accepts in processes that did not make the
 * listener. With the lazy hand-over (tcp_share.c, tcp_claim.c) the
 * child's first use of the listener takes it out of the parent's stack
 * and it serves from the kernel. Here the child then listens in a stack
 * of its own on the same address and port; the kernel socket, shared by
 * every process, goes on listening for what does not come through the
 * interface (loopback).
 *
 * When it can: on AF_XDP the child needs the interface queue. The
 * parent's stack lets go of it when it holds nothing else (tcp_share.c
 * take, pl_stack_release_if_idle; the child claims all of the parent's
 * listeners before any follows, tcp_claim.c), and every forked child lets
 * go of its copy of the parent's VI at the fork (anyload_stack_forget).
 * Among siblings the first one wins; the others get EBUSY from the VI
 * layer at once and serve from the kernel (one UMEM per queue, and the
 * processes would have to share their fill and completion rings). So
 * nginx with several workers accelerates one of them; the others take the
 * port's kernel connections. While the parent's stack holds other sockets
 * the listener stays the kernel's in the child. On AF_PACKET each process
 * has a stack of its own, but a listener's filter is one process's: the
 * first worker's.
 *
 * Connections the kernel holds: between the parent's release and the
 * child's listen, the kernel socket takes the port's connections, and
 * once the stack's filter is in, their later segments would reach the
 * stack, which resets them. So the child asks the kernel (sock_diag)
 * for connections on the port that did not come through loopback,
 * before the stack listens and after: with any, the stack listener
 * closes again and the listener stays the kernel's. What remains is the
 * instant between the filter's arrival and the second look: a segment
 * of such a connection in it meets the stack's listener.
 */
#include "preload/pl_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define DIAG_BUF 16384
/* Replies read, bounded (a dump always ends; this only guards the loop):
 * a server with more sockets than this on the port stays the kernel's. */
#define DIAG_MAX_MSGS (1 << 20)

/* from_outside: a connection that may come through the interface: its
 * ends are not one local address talking to itself, nor loopback. */
static int from_outside(const struct inet_diag_msg* m)
{
  uint32_t src = m->id.idiag_src[0], dst = m->id.idiag_dst[0];

  if (ntohl(src) >> 24 == 127 || ntohl(dst) >> 24 == 127)
    return 0;
  return src != dst;
}

/* kernel_conns: the kernel's TCP connections on local port (network
 * order), not listening nor in TIME_WAIT, that may come through the
 * interface; -errno when the kernel cannot be asked. */
static int kernel_conns(uint16_t port_be16)
{
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 r;
  } req;
  struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
  static char buf[DIAG_BUF] __attribute__((aligned(8)));
  static const struct timeval diag_timeout = { .tv_sec = 1 };
  int fd, n = 0, msgs = 0, done = 0, rc = 0;

  fd = PL_REAL(socket)(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
                       NETLINK_SOCK_DIAG);
  if (fd < 0)
    return -errno;
  /* The kernel ends every dump with NLMSG_DONE; the timeout only bounds
   * the wait if it ever did not (the answer then counts as unknown). */
  if (PL_REAL(setsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &diag_timeout,
                          sizeof(diag_timeout)) < 0) {
    rc = -errno;
    PL_REAL(close)(fd);
    return rc;
  }
  memset(&req, 0, sizeof(req));
  req.nlh.nlmsg_len = sizeof(req);
  req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.r.sdiag_family = AF_INET;
  req.r.sdiag_protocol = IPPROTO_TCP;
  /* Every state but LISTEN, CLOSE and TIME_WAIT; bit 12 is the kernel's
   * request sockets (a handshake in progress, shown as SYN_RECV). */
  req.r.idiag_states = 0x1fffu & ~((1u << TCP_LISTEN) | (1u << TCP_CLOSE) |
                                   (1u << TCP_TIME_WAIT));
  /* The kernel skips other local ports when this is set; the port is
   * checked below anyway. */
  req.r.id.idiag_sport = port_be16;
  if (PL_REAL(sendto)(fd, &req, sizeof(req), 0, (struct sockaddr*)&nl,
                      sizeof(nl)) < 0) {
    rc = -errno;
    PL_REAL(close)(fd);
    return rc;
  }
  while (!done && msgs < DIAG_MAX_MSGS) {
    ssize_t len = PL_REAL(recv)(fd, buf, sizeof(buf), 0);
    struct nlmsghdr* h = (struct nlmsghdr*)buf;

    if (len < 0) {
      rc = -errno;
      break;
    }
    if (len == 0)
      break;
    for (; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
      const struct inet_diag_msg* m = NLMSG_DATA(h);
      msgs++;
      if (h->nlmsg_type == NLMSG_DONE) {
        done = 1;
        break;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        rc = -EPROTO;
        done = 1;
        break;
      }
      if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*m)) &&
          m->id.idiag_sport == port_be16 && from_outside(m))
        n++;
    }
  }
  PL_REAL(close)(fd);
  if (rc == 0 && !done)
    rc = -EMSGSIZE;   /* more than we read: count it as unknown */
  return rc < 0 ? rc : n;
}

/* conns_why: the reason in why, for kernel_conns's n (not 0); when: where
 * the kernel's connections were seen. */
static void conns_why(int n, const char* when, char* why, size_t len)
{
  if (n > 0)
    snprintf(why, len, "%d connection%s through the interface %s", n,
             n == 1 ? "" : "s", when);
  else
    snprintf(why, len, "cannot ask the kernel for its connections (%s)",
             strerror(-n));
}

/* stays_kernel: the reason why fd's listener stays the kernel's. */
static void stays_kernel(int fd, struct pl_obj* o, const char* why)
{
  pl_log(2, "fd %d: TCP listener stays the kernel's in this process: %s",
         fd, why);
  pl_share_queue_forget(o);
}

void pl_tcp_listener_follow(int fd, struct pl_obj* o)
{
  struct sockaddr_in local;
  struct anyload_stack* st;
  const char* w = NULL;
  char why[160], as[32];
  int err, sd, n;

  if (!pl_cfg.tcp_listen_follow || !pl_cfg.tcp || o->tcp != PL_TCP_KERNEL)
    return;
  if (pl_tcp_local_of(fd, &local, &w) < 0) {
    stays_kernel(fd, o, w);
    return;
  }
  n = kernel_conns(local.sin_port);
  if (n != 0) {
    conns_why(n, "in the kernel's hands", why, sizeof(why));
    stays_kernel(fd, o, why);
    return;
  }
  st = pl_stack(&err);
  if (!st) {
    snprintf(why, sizeof(why), "no stack in this process (%s)",
             strerror(-err));
    stays_kernel(fd, o, why);
    return;
  }
  sd = pl_tcp_open_bound(fd, o, st, &local, why, sizeof(why));
  if (sd < 0) {
    stays_kernel(fd, o, why);
    return;
  }
  err = anyload_tcp_listen(st, sd, o->listen_backlog > 0 ? o->listen_backlog
                                                         : SOMAXCONN);
  n = err < 0 ? 0 : kernel_conns(local.sin_port);
  if (err < 0 || n != 0) {
    anyload_tcp_close(st, sd, pl_now());
    if (err < 0)
      snprintf(why, sizeof(why), "listen in the stack: %s", strerror(-err));
    else
      conns_why(n, "reached the kernel meanwhile", why, sizeof(why));
    stays_kernel(fd, o, why);
    return;
  }
  o->sd = sd;
  o->tcp = PL_TCP_LISTEN;
  pl_count.tcp_accel++;
  pl_tcp_poller_start();
  pl_log(2, "fd %d: TCP listener %s accelerated again, in this process's "
         "stack (stack socket %d; the kernel socket listens too)", fd,
         pl_tcp_addr_str(&local, as, sizeof(as)), sd);
  if (o->moves_chan >= 0)
    pl_share_queue_in(fd, o, st);
}
