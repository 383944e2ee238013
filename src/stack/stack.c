/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/stack.c: the stack object: creation on an interface (driver
 * handle, PD, VI, packet memory, the environment), the poll loop, the
 * receive ring's refill, the transmit ring's completions, deadlines, the
 * wait fd, counters and resource accounting.
 *
 * Layer: stack, top; it speaks the ef_vi API only (include/etherfabric/),
 * never a backend. RX order: anyload_stack_poll -> ef_eventq_poll -> for
 * each RX event st__rx_frame (ip.c) -> ... ; TX completions return their
 * buffers to the pool; then the ring is refilled, due timers run
 * (timer.c), and waiting frames are re-checked when the environment moved
 * (arp.c). TX: udp_tx.c and arp.c hand finished frames to st__vi_send.
 *
 * Checksums on receive: by default the stack clears the VI's discard mask
 * and checks everything itself, because every anyload backend verifies
 * checksums in software anyway (no NIC offload to save), and the stack's
 * own checks give one named counter per drop reason.
 * ANYLOAD_STACK_F_VI_CSUM keeps the VI's checks instead (the backend then
 * vouches for the checksums of unfragmented datagrams);
 * ANYLOAD_STACK_F_TRUST_RX_CSUM skips UDP checksums altogether (veth).
 */
#include "stack/stack_int.h"
#include "stack/publish.h"

#include <errno.h>
#include <anyload/vi_ext.h>
#include <etherfabric/base.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_BUDGET 64
#define ST_IDLE_VI_POLL_EVERY 64   /* a power of two */
#define EV_BATCH       32

void anyload_stack_config_init(struct anyload_stack_config* cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->size = sizeof(*cfg);
}

/* apply_defaults: fill the zero fields of c; check the rest. */
static int apply_defaults(struct anyload_stack_config* c)
{
  if (!c->n_bufs)
    c->n_bufs = 4096;
  if (!c->rxq_size)
    c->rxq_size = 512;
  if (!c->txq_size)
    c->txq_size = 512;
  if (!c->rcvbuf)
    c->rcvbuf = 212992;
  if (!c->max_sockets)
    c->max_sockets = 1024;
  if (!c->reasm_max_datagrams)
    c->reasm_max_datagrams = 64;
  if (!c->reasm_max_bufs)
    c->reasm_max_bufs = 512;
  if (!c->reasm_timeout_ns)
    c->reasm_timeout_ns = 30000000000ll;
  if (!c->neigh_max_dests)
    c->neigh_max_dests = 32;
  if (!c->neigh_max_per_dest)
    c->neigh_max_per_dest = 32;
  if (!c->neigh_max_total)
    c->neigh_max_total = 256;
  if (!c->neigh_timeout_ns)
    c->neigh_timeout_ns = 3000000000ll;
  if (!c->neigh_retry_ns)
    c->neigh_retry_ns = 100000000ll;
  if (!c->poll_env_ns)
    c->poll_env_ns = 1000000ll;
  if (!c->poll_env_idle_ns)
    c->poll_env_idle_ns = 10000000ll;
  if (!c->pmtu_expiry_ns)
    c->pmtu_expiry_ns = 600000000000ll;
  if (!c->ephem_lo && !c->ephem_hi) {
    c->ephem_lo = 32768;
    c->ephem_hi = 60999;
  }
  if (c->ephem_lo == 0 || c->ephem_lo > c->ephem_hi ||
      c->reasm_timeout_ns < 0 || c->neigh_timeout_ns < 0 ||
      c->neigh_retry_ns < 0 || c->poll_env_ns < 0 ||
      c->poll_env_idle_ns < 0 || c->pmtu_expiry_ns < 0 ||
      c->max_sockets > (1u << 20) || c->n_bufs > (1u << 24) ||
      c->rxq_size < 0 || c->txq_size < 0)
    return -EINVAL;
  if (c->poll_env_idle_ns < c->poll_env_ns)
    c->poll_env_idle_ns = c->poll_env_ns;
  return 0;
}

/* ---- the rings -------------------------------------------------------- */

/* rx_refill_vi: buffers onto vi's receive ring up to rx_target; 0, or
 * -ENOBUFS when the pool ran dry. */
static int rx_refill_vi(struct anyload_stack* st, ef_vi* vi)
{
  int posted = 0, rc = 0;

  while (ef_vi_receive_space(vi) > 0 &&
         (unsigned)ef_vi_receive_fill_level(vi) < st->rx_target) {
    uint32_t i = st__pkt_alloc(st, ST_PKT_RX_RING);
    if (i == ST_PKT_NONE) {
      ST_INC(st, rx_refill_short);
      rc = -ENOBUFS;
      break;
    }
    if (ef_vi_receive_init(vi, st__pkt_dma(st, i), (ef_request_id)i) < 0) {
      st__pkt_free(st, i);
      break;
    }
    posted++;
  }
  if (posted)
    ef_vi_receive_push(vi);
  return rc;
}

static void rx_refill(struct anyload_stack* st)
{
  unsigned v;

  for (v = 0; v < st->n_vis; v++)
    if (rx_refill_vi(st, &st->vis[v]) < 0)
      break;
}

int st__vi_send(struct anyload_stack* st, uint32_t head)
{
  uint32_t k;
  int n = 0;

  for (k = head; k != ST_PKT_NONE; k = st->pkts[k].chain)
    n++;
  if (ef_vi_transmit_space(st__tx_vi(st)) < n)
    return -EAGAIN;
  for (k = head; k != ST_PKT_NONE;) {
    uint32_t nx = st->pkts[k].chain;
    /* Room was checked and the address is ours: this cannot fail. */
    ef_vi_transmit_init(st__tx_vi(st), st__pkt_dma(st, k), st->pkts[k].len,
                        (ef_request_id)k);
    st__cap(st, st__pkt_data(st, k), st->pkts[k].len, ANYLOAD_CAP_TX);
    st__pkt_set_state(st, k, ST_PKT_TX_RING, 0);
    ST_INC(st, tx_frames);
    ST_ADD(st, tx_bytes, st->pkts[k].len);
    k = nx;
  }
  st->tx_unpushed += (unsigned)n;
  if (!st->tx_hold || st->tx_unpushed >= ST_TX_PUSH_BATCH) {
    st->tx_unpushed = 0;
    ef_vi_transmit_push(st__tx_vi(st));
  }
  return 0;
}

void st__tx_release(struct anyload_stack* st)
{
  if (--st->tx_hold == 0 && st->tx_unpushed) {
    st->tx_unpushed = 0;
    ef_vi_transmit_push(st__tx_vi(st));
  }
}

static void tx_done(struct anyload_stack* st, ef_vi* vi, const ef_event* ev,
                    int error)
{
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int n = ef_vi_transmit_unbundle(vi, ev, ids), k;

  for (k = 0; k < n; k++)
    if ((uint32_t)ids[k] < st->n_pkts &&
        st->pkts[ids[k]].state == ST_PKT_TX_RING)
      st__pkt_free(st, (uint32_t)ids[k]);
  if (error && n > 0)
    ST_ADD(st, tx_error_events, (unsigned)n);
}

static void rx_event(struct anyload_stack* st, ef_vi* vi, const ef_event* ev,
                     int64_t now)
{
  uint32_t id = EF_EVENT_RX_RQ_ID(*ev);
  unsigned len = EF_EVENT_RX_BYTES(*ev) - ef_vi_receive_prefix_len(vi);

  if (id >= st->n_pkts || st->pkts[id].state != ST_PKT_RX_RING)
    return;
  st__pkt_set_state(st, id, ST_PKT_BUSY, 0);
  ST_INC(st, rx_frames);
  ST_ADD(st, rx_bytes, len);
  if (EF_EVENT_RX_CONT(*ev) || !EF_EVENT_RX_SOP(*ev)) {
    /* Buffers hold a whole frame of the interface's MTU; a frame that
     * spans several came from a misconfigured link. */
    if (EF_EVENT_RX_SOP(*ev))
      ST_INC(st, rx_drop_multibuf);
    st__pkt_free(st, id);
    return;
  }
  st__cap(st, st__pkt_data(st, id), len, ANYLOAD_CAP_RX);
  st__rx_frame(st, id, len, now);
}

/* poll_vi: handle up to budget events of vi; the number handled. */
static int poll_vi(struct anyload_stack* st, ef_vi* vi, int64_t now_ns,
                   int budget)
{
  ef_event evs[EV_BATCH];
  int handled = 0, n, k;

  while (handled < budget) {
    int want = budget - handled < EV_BATCH ? budget - handled : EV_BATCH;
    if (want < EF_VI_EVENT_POLL_MIN_EVS)
      want = EF_VI_EVENT_POLL_MIN_EVS;
    n = ef_eventq_poll(vi, evs, want);
    for (k = 0; k < n; k++) {
      switch (EF_EVENT_TYPE(evs[k])) {
      case EF_EVENT_TYPE_RX:
        rx_event(st, vi, &evs[k], now_ns);
        break;
      case EF_EVENT_TYPE_RX_DISCARD: {
        uint32_t id = EF_EVENT_RX_DISCARD_RQ_ID(evs[k]);
        if (id < st->n_pkts && st->pkts[id].state == ST_PKT_RX_RING) {
          st__pkt_free(st, id);
          if (EF_EVENT_RX_DISCARD_SOP(evs[k]))
            ST_INC(st, rx_drop_vi_discard);
        }
        break;
      }
      case EF_EVENT_TYPE_TX:
        tx_done(st, vi, &evs[k], 0);
        break;
      case EF_EVENT_TYPE_TX_ERROR:
        tx_done(st, vi, &evs[k], 1);
        break;
      case EF_EVENT_TYPE_RX_NO_DESC_TRUNC:
        ST_INC(st, rx_drop_no_desc);
        break;
      default:
        break;
      }
    }
    handled += n;
    if (n < want)
      break;
    (void)rx_refill_vi(st, vi);
  }
  return handled;
}

int anyload_stack_poll(struct anyload_stack* st, int64_t now_ns, int budget)
{
  int handled = 0;
  unsigned i;

  st->now = now_ns;
  if (st->env.process && now_ns >= st->next_env_process) {
    int rc = st->env.process(st->env.ctx, now_ns);
    if (rc < 0)
      ST_INC(st, env_process_err);
    /* Often while something waits on the environment (or it is busy),
     * rarely otherwise: each call is a system call in a spinning loop. */
    st->next_env_process = now_ns + (rc > 0 || st->n_nwait
                                     ? st->cfg.poll_env_ns
                                     : st->cfg.poll_env_idle_ns);
  }
  if (budget <= 0)
    budget = DEFAULT_BUDGET;
  st__tx_hold(st);
  st->in_rx_batch = 1;
  if (st->n_vis == 1) {
    handled = poll_vi(st, st->vis, now_ns, budget);
  } else {
    /* Several VIs (queues): each poll starts with the next one, so that a
     * busy queue cannot keep the others waiting past one budget. */
    unsigned first = st->poll_pass % st->n_vis;
    for (i = 0; i < st->n_vis && handled < budget; i++) {
      unsigned v = first + i;
      if (v >= st->n_vis)
        v -= st->n_vis;
      /* A receive-only VI with nothing on its rings costs a look at them
       * (a spinning caller polls all of them each time); its full poll,
       * which also reads the kernel's drop counters now and then, runs
       * on every ST_IDLE_VI_POLL_EVERY-th pass. */
      if (v != 0 && (st->poll_pass & (ST_IDLE_VI_POLL_EVERY - 1)) &&
          !ef_eventq_has_event(&st->vis[v]))
        continue;
      handled += poll_vi(st, &st->vis[v], now_ns, budget - handled);
    }
    st->poll_pass++;
  }
  st->in_rx_batch = 0;
  if (st->n_tcp_ack_due)
    st__tcp_flush_acks(st, now_ns);
  rx_refill(st);
  /* Both are checked at every poll of a busy-polling caller: call them
   * only when a timer is due or a frame waits for a MAC. */
  if (st__timer_next(st) <= now_ns)
    st__timer_run(st, now_ns);
  if (st->n_nwait)
    st__nwait_poll(st, now_ns);
  st__pub_poll(st, now_ns);
  if (st->tcp_tx_blocked)
    st__tcp_poll(st, now_ns);
  st__tx_release(st);
  return handled;
}

/* While TCP segments wait for room in the transmit ring
 * (tcp_tx_blocked), the completions that make room do not make the wait
 * fd readable: the stack needs a poll soon although nothing arrives (a
 * caller that slept until its next timer left an echo unsent for as long
 * as a SYN-ACK retransmission burst kept the ring full, then longer). */
#define TX_BLOCKED_POLL_NS 100000

int64_t anyload_stack_next_deadline(const struct anyload_stack* st)
{
  int64_t t = st__timer_next(st);

  if (st->tcp_tx_blocked && st->now + TX_BLOCKED_POLL_NS < t)
    t = st->now + TX_BLOCKED_POLL_NS;
  return t;
}

int anyload_stack_wait_fd(const struct anyload_stack* st)
{
  return st->wait_fd;
}

void anyload_stack_prime(struct anyload_stack* st)
{
  unsigned v;

  for (v = 0; v < st->n_vis; v++)
    ef_vi_prime(&st->vis[v], st->dh, ef_eventq_current(&st->vis[v]));
}

int anyload_stack_ifindex(const struct anyload_stack* st)
{
  return st->ifindex;
}

void anyload_stack_mac(const struct anyload_stack* st, uint8_t mac[6])
{
  memcpy(mac, st->mac, 6);
}

unsigned anyload_stack_mtu(const struct anyload_stack* st)
{
  return st->mtu;
}

int anyload_stack_queue(const struct anyload_stack* st)
{
  return st->queue_mask ? __builtin_ctzll(st->queue_mask) : 0;
}

uint64_t anyload_stack_queue_mask(const struct anyload_stack* st)
{
  return st->queue_mask;
}

char* anyload_queue_mask_str(uint64_t mask, char* buf, size_t len)
{
  size_t used = 0;
  int q = 0, n;

  if (!buf || !len)
    return buf;
  buf[0] = 0;
  if (!mask)
    snprintf(buf, len, "none");
  while (q < 64 && (mask >> q) && used < len) {
    int last;
    if (!((mask >> q) & 1)) {
      q++;
      continue;
    }
    for (last = q; last < 63 && ((mask >> (last + 1)) & 1); last++)
      ;
    n = last == q ? snprintf(buf + used, len - used, "%s%d", used ? "," : "", q)
                  : snprintf(buf + used, len - used, "%s%d-%d",
                             used ? "," : "", q, last);
    if (n < 0)
      break;
    used += (size_t)n;
    q = last + 1;
  }
  return buf;
}

uint64_t st__env_generation(const struct anyload_stack* st)
{
  return st->env.generation ? st->env.generation(st->env.ctx) : 0;
}

int st__is_local(const struct anyload_stack* st, uint32_t ip_be32)
{
  return st->env.addr_ifindex &&
         st->env.addr_ifindex(st->env.ctx, ip_be32) == st->ifindex;
}

/* ---- create and destroy ----------------------------------------------- */

int st__vi_filter_add(struct anyload_stack* st, ef_filter_spec* fs,
                      ef_filter_cookie* cookies)
{
  unsigned v;
  int rc;

  for (v = 0; v < st->n_vis; v++)
    if ((rc = ef_vi_filter_add(&st->vis[v], st->dh, fs, &cookies[v])) < 0) {
      while (v-- > 0)
        ef_vi_filter_del(&st->vis[v], st->dh, &cookies[v]);
      return rc;
    }
  return 0;
}

void st__vi_filter_del(struct anyload_stack* st, ef_filter_cookie* cookies)
{
  unsigned v;

  for (v = 0; v < st->n_vis; v++)
    ef_vi_filter_del(&st->vis[v], st->dh, &cookies[v]);
}

void st__vi_filter_park(struct anyload_stack* st, ef_filter_cookie* cookies,
                        unsigned park_ms)
{
  unsigned v;

  for (v = 0; v < st->n_vis; v++)
    if (anyload_vi_filter_park(&st->vis[v], st->dh, &cookies[v], park_ms) ==
        -EOPNOTSUPP)
      ef_vi_filter_del(&st->vis[v], st->dh, &cookies[v]);
}

static int proto_filter(struct anyload_stack* st, uint8_t proto,
                        ef_filter_cookie* cookies)
{
  ef_filter_spec fs;
  int rc;

  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  rc = ef_filter_spec_set_ip_proto(&fs, proto);
  if (rc == 0)
    rc = st__vi_filter_add(st, &fs, cookies);
  return rc;
}

/* Receive rings of several VIs share the pool: each gets at least this
 * many buffers, and together at most half of the pool. */
#define ST_RX_MIN_PER_VI 64u

/* vis_max: how many VIs (queues) the stack may hold. */
static unsigned vis_max(const struct anyload_stack* st, unsigned nq)
{
  unsigned n = 1;

  if (st->cfg.flags & ANYLOAD_STACK_F_ALL_QUEUES) {
    n = st->cfg.n_bufs / 2 / ST_RX_MIN_PER_VI;
    if (st->cfg.max_queues && n > st->cfg.max_queues)
      n = st->cfg.max_queues;
  }
  if (n > nq)
    n = nq;
  return n ? n : 1;
}

static void vi_taken(struct anyload_stack* st, int q)
{
  st->queue_mask |= 1ull << q;
  st->n_vis++;
}

/* The stack's VIs: one on queue 0. With ANYLOAD_STACK_F_ANY_QUEUE, when
 * another process holds queue 0, one on the first queue that nobody
 * holds; with ANYLOAD_STACK_F_ALL_QUEUES, one on every queue that nobody
 * holds (up to vis_max). Queues past 0 are members of a VI set over the
 * interface's queues, as ef_vi gives a VI on queue N. A backend that sees
 * every queue through one socket (AF_PACKET) gets one VI. */
static int vi_alloc(struct anyload_stack* st)
{
  unsigned flags = st->cfg.flags, max;
  const char* be;
  int rc, nq, q;

  nq = anyload_vi_queue_count(&st->pd);
  if (nq < 1)
    nq = 1;
  if (nq > ST_MAX_QUEUES)
    nq = ST_MAX_QUEUES;   /* the largest VI set (and XDP filter) */
  max = vis_max(st, (unsigned)nq);
  st->vis = calloc((size_t)nq, sizeof(*st->vis));
  if (!st->vis)
    return -ENOMEM;
  rc = ef_vi_alloc_from_pd(&st->vis[0], st->dh, &st->pd, st->dh, -1,
                           st->cfg.rxq_size, st->cfg.txq_size, NULL, -1,
                           EF_VI_FLAGS_DEFAULT);
  if (rc >= 0)
    vi_taken(st, 0);
  else if (rc != -EBUSY ||
           !(flags & (ANYLOAD_STACK_F_ANY_QUEUE | ANYLOAD_STACK_F_ALL_QUEUES)))
    return rc;
  if (nq <= 1 || st->n_vis >= max ||
      (st->n_vis && (!(be = anyload_vi_backend(&st->vis[0])) ||
                     strcmp(be, "afxdp"))))
    return st->n_vis ? 0 : rc;
  if ((rc = ef_vi_set_alloc_from_pd(&st->vi_set, st->dh, &st->pd, st->dh,
                                    nq)) < 0)
    return st->n_vis ? 0 : rc;
  st->have_vi_set = 1;
  rc = -EBUSY;
  for (q = 1; q < nq && st->n_vis < max; q++) {
    rc = ef_vi_alloc_from_set(&st->vis[st->n_vis], st->dh, &st->vi_set,
                              st->dh, q, -1, st->cfg.rxq_size,
                              st->cfg.txq_size, NULL, -1, EF_VI_FLAGS_DEFAULT);
    if (rc == -EBUSY)
      continue;
    if (rc < 0)
      break;   /* keep the queues taken so far */
    vi_taken(st, q);
    if (!(be = anyload_vi_backend(&st->vis[st->n_vis - 1])) ||
        strcmp(be, "afxdp"))
      break;
  }
  return st->n_vis ? 0 : rc;
}

int anyload_stack_create(const struct anyload_stack_config* cfg,
                         const struct anyload_stack_env* env,
                         struct anyload_stack** out)
{
  struct anyload_stack* st;
  struct epoll_event ee;
  unsigned discards = 0, frame_max, v;
  long page = sysconf(_SC_PAGESIZE);
  int rc, efd;

  if (!cfg || !out || cfg->size != sizeof(*cfg) || !cfg->ifname)
    return -EINVAL;
  st = calloc(1, sizeof(*st));
  if (!st)
    return -ENOMEM;
  st->cfg = *cfg;
  st->tcp_gso_off = (cfg->flags & ANYLOAD_STACK_F_NO_TCP_GSO) != 0;
  st->dh = -1;
  st->wait_fd = -1;
  st->cfg.ifname = NULL;   /* the caller's string may not outlive us */
  if ((rc = apply_defaults(&st->cfg)) < 0)
    goto fail;
  st__timer_init(st);

  if ((rc = ef_driver_open(&st->dh)) < 0)
    goto fail;
  if ((rc = ef_pd_alloc_by_name(&st->pd, st->dh, cfg->ifname,
                                EF_PD_DEFAULT)) < 0)
    goto fail;
  st->have_pd = 1;
  st->ifindex = st->pd.pd_ifindex;
  if ((rc = vi_alloc(st)) < 0)
    goto fail;
  /* Super-frames: a VI that cannot says -EOPNOTSUPP to any call (an empty
   * one gets -EINVAL from one that can). */
  if (ef_vi_transmitv_gso(st__tx_vi(st), NULL, 0, 0) == -EOPNOTSUPP)
    st->tcp_gso_off = 1;
  if ((rc = ef_vi_get_mac(st__tx_vi(st), st->dh, st->mac)) < 0)
    goto fail;
  frame_max = ef_vi_mtu(st__tx_vi(st), st->dh);
  st->mtu = frame_max > ST_ETH_HLEN ? frame_max - ST_ETH_HLEN : 0;
  if (st->mtu < 68 || st->mtu > ST_IPV4_MAX_LEN) {
    rc = -EINVAL;
    goto fail;
  }
  /* One buffer holds one frame of the interface's MTU. */
  st->buf_size = (frame_max + ef_vi_receive_prefix_len(st__tx_vi(st)) + 63) &
                 ~63u;
  if (st->buf_size < 2048)
    st->buf_size = 2048;
  /* One VI fills its whole ring; several share half of the pool. */
  st->rx_target = (unsigned)ef_vi_receive_capacity(st__tx_vi(st));
  if (st->n_vis > 1 && st->rx_target > st->cfg.n_bufs / 2 / st->n_vis)
    st->rx_target = st->cfg.n_bufs / 2 / st->n_vis;
  if (st->cfg.n_bufs < st->n_vis * st->rx_target +
                       (unsigned)ef_vi_transmit_capacity(st__tx_vi(st)) +
                       128) {
    rc = -EINVAL;
    goto fail;
  }
  st->mem_len = ((size_t)st->cfg.n_bufs * st->buf_size + (size_t)page - 1) &
                ~((size_t)page - 1);
  st->mem = mmap(NULL, st->mem_len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (st->mem == MAP_FAILED) {
    st->mem = NULL;
    rc = -ENOMEM;
    goto fail;
  }
  if ((rc = ef_memreg_alloc(&st->mr, st->dh, &st->pd, st->dh, st->mem,
                            st->mem_len)) < 0)
    goto fail;
  st->have_mr = 1;
  for (v = 0; v < st->n_vis; v++)
    ef_vi_receive_set_buffer_len(&st->vis[v], st->buf_size);
  if (st->cfg.flags & ANYLOAD_STACK_F_VI_CSUM) {
    discards = EF_VI_DISCARD_RX_L3_CSUM_ERR | EF_VI_DISCARD_RX_ETH_LEN_ERR;
    if (!(st->cfg.flags & ANYLOAD_STACK_F_TRUST_RX_CSUM))
      discards |= EF_VI_DISCARD_RX_L4_CSUM_ERR;
  }
  for (v = 0; v < st->n_vis; v++)
    ef_vi_receive_set_discards(&st->vis[v], discards);

  if ((rc = st__pkt_init(st)) < 0 || (rc = st__sock_init(st)) < 0 ||
      (rc = st__tcp_init(st)) < 0 ||
      (rc = st__reasm_init(st)) < 0 || (rc = st__nwait_init(st)) < 0)
    goto fail;

  if (env) {
    st->env = *env;
  } else {
    if ((rc = st__env_cplane_open(st->ifindex, &st->env)) < 0)
      goto fail;
    st->own_env = 1;
  }

  st->ephem_next = (uint16_t)(st->cfg.ephem_lo +
                              st->cfg.seed % (st->cfg.ephem_hi -
                                              st->cfg.ephem_lo + 1u));
  st->ip_id = (uint16_t)(st->cfg.seed >> 16);
  rx_refill(st);

  if (st->cfg.flags & ANYLOAD_STACK_F_RX_FRAGMENTS) {
    if ((rc = proto_filter(st, ST_IPPROTO_UDP, st->udp_all_cookie)) < 0)
      goto fail;
    st->have_udp_all = 1;
  }
  if (st->cfg.flags & ANYLOAD_STACK_F_RX_ICMP) {
    if ((rc = proto_filter(st, ST_IPPROTO_ICMP, st->icmp_cookie)) < 0)
      goto fail;
    st->have_icmp = 1;
  }

  efd = epoll_create1(EPOLL_CLOEXEC);
  if (efd < 0) {
    rc = -errno;
    goto fail;
  }
  st->wait_fd = efd;
  memset(&ee, 0, sizeof(ee));
  ee.events = EPOLLIN;
  if (epoll_ctl(efd, EPOLL_CTL_ADD, st->dh, &ee) < 0) {
    rc = -errno;
    goto fail;
  }
  if (st->env.fd && st->env.fd(st->env.ctx) >= 0 &&
      epoll_ctl(efd, EPOLL_CTL_ADD, st->env.fd(st->env.ctx), &ee) < 0) {
    rc = -errno;
    goto fail;
  }
  if ((rc = st__pub_open(st, cfg->ifname)) < 0)
    goto fail;
  *out = st;
  return 0;

fail:
  anyload_stack_destroy(st);
  return rc;
}

void anyload_stack_destroy(struct anyload_stack* st)
{
  unsigned v;

  if (!st)
    return;
  st__pub_close(st);
  st__tcp_fini(st);
  st__sock_fini(st);
  st__reasm_fini(st);
  st__nwait_fini(st);
  if (st->have_udp_all && !st->forgotten)
    st__vi_filter_del(st, st->udp_all_cookie);
  if (st->have_icmp && !st->forgotten)
    st__vi_filter_del(st, st->icmp_cookie);
  if (st->wait_fd >= 0)
    close(st->wait_fd);
  for (v = 0; v < st->n_vis; v++)
    ef_vi_free(&st->vis[v], st->dh);
  /* The set looks at its members: before they are freed. */
  if (st->have_vi_set)
    ef_vi_set_free(&st->vi_set, st->dh);
  free(st->vis);
  if (st->have_mr)
    ef_memreg_free(&st->mr, st->dh);
  if (st->mem)
    munmap(st->mem, st->mem_len);
  if (st->have_pd)
    ef_pd_free(&st->pd, st->dh);
  if (st->dh >= 0)
    ef_driver_close(st->dh);
  if (st->own_env && st->env.destroy)
    st->env.destroy(st->env.ctx);
  st__pkt_fini(st);
  free(st);
}

void anyload_stack_forget(struct anyload_stack* st)
{
  unsigned v;

  if (!st)
    return;
  /* From here the filters and memberships are the parent's (filter_put,
   * mship_drop and destroy skip them), and the VI is gone: nothing can be
   * sent. A VI that its backend cannot forget (sim) stays allocated in
   * this process's memory, never freed here (that would remove the
   * parent's filters); its PD then stays too. */
  st->forgotten = 1;
  for (v = 0; v < st->n_vis; v++)
    (void)anyload_vi_forget(&st->vis[v]);
  st->n_vis = 0;
  anyload_stack_destroy(st);
}

int anyload_stack_tidy(const char* ifname)
{
  return anyload_vi_tidy(ifname);
}

/* ---- counters and info ------------------------------------------------ */

static const char* const stat_names[] = {
#define ST_STAT(name, doc) #name,
#include "stack/stats.def"
#undef ST_STAT
};

static const char* const stat_docs[] = {
#define ST_STAT(name, doc) doc,
#include "stack/stats.def"
#undef ST_STAT
};

unsigned anyload_stack_stat_count(void)
{
  return ST_N_STATS;
}

const char* anyload_stack_stat_name(unsigned i)
{
  return i < ST_N_STATS ? stat_names[i] : NULL;
}

const char* anyload_stack_stat_doc(unsigned i)
{
  return i < ST_N_STATS ? stat_docs[i] : NULL;
}

int anyload_stack_stat_index(const char* name)
{
  unsigned k;

  for (k = 0; name && k < ST_N_STATS; k++)
    if (strcmp(stat_names[k], name) == 0)
      return (int)k;
  return -ENOENT;
}

int anyload_stack_sync(struct anyload_stack* st, int64_t now_ns)
{
  const ef_vi_stats_layout* layout;
  uint64_t vals[128];
  int total = 0, n, k;
  unsigned v;

  for (v = 0; v < st->n_vis; v++)
    if (ef_vi_stats_query_layout(&st->vis[v], &layout) == 0 &&
        layout->evsl_data_size <= (int)sizeof(vals))
      (void)ef_vi_stats_query(&st->vis[v], st->dh, vals, 0);
  /* A flood leaves many drops to report (one event each, 64 per poll):
   * the bound only stops a flood that outruns the polls for ever. */
  for (k = 0; k < (1 << 18); k++) {
    n = anyload_stack_poll(st, now_ns, 0);
    total += n;
    if (n == 0)
      break;
  }
  return total;
}

int anyload_stack_stats(struct anyload_stack* st, uint64_t* out, unsigned n,
                        int do_reset)
{
  if (n > ST_N_STATS)
    n = ST_N_STATS;
  memcpy(out, st->stats, n * sizeof(*out));
  if (do_reset)
    memset(st->stats, 0, sizeof(st->stats));
  return (int)n;
}

uint64_t anyload_stack_stat(const struct anyload_stack* st, const char* name)
{
  int k = anyload_stack_stat_index(name);

  return k < 0 ? 0 : st->stats[k];
}

void anyload_stack_info(const struct anyload_stack* st,
                        struct anyload_stack_info* out)
{
  memset(out, 0, sizeof(*out));
  out->pkt_total = st->n_pkts;
  out->pkt_free = st->n_state[ST_PKT_FREE];
  out->pkt_rx_ring = st->n_state[ST_PKT_RX_RING];
  out->pkt_tx_ring = st->n_state[ST_PKT_TX_RING];
  out->pkt_sock_rxq = st->n_state[ST_PKT_SOCK];
  out->pkt_reasm = st->n_state[ST_PKT_REASM];
  out->pkt_neigh_wait = st->n_state[ST_PKT_NEIGH];
  out->timers = st->n_timers;
  out->sockets = st->n_socks;
  out->filters = st->n_filters + (unsigned)st->have_udp_all +
                 (unsigned)st->have_icmp;
  out->reasm_datagrams = st->n_reasm;
  out->neigh_waits = st->n_nwait;
  out->tcp_sockets = st->n_tcp_app;
  out->tcp_connections = st->tcp_n_conn;
  out->tcp_listening = st->tcp_n_listen;
  out->tcp_time_wait = st->tcp_n_tw;
  out->tcp_buf_bytes = st->tcp_buf_bytes;
}
