/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bpf/filter_shared.h: layout of the maps shared between the XDP filter
 * program (bpf/anyload_xdp.bpf.c) and the library (src/vi/afxdp_bpf.c).
 *
 * One program serves every VI on an interface, of every process. A filter
 * is a map entry whose value names, per interface RX queue, the XSKMAP slot
 * of the AF_XDP socket bound to that queue that owns it. Keys hold
 * addresses and ports in network byte order, exactly as they appear in
 * the frame.
 */
#ifndef ANYLOAD_FILTER_SHARED_H
#define ANYLOAD_FILTER_SHARED_H

#include <linux/types.h>

#define AL_XDP_PROG_NAME   "anyload_xdp"
#define AL_MAX_SLOTS       64      /* VIs per interface */
#define AL_MAX_FILTERS     8192    /* entries per filter map */
#define AL_VLAN_ANY        0xffff  /* eth/ethertype keys: any or no tag */

/* Bumped whenever a map layout changes: a program of another layout on
 * the interface is treated as foreign. */
#define AL_LAYOUT_VERSION  4

/* A filter names an owner per interface RX queue: AF_XDP delivers a frame
 * only to a socket bound to the queue it arrived on, so VIs on different
 * queues (a VI set's members; with EF_FILTER_FLAG_SHARE_QUEUES, VIs of
 * several processes) can hold the same filter, each getting the frames
 * that the NIC's RSS (on veth: the sender's transmit queue) put on its
 * queue. The AF_PACKET backend sees every queue and uses owner[0]. */
#define AL_MAX_QUEUES        64
#define AL_OWNER_SLOT_MASK   0x7f  /* owner[q] & mask: slot + 1, 0 = none */
#define AL_OWNER_WHOLE_FLOW  0x80  /* that owner asked for the whole flow */

/* Array maps start zeroed, so an entry is in use only when `valid` is 1.
 *
 * Parked: an owner that hands its filter over to another process (a
 * listener that a pre-forking server's worker takes from its master, which
 * must free its queues first) leaves it parked until park_until_ns
 * (CLOCK_MONOTONIC, bpf_ktime_get_ns's clock): a frame that finds no owner
 * on its queue is dropped meanwhile, not passed to the kernel, whose
 * socket would otherwise take (TCP: complete) what the new owner is about
 * to claim; the sender retries (a SYN after 1 s). The new owner takes the
 * entry over; past the time, the kernel gets the frames again. */
struct al_filter_val {
  __u8  valid;      /* 1: some queue has an owner, or the entry is parked */
  __u8  whole_flow; /* some owner asked for EF_FILTER_FLAG_WHOLE_FLOW: later
                     * fragments and ICMP errors too (filter_lookup.h) */
  __u8  shared;     /* its owners asked for EF_FILTER_FLAG_SHARE_QUEUES */
  __u8  pad;
  __u8  owner[AL_MAX_QUEUES];
  __u32 pad2;
  __u64 park_until_ns; /* 0: not parked */
};

/* The XSKMAP slot that owns the filter's frames on RX queue `queue`, or
 * -1 when no VI on that queue holds it. */
static inline __attribute__((always_inline)) int
al_owner_slot(const struct al_filter_val *v, __u32 queue)
{
  __u8 o;

  if (queue >= AL_MAX_QUEUES)
    return -1;
  o = v->owner[queue] & AL_OWNER_SLOT_MASK;
  return o ? (int)o - 1 : -1;
}

/* A fragmented IPv4 datagram (RFC 791 §3.2: source, destination,
 * identification and protocol name it), in al_frags. */
struct al_frag_key {
  __u32 saddr_be32;
  __u32 daddr_be32;
  __u16 id_be16;
  __u8  proto;
  __u8  pad;
};

#define AL_MAX_FRAG_DATAGRAMS 4096  /* datagrams followed at once (LRU) */

struct al_ip4_full_key {
  __u32 laddr_be32;
  __u32 raddr_be32;
  __u16 lport_be16;
  __u16 rport_be16;
  __u8  proto;
  __u8  pad[3];
};

struct al_ip4_local_key {
  __u32 laddr_be32;   /* 0: any local address */
  __u16 lport_be16;
  __u8  proto;
  __u8  pad;
};

struct al_ip6_full_key {
  __u8  laddr[16];
  __u8  raddr[16];
  __u16 lport_be16;
  __u16 rport_be16;
  __u8  proto;
  __u8  pad[3];
};

struct al_ip6_local_key {
  __u8  laddr[16];
  __u16 lport_be16;
  __u8  proto;
  __u8  pad;
};

struct al_eth_key {
  __u8  mac[6];
  __u16 vlan;         /* VLAN id, or AL_VLAN_ANY */
};

struct al_ethertype_key {
  __u16 ethertype_be16;
  __u16 vlan;         /* VLAN id, or AL_VLAN_ANY */
};

/* Index of the "special" array map. */
enum al_special {
  AL_SPECIAL_UCAST_ALL,
  AL_SPECIAL_MCAST_ALL,
  AL_SPECIAL_UCAST_MISMATCH,
  AL_SPECIAL_BLOCK_KERNEL,
  AL_SPECIAL_BLOCK_KERNEL_UCAST,
  AL_SPECIAL_BLOCK_KERNEL_MCAST,
  AL_SPECIAL_MAX,
};

/* The interface's own MAC, for the unicast-mismatch filter. */
struct al_config {
  __u8  mac[6];
  __u16 layout_version;
};

/* Who holds each slot: read and written by the library only, under the
 * interface's lock file. start_time tells a live owner from a reused pid. */
struct al_owner {
  __u32 pid;
  __u32 queue;
  __u64 start_time;   /* /proc/<pid>/stat field 22, 0 = slot free */
};

/* AF_PACKET on kernels without tcx (before 6.6): one clsact ingress
 * filter per interface serves every VI, and a slot counts as alive while
 * its process refreshes al_heartbeat[slot] (CLOCK_MONOTONIC ns, the clock
 * of bpf_ktime_get_ns). A killed process stops refreshing, and its flows
 * are the kernel's again AL_HEARTBEAT_TTL_NS later. */
#define AL_HEARTBEAT_TTL_NS     500000000ull
#define AL_HEARTBEAT_PERIOD_NS  100000000ull

/* al_afp_state[0]: how the interface's AF_PACKET VIs keep their flows from
 * the kernel, for the process that removes the last one. */
struct al_afp_state {
  __u32 qdisc_ours;   /* the clsact qdisc was made by anyload */
  __u32 pad;
};

/* Per-CPU counters of the XDP program. */
enum al_stat {
  AL_STAT_RX,             /* frames seen */
  AL_STAT_REDIRECTED,     /* frames handed to a VI */
  AL_STAT_PASSED,         /* frames left to the kernel, no filter matched */
  AL_STAT_WRONG_QUEUE,    /* matched, but no owner on its queue: kernel */
  AL_STAT_NO_SOCKET,      /* matched, socket gone (owner died): kernel */
  AL_STAT_BLOCKED,        /* dropped by a block-kernel filter */
  AL_STAT_MALFORMED,      /* headers too short to parse: kernel */
  AL_STAT_FRAG_FOLLOWED,  /* non-first fragment steered as its first was */
  AL_STAT_PARKED,         /* matched a parked filter, no owner: dropped */
  AL_STAT_MAX,
};

#endif /* ANYLOAD_FILTER_SHARED_H */
