/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afpacket_int.h: state shared by the AF_PACKET backend's files.
 *
 *  afpacket_bpf.c  the interface's filter maps and one VI's two programs:
 *                  the socket filter (what the VI gets) and the tcx
 *                  ingress program (what the kernel does not get)
 *  afpacket_vi.c   VI allocation, the packet socket and its rings, and the
 *                  fast path (rings <-> ef_events)
 */
#ifndef ANYLOAD_AFPACKET_INT_H
#define ANYLOAD_AFPACKET_INT_H

#include "vi/vi_int.h"
#include "vi/filter_maps.h"

struct anyload_afpacket;

/* The BPF side of one AF_PACKET VI. */
struct afpacket_bpf {
  int                      ifindex;
  struct vi_fmaps_lock     lock;       /* flock taken per change */
  int                      slot;       /* this VI's slot in the maps */
  struct vi_fmaps          fm;         /* the interface's filter maps */
  struct anyload_afpacket* skel;       /* this VI's programs */
  int                      tc_link_fd; /* -1 until attached */
};

/* afpacket_bpf_open: find the interface's filter maps (through the tcx
 * programs of the VIs already on it) or create them, reclaim the slots of
 * dead processes, take a slot and load this VI's programs. Returns 0 or
 * -EPERM (no privilege for BPF), -EBUSY (maps of another layout in use),
 * -ENOSPC (no free slot), -ENOMEM, -errno from the kernel. */
int afpacket_bpf_open(int ifindex, int queue, struct afpacket_bpf** out);
/* afpacket_bpf_sock_prog: the socket filter's fd, for SO_ATTACH_BPF. */
int afpacket_bpf_sock_prog(const struct afpacket_bpf* b);
/* afpacket_bpf_attach_tc: attach this VI's tcx ingress program through a
 * bpf_link of this process. Returns 0 or -EOPNOTSUPP (a kernel without
 * tcx, before 6.6), -EPERM, -errno. */
int afpacket_bpf_attach_tc(struct afpacket_bpf* b);
/* afpacket_bpf_close: remove the slot's filters, free the slot, detach
 * the tcx program and free b. */
void afpacket_bpf_close(struct afpacket_bpf* b);
/* afpacket_bpf_filter_add / _del: as vi_fmaps_filter_add / _del. */
int afpacket_bpf_filter_add(struct afpacket_bpf* b, int queue,
                            const ef_filter_spec* fs,
                            struct vi_fmaps_filter* f);
int afpacket_bpf_filter_del(struct afpacket_bpf* b,
                            struct vi_fmaps_filter* f);
/* afpacket_bpf_stats: the programs' counters (AL_STAT_*), summed. */
int afpacket_bpf_stats(struct afpacket_bpf* b, uint64_t out[AL_STAT_MAX]);

#endif /* ANYLOAD_AFPACKET_INT_H */
