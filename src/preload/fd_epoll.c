// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/fd_epoll.c: epoll in transparent mode. Every epoll fd the
 * program creates gets an object that lists its UDP and epoll members
 * (fd, events, data); the kernel's epoll set holds them too (the kernel
 * socket of a UDP fd, the kernel epoll fd of a nested set), so kernel
 * readiness is merged for free. epoll_wait then:
 *   1. polls the stack and reports the members ready in the stack
 *      (anyload_udp_poll; a nested epoll member is ready when one of its
 *      own members is), EPOLLONESHOT disarming the member until MOD;
 *   2. asks the kernel set (timeout 0) and merges its events, an event
 *      whose data equals one already reported being OR-ed into it; when
 *      step 1 found members ready, only if the set ever held a kernel
 *      member and was last asked more than KCHECK_NS ago (a system call
 *      per wait would cost the fast path as much as the stack's work);
 *   3. while nothing is ready: spins ANYLOAD_SPIN_USEC, then sleeps in the
 *      kernel set, to which the stack's wait fd was added (with a marker
 *      data value that is never reported), so that an arriving frame
 *      wakes it, and on the thread's wake fd (wake.c: another thread's
 *      poll took the frames); slices end at the stack's next deadline.
 * One fd may be in several sets, a set may be inside another set (or in
 * poll/select), and MOD works at any time. EPOLLET, as the kernel's: a
 * UDP member is reported once per new arrival (the stack socket's
 * rx_datagrams count moved since the last look), after ADD or MOD if it
 * is ready then, and when POLLOUT comes back; not while datagrams merely
 * stay queued; a TCP member (fd_tcp.c, pl_tcp_edge) once per readiness
 * bit until the program meets EAGAIN on it, and POLLIN again at each new
 * arrival (data, FIN, a connection to accept). Deviations: a nested epoll
 * member is level-triggered; an fd closed while registered is forgotten
 * by every set (the kernel does the same when its last reference goes).
 * An accelerated TCP connection is not in the kernel set at all (its
 * kernel socket, unconnected, would report EPOLLHUP for ever): its
 * readiness is the stack's alone.
 */
#include "preload/pl_tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PL_EP_MARKER 0xa7a7a7a7a7a7a7a7ull
#define KCHECK_NS 20000

int pl_epoll_create(int fd)
{
  struct pl_obj* o;

  if (fd < 0 || fd >= PL_MAX_FDS || pl_lock() < 0)
    return fd;
  o = pl_obj_new(PL_EPOLL);
  if (o)
    pl_fd_set(fd, o);
  pl_unlock();
  return fd;
}

static struct pl_ep_item* find_item(struct pl_obj* eo, int fd)
{
  int k;

  for (k = 0; k < eo->n_items; k++)
    if (eo->items[k].fd == fd)
      return &eo->items[k];
  return NULL;
}

static void remove_item(struct pl_obj* eo, int fd)
{
  struct pl_ep_item* it = find_item(eo, fd);

  if (it)
    *it = eo->items[--eo->n_items];
}

int pl_epoll_ctl(int ep, int op, int fd, struct epoll_event* ev)
{
  struct pl_obj *eo, *o;
  struct pl_ep_item* it;
  int rc, no_kernel;

  if (pl_lock() < 0)
    return PL_REAL(epoll_ctl)(ep, op, fd, ev);
  eo = pl_obj_of(ep);
  o = pl_obj_of(fd);
  it = eo && eo->kind == PL_EPOLL ? find_item(eo, fd) : NULL;
  no_kernel = op == EPOLL_CTL_ADD ? pl_tcp_stack_conn(o)
                                  : it && it->no_kernel;
  if (!no_kernel) {
    rc = PL_REAL(epoll_ctl)(ep, op, fd, ev);
  } else if (!eo || eo->kind != PL_EPOLL || (op != EPOLL_CTL_DEL && !ev)) {
    rc = -1;
    errno = eo ? EFAULT : EINVAL;
  } else if (op == EPOLL_CTL_ADD && it) {
    rc = -1;
    errno = EEXIST;
  } else {
    rc = 0;
  }
  if (rc == 0 && op == EPOLL_CTL_ADD && !no_kernel && eo &&
      eo->kind == PL_EPOLL)
    eo->kernel_members = 1;
  if (rc < 0 || !eo || eo->kind != PL_EPOLL || !o)
    goto out;
  switch (op) {
  case EPOLL_CTL_ADD:
    if (eo->n_items == eo->cap_items) {
      int cap = eo->cap_items ? eo->cap_items * 2 : 8;
      void* p = realloc(eo->items, (size_t)cap * sizeof(*eo->items));
      if (!p) {
        PL_REAL(epoll_ctl)(ep, EPOLL_CTL_DEL, fd, NULL);
        pl_unlock();
        errno = ENOMEM;
        return -1;
      }
      eo->items = p;
      eo->cap_items = cap;
    }
    it = &eo->items[eo->n_items++];
    memset(it, 0, sizeof(*it));
    it->fd = fd;
    it->events = ev->events;
    it->data = ev->data;
    it->et_due = 1;
    it->no_kernel = no_kernel;
    it->et_mask = 0;
    it->et_gen = o->et_gen;
    break;
  case EPOLL_CTL_MOD:
    it = find_item(eo, fd);
    if (it) {
      it->events = ev->events;
      it->data = ev->data;
      it->et_due = 1;
      it->et_mask = 0;   /* MOD re-arms an edge-triggered member */
    }
    break;
  case EPOLL_CTL_DEL:
    remove_item(eo, fd);
    break;
  }
out:
  pl_unlock();
  return rc;
}

void pl_epoll_kernel_detach(int fd)
{
  int k;

  for (k = 0; k < PL_MAX_FDS; k++) {
    struct pl_obj* eo = pl_fds[k];
    struct pl_ep_item* it;
    if (!eo || eo->kind != PL_EPOLL || !eo->n_items)
      continue;
    it = find_item(eo, fd);
    if (it && !it->no_kernel) {
      PL_REAL(epoll_ctl)(k, EPOLL_CTL_DEL, fd, NULL);
      it->no_kernel = 1;
    }
  }
}

void pl_epoll_kernel_attach(int fd)
{
  int k;

  for (k = 0; k < PL_MAX_FDS; k++) {
    struct pl_obj* eo = pl_fds[k];
    struct pl_ep_item* it;
    struct epoll_event ev;
    if (!eo || eo->kind != PL_EPOLL || !eo->n_items)
      continue;
    it = find_item(eo, fd);
    if (!it || !it->no_kernel)
      continue;
    ev.events = it->events;
    ev.data = it->data;
    if (PL_REAL(epoll_ctl)(k, EPOLL_CTL_ADD, fd, &ev) == 0 ||
        errno == EEXIST) {
      it->no_kernel = 0;
      eo->kernel_members = 1;
    }
  }
}

void pl_epoll_forget_fd(int fd)
{
  int k;

  /* Sets are few; each one is checked for fd. */
  for (k = 0; k < PL_MAX_FDS; k++) {
    struct pl_obj* eo = pl_fds[k];
    if (eo && eo->kind == PL_EPOLL && eo->n_items)
      remove_item(eo, fd);
  }
}

static short item_ready(struct pl_ep_item* it, int depth)
{
  struct pl_obj* o = pl_fds[it->fd];

  if (!o)
    return 0;
  if (o->kind == PL_UDP)
    return pl_udp_ready(o);
  if (o->kind == PL_TCP)
    return pl_tcp_ready(o);
  return pl_epoll_ready(o, depth + 1);
}

/* et_edge: an EPOLLET member has an edge due (r: its readiness now);
 * consume: the edge is used up (a report, or a look that found the
 * member not ready: the kernel drops the event then too). */
static int et_edge(struct pl_ep_item* it, short r, int consume)
{
  struct pl_obj* o = pl_fds[it->fd];
  uint64_t a = o && o->kind == PL_UDP ? pl_udp_arrivals(o) : 0;
  int out = !!(r & POLLOUT);
  int edge = it->et_due || a != it->et_arrivals || (out && !it->et_out) ||
             (o && o->kind != PL_UDP);

  if (consume) {
    it->et_due = 0;
    it->et_arrivals = a;
    it->et_out = out;
  }
  return edge;
}

short pl_epoll_ready(struct pl_obj* eo, int depth)
{
  int k;

  if (depth > 4)
    return 0;
  for (k = 0; k < eo->n_items; k++) {
    struct pl_ep_item* it = &eo->items[k];
    short r = item_ready(it, depth);
    if ((r & (it->events | EPOLLERR | EPOLLHUP)) &&
        (!(it->events & EPOLLET) || et_edge(it, r, 0)))
      return POLLIN;
  }
  return 0;
}

/* collect: the members ready in the stack (under the lock). */
static int collect(struct pl_obj* eo, struct epoll_event* ev, int max)
{
  int k, n = 0;

  for (k = 0; k < eo->n_items && n < max; k++) {
    struct pl_ep_item* it = &eo->items[k];
    uint32_t r;
    if (!(it->events & ~(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE |
                         EPOLLWAKEUP)))
      continue;
    r = (uint32_t)(uint16_t)item_ready(it, 0);
    if ((it->events & EPOLLET) && !et_edge(it, (short)r, 1))
      continue;
    r &= it->events | EPOLLERR | EPOLLHUP;
    if (it->events & EPOLLET)
      r = pl_tcp_edge(it, r);
    if (!r)
      continue;
    ev[n].events = r;
    ev[n].data = it->data;
    n++;
    if (it->events & EPOLLONESHOT)
      it->events = EPOLLONESHOT;
  }
  return n;
}

/* merge: add the kernel's events k[0..nk-1] after ev[0..n-1]; drop the
 * marker, fold duplicates, note kernel readiness of UDP members. */
static int merge(struct pl_obj* eo, struct epoll_event* ev, int n, int nk)
{
  struct epoll_event* k = ev + n;
  int i, j, out = n;

  for (i = 0; i < nk; i++) {
    struct epoll_event e = k[i];
    int dup = 0;
    if (e.data.u64 == PL_EP_MARKER)
      continue;
    for (j = 0; j < n; j++)
      if (ev[j].data.u64 == e.data.u64) {
        ev[j].events |= e.events;
        dup = 1;
        break;
      }
    if (!dup && (e.events & EPOLLIN)) {
      for (j = 0; j < eo->n_items; j++) {
        struct pl_obj* o = pl_fds[eo->items[j].fd];
        if (eo->items[j].data.u64 == e.data.u64 && o && o->kind == PL_UDP)
          o->flags |= PL_F_KREADY;
      }
    }
    if (!dup)
      ev[out++] = e;
  }
  return out;
}

static int wait_loop(int ep, struct epoll_event* ev, int max, int timeout,
                     const sigset_t* m);

int pl_epoll_wait(int ep, struct epoll_event* ev, int max, int timeout,
                  const sigset_t* m)
{
  struct pl_obj* eo;
  int rc;

  /* A forked child's members still in its parent's stack go to the
   * kernel first (tcp_claim.c): their readiness is the kernel's then. */
  if (__atomic_load_n(&pl_tcp_remotes, __ATOMIC_RELAXED))
    pl_epoll_claim_members(ep);
  eo = pl_obj_of(ep);
  /* A set whose accelerated members all left still holds the stack's
   * wait fd: wait_loop keeps its marker events from the program. */
  if (!eo || eo->kind != PL_EPOLL || (!eo->n_items && !eo->wait_fd_added) ||
      max <= 0)
    return PL_REAL(epoll_pwait)(ep, ev, max, timeout, m);
  pl_waiter_enter();
  rc = wait_loop(ep, ev, max, timeout, m);
  pl_waiter_leave();
  return rc;
}

/* sleep_set: the sleep of wait_loop: until the kernel set ep (which holds
 * the stack's wait fd) has an event, the thread's wake fd fires, or
 * until. The events are then taken with timeout 0. 0, or -1 (errno). */
static int sleep_set(int ep, int64_t until, int64_t now, const sigset_t* m)
{
  struct pollfd p[2];
  struct timespec ts;
  int rc, wake = -1;

  if (pl_lock() == 0) {
    wake = pl_sleep_arm(now, &until);
    pl_unlock();
  }
  p[0].fd = ep;
  p[0].events = POLLIN;
  p[0].revents = 0;
  p[1].fd = wake;
  p[1].events = POLLIN;
  p[1].revents = 0;
  __atomic_fetch_add(&pl_count.wait_kernel_polls, 1, __ATOMIC_RELAXED);
  rc = PL_REAL(ppoll)(p, 2, pl_sleep_ts(until, now, &ts), m);
  if (wake >= 0)
    pl_sleep_disarm(rc > 0 && p[1].revents);
  return rc < 0 ? -1 : 0;
}

static int wait_loop(int ep, struct epoll_event* ev, int max, int timeout,
                     const sigset_t* m)
{
  struct pl_obj* eo;
  struct anyload_stack* st;
  int64_t now = pl_now(), deadline, spin_end, last_k, stdl;
  int n, nk, tmo, kmembers;
  unsigned runs = pl_sig_runs;

  deadline = timeout < 0 ? INT64_MAX : now + (int64_t)timeout * 1000000;
  spin_end = pl_cfg.spin_usec < 0 ? INT64_MAX
                                  : now + pl_cfg.spin_usec * 1000;
  __atomic_fetch_add(&pl_count.waits, 1, __ATOMIC_RELAXED);
  for (;;) {
    if (pl_lock() < 0)
      return PL_REAL(epoll_pwait)(ep, ev, max, timeout, m);
    eo = pl_fds[ep];
    if (!eo || eo->kind != PL_EPOLL) {
      pl_unlock();
      return PL_REAL(epoll_pwait)(ep, ev, max, timeout, m);
    }
    st = pl_stack_if_up();
    if (st && !eo->wait_fd_added) {
      struct epoll_event we = { .events = EPOLLIN,
                                .data.u64 = PL_EP_MARKER };
      PL_REAL(epoll_ctl)(ep, EPOLL_CTL_ADD, anyload_stack_wait_fd(st), &we);
      eo->wait_fd_added = 1;
    }
    pl_progress(st);
    n = collect(eo, ev, max);
    stdl = st ? anyload_stack_next_deadline(st) : INT64_MAX;
    last_k = eo->last_kcheck;
    kmembers = eo->kernel_members;
    pl_unlock();
    now = pl_now();
    /* A handler ran while spinning: EINTR, as the kernel's epoll_wait. */
    if (n == 0 && pl_sig_interrupted(runs, 0)) {
      errno = EINTR;
      return -1;
    }
    /* With members of the stack ready, the kernel set is asked at most
     * every KCHECK_NS (its events come with a later call), and not at all
     * when it holds nothing of the program's: a system call per wait
     * would cost the fast path as much as the stack's whole receive. */
    if (n > 0 && (!kmembers || now - last_k <= KCHECK_NS))
      return n;
    if (n > 0 || now >= spin_end || now >= deadline ||
        (kmembers && now - last_k > KCHECK_NS)) {
      if (n < max) {
        tmo = 0;
        if (n == 0 && now >= spin_end && now < deadline) {
          int64_t until = deadline < stdl ? deadline : stdl;
          /* A stack timer overdue by more than 1 ms gave a negative
           * timeout: epoll_pwait slept without a bound. */
          tmo = until == INT64_MAX ? -1
                : until <= now ? 0
                : (int)((until - now + 999999) / 1000000);
          if (tmo != 0 && st) {
            /* Other threads' polls wake this sleep (wake.c); the set
             * is shared, the wake fd is not. */
            nk = sleep_set(ep, until, now, m);
            if (nk < 0)
              return -1;   /* EINTR: epoll_wait never restarts */
            tmo = 0;
          }
        }
        __atomic_fetch_add(&pl_count.wait_kernel_polls, 1,
                           __ATOMIC_RELAXED);
        if (n > 0)
          __atomic_fetch_add(&pl_count.wait_ready_kernel_polls, 1,
                             __ATOMIC_RELAXED);
        nk = PL_REAL(epoll_pwait)(ep, ev + n, max - n, tmo, m);
        if (nk < 0) {
          if (n > 0)
            return n;
          return -1;   /* EINTR: epoll_wait never restarts */
        }
        if (pl_lock() == 0) {
          eo = pl_fds[ep];
          if (eo && eo->kind == PL_EPOLL) {
            eo->last_kcheck = pl_now();
            n = merge(eo, ev, n, nk);
          }
          pl_unlock();
        } else {
          n += nk;
        }
      }
      if (n > 0)
        return n;
    }
    now = pl_now();
    if (now >= deadline)
      return 0;
  }
}
