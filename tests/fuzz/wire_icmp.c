/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/wire_icmp.c: libFuzzer target for the ICMP view of the stack's
 * wire layer (stack/wire/icmp.h, RFC 792): a message goes through
 * st_icmp_parse and, for the error types, st_icmp_parse_quote, the parser
 * of the quoted datagram (the part of an ICMP error that an attacker
 * shapes most freely: foreign flows, bogus IHL, short quotes). Nothing may
 * be read past the message, and:
 *   - parse accepts exactly the messages of at least 8 bytes whose
 *     checksum is right, and st_icmp_build gives the same bytes back (the
 *     checksum field may come back as the other zero of one's complement);
 *   - the quote parser accepts exactly an IPv4 header of a valid IHL that
 *     is quoted whole with 8 bytes after it, and what it returns is what
 *     those bytes say (addresses, protocol, offset in bytes, the ports at
 *     the IHL, whatever the quoted total length claims).
 * The stack's use of the result (socket lookup, pending errors, path MTU)
 * is fuzzed by the stack_rx target.
 *
 * Input: byte 0 bit 0 set = write a correct checksum into the message
 * first (so that the fuzzer gets past it); the message is the rest.
 * Built by `make fuzz`; its corpus is replayed by the unit suite.
 */
#include "stack/wire/icmp.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void fail(const char* what)
{
  fprintf(stderr, "wire_icmp fuzz: %s\n", what);
  abort();
}

static uint16_t rd16(const uint8_t* p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

static void check_quote(const struct st_icmp_repr* r)
{
  const uint8_t* q = r->data;
  struct st_icmp_quote qt;
  size_t hlen = r->data_len ? (size_t)(q[0] & 0xf) * 4 : 0;
  int want, rc;

  memset(&qt, 0, sizeof(qt));
  rc = st_icmp_parse_quote(r, &qt);
  want = r->data_len >= 28 && (q[0] >> 4) == 4 && hlen >= 20 &&
         r->data_len >= hlen + 8;
  if ((rc == ST_ICMP_OK) != want)
    fail("quote accepted or refused wrongly");
  if (rc != ST_ICMP_OK) {
    if (rc != ST_ICMP_E_QUOTE)
      fail("quote refused with another code");
    return;
  }
  if (memcmp(&qt.src_be32, q + 12, 4) || memcmp(&qt.dst_be32, q + 16, 4) ||
      qt.proto != q[9] || qt.tot_len != rd16(q + 2) ||
      qt.frag_off != (uint16_t)((rd16(q + 6) & 0x1fff) * 8) ||
      memcmp(&qt.sport_be16, q + hlen, 2) ||
      memcmp(&qt.dport_be16, q + hlen + 2, 2))
    fail("quote fields differ from the quoted bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  struct st_icmp_repr r;
  uint8_t* m;
  uint8_t* out;
  size_t len;
  int good, rc;

  if (size < 1)
    return 0;
  len = size - 1;
  /* Exact-size copies, so that ASan sees a read past the message. */
  m = malloc(len ? len : 1);
  out = malloc(len ? len : 1);
  if (!m || !out)
    fail("malloc");
  memcpy(m, data + 1, len);
  if ((data[0] & 1) && len >= ST_ICMP_HLEN) {
    m[2] = m[3] = 0;
    st_put_raw16(m + 2, st_csum_finish(st_csum_acc(0, m, len)));
  }
  good = len >= ST_ICMP_HLEN &&
         st_csum_fold(st_csum_acc(0, m, len)) == 0xffff;
  memset(&r, 0, sizeof(r));
  rc = st_icmp_parse(m, len, &r);
  if ((rc == ST_ICMP_OK) != good)
    fail("message accepted or refused wrongly");
  if (rc != ST_ICMP_OK) {
    if (rc != (len < ST_ICMP_HLEN ? ST_ICMP_E_TRUNC : ST_ICMP_E_CSUM))
      fail("message refused with the wrong code");
    goto out;
  }
  if (r.type != m[0] || r.code != m[1] || memcmp(&r.rest_be32, m + 4, 4) ||
      r.data != m + ST_ICMP_HLEN || r.data_len != len - ST_ICMP_HLEN)
    fail("header fields differ from the bytes");
  if (r.type == ST_ICMP_DEST_UNREACH && r.code == ST_ICMP_FRAG_NEEDED &&
      st_icmp_mtu(&r) != rd16(m + 6))
    fail("next-hop MTU differs from bytes 6..7");
  if (st_icmp_is_error(r.type))
    check_quote(&r);

  /* Build it again from the repr, into another buffer. */
  if (st_icmp_build(out, &r) != out + len)
    fail("build wrote another length");
  if (memcmp(out, m, 2) || memcmp(out + 4, m + 4, len - 4))
    fail("build does not give the parsed bytes back");
  if (rd16(out + 2) != rd16(m + 2) &&
      !(rd16(out + 2) == 0 && rd16(m + 2) == 0xffff) &&
      !(rd16(out + 2) == 0xffff && rd16(m + 2) == 0))
    fail("build wrote a checksum that is not the message's");
  if (st_csum_fold(st_csum_acc(0, out, len)) != 0xffff)
    fail("build wrote a wrong checksum");
out:
  free(m);
  free(out);
  return 0;
}
