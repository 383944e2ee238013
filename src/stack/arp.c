/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/arp.c: the stack's use of ARP, without speaking it: frames whose
 * next hop's MAC the environment does not know yet wait here while the
 * kernel resolves it (RFC 826 runs in the kernel; anyload and the kernel
 * share one neighbour table, as Onload does with its control plane).
 *
 * Layer: stack. TX order: udp_tx.c (or icmp.c) -> st__tx_frames -> at
 * once st__vi_send (stack.c), or a wait entry per next hop. Each entry
 * holds frames in order, asks env->neigh_resolve once when created and
 * again at every retry, and is re-checked (env->neigh) at each retry
 * (neigh_retry_ns), when anyload_stack_poll sees the environment's
 * generation move, and when a new frame for the same next hop finds the
 * MAC known (so that frames never overtake the ones waiting). The MAC is
 * written into each waiting frame and the frames go out in order.
 *
 * Bounds and failure (RFC 1122 §2.3.2.2 asks a host to keep at least one
 * packet per unresolved destination, and to bound the queue): at most
 * neigh_max_dests next hops, neigh_max_per_dest frames each and
 * neigh_max_total in all; beyond, new frames are dropped (-ENOBUFS to the
 * sender, counted). After neigh_timeout_ns (3 s by default, the kernel's
 * usual resolution time: 3 probes a second apart) or when the
 * environment reports the next hop unreachable, the frames are dropped
 * and counted, and each socket that sent one gets EHOSTUNREACH as its
 * pending error, which its next send or receive returns.
 */
#include "stack/stack_int.h"

#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

int st__nwait_init(struct anyload_stack* st)
{
  unsigned k;

  st->nwait = calloc(st->cfg.neigh_max_dests, sizeof(*st->nwait));
  if (!st->nwait)
    return -ENOMEM;
  for (k = 0; k < st->cfg.neigh_max_dests; k++) {
    st->nwait[k].timer.kind = ST_TIMER_NEIGH;
    st__pq_init(&st->nwait[k].q);
  }
  st->n_nwait = 0;
  st->nwait_frames = 0;
  return 0;
}

/* nwait_free: forget entry w (its queue must be empty). */
static void nwait_free(struct anyload_stack* st, struct st_nwait* w)
{
  st__timer_cancel(st, &w->timer);
  w->used = 0;
  st__pq_init(&w->q);
  st->n_nwait--;
}

/* nwait_fail: drop every frame of w, telling their sockets err. */
static void nwait_fail(struct anyload_stack* st, struct st_nwait* w, int err,
                       int timeout)
{
  uint32_t k;

  while ((k = st__pq_pop(st, &w->q)) != ST_PKT_NONE) {
    const struct st_pkt* p = &st->pkts[k];
    struct st_sock* s = st__sock_get(st, p->sock);
    if (s && s->gen == p->sock_gen) {
      s->err = err;
      ST_SOCK_INC(s, tx_neigh_drop);
    }
    if (timeout)
      ST_INC(st, neigh_drop_timeout);
    else
      ST_INC(st, neigh_drop_failed);
    st->nwait_frames--;
    st__pkt_free(st, k);
  }
  nwait_free(st, w);
}

void st__nwait_fini(struct anyload_stack* st)
{
  unsigned k;
  uint32_t i;

  if (!st->nwait)
    return;
  for (k = 0; k < st->cfg.neigh_max_dests; k++) {
    struct st_nwait* w = &st->nwait[k];
    if (!w->used)
      continue;
    while ((i = st__pq_pop(st, &w->q)) != ST_PKT_NONE)
      st__pkt_free(st, i);
    nwait_free(st, w);
  }
  st->nwait_frames = 0;
  free(st->nwait);
  st->nwait = NULL;
}

/* nwait_flush: send w's frames to mac, in order, while the ring has
 * room. Returns 1 when w is empty (and freed), else 0. */
static int nwait_flush(struct anyload_stack* st, struct st_nwait* w,
                       const uint8_t* mac)
{
  uint32_t k;

  while ((k = w->q.head) != ST_PKT_NONE) {
    memcpy(st__pkt_data(st, k) + ST_ETH_OFF_DST, mac, 6);
    st__pkt_set_state(st, k, ST_PKT_BUSY, 0);
    st->pkts[k].chain = ST_PKT_NONE;
    if (st__vi_send(st, k) < 0) {
      st__pkt_set_state(st, k, ST_PKT_NEIGH, 0);
      return 0;
    }
    st__pq_pop(st, &w->q);
    st->nwait_frames--;
    ST_INC(st, neigh_sent);
  }
  nwait_free(st, w);
  return 1;
}

static void ask_resolve(struct anyload_stack* st, struct st_nwait* w)
{
  if (!st->env.neigh_resolve)
    return;
  ST_INC(st, neigh_resolve_req);
  if (st->env.neigh_resolve(st->env.ctx, w->ifindex, w->nexthop_be32) < 0)
    ST_INC(st, neigh_resolve_err);
}

/* nwait_check: ask the environment about w's next hop and act on the
 * answer; `retry` also re-asks for a resolution. */
static void nwait_check(struct anyload_stack* st, struct st_nwait* w,
                        int64_t now, int retry)
{
  uint8_t mac[6];
  int rc = st->env.neigh ? st->env.neigh(st->env.ctx, w->ifindex,
                                         w->nexthop_be32, mac)
                         : -EHOSTUNREACH;

  w->gen = st__env_generation(st);
  if (rc == 0) {
    if (!nwait_flush(st, w, mac))
      st__timer_set(st, &w->timer, now + st->cfg.neigh_retry_ns);
    return;
  }
  if (rc != -EAGAIN) {
    nwait_fail(st, w, EHOSTUNREACH, 0);
    return;
  }
  if (now >= w->deadline) {
    nwait_fail(st, w, EHOSTUNREACH, 1);
    return;
  }
  if (retry)
    ask_resolve(st, w);
  if (retry || !w->timer.armed) {
    int64_t t = now + st->cfg.neigh_retry_ns;
    st__timer_set(st, &w->timer, t < w->deadline ? t : w->deadline);
  }
}

void st__nwait_timeout(struct anyload_stack* st, struct st_timer* t)
{
  struct st_nwait* w = (struct st_nwait*)((char*)t -
                                          offsetof(struct st_nwait, timer));
  nwait_check(st, w, st->now, 1);
}

void st__nwait_poll(struct anyload_stack* st, int64_t now)
{
  uint64_t gen;
  unsigned k;

  /* Called at every poll: nothing waits, nothing to ask (the generation
   * is a call into the environment). */
  if (!st->n_nwait)
    return;
  gen = st__env_generation(st);
  for (k = 0; k < st->cfg.neigh_max_dests; k++) {
    struct st_nwait* w = &st->nwait[k];
    if (w->used && (!st->env.generation || w->gen != gen))
      nwait_check(st, w, now, 0);
  }
}

static struct st_nwait* nwait_find(struct anyload_stack* st, int ifindex,
                                   uint32_t nexthop_be32)
{
  unsigned k;

  if (!st->n_nwait)
    return NULL;
  for (k = 0; k < st->cfg.neigh_max_dests; k++) {
    struct st_nwait* w = &st->nwait[k];
    if (w->used && w->ifindex == ifindex && w->nexthop_be32 == nexthop_be32)
      return w;
  }
  return NULL;
}

int st__tx_frames(struct anyload_stack* st, uint32_t head, int ifindex,
                  uint32_t nexthop_be32, const uint8_t* mac, int sock,
                  uint32_t sock_gen, int64_t now)
{
  struct st_nwait* w = nwait_find(st, ifindex, nexthop_be32);
  unsigned n = 0, k;
  uint32_t i;

  if (mac && (!w || nwait_flush(st, w, mac))) {
    if (st__vi_send(st, head) < 0) {
      st__pkt_free_chain(st, head);
      return -EAGAIN;
    }
    return 0;
  }

  /* Wait for the MAC, behind the frames already waiting. */
  for (i = head; i != ST_PKT_NONE; i = st->pkts[i].chain)
    n++;
  if (!w) {
    for (k = 0; k < st->cfg.neigh_max_dests && st->nwait[k].used; k++)
      ;
    if (k < st->cfg.neigh_max_dests)
      w = &st->nwait[k];
  }
  if (!w || w->q.n + n > st->cfg.neigh_max_per_dest ||
      st->nwait_frames + n > st->cfg.neigh_max_total) {
    ST_ADD(st, neigh_drop_full, n);
    st__pkt_free_chain(st, head);
    return -ENOBUFS;
  }
  if (!w->used) {
    w->used = 1;
    w->ifindex = ifindex;
    w->nexthop_be32 = nexthop_be32;
    w->deadline = now + st->cfg.neigh_timeout_ns;
    w->gen = st__env_generation(st);
    st__pq_init(&w->q);
    st->n_nwait++;
    ask_resolve(st, w);
    /* The answer comes through env->process: look for it soon. */
    if (st->next_env_process > now + st->cfg.poll_env_ns)
      st->next_env_process = now + st->cfg.poll_env_ns;
    st__timer_set(st, &w->timer, now + st->cfg.neigh_retry_ns < w->deadline
                                 ? now + st->cfg.neigh_retry_ns
                                 : w->deadline);
  }
  for (i = head; i != ST_PKT_NONE;) {
    uint32_t nx = st->pkts[i].chain;
    st->pkts[i].chain = ST_PKT_NONE;
    st->pkts[i].sock = sock;
    st->pkts[i].sock_gen = sock_gen;
    st__pkt_set_state(st, i, ST_PKT_NEIGH, 0);
    st__pq_push(st, &w->q, i);
    i = nx;
  }
  st->nwait_frames += n;
  ST_ADD(st, neigh_queued, n);
  return 0;
}
