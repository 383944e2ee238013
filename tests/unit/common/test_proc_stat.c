/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for common/proc_stat.c: the start time and the running state
 * of a real child process through its life (running, zombie, reaped),
 * with a command name that holds spaces and a ')' as a trap for the
 * field parsing; and pids that name no process.
 */
#include "unit_test.h"
#include "common/proc_stat.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void test_proc_stat_self(void)
{
  uint64_t t = proc_start_time((int)getpid());

  CHECK(t, >, 0);
  CHECK(proc_start_time((int)getpid()), ==, t);
  CHECK(proc_running((int)getpid()), ==, 1);
}

static void test_proc_stat_no_process(void)
{
  CHECK(proc_start_time(-1), ==, 0);
  CHECK(proc_start_time(0), ==, 0);
  CHECK(proc_running(-1), ==, 0);
  CHECK(proc_running(0), ==, 0);
  /* Above the largest pid the kernel hands out (4194304). */
  CHECK(proc_start_time(4194305 + 7), ==, 0);
  CHECK(proc_running(4194305 + 7), ==, 0);
}

static void test_proc_stat_child_life(void)
{
  int ready[2], go[2];
  uint64_t child_start;
  char c = 0;
  pid_t pid;
  int i, status;

  CHECK(pipe(ready), ==, 0);
  CHECK(pipe(go), ==, 0);
  pid = fork();
  CHECK(pid, >=, 0);
  if (pid == 0) {
    /* Only the parent writes to go: if it dies on a failed check, the
     * child reads end of file and exits, and the test ends. */
    close(go[1]);
    close(ready[0]);
    /* The name holds ") Z 1 2" so that a parser that stops at the first
     * ')' reads a zombie and wrong numbers. */
    prctl(PR_SET_NAME, "a) Z 1 2 b", 0, 0, 0);
    if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
      _exit(2);
    _exit(0);
  }
  close(go[0]);
  close(ready[1]);
  CHECK(read(ready[0], &c, 1), ==, 1);
  child_start = proc_start_time((int)pid);
  CHECK(child_start, >=, proc_start_time((int)getpid()));
  CHECK(proc_running((int)pid), ==, 1);

  /* Let it exit, unreaped: a zombie (bounded wait for the exit). */
  CHECK(write(go[1], "g", 1), ==, 1);
  for (i = 0; i < 2000 && proc_running((int)pid); i++) {
    struct timespec ms = { 0, 1000000 };
    nanosleep(&ms, NULL);
  }
  CHECK(proc_running((int)pid), ==, 0);
  /* A zombie still has its start time: only reaping ends the process. */
  CHECK(proc_start_time((int)pid), ==, child_start);

  CHECK(waitpid(pid, &status, 0), ==, pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, ==, 1);
  CHECK(proc_start_time((int)pid), ==, 0);
  CHECK(proc_running((int)pid), ==, 0);
  close(ready[0]);
  close(go[1]);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_proc_stat_self),
  UNIT_TEST(test_proc_stat_no_process),
  UNIT_TEST(test_proc_stat_child_life),
};
UNIT_TEST_MAIN(tests)
