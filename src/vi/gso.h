/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/gso.h: TCP/IPv4 super-frames (ef_vi_transmitv_gso): checking their
 * headers, and cutting them into segments in software the way Linux's GSO
 * does (tcp_gso_segment, inet_gso_segment), for backends without a kernel
 * to do it (the simulated link) and as the reference the tests hold the
 * kernel's path to.
 *
 * Each segment gets the super-frame's headers with: the IP total length
 * of the segment, IP ID = the super-frame's + segment index, a fresh IP
 * header checksum; TCP sequence = the super-frame's + index * gso_size;
 * FIN and PSH kept on the last segment only, CWR on the first only; the
 * TCP checksum computed over the segment.
 */
#ifndef ANYLOAD_VI_GSO_H
#define ANYLOAD_VI_GSO_H

#include <stddef.h>
#include <stdint.h>

#define VI_GSO_HDR_MAX   256          /* headers of a super-frame, at most */
#define VI_GSO_FRAME_MAX (14 + 65535) /* Ethernet header + IPv4 packet */
#define VI_GSO_IOV_MAX   64           /* pieces of a super-frame, at most */

struct iovec;

/* vi_gso_iov_len: the length of the super-frame in iov, after the checks
 * of ef_vi_transmitv_gso's arguments (1 to VI_GSO_IOV_MAX pieces, no NULL
 * piece with bytes, at least Ethernet + IPv4 + TCP headers and at most
 * VI_GSO_FRAME_MAX bytes, gso_size 64 to 65535), or -EINVAL. */
long vi_gso_iov_len(const struct iovec* iov, int iovcnt, unsigned gso_size);

/* vi_gso_gather: copy the first n bytes of iov (which holds them) to dst. */
void vi_gso_gather(uint8_t* dst, size_t n, const struct iovec* iov,
                   int iovcnt);

/* vi_gso_parse: the length of the Ethernet, IPv4 and TCP headers at the
 * start of a super-frame of frame_len bytes, of which avail are in hdr;
 * -EINVAL when it is not an unfragmented TCP/IPv4 frame (no VLAN tag) of
 * at most VI_GSO_FRAME_MAX bytes whose headers fit in avail. *ip_hlen
 * gets the IPv4 header's length. */
int vi_gso_parse(const uint8_t* hdr, size_t avail, size_t frame_len,
                 unsigned* ip_hlen);

/* vi_gso_segment: cut the super-frame f (len bytes, headers checked by
 * vi_gso_parse) into segments of gso_size payload bytes and hand each
 * to out(ctx, segment, its length), which copies it. Returns the number
 * of segments, or the first negative value out returned (segments handed
 * before it stay sent), or -EINVAL. */
int vi_gso_segment(const uint8_t* f, size_t len, unsigned gso_size,
                   int (*out)(void* ctx, const uint8_t* seg, size_t len),
                   void* ctx);

#endif
