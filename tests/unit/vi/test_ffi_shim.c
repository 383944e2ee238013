/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for vi/ffi_shim.c: each exported anyload_ffi_* call does what
 * the ef_vi macro or inline function it stands for does (checked on a
 * hand-made ef_vi whose ops are stubs that record their arguments, so no
 * privilege or network is needed), the event codec agrees with the
 * EF_EVENT_* accessors for every event type, and the layout queries match
 * sizeof/_Alignof.
 */
#include "unit_test.h"

#include <anyload/ffi.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <sys/mman.h>

/* ---- a VI whose ops record their calls ------------------------------------ */

static struct {
  int           calls;
  ef_vi*        vi;
  ef_addr       addr;
  int           len;
  ef_request_id id;
  const ef_iovec* iov;
  ef_event*     evs;
} rec;

static int stub_receive_init(ef_vi* vi, ef_addr a, ef_request_id id)
{
  rec.calls++; rec.vi = vi; rec.addr = a; rec.id = id;
  return -EAGAIN;
}

static void stub_push(ef_vi* vi)
{
  rec.calls++; rec.vi = vi;
}

static int stub_transmit(ef_vi* vi, ef_addr a, int len, ef_request_id id)
{
  rec.calls++; rec.vi = vi; rec.addr = a; rec.len = len; rec.id = id;
  return 0;
}

static int stub_transmitv(ef_vi* vi, const ef_iovec* iov, int n,
                          ef_request_id id)
{
  rec.calls++; rec.vi = vi; rec.iov = iov; rec.len = n; rec.id = id;
  return -EINVAL;
}

static int stub_poll(ef_vi* vi, ef_event* evs, int n)
{
  rec.calls++; rec.vi = vi; rec.evs = evs; rec.len = n;
  evs[0].generic.type = EF_EVENT_TYPE_OFLOW;
  return 1;
}

static ef_vi_state fake_state;

static void fake_vi(ef_vi* vi)
{
  memset(vi, 0, sizeof(*vi));
  memset(&fake_state, 0, sizeof(fake_state));
  memset(&rec, 0, sizeof(rec));
  vi->ep_state = &fake_state;
  vi->vi_rxq.mask = 511;
  vi->vi_txq.mask = 255;
  vi->rx_prefix_len = 16;
  vi->rx_buffer_len = 1984;
  vi->ops.receive_init = stub_receive_init;
  vi->ops.receive_push = stub_push;
  vi->ops.transmit = stub_transmit;
  vi->ops.transmitv = stub_transmitv;
  vi->ops.transmitv_init = stub_transmitv;
  vi->ops.transmit_push = stub_push;
  vi->ops.eventq_poll = stub_poll;
}

static void test_ffi_fast_path_dispatches_through_ops(void)
{
  ef_vi vi;
  ef_iovec iov[2];
  ef_event evs[4];

  fake_vi(&vi);
  CHECK(anyload_ffi_receive_init(&vi, 0x1234, 77), ==, -EAGAIN);
  CHECK_PTR(rec.vi, ==, &vi);
  CHECK(rec.addr, ==, (ef_addr)0x1234);
  CHECK(rec.id, ==, 77);
  anyload_ffi_receive_push(&vi);
  CHECK(rec.calls, ==, 2);

  CHECK(anyload_ffi_transmit(&vi, 0x5678, 60, 5), ==, 0);
  CHECK(rec.addr, ==, (ef_addr)0x5678);
  CHECK(rec.len, ==, 60);
  CHECK(rec.id, ==, 5);
  CHECK(anyload_ffi_transmitv(&vi, iov, 2, 6), ==, -EINVAL);
  CHECK_PTR(rec.iov, ==, iov);
  CHECK(rec.len, ==, 2);
  CHECK(anyload_ffi_transmitv_init(&vi, iov, 1, 7), ==, -EINVAL);
  CHECK(rec.id, ==, 7);
  anyload_ffi_transmit_push(&vi);
  CHECK(rec.calls, ==, 6);

  CHECK(anyload_ffi_eventq_poll(&vi, evs, 4), ==, 1);
  CHECK_PTR(rec.evs, ==, evs);
  CHECK(rec.len, ==, 4);
  CHECK(EF_EVENT_TYPE(evs[0]), ==, (unsigned)EF_EVENT_TYPE_OFLOW);
}

static void test_ffi_ring_queries_match_inlines(void)
{
  ef_vi vi;

  fake_vi(&vi);
  fake_state.rxq.added = 1000;
  fake_state.rxq.removed = 900;
  fake_state.txq.added = 70;
  fake_state.txq.removed = 60;
  CHECK(anyload_ffi_receive_capacity(&vi), ==, ef_vi_receive_capacity(&vi));
  CHECK(anyload_ffi_receive_capacity(&vi), ==, 511);
  CHECK(anyload_ffi_receive_fill_level(&vi), ==, 100);
  CHECK(anyload_ffi_receive_space(&vi), ==, 411);
  CHECK(anyload_ffi_transmit_capacity(&vi), ==, 255);
  CHECK(anyload_ffi_transmit_fill_level(&vi), ==, 10);
  CHECK(anyload_ffi_transmit_space(&vi), ==, 245);
  CHECK(anyload_ffi_receive_prefix_len(&vi), ==, 16);
  CHECK(anyload_ffi_receive_buffer_len(&vi), ==, 1984);
  anyload_ffi_receive_set_buffer_len(&vi, 1000);
  CHECK(ef_vi_receive_buffer_len(&vi), ==, 1000);
  CHECK(anyload_ffi_eventq_capacity(&vi), ==, ef_eventq_capacity(&vi));
  fake_state.evq.evq_ptr = 42;
  CHECK(anyload_ffi_eventq_current(&vi), ==, 42u);
}

/* ---- the event codec ------------------------------------------------------ */

static void test_ffi_decode_rx_matches_macros(void)
{
  struct anyload_ffi_event d;
  ef_event ev;

  memset(&ev, 0, sizeof(ev));
  ev.rx.type = EF_EVENT_TYPE_RX;
  ev.rx.q_id = 3;
  ev.rx.rq_id = 0xfedcba98u;
  ev.rx.len = 1514;
  ev.rx.flags = EF_EVENT_FLAG_SOP | EF_EVENT_FLAG_CONT;
  CHECK(anyload_ffi_event_decode(&ev, &d), ==, EF_EVENT_TYPE_RX);
  CHECK(d.type, ==, (uint32_t)EF_EVENT_TYPE(ev));
  CHECK(d.q_id, ==, (uint32_t)EF_EVENT_RX_Q_ID(ev));
  CHECK(d.rq_id, ==, (uint32_t)EF_EVENT_RX_RQ_ID(ev));
  CHECK(d.len, ==, (uint32_t)EF_EVENT_RX_BYTES(ev));
  CHECK(!!(d.flags & EF_EVENT_FLAG_SOP), ==, !!EF_EVENT_RX_SOP(ev));
  CHECK(!!(d.flags & EF_EVENT_FLAG_CONT), ==, !!EF_EVENT_RX_CONT(ev));
  CHECK(d.subtype, ==, 0u);
  CHECK(d.desc_id, ==, 0u);
}

static void test_ffi_decode_other_types_match_macros(void)
{
  struct anyload_ffi_event d;
  ef_event ev;

  memset(&ev, 0, sizeof(ev));
  ev.rx_discard.type = EF_EVENT_TYPE_RX_DISCARD;
  ev.rx_discard.rq_id = 9;
  ev.rx_discard.len = 60;
  ev.rx_discard.subtype = EF_EVENT_RX_DISCARD_CSUM_BAD;
  anyload_ffi_event_decode(&ev, &d);
  CHECK(d.rq_id, ==, (uint32_t)EF_EVENT_RX_DISCARD_RQ_ID(ev));
  CHECK(d.len, ==, (uint32_t)EF_EVENT_RX_DISCARD_BYTES(ev));
  CHECK(d.subtype, ==, (uint32_t)EF_EVENT_RX_DISCARD_TYPE(ev));

  memset(&ev, 0, sizeof(ev));
  ev.tx_error.type = EF_EVENT_TYPE_TX_ERROR;
  ev.tx_error.q_id = 1;
  ev.tx_error.desc_id = 0xabcd;
  ev.tx_error.subtype = EF_EVENT_TX_ERROR_2BIG;
  anyload_ffi_event_decode(&ev, &d);
  CHECK(d.desc_id, ==, 0xabcdu);
  CHECK(d.subtype, ==, (uint32_t)EF_EVENT_TX_ERROR_TYPE(ev));
  CHECK(d.q_id, ==, (uint32_t)EF_EVENT_TX_ERROR_Q_ID(ev));

  memset(&ev, 0, sizeof(ev));
  ev.tx_timestamp.type = EF_EVENT_TYPE_TX_WITH_TIMESTAMP;
  ev.tx_timestamp.rq_id = 55;
  ev.tx_timestamp.ts_sec = 1700000000;
  ev.tx_timestamp.ts_nsec = 999999999;
  anyload_ffi_event_decode(&ev, &d);
  CHECK(d.rq_id, ==, (uint32_t)EF_EVENT_TX_WITH_TIMESTAMP_RQ_ID(ev));
  CHECK(d.ts_sec, ==, (uint32_t)EF_EVENT_TX_WITH_TIMESTAMP_SEC(ev));
  CHECK(d.ts_nsec, ==, (uint32_t)EF_EVENT_TX_WITH_TIMESTAMP_NSEC(ev));

  memset(&ev, 0, sizeof(ev));
  ev.sw.type = EF_EVENT_TYPE_SW;
  ev.sw.data = 0x12345678;
  anyload_ffi_event_decode(&ev, &d);
  CHECK(d.data, ==, (uint32_t)EF_EVENT_SW_DATA(ev));

  memset(&ev, 0, sizeof(ev));
  ev.rx_no_desc_trunc.type = EF_EVENT_TYPE_RX_NO_DESC_TRUNC;
  ev.rx_no_desc_trunc.q_id = 2;
  CHECK(anyload_ffi_event_decode(&ev, &d), ==,
        EF_EVENT_TYPE_RX_NO_DESC_TRUNC);
  CHECK(d.q_id, ==, (uint32_t)EF_EVENT_RX_NO_DESC_TRUNC_Q_ID(ev));
}

static void test_ffi_encode_then_macros(void)
{
  struct anyload_ffi_event in, back;
  ef_event ev;
  uint32_t types[] = { EF_EVENT_TYPE_RX, EF_EVENT_TYPE_RX_DISCARD,
                       EF_EVENT_TYPE_TX, EF_EVENT_TYPE_TX_ERROR,
                       EF_EVENT_TYPE_TX_WITH_TIMESTAMP, EF_EVENT_TYPE_TX_ALT,
                       EF_EVENT_TYPE_RX_NO_DESC_TRUNC, EF_EVENT_TYPE_RX_MULTI,
                       EF_EVENT_TYPE_RX_MULTI_DISCARD, EF_EVENT_TYPE_SW,
                       EF_EVENT_TYPE_OFLOW, EF_EVENT_TYPE_RESET };
  size_t i;

  memset(&in, 0, sizeof(in));
  in.type = EF_EVENT_TYPE_RX;
  in.q_id = 4;
  in.rq_id = 123456;
  in.len = 100;
  in.flags = EF_EVENT_FLAG_SOP;
  CHECK(anyload_ffi_event_encode(&in, &ev), ==, 0);
  CHECK(EF_EVENT_TYPE(ev), ==, (unsigned)EF_EVENT_TYPE_RX);
  CHECK(EF_EVENT_RX_RQ_ID(ev), ==, 123456u);
  CHECK(EF_EVENT_RX_BYTES(ev), ==, 100u);
  CHECK(EF_EVENT_RX_Q_ID(ev), ==, 4u);
  CHECK(!!EF_EVENT_RX_SOP(ev), ==, 1);

  /* Every type: the fields it uses survive encode + decode. */
  for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    memset(&in, 0, sizeof(in));
    in.type = types[i];
    switch (types[i]) {
    case EF_EVENT_TYPE_RX:
      in.q_id = 1; in.rq_id = 2; in.len = 3; in.flags = 1;
      break;
    case EF_EVENT_TYPE_RX_DISCARD:
      in.q_id = 1; in.rq_id = 2; in.len = 3; in.flags = 2; in.subtype = 3;
      break;
    case EF_EVENT_TYPE_TX:
      in.q_id = 1; in.flags = 1; in.desc_id = 9;
      break;
    case EF_EVENT_TYPE_TX_ERROR:
      in.q_id = 1; in.flags = 1; in.desc_id = 9; in.subtype = 2;
      break;
    case EF_EVENT_TYPE_TX_WITH_TIMESTAMP:
      in.q_id = 1; in.rq_id = 5; in.ts_sec = 6; in.ts_nsec = 7;
      break;
    case EF_EVENT_TYPE_TX_ALT:
      in.q_id = 1; in.rq_id = 5;
      break;
    case EF_EVENT_TYPE_RX_NO_DESC_TRUNC:
      in.q_id = 8;
      break;
    case EF_EVENT_TYPE_RX_MULTI:
      in.q_id = 1; in.n_descs = 4; in.flags = 1;
      break;
    case EF_EVENT_TYPE_RX_MULTI_DISCARD:
      in.q_id = 1; in.n_descs = 4; in.flags = 1; in.subtype = 3;
      break;
    case EF_EVENT_TYPE_SW:
      in.data = 0xdeadbeef;
      break;
    default:
      break;
    }
    CHECK(anyload_ffi_event_encode(&in, &ev), ==, 0);
    CHECK(anyload_ffi_event_decode(&ev, &back), ==, (int)types[i]);
    CHECK_MEM(&back, &in, sizeof(in));
  }
}

static void test_ffi_codec_null(void)
{
  struct anyload_ffi_event d;
  ef_event ev;
  memset(&ev, 0, sizeof(ev));
  CHECK(anyload_ffi_event_decode(NULL, &d), ==, -EINVAL);
  CHECK(anyload_ffi_event_decode(&ev, NULL), ==, -EINVAL);
  CHECK(anyload_ffi_event_encode(NULL, &ev), ==, -EINVAL);
  CHECK(anyload_ffi_event_encode(&d, NULL), ==, -EINVAL);
}

/* ---- layouts and memory ----------------------------------------------------- */

static void test_ffi_layouts(void)
{
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_EF_VI), ==, sizeof(ef_vi));
  CHECK(anyload_ffi_alignof(ANYLOAD_FFI_EF_VI), ==, _Alignof(ef_vi));
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_EF_PD), ==, sizeof(ef_pd));
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_EF_MEMREG), ==, sizeof(ef_memreg));
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_EF_EVENT), ==, sizeof(ef_event));
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_EF_EVENT), ==, (size_t)16);
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_EF_FILTER_SPEC), ==,
        sizeof(ef_filter_spec));
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_EF_FILTER_COOKIE), ==,
        sizeof(ef_filter_cookie));
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_EF_IOVEC), ==, sizeof(ef_iovec));
  CHECK(anyload_ffi_alignof(ANYLOAD_FFI_EF_IOVEC), ==, (size_t)8);
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_EF_VI_SET), ==, sizeof(ef_vi_set));
  CHECK(anyload_ffi_sizeof(ANYLOAD_FFI_TYPE_MAX), ==, (size_t)0);
  CHECK(anyload_ffi_alignof(-1), ==, (size_t)0);
}

static void test_ffi_memreg_dma_addr(void)
{
  ef_pd pd;
  ef_memreg mr;
  void* mem = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  CHECK_PTR(mem, !=, MAP_FAILED);
  CHECK(ef_pd_alloc_by_name(&pd, -1, "lo", EF_PD_DEFAULT), ==, 0);
  CHECK(ef_memreg_alloc(&mr, -1, &pd, -1, mem, 8192), ==, 0);
  CHECK(anyload_ffi_memreg_dma_addr(&mr, 0), ==, ef_memreg_dma_addr(&mr, 0));
  CHECK(anyload_ffi_memreg_dma_addr(&mr, 4100), ==,
        ef_memreg_dma_addr(&mr, 4100));
  CHECK(ef_memreg_free(&mr, -1), ==, 0);
  CHECK(ef_pd_free(&pd, -1), ==, 0);
  munmap(mem, 8192);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_ffi_fast_path_dispatches_through_ops),
  UNIT_TEST(test_ffi_ring_queries_match_inlines),
  UNIT_TEST(test_ffi_decode_rx_matches_macros),
  UNIT_TEST(test_ffi_decode_other_types_match_macros),
  UNIT_TEST(test_ffi_encode_then_macros),
  UNIT_TEST(test_ffi_codec_null),
  UNIT_TEST(test_ffi_layouts),
  UNIT_TEST(test_ffi_memreg_dma_addr),
};
UNIT_TEST_MAIN(tests)
