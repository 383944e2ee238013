// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/intercept.c: the entry points of libanyload.so. It expands
 * common/syscalls.def into the pointers to the next definitions
 * (dlsym(RTLD_NEXT), looked up once, lazily if a call comes before the
 * constructor), and defines every intercepted call: an fd without an
 * object in the fd table (the common case for everything but UDP and TCP
 * sockets and epoll sets) goes straight to the next definition; the
 * others are dispatched to fd_udp.c, fd_tcp.c, fd_tcp_io.c, fd_epoll.c
 * and poll_select.c. A call made while
 * this thread is already inside the library (a signal handler, or the
 * stack's own kernel calls) always goes to the kernel. glibc's fortified
 * entries (__recv_chk ...) check their buffer and call ours.
 */
#undef _FORTIFY_SOURCE
#include "preload/pl_tcp.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PL_CALL(ret, name, params, args) ret(*pl_real_##name) params;
#define PL_EXPORT(name)
#include "common/syscalls.def"
#undef PL_CALL
#undef PL_EXPORT

extern void __chk_fail(void) __attribute__((noreturn));

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
#define PL_CALL(ret, name, params, args) \
  pl_real_##name = (ret(*) params)dlsym(RTLD_NEXT, #name);
#define PL_EXPORT(name)
#include "common/syscalls.def"
#undef PL_CALL
#undef PL_EXPORT
}

void pl_resolve(void)
{
  pthread_once(&resolve_once, resolve);
}

/* udp_obj: the UDP object of fd when this call should look at it. */
static inline struct pl_obj* udp_obj(int fd)
{
  struct pl_obj* o = pl_obj_of(fd);

  return o && o->kind == PL_UDP && !pl_depth ? o : NULL;
}

/* accel: the fd is (or may become, when undecided) accelerated. */
static inline int accel(int fd)
{
  struct pl_obj* o = udp_obj(fd);

  return o && (o->sd >= 0 || !(o->flags & PL_F_DECIDED));
}

/* The UDP data calls may sleep on the stack's wait fd: counted waiters
 * (pl_int.h), as the TCP ones count themselves in fd_tcp_io.c. */
static ssize_t udp_recvmsg(int fd, struct msghdr* m, int f)
{
  ssize_t rc;

  pl_waiter_enter();
  rc = pl_udp_recvmsg(fd, m, f);
  pl_waiter_leave();
  return rc;
}

static ssize_t udp_sendmsg(int fd, const struct msghdr* m, int f)
{
  ssize_t rc;

  pl_waiter_enter();
  rc = pl_udp_sendmsg(fd, m, f);
  pl_waiter_leave();
  return rc;
}

/* tcp_io: fd is an accelerated TCP connection (or a forked child's
 * orphan of one): its data calls go to fd_tcp_io.c. */
static inline int tcp_io(int fd)
{
  struct pl_obj* o = pl_tcp_obj(fd);

  return o && ((o->tcp == PL_TCP_CONN && o->sd >= 0) ||
               o->tcp == PL_TCP_ORPHAN);
}

int socket(int d, int t, int p)
{
  if (d == AF_INET && (t & 0xf) == SOCK_STREAM)
    return pl_tcp_socket(d, t, p);
  return pl_udp_socket(d, t, p);
}

int listen(int fd, int n)
{
  pl_tcp_settle(fd, "listen");
  if (!pl_tcp_obj(fd))
    return PL_REAL(listen)(fd, n);
  return pl_tcp_listen(fd, n);
}

int accept(int fd, struct sockaddr* a, socklen_t* l)
{
  pl_tcp_settle(fd, "accept");
  if (!pl_tcp_obj(fd))
    return PL_REAL(accept)(fd, a, l);
  return pl_tcp_accept(fd, a, l, 0);
}

int accept4(int fd, struct sockaddr* a, socklen_t* l, int f)
{
  pl_tcp_settle(fd, "accept");
  if (!pl_tcp_obj(fd))
    return PL_REAL(accept4)(fd, a, l, f);
  return pl_tcp_accept(fd, a, l, f);
}

int bind(int fd, const struct sockaddr* a, socklen_t l)
{
  pl_tcp_settle(fd, "bind");
  if (!udp_obj(fd))
    return PL_REAL(bind)(fd, a, l);
  return pl_udp_bind(fd, a, l);
}

int connect(int fd, const struct sockaddr* a, socklen_t l)
{
  pl_tcp_settle(fd, "connect");
  if (pl_tcp_obj(fd))
    return pl_tcp_connect(fd, a, l);
  if (!udp_obj(fd))
    return PL_REAL(connect)(fd, a, l);
  return pl_udp_connect(fd, a, l);
}

int getsockname(int fd, struct sockaddr* a, socklen_t* l)
{
  pl_tcp_settle(fd, "getsockname");
  /* The kernel socket holds the same address and port, except for TCP
   * connections (an accepted one's kernel socket is unbound). */
  if (tcp_io(fd))
    return pl_tcp_getname(fd, a, l, 0);
  return PL_REAL(getsockname)(fd, a, l);
}

int getpeername(int fd, struct sockaddr* a, socklen_t* l)
{
  pl_tcp_settle(fd, "getpeername");
  if (tcp_io(fd))
    return pl_tcp_getname(fd, a, l, 1);
  return PL_REAL(getpeername)(fd, a, l);
}

static ssize_t send_one(int fd, const void* b, size_t n, int f,
                        const struct sockaddr* a, socklen_t l)
{
  struct iovec iov = { (void*)b, n };
  struct msghdr m = { .msg_name = (void*)a, .msg_namelen = a ? l : 0,
                      .msg_iov = &iov, .msg_iovlen = 1 };

  return udp_sendmsg(fd, &m, f);
}

static ssize_t tcp_send_one(int fd, const void* b, size_t n, int f)
{
  struct iovec iov = { (void*)b, n };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

  return pl_tcp_sendmsg(fd, &m, f);
}

ssize_t send(int fd, const void* b, size_t n, int f)
{
  pl_tcp_settle(fd, "send");
  if (tcp_io(fd))
    return tcp_send_one(fd, b, n, f);
  if (!accel(fd))
    return PL_REAL(send)(fd, b, n, f);
  return send_one(fd, b, n, f, NULL, 0);
}

ssize_t sendto(int fd, const void* b, size_t n, int f,
               const struct sockaddr* a, socklen_t l)
{
  pl_tcp_settle(fd, "send");
  if (tcp_io(fd))   /* a connected stream ignores the address */
    return tcp_send_one(fd, b, n, f);
  if (!accel(fd))
    return PL_REAL(sendto)(fd, b, n, f, a, l);
  return send_one(fd, b, n, f, a, l);
}

ssize_t sendmsg(int fd, const struct msghdr* m, int f)
{
  pl_tcp_settle(fd, "send");
  if (tcp_io(fd))
    return pl_tcp_sendmsg(fd, m, f);
  if (!accel(fd))
    return PL_REAL(sendmsg)(fd, m, f);
  return udp_sendmsg(fd, m, f);
}

int sendmmsg(int fd, struct mmsghdr* v, unsigned n, int f)
{
  unsigned k;
  ssize_t rc;

  pl_tcp_settle(fd, "send");
  if (!accel(fd) && !tcp_io(fd))
    return PL_REAL(sendmmsg)(fd, v, n, f);
  for (k = 0; k < n; k++) {
    rc = tcp_io(fd) ? pl_tcp_sendmsg(fd, &v[k].msg_hdr, f)
                    : udp_sendmsg(fd, &v[k].msg_hdr, f);
    if (rc < 0)
      return k ? (int)k : -1;
    v[k].msg_len = (unsigned)rc;
  }
  return (int)k;
}

ssize_t write(int fd, const void* b, size_t n)
{
  pl_tcp_settle(fd, "write");
  if (tcp_io(fd))
    return tcp_send_one(fd, b, n, 0);
  if (!accel(fd))
    return PL_REAL(write)(fd, b, n);
  return send_one(fd, b, n, 0, NULL, 0);
}

ssize_t writev(int fd, const struct iovec* v, int n)
{
  struct msghdr m = { .msg_iov = (struct iovec*)v, .msg_iovlen = (size_t)n };

  pl_tcp_settle(fd, "write");
  if (tcp_io(fd) && n >= 0)
    return pl_tcp_sendmsg(fd, &m, 0);
  if (!accel(fd) || n < 0)
    return PL_REAL(writev)(fd, v, n);
  return udp_sendmsg(fd, &m, 0);
}

static inline int rx_accel(int fd)
{
  struct pl_obj* o = udp_obj(fd);

  return o && o->sd >= 0;
}

static ssize_t recv_one(int fd, void* b, size_t n, int f, struct sockaddr* a,
                        socklen_t* l)
{
  struct iovec iov = { b, n };
  struct msghdr m = { .msg_name = a, .msg_namelen = a && l ? *l : 0,
                      .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t rc = udp_recvmsg(fd, &m, f);

  if (rc >= 0 && a && l)
    *l = m.msg_namelen;
  return rc;
}

static ssize_t tcp_recv_one(int fd, void* b, size_t n, int f,
                            socklen_t* l)
{
  struct iovec iov = { b, n };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t rc = pl_tcp_recvmsg(fd, &m, f);

  if (rc >= 0 && l)
    *l = 0;   /* a stream has no source address */
  return rc;
}

ssize_t recv(int fd, void* b, size_t n, int f)
{
  pl_tcp_settle(fd, "recv");
  if (tcp_io(fd))
    return tcp_recv_one(fd, b, n, f, NULL);
  if (!rx_accel(fd))
    return PL_REAL(recv)(fd, b, n, f);
  return recv_one(fd, b, n, f, NULL, NULL);
}

ssize_t recvfrom(int fd, void* b, size_t n, int f, struct sockaddr* a,
                 socklen_t* l)
{
  pl_tcp_settle(fd, "recv");
  if (tcp_io(fd))
    return tcp_recv_one(fd, b, n, f, a ? l : NULL);
  if (!rx_accel(fd))
    return PL_REAL(recvfrom)(fd, b, n, f, a, l);
  return recv_one(fd, b, n, f, a, l);
}

ssize_t recvmsg(int fd, struct msghdr* m, int f)
{
  pl_tcp_settle(fd, "recv");
  if (tcp_io(fd))
    return pl_tcp_recvmsg(fd, m, f);
  if (!rx_accel(fd))
    return PL_REAL(recvmsg)(fd, m, f);
  return udp_recvmsg(fd, m, f);
}

int recvmmsg(int fd, struct mmsghdr* v, unsigned n, int f,
             struct timespec* t)
{
  unsigned k;
  ssize_t rc;
  int fl = f & ~MSG_WAITFORONE;
  int64_t end = 0, left;

  pl_tcp_settle(fd, "recv");
  if (tcp_io(fd)) {
    /* A stream fills one message per call, as the kernel's does. */
    if (!n)
      return 0;
    rc = pl_tcp_recvmsg(fd, &v[0].msg_hdr, fl);
    if (rc < 0)
      return -1;
    v[0].msg_len = (unsigned)rc;
    return 1;
  }
  if (!rx_accel(fd))
    return PL_REAL(recvmmsg)(fd, v, n, f, t);
  if (t) {
    if (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000) {
      errno = EINVAL;
      return -1;
    }
    end = pl_now() + t->tv_sec * 1000000000ll + t->tv_nsec;
  }
  /* As the kernel: each datagram is received as by recvmsg (blocking
   * unless non-blocking); the timeout is checked, and updated with the
   * time left, after each datagram only; after the first, MSG_WAITFORONE
   * takes only what is already there. */
  for (k = 0; k < n; k++) {
    rc = udp_recvmsg(fd, &v[k].msg_hdr, fl);
    if (rc < 0)
      return k ? (int)k : -1;
    v[k].msg_len = (unsigned)rc;
    if (f & MSG_WAITFORONE)
      fl |= MSG_DONTWAIT;
    if (t) {
      left = end - pl_now();
      if (left < 0)
        left = 0;
      t->tv_sec = left / 1000000000;
      t->tv_nsec = left % 1000000000;
      if (!left)
        return (int)k + 1;
    }
  }
  return (int)k;
}

ssize_t read(int fd, void* b, size_t n)
{
  pl_tcp_settle(fd, "read");
  if (tcp_io(fd))
    return tcp_recv_one(fd, b, n, 0, NULL);
  if (!rx_accel(fd))
    return PL_REAL(read)(fd, b, n);
  return recv_one(fd, b, n, 0, NULL, NULL);
}

ssize_t readv(int fd, const struct iovec* v, int n)
{
  struct msghdr m = { .msg_iov = (struct iovec*)v, .msg_iovlen = (size_t)n };

  pl_tcp_settle(fd, "read");
  if (tcp_io(fd) && n >= 0)
    return pl_tcp_recvmsg(fd, &m, 0);
  if (!rx_accel(fd) || n < 0)
    return PL_REAL(readv)(fd, v, n);
  return udp_recvmsg(fd, &m, 0);
}

int close(int fd)
{
  struct pl_tcp_linger lg = { 0, 0 };
  int rc;

  if (!pl_depth && pl_obj_of(fd) && pl_lock() == 0) {
    pl_tcp_linger_take(fd, &lg);
    pl_fd_release(fd);
    pl_unlock();
  }
  rc = PL_REAL(close)(fd);
  if (lg.handle) {
    /* After the fd is gone, as Linux blocks in the release of the socket
     * once the fd is free; errno of the close is kept. */
    int e = errno;
    pl_tcp_linger_wait(fd, &lg);
    errno = e;
  }
  return rc;
}

int shutdown(int fd, int how)
{
  int rc;
  struct pl_obj* o;

  pl_tcp_settle(fd, "shutdown");
  if (tcp_io(fd))
    return pl_tcp_shutdown(fd, how);
  rc = PL_REAL(shutdown)(fd, how);
  o = udp_obj(fd);

  /* The kernel marks even an unconnected UDP socket (and wakes its
   * readers) although it answers ENOTCONN. */
  if (o && (rc == 0 || errno == ENOTCONN) &&
      (how == SHUT_RD || how == SHUT_RDWR))
    __atomic_or_fetch(&o->flags, PL_F_SHUT_RD, __ATOMIC_RELAXED);
  return rc;
}

int setsockopt(int fd, int lv, int nm, const void* v, socklen_t l)
{
  pl_tcp_settle(fd, "setsockopt");
  if (pl_tcp_obj(fd))
    return pl_tcp_setsockopt(fd, lv, nm, v, l);
  if (!udp_obj(fd))
    return PL_REAL(setsockopt)(fd, lv, nm, v, l);
  return pl_udp_setsockopt(fd, lv, nm, v, l);
}

int getsockopt(int fd, int lv, int nm, void* v, socklen_t* l)
{
  pl_tcp_settle(fd, "getsockopt");
  if (pl_tcp_obj(fd))
    return pl_tcp_getsockopt(fd, lv, nm, v, l);
  if (!udp_obj(fd))
    return PL_REAL(getsockopt)(fd, lv, nm, v, l);
  return pl_udp_getsockopt(fd, lv, nm, v, l);
}

/* dup_obj: nfd (a new fd for the same file as fd) shares fd's object. */
static void dup_obj(int fd, int nfd)
{
  struct pl_obj* o;

  if (nfd < 0 || pl_lock() < 0)
    return;
  o = pl_obj_of(fd);
  if (o && nfd < PL_MAX_FDS) {
    if (pl_fds[nfd])
      pl_fd_release(nfd);
    pl_fd_set(nfd, o);
  }
  pl_unlock();
}

static int do_fcntl(int (*real)(int, int, void*), int fd, int cmd, void* arg)
{
  struct pl_obj* o;
  int rc = real(fd, cmd, arg);

  if (rc < 0 || pl_depth || !(o = pl_obj_of(fd)))
    return rc;
  if (cmd == F_SETFL) {
    if ((long)arg & O_NONBLOCK)
      __atomic_or_fetch(&o->flags, PL_F_NONBLOCK, __ATOMIC_RELAXED);
    else
      __atomic_and_fetch(&o->flags, ~PL_F_NONBLOCK, __ATOMIC_RELAXED);
  } else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
    dup_obj(fd, rc);
  }
  return rc;
}

int fcntl(int fd, int cmd, ...)
{
  va_list ap;
  void* arg;

  va_start(ap, cmd);
  arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(PL_REAL(fcntl), fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
  va_list ap;
  void* arg;

  va_start(ap, cmd);
  arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(PL_REAL(fcntl64), fd, cmd, arg);
}

int ioctl(int fd, unsigned long req, ...)
{
  va_list ap;
  void* arg;
  struct pl_obj* o;
  int rc;

  va_start(ap, req);
  arg = va_arg(ap, void*);
  va_end(ap);
  /* FIONBIO and close-on-exec are the file's, not the socket's. */
  if (req != FIONBIO && req != FIOCLEX && req != FIONCLEX)
    pl_tcp_settle(fd, "ioctl");
  if (tcp_io(fd) && req == FIONREAD && arg) {
    rc = pl_tcp_ioctl_fionread(fd, arg);
    if (rc < 0) {
      errno = -rc;
      return -1;
    }
    return 0;
  }
  o = udp_obj(fd);
  if (!o)
    o = pl_tcp_obj(fd);
  if (o && o->kind == PL_UDP && req == FIONREAD && o->sd >= 0 && arg &&
      pl_udp_ioctl_fionread(fd, arg) == 0)
    return 0;
  rc = PL_REAL(ioctl)(fd, req, arg);
  if (rc == 0 && o && req == FIONBIO && arg) {
    if (*(int*)arg)
      __atomic_or_fetch(&o->flags, PL_F_NONBLOCK, __ATOMIC_RELAXED);
    else
      __atomic_and_fetch(&o->flags, ~PL_F_NONBLOCK, __ATOMIC_RELAXED);
  }
  return rc;
}

int poll(struct pollfd* f, nfds_t n, int t)
{
  if (pl_depth)
    return PL_REAL(poll)(f, n, t);
  return pl_poll(f, n, t < 0 ? -1 : (int64_t)t * 1000000, NULL);
}

int ppoll(struct pollfd* f, nfds_t n, const struct timespec* t,
          const sigset_t* m)
{
  if (pl_depth)
    return PL_REAL(ppoll)(f, n, t, m);
  return pl_poll(f, n, t ? t->tv_sec * 1000000000ll + t->tv_nsec : -1, m);
}

static int do_select(int n, fd_set* r, fd_set* w, fd_set* e, int64_t tmo,
                     const sigset_t* m)
{
  struct pollfd small[64], *p = small;
  int fd, k = 0, rc, special = 0, total = 0;

  for (fd = 0; fd < n && fd < FD_SETSIZE; fd++)
    if ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) ||
        (e && FD_ISSET(fd, e))) {
      special |= pl_is_special(fd);
      k++;
    }
  if (!special)
    return -2;
  if (k > 64 && !(p = malloc((size_t)k * sizeof(*p)))) {
    errno = ENOMEM;
    return -1;
  }
  k = 0;
  for (fd = 0; fd < n && fd < FD_SETSIZE; fd++) {
    short ev = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) |
                       (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
                       (e && FD_ISSET(fd, e) ? POLLPRI : 0));
    if (ev) {
      p[k].fd = fd;
      p[k].events = ev;
      p[k].revents = 0;
      k++;
    }
  }
  rc = pl_poll(p, (nfds_t)k, tmo, m);
  if (rc >= 0) {
    if (r)
      FD_ZERO(r);
    if (w)
      FD_ZERO(w);
    if (e)
      FD_ZERO(e);
    for (fd = 0; fd < k; fd++) {
      short re = p[fd].revents;
      if (r && (p[fd].events & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR))) {
        FD_SET(p[fd].fd, r);
        total++;
      }
      if (w && (p[fd].events & POLLOUT) && (re & (POLLOUT | POLLERR))) {
        FD_SET(p[fd].fd, w);
        total++;
      }
      if (e && (p[fd].events & POLLPRI) && (re & POLLPRI)) {
        FD_SET(p[fd].fd, e);
        total++;
      }
    }
    rc = total;
  }
  if (p != small)
    free(p);
  return rc;
}

int select(int n, fd_set* r, fd_set* w, fd_set* e, struct timeval* t)
{
  int rc, saved;
  int64_t tmo, end, left;

  if (pl_depth)
    return PL_REAL(select)(n, r, w, e, t);
  tmo = t ? t->tv_sec * 1000000000ll + t->tv_usec * 1000ll : -1;
  end = pl_now() + tmo;
  rc = do_select(n, r, w, e, tmo, NULL);
  if (rc == -2)
    return PL_REAL(select)(n, r, w, e, t);
  /* Linux's select leaves the time not slept in *t (pselect does not). */
  if (t && tmo >= 0 && (rc >= 0 || errno == EINTR)) {
    saved = errno;
    left = end - pl_now();
    if (left < 0)
      left = 0;
    t->tv_sec = left / 1000000000;
    t->tv_usec = (left % 1000000000) / 1000;
    errno = saved;
  }
  return rc;
}

int pselect(int n, fd_set* r, fd_set* w, fd_set* e, const struct timespec* t,
            const sigset_t* m)
{
  int rc;

  if (pl_depth)
    return PL_REAL(pselect)(n, r, w, e, t, m);
  rc = do_select(n, r, w, e, t ? t->tv_sec * 1000000000ll + t->tv_nsec : -1,
                 m);
  return rc == -2 ? PL_REAL(pselect)(n, r, w, e, t, m) : rc;
}

int epoll_create(int size)
{
  int fd = PL_REAL(epoll_create)(size);

  return pl_depth ? fd : pl_epoll_create(fd);
}

int epoll_create1(int flags)
{
  int fd = PL_REAL(epoll_create1)(flags);

  return pl_depth ? fd : pl_epoll_create(fd);
}

int epoll_ctl(int ep, int op, int fd, struct epoll_event* e)
{
  if (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD)
    pl_tcp_settle(fd, "epoll_ctl");
  if (pl_depth || !pl_obj_of(fd) || !pl_obj_of(ep))
    return PL_REAL(epoll_ctl)(ep, op, fd, e);
  return pl_epoll_ctl(ep, op, fd, e);
}

int epoll_wait(int ep, struct epoll_event* e, int n, int t)
{
  if (pl_depth)
    return PL_REAL(epoll_wait)(ep, e, n, t);
  return pl_epoll_wait(ep, e, n, t, NULL);
}

int epoll_pwait(int ep, struct epoll_event* e, int n, int t,
                const sigset_t* m)
{
  if (pl_depth)
    return PL_REAL(epoll_pwait)(ep, e, n, t, m);
  return pl_epoll_wait(ep, e, n, t, m);
}

int dup(int fd)
{
  int nfd = PL_REAL(dup)(fd);

  if (nfd >= 0 && !pl_depth && pl_obj_of(fd))
    dup_obj(fd, nfd);
  return nfd;
}

/* dup2/dup3 over an fd with an object: that object loses the fd first
 * (its stack socket closes if it was the last), as close would. */
static int do_dup3(int fd, int nfd, int fl, int use3)
{
  int rc;

  if (pl_depth || fd == nfd || (!pl_obj_of(fd) && !pl_obj_of(nfd)))
    return use3 ? PL_REAL(dup3)(fd, nfd, fl) : PL_REAL(dup2)(fd, nfd);
  if (pl_lock() < 0)
    return use3 ? PL_REAL(dup3)(fd, nfd, fl) : PL_REAL(dup2)(fd, nfd);
  /* A connection that a forked child may hold goes to the kernel while
   * nfd still names it (pl_tcp_release cannot, after the dup). */
  if (pl_fds[nfd] && pl_fds[nfd]->kind == PL_TCP && pl_fds[nfd]->refs == 1 &&
      pl_fds[nfd]->shares > 0 && pl_obj_of(fd) != pl_fds[nfd] &&
      !pl_share_hold(nfd, pl_fds[nfd]))
    pl_share_handover(nfd, pl_fds[nfd], "dup2 over it in the parent, a forked "
                      "child may hold it");
  rc = use3 ? PL_REAL(dup3)(fd, nfd, fl) : PL_REAL(dup2)(fd, nfd);
  if (rc >= 0) {
    struct pl_obj* o = pl_obj_of(fd);
    pl_fd_release(nfd);
    if (o)
      pl_fd_set(nfd, o);
  }
  pl_unlock();
  return rc;
}

int dup2(int fd, int nfd)
{
  return do_dup3(fd, nfd, 0, 0);
}

int dup3(int fd, int nfd, int fl)
{
  return do_dup3(fd, nfd, fl, 1);
}

ssize_t sendfile(int o, int i, off_t* off, size_t n)
{
  pl_tcp_settle(o, "sendfile");
  pl_tcp_settle(i, "sendfile");
  if (!tcp_io(o))
    return PL_REAL(sendfile)(o, i, off, n);
  return pl_tcp_sendfile(o, i, off, n);
}

ssize_t sendfile64(int o, int i, off64_t* off, size_t n)
{
  pl_tcp_settle(o, "sendfile");
  pl_tcp_settle(i, "sendfile");
  if (!tcp_io(o))
    return PL_REAL(sendfile64)(o, i, off, n);
  return pl_tcp_sendfile(o, i, (off_t*)off, n);
}

ssize_t splice(int i, loff_t* oi, int o, loff_t* oo, size_t n, unsigned f)
{
  pl_tcp_settle(i, "splice");
  pl_tcp_settle(o, "splice");
  if (!tcp_io(i) && !tcp_io(o))
    return PL_REAL(splice)(i, oi, o, oo, n, f);
  return pl_tcp_splice(i, oi, o, oo, n, f);
}

pid_t fork(void)
{
  /* The atfork handlers of fork_exec.c do the work. */
  return PL_REAL(fork)();
}

/* ---- fortified entries (glibc's _FORTIFY_SOURCE) ------------------------ */

ssize_t __recv_chk(int fd, void* b, size_t n, size_t bl, int f);
ssize_t __recv_chk(int fd, void* b, size_t n, size_t bl, int f)
{
  if (n > bl)
    __chk_fail();
  return recv(fd, b, n, f);
}

ssize_t __recvfrom_chk(int fd, void* b, size_t n, size_t bl, int f,
                       struct sockaddr* a, socklen_t* l);
ssize_t __recvfrom_chk(int fd, void* b, size_t n, size_t bl, int f,
                       struct sockaddr* a, socklen_t* l)
{
  if (n > bl)
    __chk_fail();
  return recvfrom(fd, b, n, f, a, l);
}

ssize_t __read_chk(int fd, void* b, size_t n, size_t bl);
ssize_t __read_chk(int fd, void* b, size_t n, size_t bl)
{
  if (n > bl)
    __chk_fail();
  return read(fd, b, n);
}

int __poll_chk(struct pollfd* f, nfds_t n, int t, size_t fl);
int __poll_chk(struct pollfd* f, nfds_t n, int t, size_t fl)
{
  if (fl / sizeof(*f) < n)
    __chk_fail();
  return poll(f, n, t);
}

int __ppoll_chk(struct pollfd* f, nfds_t n, const struct timespec* t,
                const sigset_t* m, size_t fl);
int __ppoll_chk(struct pollfd* f, nfds_t n, const struct timespec* t,
                const sigset_t* m, size_t fl)
{
  if (fl / sizeof(*f) < n)
    __chk_fail();
  return ppoll(f, n, t, m);
}
