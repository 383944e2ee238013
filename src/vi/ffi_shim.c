/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/ffi_shim.c: exported functions for the ef_vi calls that are macros or
 * static inline functions (anyload/ffi.h), so that languages without a C
 * preprocessor (the Rust binding in bindings/rust) can call them. Each one
 * expands the macro it is named after and nothing more; the event codec
 * turns the bitfield union ef_event into plain fields and back.
 */
#include <anyload/ffi.h>
#include <etherfabric/ef_vi.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <errno.h>
#include <string.h>

/* ---- receive ------------------------------------------------------------ */

int anyload_ffi_receive_init(ef_vi* vi, ef_addr addr, ef_request_id id)
{
  return ef_vi_receive_init(vi, addr, id);
}

void anyload_ffi_receive_push(ef_vi* vi)
{
  ef_vi_receive_push(vi);
}

int anyload_ffi_receive_prefix_len(const ef_vi* vi)
{
  return ef_vi_receive_prefix_len(vi);
}

int anyload_ffi_receive_buffer_len(const ef_vi* vi)
{
  return ef_vi_receive_buffer_len(vi);
}

void anyload_ffi_receive_set_buffer_len(ef_vi* vi, unsigned buf_len)
{
  ef_vi_receive_set_buffer_len(vi, buf_len);
}

int anyload_ffi_receive_capacity(const ef_vi* vi)
{
  return ef_vi_receive_capacity(vi);
}

int anyload_ffi_receive_fill_level(const ef_vi* vi)
{
  return ef_vi_receive_fill_level(vi);
}

int anyload_ffi_receive_space(const ef_vi* vi)
{
  return ef_vi_receive_space(vi);
}

/* ---- transmit ----------------------------------------------------------- */

int anyload_ffi_transmit(ef_vi* vi, ef_addr addr, int len, ef_request_id id)
{
  return ef_vi_transmit(vi, addr, len, id);
}

int anyload_ffi_transmitv(ef_vi* vi, const ef_iovec* iov, int iov_len,
                          ef_request_id id)
{
  return ef_vi_transmitv(vi, iov, iov_len, id);
}

int anyload_ffi_transmitv_init(ef_vi* vi, const ef_iovec* iov, int iov_len,
                               ef_request_id id)
{
  return ef_vi_transmitv_init(vi, iov, iov_len, id);
}

void anyload_ffi_transmit_push(ef_vi* vi)
{
  ef_vi_transmit_push(vi);
}

int anyload_ffi_transmit_capacity(const ef_vi* vi)
{
  return ef_vi_transmit_capacity(vi);
}

int anyload_ffi_transmit_fill_level(const ef_vi* vi)
{
  return ef_vi_transmit_fill_level(vi);
}

int anyload_ffi_transmit_space(const ef_vi* vi)
{
  return ef_vi_transmit_space(vi);
}

/* ---- event queue -------------------------------------------------------- */

int anyload_ffi_eventq_poll(ef_vi* vi, ef_event* evs, int evs_len)
{
  return ef_eventq_poll(vi, evs, evs_len);
}

int anyload_ffi_eventq_capacity(const ef_vi* vi)
{
  return ef_eventq_capacity(vi);
}

unsigned anyload_ffi_eventq_current(ef_vi* vi)
{
  return ef_eventq_current(vi);
}

int anyload_ffi_event_decode(const ef_event* ev,
                             struct anyload_ffi_event* out)
{
  if (!ev || !out)
    return -EINVAL;
  memset(out, 0, sizeof(*out));
  out->type = EF_EVENT_TYPE(*ev);
  switch (out->type) {
  case EF_EVENT_TYPE_RX:
    out->q_id = ev->rx.q_id;
    out->rq_id = ev->rx.rq_id;
    out->len = ev->rx.len;
    out->flags = ev->rx.flags;
    break;
  case EF_EVENT_TYPE_RX_DISCARD:
    out->q_id = ev->rx_discard.q_id;
    out->rq_id = ev->rx_discard.rq_id;
    out->len = ev->rx_discard.len;
    out->flags = ev->rx_discard.flags;
    out->subtype = ev->rx_discard.subtype;
    break;
  case EF_EVENT_TYPE_TX:
    out->q_id = ev->tx.q_id;
    out->flags = ev->tx.flags;
    out->desc_id = ev->tx.desc_id;
    break;
  case EF_EVENT_TYPE_TX_ERROR:
    out->q_id = ev->tx_error.q_id;
    out->flags = ev->tx_error.flags;
    out->desc_id = ev->tx_error.desc_id;
    out->subtype = ev->tx_error.subtype;
    break;
  case EF_EVENT_TYPE_TX_WITH_TIMESTAMP:
    out->q_id = ev->tx_timestamp.q_id;
    out->flags = ev->tx_timestamp.flags;
    out->rq_id = ev->tx_timestamp.rq_id;
    out->ts_sec = ev->tx_timestamp.ts_sec;
    out->ts_nsec = ev->tx_timestamp.ts_nsec;
    break;
  case EF_EVENT_TYPE_TX_ALT:
    out->q_id = ev->tx_alt.q_id;
    out->rq_id = ev->tx_alt.alt_id;
    break;
  case EF_EVENT_TYPE_RX_NO_DESC_TRUNC:
    out->q_id = ev->rx_no_desc_trunc.q_id;
    break;
  case EF_EVENT_TYPE_RX_MULTI:
    out->q_id = ev->rx_multi.q_id;
    out->n_descs = ev->rx_multi.n_descs;
    out->flags = ev->rx_multi.flags;
    break;
  case EF_EVENT_TYPE_RX_MULTI_DISCARD:
    out->q_id = ev->rx_multi_discard.q_id;
    out->n_descs = ev->rx_multi_discard.n_descs;
    out->flags = ev->rx_multi_discard.flags;
    out->subtype = ev->rx_multi_discard.subtype;
    break;
  case EF_EVENT_TYPE_SW:
    out->data = ev->sw.data;
    break;
  default:
    break;
  }
  return (int)out->type;
}

int anyload_ffi_event_encode(const struct anyload_ffi_event* in,
                             ef_event* ev)
{
  if (!in || !ev)
    return -EINVAL;
  memset(ev, 0, sizeof(*ev));
  switch (in->type) {
  case EF_EVENT_TYPE_RX:
    ev->rx.q_id = in->q_id;
    ev->rx.rq_id = in->rq_id;
    ev->rx.len = in->len;
    ev->rx.flags = in->flags;
    break;
  case EF_EVENT_TYPE_RX_DISCARD:
    ev->rx_discard.q_id = in->q_id;
    ev->rx_discard.rq_id = in->rq_id;
    ev->rx_discard.len = in->len;
    ev->rx_discard.flags = in->flags;
    ev->rx_discard.subtype = in->subtype;
    break;
  case EF_EVENT_TYPE_TX:
    ev->tx.q_id = in->q_id;
    ev->tx.flags = in->flags;
    ev->tx.desc_id = in->desc_id;
    break;
  case EF_EVENT_TYPE_TX_ERROR:
    ev->tx_error.q_id = in->q_id;
    ev->tx_error.flags = in->flags;
    ev->tx_error.desc_id = in->desc_id;
    ev->tx_error.subtype = in->subtype;
    break;
  case EF_EVENT_TYPE_TX_WITH_TIMESTAMP:
    ev->tx_timestamp.q_id = in->q_id;
    ev->tx_timestamp.flags = in->flags;
    ev->tx_timestamp.rq_id = in->rq_id;
    ev->tx_timestamp.ts_sec = in->ts_sec;
    ev->tx_timestamp.ts_nsec = in->ts_nsec;
    break;
  case EF_EVENT_TYPE_TX_ALT:
    ev->tx_alt.q_id = in->q_id;
    ev->tx_alt.alt_id = in->rq_id;
    break;
  case EF_EVENT_TYPE_RX_NO_DESC_TRUNC:
    ev->rx_no_desc_trunc.q_id = in->q_id;
    break;
  case EF_EVENT_TYPE_RX_MULTI:
    ev->rx_multi.q_id = in->q_id;
    ev->rx_multi.n_descs = in->n_descs;
    ev->rx_multi.flags = in->flags;
    break;
  case EF_EVENT_TYPE_RX_MULTI_DISCARD:
    ev->rx_multi_discard.q_id = in->q_id;
    ev->rx_multi_discard.n_descs = in->n_descs;
    ev->rx_multi_discard.flags = in->flags;
    ev->rx_multi_discard.subtype = in->subtype;
    break;
  case EF_EVENT_TYPE_SW:
    ev->sw.data = in->data;
    break;
  default:
    break;
  }
  /* The type is the first bitfield of every member of the union. */
  ev->generic.type = in->type;
  return 0;
}

/* ---- memory registration ------------------------------------------------ */

ef_addr anyload_ffi_memreg_dma_addr(ef_memreg* mr, size_t offset)
{
  return ef_memreg_dma_addr(mr, offset);
}

/* ---- layouts ------------------------------------------------------------ */

#define FFI_TYPES(X)                              \
  X(ANYLOAD_FFI_EF_VI, ef_vi)                     \
  X(ANYLOAD_FFI_EF_PD, ef_pd)                     \
  X(ANYLOAD_FFI_EF_MEMREG, ef_memreg)             \
  X(ANYLOAD_FFI_EF_EVENT, ef_event)               \
  X(ANYLOAD_FFI_EF_FILTER_SPEC, ef_filter_spec)   \
  X(ANYLOAD_FFI_EF_FILTER_COOKIE, ef_filter_cookie) \
  X(ANYLOAD_FFI_EF_IOVEC, ef_iovec)               \
  X(ANYLOAD_FFI_EF_VI_SET, ef_vi_set)

size_t anyload_ffi_sizeof(int type)
{
  switch (type) {
#define X(id, t) case id: return sizeof(t);
  FFI_TYPES(X)
#undef X
  default:
    return 0;
  }
}

size_t anyload_ffi_alignof(int type)
{
  switch (type) {
#define X(id, t) case id: return _Alignof(t);
  FFI_TYPES(X)
#undef X
  default:
    return 0;
  }
}
