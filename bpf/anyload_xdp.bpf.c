// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bpf/anyload_xdp.bpf.c: the XDP program that implements ef_vi filters.
 *
 * Attached once per interface, shared by all VIs on it. For each frame it
 * looks the frame up in the filter maps (bpf/filter_lookup.h, most specific
 * first, the same lookup as the AF_PACKET backend's programs). A match is
 * redirected to the AF_XDP socket of the filter's owner on the queue the
 * frame arrived on (none there: the kernel's); if that socket is gone (its
 * process died) the redirect falls back to XDP_PASS, so a stale filter
 * never swallows traffic. Frames that match nothing go to the kernel
 * (XDP_PASS) unless a block-kernel filter is set.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "filter_shared.h"

#define AL_CTX struct xdp_md

/* Frame bytes straight from the packet: XDP sees the whole frame in one
 * linear buffer. The offset bound keeps the verifier's range small. */
static __always_inline int al_load(struct xdp_md *ctx, __u32 off, void *to,
                                   __u32 len)
{
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  void *p;

  if (off > 256)
    return -1;
  p = data + off;
  if (p + len > data_end)
    return -1;
  __builtin_memcpy(to, p, len);
  return 0;
}

/* XDP runs before the stack takes VLAN tags out of the frame. */
static __always_inline __u16 al_offload_vlan(struct xdp_md *ctx)
{
  (void)ctx;
  return AL_VLAN_ANY;
}

#include "filter_lookup.h"

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, AL_MAX_SLOTS);
  __type(key, __u32);
  __type(value, __u32);
} al_xsks SEC(".maps");

/* Redirect to the owner of a matching filter on the arrival queue. */
static __always_inline int steer(struct xdp_md *ctx,
                                 const struct al_filter_val *val)
{
  int slot = al_owner_slot(val, ctx->rx_queue_index);
  long rc;

  if (slot < 0) {
    /* Handed over, the next owner not there yet (filter_shared.h). */
    if (val->park_until_ns && bpf_ktime_get_ns() < val->park_until_ns) {
      al_count(AL_STAT_PARKED);
      return XDP_DROP;
    }
    /* AF_XDP can only deliver to a socket bound to the arrival queue. */
    al_count(AL_STAT_WRONG_QUEUE);
    return XDP_PASS;
  }
  /* The flags are the action when the slot is empty (owner died). */
  rc = bpf_redirect_map(&al_xsks, (__u32)slot, XDP_PASS);
  if (rc == XDP_REDIRECT)
    al_count(AL_STAT_REDIRECTED);
  else
    al_count(AL_STAT_NO_SOCKET);
  return rc;
}

SEC("xdp")
int anyload_xdp(struct xdp_md *ctx)
{
  const struct al_filter_val *v = 0;

  al_count(AL_STAT_RX);
  switch (al_classify(ctx, &v)) {
  case AL_CLS_MATCH:
    return steer(ctx, v);
  case AL_CLS_BLOCK:
    al_count(AL_STAT_BLOCKED);
    return XDP_DROP;
  case AL_CLS_MALFORMED:
    al_count(AL_STAT_MALFORMED);
    return XDP_PASS;
  default:
    al_count(AL_STAT_PASSED);
    return XDP_PASS;
  }
}

char _license[] SEC("license") = "Dual BSD/GPL";
