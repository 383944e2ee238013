/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/timer.c: timers on a VI-less stack object. The
 * timers are those of reassembly entries, so a fired one runs ip.c's
 * real handler on an empty entry. Checks: the next deadline is the
 * earliest armed time; re-arming moves a timer, cancelling removes it
 * (twice is harmless); timers fire in time order, only when due, once.
 */
#include "unit_test.h"
#include "stack/stack_int.h"

#include <stdlib.h>

static struct anyload_stack* fx_new(void)
{
  struct anyload_stack* st = calloc(1, sizeof(*st));

  CHECK_PTR(st, !=, NULL);
  anyload_stack_config_init(&st->cfg);
  st->cfg.n_bufs = 16;
  st->cfg.reasm_max_datagrams = 4;
  st->cfg.neigh_max_dests = 4;
  st->cfg.neigh_timeout_ns = 1000;
  st->cfg.neigh_retry_ns = 100;
  st->buf_size = 2048;
  st->mem = calloc(16, 2048);
  st__timer_init(st);
  CHECK(st__pkt_init(st), ==, 0);
  CHECK(st__reasm_init(st), ==, 0);
  CHECK(st__nwait_init(st), ==, 0);
  return st;
}

static void fx_free(struct anyload_stack* st)
{
  CHECK(st->n_timers, ==, 0);
  st__reasm_fini(st);
  st__nwait_fini(st);
  st__pkt_fini(st);
  free(st->mem);
  free(st);
}

static void test_timer_order_cancel(void)
{
  struct anyload_stack* st = fx_new();
  struct st_timer* t1 = &st->reasm[0].timer;
  struct st_timer* t2 = &st->reasm[1].timer;
  struct st_timer* t3 = &st->reasm[2].timer;

  CHECK(st__timer_next(st), ==, INT64_MAX);
  st__timer_set(st, t1, 300);
  st__timer_set(st, t2, 100);
  st__timer_set(st, t3, 200);
  CHECK(st->n_timers, ==, 3);
  CHECK(st__timer_next(st), ==, 100);
  CHECK_PTR(st->timers.next, ==, t2);
  CHECK_PTR(st->timers.next->next, ==, t3);
  CHECK_PTR(st->timers.prev, ==, t1);
  st__timer_set(st, t2, 400);          /* re-armed: moves to the end */
  CHECK(st__timer_next(st), ==, 200);
  CHECK_PTR(st->timers.prev, ==, t2);
  CHECK(st->n_timers, ==, 3);
  st__timer_cancel(st, t3);
  st__timer_cancel(st, t3);
  CHECK(t3->armed, ==, 0);
  CHECK(st__timer_next(st), ==, 300);
  st__timer_cancel(st, t1);
  st__timer_cancel(st, t2);
  CHECK(st__timer_next(st), ==, INT64_MAX);
  fx_free(st);
}

static void test_timer_run_due(void)
{
  struct anyload_stack* st = fx_new();
  struct st_reasm* r0 = &st->reasm[0];
  struct st_reasm* r1 = &st->reasm[1];

  /* Two empty reassemblies in progress, as reasm_find leaves them. */
  r0->used = r1->used = 1;
  r0->frags = r1->frags = ST_PKT_NONE;
  st->n_reasm = 2;
  st__timer_set(st, &r0->timer, 50);
  st__timer_set(st, &r1->timer, 60);
  st__timer_run(st, 49);
  CHECK(st->n_reasm, ==, 2);
  st__timer_run(st, 55);
  CHECK(st->n_reasm, ==, 1);
  CHECK(r0->used, ==, 0);
  CHECK(anyload_stack_stat(st, "reasm_drop_timeout"), ==, 1);
  st__timer_run(st, 1000);
  CHECK(st->n_reasm, ==, 0);
  st__timer_run(st, 2000);
  CHECK(anyload_stack_stat(st, "reasm_drop_timeout"), ==, 2);
  CHECK(st__timer_next(st), ==, INT64_MAX);
  fx_free(st);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_timer_order_cancel),
  UNIT_TEST(test_timer_run_due),
};
UNIT_TEST_MAIN(tests)
