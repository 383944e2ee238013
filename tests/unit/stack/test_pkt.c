/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/pkt.c: the buffer pool on a VI-less stack object.
 * Allocation takes the lowest buffer first and clears the metadata; the
 * per-state counts follow every move and add up to the pool size;
 * chains free and clone whole (bytes and metadata copied, nothing
 * allocated when the pool cannot hold the copy); the FIFO keeps order.
 */
#include "unit_test.h"
#include "stack/stack_int.h"

#include <stdlib.h>

static struct anyload_stack* fx_new(unsigned n)
{
  struct anyload_stack* st = calloc(1, sizeof(*st));

  CHECK_PTR(st, !=, NULL);
  st->cfg.n_bufs = n;
  st->buf_size = 2048;
  st->mem = calloc(n, st->buf_size);
  CHECK(st__pkt_init(st), ==, 0);
  return st;
}

static void fx_free(struct anyload_stack* st)
{
  CHECK(st->n_state[ST_PKT_FREE], ==, st->n_pkts);
  CHECK(st->n_free, ==, st->n_pkts);
  st__pkt_fini(st);
  free(st->mem);
  free(st);
}

static unsigned sum_states(const struct anyload_stack* st)
{
  unsigned k, n = 0;

  for (k = 0; k < ST_PKT_N_STATES; k++)
    n += st->n_state[k];
  return n;
}

static void test_pkt_alloc_free_states(void)
{
  struct anyload_stack* st = fx_new(4);
  uint32_t a, b, c, d;

  a = st__pkt_alloc(st, ST_PKT_RX_RING);
  b = st__pkt_alloc(st, ST_PKT_BUSY);
  CHECK(a, ==, 0);
  CHECK(b, ==, 1);
  CHECK(st->pkts[b].next, ==, ST_PKT_NONE);
  CHECK(st->pkts[b].chain, ==, ST_PKT_NONE);
  CHECK(st->pkts[b].sock, ==, -1);
  CHECK(st->n_state[ST_PKT_RX_RING], ==, 1);
  CHECK(st->n_state[ST_PKT_BUSY], ==, 1);
  CHECK(sum_states(st), ==, 4);
  c = st__pkt_alloc(st, ST_PKT_TX_RING);
  d = st__pkt_alloc(st, ST_PKT_TX_RING);
  CHECK(st__pkt_alloc(st, ST_PKT_BUSY), ==, ST_PKT_NONE);
  st__pkt_set_state(st, a, ST_PKT_SOCK, 0);
  CHECK(st->n_state[ST_PKT_RX_RING], ==, 0);
  CHECK(st->n_state[ST_PKT_SOCK], ==, 1);
  CHECK(sum_states(st), ==, 4);
  st__pkt_free(st, c);
  /* The most recently freed buffer comes back first. */
  CHECK(st__pkt_alloc(st, ST_PKT_BUSY), ==, c);
  st__pkt_free(st, a);
  st__pkt_free(st, b);
  st__pkt_free(st, c);
  st__pkt_free(st, d);
  CHECK(sum_states(st), ==, 4);
  fx_free(st);
}

static void test_pkt_chain_clone(void)
{
  struct anyload_stack* st = fx_new(5);
  uint32_t h = st__pkt_alloc(st, ST_PKT_BUSY);
  uint32_t t = st__pkt_alloc(st, ST_PKT_BUSY);
  uint32_t c, k;

  st->pkts[h].chain = t;
  st->pkts[h].off = 10;
  st->pkts[h].dlen = 5;
  st->pkts[h].total = 8;
  st->pkts[h].sport_be16 = 77;
  memcpy(st__pkt_data(st, h) + 10, "hello", 5);
  st->pkts[t].off = 100;
  st->pkts[t].dlen = 3;
  memcpy(st__pkt_data(st, t) + 100, "abc", 3);
  st__pkt_set_state(st, h, ST_PKT_SOCK, 1);
  CHECK(st->n_state[ST_PKT_SOCK], ==, 2);

  c = st__pkt_clone_chain(st, h, ST_PKT_BUSY);
  CHECK(c, !=, ST_PKT_NONE);
  CHECK(st->pkts[c].total, ==, 8);
  CHECK(st->pkts[c].sport_be16, ==, 77);
  CHECK(st->pkts[c].state, ==, ST_PKT_BUSY);
  CHECK_MEM(st__pkt_data(st, c) + 10, "hello", 5);
  k = st->pkts[c].chain;
  CHECK(k, !=, ST_PKT_NONE);
  CHECK_MEM(st__pkt_data(st, k) + 100, "abc", 3);
  CHECK(st->pkts[k].chain, ==, ST_PKT_NONE);
  CHECK(st->n_free, ==, 1);
  /* No room for another copy: nothing is taken. */
  CHECK(st__pkt_clone_chain(st, h, ST_PKT_BUSY), ==, ST_PKT_NONE);
  CHECK(st->n_free, ==, 1);
  st__pkt_free_chain(st, c);
  st__pkt_free_chain(st, h);
  fx_free(st);
}

static void test_pkt_queue(void)
{
  struct anyload_stack* st = fx_new(3);
  struct st_pq q;
  uint32_t a = st__pkt_alloc(st, ST_PKT_BUSY);
  uint32_t b = st__pkt_alloc(st, ST_PKT_BUSY);
  uint32_t c = st__pkt_alloc(st, ST_PKT_BUSY);

  st__pq_init(&q);
  CHECK(st__pq_pop(st, &q), ==, ST_PKT_NONE);
  st__pq_push(st, &q, b);
  st__pq_push(st, &q, a);
  CHECK(q.n, ==, 2);
  CHECK(st__pq_pop(st, &q), ==, b);
  st__pq_push(st, &q, c);
  CHECK(st__pq_pop(st, &q), ==, a);
  CHECK(st__pq_pop(st, &q), ==, c);
  CHECK(st__pq_pop(st, &q), ==, ST_PKT_NONE);
  CHECK(q.n, ==, 0);
  CHECK(q.tail, ==, ST_PKT_NONE);
  st__pkt_free(st, a);
  st__pkt_free(st, b);
  st__pkt_free(st, c);
  fx_free(st);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_pkt_alloc_free_states),
  UNIT_TEST(test_pkt_chain_clone),
  UNIT_TEST(test_pkt_queue),
};
UNIT_TEST_MAIN(tests)
