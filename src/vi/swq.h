/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/swq.h: the software side of a VI's rings, shared by every backend.
 *
 * Receive: posted buffers (address, usable length, id) wait in posting
 * order; vi_rx_deliver() copies a frame that the backend took off its
 * kernel ring into the next one(s), checks it (vi_rx_check) and writes the
 * RX / RX_DISCARD events. Transmit: each posted frame has a slot whose
 * state goes PENDING -> DONE (the kernel completed it) or ERROR (refused
 * before sending); vi_tx_events() reports finished slots in posting order
 * as TX / TX_ERROR events of up to EF_VI_TRANSMIT_BATCH ids, or one
 * TX_WITH_TIMESTAMP event per frame.
 *
 * A backend embeds struct vi_swq in its VI state right after struct
 * vi_common and points ef_vi.ep_state at q.state.
 */
#ifndef ANYLOAD_VI_SWQ_H
#define ANYLOAD_VI_SWQ_H

#include "vi/vi_int.h"

#include <time.h>

enum { VI_TXS_PENDING = 0, VI_TXS_DONE = 1, VI_TXS_ERROR = 2 };
enum { VI_RX_OK = -1 };

struct vi_rx_post {
  char*    vaddr;
  uint32_t cap;        /* usable bytes of this buffer, prefix included */
};

/* Per-VI counters; the stats layout of every backend starts with these
 * after its kernel counters. Keep VI_SWQ_N_COUNTERS in step. */
struct vi_counters {
  uint64_t rx_frames, rx_bytes, rx_no_desc, rx_discard_trunc;
  uint64_t rx_discard_csum, rx_discard_other;
  uint64_t tx_frames, tx_bytes, tx_error_2big, tx_kicks, tx_kick_errors;
  uint64_t tx_gso_frames, tx_gso_segs;   /* ef_vi_transmitv_gso */
};
#define VI_SWQ_N_COUNTERS 13
#define VI_SWQ_COUNTER_NAMES                                             \
  "rx_frames", "rx_bytes", "rx_no_desc_drops", "rx_discard_trunc",      \
  "rx_discard_csum", "rx_discard_other", "tx_frames", "tx_bytes",       \
  "tx_error_2big", "tx_kicks", "tx_kick_errors", "tx_gso_frames",       \
  "tx_gso_segs"

struct vi_swq {
  struct vi_rx_post* rx_post;
  uint32_t*          rx_ids;
  uint32_t*          tx_ids;
  uint8_t*           tx_state;
  uint32_t           tx_mask;
  uint32_t           tx_done_upto;   /* every slot below is finished */
  uint32_t           tx_evented;     /* every slot below was reported */
  struct vi_counters c;
  ef_vi_state        state;
};

/* vi_ring_size: a requested ring size (-1: default) rounded up to a power
 * of two in [64, VI_MAX_RING]; the ring holds size - 1 descriptors. */
int vi_ring_size(int req);

/* vi_swq_init: allocate the rings (rxn, txn powers of two) and point vi's
 * ring fields and ep_state at them. Returns 0 or -ENOMEM. */
int vi_swq_init(struct vi_swq* q, ef_vi* vi, uint32_t rxn, uint32_t txn);
void vi_swq_free(struct vi_swq* q);

/* vi_vi_defaults: the fields of a new ef_vi common to all backends (flags,
 * prefix and buffer length, discard mask, queue, the unsupported ops). */
void vi_vi_defaults(ef_vi* vi, ef_driver_handle dh, unsigned queue,
                    enum ef_vi_flags flags);

/* vi_rx_check: VI_RX_OK, or the EF_EVENT_RX_DISCARD_* reason for a bad
 * frame whose error class is in mask (EF_VI_DISCARD_RX_*). */
int vi_rx_check(const uint8_t* f, uint32_t len, uint64_t mask);

/* vi_rx_deliver: copy one frame into the next posted buffers and write its
 * events. Returns the number of events written (1 RX_NO_DESC_TRUNC when no
 * buffer is posted), or 0 when the frame needs more than `room` events but
 * fits room_total (the caller keeps it for the next poll). */
int vi_rx_deliver(ef_vi* vi, struct vi_swq* q, const uint8_t* frame,
                  uint32_t len, ef_event* evs, int room, int room_total,
                  const struct timespec* ts);

/* vi_receive_init / vi_receive_push: the ef_vi receive_init and
 * receive_push operations over q (backends whose kernel ring is filled
 * independently of posted buffers use them directly). */
int vi_receive_init(ef_vi* vi, struct vi_swq* q, ef_addr addr,
                    ef_request_id id);
void vi_receive_push(struct vi_swq* q);

/* vi_tx_slot_begin: check ring space and the gather list of a transmit.
 * Returns the frame length (> 0), or -EAGAIN (ring full) / -EINVAL (an
 * address outside registered memory, empty frame). */
int vi_tx_slot_begin(ef_vi* vi, struct vi_swq* q, const ef_iovec* iov,
                     int iovcnt);
/* vi_tx_gather: copy the gather list into dst (len bytes). */
void vi_tx_gather(const struct vi_pd* pd, const ef_iovec* iov, int iovcnt,
                  char* dst);
/* vi_tx_slot_add: record a posted transmit with its state. */
void vi_tx_slot_add(struct vi_swq* q, ef_request_id id, uint8_t state);

/* vi_tx_events: report finished slots (see the file comment). */
int vi_tx_events(ef_vi* vi, struct vi_swq* q, ef_event* evs, int budget);

/* Bytes of storage for a stats layout of n fields (see below). */
#define VI_STATS_LAYOUT_SIZE(n) \
  (sizeof(ef_vi_stats_layout) + (size_t)(n) * sizeof(ef_vi_stats_field_layout))

/* vi_stats_layout_make: lay out n uint64_t counters named names[], in
 * that order, in storage (VI_STATS_LAYOUT_SIZE(n) bytes, 8-aligned, kept
 * by the caller for as long as the layout is used). */
const ef_vi_stats_layout* vi_stats_layout_make(void* storage,
                                               const char* const* names,
                                               int n);

/* vi_tx_all_done: true if no posted transmit is still pending. */
int vi_tx_all_done(const struct vi_swq* q);

#endif /* ANYLOAD_VI_SWQ_H */
