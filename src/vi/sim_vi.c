/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/sim_vi.c: the "sim" backend (VI layer): ef_vi over a simulated link
 * (sim_link.c), with the ring semantics of every backend (swq.c), so that
 * a program or the stack sees what it would see on AF_XDP.
 *
 * Transmit: ef_vi_transmitv_init() checks the frame (-EAGAIN ring full,
 * -EINVAL bad address; over the MTU a TX_ERROR 2BIG slot) and copies it
 * into a staged frame; ef_vi_transmit_push() offers the staged frames to
 * the link, which tells when each has left the sender: the slot completes
 * then, and completions are reported in posting order (vi_tx_events).
 *
 * Receive: frames whose arrival time has come are popped off the link and
 * steered to one VI of the interface (below), into its backlog (at most
 * SIM_BACKLOG_MAX frames, like the kernel ring of AF_XDP; beyond, a
 * RX_NO_DESC_TRUNC event); ef_eventq_poll() copies backlog frames into the
 * posted buffers in posting order (vi_rx_deliver: RX, RX_DISCARD, and
 * RX_NO_DESC_TRUNC when no buffer is posted).
 *
 * Filters on a sim interface work as the XDP program does on a real one
 * (bpf/anyload_xdp.bpf.c), most specific first: full 5-tuple, local
 * 3-tuple (exact address, then any address), MAC (+VLAN), EtherType, IP
 * protocol, unicast/multicast-all, unicast-mismatch; with a whole-flow ip4
 * filter (EF_FILTER_FLAG_WHOLE_FLOW) a later IPv4 fragment goes where the
 * filter sent its datagram's first fragment (the last SIM_FRAG_FOLLOW
 * datagrams are remembered), and an ICMPv4 error to the owner of the
 * flow it quotes. There is no kernel:
 * the frames no filter claims go to the oldest VI of the interface that has
 * no filters at all (it stands in for the kernel's stack; a block-kernel
 * filter drops them instead), and when there is no such VI they are
 * dropped and counted as `unclaimed` in the link's statistics. A VI with
 * no filters on an interface of its own thus receives everything, which is
 * what a test of a stack wants.
 *
 * RX timestamps (EF_VI_RX_TIMESTAMPS) are the frame's arrival time on the
 * link: on the virtual clock exactly, else as CLOCK_REALTIME.
 *
 * Waiting: each VI has a timerfd (CLOCK_MONOTONIC, in its driver handle's
 * epoll set) armed for its next event: the next arrival on its interface
 * or the next transmit completion, or at once when an event is ready. On
 * the virtual clock only "at once" is used, and ef_eventq_wait returns
 * -ETIMEDOUT straight away when nothing is ready: waiting cannot make
 * virtual time pass.
 *
 * Call order: eventq_poll -> [pump (link pop, steer), rx deliver, no-desc
 * events, tx marks, tx_events, rearm]; transmit -> transmitv_init ->
 * transmit_push -> [sim_link_send, pump peer, rearm].
 */
#include "vi/gso.h"
#include "vi/sim_int.h"
#include "vi/swq.h"
#include "common/log.h"

#include <errno.h>
#include <etherfabric/vi.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SIM_BACKLOG_MAX 4096u
#define SIM_VLAN_ANY    0xffff
/* Values of sim_vi.armed besides an absolute CLOCK_MONOTONIC time. */
#define SIM_ARM_OFF     (-1)
#define SIM_ARM_NOW     0
#define SIM_ARM_STALE   (-2)      /* unknown: set the timer next time */

/* A filter, decoded from its ef_filter_spec. Byte strings and _be16
 * fields hold network order, as the frame does. */
struct sim_filter {
  uint8_t  used;
  uint8_t  whole_flow;     /* EF_FILTER_FLAG_WHOLE_FLOW */
  uint8_t  type;           /* VI_FLT_* */
  uint8_t  proto;
  uint16_t vlan;           /* SIM_VLAN_ANY: any or no tag */
  uint16_t lport_be16, rport_be16, ethertype_be16;
  uint8_t  lhost[16], rhost[16];
  uint8_t  mac[6];
};

struct sim_vi {
  struct vi_common  common;        /* must be first */
  struct vi_swq     q;
  struct sim_vi*    next;          /* on ifp->vis */
  struct sim_if*    ifp;
  struct sim_link*  link;
  int               tfd;           /* wake-up timer */
  int64_t           armed;         /* SIM_ARM_OFF, SIM_ARM_NOW or a time */
  uint32_t          max_frame;
  int64_t*          tx_done_ns;    /* per TX slot: when it completes */
  struct sim_fifo   staged;        /* transmit_init'ed, not pushed */
  struct sim_fifo   backlog;       /* arrived, steered here */
  uint64_t          no_desc_pending;
  unsigned          n_filters;
  unsigned          filter_hi;     /* filters[] used below this */
  struct sim_filter filters[VI_MAX_FILTERS];
};

static inline struct sim_vi* vi_of(const ef_vi* vi)
{
  return (struct sim_vi*)vi->vi_priv;
}

/* ---- steering ---------------------------------------------------------- */

/* What the filters look at in a frame. */
struct sim_pkt {
  const uint8_t* dmac;
  uint16_t vlan;             /* SIM_VLAN_ANY: untagged */
  uint16_t ethertype_be16;
  int      have_proto;
  uint8_t  proto;
  uint8_t  port_proto;       /* with ipv: UDP or TCP, whose ports these are */
  int      ipv;              /* 4 or 6 with ports, else 0 */
  uint8_t  daddr[16], saddr[16];
  uint16_t sport_be16, dport_be16;
  int      icmp_err;         /* ipv 4: the ports of an ICMP error's quote */
  int      frag_first;       /* IPv4 UDP/TCP first fragment (MF set) */
  int      frag_later;       /* IPv4 UDP/TCP fragment past offset 0 */
  uint16_t ip_id_be16;       /* with frag_first or frag_later */
};

static inline uint16_t rd_be16(const uint8_t* p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* pkt_parse: fill p from the frame; -1 if the Ethernet header (or VLAN
 * tag) is cut short. Every length is checked before a field is read. */
static int pkt_parse(const uint8_t* f, uint32_t len, struct sim_pkt* p)
{
  uint32_t l3 = SIM_ETH_HLEN;
  uint16_t et;

  memset(p, 0, sizeof(*p));
  if (len < SIM_ETH_HLEN)
    return -1;
  p->dmac = f;
  p->vlan = SIM_VLAN_ANY;
  et = rd_be16(f + 12);
  if (et == 0x8100 || et == 0x88a8) {
    if (len < SIM_ETH_HLEN + 4)
      return -1;
    p->vlan = rd_be16(f + 14) & 0x0fff;
    et = rd_be16(f + 16);
    l3 += 4;
  }
  memcpy(&p->ethertype_be16, f + l3 - 2, 2);
  if (et == 0x0800 && len - l3 >= 20) {
    const uint8_t* ip = f + l3;
    uint32_t ihl = (uint32_t)(ip[0] & 0xf) * 4;
    uint16_t frag = rd_be16(ip + 6);

    p->have_proto = 1;
    p->proto = ip[9];
    if ((p->proto == 17 || p->proto == 6) && (frag & 0x3fff)) {
      memcpy(&p->ip_id_be16, ip + 4, 2);
      memcpy(p->saddr, ip + 12, 4);
      memcpy(p->daddr, ip + 16, 4);
      p->frag_later = (frag & 0x1fff) != 0;
      p->frag_first = !p->frag_later;
    }
    /* Ports: UDP and TCP, unfragmented or first fragment only. */
    if ((p->proto == 17 || p->proto == 6) && !(frag & 0x1fff) &&
        ihl >= 20 && len - l3 >= ihl + 4) {
      p->ipv = 4;
      p->port_proto = p->proto;
      memcpy(p->saddr, ip + 12, 4);
      memcpy(p->daddr, ip + 16, 4);
      memcpy(&p->sport_be16, ip + ihl, 2);
      memcpy(&p->dport_be16, ip + ihl + 2, 2);
    }
    /* An ICMP error: the flow of the datagram it quotes, ours as the
     * local end (as al_match_icmp4_err in bpf/filter_lookup.h). */
    if (p->proto == 1 && !(frag & 0x3fff) && ihl >= 20 &&
        len - l3 >= ihl + 8 + 20 &&
        (ip[ihl] == 3 || ip[ihl] == 11 || ip[ihl] == 12)) {
      const uint8_t* q = ip + ihl + 8;
      uint32_t qihl = (uint32_t)(q[0] & 0xf) * 4;

      if ((q[9] == 17 || q[9] == 6) && !(rd_be16(q + 6) & 0x1fff) &&
          qihl >= 20 && len - l3 >= ihl + 8 + qihl + 4) {
        p->ipv = 4;
        p->icmp_err = 1;
        p->port_proto = q[9];
        memcpy(p->daddr, q + 12, 4);
        memcpy(p->saddr, q + 16, 4);
        memcpy(&p->dport_be16, q + qihl, 2);
        memcpy(&p->sport_be16, q + qihl + 2, 2);
      }
    }
  } else if (et == 0x86dd && len - l3 >= 40) {
    const uint8_t* ip6 = f + l3;

    p->have_proto = 1;
    p->proto = ip6[6];
    /* Extension headers are not walked, as in the XDP program. */
    if ((p->proto == 17 || p->proto == 6) && len - l3 >= 44) {
      p->ipv = 6;
      p->port_proto = p->proto;
      memcpy(p->saddr, ip6 + 8, 16);
      memcpy(p->daddr, ip6 + 24, 16);
      memcpy(&p->sport_be16, ip6 + 40, 2);
      memcpy(&p->dport_be16, ip6 + 42, 2);
    }
  }
  return 0;
}

/* Ranks: lower wins. RANK_NONE: no match; RANK_BLOCK: a block-kernel
 * filter that applies to the frame. */
enum {
  RANK_FULL, RANK_LOCAL, RANK_LOCAL_ANY, RANK_ETH_VLAN, RANK_ETH,
  RANK_ETHERTYPE_VLAN, RANK_ETHERTYPE, RANK_IPPROTO, RANK_ALL,
  RANK_UCAST_MISMATCH, RANK_BLOCK, RANK_NONE,
};

static const uint8_t zero16[16];

static int filter_rank(const struct sim_filter* f, const struct sim_pkt* p,
                       const uint8_t* if_mac)
{
  int mcast = p->dmac[0] & 1;     /* broadcast counts as multicast */
  int alen = p->ipv == 6 ? 16 : 4;

  switch (f->type) {
  case VI_FLT_IP4_FULL:
  case VI_FLT_IP6_FULL:
    if (p->ipv != (f->type == VI_FLT_IP4_FULL ? 4 : 6) ||
        p->port_proto != f->proto || p->dport_be16 != f->lport_be16 ||
        p->sport_be16 != f->rport_be16 || memcmp(p->daddr, f->lhost, alen) ||
        memcmp(p->saddr, f->rhost, alen))
      return RANK_NONE;
    return RANK_FULL;
  case VI_FLT_IP4_LOCAL:
  case VI_FLT_IP6_LOCAL:
    if (p->ipv != (f->type == VI_FLT_IP4_LOCAL ? 4 : 6) ||
        p->port_proto != f->proto || p->dport_be16 != f->lport_be16)
      return RANK_NONE;
    if (!memcmp(p->daddr, f->lhost, alen))
      return RANK_LOCAL;
    return memcmp(f->lhost, zero16, alen) ? RANK_NONE : RANK_LOCAL_ANY;
  case VI_FLT_ETH:
    if (memcmp(p->dmac, f->mac, 6))
      return RANK_NONE;
    if (f->vlan == SIM_VLAN_ANY)
      return RANK_ETH;
    return f->vlan == p->vlan ? RANK_ETH_VLAN : RANK_NONE;
  case VI_FLT_ETHERTYPE:
    if (p->ethertype_be16 != f->ethertype_be16)
      return RANK_NONE;
    if (f->vlan == SIM_VLAN_ANY)
      return RANK_ETHERTYPE;
    return f->vlan == p->vlan ? RANK_ETHERTYPE_VLAN : RANK_NONE;
  case VI_FLT_IPPROTO:
    return p->have_proto && p->proto == f->proto ? RANK_IPPROTO : RANK_NONE;
  case VI_FLT_UCAST_ALL:
    return mcast ? RANK_NONE : RANK_ALL;
  case VI_FLT_MCAST_ALL:
    return mcast ? RANK_ALL : RANK_NONE;
  case VI_FLT_UCAST_MISMATCH:
    return !mcast && memcmp(p->dmac, if_mac, 6) ? RANK_UCAST_MISMATCH
                                                : RANK_NONE;
  case VI_FLT_BLOCK_KERNEL:
    return RANK_BLOCK;
  case VI_FLT_BLOCK_KERNEL_UCAST:
    return mcast ? RANK_NONE : RANK_BLOCK;
  case VI_FLT_BLOCK_KERNEL_MCAST:
    return mcast ? RANK_BLOCK : RANK_NONE;
  default:
    return RANK_NONE;
  }
}

/* frag_follow: the entry of p's datagram in ifp's table, or NULL. */
static struct sim_frag_follow* frag_follow(struct sim_if* ifp,
                                           const struct sim_pkt* p)
{
  unsigned i;

  for (i = 0; i < SIM_FRAG_FOLLOW; i++) {
    struct sim_frag_follow* e = &ifp->frags[i];
    if (e->vi && e->id_be16 == p->ip_id_be16 && e->proto == p->proto &&
        !memcmp(e->saddr, p->saddr, 4) && !memcmp(e->daddr, p->daddr, 4))
      return e;
  }
  return NULL;
}

/* frag_remember: p, a first fragment, went to v by a whole-flow filter. */
static void frag_remember(struct sim_if* ifp, const struct sim_pkt* p,
                          struct sim_vi* v)
{
  struct sim_frag_follow* e = frag_follow(ifp, p);
  unsigned i;

  if (!e) {
    e = &ifp->frags[0];
    for (i = 1; i < SIM_FRAG_FOLLOW && e->vi; i++)
      if (!ifp->frags[i].vi || ifp->frags[i].stamp < e->stamp)
        e = &ifp->frags[i];
  }
  e->vi = v;
  e->stamp = ++ifp->frag_clock;
  e->id_be16 = p->ip_id_be16;
  e->proto = p->proto;
  memcpy(e->saddr, p->saddr, 4);
  memcpy(e->daddr, p->daddr, 4);
}

/* best_filter: the VI whose filter ranks best for p (*rank, *fl its
 * filter), or NULL; *blocked when a block-kernel filter applies. */
static struct sim_vi* best_filter(struct sim_if* ifp, const struct sim_pkt* p,
                                  int* rank, const struct sim_filter** fl,
                                  int* blocked)
{
  struct sim_vi *v, *best = NULL;
  unsigned i;

  *rank = RANK_BLOCK;
  *fl = NULL;
  for (v = ifp->vis; v; v = v->next)
    for (i = 0; i < v->filter_hi; i++) {
      int r;
      if (!v->filters[i].used)
        continue;
      r = filter_rank(&v->filters[i], p, ifp->mac);
      if (r < *rank) {
        *rank = r;
        *fl = &v->filters[i];
        best = v;
      } else if (r == RANK_BLOCK) {
        *blocked = 1;
      }
    }
  return best;
}

/* steer: the VI of ifp that gets frame f, or NULL (unclaimed). */
static struct sim_vi* steer(struct sim_if* ifp, const struct sim_frame* f)
{
  struct sim_vi *v, *best = NULL;
  const struct sim_filter* bf;
  struct sim_pkt p;
  int best_rank = RANK_BLOCK, blocked = 0;

  /* A frame too short to parse goes where unclaimed frames go, as the XDP
   * program passes it to the kernel. */
  if (pkt_parse(f->data, f->len, &p) == 0) {
    struct sim_frag_follow* e;

    if (p.frag_later && (e = frag_follow(ifp, &p))) {
      e->stamp = ++ifp->frag_clock;
      return e->vi;
    }
    if (p.icmp_err) {
      /* The quoted flow's most specific filter takes the error if it is
       * whole-flow; else the error is matched as any ICMP. */
      int b = 0;
      v = best_filter(ifp, &p, &best_rank, &bf, &b);
      if (v && best_rank <= RANK_LOCAL_ANY && bf->whole_flow)
        return v;
      p.ipv = 0;
    }
    best = best_filter(ifp, &p, &best_rank, &bf, &blocked);
    if (best && p.frag_first && best_rank <= RANK_LOCAL_ANY &&
        bf->whole_flow)
      frag_remember(ifp, &p, best);
    if (best)
      return best;
    if (blocked)
      return NULL;
  }
  for (v = ifp->vis; v; v = v->next)
    if (!v->n_filters)
      return v;
  return NULL;
}

/* pump: move the frames that have arrived at ifp by now to the backlogs of
 * the VIs they are steered to. Returns how many frames it took off the
 * link. */
static unsigned pump(struct sim_if* ifp, int64_t now)
{
  struct sim_link* l = ifp->link;
  struct sim_frame* f;
  unsigned n = 0;

  while ((f = sim_link_pop(l, ifp->end, now))) {
    struct sim_vi* v = steer(ifp, f);

    n++;
    if (!v) {
      l->dirs[!ifp->end].st.unclaimed++;
      sim_frame_free(f);
    } else if (v->backlog.n >= SIM_BACKLOG_MAX) {
      /* The receiver did not keep up: the frame is lost, as when the
       * kernel's AF_XDP ring is full, and reported the same way. */
      v->q.c.rx_no_desc++;
      v->no_desc_pending++;
      sim_frame_free(f);
    } else {
      sim_fifo_push(&v->backlog, f);
    }
  }
  return n;
}

/* ---- completions and wake-ups ------------------------------------------ */

/* tx_mark_done: slots whose frame has left the sender by now are done. */
static void tx_mark_done(struct sim_vi* v, int64_t now)
{
  struct vi_swq* q = &v->q;
  uint32_t i;

  for (i = q->tx_done_upto; i != q->state.txq.added; i++) {
    if (q->tx_state[i & q->tx_mask] != VI_TXS_PENDING)
      continue;
    if (v->tx_done_ns[i & q->tx_mask] > now)
      break;
    q->tx_state[i & q->tx_mask] = VI_TXS_DONE;
  }
}

/* next_event: when this VI next has an event to report (<= now: ready). */
static int64_t next_event(const struct sim_vi* v, int64_t now)
{
  const struct vi_swq* q = &v->q;
  int64_t t = SIM_NEVER, a;

  if (v->backlog.head || v->no_desc_pending)
    return now;
  if (q->tx_evented != q->state.txq.added) {
    uint32_t i = q->tx_evented & q->tx_mask;
    if (q->tx_state[i] != VI_TXS_PENDING)
      return now;
    t = v->tx_done_ns[i];
  }
  a = sim_link_next_arrival(v->link, v->ifp->end);
  return a < t ? a : t;
}

/* rearm: set the wake-up timer for the next event (a system call only
 * when that changes). */
static void rearm(struct sim_vi* v, int64_t now)
{
  int64_t next = next_event(v, now), want;
  struct itimerspec its;

  if (next <= now)
    want = SIM_ARM_NOW;
  else if (next == SIM_NEVER || sim_clock_virtual())
    want = SIM_ARM_OFF;
  else
    want = next;
  if (want == v->armed)
    return;
  v->armed = want;
  memset(&its, 0, sizeof(its));
  if (want == SIM_ARM_NOW) {
    its.it_value.tv_nsec = 1;      /* long past: readable at once */
  } else if (want != SIM_ARM_OFF) {
    its.it_value.tv_sec = (time_t)(want / 1000000000);
    its.it_value.tv_nsec = (long)(want % 1000000000);
  }
  /* Setting the timer also clears an expiry nobody read. */
  (void)timerfd_settime(v->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void rearm_all(struct sim_if* ifp, int64_t now)
{
  struct sim_vi* v;
  for (v = ifp->vis; v; v = v->next)
    rearm(v, now);
}

int64_t sim_vi_next_tx(const struct sim_if* ifp)
{
  const struct sim_vi* v;
  int64_t t = SIM_NEVER;

  for (v = ifp->vis; v; v = v->next) {
    const struct vi_swq* q = &v->q;
    uint32_t i;
    /* The first transmit still in progress (pushed, not done) decides. */
    for (i = q->tx_done_upto; i != q->state.txq.added; i++)
      if (q->tx_state[i & q->tx_mask] == VI_TXS_PENDING) {
        if (v->tx_done_ns[i & q->tx_mask] < t)
          t = v->tx_done_ns[i & q->tx_mask];
        break;
      }
  }
  return t;
}

void sim_vi_clock_changed(struct sim_if* ifp, int64_t now, int rebase)
{
  struct sim_vi* v;
  uint32_t i;

  for (v = ifp->vis; v; v = v->next) {
    if (rebase)
      for (i = v->q.tx_done_upto; i != v->q.state.txq.added; i++)
        if (v->tx_done_ns[i & v->q.tx_mask] != SIM_NEVER)
          v->tx_done_ns[i & v->q.tx_mask] = now;
    /* A timer set on the old time base means nothing on the new one. */
    if (rebase)
      v->armed = SIM_ARM_STALE;
    rearm(v, now);
  }
}

/* ---- transmit ---------------------------------------------------------- */

static int sim_transmitv_init(ef_vi* vi, const ef_iovec* iov, int iovcnt,
                              ef_request_id id)
{
  struct sim_vi* v = vi_of(vi);
  struct sim_frame* f;
  int total;

  total = vi_tx_slot_begin(vi, &v->q, iov, iovcnt);
  if (total < 0)
    return total;
  /* The ring's state is read by other threads (a peer's push re-arms this
   * VI's timer, a clock change re-bases it): change it under the lock. */
  if ((uint32_t)total > v->max_frame) {
    /* Too big for the link: the NIC way is a TX_ERROR event. */
    pthread_mutex_lock(&v->link->lock);
    v->q.c.tx_error_2big++;
    vi_tx_slot_add(&v->q, id, VI_TXS_ERROR);
    pthread_mutex_unlock(&v->link->lock);
    return 0;
  }
  f = sim_frame_alloc((uint32_t)total);
  if (!f)
    return -ENOMEM;
  vi_tx_gather(v->common.pd, iov, iovcnt, (char*)f->data);
  pthread_mutex_lock(&v->link->lock);
  f->slot = v->q.state.txq.added;
  v->tx_done_ns[f->slot & v->q.tx_mask] = SIM_NEVER;
  sim_fifo_push(&v->staged, f);
  v->q.c.tx_frames++;
  v->q.c.tx_bytes += (uint64_t)total;
  vi_tx_slot_add(&v->q, id, VI_TXS_PENDING);
  pthread_mutex_unlock(&v->link->lock);
  return 0;
}

static void sim_transmit_push(ef_vi* vi)
{
  struct sim_vi* v = vi_of(vi);
  struct sim_link* l = v->link;
  struct sim_if* peer = &l->ifs[!v->ifp->end];
  struct sim_frame* f;
  int64_t now, done;

  if (!v->staged.head)
    return;
  pthread_mutex_lock(&l->lock);
  now = sim_now();
  while ((f = sim_fifo_pop(&v->staged))) {
    uint32_t slot = f->slot;
    sim_link_send(l, v->ifp->end, f, now, &done);
    v->tx_done_ns[slot & v->q.tx_mask] = done;
  }
  /* Frames due at once are steered now, as a NIC takes them off the wire
   * whether or not its owner is polling. */
  pump(peer, now);
  rearm_all(peer, now);
  rearm(v, now);
  pthread_mutex_unlock(&l->lock);
}

static int sim_transmitv(ef_vi* vi, const ef_iovec* iov, int iovcnt,
                         ef_request_id id)
{
  int rc = sim_transmitv_init(vi, iov, iovcnt, id);
  if (rc == 0)
    sim_transmit_push(vi);
  return rc;
}

/* Super-frames: the staged frames go first, then the segments, each
 * offered to the link like a pushed frame but with no TX slot (the data
 * is copied: nothing to complete). Under the link's lock, as pushes. */
struct gso_out_ctx {
  struct sim_vi* v;
  int64_t        now;
  unsigned       segs;
};

static int gso_out(void* ctx, const uint8_t* seg, size_t len)
{
  struct gso_out_ctx* g = ctx;
  struct sim_frame* f;
  int64_t done;

  if (len > g->v->max_frame)
    return -EINVAL;
  f = sim_frame_alloc((uint32_t)len);
  if (!f)
    return -ENOMEM;
  memcpy(f->data, seg, len);
  sim_link_send(g->v->link, g->v->ifp->end, f, g->now, &done);
  g->segs++;
  return 0;
}

static int sim_transmitv_gso(ef_vi* vi, const struct iovec* iov, int iovcnt,
                             unsigned gso_size)
{
  struct sim_vi* v = vi_of(vi);
  struct sim_link* l = v->link;
  struct sim_if* peer = &l->ifs[!v->ifp->end];
  struct gso_out_ctx g = { .v = v };
  uint8_t* buf;
  size_t total;
  unsigned ihl;
  long len;
  int rc;

  if (!v->ifp->gso)
    return -EOPNOTSUPP;
  if ((len = vi_gso_iov_len(iov, iovcnt, gso_size)) < 0)
    return (int)len;
  total = (size_t)len;
  buf = malloc(total);
  if (!buf)
    return -ENOMEM;
  vi_gso_gather(buf, total, iov, iovcnt);
  /* Checked before the staged frames are pushed: a refused super-frame
   * has no effect. */
  rc = vi_gso_parse(buf, total < VI_GSO_HDR_MAX ? total : VI_GSO_HDR_MAX,
                    total, &ihl);
  if (rc < 0) {
    free(buf);
    return rc;
  }
  sim_transmit_push(vi);
  pthread_mutex_lock(&l->lock);
  g.now = sim_now();
  rc = vi_gso_segment(buf, total, gso_size, gso_out, &g);
  if (g.segs) {
    v->q.c.tx_gso_frames++;
    v->q.c.tx_gso_segs += g.segs;
    v->q.c.tx_bytes += total;
  }
  pump(peer, g.now);
  rearm_all(peer, g.now);
  rearm(v, g.now);
  pthread_mutex_unlock(&l->lock);
  free(buf);
  return rc < 0 ? rc : 0;
}

static int sim_transmit(ef_vi* vi, ef_addr base, int len, ef_request_id id)
{
  ef_iovec iov = { .iov_base = base, .iov_len = (unsigned)len };
  if (len <= 0)
    return -EINVAL;
  return sim_transmitv(vi, &iov, 1, id);
}

/* ---- receive ring and event queue -------------------------------------- */

static int sim_receive_init(ef_vi* vi, ef_addr addr, ef_request_id id)
{
  return vi_receive_init(vi, &vi_of(vi)->q, addr, id);
}

static void sim_receive_push(ef_vi* vi)
{
  vi_receive_push(&vi_of(vi)->q);
}

/* rx_time: the RX timestamp of a frame: its arrival time on the link, on
 * the virtual clock as it is, else as CLOCK_REALTIME (rt_now is
 * CLOCK_REALTIME at `now`). */
static void rx_time(int64_t arrival, int64_t now, int64_t rt_now,
                    struct timespec* ts)
{
  int64_t t = sim_clock_virtual() ? arrival : rt_now - (now - arrival);

  if (t < 0)
    t = 0;
  ts->tv_sec = (time_t)(t / 1000000000);
  ts->tv_nsec = (long)(t % 1000000000);
}

static int sim_eventq_poll(ef_vi* vi, ef_event* evs, int evs_len)
{
  struct sim_vi* v = vi_of(vi);
  struct sim_link* l = v->link;
  struct timespec ts = { 0, 0 };
  int n = 0, rx_budget;
  int64_t now, rt_now = 0;

  if (evs_len < 1)
    return 0;
  /* Keep one slot for TX events when the array allows it. */
  rx_budget = evs_len > 1 ? evs_len - 1 : evs_len;
  pthread_mutex_lock(&l->lock);
  now = sim_now();
  if (pump(v->ifp, now))
    rearm_all(v->ifp, now);
  if (v->backlog.head && vi->rx_prefix_len && !sim_clock_virtual()) {
    clock_gettime(CLOCK_REALTIME, &ts);
    rt_now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  }
  while (v->backlog.head && n < rx_budget) {
    struct sim_frame* f = v->backlog.head;
    int got;

    if (vi->rx_prefix_len)
      rx_time(f->arrival_ns, now, rt_now, &ts);
    got = vi_rx_deliver(vi, &v->q, f->data, f->len, evs + n,
                        rx_budget - n, rx_budget, &ts);
    if (got == 0)
      break;
    sim_frame_free(sim_fifo_pop(&v->backlog));
    n += got;
  }
  while (v->no_desc_pending && n < rx_budget) {
    evs[n].rx_no_desc_trunc.type = EF_EVENT_TYPE_RX_NO_DESC_TRUNC;
    evs[n].rx_no_desc_trunc.q_id = vi->vi_i;
    v->no_desc_pending--;
    n++;
  }
  if (v->q.tx_evented != v->q.state.txq.added) {
    tx_mark_done(v, now);
    n += vi_tx_events(vi, &v->q, evs + n, evs_len - n);
  }
  rearm(v, now);
  pthread_mutex_unlock(&l->lock);
  v->q.state.evq.evq_ptr += (uint32_t)n;
  return n;
}

static void sim_fill_ops(ef_vi* vi)
{
  vi->ops.transmit = sim_transmit;
  vi->ops.transmitv = sim_transmitv;
  vi->ops.transmitv_init = sim_transmitv_init;
  vi->ops.transmit_push = sim_transmit_push;
  vi->ops.transmitv_gso = sim_transmitv_gso;
  vi->ops.receive_init = sim_receive_init;
  vi->ops.receive_push = sim_receive_push;
  vi->ops.eventq_poll = sim_eventq_poll;
}

/* ---- allocation -------------------------------------------------------- */

static void sim_vi_destroy(struct sim_vi* v)
{
  if (v->tfd >= 0)
    close(v->tfd);
  sim_fifo_clear(&v->staged);
  sim_fifo_clear(&v->backlog);
  free(v->tx_done_ns);
  vi_swq_free(&v->q);
  free(v);
}

static int sim_vi_alloc(ef_vi* vi, ef_driver_handle dh, struct vi_pd* pd,
                        int queue, int rxq_size, int txq_size,
                        enum ef_vi_flags flags)
{
  uint32_t rxn = (uint32_t)vi_ring_size(rxq_size);
  uint32_t txn = (uint32_t)vi_ring_size(txq_size);
  struct epoll_event ee;
  struct sim_vi *v, **pp;
  struct sim_if* ifp;
  int rc;

  /* Hardware features, and zero-copy: a sim link always copies. */
  if (flags & (EF_VI_TX_ALT | EF_VI_RX_PACKED_STREAM | EF_VI_TX_CTPIO |
               EF_VI_RX_EVENT_MERGE | EF_VI_RX_ZEROCOPY))
    return -EOPNOTSUPP;
  v = calloc(1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  v->common.ops = &sim_ops;
  v->common.pd = pd;
  v->common.dh = dh;
  v->armed = SIM_ARM_OFF;
  v->tfd = -1;
  memset(vi, 0, sizeof(*vi));
  if (vi_swq_init(&v->q, vi, rxn, txn) < 0) {
    free(v);
    return -ENOMEM;
  }
  v->tx_done_ns = calloc(txn, sizeof(*v->tx_done_ns));
  if (!v->tx_done_ns) {
    rc = -ENOMEM;
    goto fail_free;
  }
  v->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (v->tfd < 0) {
    rc = -errno;
    goto fail_free;
  }

  vi_vi_defaults(vi, dh, (unsigned)queue, flags);
  vi->nic_type.arch = EF_VI_ARCH_AF_XDP;
  vi->nic_type.variant = 'S';
  vi->vi_priv = v;
  sim_fill_ops(vi);

  rc = sim_if_get(pd->ifindex, &ifp);   /* returns with the link locked */
  if (rc < 0)
    goto fail_free;
  v->ifp = ifp;
  v->link = ifp->link;
  v->max_frame = ifp->mtu + 14 + 4;     /* Ethernet header and a VLAN tag */
  vi->vi_resource_id = ifp->next_vi_id++;
  for (pp = &ifp->vis; *pp; pp = &(*pp)->next)
    ;
  *pp = v;
  pthread_mutex_unlock(&v->link->lock);

  memset(&ee, 0, sizeof(ee));
  ee.events = EPOLLIN;
  ee.data.fd = v->tfd;
  (void)epoll_ctl(dh, EPOLL_CTL_ADD, v->tfd, &ee);
  al_info("sim VI %u on %s", vi->vi_resource_id, ifp->name);
  return queue;

fail_free:
  sim_vi_destroy(v);
  memset(vi, 0, sizeof(*vi));
  return rc;
}

static int sim_vi_free(ef_vi* vi)
{
  struct sim_vi* v = vi_of(vi);
  struct sim_vi** pp;
  unsigned i;

  pthread_mutex_lock(&v->link->lock);
  for (pp = &v->ifp->vis; *pp; pp = &(*pp)->next)
    if (*pp == v) {
      *pp = v->next;
      break;
    }
  for (i = 0; i < SIM_FRAG_FOLLOW; i++)
    if (v->ifp->frags[i].vi == v)
      v->ifp->frags[i].vi = NULL;
  pthread_mutex_unlock(&v->link->lock);
  (void)epoll_ctl(v->common.dh, EPOLL_CTL_DEL, v->tfd, NULL);
  sim_vi_destroy(v);
  vi->vi_priv = NULL;
  vi->inited = 0;
  return 0;
}

static int64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wait (bounded, 1 s of real time; not at all on the virtual clock) until
 * every pushed transmit has completed, then drop the posted buffers. */
static int sim_flush(ef_vi* vi)
{
  struct sim_vi* v = vi_of(vi);
  int64_t deadline = mono_ns() + 1000000000;
  int done;

  for (;;) {
    pthread_mutex_lock(&v->link->lock);
    tx_mark_done(v, sim_now());
    done = vi_tx_all_done(&v->q);
    pthread_mutex_unlock(&v->link->lock);
    if (done)
      break;
    if (sim_clock_virtual() || mono_ns() > deadline)
      return -ETIMEDOUT;
    usleep(100);
  }
  v->q.state.rxq.removed = v->q.state.rxq.added;
  v->q.state.rxq.posted = v->q.state.rxq.added;
  return 0;
}

/* ---- filters, events, stats -------------------------------------------- */

static int filter_decode(const ef_filter_spec* fs, struct sim_filter* f)
{
  const unsigned* d = fs->data;

  memset(f, 0, sizeof(*f));
  f->type = (uint8_t)fs->type;
  f->vlan = SIM_VLAN_ANY;
  switch (fs->type) {
  case VI_FLT_IP4_FULL:
    memcpy(f->rhost, &d[VI_FD_RHOST], 4);
    f->rport_be16 = (uint16_t)d[VI_FD_RPORT];
    __attribute__((fallthrough));
  case VI_FLT_IP4_LOCAL:
    f->whole_flow = (fs->flags & EF_FILTER_FLAG_WHOLE_FLOW) != 0;
    memcpy(f->lhost, &d[VI_FD_LHOST], 4);
    f->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    f->proto = (uint8_t)d[VI_FD_PROTO];
    return 0;
  case VI_FLT_IP6_FULL:
    memcpy(f->rhost, &d[VI_FD_RHOST], 16);
    f->rport_be16 = (uint16_t)d[VI_FD_RPORT];
    __attribute__((fallthrough));
  case VI_FLT_IP6_LOCAL:
    memcpy(f->lhost, &d[VI_FD_LHOST], 16);
    f->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    f->proto = (uint8_t)d[VI_FD_PROTO];
    return 0;
  case VI_FLT_ETH:
    f->mac[0] = (uint8_t)(d[VI_FD_MAC_HI] >> 24);
    f->mac[1] = (uint8_t)(d[VI_FD_MAC_HI] >> 16);
    f->mac[2] = (uint8_t)(d[VI_FD_MAC_HI] >> 8);
    f->mac[3] = (uint8_t)d[VI_FD_MAC_HI];
    f->mac[4] = (uint8_t)(d[VI_FD_MAC_LO] >> 8);
    f->mac[5] = (uint8_t)d[VI_FD_MAC_LO];
    if (fs->flags & VI_FLT_F_VLAN)
      f->vlan = (uint16_t)d[VI_FD_VLAN];
    return 0;
  case VI_FLT_ETHERTYPE:
    f->ethertype_be16 = (uint16_t)d[VI_FD_ETHERTYPE];
    if (fs->flags & VI_FLT_F_VLAN)
      f->vlan = (uint16_t)d[VI_FD_VLAN];
    return 0;
  case VI_FLT_IPPROTO:
    f->proto = (uint8_t)d[VI_FD_PROTO];
    return 0;
  case VI_FLT_UCAST_ALL:
  case VI_FLT_MCAST_ALL:
  case VI_FLT_UCAST_MISMATCH:
  case VI_FLT_BLOCK_KERNEL:
  case VI_FLT_BLOCK_KERNEL_UCAST:
  case VI_FLT_BLOCK_KERNEL_MCAST:
    return 0;
  case VI_FLT_MCAST_MISMATCH:
  case VI_FLT_SNIFF:
  case VI_FLT_TX_SNIFF:
    /* As on AF_XDP (see afxdp_bpf.c), so programs see one behaviour. */
    return -EOPNOTSUPP;
  default:
    return -EINVAL;
  }
}

static int filter_same(const struct sim_filter* a, const struct sim_filter* b)
{
  return a->type == b->type && a->proto == b->proto && a->vlan == b->vlan &&
         a->lport_be16 == b->lport_be16 && a->rport_be16 == b->rport_be16 &&
         a->ethertype_be16 == b->ethertype_be16 &&
         !memcmp(a->lhost, b->lhost, 16) && !memcmp(a->rhost, b->rhost, 16) &&
         !memcmp(a->mac, b->mac, 6);
}

static int sim_filter_add(ef_vi* vi, const ef_filter_spec* fs, int* id)
{
  struct sim_vi *v = vi_of(vi), *w;
  struct sim_filter f;
  int i, free_i = -1, rc;

  rc = filter_decode(fs, &f);
  if (rc < 0)
    return rc;
  f.used = 1;
  pthread_mutex_lock(&v->link->lock);
  for (w = v->ifp->vis; w; w = w->next)
    for (i = 0; i < (int)w->filter_hi; i++)
      if (w->filters[i].used && filter_same(&w->filters[i], &f)) {
        rc = w == v ? -EEXIST : -EBUSY;
        goto out;
      }
  for (i = 0; i < VI_MAX_FILTERS; i++)
    if (!v->filters[i].used) {
      free_i = i;
      break;
    }
  if (free_i < 0) {
    rc = -ENOSPC;
    goto out;
  }
  v->filters[free_i] = f;
  v->n_filters++;
  if ((unsigned)free_i >= v->filter_hi)
    v->filter_hi = (unsigned)free_i + 1;
  *id = free_i;
out:
  pthread_mutex_unlock(&v->link->lock);
  return rc;
}

static int sim_filter_del(ef_vi* vi, int id)
{
  struct sim_vi* v = vi_of(vi);
  int rc = 0;

  if (id < 0 || id >= VI_MAX_FILTERS)
    return -EINVAL;
  pthread_mutex_lock(&v->link->lock);
  if (!v->filters[id].used) {
    rc = -EINVAL;
  } else {
    v->filters[id].used = 0;
    v->n_filters--;
    while (v->filter_hi && !v->filters[v->filter_hi - 1].used)
      v->filter_hi--;
  }
  pthread_mutex_unlock(&v->link->lock);
  return rc;
}

static int sim_has_event(const ef_vi* vi)
{
  struct sim_vi* v = vi_of(vi);
  int64_t now;
  int r;

  /* Moving arrived frames to their VIs' backlogs reports nothing, so the
   * answer is exact for this VI and the call changes no visible state. */
  pthread_mutex_lock(&v->link->lock);
  now = sim_now();
  if (pump(v->ifp, now))
    rearm_all(v->ifp, now);
  r = next_event(v, now) <= now;
  pthread_mutex_unlock(&v->link->lock);
  return r;
}

static int sim_wait_fd(const ef_vi* vi)
{
  struct sim_vi* v = vi_of(vi);
  int64_t now;
  int ready;

  pthread_mutex_lock(&v->link->lock);
  now = sim_now();
  pump(v->ifp, now);
  rearm_all(v->ifp, now);
  ready = next_event(v, now) <= now;
  pthread_mutex_unlock(&v->link->lock);
  /* On the virtual clock, only the program can make time pass. */
  if (!ready && sim_clock_virtual())
    return -ETIMEDOUT;
  return v->tfd;
}

static int sim_if_mtu(const ef_vi* vi, unsigned* mtu_out)
{
  *mtu_out = vi_of(vi)->ifp->mtu;
  return 0;
}

static int sim_if_mac(const ef_vi* vi, uint8_t mac_out[6])
{
  memcpy(mac_out, vi_of(vi)->ifp->mac, 6);
  return 0;
}

static void sim_describe(const ef_vi* vi, char* buf, size_t len)
{
  const struct sim_vi* v = vi_of(vi);
  const struct sim_link* l = v->link;

  /* The names never change while the VI exists. */
  snprintf(buf, len, "link %s-%s, %s clock", l->ifs[0].name, l->ifs[1].name,
           sim_clock_virtual() ? "virtual" : "real");
}

static const char* const sim_stat_names[] = { VI_SWQ_COUNTER_NAMES };
_Static_assert(sizeof(struct vi_counters) ==
               VI_SWQ_N_COUNTERS * sizeof(uint64_t),
               "sim stats layout out of step with struct vi_counters");

static const ef_vi_stats_layout* sim_stats_layout(void)
{
  static uint64_t storage[(VI_STATS_LAYOUT_SIZE(VI_SWQ_N_COUNTERS) + 7) / 8];
  return vi_stats_layout_make(storage, sim_stat_names, VI_SWQ_N_COUNTERS);
}

static int sim_stats(ef_vi* vi, uint64_t* vals, int do_reset)
{
  struct sim_vi* v = vi_of(vi);

  pthread_mutex_lock(&v->link->lock);
  memcpy(vals, &v->q.c, sizeof(v->q.c));
  if (do_reset)
    memset(&v->q.c, 0, sizeof(v->q.c));
  pthread_mutex_unlock(&v->link->lock);
  return 0;
}

const struct vi_ops sim_ops = {
  .name = "sim",
  .pd_lookup = sim_if_find_name,
  .pd_name = sim_if_find_index,
  .vi_alloc = sim_vi_alloc,
  .vi_free = sim_vi_free,
  .filter_add = sim_filter_add,
  .filter_del = sim_filter_del,
  .has_event = sim_has_event,
  .wait_fd = sim_wait_fd,
  .flush = sim_flush,
  .stats_layout = sim_stats_layout,
  .stats = sim_stats,
  .describe = sim_describe,
  .if_mtu = sim_if_mtu,
  .if_mac = sim_if_mac,
};
