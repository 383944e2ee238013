// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/fd_udp.c: AF_INET datagram sockets in transparent mode. Each
 * one is a kernel socket (the fd the program sees) that becomes
 * accelerated at its first bind, connect or send when the stack is up:
 * the kernel socket is bound first (it reserves the port system-wide),
 * then a stack socket is bound to the same address and port, so that the
 * stack's filter claims the socket's flows on the accelerated interface.
 * The kernel socket stays the fallback: datagrams that the route sends
 * through another interface go out through it (-EXDEV from the stack),
 * datagrams that arrive through another interface (or loopback) are read
 * from it, and a socket that the stack cannot carry (a destination not
 * routed through the interface, an option it lacks, no resources) goes
 * back to it for good ("handover"). Every decision is logged at
 * ANYLOAD_LOG/EF_LOG level 2 with its reason.
 *
 * Receive: stack first (after polling it), then the kernel socket (every
 * 20 us while spinning, or at once when poll/select/epoll saw it
 * readable); a blocking call spins ANYLOAD_SPIN_USEC, then sleeps on the
 * kernel socket and the stack's wait fd (pl_wait) up to SO_RCVTIMEO.
 * Send: through the stack; -EAGAIN (ring full) is retried after polling,
 * for blocking sockets only.
 */
#include "preload/pl_int.h"

#include <anyload/stack_obs.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#define KCHECK_NS 20000

static const char* addr_str(const struct sockaddr_in* a, char* buf,
                            size_t len)
{
  char ip[INET_ADDRSTRLEN];

  inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
  snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
  return buf;
}

static void fate_kernel(int fd, struct pl_obj* o, const char* why)
{
  o->flags |= PL_F_DECIDED;
  pl_count.udp_kernel++;
  pl_log(2, "fd %d: UDP not accelerated: %s", fd, why);
}

int pl_udp_socket(int domain, int type, int proto)
{
  int fd = PL_REAL(socket)(domain, type, proto);
  struct pl_obj* o;
  const char* why = NULL;

  if (fd < 0 || pl_depth)
    return fd;
  if (domain != AF_INET)
    why = "family";
  else if ((type & 0xf) != SOCK_DGRAM)
    why = "type";
  else if (proto != 0 && proto != IPPROTO_UDP)
    why = "protocol";
  else if (!pl_cfg.udp)
    why = "ANYLOAD_UDP=0";
  else if (!pl_cfg.interface[0])
    why = "no interface configured";
  else if (fd >= PL_MAX_FDS)
    why = "fd number too large";
  if (why) {
    if (domain == AF_INET && (type & 0xf) == SOCK_DGRAM)
      pl_log(2, "fd %d: UDP not accelerated: %s", fd, why);
    else
      pl_log(3, "fd %d: socket(%d, %d) stays with the kernel: %s", fd,
             domain, type & 0xf, why);
    return fd;
  }
  if (pl_lock() < 0)
    return fd;
  o = pl_obj_new(PL_UDP);
  if (!o) {
    pl_log(2, "fd %d: UDP not accelerated: resource (memory)", fd);
    pl_unlock();
    return fd;
  }
  if (type & SOCK_NONBLOCK)
    o->flags |= PL_F_NONBLOCK;
  pl_fd_set(fd, o);
  pl_log(3, "fd %d: UDP socket, acceleration decided at bind/connect/send",
         fd);
  pl_unlock();
  return fd;
}

/* copy_opts: the options set on the kernel socket before it was
 * accelerated, onto the stack socket. */
static void copy_opts(int fd, struct anyload_stack* st, int sd)
{
  static const int opts[][2] = {
    { SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_BROADCAST },
    { IPPROTO_IP, IP_TTL }, { IPPROTO_IP, IP_TOS },
    { IPPROTO_IP, IP_MULTICAST_TTL }, { IPPROTO_IP, IP_MULTICAST_LOOP },
  };
  unsigned k;
  int v;
  socklen_t l;

  for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
    l = sizeof(v);
    if (PL_REAL(getsockopt)(fd, opts[k][0], opts[k][1], &v, &l) == 0)
      anyload_udp_setsockopt(st, sd, opts[k][0], opts[k][1], &v, sizeof(v));
  }
  l = sizeof(v);
  /* The kernel reports the doubled value; the stack doubles again. */
  if (PL_REAL(getsockopt)(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 &&
      v != 212992) {
    v /= 2;
    anyload_udp_setsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
  }
}

/* attach: decide an undecided socket (under the lock): bind the kernel
 * socket if it is not, then a stack socket to the same address and port.
 * Returns 0 (accelerated or left to the kernel, see o->sd), or a negative
 * errno when EF_NO_FAIL=0 asks for a hard error. */
static int attach(int fd, struct pl_obj* o)
{
  struct sockaddr_in local;
  socklen_t len = sizeof(local);
  struct anyload_stack* st;
  char why[128], as[32];
  int err, sd, rc;

  st = pl_stack(&err);
  if (!st) {
    snprintf(why, sizeof(why), "stack unavailable (%s)", strerror(-err));
    fate_kernel(fd, o, why);
    return pl_cfg.no_fail ? 0 : err;
  }
  if (PL_REAL(getsockname)(fd, (struct sockaddr*)&local, &len) < 0 ||
      local.sin_family != AF_INET) {
    fate_kernel(fd, o, "no local address");
    return 0;
  }
  if (local.sin_port == 0) {
    struct sockaddr_in any = { .sin_family = AF_INET };
    if (PL_REAL(bind)(fd, (struct sockaddr*)&any, sizeof(any)) < 0 ||
        PL_REAL(getsockname)(fd, (struct sockaddr*)&local, &len) < 0) {
      fate_kernel(fd, o, "implicit bind failed");
      return 0;
    }
  }
  if (ntohl(local.sin_addr.s_addr) >> 24 == 127) {
    fate_kernel(fd, o, "bound to loopback");
    return 0;
  }
  sd = anyload_udp_open(st);
  if (sd < 0) {
    fate_kernel(fd, o, "resource (stack sockets)");
    return pl_cfg.no_fail ? 0 : sd;
  }
  copy_opts(fd, st, sd);
  rc = anyload_udp_bind(st, sd, &local, sizeof(local));
  if (rc < 0) {
    anyload_udp_close(st, sd);
    snprintf(why, sizeof(why), "bind %s in the stack: %s%s",
             addr_str(&local, as, sizeof(as)), strerror(-rc),
             rc == -EXDEV || rc == -EADDRNOTAVAIL
               ? " (route: address of another interface)" : "");
    fate_kernel(fd, o, why);
    return 0;
  }
  o->sd = sd;
  o->flags |= PL_F_DECIDED;
  pl_count.udp_accel++;
  pl_log(2, "fd %d: UDP %s accelerated on %s (stack socket %d)", fd,
         addr_str(&local, as, sizeof(as)), pl_cfg.interface, sd);
  return 0;
}

void pl_udp_close_sd(struct pl_obj* o)
{
  struct anyload_stack* st = pl_stack_if_up();

  if (o->sd >= 0 && st)
    anyload_udp_close(st, o->sd);
  o->sd = -1;
}

/* handover: an accelerated socket goes back to the kernel for good. */
static void handover(int fd, struct pl_obj* o, const char* why)
{
  pl_udp_close_sd(o);
  pl_count.udp_accel--;
  fate_kernel(fd, o, why);
}

static int set_errno(int rc)
{
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  return rc;
}

int pl_udp_bind(int fd, const struct sockaddr* a, socklen_t l)
{
  struct pl_obj* o;
  int rc = PL_REAL(bind)(fd, a, l);

  if (rc < 0 || pl_lock() < 0)
    return rc;
  o = pl_fds[fd];
  if (o && o->kind == PL_UDP && !(o->flags & PL_F_DECIDED))
    rc = attach(fd, o);
  pl_unlock();
  return set_errno(rc);
}

int pl_udp_connect(int fd, const struct sockaddr* a, socklen_t l)
{
  const struct sockaddr_in* sin = (const struct sockaddr_in*)a;
  struct anyload_stack* st;
  struct pl_obj* o;
  char why[128], as[32];
  int rc = PL_REAL(connect)(fd, a, l);

  if (rc < 0 || pl_lock() < 0)
    return rc;
  o = pl_fds[fd];
  if (!o || o->kind != PL_UDP)
    goto out;
  if (a && l >= sizeof(sa_family_t) && a->sa_family == AF_UNSPEC) {
    if (o->sd >= 0 && (st = pl_stack_if_up()))
      anyload_udp_disconnect(st, o->sd);
    goto out;
  }
  if (!a || l < sizeof(*sin) || a->sa_family != AF_INET)
    goto out;
  if (!(o->flags & PL_F_DECIDED)) {
    if (ntohs(sin->sin_port) == 53) {
      fate_kernel(fd, o, "DNS (port 53) stays with the kernel");
      goto out;
    }
    rc = attach(fd, o);
    if (rc < 0)
      goto out;
  }
  st = pl_stack_if_up();
  if (o->sd < 0 || !st)
    goto out;
  rc = anyload_udp_connect(st, o->sd, sin, sizeof(*sin));
  if (rc < 0) {
    snprintf(why, sizeof(why), "connect to %s: %s%s",
             addr_str(sin, as, sizeof(as)), strerror(-rc),
             rc == -EXDEV ? " (route through another interface)" : "");
    handover(fd, o, why);
    rc = 0;   /* the kernel socket is connected */
  }
out:
  pl_unlock();
  return set_errno(rc);
}

/* The recv/send flags the stack handles; others go to the kernel. */
#define RECV_FLAGS_OK (MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT | MSG_WAITALL | \
                       MSG_NOSIGNAL | \
                       MSG_CMSG_CLOEXEC)
#define SEND_FLAGS_OK (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_CONFIRM)

ssize_t pl_udp_sendmsg(int fd, const struct msghdr* m, int flags)
{
  const struct sockaddr_in* dst = m->msg_name;
  struct anyload_stack* st;
  struct pl_obj* o;
  int64_t deadline = INT64_MAX, now;
  ssize_t rc;

  if (pl_lock() < 0)
    return PL_REAL(sendmsg)(fd, m, flags);
  o = pl_fds[fd];
  if (!o || o->kind != PL_UDP)
    goto kernel;
  if (!m->msg_namelen)
    dst = NULL;
  if (!(o->flags & PL_F_DECIDED)) {
    if (dst && m->msg_namelen >= sizeof(*dst) &&
        dst->sin_family == AF_INET && ntohs(dst->sin_port) == 53) {
      fate_kernel(fd, o, "DNS (port 53) stays with the kernel");
      goto kernel;
    }
    rc = attach(fd, o);
    if (rc < 0) {
      pl_unlock();
      return set_errno((int)rc);
    }
  }
  if (o->sd < 0 || (flags & ~SEND_FLAGS_OK) || m->msg_controllen)
    goto kernel;
  if (o->sndtimeo_ns)
    deadline = pl_now() + o->sndtimeo_ns;
  for (;;) {
    st = pl_stack_if_up();
    if (!st || !o || o->kind != PL_UDP || o->sd < 0)
      goto kernel;
    now = pl_now();
    rc = anyload_udp_sendmsg(st, o->sd, dst, m->msg_iov, (int)m->msg_iovlen,
                             0, now);
    if (rc >= 0) {
      pl_count.tx_stack++;
      pl_unlock();
      return rc;
    }
    if (rc == -EXDEV)
      goto kernel;
    if (rc != -EAGAIN) {
      pl_unlock();
      return set_errno((int)rc);
    }
    pl_progress(st);
    if ((o->flags & PL_F_NONBLOCK) || (flags & MSG_DONTWAIT) ||
        now >= deadline) {
      pl_unlock();
      return set_errno(-EAGAIN);
    }
    /* Ring full on a blocking socket: let completions come back. */
    pl_unlock();
    rc = pl_wait(fd, 0, now + 50000 < deadline ? now + 50000 : deadline,
                 NULL);
    if (rc == -EINTR && !pl_eintr_restarts())
      return set_errno(-EINTR);
    if (pl_lock() < 0)
      return PL_REAL(sendmsg)(fd, m, flags);
    o = pl_fds[fd];
  }
kernel:
  if (o && o->kind == PL_UDP)
    pl_count.tx_kernel++;
  pl_unlock();
  return PL_REAL(sendmsg)(fd, m, flags);
}

ssize_t pl_udp_recvmsg(int fd, struct msghdr* m, int flags)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  struct sockaddr_in from;
  int64_t now = pl_now(), deadline = INT64_MAX, spin_end;
  ssize_t rc;
  bool kcheck, nonblock;
  unsigned spins = 0, runs = pl_sig_runs;
  int fl;

  if (flags & ~RECV_FLAGS_OK)
    return PL_REAL(recvmsg)(fd, m, flags);
  spin_end = pl_cfg.spin_usec < 0 ? INT64_MAX
                                  : now + pl_cfg.spin_usec * 1000;
  for (;;) {
    if (pl_lock() < 0)
      return PL_REAL(recvmsg)(fd, m, flags);
    o = pl_fds[fd];
    st = pl_stack_if_up();
    if (!o || o->kind != PL_UDP || o->sd < 0 || !st) {
      pl_unlock();
      rc = PL_REAL(recvmsg)(fd, m, flags);
      if (rc >= 0 && o)
        pl_count.rx_kernel++;
      return rc;
    }
    if (o->flags & PL_F_SHUT_RD) {
      pl_unlock();
      return 0;
    }
    if (deadline == INT64_MAX && o->rcvtimeo_ns)
      deadline = now + o->rcvtimeo_ns;
    nonblock = (o->flags & PL_F_NONBLOCK) || (flags & MSG_DONTWAIT);
    pl_progress(st);
    fl = flags & (MSG_PEEK | MSG_TRUNC);
    rc = anyload_udp_recvmsg_at(st, o->sd, m->msg_iov, (int)m->msg_iovlen,
                                &from, &fl, pl_now());
    now = pl_now();
    kcheck = false;
    if (rc == -EAGAIN &&
        ((o->flags & PL_F_KREADY) || now - o->last_kcheck_ns > KCHECK_NS)) {
      o->flags &= ~PL_F_KREADY;
      o->last_kcheck_ns = now;
      kcheck = true;
    }
    if (rc >= 0)
      pl_count.rx_stack++;
    pl_unlock();
    if (rc >= 0) {
      if (m->msg_name) {
        socklen_t l = m->msg_namelen < sizeof(from) ? m->msg_namelen
                                                    : sizeof(from);
        memcpy(m->msg_name, &from, l);
        m->msg_namelen = sizeof(from);
      }
      m->msg_controllen = 0;
      m->msg_flags = fl & MSG_TRUNC;
      return rc;
    }
    if (rc != -EAGAIN)
      return set_errno((int)rc);
    if (kcheck) {
      rc = PL_REAL(recvmsg)(fd, m, flags | MSG_DONTWAIT);
      if (rc >= 0) {
        __atomic_add_fetch(&pl_count.rx_kernel, 1, __ATOMIC_RELAXED);
        return rc;
      }
      if (errno != EAGAIN)
        return -1;
    }
    if (nonblock || now >= deadline)
      return set_errno(-EAGAIN);
    /* A handler ran while this call spun: EINTR unless it restarts (a
     * socket with SO_RCVTIMEO never restarts, as in the kernel). */
    if (pl_sig_interrupted(runs, deadline == INT64_MAX))
      return set_errno(-EINTR);
    runs = pl_sig_runs;
    if (now < spin_end) {
      /* Let the kernel's deferred work on this CPU (ksoftirqd finishing
       * the NIC's or veth's receive) run now and then: a thread spinning
       * at 100 % would otherwise hold it off for a whole time slice. */
      if ((++spins & 63) == 0)
        sched_yield();
      continue;
    }
    rc = pl_wait(fd, POLLIN, deadline, NULL);
    if (rc == -EINTR && (deadline != INT64_MAX || !pl_eintr_restarts()))
      return set_errno(-EINTR);
    runs = pl_sig_runs;   /* that handler was judged just now */
    if (rc > 0 && pl_lock() == 0) {
      o = pl_fds[fd];
      if (o && o->kind == PL_UDP)
        o->flags |= PL_F_KREADY;
      pl_unlock();
    }
    now = pl_now();
  }
}

/* needs_kernel: options whose effect the stack cannot give (control
 * messages on receive, device binding, socket filters): a socket that
 * sets one goes to the kernel. */
static bool needs_kernel(int lv, int nm)
{
  if (lv == SOL_SOCKET)
    return nm == SO_TIMESTAMP || nm == SO_TIMESTAMPNS ||
           nm == SO_TIMESTAMPING || nm == SO_BINDTODEVICE ||
           nm == SO_RXQ_OVFL || nm == SO_ATTACH_FILTER ||
           nm == SO_ATTACH_BPF || nm == SO_REUSEPORT;
  /* IP_RECVERR: the ICMP errors about an accelerated socket's flow reach
   * its stack (the filter steers them), which has no error queue. */
  if (lv == IPPROTO_IP)
    return nm == IP_PKTINFO || nm == IP_RECVTTL || nm == IP_RECVTOS ||
           nm == IP_RECVOPTS || nm == IP_RETOPTS || nm == IP_TRANSPARENT ||
           nm == IP_RECVORIGDSTADDR || nm == IP_HDRINCL || nm == IP_RECVERR;
  return lv != SOL_SOCKET && lv != IPPROTO_IP && lv != IPPROTO_UDP;
}

static int64_t tv_ns(const void* v, socklen_t l)
{
  const struct timeval* tv = v;

  if (l < sizeof(*tv))
    return 0;
  return (int64_t)tv->tv_sec * 1000000000ll + (int64_t)tv->tv_usec * 1000;
}

int pl_udp_setsockopt(int fd, int lv, int nm, const void* v, socklen_t l)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  char why[96];
  int rc = PL_REAL(setsockopt)(fd, lv, nm, v, l);

  if (rc < 0 || pl_lock() < 0)
    return rc;
  o = pl_fds[fd];
  if (!o || o->kind != PL_UDP)
    goto out;
  if (lv == SOL_SOCKET && nm == SO_RCVTIMEO)
    o->rcvtimeo_ns = tv_ns(v, l);
  if (lv == SOL_SOCKET && nm == SO_SNDTIMEO)
    o->sndtimeo_ns = tv_ns(v, l);
  snprintf(why, sizeof(why), "option level %d name %d", lv, nm);
  if (needs_kernel(lv, nm)) {
    if (o->sd >= 0)
      handover(fd, o, why);
    else if (!(o->flags & PL_F_DECIDED))
      fate_kernel(fd, o, why);
    goto out;
  }
  st = pl_stack_if_up();
  if (o->sd >= 0 && st) {
    int r = anyload_udp_setsockopt(st, o->sd, lv, nm, v, l);
    if (r < 0 && r != -ENOPROTOOPT) {
      snprintf(why, sizeof(why), "option level %d name %d: %s", lv, nm,
               strerror(-r));
      handover(fd, o, why);
    }
  }
out:
  pl_unlock();
  return rc;
}

int pl_udp_getsockopt(int fd, int lv, int nm, void* v, socklen_t* l)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  int err = 0;
  socklen_t el = sizeof(err);

  if (lv == SOL_SOCKET && nm == SO_ERROR && pl_lock() == 0) {
    o = pl_fds[fd];
    st = pl_stack_if_up();
    if (o && o->kind == PL_UDP && o->sd >= 0 && st)
      anyload_udp_getsockopt(st, o->sd, SOL_SOCKET, SO_ERROR, &err, &el);
    pl_unlock();
    if (err && v && l && *l >= sizeof(int)) {
      *(int*)v = err;
      *l = sizeof(int);
      return 0;
    }
  }
  return PL_REAL(getsockopt)(fd, lv, nm, v, l);
}

int pl_udp_ioctl_fionread(int fd, int* out)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  struct sockaddr_in from;
  int fl = MSG_PEEK | MSG_TRUNC;
  ssize_t rc = -EAGAIN;
  char b;
  struct iovec iov = { &b, 0 };

  if (pl_lock() < 0)
    return -EAGAIN;
  o = pl_fds[fd];
  st = pl_stack_if_up();
  if (o && o->kind == PL_UDP && o->sd >= 0 && st) {
    pl_progress(st);
    rc = anyload_udp_recvmsg_at(st, o->sd, &iov, 1, &from, &fl, pl_now());
  }
  pl_unlock();
  if (rc < 0)
    return -EAGAIN;
  *out = (int)rc;
  return 0;
}

short pl_udp_ready(struct pl_obj* o)
{
  struct anyload_stack* st = pl_stack_if_up();
  int r;

  if (o->sd < 0 || !st)
    return 0;
  r = anyload_udp_poll(st, o->sd);
  if (r < 0)
    r = 0;
  if (o->flags & PL_F_SHUT_RD)
    r |= POLLIN;
  return (short)r;
}

uint64_t pl_udp_arrivals(struct pl_obj* o)
{
  static int idx = -1;
  struct anyload_stack* st = pl_stack_if_up();
  uint64_t v[16];
  unsigned k;

  if (o->sd < 0 || !st)
    return 0;
  if (idx < 0)
    for (k = 0; k < anyload_udp_stat_count() && k < 16; k++)
      if (!strcmp(anyload_udp_stat_name(k), "rx_datagrams"))
        idx = (int)k;
  if (idx < 0 || anyload_udp_stats(st, o->sd, v, (unsigned)idx + 1) <= idx)
    return 0;
  return v[idx];
}
