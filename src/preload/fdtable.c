// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/fdtable.c: the core of libanyload.so (transparent mode): the fd
 * table (fd number -> object shadowing it), the library lock, the
 * process's stack (created on first use, on the configured interface,
 * with the control plane as its environment), progress (polling the
 * stack), the sleep of blocking calls, logging, and the end of the
 * process. Layer: preload; it calls the stack only through
 * anyload/stack.h.
 *
 * Lifetime of the stack: created lazily by the first socket that needs it
 * (bind, connect or send of an AF_INET datagram socket), destroyed at exit
 * (after the counters are printed when asked), before an exec (the new
 * image starts without it; its inherited sockets are plain kernel sockets)
 * and never in a forked child (see fork_exec.c).
 */
#include "preload/pl_tcp.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pl_settings pl_cfg;
struct pl_counts pl_count;
struct pl_obj* pl_fds[PL_MAX_FDS];
__thread int pl_depth;

static pthread_mutex_t pl_mu = PTHREAD_MUTEX_INITIALIZER;
/* The stack: state 0 not tried, 1 up, -1 failed (err), -2 gone for good
 * (exit). */
static struct anyload_stack* pl_st;
static int pl_st_state;
static int pl_st_err;
static pthread_once_t pl_once = PTHREAD_ONCE_INIT;
static int pl_atexit_done;
/* A stack was let go here (inherited at a fork, or released when idle):
 * at exit, what the stacks' VIs left on the interface is tidied (a worker
 * that dropped its privileges could not detach the XDP program). */
static int pl_tidy_at_exit;
/* This process is a forked child of one that had a stack (inherited by
 * its own children): its stack takes one queue, leaving the others to
 * its siblings (a pre-forking server's workers, one queue each). */
static int pl_forked_from_stack;
static void pl_at_exit(void);

/* One write(2) per line, not stdio: it may run under the library lock in
 * any thread (the TCP poller's), and a line is then never split by the
 * program's own output nor held in a buffer that a fork copies. */
void pl_log(int level, const char* fmt, ...)
{
  char line[560];
  va_list ap;
  int n, k;

  if (level > pl_cfg.log)
    return;
  n = snprintf(line, sizeof(line), "anyload[%d]: ", (int)getpid());
  if (n < 0 || n >= (int)sizeof(line))
    return;
  va_start(ap, fmt);
  k = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (k < 0)
    return;
  n += k < (int)(sizeof(line) - (size_t)n - 1) ? k
       : (int)(sizeof(line) - (size_t)n - 2);
  line[n++] = '\n';
  if (PL_REAL(write)(2, line, (size_t)n) < 0) {
    /* stderr closed or full: nothing to do. */
  }
}

static void init_once(void)
{
  char err[200];

  pl_resolve();
  if (pl_settings_load(&pl_cfg, err, sizeof(err)) < 0)
    pl_log(1, "bad setting ignored (default used): %s", err);
  pl_fork_init();
  pl_wake_init();
  pl_log(3, "libanyload loaded: interface '%s', spin %lld us, udp %lld",
         pl_cfg.interface, pl_cfg.spin_usec, pl_cfg.udp);
}

void pl_init(void)
{
  pthread_once(&pl_once, init_once);
}

__attribute__((constructor)) static void pl_ctor(void)
{
  pl_init();
}

/* pl_depth is raised before the mutex is taken and lowered after it is
 * released, so that a signal's handler never runs (signals.c defers it)
 * while this thread holds the mutex, not even between the two steps. */
int pl_lock(void)
{
  if (pl_depth)
    return -1;
  pl_depth++;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  pthread_mutex_lock(&pl_mu);
  return 0;
}

void pl_unlock(void)
{
  pthread_mutex_unlock(&pl_mu);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  pl_depth--;
  /* A handler that a signal wanted to run meanwhile runs now. */
  if (__builtin_expect(pl_sig_pending != 0, 0) && !pl_depth)
    pl_signals_replay();
}

/* pl_lock_reset: in a forked child, where only the forking thread lives;
 * fork_exec.c holds the lock across fork, so the child's copy is held. */
void pl_lock_child_reset(void);
void pl_lock_child_reset(void)
{
  pthread_mutex_init(&pl_mu, NULL);
  pl_depth = 0;
  /* Signals deferred during the fork were the parent's. */
  pl_sig_pending = 0;
}
void pl_lock_fork_prepare(void);
void pl_lock_fork_prepare(void)
{
  /* As pl_lock: no handler runs while the mutex is held across fork. */
  pl_depth++;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  pthread_mutex_lock(&pl_mu);
}
void pl_lock_fork_parent(void);
void pl_lock_fork_parent(void)
{
  pl_unlock();
}

int64_t pl_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

struct pl_obj* pl_obj_new(int kind)
{
  static uint64_t next_id;
  struct pl_obj* o = calloc(1, sizeof(*o));

  if (!o)
    return NULL;
  o->kind = kind;
  o->sd = -1;
  o->chan = -1;
  o->rsd = -1;
  o->moves_chan = -1;
  o->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
  return o;
}

void pl_fd_set(int fd, struct pl_obj* o)
{
  if (fd < 0 || fd >= PL_MAX_FDS)
    return;
  if (o)
    o->refs++;
  __atomic_store_n(&pl_fds[fd], o, __ATOMIC_RELEASE);
}

void pl_fd_release(int fd)
{
  struct pl_obj* o;

  if (fd < 0 || fd >= PL_MAX_FDS)
    return;
  o = pl_fds[fd];
  if (!o)
    return;
  __atomic_store_n(&pl_fds[fd], NULL, __ATOMIC_RELEASE);
  pl_epoll_forget_fd(fd);
  if (--o->refs > 0)
    return;
  if (o->kind == PL_UDP)
    pl_udp_close_sd(o);
  else if (o->kind == PL_TCP && pl_tcp_release(fd, o))
    return;   /* kept for a forked child (tcp_share.c) */
  else if (o->kind == PL_CHAN)
    pl_share_chan_gone(o);
  free(o->items);
  free(o);
}

struct anyload_stack* pl_stack_if_up(void)
{
  return pl_st_state == 1 ? pl_st : NULL;
}

struct anyload_stack* pl_stack(int* err)
{
  struct anyload_stack_config cfg;
  char qs[200];
  int rc;

  *err = 0;
  if (pl_st_state == 1)
    return pl_st;
  if (pl_st_state == -1) {
    *err = pl_st_err;
    return NULL;
  }
  if (pl_st_state == -2 || !pl_cfg.interface[0] ||
      (!pl_cfg.udp && !pl_cfg.tcp)) {
    *err = -ENODEV;
    return NULL;
  }
  anyload_stack_config_init(&cfg);
  cfg.ifname = pl_cfg.interface;
  cfg.n_bufs = (unsigned)pl_cfg.max_packets;
  cfg.rxq_size = (int)pl_cfg.rxq_size;
  cfg.txq_size = (int)pl_cfg.txq_size;
  if (pl_cfg.trust_rx_csum)
    cfg.flags |= ANYLOAD_STACK_F_TRUST_RX_CSUM;
  if (!pl_cfg.tcp_gso)
    cfg.flags |= ANYLOAD_STACK_F_NO_TCP_GSO;
  /* Every free queue of a multi-queue interface, or (a pre-forking
   * server's worker, ANYLOAD_QUEUES=1) the first free one. */
  cfg.flags |= ANYLOAD_STACK_F_ANY_QUEUE;
  cfg.max_queues = (unsigned)pl_cfg.queues;
  if (!cfg.max_queues && pl_forked_from_stack)
    cfg.max_queues = 1;
  if (cfg.max_queues != 1)
    cfg.flags |= ANYLOAD_STACK_F_ALL_QUEUES;
  cfg.seed = (uint64_t)pl_now() ^ ((uint64_t)getpid() << 32);
  rc = anyload_stack_create(&cfg, NULL, &pl_st);
  if (rc < 0) {
    pl_st_state = -1;
    pl_st_err = rc;
    *err = rc;
    /* One message per process: later sockets find pl_st_state -1. With
     * EF_NO_FAIL=0 it is an error, printed whatever the log level. */
    pl_log(pl_cfg.no_fail ? 1 : 0,
           "cannot start the stack on %s: %s; %s%s", pl_cfg.interface,
           strerror(-rc), pl_cfg.no_fail
                            ? "sockets stay with the kernel"
                            : "EF_NO_FAIL=0: the calls that need it fail",
           rc == -EBUSY ? " (every queue of the interface is held by "
                          "another process; ANYLOAD_LOG=2 names them)"
                        : "");
    return NULL;
  }
  pl_st_state = 1;
  pl_publish_settings(pl_st);
  /* The VI layer releases live VIs in an atexit handler registered as
   * the stack was created; ours, registered after it, runs first, so the
   * stack still has its VI when its sockets and filters go. */
  if (!pl_atexit_done) {
    pl_atexit_done = 1;
    atexit(pl_at_exit);
  }
  pl_log(2, "stack up on %s (ifindex %d, %s %s, mtu %u)",
         pl_cfg.interface, anyload_stack_ifindex(pl_st),
         (anyload_stack_queue_mask(pl_st) &
          (anyload_stack_queue_mask(pl_st) - 1)) ? "queues" : "queue",
         anyload_queue_mask_str(anyload_stack_queue_mask(pl_st), qs, sizeof(qs)),
         anyload_stack_mtu(pl_st));
  return pl_st;
}

void pl_progress(struct anyload_stack* st)
{
  if (st)
    pl_progress_at(st, pl_now());
}

void pl_progress_at(struct anyload_stack* st, int64_t now)
{
  int n;

  if (st) {
    n = anyload_stack_poll(st, now, (int)pl_cfg.evs_per_poll);
    pl_tcp_note_progress(now);   /* the TCP poller need not */
    pl_wake_note(n);             /* the other threads' sleeps (wake.c) */
  }
}

static void dump_stats(void)
{
  unsigned n = anyload_stack_stat_count(), k;
  uint64_t v[256];
  char line[4096];
  size_t off = 0;

  fprintf(stderr,
          "anyload[%d]: sockets: udp_accelerated=%llu udp_kernel=%llu "
          "rx_stack=%llu rx_kernel=%llu tx_stack=%llu tx_kernel=%llu "
          "tcp_accelerated=%llu tcp_kernel=%llu tcp_rx_bytes=%llu "
          "tcp_tx_bytes=%llu waits=%llu wait_kernel_polls=%llu "
          "wait_ready_kernel_polls=%llu\n",
          (int)getpid(), (unsigned long long)pl_count.udp_accel,
          (unsigned long long)pl_count.udp_kernel,
          (unsigned long long)pl_count.rx_stack,
          (unsigned long long)pl_count.rx_kernel,
          (unsigned long long)pl_count.tx_stack,
          (unsigned long long)pl_count.tx_kernel,
          (unsigned long long)pl_count.tcp_accel,
          (unsigned long long)pl_count.tcp_kernel,
          (unsigned long long)pl_count.tcp_rx_bytes,
          (unsigned long long)pl_count.tcp_tx_bytes,
          (unsigned long long)pl_count.waits,
          (unsigned long long)pl_count.wait_kernel_polls,
          (unsigned long long)pl_count.wait_ready_kernel_polls);
  if (!pl_st)
    return;
  /* Frames still in the ring and the kernel's latest drops belong in
   * the counters. */
  anyload_stack_sync(pl_st, pl_now());
  anyload_stack_stats(pl_st, v, n < 256 ? n : 256, 0);
  line[0] = 0;
  for (k = 0; k < n && k < 256; k++)
    if (v[k] && off < sizeof(line) - 64)
      off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%llu",
                              anyload_stack_stat_name(k),
                              (unsigned long long)v[k]);
  fprintf(stderr, "anyload[%d]: stack counters:%s\n", (int)getpid(), line);
}

void pl_stacks_drop(const char* why)
{
  int fd;

  if (pl_st_state != 1)
    return;
  /* Every accelerated socket goes back to the kernel: its stack socket
   * and filter go, so its traffic reaches the kernel socket again. */
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (o && o->kind == PL_UDP && o->sd >= 0) {
      pl_log(2, "fd %d: back to the kernel (%s)", fd, why);
      pl_udp_close_sd(o);
    }
    if (o && o->kind == PL_TCP && o->sd >= 0) {
      pl_log(2, "fd %d: TCP %s (%s)", fd, o->tcp == PL_TCP_LISTEN
             ? "listener back to the kernel" : "connection closed", why);
      pl_tcp_close_sd(o);
      if (o->tcp == PL_TCP_LISTEN)
        o->tcp = PL_TCP_KERNEL;
      else
        o->tcp = PL_TCP_ORPHAN;
    }
  }
  anyload_stack_destroy(pl_st);
  pl_st = NULL;
  pl_st_state = 0;
}

int pl_stack_release_if_idle(const char* why)
{
  struct anyload_stack_info in;
  int fd;

  if (pl_st_state != 1)
    return 0;
  anyload_stack_info(pl_st, &in);
  /* Connections the program closed (FIN_WAIT, TIME_WAIT) count: they
   * still need the stack. */
  if (in.sockets || in.tcp_sockets || in.tcp_connections || in.tcp_listening)
    return 0;
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (o && (o->kind == PL_UDP || o->kind == PL_TCP) && o->sd >= 0)
      return 0;
  }
  /* The sets that hold the stack's wait fd lose it with the stack; a
   * stack made later adds its own (fd_epoll.c). */
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (o && o->kind == PL_EPOLL)
      o->wait_fd_added = 0;
  }
  pl_log(2, "stack on %s released: no socket left in it (%s)",
         pl_cfg.interface, why);
  pl_tidy_at_exit = 1;
  anyload_stack_destroy(pl_st);
  pl_st = NULL;
  pl_st_state = 0;
  return 1;
}

static void pl_at_exit(void)
{
  /* Other threads may still be inside the library: they hold the lock
   * only for short steps, so this waits for them; after it, they find no
   * stack and use their kernel sockets. */
  if (pl_lock() < 0)
    return;
  if (pl_st_state == -2) {
    pl_unlock();
    return;
  }
  if (pl_cfg.stats_at_exit ||
      (pl_cfg.log >= 3 && (pl_st || pl_count.udp_accel || pl_count.udp_kernel)))
    dump_stats();
  pl_tcp_exit_drain();
  pl_stacks_drop("exit");
  if (pl_tidy_at_exit)
    (void)anyload_stack_tidy(pl_cfg.interface);
  pl_st_state = -2;
  pl_unlock();
}

/* At exit without a stack ever created (the counters), or when exit
 * handlers were skipped. pl_at_exit is idempotent: the counters print once. */
__attribute__((destructor)) static void pl_dtor(void)
{
  pl_at_exit();
}

/* pl_child_forget: in a forked child (lock held by nobody): the parent's
 * stack is let go (anyload_stack_forget: this process's copies of its
 * memory and descriptors go, its filters and rings stay the parent's), so
 * that the queue is free for a stack of the child's own once the parent
 * lets it go; inherited accelerated sockets become kernel ones. */
void pl_child_forget(void);
void pl_child_forget(void)
{
  int fd;

  if (pl_st_state != 1)
    return;
  for (fd = 0; fd < PL_MAX_FDS; fd++) {
    struct pl_obj* o = pl_fds[fd];
    if (o && o->kind == PL_UDP && o->sd >= 0) {
      o->sd = -1;
      pl_log(2, "fd %d: inherited by a forked child: kernel socket", fd);
    }
    if (o && o->kind == PL_TCP)
      pl_tcp_child(fd, o);
    if (o && o->kind == PL_EPOLL)
      o->wait_fd_added = 0;
  }
  anyload_stack_forget(pl_st);
  pl_tidy_at_exit = 1;
  pl_forked_from_stack = 1;
  pl_st = NULL;
  pl_st_state = 0;
}

int pl_wait(int fd, short events, int64_t deadline_ns, const sigset_t* m)
{
  struct pollfd p[3];
  struct anyload_stack* st;
  int64_t now, dl = deadline_ns;
  struct timespec ts;
  int n = 1, rc, wake = -1;

  p[0].fd = fd;
  p[0].events = events;
  p[0].revents = 0;
  now = pl_now();
  if (pl_lock() == 0) {
    st = pl_stack_if_up();
    if (st) {
      p[1].fd = anyload_stack_wait_fd(st);
      p[1].events = POLLIN;
      p[1].revents = 0;
      n = 2;
      if (anyload_stack_next_deadline(st) < dl)
        dl = anyload_stack_next_deadline(st);
      wake = pl_sleep_arm(now, &dl);
      if (wake >= 0) {
        p[2].fd = wake;
        p[2].events = POLLIN;
        p[2].revents = 0;
        n = 3;
      }
    }
    pl_unlock();
  }
  pl_signals_wait_begin();
  rc = PL_REAL(ppoll)(p, (nfds_t)n, pl_sleep_ts(dl, now, &ts), m);
  if (wake >= 0)
    pl_sleep_disarm(rc > 0 && p[2].revents);
  if (rc < 0)
    return -errno;
  return rc;
}
