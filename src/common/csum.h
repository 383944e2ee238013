/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * common/csum.h: the Internet checksum (RFC 1071) over memory, for every
 * layer (the VI's receive checks, checksum.h, the stack's wire layer).
 *
 * The one's-complement sum does not depend on byte order (RFC 1071 §2(B)),
 * nor on the width of the words added, as long as every carry out of the
 * top comes back in at the bottom (§2(C)): we add native 64-bit words,
 * with that end-around carry, and fold at the end; the folded,
 * complemented result can be stored into a header field as it is. Eight
 * bytes per add, four adds per round: a third of the instructions of
 * 32-bit words for a full segment (checksums were a third of the stack's
 * instructions in a bulk transfer).
 */
#ifndef ANYLOAD_COMMON_CSUM_H
#define ANYLOAD_COMMON_CSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* al_csum_add: acc + w in one's complement (64-bit words). */
static inline uint64_t al_csum_add(uint64_t acc, uint64_t w)
{
  acc += w;
  return acc + (acc < w);
}

/* al_csum_acc: add len bytes at data to acc. An odd trailing byte is
 * padded with zero, so only the last piece of a sum may be odd. */
static inline uint64_t al_csum_acc(uint64_t acc, const void* data, size_t len)
{
  const uint8_t* p = data;
  uint64_t w[4];
  uint32_t w32;
  uint16_t w16;

  while (len >= 32) {
    memcpy(w, p, 32);
    acc = al_csum_add(acc, w[0]);
    acc = al_csum_add(acc, w[1]);
    acc = al_csum_add(acc, w[2]);
    acc = al_csum_add(acc, w[3]);
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    memcpy(w, p, 8);
    acc = al_csum_add(acc, w[0]);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    memcpy(&w32, p, 4);
    acc = al_csum_add(acc, w32);
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    memcpy(&w16, p, 2);
    acc = al_csum_add(acc, w16);
    p += 2;
    len -= 2;
  }
  if (len) {
    uint8_t pad[2] = { p[0], 0 };
    memcpy(&w16, pad, 2);
    acc = al_csum_add(acc, w16);
  }
  return acc;
}

/* al_csum_fold: fold to 16 bits, not complemented. */
static inline uint16_t al_csum_fold(uint64_t acc)
{
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  return (uint16_t)acc;
}

/* al_csum_pseudo4: the IPv4 pseudo header (RFC 768, RFC 9293 §3.1):
 * addresses as they are in the header, protocol and length in network
 * order. */
static inline uint64_t al_csum_pseudo4(const uint8_t* saddr_daddr,
                                       uint8_t proto, uint16_t len)
{
  uint8_t tail[4] = { 0, proto, (uint8_t)(len >> 8), (uint8_t)len };
  return al_csum_acc(al_csum_acc(0, saddr_daddr, 8), tail, 4);
}

#endif /* ANYLOAD_COMMON_CSUM_H */
