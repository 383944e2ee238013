/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * etherfabric/capabilities.h: what the interface under a VI can do. Values
 * describe anyload on the interface (AF_XDP backend), not the NIC.
 */
#ifndef __EFAB_CAPABILITIES_H__
#define __EFAB_CAPABILITIES_H__

#include <etherfabric/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The order and values are those of the original API. */
enum ef_vi_capability {
  EF_VI_CAP_PIO = 0,
  EF_VI_CAP_PIO_BUFFER_SIZE,
  EF_VI_CAP_PIO_BUFFER_COUNT,
  EF_VI_CAP_HW_MULTICAST_LOOPBACK,
  EF_VI_CAP_HW_MULTICAST_REPLICATION,
  EF_VI_CAP_HW_RX_TIMESTAMPING,
  EF_VI_CAP_HW_TX_TIMESTAMPING,
  EF_VI_CAP_PACKED_STREAM,
  EF_VI_CAP_PACKED_STREAM_BUFFER_SIZES,
  EF_VI_CAP_VPORTS,
  EF_VI_CAP_PHYS_MODE,
  EF_VI_CAP_BUFFER_MODE,
  EF_VI_CAP_MULTICAST_FILTER_CHAINING,
  EF_VI_CAP_MAC_SPOOFING,
  EF_VI_CAP_RX_FILTER_TYPE_UDP_LOCAL,
  EF_VI_CAP_RX_FILTER_TYPE_TCP_LOCAL,
  EF_VI_CAP_RX_FILTER_TYPE_UDP_FULL,
  EF_VI_CAP_RX_FILTER_TYPE_TCP_FULL,
  EF_VI_CAP_RX_FILTER_TYPE_IP_VLAN,
  EF_VI_CAP_RX_FILTER_TYPE_UDP6_LOCAL,
  EF_VI_CAP_RX_FILTER_TYPE_TCP6_LOCAL,
  EF_VI_CAP_RX_FILTER_TYPE_UDP6_FULL,
  EF_VI_CAP_RX_FILTER_TYPE_TCP6_FULL,
  EF_VI_CAP_RX_FILTER_TYPE_IP6_VLAN,
  EF_VI_CAP_RX_FILTER_TYPE_ETH_LOCAL,
  EF_VI_CAP_RX_FILTER_TYPE_ETH_LOCAL_VLAN,
  EF_VI_CAP_RX_FILTER_TYPE_UCAST_ALL,
  EF_VI_CAP_RX_FILTER_TYPE_MCAST_ALL,
  EF_VI_CAP_RX_FILTER_TYPE_UCAST_MISMATCH,
  EF_VI_CAP_RX_FILTER_TYPE_MCAST_MISMATCH,
  EF_VI_CAP_RX_FILTER_TYPE_SNIFF,
  EF_VI_CAP_TX_FILTER_TYPE_SNIFF,
  EF_VI_CAP_RX_FILTER_IP4_PROTO,
  EF_VI_CAP_RX_FILTER_ETHERTYPE,
  EF_VI_CAP_RXQ_SIZES,
  EF_VI_CAP_TXQ_SIZES,
  EF_VI_CAP_EVQ_SIZES,
  EF_VI_CAP_ZERO_RX_PREFIX,
  EF_VI_CAP_TX_PUSH_ALWAYS,
  EF_VI_CAP_NIC_PACE,
  EF_VI_CAP_RX_MERGE,
  EF_VI_CAP_TX_ALTERNATIVES,
  EF_VI_CAP_TX_ALTERNATIVES_VFIFOS,
  EF_VI_CAP_TX_ALTERNATIVES_CP_BUFFERS,
  EF_VI_CAP_RX_FW_VARIANT,
  EF_VI_CAP_TX_FW_VARIANT,
  EF_VI_CAP_CTPIO,
  EF_VI_CAP_TX_ALTERNATIVES_CP_BUFFER_SIZE,
  EF_VI_CAP_RX_FORCE_EVENT_MERGING,
  EF_VI_CAP_MAX,
};

/* Get a capability of the interface `ifindex`. Returns 0 and sets *value
 * when supported, -EOPNOTSUPP when not, -ENODEV for an unknown interface,
 * -EINVAL for an unknown capability or NULL value. */
extern int ef_vi_capabilities_get(ef_driver_handle handle, int ifindex,
                                  enum ef_vi_capability cap,
                                  unsigned long* value);
extern int ef_vi_capabilities_max(void);
extern const char* ef_vi_capabilities_name(enum ef_vi_capability cap);

#ifdef __cplusplus
}
#endif

#endif /* __EFAB_CAPABILITIES_H__ */
