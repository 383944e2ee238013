/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/gso_tx.c: TCP/IPv4 super-frames through a packet socket with
 * PACKET_VNET_HDR (see gso_tx.h for why).
 *
 * The headers are copied into a small buffer of our own, where the TCP
 * checksum field gets the pseudo-header sum (the CHECKSUM_PARTIAL
 * convention that the kernel's segmentation adjusts per segment); the
 * caller's memory is only read. The packet socket goes through the
 * device's queueing layer, not PACKET_QDISC_BYPASS: the bypass path
 * drops any skb that segmentation replaces.
 *
 * Checksums on veth: a veth that "offloads" TX checksums hands its peer
 * segments whose TCP checksum is unfinished, which an XDP program or
 * AF_XDP socket there sees as they are. On such a veth (ethtool tx on)
 * the link is refused (-EOPNOTSUPP); a NIC that offloads checksums
 * finishes them itself.
 */
#include "vi/gso.h"
#include "vi/gso_tx.h"
#include "common/csum.h"
#include "vi/swq.h"

#include <endian.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETH_HLEN_     14

void vi_gso_tx_init(struct vi_gso_tx* g, int ifindex)
{
  g->fd = -1;
  g->ifindex = ifindex;
  g->refused = 0;
  g->one_txq = 0;
}

void vi_gso_tx_fini(struct vi_gso_tx* g)
{
  if (g->fd >= 0)
    close(g->fd);
  g->fd = -1;
}

/* ethtool: the ethtool request cmd (its first field says which) on
 * ifindex, through fd. 0, or -1 (no such interface, not supported). */
static int ethtool(int fd, int ifindex, void* cmd)
{
  struct ifreq ifr;

  memset(&ifr, 0, sizeof(ifr));
  if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
    return -1;
  ifr.ifr_data = cmd;
  return ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -1 : 0;
}

/* veth_partial_csum: 1 when ifindex is a veth that leaves TX checksums
 * unfinished (its tx-checksumming is on), 0 otherwise or when unknown. */
static int veth_partial_csum(int fd, int ifindex)
{
  struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
  struct ethtool_value val = { .cmd = ETHTOOL_GTXCSUM };

  if (ethtool(fd, ifindex, &info) < 0 || strcmp(info.driver, "veth") ||
      ethtool(fd, ifindex, &val) < 0)
    return 0;
  return val.data != 0;
}

/* one_tx_queue: 1 when ifindex has a single TX queue, 0 when it has more
 * or it cannot tell (the careful answer: see afxdp_transmitv_gso). */
static int one_tx_queue(int fd, int ifindex)
{
  struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };

  if (ethtool(fd, ifindex, &ch) < 0)
    return 0;
  return ch.tx_count + ch.combined_count == 1;
}

static int gso_open(struct vi_gso_tx* g)
{
  struct sockaddr_ll sl;
  int one = 1, sndbuf = 4 << 20, fd;

  fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  memset(&sl, 0, sizeof(sl));
  sl.sll_family = AF_PACKET;
  sl.sll_ifindex = g->ifindex;
  sl.sll_protocol = 0;   /* receive nothing */
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
      bind(fd, (struct sockaddr*)&sl, sizeof(sl)) < 0) {
    int e = errno;
    close(fd);
    return e == EINVAL || e == ENOPROTOOPT ? -EOPNOTSUPP : -e;
  }
  if (veth_partial_csum(fd, g->ifindex)) {
    close(fd);
    return -EOPNOTSUPP;
  }
  /* The segments of a super-frame are charged to this socket until the
   * device has sent them: on a NIC, the default send buffer (208 KiB)
   * would hold three super-frames in its queue and answer -EAGAIN to the
   * fourth. Best effort: the stack falls back to the ring on -EAGAIN. */
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  g->one_txq = one_tx_queue(fd, g->ifindex);
  g->fd = fd;
  return 0;
}

int vi_gso_tx_open(struct vi_gso_tx* g)
{
  int rc;

  if (g->refused)
    return -EOPNOTSUPP;
  if (g->fd >= 0)
    return 0;
  rc = gso_open(g);
  if (rc == -EOPNOTSUPP)
    g->refused = 1;
  return rc;
}

/* pseudo_sum: set the IP total length of the whole super-frame (the
 * kernel writes each segment's) and put the pseudo-header sum for its TCP
 * length in the TCP checksum field, not complemented: the
 * CHECKSUM_PARTIAL convention that segmentation adjusts per segment. */
static void pseudo_sum(uint8_t* hdr, size_t frame_len, unsigned ihl)
{
  uint8_t* ip = hdr + ETH_HLEN_;
  uint8_t* th = ip + ihl;
  unsigned tcp_len = (unsigned)(frame_len - ETH_HLEN_ - ihl);
  uint16_t sum;

  ip[2] = (uint8_t)((ihl + tcp_len) >> 8);
  ip[3] = (uint8_t)(ihl + tcp_len);
  /* al_csum_* sums the bytes as they lie: the folded value is stored as
   * it is. */
  sum = al_csum_fold(al_csum_pseudo4(ip + 12, 6, (uint16_t)tcp_len));
  memcpy(th + 16, &sum, 2);
}

int vi_gso_tx_send(struct vi_gso_tx* g, struct vi_counters* c,
                   const struct iovec* iov, int iovcnt, unsigned gso_size)
{
  uint8_t hdr[VI_GSO_HDR_MAX];
  struct virtio_net_hdr vh;
  struct iovec out[VI_GSO_IOV_MAX + 2];
  struct sockaddr_ll to;
  struct msghdr mh;
  size_t total, skip, head;
  unsigned ihl, segs;
  int i, n, hlen, rc;
  long len;
  ssize_t sent;

  if (g->refused)
    return -EOPNOTSUPP;
  if ((len = vi_gso_iov_len(iov, iovcnt, gso_size)) < 0)
    return (int)len;
  total = (size_t)len;
  head = total < VI_GSO_HDR_MAX ? total : VI_GSO_HDR_MAX;
  vi_gso_gather(hdr, head, iov, iovcnt);
  hlen = vi_gso_parse(hdr, head, total, &ihl);
  if (hlen < 0)
    return hlen;
  pseudo_sum(hdr, total, ihl);
  if ((rc = vi_gso_tx_open(g)) < 0)
    return rc;

  segs = total > (size_t)hlen
         ? (unsigned)((total - (size_t)hlen + gso_size - 1) / gso_size) : 1;
  memset(&vh, 0, sizeof(vh));
  vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vh.csum_start = htole16((uint16_t)(ETH_HLEN_ + ihl));
  vh.csum_offset = htole16(16);
  if (segs > 1) {
    vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    vh.gso_size = htole16((uint16_t)gso_size);
    vh.hdr_len = htole16((uint16_t)hlen);
  }

  /* vnet header, our copy of the headers, then the caller's bytes after
   * them. */
  out[0].iov_base = &vh;
  out[0].iov_len = sizeof(vh);
  out[1].iov_base = hdr;
  out[1].iov_len = (size_t)hlen;
  n = 2;
  skip = (size_t)hlen;
  for (i = 0; i < iovcnt; i++) {
    size_t len = iov[i].iov_len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    out[n].iov_base = (char*)iov[i].iov_base + skip;
    out[n].iov_len = len - skip;
    skip = 0;
    n++;
  }
  memset(&to, 0, sizeof(to));
  to.sll_family = AF_PACKET;
  to.sll_ifindex = g->ifindex;
  to.sll_protocol = htons(0x0800);
  to.sll_halen = 6;
  memcpy(to.sll_addr, hdr, 6);
  memset(&mh, 0, sizeof(mh));
  mh.msg_name = &to;
  mh.msg_namelen = sizeof(to);
  mh.msg_iov = out;
  mh.msg_iovlen = (size_t)n;
  sent = sendmsg(g->fd, &mh, MSG_DONTWAIT);
  if (sent < 0) {
    rc = errno;
    if (rc == EAGAIN || rc == ENOBUFS)
      return -EAGAIN;
    if (rc == EINVAL || rc == EOPNOTSUPP || rc == EPROTONOSUPPORT) {
      /* The kernel refuses segmentation here for good. */
      g->refused = 1;
      return -EOPNOTSUPP;
    }
    return -rc;
  }
  c->tx_gso_frames++;
  c->tx_gso_segs += segs;
  c->tx_bytes += total;
  return 0;
}
