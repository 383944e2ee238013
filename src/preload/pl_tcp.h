/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * preload/pl_tcp.h: TCP in transparent mode, declarations shared by the
 * modules of libanyload.so (fd_tcp.c, fd_tcp_io.c, tcp_poller.c and their
 * callers in intercept.c, fdtable.c, fd_epoll.c, poll_select.c,
 * fork_exec.c). An AF_INET stream socket gets a PL_TCP object at
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
 *            to the kernel before the fork (tcp_handover.c): the parent
 *            keeps the connection; every data call fails with ENOTCONN
 */
#ifndef ANYLOAD_PRELOAD_PL_TCP_H
#define ANYLOAD_PRELOAD_PL_TCP_H

#include "preload/pl_int.h"

enum pl_tcp_role {
  PL_TCP_NEW = 0,
  PL_TCP_LISTEN,
  PL_TCP_CONN,
  PL_TCP_KERNEL,
  PL_TCP_ORPHAN,
};

/* pl_obj.flags bits of TCP objects (above those of pl_int.h) */
#define PL_TF_RCVBUF 0x100u  /* the program set SO_RCVBUF / SO_SNDBUF */
#define PL_TF_SNDBUF 0x200u

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
 * that fell and rose again); r unchanged for other members. */
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

#endif /* ANYLOAD_PRELOAD_PL_TCP_H */
