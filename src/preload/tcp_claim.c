// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/tcp_claim.c: a forked child's first use of an accelerated TCP
 * socket of its parent (role REMOTE, pl_tcp.h; ANYLOAD_TCP_HANDOVER=2).
 * Layer: preload, kernel calls only.
 *
 * The parent's stack still holds the socket (tcp_share.c): a connection's
 * segments reach the parent's stack, a listener's new connections too,
 * and the kernel socket behind the child's fd is unconnected (an accepted
 * connection's) or not yet fed. So every call that uses such an fd
 * (intercept.c: the data calls, shutdown, names, options, ioctl, accept,
 * listen, connect, bind; epoll_ctl; poll, select and epoll_wait finding
 * it; exec, when the new image inherits it) first asks the parent to hand
 * that socket to the kernel and waits for the answer, at most
 * CLAIM_WAIT_NS, then goes on with the fd as the kernel's socket
 * (KERNEL). A connection the parent cannot move (past our FIN, still
 * connecting, no repair mode) is an ORPHAN, as after an eager fork
 * (ENOTCONN without SIGPIPE). Without an answer (the parent is gone or
 * exec'd, the program closed the channel, it did not answer in time) the
 * kernel socket itself says what it is: connected (the parent handed it
 * over before: at its close, exec or exit) or not (ORPHAN); a listener is
 * the kernel's in every case, its kernel socket listens already.
 *
 * A listener's claim claims every other listener still in the parent's
 * stack after it (a worker accepts from all of them, and the parent's
 * stack lets go of the interface queue only once it holds none); then
 * each follows into a stack of this process (tcp_follow.c).
 *
 * The wait is made outside the library lock, with pl_depth raised so
 * that a signal's handler runs after it, not inside it (it is short: the
 * parent's poller answers at once). Another thread of the child may claim
 * the same socket meanwhile: both ask, the parent answers KERNEL to both.
 */
#include "preload/pl_tcp.h"
#include "common/proc_stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLAIM_WAIT_NS 2000000000ll
/* How long a listener's claim that found the stack's owner exiting waits
 * for that process to be gone (see owner_gone_wait). */
#define OWNER_EXIT_WAIT_NS 2000000000ll

/* chan_owner: the process that made channel chan (a socketpair's
 * SO_PEERCRED names its maker on both ends): the one whose stack held the
 * sockets shared over it. 0 if unknown. */
static pid_t chan_owner(int chan)
{
  struct ucred cr;
  socklen_t len = sizeof(cr);

  if (chan < 0 ||
      PL_REAL(getsockopt)(chan, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
      cr.pid <= 0 || cr.pid == getpid())
    return 0;
  return cr.pid;
}

/* owner_gone_wait: a listener's claim found the channel closed (EPIPE):
 * its owner is exiting (nginx `daemon on`: the process that listened
 * exits once it has forked the master, whose workers then claim). It
 * closes its channels before its stack lets go of the interface queues,
 * so a stack made now may find them still taken (EBUSY) and leave the
 * listener to the kernel for good: wait until that process is gone,
 * bounded (one that stays keeps its queues anyway). Outside the lock. */
static void owner_gone_wait(pid_t owner)
{
  struct timespec nap = { 0, 2000000 };
  int64_t end = pl_now() + OWNER_EXIT_WAIT_NS;

  while (proc_running((int)owner) && pl_now() < end)
    nanosleep(&nap, NULL);
}

/* connected: fd's kernel socket is a connection (the parent's hand-over
 * made it one). */
static int connected(int fd)
{
  struct sockaddr_in sin;
  socklen_t len = sizeof(sin);

  return PL_REAL(getpeername)(fd, (struct sockaddr*)&sin, &len) == 0;
}

/* settle: REMOTE o (fd) after the parent's answer (rc 0: *an) or its
 * silence (rc < 0). Under the lock. */
static void settle(int fd, struct pl_obj* o, int rc,
                   const struct pl_share_ans* an, const char* why)
{
  int listener = (o->flags & PL_TF_RLISTEN) != 0, role, c;
  const char* how;
  char buf[96];

  if (listener) {
    role = PL_TCP_KERNEL;
    how = rc == 0 ? "the parent's stack let it go"
                  : "no answer from the parent";
  } else if (rc == 0 && an->result == PL_SHARE_KERNEL) {
    role = PL_TCP_KERNEL;
    how = "the parent handed it to the kernel";
  } else if (rc == 0 && an->result == PL_SHARE_STAYS) {
    role = PL_TCP_ORPHAN;
    how = "it cannot move: it stays the parent's, ENOTCONN here";
  } else {
    c = connected(fd);
    role = c ? PL_TCP_KERNEL : PL_TCP_ORPHAN;
    if (rc == 0) {
      how = c ? "the parent had handed it to the kernel"
              : "the parent's stack ended it: ENOTCONN here";
    } else {
      snprintf(buf, sizeof(buf), "no answer from the parent (%s): %s",
               strerror(-rc), c ? "the kernel's" : "ENOTCONN here");
      how = buf;
    }
  }
  pl_share_forget(o);   /* while it is REMOTE */
  o->tcp = role;
  o->flags &= ~PL_TF_RLISTEN;
  if (role == PL_TCP_KERNEL) {
    o->flags |= PL_F_DECIDED;
    pl_epoll_kernel_attach(fd);
  }
  pl_log(2, "fd %d: TCP %s of the parent's stack, first used in this "
         "forked child (%s): %s", fd, listener ? "listener" : "connection",
         why, how);
  if (listener && role == PL_TCP_KERNEL && pl_cfg.tcp_listen_follow)
    o->flags |= PL_TF_FOLLOW;   /* see follow_claimed */
}

/* claim_one: pl_tcp_claim without the listeners' follow. */
static void claim_one(int fd, const char* why)
{
  struct pl_share_req rq = { .magic = PL_SHARE_MAGIC, .op = PL_SHARE_TAKE };
  struct pl_share_ans an;
  struct pl_share_move* moves = NULL;
  struct pl_obj* o;
  uint64_t id;
  pid_t owner = 0;
  int chan, rc, n_moves = 0;

  if (pl_lock() < 0)
    return;
  o = pl_fds[fd];
  if (!o || o->kind != PL_TCP || o->tcp != PL_TCP_REMOTE) {
    pl_unlock();
    return;
  }
  id = o->id;
  rq.fd = fd;
  rq.sd = o->rsd;
  rq.id = id;
  /* A listener that this process will listen on in its own stack takes
   * what the parent's stack had queued on it (tcp_share_queue.c). */
  if ((o->flags & PL_TF_RLISTEN) && pl_cfg.tcp_listen_follow && pl_cfg.tcp)
    rq.flags |= PL_SHARE_F_QUEUE;
  chan = pl_share_chan_of(o);
  pl_unlock();
  pl_depth++;
  rc = chan >= 0 ? pl_share_ask(chan, &rq, CLAIM_WAIT_NS, &an, &moves,
                                &n_moves)
                 : -EPIPE;
  pl_depth--;
  /* A take's answer carries no connection (they come on asking again,
   * tcp_share_queue.c). */
  pl_share_moves_free(moves, n_moves);
  if (pl_lock() < 0)
    return;
  o = pl_fds[fd];
  /* Settled by another thread meanwhile, or closed (and the number
   * reused): nothing left to do. */
  if (o && o->kind == PL_TCP && o->tcp == PL_TCP_REMOTE && o->id == id) {
    /* Before settle, which may close the channel. */
    if ((rq.flags & PL_SHARE_F_QUEUE) && (rc == 0 || rc == -EPIPE) &&
        chan >= 0)
      pl_share_queue_chan(o, chan, id);
    if ((rq.flags & PL_SHARE_F_QUEUE) && rc == -EPIPE)
      owner = chan_owner(chan);
    settle(fd, o, rc, &an, why);
    if (!(o->flags & PL_TF_FOLLOW))
      pl_share_queue_forget(o);
  }
  pl_unlock();
  if (owner)
    owner_gone_wait(owner);
}

/* follow_claimed: the listeners claimed (PL_TF_FOLLOW) follow into this
 * process's stack (tcp_follow.c). First every other listener still in
 * the parent's stack is claimed too: a child that accepts from one
 * listener is a worker that accepts from all, and the parent's stack
 * lets go of the interface queue only once it holds none of them (a
 * stack of ours cannot be made before; nginx listening on two ports). */
static void follow_claimed(const char* why)
{
  int fd, rounds;

  /* Each claim ends a REMOTE role: bounded by the listeners. */
  for (rounds = 0; rounds < PL_MAX_FDS; rounds++) {
    if (pl_lock() < 0)
      return;
    for (fd = 0; fd < PL_MAX_FDS; fd++) {
      struct pl_obj* o = pl_fds[fd];
      if (o && o->kind == PL_TCP && o->tcp == PL_TCP_REMOTE &&
          (o->flags & PL_TF_RLISTEN))
        break;
    }
    pl_unlock();
    if (fd == PL_MAX_FDS)
      break;
    claim_one(fd, why);
  }
  if (pl_lock() < 0)
    return;
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (o && o->kind == PL_TCP && (o->flags & PL_TF_FOLLOW)) {
      o->flags &= ~PL_TF_FOLLOW;
      pl_tcp_listener_follow(fd, o);
    }
  }
  pl_unlock();
}

void pl_tcp_claim(int fd, const char* why)
{
  int listener;

  if (pl_lock() < 0)
    return;
  listener = pl_fds[fd] && pl_fds[fd]->kind == PL_TCP &&
             pl_fds[fd]->tcp == PL_TCP_REMOTE &&
             (pl_fds[fd]->flags & PL_TF_RLISTEN);
  pl_unlock();
  claim_one(fd, why);
  if (listener && pl_cfg.tcp_listen_follow)
    follow_claimed(why);
}

void pl_tcp_claim_inherited(void)
{
  int fd, fl;

  if (!__atomic_load_n(&pl_tcp_remotes, __ATOMIC_RELAXED) || pl_depth)
    return;
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_obj_of(fd);
    if (!o || o->kind != PL_TCP || o->tcp != PL_TCP_REMOTE)
      continue;
    fl = PL_REAL(fcntl)(fd, F_GETFD, NULL);
    if (fl >= 0 && !(fl & FD_CLOEXEC))
      pl_tcp_claim(fd, "exec");
  }
}

void pl_tcp_claim_listeners(const char* why)
{
  if (!__atomic_load_n(&pl_tcp_remotes, __ATOMIC_RELAXED) || pl_depth ||
      !pl_cfg.tcp_listen_follow)
    return;
  follow_claimed(why);
}

void pl_epoll_claim_members(int ep)
{
  struct pl_obj* eo;
  int k, fd, rounds;

  /* One claim per round (it waits without the lock, so the set may
   * change meanwhile); each claim ends a REMOTE role, so the rounds are
   * bounded by the members. */
  for (rounds = 0; rounds < 1024; rounds++) {
    if (pl_lock() < 0)
      return;
    eo = pl_fds[ep];
    fd = -1;
    for (k = 0; eo && eo->kind == PL_EPOLL && k < eo->n_items; k++) {
      struct pl_obj* o = pl_fds[eo->items[k].fd];
      if (o && o->kind == PL_TCP && o->tcp == PL_TCP_REMOTE) {
        fd = eo->items[k].fd;
        break;
      }
    }
    pl_unlock();
    if (fd < 0)
      return;
    pl_tcp_claim(fd, "epoll_wait");
  }
}
