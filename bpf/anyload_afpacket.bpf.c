// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bpf/anyload_afpacket.bpf.c: the two programs of one AF_PACKET VI, which
 * together give a filter the meaning it has on AF_XDP (the claimed flow
 * reaches the VI and not the kernel; everything else reaches the kernel
 * and not the VI).
 *
 *   anyload_sock  socket filter on the VI's packet socket: keeps a frame
 *                 only if the filter that claims it (filter_lookup.h,
 *                 the same lookup as the XDP program) is this VI's
 *   anyload_tc    tcx ingress program: drops the frames this VI claims
 *                 (and, for a block-kernel filter of this VI, the frames
 *                 nobody claims) before the kernel's protocols see them
 *   anyload_tcs   the same for every VI of the interface at once, as one
 *                 clsact filter, on kernels without tcx (see below)
 *
 * Both run on the same frame in this order: packet sockets are taps that
 * __netif_receive_skb_core() feeds before it runs the tc ingress hook.
 *
 * Each VI loads its own copy of the object with al_my_slot set to its slot,
 * sharing the interface's filter maps. The tcx program is attached through
 * a bpf_link owned by the VI's process: when the process dies, however it
 * dies, the kernel closes the link and detaches the program, and its flows
 * are the kernel's again at once. That is how a killed process never leaves
 * a program behind that swallows traffic (the AF_XDP equivalent is the
 * kernel removing a dead socket from the XSKMAP).
 *
 * A program returns TCX_NEXT for frames that are not its VI's, so the
 * programs of the other VIs on the interface (and then the kernel) get
 * their turn.
 *
 * Kernels before 6.6 have no tcx, and a classic tc filter belongs to no
 * process: it stays when its process is killed. There one anyload_tcs
 * filter serves all VIs, and drops a claimed frame only while the owning
 * slot's heartbeat (refreshed by a thread of the owning process) is fresh.
 */
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include "filter_shared.h"

#define AL_CTX struct __sk_buff

/* Verdicts, the same numbers for tcx (TCX_NEXT, TCX_DROP) and for a
 * direct-action cls_bpf filter (TC_ACT_UNSPEC: on to the next filter;
 * TC_ACT_SHOT). */
#define AL_TC_NEXT (-1)
#define AL_TC_DROP 2

/* This VI's slot, and whether slots live by heartbeats (clsact mode), set
 * by the library before the object is loaded. */
const volatile __u32 al_my_slot = 0;
const volatile __u32 al_heartbeats = 0;

/* Both hooks see the frame from its Ethernet header on (packet sockets of
 * type SOCK_RAW push the MAC header back before the filter runs; tc
 * ingress does the same for BPF), and bpf_skb_load_bytes also reads
 * frames that are not linear. */
static __always_inline int al_load(struct __sk_buff *skb, __u32 off,
                                   void *to, __u32 len)
{
  return bpf_skb_load_bytes(skb, off, to, len) < 0 ? -1 : 0;
}

/* The stack has taken the outer VLAN tag out of the frame (into
 * skb->vlan_tci) before either hook runs. */
static __always_inline __u16 al_offload_vlan(struct __sk_buff *skb)
{
  return skb->vlan_present ? (skb->vlan_tci & 0x0fff) : AL_VLAN_ANY;
}

#include "filter_lookup.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, AL_MAX_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} al_heartbeat SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct al_afp_state);
} al_afp_state SEC(".maps");

/* A slot whose heartbeat is older than AL_HEARTBEAT_TTL_NS is dead. */
static __always_inline int al_beating(__u32 slot)
{
  __u64 *beat = bpf_map_lookup_elem(&al_heartbeat, &slot);

  return beat && bpf_ktime_get_ns() - *beat <= AL_HEARTBEAT_TTL_NS;
}

SEC("socket")
int anyload_sock(struct __sk_buff *skb)
{
  const struct al_filter_val *v = 0;

  /* The socket ignores outgoing frames (PACKET_IGNORE_OUTGOING); this is
   * for kernels where that option is missing. */
  if (skb->pkt_type == PACKET_OUTGOING)
    return 0;
  if (al_classify(skb, &v) != AL_CLS_MATCH ||
      al_owner_slot(v, 0) != (int)al_my_slot)
    return 0;
  /* In clsact mode a frame of a slot without heartbeats goes to the
   * kernel (anyload_tcs), so not here as well. */
  if (al_heartbeats && !al_beating(al_my_slot))
    return 0;
  return skb->len;
}

SEC("tc")
int anyload_tc(struct __sk_buff *skb)
{
  const struct al_filter_val *v = 0;

  switch (al_classify(skb, &v)) {
  case AL_CLS_MATCH:
    if (al_owner_slot(v, 0) != (int)al_my_slot)
      return AL_TC_NEXT;
    al_count(AL_STAT_REDIRECTED);
    return AL_TC_DROP;
  case AL_CLS_BLOCK:
    if (al_owner_slot(v, 0) != (int)al_my_slot)
      return AL_TC_NEXT;
    al_count(AL_STAT_BLOCKED);
    return AL_TC_DROP;
  default:
    return AL_TC_NEXT;
  }
}

/* Kernels without tcx: one clsact ingress filter for every VI of the
 * interface. A filter counts only while its slot's heartbeat is fresh; the
 * filters of a killed process (no more heartbeats) are the kernel's again
 * AL_HEARTBEAT_TTL_NS later. */
SEC("tc")
int anyload_tcs(struct __sk_buff *skb)
{
  const struct al_filter_val *v = 0;
  int cls = al_classify(skb, &v);
  int slot;

  if (cls != AL_CLS_MATCH && cls != AL_CLS_BLOCK)
    return AL_TC_NEXT;
  slot = al_owner_slot(v, 0);
  if (slot < 0 || !al_beating((__u32)slot)) {
    al_count(AL_STAT_NO_SOCKET);
    return AL_TC_NEXT;
  }
  al_count(cls == AL_CLS_MATCH ? AL_STAT_REDIRECTED : AL_STAT_BLOCKED);
  return AL_TC_DROP;
}

char _license[] SEC("license") = "Dual BSD/GPL";
