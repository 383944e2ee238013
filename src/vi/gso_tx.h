/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/gso_tx.h: sending a TCP/IPv4 super-frame through the kernel's
 * generic segmentation offload (ef_vi_transmitv_gso, an anyload
 * extension).
 *
 * Why: on a link whose AF_XDP runs in copy mode (veth, drivers without
 * zero-copy), every frame sent through the AF_XDP ring costs the kernel an
 * skb, a copy and a pass through the device; a bulk TCP sender spends most
 * of its CPU there and stays well short of the kernel's own TCP, which
 * hands the device 64 KiB at a time. A packet socket with
 * PACKET_VNET_HDR takes a super-frame with a virtio_net_hdr asking for
 * TCPv4 segmentation and checksums: one syscall and one copy for up to
 * 64 KiB (45 segments of 1448 bytes), cut by the kernel (or the NIC's
 * TSO) with the IP ID, lengths, checksums and TCP flags of each
 * segment, as Linux's own TCP gets them.
 *
 * One such socket per VI, opened at the first use, bound to the VI's
 * interface with protocol 0 (it receives nothing). The data is copied
 * before the call returns: no TX event, nothing to complete.
 */
#ifndef ANYLOAD_VI_GSO_TX_H
#define ANYLOAD_VI_GSO_TX_H

#include <stdint.h>
#include <sys/uio.h>

struct vi_gso_tx {
  int      fd;        /* -1: not opened yet */
  int      ifindex;
  int      refused;   /* the link cannot take super-frames: -EOPNOTSUPP */
  int      one_txq;   /* the device has one TX queue (ETHTOOL_GCHANNELS) */
};

struct vi_counters;

void vi_gso_tx_init(struct vi_gso_tx* g, int ifindex);
void vi_gso_tx_fini(struct vi_gso_tx* g);

/* vi_gso_tx_open: open the packet socket if not yet (done by the first
 * send otherwise), so that one_txq is known. 0, -EOPNOTSUPP (then
 * always), or another negative errno. */
int vi_gso_tx_open(struct vi_gso_tx* g);

/* vi_gso_tx_send: send the super-frame in iov (Ethernet, IPv4 and TCP
 * headers, all within the first 256 bytes, then the payload) cut into
 * segments of gso_size payload bytes. The caller's IP total length and
 * both checksums are ignored (each segment gets its own). Returns 0,
 * -EINVAL for a frame that is not TCP/IPv4 of at most 64 KiB, -EAGAIN
 * when the kernel has no room now, -EOPNOTSUPP when this link cannot take
 * super-frames (then always), another negative errno on failure. Counts
 * into c (tx_gso_frames, tx_gso_segs, tx_bytes). */
int vi_gso_tx_send(struct vi_gso_tx* g, struct vi_counters* c,
                   const struct iovec* iov, int iovcnt, unsigned gso_size);

#endif
