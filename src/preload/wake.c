// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/wake.c: waking the threads that sleep on the stack.
 *
 * Several threads of a program may use accelerated sockets of the one
 * stack. A thread that polls the stack takes every frame that arrived,
 * also those of another thread's socket; the frames that made the
 * stack's wait fd readable are then gone, and a thread that looked at its
 * socket before that poll and sleeps after it would sleep on with its
 * data queued. So every thread that sleeps watches a wake fd of its own
 * (an eventfd made at its first sleep, closed when it exits through a
 * pthread key's destructor), and:
 *   - every poll of the stack that handled events adds 1 to pl_wake_seq
 *     (under the lock), and a thread's pl_progress notes the value it saw
 *     (seen): its look at its sockets, which follows in the same locked
 *     step, saw everything up to there;
 *   - before it sleeps, a thread arms itself (pl_sleep_arm, under the
 *     lock): if pl_wake_seq moved since its last look, another thread's
 *     poll may have made its socket ready, and it does not sleep (a zero
 *     timeout: it looks again); else it is armed, and the next poll that
 *     handles events writes its wake fd and disarms it (one write per
 *     sleep);
 *   - after the sleep it disarms itself and, when its wake fd fired,
 *     drains it: only the owner reads its fd, so no thread can take
 *     another's wake-up.
 * Every poll after the look either precedes the arming (the sequence
 * moved: no sleep) or follows it (a write): no wake-up is lost. A
 * single-threaded program makes no extra system call: its own polls skip
 * itself, and it is never armed while it polls. The thread list is
 * guarded by the library lock; armed is also cleared by its owner
 * without it (an atomic exchange). fork: the child's copies of the wake
 * fds share their counters with the parent's, so the child closes them
 * all (pl_wake_child) and makes its own at its first sleep.
 */
#include "preload/pl_int.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct pl_sleeper {
  int efd;                    /* -1: none yet */
  int armed;                  /* atomic: a poll must write efd */
  uint64_t seen;              /* pl_wake_seq at this thread's last look */
  struct pl_sleeper *prev, *next;
  int listed;
};

int pl_waiters;
__thread int pl_my_waits;

static uint64_t pl_wake_seq;          /* under the lock */
static int pl_n_armed;                /* atomic */
static struct pl_sleeper* sleepers;   /* threads with a wake fd */
static __thread struct pl_sleeper me = { .efd = -1 };
static pthread_key_t exit_key;
static int exit_key_ok;

/* disarm: armed 1 -> 0, by whoever gets there first. 1 if it was armed. */
static int disarm(struct pl_sleeper* s)
{
  if (!__atomic_exchange_n(&s->armed, 0, __ATOMIC_ACQ_REL))
    return 0;
  __atomic_sub_fetch(&pl_n_armed, 1, __ATOMIC_RELAXED);
  return 1;
}

static void unlist(struct pl_sleeper* s)
{
  if (!s->listed)
    return;
  if (s->prev)
    s->prev->next = s->next;
  else
    sleepers = s->next;
  if (s->next)
    s->next->prev = s->prev;
  s->prev = s->next = NULL;
  s->listed = 0;
}

/* thread_exit: the pthread key's destructor, as the thread ends (also by
 * pthread_exit or cancellation, possibly in the middle of a sleep). */
static void thread_exit(void* arg)
{
  struct pl_sleeper* s = arg;

  /* pl_depth is 0 at a thread's end unless it died inside a locked step,
   * which would have left the lock held for ever anyway. */
  if (pl_lock() < 0)
    return;
  disarm(s);
  unlist(s);
  pl_unlock();
  if (s->efd >= 0)
    PL_REAL(close)(s->efd);
  s->efd = -1;
}

void pl_wake_init(void)
{
  exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
}

void pl_wake_note(int n)
{
  struct pl_sleeper* s;
  static const uint64_t one = 1;

  if (n > 0) {
    pl_wake_seq++;
    if (__atomic_load_n(&pl_n_armed, __ATOMIC_ACQUIRE) > 0)
      for (s = sleepers; s; s = s->next)
        if (s != &me && disarm(s) &&
            PL_REAL(write)(s->efd, &one, sizeof(one)) < 0) {
          /* EAGAIN: the counter is full; the thread wakes anyway. */
        }
  }
  me.seen = pl_wake_seq;
}

/* make_fd: this thread's wake fd, made at its first sleep (under the
 * lock). -1 when it cannot be made. */
static int make_fd(void)
{
  if (me.efd >= 0)
    return me.efd;
  if (!exit_key_ok || pthread_setspecific(exit_key, &me) != 0)
    return -1;
  me.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (me.efd < 0)
    return -1;
  me.prev = NULL;
  me.next = sleepers;
  if (sleepers)
    sleepers->prev = &me;
  sleepers = &me;
  me.listed = 1;
  return me.efd;
}

int pl_sleep_arm(int64_t now, int64_t* until)
{
  struct anyload_stack* st;
  int fd;

  if (me.seen != pl_wake_seq) {
    *until = now;   /* another thread's poll since the last look */
    return -1;
  }
  /* Frames must wake this sleep: a busy-polled stack stops the kernel's
   * wake-ups (vi/vi_arm.c) until primed. */
  st = pl_stack_if_up();
  if (st)
    anyload_stack_prime(st);
  fd = make_fd();
  if (fd < 0) {
    /* No wake fd (out of fds): sleep in short slices while other
     * threads wait in the library, so a lost wake-up costs 1 ms. */
    if (__atomic_load_n(&pl_waiters, __ATOMIC_RELAXED) > pl_my_waits &&
        *until > now + 1000000)
      *until = now + 1000000;
    return -1;
  }
  if (!__atomic_exchange_n(&me.armed, 1, __ATOMIC_ACQ_REL))
    __atomic_add_fetch(&pl_n_armed, 1, __ATOMIC_RELAXED);
  return fd;
}

void pl_sleep_disarm(int fired)
{
  uint64_t v;

  disarm(&me);
  if (fired && me.efd >= 0 && PL_REAL(read)(me.efd, &v, sizeof(v)) < 0) {
    /* EAGAIN: nothing left; a wake-up after the sleep is drained at the
     * next one (a spurious round, never a lost wake-up). */
  }
}

void pl_wake_child(void)
{
  struct pl_sleeper* s;

  /* The other threads do not exist here; their entries are copies. */
  for (s = sleepers; s; s = s->next) {
    if (s->efd >= 0)
      PL_REAL(close)(s->efd);
    s->armed = 0;
  }
  sleepers = NULL;
  me.efd = -1;
  me.listed = 0;
  me.prev = me.next = NULL;
  me.armed = 0;
  pl_n_armed = 0;
  pl_waiters = pl_my_waits;
}
