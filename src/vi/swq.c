/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/swq.c: the software rings of a VI, common to every backend (see
 * swq.h): posted receive buffers and frame delivery with checks, transmit
 * slots and their completion events, and the fields and operations every
 * VI starts with.
 */
#include "vi/swq.h"
#include "common/csum.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vi_ring_size(int req)
{
  int size = 64;
  if (req < 0)
    req = VI_DEFAULT_RING;
  /* As the original: the ring has `req` entries (rounded up to a power
   * of two) and holds one less, ef_vi_receive_capacity() = size - 1. */
  while (size < req && size < VI_MAX_RING)
    size <<= 1;
  return size;
}

int vi_swq_init(struct vi_swq* q, ef_vi* vi, uint32_t rxn, uint32_t txn)
{
  memset(q, 0, sizeof(*q));
  q->rx_post = calloc(rxn, sizeof(*q->rx_post));
  q->rx_ids = calloc(rxn, sizeof(uint32_t));
  q->tx_ids = calloc(txn, sizeof(uint32_t));
  q->tx_state = calloc(txn, 1);
  if (!q->rx_post || !q->rx_ids || !q->tx_ids || !q->tx_state) {
    vi_swq_free(q);
    return -ENOMEM;
  }
  q->tx_mask = txn - 1;
  vi->vi_rxq.mask = rxn - 1;
  vi->vi_rxq.ids = q->rx_ids;
  vi->vi_txq.mask = txn - 1;
  vi->vi_txq.ids = q->tx_ids;
  vi->ep_state = &q->state;
  return 0;
}

void vi_swq_free(struct vi_swq* q)
{
  free(q->rx_post);
  free(q->rx_ids);
  free(q->tx_ids);
  free(q->tx_state);
  q->rx_post = NULL;
  q->rx_ids = q->tx_ids = NULL;
  q->tx_state = NULL;
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
static int no_alt(ef_vi* vi, unsigned alt)
{ (void)vi; (void)alt; return -EOPNOTSUPP; }
static int no_alt_default(ef_vi* vi) { (void)vi; return -EOPNOTSUPP; }
static void no_prime(ef_vi* vi) { (void)vi; }
static void eventq_prime(ef_vi* vi)
{
  if (vi->vi_priv)
    vi_arm((struct vi_common*)vi->vi_priv);
}
static void no_timer(ef_vi* vi, unsigned v) { (void)vi; (void)v; }

static int transmitv_init_extra(ef_vi* vi, const struct ef_vi_tx_extra* extra,
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
  return vi->ops.transmitv_init(vi, iov, n, id);
}

static int ctpio_fallback(ef_vi* vi, ef_addr addr, size_t len,
                          ef_request_id id)
{
  return vi->ops.transmit(vi, addr, (int)len, id);
}

static int ctpio_fallbackv(ef_vi* vi, const ef_iovec* iov, int n,
                           ef_request_id id)
{
  return vi->ops.transmitv(vi, iov, n, id);
}

static int no_gso(ef_vi* vi, const struct iovec* iov, int n, unsigned size)
{
  (void)vi; (void)iov; (void)n; (void)size;
  return -EOPNOTSUPP;
}

void vi_vi_defaults(ef_vi* vi, ef_driver_handle dh, unsigned queue,
                    enum ef_vi_flags flags)
{
  vi->inited = 1;
  vi->vi_i = queue;
  vi->dh = dh;
  vi->vi_flags = flags;
  vi->rx_prefix_len = (flags & EF_VI_RX_TIMESTAMPS) ? VI_RX_PREFIX_LEN : 0;
  vi->rx_buffer_len = VI_DEFAULT_RX_BUF_LEN;
  vi->rx_discard_mask = EF_VI_DISCARD_RX_L4_CSUM_ERR |
                        EF_VI_DISCARD_RX_L3_CSUM_ERR |
                        EF_VI_DISCARD_RX_ETH_FCS_ERR |
                        EF_VI_DISCARD_RX_ETH_LEN_ERR;
  vi->ops.transmit_pio = no_pio;
  vi->ops.transmit_copy_pio = no_copy_pio;
  vi->ops.transmit_pio_warm = no_pio_warm;
  vi->ops.transmit_copy_pio_warm = no_copy_pio_warm;
  vi->ops.transmit_alt_select = no_alt;
  vi->ops.transmit_alt_select_default = no_alt_default;
  vi->ops.transmit_alt_stop = no_alt;
  vi->ops.transmit_alt_go = no_alt;
  vi->ops.transmit_alt_discard = no_alt;
  vi->ops.eventq_prime = eventq_prime;
  vi->ops.eventq_timer_prime = no_timer;
  vi->ops.eventq_timer_run = no_timer;
  vi->ops.eventq_timer_clear = no_prime;
  vi->ops.eventq_timer_zero = no_prime;
  vi->ops.transmitv_init_extra = transmitv_init_extra;
  vi->ops.transmit_ctpio_fallback = ctpio_fallback;
  vi->ops.transmitv_ctpio_fallback = ctpio_fallbackv;
  vi->ops.transmitv_gso = no_gso;
}

/* ---- receive ------------------------------------------------------------ */

static inline uint16_t rd16(const uint8_t* p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

int vi_rx_check(const uint8_t* f, uint32_t len, uint64_t mask)
{
  const uint8_t* ip;
  uint32_t l2 = 14, ihl, tot;
  uint16_t et;
  int len_err = (mask & EF_VI_DISCARD_RX_ETH_LEN_ERR) != 0;

  if (len < 14)
    return len_err ? EF_EVENT_RX_DISCARD_OTHER : VI_RX_OK;
  et = rd16(f + 12);
  if (et == 0x8100 || et == 0x88a8) {
    if (len < 18)
      return len_err ? EF_EVENT_RX_DISCARD_OTHER : VI_RX_OK;
    et = rd16(f + 16);
    l2 = 18;
  }
  if (et != 0x0800)
    return VI_RX_OK;
  ip = f + l2;
  if (len - l2 < 20)
    return len_err ? EF_EVENT_RX_DISCARD_OTHER : VI_RX_OK;
  ihl = (uint32_t)(ip[0] & 0xf) * 4;
  tot = rd16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || ihl > len - l2 || tot < ihl ||
      tot > len - l2)
    return len_err ? EF_EVENT_RX_DISCARD_OTHER : VI_RX_OK;
  if ((mask & EF_VI_DISCARD_RX_L3_CSUM_ERR) &&
      al_csum_fold(al_csum_acc(0, ip, ihl)) != 0xffff)
    return EF_EVENT_RX_DISCARD_CSUM_BAD;
  /* L4 checksums cover the whole datagram: only unfragmented ones. */
  if ((mask & EF_VI_DISCARD_RX_L4_CSUM_ERR) && !(rd16(ip + 6) & 0x3fff)) {
    const uint8_t* l4 = ip + ihl;
    uint32_t l4len = tot - ihl;
    uint8_t proto = ip[9];
    if ((proto == 17 && l4len >= 8 && (l4[6] | l4[7])) ||
        (proto == 6 && l4len >= 20)) {
      uint64_t acc = al_csum_pseudo4(ip + 12, proto, (uint16_t)l4len);
      if (al_csum_fold(al_csum_acc(acc, l4, l4len)) != 0xffff)
        return EF_EVENT_RX_DISCARD_CSUM_BAD;
    }
  }
  return VI_RX_OK;
}

static inline void fill_rx_event(ef_event* ev, int reason, unsigned q,
                                 uint32_t id, uint32_t len, unsigned flags)
{
  ev->rx_discard.type = reason == VI_RX_OK ? EF_EVENT_TYPE_RX
                                           : EF_EVENT_TYPE_RX_DISCARD;
  ev->rx_discard.q_id = q;
  ev->rx_discard.__reserved = 0;
  ev->rx_discard.rq_id = id;
  ev->rx_discard.len = len;
  ev->rx_discard.flags = flags;
  ev->rx_discard.subtype = reason == VI_RX_OK ? 0 : (unsigned)reason;
}

int vi_rx_deliver(ef_vi* vi, struct vi_swq* q, const uint8_t* frame,
                  uint32_t len, ef_event* evs, int room, int room_total,
                  const struct timespec* ts)
{
  ef_vi_rxq_state* qs = &q->state.rxq;
  uint32_t mask = vi->vi_rxq.mask;
  uint32_t posted = qs->posted - qs->removed;
  uint32_t prefix = vi->rx_prefix_len;
  uint32_t need = 0, rem = len, idx = qs->removed, pos = 0, k;
  int reason, truncated = 0;

  while (rem && need < posted) {
    uint32_t cap = q->rx_post[idx & mask].cap - (need ? 0 : prefix);
    rem -= rem < cap ? rem : cap;
    need++;
    idx++;
  }
  if (rem || posted == 0) {
    /* A NIC out of descriptors drops the frame: so do we. */
    evs[0].rx_no_desc_trunc.type = EF_EVENT_TYPE_RX_NO_DESC_TRUNC;
    evs[0].rx_no_desc_trunc.q_id = vi->vi_i;
    q->c.rx_no_desc++;
    return 1;
  }
  if (need > (uint32_t)room) {
    if (need <= (uint32_t)room_total)
      return 0;   /* fits in a later poll's event array */
    /* Could never fit the caller's array: deliver one buffer, truncated. */
    need = 1;
    truncated = 1;
  }
  reason = truncated ? EF_EVENT_RX_DISCARD_TRUNC
                     : vi_rx_check(frame, len, vi->rx_discard_mask);
  rem = len;
  for (k = 0; k < need; k++) {
    struct vi_rx_post* b = &q->rx_post[qs->removed & mask];
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
    if (len && (frame[0] & 1))
      flags |= EF_EVENT_FLAG_MULTICAST;
    /* RX_BYTES of a frame spread over several buffers counts the bytes
     * so far (prefix included), as the original does: the last event of
     * the frame carries its whole length. */
    fill_rx_event(&evs[k], reason, vi->vi_i,
                  q->rx_ids[qs->removed & mask], prefix + pos + c, flags);
    pos += c;
    rem -= c;
    qs->removed++;
  }
  if (reason == VI_RX_OK) {
    q->c.rx_frames++;
    q->c.rx_bytes += len;
  } else if (reason == EF_EVENT_RX_DISCARD_CSUM_BAD) {
    q->c.rx_discard_csum++;
  } else if (reason == EF_EVENT_RX_DISCARD_TRUNC) {
    q->c.rx_discard_trunc++;
  } else {
    q->c.rx_discard_other++;
  }
  return (int)need;
}

int vi_receive_init(ef_vi* vi, struct vi_swq* q, ef_addr addr,
                    ef_request_id id)
{
  const struct vi_common* c = vi->vi_priv;
  ef_vi_rxq_state* qs = &q->state.rxq;
  struct vi_rx_post* b;
  size_t avail;
  char* p;

  if (qs->added - qs->removed >= vi->vi_rxq.mask)
    return -EAGAIN;
  p = vi_pd_translate_avail(c->pd, addr, &avail);
  if (!p || avail <= vi->rx_prefix_len)
    return -EINVAL;
  b = &q->rx_post[qs->added & vi->vi_rxq.mask];
  b->vaddr = p;
  b->cap = avail < vi->rx_buffer_len ? (uint32_t)avail : vi->rx_buffer_len;
  if (b->cap <= vi->rx_prefix_len)
    return -EINVAL;
  q->rx_ids[qs->added & vi->vi_rxq.mask] = (uint32_t)id;
  qs->added++;
  return 0;
}

void vi_receive_push(struct vi_swq* q)
{
  q->state.rxq.posted = q->state.rxq.added;
}

/* ---- transmit ----------------------------------------------------------- */

int vi_tx_slot_begin(ef_vi* vi, struct vi_swq* q, const ef_iovec* iov,
                     int iovcnt)
{
  const struct vi_common* c = vi->vi_priv;
  ef_vi_txq_state* qs = &q->state.txq;
  uint64_t total = 0;
  int i;

  if (qs->added - qs->removed >= vi->vi_txq.mask)
    return -EAGAIN;
  if (iovcnt <= 0 || !iov)
    return -EINVAL;
  for (i = 0; i < iovcnt; i++) {
    if (!vi_pd_translate(c->pd, iov[i].iov_base, iov[i].iov_len))
      return -EINVAL;
    total += iov[i].iov_len;
  }
  if (total == 0 || total > 0x7fffffff)
    return -EINVAL;
  return (int)total;
}

void vi_tx_gather(const struct vi_pd* pd, const ef_iovec* iov, int iovcnt,
                  char* dst)
{
  int i;
  for (i = 0; i < iovcnt; i++) {
    memcpy(dst, vi_pd_translate(pd, iov[i].iov_base, iov[i].iov_len),
           iov[i].iov_len);
    dst += iov[i].iov_len;
  }
}

void vi_tx_slot_add(struct vi_swq* q, ef_request_id id, uint8_t state)
{
  uint32_t slot = q->state.txq.added;
  q->tx_ids[slot & q->tx_mask] = (uint32_t)id;
  q->tx_state[slot & q->tx_mask] = state;
  q->state.txq.added++;
}

int vi_tx_events(ef_vi* vi, struct vi_swq* q, ef_event* evs, int budget)
{
  ef_vi_txq_state* qs = &q->state.txq;
  uint32_t mask = q->tx_mask;
  int n = 0;

  while (q->tx_done_upto != qs->added &&
         q->tx_state[q->tx_done_upto & mask] != VI_TXS_PENDING)
    q->tx_done_upto++;

  while (q->tx_evented != q->tx_done_upto && n < budget) {
    uint8_t st = q->tx_state[q->tx_evented & mask];
    ef_event* ev = &evs[n++];
    uint32_t count = 0;

    if ((vi->vi_flags & EF_VI_TX_TIMESTAMPS) && st == VI_TXS_DONE) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      q->tx_state[q->tx_evented & mask] = VI_TXS_PENDING;
      ev->tx_timestamp.type = EF_EVENT_TYPE_TX_WITH_TIMESTAMP;
      ev->tx_timestamp.q_id = vi->vi_i;
      ev->tx_timestamp.flags = 0;
      ev->tx_timestamp.rq_id = q->tx_ids[q->tx_evented & mask];
      ev->tx_timestamp.ts_sec = (unsigned)ts.tv_sec;
      /* The low two bits of ts_nsec carry the sync flags. */
      ev->tx_timestamp.ts_nsec = ((unsigned)ts.tv_nsec & ~3u) |
        EF_VI_SYNC_FLAG_CLOCK_SET | EF_VI_SYNC_FLAG_CLOCK_IN_SYNC;
      q->tx_evented++;
      qs->previous++;
      qs->removed++;
      continue;
    }
    while (q->tx_evented + count != q->tx_done_upto &&
           count < EF_VI_TRANSMIT_BATCH &&
           q->tx_state[(q->tx_evented + count) & mask] == st) {
      q->tx_state[(q->tx_evented + count) & mask] = VI_TXS_PENDING;
      count++;
    }
    q->tx_evented += count;
    ev->tx_error.type = st == VI_TXS_ERROR ? EF_EVENT_TYPE_TX_ERROR
                                           : EF_EVENT_TYPE_TX;
    ev->tx_error.q_id = vi->vi_i;
    ev->tx_error.flags = 0;
    ev->tx_error.desc_id = q->tx_evented & 0xffff;
    ev->tx_error.subtype = st == VI_TXS_ERROR ? EF_EVENT_TX_ERROR_2BIG : 0;
  }
  return n;
}

int vi_tx_all_done(const struct vi_swq* q)
{
  uint32_t i;
  for (i = q->tx_done_upto; i != q->state.txq.added; i++)
    if (q->tx_state[i & q->tx_mask] == VI_TXS_PENDING)
      return 0;
  return 1;
}

const ef_vi_stats_layout* vi_stats_layout_make(void* storage,
                                               const char* const* names,
                                               int n)
{
  ef_vi_stats_layout* l = storage;
  int i;

  /* Writes the same values every time: concurrent first calls agree. */
  l->evsl_data_size = n * (int)sizeof(uint64_t);
  l->evsl_fields_num = n;
  for (i = 0; i < n; i++) {
    l->evsl_fields[i].evsfl_name = (char*)names[i];
    l->evsl_fields[i].evsfl_offset = i * (int)sizeof(uint64_t);
    l->evsl_fields[i].evsfl_size = (int)sizeof(uint64_t);
  }
  return l;
}
