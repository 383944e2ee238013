// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/fd_tcp.c: AF_INET stream sockets in transparent mode: their
 * life outside the data calls (socket, listen, accept, connect, shutdown,
 * options, names, close, readiness, fork). The roles are in pl_tcp.h.
 *
 * A socket stays undecided until listen or connect. listen: the kernel
 * socket is bound (port 0: the kernel picks; it reserves the port
 * system-wide), a stack socket is bound to the same address and port and
 * listens, then the kernel socket listens: connections through the
 * accelerated interface reach the stack, those through loopback or another interface the
 * kernel socket, and accept takes from both (the stack first). An
 * accelerated connection that accept hands out gets a fresh unbound
 * kernel socket to hold its fd number. connect: the kernel socket is
 * bound (port 0: the kernel picks), a stack socket binds the same port
 * and connects; -EXDEV (the route leaves through another interface, a
 * loopback or local destination) gives the socket to the kernel, which
 * then connects it. Options that the stack lacks (SO_BINDTODEVICE,
 * SO_REUSEPORT, TCP_FASTOPEN ...) set before the decision keep the socket
 * with the kernel; after it, options the stack does not know go to the
 * kernel socket only. Every decision is logged at ANYLOAD_LOG level 2.
 *
 * close: the last fd of a connection with SO_LINGER on and a timeout
 * waits in close(2) (intercept.c, pl_tcp_linger_take / _wait) while the
 * stack says its data or FIN is unacknowledged (anyload_tcp_closing), at
 * most the timeout, as Linux's tcp_close (sk_stream_wait_close) does.
 *
 * fork and exec: a socket shared by processes cannot stay in one
 * process's stack. Before an exec (and before a fork with
 * ANYLOAD_TCP_HANDOVER=1, or without the TCP poller), every stack
 * listener is closed (the connections still in its queues are reset by
 * the stack) and its kernel socket, which listens already, takes the
 * port's new connections in the parent and in the children alike; then
 * every stack connection is handed to the kernel's TCP (tcp_handover.c);
 * one that cannot be stays the parent's, and in the child it is an
 * ORPHAN (data calls fail with ENOTCONN). With ANYLOAD_TCP_HANDOVER=2
 * (the default) a fork moves nothing: the child's first use of a socket
 * moves that one (tcp_share.c, tcp_claim.c).
 */
#include "preload/pl_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_errno(int rc)
{
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  return rc;
}

const char* pl_tcp_addr_str(const struct sockaddr_in* a, char* buf,
                            size_t len)
{
  char ip[INET_ADDRSTRLEN];

  inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
  snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
  return buf;
}

static void fate_kernel(int fd, struct pl_obj* o, const char* why)
{
  o->tcp = PL_TCP_KERNEL;
  o->sd = -1;
  o->flags |= PL_F_DECIDED;
  pl_count.tcp_kernel++;
  pl_log(2, "fd %d: TCP not accelerated: %s", fd, why);
}

int pl_tcp_socket(int domain, int type, int proto)
{
  int fd = PL_REAL(socket)(domain, type, proto);
  struct pl_obj* o;
  const char* why = NULL;

  if (fd < 0 || pl_depth)
    return fd;
  if (proto != 0 && proto != IPPROTO_TCP)
    why = "protocol";
  else if (!pl_cfg.tcp)
    why = "ANYLOAD_TCP=0";
  else if (!pl_cfg.interface[0])
    why = "no interface configured";
  else if (fd >= PL_MAX_FDS)
    why = "fd number too large";
  if (why) {
    pl_log(2, "fd %d: TCP not accelerated: %s", fd, why);
    return fd;
  }
  if (pl_lock() < 0)
    return fd;
  o = pl_obj_new(PL_TCP);
  if (!o) {
    pl_log(2, "fd %d: TCP not accelerated: resource (memory)", fd);
    pl_unlock();
    return fd;
  }
  o->tcp = PL_TCP_NEW;
  if (type & SOCK_NONBLOCK)
    o->flags |= PL_F_NONBLOCK;
  pl_fd_set(fd, o);
  pl_log(3, "fd %d: TCP socket, acceleration decided at listen/connect", fd);
  pl_unlock();
  return fd;
}

/* copy_opts: the options set on the kernel socket before the decision,
 * onto the stack socket sd. */
static void copy_opts(int fd, struct pl_obj* o, struct anyload_stack* st,
                      int sd)
{
  static const int opts[][2] = {
    { SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_KEEPALIVE },
    { IPPROTO_IP, IP_TOS }, { IPPROTO_TCP, TCP_NODELAY },
    { IPPROTO_TCP, TCP_CORK }, { IPPROTO_TCP, TCP_KEEPIDLE },
    { IPPROTO_TCP, TCP_KEEPINTVL }, { IPPROTO_TCP, TCP_KEEPCNT },
  };
  int64_t now = pl_now();
  struct linger lg;
  unsigned k;
  int v;
  socklen_t l;

  for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
    l = sizeof(v);
    if (PL_REAL(getsockopt)(fd, opts[k][0], opts[k][1], &v, &l) == 0)
      anyload_tcp_setsockopt(st, sd, opts[k][0], opts[k][1], &v, sizeof(v),
                             now);
  }
  l = sizeof(lg);
  if (PL_REAL(getsockopt)(fd, SOL_SOCKET, SO_LINGER, &lg, &l) == 0 &&
      lg.l_onoff)
    anyload_tcp_setsockopt(st, sd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg),
                           now);
  /* The kernel reports the doubled value; the stack doubles again. Only
   * sizes the program chose: the kernel's defaults are not the stack's. */
  l = sizeof(v);
  if ((o->flags & PL_TF_RCVBUF) &&
      PL_REAL(getsockopt)(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0) {
    v /= 2;
    anyload_tcp_setsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), now);
  }
  l = sizeof(v);
  if ((o->flags & PL_TF_SNDBUF) &&
      PL_REAL(getsockopt)(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0) {
    v /= 2;
    anyload_tcp_setsockopt(st, sd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v), now);
  }
}

int pl_tcp_open_bound(int fd, struct pl_obj* o, struct anyload_stack* st,
                      struct sockaddr_in* local, char* why, size_t wl)
{
  char as[32];
  int sd, rc;

  sd = anyload_tcp_open(st);
  if (sd < 0) {
    snprintf(why, wl, "resource (stack sockets: %s)", strerror(-sd));
    return sd;
  }
  copy_opts(fd, o, st, sd);
  rc = anyload_tcp_bind(st, sd, local, sizeof(*local));
  if (rc < 0) {
    anyload_tcp_close(st, sd, pl_now());
    snprintf(why, wl, "bind %s in the stack: %s%s",
             pl_tcp_addr_str(local, as, sizeof(as)), strerror(-rc),
             rc == -EXDEV || rc == -EADDRNOTAVAIL
               ? " (address of another interface)" : "");
    return rc;
  }
  return sd;
}

int pl_tcp_local_of(int fd, struct sockaddr_in* local, const char** why)
{
  socklen_t len = sizeof(*local);

  if (PL_REAL(getsockname)(fd, (struct sockaddr*)local, &len) < 0 ||
      local->sin_family != AF_INET) {
    *why = "no local address";
    return -1;
  }
  if (local->sin_port == 0) {
    struct sockaddr_in any = { .sin_family = AF_INET,
                               .sin_addr = local->sin_addr };
    len = sizeof(*local);
    if (PL_REAL(bind)(fd, (struct sockaddr*)&any, sizeof(any)) < 0 ||
        PL_REAL(getsockname)(fd, (struct sockaddr*)local, &len) < 0) {
      *why = "implicit bind failed";
      return -1;
    }
  }
  if (ntohl(local->sin_addr.s_addr) >> 24 == 127) {
    *why = "bound to loopback";
    return -1;
  }
  return 0;
}

/* listen_kernel: the kernel socket's listen, errno kept across the
 * unlock. */
static int listen_kernel(int fd, int backlog)
{
  int rc = PL_REAL(listen)(fd, backlog), err = errno;

  pl_unlock();
  errno = err;
  return rc;
}

int pl_tcp_listen(int fd, int backlog)
{
  struct sockaddr_in local;
  struct anyload_stack* st;
  struct pl_obj* o;
  const char* w = NULL;
  char why[160], as[32];
  int rc, err, sd;

  if (pl_lock() < 0)
    return PL_REAL(listen)(fd, backlog);
  o = pl_fds[fd];
  if (!o || o->kind != PL_TCP)
    return listen_kernel(fd, backlog);
  o->listen_backlog = backlog;
  if (o->tcp == PL_TCP_LISTEN && o->sd >= 0 && (st = pl_stack_if_up())) {
    anyload_tcp_listen(st, o->sd, backlog);    /* a new backlog */
    return listen_kernel(fd, backlog);
  }
  if (o->tcp != PL_TCP_NEW)
    return listen_kernel(fd, backlog);
  /* The stack listens before the kernel socket does: a connection that
   * the kernel accepted through the interface before the stack's filter
   * came would have its later segments taken by the stack (and reset). */
  st = pl_stack(&err);
  if (!st) {
    snprintf(why, sizeof(why), "stack unavailable (%s)", strerror(-err));
    fate_kernel(fd, o, why);
    if (!pl_cfg.no_fail) {   /* EF_NO_FAIL=0: the call fails */
      pl_unlock();
      errno = -err;
      return -1;
    }
    return listen_kernel(fd, backlog);
  }
  if (pl_tcp_local_of(fd, &local, &w) < 0) {
    fate_kernel(fd, o, w);
    return listen_kernel(fd, backlog);
  }
  sd = pl_tcp_open_bound(fd, o, st, &local, why, sizeof(why));
  if (sd < 0) {
    fate_kernel(fd, o, why);
    return listen_kernel(fd, backlog);
  }
  err = anyload_tcp_listen(st, sd, backlog);
  if (err < 0) {
    anyload_tcp_close(st, sd, pl_now());
    snprintf(why, sizeof(why), "listen in the stack: %s", strerror(-err));
    fate_kernel(fd, o, why);
    return listen_kernel(fd, backlog);
  }
  rc = PL_REAL(listen)(fd, backlog);
  if (rc < 0) {
    err = errno;
    anyload_tcp_close(st, sd, pl_now());   /* undecided again */
    pl_unlock();
    errno = err;
    return rc;
  }
  o->sd = sd;
  o->tcp = PL_TCP_LISTEN;
  o->flags |= PL_F_DECIDED;
  pl_count.tcp_accel++;
  pl_tcp_poller_start();
  pl_log(2, "fd %d: TCP listener %s accelerated on %s (stack socket %d; "
         "the kernel socket listens too)", fd,
         pl_tcp_addr_str(&local, as, sizeof(as)), pl_cfg.interface, sd);
  pl_unlock();
  return 0;
}

/* new_conn_fd: an fd number for the accepted stack connection sd (under
 * the lock): an unbound kernel socket with an object. */
static int new_conn_fd(int sd, int flags, const struct sockaddr_in* peer)
{
  struct pl_obj* o;
  char as[32];
  int nfd = PL_REAL(socket)(AF_INET, SOCK_STREAM | (flags & SOCK_CLOEXEC),
                            0);

  if (nfd < 0)
    return -errno;
  if (nfd >= PL_MAX_FDS || !(o = pl_obj_new(PL_TCP))) {
    PL_REAL(close)(nfd);
    return -EMFILE;
  }
  o->tcp = PL_TCP_CONN;
  o->sd = sd;
  o->flags |= PL_F_DECIDED;
  if (flags & SOCK_NONBLOCK) {
    o->flags |= PL_F_NONBLOCK;
    PL_REAL(fcntl)(nfd, F_SETFL, (void*)(long)O_NONBLOCK);
  }
  pl_fd_set(nfd, o);
  pl_count.tcp_accel++;
  pl_log(2, "fd %d: TCP connection from %s accepted, accelerated (stack "
         "socket %d)", nfd, pl_tcp_addr_str(peer, as, sizeof(as)), sd);
  return nfd;
}

static void give_addr(const struct sockaddr_in* sin, struct sockaddr* a,
                      socklen_t* l)
{
  if (a && l) {
    memcpy(a, sin, *l < sizeof(*sin) ? *l : sizeof(*sin));
    *l = sizeof(*sin);
  }
}

static int accept_loop(int fd, struct sockaddr* a, socklen_t* l, int flags);

/* kernel_accept: accept from the kernel socket's queue without blocking,
 * whatever the program's blocking mode (which the kernel socket has):
 * another thread may have taken the connection that poll saw, and a
 * blocking accept would then sleep in the kernel, blind to the stack's
 * connections. Under the lock (no other thread of ours toggles the flag
 * meanwhile, no handler runs between the two fcntl). -1 with errno. */
static int kernel_accept(int fd, struct sockaddr* a, socklen_t* l, int flags)
{
  int r, fl, err;

  if (pl_lock() < 0) {   /* not reached: accept_loop runs at depth 0 */
    errno = EAGAIN;
    return -1;
  }
  fl = PL_REAL(fcntl)(fd, F_GETFL, NULL);
  if (fl >= 0 && !(fl & O_NONBLOCK))
    PL_REAL(fcntl)(fd, F_SETFL, (void*)(long)(fl | O_NONBLOCK));
  r = PL_REAL(accept4)(fd, a, l, flags);
  err = errno;
  if (fl >= 0 && !(fl & O_NONBLOCK))
    PL_REAL(fcntl)(fd, F_SETFL, (void*)(long)fl);
  pl_unlock();
  errno = err;
  return r;
}

int pl_tcp_accept(int fd, struct sockaddr* a, socklen_t* l, int flags)
{
  int r;

  pl_waiter_enter();
  r = accept_loop(fd, a, l, flags);
  pl_waiter_leave();
  return r;
}

static int accept_loop(int fd, struct sockaddr* a, socklen_t* l, int flags)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  struct sockaddr_in peer;
  struct pollfd p;
  int64_t now = pl_now(), deadline = INT64_MAX, spin_end;
  unsigned spins = 0;
  int r, nb;

  spin_end = pl_cfg.spin_usec < 0 ? INT64_MAX : now + pl_cfg.spin_usec * 1000;
  pl_signals_wait_begin();
  for (;;) {
    if (pl_lock() < 0)
      return PL_REAL(accept4)(fd, a, l, flags);
    o = pl_fds[fd];
    st = pl_stack_if_up();
    if (o && o->kind == PL_TCP && o->n_backlog > 0 && st) {
      /* Queued in the stack before the listener left it (fd_tcp.c,
       * take_queue): first come, first served. */
      struct pl_tcp_queued q = o->backlog[0];
      int nfd;
      memmove(o->backlog, o->backlog + 1,
              (size_t)--o->n_backlog * sizeof(q));
      nfd = new_conn_fd(q.sd, flags, &q.peer);
      if (nfd < 0)
        anyload_tcp_close(st, q.sd, pl_now());
      pl_unlock();
      if (nfd < 0)
        return set_errno(nfd);
      give_addr(&q.peer, a, l);
      return nfd;
    }
    if (!o || o->kind != PL_TCP || o->tcp != PL_TCP_LISTEN || o->sd < 0 ||
        !st) {
      pl_unlock();
      return PL_REAL(accept4)(fd, a, l, flags);
    }
    if (deadline == INT64_MAX && o->rcvtimeo_ns)
      deadline = now + o->rcvtimeo_ns;
    nb = (o->flags & PL_F_NONBLOCK) != 0;
    now = pl_now();
    pl_progress(st);
    r = anyload_tcp_accept(st, o->sd, &peer, now);
    if (r == -EAGAIN)
      o->et_gen++;
    if (r >= 0) {
      int nfd = new_conn_fd(r, flags, &peer);
      if (nfd < 0)
        anyload_tcp_close(st, r, now);
      pl_unlock();
      if (nfd < 0)
        return set_errno(nfd);
      give_addr(&peer, a, l);
      return nfd;
    }
    pl_unlock();
    if (r != -EAGAIN)
      return set_errno(r);
    /* The kernel's queue (loopback, other interfaces). */
    p.fd = fd;
    p.events = POLLIN;
    if (PL_REAL(poll)(&p, 1, 0) == 1) {
      r = kernel_accept(fd, a, l, flags);
      if (r >= 0) {
        __atomic_add_fetch(&pl_count.tcp_kernel, 1, __ATOMIC_RELAXED);
        pl_log(2, "fd %d: TCP connection accepted through the kernel "
               "(loopback or another interface)", r);
        return r;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
    }
    if (nb || now >= deadline)
      return set_errno(-EAGAIN);
    if (now < spin_end) {
      if (pl_signals_ran()) {   /* as the kernel's sleep would end */
        if (!pl_eintr_restarts())
          return set_errno(-EINTR);
        pl_signals_wait_begin();
      }
      if ((++spins & 63) == 0)
        sched_yield();
      continue;
    }
    r = pl_wait(fd, POLLIN, deadline, NULL);
    if (r == -EINTR && !pl_eintr_restarts())
      return set_errno(-EINTR);
    now = pl_now();
  }
}

/* wait_connected: a blocking connect waits for the handshake (or its
 * failure, or SO_SNDTIMEO: EINPROGRESS as the kernel). */
static int wait_connected(int fd, const struct sockaddr_in* dst)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  int64_t now = pl_now(), deadline = INT64_MAX;
  int rc;

  for (;;) {
    if (pl_lock() < 0)
      return -EINPROGRESS;
    o = pl_fds[fd];
    st = pl_stack_if_up();
    if (!pl_tcp_stack_conn(o) || !st) {
      pl_unlock();
      return -EBADF;
    }
    if (deadline == INT64_MAX && o->sndtimeo_ns)
      deadline = now + o->sndtimeo_ns;
    now = pl_now();
    pl_progress(st);
    rc = anyload_tcp_connect(st, o->sd, dst, sizeof(*dst), now);
    pl_unlock();
    if (rc != -EALREADY && rc != -EINPROGRESS)
      return rc == -EISCONN ? 0 : rc;
    if (now >= deadline)
      return -EINPROGRESS;
    rc = pl_wait(-1, 0, deadline, NULL);
    if (rc == -EINTR)
      return -EINTR;   /* the kernel's connect goes on in the background */
  }
}

int pl_tcp_connect(int fd, const struct sockaddr* a, socklen_t l)
{
  const struct sockaddr_in* dst = (const struct sockaddr_in*)a;
  struct sockaddr_in local;
  struct anyload_stack* st;
  struct pl_obj* o;
  const char* w = NULL;
  char why[160], as[32], ds[32];
  socklen_t len;
  int rc, err, sd;

  if (pl_lock() < 0)
    return PL_REAL(connect)(fd, a, l);
  o = pl_fds[fd];
  if (!o || o->kind != PL_TCP)
    goto kernel;
  if (o->tcp == PL_TCP_CONN && o->sd >= 0 && (st = pl_stack_if_up())) {
    /* connect again: the state of the one in progress. */
    rc = anyload_tcp_connect(st, o->sd, dst, l, pl_now());
    pl_unlock();
    if (rc == -EALREADY || rc == -EINPROGRESS)
      return set_errno(-EALREADY);
    return set_errno(rc);
  }
  if (o->tcp == PL_TCP_ORPHAN) {
    pl_unlock();
    return set_errno(-EISCONN);
  }
  if (o->tcp != PL_TCP_NEW || !a || l < sizeof(*dst) ||
      a->sa_family != AF_INET)
    goto kernel;
  if (ntohl(dst->sin_addr.s_addr) >> 24 == 127) {
    fate_kernel(fd, o, "loopback destination");
    goto kernel;
  }
  st = pl_stack(&err);
  if (!st) {
    snprintf(why, sizeof(why), "stack unavailable (%s)", strerror(-err));
    fate_kernel(fd, o, why);
    if (!pl_cfg.no_fail) {   /* EF_NO_FAIL=0: the call fails */
      pl_unlock();
      return set_errno(err);
    }
    goto kernel;
  }
  if (pl_tcp_local_of(fd, &local, &w) < 0) {
    fate_kernel(fd, o, w);
    goto kernel;
  }
  sd = pl_tcp_open_bound(fd, o, st, &local, why, sizeof(why));
  if (sd < 0) {
    fate_kernel(fd, o, why);
    goto kernel;
  }
  rc = anyload_tcp_connect(st, sd, dst, sizeof(*dst), pl_now());
  if (rc < 0 && rc != -EINPROGRESS) {
    anyload_tcp_close(st, sd, pl_now());
    if (rc == -EXDEV || rc == -ENETUNREACH) {
      snprintf(why, sizeof(why), "connect to %s: %s%s",
               pl_tcp_addr_str(dst, ds, sizeof(ds)), strerror(-rc),
               rc == -EXDEV ? " (route through another interface, or a "
                              "local address)" : "");
      fate_kernel(fd, o, why);
      goto kernel;
    }
    pl_unlock();
    return set_errno(rc);
  }
  o->sd = sd;
  o->tcp = PL_TCP_CONN;
  o->flags |= PL_F_DECIDED;
  pl_count.tcp_accel++;
  pl_epoll_kernel_detach(fd);
  pl_tcp_poller_start();
  len = sizeof(local);
  anyload_tcp_getsockname(st, sd, &local, &len);   /* the chosen source */
  pl_log(2, "fd %d: TCP %s -> %s accelerated on %s (stack socket %d)", fd,
         pl_tcp_addr_str(&local, as, sizeof(as)),
         pl_tcp_addr_str(dst, ds, sizeof(ds)), pl_cfg.interface, sd);
  if (rc == 0 || (o->flags & PL_F_NONBLOCK)) {
    pl_unlock();
    return set_errno(rc);
  }
  pl_unlock();
  pl_waiter_enter();
  rc = wait_connected(fd, dst);
  pl_waiter_leave();
  return set_errno(rc);
kernel:
  pl_unlock();
  return PL_REAL(connect)(fd, a, l);
}

int pl_tcp_shutdown(int fd, int how)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  int rc;

  if (pl_lock() < 0)
    return PL_REAL(shutdown)(fd, how);
  o = pl_fds[fd];
  st = pl_stack_if_up();
  if (o && o->kind == PL_TCP && o->tcp == PL_TCP_ORPHAN) {
    pl_unlock();
    return set_errno(-ENOTCONN);
  }
  if (!pl_tcp_stack_conn(o) || !st) {
    pl_unlock();
    return PL_REAL(shutdown)(fd, how);
  }
  rc = anyload_tcp_shutdown(st, o->sd, how, pl_now());
  pl_unlock();
  return set_errno(rc);
}

/* needs_kernel: options whose effect the stack cannot give: a socket that
 * sets one before the decision stays with the kernel. */
static bool needs_kernel(int lv, int nm)
{
  if (lv == SOL_SOCKET)
    return nm == SO_BINDTODEVICE || nm == SO_REUSEPORT ||
           nm == SO_ATTACH_FILTER || nm == SO_ATTACH_BPF ||
           nm == SO_ATTACH_REUSEPORT_CBPF || nm == SO_ATTACH_REUSEPORT_EBPF ||
           nm == SO_TIMESTAMPING || nm == SO_MARK || nm == SO_OOBINLINE;
  if (lv == IPPROTO_IP)
    return nm == IP_TRANSPARENT || nm == IP_FREEBIND || nm == IP_OPTIONS ||
           nm == IP_PKTINFO || nm == IP_RECVORIGDSTADDR;
  if (lv == IPPROTO_TCP)
    return nm == TCP_FASTOPEN || nm == TCP_FASTOPEN_CONNECT ||
           nm == TCP_MD5SIG || nm == TCP_ULP || nm == TCP_REPAIR ||
           nm == TCP_ZEROCOPY_RECEIVE || nm == TCP_SAVE_SYN;
  return false;
}

static int64_t tv_ns(const void* v, socklen_t l)
{
  const struct timeval* tv = v;

  if (l < sizeof(*tv))
    return 0;
  return (int64_t)tv->tv_sec * 1000000000ll + (int64_t)tv->tv_usec * 1000;
}

int pl_tcp_setsockopt(int fd, int lv, int nm, const void* v, socklen_t l)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  char why[96];
  int rc, r;

  if (pl_lock() < 0)
    return PL_REAL(setsockopt)(fd, lv, nm, v, l);
  o = pl_fds[fd];
  st = pl_stack_if_up();
  if (!o || o->kind != PL_TCP || o->tcp == PL_TCP_KERNEL) {
    pl_unlock();
    return PL_REAL(setsockopt)(fd, lv, nm, v, l);
  }
  if (lv == SOL_SOCKET && nm == SO_RCVTIMEO)
    o->rcvtimeo_ns = tv_ns(v, l);
  if (lv == SOL_SOCKET && nm == SO_SNDTIMEO)
    o->sndtimeo_ns = tv_ns(v, l);
  if (lv == SOL_SOCKET && nm == SO_RCVBUF)
    o->flags |= PL_TF_RCVBUF;
  if (lv == SOL_SOCKET && nm == SO_SNDBUF)
    o->flags |= PL_TF_SNDBUF;
  if (o->tcp == PL_TCP_NEW) {
    /* Undecided: the kernel socket holds it; listen/connect copy it. */
    rc = PL_REAL(setsockopt)(fd, lv, nm, v, l);
    if (rc == 0 && needs_kernel(lv, nm)) {
      snprintf(why, sizeof(why), "option level %d name %d", lv, nm);
      fate_kernel(fd, o, why);
    }
    pl_unlock();
    return rc;
  }
  if (o->sd < 0 || !st) {
    pl_unlock();
    return PL_REAL(setsockopt)(fd, lv, nm, v, l);
  }
  r = anyload_tcp_setsockopt(st, o->sd, lv, nm, v, l, pl_now());
  if (r == -ENOPROTOOPT) {
    /* Unknown to the stack (timeouts, SO_PRIORITY ...): the kernel
     * socket keeps it, which is all the program can observe. */
    pl_unlock();
    return PL_REAL(setsockopt)(fd, lv, nm, v, l);
  }
  if (r == 0 && lv == SOL_SOCKET) /* getsockopt of the same reads it */
    PL_REAL(setsockopt)(fd, lv, nm, v, l);
  pl_unlock();
  return set_errno(r);
}

int pl_tcp_getsockopt(int fd, int lv, int nm, void* v, socklen_t* l)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  int r;

  if (pl_lock() < 0)
    return PL_REAL(getsockopt)(fd, lv, nm, v, l);
  o = pl_fds[fd];
  st = pl_stack_if_up();
  if (!o || o->kind != PL_TCP || o->sd < 0 || !st ||
      (lv == SOL_SOCKET && (nm == SO_RCVTIMEO || nm == SO_SNDTIMEO))) {
    pl_unlock();
    return PL_REAL(getsockopt)(fd, lv, nm, v, l);
  }
  if (!v || !l) {
    pl_unlock();
    return set_errno(-EFAULT);
  }
  r = anyload_tcp_getsockopt(st, o->sd, lv, nm, v, l);
  pl_unlock();
  if (r == -ENOPROTOOPT)
    return PL_REAL(getsockopt)(fd, lv, nm, v, l);
  return set_errno(r);
}

int pl_tcp_getname(int fd, struct sockaddr* a, socklen_t* l, int peer)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  struct sockaddr_in sin;
  socklen_t sl = sizeof(sin);
  int r;

  if (pl_lock() < 0)
    goto kernel;
  o = pl_fds[fd];
  st = pl_stack_if_up();
  if (o && o->kind == PL_TCP && o->tcp == PL_TCP_ORPHAN && peer) {
    pl_unlock();
    return set_errno(-ENOTCONN);
  }
  if (!pl_tcp_stack_conn(o) || !st) {
    pl_unlock();
    goto kernel;
  }
  r = peer ? anyload_tcp_getpeername(st, o->sd, &sin, &sl)
           : anyload_tcp_getsockname(st, o->sd, &sin, &sl);
  pl_unlock();
  if (r < 0)
    return set_errno(r);
  if (!a || !l)
    return set_errno(-EFAULT);
  give_addr(&sin, a, l);
  return 0;
kernel:
  return peer ? PL_REAL(getpeername)(fd, a, l)
              : PL_REAL(getsockname)(fd, a, l);
}

void pl_tcp_close_sd(struct pl_obj* o)
{
  struct anyload_stack* st = pl_stack_if_up();
  int k;

  if (o->sd >= 0 && st)
    anyload_tcp_close(st, o->sd, pl_now());
  o->sd = -1;
  /* Queued connections nobody accepted: closed, as the kernel resets
   * those of a listener that closes. */
  for (k = 0; k < o->n_backlog && st; k++)
    anyload_tcp_close(st, o->backlog[k].sd, pl_now());
  free(o->backlog);
  o->backlog = NULL;
  o->n_backlog = 0;
  pl_share_queue_forget(o);
}

void pl_tcp_linger_take(int fd, struct pl_tcp_linger* lg)
{
  struct anyload_stack* st = pl_stack_if_up();
  struct pl_obj* o = pl_fds[fd];
  struct linger l;
  socklen_t len = sizeof(l);

  lg->handle = 0;
  lg->deadline = 0;
  /* Only the last fd of the socket closes it (dup). A connection that a
   * forked child may hold goes to the kernel instead (pl_tcp_release),
   * whose close does not linger while another process holds it. */
  if (!o || o->kind != PL_TCP || o->tcp != PL_TCP_CONN || o->sd < 0 ||
      !st || o->refs != 1 || o->shares > 0)
    return;
  if (anyload_tcp_getsockopt(st, o->sd, SOL_SOCKET, SO_LINGER, &l, &len) < 0
      || !l.l_onoff || l.l_linger <= 0)
    return;
  if (anyload_tcp_close_handle(st, o->sd, &lg->handle) < 0) {
    lg->handle = 0;
    return;
  }
  lg->deadline = pl_now() + (int64_t)l.l_linger * 1000000000ll;
}

void pl_tcp_linger_wait(int fd, const struct pl_tcp_linger* lg)
{
  struct anyload_stack* st;
  int64_t start = pl_now(), now = start;
  int closing = 1, rc;

  pl_waiter_enter();
  for (;;) {
    if (pl_lock() < 0)
      break;
    st = pl_stack_if_up();
    if (!st) {
      pl_unlock();
      break;
    }
    pl_progress(st);
    closing = anyload_tcp_closing(st, lg->handle);
    pl_unlock();
    now = pl_now();
    if (closing != 1 || now >= lg->deadline)
      break;
    rc = pl_wait(-1, 0, lg->deadline, NULL);
    if (rc == -EINTR)
      break;   /* as Linux's sk_stream_wait_close: a signal ends it */
  }
  pl_waiter_leave();
  pl_log(2, "fd %d: close lingered %lld ms (%s)", fd,
         (long long)((now - start) / 1000000),
         closing == 1 ? "timeout or signal, goes on in the background"
                      : "everything acknowledged");
}

short pl_tcp_ready(struct pl_obj* o)
{
  struct anyload_stack* st = pl_stack_if_up();
  int r;

  if (o->n_backlog > 0)
    return POLLIN | POLLRDNORM;
  if (o->sd < 0 || !st)
    return 0;
  r = anyload_tcp_poll(st, o->sd);
  return r < 0 ? (short)(POLLERR | POLLHUP) : (short)r;
}

uint32_t pl_tcp_edge(struct pl_ep_item* it, uint32_t r)
{
  struct pl_obj* o = pl_fds[it->fd];
  struct anyload_stack* st = pl_stack_if_up();
  uint32_t fresh;
  uint64_t rx;

  if (!o || o->kind != PL_TCP)
    return r;
  if (it->et_gen != o->et_gen) {
    it->et_gen = o->et_gen;
    it->et_mask = 0;
  }
  /* Something arrived since the last report (data, FIN, RST, a
   * connection to accept): POLLIN is an edge again, as the kernel's
   * wake-up per arrival makes it, also for a program that read less than
   * there was and never met EAGAIN (nginx reads once when recv returns
   * less than its buffer, then waits for the next event). */
  rx = st && o->sd >= 0 ? anyload_tcp_rx_events(st, o->sd) : 0;
  if (rx != it->et_rx) {
    it->et_rx = rx;
    it->et_mask &= ~(uint32_t)(POLLIN | POLLRDNORM | POLLRDHUP);
  }
  it->et_mask &= r;            /* a bit that fell may rise again */
  fresh = r & ~it->et_mask;
  it->et_mask |= r;
  return fresh;
}

/* How long a listener that leaves the stack with its queue kept waits for
 * the handshakes in progress: at least LISTENER_DRAIN_NS (the last ACKs on
 * their way), at most LISTENER_DRAIN_MAX_NS while some are left (a loaded
 * machine, a lost SYN-ACK); what is left then is reset. */
#define LISTENER_DRAIN_NS 5000000ll
#define LISTENER_DRAIN_MAX_NS 200000000ll

/* take_queue: the connections queued in o's stack listener into
 * o->backlog, for accept to hand out; *(int*)ctx counts them. */
static void take_queue(struct anyload_stack* st, struct pl_obj* o, void* ctx)
{
  struct pl_tcp_queued q;
  int* n = ctx;

  while ((q.sd = anyload_tcp_accept(st, o->sd, &q.peer, pl_now())) >= 0) {
    struct pl_tcp_queued* p = realloc(o->backlog, (size_t)(o->n_backlog + 1) *
                                                  sizeof(*p));
    if (!p) {
      anyload_tcp_close(st, q.sd, pl_now());
      break;
    }
    o->backlog = p;
    o->backlog[o->n_backlog++] = q;
    (*n)++;
  }
}

void pl_tcp_listener_drain(struct anyload_stack* st, struct pl_obj* o,
                           pl_tcp_queue_taker take, void* ctx)
{
  /* Handshakes in progress would be reset by the close (a client whose
   * connect() had returned saw ECONNRESET: socat with 8 clients on a
   * loaded machine): the stack runs until none is left, bounded, so that
   * they complete and join the queue. */
  int64_t start = pl_now(), now = start;
  struct timespec nap = { 0, 100000 };

  while (now < start + LISTENER_DRAIN_MAX_NS &&
         (now < start + LISTENER_DRAIN_NS ||
          anyload_tcp_synq_len(st, o->sd) > 0)) {
    pl_progress(st);
    take(st, o, ctx);
    nanosleep(&nap, NULL);
    now = pl_now();
  }
  take(st, o, ctx);
}

void pl_tcp_listener_to_kernel(int fd, struct pl_obj* o, const char* why,
                               int keep_queue)
{
  struct anyload_stack* st = pl_stack_if_up();
  int kept = 0;

  if (!st || o->tcp != PL_TCP_LISTEN || o->sd < 0)
    return;
  if (keep_queue) {
    pl_tcp_listener_drain(st, o, take_queue, &kept);
  }
  anyload_tcp_close(st, o->sd, pl_now());
  o->sd = -1;
  o->tcp = PL_TCP_KERNEL;
  pl_count.tcp_accel--;
  pl_count.tcp_kernel++;
  pl_log(2, "fd %d: TCP listener handed to the kernel at %s (the kernel "
         "socket takes new connections in every process; %s)", fd, why,
         keep_queue ? "those queued in the stack are accepted first"
                    : "those still queued in the stack were reset");
  if (kept)
    pl_log(2, "fd %d: %d connection%s queued in the stack kept for accept",
           fd, kept, kept == 1 ? "" : "s");
}

void pl_tcp_listeners_to_kernel(const char* why)
{
  int fd;

  if (!pl_stack_if_up())
    return;
  /* The stack's calls may make kernel calls of their own: they must not
   * come back into the library. */
  pl_depth++;
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (o && o->kind == PL_TCP)
      pl_tcp_listener_to_kernel(fd, o, why, 0);
  }
  pl_depth--;
}

void pl_tcp_fork_prepare(void)
{
  /* ANYLOAD_TCP_HANDOVER=2 with the poller to serve the child: nothing
   * moves now (tcp_share.c). */
  if (pl_share_fork_prepare())
    return;
  pl_tcp_listeners_to_kernel("fork");
  pl_tcp_handover_all("fork");
}

void pl_tcp_exec_prepare(void)
{
  pl_tcp_listeners_to_kernel("exec");
  pl_tcp_handover_all("exec");
}

int pl_tcp_release(int fd, struct pl_obj* o)
{
  if (o->tcp == PL_TCP_REMOTE)
    pl_share_forget(o);
  else if (o->shares > 0 && pl_share_hold(fd, o))
    return 1;
  else if (o->shares > 0)
    pl_share_handover(fd, o, "close in the parent, a forked child may "
                      "hold it");
  pl_tcp_close_sd(o);
  return 0;
}

void pl_tcp_child(int fd, struct pl_obj* o)
{
  /* Queued connections of the parent's stack: the parent's to accept. */
  free(o->backlog);
  o->backlog = NULL;
  o->n_backlog = 0;
  pl_share_queue_forget(o);
  if (o->tcp == PL_TCP_CONN && o->sd >= 0) {
    o->tcp = PL_TCP_ORPHAN;
    pl_log(2, "fd %d: accelerated TCP connection inherited by a forked "
           "child: it stays the parent's; ENOTCONN here", fd);
  }
  o->sd = -1;
}
