/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * etherfabric/checksum.h: Internet checksums (RFC 1071) for building frames.
 * Each returns the checksum in network byte order, ready to store in the
 * header's check field; the field's current value is ignored.
 */
#ifndef __EFAB_CHECKSUM_H__
#define __EFAB_CHECKSUM_H__

#include <etherfabric/base.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ipv6hdr;

extern uint32_t ef_ip_checksum(const struct iphdr* ip);
extern uint32_t ef_udp_checksum(const struct iphdr* ip,
                                const struct udphdr* udp,
                                const struct iovec* iov, int iovlen);
extern uint32_t ef_udp_checksum_ip6(const struct ipv6hdr* ip6,
                                    const struct udphdr* udp,
                                    const struct iovec* iov, int iovlen);
extern uint32_t ef_udp_checksum_ipx(int af, const void* ipx,
                                    const struct udphdr* udp,
                                    const struct iovec* iov, int iovlen);
extern uint32_t ef_tcp_checksum(const struct iphdr* ip,
                                const struct tcphdr* tcp,
                                const struct iovec* iov, int iovlen);
extern uint32_t ef_tcp_checksum_ip6(const struct ipv6hdr* ip6,
                                    const struct tcphdr* tcp,
                                    const struct iovec* iov, int iovlen);
extern uint32_t ef_tcp_checksum_ipx(int af, const void* ipx,
                                    const struct tcphdr* tcp,
                                    const struct iovec* iov, int iovlen);
extern uint32_t ef_icmpv6_checksum(const struct ipv6hdr* ip6,
                                   const void* icmp,
                                   const struct iovec* iov, int iovlen);

/* anyload extensions: non-zero if the header (and payload) as received
 * carries a correct checksum. The iovecs hold the payload after the
 * transport header. */
extern int ef_ip_checksum_is_correct(const struct iphdr* ip);
extern int ef_udp_checksum_is_correct(const struct iphdr* ip,
                                      const struct udphdr* udp,
                                      const struct iovec* iov, int iovlen);
extern int ef_tcp_checksum_is_correct(const struct iphdr* ip,
                                      const struct tcphdr* tcp,
                                      const struct iovec* iov, int iovlen);

#ifdef __cplusplus
}
#endif

#endif /* __EFAB_CHECKSUM_H__ */
