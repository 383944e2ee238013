// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/tcp_share_msg.c: the request and the answer of the lazy TCP
 * hand-over (tcp_share.c, tcp_claim.c), on the wire of a SOCK_SEQPACKET
 * channel. Layer: preload; kernel calls only, no state.
 *
 * The channel is made at a fork; the child keeps one end, and so do its
 * threads and its own forked children (they inherit it): several askers
 * may write to it at once. A reply on the channel itself could reach the
 * wrong one, so every request carries a reply socket of its own (one end
 * of a fresh socketpair, passed with SCM_RIGHTS) and the asker waits on
 * the other end. A message is one datagram (SEQPACKET keeps the
 * boundaries); its size, magic and op are checked before it counts, and
 * the descriptors of a message that does not are closed, so that a
 * broken or hostile peer costs nothing but the message. The wait is
 * bounded; the asker also learns at once when the serving process is
 * gone (its end closed: the reply socket queued with the request is
 * closed with it, so the wait ends with POLLHUP) or dropped the request
 * unanswered.
 */
#include "preload/pl_tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FDS_PER_MSG 4

static int64_t left_ms(int64_t deadline)
{
  int64_t now = pl_now();

  if (now >= deadline)
    return 0;
  return (deadline - now + 999999) / 1000000;
}

/* wait_fd: fd has events (POLLIN/POLLOUT) by deadline: 1, 0 (timeout),
 * or a negative errno. A signal does not end it. */
static int wait_fd(int fd, short events, int64_t deadline)
{
  struct pollfd p = { .fd = fd, .events = events };
  int rc;

  for (;;) {
    rc = PL_REAL(poll)(&p, 1, (int)left_ms(deadline));
    if (rc > 0)
      return 1;
    if (rc == 0)
      return 0;
    if (errno != EINTR)
      return -errno;
  }
}

/* send_req: rq with reply attached, within deadline. */
static int send_req(int chan, const struct pl_share_req* rq, int reply,
                    int64_t deadline)
{
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct iovec iov = { (void*)rq, sizeof(*rq) };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                      .msg_control = ctl.buf,
                      .msg_controllen = sizeof(ctl.buf) };
  struct cmsghdr* c;
  int rc;

  memset(&ctl, 0, sizeof(ctl));
  c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &reply, sizeof(int));
  for (;;) {
    if (PL_REAL(sendmsg)(chan, &m, MSG_DONTWAIT | MSG_NOSIGNAL) ==
        (ssize_t)sizeof(*rq))
      return 0;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return errno == ECONNREFUSED || errno == ECONNRESET ? -EPIPE : -errno;
    /* The server's queue is full (many askers): wait for room. */
    rc = wait_fd(chan, POLLOUT, deadline);
    if (rc <= 0)
      return rc < 0 ? rc : -ETIMEDOUT;
  }
}

/* conn_of: the PL_SHARE_CONN message buf (len bytes) into *m (its bytes
 * malloc'd), its id into *id: 0, -EBADMSG or -ENOMEM. */
static int conn_of(const uint8_t* buf, size_t len, struct pl_share_move* m,
                   uint64_t* id)
{
  struct pl_share_conn h;

  if (len < sizeof(h))
    return -EBADMSG;
  memcpy(&h, buf, sizeof(h));
  if (h.magic != PL_SHARE_MAGIC || h.op != PL_SHARE_CONN ||
      h.ex.recv_len > PL_SHARE_CONN_MAX_BYTES ||
      len != sizeof(h) + h.ex.recv_len)
    return -EBADMSG;
  m->ex = h.ex;
  m->bytes = NULL;
  if (h.ex.recv_len) {
    m->bytes = malloc(h.ex.recv_len);
    if (!m->bytes)
      return -ENOMEM;
    memcpy(m->bytes, buf + sizeof(h), h.ex.recv_len);
  }
  *id = h.id;
  return 0;
}

#define CONN_BUF (sizeof(struct pl_share_conn) + PL_SHARE_CONN_MAX_BYTES + 1)

/* recv_moves: the n PL_SHARE_CONN messages that follow the answer to rq
 * on fd, by deadline, into *moves (malloc'd). 0, or a negative errno
 * (nothing kept). */
static int recv_moves(int fd, const struct pl_share_req* rq, uint32_t n,
                      int64_t deadline, struct pl_share_move** moves)
{
  uint8_t* buf = malloc(CONN_BUF);
  struct pl_share_move* m = calloc(n, sizeof(*m));
  uint32_t k = 0;
  uint64_t id;
  int rc = 0;

  if (!buf || !m) {
    rc = -ENOMEM;
    goto out;
  }
  while (k < n) {
    ssize_t got;
    rc = wait_fd(fd, POLLIN, deadline);
    if (rc <= 0) {
      rc = rc < 0 ? rc : -ETIMEDOUT;
      break;
    }
    got = PL_REAL(recv)(fd, buf, CONN_BUF, MSG_DONTWAIT);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
      rc = 0;
      continue;
    }
    if (got <= 0) {
      rc = got < 0 ? -errno : -EPIPE;
      break;
    }
    rc = conn_of(buf, (size_t)got, &m[k], &id);
    if (rc == 0 && id != rq->id) {
      free(m[k].bytes);
      rc = -EBADMSG;
    }
    if (rc < 0)
      break;
    k++;
  }
out:
  free(buf);
  if (rc < 0) {
    pl_share_moves_free(m, (int)k);
    return rc;
  }
  *moves = m;
  return 0;
}

int pl_share_recv_posted(int chan, struct pl_share_move* m, uint64_t* id)
{
  uint8_t* buf = malloc(CONN_BUF);
  ssize_t got;
  int rc;

  if (!buf)
    return -ENOMEM;
  do
    got = PL_REAL(recv)(chan, buf, CONN_BUF, MSG_DONTWAIT);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    rc = errno == EWOULDBLOCK ? -EAGAIN : -errno;
  else if (got == 0)
    rc = -EAGAIN;   /* the end (or an empty datagram): nothing posted */
  else
    rc = conn_of(buf, (size_t)got, m, id);
  free(buf);
  return rc;
}

int pl_share_ask(int chan, const struct pl_share_req* rq, int64_t timeout_ns,
                 struct pl_share_ans* an, struct pl_share_move** moves,
                 int* n_moves)
{
  int64_t deadline = pl_now() + timeout_ns;
  struct pl_share_ans got[2];   /* room for one more: a longer one shows */
  int pair[2], rc;
  ssize_t n;

  *moves = NULL;
  *n_moves = 0;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
    return -errno;
  rc = send_req(chan, rq, pair[1], deadline);
  /* The server holds its own copy now (or never will). */
  PL_REAL(close)(pair[1]);
  if (rc < 0)
    goto out;
  for (;;) {
    rc = wait_fd(pair[0], POLLIN, deadline);
    if (rc <= 0) {
      rc = rc < 0 ? rc : -ETIMEDOUT;
      goto out;
    }
    n = PL_REAL(recv)(pair[0], got, sizeof(got), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    break;
  }
  if (n < 0)
    rc = -errno;
  else if (n == 0)
    rc = -EPIPE;   /* closed unanswered */
  else if (n != (ssize_t)sizeof(*an) || got[0].magic != PL_SHARE_MAGIC ||
           got[0].id != rq->id)
    rc = -EBADMSG;
  else {
    *an = got[0];
    rc = 0;
    if (an->n_conns > PL_SHARE_MAX_CONNS)
      rc = -EBADMSG;
    else if (an->n_conns &&
             recv_moves(pair[0], rq, an->n_conns, deadline, moves) == 0)
      *n_moves = (int)an->n_conns;
    /* Connections that did not all come are lost: the answer stands. */
  }
out:
  PL_REAL(close)(pair[0]);
  return rc;
}

/* take_fds: the descriptors of m's SCM_RIGHTS messages into fds (at most
 * max; the kernel installs no more than the control buffer holds).
 * Returns their number. */
static int take_fds(struct msghdr* m, int* fds, int max)
{
  struct cmsghdr* c;
  int n = 0;

  for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    size_t k, cnt;
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len < CMSG_LEN(0))
      continue;
    cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (k = 0; k < cnt && n < max; k++)
      memcpy(&fds[n++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
  }
  return n;
}

int pl_share_recv(int chan, struct pl_share_req* rq, int* reply)
{
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(MAX_FDS_PER_MSG * sizeof(int))];
  } ctl;
  struct pl_share_req got[2];
  struct iovec iov = { got, sizeof(got) };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                      .msg_control = ctl.buf,
                      .msg_controllen = sizeof(ctl.buf) };
  int fds[MAX_FDS_PER_MSG], nfd, k, type = 0;
  socklen_t tl = sizeof(type);
  ssize_t n;

  *reply = -1;
  do
    n = PL_REAL(recvmsg)(chan, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  nfd = take_fds(&m, fds, MAX_FDS_PER_MSG);
  if (n == 0 && nfd == 0) {
    /* The end, or an empty datagram (which SEQPACKET allows): only a
     * hang-up is the end. */
    struct pollfd p = { .fd = chan, .events = POLLIN };
    if (PL_REAL(poll)(&p, 1, 0) == 1 && (p.revents & POLLHUP))
      return 0;
    return -EBADMSG;
  }
  /* One request, one reply socket of ours (SEQPACKET, AF_UNIX): a reply
   * to anything else could write into a file the asker did not mean. */
  if (n != (ssize_t)sizeof(*rq) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
      got[0].magic != PL_SHARE_MAGIC ||
      (got[0].op != PL_SHARE_TAKE && got[0].op != PL_SHARE_MOVES) ||
      nfd != 1 ||
      PL_REAL(getsockopt)(fds[0], SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
      type != SOCK_SEQPACKET) {
    for (k = 0; k < nfd; k++)
      PL_REAL(close)(fds[k]);
    return -EBADMSG;
  }
  *rq = got[0];
  *reply = fds[0];
  return 1;
}

int pl_share_send_conn(int fd, uint64_t id, const struct pl_share_move* m,
                       int64_t deadline)
{
  struct pl_share_conn h = { .magic = PL_SHARE_MAGIC, .op = PL_SHARE_CONN,
                             .id = id, .ex = m->ex };
  struct iovec iov[2] = { { &h, sizeof(h) },
                          { m->bytes, m->ex.recv_len } };
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = m->ex.recv_len ? 2 : 1 };
  size_t want = sizeof(h) + m->ex.recv_len;
  ssize_t n;
  int rc;

  for (;;) {
    n = PL_REAL(sendmsg)(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == (ssize_t)want)
      return 0;
    if (n >= 0)
      return -EIO;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return -errno;
    if (pl_now() >= deadline)
      return -ETIMEDOUT;
    rc = wait_fd(fd, POLLOUT, deadline);
    if (rc <= 0)
      return rc < 0 ? rc : -ETIMEDOUT;
  }
}

int pl_share_answer(int reply, const struct pl_share_req* rq, int result,
                    const struct pl_share_move* moves, int n_moves)
{
  struct pl_share_ans an = { .magic = PL_SHARE_MAGIC, .result = result,
                             .id = rq->id, .n_conns = (uint32_t)n_moves };
  int64_t deadline = pl_now() + 1000000000ll;
  ssize_t n = PL_REAL(send)(reply, &an, sizeof(an),
                            MSG_DONTWAIT | MSG_NOSIGNAL);
  int rc = n == (ssize_t)sizeof(an) ? 0 : n < 0 ? -errno : -EIO, k;

  for (k = 0; rc == 0 && k < n_moves; k++)
    rc = pl_share_send_conn(reply, rq->id, &moves[k], deadline);
  PL_REAL(close)(reply);
  return rc;
}
