/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/vi.c: the backend-independent part of the VI API: allocation and
 * freeing (backend choice), the calls that are the same on every backend
 * (receive_post, transmit_init, unbundle, timestamps from the RX prefix,
 * discards, MTU and MAC), statistics, and the hardware-only calls that
 * answer -EOPNOTSUPP.
 */
#include "vi/vi_int.h"
#include "common/log.h"

#include <errno.h>
#include <etherfabric/pd.h>
#include <etherfabric/pio.h>
#include <etherfabric/vi.h>
#include <anyload/vi_ext.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int env_ring_size(const char* name, int req)
{
  const char* s;
  if (req >= 0)
    return req;
  s = getenv(name);
  return s && atoi(s) > 0 ? atoi(s) : VI_DEFAULT_RING;
}

int vi_alloc_on_queue(ef_vi* vi, ef_driver_handle vi_dh, struct ef_pd* pd,
                      int queue, int rxq_capacity, int txq_capacity,
                      enum ef_vi_flags flags)
{
  const struct vi_ops* ops;
  struct vi_pd* p;
  int rc;

  if (!vi || !pd || !pd->pd_priv || queue < 0)
    return -EINVAL;
  if (rxq_capacity > VI_MAX_RING || txq_capacity > VI_MAX_RING)
    return -EINVAL;
  p = pd->pd_priv;
  ops = p->ops ? p->ops : &afxdp_ops;
  rxq_capacity = env_ring_size("EF_VI_RXQ_SIZE", rxq_capacity);
  txq_capacity = env_ring_size("EF_VI_TXQ_SIZE", txq_capacity);
  if (rxq_capacity == 0)
    rxq_capacity = 1;
  if (txq_capacity == 0)
    txq_capacity = 1;
  rc = ops->vi_alloc(vi, vi_dh, p, queue, rxq_capacity, txq_capacity, flags);
  /* Auto mode: a kernel without AF_XDP (or XDP) gets the next backend. */
  while (rc < 0 && !p->ops && (ops = vi_backend_fallback(ops, rc))) {
    al_info("%s: falling back to the %s backend", p->ifname, ops->name);
    rc = ops->vi_alloc(vi, vi_dh, p, queue, rxq_capacity, txq_capacity,
                       flags);
  }
  if (rc < 0)
    return rc;
  pthread_mutex_lock(&p->lock);
  p->n_vis++;
  pthread_mutex_unlock(&p->lock);
  return rc;
}

int ef_vi_alloc_from_pd(ef_vi* vi, ef_driver_handle vi_dh, struct ef_pd* pd,
                        ef_driver_handle pd_dh, int evq_capacity,
                        int rxq_capacity, int txq_capacity, ef_vi* evq_opt,
                        ef_driver_handle evq_dh, enum ef_vi_flags flags)
{
  (void)pd_dh;
  (void)evq_capacity;
  (void)evq_dh;
  /* A shared event queue (evq_opt) needs several rings behind one poll:
   * not supported yet. */
  if (evq_opt)
    return -EOPNOTSUPP;
  return vi_alloc_on_queue(vi, vi_dh, pd, 0, rxq_capacity, txq_capacity,
                           flags);
}

int ef_vi_free(ef_vi* vi, ef_driver_handle nic)
{
  const struct vi_ops* ops = vi_backend(vi);
  struct vi_pd* p;
  int rc;
  (void)nic;

  if (!ops)
    return -EINVAL;
  p = ((struct vi_common*)vi->vi_priv)->pd;
  rc = ops->vi_free(vi);
  if (rc == 0) {
    pthread_mutex_lock(&p->lock);
    p->n_vis--;
    pthread_mutex_unlock(&p->lock);
  }
  return rc;
}

int anyload_vi_forget(ef_vi* vi)
{
  const struct vi_ops* ops = vi_backend(vi);
  struct vi_common* c;
  struct vi_pd* p;

  if (!ops)
    return -EINVAL;
  c = vi->vi_priv;
  if (c->owner_pid == getpid())
    return -EINVAL;   /* this process's own VI: ef_vi_free */
  if (!ops->forget)
    return -EOPNOTSUPP;
  p = c->pd;
  vi_live_remove(c);
  ops->forget(vi);
  pthread_mutex_lock(&p->lock);
  p->n_vis--;
  pthread_mutex_unlock(&p->lock);
  return 0;
}

int ef_vi_flush(ef_vi* vi, ef_driver_handle nic)
{
  const struct vi_ops* ops = vi_backend(vi);
  (void)nic;
  return ops ? ops->flush(vi) : -EINVAL;
}

int ef_vi_receive_post(ef_vi* vi, ef_addr addr, ef_request_id dma_id)
{
  int rc = ef_vi_receive_init(vi, addr, dma_id);
  if (rc == 0)
    ef_vi_receive_push(vi);
  return rc;
}

int ef_vi_transmit_init(ef_vi* vi, ef_addr addr, int bytes,
                        ef_request_id dma_id)
{
  ef_iovec iov = { .iov_base = addr, .iov_len = (unsigned)bytes };
  if (bytes <= 0)
    return -EINVAL;
  return vi->ops.transmitv_init(vi, &iov, 1, dma_id);
}

int ef_vi_transmit_unbundle(ef_vi* vi, const ef_event* ev,
                            ef_request_id* ids)
{
  ef_vi_txq_state* qs = &vi->ep_state->txq;
  uint32_t n, i;

  if (EF_EVENT_TYPE(*ev) != EF_EVENT_TYPE_TX &&
      EF_EVENT_TYPE(*ev) != EF_EVENT_TYPE_TX_ERROR)
    return -EINVAL;
  /* desc_id is the 16-bit ring position just after the last completion
   * the event covers; events are unbundled in the order they came. */
  n = (ev->tx.desc_id - qs->previous) & 0xffff;
  if (n > EF_VI_TRANSMIT_BATCH || n > qs->added - qs->removed)
    return -EINVAL;
  for (i = 0; i < n; i++)
    ids[i] = (ef_request_id)vi->vi_txq.ids[(qs->previous + i) &
                                           vi->vi_txq.mask];
  qs->previous += n;
  qs->removed += n;
  return (int)n;
}

int ef_vi_receive_unbundle(ef_vi* ep, const ef_event* event,
                           ef_request_id* ids)
{
  (void)ep; (void)event; (void)ids;
  return -EINVAL;
}

int ef_vi_receive_set_discards(ef_vi* vi, unsigned discard_err_flags)
{
  if (!vi_backend(vi))
    return -EINVAL;
  vi->rx_discard_mask = discard_err_flags;
  return 0;
}

static int read_prefix(ef_vi* vi, const void* pkt, struct vi_rx_prefix* px)
{
  if (!vi || !pkt || vi->rx_prefix_len < sizeof(*px))
    return -ENODATA;
  memcpy(px, pkt, sizeof(*px));
  if (px->magic != VI_RX_PREFIX_MAGIC)
    return -ENODATA;
  return 0;
}

int ef_vi_receive_get_timestamp_with_sync_flags(ef_vi* vi, const void* pkt,
                                                ef_timespec* ts_out,
                                                unsigned* flags_out)
{
  struct vi_rx_prefix px;
  int rc = read_prefix(vi, pkt, &px);

  if (rc < 0) {
    if (ts_out)
      ts_out->tv_sec = ts_out->tv_nsec = 0;
    return rc;
  }
  if (ts_out) {
    ts_out->tv_sec = (time_t)px.sec;
    ts_out->tv_nsec = (long)px.nsec;
  }
  /* Software time from the system clock: set and in sync by definition. */
  if (flags_out)
    *flags_out = EF_VI_SYNC_FLAG_CLOCK_SET | EF_VI_SYNC_FLAG_CLOCK_IN_SYNC;
  return 0;
}

int ef_vi_receive_get_timestamp(ef_vi* vi, const void* pkt,
                                ef_timespec* ts_out)
{
  return ef_vi_receive_get_timestamp_with_sync_flags(vi, pkt, ts_out, NULL);
}

int ef_vi_receive_get_precise_timestamp(ef_vi* vi, const void* pkt,
                                        ef_precisetime* ts_out)
{
  struct vi_rx_prefix px;
  int rc = read_prefix(vi, pkt, &px);
  if (rc < 0)
    return rc;
  ts_out->tv_sec = (int64_t)px.sec;
  ts_out->tv_nsec = px.nsec;
  ts_out->tv_nsec_frac = 0;
  ts_out->tv_flags = EF_VI_SYNC_FLAG_CLOCK_SET | EF_VI_SYNC_FLAG_CLOCK_IN_SYNC;
  return 0;
}

int ef_vi_receive_get_bytes(ef_vi* vi, const void* pkt, uint16_t* bytes_out)
{
  struct vi_rx_prefix px;
  int rc = read_prefix(vi, pkt, &px);
  if (rc < 0)
    return rc;
  *bytes_out = px.len;
  return 0;
}

int ef_eventq_has_event(const ef_vi* vi)
{
  const struct vi_ops* ops = vi_backend(vi);
  return ops ? ops->has_event(vi) : 0;
}

int ef_eventq_has_many_events(const ef_vi* evq, int n_events)
{
  (void)n_events;
  return ef_eventq_has_event(evq);
}

static int if_ioctl(const ef_vi* vi, unsigned long req, struct ifreq* ifr)
{
  const struct vi_common* c = vi ? vi->vi_priv : NULL;
  int fd, rc = 0;

  if (!c)
    return -EINVAL;
  memset(ifr, 0, sizeof(*ifr));
  snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", c->pd->ifname);
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (ioctl(fd, req, ifr) < 0)
    rc = -errno;
  close(fd);
  return rc;
}

unsigned ef_vi_mtu(ef_vi* vi, ef_driver_handle vi_dh)
{
  const struct vi_ops* ops = vi_backend(vi);
  struct ifreq ifr;
  unsigned mtu;
  (void)vi_dh;
  if (ops && ops->if_mtu)
    return ops->if_mtu(vi, &mtu) < 0 ? 0 : mtu + 14;
  if (if_ioctl(vi, SIOCGIFMTU, &ifr) < 0)
    return 0;
  return (unsigned)ifr.ifr_mtu + 14;
}

int ef_vi_get_mac(ef_vi* vi, ef_driver_handle vi_dh, void* mac_out)
{
  const struct vi_ops* ops = vi_backend(vi);
  struct ifreq ifr;
  int rc;
  (void)vi_dh;
  if (!mac_out)
    return -EINVAL;
  if (ops && ops->if_mac)
    return ops->if_mac(vi, mac_out);
  rc = if_ioctl(vi, SIOCGIFHWADDR, &ifr);
  if (rc < 0)
    return rc;
  memcpy(mac_out, ifr.ifr_hwaddr.sa_data, 6);
  return 0;
}

int ef_vi_stats_query_layout(ef_vi* vi,
                             const ef_vi_stats_layout**const layout_out)
{
  const struct vi_ops* ops = vi_backend(vi);
  if (!ops || !layout_out)
    return -EINVAL;
  *layout_out = ops->stats_layout();
  return 0;
}

int ef_vi_stats_query(ef_vi* vi, ef_driver_handle vi_dh, void* data,
                      int do_reset)
{
  const struct vi_ops* ops = vi_backend(vi);
  (void)vi_dh;
  if (!ops || !data)
    return -EINVAL;
  return ops->stats(vi, data, do_reset);
}

/* ---- what AF_XDP cannot do -------------------------------------------- */

int ef_vi_pace(ef_vi* vi, ef_driver_handle nic, int val)
{ (void)vi; (void)nic; (void)val; return -EOPNOTSUPP; }

int ef_eventq_put(unsigned resource_id, ef_driver_handle evq_dh,
                  unsigned ev_bits)
{ (void)resource_id; (void)evq_dh; (void)ev_bits; return -EOPNOTSUPP; }

int ef_vi_transmit_alt_alloc(struct ef_vi* vi, ef_driver_handle vi_dh,
                             int num_alts, size_t buf_space)
{ (void)vi; (void)vi_dh; (void)num_alts; (void)buf_space; return -EOPNOTSUPP; }

int ef_vi_transmit_alt_free(struct ef_vi* vi, ef_driver_handle vi_dh)
{ (void)vi; (void)vi_dh; return -EOPNOTSUPP; }

int ef_vi_transmit_alt_query_buffering(struct ef_vi* vi, int ifindex,
                                       ef_driver_handle vi_dh, int n_alts)
{ (void)vi; (void)ifindex; (void)vi_dh; (void)n_alts; return -EINVAL; }

int ef_vi_transmit_alt_num_ids(ef_vi* vi)
{ (void)vi; return 0; }

/* CTPIO: send through the ring instead, from the caller's plain memory. */
void ef_vi_transmitv_ctpio(ef_vi* vi, size_t frame_len,
                           const struct iovec* iov, int iov_len,
                           unsigned ctpio_thresh)
{
  (void)vi; (void)frame_len; (void)iov; (void)iov_len; (void)ctpio_thresh;
  /* The frame is in plain memory, not registered memory: the caller then
   * calls ef_vi_transmit_ctpio_fallback(), which sends it. Nothing to do
   * here, exactly as when a NIC's CTPIO attempt is poisoned. */
}

void ef_vi_transmitv_ctpio_copy(ef_vi* vi, size_t frame_len,
                                const struct iovec* iov, int iov_len,
                                unsigned ctpio_thresh, void* fallback)
{
  size_t off = 0;
  int i;
  (void)vi; (void)ctpio_thresh;
  /* Copy into the fallback buffer, which the caller then sends with
   * ef_vi_transmit_ctpio_fallback(). */
  for (i = 0; i < iov_len && off < frame_len; i++) {
    size_t n = iov[i].iov_len;
    if (n > frame_len - off)
      n = frame_len - off;
    memcpy((char*)fallback + off, iov[i].iov_base, n);
    off += n;
  }
}

int ef_pio_alloc(ef_pio* pio, ef_driver_handle pio_dh, struct ef_pd* pd,
                 unsigned len_hint, ef_driver_handle pd_dh)
{ (void)pio; (void)pio_dh; (void)pd; (void)len_hint; (void)pd_dh; return -EOPNOTSUPP; }
int ef_pio_free(ef_pio* pio, ef_driver_handle pio_dh)
{ (void)pio; (void)pio_dh; return -EOPNOTSUPP; }
int ef_pio_link_vi(ef_pio* pio, ef_driver_handle pio_dh, ef_vi* vi,
                   ef_driver_handle vi_dh)
{ (void)pio; (void)pio_dh; (void)vi; (void)vi_dh; return -EOPNOTSUPP; }
int ef_pio_unlink_vi(ef_pio* pio, ef_driver_handle pio_dh, ef_vi* vi,
                     ef_driver_handle vi_dh)
{ (void)pio; (void)pio_dh; (void)vi; (void)vi_dh; return -EOPNOTSUPP; }
int ef_pio_memcpy(ef_vi* vi, const void* base, int offset, int len)
{ (void)vi; (void)base; (void)offset; (void)len; return -EOPNOTSUPP; }

/* ---- anyload extensions ----------------------------------------------- */

const char* anyload_vi_backend(const ef_vi* vi)
{
  const struct vi_ops* ops = vi_backend(vi);
  return ops ? ops->name : NULL;
}

int anyload_vi_describe(const ef_vi* vi, char* buf, size_t len)
{
  const struct vi_ops* ops = vi_backend(vi);
  char detail[128] = "";

  if (!ops || !buf || !len)
    return -EINVAL;
  if (ops->describe)
    ops->describe(vi, detail, sizeof(detail));
  return snprintf(buf, len, "%s%s%s", ops->name, *detail ? ", " : "",
                  detail);
}

/* ---- VIs alive at exit ------------------------------------------------ */

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vi_common* live_vis;

static void release_live_at_exit(void)
{
  struct vi_common* c;

  pthread_mutex_lock(&live_lock);
  /* The list stays: the VIs are still the program's (and reachable). */
  for (c = live_vis; c; c = c->live_next)
    if (c->owner_pid == getpid() && c->ops->release_at_exit)
      c->ops->release_at_exit(c);
  pthread_mutex_unlock(&live_lock);
}

void vi_live_add(struct vi_common* c)
{
  static int registered;

  pthread_mutex_lock(&live_lock);
  if (!registered) {
    atexit(release_live_at_exit);
    registered = 1;
  }
  c->owner_pid = getpid();
  c->live_next = live_vis;
  live_vis = c;
  pthread_mutex_unlock(&live_lock);
}

void vi_live_remove(struct vi_common* c)
{
  struct vi_common** pp;

  pthread_mutex_lock(&live_lock);
  for (pp = &live_vis; *pp; pp = &(*pp)->live_next)
    if (*pp == c) {
      *pp = c->live_next;
      break;
    }
  pthread_mutex_unlock(&live_lock);
}

unsigned vi_if_mtu(const char* ifname)
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
