/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/filter_maps.c: the filter maps of an interface as the library sees
 * them (see filter_maps.h): the per-interface lock, slot owners and their
 * liveness, filter specs turned into map keys, adding and removing
 * filters, reclaiming dead owners, and the programs' counters. The
 * backends add what is theirs (attaching programs, sockets).
 */
#include "vi/filter_maps.h"
#include "common/log.h"
#include "common/proc_stat.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_DIR "/run/anyload"

/* ---- locking ---------------------------------------------------------- */

static void lock_path(const struct vi_fmaps_lock* l, char path[128])
{
  snprintf(path, 128, LOCK_DIR "/%s-%lu-%d.lock", l->kind, l->netns,
           l->ifindex);
}

static int lock_open_fd(const struct vi_fmaps_lock* l)
{
  char path[128];
  int fd;

  if (mkdir(LOCK_DIR, 0755) < 0 && errno != EEXIST)
    return -errno;
  lock_path(l, path);
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  return fd;
}

int vi_fmaps_lock_open(struct vi_fmaps_lock* l, const char* kind,
                       int ifindex)
{
  struct stat st;

  /* The network namespace of the calling thread (a thread may have
   * switched with setns), kept: the lock is the interface's wherever the
   * thread that later takes it happens to be. */
  l->netns = stat("/proc/thread-self/ns/net", &st) == 0
             ? (unsigned long)st.st_ino : 0;
  l->kind = kind;
  l->ifindex = ifindex;
  l->fd = lock_open_fd(l);
  return l->fd < 0 ? l->fd : 0;
}

void vi_fmaps_lock_take(struct vi_fmaps_lock* l)
{
  int tries;

  /* Bounded: each retry means another process unlinked the file between
   * our open and our flock, which takes a VI's whole lifetime. */
  for (tries = 0; tries < 100; tries++) {
    struct stat a, b;
    char path[128];
    int fd;

    while (flock(l->fd, LOCK_EX) < 0 && errno == EINTR)
      ;
    lock_path(l, path);
    if (fstat(l->fd, &a) == 0 && stat(path, &b) == 0 &&
        a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      return;
    fd = lock_open_fd(l);
    if (fd < 0)
      return;   /* cannot do better: keep the lock we have */
    close(l->fd);
    l->fd = fd;
  }
}

void vi_fmaps_lock_drop(struct vi_fmaps_lock* l)
{
  flock(l->fd, LOCK_UN);
}

void vi_fmaps_lock_unlink(struct vi_fmaps_lock* l)
{
  char path[128];

  lock_path(l, path);
  unlink(path);
}

void vi_fmaps_lock_close(struct vi_fmaps_lock* l)
{
  if (l->fd >= 0)
    close(l->fd);
  l->fd = -1;
}

/* ---- owners ----------------------------------------------------------- */

int vi_owner_alive(const struct al_owner* o)
{
  return o->start_time && proc_start_time((int)o->pid) == o->start_time;
}

/* ---- maps ------------------------------------------------------------- */

void vi_fmaps_init(struct vi_fmaps* fm)
{
  struct vi_bpf_map_ref refs[VI_FMAPS_N];
  size_t i;

  vi_fmaps_refs(fm, refs);
  for (i = 0; i < VI_FMAPS_N; i++)
    *refs[i].fd = -1;
}

void vi_fmaps_close(struct vi_fmaps* fm)
{
  struct vi_bpf_map_ref refs[VI_FMAPS_N];
  size_t i;

  vi_fmaps_refs(fm, refs);
  for (i = 0; i < VI_FMAPS_N; i++)
    if (*refs[i].fd >= 0) {
      close(*refs[i].fd);
      *refs[i].fd = -1;
    }
}

void vi_fmaps_refs(struct vi_fmaps* fm, struct vi_bpf_map_ref refs[VI_FMAPS_N])
{
  const struct vi_bpf_map_ref r[VI_FMAPS_N] = {
    { "al_ip4_full", &fm->ip4_full },
    { "al_ip4_local", &fm->ip4_local },
    { "al_ip6_full", &fm->ip6_full },
    { "al_ip6_local", &fm->ip6_local },
    { "al_eth", &fm->eth },
    { "al_ethertype", &fm->ethertype },
    { "al_ipproto", &fm->ipproto },
    { "al_special", &fm->special },
    { "al_config", &fm->config },
    { "al_owners", &fm->owners },
    { "al_stats", &fm->stats },
  };
  memcpy(refs, r, sizeof(r));
}

int vi_bpf_prog_maps(int prog_fd, const struct vi_bpf_map_ref* refs, size_t n)
{
  struct bpf_prog_info info;
  uint32_t ids[32];
  uint32_t len = sizeof(info);
  uint32_t i;
  size_t j;

  memset(&info, 0, sizeof(info));
  info.nr_map_ids = 32;
  info.map_ids = (uint64_t)(uintptr_t)ids;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
    return -errno;
  for (i = 0; i < info.nr_map_ids && i < 32; i++) {
    struct bpf_map_info mi;
    uint32_t mlen = sizeof(mi);
    int fd = bpf_map_get_fd_by_id(ids[i]);
    if (fd < 0)
      continue;
    memset(&mi, 0, sizeof(mi));
    if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) < 0) {
      close(fd);
      continue;
    }
    for (j = 0; j < n; j++)
      if (!strcmp(mi.name, refs[j].name) && *refs[j].fd < 0) {
        *refs[j].fd = fd;
        fd = -1;
        break;
      }
    if (fd >= 0)
      close(fd);
  }
  for (j = 0; j < n; j++)
    if (*refs[j].fd < 0)
      return -ENOENT;
  return 0;
}

int vi_bpf_obj_maps(struct bpf_object* obj, const struct vi_bpf_map_ref* refs,
                    size_t n, int bind_prog_fd)
{
  size_t j;
  int rc = 0;

  for (j = 0; j < n; j++) {
    struct bpf_map* m = bpf_object__find_map_by_name(obj, refs[j].name);
    *refs[j].fd = m ? dup(bpf_map__fd(m)) : -1;
    if (*refs[j].fd < 0) {
      rc = -ENOENT;
      continue;
    }
    /* Maps the program never reads (al_owners) are not in its map list
     * unless bound. */
    if (bind_prog_fd >= 0)
      bpf_prog_bind_map(bind_prog_fd, *refs[j].fd, NULL);
  }
  return rc;
}

int vi_fmaps_layout_ok(const struct vi_fmaps* fm)
{
  struct al_config cfg;
  uint32_t zero = 0;
  return fm->config >= 0 &&
         bpf_map_lookup_elem(fm->config, &zero, &cfg) == 0 &&
         cfg.layout_version == AL_LAYOUT_VERSION;
}

static int if_mac(int ifindex, uint8_t mac[6])
{
  struct ifreq ifr;
  int fd, rc = 0;

  memset(&ifr, 0, sizeof(ifr));
  if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
    return -ENODEV;
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
    rc = -errno;
  else
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  close(fd);
  return rc;
}

int vi_fmaps_set_config(const struct vi_fmaps* fm, int ifindex)
{
  struct al_config cfg;
  uint32_t zero = 0;

  memset(&cfg, 0, sizeof(cfg));
  cfg.layout_version = AL_LAYOUT_VERSION;
  if_mac(ifindex, cfg.mac);
  if (bpf_map_update_elem(fm->config, &zero, &cfg, 0) < 0)
    return -errno;
  return 0;
}

/* ---- slots ------------------------------------------------------------ */

int vi_fmaps_take_slot(const struct vi_fmaps* fm, int queue, int* slot_out)
{
  struct al_owner o;
  uint32_t s;

  for (s = 0; s < AL_MAX_SLOTS; s++)
    if (bpf_map_lookup_elem(fm->owners, &s, &o) == 0 && !o.start_time)
      break;
  if (s == AL_MAX_SLOTS)
    return -ENOSPC;
  o.pid = (uint32_t)getpid();
  o.queue = (uint32_t)queue;
  o.start_time = proc_start_time((int)getpid());
  if (!o.start_time)
    o.start_time = 1;   /* no /proc: never reclaimed as dead */
  if (bpf_map_update_elem(fm->owners, &s, &o, 0) < 0)
    return -errno;
  *slot_out = (int)s;
  return 0;
}

/* CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns (parked filters). */
static uint64_t mono_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int val_has_owner(const struct al_filter_val* v)
{
  unsigned q;

  for (q = 0; q < AL_MAX_QUEUES; q++)
    if (v->owner[q] & AL_OWNER_SLOT_MASK)
      return 1;
  return 0;
}

/* Recompute an entry's summary fields from its owners and its parking
 * (which ends here once its time has passed). */
static void val_sum_up(struct al_filter_val* v)
{
  unsigned q;
  int owned = 0;

  v->whole_flow = 0;
  for (q = 0; q < AL_MAX_QUEUES; q++) {
    if (!(v->owner[q] & AL_OWNER_SLOT_MASK))
      continue;
    owned = 1;
    if (v->owner[q] & AL_OWNER_WHOLE_FLOW)
      v->whole_flow = 1;
  }
  if (v->park_until_ns && v->park_until_ns <= mono_ns())
    v->park_until_ns = 0;
  if (!owned)
    v->shared = 0;
  v->valid = owned || v->park_until_ns;
}

/* Take slot's ownership out of v, on every queue; 1 if it had any. */
static int val_drop_slot(struct al_filter_val* v, int slot)
{
  unsigned q;
  int had = 0;

  for (q = 0; q < AL_MAX_QUEUES; q++)
    if (al_owner_slot(v, q) == slot) {
      v->owner[q] = 0;
      had = 1;
    }
  if (had)
    val_sum_up(v);
  return had;
}

static void drop_hash_entries_of(int map_fd, uint32_t key_size, int slot)
{
  uint8_t key[64], next[64];
  uint8_t* prev = NULL;
  struct al_filter_val v;
  int guard = AL_MAX_FILTERS * 2;

  /* Deleting the current key restarts the walk from the start, which is
   * bounded because every pass deletes or skips a distinct key. */
  while (guard-- > 0 && bpf_map_get_next_key(map_fd, prev, next) == 0) {
    int had = 0;
    /* An entry of slot's, or one left parked past its time: */
    if (bpf_map_lookup_elem(map_fd, next, &v) == 0 &&
        ((had = val_drop_slot(&v, slot)) ||
         (v.park_until_ns && !val_has_owner(&v)))) {
      val_sum_up(&v);
      if (!v.valid) {
        bpf_map_delete_elem(map_fd, next);
        prev = NULL;
        continue;
      }
      if (had)
        bpf_map_update_elem(map_fd, next, &v, BPF_EXIST);
    }
    memcpy(key, next, key_size);
    prev = key;
  }
}

static void drop_array_entries_of(int map_fd, uint32_t n, int slot)
{
  struct al_filter_val v;
  uint32_t i;
  for (i = 0; i < n; i++)
    if (bpf_map_lookup_elem(map_fd, &i, &v) == 0 && v.valid &&
        val_drop_slot(&v, slot))
      bpf_map_update_elem(map_fd, &i, &v, 0);
}

void vi_fmaps_drop_slot(const struct vi_fmaps* fm, int slot)
{
  struct al_owner none = { 0 };
  uint32_t s = (uint32_t)slot;

  drop_hash_entries_of(fm->ip4_full, sizeof(struct al_ip4_full_key), slot);
  drop_hash_entries_of(fm->ip4_local, sizeof(struct al_ip4_local_key), slot);
  drop_hash_entries_of(fm->ip6_full, sizeof(struct al_ip6_full_key), slot);
  drop_hash_entries_of(fm->ip6_local, sizeof(struct al_ip6_local_key), slot);
  drop_hash_entries_of(fm->eth, sizeof(struct al_eth_key), slot);
  drop_hash_entries_of(fm->ethertype, sizeof(struct al_ethertype_key), slot);
  drop_array_entries_of(fm->ipproto, 256, slot);
  drop_array_entries_of(fm->special, AL_SPECIAL_MAX, slot);
  bpf_map_update_elem(fm->owners, &s, &none, 0);
}

int vi_fmaps_reclaim_dead(const struct vi_fmaps* fm,
                          void (*drop_extra)(void* arg, int slot), void* arg)
{
  struct al_owner o;
  uint32_t s;
  int live = 0;

  for (s = 0; s < AL_MAX_SLOTS; s++) {
    if (bpf_map_lookup_elem(fm->owners, &s, &o) < 0 || !o.start_time)
      continue;
    if (vi_owner_alive(&o)) {
      live++;
      continue;
    }
    al_info("reclaiming filter slot %u of dead process %u", s, o.pid);
    if (drop_extra)
      drop_extra(arg, (int)s);
    vi_fmaps_drop_slot(fm, (int)s);
  }
  return live;
}

int vi_fmaps_live_slots(const struct vi_fmaps* fm)
{
  struct al_owner o;
  uint32_t s;
  int live = 0;

  for (s = 0; s < AL_MAX_SLOTS; s++)
    if (bpf_map_lookup_elem(fm->owners, &s, &o) == 0 && vi_owner_alive(&o))
      live++;
  return live;
}

/* parked_in: 1 if a hash map holds an entry parked beyond now. */
static int parked_in(int map_fd, uint64_t now)
{
  uint8_t key[64], next[64];
  uint8_t* prev = NULL;
  struct al_filter_val v;
  int guard = AL_MAX_FILTERS;

  while (guard-- > 0 && bpf_map_get_next_key(map_fd, prev, next) == 0) {
    if (bpf_map_lookup_elem(map_fd, next, &v) == 0 && v.park_until_ns > now)
      return 1;
    memcpy(key, next, sizeof(key));
    prev = key;
  }
  return 0;
}

int vi_fmaps_parked(const struct vi_fmaps* fm)
{
  uint64_t now = mono_ns();

  return parked_in(fm->ip4_local, now) || parked_in(fm->ip4_full, now) ||
         parked_in(fm->ip6_local, now) || parked_in(fm->ip6_full, now) ||
         parked_in(fm->eth, now) || parked_in(fm->ethertype, now);
}

pid_t vi_fmaps_queue_user(const struct vi_fmaps* fm, int queue)
{
  struct al_owner o;
  uint32_t s;

  for (s = 0; s < AL_MAX_SLOTS; s++)
    if (bpf_map_lookup_elem(fm->owners, &s, &o) == 0 && o.start_time &&
        o.queue == (uint32_t)queue && o.pid != (uint32_t)getpid() &&
        vi_owner_alive(&o))
      return (pid_t)o.pid;
  return 0;
}

static int slot_is_live(const struct vi_fmaps* fm, uint32_t slot)
{
  struct al_owner o;
  return bpf_map_lookup_elem(fm->owners, &slot, &o) == 0 &&
         vi_owner_alive(&o);
}

/* ---- filters ---------------------------------------------------------- */

/* Build the key of fs into f (map and bytes). */
static int filter_key(const struct vi_fmaps* fm, const ef_filter_spec* fs,
                      struct vi_fmaps_filter* f)
{
  const unsigned* d = fs->data;
  uint16_t vlan = (fs->flags & VI_FLT_F_VLAN) ? (uint16_t)d[VI_FD_VLAN]
                                              : AL_VLAN_ANY;
  uint32_t array_idx;

  memset(f->key, 0, sizeof(f->key));
  f->type = fs->type;
  switch (fs->type) {
  case VI_FLT_IP4_FULL: {
    struct al_ip4_full_key* k = (void*)f->key;
    k->laddr_be32 = d[VI_FD_LHOST];
    k->raddr_be32 = d[VI_FD_RHOST];
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->rport_be16 = (uint16_t)d[VI_FD_RPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    f->map_fd = fm->ip4_full;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_IP4_LOCAL: {
    struct al_ip4_local_key* k = (void*)f->key;
    k->laddr_be32 = d[VI_FD_LHOST];
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    f->map_fd = fm->ip4_local;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_IP6_FULL: {
    struct al_ip6_full_key* k = (void*)f->key;
    memcpy(k->laddr, &d[VI_FD_LHOST], 16);
    memcpy(k->raddr, &d[VI_FD_RHOST], 16);
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->rport_be16 = (uint16_t)d[VI_FD_RPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    f->map_fd = fm->ip6_full;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_IP6_LOCAL: {
    struct al_ip6_local_key* k = (void*)f->key;
    memcpy(k->laddr, &d[VI_FD_LHOST], 16);
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    f->map_fd = fm->ip6_local;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_ETH: {
    struct al_eth_key* k = (void*)f->key;
    k->mac[0] = (uint8_t)(d[VI_FD_MAC_HI] >> 24);
    k->mac[1] = (uint8_t)(d[VI_FD_MAC_HI] >> 16);
    k->mac[2] = (uint8_t)(d[VI_FD_MAC_HI] >> 8);
    k->mac[3] = (uint8_t)d[VI_FD_MAC_HI];
    k->mac[4] = (uint8_t)(d[VI_FD_MAC_LO] >> 8);
    k->mac[5] = (uint8_t)d[VI_FD_MAC_LO];
    k->vlan = vlan;
    f->map_fd = fm->eth;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_ETHERTYPE: {
    struct al_ethertype_key* k = (void*)f->key;
    k->ethertype_be16 = (uint16_t)d[VI_FD_ETHERTYPE];
    k->vlan = vlan;
    f->map_fd = fm->ethertype;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_IPPROTO:
    array_idx = d[VI_FD_PROTO] & 0xff;
    f->map_fd = fm->ipproto;
    break;
  case VI_FLT_UCAST_ALL:
    array_idx = AL_SPECIAL_UCAST_ALL;
    f->map_fd = fm->special;
    break;
  case VI_FLT_MCAST_ALL:
    array_idx = AL_SPECIAL_MCAST_ALL;
    f->map_fd = fm->special;
    break;
  case VI_FLT_UCAST_MISMATCH:
    array_idx = AL_SPECIAL_UCAST_MISMATCH;
    f->map_fd = fm->special;
    break;
  case VI_FLT_BLOCK_KERNEL:
    array_idx = AL_SPECIAL_BLOCK_KERNEL;
    f->map_fd = fm->special;
    break;
  case VI_FLT_BLOCK_KERNEL_UCAST:
    array_idx = AL_SPECIAL_BLOCK_KERNEL_UCAST;
    f->map_fd = fm->special;
    break;
  case VI_FLT_BLOCK_KERNEL_MCAST:
    array_idx = AL_SPECIAL_BLOCK_KERNEL_MCAST;
    f->map_fd = fm->special;
    break;
  case VI_FLT_MCAST_MISMATCH:
  case VI_FLT_SNIFF:
  case VI_FLT_TX_SNIFF:
    /* Multicast mismatch needs the kernel's multicast subscriptions, and
     * sniffing needs a copy to both the VI and the kernel: the programs
     * can do neither. */
    return -EOPNOTSUPP;
  default:
    return -EINVAL;
  }
  memcpy(f->key, &array_idx, sizeof(array_idx));
  f->key_len = sizeof(array_idx);
  return 0;
}

static int is_array_filter(const struct vi_fmaps* fm,
                           const struct vi_fmaps_filter* f)
{
  return f->map_fd == fm->special || f->map_fd == fm->ipproto;
}

static pid_t slot_pid(const struct vi_fmaps* fm, uint32_t slot)
{
  struct al_owner o;
  return bpf_map_lookup_elem(fm->owners, &slot, &o) == 0 ? (pid_t)o.pid : 0;
}

/* May slot (of this process) join v on `queue`? Owners on other queues
 * that are dead are dropped from v; live ones must be this process's, or
 * have shared the entry as the caller asks to. 0, -EEXIST or -EBUSY. */
static int may_join(const struct vi_fmaps* fm, struct al_filter_val* v,
                    int slot, int queue, int share)
{
  unsigned q;
  int s;

  s = al_owner_slot(v, (uint32_t)queue);
  if (s == slot)
    return -EEXIST;
  if (s >= 0 && slot_is_live(fm, (uint32_t)s))
    return -EBUSY;
  for (q = 0; q < AL_MAX_QUEUES; q++) {
    s = al_owner_slot(v, q);
    if (s < 0)
      continue;
    if (!slot_is_live(fm, (uint32_t)s)) {
      /* The holder died: its part is ours to take. */
      v->owner[q] = 0;
      continue;
    }
    if (slot_pid(fm, (uint32_t)s) == getpid())
      continue;
    if (!share || !v->shared)
      return -EBUSY;
  }
  return 0;
}

int vi_fmaps_filter_add(const struct vi_fmaps* fm, struct vi_fmaps_lock* l,
                        int slot, int queue, const ef_filter_spec* fs,
                        struct vi_fmaps_filter* f)
{
  int share = (fs->flags & EF_FILTER_FLAG_SHARE_QUEUES) != 0;
  struct al_filter_val val;
  int rc;

  if (queue < 0 || queue >= AL_MAX_QUEUES || slot < 0 ||
      slot >= AL_MAX_SLOTS)
    return -EINVAL;
  rc = filter_key(fm, fs, f);
  if (rc < 0)
    return rc;
  vi_fmaps_lock_take(l);
  if (bpf_map_lookup_elem(f->map_fd, f->key, &val) == 0 && val.valid) {
    if ((rc = may_join(fm, &val, slot, queue, share)) < 0)
      goto out;
    /* Every owner must have asked to share (a same-process holder that
     * did not keeps other processes out); a parked entry without owners
     * is the caller's to take, its parking kept for the other queues. */
    val.shared = val_has_owner(&val) ? val.shared && share : share;
  } else {
    memset(&val, 0, sizeof(val));
    val.shared = share;
  }
  val.owner[queue] = (uint8_t)((slot + 1) |
                               ((fs->flags & EF_FILTER_FLAG_WHOLE_FLOW)
                                  ? AL_OWNER_WHOLE_FLOW : 0));
  val_sum_up(&val);
  if (bpf_map_update_elem(f->map_fd, f->key, &val, 0) < 0) {
    rc = errno == E2BIG ? -ENOSPC : -errno;
  } else {
    f->used = 1;
    f->queue = queue;
  }
out:
  vi_fmaps_lock_drop(l);
  return rc;
}

/* filter_del: take slot's part out of f's entry; with park_until_ns, leave
 * the entry parked until then (at least). */
static int filter_del(const struct vi_fmaps* fm, struct vi_fmaps_lock* l,
                      int slot, struct vi_fmaps_filter* f,
                      uint64_t park_until_ns)
{
  struct al_filter_val val;
  int rc = 0;

  if (!f->used)
    return -EINVAL;
  vi_fmaps_lock_take(l);
  if (bpf_map_lookup_elem(f->map_fd, f->key, &val) < 0 || !val.valid ||
      al_owner_slot(&val, (uint32_t)f->queue) != slot) {
    rc = -ENOENT;
  } else {
    val.owner[f->queue] = 0;
    /* The last owner sets the parking; with owners left (on other
     * queues) it can only grow. */
    if (park_until_ns &&
        (!val_has_owner(&val) || park_until_ns > val.park_until_ns))
      val.park_until_ns = park_until_ns;
    val_sum_up(&val);
    if (val.valid || is_array_filter(fm, f)) {
      if (bpf_map_update_elem(f->map_fd, f->key, &val, 0) < 0)
        rc = -errno;
    } else if (bpf_map_delete_elem(f->map_fd, f->key) < 0) {
      rc = -errno;
    }
  }
  vi_fmaps_lock_drop(l);
  f->used = 0;
  return rc;
}

int vi_fmaps_filter_del(const struct vi_fmaps* fm, struct vi_fmaps_lock* l,
                        int slot, struct vi_fmaps_filter* f)
{
  return filter_del(fm, l, slot, f, 0);
}

int vi_fmaps_filter_park(const struct vi_fmaps* fm, struct vi_fmaps_lock* l,
                         int slot, struct vi_fmaps_filter* f,
                         unsigned park_ms)
{
  if (is_array_filter(fm, f))
    return filter_del(fm, l, slot, f, 0);   /* no parking there */
  return filter_del(fm, l, slot, f, mono_ns() + park_ms * 1000000ull);
}

int vi_fmaps_stats(const struct vi_fmaps* fm, uint64_t out[AL_STAT_MAX])
{
  int ncpu = libbpf_num_possible_cpus();
  uint64_t* per;
  uint32_t i;
  int c;

  if (ncpu <= 0)
    return -EINVAL;
  per = calloc((size_t)ncpu, sizeof(uint64_t));
  if (!per)
    return -ENOMEM;
  for (i = 0; i < AL_STAT_MAX; i++) {
    out[i] = 0;
    if (bpf_map_lookup_elem(fm->stats, &i, per) < 0)
      continue;
    for (c = 0; c < ncpu; c++)
      out[i] += per[c];
  }
  free(per);
  return 0;
}
