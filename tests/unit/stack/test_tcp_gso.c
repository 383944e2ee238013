/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the stack's TCP super-frames (tcp_out.c, emit_gso, with
 * ef_vi_transmitv_gso on a sim link that cuts them as Linux's GSO does):
 * the same conversation run twice from the same virtual time, once on a
 * link without GSO and once with, must put byte-for-byte the same frames
 * on the wire (IP IDs, sequence numbers, PSH on the last segment of a
 * burst only, timestamps, windows, checksums), while the second run sent
 * its runs of full segments as super-frames; what stops a super-frame
 * (a window of less than two segments, a capture reader) is also covered.
 */
#include "unit_test.h"
#include "tcp_sim.h"

#include "common/stack_shm.h"

#include <anyload/stack_obs.h>

#define MAX_FRAMES 64

struct wire {
  unsigned n;
  unsigned len[MAX_FRAMES];
  uint8_t  f[MAX_FRAMES][SIM_RAW_BUF];
};

/* drain: every frame the peer captured so far, appended to out. */
static void drain(struct tw* w, struct wire* out)
{
  struct sim_raw* r = w->raw;

  tw_poll_all(w);
  while (r->rd < r->n_cap) {
    CHECK(out->n, <, MAX_FRAMES);
    out->len[out->n] = r->cap_len[r->rd];
    memcpy(out->f[out->n], r->cap[r->rd], r->cap_len[r->rd]);
    out->n++;
    r->rd++;
  }
}

static void peer_ack(struct tw* w, struct tw_conn* c, uint32_t ack,
                     uint16_t win)
{
  struct tw_seg s = tw_seg_init(80, c->lport);

  s.flags = ST_TCP_ACK;
  s.seq = c->p_nxt;
  s.ack = ack;
  s.win = win;
  tw_peer_send(w, &s);
}

/* conversation: connect, then with TCP_NODELAY: 5300 bytes at once (five
 * full segments and a short one); acknowledged with a window of 2500: 6000
 * more (two segments fit); the window opens: the other four; 3000 bytes
 * and shutdown (three segments, then the FIN). Every frame on the wire goes
 * to out; the stack's counters of super-frames to *gso_frames and
 * *gso_segs. */
static void conversation(int gso, int64_t t0, struct wire* out,
                         uint64_t* gso_frames, uint64_t* gso_segs)
{
  static uint8_t data[8192];
  struct anyload_sim_config cfg;
  struct tw w;
  struct tw_conn c;
  uint32_t sent;
  int one = 1;

  CHECK(anyload_sim_clock_set(t0), ==, 0);
  anyload_sim_config_init(&cfg);
  cfg.gso = (unsigned)gso;
  tw_open(&w, "gs", &cfg, TW_PEER);
  memset(out, 0, sizeof(*out));
  tw_establish(&w, &c, 0);
  CHECK(anyload_tcp_setsockopt(w.st[0], c.sd, IPPROTO_TCP, TCP_NODELAY,
                               &one, sizeof(one), tw_now()), ==, 0);
  drain(&w, out);

  tw_fill(data, 5300, 0, 3);
  CHECK(tw_send(w.st[0], c.sd, data, 5300), ==, 5300);
  drain(&w, out);
  sent = 5300;
  tw_run(&w, 1 * TW_MS);
  peer_ack(&w, &c, c.a_nxt + sent, 2500);
  tw_fill(data, 6000, sent, 3);
  CHECK(tw_send(w.st[0], c.sd, data, 6000), ==, 6000);
  drain(&w, out);
  tw_run(&w, 1 * TW_MS);
  peer_ack(&w, &c, c.a_nxt + sent + 2000, 65535);
  drain(&w, out);
  sent += 6000;
  tw_run(&w, 1 * TW_MS);
  peer_ack(&w, &c, c.a_nxt + sent, 65535);
  tw_fill(data, 3000, sent, 3);
  CHECK(tw_send(w.st[0], c.sd, data, 3000), ==, 3000);
  CHECK(anyload_tcp_shutdown(w.st[0], c.sd, SHUT_WR, tw_now()), ==, 0);
  drain(&w, out);
  *gso_frames = tw_stat(w.st[0], "tcp_tx_gso_frames");
  *gso_segs = tw_stat(w.st[0], "tcp_tx_gso_segs");
  tw_abort(&w, &c);
  tw_close(&w);
}

static void test_tcp_gso_same_frames_as_segments(void)
{
  static struct wire plain, gso;
  uint64_t frames0, segs0, frames1, segs1;
  int64_t t0 = tw_now() + 10 * TW_SEC;
  unsigned i, data_frames = 0;

  /* The clock must be virtual before it can be set back. */
  conversation(0, t0, &plain, &frames0, &segs0);
  conversation(1, t0, &gso, &frames1, &segs1);
  CHECK(frames0, ==, 0);
  CHECK(segs0, ==, 0);
  /* 5 of the first burst (its short tail goes alone), 2 of the
   * window-limited one, the 4 that the opened window lets go, and the
   * last 3 (the FIN follows alone). */
  CHECK(frames1, ==, 4);
  CHECK(segs1, ==, 5 + 2 + 4 + 3);
  CHECK(gso.n, ==, plain.n);
  for (i = 0; i < plain.n; i++) {
    CHECK(gso.len[i], ==, plain.len[i]);
    CHECK_MEM(gso.f[i], plain.f[i], plain.len[i]);
    if (plain.len[i] > 100)
      data_frames++;
  }
  /* 6 + 2 + 4 (the window opened) + 3 data segments. */
  CHECK(data_frames, ==, 6 + 2 + 4 + 3);
}

/* With a capture reader attached, tcpdump sees each segment as it is:
 * no super-frames. */
static void test_tcp_gso_off_while_capturing(void)
{
  static uint8_t data[8192];
  struct anyload_sim_config cfg;
  struct tw w;
  struct tw_conn c;
  struct tw_got g;
  struct stack_shm shm;
  struct anyload_shm_cap* cap;
  const char* path;
  int one = 1;
  unsigned k;

  anyload_sim_config_init(&cfg);
  cfg.gso = 1;
  tw_open(&w, "gc", &cfg, TW_PEER);
  tw_establish(&w, &c, 0);
  CHECK(anyload_tcp_setsockopt(w.st[0], c.sd, IPPROTO_TCP, TCP_NODELAY,
                               &one, sizeof(one), tw_now()), ==, 0);
  /* What anyload_tcpdump does to attach. */
  path = anyload_stack_shm_path(w.st[0]);
  CHECK_PTR(path, !=, NULL);
  CHECK(stack_shm_open(path, &shm), ==, 0);
  cap = (struct anyload_shm_cap*)(void*)((uint8_t*)shm.base +
                                         stack_shm_hdr(&shm)->cap_off);
  __atomic_store_n(&cap->on, 1, __ATOMIC_RELEASE);
  tw_fill(data, 4000, 0, 5);
  CHECK(tw_send(w.st[0], c.sd, data, 4000), ==, 4000);
  for (k = 0; k < 4; k++) {
    CHECK(tw_peer_next(&w, &g), ==, 1);
    CHECK(g.h.seq, ==, c.a_nxt + 1000u * k);
  }
  tw_peer_none(&w);
  CHECK(tw_stat(w.st[0], "tcp_tx_gso_frames"), ==, 0);
  /* The frames were captured; detached, super-frames are back. */
  CHECK(__atomic_load_n(&cap->frames, __ATOMIC_ACQUIRE), >=, 4);
  __atomic_store_n(&cap->on, 0, __ATOMIC_RELEASE);
  stack_shm_close(&shm);
  tw_fill(data, 3000, 4000, 5);
  CHECK(tw_send(w.st[0], c.sd, data, 3000), ==, 3000);
  for (k = 0; k < 3; k++) {
    CHECK(tw_peer_next(&w, &g), ==, 1);
    CHECK(g.h.seq, ==, c.a_nxt + 4000u + 1000u * k);
  }
  CHECK(tw_stat(w.st[0], "tcp_tx_gso_frames"), ==, 1);
  tw_abort(&w, &c);
  tw_close(&w);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_gso_same_frames_as_segments),
  UNIT_TEST(test_tcp_gso_off_while_capturing),
};
UNIT_TEST_MAIN(tests)
