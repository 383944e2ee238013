/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_wake: the wake-up protocol of transparent mode (preload/wake.c)
 * between threads, without a network: a thread that looked at its
 * sockets and arms itself for a sleep gets its own wake fd; a poll by
 * another thread that handled events since that look makes it look again
 * instead of sleeping, and one after the arming writes its wake fd (once
 * per arming), which the owner alone drains; a thread's own poll never
 * writes its own fd; a poll without events writes nothing; a thread's
 * wake fd is closed when the thread ends, and a forked child closes the
 * inherited ones (they would share the parent's counters). Each step is
 * done under the library lock as the library does it; nothing depends on
 * timing (a write is complete when the writer's call returns).
 */
#include "preload/pl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_test.h"

__attribute__((constructor(101))) static void set_env(void)
{
  setenv("ANYLOAD_INTERFACE", "alnosuchif0", 1);
  setenv("ANYLOAD_LOG", "0", 1);
}

/* note: this thread polled the stack and handled n events (pl_progress). */
static void note(int n)
{
  CHECK(pl_lock(), ==, 0);
  pl_wake_note(n);
  pl_unlock();
}

/* arm: arm this thread for a sleep until *until; its wake fd or -1. */
static int arm(int64_t now, int64_t* until)
{
  int fd;

  CHECK(pl_lock(), ==, 0);
  fd = pl_sleep_arm(now, until);
  pl_unlock();
  return fd;
}

static int readable(int fd)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };

  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void* other_polls(void* arg)
{
  note((int)(intptr_t)arg);
  return NULL;
}

/* poll_in_other_thread: another thread polls and handles n events. */
static void poll_in_other_thread(int n)
{
  pthread_t t;

  CHECK(pthread_create(&t, NULL, other_polls, (void*)(intptr_t)n), ==, 0);
  CHECK(pthread_join(t, NULL), ==, 0);
}

static void test_arm_and_wake(void)
{
  int64_t until = INT64_MAX;
  int fd, fd2;

  note(0);
  fd = arm(1000, &until);
  CHECK(fd, >=, 0);
  CHECK(until, ==, INT64_MAX);
  CHECK(readable(fd), ==, 0);
  /* A poll without events wakes nobody; one with events wakes the armed
   * thread, once per arming. */
  poll_in_other_thread(0);
  CHECK(readable(fd), ==, 0);
  poll_in_other_thread(3);
  CHECK(readable(fd), ==, 1);
  pl_sleep_disarm(1);
  CHECK(readable(fd), ==, 0);
  poll_in_other_thread(3);
  CHECK(readable(fd), ==, 0);
  /* The same fd at the next sleep. */
  note(0);
  until = INT64_MAX;
  fd2 = arm(1000, &until);
  CHECK(fd2, ==, fd);
  pl_sleep_disarm(0);
}

static void test_poll_since_look(void)
{
  int64_t until = 5000;

  note(0);                    /* the look at the sockets */
  poll_in_other_thread(1);    /* another thread took frames since */
  CHECK(arm(1000, &until), ==, -1);
  CHECK(until, ==, 1000);     /* look again at once */
  /* After a new look the thread may sleep. */
  note(0);
  until = 5000;
  CHECK(arm(1000, &until), >=, 0);
  CHECK(until, ==, 5000);
  pl_sleep_disarm(0);
}

static void test_own_poll_no_write(void)
{
  int64_t until = INT64_MAX;
  int fd;

  note(0);
  fd = arm(0, &until);
  CHECK(fd, >=, 0);
  note(5);   /* e.g. a signal handler's call polled on this thread */
  CHECK(readable(fd), ==, 0);
  pl_sleep_disarm(0);
}

static int thread_fd = -1;

static void* sleeper_thread(void* arg)
{
  int64_t until = INT64_MAX;

  (void)arg;
  note(0);
  thread_fd = arm(0, &until);
  pl_sleep_disarm(0);
  return NULL;
}

static void test_thread_exit_closes(void)
{
  pthread_t t;

  CHECK(pthread_create(&t, NULL, sleeper_thread, NULL), ==, 0);
  CHECK(pthread_join(t, NULL), ==, 0);
  CHECK(thread_fd, >=, 0);
  errno = 0;
  CHECK(fcntl(thread_fd, F_GETFD), ==, -1);
  CHECK(errno, ==, EBADF);
  /* A poll after the thread ended touches nothing of it. */
  poll_in_other_thread(1);
}

static void test_fork_child_closes(void)
{
  int64_t until = INT64_MAX;
  int fd, st;
  pid_t pid;

  note(0);
  fd = arm(0, &until);
  CHECK(fd, >=, 0);
  pl_sleep_disarm(0);
  pid = fork();
  CHECK(pid, >=, 0);
  if (pid == 0) {
    int nfd;
    /* The inherited fd is closed; the child's first sleep makes its
     * own. */
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
      _exit(1);
    note(0);
    until = INT64_MAX;
    nfd = arm(0, &until);
    if (nfd < 0)
      _exit(2);
    pl_sleep_disarm(0);
    _exit(0);
  }
  CHECK(waitpid(pid, &st, 0), ==, pid);
  CHECK(WIFEXITED(st), ==, 1);
  CHECK(WEXITSTATUS(st), ==, 0);
  /* The parent's fd is still its own. */
  CHECK(fcntl(fd, F_GETFD), >=, 0);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_arm_and_wake),
  UNIT_TEST(test_poll_since_look),
  UNIT_TEST(test_own_poll_no_write),
  UNIT_TEST(test_thread_exit_closes),
  UNIT_TEST(test_fork_child_closes),
};

UNIT_TEST_MAIN(tests)
