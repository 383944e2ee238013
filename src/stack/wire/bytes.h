/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/wire/bytes.h: the byte-level helpers of the wire layer: reading and
 * writing big-endian fields at any alignment, and the Internet checksum
 * (RFC 1071). Stateless and free of I/O, like everything in wire/; the
 * other wire headers build on it, and nothing here knows about packets.
 *
 * Getters take a pointer to the field and return its value in host order
 * (get_be16) or keep network order (get_raw32, for _be32 values that are
 * compared and stored as they are). Setters write one field and return the
 * pointer just past it, so that a serialiser reads as a list of fields.
 *
 * The checksum accumulates native 32-bit words: the one's-complement sum
 * does not depend on byte order (RFC 1071 §2(B)), so the folded,
 * complemented result is stored into a header field as it is, without a
 * byte swap.
 */
#ifndef ANYLOAD_STACK_WIRE_BYTES_H
#define ANYLOAD_STACK_WIRE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/csum.h"

static inline uint16_t st_get_be16(const uint8_t* p)
{
  return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t st_get_be32(const uint8_t* p)
{
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | p[3];
}

/* st_get_raw16/32: a field copied as it is (network order kept). */
static inline uint16_t st_get_raw16(const uint8_t* p)
{
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

static inline uint32_t st_get_raw32(const uint8_t* p)
{
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline uint8_t* st_put_u8(uint8_t* p, uint8_t v)
{
  p[0] = v;
  return p + 1;
}

static inline uint8_t* st_put_be16(uint8_t* p, uint16_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
  return p + 2;
}

static inline uint8_t* st_put_be32(uint8_t* p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
  return p + 4;
}

static inline uint8_t* st_put_raw16(uint8_t* p, uint16_t v)
{
  memcpy(p, &v, 2);
  return p + 2;
}

static inline uint8_t* st_put_raw32(uint8_t* p, uint32_t v)
{
  memcpy(p, &v, 4);
  return p + 4;
}

static inline uint8_t* st_put_bytes(uint8_t* p, const void* v, size_t n)
{
  memcpy(p, v, n);
  return p + n;
}

/* st_csum_acc / st_csum_fold: the running Internet checksum of
 * common/csum.h (an odd trailing byte is padded with zero, so only the
 * last piece of a sum may have an odd length). */
static inline uint64_t st_csum_acc(uint64_t acc, const void* data, size_t len)
{
  return al_csum_acc(acc, data, len);
}

static inline uint16_t st_csum_fold(uint64_t acc)
{
  return al_csum_fold(acc);
}

/* st_csum_finish: the complemented sum, ready to store in network order
 * with st_put_raw16. */
static inline uint16_t st_csum_finish(uint64_t acc)
{
  return (uint16_t)~st_csum_fold(acc);
}

/* st_csum_pseudo4: the IPv4 pseudo-header of a TCP/UDP checksum (RFC 768:
 * source, destination, zero, protocol, length), added to acc. */
static inline uint64_t st_csum_pseudo4(uint64_t acc, uint32_t src_be32,
                                       uint32_t dst_be32, uint8_t proto,
                                       uint16_t len)
{
  uint8_t tail[4] = { 0, proto, (uint8_t)(len >> 8), (uint8_t)len };
  uint32_t t;

  memcpy(&t, tail, 4);
  return acc + src_be32 + dst_be32 + t;
}

#endif /* ANYLOAD_STACK_WIRE_BYTES_H */
