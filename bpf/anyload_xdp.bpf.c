// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bpf/anyload_xdp.bpf.c: the XDP program that implements ef_vi filters.
 *
 * Attached once per interface, shared by all VIs on it. For each frame it
 * looks the frame up in the filter maps, most specific first: IPv4/IPv6
 * full 5-tuple, local 3-tuple (exact address, then any address), MAC
 * (+VLAN), EtherType, IP protocol, then unicast/multicast-all and
 * unicast-mismatch. A match is redirected to the owning VI's AF_XDP socket;
 * if that socket is gone (its process died) the redirect falls back to
 * XDP_PASS, so a stale filter never swallows traffic. Frames that match
 * nothing go to the kernel (XDP_PASS) unless a block-kernel filter is set.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "filter_shared.h"

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, AL_MAX_SLOTS);
  __type(key, __u32);
  __type(value, __u32);
} al_xsks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AL_MAX_FILTERS);
  __type(key, struct al_ip4_full_key);
  __type(value, struct al_filter_val);
} al_ip4_full SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AL_MAX_FILTERS);
  __type(key, struct al_ip4_local_key);
  __type(value, struct al_filter_val);
} al_ip4_local SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AL_MAX_FILTERS);
  __type(key, struct al_ip6_full_key);
  __type(value, struct al_filter_val);
} al_ip6_full SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AL_MAX_FILTERS);
  __type(key, struct al_ip6_local_key);
  __type(value, struct al_filter_val);
} al_ip6_local SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AL_MAX_FILTERS);
  __type(key, struct al_eth_key);
  __type(value, struct al_filter_val);
} al_eth SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, struct al_ethertype_key);
  __type(value, struct al_filter_val);
} al_ethertype SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, struct al_filter_val);
} al_ipproto SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, AL_SPECIAL_MAX);
  __type(key, __u32);
  __type(value, struct al_filter_val);
} al_special SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct al_config);
} al_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, AL_MAX_SLOTS);
  __type(key, __u32);
  __type(value, struct al_owner);
} al_owners SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, AL_STAT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} al_stats SEC(".maps");

static __always_inline void count(__u32 stat)
{
  __u64 *v = bpf_map_lookup_elem(&al_stats, &stat);
  if (v)
    *v += 1;
}

/* Redirect to the owner of a matching filter. */
static __always_inline int steer(struct xdp_md *ctx,
                                 const struct al_filter_val *val)
{
  long rc;

  if (!val->valid)
    return -1;
  if (val->queue != ctx->rx_queue_index) {
    /* AF_XDP can only deliver to a socket bound to the arrival queue. */
    count(AL_STAT_WRONG_QUEUE);
    return XDP_PASS;
  }
  /* Lower bits of flags: the action when the slot is empty (owner died). */
  rc = bpf_redirect_map(&al_xsks, val->slot, XDP_PASS);
  if (rc == XDP_REDIRECT)
    count(AL_STAT_REDIRECTED);
  else
    count(AL_STAT_NO_SOCKET);
  return rc;
}

static __always_inline int same_mac(const __u8 *a, const __u8 *b)
{
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] &&
         a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

static __always_inline const struct al_filter_val *special(__u32 which)
{
  const struct al_filter_val *v = bpf_map_lookup_elem(&al_special, &which);
  if (v && v->valid)
    return v;
  return 0;
}

static __always_inline const struct al_filter_val *
match_ip4(void *l3, void *data_end, __u8 *proto_out)
{
  struct iphdr *ip = l3;
  const struct al_filter_val *v;
  __u16 *ports;
  __u32 ihl;

  if ((void *)(ip + 1) > data_end)
    return 0;
  *proto_out = ip->protocol;
  if (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP)
    return 0;
  /* Only unfragmented datagrams and first fragments carry ports. */
  if (ip->frag_off & bpf_htons(0x1fff))
    return 0;
  ihl = ip->ihl * 4;
  if (ihl < sizeof(*ip))
    return 0;
  ports = (__u16 *)((__u8 *)ip + ihl);
  if ((void *)(ports + 2) > data_end)
    return 0;

  struct al_ip4_full_key fk = {
    .laddr_be32 = ip->daddr, .raddr_be32 = ip->saddr,
    .lport_be16 = ports[1], .rport_be16 = ports[0], .proto = ip->protocol,
  };
  v = bpf_map_lookup_elem(&al_ip4_full, &fk);
  if (v)
    return v;
  struct al_ip4_local_key lk = {
    .laddr_be32 = ip->daddr, .lport_be16 = ports[1], .proto = ip->protocol,
  };
  v = bpf_map_lookup_elem(&al_ip4_local, &lk);
  if (v)
    return v;
  lk.laddr_be32 = 0;
  return bpf_map_lookup_elem(&al_ip4_local, &lk);
}

static __always_inline const struct al_filter_val *
match_ip6(void *l3, void *data_end, __u8 *proto_out)
{
  struct ipv6hdr *ip6 = l3;
  const struct al_filter_val *v;
  __u16 *ports;

  if ((void *)(ip6 + 1) > data_end)
    return 0;
  *proto_out = ip6->nexthdr;
  /* Extension headers are not walked: such frames go to the kernel. */
  if (ip6->nexthdr != IPPROTO_UDP && ip6->nexthdr != IPPROTO_TCP)
    return 0;
  ports = (__u16 *)(ip6 + 1);
  if ((void *)(ports + 2) > data_end)
    return 0;

  struct al_ip6_full_key fk = {
    .lport_be16 = ports[1], .rport_be16 = ports[0], .proto = ip6->nexthdr,
  };
  __builtin_memcpy(fk.laddr, &ip6->daddr, 16);
  __builtin_memcpy(fk.raddr, &ip6->saddr, 16);
  v = bpf_map_lookup_elem(&al_ip6_full, &fk);
  if (v)
    return v;
  struct al_ip6_local_key lk = {
    .lport_be16 = ports[1], .proto = ip6->nexthdr,
  };
  __builtin_memcpy(lk.laddr, &ip6->daddr, 16);
  v = bpf_map_lookup_elem(&al_ip6_local, &lk);
  if (v)
    return v;
  __builtin_memset(lk.laddr, 0, 16);
  return bpf_map_lookup_elem(&al_ip6_local, &lk);
}

SEC("xdp")
int anyload_xdp(struct xdp_md *ctx)
{
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  const struct al_filter_val *v = 0;
  void *l3;
  __u16 proto_be16;
  __u16 vlan = AL_VLAN_ANY;
  __u8 ipproto = 0;
  int have_ipproto = 0;
  int rc;

  count(AL_STAT_RX);
  if ((void *)(eth + 1) > data_end) {
    count(AL_STAT_MALFORMED);
    return XDP_PASS;
  }
  proto_be16 = eth->h_proto;
  l3 = eth + 1;
  if (proto_be16 == bpf_htons(ETH_P_8021Q) ||
      proto_be16 == bpf_htons(ETH_P_8021AD)) {
    __u16 *tag = l3;
    if ((void *)(tag + 2) > data_end) {
      count(AL_STAT_MALFORMED);
      return XDP_PASS;
    }
    vlan = bpf_ntohs(tag[0]) & 0x0fff;
    proto_be16 = tag[1];
    l3 = tag + 2;
  }

  if (proto_be16 == bpf_htons(ETH_P_IP)) {
    v = match_ip4(l3, data_end, &ipproto);
    have_ipproto = 1;
  } else if (proto_be16 == bpf_htons(ETH_P_IPV6)) {
    v = match_ip6(l3, data_end, &ipproto);
    have_ipproto = 1;
  }
  if (v && (rc = steer(ctx, v)) >= 0)
    return rc;

  struct al_eth_key ek = { .vlan = vlan };
  __builtin_memcpy(ek.mac, eth->h_dest, 6);
  v = bpf_map_lookup_elem(&al_eth, &ek);
  if (!v && vlan != AL_VLAN_ANY) {
    ek.vlan = AL_VLAN_ANY;
    v = bpf_map_lookup_elem(&al_eth, &ek);
  }
  if (v && (rc = steer(ctx, v)) >= 0)
    return rc;

  struct al_ethertype_key tk = { .ethertype_be16 = proto_be16, .vlan = vlan };
  v = bpf_map_lookup_elem(&al_ethertype, &tk);
  if (!v && vlan != AL_VLAN_ANY) {
    tk.vlan = AL_VLAN_ANY;
    v = bpf_map_lookup_elem(&al_ethertype, &tk);
  }
  if (v && (rc = steer(ctx, v)) >= 0)
    return rc;

  if (have_ipproto) {
    __u32 p = ipproto;
    v = bpf_map_lookup_elem(&al_ipproto, &p);
    if (v && (rc = steer(ctx, v)) >= 0)
      return rc;
  }

  int is_mcast = eth->h_dest[0] & 1;   /* broadcast counts as multicast */
  v = special(is_mcast ? AL_SPECIAL_MCAST_ALL : AL_SPECIAL_UCAST_ALL);
  if (v && (rc = steer(ctx, v)) >= 0)
    return rc;
  if (!is_mcast) {
    v = special(AL_SPECIAL_UCAST_MISMATCH);
    if (v) {
      __u32 zero = 0;
      const struct al_config *cfg = bpf_map_lookup_elem(&al_config, &zero);
      if (cfg && !same_mac(cfg->mac, eth->h_dest) &&
          (rc = steer(ctx, v)) >= 0)
        return rc;
    }
  }

  if (special(AL_SPECIAL_BLOCK_KERNEL) ||
      special(is_mcast ? AL_SPECIAL_BLOCK_KERNEL_MCAST
                       : AL_SPECIAL_BLOCK_KERNEL_UCAST)) {
    count(AL_STAT_BLOCKED);
    return XDP_DROP;
  }
  count(AL_STAT_PASSED);
  return XDP_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
