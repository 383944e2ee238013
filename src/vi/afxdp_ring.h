/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afxdp_ring.h: the four AF_XDP rings (fill, completion, RX, TX) as
 * single-producer / single-consumer queues shared with the kernel.
 *
 * Each ring is a power-of-two array plus a producer and a consumer index
 * that only grow (they wrap at 2^32; differences are taken modulo 2^32).
 * We keep cached copies of both indices so that the shared cache lines are
 * read only when the cached view runs out.
 *
 * Memory ordering (the kernel side pairs with these, see the kernel's
 * net/xdp/xsk_queue.h):
 *  - producer: write entries, then store-release the producer index, so the
 *    kernel never sees the index before the entries;
 *  - consumer: load-acquire the producer index before reading entries, and
 *    store-release the consumer index only after the entries were read, so
 *    the kernel never overwrites an entry we are still reading.
 */
#ifndef ANYLOAD_AFXDP_RING_H
#define ANYLOAD_AFXDP_RING_H

#include <linux/if_xdp.h>
#include <stddef.h>
#include <stdint.h>

struct afxdp_ring {
  uint32_t  cached_prod;
  uint32_t  cached_cons;
  uint32_t  mask;
  uint32_t  size;
  uint32_t* producer;
  uint32_t* consumer;
  uint32_t* flags;
  void*     ring;         /* entries: uint64_t or struct xdp_desc */
  void*     map;          /* the mmap()ed area, for munmap */
  size_t    map_len;
};

static inline uint64_t* afxdp_ring_addr(struct afxdp_ring* r, uint32_t idx)
{
  return &((uint64_t*)r->ring)[idx & r->mask];
}

static inline struct xdp_desc* afxdp_ring_desc(struct afxdp_ring* r,
                                               uint32_t idx)
{
  return &((struct xdp_desc*)r->ring)[idx & r->mask];
}

/* afxdp_prod_free: free entries for the producer, refreshing the cached
 * consumer index only when fewer than `want` look free. */
static inline uint32_t afxdp_prod_free(struct afxdp_ring* r, uint32_t want)
{
  uint32_t free_entries = r->size - (r->cached_prod - r->cached_cons);

  if (free_entries >= want)
    return free_entries;
  /* Acquire: entries the kernel consumed may be overwritten only after we
   * have seen its consumer index move past them. */
  r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
  return r->size - (r->cached_prod - r->cached_cons);
}

/* afxdp_prod_submit: publish every entry written up to cached_prod. */
static inline void afxdp_prod_submit(struct afxdp_ring* r)
{
  /* Release: entries are visible before the index that covers them. */
  __atomic_store_n(r->producer, r->cached_prod, __ATOMIC_RELEASE);
}

/* afxdp_cons_avail: entries ready for the consumer, refreshing the cached
 * producer index when the cached view is empty. */
static inline uint32_t afxdp_cons_avail(struct afxdp_ring* r)
{
  uint32_t avail = r->cached_prod - r->cached_cons;

  if (avail)
    return avail;
  /* Acquire: reads of entries must not be hoisted above this load. */
  r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
  return r->cached_prod - r->cached_cons;
}

/* afxdp_cons_peek_nonempty: true if the kernel has produced anything we
 * have not consumed (does not move our view). */
static inline int afxdp_cons_nonempty(const struct afxdp_ring* r)
{
  return __atomic_load_n(r->producer, __ATOMIC_ACQUIRE) != r->cached_cons;
}

/* afxdp_cons_release: hand consumed entries back to the kernel. */
static inline void afxdp_cons_release(struct afxdp_ring* r)
{
  /* Release: our reads of the entries complete before the kernel may
   * reuse them. */
  __atomic_store_n(r->consumer, r->cached_cons, __ATOMIC_RELEASE);
}

static inline int afxdp_ring_needs_wakeup(const struct afxdp_ring* r)
{
  return __atomic_load_n(r->flags, __ATOMIC_RELAXED) & XDP_RING_NEED_WAKEUP;
}

#endif /* ANYLOAD_AFXDP_RING_H */
