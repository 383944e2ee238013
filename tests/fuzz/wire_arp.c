/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/wire_arp.c: libFuzzer target for the ARP view of the stack's wire
 * layer (stack/wire/arp.h, RFC 826): arbitrary bytes go through
 * st_arp_parse, which must read nothing past them, accept exactly the
 * packets of at least 28 bytes with hardware type 1, protocol 0x0800 and
 * address lengths 6 and 4, and take them apart so that st_arp_build
 * writes the same 28 bytes back (the view keeps every field).
 *
 * anyload never steers ARP to a VI (the kernel resolves next hops), so the
 * stack's receive path drops ARP as rx_drop_not_ip; that path is covered
 * by the stack_rx target's arp_* seeds. This target is the wire view on
 * its own, as STYLE.md asks one target per parser.
 *
 * Input: the packet, from its first byte (no Ethernet header).
 * Built by `make fuzz`; its corpus is replayed by the unit suite.
 */
#include "stack/wire/arp.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void fail(const char* what)
{
  fprintf(stderr, "wire_arp fuzz: %s\n", what);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  struct st_arp_repr r, r2;
  uint8_t out[ST_ARP_LEN];
  int want, rc;

  memset(&r, 0, sizeof(r));
  rc = st_arp_parse(data, size, &r);
  want = size >= ST_ARP_LEN && data[0] == 0 && data[1] == 1 &&
         data[2] == 8 && data[3] == 0 && data[4] == 6 && data[5] == 4;
  if ((rc == 0) != want)
    fail("accepts or refuses the wrong packets");
  if (rc < 0)
    return 0;
  if (st_arp_build(out, &r) != out + ST_ARP_LEN)
    fail("build wrote other than 28 bytes");
  if (memcmp(out, data, ST_ARP_LEN) != 0)
    fail("build does not give the parsed bytes back");
  memset(&r2, 0, sizeof(r2));
  if (st_arp_parse(out, sizeof(out), &r2) != 0 ||
      memcmp(&r, &r2, sizeof(r)) != 0)
    fail("a built packet does not parse to its repr");
  return 0;
}
