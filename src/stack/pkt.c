/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/pkt.c: the stack's packet buffers. One page-aligned region,
 * registered with the VI's PD by stack.c, is cut into cfg.n_bufs buffers
 * of st->buf_size bytes; buffer i lives at mem + i * buf_size and its
 * metadata is pkts[i]. Free buffers sit on a stack of indices (the most
 * recently freed is reused first, while it is still in cache). Every
 * buffer's state says where it is, and n_state[] counts each state, so
 * that a leak is a number (anyload_stack_info) rather than a hunt.
 *
 * Layer: stack, lowest module; used by every other file of src/stack/.
 */
#include "stack/stack_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int st__pkt_init(struct anyload_stack* st)
{
  uint32_t i, n = st->cfg.n_bufs;

  st->pkts = calloc(n, sizeof(*st->pkts));
  st->free_stack = calloc(n, sizeof(*st->free_stack));
  if (!st->pkts || !st->free_stack) {
    free(st->pkts);
    free(st->free_stack);
    st->pkts = NULL;
    st->free_stack = NULL;
    return -ENOMEM;
  }
  st->n_pkts = n;
  /* Pushed in reverse, so that buffer 0 is allocated first. */
  for (i = 0; i < n; i++)
    st->free_stack[i] = n - 1 - i;
  st->n_free = n;
  memset(st->n_state, 0, sizeof(st->n_state));
  st->n_state[ST_PKT_FREE] = n;
  return 0;
}

void st__pkt_fini(struct anyload_stack* st)
{
  free(st->pkts);
  free(st->free_stack);
  st->pkts = NULL;
  st->free_stack = NULL;
  st->n_pkts = 0;
  st->n_free = 0;
}

uint32_t st__pkt_alloc(struct anyload_stack* st, enum st_pkt_state state)
{
  struct st_pkt* p;
  uint32_t i;

  if (st->n_free == 0)
    return ST_PKT_NONE;
  i = st->free_stack[--st->n_free];
  p = &st->pkts[i];
  memset(p, 0, sizeof(*p));
  p->next = ST_PKT_NONE;
  p->chain = ST_PKT_NONE;
  p->sock = -1;
  p->state = (uint8_t)state;
  st->n_state[ST_PKT_FREE]--;
  st->n_state[state]++;
  return i;
}

void st__pkt_free(struct anyload_stack* st, uint32_t i)
{
  struct st_pkt* p = &st->pkts[i];

  /* A double free would corrupt the free stack: an internal invariant. */
  if (p->state == ST_PKT_FREE)
    abort();
  st->n_state[p->state]--;
  st->n_state[ST_PKT_FREE]++;
  p->state = ST_PKT_FREE;
  st->free_stack[st->n_free++] = i;
}

void st__pkt_free_chain(struct anyload_stack* st, uint32_t i)
{
  while (i != ST_PKT_NONE) {
    uint32_t nx = st->pkts[i].chain;
    st__pkt_free(st, i);
    i = nx;
  }
}

void st__pkt_set_state(struct anyload_stack* st, uint32_t i,
                       enum st_pkt_state state, int chain)
{
  while (i != ST_PKT_NONE) {
    struct st_pkt* p = &st->pkts[i];
    st->n_state[p->state]--;
    st->n_state[state]++;
    p->state = (uint8_t)state;
    if (!chain)
      break;
    i = p->chain;
  }
}

uint32_t st__pkt_clone_chain(struct anyload_stack* st, uint32_t i,
                             enum st_pkt_state state)
{
  uint32_t head = ST_PKT_NONE, tail = ST_PKT_NONE, n = 0, k;

  for (k = i; k != ST_PKT_NONE; k = st->pkts[k].chain)
    n++;
  if (n > st->n_free)
    return ST_PKT_NONE;
  for (k = i; k != ST_PKT_NONE; k = st->pkts[k].chain) {
    uint32_t c = st__pkt_alloc(st, state);
    const struct st_pkt* src = &st->pkts[k];
    struct st_pkt* dst = &st->pkts[c];

    *dst = *src;
    dst->state = (uint8_t)state;
    dst->next = ST_PKT_NONE;
    dst->chain = ST_PKT_NONE;
    memcpy(st__pkt_data(st, c) + src->off, st__pkt_data(st, k) + src->off,
           src->dlen);
    if (tail == ST_PKT_NONE)
      head = c;
    else
      st->pkts[tail].chain = c;
    tail = c;
  }
  return head;
}

void st__pq_init(struct st_pq* q)
{
  q->head = q->tail = ST_PKT_NONE;
  q->n = 0;
}

void st__pq_push(struct anyload_stack* st, struct st_pq* q, uint32_t i)
{
  st->pkts[i].next = ST_PKT_NONE;
  if (q->tail == ST_PKT_NONE)
    q->head = i;
  else
    st->pkts[q->tail].next = i;
  q->tail = i;
  q->n++;
}

uint32_t st__pq_pop(struct anyload_stack* st, struct st_pq* q)
{
  uint32_t i = q->head;

  if (i == ST_PKT_NONE)
    return i;
  q->head = st->pkts[i].next;
  if (q->head == ST_PKT_NONE)
    q->tail = ST_PKT_NONE;
  st->pkts[i].next = ST_PKT_NONE;
  q->n--;
  return i;
}
