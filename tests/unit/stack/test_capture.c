/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/capture.c with the reader of common/stack_shm.c
 * (stack_cap_next), on a VI-less stack object with a small ring: nothing
 * is written while no reader is attached; frames come out whole, in
 * order, with their direction, length and time, across many wraps of
 * the ring; snaplen cuts the copy but keeps the wire length; a full ring
 * counts drops and never overwrites what the reader has not consumed;
 * garbage in the ring is reported, not followed.
 */
#include "unit_test.h"
#include "stack/publish.h"

#include <errno.h>
#include <stdlib.h>

#define RING 4096u

struct fx {
  struct anyload_stack* st;
  struct st_pub* pub;
  uint8_t* mem;
  uint64_t tail;
};

static void fx_new(struct fx* f)
{
  memset(f, 0, sizeof(*f));
  f->st = calloc(1, sizeof(*f->st));
  f->pub = calloc(1, sizeof(*f->pub));
  f->mem = calloc(1, sizeof(struct anyload_shm_cap) + RING);
  CHECK_PTR(f->mem, !=, NULL);
  f->pub->cap = (struct anyload_shm_cap*)(void*)f->mem;
  f->pub->cap_data = f->mem + sizeof(struct anyload_shm_cap);
  f->pub->cap->size = RING;
  f->st->pub = f->pub;
}

static void fx_free(struct fx* f)
{
  free(f->mem);
  free(f->pub);
  free(f->st);
}

static void frame_of(uint8_t* buf, unsigned len, unsigned seq)
{
  unsigned k;

  for (k = 0; k < len; k++)
    buf[k] = (uint8_t)(seq * 7u + k);
}

/* take: the next frame, checked against seq and len (0: none expected). */
static void take(struct fx* f, unsigned seq, unsigned len, unsigned caplen,
                 unsigned dir)
{
  struct anyload_cap_rec rec;
  const uint8_t* data;
  uint8_t want[2048];
  uint64_t head = __atomic_load_n(&f->pub->cap->head, __ATOMIC_ACQUIRE);
  int rc = stack_cap_next(f->pub->cap, f->pub->cap_data, &f->tail, head,
                          &rec, &data);

  if (!len) {
    CHECK(rc, ==, 0);
    return;
  }
  CHECK(rc, ==, 1);
  CHECK(rec.wire_len, ==, len);
  CHECK(rec.caplen, ==, caplen);
  CHECK(rec.dir, ==, dir);
  CHECK(rec.ts_ns, ==, (int64_t)seq * 1000);
  frame_of(want, caplen, seq);
  CHECK_MEM(data, want, caplen);
  __atomic_store_n(&f->pub->cap->tail, f->tail, __ATOMIC_RELEASE);
}

static void put(struct fx* f, unsigned seq, unsigned len, unsigned dir)
{
  uint8_t buf[4096];

  frame_of(buf, len, seq);
  f->st->now = (int64_t)seq * 1000;
  st__cap(f->st, buf, len, dir);
}

static void test_capture_off_writes_nothing(void)
{
  struct fx f;

  fx_new(&f);
  put(&f, 1, 60, ANYLOAD_CAP_RX);
  CHECK(f.pub->cap->head, ==, 0);
  CHECK(f.pub->cap->frames, ==, 0);
  /* And a stack without shared state (unit-test objects) is fine. */
  f.st->pub = NULL;
  put(&f, 1, 60, ANYLOAD_CAP_RX);
  fx_free(&f);
}

static void test_capture_in_order_across_wraps(void)
{
  struct fx f;
  unsigned seq;

  fx_new(&f);
  f.pub->cap->on = 1;
  /* Sizes that do not divide the ring, so records hit its end at every
   * offset; the reader keeps up. */
  for (seq = 0; seq < 500; seq++) {
    unsigned len = 42 + (seq * 37u) % 1400u;
    unsigned dir = seq % 2 ? ANYLOAD_CAP_TX : ANYLOAD_CAP_RX;
    put(&f, seq, len, dir);
    take(&f, seq, len, len, dir);
  }
  take(&f, 0, 0, 0, 0);
  CHECK(f.pub->cap->frames, ==, 500);
  CHECK(f.pub->cap->drops, ==, 0);
  CHECK(f.pub->cap->head, >, 10 * RING);
  fx_free(&f);
}

static void test_capture_snaplen(void)
{
  struct fx f;

  fx_new(&f);
  f.pub->cap->on = 1;
  f.pub->cap->snaplen = 64;
  put(&f, 3, 1000, ANYLOAD_CAP_RX);
  put(&f, 4, 20, ANYLOAD_CAP_TX);
  take(&f, 3, 1000, 64, ANYLOAD_CAP_RX);
  take(&f, 4, 20, 20, ANYLOAD_CAP_TX);
  fx_free(&f);
}

static void test_capture_full_ring_drops(void)
{
  struct fx f;
  unsigned seq, kept;

  fx_new(&f);
  f.pub->cap->on = 1;
  /* 1000-byte frames take 1024 bytes each: 4 fit, the rest drop. */
  for (seq = 0; seq < 10; seq++)
    put(&f, seq, 1000, ANYLOAD_CAP_RX);
  kept = (unsigned)f.pub->cap->frames;
  CHECK(kept, ==, 4);
  CHECK(f.pub->cap->drops, ==, 6);
  for (seq = 0; seq < kept; seq++)
    take(&f, seq, 1000, 1000, ANYLOAD_CAP_RX);
  take(&f, 0, 0, 0, 0);
  /* Room again once consumed. */
  put(&f, 20, 1000, ANYLOAD_CAP_RX);
  take(&f, 20, 1000, 1000, ANYLOAD_CAP_RX);
  /* A frame larger than half the ring is never taken (and not counted
   * as a drop of the reader's making either). */
  put(&f, 21, 2100, ANYLOAD_CAP_RX);
  take(&f, 0, 0, 0, 0);
  fx_free(&f);
}

static void test_capture_garbage_detected(void)
{
  struct fx f;
  struct anyload_cap_rec rec;
  const uint8_t* data;
  uint64_t tail = 0;

  fx_new(&f);
  memset(f.pub->cap_data, 0xff, 64);
  CHECK(stack_cap_next(f.pub->cap, f.pub->cap_data, &tail, 64, &rec, &data),
        ==, -EPROTO);
  CHECK(tail, ==, 64);
  fx_free(&f);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_capture_off_writes_nothing),
  UNIT_TEST(test_capture_in_order_across_wraps),
  UNIT_TEST(test_capture_snaplen),
  UNIT_TEST(test_capture_full_ring_drops),
  UNIT_TEST(test_capture_garbage_detected),
};
UNIT_TEST_MAIN(tests)
