/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/stack_int.h: the stack's module-private declarations (the lwIP
 * priv/ tier): the stack object, packet buffers, timers, sockets,
 * reassembly and next-hop wait tables, and the st__ functions that the
 * files of src/stack/ share. Nothing outside src/stack/ (tests apart)
 * includes it.
 *
 * Receive order: stack.c polls the VI and hands each frame to
 * st__rx_frame (ip.c: Ethernet and IPv4 checks, reassembly), which calls
 * st__udp_rx (udp_rx.c: checksum, demultiplexing through sock.c, socket
 * queues), st__tcp_rx (tcp_in.c: connections, listeners, see tcp_int.h)
 * or st__icmp_rx (icmp.c: errors to sockets, path MTU, echo).
 * Transmit order: anyload_udp_sendmsg (udp_tx.c) routes through the
 * environment, builds the headers (once per connected socket), fragments
 * (ip.c: st__ip_frag_count, st__ip_build_hdr), and hands the frames to
 * st__tx_frames (arp.c), which sends them (st__vi_send, stack.c) or
 * queues them until the next hop's MAC is known. TCP (tcp_out.c) cuts
 * segments from a connection's send ring at (re)transmit time and hands
 * them to st__tx_frames the same way; its timers run from timer.c.
 *
 * Ownership: every packet buffer is in exactly one place, recorded in its
 * state: the pool, the receive ring, the transmit ring, a socket queue,
 * reassembly, or a next-hop queue; pkt.c counts each, so that a leak shows
 * in anyload_stack_info.
 */
#ifndef ANYLOAD_STACK_INT_H
#define ANYLOAD_STACK_INT_H

#include <anyload/stack.h>
#include <etherfabric/ef_vi.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>

#include "stack/wire/eth.h"
#include "stack/wire/ipv4.h"

#include <stdint.h>

struct st_pub;

/* ---- counters --------------------------------------------------------- */

enum st_stat_id {
#define ST_STAT(name, doc) ST_STAT_##name,
#include "stack/stats.def"
#undef ST_STAT
  ST_N_STATS
};

enum st_sock_stat_id {
#define ST_SOCK_STAT(name, doc) ST_SOCK_STAT_##name,
#include "stack/stats.def"
#undef ST_SOCK_STAT
  ST_SOCK_N_STATS
};

#define ST_INC(st, name) ((st)->stats[ST_STAT_##name]++)
#define ST_ADD(st, name, n) ((st)->stats[ST_STAT_##name] += (n))
#define ST_SOCK_INC(s, name) ((s)->stats[ST_SOCK_STAT_##name]++)
#define ST_SOCK_ADD(s, name, n) ((s)->stats[ST_SOCK_STAT_##name] += (n))

/* ---- packet buffers (pkt.c) ------------------------------------------- */

#define ST_PKT_NONE UINT32_MAX

enum st_pkt_state {
  ST_PKT_FREE = 0,
  ST_PKT_RX_RING,
  ST_PKT_TX_RING,
  ST_PKT_SOCK,      /* a socket's receive queue */
  ST_PKT_REASM,
  ST_PKT_NEIGH,     /* waiting for a next hop's MAC */
  ST_PKT_BUSY,      /* being processed by the current call */
  ST_PKT_N_STATES
};

/* The metadata of one buffer. A datagram is a chain of buffers (chain),
 * its first buffer holding the datagram's metadata; datagrams and frames
 * are queued through next. off/dlen delimit the bytes this buffer
 * contributes (the UDP payload on a socket queue, the IP payload in
 * reassembly). */
struct st_pkt {
  uint32_t next;
  uint32_t chain;
  uint16_t len;          /* bytes of the frame in the buffer */
  uint16_t off;
  uint16_t dlen;
  uint16_t frag_off;     /* reassembly: offset of this fragment */
  uint8_t  state;        /* enum st_pkt_state */
  uint8_t  frag_last;    /* reassembly: MF was clear */
  uint8_t  looped;       /* a copy of our own frame (multicast loop) */
  /* First buffer of a datagram. */
  uint32_t saddr_be32;
  uint32_t daddr_be32;
  uint16_t sport_be16;
  uint16_t dport_be16;
  uint32_t total;        /* payload bytes of the whole datagram */
  int32_t  sock;         /* next-hop wait: the sending socket, or -1 */
  uint32_t sock_gen;
};

/* A FIFO of buffers linked through next. */
struct st_pq {
  uint32_t head, tail, n;
};

/* ---- timers (timer.c) ------------------------------------------------- */

enum st_timer_kind { ST_TIMER_REASM, ST_TIMER_NEIGH, ST_TIMER_TCP };

/* A timer embedded in the object it belongs to; kept in a list sorted by
 * time (few timers: reassemblies and next-hop waits). */
struct st_timer {
  struct st_timer* prev;
  struct st_timer* next;
  int64_t  when;
  uint8_t  kind;         /* enum st_timer_kind */
  uint8_t  armed;
};

/* ---- reassembly (ip.c) ------------------------------------------------ */

struct st_reasm {
  uint8_t  used;
  uint8_t  proto;
  uint16_t id;
  uint32_t src_be32;
  uint32_t dst_be32;
  uint32_t frags;        /* buffers sorted by frag_off, through next */
  uint32_t nfrags;
  uint32_t end;          /* payload length once the last fragment came */
  uint32_t have;         /* payload bytes held */
  int64_t  born;         /* for eviction of the oldest */
  struct st_timer timer;
};

/* ---- next-hop waits (arp.c) ------------------------------------------- */

struct st_nwait {
  uint8_t  used;
  int      ifindex;
  uint32_t nexthop_be32;
  struct st_pq q;        /* frames with a zero destination MAC */
  int64_t  deadline;     /* give up */
  uint64_t gen;          /* env generation at the last check */
  struct st_timer timer; /* next retry or the deadline */
};

/* ---- path MTUs (icmp.c) ----------------------------------------------- */

#define ST_PMTU_SLOTS 64

struct st_pmtu {
  uint32_t dst_be32;     /* 0: free */
  uint32_t mtu;
  int64_t  expires;
};

/* ---- sockets (sock.c) ------------------------------------------------- */

/* Where a datagram goes: the route's answer and the next hop's MAC. */
struct st_path {
  uint32_t src_be32;
  uint32_t dst_be32;
  uint32_t nexthop_be32;
  unsigned mtu;          /* path MTU: route, link and learnt minimum */
  int      type;         /* ANYLOAD_ROUTE_* */
  uint8_t  mac[6];
  uint8_t  have_mac;
};

/* Memberships per socket: the kernel's igmp_max_memberships default. */
#define ST_MAX_MSHIPS 20
#define ST_PORT_HASH  1024
/* The most interface queues a stack holds (the largest VI set, and the
 * owners a filter names in the XDP program: bpf/filter_shared.h). */
#define ST_MAX_QUEUES 64
#define ST_TCP_ACK_DUE_MAX 64   /* connections with an ACK owed per poll */
/* Released port filters remembered (st__filter_was_local), and how long:
 * a frame waits on a ring at most until the owner's next poll, which a
 * hand-over's work (repairing connections, draining a listener: some
 * milliseconds, 200 at most) may delay. */
#define ST_FILTERS_GONE 8
#define ST_FILTER_GONE_NS 1000000000ll
/* Frames published per kick at most while the doorbell is held: the
 * kernel's copy-mode AF_XDP sends 32 per sendto() anyway, and frames that
 * wait unpublished hold ring slots that completions cannot free. */
#define ST_TX_PUSH_BATCH 32
#define ST_HDR_LEN    (ST_ETH_HLEN + ST_IPV4_HLEN + 8)

struct st_mship {
  uint32_t group_be32;
  uint32_t source_be32;  /* 0: any source */
};

struct st_sock {
  uint8_t  used;
  uint8_t  connected;
  uint8_t  src_by_connect; /* laddr was chosen by connect */
  uint8_t  reuse;
  uint8_t  broadcast;
  uint8_t  no_check;
  uint8_t  mcast_loop;
  uint8_t  ttl;
  uint8_t  tos;
  uint8_t  mcast_ttl;
  uint8_t  filtered;     /* holds a reference on its local filter */
  uint8_t  hdr_valid;
  uint32_t gen;          /* bumped at every open, to spot stale refs */
  uint32_t laddr_be32;   /* bound (or chosen) local address */
  uint32_t bind_addr_be32; /* the address given to bind */
  uint16_t lport_be16;   /* 0: unbound */
  uint16_t rport_be16;
  uint32_t raddr_be32;
  uint32_t mcast_if_be32;/* IP_MULTICAST_IF address, or 0 */
  uint32_t port_next;    /* port hash chain, socket index */
  int      err;          /* pending error (positive errno), 0 */
  unsigned rcvbuf;
  unsigned rxq_bytes;
  struct st_pq rxq;      /* datagrams (first buffers) */
  unsigned n_mships;
  struct st_mship mships[ST_MAX_MSHIPS];
  /* Connected sockets: the path and headers, built once (TX). */
  uint8_t  hdr[ST_HDR_LEN];
  struct st_path hdr_path;
  uint64_t hdr_gen;      /* env generation they were built at */
  uint32_t hdr_pmtu_gen; /* st->pmtu_gen they were built at */
  uint64_t stats[ST_SOCK_N_STATS];
};

/* A filter on the VI, shared by the sockets that need it. */
struct st_filter {
  uint8_t  used;
  uint8_t  proto;
  uint16_t lport_be16;
  uint32_t laddr_be32;
  uint32_t raddr_be32;   /* ip4_full filters; 0 for ip4_local */
  uint16_t rport_be16;
  unsigned refs;
  unsigned park_ms;      /* released: park it this long (anyload_tcp_park) */
  /* its cookies, one per VI: st->filter_cookies[index * n_vis + v] */
};

/* ---- the stack -------------------------------------------------------- */

struct st_tcp;   /* tcp_int.h */

struct anyload_stack {
  struct anyload_stack_config cfg;
  struct anyload_stack_env env;
  int      own_env;          /* env was made by anyload_stack_create */
  int      forgotten;        /* anyload_stack_forget: touch nothing shared */
  /* VI and memory. */
  ef_driver_handle dh;
  ef_pd    pd;
  ef_memreg mr;
  /* One VI per interface RX queue the stack holds (AF_XDP delivers a
   * frame only to a socket bound to its arrival queue): vis[0] also
   * transmits; every one receives, and holds every filter. */
  ef_vi*   vis;
  unsigned n_vis;             /* allocated VIs */
  unsigned poll_pass;         /* polls of several VIs so far */
  int      have_pd, have_mr;
  int      have_vi_set;     /* the VIs are members of vi_set */
  ef_vi_set vi_set;
  uint64_t queue_mask;      /* every VI's queue (vis[0]'s the lowest) */
  uint8_t* mem;
  size_t   mem_len;
  unsigned buf_size;
  int      ifindex;
  uint8_t  mac[6];
  unsigned mtu;              /* IP MTU of the interface */
  int      wait_fd;
  ef_filter_cookie udp_all_cookie[ST_MAX_QUEUES], icmp_cookie[ST_MAX_QUEUES];
  ef_filter_cookie* filter_cookies; /* n_filters_max x n_vis (sock.c) */
  int      have_udp_all, have_icmp;
  /* Buffers. */
  struct st_pkt* pkts;
  uint32_t n_pkts;
  uint32_t* free_stack;
  uint32_t n_free;
  unsigned n_state[ST_PKT_N_STATES];
  unsigned rx_target;        /* buffers to keep on the receive ring */
  /* Timers. */
  struct st_timer timers;    /* sentinel of the sorted list */
  unsigned n_timers;
  /* Sockets and filters. */
  struct st_sock* socks;
  unsigned n_socks;
  uint32_t port_hash[ST_PORT_HASH];
  struct st_filter* filters;
  unsigned n_filters_max;
  unsigned n_filters;
  /* The TCP port filters (ip4_local) released last, for
   * st__filter_was_local: frames they let in may still be on the rings. */
  struct st_filter_gone {
    uint8_t  proto;
    uint16_t lport_be16;
    uint32_t laddr_be32;
    int64_t  until;
  } filters_gone[ST_FILTERS_GONE];
  unsigned filters_gone_next;
  uint16_t ephem_next;
  /* TCP (tcp_int.h): connections, their port and 4-tuple hashes. */
  struct st_tcp* tcps;
  unsigned n_tcps;           /* slots in use */
  unsigned n_tcp_app;        /* sds the application holds */
  unsigned tcp_n_listen, tcp_n_tw, tcp_n_conn;
  uint64_t tcp_buf_bytes;    /* bytes held in send and receive rings */
  uint32_t tcp_port_hash[ST_PORT_HASH];
  uint32_t* tcp_conn_hash;
  uint64_t tcp_secret[2];    /* ISNs and SYN cookies, from cfg.seed */
  unsigned tcp_tx_blocked;   /* connections waiting for ring room */
  /* Challenge ACK budget (tcp_challenge.c). */
  uint32_t tcp_chack_limit, tcp_chack_left;
  int64_t  tcp_chack_sec;
  uint64_t tcp_chack_rng;
  /* ACKs owed at the end of the receive batch (tcp_out.c): one ACK for
   * every segment of a connection that arrived in one poll, as GRO gives
   * the kernel's receivers. */
  int      tcp_ack_due[ST_TCP_ACK_DUE_MAX];
  unsigned n_tcp_ack_due;
  uint8_t  in_rx_batch;      /* inside anyload_stack_poll's event loop */
  /* TX doorbell: while tx_hold > 0, frames put on the ring are published
   * (one kick) when the outermost holder releases (st__tx_release), or
   * when ST_TX_PUSH_BATCH of them wait. */
  uint8_t  tx_hold;
  unsigned tx_unpushed;
  /* 1: no TCP super-frames (ANYLOAD_STACK_F_NO_TCP_GSO, or the VI
   * answered -EOPNOTSUPP). */
  uint8_t  tcp_gso_off;
  unsigned tcp_tx_rr;        /* st__tcp_poll's next slot (round robin) */
  /* Reassembly. */
  struct st_reasm* reasm;
  unsigned n_reasm;
  unsigned reasm_bufs;
  /* A reassembled TCP segment in one piece (tcp_in.c reads it so):
   * ST_IPV4_MAX_LEN bytes, with the reassembly table. */
  uint8_t* tcp_lin;
  /* Next hops. */
  struct st_nwait* nwait;
  unsigned n_nwait;
  unsigned nwait_frames;
  /* Path MTUs. */
  struct st_pmtu pmtu[ST_PMTU_SLOTS];
  uint32_t pmtu_gen;
  /* Time, ids, environment state. */
  int64_t  now;
  int64_t  next_env_process;
  uint16_t ip_id;
  /* The last destination found local on receive, while the environment's
   * generation stays local_gen (ip.c). */
  uint32_t local_be32;
  uint64_t local_gen;
  uint64_t stats[ST_N_STATS];
  struct st_pub* pub;        /* shared state for the tools (publish.h) */
};

/* ---- TX doorbell (stack.c) ------------------------------------------ */

/* st__tx_hold / st__tx_release: frames that st__vi_send puts on the ring
 * between the two are published together, with one kick of the backend
 * (a sendto() per kick on copy-mode AF_XDP), when the outermost release
 * comes. Holders: a poll, and TCP output of a burst. */
static inline void st__tx_hold(struct anyload_stack* st)
{
  st->tx_hold++;
}

void st__tx_release(struct anyload_stack* st);

/* st__tx_vi: the VI that transmits (the first; the others only receive). */
static inline ef_vi* st__tx_vi(const struct anyload_stack* st)
{
  return &st->vis[0];
}

/* st__vi_filter_add: fs on every VI of the stack, cookies[v] for VI v
 * (n_vis of them); all or none. st__vi_filter_del: remove such a set. */
int st__vi_filter_add(struct anyload_stack* st, ef_filter_spec* fs,
                      ef_filter_cookie* cookies);
void st__vi_filter_del(struct anyload_stack* st, ef_filter_cookie* cookies);
/* st__vi_filter_park: st__vi_filter_del leaving the filter parked for
 * park_ms (anyload_vi_filter_park) where the backend can. */
void st__vi_filter_park(struct anyload_stack* st, ef_filter_cookie* cookies,
                        unsigned park_ms);
/* st__filter_park: the ip4_local filter, when its last reference goes, is
 * parked for park_ms instead of removed. 0, or -ENOENT (no such filter). */
int st__filter_park(struct anyload_stack* st, uint8_t proto,
                    uint32_t laddr_be32, uint16_t lport_be16,
                    unsigned park_ms);

/* ---- timer.c (inline) ------------------------------------------------- */

/* st__timer_next: the earliest armed time, or INT64_MAX. Inline: the poll
 * loop asks at every call whether a timer is due. */
static inline int64_t st__timer_next(const struct anyload_stack* st)
{
  if (st->timers.next == &st->timers)
    return INT64_MAX;
  return st->timers.next->when;
}

/* ---- pkt.c ------------------------------------------------------------ */

/* st__pkt_init: carve cfg.n_bufs buffers of buf_size bytes from st->mem
 * into the pool. Returns 0 or -ENOMEM. */
int st__pkt_init(struct anyload_stack* st);
void st__pkt_fini(struct anyload_stack* st);

/* st__pkt_alloc: a buffer from the pool, put in state `state`, its
 * metadata cleared; ST_PKT_NONE when the pool is empty. */
uint32_t st__pkt_alloc(struct anyload_stack* st, enum st_pkt_state state);

/* st__pkt_free: return buffer i to the pool. */
void st__pkt_free(struct anyload_stack* st, uint32_t i);

/* st__pkt_free_chain: return a datagram (i and its chain) to the pool. */
void st__pkt_free_chain(struct anyload_stack* st, uint32_t i);

/* st__pkt_set_state: move buffer i (and its chain, if chain) to state. */
void st__pkt_set_state(struct anyload_stack* st, uint32_t i,
                       enum st_pkt_state state, int chain);

/* st__pkt_data: the bytes of buffer i; st__pkt_dma: its DMA address. */
static inline uint8_t* st__pkt_data(const struct anyload_stack* st,
                                    uint32_t i)
{
  return st->mem + (size_t)i * st->buf_size;
}

static inline ef_addr st__pkt_dma(struct anyload_stack* st, uint32_t i)
{
  return ef_memreg_dma_addr(&st->mr, (size_t)i * st->buf_size);
}

/* st__pq_*: FIFO operations on buffers linked through next. */
void st__pq_init(struct st_pq* q);
void st__pq_push(struct anyload_stack* st, struct st_pq* q, uint32_t i);
uint32_t st__pq_pop(struct anyload_stack* st, struct st_pq* q);

/* st__pkt_clone_chain: a copy of datagram i (every buffer of its chain,
 * metadata included) in state `state`, or ST_PKT_NONE when the pool runs
 * out (nothing is then allocated). */
uint32_t st__pkt_clone_chain(struct anyload_stack* st, uint32_t i,
                             enum st_pkt_state state);

/* ---- timer.c ---------------------------------------------------------- */

void st__timer_init(struct anyload_stack* st);
/* st__timer_set: (re)arm t to fire at when. */
void st__timer_set(struct anyload_stack* st, struct st_timer* t, int64_t when);
void st__timer_cancel(struct anyload_stack* st, struct st_timer* t);
/* st__timer_run: fire every timer due at now (calls ip.c and arp.c). */
void st__timer_run(struct anyload_stack* st, int64_t now);
/* st__timer_next is inline, after struct anyload_stack. */

/* ---- ip.c ------------------------------------------------------------- */

/* st__rx_frame: take one received frame (buffer i, len bytes, in state
 * BUSY): checks, reassembly, hand-off to UDP or ICMP. The buffer is
 * always consumed (queued, held or freed). */
void st__rx_frame(struct anyload_stack* st, uint32_t i, unsigned len,
                  int64_t now);

/* st__reasm_init / fini: the reassembly table. */
int st__reasm_init(struct anyload_stack* st);
void st__reasm_fini(struct anyload_stack* st);

/* st__reasm_timeout: the reassembly timer t fired. */
void st__reasm_timeout(struct anyload_stack* st, struct st_timer* t);

/* st__reasm_in: add fragment i (BUSY; off/dlen = its IP payload) of the
 * datagram described by ip. Returns the datagram's first buffer when it
 * is complete (a chain in offset order, state BUSY), else ST_PKT_NONE
 * (the fragment is held or was dropped and counted). */
uint32_t st__reasm_in(struct anyload_stack* st, uint32_t i,
                      const struct st_ipv4_repr* ip, int64_t now);

/* st__ip_next_id: the next IP identification. */
uint16_t st__ip_next_id(struct anyload_stack* st);

/* The per-datagram facts that st__ip_build_hdr needs. */
struct st_ip_out {
  uint32_t src_be32;
  uint32_t dst_be32;
  uint8_t  dst_mac[6];
  uint8_t  ttl;
  uint8_t  tos;
  uint8_t  proto;
  unsigned mtu;          /* path MTU */
};

/* st__ip_frag_count: how many frames an IP payload of len bytes takes at
 * this MTU (1 if it fits). */
unsigned st__ip_frag_count(unsigned len, unsigned mtu);

/* st__ip_frag_size: the IP payload of every fragment but the last at this
 * MTU: as much as fits, rounded down to a multiple of 8 (RFC 791 §3.2). */
static inline unsigned st__ip_frag_size(unsigned mtu)
{
  return (mtu - ST_IPV4_HLEN) & ~7u;
}

/* st__ip_build_hdr: write the Ethernet and IPv4 headers of one frame (or
 * fragment) at frame: payload plen bytes at IP offset frag_off, with MF
 * and DF as given, identification id. Returns the pointer to the IP
 * payload (frame + 34). */
uint8_t* st__ip_build_hdr(const struct anyload_stack* st, uint8_t* frame,
                          const struct st_ip_out* o, uint16_t id,
                          unsigned frag_off, unsigned plen, int mf, int df);

/* ---- icmp.c ----------------------------------------------------------- */

/* st__icmp_rx: an ICMP message (buffer i BUSY; off/dlen = the message)
 * from ip. Consumes the buffer. */
void st__icmp_rx(struct anyload_stack* st, uint32_t i,
                 const struct st_ipv4_repr* ip, int64_t now);

/* st__pmtu_get: the learnt path MTU towards dst, or 0. */
unsigned st__pmtu_get(struct anyload_stack* st, uint32_t dst_be32,
                      int64_t now);

/* st__pmtu_learn: lower the path MTU towards dst to mtu (RFC 1191 §6.1).
 * Returns 1 if it was lowered, 0 if ignored. */
int st__pmtu_learn(struct anyload_stack* st, uint32_t dst_be32, unsigned mtu,
                   int64_t now);

/* ---- arp.c ------------------------------------------------------------ */

int st__nwait_init(struct anyload_stack* st);
void st__nwait_fini(struct anyload_stack* st);

/* st__tx_frames: send the frames of chain head (BUSY, linked through
 * chain) to next hop nexthop: at once when mac is given, else queued
 * until the environment knows the MAC. sock/sock_gen name the sender
 * for a later error (-1: none). Returns 0, or -ENOBUFS (queue limits;
 * the frames are freed and counted), -EHOSTUNREACH (the environment says
 * the next hop is unreachable; frames freed), -EAGAIN (no ring room;
 * frames freed). */
int st__tx_frames(struct anyload_stack* st, uint32_t head, int ifindex,
                  uint32_t nexthop_be32, const uint8_t* mac, int sock,
                  uint32_t sock_gen, int64_t now);

/* st__nwait_timeout: a next-hop wait timer fired. */
void st__nwait_timeout(struct anyload_stack* st, struct st_timer* t);

/* st__nwait_poll: re-check every waiting next hop if the environment's
 * generation moved (or, without one, always). */
void st__nwait_poll(struct anyload_stack* st, int64_t now);

/* ---- sock.c ----------------------------------------------------------- */

int st__sock_init(struct anyload_stack* st);
void st__sock_fini(struct anyload_stack* st);

/* st__sock_get: socket sd if open, else NULL. */
struct st_sock* st__sock_get(const struct anyload_stack* st, int sd);

/* st__sock_lookup: the socket for a unicast datagram to (laddr, lport)
 * from (raddr, rport): a connected socket matching all four first, then
 * one bound to laddr, then one bound to INADDR_ANY (RFC 1122 §4.1.3.4
 * leaves the choice to the host; this is the kernel's order). NULL if
 * none. */
struct st_sock* st__sock_lookup(struct anyload_stack* st, uint32_t laddr_be32,
                                uint16_t lport_be16, uint32_t raddr_be32,
                                uint16_t rport_be16);

/* st__sock_first_on_port: the first socket of port lport's hash chain
 * (iterate with st__sock_next_on_port), or -1. */
int st__sock_first_on_port(const struct anyload_stack* st, uint16_t lport_be16);
int st__sock_next_on_port(const struct anyload_stack* st, int sd);

/* st__sock_is_member: 1 if socket s may receive multicast datagrams to
 * group from source src (a membership for any source or for src). */
int st__sock_is_member(const struct st_sock* s, uint32_t group_be32,
                       uint32_t src_be32);

/* st__sock_autobind: bind socket s to INADDR_ANY and an ephemeral port if
 * it is unbound. Returns 0 or the errors of anyload_udp_bind. */
int st__sock_autobind(struct anyload_stack* st, struct st_sock* s);

/* st__sock_index: the socket's number. */
static inline int st__sock_index(const struct anyload_stack* st,
                                 const struct st_sock* s)
{
  return (int)(s - st->socks);
}

/* st__sock_set_error: make err (positive errno) the pending error of the
 * socket sd if it is still generation gen. */
void st__sock_set_error(struct anyload_stack* st, int sd, uint32_t gen,
                        int err);

/* st__filter_get / st__filter_put: take or release a reference on the
 * filter for (proto, laddr, lport), adding it to the VI on the first.
 * get returns 0 or the error of ef_vi_filter_add / -ENOSPC. */
int st__filter_get(struct anyload_stack* st, uint8_t proto,
                   uint32_t laddr_be32, uint16_t lport_be16);
void st__filter_put(struct anyload_stack* st, uint8_t proto,
                    uint32_t laddr_be32, uint16_t lport_be16);

/* st__filter_was_local: whether a TCP port filter (ip4_local) that would
 * have let in a frame for (proto, laddr, lport) was released within the
 * last ST_FILTER_GONE_NS. Such a frame was on its way when the port left
 * the stack (to the kernel's socket, or another process's stack): its
 * new owner gets the sender's retransmission, and an answer from here
 * (a TCP RST to a SYN) would refuse a connection the owner would take. */
int st__filter_was_local(const struct anyload_stack* st, uint8_t proto,
                         uint32_t laddr_be32, uint16_t lport_be16);

/* st__filter_get_full / put_full: the same for an ip4_full filter on a
 * 4-tuple (a connecting TCP socket). */
int st__filter_get_full(struct anyload_stack* st, uint8_t proto,
                        uint32_t laddr_be32, uint16_t lport_be16,
                        uint32_t raddr_be32, uint16_t rport_be16);
void st__filter_put_full(struct anyload_stack* st, uint8_t proto,
                         uint32_t laddr_be32, uint16_t lport_be16,
                         uint32_t raddr_be32, uint16_t rport_be16);

/* ---- tcp_*.c (tcp_int.h has the rest) ---------------------------------- */

int st__tcp_init(struct anyload_stack* st);
void st__tcp_fini(struct anyload_stack* st);

/* st__tcp_rx: a TCP segment (buffer i BUSY; off/dlen = the IP payload)
 * from ip. Consumes the buffer. */
void st__tcp_rx(struct anyload_stack* st, uint32_t i,
                const struct st_ipv4_repr* ip, int64_t now);

/* st__tcp_timeout: a connection's timer fired. */
void st__tcp_timeout(struct anyload_stack* st, struct st_timer* t);

/* st__tcp_poll: retry output of connections that found no ring room. */
void st__tcp_poll(struct anyload_stack* st, int64_t now);

/* st__tcp_flush_acks: send the ACKs owed by the receive batch that just
 * ended (tcp_out.c). */
void st__tcp_flush_acks(struct anyload_stack* st, int64_t now);

/* st__tcp_icmp_err: an ICMP error quoting a TCP segment we sent (seq:
 * its sequence): err/hard as for UDP, frag_mtu the next-hop MTU of a
 * fragmentation needed (else 0). Counts its outcome. */
void st__tcp_icmp_err(struct anyload_stack* st, uint32_t laddr_be32,
                      uint16_t lport_be16, uint32_t raddr_be32,
                      uint16_t rport_be16, uint32_t seq, int err, int hard,
                      unsigned frag_mtu, int64_t now);

/* ---- udp_tx.c --------------------------------------------------------- */

/* st__udp_path: route a datagram of socket s to dst (no MAC yet).
 * Returns 0, or -EXDEV (another interface), -EADDRNOTAVAIL (no source
 * address), or the route's error. */
int st__udp_path(struct anyload_stack* st, const struct st_sock* s,
                 uint32_t dst_be32, struct st_path* out, int64_t now);

/* ---- udp_rx.c --------------------------------------------------------- */

/* st__udp_rx: a UDP datagram, head of a chain (BUSY; off/dlen = the IP
 * payload of each buffer), from ip. Consumes the chain. */
void st__udp_rx(struct anyload_stack* st, uint32_t head,
                const struct st_ipv4_repr* ip, int64_t now);

/* st__udp_queue: queue datagram head (off/dlen = payload; metadata set)
 * on socket s, or drop it for the receive buffer limit. Consumes it. */
void st__udp_queue(struct anyload_stack* st, struct st_sock* s,
                   uint32_t head);

/* ---- stack.c ---------------------------------------------------------- */

/* st__vi_send: put frames of chain head on the transmit ring (state
 * TX_RING) and push. Returns 0 or -EAGAIN (not enough room: nothing was
 * queued, the chain is untouched). */
int st__vi_send(struct anyload_stack* st, uint32_t head);

/* st__env_generation: the environment's generation, or 0 without one. */
uint64_t st__env_generation(const struct anyload_stack* st);

/* st__is_local: 1 if ip is an address of this stack's interface. */
int st__is_local(const struct anyload_stack* st, uint32_t ip_be32);

/* ---- env_cplane.c ----------------------------------------------------- */

/* st__env_cplane_open: an environment over a new control-plane mirror of
 * the calling thread's namespace, with the interface ifindex registered
 * as accelerated. Returns 0, or the errors of cp_open and
 * cp_set_accelerated. */
int st__env_cplane_open(int ifindex, struct anyload_stack_env* env);

#endif /* ANYLOAD_STACK_INT_H */
