/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/checksum.c: the etherfabric/checksum.h calls (RFC 1071 sums for IPv4,
 * IPv6, UDP, TCP and ICMPv6). Payload comes as iovecs whose lengths may be
 * odd, so the sum carries a pending byte across pieces.
 */
#include "common/csum.h"

#include <etherfabric/checksum.h>
#include <linux/ipv6.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

struct sum {
  uint64_t acc;
  int      have_odd;     /* a byte is waiting for its partner */
  uint8_t  odd;
};

static void sum_bytes(struct sum* s, const void* data, size_t len)
{
  const uint8_t* p = data;

  if (!len)
    return;
  if (s->have_odd) {
    uint8_t pair[2] = { s->odd, p[0] };
    s->acc = al_csum_acc(s->acc, pair, 2);
    p++;
    len--;
    s->have_odd = 0;
  }
  if (len & 1) {
    s->odd = p[len - 1];
    s->have_odd = 1;
    len--;
  }
  s->acc = al_csum_acc(s->acc, p, len);
}

static uint16_t sum_finish(struct sum* s)
{
  if (s->have_odd) {
    uint8_t pair[2] = { s->odd, 0 };
    s->acc = al_csum_acc(s->acc, pair, 2);
    s->have_odd = 0;
  }
  return al_csum_fold(s->acc);
}

static void sum_iov(struct sum* s, const struct iovec* iov, int iovlen)
{
  int i;
  for (i = 0; i < iovlen; i++)
    sum_bytes(s, iov[i].iov_base, iov[i].iov_len);
}

static size_t iov_total(const struct iovec* iov, int iovlen)
{
  size_t t = 0;
  int i;
  for (i = 0; i < iovlen; i++)
    t += iov[i].iov_len;
  return t;
}

/* The returned value goes into the header field as is (memory order). */
static uint32_t finish_complement(struct sum* s)
{
  return (uint16_t)~sum_finish(s);
}

uint32_t ef_ip_checksum(const struct iphdr* ip)
{
  struct sum s = { 0 };
  size_t ihl = (size_t)ip->ihl * 4;
  uint16_t zero = 0;

  sum_bytes(&s, ip, offsetof(struct iphdr, check));
  sum_bytes(&s, &zero, 2);
  sum_bytes(&s, (const uint8_t*)ip + offsetof(struct iphdr, check) + 2,
            ihl - offsetof(struct iphdr, check) - 2);
  return finish_complement(&s);
}

int ef_ip_checksum_is_correct(const struct iphdr* ip)
{
  struct sum s = { 0 };
  sum_bytes(&s, ip, (size_t)ip->ihl * 4);
  return sum_finish(&s) == 0xffff;
}

static void pseudo4(struct sum* s, const struct iphdr* ip, uint8_t proto,
                    size_t l4len)
{
  uint8_t tail[4] = { 0, proto, (uint8_t)(l4len >> 8), (uint8_t)l4len };
  sum_bytes(s, &ip->saddr, 4);
  sum_bytes(s, &ip->daddr, 4);
  sum_bytes(s, tail, 4);
}

static void pseudo6(struct sum* s, const struct ipv6hdr* ip6, uint8_t proto,
                    size_t l4len)
{
  uint8_t tail[8] = { (uint8_t)(l4len >> 24), (uint8_t)(l4len >> 16),
                      (uint8_t)(l4len >> 8), (uint8_t)l4len, 0, 0, 0, proto };
  sum_bytes(s, &ip6->saddr, 16);
  sum_bytes(s, &ip6->daddr, 16);
  sum_bytes(s, tail, 8);
}

/* Sum a transport header with its checksum field taken as zero. */
static void l4_header(struct sum* s, const void* hdr, size_t hlen,
                      size_t check_off)
{
  uint16_t zero = 0;
  sum_bytes(s, hdr, check_off);
  sum_bytes(s, &zero, 2);
  sum_bytes(s, (const uint8_t*)hdr + check_off + 2, hlen - check_off - 2);
}

uint32_t ef_udp_checksum(const struct iphdr* ip, const struct udphdr* udp,
                         const struct iovec* iov, int iovlen)
{
  struct sum s = { 0 };
  uint32_t c;
  pseudo4(&s, ip, IPPROTO_UDP, sizeof(*udp) + iov_total(iov, iovlen));
  l4_header(&s, udp, sizeof(*udp), offsetof(struct udphdr, check));
  sum_iov(&s, iov, iovlen);
  c = finish_complement(&s);
  /* RFC 768: a computed zero is sent as all ones (zero means "none"). */
  return c ? c : 0xffff;
}

int ef_udp_checksum_is_correct(const struct iphdr* ip,
                               const struct udphdr* udp,
                               const struct iovec* iov, int iovlen)
{
  struct sum s = { 0 };
  if (udp->check == 0)
    return 1;
  pseudo4(&s, ip, IPPROTO_UDP, sizeof(*udp) + iov_total(iov, iovlen));
  sum_bytes(&s, udp, sizeof(*udp));
  sum_iov(&s, iov, iovlen);
  return sum_finish(&s) == 0xffff;
}

uint32_t ef_udp_checksum_ip6(const struct ipv6hdr* ip6,
                             const struct udphdr* udp,
                             const struct iovec* iov, int iovlen)
{
  struct sum s = { 0 };
  uint32_t c;
  pseudo6(&s, ip6, IPPROTO_UDP, sizeof(*udp) + iov_total(iov, iovlen));
  l4_header(&s, udp, sizeof(*udp), offsetof(struct udphdr, check));
  sum_iov(&s, iov, iovlen);
  c = finish_complement(&s);
  return c ? c : 0xffff;
}

uint32_t ef_udp_checksum_ipx(int af, const void* ipx,
                             const struct udphdr* udp,
                             const struct iovec* iov, int iovlen)
{
  return af == AF_INET6 ? ef_udp_checksum_ip6(ipx, udp, iov, iovlen)
                        : ef_udp_checksum(ipx, udp, iov, iovlen);
}

uint32_t ef_tcp_checksum(const struct iphdr* ip, const struct tcphdr* tcp,
                         const struct iovec* iov, int iovlen)
{
  struct sum s = { 0 };
  size_t hlen = (size_t)tcp->doff * 4;
  pseudo4(&s, ip, IPPROTO_TCP, hlen + iov_total(iov, iovlen));
  l4_header(&s, tcp, hlen, offsetof(struct tcphdr, check));
  sum_iov(&s, iov, iovlen);
  return finish_complement(&s);
}

int ef_tcp_checksum_is_correct(const struct iphdr* ip,
                               const struct tcphdr* tcp,
                               const struct iovec* iov, int iovlen)
{
  struct sum s = { 0 };
  size_t hlen = (size_t)tcp->doff * 4;
  pseudo4(&s, ip, IPPROTO_TCP, hlen + iov_total(iov, iovlen));
  sum_bytes(&s, tcp, hlen);
  sum_iov(&s, iov, iovlen);
  return sum_finish(&s) == 0xffff;
}

uint32_t ef_tcp_checksum_ip6(const struct ipv6hdr* ip6,
                             const struct tcphdr* tcp,
                             const struct iovec* iov, int iovlen)
{
  struct sum s = { 0 };
  size_t hlen = (size_t)tcp->doff * 4;
  pseudo6(&s, ip6, IPPROTO_TCP, hlen + iov_total(iov, iovlen));
  l4_header(&s, tcp, hlen, offsetof(struct tcphdr, check));
  sum_iov(&s, iov, iovlen);
  return finish_complement(&s);
}

uint32_t ef_tcp_checksum_ipx(int af, const void* ipx,
                             const struct tcphdr* tcp,
                             const struct iovec* iov, int iovlen)
{
  return af == AF_INET6 ? ef_tcp_checksum_ip6(ipx, tcp, iov, iovlen)
                        : ef_tcp_checksum(ipx, tcp, iov, iovlen);
}

uint32_t ef_icmpv6_checksum(const struct ipv6hdr* ip6, const void* icmp,
                            const struct iovec* iov, int iovlen)
{
  struct sum s = { 0 };
  /* The ICMPv6 header is 4 bytes with the checksum at offset 2. */
  pseudo6(&s, ip6, IPPROTO_ICMPV6, 4 + iov_total(iov, iovlen));
  l4_header(&s, icmp, 4, 2);
  sum_iov(&s, iov, iovlen);
  return finish_complement(&s);
}
