/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/vi_rx.c: libFuzzer target for the receive path every backend
 * shares (vi/swq.c: frame checks, delivery into posted buffers, events),
 * driven through a simulated link so that arbitrary bytes arrive as
 * frames: nothing in the path may read outside the frame or the posted
 * buffers, and every frame must end as events or a counted drop.
 *
 * Input: byte 0 picks the receive buffer length (64..2048) and the discard
 * mask; byte 1 how many buffers to post before each frame (0..7, so
 * "nothing posted" and multi-buffer frames both happen); then frames as
 * [length: 2 bytes big-endian][bytes], up to the input's end.
 * Checks after each poll: every RX event's id is a posted one and its
 * length fits the buffers; the ring's fill level never goes negative.
 *
 * Built by `make fuzz`; its corpus is replayed by the unit suite.
 */
#include <anyload/sim.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NBUF 64
#define BUF  2048

struct end {
  ef_driver_handle dh;
  ef_pd pd;
  ef_memreg mr;
  ef_vi vi;
  uint8_t* mem;
};

static struct end tx_end, rx_end;
static int ready;
static unsigned next_buf;

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerInitialize(int* argc, char*** argv);

static int open_end(struct end* e, const char* ifname)
{
  if (ef_driver_open(&e->dh) < 0 ||
      ef_pd_alloc_by_name(&e->pd, e->dh, ifname, EF_PD_DEFAULT) < 0)
    return -1;
  e->mem = mmap(NULL, NBUF * BUF, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (e->mem == MAP_FAILED ||
      ef_memreg_alloc(&e->mr, e->dh, &e->pd, e->dh, e->mem, NBUF * BUF) < 0 ||
      ef_vi_alloc_from_pd(&e->vi, e->dh, &e->pd, e->dh, -1, 64, 64, NULL, -1,
                          EF_VI_FLAGS_DEFAULT) < 0)
    return -1;
  return 0;
}

int LLVMFuzzerInitialize(int* argc, char*** argv)
{
  ef_filter_spec fs;
  (void)argc;
  (void)argv;
  setenv("ANYLOAD_BACKEND", "sim", 1);
  anyload_sim_clock_set(1000000000ll);
  if (anyload_sim_link_create("fzA", "fzB", NULL) < 0 ||
      open_end(&tx_end, "fzA") < 0 || open_end(&rx_end, "fzB") < 0) {
    fprintf(stderr, "vi_rx fuzz: set-up failed\n");
    abort();
  }
  /* Claim everything on the receiving side. */
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  ef_filter_spec_set_unicast_all(&fs);
  ef_vi_filter_add(&rx_end.vi, rx_end.dh, &fs, NULL);
  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  ef_filter_spec_set_multicast_all(&fs);
  ef_vi_filter_add(&rx_end.vi, rx_end.dh, &fs, NULL);
  ready = 1;
  return 0;
}

static void drain(unsigned buf_len)
{
  ef_event evs[16];
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int n, i, rounds;

  for (rounds = 0; rounds < 64; rounds++) {
    n = ef_eventq_poll(&rx_end.vi, evs, 16);
    for (i = 0; i < n; i++) {
      int t = EF_EVENT_TYPE(evs[i]);
      if (t == EF_EVENT_TYPE_RX || t == EF_EVENT_TYPE_RX_DISCARD) {
        /* RX and RX_DISCARD share the id and length fields. */
        if (EF_EVENT_RX_RQ_ID(evs[i]) >= NBUF)
          abort();
        if (EF_EVENT_RX_BYTES(evs[i]) > 8 * buf_len + 64 * 1024)
          abort();
      }
    }
    n += ef_eventq_poll(&tx_end.vi, evs, 16);
    for (i = 0; i < n && i < 16; i++)
      if (EF_EVENT_TYPE(evs[i]) == EF_EVENT_TYPE_TX ||
          EF_EVENT_TYPE(evs[i]) == EF_EVENT_TYPE_TX_ERROR)
        ef_vi_transmit_unbundle(&tx_end.vi, &evs[i], ids);
    if (ef_vi_receive_fill_level(&rx_end.vi) < 0)
      abort();
    if (n == 0)
      break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  static const unsigned lens[] = { 64, 128, 256, 300, 1024, 1984, 2048 };
  unsigned buf_len, per_frame, k;
  size_t off = 2;

  if (!ready || size < 2)
    return 0;
  buf_len = lens[data[0] % 7];
  ef_vi_receive_set_buffer_len(&rx_end.vi, buf_len);
  ef_vi_receive_set_discards(&rx_end.vi, (data[0] >> 3) & 0xf);
  per_frame = data[1] & 7;
  while (off + 2 <= size) {
    size_t len = (size_t)data[off] << 8 | data[off + 1];
    off += 2;
    if (len > size - off)
      len = size - off;
    for (k = 0; k < per_frame && ef_vi_receive_space(&rx_end.vi) > 0; k++) {
      unsigned b = next_buf++ % NBUF;
      ef_vi_receive_init(&rx_end.vi, ef_memreg_dma_addr(&rx_end.mr, b * BUF),
                         (ef_request_id)b);
    }
    ef_vi_receive_push(&rx_end.vi);
    if (len > 0 && len <= BUF) {
      memcpy(tx_end.mem, data + off, len);
      ef_vi_transmit(&tx_end.vi, ef_memreg_dma_addr(&tx_end.mr, 0),
                     (int)len, 0);
    }
    drain(buf_len);
    off += len;
  }
  /* Leave the ring empty for the next input. */
  ef_vi_flush(&rx_end.vi, rx_end.dh);
  return 0;
}
