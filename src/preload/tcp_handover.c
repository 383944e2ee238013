// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/tcp_handover.c: an accelerated TCP connection goes on in the
 * kernel's TCP, on the kernel socket that already holds its fd number.
 *
 * Why: a connection shared by processes cannot stay in one process's
 * stack. Before a fork (a server that forks a child per connection:
 * socat's fork, inetd style, ForkingTCPServer) and before an exec (the new
 * image inherits the fd), every stack connection is rebuilt in the kernel
 * with TCP_REPAIR, as CRIU moves connections between hosts, so that the
 * parent, the child and the new image all hold one kernel connection, with
 * the kernel's semantics for a shared socket.
 *
 * How (man 7 tcp, TCP_REPAIR; CAP_NET_ADMIN, which the stack's XDP program
 * needs anyway): in repair mode the kernel socket takes the stack's
 * sequence numbers (TCP_QUEUE_SEQ of both queues), is connected without a
 * SYN, gets the negotiated options (MSS, window scales, SACK, timestamps
 * and our timestamp clock), the bytes sent and not yet acknowledged (they
 * count as sent: the kernel retransmits them if the peer did not get
 * them), the bytes received and not yet read, and the windows. Then the
 * stack lets the connection go (anyload_tcp_detach: its filter goes, so
 * the peer's segments reach the kernel socket), repair mode ends with a
 * window probe (the peer's answer brings the kernel its ACK, window and
 * timestamp), and the bytes the stack had not sent yet are sent by the
 * kernel. The peer sees nothing but that probe. A peer's FIN already
 * received becomes shutdown(SHUT_RD): reads give the unread bytes, then 0.
 * Out-of-order bytes the stack held are lost; the peer sends them again.
 *
 * What cannot move stays as before (logged): connections past a FIN of
 * ours or not yet established (the stack refuses the export), a kernel
 * that refuses repair mode (no CAP_NET_ADMIN in the socket's network
 * namespace). A failure before the stack let go puts the kernel socket
 * back as it was (a disconnect in repair mode sends nothing) and the stack
 * keeps the connection.
 *
 * Called under the library lock with pl_depth raised (the calls below go
 * to the kernel) and the stack not polled meanwhile: nothing may change
 * between the export and the detach.
 */
#include "preload/pl_tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int tcp_opt(int fd, int name, int val)
{
  return PL_REAL(setsockopt)(fd, IPPROTO_TCP, name, &val, sizeof(val)) < 0
             ? -errno : 0;
}

/* repair_off: leave repair mode, with a window probe or without. */
static void repair_off(int fd, int probe)
{
  tcp_opt(fd, TCP_REPAIR, probe ? TCP_REPAIR_OFF : TCP_REPAIR_OFF_NO_WP);
}

/* abort_repair: undo a connect made in repair mode, silently (the kernel's
 * tcp_disconnect sends nothing for a socket in repair), and leave it. */
static void abort_repair(int fd, int connected)
{
  struct sockaddr sa;
  int err;
  socklen_t len = sizeof(err);

  if (connected) {
    memset(&sa, 0, sizeof(sa));
    sa.sa_family = AF_UNSPEC;
    PL_REAL(connect)(fd, &sa, sizeof(sa));
  }
  repair_off(fd, 0);
  /* The disconnect left ECONNABORTED pending: not the program's. */
  PL_REAL(getsockopt)(fd, SOL_SOCKET, SO_ERROR, &err, &len);
}

/* send_all: len bytes of buf through fd (repair mode off: plain sends,
 * which the send buffer was made to hold). 0 or a negative errno. */
static int send_all(int fd, const uint8_t* buf, uint32_t len)
{
  uint32_t k = 0;

  while (k < len) {
    ssize_t w = PL_REAL(send)(fd, buf + k, len - k,
                              MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w <= 0)
      return w < 0 ? -errno : -EIO;
    k += (uint32_t)w;
  }
  return 0;
}

/* queue_bytes: write queue q of sd (len bytes) into fd's kernel socket
 * in repair mode, into the repair queue selected. 0 or a negative errno;
 * all of it or nothing counts. */
static int queue_bytes(struct anyload_stack* st, int sd, int fd,
                       enum anyload_tcp_queue q, uint32_t len)
{
  static uint8_t buf[65536];
  uint32_t off = 0;

  while (off < len) {
    ssize_t n = anyload_tcp_export_bytes(st, sd, q, off, buf, sizeof(buf));
    int rc;
    if (n <= 0)
      return n < 0 ? (int)n : -EIO;
    if ((rc = send_all(fd, buf, (uint32_t)n)) < 0)
      return rc;
    off += (uint32_t)n;
  }
  return 0;
}

/* room: the kernel socket's buffer `name` (SO_SNDBUF, SO_RCVBUF) holds
 * at least need bytes of data: raised (SO_*BUFFORCE, beyond the sysctl
 * maximum, as CAP_NET_ADMIN may) if not. */
static void room(int fd, int name, int force, uint32_t need)
{
  int cur = 0, want;
  socklen_t len = sizeof(cur);

  if (!need || PL_REAL(getsockopt)(fd, SOL_SOCKET, name, &cur, &len) < 0)
    return;
  /* The kernel counts skb overhead too; it doubles what is set. */
  if ((uint64_t)cur >= 2ull * need + 65536)
    return;
  want = (int)(need + need / 2 + 65536);
  PL_REAL(setsockopt)(fd, SOL_SOCKET, force, &want, sizeof(want));
}

/* The options the stack keeps for a connection (set on it, or inherited
 * from its listener) that the kernel socket must carry on. */
static const struct { int level, name; } carried[] = {
  { SOL_SOCKET, SO_KEEPALIVE },   { IPPROTO_TCP, TCP_NODELAY },
  { IPPROTO_TCP, TCP_CORK },      { IPPROTO_TCP, TCP_KEEPIDLE },
  { IPPROTO_TCP, TCP_KEEPINTVL }, { IPPROTO_TCP, TCP_KEEPCNT },
  { IPPROTO_TCP, TCP_USER_TIMEOUT }, { IPPROTO_IP, IP_TOS },
  { IPPROTO_IP, IP_TTL },
};

static void carry_options(struct anyload_stack* st, int sd, int fd)
{
  struct linger lg;
  socklen_t len;
  char cc[16];
  unsigned k;
  int v;

  for (k = 0; k < sizeof(carried) / sizeof(carried[0]); k++) {
    len = sizeof(v);
    if (anyload_tcp_getsockopt(st, sd, carried[k].level, carried[k].name, &v,
                               &len) == 0)
      PL_REAL(setsockopt)(fd, carried[k].level, carried[k].name, &v,
                          sizeof(v));
  }
  len = sizeof(lg);
  if (anyload_tcp_getsockopt(st, sd, SOL_SOCKET, SO_LINGER, &lg, &len) == 0)
    PL_REAL(setsockopt)(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  len = sizeof(cc);
  if (anyload_tcp_getsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, cc,
                             &len) == 0)
    PL_REAL(setsockopt)(fd, IPPROTO_TCP, TCP_CONGESTION, cc, len);
}

/* rebuild: the stack's connection ex (socket sd) in fd's kernel socket,
 * up to the point where the stack must let go. 0, or a negative errno
 * with fd as it was. */
static int rebuild(struct anyload_stack* st, int sd, int fd,
                   const struct anyload_tcp_export* ex, const char** step)
{
  struct sockaddr_in bound, now_local;
  socklen_t len = sizeof(bound);
  struct tcp_repair_opt opts[4];
  struct tcp_repair_window win;
  unsigned n_opts = 0;
  int rc;

  *step = "TCP_REPAIR";
  if ((rc = tcp_opt(fd, TCP_REPAIR, TCP_REPAIR_ON)) < 0)
    return rc;
  /* An accepted connection's kernel socket is unbound: it takes the
   * listener's port, which repair mode allows (forced reuse). */
  *step = "bind";
  if (PL_REAL(getsockname)(fd, (struct sockaddr*)&bound, &len) < 0)
    goto fail_errno;
  if (bound.sin_port == 0 &&
      PL_REAL(bind)(fd, (const struct sockaddr*)&ex->local,
                    sizeof(ex->local)) < 0)
    goto fail_errno;
  *step = "TCP_QUEUE_SEQ";
  if ((rc = tcp_opt(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) < 0 ||
      (rc = tcp_opt(fd, TCP_QUEUE_SEQ, (int)ex->snd_una)) < 0 ||
      (rc = tcp_opt(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)) < 0 ||
      (rc = tcp_opt(fd, TCP_QUEUE_SEQ, (int)(ex->rcv_nxt - ex->recv_len))) < 0)
    goto fail;
  *step = "connect";
  if (PL_REAL(connect)(fd, (const struct sockaddr*)&ex->remote,
                       sizeof(ex->remote)) < 0)
    goto fail_errno;
  /* The kernel chose the source address of a socket bound to any: it
   * must be the stack's, or the peer would not know this connection. */
  len = sizeof(now_local);
  *step = "local address";
  if (PL_REAL(getsockname)(fd, (struct sockaddr*)&now_local, &len) < 0 ||
      now_local.sin_addr.s_addr != ex->local.sin_addr.s_addr ||
      now_local.sin_port != ex->local.sin_port) {
    rc = -EADDRNOTAVAIL;
    goto fail_connected;
  }
  opts[n_opts++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, ex->peer_mss };
  if (ex->ws_ok)
    opts[n_opts++] = (struct tcp_repair_opt){
      TCPOPT_WINDOW, (uint32_t)ex->snd_ws | (uint32_t)ex->rcv_ws << 16 };
  if (ex->sack_ok)
    opts[n_opts++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
  if (ex->ts_ok)
    opts[n_opts++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
  *step = "TCP_REPAIR_OPTIONS";
  if (PL_REAL(setsockopt)(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts,
                          (socklen_t)(n_opts * sizeof(opts[0]))) < 0)
    goto fail_connected_errno;
  *step = "TCP_TIMESTAMP";
  if (ex->ts_ok && (rc = tcp_opt(fd, TCP_TIMESTAMP, (int)ex->ts_val)) < 0)
    goto fail_connected;
  room(fd, SO_SNDBUF, SO_SNDBUFFORCE, ex->sent_len + ex->unsent_len);
  room(fd, SO_RCVBUF, SO_RCVBUFFORCE, ex->recv_len + ex->rcv_wnd);
  *step = "send queue";
  if ((rc = tcp_opt(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) < 0 ||
      (rc = queue_bytes(st, sd, fd, ANYLOAD_TCP_Q_SENT, ex->sent_len)) < 0)
    goto fail_connected;
  *step = "receive queue";
  if ((rc = tcp_opt(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)) < 0 ||
      (rc = queue_bytes(st, sd, fd, ANYLOAD_TCP_Q_RECV, ex->recv_len)) < 0)
    goto fail_connected;
  tcp_opt(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
  win.snd_wl1 = ex->snd_wl1;
  win.snd_wnd = ex->snd_wnd;
  win.max_window = ex->max_snd_wnd > ex->snd_wnd ? ex->max_snd_wnd
                                                 : ex->snd_wnd;
  win.rcv_wnd = ex->rcv_wnd;
  win.rcv_wup = ex->rcv_nxt;
  *step = "TCP_REPAIR_WINDOW";
  if (PL_REAL(setsockopt)(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &win,
                          sizeof(win)) < 0)
    goto fail_connected_errno;
  carry_options(st, sd, fd);
  return 0;

fail_errno:
  rc = -errno;
fail:
  abort_repair(fd, 0);
  return rc;
fail_connected_errno:
  rc = -errno;
fail_connected:
  abort_repair(fd, 1);
  return rc;
}

int pl_tcp_handover(int fd, struct pl_obj* o, struct anyload_stack* st,
                    const char* why)
{
  struct anyload_tcp_export ex;
  const char* step = "export";
  uint8_t* unsent = NULL;
  char ls[32], rs[32];
  socklen_t len;
  int rc, sd = o->sd, reuse;

  rc = anyload_tcp_export(st, sd, &ex, pl_now());
  /* The bytes not sent yet leave the stack with the connection: they are
   * sent by the kernel once repair mode is over. */
  if (rc == 0 && ex.unsent_len) {
    step = "memory for the unsent bytes";
    /* mmap, not malloc: this runs under the library lock, also in the TCP
     * poller while another thread may fork, and an allocator locked
     * across a fork (ASan's) would hang. */
    unsent = mmap(NULL, ex.unsent_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (unsent == MAP_FAILED) {
      unsent = NULL;
      rc = -ENOMEM;
    } else if (anyload_tcp_export_bytes(st, sd, ANYLOAD_TCP_Q_UNSENT, 0, unsent,
                                      ex.unsent_len) != (ssize_t)ex.unsent_len)
      rc = -EIO;
  }
  if (rc == 0)
    rc = rebuild(st, sd, fd, &ex, &step);
  if (rc < 0) {
    if (unsent)
      munmap(unsent, ex.unsent_len);
    pl_log(2, "fd %d: TCP connection not handed to the kernel at %s: %s: "
           "%s", fd, why, step, strerror(-rc));
    return rc;
  }
  /* The connection keeps the SO_REUSEADDR it had in the stack (an
   * accepted one: its listener's), as the kernel's accepted sockets do,
   * so that a later listener may bind the port while it ends (FIN_WAIT2
   * ...). Set once repair mode is over: leaving it resets the socket's
   * reuse, and setting it during repair would undo the forced reuse that
   * let it bind the listener's port. */
  len = sizeof(reuse);
  if (anyload_tcp_getsockopt(st, sd, SOL_SOCKET, SO_REUSEADDR, &reuse,
                             &len) < 0)
    reuse = 0;
  /* From here the connection is the kernel's: the stack lets it go (its
   * filter with it), so the probe's answer reaches the kernel socket. */
  anyload_tcp_detach(st, sd, pl_now());
  o->sd = -1;
  o->tcp = PL_TCP_KERNEL;
  pl_count.tcp_accel--;
  pl_count.tcp_kernel++;
  repair_off(fd, 1);
  if (reuse)
    PL_REAL(setsockopt)(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
  if (ex.fin_rcvd || ex.shut_rd)
    PL_REAL(shutdown)(fd, SHUT_RD);
  rc = send_all(fd, unsent, ex.unsent_len);
  if (unsent)
    munmap(unsent, ex.unsent_len);
  pl_epoll_kernel_attach(fd);
  pl_log(rc < 0 ? 1 : 2, "fd %d: TCP connection %s -> %s handed to the "
         "kernel at %s: %u bytes unacknowledged, %u unsent, %u unread%s%s",
         fd, pl_tcp_addr_str(&ex.local, ls, sizeof(ls)),
         pl_tcp_addr_str(&ex.remote, rs, sizeof(rs)), why, ex.sent_len,
         ex.unsent_len, ex.recv_len, rc < 0 ? "; unsent bytes lost: " : "",
         rc < 0 ? strerror(-rc) : "");
  return 0;
}

void pl_tcp_handover_all(const char* why)
{
  struct anyload_stack* st = pl_stack_if_up();
  int fd, n = 0, kept = 0;

  if (!st || !pl_cfg.tcp_handover)
    return;
  pl_depth++;
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (!pl_tcp_stack_conn(o))
      continue;
    if (pl_tcp_handover(fd, o, st, why) == 0)
      n++;
    else
      kept++;
  }
  pl_depth--;
  if (n || kept)
    pl_log(kept ? 1 : 2, "%s: %d accelerated TCP connection%s handed to the kernel, "
           "%d kept%s", why, n, n == 1 ? "" : "s", kept,
           kept ? " (ANYLOAD_LOG=2 tells why)" : "");
}
