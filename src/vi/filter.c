/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/filter.c: building filter specs (ef_filter_spec_*) and adding or
 * removing them on a VI or VI set. The spec is a plain encoding (vi_int.h:
 * VI_FLT_*, VI_FD_*); the backend turns it into its own form (for AF_XDP,
 * entries in the XDP program's maps).
 */
#include "vi/vi_int.h"

#include <etherfabric/vi.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static const char* const type_names[VI_FLT_TYPE_MAX] = {
  [VI_FLT_NONE] = "none",
  [VI_FLT_IP4_LOCAL] = "ip4_local",
  [VI_FLT_IP4_FULL] = "ip4_full",
  [VI_FLT_IP6_LOCAL] = "ip6_local",
  [VI_FLT_IP6_FULL] = "ip6_full",
  [VI_FLT_ETH] = "eth_local",
  [VI_FLT_ETHERTYPE] = "eth_type",
  [VI_FLT_IPPROTO] = "ip_proto",
  [VI_FLT_UCAST_ALL] = "unicast_all",
  [VI_FLT_MCAST_ALL] = "multicast_all",
  [VI_FLT_UCAST_MISMATCH] = "unicast_mismatch",
  [VI_FLT_MCAST_MISMATCH] = "multicast_mismatch",
  [VI_FLT_BLOCK_KERNEL] = "block_kernel",
  [VI_FLT_BLOCK_KERNEL_UCAST] = "block_kernel_unicast",
  [VI_FLT_BLOCK_KERNEL_MCAST] = "block_kernel_multicast",
  [VI_FLT_SNIFF] = "port_sniff",
  [VI_FLT_TX_SNIFF] = "tx_port_sniff",
};

const char* vi_filter_type_name(unsigned type)
{
  return type < VI_FLT_TYPE_MAX ? type_names[type] : "unknown";
}

void ef_filter_spec_init(ef_filter_spec* fs, enum ef_filter_flags flags)
{
  memset(fs, 0, sizeof(*fs));
  fs->type = VI_FLT_NONE;
  fs->flags = flags;
}

/* A spec holds one main filter; VLAN may be added to Ethernet ones. */
static int set_type(ef_filter_spec* fs, unsigned type)
{
  if (fs->type != VI_FLT_NONE)
    return -EPROTONOSUPPORT;
  if ((fs->flags & VI_FLT_F_VLAN) && type != VI_FLT_ETH &&
      type != VI_FLT_ETHERTYPE)
    return -EPROTONOSUPPORT;
  fs->type = type;
  return 0;
}

static int ip_proto_ok(int protocol)
{
  return protocol == IPPROTO_UDP || protocol == IPPROTO_TCP;
}

int ef_filter_spec_set_ip4_local(ef_filter_spec* fs, int protocol,
                                 unsigned host_be32, int port_be16)
{
  int rc;
  if (!ip_proto_ok(protocol))
    return -EPROTONOSUPPORT;
  if ((rc = set_type(fs, VI_FLT_IP4_LOCAL)) < 0)
    return rc;
  fs->data[VI_FD_PROTO] = protocol;
  fs->data[VI_FD_LHOST] = host_be32;
  fs->data[VI_FD_LPORT] = (uint16_t)port_be16;
  return 0;
}

int ef_filter_spec_set_ip4_full(ef_filter_spec* fs, int protocol,
                                unsigned host_be32, int port_be16,
                                unsigned rhost_be32, int rport_be16)
{
  int rc;
  if (!ip_proto_ok(protocol))
    return -EPROTONOSUPPORT;
  if ((rc = set_type(fs, VI_FLT_IP4_FULL)) < 0)
    return rc;
  fs->data[VI_FD_PROTO] = protocol;
  fs->data[VI_FD_LHOST] = host_be32;
  fs->data[VI_FD_LPORT] = (uint16_t)port_be16;
  fs->data[VI_FD_RHOST] = rhost_be32;
  fs->data[VI_FD_RPORT] = (uint16_t)rport_be16;
  return 0;
}

int ef_filter_spec_set_ip6_local(ef_filter_spec* fs, int protocol,
                                 const struct in6_addr* host, int port_be16)
{
  int rc;
  if (!ip_proto_ok(protocol) || !host)
    return -EPROTONOSUPPORT;
  if ((rc = set_type(fs, VI_FLT_IP6_LOCAL)) < 0)
    return rc;
  fs->data[VI_FD_PROTO] = protocol;
  memcpy(&fs->data[VI_FD_LHOST], host, 16);
  fs->data[VI_FD_LPORT] = (uint16_t)port_be16;
  return 0;
}

int ef_filter_spec_set_ip6_full(ef_filter_spec* fs, int protocol,
                                const struct in6_addr* host, int port_be16,
                                const struct in6_addr* rhost, int rport_be16)
{
  int rc;
  if (!ip_proto_ok(protocol) || !host || !rhost)
    return -EPROTONOSUPPORT;
  if ((rc = set_type(fs, VI_FLT_IP6_FULL)) < 0)
    return rc;
  fs->data[VI_FD_PROTO] = protocol;
  memcpy(&fs->data[VI_FD_LHOST], host, 16);
  memcpy(&fs->data[VI_FD_RHOST], rhost, 16);
  fs->data[VI_FD_LPORT] = (uint16_t)port_be16;
  fs->data[VI_FD_RPORT] = (uint16_t)rport_be16;
  return 0;
}

int ef_filter_spec_set_vlan(ef_filter_spec* fs, int vlan_id)
{
  if (vlan_id < 0 || vlan_id > 4095)
    return -EINVAL;
  if (fs->type != VI_FLT_NONE && fs->type != VI_FLT_ETH &&
      fs->type != VI_FLT_ETHERTYPE)
    return -EPROTONOSUPPORT;
  fs->flags |= VI_FLT_F_VLAN;
  fs->data[VI_FD_VLAN] = (unsigned)vlan_id;
  return 0;
}

int ef_filter_spec_set_eth_local(ef_filter_spec* fs, int vlan_id,
                                 const void* mac)
{
  const uint8_t* m = mac;
  int rc;

  if (!mac || vlan_id < EF_FILTER_VLAN_ID_ANY || vlan_id > 4095)
    return -EINVAL;
  if ((rc = set_type(fs, VI_FLT_ETH)) < 0)
    return rc;
  fs->data[VI_FD_MAC_HI] = (unsigned)m[0] << 24 | (unsigned)m[1] << 16 |
                           (unsigned)m[2] << 8 | m[3];
  fs->data[VI_FD_MAC_LO] = (unsigned)m[4] << 8 | m[5];
  if (vlan_id != EF_FILTER_VLAN_ID_ANY) {
    fs->flags |= VI_FLT_F_VLAN;
    fs->data[VI_FD_VLAN] = (unsigned)vlan_id;
  }
  return 0;
}

int ef_filter_spec_set_eth_type(ef_filter_spec* fs, uint16_t ether_type_be16)
{
  int rc;
  if ((rc = set_type(fs, VI_FLT_ETHERTYPE)) < 0)
    return rc;
  fs->data[VI_FD_ETHERTYPE] = ether_type_be16;
  return 0;
}

int ef_filter_spec_set_ip_proto(ef_filter_spec* fs, uint8_t ip_proto)
{
  int rc;
  if ((rc = set_type(fs, VI_FLT_IPPROTO)) < 0)
    return rc;
  fs->data[VI_FD_PROTO] = ip_proto;
  return 0;
}

int ef_filter_spec_set_unicast_all(ef_filter_spec* fs)
{ return set_type(fs, VI_FLT_UCAST_ALL); }
int ef_filter_spec_set_multicast_all(ef_filter_spec* fs)
{ return set_type(fs, VI_FLT_MCAST_ALL); }
int ef_filter_spec_set_unicast_mismatch(ef_filter_spec* fs)
{ return set_type(fs, VI_FLT_UCAST_MISMATCH); }
int ef_filter_spec_set_multicast_mismatch(ef_filter_spec* fs)
{ return set_type(fs, VI_FLT_MCAST_MISMATCH); }
int ef_filter_spec_set_block_kernel(ef_filter_spec* fs)
{ return set_type(fs, VI_FLT_BLOCK_KERNEL); }
int ef_filter_spec_set_block_kernel_unicast(ef_filter_spec* fs)
{ return set_type(fs, VI_FLT_BLOCK_KERNEL_UCAST); }
int ef_filter_spec_set_block_kernel_multicast(ef_filter_spec* fs)
{ return set_type(fs, VI_FLT_BLOCK_KERNEL_MCAST); }

int ef_filter_spec_set_port_sniff(ef_filter_spec* fs, int promiscuous)
{
  (void)promiscuous;
  return set_type(fs, VI_FLT_SNIFF);
}

int ef_filter_spec_set_tx_port_sniff(ef_filter_spec* fs)
{ return set_type(fs, VI_FLT_TX_SNIFF); }

int ef_filter_spec_set_user_mark(ef_filter_spec* fs, uint32_t user_mark,
                                 int bitwise_or)
{
  (void)user_mark; (void)bitwise_or;
  fs->flags |= VI_FLT_F_USER_MARK;
  return 0;
}

int ef_filter_spec_set_user_flag(ef_filter_spec* fs, uint8_t user_flag,
                                 int bitwise_or)
{
  (void)user_flag; (void)bitwise_or;
  fs->flags |= VI_FLT_F_USER_MARK;
  return 0;
}

int ef_vi_filter_add(ef_vi* vi, ef_driver_handle vi_dh,
                     const ef_filter_spec* fs, ef_filter_cookie* cookie_out)
{
  const struct vi_ops* ops = vi_backend(vi);
  int id, rc;
  (void)vi_dh;

  if (!ops || !fs)
    return -EINVAL;
  if (fs->type == VI_FLT_NONE || fs->type >= VI_FLT_TYPE_MAX)
    return -EINVAL;
  if (fs->flags & VI_FLT_F_USER_MARK)
    return -EOPNOTSUPP;
  rc = ops->filter_add(vi, fs, &id);
  if (rc < 0)
    return rc;
  if (cookie_out) {
    cookie_out->filter_id = id;
    cookie_out->filter_type = (int)fs->type;
  }
  return 0;
}

int anyload_vi_filter_park(ef_vi* vi, ef_driver_handle vi_dh,
                           ef_filter_cookie* cookie, unsigned park_ms)
{
  const struct vi_ops* ops = vi_backend(vi);
  (void)vi_dh;

  if (!ops || !cookie || park_ms > 60000)
    return -EINVAL;
  if (!ops->filter_park)
    return -EOPNOTSUPP;
  return ops->filter_park(vi, cookie->filter_id, park_ms);
}

int ef_vi_filter_del(ef_vi* vi, ef_driver_handle vi_dh,
                     ef_filter_cookie* cookie)
{
  const struct vi_ops* ops = vi_backend(vi);
  (void)vi_dh;

  if (!ops || !cookie)
    return -EINVAL;
  return ops->filter_del(vi, cookie->filter_id);
}
