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
 */
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include "filter_shared.h"

#define AL_CTX struct __sk_buff

/* tcx verdicts (linux/bpf.h of kernels >= 6.6). */
#define AL_TCX_NEXT (-1)
#define AL_TCX_DROP 2

/* This VI's slot, set by the library before the object is loaded. */
const volatile __u32 al_my_slot = 0;

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

SEC("socket")
int anyload_sock(struct __sk_buff *skb)
{
  const struct al_filter_val *v = 0;

  /* The socket ignores outgoing frames (PACKET_IGNORE_OUTGOING); this is
   * for kernels where that option is missing. */
  if (skb->pkt_type == PACKET_OUTGOING)
    return 0;
  if (al_classify(skb, &v) == AL_CLS_MATCH && v->slot == al_my_slot)
    return skb->len;
  return 0;
}

SEC("tc")
int anyload_tc(struct __sk_buff *skb)
{
  const struct al_filter_val *v = 0;

  switch (al_classify(skb, &v)) {
  case AL_CLS_MATCH:
    if (v->slot != al_my_slot)
      return AL_TCX_NEXT;
    al_count(AL_STAT_REDIRECTED);
    return AL_TCX_DROP;
  case AL_CLS_BLOCK:
    if (v->slot != al_my_slot)
      return AL_TCX_NEXT;
    al_count(AL_STAT_BLOCKED);
    return AL_TCX_DROP;
  default:
    return AL_TCX_NEXT;
  }
}

char _license[] SEC("license") = "Dual BSD/GPL";
