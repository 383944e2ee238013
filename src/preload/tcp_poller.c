// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/tcp_poller.c: keeping TCP alive while the program is away, and
 * at exit.
 *
 * The stack moves only when polled. A program's own calls poll it (every
 * data call, poll/select/epoll, and their sleeps end at the stack's next
 * deadline), but a program may also compute, sleep, or block in a kernel
 * call on other fds for a long time while its accelerated connections
 * have work: ACKs to send (the peer's window closes), retransmissions,
 * queued data that the window now allows, keepalives, FIN_WAIT and
 * TIME_WAIT of closed connections. UDP has none of this (a datagram
 * waits in the ring); TCP stalls, so the first accelerated TCP socket
 * starts one background thread (ANYLOAD_TCP_POLLER=0: none). It sleeps
 * on the stack's wait fd and deadline, and polls the stack under the
 * library lock only when no call of the program polled it for 1 ms and
 * no thread of the program is inside a call that polls the stack and may
 * sleep on its wait fd (pl_waiters): such a thread does the work itself
 * (a poll by the poller would wake it through its wake fd, wake.c, and
 * only contend for the lock). A program that is busy in the library is
 * thus not disturbed (the thread naps instead), one that is away gets
 * its ACKs and retransmissions within about a millisecond. Its sleeps
 * also watch the channels of forked children that share the stack's
 * sockets (tcp_share.c): a child waits for the answer to its request, so
 * a request ends any sleep and is served at once (an eventfd, the kick,
 * tells the thread that a fork added a channel). It blocks
 * every signal (handlers run in the program's threads), and it is not
 * inherited by a forked child (the child starts its own with its own
 * first accelerated TCP socket).
 *
 * Exit: the destructor closes the open accelerated connections (a FIN, as
 * the kernel sends for a process that exits with open sockets) and runs
 * the stack while it has a timer due within 1 s (unacknowledged data or
 * FIN: retransmission), for at most ANYLOAD_TCP_EXIT_LINGER_MS.
 */
#include "preload/pl_tcp.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define IDLE_NS 1000000ll
/* The nap while a thread of the program polls the stack in a call: 10 ms,
 * doubled for each round that finds one there again, up to 80 ms. Each
 * wake-up takes the CPU from that thread, spinning on it when the process
 * is pinned to one CPU: about 100 a second made sockperf --tcp's p99.9
 * some 5 us worse than without the thread (33 against 27-29 us, 3 runs
 * each), 12 a second left it where that is. It starts again at 10 ms
 * once the thread polled the stack itself (the program was away). The
 * price: a program that leaves a long stay in the library for a long
 * computation has its stack polled up to 80 ms later (the peer's
 * retransmission timer is 200 ms at least). */
#define WAITERS_NAP_NS 10000000ll
#define WAITERS_NAP_MAX_NS 80000000ll
#define EXIT_DUE_NS 1000000000ll

static int64_t last_progress;   /* atomic: the program's last poll */
static int poller_running;      /* under the lock */
static int kick_fd = -1;        /* eventfd: the set of channels changed */

void pl_tcp_note_progress(int64_t now)
{
  __atomic_store_n(&last_progress, now, __ATOMIC_RELAXED);
}

int pl_tcp_poller_up(void)
{
  return poller_running && kick_fd >= 0;
}

void pl_tcp_poller_kick(void)
{
  uint64_t one = 1;

  if (kick_fd >= 0 && PL_REAL(write)(kick_fd, &one, sizeof(one)) < 0) {
    /* Full (it cannot be: the poller drains it) or gone: nothing to do. */
  }
}

/* watch: the fds of one round (under the lock): p[0] the kick, p[1] the
 * stack's wait fd (stack: only when the poller polls it this round, or
 * its frames would wake it for the program's work), p[2..] the channels
 * of forked children (tcp_share.c). Their number. The array is static:
 * the thread allocates nothing in its rounds, so that a fork never
 * catches it inside the allocator (glibc's malloc is fork-safe, but the
 * ASan build's allocator, for one, is not). */
#define MAX_WATCH (2 + PL_SHARE_MAX_CHANS)
static struct pollfd watched[MAX_WATCH];

static int watch(struct anyload_stack* st, int stack)
{
  watched[0].fd = kick_fd;
  watched[1].fd = stack ? anyload_stack_wait_fd(st) : -1;
  watched[0].events = watched[1].events = POLLIN;
  watched[0].revents = watched[1].revents = 0;
  return 2 + pl_share_fds(watched + 2, MAX_WATCH - 2);
}

/* serve: after the round's sleep, the channels that have requests or
 * ended (pl_share_serve checks that each is still ours). */
static void serve(struct pollfd* p, int n)
{
  uint64_t v;
  int k, any = 0;

  if (p[0].revents & POLLIN)
    while (PL_REAL(read)(p[0].fd, &v, sizeof(v)) == sizeof(v))
      ;
  for (k = 2; k < n; k++)
    any |= p[k].revents != 0;
  if (!any || pl_lock() < 0)
    return;
  for (k = 2; k < n; k++)
    if (p[k].revents)
      pl_share_serve(p[k].fd);
  pl_unlock();
}

static void* poller(void* arg)
{
  struct anyload_stack* st;
  struct pollfd* p = watched;
  struct timespec ts;
  int64_t now, dl, idle, sleep_ns, nap = WAITERS_NAP_NS;
  int waiters, polled, n;

  /* The thread's start-up (its TLS blocks, which the first access may
   * allocate) ends before pl_tcp_poller_start returns: a fork right after
   * (a daemon after listen) must not catch it inside the allocator. */
  __atomic_store_n(&pl_depth, pl_depth, __ATOMIC_RELAXED);
  __atomic_store_n(&pl_my_waits, pl_my_waits, __ATOMIC_RELAXED);
  __atomic_store_n(&pl_sig_pending, pl_sig_pending, __ATOMIC_RELAXED);
  sem_post((sem_t*)arg);
  for (;;) {
    if (pl_lock() < 0)
      break;
    st = pl_stack_if_up();
    /* Without a stack (it went with its last socket, which a forked
     * child took) the channels of the other children are still served. */
    if ((!st && !pl_share_count()) || !poller_running) {
      poller_running = 0;
      pl_unlock();
      break;
    }
    now = pl_now();
    idle = now - __atomic_load_n(&last_progress, __ATOMIC_RELAXED);
    waiters = st ? __atomic_load_n(&pl_waiters, __ATOMIC_SEQ_CST) : 0;
    polled = st && !waiters && idle >= IDLE_NS;
    if (polled) {
      pl_progress(st);
      nap = WAITERS_NAP_NS;   /* the program was away */
    }
    dl = st ? anyload_stack_next_deadline(st) : INT64_MAX;
    n = watch(st, polled);
    if (polled)
      anyload_stack_prime(st);   /* it sleeps on the wait fd below */
    pl_unlock();
    if (waiters) {
      /* A thread of the program polls the stack and sleeps on it: its
       * job. */
      sleep_ns = nap;
      nap = nap * 2 > WAITERS_NAP_MAX_NS ? WAITERS_NAP_MAX_NS : nap * 2;
    } else if (!polled && st) {
      sleep_ns = IDLE_NS - idle;   /* the program polls: look when it stops */
    } else {
      now = pl_now();
      sleep_ns = dl == INT64_MAX ? 1000000000ll : dl <= now ? 0 : dl - now;
      if (sleep_ns > 1000000000ll)
        sleep_ns = 1000000000ll;
    }
    ts.tv_sec = sleep_ns / 1000000000;
    ts.tv_nsec = sleep_ns % 1000000000;
    /* The children's requests end any sleep: they wait for the answer. */
    if (PL_REAL(ppoll)(p, (nfds_t)n, &ts, NULL) > 0)
      serve(p, n);
  }
  return NULL;
}

void pl_tcp_poller_start(void)
{
  sem_t started;
  pthread_attr_t at;
  pthread_t t;
  sigset_t all, old;

  if (poller_running || !pl_cfg.tcp_poller)
    return;
  if (kick_fd < 0)
    kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  sigfillset(&all);
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&at, 64 * 1024);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  sem_init(&started, 0, 0);
  if (pthread_create(&t, &at, poller, &started) == 0) {
    while (sem_wait(&started) < 0 && errno == EINTR)
      ;
    poller_running = 1;
    pl_log(3, "TCP background poller started");
  } else {
    pl_log(1, "cannot start the TCP background poller: timers run only "
           "inside the program's calls");
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&at);
  sem_destroy(&started);
}

void pl_tcp_poller_child(void)
{
  poller_running = 0;
  /* The parent's poller's: the child's own poller makes its own. */
  if (kick_fd >= 0)
    PL_REAL(close)(kick_fd);
  kick_fd = -1;
}

void pl_tcp_exit_drain(void)
{
  struct anyload_stack* st = pl_stack_if_up();
  int64_t now, end, dl;
  struct pollfd p;
  int fd, open = 0;

  if (!st)
    return;
  poller_running = 0;   /* the thread ends at its next round */
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (o && o->kind == PL_TCP && o->sd >= 0) {
      /* One a forked child may hold goes on in the kernel for it; a
       * listener to follow into its stack waits for it parked. */
      pl_share_park(st, o);
      pl_share_queue_exit(st, fd, o);
      pl_share_handover(fd, o, "exit, a forked child may hold it");
      pl_tcp_close_sd(o);
      open++;
    }
  }
  /* The children's requests fail at once from now on (EPIPE): they look
   * at their kernel sockets, which hold what was handed over above. */
  pl_share_exit();
  now = pl_now();
  end = now + pl_cfg.tcp_exit_linger_ms * 1000000;
  if (open)
    pl_log(3, "exit: %d accelerated TCP sockets closed", open);
  for (;;) {
    pl_progress(st);
    now = pl_now();
    dl = anyload_stack_next_deadline(st);
    if (dl - now > EXIT_DUE_NS || now >= end)
      break;
    p.fd = anyload_stack_wait_fd(st);
    p.events = POLLIN;
    anyload_stack_prime(st);
    dl = dl < end ? dl : end;
    PL_REAL(poll)(&p, 1, dl <= now ? 0 : (int)((dl - now) / 1000000 + 1));
  }
}
