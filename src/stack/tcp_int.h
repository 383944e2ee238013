/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_int.h: the TCP connection (struct st_tcp) and the tcp__
 * functions that the TCP files share. Included by stack_int.h users that
 * handle TCP only.
 *
 * Files: tcp_sock.c (the table, ports, filters, the calls that are not
 * data transfer, options, TCP_INFO), tcp_listen.c (SYN and accept queues,
 * SYN cookies, ISNs), tcp_in.c (segment arrival, RFC 9293 §3.10.7),
 * tcp_out.c (segments from the send buffer, ACKs, RSTs, retransmission
 * and recovery), tcp_challenge.c (the challenge ACK limit), tcp_timer.c (the one timer of each connection), tcp_buf.c
 * (the send and receive byte rings, the out-of-order intervals, send and
 * recv).
 *
 * Sequence space of the send side: SND.UNA is the first unacknowledged
 * sequence; the send ring holds the bytes from SND.UNA on (snd_len of
 * them, SYN excluded: data is only queued once the connection is
 * established). snd_nxt is the next sequence to send, snd_max the highest
 * ever sent (they differ after an RTO, which goes back to SND.UNA). A FIN
 * (fin_queued) takes the sequence SND.UNA + snd_len.
 * Receive side: the ring holds rcv_len in-order unread bytes starting at
 * rcv_head, and out-of-order bytes after them at their offset from
 * RCV.NXT, described by at most ST_TCP_OOO intervals.
 */
#ifndef ANYLOAD_STACK_TCP_INT_H
#define ANYLOAD_STACK_TCP_INT_H

#include "stack/stack_int.h"
#include "stack/tcp_cc.h"
#include "stack/tcp_sack.h"
#include "stack/wire/tcp.h"

#include <netinet/tcp.h>
#include <sys/uio.h>

#define ST_TCP_NONE       UINT32_MAX
#define ST_TCP_OOO        8          /* out-of-order intervals */
#define ST_TCP_HASH       4096       /* 4-tuple hash buckets */
#define ST_TCP_MSL2_NS    60000000000ll  /* TIME_WAIT, as Linux */
#define ST_TCP_FIN2_NS    60000000000ll  /* orphaned FIN_WAIT_2 */
#define ST_TCP_DACK_NS    40000000ll     /* delayed ACK, at most */
#define ST_TCP_DACK_MIN_NS 4000000ll     /* Linux's TCP_ATO_MIN */
#define ST_TCP_SYN_RETRIES 6
#define ST_TCP_SYNACK_RETRIES 5
#define ST_TCP_RETRIES2   15
#define ST_TCP_QUICKACKS  16         /* segments ACKed at once at start */
#define ST_TCP_DEFAULT_SNDBUF (16384u * 4u)
/* The send ring grows with the congestion window up to this (Linux's
 * tcp_wmem[2]) unless SO_SNDBUF was set. */
#define ST_TCP_SNDBUF_AUTO_MAX (4u << 20)
/* The receive ring grows with what the application reads per round trip
 * up to this (Linux's tcp_rmem[2]) unless SO_RCVBUF was set; the window
 * scale offered in the SYN is chosen for it. */
#define ST_TCP_RCVBUF_AUTO_MAX (6u << 20)
#define ST_TCP_MIN_MSS    88         /* Linux's floor for TCP_MAXSEG */
/* The smallest MSS option taken from a peer: 48 bytes of data (Linux's
 * TCP_MIN_SND_MSS) after 12 bytes of timestamp option. */
#define ST_TCP_PEER_MSS_MIN 60
#define ST_TCP_PERSIST_MAX_NS 120000000000ll
/* The longest TCP_CORK (or MSG_MORE) holds a partial segment: 200 ms
 * from the first byte it held, the ceiling of Linux's tcp(7). */
#define ST_TCP_CORK_NS    200000000ll

/* Per-connection counters. */
enum st_tcp_stat_id {
#define ST_TCP_SOCK_STAT(name, doc) ST_TCP_SOCK_STAT_##name,
#include "stack/stats.def"
#undef ST_TCP_SOCK_STAT
  ST_TCP_SOCK_N_STATS
};
#define ST_TCP_INC(c, name) ((c)->stats[ST_TCP_SOCK_STAT_##name]++)
#define ST_TCP_ADD(c, name, n) ((c)->stats[ST_TCP_SOCK_STAT_##name] += (n))

struct st_tcp_ooo {
  uint32_t start, end;   /* sequences [start, end) */
};

/* A connection in TIME_WAIT that a SYN reopened (tcp_in.c), as much of it
 * as TIME_WAIT uses: the child of that SYN keeps it, to return to
 * TIME_WAIT if the SYN turns out to be an old duplicate (RFC 1122
 * §4.2.2.13 (2); tcp__tw_return). */
struct st_tcp_tw {
  uint8_t  saved;        /* the SYN ended a TIME_WAIT */
  uint8_t  ts_ok, ws_ok, rcv_ws, snd_ws;
  uint32_t rcv_nxt, snd_max, rcv_adv, ts_recent, ts_offset;
  int64_t  end_at;       /* the old connection's 2 MSL deadline */
};

struct st_tcp {
  uint8_t  used;
  uint8_t  state;        /* TCP_ESTABLISHED ... of <netinet/tcp.h> */
  uint8_t  app;          /* the application holds the sd */
  uint8_t  filter;       /* 0 none, 1 local (laddr, lport), 2 full */
  uint8_t  in_port_hash;
  uint8_t  in_conn_hash;
  uint8_t  in_queue;     /* 1 SYN queue, 2 accept queue of parent */
  uint8_t  reuse, keepalive, nodelay, cork, quickack_opt;
  uint8_t  cork_push;    /* the cork's time is up: send what it holds */
  uint8_t  linger_on;
  uint8_t  ttl, tos;
  uint8_t  shut_rd, shut_wr;   /* application's shutdowns */
  uint8_t  fin_queued;   /* FIN after the send ring's data */
  uint8_t  fin_acked;    /* our FIN was acknowledged */
  uint8_t  fin_rcvd;     /* the peer's FIN is in (RCV.NXT past it) */
  uint8_t  ooo_fin;      /* a FIN seen out of order at ooo_fin_seq */
  uint8_t  connect_reported; /* connect() returned 0 once */
  uint8_t  was_connected;
  uint8_t  reset;        /* ended by a RST or an abort */
  uint8_t  cookie;       /* made from a SYN cookie */
  uint8_t  ack_dropped;  /* SYN_RECV child: its completing ACK was
                          * dropped, the accept queue full (1); its
                          * SYN-ACK sent again on room (2) */
  uint8_t  acks_dropped; /* listener: some child has ack_dropped */
  uint8_t  detached;     /* handed over (tcp_handover.c): only drops */
  uint8_t  cc_algo;
  /* Negotiated. */
  uint8_t  ws_ok, sack_ok, ts_ok;
  uint8_t  snd_ws, rcv_ws;
  uint8_t  in_recovery;  /* fast recovery (RFC 6582 / RFC 6675) */
  uint8_t  rto_backoffs; /* RTO expiries since the last ACK of data */
  uint8_t  syn_retries;
  uint8_t  keep_probes;
  uint8_t  persist_backoff;
  uint8_t  persist_unanswered; /* probes without an ACK since */
  uint8_t  dupacks;
  uint8_t  quickacks;    /* segments still to ACK at once */
  uint8_t  ack_pending;  /* segments received since the last ACK */
  uint8_t  ack_due;      /* on the stack's list of ACKs owed at batch end */
  uint8_t  tx_blocked;   /* output stopped for lack of ring/buffers */
  uint8_t  rtt_timing;
  uint8_t  nsack_out;    /* SACK blocks to send (RFC 2018 §4) */
  uint32_t gen;
  int32_t  parent;       /* listener (queued children), or -1 */
  uint32_t parent_gen;
  uint32_t q_next;       /* next in the parent's queue */
  uint32_t port_next;    /* TCP port hash chain */
  uint32_t conn_next;    /* 4-tuple hash chain */
  int      err;          /* pending error, positive errno */
  /* Addresses (network order). */
  uint32_t laddr_be32, bind_addr_be32, raddr_be32;
  uint16_t lport_be16, rport_be16;
  /* Listener. */
  int      backlog;
  unsigned synq_n, acceptq_n;
  uint32_t synq_head;    /* children in SYN_RECV */
  uint32_t acceptq_head, acceptq_tail;
  /* Sizes. */
  unsigned sndbuf, rcvbuf;   /* the options' values */
  uint8_t  sndbuf_user;      /* SO_SNDBUF was set: no autotuning */
  uint8_t  rcvbuf_user;      /* SO_RCVBUF was set: no autotuning */
  /* Receive autotuning (tcp_buf.c): bytes the application read since
   * rcvq_start, and the most it read in one round trip so far. */
  uint32_t rcvq_copied, rcvq_space;
  int64_t  rcvq_start;
  uint16_t user_mss;     /* TCP_MAXSEG, 0: none */
  uint16_t mss;          /* effective send MSS (payload per segment) */
  uint16_t peer_mss;     /* the peer's MSS option (536 without) */
  uint16_t adv_mss;      /* what we advertised */
  unsigned path_mtu;
  /* Send. */
  uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, max_snd_wnd;
  uint32_t snd_wl1, snd_wl2;
  uint32_t recover;      /* RFC 6582 */
  uint32_t rtt_seq;      /* the timed segment ends here */
  int64_t  rtt_start;
  uint8_t* sbuf;
  uint32_t sbuf_size, snd_head, snd_len;
  uint32_t cwnd_infl;    /* NewReno window inflation during recovery */
  struct tcp_cc cc;
  struct tcp_rtt rtt;
  struct tcp_sack_board sb;
  /* Receive. */
  uint32_t irs, rcv_nxt, rcv_adv;  /* rcv_adv: right edge advertised */
  uint8_t* rbuf;
  uint32_t rbuf_size, rcv_head, rcv_len;
  /* For the latency histogram: the poll time at which the oldest unread
   * in-order byte arrived, and that of the latest arrival. After a read
   * that leaves bytes, the oldest becomes the latest (the ring keeps no
   * time per byte: the remaining bytes' wait is then under-counted). */
  int64_t  rx_oldest_ns, rx_last_ns;
  struct st_tcp_ooo ooo[ST_TCP_OOO];
  unsigned n_ooo;
  uint32_t ooo_fin_seq;
  uint32_t sack_out[ST_TCP_MAX_SACK][2];
  /* Timestamps (RFC 7323). */
  uint32_t ts_recent, ts_offset, last_ack_sent;
  /* Timers: absolute deadlines, 0 = not armed; one st_timer at the
   * earliest. */
  int64_t  rto_at, dack_at, persist_at, keep_at, end_at;
  int64_t  cork_at;      /* a partial segment held by the cork goes */
  int64_t  first_rto_at;   /* start of the current run of RTOs */
  int64_t  last_rx, last_tx, last_data_rx, last_data_tx;
  int      keepidle_s, keepintvl_s, keepcnt, linger_s;
  unsigned user_timeout_ms;
  struct st_timer timer;
  /* Path. */
  struct st_path path;
  uint64_t path_gen;
  uint32_t path_pmtu_gen;
  uint8_t  path_ok;
  /* A child reopened from TIME_WAIT: the old connection. */
  struct st_tcp_tw tw;
  uint64_t stats[ST_TCP_SOCK_N_STATS];
};

/* A parsed segment being handled. */
struct st_tcp_seg {
  struct st_tcp_repr h;
  uint32_t saddr_be32, daddr_be32;
  const uint8_t* data;
  uint32_t len;          /* payload bytes */
  uint8_t  ip_tos;
  const uint8_t* src_mac;
  /* A SYN that ended a TIME_WAIT (tcp_in.c): that connection, whose
   * SND.NXT the new connection's ISN must pass (RFC 1122 §4.2.2.13). */
  struct st_tcp_tw tw;
};

/* ---- tcp_sock.c ------------------------------------------------------- */
struct st_tcp* tcp__get(const struct anyload_stack* st, int sd);
static inline int tcp__index(const struct anyload_stack* st,
                             const struct st_tcp* c)
{
  return (int)(c - st->tcps);
}
/* tcp__alloc: a free slot, initialised with the defaults (app 0). */
struct st_tcp* tcp__alloc(struct anyload_stack* st);
/* tcp__free: release everything of c (filters, hashes, queues, buffers,
 * timer) and its slot. */
void tcp__free(struct anyload_stack* st, struct st_tcp* c);
/* tcp__set_state: move c to state, keeping the stack's tallies. */
void tcp__set_state(struct anyload_stack* st, struct st_tcp* c, int state);
/* tcp__done: the connection is over (CLOSED): freed if orphaned,
 * else kept for the application with its pending error. */
void tcp__done(struct anyload_stack* st, struct st_tcp* c, int err);
/* tcp__lookup: the connection of a 4-tuple, or NULL. */
struct st_tcp* tcp__lookup(struct anyload_stack* st, uint32_t laddr,
                           uint16_t lport, uint32_t raddr, uint16_t rport);
/* tcp__listener: the listening socket for (laddr, lport), or NULL. */
struct st_tcp* tcp__listener(struct anyload_stack* st, uint32_t laddr,
                             uint16_t lport);
void tcp__conn_hash_add(struct anyload_stack* st, struct st_tcp* c);
void tcp__port_link(struct anyload_stack* st, struct st_tcp* c);
void tcp__port_unlink(struct anyload_stack* st, struct st_tcp* c);
/* tcp__release_filter: drop c's reference on its filter (local or
 * full), if it holds one. */
void tcp__release_filter(struct anyload_stack* st, struct st_tcp* c);
/* tcp__bufs_alloc: the send and receive rings (at connect or when a
 * passive connection is established). Returns 0 or -ENOMEM. */
int tcp__bufs_alloc(struct anyload_stack* st, struct st_tcp* c);
/* tcp__rcv_ws: the window scale that fits a receive buffer. */
uint8_t tcp__rcv_ws(unsigned rcvbuf);
/* tcp__rcv_ws_of: the window scale c offers in its SYN or SYN-ACK: for
 * SO_RCVBUF if the application set it, else for the largest ring that
 * autotuning may grow (ST_TCP_RCVBUF_AUTO_MAX). */
uint8_t tcp__rcv_ws_of(const struct st_tcp* c);

/* tcp__sbuf_grow / tcp__rbuf_grow: make a connection's send / receive
 * ring `size` bytes, keeping what it holds (queued data; in-order and
 * out-of-order received data at their offsets). Rings never shrink: a
 * smaller size is a no-op. 0 or -ENOMEM (the ring is unchanged). */
int tcp__sbuf_grow(struct anyload_stack* st, struct st_tcp* c, uint32_t size);
int tcp__rbuf_grow(struct anyload_stack* st, struct st_tcp* c, uint32_t size);
/* tcp__path: route c (src/dst set) and learn its MTU. Returns 0 or the
 * route's error. */
int tcp__path(struct anyload_stack* st, struct st_tcp* c, int64_t now);
/* tcp__free_bufs: free the send and receive buffers of c (and forget
 * their contents); tcp__rcv_wnd then announces SO_RCVBUF. */
void tcp__free_bufs(struct anyload_stack* st, struct st_tcp* c);

/* tcp__mss_for: the MSS to advertise and use for path MTU mtu. */
uint16_t tcp__mss_for(const struct st_tcp* c, unsigned mtu);

/* ---- tcp_listen.c ----------------------------------------------------- */
uint32_t tcp__isn(struct anyload_stack* st, uint32_t laddr, uint16_t lport,
                  uint32_t raddr, uint16_t rport, int64_t now);
/* tcp__listen_rx: a segment for listener l (no connection matched). */
void tcp__listen_rx(struct anyload_stack* st, struct st_tcp* l,
                    struct st_tcp_seg* sg, int64_t now);
/* tcp__child_established: child c of a listener finished its handshake:
 * into the accept queue. Returns 0, or -1 when the queue is full (the
 * caller drops the ACK; the child stays in SYN_RECV). */
int tcp__child_established(struct anyload_stack* st, struct st_tcp* c);
/* tcp__new_child: a connection on listener l for the 4-tuple of SYN sg
 * (its addresses and ports only), with a slot, a route, a reference on
 * the listener's filter and a place in the hashes; its handshake state is
 * the caller's to set. NULL when no slot, filter or route (counted). */
struct st_tcp* tcp__new_child(struct anyload_stack* st, struct st_tcp* l,
                              const struct st_tcp_seg* sg, int64_t now);
/* tcp__acceptq_push: c, established, to the tail of l's accept queue. */
void tcp__acceptq_push(struct anyload_stack* st, struct st_tcp* l,
                       struct st_tcp* c);
/* tcp__acceptq_room: l's accept queue has room again: SYN-ACKs again at
 * once to the children whose completing ACK was dropped (ack_dropped). */
void tcp__acceptq_room(struct anyload_stack* st, struct st_tcp* l,
                       int64_t now);
/* tcp__unqueue: take c out of its parent's queue. */
void tcp__unqueue(struct anyload_stack* st, struct st_tcp* c);

/* ---- tcp_in.c --------------------------------------------------------- */
void tcp__rx_conn(struct anyload_stack* st, struct st_tcp* c,
                  struct st_tcp_seg* sg, int64_t now);
/* tcp__apply_syn_opts: take the options of a SYN (or SYN-ACK). */
void tcp__apply_syn_opts(struct anyload_stack* st, struct st_tcp* c,
                         const struct st_tcp_repr* h, int ours_ws,
                         int ours_ts, int ours_sack);

/* ---- tcp_out.c -------------------------------------------------------- */
/* tcp__path_fresh: re-route c if the environment or the learnt path MTUs
 * changed since its path was cached; the MSS follows a new path MTU.
 * Returns 0 or the route's error. */
int tcp__path_fresh(struct anyload_stack* st, struct st_tcp* c, int64_t now);
/* tcp__output: send what the windows, Nagle and cork allow. */
void tcp__output(struct anyload_stack* st, struct st_tcp* c, int64_t now);
/* tcp__send_ctl: a segment without data (SYN, SYN-ACK, ACK, FIN, RST)
 * with sequence seq and flags. Returns 0 or a negative errno. */
int tcp__send_ctl(struct anyload_stack* st, struct st_tcp* c, uint32_t seq,
                  uint8_t flags, int64_t now);
/* tcp__send_ack: an ACK now (cancels a delayed one). */
void tcp__send_ack(struct anyload_stack* st, struct st_tcp* c, int64_t now);
/* tcp__send_rst_for: an RST answering segment sg that has no
 * connection (RFC 9293 §3.10.7.1), through its source MAC. */
void tcp__send_rst_for(struct anyload_stack* st, const struct st_tcp_seg* sg,
                       int64_t now);
/* tcp__xmit: send [seq, seq + len) from the send ring (FIN when the range
 * reaches it). Returns 0 or a negative errno. */
int tcp__xmit(struct anyload_stack* st, struct st_tcp* c, uint32_t seq,
              uint32_t len, int64_t now);
/* tcp__ack_rx: an acceptable ACK advancing or repeating SND.UNA. */
void tcp__ack_rx(struct anyload_stack* st, struct st_tcp* c,
                 const struct st_tcp_seg* sg, int64_t now);
/* tcp__rcv_wnd: the window to advertise (unscaled bytes). */
uint32_t tcp__rcv_wnd(const struct st_tcp* c);
/* tcp__flight: bytes in flight (SND.MAX - SND.UNA). */
static inline uint32_t tcp__flight(const struct st_tcp* c)
{
  return c->snd_max - c->snd_una;
}
/* tcp__ts_now: our timestamp clock (ms). */
static inline uint32_t tcp__ts_now(const struct st_tcp* c, int64_t now)
{
  return (uint32_t)(now / 1000000) + c->ts_offset;
}
/* tcp__rto_fire: the retransmission timer expired. */
void tcp__rto_fire(struct anyload_stack* st, struct st_tcp* c, int64_t now);
void tcp__persist_fire(struct anyload_stack* st, struct st_tcp* c,
                       int64_t now);
/* tcp__schedule_ack: a segment was received: ACK now or later. */
void tcp__schedule_ack(struct anyload_stack* st, struct st_tcp* c,
                       int now_ack, int64_t now);

/* ---- tcp_challenge.c -------------------------------------------------- */
/* tcp__challenge_init: the challenge ACK limiter of st, from its
 * configuration and secret. */
void tcp__challenge_init(struct anyload_stack* st);
/* tcp__challenge_ok: 1 if a challenge ACK may be sent at now (it is taken
 * from this second's budget), 0 if the budget is spent (counted as
 * tcp_challenge_acks_limited). */
int tcp__challenge_ok(struct anyload_stack* st, int64_t now);

/* ---- tcp_timer.c ------------------------------------------------------ */
/* tcp__timer_update: rearm c's timer at its earliest deadline. */
void tcp__timer_update(struct anyload_stack* st, struct st_tcp* c);
/* tcp__arm_rto: (re)start the retransmission timer. */
void tcp__arm_rto(struct anyload_stack* st, struct st_tcp* c, int64_t now);
void tcp__keepalive_reset(struct anyload_stack* st, struct st_tcp* c,
                          int64_t now);
void tcp__enter_time_wait(struct anyload_stack* st, struct st_tcp* c,
                          int64_t now);
/* tcp__tw_save: what TIME_WAIT connection c needs to come back (into
 * *tw, for the child of the SYN that reopens it). */
void tcp__tw_save(const struct st_tcp* c, struct st_tcp_tw* tw);
/* tcp__tw_return: embryonic child c, reopened from TIME_WAIT, failed its
 * handshake (an old duplicate SYN): c becomes the old connection again,
 * in TIME_WAIT until its old deadline. Returns 1 if it did, 0 when c was
 * not reopened from TIME_WAIT or that deadline has passed (the caller
 * frees c). */
int tcp__tw_return(struct anyload_stack* st, struct st_tcp* c, int64_t now);

/* ---- tcp_buf.c -------------------------------------------------------- */
/* tcp__rcv_data: store in-window data of sg at its offset; advance
 * RCV.NXT over what became contiguous. Returns 1 if the data was in
 * order, 0 if out of order (or dropped), with *filled set when it filled
 * a hole. */
int tcp__rcv_data(struct anyload_stack* st, struct st_tcp* c, uint32_t seq,
                  const uint8_t* data, uint32_t len, int* filled);
/* tcp__sack_blocks: refresh the SACK blocks to send (RFC 2018 §4: the
 * block of the latest segment first). */
void tcp__sack_blocks(struct st_tcp* c, uint32_t seq, uint32_t end);
/* tcp__snd_iov: where len bytes of the send ring at sequence seq are:
 * one or two pieces (the ring wraps), their number. */
int tcp__snd_iov(const struct st_tcp* c, uint32_t seq, uint32_t len,
                 struct iovec iov[2]);
/* tcp__snd_copy: copy len bytes of the send ring at sequence seq. */
void tcp__snd_copy(const struct st_tcp* c, uint32_t seq, uint8_t* dst,
                   uint32_t len);
/* tcp__snd_ack: drop acked bytes from the send ring. */
void tcp__snd_ack(struct st_tcp* c, uint32_t bytes);

#endif /* ANYLOAD_STACK_TCP_INT_H */
