/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * preload/pl_int.h: declarations shared by the modules of libanyload.so
 * (transparent mode), none of them exported. The fd table maps a file
 * descriptor to the object that shadows it: a UDP socket that may be
 * accelerated (its kernel socket is the fd itself) or an epoll set with
 * accelerated members. An fd without an object is the kernel's alone and
 * every call on it goes straight to the next definition (pl_real_*).
 *
 * Locking: one mutex (pl_lock) guards the table's objects and the stack
 * (one stack per process: one interface). It is never held while a call
 * sleeps. pl_depth counts, per thread, how deep it is inside the library:
 * a call that arrives while it is non-zero (the stack's own sockets, or a
 * handler installed behind signals.c's back) goes to the kernel. The
 * program's handlers never run while pl_depth is non-zero: signals.c
 * defers them to pl_unlock, so a handler may siglongjmp() out of any
 * blocking call.
 */
#ifndef ANYLOAD_PRELOAD_PL_INT_H
#define ANYLOAD_PRELOAD_PL_INT_H

#include <anyload/stack.h>

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "preload/settings.h"

/* The next definitions of the intercepted calls. */
#define PL_CALL(ret, name, params, args) extern ret(*pl_real_##name) params;
#define PL_EXPORT(name)
#include "common/syscalls.def"
#undef PL_CALL
#undef PL_EXPORT

/* pl_resolve: look the next definitions up (idempotent, thread-safe). */
void pl_resolve(void);
#define PL_REAL(name) \
  (__builtin_expect(pl_real_##name == NULL, 0) ? pl_resolve() : (void)0, \
   pl_real_##name)

#define PL_MAX_FDS 65536

/* PL_CHAN: one end of a channel between a process and its forked
 * children about TCP sockets they share (tcp_share.c); in the table so
 * that the program's close or dup2 over it is seen. */
enum pl_kind { PL_UDP = 1, PL_EPOLL = 2, PL_TCP = 3, PL_CHAN = 4 };

/* pl_obj.flags */
#define PL_F_NONBLOCK 0x1u  /* O_NONBLOCK on the file */
#define PL_F_DECIDED  0x2u  /* acceleration decided (sd >= 0 or kernel) */
#define PL_F_SHUT_RD  0x4u
#define PL_F_KREADY   0x8u  /* the kernel socket was seen readable */

struct pl_ep_item {
  int                fd;
  uint32_t           events;  /* as registered (0: ONESHOT fired) */
  epoll_data_t       data;
  /* EPOLLET: the member's arrival count when last looked at, whether an
   * edge is due anyway (just added or modified, as the kernel polls then)
   * and whether POLLOUT was seen. */
  uint64_t           et_arrivals;
  int                et_due, et_out;
  int                no_kernel; /* not in the kernel set (fd_tcp.c) */
  uint32_t           et_mask;   /* EPOLLET of TCP: reported since et_gen */
  uint32_t           et_gen;
  uint64_t           et_rx;     /* EPOLLET of TCP: arrivals at the last look */
};

struct pl_obj {
  int      kind;
  int      refs;          /* fd numbers that point at it */
  unsigned flags;
  uint64_t id;            /* unique in this process (and its forks' copies) */
  /* PL_UDP, PL_TCP */
  int      sd;            /* the stack's socket, or -1: kernel only */
  int      tcp;           /* PL_TCP: enum pl_tcp_role (pl_tcp.h) */
  uint32_t et_gen;        /* PL_TCP: +1 at each EAGAIN (EPOLLET re-arm) */
  int64_t  rcvtimeo_ns;   /* 0: none */
  int64_t  sndtimeo_ns;
  int64_t  last_kcheck_ns;
  /* PL_EPOLL: the accelerated fds registered in it */
  struct pl_ep_item* items;
  int      n_items, cap_items;
  int      wait_fd_added; /* the stack's wait fd is in the kernel set */
  int      kernel_members; /* something besides it went into the kernel
                            * set (never reset: a closed fd leaves it
                            * without a DEL) */
  int64_t  last_kcheck;    /* when epoll_wait last asked the kernel set */
  /* PL_TCP shared with forked children (tcp_share.c): in the process
   * whose stack holds it, the channels through which a child may hold
   * it; in a child (role REMOTE), the channel to ask through (its fd and
   * its object's id) and the stack socket it had at the fork. */
  int      shares;
  int      chan;
  uint64_t chan_id;
  int      rsd;
  /* PL_CHAN: REMOTE objects that use it (a child's end), or 1 for the
   * end of the process that serves it (parent). */
  int      chan_users;
  int      chan_parent;
  unsigned mark;          /* tcp_share.c: visited in this locked scan */
  /* PL_TCP listener that left the stack while the program accepts from
   * it: the connections its stack listener had queued, still to be
   * handed out by accept (fd_tcp.c). */
  struct pl_tcp_queued* backlog;
  int      n_backlog;
  /* PL_TCP listener claimed from the parent by this forked child: a
   * hidden copy of the channel (-1: none) to ask the parent, once this
   * process listens in its own stack, for the connections the parent's
   * stack had queued on it, and the listener's id there
   * (tcp_share_queue.c). */
  int      moves_chan;
  uint64_t moves_id;
  uint64_t moves_chan_ino; /* its inode: still ours (a dup2 over it)? */
  int      listen_backlog; /* PL_TCP: the program's last listen() */
};

struct pl_counts {
  uint64_t udp_accel, udp_kernel, rx_stack, rx_kernel, tx_stack, tx_kernel;
  uint64_t tcp_accel, tcp_kernel, tcp_rx_bytes, tcp_tx_bytes;
  /* poll, select and epoll_wait calls on sets with accelerated members,
   * the kernel polls (system calls) they made, and those of them made
   * with members already ready in the stack */
  uint64_t waits, wait_kernel_polls, wait_ready_kernel_polls;
};

extern struct pl_settings pl_cfg;
extern struct pl_counts pl_count;
extern struct pl_obj* pl_fds[PL_MAX_FDS];
extern __thread int pl_depth;
/* pl_waiters: threads inside a call that polls the stack and may sleep on
 * its wait fd; the TCP poller (tcp_poller.c) leaves the stack to them:
 * they poll it themselves (a poll that takes another thread's frames
 * wakes that thread, wake.c), so the poller would only contend for the
 * lock. */
extern int pl_waiters;
/* pl_my_waits: this thread's share of pl_waiters. */
extern __thread int pl_my_waits;
static inline void pl_waiter_enter(void)
{
  pl_my_waits++;
  __atomic_add_fetch(&pl_waiters, 1, __ATOMIC_SEQ_CST);
}
static inline void pl_waiter_leave(void)
{
  pl_my_waits--;
  __atomic_sub_fetch(&pl_waiters, 1, __ATOMIC_SEQ_CST);
}
/* wake.c: a thread that sleeps watches a wake fd of its own, which other
 * threads' polls of the stack write (see wake.c for the protocol).
 * pl_wake_note: under the lock, after this thread polled the stack and
 * handled n events (before it looks at its sockets). pl_sleep_arm: under
 * the lock, before a sleep that would end by *until (it also primes the
 * stack: anyload_stack_prime, so that frames wake the sleep): the wake fd to
 * watch besides the stack's wait fd, or -1; it lowers *until to now when
 * another thread polled since this thread's last look (look again
 * without sleeping). pl_sleep_disarm: after the sleep, without the lock;
 * fired: the wake fd was readable. */
void pl_wake_init(void);
void pl_wake_note(int n);
int pl_sleep_arm(int64_t now, int64_t* until);
void pl_sleep_disarm(int fired);
void pl_wake_child(void);

/* fdtable.c */
void pl_init(void);
int pl_lock(void);            /* 0, or -1 when re-entered on this thread */
void pl_unlock(void);
/* pl_obj_of: the object of fd, read without the lock (a hint). */
static inline struct pl_obj* pl_obj_of(int fd)
{
  if (fd < 0 || fd >= PL_MAX_FDS)
    return NULL;
  return __atomic_load_n(&pl_fds[fd], __ATOMIC_ACQUIRE);
}
struct pl_obj* pl_obj_new(int kind);
void pl_fd_set(int fd, struct pl_obj* o);         /* under the lock */
void pl_fd_release(int fd);                       /* under the lock */
/* pl_stack: the process's stack, created on first use (under the lock).
 * NULL when it cannot start: *err then holds the negative errno. */
struct anyload_stack* pl_stack(int* err);
struct anyload_stack* pl_stack_if_up(void);
int64_t pl_now(void);
/* pl_sleep_ts: the timeout of a sleep from now until `until` for ppoll:
 * NULL for INT64_MAX (no end), else ts (zero when until is past). */
static inline struct timespec* pl_sleep_ts(int64_t until, int64_t now,
                                           struct timespec* ts)
{
  if (until == INT64_MAX)
    return NULL;
  until = until > now ? until - now : 0;
  ts->tv_sec = until / 1000000000;
  ts->tv_nsec = until % 1000000000;
  return ts;
}
void pl_progress(struct anyload_stack* st);       /* under the lock */
/* pl_progress_at: the same with the caller's fresh clock reading (a
 * spinning loop reads the clock once per round, not once per call). */
void pl_progress_at(struct anyload_stack* st, int64_t now);
/* pl_publish_settings: give the settings in force to the stack (pl_publish.c). */
void pl_publish_settings(struct anyload_stack* st);
void pl_log(int level, const char* fmt, ...)
  __attribute__((format(printf, 2, 3)));
void pl_stacks_drop(const char* why);             /* exec, exit */
int pl_wait(int fd, short events, int64_t deadline_ns, const sigset_t* m);

/* signals.c: handlers never run inside a locked step; pl_unlock replays
 * the signals deferred meanwhile (pl_sig_pending, bit sig - 1). */
extern __thread uint64_t pl_sig_pending;
void pl_signals_replay(void);
/* pl_signals_wait_begin: before a blocking wait; pl_eintr_restarts after
 * it failed with EINTR: 1 when the handler that ran has SA_RESTART. */
void pl_signals_wait_begin(void);
int pl_eintr_restarts(void);
/* pl_sig_runs counts the program's handlers run on this thread; a
 * spinning call takes it at its start, and pl_sig_interrupted(since,
 * restartable) says it must end with EINTR: a handler ran since, and the
 * call is not restartable (poll, select, epoll_wait, a socket with a
 * timeout) or the last handler lacks SA_RESTART. */
extern __thread unsigned pl_sig_runs;
int pl_sig_interrupted(unsigned since, int restartable);
/* pl_signals_ran: a handler ran on this thread since the last
 * pl_signals_wait_begin (a call that spins checks it between rounds). */
int pl_signals_ran(void);

/* fd_udp.c */
int pl_udp_socket(int domain, int type, int proto);
int pl_udp_bind(int fd, const struct sockaddr* a, socklen_t l);
int pl_udp_connect(int fd, const struct sockaddr* a, socklen_t l);
ssize_t pl_udp_sendmsg(int fd, const struct msghdr* m, int flags);
ssize_t pl_udp_recvmsg(int fd, struct msghdr* m, int flags);
int pl_udp_setsockopt(int fd, int lv, int nm, const void* v, socklen_t l);
int pl_udp_getsockopt(int fd, int lv, int nm, void* v, socklen_t* l);
int pl_udp_ioctl_fionread(int fd, int* out);
void pl_udp_close_sd(struct pl_obj* o);           /* under the lock */
/* pl_udp_ready: readiness (POLL*) of an accelerated UDP object from the
 * stack, under the lock. */
short pl_udp_ready(struct pl_obj* o);
/* pl_udp_arrivals: datagrams queued to its stack socket so far (under the
 * lock; 0 without one), for EPOLLET. */
uint64_t pl_udp_arrivals(struct pl_obj* o);

/* fd_epoll.c */
int pl_epoll_create(int fd);
int pl_epoll_ctl(int ep, int op, int fd, struct epoll_event* ev);
int pl_epoll_wait(int ep, struct epoll_event* ev, int n, int timeout,
                  const sigset_t* m);
void pl_epoll_forget_fd(int fd);                  /* under the lock */
short pl_epoll_ready(struct pl_obj* o, int depth);/* under the lock */

/* poll_select.c */
int pl_poll(struct pollfd* f, nfds_t n, int64_t timeout_ns, const sigset_t* m);
int pl_is_special(int fd);

/* fork_exec.c */
void pl_fork_init(void);

#endif /* ANYLOAD_PRELOAD_PL_INT_H */
