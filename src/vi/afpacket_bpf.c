/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afpacket_bpf.c: the BPF side of the AF_PACKET backend: the filter
 * maps of an interface (shared by every AF_PACKET VI of every process on
 * it, the same layout and lookup as the XDP program's) and the two
 * programs of each VI (bpf/anyload_afpacket.bpf.c).
 *
 * Keeping claimed flows from the kernel: each VI attaches its own tcx
 * ingress program (kernel >= 6.6) through a bpf_link that only its process
 * holds, and that program drops only the frames of this VI's filters. When
 * the process exits or is killed, the kernel closes the link and detaches
 * the program at once, so its flows go back to the kernel within
 * milliseconds and nothing stale is left on the interface: no qdisc, no
 * filter, no program (the maps go with the last program that uses them).
 * Measured on veth (tests/integration/afpacket_sigkill.sh): a datagram
 * sent right after `kill -9` returns is the kernel's again.
 *   Why not one shared clsact program with a heartbeat per slot: its flows
 * would stay swallowed for the heartbeat timeout (hundreds of ms) after a
 * kill, it needs a thread per process, and the program and qdisc outlive
 * the last process until someone cleans up. tcx links make the kernel do
 * that clean-up, exactly as it does for AF_XDP sockets in the XSKMAP.
 *
 * Finding the maps: the tcx programs attached to the interface are listed
 * by the kernel (BPF_PROG_QUERY); ours are named anyload_tc and every map
 * is bound to them. Nothing is pinned in bpffs (see afxdp_bpf.c for why).
 * Changes are made under an flock() on
 * /run/anyload/afp-<netns inode>-<ifindex>.lock, which the last VI of the
 * interface removes.
 */
#include "vi/afpacket_int.h"
#include "common/log.h"
#include "anyload_afpacket.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* From the uapi of kernels >= 6.6 (the build's headers may be older):
 * enum bpf_attach_type BPF_TCX_INGRESS, and the BPF_F_BEFORE attach flag,
 * which with no relative program puts ours first on the chain, so that a
 * claimed flow is dropped before other tcx programs can pass it on. */
#define AFPACKET_TCX_INGRESS 46
#define AFPACKET_F_BEFORE    (1u << 3)

#define TC_PROG_NAME "anyload_tc"
#define MAX_QUERY    64

/* BPF_PROG_QUERY for the tcx ingress programs of ifindex. The attribute
 * sits in a zeroed buffer larger than any kernel's, because newer kernels
 * write fields (the chain's revision) that older headers do not have. */
static int tcx_query(int ifindex, uint32_t* ids, uint32_t* cnt)
{
  union {
    union bpf_attr attr;
    uint8_t        raw[512];
  } u;

  memset(&u, 0, sizeof(u));
  u.attr.query.target_fd = (uint32_t)ifindex;
  u.attr.query.attach_type = AFPACKET_TCX_INGRESS;
  u.attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
  u.attr.query.prog_cnt = *cnt;
  if (syscall(__NR_bpf, BPF_PROG_QUERY, &u.attr, sizeof(u.attr)) < 0) {
    *cnt = 0;
    /* No tcx in this kernel: nothing attached, attach will say so. */
    return errno == EINVAL ? 0 : -errno;
  }
  *cnt = u.attr.query.prog_cnt < MAX_QUERY ? u.attr.query.prog_cnt
                                           : MAX_QUERY;
  return 0;
}

/* Open the maps of a VI already on the interface. Returns 1 (found, maps
 * open in b->fm), 0 (no VI there), -EBUSY (ours, of another layout). */
static int find_maps(struct afpacket_bpf* b)
{
  struct vi_bpf_map_ref refs[VI_FMAPS_N];
  uint32_t ids[MAX_QUERY], cnt = MAX_QUERY, i;
  int rc, stale = 0;

  rc = tcx_query(b->ifindex, ids, &cnt);
  if (rc < 0)
    return rc;
  for (i = 0; i < cnt; i++) {
    struct bpf_prog_info info;
    uint32_t len = sizeof(info);
    int fd = bpf_prog_get_fd_by_id(ids[i]);

    if (fd < 0)
      continue;   /* detached meanwhile */
    memset(&info, 0, sizeof(info));
    if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
        strcmp(info.name, TC_PROG_NAME)) {
      close(fd);
      continue;
    }
    vi_fmaps_refs(&b->fm, refs);
    rc = vi_bpf_prog_maps(fd, refs, VI_FMAPS_N);
    close(fd);
    if (rc == 0 && vi_fmaps_layout_ok(&b->fm))
      return 1;
    vi_fmaps_close(&b->fm);
    stale = 1;
  }
  if (stale) {
    al_err("ifindex %d: an anyload tc program of another version is in "
           "use", b->ifindex);
    return -EBUSY;
  }
  return 0;
}

/* Load this VI's programs for slot; with reuse, on the maps in b->fm,
 * else on new maps whose fds then go to b->fm. */
static int load_programs(struct afpacket_bpf* b, int slot, int reuse)
{
  struct vi_bpf_map_ref refs[VI_FMAPS_N];
  struct anyload_afpacket* skel;
  int rc, tc_fd;
  size_t i;

  skel = anyload_afpacket__open();
  if (!skel)
    return errno ? -errno : -EINVAL;
  skel->rodata->al_my_slot = (uint32_t)slot;
  vi_fmaps_refs(&b->fm, refs);
  if (reuse)
    for (i = 0; i < VI_FMAPS_N; i++) {
      struct bpf_map* m = bpf_object__find_map_by_name(skel->obj,
                                                       refs[i].name);
      rc = m ? bpf_map__reuse_fd(m, *refs[i].fd) : -ENOENT;
      if (rc < 0)
        goto fail;
    }
  rc = anyload_afpacket__load(skel);
  if (rc < 0)
    goto fail;
  tc_fd = bpf_program__fd(skel->progs.anyload_tc);
  if (reuse) {
    /* Bind every map to this VI's tc program too: any one VI's program
     * then leads others to all the maps, and keeps them alive. */
    for (i = 0; i < VI_FMAPS_N; i++)
      bpf_prog_bind_map(tc_fd, *refs[i].fd, NULL);
  } else {
    rc = vi_bpf_obj_maps(skel->obj, refs, VI_FMAPS_N, tc_fd);
    if (rc < 0)
      goto fail;
  }
  b->skel = skel;
  return 0;

fail:
  anyload_afpacket__destroy(skel);
  return rc;
}

int afpacket_bpf_open(int ifindex, int queue, struct afpacket_bpf** out)
{
  struct afpacket_bpf* b;
  int rc, slot;

  b = calloc(1, sizeof(*b));
  if (!b)
    return -ENOMEM;
  b->ifindex = ifindex;
  b->slot = -1;
  b->tc_link_fd = -1;
  vi_fmaps_init(&b->fm);
  rc = vi_fmaps_lock_open(&b->lock, "afp", ifindex);
  if (rc < 0) {
    free(b);
    return rc;
  }
  vi_fmaps_lock_take(&b->lock);

  rc = find_maps(b);
  if (rc < 0)
    goto fail;
  if (rc == 1) {
    vi_fmaps_reclaim_dead(&b->fm, NULL, NULL);
    rc = vi_fmaps_take_slot(&b->fm, queue, &slot);
    if (rc < 0)
      goto fail;
    rc = load_programs(b, slot, 1);
    if (rc < 0) {
      vi_fmaps_drop_slot(&b->fm, slot);
      goto fail;
    }
  } else {
    /* The first VI on the interface: new maps, so slot 0 is free. */
    rc = load_programs(b, 0, 0);
    if (rc < 0)
      goto fail;
    rc = vi_fmaps_set_config(&b->fm, ifindex);
    if (rc == 0)
      rc = vi_fmaps_take_slot(&b->fm, queue, &slot);
    if (rc == 0 && slot != 0)
      rc = -EIO;
    if (rc < 0)
      goto fail;
  }
  b->slot = slot;
  vi_fmaps_lock_drop(&b->lock);
  *out = b;
  return 0;

fail:
  if (rc == -EPERM)
    al_err("AF_PACKET: loading BPF programs needs CAP_BPF and "
           "CAP_NET_ADMIN (or root)");
  else
    al_err("AF_PACKET: cannot set up the filter programs of ifindex %d: "
           "%s", ifindex, strerror(-rc));
  vi_fmaps_lock_drop(&b->lock);
  vi_fmaps_lock_close(&b->lock);
  if (b->skel)
    anyload_afpacket__destroy(b->skel);
  vi_fmaps_close(&b->fm);
  free(b);
  return rc;
}

int afpacket_bpf_sock_prog(const struct afpacket_bpf* b)
{
  return bpf_program__fd(b->skel->progs.anyload_sock);
}

int afpacket_bpf_attach_tc(struct afpacket_bpf* b)
{
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = AFPACKET_F_BEFORE);
  int fd;

  fd = bpf_link_create(bpf_program__fd(b->skel->progs.anyload_tc),
                       b->ifindex, AFPACKET_TCX_INGRESS, &opts);
  if (fd < 0) {
    int rc = fd == -EINVAL ? -EOPNOTSUPP : fd;
    if (rc == -EOPNOTSUPP)
      al_err("AF_PACKET: this kernel cannot attach tcx programs (needs "
             "Linux 6.6 or later)");
    else
      al_err("AF_PACKET: cannot attach the tc program to ifindex %d: %s",
             b->ifindex, strerror(-rc));
    return rc;
  }
  b->tc_link_fd = fd;
  return 0;
}

void afpacket_bpf_close(struct afpacket_bpf* b)
{
  vi_fmaps_lock_take(&b->lock);
  vi_fmaps_drop_slot(&b->fm, b->slot);
  if (vi_fmaps_reclaim_dead(&b->fm, NULL, NULL) == 0)
    vi_fmaps_lock_unlink(&b->lock);   /* the last VI: leave nothing */
  vi_fmaps_lock_drop(&b->lock);
  /* Closing the link detaches the program; the maps go with the last
   * program (or fd) that refers to them. */
  if (b->tc_link_fd >= 0)
    close(b->tc_link_fd);
  anyload_afpacket__destroy(b->skel);
  vi_fmaps_close(&b->fm);
  vi_fmaps_lock_close(&b->lock);
  free(b);
}

int afpacket_bpf_filter_add(struct afpacket_bpf* b, int queue,
                            const ef_filter_spec* fs,
                            struct vi_fmaps_filter* f)
{
  return vi_fmaps_filter_add(&b->fm, &b->lock, b->slot, queue, fs, f);
}

int afpacket_bpf_filter_del(struct afpacket_bpf* b,
                            struct vi_fmaps_filter* f)
{
  return vi_fmaps_filter_del(&b->fm, &b->lock, b->slot, f);
}

int afpacket_bpf_stats(struct afpacket_bpf* b, uint64_t out[AL_STAT_MAX])
{
  return vi_fmaps_stats(&b->fm, out);
}
