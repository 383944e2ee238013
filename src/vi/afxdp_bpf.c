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
 * so two processes never attach twice or detach under each other. Slots,
 * filters and their keys are filter_maps.c's; this file adds the program
 * and the XSKMAP.
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
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- maps ------------------------------------------------------------- */

/* The program's maps by name: the filter maps and the XSKMAP. */
#define N_REFS (VI_FMAPS_N + 1)
static void map_refs(struct afxdp_xdp* x, struct vi_bpf_map_ref refs[N_REFS])
{
  vi_fmaps_refs(&x->fm, refs);
  refs[VI_FMAPS_N].name = "al_xsks";
  refs[VI_FMAPS_N].fd = &x->map_xsks;
}

static void xdp_close_fds(struct afxdp_xdp* x)
{
  vi_fmaps_close(&x->fm);
  if (x->map_xsks >= 0) {
    close(x->map_xsks);
    x->map_xsks = -1;
  }
  if (x->prog_fd >= 0) {
    close(x->prog_fd);
    x->prog_fd = -1;
  }
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
 * prefers_generic); ANYLOAD_XDP_MODE=native|generic|prefer-native
 * overrides (prefer-native: native first also where generic is preferred,
 * for throughput: iperf3 on veth 1.15 x the kernel native, 0.73 x generic,
 * on kernel 6.18.44-fc-v1300).
 * UPDATE_IF_NOEXIST: never replace someone's program. */
static int attach_new(struct afxdp_xdp* x)
{
  struct vi_bpf_map_ref refs[N_REFS];
  struct anyload_xdp* skel;
  const char* mode_env;
  int rc;

  skel = anyload_xdp__open_and_load();
  if (!skel) {
    rc = -errno;
    al_err("cannot load the XDP filter program: %s", strerror(-rc));
    return rc ? rc : -EINVAL;
  }

  mode_env = getenv("ANYLOAD_XDP_MODE");
  if (mode_env && !strcmp(mode_env, "prefer-native"))
    mode_env = NULL;   /* native first, generic without driver XDP */
  else if (!mode_env || !*mode_env || !strcmp(mode_env, "auto"))
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
  /* Bind every map to the program, so that other processes find them all
   * from it, and the maps live exactly as long as it does. */
  map_refs(x, refs);
  vi_bpf_obj_maps(skel->obj, refs, N_REFS, x->prog_fd);
  anyload_xdp__destroy(skel);
  vi_fmaps_set_config(&x->fm, x->ifindex);
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
  {
    struct vi_bpf_map_ref refs[N_REFS];
    map_refs(x, refs);
    rc = vi_bpf_prog_maps(fd, refs, N_REFS);
  }
  if (rc < 0 || !vi_fmaps_layout_ok(&x->fm)) {
    al_debug("ifindex %d: XDP program %u is ours but of another layout",
             x->ifindex, q.prog_id);
    return -ESTALE;
  }
  return 1;
}

/* ---- slots ------------------------------------------------------------ */

static void drop_xsk(void* arg, int slot)
{
  struct afxdp_xdp* x = arg;
  uint32_t s = (uint32_t)slot;
  bpf_map_delete_elem(x->map_xsks, &s);
}

static void drop_slot(struct afxdp_xdp* x, int slot)
{
  drop_xsk(x, slot);
  vi_fmaps_drop_slot(&x->fm, slot);
}

/* ---- public ----------------------------------------------------------- */

int afxdp_xdp_open(int ifindex, int queue, struct afxdp_xdp** out,
                   int* slot_out)
{
  struct afxdp_xdp* x;
  pid_t holder;
  int rc;

  x = calloc(1, sizeof(*x));
  if (!x)
    return -ENOMEM;
  x->ifindex = ifindex;
  x->prog_fd = -1;
  x->map_xsks = -1;
  vi_fmaps_init(&x->fm);
  rc = vi_fmaps_lock_open(&x->lock, "xdp", ifindex);
  if (rc < 0) {
    free(x);
    return rc;
  }
  vi_fmaps_lock_take(&x->lock);

  rc = find_attached(x);
  al_debug("ifindex %d: attached program check: %d", ifindex, rc);
  if (rc == -ESTALE) {
    /* Ours, but of another layout or missing maps: replace it if nobody
     * can be using it (every owner dead), else refuse. */
    if (x->fm.owners >= 0 && vi_fmaps_live_slots(&x->fm)) {
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
    vi_fmaps_reclaim_dead(&x->fm, drop_xsk, x);
  }
  /* The kernel gives a queue to one process's UMEM: another live process
   * there means -EBUSY, decided here under the lock together with taking
   * the slot (checked after it, two processes that came at once each saw
   * the other's slot and both gave up). bind would also retry EBUSY for a
   * second (meant for a socket that is going away) and fail anyway. */
  if ((holder = vi_fmaps_queue_user(&x->fm, queue))) {
    /* Info, not an error: the caller may go on to another queue. */
    al_info("queue %d of ifindex %d is in use by process %d", queue, ifindex,
            (int)holder);
    rc = -EBUSY;
    goto fail;
  }

  rc = vi_fmaps_take_slot(&x->fm, queue, slot_out);
  if (rc < 0)
    goto fail;
  vi_fmaps_lock_drop(&x->lock);
  *out = x;
  return 0;

fail:
  vi_fmaps_lock_drop(&x->lock);
  vi_fmaps_lock_close(&x->lock);
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

  vi_fmaps_lock_take(&x->lock);
  drop_slot(x, slot);
  live = vi_fmaps_reclaim_dead(&x->fm, drop_xsk, x);
  if (!live && vi_fmaps_parked(&x->fm)) {
    /* A filter handed over (parked) keeps dropping its frames until its
     * taker comes; the taker's VI, the next VI after it, or
     * anyload_vi_tidy removes the program. */
    al_info("the XDP filter program stays on ifindex %d while a filter is "
            "parked", x->ifindex);
  } else if (!live) {
    /* Without CAP_NET_ADMIN (a worker that dropped its privileges after
     * making its VI) the program stays, passing everything that no live
     * socket claims; the next VI on the interface reuses it. */
    if (detach(x) == 0)
      al_info("detached XDP filter program from ifindex %d", x->ifindex);
    else
      al_info("the XDP filter program stays on ifindex %d (it passes "
              "every frame to the kernel now)", x->ifindex);
    vi_fmaps_lock_unlink(&x->lock);
  }
  vi_fmaps_lock_drop(&x->lock);
  vi_fmaps_lock_close(&x->lock);
  xdp_close_fds(x);
  free(x);
}

int afxdp_xdp_tidy(int ifindex)
{
  struct afxdp_xdp x;
  int rc, live;

  memset(&x, 0, sizeof(x));
  x.ifindex = ifindex;
  x.prog_fd = -1;
  x.map_xsks = -1;
  vi_fmaps_init(&x.fm);
  rc = vi_fmaps_lock_open(&x.lock, "xdp", ifindex);
  if (rc < 0)
    return rc == -ENOENT ? 0 : rc;
  vi_fmaps_lock_take(&x.lock);
  rc = find_attached(&x);
  if (rc == 1) {
    live = vi_fmaps_reclaim_dead(&x.fm, drop_xsk, &x);
    rc = 0;
    /* A parked filter keeps the program until its time has passed. */
    if (!live && !vi_fmaps_parked(&x.fm) && (rc = detach(&x)) == 0) {
      al_info("detached the XDP filter program left on ifindex %d",
              ifindex);
      vi_fmaps_lock_unlink(&x.lock);
    }
  } else if (rc == 0) {
    /* Nothing attached: the lock file, which opening it may have made,
     * goes as the last VI's does (a process waiting on it reopens). */
    vi_fmaps_lock_unlink(&x.lock);
  } else if (rc == -ESTALE || rc == -EBUSY) {
    rc = 0;   /* not ours to touch (another layout, or foreign) */
  }
  vi_fmaps_lock_drop(&x.lock);
  vi_fmaps_lock_close(&x.lock);
  xdp_close_fds(&x);
  return rc;
}

void afxdp_xdp_forget(struct afxdp_xdp* x)
{
  vi_fmaps_lock_close(&x->lock);
  xdp_close_fds(x);
  free(x);
}

int afxdp_xdp_filter_add(struct afxdp_xdp* x, int slot, int queue,
                         const ef_filter_spec* fs, struct vi_fmaps_filter* f)
{
  return vi_fmaps_filter_add(&x->fm, &x->lock, slot, queue, fs, f);
}

int afxdp_xdp_filter_del(struct afxdp_xdp* x, int slot,
                         struct vi_fmaps_filter* f)
{
  return vi_fmaps_filter_del(&x->fm, &x->lock, slot, f);
}

int afxdp_xdp_filter_park(struct afxdp_xdp* x, int slot,
                          struct vi_fmaps_filter* f, unsigned park_ms)
{
  return vi_fmaps_filter_park(&x->fm, &x->lock, slot, f, park_ms);
}

int afxdp_xdp_stats(struct afxdp_xdp* x, uint64_t out[AL_STAT_MAX])
{
  return vi_fmaps_stats(&x->fm, out);
}
