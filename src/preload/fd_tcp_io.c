// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/fd_tcp_io.c: the data calls of accelerated TCP connections
 * (send, sendto, sendmsg, write, writev, recv, recvfrom, recvmsg, read,
 * readv, sendfile, splice, FIONREAD), with the kernel's semantics: a
 * blocking send returns when every byte is queued (or at SO_SNDTIMEO, a
 * signal or an error, with the count queued so far), a blocking receive
 * when some bytes are there (MSG_WAITALL: all of them, or the end of the
 * stream), EPIPE raises SIGPIPE unless MSG_NOSIGNAL, a non-blocking call
 * (O_NONBLOCK or MSG_DONTWAIT) never waits. A waiting call polls the
 * stack for ANYLOAD_SPIN_USEC, then sleeps on the stack's wait fd up to
 * its next deadline (so that retransmissions and delayed ACKs run), in
 * rounds until its own deadline. sendfile and splice copy: they read the
 * file or pipe and send through the stack (or receive and write the
 * pipe).
 */
#include "preload/pl_tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEND_FLAGS_OK (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_EOR | \
                       MSG_CONFIRM)
#define RECV_FLAGS_OK (MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT | MSG_WAITALL | \
                       MSG_NOSIGNAL | MSG_CMSG_CLOEXEC)
#define MAX_IOV 1024
#define COPY_CHUNK 65536

static ssize_t set_errno(ssize_t rc)
{
  if (rc < 0) {
    errno = (int)-rc;
    return -1;
  }
  return rc;
}

/* advance: drop n bytes from the front of iov[*k .. cnt). */
static void advance(struct iovec* iov, int cnt, int* k, size_t n)
{
  while (*k < cnt && n >= iov[*k].iov_len) {
    n -= iov[*k].iov_len;
    (*k)++;
  }
  if (*k < cnt) {
    iov[*k].iov_base = (char*)iov[*k].iov_base + n;
    iov[*k].iov_len -= n;
  }
}

/* wait_round: one wait of a blocking call that found nothing to do:
 * spin (poll the stack again) until spin_end, then sleep on the stack's
 * wait fd up to deadline or the stack's next deadline. 0 to go on, or
 * -EINTR when a signal without SA_RESTART came. */
static int wait_round(int64_t now, int64_t spin_end, int64_t deadline,
                      unsigned* spins)
{
  int rc;

  if (now < spin_end) {
    /* A handler that ran during the spin ends the call as it would have
     * ended the kernel's sleep (EINTR unless SA_RESTART). */
    if (pl_signals_ran()) {
      if (!pl_eintr_restarts())
        return -EINTR;
      pl_signals_wait_begin();
    }
    if ((++*spins & 63) == 0)
      sched_yield();
    return 0;
  }
  rc = pl_wait(-1, 0, deadline, NULL);
  if (rc == -EINTR && !pl_eintr_restarts())
    return -EINTR;
  return 0;
}

/* struct io_call: what send_loop and recv_loop share: a copy of the
 * caller's iovec (advance() consumes it), its total and the spin's end. */
struct io_call {
  struct iovec small[8], *iov;
  size_t total;
  int64_t spin_end;
};

/* io_begin: copy v[0..cnt) (cnt checked by the caller), start the spin
 * and the watch for signals. 0, or -ENOMEM. io_end frees the copy. */
static int io_begin(struct io_call* c, const struct iovec* v, int cnt,
                    int64_t now)
{
  int i;

  c->iov = c->small;
  c->total = 0;
  for (i = 0; i < cnt; i++)
    c->total += v[i].iov_len;
  if (cnt > 8 && !(c->iov = malloc((size_t)cnt * sizeof(*c->iov))))
    return -ENOMEM;
  if (cnt > 0)
    memcpy(c->iov, v, (size_t)cnt * sizeof(*c->iov));
  c->spin_end = pl_cfg.spin_usec < 0 ? INT64_MAX
                                     : now + pl_cfg.spin_usec * 1000;
  pl_signals_wait_begin();
  return 0;
}

static void io_end(struct io_call* c)
{
  if (c->iov != c->small)
    free(c->iov);
}

/* lock_conn: take the lock and find fd's stack connection: o with the
 * lock held, or NULL with the lock released when the call ends here:
 * *kernel when it belongs to the kernel (re-entered, or not a stack
 * connection and nothing moved yet), else *done keeps the bytes moved so
 * far or becomes -ENOTCONN (a forked child's ORPHAN). */
static struct pl_obj* lock_conn(int fd, struct anyload_stack** st,
                                ssize_t* done, bool* kernel)
{
  struct pl_obj* o;

  if (pl_lock() < 0) {
    *kernel = true;
    return NULL;
  }
  o = pl_fds[fd];
  *st = pl_stack_if_up();
  if (pl_tcp_stack_conn(o) && *st)
    return o;
  pl_unlock();
  if (o && o->kind == PL_TCP && o->tcp == PL_TCP_ORPHAN)
    *done = *done ? *done : -ENOTCONN;
  else if (!*done)
    *kernel = true;
  return NULL;
}

/* send_loop: the loop of every send; force_block waits even on a
 * non-blocking socket (splice, which has taken the bytes already).
 * Returns the bytes queued or a negative errno; *kernel is set instead
 * when the call belongs to the kernel (then nothing was sent). */
static ssize_t send_loop(int fd, const struct iovec* v, int cnt, int flags,
                         bool force_block, bool* kernel)
{
  struct io_call io;
  struct anyload_stack* st;
  struct pl_obj* o;
  int64_t now = pl_now(), deadline = INT64_MAX;
  ssize_t sent = 0, r;
  unsigned spins = 0;
  int k = 0;
  bool nb;

  *kernel = false;
  if (cnt < 0 || cnt > MAX_IOV)
    return -EINVAL;
  if (flags & ~SEND_FLAGS_OK)
    return -EOPNOTSUPP;
  if (io_begin(&io, v, cnt, now) < 0)
    return -ENOMEM;
  for (;;) {
    o = lock_conn(fd, &st, &sent, kernel);
    if (!o)
      break;
    if (deadline == INT64_MAX && o->sndtimeo_ns)
      deadline = now + o->sndtimeo_ns;
    nb = !force_block &&
         ((o->flags & PL_F_NONBLOCK) || (flags & MSG_DONTWAIT));
    now = pl_now();
    r = io.total ? anyload_tcp_send(st, o->sd, io.iov + k, cnt - k,
                                    flags & MSG_MORE, now)
                 : 0;
    if (r == -EAGAIN)
      o->et_gen++;
    if (r == -EAGAIN || (r >= 0 && (size_t)(sent + r) < io.total)) {
      pl_progress_at(st, now);
    }
    pl_unlock();
    if (r > 0) {
      sent += r;
      __atomic_add_fetch(&pl_count.tcp_tx_bytes, (uint64_t)r,
                         __ATOMIC_RELAXED);
      if ((size_t)sent >= io.total)
        break;
      advance(io.iov, cnt, &k, (size_t)r);
      continue;
    }
    if (r == 0)
      break;
    if (r != -EAGAIN) {
      if (r == -EPIPE && !(flags & MSG_NOSIGNAL) && !sent)
        raise(SIGPIPE);
      sent = sent ? sent : r;
      break;
    }
    if (nb || now >= deadline) {
      sent = sent ? sent : -EAGAIN;
      break;
    }
    r = wait_round(now, io.spin_end, deadline, &spins);
    if (r < 0) {
      sent = sent ? sent : r;
      break;
    }
  }
  io_end(&io);
  return sent;
}

/* send_iov, recv_iov: the loops, counted as waiters (pl_int.h). */
static ssize_t send_iov(int fd, const struct iovec* v, int cnt, int flags,
                        bool force_block, bool* kernel)
{
  ssize_t r;

  pl_waiter_enter();
  r = send_loop(fd, v, cnt, flags, force_block, kernel);
  pl_waiter_leave();
  return r;
}

static ssize_t recv_loop(int fd, const struct iovec* v, int cnt, int flags,
                         bool* kernel);

static ssize_t recv_iov(int fd, const struct iovec* v, int cnt, int flags,
                        bool* kernel)
{
  ssize_t r;

  pl_waiter_enter();
  r = recv_loop(fd, v, cnt, flags, kernel);
  pl_waiter_leave();
  return r;
}

ssize_t pl_tcp_sendmsg(int fd, const struct msghdr* m, int flags)
{
  bool kernel;
  ssize_t r = send_iov(fd, m->msg_iov, (int)m->msg_iovlen, flags, false,
                       &kernel);

  if (kernel)
    return PL_REAL(sendmsg)(fd, m, flags);
  return set_errno(r);
}

static ssize_t recv_loop(int fd, const struct iovec* v, int cnt, int flags,
                         bool* kernel)
{
  struct io_call io;
  struct anyload_stack* st;
  struct pl_obj* o;
  int64_t now = pl_now(), deadline = INT64_MAX;
  ssize_t got = 0, r;
  unsigned spins = 0;
  int k = 0, ev;
  bool nb, all = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
  bool peek_all = (flags & MSG_WAITALL) && (flags & MSG_PEEK);

  *kernel = false;
  if (cnt < 0 || cnt > MAX_IOV)
    return -EINVAL;
  if (flags & MSG_OOB)
    return -EINVAL;   /* no urgent data through the stack */
  if (flags & MSG_ERRQUEUE)
    return -EAGAIN;
  if (flags & ~RECV_FLAGS_OK)
    return -EOPNOTSUPP;
  if (io_begin(&io, v, cnt, now) < 0)
    return -ENOMEM;
  for (;;) {
    o = lock_conn(fd, &st, &got, kernel);
    if (!o)
      break;
    if (deadline == INT64_MAX && o->rcvtimeo_ns)
      deadline = now + o->rcvtimeo_ns;
    nb = (o->flags & PL_F_NONBLOCK) || (flags & MSG_DONTWAIT);
    now = pl_now();
    pl_progress_at(st, now);
    /* Its own clock reading: the read latency of what this poll just
     * took (stackdump's histogram) is not zero. */
    r = io.total ? anyload_tcp_recv(st, o->sd, io.iov + k, cnt - k,
                                    flags & (MSG_PEEK | MSG_TRUNC), pl_now())
                 : 0;
    if (r == -EAGAIN)
      o->et_gen++;
    ev = peek_all && r > 0 ? anyload_tcp_poll(st, o->sd) : 0;
    pl_unlock();
    if (r > 0 && peek_all && (size_t)r < io.total && !nb &&
        now < deadline && !(ev & (POLLRDHUP | POLLHUP | POLLERR))) {
      /* MSG_PEEK | MSG_WAITALL: wait until all of it can be seen. */
      r = -EAGAIN;
    } else if (r > 0) {
      got += r;
      if (!(flags & MSG_PEEK))
        __atomic_add_fetch(&pl_count.tcp_rx_bytes, (uint64_t)r,
                           __ATOMIC_RELAXED);
      if (!all || (size_t)got >= io.total)
        break;
      advance(io.iov, cnt, &k, (size_t)r);
      continue;
    }
    if (r == 0)
      break;   /* the end of the stream (or a zero-length read) */
    if (r != -EAGAIN) {
      got = got ? got : r;
      break;
    }
    if (nb || now >= deadline) {
      got = got ? got : -EAGAIN;
      break;
    }
    r = wait_round(now, io.spin_end, deadline, &spins);
    if (r < 0) {
      got = got ? got : r;
      break;
    }
  }
  io_end(&io);
  return got;
}

ssize_t pl_tcp_recvmsg(int fd, struct msghdr* m, int flags)
{
  bool kernel;
  ssize_t r = recv_iov(fd, m->msg_iov, (int)m->msg_iovlen, flags, &kernel);

  if (kernel)
    return PL_REAL(recvmsg)(fd, m, flags);
  if (r >= 0) {
    /* As the kernel's TCP: no source address, no control messages. */
    m->msg_namelen = 0;
    m->msg_controllen = 0;
    m->msg_flags = 0;
  }
  return set_errno(r);
}

int pl_tcp_ioctl_fionread(int fd, int* out)
{
  struct anyload_stack* st;
  struct pl_obj* o;
  struct iovec iov = { NULL, INT_MAX };
  ssize_t r = -EAGAIN;

  if (pl_lock() < 0)
    return -EAGAIN;
  o = pl_fds[fd];
  st = pl_stack_if_up();
  if (pl_tcp_stack_conn(o) && st) {
    pl_progress(st);
    r = anyload_tcp_recv(st, o->sd, &iov, 1, MSG_PEEK | MSG_TRUNC, pl_now());
    if (r == -EAGAIN)
      r = 0;
  }
  pl_unlock();
  if (r < 0)
    return (int)r;
  *out = (int)r;
  return 0;
}

ssize_t pl_tcp_sendfile(int out, int in, off_t* off, size_t n)
{
  char* buf;
  size_t done = 0, chunk;
  ssize_t rd, s;
  struct iovec iov;
  bool kernel;
  int err = 0;

  if (!(buf = malloc(COPY_CHUNK)))
    return set_errno(-ENOMEM);
  while (done < n) {
    chunk = n - done < COPY_CHUNK ? n - done : COPY_CHUNK;
    rd = off ? pread(in, buf, chunk, *off) : PL_REAL(read)(in, buf, chunk);
    if (rd <= 0) {
      err = rd < 0 ? errno : 0;
      break;
    }
    iov.iov_base = buf;
    iov.iov_len = (size_t)rd;
    s = send_iov(out, &iov, 1, 0, false, &kernel);
    if (kernel)
      s = PL_REAL(write)(out, buf, (size_t)rd) < 0 ? -errno : rd;
    if (s < rd && !off)   /* give back what was read but not sent */
      lseek(in, -(off_t)(rd - (s > 0 ? s : 0)), SEEK_CUR);
    if (s < 0) {
      err = (int)-s;
      break;
    }
    done += (size_t)s;
    if (off)
      *off += s;
    if (s < rd)
      break;
  }
  free(buf);
  if (!done && err)
    return set_errno(-err);
  return (ssize_t)done;
}

/* splice_in: an accelerated socket into a pipe (or file): peek, write,
 * then take exactly what was written. */
static ssize_t splice_in(int in, int out, loff_t* off_out, size_t len,
                         unsigned fl)
{
  char* buf;
  struct iovec iov;
  ssize_t r, w;
  bool kernel;

  if (len > COPY_CHUNK)
    len = COPY_CHUNK;
  if (!(buf = malloc(len ? len : 1)))
    return set_errno(-ENOMEM);
  iov.iov_base = buf;
  iov.iov_len = len;
  r = recv_iov(in, &iov, 1,
               MSG_PEEK | (fl & SPLICE_F_NONBLOCK ? MSG_DONTWAIT : 0),
               &kernel);
  if (kernel) {
    free(buf);
    return -2;
  }
  if (r <= 0) {
    free(buf);
    return set_errno(r);
  }
  w = off_out ? pwrite(out, buf, (size_t)r, *off_out)
              : PL_REAL(write)(out, buf, (size_t)r);
  if (w > 0) {
    iov.iov_len = (size_t)w;
    recv_iov(in, &iov, 1, MSG_DONTWAIT, &kernel);
    if (off_out)
      *off_out += w;
  }
  free(buf);
  return w;
}

/* splice_out: a pipe (or file) into an accelerated socket. The bytes
 * taken from the pipe are sent whole, even on a non-blocking socket
 * (which then may wait for room: they cannot go back into the pipe). */
static ssize_t splice_out(int in, loff_t* off_in, int out, size_t len,
                          unsigned fl)
{
  char* buf;
  struct iovec iov;
  struct pollfd p = { .fd = in, .events = POLLIN };
  ssize_t rd, s;
  bool kernel;

  if (len > COPY_CHUNK)
    len = COPY_CHUNK;
  if ((fl & SPLICE_F_NONBLOCK) && !off_in && PL_REAL(poll)(&p, 1, 0) == 0)
    return set_errno(-EAGAIN);
  if (!(buf = malloc(len ? len : 1)))
    return set_errno(-ENOMEM);
  rd = off_in ? pread(in, buf, len, *off_in) : PL_REAL(read)(in, buf, len);
  if (rd <= 0) {
    free(buf);
    return rd;
  }
  iov.iov_base = buf;
  iov.iov_len = (size_t)rd;
  s = send_iov(out, &iov, 1, fl & SPLICE_F_MORE ? MSG_MORE : 0, true,
               &kernel);
  if (kernel)
    s = PL_REAL(write)(out, buf, (size_t)rd) < 0 ? -errno : rd;
  if (s > 0 && off_in)
    *off_in += s;
  free(buf);
  return set_errno(s);
}

ssize_t pl_tcp_splice(int in, loff_t* off_in, int out, loff_t* off_out,
                      size_t len, unsigned fl)
{
  ssize_t r = -2;

  if (pl_tcp_stack_conn(pl_tcp_obj(out)))
    r = splice_out(in, off_in, out, len, fl);
  else if (pl_tcp_stack_conn(pl_tcp_obj(in)))
    r = splice_in(in, out, off_out, len, fl);
  if (r == -2)
    return PL_REAL(splice)(in, off_in, out, off_out, len, fl);
  return r;
}
