/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afxdp_int.h: state shared by the AF_XDP backend's files.
 *
 *  afxdp_port.c  one UMEM with its fill and completion rings per
 *                (process, interface, queue), shared by the VIs on it
 *  afxdp_bpf.c   the XDP filter program: attach/find/detach, VI slots,
 *                filter map entries, recovery from dead owners
 *  afxdp_vi.c    VI allocation and the fast path (rings <-> ef_events)
 *
 * Memory model: the UMEM is ours, not the caller's registered memory. On
 * receive the frame is copied from its UMEM chunk into the posted buffer
 * and the chunk goes straight back to the fill ring; on transmit the frame
 * is copied from registered memory into a free UMEM chunk. One copy of a
 * small frame costs tens of nanoseconds and buys ef_vi's exact semantics:
 * any page-aligned memory can be registered after the VI exists, buffers
 * are filled in posting order, and RX_RQ_ID is always the posted id.
 */
#ifndef ANYLOAD_AFXDP_INT_H
#define ANYLOAD_AFXDP_INT_H

#include "vi/vi_int.h"
#include "vi/afxdp_ring.h"
#include "vi/filter_maps.h"

#include <pthread.h>

#define AFXDP_CHUNK_SIZE   4096u
#define AFXDP_RX_CHUNKS    4096u   /* all in the fill ring when idle */
#define AFXDP_TX_CHUNKS    2048u   /* shared by the VIs of a port */
#define AFXDP_FILL_SIZE    AFXDP_RX_CHUNKS
#define AFXDP_COMP_SIZE    AFXDP_TX_CHUNKS
#define AFXDP_RX_RING_SIZE 4096u

struct afxdp_vi;

struct afxdp_tx_owner {
  struct afxdp_vi* vi;      /* NULL once the VI is freed */
  uint32_t         slot;    /* index in the VI's TX ring */
};

struct afxdp_port {
  struct afxdp_port* next;
  unsigned long      netns;        /* inode of the network namespace */
  pid_t              pid;          /* the process that made it (fork) */
  int                ifindex;
  int                queue;
  int                refs;         /* VIs bound to this port */
  int                fd;           /* first socket: owns UMEM, fill, comp */
  int                fd_in_use;    /* a VI uses fd as its own socket */
  char*              umem;
  size_t             umem_len;
  struct afxdp_ring  fill;
  struct afxdp_ring  comp;
  uint32_t*          tx_free;      /* stack of free TX chunk numbers */
  uint32_t           tx_free_n;
  struct afxdp_tx_owner* tx_owner; /* by TX chunk number - RX_CHUNKS */
  pthread_spinlock_t lock;         /* taken when refs > 1 */
  int                zerocopy;
  int                need_wakeup;
  int                bound;        /* fd is bound */
};

/* afxdp_port_get: the port of (ifindex, queue), created if needed, with a
 * reference taken. Returns 0 or -errno. */
int afxdp_port_get(int ifindex, int queue, struct afxdp_port** out);
/* afxdp_port_put: drop a reference; the last one closes the socket and
 * frees the UMEM (this process's copies only: a forked child lets go of
 * an inherited port this way too). */
void afxdp_port_put(struct afxdp_port* port);

static inline void afxdp_port_lock(struct afxdp_port* p)
{
  if (p->refs > 1)
    pthread_spin_lock(&p->lock);
}

static inline void afxdp_port_unlock(struct afxdp_port* p)
{
  if (p->refs > 1)
    pthread_spin_unlock(&p->lock);
}

/* afxdp_ring_map: mmap one ring of socket fd. entry_size is 8 for fill and
 * completion rings, sizeof(struct xdp_desc) for RX and TX. */
int afxdp_ring_map(int fd, struct afxdp_ring* r, off_t pgoff,
                   const struct xdp_ring_offset* off, uint32_t size,
                   size_t entry_size);
void afxdp_ring_unmap(struct afxdp_ring* r);

/* The XDP program of one interface, as seen by one VI. */
struct afxdp_xdp {
  int      ifindex;
  int      prog_fd;
  uint32_t prog_id;
  int      mode;              /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
  struct vi_fmaps_lock lock;  /* flock taken per change */
  int      map_xsks;
  struct vi_fmaps fm;         /* the filter maps */
};

/* afxdp_xdp_open: find our XDP program on the interface or attach it,
 * reclaim the slots of dead owners, and take a free slot for a VI on
 * `queue`. Returns 0 or -EBUSY (foreign XDP program, or another live
 * process has a VI on `queue`; no free slot: -ENOSPC), -EPERM, -ENODEV, -errno from the kernel. */
int afxdp_xdp_open(int ifindex, int queue, struct afxdp_xdp** out,
                   int* slot_out);
/* afxdp_xdp_set_socket: put the bound socket in the XSKMAP slot. */
int afxdp_xdp_set_socket(struct afxdp_xdp* x, int slot, int xsk_fd);
/* afxdp_xdp_close: remove the slot's filters and socket, free the slot,
 * detach the program if no live slot remains, and free x. */
void afxdp_xdp_close(struct afxdp_xdp* x, int slot);
/* afxdp_xdp_forget: in a forked child, close this process's copies of an
 * inherited handle's descriptors and free it; its slot, filters and the
 * program stay (the parent's). */
void afxdp_xdp_forget(struct afxdp_xdp* x);
/* afxdp_xdp_tidy: on ifindex, the slots of dead processes are reclaimed,
 * and our program is detached when no live process has a slot: what is
 * left after the last VI's process could not do it (it had dropped its
 * privileges, or was killed). 0 or -errno. */
int afxdp_xdp_tidy(int ifindex);
/* afxdp_xdp_filter_add: install a filter for (slot, queue). Returns 0 or
 * -EEXIST (same slot has it), -EBUSY (a live VI has it), -EINVAL,
 * -EOPNOTSUPP, -ENOSPC. */
int afxdp_xdp_filter_add(struct afxdp_xdp* x, int slot, int queue,
                         const ef_filter_spec* fs,
                         struct vi_fmaps_filter* out);
/* afxdp_xdp_filter_del: remove a filter installed by afxdp_xdp_filter_add
 * (only if it still belongs to `slot`). */
int afxdp_xdp_filter_del(struct afxdp_xdp* x, int slot,
                         struct vi_fmaps_filter* f);
/* afxdp_xdp_filter_park: the same, leaving the filter parked for park_ms
 * (vi_fmaps_filter_park). */
int afxdp_xdp_filter_park(struct afxdp_xdp* x, int slot,
                          struct vi_fmaps_filter* f, unsigned park_ms);
/* afxdp_xdp_stats: the program's counters summed over CPUs. */
int afxdp_xdp_stats(struct afxdp_xdp* x, uint64_t out[AL_STAT_MAX]);

#endif /* ANYLOAD_AFXDP_INT_H */
