/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bpf/filter_lookup.h: the filter maps and the one lookup that every
 * anyload BPF program makes (the XDP program of the AF_XDP backend; the tc
 * and socket-filter programs of the AF_PACKET backend), so that a filter
 * means the same on every backend.
 *
 * al_classify() parses the frame and finds the filter that claims it, most
 * specific first: IPv4/IPv6 full 5-tuple, local 3-tuple (exact address,
 * then any address; with whole_flow also a later IPv4 fragment, by the
 * filter of its datagram's first fragment (al_frags), and an ICMPv4 error,
 * by the filter of the flow it quotes), MAC (+VLAN), EtherType (+VLAN), IP
 * protocol, then unicast/multicast-all and unicast-mismatch. The first
 * *valid* entry wins (array maps hold empty entries). When nothing claims
 * the frame, a block-kernel filter (if any) is reported instead.
 *
 * The including program defines, before including this file:
 *   AL_CTX                       its context type (struct xdp_md, ...)
 *   al_load(ctx, off, to, len)   copy len bytes at frame offset off (0 =
 *                                the Ethernet header) to `to`: 0, or < 0
 *                                when the frame is shorter
 *   al_offload_vlan(ctx)         the VLAN id that the device took out of the
 *                                frame into metadata, or AL_VLAN_ANY
 * Each program object that includes this file gets its own instances of the
 * maps; the library makes the objects of one interface share them
 * (bpf_map__reuse_fd) where a backend needs that.
 */
#ifndef ANYLOAD_FILTER_LOOKUP_H
#define ANYLOAD_FILTER_LOOKUP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "filter_shared.h"

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

/* The whole-flow filter that claimed each fragmented datagram's first
 * fragment, so that its later fragments (which carry no ports) follow it,
 * to be reassembled by the owner; without this they would go to the
 * kernel, and the datagram would be lost to both. An LRU map: a datagram
 * whose last fragment never comes costs an entry until newer ones push it
 * out. A later fragment that overtakes the first is not followed. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, AL_MAX_FRAG_DATAGRAMS);
  __type(key, struct al_frag_key);
  __type(value, struct al_filter_val);
} al_frags SEC(".maps");

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

/* What al_classify found. */
enum al_class {
  AL_CLS_NONE,        /* no filter: the kernel's frame */
  AL_CLS_MATCH,       /* *out is the filter that claims the frame */
  AL_CLS_BLOCK,       /* no filter, but *out is a block-kernel filter */
  AL_CLS_MALFORMED,   /* Ethernet (or VLAN) header cut short */
};

static __always_inline void al_count(__u32 stat)
{
  __u64 *v = bpf_map_lookup_elem(&al_stats, &stat);
  if (v)
    *v += 1;
}

static __always_inline const struct al_filter_val *al_valid(
  const struct al_filter_val *v)
{
  return v && v->valid ? v : 0;
}

static __always_inline const struct al_filter_val *al_special_get(
  __u32 which)
{
  return al_valid(bpf_map_lookup_elem(&al_special, &which));
}

static __always_inline int al_same_mac(const __u8 *a, const __u8 *b)
{
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] &&
         a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

/* The filter that claims local address laddr, local port lport and the
 * remote end (raddr, rport) of protocol proto: full, then local (exact
 * address, then any address). */
static __always_inline const struct al_filter_val *
al_match_ip4_flow(__u32 laddr, __u16 lport, __u32 raddr, __u16 rport,
                  __u8 proto)
{
  const struct al_filter_val *v;
  struct al_ip4_full_key fk = {
    .laddr_be32 = laddr, .raddr_be32 = raddr,
    .lport_be16 = lport, .rport_be16 = rport, .proto = proto,
  };
  v = bpf_map_lookup_elem(&al_ip4_full, &fk);
  if (v)
    return v;
  struct al_ip4_local_key lk = {
    .laddr_be32 = laddr, .lport_be16 = lport, .proto = proto,
  };
  v = bpf_map_lookup_elem(&al_ip4_local, &lk);
  if (v)
    return v;
  lk.laddr_be32 = 0;
  return bpf_map_lookup_elem(&al_ip4_local, &lk);
}

/* The filter of the flow that the ICMP error (destination unreachable,
 * time exceeded, parameter problem) at frame offset off quotes: the
 * quoted header is one that the filter's owner sent, its source the local
 * end. A host stack needs them (its filters are whole_flow): without them
 * a "fragmentation needed" reaches the kernel, which has no socket for
 * the flow, and the path MTU stays a black hole where every full-sized
 * TCP segment is dropped for good. */
static __always_inline const struct al_filter_val *
al_match_icmp4_err(AL_CTX *ctx, __u32 off)
{
  struct iphdr q;
  __u16 ports[2];
  __u8 type;
  __u32 qihl;

  if (al_load(ctx, off, &type, 1) < 0)
    return 0;
  if (type != 3 && type != 11 && type != 12)
    return 0;
  if (al_load(ctx, off + 8, &q, sizeof(q)) < 0)
    return 0;
  if (q.protocol != IPPROTO_UDP && q.protocol != IPPROTO_TCP)
    return 0;
  if (q.frag_off & bpf_htons(0x1fff))
    return 0;
  qihl = q.ihl * 4;
  if (qihl < sizeof(q))
    return 0;
  if (al_load(ctx, off + 8 + qihl, ports, sizeof(ports)) < 0)
    return 0;
  return al_match_ip4_flow(q.saddr, ports[0], q.daddr, ports[1],
                           q.protocol);
}

/* IPv4 at frame offset off: the full, then the local filters. Sets
 * *proto_out when the IP header is there. */
static __always_inline const struct al_filter_val *
al_match_ip4(AL_CTX *ctx, __u32 off, __u8 *proto_out, int *have_proto)
{
  const struct al_filter_val *v;
  struct iphdr ip;
  __u16 ports[2];
  __u32 ihl;

  if (al_load(ctx, off, &ip, sizeof(ip)) < 0)
    return 0;
  *proto_out = ip.protocol;
  *have_proto = 1;
  if (ip.protocol == IPPROTO_ICMP) {
    ihl = ip.ihl * 4;
    if ((ip.frag_off & bpf_htons(0x3fff)) || ihl < sizeof(ip))
      return 0;
    /* Only to a filter that asked for them; else on to the other
     * filters (an IP protocol filter, ...) and the kernel. */
    v = al_valid(al_match_icmp4_err(ctx, off + ihl));
    return v && v->whole_flow ? v : 0;
  }
  if (ip.protocol != IPPROTO_UDP && ip.protocol != IPPROTO_TCP)
    return 0;
  /* Only unfragmented datagrams and first fragments carry ports; a later
   * fragment goes where its datagram's first went (al_frags). */
  struct al_frag_key gk = {
    .saddr_be32 = ip.saddr, .daddr_be32 = ip.daddr, .id_be16 = ip.id,
    .proto = ip.protocol,
  };
  if (ip.frag_off & bpf_htons(0x1fff)) {
    v = al_valid(bpf_map_lookup_elem(&al_frags, &gk));
    if (v)
      al_count(AL_STAT_FRAG_FOLLOWED);
    return v;
  }
  ihl = ip.ihl * 4;
  if (ihl < sizeof(ip))
    return 0;
  if (al_load(ctx, off + ihl, ports, sizeof(ports)) < 0)
    return 0;

  v = al_match_ip4_flow(ip.daddr, ports[1], ip.saddr, ports[0],
                        ip.protocol);
  /* A first fragment (MF set) that a whole-flow filter claims: remember
   * the filter for the rest of its datagram. */
  if (al_valid(v) && v->whole_flow && (ip.frag_off & bpf_htons(0x2000)))
    bpf_map_update_elem(&al_frags, &gk, v, BPF_ANY);
  return v;
}

/* IPv6 at frame offset off; extension headers are not walked (such frames
 * go to the kernel). */
static __always_inline const struct al_filter_val *
al_match_ip6(AL_CTX *ctx, __u32 off, __u8 *proto_out, int *have_proto)
{
  const struct al_filter_val *v;
  struct ipv6hdr ip6;
  __u16 ports[2];

  if (al_load(ctx, off, &ip6, sizeof(ip6)) < 0)
    return 0;
  *proto_out = ip6.nexthdr;
  *have_proto = 1;
  if (ip6.nexthdr != IPPROTO_UDP && ip6.nexthdr != IPPROTO_TCP)
    return 0;
  if (al_load(ctx, off + sizeof(ip6), ports, sizeof(ports)) < 0)
    return 0;

  struct al_ip6_full_key fk = {
    .lport_be16 = ports[1], .rport_be16 = ports[0], .proto = ip6.nexthdr,
  };
  __builtin_memcpy(fk.laddr, &ip6.daddr, 16);
  __builtin_memcpy(fk.raddr, &ip6.saddr, 16);
  v = bpf_map_lookup_elem(&al_ip6_full, &fk);
  if (v)
    return v;
  struct al_ip6_local_key lk = {
    .lport_be16 = ports[1], .proto = ip6.nexthdr,
  };
  __builtin_memcpy(lk.laddr, &ip6.daddr, 16);
  v = bpf_map_lookup_elem(&al_ip6_local, &lk);
  if (v)
    return v;
  __builtin_memset(lk.laddr, 0, 16);
  return bpf_map_lookup_elem(&al_ip6_local, &lk);
}

/* al_classify: the filter that claims the frame of ctx (see the file
 * comment). *out is set for AL_CLS_MATCH and AL_CLS_BLOCK. */
static __always_inline int al_classify(AL_CTX *ctx,
                                       const struct al_filter_val **out)
{
  const struct al_filter_val *v = 0;
  struct ethhdr eth;
  __u32 l3 = sizeof(eth);
  __u16 proto_be16;
  __u16 vlan = al_offload_vlan(ctx);
  __u8 ipproto = 0;
  int have_ipproto = 0;

  if (al_load(ctx, 0, &eth, sizeof(eth)) < 0)
    return AL_CLS_MALFORMED;
  proto_be16 = eth.h_proto;
  if (proto_be16 == bpf_htons(ETH_P_8021Q) ||
      proto_be16 == bpf_htons(ETH_P_8021AD)) {
    __u16 tag[2];
    if (al_load(ctx, l3, tag, sizeof(tag)) < 0)
      return AL_CLS_MALFORMED;
    vlan = bpf_ntohs(tag[0]) & 0x0fff;
    proto_be16 = tag[1];
    l3 += sizeof(tag);
  }

  if (proto_be16 == bpf_htons(ETH_P_IP))
    v = al_match_ip4(ctx, l3, &ipproto, &have_ipproto);
  else if (proto_be16 == bpf_htons(ETH_P_IPV6))
    v = al_match_ip6(ctx, l3, &ipproto, &have_ipproto);
  if ((*out = al_valid(v)))
    return AL_CLS_MATCH;

  struct al_eth_key ek = { .vlan = vlan };
  __builtin_memcpy(ek.mac, eth.h_dest, 6);
  v = bpf_map_lookup_elem(&al_eth, &ek);
  if (!v && vlan != AL_VLAN_ANY) {
    ek.vlan = AL_VLAN_ANY;
    v = bpf_map_lookup_elem(&al_eth, &ek);
  }
  if ((*out = al_valid(v)))
    return AL_CLS_MATCH;

  struct al_ethertype_key tk = { .ethertype_be16 = proto_be16, .vlan = vlan };
  v = bpf_map_lookup_elem(&al_ethertype, &tk);
  if (!v && vlan != AL_VLAN_ANY) {
    tk.vlan = AL_VLAN_ANY;
    v = bpf_map_lookup_elem(&al_ethertype, &tk);
  }
  if ((*out = al_valid(v)))
    return AL_CLS_MATCH;

  if (have_ipproto) {
    __u32 p = ipproto;
    if ((*out = al_valid(bpf_map_lookup_elem(&al_ipproto, &p))))
      return AL_CLS_MATCH;
  }

  int is_mcast = eth.h_dest[0] & 1;   /* broadcast counts as multicast */
  if ((*out = al_special_get(is_mcast ? AL_SPECIAL_MCAST_ALL
                                  : AL_SPECIAL_UCAST_ALL)))
    return AL_CLS_MATCH;
  if (!is_mcast && (v = al_special_get(AL_SPECIAL_UCAST_MISMATCH))) {
    __u32 zero = 0;
    const struct al_config *cfg = bpf_map_lookup_elem(&al_config, &zero);
    if (cfg && !al_same_mac(cfg->mac, eth.h_dest)) {
      *out = v;
      return AL_CLS_MATCH;
    }
  }

  if ((*out = al_special_get(AL_SPECIAL_BLOCK_KERNEL)) ||
      (*out = al_special_get(is_mcast ? AL_SPECIAL_BLOCK_KERNEL_MCAST
                                  : AL_SPECIAL_BLOCK_KERNEL_UCAST)))
    return AL_CLS_BLOCK;
  return AL_CLS_NONE;
}

#endif /* ANYLOAD_FILTER_LOOKUP_H */
