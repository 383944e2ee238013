/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * preload/pl_tcp.h: TCP in transparent mode, declarations shared by the
 * modules of libanyload.so (fd_tcp.c, fd_tcp_io.c, tcp_poller.c,
 * tcp_handover.c, the lazy hand-over at fork in tcp_share.c,
 * tcp_share_msg.c and tcp_claim.c, and their callers in intercept.c,
 * fdtable.c, fd_epoll.c, poll_select.c, fork_exec.c). An AF_INET stream socket gets a PL_TCP object at
 * socket(); its role (o->tcp) says what the fd number stands for:
 *
 *   NEW      undecided: the kernel socket alone, until listen or connect
 *   LISTEN   a stack listener (o->sd) on the kernel socket's address and
 *            port; the kernel socket listens too (loopback and other
 *            interfaces), accept takes from both
 *   CONN     a stack connection (o->sd), opened by connect or handed out
 *            by accept; the kernel socket only holds the fd number (and
 *            the port, for connect) and its readiness is never used
 *   KERNEL   decided: the kernel's (o->sd == -1), every call goes there
 *   ORPHAN   a CONN inherited by a forked child that could not be handed
 *            to the kernel (tcp_handover.c): the parent keeps the
 *            connection; every data call fails with ENOTCONN
 *   REMOTE   in a forked child (ANYLOAD_TCP_HANDOVER=2): a CONN or LISTEN
 *            of the parent's stack, which still holds it. The child's
 *            first use of the fd asks the parent to hand it to the kernel
 *            (tcp_claim.c, tcp_share.c) and waits for the answer; the fd
 *            then is KERNEL (or ORPHAN: a connection that cannot move).
 *            A close does nothing to the parent's socket.
 */
#ifndef ANYLOAD_PRELOAD_PL_TCP_H
#define ANYLOAD_PRELOAD_PL_TCP_H

#include "preload/pl_int.h"

#include <netinet/in.h>

enum pl_tcp_role {
  PL_TCP_NEW = 0,
  PL_TCP_LISTEN,
  PL_TCP_CONN,
  PL_TCP_KERNEL,
  PL_TCP_ORPHAN,
  PL_TCP_REMOTE,
};

/* pl_obj.flags bits of TCP objects (above those of pl_int.h) */
#define PL_TF_RCVBUF 0x100u  /* the program set SO_RCVBUF / SO_SNDBUF */
#define PL_TF_SNDBUF 0x200u
#define PL_TF_RLISTEN 0x400u /* REMOTE: a listener in the parent's stack */
#define PL_TF_FOLLOW  0x1000u /* a listener just claimed from the parent,
                               * to follow into this process's stack */
#define PL_TF_HELD    0x800u /* closed by the program, kept for a child
                              * (tcp_share.c) under a hidden fd */

/* tcp_obj: the TCP object of fd when this call should look at it. */
static inline struct pl_obj* pl_tcp_obj(int fd)
{
  struct pl_obj* o = pl_obj_of(fd);

  return o && o->kind == PL_TCP && !pl_depth ? o : NULL;
}

/* pl_tcp_stack_conn: fd is a stack connection now (a hint, no lock). */
static inline int pl_tcp_stack_conn(const struct pl_obj* o)
{
  return o && o->kind == PL_TCP && o->tcp == PL_TCP_CONN && o->sd >= 0;
}

/* fd_tcp.c */
int pl_tcp_socket(int domain, int type, int proto);
int pl_tcp_listen(int fd, int backlog);
int pl_tcp_accept(int fd, struct sockaddr* a, socklen_t* l, int flags);
int pl_tcp_connect(int fd, const struct sockaddr* a, socklen_t l);
int pl_tcp_shutdown(int fd, int how);
int pl_tcp_setsockopt(int fd, int lv, int nm, const void* v, socklen_t l);
int pl_tcp_getsockopt(int fd, int lv, int nm, void* v, socklen_t* l);
int pl_tcp_getname(int fd, struct sockaddr* a, socklen_t* l, int peer);
void pl_tcp_close_sd(struct pl_obj* o);           /* under the lock */
/* pl_tcp_release: the last fd of o (fd, still open) goes: close, dup2
 * over it, exit. A connection a forked child may hold is handed to the
 * kernel first, or kept in the stack for the child under a hidden fd
 * (tcp_share.c). 1 when o lives on (kept), else 0 (free it). Under the
 * lock. */
int pl_tcp_release(int fd, struct pl_obj* o);
/* A lingering close (SO_LINGER on with a timeout): close(2) of the last
 * fd of a stack connection waits, as Linux's does (even when the socket
 * is non-blocking), until the peer has acknowledged the data and the FIN,
 * the timeout passes, or a signal handler runs; then it returns, and the
 * connection goes on in the background (it is not reset). */
struct pl_tcp_linger {
  uint64_t handle;       /* anyload_tcp_close_handle; 0: no wait */
  int64_t  deadline;
};
/* pl_tcp_linger_take: before fd's object is released (under the lock):
 * lg->handle is set when that close must linger. */
void pl_tcp_linger_take(int fd, struct pl_tcp_linger* lg);
/* pl_tcp_linger_wait: the wait itself (not under the lock). */
void pl_tcp_linger_wait(int fd, const struct pl_tcp_linger* lg);
short pl_tcp_ready(struct pl_obj* o);             /* under the lock */
void pl_tcp_fork_prepare(void);                   /* under the lock */
void pl_tcp_exec_prepare(void);                   /* under the lock */
void pl_tcp_child(int fd, struct pl_obj* o);      /* in the child */
const char* pl_tcp_addr_str(const struct sockaddr_in* a, char* buf,
                            size_t len);

/* fd_tcp_io.c: data calls on CONN (and ORPHAN) objects. */
ssize_t pl_tcp_sendmsg(int fd, const struct msghdr* m, int flags);
ssize_t pl_tcp_recvmsg(int fd, struct msghdr* m, int flags);
int pl_tcp_ioctl_fionread(int fd, int* out);
ssize_t pl_tcp_sendfile(int out, int in, off_t* off, size_t n);
ssize_t pl_tcp_splice(int in, loff_t* off_in, int out, loff_t* off_out,
                      size_t len, unsigned fl);

/* tcp_poller.c */
void pl_tcp_poller_start(void);                   /* under the lock */
void pl_tcp_poller_child(void);                   /* in a forked child */
void pl_tcp_note_progress(int64_t now);
void pl_tcp_exit_drain(void);                     /* under the lock */

/* pl_tcp_edge: EPOLLET for the stack readiness r of a TCP member: the
 * bits not reported since the program last met EAGAIN on it (and those
 * that fell and rose again), and POLLIN again after each new arrival
 * (anyload_tcp_rx_events); r unchanged for other members. */
uint32_t pl_tcp_edge(struct pl_ep_item* it, uint32_t r);

/* fd_epoll.c: fd became a stack connection: out of the kernel sets;
 * fd became a kernel connection again: into the kernel sets that have
 * it as a member. */
void pl_epoll_kernel_detach(int fd);              /* under the lock */
void pl_epoll_kernel_attach(int fd);              /* under the lock */

/* tcp_handover.c: fd's stack connection (o) goes on in the kernel's TCP,
 * on fd's kernel socket (TCP_REPAIR); o becomes KERNEL. Under the lock,
 * pl_depth raised, the stack not polled meanwhile. 0, or a negative errno
 * with nothing changed. */
int pl_tcp_handover(int fd, struct pl_obj* o, struct anyload_stack* st,
                    const char* why);
/* pl_tcp_handover_all: every stack connection that can go (unless
 * ANYLOAD_TCP_HANDOVER=0), before a fork or an exec; listeners must have
 * gone to the kernel first (pl_tcp_listeners_to_kernel), or their
 * accepted connections stay on their filters. Under the lock. */
void pl_tcp_handover_all(const char* why);
/* fd_tcp.c: every stack listener closes; its kernel socket, which
 * listens already, takes the port's new connections. Under the lock. */
void pl_tcp_listeners_to_kernel(const char* why);
/* fd_tcp.c, under the lock. pl_tcp_open_bound: a stack socket bound to
 * the address and port of fd's kernel socket, with the options set on it
 * so far; the socket, or a negative errno with the reason in why.
 * pl_tcp_local_of: the kernel socket's address, bound to port 0 (the
 * kernel chooses) when unbound; 0, or -1 with the reason in *why
 * (loopback addresses are refused). */
int pl_tcp_open_bound(int fd, struct pl_obj* o, struct anyload_stack* st,
                      struct sockaddr_in* local, char* why, size_t wl);
int pl_tcp_local_of(int fd, struct sockaddr_in* local, const char** why);
/* tcp_follow.c: fd's listener o, the kernel's since its parent's stack
 * let it go at the child's first use (tcp_claim.c), listens again in this
 * process's own stack when it can (ANYLOAD_TCP_LISTEN_FOLLOW); else it
 * stays the kernel's, with the reason logged. Under the lock. */
void pl_tcp_listener_follow(int fd, struct pl_obj* o);
/* fdtable.c: the stack goes when no socket of the program is in it any
 * more (a forked child took the last one away and may want the interface
 * queue for a stack of its own). 1 if it went. Under the lock. */
int pl_stack_release_if_idle(const char* why);
/* pl_tcp_listener_to_kernel: the same for fd's listener o alone (under
 * the lock, pl_depth raised). keep_queue: the connections its stack
 * listener has queued are taken first and kept for the program's accept
 * (it accepts from this listener in this process), instead of being
 * reset. */
void pl_tcp_listener_to_kernel(int fd, struct pl_obj* o, const char* why,
                               int keep_queue);
/* pl_tcp_listener_drain: run the stack (bounded: 5 to 200 ms) until
 * listener o has no handshake in progress, so that they complete before
 * it closes. After each round, and once at the end, take(st, o, ctx)
 * empties the stack listener's accept queue into the caller's keeping: a
 * full queue (a program that listened with a small backlog and is busy
 * elsewhere) would drop the handshakes' last ACKs, and the close would
 * reset connections whose clients believe them established. */
typedef void (*pl_tcp_queue_taker)(struct anyload_stack* st,
                                   struct pl_obj* o, void* ctx);
void pl_tcp_listener_drain(struct anyload_stack* st, struct pl_obj* o,
                           pl_tcp_queue_taker take, void* ctx);
/* A connection taken from a stack listener's queue as it left the stack,
 * still to be handed out by accept. */
struct pl_tcp_queued {
  int                sd;
  struct sockaddr_in peer;
};

/* ---- Lazy hand-over (ANYLOAD_TCP_HANDOVER=2) --------------------------
 *
 * tcp_share_msg.c: the request and answer between a forked child and the
 * process whose stack holds a socket, over a SOCK_SEQPACKET channel made
 * at the fork. Each request carries a reply socket of its own (SCM_RIGHTS)
 * so that every asker (a child, its threads, its own children, which
 * inherit the channel) reads its own answer. */
#define PL_SHARE_MAGIC 0x616c7368u   /* "alsh" */
#define PL_SHARE_TAKE  1u            /* op: hand this socket to the kernel */
#define PL_SHARE_CONN  2u            /* op: a queued connection (see below) */
#define PL_SHARE_MOVES 3u            /* op: the connections kept for a
                                        listener (tcp_share_queue.c) */
/* Request flag: the asker will listen in a stack of its own
 * (tcp_follow.c): a listener's queued connections may come with the
 * answer, for its stack to take in (tcp_share_queue.c). */
#define PL_SHARE_F_QUEUE 1u
enum pl_share_result {
  PL_SHARE_KERNEL = 1,   /* the socket is the kernel's (now or before) */
  PL_SHARE_STAYS = 2,    /* it cannot move: the parent's stack keeps it */
  PL_SHARE_UNKNOWN = 3,  /* not the parent's (closed, or another socket) */
};
struct pl_share_req {
  uint32_t magic, op;
  int32_t  fd;           /* the fd number in the asker (a hint) */
  int32_t  sd;           /* the stack socket at the fork */
  uint64_t id;           /* the object's id (pl_obj.id) at the fork */
  uint32_t flags;        /* PL_SHARE_F_* */
  uint32_t pad;
};
struct pl_share_ans {
  uint32_t magic;
  int32_t  result;       /* enum pl_share_result */
  uint64_t id;           /* the request's */
  uint32_t n_conns;      /* PL_SHARE_CONN messages that follow */
  uint32_t pad;
};
/* After an answer with n_conns, as many messages on the reply socket:
 * this header, then ex.recv_len bytes (at most PL_SHARE_CONN_MAX_BYTES). */
#define PL_SHARE_CONN_MAX_BYTES 65536u
#define PL_SHARE_MAX_CONNS 4096
struct pl_share_conn {
  uint32_t magic, op;    /* PL_SHARE_MAGIC, PL_SHARE_CONN */
  uint64_t id;           /* the request's */
  struct anyload_tcp_export ex;
};
/* A queued connection on its way from the parent's stack to the child's:
 * its state and unread bytes (malloc'd, NULL when none). */
struct pl_share_move {
  struct anyload_tcp_export ex;
  uint8_t* bytes;
};
/* pl_share_ask: send rq on chan with a fresh reply socket and wait up to
 * timeout_ns for the answer (signals do not end the wait). 0 with *an
 * filled, or -EPIPE (the other end is gone, or it dropped the request
 * unanswered), -ETIMEDOUT, -EBADMSG (an answer that is not one: size,
 * magic, id), -EMFILE/-ENFILE/-ENOMEM (no reply socket), or sendmsg's
 * errno (-EBADF, -ENOTSOCK ...). Makes kernel calls only. */
int pl_share_ask(int chan, const struct pl_share_req* rq, int64_t timeout_ns,
                 struct pl_share_ans* an, struct pl_share_move** moves,
                 int* n_moves);
/* pl_share_recv: one message from chan without waiting: 1 with *rq and
 * *reply (the asker's reply socket, the caller's to pass to
 * pl_share_answer), 0 at the end (every holder of the other end is
 * gone), -EAGAIN when none is queued, -EBADMSG for a message that is
 * not a request (dropped, the fds it carried closed), or recvmsg's
 * errno. */
int pl_share_recv(int chan, struct pl_share_req* rq, int* reply);
/* pl_share_answer: answer rq on reply, then send the n queued
 * connections of moves (waiting at most 1 s in all for room: the asker
 * reads them as they come), and close reply. 0 or a negative errno (the
 * asker is gone: nothing to do). */
int pl_share_answer(int reply, const struct pl_share_req* rq, int result,
                    const struct pl_share_move* moves, int n);

/* pl_share_send_conn: one connection of id as a PL_SHARE_CONN message on
 * fd, waiting for room until deadline. 0 or a negative errno. */
int pl_share_send_conn(int fd, uint64_t id, const struct pl_share_move* m,
                       int64_t deadline);
/* pl_share_recv_posted: the next message on a child's end of chan, which
 * the parent posted there at its exit (pl_share_post), without waiting:
 * 0 with *m (its bytes malloc'd) and *id, -EAGAIN when none is left,
 * -EBADMSG (a message that is not one: dropped), -ENOMEM. */
int pl_share_recv_posted(int chan, struct pl_share_move* m, uint64_t* id);
/* pl_share_post (tcp_share.c): at exit, the n connections of listener id
 * into the first channel whose child shares it, without waiting (the
 * child whose stack listens next reads them there). Their number
 * posted. */
int pl_share_post(uint64_t id, const struct pl_share_move* m, int n);

/* tcp_share_queue.c: a listener's queued connections follow it from the
 * parent's stack to a child's (see there). In the parent, under the lock,
 * pl_depth raised: */
/* pl_share_queue_out: before listener o (fd) closes for a child that
 * asked with PL_SHARE_F_QUEUE, when nothing else keeps the stack (it is
 * released next, so that a child can make its own), its queued
 * connections leave the stack and are kept for the child that will ask
 * for them (PL_SHARE_MOVES with the request's id). */
void pl_share_queue_out(struct anyload_stack* st, int fd, struct pl_obj* o,
                        uint64_t id);
/* pl_share_queue_exit: at exit, before listener o (fd), shared with a
 * child, closes: its queued connections leave the stack and are posted
 * to the child (pl_share_post). */
void pl_share_queue_exit(struct anyload_stack* st, int fd, struct pl_obj* o);
/* pl_share_queue_take: the connections kept for id (gone from the store:
 * the caller frees them), their number in *n; expired ones are freed. */
struct pl_share_move* pl_share_queue_take(uint64_t id, int* n);
/* pl_share_queue_fork_child: in a forked child (alone): the parent's
 * kept connections are not its own. */
void pl_share_queue_fork_child(void);
/* In the child, under the lock: */
/* pl_share_queue_chan: o (REMOTE, id) was claimed with PL_SHARE_F_QUEUE
 * on chan: a hidden copy of chan is kept to ask for its connections. */
void pl_share_queue_chan(struct pl_obj* o, int chan, uint64_t id);
/* pl_share_queue_in: fd's listener o now listens in st: the parent's
 * queued connections, asked for at once, join its accept queue. */
void pl_share_queue_in(int fd, struct pl_obj* o, struct anyload_stack* st);
/* pl_share_queue_forget: o will not ask (its copy of the channel goes). */
void pl_share_queue_forget(struct pl_obj* o);
void pl_share_moves_free(struct pl_share_move* m, int n);

/* tcp_share.c: the channels. In the process whose stack holds sockets:
 * made at fork, served by the TCP poller, closed at their end. */
extern int pl_tcp_remotes;   /* REMOTE objects in this process */
/* Children served at once; a fork beyond hands its sockets over now. */
#define PL_SHARE_MAX_CHANS 1024
/* pl_share_fork_prepare: before a fork, under the lock: 1 when the fork
 * is lazy (a channel made, every accelerated TCP object marked shared),
 * 0 when the sockets must move now (ANYLOAD_TCP_HANDOVER < 2, no
 * poller, no channel). */
int pl_share_fork_prepare(void);
void pl_share_fork_parent(void);                  /* under the lock */
/* pl_share_fork_child: in the child, before pl_child_forget: the
 * parent's channel ends go, the child's is kept, and the sockets marked
 * by this fork become REMOTE. */
void pl_share_fork_child(void);
/* pl_share_fds: the parent ends to watch (fd, POLLIN) into p[0..max);
 * their number (under the lock). */
int pl_share_fds(struct pollfd* p, int max);
int pl_share_count(void);                         /* under the lock */
/* pl_share_park: listener o, shared with forked children (a pre-forking
 * server's), is about to leave the stack (taken by a child, or at exit):
 * its filter stays parked a second (anyload_tcp_park), so that the child
 * that follows it into a stack of its own (tcp_follow.c) finds no kernel
 * connections on the port. Under the lock. */
void pl_share_park(struct anyload_stack* st, struct pl_obj* o);
/* pl_share_serve: chan (a parent end) was readable: answer its requests,
 * close it at its end. Under the lock (the TCP poller). */
void pl_share_serve(int chan);
/* pl_share_handover: fd's stack connection o, which a forked child may
 * hold, goes to the kernel before the parent lets it go (close, exit).
 * Under the lock. */
void pl_share_handover(int fd, struct pl_obj* o, const char* why);
/* pl_share_hold: the program closes the last fd of shared connection o,
 * which rides on its listener's filter (it could leave the stack only
 * with the listener): keep it in the stack under a hidden fd (a dup of
 * fd) until the child uses it (then it goes to the kernel) or is gone
 * (then the stack closes it). 1 when kept. Under the lock. */
int pl_share_hold(int fd, struct pl_obj* o);
void pl_share_exit(void);                         /* under the lock */
void pl_share_forget(struct pl_obj* o);           /* REMOTE o ends */
void pl_share_chan_gone(struct pl_obj* o);        /* PL_CHAN o freed */
/* pl_share_chan_of: the channel fd to ask through for REMOTE o, or -1
 * when it is gone (the program closed it). Under the lock. */
int pl_share_chan_of(const struct pl_obj* o);

/* tcp_claim.c: the child's side, never under the lock. pl_tcp_claim: fd
 * is REMOTE: ask the parent, wait (at most 2 s), and make fd KERNEL (or
 * ORPHAN). why names the call, for the log. */
void pl_tcp_claim(int fd, const char* why);
/* pl_tcp_settle: before a call that uses fd: claim it if REMOTE. */
static inline void pl_tcp_settle(int fd, const char* why)
{
  struct pl_obj* o;

  if (__builtin_expect(!__atomic_load_n(&pl_tcp_remotes, __ATOMIC_RELAXED),
                       1))
    return;
  o = pl_tcp_obj(fd);
  if (o && o->tcp == PL_TCP_REMOTE)
    pl_tcp_claim(fd, why);
}
/* pl_tcp_claim_inherited: before exec, every REMOTE fd that the new
 * image inherits (not close-on-exec). */
void pl_tcp_claim_inherited(void);
/* pl_tcp_claim_listeners: before the program changes its user or group
 * (setuid and friends), every REMOTE listener is claimed, so that it can
 * follow into a stack of this process (tcp_follow.c) while the process
 * still has the privileges that making a stack needs: a pre-forking
 * server's worker drops them before it first uses its listeners (nginx:
 * `user`). The stack, once made, works without them. */
void pl_tcp_claim_listeners(const char* why);
/* pl_epoll_claim_members: before epoll_wait on ep: its REMOTE members. */
void pl_epoll_claim_members(int ep);

/* tcp_poller.c */
int pl_tcp_poller_up(void);                       /* under the lock */
void pl_tcp_poller_kick(void);                    /* new channels */

#endif /* ANYLOAD_PRELOAD_PL_TCP_H */
