/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/timer.c: the stack's timers, on the caller's clock. A timer is
 * embedded in the object it belongs to (a reassembly, a next-hop wait)
 * and armed with an absolute time; armed timers form one list sorted by
 * time, so the next deadline is its head and running the due ones takes
 * them from the front. Insertion walks the list from its tail: its
 * length is bounded by the reassembly and next-hop tables and by the TCP
 * connections (one timer each), not by traffic, and new deadlines are
 * mostly the latest.
 *
 * Layer: stack. anyload_stack_poll calls st__timer_run with its `now`;
 * a fired timer is disarmed before its owner's handler runs, so the
 * handler may arm it again.
 */
#include "stack/stack_int.h"

#include <stdint.h>

void st__timer_init(struct anyload_stack* st)
{
  st->timers.prev = &st->timers;
  st->timers.next = &st->timers;
  st->n_timers = 0;
}

static void unlink_timer(struct anyload_stack* st, struct st_timer* t)
{
  t->prev->next = t->next;
  t->next->prev = t->prev;
  t->prev = t->next = NULL;
  t->armed = 0;
  st->n_timers--;
}

void st__timer_set(struct anyload_stack* st, struct st_timer* t, int64_t when)
{
  struct st_timer* pos;

  if (t->armed)
    unlink_timer(st, t);
  t->when = when;
  /* Walk back from the tail: new timers are mostly the latest. */
  pos = st->timers.prev;
  while (pos != &st->timers && pos->when > when)
    pos = pos->prev;
  t->prev = pos;
  t->next = pos->next;
  pos->next->prev = t;
  pos->next = t;
  t->armed = 1;
  st->n_timers++;
}

void st__timer_cancel(struct anyload_stack* st, struct st_timer* t)
{
  if (t->armed)
    unlink_timer(st, t);
}

void st__timer_run(struct anyload_stack* st, int64_t now)
{
  while (st->timers.next != &st->timers && st->timers.next->when <= now) {
    struct st_timer* t = st->timers.next;

    unlink_timer(st, t);
    switch (t->kind) {
    case ST_TIMER_REASM:
      st__reasm_timeout(st, t);
      break;
    case ST_TIMER_NEIGH:
      st__nwait_timeout(st, t);
      break;
    case ST_TIMER_TCP:
      st__tcp_timeout(st, t);
      break;
    }
  }
}
