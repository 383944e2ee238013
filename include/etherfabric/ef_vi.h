/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * etherfabric/ef_vi.h: the virtual interface of the ef_vi API, as anyload
 * implements it over AF_XDP (and later other kernel interfaces).
 *
 * Source-compatible with the ef_vi API of OpenOnload: the same type, function
 * and macro names, argument order and return conventions (0 or a count on
 * success, a negative errno on failure). The layout of struct ef_vi is
 * anyload's own; programs use the calls and macros, not the fields.
 *
 * Fast-path calls (receive_init/push, transmit*, eventq_poll) dispatch through
 * the ops table inside struct ef_vi, filled in by the backend at allocation.
 */
#ifndef __EFAB_EF_VI_H__
#define __EFAB_EF_VI_H__

#include <stdint.h>
#ifndef __STDC_FORMAT_MACROS
# define __STDC_FORMAT_MACROS
#endif
#include <inttypes.h>
#include <time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <errno.h>

#define EF_VI_ALIGN(x) __attribute__ ((aligned (x)))
#define ef_vi_inline static inline
#define ef_vi_pure __attribute__ ((pure))
#define ef_vi_cold __attribute__ ((cold))
#define ef_vi_noinline __attribute__ ((noinline))

/* Cache line size, for aligning packet buffers. */
#define EF_VI_DMA_ALIGN 64

#ifdef __cplusplus
extern "C" {
#endif

/* A driver handle: a file descriptor (anyload: an epoll fd that becomes
 * readable when any VI allocated with it has received a frame). */
typedef int ef_driver_handle;
typedef uint32_t ef_eventq_ptr;
/* A "DMA address": an offset into the packet memory registered with a PD. */
typedef uint64_t ef_addr;
typedef char* ef_vi_ioaddr_t;
typedef uint64_t ef_addrspace;
#define EF_ADDRSPACE_LOCAL ((uint64_t)-1)

struct ef_vi;
struct ef_filter_spec;
struct ef_filter_cookie;

#define EF_VI_MAX_QS 32
#define EF_VI_EVENT_POLL_MIN_EVS 2

/* An integer token given with a posted buffer, returned with its event. */
typedef int ef_request_id;
#define EF_REQUEST_ID_MASK 0xffffffff

/* What has happened: use the EF_EVENT_* accessors, not the fields. */
typedef union {
  struct {
    unsigned type       :16;
  } generic;
  struct {
    unsigned type       :16;
    unsigned q_id       :8;
    unsigned __reserved :8;
    unsigned rq_id      :32;
    unsigned len        :16;
    unsigned flags      :16;
  } rx;
  struct {  /* Same initial layout as rx. */
    unsigned type       :16;
    unsigned q_id       :8;
    unsigned __reserved :8;
    unsigned rq_id      :32;
    unsigned len        :16;
    unsigned flags      :16;
    unsigned subtype    :16;
  } rx_discard;
  struct {
    unsigned type       :16;
    unsigned q_id       :8;
    unsigned flags      :8;
    unsigned desc_id    :16;
  } tx;
  struct {  /* Same layout as tx. */
    unsigned type       :16;
    unsigned q_id       :8;
    unsigned flags      :8;
    unsigned desc_id    :16;
    unsigned subtype    :16;
  } tx_error;
  struct {
    unsigned type       :16;
    unsigned q_id       :8;
    unsigned flags      :8;
    unsigned rq_id      :32;
    unsigned ts_sec     :32;
    unsigned ts_nsec    :32;
  } tx_timestamp;
  struct {
    unsigned type       :16;
    unsigned q_id       :8;
    unsigned __reserved :8;
    unsigned alt_id     :16;
  } tx_alt;
  struct {
    unsigned type       :16;
    unsigned q_id       :8;
  } rx_no_desc_trunc;
  struct {
    unsigned type       :16;
    unsigned data;
  } sw;
  struct {
    unsigned type       :16;
    unsigned q_id       :8;
    unsigned __reserved :8;
    unsigned n_descs    :16;
    unsigned flags      :16;
  } rx_multi;
  struct {
    unsigned type       :16;
    unsigned q_id       :8;
    unsigned __reserved :8;
    unsigned n_descs    :16;
    unsigned flags      :16;
    unsigned subtype    :16;
  } rx_multi_discard;
} ef_event;

#define EF_EVENT_TYPE(e) ((e).generic.type)

enum {
  EF_EVENT_TYPE_RX,               /* good data was received */
  EF_EVENT_TYPE_TX,               /* packets have been sent */
  EF_EVENT_TYPE_RX_DISCARD,       /* buffer consumed, but the frame is bad */
  EF_EVENT_TYPE_TX_ERROR,         /* a transmit failed */
  EF_EVENT_TYPE_RX_NO_DESC_TRUNC, /* a frame was lost: no posted buffer */
  EF_EVENT_TYPE_SW,               /* software generated event */
  EF_EVENT_TYPE_OFLOW,            /* event queue overflow */
  EF_EVENT_TYPE_TX_WITH_TIMESTAMP,/* one packet sent, with its timestamp */
  EF_EVENT_TYPE_RX_PACKED_STREAM,
  EF_EVENT_TYPE_RX_MULTI,
  EF_EVENT_TYPE_TX_ALT,
  EF_EVENT_TYPE_RX_MULTI_DISCARD,
  EF_EVENT_TYPE_RX_MULTI_PKTS,
  EF_EVENT_TYPE_MEMCPY,
  EF_EVENT_TYPE_RESET,            /* the interface went away or was reset */
  EF_EVENT_TYPE_RX_REF,
  EF_EVENT_TYPE_RX_REF_DISCARD,
};

#define EF_EVENT_RX_BYTES(e)            ((e).rx.len)
#define EF_EVENT_RX_Q_ID(e)             ((e).rx.q_id)
#define EF_EVENT_RX_RQ_ID(e)            ((e).rx.rq_id)
#define EF_EVENT_RX_CONT(e)             ((e).rx.flags & EF_EVENT_FLAG_CONT)
#define EF_EVENT_RX_SOP(e)              ((e).rx.flags & EF_EVENT_FLAG_SOP)
#define EF_EVENT_RX_ISCSI_OKAY(e)       ((e).rx.flags & EF_EVENT_FLAG_ISCSI_OK)

#define EF_EVENT_FLAG_SOP             0x1
#define EF_EVENT_FLAG_CONT            0x2
#define EF_EVENT_FLAG_ISCSI_OK        0x4
#define EF_EVENT_FLAG_MULTICAST       0x8
#define EF_EVENT_FLAG_PS_NEXT_BUFFER  0x10
#define EF_EVENT_FLAG_CTPIO           0x1

#define EF_EVENT_TX_Q_ID(e)     ((e).tx.q_id)
#define EF_EVENT_TX_CTPIO(e)    ((e).tx.flags & EF_EVENT_FLAG_CTPIO)

#define EF_EVENT_RX_DISCARD_Q_ID(e)  ((e).rx_discard.q_id)
#define EF_EVENT_RX_DISCARD_RQ_ID(e) ((e).rx_discard.rq_id)
#define EF_EVENT_RX_DISCARD_CONT(e)  ((e).rx_discard.flags&EF_EVENT_FLAG_CONT)
#define EF_EVENT_RX_DISCARD_SOP(e)   ((e).rx_discard.flags&EF_EVENT_FLAG_SOP)
#define EF_EVENT_RX_DISCARD_TYPE(e)  ((e).rx_discard.subtype)
#define EF_EVENT_RX_DISCARD_BYTES(e) ((e).rx_discard.len)

#define EF_EVENT_RX_MULTI_Q_ID(e)   ((e).rx_multi.q_id)
#define EF_EVENT_RX_MULTI_CONT(e)   ((e).rx_multi.flags & EF_EVENT_FLAG_CONT)
#define EF_EVENT_RX_MULTI_SOP(e)    ((e).rx_multi.flags & EF_EVENT_FLAG_SOP)
#define EF_EVENT_RX_MULTI_DISCARD_TYPE(e) ((e).rx_multi_discard.subtype)

/* Why an RX_DISCARD event was raised. */
enum {
  EF_EVENT_RX_DISCARD_CSUM_BAD,       /* IP header or TCP/UDP checksum */
  EF_EVENT_RX_DISCARD_MCAST_MISMATCH,
  EF_EVENT_RX_DISCARD_CRC_BAD,
  EF_EVENT_RX_DISCARD_TRUNC,          /* frame longer than the buffers */
  EF_EVENT_RX_DISCARD_RIGHTS,
  EF_EVENT_RX_DISCARD_EV_ERROR,
  EF_EVENT_RX_DISCARD_OTHER,          /* e.g. bad Ethernet/IP lengths */
  EF_EVENT_RX_DISCARD_INNER_CSUM_BAD,
  EF_EVENT_RX_DISCARD_MAX,
};

#define EF_EVENT_TX_ERROR_Q_ID(e)   ((e).tx_error.q_id)
#define EF_EVENT_TX_ERROR_TYPE(e)   ((e).tx_error.subtype)

#define EF_VI_SYNC_FLAG_CLOCK_SET     1
#define EF_VI_SYNC_FLAG_CLOCK_IN_SYNC 2

#define EF_EVENT_TX_WITH_TIMESTAMP_Q_ID(e)   ((e).tx_timestamp.q_id)
#define EF_EVENT_TX_WITH_TIMESTAMP_RQ_ID(e)  ((e).tx_timestamp.rq_id)
#define EF_EVENT_TX_WITH_TIMESTAMP_SEC(e)    ((e).tx_timestamp.ts_sec)
#define EF_EVENT_TX_WITH_TIMESTAMP_NSEC(e)   ((e).tx_timestamp.ts_nsec)
#define EF_EVENT_TX_WITH_TIMESTAMP_SYNC_MASK \
  (EF_VI_SYNC_FLAG_CLOCK_SET | EF_VI_SYNC_FLAG_CLOCK_IN_SYNC)
#define EF_EVENT_TX_WITH_TIMESTAMP_SYNC_FLAGS(e) \
  ((e).tx_timestamp.ts_nsec & EF_EVENT_TX_WITH_TIMESTAMP_SYNC_MASK)

#define EF_EVENT_TX_ALT_Q_ID(e)     ((e).tx_alt.q_id)
#define EF_EVENT_TX_ALT_ALT_ID(e)   ((e).tx_alt.alt_id)

/* Why a TX_ERROR event was raised. */
enum {
  EF_EVENT_TX_ERROR_RIGHTS,
  EF_EVENT_TX_ERROR_OFLOW,
  EF_EVENT_TX_ERROR_2BIG,
  EF_EVENT_TX_ERROR_BUS,
};

#define EF_EVENT_RX_NO_DESC_TRUNC_Q_ID(e)  ((e).rx_no_desc_trunc.q_id)
#define EF_EVENT_SW_DATA_MASK   0xffff
#define EF_EVENT_SW_DATA(e)     ((e).sw.data)
#define EF_EVENT_FMT            "[ev:%x]"
#define EF_EVENT_PRI_ARG(e)     (unsigned) (e).generic.type

/* One buffer of a gather list; iov_base is a DMA address. */
typedef struct {
  ef_addr  iov_base EF_VI_ALIGN(8);
  unsigned iov_len;
} ef_iovec;

typedef struct {
  ef_addr  iov_base EF_VI_ALIGN(8);
  unsigned iov_len;
  uint32_t flags;
  ef_addrspace addrspace;
} ef_remote_iovec;

#define ef_timespec struct timespec

/* A timestamp with sub-nanosecond part and sync flags. */
typedef struct {
  int64_t  tv_sec;
  uint32_t tv_nsec;
  uint16_t tv_nsec_frac;
  uint16_t tv_flags;
} ef_precisetime;

/* Flags requested when allocating a VI. anyload honours RX_TIMESTAMPS,
 * TX_TIMESTAMPS, RX_ZEROCOPY (ask the kernel for zero-copy AF_XDP and fail
 * if it can't) and the checksum flags; hardware-only flags are accepted and
 * ignored, except TX_ALT, RX_PACKED_STREAM and TX_CTPIO (-EOPNOTSUPP). */
enum ef_vi_flags {
  EF_VI_FLAGS_DEFAULT      = 0x0,
  EF_VI_ISCSI_RX_HDIG      = 0x2,
  EF_VI_ISCSI_TX_HDIG      = 0x4,
  EF_VI_ISCSI_RX_DDIG      = 0x8,
  EF_VI_ISCSI_TX_DDIG      = 0x10,
  EF_VI_TX_PHYS_ADDR       = 0x20,
  EF_VI_RX_PHYS_ADDR       = 0x40,
  EF_VI_TX_IP_CSUM_DIS     = 0x80,
  EF_VI_TX_TCPUDP_CSUM_DIS = 0x100,
  EF_VI_TX_TCPUDP_ONLY     = 0x200,
  EF_VI_TX_FILTER_IP       = 0x400,
  EF_VI_TX_FILTER_MAC      = 0x800,
  EF_VI_TX_FILTER_MASK_1   = 0x1000,
  EF_VI_TX_FILTER_MASK_2   = 0x2000,
  EF_VI_TX_FILTER_MASK_3   = (0x1000 | 0x2000),
  EF_VI_TX_PUSH_DISABLE    = 0x4000,
  EF_VI_TX_PUSH_ALWAYS     = 0x8000,
  EF_VI_RX_TIMESTAMPS      = 0x10000,
  EF_VI_TX_TIMESTAMPS      = 0x20000,
  EF_VI_RX_PACKED_STREAM   = 0x80000,
  EF_VI_RX_PS_BUF_SIZE_64K = 0x100000,
  EF_VI_RX_EVENT_MERGE     = 0x200000,
  EF_VI_TX_ALT             = 0x400000,
  EF_VI_ENABLE_EV_TIMER    = 0x800000,
  EF_VI_TX_CTPIO           = 0x1000000,
  EF_VI_TX_CTPIO_NO_POISON = 0x2000000,
  EF_VI_RX_ZEROCOPY        = 0x4000000,
  EF_VI_ALLOW_MEMCPY       = 0x8000000,
  EF_VI_EFCT_UNIQUEUE      = 0x10000000,
};

enum ef_vi_out_flags {
  EF_VI_OUT_CLOCK_SYNC_STATUS = 0x1,
};

/* Which receive errors become RX_DISCARD events (ef_vi_receive_set_discards).
 * anyload checks the IPv4 header checksum (L3) and the UDP/TCP checksum
 * (L4) in software; a frame with an error whose flag is clear is delivered
 * as a normal RX event. */
enum ef_vi_rx_discard_err_flags {
  EF_VI_DISCARD_RX_L4_CSUM_ERR       = 0x1,
  EF_VI_DISCARD_RX_L3_CSUM_ERR       = 0x2,
  EF_VI_DISCARD_RX_ETH_FCS_ERR       = 0x4,
  EF_VI_DISCARD_RX_ETH_LEN_ERR       = 0x8,
  EF_VI_DISCARD_RX_TOBE_DISC         = 0x10,
  EF_VI_DISCARD_RX_INNER_L4_CSUM_ERR = 0x20,
  EF_VI_DISCARD_RX_INNER_L3_CSUM_ERR = 0x40,
};

enum ef_timestamp_format {
  TS_FORMAT_SECONDS_27FRACTION = 0,
  TS_FORMAT_SECONDS_QTR_NANOSECONDS = 1
};

enum ef_vi_arch {
  EF_VI_ARCH_FALCON,
  EF_VI_ARCH_EF10,
  EF_VI_ARCH_EF100,
  EF_VI_ARCH_EFCT,
  EF_VI_ARCH_AF_XDP,
  EF_VI_ARCH_AF_PACKET,
};

/* Ring state. Users should not access these structures. */
typedef struct {
  uint32_t previous;   /* last completion reported by unbundle */
  uint32_t added;      /* descriptors added to the ring */
  uint32_t removed;    /* descriptors completed and handed back */
  uint32_t ct_added;
  uint32_t ct_removed;
  uint32_t ts_nsec;
} ef_vi_txq_state;

typedef struct {
  uint32_t posted;     /* descriptors visible to the backend */
  uint32_t added;      /* descriptors initialised */
  uint32_t removed;    /* descriptors filled and handed back */
  uint32_t in_jumbo;
  uint32_t bytes_acc;
  uint16_t last_desc_i;
  uint16_t rx_ps_credit_avail;
} ef_vi_rxq_state;

typedef struct {
  ef_eventq_ptr evq_ptr;
  int32_t       evq_clear_stride;
  uint32_t      sync_timestamp_major;
  uint32_t      sync_timestamp_minor;
  uint32_t      sync_timestamp_minimum;
  uint32_t      sync_timestamp_synchronised;
  uint32_t      sync_flags;
} ef_eventq_state;

typedef struct {
  uint32_t  mask;
  uint32_t  ct_fifo_bytes;
  void*     descriptors;
  uint32_t* ids;
} ef_vi_txq;

typedef struct {
  uint32_t  mask;
  void*     descriptors;
  uint32_t* ids;
} ef_vi_rxq;

typedef struct {
  ef_eventq_state evq;
  ef_vi_txq_state txq;
  ef_vi_rxq_state rxq;
} ef_vi_state;

typedef struct {
  uint32_t rx_ev_lost;
  uint32_t rx_ev_bad_desc_i;
  uint32_t rx_ev_bad_q_label;
  uint32_t evq_gap;
} ef_vi_stats;

struct ef_vi_nic_type {
  unsigned char arch;
  char          variant;
  unsigned char revision;
  unsigned char nic_flags;
};

struct ef_vi_transmit_alt_overhead {
  uint32_t pre_round;
  uint32_t mask;
  uint32_t post_round;
};

struct ef_pio;

enum ef_vi_tx_extra_flags {
  EF_VI_TX_EXTRA_MARK = 0x1,
  EF_VI_TX_EXTRA_INGRESS_MPORT = 0x2,
  EF_VI_TX_EXTRA_EGRESS_MPORT = 0x4,
  EF_VI_TX_EXTRA_CAPSULE_METADATA = 0x8,
};

struct ef_vi_tx_extra {
  enum ef_vi_tx_extra_flags flags;
  uint32_t mark;
  uint16_t ingress_mport;
  uint16_t egress_mport;
};

/* A virtual interface: an RX ring, a TX ring and an event queue on one
 * queue of one network interface. Users should not access the fields. */
typedef struct ef_vi {
  unsigned              inited;
  unsigned              vi_resource_id;
  unsigned              vi_i;             /* interface queue index */
  ef_driver_handle      dh;
  unsigned              rx_buffer_len;
  unsigned              rx_prefix_len;
  uint64_t              rx_discard_mask;
  enum ef_vi_flags      vi_flags;
  enum ef_vi_out_flags  vi_out_flags;
  struct ef_vi_nic_type nic_type;
  ef_vi_txq             vi_txq;
  ef_vi_rxq             vi_rxq;
  ef_vi_state*          ep_state;
  ef_vi_stats*          vi_stats;
  struct ef_pio*        linked_pio;
  /* Backend state (anyload internal). */
  void*                 vi_priv;

  /* Fast-path operations, filled in by the backend. */
  struct ops {
    int  (*transmit)(struct ef_vi*, ef_addr base, int len, ef_request_id);
    int  (*transmitv)(struct ef_vi*, const ef_iovec*, int iov_len,
                      ef_request_id);
    int  (*transmitv_init)(struct ef_vi*, const ef_iovec*, int iov_len,
                           ef_request_id);
    void (*transmit_push)(struct ef_vi*);
    int  (*transmit_pio)(struct ef_vi*, int offset, int len,
                         ef_request_id dma_id);
    int  (*transmit_copy_pio)(struct ef_vi*, int pio_offset,
                              const void* src_buf, int len,
                              ef_request_id dma_id);
    void (*transmit_pio_warm)(struct ef_vi*);
    void (*transmit_copy_pio_warm)(struct ef_vi*, int pio_offset,
                                   const void* src_buf, int len);
    void (*transmitv_ctpio)(struct ef_vi*, size_t frame_len,
                            const struct iovec* iov, int iov_len,
                            unsigned threshold);
    void (*transmitv_ctpio_copy)(struct ef_vi*, size_t frame_len,
                                 const struct iovec* iov, int iov_len,
                                 unsigned threshold, void* fallback);
    int  (*transmit_alt_select)(struct ef_vi*, unsigned alt_id);
    int  (*transmit_alt_select_default)(struct ef_vi*);
    int  (*transmit_alt_stop)(struct ef_vi*, unsigned alt_id);
    int  (*transmit_alt_go)(struct ef_vi*, unsigned alt_id);
    int  (*transmit_alt_discard)(struct ef_vi*, unsigned alt_id);
    int  (*receive_init)(struct ef_vi*, ef_addr, ef_request_id);
    void (*receive_push)(struct ef_vi*);
    int  (*eventq_poll)(struct ef_vi*, ef_event*, int evs_len);
    void (*eventq_prime)(struct ef_vi*);
    void (*eventq_timer_prime)(struct ef_vi*, unsigned v);
    void (*eventq_timer_run)(struct ef_vi*, unsigned v);
    void (*eventq_timer_clear)(struct ef_vi*);
    void (*eventq_timer_zero)(struct ef_vi*);
    int  (*transmitv_init_extra)(struct ef_vi*, const struct ef_vi_tx_extra*,
                                 const ef_remote_iovec*, int iov_len,
                                 ef_request_id);
    int  (*transmit_ctpio_fallback)(struct ef_vi* vi, ef_addr dma_addr,
                                    size_t len, ef_request_id dma_id);
    int  (*transmitv_ctpio_fallback)(struct ef_vi* vi, const ef_iovec* iov,
                                     int iov_len, ef_request_id dma_id);
    int  (*transmitv_gso)(struct ef_vi* vi, const struct iovec* iov,
                          int iov_len, unsigned gso_size);
  } ops;
} ef_vi;

ef_vi_inline unsigned ef_vi_resource_id(ef_vi* vi)
{ return vi->vi_resource_id; }
ef_vi_inline enum ef_vi_flags ef_vi_flags(ef_vi* vi)
{ return vi->vi_flags; }
ef_vi_inline unsigned ef_vi_instance(ef_vi* vi)
{ return vi->vi_i; }

/* A string naming this version of the library ("anyload-X.Y.Z"). */
extern const char* ef_vi_version_str(void);
/* A string naming the kernel interface in use ("anyload-afxdp"). */
extern const char* ef_vi_driver_interface_str(void);

/**********************************************************************
 * Receive
 **********************************************************************/

/* Bytes of metadata before the frame in a receive buffer: 0, or 16 when the
 * VI was allocated with EF_VI_RX_TIMESTAMPS (the prefix holds the software
 * timestamp read by ef_vi_receive_get_timestamp*). */
ef_vi_inline int ef_vi_receive_prefix_len(const ef_vi* vi)
{ return vi->rx_prefix_len; }

/* Length of a receive buffer, prefix included. A frame longer than one
 * buffer continues in the next posted buffers (EF_EVENT_RX_CONT on every
 * event but the last); each event's EF_EVENT_RX_BYTES is the frame's bytes
 * so far, prefix included, so the last one gives the whole length. */
ef_vi_inline int ef_vi_receive_buffer_len(const ef_vi* vi)
{ return vi->rx_buffer_len; }

ef_vi_inline void ef_vi_receive_set_buffer_len(ef_vi* vi, unsigned buf_len)
{ vi->rx_buffer_len = buf_len; }

ef_vi_inline int ef_vi_receive_space(const ef_vi* vi)
{
  const ef_vi_rxq_state* qs = &vi->ep_state->rxq;
  return vi->vi_rxq.mask - (qs->added - qs->removed);
}

ef_vi_inline int ef_vi_receive_fill_level(const ef_vi* vi)
{
  const ef_vi_rxq_state* qs = &vi->ep_state->rxq;
  return qs->added - qs->removed;
}

ef_vi_inline int ef_vi_receive_capacity(const ef_vi* vi)
{ return vi->vi_rxq.mask; }

/* Queue a receive buffer (a DMA address from ef_memreg_dma_addr) with an id
 * returned in its event. Returns 0, -EAGAIN (ring full) or -EINVAL (the
 * address is not inside memory registered with the VI's PD). */
#define ef_vi_receive_init(vi, addr, dma_id) \
  (vi)->ops.receive_init((vi), (addr), (dma_id))

/* Hand all queued receive buffers to the backend. */
#define ef_vi_receive_push(vi) (vi)->ops.receive_push((vi))

/* ef_vi_receive_init() followed by ef_vi_receive_push(). */
extern int ef_vi_receive_post(ef_vi* vi, ef_addr addr, ef_request_id dma_id);

/* The time at which a received frame was taken off the kernel's ring
 * (CLOCK_REALTIME), read from the buffer prefix. pkt is the start of the
 * first buffer of the frame. -ENODATA if the VI has no RX timestamps. */
extern int ef_vi_receive_get_timestamp(ef_vi* vi, const void* pkt,
                                       ef_timespec* ts_out);
extern int
ef_vi_receive_get_timestamp_with_sync_flags(ef_vi* vi, const void* pkt,
                                            ef_timespec* ts_out,
                                            unsigned* flags_out);
extern int ef_vi_receive_get_precise_timestamp(ef_vi* vi, const void* pkt,
                                               ef_precisetime* ts_out);
/* Frame length without prefix, read from the buffer prefix (needs
 * EF_VI_RX_TIMESTAMPS; -ENODATA otherwise). */
extern int ef_vi_receive_get_bytes(ef_vi* vi, const void* pkt,
                                   uint16_t* bytes_out);

#define EF_VI_RECEIVE_BATCH 15

/* anyload never produces RX_MULTI events; returns -EINVAL for them. */
extern int ef_vi_receive_unbundle(ef_vi* ep, const ef_event* event,
                                  ef_request_id* ids);

/* Choose which errors cause RX_DISCARD events (EF_VI_DISCARD_RX_*). */
extern int ef_vi_receive_set_discards(ef_vi* vi, unsigned discard_err_flags);

/**********************************************************************
 * Transmit
 **********************************************************************/

ef_vi_inline int ef_vi_transmit_space(const ef_vi* vi)
{
  const ef_vi_txq_state* qs = &vi->ep_state->txq;
  return vi->vi_txq.mask - (qs->added - qs->removed);
}

ef_vi_inline int ef_vi_transmit_fill_level(const ef_vi* vi)
{
  const ef_vi_txq_state* qs = &vi->ep_state->txq;
  return qs->added - qs->removed;
}

ef_vi_inline int ef_vi_transmit_space_bytes(const ef_vi* vi)
{ (void)vi; return 0x7fffffff; }

ef_vi_inline int ef_vi_transmit_fill_level_bytes(const ef_vi* vi)
{ (void)vi; return 0; }

ef_vi_inline int ef_vi_transmit_capacity(const ef_vi* vi)
{ return vi->vi_txq.mask; }

/* Queue one frame for transmit, not yet visible to the kernel. Returns 0,
 * -EAGAIN (ring full) or -EINVAL (address outside registered memory, or a
 * length of 0). A frame longer than the interface allows is accepted and
 * completes with a TX_ERROR event (EF_EVENT_TX_ERROR_2BIG), as on a NIC. */
extern int ef_vi_transmit_init(ef_vi* vi, ef_addr addr, int bytes,
                               ef_request_id dma_id);

#define ef_vi_transmitv_init(vi, iov, iov_len, dma_id) \
  (vi)->ops.transmitv_init((vi), (iov), (iov_len), (dma_id))

#define ef_vi_transmitv_init_extra(vi, extra, iov, iov_len, dma_id) \
  (vi)->ops.transmitv_init_extra((vi), (extra), (iov), (iov_len), (dma_id))

/* Hand all queued frames to the kernel (one system call at most). */
#define ef_vi_transmit_push(vi) (vi)->ops.transmit_push((vi))

/* Queue and push one frame. Errors as ef_vi_transmit_init(). */
#define ef_vi_transmit(vi, base, len, dma_id) \
  (vi)->ops.transmit((vi), (base), (len), (dma_id))

#define ef_vi_transmitv(vi, iov, iov_len, dma_id) \
  (vi)->ops.transmitv((vi), (iov), (iov_len), (dma_id))

/* PIO, CTPIO and TX alternatives have no AF_XDP counterpart: these return
 * -EOPNOTSUPP (see ef_vi_capabilities_get). */
#define ef_vi_transmit_pio(vi, offset, len, dma_id) \
  (vi)->ops.transmit_pio((vi), (offset), (len), (dma_id))
#define ef_vi_transmit_copy_pio(vi, offset, src_buf, len, dma_id) \
  (vi)->ops.transmit_copy_pio((vi), (offset), (src_buf), (len), (dma_id))
#define ef_vi_transmit_pio_warm(vi) (vi)->ops.transmit_pio_warm((vi))
#define ef_vi_transmit_copy_pio_warm(vi, pio_offset, src_buf, len) \
  (vi)->ops.transmit_copy_pio_warm((vi), (pio_offset), (src_buf), (len))
#define ef_vi_transmit_alt_select(vi, alt_id) \
  (vi)->ops.transmit_alt_select((vi), (alt_id))
#define ef_vi_transmit_alt_select_normal(vi) \
  (vi)->ops.transmit_alt_select_default((vi))
#define ef_vi_transmit_alt_stop(vi, alt_id) \
  (vi)->ops.transmit_alt_stop((vi), (alt_id))
#define ef_vi_transmit_alt_go(vi, alt_id) \
  (vi)->ops.transmit_alt_go((vi), (alt_id))
#define ef_vi_transmit_alt_discard(vi, alt_id) \
  (vi)->ops.transmit_alt_discard((vi), (alt_id))

/* CTPIO has no AF_XDP counterpart: the frame is sent through the normal
 * ring instead (a CTPIO program keeps working, with ring latency). */
extern void ef_vi_transmitv_ctpio(ef_vi* vi, size_t frame_len,
                                  const struct iovec* iov, int iov_len,
                                  unsigned ctpio_thresh);
extern void ef_vi_transmitv_ctpio_copy(ef_vi* vi, size_t frame_len,
                                       const struct iovec* iov, int iov_len,
                                       unsigned ctpio_thresh, void* fallback);
#define ef_vi_transmit_ctpio_fallback(vi, dma_addr, len, dma_id) \
  (vi)->ops.transmit_ctpio_fallback((vi), (dma_addr), (len), (dma_id))
#define ef_vi_transmitv_ctpio_fallback(vi, dma_iov, dma_iov_len, dma_id) \
  (vi)->ops.transmitv_ctpio_fallback((vi), (dma_iov), (dma_iov_len), (dma_id))

/* anyload extension (not in Solarflare's API): send a TCP/IPv4
 * super-frame, cut by the kernel's segmentation offload (or the NIC's TSO)
 * into segments of gso_size payload bytes, each with its own IP ID,
 * lengths, IP and TCP checksums, and PSH/FIN only on the last, CWR only on
 * the first (as Linux's TCP gets from TSO). iov points at plain memory
 * (like CTPIO's): Ethernet, IPv4 and TCP headers within the first 256
 * bytes, then up to 64 KiB in all; the caller's IP total length and
 * checksums are ignored. The bytes are copied before the call returns:
 * there is no TX event, and the frames posted before go out first (the
 * call pushes those not pushed yet; on AF_XDP it sends only once they are
 * all completed, as the super-frame may take another hardware queue).
 * Returns 0; -EAGAIN when the kernel has no room now or frames posted
 * before are still in flight (try again, or send the segments one by
 * one); -EOPNOTSUPP
 * when this VI cannot (the simulated link; a veth that leaves TX
 * checksums unfinished, "ethtool -K dev tx on"), and then always; -EINVAL
 * for a frame that is not TCP/IPv4. Counted in the VI's tx_gso_frames and
 * tx_gso_segs statistics. */
#define ef_vi_transmitv_gso(vi, iov, iov_len, gso_size) \
  (vi)->ops.transmitv_gso((vi), (iov), (iov_len), (gso_size))

/* Maximum number of ids that one TX event carries. */
#define EF_VI_TRANSMIT_BATCH 64

/* Fill ids[] (at least EF_VI_TRANSMIT_BATCH entries) with the ids of the
 * transmits completed by a TX or TX_ERROR event, in posting order, and
 * return how many. Their buffers may be reused afterwards. */
extern int ef_vi_transmit_unbundle(ef_vi* ep, const ef_event* event,
                                   ef_request_id* ids);

extern int ef_vi_transmit_alt_num_ids(ef_vi* vi);

/**********************************************************************
 * Event queue
 **********************************************************************/

/* Poll for events: fills evs[] (evs_len >= EF_VI_EVENT_POLL_MIN_EVS) and
 * returns how many were written; never blocks. */
#define ef_eventq_poll(evq, evs, evs_len) \
  (evq)->ops.eventq_poll((evq), (evs), (evs_len))

/* Non-zero if ef_eventq_poll() would return at least one event now. */
extern int ef_eventq_has_event(const ef_vi* vi);
extern int ef_eventq_has_many_events(const ef_vi* evq, int n_events);

ef_vi_inline int ef_eventq_capacity(const ef_vi* vi)
{ return (int)(vi->vi_rxq.mask + vi->vi_txq.mask + 2); }

ef_vi_inline unsigned ef_eventq_current(ef_vi* evq)
{ return evq->ep_state->evq.evq_ptr; }

#define ef_eventq_prime(evq) (evq)->ops.eventq_prime((evq))
#define ef_eventq_timer_prime(q, v) (q)->ops.eventq_timer_prime((q), (v))
#define ef_eventq_timer_run(q, v) (q)->ops.eventq_timer_run((q), (v))
#define ef_eventq_timer_clear(q) (q)->ops.eventq_timer_clear((q))
#define ef_eventq_timer_zero(q) (q)->ops.eventq_timer_zero((q))

#ifdef __cplusplus
}
#endif

#endif /* __EFAB_EF_VI_H__ */
