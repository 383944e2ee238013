/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * anyload/ffi.h: real, exported functions for the parts of the ef_vi API
 * that are macros or static inline functions in <etherfabric/ef_vi.h>, for
 * callers that cannot expand C macros: foreign-function interfaces (the
 * Rust crate in bindings/rust), dlsym users, debuggers.
 *
 * Each anyload_ffi_X(vi, ...) behaves exactly as the ef_vi call X it is
 * named after, with the same arguments, return values and errors; the
 * comments below only name the original and its errors. None of these
 * calls is thread-safe for one VI (as the originals): a VI is used by one
 * thread at a time.
 *
 * ef_event is a union of bitfields whose layout a foreign language cannot
 * mirror safely. anyload_ffi_event_decode() turns one into a plain struct
 * of 32-bit fields (struct anyload_ffi_event), and anyload_ffi_event_encode()
 * does the reverse (for tests that need synthetic events). Foreign code
 * treats ef_event itself as an opaque block of anyload_ffi_sizeof(
 * ANYLOAD_FFI_EF_EVENT) bytes, aligned as anyload_ffi_alignof() says.
 *
 * Foreign code that allocates ef_vi, ef_pd or ef_memreg objects itself
 * takes their size and alignment from anyload_ffi_sizeof() /
 * anyload_ffi_alignof(), so it never depends on our struct layouts.
 */
#ifndef ANYLOAD_FFI_H
#define ANYLOAD_FFI_H

#include <etherfabric/ef_vi.h>
#include <etherfabric/memreg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**********************************************************************
 * Receive
 **********************************************************************/

/* ef_vi_receive_init(): queue a receive buffer. Returns 0, -EAGAIN (ring
 * full) or -EINVAL (address not inside memory registered with the PD). */
int anyload_ffi_receive_init(ef_vi* vi, ef_addr addr, ef_request_id id);

/* ef_vi_receive_push(): hand the queued receive buffers over. */
void anyload_ffi_receive_push(ef_vi* vi);

/* ef_vi_receive_prefix_len(): bytes of metadata before a received frame
 * (0, or 16 with EF_VI_RX_TIMESTAMPS). */
int anyload_ffi_receive_prefix_len(const ef_vi* vi);

/* ef_vi_receive_buffer_len(): length of one receive buffer, prefix
 * included. */
int anyload_ffi_receive_buffer_len(const ef_vi* vi);

/* ef_vi_receive_set_buffer_len(): change it (applies to later posts). */
void anyload_ffi_receive_set_buffer_len(ef_vi* vi, unsigned buf_len);

/* ef_vi_receive_capacity(), _fill_level(), _space(): ring size, buffers
 * queued and not yet filled, and free slots. */
int anyload_ffi_receive_capacity(const ef_vi* vi);
int anyload_ffi_receive_fill_level(const ef_vi* vi);
int anyload_ffi_receive_space(const ef_vi* vi);

/**********************************************************************
 * Transmit
 **********************************************************************/

/* ef_vi_transmit(): queue and push one frame. Returns 0, -EAGAIN (ring
 * full) or -EINVAL (address outside registered memory, bad length). */
int anyload_ffi_transmit(ef_vi* vi, ef_addr addr, int len, ef_request_id id);

/* ef_vi_transmitv(): as anyload_ffi_transmit() with a gather list of
 * iov_len entries (DMA addresses). Same errors. */
int anyload_ffi_transmitv(ef_vi* vi, const ef_iovec* iov, int iov_len,
                          ef_request_id id);

/* ef_vi_transmitv_init(): queue a frame without pushing it. Same errors. */
int anyload_ffi_transmitv_init(ef_vi* vi, const ef_iovec* iov, int iov_len,
                               ef_request_id id);

/* ef_vi_transmit_push(): hand every queued frame to the kernel. */
void anyload_ffi_transmit_push(ef_vi* vi);

/* ef_vi_transmit_capacity(), _fill_level(), _space(). */
int anyload_ffi_transmit_capacity(const ef_vi* vi);
int anyload_ffi_transmit_fill_level(const ef_vi* vi);
int anyload_ffi_transmit_space(const ef_vi* vi);

/**********************************************************************
 * Event queue
 **********************************************************************/

/* ef_eventq_poll(): fill evs[] (evs_len >= EF_VI_EVENT_POLL_MIN_EVS) and
 * return the number of events written; never blocks. */
int anyload_ffi_eventq_poll(ef_vi* vi, ef_event* evs, int evs_len);

/* ef_eventq_capacity(). */
int anyload_ffi_eventq_capacity(const ef_vi* vi);

/* ef_eventq_current(): the value to give ef_eventq_wait(). */
unsigned anyload_ffi_eventq_current(ef_vi* vi);

/* An ef_event as plain fields. Which fields mean something depends on
 * type (EF_EVENT_TYPE_*); the others are 0.
 *   RX, RX_DISCARD      q_id, rq_id, len (bytes, prefix included), flags
 *                       (EF_EVENT_FLAG_SOP/CONT/MULTICAST); RX_DISCARD
 *                       also subtype (EF_EVENT_RX_DISCARD_*)
 *   TX, TX_ERROR        q_id, flags, desc_id (give the event itself to
 *                       ef_vi_transmit_unbundle for the ids); TX_ERROR
 *                       also subtype (EF_EVENT_TX_ERROR_*)
 *   TX_WITH_TIMESTAMP   q_id, flags, rq_id, ts_sec, ts_nsec (the sync
 *                       flags are the low bits of ts_nsec, as in ef_vi)
 *   TX_ALT              q_id, alt_id (in rq_id)
 *   RX_NO_DESC_TRUNC    q_id
 *   RX_MULTI, RX_MULTI_DISCARD   q_id, n_descs, flags; _DISCARD subtype
 *   SW                  data
 * Other types carry the type only. */
struct anyload_ffi_event {
  uint32_t type;
  uint32_t q_id;
  uint32_t rq_id;
  uint32_t len;
  uint32_t flags;
  uint32_t subtype;
  uint32_t desc_id;
  uint32_t n_descs;
  uint32_t ts_sec;
  uint32_t ts_nsec;
  uint32_t data;
};

/* anyload_ffi_event_decode: the fields of *ev (see above) into *out.
 * Returns ev's type (>= 0), or -EINVAL if either pointer is NULL. */
int anyload_ffi_event_decode(const ef_event* ev,
                             struct anyload_ffi_event* out);

/* anyload_ffi_event_encode: build the ef_event that the fields of *in
 * describe (the fields that *in's type does not use are ignored; values
 * are truncated to the width of their bitfield). For tests and software
 * that injects events. Returns 0 or -EINVAL (a NULL pointer). */
int anyload_ffi_event_encode(const struct anyload_ffi_event* in,
                             ef_event* ev);

/**********************************************************************
 * Memory registration
 **********************************************************************/

/* ef_memreg_dma_addr(): DMA address of the byte at offset in the region
 * (no bounds check, as the original). */
ef_addr anyload_ffi_memreg_dma_addr(ef_memreg* mr, size_t offset);

/**********************************************************************
 * Layouts
 **********************************************************************/

/* The public types whose size foreign code needs. */
enum anyload_ffi_type {
  ANYLOAD_FFI_EF_VI,
  ANYLOAD_FFI_EF_PD,
  ANYLOAD_FFI_EF_MEMREG,
  ANYLOAD_FFI_EF_EVENT,
  ANYLOAD_FFI_EF_FILTER_SPEC,
  ANYLOAD_FFI_EF_FILTER_COOKIE,
  ANYLOAD_FFI_EF_IOVEC,
  ANYLOAD_FFI_EF_VI_SET,
  ANYLOAD_FFI_TYPE_MAX,
};

/* sizeof and _Alignof of the type; 0 for an unknown type. */
size_t anyload_ffi_sizeof(int type);
size_t anyload_ffi_alignof(int type);

#ifdef __cplusplus
}
#endif

#endif /* ANYLOAD_FFI_H */
