/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/wire/eth.h: the Ethernet II header (IEEE 802.3 framing with an
 * EtherType, RFC 894 for IPv4 over it) as a checked view and a repr, plus
 * the IPv4 multicast MAC mapping of RFC 1112 §6.4. Stateless, no I/O.
 *
 * RX: st_eth_parse checks the length once and takes the header apart; the
 * caller continues at p + ST_ETH_HLEN. TX: st_eth_build writes the header
 * and returns the pointer to the payload. 802.1Q tags are not parsed: the
 * stack runs on untagged interfaces and counts tagged frames as dropped.
 */
#ifndef ANYLOAD_STACK_WIRE_ETH_H
#define ANYLOAD_STACK_WIRE_ETH_H

#include "stack/wire/bytes.h"

#define ST_ETH_HLEN       14
#define ST_ETH_ALEN       6
#define ST_ETH_OFF_DST    0
#define ST_ETH_OFF_SRC    6
#define ST_ETH_OFF_TYPE   12

#define ST_ETHERTYPE_IPV4 0x0800
#define ST_ETHERTYPE_ARP  0x0806
#define ST_ETHERTYPE_VLAN 0x8100

/* The header, with the EtherType in host order. */
struct st_eth_repr {
  uint8_t  dst[ST_ETH_ALEN];
  uint8_t  src[ST_ETH_ALEN];
  uint16_t type;
};

/* st_eth_parse: take the header of a frame of len bytes apart.
 * Returns 0, or -1 when the frame is shorter than the header. */
static inline int st_eth_parse(const uint8_t* p, size_t len,
                               struct st_eth_repr* r)
{
  if (len < ST_ETH_HLEN)
    return -1;
  memcpy(r->dst, p + ST_ETH_OFF_DST, ST_ETH_ALEN);
  memcpy(r->src, p + ST_ETH_OFF_SRC, ST_ETH_ALEN);
  r->type = st_get_be16(p + ST_ETH_OFF_TYPE);
  return 0;
}

/* st_eth_build: write the header at p (ST_ETH_HLEN bytes); returns the
 * pointer to the payload. */
static inline uint8_t* st_eth_build(uint8_t* p, const struct st_eth_repr* r)
{
  p = st_put_bytes(p, r->dst, ST_ETH_ALEN);
  p = st_put_bytes(p, r->src, ST_ETH_ALEN);
  return st_put_be16(p, r->type);
}

/* st_eth_is_mcast: the group bit of a destination MAC (broadcast is a
 * multicast address too). */
static inline int st_eth_is_mcast(const uint8_t* mac)
{
  return mac[0] & 1;
}

/* st_eth_ip4_mcast_mac: the MAC of IPv4 group group_be32: 01:00:5e and
 * the low 23 bits of the group (RFC 1112 §6.4). */
static inline void st_eth_ip4_mcast_mac(uint32_t group_be32, uint8_t* mac)
{
  const uint8_t* g = (const uint8_t*)&group_be32;

  mac[0] = 0x01;
  mac[1] = 0x00;
  mac[2] = 0x5e;
  mac[3] = g[1] & 0x7f;
  mac[4] = g[2];
  mac[5] = g[3];
}

#endif /* ANYLOAD_STACK_WIRE_ETH_H */
