/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/gso.c: checking and cutting TCP/IPv4 super-frames (see gso.h).
 */
#include "vi/gso.h"
#include "common/csum.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#define ETH_HLEN_ 14
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

long vi_gso_iov_len(const struct iovec* iov, int iovcnt, unsigned gso_size)
{
  size_t total = 0;
  int i;

  if (!iov || iovcnt < 1 || iovcnt > VI_GSO_IOV_MAX || gso_size < 64 ||
      gso_size > 65535)
    return -EINVAL;
  for (i = 0; i < iovcnt; i++) {
    if (!iov[i].iov_base && iov[i].iov_len)
      return -EINVAL;
    total += iov[i].iov_len;
  }
  if (total > VI_GSO_FRAME_MAX || total < ETH_HLEN_ + 40)
    return -EINVAL;
  return (long)total;
}

void vi_gso_gather(uint8_t* dst, size_t n, const struct iovec* iov,
                   int iovcnt)
{
  int i;

  for (i = 0; i < iovcnt && n; i++) {
    size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
    memcpy(dst, iov[i].iov_base, k);
    dst += k;
    n -= k;
  }
}

int vi_gso_parse(const uint8_t* hdr, size_t avail, size_t frame_len,
                 unsigned* ip_hlen)
{
  const uint8_t* ip = hdr + ETH_HLEN_;
  unsigned ihl, doff;

  if (frame_len > VI_GSO_FRAME_MAX || avail > frame_len ||
      avail < ETH_HLEN_ + 20 || hdr[12] != 0x08 || hdr[13] != 0x00)
    return -EINVAL;
  ihl = (ip[0] & 0x0f) * 4u;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 ||
      ETH_HLEN_ + ihl + 20 > avail)
    return -EINVAL;
  /* A fragment (MF or an offset) cannot be segmented. */
  if ((ip[6] & 0x3f) || ip[7])
    return -EINVAL;
  doff = (ip[ihl + 12] >> 4) * 4u;
  if (doff < 20 || ETH_HLEN_ + ihl + doff > avail)
    return -EINVAL;
  *ip_hlen = ihl;
  return (int)(ETH_HLEN_ + ihl + doff);
}

static void put16(uint8_t* p, uint16_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

int vi_gso_segment(const uint8_t* f, size_t len, unsigned gso_size,
                   int (*out)(void* ctx, const uint8_t* seg, size_t len),
                   void* ctx)
{
  uint8_t seg[VI_GSO_HDR_MAX + 65535];
  unsigned ihl, i, n;
  uint32_t seq0;
  uint16_t id0;
  size_t payload, off;
  int hlen, rc;

  if (gso_size == 0 || gso_size > 65535)
    return -EINVAL;
  hlen = vi_gso_parse(f, len < VI_GSO_HDR_MAX ? len : VI_GSO_HDR_MAX, len,
                      &ihl);
  if (hlen < 0)
    return hlen;
  payload = len - (size_t)hlen;
  n = payload ? (unsigned)((payload + gso_size - 1) / gso_size) : 1;
  id0 = (uint16_t)(f[ETH_HLEN_ + 4] << 8 | f[ETH_HLEN_ + 5]);
  {
    const uint8_t* t = f + ETH_HLEN_ + ihl + 4;
    seq0 = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 |
           (uint32_t)t[2] << 8 | t[3];
  }
  for (i = 0, off = 0; i < n; i++, off += gso_size) {
    size_t plen = payload - off < gso_size ? payload - off : gso_size;
    uint8_t* ip = seg + ETH_HLEN_;
    uint8_t* th = ip + ihl;
    unsigned tlen = (unsigned)(hlen - ETH_HLEN_ - (int)ihl + (int)plen);
    uint32_t seq = seq0 + (uint32_t)off;

    memcpy(seg, f, (size_t)hlen);
    memcpy(seg + hlen, f + hlen + off, plen);
    put16(ip + 2, (uint16_t)(ihl + tlen));
    put16(ip + 4, (uint16_t)(id0 + i));
    put16(ip + 10, 0);
    /* al_csum_* sums the bytes as they lie in memory: the folded value
     * is stored as it is. */
    {
      uint16_t c = (uint16_t)~al_csum_fold(al_csum_acc(0, ip, ihl));
      memcpy(ip + 10, &c, 2);
    }
    th[4] = (uint8_t)(seq >> 24);
    th[5] = (uint8_t)(seq >> 16);
    th[6] = (uint8_t)(seq >> 8);
    th[7] = (uint8_t)seq;
    if (i + 1 < n)
      th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
    if (i > 0)
      th[13] &= (uint8_t)~TCP_CWR;
    th[16] = th[17] = 0;
    {
      uint64_t acc = al_csum_pseudo4(ip + 12, 6, (uint16_t)tlen);
      uint16_t c = (uint16_t)~al_csum_fold(al_csum_acc(acc, th, tlen));
      memcpy(th + 16, &c, 2);
    }
    rc = out(ctx, seg, (size_t)hlen + plen);
    if (rc < 0)
      return rc;
  }
  return (int)n;
}
