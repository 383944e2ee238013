/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/sim_int.h: the simulated link shared by sim_link.c (the link model:
 * registry of links and interfaces, clock, fault pipeline, in-flight
 * queues, pcap writer) and sim_vi.c (the "sim" VI backend on top of it).
 *
 * A link has two interfaces (ends 0 and 1) and two directions; dirs[e]
 * carries the frames that ifs[e] sends. Frames on a direction sit on the
 * `wire` list in order of arrival time (serialisation is first come, first
 * served and the latency is fixed, so arrival order is send order), or on
 * the `held` list while reordered. The receiving side pops frames whose
 * arrival time has come (sim_link_pop); sim_vi.c then steers each to one of
 * the interface's VIs.
 *
 * Locking: every field of a link, its interfaces and directions, and the
 * state of the VIs attached to it, is guarded by link->lock. The functions
 * below that take a link expect the caller to hold that lock. The registry
 * (the list of links, interface numbering, the clock mode) has a mutex of
 * its own, always taken before a link's lock, never after.
 */
#ifndef ANYLOAD_VI_SIM_INT_H
#define ANYLOAD_VI_SIM_INT_H

#include <anyload/sim.h>
#include <net/if.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Interface indexes of sim interfaces start here, far above the kernel's,
 * so one is never taken for the other. */
#define SIM_IFINDEX_BASE 0x40000000
#define SIM_ETH_HLEN     14
/* "Never": a time later than any real one. */
#define SIM_NEVER        INT64_MAX

struct sim_vi;

/* A frame on its way. data[] holds len bytes. */
struct sim_frame {
  struct sim_frame* next;
  int64_t  arrival_ns;     /* when it reaches the far interface */
  uint32_t countdown;      /* held: later frames still to let pass */
  uint32_t slot;           /* sim_vi.c: the transmit slot while staged */
  uint32_t len;
  uint8_t  data[];
};

/* A singly linked FIFO of frames. */
struct sim_fifo {
  struct sim_frame* head;
  struct sim_frame* tail;
  uint32_t          n;
};

/* xoshiro256** state (seeded through splitmix64). */
struct sim_prng {
  uint64_t s[4];
};

struct sim_dir {
  struct anyload_sim_dir_config cfg;   /* loss_mask points at mask */
  uint8_t*         mask;               /* our copy of the loss mask */
  uint64_t         mask_base;          /* frame index of the mask's bit 0 */
  struct sim_prng  rng;
  uint64_t         n_offered;          /* index of the next frame */
  int64_t          busy_until;         /* the line is free from then on */
  /* Departure times of the frames waiting for (or on) the line, oldest
   * first: a ring of qcap entries (a power of two) holding qn. */
  int64_t*         qdone;
  uint32_t         qhead, qn, qcap;
  struct sim_fifo  wire;
  struct sim_fifo  held;
  struct anyload_sim_stats st;         /* in_flight is computed on read */
};

/* One end of a link: a named interface. name, ifindex, mac, mtu, link and
 * end never change while the link exists. */
/* A fragmented IPv4 datagram whose first fragment a port filter gave to
 * vi: its later fragments follow (sim_vi.c, as al_frags in the XDP
 * program). */
#define SIM_FRAG_FOLLOW 64
struct sim_frag_follow {
  struct sim_vi* vi;                   /* NULL: entry unused */
  uint64_t       stamp;                /* for least-recently-used reuse */
  uint8_t        saddr[4], daddr[4];
  uint16_t       id_be16;
  uint8_t        proto;
};

struct sim_if {
  char             name[IF_NAMESIZE];
  int              ifindex;
  uint8_t          mac[6];
  unsigned         mtu;
  unsigned         gso;                /* takes super-frames (sim.h) */
  struct sim_link* link;
  int              end;                /* 0 or 1: ifs[end] == this */
  struct sim_vi*   vis;                /* attached VIs, oldest first */
  unsigned         next_vi_id;
  struct sim_frag_follow frags[SIM_FRAG_FOLLOW];
  uint64_t         frag_clock;
};

struct sim_link {
  struct sim_link* next;               /* registry list */
  pthread_mutex_t  lock;
  struct sim_if    ifs[2];
  struct sim_dir   dirs[2];
  FILE*            pcap;
};

/* ---- clock (sim_link.c) ------------------------------------------------ */

/* sim_now: the links' time in ns (virtual, or CLOCK_MONOTONIC). Lock-free. */
int64_t sim_now(void);
/* sim_clock_virtual: non-zero while the virtual clock is in use. */
int sim_clock_virtual(void);

/* ---- frames ------------------------------------------------------------ */

/* sim_frame_alloc: a frame with room for len bytes (len set), or NULL. */
struct sim_frame* sim_frame_alloc(uint32_t len);
static inline void sim_frame_free(struct sim_frame* f) { free(f); }

static inline void sim_fifo_push(struct sim_fifo* q, struct sim_frame* f)
{
  f->next = NULL;
  if (q->tail)
    q->tail->next = f;
  else
    q->head = f;
  q->tail = f;
  q->n++;
}

static inline struct sim_frame* sim_fifo_pop(struct sim_fifo* q)
{
  struct sim_frame* f = q->head;
  if (f) {
    q->head = f->next;
    if (!q->head)
      q->tail = NULL;
    q->n--;
    f->next = NULL;
  }
  return f;
}

/* sim_fifo_clear: free every frame of q. */
void sim_fifo_clear(struct sim_fifo* q);

/* ---- the link model (sim_link.c; caller holds link->lock) -------------- */

/* sim_link_send: offer frame f (ownership passes to the link) to the
 * direction leaving ifs[end] at time now, through the fault pipeline of
 * anyload/sim.h. *done_ns gets the time at which the frame has left the
 * sender (its transmit completes): now without a rate limit. Dropped
 * frames are freed and counted. Never fails. */
void sim_link_send(struct sim_link* l, int end, struct sim_frame* f,
                   int64_t now, int64_t* done_ns);

/* sim_link_pop: the next frame that has arrived at ifs[to_end] by now
 * (ownership to the caller), or NULL. Counts it as delivered and writes it
 * to the link's pcap file. */
struct sim_frame* sim_link_pop(struct sim_link* l, int to_end, int64_t now);

/* sim_link_next_arrival: when the next frame reaches ifs[to_end], or
 * SIM_NEVER if none is in flight. */
int64_t sim_link_next_arrival(const struct sim_link* l, int to_end);

/* ---- registry (sim_link.c) --------------------------------------------- */

/* sim_if_find_name / sim_if_find_index: the vi_ops pd_lookup and pd_name
 * of the sim backend. Return 0, -ENODEV, or -EINVAL when the
 * ANYLOAD_SIM_LINKS setting is bad. */
int sim_if_find_name(const char* name, int* ifindex_out);
int sim_if_find_index(int ifindex, char name[IF_NAMESIZE]);

/* sim_if_get: the interface with this index, returned with its link's
 * lock held (the caller attaches its VI, then unlocks): the link cannot
 * be destroyed while it has VIs. Returns 0, -ENODEV or -EINVAL (as
 * above). */
int sim_if_get(int ifindex, struct sim_if** out);

/* sim_link_by_name: the link with interface `name` and that interface's
 * end, for tests of the link model; NULL if none. Not locked: the link
 * stays valid until anyload_sim_link_destroy. */
struct sim_link* sim_link_by_name(const char* name, int* end_out);

/* ---- calls from the link model into sim_vi.c --------------------------- */

/* sim_vi_clock_changed: the clock moved (caller holds the link's lock).
 * Each VI of ifp re-arms its wake-up timer; with rebase (a new time base),
 * transmits still in progress complete at `now`. */
void sim_vi_clock_changed(struct sim_if* ifp, int64_t now, int rebase);

/* sim_vi_next_tx: when the next transmit of a VI of ifp completes (its
 * frame leaves the sender), or SIM_NEVER (caller holds the link's lock). */
int64_t sim_vi_next_tx(const struct sim_if* ifp);

#endif /* ANYLOAD_VI_SIM_INT_H */
