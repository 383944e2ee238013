/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afxdp_bpf.c: the XDP filter program of an interface (bpf/), shared by
 * every VI of every process on that interface.
 *
 * Finding it: the kernel tells which program is attached to an interface
 * (netlink); if its name is ours we open its maps by id from the program's
 * info. Nothing is pinned in bpffs, on purpose: `ip netns exec` gives each
 * process its own mount namespace and so its own bpffs instance, and pins
 * made by one process would be invisible (or torn down) for the others.
 *
 * Changes (attach, slot allocation, filters of dead owners, detach) are
 * made under an flock() on /run/anyload/xdp-<netns inode>-<ifindex>.lock,
 * so two processes never attach twice or detach under each other.
 *
 * Life cycle: the first VI attaches the program (native mode where the
 * driver has it, generic otherwise); the last VI to go detaches it. A
 * process killed with SIGKILL leaves its slot and filters behind, but the
 * kernel removes its socket from the XSKMAP, so its filters fall back to
 * XDP_PASS and the kernel sees the traffic again. The next VI to open the
 * interface reclaims the dead slot and its filters.
 */
#include "vi/afxdp_int.h"
#include "common/log.h"
#include "anyload_xdp.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_DIR "/run/anyload"

/* ---- locking ---------------------------------------------------------- */

static void lock_path(int ifindex, char path[128])
{
  struct stat st;

  if (stat("/proc/thread-self/ns/net", &st) < 0)
    st.st_ino = 0;
  snprintf(path, 128, LOCK_DIR "/xdp-%lu-%d.lock", (unsigned long)st.st_ino,
           ifindex);
}

static int lock_open(int ifindex)
{
  char path[128];
  int fd;

  if (mkdir(LOCK_DIR, 0755) < 0 && errno != EEXIST)
    return -errno;
  lock_path(ifindex, path);
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  return fd;
}

/* lock_take: flock the interface's lock file. The last VI of an interface
 * unlinks the file (so that dead namespaces leave nothing in /run); a
 * process that opened the old file before that must not hold a lock that
 * newcomers cannot see, so it reopens until its file is the one on disk. */
static void lock_take_fd(int* fdp, int ifindex)
{
  for (;;) {
    struct stat a, b;
    char path[128];
    int fd;

    while (flock(*fdp, LOCK_EX) < 0 && errno == EINTR)
      ;
    lock_path(ifindex, path);
    if (fstat(*fdp, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
      return;
    fd = lock_open(ifindex);
    if (fd < 0)
      return;   /* cannot do better: keep the lock we have */
    close(*fdp);
    *fdp = fd;
  }
}

#define lock_take(x) lock_take_fd(&(x)->lock_fd, (x)->ifindex)

static void lock_drop(int fd)
{
  flock(fd, LOCK_UN);
}

/* ---- owners ----------------------------------------------------------- */

/* Field 22 of /proc/<pid>/stat: start time, to tell a reused pid apart. */
static uint64_t proc_start_time(pid_t pid)
{
  char path[64], buf[1024];
  unsigned long long start = 0;
  char* p;
  ssize_t n;
  int fd, field;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* The command name (field 2) may hold spaces: skip past its ')'. */
  p = strrchr(buf, ')');
  if (!p)
    return 0;
  for (field = 2; field < 22 && p; field++)
    p = strchr(p + 1, ' ');
  if (!p || sscanf(p + 1, "%llu", &start) != 1)
    return 0;
  return start;
}

static int owner_alive(const struct al_owner* o)
{
  return o->start_time && proc_start_time((pid_t)o->pid) == o->start_time;
}

/* ---- maps ------------------------------------------------------------- */

struct map_slot {
  const char* name;
  size_t      offset;
};

static const struct map_slot map_slots[] = {
  { "al_xsks", offsetof(struct afxdp_xdp, map_xsks) },
  { "al_ip4_full", offsetof(struct afxdp_xdp, map_ip4_full) },
  { "al_ip4_local", offsetof(struct afxdp_xdp, map_ip4_local) },
  { "al_ip6_full", offsetof(struct afxdp_xdp, map_ip6_full) },
  { "al_ip6_local", offsetof(struct afxdp_xdp, map_ip6_local) },
  { "al_eth", offsetof(struct afxdp_xdp, map_eth) },
  { "al_ethertype", offsetof(struct afxdp_xdp, map_ethertype) },
  { "al_ipproto", offsetof(struct afxdp_xdp, map_ipproto) },
  { "al_special", offsetof(struct afxdp_xdp, map_special) },
  { "al_config", offsetof(struct afxdp_xdp, map_config) },
  { "al_owners", offsetof(struct afxdp_xdp, map_owners) },
  { "al_stats", offsetof(struct afxdp_xdp, map_stats) },
};
#define N_MAPS (sizeof(map_slots) / sizeof(map_slots[0]))

static int* map_fd_ref(struct afxdp_xdp* x, size_t i)
{
  return (int*)((char*)x + map_slots[i].offset);
}

static void xdp_close_fds(struct afxdp_xdp* x)
{
  size_t i;
  for (i = 0; i < N_MAPS; i++)
    if (*map_fd_ref(x, i) >= 0) {
      close(*map_fd_ref(x, i));
      *map_fd_ref(x, i) = -1;
    }
  if (x->prog_fd >= 0) {
    close(x->prog_fd);
    x->prog_fd = -1;
  }
}

/* Open the maps of program prog_fd by id. Returns 0, or -ENOENT if one of
 * ours is missing (a program of another layout). */
static int maps_from_prog(struct afxdp_xdp* x, int prog_fd)
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
    for (j = 0; j < N_MAPS; j++)
      if (!strcmp(mi.name, map_slots[j].name) && *map_fd_ref(x, j) < 0) {
        *map_fd_ref(x, j) = fd;
        fd = -1;
        break;
      }
    if (fd >= 0)
      close(fd);
  }
  for (j = 0; j < N_MAPS; j++)
    if (*map_fd_ref(x, j) < 0)
      return -ENOENT;
  return 0;
}

static int layout_ok(struct afxdp_xdp* x)
{
  struct al_config cfg;
  uint32_t zero = 0;
  return bpf_map_lookup_elem(x->map_config, &zero, &cfg) == 0 &&
         cfg.layout_version == AL_LAYOUT_VERSION;
}

static int if_mac(int ifindex, uint8_t mac[6])
{
  struct ifreq ifr;
  int fd, rc = 0;

  memset(&ifr, 0, sizeof(ifr));
  if (!if_indextoname(ifindex, ifr.ifr_name))
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

/* Drivers whose native XDP is slower than generic XDP for AF_XDP. veth:
 * native mode turns every skb from the peer into an xdp_buff (a page copy)
 * and defers it to NAPI; generic mode runs the program on the skb straight
 * away. Measured on veth, 28-byte UDP ping-pong (eflatency), RTT p50:
 * native 3.4 us, generic 2.5 us. */
static int prefers_generic(int ifindex)
{
  struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
  struct ifreq ifr;
  int fd, veth = 0;

  memset(&ifr, 0, sizeof(ifr));
  if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
    return 0;
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  ifr.ifr_data = (void*)&info;
  if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && !strcmp(info.driver, "veth"))
    veth = 1;
  close(fd);
  /* Generic XDP on veth reports every frame as arriving on queue 0, so a
   * multi-queue veth (VI sets) needs native mode to deliver by queue. */
  return veth && vi_if_queue_count(ifindex) == 1;
}

/* Load the program and attach it: native first, generic if the driver
 * has no XDP (or is known to be faster in generic mode, see
 * prefers_generic); ANYLOAD_XDP_MODE=native|generic|auto overrides.
 * UPDATE_IF_NOEXIST: never replace someone's program. */
static int attach_new(struct afxdp_xdp* x)
{
  struct anyload_xdp* skel;
  struct al_config cfg;
  const char* mode_env;
  uint32_t zero = 0;
  size_t j;
  int rc;

  skel = anyload_xdp__open_and_load();
  if (!skel) {
    rc = -errno;
    al_err("cannot load the XDP filter program: %s", strerror(-rc));
    return rc ? rc : -EINVAL;
  }
  memset(&cfg, 0, sizeof(cfg));
  cfg.layout_version = AL_LAYOUT_VERSION;
  if_mac(x->ifindex, cfg.mac);
  bpf_map_update_elem(bpf_map__fd(skel->maps.al_config), &zero, &cfg, 0);

  mode_env = getenv("ANYLOAD_XDP_MODE");
  if (!mode_env || !*mode_env || !strcmp(mode_env, "auto"))
    mode_env = prefers_generic(x->ifindex) ? "generic" : NULL;
  rc = -EOPNOTSUPP;
  if (!mode_env || strcmp(mode_env, "generic")) {
    x->mode = XDP_FLAGS_DRV_MODE;
    rc = bpf_xdp_attach(x->ifindex, bpf_program__fd(skel->progs.anyload_xdp),
                        XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
                        NULL);
  }
  if ((rc == -EOPNOTSUPP || rc == -EINVAL) &&
      !(mode_env && !strcmp(mode_env, "native"))) {
    x->mode = XDP_FLAGS_SKB_MODE;
    rc = bpf_xdp_attach(x->ifindex,
                        bpf_program__fd(skel->progs.anyload_xdp),
                        XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
                        NULL);
  }
  if (rc < 0) {
    al_err("cannot attach the XDP program to ifindex %d: %s", x->ifindex,
           strerror(-rc));
    anyload_xdp__destroy(skel);
    return rc;
  }
  x->prog_fd = dup(bpf_program__fd(skel->progs.anyload_xdp));
  for (j = 0; j < N_MAPS; j++) {
    struct bpf_map* m = bpf_object__find_map_by_name(skel->obj,
                                                     map_slots[j].name);
    *map_fd_ref(x, j) = m ? dup(bpf_map__fd(m)) : -1;
    /* Maps the program never reads (al_owners) are not in its map list:
     * bind them, so that other processes find every map from the
     * program, and the maps live exactly as long as it does. */
    if (m)
      bpf_prog_bind_map(x->prog_fd, bpf_map__fd(m), NULL);
  }
  anyload_xdp__destroy(skel);
  al_info("attached XDP filter program to ifindex %d (%s mode)",
          x->ifindex, x->mode == XDP_FLAGS_DRV_MODE ? "native" : "generic");
  return 0;
}

static int detach(struct afxdp_xdp* x)
{
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = x->prog_fd);
  /* REPLACE with old_prog_fd: only detach if it is still our program. */
  int rc = bpf_xdp_attach(x->ifindex, -1, x->mode | XDP_FLAGS_REPLACE,
                          &opts);
  if (rc < 0)
    al_info("detach XDP from ifindex %d: %s", x->ifindex, strerror(-rc));
  return rc;
}

/* Find what is attached now. Returns 1 (ours, maps opened), 0 (nothing),
 * or -EBUSY (a foreign program). */
static int find_attached(struct afxdp_xdp* x)
{
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  struct bpf_prog_info info;
  uint32_t len = sizeof(info);
  int fd, rc;

  rc = bpf_xdp_query(x->ifindex, 0, &q);
  if (rc < 0)
    return rc;
  if (q.attach_mode == XDP_ATTACHED_NONE || !q.prog_id)
    return 0;
  if (q.attach_mode == XDP_ATTACHED_MULTI) {
    al_err("ifindex %d has several XDP programs attached", x->ifindex);
    return -EBUSY;
  }
  fd = bpf_prog_get_fd_by_id(q.prog_id);
  if (fd < 0)
    return -errno;
  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
      strcmp(info.name, AL_XDP_PROG_NAME)) {
    al_err("ifindex %d already has a foreign XDP program (\"%s\", id %u)",
           x->ifindex, info.name, q.prog_id);
    close(fd);
    return -EBUSY;
  }
  x->prog_fd = fd;
  x->prog_id = q.prog_id;
  x->mode = q.attach_mode == XDP_ATTACHED_DRV ? XDP_FLAGS_DRV_MODE
          : q.attach_mode == XDP_ATTACHED_HW ? XDP_FLAGS_HW_MODE
          : XDP_FLAGS_SKB_MODE;
  rc = maps_from_prog(x, fd);
  if (rc < 0 || !layout_ok(x)) {
    al_debug("ifindex %d: XDP program %u is ours but of another layout",
             x->ifindex, q.prog_id);
    return -ESTALE;
  }
  return 1;
}

/* ---- filters of a slot ------------------------------------------------ */

static void drop_hash_entries_of(int map_fd, uint32_t key_size, int slot)
{
  uint8_t key[64], next[64];
  uint8_t* prev = NULL;
  struct al_filter_val v;
  int guard = AL_MAX_FILTERS * 2;

  /* Deleting the current key restarts the walk from the start, which is
   * bounded because every pass deletes or skips a distinct key. */
  while (guard-- > 0 && bpf_map_get_next_key(map_fd, prev, next) == 0) {
    if (bpf_map_lookup_elem(map_fd, next, &v) == 0 && v.slot == (uint32_t)slot) {
      bpf_map_delete_elem(map_fd, next);
      prev = NULL;
      continue;
    }
    memcpy(key, next, key_size);
    prev = key;
  }
}

static void drop_array_entries_of(int map_fd, uint32_t n, int slot)
{
  struct al_filter_val v, empty = { 0 };
  uint32_t i;
  for (i = 0; i < n; i++)
    if (bpf_map_lookup_elem(map_fd, &i, &v) == 0 && v.valid &&
        v.slot == (uint32_t)slot)
      bpf_map_update_elem(map_fd, &i, &empty, 0);
}

static void drop_slot(struct afxdp_xdp* x, int slot)
{
  struct al_owner none = { 0 };
  uint32_t s = (uint32_t)slot;

  drop_hash_entries_of(x->map_ip4_full, sizeof(struct al_ip4_full_key), slot);
  drop_hash_entries_of(x->map_ip4_local, sizeof(struct al_ip4_local_key),
                       slot);
  drop_hash_entries_of(x->map_ip6_full, sizeof(struct al_ip6_full_key), slot);
  drop_hash_entries_of(x->map_ip6_local, sizeof(struct al_ip6_local_key),
                       slot);
  drop_hash_entries_of(x->map_eth, sizeof(struct al_eth_key), slot);
  drop_hash_entries_of(x->map_ethertype, sizeof(struct al_ethertype_key),
                       slot);
  drop_array_entries_of(x->map_ipproto, 256, slot);
  drop_array_entries_of(x->map_special, AL_SPECIAL_MAX, slot);
  bpf_map_delete_elem(x->map_xsks, &s);
  bpf_map_update_elem(x->map_owners, &s, &none, 0);
}

/* Reclaim dead owners' slots; returns the number of live ones. */
static int reclaim_dead(struct afxdp_xdp* x)
{
  struct al_owner o;
  uint32_t s;
  int live = 0;

  for (s = 0; s < AL_MAX_SLOTS; s++) {
    if (bpf_map_lookup_elem(x->map_owners, &s, &o) < 0 || !o.start_time)
      continue;
    if (owner_alive(&o)) {
      live++;
      continue;
    }
    al_info("reclaiming slot %u of dead process %u on ifindex %d", s, o.pid,
            x->ifindex);
    drop_slot(x, (int)s);
  }
  return live;
}

/* ---- public ----------------------------------------------------------- */

int afxdp_xdp_open(int ifindex, int queue, struct afxdp_xdp** out,
                   int* slot_out)
{
  struct afxdp_xdp* x;
  struct al_owner o;
  uint32_t s;
  size_t j;
  int rc, live;

  x = calloc(1, sizeof(*x));
  if (!x)
    return -ENOMEM;
  x->ifindex = ifindex;
  x->prog_fd = -1;
  for (j = 0; j < N_MAPS; j++)
    *map_fd_ref(x, j) = -1;
  x->lock_fd = lock_open(ifindex);
  if (x->lock_fd < 0) {
    rc = x->lock_fd;
    free(x);
    return rc;
  }
  lock_take(x);

  rc = find_attached(x);
  al_debug("ifindex %d: attached program check: %d", ifindex, rc);
  if (rc == -ESTALE) {
    /* Ours, but of another layout or missing maps: replace it if nobody
     * can be using it (every owner dead), else refuse. */
    live = 0;
    if (x->map_owners >= 0)
      for (s = 0; s < AL_MAX_SLOTS; s++)
        if (bpf_map_lookup_elem(x->map_owners, &s, &o) == 0 &&
            owner_alive(&o))
          live++;
    if (live) {
      rc = -EBUSY;
      goto fail;
    }
    detach(x);
    xdp_close_fds(x);
    rc = 0;
  }
  if (rc < 0)
    goto fail;
  if (rc == 0) {
    rc = attach_new(x);
    if (rc < 0)
      goto fail;
  } else {
    reclaim_dead(x);
  }

  for (s = 0; s < AL_MAX_SLOTS; s++)
    if (bpf_map_lookup_elem(x->map_owners, &s, &o) == 0 && !o.start_time)
      break;
  if (s == AL_MAX_SLOTS) {
    rc = -ENOSPC;
    goto fail;
  }
  o.pid = (uint32_t)getpid();
  o.queue = (uint32_t)queue;
  o.start_time = proc_start_time(getpid());
  if (!o.start_time)
    o.start_time = 1;   /* no /proc: never reclaimed as dead */
  if (bpf_map_update_elem(x->map_owners, &s, &o, 0) < 0) {
    rc = -errno;
    goto fail;
  }
  lock_drop(x->lock_fd);
  *out = x;
  *slot_out = (int)s;
  return 0;

fail:
  lock_drop(x->lock_fd);
  close(x->lock_fd);
  xdp_close_fds(x);
  free(x);
  return rc;
}

int afxdp_xdp_set_socket(struct afxdp_xdp* x, int slot, int xsk_fd)
{
  uint32_t s = (uint32_t)slot;
  uint32_t fd = (uint32_t)xsk_fd;
  if (bpf_map_update_elem(x->map_xsks, &s, &fd, 0) < 0)
    return -errno;
  return 0;
}

void afxdp_xdp_close(struct afxdp_xdp* x, int slot)
{
  int live;

  lock_take(x);
  drop_slot(x, slot);
  live = reclaim_dead(x);
  if (!live) {
    char path[128];
    detach(x);
    al_info("detached XDP filter program from ifindex %d", x->ifindex);
    lock_path(x->ifindex, path);
    unlink(path);
  }
  lock_drop(x->lock_fd);
  close(x->lock_fd);
  xdp_close_fds(x);
  free(x);
}

/* Build the key of fs into f (map and bytes). */
static int filter_key(struct afxdp_xdp* x, const ef_filter_spec* fs,
                      struct afxdp_filter* f, int* array_idx)
{
  const unsigned* d = fs->data;
  uint16_t vlan = (fs->flags & VI_FLT_F_VLAN) ? (uint16_t)d[VI_FD_VLAN]
                                              : AL_VLAN_ANY;
  *array_idx = -1;
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
    f->map_fd = x->map_ip4_full;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_IP4_LOCAL: {
    struct al_ip4_local_key* k = (void*)f->key;
    k->laddr_be32 = d[VI_FD_LHOST];
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    f->map_fd = x->map_ip4_local;
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
    f->map_fd = x->map_ip6_full;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_IP6_LOCAL: {
    struct al_ip6_local_key* k = (void*)f->key;
    memcpy(k->laddr, &d[VI_FD_LHOST], 16);
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    f->map_fd = x->map_ip6_local;
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
    f->map_fd = x->map_eth;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_ETHERTYPE: {
    struct al_ethertype_key* k = (void*)f->key;
    k->ethertype_be16 = (uint16_t)d[VI_FD_ETHERTYPE];
    k->vlan = vlan;
    f->map_fd = x->map_ethertype;
    f->key_len = sizeof(*k);
    return 0;
  }
  case VI_FLT_IPPROTO:
    *array_idx = (int)(d[VI_FD_PROTO] & 0xff);
    f->map_fd = x->map_ipproto;
    break;
  case VI_FLT_UCAST_ALL:
    *array_idx = AL_SPECIAL_UCAST_ALL;
    f->map_fd = x->map_special;
    break;
  case VI_FLT_MCAST_ALL:
    *array_idx = AL_SPECIAL_MCAST_ALL;
    f->map_fd = x->map_special;
    break;
  case VI_FLT_UCAST_MISMATCH:
    *array_idx = AL_SPECIAL_UCAST_MISMATCH;
    f->map_fd = x->map_special;
    break;
  case VI_FLT_BLOCK_KERNEL:
    *array_idx = AL_SPECIAL_BLOCK_KERNEL;
    f->map_fd = x->map_special;
    break;
  case VI_FLT_BLOCK_KERNEL_UCAST:
    *array_idx = AL_SPECIAL_BLOCK_KERNEL_UCAST;
    f->map_fd = x->map_special;
    break;
  case VI_FLT_BLOCK_KERNEL_MCAST:
    *array_idx = AL_SPECIAL_BLOCK_KERNEL_MCAST;
    f->map_fd = x->map_special;
    break;
  case VI_FLT_MCAST_MISMATCH:
  case VI_FLT_SNIFF:
  case VI_FLT_TX_SNIFF:
    /* Multicast mismatch needs the kernel's multicast subscriptions, and
     * sniffing needs a copy to both the VI and the kernel: XDP can do
     * neither. */
    return -EOPNOTSUPP;
  default:
    return -EINVAL;
  }
  memcpy(f->key, array_idx, sizeof(uint32_t));
  f->key_len = sizeof(uint32_t);
  return 0;
}

static int slot_is_live(struct afxdp_xdp* x, uint32_t slot)
{
  struct al_owner o;
  return bpf_map_lookup_elem(x->map_owners, &slot, &o) == 0 &&
         owner_alive(&o);
}

int afxdp_xdp_filter_add(struct afxdp_xdp* x, int slot, int queue,
                         const ef_filter_spec* fs, struct afxdp_filter* f)
{
  struct al_filter_val val = { .slot = (uint32_t)slot,
                               .queue = (uint16_t)queue, .valid = 1 };
  struct al_filter_val old;
  int array_idx, rc;

  rc = filter_key(x, fs, f, &array_idx);
  if (rc < 0)
    return rc;
  lock_take(x);
  if (bpf_map_lookup_elem(f->map_fd, f->key, &old) == 0 && old.valid) {
    if (old.slot == (uint32_t)slot) {
      rc = -EEXIST;
      goto out;
    }
    if (slot_is_live(x, old.slot)) {
      rc = -EBUSY;
      goto out;
    }
    /* The holder died: its filter is ours to take. */
  }
  if (bpf_map_update_elem(f->map_fd, f->key, &val, 0) < 0)
    rc = errno == E2BIG ? -ENOSPC : -errno;
  else
    f->used = 1;
out:
  lock_drop(x->lock_fd);
  return rc;
}

int afxdp_xdp_filter_del(struct afxdp_xdp* x, int slot,
                         struct afxdp_filter* f)
{
  struct al_filter_val old, empty = { 0 };
  int rc = 0;

  if (!f->used)
    return -EINVAL;
  lock_take(x);
  if (bpf_map_lookup_elem(f->map_fd, f->key, &old) < 0 || !old.valid ||
      old.slot != (uint32_t)slot) {
    rc = -ENOENT;
  } else if (f->key_len == sizeof(uint32_t) &&
             (f->map_fd == x->map_special || f->map_fd == x->map_ipproto)) {
    if (bpf_map_update_elem(f->map_fd, f->key, &empty, 0) < 0)
      rc = -errno;
  } else if (bpf_map_delete_elem(f->map_fd, f->key) < 0) {
    rc = -errno;
  }
  lock_drop(x->lock_fd);
  f->used = 0;
  return rc;
}

int afxdp_xdp_stats(struct afxdp_xdp* x, uint64_t out[AL_STAT_MAX])
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
    if (bpf_map_lookup_elem(x->map_stats, &i, per) < 0)
      continue;
    for (c = 0; c < ncpu; c++)
      out[i] += per[c];
  }
  free(per);
  return 0;
}
