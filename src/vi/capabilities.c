/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/capabilities.c: what anyload offers on an interface, in the terms of
 * the original API. Hardware features (PIO, CTPIO, TX alternatives, packed
 * stream, NIC switching, pacing, hardware timestamps) are -EOPNOTSUPP;
 * filter types that the XDP program implements are 1.
 */
#include "vi/vi_int.h"

#include <errno.h>
#include <etherfabric/capabilities.h>
#include <net/if.h>

#define CAP_NAME(c) [c] = #c
static const char* const cap_names[EF_VI_CAP_MAX] = {
  CAP_NAME(EF_VI_CAP_PIO),
  CAP_NAME(EF_VI_CAP_PIO_BUFFER_SIZE),
  CAP_NAME(EF_VI_CAP_PIO_BUFFER_COUNT),
  CAP_NAME(EF_VI_CAP_HW_MULTICAST_LOOPBACK),
  CAP_NAME(EF_VI_CAP_HW_MULTICAST_REPLICATION),
  CAP_NAME(EF_VI_CAP_HW_RX_TIMESTAMPING),
  CAP_NAME(EF_VI_CAP_HW_TX_TIMESTAMPING),
  CAP_NAME(EF_VI_CAP_PACKED_STREAM),
  CAP_NAME(EF_VI_CAP_PACKED_STREAM_BUFFER_SIZES),
  CAP_NAME(EF_VI_CAP_VPORTS),
  CAP_NAME(EF_VI_CAP_PHYS_MODE),
  CAP_NAME(EF_VI_CAP_BUFFER_MODE),
  CAP_NAME(EF_VI_CAP_MULTICAST_FILTER_CHAINING),
  CAP_NAME(EF_VI_CAP_MAC_SPOOFING),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_UDP_LOCAL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_TCP_LOCAL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_UDP_FULL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_TCP_FULL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_IP_VLAN),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_UDP6_LOCAL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_TCP6_LOCAL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_UDP6_FULL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_TCP6_FULL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_IP6_VLAN),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_ETH_LOCAL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_ETH_LOCAL_VLAN),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_UCAST_ALL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_MCAST_ALL),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_UCAST_MISMATCH),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_MCAST_MISMATCH),
  CAP_NAME(EF_VI_CAP_RX_FILTER_TYPE_SNIFF),
  CAP_NAME(EF_VI_CAP_TX_FILTER_TYPE_SNIFF),
  CAP_NAME(EF_VI_CAP_RX_FILTER_IP4_PROTO),
  CAP_NAME(EF_VI_CAP_RX_FILTER_ETHERTYPE),
  CAP_NAME(EF_VI_CAP_RXQ_SIZES),
  CAP_NAME(EF_VI_CAP_TXQ_SIZES),
  CAP_NAME(EF_VI_CAP_EVQ_SIZES),
  CAP_NAME(EF_VI_CAP_ZERO_RX_PREFIX),
  CAP_NAME(EF_VI_CAP_TX_PUSH_ALWAYS),
  CAP_NAME(EF_VI_CAP_NIC_PACE),
  CAP_NAME(EF_VI_CAP_RX_MERGE),
  CAP_NAME(EF_VI_CAP_TX_ALTERNATIVES),
  CAP_NAME(EF_VI_CAP_TX_ALTERNATIVES_VFIFOS),
  CAP_NAME(EF_VI_CAP_TX_ALTERNATIVES_CP_BUFFERS),
  CAP_NAME(EF_VI_CAP_RX_FW_VARIANT),
  CAP_NAME(EF_VI_CAP_TX_FW_VARIANT),
  CAP_NAME(EF_VI_CAP_CTPIO),
  CAP_NAME(EF_VI_CAP_TX_ALTERNATIVES_CP_BUFFER_SIZE),
  CAP_NAME(EF_VI_CAP_RX_FORCE_EVENT_MERGING),
};

/* Ring sizes offered: powers of two from 64 to VI_MAX_RING, as a bitmask
 * of sizes (bit n set: 2^n entries). */
static unsigned long ring_sizes(void)
{
  unsigned long m = 0;
  unsigned n;
  for (n = 6; (1u << n) <= VI_MAX_RING; n++)
    m |= 1ul << n;
  return m;
}

int ef_vi_capabilities_get(ef_driver_handle handle, int ifindex,
                           enum ef_vi_capability cap, unsigned long* value)
{
  const struct vi_ops* ops;
  char name[IF_NAMESIZE];
  int rc;
  (void)handle;

  if (!value || (unsigned)cap >= EF_VI_CAP_MAX)
    return -EINVAL;
  rc = vi_backend_choose(&ops);
  if (rc < 0)
    return rc;
  /* A backend with interfaces of its own (sim) knows their indexes. */
  if (ifindex <= 0 || (ops && ops->pd_name
                           ? ops->pd_name(ifindex, name) < 0
                           : !if_indextoname((unsigned)ifindex, name)))
    return -ENODEV;
  switch (cap) {
  case EF_VI_CAP_RX_FILTER_TYPE_UDP_LOCAL:
  case EF_VI_CAP_RX_FILTER_TYPE_TCP_LOCAL:
  case EF_VI_CAP_RX_FILTER_TYPE_UDP_FULL:
  case EF_VI_CAP_RX_FILTER_TYPE_TCP_FULL:
  case EF_VI_CAP_RX_FILTER_TYPE_UDP6_LOCAL:
  case EF_VI_CAP_RX_FILTER_TYPE_TCP6_LOCAL:
  case EF_VI_CAP_RX_FILTER_TYPE_UDP6_FULL:
  case EF_VI_CAP_RX_FILTER_TYPE_TCP6_FULL:
  case EF_VI_CAP_RX_FILTER_TYPE_ETH_LOCAL:
  case EF_VI_CAP_RX_FILTER_TYPE_ETH_LOCAL_VLAN:
  case EF_VI_CAP_RX_FILTER_TYPE_UCAST_ALL:
  case EF_VI_CAP_RX_FILTER_TYPE_MCAST_ALL:
  case EF_VI_CAP_RX_FILTER_TYPE_UCAST_MISMATCH:
  case EF_VI_CAP_RX_FILTER_IP4_PROTO:
  case EF_VI_CAP_RX_FILTER_ETHERTYPE:
  case EF_VI_CAP_ZERO_RX_PREFIX:
  case EF_VI_CAP_MAC_SPOOFING:
    *value = 1;
    return 0;
  case EF_VI_CAP_RXQ_SIZES:
  case EF_VI_CAP_TXQ_SIZES:
  case EF_VI_CAP_EVQ_SIZES:
    *value = ring_sizes();
    return 0;
  default:
    return -EOPNOTSUPP;
  }
}

int ef_vi_capabilities_max(void)
{
  return EF_VI_CAP_MAX - 1;
}

const char* ef_vi_capabilities_name(enum ef_vi_capability cap)
{
  if ((unsigned)cap >= EF_VI_CAP_MAX || !cap_names[cap])
    return NULL;
  return cap_names[cap];
}
