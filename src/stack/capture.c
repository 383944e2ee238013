/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/capture.c: frames into the capture ring of the stack's shared
 * state, for anyload_tcpdump (ring protocol in common/stack_shm.h).
 *
 * Layer: stack. Called through st__cap (publish.h) only while a reader
 * has set cap->on: from stack.c for every frame received (before any
 * check, so malformed frames are seen too) and every frame handed to the
 * VI. The stack is the single producer and never waits: when the reader
 * is behind, the frame is counted in cap->drops and skipped.
 */
#include "stack/publish.h"

#include <string.h>

void st__cap_frame(struct anyload_stack* st, const uint8_t* f, unsigned len,
                   unsigned dir)
{
  struct anyload_shm_cap* c = st->pub->cap;
  struct anyload_cap_rec rec;
  uint32_t size = c->size, snap = __atomic_load_n(&c->snaplen,
                                                  __ATOMIC_RELAXED);
  uint64_t head = c->head, tail, pos, room, need, total;
  unsigned caplen = len;

  if (snap && caplen > snap)
    caplen = snap;
  need = (sizeof(rec) + caplen + 7u) & ~(uint64_t)7u;
  if (need > size / 2)
    return;
  pos = head & (size - 1u);
  room = size - pos;
  /* A record never wraps: when it does not fit before the end, a pad
   * record fills the end and the record starts the ring again. Every
   * record is a multiple of 8, so room is at least a record header's
   * rec_len field. */
  total = need <= room ? need : room + need;
  /* Acquire: the reader's copies out of the ring are done before it
   * advanced tail, so the bytes up to tail may be overwritten. */
  tail = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
  if (head - tail + total > size) {
    __atomic_store_n(&c->drops, c->drops + 1, __ATOMIC_RELAXED);
    return;
  }
  if (need > room) {
    struct anyload_cap_rec pad = { .rec_len = (uint32_t)room,
                                   .dir = ANYLOAD_CAP_PAD };
    memcpy(st->pub->cap_data + pos, &pad,
           room < sizeof(pad) ? room : sizeof(pad));
    pos = 0;
  }
  rec.rec_len = (uint32_t)need;
  rec.caplen = caplen;
  rec.wire_len = len;
  rec.dir = dir;
  rec.ts_ns = st->now;
  memcpy(st->pub->cap_data + pos, &rec, sizeof(rec));
  memcpy(st->pub->cap_data + pos + sizeof(rec), f, caplen);
  __atomic_store_n(&c->frames, c->frames + 1, __ATOMIC_RELAXED);
  /* Release: the record's bytes are visible before the new head. */
  __atomic_store_n(&c->head, head + total, __ATOMIC_RELEASE);
}
