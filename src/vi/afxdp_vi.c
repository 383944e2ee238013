/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afxdp_vi.c: ef_vi over one AF_XDP socket (the default backend).
 *
 * Receive: ef_vi_receive_init() notes the posted buffer (address and id) in
 * a software ring; ef_eventq_poll() takes frames off the socket's RX ring,
 * copies each into the next posted buffer(s) in posting order, checks
 * lengths and checksums (RX_DISCARD), writes the RX prefix when asked, and
 * puts the UMEM chunk straight back on the fill ring.
 *
 * Transmit: ef_vi_transmitv_init() copies the frame into a free UMEM chunk
 * and writes a TX descriptor; ef_vi_transmit_push() publishes them and
 * kicks the kernel (sendto) when it asks for it (need_wakeup); completions
 * are read from the port's completion ring, marked on the owning VI's slot,
 * and reported in posting order as TX events of up to EF_VI_TRANSMIT_BATCH
 * ids (or one TX_WITH_TIMESTAMP event per frame with EF_VI_TX_TIMESTAMPS).
 *
 * Call order on the fast path: eventq_poll -> [rx_poll, tx kick retry,
 * comp_reap, tx_events]; transmit -> transmitv_init -> transmit_push.
 */
#include "vi/afxdp_int.h"
#include "vi/csum.h"
#include "common/log.h"

#include <errno.h>
#include <etherfabric/vi.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

enum { TXS_PENDING = 0, TXS_DONE = 1, TXS_ERROR = 2 };
enum { RX_OK = -1 };

struct rx_post {
  char*    vaddr;
  uint32_t cap;        /* usable bytes of this buffer, prefix included */
};

/* Per-VI counters, in the order of the stats layout (after the kernel's). */
struct afxdp_counters {
  uint64_t rx_frames, rx_bytes, rx_no_desc, rx_discard_trunc;
  uint64_t rx_discard_csum, rx_discard_other;
  uint64_t tx_frames, tx_bytes, tx_error_2big, tx_kicks, tx_kick_errors;
};

struct afxdp_vi {
  struct vi_common       common;      /* must be first */
  struct afxdp_vi*       live_next;   /* live_vis list */
  pid_t                  owner_pid;
  struct afxdp_port*     port;
  int                    fd;
  int                    own_fd;      /* fd is not the port's */
  struct afxdp_ring      rx;
  struct afxdp_ring      tx;
  struct afxdp_xdp*      xdp;
  int                    slot;
  int                    queue;
  uint32_t               max_frame;   /* MTU + Ethernet + VLAN header */
  struct rx_post*        rx_post;
  uint32_t*              rx_ids;
  uint32_t*              tx_ids;
  uint8_t*               tx_state;
  uint32_t               tx_mask;
  uint32_t               tx_done_upto;
  uint32_t               tx_evented;
  int                    tx_kick_pending;
  uint32_t               polls_to_drop_check;
  int                    drop_check_due;
  uint64_t               kernel_drops_seen;   /* rx_dropped + rx_ring_full */
  uint64_t               no_desc_pending;     /* drops not yet reported */
  ef_vi_state            state;
  struct afxdp_counters  c;
  uint64_t               kstats_base[6];
  struct afxdp_filter    filters[VI_MAX_FILTERS];
};

static inline struct afxdp_vi* vi_of(const ef_vi* vi)
{
  return (struct afxdp_vi*)vi->vi_priv;
}

/* ---- receive ------------------------------------------------------------ */

static inline uint16_t rd16(const uint8_t* p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* rx_check: RX_OK, or the EF_EVENT_RX_DISCARD_* reason for a bad frame
 * whose error class is in mask (EF_VI_DISCARD_RX_*). */
static int rx_check(const uint8_t* f, uint32_t len, uint64_t mask)
{
  const uint8_t* ip;
  uint32_t l2 = 14, ihl, tot;
  uint16_t et;
  int len_err = (mask & EF_VI_DISCARD_RX_ETH_LEN_ERR) != 0;

  if (len < 14)
    return len_err ? EF_EVENT_RX_DISCARD_OTHER : RX_OK;
  et = rd16(f + 12);
  if (et == 0x8100 || et == 0x88a8) {
    if (len < 18)
      return len_err ? EF_EVENT_RX_DISCARD_OTHER : RX_OK;
    et = rd16(f + 16);
    l2 = 18;
  }
  if (et != 0x0800)
    return RX_OK;
  ip = f + l2;
  if (len - l2 < 20)
    return len_err ? EF_EVENT_RX_DISCARD_OTHER : RX_OK;
  ihl = (uint32_t)(ip[0] & 0xf) * 4;
  tot = rd16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || ihl > len - l2 || tot < ihl ||
      tot > len - l2)
    return len_err ? EF_EVENT_RX_DISCARD_OTHER : RX_OK;
  if ((mask & EF_VI_DISCARD_RX_L3_CSUM_ERR) &&
      vi_csum_fold(vi_csum_acc(0, ip, ihl)) != 0xffff)
    return EF_EVENT_RX_DISCARD_CSUM_BAD;
  /* L4 checksums cover the whole datagram: only unfragmented ones. */
  if ((mask & EF_VI_DISCARD_RX_L4_CSUM_ERR) && !(rd16(ip + 6) & 0x3fff)) {
    const uint8_t* l4 = ip + ihl;
    uint32_t l4len = tot - ihl;
    uint8_t proto = ip[9];
    if ((proto == 17 && l4len >= 8 && (l4[6] | l4[7])) ||
        (proto == 6 && l4len >= 20)) {
      uint64_t acc = vi_csum_pseudo4(ip + 12, proto, (uint16_t)l4len);
      if (vi_csum_fold(vi_csum_acc(acc, l4, l4len)) != 0xffff)
        return EF_EVENT_RX_DISCARD_CSUM_BAD;
    }
  }
  return RX_OK;
}

static inline void fill_rx_event(ef_event* ev, int reason, unsigned q,
                                 uint32_t id, uint32_t len, unsigned flags)
{
  ev->rx_discard.type = reason == RX_OK ? EF_EVENT_TYPE_RX
                                        : EF_EVENT_TYPE_RX_DISCARD;
  ev->rx_discard.q_id = q;
  ev->rx_discard.__reserved = 0;
  ev->rx_discard.rq_id = id;
  ev->rx_discard.len = len;
  ev->rx_discard.flags = flags;
  ev->rx_discard.subtype = reason == RX_OK ? 0 : (unsigned)reason;
}

/* Deliver one frame into posted buffers: returns events written, or 0 if
 * there is no room in evs for it (the frame stays in the ring). */
static int rx_deliver(ef_vi* vi, struct afxdp_vi* v, const uint8_t* frame,
                      uint32_t len, ef_event* evs, int room, int room_total,
                      const struct timespec* ts)
{
  ef_vi_rxq_state* qs = &v->state.rxq;
  uint32_t mask = vi->vi_rxq.mask;
  uint32_t posted = qs->posted - qs->removed;
  uint32_t prefix = vi->rx_prefix_len;
  uint32_t need = 0, rem = len, idx = qs->removed, pos = 0, k;
  int reason, truncated = 0;

  while (rem && need < posted) {
    uint32_t cap = v->rx_post[idx & mask].cap - (need ? 0 : prefix);
    rem -= rem < cap ? rem : cap;
    need++;
    idx++;
  }
  if (rem) {
    if (posted == 0 || need == posted) {
      /* A NIC out of descriptors drops the frame: so do we. */
      evs[0].rx_no_desc_trunc.type = EF_EVENT_TYPE_RX_NO_DESC_TRUNC;
      evs[0].rx_no_desc_trunc.q_id = vi->vi_i;
      v->c.rx_no_desc++;
      return 1;
    }
  }
  if (need > (uint32_t)room) {
    if (need <= (uint32_t)room_total)
      return 0;   /* fits in a later poll's event array */
    /* Could never fit the caller's array: deliver one buffer, truncated. */
    need = 1;
    truncated = 1;
  }
  reason = truncated ? EF_EVENT_RX_DISCARD_TRUNC
                     : rx_check(frame, len, vi->rx_discard_mask);
  rem = len;
  for (k = 0; k < need; k++) {
    struct rx_post* b = &v->rx_post[qs->removed & mask];
    uint32_t off = k ? 0 : prefix;
    uint32_t c = b->cap - off;
    unsigned flags = 0;

    if (c > rem)
      c = rem;
    memcpy(b->vaddr + off, frame + pos, c);
    if (k == 0) {
      flags |= EF_EVENT_FLAG_SOP;
      if (prefix) {
        struct vi_rx_prefix px = { .sec = (uint64_t)ts->tv_sec,
                                   .nsec = (uint32_t)ts->tv_nsec,
                                   .len = (uint16_t)len,
                                   .magic = VI_RX_PREFIX_MAGIC };
        memcpy(b->vaddr, &px, sizeof(px));
      }
    }
    if (k + 1 < need)
      flags |= EF_EVENT_FLAG_CONT;
    if (frame[0] & 1)
      flags |= EF_EVENT_FLAG_MULTICAST;
    fill_rx_event(&evs[k], reason, vi->vi_i,
                  v->rx_ids[qs->removed & mask], c + off, flags);
    pos += c;
    rem -= c;
    qs->removed++;
  }
  if (reason == RX_OK) {
    v->c.rx_frames++;
    v->c.rx_bytes += len;
  } else if (reason == EF_EVENT_RX_DISCARD_CSUM_BAD) {
    v->c.rx_discard_csum++;
  } else if (reason == EF_EVENT_RX_DISCARD_TRUNC) {
    v->c.rx_discard_trunc++;
  } else {
    v->c.rx_discard_other++;
  }
  return (int)need;
}

static int rx_poll(ef_vi* vi, struct afxdp_vi* v, ef_event* evs, int budget)
{
  struct afxdp_port* p = v->port;
  uint32_t avail = afxdp_cons_avail(&v->rx);
  struct timespec ts = { 0, 0 };
  int n = 0, used = 0;

  if (!avail)
    return 0;
  /* A deep backlog is when the kernel may have had to drop: look at its
   * counters on this poll (see report_kernel_drops). */
  if (avail >= AFXDP_RX_RING_SIZE / 2)
    v->drop_check_due = 1;
  if (vi->rx_prefix_len)
    clock_gettime(CLOCK_REALTIME, &ts);
  afxdp_port_lock(p);
  while (avail && n < budget) {
    const struct xdp_desc* d = afxdp_ring_desc(&v->rx, v->rx.cached_cons);
    int got;

    if (d->addr >= p->umem_len || d->len > p->umem_len - d->addr) {
      /* Cannot happen with a sane kernel; never read outside the UMEM. */
      got = 0;
    } else {
      got = rx_deliver(vi, v, (const uint8_t*)p->umem + d->addr, d->len,
                       evs + n, budget - n, budget, &ts);
      if (got == 0)
        break;
    }
    /* Aligned chunks: the chunk starts at the address rounded down. */
    *afxdp_ring_addr(&p->fill, p->fill.cached_prod++) =
      d->addr & ~(uint64_t)(AFXDP_CHUNK_SIZE - 1);
    v->rx.cached_cons++;
    avail--;
    used++;
    n += got;
  }
  if (used) {
    afxdp_cons_release(&v->rx);
    afxdp_prod_submit(&p->fill);
    if (p->need_wakeup && afxdp_ring_needs_wakeup(&p->fill))
      recvfrom(v->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
  }
  afxdp_port_unlock(p);
  return n;
}

/* Frames the kernel dropped before they reached our RX ring (RX ring or
 * fill ring full: the program did not keep up) are reported as
 * RX_NO_DESC_TRUNC events, one per frame, as a NIC reports the frames it
 * had no descriptor for. Reading the counters is a system call, so it is
 * done when the RX backlog was deep and otherwise every 4096 polls. */
static void check_kernel_drops(struct afxdp_vi* v)
{
  struct xdp_statistics ks;
  socklen_t len = sizeof(ks);
  uint64_t total;

  v->drop_check_due = 0;
  v->polls_to_drop_check = 4096;
  if (getsockopt(v->fd, SOL_XDP, XDP_STATISTICS, &ks, &len) < 0)
    return;
  total = ks.rx_dropped + ks.rx_ring_full;
  if (total > v->kernel_drops_seen) {
    v->no_desc_pending += total - v->kernel_drops_seen;
    v->c.rx_no_desc += total - v->kernel_drops_seen;
  }
  v->kernel_drops_seen = total;
}

static int report_kernel_drops(ef_vi* vi, struct afxdp_vi* v, ef_event* evs,
                               int budget)
{
  int n = 0;

  if (v->drop_check_due || v->polls_to_drop_check-- == 0)
    check_kernel_drops(v);
  while (v->no_desc_pending && n < budget) {
    evs[n].rx_no_desc_trunc.type = EF_EVENT_TYPE_RX_NO_DESC_TRUNC;
    evs[n].rx_no_desc_trunc.q_id = vi->vi_i;
    v->no_desc_pending--;
    n++;
  }
  return n;
}

/* ---- transmit ----------------------------------------------------------- */

static void kick_tx(struct afxdp_vi* v)
{
  if (v->port->need_wakeup && !afxdp_ring_needs_wakeup(&v->tx)) {
    v->tx_kick_pending = 0;
    return;
  }
  v->c.tx_kicks++;
  if (sendto(v->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
      errno != EAGAIN && errno != EBUSY && errno != ENOBUFS &&
      errno != ENETDOWN)
    v->c.tx_kick_errors++;
  /* The kernel sends a bounded batch per call: kick again from the poll
   * loop until it has taken every descriptor. */
  v->tx_kick_pending =
    __atomic_load_n(v->tx.consumer, __ATOMIC_ACQUIRE) != v->tx.cached_prod;
}

/* Return completed TX chunks to the free stack and mark their slots. */
static void comp_reap(struct afxdp_port* p)
{
  uint32_t n = afxdp_cons_avail(&p->comp);

  if (!n)
    return;
  while (n--) {
    uint64_t addr = *afxdp_ring_addr(&p->comp, p->comp.cached_cons++);
    uint64_t chunk = addr / AFXDP_CHUNK_SIZE;
    struct afxdp_tx_owner* o;

    if (chunk < AFXDP_RX_CHUNKS ||
        chunk >= AFXDP_RX_CHUNKS + AFXDP_TX_CHUNKS)
      continue;
    o = &p->tx_owner[chunk - AFXDP_RX_CHUNKS];
    if (o->vi) {
      o->vi->tx_state[o->slot & o->vi->tx_mask] = TXS_DONE;
      o->vi = NULL;
    }
    p->tx_free[p->tx_free_n++] = (uint32_t)chunk;
  }
  afxdp_cons_release(&p->comp);
}

/* Report completed slots in posting order, grouping runs of the same
 * outcome into TX / TX_ERROR events of at most EF_VI_TRANSMIT_BATCH. */
static int tx_events(ef_vi* vi, struct afxdp_vi* v, ef_event* evs,
                     int budget)
{
  ef_vi_txq_state* qs = &v->state.txq;
  uint32_t mask = v->tx_mask;
  int n = 0;

  while (v->tx_done_upto != qs->added &&
         v->tx_state[v->tx_done_upto & mask] != TXS_PENDING)
    v->tx_done_upto++;

  while (v->tx_evented != v->tx_done_upto && n < budget) {
    uint8_t st = v->tx_state[v->tx_evented & mask];
    ef_event* ev = &evs[n++];
    uint32_t count = 0;

    if ((vi->vi_flags & EF_VI_TX_TIMESTAMPS) && st == TXS_DONE) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      v->tx_state[v->tx_evented & mask] = TXS_PENDING;
      ev->tx_timestamp.type = EF_EVENT_TYPE_TX_WITH_TIMESTAMP;
      ev->tx_timestamp.q_id = vi->vi_i;
      ev->tx_timestamp.flags = 0;
      ev->tx_timestamp.rq_id = v->tx_ids[v->tx_evented & mask];
      ev->tx_timestamp.ts_sec = (unsigned)ts.tv_sec;
      /* The low two bits of ts_nsec carry the sync flags. */
      ev->tx_timestamp.ts_nsec = ((unsigned)ts.tv_nsec & ~3u) |
        EF_VI_SYNC_FLAG_CLOCK_SET | EF_VI_SYNC_FLAG_CLOCK_IN_SYNC;
      v->tx_evented++;
      qs->previous++;
      qs->removed++;
      continue;
    }
    while (v->tx_evented + count != v->tx_done_upto &&
           count < EF_VI_TRANSMIT_BATCH &&
           v->tx_state[(v->tx_evented + count) & mask] == st) {
      v->tx_state[(v->tx_evented + count) & mask] = TXS_PENDING;
      count++;
    }
    v->tx_evented += count;
    ev->tx_error.type = st == TXS_ERROR ? EF_EVENT_TYPE_TX_ERROR
                                        : EF_EVENT_TYPE_TX;
    ev->tx_error.q_id = vi->vi_i;
    ev->tx_error.flags = 0;
    ev->tx_error.desc_id = v->tx_evented & 0xffff;
    ev->tx_error.subtype = st == TXS_ERROR ? EF_EVENT_TX_ERROR_2BIG : 0;
  }
  return n;
}

static int afxdp_transmitv_init(ef_vi* vi, const ef_iovec* iov, int iovcnt,
                                ef_request_id id)
{
  struct afxdp_vi* v = vi_of(vi);
  struct afxdp_port* p = v->port;
  ef_vi_txq_state* qs = &v->state.txq;
  uint32_t total = 0, chunk, slot;
  struct xdp_desc* d;
  char* dst;
  int i;

  if (qs->added - qs->removed >= vi->vi_txq.mask)
    return -EAGAIN;
  if (iovcnt <= 0 || !iov)
    return -EINVAL;
  for (i = 0; i < iovcnt; i++) {
    if (!vi_pd_translate(v->common.pd, iov[i].iov_base, iov[i].iov_len))
      return -EINVAL;
    total += iov[i].iov_len;
  }
  if (total == 0)
    return -EINVAL;
  slot = qs->added;
  if (total > v->max_frame || total > AFXDP_CHUNK_SIZE) {
    /* Too big for the link: the NIC way is a TX_ERROR event. */
    v->tx_ids[slot & v->tx_mask] = (uint32_t)id;
    v->tx_state[slot & v->tx_mask] = TXS_ERROR;
    v->c.tx_error_2big++;
    qs->added++;
    return 0;
  }
  if (afxdp_prod_free(&v->tx, 1) < 1)
    return -EAGAIN;
  afxdp_port_lock(p);
  if (!p->tx_free_n) {
    afxdp_port_unlock(p);
    return -EAGAIN;
  }
  chunk = p->tx_free[--p->tx_free_n];
  p->tx_owner[chunk - AFXDP_RX_CHUNKS].vi = v;
  p->tx_owner[chunk - AFXDP_RX_CHUNKS].slot = slot;
  afxdp_port_unlock(p);

  dst = p->umem + (size_t)chunk * AFXDP_CHUNK_SIZE;
  for (i = 0; i < iovcnt; i++) {
    memcpy(dst, vi_pd_translate(v->common.pd, iov[i].iov_base,
                                iov[i].iov_len), iov[i].iov_len);
    dst += iov[i].iov_len;
  }
  d = afxdp_ring_desc(&v->tx, v->tx.cached_prod++);
  d->addr = (uint64_t)chunk * AFXDP_CHUNK_SIZE;
  d->len = total;
  d->options = 0;
  v->tx_ids[slot & v->tx_mask] = (uint32_t)id;
  v->tx_state[slot & v->tx_mask] = TXS_PENDING;
  v->c.tx_frames++;
  v->c.tx_bytes += total;
  qs->added++;
  return 0;
}

static void afxdp_transmit_push(ef_vi* vi)
{
  struct afxdp_vi* v = vi_of(vi);

  if (*v->tx.producer == v->tx.cached_prod)
    return;
  afxdp_prod_submit(&v->tx);
  kick_tx(v);
}

static int afxdp_transmitv(ef_vi* vi, const ef_iovec* iov, int iovcnt,
                           ef_request_id id)
{
  int rc = afxdp_transmitv_init(vi, iov, iovcnt, id);
  if (rc == 0)
    afxdp_transmit_push(vi);
  return rc;
}

static int afxdp_transmit(ef_vi* vi, ef_addr base, int len, ef_request_id id)
{
  ef_iovec iov = { .iov_base = base, .iov_len = (unsigned)len };
  if (len <= 0)
    return -EINVAL;
  return afxdp_transmitv(vi, &iov, 1, id);
}

static int afxdp_transmitv_init_extra(ef_vi* vi,
                                      const struct ef_vi_tx_extra* extra,
                                      const ef_remote_iovec* riov, int n,
                                      ef_request_id id)
{
  ef_iovec iov[16];
  int i;

  if (extra && extra->flags)
    return -EOPNOTSUPP;
  if (n <= 0 || n > 16)
    return -EINVAL;
  for (i = 0; i < n; i++) {
    if (riov[i].addrspace != EF_ADDRSPACE_LOCAL || riov[i].flags)
      return -EOPNOTSUPP;
    iov[i].iov_base = riov[i].iov_base;
    iov[i].iov_len = riov[i].iov_len;
  }
  return afxdp_transmitv_init(vi, iov, n, id);
}

static int afxdp_transmit_ctpio_fallback(ef_vi* vi, ef_addr addr, size_t len,
                                         ef_request_id id)
{
  return afxdp_transmit(vi, addr, (int)len, id);
}

static int afxdp_transmitv_ctpio_fallback(ef_vi* vi, const ef_iovec* iov,
                                          int n, ef_request_id id)
{
  return afxdp_transmitv(vi, iov, n, id);
}

/* ---- receive ring --------------------------------------------------- */

static int afxdp_receive_init(ef_vi* vi, ef_addr addr, ef_request_id id)
{
  struct afxdp_vi* v = vi_of(vi);
  ef_vi_rxq_state* qs = &v->state.rxq;
  struct rx_post* b;
  size_t avail;
  char* p;

  if (qs->added - qs->removed >= vi->vi_rxq.mask)
    return -EAGAIN;
  p = vi_pd_translate_avail(v->common.pd, addr, &avail);
  if (!p || avail <= vi->rx_prefix_len)
    return -EINVAL;
  b = &v->rx_post[qs->added & vi->vi_rxq.mask];
  b->vaddr = p;
  b->cap = avail < vi->rx_buffer_len ? (uint32_t)avail : vi->rx_buffer_len;
  if (b->cap <= vi->rx_prefix_len)
    return -EINVAL;
  v->rx_ids[qs->added & vi->vi_rxq.mask] = (uint32_t)id;
  qs->added++;
  return 0;
}

static void afxdp_receive_push(ef_vi* vi)
{
  struct afxdp_vi* v = vi_of(vi);
  /* Buffers are ours to fill once pushed; no kernel call is needed, the
   * UMEM fill ring is kept full independently. */
  v->state.rxq.posted = v->state.rxq.added;
}

/* ---- event queue ---------------------------------------------------- */

static int afxdp_eventq_poll(ef_vi* vi, ef_event* evs, int evs_len)
{
  struct afxdp_vi* v = vi_of(vi);
  int n, rx_budget;

  if (evs_len < 1)
    return 0;
  /* Keep one slot for TX events when the array allows it. */
  rx_budget = evs_len > 1 ? evs_len - 1 : evs_len;
  n = rx_poll(vi, v, evs, rx_budget);
  if (n < rx_budget)
    n += report_kernel_drops(vi, v, evs + n, rx_budget - n);
  if (v->tx_kick_pending)
    kick_tx(v);
  if (v->tx_evented != v->state.txq.added) {
    afxdp_port_lock(v->port);
    comp_reap(v->port);
    afxdp_port_unlock(v->port);
    n += tx_events(vi, v, evs + n, evs_len - n);
  }
  v->state.evq.evq_ptr += (uint32_t)n;
  return n;
}

static void afxdp_eventq_prime(ef_vi* vi)
{
  (void)vi;
}

static void afxdp_timer_v(ef_vi* vi, unsigned val)
{
  (void)vi;
  (void)val;
}

/* ---- hardware-only operations ----------------------------------------- */

static int no_pio(ef_vi* vi, int off, int len, ef_request_id id)
{ (void)vi; (void)off; (void)len; (void)id; return -EOPNOTSUPP; }
static int no_copy_pio(ef_vi* vi, int off, const void* src, int len,
                       ef_request_id id)
{ (void)vi; (void)off; (void)src; (void)len; (void)id; return -EOPNOTSUPP; }
static void no_pio_warm(ef_vi* vi) { (void)vi; }
static void no_copy_pio_warm(ef_vi* vi, int off, const void* src, int len)
{ (void)vi; (void)off; (void)src; (void)len; }
static int no_alt(ef_vi* vi, unsigned alt) { (void)vi; (void)alt; return -EOPNOTSUPP; }
static int no_alt_default(ef_vi* vi) { (void)vi; return -EOPNOTSUPP; }

static void afxdp_fill_ops(ef_vi* vi)
{
  vi->ops.transmit = afxdp_transmit;
  vi->ops.transmitv = afxdp_transmitv;
  vi->ops.transmitv_init = afxdp_transmitv_init;
  vi->ops.transmit_push = afxdp_transmit_push;
  vi->ops.transmit_pio = no_pio;
  vi->ops.transmit_copy_pio = no_copy_pio;
  vi->ops.transmit_pio_warm = no_pio_warm;
  vi->ops.transmit_copy_pio_warm = no_copy_pio_warm;
  vi->ops.transmitv_ctpio = NULL;
  vi->ops.transmitv_ctpio_copy = NULL;
  vi->ops.transmit_alt_select = no_alt;
  vi->ops.transmit_alt_select_default = no_alt_default;
  vi->ops.transmit_alt_stop = no_alt;
  vi->ops.transmit_alt_go = no_alt;
  vi->ops.transmit_alt_discard = no_alt;
  vi->ops.receive_init = afxdp_receive_init;
  vi->ops.receive_push = afxdp_receive_push;
  vi->ops.eventq_poll = afxdp_eventq_poll;
  vi->ops.eventq_prime = afxdp_eventq_prime;
  vi->ops.eventq_timer_prime = afxdp_timer_v;
  vi->ops.eventq_timer_run = afxdp_timer_v;
  vi->ops.eventq_timer_clear = afxdp_eventq_prime;
  vi->ops.eventq_timer_zero = afxdp_eventq_prime;
  vi->ops.transmitv_init_extra = afxdp_transmitv_init_extra;
  vi->ops.transmit_ctpio_fallback = afxdp_transmit_ctpio_fallback;
  vi->ops.transmitv_ctpio_fallback = afxdp_transmitv_ctpio_fallback;
}

/* ---- exit clean-up -------------------------------------------------- */

/* VIs still allocated when the process exits (ef_vi programs often just
 * return from main) give their filters and XDP slot back at exit, so the
 * interface is left as it was found. A process killed by a signal cannot
 * do this; the next VI on the interface reclaims its slot instead. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct afxdp_vi* live_vis;

static void release_live_at_exit(void)
{
  struct afxdp_vi* v;

  pthread_mutex_lock(&live_lock);
  for (v = live_vis; v; v = v->live_next)
    if (v->owner_pid == getpid() && v->xdp) {
      afxdp_xdp_close(v->xdp, v->slot);
      v->xdp = NULL;
    }
  /* The list stays: the VIs are still the program's (and reachable). */
  pthread_mutex_unlock(&live_lock);
}

static void live_add(struct afxdp_vi* v)
{
  static int registered;

  pthread_mutex_lock(&live_lock);
  if (!registered) {
    atexit(release_live_at_exit);
    registered = 1;
  }
  v->owner_pid = getpid();
  v->live_next = live_vis;
  live_vis = v;
  pthread_mutex_unlock(&live_lock);
}

static void live_remove(struct afxdp_vi* v)
{
  struct afxdp_vi** pp;

  pthread_mutex_lock(&live_lock);
  for (pp = &live_vis; *pp; pp = &(*pp)->live_next)
    if (*pp == v) {
      *pp = v->live_next;
      break;
    }
  pthread_mutex_unlock(&live_lock);
}

/* ---- allocation --------------------------------------------------------- */

static unsigned if_mtu(const char* ifname)
{
  struct ifreq ifr;
  unsigned mtu = 1500;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return mtu;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
    mtu = (unsigned)ifr.ifr_mtu;
  close(fd);
  return mtu;
}

/* Set up the RX and TX rings of fd and map them. */
static int map_socket_rings(struct afxdp_vi* v, uint32_t tx_size)
{
  struct xdp_mmap_offsets off;
  socklen_t optlen = sizeof(off);
  uint32_t rx_size = AFXDP_RX_RING_SIZE;
  int rc;

  if (setsockopt(v->fd, SOL_XDP, XDP_RX_RING, &rx_size, sizeof(rx_size)) < 0 ||
      setsockopt(v->fd, SOL_XDP, XDP_TX_RING, &tx_size, sizeof(tx_size)) < 0 ||
      getsockopt(v->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen) < 0)
    return -errno;
  rc = afxdp_ring_map(v->fd, &v->rx, XDP_PGOFF_RX_RING, &off.rx, rx_size,
                      sizeof(struct xdp_desc));
  if (rc < 0)
    return rc;
  return afxdp_ring_map(v->fd, &v->tx, XDP_PGOFF_TX_RING, &off.tx, tx_size,
                        sizeof(struct xdp_desc));
}

static int bind_socket(struct afxdp_vi* v, enum ef_vi_flags flags)
{
  struct afxdp_port* p = v->port;
  struct sockaddr_xdp sxdp;
  int rc, tries;

  memset(&sxdp, 0, sizeof(sxdp));
  sxdp.sxdp_family = AF_XDP;
  sxdp.sxdp_ifindex = (uint32_t)p->ifindex;
  sxdp.sxdp_queue_id = (uint32_t)p->queue;
  if (p->bound) {
    /* Same queue, same UMEM: the kernel shares the first socket's fill
     * and completion rings, and allows no other bind flags. */
    sxdp.sxdp_flags = XDP_SHARED_UMEM;
    sxdp.sxdp_shared_umem_fd = (uint32_t)p->fd;
    if (bind(v->fd, (struct sockaddr*)&sxdp, sizeof(sxdp)) < 0)
      return -errno;
    return 0;
  }
  /* The kernel frees a dead socket's hold on the queue asynchronously
   * (tens of milliseconds after its process exits): retry EBUSY for up
   * to a second before calling the queue taken. */
  for (tries = 0; tries < 100; tries++) {
    sxdp.sxdp_flags = XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP;
    rc = bind(v->fd, (struct sockaddr*)&sxdp, sizeof(sxdp));
    if (rc == 0) {
      p->zerocopy = 1;
    } else if (!(flags & EF_VI_RX_ZEROCOPY) &&
               (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOTSUP)) {
      sxdp.sxdp_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
      rc = bind(v->fd, (struct sockaddr*)&sxdp, sizeof(sxdp));
    }
    if (rc == 0 || errno != EBUSY)
      break;
    usleep(10000);
  }
  if (rc < 0) {
    rc = -errno;
    if (rc == -EOPNOTSUPP && (flags & EF_VI_RX_ZEROCOPY))
      al_err("zero-copy AF_XDP is not supported on ifindex %d", p->ifindex);
    else if (rc == -EBUSY)
      al_err("queue %d of ifindex %d is in use by another AF_XDP socket",
             p->queue, p->ifindex);
    return rc;
  }
  p->need_wakeup = 1;
  p->bound = 1;
  return 0;
}

static int round_ring(int req)
{
  int size = 64;
  if (req < 0)
    req = VI_DEFAULT_RING;
  while (size < req + 1 && size < VI_MAX_RING)
    size <<= 1;
  return size;
}

static void vi_teardown(struct afxdp_vi* v)
{
  afxdp_ring_unmap(&v->rx);
  afxdp_ring_unmap(&v->tx);
  if (v->own_fd && v->fd >= 0)
    close(v->fd);
  free(v->rx_post);
  free(v->rx_ids);
  free(v->tx_ids);
  free(v->tx_state);
  free(v);
}

static int afxdp_vi_alloc(ef_vi* vi, ef_driver_handle dh, struct vi_pd* pd,
                          int queue, int rxq_size, int txq_size,
                          enum ef_vi_flags flags)
{
  struct afxdp_vi* v;
  uint32_t rxn = (uint32_t)round_ring(rxq_size);
  uint32_t txn = (uint32_t)round_ring(txq_size);
  struct epoll_event ee;
  int rc;

  if (flags & (EF_VI_TX_ALT | EF_VI_RX_PACKED_STREAM | EF_VI_TX_CTPIO |
               EF_VI_RX_EVENT_MERGE))
    return -EOPNOTSUPP;
  v = calloc(1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  v->common.ops = &afxdp_ops;
  v->common.pd = pd;
  v->common.dh = dh;
  v->fd = -1;
  v->slot = -1;
  v->queue = queue;
  v->rx_post = calloc(rxn, sizeof(*v->rx_post));
  v->rx_ids = calloc(rxn, sizeof(uint32_t));
  v->tx_ids = calloc(txn, sizeof(uint32_t));
  v->tx_state = calloc(txn, 1);
  if (!v->rx_post || !v->rx_ids || !v->tx_ids || !v->tx_state) {
    free(v->rx_post); free(v->rx_ids); free(v->tx_ids); free(v->tx_state);
    free(v);
    return -ENOMEM;
  }
  v->tx_mask = txn - 1;

  rc = afxdp_port_get(pd->ifindex, queue, &v->port);
  if (rc < 0)
    goto fail_free;
  if (!v->port->bound && !v->port->fd_in_use) {
    v->fd = v->port->fd;
    v->port->fd_in_use = 1;
  } else {
    v->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (v->fd < 0) {
      rc = -errno;
      goto fail_port;
    }
    v->own_fd = 1;
  }
  rc = map_socket_rings(v, txn);
  if (rc < 0)
    goto fail_port;
  rc = afxdp_xdp_open(pd->ifindex, queue, &v->xdp, &v->slot);
  if (rc < 0)
    goto fail_port;
  rc = bind_socket(v, flags);
  if (rc < 0)
    goto fail_xdp;
  rc = afxdp_xdp_set_socket(v->xdp, v->slot, v->fd);
  if (rc < 0)
    goto fail_xdp;

  memset(vi, 0, sizeof(*vi));
  vi->inited = 1;
  vi->vi_resource_id = (unsigned)v->slot;
  vi->vi_i = (unsigned)queue;
  vi->dh = dh;
  vi->vi_flags = flags;
  vi->rx_prefix_len = (flags & EF_VI_RX_TIMESTAMPS) ? VI_RX_PREFIX_LEN : 0;
  vi->rx_buffer_len = VI_DEFAULT_RX_BUF_LEN;
  vi->rx_discard_mask = EF_VI_DISCARD_RX_L4_CSUM_ERR |
                        EF_VI_DISCARD_RX_L3_CSUM_ERR |
                        EF_VI_DISCARD_RX_ETH_FCS_ERR |
                        EF_VI_DISCARD_RX_ETH_LEN_ERR;
  vi->nic_type.arch = EF_VI_ARCH_AF_XDP;
  vi->nic_type.variant = v->port->zerocopy ? 'Z' : 'C';
  vi->vi_rxq.mask = rxn - 1;
  vi->vi_rxq.ids = v->rx_ids;
  vi->vi_txq.mask = txn - 1;
  vi->vi_txq.ids = v->tx_ids;
  vi->ep_state = &v->state;
  vi->vi_priv = v;
  v->max_frame = if_mtu(pd->ifname) + 14 + 4;
  afxdp_fill_ops(vi);

  memset(&ee, 0, sizeof(ee));
  ee.events = EPOLLIN;
  ee.data.fd = v->fd;
  (void)epoll_ctl(dh, EPOLL_CTL_ADD, v->fd, &ee);
  live_add(v);
  al_info("VI on %s queue %d: slot %d, %s mode", pd->ifname, queue, v->slot,
          v->port->zerocopy ? "zero-copy" : "copy");
  return queue;

fail_xdp:
  afxdp_xdp_close(v->xdp, v->slot);
fail_port:
  if (!v->own_fd && v->fd >= 0) {
    v->port->fd_in_use = 0;
    v->fd = -1;
  }
  afxdp_ring_unmap(&v->rx);
  afxdp_ring_unmap(&v->tx);
  if (v->own_fd && v->fd >= 0)
    close(v->fd);
  v->fd = -1;
  v->own_fd = 0;
  afxdp_port_put(v->port);
fail_free:
  vi_teardown(v);
  return rc;
}

static int64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int afxdp_flush(ef_vi* vi)
{
  struct afxdp_vi* v = vi_of(vi);
  int64_t deadline = mono_ns() + 1000000000;

  for (;;) {
    uint32_t i;
    afxdp_port_lock(v->port);
    comp_reap(v->port);
    afxdp_port_unlock(v->port);
    for (i = v->tx_done_upto; i != v->state.txq.added; i++)
      if (v->tx_state[i & v->tx_mask] == TXS_PENDING)
        break;
    if (i == v->state.txq.added)
      break;
    if (mono_ns() > deadline)
      return -ETIMEDOUT;
    kick_tx(v);
    usleep(100);
  }
  v->state.rxq.removed = v->state.rxq.added;
  v->state.rxq.posted = v->state.rxq.added;
  return 0;
}

static int afxdp_vi_free(ef_vi* vi)
{
  struct afxdp_vi* v = vi_of(vi);
  struct afxdp_port* p = v->port;
  uint32_t i;

  (void)afxdp_flush(vi);
  live_remove(v);
  if (v->xdp)
    afxdp_xdp_close(v->xdp, v->slot);
  (void)epoll_ctl(v->common.dh, EPOLL_CTL_DEL, v->fd, NULL);
  afxdp_port_lock(p);
  for (i = 0; i < AFXDP_TX_CHUNKS; i++)
    if (p->tx_owner[i].vi == v)
      p->tx_owner[i].vi = NULL;
  afxdp_port_unlock(p);
  if (!v->own_fd)
    p->fd_in_use = 0;
  afxdp_ring_unmap(&v->rx);
  afxdp_ring_unmap(&v->tx);
  if (v->own_fd)
    close(v->fd);
  v->own_fd = 0;
  afxdp_port_put(p);
  vi_teardown(v);
  vi->vi_priv = NULL;
  vi->inited = 0;
  return 0;
}

/* ---- filters, events, stats ------------------------------------------ */

static int afxdp_filter_add(ef_vi* vi, const ef_filter_spec* fs, int* id)
{
  struct afxdp_vi* v = vi_of(vi);
  int i, rc;

  for (i = 0; i < VI_MAX_FILTERS; i++)
    if (!v->filters[i].used)
      break;
  if (i == VI_MAX_FILTERS)
    return -ENOSPC;
  rc = afxdp_xdp_filter_add(v->xdp, v->slot, v->queue, fs, &v->filters[i]);
  if (rc < 0)
    return rc;
  *id = i;
  return 0;
}

static int afxdp_filter_del(ef_vi* vi, int id)
{
  struct afxdp_vi* v = vi_of(vi);
  if (id < 0 || id >= VI_MAX_FILTERS || !v->filters[id].used)
    return -EINVAL;
  return afxdp_xdp_filter_del(v->xdp, v->slot, &v->filters[id]);
}

static int afxdp_has_event(const ef_vi* vi)
{
  const struct afxdp_vi* v = vi_of(vi);

  if (v->rx.cached_prod != v->rx.cached_cons || afxdp_cons_nonempty(&v->rx))
    return 1;
  if (v->tx_evented != v->state.txq.added &&
      (v->tx_state[v->tx_evented & v->tx_mask] != TXS_PENDING ||
       afxdp_cons_nonempty(&v->port->comp)))
    return 1;
  return 0;
}

static int afxdp_wait_fd(const ef_vi* vi)
{
  return vi_of(vi)->fd;
}

#define STAT(name) { (char*)#name, 0, (int)sizeof(uint64_t) }
static struct {
  ef_vi_stats_layout l;
  ef_vi_stats_field_layout f[6 + 11 + AL_STAT_MAX];
} stats_layout = {
  .l = { .evsl_data_size = (int)((6 + 11 + AL_STAT_MAX) * sizeof(uint64_t)),
         .evsl_fields_num = 6 + 11 + AL_STAT_MAX },
  .f = {
    STAT(xsk_rx_dropped), STAT(xsk_rx_invalid_descs),
    STAT(xsk_tx_invalid_descs), STAT(xsk_rx_ring_full),
    STAT(xsk_rx_fill_ring_empty), STAT(xsk_tx_ring_empty),
    STAT(rx_frames), STAT(rx_bytes), STAT(rx_no_desc_drops),
    STAT(rx_discard_trunc), STAT(rx_discard_csum), STAT(rx_discard_other),
    STAT(tx_frames), STAT(tx_bytes), STAT(tx_error_2big), STAT(tx_kicks),
    STAT(tx_kick_errors),
    STAT(xdp_rx), STAT(xdp_redirected), STAT(xdp_passed),
    STAT(xdp_wrong_queue), STAT(xdp_no_socket), STAT(xdp_blocked),
    STAT(xdp_malformed),
  },
};

static const ef_vi_stats_layout* afxdp_stats_layout(void)
{
  static int inited;
  int i;
  if (!inited) {
    for (i = 0; i < stats_layout.l.evsl_fields_num; i++)
      stats_layout.f[i].evsfl_offset = i * (int)sizeof(uint64_t);
    inited = 1;
  }
  return &stats_layout.l;
}

static int afxdp_stats(ef_vi* vi, uint64_t* vals, int do_reset)
{
  struct afxdp_vi* v = vi_of(vi);
  struct xdp_statistics ks;
  socklen_t len = sizeof(ks);
  uint64_t k[6] = { 0 };
  int i;

  if (getsockopt(v->fd, SOL_XDP, XDP_STATISTICS, &ks, &len) == 0) {
    k[0] = ks.rx_dropped;
    k[1] = ks.rx_invalid_descs;
    k[2] = ks.tx_invalid_descs;
    k[3] = ks.rx_ring_full;
    k[4] = ks.rx_fill_ring_empty_descs;
    k[5] = ks.tx_ring_empty_descs;
  }
  for (i = 0; i < 6; i++)
    vals[i] = k[i] - v->kstats_base[i];
  memcpy(&vals[6], &v->c, sizeof(v->c));
  afxdp_xdp_stats(v->xdp, &vals[6 + 11]);
  if (do_reset) {
    memcpy(v->kstats_base, k, sizeof(k));
    memset(&v->c, 0, sizeof(v->c));
  }
  return 0;
}

const struct vi_ops afxdp_ops = {
  .name = "afxdp",
  .vi_alloc = afxdp_vi_alloc,
  .vi_free = afxdp_vi_free,
  .filter_add = afxdp_filter_add,
  .filter_del = afxdp_filter_del,
  .has_event = afxdp_has_event,
  .wait_fd = afxdp_wait_fd,
  .flush = afxdp_flush,
  .stats_layout = afxdp_stats_layout,
  .stats = afxdp_stats,
};
