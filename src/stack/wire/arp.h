/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/wire/arp.h: the ARP packet for IPv4 over Ethernet (RFC 826) as a
 * checked view and a repr. Stateless, no I/O.
 *
 * anyload never runs ARP itself: next hops are resolved by the kernel
 * (the control plane asks it with NTF_USE), and ARP frames are never
 * steered to a VI. The view exists so that tests, tools and a future
 * stand-alone mode can take ARP apart and build it with the same rules as
 * the other headers.
 */
#ifndef ANYLOAD_STACK_WIRE_ARP_H
#define ANYLOAD_STACK_WIRE_ARP_H

#include "stack/wire/bytes.h"

#define ST_ARP_LEN        28
#define ST_ARP_OFF_HTYPE  0
#define ST_ARP_OFF_PTYPE  2
#define ST_ARP_OFF_HLEN   4
#define ST_ARP_OFF_PLEN   5
#define ST_ARP_OFF_OP     6
#define ST_ARP_OFF_SHA    8
#define ST_ARP_OFF_SPA    14
#define ST_ARP_OFF_THA    18
#define ST_ARP_OFF_TPA    24

#define ST_ARP_HTYPE_ETHER 1
#define ST_ARP_OP_REQUEST  1
#define ST_ARP_OP_REPLY    2

struct st_arp_repr {
  uint16_t op;             /* ST_ARP_OP_* */
  uint8_t  sha[6];
  uint32_t spa_be32;
  uint8_t  tha[6];
  uint32_t tpa_be32;
};

/* st_arp_parse: take an ARP packet of len bytes apart. Returns 0, or -1
 * when it is too short or not Ethernet/IPv4 (hardware type 1, protocol
 * 0x0800, address lengths 6 and 4). */
static inline int st_arp_parse(const uint8_t* p, size_t len,
                               struct st_arp_repr* r)
{
  if (len < ST_ARP_LEN || st_get_be16(p + ST_ARP_OFF_HTYPE) != 1 ||
      st_get_be16(p + ST_ARP_OFF_PTYPE) != 0x0800 ||
      p[ST_ARP_OFF_HLEN] != 6 || p[ST_ARP_OFF_PLEN] != 4)
    return -1;
  r->op = st_get_be16(p + ST_ARP_OFF_OP);
  memcpy(r->sha, p + ST_ARP_OFF_SHA, 6);
  r->spa_be32 = st_get_raw32(p + ST_ARP_OFF_SPA);
  memcpy(r->tha, p + ST_ARP_OFF_THA, 6);
  r->tpa_be32 = st_get_raw32(p + ST_ARP_OFF_TPA);
  return 0;
}

/* st_arp_build: write an ARP packet (ST_ARP_LEN bytes) at p; returns the
 * pointer past it. */
static inline uint8_t* st_arp_build(uint8_t* p, const struct st_arp_repr* r)
{
  p = st_put_be16(p, ST_ARP_HTYPE_ETHER);
  p = st_put_be16(p, 0x0800);
  p = st_put_u8(p, 6);
  p = st_put_u8(p, 4);
  p = st_put_be16(p, r->op);
  p = st_put_bytes(p, r->sha, 6);
  p = st_put_raw32(p, r->spa_be32);
  p = st_put_bytes(p, r->tha, 6);
  return st_put_raw32(p, r->tpa_be32);
}

#endif /* ANYLOAD_STACK_WIRE_ARP_H */
