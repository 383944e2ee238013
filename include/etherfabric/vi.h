/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * etherfabric/vi.h: allocating virtual interfaces, VI sets, filters and
 * statistics.
 */
#ifndef __EFAB_VI_H__
#define __EFAB_VI_H__

#include <etherfabric/ef_vi.h>
#include <etherfabric/base.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ef_pd;
struct in6_addr;

/* Allocate a VI on queue 0 of the PD's interface: an AF_XDP socket, its
 * rings, and a slot in the interface's XDP filter program (attached when
 * this is the first VI on the interface). Capacities of -1 take the default
 * (EF_VI_RXQ_SIZE / EF_VI_TXQ_SIZE from the environment, else 512); other
 * values are rounded up to a power of two. evq_capacity is accepted and
 * ignored (events are generated from the rings, they cannot overflow).
 * Returns the queue id (>= 0) or -EPERM (needs CAP_NET_ADMIN/CAP_BPF),
 * -ENODEV, -EBUSY (queue or interface in use by a foreign XDP program),
 * -EAFNOSUPPORT (kernel without AF_XDP), -EOPNOTSUPP (a flag that AF_XDP
 * can't honour, e.g. EF_VI_RX_ZEROCOPY on a copy-only driver), -EINVAL,
 * -ENOMEM, -ENOSPC (too many VIs on the interface). */
extern int ef_vi_alloc_from_pd(ef_vi* vi, ef_driver_handle vi_dh,
                               struct ef_pd* pd, ef_driver_handle pd_dh,
                               int evq_capacity, int rxq_capacity,
                               int txq_capacity,
                               ef_vi* evq_opt, ef_driver_handle evq_dh,
                               enum ef_vi_flags flags);

/* Free a VI: its filters are removed (their flows go back to the kernel),
 * and the XDP program is detached when it was the interface's last VI. */
extern int ef_vi_free(ef_vi* vi, ef_driver_handle nic);

extern int ef_vi_transmit_alt_alloc(struct ef_vi* vi, ef_driver_handle vi_dh,
                                    int num_alts, size_t buf_space);
extern int ef_vi_transmit_alt_free(struct ef_vi* vi, ef_driver_handle vi_dh);
extern int ef_vi_transmit_alt_query_buffering(struct ef_vi* vi, int ifindex,
                                              ef_driver_handle vi_dh,
                                              int n_alts);

/* Wait (bounded, 1 s) until every pushed transmit has completed, then
 * drop posted receive buffers: afterwards all buffers may be reused.
 * Returns 0 or -ETIMEDOUT. */
extern int ef_vi_flush(ef_vi* vi, ef_driver_handle nic);

/* Pacing: not supported (-EOPNOTSUPP). */
extern int ef_vi_pace(ef_vi* vi, ef_driver_handle nic, int val);

/* Largest frame, headers included, without FCS, that the VI carries: the
 * interface's MTU + 14, or less where the backend's buffers are smaller
 * (AF_XDP: 3840 bytes, its 4096-byte chunks less the kernel's 256 bytes of
 * XDP headroom). */
extern unsigned ef_vi_mtu(ef_vi* vi, ef_driver_handle vi_dh);

/* The interface's MAC address (6 bytes). Returns 0 or -errno. */
extern int ef_vi_get_mac(ef_vi* vi, ef_driver_handle vi_dh, void* mac_out);

/* Software events: not supported (-EOPNOTSUPP). */
extern int ef_eventq_put(unsigned resource_id, ef_driver_handle evq_dh,
                         unsigned ev_bits);

/* A set of VIs, one per queue of a multi-queue interface. */
typedef struct {
  unsigned      vis_res_id;
  struct ef_pd* vis_pd;
} ef_vi_set;

/* Allocate a set of n_vis VIs (n_vis <= the interface's RX queues). */
extern int ef_vi_set_alloc_from_pd(ef_vi_set* vi_set,
                                   ef_driver_handle vi_set_dh,
                                   struct ef_pd* pd, ef_driver_handle pd_dh,
                                   int n_vis);
extern int ef_vi_set_free(ef_vi_set* vi_set, ef_driver_handle vi_set_dh);
/* Allocate the VI of queue index_in_vi_set (-1: the first free one). */
extern int ef_vi_alloc_from_set(ef_vi* vi, ef_driver_handle vi_dh,
                                ef_vi_set* vi_set, ef_driver_handle vi_set_dh,
                                int index_in_vi_set, int evq_capacity,
                                int rxq_capacity, int txq_capacity,
                                ef_vi* evq_opt, ef_driver_handle evq_dh,
                                enum ef_vi_flags flags);

/* Make the driver handle's fd report readable when this VI has frames
 * (anyload: always armed; returns 0). */
extern int ef_vi_prime(ef_vi* vi, ef_driver_handle dh, unsigned current_ptr);

/**********************************************************************
 * Filters
 **********************************************************************/

enum ef_filter_flags {
  EF_FILTER_FLAG_NONE               = 0x0,
  EF_FILTER_FLAG_MCAST_LOOP_RECEIVE = 0x2,
  /* anyload extension, for ip4 local and full filters: the filter also
   * claims the later IPv4 fragments of a datagram whose first fragment it
   * claims (they carry no ports), and the ICMPv4 errors (destination
   * unreachable, time exceeded, parameter problem) that quote its flow,
   * as a host stack needs. Without it those go to the kernel, as on
   * Solarflare's NICs. Ignored by other filter types. */
  EF_FILTER_FLAG_WHOLE_FLOW         = 0x100,
  /* anyload extension: a filter held per interface RX queue. On AF_XDP a
   * VI gets only the frames that arrive on its queue, so the same filter
   * can be held by VIs on different queues, each taking the frames that
   * the NIC's RSS puts on its queue (Onload's clustering, for a set of
   * processes). VIs of one process (a VI set) always may; VIs of other
   * processes only when every holder asked with this flag, else -EBUSY.
   * On one queue a filter has one holder. The AF_PACKET backend, which
   * sees every queue, ignores it. */
  EF_FILTER_FLAG_SHARE_QUEUES       = 0x200,
};

typedef struct {
  unsigned type;
  unsigned flags;
  unsigned data[12];
} ef_filter_spec;

enum {
  EF_FILTER_VLAN_ID_ANY = -1,
};

typedef struct {
  int filter_id;
  int filter_type;
} ef_filter_cookie;

/* Set-up functions return 0 or -EPROTONOSUPPORT when the spec already
 * holds a filter that cannot be combined with the new one. Host and port
 * arguments are in network byte order. */
extern void ef_filter_spec_init(ef_filter_spec* filter_spec,
                                enum ef_filter_flags flags);
extern int ef_filter_spec_set_ip4_local(ef_filter_spec* filter_spec,
                                        int protocol,
                                        unsigned host_be32, int port_be16);
extern int ef_filter_spec_set_ip4_full(ef_filter_spec* filter_spec,
                                       int protocol,
                                       unsigned host_be32, int port_be16,
                                       unsigned rhost_be32, int rport_be16);
extern int ef_filter_spec_set_ip6_local(ef_filter_spec* filter_spec,
                                        int protocol,
                                        const struct in6_addr* host,
                                        int port_be16);
extern int ef_filter_spec_set_ip6_full(ef_filter_spec* filter_spec,
                                       int protocol,
                                       const struct in6_addr* host,
                                       int port_be16,
                                       const struct in6_addr* rhost,
                                       int rport_be16);
extern int ef_filter_spec_set_vlan(ef_filter_spec* filter_spec, int vlan_id);
extern int ef_filter_spec_set_eth_local(ef_filter_spec* filter_spec,
                                        int vlan_id, const void* mac);
extern int ef_filter_spec_set_unicast_all(ef_filter_spec* filter_spec);
extern int ef_filter_spec_set_multicast_all(ef_filter_spec* filter_spec);
extern int ef_filter_spec_set_unicast_mismatch(ef_filter_spec* filter_spec);
extern int ef_filter_spec_set_multicast_mismatch(ef_filter_spec* filter_spec);
extern int ef_filter_spec_set_port_sniff(ef_filter_spec* filter_spec,
                                         int promiscuous);
extern int ef_filter_spec_set_tx_port_sniff(ef_filter_spec* filter_spec);
extern int ef_filter_spec_set_block_kernel(ef_filter_spec* filter_spec);
extern int
ef_filter_spec_set_block_kernel_multicast(ef_filter_spec* filter_spec);
extern int
ef_filter_spec_set_block_kernel_unicast(ef_filter_spec* filter_spec);
extern int ef_filter_spec_set_eth_type(ef_filter_spec* filter_spec,
                                       uint16_t ether_type_be16);
extern int ef_filter_spec_set_ip_proto(ef_filter_spec* filter_spec,
                                       uint8_t ip_proto);
extern int ef_filter_spec_set_user_mark(ef_filter_spec* filter_spec,
                                        uint32_t user_mark, int bitwise_or);
extern int ef_filter_spec_set_user_flag(ef_filter_spec* filter_spec,
                                        uint8_t user_flag, int bitwise_or);

/* Steer the frames matching the spec to this VI and away from the kernel.
 * multicast_mismatch, port_sniff, tx_port_sniff and user marks/flags are
 * -EOPNOTSUPP: XDP sees neither the kernel's multicast subscriptions nor
 * can it hand one frame to both a VI and the kernel.
 * Where several filters match a frame, the most specific wins: full
 * 5-tuple, then local 3-tuple (exact address, then any address), then
 * MAC (+VLAN), then EtherType / IP protocol, then unicast/multicast-all.
 * Ports are seen in unfragmented IPv4 datagrams and first fragments only;
 * with EF_FILTER_FLAG_WHOLE_FLOW an ip4 filter that claims a first
 * fragment also claims the later fragments of its datagram (same source,
 * destination, identification and protocol) that arrive after it (not
 * those that overtake it), and the ICMP errors about its flow.
 * Returns 0 or -EEXIST (this VI already holds the same filter), -EBUSY
 * (another live VI holds it), -EINVAL (empty or malformed spec),
 * -EOPNOTSUPP (a filter type AF_XDP can't implement: sniff, user marks),
 * -ENOSPC (filter table full). */
extern int ef_vi_filter_add(ef_vi* vi, ef_driver_handle vi_dh,
                            const ef_filter_spec* filter_spec,
                            ef_filter_cookie* filter_cookie_out);

/* Remove a filter: its flow goes back to the kernel. Returns 0 or -EINVAL
 * (unknown cookie) or -ENOENT. */
extern int ef_vi_filter_del(ef_vi* vi, ef_driver_handle vi_dh,
                            ef_filter_cookie* filter_cookie);

/* Filters for a VI set: anyload installs the filter for every queue's VI
 * of the set that exists, so the flow reaches the set whatever queue the
 * interface hashes it to. */
extern int ef_vi_set_filter_add(ef_vi_set* vi_set, ef_driver_handle vi_set_dh,
                                const ef_filter_spec* filter_spec,
                                ef_filter_cookie* filter_cookie_out);
extern int ef_vi_set_filter_del(ef_vi_set* vi_set, ef_driver_handle vi_set_dh,
                                ef_filter_cookie* filter_cookie);

/**********************************************************************
 * Statistics
 **********************************************************************/

typedef struct {
  char* evsfl_name;
  int   evsfl_offset;
  int   evsfl_size;
} ef_vi_stats_field_layout;

typedef struct {
  int                      evsl_data_size;
  int                      evsl_fields_num;
  ef_vi_stats_field_layout evsl_fields[];
} ef_vi_stats_layout;

/* The layout of ef_vi_stats_query()'s data: the kernel's AF_XDP socket
 * statistics and anyload's own per-VI counters, each a uint64_t. A query
 * also brings the count of frames the kernel dropped for want of ring
 * room up to date: the ones not reported yet come as RX_NO_DESC_TRUNC
 * events at the next polls (otherwise the VI looks when its ring runs
 * deep, and every 4096 polls). */
extern int ef_vi_stats_query_layout(ef_vi* vi,
                                    const ef_vi_stats_layout**const layout_out);
extern int ef_vi_stats_query(ef_vi* vi, ef_driver_handle vi_dh,
                             void* data, int do_reset);

#ifdef __cplusplus
}
#endif

#endif /* __EFAB_VI_H__ */
