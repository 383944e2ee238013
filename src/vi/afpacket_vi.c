/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afpacket_vi.c: ef_vi over one AF_PACKET socket, for kernels or
 * interfaces where AF_XDP or XDP is missing or not allowed.
 *
 * The socket (SOCK_RAW, bound to the interface for every EtherType)
 * carries a socket filter that keeps only the frames of this VI's filters
 * and a memory-mapped RX ring; a tc ingress program keeps the same frames
 * from the kernel (afpacket_bpf.c).
 *
 * Receive: ef_eventq_poll() takes frames off the RX ring in ring order,
 * copies each into the next posted buffer(s) (vi_rx_deliver: checks, RX
 * prefix with the kernel's receive time) and hands the ring frame back.
 * A frame too large for a ring frame comes from the socket's queue instead
 * (TP_STATUS_COPY); a VLAN tag the stack took out of the frame is put back,
 * so the VI sees the frame as it was on the wire, as on AF_XDP.
 *
 * Transmit: ef_vi_transmitv_init() notes the frame's gather list;
 * ef_vi_transmit_push() hands every noted frame to the kernel with one
 * send()/sendmmsg() that copies it from the registered memory; a frame the
 * kernel took is complete, and completions are reported in posting order
 * as TX events (swq.c). The kernel's refusals for want of room (EAGAIN,
 * ENOBUFS) are retried from the poll loop; other refusals become
 * TX_ERROR events.
 *
 * Call order on the fast path: eventq_poll -> [rx_poll, report drops,
 * tx_send (retry), tx_events]; transmit -> transmitv_init -> transmit_push
 * -> tx_send.
 *
 * Why TPACKET_V2, send() and PACKET_QDISC_BYPASS (eflatency RTT on veth,
 * 28-byte payload, 100000 round trips, ping and pong pinned to CPUs 0
 * and 1, median / p99 in us; the variants are in the commit "afpacket:
 * measurement variants (TPACKET_V3 RX, PACKET_TX_RING TX, ...)"):
 *   V2 ring, send(), qdisc bypass        3.72 / 4.26   3.64 / 4.23
 *   V2 ring, send(), through the qdisc   3.78 / 4.34   3.76 / 4.38
 *   V2 ring, PACKET_TX_RING + kick       4.42 / 4.96   4.53 / 5.12
 *   V3 ring, block retire timeout 1 ms   999.9 / 1008
 *   V3 ring, kernel's default timeout    8000 / 20002
 * TPACKET_V3 hands frames over a block at a time, when the block is full
 * or its retire timer (1 ms at the least) fires, so at ping-pong rates
 * every frame waits for the timer; it is a throughput format. V2 hands
 * each frame over as it is written. A TX ring costs 0.7-0.9 us more per
 * round trip than send() (the kernel walks the ring and builds each skb
 * around the ring frame, and a frame is complete only when that skb is
 * freed, whenever the path to the wire lets go of it), while a send()
 * that returns has copied the frame: its completion is immediate and in
 * order, with no ring to scan.
 * Bypassing the qdisc (as AF_XDP does) saves about 0.1 us.
 */
#include "vi/afpacket_int.h"
#include "vi/gso_tx.h"
#include "vi/swq.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <etherfabric/vi.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* RX ring geometry: frames of AFPACKET_FRAME_MIN bytes or more (a power of
 * two holding the largest frame of the MTU after the ring's header), in
 * blocks of AFPACKET_BLOCK_SIZE. 8192 frames, 16 MiB at a 1500-byte MTU
 * (the memory of AF_XDP's receive chunks): 41 ms of frames at 200000/s.
 * With 4096, tests/integration/million_packets.sh lost 0.1-0.5 % of its
 * frames on a busy 2-CPU machine, whenever the receiver lost its CPU for
 * more than the ring's 20 ms. */
#define AFPACKET_FRAME_MIN   2048u
#define AFPACKET_BLOCK_SIZE  65536u
#define AFPACKET_RX_FRAMES   8192u
/* Room a ring frame needs before the Ethernet header: the tpacket2_hdr,
 * the sockaddr_ll and the alignment of the network header (see
 * tpacket_rcv(): macoff = TPACKET_ALIGN(hdrlen + 16) - 14). */
#define AFPACKET_RX_HEADROOM (TPACKET_ALIGN(TPACKET2_HDRLEN + 16))
/* Frames larger than a ring frame are read from the socket queue into a
 * buffer this big (GRO can build frames up to 64 KiB). */
#define AFPACKET_BIG_FRAME   (65536u + 4u)
/* Gather lists up to this long are kept as they are; longer ones are
 * copied into a bounce buffer at transmitv_init time. */
#define AFPACKET_TX_IOV      4
/* Frames per sendmmsg() call. */
#define AFPACKET_TX_BATCH    32

struct afpacket_txd {
  uint32_t     len;
  uint16_t     niov;
  struct iovec iov[AFPACKET_TX_IOV];
};

struct afpacket_vi {
  struct vi_common     common;      /* must be first */
  struct vi_swq        q;
  int                  fd;
  struct afpacket_bpf* bpf;
  int                  queue;
  uint32_t             max_frame;   /* MTU + Ethernet + VLAN header */
  /* RX ring */
  uint8_t*             ring;
  size_t               ring_len;
  uint32_t             frame_size;
  uint32_t             frame_nr;
  uint32_t             rx_head;     /* next ring frame to look at */
  uint8_t*             big;         /* AFPACKET_BIG_FRAME bytes, lazily */
  int                  held;        /* a frame in big[] waits for room */
  uint32_t             held_off;
  uint32_t             held_len;
  /* TX */
  struct afpacket_txd* txd;         /* by slot */
  char*                bounce;      /* max_frame bytes per slot, lazily */
  uint32_t             tx_sent;     /* slots below were handed over */
  int                  tx_retry;    /* the kernel said "later" */
  /* kernel drops (PACKET_STATISTICS resets on read: we add up) */
  uint32_t             drop_check_budget;   /* vi_drop_check_tick */
  int                  drop_check_due;
  uint64_t             k_packets, k_drops;
  uint64_t             no_desc_pending;
  uint64_t             kstats_base[2];
  struct vi_gso_tx     gso;         /* ef_vi_transmitv_gso */
  struct vi_fmaps_filter filters[VI_MAX_FILTERS];
};

static inline struct afpacket_vi* vi_of(const ef_vi* vi)
{
  return (struct afpacket_vi*)vi->vi_priv;
}

static inline struct tpacket2_hdr* rx_frame(const struct afpacket_vi* v,
                                            uint32_t i)
{
  return (struct tpacket2_hdr*)(v->ring + (size_t)i * v->frame_size);
}

/* Ring frame ownership: the kernel writes a frame and then sets
 * TP_STATUS_USER in tp_status (with a write barrier, see
 * __packet_set_status()); we read tp_status with acquire so that the
 * frame's bytes are read after it, and give the frame back by storing
 * TP_STATUS_KERNEL with release, after our last read of the frame. */
static inline uint32_t rx_status(const struct tpacket2_hdr* h)
{
  return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
}

static inline void rx_release(struct tpacket2_hdr* h)
{
  __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/* ---- receive ------------------------------------------------------------ */

/* Kernel drops (RX ring full: the program did not keep up) are reported as
 * RX_NO_DESC_TRUNC events, one per frame, like a NIC's. PACKET_STATISTICS
 * is a system call and resets the kernel's counters, so it is read when a
 * frame says TP_STATUS_LOSING and otherwise as vi_drop_check_tick
 * (vi_int.h) paces it. */
static void read_kernel_stats(struct afpacket_vi* v)
{
  struct tpacket_stats st;
  socklen_t len = sizeof(st);

  v->drop_check_due = 0;
  v->drop_check_budget = VI_DROP_CHECK_BUDGET;
  if (getsockopt(v->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
    return;
  v->k_packets += st.tp_packets;
  v->k_drops += st.tp_drops;
  v->no_desc_pending += st.tp_drops;
  v->q.c.rx_no_desc += st.tp_drops;
}

static int report_kernel_drops(ef_vi* vi, struct afpacket_vi* v,
                               ef_event* evs, int budget, bool received)
{
  int n = 0;

  if (v->drop_check_due ||
      vi_drop_check_tick(&v->drop_check_budget, received))
    read_kernel_stats(v);
  while (v->no_desc_pending && n < budget) {
    evs[n].rx_no_desc_trunc.type = EF_EVENT_TYPE_RX_NO_DESC_TRUNC;
    evs[n].rx_no_desc_trunc.q_id = vi->vi_i;
    v->no_desc_pending--;
    n++;
  }
  return n;
}

static uint8_t* big_buf(struct afpacket_vi* v)
{
  if (!v->big)
    v->big = malloc(AFPACKET_BIG_FRAME);
  return v->big;
}

/* The frame of ring slot h as the VI must see it, in (*frame, *len).
 * Returns 0, or -1 when the frame is lost (counted; no event can be made
 * without it). */
static int rx_frame_bytes(struct afpacket_vi* v, struct tpacket2_hdr* h,
                          uint32_t st, const uint8_t** frame, uint32_t* len)
{
  const uint8_t* f = (const uint8_t*)h + h->tp_mac;
  uint32_t n = h->tp_snaplen;
  uint8_t* big;

  if (v->held) {
    *frame = v->big + v->held_off;
    *len = v->held_len;
    return 0;
  }
  if (!(st & (TP_STATUS_COPY | TP_STATUS_VLAN_VALID)) && n == h->tp_len &&
      h->tp_mac + n <= v->frame_size) {
    *frame = f;
    *len = n;
    return 0;
  }
  big = big_buf(v);
  if (!big || (n < h->tp_len && !(st & TP_STATUS_COPY))) {
    /* Too large for the ring and the socket queue was full: dropped. */
    v->no_desc_pending++;
    v->q.c.rx_no_desc++;
    return -1;
  }
  /* Leave room for a VLAN tag in front: big[] = [tag room][frame]. */
  if (st & TP_STATUS_COPY) {
    /* The whole frame waits, in order, on the socket's queue. */
    ssize_t r = recv(v->fd, big + 4, AFPACKET_BIG_FRAME - 4,
                     MSG_DONTWAIT | MSG_TRUNC);
    if (r < ETH_HLEN || r > (ssize_t)(AFPACKET_BIG_FRAME - 4)) {
      v->no_desc_pending++;
      v->q.c.rx_no_desc++;
      return -1;
    }
    n = (uint32_t)r;
  } else {
    /* Only the VLAN tag to put back (the kernel keeps snaplen within the
     * ring frame; checked anyway, as we are about to read that much). */
    if (n < ETH_HLEN || h->tp_mac + n > v->frame_size) {
      v->q.c.rx_discard_other++;
      return -1;
    }
    memcpy(big + 4, f, n);
  }
  if (!(st & TP_STATUS_VLAN_VALID)) {
    *frame = big + 4;
    *len = n;
    return 0;
  }
  {
    /* Put the tag back between the MAC addresses and the EtherType. */
    uint16_t tpid = (st & TP_STATUS_VLAN_TPID_VALID) ? h->tp_vlan_tpid
                                                     : ETH_P_8021Q;
    uint16_t tpid_be = htons(tpid), tci_be = htons(h->tp_vlan_tci);
    memmove(big, big + 4, 12);
    memcpy(big + 12, &tpid_be, 2);
    memcpy(big + 14, &tci_be, 2);
  }
  *frame = big;
  *len = n + 4;
  return 0;
}

static int rx_poll(ef_vi* vi, struct afpacket_vi* v, ef_event* evs,
                   int budget)
{
  int n = 0, frames = 0;

  while (n < budget && frames < (int)v->frame_nr) {
    struct tpacket2_hdr* h = rx_frame(v, v->rx_head);
    uint32_t st = rx_status(h);
    const uint8_t* frame;
    uint32_t len;
    int got = 0;

    if (!(st & TP_STATUS_USER))
      break;
    if (st & TP_STATUS_LOSING)
      v->drop_check_due = 1;
    if (rx_frame_bytes(v, h, st, &frame, &len) == 0) {
      struct timespec ts = { .tv_sec = h->tp_sec, .tv_nsec = h->tp_nsec };
      got = vi_rx_deliver(vi, &v->q, frame, len, evs + n, budget - n, budget,
                          &ts);
      if (got == 0) {
        /* No room in this poll's array: keep the frame for the next. A
         * frame taken off the socket queue cannot be read again, so it
         * stays in big[]. */
        if (v->big && frame >= v->big &&
            frame < v->big + AFPACKET_BIG_FRAME) {
          v->held = 1;
          v->held_off = (uint32_t)(frame - v->big);
          v->held_len = len;
        }
        break;
      }
    }
    v->held = 0;
    rx_release(h);
    v->rx_head = v->rx_head + 1 == v->frame_nr ? 0 : v->rx_head + 1;
    frames++;
    n += got;
  }
  return n;
}

static int afpacket_receive_init(ef_vi* vi, ef_addr addr, ef_request_id id)
{
  return vi_receive_init(vi, &vi_of(vi)->q, addr, id);
}

/* Buffers are ours to fill once pushed: the ring is the kernel's and is
 * handed back frame by frame, independently of posted buffers. */
static void afpacket_receive_push(ef_vi* vi)
{
  vi_receive_push(&vi_of(vi)->q);
}

/* ---- transmit ----------------------------------------------------------- */

static inline int tx_errno_is_later(int e)
{
  return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EINTR;
}

/* Hand every noted frame from tx_sent on to the kernel, in order, in
 * batches; a frame refused for good is marked ERROR, one refused for want
 * of room stops the walk until the next poll. */
static void tx_send(struct afpacket_vi* v)
{
  struct vi_swq* q = &v->q;
  uint32_t added = q->state.txq.added;
  struct mmsghdr msgs[AFPACKET_TX_BATCH];
  uint32_t slots[AFPACKET_TX_BATCH];
  int rounds = (int)(q->tx_mask + 1);

  v->tx_retry = 0;
  /* Slots below tx_evented are finished and reported, and vi_tx_events()
   * has reset their state to PENDING for reuse: never look at them (an
   * ERROR slot that was never walked over gets there). */
  if ((int32_t)(q->tx_evented - v->tx_sent) > 0)
    v->tx_sent = q->tx_evented;
  while (v->tx_sent != added && rounds-- > 0) {
    uint32_t k = 0, i;
    int r;

    /* Consecutive PENDING slots (ERROR slots are already final). */
    while (v->tx_sent != added && k == 0 &&
           q->tx_state[v->tx_sent & q->tx_mask] != VI_TXS_PENDING)
      v->tx_sent++;
    for (i = v->tx_sent; i != added && k < AFPACKET_TX_BATCH; i++) {
      struct afpacket_txd* d = &v->txd[i & q->tx_mask];
      if (q->tx_state[i & q->tx_mask] != VI_TXS_PENDING)
        break;
      memset(&msgs[k], 0, sizeof(msgs[k]));
      msgs[k].msg_hdr.msg_iov = d->iov;
      msgs[k].msg_hdr.msg_iovlen = d->niov;
      slots[k++] = i;
    }
    if (k == 0)
      break;
    q->c.tx_kicks++;
    if (k == 1) {
      const struct afpacket_txd* d = &v->txd[slots[0] & q->tx_mask];
      r = d->niov == 1
          ? (send(v->fd, d->iov[0].iov_base, d->iov[0].iov_len,
                  MSG_DONTWAIT) < 0 ? -1 : 1)
          : (sendmsg(v->fd, &msgs[0].msg_hdr, MSG_DONTWAIT) < 0 ? -1 : 1);
    } else {
      r = sendmmsg(v->fd, msgs, k, MSG_DONTWAIT);
    }
    if (r < 0) {
      if (tx_errno_is_later(errno)) {
        v->tx_retry = 1;
        return;
      }
      /* Refused for good (EMSGSIZE, EINVAL, ENETDOWN, ENXIO ...): the
       * frame fails, the ones after it go on. */
      q->c.tx_kick_errors++;
      q->tx_state[slots[0] & q->tx_mask] = VI_TXS_ERROR;
      v->tx_sent = slots[0] + 1;
      continue;
    }
    for (i = 0; i < (uint32_t)r; i++)
      q->tx_state[slots[i] & q->tx_mask] = VI_TXS_DONE;
    v->tx_sent = slots[r - 1] + 1;
  }
}

static int afpacket_transmitv_init(ef_vi* vi, const ef_iovec* iov,
                                   int iovcnt, ef_request_id id)
{
  struct afpacket_vi* v = vi_of(vi);
  const struct vi_pd* pd = v->common.pd;
  struct afpacket_txd* d;
  int total, i;

  total = vi_tx_slot_begin(vi, &v->q, iov, iovcnt);
  if (total < 0)
    return total;
  if ((uint32_t)total > v->max_frame) {
    /* Too big for the link: the NIC way is a TX_ERROR event. */
    v->q.c.tx_error_2big++;
    vi_tx_slot_add(&v->q, id, VI_TXS_ERROR);
    return 0;
  }
  d = &v->txd[v->q.state.txq.added & v->q.tx_mask];
  d->len = (uint32_t)total;
  if (iovcnt <= AFPACKET_TX_IOV) {
    /* The kernel copies straight from registered memory at send time;
     * the caller keeps the buffers until the TX event, as on a NIC. */
    for (i = 0; i < iovcnt; i++) {
      d->iov[i].iov_base = vi_pd_translate(pd, iov[i].iov_base,
                                           iov[i].iov_len);
      d->iov[i].iov_len = iov[i].iov_len;
    }
    d->niov = (uint16_t)iovcnt;
  } else {
    char* b;
    if (!v->bounce) {
      v->bounce = malloc((size_t)(v->q.tx_mask + 1) * v->max_frame);
      if (!v->bounce)
        return -ENOMEM;
    }
    b = v->bounce +
        (size_t)(v->q.state.txq.added & v->q.tx_mask) * v->max_frame;
    vi_tx_gather(pd, iov, iovcnt, b);
    d->iov[0].iov_base = b;
    d->iov[0].iov_len = (size_t)total;
    d->niov = 1;
  }
  v->q.c.tx_frames++;
  v->q.c.tx_bytes += (uint64_t)total;
  vi_tx_slot_add(&v->q, id, VI_TXS_PENDING);
  return 0;
}

static void afpacket_transmit_push(ef_vi* vi)
{
  struct afpacket_vi* v = vi_of(vi);

  if (v->tx_sent != v->q.state.txq.added)
    tx_send(v);
}

static int afpacket_transmitv(ef_vi* vi, const ef_iovec* iov, int iovcnt,
                              ef_request_id id)
{
  int rc = afpacket_transmitv_init(vi, iov, iovcnt, id);
  if (rc == 0)
    afpacket_transmit_push(vi);
  return rc;
}

/* tx_on_wire: every frame handed to the kernel has left the device: the
 * socket's send-buffer charge (SIOCOUTQ) falls to 0 when the driver frees
 * the last one. */
static int tx_on_wire(const struct afpacket_vi* v)
{
  int queued = 0;

  return ioctl(v->fd, SIOCOUTQ, &queued) == 0 && queued == 0;
}

/* Super-frames go through their own packet socket (gso_tx.c) and the
 * queueing layer, frames through this one past it: with one TX queue the
 * frames sent before wait in it ahead of the super-frame; with several,
 * the kernel may put the two on different queues, so the frames must have
 * left the device first (a few looks, then -EAGAIN: the caller sends the
 * segments through the ring instead). Frames posted before are pushed
 * first; -EAGAIN too when the kernel said "later" to some of them. */
static int afpacket_transmitv_gso(ef_vi* vi, const struct iovec* iov, int n,
                                  unsigned gso_size)
{
  struct afpacket_vi* v = vi_of(vi);
  int tries, rc;

  if ((rc = vi_gso_tx_open(&v->gso)) < 0)
    return rc;
  afpacket_transmit_push(vi);
  if (v->tx_sent != v->q.state.txq.added)
    return -EAGAIN;
  for (tries = 0; !v->gso.one_txq && !tx_on_wire(v); tries++)
    if (tries == 3)
      return -EAGAIN;
  return vi_gso_tx_send(&v->gso, &v->q.c, iov, n, gso_size);
}

static int afpacket_transmit(ef_vi* vi, ef_addr base, int len,
                             ef_request_id id)
{
  ef_iovec iov = { .iov_base = base, .iov_len = (unsigned)len };
  if (len <= 0)
    return -EINVAL;
  return afpacket_transmitv(vi, &iov, 1, id);
}

/* ---- event queue -------------------------------------------------------- */

static int afpacket_eventq_poll(ef_vi* vi, ef_event* evs, int evs_len)
{
  struct afpacket_vi* v = vi_of(vi);
  int n, rx_budget;

  if (evs_len < 1)
    return 0;
  /* Keep one slot for TX events when the array allows it. */
  rx_budget = evs_len > 1 ? evs_len - 1 : evs_len;
  n = rx_poll(vi, v, evs, rx_budget);
  if (n < rx_budget)
    n += report_kernel_drops(vi, v, evs + n, rx_budget - n, n > 0);
  if (v->tx_retry)
    tx_send(v);
  if (v->q.tx_evented != v->q.state.txq.added)
    n += vi_tx_events(vi, &v->q, evs + n, evs_len - n);
  v->q.state.evq.evq_ptr += (uint32_t)n;
  vi_arm_note_poll(&v->common, n);
  return n;
}

static void afpacket_fill_ops(ef_vi* vi)
{
  vi->ops.transmit = afpacket_transmit;
  vi->ops.transmitv = afpacket_transmitv;
  vi->ops.transmitv_init = afpacket_transmitv_init;
  vi->ops.transmit_push = afpacket_transmit_push;
  vi->ops.transmitv_gso = afpacket_transmitv_gso;
  vi->ops.receive_init = afpacket_receive_init;
  vi->ops.receive_push = afpacket_receive_push;
  vi->ops.eventq_poll = afpacket_eventq_poll;
}

/* ---- allocation --------------------------------------------------------- */


/* Ethernet only: the filter lookup and the frames the VI sees start with
 * an Ethernet header. */
static int if_is_ethernet(const char* ifname)
{
  struct ifreq ifr;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), eth = 1;

  if (fd < 0)
    return 1;   /* let the socket calls report the problem */
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
    eth = ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
  close(fd);
  return eth;
}

static int setopt(int fd, int level, int name, int val)
{
  return setsockopt(fd, level, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

/* Socket options and the RX ring, before the socket is bound (a socket
 * made with protocol 0 receives nothing until then, so no frame arrives
 * before its filter). */
static int setup_socket(struct afpacket_vi* v)
{
  struct tpacket_req req;
  uint32_t need = AFPACKET_RX_HEADROOM + v->max_frame;
  int prog_fd = afpacket_bpf_sock_prog(v->bpf);
  int rc;

  v->frame_size = AFPACKET_FRAME_MIN;
  while (v->frame_size < need)
    v->frame_size <<= 1;
  memset(&req, 0, sizeof(req));
  req.tp_frame_size = v->frame_size;
  req.tp_block_size = v->frame_size > AFPACKET_BLOCK_SIZE ? v->frame_size
                                                          : AFPACKET_BLOCK_SIZE;
  req.tp_block_nr = AFPACKET_RX_FRAMES / (req.tp_block_size / v->frame_size);
  if (req.tp_block_nr == 0)
    req.tp_block_nr = 1;
  req.tp_frame_nr = req.tp_block_nr * (req.tp_block_size / v->frame_size);
  v->frame_nr = req.tp_frame_nr;

  if ((rc = setopt(v->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2)) < 0)
    return rc;
  /* Outgoing frames (ours and the kernel's) are not for the VI. Kernels
   * before 4.20 lack the option; the socket filter drops them there. */
  if ((rc = setopt(v->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)) < 0 &&
      rc != -ENOPROTOOPT)
    return rc;
  /* Frames larger than a ring frame are also queued whole on the socket
   * (TP_STATUS_COPY), to be read with recv(). */
  if ((rc = setopt(v->fd, SOL_PACKET, PACKET_COPY_THRESH, 1)) < 0)
    return rc;
  /* Send straight to the driver, as AF_XDP does: no qdisc (an
   * optimisation: not fatal where the kernel refuses it). */
  (void)setopt(v->fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
  if ((rc = setopt(v->fd, SOL_SOCKET, SO_ATTACH_BPF, prog_fd)) < 0)
    return rc;
  if (setsockopt(v->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
    return -errno;
  v->ring_len = (size_t)req.tp_block_size * req.tp_block_nr;
  v->ring = mmap(NULL, v->ring_len, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_POPULATE, v->fd, 0);
  if (v->ring == MAP_FAILED) {
    v->ring = NULL;
    return -errno;
  }
  return 0;
}

static int bind_socket(struct afpacket_vi* v, int ifindex)
{
  struct sockaddr_ll sll;

  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(v->fd, (struct sockaddr*)&sll, sizeof(sll)) < 0)
    return -errno;
  return 0;
}

static void vi_teardown(struct afpacket_vi* v)
{
  if (v->bpf)
    afpacket_bpf_close(v->bpf);
  if (v->ring)
    munmap(v->ring, v->ring_len);
  if (v->fd >= 0)
    close(v->fd);
  vi_gso_tx_fini(&v->gso);
  vi_swq_free(&v->q);
  free(v->txd);
  free(v->bounce);
  free(v->big);
  free(v);
}

static int afpacket_vi_alloc(ef_vi* vi, ef_driver_handle dh,
                             struct vi_pd* pd, int queue, int rxq_size,
                             int txq_size, enum ef_vi_flags flags)
{
  struct afpacket_vi* v;
  uint32_t rxn = (uint32_t)vi_ring_size(rxq_size);
  uint32_t txn = (uint32_t)vi_ring_size(txq_size);
  int rc;

  if (flags & (EF_VI_TX_ALT | EF_VI_RX_PACKED_STREAM | EF_VI_TX_CTPIO |
               EF_VI_RX_EVENT_MERGE | EF_VI_RX_ZEROCOPY))
    return -EOPNOTSUPP;
  if (!if_is_ethernet(pd->ifname)) {
    al_err("AF_PACKET: %s is not an Ethernet interface", pd->ifname);
    return -EOPNOTSUPP;
  }
  v = calloc(1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  v->common.ops = &afpacket_ops;
  v->common.pd = pd;
  v->common.dh = dh;
  v->fd = -1;
  v->queue = queue;
  vi_gso_tx_init(&v->gso, pd->ifindex);
  v->max_frame = vi_if_mtu(pd->ifname) + ETH_HLEN + 4;
  v->drop_check_budget = VI_DROP_CHECK_BUDGET;
  memset(vi, 0, sizeof(*vi));
  v->txd = calloc(txn, sizeof(*v->txd));
  if (!v->txd || vi_swq_init(&v->q, vi, rxn, txn) < 0) {
    free(v->txd);
    free(v);
    return -ENOMEM;
  }

  v->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (v->fd < 0) {
    rc = -errno;
    if (rc == -EPERM || rc == -EACCES) {
      al_err("AF_PACKET sockets need CAP_NET_RAW (or root)");
      rc = -EPERM;
    } else if (rc == -EINVAL || rc == -EPROTONOSUPPORT) {
      rc = -EAFNOSUPPORT;
    }
    goto fail;
  }
  rc = afpacket_bpf_open(pd->ifindex, queue, &v->bpf);
  if (rc < 0)
    goto fail;
  rc = setup_socket(v);
  if (rc < 0) {
    al_err("AF_PACKET socket set-up on %s failed: %s", pd->ifname,
           strerror(-rc));
    goto fail;
  }
  rc = bind_socket(v, pd->ifindex);
  if (rc < 0) {
    al_err("AF_PACKET bind to %s failed: %s", pd->ifname, strerror(-rc));
    goto fail;
  }

  vi_vi_defaults(vi, dh, (unsigned)queue, flags);
  vi->vi_resource_id = (unsigned)v->bpf->slot;
  vi->nic_type.arch = EF_VI_ARCH_AF_PACKET;
  vi->nic_type.variant = 'P';
  vi->vi_priv = v;
  afpacket_fill_ops(vi);

  vi_arm_init(&v->common, v->fd);
  vi_live_add(&v->common);
  al_info("VI on %s: AF_PACKET TPACKET_V2, %u ring frames of %u bytes, "
          "slot %d, %s", pd->ifname, v->frame_nr, v->frame_size,
          v->bpf->slot, v->bpf->mode == AFPACKET_TC_TCX ? "tcx" : "clsact");
  return queue;

fail:
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

static int afpacket_flush(ef_vi* vi)
{
  struct afpacket_vi* v = vi_of(vi);
  int64_t deadline = mono_ns() + 1000000000;

  for (;;) {
    tx_send(v);
    if (vi_tx_all_done(&v->q))
      break;
    if (mono_ns() > deadline)
      return -ETIMEDOUT;
    usleep(100);
  }
  v->q.state.rxq.removed = v->q.state.rxq.added;
  v->q.state.rxq.posted = v->q.state.rxq.added;
  return 0;
}

static int afpacket_vi_free(ef_vi* vi)
{
  struct afpacket_vi* v = vi_of(vi);

  (void)afpacket_flush(vi);
  vi_live_remove(&v->common);
  vi_disarm(&v->common);
  vi_teardown(v);
  vi->vi_priv = NULL;
  vi->inited = 0;
  return 0;
}

/* ---- filters, events, stats -------------------------------------------- */

static int afpacket_filter_add(ef_vi* vi, const ef_filter_spec* fs, int* id)
{
  struct afpacket_vi* v = vi_of(vi);
  int i, rc;

  if (!v->bpf)
    return -EINVAL;   /* released at exit */
  for (i = 0; i < VI_MAX_FILTERS; i++)
    if (!v->filters[i].used)
      break;
  if (i == VI_MAX_FILTERS)
    return -ENOSPC;
  rc = afpacket_bpf_filter_add(v->bpf, fs, &v->filters[i]);
  if (rc < 0)
    return rc;
  *id = i;
  return 0;
}

static int afpacket_filter_del(ef_vi* vi, int id)
{
  struct afpacket_vi* v = vi_of(vi);
  if (id < 0 || id >= VI_MAX_FILTERS || !v->filters[id].used || !v->bpf)
    return -EINVAL;
  return afpacket_bpf_filter_del(v->bpf, &v->filters[id]);
}

static int afpacket_has_event(const ef_vi* vi)
{
  const struct afpacket_vi* v = vi_of(vi);

  if (rx_status(rx_frame(v, v->rx_head)) & TP_STATUS_USER)
    return 1;
  if (v->no_desc_pending)
    return 1;
  if (v->q.tx_evented != v->q.state.txq.added &&
      v->q.tx_state[v->q.tx_evented & v->q.tx_mask] != VI_TXS_PENDING)
    return 1;
  return 0;
}

static int afpacket_wait_fd(const ef_vi* vi)
{
  return vi_of(vi)->fd;
}

#define N_KSTATS 2
#define N_TCSTATS 2
/* The packet socket's counters, the VI's own, then the tc program's. */
static const char* const stat_names[] = {
  "pkt_rx_packets", "pkt_rx_drops",
  VI_SWQ_COUNTER_NAMES,
  "tc_claimed", "tc_blocked",
};
#define N_STATS ((int)(sizeof(stat_names) / sizeof(stat_names[0])))
_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) ==
               N_KSTATS + VI_SWQ_N_COUNTERS + N_TCSTATS,
               "stats names out of step with the counters");

static const ef_vi_stats_layout* afpacket_stats_layout(void)
{
  static uint64_t storage[(VI_STATS_LAYOUT_SIZE(N_STATS) + 7) / 8];
  return vi_stats_layout_make(storage, stat_names, N_STATS);
}

static int afpacket_stats(ef_vi* vi, uint64_t* vals, int do_reset)
{
  struct afpacket_vi* v = vi_of(vi);
  uint64_t tc[AL_STAT_MAX] = { 0 };

  read_kernel_stats(v);
  vals[0] = v->k_packets - v->kstats_base[0];
  vals[1] = v->k_drops - v->kstats_base[1];
  memcpy(&vals[N_KSTATS], &v->q.c, sizeof(v->q.c));
  if (v->bpf)
    afpacket_bpf_stats(v->bpf, tc);
  vals[N_KSTATS + VI_SWQ_N_COUNTERS] = tc[AL_STAT_REDIRECTED];
  vals[N_KSTATS + VI_SWQ_N_COUNTERS + 1] = tc[AL_STAT_BLOCKED];
  if (do_reset) {
    v->kstats_base[0] = v->k_packets;
    v->kstats_base[1] = v->k_drops;
    memset(&v->q.c, 0, sizeof(v->q.c));
  }
  return 0;
}

static void afpacket_describe(const ef_vi* vi, char* buf, size_t len)
{
  const struct afpacket_vi* v = vi_of(vi);
  snprintf(buf, len, "AF_PACKET TPACKET_V2, %s, slot %d",
           !v->bpf ? "released"
           : v->bpf->mode == AFPACKET_TC_TCX ? "tcx ingress"
           : "clsact ingress with heartbeats",
           v->bpf ? v->bpf->slot : -1);
}

static void afpacket_release_at_exit(struct vi_common* c)
{
  struct afpacket_vi* v = (struct afpacket_vi*)c;
  if (v->bpf) {
    afpacket_bpf_close(v->bpf);
    v->bpf = NULL;
  }
}

/* afpacket_forget: see vi_ops.forget. The packet socket's copy is
 * closed (the parent's socket keeps its filter and ring); nothing reaches
 * the driver handle's epoll set, which is the parent's too. */
static void afpacket_forget(ef_vi* vi)
{
  struct afpacket_vi* v = vi_of(vi);

  if (v->bpf)
    afpacket_bpf_forget(v->bpf);
  v->bpf = NULL;
  vi_teardown(v);
  vi->vi_priv = NULL;
  vi->inited = 0;
}

const struct vi_ops afpacket_ops = {
  .name = "afpacket",
  .release_at_exit = afpacket_release_at_exit,
  .forget = afpacket_forget,
  .vi_alloc = afpacket_vi_alloc,
  .vi_free = afpacket_vi_free,
  .filter_add = afpacket_filter_add,
  .filter_del = afpacket_filter_del,
  .has_event = afpacket_has_event,
  .wait_fd = afpacket_wait_fd,
  .flush = afpacket_flush,
  .stats_layout = afpacket_stats_layout,
  .stats = afpacket_stats,
  .describe = afpacket_describe,
};
