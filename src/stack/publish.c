/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/publish.c: the stack's shared-memory file, read by
 * anyload_stackdump and anyload_tcpdump (layout and protocol in
 * common/stack_shm.h): created at anyload_stack_create, updated under a
 * seqlock from anyload_stack_poll at most every ST_PUB_INTERVAL_NS and at
 * the next poll after a socket changed, removed at anyload_stack_destroy
 * and at the normal exit of the process.
 *
 * Layer: stack. This is the stack's only file I/O, done at creation and
 * destruction; an update is memory copies. Creation also reads the wall
 * clock once (the start time shown by the tools) and /proc/self (the
 * command line, the process's start time for the liveness check).
 *
 * The file's pages are reserved at creation (about 4 MiB with the default
 * 1024 sockets: the socket table, 256 socket histograms, a 2 MiB capture
 * ring), so that the fast path never meets a full tmpfs.
 *
 * The one piece of mutable file-scope state of the stack lives here: the
 * list of this process's files, so that an atexit handler can remove
 * them when the program exits without destroying its stacks (a stack
 * belongs to its process, the files to the machine).
 */
#include "stack/publish.h"
#include "common/proc_stat.h"
#include "stack/tcp_int.h"

#include <anyload/stack_obs.h>
#include <anyload/vi_ext.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t pub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct st_pub* pub_list;
static unsigned pub_next_id;
static int pub_atexit_done;

static void pub_atexit(void)
{
  struct st_pub* p;

  pthread_mutex_lock(&pub_lock);
  for (p = pub_list; p; p = p->reg_next)
    if (p->fd >= 0 && p->hdr->pid == getpid())
      unlink(p->path);
  pthread_mutex_unlock(&pub_lock);
}

static void pub_register(struct st_pub* p)
{
  pthread_mutex_lock(&pub_lock);
  p->reg_next = pub_list;
  pub_list = p;
  if (!pub_atexit_done && atexit(pub_atexit) == 0)
    pub_atexit_done = 1;
  pthread_mutex_unlock(&pub_lock);
}

static void pub_unregister(struct st_pub* p)
{
  struct st_pub** pp;

  pthread_mutex_lock(&pub_lock);
  for (pp = &pub_list; *pp; pp = &(*pp)->reg_next)
    if (*pp == p) {
      *pp = p->reg_next;
      break;
    }
  pthread_mutex_unlock(&pub_lock);
}

static size_t align_up(size_t v, size_t a)
{
  return (v + a - 1) & ~(a - 1);
}

/* read_cmdline: /proc/self/cmdline, arguments joined by spaces. */
static void read_cmdline(char* out, size_t len)
{
  ssize_t n, k;
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

  out[0] = 0;
  if (fd < 0)
    return;
  n = read(fd, out, len - 1);
  close(fd);
  if (n <= 0)
    return;
  out[n] = 0;
  for (k = 0; k < n - 1; k++)
    if (out[k] == 0)
      out[k] = ' ';
}

/* make_dir: the directory, world-writable with the sticky bit as /tmp,
 * so that every user's stacks can publish there. */
static int make_dir(const char* dir)
{
  struct stat sb;

  if (mkdir(dir, 01777) == 0) {
    chmod(dir, 01777);   /* mkdir's mode went through the umask */
    return 0;
  }
  if (errno != EEXIST)
    return -errno;
  if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
    return -ENOTDIR;
  return 0;
}

static void fill_names(struct st_pub* p)
{
  const struct anyload_shm_hdr* h = p->hdr;
  char* n = p->names;
  unsigned k;

  for (k = 0; k < h->n_stats; k++, n += ANYLOAD_SHM_NAME_LEN)
    snprintf(n, ANYLOAD_SHM_NAME_LEN, "%s", anyload_stack_stat_name(k));
  for (k = 0; k < h->n_udp_stats; k++, n += ANYLOAD_SHM_NAME_LEN)
    snprintf(n, ANYLOAD_SHM_NAME_LEN, "%s", anyload_udp_stat_name(k));
  for (k = 0; k < h->n_tcp_stats; k++, n += ANYLOAD_SHM_NAME_LEN)
    snprintf(n, ANYLOAD_SHM_NAME_LEN, "%s", anyload_tcp_stat_name(k));
}

/* layout: compute the sections for this stack and the total size. */
static size_t layout(struct anyload_shm_hdr* h, unsigned max_socks,
                     unsigned max_filters, unsigned n_sock_hist)
{
  size_t off = align_up(sizeof(*h), 64);

  h->n_stats = anyload_stack_stat_count();
  h->n_udp_stats = anyload_udp_stat_count();
  h->n_tcp_stats = anyload_tcp_stat_count();
  h->names_off = (uint32_t)off;
  off = align_up(off + (size_t)(h->n_stats + h->n_udp_stats +
                                h->n_tcp_stats) * ANYLOAD_SHM_NAME_LEN, 64);
  h->stats_off = (uint32_t)off;
  off = align_up(off + h->n_stats * 8u, 64);
  h->socks_off = (uint32_t)off;
  h->sock_size = sizeof(struct anyload_shm_sock);
  h->max_socks = max_socks;
  off = align_up(off + (size_t)max_socks * h->sock_size, 64);
  h->filters_off = (uint32_t)off;
  h->max_filters = max_filters;
  off = align_up(off + (size_t)max_filters *
                 sizeof(struct anyload_shm_filter), 64);
  h->settings_off = (uint32_t)off;
  h->settings_size = ST_PUB_SETTINGS_BYTES;
  off = align_up(off + h->settings_size, 64);
  h->hist_off = (uint32_t)off;
  off = align_up(off + sizeof(struct anyload_shm_hist), 64);
  h->sock_hist_off = (uint32_t)off;
  h->n_sock_hist = n_sock_hist;
  off = align_up(off + (size_t)n_sock_hist * sizeof(struct anyload_shm_hist),
                 4096);
  h->cap_off = (uint32_t)off;
  h->cap_size = ST_CAP_RING_BYTES;
  off = align_up(off + sizeof(struct anyload_shm_cap) + h->cap_size, 4096);
  h->file_size = off;
  return off;
}

static void set_pointers(struct st_pub* p)
{
  uint8_t* b = (uint8_t*)p->hdr;
  const struct anyload_shm_hdr* h = p->hdr;

  p->names = (char*)(b + h->names_off);
  p->stats = (uint64_t*)(void*)(b + h->stats_off);
  p->socks = (struct anyload_shm_sock*)(void*)(b + h->socks_off);
  p->filters = (struct anyload_shm_filter*)(void*)(b + h->filters_off);
  p->settings = (char*)(b + h->settings_off);
  p->hist = (struct anyload_shm_hist*)(void*)(b + h->hist_off);
  p->sock_hist = (struct anyload_shm_hist*)(void*)(b + h->sock_hist_off);
  p->cap = (struct anyload_shm_cap*)(void*)(b + h->cap_off);
  p->cap_data = b + h->cap_off + sizeof(struct anyload_shm_cap);
}

/* sweep_stale: remove the files of stacks whose owner died without
 * cleaning up (kill -9): nobody holds their lock. A file becomes visible
 * only once its owner holds the lock (it is renamed into place after
 * flock), so a live stack's file is never taken for a dead one. Files of
 * other users cannot be opened and stay. */
static void sweep_stale(const char* dir)
{
  struct dirent* de;
  DIR* d = opendir(dir);

  if (!d)
    return;
  while ((de = readdir(d))) {
    char path[600];
    int pid, used = 0, fd;
    unsigned id;
    if (sscanf(de->d_name, "%d.%u%n", &pid, &id, &used) != 2 ||
        de->d_name[used] != 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
      unlink(path);
    close(fd);
  }
  closedir(d);
}

/* create_file: the file at a temporary name, sized and mapped; the caller
 * renames it once filled. Returns the mapping or NULL. */
static void* create_file(struct st_pub* p, const char* dir, unsigned id,
                         size_t len, char* tmp, size_t tmplen)
{
  void* base;
  int fd;

  if (make_dir(dir) < 0)
    return NULL;
  sweep_stale(dir);
  snprintf(tmp, tmplen, "%s/.%d.%u.tmp", dir, (int)getpid(), id);
  snprintf(p->path, sizeof(p->path), "%s/%d.%u", dir, (int)getpid(), id);
  unlink(tmp);
  fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return NULL;
  /* Reserve every page now: a page of a sparse file that tmpfs cannot
   * supply later would kill the program with SIGBUS on the fast path.
   * Without room, the stack works unpublished. */
  if (posix_fallocate(fd, 0, (off_t)len) != 0)
    goto fail;
  base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED)
    goto fail;
  p->fd = fd;
  return base;

fail:
  close(fd);
  unlink(tmp);
  return NULL;
}

int st__pub_open(struct anyload_stack* st, const char* ifname)
{
  struct anyload_shm_hdr proto;
  struct st_pub* p = calloc(1, sizeof(*p));
  struct timespec ts;
  char tmp[600];
  const char* be;
  unsigned id, k;
  size_t len;

  if (!p)
    return -ENOMEM;
  p->fd = -1;
  p->rx_ns = malloc((size_t)st->n_pkts * sizeof(*p->rx_ns));
  if (!p->rx_ns) {
    free(p);
    return -ENOMEM;
  }
  for (k = 0; k < st->n_pkts; k++)
    p->rx_ns[k] = -1;
  memset(&proto, 0, sizeof(proto));
  len = layout(&proto, st->cfg.max_sockets * 2u, st->n_filters_max + 2u,
               st->cfg.max_sockets < ST_PUB_SOCK_HISTS ? st->cfg.max_sockets
                                                       : ST_PUB_SOCK_HISTS);

  pthread_mutex_lock(&pub_lock);
  id = pub_next_id++;
  pthread_mutex_unlock(&pub_lock);

  p->hdr = create_file(p, stack_shm_dir(), id, len, tmp, sizeof(tmp));
  if (!p->hdr) {
    /* Not published (no /dev/shm, no room): the same layout in private
     * memory keeps every hook valid. */
    p->hdr = mmap(NULL, len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p->hdr == MAP_FAILED) {
      free(p->rx_ns);
      free(p);
      return -ENOMEM;
    }
  }
  p->len = len;
  *p->hdr = proto;
  set_pointers(p);

  p->hdr->magic = ANYLOAD_SHM_MAGIC;
  p->hdr->version = ANYLOAD_SHM_VERSION;
  p->hdr->hdr_size = sizeof(*p->hdr);
  p->hdr->pid = (int32_t)getpid();
  p->hdr->stack_id = id;
  p->hdr->proc_start = proc_start_time((int)getpid());
  clock_gettime(CLOCK_REALTIME, &ts);
  p->hdr->start_realtime_ns = (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
  read_cmdline(p->hdr->cmdline, sizeof(p->hdr->cmdline));
  snprintf(p->hdr->ifname, sizeof(p->hdr->ifname), "%s", ifname);
  p->hdr->ifindex = st->ifindex;
  p->hdr->mtu = st->mtu;
  memcpy(p->hdr->mac, st->mac, 6);
  be = anyload_vi_backend(st__tx_vi(st));
  snprintf(p->hdr->backend, sizeof(p->hdr->backend), "%s", be ? be : "?");
  p->hdr->queue = (uint16_t)anyload_stack_queue(st);
  p->hdr->queue_mask = st->queue_mask;
  p->hdr->cfg_flags = st->cfg.flags;
  p->hdr->n_bufs = st->n_pkts;
  fill_names(p);
  p->cap->size = p->hdr->cap_size;
  st->pub = p;
  st__pub_update(st, 0);

  if (p->fd >= 0) {
    /* Held for the stack's life: readers test it to tell a dead owner. */
    if (flock(p->fd, LOCK_EX | LOCK_NB) < 0 || rename(tmp, p->path) < 0) {
      unlink(tmp);
      close(p->fd);
      p->fd = -1;
    } else {
      pub_register(p);
    }
  }
  return 0;
}

void st__pub_close(struct anyload_stack* st)
{
  struct st_pub* p = st->pub;

  if (!p)
    return;
  if (p->fd >= 0) {
    pub_unregister(p);
    /* A child that inherited the stack across fork does not remove its
     * parent's file. */
    if (p->hdr->pid == getpid())
      unlink(p->path);
    close(p->fd);
  }
  munmap(p->hdr, p->len);
  free(p->rx_ns);
  free(p);
  st->pub = NULL;
}

/* pub_sock_udp: one UDP socket's entry. */
static void pub_sock_udp(const struct anyload_stack* st, int sd,
                         struct anyload_shm_sock* o)
{
  const struct st_sock* s = &st->socks[sd];
  unsigned k, n = ST_SOCK_N_STATS < ANYLOAD_SHM_SOCK_STATS ?
                  ST_SOCK_N_STATS : ANYLOAD_SHM_SOCK_STATS;

  memset(o, 0, sizeof(*o));
  o->sd = sd;
  o->proto = ANYLOAD_SHM_UDP;
  o->flags = (uint16_t)((s->connected ? ANYLOAD_SHM_SOCK_CONNECTED : 0) |
                        (s->reuse ? ANYLOAD_SHM_SOCK_REUSE : 0) |
                        (s->filtered ? ANYLOAD_SHM_SOCK_FILTERED : 0));
  o->laddr_be32 = s->laddr_be32;
  o->lport_be16 = s->lport_be16;
  o->raddr_be32 = s->raddr_be32;
  o->rport_be16 = s->rport_be16;
  o->rxq_count = s->rxq.n;
  o->rxq_bytes = s->rxq_bytes;
  o->rcvbuf = s->rcvbuf;
  o->n_mships = s->n_mships;
  o->err = s->err;
  o->n_stats = n;
  o->gen = s->gen;
  for (k = 0; k < n; k++)
    o->stats[k] = s->stats[k];
}

/* pub_sock_tcp: one TCP socket's entry (connections in a listener's
 * queues included: they have no sd of the application's yet). */
static void pub_sock_tcp(const struct anyload_stack* st, int sd,
                         struct anyload_shm_sock* o)
{
  const struct st_tcp* c = &st->tcps[sd];
  unsigned k, n = ST_TCP_SOCK_N_STATS < ANYLOAD_SHM_SOCK_STATS ?
                  ST_TCP_SOCK_N_STATS : ANYLOAD_SHM_SOCK_STATS;

  memset(o, 0, sizeof(*o));
  o->sd = sd;
  o->proto = ANYLOAD_SHM_TCP;
  o->state = c->state;
  o->flags = (uint16_t)((c->reuse ? ANYLOAD_SHM_SOCK_REUSE : 0) |
                        (c->filter ? ANYLOAD_SHM_SOCK_FILTERED : 0));
  o->laddr_be32 = c->laddr_be32;
  o->lport_be16 = c->lport_be16;
  o->raddr_be32 = c->raddr_be32;
  o->rport_be16 = c->rport_be16;
  /* A listener's queue is its accept queue; a connection's its bytes. */
  o->rxq_count = c->state == TCP_LISTEN ? c->acceptq_n : 0;
  o->rxq_bytes = c->rcv_len;
  o->rcvbuf = c->rcvbuf;
  o->txq_bytes = c->snd_len;
  o->sndbuf = c->sndbuf;
  o->err = c->err;
  o->gen = c->gen;
  o->n_stats = n;
  for (k = 0; k < n; k++)
    o->stats[k] = c->stats[k];
}

void st__pub_update(struct anyload_stack* st, int64_t now)
{
  struct st_pub* p = st->pub;
  struct anyload_shm_hdr* h = p->hdr;
  struct anyload_stack_info info;
  unsigned k, seen, ns = 0, nf = 0;
  uint32_t seq = h->seq;

  /* Seqlock writer: odd while the sections change; the fence keeps the
   * odd value visible before any of the writes below. */
  __atomic_store_n(&h->seq, seq + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);

  memcpy(p->stats, st->stats, sizeof(uint64_t) * h->n_stats);
  anyload_stack_info(st, &info);
  h->info.pkt_total = info.pkt_total;
  h->info.pkt_free = info.pkt_free;
  h->info.pkt_rx_ring = info.pkt_rx_ring;
  h->info.pkt_tx_ring = info.pkt_tx_ring;
  h->info.pkt_sock_rxq = info.pkt_sock_rxq;
  h->info.pkt_reasm = info.pkt_reasm;
  h->info.pkt_neigh_wait = info.pkt_neigh_wait;
  h->info.timers = info.timers;
  h->info.sockets = info.sockets;
  h->info.filters = info.filters;
  h->info.reasm_datagrams = info.reasm_datagrams;
  h->info.neigh_waits = info.neigh_waits;

  /* The walks stop at the last entry in use (their counts): the tables
   * are sized for max_sockets, and touching every slot of them (a cache
   * line each) every ST_PUB_INTERVAL_NS stalled the poll loop. */
  for (k = 0, seen = 0; st->socks && seen < st->n_socks &&
                        k < st->cfg.max_sockets && ns < h->max_socks; k++)
    if (st->socks[k].used) {
      seen++;
      pub_sock_udp(st, (int)k, &p->socks[ns++]);
    }
  for (k = 0, seen = 0; st->tcps && seen < st->n_tcps &&
                        k < st->cfg.max_sockets && ns < h->max_socks; k++)
    if (st->tcps[k].used) {
      seen++;
      pub_sock_tcp(st, (int)k, &p->socks[ns++]);
    }
  h->n_socks = ns;

  for (k = 0, seen = 0; st->filters && seen < st->n_filters &&
                        k < st->n_filters_max && nf < h->max_filters; k++) {
    const struct st_filter* f = &st->filters[k];
    if (!f->used)
      continue;
    seen++;
    p->filters[nf].kind = f->raddr_be32 ? ANYLOAD_SHM_FILTER_FULL
                                        : ANYLOAD_SHM_FILTER_LOCAL;
    p->filters[nf].proto = f->proto;
    p->filters[nf].laddr_be32 = f->laddr_be32;
    p->filters[nf].lport_be16 = f->lport_be16;
    p->filters[nf].raddr_be32 = f->raddr_be32;
    p->filters[nf].rport_be16 = f->rport_be16;
    p->filters[nf].refs = f->refs;
    nf++;
  }
  if (st->have_udp_all && nf < h->max_filters) {
    memset(&p->filters[nf], 0, sizeof(p->filters[nf]));
    p->filters[nf].kind = ANYLOAD_SHM_FILTER_PROTO;
    p->filters[nf++].proto = ST_IPPROTO_UDP;
  }
  if (st->have_icmp && nf < h->max_filters) {
    memset(&p->filters[nf], 0, sizeof(p->filters[nf]));
    p->filters[nf].kind = ANYLOAD_SHM_FILTER_PROTO;
    p->filters[nf++].proto = ST_IPPROTO_ICMP;
  }
  h->n_filters = nf;
  h->updates++;
  h->update_now_ns = now;

  __atomic_store_n(&h->seq, seq + 2, __ATOMIC_RELEASE);
  p->next_ns = now + ST_PUB_INTERVAL_NS;
}

/* ---- public calls (anyload/stack_obs.h) -------------------------------- */

int anyload_stack_set_settings(struct anyload_stack* st, const char* text)
{
  struct st_pub* p = st->pub;
  struct anyload_shm_hdr* h;
  size_t n;
  uint32_t seq;

  if (!text)
    return -EINVAL;
  n = strlen(text);
  if (!p)
    return -ENODEV;
  h = p->hdr;
  if (n >= h->settings_size)
    return -E2BIG;
  seq = h->seq;
  __atomic_store_n(&h->seq, seq + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  memcpy(p->settings, text, n + 1);
  h->settings_len = (uint32_t)n;
  __atomic_store_n(&h->seq, seq + 2, __ATOMIC_RELEASE);
  return 0;
}

const char* anyload_stack_shm_path(const struct anyload_stack* st)
{
  return st->pub && st->pub->fd >= 0 ? st->pub->path : NULL;
}
