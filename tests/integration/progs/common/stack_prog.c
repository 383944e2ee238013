/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack_prog.c: the shared part of the scriptable stack programs of the
 * integration tests (see stack_prog.h).
 */
#include "stack_prog.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t stack_prog_stop;

static void on_term(int sig)
{
  (void)sig;
  stack_prog_stop = 1;
}

int64_t stack_prog_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

void stack_prog_die(const char* what, int rc)
{
  fprintf(stderr, "FAIL: %s: %s\n", what, strerror(-rc));
  exit(1);
}

struct anyload_stack* stack_prog_start(struct anyload_stack_config* cfg,
                                       const char* ifname)
{
  struct anyload_stack* st;
  int rc;

  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGTERM, on_term);
  signal(SIGPIPE, SIG_IGN);
  cfg->ifname = ifname;
  cfg->n_bufs = 2048;
  cfg->rxq_size = 1024;
  cfg->txq_size = 256;
  rc = anyload_stack_create(cfg, NULL, &st);
  if (rc < 0)
    stack_prog_die("anyload_stack_create", rc);
  printf("READY pid=%d ifindex=%d mtu=%u\n", (int)getpid(),
         anyload_stack_ifindex(st), anyload_stack_mtu(st));
  return st;
}

void stack_prog_sleep(struct anyload_stack* st, int64_t now, int max_ms)
{
  struct pollfd pfd = { .fd = anyload_stack_wait_fd(st), .events = POLLIN };
  int64_t dl = anyload_stack_next_deadline(st);

  if (dl != INT64_MAX && (dl - now) / 1000000 < max_ms)
    max_ms = (int)((dl - now) / 1000000);
  anyload_stack_prime(st);
  poll(&pfd, 1, max_ms < 0 ? 0 : max_ms);
}

int stack_prog_loop(const char* name, int secs, void (*service)(int max_ms),
                    void (*command)(char* line))
{
  int64_t end = stack_prog_now() + (int64_t)secs * 1000000000ll;
  char line[512];
  size_t used = 0;

  while (!stack_prog_stop) {
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    if (stack_prog_now() > end) {
      fprintf(stderr, "%s: timed out after %d s\n", name, secs);
      return 3;
    }
    service(0);
    if (poll(&pfd, 1, 0) > 0) {
      ssize_t n = read(0, line + used, sizeof(line) - 1 - used);
      char* nl;
      if (n <= 0)
        break;
      used += (size_t)n;
      line[used] = '\0';
      while ((nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        command(line);
        memmove(line, nl + 1, used - (size_t)(nl + 1 - line) + 1);
        used -= (size_t)(nl + 1 - line);
      }
      if (used == sizeof(line) - 1)
        used = 0;
    } else {
      service(2);
    }
  }
  return 0;
}

void stack_prog_stats(struct anyload_stack* st, unsigned cmd_no,
                      unsigned max)
{
  unsigned n = anyload_stack_stat_count(), k;
  uint64_t v[512];

  if (max > 512)
    max = 512;
  anyload_stack_stats(st, v, n < max ? n : max, 0);
  printf("R%u stats", cmd_no);
  for (k = 0; k < n && k < max; k++)
    if (v[k])
      printf(" %s=%llu", anyload_stack_stat_name(k), (unsigned long long)v[k]);
  printf("\n");
}
