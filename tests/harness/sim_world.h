/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/harness/sim_world.h: the pieces that the unit tests' simulated
 * worlds (tcp_sim.h, test_udp_sim.c, test_publish.c) are built of,
 * header-only, for tests that include unit_test.h first:
 *
 *   sim_link_open   the sim backend on the virtual clock and a link
 *                   <name>A-<name>B between the MACs sim_mac_a, sim_mac_b
 *   struct sim_env  the static environment of one end (SIM_IP_A on A,
 *                   SIM_IP_B on B, in 198.18.0.0/24, the other end's MAC
 *                   known): its callbacks' common parts, and
 *                   sim_stack_open for a stack on one end
 *   sim_advance     the clock to the next event: a frame on the link or
 *                   a stack's deadline
 *   struct sim_raw  a raw VI on one end of a link, with no filter: it
 *                   captures every frame it receives (sim_raw_poll) and
 *                   sends hand-made ones (sim_raw_send, or sim_raw_tx_buf
 *                   then sim_raw_tx to build a frame in place)
 */
#ifndef ANYLOAD_TESTS_SIM_WORLD_H
#define ANYLOAD_TESTS_SIM_WORLD_H

#include <anyload/sim.h>
#include <anyload/stack.h>
#include <arpa/inet.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <stdlib.h>
#include <sys/mman.h>

static const uint8_t sim_mac_a[6] = { 0x02, 0, 0, 0, 0x0a, 0x0a };
static const uint8_t sim_mac_b[6] = { 0x02, 0, 0, 0, 0x0b, 0x0b };

#define SIM_IP_A "198.18.0.1"
#define SIM_IP_B "198.18.0.2"

/* ---- the link and the clock ------------------------------------------- */

/* sim_link_open: ANYLOAD_BACKEND=sim, the virtual clock (set to 1000 s
 * the first time), and the link ifn[0]-ifn[1] ("<name>A", "<name>B") with
 * cfg (NULL: a perfect link); cfg's MACs are set to sim_mac_a/b. */
static __attribute__((unused)) void
sim_link_open(char ifn[2][16], const char* name,
              struct anyload_sim_config* cfg)
{
  struct anyload_sim_config c;

  CHECK(setenv("ANYLOAD_BACKEND", "sim", 1), ==, 0);
  if (!anyload_sim_clock_is_virtual())
    CHECK(anyload_sim_clock_set(1000 * 1000000000ll), ==, 0);
  if (!cfg) {
    anyload_sim_config_init(&c);
    cfg = &c;
  }
  memcpy(cfg->mac_a, sim_mac_a, 6);
  memcpy(cfg->mac_b, sim_mac_b, 6);
  snprintf(ifn[0], 16, "%sA", name);
  snprintf(ifn[1], 16, "%sB", name);
  CHECK(anyload_sim_link_create(ifn[0], ifn[1], cfg), ==, 0);
}

/* sim_advance: moves the clock from now to the next event (a frame on
 * the link, the next deadline of the stacks st[0], st[1] that are not
 * NULL), at least 1 us on, at most to end. */
static __attribute__((unused)) void
sim_advance(struct anyload_stack* const st[2], int64_t now, int64_t end)
{
  int64_t next = anyload_sim_next_event();
  int k;

  for (k = 0; k < 2; k++)
    if (st[k]) {
      int64_t d = anyload_stack_next_deadline(st[k]);
      if (d < next)
        next = d;
    }
  if (next <= now)
    next = now + 1000;
  if (next > end)
    next = end;
  CHECK(anyload_sim_clock_advance(next - now), ==, 0);
}

/* ---- the static environment of one end ------------------------------- */

/* A test's environment struct starts with a struct sim_env (its ctx for
 * the stack's callbacks points at both). */
struct sim_env {
  int      ifindex;
  uint32_t local_be32;
  uint32_t peer_be32;
  uint8_t  peer_mac[6];
};

/* sim_env_init: the addresses of end 0 (A) or 1 (B). */
static __attribute__((unused)) void sim_env_init(struct sim_env* e, int end)
{
  e->local_be32 = inet_addr(end ? SIM_IP_B : SIM_IP_A);
  e->peer_be32 = inet_addr(end ? SIM_IP_A : SIM_IP_B);
  memcpy(e->peer_mac, end ? sim_mac_a : sim_mac_b, 6);
}

/* sim_route_unicast: out is a unicast route to dst, on-link from e. */
static __attribute__((unused)) void sim_route_unicast(const struct sim_env* e,
                                                      uint32_t dst,
                                                      struct anyload_route* out)
{
  memset(out, 0, sizeof(*out));
  out->ifindex = e->ifindex;
  out->src_be32 = e->local_be32;
  out->nexthop_be32 = dst;
  out->type = ANYLOAD_ROUTE_UNICAST;
}

/* sim_env_addr_ifindex: the addr_ifindex callback (ctx: a struct
 * sim_env, or a struct that starts with one). */
static __attribute__((unused)) int sim_env_addr_ifindex(void* ctx, uint32_t ip)
{
  struct sim_env* e = ctx;

  return ip == e->local_be32 ? e->ifindex : -EADDRNOTAVAIL;
}

/* sim_config_of: a copy of base, or the defaults if base is NULL. */
static __attribute__((unused)) struct anyload_stack_config
sim_config_of(const struct anyload_stack_config* base)
{
  struct anyload_stack_config sc;

  if (base)
    sc = *base;
  else
    anyload_stack_config_init(&sc);
  return sc;
}

/* sim_stack_open: a stack on ifname with configuration sc and
 * environment ev (whose ctx is e); sets e->ifindex. */
static __attribute__((unused)) struct anyload_stack*
sim_stack_open(struct anyload_stack_config* sc, const char* ifname,
               const struct anyload_stack_env* ev, struct sim_env* e)
{
  struct anyload_stack* st;

  sc->ifname = ifname;
  CHECK(anyload_stack_create(sc, ev, &st), ==, 0);
  e->ifindex = anyload_stack_ifindex(st);
  return st;
}

static __attribute__((unused)) struct sockaddr_in sim_sin(const char* ip,
                                                          uint16_t port)
{
  struct sockaddr_in s;

  memset(&s, 0, sizeof(s));
  s.sin_family = AF_INET;
  s.sin_addr.s_addr = inet_addr(ip);
  s.sin_port = htons(port);
  return s;
}

/* ---- a raw VI ----------------------------------------------------------- */

#define SIM_RAW_BUF     2048
#define SIM_RAW_MAX_CAP 1024

struct sim_raw {
  ef_driver_handle dh;
  ef_pd    pd;
  ef_memreg mr;
  ef_vi    vi;
  uint8_t* mem;                 /* n_bufs receive buffers, n_bufs to send */
  unsigned n_bufs;
  unsigned cap_max;             /* frames captured at most */
  int      cap_strict;          /* 1: one more frame fails the test,
                                 * 0: it is not captured */
  unsigned next_tx;
  unsigned n_cap, rd;           /* captured; read by the test so far */
  unsigned cap_len[SIM_RAW_MAX_CAP];
  uint8_t  cap[SIM_RAW_MAX_CAP][SIM_RAW_BUF];
};

/* sim_raw_open: a raw VI on ifname with n_bufs buffers each way, which
 * captures up to cap_max (at most SIM_RAW_MAX_CAP) frames. */
static __attribute__((unused)) struct sim_raw* sim_raw_open(const char* ifname,
                                                            unsigned n_bufs,
                                                            unsigned cap_max,
                                                            int cap_strict)
{
  struct sim_raw* r = calloc(1, sizeof(*r));
  unsigned i;

  CHECK_PTR(r, !=, NULL);
  CHECK(cap_max, <=, SIM_RAW_MAX_CAP);
  r->n_bufs = n_bufs;
  r->cap_max = cap_max;
  r->cap_strict = cap_strict;
  CHECK(ef_driver_open(&r->dh), ==, 0);
  CHECK(ef_pd_alloc_by_name(&r->pd, r->dh, ifname, EF_PD_DEFAULT), ==, 0);
  r->mem = mmap(NULL, 2 * n_bufs * SIM_RAW_BUF, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK_PTR(r->mem, !=, MAP_FAILED);
  CHECK(ef_memreg_alloc(&r->mr, r->dh, &r->pd, r->dh, r->mem,
                        2 * n_bufs * SIM_RAW_BUF), ==, 0);
  CHECK(ef_vi_alloc_from_pd(&r->vi, r->dh, &r->pd, r->dh, -1, 256, 256, NULL,
                            -1, EF_VI_FLAGS_DEFAULT), >=, 0);
  ef_vi_receive_set_discards(&r->vi, 0);
  for (i = 0; i < n_bufs; i++)
    CHECK(ef_vi_receive_post(&r->vi,
                             ef_memreg_dma_addr(&r->mr, i * SIM_RAW_BUF),
                             (ef_request_id)i), ==, 0);
  return r;
}

static __attribute__((unused)) void sim_raw_close(struct sim_raw* r)
{
  CHECK(ef_vi_free(&r->vi, r->dh), ==, 0);
  CHECK(ef_memreg_free(&r->mr, r->dh), ==, 0);
  CHECK(ef_pd_free(&r->pd, r->dh), ==, 0);
  munmap(r->mem, 2 * r->n_bufs * SIM_RAW_BUF);
  CHECK(ef_driver_close(r->dh), ==, 0);
  free(r);
}

/* sim_raw_poll: capture received frames, reclaim sent ones. Returns the
 * number of events. */
static __attribute__((unused)) int sim_raw_poll(struct sim_raw* r)
{
  ef_event evs[16];
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int n, i, total = 0;

  while ((n = ef_eventq_poll(&r->vi, evs, 16)) > 0) {
    total += n;
    for (i = 0; i < n; i++) {
      unsigned t = EF_EVENT_TYPE(evs[i]);
      if (t == EF_EVENT_TYPE_TX || t == EF_EVENT_TYPE_TX_ERROR) {
        ef_vi_transmit_unbundle(&r->vi, &evs[i], ids);
      } else if (t == EF_EVENT_TYPE_RX) {
        unsigned id = (unsigned)EF_EVENT_RX_RQ_ID(evs[i]);
        unsigned len = EF_EVENT_RX_BYTES(evs[i]);
        if (r->cap_strict)
          CHECK(r->n_cap, <, r->cap_max);
        if (r->n_cap < r->cap_max) {
          memcpy(r->cap[r->n_cap], r->mem + id * SIM_RAW_BUF, len);
          r->cap_len[r->n_cap++] = len;
        }
        CHECK(ef_vi_receive_post(&r->vi,
                                 ef_memreg_dma_addr(&r->mr, id * SIM_RAW_BUF),
                                 (ef_request_id)id), ==, 0);
      }
    }
  }
  return total;
}

/* sim_raw_tx_buf: the next send buffer (its number in *b), for a frame
 * built in place and sent with sim_raw_tx. */
static __attribute__((unused)) uint8_t* sim_raw_tx_buf(struct sim_raw* r,
                                                       unsigned* b)
{
  *b = r->n_bufs + r->next_tx++ % r->n_bufs;
  return r->mem + *b * SIM_RAW_BUF;
}

static __attribute__((unused)) void sim_raw_tx(struct sim_raw* r, unsigned b,
                                               unsigned len)
{
  CHECK(ef_vi_transmit(&r->vi, ef_memreg_dma_addr(&r->mr, b * SIM_RAW_BUF),
                       (int)len, (ef_request_id)b), ==, 0);
}

static __attribute__((unused)) void sim_raw_send(struct sim_raw* r,
                                                 const uint8_t* frame,
                                                 unsigned len)
{
  unsigned b;

  memcpy(sim_raw_tx_buf(r, &b), frame, len);
  sim_raw_tx(r, b, len);
}

#endif /* ANYLOAD_TESTS_SIM_WORLD_H */
