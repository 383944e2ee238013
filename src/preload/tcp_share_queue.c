// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/tcp_share_queue.c: a listener's queued connections follow it
 * from the parent's stack to a forked child's. Layer: preload (stack API
 * and kernel calls only).
 *
 * Why: when a pre-forking server's worker takes the listener over
 * (tcp_share.c take, tcp_follow.c), the master's stack may hold
 * connections that finished their handshake and wait for an accept that
 * the master never makes (nginx's master accepts nothing). Closing the
 * stack listener reset them: a few clients of every server started under
 * load saw ECONNRESET.
 *
 * How: a child that will listen in a stack of its own claims the listener
 * with PL_SHARE_F_QUEUE (and keeps a hidden copy of the channel). The
 * parent, when its stack will be released once the listener goes (nothing
 * else in it: a child needs the interface queue), lets the handshakes in
 * progress finish (bounded), accepts every queued connection, exports it
 * with its unread bytes and detaches it without a segment
 * (anyload_tcp_export_flags, ANYLOAD_TCP_EXPORT_RIDING), and keeps them
 * for KEEP_NS. The listener's filter stays parked meanwhile (tcp_share.c),
 * so the peers' segments are dropped, not given to the kernel, and sent
 * again by the peers. The child whose own stack then listens on the port
 * (of several workers, the one that got the queue, or the filter) asks
 * for them (PL_SHARE_MOVES) and takes them into its listener's accept
 * queue at once (anyload_tcp_import), before its stack is polled again:
 * the program's accept returns them first and they go on with the
 * sequence numbers, windows and timestamp clock they had. A child that
 * does not listen in a stack never asks: the connections are not given to
 * a process that could not serve them.
 *
 * What is lost (logged): a connection with more unread bytes than
 * PL_SHARE_CONN_MAX_BYTES, or that the child's stack refuses, or all of
 * them when no child asks within KEEP_NS (their peers are reset by the
 * kernel at their next segment once the parking ends). While the parent's
 * stack holds other sockets its queued connections are reset with the
 * listener, as before. A process that exits with the listener shared
 * (nginx's `daemon on`: the process that listened forks the master and
 * exits) cannot wait to be asked: it posts its queued connections on the
 * channel to its child, where they wait in the socket's queue (a dozen
 * messages fit without blocking; more are lost) for the descendant whose
 * stack listens next, which finds the parent gone and reads them there.
 */
#include "preload/pl_tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void pl_share_moves_free(struct pl_share_move* m, int n)
{
  int k;

  for (k = 0; m && k < n; k++)
    free(m[k].bytes);
  free(m);
}

/* The connections kept for the child that will ask: a few listeners at
 * once at most (a server's ports), each for KEEP_NS: the child listens
 * within the parking (1 s) and asks at once. */
#define KEEP_NS   3000000000ll
#define MAX_KEPT  16

struct kept {
  uint64_t id;
  int64_t  until;
  struct pl_share_move* m;
  int      n;
};
static struct kept kept[MAX_KEPT];

/* drop_kept: kept entry k goes, its connections freed. */
static void drop_kept(int k)
{
  pl_share_moves_free(kept[k].m, kept[k].n);
  kept[k].m = NULL;
  kept[k].n = 0;
}

/* expire: the kept connections whose time passed go (logged). */
static void expire(int64_t now)
{
  int k;

  for (k = 0; k < MAX_KEPT; k++) {
    if (!kept[k].m || kept[k].until > now)
      continue;
    pl_log(1, "%d connection%s queued in the stack for a forked child "
           "lost: no child listening in its own stack asked for them",
           kept[k].n, kept[k].n == 1 ? "" : "s");
    drop_kept(k);
  }
}

struct pl_share_move* pl_share_queue_take(uint64_t id, int* n)
{
  struct pl_share_move* m;
  int k;

  *n = 0;
  expire(pl_now());
  for (k = 0; k < MAX_KEPT; k++) {
    if (kept[k].m && kept[k].id == id) {
      m = kept[k].m;
      *n = kept[k].n;
      kept[k].m = NULL;
      kept[k].n = 0;
      return m;
    }
  }
  return NULL;
}

void pl_share_queue_fork_child(void)
{
  int k;

  for (k = 0; k < MAX_KEPT; k++)
    drop_kept(k);
}

/* others: another socket of the program is in st. */
static int others(const struct pl_obj* o)
{
  int fd;

  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    const struct pl_obj* x = pl_fds[fd];
    if (x && x != o && (x->kind == PL_UDP || x->kind == PL_TCP) &&
        x->sd >= 0)
      return 1;
  }
  return 0;
}

/* alone: nothing but listener o, the n connections accepted from its
 * queue and its handshakes in progress is in st (no other socket, no
 * connection closed by the program and still ending), so st is released
 * once they go (pl_stack_release_if_idle). */
static int alone(struct anyload_stack* st, const struct pl_obj* o, int n)
{
  struct anyload_stack_info in;
  int synq = anyload_tcp_synq_len(st, o->sd);

  if (others(o) || o->n_backlog)
    return 0;
  anyload_stack_info(st, &in);
  return !in.sockets && in.tcp_sockets == 1u + (unsigned)n &&
         in.tcp_connections == (unsigned)(n + (synq > 0 ? synq : 0));
}

/* abort_conn: sd goes with an RST, as the listener's close resets what
 * it had queued. */
static void abort_conn(struct anyload_stack* st, int sd)
{
  struct linger lg = { 1, 0 };

  (void)anyload_tcp_setsockopt(st, sd, SOL_SOCKET, SO_LINGER, &lg,
                               sizeof(lg), pl_now());
  anyload_tcp_close(st, sd, pl_now());
}

/* move_out: accepted connection sd into *m, and out of the stack. */
static int move_out(struct anyload_stack* st, int sd, struct pl_share_move* m)
{
  int rc = anyload_tcp_export_flags(st, sd, &m->ex, pl_now(),
                                    ANYLOAD_TCP_EXPORT_RIDING);

  m->bytes = NULL;
  if (rc < 0)
    return rc;
  if (m->ex.sent_len || m->ex.unsent_len ||
      m->ex.recv_len > PL_SHARE_CONN_MAX_BYTES)
    return -EMSGSIZE;
  if (m->ex.recv_len) {
    m->bytes = malloc(m->ex.recv_len);
    if (!m->bytes)
      return -ENOMEM;
    if (anyload_tcp_export_bytes(st, sd, ANYLOAD_TCP_Q_RECV, 0, m->bytes,
                                 m->ex.recv_len) != (ssize_t)m->ex.recv_len)
      rc = -EIO;
  }
  if (rc == 0)
    rc = anyload_tcp_detach_flags(st, sd, pl_now(),
                                  ANYLOAD_TCP_EXPORT_RIDING);
  if (rc < 0) {
    free(m->bytes);
    m->bytes = NULL;
  }
  return rc;
}

/* struct accepted, take_accepted: the drain's taker of queue_out: the
 * stack sockets of the connections accepted, at most PL_SHARE_MAX_CONNS
 * (more stay queued and are reset with the listener). The array grows
 * as they come: most takes find none. */
struct accepted {
  int* sds;
  int n, room;
};

static void take_accepted(struct anyload_stack* st, struct pl_obj* o,
                          void* ctx)
{
  struct accepted* a = ctx;
  int sd;

  while (a->n < PL_SHARE_MAX_CONNS) {
    if (a->n == a->room) {
      int room = a->room ? 2 * a->room : 16;
      int* sds = realloc(a->sds, (size_t)room * sizeof(*sds));
      if (!sds)
        return;   /* what stays queued is reset with the listener */
      a->sds = sds;
      a->room = room;
    }
    sd = anyload_tcp_accept(st, o->sd, NULL, pl_now());
    if (sd < 0)
      return;
    a->sds[a->n++] = sd;
  }
}

/* queue_out: listener o's queued connections out of st into *out
 * (malloc'd), after its handshakes in progress finished (bounded); with
 * need_alone, only when nothing else keeps st (else they are reset).
 * Their number. */
static int queue_out(struct anyload_stack* st, int fd, struct pl_obj* o,
                     int need_alone, struct pl_share_move** out)
{
  struct pl_share_move* m;
  struct accepted a = { NULL, 0, 0 };
  int* sds;
  int n, k, moved = 0, lost = 0;

  *out = NULL;
  pl_tcp_listener_drain(st, o, take_accepted, &a);
  sds = a.sds;
  n = a.n;
  /* Room for what was queued only (most takes find nothing). */
  m = n ? calloc((size_t)n, sizeof(*m)) : NULL;
  if ((need_alone && !alone(st, o, n)) || !m) {
    /* The stack stays (no child can make one on this queue), or no
     * memory: reset, as the listener's close does. */
    for (k = 0; k < n; k++)
      abort_conn(st, sds[k]);
    n = 0;
  }
  for (k = 0; k < n; k++) {
    if (move_out(st, sds[k], &m[moved]) == 0) {
      moved++;
    } else {
      abort_conn(st, sds[k]);
      lost++;
    }
  }
  free(sds);
  if (lost)
    pl_log(1, "fd %d: %d connection%s queued in the stack could not go "
           "to a forked child: reset", fd, lost, lost == 1 ? "" : "s");
  if (!moved) {
    free(m);
    return 0;
  }
  *out = m;
  return moved;
}

void pl_share_queue_out(struct anyload_stack* st, int fd, struct pl_obj* o,
                        uint64_t id)
{
  struct pl_share_move* m;
  int slot, n;

  if (o->tcp != PL_TCP_LISTEN || o->sd < 0 || others(o))
    return;
  expire(pl_now());
  for (slot = 0; slot < MAX_KEPT && kept[slot].m; slot++)
    ;
  if (slot == MAX_KEPT)
    return;
  n = queue_out(st, fd, o, 1, &m);
  if (!n)
    return;
  pl_log(2, "fd %d: %d connection%s queued in the stack kept for the "
         "forked child that listens next in a stack of its own", fd, n,
         n == 1 ? "" : "s");
  kept[slot].id = id;
  kept[slot].until = pl_now() + KEEP_NS;
  kept[slot].m = m;
  kept[slot].n = n;
}

void pl_share_queue_exit(struct anyload_stack* st, int fd, struct pl_obj* o)
{
  struct pl_share_move* m;
  int n, posted;

  if (!pl_cfg.tcp_listen_follow || o->tcp != PL_TCP_LISTEN || o->sd < 0 ||
      o->shares <= 0)
    return;
  n = queue_out(st, fd, o, 0, &m);
  if (!n)
    return;
  posted = pl_share_post(o->id, m, n);
  if (posted)
    pl_log(2, "fd %d: exit: %d connection%s queued in the stack left for "
           "the forked child that listens next in a stack of its own", fd,
           posted, posted == 1 ? "" : "s");
  if (posted < n)
    pl_log(1, "fd %d: exit: %d connection%s queued in the stack lost (no "
           "room on the channel to the child): their peers are reset at "
           "their next segment", fd, n - posted, n - posted == 1 ? "" : "s");
  pl_share_moves_free(m, n);
}

/* stash: one connection posted for listener id (read while looking for
 * another's) into kept, for that listener's follow. */
static void stash(uint64_t id, struct pl_share_move* one)
{
  struct pl_share_move* p;
  int k, free_slot = -1;

  for (k = 0; k < MAX_KEPT; k++) {
    if (kept[k].m && kept[k].id == id)
      break;
    if (!kept[k].m && free_slot < 0)
      free_slot = k;
  }
  if (k == MAX_KEPT) {
    if (free_slot < 0)
      goto drop;
    k = free_slot;
    kept[k].id = id;
    kept[k].n = 0;
  }
  p = realloc(kept[k].m, (size_t)(kept[k].n + 1) * sizeof(*p));
  if (!p)
    goto drop;
  p[kept[k].n++] = *one;
  kept[k].m = p;
  kept[k].until = pl_now() + KEEP_NS;
  return;
drop:
  free(one->bytes);
}

/* read_posted: what the parent posted on chan at its exit, into kept. */
static void read_posted(int chan)
{
  struct pl_share_move one;
  uint64_t id;
  int k, rc;

  for (k = 0; k < PL_SHARE_MAX_CONNS; k++) {
    rc = pl_share_recv_posted(chan, &one, &id);
    if (rc == -EAGAIN || rc == -ENOMEM)
      break;
    if (rc == 0)
      stash(id, &one);
  }
}

/* chan_ino: fd's inode if it is a socket, else 0. */
static uint64_t chan_ino(int fd)
{
  struct stat sb;

  if (fstat(fd, &sb) < 0 || !S_ISSOCK(sb.st_mode))
    return 0;
  return (uint64_t)sb.st_ino;
}

void pl_share_queue_chan(struct pl_obj* o, int chan, uint64_t id)
{
  int c;

  pl_share_queue_forget(o);
  /* Above the numbers a program uses first, close-on-exec: the program
   * does not see it. It is not in the fd table (it lives until this
   * process's listen, moments later), so before each use its inode says
   * whether it is still ours: the program may have put a file of its own
   * on that number meanwhile (dup2). */
  c = PL_REAL(fcntl)(chan, F_DUPFD_CLOEXEC, (void*)(long)256);
  if (c < 0)
    return;
  o->moves_chan_ino = chan_ino(c);
  if (!o->moves_chan_ino) {
    PL_REAL(close)(c);
    return;
  }
  o->moves_chan = c;
  o->moves_id = id;
}

/* chan_ours: o's copy of the channel is still the one it made. */
static int chan_ours(const struct pl_obj* o)
{
  return o->moves_chan >= 0 && chan_ino(o->moves_chan) == o->moves_chan_ino;
}

void pl_share_queue_forget(struct pl_obj* o)
{
  if (o->moves_chan < 0)
    return;
  if (chan_ours(o))
    PL_REAL(close)(o->moves_chan);
  o->moves_chan = -1;
}

/* How long the child waits for the parent's answer (under the lock: the
 * parent's TCP poller answers within a millisecond or so). */
#define ASK_WAIT_NS 500000000ll

void pl_share_queue_in(int fd, struct pl_obj* o, struct anyload_stack* st)
{
  struct pl_share_req rq = { .magic = PL_SHARE_MAGIC, .op = PL_SHARE_MOVES,
                             .fd = fd, .sd = -1, .id = o->moves_id };
  struct pl_share_ans an;
  struct pl_share_move* m = NULL;
  int k, n = 0, ok = 0, rc, last_err = 0;

  if (!chan_ours(o)) {
    pl_share_queue_forget(o);
    return;
  }
  pl_depth++;
  rc = pl_share_ask(o->moves_chan, &rq, ASK_WAIT_NS, &an, &m, &n);
  if (rc == -EPIPE) {
    /* The parent is gone (nginx's `daemon on`: the process that listened
     * forked the master and exited): what it left on the channel. */
    read_posted(o->moves_chan);
    m = pl_share_queue_take(o->moves_id, &n);
    an.n_conns = (uint32_t)n;
    rc = 0;
  }
  pl_depth--;
  pl_share_queue_forget(o);
  if (rc < 0) {
    pl_log(1, "fd %d: cannot ask the parent for the connections its stack "
           "had queued (%s)", fd, strerror(-rc));
    return;
  }
  if ((uint32_t)n < an.n_conns)
    pl_log(1, "fd %d: %u connection%s queued in the parent's stack lost on "
           "the way (a message missing or malformed): their peers are "
           "reset at their next segment", fd, an.n_conns,
           an.n_conns == 1 ? "" : "s");
  for (k = 0; k < n; k++) {
    rc = anyload_tcp_import(st, o->sd, &m[k].ex, m[k].bytes, pl_now());
    if (rc == 0)
      ok++;
    else
      last_err = rc;
  }
  pl_share_moves_free(m, n);
  if (ok)
    pl_log(2, "fd %d: %d connection%s queued in the parent's stack taken "
           "over (accept returns %s first)", fd, ok, ok == 1 ? "" : "s",
           ok == 1 ? "it" : "them");
  if (ok < n)
    pl_log(1, "fd %d: %d connection%s queued in the parent's stack not "
           "taken over (%s): their peers are reset at their next segment",
           fd, n - ok, n - ok == 1 ? "" : "s", strerror(-last_err));
}
