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
#include "vi/gso_tx.h"
#include "vi/swq.h"
#include "common/log.h"

#include <errno.h>
#include <etherfabric/vi.h>
#include <linux/if_link.h>
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


struct afxdp_vi {
  struct vi_common       common;      /* must be first */
  struct vi_swq          q;
  struct afxdp_port*     port;
  int                    fd;
  int                    own_fd;      /* fd is not the port's */
  struct afxdp_ring      rx;
  struct afxdp_ring      tx;
  struct afxdp_xdp*      xdp;
  int                    slot;
  int                    queue;
  uint32_t               max_frame;   /* MTU + Ethernet + VLAN header */
  int                    tx_kick_pending;
  uint32_t               drop_check_budget;   /* vi_drop_check_tick */
  int                    drop_check_due;
  uint64_t               kernel_drops_seen;   /* rx_dropped + rx_ring_full */
  uint64_t               no_desc_pending;     /* drops not yet reported */
  uint64_t               kstats_base[6];
  struct vi_gso_tx       gso;         /* ef_vi_transmitv_gso */
  struct vi_fmaps_filter filters[VI_MAX_FILTERS];
};

static inline struct afxdp_vi* vi_of(const ef_vi* vi)
{
  return (struct afxdp_vi*)vi->vi_priv;
}

/* ---- receive ------------------------------------------------------------ */

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
      got = vi_rx_deliver(vi, &v->q, (const uint8_t*)p->umem + d->addr,
                          d->len, evs + n, budget - n, budget, &ts);
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
 * done when the RX backlog was deep and otherwise as vi_drop_check_tick
 * (vi_int.h) paces it. */
static void check_kernel_drops(struct afxdp_vi* v)
{
  struct xdp_statistics ks;
  socklen_t len = sizeof(ks);
  uint64_t total;

  v->drop_check_due = 0;
  v->drop_check_budget = VI_DROP_CHECK_BUDGET;
  if (getsockopt(v->fd, SOL_XDP, XDP_STATISTICS, &ks, &len) < 0)
    return;
  total = ks.rx_dropped + ks.rx_ring_full;
  if (total > v->kernel_drops_seen) {
    v->no_desc_pending += total - v->kernel_drops_seen;
    v->q.c.rx_no_desc += total - v->kernel_drops_seen;
  }
  v->kernel_drops_seen = total;
}

static int report_kernel_drops(ef_vi* vi, struct afxdp_vi* v, ef_event* evs,
                               int budget, bool received)
{
  int n = 0;

  if (v->drop_check_due ||
      vi_drop_check_tick(&v->drop_check_budget, received))
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

/* tx_ring_drained: the kernel took every descriptor of the TX ring. */
static int tx_ring_drained(const struct afxdp_vi* v)
{
  return __atomic_load_n(v->tx.consumer, __ATOMIC_ACQUIRE) ==
         v->tx.cached_prod;
}

static void kick_tx(struct afxdp_vi* v)
{
  if (v->port->need_wakeup && !afxdp_ring_needs_wakeup(&v->tx)) {
    v->tx_kick_pending = 0;
    return;
  }
  v->q.c.tx_kicks++;
  if (sendto(v->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
      errno != EAGAIN && errno != EBUSY && errno != ENOBUFS &&
      errno != ENETDOWN)
    v->q.c.tx_kick_errors++;
  /* The kernel sends a bounded batch per call: kick again from the poll
   * loop until it has taken every descriptor. */
  v->tx_kick_pending = !tx_ring_drained(v);
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
      o->vi->q.tx_state[o->slot & o->vi->q.tx_mask] = VI_TXS_DONE;
      o->vi = NULL;
    }
    p->tx_free[p->tx_free_n++] = (uint32_t)chunk;
  }
  afxdp_cons_release(&p->comp);
}

static int afxdp_transmitv_init(ef_vi* vi, const ef_iovec* iov, int iovcnt,
                                ef_request_id id)
{
  struct afxdp_vi* v = vi_of(vi);
  struct afxdp_port* p = v->port;
  uint32_t chunk;
  struct xdp_desc* d;
  int total;

  total = vi_tx_slot_begin(vi, &v->q, iov, iovcnt);
  if (total < 0)
    return total;
  if ((uint32_t)total > v->max_frame || (uint32_t)total > AFXDP_CHUNK_SIZE) {
    /* Too big for the link: the NIC way is a TX_ERROR event. */
    v->q.c.tx_error_2big++;
    vi_tx_slot_add(&v->q, id, VI_TXS_ERROR);
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
  p->tx_owner[chunk - AFXDP_RX_CHUNKS].slot = v->q.state.txq.added;
  afxdp_port_unlock(p);

  vi_tx_gather(v->common.pd, iov, iovcnt,
               p->umem + (size_t)chunk * AFXDP_CHUNK_SIZE);
  d = afxdp_ring_desc(&v->tx, v->tx.cached_prod++);
  d->addr = (uint64_t)chunk * AFXDP_CHUNK_SIZE;
  d->len = (uint32_t)total;
  d->options = 0;
  v->q.c.tx_frames++;
  v->q.c.tx_bytes += (uint64_t)total;
  vi_tx_slot_add(&v->q, id, VI_TXS_PENDING);
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

/* tx_all_left: every frame posted is completed: out of the device, not
 * only taken from the TX ring (completions are reaped first). */
static int tx_all_left(struct afxdp_vi* v)
{
  afxdp_port_lock(v->port);
  comp_reap(v->port);
  afxdp_port_unlock(v->port);
  return vi_tx_all_done(&v->q);
}

/* Super-frames go through a packet socket (gso_tx.c); the frames posted
 * before must be on the wire first. Taken from the TX ring is enough on a
 * device with one TX queue in copy mode: they wait in that queue ahead of
 * the super-frame. With several TX queues the kernel may give the
 * super-frame another one, and in zero-copy mode the driver takes
 * descriptors long before it sends them: then they must be completed
 * (out of the device; in copy mode a completion comes when the driver
 * frees the frame). A few kicks and reaps (a kick sends a bounded batch),
 * then -EAGAIN: the caller sends the segments through the ring instead. */
static int gso_may_go(struct afxdp_vi* v)
{
  if (!v->port->zerocopy && v->gso.one_txq)
    return tx_ring_drained(v);
  return tx_all_left(v);
}

static int afxdp_transmitv_gso(ef_vi* vi, const struct iovec* iov, int n,
                               unsigned gso_size)
{
  struct afxdp_vi* v = vi_of(vi);
  int tries, rc;

  if ((rc = vi_gso_tx_open(&v->gso)) < 0)
    return rc;
  afxdp_transmit_push(vi);
  for (tries = 0; tries < 4 && !gso_may_go(v); tries++)
    if (!tx_ring_drained(v))
      kick_tx(v);
  if (!gso_may_go(v))
    return -EAGAIN;
  return vi_gso_tx_send(&v->gso, &v->q.c, iov, n, gso_size);
}

static int afxdp_transmit(ef_vi* vi, ef_addr base, int len, ef_request_id id)
{
  ef_iovec iov = { .iov_base = base, .iov_len = (unsigned)len };
  if (len <= 0)
    return -EINVAL;
  return afxdp_transmitv(vi, &iov, 1, id);
}

/* ---- receive ring --------------------------------------------------- */

static int afxdp_receive_init(ef_vi* vi, ef_addr addr, ef_request_id id)
{
  return vi_receive_init(vi, &vi_of(vi)->q, addr, id);
}

/* Buffers are ours to fill once pushed; no kernel call is needed, the UMEM
 * fill ring is kept full independently. */
static void afxdp_receive_push(ef_vi* vi)
{
  vi_receive_push(&vi_of(vi)->q);
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
    n += report_kernel_drops(vi, v, evs + n, rx_budget - n, n > 0);
  if (v->tx_kick_pending)
    kick_tx(v);
  if (v->q.tx_evented != v->q.state.txq.added) {
    afxdp_port_lock(v->port);
    comp_reap(v->port);
    afxdp_port_unlock(v->port);
    n += vi_tx_events(vi, &v->q, evs + n, evs_len - n);
  }
  v->q.state.evq.evq_ptr += (uint32_t)n;
  vi_arm_note_poll(&v->common, n);
  return n;
}

static void afxdp_fill_ops(ef_vi* vi)
{
  vi->ops.transmit = afxdp_transmit;
  vi->ops.transmitv = afxdp_transmitv;
  vi->ops.transmitv_init = afxdp_transmitv_init;
  vi->ops.transmit_push = afxdp_transmit_push;
  vi->ops.transmitv_gso = afxdp_transmitv_gso;
  vi->ops.receive_init = afxdp_receive_init;
  vi->ops.receive_push = afxdp_receive_push;
  vi->ops.eventq_poll = afxdp_eventq_poll;
}

/* ---- allocation --------------------------------------------------------- */


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

static void vi_teardown(struct afxdp_vi* v)
{
  afxdp_ring_unmap(&v->rx);
  afxdp_ring_unmap(&v->tx);
  if (v->own_fd && v->fd >= 0)
    close(v->fd);
  vi_gso_tx_fini(&v->gso);
  vi_swq_free(&v->q);
  free(v);
}

static int afxdp_vi_alloc(ef_vi* vi, ef_driver_handle dh, struct vi_pd* pd,
                          int queue, int rxq_size, int txq_size,
                          enum ef_vi_flags flags)
{
  struct afxdp_vi* v;
  uint32_t rxn = (uint32_t)vi_ring_size(rxq_size);
  uint32_t txn = (uint32_t)vi_ring_size(txq_size);
  int rc;

  if (flags & (EF_VI_TX_ALT | EF_VI_RX_PACKED_STREAM | EF_VI_TX_CTPIO |
               EF_VI_RX_EVENT_MERGE))
    return -EOPNOTSUPP;
  if (queue >= AL_MAX_QUEUES) {
    /* A filter names one owner per queue, for this many queues. */
    al_err("%s: queue %d: the XDP filters serve queues 0..%d only",
           pd->ifname, queue, AL_MAX_QUEUES - 1);
    return -EINVAL;
  }
  v = calloc(1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  v->common.ops = &afxdp_ops;
  v->common.pd = pd;
  v->common.dh = dh;
  v->fd = -1;
  v->slot = -1;
  v->queue = queue;
  vi_gso_tx_init(&v->gso, pd->ifindex);
  memset(vi, 0, sizeof(*vi));
  if (vi_swq_init(&v->q, vi, rxn, txn) < 0) {
    free(v);
    return -ENOMEM;
  }

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

  vi_vi_defaults(vi, dh, (unsigned)queue, flags);
  vi->vi_resource_id = (unsigned)v->slot;
  vi->nic_type.arch = EF_VI_ARCH_AF_XDP;
  vi->nic_type.variant = v->port->zerocopy ? 'Z' : 'C';
  vi->vi_priv = v;
  v->max_frame = vi_if_mtu(pd->ifname) + 14 + 4;
  afxdp_fill_ops(vi);

  vi_arm_init(&v->common, v->fd);
  vi_live_add(&v->common);
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
  memset(vi, 0, sizeof(*vi));
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
    afxdp_port_lock(v->port);
    comp_reap(v->port);
    afxdp_port_unlock(v->port);
    if (vi_tx_all_done(&v->q))
      break;
    if (mono_ns() > deadline)
      return -ETIMEDOUT;
    kick_tx(v);
    usleep(100);
  }
  v->q.state.rxq.removed = v->q.state.rxq.added;
  v->q.state.rxq.posted = v->q.state.rxq.added;
  return 0;
}

static void release_local(ef_vi* vi);

static int afxdp_vi_free(ef_vi* vi)
{
  struct afxdp_vi* v = vi_of(vi);

  (void)afxdp_flush(vi);
  vi_live_remove(&v->common);
  if (v->xdp)
    afxdp_xdp_close(v->xdp, v->slot);
  vi_disarm(&v->common);
  release_local(vi);
  return 0;
}

/* release_local: what v holds in this process alone (its share of the
 * port, its rings and socket, its memory); after its slot is freed or
 * forgotten. */
static void release_local(ef_vi* vi)
{
  struct afxdp_vi* v = vi_of(vi);
  struct afxdp_port* p = v->port;
  uint32_t i;

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
}

/* afxdp_forget: see vi_ops.forget. Nothing here reaches the maps or the
 * driver handle's epoll set (the parent's, shared across fork); closing
 * this process's copy of a socket leaves the parent's binding alone. */
static void afxdp_forget(ef_vi* vi)
{
  struct afxdp_vi* v = vi_of(vi);

  if (v->xdp)
    afxdp_xdp_forget(v->xdp);
  v->xdp = NULL;
  release_local(vi);
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
  /* !v->xdp: released at exit already (as afpacket_filter_del). */
  if (id < 0 || id >= VI_MAX_FILTERS || !v->filters[id].used || !v->xdp)
    return -EINVAL;
  return afxdp_xdp_filter_del(v->xdp, v->slot, &v->filters[id]);
}

static int afxdp_filter_park(ef_vi* vi, int id, unsigned park_ms)
{
  struct afxdp_vi* v = vi_of(vi);

  if (id < 0 || id >= VI_MAX_FILTERS || !v->filters[id].used || !v->xdp)
    return -EINVAL;
  return afxdp_xdp_filter_park(v->xdp, v->slot, &v->filters[id], park_ms);
}

static int afxdp_has_event(const ef_vi* vi)
{
  const struct afxdp_vi* v = vi_of(vi);

  if (v->rx.cached_prod != v->rx.cached_cons || afxdp_cons_nonempty(&v->rx))
    return 1;
  if (v->q.tx_evented != v->q.state.txq.added &&
      (v->q.tx_state[v->q.tx_evented & v->q.tx_mask] != VI_TXS_PENDING ||
       afxdp_cons_nonempty(&v->port->comp)))
    return 1;
  return 0;
}

static int afxdp_wait_fd(const ef_vi* vi)
{
  return vi_of(vi)->fd;
}

/* Kernel AF_XDP counters, the VI's own, then the XDP program's. */
static const char* const stat_names[] = {
  "xsk_rx_dropped", "xsk_rx_invalid_descs", "xsk_tx_invalid_descs",
  "xsk_rx_ring_full", "xsk_rx_fill_ring_empty", "xsk_tx_ring_empty",
  VI_SWQ_COUNTER_NAMES,
  "xdp_rx", "xdp_redirected", "xdp_passed", "xdp_wrong_queue",
  "xdp_no_socket", "xdp_blocked", "xdp_malformed", "xdp_frag_followed",
  "xdp_parked",
};
#define N_STATS ((int)(sizeof(stat_names) / sizeof(stat_names[0])))
_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) ==
               6 + VI_SWQ_N_COUNTERS + AL_STAT_MAX,
               "stats names out of step with the counters");

static const ef_vi_stats_layout* afxdp_stats_layout(void)
{
  static uint64_t storage[(VI_STATS_LAYOUT_SIZE(N_STATS) + 7) / 8];
  return vi_stats_layout_make(storage, stat_names, N_STATS);
}

static int afxdp_stats(ef_vi* vi, uint64_t* vals, int do_reset)
{
  struct afxdp_vi* v = vi_of(vi);
  struct xdp_statistics ks;
  socklen_t len = sizeof(ks);
  uint64_t k[6] = { 0 };
  int i;

  /* Reading the statistics also brings the kernel's drops up to date
   * (RX_NO_DESC_TRUNC events at the next polls), so that the caller's
   * own counters can then account for every frame. */
  check_kernel_drops(v);
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
  memcpy(&vals[6], &v->q.c, sizeof(v->q.c));
  if (v->xdp)
    afxdp_xdp_stats(v->xdp, &vals[6 + VI_SWQ_N_COUNTERS]);
  else
    memset(&vals[6 + VI_SWQ_N_COUNTERS], 0, AL_STAT_MAX * sizeof(uint64_t));
  if (do_reset) {
    memcpy(v->kstats_base, k, sizeof(k));
    memset(&v->q.c, 0, sizeof(v->q.c));
  }
  return 0;
}

static void afxdp_describe(const ef_vi* vi, char* buf, size_t len)
{
  const struct afxdp_vi* v = vi_of(vi);
  snprintf(buf, len, "%s XDP, %s mode, queue %d",
           v->xdp && v->xdp->mode == XDP_FLAGS_SKB_MODE ? "generic"
                                                         : "native",
           v->port->zerocopy ? "zero-copy" : "copy", v->queue);
}

static void afxdp_release_at_exit(struct vi_common* c)
{
  struct afxdp_vi* v = (struct afxdp_vi*)c;
  if (v->xdp) {
    afxdp_xdp_close(v->xdp, v->slot);
    v->xdp = NULL;
  }
}

/* afxdp_if_mtu: the interface's MTU, capped to what one UMEM chunk
 * carries: on receive the kernel writes a frame after XDP_PACKET_HEADROOM
 * (256) bytes of its chunk and drops a longer one, and transmit refuses a
 * frame longer than a chunk; so on a 9000-byte interface a VI carries
 * frames of 3840 bytes at most (MTU 3826), and a stack over it must not
 * build larger ones (TCP advertised an MSS of 8948 and stalled). */
static int afxdp_if_mtu(const ef_vi* vi, unsigned* mtu_out)
{
  const unsigned cap = AFXDP_CHUNK_SIZE - 256 - 14;
  unsigned mtu = vi_of(vi)->max_frame - 14 - 4;

  *mtu_out = mtu < cap ? mtu : cap;
  return 0;
}

const struct vi_ops afxdp_ops = {
  .describe = afxdp_describe,
  .tidy = afxdp_xdp_tidy,
  .release_at_exit = afxdp_release_at_exit,
  .forget = afxdp_forget,
  .name = "afxdp",
  .vi_alloc = afxdp_vi_alloc,
  .vi_free = afxdp_vi_free,
  .filter_add = afxdp_filter_add,
  .filter_del = afxdp_filter_del,
  .filter_park = afxdp_filter_park,
  .has_event = afxdp_has_event,
  .wait_fd = afxdp_wait_fd,
  .flush = afxdp_flush,
  .if_mtu = afxdp_if_mtu,
  .stats_layout = afxdp_stats_layout,
  .stats = afxdp_stats,
};
