// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/poll_select.c: poll, ppoll, select and pselect in transparent
 * mode. A set without accelerated fds (UDP sockets with a stack socket,
 * epoll sets with such members) goes straight to the kernel. Otherwise
 * each round polls the stack, computes the stack readiness of the
 * special fds, asks the kernel about every fd with timeout 0 (the special
 * fds are kernel sockets too, so kernel-path traffic is seen), and ORs the
 * two (when the stack has fds ready, the kernel only if this thread last
 * asked it more than 20 us ago, and not at all when every fd is an
 * accelerated TCP connection); while nothing is ready it spins
 * ANYLOAD_SPIN_USEC, then sleeps in
 * the kernel on the same fds plus the stack's wait fd and the thread's
 * wake fd (wake.c), in slices that end at the stack's next deadline. A
 * signal ends the call with EINTR, as the kernel's poll and select do
 * (they never restart). An accelerated TCP
 * connection is left out of the kernel's poll (its unconnected kernel
 * socket reports POLLHUP): its readiness is the stack's alone; a TCP
 * listener's is the stack's and the kernel's (loopback connections).
 */
#include "preload/pl_tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KCHECK_NS 20000

/* When this thread's poll last asked the kernel (see pl_poll). */
static __thread int64_t tl_last_kcheck;

int pl_is_special(int fd)
{
  struct pl_obj* o = pl_obj_of(fd);

  if (!o)
    return 0;
  /* A forked child's socket still in its parent's stack: it goes to the
   * kernel first (tcp_claim.c), whose readiness is then the truth. */
  if (o->kind == PL_TCP && o->tcp == PL_TCP_REMOTE && !pl_depth) {
    pl_tcp_claim(fd, "poll");
    o = pl_obj_of(fd);
    if (!o)
      return 0;
  }
  if (o->kind == PL_TCP)
    return o->sd >= 0 || o->n_backlog > 0;
  if (o->kind == PL_UDP)
    return o->sd >= 0;
  return o->n_items > 0;
}

int pl_poll(struct pollfd* f, nfds_t n, int64_t timeout_ns, const sigset_t* m)
{
  struct pollfd small[66];
  short acc_small[64];
  struct pollfd* tmp = small;
  short* acc = acc_small;
  struct anyload_stack* st;
  int64_t now = pl_now(), deadline, spin_end, last_k = 0, stdl = INT64_MAX;
  nfds_t i;
  int special = 0, ready, rc = 0, wfd = -1, wake, kernel_fds;
  unsigned runs = pl_sig_runs;
  struct timespec ts, *tsp;

  for (i = 0; i < n; i++)
    special |= pl_is_special(f[i].fd);
  if (!special) {
    if (timeout_ns < 0)
      return PL_REAL(ppoll)(f, n, NULL, m);
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    return PL_REAL(ppoll)(f, n, &ts, m);
  }
  if (n > 64) {
    tmp = malloc((n + 2) * sizeof(*tmp));
    acc = malloc(n * sizeof(*acc));
    if (!tmp || !acc) {
      free(tmp);
      free(acc);
      errno = ENOMEM;
      return -1;
    }
  }
  deadline = timeout_ns < 0 ? INT64_MAX : now + timeout_ns;
  spin_end = pl_cfg.spin_usec < 0 ? INT64_MAX
                                  : now + pl_cfg.spin_usec * 1000;
  pl_waiter_enter();
  __atomic_fetch_add(&pl_count.waits, 1, __ATOMIC_RELAXED);
  for (;;) {
    ready = 0;
    kernel_fds = 0;
    if (pl_lock() == 0) {
      st = pl_stack_if_up();
      pl_progress(st);
      for (i = 0; i < n; i++) {
        struct pl_obj* o = f[i].fd >= 0 && f[i].fd < PL_MAX_FDS
                             ? pl_fds[f[i].fd] : NULL;
        kernel_fds |= f[i].fd >= 0 && !pl_tcp_stack_conn(o);
        acc[i] = 0;
        if (o && o->kind == PL_UDP)
          acc[i] = pl_udp_ready(o);
        else if (o && o->kind == PL_TCP)
          acc[i] = pl_tcp_ready(o);
        else if (o && o->kind == PL_EPOLL)
          acc[i] = pl_epoll_ready(o, 0);
        acc[i] &= (short)(f[i].events | POLLERR | POLLHUP);
        ready |= acc[i] != 0;
      }
      wfd = st ? anyload_stack_wait_fd(st) : -1;
      stdl = st ? anyload_stack_next_deadline(st) : INT64_MAX;
      pl_unlock();
    }
    now = pl_now();
    /* A handler ran while spinning: EINTR, as the kernel's poll. */
    if (!ready && pl_sig_interrupted(runs, 0)) {
      errno = EINTR;
      rc = -1;
      break;
    }
    /* Ready in the stack: the kernel is asked at most every KCHECK_NS
     * (what it has comes with a later call; poll is level-triggered),
     * and not at all when every fd is an accelerated connection, whose
     * readiness is the stack's alone: a system call per poll would cost
     * the fast path as much as the stack's work. */
    if (ready && (!kernel_fds || now - tl_last_kcheck < KCHECK_NS)) {
      rc = 0;
      for (i = 0; i < n; i++) {
        f[i].revents = acc[i];
        rc += acc[i] != 0;
      }
      break;
    }
    tsp = &ts;
    ts.tv_sec = 0;
    ts.tv_nsec = 0;
    wake = -1;
    if (!ready && now >= spin_end && now < deadline) {
      int64_t until = deadline < stdl ? deadline : stdl;
      /* Other threads' polls wake this sleep (wake.c). */
      if (wfd >= 0 && pl_lock() == 0) {
        wake = pl_sleep_arm(now, &until);
        pl_unlock();
      }
      if (until == INT64_MAX) {
        tsp = NULL;
      } else if (until > now) {
        ts.tv_sec = (until - now) / 1000000000;
        ts.tv_nsec = (until - now) % 1000000000;
      }
      /* else a stack timer came due since the poll above (under a SYN
       * flood, one of many SYN-ACK timers): look at once; a negative
       * timeout made ppoll fail with EINVAL, and the program's poll or
       * accept with it. */
    } else if (!ready && now - last_k < KCHECK_NS && now < deadline) {
      continue;   /* spinning on the stack; the kernel every 20 us */
    }
    memcpy(tmp, f, n * sizeof(*f));
    for (i = 0; i < n; i++)
      if (pl_tcp_stack_conn(pl_obj_of(f[i].fd)))
        tmp[i].fd = -1;
    tmp[n].fd = wfd;
    tmp[n].events = POLLIN;
    tmp[n].revents = 0;
    tmp[n + 1].fd = wake;
    tmp[n + 1].events = POLLIN;
    tmp[n + 1].revents = 0;
    __atomic_fetch_add(&pl_count.wait_kernel_polls, 1, __ATOMIC_RELAXED);
    if (ready)
      __atomic_fetch_add(&pl_count.wait_ready_kernel_polls, 1,
                         __ATOMIC_RELAXED);
    rc = PL_REAL(ppoll)(tmp, wfd >= 0 ? n + 2 : n, tsp, m);
    last_k = pl_now();
    tl_last_kcheck = last_k;
    if (wake >= 0)
      pl_sleep_disarm(rc > 0 && tmp[n + 1].revents);
    if (rc < 0)
      break;
    rc = 0;
    for (i = 0; i < n; i++) {
      f[i].revents = (short)(tmp[i].revents | acc[i]);
      if ((tmp[i].revents & POLLIN) && pl_is_special(f[i].fd)) {
        struct pl_obj* o = pl_obj_of(f[i].fd);
        if (o && o->kind == PL_UDP)
          __atomic_or_fetch(&o->flags, PL_F_KREADY, __ATOMIC_RELAXED);
      }
      rc += f[i].revents != 0;
    }
    if (rc > 0 || last_k >= deadline)
      break;
  }
  pl_waiter_leave();
  if (tmp != small) {
    free(tmp);
    free(acc);
  }
  return rc;
}
