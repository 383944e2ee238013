/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afpacket_int.h: state shared by the AF_PACKET backend's files.
 *
 *  afpacket_bpf.c  the interface's filter maps and one VI's programs: the
 *                  socket filter (what the VI gets) and the tc ingress
 *                  program (what the kernel does not get: this VI's tcx
 *                  program, or on kernels without tcx one clsact filter
 *                  for all VIs, with heartbeats)
 *  afpacket_vi.c   VI allocation, the packet socket and its rings, and the
 *                  fast path (rings <-> ef_events)
 */
#ifndef ANYLOAD_AFPACKET_INT_H
#define ANYLOAD_AFPACKET_INT_H

#include "vi/vi_int.h"
#include "vi/filter_maps.h"

struct anyload_afpacket;

/* How an interface's AF_PACKET VIs keep their flows from the kernel. */
enum {
  AFPACKET_TC_TCX = 1,    /* a tcx program per VI, on a link of its own */
  AFPACKET_TC_CLSACT,     /* one clsact filter, heartbeats per slot */
};

/* The BPF side of one AF_PACKET VI. */
struct afpacket_bpf {
  int                      ifindex;
  int                      mode;       /* AFPACKET_TC_* */
  struct vi_fmaps_lock     lock;       /* flock taken per change */
  int                      slot;       /* this VI's slot in the maps */
  struct vi_fmaps          fm;         /* the interface's filter maps */
  int                      hb_fd;      /* al_heartbeat */
  int                      state_fd;   /* al_afp_state */
  struct anyload_afpacket* skel;       /* this VI's programs */
  int                      tc_link_fd; /* tcx mode: this VI's link */
  struct afpacket_bpf*     hb_next;    /* clsact mode: beating VIs */
  int                      netns_fd;   /* clsact mode: the interface's
                                        * network namespace */
};

/* afpacket_bpf_open: find the interface's filter maps (through the tc
 * programs of the VIs already on it) or create them, reclaim the slots of
 * dead processes, take a slot, load this VI's programs and attach them
 * (tcx mode: this VI's program; clsact mode: the shared filter, if this is
 * the interface's first VI, and this slot's heartbeats). The interface's
 * first VI chooses the mode (ANYLOAD_AFPACKET_TC=auto|tcx|clsact; auto:
 * tcx where the kernel has it), the others follow it. Returns 0 or
 * -EPERM (no privilege for BPF), -EBUSY (maps of another layout in use,
 * or anyload's tc handle taken), -ENOSPC (no free slot), -EOPNOTSUPP
 * (tcx asked for, kernel without), -EINVAL (bad setting), -ENOMEM,
 * -errno from the kernel. */
int afpacket_bpf_open(int ifindex, int queue, struct afpacket_bpf** out);
/* afpacket_bpf_sock_prog: the socket filter's fd, for SO_ATTACH_BPF. */
int afpacket_bpf_sock_prog(const struct afpacket_bpf* b);
/* afpacket_bpf_close: remove the slot's filters, free the slot, detach
 * this VI's program (the shared filter and a qdisc anyload made, with the
 * interface's last VI) and free b. */
void afpacket_bpf_close(struct afpacket_bpf* b);
/* afpacket_bpf_forget: in a forked child, close this process's copies of
 * an inherited handle's descriptors and free it; the slot, its filters,
 * its heartbeats (the parent's thread) and the programs stay. */
void afpacket_bpf_forget(struct afpacket_bpf* b);
/* afpacket_bpf_filter_add / _del: as vi_fmaps_filter_add / _del, as the
 * owner of queue 0 (a packet socket sees every queue). */
int afpacket_bpf_filter_add(struct afpacket_bpf* b, const ef_filter_spec* fs,
                            struct vi_fmaps_filter* f);
int afpacket_bpf_filter_del(struct afpacket_bpf* b,
                            struct vi_fmaps_filter* f);
/* afpacket_bpf_stats: the programs' counters (AL_STAT_*), summed. */
int afpacket_bpf_stats(struct afpacket_bpf* b, uint64_t out[AL_STAT_MAX]);

#endif /* ANYLOAD_AFPACKET_INT_H */
