/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/latency_hist.c: the latency histograms, of the stack and of each
 * UDP socket: the time from the poll that received a datagram
 * (st__lat_stamp, at st__udp_queue) to the call that read it
 * (anyload_udp_recvmsg_at), in the shared state where anyload_stackdump
 * computes its percentiles (buckets in common/stack_shm.h). TCP reads
 * (anyload_tcp_recv) add to the stack's histogram the wait of the oldest
 * byte they take (see st_tcp.rx_oldest_ns).
 *
 * Layer: stack. The stack is the only writer; stores are relaxed atomics
 * so that a reader never sees a torn counter. A socket's histogram is
 * that of the socket number: it starts again when the number is reused
 * by a new socket (its gen changes).
 */
#include "stack/publish.h"

#include <string.h>

static inline void add(uint64_t* v, uint64_t n)
{
  __atomic_store_n(v, *v + n, __ATOMIC_RELAXED);
}

static void record(struct anyload_shm_hist* h, uint64_t d)
{
  add(&h->buckets[anyload_hist_bucket(d)], 1);
  add(&h->sum_ns, d);
  if (h->count == 0 || d < h->min_ns)
    __atomic_store_n(&h->min_ns, d, __ATOMIC_RELAXED);
  if (d > h->max_ns)
    __atomic_store_n(&h->max_ns, d, __ATOMIC_RELAXED);
  /* Last: a reader that sees count sees the bucket. */
  __atomic_store_n(&h->count, h->count + 1, __ATOMIC_RELEASE);
}

void st__lat_tcp_read(struct anyload_stack* st, int64_t t0, int64_t now)
{
  if (!st->pub || now < 0)
    return;
  if (t0 < 0 || now < t0) {
    add(&st->pub->hist->no_stamp, 1);
    return;
  }
  record(st->pub->hist, (uint64_t)(now - t0));
}

void st__lat_read(struct anyload_stack* st, const struct st_sock* s,
                  uint32_t head, int64_t now)
{
  struct anyload_shm_hist* sh = NULL;
  unsigned sd;
  int64_t t0;

  if (!st->pub || now < 0)
    return;
  sd = (unsigned)st__sock_index(st, s);
  if (sd < st->pub->hdr->n_sock_hist) {
    sh = &st->pub->sock_hist[sd];
    if (sh->gen != s->gen) {
      memset(sh, 0, sizeof(*sh));
      sh->gen = s->gen;
    }
  }
  t0 = st->pub->rx_ns[head];
  if (t0 < 0 || now < t0) {
    add(&st->pub->hist->no_stamp, 1);
    if (sh)
      add(&sh->no_stamp, 1);
    return;
  }
  record(st->pub->hist, (uint64_t)(now - t0));
  if (sh)
    record(sh, (uint64_t)(now - t0));
}
