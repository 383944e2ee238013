// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/tcp_share.c: the lazy TCP hand-over at fork
 * (ANYLOAD_TCP_HANDOVER=2), on the side of the process whose stack holds
 * the sockets, and the channels it keeps with its forked children.
 * Layer: preload (stack API and kernel calls only).
 *
 * Why: a program that forks helpers which never touch its sockets
 * (redis's BGSAVE child, a daemon's logger) must not lose the
 * acceleration of every connection and listener at each fork, which the
 * eager hand-over (tcp_handover.c before every fork) costs. So at a fork
 * nothing moves: a SOCK_SEQPACKET socketpair is made (only when the
 * process has accelerated TCP sockets), the parent keeps one end, the
 * child the other (both close-on-exec), and every accelerated TCP socket
 * is marked shared through that channel. In the child those sockets are
 * REMOTE (pl_tcp.h): the child's first use of one asks the parent, through
 * the channel, to hand it to the kernel (tcp_claim.c), and waits; a child
 * that only closes it asks nothing.
 *
 * Serving: the TCP poller (tcp_poller.c) watches the parent ends and
 * calls pl_share_serve under the library lock: the request names the
 * socket by the object's id (pl_obj.id, the same in both processes' copies
 * of the table) with the fd number and stack socket as hints, checked
 * against the parent's table: the program may have closed that fd and
 * reused the number meanwhile. A connection goes to the kernel with
 * pl_tcp_handover, a listener closes its stack listener (its kernel
 * socket listens already); the answer says whether the socket is the
 * kernel's now. An object the parent no longer has gets UNKNOWN: the
 * child then looks at its kernel socket (a connection the parent closed
 * was handed over first, see below, so it is connected).
 *
 * Riding connections: a connection accepted from a listener the stack
 * still holds rides on the listener's filter (anyload_tcp_export gives
 * -EBUSY): it can leave the stack only once the listener has, so its
 * hand-over first hands that listener to the kernel, keeping the
 * connections its stack listener had queued for the program's accept.
 *
 * Sharing ends: a connection marked shared is never ended by the
 * parent's stack while a child may hold it. When the parent lets it go
 * (close, dup2 over it, exit) it is handed to the kernel first, which
 * keeps it for the child and closes it when the last holder does; one
 * that rides on its listener (which would have to go too, for a child
 * that may never use it) is kept in the stack instead, under a hidden fd
 * (a close-on-exec dup of the program's), until the child uses it or the
 * channel ends; at exit it is handed over. At the end of a channel (every
 * holder of the child's end gone: the child and its own children exited
 * or exec'd, or released every REMOTE socket) its objects are unmarked,
 * so a helper that came and went costs nothing. A shared listener closed
 * by the parent just closes its stack listener (its kernel socket
 * listens on in the child).
 *
 * Locking: every function runs under the library lock, except
 * pl_share_fork_child (the child's atfork handler: it is alone then).
 */
#include "preload/pl_tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A parent end: its fd and object id (its PL_CHAN object in the table),
 * the ids of the objects marked shared at its fork, sorted. */
struct chan {
  int       fd;
  uint64_t  obj_id;
  uint64_t* ids;
  int       n_ids;
};

int pl_tcp_remotes;

static struct chan* chans;
static int n_chans, cap_chans;
/* The fork in progress (prepare to parent/child): both ends, the ids. */
static struct chan pending = { .fd = -1 };
static int pending_child = -1;

static unsigned scan_mark;

static int cmp_id(const void* a, const void* b)
{
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;

  return x < y ? -1 : x > y;
}

static int shareable(const struct pl_obj* o)
{
  return o && o->kind == PL_TCP && o->sd >= 0 && !(o->flags & PL_TF_HELD) &&
         (o->tcp == PL_TCP_CONN || o->tcp == PL_TCP_LISTEN);
}

/* drop_held: the hidden fd of a held connection goes (fd: the only fd
 * of its object), and the object with it (pl_tcp_release: the stack
 * closes the connection unless it is the kernel's or the child's). */
static void drop_held(int fd)
{
  pl_fd_release(fd);
  PL_REAL(close)(fd);
}

/* mark_ids: every shareable object (once, whatever its dups) counts one
 * more share; their ids into *ids (sorted, malloc'd). Their number, or -1
 * (memory: nothing changed). */
static int mark_ids(uint64_t** ids)
{
  int fd, n = 0, cap = 0;
  uint64_t* v = NULL;

  scan_mark++;
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (!shareable(o) || o->mark == scan_mark)
      continue;
    o->mark = scan_mark;
    if (n == cap) {
      uint64_t* p;
      cap = cap ? cap * 2 : 16;
      p = realloc(v, (size_t)cap * sizeof(*v));
      if (!p) {
        free(v);
        return -1;
      }
      v = p;
    }
    v[n++] = o->id;
  }
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (shareable(o) && o->mark == scan_mark) {
      o->shares++;
      o->mark = scan_mark - 1;   /* once per object */
    }
  }
  qsort(v, (size_t)n, sizeof(*v), cmp_id);
  *ids = v;
  return n;
}

/* unshare: ch's objects are no longer shared through it; its list goes. */
static void unshare(struct chan* ch)
{
  int fd;

  scan_mark++;
  for (fd = 0; fd < PL_MAX_FDS && ch->n_ids; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (o && o->kind == PL_TCP && o->shares > 0 && o->mark != scan_mark &&
        bsearch(&o->id, ch->ids, (size_t)ch->n_ids, sizeof(*ch->ids),
                cmp_id)) {
      o->mark = scan_mark;
      /* The last child that could hold a connection the program closed
       * is gone: the stack closes it now (FIN), as the kernel does when
       * the last holder closes. */
      if (--o->shares == 0 && (o->flags & PL_TF_HELD)) {
        pl_log(2, "fd %d: the forked children are gone: the TCP "
               "connection kept for them is closed", fd);
        drop_held(fd);
      }
    }
  }
  free(ch->ids);
  ch->ids = NULL;
  ch->n_ids = 0;
}

int pl_share_fork_prepare(void)
{
  int fd, pair[2], n;
  uint64_t* ids;

  if (pl_cfg.tcp_handover != 2 || !pl_tcp_poller_up() ||
      !pl_stack_if_up())
    return 0;
  for (fd = 0; fd < PL_MAX_FDS; fd++)
    if (shareable(pl_fds[fd]))
      break;
  if (fd == PL_MAX_FDS)
    return 1;   /* nothing accelerated: nothing to share */
  if (n_chans >= PL_SHARE_MAX_CHANS) {
    pl_log(1, "fork: %d children share sockets already: this fork hands "
           "them to the kernel now", n_chans);
    return 0;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    pl_log(1, "fork: no channel for the child (%s): its sockets go to the "
           "kernel now", strerror(errno));
    return 0;
  }
  if (pair[0] >= PL_MAX_FDS || pair[1] >= PL_MAX_FDS ||
      (n = mark_ids(&ids)) < 0) {
    PL_REAL(close)(pair[0]);
    PL_REAL(close)(pair[1]);
    pl_log(1, "fork: no channel for the child (fd numbers or memory): its "
           "sockets go to the kernel now");
    return 0;
  }
  pending.fd = pair[0];
  pending.ids = ids;
  pending.n_ids = n;
  pending_child = pair[1];
  pl_log(2, "fork: %d accelerated TCP socket%s shared with the child "
         "(each moves to the kernel if the child uses it)", n,
         n == 1 ? "" : "s");
  return 1;
}

/* chan_obj: a PL_CHAN object for fd in the table; its id, or 0. */
static uint64_t chan_obj(int fd, int parent)
{
  struct pl_obj* o = pl_obj_new(PL_CHAN);

  if (!o)
    return 0;
  o->chan_parent = parent;
  pl_fd_set(fd, o);
  return o->id;
}

void pl_share_fork_parent(void)
{
  struct chan* p;

  if (pending.fd < 0)
    return;
  PL_REAL(close)(pending_child);
  pending_child = -1;
  if (n_chans == cap_chans) {
    int cap = cap_chans ? cap_chans * 2 : 8;
    p = realloc(chans, (size_t)cap * sizeof(*chans));
    if (!p)
      goto drop;
    chans = p;
    cap_chans = cap;
  }
  pending.obj_id = chan_obj(pending.fd, 1);
  if (!pending.obj_id)
    goto drop;
  chans[n_chans++] = pending;
  pending.fd = -1;
  pending.ids = NULL;
  pl_tcp_poller_kick();
  return;
drop:
  /* No room to serve it: the child's requests fail (EPIPE), and it falls
   * back to what its kernel sockets are (see tcp_claim.c). */
  pl_log(1, "fork: cannot serve the child's channel (memory)");
  unshare(&pending);
  PL_REAL(close)(pending.fd);
  pending.fd = -1;
}

void pl_share_fork_child(void)
{
  struct pl_obj* c = NULL;
  int k, fd;

  /* The connections the parent keeps for a child are the parent's. */
  pl_share_queue_fork_child();
  /* The parent's ends are its own: the child must not hold them. */
  for (k = 0; k < n_chans; k++) {
    struct pl_obj* o = pl_obj_of(chans[k].fd);
    if (o && o->kind == PL_CHAN && o->id == chans[k].obj_id) {
      o->chan_parent = 0;
      pl_fd_release(chans[k].fd);
      PL_REAL(close)(chans[k].fd);
    }
    free(chans[k].ids);
  }
  free(chans);
  chans = NULL;
  n_chans = cap_chans = 0;
  if (pending.fd >= 0) {
    PL_REAL(close)(pending.fd);
    if (chan_obj(pending_child, 0))
      c = pl_obj_of(pending_child);
  }
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (!o || o->kind != PL_TCP)
      continue;
    o->shares = 0;   /* the parent's count, not ours */
    if (o->flags & PL_TF_HELD) {
      /* The parent's hidden fd: not the child's (nor its stack). */
      o->sd = -1;
      drop_held(fd);
      continue;
    }
    if (pending.fd < 0 || !shareable(o))
      continue;
    if (!c) {
      /* No channel object (memory): as an unanswered request. */
      o->tcp = o->tcp == PL_TCP_LISTEN ? PL_TCP_KERNEL : PL_TCP_ORPHAN;
      o->sd = -1;
      continue;
    }
    if (o->tcp == PL_TCP_LISTEN)
      o->flags |= PL_TF_RLISTEN;
    o->tcp = PL_TCP_REMOTE;
    o->rsd = o->sd;
    o->sd = -1;
    o->chan = pending_child;
    o->chan_id = c->id;
    c->chan_users++;
    pl_tcp_remotes++;
  }
  if (pending.fd >= 0 && (!c || !c->chan_users)) {
    if (c)
      pl_fd_release(pending_child);   /* frees c */
    PL_REAL(close)(pending_child);
  }
  free(pending.ids);
  pending.ids = NULL;
  pending.fd = -1;
  pending_child = -1;
}

int pl_share_count(void)
{
  return n_chans;
}

int pl_share_fds(struct pollfd* p, int max)
{
  int k;

  for (k = 0; k < n_chans && k < max; k++) {
    p[k].fd = chans[k].fd;
    p[k].events = POLLIN;
    p[k].revents = 0;
  }
  return k;
}

/* find: the object with id (fd first, else every fd), or NULL. */
static struct pl_obj* find(int fd, uint64_t id)
{
  struct pl_obj* o = pl_obj_of(fd);
  int k;

  if (o && o->kind == PL_TCP && o->id == id)
    return o;
  for (k = 0; k < PL_MAX_FDS; k++) {
    o = pl_fds[k];
    if (o && o->kind == PL_TCP && o->id == id)
      return o;
  }
  return NULL;
}

/* fd_of: an fd number of o in the table (its kernel socket), or -1. */
static int fd_of(int hint, const struct pl_obj* o)
{
  int k;

  if (pl_obj_of(hint) == o)
    return hint;
  for (k = 0; k < PL_MAX_FDS; k++)
    if (pl_fds[k] == o)
      return k;
  return -1;
}

/* rides: o's connection rides on its listener's filter (accepted from a
 * listener that is still in the stack): it can leave the stack only once
 * that listener has (anyload_tcp_export's -EBUSY). */
static int rides(struct anyload_stack* st, struct pl_obj* o)
{
  struct anyload_tcp_export ex;

  return anyload_tcp_export(st, o->sd, &ex, pl_now()) == -EBUSY;
}

/* free_from_listener: the listeners of o's port go to the kernel, so
 * that o (and the other connections they accepted) get filters of their
 * own and may leave the stack. */
static void free_from_listener(struct anyload_stack* st, struct pl_obj* o,
                               const char* why)
{
  struct sockaddr_in a, l;
  socklen_t len = sizeof(a);
  char w[160];
  int fd;

  if (anyload_tcp_getsockname(st, o->sd, &a, &len) < 0)
    return;
  snprintf(w, sizeof(w), "the hand-over of a connection it accepted (%s)",
           why);
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* lo = pl_fds[fd];
    len = sizeof(l);
    if (!lo || lo->kind != PL_TCP || lo->tcp != PL_TCP_LISTEN || lo->sd < 0 ||
        anyload_tcp_getsockname(st, lo->sd, &l, &len) < 0 ||
        l.sin_port != a.sin_port ||
        (l.sin_addr.s_addr != INADDR_ANY &&
         l.sin_addr.s_addr != a.sin_addr.s_addr))
      continue;
    pl_tcp_listener_to_kernel(fd, lo, w, 1);
  }
}

/* move: fd's stack connection o to the kernel (its listener first when
 * it rides on it). 0 or a negative errno. Under the lock, pl_depth
 * raised. */
static int move(int fd, struct pl_obj* o, struct anyload_stack* st,
                const char* why)
{
  if (rides(st, o))
    free_from_listener(st, o, why);
  return pl_tcp_handover(fd, o, st, why);
}

static const char why_use[] = "first use in a forked child";

/* A listener handed to a child that will listen in its own stack
 * (tcp_follow.c) leaves its filter parked this long (anyload_tcp_park):
 * between this stack's release of the queue and the child's listen, the
 * kernel socket would take the port's new connections, and the child
 * finding them would leave the listener to the kernel for good. A SYN
 * dropped meanwhile is sent again after a second, when the child listens
 * or the parking has ended (a child that does not follow leaves the port
 * to the kernel socket at most this long later). */
#define LISTEN_PARK_MS 1000

void pl_share_park(struct anyload_stack* st, struct pl_obj* o)
{
  if (st && pl_cfg.tcp_listen_follow && o->tcp == PL_TCP_LISTEN &&
      o->sd >= 0 && o->shares > 0)
    (void)anyload_tcp_park(st, o->sd, LISTEN_PARK_MS);
}

/* take: the answer to rq (under the lock, pl_depth raised). */
static int take(const struct pl_share_req* rq)
{
  struct anyload_stack* st = pl_stack_if_up();
  struct pl_obj* o = find(rq->fd, rq->id);
  int fd;

  if (!o)
    return PL_SHARE_UNKNOWN;
  if (o->tcp == PL_TCP_KERNEL)
    return PL_SHARE_KERNEL;
  if (o->sd < 0 || o->sd != rq->sd || !st ||
      (o->tcp != PL_TCP_CONN && o->tcp != PL_TCP_LISTEN))
    return o->tcp == PL_TCP_ORPHAN ? PL_SHARE_STAYS : PL_SHARE_UNKNOWN;
  fd = fd_of(rq->fd, o);
  if (fd < 0)
    return PL_SHARE_UNKNOWN;
  if (o->tcp == PL_TCP_LISTEN) {
    pl_share_park(st, o);
    if (rq->flags & PL_SHARE_F_QUEUE)
      pl_share_queue_out(st, fd, o, rq->id);
    pl_tcp_listener_to_kernel(fd, o, why_use, 0);
    /* Before the answer: the child's stack may want the queue
     * (tcp_follow.c). */
    pl_stack_release_if_idle("a forked child took its last socket");
    return PL_SHARE_KERNEL;
  }
  if (move(fd, o, st, why_use) < 0)
    return PL_SHARE_STAYS;
  /* A connection the program had closed: the child holds it alone now. */
  if (o->flags & PL_TF_HELD)
    drop_held(fd);
  /* Threads of ours asleep on it (recv ...) look again: it is the
   * kernel's now. */
  pl_wake_note(1);
  return PL_SHARE_KERNEL;
}

/* chan_close: the end of ch (index k). */
static void chan_close(int k)
{
  struct chan ch = chans[k];
  struct pl_obj* o = pl_obj_of(ch.fd);

  chans[k] = chans[--n_chans];
  unshare(&ch);
  if (o && o->kind == PL_CHAN && o->id == ch.obj_id) {
    o->chan_parent = 0;   /* pl_share_chan_gone: not listed any more */
    pl_fd_release(ch.fd);
    PL_REAL(close)(ch.fd);
  }
}

void pl_share_serve(int fd)
{
  struct pl_share_req rq;
  struct pl_obj* o = pl_obj_of(fd);
  struct pl_share_move* moves;
  int k, rc, reply, n = 0, n_moves;

  for (k = 0; k < n_chans; k++)
    if (chans[k].fd == fd)
      break;
  /* The program may have closed it and reused the number meanwhile. */
  if (k == n_chans || !o || o->kind != PL_CHAN || o->id != chans[k].obj_id)
    return;
  pl_depth++;
  /* A bounded batch: one channel cannot hold the poller for ever. */
  while (n++ < 64) {
    rc = pl_share_recv(fd, &rq, &reply);
    if (rc == -EAGAIN)
      break;
    if (rc == -EBADMSG) {
      pl_log(1, "a forked child's channel: a malformed request dropped");
      continue;
    }
    if (rc <= 0) {
      chan_close(k);
      break;
    }
    moves = NULL;
    n_moves = 0;
    if (rq.op == PL_SHARE_MOVES) {
      moves = pl_share_queue_take(rq.id, &n_moves);
      rc = PL_SHARE_KERNEL;
    } else {
      rc = take(&rq);
    }
    pl_share_answer(reply, &rq, rc, moves, n_moves);
    pl_share_moves_free(moves, n_moves);
  }
  pl_depth--;
}

void pl_share_handover(int fd, struct pl_obj* o, const char* why)
{
  struct anyload_stack* st = pl_stack_if_up();

  if (!st || !pl_tcp_stack_conn(o) || o->shares <= 0)
    return;
  pl_depth++;
  move(fd, o, st, why);
  pl_depth--;
}

int pl_share_hold(int fd, struct pl_obj* o)
{
  struct anyload_stack* st = pl_stack_if_up();
  int hfd;

  if (!st || !pl_tcp_stack_conn(o) || (o->flags & PL_TF_HELD) ||
      !rides(st, o))
    return 0;
  /* Above the numbers a program uses first; close-on-exec, and the
   * parent's alone (a fork drops it in the child). */
  hfd = PL_REAL(fcntl)(fd, F_DUPFD_CLOEXEC, (void*)(long)256);
  if (hfd < 0 || hfd >= PL_MAX_FDS) {
    if (hfd >= 0)
      PL_REAL(close)(hfd);
    return 0;
  }
  o->flags |= PL_TF_HELD;
  pl_fd_set(hfd, o);
  pl_log(2, "fd %d: TCP connection closed in the parent while a forked "
         "child may hold it: kept in the stack (fd %d) until the child "
         "uses it or is gone (it rides on its listener's filter)", fd, hfd);
  return 1;
}

int pl_share_post(uint64_t id, const struct pl_share_move* m, int n)
{
  int k, posted = 0;

  for (k = 0; k < n_chans; k++) {
    if (!bsearch(&id, chans[k].ids, (size_t)chans[k].n_ids,
                 sizeof(*chans[k].ids), cmp_id))
      continue;
    /* One child's channel only: a connection taken in twice would be
     * served by two stacks. */
    while (posted < n &&
           pl_share_send_conn(chans[k].fd, id, &m[posted], pl_now()) == 0)
      posted++;
    break;
  }
  return posted;
}

void pl_share_exit(void)
{
  while (n_chans)
    chan_close(n_chans - 1);
  free(chans);
  chans = NULL;
  cap_chans = 0;
}

void pl_share_forget(struct pl_obj* o)
{
  struct pl_obj* c;
  int fd;

  if (o->tcp != PL_TCP_REMOTE)
    return;
  pl_tcp_remotes--;
  fd = o->chan;
  c = pl_obj_of(fd);
  o->chan = -1;
  if (!c || c->kind != PL_CHAN || c->id != o->chan_id || c->chan_parent)
    return;
  /* The last REMOTE socket that used the channel: close it, so that the
   * parent sees its end (once our children let go of theirs too). */
  if (--c->chan_users == 0) {
    pl_fd_release(fd);
    PL_REAL(close)(fd);
  }
}

int pl_share_chan_of(const struct pl_obj* o)
{
  struct pl_obj* c = pl_obj_of(o->chan);

  return c && c->kind == PL_CHAN && c->id == o->chan_id ? o->chan : -1;
}

void pl_share_chan_gone(struct pl_obj* o)
{
  int k;

  /* The program closed a parent end (or dup2'd over it): its children's
   * requests fail from now on; its objects are no longer shared through
   * it. */
  if (!o->chan_parent)
    return;
  for (k = 0; k < n_chans; k++)
    if (chans[k].obj_id == o->id) {
      struct chan ch = chans[k];
      chans[k] = chans[--n_chans];
      unshare(&ch);
      return;
    }
}
