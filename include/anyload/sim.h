/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * anyload/sim.h: simulated Ethernet links, anyload's own extension of the
 * ef_vi API. A link joins two named interfaces of the calling process; VIs
 * on them (ANYLOAD_BACKEND=sim) exchange frames through it with no kernel
 * and no privilege. Each direction of a link injects faults on demand,
 * reproducibly from a seed: latency, a rate limit with a bounded queue,
 * random loss, a literal loss mask, reordering, duplication, corruption and
 * truncation. Time is either the system's monotonic clock or a virtual
 * clock that moves only when the program says so, so that a test of timers
 * takes no wall time. Every frame a link delivers can be written to a pcap
 * file.
 *
 * The fault pipeline, per frame offered by the sending interface (its
 * index i counts every frame offered on that direction, from 0):
 *   1. queue: with a rate limit, a frame that finds queue_limit frames
 *      waiting for the line (the one being sent included) is dropped
 *      (dropped_queue);
 *   2. rate: the frame is sent when the line is free and takes
 *      len * 8 / rate_bps seconds (frame bytes only: no preamble, FCS or
 *      gap); its transmit completes on the sender when it has been sent;
 *   3. loss: bit i of the loss mask set drops it (dropped_mask), else it is
 *      lost with probability `loss` (dropped_loss);
 *   4. truncation (probability `truncate`): cut to a random length from 14
 *      (the Ethernet header stays) to len - 1;
 *   5. corruption (probability `corrupt`): one random bit after the 14-byte
 *      Ethernet header is flipped, as by a faulty middlebox that recomputes
 *      the FCS: the IP or TCP/UDP checksum, not the NIC, catches it;
 *   6. duplication (probability `duplicate`): a second identical copy
 *      follows the frame;
 *   7. reordering (probability `reorder`): the frame (with its copy) is held
 *      back and arrives just after the reorder_distance-th later frame, or
 *      as soon as nothing else is in flight on that direction;
 *   8. the frame arrives latency_ns after it was sent.
 * Every frame draws the same number of values from its direction's random
 * stream whatever happens to it, so the faults drawn for frame i depend
 * only on the seed, the direction and i: changing one probability does not
 * reshuffle the others, and the same seed replays the same run.
 *
 * Frames reach a VI when it polls (ef_eventq_poll); nothing runs in the
 * background. Links live in the calling process only (no shared memory
 * between processes).
 *
 * Filters on a sim interface steer as on AF_XDP (most specific first, see
 * ef_vi_filter_add), but there is no kernel: the frames that no filter
 * claims go to the oldest VI of the interface that has no filters at all,
 * which stands in for the kernel (unless a block-kernel filter is set), or
 * else are dropped and counted as `unclaimed`. A lone VI with no filters
 * thus receives everything its interface receives.
 *
 * Unmodified programs: ANYLOAD_SIM_LINKS holds links in the syntax of
 * anyload_sim_links_add() and is read at the first use of a sim interface
 * or of any function here; a bad setting makes every sim interface lookup
 * fail with -EINVAL after an error message.
 *
 * Thread safety: every function here may be called from any thread.
 */
#ifndef ANYLOAD_SIM_H
#define ANYLOAD_SIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The faults of one direction of a link. All zero: a perfect link with no
 * latency and no rate limit. */
struct anyload_sim_dir_config {
  uint64_t       latency_ns;       /* one-way propagation delay */
  uint64_t       rate_bps;         /* line rate in bits/s; 0: unlimited */
  uint32_t       queue_limit;      /* frames waiting for the line, with a
                                      rate limit; 0: unlimited */
  double         loss;             /* probability, 0..1 */
  const uint8_t* loss_mask;        /* frame i is dropped when bit i is set:
                                      byte i / 8, bit i % 8 (least
                                      significant first); copied */
  uint32_t       loss_mask_bits;   /* bits in loss_mask; later frames are
                                      not dropped by the mask */
  double         reorder;          /* probability, 0..1 */
  uint32_t       reorder_distance; /* frames a reordered frame lets pass;
                                      0 means 1 */
  double         duplicate;        /* probability, 0..1 */
  double         corrupt;          /* probability, 0..1 */
  double         truncate;         /* probability, 0..1 */
};

/* A link between interface a and interface b. Fill with
 * anyload_sim_config_init() first, then set what differs. */
struct anyload_sim_config {
  size_t   size;                   /* sizeof(struct anyload_sim_config) */
  uint64_t seed;                   /* of both directions' random streams */
  unsigned mtu;                    /* IP MTU of both ends; 0: 1500 */
  unsigned gso;                    /* 1: both ends take TCP/IPv4
                                      super-frames (ef_vi_transmitv_gso)
                                      and cut them into segments as
                                      Linux's GSO does; 0: they answer
                                      -EOPNOTSUPP, as a link without the
                                      kernel's segmentation */
  uint8_t  mac_a[6];               /* all zero: derived from the name */
  uint8_t  mac_b[6];
  struct anyload_sim_dir_config a_to_b;
  struct anyload_sim_dir_config b_to_a;
};

/* What happened to the frames of one direction. */
struct anyload_sim_stats {
  uint64_t sent;             /* frames offered by the sending interface */
  uint64_t sent_bytes;
  uint64_t delivered;        /* frames that arrived, copies included */
  uint64_t delivered_bytes;
  uint64_t dropped_queue;    /* queue limit (or the in-flight cap) */
  uint64_t dropped_mask;     /* loss mask */
  uint64_t dropped_loss;     /* random loss */
  uint64_t duplicated;       /* extra copies made */
  uint64_t reordered;        /* frames held back */
  uint64_t corrupted;
  uint64_t truncated;
  uint64_t unclaimed;        /* arrived, but no VI of the receiving
                                interface took them (see sim_vi.c) */
  uint64_t in_flight;        /* on the link now (not a counter) */
};

/* Limits. */
#define ANYLOAD_SIM_MTU_MIN        68
#define ANYLOAD_SIM_MTU_MAX        9216
#define ANYLOAD_SIM_MASK_BITS_MAX  (1u << 20)
/* Frames one direction holds in flight at most; more are dropped_queue. */
#define ANYLOAD_SIM_IN_FLIGHT_MAX  (1u << 18)

/* anyload_sim_config_init: fill cfg with the defaults (size set, seed 0,
 * MTU 1500, MACs derived from the names, perfect link both ways). */
void anyload_sim_config_init(struct anyload_sim_config* cfg);

/* anyload_sim_link_create: create interfaces if_a and if_b joined by a
 * link with the configuration cfg (NULL: the defaults). The interfaces are
 * visible to ef_pd_alloc_by_name() under ANYLOAD_BACKEND=sim. The loss
 * masks are copied; cfg may be freed afterwards.
 * Returns 0, or -EINVAL (bad name: empty, IF_NAMESIZE or longer, or both
 * the same; cfg->size not sizeof(*cfg); a probability outside 0..1; MTU
 * outside ANYLOAD_SIM_MTU_MIN..MAX; a loss mask that is NULL with bits or
 * longer than ANYLOAD_SIM_MASK_BITS_MAX), -EEXIST (a sim interface of that
 * name exists), -ENOMEM. */
int anyload_sim_link_create(const char* if_a, const char* if_b,
                            const struct anyload_sim_config* cfg);

/* anyload_sim_link_destroy: destroy the link that has the interface
 * `ifname` (either end): frames in flight are freed, its pcap file is
 * closed. Its VIs must be freed first; PDs may remain (a VI allocated on
 * them later fails with -ENODEV).
 * Returns 0, or -ENODEV (no such sim interface), -EBUSY (VIs remain). */
int anyload_sim_link_destroy(const char* ifname);

/* anyload_sim_link_set_faults: replace the faults of the direction that
 * leaves interface `from_if`, from its next frame on. The random stream
 * and the frames in flight are kept; the loss mask is copied anew and its
 * bit 0 is the next frame (so "drop the next two frames" is mask 0x3, 2
 * bits).
 * Returns 0, or -ENODEV, -EINVAL (as for create), -ENOMEM. */
int anyload_sim_link_set_faults(const char* from_if,
                                const struct anyload_sim_dir_config* dir);

/* anyload_sim_links_add: create links from a text specification, the
 * syntax of the ANYLOAD_SIM_LINKS setting:
 *   spec   = link *( ";" link )
 *   link   = name "-" name [ ":" option *( "," option ) ]
 *   option = [ ( "ab." / "ba." ) ] key "=" value
 * Names are letters, digits and '_'. Keys, for both directions or, with
 * the prefix, for a->b or b->a only: latency_ns, latency_us, latency_ms,
 * rate_bps, rate_kbps, rate_mbps, rate_gbps, queue (frames), loss,
 * reorder, duplicate, corrupt, truncate (probabilities 0..1),
 * reorder_distance, loss_mask (a string of 0 and 1, frame i dropped when
 * character i is 1). For the link only: seed, mtu, mac_a and mac_b
 * (xx:xx:xx:xx:xx:xx), pcap (a file path without ',', ';' or spaces), gso
 * (0 or 1).
 * Spaces are allowed around ';' only.
 * Example: "simA-simB:latency_us=10,loss=0.01,seed=7;simC-simD".
 * All links are created or none: on an error nothing is left behind.
 * Returns 0, or -EINVAL (syntax or value; a message on stderr names the
 * place), -EEXIST, -ENOMEM, or an error of fopen for the pcap file. */
int anyload_sim_links_add(const char* spec);

/* anyload_sim_link_pcap: write every frame the link delivers from now on
 * (both directions, after faults, timestamped with its arrival time in
 * nanoseconds) to a new pcap file at path (LINKTYPE_ETHERNET, nanosecond
 * pcap format), replacing any file the link was writing; NULL stops
 * writing. Records are flushed as they are written.
 * Returns 0, or -ENODEV, or a negative errno from fopen. */
int anyload_sim_link_pcap(const char* ifname, const char* path);

/* anyload_sim_link_stats: the counters of the direction that leaves
 * interface `from_if`; reset them afterwards if do_reset (in_flight is not
 * a counter and is never reset).
 * Returns 0, or -ENODEV, -EINVAL (out is NULL). */
int anyload_sim_link_stats(const char* from_if, struct anyload_sim_stats* out,
                           int do_reset);

/* anyload_sim_clock_set: use the virtual clock from now on, reading
 * now_ns. Moving forward (or staying) is always allowed, like
 * anyload_sim_clock_advance(); switching from the real clock or moving
 * back needs every link empty, since the times of frames in flight would
 * mean nothing on the new clock; pending transmits then complete at once.
 * Returns 0, or -EINVAL (now_ns < 0), -EBUSY (frames in flight). */
int anyload_sim_clock_set(int64_t now_ns);

/* anyload_sim_clock_advance: move the virtual clock forward by delta_ns.
 * Frames and transmit completions that fall due become visible to the next
 * poll (and make the VIs' driver handles readable).
 * Returns 0, or -EINVAL (delta_ns < 0, or the real clock is in use). */
int anyload_sim_clock_advance(int64_t delta_ns);

/* anyload_sim_clock_real: go back to the system's monotonic clock (the
 * default). Returns 0, or -EBUSY (frames in flight, see clock_set). */
int anyload_sim_clock_real(void);

/* anyload_sim_clock_now: the links' time in nanoseconds: the virtual
 * clock, or CLOCK_MONOTONIC. */
int64_t anyload_sim_clock_now(void);

/* anyload_sim_clock_is_virtual: 1 if the virtual clock is in use, else 0. */
int anyload_sim_clock_is_virtual(void);

/* anyload_sim_next_event: the time of the next thing the links will do on
 * their own: a frame arriving, or a pushed transmit completing (leaving
 * its sender); INT64_MAX if nothing is in progress. A discrete-event test
 * moves the virtual clock to the earlier of this and its own next
 * deadline, then polls. Frames that have already arrived but that no VI
 * has polled yet count too (their arrival time is in the past). */
int64_t anyload_sim_next_event(void);

#ifdef __cplusplus
}
#endif

#endif /* ANYLOAD_SIM_H */
