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
 * its ACKs and retransmissions within about a millisecond. It blocks
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
#include <signal.h>

#define IDLE_NS 1000000ll
#define WAITERS_NAP_NS 10000000ll
#define EXIT_DUE_NS 1000000000ll

static int64_t last_progress;   /* atomic: the program's last poll */
static int poller_running;      /* under the lock */

void pl_tcp_note_progress(int64_t now)
{
  __atomic_store_n(&last_progress, now, __ATOMIC_RELAXED);
}

static void nap(int64_t ns)
{
  struct timespec ts = { ns / 1000000000, ns % 1000000000 };

  PL_REAL(ppoll)(NULL, 0, &ts, NULL);
}

static void* poller(void* arg)
{
  struct anyload_stack* st;
  struct pollfd p;
  int64_t now, dl, idle;
  int waiters, polled;

  (void)arg;
  for (;;) {
    if (pl_lock() < 0)
      break;
    st = pl_stack_if_up();
    if (!st || !poller_running) {
      poller_running = 0;
      pl_unlock();
      break;
    }
    now = pl_now();
    idle = now - __atomic_load_n(&last_progress, __ATOMIC_RELAXED);
    waiters = __atomic_load_n(&pl_waiters, __ATOMIC_SEQ_CST);
    polled = !waiters && idle >= IDLE_NS;
    if (polled)
      pl_progress(st);
    dl = anyload_stack_next_deadline(st);
    p.fd = anyload_stack_wait_fd(st);
    p.events = POLLIN;
    p.revents = 0;
    if (polled)
      anyload_stack_prime(st);   /* it sleeps on the wait fd below */
    pl_unlock();
    if (waiters) {
      /* A thread of the program polls the stack and sleeps on it: its
       * job. */
      nap(WAITERS_NAP_NS);
      continue;
    }
    if (!polled) {
      nap(IDLE_NS - idle);   /* the program polls: look when it stops */
      continue;
    }
    now = pl_now();
    dl = dl == INT64_MAX ? -1 : dl <= now ? 0 : (dl - now) / 1000000 + 1;
    PL_REAL(poll)(&p, 1, (int)(dl > 1000 || dl < 0 ? 1000 : dl));
  }
  return NULL;
}

void pl_tcp_poller_start(void)
{
  pthread_attr_t at;
  pthread_t t;
  sigset_t all, old;

  if (poller_running || !pl_cfg.tcp_poller)
    return;
  sigfillset(&all);
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&at, 64 * 1024);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  if (pthread_create(&t, &at, poller, NULL) == 0) {
    poller_running = 1;
    pl_log(3, "TCP background poller started");
  } else {
    pl_log(1, "cannot start the TCP background poller: timers run only "
           "inside the program's calls");
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&at);
}

void pl_tcp_poller_child(void)
{
  poller_running = 0;
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
      pl_tcp_close_sd(o);
      open++;
    }
  }
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
