/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * anyload/stack.h: anyload's user-space network stack, its own C API. A
 * stack runs IPv4, UDP and TCP on one network interface through one ef_vi
 * VI: packet buffers in memory registered with the VI, RX demultiplexing
 * to sockets and connections, TX with headers built once per connected
 * UDP socket, IPv4 reassembly and fragmentation (UDP), ICMP errors
 * delivered to the sockets they concern, multicast with the kernel doing
 * IGMP, and TCP connections with their own send and receive buffers (see
 * "TCP sockets" below). It is what transparent mode (libanyload.so) calls
 * for each accelerated socket, and it can be used directly.
 *
 * Time and I/O. The stack reads no clock and never blocks: every call
 * that can start a timer takes `now` (nanoseconds on any monotonic clock
 * the caller chooses, the same clock for every call of a stack), and
 * anyload_stack_next_deadline() tells when it next wants to be polled.
 * Frames move only inside anyload_stack_poll() (receive, transmit
 * completions, timers), anyload_udp_sendmsg() (transmit) and the TCP
 * calls that take now_ns (segments, ACKs, RSTs). A caller
 * that wants to sleep calls anyload_stack_prime(), waits for
 * anyload_stack_wait_fd() to be readable or for the deadline, whichever
 * comes first, then polls again.
 *
 * The environment. Routes, next-hop MACs and multicast membership come
 * from the kernel, through callbacks (struct anyload_stack_env): with
 * env == NULL the stack uses anyload's control plane, a mirror of the
 * kernel's tables over rtnetlink, so that the kernel's routes and ARP
 * cache are honoured (the stack never sends ARP; it asks the kernel to
 * resolve and waits, queueing the packets) and IGMP membership reports
 * come from the kernel (a kernel socket joins the group). Tests give
 * static tables instead.
 *
 * Filters and what the stack receives. Each bound socket claims its bound
 * address (INADDR_ANY, a local address or a group) and port on the
 * interface with an ef_vi ip4_local filter, which also brings it the
 * groups it joins; all other traffic stays with the kernel. A wildcard
 * filter also brings unicast to other hosts' addresses that reaches the
 * interface (transit traffic): the stack, a host, drops it and counts it
 * (rx_drop_ip_dst) rather than giving it to a socket. The stack
 * has one VI, on the interface's queue 0: on a multi-queue interface,
 * frames that the NIC hashes to other queues go to the kernel (AF_XDP
 * delivers to the arrival queue only), so such an interface needs one
 * queue, or RSS/ntuple rules that send the stack's flows to queue 0.
 * The VI's filters see ports only in unfragmented datagrams and first
 * fragments; a filter that claims a first fragment also gets the later
 * fragments of its datagram that come after it (the VI remembers the
 * last few thousand such datagrams), so UDP datagrams and TCP segments
 * larger than the MTU are reassembled. A later fragment that overtakes
 * its first goes to the kernel, and the datagram is lost (a TCP segment
 * comes again). Two settings widen what the stack claims:
 *   ANYLOAD_STACK_F_RX_FRAGMENTS claims all UDP that no other filter
 *     claims, so that every UDP fragment reaches the stack, in any order;
 *     then UDP for the kernel's sockets on this interface is dropped.
 *   ANYLOAD_STACK_F_RX_ICMP claims all ICMP: the stack answers echo
 *     requests to its address itself, and drops what is neither an error
 *     nor an echo request. Without it, ICMP stays with the kernel, except
 *     the errors (destination unreachable, time exceeded, parameter
 *     problem) that quote one of the stack's flows: the VI gives those to
 *     the stack either way, so that port unreachable, fragmentation needed
 *     (path MTU discovery) and time exceeded reach its sockets.
 *
 * Sockets are small integers (>= 0) local to a stack, not file
 * descriptors. Addresses are struct sockaddr_in, in network order as
 * usual. Every function returns 0 or a count >= 0 on success and a
 * negative errno on failure; each lists its errors. errno is never set.
 *
 * Thread safety: a stack and its sockets belong to one thread at a time;
 * the caller serialises every call on the same stack. Different stacks
 * are independent.
 */
#ifndef ANYLOAD_STACK_H
#define ANYLOAD_STACK_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct anyload_stack;

/* ---- environment ------------------------------------------------------ */

/* anyload_route.type */
#define ANYLOAD_ROUTE_UNICAST   1
#define ANYLOAD_ROUTE_BROADCAST 3
#define ANYLOAD_ROUTE_MULTICAST 5

/* The answer of env->route. */
struct anyload_route {
  int      ifindex;       /* outgoing interface */
  uint32_t src_be32;      /* preferred source address */
  uint32_t nexthop_be32;  /* gateway, or the destination when on-link */
  uint32_t mtu;           /* route or link MTU; 0: the interface's */
  int      type;          /* ANYLOAD_ROUTE_* */
};

/* What the stack asks of the world outside it. All callbacks get ctx
 * first; addresses are in network order. Callbacks may be NULL where
 * noted. They are called from the stack's calls only, on the caller's
 * thread.
 *
 *   route(dst, src, out): route an outgoing datagram; src is the bound
 *     address or 0. Returns 0, -ENETUNREACH, -EHOSTUNREACH, -EACCES,
 *     -EINVAL, or -EXDEV when the route leaves through an interface that
 *     this stack does not drive (the datagram is then the kernel's).
 *   addr_ifindex(ip): the interface that holds the local address ip
 *     (> 0), or -EADDRNOTAVAIL. Decides what bind() accepts.
 *   neigh(ifindex, ip, mac): the MAC of next hop ip. Returns 0 (mac set),
 *     -EAGAIN (unknown or being resolved: the stack queues the packet and
 *     calls neigh_resolve) or -EHOSTUNREACH (resolution failed).
 *   neigh_resolve(ifindex, ip): ask for a resolution (the kernel sends
 *     the ARP request). Returns 0 or a negative errno (logged as a
 *     counter, not fatal). May be NULL.
 *   mcast_join(ifindex, group, source, join): join (join = 1) or leave
 *     (0) a group, with source != 0 for a source-specific membership
 *     (RFC 3376), so that the kernel sends the IGMP reports (RFC 1112,
 *     RFC 2236, RFC 3376) and switches keep forwarding the group. Returns
 *     0 or a negative errno (the setsockopt call fails with it). May be
 *     NULL: joins then only filter locally.
 *   generation(): a number that changes whenever a route or neighbour
 *     answer may have changed; cached headers and waiting packets are
 *     re-checked when it moves. May be NULL (headers are not cached, and
 *     waiting packets are re-checked on every poll).
 *   process(now): let the environment apply pending updates (the control
 *     plane reads its netlink socket). Called from anyload_stack_poll at
 *     most every poll_env_ns while packets wait for a next hop or after
 *     a call that returned > 0, else every poll_env_idle_ns. Returns the
 *     number of changes applied (>= 0) or a negative errno (counted).
 *     May be NULL.
 *   fd(): a file descriptor that becomes readable when process() has work,
 *     added to anyload_stack_wait_fd(); -1 or NULL for none.
 *   destroy(): called by anyload_stack_destroy for an environment that
 *     the stack created itself (env == NULL); never for the caller's.
 */
struct anyload_stack_env {
  void*    ctx;
  int      (*route)(void* ctx, uint32_t dst_be32, uint32_t src_be32,
                    struct anyload_route* out);
  int      (*addr_ifindex)(void* ctx, uint32_t ip_be32);
  int      (*neigh)(void* ctx, int ifindex, uint32_t ip_be32,
                    uint8_t mac[6]);
  int      (*neigh_resolve)(void* ctx, int ifindex, uint32_t ip_be32);
  int      (*mcast_join)(void* ctx, int ifindex, uint32_t group_be32,
                         uint32_t source_be32, int join);
  uint64_t (*generation)(void* ctx);
  int      (*process)(void* ctx, int64_t now_ns);
  int      (*fd)(void* ctx);
  void     (*destroy)(void* ctx);
};

/* ---- stack ------------------------------------------------------------ */

/* anyload_stack_config.flags */
#define ANYLOAD_STACK_F_TRUST_RX_CSUM 0x1u /* don't verify UDP checksums of
                                             received datagrams: for links
                                             like veth that deliver frames
                                             with unfinished checksums; the
                                             IP header checksum is still
                                             verified */
#define ANYLOAD_STACK_F_RX_FRAGMENTS  0x2u /* see the top of this file */
#define ANYLOAD_STACK_F_RX_ICMP       0x4u /* see the top of this file */
#define ANYLOAD_STACK_F_VI_CSUM       0x8u /* let the VI discard frames with
                                             bad IP/UDP checksums (its
                                             default discard mask) instead
                                             of checking in the stack; the
                                             discards are counted as
                                             rx_drop_vi_discard */
#define ANYLOAD_STACK_F_NO_TCP_GSO    0x10u /* send every TCP segment through
                                             the VI's ring; by default
                                             runs of full segments of new
                                             data leave as one super-frame
                                             (ef_vi_transmitv_gso) where
                                             the VI can */
#define ANYLOAD_STACK_F_ANY_QUEUE     0x20u /* when another process holds
                                             queue 0 of the interface
                                             (-EBUSY), take the first free
                                             queue of a multi-queue one: the
                                             stack then gets the frames that
                                             RSS puts there, and its TCP
                                             listeners share their ports
                                             with the other queues' stacks,
                                             as they always may
                                             (EF_FILTER_FLAG_SHARE_QUEUES;
                                             anyload_stack_queue) */
#define ANYLOAD_STACK_F_ALL_QUEUES    0x40u /* one VI on every queue of the
                                             interface that no other
                                             process holds (at most
                                             max_queues, and n_bufs / 128):
                                             AF_XDP delivers a frame only
                                             to a socket bound to the
                                             queue it arrived on, and RSS
                                             spreads flows over all of
                                             them. The stack polls every
                                             VI, transmits on the first
                                             and puts each filter on all
                                             (anyload_stack_queue_mask);
                                             a backend that sees every
                                             queue through one socket
                                             (AF_PACKET) gets one VI */

/* How to build a stack. Fill with anyload_stack_config_init() first; zero
 * in a field also means its default. */
struct anyload_stack_config {
  size_t      size;           /* sizeof(struct anyload_stack_config) */
  const char* ifname;         /* the interface (required) */
  unsigned    flags;          /* ANYLOAD_STACK_F_* */
  unsigned    n_bufs;         /* packet buffers (default 4096) */
  int         rxq_size;       /* VI ring sizes (default 512 each) */
  int         txq_size;
  unsigned    rcvbuf;         /* default SO_RCVBUF in bytes (212992) */
  unsigned    max_sockets;    /* sockets per stack (default 1024) */
  unsigned    reasm_max_datagrams; /* datagrams being reassembled (64) */
  unsigned    reasm_max_bufs; /* buffers held by reassembly (512) */
  int64_t     reasm_timeout_ns; /* 30 s */
  unsigned    neigh_max_dests;  /* next hops waiting for a MAC (32) */
  unsigned    neigh_max_per_dest; /* packets waiting per next hop (32) */
  unsigned    neigh_max_total;  /* packets waiting in all (256) */
  int64_t     neigh_timeout_ns; /* give up after (3 s) */
  int64_t     neigh_retry_ns;   /* re-ask the environment every (100 ms) */
  int64_t     poll_env_ns;      /* env->process at most every (1 ms)
                                 * while packets wait for a next hop's
                                 * MAC or the last call found changes */
  int64_t     pmtu_expiry_ns;   /* learnt path MTUs age out (10 min) */
  uint16_t    ephem_lo;         /* ephemeral ports (32768..60999) */
  uint16_t    ephem_hi;
  uint64_t    seed;             /* first ephemeral port and IP ids */
  /* TCP challenge ACKs (RFC 5961 §7) per second, stack-wide, with Linux's
   * randomisation (a second's budget is limit/2 + a random number below
   * limit): 0 means 1000; UINT_MAX, no limit. */
  unsigned    tcp_challenge_ack_limit;
  /* With ANYLOAD_STACK_F_ALL_QUEUES: the most queues to take (0: up to
   * 64). */
  unsigned    max_queues;
  /* env->process at most every, when nothing waits on it (10 ms; never
   * below poll_env_ns): a spinning program makes fewer calls into the
   * environment (a system call each, for the control plane) for the
   * price of seeing a route or neighbour change that much later. */
  int64_t     poll_env_idle_ns;
};

/* anyload_stack_config_init: fill cfg with the defaults (ifname NULL). */
void anyload_stack_config_init(struct anyload_stack_config* cfg);

/* anyload_stack_create: open a stack on cfg->ifname: a driver handle, PD,
 * packet memory (n_bufs buffers) registered with it, and one VI (per
 * queue with ANYLOAD_STACK_F_ALL_QUEUES) whose receive ring is filled; with env == NULL also the control plane (the
 * interface is registered as accelerated with it).
 *   env:  NULL, or callbacks the stack uses until it is destroyed (the
 *         struct is copied; ctx must outlive the stack).
 *   out:  receives the stack; untouched on failure.
 * Returns 0, or -EINVAL (cfg NULL, wrong size, no ifname, n_bufs too small
 * for the rings, a bad setting), -ENOMEM, or an error of the VI layer
 * (-ENODEV no such interface, -EPERM without privilege, -EBUSY ...) or of
 * the control plane (see src/cplane/cplane.h: cp_open). */
int anyload_stack_create(const struct anyload_stack_config* cfg,
                         const struct anyload_stack_env* env,
                         struct anyload_stack** out);

/* anyload_stack_destroy: close every socket (their filters go), free the
 * VI (frames not yet sent are lost), the memory and the PD, and the
 * control plane if the stack made it. NULL is ignored. */
void anyload_stack_destroy(struct anyload_stack* st);

/* anyload_stack_forget: in a process that inherited st across fork() and
 * will not use it: free this process's copy (memory, its copies of the
 * VI's sockets and of the control plane's) without touching anything the
 * process that made it still uses: no filter is removed, no multicast
 * group left, no frame sent, the published stats file stays. Without it
 * an inherited AF_XDP VI keeps its queue taken for as long as the child
 * lives, even after the parent exits, and the child can make no stack of
 * its own on that queue. NULL is ignored. */
void anyload_stack_forget(struct anyload_stack* st);

/* anyload_stack_tidy: for a process that has no stack on ifname any more
 * but had one, or inherited one: remove what stacks' VIs left on the
 * interface when their processes could not (anyload_vi_tidy: a worker
 * that had dropped its privileges, a process killed with SIGKILL). 0 or
 * a negative errno. */
int anyload_stack_tidy(const char* ifname);

/* anyload_stack_poll: do the stack's work at time now_ns: handle up to
 * `budget` events of the VI (received frames, transmit completions; 0
 * means 64), refill the receive ring, run expired timers (reassembly,
 * neighbour waits), retry packets waiting for a MAC when the environment
 * changed, and let the environment process its updates when due.
 * Returns the number of VI events handled (>= 0); never fails. */
int anyload_stack_poll(struct anyload_stack* st, int64_t now_ns, int budget);

/* anyload_stack_sync: take in what the interface has for the stack before
 * its counters are read: a query of the VI's statistics (which brings the
 * kernel's count of frames dropped for want of ring room up to date),
 * then polls at now_ns until one handles no event (at most 2^18 polls,
 * 16 M events: a flood that outruns them cannot hold the call). Frames
 * still arriving may follow, but every frame that reached the interface
 * before the call is then counted: received, or rx_drop_no_desc.
 * Returns the number of VI events handled. */
int anyload_stack_sync(struct anyload_stack* st, int64_t now_ns);

/* anyload_stack_next_deadline: the time at which the stack next needs a
 * poll although nothing arrives (the earliest timer; 100 us after the
 * last poll while TCP segments wait for transmit ring room, which
 * transmit completions make without waking the wait fd), or INT64_MAX. */
int64_t anyload_stack_next_deadline(const struct anyload_stack* st);

/* anyload_stack_wait_fd: a file descriptor (an epoll fd owned by the
 * stack: don't close it) that becomes readable when a frame arrives or
 * the environment has updates -- after anyload_stack_prime(). Sleep on it
 * (poll/epoll) up to the next deadline, then call anyload_stack_poll. */
int anyload_stack_wait_fd(const struct anyload_stack* st);

/* anyload_stack_prime: call before each sleep on anyload_stack_wait_fd()
 * (ef_vi_prime of the stack's VI). A stack that is busy-polled and finds
 * frames stops the kernel's per-frame wake-ups of that fd (they cost the
 * kernel a locked pass per frame received and sent); priming turns them
 * back on, and a frame that arrived since the last poll makes the fd
 * readable at once. Cheap when already primed (no system call). */
void anyload_stack_prime(struct anyload_stack* st);

/* anyload_stack_ifindex: the interface's index; anyload_stack_mac: its
 * MAC (6 bytes); anyload_stack_mtu: its IP MTU; anyload_stack_queue: the
 * interface RX queue of its (first) VI; anyload_stack_queue_mask: every
 * queue it holds, bit q for queue q. */
int anyload_stack_ifindex(const struct anyload_stack* st);
void anyload_stack_mac(const struct anyload_stack* st, uint8_t mac[6]);
unsigned anyload_stack_mtu(const struct anyload_stack* st);
int anyload_stack_queue(const struct anyload_stack* st);
uint64_t anyload_stack_queue_mask(const struct anyload_stack* st);

/* anyload_queue_mask_str: mask (bit q for queue q) as a list of queues
 * and ranges ("0", "0-3,6"; "none" for 0) in buf (always NUL-terminated;
 * cut when short). Returns buf. */
char* anyload_queue_mask_str(uint64_t mask, char* buf, size_t len);

/* ---- counters --------------------------------------------------------- */

/* The stack's counters are declared once, with a description each, in
 * the stack's stats list (src/stack/stats.def); they are read by index,
 * and the names tell what each index holds, as ef_vi_stats_query_layout
 * does for a VI. Every drop reason has a counter of its own. */

/* anyload_stack_stat_count: how many stack counters there are. */
unsigned anyload_stack_stat_count(void);

/* anyload_stack_stat_name / _doc: the name ("rx_drop_ip_csum") and the
 * one-line description of counter i, or NULL when i is out of range. */
const char* anyload_stack_stat_name(unsigned i);
const char* anyload_stack_stat_doc(unsigned i);

/* anyload_stack_stat_index: the index of the counter called name, or
 * -ENOENT. */
int anyload_stack_stat_index(const char* name);

/* anyload_stack_stats: copy up to n counters into out[] and reset them
 * afterwards if do_reset. Returns the number copied. */
int anyload_stack_stats(struct anyload_stack* st, uint64_t* out, unsigned n,
                        int do_reset);

/* anyload_stack_stat: the value of the counter called name, or 0 when
 * there is none (a convenience for tools and tests). */
uint64_t anyload_stack_stat(const struct anyload_stack* st, const char* name);

/* The state of the stack's resources, for leak checks and stackdump. */
struct anyload_stack_info {
  unsigned pkt_total;       /* packet buffers */
  unsigned pkt_free;        /* in the pool */
  unsigned pkt_rx_ring;     /* posted to the receive ring */
  unsigned pkt_tx_ring;     /* sent, awaiting completion */
  unsigned pkt_sock_rxq;    /* in socket receive queues */
  unsigned pkt_reasm;       /* held by reassembly */
  unsigned pkt_neigh_wait;  /* waiting for a next hop's MAC */
  unsigned timers;          /* armed timers */
  unsigned sockets;         /* open sockets */
  unsigned filters;         /* filters installed on the VI */
  unsigned reasm_datagrams; /* datagrams being reassembled */
  unsigned neigh_waits;     /* next hops with packets waiting */
  unsigned tcp_sockets;     /* TCP sockets the application holds */
  unsigned tcp_connections; /* TCP connections in any state but CLOSED
                               and LISTEN (background ones included) */
  unsigned tcp_listening;   /* listening TCP sockets */
  unsigned tcp_time_wait;   /* connections in TIME_WAIT */
  uint64_t tcp_buf_bytes;   /* bytes of TCP send and receive buffers */
};

/* anyload_stack_info: fill *out. */
void anyload_stack_info(const struct anyload_stack* st,
                        struct anyload_stack_info* out);

/* ---- UDP sockets ------------------------------------------------------ */

/* anyload_udp_open: a new UDP socket, unbound and unconnected, with the
 * stack's default receive buffer, TTL 64, multicast TTL 1, multicast loop
 * on. Returns the socket (>= 0), or -EMFILE (max_sockets are open). */
int anyload_udp_open(struct anyload_stack* st);

/* anyload_udp_close: close the socket: its queued datagrams are freed,
 * its memberships left (the kernel leaves the groups), its filter removed
 * when no other socket shares it. Packets it sent that wait for a MAC
 * still go out. Returns 0 or -EBADF. */
int anyload_udp_close(struct anyload_stack* st, int sd);

/* anyload_udp_bind: bind to addr (sin_family AF_INET; sin_addr INADDR_ANY,
 * a local address of the interface, or a multicast group to receive only
 * that group; sin_port 0 for an ephemeral port chosen among those that no
 * socket of this stack uses). In transparent mode the caller binds the
 * kernel socket first and passes the port the kernel gave it, so the port
 * is reserved system-wide.
 * Returns 0, or -EBADF, -EINVAL (already bound, or a bad address or
 * length), -EAFNOSUPPORT (not AF_INET), -EADDRNOTAVAIL (not a local
 * address), -EADDRINUSE (another socket holds the address and port and
 * not both set SO_REUSEADDR; or no ephemeral port is free), -EXDEV (the
 * address belongs to another interface), or an error of the VI's filter
 * (-ENOSPC, -EBUSY when another process holds the flow ...). */
int anyload_udp_bind(struct anyload_stack* st, int sd,
                     const struct sockaddr_in* addr, socklen_t len);

/* anyload_udp_connect: set the default destination and receive only from
 * it; binds to an ephemeral port first if unbound. The route is looked
 * up now: the source address is fixed (if the socket was bound to
 * INADDR_ANY) and the headers are built once and reused while the
 * environment's generation and the path MTU stay the same. sin_family
 * AF_UNSPEC dissolves the association (anyload_udp_disconnect).
 * Returns 0, or -EBADF, -EINVAL (bad length, port 0), -EAFNOSUPPORT,
 * -EADDRINUSE (no ephemeral port), -ENETUNREACH / -EHOSTUNREACH / -EACCES
 * (the route's answer), -EXDEV (the route is not through this stack's
 * interface: transparent mode leaves the socket to the kernel), and the
 * errors of anyload_udp_bind for the implicit bind. */
int anyload_udp_connect(struct anyload_stack* st, int sd,
                        const struct sockaddr_in* addr, socklen_t len);

/* anyload_udp_disconnect: forget the peer; the bound address stays, a
 * source address that connect chose is dropped again if the socket was
 * bound to INADDR_ANY. Returns 0 or -EBADF. */
int anyload_udp_disconnect(struct anyload_stack* st, int sd);

/* anyload_udp_sendmsg: send one datagram made of iov[0..iovcnt-1] to dst
 * (NULL on a connected socket), at time now_ns. The socket is bound to an
 * ephemeral port first if unbound. A datagram longer than the path MTU
 * allows is fragmented (RFC 791 §3.2), with DF clear; one that fits
 * carries DF (the kernel's IP_PMTUDISC_WANT). When the next hop's MAC is
 * unknown the frames wait (see anyload_stack_config.neigh_*): the call
 * still succeeds, and a later failure of the resolution becomes the
 * socket's pending error (-EHOSTUNREACH). flags: 0 or MSG_DONTWAIT (the
 * call never blocks anyway); anything else is -EOPNOTSUPP.
 * Buffer ownership: the bytes are copied before the call returns.
 * Returns the number of bytes sent (the payload length), or
 *   -EBADF, -EINVAL (bad address or length, iovcnt < 0),
 *   -EAFNOSUPPORT, -EOPNOTSUPP (flags),
 *   -EDESTADDRREQ (no dst and not connected; a dst on a connected socket
 *     is used, as the kernel does for UDP),
 *   -EMSGSIZE (payload over 65507 bytes),
 *   -EACCES (broadcast without SO_BROADCAST),
 *   -ENETUNREACH, -EHOSTUNREACH (route; or the next hop failed to
 *     resolve, at once or earlier: a pending error is returned once),
 *   -ECONNREFUSED (pending error from an ICMP port unreachable on a
 *     connected socket, returned once),
 *   -EXDEV (not accelerated: the route leaves through another
 *     interface; transparent mode sends the datagram through the kernel
 *     socket instead),
 *   -EAGAIN (no room in the transmit ring or no free buffers: retry
 *     after a poll; POLLOUT is clear meanwhile),
 *   -ENOBUFS (the neighbour wait queue is full: dropped and counted),
 *   -EADDRINUSE (no ephemeral port for the implicit bind). */
ssize_t anyload_udp_sendmsg(struct anyload_stack* st, int sd,
                            const struct sockaddr_in* dst,
                            const struct iovec* iov, int iovcnt, int flags,
                            int64_t now_ns);

/* anyload_udp_sendto: anyload_udp_sendmsg with one buffer. */
ssize_t anyload_udp_sendto(struct anyload_stack* st, int sd, const void* buf,
                           size_t len, int flags,
                           const struct sockaddr_in* dst, int64_t now_ns);

/* anyload_udp_recvmsg: take the oldest queued datagram into iov[] (never
 * blocks: MSG_DONTWAIT is implied). *flags on input: 0 or MSG_PEEK (leave
 * it queued), MSG_TRUNC (return the datagram's real length even when it
 * was cut), MSG_DONTWAIT; on output MSG_TRUNC when the datagram did not
 * fit (the rest is discarded, unless MSG_PEEK). from (may be NULL) gets
 * the sender. A pending error is returned first, once, and clears (as the
 * kernel does for a connected socket after an ICMP error).
 * Returns the bytes copied (or the datagram's length with MSG_TRUNC in),
 * or -EBADF, -EINVAL (iovcnt < 0, flags NULL), -EOPNOTSUPP (other flags),
 * -EAGAIN (nothing queued), -ECONNREFUSED / -EHOSTUNREACH /
 * -ENETUNREACH (the pending error). */
ssize_t anyload_udp_recvmsg(struct anyload_stack* st, int sd,
                            const struct iovec* iov, int iovcnt,
                            struct sockaddr_in* from, int* flags);

/* anyload_udp_recvfrom: anyload_udp_recvmsg with one buffer. */
ssize_t anyload_udp_recvfrom(struct anyload_stack* st, int sd, void* buf,
                             size_t len, int* flags,
                             struct sockaddr_in* from);

/* anyload_udp_setsockopt: set an option, with the kernel's levels, names
 * and value formats:
 *   SOL_SOCKET:  SO_BROADCAST, SO_REUSEADDR, SO_RCVBUF (int; the kernel
 *                doubles it and so do we), SO_NO_CHECK (send without a
 *                UDP checksum; received zero checksums are always
 *                accepted, RFC 1122 §4.1.3.4)
 *   IPPROTO_IP:  IP_TTL (1..255, -1 = 64), IP_TOS, IP_MULTICAST_TTL,
 *                IP_MULTICAST_LOOP (loops back to this stack's own
 *                sockets only: other processes and the kernel do not see
 *                our multicast sends), IP_MULTICAST_IF (struct in_addr,
 *                or struct ip_mreq(n) whose address is used: an address
 *                of this stack's interface selects it and is the source;
 *                INADDR_ANY goes back to the route; an ip_mreqn ifindex
 *                is only checked to be ours), IP_ADD_MEMBERSHIP /
 *                IP_DROP_MEMBERSHIP
 *                (struct ip_mreq or ip_mreqn), IP_ADD_SOURCE_MEMBERSHIP /
 *                IP_DROP_SOURCE_MEMBERSHIP (struct ip_mreq_source; a
 *                socket has either any-source memberships or source ones
 *                for a group)
 * A membership calls env->mcast_join (once per group and source for the
 * whole stack), so that the kernel joins and sends the IGMP reports; the
 * datagrams reach the socket through the filter of its port, so a socket
 * may join before or after it binds. A socket gets a group's datagrams
 * only if it joined it (the kernel's IP_MULTICAST_ALL off).
 * SO_RCVBUF bounds the receive queue by the buffers it holds (each
 * datagram takes one buffer per fragment, of the stack's buffer size).
 * Returns 0, or -EBADF, -EINVAL (bad length or value, group not
 * multicast, a group joined both for any source and for sources),
 * -ENOPROTOOPT (another option), -ENODEV (a membership's ip_mreqn names
 * another interface), -EXDEV (IP_MULTICAST_IF's ip_mreqn does),
 * -EADDRINUSE (already a member), -EADDRNOTAVAIL (leaving a group not
 * joined; an interface address that is not this stack's), -ENOBUFS (too
 * many memberships: 20 per socket, as the kernel's default), or the
 * error of env->mcast_join. */
int anyload_udp_setsockopt(struct anyload_stack* st, int sd, int level,
                           int optname, const void* val, socklen_t len);

/* anyload_udp_getsockopt: read an option: those above (as int, except
 * IP_MULTICAST_IF as struct in_addr), and SO_ERROR (the pending error as
 * a positive errno, cleared by the read), SO_TYPE (SOCK_DGRAM).
 * *len is in/out. Returns 0, or -EBADF, -EINVAL (len too small),
 * -ENOPROTOOPT. */
int anyload_udp_getsockopt(struct anyload_stack* st, int sd, int level,
                           int optname, void* val, socklen_t* len);

/* anyload_udp_getsockname / getpeername: the bound (or chosen source)
 * address and the peer. Returns 0, or -EBADF, -EINVAL (len too small),
 * -ENOTCONN (getpeername of an unconnected socket). */
int anyload_udp_getsockname(struct anyload_stack* st, int sd,
                            struct sockaddr_in* addr, socklen_t* len);
int anyload_udp_getpeername(struct anyload_stack* st, int sd,
                            struct sockaddr_in* addr, socklen_t* len);

/* anyload_udp_poll: readiness as poll() would report it: POLLIN (a
 * datagram is queued), POLLOUT (a send of a full MTU would find room),
 * POLLERR (an error is pending). Returns the mask (>= 0) or -EBADF. */
int anyload_udp_poll(const struct anyload_stack* st, int sd);

/* Per-socket counters, read by name as the stack's are. */
unsigned anyload_udp_stat_count(void);
const char* anyload_udp_stat_name(unsigned i);
const char* anyload_udp_stat_doc(unsigned i);

/* anyload_udp_stats: copy up to n counters of socket sd into out[].
 * Returns the number copied, or -EBADF. */
int anyload_udp_stats(const struct anyload_stack* st, int sd, uint64_t* out,
                      unsigned n);

/* ---- TCP sockets ------------------------------------------------------ */

/* TCP (RFC 9293) over the same stack: active and passive open, the whole
 * state machine, MSS, window scale, timestamps with PAWS (RFC 7323), SACK
 * (RFC 2018, loss recovery per RFC 6675), RTO per RFC 6298, fast
 * retransmit and recovery (RFC 5681, RFC 6582), Reno and CUBIC (RFC 9438)
 * per socket, delayed and quick ACK, Nagle, cork, zero-window probes,
 * keepalive, linger, bounded SYN and accept queues, RFC 5961 challenge
 * ACKs. Data is copied into a send buffer (SO_SNDBUF bytes) and out of a
 * receive buffer (SO_RCVBUF bytes) that belong to the socket; segments
 * are built from the send buffer at (re)transmit time, so no packet
 * buffer is held by a socket.
 *
 * TCP sockets are numbered apart from UDP sockets (a TCP sd and a UDP sd
 * may have the same value). Every call that can send or arm a timer takes
 * now_ns, like the UDP calls; segments go out inside the calls and inside
 * anyload_stack_poll(), which also runs the timers (retransmission,
 * delayed ACK, persist, keepalive, TIME_WAIT, SYN-RECEIVED).
 *
 * Filters: a listening socket claims (bound address, port) with an
 * ip4_local filter; its connections ride on it. A connecting socket
 * claims its 4-tuple with an ip4_full filter. A socket in TIME_WAIT keeps
 * its filter until the state ends (the port stays taken in the stack).
 *
 * States are the kernel's numbers from <netinet/tcp.h> (TCP_ESTABLISHED
 * ... TCP_CLOSING), so that TCP_INFO and tools read them as they would
 * the kernel's.
 *
 * Where this TCP differs from Linux's: anyload_tcp_close never blocks
 * (a lingering close waits outside, on anyload_tcp_closing); TCP_CORK
 * and MSG_MORE hold a partial segment 200 ms from its first byte (Linux:
 * max(RTO, 200 ms) from its probe timer); urgent data is delivered
 * inline; challenge ACKs are limited stack-wide (RFC 5961 §7, as Linux
 * 4.7-5.19), not per connection; a handshake whose accept queue is full
 * has its final ACK dropped (the peer retransmits); the send ring grows
 * with the congestion window and the receive ring with what the
 * application reads per round trip (autotuning, as Linux's, up to 4 and
 * 6 MiB) unless SO_SNDBUF / SO_RCVBUF were set, and the window scale in
 * the SYN is that of SO_RCVBUF if set before connect/listen, else that
 * of 6 MiB; fragmented TCP segments are reassembled (ip.c; counted as
 * tcp_rx_reassembled); SYN cookie connections have window scale and SACK
 * only when the SYN had timestamps (their options ride in the SYN-ACK's
 * TSval, as Linux's cookies). ISNs and SYN cookies are keyed by
 * anyload_stack_config.seed: give a random seed for unpredictable ones. */

/* anyload_tcp_open: a new TCP socket, closed, with the stack's default
 * buffers (rcvbuf, 16384 * 4 send), Nagle on, congestion control
 * "cubic". Returns the socket (>= 0), -EMFILE or -ENOMEM. */
int anyload_tcp_open(struct anyload_stack* st);

/* anyload_tcp_close: the application is done with sd (close(2)): the sd
 * is invalid on return. With unread received data, or SO_LINGER on with
 * a zero timeout, the connection is reset (RST, RFC 9293 §3.10.4 and
 * RFC 2525); otherwise queued data is still sent and a FIN follows; the
 * connection finishes in the background (FIN_WAIT, TIME_WAIT) as the
 * kernel's does, and a listening socket resets the connections of its
 * queues. Returns 0 or -EBADF. */
int anyload_tcp_close(struct anyload_stack* st, int sd, int64_t now_ns);

/* anyload_tcp_close_handle: a handle that names sd's connection and stays
 * meaningful after anyload_tcp_close (it holds the slot's generation),
 * for anyload_tcp_closing: a lingering close (SO_LINGER on with a
 * timeout) takes it before anyload_tcp_close, then waits, polling the
 * stack, while anyload_tcp_closing says 1 and the timeout lasts.
 * Returns 0 with *handle set, or -EBADF (-EINVAL: handle NULL). */
int anyload_tcp_close_handle(const struct anyload_stack* st, int sd,
                             uint64_t* handle);

/* anyload_tcp_closing: 1 while the connection named by handle, closed by
 * the application, still waits for the peer to acknowledge its data and
 * FIN (FIN_WAIT1, CLOSING, LAST_ACK: what Linux's close waits for with
 * SO_LINGER on and a timeout, sk_stream_wait_close); 0 once they are
 * acknowledged (FIN_WAIT2, TIME_WAIT, the end of LAST_ACK) or the
 * connection ended otherwise (reset, timed out) and its slot was freed
 * or reused; 0 too for a connection still held by the application, or
 * one that never sent a FIN. Returns 1, 0, or -EINVAL (not a handle of
 * this stack). Never blocks. */
int anyload_tcp_closing(const struct anyload_stack* st, uint64_t handle);

/* anyload_tcp_bind: as anyload_udp_bind (address and port rules, -EXDEV,
 * SO_REUSEADDR: a listener's port may be bound again while only TIME_WAIT
 * connections use it). Returns 0, -EBADF, -EINVAL, -EAFNOSUPPORT,
 * -EADDRNOTAVAIL, -EADDRINUSE, -EXDEV. */
int anyload_tcp_bind(struct anyload_stack* st, int sd,
                     const struct sockaddr_in* addr, socklen_t len);

/* anyload_tcp_listen: accept connections (binds to an ephemeral port
 * first if unbound). backlog bounds the accept queue (<= 0: 1, at most
 * 4096); the SYN queue holds at most max(backlog, 128) embryonic
 * connections, and SYN cookies (RFC 4987) answer when it is full.
 * Calling it again changes the backlog. Returns 0, -EBADF, -EINVAL (not
 * closed or listening), or a filter error. */
int anyload_tcp_listen(struct anyload_stack* st, int sd, int backlog);

/* anyload_tcp_park: when listener sd's filter goes (at its close, once
 * the connections riding on it have gone too), it stays parked on the
 * interface for park_ms: arriving segments are dropped, not passed to
 * the kernel, until a stack of another process listens on the same
 * address and port (taking the filter over) or the time passes
 * (anyload_vi_filter_park). For a listener handed to a pre-forking
 * server's worker, which makes its stack once this one has freed the
 * queue: the kernel socket would otherwise take the connections of that
 * gap, and the worker's stack could not listen next to them (a SYN
 * dropped is sent again after a second). Where the VI cannot park, the
 * filter is removed as usual. Returns 0, -EBADF, or -EINVAL (not a
 * listener, park_ms above 60000). */
int anyload_tcp_park(struct anyload_stack* st, int sd, unsigned park_ms);

/* anyload_tcp_accept: take an established connection from the accept
 * queue; peer (may be NULL) gets its address. With room in the queue, a
 * peer whose completing ACK was dropped while it was full gets its
 * SYN-ACK again at once (so it ACKs now, not after the retransmission).
 * Returns the new socket, or -EBADF, -EINVAL (not listening), -EAGAIN
 * (queue empty), -EMFILE. */
int anyload_tcp_accept(struct anyload_stack* st, int sd,
                       struct sockaddr_in* peer, int64_t now_ns);

/* anyload_tcp_synq_len: how many of listener sd's connections are still
 * in their handshake (SYN_RECV, SYN cookies aside): what closing it now
 * would reset. Returns the count, -EBADF, or -EINVAL (not listening). */
int anyload_tcp_synq_len(const struct anyload_stack* st, int sd);

/* anyload_tcp_connect: active open to addr (binds to an ephemeral port
 * first if unbound): sends the SYN and returns -EINPROGRESS; completion
 * shows as POLLOUT, and SO_ERROR (or the next call) tells a failure.
 * Calling it again returns -EALREADY while in progress, 0 once (the
 * first call after the connection is established; then -EISCONN), or
 * the failure (-ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -ENETUNREACH).
 * Also -EBADF, -EINVAL, -EAFNOSUPPORT, -EADDRINUSE, -EXDEV (the route
 * leaves through another interface: nothing is sent, the socket stays
 * closed and transparent mode gives it to the kernel), -EISCONN. */
int anyload_tcp_connect(struct anyload_stack* st, int sd,
                        const struct sockaddr_in* addr, socklen_t len,
                        int64_t now_ns);

/* anyload_tcp_send: queue bytes of iov[] for sending (never blocks).
 * flags: MSG_DONTWAIT, MSG_NOSIGNAL (both implied: the caller raises
 * SIGPIPE itself on -EPIPE if it wants), MSG_MORE (as TCP_CORK for this
 * call). Returns the bytes queued (> 0; fewer than asked when the send
 * buffer fills), or -EBADF, -EINVAL, -EOPNOTSUPP (other flags),
 * -ENOTCONN (never connected), -EAGAIN (send buffer full, or still
 * connecting), -EPIPE (after shutdown(SHUT_WR) or a close by the peer's
 * RST), -ECONNRESET / -ETIMEDOUT (the pending error, once). */
ssize_t anyload_tcp_send(struct anyload_stack* st, int sd,
                         const struct iovec* iov, int iovcnt, int flags,
                         int64_t now_ns);

/* anyload_tcp_recv: copy received in-order bytes into iov[] (never
 * blocks). flags: MSG_PEEK (leave them), MSG_DONTWAIT (implied),
 * MSG_WAITALL (only a hint here: the caller loops), MSG_TRUNC (discard
 * the bytes instead of copying, as the kernel does for TCP). Reading
 * opens the window: a window update goes out when it grew by two MSS or
 * half the buffer. Returns the bytes (> 0), 0 at the end of the stream
 * (the peer's FIN, after all data), or -EBADF, -EINVAL, -EOPNOTSUPP,
 * -ENOTCONN, -EAGAIN (nothing yet), -ECONNRESET / -ETIMEDOUT (the
 * pending error, once). */
ssize_t anyload_tcp_recv(struct anyload_stack* st, int sd,
                         const struct iovec* iov, int iovcnt, int flags,
                         int64_t now_ns);

/* anyload_tcp_shutdown: SHUT_RD (further data is discarded, recv gives
 * 0), SHUT_WR (a FIN after the queued data), SHUT_RDWR. Returns 0,
 * -EBADF, -EINVAL, -ENOTCONN. */
int anyload_tcp_shutdown(struct anyload_stack* st, int sd, int how,
                         int64_t now_ns);

/* anyload_tcp_setsockopt: the kernel's levels, names and formats:
 *   SOL_SOCKET:  SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, SO_RCVBUF,
 *                SO_SNDBUF (doubled as the kernel does; set before
 *                connect/listen to have the window scale follow)
 *   IPPROTO_IP:  IP_TTL, IP_TOS
 *   IPPROTO_TCP: TCP_NODELAY, TCP_CORK, TCP_MAXSEG, TCP_KEEPIDLE,
 *                TCP_KEEPINTVL, TCP_KEEPCNT, TCP_QUICKACK,
 *                TCP_CONGESTION ("reno", "cubic"), TCP_USER_TIMEOUT,
 *                TCP_DEFER_ACCEPT and TCP_SYNCNT accepted
 * now_ns: clearing TCP_CORK or setting TCP_NODELAY pushes queued data.
 * Returns 0, -EBADF, -EINVAL, -ENOPROTOOPT, -ENOENT (unknown congestion
 * control). */
int anyload_tcp_setsockopt(struct anyload_stack* st, int sd, int level,
                           int optname, const void* val, socklen_t len,
                           int64_t now_ns);

/* anyload_tcp_getsockopt: those above, and SO_ERROR (cleared by the
 * read), SO_TYPE (SOCK_STREAM), SO_ACCEPTCONN, TCP_INFO (struct tcp_info
 * of <netinet/tcp.h>: state, options, rto, ato, snd_mss, rcv_mss,
 * unacked, lost, retrans, last_data_sent/recv, rtt, rttvar,
 * snd_ssthresh, snd_cwnd, advmss, rcv_space, total_retrans; a shorter
 * *len gets a prefix). Returns 0, -EBADF, -EINVAL, -ENOPROTOOPT. */
int anyload_tcp_getsockopt(struct anyload_stack* st, int sd, int level,
                           int optname, void* val, socklen_t* len);

/* anyload_tcp_getsockname / getpeername: as the UDP ones; getpeername
 * gives -ENOTCONN unless connected (or connecting). */
int anyload_tcp_getsockname(struct anyload_stack* st, int sd,
                            struct sockaddr_in* addr, socklen_t* len);
int anyload_tcp_getpeername(struct anyload_stack* st, int sd,
                            struct sockaddr_in* addr, socklen_t* len);

/* anyload_tcp_poll: readiness as the kernel's tcp_poll reports it:
 * POLLIN|POLLRDNORM (data, the end of the stream, or a listener's
 * accept queue not empty), POLLOUT|POLLWRNORM (connected and the send
 * buffer has a third of its room free), POLLRDHUP (the peer sent FIN),
 * POLLHUP (both directions closed, or reset), POLLERR (an error is
 * pending). A closed, never-connected socket gives POLLOUT|POLLHUP as
 * the kernel's does. Returns the mask (>= 0) or -EBADF. */
int anyload_tcp_poll(const struct anyload_stack* st, int sd);

/* anyload_tcp_rx_events: a count that moves whenever something arrives
 * for the socket's reader: in-order data bytes, the peer's FIN or RST, a
 * pending error, a connection queued for accept (a listener). The
 * kernel wakes an epoll waiter at each such arrival, so that EPOLLET
 * reports POLLIN again although the program never read to EAGAIN: this
 * count lets a caller do the same. 0 for a bad sd. */
uint64_t anyload_tcp_rx_events(const struct anyload_stack* st, int sd);

/* anyload_tcp_state: the socket's state (TCP_ESTABLISHED ...,
 * TCP_CLOSE for a fresh socket), or -EBADF. */
int anyload_tcp_state(const struct anyload_stack* st, int sd);

/* ---- handing a connection over to another TCP ---------------------------
 *
 * A connection can leave the stack in the middle of its life, to go on in
 * another TCP implementation (transparent mode hands connections to the
 * kernel's TCP with TCP_REPAIR before a fork or an exec, so that every
 * process that shares the fd shares the connection): the caller reads the
 * connection's state and queued bytes with anyload_tcp_export and
 * anyload_tcp_export_bytes, rebuilds it elsewhere, then detaches it with
 * anyload_tcp_detach. Between the export and the detach the stack must not
 * be polled (nothing may change what was exported). */

/* What a connection is, for another TCP to continue it. Sequence numbers
 * are absolute, windows in bytes (already scaled). */
struct anyload_tcp_export {
  int      state;             /* TCP_ESTABLISHED or TCP_CLOSE_WAIT */
  struct sockaddr_in local, remote;
  /* Send side: [snd_una, snd_max) was sent and is unacknowledged
   * (sent_len bytes), unsent_len bytes follow it, not sent yet. */
  uint32_t snd_una, snd_max, sent_len, unsent_len;
  uint32_t snd_wnd, max_snd_wnd;  /* the peer's window, its largest */
  uint32_t snd_wl1;               /* the peer's sequence that set it */
  /* Receive side: rcv_nxt is the next sequence expected (past the peer's
   * FIN when fin_rcvd); recv_len in-order bytes are unread; rcv_wnd is
   * what we advertised beyond rcv_nxt. Out-of-order bytes are not
   * exported: they were never acknowledged, the peer sends them again. */
  uint32_t rcv_nxt, recv_len, rcv_wnd;
  uint8_t  fin_rcvd;          /* the peer's FIN is in (CLOSE_WAIT) */
  uint8_t  shut_rd;           /* the application shut reading down */
  /* Negotiated options. */
  uint16_t peer_mss;          /* the peer's MSS option (536 without) */
  uint8_t  ws_ok, snd_ws, rcv_ws;  /* window scale: peer's, ours */
  uint8_t  sack_ok, ts_ok;
  uint32_t ts_val;            /* our timestamp clock now (ms) */
  uint32_t ts_recent;         /* the peer's last TSval (TS.Recent) */
};

/* Queues of an exported connection, for anyload_tcp_export_bytes. */
enum anyload_tcp_queue {
  ANYLOAD_TCP_Q_SENT = 1,     /* sent, unacknowledged: sent_len bytes */
  ANYLOAD_TCP_Q_UNSENT,       /* queued, not sent yet: unsent_len */
  ANYLOAD_TCP_Q_RECV,         /* received in order, unread: recv_len */
};

/* anyload_tcp_export: sd's connection as *out. Only a connection that
 * the application holds, in ESTABLISHED or CLOSE_WAIT (no FIN of ours
 * sent or queued), with its own ip4_full filter (a connect()ed one, or an
 * accepted one whose listener is closed) can be exported. Returns 0, or
 * -EBADF, -EINVAL (out NULL), -EOPNOTSUPP (another state), -EBUSY (the
 * connection rides on its listener's filter, which would keep steering
 * its segments here). Changes nothing. */
int anyload_tcp_export(const struct anyload_stack* st, int sd,
                       struct anyload_tcp_export* out, int64_t now_ns);
/* anyload_tcp_export_flags: anyload_tcp_export; with
 * ANYLOAD_TCP_EXPORT_RIDING in flags also a connection that rides on its
 * listener's filter, for a move into another anyload stack that takes
 * that filter over (anyload_tcp_import), never into the kernel. */
#define ANYLOAD_TCP_EXPORT_RIDING 1u
int anyload_tcp_export_flags(const struct anyload_stack* st, int sd,
                             struct anyload_tcp_export* out, int64_t now_ns,
                             unsigned flags);

/* anyload_tcp_export_bytes: copy len bytes of queue q of sd, from offset
 * off in it, into buf. Returns the bytes copied (fewer at the queue's
 * end), or -EBADF, -EINVAL. */
ssize_t anyload_tcp_export_bytes(const struct anyload_stack* st, int sd,
                                 enum anyload_tcp_queue q, uint32_t off,
                                 void* buf, uint32_t len);

/* anyload_tcp_detach: sd's connection leaves the stack without a segment
 * sent (no FIN, no RST): its filter goes, so its segments reach the
 * kernel from then on, and the sd is invalid on return. Segments of its
 * 4-tuple already on their way to the stack (in the VI's ring) are
 * dropped without an answer for ANYLOAD_TCP_DETACH_QUIET_NS (counted as
 * tcp_detached_rx_dropped): the other TCP never acknowledged them, so the
 * peer sends them again. Same conditions as anyload_tcp_export. Returns
 * 0, -EBADF, -EOPNOTSUPP, -EBUSY. */
#define ANYLOAD_TCP_DETACH_QUIET_NS 10000000000ll
int anyload_tcp_detach(struct anyload_stack* st, int sd, int64_t now_ns);
/* anyload_tcp_detach_flags: anyload_tcp_detach, with the flags of
 * anyload_tcp_export_flags. */
int anyload_tcp_detach_flags(struct anyload_stack* st, int sd,
                             int64_t now_ns, unsigned flags);

/* anyload_tcp_import: a connection that another anyload stack exported
 * (anyload_tcp_export_flags with ANYLOAD_TCP_EXPORT_RIDING) and detached
 * joins the tail of listener lsd's accept queue, as if its handshake had
 * ended here: anyload_tcp_accept hands it out. recv holds its
 * ex->recv_len unread bytes. Only a connection that nothing was sent or
 * queued on (one accepted there, never used: sent_len and unsent_len 0),
 * in ESTABLISHED or CLOSE_WAIT, on lsd's port and address. It goes on
 * without a segment, with the sequence numbers, windows, window scales
 * and timestamp clock of the other stack; its segments must reach this
 * stack through lsd's filter (the other stack's was parked, so the peer
 * sends again what was dropped meanwhile). Returns 0, or -EBADF,
 * -EINVAL (lsd not listening, ex not such a connection), -EEXIST (the
 * 4-tuple has a connection here), -ENOBUFS (accept queue full, or more
 * bytes than the receive buffer), -EAGAIN (no slot, route or filter),
 * -ENOMEM. */
int anyload_tcp_import(struct anyload_stack* st, int lsd,
                       const struct anyload_tcp_export* ex, const void* recv,
                       int64_t now_ns);

/* Per-socket TCP counters, read by name as the stack's are (declared in
 * src/stack/stats.def with ST_TCP_SOCK_STAT). */
unsigned anyload_tcp_stat_count(void);
const char* anyload_tcp_stat_name(unsigned i);
const char* anyload_tcp_stat_doc(unsigned i);
int anyload_tcp_stats(const struct anyload_stack* st, int sd, uint64_t* out,
                      unsigned n);

#ifdef __cplusplus
}
#endif

#endif /* ANYLOAD_STACK_H */
